//! Security through the client library and odbcsh: TLS required and allowed on the shared port,
//! the client verifying the server (certificate, CA, pin, explicit opt-out), every
//! client-certificate rule admitting and refusing, `odbcd digest`, `openssl s_client`, bad key
//! files at start-up, and netmask refusal.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::TestServer;
use odbcd::client::{ConfigData, ErrorClass, ServerSession, Value};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A CA, a server certificate for 127.0.0.1 and localhost, and two client certificates, as
/// PEM files in a folder.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "odbcd test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        std::fs::write(dir.path().join("ca.cert"), ca.pem()).unwrap();
        let leaf = |name: &str, sans: Vec<String>| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(sans).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
            std::fs::write(dir.path().join(format!("{name}.cert")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{name}.pkey")), key.serialize_pem()).unwrap();
        };
        leaf("server", vec!["127.0.0.1".into(), "localhost".into()]);
        leaf("alice", vec![]);
        leaf("bob", vec![]);
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `odbcd digest` of a certificate file: (SHA1, SHA-256).
    fn digest(&self, name: &str) -> (String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_odbcd"))
            .arg("digest")
            .arg(self.path(name))
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let words: Vec<&str> = text.split_whitespace().collect();
        (words[2].to_owned(), words[4].to_owned())
    }

    /// A `[Connection]` section with TLS and `extra` options.
    fn server(&self, tls: &str, extra: &str) -> TestServer {
        TestServer::start_with(&format!(
            "[Connection]\ninterface = 127.0.0.1\nport = 0\n{tls}\nserver_private_key_file = {}\nserver_certificate_file = {}\n{extra}\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n",
            self.path("server.pkey").display(),
            self.path("server.cert").display(),
        ))
    }
}

fn client(server: &TestServer, options: &[(&str, String)]) -> ServerSession {
    let mut data = ConfigData::new()
        .set("Connection", "host", "127.0.0.1")
        .set("Connection", "port", server.port);
    for (k, v) in options {
        data = data.set("Connection", k, v);
    }
    ServerSession::new(None, Some(&data)).unwrap()
}

fn tls_as(pki: &Pki, who: Option<&str>) -> Vec<(&'static str, String)> {
    let mut o = vec![
        ("using_ssl", "1".to_owned()),
        (
            "server_certificate_file",
            pki.path("server.cert").display().to_string(),
        ),
    ];
    if let Some(who) = who {
        o.push((
            "client_certificate_file",
            pki.path(&format!("{who}.cert")).display().to_string(),
        ));
        o.push((
            "client_private_key_file",
            pki.path(&format!("{who}.pkey")).display().to_string(),
        ));
    }
    o
}

/// Opens a session and runs a query: Ok, or the error.
fn query(server: &TestServer, options: &[(&str, String)]) -> Result<(), odbcd::client::Error> {
    let mut s = client(server, options);
    let odbc = s.open("", "", None, None)?;
    let conn = odbc.driver_connect("DSN=demo")?;
    let mut c = conn.cursor();
    c.execute("SELECT 1", &[])?;
    assert_eq!(c.fetchone()?.map(Vec::from), Some(vec![Value::Int(1)]));
    s.close()
}

#[test]
fn require_ssl_serves_tls_clients_and_refuses_plain_ones_clearly() {
    let pki = Pki::new();
    let server = pki.server("require_ssl = 1", "");
    query(&server, &tls_as(&pki, None)).unwrap();
    let e = query(&server, &[]).unwrap_err();
    assert_eq!(e.class, ErrorClass::ODBCConnectError, "{e}");
    assert!(e.message.contains("requires SSL"), "{e}");
    // odbcsh over TLS, configured from a file.
    let cfg = server.dir.path().join("client-tls.ini");
    std::fs::write(
        &cfg,
        format!(
            "[Connection]\nhost = 127.0.0.1\nport = {}\nusing_ssl = 1\nserver_certificate_file = {}\n",
            server.port,
            pki.path("server.cert").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .arg("--config")
        .arg(&cfg)
        .args([
            "--connect",
            "DSN=demo",
            "--format",
            "csv",
            "-e",
            "SELECT 'over tls' AS x",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "x\nover tls\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn allow_ssl_serves_plain_and_tls_on_one_port() {
    let pki = Pki::new();
    let server = pki.server("allow_ssl = 1", "");
    query(&server, &[]).unwrap();
    query(&server, &tls_as(&pki, None)).unwrap();
    server.expect_log("server certificate SHA1");
}

#[test]
fn the_client_verifies_the_server() {
    let pki = Pki::new();
    let server = pki.server("require_ssl = 1", "");
    let (sha1, sha256) = pki.digest("server.cert");
    // Nothing to verify with: refused locally, saying how to fix it.
    let e = query(&server, &[("using_ssl", "1".into())]).unwrap_err();
    assert_eq!(e.class, ErrorClass::ConfigurationError, "{e}");
    assert!(
        e.message.contains("server_certificate_file")
            && e.message.contains("verify_server_certificate = 0"),
        "{e}"
    );
    // The explicit opt-out.
    query(
        &server,
        &[
            ("using_ssl", "1".into()),
            ("verify_server_certificate", "0".into()),
        ],
    )
    .unwrap();
    // The CA, with the host name checked against the certificate.
    query(
        &server,
        &[
            ("using_ssl", "1".into()),
            (
                "server_certificate_file",
                pki.path("ca.cert").display().to_string(),
            ),
        ],
    )
    .unwrap();
    // Pins.
    query(
        &server,
        &[
            ("using_ssl", "1".into()),
            ("server_certificate_digest", sha256),
        ],
    )
    .unwrap();
    query(
        &server,
        &[
            ("using_ssl", "1".into()),
            ("server_certificate_digest", sha1.to_uppercase()),
        ],
    )
    .unwrap();
    // A wrong pin or an unrelated certificate: refused.
    let e = query(
        &server,
        &[
            ("using_ssl", "1".into()),
            ("server_certificate_digest", "00".repeat(20)),
        ],
    )
    .unwrap_err();
    assert_eq!(e.class, ErrorClass::ODBCConnectError, "{e}");
    assert!(e.message.contains("not trusted"), "{e}");
    let e = query(
        &server,
        &[
            ("using_ssl", "1".into()),
            (
                "server_certificate_file",
                pki.path("bob.cert").display().to_string(),
            ),
        ],
    )
    .unwrap_err();
    assert_eq!(e.class, ErrorClass::ODBCConnectError, "{e}");
}

fn admits(server: &TestServer, pki: &Pki) -> (bool, bool, bool) {
    let ok = |who: Option<&str>| match query(server, &tls_as(pki, who)) {
        Ok(()) => true,
        Err(e) => {
            assert_eq!(e.class, ErrorClass::ODBCConnectError, "{e}");
            assert!(e.message.contains("does not accept this client"), "{e}");
            false
        }
    };
    (ok(Some("alice")), ok(Some("bob")), ok(None))
}

#[test]
fn each_client_certificate_rule_admits_and_refuses() {
    let pki = Pki::new();
    let (alice, _) = pki.digest("alice.cert");
    // No rule: anyone.
    assert_eq!(
        admits(&pki.server("require_ssl = 1", ""), &pki),
        (true, true, true)
    );
    // A file of certificates.
    let server = pki.server(
        "require_ssl = 1",
        &format!(
            "client_certificate_file = {}",
            pki.path("alice.cert").display()
        ),
    );
    assert_eq!(admits(&server, &pki), (true, false, false));
    assert!(
        server
            .log()
            .contains(&format!("admitted client certificate SHA1 {alice}")),
        "{}",
        server.log()
    );
    assert!(
        server
            .log()
            .contains(&format!("accepted client certificate SHA1 {alice}")),
        "{}",
        server.log()
    );
    // A folder of .cert files.
    let folder = pki.path("allowed");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(pki.path("alice.cert"), folder.join("alice.cert")).unwrap();
    std::fs::copy(pki.path("bob.cert"), folder.join("bob.cert.disabled")).unwrap();
    let server = pki.server(
        "require_ssl = 1",
        &format!("client_certificate_dir = {}", folder.display()),
    );
    assert_eq!(admits(&server, &pki), (true, false, false));
    // Digests in the config: upper case, ':' separators, a continuation line.
    let colons: String = alice
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":");
    let server = pki.server(
        "require_ssl = 1",
        &format!(
            "client_certificate_digest = {} \\\n  {colons}",
            "ab".repeat(20)
        ),
    );
    assert_eq!(admits(&server, &pki), (true, false, false));
    // A digest file.
    std::fs::write(pki.path("allowed.sha1"), format!("# admitted\n{alice}\n")).unwrap();
    let server = pki.server(
        "require_ssl = 1",
        &format!(
            "client_certificate_digest_file = {}",
            pki.path("allowed.sha1").display()
        ),
    );
    assert_eq!(admits(&server, &pki), (true, false, false));
}

#[test]
fn openssl_s_client_completes_a_handshake() {
    let pki = Pki::new();
    let server = pki.server("require_ssl = 1", "");
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", server.port),
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(pki.path("ca.cert"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Send our preamble inside TLS, then hang up.
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"ODBD\x00\x01\x00\x00").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let mut raw = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut raw).unwrap();
    let out = String::from_utf8_lossy(&raw);
    let status = child.wait().unwrap();
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    assert!(
        out.contains("ODBD"),
        "the server answered the preamble inside TLS: {out}"
    );
    assert!(status.success());
}

#[test]
fn a_missing_or_bad_key_stops_the_server_at_start_up() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    for (key, expected) in [
        (dir.path().join("missing.pkey"), "No such file"),
        (pki.path("server.cert"), "no usable PEM private key"),
        (pki.path("alice.pkey"), "does not fit"),
    ] {
        let cfg = dir.path().join("server-config.ini");
        std::fs::write(
            &cfg,
            format!(
                "[Connection]\nport = 0\nrequire_ssl = 1\nserver_private_key_file = {}\nserver_certificate_file = {}\n",
                key.display(),
                pki.path("server.cert").display()
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_odbcd"))
            .args(["run", "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("[Connection] TLS") && err.contains(expected),
            "{err}"
        );
    }
}

#[test]
fn a_peer_outside_the_netmask_is_closed_at_once() {
    let mut server = TestServer::start_with(
        "[Connection]\ninterface = 127.0.0.1\nnetmask = 255.255.255.255\nport = 0\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n",
    );
    // From 127.0.0.2: closed before anything is said.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.2:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket
        .connect(
            &format!("127.0.0.1:{}", server.port)
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    let mut s: std::net::TcpStream = socket.into();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let _ = std::io::Write::write_all(
        &mut s,
        &odbcd::proto::preamble::Preamble::current(0).encode(),
    );
    let mut buf = [0u8; 16];
    assert!(
        matches!(s.read(&mut buf), Ok(0) | Err(_)),
        "closed without an answer"
    );
    TestServer::wait_until(5, "the refusal in the log", || {
        server
            .log()
            .contains("peer is outside 127.0.0.1/255.255.255.255")
    });
    // From 127.0.0.1 (inside): served.
    query(&server, &[]).unwrap();
    assert!(server.alive());
}

#[test]
fn connection_strings_are_checked_against_the_access_rules() {
    // Defaults: DSNs yes, DSN-less drivers no, driver paths never.
    let server = TestServer::start_with("[Connection]\nport = 0\n");
    let (_s, odbc) = server.open();
    let policy = |cs: &str, needle: &str| {
        let e = odbc.driver_connect(cs).unwrap_err();
        assert_eq!(e.class, ErrorClass::PolicyViolationError, "{cs}: {e}");
        assert!(e.message.contains(needle), "{cs}: {e}");
    };
    odbc.driver_connect("DSN=demo").unwrap();
    policy(
        &format!("Driver={};Database=/tmp/x.db", common::SQLITE_DRIVER),
        "driver paths are not allowed",
    );
    policy(
        "Driver={/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so}",
        "driver paths are not allowed",
    );
    policy("Driver=SQLite3;Database=/tmp/x.db", "allowed_drivers");
    policy("DSN=demo;Driver=libsqlite3odbc.so", "one of DSN, Driver");
    policy("FileDSN=/etc/odbc.dsn", "FileDSN");
    policy("DSN=demo;SaveFile=/tmp/leak.dsn", "SaveFile");
    let e = odbc.driver_connect("DSN=demo;PWD={oops").unwrap_err();
    assert_eq!(e.class, ErrorClass::ProgrammingError, "{e}");
    server.expect_log("connect refused");

    // Listed names only.
    let server = TestServer::start_with(
        "[Connection]\nport = 0\n\n[Access]\nallowed_dsns = other\nallowed_drivers = SQLite3\nallowed_unsafe_keys = Database\n",
    );
    let (_s, odbc) = server.open();
    let e = odbc.driver_connect("DSN=demo").unwrap_err();
    assert_eq!(e.class, ErrorClass::PolicyViolationError, "{e}");
    let e = odbc.connect("demo", "", "").unwrap_err();
    assert_eq!(
        e.class,
        ErrorClass::PolicyViolationError,
        "SQLConnect too: {e}"
    );
    odbc.driver_connect(&server.sqlite("allowed")).unwrap();
    // odbcsh shows the refusal and exits with 2.
    let out = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .args([
            "--port",
            &server.port.to_string(),
            "--connect",
            "Driver=/tmp/evil.so",
            "-e",
            "SELECT 1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("ERROR PolicyViolationError [42000]: driver paths are not allowed"));
}

/// A server with `auth_mode = file`: users made with `odbcd passwd`, plus a line in the manual's
/// MD5 form.
fn auth_server(salt: Option<&str>) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_odbcd"));
    cmd.args(["passwd", "-f"])
        .arg(&users)
        .args(["--add", "joe", "-p", "s3cret"]);
    if let Some(s) = salt {
        cmd.args(["--login-salt", s]);
    }
    assert!(cmd.status().unwrap().success());
    let mut text = std::fs::read_to_string(&users).unwrap();
    text.push_str("# the manual's form: md5 of 'abc'\nlegacy: 900150983cd24fb0d6963f7d28e17f72\n");
    std::fs::write(&users, text).unwrap();
    let salt_line = salt
        .map(|s| format!("login_salt = {s}\n"))
        .unwrap_or_default();
    let server = TestServer::start(&format!(
        "[Authentication]\nauth_mode = file\npassword_file = {}\n{salt_line}",
        users.display()
    ));
    std::mem::forget(dir);
    server
}

fn login(
    server: &TestServer,
    user: &str,
    password: &str,
    salt: Option<&str>,
) -> Result<ServerSession, odbcd::client::Error> {
    let mut data = server.config_data();
    if let Some(s) = salt {
        data = data.set("Authentication", "login_salt", s);
    }
    let mut s = ServerSession::new(None, Some(&data)).unwrap();
    s.open(user, password, None, None)?;
    Ok(s)
}

fn assert_auth_failed(r: Result<ServerSession, odbcd::client::Error>) {
    let e = r.map(|_| ()).unwrap_err();
    assert_eq!(e.class, ErrorClass::ODBCConnectError, "{e}");
    assert_eq!(
        e.message,
        "authentication failed: unknown user or wrong password"
    );
}

#[test]
fn users_log_in_with_a_proof_and_wrong_ones_learn_nothing() {
    let server = auth_server(None);
    let s = login(&server, "joe", "s3cret", None).unwrap();
    let odbc = s.odbc().unwrap();
    odbc.driver_connect("DSN=demo").unwrap();
    login(&server, "legacy", "abc", None).unwrap();
    assert_auth_failed(login(&server, "joe", "wrong", None));
    assert_auth_failed(login(&server, "nobody", "s3cret", None));
    assert_auth_failed(login(&server, "", "", None));
    let log = server.log();
    assert!(!log.contains("s3cret"), "{log}");
    let id = s.session_id().unwrap();
    let id = id.as_str();
    assert!(!log.contains(id), "session ids never reach the log: {log}");
    // odbcsh with --user/--password.
    let out = Command::new(env!("CARGO_BIN_EXE_odbcsh"))
        .args([
            "--port",
            &server.port.to_string(),
            "--user",
            "joe",
            "--password",
            "s3cret",
            "--connect",
            "DSN=demo",
            "-e",
            "SELECT 1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn login_salt_must_match_on_both_sides() {
    let server = auth_server(Some("pepper"));
    login(&server, "joe", "s3cret", Some("pepper")).unwrap();
    assert_auth_failed(login(&server, "joe", "s3cret", None));
    assert_auth_failed(login(&server, "joe", "s3cret", Some("salt")));
}

#[test]
fn a_captured_login_cannot_be_replayed() {
    use odbcd::proto::{
        compress::Compression, frame, message::*, preamble::Preamble, MAX_FRAME_LEN,
    };
    use std::io::Write;
    let server = auth_server(None);
    // One raw login: handshake, proof over this connection's nonce.
    let connect = |proof: Option<Vec<u8>>| -> (Vec<u8>, Response) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.write_all(&Preamble::current(0).encode()).unwrap();
        let mut pre = [0u8; 8];
        s.read_exact(&mut pre).unwrap();
        let read_frame = |s: &mut std::net::TcpStream| -> ServerFrame {
            common::read_raw_frame(s).expect("a frame")
        };
        let Response::Greeting {
            nonce,
            auth_required,
            ..
        } = read_frame(&mut s).response
        else {
            panic!()
        };
        assert!(auth_required);
        let key = odbcd::auth::key_from_password("s3cret", "joe", None);
        let proof = proof.unwrap_or_else(|| odbcd::auth::proof(&key, &nonce, "joe"));
        let open = Request::OpenSession {
            username: "joe".into(),
            proof: proof.clone(),
            module_name: "Manager".into(),
            session_id: None,
            client_name: "replay".into(),
        };
        let mut buf = Vec::new();
        frame::encode(
            &ClientFrame {
                id: 0,
                ack: 0,
                request: open,
            },
            Compression::OFF,
            MAX_FRAME_LEN,
            &mut buf,
        )
        .unwrap();
        s.write_all(&buf).unwrap();
        (proof, read_frame(&mut s).response)
    };
    let (captured, answer) = connect(None);
    assert!(
        matches!(answer, Response::SessionOpened { .. }),
        "{answer:?}"
    );
    let (_, answer) = connect(Some(captured));
    assert!(
        matches!(answer, Response::Error(ref e) if e.message.starts_with("authentication failed")),
        "{answer:?}"
    );
}

#[test]
fn repeated_failures_are_slowed_down_and_a_resume_must_prove_its_user() {
    let server = auth_server(None);
    let mut last = std::time::Duration::ZERO;
    for _ in 0..4 {
        let started = std::time::Instant::now();
        assert_auth_failed(login(&server, "joe", "guess", None));
        last = started.elapsed();
    }
    assert!(
        last >= std::time::Duration::from_millis(700),
        "the fourth failure waits: {last:?}"
    );
    // A session id alone does not resume a session: the proof must be for its user.
    let s = login(&server, "joe", "s3cret", None).unwrap();
    let id = s.session_id().unwrap().to_owned();
    let mut thief = ServerSession::new(None, Some(&server.config_data())).unwrap();
    let e = thief
        .open("joe", "guess", None, Some(&id))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        e.message,
        "authentication failed: unknown user or wrong password"
    );
    let e = thief
        .open("legacy", "abc", None, Some(&id))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        e.class,
        ErrorClass::ConnectionFailureError,
        "another user's session: {e}"
    );
    thief.open("joe", "s3cret", None, Some(&id)).unwrap();
}

#[test]
fn the_password_tool_through_a_pipe() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "# team\nlegacy: 900150983cd24fb0d6963f7d28e17f72\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_odbcd"))
        .args(["passwd", "-f"])
        .arg(&users)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a\nann\npw1\nadd\nbob\npw2\nd\nbob\nlist\nq\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("Possible actions") && screen.contains(">>> "),
        "{screen}"
    );
    assert!(screen.contains("legacy\nann\n"), "{screen}");
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(
        text.starts_with("# team\nlegacy: 900150983cd24fb0d6963f7d28e17f72\nann: pbkdf2-sha256:"),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&users).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = Command::new(env!("CARGO_BIN_EXE_odbcd"))
        .args(["passwd", "--examples"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("--add joe"));
    let out = Command::new(env!("CARGO_BIN_EXE_odbcd"))
        .args(["passwd", "-f"])
        .arg(&users)
        .args(["--list", "-v"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "password file {}\nlegacy (md5)\nann (pbkdf2-sha256)\n",
            users.display()
        )
    );
}

#[test]
fn client_certificates_from_strings_and_keys_never_in_debug_output() {
    let pki = Pki::new();
    let server = pki.server(
        "require_ssl = 1",
        &format!(
            "client_certificate_file = {}",
            pki.path("alice.cert").display()
        ),
    );
    let cert = std::fs::read_to_string(pki.path("alice.cert")).unwrap();
    let key = std::fs::read_to_string(pki.path("alice.pkey")).unwrap();
    let options = vec![
        ("using_ssl", "1".to_owned()),
        (
            "server_certificate_file",
            pki.path("server.cert").display().to_string(),
        ),
        ("client_certificate_string", cert),
        ("client_private_key_string", key.clone()),
    ];
    query(&server, &options).unwrap();
    let s = client(&server, &options);
    let shown = format!("{:?}", s.config());
    let key_body = key.lines().nth(1).unwrap();
    assert!(!shown.contains(key_body), "no private key in Debug output");
}

#[test]
fn a_tls_handshake_that_never_finishes_is_cut_at_the_deadline() {
    use std::io::Write;
    let pki = Pki::new();
    let server = TestServer::start_with(&format!(
        "[Connection]\ninterface = 127.0.0.1\nport = 0\nrequire_ssl = 1\nserver_private_key_file = {}\nserver_certificate_file = {}\n\n[Session]\nreceive_timeout = 1\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n",
        pki.path("server.pkey").display(),
        pki.path("server.cert").display()
    ));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // The start of a TLS record, then silence.
    s.write_all(&[0x16, 0x03, 0x01, 0x00, 0xc8, 0x01]).unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 64];
    assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    query(&server, &tls_as(&pki, None)).unwrap();
}

#[test]
fn status_shows_a_user_its_own_sessions_and_the_totals_only() {
    let server = auth_server(None);
    let joe = login(&server, "joe", "s3cret", None).unwrap();
    let _joe2 = login(&server, "joe", "s3cret", None).unwrap();
    let legacy = login(&server, "legacy", "abc", None).unwrap();
    let st = joe.odbc().unwrap().status().unwrap();
    assert_eq!(st.sessions, 3, "totals are for everyone");
    assert_eq!(st.session_list.len(), 2, "{:?}", st.session_list);
    assert!(st.session_list.iter().all(|s| s.user == "joe"));
    let st = legacy.odbc().unwrap().status().unwrap();
    assert_eq!(st.session_list.len(), 1);
    assert_eq!(st.session_list[0].user, "legacy");
}

/// One login over a raw socket: handshake, then `OpenSession` as `user` with the proof of
/// `key` (or a garbage proof); returns how long the server took to answer it.
fn raw_login(
    server: &TestServer,
    user: &str,
    key: Option<&odbcd::auth::LoginKey>,
) -> (std::time::Duration, odbcd::proto::message::Response) {
    use odbcd::proto::{
        compress::Compression, frame, message::*, preamble::Preamble, MAX_FRAME_LEN,
    };
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(&Preamble::current(0).encode()).unwrap();
    let mut pre = [0u8; 8];
    s.read_exact(&mut pre).unwrap();
    let read_frame = |s: &mut std::net::TcpStream| -> ServerFrame {
        common::read_raw_frame(s).expect("a frame")
    };
    let Response::Greeting { nonce, .. } = read_frame(&mut s).response else {
        panic!("no greeting")
    };
    let proof = match key {
        Some(k) => odbcd::auth::proof(k, &nonce, user),
        None => vec![7; 32],
    };
    let mut buf = Vec::new();
    frame::encode(
        &ClientFrame {
            id: 0,
            ack: 0,
            request: Request::OpenSession {
                username: user.into(),
                proof,
                module_name: "Manager".into(),
                session_id: None,
                client_name: "timing".into(),
            },
        },
        Compression::OFF,
        MAX_FRAME_LEN,
        &mut buf,
    )
    .unwrap();
    let started = std::time::Instant::now();
    s.write_all(&buf).unwrap();
    let answer = read_frame(&mut s).response;
    (started.elapsed(), answer)
}

#[test]
fn a_failed_login_takes_as_long_for_an_unknown_user_as_for_a_known_one() {
    let server = auth_server(None);
    let users = ["joe", "legacy", "nobody"];
    let joe = odbcd::auth::key_from_password("s3cret", "joe", None);
    let mut times: Vec<Vec<std::time::Duration>> = vec![Vec::new(); users.len()];
    for _ in 0..11 {
        for (i, user) in users.iter().enumerate() {
            // A success clears the address's back-off: every failure waits the same delay.
            let (_, ok) = raw_login(&server, "joe", Some(&joe));
            assert!(matches!(
                ok,
                odbcd::proto::message::Response::SessionOpened { .. }
            ));
            let (took, answer) = raw_login(&server, user, None);
            assert!(
                matches!(answer, odbcd::proto::message::Response::Error(ref e) if e.message == "authentication failed: unknown user or wrong password"),
                "{answer:?}"
            );
            times[i].push(took);
        }
    }
    let medians: Vec<_> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect();
    let (lo, hi) = (
        medians.iter().min().copied().unwrap(),
        medians.iter().max().copied().unwrap(),
    );
    assert!(
        hi - lo < std::time::Duration::from_millis(3),
        "medians differ (pbkdf2 entry, md5 entry, unknown user): {medians:?}"
    );
}

#[test]
fn users_change_without_a_restart_and_sighup_does_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    let passwd = |args: &[&str]| {
        let st = Command::new(env!("CARGO_BIN_EXE_odbcd"))
            .args(["passwd", "-f"])
            .arg(&users)
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "passwd {args:?}");
    };
    passwd(&["--add", "joe", "-p", "s3cret"]);
    passwd(&["--add", "ann", "-p", "first"]);
    let mut server = TestServer::start(&format!(
        "[Authentication]\nauth_mode = file\npassword_file = {}\n",
        users.display()
    ));
    login(&server, "ann", "first", None).unwrap();
    // A changed file counts at the next login.
    passwd(&["--update", "ann", "-p", "second"]);
    assert_auth_failed(login(&server, "ann", "first", None));
    login(&server, "ann", "second", None).unwrap();
    passwd(&["--delete", "ann"]);
    assert_auth_failed(login(&server, "ann", "second", None));
    // SIGHUP re-reads it too, and leaves the server running.
    for _ in 0..3 {
        // The shell's own `kill` (no procps needed).
        let st = Command::new("sh")
            .args(["-c", &format!("kill -HUP {}", server.pid())])
            .status()
            .unwrap();
        assert!(st.success());
    }
    server.expect_log("SIGHUP");
    assert!(server.alive(), "SIGHUP stopped the server");
    login(&server, "joe", "s3cret", None).unwrap();
    // A broken file keeps the users read before, and the log says where it is broken.
    std::fs::write(&users, "joe: not-a-digest\n").unwrap();
    login(&server, "joe", "s3cret", None).unwrap();
    server.expect_log("users.txt:1");
}

#[test]
fn the_password_tool_never_writes_through_a_planted_link_and_serializes_writers() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    let tool = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_odbcd"))
            .args(["passwd", "-f"])
            .arg(&users)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    // --password-stdin, and the warning about the salt with -f.
    let out = tool(&["--add", "joe", "--password-stdin"], "s3cret\n");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("login_salt"));
    let server = TestServer::start(&format!(
        "[Authentication]\nauth_mode = file\npassword_file = {}\n",
        users.display()
    ));
    login(&server, "joe", "s3cret", None).unwrap();
    let help = Command::new(env!("CARGO_BIN_EXE_odbcd"))
        .args(["passwd", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("process list"));

    // A symlink planted at the lock path: refused, its target untouched.
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "untouched").unwrap();
    let _ = std::fs::remove_file(dir.path().join(".users.txt.lock"));
    std::os::unix::fs::symlink(&target, dir.path().join(".users.txt.lock")).unwrap();
    let out = tool(&["--add", "eve", "--password-stdin"], "x\n");
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    std::fs::remove_file(dir.path().join(".users.txt.lock")).unwrap();

    // Eight writers at once: every user is there afterwards, no temp file is left, mode 0600.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let users = users.clone();
            std::thread::spawn(move || {
                Command::new(env!("CARGO_BIN_EXE_odbcd"))
                    .args(["passwd", "--md5", "-f"])
                    .arg(&users)
                    .args(["--add", &format!("user{i}"), "-p", "pw"])
                    .output()
                    .unwrap()
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let text = std::fs::read_to_string(&users).unwrap();
    for i in 0..8 {
        assert!(text.contains(&format!("user{i}:")), "user{i} lost:\n{text}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let mode = std::fs::metadata(&users).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_tls_session_with_a_client_certificate_resumes_only_with_that_certificate() {
    let pki = Pki::new();
    let server = pki.server("allow_ssl = 1", "");
    let mut first = client(&server, &tls_as(&pki, Some("alice")));
    first.open("", "", None, None).unwrap();
    let id = first.session_id().unwrap();
    for (what, opts) in [
        ("plain", vec![]),
        ("another certificate", tls_as(&pki, Some("bob"))),
        ("no certificate", tls_as(&pki, None)),
    ] {
        let mut thief = client(&server, &opts);
        let e = thief
            .open("", "", None, Some(id.as_str()))
            .map(|_| ())
            .unwrap_err();
        assert!(e.message.contains("no such session"), "{what}: {e}");
    }
    let mut again = client(&server, &tls_as(&pki, Some("alice")));
    again.open("", "", None, Some(id.as_str())).unwrap();
}
