//! A small MySQL lexer over the client's original bytes: enough to split
//! multi-statements, find a statement's first keyword and the identifiers it
//! names, with byte offsets. sqlparser's tokenizer gives no byte offsets and
//! costs more than this whole scan, which runs on every statement.

/// One lexical item of interest, borrowing the statement text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A bare word: keyword or unquoted identifier.
    Word(&'a str),
    /// A `backquoted` identifier, without its quotes (doubled backquotes kept as is).
    Quoted(&'a str),
    /// `@name`, `@'name'`, or `@@scope.name`, including the at signs.
    Variable(&'a str),
    /// A string literal, with its quotes.
    Str(&'a str),
    /// A numeric literal.
    Number(&'a str),
    /// Any other single character (`;`, `(`, `.`, `=`, `?`, ...).
    Punct(char),
    /// A word, identifier or literal that is not valid UTF-8 (e.g. a
    /// `_binary'...'` literal with raw bytes, as PyMySQL sends them).
    Other,
}

/// Iterates over the tokens of `sql`, skipping whitespace and comments
/// (`/*! ... */` and `/*M! ... */` version comments are read as code, as
/// the server does).
#[derive(Clone)]
pub struct Scanner<'a> {
    text: &'a [u8],
    /// The whole text, when it is valid UTF-8: a token is then a checked
    /// sub-slice of it, not validated again on its own.
    utf8: Option<&'a str>,
    pos: usize,
}

/// The bytes a bare word is made of (`c >= 0x80`: any non-ASCII character).
const WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        table[i] = c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
        i += 1;
    }
    table
};

/// Text a [`Scanner`] reads: a `str` is known to be UTF-8 already, bytes
/// are checked once.
pub trait ScanText {
    /// The bytes, and the same as a `str` when they are UTF-8.
    fn parts(&self) -> (&[u8], Option<&str>);
}

impl ScanText for str {
    fn parts(&self) -> (&[u8], Option<&str>) {
        (self.as_bytes(), Some(self))
    }
}

impl ScanText for String {
    fn parts(&self) -> (&[u8], Option<&str>) {
        self.as_str().parts()
    }
}

impl ScanText for [u8] {
    fn parts(&self) -> (&[u8], Option<&str>) {
        (self, std::str::from_utf8(self).ok())
    }
}

impl<const N: usize> ScanText for [u8; N] {
    fn parts(&self) -> (&[u8], Option<&str>) {
        self.as_slice().parts()
    }
}

impl ScanText for Vec<u8> {
    fn parts(&self) -> (&[u8], Option<&str>) {
        self.as_slice().parts()
    }
}

/// A statement's bytes, checked for UTF-8 once for every scanner that
/// reads them.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a> {
    bytes: &'a [u8],
    utf8: Option<&'a str>,
}

impl<'a> Text<'a> {
    /// `bytes`, checked.
    pub fn new(bytes: &'a [u8]) -> Self {
        Text {
            bytes,
            utf8: std::str::from_utf8(bytes).ok(),
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl ScanText for Text<'_> {
    fn parts(&self) -> (&[u8], Option<&str>) {
        (self.bytes, self.utf8)
    }
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub fn new(text: &'a (impl ScanText + ?Sized)) -> Self {
        let (text, utf8) = text.parts();
        Scanner { text, utf8, pos: 0 }
    }

    /// The token text between two offsets, if it is valid UTF-8.
    fn slice(&self, start: usize, end: usize) -> Option<&'a str> {
        match self.utf8 {
            // Valid exactly when both ends fall on character boundaries.
            Some(text) => text.get(start..end),
            None => std::str::from_utf8(&self.text[start..end]).ok(),
        }
    }

    /// Advances past the bytes of a bare word.
    fn skip_word_bytes(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest
            .iter()
            .position(|&c| !Self::is_word_byte(c))
            .unwrap_or(rest.len());
    }

    fn find_bytes(&self, from: usize, needle: &[u8]) -> Option<usize> {
        self.text[from..]
            .windows(needle.len())
            .position(|w| w == needle)
    }

    /// Byte offset of the next unread character.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.pos + ahead).copied()
    }

    fn skip_trivia(&mut self) {
        let bytes = self.text;
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => self.pos += 1,
                b'#' => self.skip_line(),
                b'-' if self.peek(1) == Some(b'-')
                    && matches!(self.peek(2), None | Some(b' ' | b'\t' | b'\n' | b'\r')) =>
                {
                    self.skip_line()
                }
                b'/' if self.peek(1) == Some(b'*') => {
                    let opener = match (self.peek(2), self.peek(3)) {
                        (Some(b'!'), _) => 3,
                        (Some(b'M'), Some(b'!')) => 4, // MariaDB's own executable comment
                        _ => 0,
                    };
                    if opener > 0 {
                        // Executable comment: skip the opener and its version digits.
                        self.pos += opener;
                        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                            self.pos += 1;
                        }
                    } else if self.peek(2) == Some(b'+') {
                        // Optimizer hints stay part of the statement; scan past them.
                        self.skip_block_comment();
                    } else {
                        self.skip_block_comment();
                    }
                }
                b'*' if self.peek(1) == Some(b'/') => self.pos += 2, // end of /*! ... */
                _ => break,
            }
        }
    }

    fn skip_line(&mut self) {
        match self.find_bytes(self.pos, b"\n") {
            Some(n) => self.pos += n + 1,
            None => self.pos = self.text.len(),
        }
    }

    fn skip_block_comment(&mut self) {
        match self.find_bytes(self.pos + 2, b"*/") {
            Some(n) => self.pos += 2 + n + 2,
            None => self.pos = self.text.len(),
        }
    }

    /// Advances past a quoted run that starts at `self.pos` with `quote`.
    /// Backslash escapes apply inside '...' and "..." (MySQL's default sql_mode).
    fn skip_quoted(&mut self, quote: u8) {
        let bytes = self.text;
        self.pos += 1;
        while self.pos < bytes.len() {
            let c = bytes[self.pos];
            if c == b'\\' && quote != b'`' {
                self.pos += 2;
            } else if c == quote {
                if bytes.get(self.pos + 1) == Some(&quote) {
                    self.pos += 2;
                } else {
                    self.pos += 1;
                    return;
                }
            } else {
                self.pos += 1;
            }
        }
        self.pos = bytes.len();
    }

    fn is_word_byte(c: u8) -> bool {
        WORD_BYTES[usize::from(c)]
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        self.skip_trivia();
        let bytes = self.text;
        let start = self.pos;
        let c = *bytes.get(start)?;
        let token = match c {
            b'\'' | b'"' => {
                self.skip_quoted(c);
                self.slice(start, self.pos).map_or(Token::Other, Token::Str)
            }
            b'`' => {
                self.skip_quoted(c);
                let end = self.pos.saturating_sub(1).max(start + 1);
                self.slice(start + 1, end)
                    .map_or(Token::Other, Token::Quoted)
            }
            b'@' => {
                self.pos += 1;
                if self.peek(0) == Some(b'@') {
                    self.pos += 1;
                }
                match self.peek(0) {
                    Some(q @ (b'\'' | b'"' | b'`')) => self.skip_quoted(q),
                    _ => {
                        while self
                            .peek(0)
                            .is_some_and(|c| Self::is_word_byte(c) || c == b'.')
                        {
                            self.pos += 1;
                        }
                    }
                }
                self.slice(start, self.pos)
                    .map_or(Token::Other, Token::Variable)
            }
            b'0'..=b'9' => {
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
                {
                    self.pos += 1;
                }
                self.slice(start, self.pos)
                    .map_or(Token::Other, Token::Number)
            }
            c if Self::is_word_byte(c) => {
                self.skip_word_bytes();
                self.slice(start, self.pos)
                    .map_or(Token::Other, Token::Word)
            }
            _ => {
                self.pos += 1;
                Token::Punct(c as char)
            }
        };
        Some(token)
    }
}

/// `word` upper-cased on the stack, when it is no longer than any keyword
/// looked up this way (24 bytes): a keyword match needs no allocation.
pub fn upper_keyword<'b>(word: &str, buf: &'b mut [u8; 24]) -> Option<&'b [u8]> {
    let slot = buf.get_mut(..word.len())?;
    slot.copy_from_slice(word.as_bytes());
    slot.make_ascii_uppercase();
    Some(slot)
}

/// Whether a token is the keyword `kw` (case-insensitive).
pub fn is_keyword(token: &Token<'_>, kw: &str) -> bool {
    matches!(token, Token::Word(w) if w.eq_ignore_ascii_case(kw))
}

mod split;

#[cfg(test)]
use split::split_scanning;
pub use split::{lone_statement, split_statements};

#[cfg(test)]
mod tests;

/// A system variable's name without its `@@` and any `session.`,
/// `global.` or `local.` scope (`@@SESSION.sql_mode` gives `sql_mode`).
pub fn unscoped_variable(variable: &str) -> &str {
    let name = variable.trim_start_matches("@@");
    ["session.", "global.", "local."]
        .iter()
        .find_map(|scope| {
            name.get(..scope.len())
                .filter(|p| p.eq_ignore_ascii_case(scope))
                .map(|_| &name[scope.len()..])
        })
        .unwrap_or(name)
}

/// Reads `( * )` from `tokens` (as in `SHOW COUNT(*) WARNINGS`).
pub fn count_star<'a>(tokens: &mut impl Iterator<Item = Token<'a>>) -> bool {
    let star = [tokens.next(), tokens.next(), tokens.next()];
    star == [
        Some(Token::Punct('(')),
        Some(Token::Punct('*')),
        Some(Token::Punct(')')),
    ]
}
