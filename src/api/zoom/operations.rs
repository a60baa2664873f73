//! Each Zoom operation's scopes and rate-limit label, from Zoom's Users API reference
//! (`users-operations-index.json`).

/// Zoom's rate-limit labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Light,
    Medium,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Light => "Light",
            Label::Medium => "Medium",
        }
    }
}

/// What an operation needs from the caller's token.
#[derive(Debug)]
pub struct Operation {
    pub label: Label,
    /// Classic scopes: `*:admin` reach any user of the account, the others only `me`.
    pub scopes: &'static [&'static str],
    /// Granular scopes (same rule for `:admin`).
    pub granular: &'static [&'static str],
}

const READ: &[&str] = &["user:read", "user:write", "user:read:admin", "user:write:admin"];
const READ_PROFILE: &[&str] = &["user:read", "user:write", "user:read:admin", "user:write:admin", "user_profile"];
const WRITE: &[&str] = &["user:write", "user:write:admin"];

macro_rules! op {
    ($name:ident, $label:ident, $scopes:expr, [$($granular:literal),*]) => {
        pub const $name: Operation = Operation { label: Label::$label, scopes: $scopes, granular: &[$($granular),*] };
    };
}

op!(LIST_USERS, Medium, READ, ["user:read:list_users:admin"]);
op!(CREATE_USER, Light, WRITE, ["user:write:user:admin"]);
op!(CHECK_EMAIL, Light, READ, ["user:read:email", "user:read:email:admin"]);
op!(GET_USER, Light, READ_PROFILE, ["user:read:user", "user:read:user:admin"]);
op!(UPDATE_USER, Light, WRITE, ["user:update:user", "user:update:user:admin"]);
op!(DELETE_USER, Light, WRITE, ["user:delete:user", "user:delete:user:admin"]);
op!(USER_SUMMARY, Medium, READ, ["user:read:summary:admin"]);
op!(UPDATE_STATUS, Light, WRITE, ["user:update:status", "user:update:status:admin"]);
op!(REVOKE_SSO_TOKEN, Light, WRITE, ["user:delete:token", "user:delete:token:admin"]);
op!(GET_USER_TOKEN, Light, READ_PROFILE, ["user:read:token", "user:read:token:admin"]);
op!(GET_ZAK, Light, &["user_zak:read"], ["user:read:zak", "user:read:zak:admin"]);
op!(LIST_ASSISTANTS, Medium, READ_PROFILE, ["user:read:list_assistants", "user:read:list_assistants:admin"]);
op!(ADD_ASSISTANTS, Medium, WRITE, ["user:write:assistant", "user:write:assistant:admin"]);
op!(DELETE_ASSISTANTS, Light, WRITE, ["user:delete:assistant", "user:delete:assistant:admin"]);
op!(LIST_SCHEDULERS, Medium, READ_PROFILE, ["user:read:list_schedulers", "user:read:list_schedulers:admin"]);
op!(DELETE_SCHEDULERS, Light, WRITE, ["user:delete:scheduler", "user:delete:scheduler:admin"]);

impl Operation {
    /// Whether `granted` reaches a user: any of the operation's scopes for the caller's
    /// own user, an `:admin` one for anybody else.
    pub fn allows(&self, granted: &[String], target_is_self: bool) -> bool {
        self.scopes
            .iter()
            .chain(self.granular)
            .filter(|scope| target_is_self || scope.ends_with(":admin"))
            .any(|scope| granted.iter().any(|g| g == scope))
    }

    /// The scopes to name in a 4711 error: what the caller would need.
    pub fn missing(&self, target_is_self: bool) -> String {
        let needed: Vec<&str> = self
            .scopes
            .iter()
            .chain(self.granular)
            .filter(|s| target_is_self || s.ends_with(":admin"))
            .copied()
            .collect();
        needed.join(",")
    }
}

/// Requests per second and per day (0 = none) for a plan and label.
pub fn limits(plan: &str, label: Label) -> (u64, u64) {
    match (plan, label) {
        ("free", Label::Light) => (4, 6_000),
        ("free", Label::Medium) => (2, 2_000),
        ("pro", Label::Light) => (30, 0),
        ("pro", Label::Medium) => (20, 0),
        (_, Label::Light) => (80, 0),
        (_, Label::Medium) => (60, 0),
    }
}

/// Daily caps on `POST /users` with `action=create`, by plan.
pub fn create_user_daily_cap(plan: &str) -> u64 {
    match plan {
        "free" => 50,
        "pro" => 1_500,
        _ => 10_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_scopes_reach_anybody_user_scopes_only_me() {
        let admin = vec!["user:write:admin".to_owned()];
        let user = vec!["user:write".to_owned()];
        assert!(REVOKE_SSO_TOKEN.allows(&admin, false));
        assert!(REVOKE_SSO_TOKEN.allows(&user, true));
        assert!(!REVOKE_SSO_TOKEN.allows(&user, false));
        assert!(REVOKE_SSO_TOKEN.allows(&["user:delete:token:admin".to_owned()], false));
        assert!(!GET_USER.allows(&user[..0], true));
        assert_eq!(REVOKE_SSO_TOKEN.missing(false), "user:write:admin,user:delete:token:admin");
    }
}
