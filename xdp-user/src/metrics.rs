//! Opt-in Prometheus endpoint (`--prometheus [ADDR]`, loopback by default): a collector
//! that reads the live counters at each scrape, encoded by the `prometheus-client` crate,
//! served at `GET /metrics` by hyper (HTTP/1.1) on a single-threaded tokio runtime in its
//! own thread. Each connection is a task with a deadline ([`CONNECTION_DEADLINE`], from
//! accept to the end of the answer), so a client that trickles its request is cut off and
//! never delays another; the stop flag is looked at every [`STOP_POLL`], and dropping the
//! runtime then cancels whatever connections are still open.
use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{body::Incoming, Request, Response, StatusCode};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
    registry::Registry,
};

use crate::report::Sources;
use crate::stats::{CountKind, Counts};

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
        // One family per summed counter, one sample per queue: names, help texts and kinds
        // are the counters' own (`stats::Counts::INFO`).
        let per_queue: Vec<[u64; Counts::INFO.len()]> = s
            .queues
            .iter()
            .map(|qf| qf.figures.counts.values())
            .collect();
        for (i, info) in Counts::INFO.iter().enumerate() {
            let samples: Vec<(Labels, u64)> = s
                .queues
                .iter()
                .zip(&per_queue)
                .map(|(qf, v)| (vec![("queue", qf.queue.to_string())], v[i]))
                .collect();
            family(
                &mut enc,
                &format!("xdp_responder_{}", info.name),
                info.help.trim(),
                info.kind == CountKind::Gauge,
                &samples,
            )?;
        }
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

/// Longest time one connection may take, from accept to the end of the answer.
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(5);
/// How often the server checks the stop flag.
pub const STOP_POLL: Duration = Duration::from_millis(100);

/// Binds `addr` and serves `/metrics` until `stop` is set.
pub fn serve(
    addr: SocketAddr,
    src: Sources,
    started: Instant,
    stop: Arc<AtomicBool>,
) -> Result<thread::JoinHandle<()>> {
    let listener = std::net::TcpListener::bind(addr).with_context(|| format!("binding the Prometheus endpoint to {addr} (in use? pick another with --prometheus ADDR)"))?;
    listener.set_nonblocking(true)?;
    let mut registry = Registry::default();
    registry.register_collector(Box::new(LiveCollector { src, started }));
    let registry = Arc::new(registry);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the metrics runtime")?;
    Ok(thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            runtime.block_on(accept_until_stopped(listener, registry, stop));
            // Dropping the runtime cancels the connections still open.
            drop(runtime);
        })?)
}

async fn accept_until_stopped(
    listener: std::net::TcpListener,
    registry: Arc<Registry>,
    stop: Arc<AtomicBool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(STOP_POLL, listener.accept()).await {
            Ok(Ok((stream, _))) => {
                let registry = registry.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let answer = respond(&req, &registry);
                        async move { Ok::<_, Infallible>(answer) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                    // Past the deadline the connection is dropped, which closes it.
                    let _ = tokio::time::timeout(CONNECTION_DEADLINE, conn).await;
                });
            }
            // e.g. out of file descriptors: wait a little instead of spinning.
            Ok(Err(_)) => tokio::time::sleep(STOP_POLL).await,
            Err(_) => {}
        }
    }
}

fn respond(req: &Request<Incoming>, registry: &Registry) -> Response<Full<Bytes>> {
    let (status, ctype, body) = match (req.method(), req.uri().path()) {
        (&hyper::Method::GET, "/metrics") => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            render(registry),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "try GET /metrics\n".to_string(),
        ),
    };
    let mut answer = Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() = status;
    answer.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(ctype),
    );
    answer
}
