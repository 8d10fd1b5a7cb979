//! The evaluator of merge expressions ([`Expr`]) on a merged group's row,
//! with MySQL's semantics: three-valued logic; exact arithmetic for integers
//! and DECIMAL (the type's scale, division to 9-digit words past the
//! dividend's scale + 4, truncated), doubles otherwise; NULL for NULL
//! operands and division by zero; `DIV` truncating, `MOD` with the
//! dividend's sign; ROUND half away from zero for exact values and half to
//! even (`rint`) for doubles; numbers printed in a string context at their
//! type's scale. HAVING conditions and computed columns both use it.

use super::compare::Comparator;
use super::number::{
    big_to_f64, float_of, format_double, text_bytes, Exact, DIV_SCALE_INCREMENT, MAX_DECIMAL_SCALE,
    NOT_FIXED_DECIMALS,
};
use super::spec::{ArithOp, CompareOp, Expr, Function, Literal};
use bigdecimal::{BigDecimal, RoundingMode, Zero};
use mysql_common::value::Value;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::str::FromStr;

/// A value during evaluation.
#[derive(Debug, Clone)]
pub(super) enum Scalar<'a> {
    Null,
    Exact(Exact),
    Double(f64),
    Text(Cow<'a, [u8]>),
    /// An integer result past BIGINT (`DIV`): MySQL's error 1690, which
    /// every expression over it passes on.
    OutOfRange,
}

/// The smallest and largest BIGINT, the range of `DIV`.
const BIGINT: (i128, i128) = (i64::MIN as i128, u64::MAX as i128);

/// What the evaluator knows of the unit result's columns.
#[derive(Debug, Clone)]
pub(super) struct Evaluator {
    /// How each column's values read: as numbers or as text.
    pub(super) kinds: Vec<Comparator>,
    /// Each column's scale (its decimals), which a DECIMAL value has even
    /// when printed shorter: MySQL's arithmetic follows the type's scale.
    pub(super) scales: Vec<u32>,
}

impl Evaluator {
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

    /// `expr`'s value on the merged row `row`.
    pub(super) fn eval<'a>(&'a self, expr: &'a Expr, row: &'a [Value]) -> Scalar<'a> {
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
            Expr::Literal(literal) => literal_value(literal),
            Expr::Compare(op, left, right) => {
                let (l, r) = (self.eval(left, row), self.eval(right, row));
                compare(*op, &l, &r)
            }
            Expr::Arithmetic(op, left, right) => {
                arithmetic(*op, self.eval(left, row), self.eval(right, row))
            }
            Expr::And(left, right) => {
                let (l, r) = (self.eval(left, row), self.eval(right, row));
                if failed(&l) || failed(&r) {
                    return Scalar::OutOfRange;
                }
                match (truth(&l), truth(&r)) {
                    (Some(false), _) | (_, Some(false)) => boolean(false),
                    (Some(true), Some(true)) => boolean(true),
                    _ => Scalar::Null,
                }
            }
            Expr::Or(left, right) => {
                let (l, r) = (self.eval(left, row), self.eval(right, row));
                if failed(&l) || failed(&r) {
                    return Scalar::OutOfRange;
                }
                match (truth(&l), truth(&r)) {
                    (Some(true), _) | (_, Some(true)) => boolean(true),
                    (Some(false), Some(false)) => boolean(false),
                    _ => Scalar::Null,
                }
            }
            Expr::Not(inner) => match self.eval(inner, row) {
                Scalar::OutOfRange => Scalar::OutOfRange,
                v => truth(&v).map_or(Scalar::Null, |t| boolean(!t)),
            },
            Expr::IsNull(inner) => match self.eval(inner, row) {
                Scalar::OutOfRange => Scalar::OutOfRange,
                v => boolean(matches!(v, Scalar::Null)),
            },
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (when, then) in branches {
                    match self.eval(when, row) {
                        Scalar::OutOfRange => return Scalar::OutOfRange,
                        v if truth(&v) == Some(true) => return self.eval(then, row),
                        _ => {}
                    }
                }
                otherwise
                    .as_ref()
                    .map_or(Scalar::Null, |e| self.eval(e, row))
            }
            Expr::Function(function, args) => self.function(*function, args, row),
        }
    }

    fn function<'a>(
        &'a self,
        function: Function,
        args: &'a [Expr],
        row: &'a [Value],
    ) -> Scalar<'a> {
        let arg = |i: usize| args.get(i).map_or(Scalar::Null, |e| self.eval(e, row));
        match function {
            Function::Round | Function::Truncate => {
                let digits = match args.get(1) {
                    None => Some(0),
                    Some(d) => digits_of(&self.eval(d, row)),
                };
                match (arg(0), digits) {
                    (Scalar::OutOfRange, _) => Scalar::OutOfRange,
                    (Scalar::Null, _) | (_, None) => Scalar::Null,
                    (Scalar::Exact(e), Some(d)) => {
                        let mode = if function == Function::Round {
                            RoundingMode::HalfUp
                        } else {
                            RoundingMode::Down
                        };
                        // A scale past the value's own adds nothing.
                        let own = e.to_big().fractional_digit_count();
                        if d >= own {
                            Scalar::Exact(e)
                        } else {
                            Scalar::Exact(Exact::Big(e.to_big().with_scale_round(d, mode)))
                        }
                    }
                    (v, Some(d)) => {
                        Scalar::Double(double_round(as_f64(&v), d, function == Function::Truncate))
                    }
                }
            }
            Function::Abs => match arg(0) {
                Scalar::Exact(e) => Scalar::Exact(Exact::Big(e.to_big().abs())),
                Scalar::Null => Scalar::Null,
                Scalar::OutOfRange => Scalar::OutOfRange,
                v => Scalar::Double(as_f64(&v).abs()),
            },
            Function::Sqrt => match arg(0) {
                Scalar::Null => Scalar::Null,
                Scalar::OutOfRange => Scalar::OutOfRange,
                v => match as_f64(&v) {
                    x if x < 0.0 => Scalar::Null,
                    x => Scalar::Double(x.sqrt()),
                },
            },
            Function::Coalesce => args
                .iter()
                .map(|e| self.eval(e, row))
                .find(|v| !matches!(v, Scalar::Null))
                .unwrap_or(Scalar::Null),
            Function::If => match arg(0) {
                Scalar::OutOfRange => Scalar::OutOfRange,
                c if truth(&c) == Some(true) => arg(1),
                _ => arg(2),
            },
            Function::Concat => {
                let mut text = Vec::new();
                for e in args {
                    let v = self.eval(e, row);
                    if failed(&v) {
                        return Scalar::OutOfRange;
                    }
                    match string_of(&v, self.scale_of(e)) {
                        None => return Scalar::Null,
                        Some(t) => text.extend_from_slice(&t),
                    }
                }
                Scalar::Text(Cow::Owned(text))
            }
        }
    }

    /// The scale of `expr`'s type, as MySQL derives it, where it is exact:
    /// how it prints in a string context.
    pub(super) fn scale_of(&self, expr: &Expr) -> Option<u32> {
        match expr {
            Expr::Column(i) => match self.kinds.get(*i) {
                Some(Comparator::Int) => Some(0),
                Some(Comparator::Decimal) => self.scales.get(*i).copied(),
                _ => None,
            },
            Expr::Literal(Literal::Int(_)) => Some(0),
            Expr::Literal(Literal::Decimal(text)) => {
                Some(text.split_once('.').map_or(0, |(_, f)| f.len() as u32))
            }
            Expr::Literal(_) => None,
            Expr::Compare(..) | Expr::And(..) | Expr::Or(..) | Expr::Not(_) | Expr::IsNull(_) => {
                Some(0)
            }
            Expr::Arithmetic(op, l, r) => {
                let (a, b) = (self.scale_of(l)?, self.scale_of(r)?);
                Some(match op {
                    ArithOp::Add | ArithOp::Sub | ArithOp::Mod => a.max(b),
                    ArithOp::Mul => a + b,
                    ArithOp::Div => a + DIV_SCALE_INCREMENT,
                    ArithOp::IntDiv => 0,
                })
            }
            Expr::Case {
                branches,
                otherwise,
            } => {
                let mut scale = 0;
                for e in branches.iter().map(|(_, t)| t).chain(otherwise.as_deref()) {
                    if !matches!(e, Expr::Literal(Literal::Null)) {
                        scale = scale.max(self.scale_of(e)?);
                    }
                }
                Some(scale)
            }
            Expr::Function(function, args) => match function {
                Function::Round | Function::Truncate => match args.get(1) {
                    None => Some(0),
                    Some(Expr::Literal(Literal::Int(d))) => {
                        let own = self.scale_of(args.first()?)?;
                        Some(own.min(u32::try_from(*d).unwrap_or(0)))
                    }
                    Some(_) => None,
                },
                Function::Abs => self.scale_of(args.first()?),
                Function::Coalesce | Function::If => {
                    let values = if *function == Function::If {
                        args.get(1..).unwrap_or(&[])
                    } else {
                        args
                    };
                    let mut scale = 0;
                    for e in values {
                        if !matches!(e, Expr::Literal(Literal::Null)) {
                            scale = scale.max(self.scale_of(e)?);
                        }
                    }
                    Some(scale)
                }
                Function::Concat | Function::Sqrt => None,
            },
        }
    }
}

fn literal_value(literal: &Literal) -> Scalar<'_> {
    match literal {
        Literal::Null => Scalar::Null,
        Literal::Int(i) => Scalar::Exact(Exact::of(&Value::Int(*i)).unwrap_or_else(Exact::zero)),
        Literal::Decimal(text) => match Exact::parse(text.as_bytes()) {
            Some(e) => Scalar::Exact(e),
            None => Scalar::Double(lenient_f64(text.as_bytes())),
        },
        Literal::Double(f) => Scalar::Double(*f),
        Literal::String(s) => Scalar::Text(Cow::Borrowed(s.as_bytes())),
    }
}

/// The digits argument of ROUND / TRUNCATE, as MySQL reads it (an integer).
fn digits_of(value: &Scalar<'_>) -> Option<i64> {
    match value {
        Scalar::Null => None,
        Scalar::Exact(e) => e
            .to_big()
            .with_scale_round(0, RoundingMode::HalfUp)
            .to_string()
            .parse::<i64>()
            .ok()
            .map(|d| d.clamp(-64, 64)),
        v => Some(as_f64(v).round().clamp(-64.0, 64.0) as i64),
    }
}

/// MySQL's rounding of a double to `digits` (`my_double_round`): `rint` of
/// the scaled value, which rounds half to even; truncation toward zero.
fn double_round(value: f64, digits: i64, truncate: bool) -> f64 {
    let scale = 10f64.powi(digits.unsigned_abs().min(400) as i32);
    let negative = digits < 0;
    let scaled = if negative {
        value / scale
    } else {
        value * scale
    };
    if negative && scale.is_infinite() {
        return 0.0;
    }
    if !negative && scaled.is_infinite() {
        return value;
    }
    let whole = if truncate {
        scaled.trunc()
    } else {
        scaled.round_ties_even()
    };
    if negative {
        whole * scale
    } else {
        whole / scale
    }
}

/// `value` in a string context: exact numbers at `scale` (their type's),
/// doubles in their shortest form; `None` for NULL.
fn string_of<'a>(value: &'a Scalar<'a>, scale: Option<u32>) -> Option<Cow<'a, [u8]>> {
    Some(match value {
        Scalar::Null | Scalar::OutOfRange => return None,
        Scalar::Text(t) => Cow::Borrowed(t.as_ref()),
        Scalar::Double(f) => Cow::Owned(format_double(*f, NOT_FIXED_DECIMALS).into_bytes()),
        Scalar::Exact(e) => {
            let scale = scale.unwrap_or_else(|| e.to_big().fractional_digit_count().max(0) as u32);
            Cow::Owned(e.format(scale).into_bytes())
        }
    })
}

/// Whether the value is an error every expression over it passes on.
pub(super) fn failed(value: &Scalar<'_>) -> bool {
    matches!(value, Scalar::OutOfRange)
}

pub(super) fn boolean(b: bool) -> Scalar<'static> {
    Scalar::Exact(Exact::Small {
        unscaled: i128::from(b),
        scale: 0,
    })
}

/// A value as a condition: true, false or unknown (NULL).
pub(super) fn truth(value: &Scalar<'_>) -> Option<bool> {
    match value {
        Scalar::Null | Scalar::OutOfRange => None,
        Scalar::Exact(e) => Some(!e.is_zero()),
        Scalar::Double(f) => Some(*f != 0.0),
        Scalar::Text(t) => Some(lenient_f64(t) != 0.0),
    }
}

fn compare(op: CompareOp, l: &Scalar<'_>, r: &Scalar<'_>) -> Scalar<'static> {
    let order = match (l, r) {
        (Scalar::OutOfRange, _) | (_, Scalar::OutOfRange) => return Scalar::OutOfRange,
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
        (Scalar::OutOfRange, _) | (_, Scalar::OutOfRange) => Scalar::OutOfRange,
        (Scalar::Null, _) | (_, Scalar::Null) => Scalar::Null,
        (Scalar::Exact(a), Scalar::Exact(b)) => exact_arithmetic(op, a.to_big(), b.to_big()),
        (l, r) if op == ArithOp::IntDiv => {
            // DIV of anything not two integers divides as DECIMAL.
            match (decimal_of(&l), decimal_of(&r)) {
                (Some(a), Some(b)) => exact_arithmetic(op, a, b),
                _ => Scalar::Null,
            }
        }
        (l, r) => {
            let (a, b) = (as_f64(&l), as_f64(&r));
            match op {
                ArithOp::Add => Scalar::Double(a + b),
                ArithOp::Sub => Scalar::Double(a - b),
                ArithOp::Mul => Scalar::Double(a * b),
                ArithOp::Div | ArithOp::Mod if b == 0.0 => Scalar::Null,
                ArithOp::Div => Scalar::Double(a / b),
                // Rust's `%` on doubles is C's fmod: the dividend's sign.
                ArithOp::Mod => Scalar::Double(a % b),
                ArithOp::IntDiv => Scalar::Null,
            }
        }
    }
}

fn exact_arithmetic(op: ArithOp, a: BigDecimal, b: BigDecimal) -> Scalar<'static> {
    let result = match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div | ArithOp::IntDiv | ArithOp::Mod if b.is_zero() => return Scalar::Null,
        ArithOp::Div => {
            // MySQL divides to whole 9-digit words past the scale both
            // operands and the increment add up to, and drops the rest;
            // the result's type rounds it when printed.
            let digits = a.fractional_digit_count().max(0) as u32
                + b.fractional_digit_count().max(0) as u32
                + DIV_SCALE_INCREMENT;
            let scale = digits.div_ceil(9) * 9;
            (a / b).with_scale_round(i64::from(scale), RoundingMode::Down)
        }
        ArithOp::IntDiv => {
            let quotient = (a / b).with_scale_round(0, RoundingMode::Down);
            let fits = quotient
                .to_string()
                .parse::<i128>()
                .is_ok_and(|q| (BIGINT.0..=BIGINT.1).contains(&q));
            if !fits {
                return Scalar::OutOfRange;
            }
            quotient
        }
        ArithOp::Mod => {
            let scale = a
                .fractional_digit_count()
                .max(b.fractional_digit_count())
                .max(0);
            let quotient = (&a / &b).with_scale_round(0, RoundingMode::Down);
            (a - quotient * b).with_scale(scale)
        }
    };
    Scalar::Exact(Exact::Big(result))
}

/// A number as DECIMAL, as MySQL converts a double (its shortest digits).
fn decimal_of(value: &Scalar<'_>) -> Option<BigDecimal> {
    match value {
        Scalar::Exact(e) => Some(e.to_big()),
        Scalar::Null => None,
        v => {
            let f = as_f64(v);
            if !f.is_finite() {
                return None;
            }
            BigDecimal::from_str(&format!("{f:e}")).ok()
        }
    }
}

pub(super) fn as_f64(value: &Scalar<'_>) -> f64 {
    match value {
        Scalar::Null | Scalar::OutOfRange => 0.0,
        Scalar::Exact(Exact::Big(b)) => big_to_f64(b),
        Scalar::Exact(e) => e.to_f64(),
        Scalar::Double(f) => *f,
        Scalar::Text(t) => lenient_f64(t),
    }
}

/// A string read as a number the way MySQL reads it: its longest numeric
/// prefix (`"12abc"` → 12), 0 when there is none.
pub(super) fn lenient_f64(text: &[u8]) -> f64 {
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
