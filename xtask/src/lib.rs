//! Project workflows (`cargo xtask ...`) and the test helpers the integration tests share:
//!
//! * [`lab`]: the veth lab (two network namespaces, one veth pair) and its constants;
//! * [`netns::in_netns`]: run Rust code inside a named network namespace;
//! * [`echo::udp_echo_check`]: byte-exact UDP echo check;
//! * [`responder`]: the responder as a child process (ready line, SIGINT stop);
//! * [`setup`]: toolchain installation and the build environment;
//! * [`cmd`]: running commands with echo and clear errors;
//! * [`paths`]: the workspace, cargo, the target directory and the responder binary;
//! * [`privilege`]: the root check of the tasks that need it;
//! * [`tasks`]: the `cargo xtask` subcommands.

pub mod cmd;
pub mod echo;
pub mod lab;
pub mod netns;
pub mod paths;
pub mod privilege;
pub mod responder;
pub mod setup;
pub use xdp_host::signals;
pub mod tasks;

pub use echo::{udp_echo_check, EchoReport};
pub use lab::{Lab, LabSpec};
pub use netns::in_netns;
