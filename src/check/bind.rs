//! Binding the server's free choices (rule C1): the ids of new standard artifacts (A7), the
//! time and the caller's identity are taken from the observed answer, in rounds, and the
//! reference answer is computed with them.
//!
//! The subtle part of the check. A first round decides the request with placeholder ids
//! (strings no server makes) and reads, at each addition that takes a server-made id, the id
//! the server answered with; the next round decides again with the ids bound so far, until they
//! settle (only a removal of an id the collection does not hold can turn around with them, so a
//! second round runs only when there is one). A bound id is checked as rule A7 checks a drawn
//! one; a refused one is a difference and a placeholder takes its place. When one round decided
//! as the request runs, its answer with the bound ids written into its text is the reference's
//! (`bind_text`); otherwise the request is decided once more with the bound choices.

use std::collections::BTreeSet;

use serde_json::json;

use super::attribution::alignment;
use super::diff::token;
use super::types::{Binding, Difference, DifferenceKind, Expected, Profile};
use crate::engine::context::Context;
use crate::engine::ids::IdSource;
use crate::engine::options::{Answered, Options};
use crate::engine::outcome::{Body, ItemOutcome};
use crate::engine::request::Request;
use crate::json::borrowed::Json;
use crate::model::kinds::ArtifactCollection;
use crate::model::session::{Member, Session};
use crate::model::time::Timestamp;
use crate::rule::RuleId;

/// The most binding rounds for a request of `items` items (rule C1), a guard. Round 1 settles
/// the outcomes of the items before the first removal (an addition's outcome does not depend
/// on its id: a refused bound id is replaced by a placeholder), and each further round settles
/// them up to one more removal, decided with the ids settled before it; so `removals + 1`
/// rounds settle every outcome and the next one finds the bound ids the same. (A request that
/// removes the ids the server gives its own additions, one after the other, needs one round
/// per such removal: a chain.)
fn max_rounds(items: usize) -> usize {
    items.saturating_add(2)
}

/// Whether the binding rounds are over: the bound ids settled, no removal could turn around
/// with them, or the guard (`limit` rounds) is reached.
fn rounds_over(settled: bool, may_turn: bool, rounds: usize, limit: usize) -> bool {
    settled || !may_turn || rounds >= limit
}

/// Whether the first round's answer, with the bound ids written in, is the reference's: one
/// round, no state after to compute, a 200, no atomic refusal, no exhausted id source, and no
/// text in the request spelled like a placeholder (`bind_text` rewrites every string spelled
/// `"\u0001unbound-N"`, so a client's own such string, echoed, would be rewritten too). (When it
/// is not, the request is decided again: the same answer, at the cost of a second decision.)
fn one_decision_is_enough(
    rounds: usize,
    with_state: bool,
    status: u16,
    atomic_refusal: bool,
    bound: &[String],
    placeholder_text: bool,
) -> bool {
    rounds == 1
        && !placeholder_text
        && !with_state
        && status == 200
        && !atomic_refusal
        && !bound.iter().any(|b| b == EXHAUSTED)
}

/// The clock when the answer stamps no time: the epoch.
pub(super) fn default_time() -> Timestamp {
    Timestamp::EPOCH
}

/// Ids no server makes (they hold a control character), one per draw.
pub(super) struct Placeholders(usize);

impl Placeholders {
    /// Placeholders from the first (`\u0001unbound-1`).
    pub(super) fn new() -> Placeholders {
        Placeholders(0)
    }
}

/// The JSON text of a placeholder after its opening quote (`\u0001unbound-N"`): `N` and the
/// length of that text, closing quote included.
pub(super) fn placeholder_number(text: &[u8]) -> Option<(usize, usize)> {
    const ESCAPE: &[u8] = b"\\u0001unbound-";
    let tail = text.strip_prefix(ESCAPE)?;
    let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || tail.get(digits) != Some(&b'"') {
        return None;
    }
    let n = std::str::from_utf8(tail.get(..digits)?)
        .ok()?
        .parse()
        .ok()?;
    Some((n, ESCAPE.len() + digits + 1))
}

impl IdSource for Placeholders {
    fn next_id(&mut self) -> String {
        self.0 += 1;
        placeholder(self.0)
    }
}

fn placeholder(n: usize) -> String {
    format!("\u{1}unbound-{n}")
}

/// A bound slot for an addition the server answered with 500: its id source gave nothing fresh.
const EXHAUSTED: &str = "\u{1}exhausted";

/// The bound ids in order, then placeholders; an exhausted slot yields empty ids until the
/// engine gives up on that addition (rule A7's bound).
struct Replay {
    ids: std::vec::IntoIter<String>,
    extra: Placeholders,
    empty_left: usize,
}

impl IdSource for Replay {
    fn next_id(&mut self) -> String {
        if self.empty_left > 0 {
            self.empty_left -= 1;
            return String::new();
        }
        match self.ids.next() {
            Some(id) if id == EXHAUSTED => {
                self.empty_left = crate::MAX_DRAWS_PER_ITEM - 1;
                String::new()
            }
            Some(id) => id,
            None => self.extra.next_id(),
        }
    }
}

/// Binds the server's choices from the observed answer and computes the reference answer with
/// them; returns the pointers where it stamps the time. `placeholder_text`: whether the
/// request or the session holds text spelled like a placeholder ([`holds_placeholder_text`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn reference(
    before: &Session,
    request: &Request<'_>,
    placeholder_text: bool,
    options: &Options,
    body: Option<&Json<'_>>,
    state_after: Option<&Json<'_>>,
    with_state: bool,
    differences: &mut Vec<Difference>,
) -> (Expected, Binding, Timestamp) {
    // Rounds show where the server is free: the first with placeholder ids, the next with the
    // ids bound so far, until the additions that take a server-made id stay the same. Only a
    // removal of an id the collection does not hold can turn around with the bound ids (an id
    // the request itself names), so a second round runs only when there is one.
    // Every item's outcome shows in a full body of a request that continues on errors.
    let shape_options = options
        .clone()
        .with_return_minimal(false)
        .with_atomic(false);
    let edited = request.edited_collection(before.kind());
    // The caller's identity, as the answer shows it: written only when the session changed (O6).
    // Written as the answer spells it (members in its order), so that an answer spelled as
    // the reference spells it is text-equal to the reference's (`diff::same_text`).
    let observed_actor_json = body
        .and_then(|b| b.get("lastModifiedBy"))
        .or_else(|| state_after.and_then(|s| s.get("lastModifiedBy")))
        .filter(|a| matches!(a, Json::Object(_)));
    let actor_raw = observed_actor_json.map(|a| {
        let mut text = String::new();
        super::diff::write_in_order(&mut text, a);
        text
    });
    // The time: the earliest instant the answer stamps where a server stamps the request time
    // (rules A7, O6): a new artifact's `createdDateTime`, and `lastModifiedDateTime` when it
    // moved. (Which entries are new the rounds tell; an instant elsewhere is compared anyway.)
    let now = observed_time(before, body, state_after, edited);
    let clock = now.unwrap_or_else(default_time);
    let mut bound: Vec<String> = Vec::new();
    let mut found: Vec<Difference> = Vec::new();
    let mut rounds = 0;
    let first = loop {
        rounds += 1;
        let replay = Replay {
            ids: bound.clone().into_iter(),
            extra: Placeholders(0),
            empty_left: 0,
        };
        let mut ctx = Context::new(clock, replay);
        if let Some(a) = &actor_raw {
            ctx.actor = Some(crate::json::to_raw(a.clone()));
        }
        let first =
            crate::engine::pipeline::answer_uncommitted(before, request, &shape_options, &mut ctx);
        #[cfg(test)]
        decided::count();
        found.clear();
        let delta = (first.response.status == 200)
            .then(|| edited.map(ArtifactCollection::delta_name))
            .flatten();
        let next = bind_ids(
            before,
            edited,
            &first.outcomes,
            delta,
            body,
            state_after,
            &mut found,
        );
        let may_turn = first.outcomes.iter().any(|o| {
            matches!(o, ItemOutcome::Removed { existed: false, .. })
                || matches!(o, ItemOutcome::Failed(f) if f.rule == RuleId::X3)
        });
        let settled = next == bound;
        bound = next;
        if rounds_over(settled, may_turn, rounds, max_rounds(first.outcomes.len())) {
            break first;
        }
    };
    differences.append(&mut found);
    let changed = first.outcomes.iter().any(|o| {
        matches!(
            o,
            ItemOutcome::Added { .. } | ItemOutcome::Removed { existed: true, .. }
        )
    });
    let actor = observed_actor_json.filter(|_| changed).map(Json::to_value);
    let actor_raw = actor_raw.filter(|_| changed);
    let any_failed = first
        .outcomes
        .iter()
        .any(|o| matches!(o, ItemOutcome::Failed(_)));
    // One round that decided as the request runs: its answer, with the bound ids and clock
    // written in, is the reference's (no second decision).
    let same_run = one_decision_is_enough(
        rounds,
        with_state,
        first.response.status,
        options.atomic && any_failed,
        &bound,
        placeholder_text,
    );
    if same_run {
        let minimal = options.return_minimal && !any_failed;
        let answered = if minimal {
            Answered::Minimal
        } else {
            Answered::Representation
        };
        let text = first
            .response
            .body
            .map(Body::into_string)
            .unwrap_or_default();
        let (text, outcomes) = bind_text(&text, first.outcomes, &bound);
        let expected = Expected {
            status: if minimal { 204 } else { 200 },
            body: (!minimal).then(|| Body::new(text)),
            state: None,
            outcomes,
            preference_applied: options.asked().applied(options, answered),
            refusal: None,
        };
        let binding = Binding {
            ids: bound
                .into_iter()
                .filter(|id| !id.starts_with('\u{1}'))
                .collect(),
            now,
            actor,
            ..Binding::default()
        };
        return (expected, binding, clock);
    }
    // Run 2: the bound choices.
    let replay = Replay {
        ids: bound.clone().into_iter(),
        extra: Placeholders(1_000_000),
        empty_left: 0,
    };
    let mut ctx = Context::new(clock, replay);
    if let Some(a) = actor_raw {
        ctx.actor = Some(crate::json::to_raw(a));
    }
    #[cfg(test)]
    decided::count();
    let (answer, state) = if with_state {
        let mut session = before.clone();
        let answer = crate::engine::pipeline::apply_request_in_place(
            &mut session,
            request,
            options,
            &mut ctx,
        );
        (answer, Some(session.to_json()))
    } else {
        (
            crate::engine::pipeline::answer_uncommitted(before, request, options, &mut ctx),
            None,
        )
    };
    let expected = Expected {
        status: answer.response.status,
        body: answer.response.body,
        state,
        outcomes: answer.outcomes,
        preference_applied: answer.response.preference_applied,
        refusal: answer.error.map(|e| e.rule),
    };
    let binding = Binding {
        ids: bound
            .into_iter()
            .filter(|id| !id.starts_with('\u{1}'))
            .collect(),
        now,
        actor,
        ..Binding::default()
    };
    (expected, binding, clock)
}

/// Whether the request holds the escape `\u0001` (a raw U+0001 is not JSON), or a member of
/// the stored session does, in its name or its value: then a string not the server's, echoed
/// in the answer, could be spelled like a placeholder, and the text is not bound by
/// `bind_text`. Reads the request and the session's own members, not its artifacts (an answer
/// echoes no stored artifact).
pub(super) fn holds_placeholder_text(request: &[u8], before: &Session) -> bool {
    contains(request, b"\\u0001") || session_spells(before, "\u{1}", b"\\u0001")
}

/// Whether a member of the stored session spells a text the answer would echo: its name, held
/// decoded and written escaped as needed, holds `decoded`; or its value, held and echoed as
/// the state spells it, holds `raw`.
pub(super) fn session_spells(before: &Session, decoded: &str, raw: &[u8]) -> bool {
    before.members().iter().any(|(name, m)| {
        name.contains(decoded)
            || matches!(m, Member::Raw(value) if contains(value.get().as_bytes(), raw))
    })
}

/// Whether `needle` occurs in `haystack` (an empty needle occurs everywhere).
pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// A first round's body and outcomes with the bound ids in place of its placeholders, in one
/// pass over the text (a placeholder's JSON spelling is the only `\u0001` a body holds when
/// the request holds none: [`holds_placeholder_text`]).
pub(super) fn bind_text(
    text: &str,
    outcomes: Vec<ItemOutcome>,
    bound: &[String],
) -> (String, Vec<ItemOutcome>) {
    let mut out = String::with_capacity(text.len() + bound.len() * 40);
    // `"\u0001unbound-N"`: the N-th placeholder drawn, the N-th bound id. A placeholder is
    // found by its backslash (few bodies hold one), after a quote; it holds no other.
    let mut copied = 0;
    for (at, _) in text.match_indices('\\') {
        let opens = at
            .checked_sub(1)
            .is_some_and(|q| text.as_bytes().get(q) == Some(&b'"'));
        let Some((n, len)) = text
            .as_bytes()
            .get(at..)
            .filter(|_| opens)
            .and_then(placeholder_number)
        else {
            continue;
        };
        out.push_str(text.get(copied..at - 1).unwrap_or_default());
        match n.checked_sub(1).and_then(|k| bound.get(k)) {
            Some(id) => crate::json::write_str(&mut out, id),
            None => crate::json::write_str(&mut out, &placeholder(n)),
        }
        copied = at + len;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    let mut k = 0;
    let outcomes = outcomes
        .into_iter()
        .map(|o| match o {
            ItemOutcome::Added {
                rule: RuleId::A7,
                id,
            } => {
                k += 1;
                let id = bound.get(k - 1).cloned().unwrap_or(id);
                ItemOutcome::Added {
                    id,
                    rule: RuleId::A7,
                }
            }
            other => other,
        })
        .collect();
    (out, outcomes)
}

/// The earliest instant the observed answer stamps where a server stamps the request time:
/// the entries' `createdDateTime` (rule A7), and `lastModifiedDateTime` when it is not the one
/// the session had (rule O6).
fn observed_time(
    before: &Session,
    body: Option<&Json<'_>>,
    state_after: Option<&Json<'_>>,
    edited: Option<ArtifactCollection>,
) -> Option<Timestamp> {
    let old: Option<String> = before
        .member("lastModifiedDateTime")
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
    let modified = body
        .or(state_after)
        .and_then(|at| at.get("lastModifiedDateTime"))
        .and_then(Json::as_str)
        .filter(|t| Some(*t) != old.as_deref());
    let created = match (body, edited) {
        (Some(b), Some(c)) => b
            .get(c.delta_name())
            .and_then(Json::as_array)
            .unwrap_or_default(),
        _ => &[],
    }
    .iter()
    .filter_map(|e| e.get("createdDateTime").and_then(Json::as_str));
    modified
        .into_iter()
        .chain(created)
        .filter_map(|t| Timestamp::parse_rfc3339(t).ok())
        .min_by_key(|t| (t.unix_seconds(), t.subsec_nanos()))
}

/// The ids a round's additions bind: the observed entry of each addition that takes a
/// server-made id (rule A7), else the new artifacts of the observed state, in order; checked as
/// rule A7 checks a drawn id.
fn bind_ids(
    before: &Session,
    edited: Option<ArtifactCollection>,
    outcomes: &[ItemOutcome],
    delta: Option<&str>,
    body: Option<&Json<'_>>,
    state_after: Option<&Json<'_>>,
    differences: &mut Vec<Difference>,
) -> Vec<String> {
    let collection = delta.and(edited);
    let observed_entries = match (delta, body) {
        (Some(d), Some(b)) => b.get(d).and_then(Json::as_array),
        _ => None,
    };
    let align = alignment(outcomes, observed_entries, Profile::Docs);
    let appended: Vec<&str> = match (state_after, collection) {
        (Some(s), Some(c)) => {
            let removed: BTreeSet<&str> = outcomes
                .iter()
                .filter_map(|o| match o {
                    ItemOutcome::Removed { id, existed: true } => Some(id.as_str()),
                    _ => None,
                })
                .collect();
            s.get(c.name())
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.get("id").and_then(Json::as_str))
                // New: not stored before, or stored and removed by the request (an id removed is
                // fresh again, rule A7).
                .filter(|id| before.artifact(c, id).is_none() || removed.contains(id))
                .collect()
        }
        _ => Vec::new(),
    };
    let mut ids = Vec::new();
    let mut from_state = appended.into_iter();
    for (i, o) in outcomes.iter().enumerate() {
        if takes_server_id(o) {
            let entry = align
                .get(i)
                .copied()
                .flatten()
                .and_then(|j| observed_entries.and_then(|e| e.get(j)));
            // Where the reference adds, the only failure the rules allow is a 500 from an id
            // source that gave nothing fresh (rule A7): an observed failure there is bound as
            // an exhausted source, and then compared with that 500.
            let exhausted =
                entry.is_some_and(|e| e.get("@Core.DataModificationException").is_some());
            if exhausted {
                ids.push((i, Some(EXHAUSTED.to_owned())));
                continue;
            }
            let seen = entry.and_then(|e| e.get("id")).and_then(Json::as_str);
            let id = match seen {
                Some(id) => Some(id.to_owned()),
                None if observed_entries.is_none() => from_state.next().map(str::to_owned),
                None => None,
            };
            ids.push((i, id));
        }
    }
    validate_ids(
        before,
        collection,
        outcomes,
        &ids,
        &align,
        delta,
        differences,
    )
}

/// Checks each bound id as rule A7 checks a drawn one, against the collection as the earlier
/// items left it; a refused or missing one is a difference and is replaced by a placeholder.
fn validate_ids(
    before: &Session,
    collection: Option<ArtifactCollection>,
    outcomes: &[ItemOutcome],
    ids: &[(usize, Option<String>)],
    align: &[Option<usize>],
    delta: Option<&str>,
    differences: &mut Vec<Difference>,
) -> Vec<String> {
    let mut removed: BTreeSet<&str> = BTreeSet::new();
    let mut added: BTreeSet<&str> = BTreeSet::new();
    let mut bound = Vec::with_capacity(ids.len());
    let mut next = ids.iter().peekable();
    for (i, o) in outcomes.iter().enumerate() {
        match o {
            ItemOutcome::Removed { id, existed: true } => {
                added.remove(id.as_str());
                removed.insert(id);
            }
            // (No granular addition (rule G4) meets a drawn id: a request edits one collection,
            // rule E5, and granular collections add by key only.)
            o if takes_server_id(o) => {
                let Some((_, id)) = next.next_if(|(at, _)| *at == i) else {
                    continue;
                };
                let stored = |id: &str| {
                    collection.is_some_and(|c| before.artifact(c, id).is_some())
                        && !removed.contains(id)
                };
                let refused = match id {
                    None => None,
                    Some(id) if id == EXHAUSTED => {
                        bound.push(id.clone());
                        continue;
                    }
                    Some(id) if id.is_empty() || stored(id) || added.contains(id.as_str()) => {
                        Some(id.clone())
                    }
                    Some(_) => None,
                };
                match (id, refused) {
                    (Some(id), None) => {
                        added.insert(id);
                        bound.push(id.clone());
                    }
                    (_, refused) => {
                        if let (Some(id), Some(d)) = (refused, delta) {
                            let j = align.get(i).copied().flatten().unwrap_or(i);
                            differences.push(Difference {
                                pointer: format!("/body/{}/{j}/id", token(d)),
                                kind: DifferenceKind::Id,
                                expected: Some(json!("a fresh, non-empty id")),
                                observed: Some(json!(id)),
                                rule: Some(RuleId::A7),
                            });
                        }
                        bound.push(placeholder(bound.len() + 500_000));
                    }
                }
            }
            _ => {}
        }
    }
    bound
}

/// An addition that draws server-made ids: added with one (rule A7), or failed for want of one.
fn takes_server_id(o: &ItemOutcome) -> bool {
    match o {
        ItemOutcome::Added { rule, .. } => *rule == RuleId::A7,
        ItemOutcome::Failed(f) => f.rule == RuleId::A7,
        _ => false,
    }
}

/// Test-only: counts the decisions `reference` makes (its rounds, and the request decided again
/// with the bound choices), on this thread, so that a test can tell how many rounds a binding
/// took (the answer is the same after any number past the settling one: only the cost tells).
/// Compiled into the library's unit tests only.
#[cfg(test)]
mod decided {
    use std::cell::Cell;

    thread_local! {
        static DECIDED: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn count() {
        DECIDED.with(|n| n.set(n.get() + 1));
    }

    /// The decisions made since the last call.
    pub(super) fn taken() -> usize {
        DECIDED.with(|n| n.replace(0))
    }
}

#[cfg(test)]
mod tests {
    use super::decided;
    use crate::check::{Observed, Settings, check};
    use crate::engine::ids::SeededIds;
    use crate::engine::options::Options;
    use crate::{Context, IdSource, Session, Timestamp, apply};

    const BEFORE: &str = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;

    #[test]
    fn contains_finds_a_needle_anywhere_and_an_empty_one_everywhere() {
        use super::contains;
        assert!(contains(b"ab\\u0001c", b"\\u0001"));
        assert!(contains(b"\\u0001", b"\\u0001"));
        assert!(!contains(b"\\u000", b"\\u0001"));
        assert!(!contains(b"", b"x"));
        assert!(contains(b"", b""));
        assert!(contains(b"abc", b""));
    }
    const ADD: &str = r#"{"restorePoint":{"id":"r1"},"destinationType":"new"}"#;

    /// `(conformant, decisions)` of the check of the reference's own answer (white space added,
    /// so that the rounds judge it, not the fast path) to a request of `items`.
    fn rounds_for(items: &[String]) -> (bool, usize) {
        let request = format!(r#"{{"driveRestoreArtifacts@delta":[{}]}}"#, items.join(","));
        let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
        let session = Session::from_json(BEFORE.as_bytes()).unwrap();
        let applied = apply(
            session,
            request.as_bytes(),
            &Options::default(),
            &mut Context::new(now, SeededIds::new(3)),
        );
        let body = applied.answer.response.body.unwrap().into_string();
        let tree: serde_json::Value = serde_json::from_str(&body).unwrap();
        let spaced = serde_json::to_string_pretty(&tree).unwrap();
        let session = Session::from_json(BEFORE.as_bytes()).unwrap();
        decided::taken();
        let v = check(
            &session,
            request.as_bytes(),
            &Options::default(),
            &Observed::new(200, Some(spaced.as_bytes())),
            &Settings::default(),
        );
        (v.conformant, decided::taken())
    }

    /// The binding stops as soon as it may (rule C1): one decision when no removal could turn
    /// around with the bound ids (the first round's text is the answer, items failing or not);
    /// with one that could,
    /// a second round that finds the ids settled and the request decided again; a chain of `k`
    /// removals of the server's own ids one round per link and the first, then the request
    /// decided again (`k + 2`).
    #[test]
    fn the_rounds_stop_once_the_bound_ids_settle() {
        let removal = |id: &str| format!(r#"{{"@removed":{{"reason":"changed"}},"id":"{id}"}}"#);
        let one: Vec<String> = (2..5)
            .map(|n| format!(r#"{{"restorePoint":{{"id":"r{n}"}},"destinationType":"new"}}"#))
            .collect();
        assert_eq!(rounds_for(&one), (true, 1));
        // An item failing (A4) in a request that continues on errors: still one decision.
        assert_eq!(rounds_for(&[ADD.to_owned(), ADD.to_owned()]), (true, 1));
        let mut turn = one.clone();
        turn.push(removal("zz"));
        assert_eq!(rounds_for(&turn), (true, 3));
        for k in 1..=6 {
            let mut seeded = SeededIds::new(3);
            let mut items = Vec::new();
            for _ in 0..k {
                items.push(ADD.to_owned());
                items.push(removal(&seeded.next_id()));
            }
            items.push(ADD.to_owned());
            assert_eq!(rounds_for(&items), (true, k + 2), "k = {k}");
        }
    }
}
