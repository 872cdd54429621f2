//! `--workload pingpong`: this machine's floor for a round trip. Two processes (this one and
//! an echo process it starts) exchange, over TCP on loopback with `TCP_NODELAY` and blocking
//! calls, exactly the bytes of a `select1`: the request frame `Execute {sql: "SELECT 1"}` one
//! way, the answer frame `Executed` with its one row the other. Whatever a `select1` costs
//! above this is the server's and the database's.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::OnceLock;

use odbcd::client::{ColumnDesc, Value};
use odbcd::proto::compress::Compression;
use odbcd::proto::frame;
use odbcd::proto::message::{ClientFrame, Request, Response, ServerFrame};

use crate::runner::Runner;
use crate::workload::Step;

/// Where the echo process listens.
pub static ECHO: OnceLock<SocketAddr> = OnceLock::new();

/// The sizes of a `select1`'s request and answer frames, as odbcd sends them.
pub fn select1_sizes() -> (usize, usize) {
    let mut request = Vec::new();
    let _ = frame::encode(
        &ClientFrame {
            id: 7,
            ack: 1_000,
            request: Request::Execute {
                conn: 1,
                cursor: 1,
                sql: "SELECT 1".into(),
                params: Vec::new(),
                max_rows: 1000,
            },
        },
        Compression::OFF,
        usize::MAX,
        &mut request,
    );
    let mut answer = Vec::new();
    let _ = frame::encode(
        &ServerFrame {
            id: 7,
            response: Response::Executed {
                columns: Some(vec![ColumnDesc {
                    name: "1".into(),
                    // SQL_INTEGER
                    type_code: 4,
                    display_size: Some(11),
                    internal_size: Some(4),
                    precision: Some(10),
                    scale: Some(0),
                    null_ok: Some(false),
                }]),
                rowcount: -1,
                rows: vec![vec![Value::Int(1)]],
                done: true,
            },
        },
        Compression::OFF,
        usize::MAX,
        &mut answer,
    );
    (request.len(), answer.len())
}

/// The echo process: listens on a free loopback port, says which on stdout, answers each
/// request of every connection with an answer's bytes, until its stdin ends.
pub fn echo() -> ExitCode {
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return ExitCode::from(2);
    };
    let Ok(addr) = listener.local_addr() else {
        return ExitCode::from(2);
    };
    println!("{addr}");
    let _ = std::io::stdout().flush();
    // Ends when the loadtest does (its stdin closes).
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    let (request, answer) = select1_sizes();
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut stream = stream;
            let mut req = vec![0u8; request];
            let ans = vec![0x5au8; answer];
            while stream.read_exact(&mut req).is_ok() {
                if stream.write_all(&ans).is_err() {
                    break;
                }
            }
        });
    }
    ExitCode::SUCCESS
}

/// Starts the echo process and records its address in [`ECHO`].
///
/// # Errors
/// It cannot be started or does not say where it listens.
pub fn start_echo() -> Result<Child, (String, String)> {
    let err = |e: &dyn std::fmt::Display| ("InterfaceError".to_owned(), e.to_string());
    let exe = std::env::current_exe().map_err(|e| err(&e))?;
    let mut child = Command::new(exe)
        .arg("--pingpong-echo")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| err(&e))?;
    let mut line = String::new();
    let read = child
        .stdout
        .take()
        .map(std::io::BufReader::new)
        .map(|mut out| out.read_line(&mut line));
    let addr: SocketAddr = match read {
        Some(Ok(_)) => line.trim().parse().map_err(|e| err(&e))?,
        _ => return Err(err(&"the echo process said nothing")),
    };
    let _ = ECHO.set(addr);
    Ok(child)
}

/// One connection to the echo process.
pub struct PingPong {
    stream: TcpStream,
    request: Vec<u8>,
    answer: Vec<u8>,
}

impl PingPong {
    /// Connects to the echo process.
    ///
    /// # Errors
    /// The connection fails.
    pub fn open(addr: SocketAddr) -> Result<Self, (String, String)> {
        let stream =
            TcpStream::connect(addr).map_err(|e| ("InterfaceError".to_owned(), e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (request, answer) = select1_sizes();
        Ok(Self {
            stream,
            request: vec![0xa5; request],
            answer: vec![0; answer],
        })
    }
}

impl Runner for PingPong {
    fn run(&mut self, _: &Step) -> Result<u64, (String, String)> {
        let io = |e: std::io::Error| ("InterfaceError".to_owned(), e.to_string());
        self.stream.write_all(&self.request).map_err(io)?;
        self.stream.read_exact(&mut self.answer).map_err(io)?;
        Ok(1)
    }

    fn begin_transactions(&mut self) -> Result<(), (String, String)> {
        Ok(())
    }

    fn traffic(&self) -> (u64, u64) {
        (0, 0)
    }
}
