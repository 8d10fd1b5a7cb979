//! Logging in to a backend: the handshake, TLS when the data source wants
//! it and the server offers it, `mysql_native_password` and
//! `caching_sha2_password` (fast path, and full authentication: the clear
//! password over TLS, else encrypted with the server's RSA public key), on
//! mysql_common's packet types and scrambles.

use super::conn::Connection;
use super::endpoint::Endpoint;
use super::tls::{self, TlsMode};
use mysql_common::collations::CollationId;
use mysql_common::constants::{CapabilityFlags, MariadbCapabilities, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    AuthPlugin, AuthSwitchRequest, ErrPacket, HandshakePacket, HandshakeResponse, SslRequest,
};
use mysql_common::proto::MySerialize;

/// caching_sha2_password's AuthMoreData codes.
const FAST_AUTH_OK: u8 = 3;
const FULL_AUTH_NEEDED: u8 = 4;
/// The client's request for the server's RSA public key.
const REQUEST_PUBLIC_KEY: u8 = 2;
/// The largest packet the proxy announces it accepts.
const MAX_PACKET: u32 = 1 << 30;

/// Reads the server's handshake and logs in as the endpoint's account.
pub async fn login(
    conn: &mut Connection,
    endpoint: &Endpoint,
    wanted: CapabilityFlags,
) -> Result<(), String> {
    conn.start_command();
    let packet = conn.read_packet().await.map_err(|e| e.to_string())?;
    if packet.first() == Some(&0xff) {
        return Err(server_error(packet, CapabilityFlags::CLIENT_PROTOCOL_41));
    }
    let handshake: HandshakePacket<'_> = ParseBuf(packet)
        .parse(())
        .map_err(|e| format!("malformed handshake: {e}"))?;
    let mut capabilities = wanted & handshake.capabilities();
    if !capabilities.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
        return Err("the server does not speak protocol 4.1".into());
    }
    let nonce = handshake.nonce();
    let version = handshake.server_version_parsed().unwrap_or((5, 5, 5));
    let plugin = handshake
        .auth_plugin()
        .map(|p| p.into_owned())
        .unwrap_or(AuthPlugin::MysqlNativePassword);
    let offers_tls = handshake
        .capabilities()
        .contains(CapabilityFlags::CLIENT_SSL);
    // A MariaDB server (no CLIENT_MYSQL) offers its own capabilities in the
    // handshake's last filler bytes: extended metadata is always asked for,
    // and cut out for clients that did not ask (execute::relay).
    let mariadb = if handshake
        .capabilities()
        .contains(CapabilityFlags::CLIENT_LONG_PASSWORD)
    {
        MariadbCapabilities::empty()
    } else {
        handshake.mariadb_ext_capabilities() & MariadbCapabilities::MARIADB_CLIENT_EXTENDED_METADATA
    };
    conn.thread_id = handshake.connection_id();
    conn.extended_metadata = !mariadb.is_empty();
    if let Some(connector) = endpoint.tls.connector().filter(|_| offers_tls) {
        capabilities |= CapabilityFlags::CLIENT_SSL;
        // The same collation the handshake response will name.
        let collation = if version >= (5, 5, 3) {
            CollationId::UTF8MB4_GENERAL_CI
        } else {
            CollationId::UTF8MB3_GENERAL_CI
        };
        let request = SslRequest::new(capabilities, MAX_PACKET, collation as u8)
            .with_mariadb_capabilities(mariadb);
        let mut payload = Vec::with_capacity(32);
        request.serialize(&mut payload);
        conn.buffer_packet(payload.as_slice());
        conn.flush().await.map_err(|e| e.to_string())?;
        let name = tls::server_name(&endpoint.host)?;
        conn.start_tls(connector, name)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
    } else if endpoint.tls.mode == TlsMode::Required {
        return Err(
            "the server does not offer TLS, and the data source has `tls = \"required\"`".into(),
        );
    }
    conn.capabilities = capabilities;
    let scramble = scramble(&plugin, &endpoint.password, &nonce)?;
    let database = Some(endpoint.database.as_bytes()).filter(|d| !d.is_empty());
    let response = HandshakeResponse::new(
        Some(scramble.as_slice()),
        version,
        Some(endpoint.user.as_bytes()),
        database,
        Some(plugin.clone()),
        capabilities,
        None,
        MAX_PACKET,
    )
    .with_mariadb_ext_capabilities(mariadb);
    let mut payload = Vec::with_capacity(128);
    response.serialize(&mut payload);
    conn.buffer_packet(payload.as_slice());
    conn.flush().await.map_err(|e| e.to_string())?;
    finish(conn, endpoint, plugin, nonce).await
}

/// The answers after the handshake response: OK, ERR, an auth switch, or
/// caching_sha2_password's more-data exchange.
async fn finish(
    conn: &mut Connection,
    endpoint: &Endpoint,
    mut plugin: AuthPlugin<'static>,
    mut nonce: Vec<u8>,
) -> Result<(), String> {
    for _ in 0..5 {
        let caps = conn.capabilities;
        let packet = conn.read_packet().await.map_err(|e| e.to_string())?;
        match packet.first() {
            Some(0x00) => {
                conn.status = ok_status(packet);
                return Ok(());
            }
            Some(0xff) => return Err(server_error(packet, caps)),
            Some(0xfe) => {
                let switch: AuthSwitchRequest<'_> = ParseBuf(packet)
                    .parse(())
                    .map_err(|e| format!("malformed auth switch request: {e}"))?;
                plugin = switch.auth_plugin().into_owned();
                nonce = switch.plugin_data().to_vec();
                // The nonce arrives NUL-terminated.
                if nonce.last() == Some(&0) {
                    nonce.pop();
                }
                let data = scramble(&plugin, &endpoint.password, &nonce)?;
                conn.buffer_packet(data.as_slice());
                conn.flush().await.map_err(|e| e.to_string())?;
            }
            Some(0x01) if matches!(plugin, AuthPlugin::CachingSha2Password) => {
                let data = packet[1..].to_vec();
                match data.as_slice() {
                    [FAST_AUTH_OK] => {}
                    // Over TLS the password goes as it is, NUL-terminated.
                    [FULL_AUTH_NEEDED] if conn.is_tls() => {
                        let clear = [endpoint.password.as_bytes(), &[0]].concat();
                        conn.buffer_packet(clear.as_slice());
                        conn.flush().await.map_err(|e| e.to_string())?;
                    }
                    [FULL_AUTH_NEEDED] => {
                        conn.buffer_packet(&[REQUEST_PUBLIC_KEY][..]);
                        conn.flush().await.map_err(|e| e.to_string())?;
                    }
                    pem => {
                        let encrypted = encrypt_password(&endpoint.password, &nonce, pem)?;
                        conn.buffer_packet(encrypted.as_slice());
                        conn.flush().await.map_err(|e| e.to_string())?;
                    }
                }
            }
            _ => return Err("unexpected packet during login".into()),
        }
    }
    Err("login did not finish".into())
}

/// The auth response for `plugin`: empty for an empty password.
fn scramble(plugin: &AuthPlugin<'_>, password: &str, nonce: &[u8]) -> Result<Vec<u8>, String> {
    match plugin {
        AuthPlugin::MysqlNativePassword | AuthPlugin::CachingSha2Password => Ok(plugin
            .gen_data(Some(password), nonce)
            .map(|d| d.to_vec())
            .unwrap_or_default()),
        other => Err(format!(
            "the backend asks for the authentication plugin '{}', which shardgate does not speak \
             (use mysql_native_password or caching_sha2_password for the proxy's account)",
            String::from_utf8_lossy(other.as_bytes())
        )),
    }
}

/// caching_sha2_password full authentication without TLS: the password,
/// NUL-terminated and XORed with the nonce, encrypted with the server's key.
fn encrypt_password(password: &str, nonce: &[u8], pem: &[u8]) -> Result<Vec<u8>, String> {
    if nonce.is_empty() {
        return Err("the server sent no nonce".into());
    }
    let mut clear: Vec<u8> = password.as_bytes().to_vec();
    clear.push(0);
    for (i, byte) in clear.iter_mut().enumerate() {
        *byte ^= nonce[i % nonce.len()];
    }
    let pem = pem.to_vec();
    // mysql_common panics on a key it cannot read; a backend's bytes must not end the proxy.
    std::panic::catch_unwind(move || mysql_common::crypto::encrypt(&clear, &pem))
        .map_err(|_| "the server's RSA public key cannot be read".to_string())
}

fn ok_status(packet: &[u8]) -> StatusFlags {
    super::response::parse_ok(packet, CapabilityFlags::CLIENT_PROTOCOL_41)
        .map(|ok| ok.status)
        .unwrap_or_default()
}

/// The message of an ERR packet.
fn server_error(packet: &[u8], caps: CapabilityFlags) -> String {
    match ParseBuf(packet).parse::<ErrPacket<'_>>(caps) {
        Ok(ErrPacket::Error(e)) => format!("{} ({})", e.message_str(), e.error_code()),
        _ => "malformed error packet".into(),
    }
}
