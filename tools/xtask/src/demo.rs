//! `cargo xtask demo`: setup, build, then a static hello world (musl x86_64
//! and glibc i386) runs on a fresh SiON node through `sion exec`; then (as
//! root) `sion up` forms a group of two SiON nodes and this workstation on a
//! private test LAN, and `sion run` offloads the program to the best node.

use crate::util::{self, Result};
use std::process::Command;

const HELLO_C: &str = r#"#include <stdio.h>
#include <sys/utsname.h>

int main(int argc, char **argv)
{
    struct utsname u;
    uname(&u);
    printf("Hello from a static %d-bit program, running on %s!\n",
           (int)(sizeof(void *) * 8), u.sysname);
    for (int i = 1; i < argc; i++)
        printf("  argv[%d] = \"%s\"\n", i, argv[i]);
    fprintf(stderr, "(this line went to stderr)\n");
    return argc - 1;   /* exit status: the number of arguments */
}
"#;

pub fn demo() -> Result<bool> {
    crate::setup::setup()?;
    crate::build::build()?;

    let dir = util::target_dir().join("demo");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let src = dir.join("hello.c");
    std::fs::write(&src, HELLO_C).map_err(|e| format!("{}: {e}", src.display()))?;

    let variants: [(&str, &str, &[&str]); 2] = [
        ("hello-musl", "musl-gcc", &["-static", "-O1"]),
        ("hello-i386", "gcc", &["-m32", "-static", "-O1"]),
    ];
    let sion = util::sion_binary();
    let root = util::root();
    let rel = |p: &std::path::Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    let mut all_ok = true;
    for (name, cc, flags) in variants {
        let exe = dir.join(name);
        util::run(Command::new(cc).args(flags).arg(&src).arg("-o").arg(&exe))?;
        let args = ["one", "two words", "3"];
        util::banner(&format!("{name}: a static {} program on SiON", if name.ends_with("i386") { "i386 glibc" } else { "x86_64 musl" }));
        println!(
            "$ {} exec {} {}",
            rel(&sion),
            rel(&exe),
            args.iter().map(|a| util::quote(a)).collect::<Vec<_>>().join(" ")
        );
        let status = Command::new(&sion)
            .current_dir(&root)
            .arg("exec")
            .arg(rel(&exe))
            .args(args)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", sion.display()))?;
        let shown = util::Outcome::from_status(status);
        println!("exit status: {} (expected {})", shown.shell_code().map_or(shown.short(), |c| c.to_string()), args.len());
        if shown.shell_code() != Some(args.len() as i32) {
            all_ok = false;
            if shown.shell_code() == Some(125) {
                println!("(125: the SiON node failed; the line above says why)");
            }
        }
    }
    // The group: two SiON nodes and this workstation on a private test LAN,
    // and the same program offloaded to the best node.
    let group = match crate::lan_tests::available() {
        Err(why) => {
            println!("\n(the group demo is skipped: {why})");
            None
        }
        Ok(()) => Some(group_demo(&sion, &dir.join("hello-musl"), &rel)),
    };
    if let Some(Err(e)) = &group {
        println!("group demo: {e}");
        all_ok = false;
    }
    println!();
    if all_ok {
        println!(
            "demo: both programs ran on SiON and returned their exit status{}",
            if group.is_some() { "; the group offloaded one to a SiON node" } else { "" }
        );
    } else {
        println!("demo: FAILED (see above)");
    }
    Ok(all_ok)
}

fn group_demo(sion: &std::path::Path, exe: &std::path::Path, rel: &dyn Fn(&std::path::Path) -> String) -> Result<()> {
    let key = util::target_dir().join("demo/group.key");
    if !key.is_file() {
        let mut k = [0u8; 32];
        std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut k)).map_err(|e| e.to_string())?;
        std::fs::write(&key, k.iter().map(|b| format!("{b:02x}")).collect::<String>()).map_err(|e| e.to_string())?;
    }
    // A group key is a secret: sion warns about one others can read.
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(|e| e.to_string())?;
    let key_arg = key.display().to_string();
    let step = |args: &[&str]| -> Result<util::Outcome> {
        println!("$ {} {}", rel(sion), args.iter().map(|a| util::quote(a)).collect::<Vec<_>>().join(" "));
        let status = Command::new(sion).args(args).status().map_err(|e| format!("cannot run {}: {e}", sion.display()))?;
        Ok(util::Outcome::from_status(status))
    };
    util::banner("the group: two SiON nodes and this workstation on a private test LAN");
    let _ = Command::new(sion).arg("down").output();
    if step(&["up", "-n", "2", "--mem", "128M,256M", "--key-file", &key_arg])? != util::Outcome::Exited(0) {
        let _ = step(&["down"]);
        return Err("sion up failed (see above)".into());
    }
    let result = (|| -> Result<()> {
        step(&["nodes"])?;
        let exe = rel(exe);
        let ran = step(&["run", "--no-local", "--verbose", "--key-file", &key_arg, &exe, "one", "two words", "3"])?;
        println!("exit status: {} (expected 3)", ran.shell_code().map_or(ran.short(), |c| c.to_string()));
        if ran.shell_code() != Some(3) {
            return Err("the offloaded program did not end as expected".into());
        }
        Ok(())
    })();
    step(&["down"])?;
    result
}
