//! The MySQL server protocol on mysql_common's codec and packet types: it
//! reads commands, hands them to the [`Session`], and writes the session's
//! answers. Nothing more: no routing, no state beyond the wire's own.

pub mod auth;
pub mod codec;
mod commands;
mod login;
pub mod packets;
pub mod stream;
pub mod values;
pub mod wire;

use crate::error::Error;
use crate::session::reply::{OkInfo, Reply};
use crate::session::{Session, Shared};
use bytes::BytesMut;
use codec::{FrameError, MySqlCodec};
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::packets::Column;
use mysql_common::value::Value;
use std::io;
use std::sync::Arc;
use stream::ClientStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::codec::{Decoder, Encoder};

/// One client connection's wire state.
pub struct ClientConn {
    stream: ClientStream,
    codec: MySqlCodec,
    read_buf: BytesMut,
    write_buf: BytesMut,
    /// Scratch space for one packet's payload.
    payload: Vec<u8>,
    /// The capabilities both sides agreed on.
    capabilities: CapabilityFlags,
    /// The client negotiated MariaDB's extended metadata: every column
    /// definition it gets carries that field (empty when nothing is known).
    extended_metadata: bool,
    /// Whether rows go out in the binary protocol (COM_STMT_EXECUTE).
    binary: bool,
    /// The last result set's columns (binary rows are encoded by them)
    /// and their encoded definitions: a prepared statement executed again
    /// sends the same columns, which then go out without being encoded.
    columns: Vec<Column>,
    column_payloads: Vec<u8>,
    /// Where each definition ends in `column_payloads`.
    column_ends: Vec<usize>,
    /// The handshake's salt: COM_CHANGE_USER's response is scrambled with
    /// it, as with a MySQL server.
    salt: [u8; 20],
}

impl ClientConn {
    fn new(stream: TcpStream, max_allowed_packet: usize) -> Self {
        ClientConn {
            stream: ClientStream::Plain(stream),
            codec: MySqlCodec::new(max_allowed_packet),
            // Small at first: an idle client should cost little.
            read_buf: BytesMut::with_capacity(1024),
            write_buf: BytesMut::with_capacity(1024),
            payload: Vec::new(),
            capabilities: CapabilityFlags::empty(),
            extended_metadata: false,
            binary: false,
            columns: Vec::new(),
            column_payloads: Vec::new(),
            column_ends: Vec::new(),
            salt: [0; 20],
        }
    }

    fn deprecate_eof(&self) -> bool {
        self.capabilities
            .contains(CapabilityFlags::CLIENT_DEPRECATE_EOF)
    }

    /// Reads one whole packet; `None` when the client closed the connection.
    async fn read_packet(&mut self) -> Result<Option<BytesMut>, FrameError> {
        loop {
            if let Some(packet) = self.codec.decode(&mut self.read_buf)? {
                return Ok(Some(packet));
            }
            if self.stream.read_buf(&mut self.read_buf).await? == 0 {
                if self.read_buf.is_empty() {
                    return Ok(None);
                }
                return Err(FrameError::Malformed("connection closed mid-packet".into()));
            }
        }
    }

    /// Buffers one packet.
    fn write_packet(&mut self, payload: &[u8]) {
        frame(&mut self.codec, payload, &mut self.write_buf);
    }

    /// Buffers the packet in `self.payload`.
    fn write_scratch(&mut self) {
        let payload = std::mem::take(&mut self.payload);
        self.write_packet(&payload);
        self.payload = payload;
        self.payload.clear();
    }

    async fn flush_buffer(&mut self) -> io::Result<()> {
        if !self.write_buf.is_empty() {
            self.stream.write_all(&self.write_buf).await?;
            // TLS holds the last record until flushed; for TCP this is a no-op.
            self.stream.flush().await?;
            self.write_buf.clear();
            if self.write_buf.capacity() > 64 * 1024 {
                // A large result passed: an idle session keeps little.
                self.write_buf = BytesMut::with_capacity(1024);
            }
        }
        Ok(())
    }

    fn write_terminator(&mut self, status: StatusFlags, warnings: u16) {
        if self.deprecate_eof() {
            packets::put_ok(&mut self.payload, 0xfe, 0, 0, status, warnings, b"");
            self.write_scratch();
        } else {
            self.write_packet(&packets::eof(status, warnings));
        }
    }

    /// `extended`: the columns' extended metadata fields as a backend sent
    /// them, for a client that reads them (empty: none known).
    fn write_columns(&mut self, columns: &[Column], extended: &[Vec<u8>], status: StatusFlags) {
        for (i, column) in columns.iter().enumerate() {
            self.payload.clear();
            match extended.get(i).filter(|_| self.extended_metadata) {
                Some(field) => packets::column_definition_with(column, field, &mut self.payload),
                None => {
                    packets::column_definition(column, self.extended_metadata, &mut self.payload)
                }
            }
            self.write_scratch();
        }
        if !self.deprecate_eof() && !columns.is_empty() {
            self.write_packet(&packets::eof(status, 0));
        }
    }
}

/// Appends one packet (header and payload) to `out`.
fn frame(codec: &mut MySqlCodec, payload: &[u8], out: &mut BytesMut) {
    if let Err(e) = codec.encode(payload, out) {
        // Only a payload over the 1 GiB protocol limit can fail here.
        tracing::warn!("dropping an oversized packet: {e}");
    }
}

impl Reply for ClientConn {
    fn columns(&mut self, columns: &[Column]) {
        self.write_packet(&packets::column_count(columns.len()));
        if self.columns != columns {
            self.columns = columns.to_vec();
            self.column_payloads.clear();
            self.column_ends.clear();
            for column in columns {
                packets::column_definition(
                    column,
                    self.extended_metadata,
                    &mut self.column_payloads,
                );
                self.column_ends.push(self.column_payloads.len());
            }
        }
        let mut start = 0;
        for &end in &self.column_ends {
            let payload = &self.column_payloads[start..end];
            frame(&mut self.codec, payload, &mut self.write_buf);
            start = end;
        }
        if !self.deprecate_eof() && !columns.is_empty() {
            self.write_packet(&packets::eof(StatusFlags::SERVER_STATUS_AUTOCOMMIT, 0));
        }
    }

    fn column_count(&mut self, n: usize) {
        self.payload.clear();
        packets::put_column_count(&mut self.payload, n);
        self.write_scratch();
    }

    fn raw_column(&mut self, payload: &[u8]) {
        self.write_packet(payload);
    }

    fn extended_metadata(&self) -> bool {
        self.extended_metadata
    }

    fn columns_done(&mut self) {
        if !self.deprecate_eof() {
            self.write_packet(&packets::eof(StatusFlags::SERVER_STATUS_AUTOCOMMIT, 0));
        }
    }

    fn raw_row(&mut self, payload: &[u8]) {
        self.write_packet(payload);
    }

    fn row(&mut self, row: &[Value]) {
        self.payload.clear();
        if self.binary {
            values::put_binary_row(&mut self.payload, row, &self.columns);
        } else {
            values::put_text_row(&mut self.payload, row);
        }
        self.write_scratch();
    }

    fn end_rows(&mut self, status: StatusFlags, warnings: u16) {
        self.write_terminator(status, warnings);
    }

    fn ok(&mut self, ok: &OkInfo, status: StatusFlags) {
        self.payload.clear();
        packets::put_ok(
            &mut self.payload,
            0,
            ok.affected_rows,
            ok.last_insert_id,
            status,
            ok.warnings,
            ok.info.as_bytes(),
        );
        self.write_scratch();
    }

    fn error(&mut self, error: &Error) {
        self.write_packet(&packets::err(error));
    }

    fn pending(&self) -> usize {
        self.write_buf.len()
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.flush_buffer().await
    }
}

/// Serves one client from handshake to disconnect. A protocol error or a
/// malformed packet closes only this connection; backend connections it
/// pinned are reset and given back.
pub async fn serve(stream: TcpStream, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let peer = match stream.peer_addr() {
        Ok(peer) => peer,
        Err(e) => {
            tracing::debug!("client gone before the handshake: {e}");
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let max_packet = shared.current().config.server.max_allowed_packet;
    let connection_id = shared.next_connection_id();
    let mut conn = ClientConn::new(stream, max_packet);
    let counted = shared.clone();
    let metrics = &counted.metrics;
    let mut session = Session::new(shared, connection_id, peer.ip().to_string());
    let span = tracing::info_span!("conn", id = connection_id, peer = %peer);
    metrics.connections_total.inc();
    metrics.connections_current.inc();
    tracing::info!(parent: &span, "connection opened");
    let opened = std::time::Instant::now();
    if let Err(e) = commands_loop(&mut conn, &mut session, shutdown, &span).await {
        tracing::debug!(parent: &span, "connection ended: {e}");
    }
    metrics.connections_current.dec();
    tracing::info!(
        parent: &span,
        user = session.user_name(),
        seconds = opened.elapsed().as_secs(),
        "connection closed"
    );
    session.close().await
}

/// What ended a wait for the client's next command.
enum Idle {
    Packet(Result<Option<BytesMut>, FrameError>),
    Shutdown,
    /// A connection held for the client's next statement is wanted elsewhere.
    HoldWanted,
}

async fn commands_loop(
    conn: &mut ClientConn,
    session: &mut Session,
    mut shutdown: watch::Receiver<bool>,
    span: &tracing::Span,
) -> io::Result<()> {
    if !login::handshake(conn, session).await? {
        return Ok(());
    }
    tracing::debug!(parent: span, "logged in");
    // One wait for the whole session: a new one per command would register
    // with the channel and leave it again on every statement.
    let stopping = async move {
        let _ = shutdown.wait_for(|&stop| stop).await;
    };
    tokio::pin!(stopping);
    loop {
        conn.codec.reset_seq_id();
        let packet = loop {
            let next = tokio::select! {
                // In this order, without drawing a random one each time.
                biased;
                _ = &mut stopping => Idle::Shutdown,
                packet = conn.read_packet() => Idle::Packet(packet),
                _ = session.warnings_hold_wanted() => Idle::HoldWanted,
            };
            match next {
                Idle::Packet(packet) => break packet,
                Idle::Shutdown => return Ok(()),
                // Reading is cancel-safe: a packet begun stays in the buffer.
                Idle::HoldWanted => session.give_up_wanted_holds().await,
            }
        };
        let packet = match packet {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(FrameError::TooLarge) => {
                conn.error(&Error::packet_too_large());
                let _ = conn.flush_buffer().await;
                break;
            }
            Err(FrameError::Io(e)) => {
                tracing::debug!(parent: span, "client read failed: {e}");
                break;
            }
            Err(FrameError::Malformed(m)) => {
                tracing::info!(parent: span, "closing connection: {m}");
                break;
            }
        };
        match commands::dispatch(conn, session, &packet).await {
            Ok(true) => {}
            Ok(false) => {
                // The command's last answer (e.g. a refused COM_CHANGE_USER) goes out first.
                let _ = conn.flush_buffer().await;
                break;
            }
            Err(e) => {
                tracing::debug!(parent: span, "client write failed: {e}");
                break;
            }
        }
        conn.flush_buffer().await?;
    }
    Ok(())
}
