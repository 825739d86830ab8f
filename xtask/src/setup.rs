//! Toolchain setup: Debian packages, nightly + rust-src, bpf-linker. Idempotent and fast
//! when everything is present; installs only what is missing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{cmd, paths, privilege};

/// Debian packages the build and the tests need, with what each is for.
pub const APT_PACKAGES: &[(&str, &str)] = &[
    ("llvm-22-dev", "bpf-linker (links the eBPF program)"),
    ("clang-22", "libxdp/libbpf built from source by xsk-rs"),
    ("libelf-dev", "libxdp/libbpf"),
    ("zlib1g-dev", "libxdp/libbpf"),
    ("m4", "libxdp build"),
    ("pkg-config", "libxdp build"),
    ("iproute2", "lab: ip netns/link/addr"),
    ("iputils-ping", "demo and tests: ping"),
    ("iputils-arping", "demo and tests: arping"),
    ("ethtool", "lab: TX checksum offload off"),
];

/// LLVM the bpf-linker is built against. `LLVM_PREFIX` is required: without it the
/// bpf-linker build finds the wrong LLVM (`unable to find library -lLLVM`).
pub const LLVM_PREFIX: &str = "/usr/lib/llvm-22";
/// bpf-linker cargo feature matching [`LLVM_PREFIX`].
pub const BPF_LINKER_LLVM_FEATURE: &str = "llvm-22";
/// The versioned clang Debian installs (there is no plain `clang` name).
pub const VERSIONED_CLANG: &str = "clang-22";
/// Toolchain the eBPF program is built with.
pub const NIGHTLY: &str = "nightly";

/// Longest wait for somebody else's `cargo install bpf-linker` to finish.
const FOREIGN_INSTALL_WAIT: Duration = Duration::from_secs(20 * 60);

/// Make sure everything the build needs is installed; install what is missing (Debian
/// packages need root). With `verbose`, print every check, not just actions.
pub fn ensure_toolchain(verbose: bool) -> Result<()> {
    let mut installed: Vec<String> = Vec::new();
    ensure_apt_packages(verbose, &mut installed)?;
    ensure_nightly(verbose, &mut installed)?;
    let linker_version = ensure_bpf_linker(verbose, &mut installed)?;
    if installed.is_empty() {
        println!(
            "setup: all present ({} Debian packages, {NIGHTLY} with rust-src, {linker_version})",
            APT_PACKAGES.len()
        );
    } else {
        println!("setup: done (installed: {})", installed.join(", "));
    }
    Ok(())
}

/// Make sure `cargo fuzz` (cargo-fuzz) is installed, for the bounded fuzz step of
/// `cargo xtask test`; installs it (about a minute) when missing.
pub fn ensure_cargo_fuzz() -> Result<()> {
    let present = paths::which("cargo-fuzz").or_else(|| {
        paths::cargo_bin_dir()
            .map(|d| d.join("cargo-fuzz"))
            .filter(|p| p.is_file())
    });
    if present.is_some() {
        return Ok(());
    }
    println!("setup: installing cargo-fuzz (about a minute)...");
    let mut c = Command::new(paths::cargo());
    c.env_remove("RUSTUP_TOOLCHAIN")
        .args(["install", "cargo-fuzz", "--locked"]);
    cmd::run(&mut c).context("cargo install cargo-fuzz failed")
}

/// True if dpkg reports `pkg` as installed.
fn dpkg_installed(pkg: &str) -> Result<bool> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .context("cannot run dpkg-query: `cargo xtask setup` supports Debian/Ubuntu only")?;
    // Unknown packages make dpkg-query exit non-zero: treat as not installed.
    Ok(out.status.success()
        && String::from_utf8_lossy(&out.stdout).trim() == "install ok installed")
}

fn ensure_apt_packages(verbose: bool, installed: &mut Vec<String>) -> Result<()> {
    let mut missing = Vec::new();
    for &(pkg, why) in APT_PACKAGES {
        if dpkg_installed(pkg)? {
            if verbose {
                println!("setup: ok {pkg}");
            }
        } else {
            println!("setup: missing Debian package {pkg} ({why})");
            missing.push(pkg);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    if !privilege::is_root() {
        bail!(
            "missing Debian packages: {}; run `cargo xtask setup` as root or `apt-get install {}`",
            missing.join(" "),
            missing.join(" ")
        );
    }
    println!(
        "setup: installing Debian packages: {}...",
        missing.join(" ")
    );
    cmd::run(Command::new("apt-get").arg("update"))
        .context("apt-get update failed (network access to the Debian mirror?)")?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing),
    )
    .context("apt-get install failed")?;
    installed.extend(missing.iter().map(|p| p.to_string()));
    Ok(())
}

fn rustup() -> Command {
    let mut c = Command::new("rustup");
    // `cargo xtask` runs under a rustup proxy that pins RUSTUP_TOOLCHAIN; we name
    // toolchains explicitly instead.
    c.env_remove("RUSTUP_TOOLCHAIN");
    c
}

fn ensure_nightly(verbose: bool, installed: &mut Vec<String>) -> Result<()> {
    let toolchains = cmd::output(rustup().args(["toolchain", "list"]))
        .context("rustup is needed for the nightly toolchain (https://rustup.rs)")?;
    let has_nightly = toolchains
        .lines()
        .any(|l| l.starts_with(&format!("{NIGHTLY}-")) || l.trim() == NIGHTLY);
    if has_nightly {
        if verbose {
            println!("setup: ok {NIGHTLY} toolchain");
        }
    } else {
        println!("setup: installing the {NIGHTLY} toolchain (minimal profile)...");
        cmd::run(rustup().args(["toolchain", "install", NIGHTLY, "--profile", "minimal"]))?;
        installed.push(format!("{NIGHTLY} toolchain"));
    }

    let components =
        cmd::output(rustup().args(["component", "list", "--installed", "--toolchain", NIGHTLY]))?;
    if components.lines().any(|l| l.starts_with("rust-src")) {
        if verbose {
            println!("setup: ok rust-src ({NIGHTLY})");
        }
    } else {
        println!("setup: adding rust-src to {NIGHTLY}...");
        cmd::run(rustup().args(["component", "add", "rust-src", "--toolchain", NIGHTLY]))?;
        installed.push("rust-src".into());
    }
    Ok(())
}

/// Where bpf-linker is: on PATH, or in `~/.cargo/bin`.
fn find_bpf_linker() -> Option<PathBuf> {
    paths::which("bpf-linker").or_else(|| {
        paths::cargo_bin_dir()
            .map(|d| d.join("bpf-linker"))
            .filter(|p| p.is_file())
    })
}

/// `bpf-linker --version`, if it runs.
fn bpf_linker_version(path: &Path) -> Option<String> {
    let out = Command::new(path).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Returns the version line of the (now) installed bpf-linker.
fn ensure_bpf_linker(verbose: bool, installed: &mut Vec<String>) -> Result<String> {
    let existing = find_bpf_linker();
    if let Some(version) = existing.as_deref().and_then(bpf_linker_version) {
        if verbose {
            println!("setup: ok {version}");
        }
        return Ok(version);
    }
    if let Some(pid) = foreign_bpf_linker_install() {
        println!(
            "setup: another `cargo install bpf-linker` is running (pid {pid}); waiting for it..."
        );
        wait_for_exit(pid, FOREIGN_INSTALL_WAIT)?;
        if let Some(version) = find_bpf_linker().as_deref().and_then(bpf_linker_version) {
            installed.push("bpf-linker (by another process)".into());
            return Ok(version);
        }
        println!("setup: that install did not produce a working bpf-linker; installing it myself");
    }
    let force = existing.is_some();
    if force {
        println!(
            "setup: bpf-linker is present but does not run; reinstalling it (about 1-3 minutes)..."
        );
    } else {
        println!("setup: installing bpf-linker (about 1-3 minutes)...");
    }
    let mut c = Command::new(paths::cargo());
    c.env("LLVM_PREFIX", LLVM_PREFIX)
        .env_remove("RUSTUP_TOOLCHAIN")
        .args([
            "install",
            "bpf-linker",
            "--locked",
            "--no-default-features",
            "--features",
        ])
        .arg(BPF_LINKER_LLVM_FEATURE);
    if force {
        c.arg("--force");
    }
    eprintln!("$ LLVM_PREFIX={LLVM_PREFIX} {}", cmd::display(&c));
    cmd::run_quiet(&mut c)
        .context("cargo install bpf-linker failed (is llvm-22-dev installed?)")?;
    let path = find_bpf_linker()
        .context("bpf-linker was installed but cannot be found in ~/.cargo/bin")?;
    let version = bpf_linker_version(&path)
        .with_context(|| format!("{} --version fails after installing", path.display()))?;
    installed.push(version.clone());
    Ok(version)
}

/// Pid of a running `cargo install ... bpf-linker` started by someone else.
fn foreign_bpf_linker_install() -> Option<u32> {
    let me = std::process::id();
    let entries = std::fs::read_dir("/proc").ok()?;
    entries.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        if pid == me {
            return None;
        }
        let raw = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = raw.split(|&b| b == 0).collect();
        let is_cargo = args.first().is_some_and(|a| a.ends_with(b"cargo"));
        let installs = args.iter().any(|a| *a == b"install");
        let linker = args.iter().any(|a| *a == b"bpf-linker");
        (is_cargo && installs && linker).then_some(pid)
    })
}

/// Wait until process `pid` is gone.
fn wait_for_exit(pid: u32, limit: Duration) -> Result<()> {
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        if start.elapsed() > limit {
            bail!("gave up waiting for pid {pid} (cargo install bpf-linker) after {limit:?}");
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    Ok(())
}

/// Environment variables the workspace build needs, given the current environment:
/// `PATH` with `~/.cargo/bin` (bpf-linker) in front if missing, and `CLANG=clang-22` when
/// no `clang` is on PATH and `CLANG` is not already set (libxdp's build calls `$CLANG`).
pub fn build_env() -> Vec<(OsString, OsString)> {
    let mut env = Vec::new();
    let current = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&current).collect();
    if let Some(bin) = paths::cargo_bin_dir() {
        if !dirs.contains(&bin) {
            dirs.insert(0, bin);
            if let Ok(joined) = std::env::join_paths(&dirs) {
                env.push(("PATH".into(), joined));
            }
        }
    }
    let on_path = |name: &str| dirs.iter().any(|d| d.join(name).is_file());
    if std::env::var_os("CLANG").is_none() && !on_path("clang") && on_path(VERSIONED_CLANG) {
        env.push(("CLANG".into(), VERSIONED_CLANG.into()));
    }
    env
}

/// Apply [`build_env`] to `cmd`.
pub fn apply_build_env(cmd: &mut Command) -> &mut Command {
    cmd.envs(build_env())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_list_has_what_the_facts_require() {
        let names: Vec<&str> = APT_PACKAGES.iter().map(|(n, _)| *n).collect();
        for pkg in [
            "llvm-22-dev",
            "clang-22",
            "libelf-dev",
            "m4",
            "zlib1g-dev",
            "pkg-config",
            "iproute2",
            "iputils-ping",
            "iputils-arping",
            "ethtool",
        ] {
            assert!(names.contains(&pkg), "{pkg} missing");
        }
        assert!(LLVM_PREFIX.ends_with(BPF_LINKER_LLVM_FEATURE.trim_start_matches("llvm-")));
    }

    #[test]
    fn build_env_puts_cargo_bin_on_path() {
        let env = build_env();
        let path = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_default();
        if let Some(bin) = paths::cargo_bin_dir() {
            assert!(std::env::split_paths(&path).any(|d| d == bin));
        }
    }

    #[test]
    fn build_env_clang_only_when_needed() {
        let env = build_env();
        let sets_clang = env
            .iter()
            .any(|(k, v)| k == "CLANG" && v == VERSIONED_CLANG);
        if std::env::var_os("CLANG").is_some() || paths::which("clang").is_some() {
            assert!(!sets_clang);
        }
    }
}
