//! What a tenant is made of, in the core's terms.
//!
//! Each dialect reads its own tenant document (`api/<provider>/tenant.rs`: validation,
//! secrets replaced by their hashes, ids derived from the account and natural keys) and
//! hands the core a [`TenantSpec`]: the tenant row, the redacted document to keep, and
//! the provider-neutral [`TenantSeed`] to store. A reset asks the dialect for the seed of
//! the kept document again.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{App, Credential, Delegation, Device, NewPrincipal, Provider};

/// A tenant to create.
#[derive(Debug, Clone)]
pub struct TenantSpec {
    pub account_id: String,
    pub provider: Provider,
    pub plan: String,
    pub rate_limits: bool,
    /// The tenant document, secrets replaced by their hashes: what a reset goes back to.
    pub document: Value,
    pub seed: TenantSeed,
}

/// Everything a tenant starts with. `tenant` and `created_at` fields are set when seeded.
#[derive(Debug, Clone, Default)]
pub struct TenantSeed {
    pub principals: Vec<NewPrincipal>,
    pub delegations: Vec<Delegation>,
    pub credentials: Vec<Credential>,
    pub apps: Vec<App>,
    pub devices: Vec<Device>,
    /// Named settings documents (e.g. an Access organization).
    pub settings: Vec<(String, Map<String, Value>)>,
}

/// Whether the provider's rate limits apply to a tenant (`"rate_limits": "on" | "off"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateLimits {
    #[default]
    On,
    Off,
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
        && !email.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '?' || c == '#')
        && !domain.contains('@');
    ok.then_some(email)
}
