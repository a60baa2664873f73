//! State survives a restart, and an acknowledged write survives `kill -9`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, TestApp, test_database, unique, zoom_world};
use crate::zoom::oauth_token;

#[tokio::test]
async fn a_graceful_restart_keeps_every_change() {
    let mut app = TestApp::spawn().await;
    let dir = app.take_dir();
    let account = unique("zm");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let token = oauth_token(&app, &account, &format!("{account}-admin"), "admin-secret").await;
    let sso = app.login(&account, json!({"user": "lena@example.com", "kind": "sso"})).await;
    let deactivate = app
        .http
        .put(app.url("/v2/users/lena@example.com/status"))
        .bearer_auth(&token)
        .json(&json!({"action": "deactivate"}))
        .send()
        .await
        .unwrap();
    assert_eq!(deactivate.status(), 204);
    app.stop().await;

    let app = TestApp::spawn_on(&app.database_url).await;
    // The token, the status, the dead session and the journal are all still there.
    let got = app.http.get(app.url("/v2/users/lena@example.com")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.json::<Value>().await.unwrap()["status"], "inactive");
    let info = app.introspect(&sso).await;
    assert_eq!(info["active"], false);
    assert_eq!(info["reason"], "user_deactivated");
    assert!(app.journal(&account).await.iter().any(|e| e["action"] == "user.deactivated"));
    drop(dir);
}

/// The real binary, started on a database with a world file.
struct Process {
    child: Child,
    base: String,
}

fn start_binary(database_url: &str, world: &std::path::Path) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_userplane"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", database_url, "--admin-token", ADMIN_TOKEN])
        .arg("--world")
        .arg(world)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("userplane starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first_line = String::new();
    stdout.read_line(&mut first_line).expect("banner");
    // Keep draining the rest of the banner, as a terminal would.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let base = first_line.trim().strip_prefix("userplane listening on ").expect("banner names the address").to_owned();
    Process { child, base }
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let (database_url, _dir) = test_database();
    let account = unique("zm");
    let world_dir = tempfile::tempdir().unwrap();
    let world = world_dir.path().join("world.json");
    std::fs::write(&world, json!({"tenants": [zoom_world(&account, "business", "off")]}).to_string()).unwrap();

    let mut process = start_binary(&database_url, &world);
    let http = reqwest::Client::new();
    let token = {
        let response = http
            .post(format!("{}/oauth/token?grant_type=account_credentials&account_id={account}", process.base))
            .basic_auth(format!("{account}-admin"), Some("admin-secret"))
            .send()
            .await
            .unwrap();
        response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
    };
    // A stream of writes, each acknowledged before the next; then kill -9 at once.
    let mut created = Vec::new();
    for i in 0..40 {
        let email = format!("durable{i}@example.com");
        let response = http
            .post(format!("{}/v2/users", process.base))
            .bearer_auth(&token)
            .json(&json!({"action": "custCreate", "user_info": {"email": email, "type": 1}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        created.push(email);
    }
    let revoke = http
        .delete(format!("{}/v2/users/lena@example.com/token", process.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    process.child.kill().expect("kill -9"); // SIGKILL: no shutdown, no flush
    process.child.wait().unwrap();

    // Restarted on the same database (the world file keeps existing tenants as they are).
    let mut process = start_binary(&database_url, &world);
    for email in &created {
        let got = http.get(format!("{}/v2/users/{email}", process.base)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(got.status(), 200, "{email} was acknowledged, so it must survive");
    }
    let journal: Value = http
        .get(format!("{}/_userplane/tenants/{account}/journal?limit=1000", process.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = journal["entries"].as_array().unwrap();
    assert_eq!(entries.iter().filter(|e| e["action"] == "user.created").count(), 40);
    assert_eq!(entries.iter().filter(|e| e["action"] == "sessions.revoked").count(), 1);
    process.child.kill().ok();
    process.child.wait().ok();
}
