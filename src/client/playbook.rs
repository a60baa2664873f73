//! The offboarding playbook for one person, and `reinstate`.
//!
//! Order: look the person up at each provider (in parallel), cut sessions at both
//! providers (in parallel: Zoom SSO token, Cloudflare revoke_user), then remove Zoom
//! delegations (assistants, schedulers), then deactivate. A failed step never stops
//! the others. Every step checks before it changes, so a second run reports
//! "already done" instead of failing.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::cloudflare::{AccessUser, CloudflareClient};
use super::failure::{FailureKind, ProviderError};
use super::http::CallLog;
use super::report::{LookupReport, PersonReport, Provider, StepReport, Success};
use super::zoom::{StatusAction, ZoomClient, ZoomUser};

/// A step of the playbook. The declaration order is the order steps run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepName {
    /// Zoom: revoke the SSO token, ending the person's current Zoom sessions.
    ZoomRevokeSso,
    /// Cloudflare: revoke_user with devices and WARP re-authentication.
    CloudflareRevoke,
    /// Zoom: delete the person's assistants.
    ZoomDeleteAssistants,
    /// Zoom: remove the person as an assistant of others (their schedulers).
    ZoomRemoveSchedulers,
    /// Zoom: deactivate the user.
    ZoomDeactivate,
    /// Zoom: re-activate the user (`reinstate` only).
    #[value(skip)]
    ZoomActivate,
}

impl StepName {
    /// The steps of `offboard`, in the order they run.
    pub const OFFBOARD: [StepName; 5] = [
        StepName::ZoomRevokeSso,
        StepName::CloudflareRevoke,
        StepName::ZoomDeleteAssistants,
        StepName::ZoomRemoveSchedulers,
        StepName::ZoomDeactivate,
    ];

    /// The name used in `--steps`, the output and the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::ZoomRevokeSso => "zoom-revoke-sso",
            StepName::CloudflareRevoke => "cloudflare-revoke",
            StepName::ZoomDeleteAssistants => "zoom-delete-assistants",
            StepName::ZoomRemoveSchedulers => "zoom-remove-schedulers",
            StepName::ZoomDeactivate => "zoom-deactivate",
            StepName::ZoomActivate => "zoom-activate",
        }
    }

    /// The provider the step acts on.
    pub fn provider(self) -> Provider {
        match self {
            StepName::CloudflareRevoke => Provider::Cloudflare,
            _ => Provider::Zoom,
        }
    }
}

/// Names shown in a step message before "and N more".
const NAMES_SHOWN: usize = 5;

/// What a lookup established.
#[derive(Debug)]
enum Resolution<T> {
    /// No selected step needs this provider.
    NotNeeded,
    /// The provider has no credentials.
    NotConfigured,
    Found(T),
    Unknown,
    Failed(ProviderError),
}

/// Runs the playbook against the configured providers.
#[derive(Debug)]
pub struct Playbook {
    zoom: Option<ZoomClient>,
    cloudflare: Option<CloudflareClient>,
    steps: Vec<StepName>,
    dry_run: bool,
    max_retry_time: Duration,
}

impl Playbook {
    /// A playbook running `steps` (any order; they run in playbook order).
    pub fn new(
        zoom: Option<ZoomClient>,
        cloudflare: Option<CloudflareClient>,
        steps: &[StepName],
        dry_run: bool,
        max_retry_time: Duration,
    ) -> Self {
        let mut steps = steps.to_vec();
        steps.sort();
        steps.dedup();
        Self { zoom, cloudflare, steps, dry_run, max_retry_time }
    }

    fn wants(&self, step: StepName) -> bool {
        self.steps.contains(&step)
    }

    fn wants_provider(&self, provider: Provider) -> bool {
        self.steps.iter().any(|step| step.provider() == provider)
    }

    /// A call log whose retry budget starts now.
    fn call_log(&self) -> CallLog {
        let now = Instant::now();
        // A budget too large to represent is, in practice, no budget.
        let deadline = now.checked_add(self.max_retry_time).unwrap_or(now + Duration::from_secs(100 * 365 * 86_400));
        CallLog::new(deadline)
    }

    /// Offboards one person.
    pub async fn offboard(&self, email: &str) -> PersonReport {
        let (zoom_user, access_user) = futures::join!(self.lookup_zoom(email), self.lookup_cloudflare(email));
        let (zoom_user, zoom_lookup) = zoom_user;
        let (access_user, access_lookup) = access_user;
        let lookups: Vec<LookupReport> = [zoom_lookup, access_lookup].into_iter().flatten().collect();
        let unknown_everywhere = unknown_message(&zoom_user, &access_user);

        // Sessions first, at both providers at once.
        let (revoke_sso, revoke_access) = futures::join!(
            self.step_if(StepName::ZoomRevokeSso, self.zoom_revoke_sso(&zoom_user, &unknown_everywhere)),
            self.step_if(StepName::CloudflareRevoke, self.cloudflare_revoke(email, &access_user, &unknown_everywhere)),
        );
        let assistants = self
            .step_if(StepName::ZoomDeleteAssistants, self.zoom_delete_assistants(&zoom_user, &unknown_everywhere))
            .await;
        let schedulers = self
            .step_if(StepName::ZoomRemoveSchedulers, self.zoom_remove_schedulers(&zoom_user, &unknown_everywhere))
            .await;
        let deactivate =
            self.step_if(StepName::ZoomDeactivate, self.zoom_deactivate(&zoom_user, &unknown_everywhere)).await;

        let steps = [revoke_sso, revoke_access, assistants, schedulers, deactivate].into_iter().flatten().collect();
        PersonReport::new(email, lookups, steps)
    }

    /// Re-activates one person's Zoom user. Their old sessions stay revoked: they sign in again.
    pub async fn reinstate(&self, email: &str) -> PersonReport {
        let (zoom_user, lookup) = self.lookup_zoom(email).await;
        let unknown = unknown_message(&zoom_user, &Resolution::NotNeeded);
        let step = StepName::ZoomActivate;
        let report = match self.zoom_gate(step, &zoom_user, &unknown) {
            Err(report) => *report,
            Ok((zoom, user)) => {
                let started = Instant::now();
                let mut log = self.call_log();
                let result = if user.status.as_deref() == Some("active") {
                    Ok(Success::already_done("already active"))
                } else if self.dry_run {
                    Ok(Success::planned("would re-activate the user", "PUT", zoom.url(&["users", &user.id, "status"])))
                } else {
                    zoom.set_status(&user.id, StatusAction::Activate, &mut log)
                        .await
                        .map(|()| Success::done("re-activated; old sessions stay revoked, the person signs in again"))
                };
                StepReport::finished(step, result, log, started)
            }
        };
        PersonReport::new(email, lookup.into_iter().collect(), vec![report])
    }

    /// Runs `step` if it was selected.
    async fn step_if(&self, step: StepName, run: impl Future<Output = StepReport>) -> Option<StepReport> {
        if self.wants(step) { Some(run.await) } else { None }
    }

    async fn lookup_zoom(&self, email: &str) -> (Resolution<ZoomUser>, Option<LookupReport>) {
        if !self.wants_provider(Provider::Zoom) {
            return (Resolution::NotNeeded, None);
        }
        let Some(zoom) = &self.zoom else {
            return (Resolution::NotConfigured, None);
        };
        let started = Instant::now();
        let mut log = self.call_log();
        match zoom.find_user(email, &mut log).await {
            Ok(Some(user)) => {
                let report =
                    LookupReport::found(Provider::Zoom, Some(user.id.clone()), user.status.clone(), log, started);
                (Resolution::Found(user), Some(report))
            }
            Ok(None) => (Resolution::Unknown, Some(LookupReport::not_found(Provider::Zoom, log, started))),
            Err(err) => {
                let report = LookupReport::failed(Provider::Zoom, &err, log, started);
                (Resolution::Failed(err), Some(report))
            }
        }
    }

    async fn lookup_cloudflare(&self, email: &str) -> (Resolution<AccessUser>, Option<LookupReport>) {
        if !self.wants_provider(Provider::Cloudflare) {
            return (Resolution::NotNeeded, None);
        }
        let Some(cloudflare) = &self.cloudflare else {
            return (Resolution::NotConfigured, None);
        };
        let started = Instant::now();
        let mut log = self.call_log();
        match cloudflare.find_user(email, &mut log).await {
            Ok(Some(user)) => {
                let report = LookupReport::found(Provider::Cloudflare, user.id.clone(), None, log, started);
                (Resolution::Found(user), Some(report))
            }
            Ok(None) => (Resolution::Unknown, Some(LookupReport::not_found(Provider::Cloudflare, log, started))),
            Err(err) => {
                let report = LookupReport::failed(Provider::Cloudflare, &err, log, started);
                (Resolution::Failed(err), Some(report))
            }
        }
    }

    /// The Zoom client and user for a Zoom step, or the report of why it cannot run.
    fn zoom_gate<'a>(
        &'a self,
        step: StepName,
        user: &'a Resolution<ZoomUser>,
        unknown_everywhere: &Option<String>,
    ) -> Result<(&'a ZoomClient, &'a ZoomUser), Box<StepReport>> {
        match (user, &self.zoom) {
            (Resolution::Found(user), Some(zoom)) => Ok((zoom, user)),
            (Resolution::NotConfigured | Resolution::NotNeeded, _) | (_, None) => Err(Box::new(StepReport::skipped(
                step,
                "Zoom is not configured (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)",
            ))),
            (Resolution::Unknown, _) => Err(Box::new(match unknown_everywhere {
                Some(message) => StepReport::not_attempted(step, FailureKind::NotFound, message.clone()),
                None => StepReport::skipped(step, "not a Zoom user"),
            })),
            (Resolution::Failed(err), _) => Err(Box::new(StepReport::not_attempted(
                step,
                err.kind,
                format!("not attempted, the Zoom lookup failed: {}", err.message),
            ))),
        }
    }

    async fn zoom_revoke_sso(&self, user: &Resolution<ZoomUser>, unknown: &Option<String>) -> StepReport {
        let step = StepName::ZoomRevokeSso;
        let (zoom, user) = match self.zoom_gate(step, user, unknown) {
            Ok(found) => found,
            Err(report) => return *report,
        };
        let started = Instant::now();
        let mut log = self.call_log();
        // Revoking is safe to repeat and Zoom cannot tell us whether a session was
        // left, so it always runs, even for an inactive user.
        let result = if self.dry_run {
            Ok(Success::planned("would revoke the SSO token", "DELETE", zoom.url(&["users", &user.id, "token"])))
        } else {
            zoom.revoke_sso_token(&user.id, &mut log)
                .await
                .map(|()| Success::done("SSO token revoked, current Zoom sessions ended"))
        };
        StepReport::finished(step, result, log, started)
    }

    async fn cloudflare_revoke(
        &self,
        email: &str,
        user: &Resolution<AccessUser>,
        unknown: &Option<String>,
    ) -> StepReport {
        let step = StepName::CloudflareRevoke;
        let Some(cloudflare) = &self.cloudflare else {
            return StepReport::skipped(
                step,
                "Cloudflare is not configured (CLOUDFLARE_API_TOKEN or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY, and CLOUDFLARE_ACCOUNT_ID)",
            );
        };
        // revoke_user is keyed by email, so a failed lookup (e.g. a token allowed to
        // revoke but not to list users) must not stop the session cut.
        let note = match user {
            Resolution::Unknown => {
                return match unknown {
                    Some(message) => StepReport::not_attempted(step, FailureKind::NotFound, message.clone()),
                    None => StepReport::skipped(step, "not a Cloudflare Access user"),
                };
            }
            Resolution::Failed(_) => " (the lookup failed, so revoked by email)",
            _ => "",
        };
        // The address as Cloudflare spells it, when the lookup found it: the match on
        // revoke_user is the provider's business, and its own spelling always matches.
        let email = match user {
            Resolution::Found(found) => found.email.as_str(),
            _ => email,
        };
        let started = Instant::now();
        let mut log = self.call_log();
        let result = if self.dry_run {
            Ok(Success::planned(
                format!("would revoke Access tokens and devices and force WARP re-authentication{note}"),
                "POST",
                cloudflare.revoke_user_url(),
            ))
        } else {
            match cloudflare.revoke_user(email, &mut log).await {
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
        };
        StepReport::finished(step, result, log, started)
    }

    async fn zoom_delete_assistants(&self, user: &Resolution<ZoomUser>, unknown: &Option<String>) -> StepReport {
        let step = StepName::ZoomDeleteAssistants;
        let (zoom, user) = match self.zoom_gate(step, user, unknown) {
            Ok(found) => found,
            Err(report) => return *report,
        };
        let started = Instant::now();
        let mut log = self.call_log();
        let listed = zoom.list_assistants(&user.id, &mut log).await;
        let result = match self.plan_removal(listed, "assistants", "has no assistants") {
            Removal::Nothing(success) => Ok(success),
            Removal::Failed(err) => Err(err),
            Removal::Remove(what) if self.dry_run => Ok(Success::planned(
                format!("would remove {what}"),
                "DELETE",
                zoom.url(&["users", &user.id, "assistants"]),
            )),
            Removal::Remove(what) => {
                zoom.delete_assistants(&user.id, &mut log).await.map(|()| Success::done(format!("removed {what}")))
            }
        };
        StepReport::finished(step, result, log, started)
    }

    async fn zoom_remove_schedulers(&self, user: &Resolution<ZoomUser>, unknown: &Option<String>) -> StepReport {
        let step = StepName::ZoomRemoveSchedulers;
        let (zoom, user) = match self.zoom_gate(step, user, unknown) {
            Ok(found) => found,
            Err(report) => return *report,
        };
        let started = Instant::now();
        let mut log = self.call_log();
        let listed = zoom.list_schedulers(&user.id, &mut log).await;
        let result = match self.plan_removal(listed, "schedulers", "is nobody's assistant") {
            Removal::Nothing(success) => Ok(success),
            Removal::Failed(err) => Err(err),
            Removal::Remove(what) if self.dry_run => Ok(Success::planned(
                format!("would stop assisting {what}"),
                "DELETE",
                zoom.url(&["users", &user.id, "schedulers"]),
            )),
            Removal::Remove(what) => zoom
                .delete_schedulers(&user.id, &mut log)
                .await
                .map(|()| Success::done(format!("no longer assists {what}"))),
        };
        StepReport::finished(step, result, log, started)
    }

    /// Decides a "delete all X" step from the listing that precedes it.
    fn plan_removal(&self, listed: Result<Vec<String>, ProviderError>, noun: &str, none: &str) -> Removal {
        match listed {
            Ok(names) if names.is_empty() => Removal::Nothing(Success::already_done(none)),
            Ok(names) => Removal::Remove(describe_names(&names, noun)),
            // Listing is only there to report what changes; if the provider will not
            // list (a refusal, not an outage) the delete itself still decides.
            Err(err)
                if err.kind == FailureKind::ProviderError && err.status.is_some_and(|s| (400..500).contains(&s)) =>
            {
                Removal::Remove(format!("all {noun} (could not list them: {})", err.message))
            }
            Err(err) => Removal::Failed(err),
        }
    }

    async fn zoom_deactivate(&self, user: &Resolution<ZoomUser>, unknown: &Option<String>) -> StepReport {
        let step = StepName::ZoomDeactivate;
        let (zoom, user) = match self.zoom_gate(step, user, unknown) {
            Ok(found) => found,
            Err(report) => return *report,
        };
        let started = Instant::now();
        let mut log = self.call_log();
        let result = if user.is_inactive() {
            Ok(Success::already_done("already inactive"))
        } else if user.is_pending() {
            // An open invitation is a way back in: withdraw it.
            let mut url = zoom.url(&["users", &user.id]);
            url.query_pairs_mut().append_pair("action", "disassociate");
            if self.dry_run {
                Ok(Success::planned("would withdraw the pending invitation", "DELETE", url))
            } else {
                zoom.withdraw_invitation(&user.id, &mut log)
                    .await
                    .map(|()| Success::done("pending invitation withdrawn: it can no longer be accepted"))
            }
        } else if self.dry_run {
            Ok(Success::planned("would deactivate the user", "PUT", zoom.url(&["users", &user.id, "status"])))
        } else {
            zoom.set_status(&user.id, StatusAction::Deactivate, &mut log)
                .await
                .map(|()| Success::done("deactivated: licences removed, sign-in blocked"))
        };
        StepReport::finished(step, result, log, started)
    }
}

/// The outcome of a listing that precedes a "delete all".
enum Removal {
    Nothing(Success),
    Remove(String),
    Failed(ProviderError),
}

/// When every provider asked says "no such person", the address is probably wrong: that
/// is a failure (exit code 4), not a quiet skip.
fn unknown_message(zoom: &Resolution<ZoomUser>, cloudflare: &Resolution<AccessUser>) -> Option<String> {
    let mut asked = Vec::new();
    for (name, unknown, looked_up) in [
        (
            "Zoom",
            matches!(zoom, Resolution::Unknown),
            !matches!(zoom, Resolution::NotNeeded | Resolution::NotConfigured),
        ),
        (
            "Cloudflare",
            matches!(cloudflare, Resolution::Unknown),
            !matches!(cloudflare, Resolution::NotNeeded | Resolution::NotConfigured),
        ),
    ] {
        if looked_up {
            if !unknown {
                return None;
            }
            asked.push(name);
        }
    }
    (!asked.is_empty()).then(|| format!("not known to {}: check the address", asked.join(" or ")))
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
    fn steps_run_sessions_first() {
        let mut steps = vec![StepName::ZoomDeactivate, StepName::CloudflareRevoke, StepName::ZoomRevokeSso];
        steps.sort();
        assert_eq!(steps, [StepName::ZoomRevokeSso, StepName::CloudflareRevoke, StepName::ZoomDeactivate]);
        assert_eq!(StepName::OFFBOARD.to_vec(), {
            let mut all = StepName::OFFBOARD.to_vec();
            all.sort();
            all
        });
    }

    #[test]
    fn step_names_match_the_cli() {
        use clap::ValueEnum;
        for step in StepName::OFFBOARD {
            let value = step.to_possible_value().expect("visible");
            assert_eq!(value.get_name(), step.as_str());
        }
        assert!(StepName::ZoomActivate.to_possible_value().is_none());
    }

    #[test]
    fn unknown_everywhere_only_when_every_asked_provider_says_so() {
        let zoom_unknown: Resolution<ZoomUser> = Resolution::Unknown;
        let cf_unknown: Resolution<AccessUser> = Resolution::Unknown;
        let cf_found = Resolution::Found(AccessUser { id: None, email: "a@x.io".into() });
        assert_eq!(
            unknown_message(&zoom_unknown, &cf_unknown).as_deref(),
            Some("not known to Zoom or Cloudflare: check the address")
        );
        assert_eq!(unknown_message(&zoom_unknown, &cf_found), None);
        assert_eq!(
            unknown_message(&zoom_unknown, &Resolution::NotConfigured).as_deref(),
            Some("not known to Zoom: check the address")
        );
        assert_eq!(unknown_message(&Resolution::NotNeeded, &Resolution::NotConfigured), None);
        let failed = Resolution::Failed(ProviderError::new(FailureKind::Network, "x"));
        assert_eq!(unknown_message(&zoom_unknown, &failed), None);
    }

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
