//! The panic handler: log the message through the kernel Log call, run the
//! server's hook (the personality tells the host the job died), then exit.

use core::sync::atomic::{AtomicUsize, Ordering};

static HOOK: AtomicUsize = AtomicUsize::new(0);

/// Run `hook` (after logging) with the logged message (`server panic: ...`)
/// when the server panics; it may power off.
pub fn set_panic_hook(hook: fn(&[u8])) {
    HOOK.store(hook as usize, Ordering::Relaxed);
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    use core::fmt::Write as _;
    let mut b = crate::FixedBuf::<512>::default();
    let _ = writeln!(b, "server panic: {}", info);
    crate::log(b.as_bytes());
    let h = HOOK.swap(0, Ordering::Relaxed);
    if h != 0 {
        // SAFETY: HOOK only ever holds 0 or a `fn(&[u8])` stored by
        // set_panic_hook; swapping to 0 first means a panic inside the hook
        // does not loop.
        let f: fn(&[u8]) = unsafe { core::mem::transmute::<usize, fn(&[u8])>(h) };
        f(b.as_bytes());
    }
    crate::exit(134)
}

