//! Arbitrary bytes through the frame decoder, as either side would receive them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odbcd::proto::message::{ClientFrame, ServerFrame};
use odbcd::proto::{frame, MAX_FRAME_LEN};

fuzz_target!(|data: &[u8]| {
    let _ = frame::decode::<ClientFrame>(data, MAX_FRAME_LEN);
    let _ = frame::decode::<ServerFrame>(data, MAX_FRAME_LEN);
    if let Some(head) = data.first_chunk::<{ frame::HEADER_LEN }>() {
        if let Ok(h) = frame::parse_header(head, MAX_FRAME_LEN) {
            let _ = frame::decode_payload::<ClientFrame>(&h, &data[frame::HEADER_LEN..], MAX_FRAME_LEN);
        }
    }
});
