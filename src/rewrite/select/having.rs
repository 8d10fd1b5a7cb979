//! HAVING of a grouped SELECT across data nodes. The merge evaluates it on
//! each merged group: the parts over aggregates become a [`MergeExpr`] whose
//! aggregates are columns of the unit row (derived when not selected), and
//! whose other parts (`status = 'x'`, `LENGTH(g) > 2`) are computed by the
//! units as derived columns, so values compare as the server compares them.
//! With GROUP BY, conjuncts without aggregates only filter groups by their
//! keys: they stay in the units' HAVING.

use super::aggregate::{self, Call};
use super::deriver::Deriver;
use crate::error::Error;
use crate::merge::{Aggregate, ArithOp, CompareOp, Expr as MergeExpr, Function, Literal};
use crate::sql::context::conjuncts;
use mysql_common::value::Value as Param;
use sqlparser::ast::{
    visit_expressions, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    UnaryOperator, Value,
};
use std::ops::ControlFlow;

/// What a translated operand is, for comparisons the merge can make exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Surely a number (or a truth value).
    Number,
    /// MIN or MAX: maybe a string, compared byte by byte by the merge.
    Extreme,
    /// Anything else the units computed.
    Value,
}

impl Deriver<'_> {
    /// Takes HAVING out of the units' hands: returns what the units keep
    /// (`keep_in_units`: conjuncts without aggregates) and sets the merge's
    /// condition for the rest.
    pub(super) fn having(
        &mut self,
        having: &Expr,
        keep_in_units: bool,
    ) -> Result<Option<Expr>, Error> {
        let mut kept: Vec<&Expr> = Vec::new();
        let mut merged: Option<MergeExpr> = None;
        for conjunct in conjuncts(having) {
            if keep_in_units && !self.has_aggregate(conjunct) {
                kept.push(conjunct);
                continue;
            }
            let (condition, _) = self.condition(conjunct)?;
            merged = Some(match merged {
                None => condition,
                Some(left) => MergeExpr::And(Box::new(left), Box::new(condition)),
            });
        }
        self.spec.having = merged;
        Ok(kept
            .into_iter()
            .cloned()
            .reduce(|left, right| Expr::BinaryOp {
                left: Box::new(left),
                op: BinaryOperator::And,
                right: Box::new(right),
            }))
    }

    /// Whether `expr` holds an aggregate, directly or through an alias.
    pub(super) fn has_aggregate(&self, expr: &Expr) -> bool {
        if aggregate::find(expr).is_some() {
            return true;
        }
        let mut aliased = false;
        let _ = visit_expressions(expr, |e| {
            if let Expr::Identifier(ident) = e {
                if let Some(target) = self.columns.aliased(&ident.value) {
                    aliased |= aggregate::find(target).is_some();
                }
            }
            ControlFlow::<()>::Continue(())
        });
        aliased
    }

    /// One part of the condition, translated.
    /// `expr` (over aggregates) as the merge evaluates it.
    pub(super) fn merge_expr(&mut self, expr: &Expr) -> Result<MergeExpr, Error> {
        Ok(self.condition(expr)?.0)
    }

    fn condition(&mut self, expr: &Expr) -> Result<(MergeExpr, Kind), Error> {
        if let Some(literal) = self.literal(expr) {
            let kind = match literal {
                Literal::String(_) => Kind::Value,
                _ => Kind::Number,
            };
            return Ok((MergeExpr::Literal(literal), kind));
        }
        if !self.has_aggregate(expr) {
            let copy = self.expand_aliases(expr);
            let column = self
                .columns
                .find_or_derive(&copy, self.translating.prefix());
            return Ok((MergeExpr::Column(column), Kind::Value));
        }
        let clause = self.translating.clause();
        let refuse = |what: String| {
            Err(Error::not_supported(format!(
                "{clause} with {what} over aggregates across data nodes"
            )))
        };
        Ok(match expr {
            Expr::Nested(inner) => self.condition(inner)?,
            Expr::Identifier(ident) => {
                let Some(target) = self.columns.aliased(&ident.value).cloned() else {
                    return refuse(format!("column {ident}"));
                };
                match self.columns.by_alias(&ident.value) {
                    Some(Ok(column)) => (MergeExpr::Column(column), self.kind_of(&target)),
                    _ => self.condition(&target)?,
                }
            }
            Expr::Function(_) => match aggregate::as_call(expr)? {
                Some(call) => {
                    let kind = match call {
                        Call::Extreme { .. } => Kind::Extreme,
                        _ => Kind::Number,
                    };
                    let column = self.aggregate_column(expr, self.translating.prefix())?;
                    (self.aggregate_value(column), kind)
                }
                None => match self.function(expr)? {
                    Some(translated) => translated,
                    None => return refuse(format!("function {}", display_name(expr))),
                },
            },
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let mut branches = Vec::with_capacity(conditions.len());
                let mut kinds = Vec::with_capacity(conditions.len() + 1);
                for when in conditions {
                    // `CASE x WHEN v` is `CASE WHEN x = v`, compared as `=` compares.
                    let condition = match operand {
                        Some(operand) => binary(operand, BinaryOperator::Eq, &when.condition),
                        None => when.condition.clone(),
                    };
                    let (condition, _) = self.condition(&condition)?;
                    let (result, kind) = self.condition(&when.result)?;
                    kinds.push(kind);
                    branches.push((condition, result));
                }
                let otherwise = match else_result {
                    Some(e) => {
                        let (e, kind) = self.condition(e)?;
                        kinds.push(kind);
                        Some(Box::new(e))
                    }
                    None => None,
                };
                (
                    MergeExpr::Case {
                        branches,
                        otherwise,
                    },
                    value_kind(&kinds),
                )
            }
            Expr::BinaryOp { left, op, right } => {
                let (l, lk) = self.condition(left)?;
                let (r, rk) = self.condition(right)?;
                let compare = |op| -> Result<(MergeExpr, Kind), Error> {
                    let exact = |a: Kind, b: Kind| a != Kind::Extreme || b == Kind::Number;
                    if !exact(lk, rk) || !exact(rk, lk) {
                        return Err(Error::not_supported(format!(
                            "{clause} comparing MIN or MAX with something other than a number across data nodes"
                        )));
                    }
                    Ok((MergeExpr::compare(op, l.clone(), r.clone()), Kind::Number))
                };
                let arithmetic = |op| {
                    (
                        MergeExpr::arithmetic(op, l.clone(), r.clone()),
                        Kind::Number,
                    )
                };
                match op {
                    BinaryOperator::Eq => compare(CompareOp::Eq)?,
                    BinaryOperator::Spaceship => compare(CompareOp::NullSafeEq)?,
                    BinaryOperator::NotEq => compare(CompareOp::Ne)?,
                    BinaryOperator::Lt => compare(CompareOp::Lt)?,
                    BinaryOperator::LtEq => compare(CompareOp::Le)?,
                    BinaryOperator::Gt => compare(CompareOp::Gt)?,
                    BinaryOperator::GtEq => compare(CompareOp::Ge)?,
                    BinaryOperator::Plus => arithmetic(ArithOp::Add),
                    BinaryOperator::Minus => arithmetic(ArithOp::Sub),
                    BinaryOperator::Multiply => arithmetic(ArithOp::Mul),
                    BinaryOperator::Divide => arithmetic(ArithOp::Div),
                    BinaryOperator::MyIntegerDivide => arithmetic(ArithOp::IntDiv),
                    op if crate::sql::dialect::is_mod(op) => arithmetic(ArithOp::Mod),
                    BinaryOperator::Xor => {
                        // NULL when either side is, as XOR is.
                        let not = |e: &MergeExpr| MergeExpr::Not(Box::new(e.clone()));
                        let and = |a, b| MergeExpr::And(Box::new(a), Box::new(b));
                        (
                            MergeExpr::Or(
                                Box::new(and(l.clone(), not(&r))),
                                Box::new(and(not(&l), r.clone())),
                            ),
                            Kind::Number,
                        )
                    }
                    BinaryOperator::And => (MergeExpr::And(Box::new(l), Box::new(r)), Kind::Number),
                    BinaryOperator::Or => (MergeExpr::Or(Box::new(l), Box::new(r)), Kind::Number),
                    other => return refuse(format!("operator {other}")),
                }
            }
            Expr::UnaryOp { op, expr: inner } => {
                let (e, kind) = self.condition(inner)?;
                match op {
                    UnaryOperator::Not => (MergeExpr::Not(Box::new(e)), Kind::Number),
                    UnaryOperator::Plus => (e, kind),
                    UnaryOperator::Minus => (
                        MergeExpr::arithmetic(ArithOp::Sub, MergeExpr::Literal(Literal::Int(0)), e),
                        Kind::Number,
                    ),
                    other => return refuse(format!("operator {other}")),
                }
            }
            Expr::IsNull(inner) => {
                let (e, _) = self.condition(inner)?;
                (MergeExpr::IsNull(Box::new(e)), Kind::Number)
            }
            Expr::IsNotNull(inner) => {
                let (e, _) = self.condition(inner)?;
                (
                    MergeExpr::Not(Box::new(MergeExpr::IsNull(Box::new(e)))),
                    Kind::Number,
                )
            }
            Expr::Between {
                expr: inner,
                negated,
                low,
                high,
            } => {
                let ge = self.condition(&binary(inner, BinaryOperator::GtEq, low))?.0;
                let le = self
                    .condition(&binary(inner, BinaryOperator::LtEq, high))?
                    .0;
                let between = MergeExpr::And(Box::new(ge), Box::new(le));
                (negate(between, *negated), Kind::Number)
            }
            Expr::InList {
                expr: inner,
                list,
                negated,
            } => {
                let mut any: Option<MergeExpr> = None;
                for item in list {
                    let eq = self.condition(&binary(inner, BinaryOperator::Eq, item))?.0;
                    any = Some(match any {
                        None => eq,
                        Some(left) => MergeExpr::Or(Box::new(left), Box::new(eq)),
                    });
                }
                let Some(any) = any else {
                    return refuse("an empty IN list".into());
                };
                (negate(any, *negated), Kind::Number)
            }
            other => return refuse(construct(other)),
        })
    }

    /// What the merge reads for the aggregate in `column`: its merged
    /// value, except an AVG, whose value inside MySQL is its SUM divided by
    /// its COUNT to more digits than the AVG prints.
    /// So is a variance's: from its merged VAR_POP and COUNT, every digit.
    fn aggregate_value(&self, column: usize) -> MergeExpr {
        let function = self
            .spec
            .aggregates
            .iter()
            .find(|a| a.column == column)
            .map(|a| a.function);
        let col = MergeExpr::Column;
        match function {
            Some(Aggregate::Avg { sum, count }) => {
                MergeExpr::arithmetic(ArithOp::Div, col(sum), col(count))
            }
            Some(Aggregate::Variance {
                count,
                var_pop,
                sample,
                root,
                ..
            }) => {
                let variance = if sample {
                    // VAR_POP × n / (n - 1): NULL for one value.
                    MergeExpr::arithmetic(
                        ArithOp::Div,
                        MergeExpr::arithmetic(ArithOp::Mul, col(var_pop), col(count)),
                        MergeExpr::arithmetic(
                            ArithOp::Sub,
                            col(count),
                            MergeExpr::Literal(Literal::Int(1)),
                        ),
                    )
                } else {
                    col(var_pop)
                };
                if root {
                    MergeExpr::Function(Function::Sqrt, vec![variance])
                } else {
                    variance
                }
            }
            _ => col(column),
        }
    }

    /// A scalar function over aggregates the merge evaluates, translated;
    /// `None` for any other function.
    fn function(&mut self, expr: &Expr) -> Result<Option<(MergeExpr, Kind)>, Error> {
        let Expr::Function(function) = expr else {
            return Ok(None);
        };
        let name = aggregate::function_name(function);
        let (merged, arity): (Function, std::ops::RangeInclusive<usize>) = match name.as_str() {
            "ROUND" => (Function::Round, 1..=2),
            "TRUNCATE" => (Function::Truncate, 2..=2),
            "ABS" => (Function::Abs, 1..=1),
            "IFNULL" => (Function::Coalesce, 2..=2),
            "COALESCE" => (Function::Coalesce, 1..=usize::MAX),
            "IF" => (Function::If, 3..=3),
            "CONCAT" => (Function::Concat, 1..=usize::MAX),
            "MOD" => {
                let args = plain_args(function).filter(|a| a.len() == 2);
                let Some([l, r]) = args.as_deref() else {
                    return Ok(None);
                };
                let (l, _) = self.condition(l)?;
                let (r, _) = self.condition(r)?;
                return Ok(Some((
                    MergeExpr::arithmetic(ArithOp::Mod, l, r),
                    Kind::Number,
                )));
            }
            _ => return Ok(None),
        };
        let Some(args) = plain_args(function).filter(|a| arity.contains(&a.len())) else {
            return Ok(None);
        };
        let mut translated = Vec::with_capacity(args.len());
        let mut kinds = Vec::with_capacity(args.len());
        for arg in &args {
            let (e, kind) = self.condition(arg)?;
            translated.push(e);
            kinds.push(kind);
        }
        if matches!(merged, Function::Round | Function::Truncate)
            && !matches!(
                translated.get(1),
                None | Some(MergeExpr::Literal(Literal::Int(_)))
            )
        {
            // The result's scale is the digits argument's value.
            return Ok(None);
        }
        let kind = match merged {
            Function::Round | Function::Truncate | Function::Abs | Function::Sqrt => Kind::Number,
            Function::Concat => Kind::Extreme,
            Function::Coalesce => value_kind(&kinds),
            Function::If => value_kind(&kinds[1..]),
        };
        Ok(Some((MergeExpr::Function(merged, translated), kind)))
    }

    /// A constant the merge can hold: a literal, or a bound numeric `?`.
    fn literal(&self, expr: &Expr) -> Option<Literal> {
        match expr {
            Expr::Nested(inner) => self.literal(inner),
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: inner,
            } => match inner.as_ref() {
                Expr::Value(v) => match &v.value {
                    Value::Number(text, _) => Some(number(&format!("-{text}"))),
                    _ => None,
                },
                _ => None,
            },
            Expr::Value(v) => match &v.value {
                Value::Number(text, _) => Some(number(text)),
                Value::Null => Some(Literal::Null),
                Value::Boolean(b) => Some(Literal::Int(i64::from(*b))),
                Value::SingleQuotedString(s) if !s.contains(['\\', '\'']) => {
                    Some(Literal::String(s.clone()))
                }
                Value::Placeholder(_) => match self.bindings.param(v.span) {
                    Some(Param::Int(i)) => Some(Literal::Int(*i)),
                    Some(Param::UInt(u)) => Some(match i64::try_from(*u) {
                        Ok(i) => Literal::Int(i),
                        Err(_) => Literal::Decimal(u.to_string()),
                    }),
                    Some(Param::Double(d)) => Some(Literal::Double(*d)),
                    Some(Param::Float(f)) => Some(Literal::Double(f64::from(*f))),
                    Some(Param::NULL) => Some(Literal::Null),
                    // Unbound (PREVIEW, prepare): nothing is evaluated.
                    None if !self.bindings.is_bound() => Some(Literal::Null),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    /// How an aliased item's expression compares.
    fn kind_of(&self, target: &Expr) -> Kind {
        match aggregate::as_call(target) {
            Ok(Some(Call::Extreme { .. })) => Kind::Extreme,
            Ok(Some(_)) => Kind::Number,
            _ => Kind::Value,
        }
    }
}

/// The kind of a value that is one of values of `kinds`: a number only
/// when each is; else maybe a string.
fn value_kind(kinds: &[Kind]) -> Kind {
    if kinds.iter().all(|k| *k == Kind::Number) {
        Kind::Number
    } else {
        Kind::Extreme
    }
}

/// A function's arguments when all are plain expressions (no `*`, no
/// names, no clauses).
fn plain_args(function: &sqlparser::ast::Function) -> Option<Vec<Expr>> {
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    if list.duplicate_treatment.is_some()
        || !list.clauses.is_empty()
        || function.over.is_some()
        || function.filter.is_some()
    {
        return None;
    }
    list.args
        .iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// `left op right`, for BETWEEN and IN taken apart.
fn binary(left: &Expr, op: BinaryOperator, right: &Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left.clone()),
        op,
        right: Box::new(right.clone()),
    }
}

fn negate(expr: MergeExpr, negated: bool) -> MergeExpr {
    if negated {
        MergeExpr::Not(Box::new(expr))
    } else {
        expr
    }
}

/// A numeric literal: an integer if it is one, an exact decimal if written
/// without exponent, else a double.
fn number(text: &str) -> Literal {
    if let Ok(i) = text.parse::<i64>() {
        Literal::Int(i)
    } else if !text.contains(['e', 'E']) {
        Literal::Decimal(text.to_string())
    } else {
        Literal::Double(text.parse().unwrap_or(f64::NAN))
    }
}

/// A function's name as written.
fn display_name(expr: &Expr) -> String {
    match expr {
        Expr::Function(f) => f.name.to_string(),
        other => other.to_string(),
    }
}

/// A short name for an expression the merge cannot evaluate.
fn construct(expr: &Expr) -> String {
    let text = expr.to_string();
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("'{}...'", &text[..at]),
        None => format!("'{text}'"),
    }
}
