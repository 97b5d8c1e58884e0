//! `$skiptoken` (rule Q6): the server's own continuation, carried whole in the next link, so
//! that no state is kept between pages.
//!
//! A token is base64url (no padding) of a small JSON object:
//!
//! - `{"v":1,"f":"<fingerprint>","k":[<sort values>],"i":"<id>"}` — *after*: the next page
//!   starts after the item with these `$orderby` values and this id (keyset paging). Used
//!   whenever the order is a sort (any `$orderby`, and every session list, which is in id order).
//! - `{"v":1,"f":"<fingerprint>","o":<n>}` — *offset*: the next page starts after the first `n`
//!   items of the (filtered, ordered) sequence. Used for artifacts in collection order, and as a
//!   fallback when an *after* token would be longer than [`MAX_SKIPTOKEN_BYTES`].
//!
//! The fingerprint (FNV-1a 64 of the target and the raw `$filter`, `$orderby` and `$skip`)
//! binds a token to the query that made it: a token used with another query is refused.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

use crate::json::write_str;
use crate::lifecycle::query::MAX_SKIPTOKEN_BYTES;
use crate::lifecycle::query::schema::{Path, Ty};
use crate::lifecycle::query::value::{Val, enum_val};
use crate::model::time::Timestamp;

/// Where a page starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Token {
    /// After the first `n` items.
    Offset(u64),
    /// After the item with these sort values and this id.
    After(Vec<Val<'static>>, String),
}

/// FNV-1a 64.
pub(crate) fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        // A separator that no option value holds (values are UTF-8 text).
        for b in part
            .bytes()
            .chain(std::iter::once(0xff_u8.wrapping_add(i as u8)))
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The token's text, or `None` when it would be longer than [`MAX_SKIPTOKEN_BYTES`].
pub(crate) fn encode(token: &Token, fingerprint: u64) -> Option<String> {
    let mut json = format!("{{\"v\":1,\"f\":\"{fingerprint:016x}\",");
    match token {
        Token::Offset(n) => {
            let _ = write!(json, "\"o\":{n}}}");
        }
        Token::After(values, id) => {
            json.push_str("\"k\":[");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    json.push(',');
                }
                match v {
                    Val::Null | Val::Present => json.push_str("null"),
                    Val::Bool(b) => json.push_str(if *b { "true" } else { "false" }),
                    Val::Num(n) => json.push_str(&Value::from(*n).to_string()),
                    Val::Str(s) | Val::Enum(_, s) => write_str(&mut json, s),
                    Val::Time(t) => write_str(&mut json, &t.to_string()),
                }
            }
            json.push_str("],\"i\":");
            write_str(&mut json, id);
            json.push('}');
        }
    }
    let text = base64url(json.as_bytes());
    (text.len() <= MAX_SKIPTOKEN_BYTES).then_some(text)
}

/// Reads a token made by [`encode`] for a query with this fingerprint and these `$orderby`
/// paths; the error says why not (for the message).
pub(crate) fn decode(text: &str, fingerprint: u64, keys: &[Path]) -> Result<Token, &'static str> {
    if text.len() > MAX_SKIPTOKEN_BYTES {
        return Err("it is longer than any this service issues");
    }
    let bytes = unbase64url(text).ok_or("it is not base64url")?;
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|_| "it is not a token of this service")?;
    let obj = v.as_object().ok_or("it is not a token of this service")?;
    if obj.get("v") != Some(&Value::from(1)) {
        return Err("it is not a token of this service");
    }
    let f = obj.get("f").and_then(Value::as_str).unwrap_or_default();
    if f != format!("{fingerprint:016x}") {
        return Err(
            "it was issued for another query (a next link's query options must be kept as they are)",
        );
    }
    match (obj.get("o"), obj.get("k"), obj.get("i"), obj.len()) {
        (Some(o), None, None, 3) => o
            .as_u64()
            .map(Token::Offset)
            .ok_or("its position is not a whole number"),
        (None, Some(Value::Array(k)), Some(Value::String(id)), 4) if k.len() == keys.len() => {
            let mut values = Vec::with_capacity(k.len());
            for (v, path) in k.iter().zip(keys) {
                values.push(value_of(v, path.ty).ok_or("its sort values do not fit the query")?);
            }
            Ok(Token::After(values, id.clone()))
        }
        _ => Err("it is not a token of this service"),
    }
}

fn value_of(v: &Value, ty: Ty) -> Option<Val<'static>> {
    Some(match (v, ty) {
        (Value::Null, _) => Val::Null,
        (Value::String(s), Ty::String) => Val::Str(Cow::Owned(s.clone())),
        (Value::Number(n), Ty::Int32) => Val::Num(n.as_f64()?),
        (Value::String(s), Ty::DateTime) => Val::Time(Timestamp::parse_rfc3339(s).ok()?),
        (Value::String(s), Ty::Enum(e)) => enum_val(e, Cow::Owned(s.clone())).into_owned(),
        _ => return None,
    })
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 4648 §5): only unreserved URL characters.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            let six = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(
                ALPHABET.get(six as usize).copied().unwrap_or(b'A'),
            ));
        }
    }
    out
}

/// The bytes of base64url text without padding; `None` for any other text.
pub(crate) fn unbase64url(text: &str) -> Option<Vec<u8>> {
    let sixes: Vec<u32> = text
        .bytes()
        .map(|c| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32))
        .collect::<Option<_>>()?;
    if sixes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(sixes.len() * 3 / 4);
    for chunk in sixes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, s)| n | (s << (18 - 6 * i)));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let len = chunk.len() - 1;
        // Unused low bits must be zero: one text per byte string.
        if bytes.get(len..).unwrap_or_default().iter().any(|b| *b != 0) {
            return None;
        }
        out.extend_from_slice(bytes.get(..len).unwrap_or_default());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_and_is_strict() {
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
            let text = base64url(&bytes);
            assert!(
                text.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            );
            assert_eq!(unbase64url(&text).unwrap(), bytes, "{text}");
        }
        assert_eq!(base64url(b"hi"), "aGk");
        assert!(unbase64url("aGl").is_none(), "non-zero unused bits");
        assert!(unbase64url("a").is_none());
        assert!(unbase64url("a+b=").is_none());
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let e = crate::lifecycle::query::schema::EnumType::SessionStatus;
        let keys = [Path {
            segments: vec!["status"],
            ty: Ty::Enum(e),
        }];
        let t = Token::After(
            vec![enum_val(e, Cow::Borrowed("active")).into_owned()],
            "s\"1".into(),
        );
        let text = encode(&t, 42).unwrap();
        assert_eq!(decode(&text, 42, &keys), Ok(t));
        assert!(decode(&text, 43, &keys).is_err());
        assert!(decode(&text, 42, &[]).is_err());
        let o = encode(&Token::Offset(7), 1).unwrap();
        assert_eq!(decode(&o, 1, &[]), Ok(Token::Offset(7)));
        assert!(decode("!!", 1, &[]).is_err());
        assert!(decode(&base64url(b"[]"), 1, &[]).is_err());
        let long = Token::After(Vec::new(), "x".repeat(MAX_SKIPTOKEN_BYTES));
        assert_eq!(encode(&long, 1), None);
    }
}
