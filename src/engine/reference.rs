//! Rule A2: a restore point named by `@odata.id`, an entity-id IRI, resolved to its key.
//!
//! Accepted, with `{key}` the restore point's key:
//!
//! - a bare key: no `/`, `(`, `?` or `#` in it; taken as it is (no percent-decoding);
//! - `restorePoints/{key}`, `restorePoints('{key}')` or `restorePoints({key})`, optionally
//!   under `solutions/backupRestore/`, as a relative reference (with or without a leading `/`)
//!   or under a known service root (`https://graph.microsoft.com/v1.0/`, `…/beta/`, and those of
//!   [`Options::service_roots`](crate::Options::service_roots)). Roots and the segment names
//!   `solutions`, `backupRestore` and `restorePoints` are compared without regard to ASCII case,
//!   as Graph reads its URLs. The key is percent-decoded (it must then be UTF-8; a decoded `/`
//!   is part of the key: the escape is how an IRI carries one); inside quotes, `''` is one `'`.
//!
//! Anything else is no reference (400 `InvalidRestorePoint`): a query or a fragment, another
//! entity set or a longer path, an unknown root or another scheme, an empty key, a bad or
//! non-UTF-8 percent-escape, an unbalanced quote, a `/` in a parenthesized key. Each step is a
//! single pass over the text, so a 1 MiB reference costs linear time.

use std::borrow::Cow;

use crate::engine::options::Options;

/// The key an `@odata.id` value names, or `None` when it names no restore point (rule A2).
pub(crate) fn restore_point_key<'a>(reference: &'a str, options: &Options) -> Option<Cow<'a, str>> {
    if reference.is_empty() {
        return None;
    }
    if !reference.contains(['/', '(', '?', '#']) {
        return Some(Cow::Borrowed(reference));
    }
    if reference.contains(['?', '#']) {
        return None;
    }
    let path = match options
        .known_roots()
        .find_map(|root| strip_prefix_ignore_case(reference, root))
    {
        Some(path) => path,
        None if has_scheme(reference) || reference.starts_with("//") => return None,
        None => reference.strip_prefix('/').unwrap_or(reference),
    };
    let path = strip_prefix_ignore_case(path, "solutions/backupRestore/").unwrap_or(path);
    let rest = strip_prefix_ignore_case(path, "restorePoints")?;
    if let Some(segment) = rest.strip_prefix('/') {
        if segment.contains('/') {
            return None;
        }
        return non_empty(percent_decode(segment)?);
    }
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    if inner.contains('/') {
        return None;
    }
    let decoded = percent_decode(inner)?;
    let key = match decoded.strip_prefix('\'') {
        Some(quoted) => Cow::Owned(unquote(quoted.strip_suffix('\'')?)?),
        None if decoded.contains('\'') => return None,
        None => decoded,
    };
    non_empty(key)
}

fn non_empty(key: Cow<'_, str>) -> Option<Cow<'_, str>> {
    (!key.is_empty()).then_some(key)
}

/// `text` without `prefix`, compared without regard to ASCII case.
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// Whether `text` starts with a URI scheme (`ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") ":"`,
/// RFC 3986 section 3.1) before any `/`.
fn has_scheme(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains('%') {
        return Some(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The content of an OData string literal (the quotes already taken off): `''` is one `'`; a
/// lone `'` ends the literal early, so it is no literal.
fn unquote(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(reference: &str) -> Option<String> {
        let options = Options::default().with_service_root("http://127.0.0.1:8080/v1.0/");
        restore_point_key(reference, &options).map(Cow::into_owned)
    }

    #[test]
    fn forms_that_name_a_restore_point() {
        let rp = Some("rp-1".to_owned());
        for r in [
            "rp-1",
            "restorePoints/rp-1",
            "/restorePoints/rp-1",
            "restorePoints('rp-1')",
            "restorePoints(rp-1)",
            "solutions/backupRestore/restorePoints/rp-1",
            "/solutions/backupRestore/restorePoints('rp-1')",
            "https://graph.microsoft.com/v1.0/solutions/backupRestore/restorePoints/rp-1",
            "https://graph.microsoft.com/beta/solutions/backupRestore/restorePoints('rp-1')",
            "HTTPS://Graph.Microsoft.com/V1.0/Solutions/BackupRestore/RestorePoints/rp-1",
            "https://graph.microsoft.com/v1.0/restorePoints(rp-1)",
            "http://127.0.0.1:8080/v1.0/solutions/backupRestore/restorePoints/rp-1",
            "restorePoints/rp%2D1",
            "restorePoints(%27rp-1%27)",
        ] {
            assert_eq!(key(r), rp, "{r}");
        }
        assert_eq!(key("restorePoints('it''s')").as_deref(), Some("it's"));
        assert_eq!(key("restorePoints/a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(key("restorePoints/%C3%A9").as_deref(), Some("é"));
        // A bare key is taken as it is: no decoding, whatever it spells.
        assert_eq!(key("rp%2D1").as_deref(), Some("rp%2D1"));
        assert_eq!(key("restorePoints").as_deref(), Some("restorePoints"));
    }

    #[test]
    fn anything_else_names_none() {
        for r in [
            "",
            "restorePoints/",
            "restorePoints('')",
            "restorePoints()",
            "restorePoints/rp-1/x",
            "restorePoints/rp-1?x=1",
            "rp-1#frag",
            "restorePoints('rp-1')/x",
            "restorePoints('rp-1",
            "restorePoints('it's')",
            "restorePoints(it's)",
            "restorePoints('a/b')",
            "protectionUnits/rp-1",
            "solutions/backupRestore/protectionPolicies/rp-1",
            "backupRestore/restorePoints/rp-1",
            "https://graph.microsoft.com/v2.0/solutions/backupRestore/restorePoints/rp-1",
            "https://example.com/v1.0/solutions/backupRestore/restorePoints/rp-1",
            "http://graph.microsoft.com/v1.0/restorePoints/rp-1",
            "urn:rp:restorePoints/rp-1",
            "//graph.microsoft.com/v1.0/restorePoints/rp-1",
            "../restorePoints/rp-1",
            "restorePoints/%",
            "restorePoints/%2",
            "restorePoints/%zz",
            "restorePoints/%FF",
            "restorePoints/%C3",
            "rp(1",
        ] {
            assert_eq!(key(r), None, "{r:?}");
        }
    }

    #[test]
    fn a_long_reference_is_read_in_one_pass() {
        let long = format!("restorePoints/{}", "%41".repeat(300_000));
        assert_eq!(key(&long).map(|k| k.len()), Some(300_000));
        let quotes = format!("restorePoints('{}')", "''".repeat(300_000));
        assert_eq!(key(&quotes).map(|k| k.len()), Some(300_000));
    }
}
