//! Ids from paths and page tokens: any text. A checked id is canonical (checking it again
//! gives itself); a page token decodes or is refused, never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use userplane::api::cloudflare::{canonical_uuid, checked_path_id};
use userplane::api::zoom::decode_page_token;

fuzz_target!(|id: &str| {
    for name in ["account_id", "zone_id", "user_id", "device_id", "nonce"] {
        if let Some(checked) = checked_path_id(name, id) {
            assert_eq!(checked_path_id(name, &checked).as_deref(), Some(checked.as_str()), "{name}");
            assert!(checked.is_ascii() && !checked.is_empty() && checked.len() <= 128);
        }
    }
    if let Some(uuid) = canonical_uuid(id) {
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid, uuid.to_ascii_lowercase());
    }
    let _ = decode_page_token(id);
});
