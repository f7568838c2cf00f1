//! A socket closed the lingering way (as Apache and nginx close theirs).
//!
//! A response may be sent before the request body is read: an upload refused
//! for its extension or its size. Closing the socket then, with the client's
//! bytes still arriving, makes the kernel answer them with a reset, and a
//! client (or a proxy) that writes its whole body before reading loses the
//! answer with its connection. So when the connection ends, the socket first
//! says it is done writing, then reads and discards what still arrives until
//! the client closes its side, or for [`LINGER`] at most.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// The longest a closing connection reads on.
pub const LINGER: Duration = Duration::from_secs(2);

pub struct Lingering {
    socket: TcpStream,
    /// Set once the write side is shut: the lingering's deadline.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl Lingering {
    pub fn new(socket: TcpStream) -> Lingering {
        Lingering {
            socket,
            deadline: None,
        }
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    /// Shuts the write side, then drains the read side until the client
    /// closes it or [`LINGER`] passes. Errors while draining end it quietly:
    /// the answer has been sent.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.deadline.is_none() {
            ready!(Pin::new(&mut this.socket).poll_shutdown(cx))?;
            this.deadline = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        let deadline = this.deadline.as_mut().expect("set above");
        let mut scratch = [0u8; 16 * 1024];
        loop {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.socket).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
