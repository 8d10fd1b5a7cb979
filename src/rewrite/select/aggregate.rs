//! Aggregate calls in a SELECT: which merge and how, which expressions hold
//! one, and which expressions may be strings (whose comparisons need their
//! collation's weight).

use crate::error::Error;
use crate::merge::{Aggregate, MAX_DISTINCT_TUPLE};
use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, DuplicateTreatment, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArguments, Ident, ObjectName, Value,
};

/// An aggregate call the merge can combine across data nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// COUNT(*), COUNT(x).
    Count,
    /// SUM(x).
    Sum,
    /// MIN(x) or MAX(x) (`max`): compared as the column compares.
    Extreme {
        /// MAX.
        max: bool,
        /// The argument, for its weight when it may be a string.
        arg: Expr,
    },
    /// AVG(x): merged from a derived SUM(x) and COUNT(x).
    Avg {
        /// The argument.
        arg: Expr,
    },
    /// COUNT / SUM / AVG (DISTINCT x): the units also group by `x`.
    Distinct {
        /// Which one.
        function: DistinctFunction,
        /// The argument.
        arg: Expr,
    },
    /// BIT_AND, BIT_OR, BIT_XOR.
    Bits(Aggregate),
    /// COUNT(DISTINCT a, b, ...): the units also group by every one.
    DistinctTuple(Vec<Expr>),
    /// GROUP_CONCAT, JSON_ARRAYAGG, JSON_OBJECTAGG.
    Concat(super::concat::ConcatCall),
    /// The variances and standard deviations: merged from a derived
    /// COUNT(x), SUM(x) and VAR_POP(x).
    Variance {
        /// Divides by n - 1.
        sample: bool,
        /// The square root.
        root: bool,
    },
}

/// The aggregates over distinct values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistinctFunction {
    /// COUNT(DISTINCT x).
    Count,
    /// SUM(DISTINCT x).
    Sum,
    /// AVG(DISTINCT x).
    Avg,
}

/// Reads `function` as an aggregate call: `Ok(None)` when it is no
/// aggregate, an error naming the construct when it is one the merge cannot
/// combine (GROUP_CONCAT, STD, COUNT(DISTINCT a, b), ...).
pub fn call(function: &Function) -> Result<Option<Call>, Error> {
    let name = function_name(function);
    if !crate::sql::aggregates::AGGREGATES.contains(&name.as_str()) {
        return Ok(None);
    }
    let refuse = |what: &str| Err(Error::not_supported(format!("{what} across data nodes")));
    if function.over.is_some() {
        return refuse(&format!("window function {name}"));
    }
    let FunctionArguments::List(list) = &function.args else {
        return refuse(&format!(
            "aggregate function {name} without an argument list"
        ));
    };
    // GROUP_CONCAT and the JSON aggregates read their own clauses.
    if function.filter.is_none()
        && function.within_group.is_empty()
        && function.null_treatment.is_none()
        && matches!(function.parameters, FunctionArguments::None)
    {
        if let Some(call) = super::concat::read(&name, list)? {
            return Ok(Some(call));
        }
    }
    if function.filter.is_some()
        || !function.within_group.is_empty()
        || function.null_treatment.is_some()
        || !list.clauses.is_empty()
        || !matches!(function.parameters, FunctionArguments::None)
    {
        return refuse(&format!("aggregate function {name} with clauses"));
    }
    let distinct = list.duplicate_treatment == Some(DuplicateTreatment::Distinct);
    let args: Vec<&FunctionArgExpr> = list
        .args
        .iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(arg) => Some(arg),
            _ => None,
        })
        .collect::<Option<_>>()
        .unwrap_or_default();
    let single = match args.as_slice() {
        [FunctionArgExpr::Expr(arg)] => Some(arg.clone()),
        _ => None,
    };
    let Some(arg) = single else {
        return match (name.as_str(), distinct, args.as_slice()) {
            ("COUNT", false, [FunctionArgExpr::Wildcard]) => Ok(Some(Call::Count)),
            ("COUNT", true, many) if many.len() <= MAX_DISTINCT_TUPLE => {
                let exprs: Option<Vec<Expr>> = many
                    .iter()
                    .map(|a| match a {
                        FunctionArgExpr::Expr(e) => Some(e.clone()),
                        _ => None,
                    })
                    .collect();
                match exprs {
                    Some(exprs) => Ok(Some(Call::DistinctTuple(exprs))),
                    None => refuse("COUNT(DISTINCT ...) of these arguments"),
                }
            }
            ("COUNT", true, _) => refuse("COUNT(DISTINCT ...) of more than 4 expressions"),
            _ => refuse(&format!("aggregate function {name} of these arguments")),
        };
    };
    let distinct_of = |function| Call::Distinct {
        function,
        arg: arg.clone(),
    };
    Ok(Some(match (name.as_str(), distinct) {
        ("COUNT", false) => Call::Count,
        ("COUNT", true) => distinct_of(DistinctFunction::Count),
        ("SUM", false) => Call::Sum,
        ("SUM", true) => distinct_of(DistinctFunction::Sum),
        ("AVG", false) => Call::Avg { arg },
        ("AVG", true) => distinct_of(DistinctFunction::Avg),
        ("MIN", _) => Call::Extreme { max: false, arg },
        ("MAX", _) => Call::Extreme { max: true, arg },
        ("STD" | "STDDEV" | "STDDEV_POP", false) => Call::Variance {
            sample: false,
            root: true,
        },
        ("STDDEV_SAMP", false) => Call::Variance {
            sample: true,
            root: true,
        },
        ("VARIANCE" | "VAR_POP", false) => Call::Variance {
            sample: false,
            root: false,
        },
        ("VAR_SAMP", false) => Call::Variance {
            sample: true,
            root: false,
        },
        ("BIT_AND", false) => Call::Bits(Aggregate::BitAnd),
        ("BIT_OR", false) => Call::Bits(Aggregate::BitOr),
        ("BIT_XOR", false) => Call::Bits(Aggregate::BitXor),
        _ => return refuse(&format!("aggregate function {name}")),
    }))
}

/// The aggregate call `expr` is (looking through parentheses), if it is one.
pub fn as_call(expr: &Expr) -> Result<Option<Call>, Error> {
    match expr {
        Expr::Nested(inner) => as_call(inner),
        Expr::Function(function) => call(function),
        _ => Ok(None),
    }
}

/// `function` renamed: `AVG(x)` → `SUM(x)` keeps the argument as written.
pub fn renamed(function: &Function, name: &str) -> Expr {
    let mut copy = function.clone();
    copy.name = ObjectName::from(vec![Ident::new(name)]);
    Expr::Function(copy)
}

/// The function's name, upper-cased.
pub fn function_name(function: &Function) -> String {
    function.name.to_string().to_ascii_uppercase()
}

pub use crate::sql::aggregates::{find, Found};

/// Functions whose result is a number or a temporal value, never a string.
const NOT_STRINGS: &[&str] = &[
    "ABS",
    "BIT_LENGTH",
    "CEIL",
    "CEILING",
    "CHAR_LENGTH",
    "CHARACTER_LENGTH",
    "CRC32",
    "CURDATE",
    "CURRENT_DATE",
    "CURRENT_TIMESTAMP",
    "DATE",
    "DATEDIFF",
    "DAY",
    "DAYOFMONTH",
    "DAYOFWEEK",
    "DAYOFYEAR",
    "FLOOR",
    "HOUR",
    "LENGTH",
    "MINUTE",
    "MOD",
    "MONTH",
    "NOW",
    "OCTET_LENGTH",
    "QUARTER",
    "ROUND",
    "SECOND",
    "SIGN",
    "TIMESTAMPDIFF",
    "TRUNCATE",
    "UNIX_TIMESTAMP",
    "WEEK",
    "YEAR",
];

/// Whether `expr` may be a string of a non-binary collation: every
/// comparison of it then goes through its `WEIGHT_STRING()`. Only what is
/// surely a number, a temporal value or a truth value answers no.
pub fn may_be_string(expr: &Expr) -> bool {
    use BinaryOperator::*;
    match expr {
        Expr::Nested(inner) => may_be_string(inner),
        Expr::Value(v) => !matches!(v.value, Value::Number(..) | Value::Null | Value::Boolean(_)),
        Expr::BinaryOp { op, .. } if crate::sql::dialect::is_mod(op) => false,
        Expr::BinaryOp { op, .. } => !matches!(
            op,
            Plus | Minus
                | Multiply
                | Divide
                | Modulo
                | MyIntegerDivide
                | BitwiseAnd
                | BitwiseOr
                | BitwiseXor
                | Gt
                | Lt
                | GtEq
                | LtEq
                | Spaceship
                | Eq
                | NotEq
                | And
                | Or
                | Xor
        ),
        Expr::UnaryOp { .. }
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::Exists { .. }
        | Expr::Extract { .. } => false,
        Expr::Cast {
            kind: CastKind::Cast,
            data_type,
            ..
        } => !matches!(
            data_type,
            DataType::Signed
                | DataType::SignedInteger
                | DataType::Unsigned
                | DataType::UnsignedInteger
                | DataType::Decimal(_)
                | DataType::Double(_)
                | DataType::Float(_)
                | DataType::Date
                | DataType::Datetime(_)
                | DataType::Time(..)
        ),
        Expr::Function(function) => match as_call(expr) {
            Ok(Some(Call::Extreme { arg, .. })) => may_be_string(&arg),
            Ok(Some(_)) => false,
            _ => !NOT_STRINGS.contains(&function_name(function).as_str()),
        },
        _ => true,
    }
}
