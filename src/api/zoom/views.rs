//! Zoom's JSON shapes for users, built from the provider-neutral principal.

use std::sync::LazyLock;

use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};

use super::ZoomError;
use crate::domain::clock::rfc3339;
use crate::domain::{Principal, Status, Tenant, Timestamp};

/// Zoom's `role_id` and `role_name` for the three built-in roles.
pub fn role(principal: &Principal) -> (&'static str, &'static str) {
    match principal.role.as_str() {
        "owner" => ("0", "Owner"),
        "admin" => ("1", "Admin"),
        _ => ("2", "Member"),
    }
}

fn attr<'a>(principal: &'a Principal, name: &str) -> Option<&'a Value> {
    principal.attributes.get(name)
}

/// The profile fields Zoom returns that userplane keeps as given (PATCH or the document).
const PROFILE_FIELDS: &[&str] = &[
    "company",
    "job_title",
    "location",
    "manager",
    "cost_center",
    "pronouns",
    "pronouns_option",
    "vanity_url",
    "host_key",
    "cms_user_id",
    "phone_numbers",
    "custom_attributes",
    "employee_unique_id",
    "about_me",
    "linkedin_url",
    "division_ids",
    "plan_united_type",
    "zoom_one_type",
];

fn pmi(principal: &Principal) -> i64 {
    attr(principal, "pmi").and_then(Value::as_i64).unwrap_or(0)
}

/// `created_at` of a pending user is the time of the call (Zoom's documented quirk).
fn created_at(principal: &Principal, now: Timestamp) -> String {
    rfc3339(if principal.status == Status::Pending { now } else { principal.created_at })
}

/// A JSON object written straight from borrowed fields, its keys in the order serde_json's
/// own map keeps them (sorted), so that its bytes are what a `Value` of the same fields
/// would give, without building one first (that `Value` was a third of a GET's work).
#[derive(Debug, Default)]
pub struct Object<'a>(Vec<(&'a str, Field<'a>)>);

/// A value of an [`Object`].
#[derive(Debug)]
pub enum Field<'a> {
    Str(&'a str),
    Text(String),
    Int(i64),
    UInt(u64),
    Bool(bool),
    Json(&'a Value),
    /// An empty array.
    Empty,
}

impl<'a> Object<'a> {
    /// Sets `key` (a later set of the same key wins, as with a map: see `serialize`).
    fn set(&mut self, key: &'a str, field: Field<'a>) {
        self.0.push((key, field));
    }
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Str(s) => serializer.serialize_str(s),
            Field::Text(s) => serializer.serialize_str(s),
            Field::Int(n) => serializer.serialize_i64(*n),
            Field::UInt(n) => serializer.serialize_u64(*n),
            Field::Bool(b) => serializer.serialize_bool(*b),
            Field::Json(value) => value.serialize(serializer),
            Field::Empty => serializer.serialize_seq(Some(0))?.end(),
        }
    }
}

impl Serialize for Object<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A stable sort keeps the sets of one key in their order; the last one is written.
        let mut fields: Vec<&(&str, Field)> = self.0.iter().collect();
        fields.sort_by_key(|(key, _)| *key);
        let written = |i: usize| fields.get(i + 1).is_none_or(|(next, _)| *next != fields[i].0);
        let mut map = serializer.serialize_map(Some((0..fields.len()).filter(|&i| written(i)).count()))?;
        for (i, (key, field)) in fields.iter().enumerate() {
            if written(i) {
                map.serialize_entry(key, field)?;
            }
        }
        map.end()
    }
}

/// An object as a JSON answer, written into a buffer that fits a user at once (axum's
/// `Json` starts at 128 bytes and grows it as the fragments come).
impl IntoResponse for Object<'_> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(2048);
        match serde_json::to_writer(&mut body, &self) {
            Ok(()) => ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
            Err(err) => ZoomError::internal(format!("a user's JSON: {err}")).into_response(),
        }
    }
}

fn attr_field<'a>(principal: &'a Principal, name: &str, default: &'a str) -> Field<'a> {
    Field::Str(attr(principal, name).and_then(Value::as_str).unwrap_or(default))
}

fn group_ids(principal: &Principal) -> Field<'_> {
    attr(principal, "group_ids").map_or(Field::Empty, Field::Json)
}

/// The fields a list item and a full user share.
fn common<'a>(principal: &'a Principal, now: Timestamp) -> Object<'a> {
    let (role_id, _) = role(principal);
    let mut body = Object::default();
    body.set("first_name", Field::Str(&principal.first_name));
    body.set("last_name", Field::Str(&principal.last_name));
    body.set("display_name", Field::Text(principal.display_name()));
    body.set("email", Field::Str(&principal.email));
    body.set("type", Field::Int(principal.license));
    body.set("pmi", Field::Int(pmi(principal)));
    body.set("timezone", attr_field(principal, "timezone", ""));
    body.set("verified", Field::Int(if principal.status == Status::Pending { 0 } else { 1 }));
    body.set("dept", attr_field(principal, "dept", ""));
    body.set("created_at", Field::Text(created_at(principal, now)));
    body.set("user_created_at", Field::Text(created_at(principal, now)));
    if let Some(at) = principal.last_login_at {
        body.set("last_login_time", Field::Text(rfc3339(at)));
    }
    body.set("language", attr_field(principal, "language", "en-US"));
    body.set("status", Field::Str(principal.status.as_str()));
    body.set("role_id", Field::Str(role_id));
    body.set("group_ids", group_ids(principal));
    body
}

/// An item of `GET /users`. Pending users are listed without an id.
pub fn list_item(principal: &Principal, now: Timestamp) -> Object<'_> {
    let mut item = common(principal, now);
    if principal.status != Status::Pending {
        item.set("id", Field::Str(&principal.id));
    }
    item
}

/// `GET /users/{userId}`.
pub fn user<'a>(principal: &'a Principal, tenant: &'a Tenant, now: Timestamp) -> Object<'a> {
    let (_, role_name) = role(principal);
    let pmi = pmi(principal);
    let mut body = common(principal, now);
    body.set("id", Field::Str(&principal.id));
    body.set("role_name", Field::Str(role_name));
    body.set("use_pmi", Field::Bool(attr(principal, "use_pmi").and_then(Value::as_bool).unwrap_or(false)));
    body.set("personal_meeting_url", Field::Text(format!("https://zoom.us/j/{pmi}")));
    body.set("phone_number", Field::Str(""));
    body.set("account_id", Field::Str(&tenant.account_id));
    body.set("account_number", Field::UInt(account_number(&tenant.account_id)));
    body.set("cluster", Field::Str("us01"));
    body.set("im_group_ids", Field::Empty);
    body.set("jid", Field::Text(format!("{}@xmpp.zoom.us", principal.id.to_ascii_lowercase())));
    body.set("login_types", Field::Json(if principal.flag("sso") { &SSO_LOGIN } else { &PASSWORD_LOGIN }));
    body.set("pic_url", Field::Str(""));
    for field in PROFILE_FIELDS {
        if let Some(value) = attr(principal, field) {
            body.set(field, Field::Json(value));
        }
    }
    body
}

/// Zoom's `login_types`: 101 SSO, 100 a password.
static SSO_LOGIN: LazyLock<Value> = LazyLock::new(|| json!([101]));
static PASSWORD_LOGIN: LazyLock<Value> = LazyLock::new(|| json!([100]));

/// A stable account number for display (Zoom's are 8-10 digits).
fn account_number(account_id: &str) -> u64 {
    account_id.bytes().fold(17u64, |acc, b| (acc.wrapping_mul(31) + b as u64) % 9_000_000_000) + 1_000_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_written_in_key_order_and_a_later_set_wins() {
        let mut object = Object::default();
        object.set("type", Field::Int(1));
        object.set("email", Field::Str("a@example.com"));
        object.set("type", Field::Int(2));
        object.set("group_ids", Field::Empty);
        let written = serde_json::to_string(&object).unwrap();
        assert_eq!(written, r#"{"email":"a@example.com","group_ids":[],"type":2}"#);
        // The same bytes a `Value` of those fields gives.
        assert_eq!(written, json!({"type": 2, "email": "a@example.com", "group_ids": []}).to_string());
    }
}
