//! Prometheus metrics, served at `GET /metrics` (text format 0.0.4, no token: see the README).
//! One registry per process; the hooks are one line each where the thing happens: the HTTP
//! service (every request), the dialects' auth (a refused dead credential), the SQLite
//! writer (queue, batches, WAL) and the PostgreSQL pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// How many dead credentials are remembered as "already refused once" (then the oldest go).
const REMEMBERED_REFUSALS: usize = 10_000;

struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    rate_limited: IntCounterVec,
    revocations: IntCounterVec,
    faults_fired: IntCounterVec,
    revocation_to_refusal: Histogram,
    writer_queue: IntGauge,
    commit_batch: Histogram,
    wal_bytes: IntGauge,
    journal_batches: IntCounter,
    pool_in_use: IntGauge,
    pool_size: IntGauge,
    /// Credentials already refused once since they died (their first refusal was observed).
    refused: Mutex<hashlink::LruCache<String, ()>>,
}

fn registered<C: prometheus::core::Collector + Clone + 'static>(registry: &Registry, collector: C) -> C {
    // Names are constants, each registered once: a failure is a bug in this file.
    registry.register(Box::new(collector.clone())).expect("a metric registered twice");
    collector
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let registry = Registry::new_custom(Some("userplane".into()), None).expect("the metrics prefix is valid");
    let r = &registry;
    let latency_buckets = vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
    let delay_buckets = vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 86_400.0];
    let batch_buckets = vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
    Metrics {
        requests: registered(
            r,
            IntCounterVec::new(
                Opts::new("requests_total", "Requests answered, by dialect, operation and status"),
                &["dialect", "operation", "status"],
            )
            .expect("valid metric"),
        ),
        latency: registered(
            r,
            HistogramVec::new(
                HistogramOpts::new("request_duration_seconds", "Time from a request's head to its answer's head")
                    .buckets(latency_buckets),
                &["dialect", "operation"],
            )
            .expect("valid metric"),
        ),
        rate_limited: registered(
            r,
            IntCounterVec::new(
                Opts::new(
                    "rate_limit_refusals_total",
                    "429 answers (rate limits and the failed-authentication throttle), by dialect and operation",
                ),
                &["dialect", "operation"],
            )
            .expect("valid metric"),
        ),
        revocations: registered(
            r,
            IntCounterVec::new(
                Opts::new("revocations_total", "Successful calls that kill credentials, by operation"),
                &["operation"],
            )
            .expect("valid metric"),
        ),
        faults_fired: registered(
            r,
            IntCounterVec::new(
                Opts::new("faults_fired_total", "Answers injected by fault rules, by operation and effect"),
                &["operation", "effect"],
            )
            .expect("valid metric"),
        ),
        revocation_to_refusal: registered(
            r,
            Histogram::with_opts(
                HistogramOpts::new(
                    "revocation_to_first_refusal_seconds",
                    "From a revocation (tenant clock) to the first refused use of a credential it killed",
                )
                .buckets(delay_buckets),
            )
            .expect("valid metric"),
        ),
        writer_queue: registered(
            r,
            IntGauge::new("sqlite_writer_queue_depth", "Writes waiting for the SQLite writer thread")
                .expect("valid metric"),
        ),
        commit_batch: registered(
            r,
            Histogram::with_opts(
                HistogramOpts::new("sqlite_commit_batch_size", "Writes committed together by one SQLite COMMIT")
                    .buckets(batch_buckets),
            )
            .expect("valid metric"),
        ),
        wal_bytes: registered(
            r,
            IntGauge::new("sqlite_wal_bytes", "Size of the SQLite WAL file after the last commit")
                .expect("valid metric"),
        ),
        journal_batches: registered(
            r,
            IntCounter::new("journal_batches_total", "Batches of the request journal written, one transaction each")
                .expect("valid metric"),
        ),
        pool_in_use: registered(
            r,
            IntGauge::new("postgres_pool_in_use", "PostgreSQL connections running a statement now")
                .expect("valid metric"),
        ),
        pool_size: registered(
            r,
            IntGauge::new("postgres_pool_size", "PostgreSQL connections this node may open").expect("valid metric"),
        ),
        refused: Mutex::new(hashlink::LruCache::new(REMEMBERED_REFUSALS)),
        registry,
    }
});

/// Off (`--no-metrics`): nothing is counted and `/metrics` is not found.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the request metrics and `/metrics` on or off for the process.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Counts an answered request (the HTTP service calls it once per answer). A request no
/// route matched is counted under the operation `none`; a success of one of the dialect's
/// `revoking` operations (those that kill credentials) is also a revocation.
pub fn request_answered(
    dialect: &'static str,
    operation: Option<&'static str>,
    status: StatusCode,
    took: Duration,
    revoking: &[&str],
) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let metrics = &*METRICS;
    let operation = operation.unwrap_or("none");
    metrics.requests.with_label_values(&[dialect, operation, status.as_str()]).inc();
    metrics.latency.with_label_values(&[dialect, operation]).observe(took.as_secs_f64());
    if status == StatusCode::TOO_MANY_REQUESTS {
        metrics.rate_limited.with_label_values(&[dialect, operation]).inc();
    }
    if status.is_success() && revoking.contains(&operation) {
        metrics.revocations.with_label_values(&[operation]).inc();
    }
}

/// A token was looked up for a use (every use of a token userplane issued goes through
/// introspection): if something killed it (not its expiry), its use is refused now.
pub fn introspected(found: Option<&crate::domain::ops::Introspection>, clock: &crate::domain::Clock) {
    if let Some(found) = found
        && let crate::domain::TokenState::Inactive { reason, since } = found.state
        && reason != crate::domain::InactiveReason::Expired
    {
        dead_credential_refused(&found.token.hash, since, found.tenant.now(clock));
    }
}

/// A credential was refused because something killed it at `killed_at` (ms, tenant clock);
/// `now` on the same clock. Only its first refusal is observed.
fn dead_credential_refused(credential: &str, killed_at: i64, now: i64) {
    let metrics = &*METRICS;
    let first = {
        let mut refused = metrics.refused.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        refused.insert(credential.to_owned(), ()).is_none()
    };
    if first && let Some(ms) = now.checked_sub(killed_at).filter(|ms| *ms >= 0) {
        metrics.revocation_to_refusal.observe(ms as f64 / 1000.0);
    }
}

/// A fault rule fired for a request of `operation` with an effect of this kind.
pub fn fault_fired(operation: Option<&str>, effect: &str) {
    if ENABLED.load(Ordering::Relaxed) {
        METRICS.faults_fired.with_label_values(&[operation.unwrap_or("none"), effect]).inc();
    }
}

/// A write was queued for the SQLite writer.
pub fn writer_queued() {
    METRICS.writer_queue.inc();
}

/// The SQLite writer took `size` queued writes into one batch and is committing them.
pub fn writer_batch(size: usize) {
    METRICS.writer_queue.sub(i64::try_from(size).unwrap_or(i64::MAX));
    METRICS.commit_batch.observe(size as f64);
}

/// The SQLite WAL's size after a commit.
pub fn wal_size(bytes: u64) {
    METRICS.wal_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
}

/// PostgreSQL: how many connections the pool may hold.
/// The request journal wrote a batch (one transaction, off every request's path).
pub fn journal_batch() {
    METRICS.journal_batches.inc();
}

pub fn pool_size(size: usize) {
    METRICS.pool_size.set(i64::try_from(size).unwrap_or(i64::MAX));
}

/// A PostgreSQL connection in use while this lives.
pub struct PoolUse(());

impl PoolUse {
    pub fn start() -> PoolUse {
        METRICS.pool_in_use.inc();
        PoolUse(())
    }
}

impl Drop for PoolUse {
    fn drop(&mut self) {
        METRICS.pool_in_use.dec();
    }
}

/// Every metric in Prometheus' text format; `None` when metrics are off.
pub fn text() -> Option<Result<String, prometheus::Error>> {
    if !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    let mut text = String::new();
    Some(TextEncoder::new().encode_utf8(&METRICS.registry.gather(), &mut text).map(|()| text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dead credential's first refusal is observed once, however often it is refused.
    #[test]
    fn the_first_refusal_only_is_timed() {
        let before = METRICS.revocation_to_refusal.get_sample_count();
        dead_credential_refused("metrics-test-credential", 1_000, 3_500);
        dead_credential_refused("metrics-test-credential", 1_000, 9_000);
        assert_eq!(METRICS.revocation_to_refusal.get_sample_count(), before + 1);
    }
}
