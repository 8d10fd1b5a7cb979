//! One error type for everything a client can be told: a MySQL error code,
//! its SQLSTATE and a message, plus who caused it (client, backend, proxy).

use std::fmt;

/// Who caused an error: decides logging level and whether a connection is still usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The client sent something we refuse (bad SQL, bad login, unsupported shape).
    Client,
    /// A backend answered with an error or could not be reached.
    Backend,
    /// The proxy itself failed.
    Internal,
}

/// An error as the client will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: u16,
    pub sqlstate: [u8; 5],
    pub message: String,
    pub origin: Origin,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ERROR {} ({}): {}",
            self.code,
            String::from_utf8_lossy(&self.sqlstate),
            self.message
        )
    }
}

impl std::error::Error for Error {}

fn state(s: &str) -> [u8; 5] {
    let mut out = *b"HY000";
    if s.len() == 5 {
        out.copy_from_slice(s.as_bytes());
    }
    out
}

impl Error {
    pub fn new(code: u16, sqlstate: &str, message: impl Into<String>, origin: Origin) -> Self {
        Error {
            code,
            sqlstate: state(sqlstate),
            message: message.into(),
            origin,
        }
    }

    /// 1045/28000: unknown user or wrong password.
    pub fn access_denied(user: &str, using_password: bool) -> Self {
        let using = if using_password { "YES" } else { "NO" };
        Self::new(
            1045,
            "28000",
            format!("Access denied for user '{user}' (using password: {using})"),
            Origin::Client,
        )
    }

    /// 1044/42000: the schema exists but the user may not use it.
    pub fn db_access_denied(user: &str, schema: &str) -> Self {
        Self::new(
            1044,
            "42000",
            format!("Access denied for user '{user}' to database '{schema}'"),
            Origin::Client,
        )
    }

    /// 1049/42000: no such logical schema.
    pub fn unknown_database(schema: &str) -> Self {
        Self::new(
            1049,
            "42000",
            format!("Unknown database '{schema}'"),
            Origin::Client,
        )
    }

    /// 1046/3D000: a statement needs a schema and none is selected.
    pub fn no_database() -> Self {
        Self::new(1046, "3D000", "No database selected", Origin::Client)
    }

    /// 1064/42000: the SQL does not parse.
    pub fn parse(detail: impl fmt::Display) -> Self {
        Self::new(
            1064,
            "42000",
            format!("You have an error in your SQL syntax: {detail}"),
            Origin::Client,
        )
    }

    /// 1065/42000: nothing but whitespace and comments.
    pub fn empty_query() -> Self {
        Self::new(1065, "42000", "Query was empty", Origin::Client)
    }

    /// 1235/42000: a statement shape the proxy refuses, naming the construct.
    pub fn not_supported(construct: impl fmt::Display) -> Self {
        Self::new(
            1235,
            "42000",
            format!("This version of shardgate doesn't yet support '{construct}'"),
            Origin::Client,
        )
    }

    /// 1227/42000: an admin statement by a non-admin user.
    pub fn admin_required(statement: &str) -> Self {
        Self::new(
            1227,
            "42000",
            format!("Access denied; you need the shardgate admin privilege for this operation ({statement})"),
            Origin::Client,
        )
    }

    /// 1044/42000 as MySQL words it for a statement naming a database the
    /// user may not use.
    pub fn database_denied(user: &str, host: &str, database: &str) -> Self {
        Self::new(
            1044,
            "42000",
            format!("Access denied for user '{user}'@'{host}' to database '{database}'"),
            Origin::Client,
        )
    }

    /// 1227/42000: a statement that needs a server privilege no proxy user has.
    pub fn server_privilege(privilege: &str) -> Self {
        Self::new(
            1227,
            "42000",
            format!("Access denied; you need (at least one of) the {privilege} privilege(s) for this operation"),
            Origin::Client,
        )
    }

    /// 1142/42000: a command on a table beyond the user's `privileges`.
    pub fn command_denied(
        command: &str,
        user: &str,
        host: &str,
        schema: &str,
        table: &str,
    ) -> Self {
        Self::new(
            1142,
            "42000",
            format!(
                "{command} command denied to user '{user}'@'{host}' for table `{schema}`.`{table}`"
            ),
            Origin::Client,
        )
    }

    /// 1153/08S01: a client packet over `max_allowed_packet`.
    pub fn packet_too_large() -> Self {
        Self::new(
            1153,
            "08S01",
            "Got a packet bigger than 'max_allowed_packet' bytes",
            Origin::Client,
        )
    }

    /// 1040/08004: `max_connections` reached.
    pub fn too_many_connections() -> Self {
        Self::new(1040, "08004", "Too many connections", Origin::Client)
    }

    /// 1047/08S01: a command byte we do not know.
    pub fn unknown_command(command: u8) -> Self {
        Self::new(
            1047,
            "08S01",
            format!("Unknown command 0x{command:02x}"),
            Origin::Client,
        )
    }

    /// 1243/HY000: EXECUTE of a statement id this session never prepared.
    pub fn unknown_statement(id: u32, command: &str) -> Self {
        Self::new(
            1243,
            "HY000",
            format!("Unknown prepared statement handler ({id}) given to {command}"),
            Origin::Client,
        )
    }

    /// 1210/HY000: wrong arguments, e.g. a malformed COM_STMT_EXECUTE.
    pub fn wrong_arguments(command: &str) -> Self {
        Self::new(
            1210,
            "HY000",
            format!("Incorrect arguments to {command}"),
            Origin::Client,
        )
    }

    /// 1105/HY000: a data source that cannot be reached, naming it and the cause.
    pub fn data_source_unreachable(data_source: &str, cause: impl fmt::Display) -> Self {
        Self::new(
            1105,
            "HY000",
            format!("data source '{data_source}' is unreachable: {cause}"),
            Origin::Backend,
        )
    }

    /// 1105/HY000: only where nothing better fits.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(1105, "HY000", message, Origin::Internal)
    }

    /// A backend's own error, code, SQLSTATE and message kept.
    pub fn backend(code: u16, sqlstate: &str, message: impl Into<String>) -> Self {
        Self::new(code, sqlstate, message, Origin::Backend)
    }

    /// Adds the data source's name to a backend error from a multi-node statement.
    pub fn on_data_source(mut self, data_source: &str) -> Self {
        self.message = format!("{} (data source '{data_source}')", self.message);
        self
    }
}
