//! `xdp-ladder count`: loads the counters (`xdp-ebpf/src/bin/ladder`), watches the given
//! processes in their roles, and after `--start-after` seconds measures a `--window`: the
//! bytes and calls of every copy function, system calls and context switches per role (all
//! counted in the kernel by the BPF programs), plus each role's on-CPU time and context
//! switches from `/proc/PID/task/*/{schedstat,status}`. Prints one `RESULT key=value ...` line.
//!
//! Everything is attached through bpf_links owned by this process, so it all goes away when
//! the process exits, however it exits.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aya::{
    maps::{HashMap, PerCpuArray},
    programs::{BtfTracePoint, FEntry, FExit},
    Btf, Ebpf,
};

use xdp_common::ladder::{maps, progs, role, slot, COW_FUNCTION, PROBES, TRACEPOINTS, WORDS};

/// The object built from `xdp-ebpf/src/bin/ladder` by the build script.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/ladder"));

/// Options of `xdp-ladder count`.
#[derive(clap::Args, Debug)]
pub struct CountArgs {
    /// Process whose work is counted as the server's (repeatable).
    #[arg(long, required = true)]
    pub server: Vec<u32>,
    /// Process whose work is counted as the load's: generator or client (repeatable).
    #[arg(long)]
    pub peer: Vec<u32>,
    /// Seconds after this process started at which the window begins.
    #[arg(long, default_value_t = 1.0)]
    pub start_after: f64,
    /// Length of the window, in seconds.
    #[arg(long, default_value_t = 2.0)]
    pub window: f64,
}

/// Counter words per role, summed over CPUs.
type Words = [[u64; WORDS]; role::COUNT as usize];

/// Runs the count and prints the `RESULT` line.
pub fn run(args: &CountArgs, started: Instant) -> Result<()> {
    if !(0.1..=600.0).contains(&args.window) || !(0.0..=600.0).contains(&args.start_after) {
        bail!("--window must be 0.1..=600 s and --start-after 0..=600 s");
    }
    let mut ebpf = Ebpf::load(OBJECT).context("loading the counters' BPF object")?;
    let btf = Btf::from_sys_fs().context("reading the kernel's BTF (/sys/kernel/btf/vmlinux)")?;
    // Tracepoints first: they are required. Then the fentry probes, best effort: some
    // machines forbid fentry (a security policy answers EPERM); the copies they would count
    // are then reported as not measured, never as 0.
    if !cfg!(target_arch = "x86_64") {
        bail!("the system-call classification uses x86_64 system call numbers");
    }
    for (prog, tp) in TRACEPOINTS {
        let p: &mut BtfTracePoint = program(&mut ebpf, prog)?;
        p.load(tp, &btf)
            .with_context(|| format!("loading tp_btf/{tp}"))?;
        p.attach()
            .with_context(|| format!("attaching tp_btf/{tp}"))?;
    }
    let fentry = attach_fentries(&mut ebpf, &btf);
    if let Err(e) = &fentry {
        eprintln!(
            "xdp-ladder count: fentry probes not attached, their copies are not measured: {e:#}"
        );
    }
    {
        let mut watch: HashMap<_, u32, u32> = HashMap::try_from(
            ebpf.map_mut(maps::WATCH)
                .with_context(|| format!("no map {}", maps::WATCH))?,
        )?;
        for (pids, r) in [(&args.server, role::SERVER), (&args.peer, role::PEER)] {
            for &pid in pids {
                watch
                    .insert(pid, r, 0)
                    .with_context(|| format!("watching pid {pid}"))?;
            }
        }
    }
    println!(
        "ready: counting with {} programs: copies, system calls, context switches of servers {:?}, peers {:?}",
        PROBES.len() + TRACEPOINTS.len(),
        args.server,
        args.peer
    );
    let begin = started + Duration::from_secs_f64(args.start_after);
    if let Some(wait) = begin.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    } else {
        eprintln!(
            "xdp-ladder count: attaching took longer than --start-after; the window starts late"
        );
    }
    let counts: PerCpuArray<_, [u64; WORDS]> = PerCpuArray::try_from(
        ebpf.map(maps::COUNTS)
            .with_context(|| format!("no map {}", maps::COUNTS))?,
    )?;
    let t0 = Instant::now();
    let w0 = read_words(&counts)?;
    let p0 = [proc_totals(&args.server), proc_totals(&args.peer)];
    std::thread::sleep(Duration::from_secs_f64(args.window));
    let w1 = read_words(&counts)?;
    let p1 = [proc_totals(&args.server), proc_totals(&args.peer)];
    let elapsed = t0.elapsed().as_secs_f64();

    let mut line = format!(
        "RESULT window_s={elapsed:.6} fentry={}",
        if fentry.is_ok() { "yes" } else { "denied" }
    );
    for r in 0..role::COUNT as usize {
        let name = if r == role::SERVER as usize {
            "server"
        } else {
            "peer"
        };
        for s in 0..slot::ALL {
            let bytes = w1[r][2 * s].wrapping_sub(w0[r][2 * s]);
            let calls = w1[r][2 * s + 1].wrapping_sub(w0[r][2 * s + 1]);
            line.push_str(&format!(
                " {name}.{}.bytes={bytes} {name}.{}.calls={calls}",
                slot_key(s),
                slot_key(s)
            ));
        }
        let (a, b) = (p0[r], p1[r]);
        line.push_str(&format!(
            " {name}.cpu_ns={} {name}.vol_switches={} {name}.invol_switches={}",
            b.cpu_ns.saturating_sub(a.cpu_ns),
            b.vol.saturating_sub(a.vol),
            b.invol.saturating_sub(a.invol)
        ));
    }
    println!("{line}");
    Ok(())
}

/// The key of a slot in the `RESULT` line: the function's name, or `syscalls`/`switches`,
/// or `skb_to_xdp`.
pub fn slot_key(s: usize) -> &'static str {
    match s {
        slot::SYSCALLS => "syscalls",
        slot::SWITCHES => "switches",
        slot::SKB_TO_XDP => "skb_to_xdp",
        slot::TP_DATAGRAM_IOVEC => "tp_skb_copy_datagram_iovec",
        slot::SOCK_USER_RX => "sock_user_rx",
        slot::SOCK_USER_TX => "sock_user_tx",
        slot::SOCK_KERNEL_TX => "sock_kernel_tx",
        slot::FILE_TO_USER => "file_to_user",
        slot::FILE_FROM_USER => "file_from_user",
        slot::XSK_REDIRECT => "xsk_redirect",
        _ => PROBES
            .iter()
            .find(|p| p.slot == s)
            .map_or("unknown", |p| p.function),
    }
}

fn program<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut T>
where
    &'a mut T: TryFrom<&'a mut aya::programs::Program, Error = aya::programs::ProgramError>,
{
    let p = ebpf
        .program_mut(name)
        .with_context(|| format!("no program {name} in the object"))?;
    p.try_into()
        .with_context(|| format!("program {name} has an unexpected type"))
}

/// The nesting marks first, so that no `skb_copy_bits` inside `skb_pp_cow_data` is
/// miscounted; then every copy probe.
fn attach_fentries(ebpf: &mut Ebpf, btf: &Btf) -> Result<()> {
    attach_fentry(ebpf, btf, progs::COW_ENTER, COW_FUNCTION)?;
    let p: &mut FExit = program(ebpf, progs::COW_EXIT)?;
    p.load(COW_FUNCTION, btf)
        .with_context(|| format!("loading fexit on {COW_FUNCTION}"))?;
    p.attach()
        .with_context(|| format!("attaching fexit on {COW_FUNCTION}"))?;
    for probe in &PROBES {
        attach_fentry(ebpf, btf, probe.program, probe.function)?;
    }
    Ok(())
}

fn attach_fentry(ebpf: &mut Ebpf, btf: &Btf, prog: &str, function: &str) -> Result<()> {
    let p: &mut FEntry = program(ebpf, prog)?;
    p.load(function, btf).with_context(|| {
        format!("loading fentry on {function} (is it a traceable function of this kernel?)")
    })?;
    p.attach()
        .with_context(|| format!("attaching fentry on {function}"))?;
    Ok(())
}

fn read_words(counts: &PerCpuArray<&aya::maps::MapData, [u64; WORDS]>) -> Result<Words> {
    let mut out = [[0u64; WORDS]; role::COUNT as usize];
    for (r, words) in out.iter_mut().enumerate() {
        let per_cpu = counts.get(&(r as u32), 0).context("reading the counters")?;
        for cpu in per_cpu.iter() {
            for (w, v) in words.iter_mut().zip(cpu.iter()) {
                *w = w.wrapping_add(*v);
            }
        }
    }
    Ok(out)
}

/// On-CPU time and context switches of all threads of some processes, from `/proc`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcTotals {
    pub cpu_ns: u64,
    pub vol: u64,
    pub invol: u64,
}

fn proc_totals(pids: &[u32]) -> ProcTotals {
    let mut t = ProcTotals::default();
    for pid in pids {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in dir.flatten() {
            let p = task.path();
            if let Ok(s) = std::fs::read_to_string(p.join("schedstat")) {
                t.cpu_ns += parse_schedstat(&s);
            }
            if let Ok(s) = std::fs::read_to_string(p.join("status")) {
                let (v, i) = parse_switches(&s);
                t.vol += v;
                t.invol += i;
            }
        }
    }
    t
}

/// The first field of `/proc/.../schedstat`: time on CPU, ns.
pub fn parse_schedstat(text: &str) -> u64 {
    text.split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// `voluntary_ctxt_switches` and `nonvoluntary_ctxt_switches` of `/proc/.../status`.
pub fn parse_switches(text: &str) -> (u64, u64) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        field("voluntary_ctxt_switches:"),
        field("nonvoluntary_ctxt_switches:"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_parsers() {
        assert_eq!(parse_schedstat("123456 789 10\n"), 123456);
        assert_eq!(parse_schedstat(""), 0);
        let status = "Name:\tx\nvoluntary_ctxt_switches:\t17\nnonvoluntary_ctxt_switches:\t4\n";
        assert_eq!(parse_switches(status), (17, 4));
    }

    #[test]
    fn every_slot_has_one_key() {
        let keys: Vec<&str> = (0..slot::ALL).map(slot_key).collect();
        for (i, k) in keys.iter().enumerate() {
            assert_ne!(*k, "unknown", "slot {i}");
            assert!(!keys[i + 1..].contains(k), "{k} twice");
        }
    }
}
