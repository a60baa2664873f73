//! How a step can fail, in the terms the exit code and the report use.

use std::fmt;

use serde::Serialize;

/// The kind of a failure; each has its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Credentials missing, rejected, or without the needed permission or scope.
    Auth,
    /// The person (or the account) does not exist at the provider.
    NotFound,
    /// Still rate limited when the retry budget ran out.
    RateLimited,
    /// The provider refused or failed: 5xx after retries, a 4xx refusal, an unexpected answer.
    ProviderError,
    /// No answer: connection failed or timed out after retries.
    Network,
}

impl FailureKind {
    /// The process exit code for this kind (documented in `--help`).
    pub fn exit_code(self) -> u8 {
        match self {
            FailureKind::Auth => 3,
            FailureKind::NotFound => 4,
            FailureKind::RateLimited => 5,
            FailureKind::ProviderError => 6,
            FailureKind::Network => 7,
        }
    }

    /// When several kinds occur in one run, the highest rank sets the exit code: auth and
    /// network first (a whole provider is likely out), not found last (nothing to cut).
    pub fn rank(self) -> u8 {
        match self {
            FailureKind::Auth => 5,
            FailureKind::Network => 4,
            FailureKind::RateLimited => 3,
            FailureKind::ProviderError => 2,
            FailureKind::NotFound => 1,
        }
    }

    /// The most important kind among `kinds`, if any.
    pub fn most_important(kinds: impl IntoIterator<Item = FailureKind>) -> Option<FailureKind> {
        kinds.into_iter().max_by_key(|kind| kind.rank())
    }

    /// A short label for people: "auth", "not found", "rate limited", ...
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Auth => "auth",
            FailureKind::NotFound => "not found",
            FailureKind::RateLimited => "rate limited",
            FailureKind::ProviderError => "provider error",
            FailureKind::Network => "network",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A provider's own error code: Zoom and Cloudflare use numbers, Zoom's OAuth endpoint
/// uses OAuth error strings (`invalid_client`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ProviderCode {
    /// A numeric code (`1001`, `9109`, ...).
    Number(i64),
    /// A textual code (`invalid_client`).
    Text(String),
}

impl fmt::Display for ProviderCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderCode::Number(n) => write!(f, "{n}"),
            ProviderCode::Text(t) => f.write_str(t),
        }
    }
}

/// Why a call to a provider did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    /// The kind, which decides the exit code.
    pub kind: FailureKind,
    /// The HTTP status of the last answer, if there was one.
    pub status: Option<u16>,
    /// The provider's error code, if it sent one.
    pub code: Option<ProviderCode>,
    /// What happened, for people (provider text is sanitised and shortened).
    pub message: String,
    /// A write that may have been applied although no success came back (a 5xx, a
    /// reset, a timeout): what the client saw. The playbook reads the state before it
    /// sends the write again.
    pub unanswered: Option<String>,
}

impl ProviderError {
    /// An error with no HTTP answer behind it.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self { kind, status: None, code: None, message: message.into(), unanswered: None }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Most of a provider's text we show: enough to understand, not enough to flood a terminal.
const MAX_PROVIDER_TEXT: usize = 300;

/// Makes provider-supplied text safe to print on one line: no control characters
/// (no terminal escapes, no line breaks), bounded length.
pub fn sanitize_provider_text(text: &str) -> String {
    let mut clean: String =
        text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_PROVIDER_TEXT).collect();
    if text.chars().count() > MAX_PROVIDER_TEXT {
        clean.push('…');
    }
    clean.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_and_documented() {
        let kinds = [
            FailureKind::Auth,
            FailureKind::NotFound,
            FailureKind::RateLimited,
            FailureKind::ProviderError,
            FailureKind::Network,
        ];
        let codes: Vec<u8> = kinds.iter().map(|k| k.exit_code()).collect();
        assert_eq!(codes, [3, 4, 5, 6, 7]);
    }

    #[test]
    fn auth_outranks_everything_and_not_found_nothing() {
        use FailureKind::*;
        assert_eq!(FailureKind::most_important([NotFound, Auth, Network]), Some(Auth));
        assert_eq!(FailureKind::most_important([NotFound, ProviderError]), Some(ProviderError));
        assert_eq!(FailureKind::most_important([RateLimited, ProviderError]), Some(RateLimited));
        assert_eq!(FailureKind::most_important([]), None);
    }

    #[test]
    fn provider_text_is_one_bounded_line() {
        assert_eq!(sanitize_provider_text("bad\n\u{1b}[31mred"), "bad  [31mred");
        let long = "x".repeat(1000);
        assert_eq!(sanitize_provider_text(&long).chars().count(), MAX_PROVIDER_TEXT + 1);
    }
}
