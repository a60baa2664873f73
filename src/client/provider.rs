//! What the playbook knows of a provider, and the one trait a provider's client implements.
//!
//! A provider module declares a [`ProviderKind`]: its identity, the steps it offers, its
//! flags and how its credentials are read; it is listed once in [`PROVIDERS`]. Configured,
//! it yields a [`ProviderClient`]: look a person up, run one of its steps. The playbook,
//! the report, `--steps` and the help are built from these, so a new provider is a new
//! module and one line in [`PROVIDERS`].

pub use super::PROVIDERS;

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::config::{ConfigError, Shared};
use super::failure::ProviderError;
use super::http::{CallLog, HttpCaller};
use super::redact::Redactor;
use super::report::{ProviderNote, Success};

/// A provider's identity: `key` in flags-facing text and JSON, `name` for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provider {
    key: &'static str,
    name: &'static str,
}

impl Provider {
    /// A provider called `name` ("Zoom"), keyed `key` ("zoom").
    pub const fn new(key: &'static str, name: &'static str) -> Self {
        Self { key, name }
    }

    /// Display name ("Zoom").
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The stable key in the report ("zoom").
    pub fn key(self) -> &'static str {
        self.key
    }
}

impl Serialize for Provider {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key)
    }
}

/// When a step runs: every provider's sessions are cut first, then delegations go, then
/// accounts are closed. Within a phase providers run at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// End what is signed in now.
    Sessions,
    /// Remove what others hold on the person's behalf (and the reverse).
    Delegations,
    /// Close (or, for `reinstate`, reopen) the account.
    Account,
}

/// A step a provider offers.
#[derive(Debug)]
pub struct StepSpec {
    /// The name in `--steps`, the output and the JSON report.
    pub name: &'static str,
    /// The provider it acts on.
    pub provider: Provider,
    /// When it runs.
    pub phase: Phase,
    /// One line for `--help`.
    pub help: &'static str,
    /// Keyed by email, it still runs when the lookup failed (e.g. a token allowed to
    /// revoke but not to list users).
    pub by_email: bool,
    /// Run again after an unanswered write, it reads the state first and reports
    /// "already done" if the write took effect. A step without such a read (a
    /// revocation) must be harmless to repeat: it is simply sent again.
    pub reads_back: bool,
}

/// A step, by reference to its declaration.
#[derive(Clone, Copy)]
pub struct StepName(&'static StepSpec);

impl StepName {
    /// The step declared by `spec`.
    pub const fn of(spec: &'static StepSpec) -> Self {
        Self(spec)
    }

    /// The name used in `--steps`, the output and the JSON report.
    pub fn as_str(self) -> &'static str {
        self.0.name
    }

    /// The provider the step acts on.
    pub fn provider(self) -> Provider {
        self.0.provider
    }

    /// Its declaration.
    pub fn spec(self) -> &'static StepSpec {
        self.0
    }

    /// The steps of `offboard`, in the order they run.
    pub fn offboard() -> Vec<StepName> {
        in_run_order(PROVIDERS.iter().flat_map(|kind| kind.info().steps.iter()).map(StepName))
    }

    /// The steps of `reinstate`, in the order they run.
    pub fn reinstate() -> Vec<StepName> {
        in_run_order(PROVIDERS.iter().flat_map(|kind| kind.info().reinstate_steps.iter()).map(StepName))
    }

    /// The offboarding step called `name`.
    pub fn named(name: &str) -> Option<StepName> {
        Self::offboard().into_iter().find(|step| step.as_str() == name)
    }

    /// The `--steps` parser: any offboarding step, by name.
    pub fn parser() -> impl clap::builder::TypedValueParser<Value = StepName> {
        let values = Self::offboard()
            .into_iter()
            .map(|step| clap::builder::PossibleValue::new(step.as_str()).help(step.spec().help));
        clap::builder::TypedValueParser::try_map(clap::builder::PossibleValuesParser::new(values), |name: String| {
            Self::named(&name).ok_or_else(|| format!("no step {name}"))
        })
    }

    /// Where the step runs: its phase, then the provider's place in [`PROVIDERS`], then
    /// its place among the provider's steps.
    fn run_order(self) -> (Phase, usize) {
        let index = PROVIDERS
            .iter()
            .flat_map(|kind| kind.info().steps.iter().chain(kind.info().reinstate_steps))
            .position(|spec| std::ptr::eq(spec, self.0))
            .unwrap_or(usize::MAX);
        (self.0.phase, index)
    }
}

fn in_run_order(steps: impl Iterator<Item = StepName>) -> Vec<StepName> {
    let mut steps: Vec<StepName> = steps.collect();
    steps.sort();
    steps.dedup();
    steps
}

impl PartialEq for StepName {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for StepName {}

impl PartialOrd for StepName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for StepName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.run_order().cmp(&other.run_order())
    }
}

impl fmt::Debug for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StepName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What a provider declares before any credential is read.
#[derive(Debug)]
pub struct ProviderInfo {
    /// Who.
    pub provider: Provider,
    /// The steps of `offboard`.
    pub steps: &'static [StepSpec],
    /// The steps of `reinstate` (none: the provider has nothing to undo).
    pub reinstate_steps: &'static [StepSpec],
    /// The credential line of `--help`, after the name.
    pub credentials_help: &'static str,
    /// What to set, as a sentence ends: "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET".
    pub setup: &'static str,
    /// The provider line of a run without its credentials.
    pub not_configured_note: &'static str,
    /// The message of its steps in such a run.
    pub not_configured_step: &'static str,
    /// The message of its steps for a person it does not know.
    pub unknown_person: &'static str,
}

/// A provider, as listed in [`PROVIDERS`] (a provider implements [`ProviderSetup`],
/// which gives it this).
pub trait ProviderKind: Sync {
    /// Its declaration.
    fn info(&self) -> &'static ProviderInfo;

    /// Adds its flags (non-secret settings, each also read from the environment).
    fn flags(&self, command: clap::Command) -> clap::Command;

    /// Its client, from its flags and, for secrets, `secret_env`; `None` when none of its
    /// settings are given (the provider is skipped). Every credential the client obtains
    /// later (an access token) goes to `redactor`. Nothing is sent yet.
    fn configure(
        &self,
        flags: &clap::ArgMatches,
        secret_env: &dyn Fn(&str) -> Option<String>,
        shared: &Shared,
        redactor: &Arc<Redactor>,
    ) -> Result<Option<Box<dyn ProviderClient>>, ConfigError>;
}

/// What a provider module supplies to be set up from the command line: its flags, how
/// its settings are resolved from them, and its client over an HTTP caller.
pub trait ProviderSetup: Sync {
    /// Its flags.
    type Args: clap::Args + clap::FromArgMatches;
    /// Its resolved settings.
    type Config;

    /// Its declaration.
    fn info(&self) -> &'static ProviderInfo;

    /// Its settings, from its flags and, for secrets, `secret_env`; `None` when none is given.
    fn resolve(
        args: &Self::Args,
        secret_env: &dyn Fn(&str) -> Option<String>,
        allow_http: bool,
    ) -> Result<Option<Self::Config>, ConfigError>;

    /// Its client over `http` (an access token it obtains goes to `redactor`).
    fn client(
        config: Self::Config,
        http: HttpCaller,
        redactor: &Arc<Redactor>,
    ) -> Result<Box<dyn ProviderClient>, ConfigError>;
}

impl<P: ProviderSetup> ProviderKind for P {
    fn info(&self) -> &'static ProviderInfo {
        ProviderSetup::info(self)
    }

    fn flags(&self, command: clap::Command) -> clap::Command {
        <P::Args as clap::Args>::augment_args(command)
    }

    fn configure(
        &self,
        flags: &clap::ArgMatches,
        secret_env: &dyn Fn(&str) -> Option<String>,
        shared: &Shared,
        redactor: &Arc<Redactor>,
    ) -> Result<Option<Box<dyn ProviderClient>>, ConfigError> {
        let args =
            <P::Args as clap::FromArgMatches>::from_arg_matches(flags).map_err(|e| ConfigError(e.to_string()))?;
        let Some(config) = P::resolve(&args, secret_env, shared.allow_http)? else {
            return Ok(None);
        };
        let http = shared.http(ProviderSetup::info(self).provider.name())?;
        P::client(config, http, redactor).map(Some)
    }
}

/// A person as a provider knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUser {
    /// The provider's id, when it has one.
    pub id: Option<String>,
    /// The address as the provider spells it.
    pub email: String,
    /// The status there, when the provider says (Zoom: active / inactive / pending).
    pub status: Option<String>,
}

/// Whom a step acts on.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The address as given.
    pub email: &'a str,
    /// The lookup's answer; `None` when the lookup failed and the step is keyed by email.
    pub user: Option<&'a RemoteUser>,
}

/// How a step is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunMode {
    /// Plan only: send no change.
    pub dry_run: bool,
    /// An earlier attempt's write went unanswered: read the state again instead of
    /// trusting the lookup, and report "already done" if the change is there.
    pub recheck: bool,
}

/// A configured provider's client: the one interface the playbook drives.
#[async_trait::async_trait]
pub trait ProviderClient: fmt::Debug + Send + Sync {
    /// Its declaration.
    fn info(&self) -> &'static ProviderInfo;

    /// What the report says about its setup (never a secret).
    fn note(&self) -> ProviderNote;

    /// Every secret value, in every form that goes on the wire, for the output scrubber.
    fn secret_values(&self) -> Vec<String>;

    /// Looks a person up: `Ok(None)` when the provider does not know them.
    async fn lookup(&self, email: &str, log: &mut CallLog) -> Result<Option<RemoteUser>, ProviderError>;

    /// Runs `step` (one the provider declared) for `target`.
    async fn run(
        &self,
        step: StepName,
        target: Target<'_>,
        mode: RunMode,
        log: &mut CallLog,
    ) -> Result<Success, ProviderError>;
}
