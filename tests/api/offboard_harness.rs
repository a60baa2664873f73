//! Runs the real `userplane` binary against the fake providers: a [`World`] holds one
//! fake Zoom and one fake Cloudflare with known credentials, and [`Run`] is one
//! invocation with a clean environment, bounded in time.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncWriteExt as _;

use super::offboard_fakes::{FakeCloudflare, FakeZoom};

pub const ZOOM_ACCOUNT: &str = "zoom-acct-1";
pub const ZOOM_CLIENT: &str = "zoom-client-1";
pub const ZOOM_SECRET: &str = "zoom-client-s3cr3t-4f1d9c";
pub const CF_ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
pub const CF_TOKEN: &str = "cf-api-token-s3cr3t-77aa01";
pub const CF_EMAIL: &str = "admin@example.com";
pub const CF_KEY: &str = "cf-global-key-s3cr3t-0b7e";

/// No test run may take longer than this.
const RUN_LIMIT: Duration = Duration::from_secs(20);

/// A fake Zoom and a fake Cloudflare.
pub struct World {
    pub zoom: FakeZoom,
    pub cloudflare: FakeCloudflare,
}

impl World {
    pub async fn start() -> Self {
        Self {
            zoom: FakeZoom::start(ZOOM_ACCOUNT, ZOOM_CLIENT, ZOOM_SECRET).await,
            cloudflare: FakeCloudflare::start(CF_ACCOUNT, CF_TOKEN, CF_EMAIL, CF_KEY).await,
        }
    }

    /// `jane@example.com`: in both providers, with two assistants and one scheduler.
    pub async fn with_jane() -> Self {
        let world = Self::start().await;
        world.zoom.add_user("u-jane", "jane@example.com", "active");
        world.zoom.add_user("u-amy", "amy@example.com", "active");
        world.zoom.add_user("u-bob", "bob@example.com", "active");
        world.zoom.add_user("u-boss", "boss@example.com", "active");
        world.zoom.add_assistant("u-jane", "u-amy");
        world.zoom.add_assistant("u-jane", "u-bob");
        world.zoom.add_assistant("u-boss", "u-jane");
        world.cloudflare.add_user("6f1c0d7e-0000-4000-8000-00000000jane", "jane@example.com");
        world
    }

    /// `userplane <command>` pointed at the fakes, with every credential set and fast retries.
    pub fn run(&self, command: &str) -> Run {
        let defaults = [
            ("--zoom-api-url", format!("{}/v2", self.zoom.base)),
            ("--zoom-oauth-url", format!("{}/oauth/token", self.zoom.base)),
            ("--cloudflare-api-url", format!("{}/client/v4", self.cloudflare.base)),
            ("--max-requests-per-second", "0".to_owned()),
            ("--request-timeout", "2s".to_owned()),
            ("--max-retry-time", "5s".to_owned()),
        ];
        let run = Run::new(command, defaults.into_iter().map(|(flag, value)| (flag.to_owned(), value)).collect());
        run.env("ZOOM_ACCOUNT_ID", ZOOM_ACCOUNT)
            .env("ZOOM_CLIENT_ID", ZOOM_CLIENT)
            .env("ZOOM_CLIENT_SECRET", ZOOM_SECRET)
            .env("CLOUDFLARE_API_TOKEN", CF_TOKEN)
            .env("CLOUDFLARE_ACCOUNT_ID", CF_ACCOUNT)
    }
}

/// One invocation of the binary.
pub struct Run {
    args: Vec<String>,
    /// Flags the test did not set itself.
    defaults: Vec<(String, String)>,
    env: BTreeMap<String, String>,
    stdin: Option<String>,
    limit: Duration,
}

impl Run {
    /// `userplane <command>` with `defaults` (flags a test may override by passing its
    /// own) and an empty environment.
    pub fn new(command: &str, defaults: Vec<(String, String)>) -> Self {
        Self { args: vec![command.to_owned()], defaults, env: BTreeMap::new(), stdin: None, limit: RUN_LIMIT }
    }

    /// Fails the test if the run takes longer than `limit` (default 20 s).
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    pub fn args<'a>(mut self, args: impl IntoIterator<Item = &'a str>) -> Self {
        self.args.extend(args.into_iter().map(str::to_owned));
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn without_env(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_owned());
        self
    }

    pub async fn output(self) -> Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_userplane"));
        let defaults = self.defaults.iter().filter(|(flag, _)| !self.args.contains(flag));
        command
            .args(&self.args)
            .args(defaults.flat_map(|(flag, value)| [flag, value]))
            // A clean environment: the developer's own ZOOM_* / CLOUDFLARE_* must not leak in.
            .env_clear()
            .envs(&self.env)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn().expect("spawn userplane");
        if let Some(text) = &self.stdin {
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(text.as_bytes()).await.expect("write stdin");
        }
        let output = tokio::time::timeout(self.limit, child.wait_with_output())
            .await
            .expect("userplane finished in time")
            .expect("userplane output");
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }
}

/// What a run printed and returned.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// The `--json` report.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| panic!("stdout is not JSON ({err}):\n{}", self.stdout))
    }

    /// The human line for `email` and `step`.
    pub fn line(&self, email: &str, step: &str) -> &str {
        self.stdout
            .lines()
            .find(|line| {
                let mut words = line.split_whitespace();
                words.next() == Some(email) && words.next() == Some(step)
            })
            .unwrap_or_else(|| panic!("no line for {email} {step} in:\n{}", self.stdout))
    }

    /// The outcome word(s) of a human line: "done", "already done", "skipped", "FAILED", "planned".
    pub fn outcome(&self, email: &str, step: &str) -> String {
        let line = self.line(email, step);
        let rest = line.split_whitespace().skip(2).collect::<Vec<_>>();
        if rest.first() == Some(&"already") {
            "already done".into()
        } else {
            rest.first().map(|s| s.to_string()).unwrap_or_default()
        }
    }

    /// The JSON step entry for `email` and `step`.
    pub fn json_step(report: &Value, email: &str, step: &str) -> Value {
        report["people"]
            .as_array()
            .and_then(|people| people.iter().find(|p| p["email"] == email))
            .and_then(|person| person["steps"].as_array())
            .and_then(|steps| steps.iter().find(|s| s["step"] == step))
            .cloned()
            .unwrap_or_else(|| panic!("no step {step} for {email} in {report:#}"))
    }

    /// Everything the run printed.
    pub fn all_text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}
