//! The DPDK comparison (`cargo xtask bench --with-dpdk`): our responder against DPDK's
//! `dpdk-testpmd` over its AF_XDP PMD on the same veth, same generator and window, on UDP load
//! (testpmd `macswap`: it only swaps the MAC addresses, the sink checks exactly that) and on
//! ICMP load (testpmd `icmpecho`: a real echo reply, checked like ours).
//!
//! Method: `rounds` interleaved rounds at maximum offered load (each round starts every
//! configuration once and measures it on each load it answers; the order alternates between
//! rounds so that a drift of the machine's load hits both sides alike), medians and the
//! spread of the per-round ratio; then `--share-rounds` rounds at 25%, 50% and 80% of each
//! configuration's own median maximum for the CPU cost per answer. With `--paired` the
//! maximum-load rounds start every configuration once, each on its own lab, and pause all but
//! the measured one (see [`paired_max`]): this VM's speed drifts over seconds, and a server
//! start between the two windows of a ratio lets the drift in.
//!
//! testpmd leaves its interface promiscuous and its runtime directory
//! `/var/run/dpdk/<file-prefix>` behind; both are cleaned up after every run of it, and its
//! XDP program (libxdp's `xsk_def_prog`, attached through netlink) is removed if it is left.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::plan::{self, compare_keys, GenRun, Load, Scenario, Server};
use super::results::{Comparison, PeerMeasured, SHARES};
use super::sample::Runs;
use super::{stop_server, Bench, STOP_GRACE};
use crate::lab::{self, Lab};
use crate::{cmd, paths, setup};

/// Debian packages testpmd and its AF_XDP PMD come in.
pub const PACKAGES: &[(&str, &str)] = &[
    ("dpdk-dev", "dpdk-testpmd (bench --with-dpdk)"),
    (
        "librte-net-af-xdp23",
        "testpmd's AF_XDP PMD (bench --with-dpdk)",
    ),
];

/// Where DPDK keeps its runtime directories.
const DPDK_RUN_DIR: &str = "/var/run/dpdk";

/// Installs testpmd if missing and checks that it can be found.
pub fn ensure_installed() -> Result<()> {
    let mut installed = Vec::new();
    setup::ensure_debian_packages(PACKAGES, false, &mut installed)
        .context("installing DPDK for the comparison")?;
    if !installed.is_empty() {
        println!("bench: installed {}", installed.join(", "));
    }
    if paths::which(plan::DPDK_TESTPMD).is_none() {
        bail!(
            "{} not found on PATH after installing {}",
            plan::DPDK_TESTPMD,
            PACKAGES[0].0
        );
    }
    Ok(())
}

/// testpmd's `--file-prefix` for the lab `prefix`.
pub fn file_prefix(prefix: &str) -> String {
    format!("{prefix}-dpdk")
}

/// Undoes what testpmd leaves behind: promiscuous mode, an XDP program attached through
/// netlink (only if it did not detach it itself) and its runtime directory.
pub fn cleanup(lab: &Lab, file_prefix: &str) {
    let _ = cmd::run_quiet(&mut lab.exec_resp(&[
        "ip",
        "link",
        "set",
        lab::RESP_IFACE,
        "promisc",
        "off",
    ]));
    let attached = cmd::output(&mut lab.exec_resp(&["ip", "link", "show", lab::RESP_IFACE]))
        .map(|t| t.contains("xsk_def_prog"))
        .unwrap_or(false);
    if attached {
        let _ = cmd::run_quiet(&mut lab.exec_resp(&[
            "ip",
            "link",
            "set",
            "dev",
            lab::RESP_IFACE,
            "xdp",
            "off",
        ]));
    }
    let dir = Path::new(DPDK_RUN_DIR).join(file_prefix);
    if dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            eprintln!("bench: removing {}: {e}", dir.display());
        }
    }
    // Remove /var/run/dpdk itself only if nothing else is in it.
    let _ = std::fs::remove_dir(DPDK_RUN_DIR);
}

/// The process whose CPU time is the server's: testpmd runs under `timeout`, which forks
/// it, so it is the only child of the spawned process.
fn watched_pid(spawned: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/{spawned}/task/{spawned}/children"))
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|p| p.parse().ok()))
        .unwrap_or(spawned)
}

/// Ends `pid` if it survived its parent (`timeout` killed after the grace period).
fn reap_orphan(pid: u32, spawned: u32) {
    if pid == spawned || !Path::new(&format!("/proc/{pid}")).exists() {
        return;
    }
    eprintln!("bench: testpmd (pid {pid}) outlived its parent; killing it");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let deadline = std::time::Instant::now() + STOP_GRACE;
    while Path::new(&format!("/proc/{pid}")).exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// One started server of the comparison, measured on its loads.
struct Started {
    server: crate::responder::Responder,
    watched: u32,
}

fn start(b: &Bench, sc: &Scenario, planned_runs: u32) -> Result<Started> {
    if let Server::Dpdk { file_prefix, .. } = &sc.server {
        cleanup(b.lab, file_prefix);
    }
    let server = b.start_server(sc, planned_runs)?;
    let spawned = server.pid();
    let watched = match sc.server {
        Server::Dpdk { .. } => watched_pid(spawned),
        _ => spawned,
    };
    Ok(Started { server, watched })
}

/// As [`start`]; a server that does not start is reported, with a note that it did not
/// start in round `round`.
fn start_or_note(
    b: &Bench,
    sc: &Scenario,
    planned_runs: u32,
    round: &str,
    notes: &mut Vec<String>,
) -> Option<Started> {
    match start(b, sc, planned_runs) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("bench: {}: not measured: {e:#}", sc.label);
            notes.push(format!("{} did not start in {round}: {e:#}", sc.label));
            None
        }
    }
}

fn finish(lab: &Lab, sc: &Scenario, mut s: Started) {
    let spawned = s.server.pid();
    match &sc.server {
        Server::Dpdk { file_prefix, .. } => {
            // testpmd ends on SIGINT by raising it again: a signal exit is its normal end.
            if let Err(e) = s.server.stop(STOP_GRACE) {
                eprintln!("bench: stopping {}: {e:#}", sc.label);
            }
            reap_orphan(s.watched, spawned);
            cleanup(lab, file_prefix);
        }
        _ => stop_server(&mut s.server, sc),
    }
}

/// Stops (`SIGSTOP`) or resumes (`SIGCONT`) a paused server of the paired rounds.
fn signal(s: &Started, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(s.watched as i32);
    if let Err(e) = nix::sys::signal::kill(pid, sig) {
        eprintln!("bench: {sig} to pid {}: {e}", s.watched);
    }
}

/// The maximum-load rounds with `--paired`: every configuration runs for the whole phase, each
/// on its own lab (veth pair and namespaces, tuned like the main one), and all but the one
/// being measured are paused with `SIGSTOP`, so a paused one takes no CPU (testpmd would spin
/// at 100% otherwise) and gets no traffic. Per round and load the configurations are measured
/// one right after the other (order alternating between rounds): the windows a ratio compares
/// are seconds apart, with no server start between them, so a drift of this VM's speed hits
/// both alike. Every server is resumed and stopped, and every lab torn down, on every exit.
fn paired_max(
    b: &mut Bench,
    scs: &[Scenario],
    notes: &mut Vec<String>,
    record: &mut impl FnMut(u32, &Scenario, Load, super::sample::Sample),
) -> Result<()> {
    let args = b.args;
    let rounds = args.dpdk_rounds;
    let windows: u32 = rounds * scs.iter().map(|s| s.loads().len() as u32).sum::<u32>();
    let mut labs = Vec::new();
    for i in 0..scs.len() {
        let prefix = format!("{}-p{i}", args.prefix);
        println!("bench: bringing up lab {prefix:?} for the paired rounds...");
        let lab = Lab::up_with(lab::LabSpec::new(prefix, 1), true)?;
        super::tune_lab(&lab)?;
        labs.push(lab);
    }
    let mut started: Vec<Option<Started>> = Vec::new();
    for (sc, lab) in scs.iter().zip(&labs) {
        let mut sb = Bench {
            lab,
            bins: b.bins,
            args,
            stop: b.stop,
            raw: String::new(),
        };
        let s = start_or_note(&sb, sc, windows, "the paired rounds", notes);
        if let Some(s) = &s {
            signal(s, nix::sys::signal::Signal::SIGSTOP);
        }
        b.raw.push_str(&std::mem::take(&mut sb.raw));
        started.push(s);
    }
    let mut measure = || -> Result<()> {
        for round in 0..rounds {
            println!(
                "\nbench: --- DPDK comparison, maximum load, paired round {}/{rounds} ---",
                round + 1
            );
            let mut idx: Vec<usize> = (0..scs.len()).collect();
            if !round.is_multiple_of(2) {
                idx.reverse();
            }
            for load in [Load::Udp, Load::Icmp] {
                for &i in &idx {
                    let (sc, Some(s)) = (&scs[i], &started[i]) else {
                        continue;
                    };
                    if !sc.loads().contains(&load) {
                        continue;
                    }
                    let mut sb = Bench {
                        lab: &labs[i],
                        bins: b.bins,
                        args,
                        stop: b.stop,
                        raw: String::new(),
                    };
                    signal(s, nix::sys::signal::Signal::SIGCONT);
                    let what = format!("round {}/{rounds}", round + 1);
                    let run = GenRun {
                        load,
                        rate: None,
                        window: args.window,
                        warmup: args.warmup,
                        sample_every: super::SAMPLE_EVERY,
                    };
                    let got = sb.one_run(sc, &run, Some(s.watched), &what);
                    signal(s, nix::sys::signal::Signal::SIGSTOP);
                    b.raw.push_str(&sb.raw);
                    if let Some(sample) = got? {
                        record(round, sc, load, sample);
                    }
                }
            }
        }
        Ok(())
    };
    let outcome = measure();
    for ((sc, lab), s) in scs.iter().zip(&labs).zip(started) {
        if let Some(s) = s {
            signal(&s, nix::sys::signal::Signal::SIGCONT);
            finish(lab, sc, s);
        }
    }
    // Dropping `labs` tears them down.
    outcome
}

/// Runs the comparison. A configuration that fails to start is reported in the note and
/// left out of its round.
pub(super) fn compare(b: &mut Bench, dpdk: bool) -> Result<(Comparison, Option<String>)> {
    let (lab, args) = (b.lab, b.args);
    let scs = plan::compare_scenarios(
        &file_prefix(&args.prefix),
        &args.variants,
        &args.variant_bins,
        dpdk,
    );
    let rounds = args.dpdk_rounds;
    let share_rounds = args.share_rounds;
    let mut notes: Vec<String> = Vec::new();
    let gen_run = |load: Load, rate: Option<f64>| GenRun {
        load,
        rate,
        window: args.window,
        warmup: args.warmup,
        sample_every: super::SAMPLE_EVERY,
    };
    let order = |round: u32| -> Vec<&Scenario> {
        if round.is_multiple_of(2) {
            scs.iter().collect()
        } else {
            scs.iter().rev().collect()
        }
    };

    // Maximum load, interleaved.
    let mut max: HashMap<(String, Load), Runs> = HashMap::new();
    let mut per_round: HashMap<(u32, String, Load), f64> = HashMap::new();
    let mut record = |round: u32, sc: &Scenario, load: Load, s: super::sample::Sample| {
        per_round.insert((round, sc.key.clone(), load), s.rx_pps);
        max.entry((sc.key.clone(), load)).or_default().0.push(s);
    };
    if args.paired {
        paired_max(b, &scs, &mut notes, &mut record)?;
    } else {
        for round in 0..rounds {
            println!(
                "\nbench: --- DPDK comparison, maximum load, round {}/{rounds} ---",
                round + 1
            );
            for sc in order(round) {
                let loads = sc.loads();
                let when = format!("round {}", round + 1);
                let Some(started) = start_or_note(b, sc, loads.len() as u32, &when, &mut notes)
                else {
                    continue;
                };
                for &load in loads {
                    let what = format!("round {}/{rounds}", round + 1);
                    let run = gen_run(load, None);
                    if let Some(s) = b.one_run(sc, &run, Some(started.watched), &what)? {
                        record(round, sc, load, s);
                    }
                }
                finish(lab, sc, started);
            }
        }
    }
    // Per-round ratios: ours / DPDK, and each variant / ours.
    let mut round_ratios = Vec::new();
    for round in 0..rounds {
        for load in [Load::Udp, Load::Icmp] {
            let get = |key: &str| per_round.get(&(round, key.to_string(), load)).copied();
            let ours = get(compare_keys::OURS);
            for sc in &scs {
                let (num, den, key) = if sc.key == Comparison::dpdk_key(load) {
                    (ours, get(&sc.key), compare_keys::OURS)
                } else if sc.key.starts_with(compare_keys::VARIANT_PREFIX) {
                    (get(&sc.key), ours, sc.key.as_str())
                } else {
                    continue;
                };
                if let (Some(a), Some(b)) = (num, den) {
                    if b > 0.0 {
                        round_ratios.push((key.to_string(), load, a / b));
                    }
                }
            }
        }
    }

    // CPU at shares of each one's own maximum.
    let top = |key: &str, load: Load| -> Option<f64> {
        max.get(&(key.to_string(), load))
            .and_then(|r| r.rx_pps())
            .map(|s| s.median)
            .filter(|m| *m > 0.0)
    };
    let mut at: HashMap<(String, Load, usize), Runs> = HashMap::new();
    for round in 0..share_rounds {
        println!(
            "\nbench: --- DPDK comparison, 25/50/80% of own maximum, round {}/{share_rounds} ---",
            round + 1
        );
        for sc in order(round) {
            let loads: Vec<Load> = sc
                .loads()
                .iter()
                .copied()
                .filter(|&l| top(&sc.key, l).is_some())
                .collect();
            if loads.is_empty() {
                continue;
            }
            let planned = (loads.len() * SHARES.len()) as u32;
            let when = format!("share round {}", round + 1);
            let Some(started) = start_or_note(b, sc, planned, &when, &mut notes) else {
                continue;
            };
            for &load in &loads {
                let Some(top) = top(&sc.key, load) else {
                    continue;
                };
                for (i, share) in SHARES.iter().enumerate() {
                    let what = format!("round {}/{share_rounds}, {:.0}%", round + 1, share * 100.0);
                    let run = gen_run(load, Some(share * top));
                    if let Some(s) = b.one_run(sc, &run, Some(started.watched), &what)? {
                        at.entry((sc.key.clone(), load, i)).or_default().0.push(s);
                    }
                }
            }
            finish(lab, sc, started);
        }
    }

    let mut rows = Vec::new();
    for sc in &scs {
        for &load in sc.loads() {
            let runs = max
                .get(&(sc.key.clone(), load))
                .cloned()
                .unwrap_or_default();
            rows.push(PeerMeasured {
                scenario: sc.clone(),
                load,
                share: None,
                rate: None,
                runs,
            });
            for (i, share) in SHARES.iter().enumerate() {
                if let Some(runs) = at.remove(&(sc.key.clone(), load, i)) {
                    rows.push(PeerMeasured {
                        scenario: sc.clone(),
                        load,
                        share: Some(*share),
                        rate: top(&sc.key, load).map(|t| t * share),
                        runs,
                    });
                }
            }
        }
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok((
        Comparison {
            rows,
            round_ratios,
            rounds,
            share_rounds,
            paired: args.paired,
        },
        note,
    ))
}
