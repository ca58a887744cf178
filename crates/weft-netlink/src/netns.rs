//! Network namespaces: create, open, delete named namespaces (`/run/netns/<name>`, the
//! layout `ip netns` uses, so operators can inspect weft's namespaces with their usual
//! tools), run work inside one on a dedicated OS thread, and start child processes inside
//! one.
//!
//! This is the one module of weft-netlink that needs `unsafe`: `pre_exec` hooks run
//! between `fork` and `exec`, where only async-signal-safe calls are allowed. The hooks
//! below call `setns`, `unshare` and `sethostname` only, which are plain system calls.
//! We never `setns` the calling thread: work that must run inside a namespace gets its
//! own thread (STYLE.md: "Never setns on a tokio worker thread").
#![allow(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

/// `statfs` magic of nsfs, the filesystem behind namespace files.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// Directory holding named network namespaces (bind mounts), shared with iproute2.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// Errors of namespace handling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call on a namespace failed.
    #[error("{op} network namespace {target}: {source}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The namespace (name or path).
        target: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The named namespace exists already.
    #[error("network namespace {0} already exists")]
    Exists(String),
    /// The namespace name is not usable as a file name.
    #[error("invalid network namespace name {0:?}: use letters, digits, '-', '_' and '.'")]
    InvalidName(String),
    /// The path is not a namespace file (for example a stale, unmounted `/run/netns` entry).
    #[error("{0} is not a network namespace (a stale file, or the namespace was deleted)")]
    NotANamespace(String),
    /// The work thread panicked.
    #[error("the thread running inside network namespace {0} panicked")]
    ThreadPanicked(String),
}

fn io_err(op: &'static str, target: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let target = target.into();
    move |source| Error::Io { op, target, source }
}

fn errno_err(op: &'static str, target: &str, e: nix::Error) -> Error {
    Error::Io {
        op,
        target: target.to_string(),
        source: io::Error::from_raw_os_error(e as i32),
    }
}

/// Identity of a namespace: (device, inode) of its nsfs file. Two handles refer to the
/// same namespace exactly when their ids are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NsId {
    /// Device number of the nsfs file.
    pub dev: u64,
    /// Inode number of the nsfs file.
    pub ino: u64,
}

/// An open network namespace. Holding it keeps the namespace alive.
#[derive(Debug)]
pub struct Netns {
    file: File,
    path: PathBuf,
}

impl Netns {
    /// Opens the namespace at `path` (a `/run/netns/<name>` bind mount or a
    /// `/proc/<pid>/ns/net` file).
    pub fn open(path: impl AsRef<Path>) -> Result<Netns, Error> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(io_err("open", path.display().to_string()))?;
        let ns = Netns { file, path };
        // A regular file that is not an nsfs inode would make setns fail later with EINVAL;
        // say so now, where the path is known.
        let fs = nix::sys::statfs::fstatfs(&ns.file)
            .map_err(|e| errno_err("inspect", &ns.path.display().to_string(), e))?;
        if fs.filesystem_type().0 as i64 != NSFS_MAGIC {
            return Err(Error::NotANamespace(ns.path.display().to_string()));
        }
        Ok(ns)
    }

    /// Opens the named namespace `/run/netns/<name>`.
    pub fn open_named(name: &str) -> Result<Netns, Error> {
        validate_name(name)?;
        Netns::open(named_path(name))
    }

    /// The namespace of the calling thread.
    pub fn current() -> Result<Netns, Error> {
        Netns::open("/proc/thread-self/ns/net")
    }

    /// Creates the named namespace `/run/netns/<name>` (with `lo` down, as the kernel makes
    /// it) and returns a handle to it. Fails with [`Error::Exists`] if the name is taken.
    pub fn create(name: &str) -> Result<Netns, Error> {
        validate_name(name)?;
        ensure_run_dir()?;
        let path = named_path(name);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .open(&path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    Error::Exists(name.to_string())
                } else {
                    Error::Io {
                        op: "create",
                        target: name.to_string(),
                        source: e,
                    }
                }
            })?;
        let target = path.clone();
        let made = std::thread::scope(|s| {
            s.spawn(move || -> Result<(), Error> {
                unshare(CloneFlags::CLONE_NEWNET).map_err(|e| errno_err("unshare", name, e))?;
                mount(
                    Some(Path::new("/proc/thread-self/ns/net")),
                    &target,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(|e| errno_err("bind-mount", name, e))
            })
            .join()
            .unwrap_or_else(|_| Err(Error::ThreadPanicked(name.to_string())))
        });
        if let Err(e) = made {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        Netns::open(&path)
    }

    /// Deletes the named namespace: unmounts and removes `/run/netns/<name>`. The kernel
    /// frees the namespace (and destroys its links) once no process or handle uses it.
    /// A name that does not exist is not an error (deletion is idempotent).
    pub fn delete(name: &str) -> Result<(), Error> {
        validate_name(name)?;
        let path = named_path(name);
        if !path.exists() {
            return Ok(());
        }
        match umount2(&path, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
            Err(e) => return Err(errno_err("unmount", name, e)),
        }
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Io {
                op: "remove",
                target: name.to_string(),
                source: e,
            }),
        }
    }

    /// Names of all named namespaces in `/run/netns`, sorted.
    pub fn list_named() -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        let entries = match fs::read_dir(NETNS_RUN_DIR) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
            Err(e) => {
                return Err(Error::Io {
                    op: "list",
                    target: NETNS_RUN_DIR.into(),
                    source: e,
                });
            }
        };
        for entry in entries.flatten() {
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Whether the named namespace exists.
    pub fn exists(name: &str) -> bool {
        validate_name(name).is_ok() && named_path(name).exists()
    }

    /// The path this handle was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The (dev, inode) identity of the namespace.
    pub fn id(&self) -> Result<NsId, Error> {
        let meta = self
            .file
            .metadata()
            .map_err(io_err("stat", self.path.display().to_string()))?;
        Ok(NsId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Runs `work` on a new OS thread that has entered this namespace, and returns its
    /// result. The calling thread never changes namespace.
    pub fn run<T: Send>(&self, work: impl FnOnce() -> T + Send) -> Result<T, Error> {
        let target = self.path.display().to_string();
        std::thread::scope(|s| {
            s.spawn(|| {
                setns(self.file.as_fd(), CloneFlags::CLONE_NEWNET)
                    .map_err(|e| errno_err("enter", &target, e))?;
                Ok(work())
            })
            .join()
            .unwrap_or_else(|_| Err(Error::ThreadPanicked(target.clone())))
        })
    }

    /// Makes `cmd` start inside this namespace. With `hostname`, the child also gets a
    /// fresh UTS namespace carrying that hostname (how weft gives a pod or node its name
    /// without touching the host's). The handle must outlive the `spawn` call.
    pub fn prepare_command(&self, cmd: &mut Command, hostname: Option<&str>) {
        let fd = self.file.as_raw_fd();
        let hostname = hostname.map(str::to_owned);
        // SAFETY: the hook runs in the forked child before exec and only performs
        // setns/unshare/sethostname system calls on memory prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let borrowed = BorrowedFd::borrow_raw(fd);
                setns(borrowed, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
                if let Some(name) = &hostname {
                    unshare(CloneFlags::CLONE_NEWUTS).map_err(io::Error::from)?;
                    nix::unistd::sethostname(name).map_err(io::Error::from)?;
                }
                Ok(())
            });
        }
    }

    /// A `Command` for `program` that will run inside this namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.prepare_command(&mut cmd, None);
        cmd
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// Path of the named namespace `name`.
pub fn named_path(name: &str) -> PathBuf {
    Path::new(NETNS_RUN_DIR).join(name)
}

fn validate_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_string()))
    }
}

/// Makes `/run/netns` exist and be a shared mount point, as iproute2 does, so namespace
/// bind mounts made here are visible to processes in other mount namespaces.
fn ensure_run_dir() -> Result<(), Error> {
    fs::create_dir_all(NETNS_RUN_DIR).map_err(io_err("create", NETNS_RUN_DIR))?;
    let shared = |dir: &str| {
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match shared(NETNS_RUN_DIR) {
        Ok(()) => Ok(()),
        Err(nix::Error::EINVAL) => {
            // Not a mount point yet: bind it onto itself first.
            mount(
                Some(NETNS_RUN_DIR),
                NETNS_RUN_DIR,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| errno_err("bind-mount", NETNS_RUN_DIR, e))?;
            shared(NETNS_RUN_DIR).map_err(|e| errno_err("share", NETNS_RUN_DIR, e))
        }
        Err(e) => Err(errno_err("share", NETNS_RUN_DIR, e)),
    }
}
