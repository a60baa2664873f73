//! The OpenAPI documents: public (no token), JSON, and what they say is served.

use serde_json::Value;

use crate::helpers::TestApp;

/// Each document answers without a token; the control plane's names its guarded routes and
/// their admin token, each provider slice marks the operations userplane serves.
#[tokio::test]
async fn the_openapi_documents_are_public_and_describe_what_is_served() {
    let app = TestApp::spawn().await;
    let get = |path: &'static str| {
        let http = app.http.clone();
        let url = app.url(path);
        async move {
            let response = http.get(url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(response.headers()["content-type"], "application/json", "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let control = get("/_userplane/openapi.json").await;
    assert_eq!(control["paths"]["/_userplane/tenants/{tenant}/sessions"]["post"]["tags"][0], "control");
    assert_eq!(control["components"]["securitySchemes"]["admin_token"]["scheme"], "bearer");
    assert_eq!(control["paths"]["/_userplane/health"]["get"]["security"], serde_json::json!([{}]));
    let zoom = get("/_userplane/openapi/zoom.json").await;
    let revoke = &zoom["paths"]["/v2/users/{userId}/token"]["delete"];
    assert_eq!(revoke["x-userplane-implemented"], true, "{revoke}");
    assert_eq!(revoke["x-userplane-operation"], "zoom.users.token.revoke");
    let cloudflare = get("/_userplane/openapi/cloudflare.json").await;
    let revoke_user = &cloudflare["paths"]["/client/v4/accounts/{account_id}/access/organizations/revoke_user"]["post"];
    assert_eq!(revoke_user["x-userplane-operation"], "cloudflare.access.revoke_user", "{revoke_user}");
    // What a slice describes is served: the documented route answers in its dialect, not 404 2300.
    let response = app.http.delete(app.url("/v2/users/someone@example.com/token")).send().await.unwrap();
    assert_eq!(response.status(), 401);
}
