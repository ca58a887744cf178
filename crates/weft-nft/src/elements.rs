//! Canonical spelling of set and map elements, as `nft list` reports them, so the fake's
//! snapshot equals the kernel's: prefixes lose their host bits (`10.244.1.5/16` →
//! `10.244.0.0/16`), full-length prefixes and one-address ranges become addresses, a
//! range that is exactly a prefix becomes that prefix, ports lose leading zeros, quotes
//! around strings are dropped. Also the interval arithmetic behind nft's "interval
//! overlaps with an existing one" check.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::types::Verdict;

/// An address element part in numeric form: an inclusive range of addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interval {
    v6: bool,
    lo: u128,
    hi: u128,
}

impl Interval {
    /// Whether the two ranges share an address.
    pub(crate) fn overlaps(&self, other: &Interval) -> bool {
        self.v6 == other.v6 && self.lo <= other.hi && other.lo <= self.hi
    }
}

fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn parse_addr(s: &str, v6: bool) -> Result<IpAddr, String> {
    let addr: IpAddr = s
        .parse()
        .map_err(|_| format!("{s:?} is not an IP address"))?;
    if addr.is_ipv6() != v6 {
        let want = if v6 { "IPv6" } else { "IPv4" };
        return Err(format!("{s:?} is not an {want} address"));
    }
    Ok(addr)
}

/// Parses an address, prefix or range of one family into an interval.
pub(crate) fn parse_interval(part: &str, v6: bool) -> Result<Interval, String> {
    let (lo, hi) = if let Some((addr, len)) = part.split_once('/') {
        let addr = parse_addr(addr, v6)?;
        let len: u8 = len
            .parse()
            .map_err(|_| format!("{part:?}: bad prefix length"))?;
        let net = IpNet::new(addr, len).map_err(|_| format!("{part:?}: bad prefix length"))?;
        (to_u128(net.network()), to_u128(net.broadcast()))
    } else if let Some((a, b)) = part.split_once('-') {
        (to_u128(parse_addr(a, v6)?), to_u128(parse_addr(b, v6)?))
    } else {
        let a = to_u128(parse_addr(part, v6)?);
        (a, a)
    };
    if lo > hi {
        return Err(format!("{part:?}: range is empty"));
    }
    Ok(Interval { v6, lo, hi })
}

fn from_u128(v: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(v.into())
    } else {
        // An IPv4 interval was built from a u32, so the value fits.
        IpAddr::V4(u32::try_from(v).unwrap_or(u32::MAX).into())
    }
}

/// The canonical text of an interval: address, prefix, or `lo-hi`.
pub(crate) fn interval_text(i: Interval) -> String {
    let bits: u32 = if i.v6 { 128 } else { 32 };
    if i.lo == i.hi {
        return from_u128(i.lo, i.v6).to_string();
    }
    let size = i.hi - i.lo;
    // A prefix of length `len` covers 2^(bits-len) addresses aligned on that size.
    let host_bits = 128 - size.leading_zeros();
    let is_prefix = size.count_ones() == host_bits && i.lo & size == 0;
    if is_prefix {
        return format!("{}/{}", from_u128(i.lo, i.v6), bits - host_bits);
    }
    format!("{}-{}", from_u128(i.lo, i.v6), from_u128(i.hi, i.v6))
}

/// The canonical text of one key or value part of type `ty`. Prefixes and ranges are
/// allowed only with `interval` (nft: "You must add 'flags interval' to your set
/// declaration if you want to add prefix elements").
pub(crate) fn canonical_part(ty: &str, part: &str, interval: bool) -> Result<String, String> {
    let part = part
        .strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .unwrap_or(part);
    let is_span = part.contains('/') || part.contains('-');
    match ty {
        "ipv4_addr" | "ipv6_addr" => {
            if is_span && !interval {
                return Err(format!(
                    "{part:?}: prefixes and ranges need a set with flags interval"
                ));
            }
            Ok(interval_text(parse_interval(part, ty == "ipv6_addr")?))
        }
        "inet_service" => {
            let port = |p: &str| p.parse::<u16>().map(|n| n.to_string());
            match part.split_once('-') {
                Some((a, b)) if interval => match (port(a), port(b)) {
                    (Ok(a), Ok(b)) if a == b => Ok(a),
                    (Ok(a), Ok(b)) => Ok(format!("{a}-{b}")),
                    _ => Err(format!("{part:?} is not a port range")),
                },
                Some(_) => Err(format!("{part:?}: ranges need a set with flags interval")),
                // A service name (`http`) is resolved by nft; we keep it as written.
                None => Ok(port(part).unwrap_or_else(|_| part.to_string())),
            }
        }
        "verdict" => part
            .parse::<Verdict>()
            .map(|v| v.to_string())
            .map_err(|e| format!("{e} (map values of type verdict)")),
        _ => Ok(part.to_string()),
    }
}

/// Canonical parts of a key or value of the (canonical, ` . `-joined) type `ty`.
pub(crate) fn canonical_parts(
    ty: &str,
    parts: &[String],
    interval: bool,
) -> Result<Vec<String>, String> {
    let types: Vec<&str> = ty.split(" . ").collect();
    if types.len() != parts.len() {
        return Err(format!(
            "{} part(s) given for type {ty} ({} expected)",
            parts.len(),
            types.len()
        ));
    }
    types
        .iter()
        .zip(parts)
        .map(|(t, p)| canonical_part(t, p, interval))
        .collect()
}

/// The interval of a canonical single-part address key, for overlap checks.
pub(crate) fn key_interval(ty: &str, key: &[String]) -> Option<Interval> {
    match (ty, key) {
        ("ipv4_addr", [part]) => parse_interval(part, false).ok(),
        ("ipv6_addr", [part]) => parse_interval(part, true).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(ty: &str, part: &str) -> String {
        canonical_part(ty, part, true).unwrap_or_else(|e| e)
    }

    #[test]
    fn canonical_addresses() {
        assert_eq!(canon("ipv4_addr", "10.244.1.5/16"), "10.244.0.0/16");
        assert_eq!(canon("ipv4_addr", "10.2.0.7/32"), "10.2.0.7");
        assert_eq!(canon("ipv4_addr", "10.0.0.0-10.0.0.255"), "10.0.0.0/24");
        assert_eq!(canon("ipv4_addr", "10.1.0.1-10.1.0.9"), "10.1.0.1-10.1.0.9");
        assert_eq!(canon("ipv4_addr", "0.0.0.0/0"), "0.0.0.0/0");
        assert_eq!(canon("ipv6_addr", "2001:db8:0:0::1"), "2001:db8::1");
        assert_eq!(canon("ipv6_addr", "fd00::1/8"), "fd00::/8");
        assert_eq!(canon("ipv6_addr", "::/0"), "::/0");
        assert_eq!(canon("inet_service", "080"), "80");
        assert_eq!(canon("ifname", "\"eth0\""), "eth0");
        assert!(canonical_part("ipv4_addr", "10.0.0.0/8", false).is_err());
        assert!(canonical_part("ipv4_addr", "::1", true).is_err());
        assert!(canonical_part("ipv4_addr", "10.0.0.9-10.0.0.1", true).is_err());
    }

    #[test]
    fn overlaps() {
        let a = parse_interval("10.0.0.0/24", false).ok();
        let b = parse_interval("10.0.0.5", false).ok();
        let c = parse_interval("10.0.1.0/24", false).ok();
        let (Some(a), Some(b), Some(c)) = (a, b, c) else {
            panic!("parse failed");
        };
        assert!(a.overlaps(&b));
        assert!(!a.overlaps(&c));
    }
}
