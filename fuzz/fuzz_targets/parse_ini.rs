//! Arbitrary text through the INI parser and both typed configs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odbcd::config::ini::Ini;
use odbcd::config::{ClientConfig, Origin, ServerConfig};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(ini) = Ini::parse(text, Origin::Data) {
            let _ = ServerConfig::from_ini(&ini);
            let _ = ClientConfig::from_ini(&ini);
        }
    }
});
