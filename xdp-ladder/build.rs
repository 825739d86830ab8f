//! Builds the copy-ladder counters (the `ladder` binary of `xdp-ebpf`) for the bpf target into
//! OUT_DIR.
fn main() -> anyhow::Result<()> {
    xdp_build::build_ebpf("the copy-ladder counters")
}
