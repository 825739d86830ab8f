//! The one build step `xdp-user`, `xdp-gen` and `xdp-ladder` need: build the `xdp-ebpf`
//! package (every binary: the responder's XDP program, the generator's programs and the copy
//! ladder's counters) for the bpf target with nightly and bpf-linker, into the calling build
//! script's `OUT_DIR`.

use std::path::Path;

/// Builds the XDP programs; `what` names them in the error when bpf-linker is missing.
/// Call from a build script whose crate sits next to `xdp-ebpf/`.
pub fn build_ebpf(what: &str) -> anyhow::Result<()> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR")?;
    let root_dir = Path::new(&manifest).join("../xdp-ebpf");
    let root_dir = root_dir
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("non-UTF-8 path"))?;
    let linker_present = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("bpf-linker").is_file()))
        .unwrap_or(false);
    if !linker_present {
        anyhow::bail!(
            "bpf-linker is not on PATH: {what} cannot be built. Run `cargo xtask setup` \
             (installs llvm-22-dev, bpf-linker and the nightly rust-src component)."
        );
    }
    // The pinned nightly, as `cargo xtask` resolves it (see xtask/src/setup.rs); plain cargo
    // builds use `nightly`.
    println!("cargo:rerun-if-env-changed=XDP_EBPF_TOOLCHAIN");
    let name = std::env::var("XDP_EBPF_TOOLCHAIN").ok();
    let toolchain = match name.as_deref() {
        None | Some("nightly") => aya_build::Toolchain::Nightly,
        Some(custom) => aya_build::Toolchain::Custom(custom),
    };
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "xdp-ebpf",
            root_dir,
            ..Default::default()
        }],
        toolchain,
    )
}
