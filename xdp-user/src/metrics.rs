//! Opt-in Prometheus endpoint (`--prometheus [ADDR]`, loopback by default): a collector
//! that reads the live counters at each scrape, encoded by the `prometheus-client` crate,
//! served at `GET /metrics` by a small HTTP/1.0 loop on its own thread.
use std::{
    io::{BufRead, BufReader, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
    registry::Registry,
};

use crate::report::Sources;

/// Default address of `--prometheus` when given without one.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9435";

#[derive(Clone)]
struct LiveCollector {
    src: Sources,
    started: Instant,
}

impl std::fmt::Debug for LiveCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveCollector")
    }
}

type Labels = Vec<(&'static str, String)>;

/// Encodes one metric family of counters (or gauges) with one sample per label set.
fn family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    gauge: bool,
    samples: &[(Labels, u64)],
) -> std::fmt::Result {
    let kind = if gauge {
        ConstGauge::new(0i64).metric_type()
    } else {
        ConstCounter::new(0u64).metric_type()
    };
    let mut metric = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in samples {
        let fam = metric.encode_family(labels)?;
        if gauge {
            ConstGauge::new(*value as i64).encode(fam)?;
        } else {
            ConstCounter::new(*value).encode(fam)?;
        }
    }
    Ok(())
}

impl Collector for LiveCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let now = self.src.read(self.started.elapsed());
        let s = self.src.sample("status", &now, None);
        let q = |queue: u32| -> Labels { vec![("queue", queue.to_string())] };
        let per_queue = |get: &dyn Fn(&crate::sample::Figures) -> u64| -> Vec<(Labels, u64)> {
            s.queues
                .iter()
                .map(|qf| (q(qf.queue), get(&qf.figures)))
                .collect()
        };
        family(
            &mut enc,
            "xdp_responder_rx_packets",
            "Frames received on the AF_XDP socket",
            false,
            &per_queue(&|f| f.rx_packets),
        )?;
        family(
            &mut enc,
            "xdp_responder_rx_bytes",
            "Bytes received on the AF_XDP socket",
            false,
            &per_queue(&|f| f.rx_bytes),
        )?;
        family(
            &mut enc,
            "xdp_responder_tx_packets",
            "Replies sent",
            false,
            &per_queue(&|f| f.tx_packets),
        )?;
        family(
            &mut enc,
            "xdp_responder_tx_bytes",
            "Reply bytes sent",
            false,
            &per_queue(&|f| f.tx_bytes),
        )?;
        family(
            &mut enc,
            "xdp_responder_tx_wakeups",
            "sendto() calls made to kick TX",
            false,
            &per_queue(&|f| f.tx_wakeups),
        )?;
        family(
            &mut enc,
            "xdp_responder_tx_ring_full",
            "Replies dropped for a full TX ring",
            false,
            &per_queue(&|f| f.tx_ring_full),
        )?;
        let nested = |get: &dyn Fn(
            &crate::sample::Figures,
        ) -> &std::collections::BTreeMap<&'static str, u64>,
                      key: &'static str|
         -> Vec<(Labels, u64)> {
            s.queues
                .iter()
                .flat_map(|qf| {
                    get(&qf.figures).iter().map(move |(k, v)| {
                        (
                            vec![("queue", qf.queue.to_string()), (key, k.to_string())],
                            *v,
                        )
                    })
                })
                .collect()
        };
        family(
            &mut enc,
            "xdp_responder_answers",
            "Answers sent, by kind",
            false,
            &nested(&|f| &f.answers, "kind"),
        )?;
        family(
            &mut enc,
            "xdp_responder_drops",
            "Frames not answered, by reason",
            false,
            &nested(&|f| &f.drops, "reason"),
        )?;
        family(
            &mut enc,
            "xdp_responder_xsk",
            "The socket's XDP_STATISTICS",
            false,
            &nested(&|f| &f.xsk, "stat"),
        )?;
        let bpf: Vec<(Labels, u64)> = s
            .xdp
            .iter()
            .map(|(k, v)| (vec![("outcome", k.to_string())], *v))
            .collect();
        family(
            &mut enc,
            "xdp_responder_xdp_program",
            "XDP program outcomes, summed over CPUs",
            false,
            &bpf,
        )?;
        family(
            &mut enc,
            "xdp_responder_frames_free",
            "UMEM frames in the free list",
            true,
            &per_queue(&|f| f.frames_free),
        )?;
        let h = s.total.handler_ns;
        let quantiles: Vec<(Labels, u64)> =
            [("0", h.min), ("0.5", h.p50), ("0.99", h.p99), ("1", h.max)]
                .into_iter()
                .map(|(qn, v)| (vec![("quantile", qn.to_string())], v))
                .collect();
        family(
            &mut enc,
            "xdp_responder_handler_ns",
            "Handler time of sampled packets (ns)",
            true,
            &quantiles,
        )?;
        Ok(())
    }
}

/// The exposition text for the current counters.
fn render(registry: &Registry) -> String {
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, registry) {
        text = format!("# encoding failed: {e}\n");
    }
    text
}

/// Binds `addr` and serves `/metrics` until `stop` is set.
pub fn serve(
    addr: SocketAddr,
    src: Sources,
    started: Instant,
    stop: Arc<AtomicBool>,
) -> Result<thread::JoinHandle<()>> {
    let listener = TcpListener::bind(addr).with_context(|| format!("binding the Prometheus endpoint to {addr} (in use? pick another with --prometheus ADDR)"))?;
    listener.set_nonblocking(true)?;
    let mut registry = Registry::default();
    registry.register_collector(Box::new(LiveCollector { src, started }));
    Ok(thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = answer(stream, &registry);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(50)),
                }
            }
        })?)
}

fn answer(mut stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut request_line = String::new();
    let mut reader = BufReader::new(stream.try_clone()?);
    reader.read_line(&mut request_line)?;
    // Skip the headers.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let (status, ctype, body) = match request_line.split_whitespace().nth(1) {
        Some("/metrics") => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            render(registry),
        ),
        _ => ("404 Not Found", "text/plain", "try /metrics\n".to_string()),
    };
    write!(stream, "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}
