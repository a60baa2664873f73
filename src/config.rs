//! Server configuration: flags that also read the environment.

use std::path::PathBuf;
use std::time::Duration;

// Boolean environment variables take 1/0, true/false, yes/no, on/off (and y/n, t/f).
use clap::builder::BoolishValueParser;

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured at a terminal unless `NO_COLOR` is set.
    Text,
    /// One JSON object a line: `timestamp`, `level`, `target`, `fields`, and the request's span (its `id`).
    Json,
}
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
    #[arg(long, env = "USERPLANE_NO_DEMO", value_parser = BoolishValueParser::new())]
    pub no_demo: bool,
    /// Neither count requests nor serve `/metrics` (Prometheus' text format, no token).
    #[arg(long, env = "USERPLANE_NO_METRICS", value_parser = BoolishValueParser::new())]
    pub no_metrics: bool,
    /// Log lines as text (for a person) or as JSON, one object a line (for a collector).
    #[arg(long, env = "USERPLANE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
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
    /// Requests kept per tenant in the request journal (`/_userplane/tenants/{t}/requests`).
    #[arg(long, env = "USERPLANE_JOURNAL_SIZE", default_value_t = crate::harness::requests::DEFAULT_SIZE,
          value_parser = clap::value_parser!(u64).range(1..=crate::harness::requests::MAX_SIZE))]
    pub journal_size: u64,
    #[command(flatten)]
    pub connections: ConnectionLimits,
    /// Tests only (no flag, no environment variable): adds routes that panic, one per
    /// dialect (`/v2/__panic`, `/client/v4/__panic`, `/_userplane/__panic`).
    #[arg(skip)]
    pub panic_routes: bool,
}

/// Bounds on connections and request heads (see the README's "Limits").
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionLimits {
    /// Time a client has to send a whole request head once its first byte arrived
    /// (`10s`, `500ms`); then it gets a 408 and the connection is closed.
    #[arg(long, env = "USERPLANE_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_timeout)]
    pub header_read_timeout: Duration,
    /// Time a connection may sit idle (no request started, nothing being written) before
    /// it is closed.
    #[arg(long, env = "USERPLANE_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_timeout)]
    pub idle_timeout: Duration,
    /// Time a request body has to arrive whole once its head was read; then the request
    /// gets a 408 in its dialect.
    #[arg(long, env = "USERPLANE_BODY_READ_TIMEOUT", default_value = "30s", value_parser = parse_timeout)]
    pub body_read_timeout: Duration,
    /// Connections served at once; one more is answered 503 with `Retry-After` and closed.
    #[arg(long, env = "USERPLANE_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Bytes of one request head (request line and headers); more is a 431 (or a 414 when
    /// the request line alone is longer).
    #[arg(long, env = "USERPLANE_MAX_HEADER_BYTES", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u32).range(8192..=16 * 1024 * 1024))]
    pub max_header_bytes: u32,
    /// Header fields of one request; more is a 431.
    #[arg(long, env = "USERPLANE_MAX_HEADERS", default_value_t = 100,
          value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub max_headers: u16,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
        }
    }
}

/// A timeout flag: a duration (`10s`, `500ms`) between 1 ms and 1 hour.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() || duration > Duration::from_secs(3_600) {
        return Err(format!("{text:?} is out of range (1ms to 1h)"));
    }
    Ok(duration)
}

/// The longest duration a flag takes: 100 years.
const MAX_DURATION_SECS: u64 = 100 * 366 * 86_400;

/// A duration as `<digits><unit>`, the unit one of `ms`, `s`, `m`, `h`, `d` (`0` alone is zero).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(unit_at);
    let scale_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("{text:?}: expected a number and a unit (ms, s, m, h or d), e.g. 7d")),
    };
    let millis = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale_ms))
        .filter(|ms| *ms <= MAX_DURATION_SECS * 1_000)
        .ok_or_else(|| format!("{text:?}: expected a number and a unit, at most 100 years"))?;
    Ok(Duration::from_millis(millis))
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
            no_metrics: false,
            log_format: LogFormat::Text,
            quiet: true,
            retain_tokens_for: Duration::from_secs(7 * 86_400),
            retain_audit_for: Duration::from_secs(90 * 86_400),
            prune_every: Duration::from_secs(600),
            auth_failure_limit: 20,
            auth_failure_window: 60,
            connections: ConnectionLimits::default(),
            journal_size: crate::harness::requests::DEFAULT_SIZE,
            panic_routes: false,
        }
    }

    /// The failed-authentication throttle's limits.
    pub fn auth_throttle_limits(&self) -> crate::throttle::ThrottleLimits {
        crate::throttle::ThrottleLimits {
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
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_timeout("0").is_err() && parse_timeout("2h").is_err() && parse_timeout("10s").is_ok());
        for bad in ["", "7", "d", "-1d", "7w", "1.5h", "7 d", "99999999999999999999d", "36700d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
