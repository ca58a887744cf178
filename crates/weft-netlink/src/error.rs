//! Errors of netlink operations.

use std::io;

/// A failed netlink operation, naming what was attempted on which object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel refused a request.
    #[error("{op} {target}: {source}{}", ext_ack.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Netlink {
        /// Operation, e.g. "create link".
        op: &'static str,
        /// Object, e.g. "veth1a2b3c4d".
        target: String,
        /// The errno the kernel returned.
        #[source]
        source: io::Error,
        /// The kernel's extended-ack message, when it sent one.
        ext_ack: Option<String>,
    },
    /// A socket-level failure (open, send, receive).
    #[error("netlink socket: {op}: {source}")]
    Socket {
        /// What failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A named link does not exist.
    #[error("link {0} not found")]
    LinkNotFound(String),
    /// A namespace operation failed.
    #[error(transparent)]
    Netns(#[from] crate::netns::Error),
    /// A sysctl could not be read or written.
    #[error("sysctl {key}: {source}")]
    Sysctl {
        /// The key, e.g. `net/ipv4/ip_forward`.
        key: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A request that this implementation cannot carry out (e.g. a fake namespace handed
    /// to the kernel implementation).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl Error {
    /// The errno, if the kernel (or fake) reported one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Netlink { source, .. } | Error::Socket { source, .. } => source.raw_os_error(),
            Error::Sysctl { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The object exists already (`EEXIST`).
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// The object does not exist (`ENODEV`, `ENOENT`, `ESRCH`, `EADDRNOTAVAIL`).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::LinkNotFound(_))
            || matches!(
                self.errno(),
                Some(libc::ENODEV | libc::ENOENT | libc::ESRCH | libc::EADDRNOTAVAIL)
            )
    }

    /// Builds a [`Error::Netlink`] from an errno.
    pub fn from_errno(op: &'static str, target: impl Into<String>, errno: i32) -> Error {
        Error::Netlink {
            op,
            target: target.into(),
            source: io::Error::from_raw_os_error(errno),
            ext_ack: None,
        }
    }
}
