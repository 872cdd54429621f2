//! What an open session costs the client process: one socket (file descriptor) each, and
//! nothing left behind once sessions close. (Alone in its process, so that no
//! other test opens descriptors while they are counted.)

mod common;

use common::TestServer;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[test]
fn each_session_holds_one_descriptor_and_closing_returns_it() {
    let server = TestServer::start("");
    // Warm up: the first session loads configuration, TLS roots and the like.
    drop(server.open());
    let before = open_fds();
    let mut sessions: Vec<_> = (0..50).map(|_| server.open()).collect();
    let held = open_fds() - before;
    assert_eq!(held, 50, "50 open sessions hold {held} descriptors");
    // Every session works while the others are open.
    for (_, odbc) in &sessions {
        odbc.ping().unwrap();
    }
    for (s, _) in &mut sessions {
        s.close().unwrap();
    }
    drop(sessions);
    TestServer::wait_until(5, "the descriptors to be closed", || open_fds() == before);
}
