//! What the HTTP layer knows of a dialect: the paths it owns, its name for the metrics,
//! its error body for a [`Failure`] answered below the router, and its request-id header.
//! The layer names no dialect itself: `api` declares each one and hands the list to
//! [`super::serve`] at start-up.

use axum::response::Response;

use super::Failure;
use super::request_id::IdHeader;

/// One dialect, as the HTTP layer answers and tags its requests.
#[derive(Debug)]
pub struct Dialect {
    /// A metrics label and a log field.
    pub name: &'static str,
    /// The path prefixes it owns: a prefix itself, or followed by `/` or `?`.
    pub prefixes: &'static [&'static str],
    /// Its error answer for a failure the HTTP layer answers itself.
    pub failure: fn(Failure) -> Response,
    /// The header that carries the request id on its answers.
    pub request_id: IdHeader,
    /// Its operations whose success kills credentials (the metrics count them as
    /// revocations).
    pub revoking: &'static [&'static str],
}

impl Dialect {
    /// Whether a request target (a path, or the raw target of a request line) is its.
    pub fn owns(&self, target: &[u8]) -> bool {
        self.prefixes.iter().any(|prefix| {
            target
                .strip_prefix(prefix.as_bytes())
                .is_some_and(|rest| rest.first().is_none_or(|next| matches!(next, b'/' | b'?')))
        })
    }
}

/// The dialects a server speaks, and the one that answers every path none of them owns.
#[derive(Debug, Clone)]
pub struct Dialects {
    owners: Vec<&'static Dialect>,
    otherwise: &'static Dialect,
}

impl Dialects {
    pub fn new(owners: Vec<&'static Dialect>, otherwise: &'static Dialect) -> Dialects {
        Dialects { owners, otherwise }
    }

    /// The dialect of a request target (a path, or the raw bytes of a request line's target).
    pub fn of_path(&self, target: &[u8]) -> &'static Dialect {
        self.owners.iter().copied().find(|dialect| dialect.owns(target)).unwrap_or(self.otherwise)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderName;
    use axum::response::IntoResponse;

    use super::super::request_id::GivenId;
    use super::*;

    fn answer(failure: Failure) -> Response {
        failure.status().into_response()
    }

    const fn dialect(name: &'static str, prefixes: &'static [&'static str]) -> Dialect {
        let request_id =
            IdHeader { name: HeaderName::from_static("x-request-id"), before: "", after: "", honours: GivenId::Token };
        Dialect { name, prefixes, failure: answer, request_id, revoking: &[] }
    }

    static API: Dialect = dialect("api", &["/v2", "/oauth"]);
    static REST: Dialect = dialect("rest", &[]);

    #[test]
    fn a_path_belongs_to_the_dialect_of_its_prefix_else_to_the_fallback() {
        let dialects = Dialects::new(vec![&API], &REST);
        for owned in ["/v2", "/v2/users", "/v2?x", "/oauth/token", "/oauth"] {
            assert_eq!(dialects.of_path(owned.as_bytes()).name, "api", "{owned}");
        }
        for other in ["/v22", "/v", "/", "", "/oauthx", "/x/v2", "/V2"] {
            assert_eq!(dialects.of_path(other.as_bytes()).name, "rest", "{other}");
        }
    }
}
