//! The external load generator: finds (or installs) wrk, writes the request lists the
//! benchmark's Lua script cycles through, runs wrk and reads back its figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// One request wrk sends: the Lua script's line format.
pub struct Request {
    pub method: &'static str,
    pub path: String,
    /// The whole `Authorization` header value, or empty.
    pub authorization: String,
    /// A JSON body, or empty.
    pub body: String,
}

impl Request {
    pub fn new(method: &'static str, path: impl Into<String>, authorization: &str) -> Request {
        Request { method, path: path.into(), authorization: authorization.to_owned(), body: String::new() }
    }

    pub fn with_body(mut self, body: serde_json::Value) -> Request {
        self.body = body.to_string();
        self
    }
}

/// How one wrk run is shaped.
#[derive(Clone, Copy)]
pub struct Load {
    pub connections: usize,
    pub threads: usize,
    pub seconds: u64,
}

/// What one wrk run measured. Latencies in milliseconds, corrected by wrk for
/// coordinated omission (the missed sends of a stalled connection are counted).
#[derive(Clone, Debug, Default)]
pub struct Measured {
    pub requests: u64,
    pub seconds: f64,
    /// Socket errors, timeouts and responses with a status above 399.
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Measured {
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 { self.requests as f64 / self.seconds } else { 0.0 }
    }
}

/// The wrk binary and the benchmark's script.
pub struct Wrk {
    binary: PathBuf,
    script: PathBuf,
    dir: PathBuf,
    runs: std::cell::Cell<u64>,
}

impl Wrk {
    /// Finds wrk on PATH; installs it with apt-get when running as root; otherwise says
    /// how to install it. Never falls back to another generator.
    pub fn locate(dir: &Path) -> Result<Wrk, String> {
        let binary = match which("wrk") {
            Some(binary) => binary,
            None => install()?,
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/wrk/requests.lua");
        if !script.is_file() {
            return Err(format!("the wrk script {} is missing", script.display()));
        }
        Ok(Wrk { binary, script, dir: dir.to_owned(), runs: std::cell::Cell::new(0) })
    }

    /// Runs wrk against `nodes` (base URLs) with `requests` sent round robin.
    pub fn run(&self, nodes: &[String], requests: &[Request], load: Load) -> Result<Measured, String> {
        let run = self.runs.get() + 1;
        self.runs.set(run);
        let file = self.dir.join(format!("requests-{run}.tsv"));
        let mut text = String::new();
        for r in requests {
            for field in [&r.path, &r.authorization, &r.body] {
                assert!(!field.contains(['\t', '\n']), "a request field holds a tab or a newline: {field}");
            }
            text.push_str(&format!("{}\t{}\t{}\t{}\n", r.method, r.path, r.authorization, r.body));
        }
        std::fs::write(&file, text).map_err(|e| format!("write {}: {e}", file.display()))?;
        // wrk needs a thread per node to spread connections over nodes, and at most one
        // thread per connection.
        let threads = load.threads.max(nodes.len()).min(load.connections.max(1));
        let hosts: Vec<&str> = nodes.iter().map(|n| n.trim_start_matches("http://")).collect();
        let output = Command::new(&self.binary)
            .arg(format!("-t{threads}"))
            .arg(format!("-c{}", load.connections.max(threads)))
            .arg(format!("-d{}s", load.seconds.max(1)))
            .args(["--latency", "--timeout", "10s", "-s"])
            .arg(&self.script)
            .arg(&nodes[0])
            .env("USERPLANE_WRK_REQUESTS", &file)
            .env("USERPLANE_WRK_THREADS", threads.to_string())
            .env("USERPLANE_WRK_NODES", if nodes.len() > 1 { hosts.join(",") } else { String::new() })
            .output()
            .map_err(|e| format!("run {}: {e}", self.binary.display()))?;
        let _ = std::fs::remove_file(&file);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().find(|l| l.starts_with("userplane-wrk ")).ok_or_else(|| {
            format!(
                "wrk printed no result (exit {}):\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        parse(line)
    }
}

fn parse(line: &str) -> Result<Measured, String> {
    let field = |name: &str| -> Result<u64, String> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("wrk result without {name}: {line}"))
    };
    let ms = |name: &str| field(name).map(|us| us as f64 / 1000.0);
    Ok(Measured {
        requests: field("requests")?,
        seconds: Duration::from_micros(field("duration_us")?).as_secs_f64(),
        errors: field("connect")? + field("read")? + field("write")? + field("status")? + field("timeout")?,
        p50_ms: ms("p50_us")?,
        p99_ms: ms("p99_us")?,
        p999_ms: ms("p999_us")?,
        max_ms: ms("max_us")?,
    })
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|path| path.is_file())
}

fn install() -> Result<PathBuf, String> {
    let how = "install it (Debian/Ubuntu: `sudo apt-get install -y wrk`; macOS: `brew install wrk`) and run again";
    if !running_as_root() || which("apt-get").is_none() {
        return Err(format!("wrk is not on PATH: {how}"));
    }
    eprintln!("wrk is not on PATH: installing it with apt-get");
    let installed = |args: &[&str]| Command::new("apt-get").args(args).status().is_ok_and(|s| s.success());
    // An image with empty package lists needs an update first.
    let done = installed(&["install", "-y", "wrk"]) || (installed(&["update"]) && installed(&["install", "-y", "wrk"]));
    if !done {
        return Err(format!("`apt-get install -y wrk` failed: {how}"));
    }
    which("wrk").ok_or_else(|| format!("apt-get installed wrk but it is not on PATH: {how}"))
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2)) == Some("0")
    })
}
