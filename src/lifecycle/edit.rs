//! Setting members of a JSON object's text without touching the rest of it (rule S4): a member
//! present gets its value replaced where it is, a member absent is appended; every other byte
//! of the text, names of replaced members included, stays as it was.

use crate::json::{read_object, write_str};

/// `text` (a compact JSON object) with each `(name, value)` of `updates` set, in that order:
/// the value (JSON text) replaces the member's value in place, or the member is appended at the
/// end. A text that is not a JSON object comes back unchanged.
pub(crate) fn set_members(text: &str, updates: &[(&str, &str)]) -> String {
    let Ok(Some(members)) = read_object(text) else {
        return text.to_owned();
    };
    // Where each present member's value is in `text` (the values borrow from it).
    let base = text.as_ptr() as usize;
    let mut replaced: Vec<(usize, usize, &str)> = Vec::new();
    let mut appended: Vec<(&str, &str)> = Vec::new();
    for &(name, value) in updates {
        let found = members
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, raw)| {
                let start = (raw.get().as_ptr() as usize).checked_sub(base)?;
                let end = start.checked_add(raw.get().len())?;
                (text.get(start..end) == Some(raw.get())).then_some((start, end))
            });
        match found {
            Some((start, end)) => replaced.push((start, end, value)),
            None => appended.push((name, value)),
        }
    }
    replaced.sort_unstable_by_key(|&(start, _, _)| start);
    let extra: usize = updates.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    let mut out = String::with_capacity(text.len() + extra);
    let mut at = 0;
    for (start, end, value) in replaced {
        out.push_str(text.get(at..start).unwrap_or_default());
        out.push_str(value);
        at = end;
    }
    // The rest up to the closing brace; compact text ends with it.
    let close = text.rfind('}').unwrap_or(text.len()).max(at);
    out.push_str(text.get(at..close).unwrap_or_default());
    let mut empty = members.is_empty();
    for (name, value) in appended {
        if !empty {
            out.push(',');
        }
        empty = false;
        write_str(&mut out, name);
        out.push(':');
        out.push_str(value);
    }
    out.push_str(text.get(close..).unwrap_or("}"));
    out
}

/// `s` as a JSON string literal.
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_str(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_in_place_and_appends_the_rest_byte_for_byte() {
        let text = r#"{"id":"a\u0031","n\u0061me":1.50,"status":"added","x":{"k":[1e3]}}"#;
        let out = set_members(text, &[("status", r#""scheduling""#), ("name", "2")]);
        assert_eq!(
            out,
            r#"{"id":"a\u0031","n\u0061me":2,"status":"scheduling","x":{"k":[1e3]}}"#
        );
        let out = set_members(text, &[("startDateTime", r#""2026-01-01T00:00:00Z""#)]);
        assert_eq!(
            out,
            r#"{"id":"a\u0031","n\u0061me":1.50,"status":"added","x":{"k":[1e3]},"startDateTime":"2026-01-01T00:00:00Z"}"#
        );
        assert_eq!(
            set_members("{}", &[("a", "1"), ("b", "2")]),
            r#"{"a":1,"b":2}"#
        );
        assert_eq!(set_members("[1]", &[("a", "1")]), "[1]");
    }
}
