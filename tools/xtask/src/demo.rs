//! `cargo xtask demo`: setup, build, then a static hello world (musl x86_64
//! and glibc i386) runs on a fresh SiON node through `sion exec`.

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
    println!();
    if all_ok {
        println!("demo: both programs ran on SiON and returned their exit status");
    } else {
        println!("demo: FAILED (see above)");
    }
    Ok(all_ok)
}
