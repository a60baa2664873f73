//! Query strings as Zoom and Cloudflare read them: any text; typed reads stay in range.

#![no_main]

use libfuzzer_sys::fuzz_target;
use userplane::api::cloudflare::params::Params;
use userplane::api::zoom::query_params;

fuzz_target!(|query: &str| {
    let _ = query_params(Some(query));
    let Ok(params) = Params::parse(query) else { return };
    for name in ["page", "per_page", "id", "a", ""] {
        if let Ok(Some(n)) = params.int(name, 1, 1000) {
            assert!((1..=1000).contains(&n), "{name}={n} out of range");
        }
        let _ = params.bool(name);
        if let Ok(Some(word)) = params.choice(name, &["asc", "desc"]) {
            assert!(word == "asc" || word == "desc");
        }
        assert!(params.all(name).iter().all(|v| !v.is_empty()));
        assert!(params.text(name).is_none_or(|v| !v.is_empty()));
    }
});
