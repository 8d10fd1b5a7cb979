//! Table references: each place a statement names a table (or a derived
//! table), resolved against the schema's rules, and column references
//! resolved to them.

use super::scan::{Scanner, Token};
use crate::error::Error;
use crate::rules::{SchemaRules, TableKind, TableRule};
use sqlparser::ast::{Expr, Ident, ObjectName, ObjectNamePart};
use sqlparser::tokenizer::Location;

/// How a referenced table is placed.
#[derive(Debug, Clone, Copy)]
pub enum RefKind<'r> {
    /// A sharded logical table.
    Sharded(&'r TableRule),
    /// A broadcast table: a copy in every data source.
    Broadcast,
    /// A table of the schema's default data source.
    Unsharded,
    /// A derived table or a CTE: rows of a subquery, placed by its own tables.
    Derived,
}

/// One table reference in one query block.
#[derive(Debug, Clone)]
pub struct TableRef<'r> {
    /// The logical table name, lower-cased (a derived table: its alias).
    pub table: String,
    /// The alias, lower-cased, if one is given.
    pub alias: Option<String>,
    /// How the table is placed.
    pub kind: RefKind<'r>,
    /// The query block the reference is in.
    pub block: usize,
}

impl<'r> TableRef<'r> {
    /// Whether `qualifier` (any case) names this reference: its alias if
    /// it has one, else its table name.
    pub fn is_named(&self, qualifier: &str) -> bool {
        match &self.alias {
            Some(alias) => alias.eq_ignore_ascii_case(qualifier),
            None => self.table.eq_ignore_ascii_case(qualifier),
        }
    }

    /// The sharded table's rule, if it is one.
    pub fn rule(&self) -> Option<&'r TableRule> {
        match self.kind {
            RefKind::Sharded(rule) => Some(rule),
            _ => None,
        }
    }

    /// The index of `column` (any case) among the rule's sharding columns.
    pub fn sharding_column(&self, column: &str) -> Option<usize> {
        self.rule()?
            .sharding_columns()
            .iter()
            .position(|c| c.eq_ignore_ascii_case(column))
    }
}

/// A table name as written, split into an optional schema and the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    /// The schema qualifier as written, if any.
    pub schema: Option<String>,
    /// The table name, lower-cased.
    pub table: String,
}

impl TableName {
    /// Splits `name`; `None` for names of more than two parts or function parts.
    pub fn of(name: &ObjectName) -> Option<TableName> {
        fn ident(part: &ObjectNamePart) -> Option<&Ident> {
            match part {
                ObjectNamePart::Identifier(ident) => Some(ident),
                ObjectNamePart::Function(_) => None,
            }
        }
        match name.0.as_slice() {
            [table] => Some(TableName {
                schema: None,
                table: ident(table)?.value.to_ascii_lowercase(),
            }),
            [schema, table] => Some(TableName {
                schema: Some(ident(schema)?.value.clone()),
                table: ident(table)?.value.to_ascii_lowercase(),
            }),
            _ => None,
        }
    }
}

/// Resolves a table name against the schema. A name qualified with another
/// schema is refused: the backends hold only this schema's tables.
pub fn resolve<'r>(
    schema: &'r SchemaRules,
    name: &ObjectName,
    ctes: &[String],
) -> Result<(String, RefKind<'r>), Error> {
    let Some(parsed) = TableName::of(name) else {
        return Err(Error::not_supported(format!(
            "table name {name} in a statement on sharded tables"
        )));
    };
    if let Some(qualifier) = &parsed.schema {
        if *qualifier != schema.name {
            return Err(Error::not_supported(format!(
                "table {name} of another schema in a statement on sharded tables of '{}'",
                schema.name
            )));
        }
    }
    let kind = match schema.table_kind(&parsed.table) {
        TableKind::Sharded(rule) => RefKind::Sharded(rule),
        TableKind::Broadcast => RefKind::Broadcast,
        TableKind::Unsharded => RefKind::Unsharded,
    };
    if parsed.schema.is_none() && ctes.contains(&parsed.table) {
        if !matches!(kind, RefKind::Unsharded) {
            return Err(Error::not_supported(format!(
                "a CTE named like the sharded or broadcast table '{}'",
                parsed.table
            )));
        }
        return Ok((parsed.table, RefKind::Derived));
    }
    Ok((parsed.table, kind))
}

/// A column reference: `col`, `t.col` or `schema.t.col`, as written (names
/// compare case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnName<'e> {
    /// The table qualifier, if any.
    pub qualifier: Option<&'e str>,
    /// The column.
    pub column: &'e str,
}

impl<'e> ColumnName<'e> {
    /// The column `expr` names, looking through parentheses.
    pub fn of(expr: &'e Expr) -> Option<ColumnName<'e>> {
        match expr {
            Expr::Identifier(ident) => Some(ColumnName {
                qualifier: None,
                column: &ident.value,
            }),
            Expr::CompoundIdentifier(idents) if (2..=3).contains(&idents.len()) => {
                let n = idents.len();
                Some(ColumnName {
                    qualifier: Some(&idents[n - 2].value),
                    column: &idents[n - 1].value,
                })
            }
            Expr::Nested(inner) => ColumnName::of(inner),
            _ => None,
        }
    }

    /// The column of an `ObjectName` (INSERT column lists, SET targets).
    pub fn of_name(name: &'e ObjectName) -> Option<ColumnName<'e>> {
        let mut idents = name.0.iter().filter_map(ObjectNamePart::as_ident).rev();
        let column = &idents.next()?.value;
        let qualifier = idents.next().map(|i| i.value.as_str());
        Some(ColumnName { qualifier, column })
    }
}

/// Where a column reference starts: identifies it in every copy of a
/// statement, as rewriting keeps positions.
pub fn column_start(expr: &Expr) -> Option<Location> {
    match expr {
        Expr::Identifier(ident) => Some(ident.span.start),
        Expr::CompoundIdentifier(idents) => idents.last().map(|i| i.span.start),
        Expr::Nested(inner) => column_start(inner),
        _ => None,
    }
}

/// The first sharded or broadcast table a statement names, if any. A word
/// that merely looks like one (a column called `t_order`) also counts: such a
/// statement takes the routed path, which is exact, only slower.
pub fn names_routed_table<'a>(rules: &SchemaRules, sql: &'a [u8]) -> Option<&'a str> {
    if !rules.has_routed_tables() {
        return None;
    }
    Scanner::new(sql).find_map(|token| match token {
        Token::Word(w) | Token::Quoted(w) if rules.names_routed(w) => Some(w),
        _ => None,
    })
}
