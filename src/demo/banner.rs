//! The demo world's part of the start-up banner: its credentials, shown once, with curl
//! lines and the rehearsal `export` line that work as pasted.

use std::io::Write;

use super::world::{CLOUDFLARE_ACCOUNT, CLOUDFLARE_ZONE, DemoCredentials, ZOOM_ACCOUNT, ZOOM_CLIENT_ID};

/// The `export` line that points `userplane offboard` / `reinstate` at this server's
/// demo accounts. Values are single-quoted: an IPv6 address has brackets, which a shell
/// would otherwise treat as a glob.
fn rehearsal_exports(base: &str, creds: &DemoCredentials) -> String {
    let vars = [
        ("ZOOM_API_URL", format!("{base}/v2")),
        ("ZOOM_OAUTH_URL", format!("{base}/oauth/token")),
        ("ZOOM_ACCOUNT_ID", ZOOM_ACCOUNT.to_owned()),
        ("ZOOM_CLIENT_ID", ZOOM_CLIENT_ID.to_owned()),
        ("ZOOM_CLIENT_SECRET", creds.zoom_client_secret.clone()),
        ("CLOUDFLARE_BASE_URL", format!("{base}/client/v4")),
        ("CLOUDFLARE_ACCOUNT_ID", CLOUDFLARE_ACCOUNT.to_owned()),
        ("CLOUDFLARE_API_TOKEN", creds.cloudflare_api_token.clone()),
    ];
    let assignments: Vec<String> = vars.iter().map(|(name, value)| format!("{name}='{value}'")).collect();
    format!("export {}", assignments.join(" "))
}

/// Writes the demo accounts, their secrets and the commands that use them; `base` is the
/// server's address as a client connects to it. Errors are ignored, as for the whole banner.
pub fn write(out: &mut impl Write, base: &str, creds: &DemoCredentials) {
    let _ = writeln!(out);
    let _ = writeln!(out, "Demo Zoom account {ZOOM_ACCOUNT} (plan pro), Server-to-Server OAuth app:");
    let _ = writeln!(out, "  client_id:     {ZOOM_CLIENT_ID}");
    let _ = writeln!(
        out,
        "  client_secret: {} (shown once; a reset with {{\"rotate_secrets\": true}} gives a new one)",
        creds.zoom_client_secret
    );
    let _ = writeln!(
        out,
        "  users: olivia.owner@ (owner), adam.admin@ (admin), lena.licensed@ (assistants: alex.assistant@, jdoe@),"
    );
    let _ = writeln!(
        out,
        "         jdoe@ (assistant: alex.assistant@), alex.assistant@, ben.basic@, boardroom@ (Zoom Room),"
    );
    let _ = writeln!(out, "         pat.pending@ (pending) -- all @example.com");
    let _ = writeln!(out);
    let _ = writeln!(out, "Get a token, then deactivate a demo user:");
    let _ = writeln!(
        out,
        "  TOKEN=$(curl -s -X POST '{base}/oauth/token?grant_type=account_credentials&account_id={ZOOM_ACCOUNT}' -u '{ZOOM_CLIENT_ID}:{}' | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')",
        creds.zoom_client_secret
    );
    let _ = writeln!(
        out,
        "  curl -si -X PUT {base}/v2/users/ben.basic@example.com/status -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{{\"action\":\"deactivate\"}}'"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Demo Cloudflare account {CLOUDFLARE_ACCOUNT} (zone {CLOUDFLARE_ZONE}), API token:");
    let _ = writeln!(out, "  {} (shown once)", creds.cloudflare_api_token);
    let _ = writeln!(
        out,
        "  users: jdoe@ (devices jane-laptop, jane-phone), sam.smith@ (sam-desktop), kim.lee@ -- all @example.com"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Revoke every Access session and device of a demo user (SDKs: base_url {base}/client/v4):");
    let _ = writeln!(
        out,
        "  curl -si -X POST '{base}/client/v4/accounts/{CLOUDFLARE_ACCOUNT}/access/organizations/revoke_user?devices=true' -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{{\"email\":\"jdoe@example.com\"}}'",
        creds.cloudflare_api_token
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Rehearse an offboarding: paste this line in another shell, then run `userplane offboard jdoe@example.com`"
    );
    let _ = writeln!(out, "(Jane Doe is in both accounts; add --dry-run to see the plan first):");
    let _ = writeln!(out, "  {}", rehearsal_exports(base, creds));
}
