//! Interface facts (index, MAC).

use anyhow::{Context, Result};

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
            mac: xdp_host::mac::parse_mac(text.trim())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_exists() {
        let lo = NetDev::open("lo").expect("lo");
        assert_eq!(lo.mac, [0; 6]);
        assert!(lo.ifindex >= 1);
        assert!(NetDev::open("xdp-gen-no-such-if").is_err());
    }
}
