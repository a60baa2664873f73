//! The one list of the dialects the server speaks. A new provider adds its folder under
//! `src/api/` (with its `dialect.rs` and `provider.rs`) and one line in [`PROVIDERS`].

use super::dialect::DialectSpec;
use crate::domain::provider::ProviderSpec;

/// The provider dialects, each owning its path prefixes.
pub static PROVIDERS: &[&DialectSpec] = &[&super::zoom::dialect::SPEC, &super::cloudflare::dialect::SPEC];

/// userplane's own control plane: `/_userplane`, and every path no provider owns.
pub static CONTROL: &DialectSpec = &super::control::dialect::SPEC;

/// Every dialect the server speaks: the providers', then the control plane.
pub fn served() -> impl Iterator<Item = &'static DialectSpec> {
    PROVIDERS.iter().copied().chain([CONTROL])
}

/// The dialect a request target belongs to.
pub fn of_path(target: &[u8]) -> &'static DialectSpec {
    PROVIDERS.iter().copied().find(|dialect| dialect.http.owns(target)).unwrap_or(CONTROL)
}

/// What the HTTP layer is handed at start-up: each dialect's paths and wire.
pub fn edge() -> crate::http::Dialects {
    crate::http::Dialects::new(PROVIDERS.iter().map(|dialect| &dialect.http).collect(), &CONTROL.http)
}

/// Every provider the core serves.
pub fn all() -> impl Iterator<Item = &'static ProviderSpec> {
    PROVIDERS.iter().filter_map(|dialect| dialect.provider)
}

/// The provider of this name.
pub fn named(name: &str) -> Option<&'static ProviderSpec> {
    all().find(|spec| spec.provider.as_str() == name)
}

/// The dialect of the provider of this name.
pub fn dialect_of(name: &str) -> Option<&'static DialectSpec> {
    PROVIDERS.iter().copied().find(|dialect| dialect.provider.is_some_and(|spec| spec.provider.as_str() == name))
}

/// The names of every provider, for messages: `"zoom" or "cloudflare"`.
pub fn names() -> String {
    let quoted: Vec<String> = all().map(|spec| format!("\"{}\"", spec.provider.as_str())).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_has_one_dialect_and_the_control_plane_takes_the_rest() {
        for (path, dialect) in [
            ("/v2/users", "zoom"),
            ("/oauth/token", "zoom"),
            ("/client/v4/accounts", "cloudflare"),
            ("/client/v4", "cloudflare"),
            ("/_userplane/tenants", "control"),
            ("/metrics", "control"),
            ("/client/v40", "control"),
        ] {
            assert_eq!(of_path(path.as_bytes()).http.name, dialect, "{path}");
            assert_eq!(edge().of_path(path.as_bytes()).name, dialect, "{path}");
        }
    }

    #[test]
    fn no_two_dialects_share_a_prefix() {
        let prefixes: Vec<&str> = served().flat_map(|dialect| dialect.http.prefixes.iter().copied()).collect();
        for prefix in &prefixes {
            let owners: Vec<&str> = served().filter(|d| d.http.owns(prefix.as_bytes())).map(|d| d.http.name).collect();
            assert_eq!(owners.len(), 1, "{prefix} is owned by {owners:?}");
        }
    }

    /// What a dialect counts as a revocation, or no rule may match, is one of its operations.
    #[test]
    fn declared_operations_are_the_dialects_own() {
        for dialect in PROVIDERS {
            let spec = dialect.provider.expect("a provider's dialect names its provider");
            let own = |name: &&str| spec.operations.iter().any(|(_, _, op)| op == name);
            let faults = dialect.faults.as_ref().map_or(&[][..], |wire| wire.never_consulted);
            for name in dialect.http.revoking.iter().chain(faults) {
                assert!(own(name), "{name} is not an operation of {}", dialect.http.name);
            }
        }
        assert!(CONTROL.http.revoking.is_empty());
    }

    #[test]
    fn each_provider_is_named_once() {
        let names: Vec<&str> = all().map(|spec| spec.provider.as_str()).collect();
        assert_eq!(names, ["zoom", "cloudflare"]);
        assert_eq!(super::names(), "\"zoom\" or \"cloudflare\"");
    }
}
