//! Per-provider pacing shared by every concurrent worker: a minimum spacing between
//! request starts, and a shared pause when the provider answers 429, so a bulk run
//! backs off as a whole instead of each worker hammering the limit on its own.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Paces the requests to one provider.
#[derive(Debug)]
pub struct Throttle {
    spacing: Option<Duration>,
    state: Mutex<ThrottleState>,
}

#[derive(Debug)]
struct ThrottleState {
    next_start: Instant,
    paused_until: Instant,
}

impl Throttle {
    /// At most `requests_per_second` request starts per second; 0 means no pacing.
    pub fn new(requests_per_second: u32) -> Self {
        let now = Instant::now();
        Self {
            spacing: (requests_per_second > 0).then(|| Duration::from_secs(1) / requests_per_second),
            state: Mutex::new(ThrottleState { next_start: now, paused_until: now }),
        }
    }

    /// Waits until this worker may start a request.
    pub async fn wait_turn(&self) {
        let start = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let start = Instant::now().max(state.next_start).max(state.paused_until);
            if let Some(spacing) = self.spacing {
                state.next_start = start + spacing;
            }
            start
        };
        // Sleeping even for a past instant costs a timer tick; skip it.
        if start > Instant::now() {
            tokio::time::sleep_until(start.into()).await;
        }
    }

    /// Holds every worker back until `until` (the provider asked us to wait).
    pub fn pause_until(&self, until: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.paused_until = state.paused_until.max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spaces_request_starts() {
        let throttle = Throttle::new(20); // 50 ms apart
        let begun = Instant::now();
        for _ in 0..4 {
            throttle.wait_turn().await;
        }
        assert!(begun.elapsed() >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn zero_means_no_pacing() {
        let throttle = Throttle::new(0);
        let begun = Instant::now();
        for _ in 0..100 {
            throttle.wait_turn().await;
        }
        assert!(begun.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_pause_holds_everyone() {
        let throttle = Throttle::new(0);
        let begun = Instant::now();
        throttle.pause_until(begun + Duration::from_millis(120));
        throttle.wait_turn().await;
        assert!(begun.elapsed() >= Duration::from_millis(120));
    }
}
