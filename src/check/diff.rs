//! Comparing an expected JSON tree with an observed one: objects without regard to member
//! order, numbers by value, arrays by position; each difference at a JSON pointer (RFC 6901).
//!
//! Both sides are read with the crate's borrowed reader (strings point into the texts), and a
//! pointer is written only for a difference: the walk allocates nothing per node.

use super::{Difference, DifferenceKind};
use crate::json::borrowed::{Json, Object};
use crate::model::time::Timestamp;
use crate::rule::RuleId;

/// One step of a path: a member name or an array index.
#[derive(Clone, Copy)]
pub(super) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Escapes a member name as a JSON pointer token.
pub(super) fn token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The pointer of a path.
pub(super) fn pointer(path: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for seg in path {
        out.push('/');
        match seg {
            Seg::Key(k) => out.push_str(&token(k)),
            Seg::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// What the comparison knows of the places it walks.
pub(super) struct Walk<'c> {
    /// The request time as the reference wrote it: where the expected answer holds it, the
    /// observed one may hold any instant within `window_ns` of it.
    pub(super) now: Option<(&'c str, i128)>,
    pub(super) window_ns: i128,
    /// The rule that decided the expected value at a pointer.
    pub(super) rule_at: &'c dyn Fn(&str) -> Option<RuleId>,
    pub(super) out: &'c mut Vec<Difference>,
    /// The caller's identity as the answer writes it in `createdBy` (top level of the body or
    /// of the state), where it is an object other than the expected one: a free choice (C1).
    pub(super) created_by: Option<serde_json::Value>,
}

/// An instant in nanoseconds since the epoch.
pub(super) fn instant(text: &str) -> Option<i128> {
    Timestamp::parse_rfc3339(text)
        .ok()
        .map(|t| i128::from(t.unix_seconds()) * 1_000_000_000 + i128::from(t.subsec_nanos()))
}

impl Walk<'_> {
    fn push(
        &mut self,
        path: &[Seg<'_>],
        kind: DifferenceKind,
        expected: Option<&Json<'_>>,
        observed: Option<&Json<'_>>,
    ) {
        let pointer = pointer(path);
        self.out.push(Difference {
            rule: (self.rule_at)(&pointer),
            pointer,
            kind,
            expected: expected.map(Json::to_value),
            observed: observed.map(Json::to_value),
        });
    }

    /// Compares `expected` with `observed` at `path`.
    pub(super) fn values<'t>(
        &mut self,
        path: &mut Vec<Seg<'t>>,
        expected: &'t Json<'_>,
        observed: &'t Json<'_>,
    ) {
        if let (Some((now, at)), Json::String(e)) = (self.now, expected)
            && e.as_ref() == now
        {
            let close = observed
                .as_str()
                .and_then(instant)
                .is_some_and(|o| (o - at).abs() <= self.window_ns);
            if !close {
                self.push(path, DifferenceKind::Time, Some(expected), Some(observed));
            }
            return;
        }
        if is_message(path) {
            if expected != observed {
                self.push(
                    path,
                    DifferenceKind::Message,
                    Some(expected),
                    Some(observed),
                );
            }
            return;
        }
        match (expected, observed) {
            (Json::Object(e), Json::Object(o)) => self.objects(path, e, o, None),
            (Json::Array(e), Json::Array(o)) => {
                for (i, ev) in e.iter().enumerate() {
                    path.push(Seg::Index(i));
                    match o.get(i) {
                        Some(ov) => self.values(path, ev, ov),
                        None => self.push(path, DifferenceKind::Missing, Some(ev), None),
                    }
                    path.pop();
                }
                for (i, ov) in o.iter().enumerate().skip(e.len()) {
                    path.push(Seg::Index(i));
                    self.push(path, DifferenceKind::Extra, None, Some(ov));
                    path.pop();
                }
            }
            (Json::Number(a), Json::Number(b)) => {
                if a != b && a.as_f64() != b.as_f64() {
                    self.push(path, DifferenceKind::Value, Some(expected), Some(observed));
                }
            }
            _ => {
                if expected != observed {
                    self.push(path, DifferenceKind::Value, Some(expected), Some(observed));
                }
            }
        }
    }

    /// Compares two objects member by member, leaving out the member named `skip`.
    pub(super) fn objects<'t>(
        &mut self,
        path: &mut Vec<Seg<'t>>,
        e: &'t Object<'_>,
        o: &'t Object<'_>,
        skip: Option<&str>,
    ) {
        for (name, ev) in e.iter() {
            if Some(name) == skip {
                continue;
            }
            path.push(Seg::Key(name));
            match o.get(name) {
                Some(ov) if is_identity(path, ov) => {
                    if ev != ov {
                        self.created_by = Some(ov.to_value());
                    }
                }
                Some(ov) => self.values(path, ev, ov),
                None => self.push(path, DifferenceKind::Missing, Some(ev), None),
            }
            path.pop();
        }
        for (name, ov) in o.iter() {
            if Some(name) != skip && !e.contains_key(name) {
                if name == "createdBy" && matches!(ov, Json::Object(_)) && path.len() == 1 {
                    self.created_by = Some(ov.to_value());
                    continue;
                }
                path.push(Seg::Key(name));
                self.push(path, DifferenceKind::Extra, None, Some(ov));
                path.pop();
            }
        }
    }

    /// A difference the walk did not find itself (an entry left unmatched, say).
    pub(super) fn record(
        &mut self,
        path: &[Seg<'_>],
        kind: DifferenceKind,
        expected: Option<&Json<'_>>,
        observed: Option<&Json<'_>>,
    ) {
        self.push(path, kind, expected, observed);
    }
}

/// Whether `path` is the session's `createdBy` (in the body or the state) and the observed
/// value an object: the caller's identity, the server's choice (rule C1).
fn is_identity(path: &[Seg<'_>], observed: &Json<'_>) -> bool {
    matches!(path, [Seg::Key(_), Seg::Key("createdBy")]) && matches!(observed, Json::Object(_))
}

/// The places that hold a message for people: `error.message`, `error.details[].message`, and a
/// failed entry's `@Core.DataModificationException.info.message`.
fn is_message(path: &[Seg<'_>]) -> bool {
    let key = |i: usize| match path.len().checked_sub(i).and_then(|j| path.get(j)) {
        Some(Seg::Key(k)) => Some(*k),
        _ => None,
    };
    if key(1) != Some("message") {
        return false;
    }
    key(2) == Some("error")
        || (key(2) == Some("info") && key(3) == Some("@Core.DataModificationException"))
        || (matches!(
            path.len().checked_sub(2).and_then(|j| path.get(j)),
            Some(Seg::Index(_))
        ) && key(3) == Some("details")
            && key(4) == Some("error"))
}

/// Writes `v` compactly, object members in document order (a value as the answer spelled
/// it, but for white space and escapes).
pub(super) fn write_in_order(out: &mut String, v: &Json<'_>) {
    match v {
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_in_order(out, item);
            }
            out.push(']');
        }
        Json::Object(o) => {
            out.push('{');
            for (i, (name, value)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::json::write_str(out, name);
                out.push(':');
                write_in_order(out, value);
            }
            out.push('}');
        }
        other => crate::json::borrowed::write(out, other),
    }
}

/// The length of the longest common prefix of two byte strings, compared 32 bytes at a time.
pub(super) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let whole = a
        .chunks_exact(32)
        .zip(b.chunks_exact(32))
        .take_while(|(x, y)| x == y)
        .count()
        * 32;
    let tail = a
        .get(whole..)
        .unwrap_or_default()
        .iter()
        .zip(b.get(whole..).unwrap_or_default())
        .take_while(|(x, y)| x == y)
        .count();
    whole + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_counts_whole_chunks_and_the_tail() {
        let a = vec![7u8; 100];
        let mut b = a.clone();
        assert_eq!(common_prefix(&a, &b), 100);
        for at in [0, 31, 32, 33, 64, 99] {
            b[at] = 8;
            assert_eq!(common_prefix(&a, &b), at);
            b[at] = 7;
        }
        assert_eq!(common_prefix(&a, &a[..40]), 40);
        assert_eq!(common_prefix(&a[..5], &a), 5);
    }
}
