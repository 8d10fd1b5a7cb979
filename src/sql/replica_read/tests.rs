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

#[test]
fn every_primary_word_in_any_case_and_no_lookalike() {
    for word in PRIMARY_WORDS {
        let upper = std::str::from_utf8(word).expect("ascii");
        let lower = upper.to_ascii_lowercase();
        let mixed: String = upper
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        for form in [upper, lower.as_str(), mixed.as_str()] {
            assert!(keeps_on_primary(form), "{form} keeps a read on the primary");
            let longer = format!("{form}S");
            let shorter = &form[..form.len() - 1];
            assert!(!keeps_on_primary(&longer), "{longer} is another word");
            assert!(!keeps_on_primary(shorter), "{shorter} is another word");
        }
    }
    for other in [
        "", "_", "SELECT", "id", "sbtest1", "1abc", "é", "updates", "LOCKED",
    ] {
        assert!(!keeps_on_primary(other), "{other} is no primary word");
    }
}
