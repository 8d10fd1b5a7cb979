//! MySQL 8's utf8mb4 `*_0900_*` collations, which MariaDB 10.x lacks
//! (1273): each is sent to the backends as the MariaDB collation MariaDB
//! 11.4 makes its alias (UCA 14.0.0, NO PAD like the 0900 ones, the same
//! strength and language), while the client is told the name it asked for.

use super::scan::{is_keyword, Scanner, Token};

/// MySQL locales and MariaDB's names for the same tailoring; a locale
/// MariaDB has no tailoring for gets the root collation.
const LOCALES: [(&str, &str); 20] = [
    ("is", "icelandic"),
    ("lv", "latvian"),
    ("ro", "romanian"),
    ("sl", "slovenian"),
    ("pl", "polish"),
    ("et", "estonian"),
    ("es", "spanish"),
    ("sv", "swedish"),
    ("tr", "turkish"),
    ("cs", "czech"),
    ("da", "danish"),
    ("lt", "lithuanian"),
    ("sk", "slovak"),
    ("es_trad", "spanish2"),
    ("la", "roman"),
    ("eo", "esperanto"),
    ("hu", "hungarian"),
    ("hr", "croatian"),
    ("vi", "vietnamese"),
    ("de_pb", "german2"),
];

/// The variables a collation name is assigned to.
const VARIABLES: [&str; 4] = [
    "collation_connection",
    "collation_database",
    "collation_server",
    "default_collation_for_utf8mb4",
];

/// The handshake / COM_CHANGE_USER ids of MySQL 8's root 0900 collations.
const IDS: [(u16, &str); 4] = [
    (255, "utf8mb4_0900_ai_ci"),
    (278, "utf8mb4_0900_as_cs"),
    (305, "utf8mb4_0900_as_ci"),
    (309, "utf8mb4_0900_bin"),
];

/// The MySQL 8 name of collation `id` when it is one MariaDB lacks.
pub fn mysql8_name(id: u16) -> Option<&'static str> {
    IDS.iter().find(|(i, _)| *i == id).map(|(_, name)| *name)
}

/// The MariaDB collation standing in for the MySQL 8 collation `name`, or
/// `None` when `name` is not a MySQL 8 `utf8mb4_*0900*` one.
pub fn mariadb_equivalent(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let rest = lower.strip_prefix("utf8mb4_")?;
    let (locale, strength) = rest.split_once("0900_")?;
    if strength == "bin" && locale.is_empty() {
        return Some("utf8mb4_nopad_bin".into());
    }
    // Kana sensitivity (ja ..._ks) has no MariaDB counterpart: as_cs is nearest.
    let strength = match strength {
        "ai_ci" | "as_ci" | "as_cs" => strength,
        "as_cs_ks" => "as_cs",
        _ => return None,
    };
    let locale = locale.strip_suffix('_').unwrap_or(locale);
    let tailoring = LOCALES
        .iter()
        .find(|(mysql, _)| *mysql == locale)
        .map(|(_, mariadb)| format!("{mariadb}_"))
        .unwrap_or_default();
    Some(format!("utf8mb4_uca1400_{tailoring}nopad_{strength}"))
}

/// `sql` with each MySQL 8 collation name that follows `COLLATE` or is
/// assigned to a `collation_*` variable replaced by its MariaDB equivalent,
/// and the last such name (what the client asked for); `None` when there is
/// none. Cheap for the statements without one: they have no `0900`.
pub fn with_mariadb_collations(sql: &[u8]) -> Option<(Vec<u8>, String)> {
    memchr::memmem::find(sql, b"0900")?;
    let mut out = Vec::with_capacity(sql.len() + 16);
    let mut copied = 0;
    let mut asked = None;
    let mut scanner = Scanner::new(sql);
    // Whether the next name token names a collation.
    let mut expect_name = false;
    while let Some(token) = scanner.next() {
        let end = scanner.offset();
        let names_collation = is_keyword(&token, "COLLATE")
            || matches!(token, Token::Word(w) | Token::Variable(w)
            if VARIABLES.iter().any(|v| {
                crate::sql::scan::unscoped_variable(w).eq_ignore_ascii_case(v)
            }));
        if names_collation {
            expect_name = true;
        } else if expect_name {
            let (text, quote) = match token {
                Token::Word(w) => (w.to_string(), ""),
                Token::Quoted(w) => (w.to_string(), "`"),
                Token::Str(s) => (super::classify::unquote_string(s), "'"),
                Token::Punct('=') => continue,
                _ => (String::new(), ""),
            };
            expect_name = false;
            if let Some(equivalent) = mariadb_equivalent(&text) {
                let start = match token {
                    Token::Word(w) => end - w.len(),
                    // The scanner ends after the closing quote.
                    Token::Quoted(w) => end - w.len() - 2,
                    Token::Str(s) => end - s.len(),
                    _ => end,
                };
                out.extend_from_slice(&sql[copied..start]);
                out.extend_from_slice(format!("{quote}{equivalent}{quote}").as_bytes());
                copied = end;
                asked = Some(text.to_ascii_lowercase());
            }
        }
    }
    let asked = asked?;
    out.extend_from_slice(&sql[copied..]);
    Some((out, asked))
}

#[cfg(test)]
mod tests;
