//! ODBC connection strings, as MS-ODBCSTR section 2.1.2 defines them.
//!
//! This module owns parsing, the generic-key rules (case-insensitive names, the last occurrence
//! of a generic key wins, the first of `Driver`/`DSN`/`FileDSN` decides the driver), escaping for
//! output, and masking for logs. It does no I/O and never decides policy: the server uses it to
//! log a connection string with every password masked, and to apply access rules.
//!
//! ```
//! use odbcd::connstr::ConnStr;
//! let cs: ConnStr = "DSN=testDSN; UID=sa; PWD={abc;}}def}".parse().unwrap();
//! assert_eq!(cs.get("pwd"), Some("abc;}def"));
//! assert_eq!(cs.masked(), "DSN=testDSN;UID=sa;PWD=***");
//! ```

use std::fmt;
use std::str::FromStr;

/// The keys MS-ODBCSTR section 2.2 calls generic: their names are case-insensitive and the last
/// occurrence wins.
pub const GENERIC_KEYS: [&str; 6] = ["Driver", "DSN", "FileDSN", "PWD", "SaveFile", "UID"];

/// One `key=value` pair as it appeared in the string.
#[derive(Clone, PartialEq, Eq)]
pub struct Pair {
    /// The key name with leading spaces removed; spaces before `=` are part of it (2.1.2.3).
    pub key: String,
    /// The unescaped value.
    pub value: String,
    /// Spaces followed the `=` (`KEY= v`, `KEY= {v}`): MS-ODBCSTR drops them (and the braces),
    /// unixODBC and the drivers keep them as part of the value. Whoever hands the pair on must
    /// not guess.
    pub space_after_equals: bool,
}

impl Pair {
    /// True when this pair's key is the given generic key (compared case-insensitively).
    fn is(&self, key: &str) -> bool {
        self.key.eq_ignore_ascii_case(key)
    }
}

/// Which generic key decides the driver (MS-ODBCSTR 2.3.1: the first of the three wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// `DSN=name`: a data source configured in the driver manager.
    Dsn(String),
    /// `Driver=name or path`: a DSN-less connection.
    Driver(String),
    /// `FileDSN=path`: a file data source.
    FileDsn(String),
}

/// A parsed connection string. Its `Debug` output masks passwords, like [`ConnStr::masked`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ConnStr {
    pairs: Vec<Pair>,
}

/// Why a connection string could not be parsed. `position` is the 1-based character position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnStrError {
    /// A pair has a key but no `=`. The message never quotes the text: it may be a password
    /// that followed a `;` by mistake (`PWD=abc;def`).
    #[error("connection string: expected '=' before position {position}")]
    MissingEquals {
        /// Where the pair ended.
        position: usize,
    },
    /// `=value` with nothing before the `=`.
    #[error("connection string: empty key before '=' at position {position}")]
    EmptyKey {
        /// Where the `=` is.
        position: usize,
    },
    /// A `{` value that never closes.
    #[error("connection string: unterminated '{{' value starting at position {position}")]
    UnterminatedBrace {
        /// Where the `{` is.
        position: usize,
    },
    /// Something other than spaces after a closing `}`. The character is not quoted (it may be
    /// part of a password).
    #[error(
        "connection string: unexpected character after '}}' at position {position}; expected ';'"
    )]
    TrailingAfterBrace {
        /// Where it is.
        position: usize,
    },
    /// The ABNF excludes the NUL character everywhere.
    #[error("connection string: NUL character at position {position}")]
    Nul {
        /// Where it is.
        position: usize,
    },
}

impl FromStr for ConnStr {
    type Err = ConnStrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Parser::new(s).parse()
    }
}

impl ConnStr {
    /// Builds a connection string from pairs (values are escaped on output as needed).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| Pair {
                    key: k.into(),
                    value: v.into(),
                    space_after_equals: false,
                })
                .collect(),
        }
    }

    /// Every pair, in order of appearance, duplicates included.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// The value of `key`. For a generic key the name is case-insensitive and the last occurrence
    /// wins (2.2.3); for a driver-specific key the first occurrence is returned, as the spec's
    /// example 3.9 shows (the driver may decide otherwise).
    pub fn get(&self, key: &str) -> Option<&str> {
        if is_generic(key) {
            self.pairs.iter().rev().find(|p| p.is(key))
        } else {
            self.pairs.iter().find(|p| p.key == key)
        }
        .map(|p| p.value.as_str())
    }

    /// The key that decides the driver: the first `Driver`, `DSN` or `FileDSN` pair (2.3.1),
    /// with the value the generic-key rules give that key.
    pub fn data_source(&self) -> Option<DataSource> {
        let first = self
            .pairs
            .iter()
            .find(|p| p.is("Driver") || p.is("DSN") || p.is("FileDSN"))?;
        let value = self.get(&first.key).unwrap_or_default().to_owned();
        Some(if first.is("DSN") {
            DataSource::Dsn(value)
        } else if first.is("Driver") {
            DataSource::Driver(value)
        } else {
            DataSource::FileDsn(value)
        })
    }

    /// The string with the value of every password-like key (`PWD`, or any key whose name
    /// contains `pwd` or `password`) replaced by `***`. Safe to log.
    pub fn masked(&self) -> String {
        self.render(true)
    }

    fn render(&self, mask: bool) -> String {
        let mut out = String::new();
        for (i, p) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(&p.key);
            out.push('=');
            if mask && is_secret_key(&p.key) {
                out.push_str("***");
            } else {
                out.push_str(&escape_value(&p.value));
            }
        }
        out
    }
}

/// Renders the full string, passwords included, suitable to hand to a driver manager.
impl fmt::Display for ConnStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl fmt::Debug for ConnStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnStr({:?})", self.masked())
    }
}

impl fmt::Debug for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if is_secret_key(&self.key) {
            "***"
        } else {
            &self.value
        };
        write!(f, "{:?}={:?}", self.key, value)
    }
}

/// True for the generic keys of MS-ODBCSTR 2.2, case-insensitively.
pub fn is_generic(key: &str) -> bool {
    GENERIC_KEYS.iter().any(|g| g.eq_ignore_ascii_case(key))
}

/// True for keys whose values must never be logged.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    k == "pwd" || k.contains("pwd") || k.contains("password") || k.contains("passwd")
}

/// Masks a connection string for logging. A string that does not parse is not echoed at all:
/// we cannot know where its password is.
/// Control characters are shown escaped, so a string cannot forge log lines.
pub fn mask_for_log(raw: &str) -> String {
    match raw.parse::<ConnStr>() {
        Ok(cs) => cs
            .masked()
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
        Err(e) => format!("<unparseable connection string: {e}>"),
    }
}

/// Escapes a value for a connection string: values that contain `;`, start with `{` or a space,
/// end with a space, or contain `}` or `=` are enclosed in braces with `}` doubled.
pub fn escape_value(value: &str) -> std::borrow::Cow<'_, str> {
    let needs = value.contains([';', '}', '=', '{'])
        || value.starts_with(' ')
        || value.ends_with(' ')
        || value.contains('+');
    if needs {
        std::borrow::Cow::Owned(format!("{{{}}}", value.replace('}', "}}")))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// A cursor over the characters of a connection string.
struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    _src: &'a str,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Self {
            chars: src.chars().collect(),
            pos: 0,
            _src: src,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn parse(mut self) -> Result<ConnStr, ConnStrError> {
        if let Some(i) = self.chars.iter().position(|&c| c == '\0') {
            return Err(ConnStrError::Nul { position: i + 1 });
        }
        let mut pairs = Vec::new();
        while self.pos < self.chars.len() {
            if let Some(pair) = self.pair()? {
                pairs.push(pair);
            }
            // pair() stops at ';' or the end.
            if self.peek() == Some(';') {
                self.pos += 1;
            }
        }
        Ok(ConnStr { pairs })
    }

    /// KeyValuePair = (Key EQ Value / SpaceStr)
    fn pair(&mut self) -> Result<Option<Pair>, ConnStrError> {
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
        match self.peek() {
            None | Some(';') => return Ok(None),
            Some('=') => {
                return Err(ConnStrError::EmptyKey {
                    position: self.pos + 1,
                })
            }
            _ => {}
        }
        let key = self.key()?;
        let after_equals = self.pos;
        let value = self.value()?;
        let space_after_equals = self.chars.get(after_equals) == Some(&' ');
        Ok(Some(Pair {
            key,
            value,
            space_after_equals,
        }))
    }

    /// KeyName = nonSP-SC-EQ *nonEQ, ending at '='.
    fn key(&mut self) -> Result<String, ConnStrError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                '=' => {
                    let key: String = self.chars[start..self.pos].iter().collect();
                    self.pos += 1;
                    return Ok(key);
                }
                ';' => break,
                _ => self.pos += 1,
            }
        }
        Err(ConnStrError::MissingEquals {
            position: self.pos + 1,
        })
    }

    /// Value = (SpaceStr ValueFormat1 SpaceStr) / ValueContent2
    fn value(&mut self) -> Result<String, ConnStrError> {
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
        if self.peek() == Some('{') {
            let open = self.pos;
            self.pos += 1;
            let mut value = String::new();
            loop {
                match self.peek() {
                    None => return Err(ConnStrError::UnterminatedBrace { position: open + 1 }),
                    Some('}') if self.chars.get(self.pos + 1) == Some(&'}') => {
                        value.push('}');
                        self.pos += 2;
                    }
                    Some('}') => {
                        self.pos += 1;
                        break;
                    }
                    Some(c) => {
                        value.push(c);
                        self.pos += 1;
                    }
                }
            }
            while self.peek() == Some(' ') {
                self.pos += 1;
            }
            match self.peek() {
                None | Some(';') => Ok(value),
                Some(_) => Err(ConnStrError::TrailingAfterBrace {
                    position: self.pos + 1,
                }),
            }
        } else {
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c == ';' {
                    break;
                }
                self.pos += 1;
            }
            Ok(self.chars[start..self.pos].iter().collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ConnStr {
        s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    // MS-ODBCSTR section 3: every example.

    #[test]
    fn example_3_1_trusted_connection() {
        let cs = parse(
            "Driver=SQL Server;Server=ServerName;Database=DatabaseName; Trusted_Connection=Yes;",
        );
        assert_eq!(cs.get("Driver"), Some("SQL Server"));
        assert_eq!(cs.get("Server"), Some("ServerName"));
        assert_eq!(cs.get("Database"), Some("DatabaseName"));
        assert_eq!(cs.get("Trusted_Connection"), Some("Yes"));
        assert_eq!(
            cs.data_source(),
            Some(DataSource::Driver("SQL Server".into()))
        );
    }

    #[test]
    fn example_3_2_standard_security() {
        let cs = parse("Driver=SQL Server;Server=ServerName;Database=DatabaseName; UID=UserName;PWD=UserPassword;");
        assert_eq!(cs.get("UID"), Some("UserName"));
        assert_eq!(cs.get("PWD"), Some("UserPassword"));
        assert!(!cs.masked().contains("UserPassword"));
    }

    #[test]
    fn example_3_3_named_instance() {
        let cs = parse("Driver=SQL Server;Server=ServerName\\InstanceName; Database=DatabaseName; Trusted_Connection=Yes;");
        assert_eq!(cs.get("Server"), Some("ServerName\\InstanceName"));
    }

    #[test]
    fn example_3_4_network() {
        let cs =
            parse("Driver=SQL Server;Server=ServerName;Trusted_Connection=Yes;Network =DBMSSOCN;");
        // Spaces before '=' are part of the key name (2.1.2.3).
        assert_eq!(cs.get("Network "), Some("DBMSSOCN"));
    }

    #[test]
    fn example_3_5_escaped_right_brace() {
        let cs = parse("DSN=testDSN; UID=sa; PWD={abc;}}def}");
        assert_eq!(cs.get("PWD"), Some("abc;}def"));
        assert_eq!(cs.get("PWD").map(str::len), Some(8));
    }

    #[test]
    fn example_3_6_leading_and_trailing_spaces() {
        let cs = parse("DSN=testDSN; UID={ sa }; PWD=myPwd");
        assert_eq!(cs.get("UID"), Some(" sa "));
    }

    #[test]
    fn example_3_7_values_enclosed_by_braces() {
        let cs = parse("UID=sa; PWD={myPwd}; DATABASE=TestingDB; DSN={testDSN}; ");
        assert_eq!(cs.get("PWD"), Some("myPwd"));
        assert_eq!(cs.data_source(), Some(DataSource::Dsn("testDSN".into())));
    }

    #[test]
    fn example_3_8_driver_conflict_resolution() {
        let cs = parse("FileDSN=C:\\dsn\\file.dsn; DSN=testDSN; UID=sa; PWD=myPwd; ");
        assert_eq!(
            cs.data_source(),
            Some(DataSource::FileDsn("C:\\dsn\\file.dsn".into()))
        );
    }

    #[test]
    fn example_3_9_multiple_instances_of_a_generic_key() {
        let cs = parse("UID=sa2; PWD=myPwd; DATABASE=TestingDB; DSN=testDSN; UID=sa;");
        assert_eq!(cs.get("UID"), Some("sa"));
        assert_eq!(
            cs.get("uid"),
            Some("sa"),
            "generic keys are case-insensitive"
        );
    }

    #[test]
    fn example_3_10_multiple_instances_of_driver_specific_key() {
        let cs = parse(
            "Trusted_Connection=Yes; Driver=SQL Server; Database=tempdb; Server=srv1; Trusted_Connection=No",
        );
        assert_eq!(cs.get("Trusted_Connection"), Some("Yes"));
    }

    // The grammar's edges.

    #[test]
    fn empty_pairs_and_spaces_only_pairs_are_ignored() {
        let cs = parse(";;  ; DSN=a;;");
        assert_eq!(cs.pairs().len(), 1);
        assert!(parse("").pairs().is_empty());
        assert!(parse("   ").pairs().is_empty());
    }

    #[test]
    fn empty_value_is_not_missing() {
        let cs = parse("DSN=x;PWD=");
        assert_eq!(cs.get("PWD"), Some(""));
    }

    #[test]
    fn unbraced_value_keeps_trailing_spaces_and_drops_leading_ones() {
        let cs = parse("DSN=  a b  ;UID=x");
        assert_eq!(cs.get("DSN"), Some("a b  "));
    }

    #[test]
    fn braces_with_spaces_around() {
        let cs = parse("PWD=  {a=b}  ; DSN=x");
        assert_eq!(cs.get("PWD"), Some("a=b"));
    }

    #[test]
    fn errors_carry_positions() {
        assert_eq!(
            "DSN=x;UID".parse::<ConnStr>(),
            Err(ConnStrError::MissingEquals { position: 10 })
        );
        assert_eq!(
            "DSN=x; =y".parse::<ConnStr>(),
            Err(ConnStrError::EmptyKey { position: 8 })
        );
        assert_eq!(
            "PWD={abc".parse::<ConnStr>(),
            Err(ConnStrError::UnterminatedBrace { position: 5 })
        );
        assert_eq!(
            "PWD={abc}x;DSN=a".parse::<ConnStr>(),
            Err(ConnStrError::TrailingAfterBrace { position: 10 })
        );
        assert_eq!(
            "DSN=a\0".parse::<ConnStr>(),
            Err(ConnStrError::Nul { position: 6 })
        );
    }

    #[test]
    fn display_round_trips_through_escaping() {
        let cs = ConnStr::from_pairs([("DSN", "x"), ("PWD", "a;}b"), ("Opt", " s ")]);
        let again = parse(&cs.to_string());
        assert_eq!(again, cs);
    }

    #[test]
    fn masking_hides_every_password_like_key() {
        let cs = parse("DSN=x;pwd=s1;Password=s2;UID=u;DbPasswd={s3}");
        let m = cs.masked();
        for secret in ["s1", "s2", "s3"] {
            assert!(!m.contains(secret), "{m}");
        }
        assert!(!format!("{cs:?}").contains("s1"));
        assert!(mask_for_log("PWD={oops").starts_with("<unparseable"));
        assert!(!mask_for_log("PWD={oops").contains("oops"));
        // A password cut by a stray ';' must not leak through the error either.
        let logged = mask_for_log("PWD=abc;hunter2tail");
        assert!(
            !logged.contains("hunter2") && !logged.contains("abc"),
            "{logged}"
        );
        let logged = mask_for_log("PWD={abc}hunter2;DSN=x");
        assert!(!logged.contains("hunter2"), "{logged}");
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(s in ".{0,64}") {
            let _ = s.parse::<ConnStr>();
        }

        #[test]
        fn escape_round_trips(k in "[A-Za-z][A-Za-z0-9_]{0,8}", v in "[^\u{0}]{0,24}") {
            let cs = ConnStr::from_pairs([(k.clone(), v.clone())]);
            let back: ConnStr = cs.to_string().parse().unwrap();
            proptest::prop_assert_eq!(back.get(&k), Some(v.as_str()));
        }
    }
}
