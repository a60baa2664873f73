//! What every request handler shares: the store, the clock, the control plane's token
//! hash, the rate limiter and the failed-authentication throttle.

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
    pub auth_throttle: Arc<crate::api::throttle::AuthThrottle>,
}
