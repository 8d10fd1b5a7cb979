//! Rule files for tests: a small file with three data sources and one
//! schema `s`, and helpers that parse it.

use crate::config::{parse, Config};

/// The complete example of config.md.
pub(crate) const SHOP: &str = include_str!("../../tests/fixtures/shop.toml");

/// `[schemas.s.algorithms]` with one `mod` algorithm `m`.
pub(crate) const MOD: &str = "[schemas.s.algorithms]\nm = { type = \"mod\" }";

/// Three data sources and one schema `s`; `schema` is appended under `[schemas.s]`.
pub(crate) fn file(schema: &str) -> String {
    format!(
        r#"
[[users]]
name = "app"
password = "pw"
schemas = ["s"]

[data_sources.ds_0]
primary = "mysql://root:pw@127.0.0.1:3306/s_0"
[data_sources.ds_1]
primary = "mysql://root:pw@127.0.0.1:3306/s_1"
[data_sources.ds_2]
primary = "mysql://root:pw@127.0.0.1:3306/s_2"

[schemas.s]
default_data_source = "ds_0"
{schema}
"#
    )
}

/// Parses a file that must be valid.
pub(crate) fn ok(text: &str) -> Config {
    match parse(text) {
        Ok(config) => config,
        Err(e) => panic!("refused:\n{e}\n--- file:\n{text}"),
    }
}

/// The problems of `file(schema)`, which must be refused.
pub(crate) fn problems(schema: &str) -> Vec<String> {
    match parse(&file(schema)) {
        Ok(_) => panic!("accepted:\n{schema}"),
        Err(e) => e.problems,
    }
}

/// Asserts that exactly one problem is reported and that it equals `expected`.
pub(crate) fn one_problem(schema: &str, expected: &str) {
    assert_eq!(problems(schema), [expected]);
}
