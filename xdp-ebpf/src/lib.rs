//! The pure half of the XDP program, shared with host unit tests.
//!
//! The XDP program itself is the `xdp-ebpf` binary (`src/main.rs`), built for the bpf target by
//! `xdp-user`'s build script (aya-build). This library also exists so that `xdp-user` can declare
//! a build-dependency on this crate and be rebuilt when it changes.
#![no_std]

pub mod classify;
