//! Rate limiting: fixed-window counters, keyed by whatever the dialect says (an account
//! and a label, a token). The dialects decide the windows, the limits and the wire.
//!
//! Windows are aligned on the tenant's clock, so advancing a tenant's clock past
//! midnight resets its daily limits.
//!
//! A tenant's limit is the account's, whichever node serves it: on SQLite (one node)
//! the counters live in this process; on PostgreSQL they live in the database
//! (`rate_windows`), so every node counts against the same window. Both sit behind
//! the same `async fn hit`.
//!
//! On PostgreSQL a node does not write the shared counter for every request: it leases
//! a share of what is left in the window (a sixteenth, at least one hit) with one
//! atomic upsert, and grants from its lease in memory until it is spent. Leases never
//! add up to more than the limit, so the nodes together never let more through; a lease
//! left unspent (a node that stops seeing a key's traffic) holds back at most a
//! sixteenth of what was left when it was taken. Near the limit leases shrink to one
//! hit, and a full window is refused in memory until it ends.
//!
//! A restore of a snapshot puts a tenant's shared windows back (fewer hits, or an
//! earlier window with the clock): the node that restores drops its leases at once, and
//! every node checks a lease it holds against the shared row at most
//! [`LEASE_CHECK_MS`] after it last saw it, dropping it when the row went back. So a
//! window a restore emptied is open again on every node within that time.

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

/// A lease is checked against its shared row at most this long (wall clock) after the
/// node last saw the row: one read per key and node per second of traffic at most.
const LEASE_CHECK_MS: i64 = 1_000;
/// How often a node sweeps ended windows out of the shared table.
const SWEEP_EVERY_MS: i64 = 10 * 60_000;
/// Windows are swept only this long after they ended, by their tenant's clock (a frozen
/// clock keeps its window open however long the wall clock runs on).
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
    leases: Mutex<HashMap<String, Lease>>,
}

/// What a node knows of a key's shared window, and what it may still grant from it.
#[derive(Debug, Clone, Copy)]
struct Lease {
    window_start: Timestamp,
    /// Hits leased to this node and not yet granted.
    left: u64,
    /// The shared count when last seen (this node's lease included).
    shared_hits: u64,
    /// The shared window had nothing left to lease when last seen.
    full: bool,
    /// When (wall clock) the node last saw the shared row.
    seen_at: i64,
}

/// A lease is this share of what is left in the window.
const LEASE_FRACTION: u64 = 16;

impl Lease {
    fn remaining(&self, limit: u64) -> u64 {
        limit.saturating_sub(self.shared_hits).saturating_add(self.left).min(limit)
    }
}

fn window_start(now: Timestamp, window_ms: i64) -> Timestamp {
    now.div_euclid(window_ms) * window_ms
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

pub use crate::store::queries::{tenant_key_prefix, window_key};

impl RateLimiter {
    /// The limiter for a server on `store`: counters in the database when several nodes
    /// may share it (PostgreSQL), in this process otherwise.
    pub fn for_store(store: &Store) -> Self {
        match store.backend() {
            Backend::Sqlite => RateLimiter::default(),
            Backend::Postgres => RateLimiter {
                local: Mutex::default(),
                shared: Some(Shared { store: store.clone(), last_sweep: AtomicI64::new(0), leases: Mutex::default() }),
            },
        }
    }

    /// Whether the counters are shared with other nodes.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// This process's windows of a tenant as (key, window start, hits), for a snapshot.
    /// On PostgreSQL the windows are rows of `rate_windows`, captured with the tenant's
    /// other rows, and this is empty.
    pub fn local_windows(&self, account: &str) -> Vec<(String, Timestamp, u64)> {
        let prefix = tenant_key_prefix(account);
        let windows = self.local.lock().unwrap_or_else(|p| p.into_inner());
        windows
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .map(|(key, (start, hits))| (key.clone(), *start, *hits))
            .collect()
    }

    /// Puts a tenant's windows back (a restore): this process's counters become
    /// `windows`, and its leases of the tenant's shared windows are dropped (the next
    /// request reads the restored rows).
    pub fn replace_windows(&self, account: &str, windows: Vec<(String, Timestamp, u64)>) {
        let prefix = tenant_key_prefix(account);
        let of_tenant = |key: &String| key.starts_with(&prefix);
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        local.retain(|key, _| !of_tenant(key));
        local.extend(
            windows.into_iter().filter(|(key, _, _)| of_tenant(key)).map(|(k, start, hits)| (k, (start, hits))),
        );
        if let Some(shared) = &self.shared {
            shared.leases.lock().unwrap_or_else(|p| p.into_inner()).retain(|key, _| !of_tenant(key));
        }
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
        let refused =
            |window: Timestamp| Decision { allowed: false, limit, remaining: 0, reset_at: window + window_ms };
        if limit == 0 {
            return refused(start);
        }
        // From this node's lease, without a round trip, while it lasts.
        let known = self.checked_lease(key, start).await;
        if let Some(lease) = known {
            if lease.left > 0 {
                return self.spend(key, lease, limit, window_ms);
            }
            if lease.full {
                return refused(lease.window_start);
            }
        }
        self.sweep_now_and_then();
        let left_in_window = known.map_or(limit, |l| limit.saturating_sub(l.shared_hits));
        let wanted = (left_in_window / LEASE_FRACTION).clamp(1, limit);
        let (owned_key, db_limit, db_wanted) =
            (key.to_owned(), i64::try_from(limit).unwrap_or(i64::MAX), i64::try_from(wanted).unwrap_or(1));
        let leased = self
            .store
            .read(move |c| Ok(q::lease_rate_window(c, &owned_key, start, window_ms, db_limit, db_wanted)?))
            .await;
        match leased {
            Ok(Some(granted)) => {
                let shared_hits = granted.hits.max(0) as u64;
                let window = granted.window_start.max(start);
                let mut lease = match self.lease(key, window) {
                    // Another request of this node leased meanwhile: both leases are ours.
                    Some(l) if l.window_start == window => l,
                    _ => Lease { window_start: window, left: 0, shared_hits: 0, full: false, seen_at: 0 },
                };
                lease.seen_at = wall_clock_ms();
                lease.left += (granted.granted.max(1) as u64) - 1;
                lease.shared_hits = lease.shared_hits.max(shared_hits);
                lease.full = lease.shared_hits >= limit;
                self.store_lease(key, lease);
                Decision { allowed: true, limit, remaining: lease.remaining(limit), reset_at: window + window_ms }
            }
            Ok(None) => {
                let mut lease = self.lease(key, start).unwrap_or(Lease {
                    window_start: start,
                    left: 0,
                    shared_hits: limit,
                    full: true,
                    seen_at: 0,
                });
                lease.seen_at = wall_clock_ms();
                if lease.left > 0 {
                    // A lease of this node's arrived meanwhile: spend it.
                    return self.spend(key, lease, limit, window_ms);
                }
                lease.full = true;
                lease.shared_hits = limit;
                self.store_lease(key, lease);
                refused(lease.window_start)
            }
            Err(err) => {
                // The request itself needs the database and will report the outage; the
                // limiter lets it through rather than turn it into a wrong 429.
                tracing::warn!(error = %err, "rate limiter: shared counter unavailable; allowing");
                Decision { allowed: true, limit, remaining: limit.saturating_sub(1), reset_at: start + window_ms }
            }
        }
    }

    /// Takes one hit from a lease of this node's that has some left.
    fn spend(&self, key: &str, mut lease: Lease, limit: u64, window_ms: i64) -> Decision {
        lease.left -= 1;
        self.store_lease(key, lease);
        Decision { allowed: true, limit, remaining: lease.remaining(limit), reset_at: lease.window_start + window_ms }
    }

    async fn peek(&self, key: &str, window_ms: i64, limit: u64, now: Timestamp) -> Decision {
        let start = window_start(now, window_ms);
        let lease = match self.checked_lease(key, start).await {
            Some(lease) => lease,
            None => {
                let owned_key = key.to_owned();
                match self.store.read(move |c| Ok(q::get_rate_window(c, &owned_key)?)).await {
                    Ok(Some((stored_start, hits))) if stored_start >= start => {
                        let shared_hits = hits.max(0) as u64;
                        let full = shared_hits >= limit;
                        let lease =
                            Lease { window_start: stored_start, left: 0, shared_hits, full, seen_at: wall_clock_ms() };
                        self.store_lease(key, lease);
                        lease
                    }
                    Ok(_) => Lease { window_start: start, left: 0, shared_hits: 0, full: false, seen_at: 0 },
                    Err(err) => {
                        tracing::warn!(error = %err, "rate limiter: shared counter unavailable; allowing");
                        Lease { window_start: start, left: 0, shared_hits: 0, full: false, seen_at: 0 }
                    }
                }
            }
        };
        Decision {
            allowed: lease.left > 0 || !lease.full,
            limit,
            remaining: lease.remaining(limit),
            reset_at: lease.window_start + window_ms,
        }
    }

    /// This node's lease on `key`, if it is for the window starting at `start` or a
    /// later one (a request from an older window counts against the newer).
    fn lease(&self, key: &str, start: Timestamp) -> Option<Lease> {
        let leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        leases.get(key).copied().filter(|l| l.window_start >= start)
    }

    /// [`Self::lease`], checked against the shared row when it was last seen more than
    /// [`LEASE_CHECK_MS`] ago: a row that went back (a restore on some node: another
    /// window, or fewer hits than this node saw) or is gone drops the lease.
    async fn checked_lease(&self, key: &str, start: Timestamp) -> Option<Lease> {
        let lease = self.lease(key, start)?;
        let wall = wall_clock_ms();
        if wall.saturating_sub(lease.seen_at) <= LEASE_CHECK_MS {
            return Some(lease);
        }
        let owned_key = key.to_owned();
        let went_back = match self.store.read(move |c| Ok(q::get_rate_window(c, &owned_key)?)).await {
            Ok(Some((stored_start, hits))) => {
                stored_start != lease.window_start || u64::try_from(hits).unwrap_or(0) < lease.shared_hits
            }
            Ok(None) => true,
            Err(err) => {
                tracing::warn!(error = %err, "rate limiter: shared counter unavailable; keeping the lease");
                false
            }
        };
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        match leases.get_mut(key) {
            // Unless the lease was renewed meanwhile (a newer window, or a new lease).
            Some(held) if held.window_start == lease.window_start && held.seen_at == lease.seen_at => {
                if went_back {
                    leases.remove(key);
                    return None;
                }
                held.seen_at = wall;
                Some(*held)
            }
            held => held.copied().filter(|l| l.window_start >= start),
        }
    }

    fn store_lease(&self, key: &str, lease: Lease) {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        if leases.len() > 100_000 {
            // Leases of ended windows are dead weight (a day covers the longest window).
            let horizon = lease.window_start - 86_400_000;
            leases.retain(|_, l| l.window_start > horizon);
        }
        match leases.get_mut(key) {
            Some(held) if held.window_start > lease.window_start => {}
            Some(held) => *held = lease,
            None => {
                leases.insert(key.to_owned(), lease);
            }
        }
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
            let swept = store.read(move |c| Ok(q::delete_rate_windows_ended(c, wall, SWEEP_GRACE_MS)?)).await;
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

    /// The shared counters' lease query, run on SQLite.
    #[tokio::test]
    async fn the_shared_window_query_counts_refuses_and_rolls_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("t.db").to_str().unwrap()).await.unwrap();
        let lease = |start: i64, wanted: i64| {
            let store = store.clone();
            async move {
                let leased = store.read(move |c| Ok(q::lease_rate_window(c, "k", start, 1000, 5, wanted)?)).await;
                leased.unwrap().map(|l| (l.hits, l.window_start, l.granted))
            }
        };
        assert_eq!(lease(5_000, 1).await, Some((1, 5_000, 1)));
        assert_eq!(lease(5_000, 2).await, Some((3, 5_000, 2)));
        // Never more than the limit: what is left, then nothing.
        assert_eq!(lease(5_000, 4).await, Some((5, 5_000, 2)));
        assert_eq!(lease(5_000, 1).await, None);
        // A late request from the previous window counts against the current one.
        assert_eq!(lease(4_000, 1).await, None);
        assert_eq!(lease(6_000, 3).await, Some((3, 6_000, 3)));
        assert_eq!(lease(5_000, 1).await, Some((4, 6_000, 1)));
        // No tenant owns "k": the wall clock decides.
        let swept = store.read(|c| Ok(q::delete_rate_windows_ended(c, 7_101, 100)?)).await.unwrap();
        assert_eq!(swept, 1);
    }

    /// A window of a frozen tenant stays however long the wall clock runs on; one of a
    /// running tenant goes once it ended by that tenant's clock.
    #[tokio::test]
    async fn windows_are_swept_by_their_tenants_clock() {
        use crate::domain::{Provider, Tenant};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("t.db").to_str().unwrap()).await.unwrap();
        let tenant = |id: &str, frozen: Option<i64>, offset: i64| Tenant {
            account_id: id.into(),
            provider: Provider::new("zoom"),
            plan: "pro".into(),
            rate_limits: true,
            clock_offset_ms: offset,
            clock_frozen_at: frozen,
            created_at: 0,
            fault_rules: false,
        };
        let (frozen, behind) = (tenant("frozen", Some(5_000), 0), tenant("behind", None, -3_590_000));
        let running = tenant("running", None, 0);
        store
            .write(move |c| {
                for t in [&frozen, &behind, &running] {
                    q::insert_tenant(c, t, &serde_json::json!({}))?;
                    q::set_clock(c, &t.account_id, t.clock_offset_ms, t.clock_frozen_at)?;
                    q::lease_rate_window(c, &q::window_key(&t.account_id, "x"), 5_000, 1000, 5, 1)?;
                }
                Ok(())
            })
            .await
            .unwrap();
        // An hour of wall clock later: by its own clock the frozen tenant is still at 5 s,
        // the one behind at 10 s (unfrozen after a freeze); only the running one's window
        // ended more than a minute ago.
        let swept = store.read(|c| Ok(q::delete_rate_windows_ended(c, 3_600_000, 60_000)?)).await.unwrap();
        assert_eq!(swept, 1);
        for (key, kept) in [("frozen:x", true), ("behind:x", true), ("running:x", false)] {
            let found = store.read(move |c| Ok(q::get_rate_window(c, key)?)).await.unwrap();
            assert_eq!(found.is_some(), kept, "{key}");
        }
    }
}
