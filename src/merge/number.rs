//! Numbers as MySQL compares and prints them: integers and DECIMAL text
//! compared exactly (never through `f64`), exact sums and quotients rounded
//! half away from zero, and DOUBLE printed the way the server prints it.

use bigdecimal::num_bigint::{BigInt, Sign};
use bigdecimal::{BigDecimal, Pow, ToPrimitive, Zero};
use mysql_common::value::Value;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::str::FromStr;

/// The scale MySQL adds to an exact AVG or division (`div_precision_increment`).
pub(crate) const DIV_SCALE_INCREMENT: u32 = 4;
/// The largest DECIMAL scale.
pub(crate) const MAX_DECIMAL_SCALE: u32 = 30;
/// The largest decimal exponent accepted in exact text.
const MAX_EXPONENT: i64 = 1000;
/// The `decimals` of a floating column printed in its shortest form.
pub(crate) const NOT_FIXED_DECIMALS: u8 = 31;

/// The text of a value: text-protocol bytes as sent, typed values as MySQL prints them.
pub(crate) fn text_bytes(value: &Value) -> Cow<'_, [u8]> {
    match value {
        Value::Bytes(b) => Cow::Borrowed(b),
        Value::NULL => Cow::Borrowed(b""),
        Value::Int(i) => Cow::Owned(i.to_string().into_bytes()),
        Value::UInt(u) => Cow::Owned(u.to_string().into_bytes()),
        Value::Float(f) => Cow::Owned(format_double(*f as f64, NOT_FIXED_DECIMALS).into_bytes()),
        Value::Double(f) => Cow::Owned(format_double(*f, NOT_FIXED_DECIMALS).into_bytes()),
        Value::Date(y, mo, d, h, mi, s, us) => {
            let mut text = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
            if *us > 0 {
                text.push_str(&format!(".{us:06}"));
            }
            Cow::Owned(text.into_bytes())
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let sign = if *neg { "-" } else { "" };
            let hours = *days as u64 * 24 + *h as u64;
            let mut text = format!("{sign}{hours:02}:{mi:02}:{s:02}");
            if *us > 0 {
                text.push_str(&format!(".{us:06}"));
            }
            Cow::Owned(text.into_bytes())
        }
    }
}

/// An integer from its text (at most 38 digits, so it fits `i128`).
pub(crate) fn parse_int(text: &[u8]) -> Option<i128> {
    let (negative, digits) = split_sign(text);
    if digits.is_empty() || digits.len() > 38 {
        return None;
    }
    let mut n: i128 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i128::from(c - b'0');
    }
    Some(if negative { -n } else { n })
}

/// An integer value: typed, or its text.
pub(crate) fn int_of(value: &Value) -> Option<i128> {
    match value {
        Value::Int(i) => Some(i128::from(*i)),
        Value::UInt(u) => Some(i128::from(*u)),
        Value::Bytes(b) => parse_int(b),
        _ => None,
    }
}

/// A floating-point value: typed, or its text.
pub(crate) fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::Float(f) => Some(f64::from(*f)),
        Value::Double(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        Value::UInt(u) => Some(*u as f64),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
        _ => None,
    }
}

fn split_sign(text: &[u8]) -> (bool, &[u8]) {
    match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

/// Plain decimal text (`-12.340`), split and trimmed: no leading zeros in
/// `int`, no trailing zeros in `frac`, and zero is never negative.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecimalText<'a> {
    /// Below zero.
    pub negative: bool,
    /// The integer digits.
    pub int: &'a [u8],
    /// The fraction digits.
    pub frac: &'a [u8],
}

impl<'a> DecimalText<'a> {
    /// Reads `[+-]digits[.digits]`; `None` for anything else (exponents included).
    pub fn parse(text: &'a [u8]) -> Option<Self> {
        let (negative, rest) = split_sign(text);
        let (int, frac) = match rest.iter().position(|&c| c == b'.') {
            Some(dot) => (&rest[..dot], &rest[dot + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        if (int.is_empty() && frac.is_empty())
            || !int.iter().chain(frac).all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let lead = int.iter().take_while(|&&c| c == b'0').count();
        let trail = frac.iter().rev().take_while(|&&c| c == b'0').count();
        let (int, frac) = (&int[lead..], &frac[..frac.len() - trail]);
        let negative = negative && !(int.is_empty() && frac.is_empty());
        Some(DecimalText {
            negative,
            int,
            frac,
        })
    }

    /// Numeric order.
    pub fn cmp(&self, other: &DecimalText<'_>) -> Ordering {
        let magnitude = self
            .int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(other.int))
            .then_with(|| self.frac.cmp(other.frac));
        match (self.negative, other.negative) {
            (false, false) => magnitude,
            (true, true) => magnitude.reverse(),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
        }
    }

    /// The canonical text: equal numbers give equal bytes.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.int.len() + self.frac.len() + 3);
        if self.negative {
            out.push(b'-');
        }
        if self.int.is_empty() {
            out.push(b'0');
        }
        out.extend_from_slice(self.int);
        if !self.frac.is_empty() {
            out.push(b'.');
            out.extend_from_slice(self.frac);
        }
        out
    }
}

/// An exact decimal: `unscaled × 10^-scale`, in an `i128` while it fits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Exact {
    /// Fits `i128`.
    Small {
        /// The digits as an integer.
        unscaled: i128,
        /// Digits after the decimal point.
        scale: u32,
    },
    /// Anything larger.
    Big(BigDecimal),
}

impl Exact {
    /// Zero.
    pub fn zero() -> Exact {
        Exact::Small {
            unscaled: 0,
            scale: 0,
        }
    }

    /// An integer or DECIMAL value (typed, or its text); `None` for anything else.
    pub fn of(value: &Value) -> Option<Exact> {
        match value {
            Value::Int(i) => Some(Exact::Small {
                unscaled: i128::from(*i),
                scale: 0,
            }),
            Value::UInt(u) => Some(Exact::Small {
                unscaled: i128::from(*u),
                scale: 0,
            }),
            Value::Bytes(b) => Exact::parse(b),
            _ => None,
        }
    }

    /// Decimal text, plain or with an exponent.
    pub fn parse(text: &[u8]) -> Option<Exact> {
        if let Some(d) = DecimalText::parse(text) {
            if d.int.len() + d.frac.len() <= 36 {
                let mut unscaled: i128 = 0;
                for &c in d.int.iter().chain(d.frac) {
                    unscaled = unscaled * 10 + i128::from(c - b'0');
                }
                return Some(Exact::Small {
                    unscaled: if d.negative { -unscaled } else { unscaled },
                    scale: d.frac.len() as u32,
                });
            }
        }
        let text = std::str::from_utf8(text).ok()?;
        // MySQL's DECIMAL has at most 65 digits and scale 30: a far larger
        // exponent is not a value a data source sends.
        BigDecimal::from_str(text.trim())
            .ok()
            .filter(|b| b.fractional_digit_count().abs() <= MAX_EXPONENT)
            .map(Exact::Big)
    }

    /// Adds `other`, exactly.
    pub fn add(&mut self, other: &Exact) {
        if let (
            Exact::Small {
                unscaled: a,
                scale: sa,
            },
            Exact::Small {
                unscaled: b,
                scale: sb,
            },
        ) = (&*self, other)
        {
            let scale = (*sa).max(*sb);
            let sum = rescale(*a, scale - sa)
                .zip(rescale(*b, scale - sb))
                .and_then(|(a, b)| a.checked_add(b));
            if let Some(unscaled) = sum {
                *self = Exact::Small { unscaled, scale };
                return;
            }
        }
        *self = Exact::Big(self.to_big() + other.to_big());
    }

    /// As a `BigDecimal`.
    pub fn to_big(&self) -> BigDecimal {
        match self {
            Exact::Small { unscaled, scale } => {
                BigDecimal::new(BigInt::from(*unscaled), i64::from(*scale))
            }
            Exact::Big(b) => b.clone(),
        }
    }

    /// The nearest double.
    pub fn to_f64(&self) -> f64 {
        let text = match self {
            Exact::Small { unscaled, scale } => format!("{unscaled}e-{scale}"),
            Exact::Big(b) => b.to_string(),
        };
        text.parse().unwrap_or(f64::NAN)
    }

    /// Whether it is zero.
    pub fn is_zero(&self) -> bool {
        match self {
            Exact::Small { unscaled, .. } => *unscaled == 0,
            Exact::Big(b) => b.is_zero(),
        }
    }

    /// Printed with `scale` fraction digits, rounded half away from zero.
    pub fn format(&self, scale: u32) -> String {
        if let Exact::Small {
            unscaled,
            scale: own,
        } = self
        {
            if let Some(n) = scale
                .checked_sub(*own)
                .and_then(|by| rescale(*unscaled, by))
            {
                return format_digits(n < 0, n.unsigned_abs().to_string(), scale);
            }
        }
        self.divide(&BigInt::from(1), scale)
    }

    /// `self / divisor` with `scale` fraction digits, rounded half away from
    /// zero as MySQL rounds DECIMAL; `divisor` must not be zero.
    pub fn divide(&self, divisor: &BigInt, scale: u32) -> String {
        format_unscaled(&self.divide_unscaled(divisor, scale), scale)
    }

    /// `self / divisor` rounded to `scale` fraction digits, unscaled.
    pub fn divide_unscaled(&self, divisor: &BigInt, scale: u32) -> BigInt {
        let (mut numerator, own_scale) = match self {
            Exact::Small { unscaled, scale } => (BigInt::from(*unscaled), i64::from(*scale)),
            Exact::Big(b) => b.as_bigint_and_exponent(),
        };
        let mut denominator = divisor.clone();
        let shift = i64::from(scale) - own_scale;
        let ten = BigInt::from(10);
        if shift >= 0 {
            numerator *= Pow::pow(&ten, shift.unsigned_abs());
        } else {
            denominator *= Pow::pow(&ten, shift.unsigned_abs());
        }
        if denominator.is_zero() {
            return BigInt::zero();
        }
        let quotient = &numerator / &denominator;
        let remainder = &numerator % &denominator;
        let twice = remainder.magnitude() * 2u32;
        if &twice >= denominator.magnitude() {
            let away = if (numerator.sign() == Sign::Minus) != (denominator.sign() == Sign::Minus) {
                -1
            } else {
                1
            };
            quotient + away
        } else {
            quotient
        }
    }
}

fn rescale(unscaled: i128, by: u32) -> Option<i128> {
    10i128.checked_pow(by)?.checked_mul(unscaled)
}

/// Prints `unscaled × 10^-scale` as plain decimal text (`-0.0500`).
pub(crate) fn format_unscaled(unscaled: &BigInt, scale: u32) -> String {
    format_digits(
        unscaled.sign() == Sign::Minus,
        unscaled.magnitude().to_string(),
        scale,
    )
}

/// Prints the magnitude `digits × 10^-scale`, with a sign when `negative`.
fn format_digits(negative: bool, digits: String, scale: u32) -> String {
    let scale = scale as usize;
    let mut out = String::with_capacity(digits.len() + scale + 3);
    if negative && digits.bytes().any(|d| d != b'0') {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
        return out;
    }
    if digits.len() <= scale {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A double as MySQL prints it: with `decimals` fixed fraction digits when
/// the column has them (`decimals` < 31), else the shortest digits that read
/// back as the same double, in plain notation unless the decimal exponent is
/// beyond 15 or below -14 (`1e15`, `100000000000000`, `1.5e-300`).
pub(crate) fn format_double(x: f64, decimals: u8) -> String {
    if decimals < NOT_FIXED_DECIMALS {
        return format!("{:.*}", decimals as usize, x);
    }
    if x == 0.0 || !x.is_finite() {
        return "0".into();
    }
    // The shortest digits that read back, rounded half to even on an exact
    // tie as the server's dtoa does (`{:e}` alone rounds such ties up).
    let shortest = format!("{:e}", x.abs());
    let digits = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.chars().filter(char::is_ascii_digit).count());
    let scientific = format!("{:.*e}", digits.saturating_sub(1), x.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let len = digits.len() as i64;
    let point = exponent + 1;
    let mut out = String::with_capacity(digits.len() + 24);
    if x < 0.0 {
        out.push('-');
    }
    if point >= -14 && (point <= 15 || len > point) {
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else if point < len {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        } else {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (point - len) as usize));
        }
    } else {
        out.push_str(&digits[..1]);
        if len > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push_str(&exponent.to_string());
    }
    out
}

/// An exact value as a double, for mixed arithmetic.
pub(crate) fn big_to_f64(value: &BigDecimal) -> f64 {
    value.to_f64().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests;
