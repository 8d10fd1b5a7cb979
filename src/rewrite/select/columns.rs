//! The unit's select list as the rewrite builds it: the client's items
//! (their column numbers planned with every wildcard as no column), then the
//! derived columns the merge needs, each found again by its expression so
//! nothing is fetched twice.

use crate::error::Error;
use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
    ObjectName, Select, SelectItem, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// The unit's columns.
#[derive(Debug, Clone)]
pub struct Columns {
    /// The client's items, in order.
    items: Vec<Item>,
    /// Planned client-visible columns: the items that are no wildcard.
    pub visible: usize,
    /// The planned column number after the first wildcard, if there is one.
    pub wildcard_at: Option<usize>,
    /// The derived columns, in order after the visible ones.
    derived: Vec<DerivedColumn>,
}

/// One select-list item of the client.
#[derive(Debug, Clone)]
struct Item {
    /// The expression; `None` for a wildcard.
    expr: Option<Expr>,
    /// Its alias, if any.
    alias: Option<Ident>,
    /// The expression normalized for matching.
    key: Option<Expr>,
    /// Its planned column, if the merge may name it: an item after a
    /// wildcard is found again as a derived copy instead.
    column: Option<usize>,
}

/// One derived column.
#[derive(Debug, Clone)]
struct DerivedColumn {
    /// What it selects.
    expr: Expr,
    /// The expression normalized for matching.
    key: Expr,
    /// Its alias (`ORDER_BY_DERIVED_0`).
    alias: String,
}

impl Columns {
    /// The client's select list.
    pub fn new(projection: &[SelectItem]) -> Result<Columns, Error> {
        let mut items = Vec::with_capacity(projection.len());
        let mut visible = 0;
        let mut wildcard_at = None;
        for item in projection {
            let (expr, alias) = match item {
                SelectItem::UnnamedExpr(expr) => (Some(expr), None),
                SelectItem::ExprWithAlias { expr, alias } => (Some(expr), Some(alias.clone())),
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    wildcard_at.get_or_insert(visible);
                    (None, None)
                }
                SelectItem::ExprWithAliases { .. } => {
                    return Err(Error::not_supported(
                        "a select item with several aliases across data nodes",
                    ))
                }
            };
            let column = match expr {
                Some(_) if wildcard_at.is_none() => Some(visible),
                _ => None,
            };
            if expr.is_some() {
                visible += 1;
            }
            items.push(Item {
                key: expr.map(normalized),
                expr: expr.cloned(),
                alias,
                column,
            });
        }
        Ok(Columns {
            items,
            visible,
            wildcard_at,
            derived: Vec::new(),
        })
    }

    /// Whether the select list has a wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.wildcard_at.is_some()
    }

    /// The number of derived columns.
    pub fn derived_count(&self) -> usize {
        self.derived.len()
    }

    /// The client's items the merge may name: (column, expression).
    pub fn items(&self) -> impl Iterator<Item = (usize, &Expr)> {
        self.items
            .iter()
            .filter_map(|item| Some((item.column?, item.expr.as_ref()?)))
    }

    /// Every item's expression, wildcards left out.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.items.iter().filter_map(|item| item.expr.as_ref())
    }

    /// The column of select-list position `n` (1-based, as in `ORDER BY 2`)
    /// in `clause` (`order clause`, `group statement`): `Ok(None)` when it
    /// lies in or after a wildcard's columns.
    pub fn position(&self, n: u64, clause: &str) -> Result<Option<usize>, Error> {
        let index = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|&i| i < self.items.len() || self.has_wildcard());
        let Some(index) = index else {
            return Err(Error::new(
                1054,
                "42S22",
                format!("Unknown column '{n}' in '{clause}'"),
                crate::error::Origin::Client,
            ));
        };
        Ok(self.items.get(index).and_then(|item| item.column))
    }

    /// The item aliased `name` (any case): `Ok(column)` when the merge may
    /// name it, `Err(expr)` when it must be fetched again as a copy.
    pub fn by_alias(&self, name: &str) -> Option<Result<usize, &Expr>> {
        let item = self.items.iter().find(|item| {
            item.alias
                .as_ref()
                .is_some_and(|a| a.value.eq_ignore_ascii_case(name))
        })?;
        let expr = item.expr.as_ref()?;
        Some(item.column.ok_or(expr))
    }

    /// The expression of the item aliased `name` (any case).
    pub fn aliased(&self, name: &str) -> Option<&Expr> {
        self.by_alias(name).map(|found| match found {
            Ok(column) => self.expr(column),
            Err(expr) => Some(expr),
        })?
    }

    /// The column selecting `expr` already: a client item the merge may
    /// name, or a derived column.
    pub fn find(&self, expr: &Expr) -> Option<usize> {
        let key = normalized(expr);
        self.items
            .iter()
            .find_map(|item| item.column.filter(|_| item.key.as_ref() == Some(&key)))
            .or_else(|| self.find_derived(&key))
    }

    fn find_derived(&self, key: &Expr) -> Option<usize> {
        self.derived
            .iter()
            .position(|d| d.key == *key)
            .map(|i| self.visible + i)
    }

    /// A derived column selecting `expr` (an existing one if it selects the
    /// same), aliased `{prefix}_{n}`.
    pub fn derive(&mut self, expr: Expr, prefix: &str) -> usize {
        let key = normalized(&expr);
        if let Some(column) = self.find_derived(&key) {
            return column;
        }
        let n = self
            .derived
            .iter()
            .filter(|d| {
                d.alias
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('_'))
            })
            .count();
        self.derived.push(DerivedColumn {
            expr,
            key,
            alias: format!("{prefix}_{n}"),
        });
        self.visible + self.derived.len() - 1
    }

    /// [`Self::find`], else [`Self::derive`].
    pub fn find_or_derive(&mut self, expr: &Expr, prefix: &str) -> usize {
        match self.find(expr) {
            Some(column) => column,
            None => self.derive(expr.clone(), prefix),
        }
    }

    /// What column `column` selects.
    pub fn expr(&self, column: usize) -> Option<&Expr> {
        match column.checked_sub(self.visible) {
            Some(d) => self.derived.get(d).map(|d| &d.expr),
            None => self
                .items
                .iter()
                .find(|item| item.column == Some(column))
                .and_then(|item| item.expr.as_ref()),
        }
    }

    /// The alias of column `column`, if it has one.
    pub fn alias(&self, column: usize) -> Option<Ident> {
        match column.checked_sub(self.visible) {
            Some(d) => self.derived.get(d).map(|d| Ident::new(&d.alias)),
            None => self
                .items
                .iter()
                .find(|item| item.column == Some(column))
                .and_then(|item| item.alias.clone()),
        }
    }

    /// Whether `column` is derived.
    pub fn is_derived(&self, column: usize) -> bool {
        column >= self.visible
    }

    /// Appends the derived columns to `select`'s list.
    pub fn apply(&self, select: &mut Select) {
        select
            .projection
            .extend(self.derived.iter().map(|d| SelectItem::ExprWithAlias {
                expr: d.expr.clone(),
                alias: Ident::new(&d.alias),
            }));
    }
}

/// `name(arg)`.
pub fn call(name: &str, arg: Expr) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))],
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// `expr` with identifiers and function names lower-cased and unquoted, so
/// `Status` matches `` `status` `` and `count(*)` matches `COUNT(*)`.
pub fn normalized(expr: &Expr) -> Expr {
    let mut copy = expr.clone();
    let _ = copy.visit(&mut Normalizer);
    copy
}

/// Lower-cases and unquotes identifiers.
struct Normalizer;

fn plain(ident: &mut Ident) {
    ident.value.make_ascii_lowercase();
    ident.quote_style = None;
}

impl VisitorMut for Normalizer {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(ident) => plain(ident),
            Expr::CompoundIdentifier(idents) => idents.iter_mut().for_each(plain),
            Expr::Function(function) => {
                for part in &mut function.name.0 {
                    if let sqlparser::ast::ObjectNamePart::Identifier(ident) = part {
                        plain(ident);
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}
