//! Options of one apply: error mode, `return` preference, limits, and the missing-removal policy
//! (rules E1, E2, E7, O1, O5, X3).

/// How a removal of an id that is not in the collection ends (rule X3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MissingRemoval {
    /// The item fails with 409 `Invalid`, as Graph documents.
    #[default]
    Fail,
    /// The item succeeds and changes nothing, as the OData 4.02 draft proposes.
    Succeed,
}

/// Options of one [`apply`](crate::apply).
///
/// The defaults are Graph's: continue on error, full representation, 50 items, 1 MiB, depth 64,
/// and a failing removal of a missing id. [`Options::with_prefer`] reads an HTTP `Prefer` header.
///
/// ```
/// use restore_delta::Options;
/// let o = Options::default().with_prefer("return=minimal, continue-on-error=false");
/// assert!(o.return_minimal && o.atomic);
/// let o = Options::default().with_max_items(1000);
/// assert_eq!(o.max_items, 1000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Options {
    /// All or nothing: if any item fails, nothing is applied and the response is an error
    /// listing every failure (rule O1). Off by default (continue on error).
    pub atomic: bool,
    /// `Prefer: return=minimal`: 204 with no body when every item succeeds (rule O5).
    pub return_minimal: bool,
    /// The most items one request may carry (rule E7). Default 50.
    pub max_items: usize,
    /// The largest body accepted, in bytes (rule E1). Default 1 MiB.
    pub max_bytes: usize,
    /// The deepest nesting of arrays and objects accepted in a body, the outermost object being
    /// depth 1 (rule E2). Default 64.
    pub max_depth: usize,
    /// What a removal of a missing id does (rule X3). Default: fail with 409.
    pub missing_removal: MissingRemoval,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            atomic: false,
            return_minimal: false,
            max_items: 50,
            max_bytes: 1024 * 1024,
            max_depth: 64,
            missing_removal: MissingRemoval::Fail,
        }
    }
}

impl Options {
    /// Sets [`Options::atomic`].
    pub fn with_atomic(mut self, atomic: bool) -> Self {
        self.atomic = atomic;
        self
    }

    /// Sets [`Options::return_minimal`].
    pub fn with_return_minimal(mut self, minimal: bool) -> Self {
        self.return_minimal = minimal;
        self
    }

    /// Sets [`Options::max_items`].
    pub fn with_max_items(mut self, n: usize) -> Self {
        self.max_items = n;
        self
    }

    /// Sets [`Options::max_bytes`].
    pub fn with_max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n;
        self
    }

    /// Sets [`Options::max_depth`].
    pub fn with_max_depth(mut self, n: usize) -> Self {
        self.max_depth = n;
        self
    }

    /// Sets [`Options::missing_removal`].
    pub fn with_missing_removal(mut self, policy: MissingRemoval) -> Self {
        self.missing_removal = policy;
        self
    }

    /// Applies the preferences of an HTTP `Prefer` header value (RFC 7240).
    ///
    /// Understood: `return=minimal` and `return=representation`; `continue-on-error`,
    /// `continue-on-error=true|false` and the OData 4.0 spelling `odata.continue-on-error`.
    /// Names and values are compared without regard to case; values may be quoted; parameters
    /// after `;` are ignored. Preferences not understood are ignored, as RFC 7240 requires; when
    /// one preference is given twice, the later one wins.
    pub fn with_prefer(mut self, header: &str) -> Self {
        for pref in split_outside_quotes(header, ',') {
            let head = split_outside_quotes(pref, ';').next().unwrap_or_default();
            let (name, value) = match head.split_once('=') {
                Some((n, v)) => (n.trim(), Some(unquote(v.trim()))),
                None => (head.trim(), None),
            };
            if name.eq_ignore_ascii_case("return") {
                match value {
                    Some(v) if v.eq_ignore_ascii_case("minimal") => self.return_minimal = true,
                    Some(v) if v.eq_ignore_ascii_case("representation") => {
                        self.return_minimal = false
                    }
                    _ => {}
                }
            } else if name.eq_ignore_ascii_case("continue-on-error")
                || name.eq_ignore_ascii_case("odata.continue-on-error")
            {
                match value {
                    None => self.atomic = false,
                    Some(v) if v.eq_ignore_ascii_case("true") => self.atomic = false,
                    Some(v) if v.eq_ignore_ascii_case("false") => self.atomic = true,
                    _ => {}
                }
            }
        }
        self
    }
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

/// Splits on `sep` where it is not inside a quoted string.
fn split_outside_quotes(text: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        let mut quoted = false;
        let mut escaped = false;
        for (i, c) in s.char_indices() {
            if escaped {
                escaped = false;
            } else if quoted && c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = !quoted;
            } else if c == sep && !quoted {
                rest = s.get(i + c.len_utf8()..);
                return s.get(..i);
            }
        }
        rest = None;
        Some(s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_header() {
        let o = Options::default().with_prefer("return=minimal");
        assert!(o.return_minimal && !o.atomic);
        let o = Options::default().with_prefer("odata.continue-on-error=false");
        assert!(o.atomic);
        let o = Options::default()
            .with_atomic(true)
            .with_prefer("Continue-On-Error");
        assert!(!o.atomic);
        let o = Options::default().with_prefer(r#"foo="a,b;c", RETURN="Minimal"; x=1"#);
        assert!(o.return_minimal);
        let o = Options::default().with_prefer("return=minimal, return=representation");
        assert!(!o.return_minimal);
        let o = Options::default().with_prefer("continue-on-error=maybe, wait=10");
        assert_eq!(o, Options::default());
        assert_eq!(Options::default().with_prefer(""), Options::default());
    }
}
