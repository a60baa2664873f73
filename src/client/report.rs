//! The report: what was looked up and done for each person, as human lines (one per
//! step) or as JSON, and the exit code that sums it up.

use std::time::Instant;

use serde::Serialize;

use super::failure::{FailureKind, ProviderCode, ProviderError};
use super::http::{CallLog, CallRecord, attempts_text};
use super::provider::{PROVIDERS, Provider, ProviderInfo, StepName};
use super::retry::human_duration;

/// The result of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change was made.
    Done,
    /// Nothing to change: an earlier run (or someone else) already did it.
    AlreadyDone,
    /// `--dry-run`: the change that would be made.
    Planned,
    /// Not applicable: provider not configured, or the person is not known there.
    Skipped,
    /// The step did not succeed; see `failure`.
    Failed,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::AlreadyDone => "already done",
            Outcome::Planned => "planned",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "FAILED",
        }
    }
}

/// The request that decided a step (or, in a dry run, the one that would be sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestLine {
    /// HTTP method.
    pub method: String,
    /// Full URL (never holds a credential).
    pub url: String,
}

/// A step's success: `Done`, `AlreadyDone` or `Planned`, with what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Success {
    /// The outcome.
    pub outcome: Outcome,
    /// What it means, for people.
    pub message: String,
    /// For a planned step: the request that would be sent.
    pub planned_request: Option<RequestLine>,
}

impl Success {
    /// The change was made.
    pub fn done(message: impl Into<String>) -> Self {
        Self { outcome: Outcome::Done, message: message.into(), planned_request: None }
    }

    /// Nothing to change.
    pub fn already_done(message: impl Into<String>) -> Self {
        Self { outcome: Outcome::AlreadyDone, message: message.into(), planned_request: None }
    }

    /// Dry run: `request` would be sent.
    pub fn planned(message: impl Into<String>, method: &str, url: impl ToString) -> Self {
        Self {
            outcome: Outcome::Planned,
            message: message.into(),
            planned_request: Some(RequestLine { method: method.to_owned(), url: url.to_string() }),
        }
    }
}

/// One step for one person.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Which step.
    pub step: StepName,
    /// Which provider it acts on.
    pub provider: Provider,
    /// The result.
    pub outcome: Outcome,
    /// For a failed step: the kind of failure.
    pub failure: Option<FailureKind>,
    /// What happened, for people.
    pub message: String,
    /// The deciding request: the last one sent, or the one a dry run would send.
    pub request: Option<RequestLine>,
    /// HTTP status of the deciding request.
    pub status: Option<u16>,
    /// Attempts over all of the step's requests.
    pub attempts: u32,
    /// Times the step ran again after a write went unanswered (5xx, reset, timeout),
    /// each time reading the provider's state first.
    pub retries: u32,
    /// Time the step took.
    pub duration_ms: u64,
    /// The provider's error code in the deciding answer.
    pub provider_error_code: Option<ProviderCode>,
    /// Every request the step sent, in order.
    pub calls: Vec<CallRecord>,
}

impl StepReport {
    /// The report of a step that ran (whatever its result).
    pub fn finished(step: StepName, result: Result<Success, ProviderError>, log: CallLog, started: Instant) -> Self {
        let calls = log.into_records();
        let last = calls.last();
        let (outcome, failure, message, planned) = match result {
            Ok(success) => (success.outcome, None, success.message, success.planned_request),
            Err(err) => (Outcome::Failed, Some(err.kind), err.message, None),
        };
        let request =
            planned.or_else(|| last.map(|call| RequestLine { method: call.method.clone(), url: call.url.clone() }));
        Self {
            step,
            provider: step.provider(),
            outcome,
            failure,
            message,
            status: last.and_then(|call| call.status),
            attempts: calls.iter().map(|call| call.attempts).sum(),
            retries: 0,
            duration_ms: millis(started),
            provider_error_code: if outcome == Outcome::Failed {
                last.and_then(|call| call.provider_error_code.clone())
            } else {
                None
            },
            request,
            calls,
        }
    }

    /// A step that was not run because it does not apply.
    pub fn skipped(step: StepName, message: impl Into<String>) -> Self {
        Self::without_calls(step, Outcome::Skipped, None, message.into())
    }

    /// A step that could not be run (its lookup failed, or nobody by that address exists).
    pub fn not_attempted(step: StepName, kind: FailureKind, message: impl Into<String>) -> Self {
        Self::without_calls(step, Outcome::Failed, Some(kind), message.into())
    }

    fn without_calls(step: StepName, outcome: Outcome, failure: Option<FailureKind>, message: String) -> Self {
        Self {
            step,
            provider: step.provider(),
            outcome,
            failure,
            message,
            request: None,
            status: None,
            attempts: 0,
            retries: 0,
            duration_ms: 0,
            provider_error_code: None,
            calls: Vec::new(),
        }
    }
}

/// The result of looking a person up at one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupOutcome {
    /// The provider knows the person.
    Found,
    /// The provider does not know the person.
    NotFound,
    /// The lookup itself failed; see `failure`.
    Failed,
}

/// Looking a person up at one provider.
#[derive(Debug, Clone, Serialize)]
pub struct LookupReport {
    /// Which provider.
    pub provider: Provider,
    /// The result.
    pub outcome: LookupOutcome,
    /// For a failed lookup: the kind of failure.
    pub failure: Option<FailureKind>,
    /// The provider's id for the person.
    pub user_id: Option<String>,
    /// The person's status there (Zoom: active / inactive / pending).
    pub user_status: Option<String>,
    /// What was found, for people.
    pub message: String,
    /// Time the lookup took.
    pub duration_ms: u64,
    /// The requests sent (the Zoom token request included, when this lookup needed it).
    pub calls: Vec<CallRecord>,
}

impl LookupReport {
    /// The person was found.
    pub fn found(
        provider: Provider,
        user_id: Option<String>,
        user_status: Option<String>,
        log: CallLog,
        started: Instant,
    ) -> Self {
        let message = match (&user_id, &user_status) {
            (Some(id), Some(status)) => format!("user {id}, {status}"),
            (Some(id), None) => format!("user {id}"),
            (None, _) => "user found".to_owned(),
        };
        Self::new(provider, LookupOutcome::Found, None, message, log, started, user_id, user_status)
    }

    /// The provider does not know the person.
    pub fn not_found(provider: Provider, log: CallLog, started: Instant) -> Self {
        let message = format!("not a {} user", provider.name());
        Self::new(provider, LookupOutcome::NotFound, None, message, log, started, None, None)
    }

    /// The lookup failed.
    pub fn failed(provider: Provider, err: &ProviderError, log: CallLog, started: Instant) -> Self {
        Self::new(provider, LookupOutcome::Failed, Some(err.kind), err.message.clone(), log, started, None, None)
    }

    #[allow(clippy::too_many_arguments)] // private constructor behind the three above
    fn new(
        provider: Provider,
        outcome: LookupOutcome,
        failure: Option<FailureKind>,
        message: String,
        log: CallLog,
        started: Instant,
        user_id: Option<String>,
        user_status: Option<String>,
    ) -> Self {
        Self {
            provider,
            outcome,
            failure,
            user_id,
            user_status,
            message,
            duration_ms: millis(started),
            calls: log.into_records(),
        }
    }
}

/// Whether everything asked for one person succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonOutcome {
    /// Every step done, already done, planned or skipped.
    Ok,
    /// At least one step failed.
    Failed,
}

/// Everything done for one person.
#[derive(Debug, Clone, Serialize)]
pub struct PersonReport {
    /// The address as given.
    pub email: String,
    /// Whether all steps succeeded.
    pub outcome: PersonOutcome,
    /// Lookups, one per provider asked.
    pub lookups: Vec<LookupReport>,
    /// Steps, in the order they ran.
    pub steps: Vec<StepReport>,
}

impl PersonReport {
    /// Assembles a person's report.
    pub fn new(email: &str, lookups: Vec<LookupReport>, steps: Vec<StepReport>) -> Self {
        let failed = steps.iter().any(|step| step.outcome == Outcome::Failed);
        Self {
            email: email.to_owned(),
            outcome: if failed { PersonOutcome::Failed } else { PersonOutcome::Ok },
            lookups,
            steps,
        }
    }

    fn failure_kinds(&self) -> impl Iterator<Item = FailureKind> + '_ {
        self.steps.iter().filter_map(|step| step.failure)
    }
}

/// How a provider is set up for this run.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderNote {
    /// Which provider.
    pub provider: Provider,
    /// Whether its credentials are set.
    pub configured: bool,
    /// Base URL in use.
    pub api_url: Option<String>,
    /// Account id in use.
    pub account_id: Option<String>,
    /// Kind of credential (never its value): `server_to_server_oauth`, `api_token`, `global_key`.
    pub credential: Option<String>,
    /// For people.
    pub note: String,
}

impl ProviderNote {
    /// The note for a provider without credentials.
    pub fn not_configured(info: &ProviderInfo) -> Self {
        Self {
            provider: info.provider,
            configured: false,
            api_url: None,
            account_id: None,
            credential: None,
            note: info.not_configured_note.to_owned(),
        }
    }
}

/// Totals over a run, and its exit code.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// People in the run.
    pub people: usize,
    /// People with at least one failed step.
    pub people_failed: usize,
    /// Steps done.
    pub done: usize,
    /// Steps already done.
    pub already_done: usize,
    /// Steps planned (dry run).
    pub planned: usize,
    /// Steps skipped.
    pub skipped: usize,
    /// Steps failed.
    pub failed: usize,
    /// The failure kind that set the exit code.
    pub failure_kind: Option<FailureKind>,
    /// The process exit code.
    pub exit_code: u8,
}

impl Summary {
    /// Counts the steps of `people`; the exit code follows the most important failure kind.
    pub fn of(people: &[PersonReport]) -> Self {
        let steps = || people.iter().flat_map(|person| person.steps.iter());
        let count = |outcome: Outcome| steps().filter(|step| step.outcome == outcome).count();
        let failure_kind = FailureKind::most_important(people.iter().flat_map(PersonReport::failure_kinds));
        Self {
            people: people.len(),
            people_failed: people.iter().filter(|p| p.outcome == PersonOutcome::Failed).count(),
            done: count(Outcome::Done),
            already_done: count(Outcome::AlreadyDone),
            planned: count(Outcome::Planned),
            skipped: count(Outcome::Skipped),
            failed: count(Outcome::Failed),
            failure_kind,
            exit_code: failure_kind.map_or(0, FailureKind::exit_code),
        }
    }
}

/// The whole run, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// `offboard` or `reinstate`.
    pub command: &'static str,
    /// Whether this was a dry run (nothing changed).
    pub dry_run: bool,
    /// Provider setup.
    pub providers: Vec<ProviderNote>,
    /// One entry per person, in input order.
    pub people: Vec<PersonReport>,
    /// Totals and exit code.
    pub summary: Summary,
}

impl RunReport {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data cannot fail; keep a valid document if it somehow does.
        serde_json::to_string_pretty(self).unwrap_or_else(|err| format!("{{\"error\":\"{err}\"}}"))
    }
}

/// Human output: one line per provider setup.
pub fn render_provider_notes(notes: &[ProviderNote]) -> String {
    notes.iter().map(|note| format!("{:<11} {}\n", note.provider.key(), note.note)).collect()
}

/// Human output for one person: a line per lookup, then a line per step.
pub fn render_person(person: &PersonReport) -> String {
    let mut out = String::new();
    // The same columns whichever providers a run asks: every "<provider> lookup" label fits.
    let lookup_width = PROVIDERS.iter().map(|kind| kind.info().provider.key().len() + " lookup".len()).max();
    let width = person.steps.iter().map(|s| s.step.as_str().len()).max().unwrap_or(0).max(lookup_width.unwrap_or(0));
    for lookup in &person.lookups {
        let label = format!("{} lookup", lookup.provider.key());
        let outcome = match lookup.outcome {
            LookupOutcome::Found => "found",
            LookupOutcome::NotFound => "not found",
            LookupOutcome::Failed => "FAILED",
        };
        let message = with_kind(lookup.failure, &lookup.message);
        out.push_str(&format!(
            "{}  {label:<width$}  {outcome:<12}  {message}{}\n",
            person.email,
            calls_tail(&lookup.calls)
        ));
    }
    for step in &person.steps {
        let message = with_kind(step.failure, &step.message);
        let tail = match (step.outcome, &step.request) {
            (Outcome::Planned, Some(request)) => format!("  [would send {} {}]", request.method, path_of(&request.url)),
            _ => calls_tail(&step.calls),
        };
        out.push_str(&format!(
            "{}  {:<width$}  {:<12}  {message}{tail}\n",
            person.email,
            step.step.as_str(),
            step.outcome.label()
        ));
    }
    out
}

/// Human output: the closing line.
pub fn render_summary(summary: &Summary, dry_run: bool) -> String {
    let people = if summary.people == 1 { "1 person".to_owned() } else { format!("{} people", summary.people) };
    let mut parts = Vec::new();
    if dry_run {
        parts.push(format!("{} planned", summary.planned));
    }
    parts.push(format!("{} done", summary.done));
    parts.push(format!("{} already done", summary.already_done));
    parts.push(format!("{} skipped", summary.skipped));
    parts.push(format!("{} failed", summary.failed));
    let exit = match summary.failure_kind {
        Some(kind) => format!("exit {} ({kind})", summary.exit_code),
        None => "exit 0".to_owned(),
    };
    let mode = if dry_run { " (dry run: nothing was changed)" } else { "" };
    format!("summary: {people}: {}; {exit}{mode}\n", parts.join(", "))
}

fn with_kind(kind: Option<FailureKind>, message: &str) -> String {
    match kind {
        Some(kind) => format!("{kind}: {message}"),
        None => message.to_owned(),
    }
}

/// `  [GET /v2/users/x -> 200, 1 attempt, 3 ms]` for the deciding call.
fn calls_tail(calls: &[CallRecord]) -> String {
    let Some(last) = calls.last() else {
        return String::new();
    };
    let status = last.status.map_or_else(|| "no answer".to_owned(), |s| s.to_string());
    let attempts: u32 = calls.iter().map(|c| c.attempts).sum();
    let millis: u64 = calls.iter().map(|c| c.duration_ms).sum();
    // "2 attempts" alone would read as a retry when it was a GET and then a DELETE.
    let count = match calls.len() {
        1 => attempts_text(attempts),
        n if attempts as usize > n => format!("{n} requests, {}", attempts_text(attempts)),
        n => format!("{n} requests"),
    };
    format!(
        "  [{} {} -> {status}, {count}, {}]",
        last.method,
        path_of(&last.url),
        human_duration(std::time::Duration::from_millis(millis))
    )
}

/// The path and query of a URL: the host is on the provider line already.
fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|scheme_end| url[scheme_end + 3..].find('/').map(|i| &url[scheme_end + 3 + i..]))
        .unwrap_or(url)
}

fn millis(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> StepName {
        StepName::named(name).expect("a declared step")
    }

    fn call(method: &str, url: &str, status: Option<u16>, attempts: u32) -> CallRecord {
        CallRecord {
            method: method.into(),
            url: url.into(),
            status,
            attempts,
            duration_ms: 5,
            provider_error_code: None,
        }
    }

    fn step(step: StepName, outcome: Outcome, failure: Option<FailureKind>, calls: Vec<CallRecord>) -> StepReport {
        let mut report = StepReport::skipped(step, "msg");
        report.outcome = outcome;
        report.failure = failure;
        report.calls = calls;
        report
    }

    #[test]
    fn one_line_per_lookup_and_step() {
        let person = PersonReport::new(
            "jane@example.com",
            vec![],
            vec![
                step(
                    named("zoom-revoke-sso"),
                    Outcome::Done,
                    None,
                    vec![call("DELETE", "http://127.0.0.1:9/v2/users/u1/token", Some(204), 1)],
                ),
                step(
                    named("cloudflare-revoke"),
                    Outcome::Failed,
                    Some(FailureKind::RateLimited),
                    vec![call("POST", "http://h/client/v4/x?devices=true", Some(429), 3)],
                ),
            ],
        );
        let text = render_person(&person);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("jane@example.com  zoom-revoke-sso "), "{text}");
        assert!(lines[0].ends_with("[DELETE /v2/users/u1/token -> 204, 1 attempt, 5 ms]"), "{text}");
        assert!(
            lines[1]
                .contains("FAILED        rate limited: msg  [POST /client/v4/x?devices=true -> 429, 3 attempts, 5 ms]"),
            "{text}"
        );
        assert_eq!(person.outcome, PersonOutcome::Failed);
    }

    #[test]
    fn several_requests_are_not_mistaken_for_retries() {
        let get_then_delete = [
            call("GET", "http://h/v2/users/u1/assistants", Some(200), 1),
            call("DELETE", "http://h/v2/users/u1/assistants", Some(204), 1),
        ];
        assert_eq!(calls_tail(&get_then_delete), "  [DELETE /v2/users/u1/assistants -> 204, 2 requests, 10 ms]");
        let retried = [call("GET", "http://h/a", Some(200), 1), call("DELETE", "http://h/a", Some(204), 3)];
        assert_eq!(calls_tail(&retried), "  [DELETE /a -> 204, 2 requests, 4 attempts, 10 ms]");
        assert_eq!(calls_tail(&[]), "");
    }

    #[test]
    fn summary_exit_code_follows_the_most_important_failure() {
        let people = vec![
            PersonReport::new(
                "a@x.io",
                vec![],
                vec![step(named("zoom-deactivate"), Outcome::Failed, Some(FailureKind::NotFound), vec![])],
            ),
            PersonReport::new(
                "b@x.io",
                vec![],
                vec![
                    step(named("zoom-deactivate"), Outcome::Failed, Some(FailureKind::Network), vec![]),
                    step(named("zoom-revoke-sso"), Outcome::Done, None, vec![]),
                ],
            ),
        ];
        let summary = Summary::of(&people);
        assert_eq!((summary.failed, summary.done, summary.people_failed), (2, 1, 2));
        assert_eq!(summary.failure_kind, Some(FailureKind::Network));
        assert_eq!(summary.exit_code, 7);
        assert_eq!(
            render_summary(&summary, false),
            "summary: 2 people: 1 done, 0 already done, 0 skipped, 2 failed; exit 7 (network)\n"
        );
    }

    #[test]
    fn all_good_is_exit_zero() {
        let people = vec![PersonReport::new(
            "a@x.io",
            vec![],
            vec![step(named("zoom-deactivate"), Outcome::AlreadyDone, None, vec![])],
        )];
        let summary = Summary::of(&people);
        assert_eq!(summary.exit_code, 0);
        assert_eq!(summary.failure_kind, None);
    }

    #[test]
    fn json_uses_stable_names() {
        let person = PersonReport::new(
            "a@x.io",
            vec![],
            vec![step(named("zoom-remove-schedulers"), Outcome::AlreadyDone, None, vec![])],
        );
        let json = serde_json::to_value(&person).expect("json");
        assert_eq!(json["steps"][0]["step"], "zoom-remove-schedulers");
        assert_eq!(json["steps"][0]["outcome"], "already_done");
        assert_eq!(json["steps"][0]["provider"], "zoom");
        assert_eq!(json["outcome"], "ok");
    }

    #[test]
    fn path_of_strips_scheme_and_host() {
        assert_eq!(path_of("https://api.zoom.us/v2/users/a%40b?x=1"), "/v2/users/a%40b?x=1");
        assert_eq!(path_of("weird"), "weird");
    }
}
