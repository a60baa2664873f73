//! Retention: expired tokens and sessions, the revocations they needed, and old journal
//! records are pruned in the background, tenant by tenant, in bounded batches (at most
//! [`BATCH_ROWS`] rows of each kind per transaction, a short pause between batches), by
//! the policy of `--retain-tokens-for` and `--retain-audit-for`.

use std::time::Duration;

use crate::config::ServeConfig;
use crate::domain::{Clock, Error, ops};
use crate::store::Store;

/// The most rows of each kind one batch (one transaction) removes.
pub const BATCH_ROWS: u32 = 1000;
/// The pause between two batches, so that pruning a backlog never hogs the writer.
const PAUSE: Duration = Duration::from_millis(10);

/// How long things are kept, and how often the pruner looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// After a token expires.
    pub tokens: Duration,
    /// After a journal record is written.
    pub audit: Duration,
    pub every: Duration,
}

impl Policy {
    /// The policy of a `serve` configuration; the journal outlives the tokens it tells of.
    pub fn from_config(config: &ServeConfig) -> Result<Policy, String> {
        let policy =
            Policy { tokens: config.retain_tokens_for, audit: config.retain_audit_for, every: config.prune_every };
        if policy.audit < policy.tokens {
            return Err("--retain-audit-for must be at least --retain-tokens-for".into());
        }
        if policy.every.is_zero() {
            return Err("--prune-every must be more than 0".into());
        }
        Ok(policy)
    }
}

/// What a pass removed, over every tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub tokens: u64,
    pub revocations: u64,
    pub audit: u64,
    /// Transactions run.
    pub batches: u64,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One pass over every tenant: batches until each tenant has nothing left to prune.
pub async fn pass(store: &Store, clock: &Clock, policy: &Policy) -> Result<Report, Error> {
    let mut report = Report::default();
    for tenant in ops::list_tenants(store).await? {
        loop {
            let pruned = ops::prune_batch(
                store,
                clock,
                &tenant.account_id,
                millis(policy.tokens),
                millis(policy.audit),
                BATCH_ROWS,
            )
            .await?;
            report.tokens += pruned.tokens;
            report.revocations += pruned.revocations;
            report.audit += pruned.audit;
            report.batches += 1;
            let full = [pruned.tokens, pruned.revocations, pruned.audit].iter().any(|n| *n >= u64::from(BATCH_ROWS));
            if !full {
                break;
            }
            tokio::time::sleep(PAUSE).await;
        }
    }
    Ok(report)
}

/// The background pruner: a pass every `policy.every` (the first one interval after
/// start) until dropped.
pub struct Pruner {
    store: Store,
    clock: Clock,
    policy: Policy,
    task: tokio::task::JoinHandle<()>,
}

impl Pruner {
    pub fn start(store: Store, clock: Clock, policy: Policy) -> Pruner {
        let task = {
            let store = store.clone();
            tokio::spawn(async move {
                let first = tokio::time::Instant::now() + policy.every;
                let mut ticks = tokio::time::interval_at(first, policy.every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    match pass(&store, &clock, &policy).await {
                        Ok(r) if r.tokens + r.revocations + r.audit > 0 => tracing::info!(
                            tokens = r.tokens,
                            revocations = r.revocations,
                            audit = r.audit,
                            batches = r.batches,
                            "retention: pruned"
                        ),
                        Ok(_) => {}
                        Err(err) => tracing::warn!(cause = %err, "retention: pass failed; will retry next time"),
                    }
                }
            })
        };
        Pruner { store, clock, policy, task }
    }

    /// Runs a pass now (besides the scheduled ones) and says what it removed.
    pub async fn prune_now(&self) -> Result<Report, Error> {
        pass(&self.store, &self.clock, &self.policy).await
    }
}

impl Drop for Pruner {
    fn drop(&mut self) {
        self.task.abort();
    }
}
