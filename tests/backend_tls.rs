//! TLS from the proxy to its backends (`data_sources.NAME.tls`, `tls_ca`),
//! through the running proxy against a MariaDB started with a certificate
//! of a generated CA, and against the shared plain servers. One proxy holds
//! every case: each schema has a data source of its own.

mod common;

use common::{MariaDb, Proxy, APP_PASSWORD, APP_USER};
use mysql_async::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The proxy's account on the TLS server: it may only log in over TLS.
const TLS_USER: &str = "tls_user";
const TLS_PASSWORD: &str = "tls_pw";
const TLS_DB: &str = "tls_db";

/// A CA and a server certificate it signed for `localhost` (not for
/// 127.0.0.1), written to `dir`: (CA, server cert, server key).
fn certificates(dir: &Path, ca_name: &str) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key).unwrap();
    let paths = (
        dir.join(format!("{ca_name}-ca.pem")),
        dir.join(format!("{ca_name}-server.pem")),
        dir.join(format!("{ca_name}-server-key.pem")),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, server_cert.pem()).unwrap();
    std::fs::write(&paths.2, server_key.serialize_pem()).unwrap();
    paths
}

/// The TLS server and the proxy in front of every case.
struct Fixture {
    tls_server: MariaDb,
    proxy: Proxy,
}

/// Each case: schema (and data source) name, then its data source's keys.
fn cases(tls_port: u16, plain: &str, ca: &Path, wrong_ca: &Path) -> Vec<(&'static str, String)> {
    let tls_at =
        |host: &str| format!("mysql://{TLS_USER}:{TLS_PASSWORD}@{host}:{tls_port}/{TLS_DB}");
    let root_at = format!("mysql://root:@127.0.0.1:{tls_port}/{TLS_DB}");
    let ca = ca.display();
    vec![
        // The certificate names localhost, not 127.0.0.1: an IP literal gets the chain check only.
        (
            "req_ca",
            format!(
                "primary = \"{}\"\ntls = \"required\"\ntls_ca = \"{ca}\"\npool_max = 1",
                tls_at("127.0.0.1")
            ),
        ),
        // A DNS name is checked against the certificate too.
        (
            "req_dns",
            format!(
                "primary = \"{}\"\ntls = \"required\"\ntls_ca = \"{ca}\"",
                tls_at("localhost")
            ),
        ),
        ("pref_tls", format!("primary = \"{}\"", tls_at("127.0.0.1"))),
        (
            "wrong_ca",
            format!(
                "primary = \"{}\"\ntls = \"preferred\"\ntls_ca = \"{}\"",
                root_at,
                wrong_ca.display()
            ),
        ),
        (
            "disabled_tls",
            format!("primary = \"{root_at}\"\ntls = \"disabled\""),
        ),
        (
            "disabled_tls_user",
            format!("primary = \"{}\"\ntls = \"disabled\"", tls_at("127.0.0.1")),
        ),
        (
            "req_plain",
            format!("primary = \"{plain}\"\ntls = \"required\""),
        ),
        ("pref_plain", format!("primary = \"{plain}\"")),
    ]
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("backend-tls-")
            .tempdir()
            .unwrap()
            .keep();
        let (ca, cert, key) = certificates(&dir, "good");
        let (wrong_ca, _, _) = certificates(&dir, "other");
        let server = MariaDb::start_with(&[
            format!("--ssl-ca={}", ca.display()),
            format!("--ssl-cert={}", cert.display()),
            format!("--ssl-key={}", key.display()),
        ]);
        server.exec(&format!(
            "CREATE DATABASE {TLS_DB}; \
             CREATE USER '{TLS_USER}'@'%' IDENTIFIED BY '{TLS_PASSWORD}' REQUIRE SSL; \
             GRANT ALL ON {TLS_DB}.* TO '{TLS_USER}'@'%'"
        ));
        let plain_db = common::fresh_databases("backend_tls").remove(0);
        let plain = common::cluster()[0].data_source_url(&plain_db);
        let cases = cases(server.port(), &plain, &ca, &wrong_ca);
        let schemas: Vec<String> = cases.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        let mut rules = format!(
            "[[users]]\nname = \"{APP_USER}\"\npassword = \"{APP_PASSWORD}\"\nschemas = [{}]\n\n",
            schemas.join(", ")
        );
        for (name, keys) in &cases {
            rules.push_str(&format!(
                "[data_sources.{name}]\n{keys}\n\n[schemas.{name}]\ndefault_data_source = \"{name}\"\n\n"
            ));
        }
        let proxy = Proxy::start(&rules);
        Fixture {
            tls_server: server,
            proxy,
        }
    })
}

/// A client on `schema`. mysql_async's first queries after the login
/// already reach the data source, so its errors may come here.
async fn try_client(schema: &str) -> Result<mysql_async::Conn, mysql_async::Error> {
    let proxy = &fixture().proxy;
    let opts = mysql_async::Opts::from_url(&proxy.url(APP_USER, APP_PASSWORD, schema)).unwrap();
    mysql_async::Conn::new(opts).await
}

async fn client(schema: &str) -> mysql_async::Conn {
    try_client(schema)
        .await
        .unwrap_or_else(|e| panic!("login on {schema}: {e}\n{}", fixture().proxy.log()))
}

/// The cipher of the backend session that runs the client's statements
/// (empty: plain TCP), or the error.
async fn backend_cipher(schema: &str) -> Result<String, mysql_async::Error> {
    let mut conn = try_client(schema).await?;
    let row: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await?;
    // MariaDB always has the row; it is empty on plain TCP.
    Ok(row.expect("no Ssl_cipher row from the backend").1)
}

/// The server's error code and message.
fn server_error(e: mysql_async::Error) -> (u16, String) {
    match e {
        mysql_async::Error::Server(e) => (e.code, e.message),
        other => panic!("not a server error: {other}"),
    }
}

#[tokio::test]
async fn required_with_ca_encrypts_and_verifies() {
    let cipher = backend_cipher("req_ca").await.unwrap();
    assert!(!cipher.is_empty(), "not encrypted");
    // And the account that may only log in over TLS runs statements.
    let mut conn = client("req_ca").await;
    conn.query_drop("CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, v TEXT)")
        .await
        .unwrap();
    conn.query_drop("REPLACE INTO t VALUES (1, 'over tls')")
        .await
        .unwrap();
    let v: Option<String> = conn
        .query_first("SELECT v FROM t WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("over tls"));
    // Through a DNS name the certificate names.
    assert!(!backend_cipher("req_dns").await.unwrap().is_empty());
}

#[tokio::test]
async fn preferred_encrypts_when_offered_and_not_otherwise() {
    assert!(!backend_cipher("pref_tls").await.unwrap().is_empty());
    assert_eq!(backend_cipher("pref_plain").await.unwrap(), "");
}

#[tokio::test]
async fn disabled_stays_plain_against_a_tls_server() {
    assert_eq!(backend_cipher("disabled_tls").await.unwrap(), "");
    // The account that requires TLS is refused by the backend: no TLS was used.
    let (code, message) = server_error(backend_cipher("disabled_tls_user").await.unwrap_err());
    assert_eq!(code, 1105, "{message}");
    assert!(
        message.contains("data source 'disabled_tls_user'") && message.contains("1045"),
        "{message}"
    );
}

#[tokio::test]
async fn required_against_a_plain_server_fails_naming_the_data_source() {
    let (code, message) = server_error(backend_cipher("req_plain").await.unwrap_err());
    assert_eq!(code, 1105, "{message}");
    assert!(
        message.contains("data source 'req_plain'")
            && message.contains("does not offer TLS")
            && message.contains("required"),
        "{message}"
    );
}

#[tokio::test]
async fn a_certificate_of_another_ca_is_refused_without_plaintext_fallback() {
    let (code, message) = server_error(backend_cipher("wrong_ca").await.unwrap_err());
    assert_eq!(code, 1105, "{message}");
    assert!(
        message.contains("data source 'wrong_ca'") && message.contains("TLS handshake failed"),
        "{message}"
    );
}

/// With pool_max 1, clients on every worker share one TLS connection: it
/// moves between workers' runtimes instead of being closed and reopened.
#[tokio::test]
async fn a_tls_connection_moves_between_workers() {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(tokio::spawn(async {
            let mut conn = client("req_ca").await;
            let mut ids = Vec::new();
            for _ in 0..25 {
                let id: Option<u64> = conn.query_first("SELECT @@pseudo_thread_id").await.unwrap();
                ids.push(id.unwrap());
            }
            conn.disconnect().await.unwrap();
            ids
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    assert_eq!(ids.len(), 1, "backend connections used: {ids:?}");
}

#[test]
fn an_unreadable_tls_ca_stops_the_start_naming_the_key() {
    let db = common::fresh_databases("backend_tls_ca").remove(0);
    let rules = common::passthrough_rules("app", std::slice::from_ref(&db)).replacen(
        "\n\n[schemas.app]",
        "\ntls = \"required\"\ntls_ca = \"/nonexistent/backend-ca.pem\"\n\n[schemas.app]",
        1,
    );
    assert!(rules.contains("tls_ca"), "{rules}");
    let e = Proxy::try_start(&rules).err().expect("started anyway");
    assert!(
        e.contains("data_sources.ds_0.tls_ca: cannot read /nonexistent/backend-ca.pem"),
        "{e}"
    );
}

/// An idle TLS connection the backend killed is noticed and replaced
/// without the client seeing an error.
#[tokio::test]
async fn a_killed_idle_tls_connection_is_replaced() {
    let mut conn = client("req_dns").await;
    let first: Option<u64> = conn.query_first("SELECT @@pseudo_thread_id").await.unwrap();
    let first = first.unwrap();
    fixture().tls_server.exec(&format!("KILL {first}"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let next: Option<u64> = conn
        .query_first("SELECT @@pseudo_thread_id")
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", fixture().proxy.log()));
    assert_ne!(next.unwrap(), first);
    let cipher: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .unwrap();
    assert!(!cipher.unwrap().1.is_empty());
}
