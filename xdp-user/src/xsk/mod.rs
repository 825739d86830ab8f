//! The AF_XDP layer: raw socket options, socket + UMEM setup, the ring interface with its two
//! implementations (the kernel's rings and an in-memory kernel model), and frame accounting.
pub mod frames;
pub mod mmap;
pub mod model;
pub mod ring;
pub mod socket;
pub mod sys;
