//! Query parts on sharded tables that need a merge of their own, answered
//! before the statement around them: a UNION's branches that group,
//! aggregate, deduplicate under UNION ALL or have their own ORDER BY ...
//! LIMIT ([`union_branches`]), and derived tables in FROM
//! ([`derived_tables`]). The session runs each as a SELECT of its own
//! (merged like any SELECT) and puts its rows back as a literal table
//! ([`crate::sql::literal_table`]); the statement then reads no more than
//! one node can answer, or merges as a plain UNION.

use crate::error::Error;
use sqlparser::ast::{
    Distinct, GroupByExpr, JoinOperator, ObjectName, Query, Select, SelectItem, SetExpr,
    SetOperator, Statement, TableFactor, TableWithJoins, Visit, VisitMut, Visitor, VisitorMut,
};
use std::ops::ControlFlow;

/// Whether a table name is a sharded table's.
pub type IsSharded<'a> = &'a dyn Fn(&str) -> bool;

/// The branches of a top-level UNION that need their own merge and read a
/// sharded table, left to right, each as a query of its own; none under a
/// WITH clause (run alone, a branch would lose the CTEs it may name).
pub fn union_branches(statement: &Statement, is_sharded: IsSharded<'_>) -> Vec<Query> {
    let mut out = Vec::new();
    if let Statement::Query(query) = statement {
        if is_union(&query.body) && query.with.is_none() {
            collect_branches(&query.body, is_sharded, &mut out);
        }
    }
    out
}

/// Replaces the branches [`union_branches`] lists with `answers` in order.
pub fn replace_union_branches(
    statement: &mut Statement,
    answers: Vec<Query>,
    is_sharded: IsSharded<'_>,
) -> Result<(), Error> {
    let expected = answers.len();
    let mut answers = answers.into_iter();
    let mut used = 0;
    if let Statement::Query(query) = statement {
        if is_union(&query.body) && query.with.is_none() {
            replace_branches(&mut query.body, is_sharded, &mut answers, &mut used);
        }
    }
    if used != expected {
        return Err(Error::internal(
            "UNION branch answers out of step with the statement",
        ));
    }
    Ok(())
}

fn is_union(body: &SetExpr) -> bool {
    matches!(
        body,
        SetExpr::SetOperation {
            op: SetOperator::Union,
            ..
        }
    )
}

/// What a branch is: run alone (`Some`), or walked into (`None`, with its
/// parts to look at).
fn branch_query(body: &SetExpr, is_sharded: IsSharded<'_>) -> Option<Query> {
    match body {
        // One on a broadcast table or none is answered first as well: the
        // union's nodes would repeat or split its groups all the same.
        SetExpr::Select(select) if needs_own_merge(select) => bare(SetExpr::Select(select.clone())),
        // A branch's own WITH goes with it.
        SetExpr::Query(query)
            if (query.order_by.is_some()
                || query.limit_clause.is_some()
                || query.fetch.is_some()
                || query.with.is_some())
                && names_sharded(query.as_ref(), is_sharded) =>
        {
            Some(query.as_ref().clone())
        }
        _ => None,
    }
}

fn collect_branches(body: &SetExpr, is_sharded: IsSharded<'_>, out: &mut Vec<Query>) {
    if let Some(query) = branch_query(body, is_sharded) {
        out.push(query);
        return;
    }
    match body {
        SetExpr::SetOperation { left, right, .. } => {
            collect_branches(left, is_sharded, out);
            collect_branches(right, is_sharded, out);
        }
        SetExpr::Query(query) => collect_branches(&query.body, is_sharded, out),
        _ => {}
    }
}

fn replace_branches(
    body: &mut SetExpr,
    is_sharded: IsSharded<'_>,
    answers: &mut impl Iterator<Item = Query>,
    used: &mut usize,
) {
    if branch_query(body, is_sharded).is_some() {
        if let Some(answer) = answers.next() {
            *used += 1;
            *body = SetExpr::Query(Box::new(answer));
        }
        return;
    }
    match body {
        SetExpr::SetOperation { left, right, .. } => {
            replace_branches(left, is_sharded, answers, used);
            replace_branches(right, is_sharded, answers, used);
        }
        SetExpr::Query(query) => replace_branches(&mut query.body, is_sharded, answers, used),
        _ => {}
    }
}

/// Whether a branch's rows on each node are not its rows: groups, HAVING,
/// aggregates, window functions, DISTINCT (under UNION ALL; under UNION
/// DISTINCT answering it first is exact all the same).
fn needs_own_merge(select: &Select) -> bool {
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
    };
    let distinct = matches!(select.distinct, Some(Distinct::Distinct | Distinct::On(_)));
    let computed = select.projection.iter().any(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            crate::sql::aggregates::find(e).is_some()
        }
        _ => false,
    });
    grouped || select.having.is_some() || distinct || computed
}

/// `body` as a query of its own.
fn bare(body: SetExpr) -> Option<Query> {
    static TEMPLATE: std::sync::OnceLock<Option<Query>> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| match crate::sql::parse("SELECT 1").ok()?.pop()? {
        Statement::Query(query) => Some(*query),
        _ => None,
    });
    let mut query = template.clone()?;
    query.body = Box::new(body);
    Some(query)
}

/// The outermost derived tables of `statement` that read a sharded table,
/// in the order [`replace_derived_tables`] replaces them. A LATERAL one,
/// or one outer-joined with a sharded table in its SELECT (an unmatched
/// row would come from every node), is refused; inner-joined, each node
/// joins its rows with all of the derived table's. Under a WITH clause none
/// is taken: run alone, a part would lose the CTEs it may name.
pub fn derived_tables(
    statement: &Statement,
    is_sharded: IsSharded<'_>,
) -> Result<Vec<Query>, Error> {
    if matches!(statement, Statement::Query(query) if query.with.is_some()) {
        return Ok(Vec::new());
    }
    let mut finder = Finder {
        is_sharded,
        depth: 0,
        taken_at: None,
        found: Vec::new(),
    };
    match Visit::visit(statement, &mut finder) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(finder.found),
    }
}

/// Replaces the derived tables [`derived_tables`] lists with `answers`.
pub fn replace_derived_tables(
    statement: &mut Statement,
    answers: Vec<Query>,
    is_sharded: IsSharded<'_>,
) -> Result<(), Error> {
    let expected = answers.len();
    if expected == 0 {
        return Ok(());
    }
    let mut replacer = Replacer {
        is_sharded,
        answers: answers.into_iter(),
        used: 0,
    };
    let _ = VisitMut::visit(statement, &mut replacer);
    if replacer.used != expected {
        return Err(Error::internal(
            "derived table answers out of step with the statement",
        ));
    }
    Ok(())
}

struct Finder<'a> {
    is_sharded: IsSharded<'a>,
    /// Table factors entered and not yet left.
    depth: usize,
    /// The depth of the derived table taken, while inside it.
    taken_at: Option<usize>,
    found: Vec<Query>,
}

impl Visitor for Finder<'_> {
    type Break = Error;
    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Error> {
        if self.taken_at.is_some() {
            return ControlFlow::Continue(());
        }
        let mut factors = Vec::new();
        let mut inner_only = true;
        for from in &select.from {
            from_factors(from, &mut factors, &mut inner_only);
        }
        let derived = factors.iter().any(|f| {
            matches!(f, TableFactor::Derived { subquery, .. } if names_sharded(subquery.as_ref(), self.is_sharded))
        });
        let sharded = factors.iter().find_map(|f| match f {
            TableFactor::Table { .. } => first_sharded(*f, self.is_sharded),
            _ => None,
        });
        match (derived, sharded) {
            // Inner joins only: each node's rows meet all of the derived
            // table's, every joined row comes from one node. An outer join
            // could repeat a derived row unmatched on every node.
            (true, Some(table)) if !inner_only => ControlFlow::Break(Error::not_supported(format!(
                "derived table on sharded table outer-joined with sharded table '{table}' across data nodes"
            ))),
            _ => ControlFlow::Continue(()),
        }
    }
    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Error> {
        self.depth += 1;
        if self.taken_at.is_some() {
            return ControlFlow::Continue(());
        }
        if let TableFactor::Derived {
            lateral, subquery, ..
        } = factor
        {
            if names_sharded(subquery.as_ref(), self.is_sharded) {
                if *lateral {
                    return ControlFlow::Break(Error::not_supported(
                        "LATERAL derived table on sharded tables across data nodes",
                    ));
                }
                self.taken_at = Some(self.depth);
                self.found.push(subquery.as_ref().clone());
            }
        }
        ControlFlow::Continue(())
    }
    fn post_visit_table_factor(&mut self, _factor: &TableFactor) -> ControlFlow<Error> {
        if self.taken_at == Some(self.depth) {
            self.taken_at = None;
        }
        self.depth = self.depth.saturating_sub(1);
        ControlFlow::Continue(())
    }
}

/// The table factors of a FROM item, through nested joins; `inner_only`
/// is cleared by any join but an inner or cross one.
fn from_factors<'s>(
    from: &'s TableWithJoins,
    out: &mut Vec<&'s TableFactor>,
    inner_only: &mut bool,
) {
    let mut factor = |factor: &'s TableFactor, out: &mut Vec<&'s TableFactor>| match factor {
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => from_factors(table_with_joins, out, inner_only),
        other => out.push(other),
    };
    factor(&from.relation, out);
    for join in &from.joins {
        factor(&join.relation, out);
    }
    if !from.joins.iter().all(|join| {
        matches!(
            join.join_operator,
            JoinOperator::Join(_)
                | JoinOperator::Inner(_)
                | JoinOperator::CrossJoin(_)
                | JoinOperator::StraightJoin(_)
        )
    }) {
        *inner_only = false;
    }
}

struct Replacer<'a, I> {
    is_sharded: IsSharded<'a>,
    answers: I,
    used: usize,
}

impl<I: Iterator<Item = Query>> VisitorMut for Replacer<'_, I> {
    type Break = ();
    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        // What replaces a derived table reads no table: nothing inside it is taken again.
        if let TableFactor::Derived { subquery, .. } = factor {
            if names_sharded(subquery.as_ref(), self.is_sharded) {
                let Some(answer) = self.answers.next() else {
                    return ControlFlow::Break(());
                };
                self.used += 1;
                **subquery = answer;
            }
        }
        ControlFlow::Continue(())
    }
}

/// Whether `node` names a sharded table anywhere.
pub fn names_sharded<T: Visit + ?Sized>(node: &T, is_sharded: IsSharded<'_>) -> bool {
    first_sharded(node, is_sharded).is_some()
}

/// The first sharded table `node` names.
fn first_sharded<T: Visit + ?Sized>(node: &T, is_sharded: IsSharded<'_>) -> Option<String> {
    struct Tables<'a>(IsSharded<'a>);
    impl Visitor for Tables<'_> {
        type Break = String;
        fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<String> {
            match relation.0.last().and_then(|p| p.as_ident()) {
                Some(ident) if (self.0)(&ident.value) => ControlFlow::Break(ident.value.clone()),
                _ => ControlFlow::Continue(()),
            }
        }
    }
    match node.visit(&mut Tables(is_sharded)) {
        ControlFlow::Break(name) => Some(name),
        ControlFlow::Continue(()) => None,
    }
}

#[cfg(test)]
mod tests;
