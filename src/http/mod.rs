//! The HTTP server layer under the router: accepting connections within a cap, the
//! connection clock, and answers with a body in the dialect's format for everything hyper
//! would otherwise answer bare or not at all.
//!
//! Each connection is served by hyper's HTTP/1 state machine over [`io::EdgeIo`], a thin
//! wrapper around the socket:
//!
//! - **Rejections.** On a head it cannot parse (bad request line, a control byte, NUL or
//!   obs-fold in a header, a target over 64 KiB, too many or too large headers) hyper writes
//!   a bare `400`/`414`/`431` with `content-length: 0` and ends the connection; it cannot
//!   be given a body. `EdgeIo` recognises that head in its writes (every answer of ours has
//!   a body and a content type; hyper's has neither) and holds it back. When hyper returns,
//!   the connection is taken apart (`poll_without_shutdown` + `into_parts`): the bytes hyper
//!   had not consumed begin with the very head it failed on, so its request line names the
//!   dialect, and the dialect's answer is written in place of hyper's. This is exact under
//!   keep-alive and pipelining: hyper reads a head only after the previous answer is
//!   written, a failed head is always the connection's last, and nothing of the client's
//!   request stream has to be parsed twice.
//! - **Time.** The clock lives in `EdgeIo` (hyper's own header timer would also run while
//!   the connection is idle): a head must be complete within the header-read timeout of
//!   its first byte (else `408` in the dialect's format, then close), and a connection
//!   with no request in flight and nothing read or written for the idle timeout is closed.
//!   The service tells the clock when a request is in flight ([`io::Activity`]).
//! - **Bounds.** At most `max_connections` are served; one more is accepted, answered `503`
//!   with `Retry-After` in the dialect of its request line (read briefly), and closed; past
//!   a few such answers at once, extra connections are just closed. A head is bounded in
//!   bytes (hyper's buffer) and in fields.
//! - **Around the router** ([`service`]): a request id per request, a panic caught as the
//!   dialect's `500` and logged with the id. `tower_http::catch_panic` cannot choose a body
//!   by request, so the catch sits in the one future that already knows the dialect.
//!
//! Shutdown stops accepting, lets hyper finish the requests in flight (idle connections
//! close at once), and returns when every connection has ended.
//!
//! The layer names no dialect: each is a [`Dialect`] value (its paths, its error body for
//! a [`Failure`], its request-id header) that `api` declares and [`serve`] is handed.

pub mod body_deadline;
mod connection;
mod dialect;
mod failure;
mod io;
pub mod request_id;
mod service;

/// An answer that is no answer: the service puts this on a response (a fault rule's
/// reset or empty reply) and the connection ends without a byte of it, reset (RST) or
/// closed (FIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionFault {
    Reset,
    Close,
}

/// The operation an answer was routed to (a response extension the dialects set), for
/// the metrics' label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperationName(pub &'static str);

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot, watch};

pub use dialect::{Dialect, Dialects};
pub use failure::Failure;
pub use request_id::{GivenId, IdHeader, RequestId};

use crate::config::ConnectionLimits;

/// Refusals (503) being written at once; more connections over the cap are closed unanswered.
const MAX_REFUSALS: usize = 64;
/// How long a refused connection is given to send its request line.
const REFUSAL_READ_TIME: Duration = Duration::from_millis(500);

/// Serves `router` on `listener` until `stop` fires, then shuts down gracefully; answers
/// of its own are in the dialect of their path among `dialects`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    dialects: Dialects,
    limits: ConnectionLimits,
    stop: oneshot::Receiver<()>,
) {
    let dialects = Arc::new(dialects);
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let (closing, closing_seen) = watch::channel(false);
    let limits = Arc::new(limits);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
        };
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            let (router, limits, closing) = (router.clone(), limits.clone(), closing_seen.clone());
            let dialects = dialects.clone();
            tokio::spawn(async move {
                connection::serve(stream, remote, router, dialects, limits, closing).await;
                drop(slot);
            });
        } else if let Ok(refusal) = refusals.clone().try_acquire_owned() {
            let dialects = dialects.clone();
            tokio::spawn(async move {
                refuse(stream, &dialects).await;
                drop(refusal);
            });
        }
    }
    drop(listener);
    let _ = closing.send(true);
    // Every slot back means every connection has ended.
    let _ = slots.acquire_many(limits.max_connections).await;
}

/// A connection over the cap: 503 in the dialect of its request line, then close.
async fn refuse(mut stream: TcpStream, dialects: &Dialects) {
    let mut head = [0u8; 1024];
    let read = tokio::time::timeout(REFUSAL_READ_TIME, stream.read(&mut head)).await;
    let head = match read {
        Ok(Ok(n)) => &head[..n],
        _ => &head[..0],
    };
    let target = head.split(|b| *b == b' ').nth(1).unwrap_or_default();
    connection::answer(&mut stream, dialects.of_path(target), Failure::Overloaded).await;
}

/// A failed accept: a connection that died in the backlog is skipped; anything else (out
/// of file descriptors) is logged and waited out briefly.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(err.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(%err, "accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
