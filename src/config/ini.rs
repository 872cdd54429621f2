//! The INI syntax of the manual's section 2.4.1, shared by the server and client configs.
//!
//! Rules: `[Section]` starts a section; `key = value` lines before the first section are
//! globals; empty lines and lines whose first non-blank character is `#` or `;` are comments;
//! lines may be indented; a line ending in `\` continues on the next line (each physical line is
//! stripped of white space, the trailing `\` removed, and the pieces concatenated; comment lines
//! inside a continuation are dropped); Unix and Windows line endings are both accepted. Comments
//! after a value are not supported (as the manual says): they become part of the value.
//!
//! This layer only splits text into sections and entries with line numbers; the typed configs
//! in [`super::server`] and [`super::client`] give the entries meaning.

use super::{ConfigError, ErrorKind, Origin};

/// One `key = value` entry with the line it started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The option name, lower-cased (option names are case-insensitive).
    pub key: String,
    /// The value, stripped of surrounding white space.
    pub value: String,
    /// The 1-based line the entry starts on (`None` for in-memory config data).
    pub line: Option<usize>,
}

/// A `[Section]` with its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The name between the brackets, as written.
    pub name: String,
    /// The line of the `[Section]` header (`None` for in-memory config data).
    pub line: Option<usize>,
    /// The entries, in order.
    pub entries: Vec<Entry>,
}

impl Section {
    /// The entry for `key` (already lower-case), if present.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Sets `key` to `value`, replacing an existing entry (used to merge in-memory data).
    pub fn set(&mut self, key: &str, value: &str) {
        let key = key.to_ascii_lowercase();
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(e) => {
                e.value = value.trim().to_owned();
                e.line = None;
            }
            None => self.entries.push(Entry {
                key,
                value: value.trim().to_owned(),
                line: None,
            }),
        }
    }
}

/// A parsed INI document: globals plus named sections, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ini {
    /// Where the text came from, for error messages and relative paths.
    pub origin: Origin,
    /// Entries before the first section.
    pub globals: Vec<Entry>,
    /// Sections in file order.
    pub sections: Vec<Section>,
}

impl Ini {
    /// An empty document from `origin`.
    pub fn empty(origin: Origin) -> Self {
        Self {
            origin,
            globals: Vec::new(),
            sections: Vec::new(),
        }
    }

    /// The section called `name` (exact match), if present.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The section called `name`, created empty if missing.
    pub fn section_mut(&mut self, name: &str) -> &mut Section {
        if let Some(i) = self.sections.iter().position(|s| s.name == name) {
            &mut self.sections[i]
        } else {
            self.sections.push(Section {
                name: name.to_owned(),
                line: None,
                entries: Vec::new(),
            });
            let last = self.sections.len() - 1;
            &mut self.sections[last]
        }
    }

    /// Parses INI text.
    ///
    /// # Errors
    /// A line that is neither a section header, an entry nor a comment; an empty section or
    /// option name; a section or option given twice; a continuation at the end of the file.
    pub fn parse(text: &str, origin: Origin) -> Result<Self, ConfigError> {
        let mut ini = Self::empty(origin);
        let mut lines = text.split('\n').enumerate().peekable();
        while let Some((idx, raw)) = lines.next() {
            let lineno = idx + 1;
            let line = raw.trim_end_matches('\r').trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            // Gather continuation lines.
            let mut logical = String::new();
            let mut current = line.to_owned();
            loop {
                if let Some(stripped) = current.strip_suffix('\\') {
                    logical.push_str(stripped);
                    // Next non-comment line continues this one.
                    let next = loop {
                        match lines.next() {
                            None => {
                                return Err(ini.error_at(
                                    lineno,
                                    ErrorKind::Syntax {
                                        message: "line continuation '\\' at the end of the file"
                                            .into(),
                                    },
                                ))
                            }
                            Some((_, raw)) => {
                                let l = raw.trim_end_matches('\r').trim();
                                if l.starts_with('#') || l.starts_with(';') {
                                    continue;
                                }
                                break l.to_owned();
                            }
                        }
                    };
                    current = next;
                } else {
                    logical.push_str(&current);
                    break;
                }
            }
            if let Some(rest) = logical.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(ini.error_at(
                        lineno,
                        ErrorKind::Syntax {
                            message: format!("section header {logical:?} lacks its closing ']'"),
                        },
                    ));
                };
                let name = name.trim();
                if name.is_empty() {
                    return Err(ini.error_at(
                        lineno,
                        ErrorKind::Syntax {
                            message: "empty section name '[]'".into(),
                        },
                    ));
                }
                if let Some(prev) = ini.sections.iter().find(|s| s.name == name) {
                    return Err(ini.error_at(
                        lineno,
                        ErrorKind::Syntax {
                            message: format!(
                                "section [{name}] appears twice (first on line {})",
                                prev.line.unwrap_or(0)
                            ),
                        },
                    ));
                }
                ini.sections.push(Section {
                    name: name.to_owned(),
                    line: Some(lineno),
                    entries: Vec::new(),
                });
                continue;
            }
            let Some((key, value)) = logical.split_once('=') else {
                return Err(ini.error_at(
                    lineno,
                    ErrorKind::Syntax {
                        message: format!(
                        "expected 'option = value', '[Section]' or a comment, found {logical:?}"
                    ),
                    },
                ));
            };
            let key = key.trim().to_ascii_lowercase();
            if key.is_empty() {
                return Err(ini.error_at(
                    lineno,
                    ErrorKind::Syntax {
                        message: "empty option name before '='".into(),
                    },
                ));
            }
            let entry = Entry {
                key,
                value: value.trim().to_owned(),
                line: Some(lineno),
            };
            let (target, section_name) = match ini.sections.last_mut() {
                Some(s) => (&mut s.entries, Some(s.name.clone())),
                None => (&mut ini.globals, None),
            };
            if let Some(prev) = target.iter().find(|e| e.key == entry.key) {
                let message = format!(
                    "option '{}' is set twice{} (first on line {})",
                    entry.key,
                    section_name
                        .map(|s| format!(" in [{s}]"))
                        .unwrap_or_default(),
                    prev.line.unwrap_or(0)
                );
                return Err(ini.error_at(lineno, ErrorKind::Syntax { message }));
            }
            target.push(entry);
        }
        Ok(ini)
    }

    /// An error located at `line` of this document.
    pub fn error_at(&self, line: usize, kind: ErrorKind) -> ConfigError {
        ConfigError {
            origin: self.origin.clone(),
            line: Some(line),
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Ini {
        Ini::parse(text, Origin::Data).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn manual_example_parses() {
        let ini = parse(
            "global_option = 2\n\n[Section1]\noption_a = 1\noption_b = abc.html\noption_c = text with spaces\n\n[Section2]\noption_a = 2\n",
        );
        assert_eq!(ini.globals[0].key, "global_option");
        assert_eq!(ini.sections.len(), 2);
        let s1 = ini.section("Section1").unwrap();
        assert_eq!(s1.get("option_c").unwrap().value, "text with spaces");
        assert_eq!(s1.get("option_b").unwrap().line, Some(5));
    }

    #[test]
    fn comments_indentation_and_crlf() {
        let ini = parse("# c\r\n ; c2\r\n   [S]\r\n\t a =  x  \r\n");
        assert_eq!(ini.section("S").unwrap().get("a").unwrap().value, "x");
    }

    #[test]
    fn continuation_strips_lines_and_drops_comments() {
        let ini = parse("[Continuation]\na = first line\\\n  # a comment\n  second line\nb=1\n");
        let s = ini.section("Continuation").unwrap();
        assert_eq!(s.get("a").unwrap().value, "first linesecond line");
        assert_eq!(s.get("a").unwrap().line, Some(2));
        assert_eq!(s.get("b").unwrap().line, Some(5));
    }

    #[test]
    fn continuation_keeps_space_before_backslash() {
        let ini = parse("[S]\nd = aa \\\n   bb\n");
        assert_eq!(ini.section("S").unwrap().get("d").unwrap().value, "aa bb");
    }

    #[test]
    fn option_names_are_case_insensitive() {
        let ini = parse("[S]\nMax_Sessions = 3\n");
        assert!(ini.section("S").unwrap().get("max_sessions").is_some());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = Ini::parse("[S]\nok = 1\nnonsense\n", Origin::Data).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.to_string().contains("nonsense"), "{e}");
        let e = Ini::parse("[S\n", Origin::Data).unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = Ini::parse("[S]\na=1\na=2\n", Origin::Data).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
        let e = Ini::parse("[S]\na=1\\", Origin::Data).unwrap_err();
        assert!(e.to_string().contains("continuation"), "{e}");
        let e = Ini::parse("[S]\n[S]\n", Origin::Data).unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(s in "(\\[?[a-z= \\\\#;\\]]{0,12}\r?\n){0,8}") {
            let _ = Ini::parse(&s, Origin::Data);
        }
    }
}
