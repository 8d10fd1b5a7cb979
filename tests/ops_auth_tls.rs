//! Logins through the running proxy: caching_sha2_password (fast path for
//! a user stored as `password_sha2`, full authentication with RSA over plain
//! TCP and with the clear password over TLS), mysql_native_password still,
//! TLS with the `mariadb` CLI, `require_secure_transport` (3159), and a
//! renewed certificate picked up by RELOAD CONFIG.

mod common;
mod ops_env;

use common::{mariadb_command, Proxy};
use mysql_async::prelude::*;
use ops_env::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

/// Hex of SHA256(SHA256(pw)), as `password_sha2` holds it.
fn sha2_hex(password: &str) -> String {
    shardgate::config::double_sha256(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hex of SHA1(SHA1(pw)), as `password_sha1` holds it.
fn sha1_hex(password: &str) -> String {
    shardgate::config::double_sha1(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A self-signed certificate for 127.0.0.1/localhost written to `dir`:
/// (cert path, key path). `name` tells renewals apart.
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        name.to_string(),
    ])
    .expect("generate a certificate");
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    (cert, key)
}

/// Users `s2` (password_sha2 only), `s1` (password_sha1 only), `app`, admin `ops`.
fn auth_rules(dbs: &[String], server: &str) -> String {
    let rules = kv_rules(dbs, common::free_port(), "");
    let users = format!(
        "[[users]]\nname = \"s2\"\npassword_sha2 = \"{}\"\nschemas = [\"app\"]\n\n\
         [[users]]\nname = \"s1\"\npassword_sha1 = \"{}\"\nschemas = [\"app\"]\n\n",
        sha2_hex("s2_pw"),
        sha1_hex("s1_pw")
    );
    rules.replacen("[server]\n", &format!("[server]\n{server}\n"), 1) + &users
}

fn temp_dir() -> PathBuf {
    tempfile::Builder::new()
        .prefix("ops-tls-")
        .tempdir()
        .unwrap()
        .keep()
}

/// `mariadb ... -e status` with extra options: (ok, stdout + stderr).
fn cli_status(proxy: &Proxy, user: &str, password: &str, options: &[&str]) -> (bool, String) {
    let mut cmd = mariadb_command(proxy.port(), user, password);
    cmd.args(options).arg("-e").arg("status").arg("app");
    let out = cmd.stdin(Stdio::null()).output().expect("run mariadb");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn caching_sha2_fast_path_and_native_with_mysql_async() {
    let dbs = common::fresh_databases("ops_sha2");
    let proxy = Proxy::start(&auth_rules(&dbs, ""));
    // Stored as SHA256 only: the proxy switches mysql_async to caching_sha2_password.
    let mut s2 = connect(&proxy, "s2", "s2_pw").await;
    let one: Option<i64> = s2.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    let opts = mysql_async::Opts::from_url(&proxy.url("s2", "wrong", "app")).unwrap();
    let e = mysql_async::Conn::new(opts).await.unwrap_err();
    assert!(e.to_string().contains("1045"), "{e}");
    // Stored as SHA1 only, and a plain password: native still works.
    let mut s1 = connect(&proxy, "s1", "s1_pw").await;
    let one: Option<i64> = s1.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    let mut app = app_conn(&proxy).await;
    app.query_drop("SELECT 1").await.unwrap();
}

#[test]
fn mariadb_cli_with_caching_sha2_full_authentication_over_rsa() {
    let dbs = common::fresh_databases("ops_rsa");
    let proxy = Proxy::start(&auth_rules(&dbs, ""));
    // The handshake names mysql_native_password; with its own default the
    // CLI sends an empty response and waits to be asked again by name.
    // `--skip-ssl`: with `ssl` on (its default) the CLI takes the link for
    // secure even when the server offers no TLS, and sends the password in
    // clear instead of asking for the RSA key; that is refused.
    let sha2 = ["--default-auth=caching_sha2_password", "--skip-ssl"];
    // s1 has no SHA256 hash: the fast path cannot work, so the proxy asks
    // for the full password, which the CLI sends RSA-encrypted with the
    // public key it asks for.
    let (ok, text) = cli_status(&proxy, "s1", "s1_pw", &sha2);
    assert!(ok, "{text}\n{}", proxy.log());
    let (ok, text) = cli_status(&proxy, "s1", "bad", &sha2);
    assert!(!ok && text.contains("1045"), "{text}");
    // The fast path from the CLI, and a wrong password for it.
    let (ok, text) = cli_status(&proxy, "s2", "s2_pw", &sha2);
    assert!(ok, "{text}");
    let (ok, text) = cli_status(&proxy, "s2", "bad", &sha2);
    assert!(!ok && text.contains("1045"), "{text}");
    // The password in clear over plain TCP (CLI defaults): refused.
    let (ok, text) = cli_status(&proxy, "s1", "s1_pw", &sha2[..1]);
    assert!(!ok && text.contains("1045"), "{text}");
}

#[test]
fn tls_with_the_mariadb_cli_and_require_secure_transport() {
    let dbs = common::fresh_databases("ops_tls");
    let dir = temp_dir();
    let (cert, key) = self_signed(&dir, "first");
    let server = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\nrequire_secure_transport = true",
        cert.display(),
        key.display()
    );
    let proxy = Proxy::start(&auth_rules(&dbs, &server));
    let tls = ["--ssl", "--ssl-verify-server-cert=0"];
    let (ok, text) = cli_status(&proxy, "app", "app_pw", &tls);
    assert!(ok, "{text}\n{}", proxy.log());
    assert!(text.contains("Cipher in use"), "not encrypted:\n{text}");
    // caching_sha2_password's full authentication over TLS: the CLI sends
    // the clear password at once, for a user stored as SHA1 only (s1) and,
    // switched from mysql_native_password, for one stored as SHA256 only (s2).
    let sha2 = [&tls[..], &["--default-auth=caching_sha2_password"]].concat();
    for (user, password, options) in [
        ("s1", "s1_pw", &sha2[..]),
        ("s2", "s2_pw", &sha2[..]),
        ("s2", "s2_pw", &tls[..]),
    ] {
        let (ok, text) = cli_status(&proxy, user, password, options);
        assert!(ok, "{user} {options:?}: {text}\n{}", proxy.log());
        let (ok, text) = cli_status(&proxy, user, "bad", options);
        assert!(!ok && text.contains("1045"), "{user} {options:?}: {text}");
    }
    // Plain TCP is refused.
    let (ok, text) = cli_status(&proxy, "app", "app_pw", &["--skip-ssl"]);
    assert!(!ok && text.contains("3159"), "{text}");

    // A renewed certificate: RELOAD CONFIG picks up the new files.
    let (new_cert, new_key) = self_signed(&dir, "renewed");
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    let mut reload = mariadb_command(proxy.port(), ADMIN_USER, ADMIN_PASSWORD);
    let out = reload
        .args(tls)
        .arg("-e")
        .arg("RELOAD CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // After the reload, TLS logins still work (with the renewed files).
    let out = mariadb_command(proxy.port(), ADMIN_USER, ADMIN_PASSWORD)
        .args(tls)
        .arg("-e")
        .arg("SELECT 1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A client may send its TLS hello in the same segment as the SSL request
/// (Go's driver does, now and then): the proxy must hand those bytes to the
/// TLS handshake rather than drop them and wait.
#[test]
fn tls_hello_in_the_same_write_as_the_ssl_request() {
    use std::io::{Read, Write};
    use tokio_rustls::rustls;

    let dbs = common::fresh_databases("ops_tls_ahead");
    let dir = temp_dir();
    let (cert, key) = self_signed(&dir, "ahead");
    let server = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"",
        cert.display(),
        key.display()
    );
    let proxy = Proxy::start(&auth_rules(&dbs, &server));

    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut header = [0u8; 4];
    tcp.read_exact(&mut header).unwrap();
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut greeting = vec![0u8; len];
    tcp.read_exact(&mut greeting).unwrap();

    // SSL request (sequence 1): capabilities, max packet, charset, 23 zeros.
    let caps: u32 = 0x0000_0200 | 0x0000_0800 | 0x0000_8000 | 0x0008_0000;
    let mut first = vec![32, 0, 0, 1];
    first.extend_from_slice(&caps.to_le_bytes());
    first.extend_from_slice(&(16u32 << 20).to_le_bytes());
    first.push(45);
    first.extend_from_slice(&[0; 23]);

    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&cert).unwrap();
    for der in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(der.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    // The hello goes out in the same write as the SSL request.
    tls.write_tls(&mut first).unwrap();
    tcp.write_all(&first).unwrap();
    while tls.is_handshaking() {
        tls.complete_io(&mut tcp)
            .unwrap_or_else(|e| panic!("TLS handshake: {e}\n{}", proxy.log()));
    }
}

/// COM_CHANGE_USER as mysql_async sends it: the response scrambled with the
/// handshake's salt by the plugin the connection used last, then switched,
/// fast-pathed or fully authenticated as at a login.
#[tokio::test]
async fn change_user_with_caching_sha2_and_the_session_reset() {
    use mysql_async::ChangeUserOpts;
    let dbs = common::fresh_databases("ops_chuser");
    let proxy = Proxy::start(&auth_rules(&dbs, ""));
    let mut conn = app_conn(&proxy).await;
    conn.query_drop("CREATE TABLE t_kv (id BIGINT PRIMARY KEY, v VARCHAR(20))")
        .await
        .unwrap();
    // State that change_user must drop: a user variable, a session
    // variable, a temporary table, an open transaction.
    conn.query_drop("SET @left_behind = 7").await.unwrap();
    conn.query_drop("SET SESSION sql_select_limit = 1")
        .await
        .unwrap();
    conn.query_drop("CREATE TEMPORARY TABLE t_tmp (x INT)")
        .await
        .unwrap();
    conn.query_drop("BEGIN").await.unwrap();
    conn.query_drop("INSERT INTO t_kv (id, v) VALUES (1, 'uncommitted')")
        .await
        .unwrap();
    // app (mysql_native_password) to s2 (password_sha2 only): the native
    // response cannot be checked, the proxy switches it to caching_sha2's
    // fast path.
    let to = |user: &str, pass: &str| {
        ChangeUserOpts::default()
            .with_user(Some(user.into()))
            .with_pass(Some(pass.into()))
            .with_db_name(Some("app".into()))
    };
    conn.change_user(to("s2", "s2_pw")).await.unwrap();
    let who: Option<String> = conn.query_first("SELECT CURRENT_USER()").await.unwrap();
    assert_eq!(who.as_deref(), Some("s2@%"));
    let left: Option<Option<i64>> = conn.query_first("SELECT @left_behind").await.unwrap();
    assert_eq!(left, Some(None), "user variable survived change_user");
    let limit: Option<String> = conn.query_first("SELECT @@sql_select_limit").await.unwrap();
    assert_ne!(limit.as_deref(), Some("1"), "session variable survived");
    let e = conn.query_drop("SELECT * FROM t_tmp").await.unwrap_err();
    assert!(
        e.to_string().contains("1146"),
        "temporary table survived: {e}"
    );
    let rows: Vec<i64> = conn.query("SELECT id FROM t_kv").await.unwrap();
    assert!(rows.is_empty(), "the open transaction was not rolled back");
    // s2 again, from caching_sha2: its scramble of the handshake salt
    // passes the fast path without a switch.
    conn.change_user(to("s2", "s2_pw")).await.unwrap();
    // s1 (password_sha1 only) from caching_sha2: full authentication, the
    // password RSA-encrypted over plain TCP.
    conn.change_user(to("s1", "s1_pw")).await.unwrap();
    let who: Option<String> = conn.query_first("SELECT CURRENT_USER()").await.unwrap();
    assert_eq!(who.as_deref(), Some("s1@%"));
    // MySQL 8's default collation, which the MariaDB backends lack: they get
    // utf8mb4_uca1400_nopad_ai_ci (accent and case insensitive, NO PAD), the
    // client is told the name it asked for.
    conn.query_drop("SET NAMES 'utf8mb4' COLLATE 'utf8mb4_0900_ai_ci'")
        .await
        .unwrap();
    let row: Option<(String, i64, i64)> = conn
        .query_first("SELECT @@collation_connection, 'é' = 'E', 'a' = 'a '")
        .await
        .unwrap();
    assert_eq!(row, Some(("utf8mb4_0900_ai_ci".into(), 1, 0)));
    // A table definition from a MySQL 8 dump, on an unsharded table.
    conn.query_drop(
        "CREATE TABLE t_dump (v VARCHAR(10)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci",
    )
    .await
    .unwrap();
    // Back to native for app (mysql_async asks for utf8mb4_general_ci),
    // then a wrong password: 1045, connection closed.
    conn.change_user(to("app", "app_pw")).await.unwrap();
    let collation: Option<String> = conn
        .query_first("SELECT @@collation_connection")
        .await
        .unwrap();
    assert_eq!(collation.as_deref(), Some("utf8mb4_general_ci"));
    conn.query_drop("SELECT 1").await.unwrap();
    let e = conn.change_user(to("s2", "wrong")).await.unwrap_err();
    assert!(e.to_string().contains("1045"), "{e}");
    // A fresh connection and a wrong password for a full authentication.
    let mut other = app_conn(&proxy).await;
    other.change_user(to("s2", "s2_pw")).await.unwrap();
    let e = other.change_user(to("s1", "wrong")).await.unwrap_err();
    assert!(e.to_string().contains("1045"), "{e}");
    let log = proxy.log();
    assert!(log.contains("change user refused"), "{log}");
}
