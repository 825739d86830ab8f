//! Facts about a network interface, read from sysfs (which `ip netns exec` remounts for the
//! namespace): index, MAC, MTU, RX queue count, driver.
use std::{fs, path::PathBuf};

use anyhow::{bail, Context, Result};

/// What we need to know about the interface we serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetDev {
    pub name: String,
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub rx_queues: u32,
    /// `ethtool -i` driver name, or "unknown".
    pub driver: String,
}

impl NetDev {
    /// Looks the interface up; a missing one gets an error that lists what exists.
    pub fn open(name: &str) -> Result<NetDev> {
        let dir = PathBuf::from("/sys/class/net").join(name);
        if name.is_empty() || name.contains('/') || !dir.exists() {
            let known = list_interfaces().join(", ");
            bail!(
                "no interface named {name:?} in this network namespace (interfaces here: {known}); \
                 check the name with `ip link`, or run inside the right namespace with `ip netns exec`"
            );
        }
        let read = |file: &str| -> Result<String> {
            let path = dir.join(file);
            Ok(fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?
                .trim()
                .to_string())
        };
        let ifindex = read("ifindex")?.parse().context("parsing ifindex")?;
        let mtu = read("mtu")?.parse().context("parsing mtu")?;
        let mac = parse_mac(&read("address")?).with_context(|| {
            format!("{name} has no Ethernet MAC address: AF_XDP answers need one")
        })?;
        let rx_queues = fs::read_dir(dir.join("queues"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                    .count() as u32
            })
            .unwrap_or(1)
            .max(1);
        let driver = crate::xsk::sys::driver_name(name).unwrap_or_else(|_| "unknown".into());
        Ok(NetDev {
            name: name.to_string(),
            ifindex,
            mac,
            mtu,
            rx_queues,
            driver,
        })
    }
}

fn list_interfaces() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir("/sys/class/net")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in mac.iter_mut() {
        let p = parts
            .next()
            .with_context(|| format!("bad MAC address {s:?}"))?;
        *b = u8::from_str_radix(p, 16).with_context(|| format!("bad MAC address {s:?}"))?;
    }
    if parts.next().is_some() {
        bail!("bad MAC address {s:?}");
    }
    Ok(mac)
}

/// Formats a MAC as `aa:bb:cc:dd:ee:ff`.
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
    fn mac_round_trip_and_rejects() {
        let m = parse_mac("02:00:00:00:0a:FF").unwrap();
        assert_eq!(m, [2, 0, 0, 0, 0x0a, 0xff]);
        assert_eq!(format_mac(&m), "02:00:00:00:0a:ff");
        assert!(parse_mac("02:00:00:00:0a").is_err());
        assert!(parse_mac("02:00:00:00:0a:ff:01").is_err());
        assert!(parse_mac("zz:00:00:00:0a:ff").is_err());
    }

    #[test]
    fn missing_interface_names_the_problem() {
        let err = NetDev::open("no-such-if0").unwrap_err().to_string();
        assert!(err.contains("no interface named \"no-such-if0\""), "{err}");
    }
}
