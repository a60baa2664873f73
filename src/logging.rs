//! The server's log: to stderr, filtered by `USERPLANE_LOG` (tracing's `EnvFilter` syntax,
//! default `userplane=info`), as text or JSON lines (`--log-format`). Every line a request
//! writes is inside its `request` span, whose `id` is the id sent back to the client.

use std::io::IsTerminal as _;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

/// Installs the process's logger (once; later calls do nothing).
pub fn init(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("USERPLANE_LOG").unwrap_or_else(|_| "userplane=info".into());
    // The PostgreSQL client crates log every statement's parameters (secret hashes among
    // them) at debug: they are never logged, whatever USERPLANE_LOG says. A filter of
    // its own, so that no directive (`tokio_postgres::query=trace`) can outrank it.
    let no_database_client = tracing_subscriber::filter::filter_fn(|meta| !is_database_client(meta.target()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        // Colours only for a person at a terminal, and never when NO_COLOR is set.
        LogFormat::Text => builder.with_ansi(use_colour()).finish().with(no_database_client).try_init(),
        // JSON lines never carry colour codes; the request's span (with its id) is on each line.
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .with_current_span(true)
            .with_span_list(false)
            .finish()
            .with(no_database_client)
            .try_init(),
    };
}

/// Whether text lines get ANSI colours: stderr is a terminal and `NO_COLOR` is unset.
fn use_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// Log targets of the PostgreSQL client crates (`tokio_postgres`, `postgres`,
/// `postgres_protocol`, ...), which log query parameters.
fn is_database_client(target: &str) -> bool {
    target.starts_with("tokio_postgres") || target.starts_with("postgres")
}
