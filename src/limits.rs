//! Rate limiting: fixed-window counters, keyed by whatever the dialect says (an account
//! and a label, a token). The dialects decide the windows, the limits and the wire.
//!
//! Windows are aligned on the tenant's clock, so advancing a tenant's clock past
//! midnight resets its daily limits.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::Timestamp;

/// The answer to "may this request go through?".
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    /// Requests left in the window after this one.
    pub remaining: u64,
    /// When the window ends.
    pub reset_at: Timestamp,
}

/// Counters held in this process.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Timestamp, u64)>>,
}

impl RateLimiter {
    /// Counts one request against `key` in the window of `window_ms` containing `now`.
    /// A refused request is not counted.
    pub fn hit(&self, key: &str, window_ms: i64, limit: u64, now: Timestamp) -> Decision {
        let start = now.div_euclid(window_ms) * window_ms;
        let reset_at = start + window_ms;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            // Old windows are dead weight: drop the ones that have ended.
            windows.retain(|_, (window_start, _)| *window_start + window_ms > now - 86_400_000);
        }
        let entry = windows.entry(key.to_owned()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        if entry.1 >= limit {
            return Decision { allowed: false, limit, remaining: 0, reset_at };
        }
        entry.1 += 1;
        Decision { allowed: true, limit, remaining: limit - entry.1, reset_at }
    }

    /// Looks at a window without counting.
    pub fn peek(&self, key: &str, window_ms: i64, limit: u64, now: Timestamp) -> Decision {
        let start = now.div_euclid(window_ms) * window_ms;
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let used = windows.get(key).filter(|(s, _)| *s == start).map_or(0, |(_, n)| *n);
        Decision { allowed: used < limit, limit, remaining: limit.saturating_sub(used), reset_at: start + window_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_resets_after() {
        let limiter = RateLimiter::default();
        assert!(limiter.hit("k", 1000, 2, 5_000).allowed);
        let second = limiter.hit("k", 1000, 2, 5_500);
        assert!(second.allowed);
        assert_eq!(second.remaining, 0);
        let third = limiter.hit("k", 1000, 2, 5_999);
        assert!(!third.allowed);
        assert_eq!(third.reset_at, 6_000);
        assert!(limiter.hit("k", 1000, 2, 6_000).allowed);
        assert!(limiter.hit("other", 1000, 2, 5_999).allowed);
    }
}
