//! `xdp-responder`: answers ARP, ICMP/ICMPv6 echo, NDP and UDP echo from AF_XDP sockets, in
//! place in UMEM. The command line over the `xdp_user` library: `run` (the responder),
//! `addr` and `status` (talk to a running one over its control socket) and `bench-datapath`
//! (the in-memory data-path benchmark `cargo xtask bench --datapath` runs).
use std::{net::IpAddr, process::ExitCode};

use clap::{Parser, Subcommand};
use xdp_user::{bench, control, report, runner};

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
    /// Measure the user-space data path over the in-memory kernel model (no root needed) and,
    /// as root, the XDP classifier with BPF_PROG_TEST_RUN; print RESULT lines; `--out FILE`
    /// also writes markdown tables.
    #[command(name = "bench-datapath", hide = true)]
    BenchDatapath {
        /// Requests per run.
        #[arg(long, default_value_t = 1_000_000)]
        packets: u64,
        /// Runs per case (the median is reported).
        #[arg(long, default_value_t = 3)]
        repeats: u32,
        /// Frames per batch.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Only these kinds (udp4 udp6 icmp4 icmp6 arp ndp), e.g. to profile one case.
        #[arg(long, value_delimiter = ',')]
        kind: Vec<String>,
        /// Only these frame sizes (64 1500 9000).
        #[arg(long, value_delimiter = ',')]
        size: Vec<usize>,
        /// Markdown table to write.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// A line about the machine's load, put into the table's header.
        #[arg(long, default_value = "")]
        note: String,
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
    let mut cli_bench = None;
    let result = match cli.command {
        Command::BenchDatapath {
            packets,
            repeats,
            batch,
            kind,
            size,
            out,
            note,
        } => {
            let only = bench::Only {
                kinds: kind,
                sizes: size,
            };
            cli_bench = Some((packets, repeats, batch, only, out, note));
            Ok(())
        }
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
    let result = match (result, cli_bench) {
        (Ok(()), Some((packets, repeats, batch, only, out, note))) => {
            bench::datapath(packets, repeats, batch, &only).and_then(|cases| {
                print!("{}", bench::result_lines(&cases));
                let classifier = if nix::unistd::geteuid().is_root() {
                    bench::classifier(1_000_000, repeats).map_err(|e| format!("{e:#}"))
                } else {
                    Err("needs root (CAP_BPF) for BPF_PROG_TEST_RUN".to_string())
                };
                match &classifier {
                    Ok(c) => print!("{}", bench::classifier_lines(c)),
                    Err(why) => eprintln!("bench-datapath: classifier not measured: {why}"),
                }
                let md = bench::markdown(&cases, &note) + &bench::classifier_markdown(&classifier);
                match out {
                    Some(p) => std::fs::write(&p, md)
                        .map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display())),
                    None => Ok(()),
                }
            })
        }
        (r, _) => r,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
