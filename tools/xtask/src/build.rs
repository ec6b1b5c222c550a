//! `cargo xtask build`: the bare-metal images and the `sion` host tool.

use crate::util::{self, Result};

pub const BARE_METAL_TARGET: &str = "x86_64-unknown-none";
/// Bare-metal packages built into target/x86_64-unknown-none/release/.
pub const IMAGES: &[&str] = &["sion-kernel", "sion-personality", "sion-netstack", "sion-group-server", "sion-kernel-selftest", "sion-netstack-selftest"];

pub fn build() -> Result<bool> {
    let root = util::root();
    util::banner(&format!("building {} for {BARE_METAL_TARGET}", IMAGES.join(", ")));
    let mut cmd = util::cargo();
    cmd.current_dir(&root).args(["build", "--release", "--target", BARE_METAL_TARGET]);
    for p in IMAGES {
        cmd.args(["-p", p]);
    }
    util::run(&mut cmd)?;

    util::banner("building the sion host tool");
    let mut cmd = util::cargo();
    cmd.current_dir(&root).args(["build", "--release", "-p", "sion"]);
    util::run(&mut cmd)?;

    let target = util::target_dir();
    for p in IMAGES {
        let image = target.join(BARE_METAL_TARGET).join("release").join(p);
        if !image.is_file() {
            return Err(format!("build finished but {} is missing", image.display()));
        }
    }
    let sion = util::sion_binary();
    if !sion.is_file() {
        return Err(format!("build finished but {} is missing", sion.display()));
    }
    tracing::info!("built {} and {}", target.join(BARE_METAL_TARGET).join("release").display(), sion.display());
    Ok(true)
}
