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
    /// Print nothing at start but errors (the banner and credentials are skipped).
    #[arg(long, short)]
    pub quiet: bool,
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
    #[arg(long, env = "USERPLANE_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// Time a connection may sit idle (no request started, nothing being written) before
    /// it is closed.
    #[arg(long, env = "USERPLANE_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
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
            max_connections: 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
        }
    }
}

/// A duration flag: `10s`, `500ms`, or plain seconds; between 1 ms and 1 hour.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit_ms) =
        if let Some(ms) = text.strip_suffix("ms") { (ms, 1) } else { (text.strip_suffix('s').unwrap_or(text), 1000) };
    let value: u64 = number.trim().parse().map_err(|_| format!("not a duration: {text:?} (use 10s or 500ms)"))?;
    let millis = value.checked_mul(unit_ms).filter(|ms| (1..=3_600_000).contains(ms));
    millis.map(Duration::from_millis).ok_or_else(|| format!("{text:?} is out of range (1ms to 3600s)"))
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
            connections: ConnectionLimits::default(),
            panic_routes: false,
        }
    }
}
