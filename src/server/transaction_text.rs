//! What a statement's SQL text does to a transaction (`BEGIN`, `COMMIT`, ...), judged
//! conservatively from the text alone: the session uses it to find its transaction
//! boundaries (for a drain), a database connection to tell a transaction its client began in
//! SQL from one its driver began for a cursor.

/// A transaction statement in SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextEffect {
    /// It may open a transaction.
    Begin,
    /// It ends one (a lone `COMMIT`, `ROLLBACK`, ...).
    End,
}

/// What a statement text does to a transaction, judged so that a wrong guess only costs
/// waiting, never work: it may open one when any word of it (comments and bodies included) is
/// `BEGIN`, `SAVEPOINT`, `START … TRANSACTION`, `AUTOCOMMIT` or `IMPLICIT_TRANSACTIONS`; it ends
/// one only when the whole text is a single `COMMIT`, `ROLLBACK`, `END` or `ABORT` (optionally
/// with `WORK` or `TRANSACTION`).
pub(crate) fn text_effect(sql: &str) -> Option<TextEffect> {
    // Runs on every statement: no allocation.
    let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
    let mut lone = sql.trim().trim_end_matches(';').split_whitespace();
    let (first, second, third) = (lone.next(), lone.next(), lone.next());
    let ends = first.is_some_and(|w| {
        ["COMMIT", "ROLLBACK", "END", "ABORT"]
            .iter()
            .any(|k| is(w, k))
    }) && third.is_none()
        && second.is_none_or(|w| is(w, "WORK") || is(w, "TRANSACTION"));
    if ends {
        return Some(TextEffect::End);
    }
    let mut words = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .peekable();
    while let Some(w) = words.next() {
        let opens = ["BEGIN", "SAVEPOINT", "AUTOCOMMIT", "IMPLICIT_TRANSACTIONS"]
            .iter()
            .any(|k| is(w, k))
            || (is(w, "START") && words.peek().is_some_and(|next| is(next, "TRANSACTION")));
        if opens {
            return Some(TextEffect::Begin);
        }
    }
    None
}

/// The statements of an SQL text: its pieces between top-level `;` (outside quotes, quoted
/// names, comments and dollar-quoted bodies), without the empty ones.
pub(crate) fn statements(sql: &str) -> impl Iterator<Item = &str> {
    let bytes = sql.as_bytes();
    let mut cuts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b';' => {
                cuts.push(i);
                i += 1;
            }
            quote @ (b'\'' | b'"') => {
                // Up to the closing quote (a doubled one stays inside).
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == quote {
                        if bytes.get(i + 1) == Some(&quote) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                // `$tag$ ... $tag$` (the tag may be empty); `$1` is a parameter.
                let tag_end = bytes[i + 1..]
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                    .map(|n| i + 1 + n);
                match tag_end {
                    Some(end) if bytes[end] == b'$' && !bytes[i + 1].is_ascii_digit() => {
                        let tag = &bytes[i..=end];
                        let body = end + 1;
                        i = bytes[body..]
                            .windows(tag.len())
                            .position(|w| w == tag)
                            .map_or(bytes.len(), |n| body + n + tag.len());
                    }
                    _ => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    cuts.push(sql.len());
    let mut start = 0;
    cuts.into_iter()
        .map(move |cut| {
            let piece = sql.get(start..cut.min(sql.len())).unwrap_or_default();
            start = cut + 1;
            piece
        })
        .filter(|piece| first_words(piece).next().is_some())
}

/// The words of a statement from its start, skipping spaces, comments and opening
/// parentheses (keywords and names; stops at anything else).
fn first_words(statement: &str) -> impl Iterator<Item = &str> {
    let mut rest = statement;
    std::iter::from_fn(move || loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.find('\n').map_or("", |n| &after[n..]);
            continue;
        }
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |n| &after[n + 2..]);
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        let (word, after) = rest.split_at(end);
        rest = after;
        return Some(word);
    })
}

/// Whether a statement of `sql` begins a transaction as PostgreSQL reads it: one whose first
/// word is `BEGIN` or whose first words are `START TRANSACTION` (a `BEGIN` inside a body or a
/// string begins nothing).
pub(crate) fn begins_transaction(sql: &str) -> bool {
    statements(sql).any(|statement| {
        let mut words = first_words(statement);
        match words.next() {
            Some(w) if w.eq_ignore_ascii_case("BEGIN") => true,
            Some(w) if w.eq_ignore_ascii_case("START") => words
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("TRANSACTION")),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{begins_transaction, statements, text_effect, TextEffect};

    #[test]
    fn statements_split_at_top_level_semicolons_only() {
        let split = |sql| statements(sql).map(str::trim).collect::<Vec<_>>();
        assert_eq!(split("SELECT 1"), ["SELECT 1"]);
        assert_eq!(split("SELECT 1;"), ["SELECT 1"]);
        assert_eq!(split(" ; ;SELECT 1; -- done;\n"), ["SELECT 1"]);
        assert_eq!(
            split("SELECT 1; INSERT INTO t VALUES (';')"),
            ["SELECT 1", "INSERT INTO t VALUES (';')"]
        );
        assert_eq!(split("SELECT 'it''s; fine'"), ["SELECT 'it''s; fine'"]);
        assert_eq!(split("SELECT \"a;b\" FROM t"), ["SELECT \"a;b\" FROM t"]);
        assert_eq!(split("SELECT 1 /* ; */"), ["SELECT 1 /* ; */"]);
        assert_eq!(
            split("DO $$ BEGIN PERFORM 1; END $$; SELECT 2"),
            ["DO $$ BEGIN PERFORM 1; END $$", "SELECT 2"]
        );
        assert_eq!(
            split("CREATE FUNCTION f() AS $fn$ a; $$ b; $fn$ LANGUAGE sql"),
            ["CREATE FUNCTION f() AS $fn$ a; $$ b; $fn$ LANGUAGE sql"]
        );
        // `$1` is a parameter, not a quote; texts cut short end their last piece.
        assert_eq!(split("SELECT $1; SELECT $2"), ["SELECT $1", "SELECT $2"]);
        assert_eq!(split("SELECT 'open; quote"), ["SELECT 'open; quote"]);
        assert_eq!(
            split("SELECT $x$ never closed; 1"),
            ["SELECT $x$ never closed; 1"]
        );
        assert_eq!(split("SELECT 1 $"), ["SELECT 1 $"]);
        assert_eq!(split("SELECT /* never closed"), ["SELECT /* never closed"]);
    }

    #[test]
    fn only_a_statement_that_starts_so_begins_a_transaction() {
        for sql in [
            "BEGIN",
            "begin work",
            "  /* app */ BEGIN ISOLATION LEVEL SERIALIZABLE",
            "START TRANSACTION",
            "INSERT INTO t VALUES (1); BEGIN",
            "(BEGIN)",
        ] {
            assert!(begins_transaction(sql), "{sql}");
        }
        for sql in [
            "DO $$ BEGIN PERFORM 1; BEGIN PERFORM 2; END; END $$",
            "INSERT INTO log VALUES ('begin; start transaction')",
            "SELECT 1 AS autocommit -- begin",
            "SAVEPOINT a",
            "START something",
            "COMMIT",
            "SELECT \"begin\"",
            "",
        ] {
            assert!(!begins_transaction(sql), "{sql}");
        }
    }

    #[test]
    fn transaction_statements_in_sql_text() {
        assert_eq!(text_effect("BEGIN"), Some(TextEffect::Begin));
        assert_eq!(text_effect("/* app */ BEGIN"), Some(TextEffect::Begin));
        assert_eq!(
            text_effect("  start   transaction isolation level serializable"),
            Some(TextEffect::Begin)
        );
        assert_eq!(
            text_effect("BEGIN; INSERT INTO t VALUES (1)"),
            Some(TextEffect::Begin)
        );
        // Bodies with END do not end anything; a BEGIN anywhere may open.
        assert_eq!(
            text_effect("CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); END"),
            Some(TextEffect::Begin)
        );
        assert_eq!(text_effect("INSERT INTO t VALUES ('a'); COMMIT"), None);
        assert_eq!(text_effect("COMMIT;"), Some(TextEffect::End));
        assert_eq!(text_effect(" rollback work "), Some(TextEffect::End));
        assert_eq!(
            text_effect("rollback to savepoint a"),
            Some(TextEffect::Begin)
        );
        assert_eq!(text_effect("SET autocommit = 0"), Some(TextEffect::Begin));
        assert_eq!(text_effect("SELECT 1"), None);
    }

    /// The first, allocating way of judging a text, kept to hold the one in use to it.
    fn judged_by_words(sql: &str) -> Option<TextEffect> {
        let lone: Vec<String> = sql
            .trim()
            .trim_end_matches(';')
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        let ends = matches!(
            lone.first().map(String::as_str),
            Some("COMMIT" | "ROLLBACK" | "END" | "ABORT")
        ) && (lone.len() == 1
            || (lone.len() == 2 && matches!(lone[1].as_str(), "WORK" | "TRANSACTION")));
        if ends {
            return Some(TextEffect::End);
        }
        let upper = sql.to_ascii_uppercase();
        let words: Vec<&str> = upper
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        let opens = words.iter().enumerate().any(|(i, w)| {
            matches!(
                *w,
                "BEGIN" | "SAVEPOINT" | "AUTOCOMMIT" | "IMPLICIT_TRANSACTIONS"
            ) || (*w == "START" && words.get(i + 1) == Some(&"TRANSACTION"))
        });
        opens.then_some(TextEffect::Begin)
    }

    proptest::proptest! {
        #[test]
        fn any_text_splits_without_panicking(
            sql in "[ -~é\\n$;'\"/*(-]{0,40}",
        ) {
            for piece in statements(&sql) {
                proptest::prop_assert!(sql.contains(piece));
            }
            let _ = begins_transaction(&sql);
        }

        #[test]
        fn judged_as_word_by_word(
            words in proptest::collection::vec(
                proptest::sample::select(vec![
                    "begin", "BEGIN", "Commit", "rollback", "end", "abort", "work",
                    "transaction", "start", "savepoint", "autocommit", "select", "1", ";",
                    " ", "\n", "(", "é", "_x", "implicit_transactions", "--", "/*", "*/",
                ]),
                0..6,
            )
        ) {
            let sql: String = words.concat();
            proptest::prop_assert_eq!(text_effect(&sql), judged_by_words(&sql), "{:?}", sql);
            let spaced = words.join(" ");
            proptest::prop_assert_eq!(text_effect(&spaced), judged_by_words(&spaced), "{:?}", spaced);
        }
    }
}
