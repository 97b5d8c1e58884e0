//! Request bodies as a borrowed JSON tree (rule E2): strings without escapes point into the
//! body, objects are vectors of members. Reading a request allocates once per container
//! instead of once per string and per member, and nothing is rebuilt to echo it (rule O3).
//!
//! Objects keep members in document order; every reader of them looks members up by name or
//! sorts the names first, and the writer sorts them, so no output depends on member order.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use crate::json::write_str;

/// A JSON value read from a request body.
#[derive(Debug, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// A JSON object: its members in document order, names unique.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Object<'a> {
    members: Vec<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Object<'a> {
    /// The value of the member `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Json<'a>> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub(crate) fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The member names, in document order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(n, _)| n.as_ref())
    }

    /// The members, in document order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Json<'a>)> {
        self.members.iter().map(|(n, v)| (n.as_ref(), v))
    }
}

impl<'a> Json<'a> {
    /// The member `name` of an object.
    pub(crate) fn get(&self, name: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(o) => o.get(name),
            _ => None,
        }
    }

    /// The items of an array.
    pub(crate) fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The text of a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a `serde_json::Value` (members sorted).
    pub(crate) fn to_value(&self) -> serde_json::Value {
        let mut text = String::new();
        write(&mut text, self);
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }
}

/// Writes `v` compactly, object members sorted by name (as serde_json writes a `Value` without
/// `preserve_order`), so the bytes do not depend on the order the client sent.
pub(crate) fn write(out: &mut String, v: &Json<'_>) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => write_str(out, s),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item);
            }
            out.push(']');
        }
        Json::Object(o) => {
            let mut members: Vec<&(Cow<'_, str>, Json<'_>)> = o.members.iter().collect();
            members.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (name, value)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, name);
                out.push(':');
                write(out, value);
            }
            out.push('}');
        }
    }
}

/// Parses `text` as one JSON value, refusing containers nested deeper than `max_depth` (the
/// outermost container is depth 1) and objects with a duplicate member name.
pub(crate) fn parse(text: &str, max_depth: usize) -> Result<Json<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Limited {
        depth: 0,
        max_depth,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

#[derive(Clone, Copy)]
struct Limited {
    depth: usize,
    max_depth: usize,
}

impl Limited {
    fn enter<E: de::Error>(self) -> Result<Limited, E> {
        let depth = self.depth + 1;
        if depth > self.max_depth {
            return Err(E::custom(format_args!(
                "nested deeper than {} levels",
                self.max_depth
            )));
        }
        Ok(Limited { depth, ..self })
    }
}

impl<'de> DeserializeSeed<'de> for Limited {
    type Value = Json<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

/// Objects up to this many members are checked for duplicate names by comparing with each
/// earlier name; larger ones also keep a sorted set, so the check stays O(n log n).
const LINEAR_NAMES: usize = 16;

impl<'de> Visitor<'de> for Limited {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        // serde_json hands over finite numbers only; `Number::from_f64` refuses the others.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let inner = self.enter()?;
        // Most arrays of a body are its delta (up to 50 items): start where a few doublings
        // would end.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16).min(64));
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Json::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let inner = self.enter()?;
        let mut members: Vec<(Cow<'de, str>, Json<'de>)> =
            Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        let mut many: BTreeSet<Cow<'de, str>> = BTreeSet::new();
        while let Some(name) = map.next_key_seed(Name)? {
            let seen = if members.len() < LINEAR_NAMES {
                members.iter().any(|(n, _)| {
                    #[cfg(test)]
                    compared::count();
                    *n == name
                })
            } else {
                if many.is_empty() {
                    many.extend(members.iter().map(|(n, _)| n.clone()));
                }
                !many.insert(name.clone())
            };
            if seen {
                return Err(de::Error::custom(format_args!(
                    "duplicate member name {:?}",
                    name.as_ref()
                )));
            }
            let v = map.next_value_seed(inner)?;
            members.push((name, v));
        }
        Ok(Json::Object(Object { members }))
    }
}

/// Test-only: counts the names [`Limited::visit_map`] compares one by one, on this thread, so
/// that a test can bound the duplicate-name check's cost by counting. Compiled into the
/// library's unit tests only.
#[cfg(test)]
mod compared {
    use std::cell::Cell;

    thread_local! {
        static NAMES: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn count() {
        NAMES.with(|n| n.set(n.get() + 1));
    }

    /// The names compared since the last call.
    pub(super) fn taken() -> usize {
        NAMES.with(|n| n.replace(0))
    }
}

/// A member name, borrowed from the body when it has no escapes.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(text: &str) -> String {
        let mut out = String::new();
        write(&mut out, &parse(text, 64).unwrap());
        out
    }

    #[test]
    fn borrows_plain_strings_and_owns_escaped_ones() {
        let v = parse(r#"{"a":"plain","b\u0041":"x\"y"}"#, 8).unwrap();
        let Json::Object(o) = &v else {
            unreachable!("an object")
        };
        assert!(matches!(
            o.get("a"),
            Some(Json::String(Cow::Borrowed("plain")))
        ));
        assert!(matches!(o.get("bA"), Some(Json::String(Cow::Owned(s))) if s == "x\"y"));
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "bA"]);
    }

    #[test]
    fn writes_like_serde_json_without_preserve_order() {
        for text in [
            r#"{"b":[1,-2,3.5,1e300,true,null],"a":{"z":"\u00e9\n","y":{}},"":""}"#,
            r#"[1.0,0,18446744073709551615,-9223372036854775808,"\u001f"]"#,
        ] {
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(echo(text), serde_json::to_string(&value).unwrap(), "{text}");
        }
    }

    #[test]
    fn refuses_duplicates_small_and_large_and_deep_nesting() {
        assert!(parse(r#"{"a":1,"a":2}"#, 64).is_err());
        assert!(parse(r#"{"a":{"b":1,"\u0062":1}}"#, 64).is_err());
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert!(parse(&ok, 64).is_ok());
        let dup = format!("{{{},\"k7\":0}}", many.join(","));
        let err = parse(&dup, 64).unwrap_err().to_string();
        assert!(err.contains("duplicate member name \"k7\""), "{err}");
        assert!(parse("[[1]]", 2).is_ok());
        assert!(parse("[[[1]]]", 2).is_err());
        assert!(parse("{} x", 2).is_err());
        let deep = "[".repeat(100_000);
        assert!(parse(&deep, 64).is_err());
    }

    /// The duplicate-name check costs O(n log n) on an object of n members, not O(n²): only
    /// the first names of an object are compared one by one (the rest go through an ordered
    /// set). Counted on an object of 5,000 members: at most the first 16 or 17 names are
    /// compared with each other, where comparing every name with every earlier one would be
    /// 12.5 million comparisons (3.2 billion on the 80,000 members of a 1 MiB body).
    #[test]
    fn a_wide_object_compares_few_names_one_by_one() {
        compared::taken();
        parse(r#"{"a":1,"b":2,"c":3}"#, 8).unwrap();
        assert_eq!(
            compared::taken(),
            3,
            "each name with each earlier one: 0 + 1 + 2"
        );
        let members: Vec<String> = (0..5_000).map(|i| format!("\"m{i:06}\":{i}")).collect();
        let wide = format!("{{{}}}", members.join(","));
        compared::taken();
        let Json::Object(o) = parse(&wide, 8).unwrap() else {
            unreachable!("an object")
        };
        assert_eq!(o.keys().count(), 5_000);
        let n = compared::taken();
        assert!(n <= 16 * 17 / 2, "{n} names compared one by one");
        let dup = format!("{},\"m004999\":0}}", &wide[..wide.len() - 1]);
        assert!(parse(&dup, 8).is_err());
        compared::taken();
    }
}
