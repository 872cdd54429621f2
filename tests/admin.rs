//! The admin interface: an operator (a user in `[Authentication] admin_users`) lists every
//! session and what it runs, cancels and ends sessions, pauses new sessions, reloads and reads
//! the configuration, from odbcsh or the client library; other users see and end their own
//! sessions only.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::pg::pg;
use common::TestServer;
use odbcd::client::{AdminCommand, ErrorClass, ServerSession, Value};

const SALT: &str = "admin-test-salt";

/// A server with logins for ann (an admin), bob and carl, and `extra` configuration.
fn server(extra: &str) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    for (user, password) in [("ann", "ann-pw"), ("bob", "bob-pw"), ("carl", "carl-pw")] {
        common::add_user(&users, user, password, Some(SALT));
    }
    let server = TestServer::start(&format!(
        "[Authentication]\nauth_mode = file\npassword_file = {}\nlogin_salt = {SALT}\nadmin_users = ann\n\n[Unix]\npid_file = odbcd.pid\n{extra}",
        users.display()
    ));
    std::mem::forget(dir);
    server
}

fn login(server: &TestServer, user: &str) -> Result<ServerSession, odbcd::client::Error> {
    common::login(server, SALT, user)
}

/// `odbcsh` as `user` running `commands`: its exit status, stdout and stderr.
fn odbcsh(server: &TestServer, user: &str, commands: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_odbcsh"));
    cmd.args(["--port", &server.port.to_string(), "--user", user])
        .args(["--password", &format!("{user}-pw"), "--format", "csv"]);
    for c in commands {
        cmd.args(["-e", c]);
    }
    // odbcsh reads the login salt from a client configuration file.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("client-config.ini");
    std::fs::write(
        &config,
        format!(
            "[Authentication]\nlogin_salt = {SALT}\n\n[Connection]\nhost = 127.0.0.1\nport = {}\n",
            server.port
        ),
    )
    .unwrap();
    cmd.arg("--config").arg(&config);
    let out = cmd.output().expect("odbcsh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `sql` on a new thread in its own session as `user`; the thread returns the outcome.
fn run_in_background(
    server: &TestServer,
    user: &str,
    connstr: &str,
    sql: &'static str,
) -> std::thread::JoinHandle<Result<(), odbcd::client::Error>> {
    let session = login(server, user).unwrap();
    let connstr = connstr.to_owned();
    std::thread::spawn(move || {
        let session = session;
        let conn = session.odbc().expect("open").driver_connect(&connstr)?;
        conn.cursor().execute(sql, &[])?;
        Ok(())
    })
}

#[test]
fn an_admin_sees_every_session_and_its_sql_with_literals_masked_a_user_only_its_own() {
    let pg = pg();
    let _db = pg.database("admin_list");
    let cs = pg.connstr("admin_list");
    let server = server("");
    let _carl = login(&server, "carl").unwrap();
    let sleeper = run_in_background(
        &server,
        "bob",
        &cs,
        "SELECT pg_sleep(30), 'the password is hunter2', 4111111111111111",
    );
    let bob = login(&server, "bob").unwrap();
    let odbc_bob = bob.odbc().unwrap();

    // ann, with odbcsh and no database connection, sees the three sessions of the others...
    let mut shown = String::new();
    // (Sessions of earlier odbcsh runs may linger a moment: they unregister after their
    // client heard the close.)
    TestServer::wait_until(10, "the running query and four sessions to show", || {
        let (code, out, err) = odbcsh(&server, "ann", &["\\sessions"]);
        assert_eq!(code, 0, "{err}");
        shown = out;
        shown.contains("pg_sleep") && shown.lines().count() == 5
    });
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(
        lines[0],
        "id,user,peer,client,open_s,idle_s,connections,link,running,running_s,sql"
    );
    // carl's, bob's two, and ann's own (marked).
    assert_eq!(lines.len(), 5, "{shown}");
    assert_eq!(lines.iter().filter(|l| l.contains(",bob,")).count(), 2);
    assert_eq!(lines.iter().filter(|l| l.contains(" *,ann,")).count(), 1);
    let running = lines.iter().find(|l| l.contains("pg_sleep")).unwrap();
    assert!(running.contains(",Execute,"), "{running}");
    assert!(
        running.ends_with(",\"SELECT pg_sleep(?), ?, ?\""),
        "literals masked: {running}"
    );
    // (Ids and peers are left out: a random id or a port may hold the digits 4111.)
    for line in &lines {
        let shown_beyond_id_and_peer = line.splitn(4, ',').nth(3).unwrap_or_default();
        assert!(
            !shown_beyond_id_and_peer.contains("hunter2")
                && !shown_beyond_id_and_peer.contains("4111"),
            "{shown}"
        );
    }

    // ...bob sees his own two, and how many there are in all.
    let mut listed = odbc_bob.sessions().unwrap();
    TestServer::wait_until(10, "ann's odbcsh sessions to end", || {
        listed = odbc_bob.sessions().unwrap();
        listed.0 == 3
    });
    let (total, paused, sessions) = listed;
    assert_eq!((total, paused), (3, false));
    assert_eq!(sessions.len(), 2);
    assert!(sessions.iter().all(|s| s.user == "bob"));
    assert_eq!(sessions.iter().filter(|s| s.own).count(), 1);
    let running = sessions
        .iter()
        .find(|s| s.connections == 1 && s.running.len() == 1)
        .expect("bob's running query");
    // bob may cancel his own query (from another session).
    odbc_bob
        .admin_order(AdminCommand::Cancel {
            session: running.id_prefix.clone(),
        })
        .unwrap();
    let e = sleeper.join().unwrap().unwrap_err();
    assert_eq!(e.sqlstate, "57014", "{e}");
}

#[test]
fn an_admin_cancels_a_query_and_ends_a_session_whose_transaction_rolls_back() {
    let pg = pg();
    let _db = pg.database("admin_kill");
    let cs = pg.connstr("admin_kill");
    pg.psql("admin_kill", "CREATE TABLE t (id int)");
    let server = server("");
    let ann = login(&server, "ann").unwrap();
    let admin = ann.odbc().unwrap();
    let prefix_of = |user: &str| {
        let (_, _, sessions) = admin.sessions().unwrap();
        sessions
            .iter()
            .find(|s| s.user == user && !s.running.is_empty())
            .map(|s| s.id_prefix.clone())
    };

    // Cancel: the query stops with the driver's "cancelled"; bob's session goes on.
    let started = Instant::now();
    let sleeper = run_in_background(&server, "bob", &cs, "SELECT pg_sleep(30)");
    let mut bob_id = None;
    TestServer::wait_until(10, "bob's query to run", || {
        bob_id = prefix_of("bob");
        bob_id.is_some()
    });
    let bob_id = bob_id.unwrap();
    // Through odbcsh, as an operator would.
    let (code, said, err) = odbcsh(&server, "ann", &[&format!("\\cancel {bob_id}")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        said.trim_end().ends_with("cancel 1 running request(s)"),
        "{said}"
    );
    let e = sleeper.join().unwrap().unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::OperationalError, "57014"),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    // Kill: bob's transaction is rolled back and his client told why.
    let bob = login(&server, "bob").unwrap();
    let conn = bob.odbc().unwrap().driver_connect(&cs).unwrap();
    conn.set_autocommit(false).unwrap();
    conn.cursor()
        .execute("INSERT INTO t VALUES (?)", &[Value::Int(1)])
        .unwrap();
    let (_, _, sessions) = admin.sessions().unwrap();
    let bob_id = sessions
        .iter()
        .find(|s| s.user == "bob" && s.connections == 1)
        .map(|s| s.id_prefix.clone())
        .unwrap();
    // carl may not end bob's session, nor learn that it exists.
    let carl = login(&server, "carl").unwrap();
    let e = carl
        .odbc()
        .unwrap()
        .admin_order(AdminCommand::Kill {
            session: bob_id.clone(),
        })
        .unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::ProgrammingError, "42704"),
        "{e}"
    );
    let (code, out, err) = odbcsh(&server, "ann", &[&format!("\\kill {bob_id}")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("session {bob_id} ended")), "{out}");
    let e = conn.commit().unwrap_err();
    assert_eq!(e.sqlstate, "57P01", "{e}");
    assert!(e.message.contains("ended by an administrator"), "{e}");
    assert!(
        !e.message.contains("ann"),
        "the admin's name is for the log: {e}"
    );
    TestServer::wait_until(10, "the rollback", || pg.backends("admin_kill") == 0);
    assert_eq!(pg.psql("admin_kill", "SELECT count(*) FROM t"), "0");
    assert!(server.log().contains("session ended by an administrator"));

    // A user may end its own sessions: bob from a second session.
    let bob1 = login(&server, "bob").unwrap();
    let bob2 = login(&server, "bob").unwrap();
    let (_, _, first) = bob1.odbc().unwrap().sessions().unwrap();
    let other = first.iter().find(|s| s.own).unwrap().id_prefix.clone();
    bob2.odbc()
        .unwrap()
        .admin_order(AdminCommand::Kill { session: other })
        .unwrap();
    let e = bob1.odbc().unwrap().ping().unwrap_err();
    assert_eq!(e.sqlstate, "57P01", "{e}");
    // Not the session one asks from: that one is closed, not killed.
    let (_, _, mine) = bob2.odbc().unwrap().sessions().unwrap();
    let own = mine.iter().find(|s| s.own).unwrap().id_prefix.clone();
    let e = bob2
        .odbc()
        .unwrap()
        .admin_order(AdminCommand::Kill { session: own })
        .unwrap_err();
    assert_eq!(e.sqlstate, "42000", "{e}");
    bob2.odbc().unwrap().ping().unwrap();
}

#[test]
fn pause_reload_and_config_are_for_admins_and_follow_the_configuration_in_force() {
    let server = server("[Session]\nmax_sessions = 10\n\n[Metrics]\nlisten = 127.0.0.1:0\n");
    let metrics = server.metrics_addr();
    let readyz = || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(metrics).unwrap();
        s.write_all(b"GET /readyz HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer.split(' ').nth(1).unwrap_or_default().to_owned()
    };
    let ann = login(&server, "ann").unwrap();
    let admin = ann.odbc().unwrap();
    let bob = login(&server, "bob").unwrap();
    for command in [
        AdminCommand::Pause,
        AdminCommand::Resume,
        AdminCommand::Reload,
        AdminCommand::Config,
    ] {
        let e = bob.odbc().unwrap().admin(command).unwrap_err();
        assert_eq!(
            (e.class, e.sqlstate.as_str()),
            (ErrorClass::ProgrammingError, "42501"),
            "{e}"
        );
    }

    // Pause: new sessions are refused (so clients go to their next server), except an admin's;
    // open ones go on.
    let (code, said, err) = odbcsh(&server, "ann", &["\\pause"]);
    assert_eq!(code, 0, "{err}");
    assert!(said.starts_with("paused"), "{said}");
    let e = login(&server, "carl").map(|_| ()).unwrap_err();
    assert_eq!(
        (e.class, e.sqlstate.as_str()),
        (ErrorClass::OperationalError, "08004"),
        "{e}"
    );
    assert_eq!(readyz(), "503");
    bob.odbc().unwrap().ping().unwrap();
    // An admin is still let in (to resume, for one).
    let ann2 = login(&server, "ann").expect("an admin is admitted while paused");
    drop(ann2);
    assert!(admin.sessions().unwrap().1, "the list says paused");
    let (code, out, _) = odbcsh(&server, "ann", &["\\resume"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("resumed"), "{out}");
    login(&server, "carl").expect("admitted again");
    assert_eq!(readyz(), "200");

    // The configuration in force, the salt masked.
    let (code, text, err) = odbcsh(&server, "ann", &["\\config"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("[Authentication]\nauth_mode = file\n"),
        "{text}"
    );
    assert!(text.contains("login_salt = ********\n"), "{text}");
    assert!(text.contains("admin_users = ann\n"), "{text}");
    assert!(text.contains("max_sessions = 10\n"), "{text}");
    assert!(text.contains("# max_waiting_time = 86400\n"), "{text}");
    assert!(!text.contains(SALT), "{text}");

    // A reload through the admin interface: a wrong file is refused with its line...
    let path = server.path().join("server-config.ini");
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{good}\n[Activity]\nmax_idle_tme = 5\n")).unwrap();
    let e = admin.admin_order(AdminCommand::Reload).unwrap_err();
    assert_eq!(e.class, ErrorClass::ConfigurationError, "{e}");
    assert!(e.message.contains("max_idle_tme"), "{e}");
    assert!(e.message.contains("server-config.ini:"), "{e}");
    // ...a good one applies, and admin_users follows it: ann is no admin any more.
    std::fs::write(
        &path,
        good.replace("admin_users = ann", "admin_users = carl")
            .replace("max_sessions = 10", "max_sessions = 11"),
    )
    .unwrap();
    let (code, said, err) = odbcsh(&server, "ann", &["\\reload"]);
    assert_eq!(code, 0, "{err}");
    assert!(said.starts_with("configuration reloaded"), "{said}");
    let e = admin.admin_order(AdminCommand::Config).unwrap_err();
    assert_eq!(e.sqlstate, "42501", "{e}");
    let carl = login(&server, "carl").unwrap();
    let text = carl
        .odbc()
        .unwrap()
        .admin_order(AdminCommand::Config)
        .unwrap();
    assert!(text.contains("max_sessions = 11\n"), "{text}");
}

#[test]
fn without_authentication_a_client_sees_and_ends_only_its_own_session() {
    let server = TestServer::start("");
    // Both claim to be "app": without authentication a name proves nothing.
    let open_as_app = || {
        let mut s = ServerSession::new(None, Some(&server.config_data())).unwrap();
        let odbc = s.open("app", "", None, None).unwrap();
        (s, odbc)
    };
    let (_a, odbc_a) = open_as_app();
    let (_b, odbc_b) = open_as_app();
    let (total, _, sessions) = odbc_a.sessions().unwrap();
    assert_eq!(total, 2);
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].own);
    let (_, _, theirs) = odbc_b.sessions().unwrap();
    let e = odbc_a
        .admin_order(AdminCommand::Kill {
            session: theirs[0].id_prefix.clone(),
        })
        .unwrap_err();
    assert_eq!(e.sqlstate, "42704", "{e}");
    for bad in ["", "xyz", "123456789", "zz'; --"] {
        let e = odbc_a
            .admin_order(AdminCommand::Cancel {
                session: bad.to_owned(),
            })
            .unwrap_err();
        assert_eq!(e.sqlstate, "HY024", "{bad:?}: {e}");
    }
    odbc_b.ping().unwrap();
    let e = odbc_a.admin(AdminCommand::Pause).unwrap_err();
    assert_eq!(e.sqlstate, "42501", "{e}");
}

#[test]
fn a_session_that_has_its_answers_shows_nothing_running() {
    // A connection's thread sends a small answer itself and tells the session afterwards: a
    // session whose client has its answers shows nothing running, to others too.
    let server = server("");
    let bob = login(&server, "bob").unwrap();
    let conn = bob
        .odbc()
        .unwrap()
        .driver_connect(&server.sqlite("quiet"))
        .unwrap();
    let mut c = conn.cursor();
    for _ in 0..20 {
        c.execute("SELECT 1", &[]).unwrap();
        assert_eq!(
            c.fetchone().unwrap().map(Vec::from),
            Some(vec![Value::Int(1)])
        );
    }
    // bob's session sends nothing more; ann looks.
    let ann = login(&server, "ann").unwrap();
    let odbc_ann = ann.odbc().unwrap();
    let status = odbc_ann.status().unwrap();
    assert_eq!(status.running_requests, 0, "{status:?}");
    let (_, _, sessions) = odbc_ann.sessions().unwrap();
    let bobs = sessions.iter().find(|s| s.user == "bob").unwrap();
    assert!(bobs.running.is_empty(), "{bobs:?}");
    assert_eq!(bobs.connections, 1);
    // And the connection takes the next request at once.
    c.execute("SELECT 2", &[]).unwrap();
    assert_eq!(
        c.fetchone().unwrap().map(Vec::from),
        Some(vec![Value::Int(2)])
    );
}
