//! Raw clients that send what well-behaved drivers never send: truncated
//! and oversized packets, garbage, unknown commands and statement ids,
//! malformed parameter blocks; plus the login paths drivers do take but
//! mysql_async cannot show (caching_sha2_password, long data, COM_STMT_RESET,
//! COM_FIELD_LIST). Each bad input must cost at most its own connection:
//! afterwards the proxy is alive and serves a normal client.

mod common;
mod raw_client;

use common::{cluster, fresh_databases, passthrough_rules, Proxy, APP_PASSWORD, APP_USER};
use mysql_common::constants::{CapabilityFlags, ColumnType};
use mysql_common::packets::AuthPlugin;
use mysql_common::scramble::scramble_native;
use std::io::{self, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use raw_client::*;

const SCHEMA: &str = "shop";

/// A proxy on fresh databases with `extra` appended to its rule file.
fn start(prefix: &str, extra: &str) -> (Proxy, Vec<String>) {
    let dbs = fresh_databases(prefix);
    let mut rules = passthrough_rules(SCHEMA, &dbs);
    rules.push_str(extra);
    (Proxy::start(&rules), dbs)
}

/// The proxy survived: its process runs, it logged no panic, and a normal
/// mysql_async client on a new connection gets answers.
fn assert_healthy(proxy: &mut Proxy) {
    assert!(
        proxy.wait_exit(Duration::ZERO).is_none(),
        "the proxy exited:\n{}",
        proxy.log()
    );
    assert!(
        !proxy.log().contains("panicked"),
        "the proxy panicked:\n{}",
        proxy.log()
    );
    let url = proxy.url(APP_USER, APP_PASSWORD, SCHEMA);
    let answer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            use mysql_async::prelude::Queryable;
            let work = async {
                let mut conn = mysql_async::Conn::from_url(url).await?;
                let v: Option<String> = conn.query_first("SELECT CONCAT('al', 'ive')").await?;
                conn.disconnect().await?;
                Ok::<_, mysql_async::Error>(v)
            };
            tokio::time::timeout(READ_TIMEOUT, work).await
        });
    match answer {
        Ok(Ok(v)) => assert_eq!(v.as_deref(), Some("alive")),
        Ok(Err(e)) => panic!("a normal client failed afterwards: {e}"),
        Err(_) => panic!("a normal client hung afterwards"),
    }
}

// ---------------------------------------------------------------------------
// Broken packets
// ---------------------------------------------------------------------------

#[test]
fn truncated_packets_close_only_their_connection() {
    let (mut proxy, _) = start("truncated", "");
    let port = proxy.port();

    // After login: a header promising 100 bytes, 7 of them, then goodbye.
    let mut raw = Raw::login(port, APP_USER, APP_PASSWORD, Some(SCHEMA));
    raw.stream.write_all(&[100, 0, 0, 0]).unwrap();
    raw.stream.write_all(b"\x03SELECT").unwrap();
    raw.stream.shutdown(Shutdown::Write).unwrap();
    assert!(
        raw.is_closed(),
        "the proxy should close the half-sent connection"
    );
    assert_healthy(&mut proxy);

    // During the handshake.
    let mut raw = Raw::connect(port);
    raw.handshake();
    raw.stream.write_all(&[100, 0, 0, 1, 0x0d, 0xa2]).unwrap();
    raw.stream.shutdown(Shutdown::Write).unwrap();
    assert!(raw.is_closed());
    assert_healthy(&mut proxy);

    // A header and nothing else, and a connection closed before any byte.
    let mut raw = Raw::login(port, APP_USER, APP_PASSWORD, None);
    raw.stream.write_all(&[5, 0]).unwrap();
    drop(raw);
    drop(Raw::connect(port));
    assert_healthy(&mut proxy);
}

#[test]
fn garbage_instead_of_a_handshake_response() {
    let (mut proxy, _) = start("garbage", "");
    let port = proxy.port();

    // A well-framed packet full of nonsense: refused with "Bad handshake".
    let mut raw = Raw::connect(port);
    raw.handshake();
    raw.write_packet(&[0xff; 40]);
    match raw.read_packet() {
        Ok(p) => {
            let reply = parse_err(&p);
            assert_eq!(reply.err_code(), (1043, "08S01"), "{reply:?}");
            assert!(raw.is_closed());
        }
        Err(e) => panic!("expected ERR 1043 before the close, got {e}"),
    }
    assert_healthy(&mut proxy);

    // A very short packet (as an SSL request would be, on a server without TLS).
    let mut raw = Raw::connect(port);
    raw.handshake();
    raw.write_packet(&[0x05, 0xa6]);
    let reply = parse_err(&raw.packet());
    assert_eq!(reply.err_code().0, 1043);
    assert!(raw.is_closed());
    assert_healthy(&mut proxy);

    // Not MySQL at all: an HTTP request, then the client stops sending.
    let mut raw = Raw::connect(port);
    raw.handshake();
    raw.stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    raw.stream.shutdown(Shutdown::Write).unwrap();
    let started = Instant::now();
    loop {
        match raw.read_packet() {
            Ok(p) if p.first() == Some(&0xff) => continue,
            Ok(p) => panic!("unexpected packet after garbage: {p:?}"),
            Err(e) => {
                assert!(
                    e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::TimedOut,
                    "the proxy kept a connection of garbage open"
                );
                break;
            }
        }
    }
    assert!(started.elapsed() < READ_TIMEOUT);
    assert_healthy(&mut proxy);

    // A login packet with a user name that runs past the end.
    let mut raw = Raw::connect(port);
    raw.handshake();
    let mut response = Raw::response(APP_USER, None, AuthPlugin::MysqlNativePassword, &[1; 20]);
    response.truncate(40);
    raw.write_packet(&response);
    if let Ok(p) = raw.read_packet() {
        let reply = parse_err(&p);
        assert!(matches!(reply.err_code().0, 1043 | 1045), "{reply:?}");
    }
    assert!(raw.is_closed());
    assert_healthy(&mut proxy);
}

#[test]
fn wrong_sequence_id_closes_the_connection() {
    let (mut proxy, _) = start("seqid", "");
    let mut raw = Raw::login(proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    raw.seq = 5;
    raw.write_packet(b"\x03SELECT 1");
    // Either an error or a close; never an answer as if nothing happened.
    if let Ok(p) = raw.read_packet() {
        assert_eq!(p[0], 0xff, "answered a packet out of sequence: {p:?}");
    }
    assert_healthy(&mut proxy);
}

#[test]
fn packets_over_max_allowed_packet_get_1153() {
    let (mut proxy, _) = start("maxpacket", "\n[server]\nmax_allowed_packet = 1024\n");
    let port = proxy.port();
    let mut raw = Raw::login(port, APP_USER, APP_PASSWORD, Some(SCHEMA));
    // Within the limit.
    let fill = "a".repeat(1000);
    let sql = format!("SELECT '{fill}'");
    assert!(sql.len() < 1024);
    assert_eq!(raw.scalar(&sql), Some(fill.into_bytes()));
    // Over it: 1153, then the connection is closed.
    let sql = format!("SELECT '{}'", "b".repeat(1500));
    let reply = raw.query(&sql);
    assert_eq!(reply.err_code(), (1153, "08S01"), "{reply:?}");
    assert!(raw.is_closed());
    assert_healthy(&mut proxy);

    // Refused from the header alone: the proxy does not wait for (or
    // buffer) a payload it will refuse anyway.
    let mut raw = Raw::login(port, APP_USER, APP_PASSWORD, Some(SCHEMA));
    raw.stream
        .write_all(&[0xa0, 0x86, 0x01, 0x00, COM_QUERY])
        .unwrap();
    let reply = parse_err(&raw.packet());
    assert_eq!(reply.err_code(), (1153, "08S01"));
    assert!(raw.is_closed());
    assert_healthy(&mut proxy);
}

/// `max_allowed_packet` limits what clients send. A result row larger than
/// it (the backend allows it) must still reach the client, not vanish.
#[test]
fn results_larger_than_max_allowed_packet_still_arrive() {
    let (mut proxy, _) = start("bigresult", "\n[server]\nmax_allowed_packet = 1024\n");
    let mut raw = Raw::login(proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    raw.command(COM_QUERY, b"SELECT REPEAT('z', 5000) AS z");
    let first = raw.read_packet();
    let reply = match first {
        Ok(p) if p[0] == 0xff => parse_err(&p),
        Ok(p) => {
            // Column count, one definition, EOF, the row.
            assert_eq!(p, vec![1]);
            let _def = raw.packet();
            let _eof = raw.packet();
            let row = raw
                .read_packet()
                .expect("no row and no end of the result set");
            assert_ne!(
                row[0], 0xfe,
                "the 5000-byte row was dropped: the result set ended without it"
            );
            let mut r = row.as_slice();
            assert_eq!(lenenc_bytes(&mut r), "z".repeat(5000).as_bytes());
            let eof = raw.packet();
            assert_eq!(eof[0], 0xfe);
            Reply::Ok {
                affected_rows: 0,
                info: Vec::new(),
            }
        }
        Err(e) => panic!("no answer at all: {e}"),
    };
    assert!(matches!(reply, Reply::Ok { .. }), "{reply:?}");
    assert_eq!(raw.scalar("SELECT 1"), Some(b"1".to_vec()));
    assert_healthy(&mut proxy);
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

#[test]
fn unknown_command_bytes_get_1047() {
    let (mut proxy, _) = start("unknowncmd", "");
    let mut raw = Raw::login(proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    for command in [0xee_u8, 0x00, 0x20, 0xff] {
        raw.command(command, b"whatever");
        let reply = raw.reply();
        assert_eq!(
            reply.err_code(),
            (1047, "08S01"),
            "command {command:#x}: {reply:?}"
        );
        assert_eq!(raw.scalar("SELECT 1"), Some(b"1".to_vec()));
    }
    // An empty packet.
    raw.seq = 0;
    raw.write_packet(&[]);
    let reply = raw.reply();
    assert_eq!(reply.err_code().0, 1047, "{reply:?}");
    assert_eq!(raw.scalar("SELECT 2"), Some(b"2".to_vec()));
    raw.command(COM_QUIT, &[]);
    assert!(raw.is_closed());
    assert_healthy(&mut proxy);
}

#[test]
fn init_db_and_non_utf8_query_text() {
    let (mut proxy, _) = start("initdb", "");
    let port = proxy.port();
    let mut raw = Raw::login(port, APP_USER, APP_PASSWORD, None);
    assert_eq!(raw.scalar("SELECT DATABASE()"), None);
    raw.command(COM_INIT_DB, SCHEMA.as_bytes());
    assert!(matches!(raw.reply(), Reply::Ok { .. }));
    assert_eq!(
        raw.scalar("SELECT DATABASE()"),
        Some(SCHEMA.as_bytes().to_vec())
    );
    raw.command(COM_INIT_DB, b"nope");
    assert_eq!(raw.reply().err_code(), (1049, "42000"));
    raw.command(COM_INIT_DB, b"\xff\xfe");
    assert_eq!(raw.reply().err_code().0, 1049);
    assert_eq!(
        raw.scalar("SELECT DATABASE()"),
        Some(SCHEMA.as_bytes().to_vec())
    );

    // A latin1 client (collation 8 in its handshake) sends latin1 bytes.
    let mut raw = Raw::connect(port);
    let (nonce, _) = raw.handshake();
    let auth = scramble_native(&nonce, APP_PASSWORD.as_bytes()).unwrap();
    let mut response = Raw::response(
        APP_USER,
        Some(SCHEMA),
        AuthPlugin::MysqlNativePassword,
        &auth,
    );
    response[8] = 8; // latin1_swedish_ci
    raw.write_packet(&response);
    assert!(matches!(raw.reply(), Reply::Ok { .. }));
    let reply = raw.query(b"SELECT 'caf\xe9', HEX('caf\xe9'), @@character_set_client".as_slice());
    assert_eq!(
        reply.text_rows(),
        vec![vec![
            Some(b"caf\xe9".to_vec()),
            Some(b"636166E9".to_vec()),
            Some(b"latin1".to_vec())
        ]]
    );
    assert_eq!(raw.scalar("SELECT 1"), Some(b"1".to_vec()));
    assert_healthy(&mut proxy);
}

#[test]
fn unknown_statement_ids() {
    let (mut proxy, _) = start("unknownstmt", "");
    let mut raw = Raw::login(proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    raw.command(COM_STMT_EXECUTE, &execute_body(12345, &[]));
    let reply = raw.reply();
    assert_eq!(reply.err_code(), (1243, "HY000"), "{reply:?}");
    assert_eq!(raw.scalar("SELECT 1"), Some(b"1".to_vec()));

    raw.command(COM_STMT_RESET, &12345u32.to_le_bytes());
    assert_eq!(raw.reply().err_code(), (1243, "HY000"));
    // CLOSE and SEND_LONG_DATA have no reply, not even for unknown ids: the
    // next answer belongs to the next command.
    raw.command(COM_STMT_CLOSE, &12345u32.to_le_bytes());
    raw.command(COM_STMT_SEND_LONG_DATA, &[0x39, 0x30, 0, 0, 0, 0, b'x']);
    assert_eq!(raw.scalar("SELECT 2"), Some(b"2".to_vec()));

    // A closed statement is unknown afterwards.
    let (id, _, _) = raw.prepare("SELECT 1").unwrap();
    raw.command(COM_STMT_CLOSE, &id.to_le_bytes());
    raw.command(COM_STMT_EXECUTE, &execute_body(id, &[]));
    assert_eq!(raw.reply().err_code(), (1243, "HY000"));
    assert_eq!(raw.scalar("SELECT 3"), Some(b"3".to_vec()));
    assert_healthy(&mut proxy);
}

#[test]
fn malformed_execute_parameter_blocks() {
    let (mut proxy, _) = start("badparams", "");
    let mut raw = Raw::login(proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    let (id, params, _) = raw.prepare("SELECT ?, ?").unwrap();
    assert_eq!(params, 2);
    let longlong = ColumnType::MYSQL_TYPE_LONGLONG as u8;
    let string = ColumnType::MYSQL_TYPE_VAR_STRING as u8;

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("only the statement id", id.to_le_bytes().to_vec()),
        ("no NULL bitmap", execute_body(id, &[])),
        ("no new-params-bound flag", execute_body(id, &[0])),
        ("half a type list", execute_body(id, &[0, 1, longlong, 0])),
        (
            "a BIGINT value of 3 bytes",
            execute_body(id, &[0, 1, longlong, 0, string, 0, 7, 0, 0]),
        ),
        (
            "a string longer than the packet",
            execute_body(
                id,
                &[
                    0, 1, longlong, 0, string, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0xff, 0xff, b'a',
                ],
            ),
        ),
        (
            "an unknown type byte",
            execute_body(id, &[0, 1, 0x42, 0, string, 0, 1, b'x']),
        ),
        (
            "a DATETIME claiming 11 bytes with 2",
            execute_body(
                id,
                &[
                    0,
                    1,
                    ColumnType::MYSQL_TYPE_DATETIME as u8,
                    0,
                    string,
                    0,
                    11,
                    0xe8,
                    0x07,
                ],
            ),
        ),
    ];
    for (what, body) in cases {
        raw.command(COM_STMT_EXECUTE, &body);
        let reply = raw.reply();
        assert_eq!(reply.err_code(), (1210, "HY000"), "{what}: {reply:?}");
        assert_eq!(raw.scalar("SELECT 1"), Some(b"1".to_vec()), "after {what}");
    }

    // Types never bound (first execute without the new-params-bound flag).
    let (fresh, _, _) = raw.prepare("SELECT ? + 1").unwrap();
    raw.command(
        COM_STMT_EXECUTE,
        &execute_body(fresh, &[0, 0, 7, 0, 0, 0, 0, 0, 0, 0]),
    );
    assert_eq!(raw.reply().err_code().0, 1210);

    // And a well-formed execute still works on the same statement.
    let mut good = vec![0, 1, longlong, 0, string, 0];
    good.extend_from_slice(&7i64.to_le_bytes());
    put_lenenc_bytes(&mut good, b"abc");
    raw.command(COM_STMT_EXECUTE, &execute_body(id, &good));
    match raw.reply() {
        Reply::Rows { columns, rows } => {
            let types: Vec<u8> = columns.iter().map(|c| column_def(c).column_type).collect();
            assert_eq!(types[0], longlong);
            assert_eq!(rows.len(), 1);
            let mut expected = vec![0x00, 0x00];
            expected.extend_from_slice(&7i64.to_le_bytes());
            put_lenenc_bytes(&mut expected, b"abc");
            assert_eq!(rows[0], expected);
        }
        other => panic!("expected a row, got {other:?}"),
    }
    assert_healthy(&mut proxy);
}

#[test]
fn long_data_and_statement_reset() {
    let (mut proxy, _) = start("longdata_raw", "");
    let mut raw = Raw::login(proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    let (id, params, _) = raw.prepare("SELECT CONCAT(?, '|', ?)").unwrap();
    assert_eq!(params, 2);
    let string = ColumnType::MYSQL_TYPE_VAR_STRING as u8;
    let long_data = |param: u16, chunk: &[u8]| {
        let mut body = id.to_le_bytes().to_vec();
        body.extend_from_slice(&param.to_le_bytes());
        body.extend_from_slice(chunk);
        body
    };
    let text_of_binary_row = |reply: Reply| -> Vec<u8> {
        match reply {
            Reply::Rows { rows, .. } => {
                assert_eq!(rows.len(), 1);
                let mut r = &rows[0][2..];
                lenenc_bytes(&mut r).to_vec()
            }
            other => panic!("expected a row, got {other:?}"),
        }
    };

    // Parameter 0 arrives in two chunks of long data, parameter 1 inline.
    raw.command(COM_STMT_SEND_LONG_DATA, &long_data(0, b"abc"));
    raw.command(COM_STMT_SEND_LONG_DATA, &long_data(0, b"def"));
    let mut rest = vec![0, 1, string, 0, string, 0];
    put_lenenc_bytes(&mut rest, b"inline");
    raw.command(COM_STMT_EXECUTE, &execute_body(id, &rest));
    assert_eq!(text_of_binary_row(raw.reply()), b"abcdef|inline");

    // Long data is used once: the next execute sends both values inline.
    let mut both = vec![0, 0];
    put_lenenc_bytes(&mut both, b"x");
    put_lenenc_bytes(&mut both, b"y");
    raw.command(COM_STMT_EXECUTE, &execute_body(id, &both));
    assert_eq!(text_of_binary_row(raw.reply()), b"x|y");

    // COM_STMT_RESET throws away long data sent since the last execute.
    raw.command(COM_STMT_SEND_LONG_DATA, &long_data(0, b"zzz"));
    raw.command(COM_STMT_RESET, &id.to_le_bytes());
    assert!(matches!(raw.reply(), Reply::Ok { .. }));
    raw.command(COM_STMT_EXECUTE, &execute_body(id, &both));
    assert_eq!(text_of_binary_row(raw.reply()), b"x|y");

    assert_healthy(&mut proxy);
}

/// COM_FIELD_LIST (the mariadb CLI's table-name completion) describes the
/// table's columns as the backend does.
#[test]
fn field_list_matches_the_backend() {
    let (mut proxy, dbs) = start("fieldlist", "");
    let backend = &cluster()[0];
    backend.exec(&format!(
        "CREATE TABLE `{}`.t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'x', \
         price DECIMAL(8,3), raw VARBINARY(4), at DATETIME(6))",
        dbs[0]
    ));
    let field_list = |raw: &mut Raw, table: &[u8]| -> Result<Vec<ColumnDef>, Reply> {
        let mut body = table.to_vec();
        body.push(0);
        raw.command(COM_FIELD_LIST, &body);
        let mut columns = Vec::new();
        loop {
            let p = raw.packet();
            match p[0] {
                0xfe if p.len() < 9 => return Ok(columns),
                0xff => return Err(parse_err(&p)),
                _ => columns.push(column_def(&p)),
            }
        }
    };
    let mut via_proxy = Raw::login(proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    let mut direct = Raw::login(backend.port(), "root", "", Some(&dbs[0]));
    let p = field_list(&mut via_proxy, b"t").unwrap();
    let d = field_list(&mut direct, b"t").unwrap();
    let names: Vec<&[u8]> = p.iter().map(|c| c.name.as_slice()).collect();
    assert_eq!(names, vec![&b"id"[..], b"name", b"price", b"raw", b"at"]);
    assert_eq!(p, d);
    let p = field_list(&mut via_proxy, b"no_such_table").unwrap_err();
    let d = field_list(&mut direct, b"no_such_table").unwrap_err();
    assert_eq!(p.err_code(), d.err_code());
    assert_eq!(via_proxy.scalar("SELECT 1"), Some(b"1".to_vec()));
    assert_healthy(&mut proxy);
}

// ---------------------------------------------------------------------------
// Logins
// ---------------------------------------------------------------------------

#[test]
fn max_connections_refuses_the_next_client_with_1040() {
    let (mut proxy, _) = start("maxconn", "\n[server]\nmax_connections = 2\n");
    let port = proxy.port();
    // The harness's readiness probe held a slot until the proxy saw it
    // close: wait until a connection gets a handshake again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Raw::connect(port).packet()[0] != 10 {
        assert!(Instant::now() < deadline, "no slot after start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let mut first = Raw::login(port, APP_USER, APP_PASSWORD, Some(SCHEMA));
    let second = Raw::login(port, APP_USER, APP_PASSWORD, Some(SCHEMA));

    let mut third = Raw::connect(port);
    let reply = parse_err(&third.packet());
    assert_eq!(reply.err_code(), (1040, "08004"), "{reply:?}");
    assert!(third.is_closed());
    // mysql_async gets an error too, not a hang.
    let url = proxy.url(APP_USER, APP_PASSWORD, SCHEMA);
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            tokio::time::timeout(READ_TIMEOUT, mysql_async::Conn::from_url(url)).await
        });
    match result {
        Ok(Ok(_)) => panic!("a third connection was accepted"),
        Ok(Err(e)) => assert!(
            e.to_string().contains("1040") || e.to_string().contains("Too many"),
            "{e}"
        ),
        Err(_) => panic!("a refused client hung"),
    }
    // The first two keep working.
    assert_eq!(first.scalar("SELECT 1"), Some(b"1".to_vec()));

    // A slot freed is a slot available.
    drop(second);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut next = Raw::connect(port);
        let p = next.packet();
        if p[0] == 10 {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot never came back");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_healthy(&mut proxy);
    assert_eq!(first.scalar("SELECT 2"), Some(b"2".to_vec()));
}

#[test]
fn each_handshake_has_a_fresh_salt() {
    let (mut proxy, _) = start("salt", "");
    let salts: Vec<Vec<u8>> = (0..5)
        .map(|_| Raw::connect(proxy.port()).handshake().0)
        .collect();
    for (i, salt) in salts.iter().enumerate() {
        assert_eq!(salt.len(), 20);
        assert!(salt.iter().all(|&b| b != 0), "{salt:?}");
        assert!(
            salts[..i].iter().all(|other| other != salt),
            "a salt repeated"
        );
    }
    assert_healthy(&mut proxy);
}

/// Without CLIENT_MULTI_STATEMENTS a `;`-separated text is a syntax error,
/// as on the backend; COM_SET_OPTION turns multi-statements on and off.
#[test]
fn multi_statements_follow_the_client_flag_and_set_option() {
    let (mut proxy, dbs) = start("setoption", "");
    let backend = &cluster()[0];
    let no_multi = |response: &mut Vec<u8>| {
        let caps = u32::from_le_bytes(response[..4].try_into().unwrap())
            & !CapabilityFlags::CLIENT_MULTI_STATEMENTS.bits();
        response[..4].copy_from_slice(&caps.to_le_bytes());
    };
    let mut via_proxy =
        Raw::login_patched(proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA), no_multi);
    let mut direct = Raw::login_patched(backend.port(), "root", "", Some(&dbs[0]), no_multi);
    for raw in [&mut via_proxy, &mut direct] {
        let reply = raw.query("SELECT 1; SELECT 2");
        assert_eq!(reply.err_code(), (1064, "42000"), "{reply:?}");
        assert_eq!(raw.scalar("SELECT 3"), Some(b"3".to_vec()));

        // MYSQL_OPTION_MULTI_STATEMENTS_ON: answered with an EOF packet.
        raw.command(COM_SET_OPTION, &0u16.to_le_bytes());
        let eof = raw.packet();
        assert_eq!(eof[0], 0xfe, "{eof:?}");
        raw.command(COM_QUERY, b"SELECT 1; SELECT 2");
        let first = raw.reply();
        let second = raw.reply();
        assert_eq!(first.text_rows(), vec![vec![Some(b"1".to_vec())]]);
        assert_eq!(second.text_rows(), vec![vec![Some(b"2".to_vec())]]);

        // ..._OFF.
        raw.command(COM_SET_OPTION, &1u16.to_le_bytes());
        let eof = raw.packet();
        assert_eq!(eof[0], 0xfe, "{eof:?}");
        assert_eq!(raw.query("SELECT 1; SELECT 2").err_code().0, 1064);
        assert_eq!(raw.scalar("SELECT 4"), Some(b"4".to_vec()));
    }
    assert_healthy(&mut proxy);
}

/// The types a client binds its parameters with reach the backend: a
/// DECIMAL parameter computes as DECIMAL (not as a DOUBLE from a string),
/// a DATE stays a DATE, a TINY stays a TINY. Compared with the backend
/// directly: column types and binary row bytes.
/// The client's execute packet reaches the backend with its own bytes.
#[test]
fn parameter_types_reach_the_backend() {
    let (mut proxy, dbs) = start("paramtypes", "");
    let backend = &cluster()[0];
    let mut via_proxy = Raw::login(proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    let mut direct = Raw::login(backend.port(), "root", "", Some(&dbs[0]));
    let sql = "SELECT ? * 3, ?, ?, ? + 0.5";
    let mut rest = vec![0, 1];
    for t in [
        ColumnType::MYSQL_TYPE_NEWDECIMAL,
        ColumnType::MYSQL_TYPE_DATE,
        ColumnType::MYSQL_TYPE_TINY,
        ColumnType::MYSQL_TYPE_NEWDECIMAL,
    ] {
        rest.extend_from_slice(&[t as u8, 0]);
    }
    put_lenenc_bytes(&mut rest, b"0.1");
    rest.extend_from_slice(&[4, 0xe8, 0x07, 2, 29]);
    rest.push(0xff);
    put_lenenc_bytes(&mut rest, b"12345678901234567890.25");
    let mut answers = Vec::new();
    for raw in [&mut via_proxy, &mut direct] {
        let (id, params, _) = raw.prepare(sql).unwrap();
        assert_eq!(params, 4);
        raw.command(COM_STMT_EXECUTE, &execute_body(id, &rest));
        match raw.reply() {
            Reply::Rows { columns, rows } => {
                let columns: Vec<(Vec<u8>, u8, u8)> = columns
                    .iter()
                    .map(|c| column_def(c))
                    .map(|c| (c.name, c.column_type, c.decimals))
                    .collect();
                answers.push((columns, rows));
            }
            other => panic!("expected a row, got {other:?}"),
        }
    }
    assert_eq!(answers[0], answers[1], "through the proxy vs directly");
    let newdecimal = ColumnType::MYSQL_TYPE_NEWDECIMAL as u8;
    assert_eq!(answers[1].0[0].1, newdecimal, "the backend's own answer");
    assert_healthy(&mut proxy);
}
