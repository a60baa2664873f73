//! Client configuration: where the providers are, which credentials to use, how to retry.
//!
//! Non-secret settings are flags that also read the environment. Secrets
//! (`ZOOM_CLIENT_SECRET`, `CLOUDFLARE_API_TOKEN`, `CLOUDFLARE_API_KEY`) are read from the
//! environment only: a flag would put them in the process list and in shell history.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use reqwest::Url;

use super::redact::Secret;
use super::retry::{RetryPolicy, parse_duration};

/// Zoom's API base URL.
pub const DEFAULT_ZOOM_API_URL: &str = "https://api.zoom.us/v2";
/// Zoom's OAuth token endpoint.
pub const DEFAULT_ZOOM_OAUTH_URL: &str = "https://zoom.us/oauth/token";
/// Cloudflare's API base URL.
pub const DEFAULT_CLOUDFLARE_API_URL: &str = "https://api.cloudflare.com/client/v4";

/// Environment variable holding the Zoom Server-to-Server OAuth client secret.
pub const ZOOM_CLIENT_SECRET_ENV: &str = "ZOOM_CLIENT_SECRET";
/// Environment variable holding a Cloudflare API token.
pub const CLOUDFLARE_API_TOKEN_ENV: &str = "CLOUDFLARE_API_TOKEN";
/// Environment variable holding a Cloudflare global API key (used with `CLOUDFLARE_EMAIL`).
pub const CLOUDFLARE_API_KEY_ENV: &str = "CLOUDFLARE_API_KEY";

/// Provider endpoints, non-secret credentials and retry limits, shared by `offboard`
/// and `reinstate`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Zoom API base URL (point it at userplane to rehearse).
    #[arg(long, env = "ZOOM_API_URL", default_value = DEFAULT_ZOOM_API_URL, value_name = "URL", help_heading = "Zoom")]
    pub zoom_api_url: String,
    /// Zoom OAuth token endpoint.
    #[arg(long, env = "ZOOM_OAUTH_URL", default_value = DEFAULT_ZOOM_OAUTH_URL, value_name = "URL", help_heading = "Zoom")]
    pub zoom_oauth_url: String,
    /// Zoom account id of the Server-to-Server OAuth app.
    #[arg(long, env = "ZOOM_ACCOUNT_ID", value_name = "ID", help_heading = "Zoom")]
    pub zoom_account_id: Option<String>,
    /// Zoom client id of the Server-to-Server OAuth app (its secret: env ZOOM_CLIENT_SECRET).
    #[arg(long, env = "ZOOM_CLIENT_ID", value_name = "ID", help_heading = "Zoom")]
    pub zoom_client_id: Option<String>,
    /// Cloudflare API base URL (point it at userplane to rehearse).
    #[arg(long, env = "CLOUDFLARE_BASE_URL", default_value = DEFAULT_CLOUDFLARE_API_URL, value_name = "URL", help_heading = "Cloudflare")]
    pub cloudflare_api_url: String,
    /// Cloudflare account id.
    #[arg(long, env = "CLOUDFLARE_ACCOUNT_ID", value_name = "ID", help_heading = "Cloudflare")]
    pub cloudflare_account_id: Option<String>,
    /// Cloudflare login email, with the global API key in env CLOUDFLARE_API_KEY
    /// (an API token in env CLOUDFLARE_API_TOKEN is preferred).
    #[arg(long, env = "CLOUDFLARE_EMAIL", value_name = "EMAIL", help_heading = "Cloudflare")]
    pub cloudflare_email: Option<String>,
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

/// Everything the provider clients need.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Zoom, when its credentials are set.
    pub zoom: Option<ZoomConfig>,
    /// Cloudflare, when its credentials are set.
    pub cloudflare: Option<CloudflareConfig>,
    /// Timeouts and retry budget.
    pub retry: RetryPolicy,
    /// Request starts per second per provider (0 = unpaced).
    pub requests_per_second: u32,
}

/// A Zoom Server-to-Server OAuth app.
#[derive(Debug, Clone)]
pub struct ZoomConfig {
    /// API base, e.g. `https://api.zoom.us/v2`.
    pub api_url: Url,
    /// Token endpoint, e.g. `https://zoom.us/oauth/token`.
    pub oauth_url: Url,
    /// Account id.
    pub account_id: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: Secret,
}

impl ZoomConfig {
    /// The `Authorization` value for the token endpoint: `Basic base64(id:secret)`.
    pub fn basic_authorization(&self) -> Secret {
        let pair = format!("{}:{}", self.client_id, self.client_secret.expose());
        Secret::new(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
    }
}

/// A Cloudflare account and how we authenticate to it.
#[derive(Debug, Clone)]
pub struct CloudflareConfig {
    /// API base, e.g. `https://api.cloudflare.com/client/v4`.
    pub api_url: Url,
    /// Account id.
    pub account_id: String,
    /// Credential.
    pub auth: CloudflareAuth,
}

/// A Cloudflare credential.
#[derive(Debug, Clone)]
pub enum CloudflareAuth {
    /// `Authorization: Bearer <token>` (scoped API token; preferred).
    ApiToken(Secret),
    /// `X-Auth-Email` + `X-Auth-Key` (legacy global API key).
    GlobalKey {
        /// The account's login email.
        email: String,
        /// The global API key.
        key: Secret,
    },
}

impl ClientConfig {
    /// Builds the configuration from the flags and, for secrets, `secret_env`
    /// (the process environment in production, a map in tests).
    pub fn resolve(args: &ConnectionArgs, secret_env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret = |name: &str| -> Result<Option<Secret>, ConfigError> {
            match secret_env(name).map(|value| value.trim().to_owned()) {
                Some(value) if !value.is_empty() => {
                    check_header_safe(name, &value)?;
                    Ok(Some(Secret::new(value)))
                }
                _ => Ok(None),
            }
        };
        let zoom = resolve_zoom(args, secret(ZOOM_CLIENT_SECRET_ENV)?)?;
        let cloudflare = resolve_cloudflare(args, secret(CLOUDFLARE_API_TOKEN_ENV)?, secret(CLOUDFLARE_API_KEY_ENV)?)?;
        Ok(Self {
            zoom,
            cloudflare,
            retry: RetryPolicy::new(args.request_timeout, args.max_retry_time),
            requests_per_second: args.max_requests_per_second,
        })
    }

    /// Every secret value in this configuration, in every form that goes on the wire,
    /// for the output scrubber.
    pub fn secret_values(&self) -> Vec<String> {
        let mut values = Vec::new();
        if let Some(zoom) = &self.zoom {
            values.push(zoom.client_secret.expose().to_owned());
            let basic = zoom.basic_authorization();
            values.push(basic.expose().trim_start_matches("Basic ").to_owned());
        }
        if let Some(cloudflare) = &self.cloudflare {
            match &cloudflare.auth {
                CloudflareAuth::ApiToken(token) => values.push(token.expose().to_owned()),
                CloudflareAuth::GlobalKey { key, .. } => values.push(key.expose().to_owned()),
            }
        }
        values
    }
}

fn present(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn resolve_zoom(args: &ConnectionArgs, client_secret: Option<Secret>) -> Result<Option<ZoomConfig>, ConfigError> {
    let account_id = present(&args.zoom_account_id);
    let client_id = present(&args.zoom_client_id);
    match (account_id, client_id, client_secret) {
        (None, None, None) => Ok(None),
        (Some(account_id), Some(client_id), Some(client_secret)) => {
            check_identifier("ZOOM_ACCOUNT_ID", &account_id)?;
            check_identifier("ZOOM_CLIENT_ID", &client_id)?;
            Ok(Some(ZoomConfig {
                api_url: base_url("--zoom-api-url", &args.zoom_api_url, args.allow_http)?,
                oauth_url: base_url("--zoom-oauth-url", &args.zoom_oauth_url, args.allow_http)?,
                account_id,
                client_id,
                client_secret,
            }))
        }
        (account_id, client_id, client_secret) => {
            let missing: Vec<&str> = [
                ("ZOOM_ACCOUNT_ID", account_id.is_none()),
                ("ZOOM_CLIENT_ID", client_id.is_none()),
                (ZOOM_CLIENT_SECRET_ENV, client_secret.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, missing)| missing.then_some(name))
            .collect();
            Err(ConfigError(format!(
                "Zoom is only partly configured: {} not set (set all of ZOOM_ACCOUNT_ID, \
                 ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or none to skip Zoom)",
                missing.join(" and ")
            )))
        }
    }
}

fn resolve_cloudflare(
    args: &ConnectionArgs,
    token: Option<Secret>,
    key: Option<Secret>,
) -> Result<Option<CloudflareConfig>, ConfigError> {
    let email = present(&args.cloudflare_email);
    let account_id = present(&args.cloudflare_account_id);
    // A scoped token is preferred over the all-powerful global key when both are set.
    let auth = match (token, key, email) {
        (Some(token), _, _) => Some(CloudflareAuth::ApiToken(token)),
        (None, Some(key), Some(email)) => {
            check_email_header("CLOUDFLARE_EMAIL", &email)?;
            Some(CloudflareAuth::GlobalKey { email, key })
        }
        (None, Some(_), None) => {
            return Err(ConfigError(
                "CLOUDFLARE_API_KEY is set but CLOUDFLARE_EMAIL is not (the global key needs \
                 both; an API token in CLOUDFLARE_API_TOKEN is preferred)"
                    .into(),
            ));
        }
        (None, None, Some(_)) => {
            return Err(ConfigError(
                "CLOUDFLARE_EMAIL is set but neither CLOUDFLARE_API_KEY nor \
                 CLOUDFLARE_API_TOKEN is"
                    .into(),
            ));
        }
        (None, None, None) => None,
    };
    match (auth, account_id) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError("Cloudflare credentials are set but CLOUDFLARE_ACCOUNT_ID is not".into())),
        (None, Some(_)) => Err(ConfigError(
            "CLOUDFLARE_ACCOUNT_ID is set but no credential is (set CLOUDFLARE_API_TOKEN, or \
             CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY)"
                .into(),
        )),
        (Some(auth), Some(account_id)) => {
            check_identifier("CLOUDFLARE_ACCOUNT_ID", &account_id)?;
            Ok(Some(CloudflareConfig {
                api_url: base_url("--cloudflare-api-url", &args.cloudflare_api_url, args.allow_http)?,
                account_id,
                auth,
            }))
        }
    }
}

/// Parses a base URL and refuses the ones that would leak credentials.
fn base_url(flag: &str, text: &str, allow_http: bool) -> Result<Url, ConfigError> {
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
fn check_identifier(name: &str, value: &str) -> Result<(), ConfigError> {
    let ok = value.len() <= 128 && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(()) } else { Err(ConfigError(format!("{name} must be at most 128 letters, digits, '-', '_' or '.'"))) }
}

fn check_email_header(name: &str, value: &str) -> Result<(), ConfigError> {
    check_header_safe(name, value)?;
    if value.contains('@') { Ok(()) } else { Err(ConfigError(format!("{name} must be an email address"))) }
}

/// The error names the variable, never the value.
fn check_header_safe(name: &str, value: &str) -> Result<(), ConfigError> {
    if value.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        Ok(())
    } else {
        Err(ConfigError(format!("{name} contains characters that cannot go in an HTTP header")))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Harness {
        #[command(flatten)]
        args: ConnectionArgs,
    }

    fn args(flags: &[&str]) -> ConnectionArgs {
        let mut argv = vec!["test"];
        argv.extend_from_slice(flags);
        Harness::try_parse_from(argv).expect("flags parse").args
    }

    fn resolve(flags: &[&str], secrets: &[(&str, &str)]) -> Result<ClientConfig, ConfigError> {
        let secrets: HashMap<String, String> = secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ClientConfig::resolve(&args(flags), &|name| secrets.get(name).cloned())
    }

    const ZOOM: &[&str] = &["--zoom-account-id", "acct", "--zoom-client-id", "cid"];

    #[test]
    fn nothing_configured_is_not_an_error() {
        let config = resolve(&[], &[]).expect("ok");
        assert!(config.zoom.is_none() && config.cloudflare.is_none());
    }

    #[test]
    fn full_zoom_config() {
        let config = resolve(ZOOM, &[("ZOOM_CLIENT_SECRET", "sec")]).expect("ok");
        let zoom = config.zoom.expect("zoom");
        assert_eq!(zoom.api_url.as_str(), "https://api.zoom.us/v2");
        assert_eq!(zoom.basic_authorization().expose(), "Basic Y2lkOnNlYw==");
    }

    #[test]
    fn partial_zoom_config_names_what_is_missing_but_no_value() {
        let err = resolve(&["--zoom-account-id", "acct"], &[]).expect_err("partial");
        assert!(err.0.contains("ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET"), "{err}");
        let err = resolve(&[], &[("ZOOM_CLIENT_SECRET", "topsecret")]).expect_err("partial");
        assert!(!err.0.contains("topsecret"));
    }

    #[test]
    fn cloudflare_token_is_preferred_over_global_key() {
        let config = resolve(
            &["--cloudflare-account-id", "abc123", "--cloudflare-email", "a@b.c"],
            &[("CLOUDFLARE_API_TOKEN", "tok"), ("CLOUDFLARE_API_KEY", "key")],
        )
        .expect("ok");
        let cloudflare = config.cloudflare.expect("cloudflare");
        assert!(matches!(cloudflare.auth, CloudflareAuth::ApiToken(_)));
    }

    #[test]
    fn cloudflare_global_key_needs_email_and_account() {
        assert!(resolve(&["--cloudflare-account-id", "a1"], &[("CLOUDFLARE_API_KEY", "k")]).is_err());
        assert!(resolve(&[], &[("CLOUDFLARE_API_TOKEN", "t")]).is_err());
        assert!(resolve(&["--cloudflare-account-id", "a1"], &[]).is_err());
        let config = resolve(
            &["--cloudflare-account-id", "a1", "--cloudflare-email", "a@b.c"],
            &[("CLOUDFLARE_API_KEY", "key")],
        )
        .expect("ok");
        assert!(matches!(config.cloudflare.map(|c| c.auth), Some(CloudflareAuth::GlobalKey { .. })));
    }

    #[test]
    fn urls_that_would_leak_credentials_are_refused() {
        let secret = [("ZOOM_CLIENT_SECRET", "sec")];
        let with_url = |url: &str| {
            let mut flags = ZOOM.to_vec();
            flags.extend(["--zoom-api-url", url]);
            resolve(&flags, &secret).map(|_| ())
        };
        assert!(with_url("http://127.0.0.1:8700/v2").is_ok());
        assert!(with_url("http://localhost:8700/v2").is_ok());
        assert!(with_url("http://[::1]:8700/v2").is_ok());
        assert!(with_url("http://zoom.example.com/v2").is_err());
        assert!(with_url("https://user:pw@api.zoom.us/v2").is_err());
        assert!(with_url("https://api.zoom.us/v2?x=1").is_err());
        assert!(with_url("ftp://api.zoom.us/v2").is_err());
        assert!(with_url("not a url").is_err());
    }

    #[test]
    fn secrets_with_line_breaks_are_refused_by_name() {
        let err = resolve(ZOOM, &[("ZOOM_CLIENT_SECRET", "a\rb")]).expect_err("bad");
        assert!(err.0.contains("ZOOM_CLIENT_SECRET"));
        assert!(!err.0.contains("a\rb"));
    }

    #[test]
    fn identifiers_are_checked() {
        let flags = ["--zoom-account-id", "a/b", "--zoom-client-id", "cid"];
        assert!(resolve(&flags, &[("ZOOM_CLIENT_SECRET", "sec")]).is_err());
    }

    #[test]
    fn secret_values_include_the_basic_header_payload() {
        let config = resolve(ZOOM, &[("ZOOM_CLIENT_SECRET", "sec")]).expect("ok");
        assert_eq!(config.secret_values(), ["sec", "Y2lkOnNlYw=="]);
    }
}
