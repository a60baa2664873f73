//! Rate limiting: fixed-window counters, keyed by whatever the dialect says (an account
//! and a label, a token). The dialects decide the windows, the limits and the wire.
//!
//! Windows are aligned on the tenant's clock, so advancing a tenant's clock past
//! midnight resets its daily limits.
//!
//! A tenant's limit is the account's, whichever node serves it: on SQLite (one node)
//! the counters live in this process; on PostgreSQL they live in the database
//! (`rate_windows`, one atomic upsert per hit), so every node counts against the same
//! window. Both sit behind the same `async fn hit`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::domain::Timestamp;
use crate::store::{Backend, Store, queries as q};

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

/// How often a node sweeps ended windows out of the shared table.
const SWEEP_EVERY_MS: i64 = 10 * 60_000;
/// Windows are swept only this long after they ended (tenant clocks never run behind
/// the wall clock, so an ended window stays ended).
const SWEEP_GRACE_MS: i64 = 3_600_000;

/// Rate-limit counters: in this process, or shared by every node through the database.
#[derive(Default)]
pub struct RateLimiter {
    local: Mutex<HashMap<String, (Timestamp, u64)>>,
    shared: Option<Shared>,
}

struct Shared {
    store: Store,
    last_sweep: AtomicI64,
}

fn window_start(now: Timestamp, window_ms: i64) -> Timestamp {
    now.div_euclid(window_ms) * window_ms
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl RateLimiter {
    /// The limiter for a server on `store`: counters in the database when several nodes
    /// may share it (PostgreSQL), in this process otherwise.
    pub fn for_store(store: &Store) -> Self {
        match store.backend() {
            Backend::Sqlite => RateLimiter::default(),
            Backend::Postgres => RateLimiter {
                local: Mutex::default(),
                shared: Some(Shared { store: store.clone(), last_sweep: AtomicI64::new(0) }),
            },
        }
    }

    /// Whether the counters are shared with other nodes.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Counts one request against `key` in the window of `window_ms` containing `now`.
    /// A refused request is not counted.
    pub async fn hit(&self, key: &str, window_ms: i64, limit: u64, now: Timestamp) -> Decision {
        match &self.shared {
            None => self.hit_local(key, window_ms, limit, now),
            Some(shared) => shared.hit(key, window_ms, limit, now).await,
        }
    }

    /// Looks at a window without counting.
    pub async fn peek(&self, key: &str, window_ms: i64, limit: u64, now: Timestamp) -> Decision {
        match &self.shared {
            None => self.peek_local(key, window_ms, limit, now),
            Some(shared) => shared.peek(key, window_ms, limit, now).await,
        }
    }

    fn hit_local(&self, key: &str, window_ms: i64, limit: u64, now: Timestamp) -> Decision {
        let start = window_start(now, window_ms);
        let reset_at = start + window_ms;
        let mut windows = self.local.lock().unwrap_or_else(|p| p.into_inner());
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

    fn peek_local(&self, key: &str, window_ms: i64, limit: u64, now: Timestamp) -> Decision {
        let start = window_start(now, window_ms);
        let windows = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let used = windows.get(key).filter(|(s, _)| *s == start).map_or(0, |(_, n)| *n);
        Decision { allowed: used < limit, limit, remaining: limit.saturating_sub(used), reset_at: start + window_ms }
    }
}

impl Shared {
    async fn hit(&self, key: &str, window_ms: i64, limit: u64, now: Timestamp) -> Decision {
        let start = window_start(now, window_ms);
        let refused = Decision { allowed: false, limit, remaining: 0, reset_at: start + window_ms };
        if limit == 0 {
            return refused;
        }
        self.sweep_now_and_then();
        let (key, db_limit) = (key.to_owned(), i64::try_from(limit).unwrap_or(i64::MAX));
        let counted = self.store.read(move |c| Ok(q::hit_rate_window(c, &key, start, window_ms, db_limit)?)).await;
        match counted {
            Ok(Some((hits, counted_start))) => Decision {
                allowed: true,
                limit,
                remaining: limit.saturating_sub(hits.max(0) as u64),
                reset_at: counted_start.max(start) + window_ms,
            },
            Ok(None) => refused,
            Err(err) => {
                // The request itself needs the database and will report the outage; the
                // limiter lets it through rather than turn it into a wrong 429.
                tracing::warn!(error = %err, "rate limiter: shared counter unavailable; allowing");
                Decision { allowed: true, limit, remaining: limit.saturating_sub(1), reset_at: start + window_ms }
            }
        }
    }

    async fn peek(&self, key: &str, window_ms: i64, limit: u64, now: Timestamp) -> Decision {
        let start = window_start(now, window_ms);
        let key = key.to_owned();
        let used = match self.store.read(move |c| Ok(q::get_rate_window(c, &key)?)).await {
            Ok(Some((stored_start, hits))) if stored_start >= start => hits.max(0) as u64,
            Ok(_) => 0,
            Err(err) => {
                tracing::warn!(error = %err, "rate limiter: shared counter unavailable; allowing");
                0
            }
        };
        Decision { allowed: used < limit, limit, remaining: limit.saturating_sub(used), reset_at: start + window_ms }
    }

    /// Deletes long-ended windows, at most once per [`SWEEP_EVERY_MS`] per node, in the
    /// background.
    fn sweep_now_and_then(&self) {
        let wall = wall_clock_ms();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if wall - last < SWEEP_EVERY_MS
            || self.last_sweep.compare_exchange(last, wall, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return;
        }
        let store = self.store.clone();
        tokio::spawn(async move {
            let swept = store.read(move |c| Ok(q::delete_rate_windows_ended_before(c, wall - SWEEP_GRACE_MS)?)).await;
            if let Err(err) = swept {
                tracing::warn!(error = %err, "rate limiter: sweeping ended windows failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_within_a_window_and_resets_after() {
        let limiter = RateLimiter::default();
        assert!(limiter.hit("k", 1000, 2, 5_000).await.allowed);
        let second = limiter.hit("k", 1000, 2, 5_500).await;
        assert!(second.allowed);
        assert_eq!(second.remaining, 0);
        let third = limiter.hit("k", 1000, 2, 5_999).await;
        assert!(!third.allowed);
        assert_eq!(third.reset_at, 6_000);
        assert!(!limiter.peek("k", 1000, 2, 5_999).await.allowed);
        assert!(limiter.hit("k", 1000, 2, 6_000).await.allowed);
        assert!(limiter.hit("other", 1000, 2, 5_999).await.allowed);
    }

    /// The shared counters' query, run on SQLite: same answers as the local counters.
    #[tokio::test]
    async fn the_shared_window_query_counts_refuses_and_rolls_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("t.db").to_str().unwrap()).await.unwrap();
        let hit = |start: i64| {
            let store = store.clone();
            async move { store.read(move |c| Ok(q::hit_rate_window(c, "k", start, 1000, 2)?)).await.unwrap() }
        };
        assert_eq!(hit(5_000).await, Some((1, 5_000)));
        assert_eq!(hit(5_000).await, Some((2, 5_000)));
        assert_eq!(hit(5_000).await, None);
        // A late request from the previous window counts against the current one.
        assert_eq!(hit(4_000).await, None);
        assert_eq!(hit(6_000).await, Some((1, 6_000)));
        assert_eq!(hit(5_000).await, Some((2, 6_000)));
        let swept = store.read(|c| Ok(q::delete_rate_windows_ended_before(c, 7_001)?)).await.unwrap();
        assert_eq!(swept, 1);
    }
}
