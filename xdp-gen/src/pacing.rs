//! The send rate and how it becomes work for the kernel. Pacing itself happens in the
//! transmitter program (`abi::gen::INTERVAL_NS`): a frame that is not due yet is dropped
//! before it leaves, so one long `BPF_PROG_RUN` call sends at an even rate, without bursts and
//! without the per-call cost (a page pool and a memory model are set up for every call).

/// The requested send rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    /// As fast as the kernel takes frames.
    Max,
    /// This many frames per second.
    Pps(f64),
}

/// Frames per `BPF_PROG_RUN` call at maximum rate (a few milliseconds of work).
pub const FRAMES_PER_CALL: u32 = 16_384;
/// Program runs per call when pacing (most of them drop a frame that is not due yet; a call
/// lasts milliseconds).
pub const RUNS_PER_PACED_CALL: u32 = 1 << 18;

impl Rate {
    /// Parses `max` or a number of packets per second (`250000`, `250k`, `1.5M`).
    pub fn parse(s: &str) -> Result<Rate, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Rate::Max);
        }
        let (num, mult) = match s.char_indices().last() {
            Some((i, 'k' | 'K')) => (&s[..i], 1e3),
            Some((i, 'm' | 'M')) => (&s[..i], 1e6),
            _ => (s, 1.0),
        };
        let v: f64 = num.parse().map_err(|_| {
            format!("{s:?} is not a rate: use `max` or packets per second like 250000, 250k, 1.5M")
        })?;
        let pps = v * mult;
        if !(pps.is_finite() && (1.0..=100e6).contains(&pps)) {
            return Err(format!(
                "rate must be 1..=100M packets per second, got {s:?}"
            ));
        }
        Ok(Rate::Pps(pps))
    }

    /// Nanoseconds between frames for the transmitter (0: every frame, maximum rate).
    pub fn interval_ns(self) -> u64 {
        match self {
            Rate::Max => 0,
            Rate::Pps(pps) => ((1e9 / pps).round() as u64).max(1),
        }
    }

    /// Program runs per `BPF_PROG_RUN` call.
    pub fn runs_per_call(self) -> u32 {
        match self {
            Rate::Max => FRAMES_PER_CALL,
            Rate::Pps(_) => RUNS_PER_PACED_CALL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates() {
        assert_eq!(Rate::parse("max"), Ok(Rate::Max));
        assert_eq!(Rate::parse("MAX"), Ok(Rate::Max));
        assert_eq!(Rate::parse("250000"), Ok(Rate::Pps(250_000.0)));
        assert_eq!(Rate::parse("250k"), Ok(Rate::Pps(250_000.0)));
        assert_eq!(Rate::parse("1.5M"), Ok(Rate::Pps(1_500_000.0)));
        for bad in ["", "fast", "0", "-5", "0.5", "nan", "k", "1000M"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn intervals_and_calls() {
        assert_eq!(Rate::Max.interval_ns(), 0);
        assert_eq!(Rate::Pps(1000.0).interval_ns(), 1_000_000);
        assert_eq!(Rate::Pps(3e6).interval_ns(), 333);
        assert_eq!(Rate::Pps(100e6).interval_ns(), 10);
        assert_eq!(Rate::Max.runs_per_call(), FRAMES_PER_CALL);
        assert!(Rate::Pps(10.0).runs_per_call() > FRAMES_PER_CALL);
    }
}
