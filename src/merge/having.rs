//! HAVING on merged groups: SQL's three-valued logic and MySQL's comparison
//! rules — numbers numerically (exactly when both sides are exact), strings
//! byte by byte, a string against a number as doubles (see [`super::eval`]).

use super::compare::{natural, Comparator};
use super::eval::{failed, truth, Evaluator, Scalar};
use super::spec::{Expr, Function, Literal};
use crate::error::Error;
use mysql_common::packets::Column;
use mysql_common::value::Value;

/// A HAVING condition bound to the unit result's column types.
#[derive(Debug, Clone)]
pub(crate) struct Having {
    /// The condition.
    expr: Expr,
    /// The column types it reads the row by.
    evaluator: Evaluator,
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
        if !plain_concat(expr, &kinds) {
            return Err(Error::not_supported(
                "CONCAT of dates or times over aggregates across data nodes",
            ));
        }
        Ok(Having {
            expr: expr.clone(),
            evaluator: Evaluator {
                kinds,
                scales: columns.iter().map(|c| u32::from(c.decimals())).collect(),
            },
        })
    }

    /// Whether the merged row satisfies the condition (NULL does not).
    pub fn accepts(&self, row: &[Value]) -> Result<bool, Error> {
        let value = self.evaluator.eval(&self.expr, row);
        if failed(&value) {
            return Err(super::computed::out_of_range());
        }
        Ok(truth(&value) == Some(true))
    }

    /// The condition's value on the merged row (for computed columns).
    pub(super) fn value<'a>(&'a self, row: &'a [Value]) -> Scalar<'a> {
        self.evaluator.eval(&self.expr, row)
    }
}

/// Whether `expr` surely is a number: a numeric column or literal, or an
/// expression whose every possible value is one.
fn is_number(expr: &Expr, kinds: &[Comparator]) -> bool {
    match expr {
        Expr::Column(i) => matches!(
            kinds.get(*i),
            Some(Comparator::Int | Comparator::Decimal | Comparator::Float)
        ),
        Expr::Literal(Literal::String(_)) => false,
        Expr::Literal(_) => true,
        Expr::Case {
            branches,
            otherwise,
        } => branches
            .iter()
            .map(|(_, t)| t)
            .chain(otherwise.as_deref())
            .all(|e| is_number(e, kinds)),
        Expr::Function(Function::Concat, _) => false,
        Expr::Function(Function::Coalesce, args) => args.iter().all(|e| is_number(e, kinds)),
        Expr::Function(Function::If, args) => args.iter().skip(1).all(|e| is_number(e, kinds)),
        _ => true,
    }
}

/// Whether CONCAT reads no date or time column (whose text the binary
/// protocol does not carry as MySQL prints it).
fn plain_concat(expr: &Expr, kinds: &[Comparator]) -> bool {
    let mut plain = true;
    expr.visit(&mut |e| {
        if let Expr::Function(Function::Concat, args) = e {
            plain &= args.iter().all(|a| match a {
                Expr::Column(i) => {
                    !matches!(kinds.get(*i), Some(Comparator::Date | Comparator::Time))
                }
                _ => true,
            });
        }
    });
    plain
}

/// Whether every operand of arithmetic (and of ROUND, TRUNCATE, ABS) in
/// `expr` is a number.
fn numeric_arithmetic(expr: &Expr, kinds: &[Comparator]) -> bool {
    let mut numeric = true;
    expr.visit(&mut |e| match e {
        Expr::Arithmetic(_, l, r) => numeric &= is_number(l, kinds) && is_number(r, kinds),
        Expr::Function(
            Function::Round | Function::Truncate | Function::Abs | Function::Sqrt,
            args,
        ) => numeric &= args.iter().all(|a| is_number(a, kinds)),
        _ => {}
    });
    numeric
}

fn check_columns(expr: &Expr, width: usize) -> Result<(), Error> {
    let mut beyond = None;
    expr.visit(&mut |e| {
        if let Expr::Column(i) = e {
            if *i >= width {
                beyond = Some(*i);
            }
        }
    });
    match beyond {
        Some(i) => Err(Error::internal(format!(
            "merge: HAVING names column #{i}, the unit result has {width}"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
