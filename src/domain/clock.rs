//! Time comes from here, never from `now()` scattered in handlers.
//!
//! Every tenant has an offset that tests move forward (to expire tokens or reset daily
//! rate limits); the wall clock underneath is the system's.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch, in a tenant's (possibly advanced) time.
pub type Timestamp = i64;

/// The source of time for the whole server.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock;

impl Clock {
    /// The current time shifted by a tenant's clock offset.
    pub fn now(&self, offset_ms: i64) -> Timestamp {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        wall + offset_ms
    }
}

/// Formats a timestamp as RFC 3339 in UTC with second precision (`2026-11-22T08:00:00Z`),
/// the form both providers use.
pub fn rfc3339(at: Timestamp) -> String {
    let at = OffsetDateTime::from_unix_timestamp(at.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    at.format(&Rfc3339).unwrap_or_default()
}

/// The start of the UTC day containing `at`.
pub fn start_of_day(at: Timestamp) -> Timestamp {
    const DAY: i64 = 86_400_000;
    at.div_euclid(DAY) * DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_seconds() {
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20Z");
        assert_eq!(start_of_day(1_700_000_000_123), 1_699_920_000_000);
    }
}
