//! Checking logins against the password file (`[Authentication] auth_mode = file`), and slowing
//! down addresses that keep failing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::auth::{self, LoginKey, PasswordFile, PasswordFileError, Stored};
use crate::config::server::AuthConfig;
use crate::error::{DbError, ErrorClass};

/// Failures from one address are forgotten after this long without another.
const FAILURE_MEMORY: Duration = Duration::from_secs(600);
/// The longest delay before answering a failed login.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// The password file and what the server learned from logins.
pub struct Authenticator {
    file: PasswordFile,
    salt: Option<String>,
    /// Keys derived from MD5 entries, computed once.
    derived: Mutex<HashMap<String, LoginKey>>,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// The one answer to every failed login: it does not say which part was wrong.
pub fn failed() -> DbError {
    DbError::with_state(
        ErrorClass::ODBCConnectError,
        "28000",
        "authentication failed: unknown user or wrong password",
    )
}

impl Authenticator {
    /// Loads the password file.
    ///
    /// # Errors
    /// A missing, unreadable or invalid password file.
    pub fn load(config: &AuthConfig) -> Result<Self, PasswordFileError> {
        let file = PasswordFile::load(&config.password_file, false)?;
        tracing::info!(target: "odbcd::lifecycle", users = file.users().len(), file = %config.password_file.display(), "user authentication on");
        Ok(Self {
            file,
            salt: config.login_salt.clone(),
            derived: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        })
    }

    fn key_of(&self, user: &str) -> Option<LoginKey> {
        match self.file.get(user)? {
            Stored::Key(k) => Some(k.clone()),
            Stored::Md5(md5) => {
                if let Some(k) = self
                    .derived
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(user)
                {
                    return Some(k.clone());
                }
                let k = auth::key_from_md5(md5, user, self.salt.as_deref());
                self.derived
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(user.to_owned(), k.clone());
                Some(k)
            }
        }
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
            match this.key_of(&user_owned) {
                Some(key) => auth::verify(&key, &nonce_owned, &user_owned, &proof_owned),
                None => {
                    // Spend the same time as for a known user, so timing does not tell.
                    let dummy =
                        auth::key_from_md5(&auth::md5_hex(""), &user_owned, this.salt.as_deref());
                    let _ = auth::verify(&dummy, &nonce_owned, &user_owned, &proof_owned);
                    false
                }
            }
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
