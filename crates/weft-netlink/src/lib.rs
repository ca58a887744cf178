//! weft's kernel networking layer: the only code that touches links, addresses, routes,
//! neighbours, FDB entries, sysctls and network namespaces.
//!
//! Everything goes through rtnetlink (no `ip` subprocesses). Callers program the kernel
//! through the [`Netlink`] trait; [`KernelNetlink`] is the real implementation (one
//! netlink socket opened inside a namespace, usable from any thread) and
//! [`fake::FakeNetlink`] a faithful in-memory model for tests of the code above.

pub mod error;
pub mod fake;
pub mod kernel;
pub mod netns;
mod socket;
pub mod types;
pub mod wire;

use std::net::IpAddr;

use ipnet::IpNet;

pub use error::Error;
pub use kernel::KernelNetlink;
pub use netns::Netns;
pub use types::*;

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Network configuration of one namespace. Every method is one kernel request (or one
/// dump); all of them are safe to call from any thread.
pub trait Netlink: Send + Sync {
    /// The namespace this handle programs, for placing objects in it from elsewhere.
    fn namespace(&self) -> NsHandle;

    /// All links.
    fn links(&self) -> Result<Vec<Link>>;
    /// The link named `name`, if it exists.
    fn link(&self, name: &str) -> Result<Option<Link>>;
    /// Creates a link; `EEXIST` if the name is taken.
    fn add_link(&self, spec: &LinkSpec) -> Result<()>;
    /// Deletes a link (a veth's peer goes with it); [`Error::LinkNotFound`] if absent.
    fn delete_link(&self, name: &str) -> Result<()>;
    /// Sets the link administratively up or down.
    fn set_up(&self, name: &str, up: bool) -> Result<()>;
    /// Sets the MTU.
    fn set_mtu(&self, name: &str, mtu: u32) -> Result<()>;
    /// Attaches the link to a bridge (`Some(index)`) or detaches it (`None`).
    fn set_master(&self, name: &str, master: Option<u32>) -> Result<()>;
    /// Sets hairpin mode on a bridge port (frames may leave through the port they came in).
    fn set_hairpin(&self, name: &str, on: bool) -> Result<()>;

    /// All interface addresses.
    fn addrs(&self) -> Result<Vec<Addr>>;
    /// Adds an address (IPv6 without duplicate address detection); `EEXIST` if present.
    fn add_addr(&self, index: u32, addr: IpNet) -> Result<()>;
    /// Removes an address.
    fn del_addr(&self, index: u32, addr: IpNet) -> Result<()>;

    /// Unicast routes of the main table, both families.
    fn routes(&self) -> Result<Vec<Route>>;
    /// Adds a route; `EEXIST` if one with the same key exists.
    fn add_route(&self, route: &Route) -> Result<()>;
    /// Adds or replaces a route with the same key.
    fn replace_route(&self, route: &Route) -> Result<()>;
    /// Deletes a route.
    fn del_route(&self, route: &Route) -> Result<()>;

    /// Neighbour entries (IPv4 ARP and IPv6 ND).
    fn neighs(&self) -> Result<Vec<Neigh>>;
    /// Adds or replaces a neighbour entry.
    fn set_neigh(&self, neigh: &Neigh) -> Result<()>;
    /// Deletes a neighbour entry.
    fn del_neigh(&self, neigh: &Neigh) -> Result<()>;

    /// FDB entries that point at a remote address (VXLAN remotes).
    fn fdb(&self) -> Result<Vec<Fdb>>;
    /// Adds or replaces an FDB entry.
    fn set_fdb(&self, fdb: &Fdb) -> Result<()>;
    /// Deletes an FDB entry.
    fn del_fdb(&self, fdb: &Fdb) -> Result<()>;

    /// Reads a sysctl of this namespace; `key` is a path under `/proc/sys`, e.g.
    /// `net/ipv4/ip_forward` (slashes, because interface names may contain dots).
    fn sysctl(&self, key: &str) -> Result<String>;
    /// Writes a sysctl of this namespace.
    fn set_sysctl(&self, key: &str, value: &str) -> Result<()>;

    /// Index of the link named `name`, or [`Error::LinkNotFound`].
    fn link_index(&self, name: &str) -> Result<u32> {
        self.link(name)?
            .map(|l| l.index)
            .ok_or_else(|| Error::LinkNotFound(name.to_string()))
    }

    /// Addresses configured on the link with `index`.
    fn addrs_of(&self, index: u32) -> Result<Vec<IpNet>> {
        Ok(self
            .addrs()?
            .into_iter()
            .filter(|a| a.index == index)
            .map(|a| a.addr)
            .collect())
    }

    /// Routes carrying weft's protocol number.
    fn weft_routes(&self) -> Result<Vec<Route>> {
        Ok(self
            .routes()?
            .into_iter()
            .filter(|r| r.protocol == RTPROT_WEFT)
            .collect())
    }
}

/// Whether `ip` is covered by one of `nets`.
pub fn covered(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.iter().any(|n| n.contains(&ip))
}
