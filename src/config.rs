//! Server configuration: flags that also read the environment.

use std::path::PathBuf;

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
