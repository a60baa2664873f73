//! The server's log as a collector reads it: `--log-format json` writes one JSON object a
//! line, each request's lines carry the id sent back to the client, no secret appears, and
//! text lines to a pipe carry no colour codes.

use serde_json::{Value, json};

use crate::metrics::{ADMIN, Process};

/// Every stderr line is JSON; the request id from `x-zm-trackingid` is on the request's
/// line; neither the admin token, an app secret, an access token nor a session is logged
/// (even at debug).
#[tokio::test]
async fn json_log_lines_carry_the_request_id_and_no_secret() {
    let account = "logsJsonAcct01";
    let env = [("USERPLANE_LOG_FORMAT", "json"), ("USERPLANE_LOG", "debug")];
    let server = Process::start(account, &[], &env).await;
    let http = reqwest::Client::new();
    let access_token = server.app_token(account).await;
    let sso = server.sso_session(account, "lena@example.com").await;
    let response = http
        .put(server.url("/v2/users/ben@example.com/status"))
        .bearer_auth(&access_token)
        .json(&json!({"action": "deactivate"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let tracking = response.headers()["x-zm-trackingid"].to_str().unwrap().to_owned();
    let request_id = tracking.rsplit("rid=").next().unwrap().to_owned();
    let stderr = server.stop().await;

    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(lines.iter().all(|line| line["timestamp"].is_string() && line["level"].is_string()), "{stderr}");
    let request_line = lines
        .iter()
        .find(|line| {
            line["fields"]["message"] == "request" && line["fields"]["path"] == "/v2/users/ben@example.com/status"
        })
        .unwrap_or_else(|| panic!("no request line in:\n{stderr}"));
    assert_eq!(request_line["span"]["id"], request_id.as_str(), "{request_line}");
    assert_eq!(request_line["fields"]["status"], 204, "{request_line}");
    for secret in [ADMIN, "admin-secret", access_token.as_str(), sso.as_str()] {
        assert!(!stderr.contains(secret), "a secret was logged:\n{stderr}");
    }
}

/// Text lines written to a pipe (not a terminal) have no ANSI escape codes.
#[tokio::test]
async fn text_log_lines_to_a_pipe_have_no_colour() {
    let server = Process::start("logsTextAcct01", &[], &[("USERPLANE_LOG", "debug")]).await;
    let response = reqwest::get(server.url("/_userplane/health")).await.unwrap();
    assert_eq!(response.status(), 200);
    let stderr = server.stop().await;
    for line in ["userplane is serving", "request_id=", "shutting down"] {
        assert!(stderr.contains(line), "no {line:?} in:\n{stderr}");
    }
    assert!(!stderr.contains('\x1b'), "colour codes in:\n{stderr}");
}
