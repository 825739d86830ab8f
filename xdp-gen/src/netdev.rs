//! Interface facts (index, MAC) and MAC address parsing.

use anyhow::{bail, Context, Result};

/// An interface of the current network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetDev {
    pub name: String,
    pub ifindex: u32,
    pub mac: [u8; 6],
}

impl NetDev {
    /// Looks `name` up in the current network namespace.
    pub fn open(name: &str) -> Result<NetDev> {
        let ifindex = nix::net::if_::if_nametoindex(name).with_context(|| {
            format!("no interface {name:?} in this network namespace (is the lab up? run inside its namespace with `ip netns exec`)")
        })?;
        let path = format!("/sys/class/net/{name}/address");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        Ok(NetDev {
            name: name.to_string(),
            ifindex,
            mac: parse_mac(text.trim())?,
        })
    }
}

/// Parses `02:00:00:00:00:01`.
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

/// Formats a MAC as `02:00:00:00:00:01`.
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
        let m = parse_mac("02:00:00:00:00:0a").expect("mac");
        assert_eq!(m, [2, 0, 0, 0, 0, 10]);
        assert_eq!(format_mac(&m), "02:00:00:00:00:0a");
        for bad in [
            "",
            "02:00",
            "02:00:00:00:00:zz",
            "02:00:00:00:00:000",
            "1:2:3:4:5:6:7",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_exists() {
        let lo = NetDev::open("lo").expect("lo");
        assert_eq!(lo.mac, [0; 6]);
        assert!(lo.ifindex >= 1);
        assert!(NetDev::open("xdp-gen-no-such-if").is_err());
    }
}
