//! Zoom's settings: where the API and the token endpoint are, and the Server-to-Server
//! OAuth app (its secret from `ZOOM_CLIENT_SECRET` only).

use base64::Engine as _;
use reqwest::Url;
use secrecy::{ExposeSecret as _, SecretString};

use crate::client::config::{ConfigError, base_url, check_identifier, present, secret};

/// Zoom's API base URL.
pub const DEFAULT_ZOOM_API_URL: &str = "https://api.zoom.us/v2";
/// Zoom's OAuth token endpoint.
pub const DEFAULT_ZOOM_OAUTH_URL: &str = "https://zoom.us/oauth/token";
/// Environment variable holding the Zoom Server-to-Server OAuth client secret.
pub const ZOOM_CLIENT_SECRET_ENV: &str = "ZOOM_CLIENT_SECRET";

/// Zoom's flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ZoomArgs {
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
    pub client_secret: SecretString,
}

impl ZoomConfig {
    /// The configuration from `args` and `secret_env`; `None` when nothing of Zoom is set.
    pub fn resolve(
        args: &ZoomArgs,
        secret_env: &dyn Fn(&str) -> Option<String>,
        allow_http: bool,
    ) -> Result<Option<Self>, ConfigError> {
        let account_id = present(args.zoom_account_id.as_ref());
        let client_id = present(args.zoom_client_id.as_ref());
        match (account_id, client_id, secret(secret_env, ZOOM_CLIENT_SECRET_ENV)?) {
            (None, None, None) => Ok(None),
            (Some(account_id), Some(client_id), Some(client_secret)) => {
                check_identifier("ZOOM_ACCOUNT_ID", &account_id)?;
                check_identifier("ZOOM_CLIENT_ID", &client_id)?;
                Ok(Some(ZoomConfig {
                    api_url: base_url("--zoom-api-url", &args.zoom_api_url, allow_http)?,
                    oauth_url: base_url("--zoom-oauth-url", &args.zoom_oauth_url, allow_http)?,
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

    /// The `Authorization` value for the token endpoint: `Basic base64(id:secret)`.
    pub fn basic_authorization(&self) -> SecretString {
        let pair = format!("{}:{}", self.client_id, self.client_secret.expose_secret());
        SecretString::from(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
    }

    /// The client secret and the Basic header's payload, for the output scrubber.
    pub fn secret_values(&self) -> Vec<String> {
        let basic = self.basic_authorization();
        vec![
            self.client_secret.expose_secret().to_owned(),
            basic.expose_secret().trim_start_matches("Basic ").to_owned(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Harness {
        #[command(flatten)]
        args: ZoomArgs,
    }

    fn resolve(flags: &[&str], secrets: &[(&str, &str)]) -> Result<Option<ZoomConfig>, ConfigError> {
        let mut argv = vec!["test"];
        argv.extend_from_slice(flags);
        let args = Harness::try_parse_from(argv).expect("flags parse").args;
        ZoomConfig::resolve(&args, &|name| secrets.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()), false)
    }

    const ZOOM: &[&str] = &["--zoom-account-id", "acct", "--zoom-client-id", "cid"];

    #[test]
    fn full_zoom_config() {
        let zoom = resolve(ZOOM, &[("ZOOM_CLIENT_SECRET", "sec")]).expect("ok").expect("zoom");
        assert_eq!(zoom.api_url.as_str(), "https://api.zoom.us/v2");
        assert_eq!(zoom.basic_authorization().expose_secret(), "Basic Y2lkOnNlYw==");
        assert_eq!(zoom.secret_values(), ["sec", "Y2lkOnNlYw=="]);
        let debug = format!("{zoom:?}");
        assert!(debug.contains("[REDACTED]") && !debug.contains("\"sec\""), "Debug hides the secret: {debug}");
    }

    #[test]
    fn partial_zoom_config_names_what_is_missing_but_no_value() {
        let err = resolve(&["--zoom-account-id", "acct"], &[]).expect_err("partial");
        assert!(err.0.contains("ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET"), "{err}");
        let err = resolve(&[], &[("ZOOM_CLIENT_SECRET", "topsecret")]).expect_err("partial");
        assert!(!err.0.contains("topsecret"));
    }

    #[test]
    fn identifiers_and_urls_are_checked() {
        let flags = ["--zoom-account-id", "a/b", "--zoom-client-id", "cid"];
        assert!(resolve(&flags, &[("ZOOM_CLIENT_SECRET", "sec")]).is_err());
        let mut flags = ZOOM.to_vec();
        flags.extend(["--zoom-api-url", "http://zoom.example.com/v2"]);
        assert!(resolve(&flags, &[("ZOOM_CLIENT_SECRET", "sec")]).is_err());
    }
}
