//! The one list of provider dialects the core serves. A new provider adds its folder
//! under `src/api/` and one line here.

use crate::domain::provider::ProviderSpec;

pub static ALL: &[&ProviderSpec] = &[&super::zoom::provider::SPEC, &super::cloudflare::provider::SPEC];

/// The provider of this name.
pub fn named(name: &str) -> Option<&'static ProviderSpec> {
    ALL.iter().copied().find(|spec| spec.provider.as_str() == name)
}

/// The names of every provider, for messages: `"zoom" or "cloudflare"`.
pub fn names() -> String {
    let quoted: Vec<String> = ALL.iter().map(|spec| format!("\"{}\"", spec.provider.as_str())).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}
