//! A node's memory of its hottest lookups — a bearer token's introspection, an API
//! credential, a user by id or email — so that a request does not read the database to
//! learn what an earlier request read a moment ago.
//!
//! It is exact, not eventually consistent. Every write through the storage port records
//! which tenants and principals it touched ([`Touched`]); once it has committed, and
//! before it is answered, their revisions move on, and an entry is used only while the
//! revisions it was read under stand. So a revoked token fails on the very next request.
//! (On SQLite the writer thread does this for each committed batch.)
//! Revisions are kept in stripes (a principal shares its counter with others whose key
//! hashes alike): a false share costs a miss, never a stale answer.
//!
//! A fill must not store what a concurrent write has already made stale: a write bumps the
//! shared sequence number before the stripes, and a fill keeps its answer only if that
//! sequence did not move while it read (the read happened wholly before the write's
//! commit, or its stamp predates the write's stripe bump and so goes stale itself).
//!
//! It sees only this node's writes: the store gives one to SQLite (one process owns the
//! file) and none to PostgreSQL, where another node's revocation would not be seen.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use hashlink::LruCache;

use super::ops::Introspection;
use super::{Credential, CredentialKind, Principal, Tenant};

const TENANT_STRIPES: usize = 256;
const PRINCIPAL_STRIPES: usize = 4096;
/// Entries kept (least recently used go first): a few MB at most.
const CAPACITY: usize = 8192;

/// What is remembered, by what it was looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A bearer token, by its keyed hash.
    Token(String),
    /// An API credential by kind and lookup key.
    Credential(CredentialKind, String),
    /// A principal of a tenant by id, or by email in lower case.
    Principal { tenant: String, key: String },
}

impl Key {
    /// The key of a principal looked up by id or (case-insensitive) email.
    pub fn principal(tenant: &str, key: &str) -> Key {
        let key = if key.contains('@') { key.to_lowercase() } else { key.to_owned() };
        Key::Principal { tenant: tenant.to_owned(), key }
    }
}

/// A remembered answer.
#[derive(Debug, Clone)]
pub enum Value {
    /// An introspection whose token was active (only those are kept).
    Token(Box<Introspection>),
    Credential(Box<(Credential, Tenant)>),
    Principal(Box<Principal>),
}

/// The revisions an entry was read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    all: u64,
    tenant: (usize, u64),
    principal: Option<(usize, u64)>,
}

struct Entry {
    value: Value,
    stamp: Stamp,
}

/// A fill in progress: the write sequence number when its read began.
#[derive(Debug, Clone, Copy)]
pub struct Fill(u64);

/// What a write touched: the stripes to move on once it has committed.
#[derive(Debug, Default)]
pub struct Touched {
    tenants: Vec<usize>,
    principals: Vec<usize>,
    /// Unknown: a raw write of the harness (a restore, a fork). Everything goes stale.
    everything: bool,
}

impl Touched {
    /// A write whose effects are not known.
    pub fn everything() -> Touched {
        Touched { everything: true, ..Touched::default() }
    }

    /// A change to the tenant itself (its clock, its whole state, its credentials).
    pub fn tenant(&mut self, tenant: &str) {
        self.tenants.push(tenant_stripe(tenant));
    }

    /// A change to one principal (status, profile, epochs, devices, deletion).
    pub fn principal(&mut self, tenant: &str, principal: &str) {
        self.principals.push(principal_stripe(tenant, principal));
    }
}

fn stripe_of(parts: &[&str], stripes: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    parts.hash(&mut hasher);
    // The remainder is below `stripes`, which fits a usize.
    (hasher.finish() % stripes as u64) as usize
}

fn tenant_stripe(tenant: &str) -> usize {
    stripe_of(&[tenant], TENANT_STRIPES)
}

fn principal_stripe(tenant: &str, principal: &str) -> usize {
    stripe_of(&[tenant, principal], PRINCIPAL_STRIPES)
}

/// See the module documentation.
pub struct ReadCache {
    /// Moves on at every write, before its stripes (see [`Fill`]).
    sequence: AtomicU64,
    /// Moves on when a write's effects are unknown: every entry goes stale.
    all: AtomicU64,
    tenants: Box<[AtomicU64]>,
    principals: Box<[AtomicU64]>,
    entries: Mutex<LruCache<Key, Entry>>,
}

impl Default for ReadCache {
    fn default() -> Self {
        let counters = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect::<Vec<_>>().into_boxed_slice();
        ReadCache {
            sequence: AtomicU64::new(0),
            all: AtomicU64::new(0),
            tenants: counters(TENANT_STRIPES),
            principals: counters(PRINCIPAL_STRIPES),
            entries: Mutex::new(LruCache::new(CAPACITY)),
        }
    }
}

impl ReadCache {
    /// The remembered answer for `key`, if it is still what the database holds.
    pub fn get(&self, key: &Key) -> Option<Value> {
        let mut entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        if entry.stamp == self.stamp_like(entry.stamp) {
            Some(entry.value.clone())
        } else {
            entries.remove(key);
            None
        }
    }

    /// Call before the read whose answer [`ReadCache::fill`] may keep.
    pub fn begin(&self) -> Fill {
        Fill(self.sequence.load(SeqCst))
    }

    /// Keeps what a read begun at `fill` found, under the tenant's and (if any) the
    /// principal's current revisions, unless a write finished meanwhile.
    pub fn fill(&self, fill: Fill, key: Key, value: Value, tenant: &str, principal: Option<&str>) {
        let stamp = Stamp {
            all: self.all.load(SeqCst),
            tenant: self.read_stripe(&self.tenants, tenant_stripe(tenant)),
            principal: principal.map(|p| self.read_stripe(&self.principals, principal_stripe(tenant, p))),
        };
        if self.sequence.load(SeqCst) != fill.0 {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key, Entry { value, stamp });
        }
    }

    /// After a write committed, before anyone is answered: what it touched goes stale.
    pub fn written(&self, touched: &Touched) {
        self.sequence.fetch_add(1, SeqCst);
        if touched.everything {
            self.all.fetch_add(1, SeqCst);
        }
        for &i in &touched.tenants {
            self.tenants[i].fetch_add(1, SeqCst);
        }
        for &i in &touched.principals {
            self.principals[i].fetch_add(1, SeqCst);
        }
    }

    fn read_stripe(&self, stripes: &[AtomicU64], i: usize) -> (usize, u64) {
        (i, stripes[i].load(SeqCst))
    }

    /// The current revisions of the stripes `stamp` names.
    fn stamp_like(&self, stamp: Stamp) -> Stamp {
        Stamp {
            all: self.all.load(SeqCst),
            tenant: self.read_stripe(&self.tenants, stamp.tenant.0),
            principal: stamp.principal.map(|(i, _)| self.read_stripe(&self.principals, i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    fn principal(id: &str) -> Value {
        Value::Principal(Box::new(Principal {
            tenant: "t".into(),
            id: id.into(),
            email: format!("{id}@example.com"),
            first_name: String::new(),
            last_name: String::new(),
            license: 1,
            role: "member".into(),
            status: Status::Active,
            attributes: Default::default(),
            created_at: 0,
            updated_at: 0,
            session_epoch: 0,
            sessions_revoked_at: None,
            sessions_revoked_reason: None,
            last_login_at: None,
        }))
    }

    fn cached(cache: &ReadCache, key: &Key) -> bool {
        cache.get(key).is_some()
    }

    #[test]
    fn a_write_to_the_principal_or_its_tenant_ends_the_entry() {
        let cache = ReadCache::default();
        let key = Key::principal("t", "u1");
        let fill = cache.begin();
        cache.fill(fill, key.clone(), principal("u1"), "t", Some("u1"));
        assert!(cached(&cache, &key));

        let mut other = Touched::default();
        other.principal("t", "someone-else-whose-stripe-differs");
        if principal_stripe("t", "someone-else-whose-stripe-differs") != principal_stripe("t", "u1") {
            cache.written(&other);
            assert!(cached(&cache, &key), "another principal's write leaves it");
        }

        let mut touched = Touched::default();
        touched.principal("t", "u1");
        cache.written(&touched);
        assert!(!cached(&cache, &key), "its principal's write ends it");

        cache.fill(cache.begin(), key.clone(), principal("u1"), "t", Some("u1"));
        let mut tenant = Touched::default();
        tenant.tenant("t");
        cache.written(&tenant);
        assert!(!cached(&cache, &key), "its tenant's write ends it");

        cache.fill(cache.begin(), key.clone(), principal("u1"), "t", Some("u1"));
        cache.written(&Touched::everything());
        assert!(!cached(&cache, &key), "a raw write ends everything");
    }

    #[test]
    fn a_fill_that_overlapped_a_write_is_not_kept() {
        let cache = ReadCache::default();
        let key = Key::principal("t", "U1@Example.com");
        assert_eq!(key, Key::principal("t", "u1@example.com"), "emails are keyed in lower case");
        let fill = cache.begin();
        // A write to anyone finishes while the read is under way: its answer may be stale.
        cache.written(&Touched::default());
        cache.fill(fill, key.clone(), principal("u1"), "t", Some("u1"));
        assert!(!cached(&cache, &key));
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = ReadCache::default();
        for i in 0..CAPACITY + 10 {
            let id = format!("u{i}");
            cache.fill(cache.begin(), Key::principal("t", &id), principal(&id), "t", Some(&id));
        }
        assert_eq!(cache.entries.lock().unwrap().len(), CAPACITY);
        assert!(!cached(&cache, &Key::principal("t", "u0")), "the least recently used went first");
    }
}
