//! `xdp-gen`: packet generator (BPF_PROG_RUN live frames) with an XDP reply sink, kernel UDP
//! echo servers, and an XDP_TX bounce, for benchmarking the responder.
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xdp_gen::{bounce, echo, gen};

#[derive(Parser)]
#[command(
    name = "xdp-gen",
    version,
    about,
    long_about = "Benchmark tools for the AF_XDP responder. `gen` sends UDP or ICMP echo requests with \
the kernel's XDP live-frames mode (BPF_PROG_RUN) and counts, checks and times the replies with an XDP \
sink; `echo-server` runs the kernel's UDP echo paths; `bounce` attaches the in-kernel XDP_TX bound. \
Every run is bounded in time. `gen` and `bounce` need root."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send requests at a fixed rate or as fast as possible, report replies, loss, RTT, CPU.
    Gen(gen::GenArgs),
    /// Kernel UDP echo server (recvfrom/sendto or recvmmsg/sendmmsg).
    EchoServer(echo::EchoArgs),
    /// Attach the XDP_TX bounce program (the in-kernel bound) for a bounded time.
    Bounce(bounce::BounceArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Gen(args) => need_root("gen").and_then(|()| gen::run(&args)),
        Command::EchoServer(args) => echo::run(&args),
        Command::Bounce(args) => need_root("bounce").and_then(|()| bounce::run(&args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn need_root(what: &str) -> anyhow::Result<()> {
    if !nix::unistd::geteuid().is_root() {
        anyhow::bail!(
            "xdp-gen {what} needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for BPF_PROG_RUN)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed_and_documented() {
        Cli::command().debug_assert();
        for sub in Cli::command().get_subcommands() {
            assert!(sub.get_about().is_some(), "{}", sub.get_name());
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" {
                    assert!(
                        arg.get_help().is_some(),
                        "{} --{id} lacks help",
                        sub.get_name()
                    );
                }
            }
        }
    }

    #[test]
    fn gen_defaults_are_the_lab() {
        let cli = Cli::try_parse_from(["xdp-gen", "gen"]).expect("parse");
        let Command::Gen(g) = cli.command else {
            panic!("not gen")
        };
        assert_eq!(g.iface, "veth-gen");
        assert_eq!(g.dst_ip.to_string(), "198.18.0.2");
        assert_eq!(g.src_ip.to_string(), "198.18.0.1");
        assert_eq!(g.dst_mac, [2, 0, 0, 0, 0, 2]);
        assert_eq!((g.dst_port, g.size, g.seconds), (7, 18, 5.0));
        assert!(Cli::try_parse_from(["xdp-gen", "gen", "--seconds", "0"]).is_err());
        assert!(Cli::try_parse_from(["xdp-gen", "gen", "--rate", "fast"]).is_err());
        assert!(Cli::try_parse_from([
            "xdp-gen",
            "echo-server",
            "--mode",
            "mmsg",
            "--seconds",
            "5"
        ])
        .is_ok());
        assert!(Cli::try_parse_from(["xdp-gen", "bounce", "--seconds", "0"]).is_err());
    }
}
