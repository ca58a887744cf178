//! [`KernelNetlink`]: the [`Netlink`] trait over a real rtnetlink socket.

use std::fs;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;

use ipnet::IpNet;

use crate::error::Error;
use crate::netns::Netns;
use crate::socket::Socket;
use crate::types::*;
use crate::wire::{self, MsgBuilder, consts::*};
use crate::{Netlink, Result};

/// Programs one network namespace through a netlink socket opened inside it.
#[derive(Debug)]
pub struct KernelNetlink {
    sock: Socket,
    ns: Arc<Netns>,
    /// The namespace is the one the process started in, so sysctls can be written from
    /// the calling thread instead of a helper thread.
    is_current: bool,
}

impl KernelNetlink {
    /// A handle on the calling thread's namespace.
    pub fn current() -> Result<KernelNetlink> {
        Ok(KernelNetlink {
            sock: Socket::open()?,
            ns: Arc::new(Netns::current()?),
            is_current: true,
        })
    }

    /// A handle on `ns`: the socket is opened once on a short-lived thread inside `ns`
    /// and then used from the caller's threads.
    pub fn in_netns(ns: Arc<Netns>) -> Result<KernelNetlink> {
        let sock = ns.run(Socket::open)??;
        Ok(KernelNetlink {
            sock,
            ns,
            is_current: false,
        })
    }

    /// The namespace handle.
    pub fn netns(&self) -> &Arc<Netns> {
        &self.ns
    }

    fn ack(&self, msg: MsgBuilder, op: &'static str, target: &str) -> Result<()> {
        self.sock.request(msg, op, target).map(|_| ())
    }

    fn set_link(
        &self,
        name: &str,
        op: &'static str,
        build: impl FnOnce(MsgBuilder) -> MsgBuilder,
    ) -> Result<()> {
        let index = self.link_index(name)?;
        let msg = MsgBuilder::new(RTM_NEWLINK, NLM_F_ACK);
        self.ack(
            build(msg.ifinfomsg(AF_UNSPEC, index as i32, 0, 0)),
            op,
            name,
        )
    }
}

fn parse_link(payload: &[u8]) -> Option<Link> {
    if payload.len() < 16 {
        return None;
    }
    let index = wire::i32_at(payload, 4) as u32;
    let flags = wire::u32_at(payload, 8);
    let list = wire::attrs(&payload[16..]);
    let name = wire::str_from(wire::find(&list, IFLA_IFNAME)?);
    let info = wire::find(&list, IFLA_LINKINFO)
        .map(wire::attrs)
        .unwrap_or_default();
    let kind = wire::find(&info, IFLA_INFO_KIND).map(wire::str_from);
    let vxlan = (kind.as_deref() == Some("vxlan")).then(|| {
        let data = wire::find(&info, IFLA_INFO_DATA)
            .map(wire::attrs)
            .unwrap_or_default();
        VxlanInfo {
            vni: wire::find(&data, IFLA_VXLAN_ID)
                .map(|v| wire::u32_at(v, 0))
                .unwrap_or(0),
            local: wire::find(&data, IFLA_VXLAN_LOCAL)
                .or_else(|| wire::find(&data, IFLA_VXLAN_LOCAL6))
                .and_then(wire::ip_from),
            port: wire::find(&data, IFLA_VXLAN_PORT)
                .and_then(|p| <[u8; 2]>::try_from(p).ok())
                .map(u16::from_be_bytes)
                .unwrap_or(0),
        }
    });
    let mac = wire::find(&list, IFLA_ADDRESS).and_then(|m| <[u8; 6]>::try_from(m).ok());
    Some(Link {
        index,
        name,
        kind,
        mtu: wire::find(&list, IFLA_MTU)
            .map(|v| wire::u32_at(v, 0))
            .unwrap_or(0),
        mac,
        master: wire::find(&list, IFLA_MASTER)
            .map(|v| wire::u32_at(v, 0))
            .filter(|m| *m != 0),
        up: flags & IFF_UP != 0,
        oper_up: wire::find(&list, IFLA_OPERSTATE).and_then(|v| v.first().copied())
            == Some(IF_OPER_UP),
        vxlan,
    })
}

fn parse_addr(payload: &[u8]) -> Option<Addr> {
    if payload.len() < 8 {
        return None;
    }
    let family = payload[0];
    let prefix = payload[1];
    let index = wire::u32_at(payload, 4);
    let list = wire::attrs(&payload[8..]);
    let raw = if family == AF_INET {
        wire::find(&list, IFA_LOCAL).or_else(|| wire::find(&list, IFA_ADDRESS))
    } else {
        wire::find(&list, IFA_ADDRESS).or_else(|| wire::find(&list, IFA_LOCAL))
    }?;
    let ip = wire::ip_from(raw)?;
    Some(Addr {
        index,
        addr: IpNet::new(ip, prefix).ok()?,
    })
}

fn parse_route(payload: &[u8]) -> Option<Route> {
    if payload.len() < 12 {
        return None;
    }
    let family = payload[0];
    let dst_len = payload[1];
    let protocol = payload[5];
    let scope = payload[6];
    let rtype = payload[7];
    let flags = wire::u32_at(payload, 8);
    if rtype != RTN_UNICAST {
        return None;
    }
    let list = wire::attrs(&payload[12..]);
    let table = wire::find(&list, RTA_TABLE)
        .map(|v| wire::u32_at(v, 0))
        .unwrap_or(u32::from(payload[4]));
    let unspecified = if family == AF_INET {
        IpAddr::from([0u8; 4])
    } else {
        IpAddr::from([0u8; 16])
    };
    let dst_ip = wire::find(&list, RTA_DST)
        .and_then(wire::ip_from)
        .unwrap_or(unspecified);
    let metrics = wire::find(&list, RTA_METRICS)
        .map(wire::attrs)
        .unwrap_or_default();
    Some(Route {
        dst: IpNet::new(dst_ip, dst_len).ok()?,
        gateway: wire::find(&list, RTA_GATEWAY).and_then(wire::ip_from),
        oif: wire::find(&list, RTA_OIF).map(|v| wire::u32_at(v, 0)),
        protocol,
        scope,
        table,
        onlink: flags & RTNH_F_ONLINK != 0,
        mtu: wire::find(&metrics, RTAX_MTU).map(|v| wire::u32_at(v, 0)),
        advmss: wire::find(&metrics, RTAX_ADVMSS).map(|v| wire::u32_at(v, 0)),
        priority: wire::find(&list, RTA_PRIORITY).map(|v| wire::u32_at(v, 0)),
    })
}

/// The parts of an `ndmsg` reply weft reads.
struct NdReply {
    family: u8,
    index: u32,
    state: u16,
    dst: Option<IpAddr>,
    mac: Option<[u8; 6]>,
}

fn parse_nd(payload: &[u8]) -> Option<NdReply> {
    if payload.len() < 12 {
        return None;
    }
    let list = wire::attrs(&payload[12..]);
    Some(NdReply {
        family: payload[0],
        index: wire::i32_at(payload, 4) as u32,
        state: wire::u16_at(payload, 8),
        dst: wire::find(&list, NDA_DST).and_then(wire::ip_from),
        mac: wire::find(&list, NDA_LLADDR).and_then(|m| <[u8; 6]>::try_from(m).ok()),
    })
}

fn route_msg(msg_type: u16, flags: u16, r: &Route) -> MsgBuilder {
    let family = wire::family_of(&r.dst.addr());
    let table_byte = u8::try_from(r.table).unwrap_or(0);
    let (protocol, scope, rtype) = if msg_type == RTM_DELROUTE {
        // Deletion matches on the protocol when one is given; scope "nowhere" matches any.
        (r.protocol, 255, RTN_UNICAST)
    } else {
        (r.protocol, r.scope, RTN_UNICAST)
    };
    let mut m = MsgBuilder::new(msg_type, flags)
        .rtmsg(
            family,
            r.dst.prefix_len(),
            table_byte,
            protocol,
            scope,
            rtype,
            if r.onlink { RTNH_F_ONLINK } else { 0 },
        )
        .u32(RTA_TABLE, r.table)
        .ip(RTA_DST, r.dst.network());
    if let Some(gw) = r.gateway {
        m = m.ip(RTA_GATEWAY, gw);
    }
    if let Some(oif) = r.oif {
        m = m.u32(RTA_OIF, oif);
    }
    if let Some(p) = r.priority {
        m = m.u32(RTA_PRIORITY, p);
    }
    if msg_type != RTM_DELROUTE && (r.mtu.is_some() || r.advmss.is_some()) {
        m = m.nest(RTA_METRICS);
        if let Some(mtu) = r.mtu {
            m = m.u32(RTAX_MTU, mtu);
        }
        if let Some(mss) = r.advmss {
            m = m.u32(RTAX_ADVMSS, mss);
        }
        m = m.end_nest();
    }
    m
}

impl Netlink for KernelNetlink {
    fn namespace(&self) -> NsHandle {
        NsHandle::Kernel(self.ns.clone())
    }

    fn links(&self) -> Result<Vec<Link>> {
        let msg = MsgBuilder::new(RTM_GETLINK, NLM_F_DUMP).ifinfomsg(AF_UNSPEC, 0, 0, 0);
        Ok(self
            .sock
            .dump(msg, "list links")?
            .iter()
            .filter_map(|p| parse_link(p))
            .collect())
    }

    fn link(&self, name: &str) -> Result<Option<Link>> {
        let msg = MsgBuilder::new(RTM_GETLINK, NLM_F_ACK)
            .ifinfomsg(AF_UNSPEC, 0, 0, 0)
            .str(IFLA_IFNAME, name);
        match self.sock.request(msg, "get link", name) {
            Ok(replies) => Ok(replies.iter().find_map(|p| parse_link(p))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn add_link(&self, spec: &LinkSpec) -> Result<()> {
        let up = if spec.up { IFF_UP } else { 0 };
        let mut m = MsgBuilder::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK)
            .ifinfomsg(AF_UNSPEC, 0, up, up)
            .str(IFLA_IFNAME, &spec.name);
        if let Some(mtu) = spec.mtu {
            m = m.u32(IFLA_MTU, mtu);
        }
        if let Some(mac) = spec.mac {
            m = m.attr(IFLA_ADDRESS, &mac);
        }
        if let Some(master) = spec.master {
            m = m.u32(IFLA_MASTER, master);
        }
        m = m.nest(IFLA_LINKINFO);
        m = match &spec.kind {
            LinkKind::Bridge => m.str(IFLA_INFO_KIND, "bridge"),
            LinkKind::Veth {
                peer_name,
                peer_ns,
                peer_mac,
            } => {
                // veth_open() fails with ENOTCONN until both ends are registered, so the
                // peer cannot come up inside the creating request; see below.
                let mut m = m
                    .str(IFLA_INFO_KIND, "veth")
                    .nest(IFLA_INFO_DATA)
                    .nest(VETH_INFO_PEER)
                    .raw(&wire::ifinfomsg_bytes(AF_UNSPEC, 0, 0, 0))
                    .str(IFLA_IFNAME, peer_name);
                if let Some(mtu) = spec.mtu {
                    m = m.u32(IFLA_MTU, mtu);
                }
                if let Some(mac) = peer_mac {
                    m = m.attr(IFLA_ADDRESS, mac);
                }
                match peer_ns {
                    Some(NsHandle::Kernel(ns)) => {
                        m = m.u32(IFLA_NET_NS_FD, ns.as_fd().as_raw_fd() as u32);
                    }
                    Some(NsHandle::Fake(_)) => {
                        return Err(Error::Unsupported(
                            "a fake namespace given to the kernel".into(),
                        ));
                    }
                    None => {}
                }
                m.end_nest().end_nest()
            }
            LinkKind::Vxlan {
                vni,
                local,
                port,
                underlay,
            } => {
                let mut m = m
                    .str(IFLA_INFO_KIND, "vxlan")
                    .nest(IFLA_INFO_DATA)
                    .u32(IFLA_VXLAN_ID, *vni);
                m = match local {
                    IpAddr::V4(_) => m.ip(IFLA_VXLAN_LOCAL, *local),
                    IpAddr::V6(_) => m.ip(IFLA_VXLAN_LOCAL6, *local),
                };
                // The port travels in network byte order.
                m = m
                    .attr(IFLA_VXLAN_PORT, &port.to_be_bytes())
                    .u8(IFLA_VXLAN_LEARNING, 0);
                if let Some(dev) = underlay {
                    m = m.u32(IFLA_VXLAN_LINK, *dev);
                }
                m.end_nest()
            }
        };
        self.ack(m.end_nest(), "create link", &spec.name)?;
        if let LinkKind::Veth {
            peer_name,
            peer_ns: None,
            ..
        } = &spec.kind
        {
            if spec.up {
                self.set_up(peer_name, true)?;
            }
        }
        Ok(())
    }

    fn delete_link(&self, name: &str) -> Result<()> {
        let index = self.link_index(name)?;
        let msg = MsgBuilder::new(RTM_DELLINK, NLM_F_ACK).ifinfomsg(AF_UNSPEC, index as i32, 0, 0);
        self.ack(msg, "delete link", name)
    }

    fn set_up(&self, name: &str, up: bool) -> Result<()> {
        let index = self.link_index(name)?;
        let flags = if up { IFF_UP } else { 0 };
        let msg = MsgBuilder::new(RTM_NEWLINK, NLM_F_ACK).ifinfomsg(
            AF_UNSPEC,
            index as i32,
            flags,
            IFF_UP,
        );
        self.ack(msg, if up { "set link up" } else { "set link down" }, name)
    }

    fn set_mtu(&self, name: &str, mtu: u32) -> Result<()> {
        self.set_link(name, "set mtu", |m| m.u32(IFLA_MTU, mtu))
    }

    fn set_master(&self, name: &str, master: Option<u32>) -> Result<()> {
        self.set_link(name, "set master", |m| {
            m.u32(IFLA_MASTER, master.unwrap_or(0))
        })
    }

    fn set_hairpin(&self, name: &str, on: bool) -> Result<()> {
        let index = self.link_index(name)?;
        let msg = MsgBuilder::new(RTM_SETLINK, NLM_F_ACK)
            .ifinfomsg(AF_BRIDGE, index as i32, 0, 0)
            .nest(IFLA_PROTINFO)
            .u8(IFLA_BRPORT_MODE, u8::from(on))
            .end_nest();
        self.ack(msg, "set hairpin", name)
    }

    fn addrs(&self) -> Result<Vec<Addr>> {
        let msg = MsgBuilder::new(RTM_GETADDR, NLM_F_DUMP).ifaddrmsg(AF_UNSPEC, 0, 0, 0, 0);
        Ok(self
            .sock
            .dump(msg, "list addresses")?
            .iter()
            .filter_map(|p| parse_addr(p))
            .collect())
    }

    fn add_addr(&self, index: u32, addr: IpNet) -> Result<()> {
        let ip = addr.addr();
        let mut m = MsgBuilder::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK)
            .ifaddrmsg(wire::family_of(&ip), addr.prefix_len(), 0, 0, index)
            .ip(IFA_LOCAL, ip)
            .ip(IFA_ADDRESS, ip);
        if ip.is_ipv6() {
            m = m.u32(IFA_FLAGS, IFA_F_NODAD);
        }
        self.ack(m, "add address", &addr.to_string())
    }

    fn del_addr(&self, index: u32, addr: IpNet) -> Result<()> {
        let ip = addr.addr();
        let m = MsgBuilder::new(RTM_DELADDR, NLM_F_ACK)
            .ifaddrmsg(wire::family_of(&ip), addr.prefix_len(), 0, 0, index)
            .ip(IFA_LOCAL, ip)
            .ip(IFA_ADDRESS, ip);
        self.ack(m, "delete address", &addr.to_string())
    }

    fn routes(&self) -> Result<Vec<Route>> {
        let msg = MsgBuilder::new(RTM_GETROUTE, NLM_F_DUMP).rtmsg(AF_UNSPEC, 0, 0, 0, 0, 0, 0);
        Ok(self
            .sock
            .dump(msg, "list routes")?
            .iter()
            .filter_map(|p| parse_route(p))
            .filter(|r| r.table == TABLE_MAIN)
            .collect())
    }

    fn add_route(&self, route: &Route) -> Result<()> {
        let m = route_msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, route);
        self.ack(m, "add route", &route.dst.to_string())
    }

    fn replace_route(&self, route: &Route) -> Result<()> {
        let m = route_msg(
            RTM_NEWROUTE,
            NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK,
            route,
        );
        self.ack(m, "replace route", &route.dst.to_string())
    }

    fn del_route(&self, route: &Route) -> Result<()> {
        let m = route_msg(RTM_DELROUTE, NLM_F_ACK, route);
        self.ack(m, "delete route", &route.dst.to_string())
    }

    fn neighs(&self) -> Result<Vec<Neigh>> {
        let mut out = Vec::new();
        for family in [AF_INET, AF_INET6] {
            let msg = MsgBuilder::new(RTM_GETNEIGH, NLM_F_DUMP).ndmsg(family, 0, 0, 0);
            for p in self.sock.dump(msg, "list neighbours")? {
                if let Some(NdReply {
                    index,
                    state,
                    dst: Some(ip),
                    mac: Some(mac),
                    ..
                }) = parse_nd(&p)
                {
                    out.push(Neigh {
                        index,
                        ip,
                        mac,
                        permanent: state & NUD_PERMANENT != 0,
                    });
                }
            }
        }
        Ok(out)
    }

    fn set_neigh(&self, n: &Neigh) -> Result<()> {
        let state = if n.permanent {
            NUD_PERMANENT
        } else {
            0x02 /* NUD_REACHABLE */
        };
        let m = MsgBuilder::new(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK)
            .ndmsg(wire::family_of(&n.ip), n.index as i32, state, 0)
            .ip(NDA_DST, n.ip)
            .attr(NDA_LLADDR, &n.mac);
        self.ack(m, "set neighbour", &n.ip.to_string())
    }

    fn del_neigh(&self, n: &Neigh) -> Result<()> {
        let m = MsgBuilder::new(RTM_DELNEIGH, NLM_F_ACK)
            .ndmsg(wire::family_of(&n.ip), n.index as i32, 0, 0)
            .ip(NDA_DST, n.ip);
        self.ack(m, "delete neighbour", &n.ip.to_string())
    }

    fn fdb(&self) -> Result<Vec<Fdb>> {
        let msg = MsgBuilder::new(RTM_GETNEIGH, NLM_F_DUMP).ndmsg(AF_BRIDGE, 0, 0, 0);
        Ok(self
            .sock
            .dump(msg, "list fdb")?
            .iter()
            .filter_map(|p| match parse_nd(p) {
                Some(NdReply {
                    family: AF_BRIDGE,
                    index,
                    dst: Some(dst),
                    mac: Some(mac),
                    ..
                }) => Some(Fdb { index, mac, dst }),
                _ => None,
            })
            .collect())
    }

    fn set_fdb(&self, f: &Fdb) -> Result<()> {
        let m = MsgBuilder::new(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK)
            .ndmsg(AF_BRIDGE, f.index as i32, NUD_PERMANENT, NTF_SELF)
            .attr(NDA_LLADDR, &f.mac)
            .ip(NDA_DST, f.dst);
        self.ack(m, "set fdb entry", &weft_model::cidr::format_mac(&f.mac))
    }

    fn del_fdb(&self, f: &Fdb) -> Result<()> {
        let m = MsgBuilder::new(RTM_DELNEIGH, NLM_F_ACK)
            .ndmsg(AF_BRIDGE, f.index as i32, 0, NTF_SELF)
            .attr(NDA_LLADDR, &f.mac)
            .ip(NDA_DST, f.dst);
        self.ack(m, "delete fdb entry", &weft_model::cidr::format_mac(&f.mac))
    }

    fn sysctl(&self, key: &str) -> Result<String> {
        let path = sysctl_path(key)?;
        let read = || fs::read_to_string(&path).map(|s| s.trim().to_string());
        let res = if self.is_current {
            read()
        } else {
            self.ns.run(read)?
        };
        res.map_err(|source| Error::Sysctl {
            key: key.to_string(),
            source,
        })
    }

    fn set_sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = sysctl_path(key)?;
        let write = || fs::write(&path, value);
        let res = if self.is_current {
            write()
        } else {
            self.ns.run(write)?
        };
        res.map_err(|source| Error::Sysctl {
            key: key.to_string(),
            source,
        })
    }
}

/// `/proc/sys/<key>`, refusing keys that could escape `/proc/sys`.
fn sysctl_path(key: &str) -> Result<std::path::PathBuf> {
    if key.is_empty() || key.starts_with('/') || key.split('/').any(|p| p == ".." || p.is_empty()) {
        return Err(Error::Unsupported(format!("sysctl key {key:?}")));
    }
    Ok(std::path::Path::new("/proc/sys").join(key))
}
