//! Golden routing tests: every `[[case]]` of `tests/golden/*.toml` is one
//! named check: its SQL (and parameters) planned against the file's rule
//! file must give exactly the expected execution units and merge, or the
//! expected error. Every unit's SQL must parse again.
//!
//! `cargo test --test golden [filter ...]` runs them (a filter is a
//! substring of `file::case name`); `GOLDEN_UPDATE=1 cargo test --test
//! golden` rewrites the expectations of the failing cases in place, for
//! review as a diff.
//!
//! A file holds `rules = "rules/shop.toml"` (relative to tests/golden),
//! optional `schema` (default: the rule file's only schema) and
//! `column_kinds = { "t_order.user_id" = "integer" }` (default unknown).
//! A case holds `name`, `sql`, optional `params` (SQL literals: `"42"`,
//! `"'abc'"`, `"NULL"`, or TOML integers / floats), optional
//! `column_kinds` (added to the file's), optional `planner` (`"describe"`
//! or `"first_node"`: the one unit of [`plan_describe`] or
//! [`plan_first_node`], shown with merge `single`), and either `units = [{
//! data_source, sql, params }]` with `merge` (and `generated_key` when the
//! proxy generates a snowflake id) or `error = { code, contains }`.

use mysql_common::value::Value;
use shardgate::config::{self, Config};
use shardgate::keygen::{Clock, KeyGenerator};
use shardgate::plan::{
    plan, plan_describe, plan_execute, plan_first_node, plan_text, ExecutionPlan, MergePlan,
    PlanContext,
};
use shardgate::rules::ColumnKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use toml_edit::{value, Array, DocumentMut, InlineTable, Item, Table};

/// Key generation starts at 2025-01-01T00:00:00Z in every case.
const CLOCK_START_MS: u64 = 1_735_689_600_000;

/// A clock that stands still unless told to wait.
#[derive(Debug)]
struct FakeClock(AtomicU64);

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    fn sleep_ms(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let list = args.iter().any(|a| a == "--list");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let update = std::env::var("GOLDEN_UPDATE").is_ok_and(|v| v == "1");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let (mut passed, mut failed, mut filtered) = (0, Vec::new(), 0);
    for path in case_files(&dir) {
        let stem = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let mut doc: DocumentMut = text.parse().unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let file = FileSettings::read(&dir, &doc);
        let mut changed = false;
        let Some(cases) = doc.get_mut("case").and_then(Item::as_array_of_tables_mut) else {
            panic!("{path:?}: no [[case]]");
        };
        for case in cases.iter_mut() {
            let name = format!("{stem}::{}", string(case, "name"));
            if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
                filtered += 1;
                continue;
            }
            if list {
                println!("{name}: test");
                continue;
            }
            let outcome = run_case(&file, case);
            match check(case, &outcome).and_then(|()| check_cached(&file, case)) {
                Ok(()) => {
                    passed += 1;
                    println!("test golden::{name} ... ok");
                }
                Err(why) => {
                    println!("test golden::{name} ... FAILED");
                    if update {
                        write_expectation(case, &outcome);
                        changed = true;
                    }
                    failed.push((name, why));
                }
            }
        }
        if changed {
            std::fs::write(&path, doc.to_string()).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        }
    }
    if list {
        return;
    }
    for (name, why) in &failed {
        println!("\n---- golden::{name} ----\n{why}");
    }
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; {filtered} filtered out{}",
        failed.len(),
        if update && !failed.is_empty() {
            " (expectations rewritten)"
        } else {
            ""
        }
    );
    if !failed.is_empty() && !update {
        std::process::exit(1);
    }
}

/// The case files, sorted.
fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// What a file says for all its cases.
struct FileSettings {
    config: Config,
    schema: String,
    column_kinds: BTreeMap<String, ColumnKind>,
}

impl FileSettings {
    fn read(dir: &Path, doc: &DocumentMut) -> FileSettings {
        let rules = doc
            .get("rules")
            .and_then(Item::as_str)
            .expect("`rules` path");
        let text = std::fs::read_to_string(dir.join(rules)).expect("rule file");
        let config = config::parse(&text).unwrap_or_else(|e| panic!("{rules}: {e}"));
        let schema = match doc.get("schema").and_then(Item::as_str) {
            Some(s) => s.to_string(),
            None => config
                .rules
                .schemas
                .keys()
                .next()
                .cloned()
                .expect("a schema"),
        };
        let column_kinds = kinds(doc.get("column_kinds"));
        FileSettings {
            config,
            schema,
            column_kinds,
        }
    }
}

/// `{ "table.column" = "integer" | "string" | "unknown" }`.
fn kinds(item: Option<&Item>) -> BTreeMap<String, ColumnKind> {
    let mut out = BTreeMap::new();
    let Some(table) = item.and_then(Item::as_table_like) else {
        return out;
    };
    for (key, kind) in table.iter() {
        let kind = match kind.as_str() {
            Some("integer") => ColumnKind::Integer,
            Some("string") => ColumnKind::String,
            Some("unknown") => ColumnKind::Unknown,
            other => panic!("column kind {other:?} of {key}: give integer, string or unknown"),
        };
        out.insert(key.to_ascii_lowercase(), kind);
    }
    out
}

fn string(case: &Table, key: &str) -> String {
    case.get(key)
        .and_then(Item::as_str)
        .unwrap_or_else(|| panic!("case without `{key}`: {case}"))
        .to_string()
}

/// A planner: [`plan`], [`plan_execute`] or [`plan_text`].
type Planner = fn(&str, &[Value], &PlanContext<'_>) -> Result<ExecutionPlan, Error>;
type Error = shardgate::error::Error;

/// Plans one case with a fresh key generator on a fake clock.
fn run_case(file: &FileSettings, case: &Table) -> Result<ExecutionPlan, shardgate::error::Error> {
    let params: Vec<Value> = match case.get("params").and_then(Item::as_array) {
        Some(array) => array.iter().map(param).collect(),
        None => Vec::new(),
    };
    let sql = string(case, "sql");
    let first_node = match case.get("planner").and_then(Item::as_str) {
        None => return run_with(file, case, &sql, &params, plan),
        Some("describe") => plan_describe,
        Some("first_node") => plan_first_node,
        Some(other) => panic!("no planner {other:?}"),
    };
    with_context(file, case, |ctx| {
        Ok(ExecutionPlan {
            units: vec![first_node(&sql, &params, ctx)?],
            merge: MergePlan::Single,
            generated_key: None,
        })
    })
}

/// `sql` with `params` planned by `planner` in the case's context.
fn run_with(
    file: &FileSettings,
    case: &Table,
    sql: &str,
    params: &[Value],
    planner: Planner,
) -> Result<ExecutionPlan, Error> {
    with_context(file, case, |ctx| planner(sql, params, ctx))
}

/// The plan through the templates equals [`plan`]'s, for the case and
/// for warm-up variants of it (other values in its value positions),
/// planned first.
fn check_cached(file: &FileSettings, case: &Table) -> Result<(), String> {
    if case.get("planner").is_some() {
        return Ok(());
    }
    let sql = string(case, "sql");
    let params: Vec<Value> = match case.get("params").and_then(Item::as_array) {
        Some(array) => array.iter().map(param).collect(),
        None => Vec::new(),
    };
    let mut runs: Vec<(String, Vec<Value>)> = (1..=6)
        .filter_map(|k| {
            if params.is_empty() {
                text_variant(&sql, k).map(|v| (v, Vec::new()))
            } else {
                Some((
                    sql.clone(),
                    params.iter().map(|p| value_variant(p, k)).collect(),
                ))
            }
        })
        .collect();
    runs.push((sql.clone(), params.clone()));
    runs.push((sql, params));
    let cached: Planner = if runs[0].1.is_empty() {
        plan_text
    } else {
        plan_execute
    };
    for (sql, params) in &runs {
        let fresh = run_with(file, case, sql, params, plan);
        let templated = run_with(file, case, sql, params, cached);
        let same = match (&fresh, &templated) {
            (Ok(a), Ok(b)) => a == b,
            (Err(a), Err(b)) => a.code == b.code && a.message == b.message,
            _ => false,
        };
        if !same {
            return Err(format!(
                "cached plan differs for {sql} {params:?}\nfresh: {fresh:?}\ncached: {templated:?}"
            ));
        }
    }
    Ok(())
}

/// Another value of a param's type.
fn value_variant(param: &Value, k: i64) -> Value {
    match param {
        Value::Int(i) => Value::Int(i.wrapping_add(k * 7 + 1)),
        Value::UInt(u) => Value::UInt(u.wrapping_add(k as u64 * 7 + 1)),
        Value::Double(d) => Value::Double(d + k as f64),
        Value::Bytes(b) => {
            let mut b = b.clone();
            b.extend_from_slice(format!("v{k}").as_bytes());
            Value::Bytes(b)
        }
        other => other.clone(),
    }
}

/// `sql` with other literals where its shape takes literals out; `None`
/// when it has no shape or none to take out.
fn text_variant(sql: &str, k: i64) -> Option<String> {
    let shape = shardgate::sql::shape::shape(sql)?;
    if shape.texts.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut from = 0;
    for text in &shape.texts {
        let start = text.as_ptr() as usize - sql.as_ptr() as usize;
        out.push_str(&sql[from..start]);
        match text.parse::<i64>() {
            Ok(i) => out.push_str(&i.checked_add(k * 7 + 1).unwrap_or(k).to_string()),
            Err(_) => out.push_str(&format!("{}v{k}'", &text[..text.len() - 1])),
        }
        from = start + text.len();
    }
    out.push_str(&sql[from..]);
    Some(out)
}

/// Runs `f` in the case's context, with a fresh key generator.
fn with_context<T>(file: &FileSettings, case: &Table, f: impl FnOnce(&PlanContext<'_>) -> T) -> T {
    let mut column_kinds = file.column_kinds.clone();
    column_kinds.extend(kinds(case.get("column_kinds")));
    let lookup = move |table: &str, column: &str| {
        column_kinds
            .get(&format!("{table}.{column}"))
            .copied()
            .unwrap_or(ColumnKind::Unknown)
    };
    let clock = Arc::new(FakeClock(AtomicU64::new(CLOCK_START_MS)));
    let keys = KeyGenerator::new(1, clock).expect("key generator");
    let schema = file
        .config
        .rules
        .schema(&file.schema)
        .unwrap_or_else(|| panic!("no schema {}", file.schema));
    let ctx = PlanContext {
        schema,
        column_kind: &lookup,
        keys: Some(&keys),
        binary_key: &|_: &str| false,
    };
    f(&ctx)
}

/// A parameter: a TOML number, or a SQL literal in a string.
fn param(item: &toml_edit::Value) -> Value {
    if let Some(i) = item.as_integer() {
        return Value::Int(i);
    }
    if let Some(f) = item.as_float() {
        return Value::Double(f);
    }
    let text = item.as_str().unwrap_or_else(|| panic!("param {item}"));
    if text.eq_ignore_ascii_case("NULL") {
        Value::NULL
    } else if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        Value::Bytes(inner.replace("''", "'").replace("\\'", "'").into_bytes())
    } else if let Ok(i) = text.parse::<i64>() {
        Value::Int(i)
    } else if let Ok(u) = text.parse::<u64>() {
        Value::UInt(u)
    } else if let Ok(f) = text.parse::<f64>() {
        Value::Double(f)
    } else {
        panic!("param {text:?}: give a number, 'string' or NULL")
    }
}

/// The outcome as the TOML the case would hold.
fn expectation(outcome: &Result<ExecutionPlan, shardgate::error::Error>) -> Table {
    let mut t = Table::new();
    match outcome {
        Ok(plan) => {
            let mut units = Array::new();
            for unit in &plan.units {
                let mut u = InlineTable::new();
                u.insert("data_source", unit.data_source.as_str().into());
                u.insert("sql", unit.sql.as_str().into());
                if !unit.params.is_empty() {
                    let params: Array = unit.params.iter().map(|p| p.as_sql(false)).collect();
                    u.insert("params", params.into());
                }
                units.push(u);
            }
            for u in units.iter_mut() {
                u.decor_mut().set_prefix("\n  ");
            }
            units.set_trailing("\n");
            units.set_trailing_comma(true);
            t["units"] = value(units);
            t["merge"] = value(plan.merge.to_string());
            if let Some(key) = plan.generated_key {
                t["generated_key"] = value(i64::try_from(key).unwrap_or(i64::MAX));
            }
        }
        Err(e) => {
            let mut error = InlineTable::new();
            error.insert("code", i64::from(e.code).into());
            error.insert("contains", e.message.as_str().into());
            t["error"] = value(error);
        }
    }
    t
}

/// Compares the outcome with the case's expectation.
fn check(
    case: &Table,
    outcome: &Result<ExecutionPlan, shardgate::error::Error>,
) -> Result<(), String> {
    if let Ok(plan) = outcome {
        for unit in &plan.units {
            if let Err(e) = shardgate::sql::parse(&unit.sql) {
                return Err(format!(
                    "unit SQL does not parse again: {}\n  {e}",
                    unit.sql
                ));
            }
        }
    }
    let got = expectation(outcome);
    let ok = match (case.get("error"), outcome) {
        (Some(error), Err(e)) => {
            let code = error.get("code").and_then(Item::as_integer);
            let contains = error.get("contains").and_then(Item::as_str).unwrap_or("");
            code == Some(i64::from(e.code)) && e.message.contains(contains)
        }
        (None, Ok(_)) => {
            units(case.get("units")) == units(got.get("units"))
                && case.get("merge").and_then(Item::as_str)
                    == got.get("merge").and_then(Item::as_str)
                && case.get("generated_key").and_then(Item::as_integer)
                    == got.get("generated_key").and_then(Item::as_integer)
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(format!(
        "sql: {}\nexpected:\n{}\ngot:\n{}",
        string(case, "sql"),
        expected_text(case),
        got
    ))
}

/// The expectation keys of a case, as written.
fn expected_text(case: &Table) -> String {
    let mut t = Table::new();
    for key in ["units", "merge", "generated_key", "error"] {
        if let Some(item) = case.get(key) {
            t[key] = item.clone();
        }
    }
    t.to_string()
}

/// Units as (data source, SQL, params) for comparing.
fn units(item: Option<&Item>) -> Option<Vec<(String, String, Vec<String>)>> {
    let array = item?.as_array()?;
    let text = |t: &InlineTable, key: &str| t.get(key).and_then(|v| v.as_str()).map(str::to_string);
    array
        .iter()
        .map(|unit| {
            let t = unit.as_inline_table()?;
            let params = match t.get("params") {
                Some(p) => p
                    .as_array()?
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()?,
                None => Vec::new(),
            };
            Some((text(t, "data_source")?, text(t, "sql")?, params))
        })
        .collect()
}

/// Replaces the case's expectation keys with the outcome.
fn write_expectation(case: &mut Table, outcome: &Result<ExecutionPlan, shardgate::error::Error>) {
    for key in ["units", "merge", "generated_key", "error"] {
        case.remove(key);
    }
    for (key, item) in expectation(outcome).iter() {
        case.insert(key, item.clone());
    }
}
