//! Cloudflare's id formats, derived from the account and natural keys so that a reset
//! gives the same ids back.

use sha2::{Digest, Sha256};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_shaped() {
        assert_eq!(uuid_from("x"), uuid_from("x"));
        assert_eq!(uuid_from("x").len(), 36);
        assert_eq!(hex_id("x").len(), 32);
        assert_eq!(aud_from("x").len(), 64);
    }
}
