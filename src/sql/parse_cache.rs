//! Parsed statements kept by their text, per worker thread: every execute
//! of a prepared statement sends the same text, and a copy of its tree
//! costs a fraction of parsing it again. Kept per thread (a session runs on
//! one worker), so no lock; only single statements of moderate length, so
//! the memory stays small and bounded.

use lru::LruCache;
use sqlparser::ast::Statement;
use sqlparser::parser::ParserError;
use std::cell::RefCell;
use std::num::NonZeroUsize;

/// Statements kept per worker thread.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(128).expect("non-zero");
/// Longer texts (long INSERTs, generated reports) are parsed each time.
const MAX_TEXT: usize = 2048;

thread_local! {
    static PARSED: RefCell<LruCache<Box<str>, Statement>> = RefCell::new(LruCache::new(CAPACITY));
}

/// [`super::parse`], from the cache when this thread parsed `sql` before.
pub fn parse_cached(sql: &str) -> Result<Vec<Statement>, ParserError> {
    if sql.len() > MAX_TEXT {
        return super::parse(sql);
    }
    if let Some(statement) = PARSED.with(|p| p.borrow_mut().get(sql).cloned()) {
        return Ok(vec![statement]);
    }
    let statements = super::parse(sql)?;
    if let [statement] = statements.as_slice() {
        PARSED.with(|p| p.borrow_mut().put(sql.into(), statement.clone()));
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::parse_cached;

    #[test]
    fn a_cached_parse_equals_a_fresh_one() {
        for sql in [
            "SELECT * FROM t WHERE a = ? AND b IN (?, ?)",
            "UPDATE t SET a = a + ? WHERE id = ?",
            "SELECT 1; SELECT 2",
        ] {
            let fresh = crate::sql::parse(sql).expect("parses");
            assert_eq!(parse_cached(sql).expect("parses"), fresh, "{sql}");
            assert_eq!(parse_cached(sql).expect("parses"), fresh, "{sql}, cached");
        }
        assert!(parse_cached("SELECT FROM WHERE").is_err());
        assert!(parse_cached("SELECT FROM WHERE").is_err());
    }
}
