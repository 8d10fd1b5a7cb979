//! Framing: mysql_common's `PacketCodec` (chunking of packets over 16 MiB,
//! sequence ids, `max_allowed_packet`) adapted to tokio-util's `Framed`.

use bytes::BytesMut;
use mysql_common::proto::codec::error::PacketCodecError;
use mysql_common::proto::codec::PacketCodec;
use std::io;
use tokio_util::codec::{Decoder, Encoder};

/// Why reading a client packet failed.
#[derive(Debug)]
pub enum FrameError {
    Io(io::Error),
    /// Larger than `max_allowed_packet`: the client gets 1153 and is disconnected.
    TooLarge,
    /// Wrong sequence id or a broken header: the connection is closed.
    Malformed(String),
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        FrameError::Io(e)
    }
}

impl From<PacketCodecError> for FrameError {
    fn from(e: PacketCodecError) -> Self {
        match e {
            PacketCodecError::Io(e) => FrameError::Io(e),
            PacketCodecError::PacketTooLarge => FrameError::TooLarge,
            other => FrameError::Malformed(other.to_string()),
        }
    }
}

/// MySQL packet framing for one client connection.
pub struct MySqlCodec {
    inner: PacketCodec,
    /// A packet being reassembled from 16 MiB chunks.
    partial: BytesMut,
}

impl MySqlCodec {
    pub fn new(max_allowed_packet: usize) -> Self {
        let mut inner = PacketCodec::default();
        inner.max_allowed_packet = max_allowed_packet;
        MySqlCodec {
            inner,
            partial: BytesMut::new(),
        }
    }

    /// A new command starts a new sequence.
    pub fn reset_seq_id(&mut self) {
        self.inner.reset_seq_id();
    }
}

impl Decoder for MySqlCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        if self.inner.decode(src, &mut self.partial)? {
            Ok(Some(std::mem::take(&mut self.partial)))
        } else {
            Ok(None)
        }
    }
}

impl Encoder<&[u8]> for MySqlCodec {
    type Error = io::Error;

    fn encode(&mut self, mut payload: &[u8], dst: &mut BytesMut) -> io::Result<()> {
        // `max_allowed_packet` limits what clients send, not what the proxy
        // relays to them: lift it while encoding.
        let limit = std::mem::replace(&mut self.inner.max_allowed_packet, usize::MAX);
        let encoded = self.inner.encode(&mut payload, dst);
        self.inner.max_allowed_packet = limit;
        encoded.map_err(|e| io::Error::other(e.to_string()))
    }
}
