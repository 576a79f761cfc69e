//! A listener whose connections can be cut from inside a handler, for "drop" faults.
//!
//! `axum::serve` owns the connections, so a handler cannot close its socket directly. Each
//! accepted stream is wrapped with a kill switch that the handler reaches through
//! `ConnectInfo<ConnHandle>`. Once the switch is set, the stream closes its socket and fails
//! every further read and write, so the response hyper then tries to write never leaves the
//! host: the client sees the connection close with no HTTP response at all.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Cuts one connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct KillSwitch(Arc<AtomicBool>);

impl KillSwitch {
    pub(crate) fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn triggered(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Per-connection information handed to handlers.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    pub(crate) kill: KillSwitch,
}

impl Connected<IncomingStream<'_, SimListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        ConnHandle {
            kill: stream.io().kill.clone(),
        }
    }
}

/// A TCP listener handing out killable streams.
#[derive(Debug)]
pub(crate) struct SimListener {
    inner: TcpListener,
}

impl SimListener {
    pub(crate) fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl Listener for SimListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        KillableStream {
                            inner: Some(stream),
                            kill: KillSwitch::default(),
                        },
                        addr,
                    );
                }
                // Out of file descriptors and the like: back off briefly, as axum does.
                Err(error) => {
                    tracing::debug!(%error, "jumpcloud simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that closes itself once its kill switch is set.
#[derive(Debug)]
pub(crate) struct KillableStream {
    inner: Option<TcpStream>,
    kill: KillSwitch,
}

impl KillableStream {
    /// The live socket, or an error once killed (the socket is closed on first notice).
    fn live(&mut self) -> io::Result<&mut TcpStream> {
        if self.kill.triggered() {
            self.inner = None;
        }
        self.inner.as_mut().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection dropped by fault injection",
            )
        })
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().live() {
            Ok(stream) => Pin::new(stream).poll_read(cx, buf),
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().live() {
            Ok(stream) => Pin::new(stream).poll_write(cx, buf),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().live() {
            Ok(stream) => Pin::new(stream).poll_flush(cx),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().live() {
            Ok(stream) => Pin::new(stream).poll_shutdown(cx),
            // Already closed: nothing left to shut down.
            Err(_) => Poll::Ready(Ok(())),
        }
    }
}
