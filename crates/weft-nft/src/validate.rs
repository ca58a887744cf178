//! Validation of everything that ends up in an nft script.
//!
//! nft reads a script as commands separated by newlines *or* `;`, so any value that could
//! carry a newline, a `;`, a `#` (comment to end of line) or an unbalanced quote could
//! smuggle in another command (`…; flush ruleset`). nft strings have no escape for `"`,
//! so quotes are rejected rather than escaped. Names are restricted to
//! `^[a-zA-Z_][a-zA-Z0-9_.\-]*$`, which nft accepts unquoted.

/// Longest object name the kernel accepts (`NFT_NAME_MAXLEN` minus the NUL).
const MAX_NAME: usize = 255;
/// Longest comment nft accepts ("comment too long, 128 characters maximum allowed").
const MAX_COMMENT: usize = 128;

/// Checks an object name (table, chain, set, map).
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok {
        return Err(format!(
            "name {name:?} must match ^[a-zA-Z_][a-zA-Z0-9_.\\-]*$"
        ));
    }
    if name.len() > MAX_NAME {
        return Err(format!("name is longer than {MAX_NAME} bytes"));
    }
    Ok(())
}

/// Checks a comment: printable, no `"` or `\`, at most 128 bytes.
pub(crate) fn check_comment(comment: &str) -> Result<(), String> {
    if let Some(c) = comment
        .chars()
        .find(|c| c.is_control() || matches!(c, '"' | '\\'))
    {
        return Err(format!(
            "comment {comment:?} contains {c:?} (control characters, quotes and backslashes are not allowed)"
        ));
    }
    if comment.len() > MAX_COMMENT {
        return Err(format!("comment is longer than {MAX_COMMENT} bytes"));
    }
    Ok(())
}

/// Checks a rule expression: one line, no command separator, no comment, balanced quotes.
pub(crate) fn check_expr(expr: &str) -> Result<(), String> {
    if expr.trim().is_empty() {
        return Err("empty rule".into());
    }
    if let Some(c) = expr
        .chars()
        .find(|c| c.is_control() || matches!(c, ';' | '#' | '\\'))
    {
        return Err(format!(
            "rule {expr:?} contains {c:?} (control characters, ';', '#' and '\\' are not allowed)"
        ));
    }
    if expr.matches('"').count() % 2 != 0 {
        return Err(format!("rule {expr:?} has an unbalanced quote"));
    }
    Ok(())
}

/// Checks a set, map key or map value type and returns its canonical spelling
/// (`"ipv4_addr . inet_service"`).
pub(crate) fn normalize_type(type_: &str) -> Result<String, String> {
    let parts: Vec<&str> = type_.split('.').map(str::trim).collect();
    for part in &parts {
        let ok = part.starts_with(|c: char| c.is_ascii_lowercase())
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(format!(
                "type {type_:?}: each part must be an nft type name such as ipv4_addr"
            ));
        }
    }
    Ok(parts.join(" . "))
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-' | '*')
}

/// Checks one part of an element key or value: an address, prefix, range, number or
/// word, or such a word in quotes (interface names).
pub(crate) fn check_part(part: &str) -> Result<(), String> {
    let inner = part
        .strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .unwrap_or(part);
    if inner.is_empty() || !inner.chars().all(is_token_char) {
        return Err(format!(
            "element part {part:?} may only contain letters, digits and _ . : / - *"
        ));
    }
    Ok(())
}

/// Checks one part of a map value: a verdict (`accept`, `goto <chain>`…) or a plain part.
pub(crate) fn check_value_part(part: &str) -> Result<(), String> {
    let mut words = part.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some("jump" | "goto"), Some(chain), None) => check_name(chain),
        _ => check_part(part),
    }
}

/// Names a rule refers to: sets and maps (`@name`) and chains (`jump name`, `goto name`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct References {
    /// Sets or maps, by name.
    pub(crate) sets: Vec<String>,
    /// Chains, by name.
    pub(crate) chains: Vec<String>,
}

/// Finds the references in a rule expression (outside quoted strings).
pub(crate) fn references(expr: &str) -> References {
    let mut refs = References::default();
    let mut unquoted = String::with_capacity(expr.len());
    for (i, piece) in expr.split('"').enumerate() {
        if i % 2 == 0 {
            unquoted.push_str(piece);
        }
        unquoted.push(' ');
    }
    let words: Vec<&str> = unquoted
        .split(|c: char| c.is_whitespace() || matches!(c, '{' | '}' | ','))
        .filter(|w| !w.is_empty())
        .collect();
    let name_of = |w: &str| -> String {
        w.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            .collect()
    };
    for (i, word) in words.iter().enumerate() {
        if let Some(name) = word.strip_prefix('@') {
            refs.sets.push(name_of(name));
        } else if matches!(*word, "jump" | "goto") {
            if let Some(target) = words.get(i + 1) {
                refs.chains.push(name_of(target));
            }
        }
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("weft-masq").is_ok());
        assert!(check_name("_a.b-c9").is_ok());
        for bad in ["", "9a", "a b", "a;b", "a\"", "a\nb", "-a", "a{"] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_name(&"a".repeat(256)).is_err());
    }

    #[test]
    fn comments_and_rules() {
        assert!(check_comment("pod 0123abcd (ns/name)").is_ok());
        assert!(check_comment("a\"b").is_err());
        assert!(check_comment("a\nb").is_err());
        assert!(check_comment(&"x".repeat(129)).is_err());
        assert!(check_expr("iifname \"veth*\" accept").is_ok());
        for bad in [
            "accept; flush ruleset",
            "accept\nflush ruleset",
            "accept # hidden",
            "comment \"x",
            "  ",
        ] {
            assert!(check_expr(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn types_and_parts() {
        assert_eq!(
            normalize_type("ipv4_addr.inet_service").as_deref(),
            Ok("ipv4_addr . inet_service")
        );
        assert!(normalize_type("ipv4_addr ; x").is_err());
        assert!(check_part("10.0.0.0/8").is_ok());
        assert!(check_part("\"veth*\"").is_ok());
        assert!(check_part("1.2.3.4 }").is_err());
        assert!(check_part("").is_err());
        assert!(check_value_part("goto svc-1").is_ok());
        assert!(check_value_part("goto a b").is_err());
    }

    #[test]
    fn finds_references() {
        let refs =
            references("ip daddr . tcp dport vmap @svc ip saddr != @a-b jump x comment \"@no\"");
        assert_eq!(refs.sets, vec!["svc", "a-b"]);
        assert_eq!(refs.chains, vec!["x"]);
    }
}
