//! `odbcsh` and `odbcd` as a user runs them: `-e`, piped statements, formats, exit codes, and
//! configuration errors that name the file and line.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::{pg::pg, TestServer};

fn odbcsh(server: &TestServer, connect: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .args(["--port", &server.port.to_string(), "--connect", connect])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn csv_session(connect: &str, server: &TestServer) {
    let out = odbcsh(
        server,
        connect,
        &[
            "--format",
            "csv",
            "-e",
            "CREATE TABLE fruit (id INTEGER, name VARCHAR(40), note VARCHAR(40))",
            "-e",
            "INSERT INTO fruit VALUES (1, 'apple', NULL); INSERT INTO fruit VALUES (2, 'pear, \"green\"', '')",
            "-e",
            "SELECT id, name, note FROM fruit ORDER BY id",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "id,name,note\n1,apple,\n2,\"pear, \"\"green\"\"\",\"\"\n"
    );
    assert!(
        text(&out.stderr).contains("1 row affected"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn odbcsh_e_with_csv_on_sqlite() {
    let server = TestServer::start("");
    csv_session(&server.sqlite("cli"), &server);
    // The demo DSN too.
    let out = odbcsh(&server, "DSN=demo", &["-e", "SELECT 1 AS one"], None);
    assert_eq!(text(&out.stdout), "one\n---\n1\n(1 row)\n");
}

#[test]
fn odbcsh_e_with_csv_on_postgres() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("cli");
    csv_session(&pg.connstr("cli"), &server);
    let out = odbcsh(
        &server,
        &pg.connstr("cli"),
        &[
            "--format",
            "json",
            "-e",
            "SELECT 1::int AS a, 'x'::text AS b, NULL::int AS c, 2.50::numeric(4,2) AS d",
        ],
        None,
    );
    assert_eq!(
        text(&out.stdout),
        "[{\"a\":1,\"b\":\"x\",\"c\":null,\"d\":\"2.50\"}]\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn exit_codes_and_error_lines() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("cli_errors");
    let out = odbcsh(
        &server,
        &pg.connstr("cli_errors"),
        &["-e", "SELEC 1", "-e", "SELECT 2"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("ERROR ProgrammingError [42601]: "),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).is_empty(), "stops at the first error");

    let out = odbcsh(&server, "DSN=no_such_dsn", &["-e", "SELECT 1"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("ERROR OperationalError [IM002]: "),
        "{}",
        text(&out.stderr)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .args(["--port", "1", "--connect", "DSN=x", "-e", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .starts_with("ERROR OperationalError [08001]: no server accepted the session"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn piped_statements_run_as_they_arrive() {
    let server = TestServer::start("");
    let cs = server.sqlite("piped");
    let script = "CREATE TABLE t (id INTEGER);\nINSERT INTO t VALUES (1);\nINSERT INTO t\n  VALUES (2);\nSELEC oops;\nINSERT INTO t VALUES (3);\n";
    let out = odbcsh(&server, &cs, &["--format", "csv"], Some(script));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ERROR ProgrammingError [HY000]"),
        "{}",
        text(&out.stderr)
    );
    let out = odbcsh(
        &server,
        &cs,
        &["--format", "csv", "-e", "SELECT id FROM t ORDER BY id"],
        None,
    );
    assert_eq!(
        text(&out.stdout),
        "id\n1\n2\n",
        "stopped at the first error"
    );

    let out = odbcsh(
        &server,
        &cs,
        &["--format", "csv", "--continue-on-error"],
        Some("SELEC 1;\nINSERT INTO t VALUES (4);\nSELECT count(*) AS n FROM t;\n\\dsn\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("n\n3\n"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("demo\tSQLite3"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn config_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("server-config.ini");
    std::fs::write(
        &cfg,
        "[Connection]\nport = 6632\n\n[Session]\nmax_sesions = 10\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_odbcd"))
        .args(["run", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{}:5:", cfg.display())), "{err}");
    assert!(err.contains("did you mean 'max_sessions'"), "{err}");

    let client = dir.path().join("client-config.ini");
    std::fs::write(&client, "[Connection]\nport = many\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .arg("--config")
        .arg(&client)
        .args(["--connect", "DSN=x", "-e", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!(
            "ConfigurationError [HY000]: {}:2:",
            client.display()
        )),
        "{}",
        text(&out.stderr)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_odbcd"))
        .args(["check-config", "--config"])
        .arg("config/server-config.ini")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the shipped example config is valid: {}",
        text(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_odbcd"))
        .args(["check-config", "--config"])
        .arg("config/secure-server-config.ini")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Every option, with its default and meaning, from the one table the parser uses.
    let out = Command::new(env!("CARGO_BIN_EXE_odbcd"))
        .args(["check-config", "--options"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    for line in [
        "[Session]\n",
        "# max_sessions = 400\n",
        "# allowed_dsns = *\n",
    ] {
        assert!(listed.contains(line), "{line:?} in:\n{listed}");
    }
}

#[test]
fn interactive_shell_on_a_terminal() {
    // `script` (util-linux) gives odbcsh a real pty, so it runs its line editor.
    let server = TestServer::start("");
    let home = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} --port {} --connect DSN=demo",
        env!("CARGO_BIN_EXE_odbcsh"),
        server.port
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in ["SELECT 1 AS a,\r", " 2 AS b;\r", "\\timing\r", "\\q\r"] {
        std::thread::sleep(std::time::Duration::from_millis(400));
        stdin.write_all(line.as_bytes()).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(400));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let screen = text(&out.stdout).replace('\r', "");
    assert!(
        screen.contains("connected to [CommandLineConnection]"),
        "{screen}"
    );
    assert!(screen.contains("...> "), "continuation prompt: {screen}");
    assert!(screen.contains("a | b\n--+--\n1 | 2\n(1 row)"), "{screen}");
    assert!(screen.contains("Timing is on."), "{screen}");
    let history = std::fs::read_to_string(home.path().join(".odbcsh_history")).unwrap();
    assert!(history.contains("2 AS b;"), "{history}");
}

#[test]
fn odbcsh_with_a_log_file_keeps_log_lines_out_of_stderr() {
    let server = TestServer::start("");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("client.log");
    let cfg = dir.path().join("client-config.ini");
    std::fs::write(
        &cfg,
        format!(
            "[Connection]\nhost = 127.0.0.1\nport = {}\n\n[Logging]\nlog_level = mx.Log.SYSTEM_ANY\nlog_file = {}\n",
            server.port,
            log.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .arg("--config")
        .arg(&cfg)
        .args(["--connect", "DSN=demo", "-e", "SELECT * FROM no_such_table"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.lines().all(|l| l.starts_with("ERROR ")),
        "stderr holds only error lines:\n{stderr}"
    );
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!logged.is_empty(), "the log file got the log lines");
}

#[test]
fn odbcsh_streams_a_large_result_with_flat_memory() {
    use std::io::BufRead;
    let server = TestServer::start("");
    let rows = 2_000_000;
    let sql = format!(
        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {rows}) SELECT x, 'some text' FROM g"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .args(["--port", &server.port.to_string(), "--connect", "DSN=demo"])
        .args(["--format", "csv", "-e", &sql])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let peak = || -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
            .unwrap_or(0)
            / 1024
    };
    let started = std::time::Instant::now();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "x,'some text'");
    let first_row_after = started.elapsed();
    let mut count = 0u64;
    let mut max_peak = 0;
    for line in lines {
        line.unwrap();
        count += 1;
        if count.is_multiple_of(100_000) {
            max_peak = max_peak.max(peak());
        }
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(count, rows);
    assert!(max_peak < 100, "odbcsh's peak RSS reached {max_peak} MB");
    eprintln!(
        "first row after {first_row_after:?}, whole result {:?}, peak {max_peak} MB",
        started.elapsed()
    );
}

#[test]
fn odbcsh_passes_every_byte_of_a_statement_and_knows_dollar_quotes() {
    let server = TestServer::start("");
    let db = server.sqlite("bytes");
    let out = odbcsh(
        &server,
        &db,
        &[
            "--format",
            "csv",
            "-e",
            "CREATE TABLE c (x TEXT); INSERT INTO c VALUES ('a\r\nb;c'); SELECT length(x), hex(x) FROM c",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with("6,610D0A623B63\n"),
        "{}",
        text(&out.stdout)
    );
    // Piped input keeps its line ends too.
    let out = odbcsh(
        &server,
        &db,
        &["--format", "csv"],
        Some("INSERT INTO c VALUES ('p\r\nq');\r\nSELECT hex(x) FROM c WHERE x LIKE 'p%';\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("700D0A71"),
        "{}",
        text(&out.stdout)
    );

    let pg = pg();
    let _db = pg.database("cli_dollar");
    let out = odbcsh(
        &server,
        &pg.connstr("cli_dollar"),
        &[
            "--format",
            "csv",
            "-e",
            "SELECT $$a;b$$ AS d, E'x\\'y;z' AS e",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "d,e\na;b,x'y;z\n");
}

#[test]
fn odbcsh_json_keeps_columns_and_null_display_is_configurable() {
    let server = TestServer::start("");
    let out = odbcsh(
        &server,
        "DSN=demo",
        &[
            "--format",
            "json",
            "-e",
            "SELECT 1 AS z, 2 AS a, 3 AS a, NULL AS n",
        ],
        None,
    );
    // Every column, in order; SQLite integers as JSON numbers.
    assert_eq!(
        text(&out.stdout),
        "[{\"z\":1,\"a\":2,\"a#2\":3,\"n\":null}]\n"
    );
    let out = odbcsh(
        &server,
        "DSN=demo",
        &[
            "--null",
            "(null)",
            "-e",
            "SELECT NULL AS n UNION ALL SELECT 'NULL'",
        ],
        None,
    );
    let shown = text(&out.stdout);
    assert!(
        shown.contains("(null)") && shown.contains("NULL"),
        "{shown}"
    );
}

/// `odbcd run --ready-file` tells a program every listener's section and bound address once
/// the server accepts (port = 0 binds a free port), instead of a log line to scrape.
#[test]
fn the_ready_file_names_every_bound_listener() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("server-config.ini");
    std::fs::write(
        &cfg,
        "[Connection_A]\ninterface = 127.0.0.1\nport = 0\n[Connection_B]\ninterface = 127.0.0.1\nport = 0\n",
    )
    .unwrap();
    let ready = dir.path().join("ready");
    let mut child = Command::new(env!("CARGO_BIN_EXE_odbcd"))
        .args(["run", "--config"])
        .arg(&cfg)
        .arg("--ready-file")
        .arg(&ready)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let port = common::ready_port(&ready, &mut child);
    let text = std::fs::read_to_string(&ready).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(port.is_some_and(|p| p != 0), "{text}");
    let lines: Vec<(&str, std::net::SocketAddr)> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(name, addr)| (name, addr.parse().unwrap()))
        .collect();
    let names: Vec<&str> = lines.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["Connection_A", "Connection_B"], "{text}");
    assert!(lines.iter().all(|(_, a)| a.port() != 0));
    assert_ne!(lines[0].1, lines[1].1);
}

/// The describing commands, as a user types them: `\dt`, `\dv`, `\d NAME`, `\df`, `\dT`,
/// `\getinfo`, `\status`, and warnings on stderr.
#[test]
fn odbcsh_describes_tables_views_functions_and_types() {
    let pg = pg();
    let server = TestServer::start("");
    let _db = pg.database("cli_describe");
    let connect = pg.connstr("cli_describe");
    let setup = odbcsh(
        &server,
        &connect,
        &[
            "-e",
            "create table fruit (id integer primary key, name varchar(20) not null default 'x', price numeric(8,2));
             create index fruit_name_idx on fruit(name);
             create table basket (id integer primary key, fruit_id integer constraint basket_fruit references fruit(id));
             create view cheap as select name from fruit where price < 1;
             create function two_sets(n integer) returns setof integer language sql as 'select generate_series(1, n)';
             create function noisy() returns integer language plpgsql as $$ begin raise notice 'careful'; return 1; end $$",
        ],
        None,
    );
    assert_eq!(setup.status.code(), Some(0), "{}", text(&setup.stderr));
    let out = odbcsh(
        &server,
        &connect,
        &[
            "--format",
            "csv",
            "-e",
            "\\dt",
            "-e",
            "\\dv",
            "-e",
            "\\dt fr*",
            "-e",
            "\\d fruit",
            "-e",
            "\\df two*",
            "-e",
            "\\getinfo SQL_IDENTIFIER_QUOTE_CHAR",
            "-e",
            "select noisy()",
        ],
        None,
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for expected in [
        "Schema,Name,Type\npublic,basket,TABLE\npublic,fruit,TABLE\n",
        "Schema,Name,Type\npublic,cheap,VIEW\n",
        "Schema,Name,Type\npublic,fruit,TABLE\n",
        "Column,Type,Size,Nullable,Default\nid,int4,10,NO,\nname,varchar,20,NO,'x'::character varying\nprice,numeric,8,YES,\n",
        "Name,Columns\nfruit_pkey,id\n",
        "Name,From,To\nbasket_fruit,basket(fruit_id),fruit(id)\n",
        "Name,Unique,Columns\n",
        "fruit_name_idx,no,name\n",
        "fruit_pkey,yes,id\n",
        "Schema,Name,Type\npublic,two_sets,",
        "SQL_IDENTIFIER_QUOTE_CHAR: \"\n",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    assert!(
        stderr.contains("WARNING [") && stderr.contains("careful"),
        "{stderr}"
    );
    // The table format titles each part; an unknown table is an error (exit 1).
    let out = odbcsh(
        &server,
        &connect,
        &["-e", "\\d fruit", "-e", "\\status"],
        None,
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Table fruit\n") && stdout.contains("Indexes\n"),
        "{stdout}"
    );
    assert!(stdout.contains("sessions: 1 of 400"), "{stdout}");
    let out = odbcsh(&server, &connect, &["-e", "\\d nope"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("[42S02]"),
        "{}",
        text(&out.stderr)
    );
    let out = odbcsh(&server, &connect, &["-e", "\\dT"], None);
    assert!(text(&out.stdout).contains("int4"), "{}", text(&out.stdout));
}
