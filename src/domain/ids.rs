//! Secrets, their hashes and session nonces (id formats are each provider's, in
//! `api/<provider>/ids.rs`). Secrets are random, shown once, stored as keyed hashes
//! ([`SecretHasher`]: lookups go by hash) and compared in constant time.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Hashes secrets for storage and lookup: HMAC-SHA256 under the installation's key (kept
/// in the database, shared by every node), so a copy of the database alone does not let
/// anyone test guesses of a secret against its hash. A database from before keyed hashes
/// has no key (see the 0005 migration) and keeps plain SHA-256, as its stored hashes are.
#[derive(Clone)]
pub struct SecretHasher {
    /// The HMAC with the key already absorbed: each hash clones it rather than hashing
    /// the key again (two of a short secret's four SHA-256 blocks).
    key: Option<Arc<Hmac<Sha256>>>,
}

impl SecretHasher {
    /// HMAC-SHA256 under `key`.
    pub fn keyed(key: &[u8]) -> Self {
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        SecretHasher { key: Some(Arc::new(mac)) }
    }

    /// Plain SHA-256, for a database whose hashes predate the installation key.
    pub fn unkeyed() -> Self {
        SecretHasher { key: None }
    }

    /// From the stored form: hex, or empty for an unkeyed (older) database.
    pub fn from_stored(hex_key: &str) -> Result<Self, String> {
        if hex_key.is_empty() {
            return Ok(Self::unkeyed());
        }
        let key = hex::decode(hex_key).map_err(|_| "the installation key is not hex".to_owned())?;
        if key.len() < 32 {
            return Err("the installation key is shorter than 32 bytes".into());
        }
        Ok(Self::keyed(&key))
    }

    /// A new random installation key, in its stored form.
    pub fn new_stored_key() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        hex::encode(key)
    }

    /// Whether hashes are keyed (false only for a database from before keys).
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    /// The hex hash of a secret: what is stored and looked up.
    pub fn hash(&self, secret: &str) -> String {
        match &self.key {
            Some(keyed) => {
                let mut mac = Hmac::<Sha256>::clone(keyed);
                mac.update(secret.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            None => hex::encode(Sha256::digest(secret.as_bytes())),
        }
    }

    /// Whether `secret` hashes to `expected_hash`, compared in constant time.
    pub fn matches(&self, secret: &str, expected_hash: &str) -> bool {
        self.hash(secret).as_bytes().ct_eq(expected_hash.as_bytes()).into()
    }
}

/// Never prints the key.
impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretHasher").field("keyed", &self.is_keyed()).finish()
    }
}

/// A new random secret: `prefix` then 32 random bytes, base64url.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A random nonce for a session.
pub fn nonce() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_their_hash() {
        let hasher = SecretHasher::from_stored(&SecretHasher::new_stored_key()).unwrap();
        let secret = new_secret("s_");
        let hash = hasher.hash(&secret);
        assert!(hasher.matches(&secret, &hash));
        assert!(!hasher.matches("other", &hash));
    }

    #[test]
    fn keyed_hashes_depend_on_the_key_and_are_not_bare_sha256() {
        let (a, b) = (SecretHasher::keyed(&[1; 32]), SecretHasher::keyed(&[2; 32]));
        let bare = hex::encode(Sha256::digest(b"secret"));
        assert_ne!(a.hash("secret"), b.hash("secret"));
        assert_ne!(a.hash("secret"), bare);
        assert_eq!(SecretHasher::unkeyed().hash("secret"), bare);
        assert!(SecretHasher::from_stored("").is_ok_and(|h| !h.is_keyed()));
        assert!(SecretHasher::from_stored("abcd").is_err());
        assert!(!format!("{a:?}").contains("0101"));
    }
}
