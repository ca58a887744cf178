//! rtnetlink wire format: message header, fixed headers of each family, attributes
//! (TLVs, nested), and their parsing. Only what weft uses; numbers from
//! `linux/netlink.h`, `linux/rtnetlink.h`, `linux/if_link.h`, `linux/neighbour.h`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Message types and flags.
pub mod consts {
    #![allow(missing_docs)]
    pub const NLMSG_ERROR: u16 = 2;
    pub const NLMSG_DONE: u16 = 3;
    pub const NLM_F_REQUEST: u16 = 0x1;
    pub const NLM_F_MULTI: u16 = 0x2;
    pub const NLM_F_ACK: u16 = 0x4;
    pub const NLM_F_DUMP: u16 = 0x300;
    pub const NLM_F_REPLACE: u16 = 0x100;
    pub const NLM_F_EXCL: u16 = 0x200;
    pub const NLM_F_CREATE: u16 = 0x400;
    pub const NLM_F_ACK_TLVS: u16 = 0x200;
    pub const NLMSGERR_ATTR_MSG: u16 = 1;
    pub const NLA_F_NESTED: u16 = 0x8000;

    pub const RTM_NEWLINK: u16 = 16;
    pub const RTM_DELLINK: u16 = 17;
    pub const RTM_GETLINK: u16 = 18;
    pub const RTM_SETLINK: u16 = 19;
    pub const RTM_NEWADDR: u16 = 20;
    pub const RTM_DELADDR: u16 = 21;
    pub const RTM_GETADDR: u16 = 22;
    pub const RTM_NEWROUTE: u16 = 24;
    pub const RTM_DELROUTE: u16 = 25;
    pub const RTM_GETROUTE: u16 = 26;
    pub const RTM_NEWNEIGH: u16 = 28;
    pub const RTM_DELNEIGH: u16 = 29;
    pub const RTM_GETNEIGH: u16 = 30;

    pub const AF_UNSPEC: u8 = 0;
    pub const AF_INET: u8 = 2;
    pub const AF_BRIDGE: u8 = 7;
    pub const AF_INET6: u8 = 10;

    pub const IFF_UP: u32 = 0x1;
    pub const IFF_PROMISC: u32 = 0x100;

    pub const IFLA_ADDRESS: u16 = 1;
    pub const IFLA_IFNAME: u16 = 3;
    pub const IFLA_MTU: u16 = 4;
    pub const IFLA_LINK: u16 = 5;
    pub const IFLA_MASTER: u16 = 10;
    pub const IFLA_PROTINFO: u16 = 12;
    pub const IFLA_OPERSTATE: u16 = 16;
    pub const IFLA_LINKINFO: u16 = 18;
    pub const IFLA_NET_NS_FD: u16 = 28;
    pub const IFLA_INFO_KIND: u16 = 1;
    pub const IFLA_INFO_DATA: u16 = 2;
    pub const IFLA_INFO_SLAVE_KIND: u16 = 4;
    pub const VETH_INFO_PEER: u16 = 1;
    pub const IFLA_BRPORT_MODE: u16 = 4;
    pub const IFLA_VXLAN_ID: u16 = 1;
    pub const IFLA_VXLAN_LINK: u16 = 3;
    pub const IFLA_VXLAN_LOCAL: u16 = 4;
    pub const IFLA_VXLAN_LEARNING: u16 = 7;
    pub const IFLA_VXLAN_PORT: u16 = 15;
    pub const IFLA_VXLAN_LOCAL6: u16 = 17;
    pub const IF_OPER_UP: u8 = 6;

    pub const IFA_ADDRESS: u16 = 1;
    pub const IFA_LOCAL: u16 = 2;
    pub const IFA_FLAGS: u16 = 8;
    pub const IFA_F_NODAD: u32 = 0x02;

    pub const RTA_DST: u16 = 1;
    pub const RTA_OIF: u16 = 4;
    pub const RTA_GATEWAY: u16 = 5;
    pub const RTA_PRIORITY: u16 = 6;
    pub const RTA_METRICS: u16 = 8;
    pub const RTA_TABLE: u16 = 15;
    pub const RTAX_MTU: u16 = 2;
    pub const RTAX_ADVMSS: u16 = 8;
    pub const RTN_UNICAST: u8 = 1;
    pub const RTNH_F_ONLINK: u32 = 4;
    pub const RT_TABLE_MAIN: u32 = 254;

    pub const NDA_DST: u16 = 1;
    pub const NDA_LLADDR: u16 = 2;
    pub const NUD_PERMANENT: u16 = 0x80;
    pub const NTF_SELF: u8 = 0x02;
}

use consts::*;

/// Rounds up to the 4-byte netlink alignment.
pub fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// Builds one netlink request: header, family header, attributes.
#[derive(Debug, Clone)]
pub struct MsgBuilder {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl MsgBuilder {
    /// Starts a message of `msg_type` with `flags` (NLM_F_REQUEST is added).
    pub fn new(msg_type: u16, flags: u16) -> MsgBuilder {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in finish()
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, patched by the socket
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: kernel fills it
        MsgBuilder {
            buf,
            nests: Vec::new(),
        }
    }

    /// Appends `struct ifinfomsg`.
    pub fn ifinfomsg(mut self, family: u8, index: i32, flags: u32, change: u32) -> Self {
        self.buf.extend_from_slice(&[family, 0]);
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
        self
    }

    /// Appends `struct ifaddrmsg`.
    pub fn ifaddrmsg(mut self, family: u8, prefix: u8, flags: u8, scope: u8, index: u32) -> Self {
        self.buf.extend_from_slice(&[family, prefix, flags, scope]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self
    }

    /// Appends `struct rtmsg`.
    #[allow(clippy::too_many_arguments)]
    pub fn rtmsg(
        mut self,
        family: u8,
        dst_len: u8,
        table: u8,
        protocol: u8,
        scope: u8,
        rtype: u8,
        flags: u32,
    ) -> Self {
        self.buf
            .extend_from_slice(&[family, dst_len, 0, 0, table, protocol, scope, rtype]);
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self
    }

    /// Appends `struct ndmsg`.
    pub fn ndmsg(mut self, family: u8, index: i32, state: u16, flags: u8) -> Self {
        self.buf.extend_from_slice(&[family, 0]);
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&state.to_ne_bytes());
        self.buf.extend_from_slice(&[flags, 0]);
        self
    }

    /// Appends an attribute with a raw payload.
    pub fn attr(mut self, kind: u16, payload: &[u8]) -> Self {
        self.push_attr(kind, payload);
        self
    }

    fn push_attr(&mut self, kind: u16, payload: &[u8]) {
        let len = 4 + payload.len();
        // Attribute lengths are u16 by protocol; weft's payloads are a few bytes.
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.buf.resize(align(self.buf.len()), 0);
    }

    /// Appends a u32 attribute.
    pub fn u32(self, kind: u16, value: u32) -> Self {
        self.attr(kind, &value.to_ne_bytes())
    }

    /// Appends a u8 attribute.
    pub fn u8(self, kind: u16, value: u8) -> Self {
        self.attr(kind, &[value])
    }

    /// Appends a NUL-terminated string attribute.
    pub fn str(self, kind: u16, value: &str) -> Self {
        let mut bytes = value.as_bytes().to_vec();
        bytes.push(0);
        self.attr(kind, &bytes)
    }

    /// Appends an address attribute (4 or 16 bytes).
    pub fn ip(self, kind: u16, ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => self.attr(kind, &v4.octets()),
            IpAddr::V6(v6) => self.attr(kind, &v6.octets()),
        }
    }

    /// Opens a nested attribute; close it with [`MsgBuilder::end_nest`].
    pub fn nest(mut self, kind: u16) -> Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Closes the innermost nested attribute.
    pub fn end_nest(mut self) -> Self {
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    /// Appends raw bytes (an embedded family header inside a nest, e.g. the veth peer's
    /// `ifinfomsg`).
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Finishes the message with sequence number `seq`.
    pub fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// A raw `struct ifinfomsg` for embedding (veth peer).
pub fn ifinfomsg_bytes(family: u8, index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![family, 0, 0, 0];
    b.extend_from_slice(&index.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Msg<'a> {
    /// Message type.
    pub msg_type: u16,
    /// Header flags.
    pub flags: u16,
    /// Sequence number.
    pub seq: u32,
    /// Everything after the header.
    pub payload: &'a [u8],
}

/// Splits a receive buffer into messages.
pub fn messages(mut buf: &[u8]) -> Vec<Msg<'_>> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32_at(buf, 0) as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        out.push(Msg {
            msg_type: u16_at(buf, 4),
            flags: u16_at(buf, 6),
            seq: u32_at(buf, 8),
            payload: &buf[16..len],
        });
        buf = &buf[align(len).min(buf.len())..];
    }
    out
}

/// Iterates the attributes of `buf` as (type without flags, payload).
pub fn attrs(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16_at(buf, 0) as usize;
        if len < 4 || len > buf.len() {
            break;
        }
        let kind = u16_at(buf, 2) & !(NLA_F_NESTED | 0x4000);
        out.push((kind, &buf[4..len]));
        buf = &buf[align(len).min(buf.len())..];
    }
    out
}

/// Finds the first attribute of type `kind`.
pub fn find<'a>(list: &[(u16, &'a [u8])], kind: u16) -> Option<&'a [u8]> {
    list.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v)
}

/// Reads a native-endian u16 at `at` (0 if out of range).
pub fn u16_at(buf: &[u8], at: usize) -> u16 {
    buf.get(at..at + 2)
        .map(|b| u16::from_ne_bytes([b[0], b[1]]))
        .unwrap_or(0)
}

/// Reads a native-endian u32 at `at` (0 if out of range).
pub fn u32_at(buf: &[u8], at: usize) -> u32 {
    buf.get(at..at + 4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0)
}

/// Reads a native-endian i32 at `at` (0 if out of range).
pub fn i32_at(buf: &[u8], at: usize) -> i32 {
    u32_at(buf, at) as i32
}

/// Decodes an address payload of 4 or 16 bytes.
pub fn ip_from(payload: &[u8]) -> Option<IpAddr> {
    match payload.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(
            payload[0], payload[1], payload[2], payload[3],
        ))),
        16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(payload);
            Some(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => None,
    }
}

/// Decodes a NUL-terminated string payload.
pub fn str_from(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
}

/// Address family byte for an address.
pub fn family_of(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() { AF_INET } else { AF_INET6 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_nested_attributes_with_alignment() {
        let msg = MsgBuilder::new(RTM_NEWLINK, NLM_F_CREATE)
            .ifinfomsg(AF_UNSPEC, 0, 0, 0)
            .str(IFLA_IFNAME, "br0")
            .nest(IFLA_LINKINFO)
            .str(IFLA_INFO_KIND, "bridge")
            .end_nest()
            .finish(7);
        assert_eq!(u32_at(&msg, 0) as usize, msg.len());
        assert_eq!(u16_at(&msg, 4), RTM_NEWLINK);
        assert_eq!(u16_at(&msg, 6), NLM_F_CREATE | NLM_F_REQUEST);
        assert_eq!(u32_at(&msg, 8), 7);
        let parsed = messages(&msg);
        assert_eq!(parsed.len(), 1);
        let list = attrs(&parsed[0].payload[16..]);
        assert_eq!(list.len(), 2);
        assert_eq!(str_from(find(&list, IFLA_IFNAME).unwrap()), "br0");
        let info = attrs(find(&list, IFLA_LINKINFO).unwrap());
        assert_eq!(str_from(find(&info, IFLA_INFO_KIND).unwrap()), "bridge");
        // "br0\0" is 4 bytes + 4 header = 8; "bridge\0" is 7 + 4 = 11, padded to 12;
        // the nest is 4 + 12 = 16; ifinfomsg 16; header 16.
        assert_eq!(msg.len(), 16 + 16 + 8 + 16);
    }

    #[test]
    fn decodes_addresses() {
        assert_eq!(ip_from(&[10, 0, 0, 1]).unwrap().to_string(), "10.0.0.1");
        assert!(ip_from(&[1, 2, 3]).is_none());
        let v6: Ipv6Addr = "fd00::1".parse().unwrap();
        assert_eq!(ip_from(&v6.octets()), Some(IpAddr::V6(v6)));
    }
}
