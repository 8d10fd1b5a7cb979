//! The pure kernel: a statement, its parameters and the rules → an
//! [`ExecutionPlan`]. The plan is data: the golden tests, `PREVIEW`, the
//! offline `shardgate preview` and execution all use the same value, so what a
//! DBA previews is exactly what runs.
//!
//! [`plan`] parses the statement ([`crate::sql`]), routes it to data nodes
//! ([`crate::route`]) and rewrites one copy per execution unit
//! ([`crate::rewrite`]): per data node, or per data source for a SELECT
//! whose rows merge ([`MergePlan::Select`]). A plan always has at least one
//! unit: a statement whose conditions match no row still runs on the first
//! data node, so the client gets its column metadata (or its OK with 0
//! affected rows).

use crate::error::Error;
use crate::keygen::GeneratedKey;
use crate::sql::params::Bindings;
use crate::{rewrite, route, sql};
use mysql_common::value::Value;

pub use crate::plan_model::{ExecutionPlan, ExecutionUnit, MergePlan, PlanContext};

/// Plans one statement: parse → route → rewrite. `params` are the
/// COM_STMT_EXECUTE values for the `?`s in order (empty for the text
/// protocol; for PREVIEW a `?` then stays unknown: it scatters, and stays
/// `?` in the unit SQL). Each unit gets exactly the params its SQL needs.
pub fn plan(sql: &str, params: &[Value], ctx: &PlanContext<'_>) -> Result<ExecutionPlan, Error> {
    if params.is_empty() {
        if let Some(bulk) = sql::parse_bulk(sql) {
            if let Some(plan) = plan_bulk(bulk, ctx)? {
                return Ok(plan);
            }
        }
    }
    plan_parsed(sql::parse(sql), params, ctx)
}

/// [`plan`] for an execute of a prepared statement: its text, the same
/// at every execute, is parsed once per worker thread, and an execute
/// whose route comes out as one seen before copies that route's units and
/// picks its values ([`cache`]); the same plan as [`plan`] gives.
pub fn plan_execute(
    sql: &str,
    params: &[Value],
    ctx: &PlanContext<'_>,
) -> Result<ExecutionPlan, Error> {
    if sql.len() <= cache::MAX_TEXT {
        if let Some(planned) = cache::plan_cached(sql, cache::Fill::Values(params), ctx) {
            return planned;
        }
    }
    plan_parsed(sql::parse_cached(sql), params, ctx)
}

/// [`plan`] for a text statement (no params): one of a shape seen before
/// (the same text but for its value literals, [`sql::shape`]) reuses
/// that shape's plan template ([`cache`]), its literals spliced back in
/// as written; the same plan as [`plan`] gives. What the template path
/// refuses is planned afresh, for [`plan`]'s answer.
pub fn plan_text(
    sql: &str,
    params: &[Value],
    ctx: &PlanContext<'_>,
) -> Result<ExecutionPlan, Error> {
    if !params.is_empty() || sql.len() > cache::MAX_TEXT {
        return plan(sql, params, ctx);
    }
    let Some(shape) = sql::shape::shape(sql) else {
        return plan(sql, params, ctx);
    };
    let fill = cache::Fill::Texts {
        values: &shape.values,
        texts: &shape.texts,
    };
    match cache::plan_cached(&shape.text, fill, ctx) {
        Some(Ok(planned)) => Ok(planned),
        _ => plan(sql, params, ctx),
    }
}

/// [`plan`] with the statement parsed into one AST.
fn plan_parsed(
    parsed: Result<Vec<sqlparser::ast::Statement>, sqlparser::parser::ParserError>,
    params: &[Value],
    ctx: &PlanContext<'_>,
) -> Result<ExecutionPlan, Error> {
    let mut statements = parsed.map_err(|e| {
        Error::parse(format!(
            "{e} (a statement on sharded tables must be understood by shardgate's parser)"
        ))
    })?;
    let statement = match statements.len() {
        0 => return Err(Error::empty_query()),
        1 => statements.remove(0),
        _ => return Err(Error::not_supported("several statements in one plan")),
    };
    let mut statement = statement;
    rewrite::drop_defaulted_key(&mut statement, ctx.schema);
    let bindings = Bindings::new(&statement, params)?;
    let route = route::route(&statement, ctx, &bindings)?;
    let (units, merge) = rewrite::rewrite(statement, &route, &bindings, &ctx.schema.name)?;
    Ok(ExecutionPlan {
        units,
        merge,
        generated_key: first_generated(&route),
    })
}

/// The unit that describes a query's columns without reading its rows:
/// the query with `LIMIT 0` on the first node alone
/// ([`route::route_first_node`]). For a query whose derived tables or
/// UNION branches are answered first, the types are then exactly
/// MariaDB's for the whole query.
pub fn plan_describe(
    sql: &str,
    params: &[Value],
    ctx: &PlanContext<'_>,
) -> Result<ExecutionUnit, Error> {
    let mut statement = one_statement(sql)?;
    let sqlparser::ast::Statement::Query(query) = &mut statement else {
        return Err(Error::internal("a described statement that is no query"));
    };
    query.limit_clause = Some(sqlparser::ast::LimitClause::LimitOffset {
        limit: Some(sql::parse_expr("0").map_err(|e| Error::internal(e.to_string()))?),
        offset: None,
        limit_by: Vec::new(),
    });
    query.fetch = None;
    first_node(statement, params, ctx)
}

/// The unit of a query on the first node alone, whatever rows it needs
/// ([`route::route_first_node`]): for what reads no rows of it.
pub fn plan_first_node(
    sql: &str,
    params: &[Value],
    ctx: &PlanContext<'_>,
) -> Result<ExecutionUnit, Error> {
    first_node(one_statement(sql)?, params, ctx)
}

/// The one statement of `sql`, parsed.
fn one_statement(sql: &str) -> Result<sqlparser::ast::Statement, Error> {
    let mut statements = sql::parse(sql).map_err(|e| Error::parse(e.to_string()))?;
    if statements.len() != 1 {
        return Err(Error::not_supported("several statements in one plan"));
    }
    Ok(statements.remove(0))
}

fn first_node(
    statement: sqlparser::ast::Statement,
    params: &[Value],
    ctx: &PlanContext<'_>,
) -> Result<ExecutionUnit, Error> {
    let bindings = Bindings::new(&statement, params)?;
    let route = route::route_first_node(&statement, ctx, &bindings)?;
    let (mut units, _) = rewrite::rewrite(statement, &route, &bindings, &ctx.schema.name)?;
    units
        .pop()
        .ok_or_else(|| Error::internal("a described statement without a unit"))
}

/// A long INSERT of plain literals, planned from its literals without an
/// expression per value ([`sql::Bulk`]); the same plan as [`plan`] gives
/// (the tests compare them). `None` for the rare bulk INSERT this path
/// leaves to [`plan`]: one with a `?` or a defaulted key column.
fn plan_bulk(bulk: sql::Bulk<'_>, ctx: &PlanContext<'_>) -> Result<Option<ExecutionPlan>, Error> {
    let placeholder = |row: &Vec<sql::Literal<'_>>| row.contains(&sql::Literal::Placeholder);
    if bulk.rows.iter().any(placeholder) {
        return Ok(None);
    }
    let mut statement = bulk.statement;
    if rewrite::drop_defaulted_key(&mut statement, ctx.schema) {
        return Ok(None);
    }
    let bindings = Bindings::new(&statement, &[])?;
    let route = route::route_bulk(&statement, &bulk.rows, ctx, &bindings)?;
    let (units, merge) = rewrite::rewrite_bulk(statement, &route, &bulk.rows, &ctx.schema.name)?;
    Ok(Some(ExecutionPlan {
        units,
        merge,
        generated_key: first_generated(&route),
    }))
}

/// The first generated integer key, which the OK packet reports (MySQL's
/// LAST_INSERT_ID() of a multi-row INSERT is its first id).
fn first_generated(route: &route::RoutePlan<'_>) -> Option<u64> {
    route
        .generated
        .as_ref()
        .and_then(|g| match g.values.first() {
            Some(Some(GeneratedKey::Int(id))) => u64::try_from(*id).ok(),
            _ => None,
        })
}

mod cache;
mod point;

#[cfg(test)]
mod bulk_tests;
#[cfg(test)]
mod cache_tests;
