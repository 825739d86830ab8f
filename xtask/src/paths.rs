//! Where things are: workspace root, cargo, target directory, the responder binary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Name of the responder binary built by the `xdp-user` package.
pub const RESPONDER_BIN: &str = "xdp-responder";

/// Cargo package that builds [`RESPONDER_BIN`].
pub const RESPONDER_PACKAGE: &str = "xdp-user";

/// The workspace root (parent of the `xtask` crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The cargo to call: `$CARGO` (set by `cargo run`) or `cargo` from PATH.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The cargo target directory: `$CARGO_TARGET_DIR` (relative paths are taken from the
/// workspace root) or `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    target_dir_from(std::env::var_os("CARGO_TARGET_DIR"), &workspace_root())
}

fn target_dir_from(env: Option<OsString>, root: &Path) -> PathBuf {
    match env {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Path of the responder binary for the given profile (`release` or `debug`).
pub fn responder_binary(release: bool) -> PathBuf {
    target_dir()
        .join(if release { "release" } else { "debug" })
        .join(RESPONDER_BIN)
}

/// `$CARGO_HOME/bin` (default `~/.cargo/bin`), where `cargo install` puts bpf-linker.
pub fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home).join("bin"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".cargo").join("bin"))
}

/// A command-line path to an existing file, made absolute: the servers it names are run
/// under `ip netns exec` and `taskset`, which would resolve a relative path against their own
/// working directory. A clap `value_parser`.
pub fn parse_existing_file(s: &str) -> Result<PathBuf, String> {
    let p = Path::new(s);
    if !p.is_file() {
        return Err(format!("{s:?} is not a file"));
    }
    std::fs::canonicalize(p).map_err(|e| format!("{s:?}: {e}"))
}

/// Find an executable called `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("xtask").is_dir());
    }

    #[test]
    fn existing_files_are_made_absolute_and_others_refused() {
        let manifest = workspace_root().join("Cargo.toml");
        let got = parse_existing_file(manifest.to_str().unwrap()).unwrap();
        assert!(got.is_absolute());
        assert_eq!(got, std::fs::canonicalize(&manifest).unwrap());
        // A directory and a missing path are refused, naming the path.
        let dir = workspace_root().join("xtask");
        let err = parse_existing_file(dir.to_str().unwrap()).unwrap_err();
        assert!(err.contains("is not a file"), "{err}");
        let err = parse_existing_file("/nonexistent/xdp-responder").unwrap_err();
        assert!(err.contains("/nonexistent/xdp-responder"), "{err}");
    }

    #[test]
    fn target_dir_rules() {
        let root = Path::new("/ws");
        assert_eq!(target_dir_from(None, root), Path::new("/ws/target"));
        assert_eq!(
            target_dir_from(Some("".into()), root),
            Path::new("/ws/target")
        );
        assert_eq!(
            target_dir_from(Some("t2".into()), root),
            Path::new("/ws/t2")
        );
        assert_eq!(
            target_dir_from(Some("/abs".into()), root),
            Path::new("/abs")
        );
    }

    #[test]
    fn which_finds_sh() {
        assert!(which("sh").is_some());
        assert!(which("xtask-surely-not-a-program").is_none());
    }
}
