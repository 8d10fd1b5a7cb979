//! Inline expressions in `nodes`: `${a..b}` (an inclusive integer range) and
//! `${[x,y,z]}` (a list) expand left to right, the rightmost varying fastest:
//! `ds_${0..1}.t_${0..1}` is `ds_0.t_0, ds_0.t_1, ds_1.t_0, ds_1.t_1`.

use std::fmt;

/// The most data nodes one expression may expand to (a typo guard).
pub const MAX_EXPANSION: usize = 65_536;

/// What is wrong with an expression, and where (1-based character position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineError {
    /// 1-based character position of the offending `${`.
    pub position: usize,
    /// What is wrong and what would be right.
    pub message: String,
}

impl fmt::Display for InlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: {}", self.position, self.message)
    }
}

/// One piece of an expression.
#[derive(Debug)]
enum Segment {
    /// Text copied as is.
    Literal(String),
    /// One of these, in order.
    Choices(Vec<String>),
}

/// Expands an inline expression into its values, in order.
pub fn expand(expression: &str) -> Result<Vec<String>, InlineError> {
    let segments = parse(expression)?;
    let mut total: usize = 1;
    for segment in &segments {
        if let Segment::Choices(choices) = segment {
            total = total.saturating_mul(choices.len());
        }
    }
    if total > MAX_EXPANSION {
        return Err(InlineError {
            position: 1,
            message: format!("expands to {total} values; at most {MAX_EXPANSION} are allowed"),
        });
    }
    let mut out = vec![String::new()];
    for segment in segments {
        out = match segment {
            Segment::Literal(text) => out.into_iter().map(|prefix| prefix + &text).collect(),
            Segment::Choices(choices) => out
                .iter()
                .flat_map(|prefix| {
                    choices
                        .iter()
                        .map(move |choice| format!("{prefix}{choice}"))
                })
                .collect(),
        };
    }
    Ok(out)
}

/// Splits an expression into literal text and `${...}` choices.
fn parse(expression: &str) -> Result<Vec<Segment>, InlineError> {
    let chars: Vec<char> = expression.chars().collect();
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' && chars.get(i + 1) == Some(&'{') {
            let position = i + 1;
            let fail = |message: String| InlineError { position, message };
            let body_start = i + 2;
            let mut end = body_start;
            while end < chars.len() && chars[end] != '}' {
                if chars[end] == '$' && chars.get(end + 1) == Some(&'{') {
                    return Err(fail(format!(
                        "`${{` is not closed before the next `${{` at position {}; close it with `}}`",
                        end + 1
                    )));
                }
                end += 1;
            }
            if end == chars.len() {
                return Err(fail("unbalanced `${`: no closing `}`".to_string()));
            }
            let body: String = chars[body_start..end].iter().collect();
            if !literal.is_empty() {
                segments.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            segments.push(Segment::Choices(choices(&body).map_err(fail)?));
            i = end + 1;
        } else {
            literal.push(chars[i]);
            i += 1;
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    Ok(segments)
}

/// The values of one `${...}` body: `a..b` or `[x,y]`.
fn choices(body: &str) -> Result<Vec<String>, String> {
    let trimmed = body.trim();
    if let Some(list) = trimmed.strip_prefix('[') {
        let Some(list) = list.strip_suffix(']') else {
            return Err(format!(
                "list `{trimmed}` has no closing `]`; write `${{[x,y]}}`"
            ));
        };
        if list.trim().is_empty() {
            return Err("empty list `[]`; give at least one value, like `${[a,b]}`".to_string());
        }
        let items: Vec<String> = list
            .split(',')
            .map(|item| item.trim().to_string())
            .collect();
        if items.iter().any(String::is_empty) {
            return Err(format!("list `[{list}]` has an empty item"));
        }
        return Ok(items);
    }
    let Some((low, high)) = trimmed.split_once("..") else {
        return Err(format!(
            "`{trimmed}` is neither a range nor a list; write `${{0..3}}` or `${{[a,b]}}`"
        ));
    };
    let low = bound(low.trim(), trimmed, "start")?;
    let high = bound(high.trim(), trimmed, "end")?;
    if low > high {
        return Err(format!("reversed range `{trimmed}`; write `{high}..{low}`"));
    }
    Ok((low..=high).map(|n| n.to_string()).collect())
}

/// One end of a range: a plain decimal integer.
fn bound(text: &str, range: &str, which: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Err(format!(
            "range `{range}` has no {which}; write both ends, like `0..3`"
        ));
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(format!(
            "`{text}` in `{range}` has a leading zero; zero-padded names need a list, like `${{[00,01]}}`"
        ));
    }
    text.parse()
        .map_err(|_| format!("the {which} `{text}` of range `{range}` is not an integer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(expression: &str) -> InlineError {
        match expand(expression) {
            Ok(values) => panic!("{expression} expanded to {values:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn rightmost_varies_fastest() {
        assert_eq!(
            expand("ds_${0..1}.t_${0..1}").unwrap(),
            ["ds_0.t_0", "ds_0.t_1", "ds_1.t_0", "ds_1.t_1"]
        );
        assert_eq!(
            expand("ds_${0..1}.t_log_${[a,b]}").unwrap(),
            [
                "ds_0.t_log_a",
                "ds_0.t_log_b",
                "ds_1.t_log_a",
                "ds_1.t_log_b"
            ]
        );
    }

    #[test]
    fn plain_text_and_single_values() {
        assert_eq!(expand("ds_0.t_user").unwrap(), ["ds_0.t_user"]);
        assert_eq!(expand("ds_${3..3}.t$x").unwrap(), ["ds_3.t$x"]);
        assert_eq!(expand("t_${[ a , b ]}").unwrap(), ["t_a", "t_b"]);
    }

    #[test]
    fn range_without_end() {
        let e = err("ds_${0..}.t");
        assert_eq!(e.position, 4);
        assert!(e.message.contains("no end"), "{e}");
    }

    #[test]
    fn unbalanced() {
        let e = err("ds_${0..1.t");
        assert_eq!(e.position, 4);
        assert!(e.message.contains("unbalanced"), "{e}");
        let e = err("ds_${0..1.t_${0..1}");
        assert!(e.message.contains("not closed"), "{e}");
    }

    #[test]
    fn reversed_range() {
        let e = err("ds_0.t_${3..1}");
        assert_eq!(e.position, 8);
        assert!(
            e.message.contains("reversed range `3..1`; write `1..3`"),
            "{e}"
        );
    }

    #[test]
    fn empty_list_and_items() {
        assert!(err("t_${[]}").message.contains("empty list"));
        assert!(err("t_${[a,,b]}").message.contains("empty item"));
        assert!(err("t_${[a,b}").message.contains("no closing `]`"));
    }

    #[test]
    fn neither_range_nor_list() {
        assert!(err("t_${x}").message.contains("neither a range nor a list"));
        assert!(err("t_${a..2}").message.contains("not an integer"));
        assert!(err("t_${00..03}").message.contains("leading zero"));
    }

    #[test]
    fn expansion_is_capped() {
        assert!(err("t_${0..999}_${0..999}").message.contains("at most"));
    }
}
