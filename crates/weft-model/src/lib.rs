//! Pure domain types and logic shared by every weft component: CIDR arithmetic and the
//! addressing plan of a cluster. Nothing in this crate performs I/O.

pub mod cidr;

pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};
