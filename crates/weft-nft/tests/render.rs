//! Golden and validation tests of `Transaction::render`.

mod common;

use common::{assert_golden, masquerade_tx, services_tx};
use weft_nft::{
    Chain, ChainType, Element, Error, Family, Hook, Map, Rule, Set, Transaction, Verdict,
    priority_expr,
};

#[test]
fn masquerade_script_matches_golden() {
    let tx = masquerade_tx();
    assert_eq!(tx.len(), 10);
    assert!(!tx.is_empty());
    assert_golden("masquerade.nft", &tx.render().expect("render"));
}

#[test]
fn services_script_matches_golden() {
    assert_golden("services.nft", &services_tx().render().expect("render"));
}

#[test]
fn render_is_deterministic_and_one_command_per_line() {
    let tx = masquerade_tx();
    let a = tx.render().expect("render");
    assert_eq!(a, tx.clone().render().expect("render"));
    assert_eq!(a.lines().count(), tx.len());
    assert!(a.ends_with('\n'));
}

#[test]
fn empty_transaction_renders_nothing() {
    let tx = Transaction::new(Family::Ip6, "t");
    assert!(tx.is_empty());
    assert_eq!(tx.len(), 0);
    assert_eq!(tx.render().expect("render"), "");
}

#[test]
fn priorities_use_nft_names_where_valid() {
    let cases = [
        (Hook::Postrouting, 100, "srcnat"),
        (Hook::Postrouting, 110, "srcnat + 10"),
        (Hook::Prerouting, -100, "dstnat"),
        (Hook::Prerouting, -105, "dstnat - 5"),
        // dstnat/srcnat are rejected by nft outside prerouting/postrouting.
        (Hook::Output, -100, "-100"),
        (Hook::Input, 100, "100"),
        (Hook::Input, 0, "filter"),
        (Hook::Forward, -10, "filter - 10"),
        (Hook::Forward, 11, "11"),
        (Hook::Output, -300, "raw"),
        (Hook::Output, -150, "mangle"),
        (Hook::Input, 50, "security"),
        (Hook::Input, 60, "security + 10"),
        (Hook::Input, -400, "-400"),
    ];
    for (hook, prio, want) in cases {
        assert_eq!(priority_expr(hook, prio), want, "{hook} {prio}");
    }
}

#[test]
fn renders_each_kind_of_operation() {
    let mut tx = Transaction::new(Family::Ip6, "t");
    tx.delete_table()
        .flush_table()
        .add_chain(Chain::regular("c"))
        .delete_chain("c")
        .flush_set("s")
        .delete_set("s")
        .add_map(Map::new("m", "ipv6_addr", "ipv6_addr . inet_service"))
        .flush_map("m")
        .delete_map("m")
        .delete_element(Element::new("s", ["::1"]).with_comment("ignored"))
        .add_chain(Chain {
            base: Some(weft_nft::BaseChain {
                kind: ChainType::Filter,
                hook: Hook::Input,
                priority: 0,
                policy: Some(Verdict::Drop),
            }),
            ..Chain::regular("in")
        });
    let expected = "delete table ip6 t
flush table ip6 t
add chain ip6 t c
delete chain ip6 t c
flush set ip6 t s
delete set ip6 t s
add map ip6 t m { type ipv6_addr : ipv6_addr . inet_service ; }
flush map ip6 t m
delete map ip6 t m
delete element ip6 t s { ::1 }
add chain ip6 t in { type filter hook input priority filter ; policy drop ; }
";
    assert_eq!(tx.render().expect("render"), expected);
}

/// Renders a one-operation transaction and expects `Error::Invalid` naming `verb`.
fn assert_invalid(build: impl FnOnce(&mut Transaction), verb: &str) {
    let mut tx = Transaction::new(Family::Ip, "weft-masq");
    build(&mut tx);
    match tx.render() {
        Err(Error::Invalid { op, object, reason }) => {
            assert_eq!(op, verb, "{object}: {reason}");
        }
        other => panic!("expected Error::Invalid for {verb}, got {other:?}"),
    }
}

#[test]
fn rejects_anything_that_could_inject_commands() {
    assert_invalid(
        |tx| {
            tx.add_table(Some("x\" ; } flush ruleset ; add table ip y {"));
        },
        "add table",
    );
    assert_invalid(
        |tx| {
            tx.add_table(Some("line\nflush ruleset"));
        },
        "add table",
    );
    assert_invalid(
        |tx| {
            tx.add_chain(Chain::regular("c; flush ruleset"));
        },
        "add chain",
    );
    assert_invalid(
        |tx| {
            tx.add_chain(Chain::regular("c").with_comment("a\\b"));
        },
        "add chain",
    );
    assert_invalid(
        |tx| {
            tx.add_rule(Rule::new("c", "accept; flush ruleset"));
        },
        "add rule",
    );
    assert_invalid(
        |tx| {
            tx.add_rule(Rule::new("c", "accept\nflush ruleset"));
        },
        "add rule",
    );
    assert_invalid(
        |tx| {
            tx.add_rule(Rule::new("c", "accept comment \"x"));
        },
        "add rule",
    );
    assert_invalid(
        |tx| {
            tx.add_rule(Rule::new("c", "accept").with_comment("\""));
        },
        "add rule",
    );
    assert_invalid(
        |tx| {
            tx.add_rule(Rule::new("9c", "accept"));
        },
        "add rule",
    );
    assert_invalid(
        |tx| {
            tx.add_set(Set::new("s", "ipv4_addr ; flags interval"));
        },
        "add set",
    );
    assert_invalid(
        |tx| {
            tx.add_set(Set::new("s s", "ipv4_addr"));
        },
        "add set",
    );
    assert_invalid(
        |tx| {
            tx.add_element(Element::new(
                "s",
                ["1.1.1.1 } ; flush ruleset ; add element ip t s { 2.2.2.2"],
            ));
        },
        "add element",
    );
    assert_invalid(
        |tx| {
            tx.add_element(Element::new("s", Vec::<String>::new()));
        },
        "add element",
    );
    assert_invalid(
        |tx| {
            tx.add_element(Element::new("m", ["1.1.1.1"]).with_value(["goto x;"]));
        },
        "add element",
    );
    assert_invalid(
        |tx| {
            tx.delete_element(Element::new("s", ["a,b"]));
        },
        "delete element",
    );
    assert_invalid(
        |tx| {
            tx.flush_chain("-c");
        },
        "flush chain",
    );
    // The table name itself is validated for every operation.
    let mut tx = Transaction::new(Family::Ip, "t;x");
    tx.flush_table();
    assert!(matches!(tx.render(), Err(Error::Invalid { .. })));
}

#[test]
fn rejects_impossible_chains() {
    assert_invalid(
        |tx| {
            tx.add_chain(Chain::base("f", ChainType::Nat, Hook::Forward, 0));
        },
        "add chain",
    );
    assert_invalid(
        |tx| {
            tx.add_chain(Chain::base("r", ChainType::Route, Hook::Input, 0));
        },
        "add chain",
    );
    assert_invalid(
        |tx| {
            let mut chain = Chain::base("p", ChainType::Filter, Hook::Input, 0);
            if let Some(b) = &mut chain.base {
                b.policy = Some(Verdict::Jump("x".into()));
            }
            tx.add_chain(chain);
        },
        "add chain",
    );
    let mut chain = Chain::regular("c");
    chain.table = "other".into();
    assert_invalid(
        |tx| {
            tx.add_chain(chain);
        },
        "add chain",
    );
}

#[test]
fn error_names_operation_and_object() {
    let mut tx = Transaction::new(Family::Ip, "weft-masq");
    tx.add_rule(Rule::new("postrouting", "accept").with_comment("a\"b"));
    let err = tx.render().expect_err("quote in comment");
    let text = err.to_string();
    assert!(
        text.starts_with("add rule chain ip weft-masq postrouting: invalid:"),
        "{text}"
    );
}
