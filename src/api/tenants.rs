//! Tenant documents, by provider: each dialect reads its own (`api/<provider>/tenant.rs`)
//! and hands the core a provider-neutral spec, found through [`providers`]: a new
//! provider adds nothing here.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::providers;
use crate::domain::ids::SecretHasher;
use crate::domain::tenant::{TenantSeed, TenantSpec};
use crate::domain::{Error, Provider, Result};

/// Reads a tenant document (`{"provider": "zoom" | "cloudflare", ...}`): validated, its
/// secrets replaced by their hashes.
pub fn spec(document: Value, secrets: &SecretHasher) -> Result<TenantSpec> {
    let provider = document.get("provider").cloned().unwrap_or(Value::Null);
    match provider.as_str().and_then(providers::named) {
        Some(spec) => (spec.document)(document, secrets),
        None if provider.is_null() => {
            Err(Error::invalid("provider", format!("provider is required: {}", providers::names())))
        }
        None => Err(Error::invalid("provider", format!("provider must be {}, not {provider}", providers::names()))),
    }
}

/// What a kept tenant document seeds, for a reset.
pub fn seed_of(provider: &Provider, document: &Value, secrets: &SecretHasher) -> Result<TenantSeed> {
    let spec = providers::named(provider.as_str())
        .ok_or_else(|| Error::Internal(format!("a tenant of an unknown provider {}", provider.as_str())))?;
    (spec.seed_of)(document, secrets)
}

/// The kept document with new secrets (see `<provider>::tenant::with_new_secrets`),
/// read back as a spec, and the new secrets in clear, to be shown once.
pub fn with_new_secrets(
    provider: &Provider,
    document: &Value,
    fork_to: Option<&str>,
    secrets: &SecretHasher,
) -> Result<(TenantSpec, Value)> {
    let spec_of = super::providers::named(provider.as_str())
        .ok_or_else(|| Error::Internal(format!("a tenant of an unknown provider {}", provider.as_str())))?;
    let (document, new) = (spec_of.with_new_secrets)(document, fork_to)?;
    Ok((spec(document, secrets)?, new))
}

/// A dialect's document type read from a request: a shape error is the client's (400).
pub fn parse<D: DeserializeOwned>(document: Value) -> Result<D> {
    serde_json::from_value(document)
        .map_err(|e| Error::Invalid { field: None, message: format!("invalid tenant document: {e}") })
}

/// A dialect's document type read back from the store: a shape error is ours.
pub fn parse_stored<D: DeserializeOwned>(document: &Value) -> Result<D> {
    D::deserialize(document).map_err(|e| Error::Internal(format!("stored tenant document: {e}")))
}

/// The document to keep (secrets already hashed), tagged with its provider.
pub fn kept<D: Serialize>(doc: &D, provider: &Provider) -> Result<Value> {
    let mut document = serde_json::to_value(doc).map_err(|e| Error::Internal(e.to_string()))?;
    document["provider"] = json!(provider.as_str());
    Ok(document)
}
