//! `xdp-responder bench-datapath`: the user-space path's own cost, measured over the in-memory
//! kernel model (no root, no NIC): the real [`Worker`] loop and handlers, one core, for
//! every kind of request at each size, and the handler alone.
//!
//! The model acts as a zero-copy NIC that is never the bottleneck: it transmits and completes
//! instantly (when the worker reaps completions) and delivers a burst of requests whenever the
//! RX ring is empty, rewriting the request into the frame (a NIC's DMA). That rewrite is the
//! model's own per-packet cost: it is measured alone (`model_ns`) and taken out of
//! `ns_per_packet`; the model's ring moves (a few loads and stores per batch) stay in.
use std::{
    fmt::Write as _,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Instant,
};

use anyhow::{bail, Result};

use crate::{
    handlers::{self, Answer, Verdict},
    live_identity::LiveIdentity,
    requests::{self, short_name, KINDS},
    stats::QueueStats,
    worker::{IdleMode, Worker, WorkerOptions},
    xsk::model::{KernelModel, Mode, ModelConfig},
};

/// Frame sizes measured for every kind.
pub const SIZES: [usize; 2] = [64, 1500];
/// The jumbo frame size, measured for the kinds that span buffers (UDP and ICMP/ICMPv6 echo):
/// three 3840-byte UMEM buffers, received and answered as a multi-buffer chain.
pub const JUMBO: usize = 9000;
/// The kinds measured at [`JUMBO`].
pub const JUMBO_KINDS: [Answer; 4] = [
    Answer::Udp4,
    Answer::Udp6,
    Answer::Icmp4Echo,
    Answer::Icmp6Echo,
];

/// One measured case.
#[derive(Clone, Debug)]
pub struct Case {
    pub kind: Answer,
    pub size: usize,
    /// Bytes of the request frame (NDP's smallest is 86).
    pub frame_len: usize,
    pub ns_per_packet: f64,
    pub model_ns: f64,
    pub handler_ns: f64,
}

impl Case {
    pub fn mpps(&self) -> f64 {
        1e3 / self.ns_per_packet.max(1e-3)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Wall time per packet of the worker loop over the model, `packets` requests.
fn run_loop(req: &[u8], packets: u64, batch: usize) -> Result<f64> {
    let mut m = KernelModel::new(ModelConfig {
        mode: Mode::ZeroCopy,
        need_wakeup: false,
        multi_buffer: req.len() > RX_BUFFER,
        ..ModelConfig::default()
    });
    m.auto_driver = true;
    m.source_burst = 2 * batch;
    let exhausted = Arc::new(AtomicBool::new(false));
    let (exhausted2, mut left, frame) = (exhausted.clone(), packets, req.to_vec());
    m.set_source(Box::new(move |buf| {
        if left == 0 {
            exhausted2.store(true, Ordering::Relaxed);
            return None;
        }
        left -= 1;
        let b = buf.get_mut(..frame.len())?;
        b.copy_from_slice(&frame);
        Some(frame.len())
    }));
    // A jumbo request spans three buffers: size the batch in descriptors to hold as many
    // frames as a batch of single-buffer ones.
    let batch = batch * req.len().div_ceil(RX_BUFFER);
    let stats = Arc::new(QueueStats::default());
    let live = Arc::new(LiveIdentity::new(requests::identity()));
    let opts = WorkerOptions {
        batch,
        idle: IdleMode::Spin,
        need_wakeup: false,
        ..Default::default()
    };
    let t = Instant::now();
    let mut w = Worker::new(m, 0, stats.clone(), live, opts);
    // The fill ring primed before the first request, as `worker::run` does.
    w.fill();
    // Until the source is exhausted and a receive then finds nothing: the last requests, on
    // the RX ring when the source ran dry, are answered too. Bounded: a model that stops
    // delivering ends the loop, and the count check below reports it.
    let mut empty = 0u32;
    while empty < MAX_EMPTY_STEPS {
        if w.step() > 0 {
            empty = 0;
        } else if exhausted.load(Ordering::Relaxed) {
            break;
        } else {
            empty += 1;
        }
    }
    let exit = w.finish().0;
    let ns = t.elapsed().as_nanos() as f64 / packets as f64;
    let answered: u64 = stats.snapshot().answers.iter().sum();
    if answered != packets || exit.audit_ok().is_err() {
        bail!(
            "the benchmark run answered {answered} of {packets} requests (audit: {:?})",
            exit.audit.problems
        );
    }
    Ok(ns)
}

/// Empty steps in a row, with requests still to come, after which a run is given up.
const MAX_EMPTY_STEPS: u32 = 1_000_000;

/// Bytes of frame one RX buffer of the model holds (4096-byte frames, 256 headroom).
const RX_BUFFER: usize = 3840;

/// Time per packet of rewriting the request into frames spread over a UMEM-sized buffer.
/// A request longer than a buffer is written as the model writes it: into a scratch buffer,
/// then cut into buffers.
fn rewrite_ns(req: &[u8], packets: u64) -> f64 {
    let frames = 4096usize;
    let mut umem = vec![0u8; frames * 4096];
    let mut scratch = vec![0u8; req.len()];
    let t = Instant::now();
    if req.len() > RX_BUFFER {
        let mut f = 0;
        for _ in 0..packets {
            scratch.copy_from_slice(std::hint::black_box(req));
            for piece in scratch.chunks(RX_BUFFER) {
                let at = (f % frames) * 4096 + 256;
                umem[at..at + piece.len()].copy_from_slice(piece);
                f += 1;
            }
        }
    } else {
        for i in 0..packets as usize {
            let at = (i % frames) * 4096 + 256;
            umem[at..at + req.len()].copy_from_slice(req);
        }
    }
    std::hint::black_box(&umem);
    t.elapsed().as_nanos() as f64 / packets as f64
}

/// Time per packet of the handler alone (request rewritten into one buffer each time, that
/// rewrite measured the same way and taken out).
fn handler_ns(req: &[u8], packets: u64) -> Result<f64> {
    let id = requests::identity();
    let mut buf = vec![0u8; RX_BUFFER];
    // A jumbo request as the worker hands it over: the first buffer (rewritten by the
    // handler, so reset each time) and the rest as the read-only tail.
    let (head, rest) = req.split_at(req.len().min(RX_BUFFER));
    let segs: Vec<&[u8]> = rest.chunks(RX_BUFFER).collect();
    let t = Instant::now();
    for _ in 0..packets {
        buf[..head.len()].copy_from_slice(head);
        let v = handlers::handle_chain(
            std::hint::black_box(&mut buf),
            head.len(),
            handlers::Tail::new(&segs),
            &id,
            handlers::TimeOfDay::default(),
        );
        if !matches!(v, Verdict::Reply { .. }) {
            bail!("the handler did not answer the benchmark request: {v:?}");
        }
    }
    let total = t.elapsed().as_nanos() as f64 / packets as f64;
    let t = Instant::now();
    for _ in 0..packets {
        buf[..head.len()].copy_from_slice(std::hint::black_box(head));
        std::hint::black_box(&mut buf);
    }
    let copy = t.elapsed().as_nanos() as f64 / packets as f64;
    Ok((total - copy).max(0.0))
}

/// Which cases to measure: empty lists mean all.
#[derive(Clone, Debug, Default)]
pub struct Only {
    /// Kinds by [`short_name`].
    pub kinds: Vec<String>,
    pub sizes: Vec<usize>,
}

impl Only {
    fn wants(&self, kind: Answer, size: usize) -> bool {
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k == short_name(kind)))
            && (self.sizes.is_empty() || self.sizes.contains(&size))
    }
}

/// Measures every case `only` wants, `repeats` times each, and returns the medians.
pub fn datapath(packets: u64, repeats: u32, batch: usize, only: &Only) -> Result<Vec<Case>> {
    if let Some(k) = only
        .kinds
        .iter()
        .find(|k| !KINDS.iter().any(|&a| short_name(a) == *k))
    {
        let names: Vec<_> = KINDS.iter().map(|&a| short_name(a)).collect();
        bail!("unknown kind {k:?} (one of {})", names.join(" "));
    }
    if let Some(s) = only
        .sizes
        .iter()
        .find(|s| !SIZES.contains(s) && **s != JUMBO)
    {
        bail!("unmeasured size {s} (one of {SIZES:?} or {JUMBO})");
    }
    let mut out = Vec::new();
    let cases = SIZES
        .iter()
        .flat_map(|&s| KINDS.iter().map(move |&k| (s, k)))
        .chain(JUMBO_KINDS.iter().map(|&k| (JUMBO, k)))
        .filter(|&(s, k)| only.wants(k, s));
    for (size, kind) in cases {
        {
            let req = requests::request(kind, size, 1);
            let (mut total, mut model, mut handler) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..repeats.max(1) {
                total.push(run_loop(&req, packets, batch)?);
                model.push(rewrite_ns(&req, packets));
                handler.push(handler_ns(&req, packets)?);
            }
            let (total, model_ns) = (median(total), median(model));
            out.push(Case {
                kind,
                size,
                frame_len: req.len(),
                ns_per_packet: (total - model_ns).max(0.1),
                model_ns,
                handler_ns: median(handler),
            });
        }
    }
    Ok(out)
}

/// The XDP classifier's cost for one kind of request, from `BPF_PROG_TEST_RUN`.
#[derive(Clone, Debug)]
pub struct ClassifierCase {
    pub kind: Answer,
    pub frame_len: usize,
    /// Median over the runs of the kernel's mean nanoseconds per program run.
    pub ns_per_frame: f64,
}

/// Times the XDP program (loaded, not attached, its maps holding [`requests::identity`]) over
/// each kind's 64-byte request with `BPF_PROG_TEST_RUN`, `repeat` program runs per test run,
/// `repeats` test runs per kind (the median is kept). No socket sits in the XSKMAP, so every
/// request's `bpf_redirect_map` finds an empty slot and returns its fallback (counted
/// `no_socket`, passed): the figure is the classification, the map lookups, the redirect
/// call and the counter update, without the copy into a socket and without the driver
/// around the program. Each request must be classified as ours (the
/// `no_socket` counter moves by every run), else this fails. Needs root (CAP_BPF).
pub fn classifier(repeat: u32, repeats: u32) -> Result<Vec<ClassifierCase>> {
    use xdp_common::Counter;
    let mut program = crate::loader::Program::load(1, None)?;
    // Counted as in native mode, the mode measured; nothing else runs this program.
    let counting = crate::loader::Counting::for_mode(crate::loader::Attached::Native);
    program.configure(&requests::identity(), counting)?;
    let mut out = Vec::new();
    for kind in KINDS {
        let req = requests::request(kind, 64, 1);
        let before = program.counters()?[Counter::NoSocket as usize];
        let mut ns = Vec::new();
        for _ in 0..repeats.max(1) {
            let t = xdp_host::testrun::timed(program.fd()?, &req, repeat)
                .map_err(|e| anyhow::anyhow!(xdp_host::testrun::explain(&e)))?;
            ns.push(f64::from(t.ns_per_run));
        }
        let moved = program.counters()?[Counter::NoSocket as usize] - before;
        let runs = u64::from(repeat.max(1)) * u64::from(repeats.max(1));
        if moved != runs {
            bail!(
                "the classifier did not take the {} request as ours: no_socket moved by {moved} in {runs} runs",
                short_name(kind)
            );
        }
        out.push(ClassifierCase {
            kind,
            frame_len: req.len(),
            ns_per_frame: median(ns),
        });
    }
    Ok(out)
}

/// The classifier's RESULT lines.
pub fn classifier_lines(cases: &[ClassifierCase]) -> String {
    let mut s = String::new();
    for c in cases {
        let _ = writeln!(
            s,
            "RESULT classifier proto={} ns_per_frame={:.1}",
            short_name(c.kind),
            c.ns_per_frame
        );
    }
    s
}

/// The classifier's markdown table, or why it was not measured.
pub fn classifier_markdown(cases: &Result<Vec<ClassifierCase>, String>) -> String {
    let mut s = String::from("\n## The XDP classifier (BPF_PROG_TEST_RUN)\n\n");
    match cases {
        Ok(cases) => {
            s.push_str("Kernel-timed mean per program run over the kind's 64-byte request (median of the test runs); no socket in the XSKMAP, so `bpf_redirect_map` returns its fallback and nothing is copied.\n\n");
            s.push_str("| kind | frame bytes | ns/frame |\n|---|---:|---:|\n");
            for c in cases {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.1} |",
                    short_name(c.kind),
                    c.frame_len,
                    c.ns_per_frame
                );
            }
        }
        Err(why) => {
            let _ = writeln!(s, "Not measured: {why}");
        }
    }
    s
}

/// The RESULT lines.
pub fn result_lines(cases: &[Case]) -> String {
    let mut s = String::new();
    for c in cases {
        let _ = writeln!(
            s,
            "RESULT datapath proto={} size={} mpps={:.2} ns_per_packet={:.1} model_ns={:.1}",
            short_name(c.kind),
            c.size,
            c.mpps(),
            c.ns_per_packet,
            c.model_ns
        );
    }
    for c in cases {
        let _ = writeln!(
            s,
            "RESULT handler proto={} size={} ns_per_packet={:.1}",
            short_name(c.kind),
            c.size,
            c.handler_ns
        );
    }
    s
}

/// A markdown table of the cases.
pub fn markdown(cases: &[Case], note: &str) -> String {
    let mut s = String::from("# Data path over the in-memory kernel model\n\n");
    let _ = writeln!(s, "{note}\n");
    s.push_str("| kind | size | frame bytes | Mpps | ns/packet | handler ns | model ns |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for c in cases {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {:.1} | {:.1} | {:.1} |",
            short_name(c.kind),
            c.size,
            c.frame_len,
            c.mpps(),
            c.ns_per_packet,
            c.handler_ns,
            c.model_ns
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_run_measures_every_case() {
        let cases = datapath(2_000, 1, 32, &Only::default()).unwrap();
        assert_eq!(cases.len(), KINDS.len() * SIZES.len() + JUMBO_KINDS.len());
        let lines = result_lines(&cases);
        assert_eq!(lines.matches("RESULT datapath ").count(), 16);
        assert!(lines.contains("proto=ndp size=1500"));
        assert!(lines.contains("proto=udp4 size=9000"));
    }

    #[test]
    fn only_measures_the_cases_asked_for_and_refuses_unknown_ones() {
        let only = Only {
            kinds: vec!["udp4".into(), "ndp".into()],
            sizes: vec![64],
        };
        let cases = datapath(2_000, 1, 32, &only).unwrap();
        let got: Vec<_> = cases.iter().map(|c| (short_name(c.kind), c.size)).collect();
        assert_eq!(got, [("udp4", 64), ("ndp", 64)]);
        let jumbo = Only {
            kinds: vec![],
            sizes: vec![JUMBO],
        };
        assert_eq!(
            datapath(2_000, 1, 32, &jumbo).unwrap().len(),
            JUMBO_KINDS.len()
        );
        for bad in [
            Only {
                kinds: vec!["udp5".into()],
                sizes: vec![],
            },
            Only {
                kinds: vec![],
                sizes: vec![65],
            },
        ] {
            assert!(datapath(2_000, 1, 32, &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_requests_left_when_the_source_runs_dry_are_answered() {
        // The model delivers bursts of twice the batch: with 2000 requests and a batch of 64
        // the last burst (80) is still on the RX ring, 16 of it, when the source runs dry.
        for kind in KINDS {
            let req = requests::request(kind, 64, 1);
            run_loop(&req, 2_000, 64).unwrap();
        }
    }
}
