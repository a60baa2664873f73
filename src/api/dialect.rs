//! What a dialect declares to the server, as one value: what the HTTP layer needs of it
//! (its paths, name, failure body and request-id header), its routes, its answer for a
//! path it owns that no route knows, and how faults are answered in its wire. Each
//! dialect's `dialect.rs` fills a [`DialectSpec`]; `api::providers` lists them.

use axum::Router;
use axum::http::Uri;
use axum::response::Response;

use crate::domain::provider::ProviderSpec;
use crate::state::AppState;

/// Everything the server knows of one dialect.
pub struct DialectSpec {
    /// Its paths, metrics name, failure body and request-id header.
    pub http: crate::http::Dialect,
    /// The provider it speaks for (none: userplane's own control plane).
    pub provider: Option<&'static ProviderSpec>,
    /// Its routes, at their full paths (the server merges every dialect's).
    pub routes: fn(&AppState) -> Router<AppState>,
    /// The answer for a path of its own that no route matched.
    pub unknown_path: fn(&Uri) -> Response,
    /// How its wire answers an injected fault (none: no fault rule reaches it).
    pub faults: Option<FaultWire>,
}

/// How a dialect's wire answers an injected fault.
pub struct FaultWire {
    /// The answer for an injected status: its error body and the headers the provider
    /// sends with it (`retry_after`, else the provider's default for a 429 or 503).
    pub answer: fn(InjectedStatus) -> Response,
    /// Where the provider's error code sits in its error body (a JSON pointer), for the
    /// request journal.
    pub error_code_at: &'static str,
    /// Operations whose requests never consult the fault rules (they authenticate no
    /// caller), so that no rule may name them.
    pub never_consulted: &'static [&'static str],
}

/// A status a fault rule makes a request answer with.
#[derive(Debug, Clone, Copy)]
pub struct InjectedStatus {
    pub status: u16,
    pub retry_after: Option<u64>,
    /// The operation's rate-limit label, when the dialect has one.
    pub rate_label: Option<&'static str>,
}
