//! Domain errors: they carry meaning, never HTTP. Each dialect maps them onto its wire.

/// What went wrong, in the domain's terms.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The thing named does not exist (in this tenant).
    #[error("{what} does not exist: {id}")]
    NotFound { what: &'static str, id: String },
    /// The request conflicts with current state (a duplicate email, an existing tenant).
    #[error("{0}")]
    Conflict(String),
    /// The input is invalid; `field` names the offending field when there is one.
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    /// The operation is not allowed on this target (an owner, a Zoom Room, ...).
    #[error("{0}")]
    Forbidden(String),
    /// The operation is refused because of the target's state (an inactive user logging in).
    #[error("{0}")]
    Refused(String),
    /// The storage is full (SQLite's SQLITE_FULL, PostgreSQL's 53100): nothing was
    /// written; the client may retry once space is freed. The message is for logs only.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// Storage or another internal failure. The message is for logs, never for clients.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds a client is asked to wait (`Retry-After`) when the storage is full.
pub const STORAGE_FULL_RETRY_AFTER_SECONDS: u64 = 30;

/// Result with the domain [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A not-found error for `what` named `id`.
    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound { what, id: id.into() }
    }

    /// Whether this is userplane's own failure (a 5xx), not the client's.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Internal(_) | Error::StorageFull(_))
    }

    /// An invalid-input error about `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid { field: Some(field.into()), message: message.into() }
    }
}
