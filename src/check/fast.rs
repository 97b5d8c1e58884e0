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

use super::bind::{Placeholders, contains, placeholder_number, session_spells};
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
/// for the server's choices; `None` when the check must walk the trees. `placeholder_text`:
/// whether the request or the session holds text spelled like a placeholder id
/// (`bind::holds_placeholder_text`).
pub(super) fn judge(
    before: &Session,
    request: &Request<'_>,
    request_bytes: &[u8],
    placeholder_text: bool,
    options: &Options,
    observed: &[u8],
    window_ns: i128,
) -> Option<(Expected, Binding, Timestamp)> {
    // Texts spelled like a placeholder would be taken for one: in the request (echoed in the
    // entries, as decoded: a `\u` escape may spell any of the clock's characters), or in any
    // member of the session (echoed as stored), its name or its value.
    if placeholder_text
        || contains(request_bytes, CLOCK_TEXT.as_bytes())
        || contains(request_bytes, b"\\u")
        || session_spells(before, CLOCK_TEXT, CLOCK_TEXT.as_bytes())
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
        // session that had none): the member is left out of the reference's text. It is never
        // the body's last member (the delta's entries follow every session member, rule O3),
        // so it is `"lastModifiedBy":{…},` from its quote to the next member's.
        if absent_actor {
            let member = format!("\"lastModifiedBy\":{ACTOR_TEXT}");
            let skip = if e
                .get(i..)
                .is_some_and(|t| t.starts_with(member.as_bytes().get(1..).unwrap_or_default()))
                && e.get(i.wrapping_sub(1)) == Some(&b'"')
                && observed.get(j.wrapping_sub(1)) == Some(&b'"')
            {
                let from = i - 1;
                let to = from + member.len();
                (e.get(to) == Some(&b',')).then_some((from, to + 1, j - 1))
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
            if !identity_expected_at(e, open, found.actor.is_some()) {
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
            if !member_value_at(e, start, end) {
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
            // (An empty id is refused with the others, by `check_ids`.)
            if !matches!(e.get(end), Some(b',' | b'}')) {
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

/// Whether the identity's placeholder at `open` of the expected text `e` is the session's
/// `lastModifiedBy`, met for the first time. (A guard: the placeholder answer writes the
/// identity there only, once; a request or a session member holding `\u0001` is declined
/// before, and the answer echoes no stored artifact.)
fn identity_expected_at(e: &[u8], open: usize, seen: bool) -> bool {
    !seen
        && e.get(..open)
            .is_some_and(|t| t.ends_with(b"\"lastModifiedBy\":"))
}

/// Whether the string from `start` to `end` (its quotes included) of the expected text `e` is a
/// member's value. (A guard: the placeholder clock's text is written where the engine stamps
/// the time only, as a member's value; a request or a session member holding that text is
/// declined before.)
fn member_value_at(e: &[u8], start: usize, end: usize) -> bool {
    matches!(start.checked_sub(1).and_then(|p| e.get(p)), Some(b':'))
        && matches!(e.get(end), Some(b',' | b'}'))
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
/// when one is missing or refused (the rounds then find the difference). (A request edits one
/// collection (rule E5), so its additions are all standard ones (A7) or all granular ones
/// (G4, ids the request gives): no granular id meets a drawn one.)
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
            // (A removal never takes back an id bound here: one that names it after its addition
            // either names a stored id, which the addition could not take, or fails in this
            // decision, whose ids were placeholders, and turns: declined above.)
            ItemOutcome::Removed { id, existed: true } => removed.push(id),
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

    /// The reference's answer to `request` on `before` at `now` (ids from `ids`, the caller
    /// `actor`) and the ids it drew.
    fn reference_on(
        before: &str,
        request: &[u8],
        options: &Options,
        actor: Option<&serde_json::Value>,
        now: &str,
        ids: &mut dyn FnMut() -> String,
    ) -> (String, Vec<String>) {
        let now = Timestamp::parse_rfc3339(now).unwrap();
        let session = Session::from_json(before.as_bytes()).unwrap();
        let mut drawn = Vec::new();
        let mut ids = || {
            let id = ids();
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

    /// The reference's answer to `request` on [`BEFORE`] (ids from seed 3, the caller
    /// `actor`) and the ids it drew.
    fn reference(
        request: &[u8],
        options: &Options,
        actor: Option<&serde_json::Value>,
    ) -> (String, Vec<String>) {
        let mut seeded = SeededIds::new(3);
        let mut ids = || crate::IdSource::next_id(&mut seeded);
        reference_on(BEFORE, request, options, actor, NOW, &mut ids)
    }

    /// `(conformant, judged by the fast path)` for `answer` on [`BEFORE`].
    fn judge(request: &[u8], options: &Options, answer: &str) -> (bool, usize) {
        judge_on(BEFORE, request, options, answer)
    }

    /// `(conformant, judged by the fast path)` for `answer` (a 200) on `before`, after checking
    /// that the walk of both trees (the answer with white space, which the fast path never
    /// takes) gives the same verdict.
    fn judge_on(before: &str, request: &[u8], options: &Options, answer: &str) -> (bool, usize) {
        let session = Session::from_json(before.as_bytes()).unwrap();
        let settings = Settings::default();
        judged::taken();
        let observed = Observed::new(200, Some(answer.as_bytes()));
        let v = check(&session, request, options, &observed, &settings);
        let fast = judged::taken();
        let tree: serde_json::Value = serde_json::from_str(answer).unwrap();
        let spaced = serde_json::to_string_pretty(&tree).unwrap();
        let observed = Observed::new(200, Some(spaced.as_bytes()));
        let walked = check(&session, request, options, &observed, &settings);
        assert_eq!(judged::taken(), 0, "{spaced}");
        assert_eq!(v.conformant, walked.conformant, "{answer}\n{v}\n{walked}");
        (v.conformant, fast)
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

    /// Adds one artifact (`r3`), which draws one id.
    const ADD: &[u8] =
        br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r3"},"destinationType":"new"}]}"#;

    /// [`BEFORE`] with `member` (`"name":value`) after its `status`.
    fn with_member(member: &str) -> String {
        BEFORE.replacen(
            r#""status":"draft","#,
            &format!(r#""status":"draft",{member},"#),
            1,
        )
    }

    /// Ids from seed 3.
    fn seeded() -> impl FnMut() -> String {
        let mut seeded = SeededIds::new(3);
        move || crate::IdSource::next_id(&mut seeded)
    }

    /// Ids that are always `id`.
    fn always(id: &str) -> impl FnMut() -> String {
        let id = id.to_owned();
        move || id.clone()
    }

    /// Text spelled like the placeholder clock, in the request (echoed in an entry) or in any
    /// member of the stored session (echoed as stored, name or value), is not the server's
    /// time: an answer that changes it is not conformant, and such answers take the walk.
    #[test]
    fn text_spelled_like_the_placeholder_clock_is_not_taken_for_the_time() {
        let clock = super::CLOCK_TEXT;
        let echoed = format!(
            r#"{{"driveRestoreArtifacts@delta":[{{"restorePoint":{{"id":"{clock}"}},"destinationType":"new"}}]}}"#
        );
        // The engine writes a request's strings as it decodes them: an escape spells the clock too.
        let escaped = echoed.replacen("0007Z", "000\\u0037Z", 1);
        assert!(!escaped.contains(clock), "{escaped}");
        let cases = [
            (BEFORE.to_owned(), echoed.into_bytes()),
            (BEFORE.to_owned(), escaped.into_bytes()),
            (
                with_member(&format!(r#""createdDateTime":"{clock}""#)),
                ADD.to_vec(),
            ),
            (with_member(&format!(r#""note":"{clock}""#)), ADD.to_vec()),
            (
                with_member(&format!(r#""notes":["{clock}","x"]"#)),
                ADD.to_vec(),
            ),
            (with_member(&format!(r#""{clock}":"x""#)), ADD.to_vec()),
        ];
        let options = Options::default();
        for (before, request) in cases {
            let (body, _) = reference_on(&before, &request, &options, None, NOW, &mut seeded());
            assert_eq!(body.matches(clock).count(), 1, "{body}");
            assert_eq!(
                judge_on(&before, &request, &options, &body),
                (true, 0),
                "{body}"
            );
            let moved = body.replace(clock, NOW);
            assert_eq!(
                judge_on(&before, &request, &options, &moved),
                (false, 0),
                "{moved}"
            );
        }
    }

    /// A removal that fails with placeholder ids but names the id the server gave an addition
    /// before it turns around with the bound ids: the rounds judge it, and an answer that
    /// refuses it is not conformant.
    #[test]
    fn a_removal_of_the_servers_own_new_id_is_judged_with_the_bound_ids() {
        let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r3"},"destinationType":"new"},{"@removed":{"reason":"changed"},"id":"srv-1"}]}"#;
        let options = Options::default();
        let (right, _) = reference_on(BEFORE, request, &options, None, NOW, &mut always("srv-1"));
        assert!(!right.contains("responseCode"), "{right}");
        assert_eq!(judge(request, &options, &right), (true, 0), "{right}");
        let (refused, _) = reference_on(BEFORE, request, &options, None, NOW, &mut always("zzz"));
        let wrong = refused.replace("zzz", "srv-1");
        assert!(wrong.contains(r#""responseCode":409"#), "{wrong}");
        assert_eq!(judge(request, &options, &wrong), (false, 0), "{wrong}");
    }

    /// A request the reference refuses whole (a session not in draft: 403), answered with a 200
    /// carrying the refusal's body, is not conformant.
    #[test]
    fn a_refusal_answered_as_a_200_is_not_conformant() {
        let before = BEFORE.replace(r#""status":"draft""#, r#""status":"active""#);
        let options = Options::default();
        let (refusal, _) = reference_on(&before, ADD, &options, None, NOW, &mut seeded());
        assert!(
            refusal.contains("RestoreSessionActionNotAllowed"),
            "{refusal}"
        );
        assert_eq!(judge_on(&before, ADD, &options, &refusal), (false, 0));
    }

    /// Answers with failed items (the request continuing on errors, with or without
    /// `return=minimal`), and an atomic request's answer none of whose items fail, are judged
    /// on the fast path.
    #[test]
    fn failed_items_and_atomic_requests_take_the_fast_path() {
        let failing = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":""},"destinationType":"new"},{"restorePoint":{"id":"r3"},"destinationType":"new"}]}"#;
        let cases: [(&[u8], Options); 3] = [
            (failing, Options::default()),
            (failing, Options::default().with_return_minimal(true)),
            (ADD, Options::default().with_atomic(true)),
        ];
        for (request, options) in cases {
            let (body, drawn) = reference(request, &options, None);
            assert_eq!(drawn.len(), 1, "{body}");
            assert_eq!(judge(request, &options, &body), (true, 1), "{body}");
        }
    }

    /// A full answer where `return=minimal` asked for none (no item failed) is judged on the
    /// walk, which expects a 204.
    #[test]
    fn a_full_answer_to_return_minimal_is_judged_on_the_walk() {
        let (body, _) = reference(ADD, &Options::default(), None);
        let minimal = Options::default().with_return_minimal(true);
        assert_eq!(judge(ADD, &minimal, &body), (false, 0), "{body}");
    }

    /// Instants exactly the window apart (5 s by default) are within it, on the fast path; a
    /// nanosecond more is a difference.
    #[test]
    fn instants_exactly_the_window_apart_are_judged_on_the_fast_path() {
        let options = Options::default();
        let (body, _) = reference(ADD, &options, None);
        let at = body.rfind(NOW).unwrap();
        for (instant, verdict) in [
            ("2026-11-28T12:00:05Z", (true, 1)),
            ("2026-11-28T12:00:05.000000001Z", (false, 0)),
        ] {
            let mut later = body.clone();
            later.replace_range(at..at + NOW.len(), instant);
            assert_eq!(judge(ADD, &options, &later), verdict, "{later}");
        }
    }

    /// An answer that leaves out a stored member is not conformant, whatever the member's
    /// length: only the identity's member may be missing (from a session that had none).
    #[test]
    fn an_answer_without_a_stored_member_is_not_conformant() {
        let options = Options::default();
        for n in 0..48 {
            let member = format!(r#""note":"{}""#, "x".repeat(n));
            let before = with_member(&member);
            let (body, _) = reference_on(&before, ADD, &options, None, NOW, &mut seeded());
            assert_eq!(judge_on(&before, ADD, &options, &body), (true, 1), "{body}");
            let without = body.replacen(&format!("{member},"), "", 1);
            assert_ne!(without, body);
            assert_eq!(
                judge_on(&before, ADD, &options, &without),
                (false, 0),
                "{without}"
            );
        }
    }

    /// An instant that starts like the placeholder clock's text (a server whose clock reads
    /// 1970) is read whole.
    #[test]
    fn an_instant_that_starts_like_the_placeholder_clock_is_read_whole() {
        let options = Options::default();
        let early = "1970-01-01T00:00:01Z";
        let (body, _) = reference_on(BEFORE, ADD, &options, None, early, &mut seeded());
        assert!(body.contains(early), "{body}");
        assert_eq!(judge(ADD, &options, &body), (true, 1), "{body}");
    }

    /// The caller's identity is read as one object, its strings' escapes and braces included;
    /// one written with white space takes the walk.
    #[test]
    fn the_identity_is_read_whole_and_compact() {
        let options = Options::default();
        let who = serde_json::json!({"user": {"id": "u1", "displayName": "x\"}y\\"}});
        let (body, _) = reference(ADD, &options, Some(&who));
        assert!(body.contains(r#""displayName":"x\"}y\\""#), "{body}");
        assert_eq!(judge(ADD, &options, &body), (true, 1), "{body}");
        let spaced = body.replacen(r#"{"user":{"#, r#"{"user": {"#, 1);
        assert_ne!(spaced, body);
        assert_eq!(judge(ADD, &options, &spaced), (true, 0), "{spaced}");
    }

    /// A server-made id is fresh against the collection as the earlier items left it: the id
    /// of an artifact removed before is (on the fast path); a stored one and an empty one are
    /// not.
    #[test]
    fn a_server_id_is_fresh_against_the_collection_as_the_earlier_items_left_it() {
        let request = br#"{"driveRestoreArtifacts@delta":[{"@removed":{"reason":"changed"},"id":"a1"},{"restorePoint":{"id":"r3"},"destinationType":"new"}]}"#;
        let options = Options::default();
        let (body, _) = reference_on(BEFORE, request, &options, None, NOW, &mut always("zzz"));
        for (id, verdict) in [("a1", (true, 1)), ("a2", (false, 0)), ("", (false, 0))] {
            let answer = body.replace("zzz", id);
            assert_eq!(judge(request, &options, &answer), verdict, "{answer}");
        }
    }
}
