fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rustc-link-arg-bins=-T{dir}/../rt/server.ld");
    println!("cargo:rerun-if-changed={dir}/../rt/server.ld");
}
