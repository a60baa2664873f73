//! What every provider's configuration shares: the retry and pacing flags, `--allow-http`,
//! the flags each provider in [`PROVIDERS`] adds, and the checks that keep credentials
//! off the process list, out of URLs and out of clear-text HTTP.
//!
//! Non-secret settings are flags that also read the environment. Secrets are read from
//! the environment only: a flag would put them in the process list and in shell history.
//! Each provider's own settings live in its module (`zoom/config.rs`, `cloudflare/config.rs`).

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

use super::http::{GiveUp, HttpCaller};
use super::progress::Notices;
use super::provider::PROVIDERS;
use super::retry::{RetryPolicy, parse_duration};

/// Settings shared by `offboard` and `reinstate`: every provider's flags, then the shared ones.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    #[command(flatten)]
    pub providers: ProviderFlags,
    /// Allow plain-http URLs to hosts other than loopback (credentials would travel in clear).
    #[arg(long)]
    pub allow_http: bool,
    /// Longest wait for one HTTP attempt (e.g. 30s, 500ms).
    #[arg(long, env = "USERPLANE_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration, value_name = "DURATION", help_heading = "Retries")]
    pub request_timeout: Duration,
    /// Per step, no new attempt starts after this much time (0 = never retry).
    #[arg(long, env = "USERPLANE_MAX_RETRY_TIME", default_value = "60s", value_parser = parse_duration, value_name = "DURATION", help_heading = "Retries")]
    pub max_retry_time: Duration,
    /// At most this many request starts per second to each provider (0 = no pacing).
    #[arg(
        long,
        env = "USERPLANE_MAX_REQUESTS_PER_SECOND",
        default_value_t = 10,
        value_name = "N",
        help_heading = "Retries"
    )]
    pub max_requests_per_second: u32,
    /// The whole run sends no request after this long (e.g. 20s); what is left fails as
    /// network errors (exit 7). Default: no bound beyond --max-retry-time per step.
    #[arg(long, env = "USERPLANE_GIVE_UP_AFTER", value_parser = parse_duration, value_name = "DURATION", help_heading = "Retries")]
    pub give_up_after: Option<Duration>,
}

/// The flags of every provider in [`PROVIDERS`], each provider adding its own; each
/// provider reads them back from these matches.
#[derive(Debug, Clone)]
pub struct ProviderFlags(pub clap::ArgMatches);

impl clap::FromArgMatches for ProviderFlags {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Ok(Self(matches.clone()))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0 = matches.clone();
        Ok(())
    }
}

impl clap::Args for ProviderFlags {
    fn augment_args(command: clap::Command) -> clap::Command {
        PROVIDERS.iter().fold(command, |command, kind| kind.flags(command))
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

/// What a provider's client needs besides its own settings.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Plain http allowed to any host.
    pub allow_http: bool,
    /// Timeouts and retry budget.
    pub retry: RetryPolicy,
    /// Request starts per second per provider (0 = unpaced).
    pub requests_per_second: u32,
    /// The run's `--give-up-after` bound, from when the run began.
    pub give_up: Option<GiveUp>,
    /// Where waits are announced.
    pub notices: Notices,
}

impl Shared {
    /// The shared settings of `args`, for a run bounded by `give_up`.
    pub fn of(args: &ConnectionArgs, give_up: Option<GiveUp>, notices: Notices) -> Self {
        Self {
            allow_http: args.allow_http,
            retry: RetryPolicy::new(args.request_timeout, args.max_retry_time),
            requests_per_second: args.max_requests_per_second,
            give_up,
            notices,
        }
    }

    /// An HTTP caller to `provider` with these settings.
    pub fn http(&self, provider: &'static str) -> Result<HttpCaller, ConfigError> {
        HttpCaller::new(provider, self.retry, self.requests_per_second, self.give_up, self.notices.clone())
            .map_err(ConfigError)
    }
}

/// A configuration mistake; nothing has been sent when it is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The secret in environment variable `name`, trimmed; `None` when unset or blank.
pub fn secret(secret_env: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<SecretString>, ConfigError> {
    match secret_env(name).map(|value| value.trim().to_owned()) {
        Some(value) if !value.is_empty() => {
            check_header_safe(name, &value)?;
            Ok(Some(SecretString::from(value)))
        }
        _ => Ok(None),
    }
}

/// A non-secret setting, trimmed; `None` when unset or blank.
pub fn present(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Parses a base URL and refuses the ones that would leak credentials.
pub fn base_url(flag: &str, text: &str, allow_http: bool) -> Result<Url, ConfigError> {
    let url = Url::parse(text.trim())
        .map_err(|err| ConfigError(format!("{flag}: `{}` is not a URL ({err})", text.trim())))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError(format!("{flag}: the URL must not carry credentials; use the environment variables")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError(format!("{flag}: the URL must not have a query or fragment")));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&url) => {}
        "http" => {
            return Err(ConfigError(format!(
                "{flag}: plain http to a non-loopback host would send credentials in clear; \
                 use https, or pass --allow-http"
            )));
        }
        other => return Err(ConfigError(format!("{flag}: unsupported scheme `{other}`"))),
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(ConfigError(format!("{flag}: `{url}` cannot be used as a base URL")));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Account and client ids go into URLs and the Basic header: keep them to a safe alphabet.
pub fn check_identifier(name: &str, value: &str) -> Result<(), ConfigError> {
    let ok = value.len() <= 128 && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(()) } else { Err(ConfigError(format!("{name} must be at most 128 letters, digits, '-', '_' or '.'"))) }
}

pub fn check_email_header(name: &str, value: &str) -> Result<(), ConfigError> {
    check_header_safe(name, value)?;
    if value.contains('@') { Ok(()) } else { Err(ConfigError(format!("{name} must be an email address"))) }
}

/// The error names the variable, never the value.
pub fn check_header_safe(name: &str, value: &str) -> Result<(), ConfigError> {
    if value.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        Ok(())
    } else {
        Err(ConfigError(format!("{name} contains characters that cannot go in an HTTP header")))
    }
}

#[cfg(test)]
pub mod tests {
    use std::collections::HashMap;

    use clap::Parser;

    use super::*;
    use crate::client::provider::ProviderClient;
    use crate::client::redact::Redactor;

    #[derive(Parser)]
    struct Harness {
        #[command(flatten)]
        args: ConnectionArgs,
    }

    /// Each provider's client as configured by `flags` and the secrets `secrets`.
    pub fn configure(
        flags: &[&str],
        secrets: &[(&str, &str)],
    ) -> Result<Vec<Option<Box<dyn ProviderClient>>>, ConfigError> {
        let mut argv = vec!["test"];
        argv.extend_from_slice(flags);
        let args = Harness::try_parse_from(argv).expect("flags parse").args;
        let secrets: HashMap<String, String> = secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let redactor = std::sync::Arc::new(Redactor::new());
        PROVIDERS
            .iter()
            .map(|kind| {
                kind.configure(
                    &args.providers.0,
                    &|name| secrets.get(name).cloned(),
                    &Shared::of(&args, None, Notices::default()),
                    &redactor,
                )
            })
            .collect()
    }

    #[test]
    fn nothing_configured_is_not_an_error() {
        let clients = configure(&[], &[]).expect("ok");
        assert!(clients.iter().all(Option::is_none));
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(check_identifier("X", "a/b").is_err());
        assert!(check_identifier("X", "acct-1_2.3").is_ok());
    }

    #[test]
    fn urls_that_would_leak_credentials_are_refused() {
        let check = |url: &str| base_url("--x-url", url, false).map(|_| ());
        assert!(check("http://127.0.0.1:8700/v2").is_ok());
        assert!(check("http://localhost:8700/v2").is_ok());
        assert!(check("http://[::1]:8700/v2").is_ok());
        assert!(check("http://zoom.example.com/v2").is_err());
        assert!(base_url("--x-url", "http://zoom.example.com/v2", true).is_ok());
        assert!(check("https://user:pw@api.zoom.us/v2").is_err());
        assert!(check("https://api.zoom.us/v2?x=1").is_err());
        assert!(check("ftp://api.zoom.us/v2").is_err());
        assert!(check("not a url").is_err());
    }

    #[test]
    fn secrets_with_line_breaks_are_refused_by_name() {
        let err = secret(&|_| Some("a\rb".into()), "ZOOM_CLIENT_SECRET").expect_err("bad");
        assert!(err.0.contains("ZOOM_CLIENT_SECRET"));
        assert!(!err.0.contains("a\rb"));
    }
}
