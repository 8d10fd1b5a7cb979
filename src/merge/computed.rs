//! Expressions over aggregates (`SUM(a) / COUNT(*)`, `COUNT(*) + 1`,
//! `MAX(a) - MIN(a)`, ORDER BY such an expression): evaluated on each merged
//! group from its merged aggregates with MySQL's arithmetic (exact for
//! integers and DECIMAL, division to the dividend's scale + 4, NULL for
//! NULL operands and division by zero, doubles otherwise), and printed in
//! the column's type, which the units' own value of the expression carried:
//! DECIMAL rounded half away from zero to the column's scale, integers,
//! doubles as the server prints them.

use super::eval::{as_f64, failed, Scalar};
use super::having::Having;
use super::number::{format_double, Exact};
use super::spec::ComputedColumn;
use crate::error::Error;
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;

/// One computed column, bound to the unit result's column types.
#[derive(Debug, Clone)]
pub(crate) struct Computed {
    /// The column it fills.
    column: usize,
    /// The expression, read like a HAVING condition.
    expr: Having,
    /// How the result prints.
    output: Output,
}

/// The printed type of a computed column.
#[derive(Debug, Clone, Copy)]
enum Output {
    /// DECIMAL with this scale.
    Decimal(u32),
    /// An integer type.
    Integer,
    /// DOUBLE / FLOAT with the column's decimals.
    Double(u8),
    /// Anything else: the value's own text.
    Text,
}

impl Computed {
    /// Binds `computed` to the unit result's `columns`.
    /// `exact_averages` are the columns of AVGs of exact values, whose
    /// value inside MySQL has more digits than it prints: refused as operands.
    pub fn new(
        computed: &ComputedColumn,
        columns: &[Column],
        exact_averages: &[usize],
    ) -> Result<Computed, Error> {
        let mut uses_average = false;
        computed
            .expr
            .clone()
            .columns_mut(&mut |c| uses_average |= exact_averages.contains(c));
        if uses_average {
            return Err(Error::not_supported(
                "AVG of exact values inside an expression across data nodes",
            ));
        }
        let column = columns.get(computed.column).ok_or_else(|| {
            Error::internal(format!(
                "merge: computed column #{} is not in the unit result",
                computed.column
            ))
        })?;
        let output = match column.column_type() {
            ColumnType::MYSQL_TYPE_NEWDECIMAL | ColumnType::MYSQL_TYPE_DECIMAL => {
                Output::Decimal(u32::from(column.decimals()))
            }
            ColumnType::MYSQL_TYPE_TINY
            | ColumnType::MYSQL_TYPE_SHORT
            | ColumnType::MYSQL_TYPE_INT24
            | ColumnType::MYSQL_TYPE_LONG
            | ColumnType::MYSQL_TYPE_LONGLONG => Output::Integer,
            ColumnType::MYSQL_TYPE_DOUBLE | ColumnType::MYSQL_TYPE_FLOAT => {
                Output::Double(column.decimals())
            }
            _ => Output::Text,
        };
        Ok(Computed {
            column: computed.column,
            expr: Having::new(&computed.expr, columns)?,
            output,
        })
    }

    /// Replaces the column's value in the merged row `row`.
    pub fn fill(&self, row: &mut [Value]) -> Result<(), Error> {
        let value = self.expr.value(row);
        if failed(&value) {
            return Err(out_of_range());
        }
        let value = print(&value, self.output);
        if let Some(slot) = row.get_mut(self.column) {
            *slot = value;
        }
        Ok(())
    }
}

/// MySQL's error for an integer result past BIGINT.
pub(super) fn out_of_range() -> Error {
    Error::new(
        1690,
        "22003",
        "BIGINT value is out of range in a DIV over merged aggregates",
        crate::error::Origin::Client,
    )
}

/// `value` printed as `output`.
fn print(value: &Scalar<'_>, output: Output) -> Value {
    let text = match (value, output) {
        (Scalar::Null | Scalar::OutOfRange, _) => return Value::NULL,
        (Scalar::Exact(e), Output::Decimal(scale)) => e.format(scale),
        (Scalar::Exact(e), Output::Integer) => e.format(0),
        (Scalar::Exact(e), Output::Text) => match e {
            Exact::Small { scale, .. } => e.format(*scale),
            Exact::Big(b) => b.to_plain_string(),
        },
        (Scalar::Text(t), Output::Text) => return Value::Bytes(t.to_vec()),
        (v, Output::Double(decimals)) => format_double(as_f64(v), decimals),
        (v, Output::Decimal(scale)) => format!("{:.*}", scale as usize, as_f64(v)),
        (v, Output::Integer) => format!("{:.0}", as_f64(v)),
        (v, Output::Text) => format_double(as_f64(v), NOT_FIXED),
    };
    Value::Bytes(text.into_bytes())
}

/// MySQL's "no fixed number of decimals" (shortest round-trip digits).
const NOT_FIXED: u8 = 31;

#[cfg(test)]
mod tests {
    use super::{print, Output, Scalar};
    use crate::merge::number::Exact;
    use mysql_common::value::Value;

    fn text(v: Value) -> String {
        match v {
            Value::Bytes(b) => String::from_utf8(b).unwrap(),
            Value::NULL => "NULL".into(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn prints_in_the_column_type() {
        let e = |t: &str| Scalar::Exact(Exact::parse(t.as_bytes()).unwrap());
        assert_eq!(text(print(&e("2.00005"), Output::Decimal(4))), "2.0001");
        assert_eq!(text(print(&e("-2.00005"), Output::Decimal(4))), "-2.0001");
        assert_eq!(text(print(&e("7"), Output::Decimal(2))), "7.00");
        assert_eq!(text(print(&e("42"), Output::Integer)), "42");
        assert_eq!(
            text(print(&Scalar::Double(0.1 + 0.2), Output::Double(31))),
            "0.30000000000000004"
        );
        assert_eq!(text(print(&Scalar::Null, Output::Integer)), "NULL");
    }
}
