//! Cloudflare's settings: the API base, the account, and the credential (an API token
//! from `CLOUDFLARE_API_TOKEN`, or the legacy global key from `CLOUDFLARE_API_KEY` with
//! `--cloudflare-email`).

use reqwest::Url;
use secrecy::{ExposeSecret as _, SecretString};

use crate::client::config::{ConfigError, base_url, check_email_header, check_identifier, present, secret};

/// Cloudflare's API base URL.
pub const DEFAULT_CLOUDFLARE_API_URL: &str = "https://api.cloudflare.com/client/v4";
/// Environment variable holding a Cloudflare API token.
pub const CLOUDFLARE_API_TOKEN_ENV: &str = "CLOUDFLARE_API_TOKEN";
/// Environment variable holding a Cloudflare global API key (used with `CLOUDFLARE_EMAIL`).
pub const CLOUDFLARE_API_KEY_ENV: &str = "CLOUDFLARE_API_KEY";

/// Cloudflare's flags.
#[derive(Debug, Clone, clap::Args)]
pub struct CloudflareArgs {
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
    ApiToken(SecretString),
    /// `X-Auth-Email` + `X-Auth-Key` (legacy global API key).
    GlobalKey {
        /// The account's login email.
        email: String,
        /// The global API key.
        key: SecretString,
    },
}

impl CloudflareConfig {
    /// The configuration from `args` and `secret_env`; `None` when nothing of Cloudflare is set.
    pub fn resolve(
        args: &CloudflareArgs,
        secret_env: &dyn Fn(&str) -> Option<String>,
        allow_http: bool,
    ) -> Result<Option<Self>, ConfigError> {
        let token = secret(secret_env, CLOUDFLARE_API_TOKEN_ENV)?;
        let key = secret(secret_env, CLOUDFLARE_API_KEY_ENV)?;
        let email = present(args.cloudflare_email.as_ref());
        let account_id = present(args.cloudflare_account_id.as_ref());
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
            (Some(_), None) => {
                Err(ConfigError("Cloudflare credentials are set but CLOUDFLARE_ACCOUNT_ID is not".into()))
            }
            (None, Some(_)) => Err(ConfigError(
                "CLOUDFLARE_ACCOUNT_ID is set but no credential is (set CLOUDFLARE_API_TOKEN, or \
                 CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY)"
                    .into(),
            )),
            (Some(auth), Some(account_id)) => {
                check_identifier("CLOUDFLARE_ACCOUNT_ID", &account_id)?;
                Ok(Some(CloudflareConfig {
                    api_url: base_url("--cloudflare-api-url", &args.cloudflare_api_url, allow_http)?,
                    account_id,
                    auth,
                }))
            }
        }
    }

    /// The credential, for the output scrubber.
    pub fn secret_values(&self) -> Vec<String> {
        match &self.auth {
            CloudflareAuth::ApiToken(token) => vec![token.expose_secret().to_owned()],
            CloudflareAuth::GlobalKey { key, .. } => vec![key.expose_secret().to_owned()],
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Harness {
        #[command(flatten)]
        args: CloudflareArgs,
    }

    fn resolve(flags: &[&str], secrets: &[(&str, &str)]) -> Result<Option<CloudflareConfig>, ConfigError> {
        let mut argv = vec!["test"];
        argv.extend_from_slice(flags);
        let args = Harness::try_parse_from(argv).expect("flags parse").args;
        CloudflareConfig::resolve(
            &args,
            &|name| secrets.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()),
            false,
        )
    }

    #[test]
    fn cloudflare_token_is_preferred_over_global_key() {
        let config = resolve(
            &["--cloudflare-account-id", "abc123", "--cloudflare-email", "a@b.c"],
            &[("CLOUDFLARE_API_TOKEN", "tok"), ("CLOUDFLARE_API_KEY", "key")],
        )
        .expect("ok")
        .expect("cloudflare");
        assert!(matches!(config.auth, CloudflareAuth::ApiToken(_)));
        assert_eq!(config.secret_values(), ["tok"]);
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
        assert!(matches!(config.map(|c| c.auth), Some(CloudflareAuth::GlobalKey { .. })));
    }
}
