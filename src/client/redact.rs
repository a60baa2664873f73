//! The scrubber that removes known secret values from anything we are about to print.
//! (Secrets themselves are held in `secrecy::SecretString`, which never prints its value.)

use std::sync::RwLock;

/// The replacement text for a scrubbed secret.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not scrubbed: replacing every "a" in a report would
/// destroy it, and such a value is not a real credential anyway.
const MIN_SCRUBBED_LEN: usize = 4;

/// Removes known secret values from text before it is printed.
///
/// Our own code never formats a secret; this is the second line of defence against a
/// provider (or a proxy) that echoes a credential back in an error message.
#[derive(Debug, Default)]
pub struct Redactor {
    secrets: RwLock<Vec<String>>,
}

impl Redactor {
    /// A scrubber that knows no secrets yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a value to scrub, in its raw and JSON-escaped forms.
    pub fn add(&self, secret: &str) {
        if secret.len() < MIN_SCRUBBED_LEN {
            return;
        }
        let escaped =
            serde_json::to_string(secret).map(|quoted| quoted[1..quoted.len() - 1].to_owned()).unwrap_or_default();
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        for form in [secret.to_owned(), escaped] {
            if form.len() >= MIN_SCRUBBED_LEN && !secrets.contains(&form) {
                secrets.push(form);
            }
        }
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Returns `text` with every registered secret replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut text = text.to_owned();
        for secret in secrets.iter() {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_raw_and_json_escaped_forms() {
        let redactor = Redactor::new();
        redactor.add("tok\"en-123");
        assert_eq!(redactor.scrub("a tok\"en-123 b"), "a [redacted] b");
        assert_eq!(redactor.scrub(r#"{"m":"tok\"en-123"}"#), r#"{"m":"[redacted]"}"#);
    }

    #[test]
    fn longer_secret_wins_over_its_prefix() {
        let redactor = Redactor::new();
        redactor.add("abcd");
        redactor.add("abcdefgh");
        assert_eq!(redactor.scrub("x abcdefgh y abcd"), "x [redacted] y [redacted]");
    }

    #[test]
    fn ignores_tiny_values() {
        let redactor = Redactor::new();
        redactor.add("ab");
        assert_eq!(redactor.scrub("abab"), "abab");
    }
}
