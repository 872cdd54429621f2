//! A throwaway PostgreSQL cluster for the tests of one test binary: `initdb` into a temp dir,
//! `postgres` on a free loopback port, run as the `postgres` user when the tests run as root
//! (PostgreSQL refuses root). A supervising shell stops the cluster and removes its files when
//! the test process exits (its stdin pipe closes).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The running cluster.
pub struct Pg {
    pub port: u16,
    pub dir: PathBuf,
    bin: PathBuf,
    as_root: bool,
    _supervisor: Mutex<Child>,
}

static CLUSTER: OnceLock<Pg> = OnceLock::new();

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn bindir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (apt install postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop().expect("initdb under /usr/lib/postgresql/*/bin")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The cluster, started on first use.
pub fn pg() -> &'static Pg {
    CLUSTER.get_or_init(start)
}

fn run_as(as_root: bool, program: &std::path::Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start() -> Pg {
    let as_root = is_root();
    let bin = bindir();
    let dir = std::env::temp_dir().join(format!("odbcd-pg-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("pg dir");
    if as_root {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "chown postgres {}", dir.display());
    }
    let data = dir.join("data");
    let out = run_as(as_root, &bin.join("initdb"))
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "-D",
        ])
        .arg(&data)
        .output()
        .expect("initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let runner = if as_root {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "{runner}{pg_ctl} -D {data} -l {dir}/log -w -o \"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300\" start >/dev/null || exit 1; \
         echo started; read _; {runner}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let mut supervisor = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start postgres");
    let mut line = String::new();
    let stdout = supervisor.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("read");
    assert_eq!(
        line.trim(),
        "started",
        "postgres did not start; see {}/log",
        dir.display()
    );
    let pg = Pg {
        port,
        dir,
        bin,
        as_root,
        _supervisor: Mutex::new(supervisor),
    };
    let end = Instant::now() + Duration::from_secs(30);
    while pg.try_psql("postgres", "select 1").is_err() {
        assert!(Instant::now() < end, "postgres not ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    pg
}

impl Pg {
    /// A psqlodbc connection string for database `db` (declare/fetch on, so results stream).
    pub fn connstr(&self, db: &str) -> String {
        format!(
            "Driver={{PostgreSQL Unicode}};Servername=127.0.0.1;Port={};Database={db};Username=postgres;Password=secret-pg-pwd;UseDeclareFetch=1;Fetch=2000;BoolsAsChar=0",
            self.port
        )
    }

    fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                db,
                "-p",
                &self.port.to_string(),
                "-c",
                sql,
            ])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs SQL with psql, returning its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql)
            .unwrap_or_else(|e| panic!("psql {sql}: {e}"))
    }

    /// Creates (or recreates) a database of its own for one test.
    pub fn create_db(&self, name: &str) {
        self.psql(
            "postgres",
            &format!("drop database if exists {name} with (force)"),
        );
        self.psql("postgres", &format!("create database {name}"));
    }

    /// Creates database `name` for one test; when the guard is dropped (declare it after the
    /// test's server, so it drops before the server is stopped), the test fails unless every
    /// backend the server opened on it has gone.
    pub fn database(&self, name: &str) -> DbGuard<'_> {
        self.create_db(name);
        DbGuard {
            pg: self,
            name: name.to_owned(),
        }
    }

    /// Client backends connected to `db` (not counting the psql asking).
    pub fn backends(&self, db: &str) -> usize {
        self.psql(
            "postgres",
            &format!("select count(*) from pg_stat_activity where datname = '{db}' and backend_type = 'client backend' and pid <> pg_backend_pid()"),
        )
        .parse()
        .unwrap_or(usize::MAX)
    }

    /// The directory of the PostgreSQL binaries.
    pub fn bin(&self) -> &std::path::Path {
        let _ = self.as_root;
        &self.bin
    }
}

/// See [`Pg::database`].
pub struct DbGuard<'a> {
    pg: &'a Pg,
    name: String,
}

impl Drop for DbGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let end = Instant::now() + Duration::from_secs(15);
        while self.pg.backends(&self.name) != 0 {
            assert!(
                Instant::now() < end,
                "backends on {} did not return to zero: {}",
                self.name,
                self.pg.backends(&self.name)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
