//! What the admin requests show and who may use them (the requests themselves:
//! [`crate::proto::admin`]; the session's side: `session/admin.rs`; the registry's:
//! [`super::registry::admin::ListSessions`], [`super::registry::admin::InterveneIn`]).
//!
//! A running request's SQL is shown with its literals masked: strings, numbers, dollar-quoted
//! bodies and comments become `?`, so an operator sees the statement's shape and never a
//! password, a card number or a customer's name that was written into the text. Masking errs
//! on the side of hiding: an unterminated string hides everything after its quote.

/// The most characters of SQL an admin sees of a running request.
pub const MAX_SHOWN_SQL: usize = 1000;

/// What the session keeps of a running request's SQL: enough to show [`MAX_SHOWN_SQL`]
/// characters once masked (a masked literal is shorter than the literal).
pub const MAX_KEPT_SQL: usize = 4 * MAX_SHOWN_SQL;

/// Who asks an admin request.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The asking session's full id.
    pub session: String,
    /// Its user ("" without authentication).
    pub user: String,
    /// Whether the user is in `admin_users` (of the configuration in force).
    pub admin: bool,
}

impl Viewer {
    /// Whether the viewer may see and act on a session of `user` with id `id`: an admin on
    /// every session, a user on its own (without authentication, where every user is
    /// anonymous, on the very session it asks from).
    pub fn may_see(&self, id: &str, user: &str) -> bool {
        self.admin
            || if self.user.is_empty() {
                id == self.session
            } else {
                user == self.user
            }
    }
}

/// `sql` with every literal replaced by `?` and comments removed, cut after
/// [`MAX_SHOWN_SQL`] characters (with `...` when cut). Where the dialect decides what is a
/// literal, it hides: text in double quotes or backticks (an identifier in one database, a
/// string in another) shows as `"?"`, a `#` starts a comment (MySQL), and a backslash in a
/// string that is not an `E'...'` string (an escape in MySQL, a character in standard SQL)
/// hides the rest of the statement.
pub fn mask_literals(sql: &str) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Masked::default();
    let mut i = 0;
    // Whether the previous character continues an identifier (so digits after it are part
    // of a name: `t1`).
    let mut in_word = false;
    while i < chars.len() {
        if out.shown >= MAX_SHOWN_SQL {
            out.text.push_str("...");
            return out.text;
        }
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if !in_word && matches!(c, 'q' | 'Q') && next == Some('\'') {
            // Oracle's q'<delimiter>...<delimiter>'.
            out.push('?');
            i = q_quote_end(&chars, i + 2);
            continue;
        }
        match c {
            '\'' => {
                // E'...' (PostgreSQL): backslashes escape.
                let escapes = i >= 1
                    && matches!(chars[i - 1], 'E' | 'e')
                    && (i < 2 || !is_word_char(chars[i - 2]));
                i += 1;
                while i < chars.len() {
                    match chars[i] {
                        '\\' if escapes => i += 2,
                        '\\' => {
                            // Standard SQL or MySQL: which characters are the literal is the
                            // database's to say. Hide everything.
                            out.push('?');
                            out.text.push_str(" ...");
                            return out.text;
                        }
                        '\'' if chars.get(i + 1) == Some(&'\'') => i += 2,
                        '\'' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                out.push('?');
            }
            '"' | '`' => {
                // A quoted identifier, or a string: its contents hidden either way.
                i += 1;
                while i < chars.len() {
                    if chars[i] == c {
                        if chars.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                out.push(c);
                out.push('?');
                out.push(c);
            }
            '-' if next == Some('-') => {
                i = line_end(&chars, i);
                out.push(' ');
            }
            '#' if !in_word => {
                i = line_end(&chars, i);
                out.push(' ');
            }
            '/' if next == Some('*') => {
                // Block comments nest in PostgreSQL: count them.
                let mut depth = 0usize;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.push(' ');
            }
            '$' if !in_word => match dollar_quote_end(&chars, i) {
                Some(end) => {
                    out.push('?');
                    i = end;
                }
                None => {
                    // `$1` (a placeholder) or `$1000` (money): the digits are masked.
                    out.push('$');
                    i += 1;
                }
            },
            c if c.is_ascii_digit() && !in_word => {
                // A number: digits, a fraction, an exponent (with its sign), hex digits
                // after 0x.
                let hex = c == '0' && matches!(next, Some('x' | 'X'));
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    let sign = (d == '+' || d == '-') && !hex && matches!(chars[i - 1], 'e' | 'E');
                    if d.is_ascii_alphanumeric() || d == '.' || d == '_' || sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push('?');
            }
            '.' if !in_word && next.is_some_and(|n| n.is_ascii_digit()) => {
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                out.push('?');
            }
            _ => {
                out.push(c);
                i += 1;
                in_word = is_word_char(c);
                continue;
            }
        }
        in_word = false;
    }
    out.text
}

/// The masked text and how many characters it shows.
#[derive(Default)]
struct Masked {
    text: String,
    shown: usize,
}

impl Masked {
    fn push(&mut self, c: char) {
        // Control characters (a newline inside a name, a terminal's escape) as spaces.
        self.text
            .push(if c.is_control() && c != '\n' { ' ' } else { c });
        self.shown += 1;
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '@' || c == '$'
}

/// The index of the line end at or after `i` (or the end).
fn line_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i] != '\n' {
        i += 1;
    }
    i
}

/// Where Oracle's `q'<d>...<d>'` whose delimiter is at `start` ends (the index after it, or
/// the end of the text).
fn q_quote_end(chars: &[char], start: usize) -> usize {
    let Some(&open) = chars.get(start) else {
        return chars.len();
    };
    let close = match open {
        '[' => ']',
        '{' => '}',
        '(' => ')',
        '<' => '>',
        c => c,
    };
    let mut i = start + 1;
    while i + 1 < chars.len() {
        if chars[i] == close && chars[i + 1] == '\'' {
            return i + 2;
        }
        i += 1;
    }
    chars.len()
}

/// Where the dollar-quoted string starting at `start` (`$tag$...$tag$`) ends (the index after
/// its closing tag, or the end of the text when it never closes); `None` when `$` does not
/// start one.
fn dollar_quote_end(chars: &[char], start: usize) -> Option<usize> {
    let mut j = start + 1;
    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
        j += 1;
    }
    if chars.get(j) != Some(&'$') || chars.get(start + 1).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let tag = &chars[start..=j];
    let mut k = j + 1;
    while k + tag.len() <= chars.len() {
        if &chars[k..k + tag.len()] == tag {
            return Some(k + tag.len());
        }
        k += 1;
    }
    Some(chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn literals_become_question_marks() {
        for (sql, masked) in [
            (
                "SELECT * FROM t1 WHERE name = 'O''Brien' AND id = 42",
                "SELECT * FROM t1 WHERE name = ? AND id = ?",
            ),
            (
                "INSERT INTO t2 VALUES (1.5e+3, -7, .5, 0xFF, x'ff')",
                "INSERT INTO t2 VALUES (?, -?, ?, ?, x?)",
            ),
            (
                "UPDATE users SET pw = E'it\\'s secret' WHERE id = $1",
                "UPDATE users SET pw = E? WHERE id = $?",
            ),
            ("SELECT $$a 'secret'$$, $x$ 42 $x$", "SELECT ?, ?"),
            ("/* card 4111 */ SELECT 1 -- pw 'x'\n", "  SELECT ?  \n"),
            ("/* a /* b */ hunter2 */ SELECT 1", "  SELECT ?"),
            (
                "SELECT \"col 1\", [my col], `c` FROM \"T9\" WHERE x = \"hunter2\"",
                "SELECT \"?\", [my col], `?` FROM \"?\" WHERE x = \"?\"",
            ),
            ("SELECT 'unterminated secret", "SELECT ?"),
            ("SELECT @v1, a.b3 # 'x' hunter2\n", "SELECT @v1, a.b3  \n"),
            (
                "UPDATE t SET dir = 'C:\\', pw = 'hunter2'",
                "UPDATE t SET dir = ? ...",
            ),
            ("SELECT ARRAY['4111111111111111']", "SELECT ARRAY[?]"),
            ("SELECT q'[it's secret]', Q'{x}', 1", "SELECT ?, ?, ?"),
            ("SELECT $1000, a$1", "SELECT $?, a$1"),
            ("SELECT \"unterminated hunter2", "SELECT \"?\""),
        ] {
            assert_eq!(mask_literals(sql), masked, "{sql}");
        }
    }

    #[test]
    fn long_statements_are_cut() {
        let sql = format!("SELECT {}", "a, ".repeat(1000));
        let masked = mask_literals(&sql);
        assert_eq!(masked.chars().count(), MAX_SHOWN_SQL + 3);
        assert!(masked.ends_with("..."));
    }

    #[test]
    fn admins_see_everyone_users_themselves() {
        let admin = Viewer {
            session: "s1".into(),
            user: "ann".into(),
            admin: true,
        };
        let user = Viewer {
            admin: false,
            ..admin.clone()
        };
        let anonymous = Viewer {
            session: "s1".into(),
            user: String::new(),
            admin: false,
        };
        assert!(admin.may_see("s2", "bob"));
        assert!(user.may_see("s2", "ann"));
        assert!(!user.may_see("s2", "bob"));
        assert!(anonymous.may_see("s1", ""));
        assert!(!anonymous.may_see("s2", ""));
    }

    proptest! {
        /// Whatever surrounds them, the contents of string literals and numbers never show.
        #[test]
        fn no_literal_survives(
            words in proptest::collection::vec("[A-Za-z_][A-Za-z0-9_]{0,8}|[-+*/(),=<>;. \n\\\\\\[\\]#$`\"]{1,3}|\"[a-z ]{0,5}\"|q|E", 0..12),
            secrets in proptest::collection::vec("[a-z0-9 ]{0,6}SECRET[a-z0-9 ']{0,6}", 1..4),
            numbers in proptest::collection::vec(100_000u64..999_999, 1..4),
        ) {
            let mut sql = String::new();
            for (i, w) in words.iter().enumerate() {
                sql.push_str(w);
                sql.push(' ');
                if let Some(s) = secrets.get(i) {
                    sql.push_str(&format!("'{}' ", s.replace('\'', "''")));
                }
                if let Some(n) = numbers.get(i) {
                    sql.push_str(&format!("{n} "));
                }
            }
            for s in &secrets {
                sql.push_str(&format!("'{}' ", s.replace('\'', "''")));
            }
            for n in &numbers {
                sql.push_str(&format!("= {n} "));
            }
            let masked = mask_literals(&sql);
            prop_assert!(!masked.contains("SECRET"), "{sql:?} -> {masked:?}");
            for n in &numbers {
                prop_assert!(!masked.contains(&n.to_string()), "{sql:?} -> {masked:?}");
            }
        }
    }
}
