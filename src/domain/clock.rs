//! Time comes from here, never from `now()` scattered in handlers.
//!
//! Every tenant has an offset that tests move forward (to expire tokens or reset daily
//! rate limits), set to an instant, or freeze (the tenant's `clock_frozen_at`); the wall
//! clock underneath is the system's. A tenant's clock never goes backwards, except to
//! where a snapshot was taken, when it is restored.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Error, Result};

/// Milliseconds since the Unix epoch, in a tenant's (possibly advanced) time.
pub type Timestamp = i64;

/// The source of time for the whole server.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock;

impl Clock {
    /// The current time shifted by a tenant's clock offset.
    pub fn now(&self, offset_ms: i64) -> Timestamp {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        wall.saturating_add(offset_ms)
    }
}

/// A tenant's clock is kept within these instants (2000-01-01 and 2200-01-01, UTC):
/// far enough for any test, and no arithmetic on them can overflow.
pub const EARLIEST: Timestamp = 946_684_800_000;
pub const LATEST: Timestamp = 7_258_118_400_000;
/// One advance moves at most ten years.
pub const MAX_ADVANCE_SECONDS: i64 = 10 * 366 * 86_400;

/// What the control plane asks of a tenant's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockChange {
    Advance { seconds: i64 },
    Set { at: Timestamp },
    Freeze,
    Unfreeze,
}

/// Parses an RFC 3339 instant within [`EARLIEST`, `LATEST`].
pub fn parse_instant(text: &str) -> Result<Timestamp> {
    let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
        Error::invalid("set", format!("expected an RFC 3339 instant such as 2030-01-01T00:00:00Z: {e}"))
    })?;
    let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    in_range("set", ms)
}

fn in_range(field: &str, at: Timestamp) -> Result<Timestamp> {
    if (EARLIEST..=LATEST).contains(&at) {
        Ok(at)
    } else {
        Err(Error::invalid(field, "the clock must stay between 2000-01-01T00:00:00Z and 2200-01-01T00:00:00Z"))
    }
}

/// The (offset, frozen instant) that put a tenant's clock at `at` when the wall clock reads
/// `wall`, running or frozen. (One reading of the wall clock for a whole change, so that
/// advancing by a second moves the offset by exactly a second.)
pub fn settings_at(wall: Timestamp, at: Timestamp, frozen: bool) -> Result<(i64, Option<Timestamp>)> {
    let at = in_range("clock", at)?;
    let offset = at.checked_sub(wall).ok_or_else(|| Error::invalid("clock", "clock out of range"))?;
    Ok((offset, frozen.then_some(at)))
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
