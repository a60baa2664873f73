//! The playbook for one person, over every provider in [`PROVIDERS`].
//!
//! Order: look the person up at each provider (in parallel), then run the selected steps
//! phase by phase (sessions first, then delegations, then the account); within a phase
//! the providers run in parallel, each provider's steps one after the other. A failed
//! step never stops the others. Every step checks before it changes, so a second run
//! reports "already done" instead of failing.
//!
//! A write that went unanswered (a 5xx, a reset, a timeout) may have been applied: the
//! step runs again in "recheck" mode, which reads the provider's state first; if the
//! change is there the step is done ("applied, but the provider answered 503") and the
//! write is not sent twice.

use std::time::{Duration, Instant};

use super::failure::{FailureKind, ProviderError};
use super::http::{CallLog, GiveUp, attempts_text};
use super::progress::Notices;
use super::provider::{PROVIDERS, Phase, ProviderClient, ProviderInfo, RemoteUser, RunMode, StepName, Target};
use super::report::{LookupReport, Outcome, PersonReport, StepReport, Success};
use super::retry::{RetryPolicy, human_duration};

/// What a lookup established.
#[derive(Debug)]
enum Resolution {
    /// No selected step needs this provider.
    NotNeeded,
    /// The provider has no credentials.
    NotConfigured,
    Found(RemoteUser),
    Unknown,
    Failed(ProviderError),
}

/// A provider in the run: its declaration and, when configured, its client.
#[derive(Debug)]
struct Slot {
    info: &'static ProviderInfo,
    client: Option<Box<dyn ProviderClient>>,
}

/// Runs the playbook against the configured providers.
#[derive(Debug)]
pub struct Playbook {
    providers: Vec<Slot>,
    steps: Vec<StepName>,
    dry_run: bool,
    policy: RetryPolicy,
    give_up: Option<GiveUp>,
    notices: Notices,
}

impl Playbook {
    /// A playbook running `steps` (any order; they run in playbook order) with `clients`
    /// (the configured ones; the others are reported as not configured).
    pub fn new(
        mut clients: Vec<Box<dyn ProviderClient>>,
        steps: &[StepName],
        dry_run: bool,
        policy: RetryPolicy,
        give_up: Option<GiveUp>,
        notices: Notices,
    ) -> Self {
        let providers = PROVIDERS
            .iter()
            .map(|kind| {
                let info = kind.info();
                let client = clients
                    .iter()
                    .position(|client| client.info().provider == info.provider)
                    .map(|i| clients.swap_remove(i));
                Slot { info, client }
            })
            .collect();
        let mut steps = steps.to_vec();
        steps.sort();
        steps.dedup();
        Self { providers, steps, dry_run, policy, give_up, notices }
    }

    /// A call log whose retry budget starts now (and ends no later than the run's bound).
    fn call_log(&self) -> CallLog {
        let now = Instant::now();
        // A budget too large to represent is, in practice, no budget.
        let deadline =
            now.checked_add(self.policy.max_retry_time).unwrap_or(now + Duration::from_secs(100 * 365 * 86_400));
        CallLog::new(self.give_up.map_or(deadline, |give_up| deadline.min(give_up.at)))
    }

    /// Runs the selected steps for one person (`offboard`, or `reinstate` with its steps).
    pub async fn run(&self, email: &str) -> PersonReport {
        let resolved = futures::future::join_all(self.providers.iter().map(|slot| self.lookup(slot, email))).await;
        let (resolutions, lookups): (Vec<Resolution>, Vec<Option<LookupReport>>) = resolved.into_iter().unzip();
        let unknown_everywhere = unknown_message(&self.providers, &resolutions);

        let mut phases: Vec<Phase> = self.steps.iter().map(|step| step.spec().phase).collect();
        phases.dedup();
        let mut steps = Vec::with_capacity(self.steps.len());
        for phase in phases {
            let per_provider = self.providers.iter().zip(&resolutions).map(|(slot, resolution)| async {
                let mut reports = Vec::new();
                for step in
                    self.steps.iter().filter(|step| step.spec().phase == phase && step.provider() == slot.info.provider)
                {
                    reports.push(self.step(*step, slot, resolution, email, &unknown_everywhere).await);
                }
                reports
            });
            steps.extend(futures::future::join_all(per_provider).await.into_iter().flatten());
        }
        PersonReport::new(email, lookups.into_iter().flatten().collect(), steps)
    }

    async fn lookup(&self, slot: &Slot, email: &str) -> (Resolution, Option<LookupReport>) {
        let provider = slot.info.provider;
        if !self.steps.iter().any(|step| step.provider() == provider) {
            return (Resolution::NotNeeded, None);
        }
        let Some(client) = &slot.client else {
            return (Resolution::NotConfigured, None);
        };
        let started = Instant::now();
        let mut log = self.call_log();
        match client.lookup(email, &mut log).await {
            Ok(Some(user)) => {
                let report = LookupReport::found(provider, user.id.clone(), user.status.clone(), log, started);
                (Resolution::Found(user), Some(report))
            }
            Ok(None) => (Resolution::Unknown, Some(LookupReport::not_found(provider, log, started))),
            Err(err) => {
                let report = LookupReport::failed(provider, &err, log, started);
                (Resolution::Failed(err), Some(report))
            }
        }
    }

    /// Runs one step, or reports why it cannot run.
    async fn step(
        &self,
        step: StepName,
        slot: &Slot,
        resolution: &Resolution,
        email: &str,
        unknown_everywhere: &Option<String>,
    ) -> StepReport {
        let info = slot.info;
        match (resolution, &slot.client) {
            (Resolution::NotConfigured | Resolution::NotNeeded, _) | (_, None) => {
                StepReport::skipped(step, info.not_configured_step)
            }
            (Resolution::Unknown, _) => match unknown_everywhere {
                Some(message) => StepReport::not_attempted(step, FailureKind::NotFound, message.clone()),
                None => StepReport::skipped(step, info.unknown_person),
            },
            (Resolution::Failed(err), _) if !step.spec().by_email => StepReport::not_attempted(
                step,
                err.kind,
                format!("not attempted, the {} lookup failed: {}", info.provider.name(), err.message),
            ),
            (Resolution::Failed(_), Some(client)) => {
                self.run_step(client.as_ref(), step, Target { email, user: None }).await
            }
            (Resolution::Found(user), Some(client)) => {
                self.run_step(client.as_ref(), step, Target { email, user: Some(user) }).await
            }
        }
    }

    /// Runs `step` until it is answered: a write that went unanswered (and may have been
    /// applied) makes the step run again in recheck mode, after a backoff, within the budget.
    async fn run_step(&self, client: &dyn ProviderClient, step: StepName, target: Target<'_>) -> StepReport {
        let started = Instant::now();
        let mut log = self.call_log();
        let mut unanswered: Option<String> = None;
        let mut retries = 0u32;
        let result = loop {
            let mode = RunMode { dry_run: self.dry_run, recheck: unanswered.is_some() };
            let mut err = match client.run(step, target, mode, &mut log).await {
                Ok(success) => break Ok(honest(success, unanswered.as_deref(), step.spec().reads_back)),
                Err(err) => err,
            };
            let Some(what) = err.unanswered.take().filter(|_| !self.dry_run) else {
                break Err(err);
            };
            let wait = self.policy.backoff(retries.saturating_add(1));
            let Some(resume_at) = Instant::now().checked_add(wait).filter(|at| *at < log.deadline()) else {
                if retries > 0 {
                    err.message = format!(
                        "{} (gave up after {} in {}: {})",
                        err.message,
                        attempts_text(retries.saturating_add(1)),
                        human_duration(started.elapsed()),
                        self.spent_budget()
                    );
                }
                break Err(err);
            };
            let next = if step.spec().reads_back {
                "it may have been applied, so its state is read again"
            } else {
                "it is harmless to repeat, so it is sent again"
            };
            self.notices.say(&format!(
                "{} {}: {what}; {next} in {}",
                step.as_str(),
                target.email,
                human_duration(wait)
            ));
            tokio::time::sleep_until(resume_at.into()).await;
            retries = retries.saturating_add(1);
            unanswered = Some(what);
        };
        let mut report = StepReport::finished(step, result, log, started);
        report.retries = retries;
        report
    }

    /// Why retrying stopped: the step's budget or the run's bound.
    fn spent_budget(&self) -> String {
        match self.give_up {
            Some(give_up) if Instant::now() >= give_up.at => {
                format!("the --give-up-after bound of {} has passed", human_duration(give_up.after))
            }
            _ => format!("the --max-retry-time budget of {} is spent", human_duration(self.policy.max_retry_time)),
        }
    }
}

/// The report of a step that succeeded after an unanswered write: "already done" on the
/// re-check means the unanswered write did it.
fn honest(success: Success, unanswered: Option<&str>, read_back: bool) -> Success {
    match unanswered {
        Some(what) if success.outcome == Outcome::AlreadyDone => {
            Success::done(format!("applied, but {what} (read again: {})", success.message))
        }
        Some(what) if success.outcome == Outcome::Done && read_back => {
            Success::done(format!("{} (sent again: {what} and the change was not there)", success.message))
        }
        Some(what) if success.outcome == Outcome::Done => {
            Success::done(format!("{} (sent again after {what}: harmless to repeat)", success.message))
        }
        _ => success,
    }
}

/// When every provider asked says "no such person", the address is probably wrong: that
/// is a failure (exit code 4), not a quiet skip.
fn unknown_message(providers: &[Slot], resolutions: &[Resolution]) -> Option<String> {
    let mut asked = Vec::new();
    for (slot, resolution) in providers.iter().zip(resolutions) {
        match resolution {
            Resolution::NotNeeded | Resolution::NotConfigured => {}
            Resolution::Unknown => asked.push(slot.info.provider.name()),
            Resolution::Found(_) | Resolution::Failed(_) => return None,
        }
    }
    (!asked.is_empty()).then(|| format!("not known to {}: check the address", asked.join(" or ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots() -> Vec<Slot> {
        PROVIDERS.iter().map(|kind| Slot { info: kind.info(), client: None }).collect()
    }

    #[test]
    fn steps_run_sessions_first_then_delegations_then_the_account() {
        let names: Vec<&str> = StepName::offboard().into_iter().map(StepName::as_str).collect();
        assert_eq!(
            names,
            [
                "zoom-revoke-sso",
                "cloudflare-revoke",
                "zoom-delete-assistants",
                "zoom-remove-schedulers",
                "zoom-deactivate"
            ]
        );
        let reinstate: Vec<&str> = StepName::reinstate().into_iter().map(StepName::as_str).collect();
        assert_eq!(reinstate, ["zoom-activate"]);
    }

    #[test]
    fn unknown_everywhere_only_when_every_asked_provider_says_so() {
        let slots = slots();
        let found = || Resolution::Found(RemoteUser { id: None, email: "a@x.io".into(), status: None });
        let message = |resolutions: [Resolution; 2]| unknown_message(&slots, &resolutions);
        assert_eq!(
            message([Resolution::Unknown, Resolution::Unknown]).as_deref(),
            Some("not known to Zoom or Cloudflare: check the address")
        );
        assert_eq!(message([Resolution::Unknown, found()]), None);
        assert_eq!(
            message([Resolution::Unknown, Resolution::NotConfigured]).as_deref(),
            Some("not known to Zoom: check the address")
        );
        assert_eq!(message([Resolution::NotNeeded, Resolution::NotConfigured]), None);
        let failed = Resolution::Failed(ProviderError::new(FailureKind::Network, "x"));
        assert_eq!(message([Resolution::Unknown, failed]), None);
    }

    #[test]
    fn an_unanswered_write_seen_on_the_recheck_is_done_and_says_so() {
        let done = honest(Success::already_done("already inactive"), Some("the provider answered 503"), true);
        assert_eq!(done.outcome, Outcome::Done);
        assert_eq!(done.message, "applied, but the provider answered 503 (read again: already inactive)");
        let plain = honest(Success::already_done("already inactive"), None, true);
        assert_eq!(plain.outcome, Outcome::AlreadyDone);
        let repeated = honest(Success::done("revoked"), Some("the request timed out"), false);
        assert_eq!(repeated.message, "revoked (sent again after the request timed out: harmless to repeat)");
    }
}
