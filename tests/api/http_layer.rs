//! The HTTP layer under the router, over raw sockets: hyper's rejections carry the
//! dialect's body, connections are bounded in time, number and head bytes, a panic is the
//! dialect's 500, every answer carries its request id, and shutdown finishes what is in
//! flight.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use userplane::app::Server;
use userplane::config::{ConnectionLimits, ServeConfig};

use crate::helpers::{ADMIN_TOKEN, test_database};

/// A server with these limits (and, for the panic test only, the panic routes).
struct Edge {
    server: Option<Server>,
    addr: SocketAddr,
    _dir: Option<tempfile::TempDir>,
}

impl Edge {
    async fn start(limits: ConnectionLimits) -> Edge {
        Self::start_with(limits, false).await
    }

    async fn start_with(limits: ConnectionLimits, panic_routes: bool) -> Edge {
        let (url, dir) = test_database();
        let config = ServeConfig { connections: limits, panic_routes, ..ServeConfig::for_tests(&url, ADMIN_TOKEN) };
        let server = Server::start(&config).await.expect("server starts");
        Edge { addr: server.addr, server: Some(server), _dir: dir }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.expect("connect")
    }

    /// Sends `request` on a new connection and reads every answer until the server closes.
    async fn exchange(&self, request: &[u8]) -> Vec<Answer> {
        let mut stream = self.connect().await;
        stream.write_all(request).await.expect("write");
        answers(&read_to_close(&mut stream, Duration::from_secs(10)).await)
    }

    async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Zoom's `{"code", "message"}` with this status and code, and Zoom's tracking id.
    fn assert_zoom(&self, status: u16, code: i64) {
        assert_eq!((self.status, &self.body["code"]), (status, &Value::from(code)), "{self:?}");
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{self:?}");
        let tracking = self.header("x-zm-trackingid").expect("x-zm-trackingid");
        assert!(tracking.starts_with("v=2.0;clid=userplane;rid="), "{tracking}");
    }

    /// Cloudflare's v4 envelope with this status and first error code, and a ray id.
    fn assert_cloudflare(&self, status: u16, code: u64) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["success"], false, "{self:?}");
        assert_eq!(self.body["errors"][0]["code"], code, "{self:?}");
        assert_eq!(self.body["result"], Value::Null);
        assert!(is_ray(self.header("cf-ray").expect("cf-ray")), "{self:?}");
    }

    /// The control plane's `{"error": {"code", "message"}}` and its request id.
    fn assert_control(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.body["error"]["code"].as_str()), (status, Some(code)), "{self:?}");
        assert!(self.header("x-request-id").is_some_and(|id| id.len() == 16), "{self:?}");
    }
}

/// `<16 lower-case hex>-<3 upper-case letters>`, Cloudflare's ray id.
fn is_ray(value: &str) -> bool {
    let Some((ray, colo)) = value.split_once('-') else { return false };
    ray.len() == 16
        && ray.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && colo.len() == 3
        && colo.bytes().all(|b| b.is_ascii_uppercase())
}

/// Reads until the server closes (or `limit` passes: then the test fails).
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut raw = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut raw))
        .await
        .expect("the server closes the connection")
        .expect("read");
    raw
}

/// The HTTP/1.1 answers in `raw`; each must have a JSON body with its `content-length`.
fn answers(mut raw: &[u8]) -> Vec<Answer> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(head) = response.parse(raw).expect("an HTTP answer") else {
            panic!("incomplete answer: {:?}", String::from_utf8_lossy(raw));
        };
        let headers: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.parse().expect("length"))
            .expect("every answer has a content-length");
        assert!(length > 0, "every answer has a body: {headers:?}");
        let content_type = headers.iter().find(|(n, _)| n == "content-type").map(|(_, v)| v.as_str());
        assert_eq!(content_type, Some("application/json"), "{headers:?}");
        let body = serde_json::from_slice(&raw[head..head + length]).expect("a JSON body");
        out.push(Answer { status: response.code.expect("status"), headers, body });
        raw = &raw[head + length..];
    }
    out
}

fn one(mut answers: Vec<Answer>) -> Answer {
    assert_eq!(answers.len(), 1, "{answers:?}");
    answers.remove(0)
}

#[tokio::test]
async fn rejected_heads_are_answered_in_the_dialect_of_their_path() {
    let edge = Edge::start(ConnectionLimits::default()).await;
    // A control byte, a NUL, obs-fold: 400 with each dialect's body.
    let ctl = one(edge.exchange(b"GET /v2/users HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n").await);
    ctl.assert_zoom(400, 300);
    let nul = one(edge.exchange(b"GET /client/v4/user/tokens/verify HTTP/1.1\r\nHost: x\r\nX-N\0: y\r\n\r\n").await);
    nul.assert_cloudflare(400, 6003);
    let fold = one(edge.exchange(b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n b\r\n\r\n").await);
    fold.assert_control(400, "invalid_request");
    // A bad request line; bytes that are no HTTP at all (a TLS hello) are the control plane's.
    let version = one(edge.exchange(b"GET /oauth/token HTTP/9.9\r\nHost: x\r\n\r\n").await);
    version.assert_zoom(400, 300);
    assert!(version.body["message"].as_str().unwrap().contains("request line"), "{version:?}");
    one(edge.exchange(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n").await)
        .assert_control(400, "invalid_request");
    // Over 100 header fields: 431.
    let mut many = b"GET /client/v4/user/tokens/verify HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..101 {
        many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    one(edge.exchange(&many).await).assert_cloudflare(431, 6003);
    // A target over 64 KiB: 414 (the request line alone is over the head bound).
    let long = format!("GET /v2/users/{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70 * 1024));
    one(edge.exchange(long.as_bytes()).await).assert_zoom(414, 300);
    // A 1 MB header: 431, and the rest of it is read and dropped, so the answer arrives.
    let mut huge = b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'b', 1 << 20));
    huge.extend_from_slice(b"\r\n\r\n");
    one(edge.exchange(&huge).await).assert_control(431, "headers_too_large");
}

#[tokio::test]
async fn hypers_own_414_also_gets_a_body() {
    // With a head bound above 64 KiB the request line fits, and hyper's URI limit answers.
    let limits = ConnectionLimits { max_header_bytes: 128 * 1024, ..ConnectionLimits::default() };
    let edge = Edge::start(limits).await;
    let long = format!("GET /client/v4/{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(65 * 1024));
    one(edge.exchange(long.as_bytes()).await).assert_cloudflare(414, 7000);
}

#[tokio::test]
async fn a_rejection_after_good_requests_on_one_connection_is_the_last_answer() {
    let edge = Edge::start(ConnectionLimits::default()).await;
    // Keep-alive: a good request, its answer, then a bad one in another dialect.
    let mut stream = edge.connect().await;
    stream.write_all(b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut first = vec![0u8; 4096];
    let n = stream.read(&mut first).await.unwrap();
    let first = one(answers(&first[..n]));
    assert_eq!((first.status, &first.body["status"]), (200, &Value::from("ok")));
    stream.write_all(b"GET /v2/users HTTP/1.1\r\nHost: x\r\nBad\0Name: 1\r\n\r\n").await.unwrap();
    one(answers(&read_to_close(&mut stream, Duration::from_secs(10)).await)).assert_zoom(400, 300);

    // Pipelined in one write: two good answers (a POST with a body between), then the rejection.
    // (A body answered unread would close the connection: see the test below.)
    let pipelined = format!(
        "GET /_userplane/health HTTP/1.1\r\nHost: x\r\n\r\n\
         POST /_userplane/introspect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{{\"token\":\"x\"}}\
         GET /_userplane/health HTTP/1.1\r\nHost: x\r\nX: \x7f\r\n\r\n"
    );
    let all = edge.exchange(pipelined.as_bytes()).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0].status, 200);
    assert_eq!((all[1].status, &all[1].body["active"]), (200, &Value::from(false)), "{all:?}");
    all[2].assert_control(400, "invalid_request");
}

#[tokio::test]
async fn half_a_head_then_silence_gets_408_after_the_header_timeout() {
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(30),
        ..ConnectionLimits::default()
    };
    let edge = Edge::start(limits).await;
    let mut stream = edge.connect().await;
    // Idle first (no byte yet): the header clock has not started.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    stream.write_all(b"GET /v2/users HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let raw = read_to_close(&mut stream, Duration::from_secs(5)).await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(3), "{waited:?}");
    one(answers(&raw)).assert_zoom(408, 300);
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_millis(400),
        ..ConnectionLimits::default()
    };
    let edge = Edge::start(limits).await;
    // A connection that never sends a byte.
    let mut silent = edge.connect().await;
    let started = Instant::now();
    assert!(read_to_close(&mut silent, Duration::from_secs(5)).await.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(350), "{:?}", started.elapsed());
    // Keep-alive after an answer: closed once idle for the timeout, without a word.
    let mut kept = edge.connect().await;
    kept.write_all(b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = kept.read(&mut buf).await.unwrap();
    assert_eq!(one(answers(&buf[..n])).status, 200);
    let idle = Instant::now();
    assert!(read_to_close(&mut kept, Duration::from_secs(5)).await.is_empty());
    assert!(idle.elapsed() >= Duration::from_millis(350), "{:?}", idle.elapsed());
}

#[tokio::test]
async fn connections_over_the_cap_get_503_with_retry_after() {
    const CAP: u32 = 200;
    let limits = ConnectionLimits { max_connections: CAP, ..ConnectionLimits::default() };
    let edge = Edge::start(limits).await;
    // 200 slow clients: half a head each, then nothing.
    let mut slow = Vec::new();
    for _ in 0..CAP {
        let mut stream = edge.connect().await;
        stream.write_all(b"GET /v2/users HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(stream);
    }
    // The next ones are refused in their own dialect, and the cap holds for each.
    for _ in 0..3 {
        let refused = one(edge.exchange(b"GET /client/v4/user/tokens/verify HTTP/1.1\r\nHost: x\r\n\r\n").await);
        refused.assert_cloudflare(503, 10013);
        assert_eq!(refused.header("retry-after"), Some("1"));
    }
    one(edge.exchange(b"GET /v2/users HTTP/1.1\r\nHost: x\r\n\r\n").await).assert_zoom(503, 503);
    // None of the 200 was answered: each holds its slot.
    let mut byte = [0u8; 1];
    for stream in &slow {
        assert!(matches!(stream.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
    }
    // One leaves: a slot frees and a new connection is served.
    drop(slow.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer =
            one(edge.exchange(b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await);
        if answer.status == 200 {
            break;
        }
        answer.assert_control(503, "overloaded");
        assert!(Instant::now() < deadline, "the freed slot is never reused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn unfinished_large_heads_are_bounded_by_the_head_limit() {
    let edge = Edge::start(ConnectionLimits::default()).await;
    // 200 connections, each sending 376 KB of a head that never ends (as in issue 8): each
    // is cut at the 64 KiB head bound with a 431, instead of being buffered.
    let mut clients = Vec::new();
    for i in 0..200 {
        let stream = edge.connect().await;
        clients.push(tokio::spawn(async move {
            let (mut read, mut write) = stream.into_split();
            let writer = tokio::spawn(async move {
                let mut head = format!("GET /_userplane/tenants/{i} HTTP/1.1\r\nHost: x\r\nX-Big: ").into_bytes();
                head.extend(std::iter::repeat_n(b'b', 376 * 1024));
                let _ = write.write_all(&head).await; // the server may close first
                write
            });
            let mut raw = Vec::new();
            tokio::time::timeout(Duration::from_secs(20), read.read_to_end(&mut raw)).await.expect("closed").ok();
            drop(writer.await);
            raw
        }));
    }
    for client in clients {
        one(answers(&client.await.unwrap())).assert_control(431, "headers_too_large");
    }
    // A head just under the bound is served.
    let mut fits = b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ".to_vec();
    fits.extend(std::iter::repeat_n(b'b', 60 * 1024));
    fits.extend_from_slice(b"\r\n\r\n");
    assert_eq!(one(edge.exchange(&fits).await).status, 200);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_in_its_dialects_shape() {
    let edge = Edge::start(ConnectionLimits::default()).await;
    let health = one(edge.exchange(b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await);
    let id = health.header("x-request-id").expect("x-request-id");
    assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    // A well-formed incoming id is honoured; a malformed one replaced.
    let given =
        b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\nX-Request-Id: run-7.step_3\r\nConnection: close\r\n\r\n";
    assert_eq!(one(edge.exchange(given).await).header("x-request-id"), Some("run-7.step_3"));
    let bad = b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\nX-Request-Id: a;b\r\nConnection: close\r\n\r\n";
    assert_ne!(one(edge.exchange(bad).await).header("x-request-id"), Some("a;b"));
    // Zoom: x-zm-trackingid; Cloudflare: cf-ray, honouring a ray-shaped id.
    let zoom = one(edge.exchange(b"GET /v2/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await);
    zoom.assert_zoom(401, 124);
    let ray = b"GET /client/v4/user/tokens/verify HTTP/1.1\r\nHost: x\r\nX-Request-Id: 0123456789ABCDEF\r\nConnection: close\r\n\r\n";
    let cloudflare = one(edge.exchange(ray).await);
    cloudflare.assert_cloudflare(400, 9106);
    assert_eq!(cloudflare.header("cf-ray"), Some("0123456789abcdef-UPL"));
    // Ids differ per request.
    let again = one(edge.exchange(b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await);
    assert_ne!(again.header("x-request-id"), Some(id));
}

/// Log lines written while the test runs (the server runs on the test's own thread).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_the_dialects_500_and_logs_its_request_id() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let edge = Edge::start_with(ConnectionLimits::default(), true).await;

    let zoom = one(edge.exchange(b"GET /v2/__panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await);
    zoom.assert_zoom(500, 500);
    let cloudflare =
        one(edge.exchange(b"GET /client/v4/__panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await);
    cloudflare.assert_cloudflare(500, 10013);
    let control = one(edge.exchange(b"GET /_userplane/__panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await);
    control.assert_control(500, "internal");
    // The server still serves.
    let health = one(edge.exchange(b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await);
    assert_eq!(health.status, 200);

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let panics: Vec<&str> = logs.lines().filter(|l| l.contains("a handler panicked")).collect();
    assert_eq!(panics.len(), 3, "{logs}");
    let ray = cloudflare.header("cf-ray").unwrap().split('-').next().unwrap();
    let control_id = control.header("x-request-id").unwrap();
    assert!(panics[1].contains(ray) && panics[2].contains(control_id), "{panics:?}");
    assert!(panics.iter().all(|l| l.contains("ERROR")), "{panics:?}");
}

#[tokio::test]
async fn panic_routes_are_absent_by_default() {
    let edge = Edge::start(ConnectionLimits::default()).await;
    let answer = one(edge.exchange(b"GET /_userplane/__panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await);
    assert_ne!(answer.status, 500, "{answer:?}");
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_closes_idle_connections() {
    let limits = ConnectionLimits { header_read_timeout: Duration::from_secs(2), ..ConnectionLimits::default() };
    let mut edge = Edge::start(limits).await;
    // An idle keep-alive connection and a request whose body is still arriving.
    let mut idle = edge.connect().await;
    idle.write_all(b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = idle.read(&mut buf).await.unwrap();
    assert_eq!(one(answers(&buf[..n])).status, 200);
    let body = br#"{"token": "not-a-token"}"#;
    let mut busy = edge.connect().await;
    let head = format!(
        "POST /_userplane/introspect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    busy.write_all(head.as_bytes()).await.unwrap();
    busy.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let stopping = tokio::spawn(async move { edge.stop().await });
    // The idle connection closes without an answer.
    assert!(read_to_close(&mut idle, Duration::from_secs(5)).await.is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!stopping.is_finished(), "stop waits for the request in flight");
    busy.write_all(&body[5..]).await.unwrap();
    let answer = one(answers(&read_to_close(&mut busy, Duration::from_secs(5)).await));
    assert_eq!((answer.status, &answer.body["active"]), (200, &Value::from(false)), "{answer:?}");
    tokio::time::timeout(Duration::from_secs(5), stopping).await.expect("stop returns").unwrap();
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_gets_408_and_changes_nothing() {
    let limits = ConnectionLimits { body_read_timeout: Duration::from_millis(300), ..ConnectionLimits::default() };
    let edge = Edge::start(limits).await;
    let tenants = |edge: &Edge| {
        let url = format!("http://{}/_userplane/tenants", edge.addr);
        async move {
            let answer = reqwest::Client::new().get(url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
            answer.json::<Value>().await.unwrap()["tenants"].as_array().map_or(0, Vec::len)
        }
    };
    let before = tenants(&edge).await;
    // A head that promises 200 bytes of a tenant document, then a trickle that stops.
    let mut stream = edge.connect().await;
    let head = format!(
        "POST /_userplane/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"provider\":"
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let raw = read_to_close(&mut stream, Duration::from_secs(5)).await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(3), "{waited:?}");
    one(answers(&raw)).assert_control(408, "request_timeout");
    assert_eq!(tenants(&edge).await, before, "a timed-out create created a tenant");
    // A body that comes at once is unaffected, on the same server.
    let ok = edge.exchange(b"GET /_userplane/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(one(ok).status, 200);
}

#[tokio::test]
async fn an_answer_given_before_the_body_was_read_closes_the_connection_and_says_so() {
    let edge = Edge::start(ConnectionLimits::default()).await;
    // Refused from its declared length alone: the body is never read.
    let refused = one(edge
        .exchange(
            format!(
                "POST /_userplane/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
                 Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
            )
            .as_bytes(),
        )
        .await);
    refused.assert_control(413, "body_too_large");
    assert_eq!(refused.header("connection"), Some("close"), "{refused:?}");
    // A body read to its end keeps the connection: both answers come on one socket.
    let body = "{\"user\":\"nobody@example.com\",\"kind\":\"sso\"}";
    let post = format!(
        "POST /_userplane/tenants/none/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let both = edge
        .exchange(format!("{post}GET /_userplane/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await;
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[0].header("connection"), None, "{both:?}");
    assert_eq!(both[1].status, 200);
}
