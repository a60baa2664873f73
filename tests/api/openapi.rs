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
    // The harness's and the console's routes are described too, each operation named once.
    let paths = control["paths"].as_object().unwrap();
    for (path, method) in [
        ("/_userplane/tenants/{tenant}/faults", "post"),
        ("/_userplane/tenants/{tenant}/faults/{id}", "delete"),
        ("/_userplane/tenants/{tenant}/requests", "get"),
        ("/_userplane/tenants/{tenant}/requests/count", "get"),
        ("/_userplane/tenants/{tenant}/snapshots", "post"),
        ("/_userplane/tenants/{tenant}/snapshots/{name}/restore", "post"),
        ("/_userplane/tenants/{tenant}/fork", "post"),
        ("/_userplane/tenants/{tenant}/users", "get"),
        ("/_userplane/tenants/{tenant}/users/{user}/{action}", "post"),
        ("/_userplane/console", "get"),
        ("/_userplane/console/{name}", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let limit = paths["/_userplane/tenants/{tenant}/requests"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .cloned()
        .unwrap();
    assert_eq!((limit["schema"]["minimum"].as_i64(), limit["schema"]["maximum"].as_i64()), (Some(1), Some(1000)));
    assert_eq!(paths["/_userplane/console"]["get"]["security"], serde_json::json!([{}]));
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
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
