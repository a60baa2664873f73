//! When to try a request again and how long to wait first: `Retry-After` (seconds, an
//! HTTP date or an ISO-8601 time), bounded exponential backoff with jitter, and the
//! duration syntax of `--request-timeout` / `--max-retry-time`.

use std::time::Duration;

use reqwest::header::HeaderMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Longest wait for one attempt (connect, send, whole body).
    pub request_timeout: Duration,
    /// Per step: no new attempt starts once this much time has passed since the step began.
    pub max_retry_time: Duration,
    /// Backoff ceiling before the first retry; it doubles with each retry.
    pub initial_backoff: Duration,
    /// Backoff never exceeds this.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// A policy with the default backoff curve (0.5 s doubling to at most 8 s, like the
    /// official Cloudflare SDK).
    pub fn new(request_timeout: Duration, max_retry_time: Duration) -> Self {
        Self {
            request_timeout,
            max_retry_time,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        }
    }

    /// The upper bound of the backoff before retry number `retry` (1 = first retry).
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(30);
        self.initial_backoff.checked_mul(1u32 << doublings).unwrap_or(self.max_backoff).min(self.max_backoff)
    }

    /// The backoff before retry number `retry`: "equal jitter", uniformly in
    /// `[ceiling / 2, ceiling]`, so concurrent workers spread out but still back off.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let half = ceiling / 2;
        let jitter_nanos = rand::random_range(0..=half.as_nanos().min(u128::from(u64::MAX)) as u64);
        half + Duration::from_nanos(jitter_nanos)
    }
}

/// Whether an HTTP status is worth retrying: timeouts, rate limits and server errors
/// (but not 501/505, which will not change on a second try).
pub fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (status >= 500 && status != 501 && status != 505)
}

/// What a response's `Retry-After` (or `retry-after-ms`) header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAfter {
    /// How long to wait from now (zero for a time in the past).
    pub delay: Duration,
    /// The header value as sent, for the report.
    pub raw: String,
}

/// Reads the wait a response asks for. `retry-after-ms` (Cloudflare SDK convention)
/// wins over `Retry-After`; unreadable values are ignored.
pub fn retry_after(headers: &HeaderMap, now: OffsetDateTime) -> Option<RetryAfter> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(raw) = header("retry-after-ms")
        && let Ok(millis) = raw.parse::<u64>()
    {
        return Some(RetryAfter { delay: Duration::from_millis(millis), raw: format!("{raw} ms") });
    }
    let raw = header("retry-after")?;
    let delay = parse_retry_after(raw, now)?;
    Some(RetryAfter { delay, raw: raw.to_owned() })
}

/// Parses a `Retry-After` value: delta seconds (`"3"`), an ISO-8601 / RFC 3339 time
/// (Zoom's daily limit, `"2025-08-23T00:00:00Z"`) or an HTTP date
/// (`"Sat, 23 Aug 2025 00:00:00 GMT"`). A time in the past means "no wait".
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .or_else(|| httpdate::parse_http_date(value).ok().map(OffsetDateTime::from))?;
    let wait = at - now;
    Some(if wait.is_negative() { Duration::ZERO } else { wait.unsigned_abs() })
}

/// Parses `--request-timeout` / `--max-retry-time` values: `30`, `30s`, `500ms`, `2m`, `1.5s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration (examples: 30s, 500ms, 2m)"))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => {
            return Err(format!("unknown duration unit `{other}` (use ms, s, m or h)"));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is out of range"))
}

/// Renders a duration for people: `850 ms`, `3.2 s`, `5 min`, `9 h 12 min`.
pub fn human_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis} ms")
    } else if millis < 60_000 {
        format!("{:.1} s", duration.as_secs_f64())
    } else if millis < 3_600_000 {
        format!("{} min", duration.as_secs() / 60)
    } else {
        let minutes = duration.as_secs() / 60;
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-08-22 23:59:00 UTC);

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after("3", NOW), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", NOW), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1.5", NOW), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn retry_after_iso_time_like_zoom_daily_limit() {
        assert_eq!(parse_retry_after("2025-08-23T00:00:00Z", NOW), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("2025-08-23T02:00:00+02:00", NOW), Some(Duration::from_secs(60)));
    }

    #[test]
    fn retry_after_http_date() {
        assert_eq!(parse_retry_after("Sat, 23 Aug 2025 00:00:00 GMT", NOW), Some(Duration::from_secs(60)));
    }

    #[test]
    fn retry_after_in_the_past_means_no_wait() {
        assert_eq!(parse_retry_after("2025-08-22T00:00:00Z", NOW), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_garbage_is_ignored() {
        for value in ["", "soon", "-3", "99999999999999999999999", "2025-13-45T00:00:00Z", "NaN"] {
            assert_eq!(parse_retry_after(value, NOW), None, "{value}");
        }
    }

    #[test]
    fn retry_after_ms_header_wins() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("5"));
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&headers, NOW).map(|r| r.delay), Some(Duration::from_millis(250)));
        headers.remove("retry-after-ms");
        let wait = retry_after(&headers, NOW);
        assert_eq!(wait, Some(RetryAfter { delay: Duration::from_secs(5), raw: "5".into() }));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stays_in_its_jitter_band() {
        let policy = RetryPolicy::new(Duration::from_secs(30), Duration::from_secs(60));
        let ceilings: Vec<u64> = (1..=7).map(|n| policy.backoff_ceiling(n).as_millis() as u64).collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(policy.backoff_ceiling(u32::MAX), Duration::from_secs(8));
        for retry in 1..=10 {
            for _ in 0..50 {
                let wait = policy.backoff(retry);
                let ceiling = policy.backoff_ceiling(retry);
                assert!(wait >= ceiling / 2 && wait <= ceiling, "{wait:?} vs {ceiling:?}");
            }
        }
    }

    #[test]
    fn retryable_statuses() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200, 204, 400, 401, 403, 404, 409, 501, 505] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1e400").is_err());
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(human_duration(Duration::from_millis(3240)), "3.2 s");
        assert_eq!(human_duration(Duration::from_secs(300)), "5 min");
        assert_eq!(human_duration(Duration::from_secs(9 * 3600 + 720)), "9 h 12 min");
    }
}
