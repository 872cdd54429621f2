//! A fault-injecting TCP proxy between a client and `odbcd`: it forwards bytes both ways and,
//! on command, cuts connections (FIN), resets them (RST), stalls them (holds all data while the
//! sockets stay open), or cuts a connection after a number of bytes in one direction (so a frame
//! breaks in the middle). New connections are forwarded normally, so clients can resume.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

struct Conn {
    client: TcpStream,
    server: TcpStream,
    stalled: AtomicBool,
    /// Cut when this many bytes went up / down (u64::MAX: never).
    cut_at: [AtomicU64; 2],
    moved: [AtomicU64; 2],
}

impl Conn {
    fn cut(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.server.shutdown(Shutdown::Both);
    }
}

/// A cut on seeing a pattern.
#[derive(Clone)]
struct PatternCut {
    dir: Dir,
    pattern: Vec<u8>,
    /// Forward the bytes that hold the pattern first (the server gets the request, the answer
    /// is lost), or cut before them (the request is lost).
    forward_first: bool,
    times: u32,
}

#[derive(Default)]
struct Control {
    conns: Mutex<Vec<Arc<Conn>>>,
    /// Applied to connections accepted later: cut after this many bytes (per direction).
    next_cut: Mutex<Option<(Dir, u64)>>,
    /// Applied to every connection accepted from now on.
    every_cut: Mutex<Option<(Dir, u64)>>,
    /// Cut a connection when bytes in `dir` contain the pattern (before or after forwarding
    /// them), this many more times in all.
    pattern_cut: Mutex<Option<PatternCut>>,
    accepted: AtomicU64,
}

/// The proxy; it runs until the test process ends.
pub struct Proxy {
    /// The port clients connect to.
    pub port: u16,
    control: Arc<Control>,
}

impl Proxy {
    /// Forwards 127.0.0.1:`port` (returned) to 127.0.0.1:`target`.
    pub fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let port = listener.local_addr().expect("addr").port();
        let control = Arc::new(Control::default());
        let c = control.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(c_read), Ok(s_read)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                let cut = c
                    .next_cut
                    .lock()
                    .unwrap()
                    .take()
                    .or(*c.every_cut.lock().unwrap());
                let conn = Arc::new(Conn {
                    client,
                    server,
                    stalled: AtomicBool::new(false),
                    cut_at: [AtomicU64::new(u64::MAX), AtomicU64::new(u64::MAX)],
                    moved: [AtomicU64::new(0), AtomicU64::new(0)],
                });
                if let Some((dir, n)) = cut {
                    conn.cut_at[dir as usize].store(n, Ordering::SeqCst);
                }
                c.conns.lock().unwrap().push(conn.clone());
                c.accepted.fetch_add(1, Ordering::SeqCst);
                let up = conn.clone();
                let (c_up, c_down) = (c.clone(), c.clone());
                std::thread::spawn(move || pump(c_read, &up, Dir::Up, &c_up));
                std::thread::spawn(move || pump(s_read, &conn, Dir::Down, &c_down));
            }
        });
        Self { port, control }
    }

    fn live(&self) -> Vec<Arc<Conn>> {
        self.control.conns.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.control.accepted.load(Ordering::SeqCst)
    }

    /// Closes every current connection (FIN both ways).
    pub fn cut(&self) {
        for c in self.live() {
            c.cut();
        }
    }

    /// Resets every current connection (RST).
    pub fn reset(&self) {
        for c in self.live() {
            for s in [&c.client, &c.server] {
                let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
            }
            c.cut();
        }
    }

    /// Holds all data of the current connections (sockets stay open) until `unstall`.
    pub fn stall(&self) {
        for c in self.live() {
            c.stalled.store(true, Ordering::SeqCst);
        }
    }

    /// Forwards again (stalled data goes through).
    pub fn unstall(&self) {
        for c in self.live() {
            c.stalled.store(false, Ordering::SeqCst);
        }
    }

    /// Cuts the current connections once `n` more bytes went in `dir`.
    pub fn cut_after(&self, dir: Dir, n: u64) {
        for c in self.live() {
            let moved = c.moved[dir as usize].load(Ordering::SeqCst);
            c.cut_at[dir as usize].store(moved + n, Ordering::SeqCst);
        }
    }

    /// Every connection accepted from now on is cut after `n` bytes in `dir`.
    pub fn cut_every_after(&self, dir: Dir, n: u64) {
        *self.control.every_cut.lock().unwrap() = Some((dir, n));
    }

    /// The next connection accepted is cut after `n` bytes in `dir`.
    pub fn cut_next_after(&self, dir: Dir, n: u64) {
        *self.control.next_cut.lock().unwrap() = Some((dir, n));
    }

    /// Cuts whichever connection carries `pattern` in `dir`, `times` times in all (on new
    /// connections too): before forwarding the bytes that hold it, or after.
    pub fn cut_on(&self, dir: Dir, pattern: &[u8], forward_first: bool, times: u32) {
        *self.control.pattern_cut.lock().unwrap() = Some(PatternCut {
            dir,
            pattern: pattern.to_vec(),
            forward_first,
            times,
        });
    }
}

/// Whether `data` going in `dir` triggers the pattern cut (and counts it).
fn pattern_hit(control: &Control, dir: Dir, data: &[u8]) -> Option<bool> {
    let mut guard = control.pattern_cut.lock().unwrap();
    let cut = guard.as_mut()?;
    if cut.dir != dir
        || cut.times == 0
        || !data.windows(cut.pattern.len()).any(|w| w == cut.pattern)
    {
        return None;
    }
    cut.times -= 1;
    Some(cut.forward_first)
}

fn pump(mut from: TcpStream, conn: &Conn, dir: Dir, control: &Control) {
    let mut to = match dir {
        Dir::Up => &conn.server,
        Dir::Down => &conn.client,
    };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while conn.stalled.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        match pattern_hit(control, dir, &buf[..n]) {
            Some(false) => {
                conn.cut();
                break;
            }
            Some(true) => {
                let _ = to.write_all(&buf[..n]);
                let _ = to.flush();
                // Let the bytes reach the other side before the cut.
                std::thread::sleep(Duration::from_millis(20));
                conn.cut();
                break;
            }
            None => {}
        }
        let i = dir as usize;
        let moved = conn.moved[i].load(Ordering::SeqCst);
        let limit = conn.cut_at[i].load(Ordering::SeqCst);
        let allowed = limit.saturating_sub(moved).min(n as u64) as usize;
        if allowed > 0 && to.write_all(&buf[..allowed]).is_err() {
            break;
        }
        conn.moved[i].fetch_add(allowed as u64, Ordering::SeqCst);
        if allowed < n {
            conn.cut();
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
