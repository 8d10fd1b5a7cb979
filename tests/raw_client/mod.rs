//! A client speaking the MySQL protocol by hand (`mod raw_client;`), for
//! what drivers never send or mysql_async cannot show: malformed packets,
//! chosen capabilities, parameter types, cursors, long data.
#![allow(dead_code)]

use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;
use mysql_common::scramble::scramble_native;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long a raw client waits for the proxy's answer.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub const COM_QUIT: u8 = 0x01;
pub const COM_INIT_DB: u8 = 0x02;
pub const COM_QUERY: u8 = 0x03;
pub const COM_FIELD_LIST: u8 = 0x04;
pub const COM_STMT_PREPARE: u8 = 0x16;
pub const COM_STMT_EXECUTE: u8 = 0x17;
pub const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
pub const COM_STMT_CLOSE: u8 = 0x19;
pub const COM_STMT_RESET: u8 = 0x1a;
pub const COM_SET_OPTION: u8 = 0x1b;

/// What the server answered to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Ok {
        affected_rows: u64,
        info: Vec<u8>,
    },
    Err {
        code: u16,
        state: String,
        message: String,
    },
    /// Column definitions and row payloads, raw.
    Rows {
        columns: Vec<Vec<u8>>,
        rows: Vec<Vec<u8>>,
    },
}

impl Reply {
    #[track_caller]
    pub fn err_code(&self) -> (u16, &str) {
        match self {
            Reply::Err { code, state, .. } => (*code, state.as_str()),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// Text-protocol rows as strings (NULL as `None`).
    #[track_caller]
    pub fn text_rows(&self) -> Vec<Vec<Option<Vec<u8>>>> {
        match self {
            Reply::Rows { columns, rows } => rows
                .iter()
                .map(|row| {
                    let mut r = row.as_slice();
                    (0..columns.len())
                        .map(|_| {
                            if r[0] == 0xfb {
                                r = &r[1..];
                                None
                            } else {
                                Some(lenenc_bytes(&mut r).to_vec())
                            }
                        })
                        .collect()
                })
                .collect(),
            other => panic!("expected rows, got {other:?}"),
        }
    }
}

pub fn lenenc_int(r: &mut &[u8]) -> u64 {
    let (n, used) = match r[0] {
        0xfc => (u16::from_le_bytes([r[1], r[2]]) as u64, 3),
        0xfd => (u32::from_le_bytes([r[1], r[2], r[3], 0]) as u64, 4),
        0xfe => (u64::from_le_bytes(r[1..9].try_into().unwrap()), 9),
        n => (n as u64, 1),
    };
    *r = &r[used..];
    n
}

pub fn lenenc_bytes<'a>(r: &mut &'a [u8]) -> &'a [u8] {
    let n = lenenc_int(r) as usize;
    let (head, tail) = r.split_at(n);
    *r = tail;
    head
}

pub fn put_lenenc_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    assert!(bytes.len() < 0xfb);
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

/// The fields of a column definition (ColumnDefinition41) tests look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub table: Vec<u8>,
    pub name: Vec<u8>,
    pub org_name: Vec<u8>,
    pub charset: u16,
    pub length: u32,
    pub column_type: u8,
    pub flags: u16,
    pub decimals: u8,
}

pub fn column_def(def: &[u8]) -> ColumnDef {
    let mut r = def;
    let _catalog = lenenc_bytes(&mut r);
    let _schema = lenenc_bytes(&mut r);
    let table = lenenc_bytes(&mut r).to_vec();
    let _org_table = lenenc_bytes(&mut r);
    let name = lenenc_bytes(&mut r).to_vec();
    let org_name = lenenc_bytes(&mut r).to_vec();
    assert_eq!(r[0], 0x0c, "fixed-length fields");
    ColumnDef {
        table,
        name,
        org_name,
        charset: u16::from_le_bytes([r[1], r[2]]),
        length: u32::from_le_bytes([r[3], r[4], r[5], r[6]]),
        column_type: r[7],
        flags: u16::from_le_bytes([r[8], r[9]]),
        decimals: r[10],
    }
}

/// One client connection speaking the protocol by hand. Capabilities: no
/// DEPRECATE_EOF, so result sets end with EOF packets.
pub struct Raw {
    pub stream: TcpStream,
    /// The sequence id of the next packet written.
    pub seq: u8,
}

pub fn client_capabilities() -> CapabilityFlags {
    CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_LONG_FLAG
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_MULTI_STATEMENTS
        | CapabilityFlags::CLIENT_MULTI_RESULTS
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Raw { stream, seq: 0 }
    }

    /// Reads one packet (a single chunk; tests never read 16 MiB ones).
    pub fn read_packet(&mut self) -> io::Result<Vec<u8>> {
        let mut header = [0u8; 4];
        self.stream.read_exact(&mut header)?;
        let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
        self.seq = header[3].wrapping_add(1);
        let mut payload = vec![0u8; len];
        self.stream.read_exact(&mut payload)?;
        Ok(payload)
    }

    #[track_caller]
    pub fn packet(&mut self) -> Vec<u8> {
        self.read_packet()
            .unwrap_or_else(|e| panic!("no packet from the server: {e}"))
    }

    pub fn write_packet(&mut self, payload: &[u8]) {
        let mut out = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        out.push(self.seq);
        out.extend_from_slice(payload);
        self.stream.write_all(&out).expect("write");
        self.seq = self.seq.wrapping_add(1);
    }

    /// Starts a new command.
    pub fn command(&mut self, command: u8, body: &[u8]) {
        self.seq = 0;
        let mut payload = vec![command];
        payload.extend_from_slice(body);
        self.write_packet(&payload);
    }

    /// Reads the initial handshake: (nonce, server version string).
    pub fn handshake(&mut self) -> (Vec<u8>, String) {
        let packet = self.packet();
        let handshake: HandshakePacket<'_> = ParseBuf(&packet).parse(()).expect("a handshake");
        let mut nonce = handshake.scramble_1_ref().to_vec();
        nonce.extend_from_slice(handshake.scramble_2_ref().unwrap_or(&[]));
        nonce.truncate(20);
        (nonce, handshake.server_version_str().into_owned())
    }

    /// A handshake response for `user` with `plugin` and its `auth` data.
    pub fn response(
        user: &str,
        db: Option<&str>,
        plugin: AuthPlugin<'static>,
        auth: &[u8],
    ) -> Vec<u8> {
        let response = HandshakeResponse::new(
            Some(auth.to_vec()),
            (8, 0, 36),
            Some(user.as_bytes().to_vec()),
            db.map(|d| d.as_bytes().to_vec()),
            Some(plugin),
            client_capabilities(),
            None,
            16 * 1024 * 1024,
        );
        let mut out = Vec::new();
        response.serialize(&mut out);
        out
    }

    /// Connects and logs in with mysql_native_password; panics unless OK.
    pub fn login(port: u16, user: &str, password: &str, db: Option<&str>) -> Raw {
        Raw::login_patched(port, user, password, db, |_| {})
    }

    /// Logs in with a handshake response changed by `patch` first.
    pub fn login_patched(
        port: u16,
        user: &str,
        password: &str,
        db: Option<&str>,
        patch: impl Fn(&mut Vec<u8>),
    ) -> Raw {
        let mut raw = Raw::connect(port);
        let (nonce, _) = raw.handshake();
        let auth = scramble_native(&nonce, password.as_bytes())
            .map(|s| s.to_vec())
            .unwrap_or_default();
        let mut response = Raw::response(user, db, AuthPlugin::MysqlNativePassword, &auth);
        patch(&mut response);
        raw.write_packet(&response);
        let reply = raw.reply();
        assert!(matches!(reply, Reply::Ok { .. }), "login failed: {reply:?}");
        raw
    }

    /// Reads an OK, ERR or a whole text or binary result set.
    #[track_caller]
    pub fn reply(&mut self) -> Reply {
        let first = self.packet();
        match first[0] {
            0x00 => {
                let mut r = &first[1..];
                let affected_rows = lenenc_int(&mut r);
                let _insert_id = lenenc_int(&mut r);
                let info = if r.len() > 4 {
                    r[4..].to_vec()
                } else {
                    Vec::new()
                };
                Reply::Ok {
                    affected_rows,
                    info,
                }
            }
            0xff => parse_err(&first),
            _ => {
                let mut r = first.as_slice();
                let n = lenenc_int(&mut r) as usize;
                let columns: Vec<Vec<u8>> = (0..n).map(|_| self.packet()).collect();
                let eof = self.packet();
                assert_eq!(eof[0], 0xfe, "EOF after the column definitions: {eof:?}");
                let mut rows = Vec::new();
                loop {
                    let p = self.packet();
                    if p[0] == 0xfe && p.len() < 9 {
                        break;
                    }
                    if p[0] == 0xff {
                        return parse_err(&p);
                    }
                    rows.push(p);
                }
                Reply::Rows { columns, rows }
            }
        }
    }

    #[track_caller]
    pub fn query(&mut self, sql: impl AsRef<[u8]>) -> Reply {
        self.command(COM_QUERY, sql.as_ref());
        self.reply()
    }

    /// COM_STMT_PREPARE: (statement id, params, columns) or the error.
    pub fn prepare(&mut self, sql: &str) -> Result<(u32, usize, usize), Reply> {
        self.command(COM_STMT_PREPARE, sql.as_bytes());
        let first = self.packet();
        if first[0] == 0xff {
            return Err(parse_err(&first));
        }
        assert_eq!(first[0], 0x00, "COM_STMT_PREPARE_OK: {first:?}");
        let id = u32::from_le_bytes(first[1..5].try_into().unwrap());
        let columns = u16::from_le_bytes([first[5], first[6]]) as usize;
        let params = u16::from_le_bytes([first[7], first[8]]) as usize;
        for count in [params, columns] {
            if count > 0 {
                for _ in 0..count {
                    self.packet();
                }
                let eof = self.packet();
                assert_eq!(eof[0], 0xfe, "EOF after definitions: {eof:?}");
            }
        }
        Ok((id, params, columns))
    }

    /// Whether the server closed the connection (EOF or reset) rather than
    /// sending more.
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
        }
    }

    /// A one-value text query's answer.
    #[track_caller]
    pub fn scalar(&mut self, sql: &str) -> Option<Vec<u8>> {
        let reply = self.query(sql);
        let rows = reply.text_rows();
        assert_eq!(rows.len(), 1, "{sql}: {reply:?}");
        rows[0][0].clone()
    }
}

pub fn parse_err(packet: &[u8]) -> Reply {
    assert_eq!(packet[0], 0xff);
    let code = u16::from_le_bytes([packet[1], packet[2]]);
    let (state, message) = if packet.get(3) == Some(&b'#') {
        (
            String::from_utf8_lossy(&packet[4..9]).into_owned(),
            String::from_utf8_lossy(&packet[9..]).into_owned(),
        )
    } else {
        (
            String::new(),
            String::from_utf8_lossy(&packet[3..]).into_owned(),
        )
    };
    Reply::Err {
        code,
        state,
        message,
    }
}

/// A COM_STMT_EXECUTE body: id, no cursor, one iteration, then `rest`
/// (NULL bitmap, new-params-bound flag, types, values).
pub fn execute_body(id: u32, rest: &[u8]) -> Vec<u8> {
    let mut body = id.to_le_bytes().to_vec();
    body.push(0);
    body.extend_from_slice(&1u32.to_le_bytes());
    body.extend_from_slice(rest);
    body
}
