//! A TOML or serde error as one line that starts with the key path, e.g.
//! `schemas.shop.tables.t_order: unknown field `shardng`, expected one of ...
//! (line 41, column 1)`. The path is found by walking the parsed document to
//! the innermost key whose span holds the error's position.

use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Describes `error`, raised while reading `text`, with its key path.
pub(super) fn describe(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    let Some(span) = error.span() else {
        return message;
    };
    let (line, column) = line_column(text, span.start);
    let path = DeTable::parse(text)
        .ok()
        .map(|document| {
            let mut path = String::new();
            walk(document.get_ref(), &span, &mut path);
            path
        })
        .unwrap_or_default();
    if path.is_empty() {
        format!("line {line}, column {column}: {message}")
    } else {
        format!("{path}: {message} (line {line}, column {column})")
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Appends to `path` the keys leading to the innermost item holding `span`.
fn walk(table: &DeTable<'_>, span: &Range<usize>, path: &mut String) {
    for (key, value) in table {
        if contains(&key.span(), span) {
            push_key(path, key.get_ref());
            return;
        }
        if contains(&value.span(), span) {
            push_key(path, key.get_ref());
            walk_value(value, span, path);
            return;
        }
    }
    // A table whose own span does not cover its entries (a `[header]` table):
    // look for the deepest entry anyway.
    for (key, value) in table {
        let inner: Vec<(Option<usize>, &DeTable<'_>)> = match value.get_ref() {
            DeValue::Table(inner) => vec![(None, inner)],
            // `[[array]]` tables.
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item.get_ref() {
                    DeValue::Table(inner) => Some((Some(i), inner)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for (index, inner) in inner {
            let mut deeper = String::new();
            walk(inner, span, &mut deeper);
            if !deeper.is_empty() {
                push_key(path, key.get_ref());
                if let Some(i) = index {
                    path.push_str(&format!("[{i}]"));
                }
                path.push('.');
                path.push_str(&deeper);
                return;
            }
        }
    }
}

/// Descends into a value holding `span`.
fn walk_value(value: &Spanned<DeValue<'_>>, span: &Range<usize>, path: &mut String) {
    match value.get_ref() {
        DeValue::Table(inner) => walk(inner, span, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if contains(&item.span(), span) {
                    path.push_str(&format!("[{i}]"));
                    walk_value(item, span, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

/// Whether `outer` holds the start of `inner`.
fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.start < outer.end.max(outer.start + 1)
}

/// Appends `.key` (or `key` first).
fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}
