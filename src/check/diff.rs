//! Comparing an expected JSON value with an observed one: objects without regard to member
//! order, numbers by value, arrays by position; each difference at a JSON pointer (RFC 6901).

use serde_json::{Map, Value};

use super::{Difference, DifferenceKind};
use crate::rule::RuleId;
use crate::time::Timestamp;

/// What the comparison knows of the places it walks.
pub(super) struct Walk<'a> {
    /// Pointers (relative to the compared root) where the reference wrote the request time:
    /// compared as instants within `window_ns` of each other.
    pub(super) times: &'a [String],
    pub(super) window_ns: i128,
    /// The rule that decided the expected value at a pointer.
    pub(super) rule_at: &'a dyn Fn(&str) -> Option<RuleId>,
    pub(super) out: &'a mut Vec<Difference>,
}

/// Escapes a member name as a JSON pointer token.
pub(super) fn token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

impl Walk<'_> {
    fn push(
        &mut self,
        pointer: &str,
        kind: DifferenceKind,
        expected: Option<&Value>,
        observed: Option<&Value>,
    ) {
        self.out.push(Difference {
            pointer: pointer.to_owned(),
            kind,
            expected: expected.cloned(),
            observed: observed.cloned(),
            rule: (self.rule_at)(pointer),
        });
    }

    /// Compares `expected` with `observed` at `pointer`.
    pub(super) fn values(&mut self, pointer: &str, expected: &Value, observed: &Value) {
        if self.times.iter().any(|t| t == pointer) {
            self.time(pointer, expected, observed);
            return;
        }
        if is_message(pointer) {
            if expected != observed {
                self.push(
                    pointer,
                    DifferenceKind::Message,
                    Some(expected),
                    Some(observed),
                );
            }
            return;
        }
        match (expected, observed) {
            (Value::Object(e), Value::Object(o)) => self.objects(pointer, e, o, None),
            (Value::Array(e), Value::Array(o)) => {
                for (i, ev) in e.iter().enumerate() {
                    let at = format!("{pointer}/{i}");
                    match o.get(i) {
                        Some(ov) => self.values(&at, ev, ov),
                        None => self.push(&at, DifferenceKind::Missing, Some(ev), None),
                    }
                }
                for (i, ov) in o.iter().enumerate().skip(e.len()) {
                    let at = format!("{pointer}/{i}");
                    self.push(&at, DifferenceKind::Extra, None, Some(ov));
                }
            }
            (Value::Number(a), Value::Number(b)) => {
                if a != b && a.as_f64() != b.as_f64() {
                    self.push(
                        pointer,
                        DifferenceKind::Value,
                        Some(expected),
                        Some(observed),
                    );
                }
            }
            _ => {
                if expected != observed {
                    self.push(
                        pointer,
                        DifferenceKind::Value,
                        Some(expected),
                        Some(observed),
                    );
                }
            }
        }
    }

    /// Compares two objects member by member, leaving out the member named `skip`.
    pub(super) fn objects(
        &mut self,
        pointer: &str,
        e: &Map<String, Value>,
        o: &Map<String, Value>,
        skip: Option<&str>,
    ) {
        for (name, ev) in e {
            if Some(name.as_str()) == skip {
                continue;
            }
            let at = format!("{pointer}/{}", token(name));
            match o.get(name) {
                Some(ov) => self.values(&at, ev, ov),
                None => self.push(&at, DifferenceKind::Missing, Some(ev), None),
            }
        }
        for (name, ov) in o {
            if Some(name.as_str()) != skip && !e.contains_key(name) {
                let at = format!("{pointer}/{}", token(name));
                self.push(&at, DifferenceKind::Extra, None, Some(ov));
            }
        }
    }

    /// A place where the reference wrote the request time: any RFC 3339 instant within the
    /// window of the bound time.
    fn time(&mut self, pointer: &str, expected: &Value, observed: &Value) {
        let instant = |v: &Value| {
            v.as_str()
                .and_then(|s| Timestamp::parse_rfc3339(s).ok())
                .map(|t| {
                    i128::from(t.unix_seconds()) * 1_000_000_000 + i128::from(t.subsec_nanos())
                })
        };
        match (instant(expected), instant(observed)) {
            (Some(e), Some(o)) if (e - o).abs() <= self.window_ns => {}
            _ => self.push(
                pointer,
                DifferenceKind::Time,
                Some(expected),
                Some(observed),
            ),
        }
    }
}

/// The places that hold a message for people: `error.message`, `error.details[].message`, and a
/// failed entry's `@Core.DataModificationException.info.message`.
pub(super) fn is_message(pointer: &str) -> bool {
    pointer.ends_with("/error/message")
        || (pointer.contains("/error/details/") && pointer.ends_with("/message"))
        || pointer.ends_with("/@Core.DataModificationException/info/message")
}

/// Every pointer (below `pointer`) where `value` holds the string `needle`.
pub(super) fn find_string(value: &Value, needle: &str, pointer: &str, into: &mut Vec<String>) {
    match value {
        Value::String(s) if s == needle => into.push(pointer.to_owned()),
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                find_string(v, needle, &format!("{pointer}/{i}"), into);
            }
        }
        Value::Object(o) => {
            for (k, v) in o {
                find_string(v, needle, &format!("{pointer}/{}", token(k)), into);
            }
        }
        _ => {}
    }
}
