//! The demo world loaded into an empty database, and the start-up banner that prints its
//! credentials with curl lines that work as pasted.

use std::io::Write;
use std::net::SocketAddr;

use serde_json::json;

use crate::app::Loaded;
use crate::domain::{Clock, Result, ids, ops};
use crate::store::Store;

/// The demo Zoom account id.
pub const ZOOM_ACCOUNT: &str = "uPdemoZoomAcct01";
/// The demo app's client id.
pub const ZOOM_CLIENT_ID: &str = "demoS2SappClient";

/// The demo Cloudflare account id.
pub const CLOUDFLARE_ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
/// The demo Cloudflare zone id.
pub const CLOUDFLARE_ZONE: &str = "9a7806061c88ada191ed06f989cc3dac";

/// The demo world's secrets, in clear, printed once.
pub struct DemoCredentials {
    pub zoom_client_secret: String,
    pub cloudflare_api_token: String,
}

/// Creates the demo tenants with fresh random secrets.
pub async fn load(store: &Store, clock: &Clock) -> Result<DemoCredentials> {
    let zoom_client_secret = ids::new_secret("");
    let zoom = crate::api::tenants::spec(
        json!({
            "provider": "zoom",
            "account_id": ZOOM_ACCOUNT,
            "plan": "pro",
            "apps": [{
                "client_id": ZOOM_CLIENT_ID,
                "client_secret": zoom_client_secret,
                "scopes": ["user:read:admin", "user:write:admin"],
                "owner": "olivia.owner@example.com"
            }],
            "users": [
                {"email": "olivia.owner@example.com", "first_name": "Olivia", "last_name": "Owner", "type": 2, "role": "owner"},
                {"email": "adam.admin@example.com", "first_name": "Adam", "last_name": "Admin", "type": 2, "role": "admin"},
                {"email": "lena.licensed@example.com", "first_name": "Lena", "last_name": "Licensed", "type": 2,
                 "assistants": ["alex.assistant@example.com", "jdoe@example.com"]},
                {"email": "alex.assistant@example.com", "first_name": "Alex", "last_name": "Assistant", "type": 2},
                // In both demo accounts: the person to rehearse an offboarding with.
                {"email": "jdoe@example.com", "first_name": "Jane", "last_name": "Doe", "type": 2,
                 "assistants": ["alex.assistant@example.com"]},
                {"email": "ben.basic@example.com", "first_name": "Ben", "last_name": "Basic", "type": 1},
                {"email": "boardroom@example.com", "first_name": "Boardroom", "last_name": "", "type": 2, "zoom_room": true},
                {"email": "pat.pending@example.com", "first_name": "Pat", "last_name": "Pending", "type": 1, "status": "pending"}
            ]
        }),
        store.secrets(),
    )?;
    ops::create_tenant(store, clock, zoom).await?;
    let cloudflare_api_token = load_cloudflare(store, clock).await?;
    Ok(DemoCredentials { zoom_client_secret, cloudflare_api_token })
}

/// The demo Cloudflare account: an API token for revoke_user and the reads around it,
/// an Access organization, two applications, users with WARP devices.
async fn load_cloudflare(store: &Store, clock: &Clock) -> Result<String> {
    let token = ids::new_secret("");
    let cloudflare = crate::api::tenants::spec(
        json!({
            "provider": "cloudflare",
            "account_id": CLOUDFLARE_ACCOUNT,
            "zones": [CLOUDFLARE_ZONE],
            "api_tokens": [{
                "value": token,
                "permissions": [
                    "Access: Organizations, Identity Providers, and Groups Write",
                    "Access: Audit Logs Read",
                    "Access: Apps and Policies Read",
                    "Zero Trust Write"
                ]
            }],
            "organization": {"name": "Example Corp", "auth_domain": "example.cloudflareaccess.com"},
            "apps": [
                {"name": "Wiki", "domain": "wiki.example.com"},
                {"name": "Grafana", "domain": "grafana.example.com"}
            ],
            "users": [
                {"email": "jdoe@example.com", "name": "Jane Doe"},
                {"email": "sam.smith@example.com", "name": "Sam Smith"},
                {"email": "kim.lee@example.com", "name": "Kim Lee"}
            ],
            "devices": [
                {"user": "jdoe@example.com", "name": "jane-laptop", "os": "mac"},
                {"user": "jdoe@example.com", "name": "jane-phone", "os": "ios"},
                {"user": "sam.smith@example.com", "name": "sam-desktop", "os": "windows"}
            ]
        }),
        store.secrets(),
    )?;
    ops::create_tenant(store, clock, cloudflare).await?;
    Ok(token)
}

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

/// Prints where the server listens, the admin token and what start-up loaded.
/// Written with `writeln!` and errors ignored: a closed stdout must not take the server down.
pub fn print_banner(addr: SocketAddr, admin_token: &str, generated: bool, loaded: &Loaded) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "userplane listening on http://{addr}");
    // The commands below connect; a wildcard address (0.0.0.0, ::) is reached on loopback.
    let mut connect = addr;
    if addr.ip().is_unspecified() {
        connect.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let base = format!("http://{connect}");
    if generated {
        let _ = writeln!(out, "admin token (generated; set USERPLANE_ADMIN_TOKEN to choose one): {admin_token}");
    }
    match loaded {
        Loaded::Demo(creds) => {
            let _ = writeln!(out);
            let _ = writeln!(out, "Demo Zoom account {ZOOM_ACCOUNT} (plan pro), Server-to-Server OAuth app:");
            let _ = writeln!(out, "  client_id:     {ZOOM_CLIENT_ID}");
            let _ = writeln!(
                out,
                "  client_secret: {} (shown once: only its hash is kept; a restart cannot show it again)",
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
            let _ = writeln!(
                out,
                "Revoke every Access session and device of a demo user (SDKs: base_url {base}/client/v4):"
            );
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
            let _ = writeln!(out, "  {}", rehearsal_exports(&base, creds));
        }
        Loaded::World(tenants) => {
            for (account, created) in tenants {
                let _ = writeln!(
                    out,
                    "  tenant {account}: {}",
                    if *created { "created from the world file" } else { "kept (already present)" }
                );
            }
        }
        Loaded::Existing(n) => {
            let _ = writeln!(
                out,
                "{n} tenant(s) already in the database. Their secrets are kept only as hashes and cannot be shown again."
            );
            let _ = writeln!(out, "For working credentials, either:");
            let _ = writeln!(
                out,
                "  - restart with --world FILE whose tenants set their own secrets (client_secret, api_tokens' value),"
            );
            let _ = writeln!(out, "    on a new database: those secrets stay the same across restarts; or");
            let _ = writeln!(
                out,
                "  - stop the server, delete the database file (--database-url, default ./userplane.db and its -wal/-shm),"
            );
            let _ = writeln!(out, "    and start again: a new demo world with new secrets is printed.");
        }
        Loaded::Nothing => {}
    }
}
