//! INSERT rewriting: generated keys added as a column (a literal per row),
//! and the rows split by route unit, each unit's copy carrying only its own.

use crate::keygen::GeneratedKey;
use crate::route::GeneratedColumn;
use crate::rules::SchemaRules;
use sqlparser::ast::{
    Assignment, AssignmentTarget, Expr, Ident, ObjectName, Parens, SetExpr, Statement, TableObject,
    Value,
};

/// One VALUES row.
type Row = Parens<Vec<Expr>>;

/// `INSERT INTO t (id, ...) VALUES (DEFAULT, ...)` (Sequelize's and
/// Knex's form for an auto-increment key) into a table whose key generator
/// fills `id`: the column and its values are taken out, so the proxy
/// generates the keys as when the column is omitted. Only when every row
/// says `DEFAULT` or `NULL` for it (as AUTO_INCREMENT treats both). True
/// when it took them out.
pub fn drop_defaulted_key(statement: &mut Statement, schema: &SchemaRules) -> bool {
    let Statement::Insert(insert) = statement else {
        return false;
    };
    let TableObject::TableName(name) = &insert.table else {
        return false;
    };
    let Some(table) = name.0.last().and_then(|p| p.as_ident()) else {
        return false;
    };
    let Some(key) = schema
        .table(&table.value)
        .and_then(|rule| rule.key_generator.as_ref())
    else {
        return false;
    };
    let Some(at) = insert.columns.iter().position(|c| {
        c.0.last()
            .and_then(|p| p.as_ident())
            .is_some_and(|i| i.value.eq_ignore_ascii_case(&key.column))
    }) else {
        return false;
    };
    let Some(SetExpr::Values(values)) = insert.source.as_mut().map(|q| q.body.as_mut()) else {
        return false;
    };
    let defaulted = |e: &Expr| match e {
        Expr::Identifier(i) => i.quote_style.is_none() && i.value.eq_ignore_ascii_case("DEFAULT"),
        Expr::Value(v) => matches!(v.value, Value::Null),
        _ => false,
    };
    if values.rows.is_empty()
        || !values
            .rows
            .iter()
            .all(|row| row.content.get(at).is_some_and(defaulted))
    {
        return false;
    }
    for row in &mut values.rows {
        row.content.remove(at);
    }
    insert.columns.remove(at);
    true
}

/// Adds the generated key column and its values to an INSERT.
pub fn add_generated(statement: &mut Statement, generated: &GeneratedColumn) {
    let Statement::Insert(insert) = statement else {
        return;
    };
    let column = ObjectName::from(vec![Ident::new(generated.column.clone())]);
    if !insert.assignments.is_empty() {
        if let Some(key) = generated.values.first() {
            insert.assignments.push(Assignment {
                target: AssignmentTarget::ColumnName(column),
                value: literal(key.as_ref()),
            });
        }
        return;
    }
    insert.columns.push(column);
    if let Some(SetExpr::Values(values)) = insert.source.as_mut().map(|q| q.body.as_mut()) {
        for (row, key) in values.rows.iter_mut().zip(&generated.values) {
            row.content.push(literal(key.as_ref()));
        }
    }
}

/// A generated key as a literal: integer ids as integers, UUIDs as strings
/// (or `X'..'` for a binary column); without a generator, an unbound `?`.
pub(super) fn literal(key: Option<&GeneratedKey>) -> Expr {
    Expr::value(match key {
        Some(GeneratedKey::Int(id)) => Value::Number(id.to_string(), false),
        Some(GeneratedKey::Text(text)) => Value::SingleQuotedString(text.clone()),
        Some(GeneratedKey::Bytes(bytes)) => Value::HexStringLiteral(hex(bytes)),
        None => Value::Placeholder("?".to_string()),
    })
}

/// Upper-case hex digits of `bytes`.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
}

/// The rows of a multi-row INSERT, taken out of the statement to be dealt
/// to the route units.
pub struct Rows {
    /// Each row, until its last unit takes it.
    slots: Vec<Option<Row>>,
    /// How many units still need each row (more than one only for a row
    /// with an unbound sharding value, in PREVIEW).
    uses: Vec<usize>,
}

impl Rows {
    /// Takes the VALUES rows out of an INSERT; `None` for other statements.
    pub fn take(statement: &mut Statement, units: &[&[usize]]) -> Option<Rows> {
        let Statement::Insert(insert) = statement else {
            return None;
        };
        let Some(SetExpr::Values(values)) = insert.source.as_mut().map(|q| q.body.as_mut()) else {
            return None;
        };
        let slots: Vec<Option<Row>> = std::mem::take(&mut values.rows)
            .into_iter()
            .map(Some)
            .collect();
        let mut uses = vec![0; slots.len()];
        for &rows in units {
            for &r in rows {
                if let Some(u) = uses.get_mut(r) {
                    *u += 1;
                }
            }
        }
        Some(Rows { slots, uses })
    }

    /// Puts the rows `rows` into `statement` (a copy of the INSERT).
    pub fn deal(&mut self, statement: &mut Statement, rows: &[usize]) {
        let mut out = Vec::with_capacity(rows.len());
        for &r in rows {
            let (Some(slot), Some(uses)) = (self.slots.get_mut(r), self.uses.get_mut(r)) else {
                continue;
            };
            *uses = uses.saturating_sub(1);
            let row = if *uses == 0 {
                slot.take()
            } else {
                slot.clone()
            };
            out.extend(row);
        }
        if let Statement::Insert(insert) = statement {
            if let Some(SetExpr::Values(values)) = insert.source.as_mut().map(|q| q.body.as_mut()) {
                values.rows = out;
            }
        }
    }
}
