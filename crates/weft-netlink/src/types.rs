//! Plain data describing kernel network objects, shared by the kernel implementation and
//! the fake.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// weft's route protocol number (`rtm_protocol`). Routes weft installs carry it, so a
/// resync can delete exactly the routes weft owns and never touch anyone else's.
/// 87 (`'W'`) is not registered in iproute2's `rt_protos`.
pub const RTPROT_WEFT: u8 = 87;
/// Routes made by the kernel itself (connected routes).
pub const RTPROT_KERNEL: u8 = 2;
/// Route scope "universe" (via a gateway).
pub const SCOPE_UNIVERSE: u8 = 0;
/// Route scope "link" (directly connected).
pub const SCOPE_LINK: u8 = 253;
/// Route scope "host".
pub const SCOPE_HOST: u8 = 254;
/// The main routing table.
pub const TABLE_MAIN: u32 = 254;

/// A link (network interface) as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// `IFLA_INFO_KIND` (`bridge`, `veth`, `vxlan`, …); `None` for `lo` and physical devices.
    pub kind: Option<String>,
    /// MTU.
    pub mtu: u32,
    /// Hardware address.
    pub mac: Option<[u8; 6]>,
    /// Index of the master device (bridge) if enslaved.
    pub master: Option<u32>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Operationally up (`IF_OPER_UP`).
    pub oper_up: bool,
    /// VXLAN parameters, for a VXLAN device.
    pub vxlan: Option<VxlanInfo>,
}

/// Parameters of an existing VXLAN device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VxlanInfo {
    /// VNI.
    pub vni: u32,
    /// Local VTEP address.
    pub local: Option<IpAddr>,
    /// UDP destination port.
    pub port: u16,
}

/// What kind of link to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    /// A Linux bridge.
    Bridge,
    /// A veth pair; the peer is created directly in `peer_ns` (if given), so it never
    /// appears in the creating namespace.
    Veth {
        /// Name of the peer end.
        peer_name: String,
        /// Namespace of the peer end (`None`: the same namespace).
        peer_ns: Option<NsHandle>,
        /// MAC of the peer end.
        peer_mac: Option<[u8; 6]>,
    },
    /// A VXLAN device in unicast mode (no multicast group, no learning): remote VTEPs
    /// come from FDB entries.
    Vxlan {
        /// VXLAN network identifier.
        vni: u32,
        /// Local VTEP address.
        local: IpAddr,
        /// UDP destination port.
        port: u16,
        /// Underlay device index.
        underlay: Option<u32>,
    },
}

/// Everything needed to create a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    /// Name of the new link.
    pub name: String,
    /// Its kind.
    pub kind: LinkKind,
    /// MTU (kernel default if `None`); for a veth, applied to both ends.
    pub mtu: Option<u32>,
    /// MAC address.
    pub mac: Option<[u8; 6]>,
    /// Bridge to attach to (index).
    pub master: Option<u32>,
    /// Bring it up on creation. A veth peer in the same namespace comes up too; a peer
    /// created in another namespace starts down (the kernel cannot open a veth end before
    /// the pair exists) and is brought up through that namespace's handle.
    pub up: bool,
}

/// A handle naming a namespace, for operations that place an object in another
/// namespace (a veth peer).
#[derive(Debug, Clone)]
pub enum NsHandle {
    /// A real namespace.
    Kernel(std::sync::Arc<crate::netns::Netns>),
    /// A namespace of a [`crate::fake::FakeWorld`].
    Fake(u64),
}

impl PartialEq for NsHandle {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (NsHandle::Kernel(a), NsHandle::Kernel(b)) => {
                matches!((a.id(), b.id()), (Ok(x), Ok(y)) if x == y)
            }
            (NsHandle::Fake(a), NsHandle::Fake(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for NsHandle {}

/// An interface address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Addr {
    /// Interface index.
    pub index: u32,
    /// Address with prefix length.
    pub addr: IpNet,
}

/// A route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Route {
    /// Destination network.
    pub dst: IpNet,
    /// Next hop.
    pub gateway: Option<IpAddr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// `rtm_protocol`: [`RTPROT_WEFT`] for weft's routes.
    pub protocol: u8,
    /// `rtm_scope`.
    pub scope: u8,
    /// Routing table.
    pub table: u32,
    /// Next hop is on-link even if no address covers it (VXLAN routes).
    pub onlink: bool,
    /// Path MTU.
    pub mtu: Option<u32>,
    /// Advertised MSS.
    pub advmss: Option<u32>,
    /// Metric.
    pub priority: Option<u32>,
}

impl Route {
    /// A weft-owned route in the main table: scope link without a gateway, universe with.
    pub fn weft(dst: IpNet, gateway: Option<IpAddr>, oif: Option<u32>) -> Route {
        Route {
            dst,
            gateway,
            oif,
            protocol: RTPROT_WEFT,
            scope: if gateway.is_some() {
                SCOPE_UNIVERSE
            } else {
                SCOPE_LINK
            },
            table: TABLE_MAIN,
            onlink: false,
            mtu: None,
            advmss: None,
            priority: None,
        }
    }

    /// The fields that identify a route for replacement/deletion (table, dst, metric).
    pub fn key(&self) -> (u32, IpNet, Option<u32>) {
        (self.table, self.dst, self.priority)
    }
}

/// A neighbour (ARP/NDP) entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Neigh {
    /// Interface index.
    pub index: u32,
    /// Protocol address.
    pub ip: IpAddr,
    /// Link-layer address.
    pub mac: [u8; 6],
    /// Permanent (not subject to NUD).
    pub permanent: bool,
}

/// A bridge/VXLAN forwarding database entry: frames for `mac` go to `dst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Fdb {
    /// Interface index (the VXLAN device).
    pub index: u32,
    /// Destination MAC.
    pub mac: [u8; 6],
    /// Remote VTEP address.
    pub dst: IpAddr,
}
