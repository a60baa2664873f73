//! The request journal (issue 10): every dialect request of a tenant, apart from the
//! audit journal of state changes.
//!
//! Requests hand their entry to [`RequestJournal::record`], which never waits: a
//! background task writes what has queued up in one transaction (at most every
//! [`BATCH_INTERVAL`], at most [`BATCH_SIZE`] entries), and trims a tenant's ring to its
//! newest `--journal-size` entries once it has grown by a tenth. So a request costs no commit of its own. The
//! guarantee: an entry is in the store within about `BATCH_INTERVAL` of its answer (and
//! before any journal read on the same node, which flushes first); a crash loses at most
//! the entries of that interval; if the queue is full ([`QUEUE_CAPACITY`]) new entries
//! are dropped and counted, never the request held up.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::domain::clock::rfc3339;
use crate::domain::{Error, Result, Timestamp};
use crate::store::{Store, requests as q};

pub const BATCH_INTERVAL: Duration = Duration::from_millis(50);
pub const BATCH_SIZE: usize = 1_000;
pub const QUEUE_CAPACITY: usize = 20_000;
/// The default and the bounds of `--journal-size` (entries kept per tenant).
pub const DEFAULT_SIZE: u64 = 10_000;
pub const MAX_SIZE: u64 = 10_000_000;
/// The most entries one read returns.
pub const MAX_LIMIT: u32 = 1_000;

pub use crate::store::requests::{Entry, Filter};

impl Entry {
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "at": rfc3339_ms(self.at),
            "wall_at": rfc3339_ms(self.wall_at),
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "credential_id": self.credential_id,
            "user": self.user,
            "operation": self.operation,
            "status": self.status,
            "duration_ms": self.duration_us as f64 / 1000.0,
            "error_code": self.error_code,
            "fault": self.fault,
        })
    }
}

/// RFC 3339 with milliseconds (requests come many to a second).
fn rfc3339_ms(at: Timestamp) -> String {
    let whole = rfc3339(at);
    match whole.strip_suffix('Z') {
        Some(seconds) => format!("{seconds}.{:03}Z", at.rem_euclid(1000)),
        None => whole,
    }
}

fn invalid(field: &str, message: &str) -> Error {
    Error::Invalid { field: Some(field.to_owned()), message: message.to_owned() }
}

impl Filter {
    /// From query parameters; an unknown parameter is refused.
    pub fn parse(params: &HashMap<String, String>) -> Result<Filter> {
        const KNOWN: &[&str] = &["operation", "method", "path_prefix", "status", "user", "since", "after", "limit"];
        if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(invalid(unknown, &format!("unknown parameter; expected one of {}", KNOWN.join(", "))));
        }
        let text = |name: &str| -> Result<Option<String>> {
            match params.get(name) {
                None => Ok(None),
                Some(v) if !v.is_empty() && v.len() <= 512 && !v.contains('\0') => Ok(Some(v.clone())),
                Some(_) => Err(invalid(name, "must be 1 to 512 bytes")),
            }
        };
        let status = match params.get("status") {
            None => None,
            Some(s) => Some(
                s.parse::<u16>()
                    .ok()
                    .filter(|s| (100..=599).contains(s))
                    .ok_or_else(|| invalid("status", "must be an HTTP status from 100 to 599"))?,
            ),
        };
        let since = match params.get("since") {
            None => None,
            Some(s) => Some(
                super::faults::parse_instant(s)
                    .ok_or_else(|| invalid("since", "must be an RFC 3339 time, e.g. 2026-12-01T10:00:00Z"))?,
            ),
        };
        let after = match params.get("after") {
            None => 0,
            Some(a) => a
                .parse::<i64>()
                .ok()
                .filter(|a| *a >= 0)
                .ok_or_else(|| invalid("after", "must be a whole number, 0 or more"))?,
        };
        let limit = match params.get("limit") {
            None => 100,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| invalid("limit", "must be a whole number from 1 to 1000"))?,
        };
        Ok(Filter {
            operation: text("operation")?,
            method: text("method")?.map(|m| m.to_ascii_uppercase()),
            path_prefix: text("path_prefix")?,
            status,
            user: text("user")?,
            since,
            after,
            limit,
        })
    }
}

enum Command {
    Record(Box<Entry>),
    Flush(oneshot::Sender<()>),
}

/// The journal's writer: a queue and the task that empties it into the store.
pub struct RequestJournal {
    queue: mpsc::Sender<Command>,
    dropped: Arc<AtomicU64>,
}

impl RequestJournal {
    /// Starts the writer; `size` entries are kept per tenant.
    pub fn start(store: Store, size: u64) -> RequestJournal {
        let (queue, commands) = mpsc::channel(QUEUE_CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        tokio::spawn(write_batches(store, size, commands, dropped.clone()));
        RequestJournal { queue, dropped }
    }

    /// Queues an entry; never waits.
    pub fn record(&self, entry: Entry) {
        if self.queue.try_send(Command::Record(Box::new(entry))).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Returns once every entry queued before the call is in the store.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Command::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// Entries dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub async fn list(&self, store: &Store, tenant: &str, filter: Filter) -> Result<Vec<Entry>> {
        self.flush().await;
        let tenant = tenant.to_owned();
        store.read(move |c| Ok(q::list(c, &tenant, &filter)?)).await
    }

    pub async fn count(&self, store: &Store, tenant: &str, filter: Filter) -> Result<u64> {
        self.flush().await;
        let tenant = tenant.to_owned();
        store.read(move |c| Ok(q::count(c, &tenant, &filter)?)).await
    }
}

/// The tenants whose rings to trim with this batch: those with a tenth of `size` (at
/// least one) new entries since their last trim. A trim walks `size` index entries, so it
/// is not done for every batch; a ring holds at most `size` plus a tenth.
fn due_for_trim(since_trim: &mut HashMap<String, u64>, entries: &[Entry], size: u64) -> Vec<String> {
    for entry in entries {
        *since_trim.entry(entry.tenant.clone()).or_insert(0) += 1;
    }
    let slack = (size / 10).max(1);
    let due: Vec<String> = since_trim.iter().filter(|(_, n)| **n >= slack).map(|(t, _)| t.clone()).collect();
    for tenant in &due {
        since_trim.remove(tenant);
    }
    due
}

fn take(command: Command, entries: &mut Vec<Entry>, waiting: &mut Vec<oneshot::Sender<()>>) {
    match command {
        Command::Record(entry) => entries.push(*entry),
        Command::Flush(done) => waiting.push(done),
    }
}

async fn write_batches(store: Store, size: u64, mut commands: mpsc::Receiver<Command>, dropped: Arc<AtomicU64>) {
    let mut reported_drops = 0;
    let mut since_trim = HashMap::new();
    while let Some(first) = commands.recv().await {
        let mut entries = Vec::new();
        let mut waiting = Vec::new();
        take(first, &mut entries, &mut waiting);
        // Gather for a moment, unless someone waits for the write.
        let deadline = tokio::time::Instant::now() + BATCH_INTERVAL;
        while waiting.is_empty() && entries.len() < BATCH_SIZE {
            match tokio::time::timeout_at(deadline, commands.recv()).await {
                Ok(Some(command)) => take(command, &mut entries, &mut waiting),
                Ok(None) | Err(_) => break,
            }
        }
        while entries.len() < BATCH_SIZE
            && let Ok(command) = commands.try_recv()
        {
            take(command, &mut entries, &mut waiting);
        }
        if !entries.is_empty() {
            let count = entries.len();
            let trim = due_for_trim(&mut since_trim, &entries, size);
            let written = store
                .write_beside_state(move |c| {
                    q::append(c, &entries)?;
                    for tenant in &trim {
                        q::trim(c, tenant, size)?;
                    }
                    Ok(())
                })
                .await;
            match written {
                Ok(()) => crate::metrics::journal_batch(),
                Err(err) => tracing::warn!(%err, entries = count, "request journal: a batch could not be written"),
            }
        }
        let drops = dropped.load(Ordering::Relaxed);
        if drops > reported_drops {
            tracing::warn!(dropped = drops - reported_drops, "request journal: queue full, entries dropped");
            reported_drops = drops;
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn filters_are_range_checked() {
        let f = Filter::parse(&params(&[("status", "503"), ("method", "put"), ("limit", "5")])).unwrap();
        assert_eq!((f.status, f.method.as_deref(), f.limit, f.after), (Some(503), Some("PUT"), 5, 0));
        for bad in [
            ("status", "99"),
            ("status", "x"),
            ("limit", "0"),
            ("limit", "1001"),
            ("after", "-1"),
            ("since", "yesterday"),
            ("bogus", "1"),
            ("user", ""),
        ] {
            assert!(Filter::parse(&params(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times_keep_their_milliseconds() {
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
