//! Which statements may read from a replica (sql.md, Replicas): a SELECT
//! with no locking clause, no `INTO`, no user-variable assignment and none
//! of the functions whose answer belongs to the session's own connection
//! or that take locks or advance sequences; and the `/* shardgate: primary */`
//! hint that keeps a read on the primary. Pure: over the client's text.

use super::scan::{Scanner, Token};

/// The words that, anywhere outside strings and comments, keep a read on
/// the primary.
const PRIMARY_WORDS: &[&[u8]] = &[
    // Locking clauses and writes hidden in a SELECT-looking statement.
    b"UPDATE",
    b"SHARE",
    b"LOCK",
    b"INTO",
    b"INSERT",
    b"DELETE",
    b"REPLACE",
    // Answers of the session's own connection.
    b"LAST_INSERT_ID",
    b"FOUND_ROWS",
    b"ROW_COUNT",
    b"SQL_CALC_FOUND_ROWS",
    // Lock functions.
    b"GET_LOCK",
    b"RELEASE_LOCK",
    b"RELEASE_ALL_LOCKS",
    b"IS_FREE_LOCK",
    b"IS_USED_LOCK",
    // Sequences.
    b"NEXTVAL",
    b"LASTVAL",
    b"SETVAL",
    b"NEXT",
    b"PREVIOUS",
    // Replication waits are the proxy's business.
    b"MASTER_GTID_WAIT",
    b"MASTER_POS_WAIT",
];

/// Per first letter, a bit per length (under 32) of the [`PRIMARY_WORDS`]
/// starting with it: most words of a read are rejected by it alone.
const PRIMARY_SHAPES: [u32; 26] = {
    let mut shapes = [0u32; 26];
    let mut i = 0;
    while i < PRIMARY_WORDS.len() {
        let word = PRIMARY_WORDS[i];
        assert!(word.len() < 32 && word[0].is_ascii_uppercase());
        shapes[(word[0] - b'A') as usize] |= 1 << word.len();
        i += 1;
    }
    shapes
};

/// Whether `word` is one of [`PRIMARY_WORDS`], in any case. It runs on
/// every word of every read: its first letter and length are looked at
/// before it is upper-cased (on the stack).
fn keeps_on_primary(word: &str) -> bool {
    let bytes = word.as_bytes();
    let shapes = match bytes.first() {
        Some(c) if c.is_ascii_alphabetic() => {
            PRIMARY_SHAPES[(c.to_ascii_uppercase() - b'A') as usize]
        }
        _ => return false,
    };
    if bytes.len() >= 32 || shapes & (1 << bytes.len()) == 0 {
        return false;
    }
    let mut buf = [0u8; 24];
    super::scan::upper_keyword(word, &mut buf).is_some_and(|upper| PRIMARY_WORDS.contains(&upper))
}

/// System variables of the session's own connection.
const PRIMARY_VARIABLES: &[&str] = &["identity", "last_insert_id", "last_gtid"];

/// Whether the SELECT `sql` may run on a replica.
pub fn may_read_from_replica(sql: &[u8]) -> bool {
    let mut check = ReplicaCheck::new(sql);
    for token in Scanner::new(sql) {
        if !check.see(token) {
            return false;
        }
    }
    check.may_read()
}

/// [`may_read_from_replica`] a token at a time, for a caller that scans the
/// statement anyway (the boundary).
#[derive(Debug, Clone, Copy)]
pub struct ReplicaCheck {
    may_read: bool,
    after_colon: bool,
}

impl ReplicaCheck {
    /// The check of statement `sql`, before its first token.
    pub fn new(sql: &[u8]) -> ReplicaCheck {
        ReplicaCheck {
            may_read: !hint_primary(sql),
            after_colon: false,
        }
    }

    /// Takes the next token; false once the statement must read on the primary.
    pub fn see(&mut self, token: Token<'_>) -> bool {
        if !self.may_read {
            return false;
        }
        let keeps = match token {
            Token::Word(w) => keeps_on_primary(w),
            Token::Variable(v) if v.starts_with("@@") => {
                let name = v.rsplit('.').next().unwrap_or(v).trim_start_matches('@');
                PRIMARY_VARIABLES
                    .iter()
                    .any(|k| name.eq_ignore_ascii_case(k))
            }
            Token::Punct('=') => self.after_colon,
            Token::Other => true,
            _ => false,
        };
        self.after_colon = matches!(token, Token::Punct(':'));
        self.may_read &= !keeps;
        self.may_read
    }

    /// Whether the statement seen so far may read from a replica.
    pub fn may_read(&self) -> bool {
        self.may_read
    }
}

/// The body of a leading `/* shardgate: ... */` comment, trimmed.
fn hint(sql: &[u8]) -> Option<&str> {
    // Most statements start with no comment: no need to read them as text.
    let start = sql.iter().position(|c| !c.is_ascii_whitespace())?;
    if !sql[start..].starts_with(b"/*") {
        return None;
    }
    let text = std::str::from_utf8(&sql[start..]).ok()?;
    let rest = text.strip_prefix("/*")?;
    if rest.starts_with('!') || rest.starts_with("M!") {
        return None;
    }
    let (body, _) = rest.split_once("*/")?;
    let (key, value) = body.split_once(':')?;
    key.trim()
        .eq_ignore_ascii_case("shardgate")
        .then_some(value.trim())
}

/// A leading `/* shardgate: primary */` comment.
pub fn hint_primary(sql: &[u8]) -> bool {
    hint(sql).is_some_and(|h| h.eq_ignore_ascii_case("primary"))
}

/// The data source of a leading `/* shardgate: data_source = NAME */` comment.
pub fn hint_data_source(sql: &[u8]) -> Option<&str> {
    let (key, value) = hint(sql)?.split_once('=')?;
    key.trim()
        .eq_ignore_ascii_case("data_source")
        .then_some(value.trim())
        .filter(|v| !v.is_empty())
}

/// `START TRANSACTION READ ONLY` (the characteristic may come with others).
pub fn is_read_only_begin(sql: &[u8]) -> bool {
    let mut previous: Option<Token<'_>> = None;
    for token in Scanner::new(sql) {
        if let (Some(Token::Word(p)), Token::Word(w)) = (previous, token) {
            if p.eq_ignore_ascii_case("READ") && w.eq_ignore_ascii_case("ONLY") {
                return true;
            }
        }
        previous = Some(token);
    }
    false
}

#[cfg(test)]
mod tests;
