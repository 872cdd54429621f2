//! User authentication: the password file of manual 2.4.5 and a challenge-response login.
//!
//! **Keys.** A user's login key is
//! `PBKDF2-HMAC-SHA256(md5hex(password), "odbcd:" + login_salt + ":" + user, 100_000 rounds)`.
//! The password file holds, per user, either the manual's MD5 hex digest of the password (the
//! server derives the key from it) or the key itself (`pbkdf2-sha256:<hex>`, what `odbcd passwd`
//! writes), so the file never allows a fast guess of the password.
//!
//! **Login.** The server's greeting carries a fresh random nonce; the client sends
//! `HMAC-SHA256(key, "odbcd-login-v1" || nonce || user)`. The password never crosses the wire,
//! a captured login cannot be replayed (the next connection has another nonce), and guessing the
//! password from a capture costs the full key derivation per guess. The server compares in
//! constant time.
//!
//! Pure functions only: no I/O besides [`PasswordFile::load`] and [`PasswordFile::save`].

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use md5::Digest as _;
use sha2::Sha256;

/// PBKDF2 rounds of the login key (fixed by the protocol, so both sides agree).
pub const KEY_ROUNDS: u32 = 100_000;
/// The salt used when `login_salt` is not set.
pub const DEFAULT_LOGIN_SALT: &str = "odbcd-default-salt";
const PROOF_CONTEXT: &[u8] = b"odbcd-login-v1";

/// A 32-byte login key. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginKey(pub [u8; 32]);

impl std::fmt::Debug for LoginKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginKey(***)")
    }
}

/// The MD5 hex digest of a password (the manual's password file form).
pub fn md5_hex(password: &str) -> String {
    crate::hex::hex(&md5::Md5::digest(password.as_bytes()))
}

/// The login key from the MD5 hex digest of the password.
pub fn key_from_md5(md5hex: &str, user: &str, login_salt: Option<&str>) -> LoginKey {
    let salt = format!("odbcd:{}:{user}", login_salt.unwrap_or(DEFAULT_LOGIN_SALT));
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        md5hex.to_ascii_lowercase().as_bytes(),
        salt.as_bytes(),
        KEY_ROUNDS,
        &mut out,
    );
    LoginKey(out)
}

/// The login key of a password.
pub fn key_from_password(password: &str, user: &str, login_salt: Option<&str>) -> LoginKey {
    key_from_md5(&md5_hex(password), user, login_salt)
}

/// The login proof for `nonce`.
pub fn proof(key: &LoginKey, nonce: &[u8], user: &str) -> Vec<u8> {
    mac(key, nonce, user).finalize().into_bytes().to_vec()
}

fn mac(key: &LoginKey, nonce: &[u8], user: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail; fall back to an empty-key MAC that
    // matches nothing rather than panic.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&key.0)
        .unwrap_or_else(|_| <Hmac<Sha256> as hmac::digest::KeyInit>::new(&Default::default()));
    m.update(PROOF_CONTEXT);
    m.update(nonce);
    m.update(user.as_bytes());
    m
}

/// Checks a proof in constant time.
pub fn verify(key: &LoginKey, nonce: &[u8], user: &str, proof: &[u8]) -> bool {
    mac(key, nonce, user).verify_slice(proof).is_ok()
}

/// How a user's password is stored.
#[derive(Clone, PartialEq, Eq)]
pub enum Stored {
    /// The manual's form: MD5 hex of the password.
    Md5(String),
    /// The login key (`pbkdf2-sha256:<hex>`).
    Key(LoginKey),
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Md5(_) => "Md5(***)",
            Self::Key(_) => "Key(***)",
        })
    }
}

/// One line of a password file, kept as written so rewrites keep comments and order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A comment or empty line, verbatim.
    Other(String),
    /// A user entry.
    User {
        /// The user name.
        name: String,
        /// The stored password.
        stored: Stored,
    },
}

/// An error in a password file, with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct PasswordFileError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line (0 when the whole file is concerned).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A password file: `user: md5-hex` or `user: pbkdf2-sha256:<hex>` lines, `#`/`;` comments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordFile {
    /// The lines, in order.
    pub lines: Vec<Line>,
}

/// The folder a file is in (`.` for a bare name) and its name, for files written beside it.
fn folder_and_name(path: &Path) -> (&Path, String) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl PasswordFile {
    /// Parses the text of a password file.
    ///
    /// # Errors
    /// A line that is not a comment or a valid entry; a user given twice.
    pub fn parse(text: &str, path: &Path) -> Result<Self, PasswordFileError> {
        let err = |line: usize, message: String| PasswordFileError {
            path: path.to_owned(),
            line,
            message,
        };
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                lines.push(Line::Other(raw.to_owned()));
                continue;
            }
            let Some((name, hash)) = t.split_once(':') else {
                return Err(err(
                    i + 1,
                    "expected 'user: md5-hex-digest' (or a # comment)".into(),
                ));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(err(i + 1, "empty user name".into()));
            }
            let hash = hash.trim();
            let stored = if let Some(hex) = hash.strip_prefix("pbkdf2-sha256:") {
                let bytes = hex_decode(hex.trim()).filter(|b| b.len() == 32);
                let Some(bytes) = bytes else {
                    return Err(err(
                        i + 1,
                        format!("user {name}: pbkdf2-sha256 needs 64 hex digits"),
                    ));
                };
                let mut k = [0u8; 32];
                k.copy_from_slice(&bytes);
                Stored::Key(LoginKey(k))
            } else {
                let hex: String = hash
                    .chars()
                    .filter(|c| !matches!(c, ':' | '-' | ' '))
                    .collect();
                if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(err(i + 1, format!("user {name}: expected an MD5 hex digest (32 hex digits, ':', '-' or spaces allowed) or pbkdf2-sha256:<hex>")));
                }
                Stored::Md5(hex.to_ascii_lowercase())
            };
            if lines
                .iter()
                .any(|l| matches!(l, Line::User { name: n, .. } if n == name))
            {
                return Err(err(i + 1, format!("user {name} appears twice")));
            }
            lines.push(Line::User {
                name: name.to_owned(),
                stored,
            });
        }
        Ok(Self { lines })
    }

    /// Reads a password file (a missing file reads as empty when `missing_ok`).
    ///
    /// # Errors
    /// Unreadable or invalid file.
    pub fn load(path: &Path, missing_ok: bool) -> Result<Self, PasswordFileError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if missing_ok && e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(PasswordFileError {
                path: path.to_owned(),
                line: 0,
                message: e.to_string(),
            }),
        }
    }

    /// Writes the file atomically, mode 0600: a new temporary file in the same folder (created
    /// exclusively, with an unpredictable name, so a planted file or symlink is never written
    /// through), synced, renamed over `path` (which replaces a symlink at `path` rather than
    /// writing where it points), then the folder is synced so the rename survives a crash.
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let (dir, name) = folder_and_name(path);
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
        let suffix = crate::hex::hex(&random);
        let tmp = dir.join(format!(".{name}.{suffix}.tmp"));
        let written = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(self.render().as_bytes())?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        std::fs::File::open(dir)?.sync_all()
    }

    /// Takes the exclusive lock that serializes writers of the password file at `path` (a
    /// `.NAME.lock` file beside it, created without following symlinks), waiting for another
    /// holder. Released when the returned file is dropped.
    ///
    /// # Errors
    /// I/O errors (a symlink planted at the lock path is one).
    pub fn lock(path: &Path) -> std::io::Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        let (dir, name) = folder_and_name(path);
        /// `O_NOFOLLOW` (Linux).
        const O_NOFOLLOW: i32 = 0o400000;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(O_NOFOLLOW)
            .open(dir.join(format!(".{name}.lock")))?;
        f.lock()?;
        Ok(f)
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            match l {
                Line::Other(s) => out.push_str(s),
                Line::User { name, stored } => {
                    out.push_str(name);
                    out.push_str(": ");
                    match stored {
                        Stored::Md5(h) => out.push_str(h),
                        Stored::Key(k) => {
                            out.push_str("pbkdf2-sha256:");
                            out.push_str(&crate::hex::hex(&k.0));
                        }
                    }
                }
            }
            out.push('\n');
        }
        out
    }

    /// The stored password of `user`.
    pub fn get(&self, user: &str) -> Option<&Stored> {
        self.lines.iter().find_map(|l| match l {
            Line::User { name, stored } if name == user => Some(stored),
            _ => None,
        })
    }

    /// The user names, in file order.
    pub fn users(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                Line::User { name, .. } => Some(name.as_str()),
                Line::Other(_) => None,
            })
            .collect()
    }

    /// Sets `user`'s password (in place when the user exists, else at the end).
    pub fn set(&mut self, user: &str, stored: Stored) {
        for l in &mut self.lines {
            if let Line::User { name, stored: s } = l {
                if name == user {
                    *s = stored;
                    return;
                }
            }
        }
        self.lines.push(Line::User {
            name: user.to_owned(),
            stored,
        });
    }

    /// Removes `user`; false when there was no such user.
    pub fn remove(&mut self, user: &str) -> bool {
        let before = self.lines.len();
        self.lines
            .retain(|l| !matches!(l, Line::User { name, .. } if name == user));
        self.lines.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_example_parses_and_keeps_comments() {
        let text = "# User: MD5 Hex Digest of the Password\njoeuser: 900150983cd24fb0d6963f7d28e17f72\nfoobar: 4ED9:4076-30eb 1000c0f6b63842defa7d\n\n; end\n";
        let f = PasswordFile::parse(text, Path::new("users.txt")).unwrap();
        assert_eq!(f.users(), vec!["joeuser", "foobar"]);
        assert_eq!(f.get("joeuser"), Some(&Stored::Md5(md5_hex("abc"))));
        assert!(
            matches!(f.get("foobar"), Some(Stored::Md5(h)) if h == "4ed9407630eb1000c0f6b63842defa7d")
        );
        assert!(f
            .render()
            .starts_with("# User: MD5 Hex Digest of the Password\n"));
        assert!(f.render().ends_with("\n; end\n"));
    }

    #[test]
    fn bad_lines_name_the_line() {
        let e = PasswordFile::parse("a: 123\n", Path::new("u")).unwrap_err();
        assert_eq!(e.line, 1);
        let e = PasswordFile::parse("# c\nnocolon\n", Path::new("u")).unwrap_err();
        assert_eq!(e.line, 2);
        let e = PasswordFile::parse(
            &format!("a: {}\na: {}\n", md5_hex("x"), md5_hex("y")),
            Path::new("u"),
        )
        .unwrap_err();
        assert!(e.message.contains("twice"));
    }

    #[test]
    fn proofs_verify_only_with_the_right_key_nonce_and_user() {
        let key = key_from_password("secret", "joe", None);
        assert_eq!(key, key_from_md5(&md5_hex("secret"), "joe", None));
        assert_ne!(key, key_from_password("secret", "joe", Some("other-salt")));
        assert_ne!(key, key_from_password("secret", "ann", None));
        let p = proof(&key, b"nonce-1", "joe");
        assert!(verify(&key, b"nonce-1", "joe", &p));
        assert!(
            !verify(&key, b"nonce-2", "joe", &p),
            "a replayed proof fails with a new nonce"
        );
        assert!(!verify(
            &key_from_password("wrong", "joe", None),
            b"nonce-1",
            "joe",
            &p
        ));
        assert!(!verify(&key, b"nonce-1", "joe", &p[..31]));
    }

    #[test]
    fn key_entries_round_trip() {
        let mut f = PasswordFile::default();
        f.set("ann", Stored::Key(key_from_password("pw", "ann", None)));
        let again = PasswordFile::parse(&f.render(), Path::new("u")).unwrap();
        assert_eq!(again, f);
        assert!(f.render().starts_with("ann: pbkdf2-sha256:"));
        assert!(
            !format!("{f:?}").contains("pbkdf2-sha256:"),
            "Debug hides stored passwords"
        );
    }
}
