//! The query string decoded into (name, value) pairs, for the library's query options
//! (`restore_delta::lifecycle::query`, rules Q1–Q9) on the read endpoints, and refused whole on
//! the endpoints that serve none.
//!
//! OData (4.01 Part 1 §6.1, Part 2 §5) asks a service to fail a request carrying a system
//! query option it does not support rather than ignore it: a `$`-option on an endpoint that
//! serves none, or one given twice, is a 400 with Graph's error shape that names it. Names of
//! system query options are matched without regard to case; Microsoft's SDKs send them
//! percent-encoded (`%24top`), which is decoded first (`+` is a space). Options without `$`
//! are the service's own (OData's custom query options) and are left alone.

use crate::graph::Reply;

/// A query string's options, decoded, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pairs: Vec<(String, String)>,
}

/// A 400 with Graph's shape for a query that cannot be served.
pub fn bad_query(message: &str) -> Reply {
    Reply::error(400, "BadRequest", message)
}

impl Options {
    /// Decodes a raw query string (`a=1&b=%24x`): `+` is a space, `%XX` a byte, and the result
    /// must be UTF-8.
    pub fn parse(raw: Option<&str>) -> Result<Options, Reply> {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or_default().split('&') {
            if part.is_empty() {
                continue;
            }
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let name = decode(name)?;
            let value = decode(value)?;
            pairs.push((name, value));
        }
        Ok(Options { pairs })
    }

    /// The pairs, decoded, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The system query options (`$…`), checked against what the endpoint serves: each at most
    /// once, none it does not serve. Returns them by their canonical (lower-case) name.
    pub fn system(&self, served: &[&str]) -> Result<Vec<(String, &str)>, Reply> {
        let mut seen: Vec<(String, &str)> = Vec::new();
        for (name, value) in &self.pairs {
            if !name.starts_with('$') {
                continue;
            }
            let canonical = name.to_ascii_lowercase();
            if seen.iter().any(|(n, _)| *n == canonical) {
                return Err(bad_query(&format!(
                    "The query option '{name}' is given more than once."
                )));
            }
            if !served.contains(&canonical.as_str()) {
                return Err(bad_query(&format!(
                    "The query option '{name}' is not supported on this resource{}.",
                    if served.is_empty() {
                        String::new()
                    } else {
                        format!(" (it supports {})", served.join(", "))
                    }
                )));
            }
            seen.push((canonical, value.as_str()));
        }
        Ok(seen)
    }
}

/// Percent-decodes one name or value of a query string.
fn decode(text: &str) -> Result<String, Reply> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        bad_query(&format!("The query has a bad percent-escape in '{text}'."))
                    })?;
                out.push(hex);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| bad_query("The query is not UTF-8 once its percent-escapes are decoded."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_decode_and_refuse_repeats_and_unknown_ones() {
        let o = Options::parse(Some("%24top=2&a=b+c&%24SKIPTOKEN=4&&x")).unwrap();
        assert_eq!(o.pairs().len(), 4);
        assert_eq!(o.pairs()[1], ("a".to_owned(), "b c".to_owned()));
        assert_eq!(
            o.system(&["$top", "$skiptoken"]).unwrap(),
            vec![("$top".to_owned(), "2"), ("$skiptoken".to_owned(), "4")]
        );
        let twice = Options::parse(Some("$top=1&$Top=2")).unwrap();
        assert_eq!(twice.system(&["$top"]).unwrap_err().status, 400);
        let unknown = Options::parse(Some("$foo=1")).unwrap();
        let e = unknown.system(&[]).unwrap_err();
        assert!(e.body.unwrap().contains("'$foo' is not supported"));
        assert!(Options::parse(Some("$top=%FF")).is_err());
        assert!(Options::parse(Some("$top=%4")).is_err());
    }
}
