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
}
