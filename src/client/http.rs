//! Sending one logical request with retries, and the record of it that goes in the report.
//!
//! A read (GET) is retried on 408/429/5xx, timeouts and connection failures. A write is
//! retried here only when it cannot have been applied (a 429, a connection that never
//! opened): a write answered 5xx, reset or timed out may have been applied, and the
//! playbook reads the provider's state before it sends it again. The wait is what
//! `Retry-After` asks for, else a jittered exponential backoff; no new attempt starts
//! once the step's deadline (`--max-retry-time` after the step began, or the run's
//! `--give-up-after`) would be passed. Every wait is announced on stderr.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use time::OffsetDateTime;

use super::failure::{FailureKind, ProviderCode, ProviderError};
use super::progress::Notices;
use super::retry::{RetryPolicy, human_duration, is_retryable_status, retry_after};
use super::throttle::Throttle;

/// Bodies larger than this are not read: none of our answers come close.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An attempt without an answer for this long is announced on stderr.
const SLOW_ANSWER: Duration = Duration::from_secs(3);

/// A retry gets at least this long to answer, even at the end of the budget.
const MIN_RETRY_TIMEOUT: Duration = Duration::from_millis(200);

/// What to send. Credentials live only in `headers`, marked sensitive.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// HTTP method.
    pub method: Method,
    /// Full URL; never contains a credential.
    pub url: Url,
    /// Headers, including the `Authorization` (or `X-Auth-*`) header.
    pub headers: HeaderMap,
    /// Request body.
    pub body: RequestBody,
    /// Sending it twice does no harm (a read, a token request): it is retried on any
    /// retryable failure. Otherwise only when it cannot have been applied.
    pub repeatable: bool,
}

impl OutboundRequest {
    /// A request; only a GET is repeatable.
    pub fn new(method: Method, url: Url, headers: HeaderMap, body: RequestBody) -> Self {
        let repeatable = method == Method::GET;
        Self { method, url, headers, body, repeatable }
    }

    /// Marks a request that changes nothing a second sending would harm.
    pub fn repeatable(mut self) -> Self {
        self.repeatable = true;
        self
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub enum RequestBody {
    /// No body (GET, DELETE).
    None,
    /// An empty body with `Content-Length: 0` (a POST that carries its data in the query).
    Empty,
    /// A JSON document.
    Json(serde_json::Value),
}

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

/// Why there was no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFailure {
    /// Nothing (or not the whole answer) within the attempt's timeout.
    Timeout(Duration),
    /// The connection never opened (refused, DNS, TLS): nothing was sent.
    Unreachable(String),
    /// The connection failed after the request went out (reset, closed early).
    Network(String),
    /// The run's `--give-up-after` bound passed before this request was sent.
    GaveUp(Duration),
    /// The answer was larger than we are willing to read.
    TooLarge,
    /// The request could not be built (a bug or an unusable URL); not retried.
    Invalid(String),
}

/// The result of sending one logical request, retries included.
#[derive(Debug)]
pub struct Sent {
    /// The last answer, or why there was none.
    pub outcome: Result<Reply, TransportFailure>,
    /// How many attempts were made.
    pub attempts: u32,
    /// Time from the first attempt to the end of the last one, waits included.
    pub duration: Duration,
    /// When the last answer was retryable: why we stopped retrying.
    pub stopped_retrying: Option<String>,
    /// The configured per-attempt timeout (retries at the end of the budget get less).
    pub request_timeout: Duration,
    /// The request was a write that may not be sent twice.
    pub write: bool,
}

impl Sent {
    /// The HTTP status of the last answer.
    pub fn status(&self) -> Option<u16> {
        self.outcome.as_ref().ok().map(|reply| reply.status.as_u16())
    }

    /// The error for a request that got no answer.
    pub fn transport_error(&self, provider: &str, failure: &TransportFailure) -> ProviderError {
        let (kind, what) = match failure {
            TransportFailure::Timeout(timeout) => {
                (FailureKind::Network, format!("{provider} did not answer within {}", human_duration(*timeout)))
            }
            TransportFailure::Network(detail) | TransportFailure::Unreachable(detail) => {
                (FailureKind::Network, format!("cannot reach {provider}: {detail}"))
            }
            TransportFailure::GaveUp(bound) => (
                FailureKind::Network,
                format!("not sent: the --give-up-after bound of {} had passed", human_duration(*bound)),
            ),
            TransportFailure::TooLarge => (
                FailureKind::ProviderError,
                format!("{provider} sent an answer larger than {} MiB", MAX_BODY_BYTES >> 20),
            ),
            TransportFailure::Invalid(detail) => {
                (FailureKind::ProviderError, format!("cannot send the request: {detail}"))
            }
        };
        let mut error = ProviderError::new(kind, self.with_retry_note(what));
        error.unanswered = self.unanswered_write();
        error
    }

    /// For a write that may have been applied although no success came back: what the
    /// client saw ("the provider answered 503", "the connection was reset", "the request
    /// timed out").
    pub fn unanswered_write(&self) -> Option<String> {
        if !self.write {
            return None;
        }
        match &self.outcome {
            Ok(reply) if reply.status.is_server_error() => {
                Some(format!("the provider answered {}", reply.status.as_u16()))
            }
            Err(TransportFailure::Network(_)) => Some("the connection was reset".to_owned()),
            Err(TransportFailure::Timeout(_)) => Some("the request timed out".to_owned()),
            _ => None,
        }
    }

    /// Appends "after N attempts in T: why we stopped" when retries happened.
    pub fn with_retry_note(&self, message: String) -> String {
        match &self.stopped_retrying {
            Some(why) => format!(
                "{message} (gave up after {} in {}: {why})",
                attempts_text(self.attempts),
                human_duration(self.duration)
            ),
            None if self.attempts > 1 => {
                format!("{message} (after {})", attempts_text(self.attempts))
            }
            None => message,
        }
    }
}

/// "1 attempt", "3 attempts".
pub fn attempts_text(attempts: u32) -> String {
    if attempts == 1 { "1 attempt".to_owned() } else { format!("{attempts} attempts") }
}

/// One logical request as it appears in the report. Never holds a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// HTTP method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Status of the last answer (none if there was no answer).
    pub status: Option<u16>,
    /// Attempts made, retries included.
    pub attempts: u32,
    /// Time spent, waits included.
    pub duration_ms: u64,
    /// The provider's error code in the last answer, if any.
    pub provider_error_code: Option<ProviderCode>,
}

impl CallRecord {
    /// The record of `request`, answered as `sent`.
    pub fn new(request: &OutboundRequest, sent: &Sent, code: Option<ProviderCode>) -> Self {
        Self {
            method: request.method.to_string(),
            url: request.url.to_string(),
            status: sent.status(),
            attempts: sent.attempts,
            duration_ms: u64::try_from(sent.duration.as_millis()).unwrap_or(u64::MAX),
            provider_error_code: code,
        }
    }
}

/// The calls one step made, and the step's retry deadline.
#[derive(Debug)]
pub struct CallLog {
    deadline: Instant,
    records: Vec<CallRecord>,
}

impl CallLog {
    /// A log for a step that may retry until `deadline`.
    pub fn new(deadline: Instant) -> Self {
        Self { deadline, records: Vec::new() }
    }

    /// No new attempt starts after this.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Adds a call.
    pub fn push(&mut self, record: CallRecord) {
        self.records.push(record);
    }

    /// The calls, in order.
    pub fn into_records(self) -> Vec<CallRecord> {
        self.records
    }
}

/// Sends requests to one provider: a shared HTTP client, retry policy and throttle.
#[derive(Debug)]
pub struct HttpCaller {
    provider: &'static str,
    client: reqwest::Client,
    policy: RetryPolicy,
    throttle: Throttle,
    /// The run's bound (`--give-up-after`): nothing is sent after it.
    give_up: Option<GiveUp>,
    notices: Notices,
}

/// The run's `--give-up-after` bound.
#[derive(Debug, Clone, Copy)]
pub struct GiveUp {
    /// When it passes.
    pub at: Instant,
    /// As given.
    pub after: Duration,
}

impl HttpCaller {
    /// A caller to `provider` with its own connection pool and throttle; it sends nothing
    /// after `give_up` and announces its waits on `notices`.
    pub fn new(
        provider: &'static str,
        policy: RetryPolicy,
        requests_per_second: u32,
        give_up: Option<GiveUp>,
        notices: Notices,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("userplane/", env!("CARGO_PKG_VERSION")))
            // Credentials must not follow a redirect to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(policy.request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|err| format!("cannot set up the HTTP client: {err}"))?;
        Ok(Self { provider, client, policy, throttle: Throttle::new(requests_per_second), give_up, notices })
    }

    /// The retry policy in force.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Sends `request`, retrying as the policy allows until `deadline`.
    pub async fn send(&self, request: &OutboundRequest, deadline: Instant) -> Sent {
        let started = Instant::now();
        let write = !request.repeatable;
        let sent = |outcome, attempts, stopped_retrying| Sent {
            outcome,
            attempts,
            duration: started.elapsed(),
            stopped_retrying,
            request_timeout: self.policy.request_timeout,
            write,
        };
        let deadline = match self.give_up {
            Some(give_up) => deadline.min(give_up.at),
            None => deadline,
        };
        let mut attempts = 0u32;
        loop {
            if let Some(give_up) = self.give_up.filter(|give_up| Instant::now() >= give_up.at) {
                return sent(Err(TransportFailure::GaveUp(give_up.after)), attempts, None);
            }
            attempts += 1;
            self.throttle.wait_turn().await;
            // The first attempt always gets the full timeout; retries only what is left.
            let mut timeout = if attempts == 1 {
                self.policy.request_timeout
            } else {
                self.policy
                    .request_timeout
                    .min(deadline.saturating_duration_since(Instant::now()))
                    .max(MIN_RETRY_TIMEOUT)
            };
            // Past the run's bound nothing waits.
            if let Some(give_up) = self.give_up {
                timeout = timeout.min(give_up.at.saturating_duration_since(Instant::now()).max(MIN_RETRY_TIMEOUT));
            }
            let outcome = self.attempt_announcing_silence(request, timeout, attempts).await;
            let Some(wait) = self.retry_wait(&outcome, attempts, write) else {
                return sent(outcome, attempts, None);
            };
            let resume_at = Instant::now().checked_add(wait.delay).filter(|at| *at < deadline);
            let Some(resume_at) = resume_at else {
                let why = match (&wait.asked_by_provider, self.give_up) {
                    (Some(raw), _) => format!(
                        "Retry-After {raw} asks for {}, more than the --max-retry-time budget allows",
                        human_duration(wait.delay)
                    ),
                    (None, Some(give_up)) if give_up.at <= deadline => {
                        format!("the --give-up-after bound of {} has passed", human_duration(give_up.after))
                    }
                    (None, _) => format!(
                        "the --max-retry-time budget of {} is spent",
                        human_duration(self.policy.max_retry_time)
                    ),
                };
                return sent(outcome, attempts, Some(why));
            };
            self.announce(request, &outcome, attempts, wait.delay, deadline);
            if wait.rate_limited {
                self.throttle.pause_until(resume_at);
            }
            tokio::time::sleep_until(resume_at.into()).await;
        }
    }

    /// [`Self::attempt`], saying on stderr when it has waited [`SLOW_ANSWER`] without an answer.
    async fn attempt_announcing_silence(
        &self,
        request: &OutboundRequest,
        timeout: Duration,
        attempt: u32,
    ) -> Result<Reply, TransportFailure> {
        let answer = self.attempt(request, timeout);
        tokio::pin!(answer);
        tokio::select! {
            outcome = &mut answer => outcome,
            () = tokio::time::sleep(SLOW_ANSWER) => {
                self.notices.say(&format!(
                    "waiting for {} at {}: {} {} attempt {attempt}: no answer yet after {} (timeout {})",
                    self.provider,
                    address(&request.url),
                    request.method,
                    request.url.path(),
                    human_duration(SLOW_ANSWER),
                    human_duration(timeout),
                ));
                answer.await
            }
        }
    }

    /// Says on stderr what the run is waiting for: a person watching a silent terminal
    /// cannot tell a slow provider from a dead one.
    fn announce(
        &self,
        request: &OutboundRequest,
        outcome: &Result<Reply, TransportFailure>,
        attempts: u32,
        wait: Duration,
        deadline: Instant,
    ) {
        let what = match outcome {
            Ok(reply) => format!("answered {}", reply.status.as_u16()),
            Err(TransportFailure::Timeout(timeout)) => format!("no answer within {}", human_duration(*timeout)),
            // The innermost cause ("Connection refused (os error 111)"): the URL is said already.
            Err(TransportFailure::Unreachable(detail) | TransportFailure::Network(detail)) => {
                detail.rsplit(": ").next().unwrap_or(detail).to_owned()
            }
            Err(other) => format!("{other:?}"),
        };
        let address = address(&request.url);
        self.notices.say(&format!(
            "waiting for {} at {address}: {} {} attempt {attempts} failed: {what}; next retry in {}, giving up in {}",
            self.provider,
            request.method,
            request.url.path(),
            human_duration(wait),
            human_duration(deadline.saturating_duration_since(Instant::now())),
        ));
    }

    /// How long to wait before retrying `outcome`, or `None` if it is final.
    /// A write is retried only when it cannot have been applied.
    fn retry_wait(&self, outcome: &Result<Reply, TransportFailure>, attempts: u32, write: bool) -> Option<Wait> {
        match outcome {
            Ok(reply) if write && reply.status != StatusCode::TOO_MANY_REQUESTS => None,
            Ok(reply) if is_retryable_status(reply.status.as_u16()) => {
                let rate_limited = reply.status == StatusCode::TOO_MANY_REQUESTS;
                match retry_after(&reply.headers, OffsetDateTime::now_utc()) {
                    // A zero or past Retry-After would make us spin: back off instead.
                    Some(asked) if !asked.delay.is_zero() => {
                        Some(Wait { delay: asked.delay, asked_by_provider: Some(asked.raw), rate_limited })
                    }
                    _ => Some(Wait { delay: self.policy.backoff(attempts), asked_by_provider: None, rate_limited }),
                }
            }
            Ok(_) => None,
            Err(TransportFailure::Timeout(_) | TransportFailure::Network(_)) if write => None,
            Err(TransportFailure::Timeout(_) | TransportFailure::Network(_) | TransportFailure::Unreachable(_)) => {
                Some(Wait { delay: self.policy.backoff(attempts), asked_by_provider: None, rate_limited: false })
            }
            Err(TransportFailure::TooLarge | TransportFailure::Invalid(_) | TransportFailure::GaveUp(_)) => None,
        }
    }

    /// One attempt: send, then read the whole body, all within `timeout`.
    async fn attempt(&self, request: &OutboundRequest, timeout: Duration) -> Result<Reply, TransportFailure> {
        let builder = self
            .client
            .request(request.method.clone(), request.url.clone())
            .headers(request.headers.clone())
            .timeout(timeout);
        let builder = match &request.body {
            RequestBody::None => builder,
            RequestBody::Empty => builder.body(Vec::<u8>::new()),
            RequestBody::Json(document) => builder.json(document),
        };
        let mut response = builder.send().await.map_err(|err| transport_failure(&err, timeout))?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| transport_failure(&err, timeout))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(TransportFailure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply { status, headers, body })
    }
}

/// `host:port` of a URL, for the notices.
fn address(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => url.to_string(),
    }
}

/// The wait before a retry, and who asked for it.
#[derive(Debug)]
struct Wait {
    delay: Duration,
    /// The provider's `Retry-After` value, when the wait came from it.
    asked_by_provider: Option<String>,
    /// A 429: every worker for this provider holds back, not just this one.
    rate_limited: bool,
}

fn transport_failure(err: &reqwest::Error, timeout: Duration) -> TransportFailure {
    if err.is_timeout() {
        TransportFailure::Timeout(timeout)
    } else if err.is_builder() {
        TransportFailure::Invalid(error_chain(err))
    } else if err.is_connect() {
        TransportFailure::Unreachable(error_chain(err))
    } else {
        TransportFailure::Network(error_chain(err))
    }
}

/// The error and its causes on one line ("error sending request ...: connection refused").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A header value holding a credential: marked sensitive so `Debug` output of the
/// request never shows it.
pub fn secret_header(value: &str) -> Result<HeaderValue, String> {
    let mut header = HeaderValue::from_str(value)
        .map_err(|_| "the credential contains characters that cannot go in an HTTP header")?;
    header.set_sensitive(true);
    Ok(header)
}
