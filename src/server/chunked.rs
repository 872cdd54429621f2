//! A socket adapter that bounds every read and write to `max_chunk_length` bytes, as the
//! manual's `[Session] max_chunk_length` says ("maximum chunk length for TCP read/write
//! operations").

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Wraps a socket half; each `poll_read`/`poll_write` moves at most `max` bytes.
pub struct Chunked<T> {
    inner: T,
    max: usize,
}

impl<T> Chunked<T> {
    /// Bounds `inner`'s reads and writes to `max` bytes (at least 1).
    pub fn new(inner: T, max: usize) -> Self {
        Self {
            inner,
            max: max.max(1),
        }
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
        Pin::new(&mut self.inner).poll_write(cx, &buf[..n])
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
