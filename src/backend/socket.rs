//! The byte stream of a backend connection: plain TCP or TLS over it. The
//! TCP socket is registered with the runtime of the worker thread using it;
//! a connection handed to another worker travels unregistered (TLS state
//! and all) and is registered there on first use.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// A TCP socket that can move between worker runtimes.
pub enum Tcp {
    Registered(TcpStream),
    InTransit(std::net::TcpStream),
    Gone,
}

impl Tcp {
    /// The socket, registered with this thread's runtime first if it
    /// arrived from another worker.
    fn registered(&mut self) -> io::Result<&mut TcpStream> {
        if let Tcp::InTransit(_) = self {
            if let Tcp::InTransit(std) = std::mem::replace(self, Tcp::Gone) {
                *self = Tcp::Registered(TcpStream::from_std(std)?);
            }
        }
        match self {
            Tcp::Registered(stream) => Ok(stream),
            _ => Err(io::Error::other("the connection's socket is gone")),
        }
    }

    /// Takes the socket off this thread's runtime; false if that failed.
    fn unregister(&mut self) -> bool {
        match std::mem::replace(self, Tcp::Gone) {
            Tcp::Registered(stream) => match stream.into_std() {
                Ok(std) => {
                    *self = Tcp::InTransit(std);
                    true
                }
                Err(_) => false,
            },
            other => {
                *self = other;
                matches!(self, Tcp::InTransit(_))
            }
        }
    }
}

// rustls reads and writes through this, so a TLS connection moves between
// workers like a plain one.
impl AsyncRead for Tcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().registered() {
            Ok(stream) => Pin::new(stream).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().registered() {
            Ok(stream) => Pin::new(stream).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().registered() {
            Ok(stream) => Pin::new(stream).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().registered() {
            Ok(stream) => Pin::new(stream).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// The stream of one backend connection.
pub enum Socket {
    Plain(Tcp),
    Tls(Box<TlsStream<Tcp>>),
    /// Left by a failed TLS handshake.
    Gone,
}

impl Socket {
    pub fn new(stream: TcpStream) -> Socket {
        Socket::Plain(Tcp::Registered(stream))
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Socket::Tls(_))
    }

    /// Runs the TLS handshake on the plain stream (nothing may be buffered
    /// unread: the server waits for the handshake before it sends more).
    pub async fn start_tls(
        &mut self,
        connector: &TlsConnector,
        name: ServerName<'static>,
    ) -> io::Result<()> {
        match std::mem::replace(self, Socket::Gone) {
            Socket::Plain(tcp) => {
                let tls = connector.connect(name, tcp).await?;
                *self = Socket::Tls(Box::new(tls));
                Ok(())
            }
            other => {
                *self = other;
                Err(io::Error::other("TLS started twice"))
            }
        }
    }

    /// Writes all of `buf` (through rustls' buffer too).
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Socket::Plain(tcp) => tcp.registered()?.write_all(buf).await,
            Socket::Tls(tls) => {
                tls.write_all(buf).await?;
                tls.flush().await
            }
            Socket::Gone => Err(gone()),
        }
    }

    /// Reads what is there into `buf`; 0 at end of stream.
    pub async fn read_buf(&mut self, buf: &mut bytes::BytesMut) -> io::Result<usize> {
        match self {
            Socket::Plain(tcp) => tcp.registered()?.read_buf(buf).await,
            Socket::Tls(tls) => tls.read_buf(buf).await,
            Socket::Gone => Err(gone()),
        }
    }

    /// Whether the peer closed the stream or sent something (both make an
    /// idle connection unusable). Never waits.
    pub fn closed_or_readable(&mut self) -> bool {
        let mut probe = [0u8; 1];
        match self {
            Socket::Plain(tcp) => match tcp.registered() {
                Ok(stream) => match stream.try_read(&mut probe) {
                    Ok(_) => true, // EOF (0) or unexpected bytes.
                    Err(e) => e.kind() != io::ErrorKind::WouldBlock,
                },
                Err(_) => true,
            },
            // rustls must look at the records: a TLS 1.3 session ticket is
            // not data, a close_notify or alert ends the stream.
            Socket::Tls(tls) => {
                let mut cx = Context::from_waker(Waker::noop());
                let mut buf = ReadBuf::new(&mut probe);
                !matches!(
                    Pin::new(tls.as_mut()).poll_read(&mut cx, &mut buf),
                    Poll::Pending
                )
            }
            Socket::Gone => true,
        }
    }

    /// Takes the socket off this thread's runtime so that the connection
    /// can be handed to another worker; false if that failed.
    pub fn unregister(&mut self) -> bool {
        match self {
            Socket::Plain(tcp) => tcp.unregister(),
            Socket::Tls(tls) => tls.get_mut().0.unregister(),
            Socket::Gone => false,
        }
    }
}

fn gone() -> io::Error {
    io::Error::other("the connection's socket is gone")
}
