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

/// A byte that may be part of a name (PostgreSQL's identifier characters, `$` included, and
/// any byte of a non-ASCII character).
fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Where `sql`'s top-level `;`s are (outside quotes, quoted names, nested comments and
/// dollar-quoted bodies), and whether every quote and comment was closed (if not, the text
/// was not read as PostgreSQL reads it).
fn lex(sql: &str) -> (Vec<usize>, bool) {
    let bytes = sql.as_bytes();
    let mut cuts = Vec::new();
    let mut closed = true;
    let mut i = 0;
    while i < bytes.len() {
        let after_name = i > 0 && name_byte(bytes[i - 1]);
        match bytes[i] {
            b';' => {
                cuts.push(i);
                i += 1;
            }
            quote @ (b'\'' | b'"') => {
                // `E'...'` takes backslash escapes (an `E` that starts a word).
                let escapes = quote == b'\''
                    && i > 0
                    && matches!(bytes[i - 1], b'E' | b'e')
                    && !(i > 1 && name_byte(bytes[i - 2]));
                // Up to the closing quote (a doubled one stays inside).
                i += 1;
                let mut shut = false;
                while i < bytes.len() {
                    if escapes && bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if bytes[i] == quote {
                        if bytes.get(i + 1) == Some(&quote) {
                            i += 2;
                            continue;
                        }
                        shut = true;
                        break;
                    }
                    i += 1;
                }
                closed &= shut;
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match comment_end(&bytes[i..]) {
                Some(n) => i += n,
                None => {
                    closed = false;
                    i = bytes.len();
                }
            },
            // `$tag$ ... $tag$` (the tag may be empty, never starts with a digit); `$1` is a
            // parameter, and a `$` inside a name starts nothing.
            b'$' if !after_name => {
                let tag_end = bytes[i + 1..]
                    .iter()
                    .position(|b| !(name_byte(*b) && *b != b'$'))
                    .map(|n| i + 1 + n);
                match tag_end {
                    Some(end) if bytes[end] == b'$' && !bytes[i + 1].is_ascii_digit() => {
                        let tag = &bytes[i..=end];
                        let body = end + 1;
                        match bytes[body..].windows(tag.len()).position(|w| w == tag) {
                            Some(n) => i = body + n + tag.len(),
                            None => {
                                closed = false;
                                i = bytes.len();
                            }
                        }
                    }
                    _ => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    cuts.push(sql.len());
    (cuts, closed)
}

/// The length of the (nested) comment `text` starts with, `None` when it is not closed.
fn comment_end(text: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while i + 1 < text.len() {
        match (text[i], text[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The statements of an SQL text: its pieces between top-level `;`, without the empty ones.
pub(crate) fn statements(sql: &str) -> impl Iterator<Item = &str> {
    pieces(sql, lex(sql).0)
}

/// The non-empty pieces of `sql` between the `cuts` [`lex`] found.
fn pieces(sql: &str, cuts: Vec<usize>) -> impl Iterator<Item = &str> {
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
        if rest.starts_with("/*") {
            rest = comment_end(rest.as_bytes()).map_or("", |n| &rest[n..]);
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        let (word, after) = rest.split_at(end);
        rest = after;
        return Some(word);
    })
}

/// What a text does to the transaction as PostgreSQL reads it (its last transaction
/// statement decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransactionChange {
    /// A transaction begins (`BEGIN`, `START TRANSACTION`, `COMMIT AND CHAIN`), or the text
    /// could not be read as PostgreSQL reads it (then a transaction is taken as begun: the
    /// server never commits one the client may have begun).
    Begun,
    /// `COMMIT` or `END`.
    Committed,
    /// `ROLLBACK` or `ABORT` (not to a savepoint), or `PREPARE TRANSACTION`.
    RolledBack,
}

/// What `sql` does to the transaction (see [`TransactionChange`]); `None` when it does
/// nothing to it.
pub(crate) fn transaction_change(sql: &str) -> Option<TransactionChange> {
    let (cuts, closed) = lex(sql);
    if !closed {
        return Some(TransactionChange::Begun);
    }
    pieces(sql, cuts).filter_map(statement_change).last()
}

fn statement_change(statement: &str) -> Option<TransactionChange> {
    let words: Vec<&str> = first_words(statement).take(4).collect();
    let is = |n: usize, keyword: &str| {
        words
            .get(n)
            .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
    };
    let chained = (1..words.len()).any(|n| is(n, "AND")) && !(1..words.len()).any(|n| is(n, "NO"));
    if is(0, "BEGIN") || (is(0, "START") && is(1, "TRANSACTION")) {
        return Some(TransactionChange::Begun);
    }
    if is(1, "PREPARED") {
        // COMMIT/ROLLBACK PREPARED act on a prepared transaction, not the session's.
        return None;
    }
    if is(0, "COMMIT") || is(0, "END") {
        return Some(if chained {
            TransactionChange::Begun
        } else {
            TransactionChange::Committed
        });
    }
    if is(0, "ROLLBACK") || is(0, "ABORT") {
        if is(1, "TO") || is(2, "TO") {
            return None;
        }
        return Some(if chained {
            TransactionChange::Begun
        } else {
            TransactionChange::RolledBack
        });
    }
    if is(0, "PREPARE") && is(1, "TRANSACTION") {
        return Some(TransactionChange::RolledBack);
    }
    None
}

/// Whether `sql` leaves a transaction begun (see [`transaction_change`]).
#[cfg(test)]
fn begins_transaction(sql: &str) -> bool {
    transaction_change(sql) == Some(TransactionChange::Begun)
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
            split("/* a /* ; */ ; */ SELECT 1"),
            ["/* a /* ; */ ; */ SELECT 1"]
        );
        assert_eq!(
            split("SELECT E'\\'; x'; SELECT 2"),
            ["SELECT E'\\'; x'", "SELECT 2"]
        );
        assert_eq!(
            split("SELECT $x$ never closed; 1"),
            ["SELECT $x$ never closed; 1"]
        );
        assert_eq!(split("SELECT 1 $"), ["SELECT 1 $"]);
        assert_eq!(split("SELECT /* never closed"), ["SELECT /* never closed"]);
    }

    #[test]
    fn a_large_hostile_text_is_read_to_its_end() {
        use super::{transaction_change, TransactionChange};
        // A client's text of 64 KiB built to make a lexer backtrack or loop: every opening
        // without its close, tags that nearly match.
        for unit in ["$a", "$a$", "/*", "'", "\"", "$$a$", "E'\\", "-", ";"] {
            let sql = unit.repeat(65_536 / unit.len());
            let change = transaction_change(&sql);
            assert!(
                change.is_none() || change == Some(TransactionChange::Begun),
                "{unit}: {change:?}"
            );
            assert!(statements(&sql).count() <= sql.len());
        }
        let near_tags = format!("$t{}$ {} $t$", "x".repeat(4000), "$tx$ ".repeat(10_000));
        assert_eq!(
            transaction_change(&near_tags),
            Some(TransactionChange::Begun)
        );
    }

    #[test]
    fn texts_are_read_as_postgresql_reads_them() {
        use super::{transaction_change, TransactionChange::*};
        for (sql, change) in [
            ("/* off:\n SELECT 1; /* note */\n*/\nBEGIN", Some(Begun)),
            ("SELECT E'\\''; BEGIN", Some(Begun)),
            ("SELECT E'it\\'s; BEGIN'", None),
            ("SELECT 1 AS a$b$; BEGIN", Some(Begun)),
            ("SELECT 1 AS a$$b; BEGIN", Some(Begun)),
            ("SELECT $é$'$é$; BEGIN", Some(Begun)),
            ("SELECT $é$ ; BEGIN $é$", None),
            ("/* a /* b */ ; BEGIN */ SELECT 1", None),
            ("BEGIN; INSERT INTO t VALUES (1); COMMIT", Some(Committed)),
            ("COMMIT -- done", Some(Committed)),
            ("/* app */ COMMIT", Some(Committed)),
            ("COMMIT AND NO CHAIN", Some(Committed)),
            ("COMMIT AND CHAIN", Some(Begun)),
            ("COMMIT; SELECT 1", Some(Committed)),
            ("ROLLBACK -- undo", Some(RolledBack)),
            ("ROLLBACK TO SAVEPOINT a", None),
            ("ROLLBACK WORK TO a", None),
            ("ROLLBACK PREPARED 'x'", None),
            ("PREPARE TRANSACTION 'x'", Some(RolledBack)),
            ("end", Some(Committed)),
            // Not closed: not read as PostgreSQL would, so taken as begun.
            ("SELECT 'open", Some(Begun)),
            ("SELECT 1 /* open", Some(Begun)),
            ("SELECT $x$ open", Some(Begun)),
            ("SELECT 1", None),
        ] {
            assert_eq!(transaction_change(sql), change, "{sql}");
        }
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
