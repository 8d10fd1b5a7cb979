//! Reading an algorithm's own properties (`{ type = "range", boundaries = [...] }`)
//! with a problem for every missing, extra or ill-typed one, naming its key path.

use std::collections::BTreeMap;

/// The properties of one algorithm entry, everything but `type`.
pub type Properties = BTreeMap<String, toml::Value>;

/// Hands an algorithm type its properties and collects what is wrong with them.
#[derive(Debug)]
pub struct PropertyReader<'a> {
    /// The entry's properties as written.
    properties: &'a Properties,
    /// The entry's key path, `schemas.S.algorithms.NAME`.
    path: &'a str,
    /// The algorithm type, for messages.
    kind: &'a str,
    /// The property names the type asked for; any other is an extra.
    known: Vec<&'static str>,
    /// Everything wrong so far.
    problems: Vec<String>,
}

impl<'a> PropertyReader<'a> {
    /// A reader for the entry at `path` of type `kind`.
    pub fn new(properties: &'a Properties, path: &'a str, kind: &'a str) -> Self {
        PropertyReader {
            properties,
            path,
            kind,
            known: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// An optional integer property: `Some(None)` when absent, `None` (with a
    /// problem recorded) when it is not an integer.
    pub fn optional_integer(&mut self, key: &'static str) -> Option<Option<i64>> {
        self.known.push(key);
        match self.properties.get(key) {
            None => Some(None),
            Some(toml::Value::Integer(i)) => Some(Some(*i)),
            Some(other) => {
                self.problem(
                    key,
                    format!("must be an integer, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// A required list of integers; `None` (with a problem recorded) when it is
    /// missing or not a list of integers.
    pub fn required_integer_list(&mut self, key: &'static str) -> Option<Vec<i64>> {
        self.known.push(key);
        let Some(value) = self.properties.get(key) else {
            self.problem(
                key,
                format!("missing; `{}` needs a list of integers", self.kind),
            );
            return None;
        };
        let toml::Value::Array(items) = value else {
            self.problem(
                key,
                format!("must be a list of integers, found {}", describe(value)),
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                toml::Value::Integer(n) => out.push(*n),
                other => {
                    self.problem(
                        key,
                        format!("item {i} must be an integer, found {}", describe(other)),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    /// Records a problem with property `key`.
    pub fn problem(&mut self, key: &str, message: impl AsRef<str>) {
        self.problems
            .push(format!("{}.{key}: {}", self.path, message.as_ref()));
    }

    /// Ends reading: every problem, including properties the type did not ask for.
    pub fn finish(mut self) -> Vec<String> {
        let takes = if self.known.is_empty() {
            format!("`{}` takes no properties", self.kind)
        } else {
            format!("`{}` takes: {}", self.kind, self.known.join(", "))
        };
        for key in self.properties.keys() {
            if !self.known.contains(&key.as_str()) {
                self.problems.push(format!(
                    "{}.{key}: unknown property for type `{}`; {takes}",
                    self.path, self.kind
                ));
            }
        }
        self.problems
    }
}

/// A short description of a TOML value's type for messages.
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string \"{s}\""),
        toml::Value::Integer(i) => format!("the integer {i}"),
        toml::Value::Float(f) => format!("the float {f}"),
        toml::Value::Boolean(b) => format!("the boolean {b}"),
        toml::Value::Datetime(d) => format!("the datetime {d}"),
        toml::Value::Array(_) => "a list".to_string(),
        toml::Value::Table(_) => "a table".to_string(),
    }
}
