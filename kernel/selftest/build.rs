fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rustc-link-arg-bins=-T{dir}/../../personality/linker.ld");
    println!("cargo:rerun-if-changed={dir}/../../personality/linker.ld");
}
