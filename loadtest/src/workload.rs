//! What each request does: the built-in workloads and `--sql FILE` statements with parameter
//! generators.

use odbcd::client::Value;

/// The table `lookup` and `bulk` read (created and filled by `--prepare-rows N`).
pub const TABLE: &str = "odbcd_loadtest";
/// The table `insert` writes.
pub const INSERT_TABLE: &str = "odbcd_loadtest_insert";

/// One step of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Execute a statement and fetch every row it returns.
    Execute {
        /// SQL with `?` placeholders.
        sql: String,
        /// The parameters.
        params: Vec<Value>,
    },
    /// Commit the transaction.
    Commit,
    /// Close the database connection and connect again.
    Reconnect,
    /// A server round trip that does not reach the database (remote only).
    Ping,
}

/// A built-in workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// `SELECT 1`.
    Select1,
    /// A random primary-key point query on the prepared table.
    Lookup,
    /// Fetch the whole prepared table.
    Bulk,
    /// Insert one row (autocommit, or transactions of `--batch K`).
    Insert,
    /// 80 % lookups, 20 % inserts.
    Mixed,
    /// Connect, `SELECT 1`, close: the cost of a connection (and of `[Pool]` reuse).
    Connect,
    /// A ping: the server's own round trip, without the database (remote only). Subtract it
    /// from `select1` to see what the database hop costs.
    Ping,
    /// This machine's floor: two processes exchanging a `select1`'s request and answer frames
    /// (their exact sizes) over TCP on loopback, blocking, no server and no database. Ignores
    /// `--connect`.
    Pingpong,
}

impl Kind {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Select1 => "select1",
            Self::Lookup => "lookup",
            Self::Bulk => "bulk",
            Self::Insert => "insert",
            Self::Mixed => "mixed",
            Self::Connect => "connect",
            Self::Ping => "ping",
            Self::Pingpong => "pingpong",
        }
    }
}

/// A parameter generator in a `--sql` statement.
#[derive(Debug, Clone, PartialEq)]
enum Gen {
    /// `{int:A:B}`: uniform in A..=B.
    Int(i64, i64),
    /// `{text:N}`: N random letters.
    Text(usize),
    /// `{seq}`: 1, 2, 3, … per session.
    Seq,
    /// `{session}`: the session's number.
    Session,
}

/// A `--sql` statement: SQL with `?` in place of the generators.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    sql: String,
    gens: Vec<Gen>,
}

/// Parses a `--sql` file: one statement per line (a trailing `;` is dropped), `#` or `--`
/// comment lines and blank lines ignored. Placeholders: `{int:A:B}`, `{text:N}`, `{seq}`,
/// `{session}`.
///
/// # Errors
/// An unknown or malformed placeholder, or no statement at all.
pub fn parse_sql_file(text: &str) -> Result<Vec<Template>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("--") {
            continue;
        }
        let line = line.trim_end_matches(';');
        let mut sql = String::new();
        let mut gens = Vec::new();
        let mut rest = line;
        while let Some(open) = rest.find('{') {
            sql.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("line {}: '{{' without '}}'", i + 1))?;
            let spec = &rest[open + 1..open + close];
            let parts: Vec<&str> = spec.split(':').collect();
            let gen = match parts.as_slice() {
                ["int", a, b] => {
                    let (a, b) = (a.parse::<i64>(), b.parse::<i64>());
                    match (a, b) {
                        (Ok(a), Ok(b)) if a <= b => Gen::Int(a, b),
                        _ => return Err(format!("line {}: {{int:A:B}} needs integers A <= B", i + 1)),
                    }
                }
                ["text", n] => Gen::Text(n.parse().map_err(|_| format!("line {}: {{text:N}} needs a length", i + 1))?),
                ["seq"] => Gen::Seq,
                ["session"] => Gen::Session,
                _ => {
                    return Err(format!(
                        "line {}: unknown placeholder {{{spec}}}: use {{int:A:B}}, {{text:N}}, {{seq}} or {{session}}",
                        i + 1
                    ))
                }
            };
            sql.push('?');
            gens.push(gen);
            rest = &rest[open + close + 1..];
        }
        sql.push_str(rest);
        out.push(Template { sql, gens });
    }
    if out.is_empty() {
        return Err("the SQL file holds no statement".into());
    }
    Ok(out)
}

/// A small fast PRNG (xorshift64*), seeded per session.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for session `n`.
    pub fn new(n: usize) -> Self {
        Self(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d))
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `a..=b`.
    pub fn range(&mut self, a: i64, b: i64) -> i64 {
        let span = (b - a) as u64 + 1;
        a + (self.next() % span) as i64
    }
}

/// Produces the steps of each request of one session.
#[derive(Debug, Clone)]
pub struct Generator {
    kind: Option<Kind>,
    templates: Vec<Template>,
    session: usize,
    rows: u64,
    batch: u32,
    rng: Rng,
    n: u64,
}

impl Generator {
    /// For a built-in workload (`templates` empty) or `--sql` statements.
    pub fn new(
        kind: Option<Kind>,
        templates: Vec<Template>,
        session: usize,
        rows: u64,
        batch: u32,
    ) -> Self {
        Self {
            kind,
            templates,
            session,
            rows: rows.max(1),
            batch: batch.max(1),
            rng: Rng::new(session),
            n: 0,
        }
    }

    /// Whether the session runs with autocommit off (inserts in transactions of `--batch`).
    pub fn transactional(&self) -> bool {
        self.batch > 1 && matches!(self.kind, Some(Kind::Insert))
    }

    fn insert(&mut self) -> Step {
        Step::Execute {
            sql: format!("INSERT INTO {INSERT_TABLE} VALUES (?, ?, ?)"),
            params: vec![
                Value::Int(self.session as i64),
                Value::Int(self.n as i64),
                Value::Text(format!("payload-{:012}", self.n)),
            ],
        }
    }

    fn lookup(&mut self) -> Step {
        let id = self.rng.range(1, self.rows as i64);
        Step::Execute {
            sql: format!("SELECT id, name, amount, created FROM {TABLE} WHERE id = ?"),
            params: vec![Value::Int(id)],
        }
    }

    /// The steps of the next request.
    pub fn next_request(&mut self) -> Vec<Step> {
        self.n += 1;
        if !self.templates.is_empty() {
            let t = self.templates[(self.n as usize - 1) % self.templates.len()].clone();
            let params = t
                .gens
                .iter()
                .map(|g| match g {
                    Gen::Int(a, b) => Value::Int(self.rng.range(*a, *b)),
                    Gen::Text(n) => Value::Text(
                        (0..*n)
                            .map(|_| char::from(b'a' + (self.rng.next() % 26) as u8))
                            .collect(),
                    ),
                    Gen::Seq => Value::Int(self.n as i64),
                    Gen::Session => Value::Int(self.session as i64),
                })
                .collect();
            return vec![Step::Execute { sql: t.sql, params }];
        }
        match self.kind.unwrap_or(Kind::Select1) {
            Kind::Select1 => vec![Step::Execute {
                sql: "SELECT 1".into(),
                params: vec![],
            }],
            Kind::Lookup => vec![self.lookup()],
            Kind::Ping | Kind::Pingpong => vec![Step::Ping],
            Kind::Connect => vec![
                Step::Reconnect,
                Step::Execute {
                    sql: "SELECT 1".into(),
                    params: vec![],
                },
            ],
            Kind::Bulk => vec![Step::Execute {
                sql: format!("SELECT id, name, amount, created FROM {TABLE}"),
                params: vec![],
            }],
            Kind::Insert => {
                let mut steps = vec![self.insert()];
                if self.batch > 1 && self.n.is_multiple_of(u64::from(self.batch)) {
                    steps.push(Step::Commit);
                }
                steps
            }
            Kind::Mixed => {
                if self.rng.next().is_multiple_of(5) {
                    vec![self.insert()]
                } else {
                    vec![self.lookup()]
                }
            }
        }
    }
}

/// The statements that prepare the tables of a workload, and the rows to insert.
pub fn setup_sql(kind: Kind) -> (Vec<String>, bool) {
    match kind {
        Kind::Lookup | Kind::Bulk | Kind::Mixed => (
            vec![format!(
                "CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, name VARCHAR(40), amount NUMERIC(12,2), created TIMESTAMP)"
            )],
            true,
        ),
        Kind::Insert => (
            vec![format!("CREATE TABLE {INSERT_TABLE} (session INTEGER, n INTEGER, payload VARCHAR(40))")],
            false,
        ),
        Kind::Select1 | Kind::Connect | Kind::Ping | Kind::Pingpong => (Vec::new(), false),
    }
}

/// Statements that fill the prepared table on the database side, one per dialect
/// (PostgreSQL, SQLite), tried in order.
pub fn fill_sql(rows: u64) -> Vec<String> {
    vec![
        format!(
            "INSERT INTO {TABLE} SELECT g, 'customer-name-' || lpad(g::text, 12, '0'), g * 1.25, timestamp '2024-01-02 03:04:05' FROM generate_series(1, {rows}) g"
        ),
        // sqliteodbc never steps a statement that starts with WITH, so the CTE goes inside.
        format!(
            "INSERT INTO {TABLE} WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {rows}) SELECT x, printf('customer-name-%012d', x), x * 1.25, '2024-01-02 03:04:05' FROM g"
        ),
    ]
}

/// The rows of the prepared table, in batches.
pub fn fill_rows(rows: u64) -> impl Iterator<Item = Vec<Vec<Value>>> {
    (1..=rows)
        .collect::<Vec<_>>()
        .chunks(1000)
        .map(|ids| {
            ids.iter()
                .map(|&id| {
                    vec![
                        Value::Int(id as i64),
                        Value::Text(format!("customer-name-{id:012}")),
                        Value::Decimal(format!("{}.{:02}", id / 4, (id % 4) * 25)),
                        Value::Text("2024-01-02 03:04:05".into()),
                    ]
                })
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_files_with_generators() {
        let t = parse_sql_file("# c\nSELECT * FROM t WHERE id = {int:1:10} AND s = {session};\n\nINSERT INTO u VALUES ({seq}, {text:5})\n").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].sql, "SELECT * FROM t WHERE id = ? AND s = ?");
        let mut g = Generator::new(None, t, 3, 1, 1);
        let Step::Execute { params, .. } = &g.next_request()[0] else {
            panic!()
        };
        assert!(matches!(params[0], Value::Int(1..=10)));
        assert_eq!(params[1], Value::Int(3));
        let Step::Execute { params, .. } = &g.next_request()[0] else {
            panic!()
        };
        assert_eq!(params[0], Value::Int(2));
        assert!(matches!(&params[1], Value::Text(s) if s.len() == 5));
        assert!(parse_sql_file("SELECT {nope}").is_err());
        assert!(parse_sql_file("SELECT {int:5:1}").is_err());
        assert!(parse_sql_file("# only\n").is_err());
    }

    #[test]
    fn insert_batches_commit_every_k() {
        let mut g = Generator::new(Some(Kind::Insert), vec![], 0, 1, 3);
        assert!(g.transactional());
        let commits = (0..9)
            .filter(|_| g.next_request().contains(&Step::Commit))
            .count();
        assert_eq!(commits, 3);
    }
}
