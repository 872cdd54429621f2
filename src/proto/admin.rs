//! The admin requests: an operator's questions and orders about the server itself, sent over
//! the same protocol as everything else (so they come with its TLS and its login). Users named
//! in the server's `[Authentication] admin_users` may act on every session; every other user
//! sees and acts on its own sessions only (without authentication, on the session it asks
//! from). Pausing, reloading and reading the configuration are for admins only.

use serde::{Deserialize, Serialize};

/// An admin request ([`super::message::Request::Admin`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminCommand {
    /// Lists the sessions the asker may see; answered with [`AdminAnswer::Sessions`].
    Sessions,
    /// Ends the session whose public id starts with `session` (its transactions are rolled
    /// back, its client is told why); answered with [`AdminAnswer::Done`].
    Kill {
        /// A prefix of the session's public id (as [`SessionDetail::id_prefix`] shows it).
        session: String,
    },
    /// Cancels the requests running on the session's database connections (each gets the
    /// driver's "cancelled" error); answered with [`AdminAnswer::Done`].
    Cancel {
        /// A prefix of the session's public id.
        session: String,
    },
    /// Stops admitting new sessions (they are refused with `08004`, so clients go to the
    /// next server; `/readyz` says 503); sessions already open and their resumes go on.
    Pause,
    /// Admits new sessions again after [`Self::Pause`].
    Resume,
    /// Re-reads the configuration file, as SIGHUP does; the answer says what happened.
    Reload,
    /// The configuration in force, as INI text with secrets masked; answered with
    /// [`AdminAnswer::Config`].
    Config,
}

/// The answer to an admin request ([`super::message::Response::Admin`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminAnswer {
    /// The sessions the asker may see.
    Sessions {
        /// Open sessions on the server, all users (the seeds' `nclients`: everyone may know).
        total: u32,
        /// Whether new sessions are paused.
        paused: bool,
        /// The sessions, oldest first.
        #[serde(deserialize_with = "super::budget::charged")]
        sessions: Vec<SessionDetail>,
    },
    /// What an order did.
    Done {
        /// In words, for the operator.
        message: String,
    },
    /// The configuration in force.
    Config {
        /// INI text.
        text: String,
    },
}

/// One session, as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDetail {
    /// The first 8 characters of the session's id (the full id is a secret: it resumes it).
    pub id_prefix: String,
    /// The user that opened it ("" without authentication).
    pub user: String,
    /// The client's address (of its current or last link).
    pub peer: String,
    /// The client's name, as it introduced itself.
    pub client_name: String,
    /// When it was opened, in milliseconds since the Unix epoch.
    pub opened_unix_ms: u64,
    /// Milliseconds since its last request.
    pub idle_ms: u64,
    /// Physical database connections it holds.
    pub connections: u32,
    /// False while its link is broken and the server waits for it to resume.
    pub attached: bool,
    /// Whether it is the session asking.
    pub own: bool,
    /// Its requests running on database connections now.
    #[serde(deserialize_with = "super::budget::charged")]
    pub running: Vec<RunningRequest>,
}

/// A request running on a database connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningRequest {
    /// The request's kind (`Execute`, `Fetch`, ...).
    pub kind: String,
    /// Its SQL with every literal replaced by `?` (and cut after 1,000 characters), when it
    /// carries SQL.
    pub sql: Option<String>,
    /// Milliseconds since it started on its connection.
    pub running_ms: u64,
}
