//! Pure computation of the desired routing state of one node, and the plan that moves the
//! kernel from what it has to that state.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use weft_model::cidr;

use crate::Error;

/// Name of weft's VXLAN device.
pub const VXLAN_DEVICE: &str = "weft.vxlan";
/// VXLAN network identifier weft uses.
pub const VXLAN_VNI: u32 = 1;
/// UDP port of weft's VXLAN (the Linux/flannel default, not IANA's 4789, so weft can run
/// next to another overlay using 4789).
pub const VXLAN_PORT: u16 = 8472;
/// Bytes of VXLAN encapsulation overhead (outer IPv4 + UDP + VXLAN + inner Ethernet).
pub const VXLAN_OVERHEAD: u32 = 50;

/// Cross-node transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Plain routes via each node's address.
    HostGw,
    /// VXLAN overlay.
    Vxlan,
}

impl std::str::FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "host-gw" => Ok(Transport::HostGw),
            "vxlan" => Ok(Transport::Vxlan),
            other => Err(format!("unknown network {other:?}: use vxlan or host-gw")),
        }
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::HostGw => "host-gw",
            Transport::Vxlan => "vxlan",
        })
    }
}

/// What routing needs to know about a node (from a Node object or the lab's state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// The node's address on the node network (`InternalIP`).
    pub ip: IpAddr,
    /// The node's pod CIDRs (`spec.podCIDRs`).
    pub pod_cidrs: Vec<IpNet>,
}

/// Input of [`compute`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutesSnapshot {
    /// All nodes of the cluster, this one included.
    pub nodes: Vec<NodeInfo>,
    /// The node being programmed.
    pub node: String,
    /// The interface facing the node network (host-gw routes leave through it).
    pub uplink: String,
    /// The transport.
    pub transport: Transport,
    /// MTU of the node network (the VXLAN device gets this minus the overhead).
    pub uplink_mtu: u32,
}

/// The VXLAN device a node must have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredVxlan {
    /// Device name.
    pub name: String,
    /// VNI.
    pub vni: u32,
    /// Local VTEP (the node IP).
    pub local: IpAddr,
    /// UDP port.
    pub port: u16,
    /// Device MAC.
    pub mac: [u8; 6],
    /// Device MTU.
    pub mtu: u32,
    /// The node's VTEP address on the device (`/32` or `/128`).
    pub address: IpNet,
}

/// A route weft wants, by device name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DesiredRoute {
    /// Destination (a remote pod CIDR).
    pub dst: IpNet,
    /// Next hop.
    pub via: IpAddr,
    /// Output device.
    pub dev: String,
    /// Next hop on-link without an address covering it (VXLAN).
    pub onlink: bool,
}

/// A permanent neighbour entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DesiredNeigh {
    /// Device.
    pub dev: String,
    /// Remote VTEP IP.
    pub ip: IpAddr,
    /// Remote VTEP MAC.
    pub mac: [u8; 6],
}

/// An FDB entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DesiredFdb {
    /// Device.
    pub dev: String,
    /// Remote VTEP MAC.
    pub mac: [u8; 6],
    /// Remote node IP.
    pub dst: IpAddr,
}

/// Everything the node's routing should hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DesiredRoutes {
    /// The VXLAN device, with the vxlan transport.
    pub vxlan: Option<DesiredVxlan>,
    /// Routes to remote pod CIDRs.
    pub routes: BTreeSet<DesiredRoute>,
    /// Neighbour entries.
    pub neighs: BTreeSet<DesiredNeigh>,
    /// FDB entries.
    pub fdb: BTreeSet<DesiredFdb>,
}

/// What weft's routing currently holds on the node (observed from the kernel).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppliedRoutes {
    /// The VXLAN device as it exists (same shape as desired), if any.
    pub vxlan: Option<DesiredVxlan>,
    /// weft-owned routes into pod CIDRs.
    pub routes: BTreeSet<DesiredRoute>,
    /// Permanent neighbours on the VXLAN device.
    pub neighs: BTreeSet<DesiredNeigh>,
    /// FDB remotes on the VXLAN device.
    pub fdb: BTreeSet<DesiredFdb>,
}

/// One step of a [`RoutesPlan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum RouteOp {
    /// Delete the VXLAN device (wrong parameters or no longer wanted).
    DeleteVxlan {
        /// Device name.
        name: String,
    },
    /// Create the VXLAN device and its address.
    CreateVxlan(DesiredVxlan),
    /// Delete a route.
    DelRoute(DesiredRoute),
    /// Delete a neighbour entry.
    DelNeigh(DesiredNeigh),
    /// Delete an FDB entry.
    DelFdb(DesiredFdb),
    /// Add an FDB entry.
    AddFdb(DesiredFdb),
    /// Add a neighbour entry.
    AddNeigh(DesiredNeigh),
    /// Add (replace) a route.
    AddRoute(DesiredRoute),
}

/// An ordered list of operations: removals first, then device, FDB, neighbours, routes
/// (a route's next hop must resolve before traffic uses it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoutesPlan {
    /// The operations in order.
    pub ops: Vec<RouteOp>,
}

/// The VTEP IP of a node: the network address of its first pod CIDR of `family`.
fn vtep_ip(cidrs: &[IpNet], v4: bool) -> Option<IpAddr> {
    cidrs
        .iter()
        .find(|c| c.addr().is_ipv4() == v4)
        .map(|c| c.network())
}

/// The VTEP MAC of a node, derived from its IP.
pub fn vtep_mac(node_ip: IpAddr) -> [u8; 6] {
    match node_ip {
        IpAddr::V4(v4) => cidr::mac_from_ipv4(v4),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            [0x0a, 0x58, o[12], o[13], o[14], o[15]]
        }
    }
}

/// Computes the desired routing of `snapshot.node`.
pub fn compute(snapshot: &RoutesSnapshot) -> Result<DesiredRoutes, Error> {
    let me = snapshot
        .nodes
        .iter()
        .find(|n| n.name == snapshot.node)
        .ok_or_else(|| Error::UnknownNode(snapshot.node.clone()))?;
    let v4 = me.ip.is_ipv4();
    let mut desired = DesiredRoutes::default();
    if snapshot.transport == Transport::Vxlan {
        let vtep = vtep_ip(&me.pod_cidrs, v4).ok_or_else(|| Error::BadNode {
            node: me.name.clone(),
            reason: "no pod CIDR of the node network's family".into(),
        })?;
        desired.vxlan = Some(DesiredVxlan {
            name: VXLAN_DEVICE.into(),
            vni: VXLAN_VNI,
            local: me.ip,
            port: VXLAN_PORT,
            mac: vtep_mac(me.ip),
            mtu: snapshot.uplink_mtu.saturating_sub(VXLAN_OVERHEAD),
            address: IpNet::from(vtep),
        });
    }
    for node in snapshot.nodes.iter().filter(|n| n.name != me.name) {
        if node.ip.is_ipv4() != v4 {
            return Err(Error::BadNode {
                node: node.name.clone(),
                reason: "address family differs from this node's".into(),
            });
        }
        for pod_cidr in node.pod_cidrs.iter().filter(|c| c.addr().is_ipv4() == v4) {
            match snapshot.transport {
                Transport::HostGw => {
                    desired.routes.insert(DesiredRoute {
                        dst: pod_cidr.trunc(),
                        via: node.ip,
                        dev: snapshot.uplink.clone(),
                        onlink: false,
                    });
                }
                Transport::Vxlan => {
                    let remote_vtep = pod_cidr.network();
                    let mac = vtep_mac(node.ip);
                    desired.routes.insert(DesiredRoute {
                        dst: pod_cidr.trunc(),
                        via: remote_vtep,
                        dev: VXLAN_DEVICE.into(),
                        onlink: true,
                    });
                    desired.neighs.insert(DesiredNeigh {
                        dev: VXLAN_DEVICE.into(),
                        ip: remote_vtep,
                        mac,
                    });
                    desired.fdb.insert(DesiredFdb {
                        dev: VXLAN_DEVICE.into(),
                        mac,
                        dst: node.ip,
                    });
                }
            }
        }
    }
    Ok(desired)
}

/// Plans the operations that turn `applied` into `desired`. Entries weft owns but no
/// longer wants are removed; a VXLAN device with different parameters is recreated.
pub fn plan(desired: &DesiredRoutes, applied: &AppliedRoutes) -> RoutesPlan {
    let mut ops = Vec::new();
    let recreate =
        desired.vxlan.is_some() && applied.vxlan.is_some() && desired.vxlan != applied.vxlan;
    if let Some(old) = &applied.vxlan {
        if desired.vxlan.is_none() || recreate {
            ops.push(RouteOp::DeleteVxlan {
                name: old.name.clone(),
            });
        }
    }
    // Entries on a deleted device vanish with it.
    let gone = |dev: &str| {
        applied.vxlan.as_ref().is_some_and(|v| v.name == dev)
            && (recreate || desired.vxlan.is_none())
    };
    ops.extend(
        applied
            .routes
            .difference(&desired.routes)
            .filter(|r| !gone(&r.dev))
            .cloned()
            .map(RouteOp::DelRoute),
    );
    ops.extend(
        applied
            .neighs
            .difference(&desired.neighs)
            .filter(|n| !gone(&n.dev))
            .cloned()
            .map(RouteOp::DelNeigh),
    );
    ops.extend(
        applied
            .fdb
            .difference(&desired.fdb)
            .filter(|f| !gone(&f.dev))
            .cloned()
            .map(RouteOp::DelFdb),
    );
    if let Some(v) = &desired.vxlan {
        if applied.vxlan.is_none() || recreate {
            ops.push(RouteOp::CreateVxlan(v.clone()));
        }
    }
    let have = |set_has: bool| set_has && !recreate;
    ops.extend(
        desired
            .fdb
            .iter()
            .filter(|f| !have(applied.fdb.contains(*f)))
            .cloned()
            .map(RouteOp::AddFdb),
    );
    ops.extend(
        desired
            .neighs
            .iter()
            .filter(|n| !have(applied.neighs.contains(*n)))
            .cloned()
            .map(RouteOp::AddNeigh),
    );
    ops.extend(
        desired
            .routes
            .iter()
            .filter(|r| !have(applied.routes.contains(*r)))
            .cloned()
            .map(RouteOp::AddRoute),
    );
    RoutesPlan { ops }
}
