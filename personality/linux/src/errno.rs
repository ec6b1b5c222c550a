//! Linux errno values (the same on x86_64 and i386). A system call answers
//! `-errno` in rax.

/// A Linux error number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $v:expr),* $(,)?) => {
        impl Errno {
            $(pub const $name: Errno = Errno($v);)*
            /// The symbolic name (`"ENOENT"`), for logs.
            pub fn name(self) -> &'static str {
                match self.0 {
                    $($v => stringify!($name),)*
                    _ => "E?",
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, ENOEXEC = 8,
    EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, ENOTBLK = 15, EBUSY = 16,
    EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23,
    EMFILE = 24, ENOTTY = 25, ETXTBSY = 26, EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EROFS = 30, EPIPE = 32,
    EDOM = 33, ERANGE = 34, ENAMETOOLONG = 36, EDEADLK = 35, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENOMSG = 42, EIDRM = 43, ENODATA = 61,
    EOVERFLOW = 75, ELIBBAD = 80, EUSERS = 87, ENOTSOCK = 88, EDESTADDRREQ = 89, EMSGSIZE = 90, EPROTOTYPE = 91,
    ENOPROTOOPT = 92, EPROTONOSUPPORT = 93, ESOCKTNOSUPPORT = 94, ENOTSUP = 95, EAFNOSUPPORT = 97,
    EADDRINUSE = 98, EADDRNOTAVAIL = 99, ENETDOWN = 100, ENETUNREACH = 101, ECONNABORTED = 103,
    ECONNRESET = 104, ENOBUFS = 105, EISCONN = 106, ENOTCONN = 107, ETIMEDOUT = 110,
    ECONNREFUSED = 111, EHOSTUNREACH = 113, EALREADY = 114, EINPROGRESS = 115, ESTALE = 116,
}

impl Errno {
    /// Another name of ENOTSUP.
    pub const EOPNOTSUPP: Errno = Errno(95);
    /// The value for rax: `-errno` as an unsigned register.
    pub const fn as_ret(self) -> u64 {
        (-(self.0 as i64)) as u64
    }
}

/// Result of a system call: the non-negative value for rax, or an errno.
pub type SysResult = Result<u64, Errno>;

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn values() {
        assert_eq!(Errno::ENOSYS.as_ret(), (-38i64) as u64);
        assert_eq!(Errno::EFAULT.name(), "EFAULT");
        assert_eq!(Errno(999).name(), "E?");
    }
}
