//! Assistants and schedulers: one relation seen from both ends.

use reqwest::Method;
use serde_json::json;

use super::{Zoom, assert_zoom_error};

#[tokio::test]
async fn deleting_assistants_removes_them_all_and_the_user_leaves_their_schedulers() {
    let zoom = Zoom::start().await;
    let alex = zoom.id_of("alex@example.com").await;
    let lena = zoom.id_of("lena@example.com").await;
    let listed = zoom.call(Method::GET, "/users/lena@example.com/assistants", None).await.1;
    assert_eq!(
        listed,
        json!({"assistants": [{"id": alex, "email": "alex@example.com", "can_manage_host_private_event": false}]})
    );
    let schedulers = zoom.call(Method::GET, "/users/alex@example.com/schedulers", None).await.1;
    assert_eq!(schedulers["schedulers"][0]["id"], lena);
    assert!(schedulers["schedulers"][0]["pmi"].as_i64().unwrap() > 1_000_000_000);

    let (status, body) = zoom.call(Method::DELETE, "/users/lena@example.com/assistants", None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(zoom.call(Method::GET, "/users/lena@example.com/assistants", None).await.1, json!({"assistants": []}));
    assert_eq!(zoom.call(Method::GET, "/users/alex@example.com/schedulers", None).await.1, json!({"schedulers": []}));
    // Idempotent.
    assert_eq!(zoom.call(Method::DELETE, "/users/lena@example.com/assistants", None).await.0, 204);
    assert_zoom_error(&zoom.call(Method::DELETE, "/users/ghost@example.com/assistants", None).await, 404, 1001, None);
}

#[tokio::test]
async fn adding_assistants_by_id_or_email() {
    let zoom = Zoom::start().await;
    let owner = zoom.id_of("owner@example.com").await;
    let body =
        json!({"assistants": [{"email": "admin@example.com"}, {"id": owner, "can_manage_host_private_event": true}]});
    let (status, added) = zoom.call(Method::POST, "/users/lena@example.com/assistants", Some(body)).await;
    assert_eq!(status, 201, "{added}");
    let admin = zoom.id_of("admin@example.com").await;
    assert_eq!(added["ids"], format!("{admin},{owner}"));
    assert!(added["add_at"].as_str().unwrap().ends_with('Z'));
    let listed = zoom.call(Method::GET, "/users/lena@example.com/assistants", None).await.1;
    assert_eq!(listed["assistants"].as_array().unwrap().len(), 3);
    assert!(
        listed["assistants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == owner && a["can_manage_host_private_event"] == true)
    );
}

#[tokio::test]
async fn adding_assistants_refusals_change_nothing() {
    let zoom = Zoom::start().await;
    let add = |user: &'static str, body: serde_json::Value| {
        let zoom = &zoom;
        async move { zoom.call(Method::POST, &format!("/users/{user}/assistants"), Some(body)).await }
    };
    assert_zoom_error(
        &add("lena@example.com", json!({"assistants": [{"email": "lena@example.com"}]})).await,
        400,
        200,
        Some("Can't assign scheduling privilege to yourself."),
    );
    assert_zoom_error(
        &add("lena@example.com", json!({"assistants": [{"email": "ghost@example.com"}]})).await,
        400,
        200,
        Some("Can't find user ghost@example.com."),
    );
    assert_zoom_error(
        &add("lena@example.com", json!({"assistants": [{"email": "alex@example.com"}]})).await,
        400,
        200,
        Some("User alex@example.com has already granted scheduling privilege."),
    );
    assert_zoom_error(
        &add("lena@example.com", json!({"assistants": [{"email": "admin@example.com"}, {"email": "ben@example.com"}]}))
            .await,
        400,
        200,
        Some("The user must either be a Licensed user or an On-prem user : ben@example.com."),
    );
    assert_zoom_error(
        &add("ben@example.com", json!({"assistants": [{"email": "alex@example.com"}]})).await,
        400,
        200,
        Some("The user must either be a Licensed user or an On-prem user : ben@example.com."),
    );
    assert_zoom_error(&add("lena@example.com", json!({"assistants": []})).await, 400, 300, Some("Validation Failed."));
    // All or nothing: admin (valid) was not added with ben (invalid).
    let listed = zoom.call(Method::GET, "/users/lena@example.com/assistants", None).await.1;
    assert_eq!(listed["assistants"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn free_accounts_cannot_add_assistants() {
    let zoom = Zoom::start_with("free", "off").await;
    let response = zoom
        .call(
            Method::POST,
            "/users/lena@example.com/assistants",
            Some(json!({"assistants": [{"email": "admin@example.com"}]})),
        )
        .await;
    assert_zoom_error(&response, 400, 200, Some("Current account must be paid account: lena@example.com"));
}

#[tokio::test]
async fn deleting_one_assistant_or_scheduler() {
    let zoom = Zoom::start().await;
    let alex = zoom.id_of("alex@example.com").await;
    let lena = zoom.id_of("lena@example.com").await;
    assert_eq!(zoom.call(Method::DELETE, &format!("/users/lena@example.com/assistants/{alex}"), None).await.0, 204);
    assert_eq!(zoom.call(Method::GET, "/users/lena@example.com/assistants", None).await.1["assistants"], json!([]));
    assert_zoom_error(
        &zoom.call(Method::DELETE, "/users/lena@example.com/assistants/ghost", None).await,
        404,
        1001,
        None,
    );

    zoom.call(Method::POST, "/users/lena@example.com/assistants", Some(json!({"assistants": [{"id": alex}]}))).await;
    assert_eq!(zoom.call(Method::DELETE, &format!("/users/alex@example.com/schedulers/{lena}"), None).await.0, 204);
    assert_eq!(zoom.call(Method::GET, "/users/lena@example.com/assistants", None).await.1["assistants"], json!([]));

    zoom.call(Method::POST, "/users/lena@example.com/assistants", Some(json!({"assistants": [{"id": alex}]}))).await;
    assert_eq!(zoom.call(Method::DELETE, "/users/alex@example.com/schedulers", None).await.0, 204);
    assert_eq!(zoom.call(Method::GET, "/users/alex@example.com/schedulers", None).await.1["schedulers"], json!([]));
    assert_zoom_error(&zoom.call(Method::GET, "/users/ghost@example.com/schedulers", None).await, 404, 1001, None);
}
