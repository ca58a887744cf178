//! Real-kernel tests: the same transactions through `KernelNftables` in a private
//! network namespace and through `FakeNftables` must give the same table. Needs root
//! and nft; fails (never skips) when the namespace cannot be created.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{masquerade_tx, services_tx};
use weft_netlink::Netns;
use weft_nft::{
    Element, Error, FakeNftables, Family, KernelNftables, Nftables, Rule, TableState, Transaction,
};

/// A private namespace `weft-t-nft-<pid>-<n>`, deleted on drop (also when a test panics).
struct NsGuard {
    name: String,
    netns: Arc<Netns>,
}

impl NsGuard {
    fn new() -> NsGuard {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "weft-t-nft-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let netns = Netns::create(&name).unwrap_or_else(|e| {
            panic!("cannot create network namespace {name} (these tests need root): {e}")
        });
        NsGuard {
            name,
            netns: Arc::new(netns),
        }
    }

    fn nft(&self) -> KernelNftables {
        KernelNftables::in_netns(Arc::clone(&self.netns))
    }
}

impl Drop for NsGuard {
    fn drop(&mut self) {
        if let Err(e) = Netns::delete(&self.name) {
            eprintln!("cannot delete network namespace {}: {e}", self.name);
        }
    }
}

fn state(nft: &dyn Nftables, family: Family, table: &str) -> TableState {
    nft.list_table(family, table)
        .expect("list table")
        .unwrap_or_else(|| panic!("table {family} {table} is missing"))
}

/// Applies `tx` to both backends and checks they hold the same table.
fn apply_both(kernel: &KernelNftables, fake: &FakeNftables, tx: &Transaction) -> TableState {
    kernel
        .apply(tx)
        .unwrap_or_else(|e| panic!("kernel apply: {e}"));
    fake.apply(tx).unwrap_or_else(|e| panic!("fake apply: {e}"));
    let (k, f) = (
        state(kernel, tx.family(), tx.table()),
        state(fake, tx.family(), tx.table()),
    );
    assert_eq!(
        k.chains.keys().collect::<Vec<_>>(),
        f.chains.keys().collect::<Vec<_>>(),
        "same chains"
    );
    assert_eq!(k.rule_count(), f.rule_count(), "same rule count");
    for (name, set) in &f.sets {
        assert_eq!(
            k.sets[name].elements, set.elements,
            "elements of set {name}"
        );
    }
    assert_eq!(k.dump(), f.dump(), "kernel and fake dumps differ");
    k
}

#[test]
fn masquerade_table_matches_the_fake() {
    let ns = NsGuard::new();
    let (kernel, fake) = (ns.nft(), FakeNftables::new());
    let tx = masquerade_tx();
    let first = apply_both(&kernel, &fake, &tx);
    assert_eq!(first.rule_count(), 1);
    assert_eq!(first.sets["pods-v4"].elements.len(), 2);
    // Applying the same sync again changes nothing (flush chain + idempotent adds).
    assert_eq!(apply_both(&kernel, &fake, &tx), first);

    // A pod goes away.
    let mut del = Transaction::new(Family::Ip, "weft-masq");
    del.delete_element(Element::new("pods-v4", ["10.244.1.5"]));
    let after = apply_both(&kernel, &fake, &del);
    let pods: Vec<_> = after.sets["pods-v4"].elements.keys().collect();
    assert_eq!(pods, vec![&vec!["10.244.1.6".to_string()]]);

    // Deleting it again fails in both, and changes nothing.
    let err = kernel.apply(&del).expect_err("element is gone");
    assert!(
        matches!(&err, Error::Apply { stderr, .. } if stderr.contains("No such file or directory")),
        "{err}"
    );
    assert!(matches!(fake.apply(&del), Err(Error::NotFound { .. })));
    assert_eq!(state(&kernel, Family::Ip, "weft-masq"), after);
}

#[test]
fn a_bad_transaction_is_rejected_whole() {
    let ns = NsGuard::new();
    let (kernel, fake) = (ns.nft(), FakeNftables::new());
    let before = apply_both(&kernel, &fake, &masquerade_tx());

    let mut bad = Transaction::new(Family::Ip, "weft-masq");
    bad.add_element(Element::new("pods-v4", ["10.244.1.7"]))
        .flush_chain("postrouting")
        .add_rule(Rule::new("postrouting", "ip saddr @pods-v6 masquerade"));
    match kernel.apply(&bad) {
        Err(Error::Apply {
            table,
            stderr,
            script,
        }) => {
            assert_eq!(table, "ip weft-masq");
            assert!(stderr.contains("No such file or directory"), "{stderr}");
            assert!(
                stderr.contains("@pods-v6"),
                "nft names the failing line: {stderr}"
            );
            assert_eq!(script, bad.render().expect("render"));
        }
        other => panic!("expected Error::Apply, got {other:?}"),
    }
    assert!(matches!(fake.apply(&bad), Err(Error::NotFound { .. })));
    assert_eq!(
        state(&kernel, Family::Ip, "weft-masq"),
        before,
        "kernel unchanged"
    );
    assert_eq!(
        state(&fake, Family::Ip, "weft-masq"),
        before,
        "fake unchanged"
    );
}

#[test]
fn services_table_matches_the_fake() {
    let ns = NsGuard::new();
    let (kernel, fake) = (ns.nft(), FakeNftables::new());
    let state = apply_both(&kernel, &fake, &services_tx());
    assert_eq!(state.maps["service-ips"].elements.len(), 1);
    assert_eq!(state.sets["nodeport-ips"].elements.len(), 3);
}

#[test]
fn missing_tables() {
    let ns = NsGuard::new();
    let kernel = ns.nft();
    assert_eq!(
        kernel.list_table(Family::Ip, "weft-masq").expect("list"),
        None
    );
    kernel
        .delete_table(Family::Ip, "weft-masq")
        .expect("absent is ok");
    let mut del = Transaction::new(Family::Ip, "weft-masq");
    del.delete_table();
    assert!(matches!(kernel.apply(&del), Err(Error::Apply { .. })));

    kernel.apply(&masquerade_tx()).expect("apply");
    kernel
        .delete_table(Family::Ip, "weft-masq")
        .expect("delete");
    assert_eq!(
        kernel.list_table(Family::Ip, "weft-masq").expect("list"),
        None
    );
    // Nothing leaked into the host's namespace.
    assert!(
        KernelNftables::current()
            .list_table(Family::Ip, "weft-masq")
            .is_ok()
    );
}

#[test]
fn invalid_input_never_reaches_nft() {
    let ns = NsGuard::new();
    let kernel = ns.nft();
    let mut tx = Transaction::new(Family::Ip, "weft-masq");
    tx.add_table(Some("x\" ; } ; add table ip evil { comment \""));
    assert!(matches!(kernel.apply(&tx), Err(Error::Invalid { .. })));
    assert_eq!(kernel.list_table(Family::Ip, "evil").expect("list"), None);
    assert!(matches!(
        kernel.list_table(Family::Ip, "-a"),
        Err(Error::Invalid { .. })
    ));
}
