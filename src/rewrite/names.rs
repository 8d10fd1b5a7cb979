//! Logical → actual table names, everywhere a statement names a table:
//! relations (FROM, JOIN, subqueries, INSERT / UPDATE / DELETE targets, DDL),
//! the places sqlparser's relation visit skips (DROP TABLE, DROP INDEX ... ON,
//! multi-table DELETE targets), column qualifiers (`t_order.user_id` when the
//! table has no alias) and `t_order.*`. A qualifier of the logical schema
//! (`shop.t_order`) is dropped: a backend connection is already in its data
//! source's database. Aliases and quoting are kept.

use sqlparser::ast::{
    Expr, Ident, ObjectName, ObjectNamePart, Select, SelectItem, SelectItemQualifiedWildcardKind,
    Statement, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// Renames tables for one route unit.
pub struct Renamer<'a> {
    /// The logical schema's name, dropped where it qualifies a table.
    pub schema: &'a str,
    /// (logical table lower-cased, actual table) for each sharded table.
    pub tables: &'a [(String, &'a str)],
    /// Logical tables (lower-cased) whose name also qualifies columns.
    pub qualifiers: &'a [String],
}

impl Renamer<'_> {
    /// Renames every table of `statement`.
    pub fn apply(&mut self, statement: &mut Statement) {
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
            Statement::Delete(delete) => {
                for name in &mut delete.tables {
                    let mut parts: Vec<Ident> = name
                        .0
                        .iter()
                        .filter_map(|p| p.as_ident().cloned())
                        .collect();
                    if parts.len() == name.0.len() && (1..=2).contains(&parts.len()) {
                        let n = parts.len();
                        // `DELETE t_order FROM ...` names a table, or `shop.t_order`.
                        parts.push(Ident::new(""));
                        self.rename_qualifier(&mut parts, n);
                        parts.pop();
                        *name = ObjectName::from(parts);
                    }
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
                let mut parts: Vec<Ident> = name
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident().cloned())
                    .collect();
                if parts.len() == name.0.len() && (1..=2).contains(&parts.len()) {
                    let n = parts.len();
                    parts.push(Ident::new("*"));
                    self.rename_qualifier(&mut parts, n);
                    parts.pop();
                    *name = ObjectName::from(parts);
                }
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
