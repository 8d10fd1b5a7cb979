//! Session variables the proxy must understand: `autocommit`, and the MySQL 8
//! names of transaction variables that MariaDB backends know only by their
//! older names (clients that see version 8.0 send `transaction_isolation`).

use crate::error::Error;
use crate::execute::{relay_text, PooledConn, Relayed};
use crate::session::reply::Reply;
use crate::sql::scan::{is_keyword, Scanner, Token};
use mysql_common::constants::StatusFlags;
use std::borrow::Cow;

/// MySQL 8 variable names and their MariaDB (and MySQL 5.7) equivalents.
const RENAMED: [(&str, &str); 2] = [
    ("transaction_isolation", "tx_isolation"),
    ("transaction_read_only", "tx_read_only"),
];

/// ER_UNKNOWN_SYSTEM_VARIABLE.
const UNKNOWN_SYSTEM_VARIABLE: u16 = 1193;
/// ER_UNKNOWN_COLLATION.
const UNKNOWN_COLLATION: u16 = 1273;

/// The value a `SET` assigns to `autocommit`, if it assigns one.
pub fn autocommit_assignment(sql: &[u8]) -> Option<bool> {
    let mut tokens = Scanner::new(sql).peekable();
    let mut found = None;
    while let Some(token) = tokens.next() {
        let is_autocommit = match token {
            Token::Word(w) => w.eq_ignore_ascii_case("autocommit"),
            Token::Variable(v) => v
                .rsplit('.')
                .next()
                .map(|n| n.trim_start_matches('@').eq_ignore_ascii_case("autocommit"))
                .unwrap_or(false),
            _ => false,
        };
        if !is_autocommit {
            continue;
        }
        if !matches!(tokens.next(), Some(Token::Punct('='))) {
            continue;
        }
        if tokens.peek() == Some(&Token::Punct(':')) {
            tokens.next();
        }
        found = match tokens.next() {
            Some(Token::Number(n)) => Some(n.trim() != "0"),
            Some(t) if is_keyword(&t, "ON") || is_keyword(&t, "TRUE") => Some(true),
            Some(t) if is_keyword(&t, "OFF") || is_keyword(&t, "FALSE") => Some(false),
            Some(Token::Str(s)) => {
                let v = crate::sql::classify::unquote_string(s);
                Some(!(v == "0" || v.eq_ignore_ascii_case("off")))
            }
            _ => found,
        };
    }
    found
}

/// `sql` with MySQL 8 variable names replaced by the older ones, or `None`
/// when it uses none. Only whole identifier tokens are replaced, never text
/// inside strings or comments.
pub fn with_older_names(sql: &[u8]) -> Option<Vec<u8>> {
    let is_select = crate::sql::classify(sql) == crate::sql::StatementKind::Select;
    let mut out: Vec<u8> = Vec::with_capacity(sql.len() + 32);
    let mut copied = 0;
    let mut tokens = Vec::new();
    // Collect (token, end offset) so each replacement can look at what follows.
    let mut probe = Scanner::new(sql);
    while let Some(token) = probe.next() {
        tokens.push((token, probe.offset()));
    }
    for (i, (token, end)) in tokens.iter().enumerate() {
        let word = match token {
            Token::Word(w) => *w,
            Token::Variable(v) => *v,
            _ => continue,
        };
        let lower = word.to_ascii_lowercase();
        for (new, old) in RENAMED {
            let Some(at) = lower.rfind(new) else { continue };
            if lower.len() != at + new.len()
                || !(at == 0 || matches!(lower.as_bytes()[at - 1], b'.' | b'@'))
            {
                continue;
            }
            let start = end - word.len() + at;
            out.extend_from_slice(&sql[copied..start]);
            out.extend_from_slice(old.as_bytes());
            copied = *end;
            // Keep the column named as the client wrote it: `@@x AS `@@x``.
            let aliased = matches!(
                tokens.get(i + 1),
                Some((Token::Word(_) | Token::Quoted(_) | Token::Str(_), _))
            );
            if is_select && matches!(token, Token::Variable(_)) && !aliased {
                out.extend_from_slice(format!(" AS `{}`", word.replace('`', "``")).as_bytes());
            }
        }
    }
    if copied == 0 {
        return None;
    }
    out.extend_from_slice(&sql[copied..]);
    Some(out)
}

/// Runs `sql` as a text query and relays its results; if the backend does
/// not know a MySQL 8 transaction variable, runs it again with the older
/// name. Returns the text that succeeded.
pub async fn run_with_mysql8_names<'a, R: Reply>(
    conn: &mut PooledConn,
    sql: &'a [u8],
    reply: &mut R,
    status: StatusFlags,
    more_after: bool,
) -> Result<Cow<'a, [u8]>, Error> {
    run_with_mysql8_names_relayed(conn, sql, reply, status, more_after)
        .await
        .map(|(sent, _)| sent)
}

/// As [`run_with_mysql8_names`], with what the relay reported.
pub async fn run_with_mysql8_names_relayed<'a, R: Reply>(
    conn: &mut PooledConn,
    sql: &'a [u8],
    reply: &mut R,
    status: StatusFlags,
    more_after: bool,
) -> Result<(Cow<'a, [u8]>, Relayed), Error> {
    match relay_text(conn, sql, reply, status, more_after).await {
        Ok(relayed) => Ok((Cow::Borrowed(sql), relayed)),
        // The error came before any result: nothing reached the client yet.
        Err(e) if e.code == UNKNOWN_SYSTEM_VARIABLE => match with_older_names(sql) {
            Some(older) => {
                let relayed = relay_text(conn, &older, reply, status, more_after).await?;
                Ok((Cow::Owned(older), relayed))
            }
            None => Err(e),
        },
        // A MariaDB backend lacks MySQL 8's utf8mb4_0900 collations: it
        // gets the ones MariaDB 11.4 makes their aliases.
        Err(e) if e.code == UNKNOWN_COLLATION => {
            match crate::sql::collations::with_mariadb_collations(sql) {
                Some((mapped, _)) => {
                    let relayed = relay_text(conn, &mapped, reply, status, more_after).await?;
                    Ok((Cow::Owned(mapped), relayed))
                }
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autocommit_values() {
        assert_eq!(autocommit_assignment(b"SET autocommit=0"), Some(false));
        assert_eq!(
            autocommit_assignment(b"set @@session.autocommit = ON"),
            Some(true)
        );
        assert_eq!(
            autocommit_assignment(b"SET sql_mode='', AUTOCOMMIT = 1"),
            Some(true)
        );
        assert_eq!(autocommit_assignment(b"SET NAMES utf8mb4"), None);
        assert_eq!(autocommit_assignment(b"SET @autocommit_x = 0"), None);
    }

    #[test]
    fn renames_only_identifiers() {
        assert_eq!(
            with_older_names(b"SELECT @@session.transaction_isolation, 'transaction_isolation'")
                .as_deref(),
            Some(&b"SELECT @@session.tx_isolation AS `@@session.transaction_isolation`, 'transaction_isolation'"[..])
        );
        assert_eq!(
            with_older_names(b"SET SESSION transaction_read_only = 0").as_deref(),
            Some(&b"SET SESSION tx_read_only = 0"[..])
        );
        assert_eq!(with_older_names(b"SELECT 1"), None);
        assert_eq!(
            with_older_names(b"SELECT @@transaction_read_only AS ro").as_deref(),
            Some(&b"SELECT @@tx_read_only AS ro"[..])
        );
    }
}
