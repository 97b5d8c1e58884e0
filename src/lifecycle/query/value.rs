//! Values read from a stored session or artifact for `$filter` and `$orderby` (rules Q4, Q5):
//! borrowed from the stored JSON text, read member by member without building a tree, so that
//! scanning an artifact allocates nothing (rule Q8) unless a string in it holds an escape.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::json::Str;
use crate::lifecycle::query::schema::{EnumType, Path, Ty, UNKNOWN_RANK};
use crate::model::artifact::Artifact;
use crate::model::session::Session;
use crate::model::time::Timestamp;

/// One value, typed by the property (or literal) it comes from. A stored value of another JSON
/// type than its property's reads as `Null`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    Time(Timestamp),
    /// An enum value: its member's value ([`UNKNOWN_RANK`] for a value the schema lacks) and
    /// its text.
    Enum(u32, Cow<'a, str>),
    /// A complex value that is not `null`.
    Present,
}

impl Val<'_> {
    pub(crate) fn into_owned(self) -> Val<'static> {
        match self {
            Val::Null => Val::Null,
            Val::Bool(b) => Val::Bool(b),
            Val::Num(n) => Val::Num(n),
            Val::Str(s) => Val::Str(Cow::Owned(s.into_owned())),
            Val::Time(t) => Val::Time(t),
            Val::Enum(r, s) => Val::Enum(r, Cow::Owned(s.into_owned())),
            Val::Present => Val::Present,
        }
    }

    fn variant(&self) -> u8 {
        match self {
            Val::Null => 0,
            Val::Bool(_) => 1,
            Val::Num(_) => 2,
            Val::Str(_) => 3,
            Val::Time(_) => 4,
            Val::Enum(..) => 5,
            Val::Present => 6,
        }
    }
}

/// The order `$orderby` sorts by (rule Q5): `null` first, strings by code point (UTF-8 bytes),
/// numbers by value, instants in time, enum values by their member's value and then text,
/// `false` before `true`. Values of different types (which typing keeps apart) by type.
pub(crate) fn order(a: &Val<'_>, b: &Val<'_>) -> Ordering {
    match (a, b) {
        (Val::Null, Val::Null) | (Val::Present, Val::Present) => Ordering::Equal,
        (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
        // Finite (JSON has no NaN): `-0` equals `0`.
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y).unwrap_or_else(|| x.total_cmp(y)),
        (Val::Str(x), Val::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Val::Time(x), Val::Time(y)) => x.cmp(y),
        (Val::Enum(r, x), Val::Enum(s, y)) => r.cmp(s).then_with(|| x.cmp(y)),
        _ => a.variant().cmp(&b.variant()),
    }
}

/// A stored JSON value read as `ty`.
pub(crate) fn typed<'a>(raw: Option<&'a str>, ty: Ty) -> Val<'a> {
    let Some(raw) = raw else {
        return Val::Null;
    };
    if raw == "null" {
        return Val::Null;
    }
    match ty {
        Ty::String => string(raw).map_or(Val::Null, Val::Str),
        Ty::Int32 => {
            if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                raw.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .map_or(Val::Null, Val::Num)
            } else {
                Val::Null
            }
        }
        Ty::DateTime => string(raw)
            .and_then(|s| Timestamp::parse_rfc3339(&s).ok())
            .map_or(Val::Null, Val::Time),
        Ty::Enum(e) => string(raw).map_or(Val::Null, |s| enum_val(e, s)),
        Ty::Complex(_) | Ty::Collection => Val::Present,
    }
}

/// An enum value from its stored text.
pub(crate) fn enum_val(e: EnumType, text: Cow<'_, str>) -> Val<'_> {
    Val::Enum(e.rank_of_stored(&text), text)
}

/// The contents of a JSON string literal, borrowed when it has no escape.
pub(crate) fn string(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

/// Calls `f(name, raw value text)` for each member of the JSON object `text`, in order, without
/// allocating (but for member names with escapes). Not an object: no call.
pub(crate) fn for_each_member<'a>(text: &'a str, mut f: impl FnMut(&str, &'a str)) {
    struct Members<'f, F>(&'f mut F);
    impl<'de, F: FnMut(&str, &'de str)> Visitor<'de> for Members<'_, F> {
        type Value = ();
        fn expecting(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
            out.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(Str(name)) = map.next_key::<Str<'de>>()? {
                let raw: &'de RawValue = map.next_value()?;
                (self.0)(&name, raw.get());
            }
            Ok(())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(())
        }
    }
    if !text.starts_with('{') {
        return;
    }
    let mut de = serde_json::Deserializer::from_str(text);
    // Stored texts were read strictly (rule S3): an error here only ends the walk.
    let _ = de.deserialize_map(Members(&mut f));
}

/// The raw text of member `name` of the JSON object `text`.
pub(crate) fn member<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut found = None;
    for_each_member(text, |n, raw| {
        if found.is_none() && n == name {
            found = Some(raw);
        }
    });
    found
}

/// The paths a query reads, and the first segment of each, read together in one pass over an
/// artifact.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Reads {
    pub(crate) paths: Vec<Path>,
    /// The distinct first segments, in the order first met.
    firsts: Vec<&'static str>,
    /// Per path, the index of its first segment in `firsts`.
    first_of: Vec<usize>,
}

impl Reads {
    /// The index of `path`, added when new.
    pub(crate) fn add(&mut self, path: Path) -> usize {
        if let Some(i) = self.paths.iter().position(|p| *p == path) {
            return i;
        }
        let first = path.segments.first().copied().unwrap_or_default();
        let fi = match self.firsts.iter().position(|f| *f == first) {
            Some(i) => i,
            None => {
                self.firsts.push(first);
                self.firsts.len() - 1
            }
        };
        self.first_of.push(fi);
        self.paths.push(path);
        self.paths.len() - 1
    }

    /// Whether nothing but `id` is read (no pass over the JSON text is needed).
    fn only_id(&self) -> bool {
        self.paths.iter().all(Path::is_id)
    }

    /// Reads every path of an artifact into `vals` (cleared first); `raws` is scratch space.
    /// Neither allocates once they have grown to the number of paths.
    pub(crate) fn artifact<'a>(
        &self,
        a: Artifact<'a>,
        raws: &mut Vec<Option<&'a str>>,
        vals: &mut Vec<Val<'a>>,
    ) {
        raws.clear();
        raws.resize(self.firsts.len(), None);
        if !self.only_id() {
            let firsts = &self.firsts;
            for_each_member(a.json_text(), |name, raw| {
                if let Some(i) = firsts.iter().position(|f| *f == name)
                    && let Some(slot) = raws.get_mut(i)
                    && slot.is_none()
                {
                    *slot = Some(raw);
                }
            });
        }
        vals.clear();
        for (path, fi) in self.paths.iter().zip(&self.first_of) {
            if path.is_id() {
                vals.push(Val::Str(Cow::Borrowed(a.id())));
                continue;
            }
            let top = raws.get(*fi).copied().flatten();
            vals.push(descend(top, path));
        }
    }

    /// Reads every path of a session into `vals` (cleared first). `status` and
    /// `restoreJobType` are the session's modeled values (rule S5: absent is `draft`,
    /// `standard`).
    pub(crate) fn session<'a>(&self, s: &'a Session, vals: &mut Vec<Val<'a>>) {
        vals.clear();
        for path in &self.paths {
            let v = match (path.segments.as_slice(), path.ty) {
                (["id"], _) => Val::Str(Cow::Borrowed(s.id())),
                (["status"], Ty::Enum(e)) => enum_val(e, Cow::Borrowed(s.status().as_str())),
                (["restoreJobType"], Ty::Enum(e)) => {
                    enum_val(e, Cow::Borrowed(s.restore_job_type().as_str()))
                }
                (segments, _) => {
                    let top = segments
                        .first()
                        .and_then(|first| s.member(first))
                        .map(RawValue::get);
                    descend(top, path)
                }
            };
            vals.push(v);
        }
    }
}

/// Follows the path's segments after the first into `top`, the first segment's raw value.
fn descend<'a>(top: Option<&'a str>, path: &Path) -> Val<'a> {
    let mut raw = top;
    for seg in path.segments.iter().skip(1) {
        raw = raw.and_then(|text| member(text, seg));
    }
    typed(raw, path.ty)
}

/// Whether a value of this type is one after the enum's sentinel (rule O7, Q9).
pub(crate) fn is_late(e: EnumType, rank: u32) -> bool {
    rank > e.sentinel() || rank == UNKNOWN_RANK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_read_without_a_tree() {
        let text = r#"{"id":"a","restorePoint":{"id":"r\u0031"},"n":[1,{"x":2}],"s":"x"}"#;
        let mut seen = Vec::new();
        for_each_member(text, |n, raw| seen.push((n.to_owned(), raw)));
        assert_eq!(seen.len(), 4);
        assert_eq!(member(text, "s"), Some("\"x\""));
        assert_eq!(member(text, "absent"), None);
        let rp = member(text, "restorePoint").unwrap();
        assert_eq!(string(member(rp, "id").unwrap()).unwrap(), "r1");
        assert_eq!(typed(Some("12"), Ty::Int32), Val::Num(12.0));
        assert_eq!(typed(Some("-3"), Ty::Int32), Val::Num(-3.0));
        assert_eq!(typed(Some("\"12\""), Ty::Int32), Val::Null);
        assert_eq!(typed(Some("\"x\""), Ty::DateTime), Val::Null);
        assert!(matches!(
            typed(Some("\"2026-01-01T00:00:00+01:00\""), Ty::DateTime),
            Val::Time(_)
        ));
        let mut calls = 0;
        for_each_member("[1,2]", |_, _| calls += 1);
        assert_eq!(calls, 0, "not an object");
    }

    #[test]
    fn order_puts_null_first_and_enums_by_value() {
        let e = |s: &'static str| enum_val(EnumType::SessionStatus, Cow::Borrowed(s));
        assert_eq!(order(&Val::Null, &e("draft")), Ordering::Less);
        assert_eq!(order(&Val::Bool(false), &Val::Bool(true)), Ordering::Less);
        assert_eq!(
            order(&Val::Bool(true), &Val::Bool(false)),
            Ordering::Greater
        );
        assert_eq!(order(&e("completed"), &e("active")), Ordering::Greater);
        assert_eq!(order(&e("failed"), &e("zzz")), Ordering::Less);
        assert_eq!(order(&e("zzz"), &e("yyy")), Ordering::Greater);
        assert!(is_late(EnumType::SessionStatus, 6));
        assert!(!is_late(EnumType::SessionStatus, 5));
    }
}
