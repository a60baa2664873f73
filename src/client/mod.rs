//! `userplane offboard` and `userplane reinstate`: outbound clients for Zoom and
//! Cloudflare and the playbook that cuts a person's access across both.
//!
//! The same code runs against the real providers (default base URLs) or against
//! userplane (override the base URLs).
//!
//! Modules, in the order a run uses them:
//! - [`config`]: flags, environment, credentials;
//! - [`input`]: the list of people (arguments, `--from FILE`);
//! - [`playbook`]: the steps and their order, per person;
//! - [`zoom`], [`cloudflare`]: each provider's wire format;
//! - [`http`], [`retry`], [`throttle`]: sending with retries, backoff and pacing;
//! - [`failure`], [`report`], [`progress`], [`redact`]: what is printed, and what never is.

pub mod cloudflare;
pub mod config;
pub mod failure;
pub mod http;
pub mod input;
pub mod playbook;
pub mod progress;
pub mod redact;
pub mod report;
pub mod retry;
pub mod throttle;
pub mod zoom;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use futures::StreamExt as _;

use config::{ClientConfig, CloudflareAuth, ConnectionArgs};
use http::HttpCaller;
use playbook::{Playbook, StepName};
use progress::Progress;
use redact::Redactor;
use report::{PersonReport, Provider, ProviderNote, RunReport, Summary};

/// Exit code: usage or configuration error; nothing was sent.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: internal error.
pub const EXIT_INTERNAL: u8 = 1;

const OFFBOARD_HELP: &str = "\
Steps, in the order they run (sessions are cut first):
  zoom-revoke-sso         Zoom: revoke the SSO token, ending current Zoom sessions
  cloudflare-revoke       Cloudflare: revoke_user with devices and WARP re-authentication
  zoom-delete-assistants  Zoom: delete the person's assistants
  zoom-remove-schedulers  Zoom: remove the person as an assistant of others
  zoom-deactivate         Zoom: deactivate the user
Each step checks first, so running again reports \"already done\". A failed step does
not stop the others.
";

const COMMON_HELP: &str = "\
Credentials (secrets from the environment only, never from flags):
  Zoom        ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET (Server-to-Server OAuth app)
  Cloudflare  CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY; CLOUDFLARE_ACCOUNT_ID
A provider without credentials is skipped, and the report says so.

Retries: 429, 5xx and timeouts are retried, waiting as Retry-After asks (seconds or a
date) or with exponential backoff and jitter; no new attempt starts once a step has
run for --max-retry-time.

Exit codes:
  0  every step done, already done, planned or skipped
  1  internal error
  2  usage or configuration error (nothing was sent)
  3  auth: credentials rejected, or missing a permission or scope
  4  not found: the person is unknown to every provider asked (known to one only:
     the other is skipped), or a provider answered 404
  5  rate limited: still limited when --max-retry-time ran out
  6  provider error: 5xx after retries, a refusal, an unexpected answer
  7  network: no answer (connection failed or timed out) after retries
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
#[command(after_help = format!("{OFFBOARD_HELP}\n{COMMON_HELP}"))]
pub struct OffboardArgs {
    /// Email addresses of the people to offboard.
    #[arg(value_name = "EMAIL")]
    pub emails: Vec<String>,
    /// Read more addresses from FILE: one per line, or a CSV with an `email` column (`-` = stdin).
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Run only these steps (comma-separated); default: all.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "STEP,...")]
    pub steps: Vec<StepName>,
    /// People processed at the same time (requests are also paced per provider).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), value_name = "N")]
    pub concurrency: u16,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `userplane reinstate` arguments.
#[derive(Debug, clap::Args)]
#[command(after_help = COMMON_HELP)]
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
    let steps = if args.steps.is_empty() { StepName::OFFBOARD.to_vec() } else { args.steps.clone() };
    run(Command::Offboard, emails, &steps, usize::from(args.concurrency), &args.common).await
}

/// Re-activates a person's Zoom user; returns the process exit code.
pub async fn run_reinstate(args: ReinstateArgs) -> ExitCode {
    let emails = match input::collect_emails(std::slice::from_ref(&args.email), None) {
        Ok(emails) => emails,
        Err(err) => return usage_error("reinstate", &err.to_string()),
    };
    run(Command::Reinstate, emails, &[StepName::ZoomActivate], 1, &args.common).await
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
    let config = match ClientConfig::resolve(&common.connection, &|var| std::env::var(var).ok()) {
        Ok(config) => config,
        Err(err) => return usage_error(name, &err.to_string()),
    };
    let redactor = Arc::new(Redactor::new());
    for secret in config.secret_values() {
        redactor.add(&secret);
    }
    let runnable = steps.iter().any(|step| match step.provider() {
        Provider::Zoom => config.zoom.is_some(),
        Provider::Cloudflare => config.cloudflare.is_some(),
    });
    if !runnable {
        let needed = match command {
            Command::Reinstate => "reinstate needs Zoom: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET",
            Command::Offboard => {
                "no selected step has a configured provider: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and \
                 ZOOM_CLIENT_SECRET, and/or CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY) \
                 and CLOUDFLARE_ACCOUNT_ID"
            }
        };
        return usage_error(name, needed);
    }
    let playbook = match build_playbook(&config, steps, common.dry_run, &redactor) {
        Ok(playbook) => playbook,
        Err(err) => {
            eprintln!("userplane {name}: {}", redactor.scrub(&err));
            return ExitCode::from(EXIT_INTERNAL);
        }
    };

    let providers = provider_notes(&config);
    let progress = Progress::new(emails.len());
    if !common.json {
        progress.print(&redactor.scrub(&report::render_provider_notes(&providers)));
    }
    let mut people: Vec<PersonReport> = Vec::with_capacity(emails.len());
    let mut reports = futures::stream::iter(emails.iter())
        .map(|email| {
            let playbook = &playbook;
            async move {
                match command {
                    Command::Offboard => playbook.offboard(email).await,
                    Command::Reinstate => playbook.reinstate(email).await,
                }
            }
        })
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

fn build_playbook(
    config: &ClientConfig,
    steps: &[StepName],
    dry_run: bool,
    redactor: &Arc<Redactor>,
) -> Result<Playbook, String> {
    let zoom = match &config.zoom {
        Some(zoom) => {
            let http = HttpCaller::new(config.retry, config.requests_per_second)?;
            Some(zoom::ZoomClient::new(http, zoom.clone(), Arc::clone(redactor)))
        }
        None => None,
    };
    let cloudflare = match &config.cloudflare {
        Some(cloudflare) => {
            let http = HttpCaller::new(config.retry, config.requests_per_second)?;
            Some(
                cloudflare::CloudflareClient::new(http, cloudflare.clone())
                    .map_err(|why| format!("Cloudflare credentials: {why}"))?,
            )
        }
        None => None,
    };
    Ok(Playbook::new(zoom, cloudflare, steps, dry_run, config.retry.max_retry_time))
}

/// What the report says about each provider's setup (never a secret).
fn provider_notes(config: &ClientConfig) -> Vec<ProviderNote> {
    let zoom = match &config.zoom {
        Some(zoom) => ProviderNote {
            provider: Provider::Zoom,
            configured: true,
            api_url: Some(zoom.api_url.to_string()),
            account_id: Some(zoom.account_id.clone()),
            credential: Some("server_to_server_oauth".into()),
            note: format!("{} (account {}, token from {})", zoom.api_url, zoom.account_id, zoom.oauth_url),
        },
        None => ProviderNote {
            provider: Provider::Zoom,
            configured: false,
            api_url: None,
            account_id: None,
            credential: None,
            note: "not configured (set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET): Zoom steps are skipped"
                .into(),
        },
    };
    let cloudflare = match &config.cloudflare {
        Some(cloudflare) => {
            let (credential, how) = match &cloudflare.auth {
                CloudflareAuth::ApiToken(_) => ("api_token", "API token".to_owned()),
                CloudflareAuth::GlobalKey { email, .. } => ("global_key", format!("global API key of {email}")),
            };
            ProviderNote {
                provider: Provider::Cloudflare,
                configured: true,
                api_url: Some(cloudflare.api_url.to_string()),
                account_id: Some(cloudflare.account_id.clone()),
                credential: Some(credential.into()),
                note: format!("{} (account {}, {how})", cloudflare.api_url, cloudflare.account_id),
            }
        }
        None => ProviderNote {
            provider: Provider::Cloudflare,
            configured: false,
            api_url: None,
            account_id: None,
            credential: None,
            note: "not configured (set CLOUDFLARE_API_TOKEN or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY, and \
                   CLOUDFLARE_ACCOUNT_ID): Cloudflare steps are skipped"
                .into(),
        },
    };
    vec![zoom, cloudflare]
}

fn usage_error(command: &str, message: &str) -> ExitCode {
    eprintln!("userplane {command}: {message}");
    ExitCode::from(EXIT_USAGE)
}
