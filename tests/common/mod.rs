//! Test harness: real `odbcd` processes on ephemeral ports, ODBC ini files in temp dirs, and a
//! throwaway PostgreSQL cluster ([`pg`]). Shared by the server's tests and the load tester's
//! (`loadtest/tests` includes this module by path).

#![allow(dead_code)]

pub mod fake;
pub mod pg;
pub mod proxy;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use odbcd::client::{ConfigData, Connection, Odbc, ServerSession};

pub const SQLITE_DRIVER: &str = "/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so";
pub const PG_DRIVER: &str = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so";

/// Writes odbcinst.ini (drivers `SQLite3`, `PostgreSQL Unicode`) and odbc.ini (DSN `demo`, a
/// SQLite file) into `dir`; returns the environment the server needs.
pub fn write_odbc_ini(dir: &Path) -> Vec<(String, String)> {
    std::fs::write(
        dir.join("odbcinst.ini"),
        format!(
            "[SQLite3]\nDescription=SQLite3 ODBC Driver\nDriver={SQLITE_DRIVER}\n\n[PostgreSQL Unicode]\nDescription=PostgreSQL ODBC driver (Unicode)\nDriver={PG_DRIVER}\n"
        ),
    )
    .expect("write odbcinst.ini");
    std::fs::write(
        dir.join("odbc.ini"),
        format!(
            "[demo]\nDescription=demo SQLite database\nDriver=SQLite3\nDatabase={}\nStepAPI=1\n",
            dir.join("demo.db").display()
        ),
    )
    .expect("write odbc.ini");
    vec![
        ("ODBCSYSINI".into(), dir.display().to_string()),
        ("ODBCINI".into(), dir.join("odbc.ini").display().to_string()),
        ("LC_ALL".into(), "C.UTF-8".into()),
    ]
}

/// Reads one frame of `M` (a `ServerFrame` as a client, a `ClientFrame` as a fake server) from
/// a raw socket; `None` when the socket ends or the bytes are not a frame.
pub fn read_raw_frame<M: serde::de::DeserializeOwned>(s: &mut std::net::TcpStream) -> Option<M> {
    use odbcd::proto::{frame, MAX_FRAME_LEN};
    use std::io::Read;
    let mut head = [0u8; frame::HEADER_LEN];
    s.read_exact(&mut head).ok()?;
    let h = frame::parse_header(&head, MAX_FRAME_LEN).ok()?;
    let mut payload = vec![0u8; h.payload_len];
    s.read_exact(&mut payload).ok()?;
    frame::decode_payload(&h, &payload, MAX_FRAME_LEN).ok()
}

/// glibc's heap consistency checks for the server under test, when the debugging allocator is
/// installed: a heap overflow in a driver, the driver manager or odbcd then aborts at the next
/// `free` instead of corrupting memory silently.
pub fn malloc_checks() -> Vec<(String, String)> {
    let debug = "/lib/x86_64-linux-gnu/libc_malloc_debug.so.0";
    if Path::new(debug).exists() {
        vec![
            ("LD_PRELOAD".into(), debug.into()),
            ("GLIBC_TUNABLES".into(), "glibc.malloc.check=3".into()),
        ]
    } else {
        Vec::new()
    }
}

/// The `[Access]` section the tests use: their DSN-less connection strings name these drivers.
pub const ACCESS: &str = "[Access]\nallowed_drivers = SQLite3, PostgreSQL Unicode\n# The tests name their own SQLite files.\nallowed_unsafe_keys = Database\n";

/// A running `odbcd` process, killed on drop.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
    log: Arc<Mutex<String>>,
    /// The environment the server runs with (its ODBC ini files).
    env: Vec<(String, String)>,
}

/// The `odbcd` binary: Cargo's for the server's own tests, else the one next to the running
/// test's folder (`target/debug/odbcd`, built by `cargo test --workspace`).
pub fn odbcd_bin() -> PathBuf {
    if let Some(bin) = option_env!("CARGO_BIN_EXE_odbcd") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test's path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("odbcd"))
        .expect("target folder");
    assert!(
        bin.exists(),
        "{} missing: run `cargo test --workspace` (or `cargo build --bin odbcd`) first",
        bin.display()
    );
    bin
}

/// Adds `user` with `password` to the password file `file` (created if missing) with
/// `odbcd passwd`, keyed with `salt` when given.
pub fn add_user(file: &Path, user: &str, password: &str, salt: Option<&str>) {
    let mut cmd = Command::new(odbcd_bin());
    cmd.args(["passwd", "-f"])
        .arg(file)
        .args(["--add", user, "-p", password]);
    if let Some(s) = salt {
        cmd.args(["--login-salt", s]);
    }
    let out = cmd.output().expect("odbcd passwd");
    assert!(
        out.status.success(),
        "odbcd passwd --add {user}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A session opened on `server` as `user`, whose password is `USER-pw` (as [`add_user`] was
/// given it), with the server's `login_salt`.
pub fn login(
    server: &TestServer,
    salt: &str,
    user: &str,
) -> Result<ServerSession, odbcd::client::Error> {
    let data = server
        .config_data()
        .set("Authentication", "login_salt", salt);
    let mut s = ServerSession::new(None, Some(&data))?;
    s.open(user, &format!("{user}-pw"), None, None)?;
    Ok(s)
}

/// The port of the first listener in odbcd's `--ready-file`, once it is written (`None` if the
/// server exits or takes more than 20 s).
pub fn ready_port(ready: &std::path::Path, child: &mut Child) -> Option<u16> {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if let Ok(text) = std::fs::read_to_string(ready) {
            let addr = text.lines().next()?.split_whitespace().nth(1)?;
            return addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port());
        }
        if !matches!(child.try_wait(), Ok(None)) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

impl TestServer {
    /// Starts `odbcd run` with `[Connection] port = 0` plus `extra` config text.
    pub fn start(extra: &str) -> Self {
        Self::start_in_env(extra, &[])
    }

    /// Like [`Self::start`], with more environment variables for the server (e.g. `TZ`).
    pub fn start_in_env(extra: &str, extra_env: &[(&str, &str)]) -> Self {
        Self::start_with_env(
            &format!(
                "[Connection]\ninterface = 127.0.0.1\nport = 0\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n\n{ACCESS}\n{extra}"
            ),
            "",
            extra_env,
        )
    }

    /// Starts `odbcd run` with exactly this config text (it must listen on port 0 once).
    pub fn start_with(config: &str) -> Self {
        Self::start_with_odbcinst(config, "")
    }

    /// Like [`Self::start_with`], with `odbcinst_extra` appended to the driver manager's
    /// odbcinst.ini (e.g. an `[ODBC]` section that turns tracing on).
    pub fn start_with_odbcinst(config: &str, odbcinst_extra: &str) -> Self {
        Self::start_with_env(config, odbcinst_extra, &[])
    }

    /// Like [`Self::start_with_odbcinst`], with more environment variables for the server.
    pub fn start_with_env(config: &str, odbcinst_extra: &str, extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = write_odbc_ini(dir.path());
        if !odbcinst_extra.is_empty() {
            let path = dir.path().join("odbcinst.ini");
            let mut text = std::fs::read_to_string(&path).expect("read odbcinst.ini");
            text.push_str(odbcinst_extra);
            std::fs::write(&path, text).expect("write odbcinst.ini");
        }
        let cfg = dir.path().join("server-config.ini");
        std::fs::write(&cfg, config).expect("write config");
        // ODBCD_TEST_WRAPPER runs the server under a debugger, e.g. "gdb -batch -ex run -ex bt --args".
        let mut command = match std::env::var("ODBCD_TEST_WRAPPER") {
            Ok(w) if !w.trim().is_empty() => {
                let mut words = w.split_whitespace();
                let mut c = Command::new(words.next().unwrap_or("env"));
                c.args(words).arg(odbcd_bin());
                c
            }
            _ => Command::new(odbcd_bin()),
        };
        let ready = dir.path().join("ready");
        let mut child = command
            .args(["run", "--config"])
            .arg(&cfg)
            .arg("--ready-file")
            .arg(&ready)
            .current_dir(dir.path())
            .envs(env.clone())
            .envs(
                extra_env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            )
            .envs(malloc_checks())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn odbcd");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let port = match ready_port(&ready, &mut child) {
            Some(p) => p,
            None => {
                let _ = child.kill();
                std::thread::sleep(Duration::from_millis(200));
                panic!("odbcd did not start:\n{}", log.lock().unwrap());
            }
        };
        Self {
            dir,
            port,
            child,
            log,
            env,
        }
    }

    /// The environment the server runs with (`ODBCSYSINI`, `ODBCINI`, locale): what an
    /// in-process ODBC program needs to see the same drivers and data sources.
    pub fn odbc_env(&self) -> &[(String, String)] {
        &self.env
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's peak resident memory so far (`VmHWM`), in MB.
    pub fn peak_rss_mb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmHWM");
        kib / 1024
    }

    /// Waits (up to 10 s) until the server's log contains `needle`; panics with the log if it
    /// never does. The log is read from the server's stderr by another thread, so a line
    /// written just before an answer may arrive just after it.
    pub fn expect_log(&self, needle: &str) {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server never logged {needle:?}:\n{}", self.log());
    }

    /// The metrics endpoint's address (`[Metrics] listen`), from the ready file.
    pub fn metrics_addr(&self) -> std::net::SocketAddr {
        let text = std::fs::read_to_string(self.dir.path().join("ready")).expect("ready file");
        text.lines()
            .find_map(|l| l.strip_prefix("Metrics "))
            .and_then(|a| a.trim().parse().ok())
            .expect("a Metrics line in the ready file")
    }

    /// One sample of the server's metrics (`[Metrics] listen` must be set), by its name with
    /// labels as exposed (`odbcd_database_polls_total{found="request"}`); 0 when absent.
    pub fn metric(&self, name: &str) -> f64 {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.metrics_addr()).expect("metrics endpoint");
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: odbcd\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).expect("a scrape");
        text.lines()
            .filter_map(|l| l.rsplit_once(' '))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Client config data pointing at this server.
    pub fn config_data(&self) -> ConfigData {
        ConfigData::new()
            .set("Connection", "host", "127.0.0.1")
            .set("Connection", "port", self.port)
    }

    /// An open session.
    pub fn open(&self) -> (ServerSession, Odbc) {
        let mut s = ServerSession::new(None, Some(&self.config_data())).expect("config");
        let odbc = s.open("", "", None, None).expect("open session");
        (s, odbc)
    }

    /// Opens a session and, on it, a database connection with `connection_string`: the
    /// session, its ODBC proxy and the connection (the setup most tests start with).
    pub fn connect(&self, connection_string: &str) -> (ServerSession, Odbc, Connection) {
        let (session, odbc) = self.open();
        let conn = odbc
            .driver_connect(connection_string)
            .unwrap_or_else(|e| panic!("connect {connection_string}: {e}"));
        (session, odbc, conn)
    }

    /// A DSN-less SQLite connection string for a database file `name` in the temp dir.
    pub fn sqlite(&self, name: &str) -> String {
        format!(
            "Driver=SQLite3;Database={};StepAPI=1",
            self.dir.path().join(format!("{name}.db")).display()
        )
    }

    /// The environment `odbcd` runs with (for direct ODBC use in tests).
    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Waits until `f` holds (polling), or panics after `secs`.
    pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out waiting for {what}");
    }

    /// Kills the server process (like a crash) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The exit status, if the process has ended.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A table name unique to the calling test.
#[macro_export]
macro_rules! table {
    ($name:expr) => {
        format!("t_{}_{}", $name, std::process::id())
    };
}
