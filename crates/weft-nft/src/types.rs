//! Typed nftables objects: families, tables, chains, rules, sets, maps and elements.
//!
//! Only the structure is typed; rule expressions stay nft text (`"ip saddr @pods-v4
//! masquerade"`), as in knftables. Everything here is plain data: building a value
//! never fails, validation happens when a [`crate::Transaction`] is rendered.

use std::fmt;
use std::str::FromStr;

/// An nftables address family (the ones weft uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4 (`ip`).
    Ip,
    /// IPv6 (`ip6`).
    Ip6,
    /// Both (`inet`).
    Inet,
}

/// The kind of a base chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChainType {
    /// `filter`: any hook.
    Filter,
    /// `nat`: prerouting, input, output, postrouting (not forward).
    Nat,
    /// `route`: output only (re-routes when marks or addresses change).
    Route,
}

/// A netfilter hook a base chain attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    /// Before the routing decision.
    Prerouting,
    /// Packets for the local host.
    Input,
    /// Packets routed through the host.
    Forward,
    /// Locally generated packets.
    Output,
    /// After the routing decision, on the way out.
    Postrouting,
}

/// A verdict: a base chain's policy (`accept`/`drop` only) or a verdict-map value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// `accept`.
    Accept,
    /// `drop`.
    Drop,
    /// `return`.
    Return,
    /// `continue`.
    Continue,
    /// `jump <chain>`.
    Jump(String),
    /// `goto <chain>`.
    Goto(String),
}

/// Flags of a set or map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SetFlag {
    /// Elements may be prefixes and ranges.
    Interval,
    /// Elements may carry a timeout.
    Timeout,
    /// The set cannot change once created (the kernel may pick a faster layout).
    Constant,
    /// The set is updated from the packet path (`update @set { … }`).
    Dynamic,
}

/// A table: the unit of ownership (one table per weft component).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Table {
    /// Address family.
    pub family: Family,
    /// Table name.
    pub name: String,
    /// Human-readable comment.
    pub comment: Option<String>,
}

/// Hook attachment of a base chain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BaseChain {
    /// Chain type.
    pub kind: ChainType,
    /// Hook.
    pub hook: Hook,
    /// Priority (lower runs first); rendered with nft's standard names where they apply.
    pub priority: i32,
    /// Policy (`accept` or `drop`); the kernel's default is `accept`.
    pub policy: Option<Verdict>,
}

/// A chain. `table` names the table it belongs to; an empty `table` means "the
/// transaction's table" and is filled in by [`crate::Transaction::add_chain`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Chain {
    /// Name of the owning table (or empty for the transaction's table).
    pub table: String,
    /// Chain name.
    pub name: String,
    /// Hook attachment; `None` for a regular chain (reached by `jump`/`goto`).
    pub base: Option<BaseChain>,
    /// Human-readable comment.
    pub comment: Option<String>,
}

/// A rule: an nft expression appended to a chain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    /// The chain the rule is appended to.
    pub chain: String,
    /// The rule's nft text, e.g. `ip saddr @pods-v4 ip daddr != @local-v4 masquerade`.
    pub expr: String,
    /// Human-readable comment.
    pub comment: Option<String>,
}

/// A named set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Set {
    /// Set name.
    pub name: String,
    /// Element type, e.g. `ipv4_addr` or `ipv4_addr . inet_service`.
    pub type_: String,
    /// Flags.
    pub flags: Vec<SetFlag>,
    /// Human-readable comment.
    pub comment: Option<String>,
}

/// A named map (a verdict map when `value_type` is `verdict`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Map {
    /// Map name.
    pub name: String,
    /// Key type, e.g. `ipv4_addr . inet_service`.
    pub key_type: String,
    /// Value type, e.g. `verdict` or `ipv4_addr . inet_service`.
    pub value_type: String,
    /// Flags.
    pub flags: Vec<SetFlag>,
    /// Human-readable comment.
    pub comment: Option<String>,
}

/// An element of a set or map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Element {
    /// Name of the set or map.
    pub set_or_map: String,
    /// Key, one entry per part of a concatenation (`["10.0.0.1", "80"]`).
    pub key: Vec<String>,
    /// Value for map elements (`["goto svc-abc"]`, `["10.0.0.1", "8080"]`); `None` in sets.
    pub value: Option<Vec<String>>,
    /// Human-readable comment (for example the owning container's id).
    pub comment: Option<String>,
}

impl Chain {
    /// A regular chain (no hook) in the transaction's table.
    pub fn regular(name: impl Into<String>) -> Chain {
        Chain {
            table: String::new(),
            name: name.into(),
            base: None,
            comment: None,
        }
    }

    /// A base chain in the transaction's table, with the kernel's default policy.
    pub fn base(name: impl Into<String>, kind: ChainType, hook: Hook, priority: i32) -> Chain {
        Chain {
            base: Some(BaseChain {
                kind,
                hook,
                priority,
                policy: None,
            }),
            ..Chain::regular(name)
        }
    }

    /// Sets the comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Chain {
        self.comment = Some(comment.into());
        self
    }
}

impl Rule {
    /// A rule without comment.
    pub fn new(chain: impl Into<String>, expr: impl Into<String>) -> Rule {
        Rule {
            chain: chain.into(),
            expr: expr.into(),
            comment: None,
        }
    }

    /// Sets the comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Rule {
        self.comment = Some(comment.into());
        self
    }
}

impl Set {
    /// A set without flags or comment.
    pub fn new(name: impl Into<String>, type_: impl Into<String>) -> Set {
        Set {
            name: name.into(),
            type_: type_.into(),
            flags: Vec::new(),
            comment: None,
        }
    }

    /// Adds flags.
    pub fn with_flags(mut self, flags: &[SetFlag]) -> Set {
        self.flags.extend_from_slice(flags);
        self
    }

    /// Sets the comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Set {
        self.comment = Some(comment.into());
        self
    }
}

impl Map {
    /// A map without flags or comment.
    pub fn new(
        name: impl Into<String>,
        key_type: impl Into<String>,
        value_type: impl Into<String>,
    ) -> Map {
        Map {
            name: name.into(),
            key_type: key_type.into(),
            value_type: value_type.into(),
            flags: Vec::new(),
            comment: None,
        }
    }

    /// Adds flags.
    pub fn with_flags(mut self, flags: &[SetFlag]) -> Map {
        self.flags.extend_from_slice(flags);
        self
    }

    /// Sets the comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Map {
        self.comment = Some(comment.into());
        self
    }
}

impl Element {
    /// A set element with a (possibly concatenated) key.
    pub fn new<S: Into<String>>(
        set: impl Into<String>,
        key: impl IntoIterator<Item = S>,
    ) -> Element {
        Element {
            set_or_map: set.into(),
            key: key.into_iter().map(Into::into).collect(),
            value: None,
            comment: None,
        }
    }

    /// Sets the map value.
    pub fn with_value<S: Into<String>>(mut self, value: impl IntoIterator<Item = S>) -> Element {
        self.value = Some(value.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Element {
        self.comment = Some(comment.into());
        self
    }
}

/// Implements `Display` and `FromStr` for a keyword enum from one table.
macro_rules! keywords {
    ($ty:ty, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// The nft keyword.
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok(Self::$variant),)+
                    other => Err(format!(concat!("unknown ", $what, " {:?}"), other)),
                }
            }
        }
    };
}

keywords!(Family, "family", { Ip => "ip", Ip6 => "ip6", Inet => "inet" });
keywords!(ChainType, "chain type", { Filter => "filter", Nat => "nat", Route => "route" });
keywords!(Hook, "hook", {
    Prerouting => "prerouting",
    Input => "input",
    Forward => "forward",
    Output => "output",
    Postrouting => "postrouting",
});
keywords!(SetFlag, "set flag", {
    Interval => "interval",
    Timeout => "timeout",
    Constant => "constant",
    Dynamic => "dynamic",
});

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accept => f.write_str("accept"),
            Verdict::Drop => f.write_str("drop"),
            Verdict::Return => f.write_str("return"),
            Verdict::Continue => f.write_str("continue"),
            Verdict::Jump(chain) => write!(f, "jump {chain}"),
            Verdict::Goto(chain) => write!(f, "goto {chain}"),
        }
    }
}

impl FromStr for Verdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Verdict, String> {
        let mut words = s.split_whitespace();
        let verdict = match (words.next(), words.next()) {
            (Some("accept"), None) => Verdict::Accept,
            (Some("drop"), None) => Verdict::Drop,
            (Some("return"), None) => Verdict::Return,
            (Some("continue"), None) => Verdict::Continue,
            (Some("jump"), Some(chain)) => Verdict::Jump(chain.to_string()),
            (Some("goto"), Some(chain)) => Verdict::Goto(chain.to_string()),
            _ => return Err(format!("unknown verdict {s:?}")),
        };
        match words.next() {
            None => Ok(verdict),
            Some(_) => Err(format!("unknown verdict {s:?}")),
        }
    }
}

/// nft's standard priority names for the ip, ip6 and inet families.
const STD_PRIORITIES: [(&str, i32); 6] = [
    ("raw", -300),
    ("mangle", -150),
    ("dstnat", -100),
    ("filter", 0),
    ("security", 50),
    ("srcnat", 100),
];

/// Renders a base chain priority the way `nft list` prints it: a standard name, or a
/// name plus or minus at most 10, when that name is valid for the hook; a number
/// otherwise. nft 1.0.6 accepts `dstnat` only at prerouting and `srcnat` only at
/// postrouting ("invalid priority expression value in this context" elsewhere), so
/// those are the only places we use them; a number is always accepted.
pub fn priority_expr(hook: Hook, priority: i32) -> String {
    for (name, value) in STD_PRIORITIES {
        let valid_here = match name {
            "dstnat" => hook == Hook::Prerouting,
            "srcnat" => hook == Hook::Postrouting,
            _ => true,
        };
        let offset = i64::from(priority) - i64::from(value);
        if !valid_here || offset.abs() > 10 {
            continue;
        }
        return match offset {
            0 => name.to_string(),
            o if o > 0 => format!("{name} + {o}"),
            o => format!("{name} - {}", -o),
        };
    }
    priority.to_string()
}
