//! The group manager on Linux: `sion daemon` (the workstation as a member of
//! the group, over real UDP and TCP sockets), `sion nodes` and `sion run`.
//! The protocol itself is the sans-IO core in the `sion-group` crate.

pub mod cli;
pub mod client;
pub mod daemon;
pub mod frame;
pub mod key;
pub mod sysinfo;

use std::net::Ipv4Addr;
use std::path::PathBuf;

use sion_group::Addr;

/// The group's default UDP (membership) and TCP (jobs) port.
pub const DEFAULT_PORT: u16 = 7470;

pub fn to_socket(a: Addr) -> std::net::SocketAddrV4 {
    std::net::SocketAddrV4::new(Ipv4Addr::from(a.ip), a.port)
}

pub fn from_socket(a: std::net::SocketAddr) -> Option<Addr> {
    match a {
        std::net::SocketAddr::V4(v4) => Some(Addr { ip: v4.ip().octets(), port: v4.port() }),
        std::net::SocketAddr::V6(_) => None,
    }
}

/// The daemon's control socket: `$SION_CONTROL`, else
/// `$XDG_RUNTIME_DIR/sion/daemon.sock`, else `/tmp/sion-UID/daemon.sock`.
pub fn default_control_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SION_CONTROL") {
        return PathBuf::from(p);
    }
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("sion"),
        _ => PathBuf::from(format!("/tmp/sion-{}", sysinfo::uid())),
    };
    dir.join("daemon.sock")
}

/// The installed service's control socket (the unit's `RuntimeDirectory=sion`).
pub const SERVICE_CONTROL: &str = "/run/sion/daemon.sock";

/// The control socket `sion nodes` and `sion run` ask: $SION_CONTROL, else
/// this user's daemon's if it exists, else the service's if it exists, else
/// this user's (for the error message).
pub fn client_control_path() -> PathBuf {
    let mine = default_control_path();
    if std::env::var_os("SION_CONTROL").is_none() && std::fs::symlink_metadata(&mine).is_err() && std::fs::symlink_metadata(SERVICE_CONTROL).is_ok() {
        return PathBuf::from(SERVICE_CONTROL);
    }
    mine
}

/// Logging for the group commands: info by default (a daemon's log is its
/// output), debug with `--verbose`; `RUST_LOG` overrides.
pub fn init_logging(verbose: bool, default_info: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let spec = match std::env::var("RUST_LOG") {
        Ok(s) => s,
        Err(_) if verbose => "sion=debug".into(),
        Err(_) if default_info => "sion=info".into(),
        Err(_) => "sion=warn".into(),
    };
    let Ok(filter) = spec.parse::<tracing_subscriber::filter::Targets>() else { return };
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_ansi(false);
    let _ = tracing_subscriber::registry().with(fmt).with(filter).try_init();
}
