//! [`FakeNetlink`]: an in-memory model of the kernel objects weft programs, faithful in
//! the ways weft's logic depends on — `EEXIST`/`ENODEV`/`ESRCH` where the kernel returns
//! them, veth peers living in another namespace and dying with their partner, addresses,
//! routes, neighbours and FDB entries disappearing with their link, connected routes
//! derived from addresses on up links, gateways that must be reachable — plus error
//! injection, so rollback paths can be tested without a kernel.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use ipnet::IpNet;

use crate::error::Error;
use crate::types::*;
use crate::{Netlink, Result};

/// Several fake namespaces that can reference each other (veth peers).
#[derive(Debug, Clone, Default)]
pub struct FakeWorld {
    state: Arc<Mutex<World>>,
}

#[derive(Debug, Default)]
struct World {
    next_ns: u64,
    namespaces: BTreeMap<u64, NsState>,
    /// Operation name → errno to return from its next call.
    faults: BTreeMap<String, i32>,
}

#[derive(Debug, Default)]
struct NsState {
    next_index: u32,
    links: BTreeMap<u32, FakeLink>,
    addrs: BTreeSet<Addr>,
    routes: BTreeMap<(u32, IpNet, Option<u32>), Route>,
    neighs: BTreeMap<(u32, IpAddr), Neigh>,
    fdb: BTreeSet<Fdb>,
    sysctls: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct FakeLink {
    link: Link,
    hairpin: bool,
    /// (namespace, index) of a veth peer.
    peer: Option<(u64, u32)>,
}

fn err(op: &'static str, target: &str, errno: i32) -> Error {
    Error::from_errno(op, target, errno)
}

impl FakeWorld {
    /// An empty world.
    pub fn new() -> FakeWorld {
        FakeWorld::default()
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a namespace holding only `lo` (down), and returns a handle on it.
    pub fn new_ns(&self) -> FakeNetlink {
        let mut w = self.lock();
        let id = w.next_ns;
        w.next_ns += 1;
        let mut ns = NsState {
            next_index: 2,
            ..Default::default()
        };
        ns.links.insert(
            1,
            FakeLink {
                link: Link {
                    index: 1,
                    name: "lo".into(),
                    kind: None,
                    mtu: 65536,
                    mac: None,
                    master: None,
                    up: false,
                    oper_up: false,
                    vxlan: None,
                },
                hairpin: false,
                peer: None,
            },
        );
        w.namespaces.insert(id, ns);
        FakeNetlink {
            world: self.clone(),
            ns: id,
        }
    }

    /// Deletes a namespace: its links die, and so do the other ends of its veth pairs.
    pub fn delete_ns(&self, id: u64) {
        let mut w = self.lock();
        if let Some(ns) = w.namespaces.remove(&id) {
            for l in ns.links.values() {
                if let Some((pns, pidx)) = l.peer {
                    if let Some(peer_ns) = w.namespaces.get_mut(&pns) {
                        peer_ns.remove_link(pidx);
                    }
                }
            }
        }
    }

    /// Whether namespace `id` exists.
    pub fn has_ns(&self, id: u64) -> bool {
        self.lock().namespaces.contains_key(&id)
    }

    /// Makes the next call of operation `op` (a [`Netlink`] method name such as
    /// `"add_addr"`) fail with `errno`.
    pub fn fail_next(&self, op: &str, errno: i32) {
        self.lock().faults.insert(op.to_string(), errno);
    }
}

impl NsState {
    fn by_name(&self, name: &str) -> Option<&FakeLink> {
        self.links.values().find(|l| l.link.name == name)
    }

    fn index_of(&self, name: &str) -> Option<u32> {
        self.by_name(name).map(|l| l.link.index)
    }

    fn remove_link(&mut self, index: u32) {
        self.links.remove(&index);
        self.addrs.retain(|a| a.index != index);
        self.routes.retain(|_, r| r.oif != Some(index));
        self.neighs.retain(|_, n| n.index != index);
        self.fdb.retain(|f| f.index != index);
        for l in self.links.values_mut() {
            if l.link.master == Some(index) {
                l.link.master = None;
                l.hairpin = false;
            }
        }
    }

    /// Connected routes the kernel derives from addresses on up links.
    fn connected(&self) -> Vec<Route> {
        self.addrs
            .iter()
            .filter(|a| self.links.get(&a.index).is_some_and(|l| l.link.up))
            .filter(|a| a.addr.prefix_len() < a.addr.max_prefix_len())
            .map(|a| Route {
                dst: a.addr.trunc(),
                gateway: None,
                oif: Some(a.index),
                protocol: RTPROT_KERNEL,
                scope: SCOPE_LINK,
                table: TABLE_MAIN,
                onlink: false,
                mtu: None,
                advmss: None,
                priority: None,
            })
            .collect()
    }

    fn refresh_oper(&mut self, peers_up: &BTreeMap<u32, bool>) {
        for l in self.links.values_mut() {
            let peer_ok = peers_up.get(&l.link.index).copied().unwrap_or(true);
            l.link.oper_up = l.link.up && peer_ok && l.link.kind.is_some();
        }
    }
}

/// A handle on one fake namespace.
#[derive(Debug, Clone)]
pub struct FakeNetlink {
    world: FakeWorld,
    ns: u64,
}

impl FakeNetlink {
    /// The namespace id inside its world.
    pub fn id(&self) -> u64 {
        self.ns
    }

    /// The world this namespace belongs to.
    pub fn world(&self) -> &FakeWorld {
        &self.world
    }

    /// Hairpin state of a bridge port (inspection for tests).
    pub fn hairpin(&self, name: &str) -> Option<bool> {
        let w = self.world.lock();
        w.namespaces.get(&self.ns)?.by_name(name).map(|l| l.hairpin)
    }

    /// Runs `f` on this namespace's state, after consuming an injected fault for `op`.
    fn with<T>(
        &self,
        op: &'static str,
        target: &str,
        f: impl FnOnce(&mut World, u64) -> Result<T>,
    ) -> Result<T> {
        let mut w = self.world.lock();
        if let Some(errno) = w.faults.remove(op) {
            return Err(err(op, target, errno));
        }
        if !w.namespaces.contains_key(&self.ns) {
            return Err(err(op, "namespace", libc::ENOENT));
        }
        f(&mut w, self.ns)
    }

    fn with_ns<T>(
        &self,
        op: &'static str,
        target: &str,
        f: impl FnOnce(&mut NsState) -> Result<T>,
    ) -> Result<T> {
        self.with(op, target, |w, id| match w.namespaces.get_mut(&id) {
            Some(ns) => f(ns),
            None => Err(err(op, "namespace", libc::ENOENT)),
        })
    }
}

fn fake_mac(ns: u64, index: u32) -> [u8; 6] {
    let i = index.to_be_bytes();
    [0x02, ns as u8, i[0], i[1], i[2], i[3]]
}

fn new_link(
    ns: u64,
    index: u32,
    name: &str,
    kind: &str,
    spec_mtu: Option<u32>,
    mac: Option<[u8; 6]>,
    up: bool,
) -> FakeLink {
    FakeLink {
        link: Link {
            index,
            name: name.to_string(),
            kind: Some(kind.to_string()),
            mtu: spec_mtu.unwrap_or(1500),
            mac: Some(mac.unwrap_or_else(|| fake_mac(ns, index))),
            master: None,
            up,
            oper_up: false,
            vxlan: None,
        },
        hairpin: false,
        peer: None,
    }
}

fn update_oper(w: &mut World) {
    let mut peer_up: BTreeMap<(u64, u32), bool> = BTreeMap::new();
    for (id, ns) in &w.namespaces {
        for l in ns.links.values() {
            if let Some(p) = l.peer {
                let up = w
                    .namespaces
                    .get(&p.0)
                    .and_then(|n| n.links.get(&p.1))
                    .is_some_and(|pl| pl.link.up);
                peer_up.insert((*id, l.link.index), up);
            }
        }
    }
    for (id, ns) in w.namespaces.iter_mut() {
        let local: BTreeMap<u32, bool> = peer_up
            .iter()
            .filter(|((n, _), _)| n == id)
            .map(|((_, i), up)| (*i, *up))
            .collect();
        ns.refresh_oper(&local);
    }
}

fn valid_ifname(name: &str) -> bool {
    !name.is_empty() && name.len() <= 15 && !name.contains(['/', ':', ' '])
}

impl Netlink for FakeNetlink {
    fn namespace(&self) -> NsHandle {
        NsHandle::Fake(self.ns)
    }

    fn links(&self) -> Result<Vec<Link>> {
        self.with_ns("links", "", |ns| {
            Ok(ns.links.values().map(|l| l.link.clone()).collect())
        })
    }

    fn link(&self, name: &str) -> Result<Option<Link>> {
        self.with_ns("link", name, |ns| {
            Ok(ns.by_name(name).map(|l| l.link.clone()))
        })
    }

    fn add_link(&self, spec: &LinkSpec) -> Result<()> {
        const OP: &str = "add_link";
        let name = spec.name.as_str();
        self.with(OP, name, |w, id| {
            if !valid_ifname(name) {
                return Err(err(OP, name, libc::EINVAL));
            }
            let ns = w
                .namespaces
                .get(&id)
                .ok_or_else(|| err(OP, name, libc::ENOENT))?;
            if ns.by_name(name).is_some() {
                return Err(err(OP, name, libc::EEXIST));
            }
            if let Some(m) = spec.master {
                if ns.links.get(&m).and_then(|l| l.link.kind.as_deref()) != Some("bridge") {
                    return Err(err(OP, name, libc::ENODEV));
                }
            }
            let kind = match &spec.kind {
                LinkKind::Bridge => "bridge",
                LinkKind::Veth { .. } => "veth",
                LinkKind::Vxlan { .. } => "vxlan",
            };
            let index = ns.next_index;
            let mut link = new_link(id, index, name, kind, spec.mtu, spec.mac, spec.up);
            link.link.master = spec.master;
            if let LinkKind::Vxlan {
                vni, local, port, ..
            } = &spec.kind
            {
                link.link.vxlan = Some(VxlanInfo {
                    vni: *vni,
                    local: Some(*local),
                    port: *port,
                });
            }
            if let LinkKind::Veth {
                peer_name,
                peer_ns,
                peer_mac,
            } = &spec.kind
            {
                let pid = match peer_ns {
                    None => id,
                    Some(NsHandle::Fake(p)) => *p,
                    Some(NsHandle::Kernel(_)) => {
                        return Err(Error::Unsupported(
                            "a kernel namespace given to the fake".into(),
                        ));
                    }
                };
                let pns = w
                    .namespaces
                    .get_mut(&pid)
                    .ok_or_else(|| err(OP, peer_name, libc::ENOENT))?;
                if !valid_ifname(peer_name) {
                    return Err(err(OP, peer_name, libc::EINVAL));
                }
                if pns.by_name(peer_name).is_some() || (pid == id && peer_name == name) {
                    return Err(err(OP, peer_name, libc::EEXIST));
                }
                // In the same namespace the peer takes the index after ours.
                let pidx = if pid == id { index + 1 } else { pns.next_index };
                // As in the kernel, a peer in another namespace starts down.
                let mut peer = new_link(
                    pid,
                    pidx,
                    peer_name,
                    "veth",
                    spec.mtu,
                    *peer_mac,
                    spec.up && pid == id,
                );
                peer.peer = Some((id, index));
                link.peer = Some((pid, pidx));
                pns.links.insert(pidx, peer);
                pns.next_index = pns.next_index.max(pidx + 1);
            }
            let ns = w
                .namespaces
                .get_mut(&id)
                .ok_or_else(|| err(OP, name, libc::ENOENT))?;
            ns.links.insert(index, link);
            ns.next_index = ns.next_index.max(index + 1);
            update_oper(w);
            Ok(())
        })
    }

    fn delete_link(&self, name: &str) -> Result<()> {
        self.with("delete_link", name, |w, id| {
            let ns = w
                .namespaces
                .get_mut(&id)
                .ok_or_else(|| err("delete_link", name, libc::ENOENT))?;
            let Some(l) = ns.by_name(name).cloned() else {
                return Err(Error::LinkNotFound(name.to_string()));
            };
            ns.remove_link(l.link.index);
            if let Some((pns, pidx)) = l.peer {
                if let Some(p) = w.namespaces.get_mut(&pns) {
                    p.remove_link(pidx);
                }
            }
            update_oper(w);
            Ok(())
        })
    }

    fn set_up(&self, name: &str, up: bool) -> Result<()> {
        self.with("set_up", name, |w, id| {
            let ns = w
                .namespaces
                .get_mut(&id)
                .ok_or_else(|| err("set_up", name, libc::ENOENT))?;
            let index = ns
                .index_of(name)
                .ok_or_else(|| Error::LinkNotFound(name.to_string()))?;
            if let Some(l) = ns.links.get_mut(&index) {
                l.link.up = up;
            }
            update_oper(w);
            Ok(())
        })
    }

    fn set_mtu(&self, name: &str, mtu: u32) -> Result<()> {
        self.with_ns("set_mtu", name, |ns| {
            let index = ns
                .index_of(name)
                .ok_or_else(|| Error::LinkNotFound(name.to_string()))?;
            if !(68..=65535).contains(&mtu) {
                return Err(err("set_mtu", name, libc::EINVAL));
            }
            if let Some(l) = ns.links.get_mut(&index) {
                l.link.mtu = mtu;
            }
            Ok(())
        })
    }

    fn set_master(&self, name: &str, master: Option<u32>) -> Result<()> {
        self.with_ns("set_master", name, |ns| {
            let index = ns
                .index_of(name)
                .ok_or_else(|| Error::LinkNotFound(name.to_string()))?;
            if let Some(m) = master {
                if ns.links.get(&m).and_then(|l| l.link.kind.as_deref()) != Some("bridge") {
                    return Err(err("set_master", name, libc::EINVAL));
                }
            }
            if let Some(l) = ns.links.get_mut(&index) {
                l.link.master = master;
            }
            Ok(())
        })
    }

    fn set_hairpin(&self, name: &str, on: bool) -> Result<()> {
        self.with_ns("set_hairpin", name, |ns| {
            let index = ns
                .index_of(name)
                .ok_or_else(|| Error::LinkNotFound(name.to_string()))?;
            let l = ns
                .links
                .get_mut(&index)
                .ok_or_else(|| Error::LinkNotFound(name.to_string()))?;
            if l.link.master.is_none() {
                return Err(err("set_hairpin", name, libc::EOPNOTSUPP));
            }
            l.hairpin = on;
            Ok(())
        })
    }

    fn addrs(&self) -> Result<Vec<Addr>> {
        self.with_ns("addrs", "", |ns| Ok(ns.addrs.iter().copied().collect()))
    }

    fn add_addr(&self, index: u32, addr: IpNet) -> Result<()> {
        self.with_ns("add_addr", &addr.to_string(), |ns| {
            if !ns.links.contains_key(&index) {
                return Err(err("add_addr", &addr.to_string(), libc::ENODEV));
            }
            if ns
                .addrs
                .iter()
                .any(|a| a.index == index && a.addr.addr() == addr.addr())
            {
                return Err(err("add_addr", &addr.to_string(), libc::EEXIST));
            }
            ns.addrs.insert(Addr { index, addr });
            Ok(())
        })
    }

    fn del_addr(&self, index: u32, addr: IpNet) -> Result<()> {
        self.with_ns("del_addr", &addr.to_string(), |ns| {
            if ns.addrs.remove(&Addr { index, addr }) {
                Ok(())
            } else {
                Err(err("del_addr", &addr.to_string(), libc::EADDRNOTAVAIL))
            }
        })
    }

    fn routes(&self) -> Result<Vec<Route>> {
        self.with_ns("routes", "", |ns| {
            let mut all = ns.connected();
            all.extend(ns.routes.values().copied());
            all.sort();
            Ok(all)
        })
    }

    fn add_route(&self, route: &Route) -> Result<()> {
        self.insert_route("add_route", route, false)
    }

    fn replace_route(&self, route: &Route) -> Result<()> {
        self.insert_route("replace_route", route, true)
    }

    fn del_route(&self, route: &Route) -> Result<()> {
        self.with_ns("del_route", &route.dst.to_string(), |ns| {
            match ns.routes.get(&route.key()) {
                Some(r) if route.protocol == 0 || r.protocol == route.protocol => {
                    ns.routes.remove(&route.key());
                    Ok(())
                }
                _ => Err(err("del_route", &route.dst.to_string(), libc::ESRCH)),
            }
        })
    }

    fn neighs(&self) -> Result<Vec<Neigh>> {
        self.with_ns("neighs", "", |ns| Ok(ns.neighs.values().copied().collect()))
    }

    fn set_neigh(&self, n: &Neigh) -> Result<()> {
        self.with_ns("set_neigh", &n.ip.to_string(), |ns| {
            if !ns.links.contains_key(&n.index) {
                return Err(err("set_neigh", &n.ip.to_string(), libc::ENODEV));
            }
            ns.neighs.insert((n.index, n.ip), *n);
            Ok(())
        })
    }

    fn del_neigh(&self, n: &Neigh) -> Result<()> {
        self.with_ns("del_neigh", &n.ip.to_string(), |ns| {
            ns.neighs
                .remove(&(n.index, n.ip))
                .map(|_| ())
                .ok_or_else(|| err("del_neigh", &n.ip.to_string(), libc::ENOENT))
        })
    }

    fn fdb(&self) -> Result<Vec<Fdb>> {
        self.with_ns("fdb", "", |ns| Ok(ns.fdb.iter().copied().collect()))
    }

    fn set_fdb(&self, f: &Fdb) -> Result<()> {
        self.with_ns("set_fdb", "fdb", |ns| {
            if !ns.links.contains_key(&f.index) {
                return Err(err("set_fdb", "fdb", libc::ENODEV));
            }
            // Replace semantics: one remote per (device, MAC).
            ns.fdb.retain(|e| !(e.index == f.index && e.mac == f.mac));
            ns.fdb.insert(*f);
            Ok(())
        })
    }

    fn del_fdb(&self, f: &Fdb) -> Result<()> {
        self.with_ns("del_fdb", "fdb", |ns| {
            if ns.fdb.remove(f) {
                Ok(())
            } else {
                Err(err("del_fdb", "fdb", libc::ENOENT))
            }
        })
    }

    fn sysctl(&self, key: &str) -> Result<String> {
        self.with_ns("sysctl", key, |ns| {
            Ok(ns.sysctls.get(key).cloned().unwrap_or_else(|| "0".into()))
        })
    }

    fn set_sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.with_ns("set_sysctl", key, |ns| {
            ns.sysctls.insert(key.to_string(), value.to_string());
            Ok(())
        })
    }
}

impl FakeNetlink {
    fn insert_route(&self, op: &'static str, route: &Route, replace: bool) -> Result<()> {
        let target = route.dst.to_string();
        self.with_ns(op, &target, |ns| {
            if let Some(oif) = route.oif {
                if !ns.links.contains_key(&oif) {
                    return Err(err(op, &target, libc::ENODEV));
                }
            }
            if let Some(gw) = route.gateway {
                let reachable = ns
                    .connected()
                    .iter()
                    .any(|c| c.dst.contains(&gw) && (route.oif.is_none() || route.oif == c.oif));
                if !reachable && !route.onlink {
                    return Err(err(op, &target, libc::ENETUNREACH));
                }
            }
            if !replace && ns.routes.contains_key(&route.key()) {
                return Err(err(op, &target, libc::EEXIST));
            }
            ns.routes.insert(route.key(), *route);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;
