//! MariaDB's extended metadata (a JSON column's `format=json`, a geometry
//! column's `type=point`) through a proxy that announces a MariaDB server
//! version: a client that negotiates MARIADB_CLIENT_EXTENDED_METADATA gets
//! the column definitions exactly as MariaDB sends them; one that does not
//! (mysql_async, a raw client with CLIENT_MYSQL) gets them without it, as
//! MariaDB itself would send them. Each is compared with the same client
//! connected directly to the backend.

mod common;
mod raw_client;

use common::{cluster, data_sources_toml, fresh_databases, mariadb_command, Proxy};
use mysql_async::prelude::Queryable;
use raw_client::{Raw, Reply, COM_QUERY, COM_STMT_PREPARE};
use std::process::Stdio;

const USER: &str = "app";
const PASSWORD: &str = "app_pw";
const SETUP: &str = "CREATE TABLE j (d JSON, p POINT, n INT); \
                     INSERT INTO j VALUES ('{\"a\": 1}', POINT(1, 2), 3)";
const QUERY: &str = "SELECT d, p, n FROM j";
const MARIADB_VERSION: &str = "10.11.19-MariaDB-shardgate";

/// The MARIADB_CLIENT_EXTENDED_METADATA bit in the handshake response's
/// last four filler bytes (payload offset 28).
const EXTENDED_METADATA: u8 = 0x08;

struct Env {
    proxy: Proxy,
    dbs: Vec<String>,
}

/// A proxy over a database holding `j`, announcing `version` when given.
fn start(prefix: &str, version: Option<&str>) -> Env {
    let dbs = fresh_databases(prefix);
    cluster()[0].exec(&format!("USE `{}`; {SETUP}", dbs[0]));
    let server = version
        .map(|v| format!("[server]\nserver_version = \"{v}\"\n\n"))
        .unwrap_or_default();
    let rules = format!(
        "{server}[[users]]\nname = \"{USER}\"\npassword = \"{PASSWORD}\"\nschemas = [\"shop\"]\n\n\
         {}[schemas.shop]\ndefault_data_source = \"ds_0\"\n",
        data_sources_toml(&dbs)
    );
    Env {
        proxy: Proxy::start(&rules),
        dbs,
    }
}

/// `mariadb --column-type-info` of [`QUERY`]: its whole output.
fn column_type_info(port: u16, user: &str, password: &str, db: &str) -> String {
    let out = mariadb_command(port, user, password)
        .args(["-t", "--column-type-info", "-e", QUERY, db])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run mariadb ({e}); install mariadb-client"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_mariadb_cli_sees_the_extended_types_as_on_the_backend() {
    let env = start("extmeta_cli", Some(MARIADB_VERSION));
    let via_proxy = column_type_info(env.proxy.port(), USER, PASSWORD, "shop");
    let direct = column_type_info(cluster()[0].port(), "root", "", &env.dbs[0]);
    assert!(direct.contains("BLOB (format=json)"), "{direct}");
    assert!(direct.contains("GEOMETRY (type=point)"), "{direct}");
    assert_eq!(via_proxy, direct);
}

/// With a MySQL server version (the default) the proxy announces no
/// MariaDB capabilities, and the CLI gets the plain types.
#[test]
fn a_mysql_version_offers_no_extended_metadata() {
    let env = start("extmeta_mysql", None);
    let via_proxy = column_type_info(env.proxy.port(), USER, PASSWORD, "shop");
    assert!(via_proxy.contains("Type:       BLOB\n"), "{via_proxy}");
    assert!(!via_proxy.contains("format=json"), "{via_proxy}");
}

/// Column definitions and rows of [`QUERY`] as mysql_async reads them.
async fn mysql_async_view(url: String) -> Vec<String> {
    let mut conn = mysql_async::Conn::from_url(url).await.expect("connect");
    let result: Vec<mysql_async::Row> = conn.query(QUERY).await.expect(QUERY);
    let mut view: Vec<String> = result[0]
        .columns_ref()
        .iter()
        .map(|c| {
            format!(
                "{} {:?} {:?} {}",
                c.name_str(),
                c.column_type(),
                c.flags(),
                c.character_set()
            )
        })
        .collect();
    view.extend(result.into_iter().map(|r| format!("{:?}", r.unwrap())));
    let _ = conn.disconnect().await;
    view
}

#[test]
fn mysql_async_gets_the_definitions_without_extended_metadata() {
    let env = start("extmeta_async", Some(MARIADB_VERSION));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let via_proxy = runtime.block_on(mysql_async_view(env.proxy.url(USER, PASSWORD, "shop")));
    let direct = runtime.block_on(mysql_async_view(cluster()[0].url(&env.dbs[0])));
    assert_eq!(via_proxy, direct);
}

/// The column definitions of [`QUERY`] for a raw client whose handshake
/// response `patch` changed.
fn raw_definitions(
    port: u16,
    user: &str,
    password: &str,
    db: &str,
    patch: fn(&mut [u8]),
) -> Vec<Vec<u8>> {
    let mut raw = Raw::login_patched(port, user, password, Some(db), |r: &mut Vec<u8>| patch(r));
    raw.command(COM_QUERY, QUERY.as_bytes());
    match raw.reply() {
        Reply::Rows { columns, .. } => columns,
        other => panic!("{QUERY}: {other:?}"),
    }
}

/// Asks for extended metadata, without CLIENT_MYSQL (as MariaDB clients do).
fn ask_for_extended_metadata(response: &mut [u8]) {
    response[0] &= !0x01;
    response[28] |= EXTENDED_METADATA;
}

/// Sets the bit but keeps CLIENT_MYSQL: MariaDB then ignores the bit.
fn set_the_bit_as_a_mysql_client(response: &mut [u8]) {
    response[28] |= EXTENDED_METADATA;
}

#[test]
fn raw_clients_get_extended_metadata_exactly_when_they_negotiate_it() {
    let env = start("extmeta_raw", Some(MARIADB_VERSION));
    let port = env.proxy.port();
    let direct = cluster()[0].port();
    let db = env.dbs[0].as_str();
    for patch in [
        ask_for_extended_metadata,
        set_the_bit_as_a_mysql_client,
        |_: &mut [u8]| {},
    ] {
        let via_proxy = raw_definitions(port, USER, PASSWORD, "shop", patch);
        let straight = raw_definitions(direct, "root", "", db, patch);
        assert_eq!(via_proxy, straight);
    }
    let extended = raw_definitions(port, USER, PASSWORD, "shop", ask_for_extended_metadata);
    assert!(
        extended[0].windows(5).any(|w| w == b"\x04json"),
        "{:?}",
        extended[0]
    );
    // A result the proxy builds itself carries an empty extended field.
    let mut raw = Raw::login_patched(port, USER, PASSWORD, Some("shop"), |r: &mut Vec<u8>| {
        ask_for_extended_metadata(r)
    });
    raw.command(COM_QUERY, b"SHOW DATABASES");
    match raw.reply() {
        Reply::Rows { columns, rows } => {
            let names_then_empty_extended: &[u8] = b"\x03def\0\0\0\x08Database\x08Database\0\x0c";
            assert_eq!(columns.len(), 1);
            assert!(
                columns[0].starts_with(names_then_empty_extended),
                "{:?}",
                columns[0]
            );
            assert!(rows.contains(&b"\x04shop".to_vec()), "{rows:?}");
        }
        other => panic!("SHOW DATABASES: {other:?}"),
    }
}

/// The column definitions COM_STMT_PREPARE answers for [`QUERY`].
fn prepared_definitions(
    port: u16,
    user: &str,
    password: &str,
    db: &str,
    patch: fn(&mut [u8]),
) -> Vec<Vec<u8>> {
    let mut raw = Raw::login_patched(port, user, password, Some(db), |r: &mut Vec<u8>| patch(r));
    raw.command(COM_STMT_PREPARE, QUERY.as_bytes());
    let ok = raw.packet();
    assert_eq!(ok[0], 0x00, "COM_STMT_PREPARE: {ok:?}");
    let columns = u16::from_le_bytes([ok[5], ok[6]]) as usize;
    assert_eq!(u16::from_le_bytes([ok[7], ok[8]]), 0, "no parameters");
    (0..columns).map(|_| raw.packet()).collect()
}

#[test]
fn prepared_statements_describe_their_columns_as_the_backend_does() {
    let env = start("extmeta_prepare", Some(MARIADB_VERSION));
    let db = env.dbs[0].as_str();
    for patch in [ask_for_extended_metadata, |_: &mut [u8]| {}] {
        let via_proxy = prepared_definitions(env.proxy.port(), USER, PASSWORD, "shop", patch);
        let straight = prepared_definitions(cluster()[0].port(), "root", "", db, patch);
        assert_eq!(via_proxy, straight);
    }
}
