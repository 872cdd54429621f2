//! odbcsh's describing commands (`\dt`, `\dv`, `\d NAME`, `\df`, `\dT`): catalog result sets
//! turned into small tables, the way psql shows them, for any driver; and the admin list of
//! sessions (`\sessions`).

use crate::client::{ColumnDesc, Connection, Cursor, Error, ErrorClass, Value};

/// A small result to print: its column names and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    /// A title printed above it (empty for none).
    pub title: String,
    /// The columns.
    pub columns: Vec<ColumnDesc>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
}

impl Listing {
    /// A listing of text columns named `names`.
    pub fn new(title: &str, names: &[&str], rows: Vec<Vec<Value>>) -> Self {
        Self {
            title: title.to_owned(),
            columns: names.iter().map(|n| text_column(n)).collect(),
            rows,
        }
    }
}

fn text_column(name: &str) -> ColumnDesc {
    ColumnDesc {
        name: name.to_owned(),
        type_code: 12,
        display_size: None,
        internal_size: None,
        precision: None,
        scale: None,
        null_ok: Some(true),
    }
}

/// psql's patterns in ODBC's: `*` is `%`, `?` is `_`; `None` (no pattern) matches all.
pub fn odbc_pattern(pattern: Option<&str>) -> String {
    match pattern {
        None | Some("") => "%".to_owned(),
        Some(p) => p.replace('*', "%").replace('?', "_"),
    }
}

/// Splits `schema.name` (a name without a dot has no schema).
pub fn split_name(name: &str) -> (Option<&str>, &str) {
    match name.split_once('.') {
        Some((schema, table)) => (Some(schema), table),
        None => (None, name),
    }
}

/// A psql pattern's schema part (as an ODBC pattern) and name part.
fn pattern_parts(pattern: Option<&str>) -> (Option<String>, Option<&str>) {
    match pattern {
        Some(p) => {
            let (s, n) = split_name(p);
            (s.map(|s| odbc_pattern(Some(s))), Some(n))
        }
        None => (None, None),
    }
}

/// Column `i` of `row`, or NULL when the driver returned fewer columns.
fn col(row: &[Value], i: usize) -> Value {
    row.get(i).cloned().unwrap_or(Value::Null)
}

fn text(v: &Value) -> String {
    v.to_string()
}

fn all(cursor: &mut Cursor) -> Result<Vec<Vec<Value>>, Error> {
    Ok(cursor.fetchall()?.into_iter().map(Vec::from).collect())
}

/// An index while its columns are gathered: name, unique, (position, column) pairs.
type Index = (String, bool, Vec<(i64, String)>);

/// `\dt` / `\dv`: tables (or views) matching `pattern` (`schema.name` patterns too).
///
/// # Errors
/// The driver's error.
pub fn list_tables(
    conn: &Connection,
    pattern: Option<&str>,
    table_type: &str,
) -> Result<Listing, Error> {
    let (schema, name) = pattern_parts(pattern);
    let mut c = conn.cursor();
    c.tables(
        None,
        schema.as_deref(),
        Some(&odbc_pattern(name)),
        Some(table_type),
    )?;
    let rows = all(&mut c)?
        .into_iter()
        .map(|r| vec![col(&r, 1), col(&r, 2), col(&r, 3)])
        .collect();
    Ok(Listing::new("", &["Schema", "Name", "Type"], rows))
}

/// `\d NAME`: a table's columns, primary key, foreign keys (both ways) and indexes.
///
/// # Errors
/// The driver's error; `ProgrammingError` when no table of that name exists.
pub fn describe_table(conn: &Connection, name: &str) -> Result<Vec<Listing>, Error> {
    let (schema, table) = split_name(name);
    let mut c = conn.cursor();
    c.columns(None, schema, Some(table), None)?;
    let columns: Vec<Vec<Value>> = all(&mut c)?
        .into_iter()
        .map(|r| {
            let nullable = match col(&r, 10) {
                Value::Int(0) => Value::Text("NO".into()),
                Value::Int(1) => Value::Text("YES".into()),
                _ => col(&r, 17),
            };
            vec![col(&r, 3), col(&r, 5), col(&r, 6), nullable, col(&r, 12)]
        })
        .collect();
    if columns.is_empty() {
        return Err(Error::with_state(
            ErrorClass::ProgrammingError,
            "42S02",
            format!("did not find a table or view named {name:?}"),
        ));
    }
    let mut out = vec![Listing::new(
        &format!("Table {name}"),
        &["Column", "Type", "Size", "Nullable", "Default"],
        columns,
    )];

    c.primarykeys(None, schema, Some(table))?;
    let mut key = all(&mut c)?;
    key.sort_by_key(|r| match col(r, 4) {
        Value::Int(n) => n,
        _ => 0,
    });
    if !key.is_empty() {
        let columns: Vec<String> = key.iter().map(|r| text(&col(r, 3))).collect();
        out.push(Listing::new(
            "Primary key",
            &["Name", "Columns"],
            vec![vec![col(&key[0], 5), Value::Text(columns.join(", "))]],
        ));
    }

    // Foreign keys of this table, then those referring to it.
    for (title, fk_side) in [("Foreign keys", true), ("Referenced by", false)] {
        if fk_side {
            c.foreignkeys(None, None, None, None, schema, Some(table))?;
        } else {
            c.foreignkeys(None, schema, Some(table), None, None, None)?;
        }
        let rows: Vec<Vec<Value>> = all(&mut c)?
            .into_iter()
            .map(|r| {
                let from = format!("{}({})", text(&col(&r, 6)), text(&col(&r, 7)));
                let to = format!("{}({})", text(&col(&r, 2)), text(&col(&r, 3)));
                vec![col(&r, 11), Value::Text(from), Value::Text(to)]
            })
            .collect();
        if !rows.is_empty() {
            out.push(Listing::new(title, &["Name", "From", "To"], rows));
        }
    }

    c.statistics(None, schema, Some(table), false, false)?;
    let mut indexes: Vec<Index> = Vec::new();
    for r in all(&mut c)? {
        let Value::Text(index) = col(&r, 5) else {
            // The table's own statistics row has no index name.
            continue;
        };
        let unique = matches!(col(&r, 3), Value::Int(0) | Value::Bool(false));
        let position = match col(&r, 7) {
            Value::Int(n) => n,
            _ => 0,
        };
        let column = text(&col(&r, 8));
        match indexes.iter_mut().find(|(n, _, _)| *n == index) {
            Some((_, _, cols)) => cols.push((position, column)),
            None => indexes.push((index, unique, vec![(position, column)])),
        }
    }
    if !indexes.is_empty() {
        let rows = indexes
            .into_iter()
            .map(|(name, unique, mut cols)| {
                cols.sort();
                let cols: Vec<String> = cols.into_iter().map(|(_, c)| c).collect();
                vec![
                    Value::Text(name),
                    Value::Text(if unique { "yes" } else { "no" }.into()),
                    Value::Text(cols.join(", ")),
                ]
            })
            .collect();
        out.push(Listing::new(
            "Indexes",
            &["Name", "Unique", "Columns"],
            rows,
        ));
    }
    Ok(out)
}

/// `\df`: procedures and functions matching `pattern`.
///
/// # Errors
/// The driver's error.
pub fn list_procedures(conn: &Connection, pattern: Option<&str>) -> Result<Listing, Error> {
    let (schema, name) = pattern_parts(pattern);
    let mut c = conn.cursor();
    c.procedures(None, schema.as_deref(), Some(&odbc_pattern(name)))?;
    let rows = all(&mut c)?
        .into_iter()
        .map(|r| {
            let kind = match col(&r, 7) {
                Value::Int(1) => "procedure",
                Value::Int(2) => "function",
                _ => "unknown",
            };
            vec![col(&r, 1), col(&r, 2), Value::Text(kind.into())]
        })
        .collect();
    Ok(Listing::new("", &["Schema", "Name", "Type"], rows))
}

/// `\dT`: the data types the data source supports.
///
/// # Errors
/// The driver's error.
pub fn list_types(conn: &Connection) -> Result<Listing, Error> {
    let mut c = conn.cursor();
    c.gettypeinfo(0)?;
    let rows = all(&mut c)?
        .into_iter()
        .map(|r| vec![col(&r, 0), col(&r, 1), col(&r, 2)])
        .collect();
    Ok(Listing::new("", &["Name", "SQL type", "Size"], rows))
}

/// `\sessions`: the admin list of sessions as a table (one row per running request; a
/// session without one has a row with empty request columns), titled with the server's total.
pub fn sessions_listing(
    total: u32,
    paused: bool,
    sessions: &[crate::client::SessionDetail],
    now_unix_ms: u64,
) -> Listing {
    let seconds = |ms: u64| Value::Text(format!("{:.1}", ms as f64 / 1000.0));
    // What clients chose (their names) must not drive the admin's terminal.
    let shown = |s: &str| {
        Value::Text(
            s.chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect(),
        )
    };
    let mut rows = Vec::new();
    for s in sessions {
        let head = |r: &mut Vec<Value>| {
            r.extend([
                Value::Text(format!("{}{}", s.id_prefix, if s.own { " *" } else { "" })),
                shown(&s.user),
                shown(&s.peer),
                shown(&s.client_name),
                seconds(now_unix_ms.saturating_sub(s.opened_unix_ms)),
                seconds(s.idle_ms),
                Value::Int(i64::from(s.connections)),
                Value::Text(if s.attached { "attached" } else { "detached" }.to_owned()),
            ]);
        };
        if s.running.is_empty() {
            let mut r = Vec::new();
            head(&mut r);
            r.extend([Value::Null, Value::Null, Value::Null]);
            rows.push(r);
        }
        for q in &s.running {
            let mut r = Vec::new();
            head(&mut r);
            r.extend([
                Value::Text(q.kind.clone()),
                seconds(q.running_ms),
                q.sql.as_deref().map_or(Value::Null, shown),
            ]);
            rows.push(r);
        }
    }
    Listing::new(
        &format!(
            "{total} open session(s) on the server{}; * is this one",
            if paused { ", new sessions PAUSED" } else { "" }
        ),
        &[
            "id",
            "user",
            "peer",
            "client",
            "open_s",
            "idle_s",
            "connections",
            "link",
            "running",
            "running_s",
            "sql",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psql_patterns_become_odbc_patterns() {
        assert_eq!(odbc_pattern(None), "%");
        assert_eq!(odbc_pattern(Some("fr*")), "fr%");
        assert_eq!(odbc_pattern(Some("f?uit")), "f_uit");
        assert_eq!(split_name("public.fruit"), (Some("public"), "fruit"));
        assert_eq!(split_name("fruit"), (None, "fruit"));
    }
}
