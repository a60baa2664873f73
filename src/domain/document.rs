//! Tenant documents: the JSON that creates a tenant, and that a reset goes back to.
//!
//! Secrets arrive in clear (`client_secret`, `value`, `key`) and are kept only as their
//! hashes (`*_sha256`): the stored document is [`TenantDocument::redacted`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ids::hash_secret;
use super::{Error, Provider, Result};

/// A tenant document, by provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum TenantDocument {
    Zoom(ZoomDocument),
    Cloudflare(CloudflareDocument),
}

/// Whether the provider's rate limits apply to a tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateLimits {
    #[default]
    On,
    Off,
}

/// A Zoom account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ZoomDocument {
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
pub struct ZoomApp {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_sha256: Option<String>,
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
    /// Any other profile field (timezone, dept, pmi, ...), kept as given.
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

fn default_user_type() -> i64 {
    1
}
fn default_role() -> String {
    "member".to_owned()
}
fn default_status() -> String {
    "active".to_owned()
}

/// A Cloudflare account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloudflareDocument {
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
pub struct CloudflareApiToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_sha256: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default = "default_status")]
    pub status: String,
}

/// A legacy global API key (X-Auth-Email + X-Auth-Key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloudflareGlobalKey {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_sha256: Option<String>,
}

/// An Access application.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
pub struct CloudflareUser {
    pub email: String,
    #[serde(default)]
    pub name: String,
}

/// A device enrolled in WARP by a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloudflareDevice {
    pub user: String,
    pub name: String,
    #[serde(default)]
    pub os: String,
}

impl TenantDocument {
    pub fn provider(&self) -> Provider {
        match self {
            TenantDocument::Zoom(_) => Provider::Zoom,
            TenantDocument::Cloudflare(_) => Provider::Cloudflare,
        }
    }

    pub fn account_id(&self) -> &str {
        match self {
            TenantDocument::Zoom(doc) => &doc.account_id,
            TenantDocument::Cloudflare(doc) => &doc.account_id,
        }
    }

    pub fn rate_limits(&self) -> bool {
        let setting = match self {
            TenantDocument::Zoom(doc) => doc.rate_limits,
            TenantDocument::Cloudflare(doc) => doc.rate_limits,
        };
        setting == RateLimits::On
    }

    pub fn plan(&self) -> &str {
        match self {
            TenantDocument::Zoom(doc) => &doc.plan,
            TenantDocument::Cloudflare(_) => "enterprise",
        }
    }

    /// The document with every clear secret replaced by its hash.
    pub fn redacted(&self) -> TenantDocument {
        let mut doc = self.clone();
        match &mut doc {
            TenantDocument::Zoom(zoom) => {
                for app in &mut zoom.apps {
                    if let Some(secret) = app.client_secret.take() {
                        app.client_secret_sha256 = Some(hash_secret(&secret));
                    }
                }
            }
            TenantDocument::Cloudflare(cf) => {
                for token in &mut cf.api_tokens {
                    if let Some(value) = token.value.take() {
                        token.value_sha256 = Some(hash_secret(&value));
                    }
                }
                for key in &mut cf.global_keys {
                    if let Some(value) = key.key.take() {
                        key.key_sha256 = Some(hash_secret(&value));
                    }
                }
            }
        }
        doc
    }

    /// Checks what serde cannot: ids, enums, references between entries.
    pub fn validate(&self) -> Result<()> {
        match self {
            TenantDocument::Zoom(doc) => validate_zoom(doc),
            TenantDocument::Cloudflare(doc) => validate_cloudflare(doc),
        }
    }
}

fn validate_account_id(id: &str) -> Result<()> {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(()) } else { Err(Error::invalid("account_id", "account_id must be 1-64 letters, digits, '-' or '_'")) }
}

/// Lower-cases and checks an email address.
pub fn normalize_email(email: &str) -> Option<String> {
    let email = email.trim().to_ascii_lowercase();
    let (local, domain) = email.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.len() <= 128
        && !email.chars().any(|c| c.is_whitespace() || c == '/' || c == '?' || c == '#')
        && !domain.contains('@');
    ok.then_some(email)
}

fn validate_zoom(doc: &ZoomDocument) -> Result<()> {
    validate_account_id(&doc.account_id)?;
    if !["free", "pro", "business", "enterprise"].contains(&doc.plan.as_str()) {
        return Err(Error::invalid("plan", "plan must be free, pro, business or enterprise"));
    }
    let mut emails = std::collections::HashSet::new();
    for (i, user) in doc.users.iter().enumerate() {
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
        if app.client_secret.is_none() && app.client_secret_sha256.is_none() {
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
        if token.value.as_deref().is_none_or(str::is_empty) && token.value_sha256.is_none() {
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
        if key.key.as_deref().is_none_or(str::is_empty) && key.key_sha256.is_none() {
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
