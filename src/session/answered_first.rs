//! Derived tables in FROM and UNION branches on sharded tables whose rows
//! need a merge of their own ([`crate::sql::answered_first`]): each runs
//! first, planned and merged like any SELECT through
//! [`Session::run_routed`], its rows kept in memory up to
//! `server.max_subquery_rows` and put back as a literal table typed as its
//! columns are ([`crate::sql::literal_table`]). The statement then runs on
//! those rows (on one node, or merged as a plain UNION), and the client
//! sees the columns MariaDB gives the statement as written: it runs with
//! `LIMIT 0` on the first node ([`crate::plan::plan_describe`]), and the
//! rows are sent under those columns
//! ([`super::redescribed::Redescribed`]).

use super::redescribed::{DynReply, Redescribed};
use super::subquery::Collected;
use super::Session;
use crate::error::Error;
use crate::hash::HashSet;
use crate::sql::answered_first::{
    derived_tables, replace_derived_tables, replace_union_branches, union_branches,
};
use crate::sql::literal_table::{literal_branch, literal_table};
use mysql_common::constants::StatusFlags;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use sqlparser::ast::{Query, Statement};
use sqlparser::tokenizer::Span;
use std::future::Future;
use std::pin::Pin;

/// The MySQL error of a column name the statement's tables lack: what a
/// correlated derived table run on its own answers.
const ER_BAD_FIELD_ERROR: u16 = 1054;

/// Whether `error` is the refusal of a derived table or a UNION branch
/// whose rows need several data nodes, which answering it first lifts.
pub(super) fn is_refusal(error: &Error) -> bool {
    error.code == 1235
        && (error.message.contains("derived table on sharded table '")
            || error.message.contains("in a UNION branch")
            || error.message.contains("in a UNION ALL branch")
            || error
                .message
                .contains("ORDER BY or LIMIT inside a UNION branch"))
}

/// A part answered first: its columns and rows.
type Part = (Vec<Column>, Vec<Vec<Value>>);

/// Builds a part's literal rows ([`literal_table`] or [`literal_branch`]).
type LiteralRows =
    fn(&[Column], &[Vec<Value>], &[String], &[Option<String>]) -> Result<Query, Error>;

impl Session {
    /// Runs `text` with its derived tables and UNION branches answered
    /// first; `false` when it has none (the caller's refusal stands).
    pub(super) fn run_answered_first<'a>(
        &'a mut self,
        text: &'a str,
        params: Option<&'a [Value]>,
        reply: &'a mut dyn DynReply,
        more_after: bool,
    ) -> Pin<Box<dyn Future<Output = Result<bool, Error>> + Send + 'a>> {
        Box::pin(async move {
            let Some((answered, rest)) = self.answer_parts(text, params).await? else {
                return Ok(false);
            };
            let binary = params.is_some();
            let describe =
                self.plan_with(text, params.unwrap_or_default(), crate::plan::plan_describe)?;
            let described = self.unit_result(&describe, binary, 0).await?.columns;
            let mut redescribed = Redescribed::new(reply, described, binary);
            self.run_routed(
                answered.as_bytes(),
                binary.then_some(rest),
                &mut redescribed,
                more_after,
            )
            .await?;
            match redescribed.failed {
                Some(e) => Err(e),
                None => Ok(true),
            }
        })
    }

    /// `text` with its UNION branches, then its derived tables, run and
    /// replaced by their rows; the values of the `?`s left in it.
    async fn answer_parts(
        &mut self,
        text: &str,
        params: Option<&[Value]>,
    ) -> Result<Option<(String, Vec<Value>)>, Error> {
        let Ok(mut statements) = crate::sql::parse(text) else {
            return Ok(None);
        };
        if statements.len() != 1 || !matches!(statements[0], Statement::Query(_)) {
            return Ok(None);
        }
        let mut statement = statements.remove(0);
        let sharded: HashSet<String> = self.schema_rules()?.tables.keys().cloned().collect();
        let is_sharded = |name: &str| sharded.contains(&name.to_ascii_lowercase());
        let all = params.unwrap_or_default();
        let bindings = crate::sql::params::Bindings::new(&statement, all)?;
        let mut used: HashSet<usize> = HashSet::default();
        let mut parts = 0;
        let branches = union_branches(&statement, &is_sharded);
        let answers = self
            .answer_each(
                &branches,
                "UNION branch",
                literal_branch,
                all,
                params.is_some(),
                &bindings,
                &mut used,
            )
            .await?;
        parts += answers.len();
        replace_union_branches(&mut statement, answers, &is_sharded)?;
        let derived = derived_tables(&statement, &is_sharded)?;
        let answers = self
            .answer_each(
                &derived,
                "derived table",
                literal_table,
                all,
                params.is_some(),
                &bindings,
                &mut used,
            )
            .await?;
        parts += answers.len();
        replace_derived_tables(&mut statement, answers, &is_sharded)?;
        if parts == 0 {
            return Ok(None);
        }
        let rest = all
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(i))
            .map(|(_, v)| v.clone())
            .collect();
        Ok(Some((statement.to_string(), rest)))
    }

    /// Each of `parts` run with its own `?` values (`bound`: the client
    /// bound some), capped, and turned into literal rows by `literal`; the
    /// parameters they took are added to `used`.
    #[allow(clippy::too_many_arguments)]
    async fn answer_each(
        &mut self,
        parts: &[Query],
        what: &str,
        literal: LiteralRows,
        all: &[Value],
        bound: bool,
        bindings: &crate::sql::params::Bindings<'_>,
        used: &mut HashSet<usize>,
    ) -> Result<Vec<Query>, Error> {
        let mut answers = Vec::with_capacity(parts.len());
        for part in parts {
            let mine = placeholder_indexes(part, bindings);
            let values = || bound.then(|| values_at(all, &mine));
            let (columns, rows) = self.part_rows(part, values(), what).await?;
            let collations = self.collations(part, values(), &columns).await?;
            used.extend(&mine);
            answers.push(literal(&columns, &rows, &names(&columns), &collations)?);
        }
        Ok(answers)
    }

    /// Runs one part as a SELECT of its own and keeps its rows.
    async fn part_rows(
        &mut self,
        query: &Query,
        params: Option<Vec<Value>>,
        what: &str,
    ) -> Result<Part, Error> {
        let cap = self.config().server.max_subquery_rows;
        let sql = query.to_string();
        let mut collected = Collected::new(params.is_some(), cap);
        match self
            .run_routed(sql.as_bytes(), params, &mut collected, false)
            .await
        {
            Err(e) if e.code == ER_BAD_FIELD_ERROR => {
                return Err(Error::not_supported(format!(
                    "correlated {what} on sharded table '{}' across data nodes",
                    crate::sql::subquery::first_table(query)
                )));
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        if collected.over {
            return Err(Error::not_supported(format!(
                "{what} of more than {cap} rows (server.max_subquery_rows) across data nodes"
            )));
        }
        if let Some(e) = collected.failed {
            return Err(e);
        }
        Ok((collected.columns, collected.rows))
    }
}

impl Session {
    /// The collation of each of `query`'s string columns (`None` for the
    /// others), which its column definitions do not carry: MariaDB's
    /// `COLLATION()` of each, on the first node, over no rows of it.
    pub(super) async fn collations(
        &mut self,
        query: &Query,
        params: Option<Vec<Value>>,
        columns: &[Column],
    ) -> Result<Vec<Option<String>>, Error> {
        let strings: Vec<usize> = (0..columns.len())
            .filter(|&i| crate::sql::literal_table::is_string_type(columns[i].column_type()))
            .collect();
        if strings.is_empty() {
            return Ok(vec![None; columns.len()]);
        }
        // NULL columns first name the union's columns and take its types.
        let nulls: Vec<String> = (1..=columns.len())
            .map(|i| format!("NULL AS c{i}"))
            .collect();
        let probes: Vec<String> = strings
            .iter()
            .map(|i| format!("COLLATION(p.c{})", i + 1))
            .collect();
        let probe = format!(
            "SELECT {} FROM (SELECT 1) AS one LEFT JOIN ((SELECT {} LIMIT 0) UNION ALL (({query}) LIMIT 0)) AS p ON 1",
            probes.join(", "),
            nulls.join(", ")
        );
        let unit = self.plan_with(
            &probe,
            params.as_deref().unwrap_or_default(),
            crate::plan::plan_first_node,
        )?;
        let collected = self.unit_result(&unit, params.is_some(), 1).await?;
        let row = collected
            .rows
            .first()
            .ok_or_else(|| Error::internal("the collation probe returned no row"))?;
        let mut out = vec![None; columns.len()];
        for (&i, value) in strings.iter().zip(row) {
            if let Value::Bytes(name) = value {
                out[i] = Some(String::from_utf8_lossy(name).into_owned());
            }
        }
        Ok(out)
    }
}

impl Session {
    /// Runs one unit on its data source as the client's protocol would
    /// (an execute for the binary one: its column definitions are an
    /// execute's), keeping up to `cap` rows.
    async fn unit_result(
        &mut self,
        unit: &crate::plan::ExecutionUnit,
        binary: bool,
        cap: u64,
    ) -> Result<Collected, Error> {
        let conn = self
            .conns
            .conn(&self.generation.backends, &unit.data_source)
            .await?;
        let mut collected = Collected::new(binary, cap);
        let none = StatusFlags::empty();
        if binary {
            crate::execute::relay_values(conn, &unit.sql, &unit.params, &mut collected, none)
                .await?;
        } else {
            crate::execute::relay_text(conn, unit.sql.as_bytes(), &mut collected, none, false)
                .await?;
        }
        match collected.failed.take() {
            Some(e) => Err(e),
            None => Ok(collected),
        }
    }
}

/// The indexes of the parameters whose `?`s lie in `query`.
fn placeholder_indexes(query: &Query, bindings: &crate::sql::params::Bindings<'_>) -> Vec<usize> {
    crate::sql::subquery::placeholders(query)
        .iter()
        .filter_map(|&at| bindings.index(Span::new(at, at)))
        .collect()
}

fn values_at(all: &[Value], at: &[usize]) -> Vec<Value> {
    at.iter().filter_map(|&i| all.get(i)).cloned().collect()
}

/// The columns' names as the client sees them.
fn names(columns: &[Column]) -> Vec<String> {
    columns.iter().map(|c| c.name_str().into_owned()).collect()
}
