//! `odbcd passwd`: the manual's password tool (2.4.5). Adds, updates, deletes and lists users of
//! a password file, from options or in an interactive mode (`add`, `update`, `delete`, `list`,
//! `quit` at a `>>>` prompt; the first letter is enough). New entries use the slow key form
//! (`pbkdf2-sha256:`), or the manual's MD5 form with `--md5`. Every change is written at once,
//! atomically, keeping comments and order, with mode 0600.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use crate::auth::{self, PasswordFile, Stored};

/// What to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The password file.
    pub file: PathBuf,
    /// `login_salt` of the server (the slow form depends on it).
    pub login_salt: Option<String>,
    /// `--add USER`.
    pub add: Option<String>,
    /// `--update USER`.
    pub update: Option<String>,
    /// `--delete USER`.
    pub delete: Option<String>,
    /// `--list`.
    pub list: bool,
    /// `-p`: the password (else it is asked for).
    pub password: Option<String>,
    /// `-v`.
    pub verbose: bool,
    /// `--md5`: write the manual's MD5 form.
    pub md5: bool,
}

/// Reads a password after showing a prompt, without echo.
pub type SecretReader<'a> = &'a mut dyn FnMut(&str) -> std::io::Result<String>;

/// Where the tool talks to its user.
pub struct Console<'a> {
    /// Lines of input (the terminal or a pipe).
    pub input: &'a mut dyn BufRead,
    /// Output.
    pub out: &'a mut dyn Write,
    /// Reads a password without echo when on a terminal; `None` reads from `input`.
    pub read_secret: Option<SecretReader<'a>>,
}

impl Console<'_> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    fn ask(&mut self, prompt: &str) -> Result<Option<String>, String> {
        let _ = write!(self.out, "{prompt}");
        let _ = self.out.flush();
        let mut line = String::new();
        let n = self.input.read_line(&mut line).map_err(|e| e.to_string())?;
        Ok((n > 0).then(|| line.trim_end_matches(['\n', '\r']).to_owned()))
    }

    fn secret(&mut self, prompt: &str) -> Result<String, String> {
        match self.read_secret.as_mut() {
            Some(read) => read(prompt).map_err(|e| e.to_string()),
            None => self
                .ask(prompt)?
                .ok_or_else(|| "no password given".to_owned()),
        }
    }
}

/// The examples `--examples` prints.
pub const EXAMPLES: &str = "Examples:
  odbcd passwd -f authorized-users.txt --add joe          (asks for the password)
  odbcd passwd -f authorized-users.txt --add joe -p secret
  odbcd passwd -f authorized-users.txt --update joe
  odbcd passwd -f authorized-users.txt --delete joe
  odbcd passwd -f authorized-users.txt --list
  odbcd passwd --config server-config.ini                  (interactive; file and login_salt from the config)
  echo secret | odbcd passwd -f users.txt --add joe        (the password from stdin)";

const BANNER: &str = "-----\nodbcd - Password Tool\n-----\n\nPossible actions:\n\n    add      - add a new user\n    update   - update an existing user\n    delete   - delete an existing user\n    list     - list all users\n    quit     - quit the application\n";

struct Tool<'o> {
    opts: &'o Options,
    file: PasswordFile,
}

impl Tool<'_> {
    fn stored(&self, user: &str, password: &str) -> Stored {
        if self.opts.md5 {
            Stored::Md5(auth::md5_hex(password))
        } else {
            Stored::Key(auth::key_from_password(
                password,
                user,
                self.opts.login_salt.as_deref(),
            ))
        }
    }

    fn save(&self) -> Result<(), String> {
        self.file
            .save(&self.opts.file)
            .map_err(|e| format!("cannot write {}: {e}", self.opts.file.display()))
    }

    fn password(&self, console: &mut Console<'_>) -> Result<String, String> {
        if let Some(p) = &self.opts.password {
            return Ok(p.clone());
        }
        let p = console.secret("Password: ")?;
        if console.read_secret.is_some() {
            let again = console.secret("Repeat password: ")?;
            if again != p {
                return Err("the passwords differ".into());
            }
        }
        if p.is_empty() {
            return Err("empty password".into());
        }
        Ok(p)
    }

    fn add(&mut self, user: &str, console: &mut Console<'_>) -> Result<(), String> {
        valid_user(user)?;
        if self.file.get(user).is_some() {
            return Err(format!("user {user} exists already: use update"));
        }
        let p = self.password(console)?;
        let stored = self.stored(user, &p);
        self.file.set(user, stored);
        self.save()?;
        console.say(&format!("added user {user}"));
        Ok(())
    }

    fn update(&mut self, user: &str, console: &mut Console<'_>) -> Result<(), String> {
        if self.file.get(user).is_none() {
            return Err(format!("no user {user}: use add"));
        }
        let p = self.password(console)?;
        let stored = self.stored(user, &p);
        self.file.set(user, stored);
        self.save()?;
        console.say(&format!("updated user {user}"));
        Ok(())
    }

    fn delete(&mut self, user: &str, console: &mut Console<'_>) -> Result<(), String> {
        if !self.file.remove(user) {
            return Err(format!("no user {user}"));
        }
        self.save()?;
        console.say(&format!("deleted user {user}"));
        Ok(())
    }

    fn list(&self, console: &mut Console<'_>) {
        for u in self.file.users() {
            if self.opts.verbose {
                let form = match self.file.get(u) {
                    Some(Stored::Md5(_)) => "md5",
                    _ => "pbkdf2-sha256",
                };
                console.say(&format!("{u} ({form})"));
            } else {
                console.say(u);
            }
        }
    }
}

fn valid_user(user: &str) -> Result<(), String> {
    if user.is_empty()
        || user.contains(':')
        || user.contains(char::is_whitespace)
        || user.starts_with(['#', ';'])
    {
        return Err(format!(
            "{user:?} is not a valid user name (no ':', spaces, or leading '#'/';')"
        ));
    }
    Ok(())
}

/// Runs the tool.
///
/// # Errors
/// What went wrong, for the user.
pub fn run(opts: &Options, console: &mut Console<'_>) -> Result<(), String> {
    let read_only =
        opts.list && opts.add.is_none() && opts.update.is_none() && opts.delete.is_none();
    // One writer at a time, from reading the file to writing it back.
    let _lock = if read_only {
        None
    } else {
        Some(
            PasswordFile::lock(&opts.file)
                .map_err(|e| format!("cannot lock {}: {e}", opts.file.display()))?,
        )
    };
    let file = PasswordFile::load(&opts.file, true).map_err(|e| e.to_string())?;
    let mut tool = Tool { opts, file };
    if opts.verbose {
        console.say(&format!("password file {}", opts.file.display()));
    }
    let mut acted = false;
    if let Some(u) = &opts.add {
        tool.add(u, console)?;
        acted = true;
    }
    if let Some(u) = &opts.update {
        tool.update(u, console)?;
        acted = true;
    }
    if let Some(u) = &opts.delete {
        tool.delete(u, console)?;
        acted = true;
    }
    if opts.list {
        tool.list(console);
        acted = true;
    }
    if acted {
        return Ok(());
    }
    console.say(BANNER);
    loop {
        let Some(cmd) = console.ask(">>> ")? else {
            return Ok(());
        };
        let cmd = cmd.trim().to_ascii_lowercase();
        let result = match cmd.chars().next() {
            None => continue,
            Some('q') => return Ok(()),
            Some('l') => {
                tool.list(console);
                Ok(())
            }
            Some(c @ ('a' | 'u' | 'd')) => match console.ask("User name: ")? {
                None => return Ok(()),
                Some(user) => {
                    let user = user.trim().to_owned();
                    match c {
                        'a' => tool.add(&user, console),
                        'u' => tool.update(&user, console),
                        _ => tool.delete(&user, console),
                    }
                }
            },
            Some(_) => Err(format!(
                "unknown action {cmd:?}: add, update, delete, list or quit"
            )),
        };
        if let Err(e) = result {
            console.say(&format!("error: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn run_with(opts: &Options, input: &str) -> (Result<(), String>, String) {
        let mut input = Cursor::new(input.as_bytes().to_vec());
        let mut out = Vec::new();
        let r = run(
            opts,
            &mut Console {
                input: &mut input,
                out: &mut out,
                read_secret: None,
            },
        );
        (r, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn options_add_update_delete_list_keep_comments_and_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.txt");
        std::fs::write(
            &file,
            "# staff\njoeuser: 900150983cd24fb0d6963f7d28e17f72\n",
        )
        .unwrap();
        let base = Options {
            file: file.clone(),
            ..Options::default()
        };
        let (r, _) = run_with(
            &Options {
                add: Some("ann".into()),
                password: Some("pw".into()),
                ..base.clone()
            },
            "",
        );
        r.unwrap();
        let (r, _) = run_with(
            &Options {
                add: Some("bob".into()),
                md5: true,
                ..base.clone()
            },
            "from-stdin\n",
        );
        r.unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with(
                "# staff\njoeuser: 900150983cd24fb0d6963f7d28e17f72\nann: pbkdf2-sha256:"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(&format!("bob: {}\n", auth::md5_hex("from-stdin"))),
            "{text}"
        );
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let (r, _) = run_with(
            &Options {
                add: Some("ann".into()),
                password: Some("x".into()),
                ..base.clone()
            },
            "",
        );
        assert!(r.unwrap_err().contains("exists"));
        let (r, _) = run_with(
            &Options {
                update: Some("nobody".into()),
                password: Some("x".into()),
                ..base.clone()
            },
            "",
        );
        assert!(r.unwrap_err().contains("no user"));
        run_with(
            &Options {
                delete: Some("joeuser".into()),
                ..base.clone()
            },
            "",
        )
        .0
        .unwrap();
        let (_, out) = run_with(
            &Options {
                list: true,
                ..base.clone()
            },
            "",
        );
        assert_eq!(out, "ann\nbob\n");
    }

    #[test]
    fn interactive_mode_with_first_letters() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.txt");
        let opts = Options {
            file: file.clone(),
            ..Options::default()
        };
        let (r, out) = run_with(
            &opts,
            "a\njoe\npw1\nadd\nann\npw2\nl\nu\njoe\npw3\nd\nann\nx\nlist\nq\n",
        );
        r.unwrap();
        assert!(out.contains(">>> "), "{out}");
        assert!(
            out.contains("added user joe") && out.contains("deleted user ann"),
            "{out}"
        );
        assert!(out.contains("error: unknown action"), "{out}");
        let f = PasswordFile::load(&file, false).unwrap();
        assert_eq!(f.users(), vec!["joe"]);
        assert_eq!(
            f.get("joe"),
            Some(&Stored::Key(auth::key_from_password("pw3", "joe", None)))
        );
    }
}
