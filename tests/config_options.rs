//! The option tables (`odbcd::config::options`) are the one declaration of every option: the
//! defaults the parsers apply (from the table, and the few computed in code, such as paths next
//! to the config file) agree with them, and the example files list every option.

use std::path::PathBuf;

use odbcd::config::ini::Ini;
use odbcd::config::options::{client_options, server_options, OptionSpec};
use odbcd::config::{ClientConfig, Origin, ServerConfig};

/// An INI file setting every option with a default to that default.
fn defaults_written_out(table: &[OptionSpec]) -> String {
    let mut sections: Vec<&str> = Vec::new();
    for o in table {
        if !sections.contains(&o.section) {
            sections.push(o.section);
        }
    }
    let mut out = String::new();
    for s in sections {
        out.push_str(&format!("[{s}]\n"));
        for o in table
            .iter()
            .filter(|o| o.section == s && !o.default.is_empty())
        {
            out.push_str(&format!("{} = {}\n", o.name, o.default));
        }
    }
    out
}

fn origin() -> Origin {
    Origin::File(PathBuf::from("/etc/odbcd/any.ini"))
}

#[test]
fn the_server_parser_defaults_are_the_table_defaults() {
    let written = Ini::parse(&defaults_written_out(&server_options()), origin()).unwrap();
    let empty = Ini::parse("", origin()).unwrap();
    let mut from_defaults = ServerConfig::from_ini(&written).unwrap();
    let from_nothing = ServerConfig::from_ini(&empty).unwrap();
    // The same settings from different texts.
    from_defaults.source = from_nothing.source.clone();
    assert_eq!(
        from_defaults,
        from_nothing,
        "{}",
        defaults_written_out(&server_options())
    );
}

#[test]
fn the_client_parser_defaults_are_the_table_defaults() {
    let written = Ini::parse(&defaults_written_out(&client_options()), origin()).unwrap();
    let empty = Ini::parse("", origin()).unwrap();
    assert_eq!(
        ClientConfig::from_ini(&written).unwrap(),
        ClientConfig::from_ini(&empty).unwrap()
    );
}

/// Every option appears in its section of `file`: set, or commented out as `# name = default`
/// (any example value when it has no default).
fn lists_every_option(file: &str, table: &[OptionSpec]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut section = String::new();
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = if name.contains("Connection") {
                "Connection".to_owned()
            } else {
                name.to_owned()
            };
            continue;
        }
        let commented = line.strip_prefix('#').map(str::trim);
        if let Some((k, v)) = commented.unwrap_or(line).split_once('=') {
            let v = v.split("  ").next().unwrap_or_default().trim();
            let how = if commented.is_some() { "#" } else { "" };
            seen.push((section.clone(), k.trim().to_owned(), format!("{how}{v}")));
        }
    }
    let mut missing = Vec::new();
    for o in table {
        let listed = seen.iter().any(|(s, k, v)| {
            s == o.section
                && k == o.name
                && (!v.starts_with('#') || o.default.is_empty() || v[1..] == *o.default)
        });
        if !listed {
            missing.push(format!("[{}] # {} = {}", o.section, o.name, o.default));
        }
    }
    assert!(
        missing.is_empty(),
        "{file} does not list:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_example_files_list_every_option_with_its_default() {
    lists_every_option("config/server-config.ini", &server_options());
    lists_every_option("config/client-config.ini", &client_options());
}
