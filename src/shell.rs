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
    /// One JSON array of objects per result set, on one line.
    Json,
}

/// Splits SQL text into statements at `;` outside quotes and comments, across lines.
#[derive(Debug, Default)]
pub struct StatementSplitter {
    buf: String,
    state: State,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Normal,
    Single,
    Double,
    LineComment,
    BlockComment,
}

impl StatementSplitter {
    /// True when nothing but white space is pending.
    pub fn is_empty(&self) -> bool {
        self.buf.trim().is_empty()
    }

    /// Adds a line; returns the statements it completed (without their `;`).
    pub fn push_line(&mut self, line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match self.state {
                State::Normal => match c {
                    '\'' => self.state = State::Single,
                    '"' => self.state = State::Double,
                    '-' if next == Some('-') => self.state = State::LineComment,
                    '/' if next == Some('*') => {
                        self.state = State::BlockComment;
                        self.buf.push(c);
                        i += 1;
                        self.buf.push('*');
                        i += 1;
                        continue;
                    }
                    ';' => {
                        let stmt = std::mem::take(&mut self.buf);
                        if !stmt.trim().is_empty() {
                            out.push(stmt.trim().to_owned());
                        }
                        i += 1;
                        continue;
                    }
                    _ => {}
                },
                State::Single if c == '\'' => self.state = State::Normal,
                State::Double if c == '"' => self.state = State::Normal,
                State::BlockComment if c == '*' && next == Some('/') => {
                    self.state = State::Normal;
                    self.buf.push_str("*/");
                    i += 2;
                    continue;
                }
                _ => {}
            }
            self.buf.push(c);
            i += 1;
        }
        if self.state == State::LineComment {
            self.state = State::Normal;
        }
        self.buf.push('\n');
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

/// Splits a whole text (e.g. an `-e` argument) into statements.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut s = StatementSplitter::default();
    let mut out = Vec::new();
    for line in text.lines() {
        out.extend(s.push_line(line));
    }
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
        })
    }

    /// Writes (or, for the table's first window, holds) more rows.
    ///
    /// # Errors
    /// Writing fails.
    pub fn rows(&mut self, rows: &[Vec<Value>]) -> std::io::Result<()> {
        for r in rows {
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
                    let object = serde_json::Value::Object(
                        self.columns
                            .iter()
                            .zip(r)
                            .map(|(c, v)| (c.name.clone(), json_value(v)))
                            .collect(),
                    );
                    write!(self.out, "{object}")?;
                }
                Format::Table => {
                    let cells: Vec<String> = r.iter().map(table_cell).collect();
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

fn table_cell(v: &Value) -> String {
    if v.is_null() {
        "NULL".to_owned()
    } else {
        v.to_string()
    }
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
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
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
