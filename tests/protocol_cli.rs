//! The `mariadb` command-line client and `mariadb-admin` through the proxy,
//! as users run them. Where the output is the backend's, the same input runs
//! directly against the backend database and the output must be the same.

mod common;

use common::{cluster, data_sources_toml, fresh_databases, mariadb_cli, mariadb_command, Proxy};
use std::process::{Command, Stdio};

const USER: &str = "app";
const PASSWORD: &str = "app_pw";

/// A proxy where `app` may use `shop` (instance 0), `shop_b` and `shopxb`
/// (instance 1), but not `secret` (instance 1).
struct Env {
    proxy: Proxy,
    dbs: Vec<String>,
}

impl Env {
    fn start(prefix: &str) -> Env {
        let dbs = fresh_databases(prefix);
        let rules = format!(
            "[[users]]\nname = \"{USER}\"\npassword = \"{PASSWORD}\"\nschemas = [\"shop\", \"shop_b\", \"shopxb\"]\n\n\
             {}\
             [schemas.shop]\ndefault_data_source = \"ds_0\"\n\n\
             [schemas.shop_b]\ndefault_data_source = \"ds_1\"\n\n\
             [schemas.shopxb]\ndefault_data_source = \"ds_1\"\n\n\
             [schemas.secret]\ndefault_data_source = \"ds_1\"\n",
            data_sources_toml(&dbs)
        );
        Env {
            proxy: Proxy::start(&rules),
            dbs,
        }
    }

    /// `mariadb ... -e sql [db]` through the proxy as `app`.
    fn cli(&self, db: &str, sql: &str) -> (bool, String, String) {
        let (status, out, err) = mariadb_cli(self.proxy.port(), USER, PASSWORD, db, sql);
        (status.success(), out, err)
    }

    /// [`Env::cli`] that must succeed; its output.
    fn cli_ok(&self, db: &str, sql: &str) -> String {
        let (ok, out, err) = self.cli(db, sql);
        assert!(ok, "{sql}: {err}");
        out
    }

    /// The same, directly on the backend database behind `shop`.
    fn direct(&self, sql: &str) -> (bool, String, String) {
        let (status, out, err) = mariadb_cli(cluster()[0].port(), "root", "", &self.dbs[0], sql);
        (status.success(), out, err)
    }
}

/// `mariadb` with extra arguments and the SQL on stdin (so `DELIMITER` and
/// multi-line scripts work as in a file): (success, stdout, stderr).
fn cli_script(
    port: u16,
    user: &str,
    password: &str,
    db: &str,
    args: &[&str],
    script: impl AsRef<[u8]>,
) -> (bool, Vec<u8>, String) {
    let mut cmd = mariadb_command(port, user, password);
    cmd.args(args);
    if !db.is_empty() {
        cmd.arg(db);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run mariadb ({e}); install mariadb-client"));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(script.as_ref()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `mariadb-admin` against `port`: (success, stdout, stderr).
fn admin(port: u16, user: &str, password: &str, command: &str) -> (bool, String, String) {
    let out = Command::new("mariadb-admin")
        .arg("--no-defaults")
        .arg("--protocol=TCP")
        .arg("-h127.0.0.1")
        .arg(format!("-P{port}"))
        .arg(format!("-u{user}"))
        .arg(format!("--password={password}"))
        .arg("--connect-timeout=10")
        .arg(command)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run mariadb-admin ({e}); install mariadb-client"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn show_databases_use_and_show_tables() {
    let env = Env::start("cli_show");
    cluster()[0].exec(&format!(
        "CREATE TABLE `{db}`.t2 (a INT); CREATE TABLE `{db}`.t1 (a INT); \
         CREATE VIEW `{db}`.v1 AS SELECT 1 AS one",
        db = env.dbs[0]
    ));
    cluster()[1].exec(&format!("CREATE TABLE `{}`.b_only (a INT)", env.dbs[1]));

    assert_eq!(
        env.cli_ok("", "SHOW DATABASES"),
        "Database\ninformation_schema\nshop\nshop_b\nshopxb\n",
        "only the user's schemas, and information_schema"
    );
    assert_eq!(
        env.cli_ok("", "SHOW DATABASES LIKE 'shop_%'"),
        "Database (shop_%)\nshop_b\nshopxb\n"
    );

    let (ok, out, err) = env.cli("", "USE shop; SHOW TABLES");
    assert!(ok, "{err}");
    assert_eq!(out, "Tables_in_shop\nt1\nt2\nv1\n");
    assert_eq!(
        env.cli_ok("shop", "SHOW FULL TABLES"),
        "Tables_in_shop\tTable_type\nt1\tBASE TABLE\nt2\tBASE TABLE\nv1\tVIEW\n"
    );
    assert_eq!(
        env.cli_ok("shop", "SHOW TABLES LIKE 't%'"),
        "Tables_in_shop (t%)\nt1\nt2\n"
    );

    // The client's own `use` command (COM_INIT_DB), and `SELECT DATABASE()`.
    let (ok, out, err) = env.cli("shop", "use shop_b\nSELECT DATABASE(); SHOW TABLES");
    assert!(ok, "{err}");
    assert_eq!(out, "DATABASE()\nshop_b\nTables_in_shop_b\nb_only\n");
    assert_eq!(env.cli_ok("", "SELECT DATABASE()"), "DATABASE()\nNULL\n");
}

/// `\_` in a LIKE pattern is a literal `_` (MySQL keeps the backslash of
/// `\_` and `\%` in string literals); the header shows the pattern as
/// written, as the backend does.
#[test]
fn show_databases_like_keeps_escaped_wildcards() {
    let env = Env::start("cli_like");
    assert_eq!(
        env.cli_ok("", "SHOW DATABASES LIKE 'shop\\_b'"),
        "Database (shop\\_b)\nshop_b\n"
    );
    assert_eq!(env.cli_ok("shop", "SHOW TABLES LIKE 'x\\%'"), "");
}

#[test]
fn create_insert_select_print_as_on_the_backend() {
    let env = Env::start("cli_crud");
    let script = "CREATE TABLE items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50), \
                  price DECIMAL(10,2), created DATE, at DATETIME(3), note TEXT, raw VARBINARY(8), \
                  f DOUBLE, big BIGINT UNSIGNED); \
                  INSERT INTO items (name, price, created, at, note, raw, f, big) VALUES \
                  ('ü 张三 😀', 12.5, '2024-02-29', '2024-02-29 01:02:03.456', NULL, 0x00ff41, 1e-5, 18446744073709551615), \
                  ('tab\\there', -0.01, '1999-12-31', NULL, 'line\\nbreak', '', -2.5, 0), \
                  ('plain', NULL, NULL, NULL, '', NULL, NULL, NULL); \
                  SELECT * FROM items ORDER BY id; \
                  UPDATE items SET price = price * 2 WHERE price IS NOT NULL; \
                  SELECT ROW_COUNT(), LAST_INSERT_ID(); \
                  SELECT name, price FROM items WHERE name LIKE '%😀%'; \
                  SELECT COUNT(*), SUM(price), AVG(f), MAX(created) FROM items; \
                  SELECT HEX(raw), LENGTH(name), CHAR_LENGTH(name) FROM items ORDER BY id; \
                  DROP TABLE items";
    let (ok, via_proxy, err) = env.cli("shop", script);
    assert!(ok, "{err}");
    let (ok, straight, err) = env.direct(script);
    assert!(ok, "{err}");
    assert_eq!(via_proxy, straight);
    assert!(
        via_proxy.contains("ü 张三 😀\t12.50\t2024-02-29\t2024-02-29 01:02:03.456\tNULL"),
        "{via_proxy}"
    );
    assert!(via_proxy.contains("18446744073709551615"), "{via_proxy}");
    assert!(
        via_proxy.contains("ROW_COUNT()\tLAST_INSERT_ID()\n2\t1\n"),
        "{via_proxy}"
    );
}

#[test]
fn scripts_with_several_statements_and_delimiters() {
    let env = Env::start("cli_multi");
    let port = env.proxy.port();
    let backend = cluster()[0].port();
    // The client splits at `;` itself, except inside a custom delimiter:
    // then one COM_QUERY carries several statements.
    let script = "SELECT 1 AS a; SELECT 2 AS b, NULL AS c;\n\
                  DO 1;\n\
                  DELIMITER //\n\
                  SELECT 'x' AS x; DO 1; SELECT 'y' AS y; SELECT 3 AS z //\n\
                  SET @v := 5; SELECT @v AS v //\n\
                  DELIMITER ;\n\
                  SELECT @v + 1 AS w;\n";
    let (ok, via_proxy, err) = cli_script(port, USER, PASSWORD, "shop", &[], script);
    assert!(ok, "{err}");
    let (ok, straight, err) = cli_script(backend, "root", "", &env.dbs[0], &[], script);
    assert!(ok, "{err}");
    assert_eq!(
        String::from_utf8_lossy(&via_proxy),
        String::from_utf8_lossy(&straight)
    );
    assert_eq!(
        String::from_utf8_lossy(&via_proxy),
        "a\n1\nb\tc\n2\tNULL\nx\nx\ny\ny\nz\n3\nv\n5\nw\n6\n"
    );
    // The statement after such a script gets its own answer (no stray result).
    assert_eq!(env.cli_ok("shop", "SELECT 'next' AS n"), "n\nnext\n");
}

#[test]
fn stored_procedures_created_and_called_through_the_cli() {
    let env = Env::start("cli_proc");
    let direct_db = fresh_databases("cli_proc_direct");
    let script = "DELIMITER //\n\
                  CREATE PROCEDURE two_sets(IN n INT)\n\
                  BEGIN\n\
                    SELECT n AS first;\n\
                    SELECT n * 2 AS second, 'x' AS third;\n\
                  END //\n\
                  DELIMITER ;\n\
                  CALL two_sets(21);\n\
                  SELECT 'after' AS done;\n";
    let (ok, via_proxy, err) = cli_script(env.proxy.port(), USER, PASSWORD, "shop", &[], script);
    assert!(ok, "through the proxy: {err}");
    let (ok, straight, err) =
        cli_script(cluster()[0].port(), "root", "", &direct_db[0], &[], script);
    assert!(ok, "{err}");
    assert_eq!(
        String::from_utf8_lossy(&via_proxy),
        String::from_utf8_lossy(&straight)
    );
    assert_eq!(
        String::from_utf8_lossy(&via_proxy),
        "first\n21\nsecond\tthird\n42\tx\ndone\nafter\n"
    );
}

#[test]
fn errors_print_as_on_the_backend() {
    let env = Env::start("cli_errors");
    cluster()[0].exec(&format!(
        "CREATE TABLE `{}`.u (id INT PRIMARY KEY)",
        env.dbs[0]
    ));
    for sql in [
        "SELEKT 1",
        "SELECT * FROM no_such_table",
        "SELECT 1; SELECT * FROM no_such_table; SELECT 3",
        "INSERT INTO u VALUES (1), (1)",
        "SELECT no_such_column FROM u",
    ] {
        let (ok, out, err) = env.cli("shop", sql);
        let (ok_direct, out_direct, err_direct) = env.direct(sql);
        assert!(!ok && !ok_direct, "{sql}");
        assert_eq!(out, out_direct, "{sql}");
        assert_eq!(err, logical_names(&err_direct), "{sql}");
    }
    let (_, out, err) = env.cli("shop", "SELECT 1; SELECT * FROM no_such_table; SELECT 3");
    assert_eq!(out, "1\n1\n");
    assert!(
        err.ends_with("ERROR 1146 (42S02) at line 1: Table 'shop.no_such_table' doesn't exist\n"),
        "{err}"
    );
    let (_, _, err) = env.cli("shop", "SELEKT 1");
    assert!(
        err.contains("ERROR 1064 (42000) at line 1: You have an error in your SQL syntax"),
        "{err}"
    );
    // Errors the proxy gives itself, in the same format.
    let (ok, _, err) = env.cli("shop", "USE secret");
    assert!(!ok);
    assert!(
        err.contains("ERROR 1044 (42000) at line 1: Access denied for user 'app'"),
        "{err}"
    );
    let (ok, _, err) = env.cli("shop", "USE nope");
    assert!(!ok);
    assert_eq!(
        err,
        "ERROR 1049 (42000) at line 1: Unknown database 'nope'\n"
    );
    // A failed statement does not end the session's usefulness (--force).
    let (_, out, _) = cli_script(
        env.proxy.port(),
        USER,
        PASSWORD,
        "shop",
        &["--force"],
        "SELECT * FROM no_such_table;\nSELECT 'still here' AS s;\n",
    );
    assert_eq!(String::from_utf8_lossy(&out), "s\nstill here\n");
}

#[test]
fn login_failures() {
    let env = Env::start("cli_login");
    let port = env.proxy.port();

    let (status, out, err) = mariadb_cli(port, USER, "wrong", "", "SELECT 1");
    assert!(!status.success());
    assert_eq!(out, "");
    assert!(
        err.starts_with("ERROR 1045 (28000): Access denied for user 'app'"),
        "{err}"
    );
    assert!(err.contains("(using password: YES)"), "{err}");

    let (status, _, err) = mariadb_cli(port, "nobody", PASSWORD, "", "SELECT 1");
    assert!(!status.success());
    assert!(
        err.starts_with("ERROR 1045 (28000): Access denied for user 'nobody'"),
        "{err}"
    );
    let (status, _, err) = mariadb_cli(port, USER, "", "", "SELECT 1");
    assert!(!status.success());
    assert!(err.contains("(using password: NO)"), "{err}");

    let (status, _, err) = mariadb_cli(port, USER, PASSWORD, "nope", "SELECT 1");
    assert!(!status.success());
    assert_eq!(err, "ERROR 1049 (42000): Unknown database 'nope'\n");

    let (status, _, err) = mariadb_cli(port, USER, PASSWORD, "secret", "SELECT 1");
    assert!(!status.success());
    assert!(
        err.starts_with("ERROR 1044 (42000): Access denied for user 'app'"),
        "{err}"
    );
    assert!(err.contains("to database 'secret'"), "{err}");

    // And a good login still works afterwards.
    assert_eq!(env.cli_ok("shop", "SELECT 1 AS ok"), "ok\n1\n");
}

/// A latin1 client: the proxy adopts the handshake's character set, so
/// text arrives in latin1 both ways, as from the backend directly.
#[test]
fn a_latin1_client_gets_latin1() {
    let env = Env::start("cli_latin1");
    cluster()[0].exec(&format!(
        "CREATE TABLE `{}`.words (w VARCHAR(20)) CHARACTER SET utf8mb4; \
         INSERT INTO `{}`.words VALUES ('café')",
        env.dbs[0], env.dbs[0]
    ));
    let args = ["--default-character-set=latin1"];
    // 'é' is 0xE9 in latin1.
    let script = b"SELECT w, HEX(w), 'na\xefve' AS lit, HEX('na\xefve') AS h FROM words;\n";
    let (ok, via_proxy, err) = cli_script(env.proxy.port(), USER, PASSWORD, "shop", &args, script);
    assert!(ok, "{err}");
    let (ok, straight, err) =
        cli_script(cluster()[0].port(), "root", "", &env.dbs[0], &args, script);
    assert!(ok, "{err}");
    assert_eq!(via_proxy, straight);
    assert_eq!(
        via_proxy,
        b"w\tHEX(w)\tlit\th\ncaf\xe9\t636166C3A9\tna\xefve\t6E61EF7665\n".to_vec()
    );
}

#[test]
fn mariadb_admin_ping_and_status() {
    let env = Env::start("cli_admin");
    let port = env.proxy.port();
    let (ok, out, err) = admin(port, USER, PASSWORD, "ping");
    assert!(ok, "{err}");
    assert_eq!(out, "mysqld is alive\n");
    let (ok, out, err) = admin(port, USER, PASSWORD, "status");
    assert!(ok, "{err}");
    assert!(out.starts_with("Uptime: "), "{out}");
    assert!(out.contains("Threads: "), "{out}");
    assert!(out.contains("Queries per second avg: "), "{out}");
    // A wrong password is refused (`ping` exits 0 even then: the server
    // is alive; `status` does not).
    let (_, _, err) = admin(port, USER, "wrong", "ping");
    assert!(err.contains("Access denied for user 'app'"), "{err}");
    let (ok, _, err) = admin(port, USER, "wrong", "status");
    assert!(!ok);
    assert!(err.contains("Access denied for user 'app'"), "{err}");
}

/// The client's `status` command asks the server several things; the
/// answers must describe the proxy.
#[test]
fn cli_status_command() {
    let env = Env::start("cli_status");
    let (ok, out, err) = cli_script(env.proxy.port(), USER, PASSWORD, "shop", &[], "status\n");
    let out = String::from_utf8_lossy(&out);
    assert!(ok, "{err}\n{out}");
    assert!(out.contains("Current database:\tshop"), "{out}");
    assert!(out.contains("Current user:\t\tapp@"), "{out}");
    assert!(
        out.contains("Server version:\t\t8.0.36-shardgate shardgate"),
        "{out}"
    );
    assert!(out.contains("Uptime:"), "{out}");
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
