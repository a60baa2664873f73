//! Failed authentication is not free: wrong credentials are counted per source address
//! and per credential name (a Zoom `client_id`, a global key's email) in fixed windows;
//! past the limit, a wrong credential is answered with the dialect's 429 and
//! `Retry-After` instead of its usual 401 / 403.
//!
//! A right credential is never slowed: it is always checked, and passes even from an
//! address (or for a client id) that is being throttled, so that someone sending wrong
//! secrets cannot lock the owner out, nor a job sharing its address (a CI runner behind
//! NAT, every test on 127.0.0.1). The price: throttling does not stop an address from
//! testing guesses, it only makes every wrong one past the limit an explicit 429 (a
//! client that honours it slows down) — userplane's own secrets are 256-bit random, and a
//! secret chosen in a tenant document should be long. Only credentials that were never
//! issued count: an expired or revoked token is not a guess.
//!
//! Memory is bounded: at most [`CAPACITY`] keys, the least recently failed evicted first.
//! Counters are per node (on PostgreSQL each node throttles on its own).

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use hashlink::LruCache;
use sha2::{Digest, Sha256};

/// Keys (addresses and credential names) tracked at most. Each is kept as its SHA-256,
/// so an entry costs under 100 bytes however long the client id it counts.
pub const CAPACITY: usize = 10_000;

/// How many wrong credentials a key may send per window before it is answered 429.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    /// Failures allowed per window; 0 turns throttling off.
    pub max_failures: u32,
    pub window: Duration,
}

/// The failure counters, shared by every dialect.
pub struct AuthThrottle {
    limits: ThrottleLimits,
    windows: Mutex<LruCache<[u8; 32], Window>>,
}

struct Window {
    started: Instant,
    failures: u32,
}

impl AuthThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        AuthThrottle { limits, windows: Mutex::new(LruCache::new(CAPACITY)) }
    }

    /// Counts a wrong credential under each key (`None` keys are skipped). Returns the
    /// seconds to wait when any of them is now past its limit: the caller answers 429.
    pub fn failed(&self, keys: &[Option<String>]) -> Option<u64> {
        if self.limits.max_failures == 0 {
            return None;
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut wait: Option<Duration> = None;
        for key in keys.iter().flatten() {
            let key: [u8; 32] = Sha256::digest(key.as_bytes()).into();
            if !windows.contains_key(&key) {
                windows.insert(key, Window { started: now, failures: 0 });
            }
            let Some(window) = windows.get_mut(&key) else { continue };
            if now.duration_since(window.started) >= self.limits.window {
                *window = Window { started: now, failures: 0 };
            }
            window.failures = window.failures.saturating_add(1);
            if window.failures > self.limits.max_failures {
                let left = self.limits.window.saturating_sub(now.duration_since(window.started));
                wait = Some(wait.map_or(left, |w| w.max(left)));
            }
        }
        wait.map(|left| left.as_secs_f64().ceil().max(1.0) as u64)
    }
}

/// The throttle key of the request's source address (an IPv6 address by its /64, which
/// one host usually holds whole), when the server knows it.
#[derive(Debug, Clone)]
pub struct SourceAddress(pub Option<String>);

impl SourceAddress {
    pub fn of(parts_extensions: &axum::http::Extensions) -> Self {
        let address = parts_extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| match addr.ip() {
            IpAddr::V4(ip) => format!("addr:{ip}"),
            IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                Some(v4) => format!("addr:{v4}"),
                None => {
                    let s = ip.segments();
                    format!("addr:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        });
        SourceAddress(address)
    }

    /// The key to count failures of this address under.
    pub fn key(&self) -> Option<String> {
        self.0.clone()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SourceAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(SourceAddress::of(&parts.extensions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(max_failures: u32, window_ms: u64) -> AuthThrottle {
        AuthThrottle::new(ThrottleLimits { max_failures, window: Duration::from_millis(window_ms) })
    }

    #[test]
    fn the_failure_past_the_limit_is_refused_until_the_window_ends() {
        let t = throttle(3, 200);
        let key = [Some("addr:10.0.0.1".to_owned())];
        for _ in 0..3 {
            assert_eq!(t.failed(&key), None);
        }
        assert_eq!(t.failed(&key), Some(1));
        assert_eq!(t.failed(&[Some("addr:10.0.0.2".to_owned())]), None, "another address is not throttled");
        std::thread::sleep(Duration::from_millis(220));
        assert_eq!(t.failed(&key), None, "a new window counts from zero");
    }

    #[test]
    fn any_key_past_its_limit_throttles_and_zero_turns_it_off() {
        let t = throttle(1, 60_000);
        let client = Some("zoom_client:x".to_owned());
        assert_eq!(t.failed(&[Some("addr:a".into()), client.clone()]), None);
        assert_eq!(t.failed(&[Some("addr:b".into()), client]), Some(60));
        let off = throttle(0, 60_000);
        assert!((0..100).all(|_| off.failed(&[Some("k".into())]).is_none()));
    }

    #[test]
    fn memory_is_bounded() {
        let t = throttle(5, 60_000);
        for i in 0..CAPACITY + 500 {
            t.failed(&[Some(format!("addr:{i}"))]);
        }
        assert_eq!(t.windows.lock().unwrap().len(), CAPACITY);
    }
}
