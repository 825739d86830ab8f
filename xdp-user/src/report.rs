//! What the responder prints: one line per interval (rates and counts, per queue when there
//! are several), the totals at exit, JSON lines with `--json`, and the `status` answer.
//! All of them render a [`Sample`].
use std::{
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Serialize;
use xdp_common::Counter;

use crate::{
    live_identity::LiveIdentity,
    loader::Loader,
    sample::{bpf_named, Figures, QueueFigures, Sample},
    stats::{
        answer_names, class_names, drop_names, human_bps, human_pps, nonzero, QueueStats, Snapshot,
    },
    worker::WorkerExit,
    xsk::sys,
};

/// Where lines go: with `--json`, stdout carries only JSON lines and human text goes to
/// stderr.
#[derive(Clone, Copy, Debug, Default)]
pub struct Out {
    pub json: bool,
}

impl Out {
    pub fn human(&self, line: &str) {
        if self.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    pub fn json(&self, value: &impl Serialize) {
        if self.json {
            match serde_json::to_string(value) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("error: encoding JSON: {e}"),
            }
        }
    }
}

/// One served queue, as the report sees it.
#[derive(Clone)]
pub struct QueueInfo {
    pub queue: u32,
    pub fd: std::os::fd::RawFd,
    /// "zero-copy", "copy" or "skb".
    pub mode: &'static str,
    pub stats: Arc<QueueStats>,
}

type BpfCounters = [u64; Counter::COUNT];

/// The live state a sample is read from; cheap to clone for other threads.
#[derive(Clone)]
pub struct Sources {
    pub iface: String,
    pub loader: Arc<Mutex<Loader>>,
    pub queues: Vec<QueueInfo>,
    pub live: Arc<LiveIdentity>,
}

/// Snapshots of every queue (with XDP_STATISTICS) at one moment.
#[derive(Clone, Default)]
pub struct Reading {
    pub elapsed: Duration,
    pub queues: Vec<Snapshot>,
    pub total: Snapshot,
}

impl Sources {
    pub fn bpf_counters(&self) -> BpfCounters {
        self.loader
            .lock()
            .ok()
            .and_then(|l| l.counters().ok())
            .unwrap_or([0; Counter::COUNT])
    }

    pub fn xdp_mode(&self) -> &'static str {
        self.loader.lock().map(|l| l.attached.name()).unwrap_or("?")
    }

    pub fn read(&self, elapsed: Duration) -> Reading {
        let queues: Vec<Snapshot> = self
            .queues
            .iter()
            .map(|q| {
                let mut s = q.stats.snapshot();
                // Once the worker closed the socket, its fd may be reused: use the kept copy.
                let kept = *q.stats.xdp_final.lock().unwrap_or_else(|p| p.into_inner());
                s.xdp = kept.unwrap_or_else(|| sys::xdp_statistics(q.fd).unwrap_or_default());
                s
            })
            .collect();
        let mut total = Snapshot::default();
        for s in &queues {
            total.add(s);
        }
        Reading {
            elapsed,
            queues,
            total,
        }
    }

    /// A sample of `now`, with rates against `prev` (or since start).
    pub fn sample(&self, kind: &'static str, now: &Reading, prev: Option<&Reading>) -> Sample {
        let empty = Reading::default();
        let prev = prev.unwrap_or(&empty);
        let secs = (now.elapsed.saturating_sub(prev.elapsed)).as_secs_f64();
        let blank = Snapshot::default();
        Sample {
            kind,
            time_s: now.elapsed.as_secs_f64(),
            interval_s: secs,
            iface: self.iface.clone(),
            xdp_mode: self.xdp_mode(),
            total: Figures::new(&now.total, &prev.total, secs),
            xdp: bpf_named(&self.bpf_counters()),
            queues: self
                .queues
                .iter()
                .zip(&now.queues)
                .enumerate()
                .map(|(i, (q, s))| QueueFigures {
                    queue: q.queue,
                    mode: q.mode,
                    figures: Figures::new(s, prev.queues.get(i).unwrap_or(&blank), secs),
                })
                .collect(),
        }
    }
}

/// The `status` answer: who is running where, in which modes, answering for what.
#[derive(Serialize)]
pub struct Status {
    pub pid: u32,
    pub program: &'static str,
    pub v4: Vec<std::net::Ipv4Addr>,
    pub v6: Vec<std::net::Ipv6Addr>,
    pub udp_ports: Vec<u16>,
    #[serde(flatten)]
    pub sample: Sample,
}

fn nonzero_map(m: &std::collections::BTreeMap<&'static str, u64>) -> String {
    let parts: Vec<String> = m
        .iter()
        .filter(|(_, v)| **v != 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" ")
    }
}

/// The one-line live view of a sample.
pub fn interval_line(s: &Sample) -> String {
    let t = &s.total;
    format!(
        "[{:>6.1}s] rx {} tx {} ({}) | total rx={} tx={} | answers {} | drops {} | xdp {} | xsk {} | syscalls tx={:.0}/s fill_empty={:.0}/s | handler p50={}ns p99={}ns",
        s.time_s,
        human_pps(t.rx_pps),
        human_pps(t.tx_pps),
        human_bps(t.tx_bps),
        t.counts.rx_packets,
        t.counts.tx_packets,
        nonzero_map(&t.answers),
        nonzero_map(&t.drops),
        nonzero_map(&s.xdp),
        nonzero_map(&t.xsk),
        t.tx_wakeups_per_s,
        t.fill_ring_empty_per_s,
        t.handler_ns.p50,
        t.handler_ns.p99,
    )
}

/// The compact per-queue line under the live view (when serving several queues).
pub fn queue_line(q: &QueueFigures) -> String {
    let f = &q.figures;
    format!(
        "         q{} {}: rx {} tx {} | answers {} | drops {} | xsk {}",
        q.queue,
        q.mode,
        human_pps(f.rx_pps),
        human_pps(f.tx_pps),
        nonzero_map(&f.answers),
        nonzero_map(&f.drops),
        nonzero_map(&f.xsk)
    )
}

pub struct Report {
    src: Sources,
    out: Out,
    last: Option<Reading>,
}

impl Report {
    pub fn new(src: Sources, out: Out) -> Self {
        Report {
            src,
            out,
            last: None,
        }
    }

    pub fn sources(&self) -> Sources {
        self.src.clone()
    }

    /// "native sockets=copy" and the like.
    pub fn modes(&self) -> String {
        let mut modes: Vec<&str> = self.src.queues.iter().map(|q| q.mode).collect();
        modes.dedup();
        format!("{} sockets={}", self.src.xdp_mode(), modes.join("/"))
    }

    /// Prints the live view (and JSON line) for this interval.
    pub fn interval(&mut self, elapsed: Duration) {
        let now = self.src.read(elapsed);
        let sample = self.src.sample("interval", &now, self.last.as_ref());
        self.out.human(&interval_line(&sample));
        if sample.queues.len() > 1 {
            for q in &sample.queues {
                self.out.human(&queue_line(q));
            }
        }
        self.out.json(&sample);
        self.last = Some(now);
    }

    /// Prints the totals block (and a JSON `totals` object).
    pub fn totals(&self, elapsed: Duration, exits: &[WorkerExit]) {
        let now = self.src.read(elapsed);
        let sample = self.src.sample("totals", &now, None);
        let t = &now.total;
        let secs = elapsed.as_secs_f64().max(1e-6);
        let mut out = String::new();
        let _ = writeln!(out, "totals after {secs:.1}s on {}:", self.src.iface);
        let _ = writeln!(
            out,
            "  rx packets     {} ({} avg)",
            t.rx_packets,
            human_pps(t.rx_packets as f64 / secs)
        );
        let _ = writeln!(
            out,
            "  tx packets     {} ({} avg)",
            t.tx_packets,
            human_pps(t.tx_packets as f64 / secs)
        );
        let _ = writeln!(
            out,
            "  answers        {}",
            nonzero(answer_names(), &t.answers)
        );
        let _ = writeln!(out, "  drops          {}", nonzero(drop_names(), &t.drops));
        let _ = writeln!(
            out,
            "  drops by class {}",
            nonzero(class_names(), &t.drop_classes)
        );
        let _ = writeln!(out, "  tx ring full   {}", t.tx_ring_full);
        let _ = writeln!(out, "  xdp program    {}", nonzero_map(&sample.xdp));
        let _ = writeln!(out, "  xsk statistics {}", nonzero_map(&sample.total.xsk));
        let _ = writeln!(
            out,
            "  wakeups        tx={} fill={} idle_sleeps={} idle_woken={} idle_naps={} busy_polls={} (idle spin {:.1} µs)",
            t.tx_wakeups,
            t.fill_wakeups,
            t.idle_sleeps,
            t.idle_woken,
            t.idle_naps,
            t.busy_polls,
            t.idle_spin_ns as f64 / 1000.0
        );
        let h = &sample.total.handler_ns;
        let _ = writeln!(
            out,
            "  handler time   min={}ns p50={}ns p99={}ns max={}ns ({} samples)",
            h.min, h.p50, h.p99, h.max, h.samples
        );
        for q in &sample.queues {
            let f = &q.figures;
            let _ = writeln!(
                out,
                "  queue {} ({}): rx={} tx={} answers {} drops {}",
                q.queue,
                q.mode,
                f.counts.rx_packets,
                f.counts.tx_packets,
                nonzero_map(&f.answers),
                nonzero_map(&f.drops)
            );
        }
        for e in exits {
            let a = &e.audit;
            let verdict = match a.result() {
                Ok(()) => "ok".to_string(),
                Err(msg) => format!("DRIFT: {msg}"),
            };
            let _ = writeln!(out, "  rings q{}       {a}", e.queue);
            let _ = writeln!(
                out,
                "  frames q{}      total={} free={} kernel_rx={} kernel_tx={} in_hand={} ({verdict})",
                e.queue, a.total, a.free, a.kernel_rx, a.kernel_tx, a.in_hand
            );
        }
        self.out.human(out.trim_end());
        self.out.json(&sample);
    }
}

/// Renders the `status` answer (one JSON line) for the control thread.
pub fn status_json(src: &Sources, elapsed: Duration) -> String {
    let (_, id) = src.live.load();
    let now = src.read(elapsed);
    let status = Status {
        pid: std::process::id(),
        program: crate::loader::PROGRAM,
        v4: id.v4.clone(),
        v6: id.v6.clone(),
        udp_ports: id.udp_ports.clone(),
        sample: src.sample("status", &now, None),
    };
    serde_json::to_string(&status).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Human rendering of a `status` JSON answer (for `xdp-responder status`).
pub fn status_text(json: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_string();
    };
    let list = |key: &str| -> String {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.to_string().trim_matches('"').to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let map = |m: &serde_json::Value| -> String {
        let parts: Vec<String> = m
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, x)| x.as_u64().unwrap_or(0) != 0)
                    .map(|(k, x)| format!("{k}={x}"))
                    .collect()
            })
            .unwrap_or_default();
        if parts.is_empty() {
            "-".into()
        } else {
            parts.join(" ")
        }
    };
    let queues: Vec<String> = v["queues"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|q| format!("{}:{}", q["queue"], q["mode"].as_str().unwrap_or("?")))
                .collect()
        })
        .unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "xdp-responder pid {} on {}: program {} attached in {} mode, up {:.0}s",
        v["pid"],
        v["iface"].as_str().unwrap_or("?"),
        v["program"].as_str().unwrap_or("?"),
        v["xdp_mode"].as_str().unwrap_or("?"),
        v["time_s"].as_f64().unwrap_or(0.0)
    );
    let _ = writeln!(out, "  queues (queue:socket mode) {}", queues.join(" "));
    let _ = writeln!(
        out,
        "  answering for {} {}; UDP ports {}",
        list("v4"),
        list("v6"),
        list("udp_ports")
    );
    let _ = writeln!(
        out,
        "  rx={} tx={} answers {} drops {}",
        v["rx_packets"],
        v["tx_packets"],
        map(&v["answers"]),
        map(&v["drops"])
    );
    let _ = writeln!(out, "  xdp program {}", map(&v["xdp"]));
    let _ = write!(out, "  xsk statistics {}", map(&v["xsk"]));
    out
}
