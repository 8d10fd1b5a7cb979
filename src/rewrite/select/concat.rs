//! GROUP_CONCAT, JSON_ARRAYAGG and JSON_OBJECTAGG across data nodes: which
//! calls merge, and what the units return for them (see `merge::concat`).
//!
//! - Plain `GROUP_CONCAT(a, ... [SEPARATOR s])`, `JSON_ARRAYAGG(x)`,
//!   `JSON_OBJECTAGG(k, v)`: kept; the merge joins the units' partials.
//! - With DISTINCT or ORDER BY inside: kept (for the column's type), plus
//!   every argument and ORDER BY key as `GROUP_CONCAT_DERIVED_n`; the units
//!   also group by them (a string argument by `CAST(x AS BINARY)`, so that
//!   values equal only by collation stay apart) and, without DISTINCT,
//!   select `COUNT(*)` for how many rows each combination stands for.
//! - Always `@@group_concat_max_len AS GROUP_CONCAT_DERIVED_MAX_0`: the
//!   session's limit, which the merge refuses to reach.

use super::aggregate::{self, Call};
use super::columns;
use super::deriver::Deriver;
use crate::error::Error;
use crate::merge::{Aggregate, ConcatForm, ConcatPlan, SelectMerge, SortKey};
use sqlparser::ast::{
    CastKind, DataType, DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr,
    FunctionArgumentClause, FunctionArgumentList, Ident, OrderBySort, Value,
};

/// A GROUP_CONCAT or JSON aggregate call, read.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcatCall {
    /// Which aggregate, and how it merges.
    pub form: ConcatForm,
    /// The arguments.
    pub args: Vec<Expr>,
    /// DISTINCT.
    pub distinct: bool,
    /// ORDER BY inside: (key, descending).
    pub order: Vec<(Expr, bool)>,
    /// SEPARATOR (`,` unless given).
    pub separator: String,
}

/// Reads a call of GROUP_CONCAT, JSON_ARRAYAGG or JSON_OBJECTAGG (`name`)
/// with argument list `list`; `None` for any other function.
pub fn read(name: &str, list: &FunctionArgumentList) -> Result<Option<Call>, Error> {
    let refuse = |what: &str| Err(Error::not_supported(format!("{what} across data nodes")));
    let json = match name {
        "GROUP_CONCAT" => None,
        "JSON_ARRAYAGG" => Some(ConcatForm::JsonArray),
        "JSON_OBJECTAGG" => Some(ConcatForm::JsonObject),
        _ => return Ok(None),
    };
    let args: Option<Vec<Expr>> = list
        .args
        .iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect();
    let Some(args) = args.filter(|a| !a.is_empty()) else {
        return refuse(&format!("aggregate function {name} of these arguments"));
    };
    let distinct = list.duplicate_treatment == Some(DuplicateTreatment::Distinct);
    let mut order = Vec::new();
    let mut separator = ",".to_string();
    for clause in &list.clauses {
        match clause {
            FunctionArgumentClause::OrderBy(keys) => {
                for key in keys {
                    if key.with_fill.is_some() || key.options.nulls_first.is_some() {
                        return refuse(&format!("{name}(... ORDER BY ... NULLS FIRST / LAST)"));
                    }
                    if matches!(&key.expr, Expr::Value(_)) {
                        return refuse(&format!("{name}(... ORDER BY a position or constant)"));
                    }
                    let descending = match key.options.sort {
                        None | Some(OrderBySort::Asc) => false,
                        Some(OrderBySort::Desc) => true,
                        Some(OrderBySort::Using(_)) => {
                            return refuse(&format!("{name}(... ORDER BY ... USING)"))
                        }
                    };
                    order.push((key.expr.clone(), descending));
                }
            }
            FunctionArgumentClause::Separator(value) if json.is_none() => match &value.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                    separator = s.clone()
                }
                _ => return refuse("GROUP_CONCAT(... SEPARATOR of this form)"),
            },
            _ => return refuse(&format!("aggregate function {name} with clauses")),
        }
    }
    let form = match json {
        Some(_) if distinct || !order.is_empty() => {
            return refuse(&format!("{name} with DISTINCT or ORDER BY"))
        }
        Some(form) => form,
        None if distinct || !order.is_empty() => ConcatForm::Values,
        None => ConcatForm::Joined,
    };
    let width_ok = match form {
        ConcatForm::JsonArray => args.len() == 1,
        ConcatForm::JsonObject => args.len() == 2,
        _ => true,
    };
    if !width_ok {
        return refuse(&format!("aggregate function {name} of these arguments"));
    }
    Ok(Some(Call::Concat(ConcatCall {
        form,
        args,
        distinct,
        order,
        separator,
    })))
}

impl Deriver<'_> {
    /// What aggregate column `column` (a GROUP_CONCAT or JSON aggregate)
    /// needs from the units, and how it merges.
    pub(super) fn concat(&mut self, call: ConcatCall) -> Aggregate {
        let max_len = self.columns.derive(
            Expr::Identifier(Ident::new("@@group_concat_max_len")),
            "GROUP_CONCAT_DERIVED_MAX",
        );
        let mut plan = ConcatPlan {
            form: call.form,
            max_len,
            separator: call.separator,
            values: Vec::new(),
            distinct: call.distinct,
            order: Vec::new(),
            count: None,
        };
        if call.form == ConcatForm::Values {
            for arg in &call.args {
                let column = self.columns.find_or_derive(arg, "GROUP_CONCAT_DERIVED");
                if call.distinct {
                    self.weight(column);
                }
                plan.values.push(column);
                self.group_also_by(byte_exact(arg));
            }
            for (key, descending) in &call.order {
                let column = self.columns.find_or_derive(key, "GROUP_CONCAT_DERIVED");
                self.weight(column);
                plan.order.push(SortKey {
                    column,
                    descending: *descending,
                });
                self.group_also_by(key.clone());
            }
            if !call.distinct {
                let count = count_star();
                plan.count = Some(
                    self.columns
                        .find_or_derive(&count, "GROUP_CONCAT_DERIVED_COUNT"),
                );
            }
        }
        self.spec.concats.push(plan);
        Aggregate::Concat {
            plan: self.spec.concats.len() - 1,
        }
    }

    /// Makes the units group by `expr` too, unless they already do.
    fn group_also_by(&mut self, expr: Expr) {
        let key = columns::normalized(&expr);
        let known = |e: &Expr| columns::normalized(e) == key;
        if !self.extra_group_by.iter().any(known) {
            self.extra_group_by.push(expr);
        }
    }
}

/// `COUNT(*)`.
fn count_star() -> Expr {
    let mut count = columns::call("COUNT", Expr::Value(Value::Null.into()));
    if let Expr::Function(f) = &mut count {
        if let sqlparser::ast::FunctionArguments::List(list) = &mut f.args {
            list.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Wildcard)];
        }
    }
    count
}

/// `expr` grouped byte for byte: a string through `CAST(... AS BINARY)`.
fn byte_exact(expr: &Expr) -> Expr {
    if !aggregate::may_be_string(expr) {
        return expr.clone();
    }
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr.clone()),
        data_type: DataType::Binary(None),
        format: None,
    }
}

/// Refuses what the merge of a concatenation cannot serve: ordering,
/// comparing or deduplicating its merged value, or an expression over it
/// (they would read the units' partials).
/// `visible`: the client's columns.
pub fn check_uses(spec: &SelectMerge, visible: usize) -> Result<(), Error> {
    let concat_columns: Vec<usize> = spec
        .aggregates
        .iter()
        .filter(|a| matches!(a.function, Aggregate::Concat { .. }))
        .map(|a| a.column)
        .collect();
    if concat_columns.is_empty() {
        return Ok(());
    }
    let mut named = Vec::new();
    for computed in &spec.computed {
        computed.expr.visit(&mut |e| {
            if let crate::merge::Expr::Column(c) = e {
                named.push(*c)
            }
        });
    }
    if let Some(having) = &spec.having {
        having.visit(&mut |e| {
            if let crate::merge::Expr::Column(c) = e {
                named.push(*c)
            }
        });
    }
    named.extend(spec.order_by.iter().map(|k| k.column));
    named.extend(spec.weights.iter().map(|w| w.column));
    if spec.distinct {
        named.extend(0..visible);
    }
    if named.iter().any(|c| concat_columns.contains(c)) {
        return Err(Error::not_supported(
            "ORDER BY, HAVING, DISTINCT or an expression over GROUP_CONCAT or a JSON aggregate across data nodes",
        ));
    }
    Ok(())
}
