//! mysql_async as the client, through the proxy. Wherever the answer is the
//! backend's, the same statement runs directly on the backend database too
//! and the two answers must be equal: values, column metadata, OK-packet
//! contents and errors.

mod common;

use common::{cluster, fresh_databases, passthrough_rules, MariaDb, Proxy, APP_PASSWORD, APP_USER};
use mysql_async::consts::{ColumnFlags, ColumnType, StatusFlags};
use mysql_async::prelude::*;
use mysql_async::{ChangeUserOpts, Column, Conn, Opts, OptsBuilder, Params, Row, TxOpts, Value};
use std::future::Future;
use std::time::{Duration, Instant};

/// The logical schema every test uses; on data source `ds_0`.
const SCHEMA: &str = "shop";
/// A second logical schema, on data source `ds_1`.
const SCHEMA2: &str = "shop2";
/// A second login, allowed on both schemas (COM_CHANGE_USER target).
const OPS_USER: &str = "ops";
const OPS_PASSWORD: &str = "ops_pw";
/// No test may take longer: a desynchronised connection hangs instead of failing.
const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs a test body, failing it if it hangs.
async fn within_timeout<F: Future>(body: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out: a connection hung")
}

/// A proxy in front of fresh databases: `shop` on instance 0, `shop2` on instance 1.
struct Env {
    proxy: Proxy,
    dbs: Vec<String>,
}

impl Env {
    fn start(prefix: &str) -> Env {
        let dbs = fresh_databases(prefix);
        let mut rules = passthrough_rules(SCHEMA, &dbs);
        rules.push_str(&format!(
            "\n[schemas.{SCHEMA2}]\ndefault_data_source = \"ds_1\"\n\n\
             [[users]]\nname = \"{OPS_USER}\"\npassword = \"{OPS_PASSWORD}\"\n\
             schemas = [\"{SCHEMA}\", \"{SCHEMA2}\"]\n"
        ));
        Env {
            proxy: Proxy::start(&rules),
            dbs,
        }
    }

    /// Options for a client of the proxy on `shop`.
    fn opts(&self) -> OptsBuilder {
        OptsBuilder::from_opts(
            Opts::from_url(&self.proxy.url(APP_USER, APP_PASSWORD, SCHEMA)).expect("valid url"),
        )
    }

    /// A client connection through the proxy on `shop`.
    async fn client(&self) -> Conn {
        Conn::new(self.opts())
            .await
            .expect("connect through the proxy")
    }

    /// The backend server holding `shop`.
    fn backend(&self) -> &'static MariaDb {
        &cluster()[0]
    }

    /// A connection straight to the backend database of `shop`.
    async fn direct(&self) -> Conn {
        Conn::new(self.backend().opts(&self.dbs[0]))
            .await
            .expect("connect to the backend")
    }
}

/// The parts of a column definition a client relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ColumnMeta {
    name: String,
    org_name: String,
    table: String,
    org_table: String,
    column_type: ColumnType,
    flags: ColumnFlags,
    decimals: u8,
    charset: u16,
    length: u32,
}

fn meta(columns: &[Column]) -> Vec<ColumnMeta> {
    columns
        .iter()
        .map(|c| ColumnMeta {
            name: c.name_str().into_owned(),
            org_name: c.org_name_str().into_owned(),
            table: c.table_str().into_owned(),
            org_table: c.org_table_str().into_owned(),
            column_type: c.column_type(),
            flags: c.flags(),
            decimals: c.decimals(),
            charset: c.character_set(),
            length: c.column_length(),
        })
        .collect()
}

/// One result of a statement, as a client sees it.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    columns: Vec<ColumnMeta>,
    rows: Vec<Vec<Value>>,
    affected_rows: u64,
    last_insert_id: Option<u64>,
    warnings: u16,
    info: String,
}

fn values(rows: Vec<Row>) -> Vec<Vec<Value>> {
    rows.into_iter().map(Row::unwrap).collect()
}

/// Reads every result of a query result. For a result without rows the
/// counters come from its OK packet; for a result set, from the packet that
/// ends it (mysql_async keeps counters of the last OK-like packet it read).
async fn answers<P: mysql_async::prelude::Protocol>(
    mut result: mysql_async::QueryResult<'_, '_, P>,
) -> mysql_async::Result<Vec<Answer>> {
    let mut out = Vec::new();
    // A result without rows (an OK packet) is "empty" to mysql_async from
    // the start, so read at least one.
    loop {
        let columns = meta(result.columns_ref());
        let counters = |r: &mysql_async::QueryResult<'_, '_, P>| {
            (
                r.affected_rows(),
                r.last_insert_id(),
                r.warnings(),
                r.info().into_owned(),
            )
        };
        let before = counters(&result);
        let rows: Vec<Row> = result.collect().await?;
        let last = result.is_empty();
        let (affected_rows, last_insert_id, warnings, info) = if columns.is_empty() {
            before
        } else if last {
            counters(&result)
        } else {
            // The counters already belong to the next result.
            (0, None, 0, String::new())
        };
        out.push(Answer {
            columns,
            rows: values(rows),
            affected_rows,
            last_insert_id,
            warnings,
            info,
        });
        if last {
            // An error after the last result set stays pending until the
            // result is dropped.
            result.drop_result().await?;
            return Ok(out);
        }
    }
}

/// Every result of a text query.
async fn query_all(conn: &mut Conn, sql: &str) -> mysql_async::Result<Vec<Answer>> {
    let result = conn.query_iter(sql).await?;
    answers(result).await
}

/// Every result of a prepared statement executed with `params`.
async fn exec_all(
    conn: &mut Conn,
    sql: &str,
    params: impl Into<Params> + Send,
) -> mysql_async::Result<Vec<Answer>> {
    let result = conn.exec_iter(sql, params).await?;
    answers(result).await
}

/// The only result of a statement that must succeed.
async fn one(conn: &mut Conn, sql: &str) -> Answer {
    let mut all = query_all(conn, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(all.len(), 1, "{sql}: expected one result, got {all:?}");
    all.remove(0)
}

/// A server error's (code, SQLSTATE, message).
#[track_caller]
fn server_error(e: mysql_async::Error) -> (u16, String, String) {
    match e {
        mysql_async::Error::Server(s) => (s.code, s.state, s.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

fn bytes(s: &str) -> Value {
    Value::Bytes(s.as_bytes().to_vec())
}

async fn scalar(conn: &mut Conn, sql: &str) -> Value {
    let answer = one(conn, sql).await;
    assert_eq!(answer.rows.len(), 1, "{sql}: {answer:?}");
    answer.rows[0][0].clone()
}

// ---------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------

/// mysql_async's default `prefer_socket = true` asks the server for
/// `@@socket` and reconnects to that Unix socket when it is on this host. The
/// proxy must not hand out a backend's socket: the client would bypass it.
/// The logical schema is named like the backend database and the login also
/// exists on the backend, so a bypass would succeed and be visible.
#[tokio::test]
async fn default_prefer_socket_stays_on_the_proxy() {
    within_timeout(async {
        let dbs = fresh_databases("socket");
        let backend = &cluster()[0];
        let (user, password) = ("sockprobe", "sock_pw");
        backend.exec(&format!(
            "CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY '{password}'; \
             CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{password}'; \
             GRANT ALL ON `{db}`.* TO '{user}'@'localhost'; \
             GRANT ALL ON `{db}`.* TO '{user}'@'%'",
            db = dbs[0]
        ));
        let schema = dbs[0].clone();
        let rules = format!(
            "[[users]]\nname = \"{user}\"\npassword = \"{password}\"\nschemas = [\"{schema}\"]\n\n{}\
             [schemas.{schema}]\ndefault_data_source = \"ds_0\"\n",
            common::data_sources_toml(&dbs)
        );
        let proxy = Proxy::start(&rules);
        // No prefer_socket parameter: the default (true) applies.
        let url = format!("mysql://{user}:{password}@127.0.0.1:{}/{schema}", proxy.port());
        let opts = Opts::from_url(&url).unwrap();
        assert!(opts.prefer_socket(), "mysql_async's default changed");
        let mut conn = Conn::new(opts).await.expect("connect through the proxy");

        assert_eq!(
            scalar(&mut conn, "SELECT @@version_comment").await,
            bytes("shardgate"),
            "the client is not talking to the proxy any more"
        );
        assert_eq!(scalar(&mut conn, "SELECT @@socket").await, Value::NULL);
        assert_eq!(scalar(&mut conn, "SELECT DATABASE()").await, bytes(&schema));
        // The backend sees the proxy's own login (root), never the client's.
        let on_backend = backend.query(&format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{user}'"
        ));
        assert_eq!(
            on_backend,
            vec![vec![Some("0".to_string())]],
            "the client connected to the backend directly"
        );
        conn.disconnect().await.unwrap();
        backend.exec(&format!(
            "DROP USER '{user}'@'localhost'; DROP USER '{user}'@'%'"
        ));
    })
    .await
}

/// What drivers ask right after connecting is answered as MySQL answers it.
#[tokio::test]
async fn connection_preamble_is_answered() {
    within_timeout(async {
        let env = Env::start("preamble");
        let mut conn = env.client().await;
        assert_eq!(
            conn.server_version(),
            (8, 0, 36),
            "handshake server version"
        );
        assert_eq!(
            scalar(&mut conn, "SELECT @@version_comment LIMIT 1").await,
            bytes("shardgate")
        );
        assert_eq!(scalar(&mut conn, "SELECT DATABASE()").await, bytes(SCHEMA));
        assert_eq!(scalar(&mut conn, "SELECT @@socket").await, Value::NULL);
        let answer = one(&mut conn, "SELECT @@session.transaction_isolation").await;
        assert_eq!(answer.rows, vec![vec![bytes("REPEATABLE-READ")]]);
        assert_eq!(answer.columns[0].name, "@@session.transaction_isolation");
        conn.query_drop("SET SESSION transaction_isolation = 'READ-COMMITTED'")
            .await
            .unwrap();
        assert_eq!(
            scalar(&mut conn, "SELECT @@transaction_isolation").await,
            bytes("READ-COMMITTED")
        );
        conn.query_drop("SET NAMES utf8mb4").await.unwrap();
        conn.query_drop("SET character_set_results = NULL")
            .await
            .unwrap();
        assert_eq!(
            scalar(&mut conn, "SELECT @@character_set_results").await,
            Value::NULL
        );
        // COM_PING.
        conn.ping().await.expect("COM_PING");
        // USE, in its spellings.
        for sql in [
            "use `shop`",
            "/* comment */ USE shop",
            "USE shop;",
            "USE\n\tshop",
        ] {
            conn.query_drop(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        assert_eq!(scalar(&mut conn, "SELECT DATABASE()").await, bytes(SCHEMA));
        let (code, state, _) = server_error(conn.query_drop("USE shop2").await.unwrap_err());
        assert_eq!(
            (code, state.as_str()),
            (1044, "42000"),
            "app may not use shop2"
        );
        let (code, state, message) = server_error(conn.query_drop("USE nope").await.unwrap_err());
        // A database beyond the user's schemas is refused as MySQL refuses an
        // account without privileges on it, whether it exists or not.
        assert_eq!((code, state.as_str()), (1044, "42000"), "{message}");
        conn.disconnect().await.unwrap();
    })
    .await
}

// ---------------------------------------------------------------------------
// Column types
// ---------------------------------------------------------------------------

const TYPES_TABLE: &str = "CREATE TABLE types (
    id INT PRIMARY KEY,
    i INT, iu INT UNSIGNED, ti TINYINT, tiu TINYINT UNSIGNED,
    si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
    bi BIGINT, bu BIGINT UNSIGNED,
    f FLOAT, d DOUBLE, dec30 DECIMAL(30,10),
    c CHAR(10), vc VARCHAR(50), vb VARBINARY(10), bl BLOB, tx TEXT,
    dt DATE, dtm DATETIME(6), ts TIMESTAMP NULL, tm TIME, tm6 TIME(6), y YEAR,
    bt BIT(10), j JSON, e ENUM('a','b','c'), s SET('x','y','z')
) DEFAULT CHARSET = utf8mb4";

/// Rows covering each type's extremes, a zero date, and NULLs.
const TYPES_ROWS: &str = "INSERT INTO types VALUES
 (1, -2147483648, 0, -128, 0, -32768, 0, -8388608, 0, -9223372036854775808, 0,
  -1.5, -2.2250738585072014e-308, -99999999999999999999.9999999999,
  '', '', 0x00, 0x00, '', '1000-01-01', '1000-01-01 00:00:00.000000',
  '1970-01-01 00:00:01', '-838:59:59', '-00:00:00.500000', 1901, b'0', '[]', 'a', ''),
 (2, 2147483647, 4294967295, 127, 255, 32767, 65535, 8388607, 16777215,
  9223372036854775807, 18446744073709551615,
  3.40282e38, 1.7976931348623157e308, 99999999999999999999.9999999999,
  'abcdefghij', 'ü 张三 😀', 0x00ff00ff7f80,
  UNHEX(CONCAT('000102030405060708090a0b0c0d0e0f', REPEAT('ff', 100), '00')),
  'line1\\nline2 ''quoted'' \\\\ back', '9999-12-31', '9999-12-31 23:59:59.999999',
  '2038-01-19 03:14:07', '838:59:59', '123:45:06.000001', 2155, b'1111111111',
  '{\"a\": [1, 2.5, null, true], \"b\": \"😀\"}', 'c', 'x,y,z'),
 (3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '', '', '',
  '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '00:00:00', '00:00:00',
  0000, b'0', '{}', 'b', 'y'),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, 42, 42, 7, 7, 300, 300, 70000, 70000, 1234567890123, 1234567890123,
  0.1, 0.1, 0.0000000001, 'x', 'plain', 'ab', 'blob', 'text',
  '2024-02-29', '2024-02-29 12:34:56.000100', '2024-02-29 12:34:56', '-12:00:00',
  '-12:00:00.500000', 2024, b'101', '{\"k\": \"v\"}', 'b', 'x,z')";

/// Session settings both sides use: zero dates allowed, a fixed time zone.
const SESSION_SETUP: &str = "SET sql_mode = '', time_zone = '+00:00'";

/// Creates and fills `types` through the proxy (DDL and inserts pass through).
async fn create_types(conn: &mut Conn) {
    conn.query_drop(SESSION_SETUP).await.unwrap();
    conn.query_drop(TYPES_TABLE).await.unwrap();
    conn.query_drop(TYPES_ROWS).await.unwrap();
}

#[tokio::test]
async fn every_column_type_round_trips_in_the_text_protocol() {
    within_timeout(async {
        let env = Env::start("types_text");
        let mut conn = env.client().await;
        create_types(&mut conn).await;
        let mut direct = env.direct().await;
        direct.query_drop(SESSION_SETUP).await.unwrap();

        let sql = "SELECT * FROM types ORDER BY id";
        let via_proxy = one(&mut conn, sql).await;
        let straight = one(&mut direct, sql).await;
        assert_eq!(via_proxy.columns, straight.columns, "column metadata");
        assert_eq!(via_proxy.rows.len(), 5);
        for (p, d) in via_proxy.rows.iter().zip(&straight.rows) {
            assert_eq!(p, d, "row");
        }
        assert_eq!(via_proxy, straight);

        // Spot checks, in case both sides were wrong the same way.
        let row = |id: usize| &via_proxy.rows[id - 1];
        let col = |name: &str| {
            via_proxy
                .columns
                .iter()
                .position(|c| c.name == name)
                .unwrap()
        };
        assert_eq!(row(1)[col("bi")], bytes("-9223372036854775808"));
        assert_eq!(row(2)[col("bu")], bytes("18446744073709551615"));
        assert_eq!(row(2)[col("vc")], bytes("ü 张三 😀"));
        assert_eq!(
            row(2)[col("vb")],
            Value::Bytes(vec![0, 0xff, 0, 0xff, 0x7f, 0x80])
        );
        assert_eq!(row(3)[col("dt")], bytes("0000-00-00"));
        assert_eq!(row(1)[col("tm")], bytes("-838:59:59"));
        assert_eq!(row(2)[col("tm6")], bytes("123:45:06.000001"));
        assert!(row(4)[1..].iter().all(|v| *v == Value::NULL));
        let binary = &via_proxy.columns[col("vb")];
        assert_eq!(binary.charset, 63, "VARBINARY must be the binary charset");
        assert_eq!(
            via_proxy.columns[col("vc")].charset,
            45,
            "utf8mb4_general_ci"
        );
        assert_eq!(via_proxy.columns[col("dec30")].decimals, 10);
        assert_eq!(
            via_proxy.columns[col("dec30")].column_type,
            ColumnType::MYSQL_TYPE_NEWDECIMAL
        );
        assert!(via_proxy.columns[col("bu")]
            .flags
            .contains(ColumnFlags::UNSIGNED_FLAG));
        assert!(via_proxy.columns[col("id")]
            .flags
            .contains(ColumnFlags::PRI_KEY_FLAG));
        conn.disconnect().await.unwrap();
        direct.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn every_column_type_round_trips_in_the_binary_protocol() {
    within_timeout(async {
        let env = Env::start("types_binary");
        let mut conn = env.client().await;
        create_types(&mut conn).await;
        let mut direct = env.direct().await;
        direct.query_drop(SESSION_SETUP).await.unwrap();

        let sql = "SELECT * FROM types WHERE id >= ? ORDER BY id";
        let via_proxy = exec_all(&mut conn, sql, (0,)).await.unwrap();
        let straight = exec_all(&mut direct, sql, (0,)).await.unwrap();
        assert_eq!(via_proxy.len(), 1);
        assert_eq!(via_proxy[0].columns, straight[0].columns, "column metadata");
        for (p, d) in via_proxy[0].rows.iter().zip(&straight[0].rows) {
            assert_eq!(p, d, "row");
        }
        assert_eq!(via_proxy, straight);
        // The prepared statement's own metadata.
        let stmt_p = conn.prep(sql).await.unwrap();
        let stmt_d = direct.prep(sql).await.unwrap();
        assert_eq!(meta(&stmt_p.columns()), meta(&stmt_d.columns()));
        assert_eq!(stmt_p.num_params(), 1);

        let rows = &via_proxy[0].rows;
        let col = |name: &str| {
            via_proxy[0]
                .columns
                .iter()
                .position(|c| c.name == name)
                .unwrap()
        };
        assert_eq!(rows[0][col("bi")], Value::Int(i64::MIN));
        assert_eq!(rows[1][col("bu")], Value::UInt(u64::MAX));
        assert_eq!(rows[0][col("i")], Value::Int(i32::MIN as i64));
        // mysql_common reads 4-byte integers as Int, unsigned or not.
        assert_eq!(rows[1][col("iu")], Value::Int(u32::MAX as i64));
        assert_eq!(rows[0][col("ti")], Value::Int(-128));
        assert_eq!(rows[1][col("tiu")], Value::Int(255));
        assert_eq!(rows[2][col("dt")], Value::Date(0, 0, 0, 0, 0, 0, 0));
        assert_eq!(rows[0][col("tm")], Value::Time(true, 34, 22, 59, 59, 0));
        assert_eq!(rows[0][col("tm6")], Value::Time(true, 0, 0, 0, 0, 500_000));
        assert_eq!(
            rows[1][col("dtm")],
            Value::Date(9999, 12, 31, 23, 59, 59, 999_999)
        );
        assert_eq!(rows[1][col("y")], Value::Int(2155));
        assert_eq!(rows[4][col("f")], Value::Float(0.1));
        assert_eq!(rows[4][col("d")], Value::Double(0.1));
        assert_eq!(rows[1][col("vc")], bytes("ü 张三 😀"));
        assert!(rows[3][1..].iter().all(|v| *v == Value::NULL));
        conn.disconnect().await.unwrap();
        direct.disconnect().await.unwrap();
    })
    .await
}

/// Parameters of every kind, bound through the proxy and directly: the
/// rows they write, and what `SELECT ?...` gives back, must be equal.
#[tokio::test]
async fn prepared_parameters_of_every_type() {
    within_timeout(async {
        let env = Env::start("params");
        let mut conn = env.client().await;
        create_types(&mut conn).await;
        let mut direct = env.direct().await;
        direct.query_drop(SESSION_SETUP).await.unwrap();

        let insert = "INSERT INTO types (id, i, iu, ti, bi, bu, f, d, dec30, c, vc, vb, bl, \
                      dt, dtm, ts, tm, tm6, y, j, e, s) \
                      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        let params = |id: i64| -> Vec<Value> {
            vec![
                Value::Int(id),
                Value::Int(-7),
                Value::UInt(4_000_000_000),
                Value::Int(-100),
                Value::Int(i64::MIN),
                Value::UInt(u64::MAX),
                Value::Float(1.25),
                Value::Double(-1e-300),
                bytes("-1234567890.0123456789"),
                bytes("chars"),
                bytes("ü 张三 😀"),
                Value::Bytes(vec![0, 0xff, 0x80]),
                Value::Bytes((0..=255u8).collect()),
                Value::Date(2024, 2, 29, 0, 0, 0, 0),
                Value::Date(2024, 2, 29, 23, 59, 58, 123_456),
                Value::Date(0, 0, 0, 0, 0, 0, 0),
                Value::Time(true, 1, 2, 3, 4, 0),
                Value::Time(false, 0, 12, 0, 0, 500_000),
                Value::Int(1999),
                bytes("{\"x\": 1}"),
                bytes("c"),
                bytes("x,y"),
            ]
        };
        let p = exec_all(&mut conn, insert, params(10)).await.unwrap();
        let d = exec_all(&mut direct, insert, params(11)).await.unwrap();
        assert_eq!(p[0].affected_rows, 1);
        assert_eq!(
            (p[0].affected_rows, p[0].warnings),
            (d[0].affected_rows, d[0].warnings)
        );
        let rows = one(
            &mut conn,
            "SELECT * FROM types WHERE id IN (10, 11) ORDER BY id",
        )
        .await;
        assert_eq!(rows.rows.len(), 2);
        assert_eq!(
            rows.rows[0][1..],
            rows.rows[1][1..],
            "a row written through the proxy differs from one written directly"
        );
        // Columns: id, i, iu, ti, tiu, si, siu, mi, miu, bi (9), bu (10), ...
        assert_eq!(rows.rows[0][9], bytes("-9223372036854775808"));
        assert_eq!(rows.rows[0][10], bytes("18446744073709551615"));
        assert_eq!(rows.rows[0][15], bytes("ü 张三 😀"));
        assert_eq!(rows.rows[0][22], bytes("-26:03:04"));

        // Parameters echoed back: values and the derived column types.
        let echo = "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?";
        let echo_params = vec![
            Value::Int(-1),
            Value::UInt(u64::MAX),
            Value::Double(1.5),
            Value::Bytes(vec![0, 0xff]),
            Value::Date(2024, 2, 29, 12, 0, 0, 1),
            Value::Time(true, 0, 12, 0, 0, 500_000),
            Value::NULL,
            bytes("😀"),
            Value::Float(2.5),
        ];
        let p = exec_all(&mut conn, echo, echo_params.clone())
            .await
            .unwrap();
        let d = exec_all(&mut direct, echo, echo_params).await.unwrap();
        assert_eq!(p, d);
        assert_eq!(p[0].rows[0][1], Value::UInt(u64::MAX));
        conn.disconnect().await.unwrap();
        direct.disconnect().await.unwrap();
    })
    .await
}

// ---------------------------------------------------------------------------
// OK packets and errors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn ok_packets_carry_affected_rows_insert_id_warnings_and_info() {
    within_timeout(async {
        let env = Env::start("okpackets");
        let mut conn = env.client().await;
        let mut direct = env.direct().await;
        let ddl = "CREATE TABLE ai (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(3), n INT)";
        conn.query_drop(ddl).await.unwrap();
        direct
            .query_drop("CREATE TABLE ai_direct LIKE ai")
            .await
            .unwrap();
        conn.query_drop("SET sql_mode = ''").await.unwrap();
        direct.query_drop("SET sql_mode = ''").await.unwrap();

        let statements = [
            "INSERT INTO {t} (v, n) VALUES ('a', 1), ('b', 2), ('c', 3)",
            "INSERT INTO {t} (v, n) VALUES ('d', 4)",
            "UPDATE {t} SET n = 2 WHERE n >= 2",
            // Truncation in non-strict mode: a warning, not an error.
            "INSERT INTO {t} (v, n) VALUES ('abcdef', 5), ('ok', 'x')",
            "DELETE FROM {t} WHERE n = 2",
            "REPLACE INTO {t} (id, v, n) VALUES (1, 'r', 9)",
            "ALTER TABLE {t} ADD COLUMN extra INT",
            "SELECT 1 / 0",
        ];
        for template in statements {
            let p = one(&mut conn, &template.replace("{t}", "ai")).await;
            let d = one(&mut direct, &template.replace("{t}", "ai_direct")).await;
            assert_eq!(p, d, "{template}");
        }
        // Explicit values, in case both were wrong the same way.
        let p = one(
            &mut conn,
            "INSERT INTO ai (v, n) VALUES ('e', 10), ('f', 11)",
        )
        .await;
        assert_eq!(p.affected_rows, 2);
        assert_eq!(p.last_insert_id, Some(7));
        assert_eq!(p.info, "Records: 2  Duplicates: 0  Warnings: 0");
        let p = one(&mut conn, "UPDATE ai SET n = 0 WHERE n >= 10").await;
        assert_eq!(p.info, "Rows matched: 2  Changed: 2  Warnings: 0");
        let p = one(&mut conn, "INSERT INTO ai (v) VALUES ('truncated')").await;
        assert_eq!(p.warnings, 1);
        let warnings = one(&mut conn, "SHOW WARNINGS").await;
        assert_eq!(
            warnings.rows,
            vec![vec![
                bytes("Warning"),
                bytes("1265"),
                bytes("Data truncated for column 'v' at row 1")
            ]]
        );
        assert_eq!(
            scalar(&mut conn, "SELECT LAST_INSERT_ID()").await,
            bytes("9")
        );
        // A warning on a result set (binary protocol too).
        let p = exec_all(&mut conn, "SELECT CAST('1x' AS SIGNED) + ?", (1,))
            .await
            .unwrap();
        let d = exec_all(&mut direct, "SELECT CAST('1x' AS SIGNED) + ?", (1,))
            .await
            .unwrap();
        assert_eq!(p, d);
        assert_eq!(p[0].warnings, 1);
        // Prepared INSERT: affected rows and insert id.
        let p = exec_all(&mut conn, "INSERT INTO ai (v, n) VALUES (?, ?)", ("p", 1))
            .await
            .unwrap();
        assert_eq!((p[0].affected_rows, p[0].last_insert_id), (1, Some(10)));
        conn.disconnect().await.unwrap();
        direct.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn backend_errors_keep_code_sqlstate_and_message() {
    within_timeout(async {
        let env = Env::start("errors");
        let mut conn = env.client().await;
        let mut direct = env.direct().await;
        conn.query_drop(
            "CREATE TABLE e (id INT PRIMARY KEY, n INT, CONSTRAINT n_positive CHECK (n > 0))",
        )
        .await
        .unwrap();
        conn.query_drop("INSERT INTO e VALUES (1, 1)")
            .await
            .unwrap();

        let cases: [(&str, u16, &str); 5] = [
            ("SELECT * FROM no_such_table", 1146, "42S02"),
            ("INSERT INTO e VALUES (1, 2)", 1062, "23000"),
            // 4025 is beyond the 1000..=1885 range some libraries assume.
            ("INSERT INTO e VALUES (2, -1)", 4025, "23000"),
            ("SELEKT 1", 1064, "42000"),
            ("SELECT no_such_column FROM e", 1054, "42S22"),
        ];
        for (sql, code, state) in cases {
            let p = server_error(conn.query_drop(sql).await.unwrap_err());
            let mut d = server_error(direct.query_drop(sql).await.unwrap_err());
            d.2 = logical_names(&d.2).replace(&env.dbs[0], "shop");
            assert_eq!(p, d, "{sql}");
            assert_eq!((p.0, p.1.as_str()), (code, state), "{sql}: {}", p.2);
            // The connection is still in step.
            assert_eq!(scalar(&mut conn, "SELECT 1").await, bytes("1"));
        }
        // The same through prepared statements, at execute.
        for (params, code) in [((1, 5), 1062u16), ((3, -5), 4025)] {
            let p = server_error(
                conn.exec_drop("INSERT INTO e VALUES (?, ?)", params)
                    .await
                    .unwrap_err(),
            );
            let mut d = server_error(
                direct
                    .exec_drop("INSERT INTO e VALUES (?, ?)", params)
                    .await
                    .unwrap_err(),
            );
            d.2 = d.2.replace(&env.dbs[0], "shop");
            assert_eq!(p, d);
            assert_eq!(p.0, code);
        }
        // An error in the middle of a result set's rows.
        let sql = "SELECT id, (SELECT 1 UNION SELECT 2) FROM e";
        let p = server_error(query_all(&mut conn, sql).await.unwrap_err());
        let d = server_error(query_all(&mut direct, sql).await.unwrap_err());
        assert_eq!(p, d);
        assert_eq!(p.0, 1242);
        assert_eq!(scalar(&mut conn, "SELECT 2").await, bytes("2"));
        conn.disconnect().await.unwrap();
        direct.disconnect().await.unwrap();
    })
    .await
}

/// A statement that cannot be prepared fails at COM_STMT_PREPARE, with the
/// backend's error, as on MySQL; it must not turn into a statement with no
/// columns that fails (or returns nothing) later.
#[tokio::test]
async fn prepare_errors_are_reported_at_prepare_time() {
    within_timeout(async {
        let env = Env::start("preperr");
        let mut conn = env.client().await;
        let mut direct = env.direct().await;
        conn.query_drop("CREATE TABLE e (id INT PRIMARY KEY)")
            .await
            .unwrap();
        for sql in [
            "SELECT * FROM no_such_table",
            "SELECT no_such_column FROM e",
            "SELECT * FROM no_such_table WHERE id = ?",
            "INSERT INTO no_such_table VALUES (?)",
            "SELEKT 1",
            "SET @@no_such_variable = 1",
        ] {
            let p = server_error(
                conn.prep(sql)
                    .await
                    .map(|s| format!("prepared, {} columns", s.columns().len()))
                    .expect_err(sql),
            );
            let d = server_error(direct.prep(sql).await.unwrap_err());
            assert_eq!(p, d, "{sql}");
            assert_eq!(
                scalar(&mut conn, "SELECT 1").await,
                bytes("1"),
                "after {sql}"
            );
        }
        conn.disconnect().await.unwrap();
        direct.disconnect().await.unwrap();
    })
    .await
}

// ---------------------------------------------------------------------------
// Several results per statement
// ---------------------------------------------------------------------------

#[tokio::test]
async fn multi_statements_and_procedures_do_not_desynchronise() {
    within_timeout(async {
        let env = Env::start("multi");
        let mut conn = env.client().await;
        let mut direct = env.direct().await;
        // Created directly: this test is about CALL, not CREATE PROCEDURE.
        env.backend().exec(&format!(
            "CREATE PROCEDURE `{}`.two_sets() BEGIN SELECT 1 AS a; SELECT 'x' AS b, 2 AS c; END",
            env.dbs[0]
        ));
        conn.query_drop("CREATE TABLE m (id INT PRIMARY KEY)")
            .await
            .unwrap();
        direct
            .query_drop("CREATE TABLE m_direct (id INT PRIMARY KEY)")
            .await
            .unwrap();

        let scripts = [
            "SELECT 1; SELECT 2",
            "SELECT 1; DO 1; SELECT 3",
            "SELECT 1 AS one; SELECT 'two' AS two, NULL AS nothing; SELECT 3",
            "INSERT INTO {m} VALUES (1); INSERT INTO {m} VALUES (2), (3); SELECT COUNT(*) FROM {m}",
            "CALL two_sets()",
            "SET @a = 1; SELECT @a",
        ];
        for script in scripts {
            let p = query_all(&mut conn, &script.replace("{m}", "m"))
                .await
                .unwrap_or_else(|e| panic!("{script}: {e}"));
            let d = query_all(&mut direct, &script.replace("{m}", "m_direct"))
                .await
                .unwrap();
            assert_eq!(p.len(), d.len(), "{script}: number of results");
            for (pa, da) in p.iter().zip(&d) {
                assert_eq!(pa.columns.len(), da.columns.len(), "{script}");
                for (pc, dc) in pa.columns.iter().zip(&da.columns) {
                    // Table names differ (m vs m_direct); the rest must not.
                    assert_eq!(
                        (&pc.name, pc.column_type, pc.flags, pc.charset, pc.length),
                        (&dc.name, dc.column_type, dc.flags, dc.charset, dc.length),
                        "{script}"
                    );
                }
                assert_eq!(pa.rows, da.rows, "{script}");
                assert_eq!(pa.affected_rows, da.affected_rows, "{script}");
            }
            // The next statement gets its own answer.
            assert_eq!(scalar(&mut conn, "SELECT 'next'").await, bytes("next"));
        }
        let p = query_all(&mut conn, "SELECT 1; DO 1; SELECT 3")
            .await
            .unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].rows, vec![vec![bytes("1")]]);
        assert!(p[1].columns.is_empty() && p[1].rows.is_empty());
        assert_eq!(p[2].rows, vec![vec![bytes("3")]]);
        let p = query_all(&mut conn, "CALL two_sets()").await.unwrap();
        assert_eq!(p[0].rows, vec![vec![bytes("1")]]);
        assert_eq!(p[1].rows, vec![vec![bytes("x"), bytes("2")]]);

        // An error stops the script where MySQL stops it; the rest is not run.
        let script = "SELECT 1; SELECT * FROM nope; INSERT INTO {m} VALUES (100)";
        let p = query_all(&mut conn, &script.replace("{m}", "m")).await;
        let d = query_all(&mut direct, &script.replace("{m}", "m_direct")).await;
        let p = server_error(p.unwrap_err());
        let mut d = server_error(d.unwrap_err());
        d.2 = logical_names(&d.2);
        assert_eq!(p, d);
        assert_eq!(p.0, 1146);
        assert_eq!(
            scalar(&mut conn, "SELECT COUNT(*) FROM m WHERE id = 100").await,
            bytes("0")
        );
        // CALL through the binary protocol.
        let p = exec_all(&mut conn, "CALL two_sets()", ()).await.unwrap();
        let d = exec_all(&mut direct, "CALL two_sets()", ()).await.unwrap();
        assert_eq!(p, d);
        assert_eq!(scalar(&mut conn, "SELECT 'after'").await, bytes("after"));
        conn.disconnect().await.unwrap();
        direct.disconnect().await.unwrap();
    })
    .await
}

/// CALL ends with an OK result of its own after the result sets of the
/// procedure; a client sees it as one more result when statements follow.
#[tokio::test]
async fn call_keeps_its_final_ok_result() {
    within_timeout(async {
        let env = Env::start("callok");
        let mut conn = env.client().await;
        let mut direct = env.direct().await;
        env.backend().exec(&format!(
            "CREATE PROCEDURE `{}`.two_sets() BEGIN SELECT 1 AS a; SELECT 2 AS b; END",
            env.dbs[0]
        ));
        for script in ["CALL two_sets(); SELECT 9", "CALL two_sets(); DO 1"] {
            let p = query_all(&mut conn, script).await.unwrap();
            let d = query_all(&mut direct, script).await.unwrap();
            assert_eq!(
                p.iter().map(|a| a.rows.clone()).collect::<Vec<_>>(),
                d.iter().map(|a| a.rows.clone()).collect::<Vec<_>>(),
                "{script}"
            );
            assert_eq!(p, d, "{script}");
            assert_eq!(scalar(&mut conn, "SELECT 'next'").await, bytes("next"));
        }
        conn.disconnect().await.unwrap();
        direct.disconnect().await.unwrap();
    })
    .await
}

/// A stored routine's body holds `;` inside BEGIN ... END: it is one
/// statement, and must reach the backend whole.
#[tokio::test]
async fn create_procedure_with_a_compound_body_passes_through() {
    within_timeout(async {
        let env = Env::start("procbody");
        let mut conn = env.client().await;
        conn.query_drop(
            "CREATE PROCEDURE two_sets() BEGIN SELECT 1 AS a; SELECT 2 AS b; END",
        )
        .await
        .expect("CREATE PROCEDURE with a BEGIN ... END body");
        let p = query_all(&mut conn, "CALL two_sets()").await.unwrap();
        assert_eq!(p[0].rows, vec![vec![bytes("1")]]);
        assert_eq!(p[1].rows, vec![vec![bytes("2")]]);
        conn.query_drop(
            "CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC BEGIN DECLARE y INT; SET y = x * 2; RETURN y; END",
        )
        .await
        .expect("CREATE FUNCTION with a BEGIN ... END body");
        assert_eq!(scalar(&mut conn, "SELECT twice(21)").await, bytes("42"));
        conn.disconnect().await.unwrap();
    })
    .await
}

// ---------------------------------------------------------------------------
// Prepared statements
// ---------------------------------------------------------------------------

#[tokio::test]
async fn prepared_statements_are_reused_and_outlive_the_backend_cache() {
    within_timeout(async {
        let env = Env::start("stmts");
        // A client cache larger than the proxy's backend cache (256), so the
        // client keeps every statement id and the backend must re-prepare.
        let mut conn = Conn::new(env.opts().stmt_cache_size(1000)).await.unwrap();
        conn.query_drop("CREATE TABLE kv (k INT PRIMARY KEY, v VARCHAR(20))")
            .await
            .unwrap();
        let insert = conn.prep("INSERT INTO kv VALUES (?, ?)").await.unwrap();
        for k in 0..50 {
            conn.exec_drop(&insert, (k, format!("v{k}"))).await.unwrap();
        }
        let select = conn.prep("SELECT v FROM kv WHERE k = ?").await.unwrap();
        for k in (0..50).rev() {
            let v: Option<String> = conn.exec_first(&select, (k,)).await.unwrap();
            assert_eq!(v, Some(format!("v{k}")));
        }
        let none: Option<String> = conn.exec_first(&select, (1000,)).await.unwrap();
        assert_eq!(none, None);

        let first = conn.prep("SELECT ? + 0").await.unwrap();
        let mut statements = vec![first.clone()];
        for i in 1..300 {
            statements.push(conn.prep(format!("SELECT ? + {i}")).await.unwrap());
        }
        let ids: std::collections::HashSet<u32> = statements.iter().map(|s| s.id()).collect();
        assert_eq!(ids.len(), 300, "statement ids must be distinct");
        let v: Option<i64> = conn.exec_first(&first, (5,)).await.unwrap();
        assert_eq!(v, Some(5), "the first of 300 statements");
        for (i, statement) in statements.iter().enumerate().step_by(37) {
            let v: Option<i64> = conn.exec_first(statement, (1,)).await.unwrap();
            assert_eq!(v, Some(1 + i as i64));
        }
        // Closing one leaves the others usable.
        conn.close(statements[1].clone()).await.unwrap();
        let v: Option<i64> = conn.exec_first(&statements[2], (1,)).await.unwrap();
        assert_eq!(v, Some(3));
        conn.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn big_parameters_and_long_data() {
    within_timeout(async {
        let env = Env::start("longdata");
        // Long data (COM_STMT_SEND_LONG_DATA) is what mysql_async uses once
        // the parameters exceed one packet (16 MiB); the backend must accept
        // a value that large.
        env.backend()
            .exec("SET GLOBAL max_allowed_packet = 67108864");
        let mut conn = env.client().await;
        conn.query_drop("CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB)")
            .await
            .unwrap();
        let one_mb: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
        conn.exec_drop("INSERT INTO big VALUES (?, ?)", (1, one_mb.clone()))
            .await
            .unwrap();
        let back: Vec<u8> = conn
            .exec_first("SELECT b FROM big WHERE id = ?", (1,))
            .await
            .unwrap()
            .unwrap();
        assert!(back == one_mb, "1 MiB parameter came back different");

        let huge: Vec<u8> = (0..17 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
        conn.exec_drop("INSERT INTO big VALUES (?, ?)", (2, huge.clone()))
            .await
            .expect("a 17 MiB parameter sent as long data");
        let len: u64 = conn
            .query_first("SELECT LENGTH(b) FROM big WHERE id = 2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(len, huge.len() as u64);
        let back: Vec<u8> = conn
            .query_first("SELECT b FROM big WHERE id = 2")
            .await
            .unwrap()
            .unwrap();
        assert!(back == huge, "17 MiB value came back different");
        assert_eq!(
            scalar(&mut conn, "SELECT 'still here'").await,
            bytes("still here")
        );
        conn.disconnect().await.unwrap();
    })
    .await
}

/// Packets of exactly 16 MiB - 1 bytes need an empty packet after them, in
/// both directions.
#[tokio::test]
async fn payloads_of_exactly_one_full_packet() {
    within_timeout(async {
        let env = Env::start("fullpacket");
        env.backend()
            .exec("SET GLOBAL max_allowed_packet = 67108864");
        let mut conn = env.client().await;
        // A text row of one column: 4 bytes of length + the value.
        let n = 0xff_ffff - 4;
        let v: Vec<u8> = conn
            .query_first(format!("SELECT REPEAT('a', {n})"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v.len(), n);
        assert!(v.iter().all(|&b| b == b'a'));
        // A query of exactly 16 MiB - 1 bytes (COM_QUERY byte included).
        let prefix = "SELECT LENGTH('";
        let suffix = "')";
        let fill = 0xff_ffff - 1 - prefix.len() - suffix.len();
        let sql = format!("{prefix}{}{suffix}", "b".repeat(fill));
        let len: u64 = conn.query_first(sql).await.unwrap().unwrap();
        assert_eq!(len, fill as u64);
        assert_eq!(scalar(&mut conn, "SELECT 'after'").await, bytes("after"));
        conn.disconnect().await.unwrap();
    })
    .await
}

// ---------------------------------------------------------------------------
// Session commands
// ---------------------------------------------------------------------------

#[tokio::test]
async fn reset_connection_clears_session_state() {
    within_timeout(async {
        let env = Env::start("reset");
        let mut conn = env.client().await;
        conn.query_drop("CREATE TABLE r (id INT PRIMARY KEY)")
            .await
            .unwrap();
        conn.query_drop("SET @x = 1, sql_mode = 'ANSI_QUOTES', autocommit = 0")
            .await
            .unwrap();
        conn.query_drop("INSERT INTO r VALUES (1)").await.unwrap();
        conn.query_drop("CREATE TEMPORARY TABLE tmp (a INT)")
            .await
            .unwrap();
        assert_eq!(scalar(&mut conn, "SELECT @x").await, bytes("1"));

        assert!(conn.reset().await.expect("COM_RESET_CONNECTION"));
        assert_eq!(scalar(&mut conn, "SELECT @x").await, Value::NULL);
        assert_eq!(scalar(&mut conn, "SELECT @@autocommit").await, bytes("1"));
        assert_ne!(
            scalar(&mut conn, "SELECT @@sql_mode").await,
            bytes("ANSI_QUOTES")
        );
        // The current schema stays, as in MySQL.
        assert_eq!(scalar(&mut conn, "SELECT DATABASE()").await, bytes(SCHEMA));
        // The open transaction was rolled back, the temporary table dropped.
        assert_eq!(
            scalar(&mut conn, "SELECT COUNT(*) FROM r").await,
            bytes("0")
        );
        let (code, ..) = server_error(conn.query_drop("SELECT * FROM tmp").await.unwrap_err());
        assert_eq!(code, 1146);
        conn.query_drop("DO 1").await.unwrap();
        let status = conn.last_ok_packet().unwrap().status_flags();
        assert!(
            !status.contains(StatusFlags::SERVER_STATUS_IN_TRANS),
            "{status:?}"
        );
        assert!(
            status.contains(StatusFlags::SERVER_STATUS_AUTOCOMMIT),
            "{status:?}"
        );
        conn.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn change_user_logs_in_again() {
    within_timeout(async {
        let env = Env::start("changeuser");
        cluster()[1].exec(&format!(
            "CREATE TABLE `{}`.marker (v VARCHAR(10)); INSERT INTO `{}`.marker VALUES ('ds_1')",
            env.dbs[1], env.dbs[1]
        ));
        let mut conn = env.client().await;
        conn.query_drop("SET @v = 1").await.unwrap();
        assert_eq!(
            scalar(&mut conn, "SELECT CURRENT_USER()").await,
            bytes("app@%")
        );

        conn.change_user(
            ChangeUserOpts::default()
                .with_user(Some(OPS_USER.into()))
                .with_pass(Some(OPS_PASSWORD.into()))
                .with_db_name(Some(SCHEMA2.into())),
        )
        .await
        .expect("COM_CHANGE_USER to ops");
        assert_eq!(
            scalar(&mut conn, "SELECT CURRENT_USER()").await,
            bytes("ops@%")
        );
        assert_eq!(scalar(&mut conn, "SELECT DATABASE()").await, bytes(SCHEMA2));
        assert_eq!(scalar(&mut conn, "SELECT @v").await, Value::NULL);
        assert_eq!(
            scalar(&mut conn, "SELECT v FROM marker").await,
            bytes("ds_1")
        );

        // Back to app, on shop: app may not use shop2.
        conn.change_user(
            ChangeUserOpts::default()
                .with_user(Some(APP_USER.into()))
                .with_pass(Some(APP_PASSWORD.into()))
                .with_db_name(Some(SCHEMA.into())),
        )
        .await
        .expect("COM_CHANGE_USER back to app");
        assert_eq!(
            scalar(&mut conn, "SELECT CURRENT_USER()").await,
            bytes("app@%")
        );
        let (code, state, _) = server_error(conn.query_drop("USE shop2").await.unwrap_err());
        assert_eq!((code, state.as_str()), (1044, "42000"));

        // A wrong password is refused: the proxy re-authenticates.
        let mut other = env.client().await;
        let result = other
            .change_user(
                ChangeUserOpts::default()
                    .with_user(Some(OPS_USER.into()))
                    .with_pass(Some("wrong".into())),
            )
            .await;
        let (code, state, _) = server_error(result.unwrap_err());
        assert_eq!((code, state.as_str()), (1045, "28000"));
        drop(other);
        conn.disconnect().await.unwrap();
    })
    .await
}

// ---------------------------------------------------------------------------
// Transactions and isolation between clients
// ---------------------------------------------------------------------------

#[tokio::test]
async fn transactions_commit_and_roll_back() {
    within_timeout(async {
        let env = Env::start("tx");
        let mut conn = env.client().await;
        let mut other = env.client().await;
        conn.query_drop("CREATE TABLE t (id INT PRIMARY KEY)")
            .await
            .unwrap();
        let count = |id: i32| format!("SELECT COUNT(*) FROM t WHERE id = {id}");

        conn.query_drop("BEGIN").await.unwrap();
        conn.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
        assert_eq!(scalar(&mut conn, &count(1)).await, bytes("1"));
        assert_eq!(scalar(&mut other, &count(1)).await, bytes("0"));
        conn.query_drop("ROLLBACK").await.unwrap();
        assert_eq!(scalar(&mut conn, &count(1)).await, bytes("0"));

        conn.query_drop("START TRANSACTION").await.unwrap();
        conn.query_drop("INSERT INTO t VALUES (2)").await.unwrap();
        assert_eq!(scalar(&mut other, &count(2)).await, bytes("0"));
        conn.query_drop("COMMIT").await.unwrap();
        assert_eq!(scalar(&mut other, &count(2)).await, bytes("1"));

        // autocommit = 0: every statement joins a transaction until COMMIT.
        conn.query_drop("SET autocommit = 0").await.unwrap();
        conn.query_drop("INSERT INTO t VALUES (3)").await.unwrap();
        assert_eq!(scalar(&mut other, &count(3)).await, bytes("0"));
        conn.query_drop("COMMIT").await.unwrap();
        assert_eq!(scalar(&mut other, &count(3)).await, bytes("1"));
        conn.query_drop("INSERT INTO t VALUES (4)").await.unwrap();
        conn.query_drop("ROLLBACK").await.unwrap();
        assert_eq!(scalar(&mut other, &count(4)).await, bytes("0"));
        conn.query_drop("SET autocommit = 1").await.unwrap();

        // mysql_async's transaction API.
        let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
        tx.query_drop("INSERT INTO t VALUES (5)").await.unwrap();
        tx.rollback().await.unwrap();
        let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
        tx.exec_drop("INSERT INTO t VALUES (?)", (6,))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            one(&mut other, "SELECT id FROM t ORDER BY id").await.rows,
            vec![vec![bytes("2")], vec![bytes("3")], vec![bytes("6")]]
        );
        conn.disconnect().await.unwrap();
        other.disconnect().await.unwrap();
    })
    .await
}

/// SERVER_STATUS_IN_TRANS and SERVER_STATUS_AUTOCOMMIT after each
/// statement, through the proxy and directly (drivers read them to know
/// whether a transaction is open).
#[tokio::test]
async fn status_flags_follow_the_transaction() {
    within_timeout(async {
        let env = Env::start("status");
        let mut conn = env.client().await;
        let mut direct = env.direct().await;
        conn.query_drop("CREATE TABLE t (id INT PRIMARY KEY)")
            .await
            .unwrap();
        direct
            .query_drop("CREATE TABLE t_direct (id INT PRIMARY KEY)")
            .await
            .unwrap();
        let flags = StatusFlags::SERVER_STATUS_IN_TRANS | StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        let steps = [
            "BEGIN",
            "SELECT * FROM t",
            "INSERT INTO t VALUES (1)",
            "SELECT * FROM t",
            "COMMIT",
            "SELECT * FROM t",
            "SET autocommit = 0",
            "SELECT * FROM t",
            "INSERT INTO t VALUES (2)",
            "SELECT COUNT(*) FROM t",
            "ROLLBACK",
            "INSERT INTO t VALUES (3)",
            "COMMIT",
            "SET autocommit = 1",
            "START TRANSACTION",
            "DO 1",
            "ROLLBACK",
        ];
        let mut seen = Vec::new();
        let mut expected = Vec::new();
        for sql in steps {
            let _ = query_all(&mut conn, sql).await.unwrap();
            let _ = query_all(&mut direct, &sql.replace(" t", " t_direct"))
                .await
                .unwrap();
            let status = |c: &Conn| c.last_ok_packet().map(|ok| ok.status_flags() & flags);
            seen.push((sql, status(&conn)));
            expected.push((sql, status(&direct)));
        }
        assert_eq!(seen, expected);
        conn.disconnect().await.unwrap();
        direct.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn sessions_are_isolated_from_each_other() {
    within_timeout(async {
        let env = Env::start("isolation");
        let mut a = env.client().await;
        let mut b = env.client().await;
        a.query_drop("SET @v = 1").await.unwrap();
        assert_eq!(scalar(&mut b, "SELECT @v").await, Value::NULL);
        assert_eq!(scalar(&mut a, "SELECT @v").await, bytes("1"));
        b.query_drop("SET @v = 2").await.unwrap();
        assert_eq!(scalar(&mut a, "SELECT @v").await, bytes("1"));
        assert_eq!(scalar(&mut b, "SELECT @v").await, bytes("2"));
        // Each client connection has its own backend connection (its
        // pseudo_thread_id is the backend's id; CONNECTION_ID() is the proxy's).
        let ida = scalar(&mut a, "SELECT @@pseudo_thread_id").await;
        let idb = scalar(&mut b, "SELECT @@pseudo_thread_id").await;
        assert_ne!(ida, idb);
        a.disconnect().await.unwrap();
        b.disconnect().await.unwrap();
    })
    .await
}

/// A client that leaves in the middle of a transaction: its uncommitted
/// rows vanish and its row locks are released for others.
#[tokio::test]
async fn disconnect_mid_transaction_rolls_back_and_releases_locks() {
    within_timeout(async {
        let env = Env::start("midtx");
        let mut b = env.client().await;
        b.query_drop("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
            .await
            .unwrap();
        b.query_drop("INSERT INTO t VALUES (1, 'orig')")
            .await
            .unwrap();

        let mut a = env.client().await;
        a.query_drop("BEGIN").await.unwrap();
        a.query_drop("UPDATE t SET v = 'by_a' WHERE id = 1")
            .await
            .unwrap();
        a.query_drop("INSERT INTO t VALUES (99, 'a')")
            .await
            .unwrap();
        // The lock is really held.
        b.query_drop("SET SESSION innodb_lock_wait_timeout = 1")
            .await
            .unwrap();
        let (code, ..) = server_error(
            b.query_drop("UPDATE t SET v = 'by_b' WHERE id = 1")
                .await
                .unwrap_err(),
        );
        assert_eq!(code, 1205, "a's row lock should block b");

        // a goes away without COMMIT or ROLLBACK.
        drop(a);
        b.query_drop("SET SESSION innodb_lock_wait_timeout = 5")
            .await
            .unwrap();
        let started = Instant::now();
        b.query_drop("UPDATE t SET v = 'by_b' WHERE id = 1")
            .await
            .expect("a's lock is released after it disconnected");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(b.affected_rows(), 1);
        assert_eq!(
            one(&mut b, "SELECT id, v FROM t ORDER BY id").await.rows,
            vec![vec![bytes("1"), bytes("by_b")]]
        );
        b.disconnect().await.unwrap();
    })
    .await
}

/// Backend connections go back to a pool when a client leaves; whatever
/// the client set on its connection must not reach the next client.
#[tokio::test]
async fn session_state_does_not_leak_through_pooled_backend_connections() {
    within_timeout(async {
        let env = Env::start("leak");
        let mut setup = env.client().await;
        setup
            .query_drop("CREATE TABLE t (id INT PRIMARY KEY)")
            .await
            .unwrap();
        setup.disconnect().await.unwrap();

        let mut reused = false;
        for _ in 0..20 {
            let mut a = env.client().await;
            let backend_id = scalar(&mut a, "SELECT @@pseudo_thread_id").await;
            a.query_drop(
                "SET @leak = 1, sql_mode = 'ANSI_QUOTES', autocommit = 0, time_zone = '+05:00'",
            )
            .await
            .unwrap();
            a.query_drop("INSERT INTO t VALUES (7)").await.unwrap();
            a.query_drop("CREATE TEMPORARY TABLE tmp_leak (a INT)")
                .await
                .unwrap();
            a.disconnect().await.unwrap();
            // The proxy resets the connection after the client has gone;
            // the next client lands on the same worker (where the
            // connection is parked) only once that session has ended, so
            // wait for the reset to show on the backend instead of
            // guessing a delay (a loaded machine takes longer).
            wait_until_reset(&env, &backend_id).await;

            let mut b = env.client().await;
            let same = scalar(&mut b, "SELECT @@pseudo_thread_id").await == backend_id;
            assert_eq!(scalar(&mut b, "SELECT @leak").await, Value::NULL);
            assert_ne!(
                scalar(&mut b, "SELECT @@sql_mode").await,
                bytes("ANSI_QUOTES")
            );
            assert_eq!(scalar(&mut b, "SELECT @@autocommit").await, bytes("1"));
            assert_ne!(scalar(&mut b, "SELECT @@time_zone").await, bytes("+05:00"));
            assert_eq!(scalar(&mut b, "SELECT COUNT(*) FROM t").await, bytes("0"));
            let (code, ..) =
                server_error(b.query_drop("SELECT * FROM tmp_leak").await.unwrap_err());
            assert_eq!(code, 1146);
            b.disconnect().await.unwrap();
            if same {
                reused = true;
                break;
            }
        }
        assert!(
            reused,
            "the next client never got the same backend connection; the check proved nothing"
        );
    })
    .await
}

/// Waits until the backend connection `id` no longer holds the transaction
/// and temporary table its client left, then a little longer, so that the
/// proxy's session for that client has ended.
async fn wait_until_reset(env: &Env, id: &Value) {
    let mut direct = env.direct().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open: Option<i64> = direct
            .exec_first(
                "SELECT (SELECT COUNT(*) FROM information_schema.INNODB_TRX \
                 WHERE trx_mysql_thread_id = ?) + (SELECT COUNT(*) FROM \
                 information_schema.PROCESSLIST WHERE ID = ? AND COMMAND <> 'Sleep')",
                (id.clone(), id.clone()),
            )
            .await
            .unwrap();
        if open == Some(0) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    direct.disconnect().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
}

// ---------------------------------------------------------------------------
// Sharded tables next to unsharded ones
// ---------------------------------------------------------------------------

#[tokio::test]
async fn sharded_and_unsharded_tables_side_by_side() {
    within_timeout(async {
        let dbs = fresh_databases("sharded");
        let mut rules = passthrough_rules("S", &dbs);
        rules.push_str(
            "\n[schemas.S.tables.t_order]\n\
             nodes = \"ds_${0..1}.t_order_${0..1}\"\n\
             database_sharding = { column = \"user_id\", algorithm = \"m\" }\n\
             table_sharding = { column = \"order_id\", algorithm = \"m\" }\n\n\
             [schemas.S.algorithms]\nm = { type = \"mod\" }\n",
        );
        let proxy = Proxy::start(&rules);
        let mut conn = Conn::new(Opts::from_url(&proxy.url(APP_USER, APP_PASSWORD, "S")).unwrap())
            .await
            .unwrap();
        conn.query_drop("CREATE TABLE plain (id INT PRIMARY KEY)")
            .await
            .unwrap();
        conn.query_drop("CREATE TABLE t_order (order_id INT PRIMARY KEY, user_id INT)")
            .await
            .unwrap();
        conn.query_drop("INSERT INTO t_order (user_id, order_id) VALUES (1, 2)")
            .await
            .unwrap();
        let row = one(&mut conn, "select * from `T_ORDER` WHERE user_id = 1").await;
        assert_eq!(row.rows, vec![vec![bytes("2"), bytes("1")]]);
        // An unsharded table lives on one data source only: joining it with
        // a sharded table would need rows from several nodes.
        let sql = "SELECT * FROM plain p JOIN t_order o ON o.order_id = p.id";
        let (code, state, message) = server_error(conn.query_drop(sql).await.unwrap_err());
        assert_eq!((code, state.as_str()), (1235, "42000"), "{sql}: {message}");
        assert_eq!(
            scalar(&mut conn, "SELECT 1").await,
            bytes("1"),
            "after {sql}"
        );
        // Prepared statements on the sharded table.
        let row: Option<(i64, i64)> = conn
            .exec_first(
                "SELECT order_id, user_id FROM t_order WHERE order_id = ?",
                (2,),
            )
            .await
            .unwrap();
        assert_eq!(row, Some((2, 1)));
        // The unsharded table keeps working.
        conn.exec_drop("INSERT INTO plain VALUES (?)", (1,))
            .await
            .unwrap();
        assert_eq!(
            scalar(&mut conn, "SELECT COUNT(*) FROM plain").await,
            bytes("1")
        );
        let tables = one(&mut conn, "SHOW TABLES").await;
        assert_eq!(
            tables.rows,
            vec![vec![bytes("plain")], vec![bytes("t_order")]]
        );
        conn.disconnect().await.unwrap();
    })
    .await
}

/// The backend connection caches 256 prepared statements and closes the
/// ones it evicts; a client statement prepared before hundreds of others
/// must still execute (the proxy prepares it again).
#[tokio::test]
async fn prepared_statements_survive_backend_cache_eviction() {
    within_timeout(async {
        let env = Env::start("evict");
        // A client cache large enough that the client itself never closes a statement.
        let mut conn = Conn::new(env.opts().stmt_cache_size(1000))
            .await
            .expect("connect through the proxy");
        let first = conn.prep("SELECT ? + 0 AS v").await.unwrap();
        let v: Option<i64> = conn.exec_first(&first, (41,)).await.unwrap();
        assert_eq!(v, Some(41));
        // Prepared only: each is prepared on the backend too, evicting `first` there.
        for i in 1..=300 {
            conn.prep(format!("SELECT ? + {i} AS v")).await.unwrap();
        }
        for round in 0..2 {
            let v: Option<i64> = conn.exec_first(&first, (42,)).await.unwrap();
            assert_eq!(v, Some(42), "execute {round} after the eviction");
        }
        conn.disconnect().await.unwrap();
    })
    .await
}

/// A backend's message as the proxy relays it: the backend database in
/// `Table 'db.t'` is the logical schema.
fn logical_names(message: &str) -> String {
    match (message.find("Table '"), message.find('.')) {
        (Some(at), Some(dot)) if dot > at => {
            format!("{}Table 'shop{}", &message[..at], &message[dot..])
        }
        _ => message.to_string(),
    }
}
