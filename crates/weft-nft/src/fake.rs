//! [`FakeNftables`]: an in-memory nftables with the kernel's semantics where weft depends
//! on them, checked against the real kernel by `tests/kernel.rs`.
//!
//! - A transaction is atomic: it is applied to a copy that replaces the state only if
//!   every operation succeeded.
//! - `add table/chain/set/map/element` are idempotent; re-adding with a different
//!   definition fails as the kernel does (`EEXIST`, or `EOPNOTSUPP` for a base chain's
//!   hook or priority); the comment of an existing object is kept.
//! - `add rule` appends, so adding a rule twice gives two rules.
//! - Objects in a missing table, chain or set, rules referring to a missing `@set` or
//!   `jump` target, deleting a missing object or element: `ENOENT`-like errors.
//! - Deleting a chain with rules or one that is jumped to, or a set used by a rule:
//!   `EBUSY`-like errors.
//! - Element keys are checked against the set type (address family, prefixes only with
//!   `flags interval`, overlapping intervals) and stored in nft's canonical spelling.
//!
//! Not modelled: rule expressions beyond their references (nft parses them), element
//! timeouts, `constant` sets, service names (`http` stays `http`, the kernel says `80`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use crate::elements::{canonical_parts, key_interval};
use crate::state::{ChainState, ElementState, MapState, RuleState, SetState, TableState};
use crate::transaction::Op;
use crate::types::{Chain, Element, Family, SetFlag, Table, Verdict};
use crate::validate::{normalize_type, references};
use crate::{Error, Nftables, Transaction};

/// An in-memory [`Nftables`] for tests of the code above weft-nft.
#[derive(Debug, Default)]
pub struct FakeNftables {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tables: BTreeMap<(Family, String), TableState>,
    applied: usize,
}

impl FakeNftables {
    /// An empty ruleset.
    pub fn new() -> FakeNftables {
        FakeNftables::default()
    }

    /// Number of transactions applied successfully so far.
    pub fn applied_count(&self) -> usize {
        self.lock().applied
    }

    /// Snapshots of all tables, sorted by family and name.
    pub fn tables(&self) -> Vec<TableState> {
        self.lock().tables.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // State is replaced only after a transaction fully succeeded, so a panic while
        // holding the lock cannot leave it half-updated.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Nftables for FakeNftables {
    fn apply(&self, tx: &Transaction) -> Result<(), Error> {
        // The same validation the kernel backend runs before calling nft.
        tx.render()?;
        let mut inner = self.lock();
        let key = (tx.family(), tx.table().to_string());
        let mut table = inner.tables.get(&key).cloned();
        for op in tx.ops() {
            let ctx = Ctx {
                op: op.verb(),
                object: op.object(tx.family(), tx.table()),
                family: tx.family(),
                table: tx.table(),
            };
            apply_op(&ctx, &mut table, op)?;
        }
        match table {
            Some(t) => inner.tables.insert(key, t),
            None => inner.tables.remove(&key),
        };
        inner.applied += 1;
        Ok(())
    }

    fn list_table(&self, family: Family, name: &str) -> Result<Option<TableState>, Error> {
        Ok(self.lock().tables.get(&(family, name.to_string())).cloned())
    }

    fn delete_table(&self, family: Family, name: &str) -> Result<(), Error> {
        self.lock().tables.remove(&(family, name.to_string()));
        Ok(())
    }
}

/// What an error needs to say where it happened.
struct Ctx<'a> {
    op: &'static str,
    object: String,
    family: Family,
    table: &'a str,
}

impl Ctx<'_> {
    fn missing(&self, kind: &str, name: &str) -> Error {
        let missing = if kind == "table" {
            format!("table {} {}", self.family, self.table)
        } else {
            format!("{kind} {} {} {name}", self.family, self.table)
        };
        Error::NotFound {
            op: self.op,
            object: self.object.clone(),
            missing,
        }
    }
    fn exists(&self, reason: impl Into<String>) -> Error {
        Error::Exists {
            op: self.op,
            object: self.object.clone(),
            reason: reason.into(),
        }
    }
    fn busy(&self, reason: impl Into<String>) -> Error {
        Error::Busy {
            op: self.op,
            object: self.object.clone(),
            reason: reason.into(),
        }
    }
    fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::Invalid {
            op: self.op,
            object: self.object.clone(),
            reason: reason.into(),
        }
    }
}

fn apply_op(ctx: &Ctx<'_>, table: &mut Option<TableState>, op: &Op) -> Result<(), Error> {
    match op {
        Op::AddTable { comment } => {
            if table.is_none() {
                *table = Some(TableState::new(Table {
                    family: ctx.family,
                    name: ctx.table.to_string(),
                    comment: comment.clone(),
                }));
            }
            return Ok(());
        }
        Op::DeleteTable => {
            return match table.take() {
                Some(_) => Ok(()),
                None => Err(ctx.missing("table", "")),
            };
        }
        _ => {}
    }
    let t = table.as_mut().ok_or_else(|| ctx.missing("table", ""))?;
    match op {
        Op::AddTable { .. } | Op::DeleteTable => {}
        Op::FlushTable => t.chains.values_mut().for_each(|c| c.rules.clear()),
        Op::AddChain(chain) => add_chain(ctx, t, chain)?,
        Op::FlushChain(name) => chain_mut(ctx, t, name)?.rules.clear(),
        Op::DeleteChain(name) => delete_chain(ctx, t, name)?,
        Op::AddRule(rule) => {
            check_references(ctx, t, &rule.expr)?;
            let expr = rule.expr.split_whitespace().collect::<Vec<_>>().join(" ");
            chain_mut(ctx, t, &rule.chain)?.rules.push(RuleState {
                expr,
                comment: rule.comment.clone(),
            });
        }
        Op::AddSet(set) => {
            let def = SetState {
                type_: normalize_type(&set.type_).map_err(|e| ctx.invalid(e))?,
                flags: set.flags.iter().copied().collect(),
                comment: set.comment.clone(),
                elements: BTreeMap::new(),
            };
            if t.maps.contains_key(&set.name) {
                return Err(ctx.exists("a map has this name"));
            }
            match t.sets.get(&set.name) {
                Some(old) if old.type_ != def.type_ || old.flags != def.flags => {
                    return Err(ctx.exists("the set exists with another type or flags"));
                }
                Some(_) => {}
                None => {
                    t.sets.insert(set.name.clone(), def);
                }
            }
        }
        Op::AddMap(map) => {
            let def = MapState {
                key_type: normalize_type(&map.key_type).map_err(|e| ctx.invalid(e))?,
                value_type: normalize_type(&map.value_type).map_err(|e| ctx.invalid(e))?,
                flags: map.flags.iter().copied().collect(),
                comment: map.comment.clone(),
                elements: BTreeMap::new(),
            };
            if t.sets.contains_key(&map.name) {
                return Err(ctx.exists("a set has this name"));
            }
            match t.maps.get(&map.name) {
                Some(old)
                    if old.key_type != def.key_type
                        || old.value_type != def.value_type
                        || old.flags != def.flags =>
                {
                    return Err(ctx.exists("the map exists with another type or flags"));
                }
                Some(_) => {}
                None => {
                    t.maps.insert(map.name.clone(), def);
                }
            }
        }
        Op::FlushSet(name) => {
            let set = t
                .sets
                .get_mut(name)
                .ok_or_else(|| ctx.missing("set", name))?;
            set.elements.clear();
        }
        Op::FlushMap(name) => {
            let map = t
                .maps
                .get_mut(name)
                .ok_or_else(|| ctx.missing("map", name))?;
            map.elements.clear();
        }
        Op::DeleteSet(name) => {
            if !t.sets.contains_key(name) {
                return Err(ctx.missing("set", name));
            }
            check_set_unused(ctx, t, name)?;
            t.sets.remove(name);
        }
        Op::DeleteMap(name) => {
            if !t.maps.contains_key(name) {
                return Err(ctx.missing("map", name));
            }
            check_set_unused(ctx, t, name)?;
            t.maps.remove(name);
        }
        Op::AddElement(e) => add_element(ctx, t, e)?,
        Op::DeleteElement(e) => delete_element(ctx, t, e)?,
    }
    Ok(())
}

fn chain_mut<'t>(
    ctx: &Ctx<'_>,
    t: &'t mut TableState,
    name: &str,
) -> Result<&'t mut ChainState, Error> {
    t.chains
        .get_mut(name)
        .ok_or_else(|| ctx.missing("chain", name))
}

fn add_chain(ctx: &Ctx<'_>, t: &mut TableState, chain: &Chain) -> Result<(), Error> {
    let mut base = chain.base.clone();
    if let Some(b) = &mut base {
        // The kernel reports a base chain's policy even when none was given.
        b.policy.get_or_insert(Verdict::Accept);
    }
    let Some(old) = t.chains.get_mut(&chain.name) else {
        t.chains.insert(
            chain.name.clone(),
            ChainState {
                base,
                comment: chain.comment.clone(),
                rules: Vec::new(),
            },
        );
        return Ok(());
    };
    match (&mut old.base, &chain.base) {
        // Re-adding without hook leaves any chain as it is.
        (_, None) => Ok(()),
        (None, Some(_)) => Err(ctx.exists("a regular chain has this name")),
        (Some(o), Some(n)) => {
            if o.kind != n.kind {
                return Err(ctx.exists(format!("the chain has type {}", o.kind)));
            }
            if o.hook != n.hook || o.priority != n.priority {
                return Err(Error::Unsupported {
                    op: ctx.op,
                    object: ctx.object.clone(),
                    reason: format!(
                        "the chain is at hook {} priority {}; delete and re-create it to move it",
                        o.hook, o.priority
                    ),
                });
            }
            // Only an explicitly given policy changes the existing one.
            if let Some(p) = &n.policy {
                o.policy = Some(p.clone());
            }
            Ok(())
        }
    }
}

fn delete_chain(ctx: &Ctx<'_>, t: &mut TableState, name: &str) -> Result<(), Error> {
    let chain = t
        .chains
        .get(name)
        .ok_or_else(|| ctx.missing("chain", name))?;
    if !chain.rules.is_empty() {
        return Err(ctx.busy(format!("the chain has {} rule(s)", chain.rules.len())));
    }
    for (other, c) in &t.chains {
        if c.rules
            .iter()
            .any(|r| references(&r.expr).chains.iter().any(|n| n == name))
        {
            return Err(ctx.busy(format!("chain {other} jumps to it")));
        }
    }
    for (map_name, map) in &t.maps {
        let targets = map.elements.values().filter_map(|e| e.value.as_ref());
        if targets.flatten().any(|v| verdict_target(v) == Some(name)) {
            return Err(ctx.busy(format!("map {map_name} jumps to it")));
        }
    }
    t.chains.remove(name);
    Ok(())
}

/// The chain a `jump`/`goto` value part refers to.
fn verdict_target(value: &str) -> Option<&str> {
    value
        .strip_prefix("jump ")
        .or_else(|| value.strip_prefix("goto "))
}

fn check_references(ctx: &Ctx<'_>, t: &TableState, expr: &str) -> Result<(), Error> {
    let refs = references(expr);
    for set in &refs.sets {
        if !t.sets.contains_key(set) && !t.maps.contains_key(set) {
            return Err(ctx.missing("set", set));
        }
    }
    for chain in &refs.chains {
        if !t.chains.contains_key(chain) {
            return Err(ctx.missing("chain", chain));
        }
    }
    Ok(())
}

fn check_set_unused(ctx: &Ctx<'_>, t: &TableState, name: &str) -> Result<(), Error> {
    for (chain, c) in &t.chains {
        if c.rules
            .iter()
            .any(|r| references(&r.expr).sets.iter().any(|n| n == name))
        {
            return Err(ctx.busy(format!("a rule of chain {chain} uses it")));
        }
    }
    Ok(())
}

/// The parts of a set or map an element operation needs.
struct Target<'t> {
    key_type: &'t str,
    value_type: Option<&'t str>,
    flags: &'t BTreeSet<SetFlag>,
    elements: &'t mut BTreeMap<Vec<String>, ElementState>,
}

fn target<'t>(ctx: &Ctx<'_>, t: &'t mut TableState, name: &str) -> Result<Target<'t>, Error> {
    if let Some(s) = t.sets.get_mut(name) {
        return Ok(Target {
            key_type: &s.type_,
            value_type: None,
            flags: &s.flags,
            elements: &mut s.elements,
        });
    }
    if let Some(m) = t.maps.get_mut(name) {
        return Ok(Target {
            key_type: &m.key_type,
            value_type: Some(&m.value_type),
            flags: &m.flags,
            elements: &mut m.elements,
        });
    }
    Err(ctx.missing("set", name))
}

fn canonical_key(ctx: &Ctx<'_>, target: &Target<'_>, e: &Element) -> Result<Vec<String>, Error> {
    let interval = target.flags.contains(&SetFlag::Interval);
    canonical_parts(target.key_type, &e.key, interval).map_err(|r| ctx.invalid(r))
}

fn add_element(ctx: &Ctx<'_>, t: &mut TableState, e: &Element) -> Result<(), Error> {
    let chains: BTreeSet<String> = t.chains.keys().cloned().collect();
    let target = target(ctx, t, &e.set_or_map)?;
    let key = canonical_key(ctx, &target, e)?;
    let value = match (target.value_type, &e.value) {
        (None, None) => None,
        (None, Some(_)) => return Err(ctx.invalid("a set element has no value")),
        (Some(_), None) => return Err(ctx.invalid("a map element needs a value")),
        (Some(ty), Some(v)) => {
            let v = canonical_parts(ty, v, false).map_err(|r| ctx.invalid(r))?;
            if let Some(chain) = v.iter().find_map(|p| verdict_target(p)) {
                if !chains.contains(chain) {
                    return Err(ctx.missing("chain", chain));
                }
            }
            Some(v)
        }
    };
    if let Some(old) = target.elements.get(&key) {
        if old.value != value {
            return Err(ctx.exists("the element exists with another value"));
        }
        return Ok(());
    }
    if target.flags.contains(&SetFlag::Interval) {
        if let Some(new) = key_interval(target.key_type, &key) {
            let overlapping = target
                .elements
                .keys()
                .filter_map(|k| key_interval(target.key_type, k))
                .any(|old| old.overlaps(&new));
            if overlapping {
                return Err(ctx.exists("interval overlaps with an existing one"));
            }
        }
    }
    target.elements.insert(
        key,
        ElementState {
            value,
            comment: e.comment.clone(),
        },
    );
    Ok(())
}

fn delete_element(ctx: &Ctx<'_>, t: &mut TableState, e: &Element) -> Result<(), Error> {
    let target = target(ctx, t, &e.set_or_map)?;
    let key = canonical_key(ctx, &target, e)?;
    match target.elements.remove(&key) {
        Some(_) => Ok(()),
        None => Err(Error::NotFound {
            op: ctx.op,
            object: ctx.object.clone(),
            missing: format!("element {}", key.join(" . ")),
        }),
    }
}
