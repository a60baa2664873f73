//! Zoom's JSON shapes for users, built from the provider-neutral principal.

use serde_json::{Map, Value, json};

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

fn attr_str(principal: &Principal, name: &str, default: &str) -> Value {
    json!(attr(principal, name).and_then(Value::as_str).unwrap_or(default))
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

/// An item of `GET /users`. Pending users are listed without an id.
pub fn list_item(principal: &Principal, now: Timestamp) -> Value {
    let (role_id, _) = role(principal);
    let mut item = Map::new();
    if principal.status != Status::Pending {
        item.insert("id".into(), json!(principal.id));
    }
    item.insert("first_name".into(), json!(principal.first_name));
    item.insert("last_name".into(), json!(principal.last_name));
    item.insert("display_name".into(), json!(principal.display_name()));
    item.insert("email".into(), json!(principal.email));
    item.insert("type".into(), json!(principal.license));
    item.insert("pmi".into(), json!(pmi(principal)));
    item.insert("timezone".into(), attr_str(principal, "timezone", ""));
    item.insert("verified".into(), json!(if principal.status == Status::Pending { 0 } else { 1 }));
    item.insert("dept".into(), attr_str(principal, "dept", ""));
    item.insert("user_created_at".into(), json!(created_at(principal, now)));
    item.insert("created_at".into(), json!(created_at(principal, now)));
    if let Some(at) = principal.last_login_at {
        item.insert("last_login_time".into(), json!(rfc3339(at)));
    }
    item.insert("language".into(), attr_str(principal, "language", "en-US"));
    item.insert("status".into(), json!(principal.status.as_str()));
    item.insert("role_id".into(), json!(role_id));
    item.insert("group_ids".into(), attr(principal, "group_ids").cloned().unwrap_or(json!([])));
    Value::Object(item)
}

/// `GET /users/{userId}`.
pub fn user(principal: &Principal, tenant: &Tenant, now: Timestamp) -> Value {
    let (role_id, role_name) = role(principal);
    let pmi = pmi(principal);
    let mut body = json!({
        "id": principal.id,
        "first_name": principal.first_name,
        "last_name": principal.last_name,
        "display_name": principal.display_name(),
        "email": principal.email,
        "type": principal.license,
        "role_name": role_name,
        "pmi": pmi,
        "use_pmi": attr(principal, "use_pmi").and_then(Value::as_bool).unwrap_or(false),
        "personal_meeting_url": format!("https://zoom.us/j/{pmi}"),
        "timezone": attr_str(principal, "timezone", ""),
        "verified": if principal.status == Status::Pending { 0 } else { 1 },
        "dept": attr_str(principal, "dept", ""),
        "created_at": created_at(principal, now),
        "user_created_at": created_at(principal, now),
        "language": attr_str(principal, "language", "en-US"),
        "phone_number": "",
        "status": principal.status.as_str(),
        "role_id": role_id,
        "account_id": tenant.account_id,
        "account_number": account_number(&tenant.account_id),
        "cluster": "us01",
        "group_ids": attr(principal, "group_ids").cloned().unwrap_or(json!([])),
        "im_group_ids": [],
        "jid": format!("{}@xmpp.zoom.us", principal.id.to_ascii_lowercase()),
        "login_types": [if principal.flag("sso") { 101 } else { 100 }],
        "pic_url": "",
    });
    if let Some(at) = principal.last_login_at {
        body["last_login_time"] = json!(rfc3339(at));
    }
    for field in PROFILE_FIELDS {
        if let Some(value) = attr(principal, field) {
            body[*field] = value.clone();
        }
    }
    body
}

/// A stable account number for display (Zoom's are 8-10 digits).
fn account_number(account_id: &str) -> u64 {
    account_id.bytes().fold(17u64, |acc, b| (acc.wrapping_mul(31) + b as u64) % 9_000_000_000) + 1_000_000_000
}
