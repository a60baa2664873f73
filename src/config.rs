//! Server configuration: flags that also read the environment.

use std::path::PathBuf;
use std::time::Duration;

/// Default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://userplane.db";

/// `userplane serve` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "USERPLANE_LISTEN", default_value = "127.0.0.1:8700")]
    pub listen: String,
    /// Database URL: `sqlite://PATH` (or a plain path) for the embedded store, or
    /// `postgres://...` to share state between several nodes.
    #[arg(long, env = "USERPLANE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Bearer token guarding the control plane (`/_userplane`). Generated and printed when unset.
    #[arg(long, env = "USERPLANE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// A world file, `{"tenants": [<tenant document>, ...]}`: tenants not yet present are
    /// created at start; existing ones keep their state.
    #[arg(long, env = "USERPLANE_WORLD")]
    pub world: Option<PathBuf>,
    /// Do not load the demo world into an empty database.
    #[arg(long, env = "USERPLANE_NO_DEMO")]
    pub no_demo: bool,
    /// Wrong credentials an address (or a client id / key email) may send per window
    /// before they are answered 429; 0 turns the throttle off. A right credential always passes.
    #[arg(long, env = "USERPLANE_AUTH_FAILURE_LIMIT", default_value_t = 20)]
    pub auth_failure_limit: u32,
    /// The window of `--auth-failure-limit`, in seconds.
    #[arg(long, env = "USERPLANE_AUTH_FAILURE_WINDOW", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auth_failure_window: u64,
    /// Print nothing at start but errors (the banner and credentials are skipped).
    #[arg(long, short)]
    pub quiet: bool,
    /// How long a token or session is kept once it has expired (then introspection
    /// no longer knows it): `30s`, `15m`, `12h`, `7d`. A revoked token is kept at least
    /// until it expires, so it introspects as revoked, with its reason, while it lives.
    #[arg(long, env = "USERPLANE_RETAIN_TOKENS_FOR", default_value = "7d", value_parser = parse_duration)]
    pub retain_tokens_for: Duration,
    /// How long audit (journal) records are kept; at least as long as tokens.
    #[arg(long, env = "USERPLANE_RETAIN_AUDIT_FOR", default_value = "90d", value_parser = parse_duration)]
    pub retain_audit_for: Duration,
    /// How often the background pruner runs (the first pass comes one interval after start).
    #[arg(long, env = "USERPLANE_PRUNE_EVERY", default_value = "10m", value_parser = parse_duration)]
    pub prune_every: Duration,
}

/// The longest duration a flag takes: 100 years.
const MAX_DURATION_SECS: u64 = 100 * 366 * 86_400;

/// A duration as `<digits><unit>`, the unit one of `s`, `m`, `h`, `d` (`0` alone is zero).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(unit_at);
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: expected a number and a unit (s, m, h or d), e.g. 7d")),
    };
    let secs = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|secs| *secs <= MAX_DURATION_SECS)
        .ok_or_else(|| format!("{text:?}: expected a number and a unit, at most 100 years"))?;
    Ok(Duration::from_secs(secs))
}

impl ServeConfig {
    /// A configuration for tests and embedding: the given database, an ephemeral port,
    /// no demo world, no banner.
    pub fn for_tests(database_url: &str, admin_token: &str) -> Self {
        ServeConfig {
            listen: "127.0.0.1:0".into(),
            database_url: database_url.into(),
            admin_token: Some(admin_token.into()),
            world: None,
            no_demo: true,
            quiet: true,
            retain_tokens_for: Duration::from_secs(7 * 86_400),
            retain_audit_for: Duration::from_secs(90 * 86_400),
            prune_every: Duration::from_secs(600),
            auth_failure_limit: 20,
            auth_failure_window: 60,
        }
    }

    /// The failed-authentication throttle's limits.
    pub fn auth_throttle_limits(&self) -> crate::api::throttle::ThrottleLimits {
        crate::api::throttle::ThrottleLimits {
            max_failures: self.auth_failure_limit,
            window: std::time::Duration::from_secs(self.auth_failure_window),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit_and_stay_in_range() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "7", "d", "-1d", "7w", "1.5h", "7 d", "99999999999999999999d", "36700d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
