//! Tests of `FakeNftables`: the kernel semantics weft relies on.

mod common;

use common::{MASQ_RULE, assert_golden, masquerade_tx, services_tx};
use weft_nft::{
    Chain, ChainType, Element, Error, FakeNftables, Family, Hook, Map, Nftables, Rule, Set,
    SetFlag, TableState, Transaction, Verdict,
};

fn masq(nft: &FakeNftables) -> TableState {
    nft.list_table(Family::Ip, "weft-masq")
        .expect("list")
        .expect("table weft-masq exists")
}

fn tx() -> Transaction {
    Transaction::new(Family::Ip, "weft-masq")
}

fn applied(setup: &[&Transaction]) -> FakeNftables {
    let nft = FakeNftables::new();
    for t in setup {
        nft.apply(t).expect("setup transaction");
    }
    nft
}

#[test]
fn masquerade_dump_matches_golden() {
    let nft = applied(&[&masquerade_tx()]);
    let state = masq(&nft);
    assert_eq!(state.rule_count(), 1);
    assert_eq!(state.sets["pods-v4"].elements.len(), 2);
    assert_eq!(nft.applied_count(), 1);
    assert_golden("fake_masquerade.dump", &state.dump());
}

#[test]
fn services_dump_matches_golden() {
    let nft = applied(&[&services_tx()]);
    let state = nft
        .list_table(Family::Inet, "weft-svc")
        .expect("list")
        .expect("exists");
    assert_golden("fake_services.dump", &state.dump());
}

#[test]
fn a_failing_operation_leaves_everything_unchanged() {
    let nft = applied(&[&masquerade_tx()]);
    let before = masq(&nft);
    let mut t = tx();
    t.add_element(Element::new("pods-v4", ["10.244.1.7"]))
        .flush_chain("postrouting")
        .add_set(Set::new("extra", "ipv4_addr"))
        .add_element(Element::new("no-such-set", ["10.244.1.8"]))
        .add_element(Element::new("pods-v4", ["10.244.1.9"]));
    let err = nft.apply(&t).expect_err("missing set");
    assert!(
        matches!(&err, Error::NotFound { op: "add element", missing, .. } if missing == "set ip weft-masq no-such-set"),
        "{err}"
    );
    assert_eq!(masq(&nft), before);
    assert_eq!(nft.applied_count(), 1);
    // Invalid text is rejected before anything happens, too.
    let mut t = tx();
    t.add_element(Element::new("pods-v4", ["10.244.1.7"]))
        .add_rule(Rule::new("postrouting", "accept; flush ruleset"));
    assert!(matches!(nft.apply(&t), Err(Error::Invalid { .. })));
    assert_eq!(masq(&nft), before);
}

#[test]
fn a_failing_first_transaction_creates_no_table() {
    let nft = FakeNftables::new();
    let mut t = masquerade_tx();
    t.add_rule(Rule::new("postrouting", "ip saddr @missing drop"));
    assert!(nft.apply(&t).is_err());
    assert!(nft.tables().is_empty());
    assert_eq!(nft.applied_count(), 0);
}

#[test]
fn rules_must_refer_to_existing_sets_and_chains() {
    let nft = applied(&[&masquerade_tx()]);
    let mut t = tx();
    t.add_rule(Rule::new("postrouting", "ip daddr @pods-v6 masquerade"));
    let err = nft.apply(&t).expect_err("missing set");
    assert!(
        matches!(&err, Error::NotFound { missing, .. } if missing.ends_with("pods-v6")),
        "{err}"
    );
    let mut t = tx();
    t.add_rule(Rule::new("postrouting", "ip saddr 10.0.0.1 jump nowhere"));
    let err = nft.apply(&t).expect_err("missing chain");
    assert!(
        matches!(&err, Error::NotFound { missing, .. } if missing.ends_with("chain ip weft-masq nowhere")),
        "{err}"
    );
    let mut t = tx();
    t.add_rule(Rule::new("prerouting", "accept"));
    assert!(matches!(nft.apply(&t), Err(Error::NotFound { .. })));
    // A quoted "@x" is a string, not a reference; a map is a valid reference.
    let mut t = tx();
    t.add_map(Map::new("m", "ipv4_addr", "verdict"))
        .add_rule(Rule::new("postrouting", "ip daddr vmap @m comment \"@x\""));
    nft.apply(&t).expect("references exist");
}

#[test]
fn objects_need_their_table() {
    let nft = FakeNftables::new();
    for op in [
        Transaction::new(Family::Ip, "t")
            .add_chain(Chain::regular("c"))
            .clone(),
        Transaction::new(Family::Ip, "t")
            .add_set(Set::new("s", "ipv4_addr"))
            .clone(),
        Transaction::new(Family::Ip, "t").flush_table().clone(),
        Transaction::new(Family::Ip, "t").delete_table().clone(),
    ] {
        let err = nft.apply(&op).expect_err("no table");
        assert!(
            matches!(&err, Error::NotFound { missing, .. } if missing == "table ip t"),
            "{err}"
        );
    }
    // Nftables::delete_table of an absent table is fine.
    nft.delete_table(Family::Ip, "t").expect("absent is ok");
}

#[test]
fn adds_are_idempotent_but_rules_duplicate() {
    let mut t = tx();
    t.add_table(None)
        .add_set(Set::new("pods-v4", "ipv4_addr"))
        .add_set(Set::new("local-v4", "ipv4_addr").with_flags(&[SetFlag::Interval]))
        .add_chain(Chain::base(
            "postrouting",
            ChainType::Nat,
            Hook::Postrouting,
            100,
        ))
        .add_rule(Rule::new("postrouting", MASQ_RULE));
    let nft = applied(&[&masquerade_tx(), &t]);
    let state = masq(&nft);
    assert_eq!(state.chains["postrouting"].rules.len(), 2);
    assert_eq!(
        state.sets["pods-v4"].elements.len(),
        2,
        "add set keeps elements"
    );
    assert_eq!(
        state.table.comment.as_deref(),
        Some("weft: masquerade pod traffic leaving the cluster"),
        "add table keeps the comment"
    );
    // The masquerade transaction flushes its chain: re-applying it is a no-op.
    let nft = applied(&[&masquerade_tx()]);
    let once = masq(&nft);
    nft.apply(&masquerade_tx()).expect("again");
    assert_eq!(masq(&nft), once);
    assert_eq!(nft.applied_count(), 2);
}

#[test]
fn redefinitions_fail_like_the_kernel() {
    let nft = applied(&[&masquerade_tx()]);
    let cases: Vec<(Transaction, &str)> = vec![
        (
            tx().add_set(Set::new("pods-v4", "ipv6_addr")).clone(),
            "exists",
        ),
        (
            tx().add_set(Set::new("local-v4", "ipv4_addr")).clone(),
            "exists",
        ),
        (
            tx().add_map(Map::new("pods-v4", "ipv4_addr", "verdict"))
                .clone(),
            "exists",
        ),
        (
            tx().add_chain(Chain::base(
                "postrouting",
                ChainType::Filter,
                Hook::Postrouting,
                100,
            ))
            .clone(),
            "exists",
        ),
        (
            tx().add_chain(Chain::base(
                "postrouting",
                ChainType::Nat,
                Hook::Postrouting,
                110,
            ))
            .clone(),
            "not supported",
        ),
    ];
    for (t, what) in cases {
        let err = nft.apply(&t).expect_err(what);
        assert!(err.to_string().contains(what), "{err}");
    }
    // A regular re-add of a base chain and a policy change are fine.
    let mut t = tx();
    t.add_chain(Chain::regular("postrouting"));
    let mut chain = Chain::base("postrouting", ChainType::Nat, Hook::Postrouting, 100);
    if let Some(b) = &mut chain.base {
        b.policy = Some(Verdict::Drop);
    }
    t.add_chain(chain);
    nft.apply(&t).expect("compatible");
    let base = masq(&nft).chains["postrouting"]
        .base
        .clone()
        .expect("base chain");
    assert_eq!(base.policy, Some(Verdict::Drop));
}

#[test]
fn flush_chain_and_flush_table_empty_rules_only() {
    let nft = applied(&[&masquerade_tx()]);
    nft.apply(tx().flush_chain("postrouting"))
        .expect("flush chain");
    assert_eq!(masq(&nft).rule_count(), 0);
    nft.apply(&masquerade_tx()).expect("again");
    nft.apply(tx().flush_table()).expect("flush table");
    let state = masq(&nft);
    assert_eq!(state.rule_count(), 0);
    assert!(state.chains.contains_key("postrouting"));
    assert_eq!(
        state.sets["pods-v4"].elements.len(),
        2,
        "flush table keeps elements"
    );
    nft.apply(tx().flush_set("pods-v4")).expect("flush set");
    assert!(masq(&nft).sets["pods-v4"].elements.is_empty());
    assert!(nft.apply(tx().flush_chain("nope")).is_err());
    assert!(nft.apply(tx().flush_set("nope")).is_err());
}

#[test]
fn delete_element_needs_the_element() {
    let nft = applied(&[&masquerade_tx()]);
    let err = nft
        .apply(tx().delete_element(Element::new("pods-v4", ["10.244.1.99"])))
        .expect_err("missing element");
    assert!(
        matches!(&err, Error::NotFound { op: "delete element", missing, .. } if missing == "element 10.244.1.99"),
        "{err}"
    );
    nft.apply(tx().delete_element(Element::new("pods-v4", ["10.244.1.5"])))
        .expect("present");
    // Keys are compared in canonical form: a range that is a prefix is that prefix.
    nft.apply(tx().delete_element(Element::new("local-v4", ["192.168.50.0-192.168.50.255"])))
        .expect("canonical key");
    let state = masq(&nft);
    assert_eq!(state.sets["pods-v4"].elements.len(), 1);
    assert_eq!(state.sets["local-v4"].elements.len(), 1);
}

#[test]
fn deleting_used_objects_is_busy() {
    let nft = applied(&[&masquerade_tx()]);
    for t in [
        tx().delete_chain("postrouting").clone(),
        tx().delete_set("pods-v4").clone(),
    ] {
        let err = nft.apply(&t).expect_err("busy");
        assert!(matches!(err, Error::Busy { .. }), "{err}");
    }
    let mut t = tx();
    t.flush_chain("postrouting")
        .delete_set("pods-v4")
        .delete_chain("postrouting");
    nft.apply(&t).expect("flushed first, as the kernel allows");
    // A chain a map element jumps to is busy too.
    let mut t = tx();
    t.add_chain(Chain::regular("svc"))
        .add_map(Map::new("vm", "ipv4_addr", "verdict"))
        .add_element(Element::new("vm", ["10.0.0.1"]).with_value(["jump svc"]));
    nft.apply(&t).expect("map");
    assert!(matches!(
        nft.apply(tx().delete_chain("svc")),
        Err(Error::Busy { .. })
    ));
    assert!(matches!(
        nft.apply(tx().add_element(Element::new("vm", ["10.0.0.2"]).with_value(["goto nowhere"]))),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn elements_are_checked_against_the_set_type() {
    let nft = applied(&[&masquerade_tx()]);
    let bad = [
        Element::new("pods-v4", ["10.0.0.0/8"]),
        Element::new("pods-v4", ["fd00::1"]),
        Element::new("pods-v4", ["10.0.0.1", "80"]),
        Element::new("pods-v4", ["10.0.0.1"]).with_value(["accept"]),
        Element::new("local-v4", ["10.244.7.0/24"]),
    ];
    for e in bad {
        let err = nft
            .apply(tx().add_element(e.clone()))
            .expect_err("bad element");
        assert!(
            matches!(err, Error::Invalid { .. } | Error::Exists { .. }),
            "{e:?}: {err}"
        );
    }
    // Same interval again is idempotent; host bits are dropped like nft does.
    nft.apply(tx().add_element(Element::new("local-v4", ["10.244.3.3/16"])))
        .expect("same");
    let mut t = tx();
    t.add_map(Map::new("m", "ipv4_addr", "verdict"))
        .add_element(Element::new("m", ["10.0.0.1"]).with_value(["accept"]))
        .add_element(Element::new("m", ["10.0.0.1"]).with_value(["accept"]));
    nft.apply(&t).expect("same value is idempotent");
    let err = nft
        .apply(tx().add_element(Element::new("m", ["10.0.0.1"]).with_value(["drop"])))
        .expect_err("other value");
    assert!(matches!(err, Error::Exists { .. }), "{err}");
    assert!(
        nft.apply(tx().add_element(Element::new("m", ["10.0.0.2"])))
            .is_err()
    );
}
