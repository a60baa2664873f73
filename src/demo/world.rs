//! The demo world: two accounts (Zoom and Cloudflare) with fresh random secrets, and Jane
//! Doe in both, the person to rehearse an offboarding with.

use serde_json::json;

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
