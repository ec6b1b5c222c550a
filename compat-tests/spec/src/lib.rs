//! The header of a compat test: the leading `// key: value` comment lines
//! of `compat-tests/src/NAME.c` or `compat-tests/programs/NAME.test` that say
//! how to run it (see docs/testing.md). One parser for the runner
//! (`cargo xtask compat`) and for `syscall-coverage --run-compat`.
#![forbid(unsafe_code)]

pub type Result<T> = std::result::Result<T, String>;

/// How a C test is built: musl, glibc, and glibc for i386, all static; and
/// glibc dynamically linked (the way most programs on a workstation are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    Musl,
    Glibc,
    I386,
    GlibcDyn,
}

impl Abi {
    pub const ALL: [Abi; 4] = [Abi::Musl, Abi::Glibc, Abi::I386, Abi::GlibcDyn];

    pub fn name(self) -> &'static str {
        match self {
            Abi::Musl => "musl",
            Abi::Glibc => "glibc",
            Abi::I386 => "i386",
            Abi::GlibcDyn => "glibc-dyn",
        }
    }

    pub fn parse(s: &str) -> Option<Abi> {
        Abi::ALL.into_iter().find(|a| a.name() == s)
    }

    /// Compiler and flags: `musl-gcc -static -O1`, `gcc -static -O1`,
    /// `gcc -m32 -static -O1`, `gcc -O1` (a dynamically linked PIE).
    pub fn compiler(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Abi::Musl => ("musl-gcc", &["-static", "-O1"]),
            Abi::Glibc => ("gcc", &["-static", "-O1"]),
            Abi::I386 => ("gcc", &["-m32", "-static", "-O1"]),
            Abi::GlibcDyn => ("gcc", &["-O1"]),
        }
    }
}

impl std::str::FromStr for Abi {
    type Err = String;
    fn from_str(s: &str) -> Result<Abi> {
        Abi::parse(s).ok_or_else(|| format!("unknown abi {s:?} (musl, glibc, i386, glibc-dyn)"))
    }
}

/// What a test file declares in its leading `// key: value` comment lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// None: stdin is /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// Expected host outcome (default: exit 0).
    pub expect: Expect,
    pub cflags: Vec<String>,
    /// ABIs this test is built for (default: all four).
    pub abis: Vec<Abi>,
    /// A program test (`programs/*.test`): the prebuilt binary to run
    /// instead of a compiled C file.
    pub program: Option<String>,
    /// Files or directories under `compat-tests/data` staged into the
    /// working directory (and passed to sion with `--file`).
    pub files: Vec<String>,
    /// Files or directories the program writes (relative to its working
    /// directory): read back after the run (through `sion exec --out` on
    /// SiON) and compared as part of stdout.
    pub outs: Vec<String>,
}

/// The host outcome a test declares (`// exit:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Exit(i32),
    Signal(i32),
}

impl Default for Expect {
    fn default() -> Self {
        Expect::Exit(0)
    }
}

impl Expect {
    pub fn show(self) -> String {
        match self {
            Expect::Exit(c) => format!("exit {c}"),
            Expect::Signal(s) => format!("signal {s}"),
        }
    }

    /// As a shell reports it: the exit code, or 128 + the signal.
    pub fn shell_status(self) -> i32 {
        match self {
            Expect::Exit(c) => c,
            Expect::Signal(s) => 128 + s,
        }
    }
}

const SIGNALS: &[(&str, i32)] = &[
    ("SIGHUP", 1), ("SIGINT", 2), ("SIGQUIT", 3), ("SIGILL", 4), ("SIGTRAP", 5),
    ("SIGABRT", 6), ("SIGBUS", 7), ("SIGFPE", 8), ("SIGKILL", 9), ("SIGUSR1", 10),
    ("SIGSEGV", 11), ("SIGUSR2", 12), ("SIGPIPE", 13), ("SIGALRM", 14), ("SIGTERM", 15),
];

/// Split like a shell would for the simple cases: whitespace separates,
/// double or single quotes group, backslash escapes inside double quotes.
pub fn split_words(s: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => cur.push(chars.next().ok_or("trailing backslash")?),
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Decode C-style escapes (\n \t \r \0 \\ \xHH) in a `// stdin:` line.
pub fn unescape(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = *b.get(i + 1).ok_or("trailing backslash")?;
        i += 2;
        out.push(match c {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'0' => 0,
            b'\\' => b'\\',
            b'x' => {
                let hex = s.get(i..i + 2).ok_or("short \\x escape")?;
                i += 2;
                u8::from_str_radix(hex, 16).map_err(|_| format!("bad \\x escape {hex}"))?
            }
            other => return Err(format!("unknown escape \\{}", other as char)),
        });
    }
    Ok(out)
}

impl Spec {
    /// Parse the header: the leading `//` comment lines of a test file.
    /// Recognised keys: args, env, stdin (repeatable, concatenated), exit
    /// (`N`, `signal N` or a name like `SIGSEGV`), cflags, abis.
    pub fn parse(source: &str) -> Result<Spec> {
        let mut spec = Spec { abis: Abi::ALL.to_vec(), ..Spec::default() };
        for line in source.lines() {
            let Some(comment) = line.trim_start().strip_prefix("//") else { break };
            let comment = comment.trim_start();
            let Some((key, value)) = comment.split_once(':') else { continue };
            let value = value.trim();
            match key {
                "args" => spec.args.extend(split_words(value)?),
                "env" => {
                    for kv in split_words(value)? {
                        if !kv.contains('=') || kv.starts_with('=') {
                            return Err(format!("env entry {kv:?} is not K=V"));
                        }
                        spec.env.push(kv);
                    }
                }
                "stdin" => spec.stdin.get_or_insert_with(Vec::new).extend(unescape(value)?),
                "exit" => spec.expect = parse_expect(value)?,
                "cflags" => spec.cflags.extend(split_words(value)?),
                "program" => spec.program = Some(value.to_string()),
                "files" => spec.files.extend(split_words(value)?),
                "out" => spec.outs.extend(split_words(value)?),
                "abis" => {
                    spec.abis = split_words(&value.replace(',', " "))?
                        .iter()
                        .map(|a| Abi::parse(a).ok_or(format!("unknown abi {a:?}")))
                        .collect::<Result<_>>()?;
                }
                _ => {}
            }
        }
        // The host's environment block comes out sorted by name (std's
        // Command keeps a sorted map), so give sion the same order.
        spec.env.sort_by(|a, b| a.split_once('=').map(|p| p.0).cmp(&b.split_once('=').map(|p| p.0)));
        Ok(spec)
    }
}

fn parse_expect(v: &str) -> Result<Expect> {
    if let Ok(n) = v.parse::<i32>() {
        if (0..=255).contains(&n) {
            return Ok(Expect::Exit(n));
        }
    }
    let sig = v.strip_prefix("signal").map(str::trim).unwrap_or(v);
    if let Ok(n) = sig.parse::<i32>() {
        if v.starts_with("signal") && (1..=64).contains(&n) {
            return Ok(Expect::Signal(n));
        }
    }
    if let Some((_, n)) = SIGNALS.iter().find(|(name, _)| *name == sig) {
        return Ok(Expect::Signal(*n));
    }
    Err(format!("bad exit declaration {v:?} (want N, `signal N` or SIGNAME)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parsing() {
        let src = "// hello.c - what it does: described\n// args: a \"two words\" 'x y' 42\n\
                   // env: B=two A=1\n// stdin: one\\n\n// stdin: two\\x21\n// exit: 3\n\
                   // abis: musl, glibc\n#include <stdio.h>\n// args: ignored\n";
        let s = Spec::parse(src).unwrap();
        assert_eq!(s.args, ["a", "two words", "x y", "42"]);
        assert_eq!(s.env, ["A=1", "B=two"]);
        assert_eq!(s.stdin.as_deref(), Some(&b"one\ntwo!"[..]));
        assert_eq!(s.expect, Expect::Exit(3));
        assert_eq!(s.abis, [Abi::Musl, Abi::Glibc]);
    }

    #[test]
    fn defaults_and_signals() {
        let s = Spec::parse("int main(void) { return 0; }\n").unwrap();
        assert_eq!(s.expect, Expect::Exit(0));
        assert_eq!(s.stdin, None);
        assert_eq!(s.abis, Abi::ALL);
        assert_eq!(parse_expect("signal 11").unwrap(), Expect::Signal(11));
        assert_eq!(parse_expect("SIGSEGV").unwrap(), Expect::Signal(11));
        assert_eq!(Spec::parse("// exit: SIGABRT\n").unwrap().expect.shell_status(), 134);
        assert!(parse_expect("256").is_err());
        assert!(parse_expect("sometimes").is_err());
        assert!(Spec::parse("// env: NOEQUALS\n").is_err());
        assert!(Spec::parse("// args: \"open\n").is_err());
        assert!(Spec::parse("// abis: musl, sparc\n").is_err());
    }
}
