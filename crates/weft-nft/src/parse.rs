//! Reading a table back from nft: `nft -j list table` (JSON) gives the structure, set
//! and map elements and rule handles; `nft -s -a -t list table` (text: stateless, with
//! handles, without set contents) gives each rule's text as nft prints it and what
//! nft 1.0.6 leaves out of its JSON (table and chain comments, the `dynamic` set flag).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::state::{ChainState, ElementState, MapState, RuleState, SetState, TableState};
use crate::types::{BaseChain, Family, SetFlag, Table};

/// What the text listing adds to the JSON one.
#[derive(Debug, Default)]
struct TextListing {
    table_comment: Option<String>,
    chain_comments: BTreeMap<String, String>,
    set_flags: BTreeMap<String, Vec<String>>,
    rules: BTreeMap<u64, String>,
}

/// Builds the snapshot of table `name` from nft's JSON and text listings of it.
pub(crate) fn parse_table(
    family: Family,
    name: &str,
    json: &str,
    text: &str,
) -> Result<TableState, String> {
    let root: Value = serde_json::from_str(json).map_err(|e| format!("invalid JSON: {e}"))?;
    let items = root
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or("no \"nftables\" array")?;
    let listing = parse_text(text);
    let mut state = TableState::new(Table {
        family,
        name: name.to_string(),
        comment: None,
    });
    let mut rules: Vec<&Value> = Vec::new();
    for item in items {
        if let Some(t) = item.get("table") {
            state.table.comment = opt_str(t, "comment").or(listing.table_comment.clone());
        } else if let Some(c) = item.get("chain") {
            let (name, chain) = parse_chain(c, &listing)?;
            state.chains.insert(name, chain);
        } else if let Some(s) = item.get("set") {
            let name = req_str(s, "name")?;
            let set = SetState {
                type_: type_text(s.get("type"))?,
                flags: flags(s, listing.set_flags.get(&name)),
                comment: opt_str(s, "comment"),
                elements: parse_elements(s, false)?,
            };
            state.sets.insert(name, set);
        } else if let Some(m) = item.get("map") {
            let name = req_str(m, "name")?;
            let map = MapState {
                key_type: type_text(m.get("type"))?,
                value_type: type_text(m.get("map"))?,
                flags: flags(m, listing.set_flags.get(&name)),
                comment: opt_str(m, "comment"),
                elements: parse_elements(m, true)?,
            };
            state.maps.insert(name, map);
        } else if let Some(r) = item.get("rule") {
            rules.push(r);
        }
    }
    // Rules come after their chains in the JSON, in evaluation order.
    for r in rules {
        let chain = req_str(r, "chain")?;
        let handle = r
            .get("handle")
            .and_then(Value::as_u64)
            .ok_or("rule without handle")?;
        let comment = opt_str(r, "comment");
        let text = listing
            .rules
            .get(&handle)
            .ok_or_else(|| format!("rule handle {handle} is missing from the text listing"))?;
        let expr = match &comment {
            Some(c) => text
                .strip_suffix(&format!(" comment \"{c}\""))
                .unwrap_or(text),
            None => text,
        };
        state
            .chains
            .get_mut(&chain)
            .ok_or_else(|| format!("rule of unknown chain {chain}"))?
            .rules
            .push(RuleState {
                expr: expr.to_string(),
                comment,
            });
    }
    Ok(state)
}

fn opt_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn req_str(v: &Value, key: &str) -> Result<String, String> {
    opt_str(v, key).ok_or_else(|| format!("object without {key:?}: {v}"))
}

fn parse_chain(c: &Value, listing: &TextListing) -> Result<(String, ChainState), String> {
    let name = req_str(c, "name")?;
    let base = match opt_str(c, "hook") {
        None => None,
        Some(hook) => Some(BaseChain {
            kind: req_str(c, "type")?.parse()?,
            hook: hook.parse()?,
            priority: c
                .get("prio")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| format!("chain {name}: no numeric priority"))?,
            policy: Some(
                opt_str(c, "policy")
                    .as_deref()
                    .unwrap_or("accept")
                    .parse()?,
            ),
        }),
    };
    let comment = opt_str(c, "comment").or_else(|| listing.chain_comments.get(&name).cloned());
    let chain = ChainState {
        base,
        comment,
        rules: Vec::new(),
    };
    Ok((name, chain))
}

/// A set or map type: `"ipv4_addr"`, `["ipv4_addr", "inet_service"]` or
/// `"ipv4_addr . inet_service"`, as `"ipv4_addr . inet_service"`.
fn type_text(v: Option<&Value>) -> Result<String, String> {
    let parts: Vec<String> = match v {
        Some(Value::String(s)) => s.split('.').map(|p| p.trim().to_string()).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|p| p.as_str().map(str::to_owned).ok_or("non-string type part"))
            .collect::<Result<_, _>>()?,
        other => return Err(format!("unexpected set type {other:?}")),
    };
    Ok(parts.join(" . "))
}

fn flags(v: &Value, text_flags: Option<&Vec<String>>) -> BTreeSet<SetFlag> {
    let json = v
        .get("flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let text = text_flags.into_iter().flatten().map(String::as_str);
    json.chain(text).filter_map(|f| f.parse().ok()).collect()
}

fn parse_elements(v: &Value, is_map: bool) -> Result<BTreeMap<Vec<String>, ElementState>, String> {
    let mut out = BTreeMap::new();
    let Some(elems) = v.get("elem").and_then(Value::as_array) else {
        return Ok(out);
    };
    for elem in elems {
        let (key, value) = match (is_map, elem) {
            (true, Value::Array(pair)) if pair.len() == 2 => (&pair[0], Some(&pair[1])),
            (true, other) => return Err(format!("unexpected map element {other}")),
            (false, key) => (key, None),
        };
        let (key, comment) = match key.get("elem") {
            Some(inner) => (
                inner.get("val").ok_or("element without val")?,
                opt_str(inner, "comment"),
            ),
            None => (key, None),
        };
        let value = value.map(parts).transpose()?;
        out.insert(parts(key)?, ElementState { value, comment });
    }
    Ok(out)
}

/// The parts of a (possibly concatenated) key or value.
fn parts(v: &Value) -> Result<Vec<String>, String> {
    match v.get("concat").and_then(Value::as_array) {
        Some(items) => items.iter().map(part_text).collect(),
        None => Ok(vec![part_text(v)?]),
    }
}

/// One part in nft's text spelling: address, number, prefix, range or verdict.
fn part_text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Object(o) => {
            if let Some(p) = o.get("prefix") {
                let addr = p.get("addr").ok_or("prefix without addr")?;
                let len = p
                    .get("len")
                    .and_then(Value::as_u64)
                    .ok_or("prefix without len")?;
                return Ok(format!("{}/{len}", part_text(addr)?));
            }
            if let Some(Value::Array(r)) = o.get("range") {
                if let [lo, hi] = r.as_slice() {
                    return Ok(format!("{}-{}", part_text(lo)?, part_text(hi)?));
                }
            }
            for verdict in ["accept", "drop", "return", "continue"] {
                if o.contains_key(verdict) {
                    return Ok(verdict.to_string());
                }
            }
            for verdict in ["jump", "goto"] {
                if let Some(target) = o.get(verdict).and_then(|j| j.get("target")) {
                    return Ok(format!("{verdict} {}", part_text(target)?));
                }
            }
            Err(format!("unexpected element part {v}"))
        }
        other => Err(format!("unexpected element part {other}")),
    }
}

/// Splits `body # handle N` into body and handle.
fn split_handle(line: &str) -> (&str, Option<u64>) {
    if let Some((body, handle)) = line.rsplit_once(" # handle ") {
        if let Ok(h) = handle.trim().parse() {
            return (body.trim_end(), Some(h));
        }
    }
    (line, None)
}

fn unquote_comment(line: &str) -> Option<String> {
    line.strip_prefix("comment \"")
        .and_then(|c| c.strip_suffix('"'))
        .map(str::to_owned)
}

/// Parses `nft -s -a -t list table` output: blocks open with a line ending in `{` and
/// close with a line `}`; rules are the lines of a chain block that carry a handle.
fn parse_text(text: &str) -> TextListing {
    let mut listing = TextListing::default();
    let mut blocks: Vec<(String, String)> = Vec::new();
    for raw in text.lines() {
        let (body, handle) = split_handle(raw.trim());
        if body == "}" {
            blocks.pop();
            continue;
        }
        if body.ends_with('{') {
            let mut words = body.split_whitespace();
            let kind = words.next().unwrap_or_default().to_string();
            let name = words
                .take_while(|w| *w != "{")
                .last()
                .unwrap_or_default()
                .to_string();
            blocks.push((kind, name));
            continue;
        }
        let Some((kind, name)) = blocks.last() else {
            continue;
        };
        match (kind.as_str(), handle) {
            ("table", None) => {
                if let Some(c) = unquote_comment(body) {
                    listing.table_comment = Some(c);
                }
            }
            ("chain", Some(h)) => {
                listing.rules.insert(h, body.to_string());
            }
            ("chain", None) => {
                if let Some(c) = unquote_comment(body) {
                    listing.chain_comments.insert(name.clone(), c);
                }
            }
            ("set" | "map", None) => {
                if let Some(flags) = body.strip_prefix("flags ") {
                    let flags = flags.split(',').map(|f| f.trim().to_string()).collect();
                    listing.set_flags.insert(name.clone(), flags);
                }
            }
            _ => {}
        }
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "table ip t { # handle 3\n\tcomment \"tc\"\n\tset s { # handle 1\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t}\n\tchain c { # handle 6\n\t\tcomment \"cc\"\n\t\ttype nat hook postrouting priority srcnat + 10; policy accept;\n\t\tip saddr @s masquerade comment \"m\" # handle 7\n\t\ttcp dport { 80, 443 } accept # handle 8\n\t}\n}\n";

    const JSON: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
        {"table": {"family": "ip", "name": "t", "handle": 3}},
        {"set": {"family": "ip", "name": "s", "table": "t", "type": "ipv4_addr", "flags": ["timeout"],
            "elem": [{"elem": {"val": "10.0.0.1", "comment": "x"}}, {"prefix": {"addr": "10.1.0.0", "len": 16}}]}},
        {"map": {"family": "ip", "name": "m", "table": "t", "type": ["ipv4_addr", "inet_service"], "map": "verdict",
            "elem": [[{"concat": ["10.0.0.1", 80]}, {"goto": {"target": "c"}}]]}},
        {"chain": {"family": "ip", "table": "t", "name": "c", "handle": 6, "type": "nat", "hook": "postrouting", "prio": 110, "policy": "accept"}},
        {"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 7, "comment": "m", "expr": []}},
        {"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 8, "expr": []}}]}"#;

    #[test]
    fn parses_both_listings() {
        let state = parse_table(Family::Ip, "t", JSON, TEXT).unwrap_or_else(|e| panic!("{e}"));
        let expected = "table ip t {\n\tcomment \"tc\"\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags timeout,dynamic\n\t\telements = {\n\t\t\t10.0.0.1 comment \"x\"\n\t\t\t10.1.0.0/16\n\t\t}\n\t}\n\tmap m {\n\t\ttype ipv4_addr . inet_service : verdict\n\t\telements = {\n\t\t\t10.0.0.1 . 80 : goto c\n\t\t}\n\t}\n\tchain c {\n\t\tcomment \"cc\"\n\t\ttype nat hook postrouting priority srcnat + 10; policy accept;\n\t\tip saddr @s masquerade comment \"m\"\n\t\ttcp dport { 80, 443 } accept\n\t}\n}\n";
        assert_eq!(state.dump(), expected);
    }

    #[test]
    fn rejects_unknown_rule_handle() {
        let text = TEXT.replace("# handle 8", "# handle 9");
        assert!(parse_table(Family::Ip, "t", JSON, &text).is_err());
    }
}
