//! Values on the wire: COM_STMT_EXECUTE parameters in, result rows out (text
//! and binary protocol). mysql_common's own `Value` serializer writes every
//! integer as 8 bytes, so binary rows are encoded here per column type.

use super::wire::{put_lenenc_bytes, Reader, Truncated};
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;

/// Reads one binary-protocol parameter of `column_type` (`unsigned` from the
/// type's flag byte).
pub fn read_binary_param(
    r: &mut Reader<'_>,
    column_type: ColumnType,
    unsigned: bool,
) -> Result<Value, Truncated> {
    use ColumnType::*;
    let value = match column_type {
        MYSQL_TYPE_NULL => Value::NULL,
        MYSQL_TYPE_TINY => {
            let b = r.u8()?;
            if unsigned {
                Value::UInt(b as u64)
            } else {
                Value::Int(b as i8 as i64)
            }
        }
        MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => {
            let v = r.u16()?;
            if unsigned {
                Value::UInt(v as u64)
            } else {
                Value::Int(v as i16 as i64)
            }
        }
        MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => {
            let v = r.u32()?;
            if unsigned {
                Value::UInt(v as u64)
            } else {
                Value::Int(v as i32 as i64)
            }
        }
        MYSQL_TYPE_LONGLONG => {
            let v = r.u64()?;
            if unsigned {
                Value::UInt(v)
            } else {
                Value::Int(v as i64)
            }
        }
        MYSQL_TYPE_FLOAT => Value::Float(f32::from_bits(r.u32()?)),
        MYSQL_TYPE_DOUBLE => Value::Double(f64::from_bits(r.u64()?)),
        MYSQL_TYPE_DATE
        | MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP2
        | MYSQL_TYPE_NEWDATE => {
            let len = r.u8()?;
            let mut f = Reader::new(r.take(len as usize)?);
            let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut us) = (0, 0, 0, 0, 0, 0, 0);
            if len >= 4 {
                y = f.u16()?;
                mo = f.u8()?;
                d = f.u8()?;
            }
            if len >= 7 {
                h = f.u8()?;
                mi = f.u8()?;
                s = f.u8()?;
            }
            if len >= 11 {
                us = f.u32()?;
            }
            Value::Date(y, mo, d, h, mi, s, us)
        }
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => {
            let len = r.u8()?;
            let mut f = Reader::new(r.take(len as usize)?);
            let (mut neg, mut days, mut h, mut mi, mut s, mut us) = (false, 0, 0, 0, 0, 0);
            if len >= 8 {
                neg = f.u8()? == 1;
                days = f.u32()?;
                h = f.u8()?;
                mi = f.u8()?;
                s = f.u8()?;
            }
            if len >= 12 {
                us = f.u32()?;
            }
            Value::Time(neg, days, h, mi, s, us)
        }
        _ => Value::Bytes(r.lenenc_bytes()?.to_vec()),
    };
    Ok(value)
}

/// Appends a text-protocol row.
pub fn put_text_row(out: &mut Vec<u8>, values: &[Value]) {
    for value in values {
        match value {
            Value::NULL => out.push(0xfb),
            Value::Bytes(b) => put_lenenc_bytes(out, b),
            other => put_lenenc_bytes(out, text_of(other).as_bytes()),
        }
    }
}

/// The text-protocol form of a typed value.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::NULL => String::new(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Date(y, mo, d, h, mi, s, us) => {
            if *us > 0 {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let sign = if *neg { "-" } else { "" };
            let hours = *days as u64 * 24 + *h as u64;
            if *us > 0 {
                format!("{sign}{hours:02}:{mi:02}:{s:02}.{us:06}")
            } else {
                format!("{sign}{hours:02}:{mi:02}:{s:02}")
            }
        }
    }
}

/// Appends a binary-protocol row: header, NULL bitmap (offset 2), values
/// encoded for each column's type.
pub fn put_binary_row(out: &mut Vec<u8>, values: &[Value], columns: &[Column]) {
    out.push(0x00);
    let bitmap_at = out.len();
    out.resize(bitmap_at + (values.len() + 7 + 2) / 8, 0);
    for (i, value) in values.iter().enumerate() {
        if matches!(value, Value::NULL) {
            let bit = i + 2;
            out[bitmap_at + bit / 8] |= 1 << (bit % 8);
            continue;
        }
        let column_type = columns
            .get(i)
            .map(|c| c.column_type())
            .unwrap_or(ColumnType::MYSQL_TYPE_VAR_STRING);
        put_binary_value(out, value, column_type);
    }
}

fn int_bits(value: &Value) -> Option<u64> {
    match value {
        Value::Int(i) => Some(*i as u64),
        Value::UInt(u) => Some(*u),
        Value::Bytes(b) => {
            let s = std::str::from_utf8(b).ok()?.trim();
            s.parse::<i64>()
                .map(|i| i as u64)
                .or_else(|_| s.parse::<u64>())
                .ok()
        }
        _ => None,
    }
}

fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::Float(f) => Some(*f as f64),
        Value::Double(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        Value::UInt(u) => Some(*u as f64),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
        _ => None,
    }
}

fn put_binary_value(out: &mut Vec<u8>, value: &Value, column_type: ColumnType) {
    use ColumnType::*;
    match column_type {
        MYSQL_TYPE_TINY => out.push(int_bits(value).unwrap_or(0) as u8),
        MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => {
            out.extend_from_slice(&(int_bits(value).unwrap_or(0) as u16).to_le_bytes())
        }
        MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => {
            out.extend_from_slice(&(int_bits(value).unwrap_or(0) as u32).to_le_bytes())
        }
        MYSQL_TYPE_LONGLONG => out.extend_from_slice(&int_bits(value).unwrap_or(0).to_le_bytes()),
        MYSQL_TYPE_FLOAT => {
            out.extend_from_slice(&(float_of(value).unwrap_or(0.0) as f32).to_le_bytes())
        }
        MYSQL_TYPE_DOUBLE => out.extend_from_slice(&float_of(value).unwrap_or(0.0).to_le_bytes()),
        MYSQL_TYPE_DATE
        | MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP2
        | MYSQL_TYPE_NEWDATE => match value {
            Value::Date(y, mo, d, h, mi, s, us) => {
                let len = if *us != 0 {
                    11
                } else if *h != 0 || *mi != 0 || *s != 0 {
                    7
                } else if *y != 0 || *mo != 0 || *d != 0 {
                    4
                } else {
                    0
                };
                out.push(len);
                if len >= 4 {
                    out.extend_from_slice(&y.to_le_bytes());
                    out.push(*mo);
                    out.push(*d);
                }
                if len >= 7 {
                    out.extend_from_slice(&[*h, *mi, *s]);
                }
                if len == 11 {
                    out.extend_from_slice(&us.to_le_bytes());
                }
            }
            _ => out.push(0),
        },
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => match value {
            Value::Time(neg, days, h, mi, s, us) => {
                let len = if *us != 0 {
                    12
                } else if *days != 0 || *h != 0 || *mi != 0 || *s != 0 {
                    8
                } else {
                    0
                };
                out.push(len);
                if len >= 8 {
                    out.push(u8::from(*neg));
                    out.extend_from_slice(&days.to_le_bytes());
                    out.extend_from_slice(&[*h, *mi, *s]);
                }
                if len == 12 {
                    out.extend_from_slice(&us.to_le_bytes());
                }
            }
            _ => out.push(0),
        },
        _ => match value {
            Value::Bytes(b) => put_lenenc_bytes(out, b),
            other => put_lenenc_bytes(out, text_of(other).as_bytes()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(t: ColumnType) -> Column {
        Column::new(t)
    }

    #[test]
    fn binary_row_widths_follow_column_types() {
        let columns = [
            col(ColumnType::MYSQL_TYPE_TINY),
            col(ColumnType::MYSQL_TYPE_LONG),
            col(ColumnType::MYSQL_TYPE_VAR_STRING),
            col(ColumnType::MYSQL_TYPE_LONGLONG),
        ];
        let mut out = Vec::new();
        put_binary_row(
            &mut out,
            &[
                Value::Int(-1),
                Value::Int(7),
                Value::NULL,
                Value::Bytes(b"x".to_vec()),
            ],
            &columns,
        );
        // header, bitmap (1 byte: column 2 -> bit 4), tiny, long, (null), longlong parsed from text
        assert_eq!(
            out,
            vec![0, 0b0001_0000, 0xff, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn params_round_trip_dates_and_times() {
        let date = [11u8, 0xe8, 0x07, 2, 29, 23, 59, 58, 1, 0, 0, 0];
        assert_eq!(
            read_binary_param(
                &mut Reader::new(&date),
                ColumnType::MYSQL_TYPE_DATETIME,
                false
            ),
            Ok(Value::Date(2024, 2, 29, 23, 59, 58, 1))
        );
        let mut out = Vec::new();
        put_binary_value(
            &mut out,
            &Value::Date(2024, 2, 29, 23, 59, 58, 1),
            ColumnType::MYSQL_TYPE_DATETIME,
        );
        assert_eq!(out, date);
        let time = [8u8, 1, 2, 0, 0, 0, 3, 4, 5];
        assert_eq!(
            read_binary_param(&mut Reader::new(&time), ColumnType::MYSQL_TYPE_TIME, false),
            Ok(Value::Time(true, 2, 3, 4, 5, 0))
        );
    }

    #[test]
    fn truncated_params_are_errors() {
        assert!(
            read_binary_param(&mut Reader::new(&[1]), ColumnType::MYSQL_TYPE_LONG, false).is_err()
        );
        assert!(read_binary_param(
            &mut Reader::new(&[11, 1]),
            ColumnType::MYSQL_TYPE_DATETIME,
            false
        )
        .is_err());
        assert_eq!(
            read_binary_param(&mut Reader::new(&[0xff]), ColumnType::MYSQL_TYPE_TINY, true),
            Ok(Value::UInt(255))
        );
    }
}
