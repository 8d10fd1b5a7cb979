//! Plan templates, kept per worker thread: a statement's parsed tree and,
//! per route outcome, the execution units its rewrite gave with each
//! `?` kept and each unit's parameters as *indexes* into the bound values
//! ([`UnitTemplate`]). An execute binds, routes on the kept tree
//! (borrowed) and, when the route comes out as one seen before, copies the
//! units and picks their values: parsing, copying the tree per unit and
//! rendering it, most of a sharded statement's plan, are skipped.
//!
//! A template is kept only when it is a function of the statement and the
//! route alone: the rewrite read no bound value (LIMIT arithmetic, HAVING
//! constants: [`Bindings::values_read`]), no key was generated, and no
//! UNION's describe unit carries values. Entries are per schema rules
//! ([`SchemaRules::generation`]): a reload makes new rules, so old
//! entries are never met again. Sharding columns' kinds are read by the
//! route, which runs at every execute; the rewrite never reads them.
//!
//! A text statement of a seen shape ([`crate::sql::shape`]) uses the same
//! templates, keyed by its shape's text: its literals bind as the `?`s'
//! values for the route, and instantiation splices each literal back as
//! written where its `?` stands, so the backend receives the text a fresh
//! plan renders (the golden cases check that it is).
//!
//! Per worker thread rather than per prepared statement: no lock and no
//! change to the session's statement registry, and clients that prepare the
//! same text (every sysbench client does) share the entry. A session runs
//! on one worker at a time; if it moves, it warms that worker's cache.

use super::point::PointRoute;
use super::{first_generated, ExecutionPlan, ExecutionUnit, MergePlan, PlanContext};
use crate::error::Error;
use crate::rewrite::UnitTemplate;
use crate::route::{RoutePlan, Target};
use crate::rules::SchemaRules;
use crate::sql::context::Shape;
use crate::sql::params::{self, Bindings};
use crate::sql::{Scanner, Token};
use crate::{rewrite, route};
use lru::LruCache;
use mysql_common::value::Value;
use sqlparser::ast::Statement;
use sqlparser::tokenizer::Location;
use std::borrow::Cow;
use std::cell::RefCell;
use std::num::NonZeroUsize;

/// Statement texts kept per worker thread.
const CAPACITY: NonZeroUsize = match NonZeroUsize::new(256) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};
/// Longer texts (long INSERTs, generated reports) are planned each time.
pub(super) const MAX_TEXT: usize = 2048;
/// Route outcomes kept per statement: a point select has one per data
/// node; what routes more ways than this keeps its first ones.
const MAX_ROUTES: usize = 64;
/// Bytes of unit SQL kept per text and rules: an IN list's many route
/// outcomes over many nodes stop adding templates there. With the other
/// bounds, at most 256 × 2 × 32 KiB of SQL per worker thread.
const MAX_TEMPLATE_BYTES: usize = 32 * 1024;
/// Schemas' rules kept per text: a reload adds one, clients of two
/// schemas sharing a text two.
const MAX_RULES: usize = 2;

thread_local! {
    static PLANS: RefCell<LruCache<Box<str>, Vec<Planned>>> = RefCell::new(LruCache::new(CAPACITY));
}

/// One text under one schema's rules.
struct Planned {
    /// [`SchemaRules::generation`] of the rules it was parsed under.
    generation: u64,
    /// The parsed statement, with a defaulted key column dropped as
    /// [`super::plan`] drops it.
    statement: Statement,
    /// Where its `?`s start ([`params::placeholder_locations`]).
    placeholders: Vec<Location>,
    /// Its structure, for the route.
    shape: Shape,
    /// Its point route ([`PointRoute`]): `None` until the first execute
    /// looks for one.
    point: Option<Option<PointRoute>>,
    /// Templates by route outcome.
    templates: Vec<Template>,
    /// The bytes of the templates' unit SQL.
    bytes: usize,
}

/// The units and merge of one route outcome.
struct Template {
    /// The route outcome it was made for.
    route: RouteKey,
    /// The units, values as indexes.
    units: Vec<CachedUnit>,
    /// How the units' answers merge.
    merge: MergePlan,
}

/// What of a [`RoutePlan`] the rewrite reads, owned: two routes equal in
/// these give the same units (the statement and rules being the same).
struct RouteKey {
    /// Each unit's target and INSERT rows.
    units: Vec<(TargetKey, Vec<usize>)>,
    /// The node space's tables, by logical name.
    space: Vec<String>,
    /// The route's merge.
    merge: MergePlan,
    /// Whether the rewrite derives a merged SELECT.
    merges_rows: bool,
    /// Unaliased sharded tables.
    unaliased: Vec<String>,
    /// IN lists to prune: where, and each item's nodes.
    in_lists: Vec<(Location, Vec<Option<Vec<usize>>>)>,
}

/// A [`Target`], owned.
#[derive(PartialEq)]
enum TargetKey {
    Node(usize),
    DataSource(String),
}

impl RouteKey {
    fn of(route: &RoutePlan<'_>) -> RouteKey {
        RouteKey {
            units: route
                .units
                .iter()
                .map(|u| {
                    let target = match u.target {
                        Target::Node(i) => TargetKey::Node(i),
                        Target::DataSource(ds) => TargetKey::DataSource(ds.to_string()),
                    };
                    (target, u.rows.clone())
                })
                .collect(),
            space: route.space.as_ref().map_or(Vec::new(), |s| {
                s.tables.iter().map(|t| t.logical_name.clone()).collect()
            }),
            merge: route.merge.clone(),
            merges_rows: route.merges_rows,
            unaliased: route.unaliased.clone(),
            in_lists: route
                .in_lists
                .iter()
                .map(|l| (l.at, l.items.clone()))
                .collect(),
        }
    }

    /// Whether this is the outcome of a route to node `node` alone.
    fn is_node(&self, node: usize) -> bool {
        matches!(self.units.as_slice(), [(TargetKey::Node(n), rows)] if *n == node && rows.is_empty())
    }

    /// Whether `route` is this outcome; allocates nothing.
    fn matches(&self, route: &RoutePlan<'_>) -> bool {
        let units = self.units.len() == route.units.len()
            && self.units.iter().zip(&route.units).all(|((t, rows), u)| {
                let target = match (t, u.target) {
                    (TargetKey::Node(a), Target::Node(b)) => *a == b,
                    (TargetKey::DataSource(a), Target::DataSource(b)) => a == b,
                    _ => false,
                };
                target && *rows == u.rows
            });
        let space = match &route.space {
            None => self.space.is_empty(),
            Some(s) => {
                self.space.len() == s.tables.len()
                    && self
                        .space
                        .iter()
                        .zip(&s.tables)
                        .all(|(a, t)| *a == t.logical_name)
            }
        };
        let in_lists = self.in_lists.len() == route.in_lists.len()
            && self
                .in_lists
                .iter()
                .zip(&route.in_lists)
                .all(|((at, items), l)| *at == l.at && *items == l.items);
        units
            && space
            && in_lists
            && self.merges_rows == route.merges_rows
            && self.merge == route.merge
            && self.unaliased == route.unaliased
    }
}

/// How a template's `?`s are filled.
#[derive(Clone, Copy)]
pub(super) enum Fill<'v> {
    /// A COM_STMT_EXECUTE: the units carry their values.
    Values(&'v [Value]),
    /// A text statement whose literals became `?`s: each is spliced back
    /// as written (`texts`), the units carry no values; `values` are the
    /// literals' values the route places by.
    Texts {
        values: &'v [Value],
        texts: &'v [&'v str],
    },
}

impl<'v> Fill<'v> {
    fn values(self) -> &'v [Value] {
        match self {
            Fill::Values(values) | Fill::Texts { values, .. } => values,
        }
    }
}

/// The plan of `key` (the statement's text, or a text statement's
/// normalised text) with `fill`'s values, from a template when one fits.
/// `None` when the text does not parse into one statement: the caller
/// plans it afresh, for the same error.
pub(super) fn plan_cached(
    key: &str,
    fill: Fill<'_>,
    ctx: &PlanContext<'_>,
) -> Option<Result<ExecutionPlan, Error>> {
    PLANS.with(|plans| {
        let mut plans = plans.borrow_mut();
        let generation = ctx.schema.generation();
        let known = plans
            .get_mut(key)
            .and_then(|entries| entries.iter().position(|p| p.generation == generation));
        let at = match known {
            Some(at) => at,
            None => {
                let planned = parse(key, ctx.schema)?;
                let entries = plans.get_or_insert_mut(key.into(), Vec::new);
                if entries.len() >= MAX_RULES {
                    entries.remove(0);
                }
                entries.push(planned);
                entries.len() - 1
            }
        };
        let planned = plans.get_mut(key)?.get_mut(at)?;
        Some(plan_from(planned, fill, ctx))
    })
}

/// `key` parsed into its one statement; `None` otherwise.
fn parse(key: &str, schema: &SchemaRules) -> Option<Planned> {
    let mut statements = crate::sql::parse(key).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let mut statement = statements.pop()?;
    rewrite::drop_defaulted_key(&mut statement, schema);
    Some(Planned {
        generation: schema.generation(),
        placeholders: params::placeholder_locations(&statement),
        shape: Shape::of(&statement),
        statement,
        point: None,
        templates: Vec::new(),
        bytes: 0,
    })
}

/// Binds, routes, and instantiates the template of the route (made now
/// when there is none).
fn plan_from(
    planned: &mut Planned,
    fill: Fill<'_>,
    ctx: &PlanContext<'_>,
) -> Result<ExecutionPlan, Error> {
    let bindings = Bindings::at(fill.values(), Cow::Borrowed(&planned.placeholders))?;
    let point = planned
        .point
        .get_or_insert_with(|| PointRoute::of(&planned.statement, planned.shape, ctx));
    if let Some(node) = point.as_ref().and_then(|p| p.node(ctx, &bindings)) {
        if let Some(template) = planned.templates.iter().find(|t| t.route.is_node(node)) {
            #[cfg(debug_assertions)]
            {
                let route = route::route_shaped(&planned.statement, planned.shape, ctx, &bindings);
                assert!(
                    route
                        .is_ok_and(|r| template.route.matches(&r) && first_generated(&r).is_none()),
                    "the point route of {} is not its full route",
                    planned.statement
                );
            }
            #[cfg(test)]
            count_hit(true);
            return instantiate(&template.units, &template.merge, fill, None);
        }
    }
    let route = route::route_shaped(&planned.statement, planned.shape, ctx, &bindings)?;
    if let Some(template) = planned.templates.iter().find(|t| t.route.matches(&route)) {
        #[cfg(test)]
        count_hit(false);
        return instantiate(
            &template.units,
            &template.merge,
            fill,
            first_generated(&route),
        );
    }
    bindings.forget_reads();
    let (units, merge) = rewrite::rewrite_template(
        planned.statement.clone(),
        &route,
        &bindings,
        &ctx.schema.name,
    )?;
    let units: Vec<CachedUnit> = units.into_iter().map(CachedUnit::new).collect();
    let plan = instantiate(&units, &merge, fill, first_generated(&route));
    let bytes: usize = units.iter().map(|u| u.unit.sql.len()).sum();
    let keeps = !bindings.values_read()
        && planned.bytes + bytes <= MAX_TEMPLATE_BYTES
        && route.generated.is_none()
        && !(bindings.is_bound() && matches!(merge, MergePlan::Union(_)))
        && planned.templates.len() < MAX_ROUTES
        && units.iter().all(|u| u.marks.is_some());
    if keeps {
        planned.bytes += bytes;
        planned.templates.push(Template {
            route: RouteKey::of(&route),
            units,
            merge,
        });
    }
    plan
}

/// A unit of a template, with where its `?`s stand in its SQL.
struct CachedUnit {
    /// The unit, values as indexes.
    unit: UnitTemplate,
    /// The byte offset of each `?` of the SQL, one per parameter; `None`
    /// when the SQL's `?`s are not its parameters one to one.
    marks: Option<Vec<usize>>,
}

impl CachedUnit {
    fn new(unit: UnitTemplate) -> CachedUnit {
        let mut marks = Vec::with_capacity(unit.params.len());
        let mut scanner = Scanner::new(&unit.sql);
        while let Some(token) = scanner.next() {
            if token == Token::Punct('?') {
                marks.push(scanner.offset() - 1);
            }
        }
        let marks = (marks.len() == unit.params.len()).then_some(marks);
        CachedUnit { unit, marks }
    }

    /// The unit's values, picked from the statement's.
    fn values(&self, values: &[Value]) -> Result<Vec<Value>, Error> {
        self.unit
            .params
            .iter()
            .map(|&i| values.get(i).cloned().ok_or_else(index_error))
            .collect()
    }

    /// The unit's SQL with each `?` replaced by its literal's text.
    fn spliced(&self, texts: &[&str]) -> Result<String, Error> {
        let marks = self
            .marks
            .as_ref()
            .ok_or_else(|| Error::internal("a unit whose ? are not its parameters"))?;
        let sql = self.unit.sql.as_str();
        let extra: usize = self
            .unit
            .params
            .iter()
            .map(|&i| texts.get(i).map_or(0, |t| t.len()))
            .sum();
        let mut out = String::with_capacity(sql.len() + extra);
        let mut from = 0;
        for (&mark, &i) in marks.iter().zip(&self.unit.params) {
            let text = texts.get(i).ok_or_else(index_error)?;
            out.push_str(sql.get(from..mark).ok_or_else(index_error)?);
            out.push_str(text);
            from = mark + 1;
        }
        out.push_str(sql.get(from..).ok_or_else(index_error)?);
        Ok(out)
    }
}

fn index_error() -> Error {
    Error::internal("a plan template's parameter out of range")
}

/// The plan of a template: its units' SQL copied, their values picked by
/// index (or, for a text statement, the literals spliced back in).
fn instantiate(
    units: &[CachedUnit],
    merge: &MergePlan,
    fill: Fill<'_>,
    generated_key: Option<u64>,
) -> Result<ExecutionPlan, Error> {
    let units = units
        .iter()
        .map(|u| {
            let (sql, params) = match fill {
                Fill::Values(values) => (u.unit.sql.clone(), u.values(values)?),
                Fill::Texts { texts, .. } => (u.spliced(texts)?, Vec::new()),
            };
            Ok(ExecutionUnit {
                data_source: u.unit.data_source.clone(),
                sql,
                params,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(ExecutionPlan {
        units,
        merge: merge.clone(),
        generated_key,
    })
}

#[cfg(test)]
thread_local! {
    /// Plans this thread took from a template: all, and by a point route.
    static HITS: std::cell::Cell<[usize; 2]> = const { std::cell::Cell::new([0; 2]) };
}

#[cfg(test)]
fn count_hit(point: bool) {
    HITS.with(|h| {
        let [all, points] = h.get();
        h.set([all + 1, points + usize::from(point)]);
    });
}

/// How many plans this thread took from a template (tests).
#[cfg(test)]
pub(super) fn hits() -> usize {
    HITS.with(|h| h.get()[0])
}

/// How many of them came by a point route (tests).
#[cfg(test)]
pub(super) fn point_hits() -> usize {
    HITS.with(|h| h.get()[1])
}
