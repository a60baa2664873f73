//! One raw HTTP/1.1 exchange on a fresh TCP connection: the bytes as given, then the first
//! answer read back (Content-Length, chunked, or up to the close).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long an answer may take; a server that waits longer has not answered.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Sends `bytes` to the server at `base` (`http://host:port`); returns the status and the
/// body of its answer, or None when it sent none.
pub async fn exchange(base: &str, bytes: &[u8]) -> Option<(u16, Vec<u8>)> {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.ok()?;
    // The server may answer (and close) before it has read everything: a failed write is
    // not a failure as long as an answer comes back.
    let _ = stream.write_all(bytes).await;
    let mut received = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let read = tokio::time::timeout(ANSWER_WITHIN, async {
        loop {
            if let Some(answer) = parse(&received) {
                return Some(answer);
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return parse_at_close(&received),
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok().flatten()
}

/// A complete answer in `received`, if there is one yet.
fn parse(received: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = received.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&received[..end]).ok()?;
    let body = &received[end + 4..];
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_ascii_lowercase())
        })
    };
    if let Some(length) = header("content-length") {
        let length: usize = length.parse().ok()?;
        return (body.len() >= length).then(|| (status, body[..length].to_vec()));
    }
    if header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        return dechunk(body).map(|body| (status, body));
    }
    None
}

/// At the close, whatever came: a head without a length ends with the connection.
fn parse_at_close(received: &[u8]) -> Option<(u16, Vec<u8>)> {
    parse(received).or_else(|| {
        let end = received.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&received[..end]).ok()?;
        let status = head.split(' ').nth(1)?.parse().ok()?;
        Some((status, received[end + 4..].to_vec()))
    })
}

/// A complete chunked body, decoded.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line_end]).ok()?.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if body.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}
