//! Facts about a network interface, read from sysfs (which `ip netns exec` remounts for the
//! namespace): index, MAC, MTU, RX queue count. The responder and the generator both open
//! their interface through [`NetDev::open`].
use std::{fs, path::PathBuf};

use anyhow::{bail, Context, Result};

/// An interface of the current network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetDev {
    pub name: String,
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub rx_queues: u32,
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
        let mac = crate::mac::parse_mac(&read("address")?).with_context(|| {
            format!(
                "{name} has no Ethernet MAC address: the frames sent and answered on it need one"
            )
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
        Ok(NetDev {
            name: name.to_string(),
            ifindex,
            mac,
            mtu,
            rx_queues,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_interface_names_the_problem() {
        let err = NetDev::open("no-such-if0").unwrap_err().to_string();
        assert!(err.contains("no interface named \"no-such-if0\""), "{err}");
        assert!(NetDev::open("../lo").is_err());
    }

    #[test]
    fn loopback_exists() {
        let lo = NetDev::open("lo").expect("lo");
        assert_eq!(lo.mac, [0; 6]);
        assert!(lo.ifindex >= 1);
        assert!(lo.mtu > 0);
    }
}
