//! Arbitrary text through the connection-string parser, masking and re-rendering.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odbcd::connstr::{mask_for_log, ConnStr};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mask_for_log(text);
        if let Ok(cs) = text.parse::<ConnStr>() {
            let again: ConnStr = cs.to_string().parse().expect("rendered strings parse");
            assert_eq!(again.pairs().len(), cs.pairs().len());
            let _ = cs.data_source();
        }
    }
});
