//! Splitting a multi-statement text where MariaDB's parser does: at a `;`
//! outside every compound statement. A top-level `FOR ... END FOR`,
//! `WHILE`, `LOOP`, `REPEAT`, `IF`, `CASE` or `BEGIN NOT ATOMIC ... END`
//! holds `;` of its own, and so does the body of a stored program.

use super::{Scanner, Token};

/// Splits a multi-statement text at top-level `;`, returning each
/// statement's original bytes (trailing `;` and surrounding blanks removed).
/// Empty statements are dropped, so `"SELECT 1;"` is one statement. A
/// compound statement (`FOR i IN 1..3 DO ...; END FOR`, `BEGIN NOT ATOMIC
/// ... END`, ...) and the body of a stored program (`CREATE PROCEDURE ...
/// BEGIN ...; ... END`) stay whole, as the server's parser keeps them;
/// `BEGIN;` (a transaction), `IF(a, b, c)` and `CASE ... END` expressions do
/// not open a block.
pub fn split_statements(text: &[u8]) -> Vec<&[u8]> {
    match lone_statement(text) {
        Some(one) => one.into_iter().collect(),
        None => split_scanning(text),
    }
}

/// The common case, a text without `;`: its one statement, trimmed
/// (`Some(None)`: only blanks and comments), found without a list or a
/// scan of all of it. `None` when the text has a `;`.
pub fn lone_statement(text: &[u8]) -> Option<Option<&[u8]>> {
    if text.contains(&b';') {
        return None;
    }
    let trimmed = text.trim_ascii();
    // Only these start what the scanner skips before a first token.
    let may_be_blank = match trimmed.first() {
        None => true,
        Some(c) => matches!(c, b'#' | b'-' | b'/' | b'*' | b'\x0b'),
    };
    if may_be_blank && Scanner::new(text).next().is_none() {
        return Some(None);
    }
    Some(Some(trimmed))
}

pub(super) fn split_scanning(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut scanner = Scanner::new(text);
    let mut start = 0;
    let mut blocks = Blocks::new();
    let mut next = scanner.next();
    while let Some(token) = next {
        let end = scanner.offset();
        next = scanner.next();
        if token == Token::Punct(';') && blocks.open.is_empty() {
            if blocks.tokens > 0 {
                out.push(text[start..end - 1].trim_ascii());
            }
            start = end;
            blocks = Blocks::new();
        } else {
            blocks.see(token, next);
        }
    }
    if blocks.tokens > 0 {
        out.push(text[start..].trim_ascii());
    }
    out
}

/// A block open in a compound statement; each is closed by `END` or `END <its keyword>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// `BEGIN ... END`.
    Begin,
    /// `IF ... THEN ...; ELSE ...; END IF`.
    If,
    /// `CASE ... WHEN ... THEN ...; END CASE` (a statement list in each branch).
    CaseStatement,
    /// `CASE WHEN ... THEN x END` inside an expression.
    CaseExpression,
    /// `LOOP ... END LOOP`.
    Loop,
    /// `WHILE ... DO ... END WHILE`.
    While,
    /// `REPEAT ... UNTIL`: statements before `UNTIL`.
    Repeat,
    /// `REPEAT ... UNTIL cond END REPEAT`: after `UNTIL`, where `END` closes without a `;`.
    Until,
    /// `FOR ... DO ... END FOR`.
    For,
}

/// Where a `DECLARE ... HANDLER FOR <conditions> <statement>` is, so the
/// statement after its condition list is seen as a statement's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handler {
    /// Not in a handler declaration.
    None,
    /// In a `DECLARE` statement.
    Declare,
    /// A condition is expected next (after `FOR` or `,`).
    Condition,
    /// Inside `SQLSTATE [VALUE] '...'` or `NOT FOUND`: the item goes on.
    InCondition,
    /// A condition ended: a `,` or the handler's statement follows.
    AfterCondition,
}

/// The compound-statement state of the statement being scanned.
struct Blocks {
    /// Blocks open now, innermost last; a `;` splits only when it is empty.
    open: Vec<Block>,
    /// Tokens seen in the current statement (an empty one is dropped).
    tokens: usize,
    /// The next token begins a statement (the top-level one, or one inside a block).
    at_start: bool,
    /// The statement defines a stored program (`CREATE PROCEDURE ...`),
    /// whose body starts where its header ends, which is not tracked: there
    /// `BEGIN`, `LOOP`, `WHILE`, `REPEAT` and `FOR` open blocks wherever they are.
    program: bool,
    /// The last token opened a `BEGIN` block: `NOT ATOMIC` may follow.
    after_begin: bool,
    /// The last token was `END` closing a block: skip the keyword naming it.
    skip_next: bool,
    handler: Handler,
    /// The first words may still name a stored program.
    header: bool,
    /// The last word was TABLE, VIEW, ...: a following PROCEDURE or EVENT is a name.
    after_object_kind: bool,
}

impl Blocks {
    fn new() -> Self {
        Blocks {
            open: Vec::new(),
            tokens: 0,
            at_start: true,
            program: false,
            after_begin: false,
            skip_next: false,
            handler: Handler::None,
            header: false,
            after_object_kind: false,
        }
    }

    fn see(&mut self, token: Token<'_>, next: Option<Token<'_>>) {
        self.tokens += 1;
        if self.skip_next {
            self.skip_next = false;
            return;
        }
        let at_start = std::mem::replace(&mut self.at_start, false);
        let after_begin = std::mem::replace(&mut self.after_begin, false);
        if self.tokens == 1 || self.header {
            self.program_header(&token);
        }
        if self.open.is_empty() && !self.program && !at_start {
            // Inside an ordinary top-level statement: nothing opens a block.
            return;
        }
        if self.handler != Handler::None && self.handler_condition(&token) {
            return;
        }
        let at_start = at_start || self.handler == Handler::AfterCondition;
        if self.handler == Handler::AfterCondition {
            self.handler = Handler::None;
        }
        let word = match token {
            Token::Word(w) => w,
            Token::Punct(';') => {
                // Inside a block (at the top level `;` never gets here).
                self.at_start = true;
                self.handler = Handler::None;
                return;
            }
            Token::Punct(':') if at_start => {
                // The `:` of a label: the labelled statement follows.
                self.at_start = true;
                return;
            }
            _ => return,
        };
        let is = |kw: &str| word.eq_ignore_ascii_case(kw);
        let next_is = |kw: &str| next.is_some_and(|t| super::is_keyword(&t, kw));
        if is("END") {
            self.end(at_start, next);
            return;
        }
        if at_start && next == Some(Token::Punct(':')) {
            // `label: LOOP ...`: the `:` keeps the start.
            self.at_start = true;
            return;
        }
        let top = self.open.last().copied();
        if after_begin && (is("NOT") || is("ATOMIC")) {
            self.at_start = true;
            self.after_begin = true;
        } else if is("THEN") || is("ELSE") {
            self.at_start = matches!(top, Some(Block::If | Block::CaseStatement));
        } else if is("DO") && !at_start {
            // `WHILE c DO`, `FOR ... DO`, and an event's `DO <body>`.
            self.at_start =
                matches!(top, Some(Block::While | Block::For)) || (self.program && top.is_none());
        } else if is("UNTIL") && top == Some(Block::Repeat) {
            self.open.pop();
            self.open.push(Block::Until);
        } else if is("CASE") {
            self.open.push(if at_start {
                Block::CaseStatement
            } else {
                Block::CaseExpression
            });
        } else if is("BEGIN")
            && (at_start || (self.program && top.is_none()))
            && (!self.open.is_empty() || self.program || next_is("NOT"))
        {
            // At the top level plain `BEGIN` starts a transaction.
            self.open.push(Block::Begin);
            self.at_start = true;
            self.after_begin = true;
        } else if is("IF") && at_start {
            self.open.push(Block::If);
        } else if is("LOOP") && (at_start || self.program) {
            self.open.push(Block::Loop);
            self.at_start = true;
        } else if is("REPEAT") && (at_start || (self.program && next != Some(Token::Punct('(')))) {
            self.open.push(Block::Repeat);
            self.at_start = true;
        } else if is("WHILE") && (at_start || self.program) {
            self.open.push(Block::While);
        } else if is("FOR")
            && (at_start
                || (self.program && top.is_none() && !next_is("EACH") && !next_is("UPDATE")))
        {
            self.open.push(Block::For);
        } else if is("ROW") && self.program && top.is_none() {
            // A trigger's `FOR EACH ROW <body>`.
            self.at_start = true;
        } else if is("DECLARE") && at_start {
            self.handler = Handler::Declare;
        } else if is("HANDLER") && self.handler == Handler::Declare && next_is("FOR") {
            self.handler = Handler::Condition;
            self.skip_next = true;
        }
    }

    /// Notes a stored-program definition (`CREATE [OR REPLACE] [DEFINER=...]
    /// PROCEDURE|FUNCTION|TRIGGER|EVENT`, `ALTER EVENT ... DO`) from its first words.
    fn program_header(&mut self, token: &Token<'_>) {
        let is = |kw: &str| super::is_keyword(token, kw);
        if self.tokens == 1 {
            self.header = is("CREATE") || is("ALTER");
            return;
        }
        if self.tokens > 12 {
            self.header = false;
        } else if is("PROCEDURE") || is("FUNCTION") || is("TRIGGER") || is("EVENT") {
            // Unless it names an object: `CREATE TABLE event (...)`.
            self.program = !self.after_object_kind;
            self.header = false;
        }
        self.after_object_kind = ["TABLE", "VIEW", "INDEX", "SEQUENCE", "DATABASE", "SCHEMA"]
            .iter()
            .any(|kw| is(kw));
    }

    /// Steps through a handler's condition list; true when `token` belongs to it.
    fn handler_condition(&mut self, token: &Token<'_>) -> bool {
        let word = |kw: &str| super::is_keyword(token, kw);
        match self.handler {
            Handler::Condition => {
                self.handler = if word("SQLSTATE") || word("NOT") {
                    Handler::InCondition
                } else {
                    Handler::AfterCondition
                };
                true
            }
            Handler::InCondition => {
                // `SQLSTATE VALUE '42S02'` / `NOT FOUND`: VALUE goes on, the rest ends it.
                if !word("VALUE") {
                    self.handler = Handler::AfterCondition;
                }
                true
            }
            Handler::AfterCondition if *token == Token::Punct(',') => {
                self.handler = Handler::Condition;
                true
            }
            _ => false,
        }
    }

    /// `END`: closes a block where a closing `END` can be (a statement's
    /// start, after `UNTIL`, in a `CASE` expression), or wherever it names
    /// the block it closes (`END IF`).
    fn end(&mut self, at_start: bool, next: Option<Token<'_>>) {
        let named = match next {
            Some(Token::Word(w)) => [
                ("IF", Block::If),
                ("LOOP", Block::Loop),
                ("WHILE", Block::While),
                ("REPEAT", Block::Repeat),
                ("FOR", Block::For),
                ("CASE", Block::CaseStatement),
            ]
            .into_iter()
            .find(|(kw, _)| w.eq_ignore_ascii_case(kw))
            .map(|(_, block)| block),
            _ => None,
        };
        let closes = |open: &Block| match named {
            Some(Block::CaseStatement) => {
                matches!(open, Block::CaseStatement | Block::CaseExpression)
            }
            Some(Block::Repeat) => matches!(open, Block::Repeat | Block::Until),
            Some(block) => *open == block,
            None => matches!(open, Block::Begin | Block::CaseExpression),
        };
        let top = self.open.last().copied();
        if named.is_none()
            && !at_start
            && !matches!(top, Some(Block::CaseExpression | Block::Until))
        {
            return; // `end` as a column name, say
        }
        if let Some(at) = self.open.iter().rposition(closes) {
            self.open.truncate(at);
            self.skip_next = named.is_some();
        }
    }
}
