//! Sending one logical request with retries, and the record of it that goes in the report.
//!
//! A request is retried on 408/429/5xx, timeouts and connection failures. The wait is
//! what `Retry-After` asks for, else a jittered exponential backoff; no new attempt starts
//! once the step's deadline (`--max-retry-time` after the step began) would be passed.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use time::OffsetDateTime;

use super::failure::{FailureKind, ProviderCode, ProviderError};
use super::retry::{RetryPolicy, human_duration, is_retryable_status, retry_after};
use super::throttle::Throttle;

/// Bodies larger than this are not read: none of our answers come close.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

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
    /// Connection refused, reset, DNS failure, TLS failure, ...
    Network(String),
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
            TransportFailure::Network(detail) => (FailureKind::Network, format!("cannot reach {provider}: {detail}")),
            TransportFailure::TooLarge => (
                FailureKind::ProviderError,
                format!("{provider} sent an answer larger than {} MiB", MAX_BODY_BYTES >> 20),
            ),
            TransportFailure::Invalid(detail) => {
                (FailureKind::ProviderError, format!("cannot send the request: {detail}"))
            }
        };
        ProviderError::new(kind, self.with_retry_note(what))
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
    client: reqwest::Client,
    policy: RetryPolicy,
    throttle: Throttle,
}

impl HttpCaller {
    /// A caller with its own connection pool and throttle.
    pub fn new(policy: RetryPolicy, requests_per_second: u32) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("userplane/", env!("CARGO_PKG_VERSION")))
            // Credentials must not follow a redirect to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(policy.request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|err| format!("cannot set up the HTTP client: {err}"))?;
        Ok(Self { client, policy, throttle: Throttle::new(requests_per_second) })
    }

    /// The retry policy in force.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Sends `request`, retrying as the policy allows until `deadline`.
    pub async fn send(&self, request: &OutboundRequest, deadline: Instant) -> Sent {
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            self.throttle.wait_turn().await;
            // The first attempt always gets the full timeout; retries only what is left.
            let timeout = if attempts == 1 {
                self.policy.request_timeout
            } else {
                self.policy
                    .request_timeout
                    .min(deadline.saturating_duration_since(Instant::now()))
                    .max(MIN_RETRY_TIMEOUT)
            };
            let outcome = self.attempt(request, timeout).await;
            let Some(wait) = self.retry_wait(&outcome, attempts) else {
                return Sent {
                    outcome,
                    attempts,
                    duration: started.elapsed(),
                    stopped_retrying: None,
                    request_timeout: self.policy.request_timeout,
                };
            };
            let resume_at = Instant::now().checked_add(wait.delay).filter(|at| *at < deadline);
            let Some(resume_at) = resume_at else {
                let why = match &wait.asked_by_provider {
                    Some(raw) => format!(
                        "Retry-After {raw} asks for {}, more than the --max-retry-time budget allows",
                        human_duration(wait.delay)
                    ),
                    None => format!(
                        "the --max-retry-time budget of {} is spent",
                        human_duration(self.policy.max_retry_time)
                    ),
                };
                return Sent {
                    outcome,
                    attempts,
                    duration: started.elapsed(),
                    stopped_retrying: Some(why),
                    request_timeout: self.policy.request_timeout,
                };
            };
            if wait.rate_limited {
                self.throttle.pause_until(resume_at);
            }
            tokio::time::sleep_until(resume_at.into()).await;
        }
    }

    /// How long to wait before retrying `outcome`, or `None` if it is final.
    fn retry_wait(&self, outcome: &Result<Reply, TransportFailure>, attempts: u32) -> Option<Wait> {
        match outcome {
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
            Err(TransportFailure::Timeout(_) | TransportFailure::Network(_)) => {
                Some(Wait { delay: self.policy.backoff(attempts), asked_by_provider: None, rate_limited: false })
            }
            Err(TransportFailure::TooLarge | TransportFailure::Invalid(_)) => None,
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
