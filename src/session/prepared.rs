//! The session's prepared statements (COM_STMT_PREPARE and friends). Ids
//! are the proxy's own; backends see each statement by its text, prepared
//! again on a connection whenever needed.

use crate::hash::HashMap;
use crate::sql::boundary::Verdict;
use crate::sql::StatementKind;
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;

/// One client prepared statement.
#[derive(Debug, Clone)]
pub struct PreparedStatement {
    /// Shared, so each execute takes it without a copy.
    pub sql: std::sync::Arc<str>,
    pub kind: StatementKind,
    /// A SELECT that may read from a replica (`sql::replica_read`), decided
    /// once for every execute.
    pub replica_read: bool,
    /// What the statement does to its session (`sql::effects`), the same
    /// at every execute.
    pub effects: crate::sql::Effects,
    pub params: Vec<Column>,
    pub columns: Vec<Column>,
    /// Parameter types from the last execute that sent them (clients send
    /// them only when they change: new-params-bound flag).
    pub param_types: Vec<(ColumnType, bool)>,
    /// The same as the execute packet writes them, two bytes each.
    pub raw_param_types: std::sync::Arc<[u8]>,
    /// COM_STMT_SEND_LONG_DATA chunks, per parameter, until the next execute.
    pub long_data: Vec<Option<Vec<u8>>>,
    /// The boundary's verdict on the text, with what it was reached under
    /// (see [`CheckedUnder`]): reused by executes under the same.
    pub verdict: Option<(CheckedUnder, Verdict)>,
}

/// What a boundary verdict depends on besides the text: the rules and
/// users in force (one generation of the configuration; the weak reference
/// keeps its address from being reused) and the session's current schema.
#[derive(Debug, Clone)]
pub struct CheckedUnder {
    pub generation: std::sync::Weak<super::Generation>,
    pub schema: Option<String>,
}

/// The statements of one session, by id.
#[derive(Debug, Default)]
pub struct PreparedStatements {
    by_id: HashMap<u32, PreparedStatement>,
    last_id: u32,
}

impl PreparedStatements {
    /// Registers a statement and returns its new id.
    pub fn add(&mut self, statement: PreparedStatement) -> u32 {
        self.last_id = self.last_id.wrapping_add(1).max(1);
        self.by_id.insert(self.last_id, statement);
        self.last_id
    }

    pub fn get(&self, id: u32) -> Option<&PreparedStatement> {
        self.by_id.get(&id)
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut PreparedStatement> {
        self.by_id.get_mut(&id)
    }

    pub fn remove(&mut self, id: u32) {
        self.by_id.remove(&id);
    }

    pub fn clear(&mut self) {
        self.by_id.clear();
    }
}
