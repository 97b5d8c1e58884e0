//! Small JSON tools the other modules share: order-preserving object reading and the strict
//! one-pass reader for the state (rules S3, S4), and writers whose output does not depend on
//! serde_json's `preserve_order` feature (rule D1). Request bodies are read by
//! [`crate::borrowed`] (rule E2).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// One member of an object read in document order, its value kept as raw JSON text; both
/// borrow from the text (the name unless it is spelled with escapes).
pub(crate) type RawMember<'a> = (Cow<'a, str>, &'a RawValue);

/// Reads a JSON object's members in document order, values unparsed. `Ok(None)` when the text is
/// valid JSON but not an object. A duplicate member name is an error.
pub(crate) fn read_object(text: &str) -> Result<Option<Vec<RawMember<'_>>>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let members = de.deserialize_any(ObjectVisitor)?;
    de.end()?;
    Ok(members)
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Option<Vec<RawMember<'de>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = Names::default();
        let mut out = Vec::new();
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            seen.insert(key.clone())?;
            out.push((key, value));
        }
        Ok(Some(out))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A position in a JSON text, for reading an object or array one value at a time: each value
/// is parsed once, in place, and its byte range is known (serde_json alone gives one or the
/// other).
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left after the current position.
    pub(crate) fn remaining(&self) -> usize {
        self.text.len() - self.pos
    }

    /// The text from `start` to the current position.
    pub(crate) fn since(&self, start: usize) -> &'a str {
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// Skips white space and returns the next byte, if any.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.pos) {
            self.pos += 1;
        }
        bytes.get(self.pos).copied()
    }

    /// Consumes `byte` if it comes next (after white space).
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Consumes `byte`, or says what was expected.
    pub(crate) fn expect(&mut self, byte: u8, what: &str) -> Result<(), String> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// Parses one value at the current position and moves past it.
    pub(crate) fn value<T: serde::Deserialize<'a>>(&mut self) -> Result<T, String> {
        let rest = self.text.get(self.pos..).unwrap_or_default();
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        match stream.next() {
            Some(Ok(v)) => {
                self.pos += stream.byte_offset();
                Ok(v)
            }
            Some(Err(e)) => Err(format!("{e}, in the value at byte {}", self.pos)),
            None => Err(self.error("a value")),
        }
    }

    /// "expected WHAT at byte N".
    pub(crate) fn error(&self, what: &str) -> String {
        format!("expected {what} at byte {}", self.pos)
    }
}

/// Whether `text` has white space (or control bytes) anywhere, so [`minify_str`] may change it.
/// Checked 32 bytes at a time without early exits, which the compiler vectorises.
pub(crate) fn needs_minify(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut chunks = bytes.chunks_exact(32);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |found, &b| found | (b <= b' ')) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b <= b' ')
}

/// The same JSON text without insignificant white space; tokens are kept byte for byte.
pub(crate) fn minify_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            out.push(c);
        }
    }
    out
}

/// [`minify_str`] for a raw value.
pub(crate) fn minify(raw: Box<RawValue>) -> Box<RawValue> {
    if !needs_minify(raw.get()) {
        return raw;
    }
    // Removing white space between the tokens of valid JSON leaves valid JSON.
    RawValue::from_string(minify_str(raw.get())).unwrap_or(raw)
}

/// A JSON string, borrowed from the text when it has no escapes.
#[derive(Debug)]
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The member names of one object, to refuse a repeated one. The first names are kept inline
/// and compared one by one, so the small objects of a state cost no allocation; the names after
/// them go in an ordered set, so an object of n members costs O(n log n), not O(n²).
#[derive(Default)]
pub(crate) struct Names<'de> {
    count: usize,
    inline: [&'de str; 12],
    more: BTreeSet<Cow<'de, str>>,
}

impl<'de> Names<'de> {
    /// Records a name; an error if the object already had it.
    pub(crate) fn insert<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        let inline = self.inline.get(..self.count).unwrap_or_default();
        if inline.contains(&name.as_ref()) || self.more.contains(&name) {
            return Err(E::custom(format_args!("duplicate member name {name:?}")));
        }
        match (name, self.inline.get_mut(self.count)) {
            (Cow::Borrowed(n), Some(free)) => {
                *free = n;
                self.count += 1;
            }
            (name, _) => {
                self.more.insert(name);
            }
        }
        Ok(())
    }
}

/// Checks one JSON value the way the rules read it: no object repeats a member name and every
/// string is Unicode (no lone surrogate escape). serde_json's raw capture checks neither, so a
/// state that passed it could still be read two ways (rule S3).
pub(crate) fn check_strict(text: &str) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    Strict.deserialize(&mut de)?;
    de.end()
}

/// The seed behind [`check_strict`], for values nested in something else being read.
#[derive(Clone, Copy)]
pub(crate) struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Strict)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut names = Names::default();
        while let Some(Str(name)) = map.next_key::<Str<'de>>()? {
            names.insert(name)?;
            map.next_value_seed(Strict)?;
        }
        Ok(())
    }
}

/// Whether any byte of `s` must be escaped in a JSON string. Checks 16 bytes at a time without
/// branching inside a block, which the compiler turns into vector compares; a string of 16
/// bytes or more ends with a block that overlaps the one before (no byte-by-byte tail).
fn needs_escape(s: &[u8]) -> bool {
    let special = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    let block = |b: &[u8]| b.iter().fold(false, |m, &b| m | special(b));
    if s.len() < 16 {
        return s.iter().any(|&b| special(b));
    }
    s.chunks_exact(16).any(block) || s.get(s.len() - 16..).is_some_and(block)
}

/// Appends `s` as a JSON string literal.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    // Most strings (ids, names) need no escape: one pass to check, one copy.
    if !needs_escape(s.as_bytes()) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        match escape {
            Some(e) => out.push_str(e),
            None => {
                out.push_str("\\u00");
                for nibble in [b >> 4, b & 0xf] {
                    out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                }
            }
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// Appends `v` as compact JSON with object members sorted by name, so the bytes are the same
/// whether or not serde_json's `preserve_order` feature is on in the user's build.
pub(crate) fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_value(out, v);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::String(s) => write_str(out, s),
        // Scalars have one rendering whatever the features.
        other => out.push_str(&other.to_string()),
    }
}

/// Wraps text this crate wrote itself as a raw JSON value.
///
/// Validation cannot fail on text produced by the writers above; should it ever, the value
/// degrades to `null` rather than panicking.
pub(crate) fn to_raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_escape_agrees_with_a_byte_by_byte_check() {
        let naive = |s: &[u8]| s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        // Every byte value at every place of strings of 1 to 39 bytes, the rest plain or
        // next to the boundary values.
        for len in 1..40 {
            for at in 0..len {
                for b in 0..=255u8 {
                    for fill in [b'a', 0x1F, 0x20, 0x21, 0x5B, 0x5D, 0x7F, 0x80, 0xFF] {
                        let mut s = vec![fill; len];
                        s[at] = b;
                        assert_eq!(needs_escape(&s), naive(&s), "{s:?}");
                    }
                }
            }
        }
        assert!(!needs_escape(b""));
    }

    #[test]
    fn strict_check_refuses_duplicates_past_the_inline_names() {
        let members: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let ok = format!("{{\"a\":{{{}}}}}", members.join(","));
        assert!(check_strict(&ok).is_ok());
        for dup in ["\"k30\":0", "\"k3\":0", "\"\\u006b30\":0"] {
            let text = format!("{{\"a\":{{{},{dup}}}}}", members.join(","));
            let err = check_strict(&text).unwrap_err().to_string();
            assert!(err.contains("duplicate member name"), "{dup}: {err}");
        }
    }

    #[test]
    fn strict_check_refuses_nested_duplicates_and_lone_surrogates() {
        assert!(check_strict(r#"{"a":[{"b":1,"c":{"d":2}}],"e":"\u00e9\ud83d\ude00"}"#).is_ok());
        assert!(check_strict(r#"{"a":[{"b":1,"b":2}]}"#).is_err());
        assert!(check_strict(r#"{"a":{"x":1,"\u0078":2}}"#).is_err());
        assert!(check_strict(r#"["\ud83e"]"#).is_err());
        assert!(check_strict(r#"{"\udc00":1}"#).is_err());
    }

    #[test]
    fn minify_keeps_strings() {
        let raw = RawValue::from_string("{ \"a b\" : [ 1 , \"x \\\" y\" ] }\n".into()).unwrap();
        assert_eq!(minify(raw).get(), r#"{"a b":[1,"x \" y"]}"#);
    }

    #[test]
    fn writers_escape_and_sort() {
        let mut s = String::new();
        write_value(
            &mut s,
            &serde_json::json!({"b": "q\"\u{1}\n", "a": [1, null, 2.5]}),
        );
        assert_eq!(s, r#"{"a":[1,null,2.5],"b":"q\"\u0001\n"}"#);
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["b"], "q\"\u{1}\n");
    }

    #[test]
    fn write_str_escapes_as_serde_json_does() {
        // Every ASCII byte, alone and between plain text, and a few multi-byte characters.
        let mut texts: Vec<String> = (0u8..0x80)
            .flat_map(|b| {
                let c = char::from(b);
                [c.to_string(), format!("ab{c}cd{c}")]
            })
            .collect();
        texts.push("\u{e9}\u{1F600}\u{7f}\u{80}".to_owned());
        texts.push("\r\t\u{8}\u{c}\n\u{0}\u{1f}\"\\".repeat(3));
        for text in &texts {
            let mut out = String::new();
            write_str(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn read_object_keeps_order_and_refuses_duplicates() {
        let m = read_object(r#"{"z":1,"a":{"k":2}}"#).unwrap().unwrap();
        assert_eq!(m[0].0, "z");
        assert_eq!(m[1].1.get(), r#"{"k":2}"#);
        assert!(read_object(r#"{"z":1,"z":1}"#).is_err());
        assert!(read_object("[1]").unwrap().is_none());
    }
}
