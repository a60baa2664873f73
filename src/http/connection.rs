//! One connection: hyper's HTTP/1 state machine over [`EdgeIo`], and the answers hyper
//! cannot give with a body (its parse errors, a head that timed out), written here once
//! hyper has let go of the connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderValue;
use axum::response::Response;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::io::{Activity, EdgeIo, Expired};
use super::request_id::RequestId;
use super::service::EdgeService;
use super::{Dialect, Dialects, Failure};
use crate::config::ConnectionLimits;

/// hyper's default number of header fields (a different one moves them to the heap).
const HYPER_DEFAULT_MAX_HEADERS: u16 = 100;
/// How long an answer of the HTTP layer may take to write, and how long the rest of the
/// client's request is then read and dropped (so the close does not reset the answer).
const ANSWER_WRITE_TIME: Duration = Duration::from_secs(2);
const LINGER_TIME: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1 << 20;

/// Serves one connection until the client leaves, a limit closes it, or shutdown.
pub(super) async fn serve(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    dialects: Arc<Dialects>,
    limits: Arc<ConnectionLimits>,
    mut closing: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = EdgeIo::new(stream, activity.clone(), limits.header_read_timeout, limits.idle_timeout);
    let service = EdgeService {
        router,
        dialects: dialects.clone(),
        activity,
        remote,
        body_read_timeout: limits.body_read_timeout,
    };
    let mut builder = http1::Builder::new();
    let head_bytes = limits.max_header_bytes as usize;
    // Flattened writes hand `EdgeIo` whole heads; the buffer bound is the head bound.
    builder.writev(false).max_buf_size(head_bytes.max(8192)).max_header_size(head_bytes);
    if limits.max_headers != HYPER_DEFAULT_MAX_HEADERS {
        builder.max_headers(usize::from(limits.max_headers));
    }
    let mut connection = builder.serve_connection(TokioIo::new(io), service);
    let mut shutting_down = false;
    let served = loop {
        tokio::select! {
            served = std::future::poll_fn(|cx| connection.poll_without_shutdown(cx)) => break served,
            changed = closing.changed(), if !shutting_down => {
                shutting_down = true;
                if changed.is_ok() {
                    std::pin::Pin::new(&mut connection).graceful_shutdown();
                }
            }
        }
    };
    let parts = connection.into_parts();
    let io = parts.io.into_inner();
    let failure = if served.is_err() { failure(&io, &parts.read_buf, head_bytes) } else { None };
    let aborted = io.aborted();
    let mut stream = io.into_stream();
    if aborted == Some(super::ConnectionFault::Reset) {
        // SO_LINGER is 0: dropping the socket sends RST (a shutdown first would send FIN).
        return;
    }
    if let Some(failure) = failure {
        let dialect = dialects.of_path(request_target(&parts.read_buf));
        answer(&mut stream, dialect, failure).await;
    } else {
        let _ = stream.shutdown().await;
    }
}

/// What went wrong, from hyper's held-back answer or the clock, and the request bytes
/// hyper had not consumed (the head it failed on starts them).
fn failure(io: &EdgeIo, unread: &[u8], head_bytes: usize) -> Option<Failure> {
    let line_over_bound = unread.iter().position(|b| *b == b'\n').is_none_or(|end| end >= head_bytes);
    match (io.held_back, io.expired) {
        (Some(414), _) => Some(Failure::UriTooLong),
        // The request line alone is over the head bound: its target is too long.
        (Some(431), _) if line_over_bound => Some(Failure::UriTooLong),
        (Some(431), _) => Some(Failure::HeadersTooLarge),
        (Some(_), _) if request_line_valid(unread) => Some(Failure::BadHeader),
        (Some(_), _) => Some(Failure::BadRequestLine),
        // A head had begun (hyper still holds part of it); a silent idle connection just closes.
        (None, Some(Expired::Head)) if !unread.is_empty() => Some(Failure::HeaderTimeout),
        _ => None,
    }
}

fn request_line_valid(unread: &[u8]) -> bool {
    let Some(end) = unread.iter().position(|b| *b == b'\n') else { return false };
    // The line alone, as a head without headers.
    let mut line = unread[..=end].to_vec();
    line.extend_from_slice(b"\r\n");
    let mut no_headers = [];
    matches!(httparse::Request::new(&mut no_headers).parse(&line), Ok(httparse::Status::Complete(_)))
}

/// The target of a (possibly partial or malformed) request line: what follows the first space.
fn request_target(head: &[u8]) -> &[u8] {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    line.split(|b| *b == b' ').nth(1).unwrap_or_default()
}

/// Writes the dialect's answer for `failure` on a connection hyper no longer serves, then
/// closes it.
pub(super) async fn answer(stream: &mut TcpStream, dialect: &Dialect, failure: Failure) {
    let mut response = (dialect.failure)(failure);
    let (name, value) = RequestId::generate().header(&dialect.request_id);
    response.headers_mut().insert(name, value);
    if failure == Failure::Overloaded {
        response.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    }
    let bytes = encode(response).await;
    let written = tokio::time::timeout(ANSWER_WRITE_TIME, async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    })
    .await;
    if matches!(written, Ok(Ok(()))) {
        let _ = tokio::time::timeout(LINGER_TIME, drain(stream)).await;
    }
}

/// Reads what the client still sends, up to a bound, until it closes.
async fn drain(stream: &mut TcpStream) {
    let mut sink = [0u8; 8192];
    let mut total = 0;
    while total < LINGER_BYTES {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}

/// An answer as HTTP/1.1 bytes, closing the connection.
async fn encode(response: Response) -> Vec<u8> {
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let status = parts.status;
    let mut out = format!("HTTP/1.1 {} {}\r\n", status.as_str(), status.canonical_reason().unwrap_or("")).into_bytes();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_LENGTH {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    out.extend_from_slice(
        format!("content-length: {}\r\ndate: {date}\r\nconnection: close\r\n\r\n", body.len()).as_bytes(),
    );
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_of_a_broken_line_still_names_the_dialect() {
        assert_eq!(request_target(b"GET /v2/users HTTP/1.1\r\nBad\0: x"), b"/v2/users");
        assert_eq!(request_target(b"GET /client/v4/accounts/aaaa"), b"/client/v4/accounts/aaaa");
        assert_eq!(request_target(b"garbage"), b"");
        assert!(request_line_valid(b"GET / HTTP/1.1\r\nx\0: y\r\n\r\n"));
        assert!(!request_line_valid(b"GET / HTTP/9\r\n\r\n"));
        assert!(!request_line_valid(b"G\x01T / HTTP/1.1\r\n\r\n"));
    }
}
