use super::*;

#[derive(serde::Deserialize)]
struct Cases {
    effects: Vec<EffectsCase>,
    set: Vec<SetCase>,
}

#[derive(serde::Deserialize)]
struct EffectsCase {
    sql: String,
    effects: Vec<String>,
}

#[derive(serde::Deserialize)]
struct SetCase {
    sql: String,
    kind: String,
    #[serde(default)]
    items: Vec<(String, String)>,
}

fn cases() -> Cases {
    toml::from_str(include_str!("cases.toml")).expect("effects/cases.toml parses")
}

/// The names of the methods of `e` that return true.
fn names(e: Effects) -> Vec<&'static str> {
    let all = [
        ("sticky", e.sticky()),
        ("locks_tables", e.locks_tables()),
        ("unlocks_tables", e.unlocks_tables()),
        ("holds_next", e.holds_next()),
        ("reads_warnings", e.reads_warnings()),
        ("reads_found_rows", e.reads_found_rows()),
        ("reads_row_count", e.reads_row_count()),
        ("prepares_xa", e.prepares_xa()),
    ];
    all.into_iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn effects_cases_from_data_file() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases.effects {
        let mut want: Vec<&str> = case.effects.iter().map(String::as_str).collect();
        want.sort_unstable();
        let mut got = names(effects(case.sql.as_bytes()));
        got.sort_unstable();
        if got != want {
            failures.push(format!("{:?}: want {want:?}, got {got:?}", case.sql));
        }
        assert_eq!(
            effects(case.sql.as_bytes()).is_empty(),
            want.is_empty(),
            "{}",
            case.sql
        );
    }
    assert!(cases.effects.len() >= 80, "{} cases", cases.effects.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn set_cases_from_data_file() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases.set {
        let want = match case.kind.as_str() {
            "session" => SetKind::Session(case.items.clone()),
            "next_transaction" => SetKind::NextTransaction(case.items.clone()),
            "statement" => SetKind::Statement,
            "global" => SetKind::Global,
            "sticky" => SetKind::Sticky,
            other => panic!("unknown kind {other:?} for {:?}", case.sql),
        };
        let got = set_kind(case.sql.as_bytes());
        if got != want {
            failures.push(format!("{:?}:\n  want {want:?}\n  got  {got:?}", case.sql));
        }
        // effects() agrees with set_kind on what pins.
        let sticky = effects(case.sql.as_bytes()).sticky();
        if case.sql.trim_start().starts_with("SET") && sticky != (got == SetKind::Sticky) {
            failures.push(format!("{:?}: effects().sticky() is {sticky}", case.sql));
        }
    }
    assert!(cases.set.len() >= 45, "{} cases", cases.set.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn set_statement_body_is_what_follows_for() {
    assert_eq!(
        set_statement_body(b"SET STATEMENT max_statement_time = 1, sql_mode = (SELECT 'a' FOR UPDATE) FOR  SELECT 1 FOR UPDATE "),
        Some(&b"SELECT 1 FOR UPDATE"[..])
    );
    assert_eq!(set_statement_body(b"SET sql_mode = 'a'"), None);
    assert_eq!(set_statement_body(b"SET STATEMENT x = 1"), None);
}

#[test]
fn effects_never_panic_on_odd_text() {
    for text in [
        &b"SET"[..],
        b"SET @",
        b"SET @@",
        b"SET @@.",
        b"SET NAMES",
        b"SET CHARACTER",
        b"SET SESSION TRANSACTION ISOLATION LEVEL",
        b"SHOW COUNT(",
        b"GET_LOCK(",
        b"_",
        b"x_",
        b"@",
        b"SET x = _binary'\xff'",
        b"SELECT \xff\xfe",
        b"SET STATEMENT x=1 FOR",
    ] {
        let _ = effects(text);
        let _ = set_kind(text);
    }
    assert_eq!(set_kind(b"SET x = _binary'\xff'"), SetKind::Sticky);
}
