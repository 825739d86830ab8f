//! Counters: each queue worker owns a [`QueueStats`] (atomics it alone writes, once per
//! batch); the reporter reads them into [`Snapshot`]s and prints rates and totals.
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::handlers::{Answer, DropReason};
use crate::latency::{LatencyHistogram, LatencySnapshot};
use crate::xsk::sys::XdpStatistics;
use xdp_wire::ethernet::{self, ethertype};
use xdp_wire::ipv4::{self, protocol};
use xdp_wire::{icmp, ipv6};

/// Defines [`QueueStats`] (the live atomics), [`Snapshot`] (plain copies), [`Counts`] (the
/// summed counters as they are reported: JSON, Prometheus), [`QueueStats::snapshot`],
/// [`Snapshot::add`] and [`Snapshot::counts`] from one list of the scalar counters, so a
/// counter is written down once. Over queues, `totals` add up (`counter`s and summed
/// `gauge`s), `maxima` take the largest. A counter's doc comment is its help text.
macro_rules! queue_counters {
    (
        totals { $($(#[doc = $doc:literal])+ $kind:ident $field:ident,)+ }
        maxima { $($(#[doc = $mdoc:literal])+ $mfield:ident,)+ }
    ) => {
        /// Live counters of one queue worker.
        #[derive(Debug, Default)]
        pub struct QueueStats {
            $($(#[doc = $doc])+ pub $field: AtomicU64,)+
            $($(#[doc = $mdoc])+ pub $mfield: AtomicU64,)+
            pub answers: [AtomicU64; Answer::COUNT],
            pub drops: [AtomicU64; DropReason::COUNT],
            /// Dropped frames by what they asked for ([`request_class`]).
            pub drop_classes: [AtomicU64; RequestClass::COUNT],
            /// Time spent in the handler by sampled packets (one per batch), in nanoseconds.
            pub handler_ns: LatencyHistogram,
            /// The socket's last XDP_STATISTICS, kept by the worker when it closes the socket.
            pub xdp_final: std::sync::Mutex<Option<XdpStatistics>>,
        }

        /// A point-in-time copy of one queue's counters (or their sum over queues).
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Snapshot {
            $($(#[doc = $doc])+ pub $field: u64,)+
            $($(#[doc = $mdoc])+ pub $mfield: u64,)+
            pub answers: [u64; Answer::COUNT],
            pub drops: [u64; DropReason::COUNT],
            pub drop_classes: [u64; RequestClass::COUNT],
            /// The socket's XDP_STATISTICS.
            pub xdp: XdpStatistics,
            /// Handler time of sampled packets.
            pub handler_ns: LatencySnapshot,
        }

        /// The summed counters of a [`Snapshot`], by their stable names.
        #[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
        pub struct Counts {
            $($(#[doc = $doc])+ pub $field: u64,)+
        }

        impl Counts {
            /// Name, help text and kind of each field, in the order of [`Counts::values`].
            pub const INFO: [CountInfo; [$(stringify!($field)),+].len()] = [$(CountInfo {
                name: stringify!($field),
                help: concat!($($doc),+),
                kind: queue_counters!(@kind $kind),
            },)+];

            /// The fields' values, in the order of [`Counts::INFO`].
            pub fn values(&self) -> [u64; Self::INFO.len()] {
                [$(self.$field),+]
            }
        }

        impl QueueStats {
            pub fn snapshot(&self) -> Snapshot {
                let l = |a: &AtomicU64| a.load(Relaxed);
                Snapshot {
                    $($field: l(&self.$field),)+
                    $($mfield: l(&self.$mfield),)+
                    answers: self.answers.each_ref().map(l),
                    drops: self.drops.each_ref().map(l),
                    drop_classes: self.drop_classes.each_ref().map(l),
                    xdp: XdpStatistics::default(),
                    handler_ns: {
                        let mut h = LatencySnapshot::default();
                        self.handler_ns.snapshot_into(&mut h);
                        h
                    },
                }
            }
        }

        impl Snapshot {
            /// The summed counters.
            pub fn counts(&self) -> Counts {
                Counts {
                    $($field: self.$field,)+
                }
            }

            /// Adds `o` (another queue's counters) into `self`.
            pub fn add(&mut self, o: &Snapshot) {
                $(self.$field += o.$field;)+
                $(self.$mfield = self.$mfield.max(o.$mfield);)+
                for (a, b) in self.answers.iter_mut().zip(o.answers) {
                    *a += b;
                }
                for (a, b) in self.drops.iter_mut().zip(o.drops) {
                    *a += b;
                }
                for (a, b) in self.drop_classes.iter_mut().zip(o.drop_classes) {
                    *a += b;
                }
                self.xdp.add(&o.xdp);
                for (a, b) in self
                    .handler_ns
                    .buckets
                    .iter_mut()
                    .zip(&o.handler_ns.buckets)
                {
                    *a += b;
                }
                self.handler_ns.min = self.handler_ns.min.min(o.handler_ns.min);
                self.handler_ns.max = self.handler_ns.max.max(o.handler_ns.max);
            }
        }
    };
    (@kind counter) => { CountKind::Counter };
    (@kind gauge) => { CountKind::Gauge };
}

/// Whether a reported count only goes up or is a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountKind {
    /// Only goes up (Prometheus counter).
    Counter,
    /// A level that goes up and down (Prometheus gauge).
    Gauge,
}

/// What [`Counts::INFO`] says about one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountInfo {
    pub name: &'static str,
    /// The field's doc comment.
    pub help: &'static str,
    pub kind: CountKind,
}

queue_counters! {
    totals {
        /// Frames received on the AF_XDP socket.
        counter rx_packets,
        /// Bytes received on the AF_XDP socket.
        counter rx_bytes,
        /// Replies sent.
        counter tx_packets,
        /// Reply bytes sent.
        counter tx_bytes,
        /// Replies dropped because the TX ring had no room.
        counter tx_ring_full,
        /// sendto() calls made to kick TX (need_wakeup set, or copy mode).
        counter tx_wakeups,
        /// TX kicks answered EAGAIN: the kernel stopped at its TX budget with more left.
        counter tx_kick_again,
        /// poll() calls made to kick the fill ring (need_wakeup set on it).
        counter fill_wakeups,
        /// Times the worker went to sleep in poll() for lack of traffic.
        counter idle_sleeps,
        /// Of those, sleeps after which frames were waiting at once (the next receive had some).
        counter idle_woken,
        /// Timed naps on an empty RX ring that gathered frames into a batch (coalescing).
        counter idle_naps,
        /// recvfrom() calls on an empty RX ring in busy-poll mode (each runs the driver's NAPI).
        counter busy_polls,
        /// Frames in the free list.
        gauge frames_free,
        /// Frames on the kernel's RX side: fill and RX rings.
        gauge frames_kernel_rx,
        /// Frames on the kernel's TX side: TX and completion rings.
        gauge frames_kernel_tx,
        /// Times the frame ledger check failed (must stay 0).
        counter ledger_errors,
    }
    maxima {
        /// The idle policy's spin threshold now, nanoseconds (over several queues: the largest).
        idle_spin_ns,
    }
}

/// Counts gathered during one batch, published with one atomic add per field.
#[derive(Debug, Default)]
pub struct BatchCounts {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub answers: [u64; Answer::COUNT],
    pub drops: [u64; DropReason::COUNT],
    pub drop_classes: [u64; RequestClass::COUNT],
    pub tx_ring_full: u64,
}

impl QueueStats {
    pub fn publish(&self, b: &BatchCounts) {
        let add = |a: &AtomicU64, v: u64| {
            if v != 0 {
                a.fetch_add(v, Relaxed);
            }
        };
        add(&self.rx_packets, b.rx_packets);
        add(&self.rx_bytes, b.rx_bytes);
        add(&self.tx_packets, b.tx_packets);
        add(&self.tx_bytes, b.tx_bytes);
        for (a, v) in self.answers.iter().zip(b.answers) {
            add(a, v);
        }
        for (a, v) in self.drops.iter().zip(b.drops) {
            add(a, v);
        }
        for (a, v) in self.drop_classes.iter().zip(b.drop_classes) {
            add(a, v);
        }
        add(&self.tx_ring_full, b.tx_ring_full);
    }
}

impl Snapshot {
    pub fn answers_total(&self) -> u64 {
        self.answers.iter().sum()
    }

    pub fn drops_total(&self) -> u64 {
        self.drops.iter().sum()
    }
}

/// `1234567` packets/s -> `1.23 Mpps`.
pub fn human_pps(pps: f64) -> String {
    human(pps, "pps")
}

/// Bits per second -> `1.23 Gbit/s`.
pub fn human_bps(bps: f64) -> String {
    human(bps, "bit/s")
}

fn human(v: f64, unit: &str) -> String {
    if v >= 1e9 {
        format!("{:.2} G{unit}", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} M{unit}", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.2} K{unit}", v / 1e3)
    } else {
        format!("{v:.0} {unit}")
    }
}

/// Names and values of the non-zero entries, `name=value` joined by spaces, or `-`.
pub fn nonzero<const N: usize>(names: [&'static str; N], values: &[u64; N]) -> String {
    let parts: Vec<String> = names
        .iter()
        .zip(values)
        .filter(|(_, v)| **v != 0)
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" ")
    }
}

pub fn answer_names() -> [&'static str; Answer::COUNT] {
    Answer::NAMES
}

pub fn drop_names() -> [&'static str; DropReason::COUNT] {
    DropReason::NAMES
}

xdp_common::named_enum! {
    /// What a frame that reached user space asked for, in the classes the XDP program counts
    /// when it redirects (`redirected_<class>`: a class's name is that counter's suffix), read
    /// from the frame's own bytes. Dropped frames are counted by class so that each
    /// `redirected_<class>` can be checked against what user space did with that class
    /// (answers + drops): two classifications made apart from each other.
    pub enum RequestClass: usize {
        Arp => "arp",
        Icmp4 => "icmp4",
        Icmp6 => "icmp6",
        Ndp => "ndp",
        Udp => "udp",
        /// None of the above: the XDP program never redirects such a frame.
        Other => "other",
    }
}

/// The class of `frame` by EtherType, IP protocol / next header and ICMPv6 type (an NS is
/// `ndp`, any other ICMPv6 message `icmp6`; the XDP program passes extension headers on, so
/// the ICMPv6 header is right after the fixed IPv6 header).
pub fn request_class(frame: &[u8]) -> RequestClass {
    let Ok(eth) = ethernet::Frame::new_checked(frame) else {
        return RequestClass::Other;
    };
    // Views without a length check: a field past the end of the frame reads as 0.
    match eth.ethertype() {
        ethertype::ARP => RequestClass::Arp,
        ethertype::IPV4 => match ipv4::Packet::new_unchecked(eth.payload()).protocol() {
            protocol::ICMP => RequestClass::Icmp4,
            protocol::UDP => RequestClass::Udp,
            _ => RequestClass::Other,
        },
        ethertype::IPV6 => match ipv6::Packet::new_unchecked(eth.payload()).next_header() {
            protocol::ICMPV6 => {
                let after = eth.payload().get(ipv6::field::PAYLOAD).unwrap_or(&[]);
                match icmp::Packet::new_unchecked(after).msg_type() {
                    icmp::v6::NEIGHBOR_SOLICITATION => RequestClass::Ndp,
                    _ => RequestClass::Icmp6,
                }
            }
            protocol::UDP => RequestClass::Udp,
            _ => RequestClass::Other,
        },
        _ => RequestClass::Other,
    }
}

pub fn class_names() -> [&'static str; RequestClass::COUNT] {
    RequestClass::NAMES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_pps(12.0), "12 pps");
        assert_eq!(human_pps(1_234.0), "1.23 Kpps");
        assert_eq!(human_pps(5_500_000.0), "5.50 Mpps");
        assert_eq!(human_bps(2.5e9), "2.50 Gbit/s");
    }

    #[test]
    fn publish_and_sum() {
        let q = QueueStats::default();
        let mut b = BatchCounts {
            rx_packets: 3,
            tx_packets: 2,
            ..Default::default()
        };
        b.answers[Answer::Udp4 as usize] = 2;
        b.drops[DropReason::BadChecksum as usize] = 1;
        q.publish(&b);
        q.publish(&b);
        let mut total = Snapshot::default();
        total.add(&q.snapshot());
        total.add(&q.snapshot());
        assert_eq!(total.rx_packets, 12);
        assert_eq!(total.answers_total(), 8);
        assert_eq!(total.drops_total(), 4);
        assert_eq!(nonzero(drop_names(), &total.drops), "bad_checksum=4");
    }

    #[test]
    fn request_classes_are_the_protocols_and_other() {
        let protocols = xdp_common::Protocol::NAMES;
        assert_eq!(RequestClass::NAMES[..protocols.len()], protocols);
        assert_eq!(RequestClass::NAMES[protocols.len()..], ["other"]);
    }

    #[test]
    fn request_classes() {
        let mut f = [0u8; 60];
        assert_eq!(request_class(&f), RequestClass::Other);
        assert_eq!(request_class(&f[..10]), RequestClass::Other);
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(request_class(&f), RequestClass::Arp);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[23] = 1;
        assert_eq!(request_class(&f), RequestClass::Icmp4);
        f[23] = 17;
        assert_eq!(request_class(&f), RequestClass::Udp);
        f[23] = 6;
        assert_eq!(request_class(&f), RequestClass::Other);
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[20] = 58;
        f[54] = 135;
        assert_eq!(request_class(&f), RequestClass::Ndp);
        f[54] = 128;
        assert_eq!(request_class(&f), RequestClass::Icmp6);
        assert_eq!(request_class(&f[..40]), RequestClass::Icmp6);
        f[20] = 17;
        assert_eq!(request_class(&f), RequestClass::Udp);
        f[20] = 0;
        assert_eq!(request_class(&f), RequestClass::Other);
    }
}
