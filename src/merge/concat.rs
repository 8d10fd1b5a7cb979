//! GROUP_CONCAT, JSON_ARRAYAGG and JSON_OBJECTAGG merged across units.
//!
//! Two forms. *Joined*: every unit sends its own concatenation of a
//! group's rows (plain GROUP_CONCAT, the JSON aggregates), and the merge
//! joins the partials with the separator (`,` inside a JSON array, `, `
//! inside a JSON object, as MariaDB prints them); the order among rows is
//! unspecified, as MySQL leaves it. *Values*: with DISTINCT or ORDER BY
//! inside, every unit row carries one combination of the arguments (the
//! unit grouped by them, byte for byte), its ORDER BY keys and, without
//! DISTINCT, how many rows had it; the merge deduplicates by collation
//! weight, sorts and joins.
//!
//! MariaDB cuts a result at `group_concat_max_len` bytes with warning 1260.
//! Where the merge knows the order MariaDB appends and counts values in
//! ([`cut`]: groups closed in MariaDB's order, ORDER BY inside) it cuts
//! the same way and reports the warning; elsewhere a result that reaches the session's limit (each
//! unit sends it as a derived column) is refused, as soon as it does, so a
//! group never holds more than the limit (a cut one keeps only the values
//! up to the cut).

use super::compare::{
    compare_rows, key_part, operand, order_keys, resolve, Comparator, Key, KeyPart, Purpose,
};
use super::number::{int_of, text_bytes};
use super::spec::{SortKey, Weight};
use crate::error::Error;
use crate::hash::HashSet;
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use serde::Serialize;
use std::borrow::Cow;

mod cut;

pub use cut::{cut_warning, CUT_BY_GROUP_CONCAT};

/// How one GROUP_CONCAT or JSON aggregate merges (an
/// [`super::Aggregate::Concat`] names it by its place in
/// [`super::SelectMerge::concats`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConcatPlan {
    /// Joined partials or one value set per unit row.
    pub form: ConcatForm,
    /// The derived `@@group_concat_max_len` column.
    pub max_len: usize,
    /// GROUP_CONCAT's SEPARATOR.
    pub separator: String,
    /// [`ConcatForm::Values`]: the derived argument columns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<usize>,
    /// [`ConcatForm::Values`]: combinations equal by collation appear once.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub distinct: bool,
    /// [`ConcatForm::Values`]: the ORDER BY inside, over derived columns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<SortKey>,
    /// [`ConcatForm::Values`] without DISTINCT: the derived `COUNT(*)` of
    /// the unit rows holding each combination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

/// The two ways a concatenation merges, and which aggregate it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConcatForm {
    /// GROUP_CONCAT: the units' concatenations joined by the separator.
    Joined,
    /// GROUP_CONCAT with DISTINCT or ORDER BY: from the units' values.
    Values,
    /// JSON_ARRAYAGG: the units' arrays' elements in one array.
    JsonArray,
    /// JSON_OBJECTAGG: the units' objects' members in one object.
    JsonObject,
}

/// One concatenation resolved against the unit result's columns.
#[derive(Debug, Clone)]
pub(crate) struct Concatenator {
    /// The aggregate column (the partial, in the joined forms).
    column: usize,
    form: ConcatForm,
    max_len: usize,
    separator: Vec<u8>,
    /// Argument columns and how they compare for DISTINCT.
    values: Vec<(usize, Comparator)>,
    /// Each argument column's type and decimals, to print typed values.
    printed: Vec<(ColumnType, u8)>,
    distinct: bool,
    /// ORDER BY keys as they read the unit row.
    order: Vec<Key>,
    /// Whether the result is binary (cut at bytes, not characters).
    binary: bool,
    /// Whether a result past the limit is cut ([`cut`]) rather than refused.
    cuts: bool,
    /// The same keys reading an entry's saved operands.
    entry_order: Vec<Key>,
    count: Option<usize>,
}

/// One group's concatenation so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConcatState {
    /// The joined text so far (joined forms).
    text: Vec<u8>,
    /// Whether any piece was added.
    any: bool,
    /// Bytes the result will have, separators included.
    length: u64,
    /// Values form: the combinations seen.
    entries: Vec<Entry>,
    /// Values form with DISTINCT: their collation keys.
    seen: HashSet<Vec<KeyPart>>,
    /// The session's `group_concat_max_len`, as the units sent it.
    limit: u64,
}

/// One combination of the arguments (values form).
#[derive(Debug, Clone)]
struct Entry {
    /// The ORDER BY operands.
    keys: Vec<Value>,
    /// The arguments' text, concatenated.
    text: Vec<u8>,
    /// How many rows had it.
    count: u64,
}

impl Concatenator {
    /// Resolves `plan` for aggregate column `column`.
    pub fn new(
        column: usize,
        plan: &ConcatPlan,
        columns: &[Column],
        weights: &[Weight],
    ) -> Result<Concatenator, Error> {
        let named = std::iter::once(plan.max_len)
            .chain(plan.values.iter().copied())
            .chain(plan.count)
            .chain(plan.order.iter().map(|k| k.column));
        for at in named.chain(std::iter::once(column)) {
            if at >= columns.len() {
                return Err(Error::internal(format!(
                    "merge: GROUP_CONCAT names column #{at}, the unit result has {}",
                    columns.len()
                )));
            }
        }
        let values = plan
            .values
            .iter()
            .map(|&v| {
                let comparator = if plan.distinct {
                    resolve(columns, weights, v, Purpose::Value)?
                } else {
                    Comparator::Bytes
                };
                Ok((v, comparator))
            })
            .collect::<Result<_, Error>>()?;
        let order = order_keys(columns, weights, &plan.order)?;
        // An entry keeps each key's operand (its weight, for a string).
        let entry_order = order
            .iter()
            .enumerate()
            .map(|(i, k)| Key {
                column: i,
                comparator: match k.comparator {
                    Comparator::Weight(_) => Comparator::Bytes,
                    other => other,
                },
                descending: k.descending,
            })
            .collect();
        let printed = plan
            .values
            .iter()
            .map(|&v| (columns[v].column_type(), columns[v].decimals()))
            .collect();
        let separator = match plan.form {
            ConcatForm::Joined | ConcatForm::Values => plan.separator.clone().into_bytes(),
            ConcatForm::JsonArray => b",".to_vec(),
            ConcatForm::JsonObject => b", ".to_vec(),
        };
        Ok(Concatenator {
            column,
            form: plan.form,
            max_len: plan.max_len,
            separator,
            values,
            printed,
            binary: columns[column].character_set() == 63,
            cuts: false,
            distinct: plan.distinct,
            order,
            entry_order,
            count: plan.count,
        })
    }

    /// A result past the limit is cut as MariaDB cuts it, with the warning
    /// ([`cut`]), when the statement's evaluation order is the merge's
    /// (`in_order`) and the values have an order of their own.
    pub fn allow_cut(&mut self, in_order: bool) {
        self.cuts = in_order && self.form == ConcatForm::Values && !self.order.is_empty();
    }

    /// Folds one unit row into `state`.
    pub fn fold(&self, state: &mut ConcatState, row: &[Value]) -> Result<(), Error> {
        let at = |i: usize| row.get(i).unwrap_or(&super::compare::NULL);
        let limit = int_of(at(self.max_len)).unwrap_or(i128::MAX);
        state.limit = u64::try_from(limit).unwrap_or(u64::MAX);
        match self.form {
            ConcatForm::Values => self.fold_values(state, row)?,
            form => {
                let partial = at(self.column);
                if let Value::NULL = partial {
                    return Ok(());
                }
                let partial = text_bytes(partial);
                let inner = match form {
                    ConcatForm::JsonArray => unwrap(&partial, b'[', b']')?,
                    ConcatForm::JsonObject => unwrap(&partial, b'{', b'}')?,
                    _ => &partial[..],
                };
                if state.any {
                    state.text.extend_from_slice(&self.separator);
                }
                state.text.extend_from_slice(inner);
                state.any = true;
                let brackets = if form == ConcatForm::Joined { 0 } else { 2 };
                state.length = state.text.len() as u64 + brackets;
            }
        }
        if self.cuts {
            // Only the values up to the cut can appear: the rest are dropped.
            let max_len = usize::try_from(state.limit).unwrap_or(usize::MAX);
            if state.length > state.limit.saturating_mul(2).saturating_add(1024) {
                let order = &self.entry_order;
                state
                    .entries
                    .sort_by(|a, b| compare_rows(order, &a.keys, &b.keys));
                state.length = cut::prune(&mut state.entries, &self.separator, max_len);
            }
            return Ok(());
        }
        // A unit's own partial may have been cut at the limit already: a
        // result that reaches it is refused, not only one that passes it.
        if i128::from(state.length) >= limit {
            return Err(Error::not_supported(
                "GROUP_CONCAT or JSON aggregate reaching group_concat_max_len across data nodes",
            ));
        }
        Ok(())
    }

    fn fold_values(&self, state: &mut ConcatState, row: &[Value]) -> Result<(), Error> {
        let at = |i: usize| row.get(i).unwrap_or(&super::compare::NULL);
        if self
            .values
            .iter()
            .any(|(v, _)| matches!(at(*v), Value::NULL))
        {
            return Ok(());
        }
        if self.distinct {
            let key: Vec<KeyPart> = self
                .values
                .iter()
                .map(|(v, c)| key_part(*c, *v, row))
                .collect();
            if !state.seen.insert(key) {
                return Ok(());
            }
        }
        let count = match self.count {
            Some(c) => u64::try_from(int_of(at(c)).unwrap_or(0)).unwrap_or(0),
            None => 1,
        };
        if count == 0 {
            return Ok(());
        }
        let mut text = Vec::new();
        for ((v, _), printed) in self.values.iter().zip(&self.printed) {
            text.extend_from_slice(&printed_text(at(*v), *printed));
        }
        let pieces = if state.any { count } else { count - 1 };
        let added = (text.len() as u64)
            .saturating_mul(count)
            .saturating_add((self.separator.len() as u64).saturating_mul(pieces));
        state.length = state.length.saturating_add(added);
        state.any = true;
        state.entries.push(Entry {
            keys: self
                .order
                .iter()
                .map(|k| operand(k.comparator, k.column, row).clone())
                .collect(),
            text,
            count,
        });
        Ok(())
    }

    /// The merged value (NULL when no row had one) and, where it may be
    /// cut ([`cut`]), how many values it appended and whether one was cut.
    pub fn finish(&self, state: ConcatState) -> (Value, Option<(u64, bool)>) {
        let counted = self.cuts.then_some((0, false));
        if !state.any {
            return (Value::NULL, counted);
        }
        if self.cuts {
            let mut entries = state.entries;
            entries.sort_by(|a, b| compare_rows(&self.entry_order, &a.keys, &b.keys));
            let max_len = usize::try_from(state.limit).unwrap_or(usize::MAX);
            let (text, appended, cut) =
                cut::joined(&entries, &self.separator, max_len, self.binary);
            return (Value::Bytes(text), Some((appended, cut)));
        }
        (self.finished(state), None)
    }

    fn finished(&self, state: ConcatState) -> Value {
        match self.form {
            ConcatForm::Joined => Value::Bytes(state.text),
            ConcatForm::JsonArray => Value::Bytes(wrap(b'[', state.text, b']')),
            ConcatForm::JsonObject => Value::Bytes(wrap(b'{', state.text, b'}')),
            ConcatForm::Values => {
                let mut entries = state.entries;
                // Stable: equal keys keep the order they came in.
                entries.sort_by(|a, b| compare_rows(&self.entry_order, &a.keys, &b.keys));
                let mut out = Vec::with_capacity(usize::try_from(state.length).unwrap_or(0));
                let mut first = true;
                for entry in &entries {
                    for _ in 0..entry.count {
                        if !first {
                            out.extend_from_slice(&self.separator);
                        }
                        first = false;
                        out.extend_from_slice(&entry.text);
                    }
                }
                Value::Bytes(out)
            }
        }
    }
}

/// A value as MySQL prints it in a string: text-protocol bytes as sent; a
/// typed (binary-protocol) temporal value as its column's type prints it.
fn printed_text(value: &Value, (kind, decimals): (ColumnType, u8)) -> Cow<'_, [u8]> {
    use ColumnType::*;
    let fraction = |us: u32| match decimals {
        1..=6 => format!(".{:06}", us)[..=usize::from(decimals)].to_string(),
        _ => String::new(),
    };
    match *value {
        Value::Date(y, mo, d, ..) if matches!(kind, MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE) => {
            Cow::Owned(format!("{y:04}-{mo:02}-{d:02}").into_bytes())
        }
        Value::Date(y, mo, d, h, mi, s, us) => Cow::Owned(
            format!(
                "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{}",
                fraction(us)
            )
            .into_bytes(),
        ),
        Value::Time(negative, days, h, mi, s, us) => {
            let sign = if negative { "-" } else { "" };
            let hours = u64::from(days) * 24 + u64::from(h);
            Cow::Owned(format!("{sign}{hours:02}:{mi:02}:{s:02}{}", fraction(us)).into_bytes())
        }
        Value::Float(f) => Cow::Owned(f.to_string().into_bytes()),
        _ => text_bytes(value),
    }
}

/// The text between a JSON partial's outer brackets.
fn unwrap(partial: &[u8], open: u8, close: u8) -> Result<&[u8], Error> {
    match partial {
        [first, inner @ .., last] if *first == open && *last == close => Ok(inner),
        _ => Err(Error::internal(
            "merge: a unit's JSON aggregate is not one array or object",
        )),
    }
}

fn wrap(open: u8, inner: Vec<u8>, close: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(inner.len() + 2);
    out.push(open);
    out.extend_from_slice(&inner);
    out.push(close);
    out
}

#[cfg(test)]
mod tests;
