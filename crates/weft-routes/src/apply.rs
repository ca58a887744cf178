//! The I/O half: observe what weft's routing holds in the kernel, apply a plan.

use std::collections::BTreeMap;

use ipnet::IpNet;
use weft_netlink::{Fdb, LinkKind, LinkSpec, Neigh, Netlink, Route};

use crate::Error;
use crate::compute::*;

fn nl_err(op: impl Into<String>) -> impl FnOnce(weft_netlink::Error) -> Error {
    let op = op.into();
    move |source| Error::Netlink { op, source }
}

/// Reads weft's routing state: the VXLAN device named `vxlan_device` with its entries, and
/// every route carrying weft's route protocol.
pub fn observe(nl: &dyn Netlink, vxlan_device: &str) -> Result<AppliedRoutes, Error> {
    let links = nl.links().map_err(nl_err("list links"))?;
    let names: BTreeMap<u32, String> = links.iter().map(|l| (l.index, l.name.clone())).collect();
    let mut applied = AppliedRoutes::default();
    let vx = links.iter().find(|l| l.name == vxlan_device);
    if let Some(link) = vx {
        let info = link.vxlan.unwrap_or(weft_netlink::VxlanInfo {
            vni: 0,
            local: None,
            port: 0,
        });
        // The kernel adds an IPv6 link-local address by itself; it is not weft's.
        let addrs: Vec<IpNet> = nl
            .addrs_of(link.index)
            .map_err(nl_err("list addresses"))?
            .into_iter()
            .filter(|a| !matches!(a, IpNet::V6(v6) if v6.addr().is_unicast_link_local()))
            .collect();
        let address = addrs.first().copied();
        applied.vxlan = Some(DesiredVxlan {
            name: link.name.clone(),
            vni: info.vni,
            local: info.local.unwrap_or(std::net::IpAddr::from([0u8; 4])),
            port: info.port,
            mac: link.mac.unwrap_or_default(),
            mtu: link.mtu,
            // A device without exactly its VTEP address is recreated.
            address: if addrs.len() == 1 {
                address.unwrap_or_default()
            } else {
                IpNet::default()
            },
        });
        for n in nl.neighs().map_err(nl_err("list neighbours"))? {
            if n.index == link.index && n.permanent {
                applied.neighs.insert(DesiredNeigh {
                    dev: link.name.clone(),
                    ip: n.ip,
                    mac: n.mac,
                });
            }
        }
        for f in nl.fdb().map_err(nl_err("list fdb"))? {
            if f.index == link.index {
                applied.fdb.insert(DesiredFdb {
                    dev: link.name.clone(),
                    mac: f.mac,
                    dst: f.dst,
                });
            }
        }
    }
    for r in nl.weft_routes().map_err(nl_err("list routes"))? {
        if let (Some(via), Some(dev)) = (r.gateway, r.oif.and_then(|i| names.get(&i))) {
            applied.routes.insert(DesiredRoute {
                dst: r.dst,
                via,
                dev: dev.clone(),
                onlink: r.onlink,
            });
        }
    }
    Ok(applied)
}

/// Applies `plan`. Every operation is attempted; failures are collected. Deleting what is
/// already gone is success.
pub fn apply(nl: &dyn Netlink, plan: &RoutesPlan) -> Result<(), Error> {
    let mut errors = Vec::new();
    for op in &plan.ops {
        if let Err(e) = apply_one(nl, op) {
            errors.push(e);
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Many(errors)),
    }
}

fn ignore_missing(res: weft_netlink::Result<()>) -> weft_netlink::Result<()> {
    match res {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

fn apply_one(nl: &dyn Netlink, op: &RouteOp) -> Result<(), Error> {
    let index = |dev: &str| nl.link_index(dev).map_err(nl_err(format!("find {dev}")));
    match op {
        RouteOp::DeleteVxlan { name } => {
            ignore_missing(nl.delete_link(name)).map_err(nl_err(format!("delete {name}")))
        }
        RouteOp::CreateVxlan(v) => {
            let spec = LinkSpec {
                name: v.name.clone(),
                kind: LinkKind::Vxlan {
                    vni: v.vni,
                    local: v.local,
                    port: v.port,
                    underlay: None,
                },
                mtu: Some(v.mtu),
                mac: Some(v.mac),
                master: None,
                up: true,
            };
            match nl.add_link(&spec) {
                Err(e) if !e.is_exists() => return Err(nl_err(format!("create {}", v.name))(e)),
                _ => {}
            }
            let idx = index(&v.name)?;
            match nl.add_addr(idx, v.address) {
                Err(e) if !e.is_exists() => {
                    Err(nl_err(format!("address {} on {}", v.address, v.name))(e))
                }
                _ => Ok(()),
            }
        }
        RouteOp::DelRoute(r) => {
            let route = Route {
                onlink: r.onlink,
                ..Route::weft(r.dst, Some(r.via), nl.link_index(&r.dev).ok())
            };
            ignore_missing(nl.del_route(&route)).map_err(nl_err(format!("delete route {}", r.dst)))
        }
        RouteOp::AddRoute(r) => {
            let route = Route {
                onlink: r.onlink,
                ..Route::weft(r.dst, Some(r.via), Some(index(&r.dev)?))
            };
            nl.replace_route(&route)
                .map_err(nl_err(format!("route {} via {}", r.dst, r.via)))
        }
        RouteOp::DelNeigh(n) => {
            let neigh = Neigh {
                index: index(&n.dev)?,
                ip: n.ip,
                mac: n.mac,
                permanent: true,
            };
            ignore_missing(nl.del_neigh(&neigh))
                .map_err(nl_err(format!("delete neighbour {}", n.ip)))
        }
        RouteOp::AddNeigh(n) => {
            let neigh = Neigh {
                index: index(&n.dev)?,
                ip: n.ip,
                mac: n.mac,
                permanent: true,
            };
            nl.set_neigh(&neigh)
                .map_err(nl_err(format!("neighbour {}", n.ip)))
        }
        RouteOp::DelFdb(f) => {
            let fdb = Fdb {
                index: index(&f.dev)?,
                mac: f.mac,
                dst: f.dst,
            };
            ignore_missing(nl.del_fdb(&fdb)).map_err(nl_err(format!("delete fdb {}", f.dst)))
        }
        RouteOp::AddFdb(f) => {
            let fdb = Fdb {
                index: index(&f.dev)?,
                mac: f.mac,
                dst: f.dst,
            };
            nl.set_fdb(&fdb).map_err(nl_err(format!("fdb {}", f.dst)))
        }
    }
}
