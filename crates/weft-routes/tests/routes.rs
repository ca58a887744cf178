//! Golden tests for route/FDB computation, plan convergence against the fake, and the same
//! cases applied to a real kernel in private namespaces.

use weft_netlink::Netlink;
use weft_netlink::fake::FakeWorld;
use weft_routes::*;
use weft_testkit::{TestNetns, assert_golden, golden_path};

fn node(i: u8) -> NodeInfo {
    NodeInfo {
        name: format!("node-{i}"),
        ip: format!("172.18.0.{}", 9 + i).parse().unwrap(),
        pod_cidrs: vec![format!("10.244.{i}.0/24").parse().unwrap()],
    }
}

fn snapshot(transport: Transport, nodes: &[u8]) -> RoutesSnapshot {
    RoutesSnapshot {
        nodes: nodes.iter().map(|i| node(*i)).collect(),
        node: "node-1".into(),
        uplink: "eth0".into(),
        transport,
        uplink_mtu: 1500,
    }
}

fn golden(name: &str, value: &impl serde::Serialize) {
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    assert_golden(golden_path(env!("CARGO_MANIFEST_DIR"), name), &text);
}

#[test]
fn compute_golden_host_gw_and_vxlan() {
    golden(
        "host-gw-3-nodes.json",
        &compute(&snapshot(Transport::HostGw, &[1, 2, 3])).unwrap(),
    );
    golden(
        "vxlan-3-nodes.json",
        &compute(&snapshot(Transport::Vxlan, &[1, 2, 3])).unwrap(),
    );
}

#[test]
fn compute_rejects_unknown_node_and_mixed_families() {
    let mut s = snapshot(Transport::HostGw, &[2, 3]);
    assert!(matches!(compute(&s), Err(Error::UnknownNode(_))));
    s.nodes.push(node(1));
    s.nodes[0].ip = "fd00::2".parse().unwrap();
    assert!(matches!(compute(&s), Err(Error::BadNode { .. })));
}

#[test]
fn plan_golden_for_a_node_leaving() {
    let before = compute(&snapshot(Transport::Vxlan, &[1, 2, 3])).unwrap();
    let after = compute(&snapshot(Transport::Vxlan, &[1, 2])).unwrap();
    let applied = AppliedRoutes {
        vxlan: before.vxlan.clone(),
        routes: before.routes,
        neighs: before.neighs,
        fdb: before.fdb,
    };
    golden("plan-node-3-leaves.json", &plan(&after, &applied));
}

fn uplink(nl: &dyn Netlink) {
    use weft_netlink::{LinkKind, LinkSpec};
    nl.add_link(&LinkSpec {
        name: "eth0".into(),
        kind: LinkKind::Veth {
            peer_name: "eth0-peer".into(),
            peer_ns: None,
            peer_mac: None,
        },
        mtu: None,
        mac: None,
        master: None,
        up: true,
    })
    .unwrap();
    let i = nl.link_index("eth0").unwrap();
    nl.add_addr(i, "172.18.0.10/24".parse().unwrap()).unwrap();
}

/// Applies `snap`, checks the kernel converged (a second plan is empty), then removes
/// node-3 and checks its entries are gone while the others remain.
fn converge(nl: &dyn Netlink, transport: Transport) {
    let snap = snapshot(transport, &[1, 2, 3]);
    let desired = compute(&snap).unwrap();
    let p = plan(&desired, &observe(nl, VXLAN_DEVICE).unwrap());
    apply(nl, &p).unwrap();
    let applied = observe(nl, VXLAN_DEVICE).unwrap();
    assert_eq!(applied.routes, desired.routes);
    assert_eq!(applied.fdb, desired.fdb);
    assert_eq!(applied.neighs, desired.neighs);
    assert_eq!(
        plan(&desired, &applied).ops,
        vec![],
        "second plan must be empty"
    );

    let fewer = compute(&snapshot(transport, &[1, 2])).unwrap();
    apply(nl, &plan(&fewer, &applied)).unwrap();
    let applied = observe(nl, VXLAN_DEVICE).unwrap();
    assert_eq!(applied.routes, fewer.routes);
    assert_eq!(applied.fdb, fewer.fdb);
    assert!(
        !applied
            .routes
            .iter()
            .any(|r| r.dst.to_string() == "10.244.3.0/24")
    );

    // Everything removed when no remote node is left (and the device when not wanted).
    let alone = compute(&snapshot(Transport::HostGw, &[1])).unwrap();
    apply(nl, &plan(&alone, &applied)).unwrap();
    let applied = observe(nl, VXLAN_DEVICE).unwrap();
    assert_eq!(applied, AppliedRoutes::default());
}

#[test]
fn fake_converges_for_both_transports() {
    for t in [Transport::HostGw, Transport::Vxlan] {
        let world = FakeWorld::new();
        let nl = world.new_ns();
        uplink(&nl);
        converge(&nl, t);
    }
}

#[test]
fn kernel_converges_for_both_transports() {
    for (tag, t) in [
        ("routes-hgw", Transport::HostGw),
        ("routes-vx", Transport::Vxlan),
    ] {
        let ns = TestNetns::new(tag);
        let nl = ns.netlink();
        uplink(&nl);
        converge(&nl, t);
    }
}

#[test]
fn repairs_out_of_band_damage() {
    let ns = TestNetns::new("routes-repair");
    let nl = ns.netlink();
    uplink(&nl);
    let desired = compute(&snapshot(Transport::Vxlan, &[1, 2, 3])).unwrap();
    apply(&nl, &plan(&desired, &observe(&nl, VXLAN_DEVICE).unwrap())).unwrap();
    // Someone deletes a route and an FDB entry by hand.
    let (code, out) = ns.run("ip", &["route", "del", "10.244.2.0/24"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = ns.run(
        "bridge",
        &[
            "fdb",
            "del",
            "0a:58:ac:12:00:0c",
            "dev",
            "weft.vxlan",
            "dst",
            "172.18.0.12",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let p = plan(&desired, &observe(&nl, VXLAN_DEVICE).unwrap());
    assert_eq!(p.ops.len(), 2, "{p:?}");
    apply(&nl, &p).unwrap();
    assert!(
        plan(&desired, &observe(&nl, VXLAN_DEVICE).unwrap())
            .ops
            .is_empty()
    );
}
