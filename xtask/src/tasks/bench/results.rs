//! Everything one benchmark run measured, and the figures derived from it (ratios, the
//! targets they are checked against). Rendering lives in `markdown` and `svg`.

use super::plan::{compare_keys, keys, Load, Scenario};
use super::sample::{Runs, Spread};

/// Facts about the machine and the method, printed with the results.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Env {
    /// `uname -r`.
    pub kernel: String,
    /// Online CPUs.
    pub cpus: usize,
    /// CPU model name.
    pub cpu_model: String,
    /// Share of all CPUs busy during the quiet check before the run, percent.
    pub busy_before_pct: f64,
    /// Same, after the run (other processes may have started meanwhile).
    pub busy_after_pct: f64,
    /// When the run started (UTC, from `date`).
    pub started: String,
    /// Repeats per configuration.
    pub repeats: u32,
    /// Window and warm-up, seconds.
    pub window: f64,
    pub warmup: f64,
    /// CPUs of the generator and of the server.
    pub gen_cpu: usize,
    pub server_cpu: usize,
    /// Total run time, seconds.
    pub took_s: f64,
}

/// Measurements of one configuration at one offered rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    pub scenario: Scenario,
    /// Offered rate in pps (`None`: max).
    pub rate: Option<f64>,
    pub runs: Runs,
}

/// The responder's memory in its default configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    /// UMEM bytes (frame size x frame count x queues).
    pub umem_bytes: u64,
    /// Frames, frame size and queues behind it.
    pub frames: u64,
    pub frame_size: u64,
    pub queues: u64,
    /// Resident set size after the measurements, KiB.
    pub rss_kib: u64,
}

/// One benchmark run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    pub env: Env,
    /// The five configurations at maximum offered load.
    pub max: Vec<Measured>,
    /// The same at 80% of their own maximum.
    pub at80: Vec<Measured>,
    /// RTT runs at a fixed low rate.
    pub rtt: Vec<Measured>,
    /// The responder sweep at maximum offered load.
    pub sweep: Vec<Measured>,
    pub memory: Option<Memory>,
    /// The responder against DPDK testpmd on both loads (`--with-dpdk`).
    pub dpdk: Option<Comparison>,
    /// Why the DPDK comparison was not run, or what went wrong in it.
    pub dpdk_note: Option<String>,
}

/// Shares of each configuration's own maximum at which the comparison measures CPU.
pub const SHARES: [f64; 3] = [0.25, 0.5, 0.8];

/// One configuration of the DPDK comparison under one load at one offered rate.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerMeasured {
    pub scenario: Scenario,
    pub load: Load,
    /// Share of this configuration's own median maximum (`None`: maximum offered load).
    pub share: Option<f64>,
    /// Offered rate in pps (`None`: max).
    pub rate: Option<f64>,
    pub runs: Runs,
}

/// The DPDK comparison: interleaved rounds at maximum load, then CPU at shares of each
/// configuration's own maximum.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    pub rows: Vec<PeerMeasured>,
    /// Per interleaved round at maximum load in which both were measured: answered ours /
    /// DPDK (key: ours), and variant / ours defaults (key: the variant's).
    pub round_ratios: Vec<(String, Load, f64)>,
    /// Interleaved rounds at maximum load, and rounds at the shares.
    pub rounds: u32,
    pub share_rounds: u32,
    /// The maximum-load rounds ran paired (`--paired`): every server at once on its own veth,
    /// all but the measured one paused.
    pub paired: bool,
}

impl Comparison {
    /// The DPDK configuration that answers `load`.
    pub fn dpdk_key(load: Load) -> &'static str {
        match load {
            Load::Udp => compare_keys::DPDK_MACSWAP,
            Load::Icmp => compare_keys::DPDK_ICMPECHO,
        }
    }

    /// The measurement of `key` under `load` at `share` (`None`: max).
    pub fn find(&self, key: &str, load: Load, share: Option<f64>) -> Option<&PeerMeasured> {
        self.rows
            .iter()
            .find(|m| m.scenario.key == key && m.load == load && m.share == share)
    }

    /// Median answered pps of `key` under `load` at maximum load.
    pub fn max_pps(&self, key: &str, load: Load) -> Option<f64> {
        self.find(key, load, None)
            .and_then(|m| m.runs.rx_pps())
            .map(|s| s.median)
    }

    /// Ours / DPDK, medians at maximum load.
    pub fn ratio(&self, load: Load) -> Option<f64> {
        match (
            self.max_pps(compare_keys::OURS, load),
            self.max_pps(Self::dpdk_key(load), load),
        ) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        }
    }

    /// Spread of the per-round ratios of `key` under `load` (ours: vs DPDK; a variant: vs
    /// ours).
    pub fn round_ratio_spread(&self, key: &str, load: Load) -> Option<Spread> {
        let v: Vec<f64> = self
            .round_ratios
            .iter()
            .filter(|(k, l, _)| k == key && *l == load)
            .map(|(_, _, r)| *r)
            .collect();
        Spread::of(&v)
    }

    /// Median answered pps of variant `key` / ours defaults, under `load`.
    pub fn variant_ratio(&self, key: &str, load: Load) -> Option<f64> {
        match (
            self.max_pps(key, load),
            self.max_pps(compare_keys::OURS, load),
        ) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        }
    }

    /// Keys of the configurations measured, in table order.
    pub fn keys(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for m in &self.rows {
            if !v.contains(&m.scenario.key.as_str()) {
                v.push(&m.scenario.key);
            }
        }
        v
    }

    /// Median server CPU per answer (ns) of `key` under `load` at `share`.
    pub fn cpu_ns(&self, key: &str, load: Load, share: Option<f64>) -> Option<f64> {
        self.find(key, load, share)
            .and_then(|m| m.runs.server_ns())
            .map(|s| s.median)
    }

    /// The targets this comparison is checked against, each with whether it was met.
    pub fn targets(&self) -> Vec<BarCheck> {
        let mut v = Vec::new();
        for load in [Load::Udp, Load::Icmp] {
            let r = self.ratio(load);
            v.push(BarCheck {
                what: format!(
                    "{} load: answered ours / DPDK >= 1.0x (aim 1.25x)",
                    load.label()
                ),
                met: r.map(|r| r >= 1.0),
                detail: r.map_or("not measured".to_string(), |r| {
                    let spread = self
                        .round_ratio_spread(compare_keys::OURS, load)
                        .map_or(String::new(), |s| {
                            format!("; per round {:.2}x [{:.2}–{:.2}]", s.median, s.min, s.max)
                        });
                    format!("{r:.2}x of the medians{spread}")
                }),
            });
        }
        for share in [SHARES[0], SHARES[1]] {
            for load in [Load::Udp, Load::Icmp] {
                let ours = self.cpu_ns(compare_keys::OURS, load, Some(share));
                let dpdk = self.cpu_ns(Self::dpdk_key(load), load, Some(share));
                v.push(BarCheck {
                    what: format!(
                        "{} load, {:.0}% of own maximum: CPU per answer below DPDK's",
                        load.label(),
                        share * 100.0
                    ),
                    met: ours.zip(dpdk).map(|(a, b)| a < b),
                    detail: match (ours, dpdk) {
                        (Some(a), Some(b)) => format!("{a:.0} ns vs {b:.0} ns ({:.2}x)", a / b),
                        _ => "not measured".to_string(),
                    },
                });
            }
        }
        let ours: Vec<&PeerMeasured> = self
            .rows
            .iter()
            .filter(|m| m.scenario.key == compare_keys::OURS)
            .collect();
        let invalid: u64 = ours.iter().map(|m| m.runs.invalid()).sum();
        let received: u64 = ours.iter().map(|m| m.runs.received()).sum();
        v.push(BarCheck {
            what: "every answer of ours valid".to_string(),
            met: (!ours.is_empty()).then_some(invalid == 0),
            detail: format!("{invalid} invalid of {} replies", received + invalid),
        });
        v
    }
}

/// One target of the comparison and whether the run met it.
#[derive(Clone, Debug, PartialEq)]
pub struct BarCheck {
    pub what: String,
    /// `None`: not measured.
    pub met: Option<bool>,
    pub detail: String,
}

impl Results {
    /// The max-rate measurement of configuration `key`.
    pub fn max_of(&self, key: &str) -> Option<&Measured> {
        self.max.iter().find(|m| m.scenario.key == key)
    }

    /// Median answered pps of configuration `key` at max load.
    pub fn max_pps(&self, key: &str) -> Option<f64> {
        self.max_of(key)
            .and_then(|m| m.runs.rx_pps())
            .map(|s| s.median)
    }

    /// Median answered pps of `key` divided by that of `base`.
    pub fn ratio(&self, key: &str, base: &str) -> Option<f64> {
        match (self.max_pps(key), self.max_pps(base)) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        }
    }

    /// The bar: >= 3x mmsg, >= 0.25x the in-kernel bound, every answer valid, < 0.1% loss
    /// at 80% of its own maximum (all for the native responder).
    pub fn bar(&self) -> Vec<BarCheck> {
        let mut v = Vec::new();
        let ratio_check = |what: &str, base: &str, need: f64| {
            let r = self.ratio(keys::NATIVE, base);
            BarCheck {
                what: what.to_string(),
                met: r.map(|r| r >= need),
                detail: r.map_or("not measured".to_string(), |r| {
                    format!("{r:.2}x (need {need}x)")
                }),
            }
        };
        v.push(ratio_check(
            "answers >= 3x the mmsg kernel server",
            keys::MMSG,
            3.0,
        ));
        v.push(ratio_check(
            "answers >= 0.25x the in-kernel XDP_TX bound",
            keys::BOUNCE,
            0.25,
        ));
        let ours: Vec<&Measured> = self
            .max
            .iter()
            .chain(&self.at80)
            .chain(&self.rtt)
            .filter(|m| m.scenario.key == keys::NATIVE)
            .collect();
        let invalid: u64 = ours.iter().map(|m| m.runs.invalid()).sum();
        let received: u64 = ours.iter().map(|m| m.runs.received()).sum();
        let checked: u64 = ours.iter().map(|m| m.runs.sampled()).sum();
        v.push(BarCheck {
            what: "every answer valid".to_string(),
            met: (!ours.is_empty()).then_some(invalid == 0),
            detail: format!(
                "{invalid} invalid of {} replies; {checked} of them checksum-verified",
                received + invalid
            ),
        });
        let loss = self
            .at80
            .iter()
            .find(|m| m.scenario.key == keys::NATIVE)
            .and_then(|m| m.runs.loss_pct());
        v.push(BarCheck {
            what: "loss < 0.1% at 80% of its own maximum".to_string(),
            met: loss.map(|l| l.median < 0.1),
            detail: loss.map_or("not measured".to_string(), |l| {
                format!("{:.4}% median [{:.4}–{:.4}]", l.median, l.min, l.max)
            }),
        });
        v
    }
}

/// `1.234` Mpps formatting of a pps spread: `1.234 [1.200–1.250]`.
pub fn mpps(s: Option<Spread>) -> String {
    match s {
        Some(s) => format!(
            "{:.3} [{:.3}–{:.3}]",
            s.median / 1e6,
            s.min / 1e6,
            s.max / 1e6
        ),
        None => "–".to_string(),
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::tasks::bench::plan::main_scenarios;
    use crate::tasks::bench::sample::Sample;

    /// A sample answering `pps` with `loss` percent and `invalid` bad replies.
    pub fn sample(pps: f64, loss: f64, invalid: u64) -> Sample {
        Sample {
            window_s: 3.0,
            sent: (pps * 3.0 / (1.0 - loss / 100.0)) as u64,
            received: (pps * 3.0) as u64,
            invalid,
            sampled: (pps * 3.0 / 16.0) as u64,
            loss_pct: loss,
            rx_pps: pps,
            tx_pps: pps / (1.0 - loss / 100.0),
            rtt_p50_ns: 20_000,
            rtt_p99_ns: 40_000,
            rtt_p999_ns: 80_000,
            rtt_max_ns: 200_000,
            server_cpu_ns: Some(3_000_000_000),
            sys_busy_ns: 6_000_000_000,
            interrupted: false,
        }
    }

    /// Results with the five configurations answering the given Mpps.
    pub fn results(mpps: [f64; 5]) -> Results {
        let max = main_scenarios()
            .into_iter()
            .zip(mpps)
            .map(|(scenario, m)| Measured {
                scenario,
                rate: None,
                runs: Runs(vec![
                    sample(m * 1e6, 10.0, 0),
                    sample(m * 1.02e6, 12.0, 0),
                    sample(m * 0.98e6, 9.0, 0),
                ]),
            })
            .collect::<Vec<_>>();
        let at80 = vec![Measured {
            scenario: max[0].scenario.clone(),
            rate: Some(800_000.0),
            runs: Runs(vec![sample(0.8e6, 0.01, 0)]),
        }];
        Results {
            max,
            at80,
            ..Default::default()
        }
    }

    #[test]
    fn ratios_and_bar() {
        let r = results([1.0, 0.5, 0.25, 0.3, 3.0]);
        assert!((r.ratio(keys::NATIVE, keys::MMSG).expect("ratio") - 1.0 / 0.3).abs() < 1e-9);
        let bar = r.bar();
        assert_eq!(
            bar.iter().map(|b| b.met).collect::<Vec<_>>(),
            [Some(true), Some(true), Some(true), Some(true)]
        );
        let slow = results([0.5, 0.5, 0.25, 0.3, 3.0]);
        assert_eq!(slow.bar()[0].met, Some(false));
        assert_eq!(slow.bar()[1].met, Some(false), "0.5 / 3.0 < 0.25");
        assert_eq!(Results::default().bar()[0].met, None);
    }

    #[test]
    fn mpps_format() {
        assert_eq!(
            mpps(Spread::of(&[1.0e6, 1.2e6, 1.1e6])),
            "1.100 [1.000–1.200]"
        );
        assert_eq!(mpps(None), "–");
    }
}
