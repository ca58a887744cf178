//! Test harness shared by weft's crates: golden files, per-test network namespaces that
//! are removed even when the test panics, and bounded "eventually" assertions.
//!
//! Namespace tests need root. They never skip: creating a namespace that fails panics
//! with the reason, so CI shows the environment problem instead of a green run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weft_netlink::{KernelNetlink, Netns};

/// Compares `actual` with the golden file at `path`; with `WEFT_UPDATE_GOLDEN=1` the file
/// is (re)written instead. Panics with both texts on a mismatch.
pub fn assert_golden(path: impl AsRef<Path>, actual: &str) {
    let path = path.as_ref();
    if std::env::var_os("WEFT_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create golden dir");
        }
        std::fs::write(path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "golden file {} unreadable ({e}); run with WEFT_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "output differs from golden file {}\n--- expected\n{expected}\n--- actual\n{actual}\n(run with WEFT_UPDATE_GOLDEN=1 to accept)",
            path.display()
        );
    }
}

/// Path of `name` under the calling crate's `tests/golden` directory.
pub fn golden_path(manifest_dir: &str, name: &str) -> PathBuf {
    Path::new(manifest_dir).join("tests/golden").join(name)
}

/// A private network namespace named `weft-t-<tag>-<pid>`, deleted on drop.
#[derive(Debug)]
pub struct TestNetns {
    name: String,
    ns: Arc<Netns>,
}

impl TestNetns {
    /// Creates the namespace (with `lo` up). Panics if that is impossible.
    pub fn new(tag: &str) -> TestNetns {
        let name = format!("weft-t-{tag}-{}", std::process::id());
        let _ = Netns::delete(&name);
        let ns = Netns::create(&name).unwrap_or_else(|e| {
            panic!("cannot create network namespace {name}: {e} (namespace tests must run as root; they never skip)")
        });
        let t = TestNetns {
            name,
            ns: Arc::new(ns),
        };
        t.netlink().set_up_lo();
        t
    }

    /// The namespace's name in `/run/netns`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its path.
    pub fn path(&self) -> PathBuf {
        weft_netlink::netns::named_path(&self.name)
    }

    /// The namespace handle.
    pub fn netns(&self) -> Arc<Netns> {
        self.ns.clone()
    }

    /// A netlink handle on it.
    pub fn netlink(&self) -> KernelNetlink {
        KernelNetlink::in_netns(self.ns.clone()).expect("netlink socket inside test namespace")
    }

    /// Runs a command inside the namespace and returns (exit code, stdout+stderr).
    pub fn run(&self, program: &str, args: &[&str]) -> (i32, String) {
        let out = self
            .ns
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {program} in {}: {e}", self.name));
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap_or(-1), text)
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Netns::delete(&self.name);
    }
}

trait LoUp {
    fn set_up_lo(&self);
}

impl LoUp for KernelNetlink {
    fn set_up_lo(&self) {
        use weft_netlink::Netlink;
        self.set_up("lo", true).expect("bring lo up");
    }
}

/// Polls `check` every 20 ms until it returns true or `timeout` passes; panics with
/// `what` on timeout. Use for conditions that settle asynchronously, never for timing.
pub fn assert_eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out after {timeout:?} waiting for: {what}");
}
