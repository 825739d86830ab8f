//! Builds the generator's XDP programs (the `gen` binary of `xdp-ebpf`) for the bpf target into
//! OUT_DIR.
fn main() -> anyhow::Result<()> {
    xdp_build::build_ebpf("the generator's XDP programs")
}
