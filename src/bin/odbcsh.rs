//! `odbcsh`: a shell for odbcd servers.
//!
//! Exit status: 0 on success, 1 after an SQL error, 2 when the configuration or the session
//! (including the database connection named by `--connect`) fails.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use odbcd::client::{AdminCommand, ConfigData, Connection, Error, ErrorClass, Odbc, ServerSession};
use odbcd::describe::{self, Listing};
use odbcd::shell::{format_result, split_statements, Format, ResultWriter, StatementSplitter};

/// Rows fetched per round trip while streaming a result to stdout.
const FETCH_BATCH: usize = 1000;

/// Writing the result failed (stdout closed, disk full): reported like any other error.
fn output_error(e: &std::io::Error) -> odbcd::client::Error {
    odbcd::error::DbError::new(
        odbcd::error::ErrorClass::InterfaceError,
        format!("cannot write the result: {e}"),
    )
}

/// `println!` that ignores a closed stdout (e.g. `odbcsh ... | head`) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that ignores a closed stderr.
macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "odbcsh",
    version,
    about = "Shell for odbcd: run SQL on the server's ODBC data sources"
)]
struct Cli {
    /// Client configuration file (client-config.ini).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Server host (overrides the configuration's servers).
    #[arg(long)]
    host: Option<String>,
    /// Server port (with --host, or alone for 127.0.0.1).
    #[arg(long)]
    port: Option<u16>,
    /// User name for the server's authentication.
    #[arg(long, default_value = "")]
    user: String,
    /// Password for the server's authentication.
    #[arg(long, default_value = "")]
    password: String,
    /// ODBC connection string of the data source on the server, e.g. "DSN=demo". Without it
    /// only the server's commands work (\\sessions, \\status, ...): no SQL.
    #[arg(long)]
    connect: Option<String>,
    /// Run this statement (repeatable) and exit.
    #[arg(short = 'e', long = "execute")]
    execute: Vec<String>,
    /// Output format for result sets.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// How the table format shows SQL NULL (psql's `\pset null`), so a NULL and the text
    /// 'NULL' can be told apart.
    #[arg(long, default_value = "NULL")]
    null: String,
    /// Go on after a failed statement (the exit status is still 1).
    #[arg(long)]
    continue_on_error: bool,
    /// Print the manual page (roff) and exit; for packaging.
    #[arg(long, hide = true, exclusive = true)]
    man_page: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Table,
    Csv,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.man_page {
        use clap::CommandFactory;
        let mut out = std::io::stdout().lock();
        return match clap_mangen::Man::new(Cli::command()).render(&mut out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&output_error(&e), 2),
        };
    }
    let format = match cli.format {
        FormatArg::Table => Format::Table,
        FormatArg::Csv => Format::Csv,
        FormatArg::Json => Format::Json,
    };
    let data = (cli.host.is_some() || cli.port.is_some()).then(|| {
        ConfigData::new().only_server("CommandLineConnection", cli.host.as_deref(), cli.port)
    });
    let mut session = match ServerSession::new(cli.config.as_deref(), data.as_ref()) {
        Ok(s) => s,
        Err(e) => return fail(&e, 2),
    };
    if let Some(log_file) = session.config().logging.log_file.clone() {
        let _ = odbcd::logging::init(
            session.config().logging.log_level,
            Some(&log_file),
            odbcd::logging::Echo::FileOnly,
        );
    }
    let odbc = match session.open(&cli.user, &cli.password, None, None) {
        Ok(o) => o,
        Err(e) => return fail(&e, 2),
    };
    let connection = match cli.connect.as_deref().map(|c| odbc.driver_connect(c)) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => return fail(&e, 2),
    };
    let mut shell = Shell {
        session: &mut session,
        odbc,
        connection,
        format,
        null: cli.null.clone(),
        timing: false,
        continue_on_error: cli.continue_on_error,
        failed: false,
    };
    let status = if !cli.execute.is_empty() {
        shell.run_all(cli.execute.iter().map(String::as_str))
    } else if std::io::stdin().is_terminal() {
        shell.interactive()
    } else {
        shell.piped()
    };
    let _ = session.close();
    status
}

fn fail(e: &Error, code: u8) -> ExitCode {
    print_error(e);
    ExitCode::from(code)
}

fn print_error(e: &Error) {
    errln!("ERROR {} [{}]: {}", e.class, e.sqlstate, e.message);
}

/// Errors that mean the session itself is gone (exit status 2).
fn is_session_failure(e: &Error) -> bool {
    e.is(ErrorClass::ODBCConnectError)
}

struct Shell<'a> {
    session: &'a mut ServerSession,
    odbc: Odbc,
    /// The database connection (`--connect`), if any.
    connection: Option<Connection>,
    format: Format,
    null: String,
    timing: bool,
    continue_on_error: bool,
    failed: bool,
}

enum Step {
    Continue,
    Stop(ExitCode),
}

impl Shell<'_> {
    fn status(&self) -> ExitCode {
        ExitCode::from(u8::from(self.failed))
    }

    /// The database connection, or the error that there is none.
    fn connection(&self) -> Result<&Connection, Error> {
        self.connection.as_ref().ok_or_else(|| {
            Error::new(
                odbcd::error::ErrorClass::InterfaceError,
                "no database connection: start odbcsh with --connect \"DSN=...\"",
            )
        })
    }

    /// The database's name, or a dash without a connection.
    fn dbms_name(&self) -> String {
        self.connection
            .as_ref()
            .map_or_else(|| "-".to_owned(), |c| c.dbms_name().to_owned())
    }

    /// Prints what an admin order did, or its error.
    fn admin_order(&mut self, command: AdminCommand) -> Step {
        match self.odbc.admin_order(command) {
            Ok(said) => {
                outln!("{}", said.trim_end());
                Step::Continue
            }
            Err(e) => self.print_listings(Err(e)),
        }
    }

    fn run_all<'s>(&mut self, statements: impl Iterator<Item = &'s str>) -> ExitCode {
        for sql in statements {
            for stmt in split_statements(sql) {
                if let Step::Stop(code) = self.run(&stmt) {
                    return code;
                }
            }
        }
        self.status()
    }

    /// Runs one statement or backslash command.
    fn run(&mut self, input: &str) -> Step {
        let input = input.trim();
        if input.is_empty() {
            return Step::Continue;
        }
        if input.starts_with('\\') {
            return self.command(input);
        }
        let started = Instant::now();
        let mut cursor = match self.connection() {
            Ok(c) => c.cursor(),
            Err(e) => {
                print_error(&e);
                self.failed = true;
                return Step::Stop(ExitCode::from(1));
            }
        };
        // Rows go to stdout as they arrive (the table holds a bounded window to size its
        // columns): memory stays flat whatever the result's size.
        let result = cursor.execute(input, &[]).and_then(|c| {
            let Some(desc) = c.description().map(<[_]>::to_vec) else {
                return Ok((None, c.rowcount()));
            };
            let stdout = std::io::stdout();
            let mut writer = ResultWriter::new(self.format, &desc, stdout.lock())
                .map_err(|e| output_error(&e))?
                .with_null(&self.null);
            loop {
                let rows = c.fetchmany(Some(FETCH_BATCH))?;
                if rows.is_empty() {
                    break;
                }
                writer.rows(&rows).map_err(|e| output_error(&e))?;
            }
            writer.finish().map_err(|e| output_error(&e))?;
            Ok((Some(desc), c.rowcount()))
        });
        for w in cursor.messages() {
            errln!("WARNING [{}]: {}", w.sqlstate, w.message);
        }
        match result {
            Ok((desc, rowcount)) => {
                if desc.is_none() {
                    let mut out = std::io::stdout().lock();
                    let (text, note) = format_result(self.format, None, &[], rowcount);
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                    if let Some(note) = note {
                        errln!("{note}");
                    }
                }
                if self.timing {
                    errln!("Time: {:.3} ms", started.elapsed().as_secs_f64() * 1000.0);
                }
                Step::Continue
            }
            Err(e) => {
                print_error(&e);
                self.failed = true;
                if is_session_failure(&e) {
                    Step::Stop(ExitCode::from(2))
                } else if self.continue_on_error {
                    Step::Continue
                } else {
                    Step::Stop(ExitCode::from(1))
                }
            }
        }
    }

    /// Prints listings (each under its title), or the error.
    fn print_listings(&mut self, listings: Result<Vec<Listing>, Error>) -> Step {
        match listings {
            Ok(listings) => {
                for l in listings {
                    if !l.title.is_empty() && self.format == Format::Table {
                        outln!("{}", l.title);
                    }
                    let stdout = std::io::stdout();
                    let written = ResultWriter::new(self.format, &l.columns, stdout.lock())
                        .map(|w| w.with_null(&self.null))
                        .and_then(|mut w| {
                            w.rows(&l.rows)?;
                            w.finish()
                        });
                    if let Err(e) = written {
                        print_error(&output_error(&e));
                        return Step::Continue;
                    }
                }
                Step::Continue
            }
            Err(e) => {
                print_error(&e);
                self.failed = true;
                if is_session_failure(&e) {
                    Step::Stop(ExitCode::from(2))
                } else {
                    Step::Continue
                }
            }
        }
    }

    fn command(&mut self, input: &str) -> Step {
        let mut words = input.split_whitespace();
        match words.next().unwrap_or_default() {
            "\\dt" => {
                let l = self
                    .connection()
                    .and_then(|c| describe::list_tables(c, words.next(), "TABLE"));
                self.print_listings(l.map(|l| vec![l]))
            }
            "\\dv" => {
                let l = self
                    .connection()
                    .and_then(|c| describe::list_tables(c, words.next(), "VIEW"));
                self.print_listings(l.map(|l| vec![l]))
            }
            "\\d" => match words.next() {
                Some(name) => {
                    let l = self
                        .connection()
                        .and_then(|c| describe::describe_table(c, name));
                    self.print_listings(l)
                }
                None => {
                    let l = self
                        .connection()
                        .and_then(|c| describe::list_tables(c, None, "TABLE,VIEW"));
                    self.print_listings(l.map(|l| vec![l]))
                }
            },
            "\\df" => {
                let l = self
                    .connection()
                    .and_then(|c| describe::list_procedures(c, words.next()));
                self.print_listings(l.map(|l| vec![l]))
            }
            "\\dT" => {
                let l = self.connection().and_then(describe::list_types);
                self.print_listings(l.map(|l| vec![l]))
            }
            "\\getinfo" => {
                let names: Vec<&str> = match words.next() {
                    Some(name) => vec![name],
                    None => odbcd::client::INFO_TYPES.iter().map(|i| i.name).collect(),
                };
                let single = names.len() == 1;
                for name in names {
                    match self.connection().and_then(|c| c.getinfo(name)) {
                        Ok(v) => {
                            let full =
                                odbcd::client::info_type_by_name(name).map_or(name, |i| i.name);
                            outln!("{full}: {v}");
                        }
                        Err(e) if single => {
                            print_error(&e);
                            self.failed = true;
                        }
                        // Listing all: the ones the driver lacks are left out.
                        Err(_) => {}
                    }
                }
                Step::Continue
            }
            "\\q" | "\\quit" => Step::Stop(self.status()),
            "\\timing" => {
                self.timing = match words.next() {
                    Some("on") => true,
                    Some("off") => false,
                    _ => !self.timing,
                };
                outln!("Timing is {}.", if self.timing { "on" } else { "off" });
                Step::Continue
            }
            "\\dsn" => {
                match self.odbc.data_sources() {
                    Ok(list) => {
                        for d in list {
                            outln!("{}\t{}", d.name, d.driver);
                        }
                    }
                    Err(e) => print_error(&e),
                }
                Step::Continue
            }
            "\\drivers" => {
                match self.odbc.drivers() {
                    Ok(list) => {
                        for d in list {
                            outln!("{}", d.name);
                        }
                    }
                    Err(e) => print_error(&e),
                }
                Step::Continue
            }
            "\\status" => {
                outln!(
                    "server: [{}] version {}; database: {}; session open: {}",
                    self.session.server_name().unwrap_or_else(|| "-".into()),
                    self.session.server_version(),
                    self.dbms_name(),
                    !self.session.closed()
                );
                match self.odbc.status() {
                    Ok(s) => {
                        let licence = s
                            .max_connections
                            .map_or_else(String::new, |m| format!(" of {m}"));
                        outln!(
                            "sessions: {} of {}; database connections: {}{licence}; running requests: {}",
                            s.sessions, s.max_sessions, s.connections, s.running_requests
                        );
                        if let Some(rss) = s.rss_kib {
                            outln!("server memory: {} MiB", rss / 1024);
                        }
                    }
                    Err(e) => print_error(&e),
                }
                Step::Continue
            }
            "\\sessions" => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let listing = self.odbc.sessions().map(|(total, paused, sessions)| {
                    vec![describe::sessions_listing(total, paused, &sessions, now)]
                });
                self.print_listings(listing)
            }
            command @ ("\\kill" | "\\cancel") => {
                let Some(session) = words.next() else {
                    errln!("{command} needs a session id (as \\sessions shows it)");
                    self.failed = true;
                    return Step::Continue;
                };
                let session = session.to_owned();
                self.admin_order(if command == "\\kill" {
                    AdminCommand::Kill { session }
                } else {
                    AdminCommand::Cancel { session }
                })
            }
            "\\pause" => self.admin_order(AdminCommand::Pause),
            "\\resume" => self.admin_order(AdminCommand::Resume),
            "\\reload" => self.admin_order(AdminCommand::Reload),
            "\\config" => self.admin_order(AdminCommand::Config),
            "\\?" | "\\help" => {
                outln!("SQL statements end with ';'.\n\\dt [PATTERN]   tables (psql patterns: * and ?; schema.name)\n\\dv [PATTERN]   views\n\\d NAME        a table's columns, keys and indexes\n\\df [PATTERN]   procedures and functions\n\\dT            data types\n\\getinfo [NAME] SQLGetInfo (all when no name)\n\\dsn           data sources on the server\n\\drivers       ODBC drivers on the server\n\\status        server and session\n\\sessions      sessions you may see (admins: all) and what they run\n\\kill ID       end a session (its transactions roll back)\n\\cancel ID     cancel a session's running requests\n\\pause, \\resume   stop / start admitting new sessions (admins)\n\\reload        re-read the server's configuration (admins)\n\\config        the server's configuration in force (admins)\n\\timing        toggle timing of statements\n\\q             quit");
                Step::Continue
            }
            other => {
                errln!("unknown command {other}; try \\?");
                Step::Continue
            }
        }
    }

    /// Reads `;`-terminated statements from a pipe and runs each as soon as it is complete.
    fn piped(&mut self) -> ExitCode {
        let mut splitter = StatementSplitter::default();
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut line = String::new();
        loop {
            // Lines with their own line ends: a CR inside a literal reaches the database.
            line.clear();
            match input.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if splitter.is_empty() && line.trim_start().starts_with('\\') {
                if let Step::Stop(code) = self.run(line.trim_end()) {
                    return code;
                }
                continue;
            }
            for stmt in splitter.push(&line) {
                if let Step::Stop(code) = self.run(&stmt) {
                    return code;
                }
            }
        }
        if let Some(rest) = splitter.finish() {
            if let Step::Stop(code) = self.run(&rest) {
                return code;
            }
        }
        self.status()
    }

    fn interactive(&mut self) -> ExitCode {
        let mut editor = match rustyline::DefaultEditor::new() {
            Ok(e) => e,
            Err(e) => {
                errln!("odbcsh: cannot start line editing: {e}");
                return self.piped();
            }
        };
        let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".odbcsh_history"));
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        outln!(
            "odbcsh {} connected to [{}] (server {}, {}). Type \\? for help.",
            odbcd::VERSION,
            self.session.server_name().unwrap_or_else(|| "-".into()),
            self.session.server_version(),
            self.dbms_name()
        );
        let mut splitter = StatementSplitter::default();
        loop {
            let prompt = if splitter.is_empty() {
                "odbcsh> "
            } else {
                "   ...> "
            };
            let line = match editor.readline(prompt) {
                Ok(l) => l,
                Err(rustyline::error::ReadlineError::Interrupted) => {
                    splitter = StatementSplitter::default();
                    continue;
                }
                Err(_) => break,
            };
            let _ = editor.add_history_entry(line.as_str());
            if splitter.is_empty() && line.trim_start().starts_with('\\') {
                if let Step::Stop(code) = self.run(&line) {
                    if let Some(h) = &history {
                        let _ = editor.save_history(h);
                    }
                    return code;
                }
                continue;
            }
            for stmt in splitter.push_line(&line) {
                // Interactive sessions go on after errors.
                if let Step::Stop(code) = self.run(&stmt) {
                    if code == ExitCode::from(2) {
                        return code;
                    }
                }
            }
        }
        if let Some(h) = &history {
            let _ = editor.save_history(h);
        }
        self.status()
    }
}
