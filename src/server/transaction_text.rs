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

#[cfg(test)]
mod tests {
    use super::{text_effect, TextEffect};

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
