//! The pure half of the XDP program, shared with host unit tests.
//!
//! The BPF programs are this package's binaries (the responder's XDP program in `src/main.rs`,
//! the generator's in `src/bin/gen`, the copy ladder's counters in `src/bin/ladder`), built for
//! the bpf target by `xdp-build` from the build scripts of `xdp-user`, `xdp-gen` and
//! `xdp-ladder`. This library also exists so that those crates can declare a build-dependency
//! on this package and be rebuilt when it changes.
#![no_std]

pub mod classify;
