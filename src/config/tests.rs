//! Checks of `[server]`, `[[users]]`, `[data_sources.*]`, the TOML error
//! messages and the `check` summary.

use super::*;

const SHOP: &str = include_str!("../../tests/fixtures/shop.toml");

fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.problems,
    }
}

/// The complete example with `from` replaced by `to` (which must occur).
fn shop_with(from: &str, to: &str) -> String {
    assert!(SHOP.contains(from), "fixture lacks {from}");
    SHOP.replacen(from, to, 1)
}

#[test]
fn the_complete_example_loads() {
    let config = parse(SHOP).expect("valid");
    assert_eq!(config.server.worker_id, WorkerIdConfig::Fixed(1));
    assert_eq!(config.server.transaction_mode, TransactionMode::Xa);
    assert_eq!(config.users.len(), 2);
    assert_eq!(config.users[0].password_sha1, Some(double_sha1(b"app_pw")));
    assert!(config.users[1].admin && config.users[1].may_use("shop"));
    assert!(!config.users[0].may_use("other"));
    assert_eq!(config.data_sources["ds_0"].replicas.len(), 1);
    assert_eq!(config.rules.schemas["shop"].tables.len(), 5);
}

#[test]
fn defaults_when_server_is_left_out() {
    let text =
        "[[users]]\nname = \"u\"\npassword_sha1 = \"*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9\"\n";
    let config = parse(text).expect("valid");
    assert_eq!(config.server.listen, "127.0.0.1:3307");
    assert_eq!(config.server.max_connections, 4096);
    // SHA1(SHA1("123456")), as mysql.user stores it.
    assert_eq!(config.users[0].password_sha1, Some(double_sha1(b"123456")));
}

#[test]
fn summary_names_everything() {
    let text = summary(&parse(SHOP).expect("valid"));
    let expected = "\
data sources (2):
  ds_0: primary 127.0.0.1:3306/shop_0, 1 replica
  ds_1: primary 127.0.0.1:3306/shop_1, no replicas
users (2): app (shop); ops (shop, admin)
schema shop: default data source ds_0; data sources ds_0, ds_1
  sharded table t_event: 2 nodes on ds_0, ds_1; event_id by_id_range(range)
  sharded table t_log: 4 nodes on ds_0, ds_1; device ring(consistent_hash)
  sharded table t_order: 4 nodes on ds_0, ds_1; database: user_id ds_mod(mod); table: order_id tbl_mod(mod); key order_id snowflake
  sharded table t_order_item: 4 nodes on ds_0, ds_1; database: user_id ds_mod(mod); table: order_id tbl_mod(mod); key item_id snowflake
  sharded table t_user: 2 nodes on ds_0, ds_1; user_id user_hash(hash_mod)
  broadcast tables: t_dict
  binding group: t_order, t_order_item
";
    assert_eq!(text, expected);
}

// ---- server ----

#[test]
fn worker_id_range() {
    assert_eq!(
        problems(&shop_with("worker_id = 1", "worker_id = 1024")),
        ["server.worker_id: 1024 is out of range; give 0..=1023, different for each proxy instance, or \"auto\""]
    );
    parse(&shop_with("worker_id = 1", "worker_id = 1023")).expect("1023 is fine");
    let auto = parse(&shop_with("worker_id = 1", "worker_id = \"auto\"")).expect("auto is fine");
    assert_eq!(auto.server.worker_id, WorkerIdConfig::Auto);
    assert_eq!(
        problems(&shop_with("worker_id = 1", "worker_id = -1")),
        ["server.worker_id: invalid value: integer `-1`, expected a number 0..=1023 or \"auto\" (line 7, column 13)"]
    );
}

#[test]
fn max_connections_at_least_one() {
    assert_eq!(
        problems(&shop_with("max_connections = 4096", "max_connections = 0")),
        ["server.max_connections: must be at least 1"]
    );
}

#[test]
fn max_window_partition_rows_in_range() {
    let config = parse(&shop_with(
        "max_connections = 4096",
        "max_connections = 4096\nmax_window_partition_rows = 5000",
    ))
    .expect("valid");
    assert_eq!(config.server.max_window_partition_rows, 5000);
    assert_eq!(
        parse(SHOP).expect("valid").server.max_window_partition_rows,
        100_000
    );
    assert_eq!(
        problems(&shop_with(
            "max_connections = 4096",
            "max_connections = 4096\nmax_window_partition_rows = 0"
        )),
        ["server.max_window_partition_rows: must be 1..=100000000 (the merge holds one window partition in memory)"]
    );
}

#[test]
fn listen_addresses_and_tls() {
    assert_eq!(
        problems(&shop_with(
            "listen = \"0.0.0.0:3307\"",
            "listen = \"0.0.0.0\""
        )),
        ["server.listen: `0.0.0.0` is not `host:port`, e.g. `0.0.0.0:3307`"]
    );
    assert_eq!(
        problems(&shop_with("[server]", "[server]\ntls_cert = \"c.pem\"")),
        ["server: give both `tls_cert` and `tls_key`, or neither"]
    );
}

// ---- data sources ----

#[test]
fn data_source_names() {
    let text =
        shop_with("[data_sources.ds_1]", "[data_sources.\"ds-1\"]").replace("ds_${0..1}", "ds_0");
    let p = problems(&text);
    assert!(
        p.contains(
            &"data_sources.ds-1: data source name `ds-1` must match [A-Za-z0-9_]+".to_string()
        ),
        "{p:#?}"
    );
}

#[test]
fn endpoint_urls() {
    let p = problems(&shop_with(
        "primary = \"mysql://root:secret@127.0.0.1:3306/shop_1\"",
        "primary = \"postgres://root:secret@127.0.0.1:3306/shop_1\"",
    ));
    assert_eq!(p, ["data_sources.ds_1.primary: `postgres://root:***@127.0.0.1:3306/shop_1`: the scheme is 'postgres', not 'mysql'; expected `mysql://user:pass@host:port/db`"]);
    let p = problems(&shop_with(
        "primary = \"mysql://root:secret@127.0.0.1:3306/shop_1\"",
        "primary = \"mysql://root:secret@127.0.0.1:3306\"",
    ));
    assert_eq!(p, ["data_sources.ds_1.primary: `mysql://root:***@127.0.0.1:3306` names no database; expected `mysql://user:pass@host:port/db`"]);
    let p = problems(&shop_with(
        "replicas = [\"mysql://root:secret@127.0.0.1:3307/shop_0\"]",
        "replicas = [\"mysql://root:secret@127.0.0.1:port/shop_0\"]",
    ));
    assert!(p.len() == 1 && p[0].starts_with("data_sources.ds_0.replicas[0]: `mysql://root:***@127.0.0.1:port/shop_0`: invalid port number"), "{p:#?}");
    let p = problems(&shop_with("pool_max = 64", "pool_max = 0"));
    assert_eq!(p, ["data_sources.ds_0.pool_max: must be at least 1"]);
}

#[test]
fn backend_tls_keys() {
    let config = parse(SHOP).expect("valid");
    assert_eq!(config.data_sources["ds_1"].tls, TlsMode::Preferred);
    assert_eq!(config.data_sources["ds_1"].tls_ca, None);
    let config = parse(&shop_with(
        "pool_max = 64",
        "pool_max = 64\ntls = \"required\"\ntls_ca = \"ca.pem\"",
    ))
    .expect("valid");
    assert_eq!(config.data_sources["ds_0"].tls, TlsMode::Required);
    assert_eq!(
        config.data_sources["ds_0"].tls_ca.as_deref(),
        Some(std::path::Path::new("ca.pem"))
    );
    let p = problems(&shop_with("pool_max = 64", "pool_max = 64\ntls = \"on\""));
    assert!(
        p.len() == 1
            && p[0].starts_with(
                "data_sources.ds_0.tls: unknown variant `on`, expected one of `disabled`, `preferred`, `required`"
            ),
        "{p:?}"
    );
    let p = problems(&shop_with("pool_max = 64", "pool_max = 64\ntls = true"));
    assert!(p[0].starts_with("data_sources.ds_0.tls: "), "{p:?}");
    let p = problems(&shop_with(
        "pool_max = 64",
        "pool_max = 64\ntls = \"disabled\"\ntls_ca = \"ca.pem\"",
    ));
    assert!(
        p.len() == 1
            && p[0].starts_with("data_sources.ds_0.tls_ca: given, but `tls = \"disabled\"`"),
        "{p:?}"
    );
    let p = problems(&shop_with("pool_max = 64", "pool_max = 64\ntls_ca = \"\""));
    assert_eq!(p, ["data_sources.ds_0.tls_ca: must name a PEM file"]);
}

#[test]
fn redacted_urls() {
    assert_eq!(redact("mysql://u:p@h:1/d"), "mysql://u:***@h:1/d");
    assert_eq!(redact("mysql://u:p@ss@h/d"), "mysql://u:***@h/d");
    assert_eq!(redact("mysql://u@h/d"), "mysql://u@h/d");
    assert_eq!(redact("not a url"), "not a url");
    let opts = endpoint("mysql://root:pw@db.local:3310/shop").expect("valid");
    assert_eq!(
        (opts.host.as_str(), opts.port, opts.database.as_str()),
        ("db.local", 3310, "shop")
    );
}

// ---- users ----

#[test]
fn duplicate_user() {
    let p = problems(&shop_with("name = \"ops\"", "name = \"app\""));
    assert_eq!(
        p,
        ["users[1].name: user `app` is already defined in users[0]; user names must be unique"]
    );
}

#[test]
fn user_password_forms() {
    let both = shop_with(
        "password = \"app_pw\"",
        "password = \"app_pw\"\npassword_sha1 = \"6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9\"",
    );
    assert_eq!(
        problems(&both),
        ["users[0] (`app`): give `password` or `password_sha1`/`password_sha2`, not both"]
    );
    let neither = shop_with("password = \"app_pw\"\n", "");
    assert_eq!(
        problems(&neither),
        ["users[0] (`app`): no password; give `password`, `password_sha1` or `password_sha2`"]
    );
    let bad = shop_with(
        "password = \"app_pw\"",
        "password_sha1 = \"+6BB4837EB74329105EE4568DDA7DC67ED2CA2AD\"",
    );
    assert_eq!(
        problems(&bad),
        ["users[0].password_sha1: must be 40 hex digits (optionally after `*`), the SHA1(SHA1(password)) that mysql.user stores"]
    );
}

#[test]
fn user_schemas_must_exist() {
    let p = problems(&shop_with(
        "schemas = [\"shop\"]",
        "schemas = [\"shop\", \"shp\"]",
    ));
    assert_eq!(
        p,
        ["users[0].schemas[1]: unknown schema `shp`; known: shop"]
    );
}

// ---- TOML and serde errors name the key path ----

#[test]
fn unknown_keys_name_their_path() {
    let p = problems(&shop_with(
        "table_sharding = { column = \"order_id\"",
        "table_shardng = { column = \"order_id\"",
    ));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("schemas.shop.tables.t_order.table_shardng: unknown field `table_shardng`, expected one of `nodes`, `sharding`, `database_sharding`, `table_sharding`, `key_generator` (line 42, column 1)"),
        "{p:?}"
    );
    let p = problems(&shop_with("admin = true", "admin = true\nadmn = true"));
    assert!(
        p[0].starts_with("users[1].admn: unknown field `admn`"),
        "{p:?}"
    );
    let p = problems(&shop_with("pool_max = 64", "pool_max = 64\npool_min = 1"));
    assert!(
        p[0].starts_with("data_sources.ds_0.pool_min: unknown field `pool_min`"),
        "{p:?}"
    );
    let p = problems(&shop_with(
        "database_sharding = { column = \"user_id\", algorithm = \"ds_mod\" }",
        "database_sharding = { column = \"user_id\", algorithm = \"ds_mod\", type = \"x\" }",
    ));
    assert!(
        p[0].starts_with(
            "schemas.shop.tables.t_order.database_sharding.type: unknown field `type`"
        ),
        "{p:?}"
    );
}

#[test]
fn ill_typed_values_name_their_path() {
    let p = problems(&shop_with("worker_id = 1", "worker_id = \"one\""));
    assert_eq!(
        p,
        ["server.worker_id: invalid value: string \"one\", expected a number 0..=1023 or \"auto\" (line 7, column 13)"]
    );
    let p = problems(&shop_with(
        "nodes = [\"ds_0.t_user\", \"ds_1.t_user\"]",
        "nodes = 2",
    ));
    assert!(p[0].starts_with("schemas.shop.tables.t_user.nodes: invalid type: integer `2`, expected an inline expression"), "{p:?}");
    let p = problems(&shop_with(
        "transaction_mode = \"xa\"",
        "transaction_mode = \"2pc\"",
    ));
    assert!(
        p[0].starts_with(
            "server.transaction_mode: unknown variant `2pc`, expected `local` or `xa`"
        ),
        "{p:?}"
    );
    let p = problems(&shop_with(
        "nodes = [\"ds_0.t_user\", \"ds_1.t_user\"]\n",
        "",
    ));
    assert!(
        p[0].starts_with("schemas.shop.tables.t_user: missing field `nodes`"),
        "{p:?}"
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let p = problems(&shop_with("[server]", "[server"));
    assert!(p[0].starts_with("line 3, column 8: "), "{p:?}");
}

#[test]
fn load_reads_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, SHOP).expect("write");
    assert!(load(&path).is_ok());
    let missing = load(&dir.path().join("nope.toml")).expect_err("missing");
    assert!(
        missing.problems[0].contains("nope.toml: cannot read"),
        "{missing}"
    );
}

#[test]
fn max_subquery_rows_defaults_and_range() {
    let text =
        "[[users]]\nname = \"u\"\npassword_sha1 = \"*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9\"\n";
    assert_eq!(parse(text).expect("valid").server.max_subquery_rows, 10_000);
    let with = |n: &str| {
        shop_with(
            "max_connections = 4096",
            &format!("max_connections = 4096\nmax_subquery_rows = {n}"),
        )
    };
    assert_eq!(
        parse(&with("50")).expect("valid").server.max_subquery_rows,
        50
    );
    let with = |n: &str| problems(&with(n));
    assert_eq!(
        with("0"),
        ["server.max_subquery_rows: 0 is out of range; give 1..=1000000"]
    );
    assert_eq!(
        with("1000001"),
        ["server.max_subquery_rows: 1000001 is out of range; give 1..=1000000"]
    );
}
