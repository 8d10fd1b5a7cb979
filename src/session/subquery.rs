//! Uncorrelated subqueries on sharded tables that the router refuses
//! (their rows need several data nodes): each runs first, planned and
//! merged like any SELECT through [`Session::run_routed`], its rows kept
//! in memory up to `server.max_subquery_rows`, and its answer replaces it
//! as literals ([`crate::sql::subquery`]); the outer statement is then
//! planned on the values it got.

use super::reply::{OkInfo, Reply};
use super::scalar_column::{item_name, Described};
use super::Session;
use crate::error::Error;
use crate::execute::decode_row;
use crate::hash::HashSet;
use crate::plan::ExecutionPlan;
use crate::sql::subquery::{
    answer, find, first_table, name_select_items, substitute, with_stand_ins, Found, Shape,
};
use mysql_common::constants::StatusFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use sqlparser::ast::{LimitClause, ObjectName, Statement, Visit, Visitor};
use sqlparser::tokenizer::Span;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;

/// The MySQL error of a column name the statement's tables lack: what a
/// correlated subquery run on its own answers.
const ER_BAD_FIELD_ERROR: u16 = 1054;

/// Whether `error` is the router's refusal of a query block whose rows
/// need several data nodes, which answering subqueries first may lift (a
/// derived table on one node refused for the subquery inside it).
pub(super) fn is_subquery_refusal(error: &Error) -> bool {
    error.code == 1235
        && (error.message.contains("subquery on sharded table")
            || error.message.contains("derived table on sharded table"))
}

impl Session {
    /// The text a prepare describes in place of `text` when the router
    /// refuses `text` for its subqueries: each stands in as a query on no
    /// table that keeps its `?`s ([`with_stand_ins`]).
    pub(super) fn with_subquery_stand_ins(&self, text: &str) -> Result<Option<String>, Error> {
        let Ok(mut statements) = crate::sql::parse(text) else {
            return Ok(None);
        };
        if statements.len() != 1 {
            return Ok(None);
        }
        let statement = statements.remove(0);
        let sharded: HashSet<String> = self.schema_rules()?.tables.keys().cloned().collect();
        let is_sharded = |name: &str| sharded.contains(&name.to_ascii_lowercase());
        let found = find(&statement, &is_sharded)?;
        if found.is_empty() {
            return Ok(None);
        }
        let mut statement = statement;
        name_select_items(&mut statement, &select_item_names(text, &found)?);
        Ok(Some(with_stand_ins(&statement, &is_sharded)?.to_string()))
    }
}

/// A statement with its subqueries answered: its text, the values of the
/// `?`s left in it and the select-list columns to describe as the
/// subqueries' that stood there.
pub(super) type Answered = (String, Vec<Value>, Vec<Described>);

impl Session {
    /// A routed statement's plan, from a plan template when its text (an
    /// execute's) or its shape (a text statement's) was planned before
    /// ([`crate::plan::plan_execute`], [`crate::plan::plan_text`]). Refused for subqueries whose rows
    /// need several data nodes, it is planned again with their answers.
    pub(super) async fn plan_routed(
        &mut self,
        text: &str,
        params: Option<&[Value]>,
    ) -> Result<(ExecutionPlan, Vec<Described>), Error> {
        let planned = match params {
            Some(values) => self.plan_with(text, values, crate::plan::plan_execute),
            None => self.plan_with(text, &[], crate::plan::plan_text),
        };
        match planned {
            Err(e) if is_subquery_refusal(&e) => {
                match self.answer_subqueries(text, params).await? {
                    Some((answered, rest, described)) => {
                        Ok((self.plan(&answered, &rest)?, described))
                    }
                    None => Err(e),
                }
            }
            planned => Ok((planned?, Vec::new())),
        }
    }

    /// `text` with each outermost subquery on sharded tables run and
    /// replaced by its answer; `None` when it has none. `params`: an
    /// execute's values, split between the subqueries and what remains.
    pub(super) fn answer_subqueries<'a>(
        &'a mut self,
        text: &'a str,
        params: Option<&'a [Value]>,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Answered>, Error>> + Send + 'a>> {
        Box::pin(async move {
            let Ok(mut statements) = crate::sql::parse(text) else {
                return Ok(None);
            };
            if statements.len() != 1 {
                return Ok(None);
            }
            let mut statement = statements.remove(0);
            let sharded: HashSet<String> = self.schema_rules()?.tables.keys().cloned().collect();
            let is_sharded = |name: &str| sharded.contains(&name.to_ascii_lowercase());
            let found = find(&statement, &is_sharded)?;
            if found.is_empty() {
                return Ok(None);
            }
            check_write_target(&statement, &found)?;
            name_select_items(&mut statement, &select_item_names(text, &found)?);
            let mut described = Vec::new();
            let params = params.unwrap_or_default();
            let bindings = crate::sql::params::Bindings::new(&statement, params)?;
            let cap = self.config().server.max_subquery_rows;
            let mut inner_params: HashSet<usize> = HashSet::default();
            let mut answers = Vec::with_capacity(found.len());
            for subquery in &found {
                let mine: Vec<usize> = subquery
                    .placeholders
                    .iter()
                    .filter_map(|&at| bindings.index(Span::new(at, at)))
                    .collect();
                let values: Vec<Value> = mine
                    .iter()
                    .filter_map(|&i| params.get(i))
                    .cloned()
                    .collect();
                inner_params.extend(mine);
                let bound = (!params.is_empty()).then_some(values);
                let rows = self.subquery_rows(subquery, bound.clone(), cap).await?;
                let collations = match rows.rows.is_empty() {
                    true => Vec::new(),
                    false => {
                        self.collations(&subquery.query, bound, &rows.columns)
                            .await?
                    }
                };
                if let (Some(at), [column]) = (&subquery.select_item, rows.columns.as_slice()) {
                    described.push((at.position, column.clone()));
                }
                answers.push(answer(
                    subquery.shape,
                    &rows.columns,
                    &collations,
                    &rows.rows,
                )?);
            }
            substitute(&mut statement, answers, &is_sharded)?;
            let rest = params
                .iter()
                .enumerate()
                .filter(|(i, _)| !inner_params.contains(i))
                .map(|(_, v)| v.clone())
                .collect();
            Ok(Some((statement.to_string(), rest, described)))
        })
    }

    /// Runs one subquery as a statement of its own and keeps its rows.
    pub(super) async fn subquery_rows(
        &mut self,
        subquery: &Found,
        params: Option<Vec<Value>>,
        cap: u64,
    ) -> Result<Collected, Error> {
        let mut query = subquery.query.clone();
        if matches!(subquery.shape, Shape::Exists { .. })
            && query.limit_clause.is_none()
            && query.locks.is_empty()
        {
            // One row answers EXISTS.
            query.limit_clause = Some(LimitClause::LimitOffset {
                limit: Some(
                    crate::sql::parse_expr("1").map_err(|e| Error::internal(e.to_string()))?,
                ),
                offset: None,
                limit_by: Vec::new(),
            });
        }
        let sql = query.to_string();
        let binary = params.is_some();
        let mut collected = Collected::new(binary, cap);
        let run = self
            .run_routed(sql.as_bytes(), params, &mut collected, false)
            .await;
        match run {
            Err(e) if e.code == ER_BAD_FIELD_ERROR => {
                return Err(Error::not_supported(format!(
                    "correlated subquery on sharded table '{}' that needs rows from several data nodes",
                    first_table(&subquery.query)
                )));
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        if collected.over {
            return Err(Error::not_supported(format!(
                "subquery of more than {cap} rows (server.max_subquery_rows) across data nodes"
            )));
        }
        if let Some(e) = collected.failed {
            return Err(e);
        }
        Ok(collected)
    }
}

/// The names of the unaliased whole-item scalar subqueries of the select
/// list, as MariaDB names their columns: their text as written.
fn select_item_names(text: &str, found: &[Found]) -> Result<Vec<(usize, String)>, Error> {
    // Spans are of the text parsed, its identifier words quoted (an item
    // holding one is then refused: the backtick is not the client's).
    let parsed = crate::sql::dialect::quote_identifier_words(text);
    let text = parsed.as_ref();
    found
        .iter()
        .filter_map(|f| f.select_item.as_ref())
        .filter_map(|at| Some((at.position, at.unaliased?)))
        .map(|(position, span)| match item_name(text, span) {
            Some(name) => Ok((position, name)),
            None => Err(Error::not_supported(
                "scalar subquery in the select list, without alias, whose name MariaDB would cut or quote",
            )),
        })
        .collect()
}

/// An UPDATE or DELETE may not read the table it changes in a subquery
/// (MariaDB's 1093): answered first, it would see rows MariaDB refuses to.
fn check_write_target(statement: &Statement, found: &[Found]) -> Result<(), Error> {
    if matches!(statement, Statement::Query(_)) {
        return Ok(());
    }
    let mut all = Vec::new();
    let _ = Visit::visit(statement, &mut Relations(&mut all));
    let mut inner = Vec::new();
    for subquery in found {
        let _ = Visit::visit(&subquery.query, &mut Relations(&mut inner));
    }
    for name in &inner {
        let count = |list: &[String]| list.iter().filter(|n| *n == name).count();
        if count(&all) > count(&inner) {
            return Err(Error::not_supported(format!(
                "UPDATE or DELETE of table '{name}' with a subquery on it across data nodes"
            )));
        }
    }
    Ok(())
}

/// The table names a tree names, lower-cased.
struct Relations<'a>(&'a mut Vec<String>);

impl Visitor for Relations<'_> {
    type Break = ();
    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        if let Some(ident) = relation.0.last().and_then(|p| p.as_ident()) {
            self.0.push(ident.value.to_ascii_lowercase());
        }
        ControlFlow::Continue(())
    }
}

/// The rows of a subquery's answer, kept in memory up to a cap.
pub(super) struct Collected {
    /// Whether rows come in the binary protocol's encoding.
    binary: bool,
    /// The most rows kept.
    cap: u64,
    /// The result's columns.
    pub(super) columns: Vec<Column>,
    /// The same, for decoding relayed rows.
    shared_columns: Option<Arc<[Column]>>,
    /// The rows kept.
    pub(super) rows: Vec<Vec<Value>>,
    /// More rows came than the cap.
    pub(super) over: bool,
    /// A row that did not decode, or an error reply.
    pub(super) failed: Option<Error>,
}

impl Collected {
    pub(super) fn new(binary: bool, cap: u64) -> Self {
        Collected {
            binary,
            cap,
            columns: Vec::new(),
            shared_columns: None,
            rows: Vec::new(),
            over: false,
            failed: None,
        }
    }

    fn keep(&mut self, row: Vec<Value>) {
        if self.rows.len() as u64 >= self.cap {
            self.over = true;
        } else if !self.over {
            self.rows.push(row);
        }
    }
}

impl Reply for Collected {
    fn columns(&mut self, columns: &[Column]) {
        self.columns = columns.to_vec();
        self.shared_columns = Some(columns.into());
    }
    fn column_count(&mut self, n: usize) {
        self.columns = Vec::with_capacity(n);
        self.shared_columns = None;
    }
    fn raw_column(&mut self, payload: &[u8]) {
        match ParseBuf(payload).parse::<Column>(()) {
            Ok(column) => self.columns.push(column),
            Err(_) => self.failed = Some(Error::internal("a malformed column definition")),
        }
    }
    fn extended_metadata(&self) -> bool {
        false // read with mysql_common, which knows none
    }
    fn columns_done(&mut self) {
        self.shared_columns = Some(self.columns.as_slice().into());
    }
    fn raw_row(&mut self, payload: &[u8]) {
        let Some(columns) = &self.shared_columns else {
            self.failed = Some(Error::internal("a row before its columns"));
            return;
        };
        match decode_row(payload, columns, self.binary) {
            Some(row) => self.keep(row),
            None => self.failed = Some(Error::internal("a malformed row in a subquery's answer")),
        }
    }
    fn row(&mut self, values: &[Value]) {
        self.keep(values.to_vec());
    }
    fn end_rows(&mut self, _status: StatusFlags, _warnings: u16) {}
    fn ok(&mut self, _ok: &OkInfo, _status: StatusFlags) {}
    fn error(&mut self, error: &Error) {
        self.failed = Some(error.clone());
    }
    fn pending(&self) -> usize {
        0
    }
    async fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
