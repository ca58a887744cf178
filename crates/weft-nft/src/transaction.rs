//! Transactions: an ordered list of operations on one table, plain data that renders to
//! an `nft -f` script (one command per line). A backend applies a transaction as one
//! atomic batch: all operations take effect, or none.

use crate::Error;
use crate::types::priority_expr;
use crate::types::{Chain, ChainType, Element, Family, Hook, Map, Rule, Set, SetFlag, Verdict};
use crate::validate::{
    check_comment, check_expr, check_name, check_part, check_value_part, normalize_type,
};

/// One operation of a [`Transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `add table` (creates it, or leaves an existing table unchanged).
    AddTable {
        /// Comment, used when the table is created.
        comment: Option<String>,
    },
    /// `delete table` (with everything in it); an error if it does not exist.
    DeleteTable,
    /// `flush table`: removes every rule of every chain (sets keep their elements).
    FlushTable,
    /// `add chain` (creates it; an existing chain keeps its rules).
    AddChain(Chain),
    /// `flush chain`: removes the chain's rules.
    FlushChain(String),
    /// `delete chain`: the chain must be empty and unreferenced.
    DeleteChain(String),
    /// `add rule`: appends a rule (adding the same rule twice gives two rules).
    AddRule(Rule),
    /// `add set` (creates it; an existing set with the same definition is kept).
    AddSet(Set),
    /// `flush set`: removes all elements.
    FlushSet(String),
    /// `delete set`: the set must not be referenced by a rule.
    DeleteSet(String),
    /// `add map` (creates it; an existing map with the same definition is kept).
    AddMap(Map),
    /// `flush map`: removes all elements.
    FlushMap(String),
    /// `delete map`.
    DeleteMap(String),
    /// `add element` (an existing identical element is kept).
    AddElement(Element),
    /// `delete element`: an error if the element does not exist.
    DeleteElement(Element),
}

impl Op {
    /// The nft command of this operation, e.g. `"add rule"`.
    pub fn verb(&self) -> &'static str {
        match self {
            Op::AddTable { .. } => "add table",
            Op::DeleteTable => "delete table",
            Op::FlushTable => "flush table",
            Op::AddChain(_) => "add chain",
            Op::FlushChain(_) => "flush chain",
            Op::DeleteChain(_) => "delete chain",
            Op::AddRule(_) => "add rule",
            Op::AddSet(_) => "add set",
            Op::FlushSet(_) => "flush set",
            Op::DeleteSet(_) => "delete set",
            Op::AddMap(_) => "add map",
            Op::FlushMap(_) => "flush map",
            Op::DeleteMap(_) => "delete map",
            Op::AddElement(_) => "add element",
            Op::DeleteElement(_) => "delete element",
        }
    }

    /// The object this operation is about, e.g. `"chain ip weft-masq postrouting"`.
    pub fn object(&self, family: Family, table: &str) -> String {
        let named = |kind: &str, name: &str| format!("{kind} {family} {table} {name}");
        match self {
            Op::AddTable { .. } | Op::DeleteTable | Op::FlushTable => {
                format!("table {family} {table}")
            }
            Op::AddChain(c) => named("chain", &c.name),
            Op::FlushChain(n) | Op::DeleteChain(n) => named("chain", n),
            Op::AddRule(r) => named("chain", &r.chain),
            Op::AddSet(s) => named("set", &s.name),
            Op::FlushSet(n) | Op::DeleteSet(n) => named("set", n),
            Op::AddMap(m) => named("map", &m.name),
            Op::FlushMap(n) | Op::DeleteMap(n) => named("map", n),
            Op::AddElement(e) | Op::DeleteElement(e) => format!(
                "element {{ {} }} of {family} {table} {}",
                e.key.join(" . "),
                e.set_or_map
            ),
        }
    }
}

/// An ordered list of operations on one table, applied atomically by a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    family: Family,
    table: String,
    ops: Vec<Op>,
}

impl Transaction {
    /// An empty transaction on table `table` of `family`.
    pub fn new(family: Family, table: impl Into<String>) -> Transaction {
        Transaction {
            family,
            table: table.into(),
            ops: Vec::new(),
        }
    }

    /// The table's family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Appends an operation.
    pub fn push(&mut self, op: Op) -> &mut Self {
        self.ops.push(op);
        self
    }

    /// `add table`, with a comment used if the table is created.
    pub fn add_table(&mut self, comment: Option<&str>) -> &mut Self {
        self.push(Op::AddTable {
            comment: comment.map(str::to_owned),
        })
    }

    /// `delete table`.
    pub fn delete_table(&mut self) -> &mut Self {
        self.push(Op::DeleteTable)
    }

    /// `flush table`.
    pub fn flush_table(&mut self) -> &mut Self {
        self.push(Op::FlushTable)
    }

    /// `add chain`; an empty `chain.table` becomes this transaction's table.
    pub fn add_chain(&mut self, mut chain: Chain) -> &mut Self {
        if chain.table.is_empty() {
            chain.table = self.table.clone();
        }
        self.push(Op::AddChain(chain))
    }

    /// `flush chain`.
    pub fn flush_chain(&mut self, name: impl Into<String>) -> &mut Self {
        self.push(Op::FlushChain(name.into()))
    }

    /// `delete chain`.
    pub fn delete_chain(&mut self, name: impl Into<String>) -> &mut Self {
        self.push(Op::DeleteChain(name.into()))
    }

    /// `add rule` (appends).
    pub fn add_rule(&mut self, rule: Rule) -> &mut Self {
        self.push(Op::AddRule(rule))
    }

    /// `add set`.
    pub fn add_set(&mut self, set: Set) -> &mut Self {
        self.push(Op::AddSet(set))
    }

    /// `flush set`.
    pub fn flush_set(&mut self, name: impl Into<String>) -> &mut Self {
        self.push(Op::FlushSet(name.into()))
    }

    /// `delete set`.
    pub fn delete_set(&mut self, name: impl Into<String>) -> &mut Self {
        self.push(Op::DeleteSet(name.into()))
    }

    /// `add map`.
    pub fn add_map(&mut self, map: Map) -> &mut Self {
        self.push(Op::AddMap(map))
    }

    /// `flush map`.
    pub fn flush_map(&mut self, name: impl Into<String>) -> &mut Self {
        self.push(Op::FlushMap(name.into()))
    }

    /// `delete map`.
    pub fn delete_map(&mut self, name: impl Into<String>) -> &mut Self {
        self.push(Op::DeleteMap(name.into()))
    }

    /// `add element`.
    pub fn add_element(&mut self, element: Element) -> &mut Self {
        self.push(Op::AddElement(element))
    }

    /// `delete element` (key only; value and comment are ignored).
    pub fn delete_element(&mut self, element: Element) -> &mut Self {
        self.push(Op::DeleteElement(element))
    }

    /// `"ip weft-masq"`: how errors name the table.
    pub fn table_label(&self) -> String {
        format!("{} {}", self.family, self.table)
    }

    /// Renders the `nft -f` script: one command per line, in order, deterministic.
    /// Fails with [`Error::Invalid`] if any name, comment, type, element or rule could
    /// not be rendered safely; nothing partial is returned.
    pub fn render(&self) -> Result<String, Error> {
        let mut script = String::new();
        for op in &self.ops {
            let invalid = |reason: String| Error::Invalid {
                op: op.verb(),
                object: op.object(self.family, &self.table),
                reason,
            };
            let line = self.render_op(op).map_err(invalid)?;
            script.push_str(&line);
            script.push('\n');
        }
        Ok(script)
    }

    fn render_op(&self, op: &Op) -> Result<String, String> {
        check_name(&self.table)?;
        let head = |name: &str| -> Result<String, String> {
            check_name(name)?;
            Ok(format!(
                "{} {} {} {}",
                op.verb(),
                self.family,
                self.table,
                name
            ))
        };
        Ok(match op {
            Op::AddTable { comment } => {
                let mut line = format!("add table {} {}", self.family, self.table);
                if let Some(c) = comment {
                    check_comment(c)?;
                    line.push_str(&format!(" {{ comment \"{c}\" ; }}"));
                }
                line
            }
            Op::DeleteTable | Op::FlushTable => {
                format!("{} {} {}", op.verb(), self.family, self.table)
            }
            Op::AddChain(chain) => format!("{}{}", head(&chain.name)?, self.chain_body(chain)?),
            Op::AddRule(rule) => {
                check_expr(&rule.expr)?;
                let mut line = format!("{} {}", head(&rule.chain)?, rule.expr.trim());
                push_comment(&mut line, rule.comment.as_deref())?;
                line
            }
            Op::AddSet(set) => {
                let ty = normalize_type(&set.type_)?;
                format!(
                    "{} {{ type {ty} ; {}}}",
                    head(&set.name)?,
                    props(&set.flags, &set.comment)?
                )
            }
            Op::AddMap(map) => {
                let key = normalize_type(&map.key_type)?;
                let value = normalize_type(&map.value_type)?;
                let props = props(&map.flags, &map.comment)?;
                format!("{} {{ type {key} : {value} ; {props}}}", head(&map.name)?)
            }
            Op::FlushChain(n)
            | Op::DeleteChain(n)
            | Op::FlushSet(n)
            | Op::DeleteSet(n)
            | Op::FlushMap(n)
            | Op::DeleteMap(n) => head(n)?,
            Op::AddElement(e) => {
                format!("{} {{ {} }}", head(&e.set_or_map)?, element_body(e, true)?)
            }
            Op::DeleteElement(e) => {
                format!("{} {{ {} }}", head(&e.set_or_map)?, element_body(e, false)?)
            }
        })
    }

    fn chain_body(&self, chain: &Chain) -> Result<String, String> {
        if chain.table != self.table {
            return Err(format!(
                "the chain belongs to table {:?}, the transaction to {:?}",
                chain.table, self.table
            ));
        }
        let mut props = Vec::new();
        if let Some(base) = &chain.base {
            check_base(base.kind, base.hook)?;
            let prio = priority_expr(base.hook, base.priority);
            props.push(format!(
                "type {} hook {} priority {prio}",
                base.kind, base.hook
            ));
            match &base.policy {
                None => {}
                Some(p @ (Verdict::Accept | Verdict::Drop)) => props.push(format!("policy {p}")),
                Some(p) => return Err(format!("policy {p} is not allowed (accept or drop)")),
            }
        }
        if let Some(c) = &chain.comment {
            check_comment(c)?;
            props.push(format!("comment \"{c}\""));
        }
        if props.is_empty() {
            return Ok(String::new());
        }
        Ok(format!(" {{ {} ; }}", props.join(" ; ")))
    }
}

/// The type/hook combinations the kernel accepts for ip, ip6 and inet (others fail with
/// `EOPNOTSUPP`, which we report before sending anything).
pub(crate) fn check_base(kind: ChainType, hook: Hook) -> Result<(), String> {
    match (kind, hook) {
        (ChainType::Nat, Hook::Forward) => Err("nat chains cannot hook forward".into()),
        (ChainType::Route, h) if h != Hook::Output => {
            Err("route chains can only hook output".into())
        }
        _ => Ok(()),
    }
}

fn push_comment(line: &mut String, comment: Option<&str>) -> Result<(), String> {
    if let Some(c) = comment {
        check_comment(c)?;
        line.push_str(&format!(" comment \"{c}\""));
    }
    Ok(())
}

/// `flags a,b ; comment "c" ; ` for a set or map definition.
fn props(flags: &[SetFlag], comment: &Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut flags = flags.to_vec();
    flags.sort();
    flags.dedup();
    if !flags.is_empty() {
        let names: Vec<&str> = flags.iter().map(SetFlag::as_str).collect();
        out.push_str(&format!("flags {} ; ", names.join(",")));
    }
    if let Some(c) = comment {
        check_comment(c)?;
        out.push_str(&format!("comment \"{c}\" ; "));
    }
    Ok(out)
}

fn element_body(e: &Element, with_extras: bool) -> Result<String, String> {
    if e.key.is_empty() {
        return Err("element without key".into());
    }
    for part in &e.key {
        check_part(part)?;
    }
    let mut body = e.key.join(" . ");
    if !with_extras {
        return Ok(body);
    }
    push_comment(&mut body, e.comment.as_deref())?;
    if let Some(value) = &e.value {
        if value.is_empty() {
            return Err("map element with an empty value".into());
        }
        for part in value {
            check_value_part(part)?;
        }
        body.push_str(" : ");
        body.push_str(&value.join(" . "));
    }
    Ok(body)
}
