//! The check's fast path: an answer spelled as the reference spells it is judged without a
//! JSON tree of either side.
//!
//! The request is decided once with placeholders for the server's choices (rule C1): ids no
//! server makes, a clock instant no answer holds, an identity no caller has. The observed text
//! is then read in step with that answer's text: wherever they differ, the difference must lie
//! inside one of the placeholders, and the observed text there is the server's choice (a string
//! without escapes for an id or an instant, a compact JSON object for the identity). When the
//! texts agree everywhere else, the choices pass rule A7's checks and the instants lie within
//! the window, the answer is conformant and the bound choices are written into the reference's
//! text. Anything else (another member order, white space, a number spelled otherwise, a
//! difference outside the placeholders, a request whose decisions could turn around with the
//! bound ids) returns `None`, and the check parses and walks both answers: the verdict is the
//! same either way, only its cost differs.

use std::collections::HashSet;

use super::bind::{Placeholders, holds_placeholder_text, placeholder_number};
use super::diff::{instant, write_in_order};
use super::types::{Binding, Expected};
use crate::engine::context::Context;
use crate::engine::options::{Answered, Options};
use crate::engine::outcome::{Body, ItemOutcome};
use crate::engine::request::Request;
use crate::json::borrowed::{self, Json};
use crate::model::kinds::ArtifactCollection;
use crate::model::session::Session;
use crate::model::time::Timestamp;
use crate::rule::RuleId;

/// The clock of the placeholder decision: an instant no answer is expected to hold.
const CLOCK_NANOS: u32 = 7;
/// Its text, as the engine writes it.
const CLOCK_TEXT: &str = "1970-01-01T00:00:00.000000007Z";
/// The identity of the placeholder decision, as the engine writes it.
const ACTOR_TEXT: &str = "{\"\\u0001actor\":0}";

/// The reference answer and the binding, when the observed body is the reference's text but
/// for the server's choices; `None` when the check must walk the trees.
pub(super) fn judge(
    before: &Session,
    request: &Request<'_>,
    request_bytes: &[u8],
    options: &Options,
    observed: &[u8],
    window_ns: i128,
) -> Option<(Expected, Binding, Timestamp)> {
    // Texts spelled like a placeholder would be taken for one.
    if holds_placeholder_text(request_bytes, before)
        || contains(request_bytes, CLOCK_TEXT.as_bytes())
        || ["createdDateTime", "lastModifiedDateTime"].iter().any(|m| {
            before
                .member(m)
                .is_some_and(|raw| raw.get().contains(CLOCK_TEXT))
        })
    {
        return None;
    }
    let clock = Timestamp::from_unix(0, CLOCK_NANOS).ok()?;
    let shape_options = options
        .clone()
        .with_return_minimal(false)
        .with_atomic(false);
    let mut ctx = Context::new(clock, Placeholders::new());
    ctx.actor = Some(crate::json::to_raw(ACTOR_TEXT.to_owned()));
    let first =
        crate::engine::pipeline::answer_uncommitted(before, request, &shape_options, &mut ctx);
    let any_failed = first
        .outcomes
        .iter()
        .any(|o| matches!(o, ItemOutcome::Failed(_)));
    // Removals that could turn around with the bound ids, an atomic refusal, a 204 and any
    // addition failing for want of a fresh id are the rounds' business.
    let turns = first.outcomes.iter().any(|o| {
        matches!(o, ItemOutcome::Removed { existed: false, .. })
            || matches!(o, ItemOutcome::Failed(f) if f.rule == RuleId::X3 || f.rule == RuleId::A7)
    });
    if first.response.status != 200
        || turns
        || (options.atomic && any_failed)
        || (options.return_minimal && !any_failed)
    {
        return None;
    }
    let text = first.response.body?.into_string();
    // A session without `lastModifiedBy` may stay without one (a server with no caller's
    // identity); one with it keeps one.
    let absent_actor = before.member("lastModifiedBy").is_none();
    let found = read_in_step(&text, observed, absent_actor)?;
    // The ids, in the order drawn, each as rule A7 checks a drawn one.
    let edited = request.edited_collection(before.kind());
    let bound = check_ids(before, edited, &first.outcomes, &found.ids)?;
    // The time: the earliest instant stamped; every other within the window of it.
    let earliest = found.times.iter().copied().min();
    if let Some(min) = earliest
        && found.times.iter().any(|t| t - min > window_ns)
    {
        return None;
    }
    let now = match earliest {
        Some(ns) => Some(from_nanos(ns)?),
        None => None,
    };
    let clock = now.unwrap_or(Timestamp::EPOCH);
    // The reference's text with the bound choices written in, in one pass.
    let clock_text = clock.to_string();
    let mut out = String::with_capacity(text.len() + bound.len() * 40);
    let mut at = 0;
    for (start, end, slot) in &found.spans {
        out.push_str(text.get(at..*start)?);
        match slot {
            Slot::Id(k) => crate::json::write_str(&mut out, bound.get(*k)?),
            Slot::Time => crate::json::write_str(&mut out, &clock_text),
            Slot::Actor => out.push_str(found.actor.as_deref()?),
            Slot::Nothing => {}
        }
        at = *end;
    }
    out.push_str(text.get(at..)?);
    let text = out;
    let mut k = 0;
    let outcomes = first
        .outcomes
        .into_iter()
        .map(|o| match o {
            ItemOutcome::Added {
                rule: RuleId::A7, ..
            } => {
                k += 1;
                ItemOutcome::Added {
                    id: bound.get(k - 1).cloned().unwrap_or_default(),
                    rule: RuleId::A7,
                }
            }
            other => other,
        })
        .collect();
    let actor_value = found
        .actor
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok());
    let expected = Expected {
        status: 200,
        body: Some(Body::new(text)),
        state: None,
        outcomes,
        preference_applied: options.asked().applied(options, Answered::Representation),
        refusal: None,
    };
    let binding = Binding {
        ids: bound,
        now,
        actor: actor_value,
        ..Binding::default()
    };
    Some((expected, binding, clock))
}

/// What the observed text holds where the placeholder answer holds a placeholder.
struct Found {
    /// The id at placeholder N, at index N - 1.
    ids: Vec<Option<String>>,
    /// The instants, in nanoseconds since the epoch.
    times: Vec<i128>,
    /// The identity's text, compact.
    actor: Option<String>,
    /// Where the expected text holds a placeholder: its start and end, and what it is.
    spans: Vec<(usize, usize, Slot)>,
}

/// What a placeholder of the expected text stands for.
#[derive(Clone, Copy)]
enum Slot {
    /// The id of placeholder N (at index N - 1).
    Id(usize),
    /// The request time.
    Time,
    /// The caller's identity.
    Actor,
    /// A member the answer does not have.
    Nothing,
}

/// Reads the expected and the observed text in step; `None` at a difference outside a
/// placeholder. With `absent_actor`, the identity's member may be missing from the answer.
fn read_in_step(expected: &str, observed: &[u8], absent_actor: bool) -> Option<Found> {
    let e = expected.as_bytes();
    let mut found = Found {
        ids: Vec::new(),
        times: Vec::new(),
        actor: None,
        spans: Vec::new(),
    };
    // The last instant read, to read each spelling once.
    let mut last_time: Option<(&[u8], i128)> = None;
    let (mut i, mut j) = (0usize, 0usize);
    loop {
        let k = super::diff::common_prefix(e.get(i..)?, observed.get(j..)?);
        i += k;
        j += k;
        if i >= e.len() {
            let rest = observed.get(j..)?;
            return rest.iter().all(u8::is_ascii_whitespace).then_some(found);
        }
        // The identity where the answer has none (a server without a caller's identity, on a
        // session that had none): the member is left out of the reference's text.
        if absent_actor {
            let member = format!("\"lastModifiedBy\":{ACTOR_TEXT}");
            let skip = if e
                .get(i..)
                .is_some_and(|t| t.starts_with(member.as_bytes().get(1..).unwrap_or_default()))
                && e.get(i.wrapping_sub(1)) == Some(&b'"')
                && observed.get(j.wrapping_sub(1)) == Some(&b'"')
            {
                // `,"lastModifiedBy":{…},"next"`: from its quote to the next member's.
                let from = i - 1;
                let to = from + member.len();
                (e.get(to) == Some(&b',')).then_some((from, to + 1, j - 1))
            } else if e.get(i..).is_some_and(|t| {
                t.first() == Some(&b',')
                    && t.get(1..).is_some_and(|r| r.starts_with(member.as_bytes()))
            }) {
                // `,"lastModifiedBy":{…}}`: the last member.
                let to = i + 1 + member.len();
                (e.get(to) == Some(&b'}')).then_some((i, to, j))
            } else {
                None
            };
            if let Some((from, to, oj)) = skip {
                found.spans.push((from, to, Slot::Nothing));
                i = to;
                j = oj;
                continue;
            }
        }
        // The string (or the identity object) the difference is in: it starts at the last
        // quote before the difference, and the texts agree up to it.
        let start = e.get(..i)?.iter().rposition(|&c| c == b'"')?;
        let os = j.checked_sub(i - start)?;
        if e.get(start.checked_sub(1)?..)?
            .starts_with(ACTOR_TEXT.as_bytes())
        {
            let open = start - 1;
            let oo = os.checked_sub(1)?;
            if found.actor.is_some() || !e.get(..open)?.ends_with(b"\"lastModifiedBy\":") {
                return None;
            }
            let end = object_end(observed, oo)?;
            let raw = std::str::from_utf8(observed.get(oo..end)?).ok()?;
            let parsed = borrowed::parse(raw, 64).ok()?;
            let mut compact = String::with_capacity(raw.len());
            write_in_order(&mut compact, &parsed);
            if !matches!(parsed, Json::Object(_)) || compact != raw {
                return None;
            }
            found.actor = Some(compact);
            found
                .spans
                .push((open, open + ACTOR_TEXT.len(), Slot::Actor));
            i = open + ACTOR_TEXT.len();
            j = end;
            continue;
        }
        // A string value: the observed one is a plain string (no escapes).
        let value = observed.get(os + 1..)?;
        let n = value.iter().position(|&c| c == b'"' || c == b'\\')?;
        if value.get(n) != Some(&b'"') {
            return None;
        }
        let raw = value.get(..n)?;
        let text = std::str::from_utf8(raw).ok()?;
        let tail = e.get(start + 1..)?;
        let end;
        if tail.starts_with(CLOCK_TEXT.as_bytes()) && tail.get(CLOCK_TEXT.len()) == Some(&b'"') {
            end = start + CLOCK_TEXT.len() + 2;
            let before_ok = matches!(start.checked_sub(1).and_then(|p| e.get(p)), Some(b':'));
            if !before_ok || !matches!(e.get(end), Some(b',' | b'}')) {
                return None;
            }
            let at = match last_time {
                Some((t, at)) if t == text.as_bytes() => at,
                _ => instant(text)?,
            };
            last_time = Some((text.as_bytes(), at));
            found.times.push(at);
            found.spans.push((start, end, Slot::Time));
        } else {
            let (number, len) = placeholder_number(tail)?;
            end = start + 1 + len;
            if !matches!(e.get(end), Some(b',' | b'}')) || text.is_empty() {
                return None;
            }
            let slot = number.checked_sub(1)?;
            if found.ids.len() <= slot {
                found.ids.resize(slot + 1, None);
            }
            match found.ids.get_mut(slot)? {
                Some(_) => return None,
                free => *free = Some(text.to_owned()),
            }
            found.spans.push((start, end, Slot::Id(slot)));
        }
        i = end;
        j = os + n + 2;
    }
}

/// The end (one past the `}`) of the JSON object that starts at `at`.
fn object_end(text: &[u8], at: usize) -> Option<usize> {
    if text.get(at) != Some(&b'{') {
        return None;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (k, &c) in text.get(at..)?.iter().enumerate() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at + k + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The bound ids of the additions that drew one, in order, each fresh as rule A7 requires
/// (non-empty, not in the collection as the earlier items left it, not given twice); `None`
/// when one is missing or refused (the rounds then find the difference).
fn check_ids(
    before: &Session,
    edited: Option<ArtifactCollection>,
    outcomes: &[ItemOutcome],
    found: &[Option<String>],
) -> Option<Vec<String>> {
    let mut removed: Vec<&str> = Vec::new();
    let mut added: HashSet<&str> = HashSet::with_capacity(found.len());
    let mut bound = Vec::with_capacity(found.len());
    let mut next = found.iter();
    for o in outcomes {
        match o {
            ItemOutcome::Removed { id, existed: true } => {
                added.remove(id.as_str());
                removed.push(id);
            }
            ItemOutcome::Added {
                id,
                rule: RuleId::G4,
            } => {
                added.insert(id);
            }
            ItemOutcome::Added {
                rule: RuleId::A7, ..
            } => {
                let id = next.next()?.as_deref()?;
                let stored = edited.is_some_and(|c| before.artifact(c, id).is_some())
                    && !removed.contains(&id);
                if id.is_empty() || stored || !added.insert(id) {
                    return None;
                }
                bound.push(id.to_owned());
            }
            _ => {}
        }
    }
    next.next().is_none().then_some(bound)
}

/// An instant from nanoseconds since the epoch.
fn from_nanos(ns: i128) -> Option<Timestamp> {
    let secs = i64::try_from(ns.div_euclid(1_000_000_000)).ok()?;
    let nanos = u32::try_from(ns.rem_euclid(1_000_000_000)).ok()?;
    Timestamp::from_unix(secs, nanos).ok()
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Test-only: counts the answers the fast path judged, on this thread, so that a test can tell
/// that an answer spelled as the reference spells it is judged without the trees (the verdict
/// is the same either way: only the cost tells). Compiled into the library's unit tests only.
#[cfg(test)]
pub(super) mod judged {
    use std::cell::Cell;

    thread_local! {
        static JUDGED: Cell<usize> = const { Cell::new(0) };
    }

    pub(in crate::check) fn count() {
        JUDGED.with(|n| n.set(n.get() + 1));
    }

    /// The answers judged by the fast path since the last call.
    pub(in crate::check) fn taken() -> usize {
        JUDGED.with(|n| n.replace(0))
    }
}

#[cfg(test)]
mod tests {
    use super::judged;
    use crate::check::{Observed, Settings, check};
    use crate::engine::ids::SeededIds;
    use crate::engine::options::Options;
    use crate::{Context, Session, Timestamp, apply};

    const BEFORE: &str = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft","driveRestoreArtifacts":[{"id":"a1","restorePoint":{"id":"r1"},"destinationType":"new","status":"added"},{"id":"a2","restorePoint":{"id":"r2"},"destinationType":"new","status":"added"}]}"##;
    const NOW: &str = "2026-11-28T12:00:00Z";

    /// The reference's answer to `request` (ids from seed 3, the caller `actor`) and the ids
    /// it drew.
    fn reference(
        request: &[u8],
        options: &Options,
        actor: Option<&serde_json::Value>,
    ) -> (String, Vec<String>) {
        let now = Timestamp::parse_rfc3339(NOW).unwrap();
        let session = Session::from_json(BEFORE.as_bytes()).unwrap();
        let mut drawn = Vec::new();
        let mut seeded = SeededIds::new(3);
        let mut ids = || {
            let id = crate::IdSource::next_id(&mut seeded);
            drawn.push(id.clone());
            id
        };
        let mut ctx = Context::new(now, &mut ids);
        if let Some(a) = actor {
            ctx = ctx.with_actor(a);
        }
        let applied = apply(session, request, options, &mut ctx);
        let body = applied.answer.response.body.unwrap().into_string();
        (body, drawn)
    }

    /// `(conformant, judged by the fast path)` for `answer`.
    fn judge(request: &[u8], options: &Options, answer: &str) -> (bool, usize) {
        let session = Session::from_json(BEFORE.as_bytes()).unwrap();
        judged::taken();
        let observed = Observed::new(200, Some(answer.as_bytes()));
        let v = check(&session, request, options, &observed, &Settings::default());
        (v.conformant, judged::taken())
    }

    /// Answers spelled as the reference spells them are judged by the fast path, the server's
    /// own ids and a later instant included; the same answer with white space, or with a
    /// difference outside the server's choices, by the walk.
    #[test]
    fn answers_spelled_as_the_reference_spells_them_take_the_fast_path() {
        let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r3"},"destinationType":"new"},{"@removed":{"reason":"changed"},"id":"a1"},{"restorePoint":{"id":"r4"},"destinationType":"new"}]}"#;
        let options = Options::default();
        let who = serde_json::json!({"user": {"id": "u1", "displayName": "Ann"}});
        for actor in [None, Some(&who)] {
            let (body, drawn) = reference(request, &options, actor);
            assert_eq!(drawn.len(), 2, "{body}");
            assert_eq!(judge(request, &options, &body), (true, 1), "{body}");
            let mut other = body.clone();
            for (n, id) in drawn.iter().enumerate() {
                other = other.replace(id.as_str(), &format!("server-{n}"));
            }
            let other = other.replace(NOW, "2026-11-28T12:00:01.5Z");
            assert_ne!(other, body);
            assert_eq!(judge(request, &options, &other), (true, 1), "{other}");
            let spaced = serde_json::to_string_pretty(
                &serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            )
            .unwrap();
            assert_eq!(judge(request, &options, &spaced), (true, 0), "{spaced}");
            let wrong = body.replace("\"r3\"", "\"r9\"");
            assert_ne!(wrong, body);
            assert_eq!(judge(request, &options, &wrong), (false, 0), "{wrong}");
        }
    }
}
