//! CIDR arithmetic: the n-th address of a network, subnet carving, MAC derivation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Errors of CIDR arithmetic.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The requested offset does not fit in the network.
    #[error("offset {offset} is outside {net}")]
    OutOfRange {
        /// The network.
        net: IpNet,
        /// The offset that did not fit.
        offset: u128,
    },
    /// A subnet of the requested size cannot be carved out of the network.
    #[error("cannot carve subnet #{index} of size /{prefix} out of {net}")]
    NoSubnet {
        /// The parent network.
        net: IpNet,
        /// Requested prefix length.
        prefix: u8,
        /// Requested index.
        index: u128,
    },
}

/// Number of addresses in `net` (saturating at `u128::MAX` for a `/0` IPv6 network).
pub fn size(net: &IpNet) -> u128 {
    let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
    1u128.checked_shl(host_bits).unwrap_or(u128::MAX)
}

/// Integer value of an address.
pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Address of the same family as `like` from its integer value (truncated for IPv4).
pub fn from_u128(like: IpAddr, value: u128) -> IpAddr {
    match like {
        // Truncation is intended: callers only pass values inside an IPv4 network.
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(value as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// The address at `offset` from the network address of `net` (offset 0 is the network
/// address itself).
pub fn nth(net: &IpNet, offset: u128) -> Result<IpAddr, Error> {
    if offset >= size(net) {
        return Err(Error::OutOfRange { net: *net, offset });
    }
    Ok(from_u128(net.network(), to_u128(net.network()) + offset))
}

/// Offset of `ip` inside `net`, or `None` when `ip` is not in `net`.
pub fn offset_of(net: &IpNet, ip: IpAddr) -> Option<u128> {
    net.contains(&ip)
        .then(|| to_u128(ip) - to_u128(net.network()))
}

/// The `index`-th subnet with prefix length `prefix` inside `net`.
pub fn subnet(net: &IpNet, prefix: u8, index: u128) -> Result<IpNet, Error> {
    let err = Error::NoSubnet {
        net: *net,
        prefix,
        index,
    };
    if prefix < net.prefix_len() || prefix > net.max_prefix_len() {
        return Err(err);
    }
    let count_bits = u32::from(prefix - net.prefix_len());
    let count = 1u128.checked_shl(count_bits).unwrap_or(u128::MAX);
    if index >= count {
        return Err(err);
    }
    let step_bits = u32::from(net.max_prefix_len() - prefix);
    let step = 1u128.checked_shl(step_bits).unwrap_or(0);
    let base = from_u128(net.network(), to_u128(net.network()) + index * step);
    Ok(match base {
        IpAddr::V4(a) => IpNet::V4(Ipv4Net::new(a, prefix).map_err(|_| err)?),
        IpAddr::V6(a) => IpNet::V6(Ipv6Net::new(a, prefix).map_err(|_| err)?),
    })
}

/// `ip` with the prefix length of `net`, e.g. `10.244.1.5` in `10.244.1.0/24` gives
/// `10.244.1.5/24`.
pub fn with_prefix(ip: IpAddr, prefix: u8) -> Option<IpNet> {
    IpNet::new(ip, prefix).ok()
}

/// A locally administered unicast MAC address derived from an IPv4 address, in the style
/// Kubernetes network plugins use (`0a:58:` followed by the four address bytes), so a
/// VTEP's or gateway's MAC can be computed on every node without coordination.
pub fn mac_from_ipv4(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x0a, 0x58, o[0], o[1], o[2], o[3]]
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut out {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn nth_and_offset_round_trip() {
        let n = net("10.244.1.0/24");
        assert_eq!(nth(&n, 1).unwrap().to_string(), "10.244.1.1");
        assert_eq!(nth(&n, 255).unwrap().to_string(), "10.244.1.255");
        assert!(nth(&n, 256).is_err());
        assert_eq!(offset_of(&n, "10.244.1.7".parse().unwrap()), Some(7));
        assert_eq!(offset_of(&n, "10.244.2.7".parse().unwrap()), None);
        let v6 = net("fd00:10:244::/120");
        assert_eq!(nth(&v6, 2).unwrap().to_string(), "fd00:10:244::2");
    }

    #[test]
    fn carves_node_subnets() {
        let cluster = net("10.244.0.0/16");
        assert_eq!(
            subnet(&cluster, 24, 1).unwrap().to_string(),
            "10.244.1.0/24"
        );
        assert_eq!(
            subnet(&cluster, 24, 255).unwrap().to_string(),
            "10.244.255.0/24"
        );
        assert!(subnet(&cluster, 24, 256).is_err());
        assert!(subnet(&cluster, 8, 0).is_err());
        let v6 = net("fd00:10:244::/56");
        assert_eq!(
            subnet(&v6, 64, 3).unwrap().to_string(),
            "fd00:10:244:3::/64"
        );
    }

    #[test]
    fn mac_helpers() {
        let mac = mac_from_ipv4("172.18.0.10".parse().unwrap());
        assert_eq!(format_mac(&mac), "0a:58:ac:12:00:0a");
        assert_eq!(parse_mac("0a:58:ac:12:00:0a"), Some(mac));
        assert_eq!(parse_mac("0a:58:ac:12:00"), None);
        assert_eq!(parse_mac("0a:58:ac:12:00:0a:01"), None);
    }
}
