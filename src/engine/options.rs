//! Options of one apply: error mode, `return` preference, limits, the missing-removal policy, the
//! known service roots, and the preferences a `Prefer` header asked for (rules E1, E2, E7, O1,
//! O5, O7, O8, X3, A2).

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
/// a failing removal of a missing id, and Graph's two service roots. [`Options::with_prefer`]
/// reads an HTTP `Prefer` header.
///
/// ```
/// use restore_delta::Options;
/// let o = Options::default().with_prefer("return=minimal, continue-on-error=false");
/// assert!(o.return_minimal && o.atomic);
/// // A preference given twice counts the first time (RFC 7240, section 2).
/// let o = Options::default().with_prefer("return=minimal, return=representation");
/// assert!(o.return_minimal);
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
    /// `Prefer: include-unknown-enum-members`: evolvable-enum values after the
    /// `unknownFutureValue` sentinel are written as stored in the response body; without it they
    /// are written `unknownFutureValue` (rule O7). Off by default.
    pub include_unknown_enum_members: bool,
    /// Service roots an absolute `restorePoint@odata.id` may start with, besides Graph's own
    /// (`https://graph.microsoft.com/v1.0/` and `https://graph.microsoft.com/beta/`): a local
    /// server adds its own (rule A2). Each ends with `/`; [`Options::with_service_root`] adds one.
    pub service_roots: Vec<String>,
    /// The preferences a `Prefer` header asked for, for `Preference-Applied` (rule O8).
    asked: Asked,
}

/// The preferences [`Options::with_prefer`] has seen, each the first time it was given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Asked {
    /// `return=minimal` (`Some(true)`) or `return=representation` (`Some(false)`); `Some(None)`
    /// is not used: a `return` with another value counts as given and asks for nothing.
    pub(crate) ret: Option<Option<bool>>,
    /// `continue-on-error`: the name as the client spelled it (`continue-on-error` or
    /// `odata.continue-on-error`, lower-cased) and the value asked (`true` = continue), `None`
    /// when the value was not understood.
    pub(crate) continue_on_error: Option<(&'static str, Option<bool>)>,
    /// `include-unknown-enum-members`.
    pub(crate) include_unknown_enum_members: bool,
}

/// Graph's service roots: an absolute `@odata.id` starting with one of these, or with one of
/// [`Options::service_roots`], is resolved (rule A2).
pub const GRAPH_SERVICE_ROOTS: [&str; 2] = [
    "https://graph.microsoft.com/v1.0/",
    "https://graph.microsoft.com/beta/",
];

impl Default for Options {
    fn default() -> Self {
        Options {
            atomic: false,
            return_minimal: false,
            max_items: Options::DEFAULT_MAX_ITEMS,
            max_bytes: Options::DEFAULT_MAX_BYTES,
            max_depth: Options::DEFAULT_MAX_DEPTH,
            missing_removal: MissingRemoval::Fail,
            include_unknown_enum_members: false,
            service_roots: Vec::new(),
            asked: Asked::default(),
        }
    }
}

impl Options {
    /// The default of [`Options::max_items`], Graph's limit: 50 items per request (rule E7),
    /// and 50 artifacts per create (rule L2).
    pub const DEFAULT_MAX_ITEMS: usize = 50;

    /// The default of [`Options::max_bytes`]: 1 MiB (rule E1).
    pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;

    /// The default of [`Options::max_depth`]: 64 levels (rule E2).
    pub const DEFAULT_MAX_DEPTH: usize = 64;

    /// Sets [`Options::atomic`].
    #[must_use]
    pub fn with_atomic(mut self, atomic: bool) -> Self {
        self.atomic = atomic;
        self
    }

    /// Sets [`Options::return_minimal`].
    #[must_use]
    pub fn with_return_minimal(mut self, minimal: bool) -> Self {
        self.return_minimal = minimal;
        self
    }

    /// Sets [`Options::max_items`].
    #[must_use]
    pub fn with_max_items(mut self, n: usize) -> Self {
        self.max_items = n;
        self
    }

    /// Sets [`Options::max_bytes`].
    #[must_use]
    pub fn with_max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n;
        self
    }

    /// Sets [`Options::max_depth`].
    #[must_use]
    pub fn with_max_depth(mut self, n: usize) -> Self {
        self.max_depth = n;
        self
    }

    /// Sets [`Options::missing_removal`].
    #[must_use]
    pub fn with_missing_removal(mut self, policy: MissingRemoval) -> Self {
        self.missing_removal = policy;
        self
    }

    /// Adds a service root an absolute `restorePoint@odata.id` may start with (rule A2), such
    /// as a local server's `http://127.0.0.1:8080/v1.0/`; a `/` is appended if it has none.
    ///
    /// ```
    /// use restore_delta::Options;
    /// let o = Options::default().with_service_root("http://127.0.0.1:8080/v1.0");
    /// assert_eq!(o.service_roots, ["http://127.0.0.1:8080/v1.0/"]);
    /// ```
    #[must_use]
    pub fn with_service_root(mut self, root: &str) -> Self {
        let mut root = root.to_owned();
        if !root.ends_with('/') {
            root.push('/');
        }
        self.service_roots.push(root);
        self
    }

    /// Applies the preferences of an HTTP `Prefer` header value (RFC 7240).
    ///
    /// Understood: `return=minimal` and `return=representation` (rule O5); `continue-on-error`,
    /// `continue-on-error=true|false` and the OData 4.0 spelling `odata.continue-on-error`, one
    /// preference under two names (rule O1); `include-unknown-enum-members` (rule O7). Names and
    /// values are compared without regard to case; values may be quoted; parameters after `;`
    /// are ignored. Preferences not understood are ignored, as RFC 7240 requires. A preference
    /// given more than once counts the first time only (RFC 7240, section 2), also across calls
    /// (several `Prefer` header fields are one list), and even when its first value is not
    /// understood. What was asked is remembered for `Preference-Applied` (rule O8).
    #[must_use]
    pub fn with_prefer(mut self, header: &str) -> Self {
        for pref in split_outside_quotes(header, ',') {
            let head = split_outside_quotes(pref, ';').next().unwrap_or_default();
            let (name, value) = match head.split_once('=') {
                Some((n, v)) => (n.trim(), Some(unquote(v.trim()))),
                None => (head.trim(), None),
            };
            if name.eq_ignore_ascii_case("return") {
                if self.asked.ret.is_some() {
                    continue;
                }
                let minimal = match value {
                    Some(v) if v.eq_ignore_ascii_case("minimal") => Some(true),
                    Some(v) if v.eq_ignore_ascii_case("representation") => Some(false),
                    _ => None,
                };
                if let Some(minimal) = minimal {
                    self.return_minimal = minimal;
                }
                self.asked.ret = Some(minimal);
            } else if let Some(spelling) = continue_on_error_name(name) {
                if self.asked.continue_on_error.is_some() {
                    continue;
                }
                let proceed = match value {
                    None => Some(true),
                    Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
                    Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
                    _ => None,
                };
                if let Some(proceed) = proceed {
                    self.atomic = !proceed;
                }
                self.asked.continue_on_error = Some((spelling, proceed));
            } else if name.eq_ignore_ascii_case("include-unknown-enum-members")
                && !self.asked.include_unknown_enum_members
            {
                self.asked.include_unknown_enum_members = true;
                self.include_unknown_enum_members = true;
            }
        }
        self
    }

    /// The preferences a `Prefer` header asked for.
    pub(crate) fn asked(&self) -> &Asked {
        &self.asked
    }

    /// The roots an absolute `@odata.id` may start with (rule A2): Graph's and
    /// [`Options::service_roots`].
    pub(crate) fn known_roots(&self) -> impl Iterator<Item = &str> {
        GRAPH_SERVICE_ROOTS
            .into_iter()
            .chain(self.service_roots.iter().map(String::as_str))
    }
}

/// What a request that got past its envelope (rules E1–E9) answered: the preferences honoured
/// depend on it (rule O8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answered {
    /// 204 without a body (rule O5).
    Minimal,
    /// 200 with the session and one entry per item (rule O3).
    Representation,
    /// Atomic mode refused the request because an item failed (rule O1).
    AtomicRefusal,
}

impl Asked {
    /// The `Preference-Applied` value for a request that ran with `options` and `answered`
    /// this way: each preference asked for and honoured, in a fixed order (`return`,
    /// `continue-on-error`, `include-unknown-enum-members`), as the client named it (rule O8).
    pub(crate) fn applied(&self, options: &Options, answered: Answered) -> Option<String> {
        let mut applied: Vec<&str> = Vec::with_capacity(3);
        match (self.ret, answered) {
            (Some(Some(true)), Answered::Minimal) => applied.push("return=minimal"),
            (Some(Some(false)), Answered::Representation) => applied.push("return=representation"),
            _ => {}
        }
        let spelled;
        if let Some((name, Some(proceed))) = self.continue_on_error
            && proceed != options.atomic
        {
            spelled = if proceed {
                name.to_owned()
            } else {
                format!("{name}=false")
            };
            applied.push(&spelled);
        }
        if self.include_unknown_enum_members && answered == Answered::Representation {
            applied.push("include-unknown-enum-members");
        }
        (!applied.is_empty()).then(|| applied.join(", "))
    }
}

/// `continue-on-error` or `odata.continue-on-error`, as the preference's name is reported back.
fn continue_on_error_name(name: &str) -> Option<&'static str> {
    if name.eq_ignore_ascii_case("continue-on-error") {
        Some("continue-on-error")
    } else if name.eq_ignore_ascii_case("odata.continue-on-error") {
        Some("odata.continue-on-error")
    } else {
        None
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
        assert_eq!(Options::default().with_prefer(""), Options::default());
    }

    #[test]
    fn a_preference_counts_the_first_time_it_is_given() {
        let o = Options::default().with_prefer("return=minimal, return=representation");
        assert!(o.return_minimal);
        let o = Options::default().with_prefer("return=representation, return=minimal");
        assert!(!o.return_minimal);
        // Two names, one preference.
        let o = Options::default().with_prefer("continue-on-error=false, continue-on-error=true");
        assert!(o.atomic);
        let o = Options::default().with_prefer("odata.continue-on-error, continue-on-error=false");
        assert!(!o.atomic);
        assert_eq!(
            o.asked().continue_on_error,
            Some(("odata.continue-on-error", Some(true)))
        );
        // Across header fields too.
        let o = Options::default()
            .with_prefer("continue-on-error=false")
            .with_prefer("continue-on-error=true");
        assert!(o.atomic);
        // A first value not understood still counts: the later one is ignored.
        let o = Options::default()
            .with_prefer("continue-on-error=maybe, continue-on-error=false, wait=10");
        assert!(!o.atomic);
        assert_eq!(
            o.asked().continue_on_error,
            Some(("continue-on-error", None))
        );
        let o = Options::default().with_prefer("return=fast, return=minimal");
        assert!(!o.return_minimal);
        let o = Options::default().with_prefer("Include-Unknown-Enum-Members");
        assert!(o.include_unknown_enum_members && o.asked().include_unknown_enum_members);
    }

    #[test]
    fn service_roots_end_with_a_slash_and_follow_graphs() {
        let o = Options::default().with_service_root("http://localhost:1/v1.0");
        let roots: Vec<&str> = o.known_roots().collect();
        assert_eq!(
            roots,
            [
                "https://graph.microsoft.com/v1.0/",
                "https://graph.microsoft.com/beta/",
                "http://localhost:1/v1.0/"
            ]
        );
    }
}
