//! A socket adapter for the `[Session]` options: every read and write moves at most
//! `max_chunk_length` bytes ("maximum chunk length for TCP read/write operations"), and a write
//! that cannot make progress for `send_timeout` fails with `TimedOut`, so a client that stops
//! reading cannot hold its session forever.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Wraps a socket half; each `poll_read`/`poll_write` moves at most `max` bytes.
pub struct Chunked<T> {
    inner: T,
    max: usize,
    send_timeout: Option<Duration>,
    /// Set while a write is blocked: when it fires, the write fails.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> Chunked<T> {
    /// Bounds `inner`'s reads and writes to `max` bytes (at least 1).
    pub fn new(inner: T, max: usize) -> Self {
        Self {
            inner,
            max: max.max(1),
            send_timeout: None,
            stalled: None,
        }
    }

    /// Fails a write that makes no progress for `timeout`.
    #[must_use]
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = Some(timeout);
        self
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Chunked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let max = self.max;
        if buf.remaining() <= max {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        // Read into a window of `max` bytes of `buf` (initialised, so no unsafe is needed).
        let window = buf.initialize_unfilled_to(max);
        let mut limited = ReadBuf::new(window);
        let r = Pin::new(&mut self.inner).poll_read(cx, &mut limited);
        let n = limited.filled().len();
        if let Poll::Ready(Ok(())) = r {
            buf.advance(n);
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Chunked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.max);
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, &buf[..n]) {
            Poll::Pending => {
                let Some(timeout) = this.send_timeout else {
                    return Poll::Pending;
                };
                let timer = this
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if timer.as_mut().poll(cx).is_ready() {
                    this.stalled = None;
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("send_timeout: the client took no data for {timeout:?}"),
                    )));
                }
                Poll::Pending
            }
            ready => {
                this.stalled = None;
                ready
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Records the size of every write.
    struct Recorder(Vec<usize>, Vec<u8>);

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.push(buf.len());
            self.1.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Never takes any data.
    struct Stuck;

    impl AsyncWrite for Stuck {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Pending
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_stalled_write_times_out() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut w = Chunked::new(Stuck, 1000).with_send_timeout(Duration::from_millis(50));
            let e = w.write_all(b"hello").await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        });
    }

    #[test]
    fn reads_and_writes_are_bounded() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
            let mut w = Chunked::new(Recorder(Vec::new(), Vec::new()), 1000);
            w.write_all(&data).await.unwrap();
            assert!(w.inner.0.iter().all(|n| *n <= 1000));
            assert_eq!(w.inner.0.len(), 10);
            assert_eq!(w.inner.1, data);

            let mut r = Chunked::new(&data[..], 1000);
            let mut buf = vec![0u8; 5000];
            assert_eq!(r.read(&mut buf).await.unwrap(), 1000);
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, data[1000..]);
        });
    }
}
