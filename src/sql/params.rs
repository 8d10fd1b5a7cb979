//! `?` placeholders and the COM_STMT_EXECUTE values bound to them. A
//! placeholder is known by where it stands in the statement text (its span),
//! which rewriting keeps: so after an IN list is pruned or INSERT rows are
//! split, the placeholders left in a unit's statement still name their values.

use crate::error::Error;
use mysql_common::value::Value as Param;
use sqlparser::ast::{Expr, Statement, Value, Visit, Visitor};
use sqlparser::tokenizer::{Location, Span};
use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

/// The statement's placeholders in text order, with their bound values.
#[derive(Debug, Clone, Default)]
pub struct Bindings<'a> {
    /// The bound values, in `?` order; empty for the text protocol and PREVIEW.
    params: &'a [Param],
    /// Where each placeholder starts, ascending; empty when nothing is bound.
    locations: Cow<'a, [Location]>,
    /// Whether a bound value was read ([`Self::param`]) since
    /// [`Self::forget_reads`]: a rewrite that read none made units that
    /// hold for any values (`crate::plan` keeps them as a template).
    values_read: ReadFlag,
}

/// Whether a value was read; atomic only so that `&Bindings` may be held
/// across an await of a `Send` future (one thread uses it at a time).
#[derive(Debug, Default)]
struct ReadFlag(AtomicBool);

impl Clone for ReadFlag {
    fn clone(&self) -> Self {
        ReadFlag(AtomicBool::new(self.0.load(Ordering::Relaxed)))
    }
}

impl<'a> Bindings<'a> {
    /// Binds `params` to the placeholders of `statement`. Without params
    /// every placeholder stays unbound. The number of values must match the
    /// number of placeholders.
    pub fn new(statement: &Statement, params: &'a [Param]) -> Result<Bindings<'a>, Error> {
        if params.is_empty() {
            return Ok(Bindings::default());
        }
        Bindings::at(params, Cow::Owned(placeholder_locations(statement)))
    }

    /// Binds `params` to the placeholders found at `locations` (ascending:
    /// [`placeholder_locations`] of the statement), as [`Self::new`] does.
    pub fn at(params: &'a [Param], locations: Cow<'a, [Location]>) -> Result<Bindings<'a>, Error> {
        if params.is_empty() {
            return Ok(Bindings::default());
        }
        let distinct = locations.windows(2).all(|w| w[0] < w[1]);
        if locations.len() != params.len() || !distinct {
            return Err(Error::wrong_arguments("mysqld_stmt_execute"));
        }
        Ok(Bindings {
            params,
            locations,
            values_read: ReadFlag::default(),
        })
    }

    /// Whether values are bound (a COM_STMT_EXECUTE).
    pub fn is_bound(&self) -> bool {
        !self.params.is_empty()
    }

    /// All bound values, in `?` order.
    pub fn params(&self) -> &'a [Param] {
        self.params
    }

    /// The index of the placeholder at `span`, if values are bound.
    pub fn index(&self, span: Span) -> Option<usize> {
        self.locations.binary_search(&span.start).ok()
    }

    /// The value bound to the placeholder at `span`.
    pub fn param(&self, span: Span) -> Option<&'a Param> {
        let param = self.index(span).and_then(|i| self.params.get(i));
        if param.is_some() {
            self.values_read.0.store(true, Ordering::Relaxed);
        }
        param
    }

    /// Starts counting value reads afresh ([`Self::values_read`]).
    pub fn forget_reads(&self) {
        self.values_read.0.store(false, Ordering::Relaxed);
    }

    /// Whether [`Self::param`] gave a value since [`Self::forget_reads`].
    pub fn values_read(&self) -> bool {
        self.values_read.0.load(Ordering::Relaxed)
    }

    /// The values at `indexes`.
    pub fn pick(&self, indexes: &[usize]) -> Vec<Param> {
        indexes
            .iter()
            .filter_map(|&i| self.params.get(i).cloned())
            .collect()
    }

    /// The values of the placeholders left in `statement` (a rewritten copy
    /// of the bound statement), in their text order.
    pub fn params_of(&self, statement: &Statement) -> Vec<Param> {
        self.pick(&self.indexes_of(statement))
    }

    /// [`Self::params_of`] as indexes into the bound values.
    pub fn indexes_of(&self, statement: &Statement) -> Vec<usize> {
        if !self.is_bound() {
            return Vec::new();
        }
        placeholder_locations(statement)
            .into_iter()
            .filter_map(|location| self.locations.binary_search(&location).ok())
            .collect()
    }

    /// The values of the placeholders in `exprs`, in text order.
    pub fn params_in(&self, exprs: &[Expr]) -> Vec<Param> {
        if !self.is_bound() {
            return Vec::new();
        }
        let mut collector = Collector(Vec::new());
        for expr in exprs {
            let _ = expr.visit(&mut collector);
        }
        collector.0.sort_unstable();
        collector
            .0
            .into_iter()
            .filter_map(|location| self.locations.binary_search(&location).ok())
            .filter_map(|i| self.params.get(i).cloned())
            .collect()
    }
}

impl Bindings<'_> {
    /// The values of the placeholders of `statement` in the order a visit
    /// meets them, which is their text order in a rewritten statement that
    /// holds copies of the client's expressions (a placeholder may then
    /// stand several times) when [`Self::visits_in_text_order`] holds for
    /// the client's statement.
    pub fn params_in_visit_order(&self, statement: &Statement) -> Vec<Param> {
        self.pick(&self.indexes_in_visit_order(statement))
    }

    /// [`Self::params_in_visit_order`] as indexes into the bound values.
    pub fn indexes_in_visit_order(&self, statement: &Statement) -> Vec<usize> {
        if !self.is_bound() {
            return Vec::new();
        }
        let mut collector = Collector(Vec::new());
        let _ = statement.visit(&mut collector);
        collector
            .0
            .into_iter()
            .filter_map(|location| self.locations.binary_search(&location).ok())
            .collect()
    }

    /// Whether a visit of `statement` meets its placeholders in text order.
    pub fn visits_in_text_order(statement: &Statement) -> bool {
        let mut collector = Collector(Vec::new());
        let _ = statement.visit(&mut collector);
        collector.0.windows(2).all(|w| w[0] < w[1])
    }
}

/// Where each `?` of `statement` starts, in text order.
/// Where each placeholder of `statement` starts, ascending.
pub fn placeholder_locations(statement: &Statement) -> Vec<Location> {
    let mut collector = Collector(Vec::new());
    let _ = statement.visit(&mut collector);
    collector.0.sort_unstable();
    collector.0
}

/// Gathers placeholder locations.
struct Collector(Vec<Location>);

impl Visitor for Collector {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Value(v) = expr {
            if matches!(v.value, Value::Placeholder(_)) {
                self.0.push(v.span.start);
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse;

    fn statement(sql: &str) -> Statement {
        parse(sql).expect("parses").remove(0)
    }

    #[test]
    fn placeholders_are_numbered_in_text_order() {
        let s = statement("SELECT ? FROM t WHERE a IN (?, ?) AND b = ? LIMIT ?");
        let params: Vec<Param> = (1..=5).map(Param::Int).collect();
        let bindings = Bindings::new(&s, &params).expect("binds");
        assert_eq!(bindings.params_of(&s), params);
    }

    #[test]
    fn wrong_count_is_refused() {
        let s = statement("SELECT * FROM t WHERE a = ?");
        let error = Bindings::new(&s, &[Param::Int(1), Param::Int(2)]).unwrap_err();
        assert_eq!(error.code, 1210);
    }

    #[test]
    fn unbound_without_params() {
        let s = statement("SELECT * FROM t WHERE a = ?");
        let bindings = Bindings::new(&s, &[]).expect("binds");
        assert!(!bindings.is_bound());
        assert!(bindings.params_of(&s).is_empty());
    }

    #[test]
    fn placeholders_everywhere_have_their_own_position() {
        for (sql, count) in [
            ("SELECT * FROM t WHERE a BETWEEN ? AND ? LIMIT ?, ?", 4),
            (
                "SELECT CAST(? AS SIGNED), ? + ?, CASE WHEN ? THEN ? ELSE ? END",
                6,
            ),
            (
                "SELECT * FROM t WHERE d > NOW() - INTERVAL ? DAY AND n LIKE ?",
                2,
            ),
            (
                "SELECT JSON_EXTRACT(?, ?), COALESCE(?, ?) FROM t WHERE a IN (?, ?)",
                6,
            ),
            (
                "UPDATE t SET a = ?, b = ? WHERE c = ? ORDER BY d LIMIT ?",
                4,
            ),
            (
                "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE b = ?",
                5,
            ),
            ("INSERT INTO t SET a = ?, b = ?", 2),
            ("DELETE FROM t WHERE a = ? LIMIT ?", 2),
            (
                "SELECT * FROM t WHERE a = (SELECT MAX(b) FROM u WHERE c = ?) AND d = ?",
                2,
            ),
            ("SELECT 'é', ? FROM t WHERE x = '张三' AND y = ?", 2),
        ] {
            let s = statement(sql);
            let params: Vec<Param> = (0..count).map(Param::Int).collect();
            let bindings = Bindings::new(&s, &params).unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert_eq!(bindings.params_of(&s), params, "{sql}");
        }
    }

    #[test]
    fn visits_meet_placeholders_in_text_order() {
        for sql in [
            "SELECT ?, a + ? FROM t WHERE b = ? GROUP BY c HAVING SUM(d) > ? ORDER BY e * ? LIMIT ?",
            "SELECT CASE WHEN ? THEN ? ELSE ? END FROM t WHERE a BETWEEN ? AND ? AND b IN (?, ?)",
            "(SELECT a FROM t WHERE b = ? LIMIT ?) UNION ALL (SELECT a FROM u WHERE b = ?)",
            "SELECT * FROM t WHERE d > NOW() - INTERVAL ? DAY AND n LIKE ? AND EXISTS (SELECT 1 FROM u WHERE x = ?)",
        ] {
            let s = statement(sql);
            assert!(Bindings::visits_in_text_order(&s), "{sql}");
            let params: Vec<Param> = (0..placeholder_locations(&s).len() as i64)
                .map(Param::Int)
                .collect();
            let bindings = Bindings::new(&s, &params).expect("binds");
            assert_eq!(bindings.params_in_visit_order(&s), params, "{sql}");
        }
    }

    #[test]
    fn multi_line_statements_keep_order() {
        let s = statement("SELECT ?,\n ? FROM t\nWHERE a = ?");
        let params: Vec<Param> = (1..=3).map(Param::Int).collect();
        let bindings = Bindings::new(&s, &params).expect("binds");
        assert_eq!(bindings.params_of(&s), params);
    }
}
