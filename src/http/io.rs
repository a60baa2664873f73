//! The connection's IO as hyper sees it: the socket, plus the connection's clock
//! (header-read and idle timeouts) and the catch for hyper's own parse-error answers.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

const NONE: u64 = u64::MAX;

/// What the service tells the IO about the connection: whether a request is being
/// handled, and since when it is idle. Times are milliseconds since the connection began.
pub(super) struct Activity {
    began: Instant,
    in_flight: AtomicU32,
    idle_since: AtomicU64,
    head_started: AtomicU64,
    /// A [`super::ConnectionFault`] to act on instead of writing: 0 none, 1 close, 2 reset.
    abort: std::sync::atomic::AtomicU8,
}

impl Activity {
    pub(super) fn new() -> Activity {
        Activity {
            began: Instant::now(),
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(0),
            head_started: AtomicU64::new(NONE),
            abort: std::sync::atomic::AtomicU8::new(0),
        }
    }

    fn now(&self) -> u64 {
        self.began.elapsed().as_millis() as u64
    }

    /// A whole request head has been parsed.
    pub(super) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(NONE, Ordering::Relaxed);
    }

    /// The answer must not be written: the connection ends instead.
    pub(super) fn abort(&self, fault: super::ConnectionFault) {
        let code = match fault {
            super::ConnectionFault::Close => 1,
            super::ConnectionFault::Reset => 2,
        };
        self.abort.store(code, Ordering::Relaxed);
    }

    pub(super) fn aborted(&self) -> Option<super::ConnectionFault> {
        match self.abort.load(Ordering::Relaxed) {
            1 => Some(super::ConnectionFault::Close),
            2 => Some(super::ConnectionFault::Reset),
            _ => None,
        }
    }

    /// Its answer is ready (or it was dropped).
    pub(super) fn request_finished(&self) {
        self.idle_since.store(self.now(), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Which clock ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expired {
    /// A request head had begun and did not finish in time.
    Head,
    /// Nothing happened on the connection for the idle timeout.
    Idle,
}

/// The socket, watched.
pub(super) struct EdgeIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    header_timeout: u64,
    idle_timeout: u64,
    last_write: u64,
    /// Fires at or before the next deadline; checked, then re-armed.
    alarm: Pin<Box<Sleep>>,
    pub(super) expired: Option<Expired>,
    /// The status of hyper's own parse-error answer, held back (it has no body).
    pub(super) held_back: Option<u16>,
}

impl EdgeIo {
    pub(super) fn new(stream: TcpStream, activity: Arc<Activity>, header: Duration, idle: Duration) -> EdgeIo {
        let header_timeout = header.as_millis() as u64;
        let idle_timeout = idle.as_millis() as u64;
        let first = activity.began + Duration::from_millis(header_timeout.min(idle_timeout));
        EdgeIo {
            stream,
            activity,
            header_timeout,
            idle_timeout,
            last_write: 0,
            alarm: Box::pin(tokio::time::sleep_until(first.into())),
            expired: None,
            held_back: None,
        }
    }

    pub(super) fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// Whether the service asked for the connection to end without its answer.
    pub(super) fn aborted(&self) -> Option<super::ConnectionFault> {
        self.activity.aborted()
    }

    /// Refuses a write the service wants dropped; a reset is armed first (`SO_LINGER` 0,
    /// so that the close sends RST).
    fn refuse_write(&self) -> Option<io::Error> {
        let fault = self.activity.aborted()?;
        if fault == super::ConnectionFault::Reset {
            let _ = self.stream.set_zero_linger();
        }
        Some(io::Error::new(io::ErrorKind::ConnectionAborted, "answer withheld (fault injection)"))
    }

    /// Ready with an error once a deadline has passed; else pending, with the alarm set.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        while self.alarm.as_mut().poll(cx).is_ready() {
            let now = self.activity.now();
            let (deadline, kind) = if self.activity.in_flight.load(Ordering::Relaxed) > 0 {
                (now.saturating_add(self.idle_timeout), None)
            } else {
                match self.activity.head_started.load(Ordering::Relaxed) {
                    NONE => {
                        let since = self.activity.idle_since.load(Ordering::Relaxed).max(self.last_write);
                        (since.saturating_add(self.idle_timeout), Some(Expired::Idle))
                    }
                    started => (started.saturating_add(self.header_timeout), Some(Expired::Head)),
                }
            };
            if deadline <= now
                && let Some(kind) = kind
            {
                self.expired = Some(kind);
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "connection timed out"));
            }
            // A head may begin before `deadline`; its own deadline is then at most
            // `now + header_timeout` away.
            let next = deadline.min(now.saturating_add(self.header_timeout));
            let at = self.activity.began + Duration::from_millis(next);
            self.alarm.as_mut().reset(at.into());
        }
        Poll::Pending
    }
}

impl AsyncRead for EdgeIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.expired.is_some() {
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let activity = &this.activity;
                if buf.filled().len() > before
                    && activity.in_flight.load(Ordering::Relaxed) == 0
                    && activity.head_started.load(Ordering::Relaxed) == NONE
                {
                    activity.head_started.store(activity.now(), Ordering::Relaxed);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => this.poll_deadline(cx).map(Err),
        }
    }
}

impl AsyncWrite for EdgeIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let Some(err) = this.refuse_write() {
            return Poll::Ready(Err(err));
        }
        let buf = match scan(buf) {
            Scan::Clean => buf,
            Scan::Automatic { len, status } => {
                this.held_back = Some(status);
                return Poll::Ready(Ok(len));
            }
            Scan::Before(at) => &buf[..at],
        };
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.last_write = this.activity.now();
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => this.poll_deadline(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.refuse_write() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Where hyper's own answer to a request it could not parse sits in a write.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// None here: write it all.
    Clean,
    /// It starts the buffer and is `len` bytes long.
    Automatic { len: usize, status: u16 },
    /// One may start at this offset: write only what comes before it.
    Before(usize),
}

/// hyper writes a parse-error answer as a bare head (`content-length: 0`, `date`, no
/// `content-type`) for 400, 414 and 431; every answer of ours has a body and a content
/// type. hyper hands over whole heads (flattened writes), and JSON never holds a raw
/// CR LF, so such a head inside a write is always one of hyper's.
fn scan(buf: &[u8]) -> Scan {
    for at in memchr::memmem::find_iter(buf, b"HTTP/1.") {
        let head = &buf[at..];
        if head.len() < 12 {
            return if at == 0 { Scan::Clean } else { Scan::Before(at) };
        }
        if !matches!(&head[9..12], b"400" | b"414" | b"431") {
            continue;
        }
        let mut headers = [httparse::EMPTY_HEADER; 3];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(head) {
            Ok(httparse::Status::Complete(len)) if is_bare(&response) => {
                let status = response.code.unwrap_or(400);
                return if at == 0 { Scan::Automatic { len, status } } else { Scan::Before(at) };
            }
            Ok(httparse::Status::Partial) if at > 0 => return Scan::Before(at),
            _ => continue,
        }
    }
    Scan::Clean
}

fn is_bare(response: &httparse::Response<'_, '_>) -> bool {
    response.headers.iter().all(|h| {
        (h.name.eq_ignore_ascii_case("content-length") && h.value == b"0")
            || h.name.eq_ignore_ascii_case("date")
            || h.name.eq_ignore_ascii_case("connection")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYPER_431: &[u8] =
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 20:00:00 GMT\r\n\r\n";

    #[test]
    fn finds_hypers_bare_answers_and_only_those() {
        assert_eq!(scan(HYPER_431), Scan::Automatic { len: HYPER_431.len(), status: 431 });
        let ours =
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\ndate: x\r\n\r\n{}";
        assert_eq!(scan(ours), Scan::Clean);
        let mut both = ours.to_vec();
        both.extend_from_slice(HYPER_431);
        assert_eq!(scan(&both), Scan::Before(ours.len()));
        // Text in a body that merely mentions a status line is not an answer.
        let body = b"HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\n{\"note\":\"HTTP/1.1 400 Bad Request\\r\\n\"}";
        let Scan::Before(at) = scan(body) else { panic!("a possible head is split off") };
        assert_eq!(scan(&body[at..]), Scan::Clean);
    }
}
