//! Evaluation (rules Q2–Q8): pages of artifacts read in place, the bounded heap `$orderby`
//! keeps, and the rendering of sessions and artifacts with `$select` and `$expand`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::engine::options::Options;
use crate::engine::render::session_member;
use crate::json::write_str;
use crate::lifecycle as read;
use crate::lifecycle::query::token::{self, Token};
use crate::lifecycle::query::value::{Val, for_each_member, order};
use crate::lifecycle::query::{Page, Query, Target};
use crate::model::artifact::Artifact;
use crate::model::kinds::ArtifactCollection;
use crate::model::session::{Member, Session};

/// The total order of a list (rules Q5, Q6): the `$orderby` values, each ascending or
/// descending (`null` first ascending, last descending), then the id ascending.
pub(crate) fn rank(desc: &[bool], a: (&[Val<'_>], &str), b: (&[Val<'_>], &str)) -> Ordering {
    for ((x, y), d) in a.0.iter().zip(b.0).zip(desc) {
        let o = order(x, y);
        let o = if *d { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.1.as_bytes().cmp(b.1.as_bytes())
}

/// An item with its sort values, kept in the bounded heap of an ordered list (the largest on
/// top, to be pushed out by a smaller one).
#[derive(Debug)]
pub(crate) struct Ranked<'q, 'a, I> {
    pub(crate) desc: &'q [bool],
    pub(crate) key: Vec<Val<'a>>,
    pub(crate) id: Cow<'a, str>,
    pub(crate) item: I,
}

impl<'a, I> Ranked<'_, 'a, I> {
    pub(crate) fn at(&self) -> (&[Val<'a>], &str) {
        (&self.key, &self.id)
    }
}

impl<I> PartialEq for Ranked<'_, '_, I> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<I> Eq for Ranked<'_, '_, I> {}

impl<I> PartialOrd for Ranked<'_, '_, I> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<I> Ord for Ranked<'_, '_, I> {
    fn cmp(&self, other: &Self) -> Ordering {
        rank(self.desc, self.at(), other.at())
    }
}

/// The `$skiptoken` after a page (rule Q6): none on the last page or when the page size is 0;
/// an *after* token naming the page's last item for a sorted list; a position token
/// (`offset`, the number of items before the next page) for artifacts in collection order, or
/// when the *after* token would be too long.
pub(crate) fn next_token(
    q: &Query,
    more: bool,
    last: Option<(&[Val<'_>], &str)>,
    offset: u64,
) -> Option<String> {
    if !more || q.top == 0 {
        return None;
    }
    let sorted = !(matches!(q.target, Target::Artifacts(_)) && q.keys.is_empty());
    if sorted && let Some((key, id)) = last {
        let after = Token::After(
            key.iter().cloned().map(Val::into_owned).collect(),
            id.to_owned(),
        );
        if let Some(text) = token::encode(&after, q.fingerprint) {
            return Some(text);
        }
    }
    token::encode(&Token::Offset(offset), q.fingerprint)
}

/// A listed page of artifacts, not rendered yet.
struct Listed<'a> {
    items: Vec<Artifact<'a>>,
    matched: u64,
    next: Option<String>,
}

/// The artifacts of `collection` the query selects, in order (rules Q4–Q6). Allocates the
/// page, the paths' values of one artifact at a time and, for `$orderby`, at most
/// `$skip + $top` heap entries: nothing in proportion to the artifacts scanned (rule Q8).
fn list<'a>(session: &'a Session, collection: ArtifactCollection, q: &Query) -> Listed<'a> {
    let c = session.collection(collection.family());
    if c.which() != collection {
        return Listed {
            items: Vec::new(),
            matched: 0,
            next: None,
        };
    }
    let skip = q.skip_now();
    let top = q.top;
    let skip_usize = usize::try_from(skip).unwrap_or(usize::MAX);
    if q.keys.is_empty() {
        // Collection order.
        if q.filter.is_none() {
            let items: Vec<Artifact<'a>> = c.iter_from(skip_usize).take(top).collect();
            let total = c.len() as u64;
            let more = skip.saturating_add(top as u64) < total;
            let next = next_token(q, more, None, skip.saturating_add(items.len() as u64));
            return Listed {
                items,
                matched: total,
                next,
            };
        }
        let mut raws = Vec::new();
        let mut vals = Vec::new();
        let mut items = Vec::with_capacity(top.min(c.len()));
        let mut matched: u64 = 0;
        let end = skip.saturating_add(top as u64);
        for a in c.iter() {
            q.reads.artifact(a, &mut raws, &mut vals);
            if !q.filter.as_ref().is_some_and(|f| f.passes(&vals)) {
                continue;
            }
            if matched >= skip && items.len() < top {
                items.push(a);
            }
            matched += 1;
            if matched > end && !q.count {
                break;
            }
        }
        let more = matched > end;
        let next = next_token(q, more, None, skip.saturating_add(items.len() as u64));
        return Listed {
            items,
            matched,
            next,
        };
    }
    // Sorted: a bounded heap of the smallest `skip + top` candidates after the token's item.
    let cap = usize::try_from(skip.saturating_add(top as u64)).unwrap_or(usize::MAX);
    let bound = q.bound();
    // Grown as candidates come: a large `$skip` costs only what the collection holds.
    let mut heap: BinaryHeap<Ranked<'_, 'a, Artifact<'a>>> =
        BinaryHeap::with_capacity(cap.min(c.len()).min(1024));
    let mut raws = Vec::new();
    let mut vals: Vec<Val<'a>> = Vec::new();
    // The sort values of the artifact at hand; swapped into the heap when it enters, taking
    // the values of the entry it pushes out, so that a full heap allocates nothing more.
    let mut scratch: Vec<Val<'a>> = Vec::with_capacity(q.keys.len());
    let (mut matched, mut before, mut candidates) = (0u64, 0u64, 0u64);
    for a in c.iter() {
        q.reads.artifact(a, &mut raws, &mut vals);
        if q.filter.as_ref().is_some_and(|f| !f.passes(&vals)) {
            continue;
        }
        matched += 1;
        scratch.clear();
        scratch.extend(
            q.keys
                .iter()
                .map(|i| vals.get(*i).cloned().unwrap_or(Val::Null)),
        );
        if let Some(b) = bound
            && rank(&q.desc, (&scratch, a.id()), b).is_le()
        {
            before += 1;
            continue;
        }
        candidates += 1;
        if cap == 0 {
            continue;
        }
        if heap.len() < cap {
            heap.push(Ranked {
                desc: &q.desc,
                key: std::mem::replace(&mut scratch, Vec::with_capacity(q.keys.len())),
                id: Cow::Borrowed(a.id()),
                item: a,
            });
        } else if let Some(mut largest) = heap.peek_mut()
            && rank(&q.desc, (&scratch, a.id()), largest.at()).is_lt()
        {
            std::mem::swap(&mut largest.key, &mut scratch);
            largest.id = Cow::Borrowed(a.id());
            largest.item = a;
        }
    }
    let sorted = heap.into_sorted_vec();
    let page: Vec<&Ranked<'_, 'a, Artifact<'a>>> =
        sorted.iter().skip(skip_usize).take(top).collect();
    let more = candidates > skip.saturating_add(top as u64);
    let offset = before
        .saturating_add(skip)
        .saturating_add(page.len() as u64);
    let next = next_token(q, more, page.last().map(|r| r.at()), offset);
    Listed {
        items: page.iter().map(|r| r.item).collect(),
        matched,
        next,
    }
}

/// Rule Q2: whether a member is written under `$select`: a selected property, an annotation of
/// the entity (`@…`) or of a selected property (`name@…`).
fn selected(name: &str, select: &[&str]) -> bool {
    name.starts_with('@')
        || select.contains(&name)
        || name
            .split_once('@')
            .is_some_and(|(prop, _)| select.contains(&prop))
}

fn write_artifact(out: &mut String, a: Artifact<'_>, select: Option<&[&str]>) {
    let Some(select) = select else {
        out.push_str(a.json_text());
        return;
    };
    out.push('{');
    let mut first = true;
    for_each_member(a.json_text(), |name, raw| {
        if selected(name, select) {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
            write_str(out, name);
            out.push(':');
            out.push_str(raw);
        }
    });
    out.push('}');
}

/// The page `artifacts` answers.
pub(crate) fn artifact_page(session: &Session, collection: ArtifactCollection, q: &Query) -> Page {
    let listed = list(session, collection, q);
    let mut items =
        String::with_capacity(listed.items.iter().map(|a| a.json_text().len() + 1).sum());
    for (i, a) in listed.items.iter().enumerate() {
        if i > 0 {
            items.push(',');
        }
        write_artifact(&mut items, *a, q.select.as_deref());
    }
    Page {
        items,
        len: listed.items.len(),
        count: q.count.then_some(listed.matched),
        next: listed.next,
    }
}

/// Rules Q2, Q3, O7: a session with `$select` and `$expand` applied.
pub(crate) fn render_session(session: &Session, q: &Query, options: &Options) -> String {
    if !matches!(q.target, Target::Session(_) | Target::Sessions(_)) {
        return read::render_session(session, options);
    }
    let expansions: Vec<_> = q
        .expand
        .iter()
        .filter(|e| e.collection.kind() == session.kind())
        .collect();
    if q.select.is_none() && expansions.is_empty() {
        return read::render_session(session, options);
    }
    let mut out = String::with_capacity(512);
    out.push('{');
    // The names the expansions write: a stored member spelled like one is left out, so that
    // no name repeats.
    let written = |name: &str| {
        expansions.iter().any(|e| {
            name.strip_prefix(e.collection.name())
                .is_some_and(|rest| rest.is_empty() || rest == "@odata.count")
        })
    };
    for (name, member) in session.members() {
        let Member::Raw(raw) = member else {
            continue;
        };
        if written(name) || q.select.as_deref().is_some_and(|s| !selected(name, s)) {
            continue;
        }
        // Rule O7, as `render_session` writes it.
        session_member(&mut out, session, name, raw, options);
    }
    for e in expansions {
        let listed = list(session, e.collection, &e.query);
        if e.query.count {
            write_str(&mut out, &format!("{}@odata.count", e.collection.name()));
            out.push_str(&format!(":{},", listed.matched));
        }
        write_str(&mut out, e.collection.name());
        out.push_str(":[");
        for (i, a) in listed.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_artifact(&mut out, *a, e.query.select.as_deref());
        }
        out.push_str("],");
    }
    if out.ends_with(',') {
        out.pop();
    }
    out.push('}');
    out
}
