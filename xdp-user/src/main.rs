//! `xdp-responder`: answers ARP, ICMP/ICMPv6 echo, NDP and UDP echo from AF_XDP sockets, in
//! place in UMEM.
use std::{net::IpAddr, process::ExitCode};

use clap::{Parser, Subcommand};
use xdp_user::{control, report, runner};

#[derive(Parser)]
#[command(
    name = "xdp-responder",
    version,
    about,
    long_about = "Answers ARP, ICMP/ICMPv6 echo, NDP and UDP echo for the addresses you give it, from AF_XDP \
sockets: each reply is built in the UMEM frame its request arrived in and sent from there. \
Needs root. Traffic not addressed to those addresses (and protocols) goes to the kernel untouched."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Attach to an interface and answer until SIGINT/SIGTERM (or --duration).
    Run(runner::RunArgs),
    /// Add or remove an address a running responder answers for.
    Addr {
        #[command(subcommand)]
        op: AddrOp,
    },
    /// Show the counters and modes of the responder running on an interface (from another
    /// process, in the same network namespace).
    Status {
        /// Interface the responder serves.
        #[arg(short, long)]
        iface: String,
        /// Print the raw JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AddrOp {
    /// Start answering for IP.
    Add {
        /// Interface the responder serves.
        #[arg(short, long)]
        iface: String,
        ip: IpAddr,
    },
    /// Stop answering for IP.
    Del {
        /// Interface the responder serves.
        #[arg(short, long)]
        iface: String,
        ip: IpAddr,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => runner::run(args),
        Command::Addr {
            op: AddrOp::Add { iface, ip },
        } => control::request(&iface, &format!("addr add {ip}")).map(|a| println!("{a}")),
        Command::Addr {
            op: AddrOp::Del { iface, ip },
        } => control::request(&iface, &format!("addr del {ip}")).map(|a| println!("{a}")),
        Command::Status { iface, json } => control::request(&iface, "status").map(|a| {
            if json {
                println!("{a}")
            } else {
                println!("{}", report::status_text(&a))
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
