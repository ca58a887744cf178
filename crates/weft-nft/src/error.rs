//! The error type of weft-nft. Each variant carries the operation (`"add rule"`) and the
//! object (`"chain ip weft-masq postrouting"`) it concerns, so a log line says what
//! failed without the caller adding context.

use std::io;

/// Errors of rendering, applying and listing nftables transactions.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An object or value cannot be rendered safely (bad name, quote in a comment,
    /// `;` in a rule, unsupported type/hook combination…). Nothing was applied.
    #[error("{op} {object}: invalid: {reason}")]
    Invalid {
        /// The operation, e.g. `"add chain"`.
        op: &'static str,
        /// The object, e.g. `"chain ip weft-masq postrouting"`.
        object: String,
        /// What is wrong.
        reason: String,
    },
    /// The object, or one it needs, does not exist (the kernel's `ENOENT`).
    #[error("{op} {object}: no such {missing}")]
    NotFound {
        /// The operation.
        op: &'static str,
        /// The object the operation was about.
        object: String,
        /// What is missing, e.g. `"set ip weft-masq pods-v4"`.
        missing: String,
    },
    /// The object exists with a different definition (the kernel's `EEXIST`).
    #[error("{op} {object}: exists: {reason}")]
    Exists {
        /// The operation.
        op: &'static str,
        /// The object.
        object: String,
        /// How the existing object differs.
        reason: String,
    },
    /// The object is in use (the kernel's `EBUSY`): a chain with rules or referenced by
    /// a jump, a set referenced by a rule.
    #[error("{op} {object}: busy: {reason}")]
    Busy {
        /// The operation.
        op: &'static str,
        /// The object.
        object: String,
        /// What uses it.
        reason: String,
    },
    /// The kernel cannot make this change in place (`EOPNOTSUPP`), e.g. moving a base
    /// chain to another hook or priority: delete and re-create it instead.
    #[error("{op} {object}: not supported: {reason}")]
    Unsupported {
        /// The operation.
        op: &'static str,
        /// The object.
        object: String,
        /// Why.
        reason: String,
    },
    /// `nft -f` rejected the transaction; nothing was applied (nft sends the script as
    /// one netlink batch).
    #[error("nft rejected the transaction for table {table}: {stderr}")]
    Apply {
        /// The table, e.g. `"ip weft-masq"`.
        table: String,
        /// nft's error output (names the failing line and marks the failing token).
        stderr: String,
        /// The script that was sent.
        script: String,
    },
    /// The `nft` binary was not found.
    #[error("nft not found ({searched}): install the nftables package or set WEFT_NFT")]
    NftNotFound {
        /// Where we looked.
        searched: String,
    },
    /// Running `nft` failed (spawn, pipe, or entering the namespace).
    #[error("{op} table {table}: running nft: {source}")]
    Exec {
        /// The operation.
        op: &'static str,
        /// The table.
        table: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// `nft list` failed for a reason other than a missing table.
    #[error("list table {table}: nft failed: {stderr}")]
    List {
        /// The table.
        table: String,
        /// nft's error output.
        stderr: String,
    },
    /// nft's listing could not be understood.
    #[error("list table {table}: cannot parse nft output: {reason}")]
    Parse {
        /// The table.
        table: String,
        /// What was unexpected.
        reason: String,
    },
}
