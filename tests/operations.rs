//! Operating a running server: reloading its configuration with SIGHUP / `odbcd reload`.

mod common;

use std::process::Command;

use common::TestServer;
use odbcd::client::{ErrorClass, ServerSession};

fn config(dir: &std::path::Path, max_sessions: u32, drivers: &str, extra: &str) -> String {
    format!(
        "[Connection]\ninterface = 127.0.0.1\nport = 0\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\nlog_file = {log}\n\n\
         [Access]\nallowed_drivers = {drivers}\nallowed_unsafe_keys = Database\n\n\
         [Session]\nmax_sessions = {max_sessions}\n\n[Unix]\npid_file = {pid}\n{extra}",
        log = dir.join("odbcd.log").display(),
        pid = dir.join("odbcd.pid").display(),
    )
}

/// `odbcd reload --config FILE`, which must succeed.
fn reload(server: &TestServer) {
    let out = Command::new(common::odbcd_bin())
        .args(["reload", "--config"])
        .arg(server.path().join("server-config.ini"))
        .output()
        .expect("odbcd reload");
    assert!(
        out.status.success(),
        "odbcd reload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn reloads_logged(server: &TestServer, what: &str) -> usize {
    server.log().matches(what).count()
}

fn open(server: &TestServer) -> Result<ServerSession, odbcd::client::Error> {
    let mut s = ServerSession::new(None, Some(&server.config_data()))?;
    s.open("", "", None, None)?;
    Ok(s)
}

#[test]
fn a_reload_changes_limits_and_access_for_what_starts_next_and_a_bad_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The server's own folder holds its config; the PID and log files go to `dir`.
    let server = TestServer::start_with(&config(dir.path(), 1, "SQLite3", ""));
    let path = server.path().join("server-config.ini");
    let first = open(&server).expect("first session");
    let err = open(&server).map(|_| ()).unwrap_err();
    assert_eq!(err.class, ErrorClass::PolicyViolationError, "{err}");
    let sqlite = server.sqlite("reload");
    let odbc = first.odbc().unwrap();
    odbc.driver_connect(&sqlite)
        .expect("SQLite is allowed at first");

    // Two sessions, and SQLite no longer allowed.
    std::fs::write(&path, config(dir.path(), 2, "PostgreSQL Unicode", "")).unwrap();
    reload(&server);
    TestServer::wait_until(10, "the reload", || {
        reloads_logged(&server, "configuration reloaded") == 1
    });
    let second = open(&server).expect("a second session after max_sessions = 2");
    // The session opened before the reload checks its new connections against the new rules.
    let refused = odbc.driver_connect(&sqlite).map(|_| ()).unwrap_err();
    assert!(refused.message.contains("SQLite3"), "{refused}");
    let err = open(&server).map(|_| ()).unwrap_err();
    assert_eq!(err.class, ErrorClass::PolicyViolationError, "{err}");

    // A wrong line: `odbcd reload` says where and does not disturb the server...
    std::fs::write(
        &path,
        config(dir.path(), 5, "SQLite3", "[Activity]\nmax_idle_tme = 5\n"),
    )
    .unwrap();
    let out = Command::new(common::odbcd_bin())
        .args(["reload", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("server-config.ini:19") && said.contains("max_idle_tme"),
        "{said}"
    );
    // ...and a SIGHUP from elsewhere (logrotate, kill -HUP) is refused with file and line,
    // and nothing changes.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    TestServer::wait_until(10, "the refused reload", || {
        reloads_logged(&server, "reload refused") == 1
    });
    let log = server.log();
    let line = log.lines().find(|l| l.contains("reload refused")).unwrap();
    assert!(
        line.contains("server-config.ini:") && line.contains("max_idle_tme"),
        "{line}"
    );
    let err = open(&server).map(|_| ()).unwrap_err();
    assert_eq!(
        err.class,
        ErrorClass::PolicyViolationError,
        "still two: {err}"
    );
    assert!(odbc.driver_connect(&sqlite).is_err(), "still no SQLite");

    // What needs a restart is said, and the rest applies.
    std::fs::write(
        &path,
        config(dir.path(), 3, "SQLite3", "").replace("port = 0", "port = 1"),
    )
    .unwrap();
    reload(&server);
    TestServer::wait_until(10, "the second reload", || {
        reloads_logged(&server, "configuration reloaded") == 2
    });
    assert!(
        server
            .log()
            .contains("listening on 127.0.0.1:1 instead of 127.0.0.1:0 needs a restart"),
        "{}",
        server.log()
    );
    let _third = open(&server).expect("three sessions now");
    odbc.driver_connect(&sqlite).expect("SQLite allowed again");
    drop((first, second));
}

#[test]
fn a_reload_reopens_the_log_file_and_changes_the_level() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(&config(dir.path(), 10, "SQLite3", ""));
    let log = dir.path().join("odbcd.log");
    let (_s, odbc, _c) = server.connect(&server.sqlite("rotate"));
    assert!(std::fs::read_to_string(&log).unwrap().contains("connect"));
    // Log rotation: the file is moved away, then the server is told.
    let rotated = dir.path().join("odbcd.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    let path = server.path().join("server-config.ini");
    std::fs::write(
        &path,
        config(dir.path(), 10, "SQLite3", "").replace("mx.Log.SYSTEM_INFO", "mx.Log.SYSTEM_ERROR"),
    )
    .unwrap();
    reload(&server);
    TestServer::wait_until(10, "a new log file", || log.exists());
    // At the error level, a connect is not logged any more (it was at the info level).
    odbc.driver_connect(&server.sqlite("quiet")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let new_text = std::fs::read_to_string(&log).unwrap();
    assert!(!new_text.contains("quiet"), "{new_text}");
    assert!(std::fs::read_to_string(&rotated)
        .unwrap()
        .contains("rotate"));
}

#[test]
fn odbcd_reload_says_when_no_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("server-config.ini");
    let run = || {
        Command::new(common::odbcd_bin())
            .args(["reload", "--config"])
            .arg(&cfg)
            .output()
            .unwrap()
    };
    // pid_file defaults to server.pid beside the configuration.
    std::fs::write(&cfg, "[Connection]\nport = 6632\n").unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("server.pid") && said.contains("is the server running"),
        "{said}"
    );
    std::fs::write(dir.path().join("server.pid"), "not a pid\n").unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a process id"));
}

/// A CA and a server certificate it signed (for 127.0.0.1), as PEM texts: (ca, cert, key).
fn server_pki(name: &str) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, name);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".into()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn a_reload_takes_new_tls_certificates_for_new_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, old_cert, old_key) = server_pki("old CA");
    let (new_ca, new_cert, new_key) = server_pki("new CA");
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let old_ca = file("old-ca.cert", &old_ca);
    let new_ca = file("new-ca.cert", &new_ca);
    let cert = file("server.cert", &old_cert);
    let key = file("server.pkey", &old_key);
    let server = TestServer::start_with(&format!(
        "[Connection]\ninterface = 127.0.0.1\nport = 0\nrequire_ssl = 1\nserver_private_key_file = {}\nserver_certificate_file = {}\n\n[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n\n[Unix]\npid_file = {}\n",
        key.display(),
        cert.display(),
        dir.path().join("odbcd.pid").display()
    ));
    let trusting = |ca: &std::path::Path| {
        let data = server.config_data().set("Connection", "using_ssl", 1).set(
            "Connection",
            "server_certificate_file",
            ca.display(),
        );
        let mut s = ServerSession::new(None, Some(&data)).unwrap();
        s.open("", "", None, None).map(|odbc| (s, odbc))
    };
    let (_before, before_odbc) = trusting(&old_ca).expect("the old certificate at first");
    assert!(trusting(&new_ca).is_err());
    // The operator installs the new certificate and reloads.
    std::fs::write(&cert, new_cert).unwrap();
    std::fs::write(&key, new_key).unwrap();
    reload(&server);
    TestServer::wait_until(10, "the reload", || {
        reloads_logged(&server, "configuration reloaded") == 1
    });
    let (_after, odbc) = trusting(&new_ca).expect("the new certificate after the reload");
    odbc.ping().unwrap();
    let err = trusting(&old_ca).map(|_| ()).unwrap_err();
    assert!(err.message.contains("certificate"), "{err}");
    // The session opened before goes on.
    before_odbc.ping().unwrap();
}
