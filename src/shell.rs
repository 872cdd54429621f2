//! The pieces of `odbcsh` worth testing on their own: splitting input into statements and
//! formatting results as a table, CSV (RFC 4180) or JSON.

use crate::proto::value::{ColumnDesc, Value};

/// Output format for result sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns with a header; NULL shows as `NULL`.
    Table,
    /// RFC 4180: a header row, then rows; NULL is an empty field, an empty string is `""`.
    Csv,
    /// One JSON array of objects per result set, on one line: every column in order (a
    /// repeated name gets `#2`, `#3`), integers, finite floats and booleans as JSON values, NaN
    /// and infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, decimals, dates and
    /// text as strings, SQL NULL as `null`.
    Json,
}

/// Splits SQL text into statements at `;` outside quotes and comments, across lines. It knows
/// SQL strings (`'it''s'`), PostgreSQL escape strings (`E'a\'b'`), quoted identifiers
/// (`"a;b"`), dollar-quoted strings (`$$a;b$$`, `$fn$...$fn$`), line comments and nested block
/// comments, and never changes a byte of what it passes on (a statement is only trimmed of the
/// white space around it).
#[derive(Debug, Default)]
pub struct StatementSplitter {
    buf: String,
    state: State,
    /// The character before the current one (to tell `E'` and `$tag$` from identifiers).
    prev: Option<char>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum State {
    #[default]
    Normal,
    Single,
    /// An `E'...'` string: a backslash escapes the next character.
    Escape,
    /// Just after a backslash in an escape string.
    EscapeNext,
    Double,
    LineComment,
    /// Nesting depth (PostgreSQL nests block comments).
    BlockComment(u32),
    /// Inside `$tag$ ... $tag$`.
    Dollar(String),
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl StatementSplitter {
    /// True when nothing but white space is pending.
    pub fn is_empty(&self) -> bool {
        self.buf.trim().is_empty()
    }

    /// Adds a line (without its line end); returns the statements it completed.
    pub fn push_line(&mut self, line: &str) -> Vec<String> {
        let mut out = self.push(line);
        out.extend(self.push("\n"));
        out
    }

    /// Adds text (line ends included, as they are); returns the statements it completed
    /// (without their `;`).
    pub fn push(&mut self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            let mut take = 1;
            match &self.state {
                State::Normal => match c {
                    '\'' if matches!(self.prev, Some('E' | 'e'))
                        && !self.buf[..self.buf.len() - 1].ends_with(is_word) =>
                    {
                        self.state = State::Escape;
                    }
                    '\'' => self.state = State::Single,
                    '"' => self.state = State::Double,
                    '-' if next == Some('-') => self.state = State::LineComment,
                    '/' if next == Some('*') => {
                        self.state = State::BlockComment(1);
                        take = 2;
                    }
                    '$' if !self.prev.is_some_and(is_word) => {
                        // `$tag$` opens a dollar-quoted string; `$1` is a parameter.
                        let tag: String =
                            chars[i + 1..].iter().take_while(|c| is_word(**c)).collect();
                        let closes = chars.get(i + 1 + tag.chars().count()) == Some(&'$');
                        let starts_ok = tag.chars().next().is_none_or(|c| !c.is_ascii_digit());
                        if closes && starts_ok {
                            take = tag.chars().count() + 2;
                            self.state = State::Dollar(tag);
                        }
                    }
                    ';' => {
                        let stmt = std::mem::take(&mut self.buf);
                        if !stmt.trim().is_empty() {
                            out.push(stmt.trim().to_owned());
                        }
                        self.prev = Some(c);
                        i += 1;
                        continue;
                    }
                    _ => {}
                },
                State::Single | State::Escape if c == '\'' => self.state = State::Normal,
                State::Escape if c == '\\' => self.state = State::EscapeNext,
                State::EscapeNext => self.state = State::Escape,
                State::Double if c == '"' => self.state = State::Normal,
                State::LineComment if c == '\n' => self.state = State::Normal,
                State::BlockComment(depth) => {
                    let depth = *depth;
                    if c == '*' && next == Some('/') {
                        self.state = if depth == 1 {
                            State::Normal
                        } else {
                            State::BlockComment(depth - 1)
                        };
                        take = 2;
                    } else if c == '/' && next == Some('*') {
                        self.state = State::BlockComment(depth + 1);
                        take = 2;
                    }
                }
                State::Dollar(tag) => {
                    let closing: Vec<char> = std::iter::once('$')
                        .chain(tag.chars())
                        .chain(std::iter::once('$'))
                        .collect();
                    if chars[i..].starts_with(&closing) {
                        take = closing.len();
                        self.state = State::Normal;
                    }
                }
                _ => {}
            }
            for &taken in &chars[i..(i + take).min(chars.len())] {
                self.buf.push(taken);
                self.prev = Some(taken);
            }
            i += take;
        }
        out
    }

    /// The text after the last `;`, if any (a final statement without its `;`).
    pub fn finish(self) -> Option<String> {
        let rest = self.buf.trim();
        (!rest.is_empty() && !is_only_comments(rest)).then(|| rest.to_owned())
    }
}

fn is_only_comments(s: &str) -> bool {
    s.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with("--")
    })
}

/// Splits a whole text (e.g. an `-e` argument) into statements, every byte kept.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut s = StatementSplitter::default();
    let mut out = s.push(text);
    out.extend(s.finish());
    out
}

/// Formats one statement's outcome: the text for stdout and, for CSV, a note for stderr (so the
/// CSV stays machine-readable).
pub fn format_result(
    format: Format,
    columns: Option<&[ColumnDesc]>,
    rows: &[Vec<Value>],
    rowcount: i64,
) -> (String, Option<String>) {
    let Some(columns) = columns else {
        let msg = if rowcount >= 0 {
            format!(
                "{rowcount} row{} affected",
                if rowcount == 1 { "" } else { "s" }
            )
        } else {
            "OK".to_owned()
        };
        return match format {
            Format::Table => (format!("{msg}\n"), None),
            Format::Csv => (String::new(), Some(msg)),
            Format::Json => (format!("{{\"rowcount\":{rowcount}}}\n"), None),
        };
    };
    let mut buf = Vec::new();
    let written = ResultWriter::new(format, columns, &mut buf).and_then(|mut w| {
        w.rows(rows)?;
        w.finish()
    });
    // Writing to memory does not fail.
    debug_assert!(written.is_ok());
    (String::from_utf8_lossy(&buf).into_owned(), None)
}

/// Rows the table format holds to size its columns before it prints them; wider values after
/// them stretch their own line only.
pub const TABLE_WINDOW: usize = 1000;

/// Writes one result set as its rows arrive: CSV and JSON row by row, the table after its
/// first [`TABLE_WINDOW`] rows (to size the columns), so memory stays bounded whatever the
/// result's size and output starts before the last row arrives.
pub struct ResultWriter<W: std::io::Write> {
    format: Format,
    columns: Vec<ColumnDesc>,
    out: W,
    rows: usize,
    /// Table: rows held until the window is full; `widths` set once it was printed.
    window: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
    /// How the table shows SQL NULL (`--null`; default `NULL`).
    null: String,
    /// JSON: the column names as object keys, in order, duplicates numbered (`a`, `a#2`).
    keys: Vec<String>,
}

impl<W: std::io::Write> ResultWriter<W> {
    /// Starts a result set of `columns` (writes the CSV header, JSON's `[`).
    ///
    /// # Errors
    /// Writing fails.
    pub fn new(format: Format, columns: &[ColumnDesc], mut out: W) -> std::io::Result<Self> {
        match format {
            Format::Csv => {
                let header: Vec<String> = columns.iter().map(|c| csv_field(&c.name)).collect();
                writeln!(out, "{}", header.join(","))?;
            }
            Format::Json => out.write_all(b"[")?,
            Format::Table => {}
        }
        Ok(Self {
            format,
            columns: columns.to_vec(),
            out,
            rows: 0,
            window: Vec::new(),
            widths: None,
            null: "NULL".to_owned(),
            keys: json_keys(columns),
        })
    }

    /// Shows SQL NULL as `null` in the table (psql's `\pset null`).
    #[must_use]
    pub fn with_null(mut self, null: &str) -> Self {
        null.clone_into(&mut self.null);
        self
    }

    /// Writes (or, for the table's first window, holds) more rows.
    ///
    /// # Errors
    /// Writing fails.
    pub fn rows<R: AsRef<[Value]>>(&mut self, rows: &[R]) -> std::io::Result<()> {
        for r in rows {
            let r = r.as_ref();
            match self.format {
                Format::Csv => {
                    let fields: Vec<String> = r
                        .iter()
                        .map(|v| {
                            if v.is_null() {
                                String::new()
                            } else {
                                csv_field(&v.to_string())
                            }
                        })
                        .collect();
                    writeln!(self.out, "{}", fields.join(","))?;
                }
                Format::Json => {
                    if self.rows > 0 {
                        self.out.write_all(b",")?;
                    }
                    // Written by hand: every column, in order (a JSON map would sort them and
                    // keep one of each name).
                    let fields: Vec<String> = self
                        .keys
                        .iter()
                        .zip(r)
                        .map(|(k, v)| {
                            format!("{}:{}", serde_json::Value::from(k.as_str()), json_value(v))
                        })
                        .collect();
                    write!(self.out, "{{{}}}", fields.join(","))?;
                }
                Format::Table => {
                    let cells: Vec<String> = r
                        .iter()
                        .map(|v| {
                            if v.is_null() {
                                self.null.clone()
                            } else {
                                v.to_string()
                            }
                        })
                        .collect();
                    match &self.widths {
                        Some(widths) => {
                            writeln!(self.out, "{}", table_line(&cells, widths))?;
                        }
                        None => {
                            self.window.push(cells);
                            if self.window.len() >= TABLE_WINDOW {
                                self.flush_window()?;
                            }
                        }
                    }
                }
            }
            self.rows += 1;
        }
        self.out.flush()
    }

    fn flush_window(&mut self) -> std::io::Result<()> {
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|c| c.name.chars().count())
            .collect();
        for r in &self.window {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        writeln!(self.out, "{}", table_line(&names, &widths))?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        writeln!(self.out, "{}", rule.join("-+-"))?;
        for r in std::mem::take(&mut self.window) {
            writeln!(self.out, "{}", table_line(&r, &widths))?;
        }
        self.widths = Some(widths);
        Ok(())
    }

    /// Ends the result set (the table's row count, JSON's `]`).
    ///
    /// # Errors
    /// Writing fails.
    pub fn finish(mut self) -> std::io::Result<()> {
        match self.format {
            Format::Csv => {}
            Format::Json => self.out.write_all(b"]\n")?,
            Format::Table => {
                if self.widths.is_none() {
                    self.flush_window()?;
                }
                writeln!(
                    self.out,
                    "({} row{})",
                    self.rows,
                    if self.rows == 1 { "" } else { "s" }
                )?;
            }
        }
        self.out.flush()
    }
}

/// JSON object keys for `columns`: their names in order, a repeated name numbered from its
/// second occurrence (`a`, `a#2`, `a#3`).
fn json_keys(columns: &[ColumnDesc]) -> Vec<String> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    columns
        .iter()
        .map(|c| {
            let n = seen.entry(c.name.as_str()).or_insert(0);
            *n += 1;
            if *n == 1 {
                c.name.clone()
            } else {
                format!("{}#{n}", c.name)
            }
        })
        .collect()
}

fn table_line(cells: &[String], widths: &[usize]) -> String {
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let line: Vec<String> = cells.iter().zip(widths).map(|(c, w)| pad(c, *w)).collect();
    line.join(" | ").trim_end().to_owned()
}

/// Quotes a CSV field when RFC 4180 requires it.
pub fn csv_field(s: &str) -> String {
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn json_value(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        // JSON has no NaN or infinities: they are strings, so they never read as SQL NULL.
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or_else(
            || {
                J::String(
                    if f.is_nan() {
                        "NaN"
                    } else if *f > 0.0 {
                        "Infinity"
                    } else {
                        "-Infinity"
                    }
                    .to_owned(),
                )
            },
            J::Number,
        ),
        other => J::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> ColumnDesc {
        ColumnDesc {
            name: name.into(),
            type_code: 12,
            display_size: None,
            internal_size: None,
            precision: None,
            scale: None,
            null_ok: None,
        }
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        assert_eq!(
            split_statements("select 'a;b'; select \"x;\" -- c;\n; /* ; */ select 1"),
            vec!["select 'a;b'", "select \"x;\" -- c;", "/* ; */ select 1"]
        );
        let mut s = StatementSplitter::default();
        assert!(s.push_line("insert into t values ('multi").is_empty());
        assert_eq!(
            s.push_line("line');select 2;"),
            vec!["insert into t values ('multi\nline')", "select 2"]
        );
        assert!(s.is_empty());
        assert_eq!(split_statements("-- only a comment"), Vec::<String>::new());
    }

    #[test]
    fn dollar_quotes_escape_strings_and_nested_comments_hide_semicolons() {
        assert_eq!(
            split_statements("SELECT $$a;b$$; SELECT $fn$ x; $$ y $fn$; SELECT $1, x$y;"),
            vec![
                "SELECT $$a;b$$",
                "SELECT $fn$ x; $$ y $fn$",
                "SELECT $1, x$y"
            ]
        );
        assert_eq!(
            split_statements(r"SELECT E'it\'s; ok', e'\\'; SELECT 'it''s;'"),
            vec![r"SELECT E'it\'s; ok', e'\\'", "SELECT 'it''s;'"]
        );
        assert_eq!(
            split_statements("SELECT name'x;y' ; SELECT 2"),
            vec!["SELECT name'x;y'", "SELECT 2"],
            "a quote after an identifier ending in e is not an escape string"
        );
        assert_eq!(
            split_statements("/* a /* b; */ c; */ SELECT 1; SELECT 2"),
            vec!["/* a /* b; */ c; */ SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn json_keeps_every_column_in_order_and_tells_nan_from_null() {
        let cols = [col("z"), col("a"), col("a")];
        let rows = vec![vec![Value::Int(1), Value::Float(f64::NAN), Value::Null]];
        let (out, _) = format_result(Format::Json, Some(&cols), &rows, -1);
        assert_eq!(out, "[{\"z\":1,\"a\":\"NaN\",\"a#2\":null}]\n");
        let mut buf = Vec::new();
        let mut w = ResultWriter::new(Format::Table, &cols[..1], &mut buf)
            .unwrap()
            .with_null("(null)");
        w.rows(&[vec![Value::Null], vec![Value::Text("NULL".into())]])
            .unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.contains("(null)") && text.contains("NULL"), "{text}");
    }

    #[test]
    fn no_byte_of_a_statement_is_changed() {
        let text = "INSERT INTO t VALUES ('a\r\nb\tc'); SELECT 'x'\r\n;";
        assert_eq!(
            split_statements(text),
            vec!["INSERT INTO t VALUES ('a\r\nb\tc')", "SELECT 'x'"]
        );
    }

    #[test]
    fn csv_quotes_per_rfc_4180_and_null_is_empty() {
        let rows = vec![
            vec![Value::Int(1), Value::Text("a,b".into())],
            vec![Value::Null, Value::Text("say \"hi\"".into())],
            vec![Value::Int(3), Value::Text(String::new())],
        ];
        let (out, note) = format_result(Format::Csv, Some(&[col("id"), col("name")]), &rows, -1);
        assert_eq!(out, "id,name\n1,\"a,b\"\n,\"say \"\"hi\"\"\"\n3,\"\"\n");
        assert!(note.is_none());
        let (out, note) = format_result(Format::Csv, None, &[], 3);
        assert_eq!(
            (out.as_str(), note.as_deref()),
            ("", Some("3 rows affected"))
        );
    }

    #[test]
    fn json_and_table() {
        let rows = vec![vec![
            Value::Int(1),
            Value::Null,
            Value::Decimal("1.50".into()),
        ]];
        let cols = [col("a"), col("b"), col("c")];
        let (out, _) = format_result(Format::Json, Some(&cols), &rows, -1);
        assert_eq!(out, "[{\"a\":1,\"b\":null,\"c\":\"1.50\"}]\n");
        let (out, _) = format_result(Format::Table, Some(&cols), &rows, -1);
        assert_eq!(
            out,
            "a | b    | c\n--+------+-----\n1 | NULL | 1.50\n(1 row)\n"
        );
    }
}
