//! Pod-network routing between nodes: every node must reach every other node's pod CIDR
//! without NAT. Two transports:
//!
//! - **host-gw**: a route per remote node's pod CIDR via that node's address (nodes share
//!   one L2 segment);
//! - **vxlan**: device `weft.vxlan` (unicast, no learning, no multicast); per remote node a
//!   route `podCIDR via <remote VTEP IP> onlink`, a permanent neighbour entry
//!   `<remote VTEP IP> → <remote VTEP MAC>` and an FDB entry `<remote VTEP MAC> → <remote
//!   node IP>`. The VTEP IP is the network address of the node's pod CIDR (as flannel
//!   does) and the VTEP MAC is derived from the node IP, so every node computes the same
//!   entries without coordination.
//!
//! The flow is the one every weft controller follows: [`compute`] (pure, from a snapshot of
//! nodes) → [`plan`] (pure, desired vs applied) → [`apply`] (the only I/O).

mod apply;
mod compute;

pub use apply::{apply, observe};
pub use compute::*;

/// Errors of route computation and application.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// This node is not in the snapshot.
    #[error("node {0} is not in the node list")]
    UnknownNode(String),
    /// A node's data cannot be used.
    #[error("node {node}: {reason}")]
    BadNode {
        /// Node name.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// A kernel operation failed.
    #[error("{op}: {source}")]
    Netlink {
        /// What was being applied.
        op: String,
        /// The netlink error.
        #[source]
        source: weft_netlink::Error,
    },
    /// Several operations failed; all were attempted.
    #[error("{} route operations failed: {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Many(Vec<Error>),
}
