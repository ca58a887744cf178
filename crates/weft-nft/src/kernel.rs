//! [`KernelNftables`]: the real backend. A transaction is rendered and piped into
//! `nft -f -`; nft sends the whole script as one netlink batch, which the kernel commits
//! atomically (all or nothing). Tables are read back with `nft -j list table` and
//! `nft -s -a -t list table`.
//!
//! Run inside a network namespace with [`KernelNftables::in_netns`]: the `nft` child is
//! moved into the namespace between fork and exec; the calling thread never is.

use std::env;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use weft_netlink::Netns;

use crate::parse::parse_table;
use crate::validate::check_name;
use crate::{Error, Family, Nftables, TableState, Transaction};

/// Directories searched for `nft` after `PATH` (system binaries are often missing from
/// the `PATH` of services and test runners).
const SBIN_DIRS: [&str; 3] = ["/usr/sbin", "/sbin", "/usr/local/sbin"];

/// nft's message for a missing table, chain or set (`ENOENT`; we run nft with
/// `LC_ALL=C`, so it is not translated).
const ENOENT: &str = "No such file or directory";

/// nftables of the current network namespace, or of a given one, through `nft`.
#[derive(Debug, Clone)]
pub struct KernelNftables {
    netns: Option<Arc<Netns>>,
}

/// The `nft` binary: `$WEFT_NFT` if set, else the first `nft` in `PATH`, `/usr/sbin`,
/// `/sbin` or `/usr/local/sbin`.
pub fn nft_binary() -> Result<PathBuf, Error> {
    if let Some(path) = env::var_os("WEFT_NFT").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(Error::NftNotFound {
                searched: format!("WEFT_NFT={}", path.display()),
            })
        };
    }
    let mut dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(SBIN_DIRS.iter().map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("nft"))
        .find(|p| is_executable(p))
        .ok_or_else(|| Error::NftNotFound {
            searched: format!("PATH, {}", SBIN_DIRS.join(", ")),
        })
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl KernelNftables {
    /// nftables of the caller's network namespace.
    pub fn current() -> KernelNftables {
        KernelNftables { netns: None }
    }

    /// nftables of `netns`.
    pub fn in_netns(netns: Arc<Netns>) -> KernelNftables {
        KernelNftables { netns: Some(netns) }
    }

    /// Runs nft with `args`, feeding `stdin` if given, and collects its output.
    fn run(
        &self,
        op: &'static str,
        table: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<Output, Error> {
        let exec = |source| Error::Exec {
            op,
            table: table.to_string(),
            source,
        };
        let bin = nft_binary()?;
        let mut cmd = match &self.netns {
            Some(ns) => ns.command(&bin),
            None => Command::new(&bin),
        };
        cmd.args(args)
            .env("LC_ALL", "C")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(exec)?;
        let pipe = child.stdin.take();
        // Feed stdin from another thread so a chatty nft cannot deadlock us on a full
        // stdout/stderr pipe while we are still writing.
        let (written, output) = std::thread::scope(|s| {
            let writer = s.spawn(move || match (pipe, stdin) {
                (Some(mut pipe), Some(text)) => pipe.write_all(text.as_bytes()),
                _ => Ok(()),
            });
            let output = child.wait_with_output();
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("stdin writer panicked")));
            (written, output)
        });
        let output = output.map_err(exec)?;
        // If nft exited successfully without reading the whole script it applied a
        // truncated one; never report that as success.
        if output.status.success() {
            written.map_err(exec)?;
        }
        Ok(output)
    }
}

fn stderr_text(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_string();
    if text.is_empty() {
        format!("nft exited with {}", output.status)
    } else {
        text
    }
}

impl Nftables for KernelNftables {
    fn apply(&self, tx: &Transaction) -> Result<(), Error> {
        let script = tx.render()?;
        if tx.is_empty() {
            return Ok(());
        }
        let table = tx.table_label();
        let output = self.run("apply", &table, &["-f", "-"], Some(&script))?;
        if output.status.success() {
            return Ok(());
        }
        Err(Error::Apply {
            table,
            stderr: stderr_text(&output),
            script,
        })
    }

    fn list_table(&self, family: Family, name: &str) -> Result<Option<TableState>, Error> {
        let label = format!("{family} {name}");
        check_name(name).map_err(|reason| Error::Invalid {
            op: "list table",
            object: format!("table {label}"),
            reason,
        })?;
        let fam = family.as_str();
        let json = self.run("list", &label, &["-j", "list", "table", fam, name], None)?;
        if !json.status.success() {
            let stderr = stderr_text(&json);
            if stderr.contains(ENOENT) {
                return Ok(None);
            }
            return Err(Error::List {
                table: label,
                stderr,
            });
        }
        let args = ["-s", "-a", "-t", "list", "table", fam, name];
        let text = self.run("list", &label, &args, None)?;
        if !text.status.success() {
            // Deleted between the two listings: report it as absent, like the first.
            let stderr = stderr_text(&text);
            if stderr.contains(ENOENT) {
                return Ok(None);
            }
            return Err(Error::List {
                table: label,
                stderr,
            });
        }
        let json = String::from_utf8_lossy(&json.stdout);
        let text = String::from_utf8_lossy(&text.stdout);
        parse_table(family, name, &json, &text)
            .map(Some)
            .map_err(|reason| Error::Parse {
                table: label,
                reason,
            })
    }

    fn delete_table(&self, family: Family, name: &str) -> Result<(), Error> {
        let mut tx = Transaction::new(family, name);
        tx.delete_table();
        match self.apply(&tx) {
            Err(Error::Apply { stderr, .. }) if stderr.contains(ENOENT) => Ok(()),
            other => other,
        }
    }
}
