//! OData query options on the read endpoints (rules Q1–Q9 of `docs/SEMANTICS.md`): `$select`,
//! `$expand`, `$filter`, `$orderby`, `$top`, `$skip`, `$count` and the service's own
//! `$skiptoken`, parsed into a [`Query`] and evaluated, purely, on the sessions and artifacts a
//! server holds.
//!
//! Graph documents no query option for the restore-session list and get endpoints, so the
//! rules come from OData 4.01 (Part 1 Protocol §11.2, Part 2 URL Conventions §5.1) and Graph's
//! general conventions, with the decisions `docs/SEMANTICS.md` records. Anything else is
//! refused with a [`QueryError`] (400 `BadRequest`), never ignored.
//!
//! # Calling it
//!
//! 1. Percent-decode the query string into `(name, value)` pairs, in order (`+` is a space),
//!    and parse them for the resource the request addresses with [`Query::parse`]. An error's
//!    [`QueryError::body`] is the answer (the server adds `innerError`).
//! 2. Evaluate:
//!    - a list of sessions — [`SessionLister`]: [`offer`](SessionLister::offer) every session
//!      of the list, in any order, one at a time (each may be locked only while it is offered;
//!      nothing of it is kept but the rendering of the few that can still be on the page), then
//!      [`finish`](SessionLister::finish);
//!    - one session — [`render_one`];
//!    - one artifact collection of a session — [`artifacts`].
//! 3. Write the answer. For a single session: `@odata.context` and the members of
//!    [`render_one`]'s object. For a list, [`Page::body`] writes, in this order,
//!    `@odata.context`, `@odata.count` (when [`Page::count`] is `Some`, as Graph writes it
//!    before `value`), `value` (the [`Page::items`]) and `@odata.nextLink` when the caller
//!    passes one. The next link is the request's URL with every query option kept and
//!    `$skiptoken` (in any spelling) replaced by [`Page::next`]; [`next_link`] builds it. No
//!    next link when [`Page::next`] is `None` (the last page, and every `$top=0` page).
//!
//! Pass the same [`Options`] to parsing and evaluation: `Prefer: include-unknown-enum-members`
//! decides which enum literals a filter may name and how `eq 'unknownFutureValue'` reads (rule
//! Q9, fixed when the query is parsed), and how `status` and `restoreJobType` are written (rule
//! O7, when rendering).
//!
//! ```
//! use restore_delta::lifecycle::query::{Query, SessionLister, Target};
//! use restore_delta::{Options, Session};
//! let sessions: Vec<Session> = ["draft", "active", "active"]
//!     .iter()
//!     .enumerate()
//!     .map(|(i, status)| {
//!         let text = format!(r#"{{"id":"s{i}","status":"{status}","driveRestoreArtifacts":[]}}"#);
//!         Session::from_json(text.as_bytes()).unwrap()
//!     })
//!     .collect();
//! let pairs = [
//!     ("$filter".to_owned(), "status eq 'active'".to_owned()),
//!     ("$select".to_owned(), "id".to_owned()),
//!     ("$top".to_owned(), "1".to_owned()),
//!     ("$count".to_owned(), "true".to_owned()),
//! ];
//! let options = Options::default();
//! let query = Query::parse(Target::Sessions(None), &pairs, &options).unwrap();
//! let mut lister = SessionLister::new(&query, &options);
//! for s in &sessions {
//!     lister.offer(s);
//! }
//! let page = lister.finish();
//! assert_eq!(page.items, r#"{"id":"s1"}"#);
//! assert_eq!(page.count, Some(2));
//! let token = page.next.clone().expect("one more follows");
//! assert_eq!(
//!     page.body("https://h/v1.0/$metadata#restoreSessions", Some("https://h/next")),
//!     r#"{"@odata.context":"https://h/v1.0/$metadata#restoreSessions","@odata.count":2,"value":[{"id":"s1"}],"@odata.nextLink":"https://h/next"}"#
//! );
//!
//! // The next page: the same options, `$skiptoken` replaced.
//! let mut next = pairs.to_vec();
//! next.push(("$skiptoken".to_owned(), token));
//! let query = Query::parse(Target::Sessions(None), &next, &options).unwrap();
//! let mut lister = SessionLister::new(&query, &options);
//! for s in &sessions {
//!     lister.offer(s);
//! }
//! let page = lister.finish();
//! assert_eq!((page.items.as_str(), page.next), (r#"{"id":"s2"}"#, None));
//!
//! // Refused, never ignored.
//! let e = Query::parse(Target::Sessions(None), &[("$search".into(), "x".into())], &options)
//!     .unwrap_err();
//! assert_eq!((e.status, e.code()), (400, "BadRequest"));
//! ```

mod eval;
mod filter;
mod parse;
mod schema;
mod token;
mod value;

use std::collections::BinaryHeap;

use crate::engine::options::Options;
use crate::json::write_str;
use crate::lifecycle::query::eval::{Ranked, rank};
use crate::lifecycle::query::filter::Filter;
use crate::lifecycle::query::schema::Entity;
use crate::lifecycle::query::token::Token;
use crate::lifecycle::query::value::{Reads, Val};
use crate::model::kinds::{ArtifactCollection, SessionKind};
use crate::model::session::Session;
use crate::rule::RuleId;

/// The largest `$top` (rule Q6), at the top level and inside `$expand`; more is a 400.
pub const MAX_TOP: usize = 1000;

/// The page size when `$top` is absent (rule Q6), and the number of artifacts an expanded
/// collection holds when its own `$top` is absent (rule Q3).
pub const DEFAULT_TOP: usize = 100;

/// The longest value of one system query option, in bytes (rule Q8).
pub const MAX_OPTION_BYTES: usize = 4096;

/// How deep a `$filter` may nest: each `(`, `not` and function call is a level (rule Q8).
pub const MAX_FILTER_DEPTH: usize = 16;

/// The most comparisons, function calls and Boolean literals one `$filter` may hold (rule Q8).
pub const MAX_FILTER_TERMS: usize = 64;

/// The most properties one `$orderby` may name (rule Q8).
pub const MAX_ORDERBY: usize = 8;

/// The most artifacts the expanded collections of one page may hold: the page's size times the
/// `$top` of the expansions that apply to one session (rule Q8).
pub const MAX_EXPANDED: usize = 10_000;

/// The longest `$skiptoken` this service issues or reads, in bytes (rule Q6). A keyset token
/// that would be longer (sort values of several kilobytes) is replaced by a position token.
pub const MAX_SKIPTOKEN_BYTES: usize = 2048;

/// What a request addresses, which decides the options it takes and the properties they name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// A list of sessions: `restoreSessions` (`None`, the base type `restoreSessionBase`) or a
    /// kind's set (`oneDriveForBusinessRestoreSessions`, …).
    Sessions(Option<SessionKind>),
    /// One session, addressed through `restoreSessions/{id}` (`None`) or a kind's set.
    Session(Option<SessionKind>),
    /// One artifact collection of a session (`…/{id}/driveRestoreArtifacts`, …).
    Artifacts(ArtifactCollection),
}

impl Target {
    fn entity(self) -> Entity {
        match self {
            Target::Sessions(kind) | Target::Session(kind) => Entity::Session(kind),
            Target::Artifacts(c) => Entity::Artifact(c),
        }
    }

    fn is_collection(self) -> bool {
        !matches!(self, Target::Session(_))
    }

    /// The target's part of a token's fingerprint.
    fn tag(self) -> String {
        match self {
            Target::Sessions(None) => "sessions".to_owned(),
            Target::Sessions(Some(k)) => format!("sessions {k}"),
            Target::Session(k) => format!("session {k:?}"),
            Target::Artifacts(c) => format!("artifacts {c}"),
        }
    }
}

/// A query string refused (rules Q1–Q9): 400 `BadRequest`, with a message that names the
/// option and, where there is one, the property and the position in the expression.
///
/// ```
/// use restore_delta::lifecycle::query::{Query, Target};
/// use restore_delta::{Options, RuleId};
/// let pairs = [("$filter".to_owned(), "stauts eq 'active'".to_owned())];
/// let e = Query::parse(Target::Sessions(None), &pairs, &Options::default()).unwrap_err();
/// assert_eq!((e.status, e.rule, e.option.as_str()), (400, RuleId::Q4, "$filter"));
/// assert!(e.message.contains("Could not find a property named 'stauts'"), "{}", e.message);
/// assert!(e.body().starts_with(r#"{"error":{"code":"BadRequest","message":"Invalid filter clause: "#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} BadRequest: {message}")]
#[non_exhaustive]
pub struct QueryError {
    /// The HTTP status: 400.
    pub status: u16,
    /// A message for people, naming the option and what is wrong with it.
    pub message: String,
    /// The rule that refused the query.
    pub rule: RuleId,
    /// The option at fault as the request spelled it (`$filter`, `$Top`, `top`, …).
    pub option: String,
}

impl QueryError {
    fn new(rule: RuleId, option: &str, message: impl Into<String>) -> QueryError {
        QueryError {
            status: 400,
            message: message.into(),
            rule,
            option: option.to_owned(),
        }
    }

    /// The error code: `BadRequest`, the code Graph answers refused query options with.
    #[must_use]
    pub fn code(&self) -> &'static str {
        "BadRequest"
    }

    /// The body: `{"error":{"code":"BadRequest","message":…}}` (the server adds `innerError`).
    #[must_use]
    pub fn body(&self) -> String {
        let mut out = String::from("{\"error\":{\"code\":\"BadRequest\",\"message\":");
        write_str(&mut out, &self.message);
        out.push_str("}}");
        out
    }
}

/// A validated query: the options of one request, for one [`Target`].
///
/// Parsing costs time linear in the query's length and memory bounded by it (rule Q8);
/// evaluation never fails.
#[derive(Clone, Debug)]
pub struct Query {
    target: Target,
    /// `None`: every property (no `$select`, or `*`).
    select: Option<Vec<&'static str>>,
    expand: Vec<Expand>,
    filter: Option<Filter>,
    /// The paths `$filter` and `$orderby` read, in `reads`, and per `$orderby` item whether
    /// it is descending.
    keys: Vec<usize>,
    desc: Vec<bool>,
    reads: Reads,
    top: usize,
    skip: u64,
    count: bool,
    token: Option<Token>,
    fingerprint: u64,
}

/// One `$expand` item: the collection and its nested options (a query on its artifacts).
#[derive(Clone, Debug)]
struct Expand {
    collection: ArtifactCollection,
    query: Query,
}

impl Query {
    /// Validates the options of a request for `target`: `pairs` are the query string's names
    /// and values, percent-decoded, in order (options without `$` that name no system option
    /// are the service's custom options and are ignored). `options` gives the request's
    /// `Prefer: include-unknown-enum-members` (rule Q9).
    pub fn parse(
        target: Target,
        pairs: &[(String, String)],
        options: &Options,
    ) -> Result<Query, QueryError> {
        parse::parse(target, pairs, options.include_unknown_enum_members)
    }

    /// What the query was parsed for.
    #[must_use]
    pub fn target(&self) -> Target {
        self.target
    }

    /// The page size: `$top`, else [`DEFAULT_TOP`] (1 for a single session).
    #[must_use]
    pub fn top(&self) -> usize {
        self.top
    }

    /// Whether `$count=true` was asked.
    #[must_use]
    pub fn count(&self) -> bool {
        self.count
    }

    /// The number of items before the page: `$skip`, or the position a position token
    /// carries (a keyset token counts from its item, so 0).
    fn skip_now(&self) -> u64 {
        match &self.token {
            Some(Token::Offset(n)) => *n,
            Some(Token::After(..)) => 0,
            None => self.skip,
        }
    }

    fn bound(&self) -> Option<(&[Val<'static>], &str)> {
        match &self.token {
            Some(Token::After(k, id)) => Some((k.as_slice(), id.as_str())),
            _ => None,
        }
    }
}

/// One page of a list (rules Q6, Q7).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// The items' JSON texts joined by commas (no brackets): what goes inside `"value":[…]`.
    pub items: String,
    /// How many items `items` holds.
    pub len: usize,
    /// `@odata.count`: the number of items the filter lets through, whatever `$top`, `$skip`
    /// and `$skiptoken` say; `Some` only when `$count=true`.
    pub count: Option<u64>,
    /// The `$skiptoken` of the next page when more items follow and the page size is not 0.
    pub next: Option<String>,
}

impl Page {
    /// The `value` array: `[` items `]`.
    #[must_use]
    pub fn value(&self) -> String {
        format!("[{}]", self.items)
    }

    /// The response body: `@odata.context`, `@odata.count` (when asked), `value`, and
    /// `@odata.nextLink` when `next_link` is given (give one exactly when [`Page::next`] is
    /// `Some`, built with [`next_link`]).
    #[must_use]
    pub fn body(&self, context: &str, next_link: Option<&str>) -> String {
        let mut out = String::with_capacity(self.items.len() + context.len() + 96);
        out.push_str("{\"@odata.context\":");
        write_str(&mut out, context);
        if let Some(n) = self.count {
            out.push_str(&format!(",\"@odata.count\":{n}"));
        }
        out.push_str(",\"value\":[");
        out.push_str(&self.items);
        out.push(']');
        if let Some(link) = next_link {
            out.push_str(",\"@odata.nextLink\":");
            write_str(&mut out, link);
        }
        out.push('}');
        out
    }

    fn empty(count: bool) -> Page {
        Page {
            items: String::new(),
            len: 0,
            count: count.then_some(0),
            next: None,
        }
    }
}

/// The next link: `base` (the request URL without its query), then every pair of the request
/// but `$skiptoken` (in any spelling), in order, then `$skiptoken=<token>`. Names and values
/// are percent-encoded but for URL-safe characters and those OData expressions read better
/// with (`$ ( ) , / : ' @ ! * ;`), so a client reads back exactly the pairs it sent.
///
/// ```
/// use restore_delta::lifecycle::query::next_link;
/// let pairs = [("$filter".to_owned(), "status eq 'active'".to_owned()),
///              ("$skipToken".to_owned(), "old".to_owned()), ("$top".to_owned(), "2".to_owned())];
/// assert_eq!(
///     next_link("https://h/v1.0/solutions/backupRestore/restoreSessions", &pairs, "abc"),
///     "https://h/v1.0/solutions/backupRestore/restoreSessions?$filter=status%20eq%20'active'&$top=2&$skiptoken=abc"
/// );
/// ```
#[must_use]
pub fn next_link(base: &str, pairs: &[(String, String)], token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 64);
    out.push_str(base);
    let mut sep = '?';
    for (name, value) in pairs {
        if name.eq_ignore_ascii_case("$skiptoken") {
            continue;
        }
        out.push(sep);
        sep = '&';
        encode_component(&mut out, name);
        out.push('=');
        encode_component(&mut out, value);
    }
    out.push(sep);
    out.push_str("$skiptoken=");
    encode_component(&mut out, token);
    out
}

fn encode_component(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~$(),/:'@!*;".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Rule Q2, Q3: one session as `GET …/{id}` answers it with `$select` and `$expand`: the
/// members [`render_session`](crate::lifecycle::render_session) writes (only the selected ones
/// and `@`-annotations under `$select`), then each expanded collection of the session's kind,
/// in `$expand` order, preceded by its `@odata.count` when the expansion asks `$count=true`.
/// With neither option, exactly `render_session`'s bytes. A query parsed for an artifact
/// collection applies nothing.
///
/// ```
/// use restore_delta::lifecycle::query::{Query, Target, render_one};
/// use restore_delta::{Options, Session};
/// let s = Session::from_json(br#"{"id":"s1","status":"draft","driveRestoreArtifacts":[{"id":"a","status":"added"},{"id":"b"}]}"#).unwrap();
/// let pairs = [("$select".to_owned(), "id".to_owned()),
///              ("$expand".to_owned(), "driveRestoreArtifacts($select=id;$top=1;$count=true)".to_owned())];
/// let o = Options::default();
/// let q = Query::parse(Target::Session(Some(s.kind())), &pairs, &o).unwrap();
/// assert_eq!(
///     render_one(&s, &q, &o),
///     r#"{"id":"s1","driveRestoreArtifacts@odata.count":2,"driveRestoreArtifacts":[{"id":"a"}]}"#
/// );
/// ```
#[must_use]
pub fn render_one(session: &Session, query: &Query, options: &Options) -> String {
    eval::render_session(session, query, options)
}

/// Rules Q2–Q7: the page of `collection` the query asks for, its artifacts as stored (only the
/// selected members under `$select`). The query must have been parsed for
/// [`Target::Artifacts`] of this collection; for another (or for a collection of another kind
/// than the session's) the page is empty. With no options, the items are those of
/// [`render_artifacts`](crate::lifecycle::render_artifacts)`(session, collection, 0,`
/// [`DEFAULT_TOP`]`)`, byte for byte.
///
/// Copies no part of the session: a filtered page reads each artifact in place, and an ordered
/// one keeps at most `$skip + $top` candidates (rule Q8).
///
/// ```
/// use restore_delta::lifecycle::query::{Query, Target, artifacts};
/// use restore_delta::{ArtifactCollection, Options, Session};
/// let s = Session::from_json(br#"{"id":"s1","driveRestoreArtifacts":[
///     {"id":"a","restorePoint":{"id":"r2"}},{"id":"b","restorePoint":{"id":"r1"}}]}"#).unwrap();
/// let c = ArtifactCollection::DriveRestoreArtifacts;
/// let pairs = [("$orderby".to_owned(), "restorePoint/id".to_owned()),
///              ("$select".to_owned(), "id".to_owned())];
/// let o = Options::default();
/// let q = Query::parse(Target::Artifacts(c), &pairs, &o).unwrap();
/// let page = artifacts(&s, c, &q, &o);
/// assert_eq!(page.items, r#"{"id":"b"},{"id":"a"}"#);
/// ```
#[must_use]
pub fn artifacts(
    session: &Session,
    collection: ArtifactCollection,
    query: &Query,
    options: &Options,
) -> Page {
    // Artifacts are written as stored (rule O7 rewrites none of their enums today); the options
    // are taken for symmetry with the other read functions.
    let _ = options;
    if query.target != Target::Artifacts(collection) {
        return Page::empty(query.count);
    }
    eval::artifact_page(session, collection, query)
}

/// Rules Q2–Q7 for a list of sessions, fed one session at a time.
///
/// Every session of the list is [offered](SessionLister::offer), in any order (the page does
/// not depend on it). The lister keeps, of each, only what the page may need: the sort values,
/// the id and the rendering of at most `$skip + $top` sessions (`$top` alone on the pages a
/// next link gives), so a server can lock each session only while it is offered. Without
/// `$orderby` sessions are listed in id order (byte order), which is also the tie-break of
/// every order.
#[derive(Debug)]
pub struct SessionLister<'q> {
    query: &'q Query,
    options: &'q Options,
    heap: BinaryHeap<Ranked<'q, 'static, String>>,
    cap: usize,
    matched: u64,
    before: u64,
    candidates: u64,
}

impl<'q> SessionLister<'q> {
    /// A lister for a query parsed for [`Target::Sessions`] (any other target lists nothing).
    #[must_use]
    pub fn new(query: &'q Query, options: &'q Options) -> Self {
        let cap = usize::try_from(query.skip_now().saturating_add(query.top as u64))
            .unwrap_or(usize::MAX);
        SessionLister {
            query,
            options,
            heap: BinaryHeap::new(),
            cap,
            matched: 0,
            before: 0,
            candidates: 0,
        }
    }

    /// Offers one session of the list. A session of another kind than a kind's list is not
    /// part of it and is passed over.
    pub fn offer(&mut self, session: &Session) {
        let q = self.query;
        let Target::Sessions(kind) = q.target else {
            return;
        };
        if kind.is_some_and(|k| k != session.kind()) {
            return;
        }
        let mut vals: Vec<Val<'_>> = Vec::with_capacity(q.reads.paths.len());
        q.reads.session(session, &mut vals);
        if q.filter.as_ref().is_some_and(|f| !f.passes(&vals)) {
            return;
        }
        self.matched += 1;
        let key: Vec<Val<'_>> = q
            .keys
            .iter()
            .map(|i| vals.get(*i).cloned().unwrap_or(Val::Null))
            .collect();
        if let Some(bound) = q.bound()
            && rank(&q.desc, (&key, session.id()), bound).is_le()
        {
            self.before += 1;
            return;
        }
        self.candidates += 1;
        if self.cap == 0 {
            return;
        }
        let full = self.heap.len() >= self.cap;
        if full
            && self
                .heap
                .peek()
                .is_some_and(|top| rank(&q.desc, (&key, session.id()), top.at()).is_ge())
        {
            return;
        }
        let entry = Ranked {
            desc: &q.desc,
            key: key.into_iter().map(Val::into_owned).collect(),
            id: std::borrow::Cow::Owned(session.id().to_owned()),
            item: eval::render_session(session, q, self.options),
        };
        if full {
            self.heap.pop();
        }
        self.heap.push(entry);
    }

    /// The page.
    #[must_use]
    pub fn finish(self) -> Page {
        let q = self.query;
        if !matches!(q.target, Target::Sessions(_)) {
            return Page::empty(q.count);
        }
        let skip = q.skip_now();
        let sorted = self.heap.into_sorted_vec();
        let mut items = String::new();
        let mut len = 0;
        let mut last: Option<&Ranked<'_, 'static, String>> = None;
        for entry in sorted
            .iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        {
            if len == q.top {
                break;
            }
            if len > 0 {
                items.push(',');
            }
            items.push_str(&entry.item);
            len += 1;
            last = Some(entry);
        }
        let more = self.candidates > skip.saturating_add(q.top as u64);
        let next = eval::next_token(
            q,
            more,
            last.map(Ranked::at),
            self.before.saturating_add(skip).saturating_add(len as u64),
        );
        Page {
            items,
            len,
            count: q.count.then_some(self.matched),
            next,
        }
    }
}
