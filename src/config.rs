//! Server configuration: flags that also read the environment.

/// Default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://userplane.db";

/// `userplane serve` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "USERPLANE_LISTEN", default_value = "127.0.0.1:8700")]
    pub listen: String,
}
