//! Running an [`ExecutionPlan`]: the execution units on the session's
//! connections, their answers merged into the client's one answer.

use super::observed_reply::ObservedReply;
use super::reply::{OkInfo, Reply};
use super::{more_results, Session};
use crate::admin::metrics::Fanout;
use crate::error::Error;
use crate::execute::{
    relay_text, relay_text_opening, relay_values, run_ok, stream_rows, PooledConn, UnitRows,
};
use crate::plan::{ExecutionPlan, ExecutionUnit, MergePlan};
use futures_util::future::join_all;
use mysql_common::constants::StatusFlags;
use mysql_common::packets::Column;
use mysql_common::value::Value;

impl Session {
    /// Runs a plan. `binary`: the client used COM_STMT_EXECUTE, so units run
    /// as prepared statements with their own parameters. `is_write`: a DML
    /// statement, which runs in one transaction when it spans data sources.
    pub(super) async fn execute_plan<R: Reply>(
        &mut self,
        plan: ExecutionPlan,
        binary: bool,
        is_write: bool,
        reply: &mut R,
        more_after: bool,
    ) -> Result<(), Error> {
        let more = more_results(more_after);
        let generated = plan.generated_key;
        self.shared.metrics.units(self.fanout(&plan));
        match plan.merge {
            MergePlan::Single => {
                let Some(unit) = plan.units.into_iter().next() else {
                    return Err(Error::internal("a plan without execution units"));
                };
                let ds = unit.data_source.clone();
                let relayed = match generated {
                    Some(id) => {
                        let mut reply = ObservedReply::with_insert_id(reply, id);
                        self.run_single(unit, binary, &mut reply, more_after)
                            .await?
                    }
                    None => self.run_single(unit, binary, reply, more_after).await?,
                };
                let backend_id = Some(relayed.last.last_insert_id).filter(|&id| id > 0);
                if let Some(id) = generated.or(backend_id) {
                    self.last_insert_id = id;
                }
                self.after_units(&[ds]);
                Ok(())
            }
            MergePlan::Concat => {
                let mut warnings = 0u16;
                let mut touched = Vec::new();
                for (i, unit) in plan.units.into_iter().enumerate() {
                    let ds = unit.data_source.clone();
                    let conn = self.conns.conn(&self.generation.backends, &ds).await?;
                    let params = binary.then_some(unit.params.as_slice());
                    let w = stream_rows(conn, &unit.sql, params, reply, i == 0)
                        .await
                        .map_err(|e| e.on_data_source(&ds))?;
                    warnings = warnings.saturating_add(w);
                    touched.push(ds);
                }
                self.after_units(&touched);
                reply.end_rows(self.status() | more, warnings);
                Ok(())
            }
            MergePlan::Select(spec) => {
                self.merge_select(&spec, None, plan.units, binary, reply, more)
                    .await
            }
            MergePlan::Union(union) => {
                let describe = Some(&union.describe);
                self.merge_select(&union.spec, describe, plan.units, binary, reply, more)
                    .await
            }
            MergePlan::SumAffected | MergePlan::Broadcast => {
                let broadcast = plan.merge == MergePlan::Broadcast;
                let oks = self.run_writes(plan.units, binary, is_write).await?;
                let mut total = OkInfo::default();
                for (i, ok) in oks.iter().enumerate() {
                    if broadcast {
                        if i == 0 {
                            total = ok.clone();
                        }
                        continue;
                    }
                    total.affected_rows += ok.affected_rows;
                    total.warnings = total.warnings.saturating_add(ok.warnings);
                    total.last_insert_id = total.last_insert_id.max(ok.last_insert_id);
                }
                if let Some(id) = generated {
                    total.last_insert_id = id;
                }
                if total.last_insert_id > 0 {
                    self.last_insert_id = total.last_insert_id;
                }
                if oks.len() > 1 {
                    total.info.clear();
                }
                reply.ok(&total, self.status() | more);
                Ok(())
            }
        }
    }

    /// Runs units that answer with OK packets: concurrently across data
    /// sources, in order within one. A DML statement that spans data
    /// sources outside a transaction runs in one, so a failure on one data
    /// source leaves none of them changed.
    async fn run_writes(
        &mut self,
        units: Vec<ExecutionUnit>,
        binary: bool,
        is_write: bool,
    ) -> Result<Vec<OkInfo>, Error> {
        let mut data_sources: Vec<String> = Vec::new();
        for unit in &units {
            if !data_sources.contains(&unit.data_source) {
                data_sources.push(unit.data_source.clone());
            }
        }
        // Taken in one fixed order, so two sessions never wait on each other's half.
        data_sources.sort();
        let implicit = is_write
            && data_sources.len() > 1
            && self.autocommit
            && !self.conns.in_explicit_transaction();
        if implicit {
            self.begin_transaction(b"START TRANSACTION", false);
        }
        for ds in &data_sources {
            if let Err(e) = self.conns.conn(&self.generation.backends, ds).await {
                if implicit {
                    let _ = self.end_any(false).await;
                }
                return Err(e);
            }
        }
        let names: Vec<&str> = data_sources.iter().map(String::as_str).collect();
        let conns = self.conns.held_mut(&names);
        let runs = conns.into_iter().map(|conn| {
            let name = conn.data_source.name.clone();
            let mine: Vec<(usize, ExecutionUnit)> = units
                .iter()
                .enumerate()
                .filter(|(_, u)| u.data_source == name)
                .map(|(i, u)| (i, u.clone()))
                .collect();
            async move {
                let mut oks = Vec::with_capacity(mine.len());
                for (i, unit) in mine {
                    let params = binary.then_some(unit.params.as_slice());
                    let ok = run_ok(conn, &unit.sql, params)
                        .await
                        .map_err(|e| e.on_data_source(&name))?;
                    oks.push((i, crate::execute::relay::ok_info(&ok)));
                }
                Ok::<_, Error>(oks)
            }
        });
        let results = join_all(runs).await;
        let mut oks: Vec<(usize, OkInfo)> = Vec::with_capacity(units.len());
        let mut failure = None;
        for result in results {
            match result {
                Ok(mut v) => oks.append(&mut v),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        let mut warning = None;
        if implicit {
            for ds in &data_sources {
                self.conns.note_xa_write(ds);
            }
            match self.end_any(failure.is_none()).await {
                Ok(w) => warning = w,
                Err(e) => failure = failure.or(Some(e)),
            }
        } else {
            self.after_units(&data_sources);
        }
        if let Some(e) = failure {
            return Err(e);
        }
        oks.sort_by_key(|(i, _)| *i);
        if let Some(warning) = warning {
            // Committed; a branch is still finishing: the client hears it in a warning.
            if let Some((_, first)) = oks.first_mut() {
                first.warnings = first.warnings.saturating_add(1);
            }
            self.kept_warnings = Some(vec![warning]);
        }
        Ok(oks.into_iter().map(|(_, ok)| ok).collect())
    }

    /// Bookkeeping after units ran: with autocommit off, the backends opened
    /// transactions that COMMIT/ROLLBACK must end.
    fn after_units(&mut self, data_sources: &[String]) {
        self.touched.extend_from_slice(data_sources);
        if !self.autocommit {
            for ds in data_sources {
                self.conns.mark_in_transaction(ds);
            }
        }
    }
}

impl Session {
    /// How widely a plan fans out: one unit, several, or every data source of the schema.
    fn fanout(&self, plan: &ExecutionPlan) -> Fanout {
        if plan.units.len() <= 1 {
            return Fanout::Single;
        }
        let all = self
            .schema_rules()
            .map(|r| r.data_sources.len())
            .unwrap_or(0);
        let mut touched: Vec<&str> = plan.units.iter().map(|u| u.data_source.as_str()).collect();
        touched.sort_unstable();
        touched.dedup();
        if touched.len() >= all {
            Fanout::Scatter
        } else {
            Fanout::Several
        }
    }
}

impl Session {
    /// Runs a plan's one unit and relays its answer. A text statement on a
    /// connection not yet in the open transaction takes what opens it there
    /// (`XA START`, `BEGIN`) in the same round trip.
    async fn run_single<R: Reply>(
        &mut self,
        unit: ExecutionUnit,
        binary: bool,
        reply: &mut R,
        more_after: bool,
    ) -> Result<crate::execute::Relayed, Error> {
        let status = self.status();
        let backends = &self.generation.backends;
        if binary {
            let conn = self.conns.conn(backends, &unit.data_source).await?;
            return run_unit(conn, unit, binary, reply, status, more_after).await;
        }
        let (conn, opening) = self
            .conns
            .conn_with_opening(backends, &unit.data_source)
            .await?;
        let Some(opening) = opening else {
            return run_unit(conn, unit, binary, reply, status, more_after).await;
        };
        let sql = unit.sql.as_bytes();
        let outcome = relay_text_opening(conn, &opening, sql, reply, status, more_after).await?;
        self.conns.mark_in_transaction(&unit.data_source);
        outcome
    }
}

async fn run_unit<R: Reply>(
    conn: &mut PooledConn,
    unit: ExecutionUnit,
    binary: bool,
    reply: &mut R,
    status: StatusFlags,
    more_after: bool,
) -> Result<crate::execute::Relayed, Error> {
    if binary {
        relay_values(conn, &unit.sql, &unit.params, reply, status).await
    } else {
        relay_text(conn, unit.sql.as_bytes(), reply, status, more_after).await
    }
}

impl Session {
    /// Plans a statement on sharded or broadcast tables of the schema in use.
    pub(super) fn plan(&self, sql: &str, params: &[Value]) -> Result<ExecutionPlan, Error> {
        self.plan_with(sql, params, crate::plan::plan)
    }

    /// [`Session::plan`] by `planner` ([`crate::plan::plan`] or, for an
    /// execute, [`crate::plan::plan_execute`]).
    pub(super) fn plan_with<T>(
        &self,
        sql: &str,
        params: &[Value],
        planner: fn(&str, &[Value], &crate::plan::PlanContext<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let schema = self.schema_rules()?;
        let kinds = &self.shared.column_kinds;
        let schema_name = schema.name.as_str();
        let column_kind = |table: &str, column: &str| kinds.get(schema_name, table, column);
        let binary_key = |table: &str| kinds.is_binary_key(schema_name, table);
        let context = crate::plan::PlanContext {
            schema,
            column_kind: &column_kind,
            keys: Some(&self.shared.keys),
            binary_key: &binary_key,
        };
        planner(sql, params, &context)
    }
}

impl Session {
    /// A statement that names a sharded or broadcast table: planned, then
    /// run unit by unit. DDL refreshes the sharding columns' types.
    pub(super) async fn run_routed<R: Reply>(
        &mut self,
        sql: &[u8],
        params: super::Params,
        reply: &mut R,
        more_after: bool,
    ) -> Result<(), Error> {
        let text = std::str::from_utf8(sql).map_err(|_| {
            Error::not_supported("statements on sharded tables that are not valid UTF-8")
        })?;
        let binary = params.is_some();
        let lead = Lead::of(text);
        let completed = match lead.inserts {
            true => self.with_column_list(text).await?,
            false => None,
        };
        let text = completed.as_deref().unwrap_or(text);
        let (plan, described) = match self.plan_routed(text, params.as_deref()).await {
            // Derived tables and UNION branches whose rows need several
            // data nodes: answered first, the statement on their rows.
            Err(e) if super::answered_first::is_refusal(&e) => {
                return match self
                    .run_answered_first(text, params.as_deref(), reply, more_after)
                    .await?
                {
                    true => Ok(()),
                    false => Err(e),
                };
            }
            planned => planned?,
        };
        let is_write = lead.writes;
        if described.is_empty() {
            self.execute_plan(plan, binary, is_write, reply, more_after)
                .await?;
        } else {
            let mut reply = super::scalar_column::DescribedReply::new(reply, described, binary);
            self.execute_plan(plan, binary, is_write, &mut reply, more_after)
                .await?;
        }
        if lead.ddl {
            self.shared.refresh_column_kinds().await;
        }
        Ok(())
    }
}

/// What [`Session::run_routed`] needs of a statement's first word, read
/// once: every execute of a prepared statement passes here.
struct Lead {
    /// INSERT or REPLACE, which may lack its column list.
    inserts: bool,
    /// A write ([`crate::sql::StatementKind::Write`]).
    writes: bool,
    /// CREATE / ALTER / DROP / TRUNCATE / RENAME: statements after which
    /// the sharding columns' types may have changed.
    ddl: bool,
}

impl Lead {
    fn of(sql: &str) -> Lead {
        let mut buf = [0u8; 24];
        let word = match crate::sql::Scanner::new(sql).next() {
            Some(crate::sql::Token::Word(word)) => crate::sql::scan::upper_keyword(word, &mut buf),
            _ => None,
        };
        let word = word.unwrap_or_default();
        let inserts = matches!(word, b"INSERT" | b"REPLACE");
        Lead {
            inserts,
            writes: inserts || matches!(word, b"UPDATE" | b"DELETE"),
            ddl: matches!(
                word,
                b"CREATE" | b"ALTER" | b"DROP" | b"TRUNCATE" | b"RENAME"
            ),
        }
    }
}

impl Session {
    /// The column definitions a client should see for a unit that combines
    /// several actual tables in a `UNION ALL`: those of its first copy alone,
    /// read by preparing it (cached per connection). `None` for a plain unit.
    /// Text results are described by running the copy with `LIMIT 0`;
    /// binary ones by preparing it (prepared results describe numbers
    /// with the binary flag, as the backend would for the client).
    pub(super) async fn describe_unit(
        &mut self,
        unit: &ExecutionUnit,
        binary: bool,
    ) -> Result<Option<Vec<Column>>, Error> {
        if !unit.sql.contains("UNION ALL") {
            return Ok(None);
        }
        let conn = self
            .conns
            .conn(&self.generation.backends, &unit.data_source)
            .await?;
        let ds = conn.data_source.clone();
        let columns = if binary {
            let Some(branch) = crate::sql::first_union_branch(&unit.sql) else {
                return Ok(None);
            };
            let statement =
                crate::backend::statements::prepare(&mut conn.conn, &ds.name, &branch).await?;
            crate::backend::statements::buffer_close(&mut conn.conn, statement.id);
            statement.columns
        } else {
            let Some(branch) = crate::sql::first_union_branch_without_rows(&unit.sql) else {
                return Ok(None);
            };
            crate::execute::fetch_rows(conn, &ds.name, &branch)
                .await?
                .columns
        };
        Ok(Some(columns))
    }

    /// The client's columns of a UNION: its `describe` unit (the union on
    /// one node with `LIMIT 0`) run as text, or prepared for the binary
    /// protocol, as [`Session::describe_unit`] does.
    async fn describe_union(
        &mut self,
        describe: &ExecutionUnit,
        binary: bool,
    ) -> Result<Vec<Column>, Error> {
        let conn = self
            .conns
            .conn(&self.generation.backends, &describe.data_source)
            .await?;
        let ds = conn.data_source.clone();
        if binary {
            let statement =
                crate::backend::statements::prepare(&mut conn.conn, &ds.name, &describe.sql)
                    .await?;
            crate::backend::statements::buffer_close(&mut conn.conn, statement.id);
            Ok(statement.columns)
        } else {
            Ok(crate::execute::fetch_rows(conn, &ds.name, &describe.sql)
                .await?
                .columns)
        }
    }

    /// A SELECT over several data sources whose rows must be merged (ORDER
    /// BY, LIMIT, aggregates, GROUP BY, DISTINCT): every unit starts at once
    /// on its data source's connection and the merge streams their rows.
    /// The plan gives one unit per data source; a UNION's columns are
    /// those of its `describe` unit.
    pub(super) async fn merge_select<R: Reply>(
        &mut self,
        spec: &crate::merge::SelectMerge,
        describe: Option<&ExecutionUnit>,
        units: Vec<ExecutionUnit>,
        binary: bool,
        reply: &mut R,
        more: StatusFlags,
    ) -> Result<(), Error> {
        let mut names: Vec<String> = Vec::with_capacity(units.len());
        for unit in &units {
            if names.contains(&unit.data_source) {
                return Err(Error::internal(format!(
                    "a merged SELECT has two execution units on data source '{}'",
                    unit.data_source
                )));
            }
            names.push(unit.data_source.clone());
        }
        let mut in_order = names.clone();
        in_order.sort();
        for name in &in_order {
            self.conns.conn(&self.generation.backends, name).await?;
        }
        let described = match (describe, units.first()) {
            (Some(union), _) => Some(self.describe_union(union, binary).await?),
            (None, Some(first)) => self.describe_unit(first, binary).await?,
            (None, None) => None,
        };
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut conns = self.conns.held_mut(&name_refs);
        // Pair every unit with its connection, in unit order.
        let mut paired = Vec::with_capacity(units.len());
        for unit in units {
            let at = conns
                .iter()
                .position(|conn| conn.data_source.name == unit.data_source)
                .ok_or_else(|| Error::internal("a unit without its connection"))?;
            let conn = conns.swap_remove(at);
            paired.push((conn, unit));
        }
        let opened = join_all(paired.into_iter().map(|(conn, unit)| async move {
            let params = binary.then_some(unit.params.as_slice());
            UnitRows::open(conn, &unit.sql, params).await
        }))
        .await;
        let mut sources = opened.into_iter().collect::<Result<Vec<_>, _>>()?;
        let cap = self.generation.config.server.max_window_partition_rows;
        let spec = spec.with_window_cap(cap);
        let (merged, cut_values) = run_merge(&spec, described, &mut sources, reply).await?;
        // Rows past the merge's LIMIT are read to their end: dropping the
        // connection instead would silently end an open transaction's
        // branch there (and its locks) or lose its temporary tables.
        for source in &mut sources {
            source.finish().await?;
        }
        drop(sources);
        self.shared.metrics.rows_merged.inc_by(merged);
        self.after_units(&names);
        let warnings = u16::try_from(cut_values.len()).unwrap_or(u16::MAX);
        if !cut_values.is_empty() {
            // The merge's own warnings: SHOW WARNINGS answers them.
            self.kept_warnings = Some(
                cut_values
                    .into_iter()
                    .map(|n| super::diagnostics::Warning {
                        level: "Warning".to_string(),
                        code: crate::merge::CUT_BY_GROUP_CONCAT,
                        message: crate::merge::cut_warning(n),
                    })
                    .collect(),
            );
        }
        reply.end_rows(self.status() | more, warnings);
        Ok(())
    }
}

/// Sends the visible columns (as `described`, when given), then the merged
/// rows; the number sent and the GROUP_CONCAT values cut.
async fn run_merge<R: Reply>(
    spec: &crate::merge::SelectMerge,
    described: Option<Vec<Column>>,
    sources: &mut [UnitRows<'_>],
    reply: &mut R,
) -> Result<(u64, Vec<u64>), Error> {
    let streamed = sources.first().map(|s| s.columns()).unwrap_or_default();
    let columns = match described {
        // Where the rows are encoded otherwise than described (a `?` select
        // item is described as NULL before it is bound) their column is the
        // one streamed; other differences (TEXT described, MEDIUMTEXT streamed
        // from a UNION of actual tables) keep the description, as MariaDB gives.
        // A UNION's description has the visible columns only: the derived
        // ones are the streamed.
        Some(d) if d.len() <= streamed.len() => {
            let described = d.len();
            d.into_iter()
                .zip(&streamed)
                .map(|(d, s)| {
                    if binary_form(d.column_type()) == binary_form(s.column_type()) {
                        d
                    } else {
                        s.clone()
                    }
                })
                .chain(streamed[described..].iter().cloned())
                .collect()
        }
        _ => streamed,
    };
    let visible = spec.visible_in(columns.len()).min(columns.len());
    reply.columns(&columns[..visible]);
    let mut sink = crate::merge::ReplySink::new(reply);
    let stats =
        crate::merge::merge(spec, &columns, sources.iter_mut().collect(), &mut sink).await?;
    Ok((sink.rows(), stats.cut_values))
}

/// How the binary protocol encodes a value of this column type: by its
/// fixed width, or (0) as a length-prefixed string, or (u8::MAX) not at all.
fn binary_form(t: mysql_common::constants::ColumnType) -> u8 {
    use mysql_common::constants::ColumnType as T;
    match t {
        T::MYSQL_TYPE_NULL => u8::MAX,
        T::MYSQL_TYPE_TINY => 1,
        T::MYSQL_TYPE_SHORT | T::MYSQL_TYPE_YEAR => 2,
        T::MYSQL_TYPE_LONG | T::MYSQL_TYPE_INT24 | T::MYSQL_TYPE_FLOAT => 4,
        T::MYSQL_TYPE_LONGLONG | T::MYSQL_TYPE_DOUBLE => 8,
        T::MYSQL_TYPE_DATE
        | T::MYSQL_TYPE_DATETIME
        | T::MYSQL_TYPE_TIMESTAMP
        | T::MYSQL_TYPE_NEWDATE => 20,
        T::MYSQL_TYPE_TIME => 21,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::Lead;
    use crate::sql::{classify, StatementKind};

    #[test]
    fn the_first_word_tells_inserts_writes_and_ddl() {
        // (statement, inserts, ddl); writes must agree with classify.
        let cases = [
            ("insert into t values (1)", true, false),
            ("REPLACE t (a) VALUES (1)", true, false),
            ("/* hint */ Update t set a = 1", false, false),
            ("delete from t", false, false),
            ("select * from t", false, false),
            ("(select 1) union (select 2)", false, false),
            ("WITH d AS (SELECT 1) SELECT * FROM d", false, false),
            ("truncate table t", false, true),
            ("ALTER TABLE t ADD c INT", false, true),
            ("create index i on t (a)", false, true),
            ("drop table t", false, true),
            ("rename table t to u", false, true),
            ("", false, false),
        ];
        for (sql, inserts, ddl) in cases {
            let lead = Lead::of(sql);
            assert_eq!(lead.inserts, inserts, "{sql}");
            assert_eq!(lead.ddl, ddl, "{sql}");
            assert_eq!(lead.writes, classify(sql) == StatementKind::Write, "{sql}");
        }
    }
}
