//! Ethernet addresses as text: `02:00:00:00:00:01`.

use anyhow::{bail, Context, Result};

/// Parses six colon-separated hex bytes (one or two digits each), e.g. `02:00:00:00:0a:FF`.
pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        bail!("{s:?} is not a MAC address (want six hex bytes like 02:00:00:00:00:01)");
    }
    let mut mac = [0u8; 6];
    for (b, p) in mac.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 2 {
            bail!("{s:?} is not a MAC address (byte {p:?})");
        }
        *b = u8::from_str_radix(p, 16)
            .with_context(|| format!("{s:?} is not a MAC address (byte {p:?})"))?;
    }
    Ok(mac)
}

/// Formats a MAC as `02:00:00:00:00:0a`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trip_and_errors() {
        let m = parse_mac("02:00:00:00:0a:FF").expect("mac");
        assert_eq!(m, [2, 0, 0, 0, 0x0a, 0xff]);
        assert_eq!(format_mac(&m), "02:00:00:00:0a:ff");
        for bad in [
            "",
            "02:00",
            "02:00:00:00:0a",
            "02:00:00:00:0a:ff:01",
            "zz:00:00:00:0a:ff",
            "02:00:00:00:00:000",
            "1:2:3:4:5:6:7",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
    }
}
