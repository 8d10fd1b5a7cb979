//! One aggregate column merged: the partial results every unit computed for
//! a group fold into one value, printed as MySQL prints the aggregate's type
//! (COUNT as an integer, exact sums and averages with the column's scale,
//! DOUBLE in its shortest form). NULL partials are skipped; SUM, MIN, MAX
//! and AVG of nothing are NULL, COUNT of nothing is 0.

use super::compare::{key_part, operand, resolve, Comparator, KeyPart, Purpose};
use super::concat::{ConcatPlan, ConcatState, Concatenator};
use super::number::{
    float_of, format_double, int_of, Exact, DIV_SCALE_INCREMENT, MAX_DECIMAL_SCALE,
    NOT_FIXED_DECIMALS,
};
use super::spec::{Aggregate, AggregateColumn, Weight};
use super::statistics::{Moments, Statistic};
use crate::error::Error;
use crate::hash::HashSet;
use bigdecimal::num_bigint::BigInt;
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;

/// How a numeric column's values read and print, from its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Numeric {
    /// DECIMAL or an integer type: exact, printed with this scale.
    Exact {
        /// Digits after the decimal point.
        scale: u32,
    },
    /// FLOAT or DOUBLE, printed with these decimals (31: shortest form).
    Float {
        /// The column's decimals.
        decimals: u8,
    },
}

impl Numeric {
    /// The reading of `column`'s values; non-numeric columns sum as doubles, as MySQL's do.
    pub fn of(column: &Column) -> Numeric {
        use ColumnType::*;
        match column.column_type() {
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => Numeric::Exact {
                scale: u32::from(column.decimals()).min(MAX_DECIMAL_SCALE),
            },
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR | MYSQL_TYPE_BIT => Numeric::Exact { scale: 0 },
            MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => Numeric::Float {
                decimals: column.decimals(),
            },
            _ => Numeric::Float {
                decimals: NOT_FIXED_DECIMALS,
            },
        }
    }
}

/// A running sum.
#[derive(Debug, Clone)]
pub(crate) enum Total {
    /// Exact.
    Exact(Exact),
    /// Floating.
    Float(f64),
}

impl Total {
    fn add(sum: &mut Option<Total>, value: &Value, reading: Numeric) -> Result<(), Error> {
        if let Value::NULL = value {
            return Ok(());
        }
        let part = match reading {
            Numeric::Exact { .. } => match Exact::of(value) {
                Some(e) => Total::Exact(e),
                None => Total::Float(number(value)?),
            },
            Numeric::Float { .. } => Total::Float(number(value)?),
        };
        *sum = Some(match (sum.take(), part) {
            (None, part) => part,
            (Some(Total::Exact(mut a)), Total::Exact(b)) => {
                a.add(&b);
                Total::Exact(a)
            }
            (Some(a), b) => Total::Float(a.to_f64() + b.to_f64()),
        });
        Ok(())
    }

    fn to_f64(&self) -> f64 {
        match self {
            Total::Exact(e) => e.to_f64(),
            Total::Float(f) => *f,
        }
    }

    fn to_exact(&self) -> Exact {
        match self {
            Total::Exact(e) => e.clone(),
            Total::Float(f) => Exact::parse(format_double(*f, NOT_FIXED_DECIMALS).as_bytes())
                .unwrap_or_else(Exact::zero),
        }
    }

    /// `self / count` printed as `output` reads; NULL when `count` is 0.
    fn average(&self, count: i128, output: Numeric) -> Value {
        if count == 0 {
            return Value::NULL;
        }
        match output {
            Numeric::Exact { scale } => text(self.to_exact().divide(&BigInt::from(count), scale)),
            Numeric::Float { decimals } => {
                text(format_double(self.to_f64() / count as f64, decimals))
            }
        }
    }

    fn print(&self, output: Numeric) -> Value {
        match output {
            Numeric::Exact { scale } => text(self.to_exact().format(scale)),
            Numeric::Float { decimals } => text(format_double(self.to_f64(), decimals)),
        }
    }
}

fn number(value: &Value) -> Result<f64, Error> {
    float_of(value).ok_or_else(|| {
        Error::internal(format!(
            "merge: a unit sent {value:?} where a number belongs"
        ))
    })
}

fn integer(value: &Value) -> Result<i128, Error> {
    match value {
        Value::NULL => Ok(0),
        v => int_of(v).ok_or_else(|| {
            Error::internal(format!("merge: a unit sent {v:?} where an integer belongs"))
        }),
    }
}

/// `n` plus a partial count.
fn add_count(n: i128, partial: &Value) -> Result<i128, Error> {
    n.checked_add(integer(partial)?)
        .ok_or_else(|| Error::internal("merge: a count overflows"))
}

fn text(s: String) -> Value {
    Value::Bytes(s.into_bytes())
}

/// One aggregate column resolved against the unit result's columns.
#[derive(Debug, Clone)]
pub(crate) struct Folder {
    /// The aggregate column.
    pub column: usize,
    /// How its partials combine.
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Count,
    Sum(Numeric),
    Extreme {
        max: bool,
        comparator: Comparator,
    },
    Avg {
        sum: usize,
        count: usize,
        input: Numeric,
        output: Numeric,
    },
    Distinct {
        value: usize,
        comparator: Comparator,
        input: Numeric,
        output: DistinctOutput,
    },
    Bits(fn(u64, u64) -> u64, u64),
    DistinctTuple(Vec<(usize, Comparator)>),
    Variance {
        count: usize,
        sum: usize,
        var_pop: usize,
        statistic: Statistic,
        decimals: u8,
    },
    // GROUP_CONCAT and the JSON aggregates.
    Concat(Box<Concatenator>),
}

#[derive(Debug, Clone, Copy)]
enum DistinctOutput {
    Count,
    Sum(Numeric),
    Avg(Numeric),
}

/// One group's running value of one aggregate.
#[derive(Debug, Clone)]
pub(crate) enum Acc {
    /// A count.
    Count(i128),
    /// A sum, `None` until a non-NULL value.
    Sum(Option<Total>),
    /// The best value so far and its weight.
    Extreme(Option<(Value, Value)>),
    /// AVG's sum and count.
    Avg(Option<Total>, i128),
    /// The distinct values seen, their count and sum.
    Distinct(HashSet<KeyPart>, i128, Option<Total>),
    /// Bits so far.
    Bits(u64),
    /// Count, mean and M2 so far.
    Moments(Moments),
    /// The distinct combinations seen.
    Tuples(HashSet<Vec<KeyPart>>),
    /// A concatenation so far.
    Concat(Box<ConcatState>),
}

impl Folder {
    /// Resolves `aggregate`, checking the columns it names exist.
    pub fn new(
        aggregate: &AggregateColumn,
        columns: &[Column],
        weights: &[Weight],
        concats: &[ConcatPlan],
    ) -> Result<Folder, Error> {
        let meta = |at: usize| {
            columns.get(at).ok_or_else(|| {
                Error::internal(format!(
                    "merge: aggregate names column #{at}, the unit result has {}",
                    columns.len()
                ))
            })
        };
        let column = aggregate.column;
        let output = Numeric::of(meta(column)?);
        let avg_typed = is_avg_type(meta(column)?);
        // AVG's type is the column's own when it holds the unit's AVG;
        // otherwise MySQL's rule: the argument's scale + 4, or DOUBLE.
        let average_of = |input: Numeric| match input {
            _ if avg_typed => output,
            Numeric::Exact { scale } => Numeric::Exact {
                scale: (scale + DIV_SCALE_INCREMENT).min(MAX_DECIMAL_SCALE),
            },
            float => float,
        };
        let distinct = |value: usize, make: &dyn Fn(Numeric) -> DistinctOutput| {
            let input = Numeric::of(meta(value)?);
            Ok::<_, Error>(Kind::Distinct {
                value,
                comparator: resolve(columns, weights, value, Purpose::Value)?,
                input,
                output: make(input),
            })
        };
        let kind = match aggregate.function {
            Aggregate::Count => Kind::Count,
            Aggregate::Sum => Kind::Sum(output),
            Aggregate::Min | Aggregate::Max => Kind::Extreme {
                max: aggregate.function == Aggregate::Max,
                comparator: resolve(columns, weights, column, Purpose::Value)?,
            },
            Aggregate::Avg { sum, count } => {
                meta(count)?;
                let input = Numeric::of(meta(sum)?);
                Kind::Avg {
                    sum,
                    count,
                    input,
                    output: average_of(input),
                }
            }
            Aggregate::CountDistinct { value } => distinct(value, &|_| DistinctOutput::Count)?,
            Aggregate::SumDistinct { value } => distinct(value, &|_| DistinctOutput::Sum(output))?,
            Aggregate::AvgDistinct { value } => {
                distinct(value, &|input| DistinctOutput::Avg(average_of(input)))?
            }
            Aggregate::Variance {
                count,
                sum,
                var_pop,
                sample,
                root,
            } => {
                meta(count)?;
                meta(sum)?;
                meta(var_pop)?;
                Kind::Variance {
                    count,
                    sum,
                    var_pop,
                    statistic: Statistic { sample, root },
                    decimals: match output {
                        Numeric::Float { decimals } => decimals,
                        Numeric::Exact { .. } => NOT_FIXED_DECIMALS,
                    },
                }
            }
            Aggregate::CountDistinctTuple { values, width } => Kind::DistinctTuple(
                values
                    .iter()
                    .take(usize::from(width))
                    .map(|&v| Ok((v, resolve(columns, weights, v, Purpose::Value)?)))
                    .collect::<Result<_, Error>>()?,
            ),
            Aggregate::BitAnd => Kind::Bits(|a, b| a & b, u64::MAX),
            Aggregate::BitOr => Kind::Bits(|a, b| a | b, 0),
            Aggregate::BitXor => Kind::Bits(|a, b| a ^ b, 0),
            Aggregate::Concat { plan } => {
                let plan = concats.get(plan).ok_or_else(|| {
                    Error::internal(format!("merge: no GROUP_CONCAT plan #{plan}"))
                })?;
                Kind::Concat(Box::new(Concatenator::new(column, plan, columns, weights)?))
            }
        };
        Ok(Folder { column, kind })
    }

    /// The value over no rows.
    pub fn start(&self) -> Acc {
        match self.kind {
            Kind::Count => Acc::Count(0),
            Kind::Sum(_) => Acc::Sum(None),
            Kind::Extreme { .. } => Acc::Extreme(None),
            Kind::Avg { .. } => Acc::Avg(None, 0),
            Kind::Distinct { .. } => Acc::Distinct(HashSet::default(), 0, None),
            Kind::Bits(_, identity) => Acc::Bits(identity),
            Kind::Variance { .. } => Acc::Moments(Moments::default()),
            Kind::DistinctTuple(_) => Acc::Tuples(HashSet::default()),
            Kind::Concat(_) => Acc::Concat(Box::default()),
        }
    }

    /// Folds one unit row's partial result into `acc`.
    pub fn fold(&self, acc: &mut Acc, row: &[Value]) -> Result<(), Error> {
        let at = |i: usize| row.get(i).unwrap_or(&super::compare::NULL);
        match (&self.kind, acc) {
            (Kind::Count, Acc::Count(n)) => *n = add_count(*n, at(self.column))?,
            (Kind::Sum(reading), Acc::Sum(sum)) => Total::add(sum, at(self.column), *reading)?,
            (Kind::Extreme { max, comparator }, Acc::Extreme(best)) => {
                let value = at(self.column);
                if let Value::NULL = value {
                    return Ok(());
                }
                let weight = operand(*comparator, self.column, row);
                let better = match best {
                    None => true,
                    Some((_, best_weight)) => {
                        let order =
                            super::compare::compare_values(*comparator, weight, best_weight);
                        if *max {
                            order.is_gt()
                        } else {
                            order.is_lt()
                        }
                    }
                };
                if better {
                    *best = Some((value.clone(), weight.clone()));
                }
            }
            (
                Kind::Avg {
                    sum, count, input, ..
                },
                Acc::Avg(total, n),
            ) => {
                Total::add(total, at(*sum), *input)?;
                *n = add_count(*n, at(*count))?;
            }
            (
                Kind::Distinct {
                    value,
                    comparator,
                    input,
                    output,
                },
                Acc::Distinct(seen, n, total),
            ) => {
                if let Value::NULL = at(*value) {
                    return Ok(());
                }
                if seen.insert(key_part(*comparator, *value, row)) {
                    *n += 1;
                    if !matches!(output, DistinctOutput::Count) {
                        Total::add(total, at(*value), *input)?;
                    }
                }
            }
            (
                Kind::Variance {
                    count,
                    sum,
                    var_pop,
                    ..
                },
                Acc::Moments(moments),
            ) => {
                if let Some(unit) = Moments::of_unit(at(*count), at(*sum), at(*var_pop))? {
                    moments.combine(&unit);
                }
            }
            (Kind::DistinctTuple(values), Acc::Tuples(seen)) => {
                if values.iter().any(|(v, _)| matches!(at(*v), Value::NULL)) {
                    return Ok(());
                }
                seen.insert(
                    values
                        .iter()
                        .map(|(v, comparator)| key_part(*comparator, *v, row))
                        .collect(),
                );
            }
            (Kind::Bits(op, _), Acc::Bits(bits)) => {
                let value = at(self.column);
                if !matches!(value, Value::NULL) {
                    let v = integer(value)?;
                    let v = u64::try_from(v).map_err(|_| {
                        Error::internal(format!("merge: bit aggregate partial {v} is out of range"))
                    })?;
                    *bits = op(*bits, v);
                }
            }
            (Kind::Concat(concatenator), Acc::Concat(state)) => concatenator.fold(state, row)?,
            _ => {
                return Err(Error::internal(
                    "merge: aggregate state does not match its function",
                ))
            }
        }
        Ok(())
    }

    /// Writes the merged value into `row` (and a MIN/MAX winner's weight).
    pub fn finish(&self, acc: Acc, row: &mut [Value]) -> Option<(u64, bool)> {
        let mut cut = None;
        let value = match (&self.kind, acc) {
            (Kind::Count, Acc::Count(n)) => text(n.to_string()),
            (Kind::Sum(output), Acc::Sum(sum)) => sum.map_or(Value::NULL, |s| s.print(*output)),
            (Kind::Extreme { .. }, Acc::Extreme(None)) => Value::NULL,
            (Kind::Extreme { comparator, .. }, Acc::Extreme(Some((value, weight)))) => {
                if let Comparator::Weight(w) = comparator {
                    if let Some(slot) = row.get_mut(*w) {
                        *slot = weight;
                    }
                }
                value
            }
            (
                Kind::Avg {
                    output,
                    sum: sum_column,
                    count: count_column,
                    input,
                },
                Acc::Avg(sum, n),
            ) => {
                // The merged SUM and COUNT too: an expression over the AVG
                // divides them, as MySQL's AVG does inside an expression.
                if let Some(slot) = row.get_mut(*sum_column) {
                    *slot = sum.as_ref().map_or(Value::NULL, |s| s.print(*input));
                }
                if let Some(slot) = row.get_mut(*count_column) {
                    *slot = text(n.to_string());
                }
                sum.map_or(Value::NULL, |s| s.average(n, *output))
            }
            (Kind::Distinct { output, .. }, Acc::Distinct(_, n, sum)) => match output {
                DistinctOutput::Count => text(n.to_string()),
                DistinctOutput::Sum(o) => sum.map_or(Value::NULL, |s| s.print(*o)),
                DistinctOutput::Avg(o) => sum.map_or(Value::NULL, |s| s.average(n, *o)),
            },
            (Kind::Bits(..), Acc::Bits(bits)) => text(bits.to_string()),
            (Kind::DistinctTuple(_), Acc::Tuples(seen)) => text(seen.len().to_string()),
            (Kind::Concat(concatenator), Acc::Concat(state)) => {
                let (value, was_cut) = concatenator.finish(*state);
                cut = was_cut;
                value
            }
            (
                Kind::Variance {
                    count,
                    var_pop,
                    statistic,
                    decimals,
                    ..
                },
                Acc::Moments(moments),
            ) => {
                // The merged COUNT and VAR_POP too, every digit: an
                // expression over the statistic reads those, as MySQL uses
                // its value unrounded.
                if let Some(slot) = row.get_mut(*count) {
                    *slot = text(format!("{}", moments.n as u64));
                }
                if let Some(slot) = row.get_mut(*var_pop) {
                    *slot = moments
                        .value(POPULATION)
                        .map_or(Value::NULL, |v| text(format_double(v, NOT_FIXED_DECIMALS)));
                }
                moments
                    .value(*statistic)
                    .map_or(Value::NULL, |v| text(format_double(v, *decimals)))
            }
            _ => Value::NULL,
        };
        if let Some(slot) = row.get_mut(self.column) {
            *slot = value;
        }
        cut
    }

    /// A GROUP_CONCAT past the limit is cut rather than refused where the
    /// merge closes groups `in_order` ([`super::concat::Concatenator::allow_cut`]).
    pub fn allow_cut(&mut self, in_order: bool) {
        if let Kind::Concat(concatenator) = &mut self.kind {
            concatenator.allow_cut(in_order);
        }
    }
}

/// VAR_POP.
const POPULATION: Statistic = Statistic {
    sample: false,
    root: false,
};

/// Whether a column has a type AVG can have: DECIMAL or DOUBLE.
fn is_avg_type(column: &Column) -> bool {
    matches!(
        column.column_type(),
        ColumnType::MYSQL_TYPE_NEWDECIMAL
            | ColumnType::MYSQL_TYPE_DECIMAL
            | ColumnType::MYSQL_TYPE_DOUBLE
            | ColumnType::MYSQL_TYPE_FLOAT
    )
}

#[cfg(test)]
mod tests;
