use super::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn veth(name: &str, peer: &str, peer_ns: Option<NsHandle>) -> LinkSpec {
    LinkSpec {
        name: name.into(),
        kind: LinkKind::Veth {
            peer_name: peer.into(),
            peer_ns,
            peer_mac: None,
        },
        mtu: Some(1450),
        mac: None,
        master: None,
        up: true,
    }
}

#[test]
fn veth_peer_lands_in_other_namespace_and_dies_with_it() {
    let world = FakeWorld::new();
    let host = world.new_ns();
    let pod = world.new_ns();
    host.add_link(&veth("veth1", "eth0", Some(pod.namespace())))
        .unwrap();
    assert!(host.link("eth0").unwrap().is_none());
    let eth0 = pod.link("eth0").unwrap().unwrap();
    assert_eq!(eth0.mtu, 1450);
    assert!(!eth0.up, "a peer in another namespace starts down");
    pod.set_up("eth0", true).unwrap();
    assert!(pod.link("eth0").unwrap().unwrap().oper_up);
    // Same name again in the peer namespace: EEXIST and nothing created on the host.
    let e = host
        .add_link(&veth("veth2", "eth0", Some(pod.namespace())))
        .unwrap_err();
    assert!(e.is_exists());
    assert!(host.link("veth2").unwrap().is_none());
    world.delete_ns(pod.id());
    assert!(
        host.link("veth1").unwrap().is_none(),
        "host end must vanish with the pod namespace"
    );
}

#[test]
fn addresses_give_connected_routes_and_gateways_must_be_reachable() {
    let world = FakeWorld::new();
    let ns = world.new_ns();
    ns.add_link(&veth("a", "b", None)).unwrap();
    let a = ns.link_index("a").unwrap();
    let route = Route::weft(
        net("10.9.0.0/16"),
        Some("10.0.0.1".parse().unwrap()),
        Some(a),
    );
    assert_eq!(
        ns.add_route(&route).unwrap_err().errno(),
        Some(libc::ENETUNREACH)
    );
    ns.add_addr(a, net("10.0.0.2/24")).unwrap();
    assert!(ns.add_addr(a, net("10.0.0.2/24")).unwrap_err().is_exists());
    ns.add_route(&route).unwrap();
    assert!(ns.add_route(&route).unwrap_err().is_exists());
    ns.replace_route(&route).unwrap();
    assert_eq!(ns.weft_routes().unwrap(), vec![route]);
    assert_eq!(ns.routes().unwrap().len(), 2, "connected + weft route");
    ns.delete_link("a").unwrap();
    assert!(ns.routes().unwrap().is_empty());
    assert!(ns.link("b").unwrap().is_none());
    assert_eq!(ns.del_route(&route).unwrap_err().errno(), Some(libc::ESRCH));
}

#[test]
fn hairpin_needs_a_bridge_port_and_faults_fire_once() {
    let world = FakeWorld::new();
    let ns = world.new_ns();
    let bridge = LinkSpec {
        name: "weft0".into(),
        kind: LinkKind::Bridge,
        mtu: None,
        mac: None,
        master: None,
        up: true,
    };
    ns.add_link(&bridge).unwrap();
    ns.add_link(&veth("v1", "v2", None)).unwrap();
    assert!(ns.set_hairpin("v1", true).is_err());
    ns.set_master("v1", Some(ns.link_index("weft0").unwrap()))
        .unwrap();
    ns.set_hairpin("v1", true).unwrap();
    assert_eq!(ns.hairpin("v1"), Some(true));
    world.fail_next("add_addr", libc::EPERM);
    assert_eq!(
        ns.add_addr(1, net("127.0.0.1/8")).unwrap_err().errno(),
        Some(libc::EPERM)
    );
    ns.add_addr(1, net("127.0.0.1/8")).unwrap();
    ns.delete_link("weft0").unwrap();
    assert_eq!(ns.link("v1").unwrap().unwrap().master, None);
}

#[test]
fn neighbours_and_fdb_replace_and_delete() {
    let world = FakeWorld::new();
    let ns = world.new_ns();
    let vx = LinkSpec {
        name: "weft.vxlan".into(),
        kind: LinkKind::Vxlan {
            vni: 1,
            local: "172.18.0.10".parse().unwrap(),
            port: 8472,
            underlay: None,
        },
        mtu: Some(1450),
        mac: None,
        master: None,
        up: true,
    };
    ns.add_link(&vx).unwrap();
    let i = ns.link_index("weft.vxlan").unwrap();
    let f1 = Fdb {
        index: i,
        mac: [2, 0, 0, 0, 0, 1],
        dst: "172.18.0.11".parse().unwrap(),
    };
    let f2 = Fdb {
        dst: "172.18.0.12".parse().unwrap(),
        ..f1
    };
    ns.set_fdb(&f1).unwrap();
    ns.set_fdb(&f2).unwrap();
    assert_eq!(ns.fdb().unwrap(), vec![f2]);
    assert!(ns.del_fdb(&f1).is_err());
    ns.del_fdb(&f2).unwrap();
    let n = Neigh {
        index: i,
        ip: "10.244.2.0".parse().unwrap(),
        mac: [2, 0, 0, 0, 0, 1],
        permanent: true,
    };
    ns.set_neigh(&n).unwrap();
    ns.set_neigh(&n).unwrap();
    assert_eq!(ns.neighs().unwrap(), vec![n]);
    ns.del_neigh(&n).unwrap();
    assert!(ns.del_neigh(&n).is_err());
}
