//! Arbitrary bytes through the server's budgeted decoding of client frames: never a panic,
//! never more than the budget, and an over-budget frame still yields its id and ack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odbcd::proto::budget;
use odbcd::proto::message::ClientFrame;
use odbcd::proto::{frame, MAX_FRAME_LEN};

fuzz_target!(|data: &[u8]| {
    let (decoded, exceeded) = budget::with_budget(64 * 1024, || {
        frame::decode::<ClientFrame>(data, MAX_FRAME_LEN)
    });
    if exceeded {
        assert!(decoded.is_err());
    }
});
