//! One connection to a backend: framing on mysql_common's `PacketCodec`,
//! commands out, packets in. It knows nothing of pools or sessions; a
//! connection that failed mid-exchange marks itself broken and must be dropped.

use super::auth;
use super::endpoint::Endpoint;
use super::socket::Socket;
use crate::error::Error;
use bytes::{Buf, BytesMut};
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::proto::codec::PacketCodec;
use std::io;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long connecting and logging in may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Backend packets may be as large as the protocol allows.
const MAX_PACKET: usize = 1 << 30;

/// Buffers start small (an idle connection costs little) and grow with use.
const INITIAL_BUFFER: usize = 4 * 1024;

/// What a connection is asked to negotiate beyond the fixed capabilities:
/// connections differ only in these, so a pool lends one of the right kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConnClass {
    /// CLIENT_FOUND_ROWS: affected rows count matched rows (for clients that asked).
    pub found_rows: bool,
}

/// An open, logged-in connection to one backend.
pub struct Connection {
    socket: Socket,
    codec: PacketCodec,
    read_buf: BytesMut,
    write_buf: BytesMut,
    /// The last packet read, reused for every packet.
    packet: Vec<u8>,
    /// What both sides agreed on.
    pub capabilities: CapabilityFlags,
    /// MariaDB's extended metadata was negotiated: column definitions
    /// carry their extended type info (format=json, geometry types).
    pub extended_metadata: bool,
    pub class: ConnClass,
    /// The backend's id of this connection (for KILL and messages).
    pub thread_id: u32,
    /// The status flags of the last OK or EOF the backend sent.
    pub status: StatusFlags,
    /// The warning count of the last OK or EOF.
    pub warnings: u16,
    /// A read or write failed or the answer was malformed: never reuse it.
    pub broken: bool,
    /// The GTID of the last write committed on it, when the server reports it.
    pub last_gtid: Option<String>,
    /// The transaction characteristics the server last reported (tracked
    /// only while a session's `SET TRANSACTION` waits on it), until taken.
    pub characteristics: Option<String>,
}

/// Capabilities the proxy always asks for (when the server has them).
fn wanted_capabilities(class: ConnClass) -> CapabilityFlags {
    let mut caps = CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_LONG_FLAG
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PS_MULTI_RESULTS
        | CapabilityFlags::CLIENT_MULTI_STATEMENTS
        | CapabilityFlags::CLIENT_DEPRECATE_EOF
        | CapabilityFlags::CLIENT_SESSION_TRACK
        | CapabilityFlags::CLIENT_CONNECT_WITH_DB;
    if class.found_rows {
        caps |= CapabilityFlags::CLIENT_FOUND_ROWS;
    }
    caps
}

impl Connection {
    /// Connects and logs in, all within [`CONNECT_TIMEOUT`].
    pub async fn open(endpoint: &Endpoint, class: ConnClass) -> Result<Connection, String> {
        match tokio::time::timeout(CONNECT_TIMEOUT, Self::open_unbounded(endpoint, class)).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())),
        }
    }

    async fn open_unbounded(endpoint: &Endpoint, class: ConnClass) -> Result<Connection, String> {
        let stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", endpoint.host, endpoint.port))?;
        let _ = stream.set_nodelay(true);
        let mut codec = PacketCodec::default();
        codec.max_allowed_packet = MAX_PACKET;
        let mut conn = Connection {
            socket: Socket::new(stream),
            codec,
            read_buf: BytesMut::with_capacity(INITIAL_BUFFER),
            write_buf: BytesMut::with_capacity(INITIAL_BUFFER),
            packet: Vec::with_capacity(INITIAL_BUFFER),
            capabilities: CapabilityFlags::empty(),
            extended_metadata: false,
            class,
            thread_id: 0,
            status: StatusFlags::empty(),
            warnings: 0,
            broken: false,
            last_gtid: None,
            characteristics: None,
        };
        auth::login(&mut conn, endpoint, wanted_capabilities(class)).await?;
        Ok(conn)
    }

    /// Switches to TLS after the SSL request went out. Nothing the server
    /// sent may be pending: it says nothing more until the handshake.
    pub(super) async fn start_tls(
        &mut self,
        connector: &tokio_rustls::TlsConnector,
        name: tokio_rustls::rustls::pki_types::ServerName<'static>,
    ) -> io::Result<()> {
        if !self.read_buf.is_empty() || !self.write_buf.is_empty() {
            self.broken = true;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the server sent data before the TLS handshake",
            ));
        }
        let result = self.socket.start_tls(connector, name).await;
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// Whether the connection runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.socket.is_tls()
    }

    /// Keeps the status and warning count of an OK or result-set end.
    pub fn note(&mut self, ok: &super::OkSummary) {
        self.status = ok.status;
        self.warnings = ok.warnings;
        if ok.gtid.is_some() {
            self.last_gtid.clone_from(&ok.gtid);
        }
        if ok.characteristics.is_some() {
            self.characteristics.clone_from(&ok.characteristics);
        }
    }

    /// Starts a new command: sequence ids begin at 0.
    pub fn start_command(&mut self) {
        self.codec.reset_seq_id();
    }

    /// Buffers one packet of the current exchange (the next sequence id).
    pub fn buffer_packet(&mut self, mut payload: impl Buf) {
        if self
            .codec
            .encode(&mut payload, &mut self.write_buf)
            .is_err()
        {
            // Only a payload over the 1 GiB protocol limit fails to encode.
            self.broken = true;
        }
    }

    /// Buffers a command packet: its byte, then `body`.
    pub fn buffer_command(&mut self, command: u8, body: &[u8]) {
        self.start_command();
        let head = [command];
        self.buffer_packet(Buf::chain(&head[..], body));
    }

    /// Sends what is buffered.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other("connection is broken"));
        }
        let result = self.socket.write_all(&self.write_buf).await;
        self.write_buf.clear();
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// Sends a command packet.
    pub async fn send_command(&mut self, command: u8, body: &[u8]) -> io::Result<()> {
        self.buffer_command(command, body);
        self.flush().await
    }

    /// Reads the next packet of the exchange; it stays valid until the next read.
    pub async fn read_packet(&mut self) -> io::Result<&[u8]> {
        self.packet.clear();
        loop {
            match self.codec.decode(&mut self.read_buf, &mut self.packet) {
                Ok(true) => return Ok(&self.packet),
                Ok(false) => {}
                Err(e) => {
                    self.broken = true;
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
                }
            }
            if self.read_buf.capacity() - self.read_buf.len() < 1024 {
                self.read_buf.reserve(INITIAL_BUFFER);
            }
            match self.socket.read_buf(&mut self.read_buf).await {
                Ok(0) => {
                    self.broken = true;
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the backend closed the connection",
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    self.broken = true;
                    return Err(e);
                }
            }
        }
    }

    /// The last packet read, again.
    pub fn last_packet(&self) -> &[u8] {
        &self.packet
    }

    /// Whether the backend hung up (or sent something unasked, like the
    /// error it sends a KILLed connection) while the connection sat idle.
    /// Never waits.
    pub fn closed_while_idle(&mut self) -> bool {
        if self.broken || !self.read_buf.is_empty() {
            return true;
        }
        self.socket.closed_or_readable()
    }

    /// Takes the socket off this thread's runtime so that the connection
    /// can be handed to another worker; false if that failed (then the
    /// connection is broken and must be dropped).
    pub fn unregister(&mut self) -> bool {
        let moved = self.socket.unregister();
        if !moved {
            self.broken = true;
        }
        moved
    }

    /// Frees buffer space a large result left behind.
    pub fn shrink_buffers(&mut self) {
        if self.read_buf.capacity() > 64 * 1024 && self.read_buf.is_empty() {
            self.read_buf = BytesMut::with_capacity(INITIAL_BUFFER);
        }
        if self.packet.capacity() > 64 * 1024 {
            self.packet = Vec::with_capacity(INITIAL_BUFFER);
        }
        if self.write_buf.capacity() > 64 * 1024 {
            self.write_buf = BytesMut::with_capacity(INITIAL_BUFFER);
        }
    }

    /// COM_QUIT, best effort.
    pub async fn quit(mut self) {
        const QUIT: u8 = mysql_common::constants::Command::COM_QUIT as u8;
        let _ =
            tokio::time::timeout(Duration::from_millis(200), self.send_command(QUIT, &[])).await;
    }
}

/// A backend I/O failure as the client sees it: 1105 naming the data source.
pub fn io_error(data_source: &str, e: &io::Error) -> Error {
    Error::data_source_unreachable(data_source, e)
}
