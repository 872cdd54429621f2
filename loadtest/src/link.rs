//! `odbcd-loadtest link`: a network link emulator for the benchmarks. The kernel here has no
//! netem, so this is a TCP proxy that gives each direction of every connection through it a
//! fixed propagation delay (half the round-trip time) and a bandwidth: bytes leave the
//! emulated link's queue one after another at `--mbit` and arrive `rtt/2` later, in order.
//!
//! The queue in front of the link (a router's buffer) holds at most one bandwidth-delay product
//! (at least 64 KiB): past it the proxy stops reading, so the sender feels the link through TCP
//! flow control as it would on a real path, and cannot hide a slow link in the proxy's memory.
//!
//! Used for odbcd and for PostgreSQL's own protocol alike (`psql` through the same proxy), so
//! the two are measured over the same emulated path. Each connection's traffic is printed as
//! one JSON line on stderr when it ends.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Parser;

/// The options of `odbcd-loadtest link`.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "odbcd-loadtest link",
    about = "A TCP proxy that emulates a network link (delay each way, bandwidth limit)"
)]
pub struct LinkArgs {
    /// Address to accept connections on (port 0: any free port, printed on stdout).
    #[arg(long)]
    listen: SocketAddr,
    /// Where to connect for each accepted connection.
    #[arg(long)]
    to: String,
    /// Round-trip time the link adds, in milliseconds (half of it each way).
    #[arg(long, default_value_t = 10.0)]
    rtt_ms: f64,
    /// Bandwidth of each direction, in megabits per second.
    #[arg(long, default_value_t = 100.0)]
    mbit: f64,
}

/// One direction of the emulated link: a clock for when it is free to send the next byte.
#[derive(Debug)]
struct Wire {
    bytes_per_sec: f64,
    one_way: Duration,
    /// The queue in front of the link, as time to drain it, beyond which reading stops.
    max_backlog: Duration,
}

/// Chunks on their way, with their arrival times (`None` marks the end), and their bytes.
#[derive(Default)]
struct Chunks {
    queue: VecDeque<(Instant, Option<Vec<u8>>)>,
    bytes: usize,
    /// The deliverer is gone (its receiver failed): the sender waits for room no more.
    closed: bool,
}

/// One direction's chunks between its two threads: `arrived` wakes the deliverer, `room` the
/// sender once a receiver that reads slower than the link has caught up.
#[derive(Default)]
struct Pipe {
    chunks: Mutex<Chunks>,
    arrived: Condvar,
    room: Condvar,
}

type InFlight = Arc<Pipe>;

/// What one direction carried.
#[derive(Debug, Default, Clone, Copy)]
struct Carried {
    bytes: u64,
    /// Time the link spent sending them (bytes / bandwidth).
    busy: Duration,
}

/// Runs the proxy until killed.
pub fn run(args: &LinkArgs) -> ExitCode {
    if !(args.mbit >= 0.01 && args.mbit <= 1e6 && args.rtt_ms >= 0.0 && args.rtt_ms < 60_000.0) {
        eprintln!("link: --mbit must be between 0.01 and 1000000, --rtt-ms between 0 and 60000");
        return ExitCode::from(2);
    }
    let listener = match TcpListener::bind(args.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("link: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let bytes_per_sec = args.mbit * 1e6 / 8.0;
    let one_way = Duration::from_secs_f64(args.rtt_ms / 2000.0);
    let bdp = bytes_per_sec * args.rtt_ms / 1000.0;
    let wire = Arc::new(Wire {
        bytes_per_sec,
        one_way,
        max_backlog: Duration::from_secs_f64(bdp.max(65_536.0) / bytes_per_sec),
    });
    match listener.local_addr() {
        Ok(a) => println!("{a}"),
        Err(e) => {
            eprintln!("link: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _ = std::io::stdout().flush();
    for accepted in listener.incoming() {
        let client = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors, say: wait rather than spin.
                eprintln!("link: accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let to = args.to.clone();
        let wire = Arc::clone(&wire);
        std::thread::spawn(move || {
            if let Err(e) = carry(client, &to, &wire) {
                eprintln!("link: {e}");
            }
        });
    }
    ExitCode::SUCCESS
}

/// Carries one connection both ways until both ends closed.
fn carry(client: TcpStream, to: &str, wire: &Arc<Wire>) -> std::io::Result<()> {
    let server = TcpStream::connect(to)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let started = Instant::now();
    let up = direction(client.try_clone()?, server.try_clone()?, Arc::clone(wire))?;
    let down = direction(server, client, Arc::clone(wire))?;
    let up = up.join().unwrap_or_default();
    let down = down.join().unwrap_or_default();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{{\"link\":true,\"seconds\":{seconds:.6},\"up_bytes\":{},\"down_bytes\":{},\"down_busy\":{:.6}}}",
        up.bytes,
        down.bytes,
        down.busy.as_secs_f64()
    );
    Ok(())
}

/// Starts the two threads of one direction: a reader that puts chunks on the wire (waiting
/// while the link's queue is full) and a writer that delivers them when they arrive.
fn direction(
    from: TcpStream,
    to: TcpStream,
    wire: Arc<Wire>,
) -> std::io::Result<std::thread::JoinHandle<Carried>> {
    let in_flight: InFlight = Arc::new(Pipe::default());
    let deliver = {
        let in_flight = Arc::clone(&in_flight);
        let from = from.try_clone()?;
        std::thread::Builder::new()
            .name("link-deliver".into())
            .spawn(move || deliver(&in_flight, to, from))?
    };
    let reader = std::thread::Builder::new()
        .name("link-send".into())
        .spawn(move || {
            let carried = send(&wire, from, &in_flight);
            let _ = deliver.join();
            carried
        })?;
    Ok(reader)
}

/// Reads from `from` and schedules each chunk's arrival: it leaves when the link is free, takes
/// its size over the bandwidth to send, and arrives one propagation delay later.
fn send(wire: &Wire, mut from: TcpStream, in_flight: &InFlight) -> Carried {
    // Chunks of about 100 µs of the link (at least a TCP segment): fine enough that a chunk's
    // own sending time adds little to latency, coarse enough that the proxy's CPU stays small.
    let chunk = ((wire.bytes_per_sec * 1e-4) as usize).clamp(1_460, 65_536);
    let mut buf = vec![0u8; chunk];
    let mut free_at = Instant::now();
    let mut carried = Carried::default();
    // What may be on its way at once: the link's own bytes in flight (a bandwidth-delay
    // product) and its queue; beyond it the receiver reads slower than the link, and the
    // sender must feel that too.
    let most_in_flight = ((wire.bytes_per_sec
        * (wire.one_way.as_secs_f64() * 2.0 + wire.max_backlog.as_secs_f64()))
        as usize)
        .max(4 * chunk);
    loop {
        // The queue in front of the link is full: wait for it to drain to half before reading.
        let now = Instant::now();
        if free_at > now + wire.max_backlog {
            std::thread::sleep(free_at - now - wire.max_backlog / 2);
        }
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        let now = Instant::now();
        if n == 0 {
            let mut q = in_flight
                .chunks
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            q.queue.push_back((free_at.max(now) + wire.one_way, None));
            in_flight.arrived.notify_one();
            return carried;
        }
        let sending = Duration::from_secs_f64(n as f64 / wire.bytes_per_sec);
        free_at = free_at.max(now) + sending;
        carried.bytes += n as u64;
        carried.busy += sending;
        let mut q = in_flight
            .chunks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        q.queue
            .push_back((free_at + wire.one_way, Some(buf[..n].to_vec())));
        q.bytes += n;
        in_flight.arrived.notify_one();
        while q.bytes > most_in_flight && !q.closed {
            q = in_flight
                .room
                .wait(q)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Writes each chunk to `to` at its arrival time (chunks already due go out in one write);
/// at the end, or when `to` fails, closes both sides of this direction.
fn deliver(in_flight: &InFlight, mut to: TcpStream, from: TcpStream) {
    // Sleeps end on time: Linux lets a sleep overrun by 50 µs by default (the timer slack),
    // which would add to every delay of the emulated link.
    let _ = nix::sys::prctl::set_timerslack(1);
    let mut out = Vec::new();
    loop {
        let mut q = in_flight
            .chunks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while q.queue.is_empty() {
            q = in_flight
                .arrived
                .wait(q)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let due = q.queue.front().map_or_else(Instant::now, |(at, _)| *at);
        drop(q);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let mut ended = false;
        let mut q = in_flight
            .chunks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        while let Some((at, _)) = q.queue.front() {
            if *at > now {
                break;
            }
            match q.queue.pop_front() {
                Some((_, Some(bytes))) => out.extend_from_slice(&bytes),
                _ => {
                    ended = true;
                    break;
                }
            }
        }
        drop(q);
        if !out.is_empty() && to.write_all(&out).is_err() {
            // The receiver is gone: stop the sender too (and wake it if it waits for room).
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            let mut q = in_flight
                .chunks
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            q.closed = true;
            in_flight.room.notify_one();
            return;
        }
        // Delivered: the sender may send more.
        let mut q = in_flight
            .chunks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        q.bytes -= out.len();
        in_flight.room.notify_one();
        drop(q);
        out.clear();
        if ended {
            let _ = to.shutdown(Shutdown::Write);
            return;
        }
    }
}
