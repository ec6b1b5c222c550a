fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    // An absolute path: relative ones in rustflags break depending on the cwd.
    println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
    println!("cargo:rerun-if-changed={dir}/linker.ld");
}
