//! Checking logins against the password file (`[Authentication] auth_mode = file`), and slowing
//! down addresses that keep failing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::auth::{self, LoginKey, PasswordFile, PasswordFileError, Stored};

fn random_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    // A failure leaves zeros: still a key no client derives from a password.
    let _ = getrandom::fill(&mut b);
    b
}
use crate::config::server::AuthConfig;
use crate::error::{DbError, ErrorClass};

/// Failures from one address are forgotten after this long without another.
const FAILURE_MEMORY: Duration = Duration::from_secs(600);
/// The longest delay before answering a failed login.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// The password file and what the server learned from logins.
pub struct Authenticator {
    path: std::path::PathBuf,
    salt: Option<String>,
    users: RwLock<Arc<Users>>,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// One reading of the password file: every user's login key, derived when the file was read
/// (so a login never runs the 100,000-round derivation and every answer costs the same).
struct Users {
    keys: HashMap<String, LoginKey>,
    /// What identifies the file version these keys came from (size, mtime, inode).
    version: Option<FileVersion>,
}

/// Size, modification time and inode of a file: a change in any means it was rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileVersion(u64, std::time::SystemTime, u64);

fn file_version(path: &std::path::Path) -> Option<FileVersion> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(FileVersion(m.len(), m.modified().ok()?, m.ino()))
}

/// A key no proof matches (verified against for unknown users, so their answer costs the same).
static NO_USER_KEY: std::sync::OnceLock<LoginKey> = std::sync::OnceLock::new();

/// The one answer to every failed login: it does not say which part was wrong.
pub fn failed() -> DbError {
    DbError::with_state(
        ErrorClass::ODBCConnectError,
        "28000",
        "authentication failed: unknown user or wrong password",
    )
}

impl Users {
    /// Reads the password file and derives every key (blocking: ~20 ms per MD5 entry).
    fn read(path: &std::path::Path, salt: Option<&str>) -> Result<Self, PasswordFileError> {
        let version = file_version(path);
        let file = PasswordFile::load(path, false)?;
        let keys = file
            .users()
            .into_iter()
            .filter_map(|user| {
                let key = match file.get(user)? {
                    Stored::Key(k) => k.clone(),
                    Stored::Md5(md5) => auth::key_from_md5(md5, user, salt),
                };
                Some((user.to_owned(), key))
            })
            .collect();
        Ok(Self { keys, version })
    }
}

impl Authenticator {
    /// Loads the password file.
    ///
    /// # Errors
    /// A missing, unreadable or invalid password file.
    pub fn load(config: &AuthConfig) -> Result<Self, PasswordFileError> {
        let users = Users::read(&config.password_file, config.login_salt.as_deref())?;
        tracing::info!(target: "odbcd::lifecycle", users = users.keys.len(), file = %config.password_file.display(), "user authentication on");
        NO_USER_KEY.get_or_init(|| LoginKey(random_bytes()));
        Ok(Self {
            path: config.password_file.clone(),
            salt: config.login_salt.clone(),
            users: RwLock::new(Arc::new(users)),
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// Re-reads the password file when it changed since it was last read (or always, with
    /// `force`: SIGHUP). An invalid file keeps the users read before, and says why in the log.
    /// Blocking.
    pub fn reload(&self, force: bool) {
        let current = self.snapshot();
        if !force && current.version.is_some() && file_version(&self.path) == current.version {
            return;
        }
        match Users::read(&self.path, self.salt.as_deref()) {
            Ok(users) => {
                tracing::info!(target: "odbcd::lifecycle", users = users.keys.len(), file = %self.path.display(), "password file re-read");
                *self.users.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(users);
            }
            Err(e) => {
                tracing::error!(target: "odbcd::lifecycle", error = %e, "password file not re-read; the users read before stay in effect");
                // Do not try again until the file changes once more.
                let stale = Users {
                    keys: current.keys.clone(),
                    version: file_version(&self.path),
                };
                *self.users.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(stale);
            }
        }
    }

    fn snapshot(&self) -> Arc<Users> {
        self.users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Checks a login proof. Runs the key derivation on a blocking thread, and delays the answer
    /// to an address that failed before (doubling per failure, up to 5 s).
    ///
    /// # Errors
    /// [`failed`] for an unknown user, a wrong password or a replayed proof.
    pub async fn check(
        self: &Arc<Self>,
        peer: IpAddr,
        user: &str,
        nonce: &[u8],
        proof: &[u8],
    ) -> Result<(), DbError> {
        let this = Arc::clone(self);
        let (user_owned, nonce_owned, proof_owned) =
            (user.to_owned(), nonce.to_vec(), proof.to_vec());
        let ok = actix_rt::task::spawn_blocking(move || {
            // A changed file takes effect at the next login (a stat per login).
            this.reload(false);
            let users = this.snapshot();
            // The same work whether or not the user exists, so timing does not tell.
            let (key, known) = match users.keys.get(&user_owned) {
                Some(k) => (k, true),
                None => (NO_USER_KEY.get_or_init(|| LoginKey(random_bytes())), false),
            };
            auth::verify(key, &nonce_owned, &user_owned, &proof_owned) && known
        })
        .await
        .unwrap_or(false);
        let n = {
            let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
            failures.retain(|_, (_, at)| at.elapsed() < FAILURE_MEMORY);
            if ok {
                failures.remove(&peer);
                return Ok(());
            }
            let entry = failures.entry(peer).or_insert((0, Instant::now()));
            entry.0 += 1;
            entry.1 = Instant::now();
            entry.0
        };
        let delay = Duration::from_millis(100u64 << (n - 1).min(10)).min(MAX_DELAY);
        tracing::warn!(%peer, user, failures = n, delay = ?delay, "login failed");
        actix_rt::time::sleep(delay).await;
        Err(failed())
    }
}
