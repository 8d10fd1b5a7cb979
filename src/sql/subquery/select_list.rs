//! Scalar subqueries that are whole items of the top select list. Answered
//! first like the others, each leaves a literal in its place; the session
//! then describes that column as the subquery's own (type, length,
//! decimals, collation; nullable, as MariaDB describes a subquery over a
//! table), and an item without alias keeps its name as written.

use sqlparser::ast::{Expr, Ident, Select, SelectItem, SetExpr, Spanned, Statement};
use sqlparser::tokenizer::Span;

/// Where a whole-item scalar subquery stands in the top select list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectItemAt {
    /// Its index among the select items.
    pub position: usize,
    /// Where its subquery is written, when it has no alias: MariaDB names
    /// the column by that text.
    pub unaliased: Option<Span>,
}

/// The top SELECT of a query statement that is no set operation.
pub(super) fn top_select(statement: &Statement) -> Option<*const Select> {
    match statement {
        Statement::Query(query) => match query.body.as_ref() {
            SetExpr::Select(select) => Some(select.as_ref() as *const Select),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `select` lists a `*` or `t.*`.
pub(super) fn has_wildcard(select: &Select) -> bool {
    select.projection.iter().any(|item| {
        matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    })
}

/// The item's subquery expression and place when `item` is one scalar
/// subquery, aliased or not.
pub(super) fn whole_scalar(
    item: &SelectItem,
    position: usize,
) -> Option<(*const Expr, SelectItemAt)> {
    match item {
        SelectItem::UnnamedExpr(expr @ Expr::Subquery(_)) => Some((
            expr as *const Expr,
            SelectItemAt {
                position,
                unaliased: Some(expr.span()),
            },
        )),
        SelectItem::ExprWithAlias {
            expr: expr @ Expr::Subquery(_),
            ..
        } => Some((
            expr as *const Expr,
            SelectItemAt {
                position,
                unaliased: None,
            },
        )),
        _ => None,
    }
}

/// Gives the top select items at `names`' positions their names as
/// aliases (before their subqueries are replaced by literals).
pub fn name_select_items(statement: &mut Statement, names: &[(usize, String)]) {
    let Statement::Query(query) = statement else {
        return;
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    for (position, name) in names {
        let Some(item) = select.projection.get_mut(*position) else {
            continue;
        };
        if let SelectItem::UnnamedExpr(expr) = item {
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias: Ident::with_quote('`', name.clone()),
            };
        }
    }
}
