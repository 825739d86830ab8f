//! The AF_XDP layer: raw socket options, socket + UMEM setup, and frame accounting.
pub mod frames;
pub mod socket;
pub mod sys;
