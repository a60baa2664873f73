//! The Zoom tenant document: an account, its Server-to-Server OAuth apps and its users,
//! as the control plane and `--world` files take it, and what it seeds in the core.
//!
//! Secrets arrive in clear (`client_secret`) and are kept only as their keyed hashes
//! (`client_secret_hash`, see [`SecretHasher`]). User ids derive from the account and the
//! email, so a reset gives the same ids back.
//!
//! Field names are checked: an unknown one is an error naming it. A user takes Zoom's
//! profile fields ([`USER_PROFILE_FIELDS`]) as given, and anything else under
//! `"attributes": {...}`, kept on the user as given.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::provider;
use crate::api::tenants;
use crate::domain::ids::SecretHasher;
use crate::domain::tenant::{RateLimits, TenantSeed, TenantSpec, normalize_email};
use crate::domain::{Credential, Delegation, Error, NewPrincipal, Result, Status};

/// A Zoom account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoomDocument {
    /// Always "zoom" (checked by the dispatcher; written back when the document is kept).
    #[serde(default, skip_serializing)]
    pub provider: Option<String>,
    pub account_id: String,
    #[serde(default = "default_plan")]
    pub plan: String,
    #[serde(default)]
    pub rate_limits: RateLimits,
    #[serde(default)]
    pub apps: Vec<ZoomApp>,
    #[serde(default)]
    pub users: Vec<ZoomUser>,
}

fn default_plan() -> String {
    "free".to_owned()
}

/// A Server-to-Server OAuth app.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoomApp {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The kept document's hash of the secret (never taken from a client; databases from
    /// before keyed hashes named it `client_secret_sha256`).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "client_secret_sha256")]
    pub client_secret_hash: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Email of the user the app acts as for `me`; the account owner when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A Zoom user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ZoomUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(rename = "type", default = "default_user_type")]
    pub user_type: i64,
    #[serde(default = "default_role")]
    pub role: String,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default)]
    pub zoom_room: bool,
    #[serde(default)]
    pub upcoming_events: bool,
    /// Emails of this user's assistants.
    #[serde(default)]
    pub assistants: Vec<String>,
    /// Free-form fields of the author's own, kept on the user as given.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    /// Zoom profile fields ([`USER_PROFILE_FIELDS`]: timezone, dept, pmi, ...), kept as
    /// given. (A flattened map cannot deny unknown fields: [`spec`] checks the names.)
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

/// The Zoom profile fields a user in a document may carry besides the typed ones: what
/// Zoom's user object returns and `PATCH /users/{userId}` takes.
pub const USER_PROFILE_FIELDS: &[&str] = &[
    "display_name",
    "timezone",
    "language",
    "dept",
    "company",
    "job_title",
    "location",
    "manager",
    "cost_center",
    "pronouns",
    "pronouns_option",
    "vanity_name",
    "vanity_url",
    "about_me",
    "linkedin_url",
    "cms_user_id",
    "group_id",
    "group_ids",
    "host_key",
    "pmi",
    "use_pmi",
    "phone_number",
    "phone_numbers",
    "custom_attributes",
    "division_ids",
    "employee_unique_id",
    "plan_united_type",
    "zoom_one_type",
    "sso",
];

fn default_user_type() -> i64 {
    1
}
fn default_role() -> String {
    "member".to_owned()
}
fn default_status() -> String {
    "active".to_owned()
}

/// Reads, validates and redacts a Zoom tenant document.
pub fn spec(document: Value, secrets: &SecretHasher) -> Result<TenantSpec> {
    let mut doc: ZoomDocument = tenants::parse(document)?;
    validate_zoom(&doc)?;
    for app in &mut doc.apps {
        if let Some(secret) = app.client_secret.take() {
            app.client_secret_hash = Some(secrets.hash(&secret));
        }
    }
    let seed = seed(&doc);
    let document = tenants::kept(&doc, &provider::PROVIDER)?;
    Ok(TenantSpec {
        account_id: doc.account_id.clone(),
        provider: provider::PROVIDER,
        plan: doc.plan.clone(),
        rate_limits: doc.rate_limits == RateLimits::On,
        document,
        seed,
    })
}

/// The seed of a kept (redacted) document, for a reset.
pub fn seed_of(document: &Value) -> Result<TenantSeed> {
    Ok(seed(&tenants::parse_stored::<ZoomDocument>(document)?))
}

/// A kept document with a new secret for every app, in clear (for [`spec`]), and those
/// secrets, to be shown once: a reset that rotates secrets, or (`fork_to`) a fork under
/// another account, whose apps also get new client ids (they are unique across tenants)
/// and whose users keep the source's ids.
pub fn with_new_secrets(document: &Value, fork_to: Option<&str>) -> Result<(Value, Value)> {
    let mut doc: ZoomDocument = tenants::parse_stored(document)?;
    if let Some(account) = fork_to {
        for user in &mut doc.users {
            let email = normalize_email(&user.email).unwrap_or_default();
            user.id.get_or_insert_with(|| super::ids::derived_id(&format!("{}:{email}", doc.account_id)));
        }
        doc.account_id = account.to_owned();
    }
    let mut apps = Vec::new();
    for app in &mut doc.apps {
        if fork_to.is_some() {
            app.client_id = super::ids::random_id();
        }
        let secret = crate::domain::ids::new_secret("");
        apps.push(json!({"client_id": app.client_id, "client_secret": secret}));
        (app.client_secret, app.client_secret_hash) = (Some(secret), None);
    }
    Ok((tenants::kept(&doc, &provider::PROVIDER)?, json!({"apps": apps})))
}

/// Users (with their Zoom profile as attributes), assistants as delegations, apps as
/// credentials acting as their owner (the account owner when none is named).
fn seed(doc: &ZoomDocument) -> TenantSeed {
    let account = doc.account_id.as_str();
    let mut seed = TenantSeed::default();
    let mut ids_by_email = std::collections::HashMap::new();
    for user in &doc.users {
        let email = normalize_email(&user.email).unwrap_or_default();
        let id = user.id.clone().unwrap_or_else(|| super::ids::derived_id(&format!("{account}:{email}")));
        let mut attributes = user.attributes.clone();
        attributes.extend(user.profile.clone());
        attributes.insert("zoom_room".into(), json!(user.zoom_room));
        attributes.insert("upcoming_events".into(), json!(user.upcoming_events));
        attributes.entry("pmi").or_insert_with(|| json!(super::ids::pmi(&id)));
        seed.principals.push(NewPrincipal {
            id: id.clone(),
            email: email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            license: user.user_type,
            role: user.role.clone(),
            status: Status::parse(&user.status).unwrap_or(Status::Active),
            attributes,
        });
        ids_by_email.insert(email, id);
    }
    for user in &doc.users {
        let principal = &ids_by_email[&normalize_email(&user.email).unwrap_or_default()];
        for assistant in &user.assistants {
            let delegate = &ids_by_email[&normalize_email(assistant).unwrap_or_default()];
            let delegation = Delegation {
                principal: principal.clone(),
                delegate: delegate.clone(),
                can_manage_host_private_event: false,
                created_at: 0, // stamped when the seed is stored
            };
            seed.delegations.push(delegation);
        }
    }
    let account_owner = doc
        .users
        .iter()
        .find(|u| u.role == "owner")
        .and_then(|u| ids_by_email.get(&normalize_email(&u.email).unwrap_or_default()).cloned());
    for app in &doc.apps {
        let owner = match &app.owner {
            Some(email) => ids_by_email.get(&normalize_email(email).unwrap_or_default()).cloned(),
            None => account_owner.clone(),
        };
        seed.credentials.push(Credential {
            tenant: account.to_owned(),
            id: app.client_id.clone(),
            kind: provider::APP,
            lookup: app.client_id.clone(),
            secret_hash: app.client_secret_hash.clone().unwrap_or_default(),
            grants: app.scopes.clone(),
            owner,
            status: "active".into(),
            created_at: 0, // stamped when the seed is stored
            expires_at: None,
        });
    }
    seed
}

fn validate_account_id(id: &str) -> Result<()> {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(()) } else { Err(Error::invalid("account_id", "account_id must be 1-64 letters, digits, '-' or '_'")) }
}

fn validate_zoom(doc: &ZoomDocument) -> Result<()> {
    validate_account_id(&doc.account_id)?;
    if !["free", "pro", "business", "enterprise"].contains(&doc.plan.as_str()) {
        return Err(Error::invalid("plan", "plan must be free, pro, business or enterprise"));
    }
    let mut emails = std::collections::HashSet::new();
    for (i, user) in doc.users.iter().enumerate() {
        if let Some(unknown) = user.profile.keys().find(|k| !USER_PROFILE_FIELDS.contains(&k.as_str())) {
            return Err(Error::invalid(
                format!("users[{i}].{unknown}"),
                format!("unknown field \"{unknown}\" (free-form fields go in \"attributes\")"),
            ));
        }
        let email = normalize_email(&user.email)
            .ok_or_else(|| Error::invalid(format!("users[{i}].email"), "invalid email address"))?;
        if !emails.insert(email) {
            return Err(Error::invalid(format!("users[{i}].email"), "duplicate email address"));
        }
        if ![1, 2, 4, 99].contains(&user.user_type) {
            return Err(Error::invalid(format!("users[{i}].type"), "type must be 1, 2, 4 or 99"));
        }
        if !["owner", "admin", "member"].contains(&user.role.as_str()) {
            return Err(Error::invalid(format!("users[{i}].role"), "role must be owner, admin or member"));
        }
        if !["active", "inactive", "pending"].contains(&user.status.as_str()) {
            return Err(Error::invalid(format!("users[{i}].status"), "status must be active, inactive or pending"));
        }
    }
    for (i, user) in doc.users.iter().enumerate() {
        for assistant in &user.assistants {
            let known = normalize_email(assistant).is_some_and(|a| emails.contains(&a));
            if !known {
                return Err(Error::invalid(format!("users[{i}].assistants"), format!("unknown assistant {assistant}")));
            }
        }
    }
    let mut client_ids = std::collections::HashSet::new();
    for (i, app) in doc.apps.iter().enumerate() {
        if app.client_id.is_empty() || !client_ids.insert(app.client_id.clone()) {
            return Err(Error::invalid(format!("apps[{i}].client_id"), "client_id must be present and unique"));
        }
        if app.client_secret_hash.is_some() {
            return Err(Error::invalid(format!("apps[{i}].client_secret_hash"), "give client_secret, not a hash"));
        }
        if app.client_secret.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid(format!("apps[{i}].client_secret"), "client_secret is required"));
        }
        if let Some(owner) = &app.owner {
            let known = normalize_email(owner).is_some_and(|o| emails.contains(&o));
            if !known {
                return Err(Error::invalid(format!("apps[{i}].owner"), format!("unknown owner {owner}")));
            }
        }
    }
    Ok(())
}
