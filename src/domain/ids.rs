//! Identifiers, secrets and their hashes.
//!
//! Ids of seeded objects are derived from the tenant and the object's natural key, so a
//! reset gives them back the same ids. Secrets are random, shown once, stored as SHA-256
//! (they are high-entropy or chosen by a test author; lookups go by hash) and compared in
//! constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Hex SHA-256 of a secret: what is stored and looked up.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `expected_hash`, compared in constant time.
pub fn secret_matches(secret: &str, expected_hash: &str) -> bool {
    hash_secret(secret).as_bytes().ct_eq(expected_hash.as_bytes()).into()
}

/// A new random secret: `prefix` then 32 random bytes, base64url.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A Zoom-style user id (22 base64url characters) derived from `seed`.
pub fn zoom_id(seed: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(seed.as_bytes())[..16])
}

/// A random Zoom-style id.
pub fn random_zoom_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A UUID (v4 layout) derived from `seed`, as Cloudflare writes them.
pub fn uuid_from(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// 32 hex characters derived from `seed` (Cloudflare's tag-style ids).
pub fn hex_id(seed: &str) -> String {
    hex::encode(&Sha256::digest(seed.as_bytes())[..16])
}

/// 64 hex characters derived from `seed` (an Access application audience tag).
pub fn aud_from(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

/// A random nonce for a session.
pub fn nonce() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A stable 10-digit personal meeting id derived from `seed`.
pub fn pmi(seed: &str) -> i64 {
    let digest = Sha256::digest(seed.as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8]));
    1_000_000_000 + (n % 9_000_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_shaped() {
        assert_eq!(zoom_id("a"), zoom_id("a"));
        assert_eq!(zoom_id("a").len(), 22);
        assert_eq!(uuid_from("x").len(), 36);
        assert_eq!(hex_id("x").len(), 32);
        assert!((1_000_000_000..10_000_000_000).contains(&pmi("p")));
    }

    #[test]
    fn secrets_match_only_their_hash() {
        let secret = new_secret("s_");
        let hash = hash_secret(&secret);
        assert!(secret_matches(&secret, &hash));
        assert!(!secret_matches("other", &hash));
    }
}
