//! The Cloudflare tenant document: an account, its zones, API tokens and global keys, the
//! Access organization, apps, users and their devices, as the control plane and `--world`
//! files take it, and what it seeds in the core.
//!
//! Secrets arrive in clear (`value`, `key`) and are kept only as their keyed hashes
//! (`value_hash`, `key_hash`, see [`SecretHasher`]). Ids derive from the account and
//! natural keys, so a reset gives the same ids back.
//!
//! Field names are checked: an unknown one is an error naming it. Free-form fields of a
//! user go under `"attributes": {...}`; the organization is a free-form settings object.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::provider;
use crate::api::tenants;
use crate::domain::ids::SecretHasher;
use crate::domain::tenant::{RateLimits, TenantSeed, TenantSpec, normalize_email};
use crate::domain::{App, Credential, Device, Error, NewPrincipal, Result, Status};

/// A Cloudflare account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudflareDocument {
    /// Always "cloudflare" (checked by the dispatcher; written back when the document is kept).
    #[serde(default, skip_serializing)]
    pub provider: Option<String>,
    pub account_id: String,
    #[serde(default)]
    pub rate_limits: RateLimits,
    #[serde(default)]
    pub zones: Vec<String>,
    #[serde(default)]
    pub api_tokens: Vec<CloudflareApiToken>,
    #[serde(default)]
    pub global_keys: Vec<CloudflareGlobalKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Map<String, Value>>,
    #[serde(default)]
    pub apps: Vec<CloudflareApp>,
    #[serde(default)]
    pub users: Vec<CloudflareUser>,
    #[serde(default)]
    pub devices: Vec<CloudflareDevice>,
}

/// A Cloudflare API token with its permission groups.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudflareApiToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The kept document's hash of the token (never taken from a client; databases from
    /// before keyed hashes named it `value_sha256`).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "value_sha256")]
    pub value_hash: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default = "default_status")]
    pub status: String,
}

/// A legacy global API key (X-Auth-Email + X-Auth-Key).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudflareGlobalKey {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The kept document's hash of the key (never taken from a client; databases from
    /// before keyed hashes named it `key_sha256`).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "key_sha256")]
    pub key_hash: Option<String>,
}

/// An Access application.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudflareApp {
    pub name: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub app_type: Option<String>,
}

/// A Zero Trust user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudflareUser {
    pub email: String,
    #[serde(default)]
    pub name: String,
    /// Free-form fields of the author's own, kept on the user as given.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

/// A device enrolled in WARP by a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudflareDevice {
    pub user: String,
    pub name: String,
    #[serde(default)]
    pub os: String,
}

fn default_status() -> String {
    "active".to_owned()
}

/// The name of the settings document holding the Access organization.
pub const ACCESS_ORGANIZATION: &str = "access_organization";

/// The lookup key of a global API key: its email and the key's hash, hashed together
/// (a global key belongs to a person, who may hold one in several accounts).
pub fn global_key_lookup(secrets: &SecretHasher, email: &str, key_hash: &str) -> String {
    secrets.hash(&format!("{}:{key_hash}", email.to_ascii_lowercase()))
}

/// Reads, validates and redacts a Cloudflare tenant document.
pub fn spec(document: Value, secrets: &SecretHasher) -> Result<TenantSpec> {
    let mut doc: CloudflareDocument = tenants::parse(document)?;
    validate_cloudflare(&doc)?;
    for token in &mut doc.api_tokens {
        if let Some(value) = token.value.take() {
            token.value_hash = Some(secrets.hash(&value));
        }
    }
    for key in &mut doc.global_keys {
        if let Some(value) = key.key.take() {
            key.key_hash = Some(secrets.hash(&value));
        }
    }
    let seed = seed(&doc, secrets);
    let document = tenants::kept(&doc, &provider::PROVIDER)?;
    Ok(TenantSpec {
        account_id: doc.account_id.clone(),
        provider: provider::PROVIDER,
        plan: "enterprise".to_owned(),
        rate_limits: doc.rate_limits == RateLimits::On,
        document,
        seed,
    })
}

/// The seed of a kept (redacted) document, for a reset.
pub fn seed_of(document: &Value, secrets: &SecretHasher) -> Result<TenantSeed> {
    Ok(seed(&tenants::parse_stored::<CloudflareDocument>(document)?, secrets))
}

/// The zones of a kept document.
pub fn zones(document: &Value) -> Result<Vec<String>> {
    Ok(tenants::parse_stored::<CloudflareDocument>(document)?.zones)
}

/// A kept document with a new value for every API token and global key, in clear (for
/// [`spec`]), and those secrets, to be shown once: a reset that rotates secrets, or
/// (`fork_to`) a fork under another account. Tokens keep their ids.
pub fn with_new_secrets(document: &Value, fork_to: Option<&str>) -> Result<(Value, Value)> {
    let mut doc: CloudflareDocument = tenants::parse_stored(document)?;
    let mut api_tokens = Vec::new();
    for (i, token) in doc.api_tokens.iter_mut().enumerate() {
        let hash = token.value_hash.take().unwrap_or_default();
        let id = token.id.get_or_insert_with(|| super::ids::hex_id(&format!("{}:token:{i}:{hash}", doc.account_id))).clone();
        let value = crate::domain::ids::new_secret("");
        api_tokens.push(json!({"id": id, "value": value}));
        token.value = Some(value);
    }
    let mut global_keys = Vec::new();
    for key in &mut doc.global_keys {
        let value = crate::domain::ids::new_secret("");
        global_keys.push(json!({"email": key.email, "key": value}));
        (key.key, key.key_hash) = (Some(value), None);
    }
    if let Some(account) = fork_to {
        doc.account_id = account.to_owned();
    }
    let secrets = json!({"api_tokens": api_tokens, "global_keys": global_keys});
    Ok((tenants::kept(&doc, &provider::PROVIDER)?, secrets))
}

/// Users (uuid ids), their devices as registrations, apps with their aud, the
/// organization as a setting, API tokens (found by hash) and global keys (found by email
/// and key together) as credentials.
fn seed(doc: &CloudflareDocument, secrets: &SecretHasher) -> TenantSeed {
    let account = doc.account_id.as_str();
    let mut seed = TenantSeed::default();
    let mut ids_by_email = std::collections::HashMap::new();
    for user in &doc.users {
        let email = normalize_email(&user.email).unwrap_or_default();
        let id = super::ids::uuid_from(&format!("{account}:user:{email}"));
        let (first_name, last_name) = match user.name.split_once(' ') {
            Some((first, last)) => (first.to_owned(), last.to_owned()),
            None => (user.name.clone(), String::new()),
        };
        let mut attributes = user.attributes.clone();
        attributes.insert("name".into(), json!(user.name));
        seed.principals.push(NewPrincipal {
            id: id.clone(),
            email: email.clone(),
            first_name,
            last_name,
            license: 1,
            role: "member".into(),
            status: Status::Active,
            attributes,
        });
        ids_by_email.insert(email, id);
    }
    for (i, device) in doc.devices.iter().enumerate() {
        let email = normalize_email(&device.user).unwrap_or_default();
        seed.devices.push(Device {
            tenant: account.to_owned(),
            id: super::ids::uuid_from(&format!("{account}:registration:{i}:{email}:{}", device.name)),
            device_id: super::ids::uuid_from(&format!("{account}:device:{i}:{}", device.name)),
            principal: ids_by_email[&email].clone(),
            name: device.name.clone(),
            os: device.os.clone(),
            attributes: Map::new(),
            created_at: 0, // stamped when the seed is stored
            last_seen_at: None,
            revoked_at: None,
            generation: 0,
        });
    }
    for app in &doc.apps {
        seed.apps.push(App {
            tenant: account.to_owned(),
            id: super::ids::uuid_from(&format!("{account}:app:{}", app.name)),
            name: app.name.clone(),
            domain: app.domain.clone(),
            aud: app.aud.clone().unwrap_or_else(|| super::ids::aud_from(&format!("{account}:aud:{}", app.name))),
            kind: app.app_type.clone().unwrap_or_else(|| "self_hosted".into()),
            created_at: 0, // stamped when the seed is stored
        });
    }
    if let Some(org) = &doc.organization {
        seed.settings.push((ACCESS_ORGANIZATION.to_owned(), org.clone()));
    }
    for (i, token) in doc.api_tokens.iter().enumerate() {
        let hash = token.value_hash.clone().unwrap_or_default();
        seed.credentials.push(Credential {
            tenant: account.to_owned(),
            id: token.id.clone().unwrap_or_else(|| super::ids::hex_id(&format!("{account}:token:{i}:{hash}"))),
            kind: provider::API_TOKEN,
            lookup: hash.clone(),
            secret_hash: hash,
            grants: token.permissions.clone(),
            owner: None,
            status: token.status.clone(),
            created_at: 0, // stamped when the seed is stored
            expires_at: None,
        });
    }
    for key in &doc.global_keys {
        let email = normalize_email(&key.email).unwrap_or_default();
        let key_hash = key.key_hash.clone().unwrap_or_default();
        seed.credentials.push(Credential {
            tenant: account.to_owned(),
            id: super::ids::hex_id(&format!("{account}:global_key:{email}")),
            kind: provider::GLOBAL_KEY,
            // Found by email and key together: a global key belongs to a person,
            // who may hold one in several accounts.
            lookup: global_key_lookup(secrets, &email, &key_hash),
            secret_hash: key_hash,
            grants: vec!["*".into()],
            owner: None,
            status: "active".into(),
            created_at: 0, // stamped when the seed is stored
            expires_at: None,
        });
    }
    seed
}

fn is_cloudflare_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

fn validate_cloudflare(doc: &CloudflareDocument) -> Result<()> {
    if !is_cloudflare_id(&doc.account_id) {
        return Err(Error::invalid("account_id", "account_id must be 32 hex characters"));
    }
    for (i, zone) in doc.zones.iter().enumerate() {
        if !is_cloudflare_id(zone) {
            return Err(Error::invalid(format!("zones[{i}]"), "zone ids are 32 hex characters"));
        }
    }
    for (i, token) in doc.api_tokens.iter().enumerate() {
        if token.value_hash.is_some() {
            return Err(Error::invalid(format!("api_tokens[{i}].value_hash"), "give value, not a hash"));
        }
        if token.value.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid(format!("api_tokens[{i}].value"), "value is required"));
        }
        if !["active", "disabled", "expired"].contains(&token.status.as_str()) {
            return Err(Error::invalid(
                format!("api_tokens[{i}].status"),
                "status must be active, disabled or expired",
            ));
        }
    }
    for (i, key) in doc.global_keys.iter().enumerate() {
        if normalize_email(&key.email).is_none() {
            return Err(Error::invalid(format!("global_keys[{i}].email"), "invalid email address"));
        }
        if key.key_hash.is_some() {
            return Err(Error::invalid(format!("global_keys[{i}].key_hash"), "give key, not a hash"));
        }
        if key.key.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid(format!("global_keys[{i}].key"), "key is required"));
        }
    }
    let mut emails = std::collections::HashSet::new();
    for (i, user) in doc.users.iter().enumerate() {
        let email = normalize_email(&user.email)
            .ok_or_else(|| Error::invalid(format!("users[{i}].email"), "invalid email address"))?;
        if !emails.insert(email) {
            return Err(Error::invalid(format!("users[{i}].email"), "duplicate email address"));
        }
    }
    for (i, device) in doc.devices.iter().enumerate() {
        let known = normalize_email(&device.user).is_some_and(|u| emails.contains(&u));
        if !known {
            return Err(Error::invalid(format!("devices[{i}].user"), format!("unknown user {}", device.user)));
        }
    }
    let mut names = std::collections::HashSet::new();
    for (i, app) in doc.apps.iter().enumerate() {
        if app.name.is_empty() || !names.insert(app.name.clone()) {
            return Err(Error::invalid(format!("apps[{i}].name"), "app names must be present and unique"));
        }
    }
    Ok(())
}
