//! The wire, pinned: every success and error shape of the Zoom dialect, the Cloudflare
//! dialect and the control plane, as a client sees it over a real socket (status, the
//! headers that carry meaning, the JSON body), in insta snapshots under `snapshots/`.
//! A change of one byte of a message, a code, a header or a field fails here.
//!
//! What differs between runs (ids, secrets, times, request ids, the account and the
//! port) is redacted by [`Redactor`], so the snapshots are the same on every run and on
//! SQLite and PostgreSQL. Each body is also checked to be the compact, key-sorted JSON
//! the server writes today, so the parsed body the snapshot holds pins its bytes too.
//!
//! A missing snapshot fails (CI runs with `INSTA_UPDATE=no`); to accept new or changed
//! ones after a deliberate change: `INSTA_UPDATE=always cargo test --test api wire::`,
//! then review the diff of `snapshots/`.

mod cloudflare;
mod control;
mod faults;
mod zoom;

use std::collections::BTreeMap;

use reqwest::RequestBuilder;
use serde_json::{Map, Value, json};

use crate::helpers::TestApp;

/// Response headers a snapshot keeps (every other one, such as `date`, is left out).
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "cache-control",
    "connection",
    "retry-after",
    "x-ratelimit-category",
    "x-ratelimit-type",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "ratelimit",
    "ratelimit-policy",
    "x-zm-trackingid",
    "cf-ray",
    "x-request-id",
];

/// Keys whose string values are ids or secrets: each distinct value becomes `[key:N]`
/// wherever it appears in the snapshot (other fields, messages, map keys).
const VOLATILE_KEYS: &[&str] = &[
    "id",
    "uid",
    "user_uuid",
    "nonce",
    "aud",
    "device_id",
    "ids",
    "user",
    "sub",
    "subject",
    "token",
    "access_token",
    "cursor",
    "next_page_token",
    "ray_id",
    "target",
    "jid",
];

/// Keys whose numbers depend on the run: epoch seconds and sequence numbers become
/// `[key]`.
const VOLATILE_NUMBERS: &[&str] = &["expiration", "expires", "exp", "iat", "last_authenticated", "seq"];

/// Keys whose numbers are derived from ids (and appear inside other fields, such as a
/// meeting URL): numbered like [`VOLATILE_KEYS`].
const DERIVED_NUMBERS: &[&str] = &["pmi", "account_number"];

/// What differs between runs, replaced by stable placeholders.
pub struct Redactor {
    /// Literal text and its placeholder (the account, the zone, the host), longest first.
    literals: Vec<(String, String)>,
    /// Volatile values found in this snapshot, numbered by first appearance.
    found: Vec<(String, String)>,
}

impl Redactor {
    pub fn new(app: &TestApp) -> Redactor {
        let host = app.base.trim_start_matches("http://").to_owned();
        Redactor { literals: vec![(host, "[host]".into())], found: Vec::new() }
    }

    /// Names a literal that appears in answers (an account id, a zone, an email).
    pub fn literal(mut self, value: &str, placeholder: &str) -> Redactor {
        self.literals.push((value.to_owned(), format!("[{placeholder}]")));
        self.literals.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        self
    }

    /// The value with every volatile part replaced.
    pub fn redact(&self, value: &Value) -> Value {
        let mut found = self.found.clone();
        collect(value, None, &mut found);
        let mut substitutions = self.literals.clone();
        substitutions.extend(found);
        substitutions.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        replace(value, None, &substitutions)
    }

    /// A header value with its run-dependent parts replaced.
    fn header(&self, name: &str, value: &str) -> String {
        let value = self.text(value, &[]);
        match name {
            // The window's reset in seconds follows the wall clock.
            "ratelimit" => match value.split_once(";t=") {
                Some((head, _)) => format!("{head};t=[seconds]"),
                None => value,
            },
            // Zoom's daily limit: the next midnight UTC.
            _ if is_rfc3339(&value) => "[time]".to_owned(),
            _ => hex_runs(&value),
        }
    }

    fn text(&self, text: &str, found: &[(String, String)]) -> String {
        let mut text = text.to_owned();
        for (value, placeholder) in self.literals.iter().chain(found) {
            if !value.is_empty() {
                text = text.replace(value.as_str(), placeholder);
            }
        }
        text
    }
}

/// Records, in traversal order, each volatile value (by its key, or by its shape: a
/// UUID, a 32-hex tag) once.
fn collect(value: &Value, key: Option<&str>, found: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) => {
            match key {
                // Zoom's 201 to an assistant add: "id1,id2".
                Some("ids") => s.split(',').for_each(|id| note(found, id, "id")),
                // Emails are stable (a device's "user" in a tenant document is one).
                Some("user") if s.contains('@') => {}
                Some(k) if VOLATILE_KEYS.contains(&k) => note(found, s, k),
                _ => {}
            }
            if is_uuid(s) || is_hex32(s) {
                note(found, s, "uuid");
            } else if is_long_hex(s) {
                note(found, s, "hex");
            }
        }
        Value::Number(n) if key.is_some_and(|k| DERIVED_NUMBERS.contains(&k)) => {
            note(found, &n.to_string(), key.unwrap_or(""))
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, key, found)),
        Value::Object(map) => {
            for (k, v) in map {
                if is_uuid(k) || is_hex32(k) {
                    note(found, k, "uuid");
                } else if is_long_hex(k) {
                    note(found, k, "hex");
                }
                collect(v, Some(k), found);
            }
        }
        _ => {}
    }
}

/// Records `raw` as the next `[name:N]`, unless it is known already.
fn note(found: &mut Vec<(String, String)>, raw: &str, name: &str) {
    if !raw.is_empty() && !found.iter().any(|(v, _)| v == raw) {
        let n = found.iter().filter(|(_, p)| p.starts_with(&format!("[{name}:"))).count() + 1;
        found.push((raw.to_owned(), format!("[{name}:{n}]")));
    }
}

fn replace(value: &Value, key: Option<&str>, substitutions: &[(String, String)]) -> Value {
    let text = |s: &str| {
        let mut s = s.to_owned();
        for (value, placeholder) in substitutions {
            s = s.replace(value.as_str(), placeholder);
        }
        if is_rfc3339(&s) { "[time]".to_owned() } else { s }
    };
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Number(n) if key.is_some_and(|k| DERIVED_NUMBERS.contains(&k)) => Value::String(text(&n.to_string())),
        Value::Number(_) if key.is_some_and(|k| VOLATILE_NUMBERS.contains(&k)) => {
            json!(format!("[{}]", key.unwrap_or("")))
        }
        Value::Array(items) => items.iter().map(|item| replace(item, key, substitutions)).collect(),
        Value::Object(map) => {
            map.iter().map(|(k, v)| (text(k), replace(v, Some(k), substitutions))).collect::<Map<_, _>>().into()
        }
        other => other.clone(),
    }
}

fn is_rfc3339(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A digest (an application's aud): 33 or more hex digits.
fn is_long_hex(s: &str) -> bool {
    s.len() > 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Runs of 16 or more hex digits (request ids, ray ids) as `[hex:N]`, N their length.
fn hex_runs(s: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 {
            out.push_str(&format!("[hex:{}]", run.len()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Sends a request and returns what the client saw, redacted: `{status, headers, body}`.
pub async fn exchange(redactor: &Redactor, request: RequestBuilder) -> Value {
    exchange_with(redactor, request, |_| {}).await
}

/// [`exchange`], with the envelope's `result` list sorted by `field` before redaction:
/// for lists whose order among equals follows random ids (seeded devices share a
/// creation time), and so differs per run.
pub async fn exchange_sorted(redactor: &Redactor, request: RequestBuilder, field: &str) -> Value {
    exchange_with(redactor, request, |body| {
        if let Some(items) = body.get_mut("result").and_then(Value::as_array_mut) {
            items.sort_by(|a, b| a[field].to_string().cmp(&b[field].to_string()));
        }
    })
    .await
}

/// [`exchange`], with `prepare` applied to the body before redaction.
pub async fn exchange_with(redactor: &Redactor, request: RequestBuilder, prepare: impl FnOnce(&mut Value)) -> Value {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let mut headers = BTreeMap::new();
    for name in KEPT_HEADERS {
        if let Some(value) = response.headers().get(*name) {
            let value = value.to_str().expect("a visible header value");
            headers.insert((*name).to_owned(), redactor.header(name, value));
        }
    }
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("a JSON body ({e}): {text}"));
        // The snapshot holds the parsed body: its bytes are pinned only if the server
        // writes it in this one form (compact, keys sorted).
        assert_eq!(serde_json::to_string(&body).expect("serialize"), text, "the body is compact with sorted keys");
        let mut body = body;
        prepare(&mut body);
        redactor.redact(&body)
    };
    json!({"status": status, "headers": headers, "body": body})
}

/// A header that counts down with the wall clock (a throttle's `Retry-After`), as
/// `[seconds]`; a header that is absent stays absent.
pub fn seconds_header(exchange: &mut Value, name: &str) {
    if let Some(value) = exchange["headers"].get_mut(name) {
        *value = json!("[seconds]");
    }
}

/// Sends `request()` until the answer is a 429 (at most `tries` times) and returns that
/// answer.
pub async fn first_429(redactor: &Redactor, tries: usize, request: impl Fn() -> RequestBuilder) -> Value {
    for _ in 0..tries {
        let seen = exchange(redactor, request()).await;
        if seen["status"] == 429 {
            return seen;
        }
    }
    panic!("no 429 in {tries} requests");
}

/// Sends a request and pins what the client saw as the snapshot `name`.
pub async fn pin_request(redactor: &Redactor, name: &str, request: RequestBuilder) -> Value {
    let seen = exchange(redactor, request).await;
    pin(name, &seen);
    seen
}

/// Pins `exchange` as the snapshot `name`.
pub fn pin(name: &str, exchange: &Value) {
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_json_snapshot!(name, exchange);
    });
}

#[test]
fn the_redactor_keeps_what_is_stable_and_replaces_what_is_not() {
    assert_eq!(hex_runs("v=2.0;clid=aw1;rid=0123456789abcdef"), "v=2.0;clid=aw1;rid=[hex:16]");
    assert_eq!(hex_runs("0123456789abcdef-SJC"), "[hex:16]-SJC");
    let mut found = Vec::new();
    let value = json!({"id": "abc", "message": "User does not exist: abc.", "at": "2026-12-01T23:00:00Z", "pmi": 7});
    collect(&value, None, &mut found);
    let redacted = replace(&value, None, &found);
    assert_eq!(
        redacted,
        json!({"id": "[id:1]", "message": "User does not exist: [id:1].", "at": "[time]", "pmi": "[pmi:1]"})
    );
}
