//! Retention: expired tokens and old journal records are pruned in bounded batches by
//! the tenant's clock; a revoked token that has not expired yet keeps introspecting as
//! revoked, with its reason. Each test has a database of its own (a pass prunes every
//! tenant of the database, and other tests move their clocks).

use futures::StreamExt;
use reqwest::{Client, Method};
use serde_json::{Value, json};
use userplane::app::Server;
use userplane::config::ServeConfig;
use userplane::retention::Report;

use crate::helpers::{ADMIN_TOKEN, FreshPostgres, unique, zoom_world};

const DAY: i64 = 86_400;

/// A server on a database of its own, with a retention policy, and a client.
struct Isolated {
    server: Server,
    http: Client,
    base: String,
    _db: (Option<tempfile::TempDir>, Option<FreshPostgres>),
}

impl Isolated {
    async fn start(test: &str, configure: impl FnOnce(&mut ServeConfig)) -> Isolated {
        let on_postgres = std::env::var("USERPLANE_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"));
        let (url, db) = if on_postgres {
            let pg = FreshPostgres::create(test).await.expect("the suite runs on PostgreSQL");
            (pg.url.clone(), (None, Some(pg)))
        } else {
            let dir = tempfile::tempdir().expect("temp dir");
            (format!("sqlite://{}", dir.path().join("userplane.db").display()), (Some(dir), None))
        };
        let mut config = ServeConfig::for_tests(&url, ADMIN_TOKEN);
        configure(&mut config);
        let server = Server::start(&config).await.expect("server starts");
        let base = format!("http://{}", server.addr);
        Isolated { server, http: Client::new(), base, _db: db }
    }

    async fn call(&self, method: Method, path: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") })
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.call(method, &format!("/_userplane{path}"), ADMIN_TOKEN, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    /// A Zoom tenant of the helpers' world.
    async fn zoom_tenant(&self) -> String {
        let account = unique("zr");
        self.admin(Method::POST, "/tenants", Some(zoom_world(&account, "pro", "off"))).await;
        account
    }

    async fn oauth_token(&self, account: &str) -> String {
        let response = self
            .http
            .post(format!("{}/oauth/token?grant_type=account_credentials&account_id={account}", self.base))
            .basic_auth(format!("{account}-admin"), Some("admin-secret"))
            .send()
            .await
            .expect("token request");
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    async fn sso_login(&self, account: &str, email: &str) -> String {
        let body = json!({"user": email, "kind": "sso"});
        let session = self.admin(Method::POST, &format!("/tenants/{account}/sessions"), Some(body)).await;
        session["token"].as_str().expect("token").to_owned()
    }

    async fn introspect(&self, token: &str) -> Value {
        self.admin(Method::POST, "/introspect", Some(json!({"token": token}))).await
    }

    async fn advance_days(&self, account: &str, days: i64) {
        let body = json!({"advance_seconds": days * DAY});
        self.admin(Method::POST, &format!("/tenants/{account}/clock"), Some(body)).await;
    }

    async fn journal(&self, account: &str) -> Vec<Value> {
        let body = self.admin(Method::GET, &format!("/tenants/{account}/journal?limit=1000"), None).await;
        body["entries"].as_array().cloned().unwrap_or_default()
    }

    async fn prune(&self) -> Report {
        self.server.prune_now().await.expect("a retention pass")
    }
}

fn actions(journal: &[Value]) -> Vec<&str> {
    journal.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn expired_tokens_and_old_records_go_revoked_live_tokens_stay_revoked_with_their_reason() {
    let up = Isolated::start("retention_policy", |c| {
        c.retain_tokens_for = std::time::Duration::from_secs(7 * DAY as u64);
        c.retain_audit_for = std::time::Duration::from_secs(30 * DAY as u64);
    })
    .await;
    let account = up.zoom_tenant().await;
    let sso = up.sso_login(&account, "lena@example.com").await;
    let token = up.oauth_token(&account).await;
    // A ZAK living 20 days, then every session of Lena's revoked.
    let (status, zak) =
        up.call(Method::GET, "/v2/users/lena@example.com/token?type=zak&ttl=1728000", &token, None).await;
    assert_eq!(status, 200, "{zak}");
    let zak = zak["token"].as_str().unwrap().to_owned();
    let (status, _) = up.call(Method::DELETE, "/v2/users/lena@example.com/token", &token, None).await;
    assert_eq!(status, 204);
    let revoked = up.introspect(&zak).await;
    assert_eq!((revoked["active"].clone(), revoked["reason"].clone()), (json!(false), json!("sessions_revoked")));

    // Nothing has been expired for a week: nothing goes.
    assert_eq!(up.prune().await, Report { batches: 1, ..Report::default() });
    assert_eq!(up.introspect(&sso).await["reason"], "sessions_revoked");
    assert_eq!(up.introspect(&token).await["active"], true);

    // Eight days on: the SSO session (a day) and the OAuth token (an hour) expired more
    // than a week ago and are forgotten; the revoked ZAK lives and says why it is dead.
    up.advance_days(&account, 8).await;
    let pruned = up.prune().await;
    assert_eq!((pruned.tokens, pruned.revocations, pruned.audit), (2, 0, 0), "{pruned:?}");
    assert_eq!(up.introspect(&sso).await, json!({"active": false}));
    assert_eq!(up.introspect(&token).await, json!({"active": false}));
    let still = up.introspect(&zak).await;
    assert_eq!((still["active"].clone(), still["reason"].clone()), (json!(false), json!("sessions_revoked")));
    assert_eq!(still["revoked_at"], revoked["revoked_at"]);
    let journal = up.journal(&account).await;
    assert_eq!(actions(&journal).first(), Some(&"tenant.created"), "the journal is kept 30 days");

    // Thirty-one days in: the ZAK expired 11 days ago and goes, and so does the
    // revocation it needed; the journal keeps its last 30 days only.
    up.advance_days(&account, 23).await;
    let before = journal.len();
    let pruned = up.prune().await;
    assert_eq!((pruned.tokens, pruned.revocations), (1, 1), "{pruned:?}");
    assert_eq!(up.introspect(&zak).await, json!({"active": false}));
    let journal = up.journal(&account).await;
    assert_eq!(pruned.audit as usize, before + 1 - journal.len(), "{pruned:?}");
    assert_eq!(actions(&journal), ["clock.advanced", "clock.advanced"], "day 8 and day 31 are within 30 days");
    assert_eq!(journal[1]["detail"]["seconds"], 23 * DAY);
    // The tenant still works and the journal goes on.
    let token = up.oauth_token(&account).await;
    assert_eq!(up.introspect(&token).await["active"], true);
    assert_eq!(actions(&up.journal(&account).await).last(), Some(&"token.issued"));
}

#[tokio::test]
async fn a_backlog_is_pruned_in_batches_of_at_most_a_thousand_rows() {
    let up = Isolated::start("retention_batches", |_| {}).await;
    let account = up.zoom_tenant().await;
    let logins = 1_100;
    let tokens: Vec<String> = futures::stream::iter(0..logins)
        .map(|_| up.sso_login(&account, "ben@example.com"))
        .buffer_unordered(16)
        .collect()
        .await;
    // The defaults: tokens 7 days after they expire, the journal 90 days.
    up.advance_days(&account, 9).await;
    let pruned = up.prune().await;
    assert_eq!(pruned, Report { tokens: logins, revocations: 0, audit: 0, batches: 2 });
    for token in tokens.iter().step_by(97) {
        assert_eq!(up.introspect(token).await, json!({"active": false}));
    }
    up.advance_days(&account, 85).await;
    let pruned = up.prune().await;
    // tenant.created and a token.issued per login, from day 0; both clock advances stay.
    assert_eq!(pruned, Report { tokens: 0, revocations: 0, audit: logins + 1, batches: 2 });
    assert_eq!(actions(&up.journal(&account).await), ["clock.advanced", "clock.advanced"]);
}

#[tokio::test]
async fn the_background_pruner_runs_on_its_own() {
    let up = Isolated::start("retention_background", |c| c.prune_every = std::time::Duration::from_millis(100)).await;
    let account = up.zoom_tenant().await;
    let sso = up.sso_login(&account, "lena@example.com").await;
    up.advance_days(&account, 2).await;
    assert_eq!(up.introspect(&sso).await["reason"], "expired", "expired a day ago, kept for a week");
    up.advance_days(&account, 7).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while up.introspect(&sso).await != json!({"active": false}) {
        assert!(std::time::Instant::now() < deadline, "the pruner did not run within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_policy_that_keeps_the_journal_shorter_than_tokens_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("userplane.db").display());
    let mut config = ServeConfig::for_tests(&url, ADMIN_TOKEN);
    config.retain_audit_for = std::time::Duration::from_secs(DAY as u64);
    let err = Server::start(&config).await.err().expect("refused");
    assert!(err.contains("--retain-audit-for"), "{err}");
}
