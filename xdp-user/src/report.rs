//! What the responder prints: one line per interval (rates and counts), the totals at exit,
//! and the `status` answer for another process.
use std::{
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use xdp_common::Counter;

use crate::{
    live_identity::LiveIdentity,
    loader::Loader,
    stats::{answer_names, drop_names, human_bps, human_pps, nonzero, QueueStats, Snapshot},
    worker::WorkerExit,
    xsk::sys,
};

/// One served queue, as the report sees it.
#[derive(Clone)]
pub struct QueueInfo {
    pub queue: u32,
    pub fd: std::os::fd::RawFd,
    /// "zero-copy", "copy" or "skb".
    pub mode: &'static str,
    pub stats: Arc<QueueStats>,
}

type BpfCounters = [u64; Counter::COUNT as usize];

pub struct Report {
    iface: String,
    loader: Arc<Mutex<Loader>>,
    queues: Vec<QueueInfo>,
    live: Arc<LiveIdentity>,
    last: Option<(Duration, Snapshot)>,
}

fn bpf_counters(loader: &Mutex<Loader>) -> BpfCounters {
    loader.lock().ok().and_then(|l| l.counters().ok()).unwrap_or([0; Counter::COUNT as usize])
}

fn queue_snapshot(q: &QueueInfo) -> Snapshot {
    let mut s = q.stats.snapshot();
    s.xdp = sys::xdp_statistics(q.fd).unwrap_or_default();
    s
}

fn total(queues: &[QueueInfo]) -> Snapshot {
    let mut t = Snapshot::default();
    for q in queues {
        t.add(&queue_snapshot(q));
    }
    t
}

fn bpf_line(c: &BpfCounters) -> String {
    nonzero(Counter::ALL.map(Counter::name), c)
}

fn xdp_stats_line(s: &Snapshot) -> String {
    let f = s.xdp.fields();
    nonzero(f.map(|(n, _)| n), &f.map(|(_, v)| v))
}

impl Report {
    pub fn new(iface: &str, loader: Arc<Mutex<Loader>>, queues: Vec<QueueInfo>, live: Arc<LiveIdentity>) -> Self {
        Report { iface: iface.to_string(), loader, queues, live, last: None }
    }

    /// "native" or "skb", with the socket modes: e.g. `native, sockets copy`.
    pub fn xdp_mode(&self) -> String {
        let attached = self.loader.lock().map(|l| l.attached.name()).unwrap_or("?");
        let mut modes: Vec<&str> = self.queues.iter().map(|q| q.mode).collect();
        modes.dedup();
        format!("{attached} sockets={}", modes.join("/"))
    }

    /// One line: rates since the last line, and counts so far.
    pub fn interval_line(&mut self, elapsed: Duration) -> String {
        let now = total(&self.queues);
        let (prev_t, prev) = self.last.take().unwrap_or_default();
        let secs = (elapsed - prev_t).as_secs_f64().max(1e-6);
        let rx_pps = (now.rx_packets - prev.rx_packets) as f64 / secs;
        let tx_pps = (now.tx_packets - prev.tx_packets) as f64 / secs;
        let tx_bps = (now.tx_bytes - prev.tx_bytes) as f64 * 8.0 / secs;
        let line = format!(
            "[{:>6.1}s] rx {} tx {} ({}) | total rx={} tx={} | answers {} | drops {} | xdp {} | xsk {} | wakeups tx={} fill={}",
            elapsed.as_secs_f64(),
            human_pps(rx_pps),
            human_pps(tx_pps),
            human_bps(tx_bps),
            now.rx_packets,
            now.tx_packets,
            nonzero(answer_names(), &now.answers),
            nonzero(drop_names(), &now.drops),
            bpf_line(&bpf_counters(&self.loader)),
            xdp_stats_line(&now),
            now.tx_wakeups,
            now.fill_wakeups,
        );
        self.last = Some((elapsed, now));
        line
    }

    /// The totals block printed at exit.
    pub fn print_totals(&self, elapsed: Duration, exits: &[WorkerExit]) {
        let t = total(&self.queues);
        let secs = elapsed.as_secs_f64().max(1e-6);
        let mut out = String::new();
        let _ = writeln!(out, "totals after {secs:.1}s on {}:", self.iface);
        let _ = writeln!(out, "  rx packets     {} ({} avg)", t.rx_packets, human_pps(t.rx_packets as f64 / secs));
        let _ = writeln!(out, "  tx packets     {} ({} avg)", t.tx_packets, human_pps(t.tx_packets as f64 / secs));
        let _ = writeln!(out, "  answers        {}", nonzero(answer_names(), &t.answers));
        let _ = writeln!(out, "  drops          {}", nonzero(drop_names(), &t.drops));
        let _ = writeln!(out, "  tx ring full   {}", t.tx_ring_full);
        let _ = writeln!(out, "  same-frame replies {} of {} sent; user-space bytes copied {}", t.same_frame_replies, t.tx_packets, t.bytes_copied);
        let _ = writeln!(out, "  xdp program    {}", bpf_line(&bpf_counters(&self.loader)));
        let _ = writeln!(out, "  xsk statistics {}", xdp_stats_line(&t));
        let _ = writeln!(out, "  wakeups        tx={} fill={} idle_sleeps={}", t.tx_wakeups, t.fill_wakeups, t.idle_sleeps);
        for q in &self.queues {
            let s = queue_snapshot(q);
            let _ = writeln!(out, "  queue {} ({}): rx={} tx={} answers {} drops {}", q.queue, q.mode, s.rx_packets, s.tx_packets, nonzero(answer_names(), &s.answers), nonzero(drop_names(), &s.drops));
        }
        for e in exits {
            let p = e.ledger.places();
            let verdict = match &e.ledger_ok {
                Ok(()) => "ok".to_string(),
                Err(msg) => format!("DRIFT: {msg}"),
            };
            let _ = writeln!(
                out,
                "  frames q{}      total={} free={} kernel_rx={} kernel_tx={} in_hand={} ({verdict})",
                e.queue, e.ledger.total, p.free, p.kernel_rx, p.kernel_tx, p.in_hand
            );
        }
        print!("{out}");
    }

    /// A closure that renders the `status` answer, for the control thread.
    pub fn status_source(&self) -> impl Fn() -> String + Send + 'static {
        let (iface, loader, queues, live) = (self.iface.clone(), self.loader.clone(), self.queues.clone(), self.live.clone());
        move || {
            let t = total(&queues);
            let (_, id) = live.load();
            let attached = loader.lock().map(|l| l.attached.name()).unwrap_or("?");
            let queue_list: Vec<String> = queues.iter().map(|q| format!("{}:{}", q.queue, q.mode)).collect();
            format!(
                "iface={iface} pid={} xdp={attached} queues={} v4={:?} v6={:?} udp_ports={:?} rx={} tx={} answers {} drops {} | xdp {}",
                std::process::id(),
                queue_list.join(","),
                id.v4,
                id.v6,
                id.udp_ports,
                t.rx_packets,
                t.tx_packets,
                nonzero(answer_names(), &t.answers),
                nonzero(drop_names(), &t.drops),
                bpf_line(&bpf_counters(&loader)),
            )
        }
    }
}
