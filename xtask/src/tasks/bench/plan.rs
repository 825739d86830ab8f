//! What the benchmark runs: the servers compared, how each is started in the responder's
//! namespace, and how the generator is started against it. Pure: command lines only.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::lab;

/// The server side of one configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Server {
    /// Our responder with `--xdp-mode <mode>` and extra flags (the sweep's); `bin` is another
    /// build of it to run instead of this workspace's (`--variant-bin`).
    Responder {
        xdp_mode: &'static str,
        extra: Vec<String>,
        bin: Option<PathBuf>,
    },
    /// `xdp-gen echo-server --mode <mode>` (simple or mmsg): the kernel's UDP path.
    KernelEcho { mode: &'static str },
    /// `xdp-gen bounce`: XDP_TX in the kernel, no user space (the in-kernel bound).
    Bounce,
    /// DPDK's `dpdk-testpmd` over its AF_XDP PMD, forwarding mode `forward` (`macswap` or
    /// `icmpecho`); `file_prefix` names its runtime directory under `/var/run/dpdk`.
    Dpdk {
        forward: &'static str,
        file_prefix: String,
    },
}

/// The requests the generator sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Load {
    /// 60-byte UDP datagrams to the echo port.
    Udp,
    /// 60-byte ICMP echo requests.
    Icmp,
}

impl Load {
    /// `xdp-gen gen --proto` value.
    pub fn proto(self) -> &'static str {
        match self {
            Load::Udp => "udp",
            Load::Icmp => "icmp",
        }
    }

    /// Table label.
    pub fn label(self) -> &'static str {
        match self {
            Load::Udp => "UDP",
            Load::Icmp => "ICMP",
        }
    }
}

/// One configuration to measure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Short unique id, e.g. `responder-native`, `sweep-batch-16`.
    pub key: String,
    /// Human label for tables and the chart.
    pub label: String,
    pub server: Server,
}

/// Keys of the five compared configurations.
pub mod keys {
    pub const NATIVE: &str = "responder-native";
    pub const SKB: &str = "responder-skb";
    pub const SIMPLE: &str = "kernel-simple";
    pub const MMSG: &str = "kernel-mmsg";
    pub const BOUNCE: &str = "xdp-tx-bounce";
}

impl Scenario {
    fn new(key: &str, label: &str, server: Server) -> Scenario {
        Scenario {
            key: key.to_string(),
            label: label.to_string(),
            server,
        }
    }

    /// The address the generator targets: the responder's XDP-owned address, or the kernel's
    /// own address on `veth-resp` for the kernel echo servers.
    pub fn target(&self) -> Ipv4Addr {
        match self.server {
            Server::KernelEcho { .. } => lab::RESP_KERNEL_IPV4,
            Server::Responder { .. } | Server::Bounce | Server::Dpdk { .. } => lab::RESP_XDP_IPV4,
        }
    }

    /// What a valid reply is (`xdp-gen gen --expect`): an echo, or for testpmd's `macswap`
    /// the request with its MAC addresses swapped.
    pub fn expect(&self) -> &'static str {
        match self.server {
            Server::Dpdk {
                forward: "macswap", ..
            } => "macswap",
            _ => "echo",
        }
    }

    /// True if a user-space server process does the work (its CPU time is measured).
    pub fn has_process(&self) -> bool {
        !matches!(self.server, Server::Bounce)
    }

    /// The server's command line (to run inside the responder namespace), pinned to
    /// `cpu` and bounded to `seconds`.
    pub fn server_command(
        &self,
        responder: &Path,
        gen: &Path,
        cpu: usize,
        seconds: u64,
    ) -> Vec<String> {
        let s = |x: &str| x.to_string();
        match &self.server {
            Server::Responder {
                xdp_mode,
                extra,
                bin,
            } => {
                let mut v = vec![
                    s("taskset"),
                    s("-c"),
                    cpu.to_string(),
                    bin.as_deref().unwrap_or(responder).display().to_string(),
                    s("run"),
                    s("--iface"),
                    s(lab::RESP_IFACE),
                    s("--addr"),
                    lab::RESP_XDP_IPV4.to_string(),
                    s("--udp-port"),
                    lab::UDP_ECHO_PORT.to_string(),
                    s("--xdp-mode"),
                    s(xdp_mode),
                    s("--interval"),
                    s("0"),
                    s("--duration"),
                    seconds.to_string(),
                ];
                v.extend(extra.iter().cloned());
                v
            }
            Server::KernelEcho { mode } => vec![
                gen.display().to_string(),
                s("echo-server"),
                s("--mode"),
                s(mode),
                s("--port"),
                lab::UDP_ECHO_PORT.to_string(),
                s("--cpu"),
                cpu.to_string(),
                s("--seconds"),
                seconds.to_string(),
            ],
            Server::Bounce => vec![
                gen.display().to_string(),
                s("bounce"),
                s("--iface"),
                s(lab::RESP_IFACE),
                s("--port"),
                lab::UDP_ECHO_PORT.to_string(),
                s("--seconds"),
                seconds.to_string(),
            ],
            // Both lcores (main and forwarding) and, through taskset, EAL's control threads
            // on the server's CPU, like the responder. `timeout` bounds its lifetime (it
            // sends SIGINT, which testpmd handles like Ctrl-C). testpmd answers once it
            // prints "<mode> packet forwarding - ports=..." (see `DPDK_READY`); statistics
            // are printed at exit and once a minute.
            Server::Dpdk {
                forward,
                file_prefix,
            } => vec![
                s("timeout"),
                s("-s"),
                s("INT"),
                seconds.to_string(),
                s("taskset"),
                s("-c"),
                cpu.to_string(),
                s(DPDK_TESTPMD),
                s("--lcores"),
                format!("0@{cpu},1@{cpu}"),
                s("--no-huge"),
                s("-m"),
                s("1024"),
                s("--no-pci"),
                s("--vdev"),
                format!(
                    "net_af_xdp0,iface={},start_queue=0,queue_count=1",
                    lab::RESP_IFACE
                ),
                s("--file-prefix"),
                file_prefix.clone(),
                s("--"),
                format!("--forward-mode={forward}"),
                s("--auto-start"),
                s("--stats-period"),
                s("60"),
                s("--nb-cores=1"),
                s("--rxq=1"),
                s("--txq=1"),
                s("--total-num-mbufs=16384"),
            ],
        }
    }

    /// The line a started server prints when it answers (`None`: the responder's `ready`).
    pub fn ready_marker(&self) -> Option<&'static str> {
        match self.server {
            Server::Dpdk { .. } => Some(DPDK_READY),
            _ => None,
        }
    }

    /// The loads this configuration answers in the DPDK comparison.
    pub fn loads(&self) -> &'static [Load] {
        match self.server {
            Server::Dpdk {
                forward: "macswap", ..
            } => &[Load::Udp],
            Server::Dpdk { .. } => &[Load::Icmp],
            _ => &[Load::Udp, Load::Icmp],
        }
    }
}

/// DPDK's test application (Debian package `dpdk-dev`).
pub const DPDK_TESTPMD: &str = "dpdk-testpmd";
/// What testpmd prints once it forwards, e.g. `macswap packet forwarding - ports=1 - cores=1`.
pub const DPDK_READY: &str = "packet forwarding - ports=";

/// Keys of the DPDK comparison's configurations.
pub mod compare_keys {
    pub const OURS: &str = "responder-defaults";
    pub const DPDK_MACSWAP: &str = "dpdk-macswap";
    pub const DPDK_ICMPECHO: &str = "dpdk-icmpecho";
    /// Responder variants are `responder-variant-1`, `-2`, ...
    pub const VARIANT_PREFIX: &str = "responder-variant-";
}

/// The DPDK comparison: our responder with its defaults (answers both loads), each of
/// `variants` (responder flags, e.g. `--busy-poll`, measured in the same interleaved rounds),
/// each of `bins` (other builds of the responder, with their defaults), and with `dpdk`
/// testpmd in `macswap` mode (UDP load) and in `icmpecho` mode (ICMP load). `file_prefix`
/// is testpmd's runtime directory name.
pub fn compare_scenarios(
    file_prefix: &str,
    variants: &[String],
    bins: &[PathBuf],
    dpdk: bool,
) -> Vec<Scenario> {
    let testpmd = |forward: &'static str| Server::Dpdk {
        forward,
        file_prefix: file_prefix.to_string(),
    };
    let mut v = vec![Scenario::new(
        compare_keys::OURS,
        "xdp-responder (defaults, full L3/L4 echo)",
        Server::Responder {
            xdp_mode: "native",
            extra: vec![],
            bin: None,
        },
    )];
    // Flag variants first, then other builds, numbered on from 1 in that order.
    let with_flags = variants.iter().map(|flags| {
        let extra = flags.split_whitespace().map(str::to_string).collect();
        (format!("xdp-responder {flags}"), extra, None)
    });
    let builds = bins.iter().map(|bin| {
        (
            format!("{} (defaults)", bin.display()),
            vec![],
            Some(bin.clone()),
        )
    });
    for (i, (label, extra, bin)) in with_flags.chain(builds).enumerate() {
        v.push(Scenario::new(
            &format!("{}{}", compare_keys::VARIANT_PREFIX, i + 1),
            &label,
            Server::Responder {
                xdp_mode: "native",
                extra,
                bin,
            },
        ));
    }
    if dpdk {
        v.push(Scenario::new(
            compare_keys::DPDK_MACSWAP,
            "DPDK testpmd, AF_XDP PMD, macswap",
            testpmd("macswap"),
        ));
        v.push(Scenario::new(
            compare_keys::DPDK_ICMPECHO,
            "DPDK testpmd, AF_XDP PMD, icmpecho",
            testpmd("icmpecho"),
        ));
    }
    v
}

/// The five configurations compared, in table order.
pub fn main_scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            keys::NATIVE,
            "responder, native XDP (copy sockets)",
            Server::Responder {
                xdp_mode: "native",
                extra: vec![],
                bin: None,
            },
        ),
        Scenario::new(
            keys::SKB,
            "responder, --xdp-mode skb",
            Server::Responder {
                xdp_mode: "skb",
                extra: vec![],
                bin: None,
            },
        ),
        Scenario::new(
            keys::SIMPLE,
            "kernel UDP echo, recvfrom/sendto",
            Server::KernelEcho { mode: "simple" },
        ),
        Scenario::new(
            keys::MMSG,
            "kernel UDP echo, recvmmsg/sendmmsg",
            Server::KernelEcho { mode: "mmsg" },
        ),
        Scenario::new(
            keys::BOUNCE,
            "XDP_TX bounce (in-kernel bound)",
            Server::Bounce,
        ),
    ]
}

/// Keys of the configurations whose RTT is measured at a fixed low rate.
pub const RTT_KEYS: [&str; 3] = [keys::NATIVE, keys::SIMPLE, keys::MMSG];

/// The responder's own defaults for the flags the sweep changes (`xdp-responder run`'s
/// `--batch` and `--ring-size`): the sweep's baseline, named in its heading.
pub const SWEEP_DEFAULTS: SweepDefaults = SweepDefaults {
    batch: "32",
    ring_size: "2048",
};

/// See [`SWEEP_DEFAULTS`].
pub struct SweepDefaults {
    pub batch: &'static str,
    pub ring_size: &'static str,
}

/// The responder sweep (native mode, from [`SWEEP_DEFAULTS`] with need_wakeup on), one
/// factor at a time; a value equal to the default is the baseline and not run again.
pub fn sweep_scenarios() -> Vec<Scenario> {
    let resp = |extra: &[&str]| Server::Responder {
        xdp_mode: "native",
        extra: extra.iter().map(|s| s.to_string()).collect(),
        bin: None,
    };
    let mut v = Vec::new();
    let batches = ["16", "32", "64", "128", "256"];
    for b in batches.into_iter().filter(|b| *b != SWEEP_DEFAULTS.batch) {
        v.push(Scenario::new(
            &format!("sweep-batch-{b}"),
            &format!("--batch {b}"),
            resp(&["--batch", b]),
        ));
    }
    let rings = ["512", "1024", "2048", "4096"];
    for r in rings.into_iter().filter(|r| *r != SWEEP_DEFAULTS.ring_size) {
        // The UMEM must hold at least two rings' worth of frames.
        let frames = (2 * r.parse::<u32>().unwrap_or(2048)).max(4096).to_string();
        v.push(Scenario::new(
            &format!("sweep-ring-{r}"),
            &format!("--ring-size {r}"),
            resp(&["--ring-size", r, "--frame-count", &frames]),
        ));
    }
    v.push(Scenario::new(
        "sweep-no-need-wakeup",
        "--no-need-wakeup",
        resp(&["--no-need-wakeup"]),
    ));
    v.push(Scenario::new(
        "sweep-busy-poll",
        "--busy-poll",
        resp(&["--busy-poll"]),
    ));
    v
}

/// How the generator is run for one measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct GenRun {
    /// UDP or ICMP requests.
    pub load: Load,
    /// Packets per second, or `None` for max.
    pub rate: Option<f64>,
    /// Window and warm-up, seconds.
    pub window: f64,
    pub warmup: f64,
    /// One frame in this many sampled (checksums verified, RTT recorded).
    pub sample_every: u64,
}

/// The generator's command line (to run inside the generator namespace) against `sc`.
pub fn gen_command(
    gen: &Path,
    sc: &Scenario,
    run: &GenRun,
    cpu: usize,
    watch_pid: Option<u32>,
) -> Vec<String> {
    let mut v = vec![
        gen.display().to_string(),
        "gen".into(),
        "--iface".into(),
        lab::GEN_IFACE.into(),
        "--dst-ip".into(),
        sc.target().to_string(),
        "--proto".into(),
        run.load.proto().into(),
        "--expect".into(),
        sc.expect().into(),
        "--dst-port".into(),
        lab::UDP_ECHO_PORT.to_string(),
        "--rate".into(),
        run.rate
            .map_or("max".to_string(), |r| format!("{:.0}", r.max(1.0))),
        "--seconds".into(),
        format!("{}", run.window),
        "--warmup".into(),
        format!("{}", run.warmup),
        "--sample-every".into(),
        run.sample_every.to_string(),
        "--cpu".into(),
        cpu.to_string(),
    ];
    if let Some(pid) = watch_pid {
        v.extend(["--watch-pid".into(), pid.to_string()]);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_defaults_are_the_responders() {
        // The sweep's baseline must be what `xdp-responder run` uses without the flags.
        let runner = include_str!("../../../../xdp-user/src/runner.rs");
        for (value, field) in [
            (SWEEP_DEFAULTS.batch, "pub batch: usize,"),
            (SWEEP_DEFAULTS.ring_size, "pub ring_size: u32,"),
        ] {
            let at = runner.find(field).expect(field);
            let attr = runner[..at].rfind("#[arg(").expect("clap attribute");
            let want = format!("default_value_t = {value})]");
            assert!(
                runner[attr..at].contains(&want),
                "{field}: runner.rs has {}",
                &runner[attr..at]
            );
        }
        let sweep = sweep_scenarios();
        assert!(!sweep.iter().any(|s| s.key == "sweep-batch-32"));
        assert!(sweep.iter().any(|s| s.key == "sweep-batch-64"));
        assert!(!sweep.iter().any(|s| s.key == "sweep-ring-2048"));
    }

    #[test]
    fn five_configurations_with_unique_keys() {
        let all: Vec<Scenario> = main_scenarios()
            .into_iter()
            .chain(sweep_scenarios())
            .collect();
        for (i, a) in all.iter().enumerate() {
            assert!(
                all[i + 1..].iter().all(|b| b.key != a.key),
                "{} twice",
                a.key
            );
        }
        let keys: Vec<String> = main_scenarios().iter().map(|s| s.key.clone()).collect();
        assert_eq!(
            keys,
            [
                keys::NATIVE,
                keys::SKB,
                keys::SIMPLE,
                keys::MMSG,
                keys::BOUNCE
            ]
        );
        for k in RTT_KEYS {
            assert!(keys.iter().any(|x| x == k));
        }
    }

    #[test]
    fn targets_and_processes() {
        let m = main_scenarios();
        assert_eq!(m[0].target(), lab::RESP_XDP_IPV4);
        assert_eq!(
            m[2].target(),
            lab::RESP_KERNEL_IPV4,
            "kernel servers answer on the kernel's address"
        );
        assert!(m[0].has_process() && m[3].has_process() && !m[4].has_process());
    }

    #[test]
    fn command_lines() {
        let (r, g) = (Path::new("/b/xdp-responder"), Path::new("/b/xdp-gen"));
        let m = main_scenarios();
        assert_eq!(
            m[1].server_command(r, g, 1, 60).join(" "),
            "taskset -c 1 /b/xdp-responder run --iface veth-resp --addr 198.18.0.2 --udp-port 7 --xdp-mode skb --interval 0 --duration 60"
        );
        assert_eq!(
            m[3].server_command(r, g, 1, 60).join(" "),
            "/b/xdp-gen echo-server --mode mmsg --port 7 --cpu 1 --seconds 60"
        );
        assert_eq!(
            m[4].server_command(r, g, 1, 60).join(" "),
            "/b/xdp-gen bounce --iface veth-resp --port 7 --seconds 60"
        );
        let sweep = sweep_scenarios();
        let ring = sweep
            .iter()
            .find(|s| s.key == "sweep-ring-4096")
            .expect("ring 4096");
        assert!(ring
            .server_command(r, g, 1, 60)
            .join(" ")
            .ends_with("--ring-size 4096 --frame-count 8192"));
        let run = GenRun {
            load: Load::Udp,
            rate: Some(800_000.4),
            window: 3.0,
            warmup: 1.0,
            sample_every: 16,
        };
        assert_eq!(
            gen_command(g, &m[0], &run, 0, Some(42)).join(" "),
            "/b/xdp-gen gen --iface veth-gen --dst-ip 198.18.0.2 --proto udp --expect echo --dst-port 7 --rate 800000 --seconds 3 --warmup 1 --sample-every 16 --cpu 0 --watch-pid 42"
        );
        let max = GenRun { rate: None, ..run };
        let kernel = gen_command(g, &m[3], &max, 0, None).join(" ");
        assert!(kernel.contains("--rate max") && kernel.contains("--dst-ip 198.18.0.3"));
    }

    #[test]
    fn dpdk_comparison() {
        let c = compare_scenarios("benchdpdk", &[], &[], true);
        let (r, g) = (Path::new("/b/xdp-responder"), Path::new("/b/xdp-gen"));
        assert_eq!(
            c[1].server_command(r, g, 1, 90).join(" "),
            "timeout -s INT 90 taskset -c 1 dpdk-testpmd --lcores 0@1,1@1 --no-huge -m 1024 --no-pci \
             --vdev net_af_xdp0,iface=veth-resp,start_queue=0,queue_count=1 --file-prefix benchdpdk -- \
             --forward-mode=macswap --auto-start --stats-period 60 --nb-cores=1 --rxq=1 --txq=1 \
             --total-num-mbufs=16384"
        );
        assert_eq!(c[0].loads(), [Load::Udp, Load::Icmp]);
        assert_eq!(
            (c[1].loads(), c[2].loads()),
            (&[Load::Udp][..], &[Load::Icmp][..])
        );
        assert_eq!(
            (c[0].expect(), c[1].expect(), c[2].expect()),
            ("echo", "macswap", "echo")
        );
        assert_eq!(
            (c[0].ready_marker(), c[2].ready_marker()),
            (None, Some(DPDK_READY))
        );
        let run = GenRun {
            load: Load::Icmp,
            rate: None,
            window: 3.0,
            warmup: 1.0,
            sample_every: 16,
        };
        let line = gen_command(g, &c[2], &run, 0, None).join(" ");
        assert!(
            line.contains("--dst-ip 198.18.0.2 --proto icmp --expect echo"),
            "{line}"
        );
        let run = GenRun {
            load: Load::Udp,
            ..run
        };
        let line = gen_command(g, &c[1], &run, 0, None).join(" ");
        assert!(line.contains("--proto udp --expect macswap"), "{line}");
        let v = compare_scenarios(
            "p",
            &["--busy-poll --batch 64".to_string()],
            &[PathBuf::from("/tmp/old/xdp-responder")],
            false,
        );
        assert_eq!(v.len(), 3, "no DPDK rows without dpdk");
        assert_eq!(v[1].key, "responder-variant-1");
        let line = v[1].server_command(r, g, 1, 60).join(" ");
        assert!(
            line.ends_with("--duration 60 --busy-poll --batch 64"),
            "{line}"
        );
        assert!(line.contains(&format!(" {} run ", r.display())), "{line}");
        // Another build runs with its defaults in place of this workspace's.
        assert_eq!(v[2].key, "responder-variant-2");
        let line = v[2].server_command(r, g, 1, 60).join(" ");
        assert!(line.contains(" /tmp/old/xdp-responder run "), "{line}");
        assert!(!line.contains(&r.display().to_string()), "{line}");
        assert!(line.ends_with("--duration 60"), "{line}");
    }
}
