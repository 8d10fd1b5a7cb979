//! HAVING on merged groups: SQL's three-valued logic and MySQL's comparison
//! rules — numbers numerically (exactly when both sides are exact), strings
//! byte by byte, a string against a number as doubles.

use super::compare::{natural, Comparator};
use super::number::{
    big_to_f64, float_of, text_bytes, Exact, DIV_SCALE_INCREMENT, MAX_DECIMAL_SCALE,
};
use super::spec::{ArithOp, CompareOp, Expr, Literal};
use crate::error::Error;
use bigdecimal::{RoundingMode, Zero};
use mysql_common::packets::Column;
use mysql_common::value::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// A HAVING condition bound to the unit result's column types.
#[derive(Debug, Clone)]
pub(crate) struct Having {
    /// The condition.
    expr: Expr,
    /// How each column's values read: as numbers or as text.
    kinds: Vec<Comparator>,
    /// Each column's scale (its decimals), which a DECIMAL value has even
    /// when printed shorter: MySQL's arithmetic follows the type's scale.
    scales: Vec<u32>,
}

/// A value during evaluation.
#[derive(Debug, Clone)]
pub(super) enum Scalar<'a> {
    Null,
    Exact(Exact),
    Double(f64),
    Text(Cow<'a, [u8]>),
}

impl Having {
    /// Binds `expr` to `columns`, checking every column it names exists.
    pub fn new(expr: &Expr, columns: &[Column]) -> Result<Having, Error> {
        check_columns(expr, columns.len())?;
        let kinds: Vec<Comparator> = columns.iter().map(natural).collect();
        if !numeric_arithmetic(expr, &kinds) {
            // MySQL's arithmetic on dates and strings reads them as numbers
            // in ways the merge does not reproduce.
            return Err(Error::not_supported(
                "arithmetic over merged values that are not numbers (dates, strings) across data nodes",
            ));
        }
        Ok(Having {
            expr: expr.clone(),
            kinds,
            scales: columns.iter().map(|c| u32::from(c.decimals())).collect(),
        })
    }

    /// Whether the merged row satisfies the condition (NULL does not).
    pub fn accepts(&self, row: &[Value]) -> bool {
        truth(&self.eval(&self.expr, row)) == Some(true)
    }

    /// The condition's value on the merged row (for computed columns).
    pub(super) fn value<'a>(&'a self, row: &'a [Value]) -> Scalar<'a> {
        self.eval(&self.expr, row)
    }

    /// `value` of column `column` with at least the column's scale.
    fn with_type_scale(&self, value: Exact, column: usize) -> Exact {
        let scale = self.scales.get(column).copied().unwrap_or(0);
        match value {
            Exact::Small {
                unscaled,
                scale: own,
            } if own < scale && scale <= MAX_DECIMAL_SCALE => {
                match 10i128
                    .checked_pow(scale - own)
                    .and_then(|p| unscaled.checked_mul(p))
                {
                    Some(unscaled) => Exact::Small { unscaled, scale },
                    None => Exact::Big(value.to_big().with_scale(i64::from(scale))),
                }
            }
            other => other,
        }
    }

    fn eval<'a>(&'a self, expr: &'a Expr, row: &'a [Value]) -> Scalar<'a> {
        match expr {
            Expr::Column(i) => match (row.get(*i), self.kinds.get(*i)) {
                (None | Some(Value::NULL), _) => Scalar::Null,
                (Some(v), Some(Comparator::Int | Comparator::Decimal)) => match Exact::of(v) {
                    Some(e) => Scalar::Exact(self.with_type_scale(e, *i)),
                    None => float_of(v).map_or(Scalar::Null, Scalar::Double),
                },
                (Some(v), Some(Comparator::Float)) => {
                    float_of(v).map_or(Scalar::Null, Scalar::Double)
                }
                (Some(v), _) => Scalar::Text(text_bytes(v)),
            },
            Expr::Literal(literal) => match literal {
                Literal::Null => Scalar::Null,
                Literal::Int(i) => {
                    Scalar::Exact(Exact::of(&Value::Int(*i)).unwrap_or_else(Exact::zero))
                }
                Literal::Decimal(text) => match Exact::parse(text.as_bytes()) {
                    Some(e) => Scalar::Exact(e),
                    None => Scalar::Double(lenient_f64(text.as_bytes())),
                },
                Literal::Double(f) => Scalar::Double(*f),
                Literal::String(s) => Scalar::Text(Cow::Borrowed(s.as_bytes())),
            },
            Expr::Compare(op, left, right) => {
                let (l, r) = (self.eval(left, row), self.eval(right, row));
                compare(*op, &l, &r)
            }
            Expr::Arithmetic(op, left, right) => {
                arithmetic(*op, self.eval(left, row), self.eval(right, row))
            }
            Expr::And(left, right) => {
                let l = truth(&self.eval(left, row));
                if l == Some(false) {
                    return boolean(false);
                }
                match (l, truth(&self.eval(right, row))) {
                    (_, Some(false)) => boolean(false),
                    (Some(true), Some(true)) => boolean(true),
                    _ => Scalar::Null,
                }
            }
            Expr::Or(left, right) => {
                let l = truth(&self.eval(left, row));
                if l == Some(true) {
                    return boolean(true);
                }
                match (l, truth(&self.eval(right, row))) {
                    (_, Some(true)) => boolean(true),
                    (Some(false), Some(false)) => boolean(false),
                    _ => Scalar::Null,
                }
            }
            Expr::Not(inner) => truth(&self.eval(inner, row)).map_or(Scalar::Null, |t| boolean(!t)),
            Expr::IsNull(inner) => boolean(matches!(self.eval(inner, row), Scalar::Null)),
        }
    }
}

/// Whether every operand of arithmetic in `expr` is a number.
fn numeric_arithmetic(expr: &Expr, kinds: &[Comparator]) -> bool {
    let number = |e: &Expr| match e {
        Expr::Column(i) => matches!(
            kinds.get(*i),
            Some(Comparator::Int | Comparator::Decimal | Comparator::Float)
        ),
        Expr::Literal(Literal::String(_)) => false,
        _ => true,
    };
    match expr {
        Expr::Column(_) | Expr::Literal(_) => true,
        Expr::Arithmetic(_, l, r) => {
            number(l) && number(r) && numeric_arithmetic(l, kinds) && numeric_arithmetic(r, kinds)
        }
        Expr::Compare(_, l, r) | Expr::And(l, r) | Expr::Or(l, r) => {
            numeric_arithmetic(l, kinds) && numeric_arithmetic(r, kinds)
        }
        Expr::Not(e) | Expr::IsNull(e) => numeric_arithmetic(e, kinds),
    }
}

fn check_columns(expr: &Expr, width: usize) -> Result<(), Error> {
    match expr {
        Expr::Column(i) if *i >= width => Err(Error::internal(format!(
            "merge: HAVING names column #{i}, the unit result has {width}"
        ))),
        Expr::Column(_) | Expr::Literal(_) => Ok(()),
        Expr::Compare(_, l, r) | Expr::Arithmetic(_, l, r) | Expr::And(l, r) | Expr::Or(l, r) => {
            check_columns(l, width)?;
            check_columns(r, width)
        }
        Expr::Not(e) | Expr::IsNull(e) => check_columns(e, width),
    }
}

fn boolean(b: bool) -> Scalar<'static> {
    Scalar::Exact(Exact::Small {
        unscaled: i128::from(b),
        scale: 0,
    })
}

fn truth(value: &Scalar<'_>) -> Option<bool> {
    match value {
        Scalar::Null => None,
        Scalar::Exact(e) => Some(!e.is_zero()),
        Scalar::Double(f) => Some(*f != 0.0),
        Scalar::Text(t) => Some(lenient_f64(t) != 0.0),
    }
}

fn compare(op: CompareOp, l: &Scalar<'_>, r: &Scalar<'_>) -> Scalar<'static> {
    let order = match (l, r) {
        (Scalar::Null, Scalar::Null) if op == CompareOp::NullSafeEq => return boolean(true),
        (Scalar::Null, _) | (_, Scalar::Null) if op == CompareOp::NullSafeEq => {
            return boolean(false)
        }
        (Scalar::Null, _) | (_, Scalar::Null) => return Scalar::Null,
        (Scalar::Exact(a), Scalar::Exact(b)) => a.to_big().cmp(&b.to_big()),
        (Scalar::Text(a), Scalar::Text(b)) => a.cmp(b),
        _ => {
            let (a, b) = (as_f64(l), as_f64(r));
            a.partial_cmp(&b).unwrap_or(Ordering::Equal)
        }
    };
    boolean(match op {
        CompareOp::Eq | CompareOp::NullSafeEq => order == Ordering::Equal,
        CompareOp::Ne => order != Ordering::Equal,
        CompareOp::Lt => order == Ordering::Less,
        CompareOp::Le => order != Ordering::Greater,
        CompareOp::Gt => order == Ordering::Greater,
        CompareOp::Ge => order != Ordering::Less,
    })
}

fn arithmetic(op: ArithOp, l: Scalar<'_>, r: Scalar<'_>) -> Scalar<'static> {
    match (l, r) {
        (Scalar::Null, _) | (_, Scalar::Null) => Scalar::Null,
        (Scalar::Exact(a), Scalar::Exact(b)) => {
            let (a, b) = (a.to_big(), b.to_big());
            let result = match op {
                ArithOp::Add => a + b,
                ArithOp::Sub => a - b,
                ArithOp::Mul => a * b,
                ArithOp::Div if b.is_zero() => return Scalar::Null,
                ArithOp::Div => {
                    // MySQL divides to whole 9-digit words past the scale
                    // both operands and the increment add up to, and drops
                    // the rest; the result's type rounds it when printed.
                    let digits = a.fractional_digit_count().max(0) as u32
                        + b.fractional_digit_count().max(0) as u32
                        + DIV_SCALE_INCREMENT;
                    let scale = digits.div_ceil(9) * 9;
                    (a / b).with_scale_round(i64::from(scale), RoundingMode::Down)
                }
            };
            Scalar::Exact(Exact::Big(result))
        }
        (l, r) => {
            let (a, b) = (as_f64(&l), as_f64(&r));
            match op {
                ArithOp::Add => Scalar::Double(a + b),
                ArithOp::Sub => Scalar::Double(a - b),
                ArithOp::Mul => Scalar::Double(a * b),
                ArithOp::Div if b == 0.0 => Scalar::Null,
                ArithOp::Div => Scalar::Double(a / b),
            }
        }
    }
}

pub(super) fn as_f64(value: &Scalar<'_>) -> f64 {
    match value {
        Scalar::Null => 0.0,
        Scalar::Exact(Exact::Big(b)) => big_to_f64(b),
        Scalar::Exact(e) => e.to_f64(),
        Scalar::Double(f) => *f,
        Scalar::Text(t) => lenient_f64(t),
    }
}

/// A string read as a number the way MySQL reads it: its longest numeric
/// prefix (`"12abc"` → 12), 0 when there is none.
fn lenient_f64(text: &[u8]) -> f64 {
    let text = std::str::from_utf8(text).unwrap_or("");
    let text = text.trim_start();
    let end = text
        .char_indices()
        .take_while(|(_, c)| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
        .last()
        .map_or(0, |(i, c)| i + c.len_utf8());
    (1..=end)
        .rev()
        .find_map(|n| text[..n].parse::<f64>().ok())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests;
