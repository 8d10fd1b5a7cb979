use super::*;

fn subject(privileges: Privileges) -> (Vec<String>, Vec<String>, Privileges) {
    (
        vec!["shop".to_string(), "crm".to_string()],
        vec!["shop_0".to_string(), "shop_1".to_string()],
        privileges,
    )
}

fn verdict(sql: &str, privileges: Privileges) -> Result<Verdict, Error> {
    verdict_with(sql, privileges, None)
}

/// The verdict with `routed` rules given, which also asks for the replica check.
fn verdict_with(
    sql: &str,
    privileges: Privileges,
    routed: Option<&crate::rules::SchemaRules>,
) -> Result<Verdict, Error> {
    let (schemas, backends, privileges) = subject(privileges);
    let subject = Subject {
        user: "app",
        host: "10.0.0.7",
        schemas: &schemas,
        schema: Some("shop"),
        privileges,
        backend_databases: &backends,
        routed,
        replica_check: routed.is_some(),
    };
    check(sql.as_bytes(), &subject)
}

/// The error code each statement gets from a user with every privilege (0: allowed).
const CASES: &[(&str, u16)] = &[
    ("SELECT c FROM sbtest1 WHERE id=4242", 0),
    (
        "SELECT o.id, o.user_id FROM t_order o JOIN shop.t_user u ON o.user_id = u.id",
        0,
    ),
    ("SELECT a.b.c FROM t", 1044),
    ("SELECT shop.t_order.id FROM shop.t_order", 0),
    ("SELECT * FROM mysql.user", 1044),
    ("SELECT * FROM `mysql`.`user`", 1044),
    ("SELECT * FROM MYSQL.user", 1044),
    ("SELECT * FROM t, mysql.user", 1044),
    ("SELECT * FROM t x, otherdb.secrets", 1044),
    (
        "SELECT * FROM t WHERE id IN (SELECT id FROM otherdb.t)",
        1044,
    ),
    (
        "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM otherdb.t)",
        1044,
    ),
    ("SELECT x.a FROM t AS x ORDER BY x.a, x.b", 0),
    (
        "SELECT EXTRACT(YEAR FROM t.d), TRIM(LEADING 'x' FROM t.s) FROM t",
        0,
    ),
    ("SELECT mysql.a FROM t mysql", 1044),
    ("SELECT * FROM shop_0.t_order_1", 1044),
    ("SELECT * FROM performance_schema.threads", 1044),
    ("SELECT sys.ps_thread_id(1)", 1044),
    ("SELECT otherdb.f(1)", 1044),
    ("SELECT crm.f(1)", 0),
    (
        "SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'",
        0,
    ),
    ("SELECT 1 /*!40000 , (SELECT 1 FROM mysql.user) */", 1044),
    ("SELECT 1 /*M!100000 , (SELECT 1 FROM mysql.user) */", 1044),
    ("SELECT 1 /* mysql.user */", 0),
    ("SELECT 'mysql.user'", 0),
    ("SELECT * FROM \"mysql\".\"user\"", 1044),
    ("INSERT INTO otherdb.t VALUES (1)", 1044),
    ("INSERT IGNORE INTO t SELECT * FROM otherdb.t", 1044),
    ("UPDATE otherdb.t SET a = 1", 1044),
    ("UPDATE t, otherdb.u SET t.a = u.a", 1044),
    ("UPDATE t SET t.a = 1 WHERE t.b = 2", 0),
    (
        "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)",
        0,
    ),
    ("DELETE FROM otherdb.t", 1044),
    ("DROP TABLE IF EXISTS otherdb.t", 1044),
    ("DROP TABLE t1, otherdb.t2", 1044),
    ("TRUNCATE otherdb.t", 1044),
    ("ALTER TABLE t RENAME TO otherdb.t", 1044),
    ("RENAME TABLE t TO otherdb.t", 1044),
    ("CREATE TABLE t2 LIKE otherdb.t", 1044),
    (
        "CREATE TABLE t2 (id INT, FOREIGN KEY (id) REFERENCES otherdb.t (id))",
        1044,
    ),
    ("CREATE INDEX i ON otherdb.t (c)", 1044),
    (
        "CREATE TRIGGER trg BEFORE INSERT ON otherdb.t FOR EACH ROW SET NEW.a = 1",
        1044,
    ),
    (
        "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
        0,
    ),
    (
        "CREATE VIEW v AS SELECT a.x FROM t a JOIN u b ON a.x = b.x",
        0,
    ),
    ("CREATE VIEW otherdb.v AS SELECT 1", 1044),
    ("LOCK TABLES t READ, otherdb.u WRITE", 1044),
    ("CALL otherdb.p()", 1044),
    ("CALL p(1)", 0),
    ("DESCRIBE otherdb.t", 1044),
    ("SHOW COLUMNS FROM t FROM otherdb", 1044),
    ("SHOW COLUMNS FROM t FROM shop", 0),
    ("SHOW INDEX FROM otherdb.t", 1044),
    ("SHOW TABLES FROM otherdb", 1044),
    ("SHOW FULL TABLES IN crm", 0),
    ("SHOW TABLE STATUS FROM mysql", 1044),
    ("SHOW TRIGGERS FROM otherdb", 1044),
    ("SHOW CREATE DATABASE otherdb", 1044),
    ("SHOW CREATE TABLE otherdb.t", 1044),
    ("SHOW VARIABLES LIKE 'version%'", 0),
    ("SHOW WARNINGS", 0),
    ("USE mysql", 1044),
    ("USE crm", 0),
    ("CREATE DATABASE evil", 1044),
    ("CREATE DATABASE IF NOT EXISTS evil", 1044),
    ("DROP DATABASE shop", 1044),
    ("DROP SCHEMA shop_0", 1044),
    ("ALTER DATABASE shop CHARACTER SET utf8mb4", 1044),
    ("SELECT DATABASE(), SCHEMA()", 0),
    ("SET GLOBAL max_connections = 1000", 1227),
    ("SET @@global.max_connections = 1000", 1227),
    (
        "SET SESSION wait_timeout = 10, GLOBAL max_connections = 5",
        1227,
    ),
    ("SET PERSIST max_connections = 5", 1227),
    ("SET NAMES utf8mb4", 0),
    ("SET SESSION sql_mode = 'STRICT_TRANS_TABLES'", 0),
    (
        "SET sql_mode = CONCAT(@@sql_mode, ',STRICT_TRANS_TABLES')",
        0,
    ),
    ("SET sql_mode = 'NO_BACKSLASH_ESCAPES'", 1235),
    ("SET sql_mode = @m", 1235),
    ("SELECT @@global.max_connections", 0),
    ("SELECT LOAD_FILE('/etc/hostname')", 1227),
    ("SELECT load_file ('/etc/hostname')", 1227),
    ("SELECT * FROM t INTO OUTFILE '/tmp/x'", 1227),
    ("SELECT * FROM t INTO DUMPFILE '/tmp/x'", 1227),
    ("SELECT a INTO @x FROM t", 0),
    ("LOAD DATA INFILE '/etc/passwd' INTO TABLE t", 1227),
    ("LOAD DATA LOCAL INFILE 'x.csv' INTO TABLE t", 0),
    ("LOAD XML INFILE '/etc/x.xml' INTO TABLE t", 1227),
    ("GRANT ALL ON *.* TO app", 1227),
    ("REVOKE SELECT ON shop.t FROM app", 1227),
    ("CREATE USER evil IDENTIFIED BY 'x'", 1227),
    ("CREATE OR REPLACE USER evil", 1227),
    ("ALTER USER root IDENTIFIED BY 'x'", 1227),
    ("DROP USER root", 1227),
    ("RENAME USER root TO x", 1227),
    ("DROP ROLE r", 1227),
    ("SET PASSWORD = PASSWORD('x')", 1227),
    ("SET PASSWORD FOR root = PASSWORD('x')", 1227),
    ("SHOW CREATE USER root", 1227),
    ("SHUTDOWN", 1227),
    ("INSTALL PLUGIN x SONAME 'x.so'", 1227),
    ("INSTALL SONAME 'x'", 1227),
    ("UNINSTALL PLUGIN x", 1227),
    ("CHANGE MASTER TO MASTER_HOST = 'h'", 1227),
    ("START SLAVE", 1227),
    ("START REPLICA", 1227),
    ("START ALL SLAVES", 1227),
    ("START TRANSACTION", 0),
    ("STOP SLAVE", 1227),
    ("RESET MASTER", 1227),
    ("RESET QUERY CACHE", 1227),
    ("FLUSH PRIVILEGES", 1227),
    ("FLUSH TABLES", 1227),
    ("PURGE BINARY LOGS BEFORE NOW()", 1227),
    ("BINLOG 'abc'", 1227),
    ("SHOW MASTER STATUS", 1227),
    ("SHOW SLAVE STATUS", 1227),
    ("SHOW ALL SLAVES STATUS", 1227),
    ("SHOW BINARY LOGS", 1227),
    ("SHOW BINLOG EVENTS", 1227),
    ("SHOW ENGINE INNODB STATUS", 1227),
    ("SHOW USER_STATISTICS", 1227),
    ("SHOW CLIENT_STATISTICS", 1227),
    ("SHOW INDEX_STATISTICS", 1227),
    ("SHOW ENGINES", 0),
    ("SHOW PROCEDURE STATUS", 1235),
    ("SHOW CREATE PROCEDURE p", 0),
    ("SHOW EXPLAIN FOR 5", 1227),
    (
        "CREATE TABLE t (a INT) ENGINE=CONNECT TABLE_TYPE=CSV FILE_NAME='/etc/passwd'",
        1227,
    ),
    (
        "CREATE TABLE t (a INT) ENGINE = FEDERATED CONNECTION='mysql://root@h/db/t'",
        1227,
    ),
    ("CREATE TABLE t (a INT) ENGINE=InnoDB", 0),
    ("CREATE TABLE t (a INT) DATA DIRECTORY = '/tmp'", 1227),
    ("CREATE DEFINER = root@localhost VIEW v AS SELECT 1", 1227),
    ("CREATE DEFINER = CURRENT_USER VIEW v AS SELECT 1", 0),
    ("CREATE DEFINER = CURRENT_USER() PROCEDURE p() SELECT 1", 0),
    ("CREATE PROCEDURE p() BEGIN DROP DATABASE x; END", 1044),
    (
        "CREATE PROCEDURE p() BEGIN SELECT * FROM mysql.user; END",
        1044,
    ),
    (
        "CREATE PROCEDURE p() BEGIN SET GLOBAL max_connections = 1; END",
        1227,
    ),
    (
        "CREATE PROCEDURE p() BEGIN PREPARE s FROM @q; EXECUTE s; END",
        1235,
    ),
    ("CREATE PROCEDURE p() BEGIN KILL 5; END", 1227),
    ("CREATE PROCEDURE p() BEGIN SHUTDOWN; END", 1227),
    (
        "CREATE PROCEDURE p() BEGIN IF 1 THEN GRANT ALL ON *.* TO x; END IF; END",
        1227,
    ),
    (
        "CREATE PROCEDURE p() BEGIN SELECT a FROM t WHERE b = 1; END",
        0,
    ),
    ("PREPARE s FROM 'SELECT * FROM mysql.user'", 1044),
    ("PREPARE s FROM 'SELECT * FROM t WHERE id = ?'", 0),
    ("PREPARE s FROM @sql", 1235),
    ("EXECUTE IMMEDIATE 'DROP DATABASE x'", 1044),
    ("EXECUTE IMMEDIATE CONCAT('SELECT ', 1)", 1235),
    ("EXECUTE s USING @a", 0),
    ("KILL 5", 0),
    ("SELECT 1; KILL 5", 1227),
    ("HANDLER otherdb.t OPEN", 1044),
    ("SHOW GRANTS", 0),
    ("XA START 'x'", 0),
    // Compound statements outside a routine: their bodies are statements.
    ("BEGIN NOT ATOMIC CREATE DATABASE x; END", 1044),
    ("l: BEGIN NOT ATOMIC SELECT 1; DROP USER root; END", 1227),
    ("FOR i IN 1..3 DO CREATE DATABASE x; END FOR", 1044),
    (
        "WHILE 1 = 0 DO SET GLOBAL max_connections = 1; END WHILE",
        1227,
    ),
    ("BEGIN NOT ATOMIC SELECT 1; END", 0),
    ("DO 1", 0),
    ("DO SLEEP(0)", 0),
];

#[test]
fn statements_across_the_boundary_are_refused_with_mysqls_codes() {
    let mut wrong = Vec::new();
    for (sql, code) in CASES {
        let got = match verdict(sql, Privileges::ALL) {
            Ok(_) => 0,
            Err(e) => e.code,
        };
        if got != *code {
            wrong.push(format!("{sql}: expected {code}, got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn messages_have_mysqls_shape() {
    let e = verdict("SELECT * FROM mysql.user", Privileges::ALL).unwrap_err();
    assert_eq!(
        e.message,
        "Access denied for user 'app'@'10.0.0.7' to database 'mysql'"
    );
    let e = verdict("SET GLOBAL max_connections = 1", Privileges::ALL).unwrap_err();
    assert_eq!(
        e.message,
        "Access denied; you need (at least one of) the SUPER privilege(s) for this operation"
    );
}

#[test]
fn information_schema_is_flagged() {
    let v = verdict("SELECT * FROM information_schema.COLUMNS", Privileges::ALL).unwrap();
    assert!(v.information_schema);
    let v = verdict("SELECT 1", Privileges::ALL).unwrap();
    assert!(!v.information_schema);
}

#[test]
fn definition_changes_are_flagged() {
    for (sql, ddl) in [
        ("ALTER TABLE t_order ADD COLUMN c INT", true),
        (
            "SET STATEMENT max_statement_time = 5 FOR DROP TABLE t",
            true,
        ),
        (
            "CREATE PROCEDURE p() BEGIN ALTER TABLE t ADD c INT; END",
            true,
        ),
        ("CALL p()", true),
        ("EXECUTE s", true),
        ("TRUNCATE t_order", true),
        ("SELECT * FROM t_order", false),
        ("SHOW COLUMNS FROM t_order", false),
        ("INSERT INTO t VALUES (1)", false),
    ] {
        assert_eq!(verdict(sql, Privileges::ALL).unwrap().ddl, ddl, "{sql}");
    }
}

#[test]
fn privileges_are_checked_per_command_and_table() {
    let read_only = Privileges::SELECT;
    let cases: &[(&str, Option<&str>)] = &[
        ("SELECT * FROM t_order", None),
        ("SELECT 1", None),
        ("SHOW COLUMNS FROM t_order", None),
        (
            "INSERT INTO t_order VALUES (1)",
            Some("INSERT command denied to user 'app'@'10.0.0.7' for table `shop`.`t_order`"),
        ),
        (
            "UPDATE crm.t_user SET a = 1",
            Some("UPDATE command denied to user 'app'@'10.0.0.7' for table `crm`.`t_user`"),
        ),
        (
            "DELETE FROM t_order WHERE id = 1",
            Some("DELETE command denied to user 'app'@'10.0.0.7' for table `shop`.`t_order`"),
        ),
        (
            "REPLACE INTO t VALUES (1)",
            Some("INSERT command denied to user 'app'@'10.0.0.7' for table `shop`.`t`"),
        ),
        (
            "DROP TABLE t",
            Some("DROP command denied to user 'app'@'10.0.0.7' for table `shop`.`t`"),
        ),
        (
            "CREATE TABLE t (a int)",
            Some("CREATE command denied to user 'app'@'10.0.0.7' for table `shop`.`t`"),
        ),
        (
            "TRUNCATE TABLE t",
            Some("DROP command denied to user 'app'@'10.0.0.7' for table `shop`.`t`"),
        ),
        (
            "CALL p()",
            Some("INSERT command denied to user 'app'@'10.0.0.7' for table `shop`.`p`"),
        ),
    ];
    for (sql, expected) in cases {
        let got = verdict(sql, read_only).err().map(|e| (e.code, e.message));
        match expected {
            None => assert_eq!(got, None, "{sql}"),
            Some(message) => assert_eq!(got, Some((1142, message.to_string())), "{sql}"),
        }
    }
    let writer = Privileges::SELECT.with(Privileges::INSERT);
    assert!(verdict("INSERT INTO t SELECT * FROM u", writer).is_ok());
    assert_eq!(
        verdict("INSERT INTO t SELECT * FROM u", Privileges::INSERT)
            .unwrap_err()
            .code,
        1142
    );
}

#[test]
fn routed_names_and_replica_reads_are_noted_as_their_own_scans_find_them() {
    let config = crate::config::parse(crate::rules::test_support::SHOP).expect("shop rules");
    let rules = &config.rules.schemas["shop"];
    let extra = [
        "SELECT * FROM T_ORDER WHERE user_id = 1",
        "SELECT * FROM `t_order`",
        "SELECT 't_order' FROM t_user_x",
        "SELECT t_dict.id FROM shop.t_dict",
        "UPDATE t_item SET n = 1 /* t_order */",
        "SELECT * FROM t_item WHERE id = 1 FOR UPDATE",
        "SELECT * FROM t_item LOCK IN SHARE MODE",
        "SELECT @x := 1",
        "SELECT @x : = 1",
        "SELECT LAST_INSERT_ID(), @@session.last_gtid",
        "/* shardgate: primary */ SELECT 1",
        "SELECT NEXTVAL(s)",
    ];
    let sqls = CASES.iter().map(|(sql, _)| *sql).chain(extra);
    for sql in sqls {
        if let Ok(verdict) = verdict_with(sql, Privileges::ALL, Some(rules)) {
            let scanned = crate::sql::tables::names_routed_table(rules, sql.as_bytes()).is_some();
            assert_eq!(verdict.names_routed, Some(scanned), "{sql}");
            let replica = crate::sql::replica_read::may_read_from_replica(sql.as_bytes());
            assert_eq!(verdict.replica_read, Some(replica), "{sql}");
        }
    }
    let unruled = verdict("SELECT * FROM t_order", Privileges::ALL).expect("allowed");
    assert_eq!(unruled.names_routed, None);
    assert_eq!(unruled.replica_read, None);
}
