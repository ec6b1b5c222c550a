//! `syscall-coverage`: what SiON implements (from the personality's dispatch
//! tables), what the compat suite proves (from traces), and what a program
//! needs (static analysis of its code, and traced runs).
#![forbid(unsafe_code)]

#[allow(dead_code)]
mod catalog;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "syscall-coverage", about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    for abi in catalog::ABIS {
        let calls = catalog::calls(abi);
        let n = |w: &str| calls.iter().filter(|c| c.support.word() == w).count();
        println!("{}: {} complete, {} partial, {} absent", catalog::abi_name(abi), n("complete"), n("partial"), n("absent"));
    }
}
