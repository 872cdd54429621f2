//! `odbcd`: the networked ODBC server.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use odbcd::config::ServerConfig;
use odbcd::server::Server;

#[derive(Parser)]
#[command(
    name = "odbcd",
    version,
    about = "Networked ODBC server: lets clients reach this machine's ODBC data sources over TCP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the manual pages (odbcd.1, and odbcd-SUBCOMMAND.1 for each subcommand) into DIR;
    /// for packaging.
    #[command(hide = true)]
    Man {
        /// Where to write them.
        dir: PathBuf,
    },
    /// A database connection's worker process (`[Session] driver_isolation = process`):
    /// started by the server, never by hand.
    #[command(hide = true)]
    Worker {
        /// The descriptor of the pipe cancels come through.
        #[arg(long)]
        cancel_fd: i32,
    },
    /// Run the server in the foreground until SIGINT or SIGTERM.
    Run {
        /// Server configuration file (server-config.ini); built-in defaults without it.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Once every listener is bound, write "SECTION ADDRESS" lines here (atomically), so
        /// that a program learns the ports (port = 0 binds a free one) and that odbcd accepts.
        #[arg(long)]
        ready_file: Option<PathBuf>,
    },
    /// Tell the running server to reload its configuration: sends SIGHUP to the process in the
    /// configuration's `[Unix] pid_file`. The server re-reads the file; if it is invalid, the
    /// server keeps its running configuration and logs why.
    Reload {
        /// The server's configuration file (it names the PID file).
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Check a configuration file and print the effective settings; with --options, list every
    /// option with its section, default and meaning.
    CheckConfig {
        /// Server configuration file.
        #[arg(short, long, required_unless_present = "options")]
        config: Option<PathBuf>,
        /// List every option of the server's configuration file (as commented INI lines).
        #[arg(long)]
        options: bool,
    },
    /// Manage the password file ([Authentication] auth_mode = file): add, update, delete and list
    /// users; without an action, an interactive mode.
    Passwd(PasswdArgs),
    /// Print the SHA1 digest (as client_certificate_digest takes it) and the SHA-256 digest of
    /// every certificate in PEM files.
    Digest {
        /// PEM certificate files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
struct PasswdArgs {
    /// Password file (default: the server config's password_file, else authorized-users.txt).
    #[arg(short = 'f', long)]
    file: Option<PathBuf>,
    /// Server configuration to take password_file and login_salt from.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Add user.
    #[arg(long, value_name = "USER")]
    add: Option<String>,
    /// Update user (set a new password).
    #[arg(long, value_name = "USER")]
    update: Option<String>,
    /// Delete user.
    #[arg(long, value_name = "USER")]
    delete: Option<String>,
    /// List all entries.
    #[arg(long)]
    list: bool,
    /// The password. Visible to every user of the machine in the process list while the tool
    /// runs: prefer --password-stdin, or the prompt (a terminal, without echo).
    #[arg(short = 'p', long, conflicts_with = "password_stdin")]
    password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Generate verbose output.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Show examples of usage.
    #[arg(long)]
    examples: bool,
    /// Write the manual's MD5 form instead of the slow key form.
    #[arg(long)]
    md5: bool,
    /// login_salt of the server (overrides the config's).
    #[arg(long)]
    login_salt: Option<String>,
}

fn main() -> ExitCode {
    odbcd::server::db::sqlite_guard::keep();
    odbcd::server::db::sqlite_values::keep();
    match Cli::parse().command {
        Command::Reload { config } => signal_reload(&config),
        Command::Man { dir } => man_pages(&dir),
        Command::Worker { cancel_fd } => odbcd::server::db::worker::main(cancel_fd),
        Command::CheckConfig { config, options } => {
            if options {
                let table = odbcd::config::options::server_options();
                let _ = write!(
                    std::io::stdout(),
                    "{}",
                    odbcd::config::options::describe(&table)
                );
            }
            let Some(config) = config else {
                return ExitCode::SUCCESS;
            };
            match ServerConfig::load(&config) {
                Ok(c) => {
                    // The configuration in force, secrets masked.
                    let _ = write!(std::io::stdout(), "{}", c.effective());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("odbcd: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Run { config, ready_file } => run(config, ready_file),
        Command::Digest { files } => digest(&files),
        Command::Passwd(args) => passwd(args),
    }
}

/// `odbcd man DIR`: the manual pages, from the command-line definitions.
fn man_pages(dir: &std::path::Path) -> ExitCode {
    use clap::CommandFactory;
    let odbcd = Cli::command();
    let mut pages = vec![("odbcd".to_owned(), odbcd.clone())];
    for sub in odbcd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("odbcd-{}", sub.get_name());
        let bin = format!("odbcd {}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name).bin_name(bin)));
    }
    for (name, command) in pages {
        let path = dir.join(format!("{name}.1"));
        let written = std::fs::File::create(&path)
            .and_then(|mut f| clap_mangen::Man::new(command).render(&mut f));
        if let Err(e) = written {
            eprintln!("odbcd man: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn passwd(args: PasswdArgs) -> ExitCode {
    use std::io::{BufRead, IsTerminal};
    if args.examples {
        let _ = writeln!(std::io::stdout(), "{}", odbcd::passwd::EXAMPLES);
        return ExitCode::SUCCESS;
    }
    let config = match &args.config {
        Some(p) => match ServerConfig::load(p) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("odbcd: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let file = args
        .file
        .or_else(|| config.as_ref().map(|c| c.auth.password_file.clone()))
        .unwrap_or_else(|| PathBuf::from("authorized-users.txt"));
    let login_salt = args
        .login_salt
        .or_else(|| config.as_ref().and_then(|c| c.auth.login_salt.clone()));
    let writes = args.add.is_some() || args.update.is_some();
    // With --config the server's own (absent) login_salt is known to match; with -f alone the
    // tool cannot know what the server uses.
    if writes && login_salt.is_none() && !args.md5 && args.config.is_none() {
        eprintln!(
            "odbcd passwd: warning: no login salt (--login-salt, or --config with [Authentication] login_salt): the key is derived with the default salt, so the server must not set login_salt either"
        );
    }
    let mut password = args.password;
    if args.password_stdin {
        let mut line = String::new();
        if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
            eprintln!("odbcd passwd: cannot read the password from stdin: {e}");
            return ExitCode::from(2);
        }
        password = Some(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    let opts = odbcd::passwd::Options {
        file,
        login_salt,
        add: args.add,
        update: args.update,
        delete: args.delete,
        list: args.list,
        password,
        verbose: args.verbose,
        md5: args.md5,
    };
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut out = std::io::stdout();
    let mut secret = read_secret_from_terminal;
    let mut console = odbcd::passwd::Console {
        input: &mut input as &mut dyn BufRead,
        out: &mut out,
        read_secret: if terminal { Some(&mut secret) } else { None },
    };
    match odbcd::passwd::run(&opts, &mut console) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("odbcd passwd: {e}");
            ExitCode::from(1)
        }
    }
}

/// Reads a line from the terminal with echo off (`stty -echo`).
fn read_secret_from_terminal(prompt: &str) -> std::io::Result<String> {
    use std::io::BufRead;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let mut w = tty.try_clone()?;
    write!(w, "{prompt}")?;
    w.flush()?;
    let stty = |arg: &str| -> std::io::Result<()> {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(tty.try_clone()?)
            .status()
            .map(|_| ())
    };
    stty("-echo")?;
    let mut line = String::new();
    let r = std::io::BufReader::new(tty.try_clone()?).read_line(&mut line);
    stty("echo")?;
    writeln!(w)?;
    r?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

fn digest(files: &[PathBuf]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    for f in files {
        match odbcd::tls::load_certs(f, "certificate file") {
            Ok(certs) => {
                for c in certs {
                    let _ = writeln!(
                        out,
                        "{}: SHA1 {} SHA256 {}",
                        f.display(),
                        odbcd::tls::sha1_hex(&c),
                        odbcd::tls::sha256_hex(&c)
                    );
                }
            }
            Err(e) => {
                eprintln!("odbcd: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

fn run(config_path: Option<PathBuf>, ready_file: Option<PathBuf>) -> ExitCode {
    let config = match &config_path {
        Some(p) => match ServerConfig::load(p) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("odbcd: {e}");
                return ExitCode::from(2);
            }
        },
        None => ServerConfig::defaults(),
    };
    if let Err(e) = odbcd::logging::init(
        config.logging.log_level,
        config.logging.log_file.as_deref(),
        odbcd::logging::Echo::Stderr,
    ) {
        eprintln!("odbcd: {e}");
        return ExitCode::from(2);
    }
    ensure_utf8_locale();
    if let Some(dir) = config_path.as_deref().and_then(std::path::Path::parent) {
        use_odbc_ini_beside(dir);
    }
    let pid_file = config.pid_file.clone();
    let written_pid = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let wrote = std::sync::Arc::clone(&written_pid);
    let pid_path = pid_file.clone();
    let system = actix_rt::System::new();
    let result = system.block_on(async move {
        // Signals first: from here a SIGHUP or SIGTERM during start-up is handled (a reload
        // of what is being started is moot; a SIGTERM drains it), never the default action.
        let signals = Signals::register();
        let server = Server::bind(config)?;
        // Written once the sockets are ours: a second instance that cannot bind never
        // touches the running one's PID file.
        if let Some(p) = &pid_path {
            std::fs::write(p, format!("{}\n", std::process::id())).map_err(|e| {
                odbcd::server::ServerError::Io {
                    what: format!("writing the pid file {}", p.display()),
                    source: e,
                }
            })?;
            wrote.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        tracing::info!(target: "odbcd::lifecycle", version = odbcd::VERSION, "odbcd starting");
        if let Some(path) = &ready_file {
            // Each listening section's address, then the metrics endpoint's (`Metrics`).
            let mut bound = server.bound();
            bound.extend(server.metrics_addr().map(|a| ("Metrics".to_owned(), a)));
            write_ready_file(path, &bound)?;
        }
        let Signals { term, hangup } = signals;
        let server = server.reload_from(config_path, hangup);
        let term = std::rc::Rc::new(tokio::sync::Mutex::new(term));
        server
            .serve_until(first_signal(std::rc::Rc::clone(&term)), second_signal(term))
            .await;
        Ok::<(), odbcd::server::ServerError>(())
    });
    if let (Some(p), true) = (
        &pid_file,
        written_pid.load(std::sync::atomic::Ordering::SeqCst),
    ) {
        // Only our own: another instance may have written it since.
        let ours = std::fs::read_to_string(p)
            .is_ok_and(|text| text.trim() == std::process::id().to_string());
        if ours {
            let _ = std::fs::remove_file(p);
        }
    }
    let code = match result {
        Ok(()) => {
            tracing::info!(target: "odbcd::lifecycle", "odbcd stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("odbcd: {e}");
            ExitCode::from(1)
        }
    };
    // Not dropped: dropping the runtime waits for its blocking tasks without a bound (a
    // driver's SQLCancel that hangs would keep a stopped server alive). The process ends now.
    std::mem::forget(system);
    code
}

/// The signal streams, registered before the server binds.
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn register() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        let watch = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("cannot watch {name}: {e}");
                None
            }
        };
        Self {
            term: watch(SignalKind::terminate(), "SIGTERM"),
            hangup: watch(SignalKind::hangup(), "SIGHUP"),
        }
    }
}

/// `odbcd reload`: SIGHUP to the PID in the configuration's `pid_file`.
fn signal_reload(config: &std::path::Path) -> ExitCode {
    let config = match ServerConfig::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("odbcd: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(pid_file) = config.pid_file else {
        eprintln!("odbcd: the configuration names no [Unix] pid_file: cannot find the server");
        return ExitCode::from(2);
    };
    let pid = match std::fs::read_to_string(&pid_file) {
        Ok(text) => match text.trim().parse::<i32>() {
            Ok(pid) if pid > 1 => pid,
            _ => {
                eprintln!(
                    "odbcd: {}: {:?} is not a process id",
                    pid_file.display(),
                    text.trim()
                );
                return ExitCode::from(2);
            }
        },
        Err(e) => {
            eprintln!(
                "odbcd: cannot read {} ({e}): is the server running?",
                pid_file.display()
            );
            return ExitCode::from(2);
        }
    };
    // A stale PID file may name another program now: SIGHUP would end it.
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    match exe.as_deref() {
        Some(name) if name.starts_with("odbcd") => {}
        Some(name) => {
            eprintln!(
                "odbcd: {} names pid {pid}, which is {name}, not odbcd (a stale PID file?): not signalled",
                pid_file.display()
            );
            return ExitCode::from(2);
        }
        None if std::path::Path::new(&format!("/proc/{pid}")).exists() => {
            eprintln!(
                "odbcd: cannot tell which program pid {pid} (from {}) is: run odbcd reload as the server's user",
                pid_file.display()
            );
            return ExitCode::from(2);
        }
        None => {
            eprintln!(
                "odbcd: {} names pid {pid}, which is not running: is the server running?",
                pid_file.display()
            );
            return ExitCode::from(2);
        }
    }
    match nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    ) {
        Ok(()) => {
            println!("odbcd: asked the server (pid {pid}) to reload; its log says how it went");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "odbcd: cannot signal pid {pid} from {}: {e}",
                pid_file.display()
            );
            ExitCode::from(1)
        }
    }
}

/// Writes the bound listeners to `path` through a temporary file and a rename, so a reader
/// never sees half of it.
fn write_ready_file(
    path: &std::path::Path,
    bound: &[(String, std::net::SocketAddr)],
) -> Result<(), odbcd::server::ServerError> {
    let text: String = bound
        .iter()
        .map(|(name, addr)| format!("{name} {addr}\n"))
        .collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| odbcd::server::ServerError::Io {
            what: format!("writing the ready file {}", path.display()),
            source: e,
        })
}

/// SIGTERM drains (see `Server::serve_until`); SIGINT stops at once.
async fn first_signal(
    term: std::rc::Rc<tokio::sync::Mutex<Option<tokio::signal::unix::Signal>>>,
) -> odbcd::server::Stop {
    let mut term = term.lock().await;
    let Some(term) = term.as_mut() else {
        let _ = tokio::signal::ctrl_c().await;
        return odbcd::server::Stop::Now;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => odbcd::server::Stop::Now,
        _ = term.recv() => {
            tracing::info!(target: "odbcd::lifecycle", "SIGTERM: shutting down gracefully (a second SIGTERM or SIGINT stops at once)");
            odbcd::server::Stop::Drain
        }
    }
}

/// A second SIGTERM, or SIGINT, while draining.
async fn second_signal(term: std::rc::Rc<tokio::sync::Mutex<Option<tokio::signal::unix::Signal>>>) {
    let mut term = term.lock().await;
    let Some(term) = term.as_mut() else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// When the config file's folder holds `odbcinst.ini` / `odbc.ini` and the environment does not
/// name others, the driver manager uses those (as the shipped `config/` folder is laid out).
fn use_odbc_ini_beside(dir: &std::path::Path) {
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    if std::env::var_os("ODBCSYSINI").is_none() && dir.join("odbcinst.ini").is_file() {
        tracing::info!(target: "odbcd::lifecycle", "using ODBC drivers from {}", dir.join("odbcinst.ini").display());
        std::env::set_var("ODBCSYSINI", &dir);
    }
    if std::env::var_os("ODBCINI").is_none() && dir.join("odbc.ini").is_file() {
        tracing::info!(target: "odbcd::lifecycle", "using ODBC data sources from {}", dir.join("odbc.ini").display());
        std::env::set_var("ODBCINI", dir.join("odbc.ini"));
    }
}

/// psqlodbc's Unicode driver fails every text conversion unless the process runs under a UTF-8
/// locale. Drivers read the locale from the environment when they load, so make sure it says
/// UTF-8 before any driver is loaded, and say so.
fn ensure_utf8_locale() {
    let current = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    let utf8 = current
        .as_deref()
        .is_some_and(|v| v.to_ascii_lowercase().replace('-', "").contains("utf8"));
    if !utf8 {
        tracing::warn!(
            locale = current.as_deref().unwrap_or("unset"),
            "the locale is not UTF-8; setting LC_ALL=C.UTF-8 for the ODBC drivers (psqlodbc needs a UTF-8 locale to convert text)"
        );
        // Single-threaded at this point: no other thread reads the environment yet.
        std::env::set_var("LC_ALL", "C.UTF-8");
    }
}
