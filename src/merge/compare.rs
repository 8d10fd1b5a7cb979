//! Values compare as MySQL compares them for their column: numbers
//! numerically (DECIMAL exactly), temporals in time order, binary strings
//! byte by byte, other strings by their collation through a derived
//! `WEIGHT_STRING()` column. NULL is lowest. How a column compares is decided
//! once, from the unit result's column metadata.
//!
//! Equality for GROUP BY, DISTINCT and COUNT(DISTINCT) is the same relation:
//! [`key_part`] gives equal parts exactly for values that compare equal.

use super::number::{float_of, int_of, text_bytes, DecimalText};
use super::spec::Weight;
use crate::error::Error;
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::packets::Column;
use mysql_common::value::Value;
use std::cmp::Ordering;

/// The `binary` character set: strings of it compare byte by byte.
const BINARY_CHARSET: u16 = 63;

/// Stands in for a missing value; rows are checked for width on arrival.
pub(crate) const NULL: Value = Value::NULL;

/// How one column's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparator {
    /// Integer types and YEAR.
    Int,
    /// DECIMAL, exactly on its text.
    Decimal,
    /// FLOAT and DOUBLE.
    Float,
    /// DATE, DATETIME, TIMESTAMP.
    Date,
    /// TIME (signed durations).
    Time,
    /// Binary strings, BIT, NULL-typed columns: byte by byte.
    Bytes,
    /// A string under its collation: the bytes of this derived weight column.
    Weight(usize),
}

/// What a comparison is for: ENUM and SET columns sort by their member
/// number, which only the server knows, but compare as strings otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// ORDER BY.
    Order,
    /// GROUP BY, DISTINCT, MIN, MAX.
    Value,
}

/// One resolved ORDER BY or grouping key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    /// The column compared.
    pub column: usize,
    /// How.
    pub comparator: Comparator,
    /// Reversed order (NULL last).
    pub descending: bool,
}

/// A value made hashable, equal exactly when the values compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum KeyPart {
    /// NULL (equal to NULL for grouping, as in MySQL).
    Null,
    /// An integer.
    Int(i128),
    /// Canonical decimal text.
    Decimal(Vec<u8>),
    /// The bits of a double, zero's sign dropped.
    Float(u64),
    /// A date and time.
    Date(DateParts),
    /// A duration in microseconds.
    Time(i64),
    /// Bytes compared as they are.
    Bytes(Vec<u8>),
}

/// Year, month, day, hour, minute, second, microsecond: ordered as a tuple.
pub(crate) type DateParts = (u16, u8, u8, u8, u8, u8, u32);

/// The comparison a column's type implies, strings byte by byte.
pub(crate) fn natural(column: &Column) -> Comparator {
    use ColumnType::*;
    match column.column_type() {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24
        | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => Comparator::Int,
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => Comparator::Decimal,
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => Comparator::Float,
        MYSQL_TYPE_DATE
        | MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_NEWDATE
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP2 => Comparator::Date,
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => Comparator::Time,
        _ => Comparator::Bytes,
    }
}

/// Whether a column holds strings of a collation other than `binary`.
fn collated(column: &Column) -> bool {
    use ColumnType::*;
    let stringy = !matches!(
        column.column_type(),
        MYSQL_TYPE_NULL | MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY
    );
    natural(column) == Comparator::Bytes && stringy && column.character_set() != BINARY_CHARSET
}

/// The comparators of ORDER BY keys `order` (see [`resolve`]).
pub(crate) fn order_keys(
    columns: &[Column],
    weights: &[Weight],
    order: &[super::spec::SortKey],
) -> Result<Vec<Key>, Error> {
    order
        .iter()
        .map(|k| {
            Ok(Key {
                column: k.column,
                comparator: resolve(columns, weights, k.column, Purpose::Order)?,
                descending: k.descending,
            })
        })
        .collect()
}

/// How `column` compares for `purpose`; a string of a non-binary collation
/// needs its weight column, and ORDER BY an ENUM or SET is refused.
pub(crate) fn resolve(
    columns: &[Column],
    weights: &[Weight],
    column: usize,
    purpose: Purpose,
) -> Result<Comparator, Error> {
    let meta = columns
        .get(column)
        .ok_or_else(|| Error::internal(format!("merge: no column #{column} in the unit result")))?;
    if !collated(meta) {
        return Ok(natural(meta));
    }
    let flags = meta.flags();
    if purpose == Purpose::Order && flags.intersects(ColumnFlags::ENUM_FLAG | ColumnFlags::SET_FLAG)
    {
        return Err(Error::not_supported(format!(
            "ORDER BY the ENUM or SET column '{}' across data nodes",
            meta.name_str()
        )));
    }
    match weights.iter().find(|w| w.column == column) {
        Some(w) if w.weight < columns.len() => Ok(Comparator::Weight(w.weight)),
        Some(w) => Err(Error::internal(format!(
            "merge: weight column #{} is not in the unit result",
            w.weight
        ))),
        None => Err(Error::internal(format!(
            "merge: string column '{}' (#{column}) compares by its collation but has no WEIGHT_STRING column",
            meta.name_str()
        ))),
    }
}

/// The value a key compares in `row`: the column's, or its weight's.
pub(crate) fn operand(comparator: Comparator, column: usize, row: &[Value]) -> &Value {
    let at = match comparator {
        Comparator::Weight(weight) => weight,
        _ => column,
    };
    row.get(at).unwrap_or(&NULL)
}

/// Two rows in the order of `keys`.
pub(crate) fn compare_rows(keys: &[Key], a: &[Value], b: &[Value]) -> Ordering {
    for key in keys {
        let order = compare_values(
            key.comparator,
            operand(key.comparator, key.column, a),
            operand(key.comparator, key.column, b),
        );
        if order != Ordering::Equal {
            return if key.descending {
                order.reverse()
            } else {
                order
            };
        }
    }
    Ordering::Equal
}

/// Two values (weights, for a weight comparator), NULL lowest.
pub(crate) fn compare_values(comparator: Comparator, a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::NULL, Value::NULL) => Ordering::Equal,
        (Value::NULL, _) => Ordering::Less,
        (_, Value::NULL) => Ordering::Greater,
        _ => match comparator {
            Comparator::Int => match (int_of(a), int_of(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => compare_decimals(a, b),
            },
            Comparator::Decimal => compare_decimals(a, b),
            Comparator::Float => compare_floats(a, b),
            Comparator::Date => match (date_of(a), date_of(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => text_bytes(a).cmp(&text_bytes(b)),
            },
            Comparator::Time => match (time_of(a), time_of(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => text_bytes(a).cmp(&text_bytes(b)),
            },
            Comparator::Bytes | Comparator::Weight(_) => text_bytes(a).cmp(&text_bytes(b)),
        },
    }
}

fn compare_decimals(a: &Value, b: &Value) -> Ordering {
    let (ta, tb) = (text_bytes(a), text_bytes(b));
    match (DecimalText::parse(&ta), DecimalText::parse(&tb)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => compare_floats(a, b),
    }
}

fn compare_floats(a: &Value, b: &Value) -> Ordering {
    match (float_of(a), float_of(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => text_bytes(a).cmp(&text_bytes(b)),
    }
}

/// A key value parsed once per row, so a k-way merge does not parse the
/// same text at every comparison. `Raw` values compare from the row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Parsed {
    /// NULL.
    Null,
    /// An integer.
    Int(i128),
    /// A double.
    Float(f64),
    /// A date and time.
    Date(DateParts),
    /// A duration in microseconds.
    Time(i64),
    /// Compared from the row itself (decimals, strings, weights).
    Raw,
}

/// Parses the values of `keys` in `row` into `out` (cleared first).
pub(crate) fn parse_keys(keys: &[Key], row: &[Value], out: &mut Vec<Parsed>) {
    out.clear();
    out.extend(keys.iter().map(|k| {
        let value = operand(k.comparator, k.column, row);
        let parsed = match (value, k.comparator) {
            (Value::NULL, _) => Some(Parsed::Null),
            (_, Comparator::Int) => int_of(value).map(Parsed::Int),
            (_, Comparator::Float) => float_of(value).map(Parsed::Float),
            (_, Comparator::Date) => date_of(value).map(Parsed::Date),
            (_, Comparator::Time) => time_of(value).map(Parsed::Time),
            _ => None,
        };
        parsed.unwrap_or(Parsed::Raw)
    }));
}

/// Two rows in the order of `keys`, with their values parsed by [`parse_keys`].
pub(crate) fn compare_parsed(
    keys: &[Key],
    (a, a_row): (&[Parsed], &[Value]),
    (b, b_row): (&[Parsed], &[Value]),
) -> Ordering {
    for (i, key) in keys.iter().enumerate() {
        let order = match (a.get(i), b.get(i)) {
            (Some(Parsed::Null), Some(Parsed::Null)) => Ordering::Equal,
            (Some(Parsed::Null), _) => Ordering::Less,
            (_, Some(Parsed::Null)) => Ordering::Greater,
            (Some(Parsed::Int(x)), Some(Parsed::Int(y))) => x.cmp(y),
            (Some(Parsed::Float(x)), Some(Parsed::Float(y))) => {
                x.partial_cmp(y).unwrap_or(Ordering::Equal)
            }
            (Some(Parsed::Date(x)), Some(Parsed::Date(y))) => x.cmp(y),
            (Some(Parsed::Time(x)), Some(Parsed::Time(y))) => x.cmp(y),
            _ => compare_values(
                key.comparator,
                operand(key.comparator, key.column, a_row),
                operand(key.comparator, key.column, b_row),
            ),
        };
        if order != Ordering::Equal {
            return if key.descending {
                order.reverse()
            } else {
                order
            };
        }
    }
    Ordering::Equal
}

/// The hashable form of the value `comparator` compares in `row`.
pub(crate) fn key_part(comparator: Comparator, column: usize, row: &[Value]) -> KeyPart {
    let value = operand(comparator, column, row);
    if let Value::NULL = value {
        return KeyPart::Null;
    }
    let text = || text_bytes(value);
    match comparator {
        Comparator::Int => match int_of(value) {
            Some(i) => KeyPart::Int(i),
            None => decimal_part(value),
        },
        Comparator::Decimal => decimal_part(value),
        Comparator::Float => float_part(value),
        Comparator::Date => date_of(value).map_or_else(|| bytes(text()), KeyPart::Date),
        Comparator::Time => time_of(value).map_or_else(|| bytes(text()), KeyPart::Time),
        Comparator::Bytes | Comparator::Weight(_) => bytes(text()),
    }
}

fn bytes(text: std::borrow::Cow<'_, [u8]>) -> KeyPart {
    KeyPart::Bytes(text.into_owned())
}

fn decimal_part(value: &Value) -> KeyPart {
    let text = text_bytes(value);
    match DecimalText::parse(&text) {
        Some(d) => KeyPart::Decimal(d.canonical()),
        None => float_part(value),
    }
}

fn float_part(value: &Value) -> KeyPart {
    match float_of(value) {
        // -0.0 equals 0.0; adding 0.0 turns the one into the other.
        Some(f) => KeyPart::Float((f + 0.0).to_bits()),
        None => bytes(text_bytes(value)),
    }
}

/// A DATE/DATETIME/TIMESTAMP value, typed or as `YYYY-MM-DD[ hh:mm:ss[.ffffff]]`.
pub(crate) fn date_of(value: &Value) -> Option<DateParts> {
    match value {
        Value::Date(y, mo, d, h, mi, s, us) => Some((*y, *mo, *d, *h, *mi, *s, *us)),
        Value::Bytes(b) => {
            let mut runs = b.split(|c| !c.is_ascii_digit());
            let mut next = |max: u64| -> Option<u64> {
                match runs.next() {
                    None => Some(0),
                    Some(run) => parse_small(run).filter(|n| *n <= max),
                }
            };
            let (y, mo, d) = (next(9999)?, next(99)?, next(99)?);
            let (h, mi, s) = (next(99)?, next(99)?, next(99)?);
            let us = match b.iter().position(|&c| c == b'.') {
                Some(dot) => micros(&b[dot + 1..])?,
                None => 0,
            };
            Some((
                y as u16, mo as u8, d as u8, h as u8, mi as u8, s as u8, us as u32,
            ))
        }
        _ => None,
    }
}

/// A TIME value in signed microseconds, typed or as `[-]h+:mm:ss[.ffffff]`.
pub(crate) fn time_of(value: &Value) -> Option<i64> {
    let (negative, h, mi, s, us) = match value {
        Value::Time(neg, days, h, mi, s, us) => (
            *neg,
            u64::from(*days) * 24 + u64::from(*h),
            u64::from(*mi),
            u64::from(*s),
            u64::from(*us),
        ),
        Value::Bytes(b) => {
            let negative = b.first() == Some(&b'-');
            let (clock, fraction) = match b.iter().position(|&c| c == b'.') {
                Some(dot) => (&b[..dot], micros(&b[dot + 1..])?),
                None => (&b[..], 0),
            };
            let mut runs = clock
                .split(|c| !c.is_ascii_digit())
                .filter(|r| !r.is_empty());
            let h = parse_small(runs.next()?)?;
            let mi = runs.next().map_or(Some(0), parse_small)?;
            let s = runs.next().map_or(Some(0), parse_small)?;
            (negative, h, mi, s, fraction)
        }
        _ => return None,
    };
    let total = h
        .checked_mul(3600)?
        .checked_add(mi * 60 + s)?
        .checked_mul(1_000_000)?
        .checked_add(us)?;
    let total = i64::try_from(total).ok()?;
    Some(if negative { -total } else { total })
}

fn parse_small(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
    })
}

/// Fraction digits as microseconds (`5` → 500000).
fn micros(fraction: &[u8]) -> Option<u64> {
    let digits = &fraction[..fraction.len().min(6)];
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = if digits.is_empty() {
        0
    } else {
        parse_small(digits)?
    };
    Some(n * 10u64.pow(6 - digits.len() as u32))
}

#[cfg(test)]
mod tests;
