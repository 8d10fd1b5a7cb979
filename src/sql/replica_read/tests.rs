use super::*;

#[derive(serde::Deserialize)]
struct Cases {
    replica: Vec<String>,
    primary: Vec<String>,
}

#[test]
fn statements_that_may_read_from_a_replica() {
    let cases: Cases = toml::from_str(include_str!("cases.toml")).expect("cases.toml");
    for sql in &cases.replica {
        assert!(
            may_read_from_replica(sql.as_bytes()),
            "should read from a replica: {sql}"
        );
    }
    for sql in &cases.primary {
        assert!(
            !may_read_from_replica(sql.as_bytes()),
            "should stay on the primary: {sql}"
        );
    }
}

#[test]
fn hints_and_read_only_transactions() {
    assert!(hint_primary(b"  /* shardgate: primary */ SELECT 1"));
    assert!(!hint_primary(b"/*!50000 shardgate: primary */ SELECT 1"));
    assert!(!hint_primary(
        b"/* shardgate: data_source = ds_1 */ SELECT 1"
    ));
    assert!(!hint_primary(b"SELECT 1 /* shardgate: primary */"));
    assert_eq!(
        hint_data_source(b"/* shardgate: data_source = ds_1 */ SELECT 1"),
        Some("ds_1")
    );
    assert_eq!(
        hint_data_source(b"/*shardgate:data_source=ds_2*/SELECT 1"),
        Some("ds_2")
    );
    assert_eq!(hint_data_source(b"/* shardgate: primary */ SELECT 1"), None);
    assert_eq!(
        hint_data_source(b"/* shardgate: data_source = */ SELECT 1"),
        None
    );
    assert!(is_read_only_begin(b"START TRANSACTION READ ONLY"));
    assert!(is_read_only_begin(
        b"start transaction with consistent snapshot, read only"
    ));
    assert!(!is_read_only_begin(b"START TRANSACTION READ WRITE"));
    assert!(!is_read_only_begin(b"BEGIN"));
}
