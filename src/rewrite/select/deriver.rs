//! The derivation's builder: the unit's select list grown by what ORDER
//! BY, GROUP BY, the aggregates and HAVING need, and the merge description
//! that names those columns.

use super::aggregate::{self, Call, DistinctFunction, Found};
use super::columns::{self, Columns};
use super::limit::Limit;
use super::{number, order_by_expr, position, refuse};
use crate::error::Error;
use crate::merge::{
    Aggregate, AggregateColumn, ComputedColumn, SelectMerge, SortKey, Weight, MAX_DISTINCT_TUPLE,
};
use crate::sql::params::Bindings;
use sqlparser::ast::{Expr, OrderByExpr, Query, VisitMut, VisitorMut};
use std::ops::ControlFlow;

/// The builder of one derivation.
pub(super) struct Deriver<'a> {
    /// The unit's select list.
    pub(super) columns: Columns,
    /// The description so far.
    pub(super) spec: SelectMerge,
    /// The bound parameters (HAVING reads bound numbers).
    pub(super) bindings: &'a Bindings<'a>,
    /// The client's GROUP BY expressions.
    pub(super) group_exprs: Vec<Expr>,
    /// What the units also group by: the values of DISTINCT aggregates.
    pub(super) extra_group_by: Vec<Expr>,
    /// GROUP BY keys (by index) that name an item by its alias, and the
    /// item's column: the units group by its position.
    pub(super) group_by_position: Vec<(usize, usize)>,
    /// What the merge expression being translated is for: HAVING, or a
    /// computed column (names refusals and derived columns).
    pub(super) translating: Translating,
}

/// What a merge expression is translated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Translating {
    /// The HAVING condition.
    Having,
    /// A select-list or ORDER BY expression over aggregates.
    Computed,
}

impl Translating {
    /// The prefix of the derived columns it adds.
    pub(super) fn prefix(self) -> &'static str {
        match self {
            Translating::Having => "HAVING_DERIVED",
            Translating::Computed => "EXPR_DERIVED",
        }
    }

    /// How refusals name where the expression stands.
    pub(super) fn clause(self) -> &'static str {
        match self {
            Translating::Having => "HAVING",
            Translating::Computed => "an expression",
        }
    }
}

/// What happens to the unit's ORDER BY.
pub(super) enum UnitOrder {
    /// The client's, as written.
    Keep,
    /// These keys.
    Set(Vec<OrderByExpr>),
    /// None: the merge sorts.
    Remove,
}

/// How the unit query differs from the client's, besides its columns.
pub(super) struct UnitPlan {
    /// Its ORDER BY.
    pub(super) order: UnitOrder,
    /// Whether it gets `LIMIT offset+limit`.
    pub(super) push_limit: bool,
    /// Rows are plain (no groups, no DISTINCT): a data source's combined
    /// statement may cut them at the unit LIMIT too.
    pub(super) plain_rows: bool,
    /// The HAVING the units keep (grouped queries).
    pub(super) having: Option<Expr>,
}

impl Deriver<'_> {
    /// A query without groups: ORDER BY, LIMIT, DISTINCT.
    pub(super) fn rows(
        &mut self,
        order: &[(Expr, bool)],
        limit: Limit,
        distinct: bool,
    ) -> Result<UnitPlan, Error> {
        if distinct {
            self.spec.distinct = true;
            let items: Vec<usize> = self.columns.items().map(|(c, _)| c).collect();
            for column in items {
                self.weight(column);
            }
        }
        for (expr, descending) in order {
            let column = self.order_column(expr, false)?;
            if distinct && self.columns.is_derived(column) {
                return Err(refuse(
                    "ORDER BY an expression that is not selected, with DISTINCT,",
                ));
            }
            self.sort_key(column, *descending);
        }
        self.spec.streams_sorted = !self.spec.order_by.is_empty();
        Ok(UnitPlan {
            order: UnitOrder::Keep,
            push_limit: limit != Limit::None,
            plain_rows: !distinct,
            having: None,
        })
    }

    /// A query with groups: GROUP BY and aggregates, HAVING, then ORDER
    /// BY, LIMIT and DISTINCT over the groups.
    pub(super) fn groups(
        &mut self,
        order: &[(Expr, bool)],
        limit: Limit,
        distinct: bool,
        having: Option<&Expr>,
    ) -> Result<UnitPlan, Error> {
        let items: Vec<(usize, Expr)> = self.columns.items().map(|(c, e)| (c, e.clone())).collect();
        for (column, expr) in &items {
            match aggregate::as_call(expr)? {
                Some(call) => self.register(*column, call, expr)?,
                None if aggregate::find(expr).is_some() => self.compute(*column, expr)?,
                None => {}
            }
        }
        for (i, expr) in self.group_exprs.clone().iter().enumerate() {
            let column = self.group_column(expr)?;
            if self.by_alias(expr).is_some() {
                // MySQL's GROUP BY prefers a table's column to an alias: the
                // units group by the item the merge groups by, by position.
                self.group_by_position.push((i, column));
            }
            if !self.spec.group_by.contains(&column) {
                self.spec.group_by.push(column);
            }
            self.weight(column);
        }
        if distinct {
            self.spec.distinct = true;
            for (column, _) in &items {
                if !self.spec.aggregates.iter().any(|a| a.column == *column) {
                    self.weight(*column);
                }
            }
        }
        for (expr, descending) in order {
            let column = self.order_column(expr, true)?;
            self.sort_key(column, *descending);
        }
        let unit_having = match having {
            Some(having) => self.having(having, !self.group_exprs.is_empty())?,
            None => None,
        };
        let group_by = self.spec.group_by.clone();
        let streams = !group_by.is_empty()
            && self
                .spec
                .order_by
                .iter()
                .all(|key| group_by.contains(&key.column));
        let order = if streams {
            for column in group_by {
                if !self.spec.order_by.iter().any(|k| k.column == column) {
                    self.spec.order_by.push(SortKey {
                        column,
                        descending: false,
                    });
                }
            }
            self.spec.streams_sorted = true;
            let keys = self
                .spec
                .order_by
                .iter()
                .map(|key| order_by_expr(self.unit_key(key.column), key.descending))
                .collect();
            UnitOrder::Set(keys)
        } else {
            UnitOrder::Remove
        };
        let push_limit = streams
            && self.spec.having.is_none()
            && self.extra_group_by.is_empty()
            && !distinct
            && limit != Limit::None;
        Ok(UnitPlan {
            order,
            push_limit,
            plain_rows: false,
            having: unit_having,
        })
    }

    /// Adds an ORDER BY key (the first of equal keys decides).
    fn sort_key(&mut self, column: usize, descending: bool) {
        if !self.spec.order_by.iter().any(|k| k.column == column) {
            self.spec.order_by.push(SortKey { column, descending });
        }
        self.weight(column);
    }

    /// The column an ORDER BY key sorts on: a position, an alias, an
    /// expression selected already, or a derived copy.
    fn order_column(&mut self, expr: &Expr, grouped: bool) -> Result<usize, Error> {
        if let Some(n) = position(expr) {
            return self
                .columns
                .position(n, "order clause")?
                .ok_or_else(|| refuse("ORDER BY a position among the columns of a wildcard"));
        }
        let target = match expr {
            Expr::Identifier(ident) => match self.columns.by_alias(&ident.value) {
                Some(Ok(column)) => return Ok(column),
                Some(Err(aliased)) => aliased.clone(),
                None => expr.clone(),
            },
            _ => expr.clone(),
        };
        self.column_of(&target, grouped, "ORDER_BY_DERIVED", "ORDER BY")
    }

    /// The column a GROUP BY key groups on: a position, an expression
    /// selected already (a table's column before an alias, as MySQL
    /// resolves GROUP BY), an alias, or a derived copy.
    fn group_column(&mut self, expr: &Expr) -> Result<usize, Error> {
        if let Some(n) = position(expr) {
            return self
                .columns
                .position(n, "group statement")?
                .ok_or_else(|| refuse("GROUP BY a position among the columns of a wildcard"));
        }
        if let Some(column) = self.columns.find(expr) {
            return Ok(column);
        }
        if let Some(column) = self.by_alias(expr) {
            return Ok(column);
        }
        self.column_of(expr, true, "GROUP_BY_DERIVED", "GROUP BY")
    }

    /// The column of the item `expr` names by its alias, when it is a bare
    /// identifier that is an alias (of an item the merge may name).
    fn by_alias(&self, expr: &Expr) -> Option<usize> {
        match expr {
            Expr::Identifier(ident) => self.columns.by_alias(&ident.value)?.ok(),
            _ => None,
        }
    }

    /// The column holding `expr`: selected already, a derived aggregate, or
    /// a derived copy. `clause` names where it stands, for refusals.
    fn column_of(
        &mut self,
        expr: &Expr,
        grouped: bool,
        prefix: &str,
        clause: &str,
    ) -> Result<usize, Error> {
        if let Some(column) = self.columns.find(expr) {
            return Ok(column);
        }
        if grouped && aggregate::as_call(expr)?.is_some() {
            return self.aggregate_column(expr, prefix);
        }
        if let Some(Found::Aggregate(name)) = aggregate::find(expr) {
            if !grouped {
                return Err(refuse(&format!(
                    "{clause} an expression over aggregate function {name}"
                )));
            }
            let copy = self.expand_aliases(expr);
            let column = self.columns.derive(copy, prefix);
            self.compute(column, expr)?;
            return Ok(column);
        }
        let copy = self.expand_aliases(expr);
        Ok(self.columns.derive(copy, prefix))
    }

    /// Makes column `column`, selecting `expr` (an expression over
    /// aggregates), one the merge computes from the merged aggregates.
    fn compute(&mut self, column: usize, expr: &Expr) -> Result<(), Error> {
        self.translating = Translating::Computed;
        let translated = self.merge_expr(expr);
        self.translating = Translating::Having;
        let expr = translated?;
        self.spec.computed.push(ComputedColumn { column, expr });
        Ok(())
    }

    /// The column of aggregate call `expr`: selected already, or derived
    /// and registered with the merge.
    pub(super) fn aggregate_column(&mut self, expr: &Expr, prefix: &str) -> Result<usize, Error> {
        let Some(call) = aggregate::as_call(expr)? else {
            return Err(Error::internal("an aggregate column of no aggregate"));
        };
        let column = match self.columns.find(expr) {
            Some(column) => column,
            None => self.columns.derive(expr.clone(), prefix),
        };
        if !self.spec.aggregates.iter().any(|a| a.column == column) {
            self.register(column, call, expr)?;
        }
        Ok(column)
    }

    /// Tells the merge how aggregate column `column` (selecting `expr`) merges.
    fn register(&mut self, column: usize, call: Call, expr: &Expr) -> Result<(), Error> {
        let function = match call {
            Call::Count => Aggregate::Count,
            Call::Sum => Aggregate::Sum,
            Call::Bits(bits) => bits,
            Call::Concat(call) => self.concat(call),
            Call::DistinctTuple(args) => {
                let mut values = [0; MAX_DISTINCT_TUPLE];
                for (slot, arg) in values.iter_mut().zip(&args) {
                    *slot = self.columns.find_or_derive(arg, "DISTINCT_DERIVED");
                    self.weight(*slot);
                    let known = |e: &Expr| columns::normalized(e) == columns::normalized(arg);
                    if !self.group_exprs.iter().any(known) && !self.extra_group_by.iter().any(known)
                    {
                        self.extra_group_by.push(arg.clone());
                    }
                }
                Aggregate::CountDistinctTuple {
                    values,
                    width: args.len() as u8,
                }
            }
            Call::Variance { sample, root } => {
                let Some(function) = as_function(expr) else {
                    return Err(Error::internal("a variance that is no function call"));
                };
                Aggregate::Variance {
                    count: self.columns.derive(
                        aggregate::renamed(function, "COUNT"),
                        "VARIANCE_DERIVED_COUNT",
                    ),
                    sum: self
                        .columns
                        .derive(aggregate::renamed(function, "SUM"), "VARIANCE_DERIVED_SUM"),
                    // As a DOUBLE of every digit: VAR_POP of an exact
                    // argument prints only 4 more decimals.
                    var_pop: self.columns.derive(
                        Expr::Cast {
                            kind: sqlparser::ast::CastKind::Cast,
                            expr: Box::new(aggregate::renamed(function, "VAR_POP")),
                            data_type: sqlparser::ast::DataType::Double(
                                sqlparser::ast::ExactNumberInfo::None,
                            ),
                            format: None,
                        },
                        "VARIANCE_DERIVED_M2",
                    ),
                    sample,
                    root,
                }
            }
            Call::Extreme { max, .. } => {
                self.weight(column);
                if max {
                    Aggregate::Max
                } else {
                    Aggregate::Min
                }
            }
            Call::Avg { .. } => {
                let Some(function) = as_function(expr) else {
                    return Err(Error::internal("AVG that is no function call"));
                };
                let sum = aggregate::renamed(function, "SUM");
                let count = aggregate::renamed(function, "COUNT");
                Aggregate::Avg {
                    sum: self.columns.derive(sum, "AVG_DERIVED_SUM"),
                    count: self.columns.derive(count, "AVG_DERIVED_COUNT"),
                }
            }
            Call::Distinct { function, arg } => {
                let value = self.columns.find_or_derive(&arg, "DISTINCT_DERIVED");
                self.weight(value);
                let known = |e: &Expr| columns::normalized(e) == columns::normalized(&arg);
                if !self.group_exprs.iter().any(known) && !self.extra_group_by.iter().any(known) {
                    self.extra_group_by.push(arg);
                }
                match function {
                    DistinctFunction::Count => Aggregate::CountDistinct { value },
                    DistinctFunction::Sum => Aggregate::SumDistinct { value },
                    DistinctFunction::Avg => Aggregate::AvgDistinct { value },
                }
            }
        };
        self.spec
            .aggregates
            .push(AggregateColumn { column, function });
        Ok(())
    }

    /// Gives `column` a derived `WEIGHT_STRING()` when it may be a string.
    pub(super) fn weight(&mut self, column: usize) {
        if self.spec.weights.iter().any(|w| w.column == column) {
            return;
        }
        // A units' weight of a computed column weighs its partial value: the
        // merge compares the computed value (and refuses a string).
        if self.spec.computed.iter().any(|c| c.column == column) {
            return;
        }
        let Some(expr) = self.columns.expr(column) else {
            return;
        };
        if !aggregate::may_be_string(expr) {
            return;
        }
        let weight_of = columns::call("WEIGHT_STRING", expr.clone());
        let weight = self.columns.derive(weight_of, "WEIGHT_DERIVED");
        self.spec.weights.push(Weight { column, weight });
    }

    /// How the unit's ORDER BY names column `column`: its alias, its
    /// expression, or (an expression named like another item's alias) its
    /// position.
    fn unit_key(&self, column: usize) -> Expr {
        if let Some(alias) = self.columns.alias(column) {
            return Expr::Identifier(alias);
        }
        match self.columns.expr(column) {
            Some(Expr::Identifier(ident)) if self.columns.aliased(&ident.value).is_some() => {
                number(column + 1)
            }
            Some(expr) => expr.clone(),
            None => number(column + 1),
        }
    }

    /// `expr` for a derived column: select items may not name aliases, so
    /// an alias (not also a GROUP BY column) becomes its expression.
    pub(super) fn expand_aliases(&self, expr: &Expr) -> Expr {
        let mut copy = expr.clone();
        let mut expander = Expander {
            deriver: self,
            depth: 0,
        };
        let _ = copy.visit(&mut expander);
        copy
    }
}

/// Replaces aliases by their expressions, outside subqueries.
struct Expander<'d, 'a> {
    deriver: &'d Deriver<'a>,
    depth: usize,
}

impl VisitorMut for Expander<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        if let Expr::Identifier(ident) = expr {
            let grouped_on = self.deriver.group_exprs.iter().any(
                |g| matches!(g, Expr::Identifier(i) if i.value.eq_ignore_ascii_case(&ident.value)),
            );
            if let Some(target) = self
                .deriver
                .columns
                .aliased(&ident.value)
                .filter(|_| !grouped_on)
            {
                *expr = Expr::Nested(Box::new(target.clone()));
            }
        }
        ControlFlow::Continue(())
    }
}

/// The function call `expr` is, looking through parentheses.
fn as_function(expr: &Expr) -> Option<&sqlparser::ast::Function> {
    match expr {
        Expr::Nested(inner) => as_function(inner),
        Expr::Function(function) => Some(function),
        _ => None,
    }
}
