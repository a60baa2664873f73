//! Cloudflare: its place in the playbook (one step: `revoke_user`, flags, credentials),
//! over the API v4 client in [`api`] configured by [`config`].

pub mod api;
pub mod config;

use std::sync::Arc;

use async_trait::async_trait;

use self::api::CloudflareClient;
use self::config::{CloudflareArgs, CloudflareAuth, CloudflareConfig};
use crate::client::config::ConfigError;
use crate::client::failure::{FailureKind, ProviderError};
use crate::client::http::{CallLog, HttpCaller};
use crate::client::provider::{
    Phase, Provider, ProviderClient, ProviderInfo, ProviderSetup, RemoteUser, RunMode, StepName, StepSpec, Target,
};
use crate::client::redact::Redactor;
use crate::client::report::{ProviderNote, Success};

const CLOUDFLARE: Provider = Provider::new("cloudflare", "Cloudflare");

const REVOKE: &str = "cloudflare-revoke";

static INFO: ProviderInfo = ProviderInfo {
    provider: CLOUDFLARE,
    steps: &[StepSpec {
        name: REVOKE,
        provider: CLOUDFLARE,
        phase: Phase::Sessions,
        help: "Cloudflare: revoke_user with devices and WARP re-authentication",
        // revoke_user is keyed by email, so a failed lookup (e.g. a token allowed to
        // revoke but not to list users) must not stop the session cut.
        by_email: true,
        // Cloudflare shows nothing that tells whether a revocation happened.
        reads_back: false,
    }],
    reinstate_steps: &[],
    credentials_help: "CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY; CLOUDFLARE_ACCOUNT_ID",
    setup: "CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY) and CLOUDFLARE_ACCOUNT_ID",
    not_configured_note: "not configured (set CLOUDFLARE_API_TOKEN or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY, and \
                          CLOUDFLARE_ACCOUNT_ID): Cloudflare steps are skipped",
    not_configured_step: "Cloudflare is not configured (CLOUDFLARE_API_TOKEN or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY, and CLOUDFLARE_ACCOUNT_ID)",
    unknown_person: "not a Cloudflare Access user",
};

/// Cloudflare, as [`crate::client::provider::PROVIDERS`] lists it.
#[derive(Debug)]
pub struct Cloudflare;

impl ProviderSetup for Cloudflare {
    type Args = CloudflareArgs;
    type Config = CloudflareConfig;

    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn resolve(
        args: &CloudflareArgs,
        secret_env: &dyn Fn(&str) -> Option<String>,
        allow_http: bool,
    ) -> Result<Option<CloudflareConfig>, ConfigError> {
        CloudflareConfig::resolve(args, secret_env, allow_http)
    }

    fn client(
        config: CloudflareConfig,
        http: HttpCaller,
        _redactor: &Arc<Redactor>,
    ) -> Result<Box<dyn ProviderClient>, ConfigError> {
        let client =
            CloudflareClient::new(http, config).map_err(|why| ConfigError(format!("Cloudflare credentials: {why}")))?;
        Ok(Box::new(CloudflareSteps { client }))
    }
}

/// The Cloudflare step over one API client.
#[derive(Debug)]
struct CloudflareSteps {
    client: CloudflareClient,
}

#[async_trait]
impl ProviderClient for CloudflareSteps {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn note(&self) -> ProviderNote {
        let config = self.client.config();
        let (credential, how) = match &config.auth {
            CloudflareAuth::ApiToken(_) => ("api_token", "API token".to_owned()),
            CloudflareAuth::GlobalKey { email, .. } => ("global_key", format!("global API key of {email}")),
        };
        ProviderNote {
            provider: CLOUDFLARE,
            configured: true,
            api_url: Some(config.api_url.to_string()),
            account_id: Some(config.account_id.clone()),
            credential: Some(credential.into()),
            note: format!("{} (account {}, {how})", config.api_url, config.account_id),
        }
    }

    fn secret_values(&self) -> Vec<String> {
        self.client.config().secret_values()
    }

    async fn lookup(&self, email: &str, log: &mut CallLog) -> Result<Option<RemoteUser>, ProviderError> {
        Ok(self.client.find_user(email, log).await?.map(|user| RemoteUser {
            id: user.id,
            email: user.email,
            status: None,
        }))
    }

    async fn run(
        &self,
        step: StepName,
        target: Target<'_>,
        mode: RunMode,
        log: &mut CallLog,
    ) -> Result<Success, ProviderError> {
        if step.as_str() != REVOKE {
            return Err(ProviderError::new(FailureKind::ProviderError, format!("Cloudflare has no step {step:?}")));
        }
        let note = if target.user.is_none() { " (the lookup failed, so revoked by email)" } else { "" };
        // The address as Cloudflare spells it, when the lookup found it: the match on
        // revoke_user is the provider's business, and its own spelling always matches.
        let email = target.user.map_or(target.email, |user| user.email.as_str());
        if mode.dry_run {
            return Ok(Success::planned(
                format!("would revoke Access tokens and devices and force WARP re-authentication{note}"),
                "POST",
                self.client.revoke_user_url(),
            ));
        }
        // Revoking again is harmless and Cloudflare shows no state that tells whether it
        // happened, so an unanswered revoke is simply sent again.
        match self.client.revoke_user(email, log).await {
            Ok(true) => {
                Ok(Success::done(format!("Access tokens and devices revoked, WARP re-authentication forced{note}")))
            }
            // Undocumented; claiming success for a revoke that may not have happened
            // would be the worst possible report.
            Ok(false) => Err(ProviderError::new(
                FailureKind::ProviderError,
                "Cloudflare answered result=false: it did not confirm the revocation",
            )),
            Err(err) => Err(err),
        }
    }
}
