//! Real-kernel tests in private network namespaces named after the test. They need root
//! and fail loudly (never skip) when namespaces cannot be created.

use std::sync::Arc;

use weft_netlink::{
    Fdb, KernelNetlink, LinkKind, LinkSpec, Neigh, Netlink, Netns, NsHandle, Route,
};

/// A namespace deleted on drop, even when the test panics.
struct TestNs {
    name: String,
    nl: KernelNetlink,
}

impl TestNs {
    fn new(name: &str) -> TestNs {
        let name = format!("weft-t-{name}-{}", std::process::id());
        let _ = Netns::delete(&name);
        let ns = Netns::create(&name).unwrap_or_else(|e| {
            panic!("cannot create network namespace {name} (kernel tests need root): {e}")
        });
        let nl = KernelNetlink::in_netns(Arc::new(ns)).expect("netlink socket in namespace");
        TestNs { name, nl }
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let _ = Netns::delete(&self.name);
    }
}

fn net(s: &str) -> ipnet::IpNet {
    s.parse().unwrap()
}

#[test]
fn veth_into_other_namespace_with_bridge_addresses_and_routes() {
    let host = TestNs::new("nl-host");
    let pod = TestNs::new("nl-pod");
    let bridge = LinkSpec {
        name: "weft0".into(),
        kind: LinkKind::Bridge,
        mtu: Some(1400),
        mac: None,
        master: None,
        up: true,
    };
    host.nl.add_link(&bridge).unwrap();
    assert!(host.nl.add_link(&bridge).unwrap_err().is_exists());
    let br = host.nl.link_index("weft0").unwrap();
    host.nl
        .add_link(&LinkSpec {
            name: "vethtest1".into(),
            kind: LinkKind::Veth {
                peer_name: "eth0".into(),
                peer_ns: Some(pod.nl.namespace()),
                peer_mac: None,
            },
            mtu: Some(1400),
            mac: None,
            master: Some(br),
            up: true,
        })
        .unwrap();
    let host_end = host.nl.link("vethtest1").unwrap().expect("host end");
    assert_eq!(host_end.master, Some(br));
    assert_eq!(host_end.mtu, 1400);
    assert!(
        host.nl.link("eth0").unwrap().is_none(),
        "peer must not appear on the host"
    );
    let eth0 = pod.nl.link("eth0").unwrap().expect("peer in pod");
    assert!(!eth0.up, "a peer created in another namespace starts down");
    pod.nl.set_up("eth0", true).unwrap();
    assert!(pod.nl.link("eth0").unwrap().unwrap().up);
    host.nl.set_hairpin("vethtest1", true).unwrap();

    host.nl.add_addr(br, net("10.250.1.1/24")).unwrap();
    assert!(
        host.nl
            .add_addr(br, net("10.250.1.1/24"))
            .unwrap_err()
            .is_exists()
    );
    pod.nl.add_addr(eth0.index, net("10.250.1.2/24")).unwrap();
    pod.nl.add_addr(eth0.index, net("fd00:250::2/64")).unwrap();
    assert!(
        pod.nl
            .addrs_of(eth0.index)
            .unwrap()
            .contains(&net("10.250.1.2/24"))
    );
    let default = Route::weft(
        net("0.0.0.0/0"),
        Some("10.250.1.1".parse().unwrap()),
        Some(eth0.index),
    );
    pod.nl.add_route(&default).unwrap();
    assert!(pod.nl.add_route(&default).unwrap_err().is_exists());
    pod.nl.replace_route(&default).unwrap();
    assert_eq!(pod.nl.weft_routes().unwrap(), vec![default]);
    pod.nl.del_route(&default).unwrap();
    assert!(pod.nl.weft_routes().unwrap().is_empty());

    pod.nl
        .set_sysctl("net/ipv4/conf/eth0/arp_notify", "1")
        .unwrap();
    assert_eq!(pod.nl.sysctl("net/ipv4/conf/eth0/arp_notify").unwrap(), "1");
    // The sysctl belongs to the pod namespace only.
    assert!(host.nl.sysctl("net/ipv4/conf/eth0/arp_notify").is_err());

    host.nl.delete_link("vethtest1").unwrap();
    assert!(
        pod.nl.link("eth0").unwrap().is_none(),
        "peer dies with its partner"
    );
    assert!(host.nl.delete_link("vethtest1").unwrap_err().is_not_found());
}

#[test]
fn vxlan_with_fdb_and_neighbours() {
    let node = TestNs::new("nl-vx");
    let lo = node.nl.link_index("lo").unwrap();
    node.nl.set_up("lo", true).unwrap();
    node.nl.add_addr(lo, net("172.31.0.10/32")).unwrap();
    node.nl
        .add_link(&LinkSpec {
            name: "weft.vxlan".into(),
            kind: LinkKind::Vxlan {
                vni: 1,
                local: "172.31.0.10".parse().unwrap(),
                port: 8472,
                underlay: None,
            },
            mtu: Some(1450),
            mac: Some([0x0a, 0x58, 172, 31, 0, 10]),
            master: None,
            up: true,
        })
        .unwrap();
    let vx = node.nl.link("weft.vxlan").unwrap().unwrap();
    assert_eq!(vx.kind.as_deref(), Some("vxlan"));
    let info = vx.vxlan.expect("vxlan parameters");
    assert_eq!((info.vni, info.port), (1, 8472));
    assert_eq!(info.local, Some("172.31.0.10".parse().unwrap()));
    assert_eq!(vx.mac, Some([0x0a, 0x58, 172, 31, 0, 10]));
    let fdb = Fdb {
        index: vx.index,
        mac: [0x0a, 0x58, 172, 31, 0, 11],
        dst: "172.31.0.11".parse().unwrap(),
    };
    node.nl.set_fdb(&fdb).unwrap();
    node.nl.set_fdb(&fdb).unwrap();
    assert!(node.nl.fdb().unwrap().contains(&fdb));
    let neigh = Neigh {
        index: vx.index,
        ip: "10.251.2.0".parse().unwrap(),
        mac: fdb.mac,
        permanent: true,
    };
    node.nl.set_neigh(&neigh).unwrap();
    assert!(node.nl.neighs().unwrap().contains(&neigh));
    let mut route = Route::weft(
        net("10.251.2.0/24"),
        Some("10.251.2.0".parse().unwrap()),
        Some(vx.index),
    );
    route.onlink = true;
    node.nl.add_route(&route).unwrap();
    assert_eq!(node.nl.weft_routes().unwrap(), vec![route]);
    node.nl.del_neigh(&neigh).unwrap();
    node.nl.del_fdb(&fdb).unwrap();
    assert!(!node.nl.fdb().unwrap().contains(&fdb));
}

#[test]
fn namespaces_are_created_listed_and_deleted() {
    let name = format!("weft-t-nl-ns-{}", std::process::id());
    let ns = Netns::create(&name).expect("create namespace (needs root)");
    assert!(matches!(
        Netns::create(&name),
        Err(weft_netlink::netns::Error::Exists(_))
    ));
    assert!(Netns::list_named().unwrap().contains(&name));
    let id = ns.id().unwrap();
    assert_ne!(id, Netns::current().unwrap().id().unwrap());
    let inside = ns
        .run(|| Netns::current().and_then(|c| c.id()))
        .unwrap()
        .unwrap();
    assert_eq!(inside, id);
    let out = ns
        .command("/bin/sh")
        .args(["-c", "cat /proc/net/dev | grep -c ':'"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1",
        "only lo inside"
    );
    drop(ns);
    Netns::delete(&name).unwrap();
    Netns::delete(&name).unwrap();
    assert!(!Netns::exists(&name));
    assert!(matches!(NsHandle::Fake(1), NsHandle::Fake(_)));
}
