//! Frames that span several UMEM buffers (AF_XDP multi-buffer: every buffer of a frame but the
//! last carries `XDP_PKT_CONTD`). The handlers see the first buffer as the frame, writable:
//! every header we read or rewrite must lie in it. The following buffers are the frame's
//! [`Tail`], read-only: only the checksums that cover the whole message read it, once, and
//! no handler writes it, so a reply leaves with the same buffers and the payload untouched.
use xdp_wire::checksum;

/// The buffers after the first of a multi-buffer frame, in order, as received.
#[derive(Clone, Copy, Debug)]
pub struct Tail<'a> {
    segs: &'a [&'a [u8]],
    /// Bytes of `segs` that belong to the message (a prefix; what follows is padding past
    /// the IP length).
    len: usize,
}

impl<'a> Tail<'a> {
    /// A frame in one buffer.
    pub const NONE: Tail<'static> = Tail { segs: &[], len: 0 };

    /// The tail made of these buffers, all of them part of the message.
    pub fn new(segs: &'a [&'a [u8]]) -> Self {
        Tail {
            segs,
            len: segs.iter().map(|s| s.len()).sum(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tail's first `n` bytes (all of it if it is shorter).
    pub fn prefix(self, n: usize) -> Self {
        Tail {
            segs: self.segs,
            len: self.len.min(n),
        }
    }

    /// The folded Internet checksum sum of the tail's bytes, which start at byte `offset` of
    /// the checksummed message (the length of the message's part in the first buffer).
    pub fn sum_at(&self, offset: usize) -> u16 {
        let (mut acc, mut at, mut left) = (0u16, offset, self.len);
        for seg in self.segs {
            if left == 0 {
                break;
            }
            let part = seg.get(..left.min(seg.len())).unwrap_or(seg);
            acc = checksum::add(acc, checksum::sum_at(part, at));
            at += part.len();
            left -= part.len();
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::{handle, handle_chain, Answer, DropReason, TimeOfDay, Verdict};
    use crate::requests::{identity, request};

    /// Runs `handle_chain` on `frame` cut at `cuts` (first buffer `..cuts[0]`, then the
    /// pieces between the cuts); returns the verdict and the reply read back across the
    /// buffers (the first buffer's bytes, then the tail's, up to the verdict's length).
    fn run_split(frame: &[u8], cuts: &[usize]) -> (Verdict, Vec<u8>) {
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(frame.len());
        let mut head = frame[..bounds[1]].to_vec();
        let segs: Vec<&[u8]> = bounds[1..].windows(2).map(|w| &frame[w[0]..w[1]]).collect();
        let len = head.len();
        let v = handle_chain(
            &mut head,
            len,
            Tail::new(&segs),
            &identity(),
            TimeOfDay::default(),
        );
        let mut out = head;
        for s in &segs {
            out.extend_from_slice(s);
        }
        if let Verdict::Reply { offset, len, .. } = v {
            out = out[offset..offset + len].to_vec();
        }
        (v, out)
    }

    /// The reply `handle` gives for the frame in one buffer.
    fn whole(frame: &[u8]) -> (Verdict, Vec<u8>) {
        let mut buf = frame.to_vec();
        let v = handle(&mut buf, frame.len(), &identity(), TimeOfDay::default());
        if let Verdict::Reply { offset, len, .. } = v {
            buf = buf[offset..offset + len].to_vec();
        }
        (v, buf)
    }

    const ECHOES: [Answer; 4] = [
        Answer::Udp4,
        Answer::Udp6,
        Answer::Icmp4Echo,
        Answer::Icmp6Echo,
    ];

    #[test]
    fn a_chain_is_answered_as_the_same_frame_in_one_buffer() {
        // 9014: a 9000-byte IP packet, three 3840-byte buffers as the kernel fills them;
        // odd cuts move the checksum words across buffer boundaries.
        for kind in ECHOES {
            for size in [3841, 7681, 9014] {
                let req = request(kind, size, 5);
                let want = whole(&req);
                assert!(matches!(want.0, Verdict::Reply { .. }), "{kind:?} {size}");
                for cuts in [
                    vec![3840],
                    vec![3840, 7680],
                    vec![101, 3001, 3002],
                    vec![999, 1000, 1001, 2003],
                ] {
                    let cuts: Vec<usize> = cuts.into_iter().filter(|&c| c < size).collect();
                    let got = run_split(&req, &cuts);
                    assert_eq!(got.0, want.0, "{kind:?} {size} {cuts:?}");
                    assert_eq!(got.1, want.1, "{kind:?} {size} {cuts:?}");
                }
            }
        }
    }

    #[test]
    fn a_damaged_tail_fails_the_checksum() {
        for kind in ECHOES {
            let mut req = request(kind, 9014, 1);
            req[8000] ^= 0x40;
            assert_eq!(
                run_split(&req, &[3840, 7680]).0,
                Verdict::Drop(DropReason::BadChecksum),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn padding_past_the_ip_length_is_not_sent() {
        // The IP packet ends in the first buffer; a second buffer of padding follows.
        for kind in ECHOES {
            let req = request(kind, 200, 1);
            let mut padded = req.clone();
            padded.resize(5000, 0x55);
            let got = run_split(&padded, &[3840]);
            assert_eq!(got, whole(&req), "{kind:?}");
            // And a packet that ends inside the second of three buffers.
            let req = request(kind, 5000, 1);
            let mut padded = req.clone();
            padded.resize(9000, 0x55);
            let got = run_split(&padded, &[3840, 7680]);
            assert_eq!(got, whole(&req), "{kind:?}");
        }
    }

    #[test]
    fn headers_outside_the_first_buffer_and_ndp_across_buffers_are_unsupported() {
        let unsupported = Verdict::Drop(DropReason::Unsupported);
        // UDP header cut after 4 bytes (IPv4: header ends at 34).
        assert_eq!(
            run_split(&request(Answer::Udp4, 5000, 1), &[38]).0,
            unsupported
        );
        assert_eq!(
            run_split(&request(Answer::Icmp6Echo, 5000, 1), &[58]).0,
            unsupported
        );
        // ARP in the first buffer, padding after: answered as in one buffer.
        let req = request(Answer::Arp, 42, 1);
        let mut padded = req.clone();
        padded.resize(4000, 0);
        assert_eq!(run_split(&padded, &[3840]), whole(&req));
        // NDP in a chain, within the first buffer or continuing into the next.
        let ndp = request(Answer::Ndp, 86, 1);
        let mut padded = ndp.clone();
        padded.resize(4000, 0);
        assert_eq!(run_split(&padded, &[3840]).0, unsupported);
        assert_eq!(run_split(&ndp, &[80]).0, unsupported);
    }

    #[test]
    fn a_chain_shorter_than_its_ip_length_is_truncated() {
        for kind in ECHOES {
            let req = request(kind, 9014, 1);
            assert_eq!(
                run_split(&req[..9000], &[3840, 7680]).0,
                Verdict::Drop(DropReason::Truncated),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn the_sum_over_the_pieces_is_the_sum_over_the_message() {
        let msg: Vec<u8> = (0..9001u32).map(|i| (i * 7 + 3) as u8).collect();
        for (head, cut) in [(3840, 7680), (1, 2), (3, 8000), (1000, 1001), (0, 9001)] {
            let segs = [&msg[head..cut], &msg[cut..]];
            let t = Tail::new(&segs);
            assert_eq!(t.len(), msg.len() - head);
            let s = checksum::add(checksum::sum(&msg[..head]), t.sum_at(head));
            assert_eq!(s, checksum::sum(&msg), "head {head} cut {cut}");
            // A prefix stops inside the second piece.
            let p = t.prefix(cut - head + 5);
            let s = checksum::add(checksum::sum(&msg[..head]), p.sum_at(head));
            assert_eq!(s, checksum::sum(&msg[..(cut + 5).min(msg.len())]));
        }
        assert_eq!(Tail::NONE.sum_at(1), 0);
    }
}
