//! The demo world and its banner, through the real binary: the README's three-command
//! rehearsal works as pasted, and a banner nobody reads does not stop the server.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A `userplane serve` child, killed when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `userplane serve` in `dir` with a clean environment, as a person would start it.
fn serve(dir: &std::path::Path, args: &[&str], stdout: Stdio) -> Serving {
    let child = Command::new(env!("CARGO_BIN_EXE_userplane"))
        .arg("serve")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .expect("userplane starts");
    Serving(child)
}

/// Reads the banner up to and including the line that starts with `last`, within 10 s.
fn read_banner(server: &mut Serving, last: &str) -> Vec<String> {
    let stdout = server.0.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep reading to the end, as a terminal would, so the server never blocks on us.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = receiver.recv_timeout(left).unwrap_or_else(|_| panic!("no `{last}` line in:\n{}", lines.join("\n")));
        let done = line.trim_start().starts_with(last);
        lines.push(line);
        if done {
            return lines;
        }
    }
}

fn after<'a>(lines: &'a [String], prefix: &str) -> &'a str {
    let line = lines.iter().find(|l| l.contains(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in {lines:#?}"));
    line.split_once(prefix).expect("prefix").1.trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_rehearsal_works_as_pasted() {
    let dir = tempfile::tempdir().unwrap();
    // 1. `userplane serve` on an empty database (port 0 here; the README's default is 8700).
    let mut server = serve(dir.path(), &["--listen", "127.0.0.1:0"], Stdio::piped());
    let banner = read_banner(&mut server, "export ");
    let base = after(&banner, "userplane listening on ").to_owned();
    let admin = after(&banner, "(generated; set USERPLANE_ADMIN_TOKEN to choose one): ").to_owned();
    let export = banner.last().unwrap().trim().to_owned();

    // Jane Doe is signed in everywhere before the rehearsal.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let login = |account: &str, body: Value| {
        let request =
            http.post(format!("{base}/_userplane/tenants/{account}/sessions")).bearer_auth(&admin).json(&body).send();
        async move {
            let response = request.await.expect("login");
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
        }
    };
    let (zoom, cloudflare) = ("uPdemoZoomAcct01", "023e105f4ecef8ad9ca31a8372d0c353");
    let sessions = [
        login(zoom, json!({"user": "jdoe@example.com", "kind": "sso"})).await,
        login(cloudflare, json!({"user": "jdoe@example.com", "kind": "access", "app": "Wiki"})).await,
        login(cloudflare, json!({"user": "jdoe@example.com", "kind": "warp", "device": "jane-laptop"})).await,
    ];
    let lena = login(zoom, json!({"user": "lena.licensed@example.com", "kind": "sso"})).await;

    // 2. paste the export line, 3. `userplane offboard jdoe@example.com`: in a real shell.
    let script = format!("{export}\n\"$USERPLANE\" offboard jdoe@example.com\n");
    let run = tokio::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USERPLANE", env!("CARGO_BIN_EXE_userplane"))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(20), run).await.expect("in time").expect("sh runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    for step in
        ["zoom-revoke-sso", "cloudflare-revoke", "zoom-delete-assistants", "zoom-remove-schedulers", "zoom-deactivate"]
    {
        let line = stdout.lines().find(|l| l.split_whitespace().nth(1) == Some(step)).expect(step);
        assert_eq!(line.split_whitespace().nth(2), Some("done"), "{line}");
    }
    assert!(stdout.contains("summary: 1 person: 5 done"), "{stdout}");
    for token in &sessions {
        let info: Value = http
            .post(format!("{base}/_userplane/introspect"))
            .bearer_auth(&admin)
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["active"], false, "{info}");
    }
    let info: Value = http
        .post(format!("{base}/_userplane/introspect"))
        .bearer_auth(&admin)
        .json(&json!({"token": lena}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["active"], true, "nobody else: {info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_does_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // A pipe whose reader is gone before the banner is written: every write is EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut server = serve(dir.path(), &["--listen", &format!("127.0.0.1:{port}")], Stdio::from(writer));

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(server.0.try_wait().unwrap().is_none(), "the server exited when its banner could not be written");
        let health = http.get(format!("http://127.0.0.1:{port}/_userplane/health")).send().await;
        if health.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Still serving once the banner (demo world and all) has been attempted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(server.0.try_wait().unwrap().is_none());
}

/// A taken port is found before anything is written: the demo world (whose secrets only
/// the banner shows) is not left behind in the database.
#[tokio::test]
async fn a_taken_port_fails_before_the_demo_world_is_written() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (url, _dir) = crate::helpers::test_database();
    let config = userplane::config::ServeConfig {
        listen: taken.local_addr().unwrap().to_string(),
        no_demo: false,
        ..userplane::config::ServeConfig::for_tests(&url, crate::helpers::ADMIN_TOKEN)
    };
    let err = userplane::app::Server::start(&config).await.err().expect("the port is taken");
    assert!(err.starts_with("listen on "), "{err}");
    // On a shared PostgreSQL database other tests' tenants exist: look for the demo's own.
    let store = userplane::store::Store::open(&url).await.unwrap();
    let tenants = userplane::domain::ops::list_tenants(&store).await.unwrap();
    assert!(
        !tenants
            .iter()
            .any(|t| t.account_id == "uPdemoZoomAcct01" || t.account_id == "023e105f4ecef8ad9ca31a8372d0c353"),
        "the demo world was written although the server could not listen"
    );
}
