//! Fault rules (issue 10): which requests of a tenant, what happens to them, how often.
//!
//! A rule is checked strictly when it is created ([`RuleSpec::parse`]); then, per
//! request, [`Rule::matches`] is a pure test and [`Rule::decide`] says whether matching
//! request number `n` fires. The seeded draw of request `n` is a function of the seed and
//! `n` only, so a run is reproducible without keeping a generator's state anywhere.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::clock::rfc3339;
use crate::domain::{Actor, Clock, Error, Provider, Result, Tenant, Timestamp};
use crate::store::{Store, faults as sq, queries as q};

/// The longest added latency or hang, in milliseconds (5 minutes).
pub const MAX_DELAY_MS: u64 = 300_000;
/// The largest `times` / `after`.
pub const MAX_COUNT: u64 = 1_000_000_000;
/// The longest `Retry-After` a rule may ask for, in seconds (a day).
pub const MAX_RETRY_AFTER: u64 = 86_400;
/// Rules per tenant.
pub const MAX_RULES: usize = 100;
const MAX_TEXT: usize = 256;

/// Which requests a rule applies to; every field given must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Match {
    /// A dialect operation name (`zoom.users.status.update`).
    pub operation: Option<String>,
    /// Upper case.
    pub method: Option<String>,
    /// `/v2/users/*/status`: `*` stands for one path segment.
    pub path: Option<String>,
    /// The target user: an id or an email (compared without case).
    pub user: Option<String>,
    /// The credential's id: a Zoom client id, a Cloudflare token or key id.
    pub credential: Option<String>,
}

/// How long to wait: a fixed time, or a uniform draw between two bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    Fixed(u64),
    Uniform { min: u64, max: u64 },
}

/// What the client gets instead of (or, for commit-then-fail, after) the real answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The provider's own error answer for this status (`retry_after` in seconds).
    Status { status: u16, retry_after: Option<u64> },
    /// The connection is reset (RST), no byte of an answer.
    Reset,
    /// The connection is closed (FIN) without a byte.
    Empty,
    /// Nothing for this long, then the connection closes without a byte.
    Hang(u64),
}

/// A rule's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Fails at once: the request is not handled.
    Fail(Failure),
    /// Waits, then gives the real answer.
    Latency(Latency),
    /// The request is handled (and its change committed), then the client gets the failure.
    CommitThen(Failure),
}

impl Effect {
    /// The effect's kind, as the request journal names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::Fail(failure) => failure.kind(),
            Effect::Latency(_) => "latency",
            Effect::CommitThen(_) => "commit_then",
        }
    }

    fn to_json(self) -> Value {
        match self {
            Effect::Fail(failure) => failure.to_json(),
            Effect::Latency(Latency::Fixed(ms)) => json!({"latency_ms": ms}),
            Effect::Latency(Latency::Uniform { min, max }) => json!({"latency_ms": {"min": min, "max": max}}),
            Effect::CommitThen(failure) => json!({"commit_then": failure.to_json()}),
        }
    }
}

impl Failure {
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Status { .. } => "status",
            Failure::Reset => "reset",
            Failure::Empty => "empty",
            Failure::Hang(_) => "hang",
        }
    }

    fn to_json(self) -> Value {
        match self {
            Failure::Status { status, retry_after: None } => json!({"status": status}),
            Failure::Status { status, retry_after: Some(s) } => json!({"status": status, "retry_after": s}),
            Failure::Reset => json!({"reset": true}),
            Failure::Empty => json!({"empty": true}),
            Failure::Hang(ms) => json!({"hang_ms": ms}),
        }
    }
}

/// A rule as given: match, effect and frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub matcher: Match,
    pub effect: Effect,
    /// Fires on this share of the matching requests (after `after`), drawn from `seed`.
    pub probability: Option<f64>,
    pub seed: Option<u64>,
    /// Fires at most this many times.
    pub times: Option<u64>,
    /// The first `after` matching requests pass untouched.
    pub after: u64,
    /// On the tenant's clock; from then on the rule matches nothing.
    pub expires_at: Option<Timestamp>,
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub spec: RuleSpec,
    /// Matching requests counted so far.
    pub seen: u64,
    /// How many of them the rule answered.
    pub fired: u64,
    pub created_at: Timestamp,
}

/// What is known about a request when rules are checked.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    pub operation: Option<&'static str>,
    pub method: String,
    pub path: String,
    /// The forms the target user goes by (id, email, the path's own spelling).
    pub users: Vec<String>,
    pub credential: Option<String>,
    /// For the audit record of a firing.
    pub request_id: String,
}

/// Whether matching request number `n` fires, and the latency drawn for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Pass,
    Fire(Effect),
}

impl Rule {
    /// Whether the rule applies to this request at `now` (tenant clock).
    pub fn matches(&self, facts: &RequestFacts, now: Timestamp) -> bool {
        let m = &self.spec.matcher;
        self.spec.expires_at.is_none_or(|at| now < at)
            && m.operation.as_deref().is_none_or(|op| facts.operation == Some(op))
            && m.method.as_deref().is_none_or(|method| facts.method.eq_ignore_ascii_case(method))
            && m.path.as_deref().is_none_or(|pattern| path_matches(pattern, &facts.path))
            && m.user.as_deref().is_none_or(|user| facts.users.iter().any(|u| u.eq_ignore_ascii_case(user)))
            && m.credential.as_deref().is_none_or(|c| facts.credential.as_deref() == Some(c))
    }

    /// The decision for matching request number `n` (1-based), `fired` times fired so far.
    pub fn decide(&self, n: u64, fired: u64) -> Decision {
        let spec = &self.spec;
        if n <= spec.after || spec.times.is_some_and(|times| fired >= times) {
            return Decision::Pass;
        }
        if let Some(p) = spec.probability
            && draw(spec.seed, n, 0) >= p
        {
            return Decision::Pass;
        }
        let effect = match spec.effect {
            Effect::Latency(Latency::Uniform { min, max }) => {
                let span = (max - min) as f64;
                Effect::Latency(Latency::Fixed(min + (draw(spec.seed, n, 1) * span) as u64))
            }
            other => other,
        };
        Decision::Fire(effect)
    }

    /// The rule as the control plane shows it.
    pub fn to_json(&self) -> Value {
        let mut value = self.spec.to_json();
        value["id"] = json!(self.id);
        value["fired"] = json!(self.fired);
        value["seen"] = json!(self.seen);
        value["created_at"] = json!(rfc3339(self.created_at));
        value
    }
}

/// A uniform draw in [0, 1) for matching request `n` of a rule: from the seed and `n`
/// alone (SplitMix64), or from the thread's generator without a seed.
fn draw(seed: Option<u64>, n: u64, stream: u64) -> f64 {
    let Some(seed) = seed else { return rand::random::<f64>() };
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// `*` matches exactly one segment; anything else matches itself.
fn path_matches(pattern: &str, path: &str) -> bool {
    let mut pattern = pattern.trim_end_matches('/').split('/');
    let mut path = path.trim_end_matches('/').split('/');
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some("*"), Some(segment)) if !segment.is_empty() => {}
            (Some(p), Some(segment)) if p == segment => {}
            _ => return false,
        }
    }
}

// ---------------------------------------------------------------- parsing

/// An RFC 3339 time as milliseconds since the epoch (None if malformed or out of range).
pub fn parse_instant(text: &str) -> Option<Timestamp> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::Invalid { field: Some(field.to_owned()), message: message.into() }
}

/// Refuses any key outside `known`.
fn only_keys(object: &Map<String, Value>, field: &str, known: &[&str]) -> Result<()> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(invalid(field, format!("unknown field {key:?}; expected one of {}", known.join(", ")))),
        None => Ok(()),
    }
}

fn text(value: &Value, field: &str) -> Result<String> {
    match value.as_str() {
        Some(s) if !s.trim().is_empty() && s.len() <= MAX_TEXT && !s.contains('\0') => Ok(s.trim().to_owned()),
        _ => Err(invalid(field, format!("must be a non-empty string of at most {MAX_TEXT} bytes"))),
    }
}

/// A whole number in `range`.
fn count(value: &Value, field: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64> {
    value
        .as_u64()
        .filter(|n| range.contains(n))
        .ok_or_else(|| invalid(field, format!("must be a whole number from {} to {}", range.start(), range.end())))
}

impl RuleSpec {
    /// Parses and checks a rule for a tenant of `provider`; `operations` are the names
    /// a rule may match (the dialect's operation table, without the unauthenticated ones),
    /// None for a stored rule, which was checked when it was created.
    pub fn parse(value: &Value, provider: &Provider, operations: Option<&[&str]>) -> Result<RuleSpec> {
        let object = value.as_object().ok_or_else(|| invalid("rule", "must be a JSON object"))?;
        only_keys(object, "rule", &["match", "effect", "probability", "seed", "times", "after", "expires_at"])?;
        let matcher = match object.get("match") {
            None | Some(Value::Null) => Match::default(),
            Some(m) => parse_match(m, provider, operations)?,
        };
        let effect = parse_effect(object.get("effect").ok_or_else(|| invalid("effect", "is required"))?)?;
        let probability = match object.get("probability") {
            None | Some(Value::Null) => None,
            Some(p) => Some(
                p.as_f64()
                    .filter(|p| p.is_finite() && (0.0..=1.0).contains(p))
                    .ok_or_else(|| invalid("probability", "must be a number from 0 to 1"))?,
            ),
        };
        let seed = match object.get("seed") {
            None | Some(Value::Null) => None,
            Some(s) => Some(count(s, "seed", 0..=u64::MAX)?),
        };
        let times = match object.get("times") {
            None | Some(Value::Null) => None,
            Some(t) => Some(count(t, "times", 1..=MAX_COUNT)?),
        };
        let after = match object.get("after") {
            None | Some(Value::Null) => 0,
            Some(a) => count(a, "after", 0..=MAX_COUNT)?,
        };
        let expires_at = match object.get("expires_at") {
            None | Some(Value::Null) => None,
            Some(at) => Some(
                at.as_str()
                    .and_then(parse_instant)
                    .ok_or_else(|| invalid("expires_at", "must be an RFC 3339 time, e.g. 2026-12-01T10:00:00Z"))?,
            ),
        };
        Ok(RuleSpec { matcher, effect, probability, seed, times, after, expires_at })
    }

    /// The rule in its canonical JSON (what is stored and shown).
    pub fn to_json(&self) -> Value {
        let m = &self.matcher;
        let mut matcher = Map::new();
        for (name, value) in [
            ("operation", &m.operation),
            ("method", &m.method),
            ("path", &m.path),
            ("user", &m.user),
            ("credential", &m.credential),
        ] {
            if let Some(value) = value {
                matcher.insert(name.to_owned(), json!(value));
            }
        }
        json!({
            "match": matcher,
            "effect": self.effect.to_json(),
            "probability": self.probability,
            "seed": self.seed,
            "times": self.times,
            "after": self.after,
            "expires_at": self.expires_at.map(rfc3339),
        })
    }
}

fn parse_match(value: &Value, provider: &Provider, operations: Option<&[&str]>) -> Result<Match> {
    let object = value.as_object().ok_or_else(|| invalid("match", "must be a JSON object"))?;
    only_keys(object, "match", &["operation", "method", "path", "user", "credential"])?;
    let field = |name: &str| object.get(name).filter(|v| !v.is_null()).map(|v| text(v, &format!("match.{name}")));
    let operation = field("operation").transpose()?;
    if let Some(op) = &operation
        && operations.is_some_and(|known| !known.contains(&op.as_str()))
    {
        return Err(invalid(
            "match.operation",
            format!("{op:?} is not an operation of a {} tenant (see the README for the names)", provider.as_str()),
        ));
    }
    let method = field("method").transpose()?.map(|m| m.to_ascii_uppercase());
    if let Some(method) = &method
        && !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str())
    {
        return Err(invalid("match.method", "must be one of GET, POST, PUT, PATCH, DELETE"));
    }
    let path = field("path").transpose()?;
    if let Some(path) = &path
        && (!path.starts_with('/') || path.contains(['?', '#', ' ']))
    {
        return Err(invalid("match.path", "must be a path starting with / (`*` for one segment), without a query"));
    }
    Ok(Match {
        operation,
        method,
        path,
        user: field("user").transpose()?,
        credential: field("credential").transpose()?,
    })
}

fn parse_effect(value: &Value) -> Result<Effect> {
    let object = value.as_object().ok_or_else(|| invalid("effect", "must be a JSON object"))?;
    if let Some(inner) = object.get("commit_then") {
        only_keys(object, "effect", &["commit_then"])?;
        return Ok(Effect::CommitThen(parse_failure(inner, "effect.commit_then")?));
    }
    if let Some(latency) = object.get("latency_ms") {
        only_keys(object, "effect", &["latency_ms"])?;
        let field = "effect.latency_ms";
        return Ok(Effect::Latency(match latency {
            Value::Object(bounds) => {
                only_keys(bounds, field, &["min", "max"])?;
                let bound = |name: &str| {
                    count(bounds.get(name).unwrap_or(&Value::Null), &format!("{field}.{name}"), 0..=MAX_DELAY_MS)
                };
                let (min, max) = (bound("min")?, bound("max")?);
                if min > max {
                    return Err(invalid(field, "min must not exceed max"));
                }
                Latency::Uniform { min, max }
            }
            fixed => Latency::Fixed(count(fixed, field, 0..=MAX_DELAY_MS)?),
        }));
    }
    Ok(Effect::Fail(parse_failure(value, "effect")?))
}

fn parse_failure(value: &Value, field: &str) -> Result<Failure> {
    const SHAPES: &str = "one of {\"status\": N}, {\"reset\": true}, {\"empty\": true}, {\"hang_ms\": N}";
    let object = value.as_object().ok_or_else(|| invalid(field, format!("must be {SHAPES}")))?;
    let flag = |name: &str| match object.get(name) {
        Some(Value::Bool(true)) => Ok(true),
        Some(_) => Err(invalid(&format!("{field}.{name}"), "must be true")),
        None => Ok(false),
    };
    if let Some(status) = object.get("status") {
        only_keys(object, field, &["status", "retry_after"])?;
        let status = count(status, &format!("{field}.status"), 400..=599)? as u16;
        let retry_after = match object.get("retry_after") {
            None | Some(Value::Null) => None,
            Some(s) => Some(count(s, &format!("{field}.retry_after"), 0..=MAX_RETRY_AFTER)?),
        };
        return Ok(Failure::Status { status, retry_after });
    }
    if flag("reset")? {
        only_keys(object, field, &["reset"])?;
        return Ok(Failure::Reset);
    }
    if flag("empty")? {
        only_keys(object, field, &["empty"])?;
        return Ok(Failure::Empty);
    }
    if let Some(ms) = object.get("hang_ms") {
        only_keys(object, field, &["hang_ms"])?;
        return Ok(Failure::Hang(count(ms, &format!("{field}.hang_ms"), 1..=MAX_DELAY_MS)?));
    }
    Err(invalid(field, format!("must be {SHAPES}, {{\"latency_ms\": N}} or {{\"commit_then\": ...}}")))
}

// ---------------------------------------------------------------- the book

/// A tenant's rules as stored, read back (they were checked when they were posted).
async fn stored_rules(store: &Store, account: String, provider: Provider) -> Result<Vec<Rule>> {
    let stored = store.read(move |c| Ok(sq::list(c, &account)?)).await?;
    stored
        .into_iter()
        .map(|r| {
            let spec = RuleSpec::parse(&r.rule, &provider, None)
                .map_err(|e| Error::Internal(format!("stored fault rule {}: {e}", r.id)))?;
            Ok(Rule { id: r.id, spec, seen: r.seen, fired: r.fired, created_at: r.created_at })
        })
        .collect()
}

/// Every tenant's rules, as requests consult them.
///
/// Nothing is kept in memory: whether a tenant has rules comes with the tenant itself
/// ([`Tenant::fault_rules`], read with its token or credential), so a request of a tenant
/// without rules reads nothing more, and one of a tenant with rules reads them, on every
/// node: a rule posted to one node applies everywhere from the next request. Adding or
/// deleting a rule touches its tenant ([`Store::write_touching_tenant`]), so this node's
/// read cache, which holds tenants, forgets the one it held.
#[derive(Default)]
pub struct FaultBook;

/// A rule that fired for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub rule: String,
    pub effect: Effect,
}

impl FaultBook {
    /// The tenant's rules, in the order they are tried.
    pub async fn rules(&self, store: &Store, tenant: &Tenant) -> Result<Vec<Rule>> {
        if !tenant.fault_rules {
            return Ok(Vec::new());
        }
        stored_rules(store, tenant.account_id.clone(), tenant.provider.clone()).await
    }

    /// The rules with fresh counters, for the control plane.
    pub async fn list(&self, store: &Store, tenant: &Tenant) -> Result<Vec<Rule>> {
        let (account, provider) = (tenant.account_id.clone(), tenant.provider.clone());
        stored_rules(store, account, provider).await
    }

    pub async fn add(&self, store: &Store, clock: &Clock, tenant: &Tenant, spec: RuleSpec) -> Result<Rule> {
        let account = tenant.account_id.clone();
        let now = clock.now(tenant.clock_offset_ms);
        let id = format!("flt_{:016x}", rand::random::<u64>());
        let rule = Rule { id: id.clone(), spec: spec.clone(), seen: 0, fired: 0, created_at: now };
        store
            .write_touching_tenant(&tenant.account_id, move |c| {
                if sq::count(c, &account)? >= MAX_RULES as u64 {
                    return Err(Error::Invalid {
                        field: None,
                        message: format!("a tenant has at most {MAX_RULES} fault rules; delete some first"),
                    });
                }
                sq::insert(c, &account, &id, &spec.to_json(), now)?;
                let detail = json!({"rule": spec.to_json()});
                q::insert_audit(c, &account, now, &Actor::admin().0, "fault.created", &id, &detail)?;
                Ok(())
            })
            .await?;
        Ok(rule)
    }

    /// Deletes one rule (`Some(id)`) or all of them; returns how many went.
    pub async fn delete(&self, store: &Store, clock: &Clock, tenant: &Tenant, id: Option<String>) -> Result<u64> {
        let account = tenant.account_id.clone();
        let now = clock.now(tenant.clock_offset_ms);
        let deleted = store
            .write_touching_tenant(&tenant.account_id, move |c| {
                let deleted = match &id {
                    Some(id) if sq::delete(c, &account, id)? => 1,
                    Some(id) => return Err(Error::not_found("fault rule", id)),
                    None => sq::delete_all(c, &account)?,
                };
                let target = id.as_deref().unwrap_or("*");
                q::insert_audit(
                    c,
                    &account,
                    now,
                    &Actor::admin().0,
                    "fault.deleted",
                    target,
                    &json!({"deleted": deleted}),
                )?;
                Ok(deleted)
            })
            .await?;
        Ok(deleted)
    }

    /// Counts the request against each rule that matches it, in order, until one fires:
    /// that one's effect (its firing is in the audit journal, in the same transaction).
    /// A tenant without rules costs nothing.
    pub async fn consult(
        &self,
        store: &Store,
        rules: &[Rule],
        tenant: &Tenant,
        now: Timestamp,
        facts: &RequestFacts,
        actor: &Actor,
    ) -> Result<Option<Fired>> {
        let candidates: Vec<Rule> = rules.iter().filter(|r| r.matches(facts, now)).cloned().collect();
        if candidates.is_empty() {
            return Ok(None);
        }
        let account = tenant.account_id.clone();
        let (actor, request_id, operation) = (actor.0.clone(), facts.request_id.clone(), facts.operation);
        let fired = store
            .write_beside_state(move |c| {
                for rule in &candidates {
                    let Some((n, fired)) = sq::count_match(c, &account, &rule.id)? else { continue };
                    if let Decision::Fire(effect) = rule.decide(n, fired) {
                        sq::count_fired(c, &account, &rule.id)?;
                        let detail = json!({"request_id": request_id, "operation": operation,
                            "effect": effect.to_json(), "match_number": n});
                        q::insert_audit(c, &account, now, &actor, "fault.injected", &rule.id, &detail)?;
                        return Ok(Some(Fired { rule: rule.id.clone(), effect }));
                    }
                }
                Ok(None)
            })
            .await?;
        if let Some(fired) = &fired {
            crate::metrics::fault_fired(facts.operation, fired.effect.kind());
        }
        Ok(fired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPS: &[&str] = &["zoom.users.status.update"];
    const ZOOM: Provider = Provider::new("zoom");

    fn rule(value: Value) -> Rule {
        let spec = RuleSpec::parse(&value, &ZOOM, Some(OPS)).expect("valid");
        Rule { id: "r".into(), spec, seen: 0, fired: 0, created_at: 0 }
    }

    #[test]
    fn paths_match_segment_by_segment() {
        assert!(path_matches("/v2/users/*/status", "/v2/users/abc/status"));
        assert!(!path_matches("/v2/users/*/status", "/v2/users/status"));
        assert!(!path_matches("/v2/users/*", "/v2/users/a/b"));
        assert!(path_matches("/v2/users/", "/v2/users"));
    }

    #[test]
    fn seeded_draws_repeat_and_follow_the_probability() {
        let r = rule(json!({"effect": {"status": 503}, "probability": 0.3, "seed": 7}));
        let run = || (1..=1000).map(|n| r.decide(n, 0) != Decision::Pass).collect::<Vec<_>>();
        let first = run();
        assert_eq!(first, run());
        let fired = first.iter().filter(|f| **f).count();
        assert!((250..350).contains(&fired), "{fired}");
    }

    #[test]
    fn times_and_after_bound_the_firing() {
        let r = rule(json!({"effect": {"reset": true}, "times": 2, "after": 1}));
        assert_eq!(r.decide(1, 0), Decision::Pass);
        assert_eq!(r.decide(2, 0), Decision::Fire(Effect::Fail(Failure::Reset)));
        assert_eq!(r.decide(3, 2), Decision::Pass);
    }

    #[test]
    fn bad_rules_are_refused_with_the_field() {
        for (bad, field) in [
            (json!({"effect": {"status": 200}}), "effect.status"),
            (json!({"effect": {"status": 503}, "probability": 1.5}), "probability"),
            (json!({"effect": {"hang_ms": -1}}), "effect.hang_ms"),
            (json!({"effect": {"latency_ms": 999_999_999}}), "effect.latency_ms"),
            (json!({"effect": {"status": 503}, "match": {"operation": "zoom.nope"}}), "match.operation"),
            (json!({"effect": {"status": 503}, "times": 0}), "times"),
            (json!({"effect": {"boom": true}}), "effect"),
            (json!({"effect": {"status": 503}, "extra": 1}), "rule"),
            (json!({"effect": {"commit_then": {"latency_ms": 5}}}), "effect.commit_then"),
        ] {
            match RuleSpec::parse(&bad, &ZOOM, Some(OPS)) {
                Err(Error::Invalid { field: Some(f), .. }) => assert_eq!(f, field, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_canonical_form_parses_back_to_itself() {
        let r = rule(json!({"match": {"operation": "zoom.users.status.update", "method": "put", "user": "a@b.c"},
            "effect": {"commit_then": {"status": 503, "retry_after": 2}}, "probability": 0.5, "seed": 7,
            "times": 1, "expires_at": "2026-12-01T10:00:00Z"}));
        let again = RuleSpec::parse(&r.spec.to_json(), &ZOOM, Some(OPS)).unwrap();
        assert_eq!(again, r.spec);
    }
}
