//! Who is calling: the bearer token resolved to a tenant, its scopes and its `me`; then,
//! per operation, the account's rate limit and the scopes for the target user.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::ZoomError;
use super::operations::{self, Label, Operation};
use super::provider;
use crate::api::bearer;
use crate::api::faults::Note;
use crate::domain::clock::{rfc3339, start_of_day};
use crate::domain::ops::Prefetched;
use crate::domain::{Actor, Error, InactiveReason, Principal, Tenant, TokenState, ops};
use crate::harness::faults::Failure;
use crate::state::AppState;
use crate::throttle::SourceAddress;

/// An authenticated Zoom API caller.
pub struct Caller {
    pub tenant: Tenant,
    pub scopes: Vec<String>,
    /// The user `me` stands for: the app's owner, or the user of a user-level token.
    pub me: Option<String>,
    pub actor: Actor,
    /// The request's note: its journal entry and its fault (see `api::faults`).
    pub note: Note,
    /// The path's user, read with the token where that saves a round trip.
    prefetched: Option<Prefetched>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ZoomError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ZoomError> {
        let token = bearer(&parts.headers).ok_or_else(|| ZoomError::invalid_token(false))?;
        let note = parts.extensions.get::<Note>().cloned().unwrap_or_default();
        // A path about one user (not `me`, whom only the token names): read it with the token.
        let (found, prefetched) = match note.path_user().filter(|user| !user.eq_ignore_ascii_case("me")) {
            Some(user) => match ops::introspect_with_target(&state.store, &state.clock, token, &user).await? {
                Some((found, prefetched)) => (Some(found), prefetched),
                None => (None, None),
            },
            None => (ops::introspect(&state.store, &state.clock, token).await?, None),
        };
        crate::metrics::introspected(found.as_ref(), &state.clock);
        let Some(found) = found else {
            // A token userplane never issued: a guess, counted against the address.
            let address = SourceAddress::of(&parts.extensions).key();
            return Err(match state.auth_throttle.failed(&[address]) {
                Some(seconds) => ZoomError::too_many_failed_attempts(seconds),
                None => ZoomError::invalid_token(false),
            });
        };
        if found.tenant.provider == provider::PROVIDER {
            note.attribute(state, &found.tenant, found.token.credential.as_deref());
        }
        let api_token = [&provider::OAUTH_ACCESS.kind, &provider::USER_OAUTH.kind].contains(&&found.token.kind);
        if found.tenant.provider != provider::PROVIDER || !api_token {
            return Err(ZoomError::invalid_token(false));
        }
        if let TokenState::Inactive { reason, .. } = found.state {
            return Err(ZoomError::invalid_token(reason == InactiveReason::Expired));
        }
        let actor = match (&found.token.credential, &found.token.principal) {
            (Some(client_id), _) => Actor(format!("zoom_app:{client_id}")),
            (None, Some(user)) => Actor(format!("zoom_user:{user}")),
            (None, None) => Actor("zoom".into()),
        };
        Ok(Caller {
            tenant: found.tenant,
            scopes: found.token.grants,
            me: found.token.principal,
            actor,
            note,
            prefetched,
        })
    }
}

impl Caller {
    /// Admits an account-wide operation (no target user): rate limit, then an admin scope.
    pub async fn allow(&self, state: &AppState, op: &Operation) -> Result<(), ZoomError> {
        self.check_rate(state, op.label).await?;
        if !op.allows(&self.scopes, false) {
            return Err(missing_scope(op, false));
        }
        self.inject(state, op, None).await
    }

    /// Admits an operation on the user named `user_id` (an id, an email or `me`) and
    /// returns that user: rate limit, then the scopes for that target, then the lookup.
    pub async fn target(&self, state: &AppState, op: &Operation, user_id: &str) -> Result<Principal, ZoomError> {
        let principal = self.find_target(state, op, user_id).await?;
        self.inject(state, op, Some(&principal)).await?;
        Ok(principal)
    }

    /// The tenant's fault rules for this request, once it would be served: a latency is
    /// waited out, a failure answered at once (as Zoom would answer that status), a
    /// commit-then-fail left for the dialect's fault layer.
    async fn inject(&self, state: &AppState, op: &Operation, target: Option<&Principal>) -> Result<(), ZoomError> {
        self.note.set_rate_label(op.label.as_str());
        let users = target.map(|p| vec![p.email.clone(), p.id.clone()]).unwrap_or_default();
        let failure =
            crate::api::faults::consult(state, &self.note, &self.tenant, &self.actor, users, |_| async { Vec::new() })
                .await?;
        match failure {
            None => Ok(()),
            Some(Failure::Status { status, retry_after }) => {
                Err(super::dialect::fault_answer(status, retry_after, Some(op.label.as_str())))
            }
            // The fault layer ends the connection instead of writing this.
            Some(_) => Err(super::dialect::fault_answer(503, None, None)),
        }
    }

    async fn find_target(&self, state: &AppState, op: &Operation, user_id: &str) -> Result<Principal, ZoomError> {
        self.check_rate(state, op.label).await?;
        if user_id.eq_ignore_ascii_case("me") {
            if !op.allows(&self.scopes, true) {
                return Err(missing_scope(op, true));
            }
            let me = self.me.as_deref().ok_or_else(|| ZoomError::user_not_found(user_id))?;
            return self
                .resolve(state, me)
                .await
                .map_err(|e| ZoomError::unless_not_found(e, || ZoomError::user_not_found(user_id)));
        }
        if op.allows(&self.scopes, false) {
            return self
                .resolve(state, user_id)
                .await
                .map_err(|e| ZoomError::unless_not_found(e, || ZoomError::user_not_found(user_id)));
        }
        // A user-level scope reaches only the caller's own user, named by id or email.
        if op.allows(&self.scopes, true)
            && let Some(me) = &self.me
        {
            match self.resolve(state, me).await {
                Ok(principal) if principal.id == user_id || principal.email.eq_ignore_ascii_case(user_id) => {
                    return Ok(principal);
                }
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Err(missing_scope(op, false))
    }

    /// The user `key` (an id or an email) of the caller's account: the one read with the
    /// token, if that is the one.
    async fn resolve(&self, state: &AppState, key: &str) -> Result<Principal, Error> {
        match &self.prefetched {
            Some(prefetched) if prefetched.key == key => {
                prefetched.principal.clone().ok_or_else(|| Error::not_found("user", key))
            }
            _ => ops::resolve_principal(&state.store, &self.tenant.account_id, key).await,
        }
    }

    /// Counts the request against the account's per-second (and, on Free, daily) limit
    /// for its label.
    async fn check_rate(&self, state: &AppState, label: Label) -> Result<(), ZoomError> {
        if !self.tenant.rate_limits {
            return Ok(());
        }
        let now = self.tenant.now(&state.clock);
        let (per_second, per_day) = operations::limits(&self.tenant.plan, label);
        let account = &self.tenant.account_id;
        let daily_key = crate::limits::window_key(account, &format!("zoom:{}:day", label.as_str()));
        if per_day > 0 && !state.limits.peek(&daily_key, 86_400_000, per_day, now).await.allowed {
            return Err(daily_limit(label, per_day, now));
        }
        let second = state
            .limits
            .hit(&crate::limits::window_key(account, &format!("zoom:{}:qps", label.as_str())), 1000, per_second, now)
            .await;
        if !second.allowed {
            return Err(ZoomError::new(
                StatusCode::TOO_MANY_REQUESTS,
                429,
                "You have reached the maximum per-second rate limit for this API. Try again later.",
            )
            .with_header("x-ratelimit-category", label.as_str())
            .with_header("x-ratelimit-type", "QPS")
            .with_header("x-ratelimit-limit", per_second.to_string())
            .with_header("x-ratelimit-remaining", "0")
            .with_header("retry-after", "1"));
        }
        if per_day > 0 && !state.limits.hit(&daily_key, 86_400_000, per_day, now).await.allowed {
            return Err(daily_limit(label, per_day, now));
        }
        Ok(())
    }
}

/// 429 for a daily limit; `Retry-After` is the next UTC midnight as an ISO time, as Zoom sends it.
pub fn daily_limit(label: Label, limit: u64, now: i64) -> ZoomError {
    ZoomError::new(
        StatusCode::TOO_MANY_REQUESTS,
        429,
        "You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request.",
    )
    .with_header("x-ratelimit-category", label.as_str())
    .with_header("x-ratelimit-type", "Daily-limit")
    .with_header("x-ratelimit-limit", limit.to_string())
    .with_header("x-ratelimit-remaining", "0")
    .with_header("retry-after", rfc3339(start_of_day(now) + 86_400_000))
}

fn missing_scope(op: &Operation, target_is_self: bool) -> ZoomError {
    ZoomError::bad_request(
        4711,
        format!("Invalid access token, does not contain scopes:[{}].", op.missing(target_is_self)),
    )
}
