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
/// The nightly channel (the fuzzer runs on it; no LLVM constraint there).
pub const NIGHTLY: &str = "nightly";
/// The nightly the eBPF program is built with, pinned by date: bpf-linker links rustc's
/// LLVM bitcode with Debian's LLVM, so rustc's LLVM major must be [`LLVM_MAJOR`]. Moving the
/// pin means finding a nightly with that LLVM (`rustc +nightly-DATE -vV`), or moving both.
pub const PINNED_NIGHTLY_DATE: &str = "2026-05-19";
/// The LLVM major of [`LLVM_PREFIX`], [`BPF_LINKER_LLVM_FEATURE`] and the pinned nightly.
pub const LLVM_MAJOR: u32 = 22;
/// The variable the build scripts read to pick the eBPF toolchain (default `nightly`).
pub const EBPF_TOOLCHAIN_ENV: &str = "XDP_EBPF_TOOLCHAIN";

/// Longest wait for somebody else's `cargo install bpf-linker` to finish.
const FOREIGN_INSTALL_WAIT: Duration = Duration::from_secs(20 * 60);

/// Make sure everything the build needs is installed; install what is missing (Debian
/// packages need root). With `verbose`, print every check, not just actions.
pub fn ensure_toolchain(verbose: bool) -> Result<()> {
    let mut installed: Vec<String> = Vec::new();
    ensure_apt_packages(verbose, &mut installed)?;
    let toolchain = ensure_nightly(verbose, &mut installed)?;
    let linker_version = ensure_bpf_linker(verbose, &mut installed)?;
    if installed.is_empty() {
        println!(
            "setup: all present ({} Debian packages, {toolchain} with rust-src, {linker_version})",
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
    ensure_debian_packages(APT_PACKAGES, verbose, installed)
}

/// Makes sure the Debian packages `pkgs` (name, what for) are installed, installing the
/// missing ones with apt-get (root needed); their names are added to `installed`.
pub fn ensure_debian_packages(
    pkgs: &[(&str, &str)],
    verbose: bool,
    installed: &mut Vec<String>,
) -> Result<()> {
    let mut missing = Vec::new();
    for &(pkg, why) in pkgs {
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

/// What `rustc -vV` says about a toolchain: its commit date and LLVM major.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RustcInfo {
    pub date: Option<String>,
    pub llvm_major: Option<u32>,
}

/// Parses `rustc -vV` output (`commit-date: 2026-05-19`, `LLVM version: 22.1.4`).
pub fn parse_rustc_vv(text: &str) -> RustcInfo {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    RustcInfo {
        date: field("commit-date:"),
        llvm_major: field("LLVM version:")
            .and_then(|v| v.split('.').next().and_then(|m| m.parse().ok())),
    }
}

/// `rustc -vV` of `toolchain`, if that toolchain is installed and runs.
fn rustc_info(toolchain: &str) -> Option<RustcInfo> {
    let out = rustup()
        .args(["run", toolchain, "rustc", "-vV"])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| parse_rustc_vv(&String::from_utf8_lossy(&out.stdout)))
}

/// The toolchain name that gives the pinned nightly: `nightly` itself when it is that date
/// (a preinstalled toolchain, which works offline), else `nightly-DATE`.
pub fn choose_ebpf_toolchain(nightly: Option<&RustcInfo>) -> String {
    match nightly.and_then(|i| i.date.as_deref()) {
        Some(d) if d == PINNED_NIGHTLY_DATE => NIGHTLY.to_string(),
        _ => format!("{NIGHTLY}-{PINNED_NIGHTLY_DATE}"),
    }
}

/// The toolchain the eBPF build uses on this machine (see [`choose_ebpf_toolchain`]).
pub fn ebpf_toolchain() -> String {
    static CHOSEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CHOSEN
        .get_or_init(|| choose_ebpf_toolchain(rustc_info(NIGHTLY).as_ref()))
        .clone()
}

/// Refuses a toolchain whose LLVM is not bpf-linker's, saying what to do.
pub fn check_llvm(toolchain: &str, info: &RustcInfo) -> Result<()> {
    match info.llvm_major {
        Some(m) if m == LLVM_MAJOR => Ok(()),
        found => bail!(
            "{toolchain}'s rustc uses LLVM {}, but bpf-linker is built against LLVM {LLVM_MAJOR} ({LLVM_PREFIX}); they must match or the eBPF link fails. Either use the pinned nightly: `rustup toolchain install {NIGHTLY}-{PINNED_NIGHTLY_DATE} --profile minimal --component rust-src` (and `rustup toolchain uninstall {toolchain}` if it shadows it under the name `nightly`); or move both: pick a nightly whose `rustc -vV` shows LLVM N, `apt-get install llvm-N-dev`, `LLVM_PREFIX=/usr/lib/llvm-N cargo install bpf-linker --locked --force --no-default-features --features llvm-N`, and update PINNED_NIGHTLY_DATE, LLVM_MAJOR and LLVM_PREFIX in xtask/src/setup.rs",
            found.map_or("unknown".to_string(), |m| m.to_string())
        ),
    }
}

/// Makes sure the pinned nightly (with rust-src) is installed and its LLVM matches
/// bpf-linker's; returns the toolchain name the eBPF build uses.
fn ensure_nightly(verbose: bool, installed: &mut Vec<String>) -> Result<String> {
    cmd::output(rustup().args(["--version"]))
        .context("rustup is needed for the nightly toolchain (https://rustup.rs)")?;
    let nightly = rustc_info(NIGHTLY);
    let toolchain = choose_ebpf_toolchain(nightly.as_ref());
    let info = match rustc_info(&toolchain) {
        Some(info) => {
            if verbose {
                println!("setup: ok {toolchain} toolchain ({PINNED_NIGHTLY_DATE})");
            }
            info
        }
        None => {
            if let Some(d) = nightly.as_ref().and_then(|i| i.date.clone()) {
                println!(
                    "setup: the `{NIGHTLY}` toolchain is from {d}; the eBPF build is pinned to {PINNED_NIGHTLY_DATE} (LLVM {LLVM_MAJOR}, as bpf-linker)"
                );
            }
            println!("setup: installing the {toolchain} toolchain (minimal profile)...");
            cmd::run(rustup().args(["toolchain", "install", &toolchain, "--profile", "minimal"]))?;
            installed.push(format!("{toolchain} toolchain"));
            rustc_info(&toolchain)
                .with_context(|| format!("{toolchain} was installed but its rustc does not run"))?
        }
    };
    check_llvm(&toolchain, &info)?;

    let components = cmd::output(rustup().args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        &toolchain,
    ]))?;
    if components.lines().any(|l| l.starts_with("rust-src")) {
        if verbose {
            println!("setup: ok rust-src ({toolchain})");
        }
    } else {
        println!("setup: adding rust-src to {toolchain}...");
        cmd::run(rustup().args(["component", "add", "rust-src", "--toolchain", &toolchain]))?;
        installed.push("rust-src".into());
    }
    Ok(toolchain)
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
    if std::env::var_os(EBPF_TOOLCHAIN_ENV).is_none() {
        env.push((EBPF_TOOLCHAIN_ENV.into(), ebpf_toolchain().into()));
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
    fn the_pinned_nightly_is_chosen_by_date_and_its_llvm_checked() {
        let vv = "rustc 1.97.0-nightly (e50aa6fba 2026-05-19)\nbinary: rustc\n\
                  commit-date: 2026-05-19\nhost: x86_64-unknown-linux-gnu\nLLVM version: 22.1.4\n";
        let pinned = parse_rustc_vv(vv);
        assert_eq!(pinned.date.as_deref(), Some(PINNED_NIGHTLY_DATE));
        assert_eq!(pinned.llvm_major, Some(LLVM_MAJOR));
        // The preinstalled `nightly` of the pinned date is used as it is (offline).
        assert_eq!(choose_ebpf_toolchain(Some(&pinned)), "nightly");
        check_llvm("nightly", &pinned).unwrap();
        // A newer `nightly`, or none: the dated toolchain.
        let newer = parse_rustc_vv("commit-date: 2027-03-01\nLLVM version: 23.0.0\n");
        assert_eq!(choose_ebpf_toolchain(Some(&newer)), "nightly-2026-05-19");
        assert_eq!(choose_ebpf_toolchain(None), "nightly-2026-05-19");
        // An LLVM that is not bpf-linker's is refused with what to do.
        let e = check_llvm("nightly", &newer).unwrap_err().to_string();
        assert!(
            e.contains("LLVM 23") && e.contains("bpf-linker is built against LLVM 22"),
            "{e}"
        );
        assert!(
            e.contains("rustup toolchain install nightly-2026-05-19"),
            "{e}"
        );
        assert!(check_llvm("x", &RustcInfo::default()).is_err());
        assert!(LLVM_PREFIX.ends_with(&LLVM_MAJOR.to_string()));
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
