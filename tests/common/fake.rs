//! A scripted fake odbcd for client-side tests: it does the handshake and opens a session,
//! then runs the test's script on the socket.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use odbcd::proto::compress::Compression;
use odbcd::proto::message::{ClientFrame, Response, ServerFrame};
use odbcd::proto::preamble::Preamble;
use odbcd::proto::{frame, MAX_FRAME_LEN};

/// Sends `response` as the answer to request `id`.
pub fn send(s: &mut TcpStream, id: u32, response: Response) {
    let mut buf = Vec::new();
    frame::encode(
        &ServerFrame { id, response },
        Compression::OFF,
        MAX_FRAME_LEN,
        &mut buf,
    )
    .unwrap();
    s.write_all(&buf).unwrap();
}

/// Receives one client frame.
pub fn receive(s: &mut TcpStream) -> Option<ClientFrame> {
    super::read_raw_frame(s)
}

/// A server that does the handshake and opens a session, then runs `script` on the socket.
pub fn fake_server(script: impl FnOnce(&mut TcpStream) + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        // One connection only: a reconnect finds nobody listening (the server is gone).
        drop(listener);
        let mut pre = [0u8; 8];
        s.read_exact(&mut pre).unwrap();
        s.write_all(&Preamble::current(0).encode()).unwrap();
        send(
            &mut s,
            0,
            Response::Greeting {
                server_version: "fake".into(),
                nonce: vec![0; 32],
                auth_required: false,
            },
        );
        receive(&mut s).expect("OpenSession");
        send(
            &mut s,
            0,
            Response::SessionOpened {
                session_id: "f".repeat(32),
                server_version: "fake".into(),
                last_request: 0,
                reconnect_window_ms: 1000,
            },
        );
        script(&mut s);
        // Keep the socket open a while: the client must not rely on the server closing it.
        std::thread::sleep(Duration::from_secs(10));
    });
    port
}
