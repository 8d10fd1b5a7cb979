//! The statement context: every table reference of a statement grouped by
//! query block (a SELECT, or the statement itself for UPDATE / DELETE), with
//! each block's sharding conditions, the equalities that link sharding
//! columns of its tables (join and correlation conditions), its outer joins,
//! and the IN lists on sharding columns that can be pruned per data node.
//!
//! Built with one [`Visitor`] pass; the router decides from it.

mod from;

use super::conditions::{extract, Columns, Key, Keys, ShardingConditions};
use super::literal::{operand, Operand};
use super::params::Bindings;
use super::tables::{column_start, ColumnName, TableRef};
use crate::error::Error;
use crate::rules::{ColumnKind, Conversion, SchemaRules, TableRule, ValueDomain, ValueUse};
use smallvec::smallvec;
use sqlparser::ast::{
    BinaryOperator, Expr, Query, Select, SelectItem, SetExpr, Statement, TableWithJoins, Visit,
    Visitor,
};
use sqlparser::tokenizer::Location;
use std::cell::RefCell;
use std::ops::ControlFlow;

/// Where a query block stands in its statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// The statement's own SELECT (each branch of a top-level UNION), or
    /// the UPDATE / DELETE itself: its rows are the client's answer.
    Top,
    /// A subquery in an expression (`IN (SELECT ..)`, `EXISTS`, scalar).
    Subquery,
    /// A derived table or a CTE body.
    Derived,
}

/// One query block.
#[derive(Debug, Clone)]
pub struct Block {
    /// The enclosing block.
    pub parent: Option<usize>,
    /// Where it stands.
    pub kind: BlockKind,
    /// Its WHERE and inner-join ON conditions on sharding columns.
    pub conditions: ShardingConditions,
    /// Equal sharding columns (same column name) of two table references,
    /// from join conditions, `USING`, correlated WHERE conjuncts and `IN
    /// (SELECT ..)`: the second may be in an enclosing block.
    pub links: Vec<(Key, Key)>,
    /// Outer joins: (references on the preserved side, on the other side).
    pub outer_joins: Vec<(Vec<usize>, Vec<usize>)>,
}

/// An `IN (...)` list on a sharding column, prunable per data node.
#[derive(Debug, Clone)]
pub struct InList {
    /// Where its column reference starts: finds it in every copy of the statement.
    pub at: Location,
    /// The sharding column.
    pub key: Key,
    /// Each item's exact value; `None` for items that stay in every copy.
    pub items: Vec<Option<crate::rules::ShardingValue>>,
}

/// Everything the router needs to know about a statement's tables.
#[derive(Debug, Clone, Default)]
pub struct StatementContext<'r> {
    /// Every table reference, in order of appearance.
    pub refs: Vec<TableRef<'r>>,
    /// Every query block; a parent comes before its children.
    pub blocks: Vec<Block>,
    /// Prunable IN lists.
    pub in_lists: Vec<InList>,
    /// The first `column = value` of a block's conditions whose value does
    /// not convert exactly: (block, key, the value as written). A read
    /// scatters; a write is refused.
    pub inexact: Option<(usize, Key, String)>,
}

/// What the builder needs from the caller.
#[derive(Clone, Copy)]
pub struct Env<'a, 'r> {
    /// The schema's rules.
    pub schema: &'r SchemaRules,
    /// A sharding column's kind: (logical table, column), lower-cased.
    pub column_kind: &'a dyn Fn(&str, &str) -> ColumnKind,
    /// The bound parameters.
    pub bindings: &'a Bindings<'a>,
    /// What an earlier visit found ([`Shape::UNKNOWN`] when none was made).
    pub shape: Shape,
}

/// What one visit of a statement found about its structure, kept with a
/// cached plan so that each execute builds the context without visiting the
/// statement again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// One query block at most, no CTE and no `IN` list or subquery: a
    /// plain SELECT, or an UPDATE / DELETE / INSERT ... VALUES without
    /// subqueries. The visitor would then add nothing to what the block's
    /// FROM and WHERE give.
    flat: bool,
}

impl Shape {
    /// Nothing known: the context visits the statement.
    pub const UNKNOWN: Shape = Shape { flat: false };

    /// Whether the statement is flat (see the field).
    pub fn is_flat(self) -> bool {
        self.flat
    }

    /// The shape of `statement`, found by one visit.
    pub fn of(statement: &Statement) -> Shape {
        let mut counter = ShapeCounter::default();
        let _ = statement.visit(&mut counter);
        let flat = counter.in_lists == 0
            && match statement {
                Statement::Query(query) => {
                    counter.queries == 1
                        && counter.selects == 1
                        && query.with.is_none()
                        && matches!(query.body.as_ref(), SetExpr::Select(_))
                }
                // An INSERT's VALUES is a query without a SELECT.
                Statement::Insert(_) => counter.queries <= 1 && counter.selects == 0,
                _ => counter.queries == 0 && counter.selects == 0,
            };
        Shape { flat }
    }
}

/// Counts what makes a statement not flat ([`Shape`]).
#[derive(Default)]
struct ShapeCounter {
    queries: usize,
    selects: usize,
    in_lists: usize,
}

impl Visitor for ShapeCounter {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.queries += 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, _select: &Select) -> ControlFlow<()> {
        self.selects += 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if matches!(expr, Expr::InList { .. } | Expr::InSubquery { .. }) {
            self.in_lists += 1;
        }
        ControlFlow::Continue(())
    }
}

impl<'r> StatementContext<'r> {
    /// The context of a query (a SELECT statement).
    pub fn of_query(env: Env<'_, 'r>, query: &Query) -> Result<Self, Error> {
        let mut builder = Builder::empty(env);
        match query.body.as_ref() {
            // What the visit would do: the one block, its FROM and WHERE.
            SetExpr::Select(select) if env.shape.flat => {
                let block = builder.open(BlockKind::Top);
                builder.add_block(block, &select.from, select.selection.as_ref())?;
            }
            _ => {
                let _ = query.visit(&mut builder);
            }
        }
        builder.finish()
    }

    /// The context of an UPDATE or DELETE: its tables and WHERE form the top
    /// block; `statement` is visited for subqueries.
    pub fn of_write(
        env: Env<'_, 'r>,
        statement: &Statement,
        from: &[&TableWithJoins],
        selection: Option<&Expr>,
    ) -> Result<Self, Error> {
        let mut builder = Builder::empty(env);
        let block = builder.open(BlockKind::Top);
        builder.add_block(block, from.iter().copied(), selection)?;
        if !env.shape.flat {
            builder.stack.push(block);
            let _ = statement.visit(&mut builder);
        }
        builder.finish()
    }

    /// The blocks whose tables a qualified column in `block` may name:
    /// itself and its enclosing blocks, up to a derived table's boundary.
    fn scopes(&self, block: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(block), |&current| {
            let block = self.blocks.get(current)?;
            match block.kind {
                BlockKind::Derived => None,
                _ => block.parent,
            }
        })
    }

    /// The sharding columns `expr` names in `block`. An unqualified column
    /// names the block's own sharded tables only (all of them that have it,
    /// as after `USING`); `outer` lets a qualified one name enclosing blocks.
    pub fn keys(&self, block: usize, expr: &Expr, outer: bool) -> Keys {
        match ColumnName::of(expr) {
            Some(name) => self.keys_of(block, &name, outer),
            None => Keys::new(),
        }
    }

    /// [`Self::keys`] of a column name.
    pub fn keys_of(&self, block: usize, name: &ColumnName<'_>, outer: bool) -> Keys {
        let refs = &self.refs;
        match &name.qualifier {
            None => refs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.block == block)
                .filter_map(|(i, r)| r.sharding_column(name.column).map(|c| (i, c)))
                .collect(),
            Some(qualifier) => {
                let scopes = self.scopes(block).take(if outer { usize::MAX } else { 1 });
                for scope in scopes {
                    let found = refs
                        .iter()
                        .enumerate()
                        .find(|(_, r)| r.block == scope && r.is_named(qualifier));
                    if let Some((i, r)) = found {
                        return r
                            .sharding_column(name.column)
                            .map(|c| smallvec![(i, c)])
                            .unwrap_or_default();
                    }
                }
                Keys::new()
            }
        }
    }

    /// Whether two keys are sharding columns of the same name.
    pub fn same_column(&self, a: Key, b: Key) -> bool {
        self.column(a).is_some() && self.column(a) == self.column(b)
    }

    /// The name of the sharding column `key`.
    pub fn column(&self, key: Key) -> Option<&'r str> {
        let rule = self.refs.get(key.0)?.rule()?;
        rule.sharding_columns().get(key.1).map(String::as_str)
    }
}

/// Builds a [`StatementContext`] while visiting the statement.
struct Builder<'a, 'r> {
    env: Env<'a, 'r>,
    context: StatementContext<'r>,
    /// CTE names (lower-cased) declared so far.
    ctes: Vec<String>,
    /// Open blocks, innermost last.
    stack: Vec<usize>,
    /// Open queries' kinds, innermost last.
    queries: Vec<BlockKind>,
    /// Queries whose kind is known before they are visited (derived tables,
    /// CTE bodies, UNION operands: `None` = the enclosing query's kind).
    marked: Vec<(*const Query, Option<BlockKind>)>,
    /// SELECTs that are the body of `col IN (SELECT ..)`, with `col`'s key.
    semijoins: Vec<(*const Select, Key)>,
    /// The first problem found.
    error: Option<Error>,
    /// The first inexact compared value (see [`StatementContext::inexact`]).
    inexact: RefCell<Option<(usize, Key, String)>>,
}

impl<'a, 'r> Builder<'a, 'r> {
    fn empty(env: Env<'a, 'r>) -> Self {
        Builder {
            env,
            context: StatementContext::default(),
            ctes: Vec::new(),
            stack: Vec::new(),
            queries: Vec::new(),
            marked: Vec::new(),
            semijoins: Vec::new(),
            error: None,
            inexact: RefCell::new(None),
        }
    }

    fn finish(self) -> Result<StatementContext<'r>, Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(StatementContext {
                inexact: self.inexact.into_inner(),
                ..self.context
            }),
        }
    }

    fn fail(&mut self, error: Error) -> ControlFlow<()> {
        self.error.get_or_insert(error);
        ControlFlow::Break(())
    }

    /// Opens a new block under the innermost open one.
    fn open(&mut self, kind: BlockKind) -> usize {
        self.context.blocks.push(Block {
            parent: self.stack.last().copied(),
            kind,
            conditions: ShardingConditions::unconstrained(),
            links: Vec::new(),
            outer_joins: Vec::new(),
        });
        self.context.blocks.len() - 1
    }

    /// Registers a block's FROM and computes its conditions and links.
    fn add_block<'e>(
        &mut self,
        block: usize,
        from: impl IntoIterator<Item = &'e TableWithJoins>,
        selection: Option<&'e Expr>,
    ) -> Result<(), Error> {
        let mut inner_on = Vec::new();
        for table in from {
            self.add_joined(block, table, &mut inner_on)?;
        }
        let mut conditions = ShardingConditions::unconstrained();
        for on in inner_on.iter().copied().chain(selection) {
            let columns = BlockColumns {
                builder: self,
                block,
            };
            conditions = conditions.and(extract(on, &columns));
        }
        if let Some(selection) = selection {
            let links = self.links(block, selection);
            self.context.blocks[block].links.extend(links);
        }
        self.context.blocks[block].conditions = conditions;
        Ok(())
    }

    /// Equal sharding columns in the conjuncts of `expr`.
    fn links(&self, block: usize, expr: &Expr) -> Vec<(Key, Key)> {
        let mut out = Vec::new();
        self.add_links(block, expr, &mut out);
        out
    }

    /// [`Self::links`] into `out`, conjunct by conjunct.
    fn add_links(&self, block: usize, expr: &Expr, out: &mut Vec<(Key, Key)>) {
        match expr {
            Expr::Nested(inner) => self.add_links(block, inner, out),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                self.add_links(block, left, out);
                self.add_links(block, right, out);
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                for a in self.context.keys(block, left, true) {
                    for b in self.context.keys(block, right, true) {
                        if self.context.same_column(a, b) && a.0 != b.0 {
                            out.push((a, b));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The AND-ed parts of an expression.
pub fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::Nested(inner) => conjuncts(inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut out = conjuncts(left);
            out.extend(conjuncts(right));
            out
        }
        other => vec![other],
    }
}

/// Column resolution and value conversion within one block.
struct BlockColumns<'b, 'a, 'r> {
    builder: &'b Builder<'a, 'r>,
    block: usize,
}

impl Columns for BlockColumns<'_, '_, '_> {
    fn keys(&self, expr: &Expr) -> Keys {
        self.builder.context.keys(self.block, expr, false)
    }

    fn inexact(&self, key: Key, value: &Expr) {
        let mut first = self.builder.inexact.borrow_mut();
        if first.is_none() {
            let text = value.to_string();
            let text = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\''));
            *first = Some((
                self.block,
                key,
                text.map_or_else(|| value.to_string(), str::to_string),
            ));
        }
    }

    fn convert(&self, key: Key, expr: &Expr) -> Option<Conversion> {
        convert(
            self.builder.env,
            &self.builder.context.refs,
            key,
            expr,
            ValueUse::Condition,
        )
    }
}

/// `expr` as a value of the sharding column `key`: compared (a condition)
/// or stored (`usage`); `None` when it is no constant or an unbound `?`.
pub fn convert(
    env: Env<'_, '_>,
    refs: &[TableRef<'_>],
    key: Key,
    expr: &Expr,
    usage: ValueUse,
) -> Option<Conversion> {
    let table_ref = refs.get(key.0)?;
    let rule = table_ref.rule()?;
    let column = rule.sharding_columns().get(key.1)?;
    convert_column(env, &table_ref.table, rule, column, expr, usage)
}

/// [`convert`] for the sharding column `column` of `rule`, the rule of the
/// logical table `table` (lower-cased).
pub fn convert_column(
    env: Env<'_, '_>,
    table: &str,
    rule: &TableRule,
    column: &str,
    expr: &Expr,
    usage: ValueUse,
) -> Option<Conversion> {
    let kind = (env.column_kind)(table, column);
    let integer = kind == ColumnKind::Integer
        || (kind == ColumnKind::Unknown && rule.domain(column) == Some(ValueDomain::Integer));
    match operand(expr, env.bindings, integer) {
        Operand::Value(value) => Some(rule.convert(column, &value, kind, usage)),
        Operand::Unbound | Operand::Expression => None,
    }
}

impl Visitor for Builder<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        let pointer = query as *const Query;
        let kind = match self.marked.iter().find(|(p, _)| *p == pointer) {
            Some((_, Some(kind))) => *kind,
            Some((_, None)) => self.queries.last().copied().unwrap_or(BlockKind::Top),
            None if self.stack.is_empty() => BlockKind::Top,
            None => BlockKind::Subquery,
        };
        if let Some(with) = &query.with {
            // A CTE is in scope from its WITH on (its name is then no table).
            for cte in &with.cte_tables {
                self.ctes.push(cte.alias.name.value.to_ascii_lowercase());
                self.marked
                    .push((&*cte.query as *const Query, Some(BlockKind::Derived)));
            }
        }
        from::mark_set_operands(&query.body, &mut self.marked);
        self.queries.push(kind);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.queries.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        let kind = self.queries.last().copied().unwrap_or(BlockKind::Top);
        let block = self.open(kind);
        if let Err(e) = self.add_block(block, &select.from, select.selection.as_ref()) {
            return self.fail(e);
        }
        let pointer = select as *const Select;
        if let Some(&(_, outer)) = self.semijoins.iter().find(|(p, _)| *p == pointer) {
            if let [SelectItem::UnnamedExpr(column)
            | SelectItem::ExprWithAlias { expr: column, .. }] = select.projection.as_slice()
            {
                for inner in self.context.keys(block, column, false) {
                    if self.context.same_column(inner, outer) {
                        self.context.blocks[block].links.push((inner, outer));
                    }
                }
            }
        }
        self.stack.push(block);
        ControlFlow::Continue(())
    }

    fn post_visit_select(&mut self, _select: &Select) -> ControlFlow<()> {
        self.stack.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        let Some(&block) = self.stack.last() else {
            return ControlFlow::Continue(());
        };
        match expr {
            Expr::InList {
                expr: column,
                list,
                negated: false,
            } => self.add_in_list(block, column, list),
            Expr::InSubquery {
                expr: column,
                subquery,
                negated: false,
            } => {
                if let (SetExpr::Select(select), [key]) = (
                    subquery.body.as_ref(),
                    self.context.keys(block, column, false).as_slice(),
                ) {
                    self.semijoins.push((&**select as *const Select, *key));
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

impl Builder<'_, '_> {
    /// Records `column IN (list)` when `column` is one sharding column.
    fn add_in_list(&mut self, block: usize, column: &Expr, list: &[Expr]) {
        let keys = self.context.keys(block, column, true);
        let [key] = keys.as_slice() else {
            return;
        };
        let Some(at) = column_start(column) else {
            return;
        };
        let items = list
            .iter()
            .map(|item| {
                match convert(
                    self.env,
                    &self.context.refs,
                    *key,
                    item,
                    ValueUse::Condition,
                ) {
                    Some(Conversion::Exact(value)) => Some(value),
                    _ => None,
                }
            })
            .collect();
        self.context.in_lists.push(InList {
            at,
            key: *key,
            items,
        });
    }
}

#[cfg(test)]
mod tests;
