//! Sharding values and the conversion of SQL values into them (algorithms.md,
//! "The canonical bytes of a value"): placement is defined on the value as the
//! column stores it, so `'042'` and `42.0` on an integer column both place as 42.

use std::borrow::Cow;
use std::fmt;

/// A value a sharding algorithm can place: the column's stored value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ShardingValue {
    /// A value of an integer column.
    Int(i64),
    /// A value of a string column: its bytes exactly as the client sent them.
    Str(Vec<u8>),
}

impl ShardingValue {
    /// The canonical bytes hashing algorithms place by: decimal ASCII text for
    /// an integer (`-7`, `0`, `42`), the bytes themselves for a string.
    pub fn canonical_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            ShardingValue::Int(i) => Cow::Owned(i.to_string().into_bytes()),
            ShardingValue::Str(bytes) => Cow::Borrowed(bytes),
        }
    }

    /// murmur3 (x86_32, seed 0) of the canonical bytes, without allocating.
    pub fn murmur3(&self) -> u32 {
        match self {
            ShardingValue::Int(i) => {
                let mut buffer = [0u8; 20];
                murmur3(decimal(*i, &mut buffer))
            }
            ShardingValue::Str(bytes) => murmur3(bytes),
        }
    }
}

impl fmt::Display for ShardingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardingValue::Int(i) => write!(f, "{i}"),
            ShardingValue::Str(bytes) => write!(f, "'{}'", String::from_utf8_lossy(bytes)),
        }
    }
}

/// MurmurHash3 x86_32 with seed 0, read as an unsigned 32-bit integer.
pub fn murmur3(bytes: &[u8]) -> u32 {
    // Reading from a byte slice cannot fail, so the I/O error never occurs.
    murmur3::murmur3_32(&mut &bytes[..], 0).unwrap_or_default()
}

/// Writes the decimal text of `value` into the end of `buffer` and returns it.
fn decimal(value: i64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut magnitude = value.unsigned_abs();
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        start -= 1;
        buffer[start] = b'-';
    }
    &buffer[start..]
}

/// A value as it appears in SQL: a literal or a bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// A signed integer literal or parameter.
    Int(i64),
    /// An unsigned integer parameter (may exceed `i64::MAX`).
    UInt(u64),
    /// An exact decimal literal as written, e.g. `42.0` or `-3.50`.
    Decimal(String),
    /// A floating-point literal or parameter.
    Float(f64),
    /// A string literal or parameter: the bytes the client sent.
    Str(Vec<u8>),
    /// SQL NULL.
    Null,
}

/// The type of a sharding column as the backend's table definition says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// TINYINT .. BIGINT (signed or unsigned).
    Integer,
    /// CHAR, VARCHAR, TEXT, BINARY, VARBINARY.
    String,
    /// The table definition was not read yet: use what the algorithm needs.
    Unknown,
}

/// What a sharding algorithm places, used when the column's kind is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueDomain {
    /// Integers only (`mod`, `range`).
    Integer,
    /// Any value, by its canonical bytes (`hash_mod`, `consistent_hash`).
    Bytes,
}

/// Where a value is used: a condition compares, an INSERT stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueUse {
    /// `col = v`, `col IN (...)`: MySQL compares, numbers numerically.
    Condition,
    /// An INSERT value: MySQL stores it converted to the column's type.
    Insert,
}

/// The outcome of converting a SQL value for placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conversion {
    /// The value the column holds, placed exactly.
    Exact(ShardingValue),
    /// Cannot be placed exactly: scatter a read, refuse a write.
    Inexact,
    /// SQL NULL: `col = NULL` matches nothing, an INSERT is refused.
    Null,
}

/// Converts `value` for a sharding column of kind `kind` placed by an
/// algorithm of domain `domain`.
pub fn convert(
    value: &SqlValue,
    kind: ColumnKind,
    domain: ValueDomain,
    usage: ValueUse,
) -> Conversion {
    let kind = match (kind, domain) {
        (ColumnKind::Unknown, ValueDomain::Integer) => ColumnKind::Integer,
        (kind, _) => kind,
    };
    match (kind, value) {
        (_, SqlValue::Null) => Conversion::Null,
        (ColumnKind::Integer, value) => integer(value, domain),
        (ColumnKind::String, SqlValue::Str(bytes)) => {
            Conversion::Exact(ShardingValue::Str(bytes.clone()))
        }
        // MySQL stores an integer into a string column as its decimal text,
        // but compares a number with a string column numerically.
        (ColumnKind::String, SqlValue::Int(i)) if usage == ValueUse::Insert => {
            Conversion::Exact(ShardingValue::Str(i.to_string().into_bytes()))
        }
        (ColumnKind::String, SqlValue::UInt(u)) if usage == ValueUse::Insert => {
            Conversion::Exact(ShardingValue::Str(u.to_string().into_bytes()))
        }
        (ColumnKind::String, _) => Conversion::Inexact,
        // Unknown column, any-value algorithm: integers as their decimal text,
        // strings as their bytes (the canonical bytes of both readings agree).
        (ColumnKind::Unknown, SqlValue::Int(i)) => Conversion::Exact(ShardingValue::Int(*i)),
        (ColumnKind::Unknown, SqlValue::UInt(u)) => unsigned(*u, ValueDomain::Bytes),
        (ColumnKind::Unknown, SqlValue::Str(bytes)) => {
            Conversion::Exact(ShardingValue::Str(bytes.clone()))
        }
        (ColumnKind::Unknown, _) => Conversion::Inexact,
    }
}

/// A value for an integer column.
fn integer(value: &SqlValue, domain: ValueDomain) -> Conversion {
    match value {
        SqlValue::Int(i) => Conversion::Exact(ShardingValue::Int(*i)),
        SqlValue::UInt(u) => unsigned(*u, domain),
        SqlValue::Decimal(text) => integer_text(text.as_bytes(), domain),
        SqlValue::Float(f) => float(*f),
        SqlValue::Str(bytes) => integer_text(bytes.trim_ascii(), domain),
        SqlValue::Null => Conversion::Null,
    }
}

/// An unsigned integer: above `i64::MAX` only hashing algorithms can place it,
/// by its decimal text (the same canonical bytes as an integer would have).
fn unsigned(value: u64, domain: ValueDomain) -> Conversion {
    match i64::try_from(value) {
        Ok(i) => Conversion::Exact(ShardingValue::Int(i)),
        Err(_) if domain == ValueDomain::Bytes => {
            Conversion::Exact(ShardingValue::Str(value.to_string().into_bytes()))
        }
        Err(_) => Conversion::Inexact,
    }
}

/// A float that holds an integer exactly is that integer.
fn float(value: f64) -> Conversion {
    // 2^63 as f64; every f64 strictly inside (-2^63, 2^63) with no fraction fits i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if value.fract() == 0.0 && value > -LIMIT && value < LIMIT {
        Conversion::Exact(ShardingValue::Int(value as i64))
    } else {
        Conversion::Inexact
    }
}

/// `[+-]digits[.zeros]`: an integer written as text or as an exact decimal.
fn integer_text(text: &[u8], domain: ValueDomain) -> Conversion {
    let (negative, unsigned_text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let (digits, fraction) = match unsigned_text.iter().position(|&b| b == b'.') {
        Some(dot) => (&unsigned_text[..dot], &unsigned_text[dot + 1..]),
        None => (unsigned_text, &[][..]),
    };
    let all_digits = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
    let zero_fraction = fraction.iter().all(|&b| b == b'0');
    if !all_digits || !zero_fraction {
        return Conversion::Inexact;
    }
    let mut magnitude: u128 = 0;
    for &digit in digits {
        magnitude = magnitude * 10 + u128::from(digit - b'0');
        if magnitude > u128::from(u64::MAX) {
            return Conversion::Inexact;
        }
    }
    let signed = if negative {
        -(magnitude as i128)
    } else {
        magnitude as i128
    };
    match i64::try_from(signed) {
        Ok(i) => Conversion::Exact(ShardingValue::Int(i)),
        Err(_) if !negative => match u64::try_from(magnitude) {
            Ok(u) => unsigned(u, domain),
            Err(_) => Conversion::Inexact,
        },
        Err(_) => Conversion::Inexact,
    }
}

#[cfg(test)]
mod tests;
