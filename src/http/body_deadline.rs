//! A request body must arrive whole within a deadline (`--body-read-timeout`), counted
//! from the moment its head was read: the size limit bounds what a client can make the
//! server hold, this bounds for how long. A body past its deadline fails to read with
//! [`BodyTimedOut`], which each dialect answers with its own 408.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// The error a body past its deadline reads with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// A body that fails with [`BodyTimedOut`] once its deadline has passed, and says when
/// it has been read to its end.
pub(super) struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    read_whole: Arc<AtomicBool>,
}

impl DeadlineBody {
    /// The body, and a flag that turns true once it has been read to its end.
    pub(super) fn new(inner: Incoming, timeout: Duration) -> (Self, Arc<AtomicBool>) {
        let read_whole = Arc::new(AtomicBool::new(false));
        (
            DeadlineBody { inner, deadline: Box::pin(tokio::time::sleep(timeout)), read_whole: read_whole.clone() },
            read_whole,
        )
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            if frame.is_none() || self.inner.is_end_stream() {
                self.read_whole.store(true, Ordering::Relaxed);
            }
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
