//! The service hyper calls for each request: it gives the request its id (an extension,
//! and the span every log line of the request is written in), tells the connection's
//! clock that a request is in flight, turns a panic into the dialect's 500, puts
//! the id header on the answer, and counts the answer in the metrics.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use axum::response::Response;
use hyper::body::Incoming;
use tracing::Level;

use super::body_deadline::DeadlineBody;
use super::io::Activity;
use super::request_id::RequestId;
use super::{Dialect, Dialects, Failure, OperationName};

#[derive(Clone)]
pub(super) struct EdgeService {
    pub(super) router: Router,
    pub(super) dialects: Arc<Dialects>,
    pub(super) activity: Arc<Activity>,
    pub(super) remote: SocketAddr,
    /// How long a request's body may take to arrive (from its head).
    pub(super) body_read_timeout: std::time::Duration,
}

impl hyper::service::Service<Request<Incoming>> for EdgeService {
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture;

    fn call(&self, request: Request<Incoming>) -> EdgeFuture {
        // A body still to come must come in time; an empty one needs no timer.
        let body_read_timeout = self.body_read_timeout;
        let mut body_read = None;
        let mut request = request.map(|body| {
            if hyper::body::Body::is_end_stream(&body) {
                Body::new(body)
            } else {
                let (body, read_whole) = DeadlineBody::new(body, body_read_timeout);
                body_read = Some(read_whole);
                Body::new(body)
            }
        });
        let dialect = self.dialects.of_path(request.uri().path().as_bytes());
        let id = RequestId::for_request(request.headers(), &dialect.request_id);
        let started = Instant::now();
        let line = tracing::enabled!(target: "userplane::http", Level::DEBUG)
            .then(|| RequestLine { method: request.method().clone(), path: request.uri().path().to_owned() });
        request.extensions_mut().insert(id);
        request.extensions_mut().insert(ConnectInfo(self.remote));
        let span = tracing::info_span!(target: "userplane::http", "request", id = %id);
        self.activity.request_started();
        let inner = span.in_scope(|| tower::Service::call(&mut self.router.clone(), request));
        EdgeFuture { inner, span, id, dialect, started, line, body_read, activity: self.activity.clone() }
    }
}

/// Kept for the request line, only when it will be logged.
struct RequestLine {
    method: Method,
    path: String,
}

pub(super) struct EdgeFuture {
    inner: axum::routing::future::RouteFuture<Infallible>,
    span: tracing::Span,
    id: RequestId,
    dialect: &'static Dialect,
    started: Instant,
    line: Option<RequestLine>,
    /// Whether the request's body was read to its end (`None`: it had none).
    body_read: Option<Arc<std::sync::atomic::AtomicBool>>,
    activity: Arc<Activity>,
}

impl Future for EdgeFuture {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut this.inner).poll(cx)));
        let mut response = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(response))) => response,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("(no message)");
                tracing::error!(request_id = %this.id, panic = message, "a handler panicked; answered 500");
                (this.dialect.failure)(Failure::Internal)
            }
        };
        if let Some(fault) = response.extensions().get::<super::ConnectionFault>() {
            this.activity.abort(*fault);
        }
        let (name, value) = this.id.header(&this.dialect.request_id);
        response.headers_mut().insert(name, value);
        // Answered before its body was read (a refusal): hyper cannot reuse the connection,
        // so say so, rather than let the client send its next request into a closing socket.
        if this.body_read.as_ref().is_some_and(|read| !read.load(std::sync::atomic::Ordering::Relaxed)) {
            response
                .headers_mut()
                .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        }
        let took = this.started.elapsed();
        let operation = response.extensions().get::<OperationName>().map(|name| name.0);
        crate::metrics::request_answered(this.dialect.name, operation, response.status(), took, this.dialect.revoking);
        if let Some(line) = &this.line {
            tracing::debug!(
                target: "userplane::http",
                request_id = %this.id,
                method = %line.method,
                path = %line.path,
                status = response.status().as_u16(),
                micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
                "request"
            );
        }
        Poll::Ready(Ok(response))
    }
}

impl Drop for EdgeFuture {
    fn drop(&mut self) {
        self.activity.request_finished();
    }
}
