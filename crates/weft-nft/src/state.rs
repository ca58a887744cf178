//! Canonical snapshots of a table: what a backend holds, comparable with `==` and
//! printable with [`TableState::dump`] for golden files. Both backends produce the same
//! snapshot for the same table (element keys in nft's canonical spelling, base chains
//! with their effective policy, sets and chains sorted by name).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::types::{BaseChain, SetFlag, Table, Verdict, priority_expr};

/// A snapshot of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableState {
    /// Family, name and comment.
    pub table: Table,
    /// Chains by name.
    pub chains: BTreeMap<String, ChainState>,
    /// Sets by name.
    pub sets: BTreeMap<String, SetState>,
    /// Maps by name.
    pub maps: BTreeMap<String, MapState>,
}

/// A chain: hook attachment and rules in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainState {
    /// Hook attachment (with `policy` always set) for base chains.
    pub base: Option<BaseChain>,
    /// Comment.
    pub comment: Option<String>,
    /// Rules, in evaluation order.
    pub rules: Vec<RuleState>,
}

/// A rule as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleState {
    /// Expression text (for the kernel: as `nft list` prints it, without the comment).
    pub expr: String,
    /// Comment.
    pub comment: Option<String>,
}

/// A set: definition and elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetState {
    /// Element type, canonical spelling (`"ipv4_addr . inet_service"`).
    pub type_: String,
    /// Flags.
    pub flags: BTreeSet<SetFlag>,
    /// Comment.
    pub comment: Option<String>,
    /// Elements by canonical key.
    pub elements: BTreeMap<Vec<String>, ElementState>,
}

/// A map: definition and elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapState {
    /// Key type, canonical spelling.
    pub key_type: String,
    /// Value type, canonical spelling.
    pub value_type: String,
    /// Flags.
    pub flags: BTreeSet<SetFlag>,
    /// Comment.
    pub comment: Option<String>,
    /// Elements by canonical key.
    pub elements: BTreeMap<Vec<String>, ElementState>,
}

/// What an element carries besides its key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ElementState {
    /// Map value parts (`None` in sets).
    pub value: Option<Vec<String>>,
    /// Comment.
    pub comment: Option<String>,
}

impl TableState {
    /// An empty table.
    pub fn new(table: Table) -> TableState {
        TableState {
            table,
            chains: BTreeMap::new(),
            sets: BTreeMap::new(),
            maps: BTreeMap::new(),
        }
    }

    /// Total number of rules in all chains.
    pub fn rule_count(&self) -> usize {
        self.chains.values().map(|c| c.rules.len()).sum()
    }

    /// The canonical text of the snapshot: nft-like, sorted, one item per line.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        let t = &self.table;
        let _ = writeln!(out, "table {} {} {{", t.family, t.name);
        if let Some(c) = &t.comment {
            let _ = writeln!(out, "\tcomment \"{c}\"");
        }
        for (name, set) in &self.sets {
            let _ = writeln!(out, "\tset {name} {{");
            let _ = writeln!(out, "\t\ttype {}", set.type_);
            dump_props(&mut out, &set.flags, &set.comment);
            dump_elements(&mut out, &set.elements);
            let _ = writeln!(out, "\t}}");
        }
        for (name, map) in &self.maps {
            let _ = writeln!(out, "\tmap {name} {{");
            let _ = writeln!(out, "\t\ttype {} : {}", map.key_type, map.value_type);
            dump_props(&mut out, &map.flags, &map.comment);
            dump_elements(&mut out, &map.elements);
            let _ = writeln!(out, "\t}}");
        }
        for (name, chain) in &self.chains {
            let _ = writeln!(out, "\tchain {name} {{");
            if let Some(c) = &chain.comment {
                let _ = writeln!(out, "\t\tcomment \"{c}\"");
            }
            if let Some(b) = &chain.base {
                let policy = b.policy.clone().unwrap_or(Verdict::Accept);
                let prio = priority_expr(b.hook, b.priority);
                let _ = writeln!(
                    out,
                    "\t\ttype {} hook {} priority {prio}; policy {policy};",
                    b.kind, b.hook
                );
            }
            for rule in &chain.rules {
                match &rule.comment {
                    Some(c) => {
                        let _ = writeln!(out, "\t\t{} comment \"{c}\"", rule.expr);
                    }
                    None => {
                        let _ = writeln!(out, "\t\t{}", rule.expr);
                    }
                }
            }
            let _ = writeln!(out, "\t}}");
        }
        out.push_str("}\n");
        out
    }
}

fn dump_props(out: &mut String, flags: &BTreeSet<SetFlag>, comment: &Option<String>) {
    if !flags.is_empty() {
        let names: Vec<&str> = flags.iter().map(SetFlag::as_str).collect();
        let _ = writeln!(out, "\t\tflags {}", names.join(","));
    }
    if let Some(c) = comment {
        let _ = writeln!(out, "\t\tcomment \"{c}\"");
    }
}

fn dump_elements(out: &mut String, elements: &BTreeMap<Vec<String>, ElementState>) {
    if elements.is_empty() {
        return;
    }
    let _ = writeln!(out, "\t\telements = {{");
    for (key, e) in elements {
        let mut line = key.join(" . ");
        if let Some(c) = &e.comment {
            let _ = write!(line, " comment \"{c}\"");
        }
        if let Some(v) = &e.value {
            let _ = write!(line, " : {}", v.join(" . "));
        }
        let _ = writeln!(out, "\t\t\t{line}");
    }
    let _ = writeln!(out, "\t\t}}");
}
