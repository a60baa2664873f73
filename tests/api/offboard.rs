//! `userplane offboard` / `reinstate` end to end: the real binary, over real HTTP,
//! against fake Zoom and Cloudflare servers on 127.0.0.1 (see `offboard_fakes`).

use std::time::Duration;

use axum::http::Method;
use base64::Engine as _;
use serde_json::Value;

use super::offboard_fakes::FaultKind;
use super::offboard_harness::{CF_EMAIL, CF_KEY, CF_TOKEN, Output, World, ZOOM_CLIENT, ZOOM_SECRET};

const JANE: &str = "jane@example.com";

const ALL_STEPS: [&str; 5] =
    ["zoom-revoke-sso", "cloudflare-revoke", "zoom-delete-assistants", "zoom-remove-schedulers", "zoom-deactivate"];

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.code, code, "unexpected exit code\n{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_offboarding_cuts_sessions_first_then_delegations_then_deactivates() {
    let world = World::with_jane().await;

    let output = world.run("offboard").args([JANE]).output().await;

    assert_exit(&output, 0);
    assert!(output.stderr.is_empty(), "no progress bar or noise when piped\n{output}");
    for step in ALL_STEPS {
        assert_eq!(output.outcome(JANE, step), "done", "{step}\n{output}");
    }
    assert!(output.line(JANE, "zoom-delete-assistants").contains("2 assistants: amy@example.com, bob@example.com"));
    assert!(output.line(JANE, "zoom-remove-schedulers").contains("boss@example.com"));
    assert!(output.stdout.contains("summary: 1 person: 5 done, 0 already done, 0 skipped, 0 failed; exit 0"));
    {
        let zoom = world.zoom.state();
        let jane = zoom.user(JANE);
        assert_eq!((jane.status.as_str(), jane.sso_revocations), ("inactive", 1));
        assert!(zoom.assistants_of("u-jane").is_empty());
        assert!(zoom.schedulers_of("u-jane").is_empty());
        // Nobody else was touched.
        assert!(zoom.users.iter().filter(|u| u.id != "u-jane").all(|u| u.status == "active" && u.sso_revocations == 0));
    }
    {
        let cloudflare = world.cloudflare.state();
        assert_eq!(cloudflare.revocations.len(), 1);
        let body = &cloudflare.revocations[0];
        assert_eq!(
            (body["email"].as_str(), body["devices"].as_bool(), body["warp_session_reauth"].as_bool()),
            (Some(JANE), Some(true), Some(true))
        );
    }
    let cloudflare = world.cloudflare.traffic();
    assert_eq!(
        cloudflare.count(
            "POST /client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/access/organizations/revoke_user?devices=true"
        ),
        1
    );
    let zoom = world.zoom.traffic();
    // Sessions are cut before anything else is changed.
    let first_delegation_change = zoom.first_at("DELETE /v2/users/u-jane/assistants");
    assert!(zoom.first_at("DELETE /v2/users/u-jane/token") < first_delegation_change);
    assert!(cloudflare.first_at("revoke_user") < first_delegation_change);
    assert!(zoom.first_at("DELETE /v2/users/u-jane/schedulers") < zoom.first_at("PUT /v2/users/u-jane/status"));
    assert_eq!(zoom.count("POST /oauth/token"), 1, "one token for the whole run: {:#?}", zoom.lines());
    let put = zoom.seen.iter().find(|s| s.method == Method::PUT).expect("a PUT");
    assert_eq!(serde_json::from_str::<Value>(&put.body).unwrap(), serde_json::json!({"action": "deactivate"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_run_succeeds_and_says_what_was_already_done() {
    let world = World::with_jane().await;
    assert_exit(&world.run("offboard").args([JANE]).output().await, 0);
    let puts_before = world.zoom.traffic().count("PUT ");

    let output = world.run("offboard").args([JANE]).output().await;

    assert_exit(&output, 0);
    for step in ["zoom-delete-assistants", "zoom-remove-schedulers", "zoom-deactivate"] {
        assert_eq!(output.outcome(JANE, step), "already done", "{step}\n{output}");
    }
    // Revoking sessions is safe to repeat and the providers cannot say whether any was left.
    assert_eq!(output.outcome(JANE, "zoom-revoke-sso"), "done");
    assert_eq!(output.outcome(JANE, "cloudflare-revoke"), "done");
    assert!(output.stdout.contains("2 done, 3 already done"), "{output}");
    assert_eq!(world.zoom.traffic().count("PUT "), puts_before, "no second deactivation");
    assert_eq!(world.zoom.state().user(JANE).status, "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_known_to_one_provider_only_is_skipped_at_the_other() {
    let world = World::start().await;
    world.zoom.add_user("u-zed", "zed@example.com", "active");
    world.cloudflare.add_user("uuid-cleo", "cleo@example.com");

    let output = world.run("offboard").args(["zed@example.com", "cleo@example.com"]).output().await;

    assert_exit(&output, 0);
    assert_eq!(output.outcome("zed@example.com", "cloudflare-revoke"), "skipped");
    assert!(output.line("zed@example.com", "cloudflare-revoke").contains("not a Cloudflare Access user"));
    assert_eq!(output.outcome("zed@example.com", "zoom-deactivate"), "done");
    for step in ["zoom-revoke-sso", "zoom-delete-assistants", "zoom-remove-schedulers", "zoom-deactivate"] {
        assert_eq!(output.outcome("cleo@example.com", step), "skipped", "{step}\n{output}");
    }
    assert!(output.line("cleo@example.com", "zoom-deactivate").contains("not a Zoom user"));
    assert_eq!(output.outcome("cleo@example.com", "cloudflare-revoke"), "done");
    let cloudflare = world.cloudflare.state();
    assert_eq!((cloudflare.revoked("cleo@example.com"), cloudflare.revoked("zed@example.com")), (1, 0));
    assert_eq!(world.zoom.state().user("zed@example.com").status, "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_unknown_everywhere_is_not_found() {
    let world = World::with_jane().await;

    let output = world.run("offboard").args(["ghost@example.com", "--json"]).output().await;

    assert_exit(&output, 4);
    let report = output.json();
    for step in ALL_STEPS {
        let entry = Output::json_step(&report, "ghost@example.com", step);
        assert_eq!(
            (entry["outcome"].as_str(), entry["failure"].as_str()),
            (Some("failed"), Some("not_found")),
            "{entry:#}"
        );
        assert_eq!(entry["message"], "not known to Zoom or Cloudflare: check the address");
    }
    assert_eq!(report["summary"]["failure_kind"], "not_found");
    assert!(!world.zoom.traffic().changed_anything() && !world.cloudflare.traffic().changed_anything());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_zoom_credentials_fail_as_auth_once_and_cloudflare_still_runs() {
    let world = World::with_jane().await;
    world.cloudflare.add_user("uuid-amy", "amy@example.com");

    let output = world
        .run("offboard")
        .args([JANE, "amy@example.com", "--json"])
        .env("ZOOM_CLIENT_SECRET", "not-the-secret")
        .output()
        .await;

    assert_exit(&output, 3);
    let report = output.json();
    for email in [JANE, "amy@example.com"] {
        for step in ["zoom-revoke-sso", "zoom-deactivate"] {
            let entry = Output::json_step(&report, email, step);
            assert_eq!(entry["failure"], "auth", "{entry:#}");
        }
        assert_eq!(Output::json_step(&report, email, "cloudflare-revoke")["outcome"], "done");
    }
    let lookup = &report["people"][0]["lookups"][0];
    assert_eq!((lookup["provider"].as_str(), lookup["outcome"].as_str()), (Some("zoom"), Some("failed")));
    assert!(lookup["calls"][0]["url"].as_str().unwrap().contains("grant_type=account_credentials"));
    assert_eq!(lookup["calls"][0]["provider_error_code"], "invalid_client");
    assert_eq!(report["summary"]["exit_code"], 3);
    // Rejected credentials are not tried again for every person.
    assert_eq!(world.zoom.traffic().count("POST /oauth/token"), 1);
    assert_eq!(world.cloudflare.state().revocations.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cloudflare_token_fails_as_auth() {
    let world = World::with_jane().await;

    let output =
        world.run("offboard").args([JANE, "--json"]).env("CLOUDFLARE_API_TOKEN", "wrong-token-123").output().await;

    assert_exit(&output, 3);
    let report = output.json();
    let step = Output::json_step(&report, JANE, "cloudflare-revoke");
    assert_eq!((step["outcome"].as_str(), step["failure"].as_str()), (Some("failed"), Some("auth")));
    assert_eq!((step["status"].as_u64(), step["provider_error_code"].as_i64()), (Some(403), Some(9109)));
    assert_eq!(Output::json_step(&report, JANE, "zoom-deactivate")["outcome"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudflare_global_key_is_supported() {
    let world = World::with_jane().await;

    let output = world
        .run("offboard")
        .args([JANE, "--steps", "cloudflare-revoke"])
        .without_env("CLOUDFLARE_API_TOKEN")
        .env("CLOUDFLARE_EMAIL", CF_EMAIL)
        .env("CLOUDFLARE_API_KEY", CF_KEY)
        .output()
        .await;

    assert_exit(&output, 0);
    assert_eq!(output.outcome(JANE, "cloudflare-revoke"), "done");
    assert!(output.stdout.contains(&format!("global API key of {CF_EMAIL}")), "{output}");
    assert_eq!(world.cloudflare.state().revoked(JANE), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_retried_after_retry_after_seconds() {
    let world = World::with_jane().await;
    world.zoom.fault(Method::DELETE, "/token", 1, FaultKind::RateLimitSeconds(1));
    world.cloudflare.fault(Method::POST, "revoke_user", 1, FaultKind::RateLimitSeconds(1));

    let output = world.run("offboard").args([JANE, "--json"]).output().await;

    assert_exit(&output, 0);
    let report = output.json();
    for step in ["zoom-revoke-sso", "cloudflare-revoke"] {
        let entry = Output::json_step(&report, JANE, step);
        assert_eq!((entry["outcome"].as_str(), entry["attempts"].as_u64()), (Some("done"), Some(2)), "{entry:#}");
        assert!(entry["duration_ms"].as_u64().unwrap() >= 950, "waited as asked: {entry:#}");
    }
    assert_eq!(world.zoom.state().user(JANE).sso_revocations, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_daily_limit_honours_an_iso_retry_after() {
    let world = World::with_jane().await;
    // Soon: waited for, then done.
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let soon = soon.replace_nanosecond(0).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap();
    world.zoom.fault(Method::DELETE, "/token", 1, FaultKind::DailyLimitUntil(soon));

    let output = world.run("offboard").args([JANE, "--json", "--steps", "zoom-revoke-sso"]).output().await;

    assert_exit(&output, 0);
    let entry = Output::json_step(&output.json(), JANE, "zoom-revoke-sso");
    assert_eq!(entry["attempts"], 2, "{entry:#}");
    assert!(entry["duration_ms"].as_u64().unwrap() >= 900, "{entry:#}");

    // Tomorrow: beyond the retry budget, so give up at once and say when the limit resets.
    let tomorrow = "2099-08-23T00:00:00Z";
    world.zoom.fault(Method::PUT, "/status", 1, FaultKind::DailyLimitUntil(tomorrow.into()));

    let output = world.run("offboard").args([JANE]).output().await;

    assert_exit(&output, 5);
    let line = output.line(JANE, "zoom-deactivate");
    assert!(line.contains("FAILED") && line.contains("rate limited"), "{line}");
    assert!(line.contains("Retry-After 2099-08-23T00:00:00Z") && line.contains("Daily-limit"), "{line}");
    assert!(output.elapsed < Duration::from_secs(4), "gave up at once: {:?}", output.elapsed);
    assert_eq!(output.outcome(JANE, "zoom-remove-schedulers"), "done", "other steps still ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_reported_as_provider_errors() {
    let world = World::with_jane().await;
    world.zoom.fault(Method::DELETE, "/assistants", 2, FaultKind::ServerError(503));
    world.zoom.fault(Method::PUT, "/status", 100, FaultKind::ServerError(500));

    let output = world.run("offboard").args([JANE, "--json", "--max-retry-time", "1500ms"]).output().await;

    assert_exit(&output, 6);
    let report = output.json();
    let assistants = Output::json_step(&report, JANE, "zoom-delete-assistants");
    // A 503 to a DELETE may hide an applied change, so each is followed by a fresh GET
    // before the DELETE goes again: GET, DELETE 503, GET, DELETE 503, GET, DELETE 204.
    assert_eq!(
        (assistants["outcome"].as_str(), assistants["attempts"].as_u64(), assistants["retries"].as_u64()),
        (Some("done"), Some(6), Some(2)),
        "{assistants:#}"
    );
    let deactivate = Output::json_step(&report, JANE, "zoom-deactivate");
    assert_eq!((deactivate["failure"].as_str(), deactivate["status"].as_u64()), (Some("provider_error"), Some(500)));
    assert!(deactivate["attempts"].as_u64().unwrap() >= 2, "{deactivate:#}");
    assert!(deactivate["message"].as_str().unwrap().contains("gave up after"), "{deactivate:#}");
    assert!(output.elapsed < Duration::from_secs(6), "{:?}", output.elapsed);
    assert_eq!(Output::json_step(&report, JANE, "cloudflare-revoke")["outcome"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_provider_times_out_within_the_retry_budget() {
    let world = World::with_jane().await;
    world.cloudflare.fault(Method::POST, "revoke_user", 100, FaultKind::Hang);

    let output = world
        .run("offboard")
        .args([JANE, "--json", "--request-timeout", "500ms", "--max-retry-time", "1500ms"])
        .output()
        .await;

    assert_exit(&output, 7);
    let entry = Output::json_step(&output.json(), JANE, "cloudflare-revoke");
    assert_eq!((entry["failure"].as_str(), entry["status"].as_u64()), (Some("network"), None), "{entry:#}");
    assert!(entry["attempts"].as_u64().unwrap() >= 2, "retried: {entry:#}");
    assert!(entry["duration_ms"].as_u64().unwrap() < 3000, "bounded by the budget: {entry:#}");
    assert!(entry["message"].as_str().unwrap().contains("did not answer within"), "{entry:#}");
    assert!(output.elapsed < Duration::from_secs(6), "{:?}", output.elapsed);
    assert_eq!(world.zoom.state().user(JANE).status, "inactive", "Zoom steps still ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_zoom_token_is_renewed_once() {
    let world = World::with_jane().await;
    world.zoom.fault(Method::DELETE, "/token", 1, FaultKind::ExpireTokens);

    let output = world.run("offboard").args([JANE, "--json"]).output().await;

    assert_exit(&output, 0);
    let entry = Output::json_step(&output.json(), JANE, "zoom-revoke-sso");
    let statuses: Vec<Value> = entry["calls"].as_array().unwrap().iter().map(|c| c["status"].clone()).collect();
    assert_eq!(statuses, [Value::from(401), Value::from(200), Value::from(204)], "{entry:#}");
    assert_eq!(world.zoom.state().tokens_issued, 2);
    assert_eq!(world.zoom.state().user(JANE).sso_revocations, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_from_a_line_file_and_a_csv_with_bounded_concurrency() {
    let world = World::start().await;
    let people: Vec<String> = (1..=6).map(|i| format!("p{i}@example.com")).collect();
    for (i, email) in people.iter().enumerate() {
        world.zoom.add_user(&format!("u-{i}"), email, "active");
        world.cloudflare.add_user(&format!("uuid-{i}"), email);
    }
    world.zoom.traffic().delay = Duration::from_millis(20);
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("leavers.txt");
    std::fs::write(&lines, format!("# leaving Friday\n{}\n\n{}\n{}\n", people[0], people[1], people[2])).unwrap();
    let csv = dir.path().join("leavers.csv");
    std::fs::write(
        &csv,
        format!("name,email,team\nP4,{},eng\n\"Five, P\",{},ops\nP6,{},eng\n", people[3], people[4], people[5]),
    )
    .unwrap();

    let output = world.run("offboard").args(["--from", lines.to_str().unwrap(), "--concurrency", "2"]).output().await;
    assert_exit(&output, 0);
    let output_csv =
        world.run("offboard").args(["--from", csv.to_str().unwrap(), "--concurrency", "2", "--json"]).output().await;
    assert_exit(&output_csv, 0);

    let zoom = world.zoom.state();
    assert!(zoom.users.iter().all(|u| u.status == "inactive"), "{:?}", zoom.users);
    assert_eq!(world.cloudflare.state().revocations.len(), 6);
    assert!(world.zoom.traffic().max_in_flight <= 2, "at most --concurrency people at once");
    // The report keeps the input order.
    let order: Vec<&str> = output
        .stdout
        .lines()
        .filter(|l| l.contains("zoom-deactivate"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(order, people[..3]);
    let report = output_csv.json();
    let emails: Vec<&str> = report["people"].as_array().unwrap().iter().map(|p| p["email"].as_str().unwrap()).collect();
    assert_eq!(emails, people[3..]);
    assert_eq!(report["summary"]["people"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_from_stdin() {
    let world = World::with_jane().await;

    let output =
        world.run("offboard").args(["--from", "-", "--dry-run"]).stdin("email\njane@example.com\n").output().await;

    assert_exit(&output, 0);
    assert_eq!(output.outcome(JANE, "zoom-deactivate"), "planned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_address_in_a_file_stops_the_run_before_anything_is_sent() {
    let world = World::with_jane().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("leavers.txt");
    std::fs::write(&file, "jane@example.com\nnot-an-address\n").unwrap();

    let output = world.run("offboard").args(["--from", file.to_str().unwrap()]).output().await;

    assert_exit(&output, 2);
    assert!(output.stderr.contains("leavers.txt:2: `not-an-address` is not an email address"), "{output}");
    assert!(world.zoom.traffic().seen.is_empty() && world.cloudflare.traffic().seen.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_resolves_and_plans_but_changes_nothing() {
    let world = World::with_jane().await;
    world.zoom.add_user("u-gone", "gone@example.com", "inactive");

    let output = world.run("offboard").args([JANE, "gone@example.com", "--dry-run"]).output().await;

    assert_exit(&output, 0);
    for step in ALL_STEPS {
        assert_eq!(output.outcome(JANE, step), "planned", "{step}\n{output}");
    }
    assert!(output.line(JANE, "zoom-delete-assistants").contains("would remove 2 assistants"), "{output}");
    assert!(output.line(JANE, "zoom-deactivate").contains("[would send PUT /v2/users/u-jane/status]"), "{output}");
    assert_eq!(output.outcome("gone@example.com", "zoom-deactivate"), "already done");
    assert!(output.stdout.contains("dry run: nothing was changed"));
    assert!(!world.zoom.traffic().changed_anything(), "{:#?}", world.zoom.traffic().lines());
    assert!(!world.cloudflare.traffic().changed_anything(), "{:#?}", world.cloudflare.traffic().lines());
    let zoom = world.zoom.state();
    assert_eq!((zoom.user(JANE).status.as_str(), zoom.assistants.len()), ("active", 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_has_request_status_attempts_duration_and_codes() {
    let world = World::with_jane().await;

    let output = world.run("offboard").args([JANE, "--json"]).output().await;

    assert_exit(&output, 0);
    let report = output.json();
    assert_eq!((report["command"].as_str(), report["dry_run"].as_bool()), (Some("offboard"), Some(false)));
    let providers = report["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 2);
    assert_eq!((providers[0]["provider"].as_str(), providers[0]["configured"].as_bool()), (Some("zoom"), Some(true)));
    assert_eq!(providers[1]["credential"], "api_token");
    let person = &report["people"][0];
    assert_eq!((person["email"].as_str(), person["outcome"].as_str()), (Some(JANE), Some("ok")));
    let lookups: Vec<&str> =
        person["lookups"].as_array().unwrap().iter().map(|l| l["outcome"].as_str().unwrap()).collect();
    assert_eq!(lookups, ["found", "found"]);
    assert_eq!(person["lookups"][0]["user_id"], "u-jane");
    let steps: Vec<&str> = person["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ALL_STEPS);
    let revoke = Output::json_step(&report, JANE, "zoom-revoke-sso");
    let keys: Vec<&str> = revoke.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "step",
        "provider",
        "outcome",
        "failure",
        "message",
        "request",
        "status",
        "attempts",
        "duration_ms",
        "provider_error_code",
        "calls",
    ] {
        assert!(keys.contains(&key), "missing {key} in {revoke:#}");
    }
    assert_eq!(revoke["request"]["method"], "DELETE");
    assert!(revoke["request"]["url"].as_str().unwrap().ends_with("/v2/users/u-jane/token"));
    assert_eq!((revoke["status"].as_u64(), revoke["attempts"].as_u64()), (Some(204), Some(1)));
    assert!(revoke["failure"].is_null() && revoke["provider_error_code"].is_null());
    let schedulers = Output::json_step(&report, JANE, "zoom-remove-schedulers");
    let methods: Vec<&str> =
        schedulers["calls"].as_array().unwrap().iter().map(|c| c["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["GET", "DELETE"]);
    let summary = &report["summary"];
    assert_eq!((summary["done"].as_u64(), summary["exit_code"].as_u64()), (Some(5), Some(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_output_even_when_a_provider_echoes_them() {
    let world = World::with_jane().await;
    world.zoom.traffic().echo_credentials = true;
    world.cloudflare.traffic().echo_credentials = true;
    let basic = |secret: &str| base64::engine::general_purpose::STANDARD.encode(format!("{ZOOM_CLIENT}:{secret}"));
    let wrong_zoom_secret = "wrong-zoom-s3cr3t-value";
    let wrong_cf_token = "wrong-cf-s3cr3t-token";
    let forbidden = [
        "s3cr3t".to_owned(), // every secret and every issued access token contains it
        basic(ZOOM_SECRET),
        basic(wrong_zoom_secret),
    ];

    let outputs = vec![
        world.run("offboard").args([JANE, "ghost@example.com"]).output().await,
        world.run("offboard").args([JANE, "ghost@example.com", "--json"]).output().await,
        world.run("offboard").args([JANE, "--json"]).env("ZOOM_CLIENT_SECRET", wrong_zoom_secret).output().await,
        world.run("offboard").args([JANE]).env("CLOUDFLARE_API_TOKEN", wrong_cf_token).output().await,
        world.run("offboard").args([JANE, "--help"]).output().await,
        world.run("reinstate").args([JANE, "--json"]).output().await,
        world.run("offboard").args([JANE]).without_env("ZOOM_CLIENT_ID").output().await,
    ];

    // The fakes really did echo credentials back, so the scrubbing was exercised.
    assert!(outputs[0].code != 0 && outputs[2].code == 3 && outputs[3].code == 3);
    for output in &outputs {
        let text = output.all_text();
        for secret in &forbidden {
            assert!(!text.contains(secret.as_str()), "{secret} leaked:\n{output}");
        }
    }
    assert!(outputs[2].stdout.contains("[redacted]"), "the echoed Basic header was scrubbed:\n{}", outputs[2]);
    assert!(outputs[3].stdout.contains("[redacted]"), "the echoed token was scrubbed:\n{}", outputs[3]);
    // And the fakes saw the real credentials, so the test is not vacuous.
    assert!(
        world
            .cloudflare
            .traffic()
            .seen
            .iter()
            .any(|s| s.authorization.as_deref() == Some(&format!("Bearer {CF_TOKEN}")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_selects_a_subset_and_unneeded_providers_are_not_called() {
    let world = World::with_jane().await;

    let output = world.run("offboard").args([JANE, "--steps", "cloudflare-revoke"]).output().await;

    assert_exit(&output, 0);
    assert_eq!(output.outcome(JANE, "cloudflare-revoke"), "done");
    assert!(output.stdout.lines().filter(|l| l.starts_with(JANE)).all(|l| !l.contains("zoom")), "{output}");
    assert!(world.zoom.traffic().seen.is_empty(), "no Zoom call, not even a token");

    let output = world.run("offboard").args([JANE, "--steps", "zoom-deactivate,zoom-revoke-sso"]).output().await;

    assert_exit(&output, 0);
    let steps: Vec<&str> = output
        .stdout
        .lines()
        .filter(|l| l.starts_with(JANE) && !l.contains("lookup"))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(steps, ["zoom-revoke-sso", "zoom-deactivate"], "playbook order, not flag order");
    assert_eq!(world.zoom.state().assistants.len(), 3, "assistants untouched");

    let output = world.run("offboard").args([JANE, "--steps", "zoom-delete-everything"]).output().await;
    assert_exit(&output, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_refusing_to_deactivate_an_admin_is_a_provider_error_without_retries() {
    let world = World::with_jane().await;
    world.zoom.state().users.iter_mut().for_each(|u| u.admin = u.email == JANE);

    let output = world.run("offboard").args([JANE, "--json"]).output().await;

    assert_exit(&output, 6);
    let entry = Output::json_step(&output.json(), JANE, "zoom-deactivate");
    assert_eq!(
        (entry["failure"].as_str(), entry["status"].as_u64(), entry["provider_error_code"].as_i64()),
        (Some("provider_error"), Some(400), Some(200))
    );
    assert_eq!(entry["attempts"], 1);
    assert!(entry["message"].as_str().unwrap().contains("cannot be activated or deactivated"));
    assert_eq!(Output::json_step(&output.json(), JANE, "zoom-revoke-sso")["outcome"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinstate_reactivates_once_and_then_says_already_active() {
    let world = World::with_jane().await;
    assert_exit(&world.run("offboard").args([JANE]).output().await, 0);

    let output = world.run("reinstate").args([JANE]).output().await;
    assert_exit(&output, 0);
    assert_eq!(output.outcome(JANE, "zoom-activate"), "done");
    assert!(output.line(JANE, "zoom-activate").contains("old sessions stay revoked"));
    assert_eq!(world.zoom.state().user(JANE).status, "active");

    let output = world.run("reinstate").args([JANE]).output().await;
    assert_exit(&output, 0);
    assert_eq!(output.outcome(JANE, "zoom-activate"), "already done");

    let output = world.run("reinstate").args(["ghost@example.com"]).output().await;
    assert_exit(&output, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_without_credentials_is_skipped_and_the_report_says_so() {
    let world = World::with_jane().await;

    let output = world
        .run("offboard")
        .args([JANE, "--json"])
        .without_env("CLOUDFLARE_API_TOKEN")
        .without_env("CLOUDFLARE_ACCOUNT_ID")
        .output()
        .await;

    assert_exit(&output, 0);
    let report = output.json();
    assert_eq!(report["providers"][1]["configured"], false);
    assert!(report["providers"][1]["note"].as_str().unwrap().contains("not configured"));
    let step = Output::json_step(&report, JANE, "cloudflare-revoke");
    assert_eq!(step["outcome"], "skipped");
    assert!(step["message"].as_str().unwrap().contains("Cloudflare is not configured"));
    assert!(world.cloudflare.traffic().seen.is_empty());
    assert_eq!(world.zoom.state().user(JANE).status, "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_mistakes_exit_2_before_anything_is_sent() {
    let world = World::with_jane().await;
    let cases = [
        (
            "no provider",
            world
                .run("offboard")
                .args([JANE])
                .without_env("ZOOM_CLIENT_SECRET")
                .without_env("ZOOM_CLIENT_ID")
                .without_env("ZOOM_ACCOUNT_ID")
                .without_env("CLOUDFLARE_API_TOKEN")
                .without_env("CLOUDFLARE_ACCOUNT_ID"),
            "no selected step has a configured provider",
        ),
        (
            "partial Zoom",
            world.run("offboard").args([JANE]).without_env("ZOOM_CLIENT_SECRET"),
            "ZOOM_CLIENT_SECRET not set",
        ),
        (
            "Cloudflare without account",
            world.run("offboard").args([JANE]).without_env("CLOUDFLARE_ACCOUNT_ID"),
            "CLOUDFLARE_ACCOUNT_ID is not",
        ),
        (
            "plain http",
            world.run("offboard").args([JANE, "--zoom-api-url", "http://zoom.example.com/v2"]),
            "--allow-http",
        ),
        ("no email", world.run("offboard"), "no email address given"),
        ("bad email", world.run("offboard").args(["jane"]), "is not an email address"),
        ("bad duration", world.run("offboard").args([JANE, "--max-retry-time", "soon"]), "not a duration"),
        (
            "reinstate without Zoom",
            world
                .run("reinstate")
                .args([JANE])
                .without_env("ZOOM_CLIENT_SECRET")
                .without_env("ZOOM_CLIENT_ID")
                .without_env("ZOOM_ACCOUNT_ID"),
            "reinstate needs Zoom",
        ),
    ];
    for (name, run, expected) in cases {
        let output = run.output().await;
        assert_eq!(output.code, 2, "{name}\n{output}");
        assert!(output.stderr.contains(expected), "{name}: expected {expected:?}\n{output}");
    }
    assert!(world.zoom.traffic().seen.is_empty() && world.cloudflare.traffic().seen.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudflare_lookup_picks_the_exact_address_among_similar_ones() {
    let world = World::start().await;
    world.cloudflare.add_user("uuid-joann", "joann@example.com");
    world.cloudflare.add_user("uuid-ann", "ann@example.com");

    let output =
        world.run("offboard").args(["ann@example.com", "--json", "--steps", "cloudflare-revoke"]).output().await;

    assert_exit(&output, 0);
    assert_eq!(output.json()["people"][0]["lookups"][0]["user_id"], "uuid-ann");
    let cloudflare = world.cloudflare.state();
    assert_eq!((cloudflare.revoked("ann@example.com"), cloudflare.revoked("joann@example.com")), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudflare_revokes_the_address_as_cloudflare_spells_it() {
    let world = World::start().await;
    world.cloudflare.add_user("uuid-ann", "ann@example.com");

    let output = world.run("offboard").args(["Ann@Example.COM", "--steps", "cloudflare-revoke"]).output().await;

    assert_exit(&output, 0);
    assert_eq!(world.cloudflare.state().revoked("ann@example.com"), 1, "{output}");
}

/// A bad day: the change is applied, then the answer is lost. The client must read the
/// state back, report the step done (saying what happened), and not apply it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_applied_then_answered_503_is_read_back_not_sent_twice_and_reported_done() {
    let world = World::with_jane().await;
    let applied_then_503 = || FaultKind::CommitThen(Box::new(FaultKind::ServerError(503)));
    world.zoom.fault(Method::PUT, "/status", 1, applied_then_503());
    world.zoom.fault(Method::DELETE, "/assistants", 1, applied_then_503());

    let output = world.run("offboard").args([JANE, "--json"]).output().await;

    assert_exit(&output, 0);
    let report = output.json();
    for (step, write) in [
        ("zoom-deactivate", "PUT /v2/users/u-jane/status"),
        ("zoom-delete-assistants", "DELETE /v2/users/u-jane/assistants"),
    ] {
        let entry = Output::json_step(&report, JANE, step);
        assert_eq!((entry["outcome"].as_str(), entry["retries"].as_u64()), (Some("done"), Some(1)), "{entry:#}");
        let message = entry["message"].as_str().unwrap();
        assert!(message.starts_with("applied, but the provider answered 503"), "{entry:#}");
        assert_eq!(world.zoom.traffic().count(write), 1, "not sent twice: {:#?}", world.zoom.traffic().lines());
    }
    let deactivate = Output::json_step(&report, JANE, "zoom-deactivate");
    let calls: Vec<String> = deactivate["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["method"].as_str().unwrap(), c["status"]))
        .collect();
    assert_eq!(calls, ["PUT 503", "GET 200"], "the write, then the read that shows it applied");
    assert_eq!(report["people"][0]["outcome"], "ok");
    assert!(
        output.stderr.contains("zoom-deactivate jane@example.com: the provider answered 503; it may have been applied"),
        "{output}"
    );
    let zoom = world.zoom.state();
    assert_eq!(zoom.user(JANE).status, "inactive", "fully offboarded");
    assert!(zoom.assistants_of("u-jane").is_empty() && zoom.schedulers_of("u-jane").is_empty());
    assert_eq!(world.cloudflare.state().revoked(JANE), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_applied_then_reset_is_read_back_and_reported_done() {
    let world = World::with_jane().await;
    world.zoom.fault(Method::PUT, "/status", 1, FaultKind::CommitThen(Box::new(FaultKind::Reset)));

    let output = world.run("offboard").args([JANE]).output().await;

    assert_exit(&output, 0);
    let line = output.line(JANE, "zoom-deactivate");
    assert!(line.contains("done") && line.contains("applied, but the connection was reset"), "{line}");
    assert!(line.contains("(read again: already inactive)"), "{line}");
    assert_eq!(world.zoom.traffic().count("PUT /v2/users/u-jane/status"), 1);
    assert_eq!(world.zoom.state().user(JANE).status, "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_applied_then_hanging_is_read_back_after_the_timeout() {
    let world = World::with_jane().await;
    world.zoom.fault(Method::PUT, "/status", 1, FaultKind::CommitThen(Box::new(FaultKind::Hang)));
    world.zoom.fault(Method::DELETE, "/schedulers", 1, FaultKind::CommitThen(Box::new(FaultKind::Hang)));

    let output = world.run("offboard").args([JANE, "--json", "--request-timeout", "500ms"]).output().await;

    assert_exit(&output, 0);
    let report = output.json();
    for (step, write) in [
        ("zoom-deactivate", "PUT /v2/users/u-jane/status"),
        ("zoom-remove-schedulers", "DELETE /v2/users/u-jane/schedulers"),
    ] {
        let entry = Output::json_step(&report, JANE, step);
        assert_eq!((entry["outcome"].as_str(), entry["retries"].as_u64()), (Some("done"), Some(1)), "{entry:#}");
        assert!(entry["message"].as_str().unwrap().starts_with("applied, but the request timed out"), "{entry:#}");
        assert_eq!(world.zoom.traffic().count(write), 1);
    }
    assert!(output.elapsed < Duration::from_secs(8), "{:?}", output.elapsed);
    assert_eq!(world.zoom.state().user(JANE).status, "inactive");
}

/// A write that was not applied is sent again after the read shows it missing; a
/// revocation, which no read can show and which is safe to repeat, is simply sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_not_applied_is_sent_again_after_the_read_and_a_revocation_is_repeated() {
    let world = World::with_jane().await;
    world.zoom.fault(Method::PUT, "/status", 1, FaultKind::Reset);
    world.cloudflare.fault(
        Method::POST,
        "revoke_user",
        1,
        FaultKind::CommitThen(Box::new(FaultKind::ServerError(503))),
    );

    let output = world.run("offboard").args([JANE, "--json"]).output().await;

    assert_exit(&output, 0);
    let report = output.json();
    let deactivate = Output::json_step(&report, JANE, "zoom-deactivate");
    assert_eq!((deactivate["outcome"].as_str(), deactivate["retries"].as_u64()), (Some("done"), Some(1)));
    assert!(
        deactivate["message"]
            .as_str()
            .unwrap()
            .contains("(sent again: the connection was reset and the change was not there)"),
        "{deactivate:#}"
    );
    assert_eq!(world.zoom.traffic().count("PUT /v2/users/u-jane/status"), 2);
    let revoke = Output::json_step(&report, JANE, "cloudflare-revoke");
    assert_eq!((revoke["outcome"].as_str(), revoke["retries"].as_u64()), (Some("done"), Some(1)), "{revoke:#}");
    assert!(
        revoke["message"]
            .as_str()
            .unwrap()
            .ends_with("(sent again after the provider answered 503: harmless to repeat)"),
        "{revoke:#}"
    );
    assert_eq!(world.cloudflare.state().revoked(JANE), 2, "revoke_user repeated on purpose");
    assert_eq!(world.zoom.state().user(JANE).status, "inactive");
}

/// Issue 11: a provider that is down. The run says what it waits for, and
/// `--give-up-after` (or USERPLANE_GIVE_UP_AFTER) bounds the whole run: exit 7.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_is_announced_and_give_up_after_bounds_the_run() {
    let world = World::with_jane().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let down = format!("http://127.0.0.1:{closed}");
    let run = || {
        world
            .run("offboard")
            .args([JANE, "--max-retry-time", "60s"])
            .args(["--zoom-api-url", &format!("{down}/v2"), "--zoom-oauth-url", &format!("{down}/oauth/token")])
            .args(["--cloudflare-api-url", &format!("{down}/client/v4")])
            .time_limit(Duration::from_secs(15))
    };

    for output in [
        run().args(["--give-up-after", "3s"]).output().await,
        run().env("USERPLANE_GIVE_UP_AFTER", "3s").output().await,
    ] {
        assert_exit(&output, 7);
        assert!(output.elapsed < Duration::from_secs(7), "bounded by --give-up-after: {:?}", output.elapsed);
        let waiting =
            format!("userplane: waiting for Zoom at 127.0.0.1:{closed}: POST /oauth/token attempt 1 failed: ");
        assert!(output.stderr.contains(&waiting), "{output}");
        assert!(output.stderr.contains(&format!("waiting for Cloudflare at 127.0.0.1:{closed}")), "{output}");
        assert!(output.stderr.contains("attempt 2 failed") && output.stderr.contains("; next retry in "), "{output}");
        assert!(output.stdout.contains("summary: 1 person:") && output.stdout.contains("exit 7 (network)"), "{output}");
        assert!(output.stdout.contains("the --give-up-after bound of 3.0 s"), "{output}");
    }
}

/// A provider that takes the request and never answers: the wait is announced while it
/// lasts, not only once the attempt times out; `--give-up-after` cuts the attempt short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_does_not_answer_is_announced_while_the_run_waits() {
    let world = World::with_jane().await;
    world.cloudflare.fault(Method::POST, "revoke_user", 100, FaultKind::Hang);

    let output = world
        .run("offboard")
        .args([JANE, "--steps", "cloudflare-revoke", "--request-timeout", "30s", "--give-up-after", "4s"])
        .output()
        .await;

    assert_exit(&output, 7);
    let waiting = "waiting for Cloudflare at 127.0.0.1:";
    let line = output.stderr.lines().find(|line| line.contains(waiting)).unwrap_or_else(|| panic!("{output}"));
    assert!(
        line.contains("POST /client/v4/accounts/") && line.contains("attempt 1: no answer yet after 3.0 s"),
        "{line}"
    );
    assert!(
        output.elapsed < Duration::from_secs(8),
        "the 30 s timeout was cut by --give-up-after: {:?}",
        output.elapsed
    );
    assert!(output.line(JANE, "cloudflare-revoke").contains("FAILED"), "{output}");
}
