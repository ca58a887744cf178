//! A NETLINK_ROUTE socket: request/acknowledge and dump loops, extended-ack errors.
//!
//! `unsafe` is needed for two `setsockopt` calls nix does not wrap (NETLINK_EXT_ACK,
//! NETLINK_CAP_ACK); both pass a pointer to a local `c_int` of the right size.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    socket,
};

use crate::error::Error;
use crate::wire::{self, consts::*};

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;
const RECV_BUF: usize = 64 * 1024;

/// A route netlink socket. Requests are serialised by a mutex so replies never mix.
#[derive(Debug)]
pub struct Socket {
    fd: Mutex<OwnedFd>,
    seq: AtomicU32,
}

fn sock_err(op: &'static str) -> impl FnOnce(nix::Error) -> Error {
    move |e| Error::Socket {
        op,
        source: io::Error::from_raw_os_error(e as i32),
    }
}

impl Socket {
    /// Opens a socket in the calling thread's network namespace. The socket stays bound
    /// to that namespace for its whole life, whichever thread uses it later.
    pub fn open() -> Result<Socket, Error> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .map_err(sock_err("open"))?;
        for opt in [NETLINK_EXT_ACK, NETLINK_CAP_ACK] {
            let one: libc::c_int = 1;
            // SAFETY: valid fd, pointer to a live c_int and its exact size.
            let rc = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    SOL_NETLINK,
                    opt,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            // Old kernels lack these options; errors then simply carry no text.
            let _ = rc;
        }
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(sock_err("bind"))?;
        Ok(Socket {
            fd: Mutex::new(fd),
            seq: AtomicU32::new(1),
        })
    }

    /// Sends a request built by `msg` and waits for its acknowledgement. Returns the
    /// payloads of any non-error replies (a GET's answer). `op`/`target` name the request
    /// in errors.
    pub fn request(
        &self,
        msg: wire::MsgBuilder,
        op: &'static str,
        target: &str,
    ) -> Result<Vec<Vec<u8>>, Error> {
        self.exchange(msg, false, op, target)
    }

    /// Sends a dump request and collects every reply payload until NLMSG_DONE.
    pub fn dump(&self, msg: wire::MsgBuilder, op: &'static str) -> Result<Vec<Vec<u8>>, Error> {
        self.exchange(msg, true, op, "")
    }

    fn exchange(
        &self,
        msg: wire::MsgBuilder,
        dump: bool,
        op: &'static str,
        target: &str,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let bytes = msg.finish(seq);
        // A poisoned lock only means another thread panicked mid-request; the socket
        // itself is still usable because every exchange drains to its own sequence number.
        let fd = self.fd.lock().unwrap_or_else(|p| p.into_inner());
        send(fd.as_raw_fd(), &bytes, MsgFlags::empty()).map_err(sock_err("send"))?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()).map_err(sock_err("recv"))?;
            for m in wire::messages(&buf[..n]) {
                if m.seq != seq {
                    continue;
                }
                match m.msg_type {
                    NLMSG_ERROR => {
                        let errno = -wire::i32_at(m.payload, 0);
                        if errno == 0 {
                            return Ok(out);
                        }
                        return Err(Error::Netlink {
                            op,
                            target: target.to_string(),
                            source: io::Error::from_raw_os_error(errno),
                            ext_ack: ext_ack(&m),
                        });
                    }
                    NLMSG_DONE if dump => return Ok(out),
                    _ => out.push(m.payload.to_vec()),
                }
            }
        }
    }
}

/// The kernel's error text from an extended ack (with NETLINK_CAP_ACK the original
/// request is not echoed, so TLVs follow the error code and the request header).
fn ext_ack(m: &wire::Msg<'_>) -> Option<String> {
    if m.flags & NLM_F_ACK_TLVS == 0 || m.payload.len() <= 20 {
        return None;
    }
    let tlvs = wire::attrs(&m.payload[20..]);
    wire::find(&tlvs, NLMSGERR_ATTR_MSG).map(wire::str_from)
}
