//! Builds the XDP program (`xdp-ebpf`) for the bpf target into OUT_DIR.
fn main() -> anyhow::Result<()> {
    xdp_build::build_ebpf("the XDP program")
}
