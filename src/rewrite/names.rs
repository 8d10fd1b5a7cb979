//! Logical → actual table names, everywhere a statement names a table:
//! relations (FROM, JOIN, subqueries, INSERT / UPDATE / DELETE targets, DDL),
//! the places sqlparser's relation visit skips (DROP TABLE, DROP INDEX ... ON,
//! multi-table DELETE targets), column qualifiers and `t_order.*`. A
//! qualifier of the logical schema (`shop.t_order`) is dropped: a backend
//! connection is already in its data source's database. Aliases and quoting
//! are kept.
//!
//! A table referenced without an alias where SQL allows one (FROM and JOIN
//! of a query, multi-table UPDATE and DELETE) gets its logical name as alias:
//! `FROM t_order` → `FROM t_order_1 AS t_order`. Result columns then name
//! the logical table, as MySQL does, and qualifiers (`t_order.user_id`)
//! stay as written. Where no alias is allowed (an INSERT's target, a
//! single-table UPDATE or DELETE, DDL) the qualifiers are renamed instead.

use crate::sql::tables::TableName;
use sqlparser::ast::{
    AssignmentTarget, CreateTableLikeKind, Expr, FromTable, Ident, ObjectName, ObjectNamePart,
    OnInsert, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, TableAlias,
    TableFactor, TableObject, TableWithJoins, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// Renames tables for one route unit.
pub struct Renamer<'a> {
    /// The logical schema's name, dropped where it qualifies a table.
    pub schema: &'a str,
    /// (logical table lower-cased, actual table) for each sharded table.
    pub tables: &'a [(String, &'a str)],
    /// Logical tables (lower-cased) referenced without an alias where none
    /// is allowed: their name also qualifies columns, so qualifiers are
    /// renamed too. The other sharded tables get their logical name as alias.
    pub qualifiers: &'a [String],
}

/// The logical tables (lower-cased) `statement` names where SQL allows no
/// alias: an INSERT's target, a single-table UPDATE's or DELETE's; `None`
/// when that is every table it names (DDL).
pub fn unaliasable(statement: &Statement) -> Option<Vec<String>> {
    let named = |t: &TableWithJoins| match &t.relation {
        TableFactor::Table { name, .. } if t.joins.is_empty() => {
            TableName::of(name).map(|n| n.table)
        }
        _ => None,
    };
    Some(match statement {
        Statement::Query(_) => Vec::new(),
        Statement::Insert(insert) => match &insert.table {
            TableObject::TableName(name) => {
                TableName::of(name).map(|n| n.table).into_iter().collect()
            }
            _ => Vec::new(),
        },
        Statement::Update(update) if update.from.is_none() => {
            named(&update.table).into_iter().collect()
        }
        Statement::Update(_) => Vec::new(),
        Statement::Delete(delete) => {
            let from = match &delete.from {
                FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from) => from,
            };
            match from.as_slice() {
                [only] if delete.tables.is_empty() && delete.using.is_none() => {
                    named(only).into_iter().collect()
                }
                _ => Vec::new(),
            }
        }
        _ => return None,
    })
}

impl Renamer<'_> {
    /// Renames every table of `statement`.
    pub fn apply(&mut self, statement: &mut Statement) {
        if let Statement::Insert(insert) = statement {
            // An INSERT's VALUES rows name no table (the router refuses
            // subqueries there): rename the target, a SELECT source and ON
            // DUPLICATE KEY UPDATE, rather than walk every row.
            if let TableObject::TableName(name) = &mut insert.table {
                self.rename_table(name);
            }
            if let Some(source) = &mut insert.source {
                if !matches!(source.body.as_ref(), SetExpr::Values(_)) {
                    let _ = source.visit(self);
                }
            }
            if let Some(on) = &mut insert.on {
                if let OnInsert::DuplicateKeyUpdate(assignments) = on {
                    for assignment in assignments.iter_mut() {
                        self.rename_target(&mut assignment.target);
                    }
                }
                let _ = on.visit(self);
            }
            return;
        }
        let _ = statement.visit(self);
    }

    /// The actual name of logical table `name` (any case), if it is renamed.
    fn actual(&self, name: &str) -> Option<&str> {
        self.tables
            .iter()
            .find(|(logical, _)| logical.eq_ignore_ascii_case(name))
            .map(|(_, actual)| *actual)
    }

    /// Renames a table name, dropping the schema qualifier.
    fn rename_table(&self, name: &mut ObjectName) {
        if name.0.len() == 2 && part_is(&name.0[0], self.schema) {
            name.0.remove(0);
        }
        if let [ObjectNamePart::Identifier(ident)] = name.0.as_mut_slice() {
            if let Some(actual) = self.actual(&ident.value) {
                replace(ident, actual);
            }
        }
    }

    /// Renames the table part of a qualifier (`t_order` in `t_order.x`,
    /// `shop.t_order.x` → `t_order_0.x`).
    fn rename_qualifier(&self, idents: &mut Vec<Ident>, qualifier_parts: usize) {
        if qualifier_parts == 2 && idents.first().is_some_and(|i| i.value == self.schema) {
            idents.remove(0);
        }
        if let Some(table) = idents.first_mut() {
            let lower = table.value.to_ascii_lowercase();
            if self.qualifiers.contains(&lower) {
                if let Some(actual) = self.actual(&lower) {
                    replace(table, actual);
                }
            }
        }
    }
}

impl Renamer<'_> {
    /// Renames the qualifier of an assignment's column(s) (`t_order.status = 1`).
    fn rename_target(&self, target: &mut AssignmentTarget) {
        let names = match target {
            AssignmentTarget::ColumnName(name) => std::slice::from_mut(name),
            AssignmentTarget::Tuple(names) => names.as_mut_slice(),
        };
        for name in names {
            self.rename_column_name(name);
        }
    }

    /// Renames a name that is a column qualifier by itself (`t_order` in
    /// `t_order.*` or `DELETE t_order FROM ...`).
    fn rename_table_qualifier(&self, name: &mut ObjectName) {
        name.0.push(ObjectNamePart::Identifier(Ident::new("")));
        self.rename_column_name(name);
        name.0.pop();
    }

    /// Renames the qualifier of a column written as an object name
    /// (`t_order.status`, `shop.t_order.status`).
    fn rename_column_name(&self, name: &mut ObjectName) {
        let mut idents: Vec<Ident> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident().cloned())
            .collect();
        let n = idents.len();
        if n == name.0.len() && (2..=3).contains(&n) {
            self.rename_qualifier(&mut idents, n - 1);
            *name = ObjectName::from(idents);
        }
    }
}

/// Whether a name part is the identifier `name`.
fn part_is(part: &ObjectNamePart, name: &str) -> bool {
    matches!(part, ObjectNamePart::Identifier(ident) if ident.value == name)
}

/// Replaces an identifier's text, keeping its quoting and position.
fn replace(ident: &mut Ident, actual: &str) {
    ident.value = actual.to_string();
}

impl VisitorMut for Renamer<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        // Runs before the name itself is visited (and renamed).
        if let TableFactor::Table {
            name, alias: None, ..
        } = factor
        {
            let logical = match name.0.last() {
                Some(ObjectNamePart::Identifier(ident))
                    if self
                        .actual(&ident.value)
                        .is_some_and(|actual| !actual.eq_ignore_ascii_case(&ident.value))
                        && !self
                            .qualifiers
                            .iter()
                            .any(|q| q.eq_ignore_ascii_case(&ident.value))
                        && (name.0.len() == 1 || part_is(&name.0[0], self.schema)) =>
                {
                    Some(ident.clone())
                }
                _ => None,
            };
            if let (Some(logical), TableFactor::Table { alias, .. }) = (logical, factor) {
                *alias = Some(TableAlias {
                    explicit: true,
                    name: logical,
                    columns: Vec::new(),
                    at: None,
                });
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<()> {
        self.rename_table(relation);
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, statement: &mut Statement) -> ControlFlow<()> {
        match statement {
            Statement::Drop { names, table, .. } => {
                for name in names.iter_mut().chain(table.as_mut()) {
                    self.rename_table(name);
                }
            }
            Statement::CreateTable(create) => {
                if let Some(
                    CreateTableLikeKind::Plain(like) | CreateTableLikeKind::Parenthesized(like),
                ) = &mut create.like
                {
                    self.rename_table(&mut like.name);
                }
            }
            Statement::Update(update) => {
                for assignment in &mut update.assignments {
                    self.rename_target(&mut assignment.target);
                }
            }
            Statement::Delete(delete) => {
                // `DELETE t_order FROM ...` names the table it deletes from.
                for name in &mut delete.tables {
                    self.rename_table_qualifier(name);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        for item in &mut select.projection {
            if let SelectItem::QualifiedWildcard(
                SelectItemQualifiedWildcardKind::ObjectName(name),
                _,
            ) = item
            {
                self.rename_table_qualifier(name);
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::CompoundIdentifier(idents) = expr {
            let n = idents.len();
            if (2..=3).contains(&n) {
                self.rename_qualifier(idents, n - 1);
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests;
