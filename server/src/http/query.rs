//! The query string: decoding it, refusing what is not served, and the page a list asks for.
//!
//! OData (4.01 Part 1 §6.1, Part 2 §5) asks a service to fail a request carrying a system
//! query option it does not support rather than ignore it: every `$`-option the endpoint does
//! not serve, and every `$`-option given twice, is a 400 with Graph's error shape that names
//! it. Names of system query options are matched without regard to case; Microsoft's SDKs send
//! them percent-encoded (`%24top`), which is decoded first. Options without `$` are the
//! service's own (OData's custom query options) and are left alone.

use crate::graph::{Page, Reply};

/// The default page of a list (`$top` absent).
pub const PAGE_DEFAULT: usize = 100;
/// The largest `$top`; more is a 400.
pub const PAGE_MAX: usize = 1000;

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

/// The page asked for by `$top` (0 to [`PAGE_MAX`], default [`PAGE_DEFAULT`]) and `$skiptoken`
/// (the server's own: how many items the pages before held). `$top=0` is an empty page with no
/// next link.
pub fn page(options: &Options, served: &[&str], links: &Links) -> Result<Page, Reply> {
    let system = options.system(served)?;
    let get = |name: &str| system.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    let top = match get("$top") {
        None => PAGE_DEFAULT,
        Some(t) => match t.trim().parse::<u64>() {
            Ok(n) if n <= PAGE_MAX as u64 => n as usize,
            _ => {
                return Err(bad_query(&format!(
                    "Invalid value '{t}' for $top: a whole number from 0 to {PAGE_MAX}."
                )));
            }
        },
    };
    let skip = match get("$skiptoken") {
        None => 0,
        Some(t) => t
            .parse::<u64>()
            .ok()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .ok_or_else(|| bad_query(&format!("Invalid $skiptoken '{t}'.")))?,
    };
    let mut next_link = format!("{}?$skiptoken={}", links.base, skip.saturating_add(top));
    if get("$top").is_some() {
        next_link.push_str(&format!("&$top={top}"));
    }
    Ok(Page {
        skip,
        top,
        context: links.context.clone(),
        next_link,
    })
}

/// The links written around a collection: its own address and its `@odata.context`.
#[derive(Debug, Clone)]
pub struct Links {
    /// The collection's address, without a query (`http://host/v1.0/solutions/…`).
    pub base: String,
    /// `@odata.context`.
    pub context: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links {
            base: "http://h/v1.0/x".into(),
            context: "c".into(),
        }
    }

    #[test]
    fn options_decode_and_refuse_repeats_and_unknown_ones() {
        let o = Options::parse(Some("%24top=2&a=b+c&%24SKIPTOKEN=4&&x")).unwrap();
        assert_eq!(
            o.system(&["$top", "$skiptoken"]).unwrap(),
            vec![("$top".to_owned(), "2"), ("$skiptoken".to_owned(), "4")]
        );
        let p = page(&o, &["$top", "$skiptoken"], &links()).unwrap();
        assert_eq!((p.skip, p.top), (4, 2));
        assert_eq!(p.next_link, "http://h/v1.0/x?$skiptoken=6&$top=2");
        let twice = Options::parse(Some("$top=1&$Top=2")).unwrap();
        assert_eq!(twice.system(&["$top"]).unwrap_err().status, 400);
        let unknown = Options::parse(Some("$foo=1")).unwrap();
        let e = unknown.system(&["$top"]).unwrap_err();
        assert!(e.body.unwrap().contains("'$foo' is not supported"));
        assert!(Options::parse(Some("$top=%FF")).is_err());
        assert!(Options::parse(Some("$top=%4")).is_err());
    }

    #[test]
    fn top_is_bounded_and_skip_saturates() {
        let at = |q: &str| {
            page(
                &Options::parse(Some(q)).unwrap(),
                &["$top", "$skiptoken"],
                &links(),
            )
        };
        assert_eq!(at("$top=0").unwrap().top, 0);
        assert_eq!(at("$top=1000").unwrap().top, 1000);
        assert_eq!(at("$top=1001").unwrap_err().status, 400);
        assert_eq!(at("$top=-1").unwrap_err().status, 400);
        assert_eq!(at("$top=x").unwrap_err().status, 400);
        let far = at("$skiptoken=18446744073709551615").unwrap();
        assert_eq!(far.skip, usize::MAX);
        assert!(far.next_link.contains("$skiptoken=18446744073709551615"));
        assert_eq!(at("$skiptoken=-3").unwrap_err().status, 400);
        assert_eq!(at("").unwrap().top, PAGE_DEFAULT);
    }
}
