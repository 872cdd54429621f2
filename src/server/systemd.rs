//! systemd integration: the service manager's notifications (`sd_notify`: `READY=1` once the
//! listeners are bound, `RELOADING=1`/`READY=1` around a reload, `STOPPING=1` when shutting
//! down, `WATCHDOG=1` from the reactor when the unit sets `WatchdogSec`), and socket activation
//! (`LISTEN_FDS`: listening sockets systemd opened and hands over). Without `NOTIFY_SOCKET`,
//! `WATCHDOG_USEC` or `LISTEN_FDS` in the environment, none of it does anything.

#![allow(unsafe_code)]

use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixDatagram;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// Sends `state` (newline-separated `KEY=value` lines) to the service manager, if odbcd runs
/// under one. Failures are logged at debug level: notifications are best effort.
pub(crate) fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = (|| -> std::io::Result<()> {
        let socket = UnixDatagram::unbound()?;
        let bytes = path.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            // An abstract socket (Linux).
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
        } else {
            socket.send_to(state.as_bytes(), &path)?;
        }
        Ok(())
    })();
    if let Err(e) = sent {
        tracing::debug!(error = %e, state, "cannot notify the service manager");
    }
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when the unit asks for it (and
/// `WATCHDOG_PID`, if set, is this process).
pub(crate) fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.trim() != std::process::id().to_string() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// The first file descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;

static INHERITED: OnceLock<Mutex<Vec<TcpListener>>> = OnceLock::new();

/// The listening TCP sockets systemd passed (`LISTEN_PID` is this process, `LISTEN_FDS` of
/// them from fd 3), taken once; a descriptor that is not a listening TCP socket is left alone
/// (and logged).
fn inherited() -> &'static Mutex<Vec<TcpListener>> {
    INHERITED.get_or_init(|| {
        let mut out = Vec::new();
        let for_us =
            std::env::var("LISTEN_PID").is_ok_and(|p| p.trim() == std::process::id().to_string());
        let count: i32 = std::env::var("LISTEN_FDS")
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        if for_us && count > 0 {
            for fd in LISTEN_FDS_START..LISTEN_FDS_START.saturating_add(count.min(1024)) {
                match take_listener(fd) {
                    Some(l) => out.push(l),
                    None => tracing::warn!(
                        fd,
                        "an inherited descriptor is not a listening TCP socket; ignored"
                    ),
                }
            }
        }
        // The variables stay (changing the environment of a threaded process is not sound);
        // a child sees LISTEN_PID naming another process and takes nothing.
        Mutex::new(out)
    })
}

fn take_listener(fd: i32) -> Option<TcpListener> {
    use std::os::fd::{BorrowedFd, FromRawFd};
    // SAFETY: systemd's socket-activation protocol hands this process the descriptors from 3
    // to 3 + LISTEN_FDS - 1, open, and nothing else in odbcd uses them; LISTEN_PID was checked
    // to be this process, and this runs once (`INHERITED`), so each is owned exactly once.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let socket = socket2::SockRef::from(&borrowed);
    let stream = socket.r#type().ok()? == socket2::Type::STREAM;
    let listening = socket.is_listener().ok()?;
    let tcp = socket.local_addr().ok()?.as_socket().is_some();
    if !(stream && listening && tcp) {
        return None;
    }
    // Not for the programs a driver may start.
    socket.set_cloexec(true).ok()?;
    // SAFETY: as above: an open descriptor this process owns from now on, checked to be a
    // listening TCP socket.
    Some(unsafe { TcpListener::from_raw_fd(fd) })
}

/// The socket systemd passed for `addr`, if any (each is given out once). A dual-stack
/// `[::]:port` socket (systemd's `ListenStream=PORT`) serves a section on `0.0.0.0:port`.
pub(crate) fn take_inherited(addr: SocketAddr) -> Option<TcpListener> {
    let mut list = inherited().lock().unwrap_or_else(PoisonError::into_inner);
    let serves = |l: &TcpListener| {
        let Ok(bound) = l.local_addr() else {
            return false;
        };
        bound == addr
            || (addr.ip().is_unspecified()
                && addr.is_ipv4()
                && bound.is_ipv6()
                && bound.ip().is_unspecified()
                && bound.port() == addr.port()
                && socket2::SockRef::from(l).only_v6().is_ok_and(|v6| !v6))
    };
    let i = list.iter().position(serves)?;
    Some(list.swap_remove(i))
}

/// Inherited sockets no section claimed (logged once the listeners are set up).
pub(crate) fn unclaimed() -> Vec<SocketAddr> {
    inherited()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .collect()
}
