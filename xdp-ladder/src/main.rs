//! `xdp-ladder`: the tools of `cargo xtask ladder` (see docs/LADDER.md), which runs them in the
//! veth lab next to `xdp-gen`'s echo servers and the responder.
//!
//! * `count`: in-kernel counters of copies, system calls and context switches per process
//!   role (needs root): loads the `ladder` programs of `xdp-ebpf` (built by this crate's build
//!   script through `xdp-build`; their slots and map layout are `xdp_common::ladder`);
//! * `file-server` / `file-client`: the file rungs (`read`+`write`, `mmap`, `sendfile`,
//!   `splice`).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

mod count;
mod file;

/// The copy ladder's tools.
#[derive(Debug, Parser)]
#[command(name = "xdp-ladder", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Count copies, system calls and context switches of processes in the kernel (root).
    Count(count::CountArgs),
    /// Serve a file over TCP, again and again on each connection, in one of five ways.
    FileServer(file::ServerArgs),
    /// Receive the file from `file-server` and verify every byte; prints a RESULT line.
    FileClient(file::ClientArgs),
}

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    let r = match &cli.cmd {
        Cmd::Count(a) => count::run(a, started),
        Cmd::FileServer(a) => file::serve(a),
        Cmd::FileClient(a) => file::client(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xdp-ladder: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
