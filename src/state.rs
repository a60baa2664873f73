//! What every request handler shares: the store, the clock, the control plane's token
//! hash, the rate limiter, the failed-authentication throttle, the fault rules and the
//! request journal.

use std::sync::Arc;

use crate::domain::Clock;
use crate::limits::RateLimiter;
use crate::store::Store;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Clock,
    /// The control plane's token, hashed.
    pub admin_token_hash: Arc<String>,
    pub limits: Arc<RateLimiter>,
    /// Counts failed authentication per address and credential (see `api::throttle`).
    pub auth_throttle: Arc<crate::throttle::AuthThrottle>,
    /// Fault rules as requests consult them; the request journal's writer (issue 10).
    pub faults: Arc<crate::harness::faults::FaultBook>,
    pub journal: Arc<crate::harness::requests::RequestJournal>,
}
