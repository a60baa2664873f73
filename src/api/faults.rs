//! Fault injection and the request journal, as the dialects see them (issue 10).
//!
//! [`layer`] wraps each dialect's routes (inside the operation tag): it gives the request a
//! [`Note`], runs the handler, then acts on what the note says — the answer the client
//! gets instead (a commit-then-fail, a reset, an empty reply, a hang) — and queues the
//! journal entry. The dialect's authentication ([`consult`], called from `zoom/auth.rs`
//! and `cloudflare/auth.rs`, which know the tenant, the credential and the target user)
//! fills the note: whose request it is, and which rule fired.
//!
//! A request is journaled once its tenant is known (its credential resolved to one):
//! a request with an unknown credential belongs to no tenant, and must not be able to
//! write into one's journal.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, OriginalUri, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::api::dialect::{DialectSpec, FaultWire, InjectedStatus};
use crate::domain::{Actor, Provider, Tenant};
use crate::harness::faults::{Effect, Failure, Fired, RequestFacts};
use crate::harness::requests::{Entry, RequestJournal};
use crate::http::{ConnectionFault, OperationName, RequestId};
use crate::state::AppState;

/// Error bodies larger than this are not read for their code.
const MAX_ERROR_BODY: u64 = 64 * 1024;
/// `Retry-After` of an injected 429 or 503 when the rule gives none (each dialect's
/// answer puts it on).
pub const DEFAULT_RETRY_AFTER: u64 = 1;

/// The operation names a fault rule may match on a tenant of `provider`: every named
/// route whose requests consult the rules (those that authenticate a caller).
pub fn operations(provider: &Provider) -> Vec<&'static str> {
    let Some(dialect) = crate::api::providers::dialect_of(provider.as_str()) else { return Vec::new() };
    let (Some(spec), Some(wire)) = (dialect.provider, &dialect.faults) else { return Vec::new() };
    let mut names: Vec<&'static str> =
        spec.operations.iter().map(|(_, _, name)| *name).filter(|name| !wire.never_consulted.contains(name)).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// What is known of one request: set by [`layer`] (the request) and by authentication
/// (the tenant, the credential, the user, the fault).
#[derive(Clone, Default)]
pub struct Note(Arc<Mutex<NoteData>>);

#[derive(Default)]
struct NoteData {
    operation: Option<&'static str>,
    method: String,
    path: String,
    request_id: String,
    /// The path's `{user_id}`, as written.
    path_user: Option<String>,
    owner: Option<Owner>,
    user: Option<String>,
    fired: Option<Fired>,
    /// The operation's rate-limit label, in dialects that have one (for an injected
    /// 429's headers).
    rate_label: Option<&'static str>,
}

/// Whose request it is, and where its journal entry goes.
struct Owner {
    journal: Arc<RequestJournal>,
    tenant: String,
    clock_offset_ms: i64,
    credential: Option<String>,
}

impl Note {
    fn with<T>(&self, f: impl FnOnce(&mut NoteData) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The request belongs to `tenant` (its journal), called by `credential`.
    pub fn attribute(&self, state: &AppState, tenant: &Tenant, credential: Option<&str>) {
        let owner = Owner {
            journal: state.journal.clone(),
            tenant: tenant.account_id.clone(),
            clock_offset_ms: tenant.clock_offset_ms,
            credential: credential.map(str::to_owned),
        };
        self.with(|n| n.owner = Some(owner));
    }

    /// The path's `{user_id}`, if the route has one.
    pub fn path_user(&self) -> Option<String> {
        self.with(|n| n.path_user.clone())
    }

    pub fn set_rate_label(&self, label: &'static str) {
        self.with(|n| n.rate_label = Some(label));
    }
}

/// Checks the tenant's fault rules for this request (after authentication). `users` are
/// the forms the target user goes by (`resolve` finds more, only when a rule names a
/// user). A latency is waited out here; a failure to answer at once is returned (the
/// dialect renders it, or, for a connection-level one, answers anything: [`layer`]
/// replaces it); a commit-then-fail is left in the note for [`layer`].
pub async fn consult<F, Fut>(
    state: &AppState,
    note: &Note,
    tenant: &Tenant,
    actor: &Actor,
    mut users: Vec<String>,
    resolve: F,
) -> Result<Option<Failure>, crate::domain::Error>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let (operation, method, path, request_id, path_user, credential) = note.with(|n| {
        (
            n.operation,
            n.method.clone(),
            n.path.clone(),
            n.request_id.clone(),
            n.path_user.clone(),
            n.owner.as_ref().and_then(|o| o.credential.clone()),
        )
    });
    let given = users.is_empty().then_some(path_user).flatten();
    if let Some(given) = &given {
        users.push(given.clone());
    }
    if let Some(user) = users.first() {
        note.with(|n| n.user = Some(user.clone()));
    }
    let rules = state.faults.rules(&state.store, tenant).await?;
    if rules.is_empty() {
        return Ok(None);
    }
    if let Some(given) = given
        && rules.iter().any(|r| r.spec.matcher.user.is_some())
    {
        users.extend(resolve(given).await);
    }
    let facts = RequestFacts { operation, method, path, users, credential, request_id };
    let now = tenant.now(&state.clock);
    let Some(fired) = state.faults.consult(&state.store, &rules, tenant, now, &facts, actor).await? else {
        return Ok(None);
    };
    let effect = fired.effect;
    note.with(|n| n.fired = Some(fired));
    Ok(match effect {
        Effect::Latency(latency) => {
            if let crate::harness::faults::Latency::Fixed(ms) = latency {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            None
        }
        Effect::Fail(failure) => Some(failure),
        Effect::CommitThen(_) => None,
    })
}

/// The dialect layer: notes the request, runs it, applies the fault, journals the answer.
/// (A dialect without fault injection has no use for it, and is passed through.)
pub async fn layer(dialect: &'static DialectSpec, mut request: Request, next: Next) -> Response {
    let Some(wire) = &dialect.faults else { return next.run(request).await };
    let started = Instant::now();
    let uri = request.extensions().get::<OriginalUri>().map_or_else(|| request.uri().clone(), |u| u.0.clone());
    let path_user = request.extensions().get::<MatchedPath>().and_then(|route| {
        let index = route.as_str().split('/').position(|segment| segment == "{user_id}")?;
        // As the handler's `Path` sees it: `jdoe%40example.com` is jdoe@example.com.
        let raw = uri.path().split('/').nth(index)?;
        Some(percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned())
    });
    let note = Note(Arc::new(Mutex::new(NoteData {
        operation: request.extensions().get::<OperationName>().map(|n| n.0),
        method: request.method().as_str().to_owned(),
        path: uri.path().to_owned(),
        request_id: request.extensions().get::<RequestId>().map(RequestId::to_string).unwrap_or_default(),
        path_user,
        ..NoteData::default()
    })));
    request.extensions_mut().insert(note.clone());
    let mut response = next.run(request).await;
    let data = std::mem::take(&mut *note.0.lock().unwrap_or_else(|p| p.into_inner()));
    let Some(owner) = data.owner else { return response };
    let handled = response.status().as_u16();
    let mut hang = None;
    let fault = data.fired.as_ref().map(|fired| {
        let mut fault = json!({"rule": fired.rule, "effect": fired.effect.kind()});
        let failure = match fired.effect {
            Effect::Fail(failure) => Some(failure),
            Effect::CommitThen(failure) => {
                fault["applied_status"] = json!(handled);
                fault["failure"] = json!(failure.kind());
                if let Failure::Status { status, retry_after } = failure {
                    response = (wire.answer)(InjectedStatus { status, retry_after, rate_label: data.rate_label });
                }
                Some(failure)
            }
            Effect::Latency(crate::harness::faults::Latency::Fixed(ms)) => {
                fault["latency_ms"] = json!(ms);
                None
            }
            Effect::Latency(_) => None,
        };
        match failure {
            Some(Failure::Reset) => response = no_answer(ConnectionFault::Reset),
            Some(Failure::Empty) => response = no_answer(ConnectionFault::Close),
            Some(Failure::Hang(ms)) => {
                fault["hang_ms"] = json!(ms);
                hang = Some(Duration::from_millis(ms));
                response = no_answer(ConnectionFault::Close);
            }
            _ => {}
        }
        fault
    });
    let answered = response.extensions().get::<ConnectionFault>().is_none();
    let (response, error_code) = if answered { error_code(wire, response).await } else { (response, None) };
    let duration = started.elapsed() + hang.unwrap_or_default();
    let wall = crate::domain::Clock.now(0);
    owner.journal.record(Entry {
        seq: 0,
        tenant: owner.tenant,
        at: wall.saturating_add(owner.clock_offset_ms),
        wall_at: wall,
        request_id: data.request_id,
        method: data.method,
        path: data.path,
        query: uri.query().map(str::to_owned),
        credential_id: owner.credential,
        // The user as resolved, else as the path names it (a user not found, say).
        user: data.user.or(data.path_user),
        operation: data.operation.map(str::to_owned),
        // 0: no answer at all (a reset, an empty reply, a hang).
        status: if answered { response.status().as_u16() } else { 0 },
        duration_us: u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
        error_code,
        fault,
    });
    if let Some(hang) = hang {
        tokio::time::sleep(hang).await;
    }
    response
}

/// A response that is never written: the connection ends instead. (A JSON one, which the
/// dialects' safety nets for framework errors leave alone, extension and all.)
fn no_answer(fault: ConnectionFault) -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({}))).into_response();
    response.extensions_mut().insert(fault);
    response
}

/// The provider's error code in a (small, JSON) error answer, where its wire puts it
/// (Zoom's `code`, the first of Cloudflare's `errors`). The body is read and put back.
async fn error_code(wire: &FaultWire, response: Response) -> (Response, Option<String>) {
    let small = axum::body::HttpBody::size_hint(response.body()).exact().is_some_and(|n| n <= MAX_ERROR_BODY);
    if response.status().as_u16() < 400 || !small {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await else {
        return (Response::from_parts(parts, axum::body::Body::empty()), None);
    };
    let bytes = collected.to_bytes();
    let code = serde_json::from_slice::<Value>(&bytes).ok().and_then(|body| {
        let code = body.pointer(wire.error_code_at).cloned()?;
        Some(match code {
            Value::String(s) => s,
            other => other.to_string(),
        })
    });
    (Response::from_parts(parts, axum::body::Body::from(bytes)), code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README lists every name a rule may match, and no name that is not one.
    #[test]
    fn the_readme_lists_every_operation_name() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("Operation names (stable").expect("the list")..];
        let section = &section[..section.find("### The request journal").expect("its end")];
        let mut listed: Vec<&str> = section.split('`').skip(1).step_by(2).filter(|w| w.contains('.')).collect();
        listed.retain(|w| !w.ends_with(".rs"));
        let mut known: Vec<&str> =
            crate::api::providers::all().flat_map(|provider| operations(&provider.provider)).collect();
        listed.sort_unstable();
        known.sort_unstable();
        assert_eq!(listed, known);
    }
}
