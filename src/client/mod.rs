//! `userplane offboard` and `userplane reinstate`: outbound clients for the providers
//! and the playbook that cuts a person's access across all of them.
//!
//! The same code runs against the real providers (default base URLs) or against
//! userplane (override the base URLs).
//!
//! Modules, in the order a run uses them:
//! - [`provider`]: what a provider declares (steps, flags, credentials) and the one
//!   trait its client implements; [`PROVIDERS`] lists them;
//! - [`config`]: the shared flags and the checks every provider's settings go through;
//! - [`input`]: the list of people (arguments, `--from FILE`);
//! - [`playbook`]: the steps and their order, per person, and the re-check of a write
//!   that went unanswered;
//! - [`zoom`], [`cloudflare`]: each provider's steps, settings and wire format;
//! - [`http`], [`retry`], [`throttle`]: sending with retries, backoff and pacing;
//! - [`failure`], [`report`], [`progress`], [`redact`]: what is printed, and what never is.

pub mod cloudflare;
pub mod config;
pub mod failure;
pub mod http;
pub mod input;
pub mod playbook;
pub mod progress;
pub mod provider;
pub mod redact;
pub mod report;
pub mod retry;
pub mod throttle;
pub mod zoom;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;

use config::{ConnectionArgs, Shared};
use http::GiveUp;
use playbook::Playbook;
use progress::Progress;
use provider::{ProviderClient, StepName};
use redact::Redactor;
use report::{PersonReport, ProviderNote, RunReport, Summary};

/// Every provider the client speaks to, in the order the report lists them (a new
/// provider: its module above, and one entry here).
pub static PROVIDERS: &[&dyn provider::ProviderKind] = &[&zoom::Zoom, &cloudflare::Cloudflare];

/// Exit code: usage or configuration error; nothing was sent.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: internal error.
pub const EXIT_INTERNAL: u8 = 1;

/// The steps part of `offboard --help`, from the providers' declarations.
fn offboard_help() -> String {
    let mut help = String::from("Steps, in the order they run (sessions are cut first):\n");
    for step in StepName::offboard() {
        help.push_str(&format!("  {:<23} {}\n", step.as_str(), step.spec().help));
    }
    help.push_str(
        "Each step checks first, so running again reports \"already done\". A failed step does\n\
         not stop the others. A change answered with a 5xx, a reset or a timeout may have been\n\
         applied: the step reads the state again before it sends the change again (a revocation,\n\
         harmless to repeat and invisible to a read, is simply sent again).\n",
    );
    format!("{help}\n{}", common_help())
}

/// The credentials, retries and exit codes part of the help.
fn common_help() -> String {
    let mut help = String::from("Credentials (secrets from the environment only, never from flags):\n");
    for kind in PROVIDERS {
        let info = kind.info();
        help.push_str(&format!("  {:<11} {}\n", info.provider.name(), info.credentials_help));
    }
    help.push_str(COMMON_HELP);
    help
}

const COMMON_HELP: &str = "\
A provider without credentials is skipped, and the report says so.

Retries: 429, 5xx and timeouts are retried, waiting as Retry-After asks (seconds or a
date) or with exponential backoff and jitter; no new attempt starts once a step has
run for --max-retry-time, nor once --give-up-after has passed since the run began.
Every wait is announced on stderr (provider, address, attempt, next retry).

Exit codes:
  0  every step done, already done, planned or skipped
  1  internal error
  2  usage or configuration error (nothing was sent)
  3  auth: credentials rejected, or missing a permission or scope
  4  not found: the person is unknown to every provider asked (known to one only:
     the other is skipped), or a provider answered 404
  5  rate limited: still limited when --max-retry-time ran out
  6  provider error: 5xx after retries, a refusal, an unexpected answer
  7  network: no answer (connection failed or timed out) after retries, or
     --give-up-after passed before the step could be sent
When steps fail in different ways, the most serious kind sets the code, in this order:
auth, network, rate limited, provider error, not found.
";

/// Flags shared by `offboard` and `reinstate`.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Resolve the people and print the plan; send no change (only GETs).
    #[arg(long)]
    pub dry_run: bool,
    /// Print a machine-readable JSON report instead of one line per step.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `userplane offboard` arguments.
#[derive(Debug, clap::Args)]
#[command(after_help = offboard_help())]
pub struct OffboardArgs {
    /// Email addresses of the people to offboard.
    #[arg(value_name = "EMAIL")]
    pub emails: Vec<String>,
    /// Read more addresses from FILE: one per line, or a CSV with an `email` column (`-` = stdin).
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Run only these steps (comma-separated); default: all.
    #[arg(long, value_parser = StepName::parser(), value_delimiter = ',', value_name = "STEP,...")]
    pub steps: Vec<StepName>,
    /// People processed at the same time (requests are also paced per provider).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), value_name = "N")]
    pub concurrency: u16,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `userplane reinstate` arguments.
#[derive(Debug, clap::Args)]
#[command(after_help = common_help())]
pub struct ReinstateArgs {
    /// Email address of the person to re-activate in Zoom. Sessions revoked by
    /// offboarding stay revoked; Cloudflare has nothing to undo (the person signs in again).
    #[arg(value_name = "EMAIL")]
    pub email: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs the offboarding playbook; returns the process exit code.
pub async fn run_offboard(args: OffboardArgs) -> ExitCode {
    let emails = match input::collect_emails(&args.emails, args.from.as_deref()) {
        Ok(emails) => emails,
        Err(err) => return usage_error("offboard", &err.to_string()),
    };
    let steps = if args.steps.is_empty() { StepName::offboard() } else { args.steps.clone() };
    run(Command::Offboard, emails, &steps, usize::from(args.concurrency), &args.common).await
}

/// Re-activates a person's Zoom user; returns the process exit code.
pub async fn run_reinstate(args: ReinstateArgs) -> ExitCode {
    let emails = match input::collect_emails(std::slice::from_ref(&args.email), None) {
        Ok(emails) => emails,
        Err(err) => return usage_error("reinstate", &err.to_string()),
    };
    run(Command::Reinstate, emails, &StepName::reinstate(), 1, &args.common).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Offboard,
    Reinstate,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Command::Offboard => "offboard",
            Command::Reinstate => "reinstate",
        }
    }
}

async fn run(
    command: Command,
    emails: Vec<String>,
    steps: &[StepName],
    concurrency: usize,
    common: &CommonArgs,
) -> ExitCode {
    let name = command.name();
    let progress = Progress::new(emails.len());
    let redactor = Arc::new(Redactor::new());
    let args = &common.connection;
    let give_up = args.give_up_after.map(|after| GiveUp { at: Instant::now() + after, after });
    let shared = Shared::of(args, give_up, progress.notices());
    let mut clients: Vec<Box<dyn ProviderClient>> = Vec::new();
    let mut providers: Vec<ProviderNote> = Vec::new();
    for kind in PROVIDERS {
        let info = kind.info();
        let configured = kind.configure(&args.providers.0, &|var| std::env::var(var).ok(), &shared, &redactor);
        match configured {
            Ok(Some(client)) => {
                for secret in client.secret_values() {
                    redactor.add(&secret);
                }
                providers.push(client.note());
                clients.push(client);
            }
            Ok(None) => providers.push(ProviderNote::not_configured(info)),
            Err(err) => return usage_error(name, &err.to_string()),
        }
    }
    let runnable = steps.iter().any(|step| clients.iter().any(|client| client.info().provider == step.provider()));
    if !runnable {
        return usage_error(name, &nothing_to_run(command, steps));
    }
    let playbook = Playbook::new(clients, steps, common.dry_run, shared.retry, give_up, progress.notices());

    if !common.json {
        progress.print(&redactor.scrub(&report::render_provider_notes(&providers)));
    }
    let mut people: Vec<PersonReport> = Vec::with_capacity(emails.len());
    let mut reports = futures::stream::iter(emails.iter())
        .map(|email| playbook.run(email))
        // `buffered` keeps the input order in the output while people run concurrently.
        .buffered(concurrency.max(1));
    while let Some(person) = reports.next().await {
        progress.advance(&person.email);
        if !common.json {
            progress.print(&redactor.scrub(&report::render_person(&person)));
        }
        people.push(person);
    }
    progress.finish();

    let summary = Summary::of(&people);
    let exit_code = summary.exit_code;
    if common.json {
        let run_report = RunReport { command: name, dry_run: common.dry_run, providers, people, summary };
        progress.print(&format!("{}\n", redactor.scrub(&run_report.to_json())));
    } else {
        progress.print(&report::render_summary(&summary, common.dry_run));
    }
    ExitCode::from(exit_code)
}

/// Why nothing can run: no selected step has a configured provider.
fn nothing_to_run(command: Command, steps: &[StepName]) -> String {
    let needed: Vec<&'static provider::ProviderInfo> = PROVIDERS
        .iter()
        .map(|kind| kind.info())
        .filter(|info| steps.iter().any(|step| step.provider() == info.provider))
        .collect();
    let setup: Vec<&str> = needed.iter().map(|info| info.setup).collect();
    match command {
        Command::Reinstate => {
            let names: Vec<&str> = needed.iter().map(|info| info.provider.name()).collect();
            format!("reinstate needs {}: set {}", names.join(" and "), setup.join(", and "))
        }
        Command::Offboard => {
            format!("no selected step has a configured provider: set {}", setup.join(", and/or "))
        }
    }
}

fn usage_error(command: &str, message: &str) -> ExitCode {
    eprintln!("userplane {command}: {message}");
    ExitCode::from(EXIT_USAGE)
}
