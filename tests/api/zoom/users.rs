//! Users: list (pagination, filters, pending users), create, get, update, delete,
//! check email, summary; malformed input.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Zoom, assert_zoom_error};

#[tokio::test]
async fn list_users_pages_with_next_page_token_and_filters_by_status() {
    let zoom = Zoom::start().await;
    let (status, first) = zoom.call(Method::GET, "/users?page_size=3", None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["page_size"], 3);
    assert_eq!(first["total_records"], 7); // every active user; pat is pending
    assert_eq!(first["page_count"], 3);
    assert_eq!(first["users"].as_array().unwrap().len(), 3);
    let mut emails: Vec<String> = Vec::new();
    let mut page = first;
    loop {
        emails.extend(page["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()));
        let token = page["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
        page = zoom.call(Method::GET, &format!("/users?page_size=3&next_page_token={token}"), None).await.1;
    }
    // Every active user once, in the email order the pages walk (pat is pending).
    let expected = ["admin", "alex", "ben", "eve", "lena", "owner", "room"].map(|u| format!("{u}@example.com"));
    assert_eq!(emails, expected, "each active user exactly once, in order");

    let pending = zoom.call(Method::GET, "/users?status=pending", None).await.1;
    let users = pending["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["email"], "pat@example.com");
    assert!(users[0].get("id").is_none(), "pending users are listed without id: {}", users[0]);

    let admins = zoom.call(Method::GET, "/users?role_id=1", None).await.1;
    assert_eq!(admins["users"].as_array().unwrap().len(), 1);
    assert_eq!(admins["users"][0]["email"], "admin@example.com");

    let big = zoom.call(Method::GET, "/users?page_size=5000", None).await.1;
    assert_eq!(big["page_size"], 2000);
}

#[tokio::test]
async fn list_users_rejects_bad_parameters_and_stale_tokens() {
    let zoom = Zoom::start().await;
    assert_zoom_error(
        &zoom.call(Method::GET, "/users?status=deleted", None).await,
        400,
        300,
        Some("Validation Failed."),
    );
    assert_zoom_error(&zoom.call(Method::GET, "/users?page_size=abc", None).await, 400, 300, None);
    assert_zoom_error(
        &zoom.call(Method::GET, "/users?next_page_token=garbage", None).await,
        400,
        300,
        Some("The next page token is invalid or expired."),
    );
    let token =
        zoom.call(Method::GET, "/users?page_size=1", None).await.1["next_page_token"].as_str().unwrap().to_owned();
    zoom.app.advance_clock(&zoom.account, 16 * 60).await;
    let fresh = super::oauth_token(&zoom.app, &zoom.account, &format!("{}-admin", zoom.account), "admin-secret").await;
    let stale = zoom.call_as(&fresh, Method::GET, &format!("/users?next_page_token={token}"), None).await;
    assert_zoom_error(&stale, 400, 300, Some("The next page token is invalid or expired."));
}

#[tokio::test]
async fn create_user_then_get_it_by_id_and_email() {
    let zoom = Zoom::start().await;
    let body = json!({"action": "custCreate", "user_info": {"email": "New.Person@Example.com", "type": 2, "first_name": "New", "last_name": "Person"}});
    let (status, created) = zoom.call(Method::POST, "/users", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["email"], "new.person@example.com");
    assert_eq!(created["type"], 2);
    let id = created["id"].as_str().unwrap();
    let (status, got) = zoom.call(Method::GET, &format!("/users/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(got["status"], "active");
    assert_eq!(got["role_name"], "Member");
    assert_eq!(got["account_id"], zoom.account);
    let by_email = zoom.call(Method::GET, "/users/NEW.PERSON@example.com", None).await.1;
    assert_eq!(by_email["id"], id);
}

#[tokio::test]
async fn create_with_action_create_leaves_the_user_pending() {
    let zoom = Zoom::start().await;
    let body = json!({"action": "create", "user_info": {"email": "invited@example.com", "type": 1}});
    assert_eq!(zoom.call(Method::POST, "/users", Some(body)).await.0, 201);
    let got = zoom.call(Method::GET, "/users/invited@example.com", None).await.1;
    assert_eq!(got["status"], "pending");
}

#[tokio::test]
async fn create_user_errors() {
    let zoom = Zoom::start().await;
    let duplicate = json!({"action": "custCreate", "user_info": {"email": "ben@example.com", "type": 1}});
    assert_zoom_error(
        &zoom.call(Method::POST, "/users", Some(duplicate)).await,
        409,
        1005,
        Some("Email \"ben@example.com\" has already been used."),
    );
    let invalid = zoom.call(Method::POST, "/users", Some(json!({"action": "nope", "user_info": {"type": 7}}))).await;
    assert_zoom_error(&invalid, 400, 300, Some("Validation Failed."));
    let fields: Vec<&str> =
        invalid.1["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["action", "user_info.email", "user_info.type"]);
    assert_eq!(invalid.1["errors"][0]["message"], "Invalid field.");
    let short_password =
        json!({"action": "autoCreate", "user_info": {"email": "a@example.com", "type": 1, "password": "short"}});
    assert_zoom_error(
        &zoom.call(Method::POST, "/users", Some(short_password)).await,
        400,
        300,
        Some("Invalid parameter: password"),
    );
}

#[tokio::test]
async fn malformed_bodies_get_zoom_errors_never_500() {
    let zoom = Zoom::start().await;
    let send = |content_type: &'static str, body: String| {
        zoom.app
            .http
            .post(zoom.app.url("/v2/users"))
            .bearer_auth(&zoom.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let bad_json = send("application/json", "{\"action\": ".into()).await.unwrap();
    assert_eq!(bad_json.status(), 400);
    assert_eq!(
        bad_json.json::<Value>().await.unwrap(),
        json!({"code": 300, "message": "Request Body should be a valid JSON object."})
    );
    let not_object = send("application/json", "[1, 2]".into()).await.unwrap();
    assert_eq!(not_object.status(), 400);
    let wrong_type = send("text/plain", "hello".into()).await.unwrap();
    assert_eq!(wrong_type.status(), 415);
    assert_eq!(wrong_type.json::<Value>().await.unwrap()["code"], 300);
    let huge = send("application/json", format!("{{\"x\": \"{}\"}}", "y".repeat(100_000))).await.unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(huge.json::<Value>().await.unwrap()["code"], 300);
}

#[tokio::test]
async fn unknown_endpoints_and_methods_get_2300() {
    let zoom = Zoom::start().await;
    assert_zoom_error(
        &zoom.call(Method::GET, "/meetings", None).await,
        404,
        2300,
        Some("This API endpoint is not recognized."),
    );
    assert_zoom_error(&zoom.call(Method::PUT, "/users", None).await, 405, 2300, None);
    let under_v2 = zoom.app.http.get(zoom.app.url("/v2/nowhere")).send().await.unwrap();
    assert_eq!(under_v2.status(), 404);
    assert_eq!(under_v2.json::<Value>().await.unwrap()["code"], 2300);
    // Outside every dialect the path is userplane's: the control plane's shape.
    let root = zoom.app.http.get(zoom.app.url("/nowhere")).send().await.unwrap();
    assert_eq!(root.status(), 404);
    assert_eq!(root.json::<Value>().await.unwrap()["error"]["code"], "not_found");
}

#[tokio::test]
async fn get_user_errors_name_the_user_id() {
    let zoom = Zoom::start().await;
    assert_zoom_error(
        &zoom.call(Method::GET, "/users/ghost@example.com", None).await,
        404,
        1001,
        Some("User does not exist: ghost@example.com."),
    );
    assert_zoom_error(&zoom.call(Method::GET, "/users/zzzzzzzzzzzzzzzzzzzzzz", None).await, 404, 1001, None);
}

#[tokio::test]
async fn update_user_changes_the_profile_and_validates() {
    let zoom = Zoom::start().await;
    let patch =
        json!({"first_name": "Benjamin", "dept": "Sales", "timezone": "Europe/Paris", "type": 2, "job_title": "AE"});
    let (status, body) = zoom.call(Method::PATCH, "/users/ben@example.com", Some(patch)).await;
    assert_eq!(status, 204, "{body}");
    let got = zoom.call(Method::GET, "/users/ben@example.com", None).await.1;
    assert_eq!(got["first_name"], "Benjamin");
    assert_eq!(got["display_name"], "Benjamin Basic");
    assert_eq!(got["dept"], "Sales");
    assert_eq!(got["timezone"], "Europe/Paris");
    assert_eq!(got["job_title"], "AE");
    assert_eq!(got["type"], 2);

    let invalid = zoom
        .call(Method::PATCH, "/users/ben@example.com", Some(json!({"type": 9, "first_name": "x".repeat(65)})))
        .await;
    assert_zoom_error(&invalid, 400, 300, Some("Validation Failed."));
    assert_eq!(invalid.1["errors"].as_array().unwrap().len(), 2);
    // Nothing of a refused update is applied.
    assert_eq!(zoom.call(Method::GET, "/users/ben@example.com", None).await.1["type"], 2);

    let room = zoom.call(Method::PATCH, "/users/room@example.com", Some(json!({"type": 1}))).await;
    assert_zoom_error(&room, 400, 200, None);
    let events = zoom.call(Method::PATCH, "/users/eve@example.com", Some(json!({"type": 1}))).await;
    assert_zoom_error(&events, 400, 300, None);
    assert_zoom_error(&zoom.call(Method::PATCH, "/users/ghost@example.com", Some(json!({}))).await, 404, 1001, None);
}

#[tokio::test]
async fn delete_user_disassociates_by_default_and_ends_sessions() {
    let zoom = Zoom::start().await;
    let sso = zoom.sso_login("ben@example.com").await;
    let (status, body) = zoom.call(Method::DELETE, "/users/ben@example.com", None).await;
    assert_eq!(status, 204, "{body}");
    assert_zoom_error(&zoom.call(Method::GET, "/users/ben@example.com", None).await, 404, 1001, None);
    let info = zoom.app.introspect(&sso).await;
    assert_eq!(info["active"], false);
    assert_eq!(info["reason"], "user_deleted");
    // The email can be used again.
    let again = json!({"action": "custCreate", "user_info": {"email": "ben@example.com", "type": 1}});
    assert_eq!(zoom.call(Method::POST, "/users", Some(again)).await.0, 201);
    // The old session stays dead for the new user of the same email.
    assert_eq!(zoom.app.introspect(&sso).await["active"], false);
    let journal = zoom.app.journal(&zoom.account).await;
    assert!(journal.iter().any(|e| e["action"] == "user.deleted" && e["detail"]["action"] == "disassociate"));
}

#[tokio::test]
async fn delete_user_refusals() {
    let zoom = Zoom::start().await;
    assert_zoom_error(&zoom.call(Method::DELETE, "/users/owner@example.com", None).await, 400, 200, None);
    assert_zoom_error(&zoom.call(Method::DELETE, "/users/room@example.com?action=delete", None).await, 400, 200, None);
    assert_zoom_error(
        &zoom.call(Method::DELETE, "/users/admin@example.com", None).await,
        400,
        1117,
        Some("You can not disassociate an Admin user."),
    );
    assert_zoom_error(&zoom.call(Method::DELETE, "/users/ben@example.com?action=explode", None).await, 400, 300, None);
    assert_zoom_error(&zoom.call(Method::DELETE, "/users/eve@example.com?action=delete", None).await, 400, 300, None);
    // Every refusal left every user in place and journaled nothing.
    for email in ["owner", "room", "admin", "ben", "eve"].map(|u| format!("{u}@example.com")) {
        let (status, body) = zoom.call(Method::GET, &format!("/users/{email}"), None).await;
        assert_eq!((status.as_u16(), body["email"].as_str()), (200, Some(email.as_str())), "{body}");
    }
    let deleted = |journal: &[serde_json::Value]| journal.iter().filter(|e| e["action"] == "user.deleted").count();
    assert_eq!(deleted(&zoom.app.journal(&zoom.account).await), 0);

    // What is allowed happens: eve (with a transfer) and the admin are deleted.
    let eve = zoom.id_of("eve@example.com").await;
    assert_eq!(
        zoom.call(Method::DELETE, "/users/eve@example.com?action=delete&transfer_email=lena@example.com", None).await.0,
        204
    );
    assert_eq!(zoom.call(Method::DELETE, "/users/admin@example.com?action=delete", None).await.0, 204);
    assert_zoom_error(&zoom.call(Method::GET, "/users/eve@example.com", None).await, 404, 1001, None);
    assert_zoom_error(&zoom.call(Method::GET, "/users/admin@example.com", None).await, 404, 1001, None);
    let journal = zoom.app.journal(&zoom.account).await;
    assert_eq!(deleted(&journal), 2);
    assert!(
        journal
            .iter()
            .any(|e| e["action"] == "user.deleted" && e["target"] == eve.as_str() && e["detail"]["action"] == "delete")
    );
    assert_eq!(zoom.call(Method::GET, "/users/lena@example.com", None).await.0, 200);
}

#[tokio::test]
async fn check_email_and_summary() {
    let zoom = Zoom::start().await;
    let taken = zoom.call(Method::GET, "/users/email?email=lena@example.com", None).await;
    assert_eq!(taken.1, json!({"existed_email": true}));
    let free = zoom.call(Method::GET, "/users/email?email=free@example.com", None).await;
    assert_eq!(free.1, json!({"existed_email": false}));
    assert_zoom_error(&zoom.call(Method::GET, "/users/email", None).await, 400, 300, Some("Email is required."));

    let summary = zoom.call(Method::GET, "/users/summary", None).await.1;
    assert_eq!(
        summary,
        json!({
            "licensed_users_count": 5, "basic_users_count": 1, "on_prem_users_count": 0, "room_users_count": 1,
            "pending_users_count": 1, "join_only_users_count": 0, "total_users_count": 8
        })
    );
}

#[tokio::test]
async fn get_user_wire_shape() {
    let zoom = Zoom::start().await;
    let got = zoom.call(Method::GET, "/users/lena@example.com", None).await.1;
    let mut keys: Vec<&str> = got.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "account_id",
            "account_number",
            "cluster",
            "created_at",
            "dept",
            "display_name",
            "email",
            "first_name",
            "group_ids",
            "id",
            "im_group_ids",
            "jid",
            "language",
            "last_name",
            "login_types",
            "personal_meeting_url",
            "phone_number",
            "pic_url",
            "pmi",
            "role_id",
            "role_name",
            "status",
            "timezone",
            "type",
            "use_pmi",
            "user_created_at",
            "verified"
        ]
    );
    assert_eq!(got["id"].as_str().unwrap().len(), 22);
    assert_eq!(got["type"], 2);
    assert_eq!(got["role_id"], "2");
    assert_eq!(got["verified"], 1);
}
