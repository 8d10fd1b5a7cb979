//! Payloads the server sends: handshake, OK, EOF, ERR, result-set headers.
//! Built on mysql_common's packet types where it has them.

use super::wire::{put_lenenc_bytes, put_lenenc_int};
use crate::error::Error;
use mysql_common::constants::{CapabilityFlags, MariadbCapabilities, StatusFlags};
use mysql_common::packets::{Column, ErrPacket, HandshakePacket, ServerError, SqlState};
use mysql_common::proto::MySerialize;

/// The capabilities the proxy offers: what it can honour end to end.
/// Not offered: SSL (no TLS yet), COMPRESS, LOCAL_FILES (LOAD DATA LOCAL
/// would need the file relayed), SESSION_TRACK, FOUND_ROWS (backend
/// connections are shared by clients and report changed rows).
pub fn server_capabilities() -> CapabilityFlags {
    CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_LONG_FLAG
        | CapabilityFlags::CLIENT_CONNECT_WITH_DB
        | CapabilityFlags::CLIENT_NO_SCHEMA
        | CapabilityFlags::CLIENT_ODBC
        | CapabilityFlags::CLIENT_IGNORE_SPACE
        | CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_INTERACTIVE
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_MULTI_STATEMENTS
        | CapabilityFlags::CLIENT_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PS_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_CONNECT_ATTRS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_DEPRECATE_EOF
        | CapabilityFlags::CLIENT_FOUND_ROWS
}

/// The MariaDB capabilities offered in the handshake's last filler bytes.
pub const MARIADB_CAPABILITIES: MariadbCapabilities =
    MariadbCapabilities::MARIADB_CLIENT_EXTENDED_METADATA;

/// What MariaDB servers put before their version in the handshake; MariaDB
/// clients read the MariaDB capabilities only after it.
const MARIADB_VERSION_PREFIX: &str = "5.5.5-";

/// How the handshake announces a server of `version`: one that names
/// MariaDB as MariaDB does (the version prefix, no CLIENT_MYSQL, its own
/// capabilities), anything else as MySQL does.
pub fn announced(
    version: &str,
    capabilities: CapabilityFlags,
) -> (String, CapabilityFlags, MariadbCapabilities) {
    if !version.contains("MariaDB") {
        return (
            version.to_string(),
            capabilities,
            MariadbCapabilities::empty(),
        );
    }
    let version = if version.starts_with(MARIADB_VERSION_PREFIX) {
        version.to_string()
    } else {
        format!("{MARIADB_VERSION_PREFIX}{version}")
    };
    let mysql = CapabilityFlags::CLIENT_LONG_PASSWORD; // CLIENT_MYSQL's bit
    (version, capabilities - mysql, MARIADB_CAPABILITIES)
}

/// utf8mb4_general_ci: the handshake's default collation.
pub const DEFAULT_COLLATION: u8 = 45;

/// The initial handshake (protocol 10) with a 20-byte salt.
pub fn handshake(
    server_version: &str,
    connection_id: u32,
    salt: &[u8; 20],
    capabilities: CapabilityFlags,
    mariadb: MariadbCapabilities,
    auth_plugin: &str,
) -> Vec<u8> {
    let mut scramble_1 = [0u8; 8];
    scramble_1.copy_from_slice(&salt[..8]);
    let mut scramble_2 = salt[8..].to_vec();
    scramble_2.push(0);
    let packet = HandshakePacket::new(
        10,
        server_version.as_bytes(),
        connection_id,
        scramble_1,
        Some(scramble_2),
        capabilities,
        DEFAULT_COLLATION,
        StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        Some(auth_plugin.as_bytes()),
    )
    .with_mariadb_ext_capabilities(mariadb);
    let mut out = Vec::with_capacity(128);
    packet.serialize(&mut out);
    out
}

/// An OK packet (`header` 0x00, or 0xFE when it ends a result set under DEPRECATE_EOF).
pub fn ok(
    header: u8,
    affected_rows: u64,
    last_insert_id: u64,
    status: StatusFlags,
    warnings: u16,
    info: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + info.len());
    put_ok(
        &mut out,
        header,
        affected_rows,
        last_insert_id,
        status,
        warnings,
        info,
    );
    out
}

/// [`ok`] appended to `out`, for a caller that reuses its buffer.
pub fn put_ok(
    out: &mut Vec<u8>,
    header: u8,
    affected_rows: u64,
    last_insert_id: u64,
    status: StatusFlags,
    warnings: u16,
    info: &[u8],
) {
    out.push(header);
    put_lenenc_int(out, affected_rows);
    put_lenenc_int(out, last_insert_id);
    out.extend_from_slice(&status.bits().to_le_bytes());
    out.extend_from_slice(&warnings.to_le_bytes());
    if !info.is_empty() {
        // Servers write the info length-encoded and clients (libmariadb,
        // mysql_common) read it so, whatever the docs say of string<EOF>.
        put_lenenc_bytes(out, info);
    }
}

/// A classic EOF packet (clients without DEPRECATE_EOF).
pub fn eof(status: StatusFlags, warnings: u16) -> [u8; 5] {
    let [w0, w1] = warnings.to_le_bytes();
    let [s0, s1] = status.bits().to_le_bytes();
    [0xfe, w0, w1, s0, s1]
}

/// An ERR packet with the error's own code, SQLSTATE and message.
pub fn err(error: &Error) -> Vec<u8> {
    let packet = ErrPacket::Error(ServerError::new(
        error.code,
        Some(SqlState::new(error.sqlstate)),
        error.message.as_bytes(),
    ));
    let mut out = Vec::with_capacity(16 + error.message.len());
    packet.serialize(&mut out);
    out
}

/// The column-count packet that starts a result set.
pub fn column_count(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(9);
    put_column_count(&mut out, n);
    out
}

/// [`column_count`] appended to `out`.
pub fn put_column_count(out: &mut Vec<u8>, n: usize) {
    put_lenenc_int(out, n as u64);
}

/// A column definition (Protocol::ColumnDefinition41), exactly as the
/// backend described it. Written here because mysql_common 0.37's own
/// serializer swaps the charset and length fields.
/// `extended`: the client reads MariaDB's extended metadata, here none.
pub fn column_definition(column: &Column, extended: bool, out: &mut Vec<u8>) {
    let none: &[u8] = if extended { &[0] } else { &[] };
    column_definition_with(column, none, out);
}

/// A column definition with `extended` (a length-encoded extended
/// metadata field, or nothing) after its names.
pub fn column_definition_with(column: &Column, extended: &[u8], out: &mut Vec<u8>) {
    put_lenenc_bytes(out, b"def");
    put_lenenc_bytes(out, column.schema_ref());
    put_lenenc_bytes(out, column.table_ref());
    put_lenenc_bytes(out, column.org_table_ref());
    put_lenenc_bytes(out, column.name_ref());
    put_lenenc_bytes(out, column.org_name_ref());
    out.extend_from_slice(extended);
    out.push(0x0c);
    out.extend_from_slice(&column.character_set().to_le_bytes());
    out.extend_from_slice(&column.column_length().to_le_bytes());
    out.push(column.column_type() as u8);
    out.extend_from_slice(&column.flags().bits().to_le_bytes());
    out.push(column.decimals());
    out.extend_from_slice(&[0, 0]);
}

/// COM_STMT_PREPARE's OK: statement id, column and parameter counts.
pub fn prepare_ok(statement_id: u32, columns: u16, params: u16, warnings: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.push(0x00);
    out.extend_from_slice(&statement_id.to_le_bytes());
    out.extend_from_slice(&columns.to_le_bytes());
    out.extend_from_slice(&params.to_le_bytes());
    out.push(0x00);
    out.extend_from_slice(&warnings.to_le_bytes());
    out
}

/// An auth-switch request to `plugin` with `data` (the salt, NUL-terminated).
pub fn auth_switch(plugin: &str, salt: &[u8; 20]) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    out.push(0xfe);
    out.extend_from_slice(plugin.as_bytes());
    out.push(0);
    out.extend_from_slice(salt);
    out.push(0);
    out
}

/// A length-encoded string, for locally built text rows.
pub fn lenenc(bytes: &[u8], out: &mut Vec<u8>) {
    put_lenenc_bytes(out, bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_packet_keeps_code_and_state_beyond_1885() {
        let e = Error::backend(4025, "23000", "CONSTRAINT `c` failed");
        let p = err(&e);
        assert_eq!(p[0], 0xff);
        assert_eq!(u16::from_le_bytes([p[1], p[2]]), 4025);
        assert_eq!(&p[3..9], b"#23000");
        assert_eq!(&p[9..], b"CONSTRAINT `c` failed");
    }

    #[test]
    fn column_definition_round_trips_through_mysql_common() {
        use mysql_common::constants::{ColumnFlags, ColumnType};
        use mysql_common::io::ParseBuf;
        let column = Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
            .with_schema(b"db")
            .with_table(b"t")
            .with_org_table(b"t_0")
            .with_name(b"b")
            .with_org_name(b"b")
            .with_character_set(63)
            .with_column_length(10)
            .with_flags(ColumnFlags::BINARY_FLAG)
            .with_decimals(0);
        let mut out = Vec::new();
        column_definition(&column, false, &mut out);
        let parsed: Column = ParseBuf(&out).parse(()).unwrap();
        assert_eq!(parsed, column);
        assert_eq!(parsed.character_set(), 63);
        assert_eq!(parsed.column_length(), 10);
    }

    #[test]
    fn ok_packet_layout() {
        let p = ok(
            0,
            300,
            7,
            StatusFlags::SERVER_STATUS_AUTOCOMMIT,
            2,
            b"Rows matched: 1",
        );
        assert_eq!(
            &p[..9],
            &[0, 0xfc, 0x2c, 0x01, 7, 2, 0, 2, 0],
            "header, lenenc 300, lenenc 7, status, warnings"
        );
        assert_eq!(p[9] as usize, b"Rows matched: 1".len());
        assert_eq!(&p[10..], b"Rows matched: 1");
    }
}
