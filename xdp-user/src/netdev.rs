//! The interface we serve: the host's facts about it ([`xdp_host::netdev::NetDev`]) and its
//! driver, which decides what the loader, the socket binder and busy polling may ask of it.
use std::ops::Deref;

use anyhow::Result;

/// An interface and its driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetDev {
    host: xdp_host::netdev::NetDev,
    /// `ethtool -i` driver name, or "unknown".
    pub driver: String,
}

impl NetDev {
    /// Looks the interface up ([`xdp_host::netdev::NetDev::open`]) and asks for its driver.
    pub fn open(name: &str) -> Result<NetDev> {
        let host = xdp_host::netdev::NetDev::open(name)?;
        let driver = crate::xsk::sys::driver_name(name).unwrap_or_else(|_| "unknown".into());
        Ok(NetDev { host, driver })
    }
}

impl Deref for NetDev {
    type Target = xdp_host::netdev::NetDev;
    fn deref(&self) -> &Self::Target {
        &self.host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_a_driver_name_or_unknown() {
        let lo = NetDev::open("lo").expect("lo");
        assert_eq!(lo.name, "lo");
        assert!(!lo.driver.is_empty());
        assert!(NetDev::open("no-such-if0").is_err());
    }
}
