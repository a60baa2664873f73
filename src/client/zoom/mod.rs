//! Zoom: its place in the playbook (steps, flags, credentials) and the steps themselves,
//! over the Users API v2 client in [`api`] configured by [`config`].

pub mod api;
pub mod config;

use std::sync::Arc;

use async_trait::async_trait;

use self::api::{StatusAction, ZoomClient, ZoomUser};
use self::config::{ZoomArgs, ZoomConfig};
use crate::client::config::ConfigError;
use crate::client::failure::{FailureKind, ProviderError};
use crate::client::http::{CallLog, HttpCaller};
use crate::client::provider::{
    Phase, Provider, ProviderClient, ProviderInfo, ProviderSetup, RemoteUser, RunMode, StepName, StepSpec, Target,
};
use crate::client::redact::Redactor;
use crate::client::report::{ProviderNote, Success};

const ZOOM: Provider = Provider::new("zoom", "Zoom");

const REVOKE_SSO: &str = "zoom-revoke-sso";
const DELETE_ASSISTANTS: &str = "zoom-delete-assistants";
const REMOVE_SCHEDULERS: &str = "zoom-remove-schedulers";
const DEACTIVATE: &str = "zoom-deactivate";
const ACTIVATE: &str = "zoom-activate";

/// A Zoom step that reads its state back when run again (see [`StepSpec::reads_back`]).
const fn step(name: &'static str, phase: Phase, help: &'static str) -> StepSpec {
    StepSpec { name, provider: ZOOM, phase, help, by_email: false, reads_back: true }
}

static INFO: ProviderInfo = ProviderInfo {
    provider: ZOOM,
    steps: &[
        // Zoom cannot say whether a session was left: revoking again is the only check.
        StepSpec {
            reads_back: false,
            ..step(REVOKE_SSO, Phase::Sessions, "Zoom: revoke the SSO token, ending the person's current Zoom sessions")
        },
        step(DELETE_ASSISTANTS, Phase::Delegations, "Zoom: delete the person's assistants"),
        step(
            REMOVE_SCHEDULERS,
            Phase::Delegations,
            "Zoom: remove the person as an assistant of others (their schedulers)",
        ),
        step(DEACTIVATE, Phase::Account, "Zoom: deactivate the user"),
    ],
    reinstate_steps: &[step(ACTIVATE, Phase::Account, "Zoom: re-activate the user")],
    credentials_help: "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET (Server-to-Server OAuth app)",
    setup: "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET",
    not_configured_note: "not configured (set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET): Zoom steps are skipped",
    not_configured_step: "Zoom is not configured (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)",
    unknown_person: "not a Zoom user",
};

/// Names shown in a step message before "and N more".
const NAMES_SHOWN: usize = 5;

/// Zoom, as [`crate::client::provider::PROVIDERS`] lists it.
#[derive(Debug)]
pub struct Zoom;

impl ProviderSetup for Zoom {
    type Args = ZoomArgs;
    type Config = ZoomConfig;

    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn resolve(
        args: &ZoomArgs,
        secret_env: &dyn Fn(&str) -> Option<String>,
        allow_http: bool,
    ) -> Result<Option<ZoomConfig>, ConfigError> {
        ZoomConfig::resolve(args, secret_env, allow_http)
    }

    fn client(
        config: ZoomConfig,
        http: HttpCaller,
        redactor: &Arc<Redactor>,
    ) -> Result<Box<dyn ProviderClient>, ConfigError> {
        Ok(Box::new(ZoomSteps { client: ZoomClient::new(http, config, Arc::clone(redactor)) }))
    }
}

/// The Zoom steps over one API client.
#[derive(Debug)]
struct ZoomSteps {
    client: ZoomClient,
}

#[async_trait]
impl ProviderClient for ZoomSteps {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn note(&self) -> ProviderNote {
        let config = self.client.config();
        ProviderNote {
            provider: ZOOM,
            configured: true,
            api_url: Some(config.api_url.to_string()),
            account_id: Some(config.account_id.clone()),
            credential: Some("server_to_server_oauth".into()),
            note: format!("{} (account {}, token from {})", config.api_url, config.account_id, config.oauth_url),
        }
    }

    fn secret_values(&self) -> Vec<String> {
        self.client.config().secret_values()
    }

    async fn lookup(&self, email: &str, log: &mut CallLog) -> Result<Option<RemoteUser>, ProviderError> {
        Ok(self.client.find_user(email, log).await?.map(|user| RemoteUser {
            id: Some(user.id),
            email: user.email,
            status: user.status,
        }))
    }

    async fn run(
        &self,
        step: StepName,
        target: Target<'_>,
        mode: RunMode,
        log: &mut CallLog,
    ) -> Result<Success, ProviderError> {
        let Some(user) = target.user.map(|user| ZoomUser {
            id: user.id.clone().unwrap_or_else(|| user.email.clone()),
            email: user.email.clone(),
            status: user.status.clone(),
        }) else {
            return Err(ProviderError::new(FailureKind::ProviderError, "no Zoom user to act on"));
        };
        match step.as_str() {
            REVOKE_SSO => self.revoke_sso(&user, mode, log).await,
            DELETE_ASSISTANTS => self.delete_assistants(&user, mode, log).await,
            REMOVE_SCHEDULERS => self.remove_schedulers(&user, mode, log).await,
            DEACTIVATE => self.deactivate(user, mode, log).await,
            ACTIVATE => self.activate(user, mode, log).await,
            other => Err(ProviderError::new(FailureKind::ProviderError, format!("Zoom has no step {other}"))),
        }
    }
}

impl ZoomSteps {
    async fn revoke_sso(&self, user: &ZoomUser, mode: RunMode, log: &mut CallLog) -> Result<Success, ProviderError> {
        let zoom = &self.client;
        // Revoking is safe to repeat and Zoom cannot tell us whether a session was
        // left, so it always runs, even for an inactive user (and after an unanswered try).
        if mode.dry_run {
            return Ok(Success::planned(
                "would revoke the SSO token",
                "DELETE",
                zoom.url(&["users", &user.id, "token"]),
            ));
        }
        zoom.revoke_sso_token(&user.id, log)
            .await
            .map(|()| Success::done("SSO token revoked, current Zoom sessions ended"))
    }

    async fn delete_assistants(
        &self,
        user: &ZoomUser,
        mode: RunMode,
        log: &mut CallLog,
    ) -> Result<Success, ProviderError> {
        let zoom = &self.client;
        // The listing comes first, so a re-run after an unanswered delete sees what it did.
        let listed = zoom.list_assistants(&user.id, log).await;
        match plan_removal(listed, "assistants", "has no assistants") {
            Removal::Nothing(success) => Ok(success),
            Removal::Failed(err) => Err(err),
            Removal::Remove(what) if mode.dry_run => Ok(Success::planned(
                format!("would remove {what}"),
                "DELETE",
                zoom.url(&["users", &user.id, "assistants"]),
            )),
            Removal::Remove(what) => {
                zoom.delete_assistants(&user.id, log).await.map(|()| Success::done(format!("removed {what}")))
            }
        }
    }

    async fn remove_schedulers(
        &self,
        user: &ZoomUser,
        mode: RunMode,
        log: &mut CallLog,
    ) -> Result<Success, ProviderError> {
        let zoom = &self.client;
        let listed = zoom.list_schedulers(&user.id, log).await;
        match plan_removal(listed, "schedulers", "is nobody's assistant") {
            Removal::Nothing(success) => Ok(success),
            Removal::Failed(err) => Err(err),
            Removal::Remove(what) if mode.dry_run => Ok(Success::planned(
                format!("would stop assisting {what}"),
                "DELETE",
                zoom.url(&["users", &user.id, "schedulers"]),
            )),
            Removal::Remove(what) => {
                zoom.delete_schedulers(&user.id, log).await.map(|()| Success::done(format!("no longer assists {what}")))
            }
        }
    }

    /// The user as Zoom has them now when an earlier write went unanswered; `None` when
    /// Zoom no longer knows them (a withdrawn invitation).
    async fn fresh(&self, user: ZoomUser, mode: RunMode, log: &mut CallLog) -> Result<Option<ZoomUser>, ProviderError> {
        if mode.recheck { self.client.find_user(&user.id, log).await } else { Ok(Some(user)) }
    }

    async fn deactivate(&self, user: ZoomUser, mode: RunMode, log: &mut CallLog) -> Result<Success, ProviderError> {
        let zoom = &self.client;
        let Some(user) = self.fresh(user, mode, log).await? else {
            return Ok(Success::already_done("the pending invitation is gone"));
        };
        if user.is_inactive() {
            Ok(Success::already_done("already inactive"))
        } else if user.is_pending() {
            // An open invitation is a way back in: withdraw it.
            let mut url = zoom.url(&["users", &user.id]);
            url.query_pairs_mut().append_pair("action", "disassociate");
            if mode.dry_run {
                Ok(Success::planned("would withdraw the pending invitation", "DELETE", url))
            } else {
                zoom.withdraw_invitation(&user.id, log)
                    .await
                    .map(|()| Success::done("pending invitation withdrawn: it can no longer be accepted"))
            }
        } else if mode.dry_run {
            Ok(Success::planned("would deactivate the user", "PUT", zoom.url(&["users", &user.id, "status"])))
        } else {
            zoom.set_status(&user.id, StatusAction::Deactivate, log)
                .await
                .map(|()| Success::done("deactivated: licences removed, sign-in blocked"))
        }
    }

    /// `reinstate`: the person signs in again; their old sessions stay revoked.
    async fn activate(&self, user: ZoomUser, mode: RunMode, log: &mut CallLog) -> Result<Success, ProviderError> {
        let zoom = &self.client;
        let Some(user) = self.fresh(user, mode, log).await? else {
            return Err(ProviderError::new(FailureKind::NotFound, "Zoom no longer knows the user"));
        };
        if user.status.as_deref() == Some("active") {
            Ok(Success::already_done("already active"))
        } else if mode.dry_run {
            Ok(Success::planned("would re-activate the user", "PUT", zoom.url(&["users", &user.id, "status"])))
        } else {
            zoom.set_status(&user.id, StatusAction::Activate, log)
                .await
                .map(|()| Success::done("re-activated; old sessions stay revoked, the person signs in again"))
        }
    }
}

/// The outcome of a listing that precedes a "delete all".
enum Removal {
    Nothing(Success),
    Remove(String),
    Failed(ProviderError),
}

/// Decides a "delete all X" step from the listing that precedes it.
fn plan_removal(listed: Result<Vec<String>, ProviderError>, noun: &str, none: &str) -> Removal {
    match listed {
        Ok(names) if names.is_empty() => Removal::Nothing(Success::already_done(none)),
        Ok(names) => Removal::Remove(describe_names(&names, noun)),
        // Listing is only there to report what changes; if the provider will not
        // list (a refusal, not an outage) the delete itself still decides.
        Err(err) if err.kind == FailureKind::ProviderError && err.status.is_some_and(|s| (400..500).contains(&s)) => {
            Removal::Remove(format!("all {noun} (could not list them: {})", err.message))
        }
        Err(err) => Removal::Failed(err),
    }
}

/// "2 assistants: a@x, b@x" / "7 schedulers: a, b, c, d, e and 2 more".
fn describe_names(names: &[String], noun: &str) -> String {
    let count = names.len();
    let noun = if count == 1 { noun.trim_end_matches('s') } else { noun };
    let shown = names.iter().take(NAMES_SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if count > NAMES_SHOWN {
        format!("{count} {noun}: {shown} and {} more", count - NAMES_SHOWN)
    } else {
        format!("{count} {noun}: {shown}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_counted_and_shortened() {
        let names: Vec<String> = (1..=7).map(|i| format!("p{i}@x.io")).collect();
        assert_eq!(describe_names(&names[..1], "assistants"), "1 assistant: p1@x.io");
        assert_eq!(
            describe_names(&names, "schedulers"),
            "7 schedulers: p1@x.io, p2@x.io, p3@x.io, p4@x.io, p5@x.io and 2 more"
        );
    }
}
