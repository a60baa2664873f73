//! The command line: `serve`, `migrate`, `offboard`, `reinstate`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::{OffboardArgs, ReinstateArgs};
use crate::config::ServeConfig;

/// userplane: the user-access admin APIs of Zoom and Cloudflare, with real state.
#[derive(Debug, Parser)]
#[command(name = "userplane", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeConfig),
    /// Apply the database migrations and exit.
    Migrate {
        /// Database URL: `sqlite://PATH` (or a plain path), or `postgres://...`.
        #[arg(long, env = "USERPLANE_DATABASE_URL", default_value = crate::config::DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Cut a person's access across Zoom and Cloudflare.
    Offboard(OffboardArgs),
    /// Re-activate a person's Zoom user (old sessions stay dead).
    Reinstate(ReinstateArgs),
}

/// Runs a parsed command line to completion. Exit codes of `serve` and `migrate`: 0 done
/// (serve: shut down on a signal), 1 could not start or migrate (the message says why);
/// a usage error is clap's 2, before this runs. `offboard` and `reinstate` have their own.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("userplane: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(config) => report(crate::app::serve(config).await),
            Command::Migrate { database_url } => {
                report(crate::store::Store::open(&database_url).await.map(|_| println!("migrations applied")))
            }
            Command::Offboard(args) => crate::client::run_offboard(args).await,
            Command::Reinstate(args) => crate::client::run_reinstate(args).await,
        }
    })
}

fn report<E: std::fmt::Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("userplane: {err}");
            ExitCode::FAILURE
        }
    }
}
