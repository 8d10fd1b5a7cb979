//! What a `SET` statement changes, as keyed assignments the multiplexer can
//! record and replay on another backend connection.

use crate::sql::scan::{is_keyword, Scanner, Token};

/// What one `SET` statement does to the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetKind {
    /// `SET [SESSION|LOCAL] a = x, @@session.b = y, NAMES ..., CHARACTER SET ...`:
    /// system variables of the session only. Each item is (key, replay):
    /// the lower-case variable name (`NAMES` and `CHARACTER SET` share the
    /// key "names", each overriding the other; MySQL 8's
    /// `transaction_isolation` / `transaction_read_only` are "tx_isolation" /
    /// "tx_read_only"), and one `SET SESSION ...` statement that reproduces
    /// the assignment, its value as written. A key assigned twice appears once, last.
    Session(Vec<(String, String)>),
    /// `SET TRANSACTION ISOLATION LEVEL ..., READ ONLY|WRITE` without a
    /// scope: the next transaction's characteristics, as items keyed like
    /// the session's ("tx_isolation", "tx_read_only"), each with the `SET
    /// TRANSACTION ...` statement that sets it again.
    NextTransaction(Vec<(String, String)>),
    /// `SET STATEMENT ... FOR <stmt>`: changes nothing after it; run it as a plain statement.
    Statement,
    /// `SET GLOBAL ...`, `SET @@global.x`, `SET PERSIST ...`: not session state.
    Global,
    /// User variables (`SET @x = ...`, or a value that reads one),
    /// `sql_log_bin`, `SET PASSWORD`, `SET ROLE`, `SET DEFAULT ROLE`, mixed scopes and forms not
    /// understood: pins the session to its connection.
    Sticky,
}

/// What a `SET` statement does, with the assignments it makes to session
/// variables. `sql` is one statement starting with `SET`; anything else is `Sticky`.
pub fn set_kind(sql: &[u8]) -> SetKind {
    let mut items = Vec::new();
    match walk(sql, Some(&mut items)) {
        Scope::Session => SetKind::Session(items),
        Scope::NextTransaction => SetKind::NextTransaction(items),
        Scope::Statement => SetKind::Statement,
        Scope::Global => SetKind::Global,
        Scope::Sticky => SetKind::Sticky,
    }
}

/// The statement that `SET STATEMENT var = value, ... FOR <statement>`
/// runs, or `None` when `sql` is not such a statement.
pub fn set_statement_body(sql: &[u8]) -> Option<&[u8]> {
    let mut tokens = Scanner::new(sql);
    if !tokens.next().is_some_and(|t| is_keyword(&t, "SET"))
        || !tokens.next().is_some_and(|t| is_keyword(&t, "STATEMENT"))
    {
        return None;
    }
    let mut depth = 0i32;
    while let Some(token) = tokens.next() {
        match token {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            t if depth == 0 && is_keyword(&t, "FOR") => {
                return Some(sql[tokens.offset()..].trim_ascii());
            }
            _ => {}
        }
    }
    None
}

/// The scope of a `SET` statement, without building its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    Session,
    NextTransaction,
    Statement,
    Global,
    Sticky,
}

/// The scope of the `SET` statement `sql`, without building its items.
pub(super) fn scope(sql: &[u8]) -> Scope {
    walk(sql, None)
}

/// MySQL 8 names of the transaction variables, and the names MariaDB knows.
const RENAMED: [(&str, &str); 2] = [
    ("transaction_isolation", "tx_isolation"),
    ("transaction_read_only", "tx_read_only"),
];

/// Reads the assignments of `SET ...`, pushing (key, replay) onto `items` if given.
fn walk(sql: &[u8], mut items: Option<&mut Vec<(String, String)>>) -> Scope {
    let mut tokens = Scanner::new(sql);
    if !tokens.next().is_some_and(|t| is_keyword(&t, "SET")) {
        return Scope::Sticky;
    }
    if tokens
        .clone()
        .next()
        .is_some_and(|t| is_keyword(&t, "STATEMENT"))
    {
        return Scope::Statement;
    }
    // A scope keyword holds for the items after it that name none (MariaDB
    // and MySQL); `@@global.x` holds for x alone.
    let mut keyword_scope: Option<Scope> = None;
    let (mut global, mut session) = (false, false);
    let mut first = true;
    loop {
        let Some(mut head) = tokens.next() else {
            return Scope::Sticky; // `SET` alone, or a trailing `,`
        };
        if let Some(scope) = scope_keyword(&head) {
            keyword_scope = Some(scope);
            match tokens.next() {
                Some(t) => head = t,
                None => return Scope::Sticky,
            }
        }
        let item_scope = match item(sql, &mut tokens, head, keyword_scope, items.as_deref_mut()) {
            Some(scope) => scope,
            None => return Scope::Sticky,
        };
        match item_scope {
            Scope::Global => global = true,
            Scope::Session => session = true,
            // It ends the statement, and only a statement of its own is one.
            Scope::NextTransaction if first => return Scope::NextTransaction,
            Scope::NextTransaction => return Scope::Sticky,
            other => return other,
        }
        first = false;
        match tokens.next() {
            None => break,
            Some(Token::Punct(',')) => continue,
            Some(_) => return Scope::Sticky,
        }
    }
    match (global, session) {
        (true, false) => Scope::Global,
        (false, true) => Scope::Session,
        _ => Scope::Sticky,
    }
}

fn scope_keyword(token: &Token<'_>) -> Option<Scope> {
    let is = |kw: &str| is_keyword(token, kw);
    if is("GLOBAL") || is("PERSIST") || is("PERSIST_ONLY") {
        Some(Scope::Global)
    } else if is("SESSION") || is("LOCAL") {
        Some(Scope::Session)
    } else {
        None
    }
}

/// Reads one item, from its first token after any scope keyword up to
/// (not including) the `,` or the end that follows it. `None`: sticky.
fn item<'a>(
    sql: &'a [u8],
    tokens: &mut Scanner<'a>,
    head: Token<'a>,
    keyword_scope: Option<Scope>,
    items: Option<&mut Vec<(String, String)>>,
) -> Option<Scope> {
    let is = |kw: &str| is_keyword(&head, kw);
    if is("PASSWORD") || is("ROLE") {
        return None; // the account, or the session's privileges
    }
    if is("NAMES") || is("CHARSET") || is("CHARACTER") {
        if is("CHARACTER") && !tokens.next().is_some_and(|t| is_keyword(&t, "SET")) {
            return None;
        }
        let value = value(sql, tokens)?;
        let verb = if is("NAMES") {
            "NAMES"
        } else {
            "CHARACTER SET"
        };
        record(items, "names", || format!("SET {verb} {value}"));
        return (keyword_scope != Some(Scope::Global)).then_some(Scope::Session);
    }
    if is("TRANSACTION") {
        // Without a scope keyword it sets the next transaction only.
        let scope = keyword_scope.unwrap_or(Scope::NextTransaction);
        transaction(tokens, scope, items)?;
        return Some(scope);
    }
    let (name, scope) = match head {
        Token::Variable(v) => {
            let Some(system) = v.strip_prefix("@@") else {
                return None; // a user variable
            };
            let lower = system.to_ascii_lowercase();
            match lower.split_once('.') {
                Some(("global", name)) => (name.to_string(), Scope::Global),
                Some(("session" | "local", name)) => (name.to_string(), Scope::Session),
                _ => (lower, Scope::Session),
            }
        }
        Token::Word(w) | Token::Quoted(w) => {
            // `DEFAULT ROLE` reads as a name without `=` and fails below.
            let mut name = w.to_ascii_lowercase();
            if tokens.clone().next() == Some(Token::Punct('.')) {
                tokens.next();
                match tokens.next() {
                    Some(Token::Word(part) | Token::Quoted(part)) => {
                        name = format!("{name}.{}", part.to_ascii_lowercase());
                    }
                    _ => return None,
                }
            }
            (name, keyword_scope.unwrap_or(Scope::Session))
        }
        _ => return None,
    };
    match tokens.next() {
        Some(Token::Punct('=')) => {}
        Some(Token::Punct(':')) if tokens.next() == Some(Token::Punct('=')) => {}
        _ => return None,
    }
    let value = value(sql, tokens)?;
    let key = RENAMED
        .iter()
        .find(|(new, _)| *new == name)
        .map_or(name.as_str(), |(_, old)| old)
        .to_string();
    if key == "sql_log_bin" {
        return None; // binary logging of this session's writes: never moved
    }
    if scope == Scope::Session {
        record(items, &key, || {
            transaction_literal(&key, value)
                .unwrap_or_else(|| format!("SET SESSION {name} = {value}"))
        });
    }
    Some(scope)
}

/// The text of a value up to a top-level `,` or the end, as written;
/// `None` if it reads a user variable, holds bytes that are not UTF-8, or is empty.
fn value<'a>(sql: &'a [u8], tokens: &mut Scanner<'a>) -> Option<&'a str> {
    let start = tokens.offset();
    let mut end = start;
    let mut depth = 0i32;
    loop {
        let mut probe = tokens.clone();
        match probe.next() {
            None => break,
            Some(Token::Punct(',')) if depth == 0 => break,
            Some(Token::Punct('(')) => depth += 1,
            Some(Token::Punct(')')) => depth -= 1,
            Some(Token::Variable(v)) if !v.starts_with("@@") => return None,
            Some(Token::Other) => return None,
            Some(_) => {}
        }
        *tokens = probe;
        end = tokens.offset();
    }
    let value = std::str::from_utf8(&sql[start..end]).ok()?.trim();
    (!value.is_empty()).then_some(value)
}

/// `SET SESSION TRANSACTION ISOLATION LEVEL ..., READ ONLY|WRITE` as items.
fn transaction(
    tokens: &mut Scanner<'_>,
    scope: Scope,
    mut items: Option<&mut Vec<(String, String)>>,
) -> Option<()> {
    loop {
        let first = tokens.next()?;
        if is_keyword(&first, "ISOLATION") {
            if !tokens.next().is_some_and(|t| is_keyword(&t, "LEVEL")) {
                return None;
            }
            let level = match (tokens.next()?, tokens.clone().next()) {
                (t, Some(u)) if is_keyword(&t, "READ") && is_keyword(&u, "UNCOMMITTED") => {
                    "READ UNCOMMITTED"
                }
                (t, Some(u)) if is_keyword(&t, "READ") && is_keyword(&u, "COMMITTED") => {
                    "READ COMMITTED"
                }
                (t, Some(u)) if is_keyword(&t, "REPEATABLE") && is_keyword(&u, "READ") => {
                    "REPEATABLE READ"
                }
                (t, _) if is_keyword(&t, "SERIALIZABLE") => "SERIALIZABLE",
                _ => return None,
            };
            if level != "SERIALIZABLE" {
                tokens.next();
            }
            if let Some(verb) = transaction_verb(scope) {
                record(items.as_deref_mut(), "tx_isolation", || {
                    format!("{verb} ISOLATION LEVEL {level}")
                });
            }
        } else if is_keyword(&first, "READ") {
            let mode = match tokens.next()? {
                t if is_keyword(&t, "ONLY") => "ONLY",
                t if is_keyword(&t, "WRITE") => "WRITE",
                _ => return None,
            };
            if let Some(verb) = transaction_verb(scope) {
                record(items.as_deref_mut(), "tx_read_only", || {
                    format!("{verb} READ {mode}")
                });
            }
        } else {
            return None;
        }
        // Characteristics are separated by `,` and end the statement.
        match tokens.clone().next() {
            None => return Some(()),
            Some(Token::Punct(',')) => {
                tokens.next();
            }
            Some(_) => return None,
        }
    }
}

/// How a recorded characteristic of `scope` is set again.
fn transaction_verb(scope: Scope) -> Option<&'static str> {
    match scope {
        Scope::Session => Some("SET SESSION TRANSACTION"),
        Scope::NextTransaction => Some("SET TRANSACTION"),
        _ => None,
    }
}

/// `tx_isolation = 'READ-COMMITTED'` and `tx_read_only = 1` as the
/// `SET SESSION TRANSACTION ...` statement that every MySQL and MariaDB
/// version understands (MySQL 8 has no `tx_isolation`, MariaDB no `transaction_isolation`).
fn transaction_literal(key: &str, value: &str) -> Option<String> {
    let bare = value
        .trim_matches(|c| c == '\'' || c == '"')
        .to_ascii_uppercase();
    match key {
        "tx_isolation" => {
            let level = bare.replace(['-', '_'], " ");
            [
                "READ UNCOMMITTED",
                "READ COMMITTED",
                "REPEATABLE READ",
                "SERIALIZABLE",
            ]
            .contains(&level.as_str())
            .then(|| format!("SET SESSION TRANSACTION ISOLATION LEVEL {level}"))
        }
        "tx_read_only" => {
            let mode = match bare.as_str() {
                "1" | "ON" | "TRUE" => "ONLY",
                "0" | "OFF" | "FALSE" => "WRITE",
                _ => return None,
            };
            Some(format!("SET SESSION TRANSACTION READ {mode}"))
        }
        _ => None,
    }
}

/// Adds (key, replay) to `items`, dropping an earlier item of the same key.
fn record(items: Option<&mut Vec<(String, String)>>, key: &str, replay: impl FnOnce() -> String) {
    if let Some(items) = items {
        items.retain(|(k, _)| k != key);
        items.push((key.to_string(), replay()));
    }
}
