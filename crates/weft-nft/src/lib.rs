//! weft's nftables layer: typed tables, chains, sets, maps and elements; a
//! [`Transaction`] that is plain data and renders to an `nft -f` script; the
//! [`Nftables`] trait with a kernel backend ([`KernelNftables`], one atomic `nft -f` per
//! transaction) and a faithful in-memory fake ([`FakeNftables`]).
//!
//! The shape follows knftables and kube-proxy's nftables proxier: one table per
//! component, rule expressions kept as nft text, one sync = one atomic transaction, and
//! a fake that checks references and dumps a canonical form
//! ([`TableState::dump`]) for golden files.
//!
//! ```
//! use weft_nft::{Chain, ChainType, Element, Family, FakeNftables, Hook, Nftables, Rule, Set,
//!     Transaction};
//!
//! let mut tx = Transaction::new(Family::Ip, "weft-masq");
//! tx.add_table(Some("pod masquerade"))
//!     .add_set(Set::new("pods-v4", "ipv4_addr"))
//!     .add_chain(Chain::base("postrouting", ChainType::Nat, Hook::Postrouting, 100))
//!     .flush_chain("postrouting")
//!     .add_rule(Rule::new("postrouting", "ip saddr @pods-v4 masquerade"))
//!     .add_element(Element::new("pods-v4", ["10.244.1.5"]).with_comment("c0ffee"));
//! assert!(tx.render()?.contains("add element ip weft-masq pods-v4 { 10.244.1.5 comment \"c0ffee\" }"));
//!
//! let nft = FakeNftables::new();
//! nft.apply(&tx)?;
//! let state = nft.list_table(Family::Ip, "weft-masq")?.expect("the table was added");
//! assert_eq!(state.rule_count(), 1);
//! # Ok::<(), weft_nft::Error>(())
//! ```

mod elements;
pub mod error;
pub mod fake;
pub mod kernel;
mod parse;
pub mod state;
pub mod transaction;
pub mod types;
mod validate;

pub use error::Error;
pub use fake::FakeNftables;
pub use kernel::{KernelNftables, nft_binary};
pub use state::{ChainState, ElementState, MapState, RuleState, SetState, TableState};
pub use transaction::{Op, Transaction};
pub use types::{
    BaseChain, Chain, ChainType, Element, Family, Hook, Map, Rule, Set, SetFlag, Table, Verdict,
    priority_expr,
};

/// Access to nftables: apply transactions atomically and read tables back.
pub trait Nftables: Send + Sync {
    /// Applies every operation of `tx`, or none of them.
    fn apply(&self, tx: &Transaction) -> Result<(), Error>;

    /// A snapshot of table `name` of `family`, or `None` if it does not exist.
    fn list_table(&self, family: Family, name: &str) -> Result<Option<TableState>, Error>;

    /// Deletes table `name` of `family` with everything in it; an absent table is not
    /// an error (unlike `delete table` inside a transaction).
    fn delete_table(&self, family: Family, name: &str) -> Result<(), Error>;
}
