//! The handshake and login: TLS when the client asks for it (and the proxy
//! has a certificate), then mysql_native_password or caching_sha2_password
//! (fast path, or full authentication with the clear password over TLS or
//! RSA-encrypted over plain TCP).

use super::auth::{
    has_empty_password, new_salt, unmask_rsa_password, verify_clear, verify_native,
    verify_sha2_scramble,
};
use super::packets;
use super::wire::Reader;
use super::ClientConn;
use crate::config::User;
use crate::error::{Error, Origin};
use crate::security::Security;
use crate::session::reply::{OkInfo, Reply};
use crate::session::Session;
use mysql_common::constants::{CapabilityFlags, MariadbCapabilities};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, HandshakeResponse};
use std::io;

pub const NATIVE: &str = "mysql_native_password";
pub const CACHING_SHA2: &str = "caching_sha2_password";
/// The plugin the handshake names: what a client that follows the server
/// computes its first response with.
const ADVERTISED: &str = NATIVE;

/// caching_sha2_password's AuthMoreData messages.
const FAST_AUTH_OK: u8 = 0x03;
const FULL_AUTH_NEEDED: u8 = 0x04;
/// The client asks for the RSA public key.
const PUBLIC_KEY_REQUEST: u8 = 0x02;
/// Length of a caching_sha2_password scramble (a SHA256).
const SCRAMBLE_LEN: usize = 32;

/// Sends the handshake and logs the client in. `Ok(false)`: refused (the
/// error packet was sent), close the connection.
pub async fn handshake(conn: &mut ClientConn, session: &mut Session) -> io::Result<bool> {
    let salt = new_salt();
    conn.salt = salt;
    let security = session.security();
    let version = session.config().server.server_version.clone();
    let mut offered = packets::server_capabilities();
    if security.tls.is_some() {
        offered |= CapabilityFlags::CLIENT_SSL;
    }
    let (version, offered, mariadb) = packets::announced(&version, offered);
    conn.write_packet(&packets::handshake(
        &version,
        session.connection_id,
        &salt,
        offered,
        mariadb,
        ADVERTISED,
    ));
    conn.flush_buffer().await?;
    let Ok(Some(mut packet)) = conn.read_packet().await else {
        return Ok(false);
    };
    if let Some(acceptor) = security.tls.as_ref().filter(|_| is_ssl_request(&packet)) {
        let read_ahead = conn.read_buf.split().freeze();
        if let Err(e) = conn.stream.upgrade(acceptor, read_ahead).await {
            tracing::info!("TLS handshake with a client failed: {e}");
            return Ok(false);
        }
        packet = match conn.read_packet().await {
            Ok(Some(p)) => p,
            _ => return Ok(false),
        };
    }
    let response: HandshakeResponse<'_> = match ParseBuf(&packet).parse(()) {
        Ok(r) => r,
        Err(_) => {
            return refuse(
                conn,
                session,
                Error::new(1043, "08S01", "Bad handshake", Origin::Client),
            )
            .await;
        }
    };
    conn.capabilities = response.capabilities() & offered;
    // A client's MariaDB capabilities count only without CLIENT_MYSQL, as in MariaDB.
    conn.extended_metadata = !mariadb.is_empty()
        && !response
            .capabilities()
            .contains(CapabilityFlags::CLIENT_LONG_PASSWORD)
        && response
            .mariadb_ext_capabilities()
            .contains(MariadbCapabilities::MARIADB_CLIENT_EXTENDED_METADATA);
    session.multi_statements = conn
        .capabilities
        .contains(CapabilityFlags::CLIENT_MULTI_STATEMENTS);
    session.set_found_rows(
        conn.capabilities
            .contains(CapabilityFlags::CLIENT_FOUND_ROWS),
    );
    let user_name = String::from_utf8_lossy(response.user()).into_owned();
    let schema = response
        .db_name()
        .map(|d| String::from_utf8_lossy(d).into_owned());
    let collation = response.collation();
    let plugin = plugin_name(response.auth_plugin());
    let auth_data = response.scramble_buf().to_vec();
    drop(response);
    if session.config().server.require_secure_transport && !conn.stream.is_tls() {
        return refuse(conn, session, insecure_transport()).await;
    }
    let user = match log_in(
        conn, session, &security, &user_name, plugin, &salt, auth_data,
    )
    .await?
    {
        Ok(user) => user,
        Err(e) => return refuse(conn, session, e).await,
    };
    if let Err(e) = session.login(user, schema.as_deref()) {
        return refuse(conn, session, e).await;
    }
    session.set_client_collation(u16::from(collation));
    conn.ok(&OkInfo::default(), session.status());
    conn.flush_buffer().await?;
    Ok(true)
}

/// The plugin a client computed its response with, if the proxy knows it;
/// a client that names none uses mysql_native_password.
pub fn plugin_name(plugin: Option<&AuthPlugin<'_>>) -> Option<&'static str> {
    match plugin {
        None | Some(AuthPlugin::MysqlNativePassword) => Some(NATIVE),
        Some(AuthPlugin::CachingSha2Password) => Some(CACHING_SHA2),
        Some(_) => None,
    }
}

/// The 32-byte SSL request a client sends instead of its handshake response.
fn is_ssl_request(packet: &[u8]) -> bool {
    packet.len() == 32
        && Reader::new(packet).u32().is_ok_and(|caps| {
            CapabilityFlags::from_bits_truncate(caps).contains(CapabilityFlags::CLIENT_SSL)
        })
}

fn insecure_transport() -> Error {
    Error::new(
        3159,
        "HY000",
        "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
        Origin::Client,
    )
}

/// Checks the credentials with the plugin the client used, switching it to
/// the one the user's stored hash can check when needed.
async fn log_in(
    conn: &mut ClientConn,
    session: &Session,
    security: &Security,
    user_name: &str,
    plugin: Option<&str>,
    salt: &[u8; 20],
    mut auth_data: Vec<u8>,
) -> io::Result<Result<User, Error>> {
    let Some(user) = session.find_user(user_name).cloned() else {
        return Ok(Err(Error::access_denied(user_name, !auth_data.is_empty())));
    };
    // The plugin this user can log in with: native needs the SHA1 hash.
    let wanted = match (plugin, user.password_sha1.is_some()) {
        (Some(NATIVE), true) => NATIVE,
        (Some(CACHING_SHA2), _) => CACHING_SHA2,
        (_, true) if user.password_sha2.is_none() => NATIVE,
        _ => CACHING_SHA2,
    };
    // A client whose own plugin is not the one the handshake named may send
    // nothing and wait to be asked again by name (libmariadb does): an empty
    // response then is not the empty password, so ask, with the same salt.
    let unanswered = plugin != Some(ADVERTISED) && auth_data.is_empty();
    if plugin != Some(wanted) || unanswered {
        conn.write_packet(&packets::auth_switch(wanted, salt));
        conn.flush_buffer().await?;
        auth_data = match conn.read_packet().await {
            Ok(Some(p)) => p.to_vec(),
            _ => return Ok(Err(Error::access_denied(user_name, true))),
        };
    }
    let proved = if wanted == NATIVE {
        user.password_sha1
            .as_ref()
            .is_some_and(|stored| verify_native(salt, &auth_data, stored))
    } else {
        caching_sha2(conn, security, &user, salt, &auth_data).await?
    };
    Ok(if proved {
        Ok(user)
    } else {
        Err(Error::access_denied(user_name, !auth_data.is_empty()))
    })
}

/// caching_sha2_password: the fast path when the stored SHA256 hash proves
/// the scramble; else full authentication with the clear password.
async fn caching_sha2(
    conn: &mut ClientConn,
    security: &Security,
    user: &User,
    salt: &[u8; 20],
    scramble: &[u8],
) -> io::Result<bool> {
    // An empty scramble is the empty password.
    if scramble.is_empty() || scramble == [0] {
        return Ok(has_empty_password(user));
    }
    if let Some(stored) = &user.password_sha2 {
        if verify_sha2_scramble(salt, scramble, stored) {
            conn.write_packet(&[0x01, FAST_AUTH_OK]);
            return Ok(true);
        }
    }
    if conn.stream.is_tls() {
        // Over TLS libmariadb skips the scramble and sends the clear
        // password, NUL-terminated, at once; then it waits for OK or error.
        if let Some(clear) = clear_password(scramble) {
            if scramble.len() != SCRAMBLE_LEN || verify_clear(user, clear) {
                return Ok(verify_clear(user, clear));
            }
        }
    }
    conn.write_packet(&[0x01, FULL_AUTH_NEEDED]);
    conn.flush_buffer().await?;
    let Ok(Some(mut packet)) = conn.read_packet().await else {
        return Ok(false);
    };
    let password = if conn.stream.is_tls() {
        clear_password(&packet).unwrap_or(&packet).to_vec()
    } else {
        if packet[..] == [PUBLIC_KEY_REQUEST] {
            let mut answer = vec![0x01];
            answer.extend_from_slice(security.rsa.public_pem.as_bytes());
            conn.write_packet(&answer);
            conn.flush_buffer().await?;
            packet = match conn.read_packet().await {
                Ok(Some(p)) => p,
                _ => return Ok(false),
            };
        }
        if packet.len() != security.rsa.size() {
            // A clear password over plain TCP: refused, as MySQL does.
            return Ok(false);
        }
        match security.rsa.decrypt(&packet) {
            Some(decrypted) => unmask_rsa_password(&decrypted, salt),
            None => return Ok(false),
        }
    };
    Ok(verify_clear(user, &password))
}

/// A clear password as clients send it: the bytes before a final NUL.
fn clear_password(packet: &[u8]) -> Option<&[u8]> {
    packet.strip_suffix(&[0])
}

/// Sends the refusal and closes the connection.
async fn refuse(conn: &mut ClientConn, session: &Session, error: Error) -> io::Result<bool> {
    tracing::info!("login refused: {}", error);
    session.login_refused();
    conn.error(&error);
    conn.flush_buffer().await?;
    Ok(false)
}

/// COM_CHANGE_USER's login: the response was scrambled with the
/// handshake's salt by the plugin the client names; checked as at the
/// handshake (the same switch, fast path or full authentication), as
/// MySQL 8 does. The connection is already past `require_secure_transport`.
pub async fn reauthenticate(
    conn: &mut ClientConn,
    session: &Session,
    user_name: &str,
    plugin: Option<&str>,
    auth_data: Vec<u8>,
) -> io::Result<Result<User, Error>> {
    let security = session.security();
    let salt = conn.salt;
    log_in(
        conn, session, &security, user_name, plugin, &salt, auth_data,
    )
    .await
}
