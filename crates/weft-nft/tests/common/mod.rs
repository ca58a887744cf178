//! Shared test fixtures: the masquerade and service-style transactions, and golden files.
#![allow(dead_code)]

use std::path::PathBuf;

use weft_nft::{
    Chain, ChainType, Element, Family, Hook, Map, Rule, Set, SetFlag, Transaction, Verdict,
};

/// The masquerade rule weft's CNI plugin installs.
pub const MASQ_RULE: &str =
    "ip saddr @pods-v4 ip daddr != @local-v4 ip daddr != 224.0.0.0/4 masquerade";

/// The CNI plugin's masquerade table: pods' sources leaving for anything not local.
pub fn masquerade_tx() -> Transaction {
    let mut tx = Transaction::new(Family::Ip, "weft-masq");
    tx.add_table(Some("weft: masquerade pod traffic leaving the cluster"))
        .add_set(Set::new("pods-v4", "ipv4_addr").with_comment("pods of this node"))
        .add_set(
            Set::new("local-v4", "ipv4_addr")
                .with_flags(&[SetFlag::Interval])
                .with_comment("destinations reached without masquerade"),
        )
        .add_chain(
            Chain::base("postrouting", ChainType::Nat, Hook::Postrouting, 100)
                .with_comment("masquerade"),
        )
        .flush_chain("postrouting")
        .add_rule(Rule::new("postrouting", MASQ_RULE).with_comment("pods to the outside"))
        .add_element(Element::new("pods-v4", ["10.244.1.5"]).with_comment("cid-0a1b2c3d"))
        .add_element(Element::new("pods-v4", ["10.244.1.6"]).with_comment("cid-4e5f6a7b"))
        .add_element(Element::new("local-v4", ["10.244.0.0/16"]))
        .add_element(Element::new("local-v4", ["192.168.50.0/24"]));
    tx
}

/// A service-proxy-style inet table: concatenated keys, a verdict map, IPv6, intervals,
/// priorities that need offsets, spellings the kernel normalises.
pub fn services_tx() -> Transaction {
    let mut tx = Transaction::new(Family::Inet, "weft-svc");
    tx.add_table(None)
        .add_set(Set::new("nodeport-ips", "ipv6_addr").with_flags(&[SetFlag::Interval]))
        .add_map(
            Map::new(
                "service-ips",
                "ipv4_addr . inet_proto . inet_service",
                "verdict",
            )
            .with_comment("ClusterIP to service chain"),
        )
        .add_chain(Chain::regular("svc-abc123-web"))
        .add_chain(Chain {
            base: Some(weft_nft::BaseChain {
                kind: ChainType::Nat,
                hook: Hook::Prerouting,
                priority: -110,
                policy: Some(Verdict::Accept),
            }),
            ..Chain::regular("nat-prerouting")
        })
        .add_chain(Chain::base(
            "filter-forward",
            ChainType::Filter,
            Hook::Forward,
            -5,
        ))
        .add_chain(Chain::base(
            "nat-output",
            ChainType::Nat,
            Hook::Output,
            -100,
        ))
        .flush_chain("nat-prerouting")
        .flush_chain("svc-abc123-web")
        .add_rule(Rule::new(
            "nat-prerouting",
            "ip daddr . meta l4proto . th dport vmap @service-ips",
        ))
        .add_rule(Rule::new(
            "nat-output",
            "ip daddr . meta l4proto . th dport vmap @service-ips",
        ))
        .add_rule(
            Rule::new(
                "svc-abc123-web",
                "meta l4proto tcp dnat ip to 10.244.1.5:8080",
            )
            .with_comment("ns/web"),
        )
        .add_rule(Rule::new(
            "filter-forward",
            "ip6 daddr @nodeport-ips accept",
        ))
        .add_element(
            Element::new("service-ips", ["10.96.0.10", "tcp", "80"])
                .with_value(["goto svc-abc123-web"])
                .with_comment("ns/web:http"),
        )
        .add_element(Element::new("nodeport-ips", ["2001:db8:0:0::1"]))
        .add_element(Element::new("nodeport-ips", ["fd00::1/64"]))
        .add_element(Element::new("nodeport-ips", ["2001:db8::10-2001:db8::20"]));
    tx
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with `tests/golden/<name>` exactly; `WEFT_UPDATE_GOLDEN=1` rewrites it.
pub fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var("WEFT_UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with WEFT_UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if actual != expected {
        let mut diff = String::new();
        let (a, e): (Vec<&str>, Vec<&str>) = (actual.lines().collect(), expected.lines().collect());
        for i in 0..a.len().max(e.len()) {
            let (al, el) = (a.get(i), e.get(i));
            if al != el {
                diff.push_str(&format!(
                    "line {}:\n  expected: {el:?}\n  actual:   {al:?}\n",
                    i + 1
                ));
            }
        }
        panic!(
            "{} differs (WEFT_UPDATE_GOLDEN=1 rewrites it):\n{diff}\nactual:\n{actual}",
            path.display()
        );
    }
}
