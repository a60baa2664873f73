//! Zoom's id formats: user ids (22 base64url characters) and personal meeting ids.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A Zoom-style user id derived from `seed` (a reset gives the same id back).
pub fn derived_id(seed: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(seed.as_bytes())[..16])
}

/// A random Zoom-style user id.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
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
        assert_eq!(derived_id("a"), derived_id("a"));
        assert_eq!(derived_id("a").len(), 22);
        assert_eq!(random_id().len(), 22);
        assert!((1_000_000_000..10_000_000_000).contains(&pmi("p")));
    }
}
