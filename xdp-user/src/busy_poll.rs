//! Socket busy polling (`--busy-poll`): whether it can do anything on this interface, the NAPI
//! settings it needs on a real NIC, and the start-up notes.
//!
//! With `SO_PREFER_BUSY_POLL`, `SO_BUSY_POLL` and `SO_BUSY_POLL_BUDGET` on an AF_XDP socket,
//! its `recvfrom()` and `sendto()` calls run the driver's NAPI poll (`sk_busy_loop` in
//! net/xdp/xsk.c) from the application's thread instead of the device interrupt's softirq;
//! the worker then never sleeps and calls `recvfrom(MSG_DONTWAIT)` whenever its RX ring is
//! empty (what xdpsock `-B` does). Documentation/networking/napi.rst: for the device interrupt
//! to stay off while the application polls, the interface needs `napi_defer_hard_irqs` (how
//! many empty polls before the interrupt is re-armed) and `gro_flush_timeout` (a timer that
//! takes over if the application stops polling) set, e.g. 2 and 200000 ns, the values of the
//! kernel's AF_XDP busy-poll series; with both at 0, the interrupt comes back after every
//! poll and busy polling buys little.
//!
//! Where the frames do not come from a driver NAPI the socket could poll, busy polling only
//! costs: on veth the peer's transmit schedules veth's NAPI and runs it at once on the
//! *sending* CPU (there is no interrupt to avoid), so polling it from the worker moves that
//! receive work (XDP program, copy into the socket) onto the worker's CPU; in SKB mode the
//! socket is fed from the stack's receive path. There the responder keeps its idle policy
//! and says why, unless `--busy-poll=force`.
use std::{fs, path::PathBuf};

use crate::loader::Attached;

/// `--busy-poll` and `--busy-poll=force`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BusyPollChoice {
    /// Busy poll where the driver can be polled; elsewhere keep the idle policy.
    Auto,
    /// Busy poll even where it cannot help (to measure it).
    Force,
}

/// `SO_BUSY_POLL`: microseconds one busy-poll call may spin in the kernel.
pub const BUSY_POLL_USECS: u32 = 20;

/// What napi.rst and the AF_XDP busy-poll series set for it: `napi_defer_hard_irqs`, and
/// `gro_flush_timeout` in nanoseconds.
pub const RECOMMENDED: NapiSettings = NapiSettings {
    defer_hard_irqs: Some(2),
    gro_flush_timeout_ns: Some(200_000),
};

/// Why busy polling cannot help on this interface, if it cannot.
pub fn refusal(driver: &str, attached: Attached) -> Option<String> {
    if attached == Attached::Skb {
        return Some(
            "the XDP program runs in SKB (generic) mode: frames reach the socket from the \
             kernel's receive path, not from a driver NAPI the socket could poll"
                .into(),
        );
    }
    if driver == "veth" {
        return Some(
            "veth has no device interrupt to avoid: the peer's transmit schedules veth's NAPI \
             and runs it at once on the sending CPU, so polling it from the worker only moves \
             that receive work (XDP program, copy into the socket) onto the worker's CPU \
             (measured slower, docs/BENCHMARK.md)"
                .into(),
        );
    }
    None
}

/// An interface's NAPI settings in sysfs (`/sys/class/net/IF/`); `None` when unreadable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NapiSettings {
    pub defer_hard_irqs: Option<u64>,
    pub gro_flush_timeout_ns: Option<u64>,
}

fn sysfs(ifname: &str, file: &str) -> PathBuf {
    PathBuf::from("/sys/class/net").join(ifname).join(file)
}

const DEFER: &str = "napi_defer_hard_irqs";
const FLUSH: &str = "gro_flush_timeout";

impl NapiSettings {
    pub fn read(ifname: &str) -> NapiSettings {
        let get = |f: &str| {
            fs::read_to_string(sysfs(ifname, f))
                .ok()
                .and_then(|t| t.trim().parse().ok())
        };
        NapiSettings {
            defer_hard_irqs: get(DEFER),
            gro_flush_timeout_ns: get(FLUSH),
        }
    }

    /// Writes the settings that are `Some`.
    pub fn write(&self, ifname: &str) -> std::io::Result<()> {
        for (f, v) in [
            (DEFER, self.defer_hard_irqs),
            (FLUSH, self.gro_flush_timeout_ns),
        ] {
            if let Some(v) = v {
                fs::write(sysfs(ifname, f), v.to_string())?;
            }
        }
        Ok(())
    }

    /// Whether these are enough for busy polling to keep the interrupt off.
    pub fn suit_busy_polling(&self) -> bool {
        self.defer_hard_irqs.is_some_and(|v| v > 0)
            && self.gro_flush_timeout_ns.is_some_and(|v| v > 0)
    }

    fn describe(&self) -> String {
        let show = |v: Option<u64>| v.map_or("unreadable".to_string(), |v| v.to_string());
        format!(
            "{DEFER}={} {FLUSH}={} ns",
            show(self.defer_hard_irqs),
            show(self.gro_flush_timeout_ns)
        )
    }
}

/// The start-up note about the interface's NAPI settings for busy polling.
pub fn settings_note(ifname: &str, now: &NapiSettings, tuned: bool) -> String {
    let want = format!(
        "{DEFER}={} {FLUSH}={}",
        RECOMMENDED.defer_hard_irqs.unwrap_or(0),
        RECOMMENDED.gro_flush_timeout_ns.unwrap_or(0)
    );
    if tuned {
        return format!(
            "busy poll: {ifname}: {} (set by --busy-poll-tune, restored at exit)",
            now.describe()
        );
    }
    if now.suit_busy_polling() {
        format!("busy poll: {ifname}: {}", now.describe())
    } else {
        format!(
            "busy poll: {ifname}: {}: with these the device interrupt is re-armed after every poll; for busy polling on a NIC set e.g. {want} (`echo 2 > /sys/class/net/{ifname}/{DEFER}; echo 200000 > /sys/class/net/{ifname}/{FLUSH}`), or pass --busy-poll-tune to set them until exit",
            now.describe()
        )
    }
}

/// `--busy-poll-tune`: the recommended NAPI settings while the responder runs; the previous
/// ones are written back when this is dropped.
pub struct NapiTuning {
    ifname: String,
    saved: NapiSettings,
}

impl NapiTuning {
    pub fn apply(ifname: &str) -> std::io::Result<NapiTuning> {
        let saved = NapiSettings::read(ifname);
        let t = NapiTuning {
            ifname: ifname.to_string(),
            saved,
        };
        RECOMMENDED.write(ifname)?;
        Ok(t)
    }
}

impl Drop for NapiTuning {
    fn drop(&mut self) {
        if let Err(e) = self.saved.write(&self.ifname) {
            eprintln!(
                "warning: could not restore {} of {}: {e}",
                self.saved.describe(),
                self.ifname
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_and_skb_mode_are_refused_with_a_reason_nics_are_not() {
        let v = refusal("veth", Attached::Native).unwrap();
        assert!(v.contains("sending CPU"), "{v}");
        let s = refusal("ice", Attached::Skb).unwrap();
        assert!(s.contains("SKB"), "{s}");
        assert_eq!(refusal("ice", Attached::Native), None);
        assert_eq!(refusal("mlx5_core", Attached::Native), None);
    }

    #[test]
    fn the_note_says_what_to_set_when_the_settings_do_not_suit() {
        let zero = NapiSettings {
            defer_hard_irqs: Some(0),
            gro_flush_timeout_ns: Some(0),
        };
        let n = settings_note("eth1", &zero, false);
        assert!(
            n.contains("napi_defer_hard_irqs=0 gro_flush_timeout=0 ns"),
            "{n}"
        );
        assert!(
            n.contains("napi_defer_hard_irqs=2 gro_flush_timeout=200000"),
            "{n}"
        );
        assert!(n.contains("--busy-poll-tune"), "{n}");
        assert!(!settings_note("eth1", &RECOMMENDED, false).contains("set e.g."));
        assert!(!NapiSettings::default().suit_busy_polling());
    }
}
