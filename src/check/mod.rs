//! The reference check: judges an observed restore-session exchange against the reference,
//! exact where the rules decide and free exactly where a server is free (rule C1).
//!
//! A server chooses the ids of new standard artifacts (rule A7), the time it stamps
//! (`createdDateTime`, `lastModifiedDateTime`) and the caller's identity (`lastModifiedBy`).
//! [`check`] takes those from the observed answer and nothing else, computes the reference answer
//! with them, and compares the rest exactly: objects without regard to member order, numbers by
//! value, arrays by position. Each difference names a JSON pointer into the observed answer
//! (`/status`, `/body/…`, `/state/…`), the expected and observed values, a kind, and the rule
//! that decided the expected value. A [`Profile`] tolerates named kinds of difference (reported
//! as tolerated, never hidden).
//!
//! ```
//! use restore_delta::check::{check, Observed, Settings};
//! use restore_delta::{Options, Session};
//! let before = Session::from_json(br##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession",
//!     "id":"s1","status":"draft"}"##).unwrap();
//! let request = br#"{"mailboxRestoreArtifacts@delta":[
//!     {"restorePoint":{"id":"rp1"},"destinationType":"new"}]}"#;
//! // What a server answered: its own id and its own clock.
//! let body = br##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s1",
//!     "status":"draft","restoreJobType":"standard","lastModifiedDateTime":"2026-11-28T12:00:00.000Z",
//!     "mailboxRestoreArtifacts@delta":[{"id":"server-made-1","restorePoint":{"id":"rp1"},
//!     "destinationType":"new","status":"added","createdDateTime":"2026-11-28T12:00:00.2Z"}]}"##;
//! let verdict = check(&before, request, &Options::default(),
//!     &Observed::new(200, Some(body)), &Settings::default());
//! assert!(verdict.conformant, "{verdict}");
//! assert_eq!(verdict.binding.ids, ["server-made-1"]);
//! ```

mod diff;

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use crate::engine::context::Context;
use crate::engine::ids::IdSource;
use crate::engine::options::Options;
use crate::engine::outcome::Body;
use crate::engine::outcome::ItemOutcome;
use crate::engine::request::Request;
use crate::json::borrowed::{self, Json};
use crate::model::kinds::{ArtifactCollection, Shape};
use crate::model::session::Session;
use crate::model::time::Timestamp;
use crate::rule::RuleId;
use diff::{Seg, Walk, instant, token};

/// What the server under test answered, as observed.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Observed<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The response body, if there was one.
    pub body: Option<&'a [u8]>,
    /// The session after the exchange, as a GET with the collections expanded shows it, when
    /// the tester has it.
    pub state_after: Option<&'a [u8]>,
}

impl<'a> Observed<'a> {
    /// A status and a body (`None` for no body, as a 204 has).
    pub fn new(status: u16, body: Option<&'a [u8]>) -> Self {
        Observed {
            status,
            body,
            state_after: None,
        }
    }

    /// Adds the session as observed after the exchange.
    #[must_use]
    pub fn with_state_after(mut self, state: &'a [u8]) -> Self {
        self.state_after = Some(state);
        self
    }
}

/// A named set of tolerated difference kinds (rule C2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Profile {
    /// Nothing tolerated beyond the server's free choices.
    Exact,
    /// Messages for people are not compared; on returned artifacts, extra members that are
    /// schema properties of the artifact's type and hold `null` or their type's default.
    #[default]
    Default,
    /// `Default`, and what the Graph docs' printed responses do: successful removals left out
    /// of the delta, an `@contentId` the request did not carry.
    Docs,
}

impl Profile {
    /// The profile's name: `exact`, `default` or `docs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Exact => "exact",
            Profile::Default => "default",
            Profile::Docs => "docs",
        }
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        [Profile::Exact, Profile::Default, Profile::Docs]
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("no profile {s:?} (exact, default, docs)"))
    }
}

/// What kind of difference was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DifferenceKind {
    /// Another HTTP status.
    Status,
    /// The observed body or state is not JSON.
    NotJson,
    /// Something expected is not there.
    Missing,
    /// Something is there that is not expected.
    Extra,
    /// Another value.
    Value,
    /// A time the reference stamps (`createdDateTime`, `lastModifiedDateTime`) that is not an
    /// instant within the window of the bound time.
    Time,
    /// A server-chosen id that the rules refuse (empty, already in the collection, used twice;
    /// rule A7).
    Id,
    /// A message for people.
    Message,
}

impl DifferenceKind {
    /// Every kind.
    pub const ALL: [DifferenceKind; 8] = [
        DifferenceKind::Status,
        DifferenceKind::NotJson,
        DifferenceKind::Missing,
        DifferenceKind::Extra,
        DifferenceKind::Value,
        DifferenceKind::Time,
        DifferenceKind::Id,
        DifferenceKind::Message,
    ];

    /// The kind's name: `status`, `not-json`, `missing`, `extra`, `value`, `time`, `id`,
    /// `message`.
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::Status => "status",
            DifferenceKind::NotJson => "not-json",
            DifferenceKind::Missing => "missing",
            DifferenceKind::Extra => "extra",
            DifferenceKind::Value => "value",
            DifferenceKind::Time => "time",
            DifferenceKind::Id => "id",
            DifferenceKind::Message => "message",
        }
    }
}

/// One difference between the expected and the observed answer.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Difference {
    /// Where, as a JSON pointer into the observed answer: `/status`, `/body/…`, `/state/…`.
    pub pointer: String,
    /// What kind of difference.
    pub kind: DifferenceKind,
    /// The expected value, when there is one.
    pub expected: Option<Value>,
    /// The observed value, when there is one.
    pub observed: Option<Value>,
    /// The rule that decided the expected value.
    pub rule: Option<RuleId>,
}

/// A difference the settings tolerate, with the reason.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Tolerated {
    /// The difference.
    pub difference: Difference,
    /// Why it is tolerated: the profile's clause or the ignore entry.
    pub reason: String,
}

/// A difference to accept by name (`--ignore A7,message`): a kind or a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Ignore {
    /// Every difference of this kind.
    Kind(DifferenceKind),
    /// Every difference whose expected value this rule decided.
    Rule(RuleId),
}

impl FromStr for Ignore {
    type Err = String;
    /// A rule id (`A7`), a kind name (`value`, `not-json`), or `messages` for `message`.
    fn from_str(s: &str) -> Result<Ignore, String> {
        let name = s.trim();
        if name == "messages" {
            return Ok(Ignore::Kind(DifferenceKind::Message));
        }
        if let Some(kind) = DifferenceKind::ALL.into_iter().find(|k| k.as_str() == name) {
            return Ok(Ignore::Kind(kind));
        }
        name.parse::<RuleId>().map(Ignore::Rule).map_err(|_| {
            format!("{name:?} is neither a rule id (A7) nor a difference kind (value, messages)")
        })
    }
}

impl fmt::Display for Ignore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ignore::Kind(k) => f.write_str(k.as_str()),
            Ignore::Rule(r) => f.write_str(r.as_str()),
        }
    }
}

/// How a check judges.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// The tolerance profile. Default: [`Profile::Default`].
    pub profile: Profile,
    /// How far apart the times a server stamps may be, in seconds, each side of the bound time.
    /// Default 5.
    pub time_window_secs: f64,
    /// Differences accepted by name.
    pub ignore: Vec<Ignore>,
    /// The largest observed body read, in bytes; a larger one is a `not-json` difference,
    /// unread (memory stays bounded). Default 16 MiB: a PATCH answer holds the session's members
    /// and one entry per item, never the collections.
    pub max_body_bytes: usize,
    /// The largest observed state after read, in bytes. Default 1 GiB.
    pub max_state_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            profile: Profile::Default,
            time_window_secs: 5.0,
            ignore: Vec::new(),
            max_body_bytes: 16 << 20,
            max_state_bytes: 1 << 30,
        }
    }
}

impl Settings {
    /// Sets [`Settings::profile`].
    #[must_use]
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Sets [`Settings::time_window_secs`].
    #[must_use]
    pub fn with_time_window(mut self, secs: f64) -> Self {
        self.time_window_secs = secs;
        self
    }

    /// Adds to [`Settings::ignore`].
    #[must_use]
    pub fn ignoring(mut self, ignore: Ignore) -> Self {
        self.ignore.push(ignore);
        self
    }
}

/// The server's free choices, as taken from the observed answer (rule C1).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Binding {
    /// The ids of the new standard artifacts, in item order.
    pub ids: Vec<String>,
    /// The time, when the answer stamps one.
    pub now: Option<Timestamp>,
    /// The caller's identity (`lastModifiedBy`), when the answer carries one and the session
    /// changed.
    pub actor: Option<Value>,
}

/// The reference answer the observed one was compared with.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Expected {
    /// The status.
    pub status: u16,
    /// The body; `None` for none.
    pub body: Option<Body>,
    /// The state after, as JSON text, computed when the observed state after was given.
    pub state: Option<String>,
    /// One outcome per item (empty for a refused request).
    pub outcomes: Vec<ItemOutcome>,
}

/// The judgement of one exchange.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[must_use]
pub struct Verdict {
    /// No difference left once the tolerated ones are set apart.
    pub conformant: bool,
    /// The differences, in the order of the observed answer.
    pub differences: Vec<Difference>,
    /// The differences the settings tolerate.
    pub tolerated: Vec<Tolerated>,
    /// The reference answer, with the bound choices.
    pub expected: Expected,
    /// The choices taken from the observed answer.
    pub binding: Binding,
}

/// The most binding rounds (rule C1): a guard, since bound ids settle in two or three.
const MAX_ROUNDS: usize = 4;

/// Whether the binding rounds are over: the bound ids settled, no removal could turn around
/// with them, or the guard is reached.
fn rounds_over(settled: bool, may_turn: bool, rounds: usize) -> bool {
    settled || !may_turn || rounds >= MAX_ROUNDS
}

/// Whether the first round's answer, with the bound ids written in, is the reference's: one
/// round, no state after to compute, a 200, no atomic refusal, no exhausted id source. (When it
/// is not, the request is decided again: the same answer, at the cost of a second decision.)
fn one_decision_is_enough(
    rounds: usize,
    with_state: bool,
    status: u16,
    atomic_refusal: bool,
    bound: &[String],
) -> bool {
    rounds == 1
        && !with_state
        && status == 200
        && !atomic_refusal
        && !bound.iter().any(|b| b == EXHAUSTED)
}

/// The clock when the answer stamps no time: the epoch.
fn default_time() -> Timestamp {
    Timestamp::EPOCH
}

/// Ids no server makes (they hold a control character), one per draw.
struct Placeholders(usize);

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

/// Judges an observed exchange: the session `before` it, the request body and options, and
/// what the server answered (rules C1–C3).
pub fn check(
    before: &Session,
    request: &[u8],
    options: &Options,
    observed: &Observed<'_>,
    settings: &Settings,
) -> Verdict {
    let mut differences = Vec::new();
    let body = parse_observed(
        observed.body,
        settings.max_body_bytes,
        "/body",
        &mut differences,
    );
    let state_after = parse_observed(
        observed.state_after,
        settings.max_state_bytes,
        "/state",
        &mut differences,
    );
    let parsed = Request::parse(request, options);
    let (expected, binding, clock) = match &parsed {
        Err(error) => {
            let response = error.response();
            let expected = Expected {
                status: response.status,
                body: response.body,
                state: state_after.as_ref().map(|_| before.to_json()),
                outcomes: Vec::new(),
            };
            (expected, Binding::default(), default_time())
        }
        Ok(request) => reference(
            before,
            request,
            options,
            body.as_ref(),
            // A server that refused the request changed nothing: its state after shows no id.
            state_after
                .as_ref()
                .filter(|_| matches!(observed.status, 200 | 204)),
            state_after.is_some(),
            &mut differences,
        ),
    };
    let edited = parsed
        .as_ref()
        .ok()
        .and_then(|r| r.edited_collection(before.kind()));
    // The reference's texts, read as trees borrowing from them.
    let expected_body = expected
        .body
        .as_ref()
        .and_then(|b| borrowed::parse(b.get(), OBSERVED_DEPTH).ok());
    let expected_state = expected
        .state
        .as_ref()
        .and_then(|t| borrowed::parse(t, OBSERVED_DEPTH).ok());
    let rules = RuleMap::new(
        &expected,
        expected_body.as_ref(),
        body.as_ref(),
        settings.profile,
        edited,
    );
    let clock_text = clock.to_string();
    let clock_ns = instant(&clock_text).unwrap_or_default();
    let mut walk = Walk {
        now: Some((clock_text.as_str(), clock_ns)),
        window_ns: (settings.time_window_secs.max(0.0) * 1e9) as i128,
        rule_at: &|p: &str| rules.rule_at(p),
        out: &mut differences,
    };
    if expected.status != observed.status {
        walk.out.push(Difference {
            pointer: "/status".into(),
            kind: DifferenceKind::Status,
            expected: Some(json!(expected.status)),
            observed: Some(json!(observed.status)),
            rule: rules.rule_at("/status"),
        });
    }
    let mut tolerated = Vec::new();
    compare_body(
        &mut walk,
        settings.profile,
        &expected,
        (expected_body.as_ref(), body.as_ref()),
        observed.body.is_some(),
        &rules,
        &mut tolerated,
    );
    if let (Some(e), Some(o)) = (&expected_state, &state_after) {
        walk.values(&mut vec![Seg::Key("state")], e, o);
    }
    let (differences, more) = judge(differences, &expected, request, settings, &rules);
    tolerated.extend(more);
    Verdict {
        conformant: differences.is_empty(),
        differences,
        tolerated,
        expected,
        binding,
    }
}

/// The observed body or state as a JSON tree; a text that is not JSON is a difference.
fn parse_observed<'a>(
    bytes: Option<&'a [u8]>,
    limit: usize,
    pointer: &str,
    out: &mut Vec<Difference>,
) -> Option<Json<'a>> {
    let bytes = bytes?;
    let not_json = |error: String, out: &mut Vec<Difference>| {
        let start = String::from_utf8_lossy(bytes.get(..200).unwrap_or(bytes)).into_owned();
        out.push(Difference {
            pointer: pointer.to_owned(),
            kind: DifferenceKind::NotJson,
            expected: None,
            observed: Some(json!({ "error": error, "start": start })),
            rule: Some(RuleId::O3),
        });
    };
    if bytes.len() > limit {
        let error = format!(
            "{} bytes, over the limit of {limit} bytes (not read)",
            bytes.len()
        );
        not_json(error, out);
        return None;
    }
    let parsed = std::str::from_utf8(bytes)
        .map_err(|e| format!("not UTF-8: {e}"))
        .and_then(|text| borrowed::parse(text, OBSERVED_DEPTH).map_err(|e| e.to_string()));
    match parsed {
        Ok(v) => Some(v),
        Err(error) => {
            not_json(error, out);
            None
        }
    }
}

/// The deepest nesting of an observed body or state that is read.
const OBSERVED_DEPTH: usize = 512;

/// Binds the server's choices from the observed answer and computes the reference answer with
/// them; returns the pointers where it stamps the time.
fn reference(
    before: &Session,
    request: &Request<'_>,
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
    let observed_actor = body
        .and_then(|b| b.get("lastModifiedBy"))
        .or_else(|| state_after.and_then(|s| s.get("lastModifiedBy")))
        .filter(|a| matches!(a, Json::Object(_)))
        .map(Json::to_value);
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
        if let Some(a) = &observed_actor {
            ctx = ctx.with_actor(a);
        }
        let first =
            crate::engine::pipeline::answer_uncommitted(before, request, &shape_options, &mut ctx);
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
        if rounds_over(settled, may_turn, rounds) {
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
    let actor = observed_actor.filter(|_| changed);
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
    );
    if same_run {
        let minimal = options.return_minimal && !any_failed;
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
        };
        let binding = Binding {
            ids: bound
                .into_iter()
                .filter(|id| !id.starts_with('\u{1}'))
                .collect(),
            now,
            actor,
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
    if let Some(a) = &actor {
        ctx = ctx.with_actor(a);
    }
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
    };
    let binding = Binding {
        ids: bound
            .into_iter()
            .filter(|id| !id.starts_with('\u{1}'))
            .collect(),
        now,
        actor,
    };
    (expected, binding, clock)
}

/// A first round's body and outcomes with the bound ids in place of its placeholders, in one
/// pass over the text (a placeholder's JSON spelling is the only `\u0001` a body holds).
fn bind_text(
    text: &str,
    outcomes: Vec<ItemOutcome>,
    bound: &[String],
) -> (String, Vec<ItemOutcome>) {
    let quoted = |s: &str| {
        let mut out = String::with_capacity(s.len() + 2);
        crate::json::write_str(&mut out, s);
        out
    };
    // `"\u0001unbound-N"`: the N-th placeholder drawn, the N-th bound id.
    let mut prefix = quoted(&placeholder(0));
    prefix.truncate(prefix.len().saturating_sub(2));
    let escape = prefix.get(1..).unwrap_or_default();
    let mut out = String::with_capacity(text.len() + bound.len() * 40);
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        let opening = at
            .checked_sub(1)
            .filter(|&q| rest.as_bytes().get(q) == Some(&b'"'));
        let after = rest.get(at..).unwrap_or_default();
        let Some(q) = opening.filter(|_| after.starts_with(escape)) else {
            out.push_str(rest.get(..=at).unwrap_or_default());
            rest = rest.get(at + 1..).unwrap_or_default();
            continue;
        };
        let tail = after.get(escape.len()..).unwrap_or_default();
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let n = tail.get(..digits).and_then(|d| d.parse::<usize>().ok());
        match n.filter(|_| tail.get(digits..).is_some_and(|t| t.starts_with('"'))) {
            Some(n) => {
                out.push_str(rest.get(..q).unwrap_or_default());
                let id = n.checked_sub(1).and_then(|k| bound.get(k)).cloned();
                out.push_str(&quoted(&id.unwrap_or_else(|| placeholder(n))));
                rest = tail.get(digits + 1..).unwrap_or_default();
            }
            None => {
                out.push_str(rest.get(..=at).unwrap_or_default());
                rest = rest.get(at + 1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
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
    let removed: BTreeSet<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            ItemOutcome::Removed { id, existed: true } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    let appended: Vec<&str> = match (state_after, collection) {
        (Some(s), Some(c)) => s
            .get(c.name())
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("id").and_then(Json::as_str))
            // New: not stored before, or stored and removed by the request (an id removed is
            // fresh again, rule A7).
            .filter(|id| before.artifact(c, id).is_none() || removed.contains(id))
            .collect(),
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
            ItemOutcome::Added {
                id,
                rule: RuleId::G4,
            } => {
                added.insert(id);
            }
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

/// The delta member of a 200 body: the edited collection's, when the body holds it (a state
/// member spelled like the other collection's delta is a session member like any other).
fn delta_name(body: &Json<'_>, edited: Option<ArtifactCollection>) -> Option<String> {
    let name = edited?.delta_name();
    body.get(name).map(|_| name.to_owned())
}

/// For each expected delta entry, the index of the observed entry it is compared with: one
/// for one, except that under [`Profile::Docs`] a successful removal the observed delta leaves
/// out is matched with nothing.
fn alignment(
    outcomes: &[ItemOutcome],
    observed: Option<&[Json<'_>]>,
    profile: Profile,
) -> Vec<Option<usize>> {
    let mut j = 0usize;
    outcomes
        .iter()
        .map(|o| {
            if profile == Profile::Docs
                && let ItemOutcome::Removed { id, .. } = o
            {
                let here = observed.and_then(|e| e.get(j));
                let is_it = here.is_some_and(|e| {
                    e.get("id").and_then(Json::as_str) == Some(id.as_str())
                        && (e.get("@removed").is_some() || e.get("@odata.removed").is_some())
                });
                if !is_it {
                    return None;
                }
            }
            j += 1;
            Some(j - 1)
        })
        .collect()
}

/// Which rule decided the expected value at a pointer.
struct RuleMap {
    status_rule: RuleId,
    delta: Option<String>,
    /// The outcome's rule of the item each observed entry stands for.
    entries: Vec<Option<RuleId>>,
    /// The item each observed entry stands for.
    items: Vec<Option<usize>>,
}

impl RuleMap {
    fn new(
        expected: &Expected,
        expected_body: Option<&Json<'_>>,
        body: Option<&Json<'_>>,
        profile: Profile,
        edited: Option<ArtifactCollection>,
    ) -> RuleMap {
        let delta = expected_body.and_then(|b| delta_name(b, edited));
        let observed = match (&delta, body) {
            (Some(d), Some(b)) => b.get(d.as_str()).and_then(Json::as_array),
            _ => None,
        };
        let align = alignment(&expected.outcomes, observed, profile);
        let len = align.iter().flatten().max().map_or(0, |m| m + 1);
        let mut entries = vec![None; len];
        let mut items = vec![None; len];
        for (i, (o, j)) in expected.outcomes.iter().zip(&align).enumerate() {
            if let Some(slot) = j.and_then(|j| entries.get_mut(j)) {
                *slot = Some(o.rule());
            }
            if let Some(slot) = j.and_then(|j| items.get_mut(j)) {
                *slot = Some(i);
            }
        }
        let status_rule = match (expected_body, expected.status) {
            (_, 204) => RuleId::O5,
            (Some(b), _) if b.get("error").is_some_and(|e| e.get("code").is_some()) => {
                expected_error_rule(expected)
            }
            _ => RuleId::O3,
        };
        RuleMap {
            status_rule,
            delta,
            entries,
            items,
        }
    }

    fn rule_at(&self, pointer: &str) -> Option<RuleId> {
        if pointer == "/status" || pointer == "/body" {
            return Some(self.status_rule);
        }
        if let Some(rest) = pointer.strip_prefix("/body/") {
            if let Some(d) = &self.delta {
                let prefix = format!("{}/", token(d));
                if let Some(tail) = rest.strip_prefix(&prefix) {
                    let index = tail.split('/').next().unwrap_or_default();
                    return index
                        .parse::<usize>()
                        .ok()
                        .and_then(|j| self.entries.get(j).copied().flatten())
                        .or(Some(RuleId::O3));
                }
            }
            return Some(member_rule(rest).unwrap_or(if rest.starts_with("error") {
                self.status_rule
            } else {
                RuleId::O3
            }));
        }
        if let Some(rest) = pointer.strip_prefix("/state/") {
            if ArtifactCollection::ALL
                .iter()
                .any(|c| rest.split('/').next() == Some(c.name()))
            {
                return Some(RuleId::D4);
            }
            return Some(member_rule(rest).unwrap_or(RuleId::S4));
        }
        None
    }
}

fn expected_error_rule(expected: &Expected) -> RuleId {
    if expected.outcomes.is_empty() {
        RuleId::O2
    } else {
        RuleId::O1
    }
}

/// The rule of a session member the request changes.
fn member_rule(rest: &str) -> Option<RuleId> {
    let name = rest.split('/').next().unwrap_or_default();
    match name {
        "lastModifiedDateTime" | "lastModifiedBy" | "restoreSessionArtifactCount" => {
            Some(RuleId::O6)
        }
        "restoreJobType" => Some(RuleId::E9),
        "status" => Some(RuleId::O7),
        _ => None,
    }
}

/// The body comparison: entries aligned as the profile allows.
fn compare_body(
    walk: &mut Walk<'_>,
    profile: Profile,
    expected: &Expected,
    (expected_body, body): (Option<&Json<'_>>, Option<&Json<'_>>),
    observed_has_body: bool,
    rules: &RuleMap,
    tolerated: &mut Vec<Tolerated>,
) {
    let Some(e) = expected_body else {
        if observed_has_body {
            walk.record(&[Seg::Key("body")], DifferenceKind::Extra, None, body);
        }
        return;
    };
    let Some(o) = body else {
        if !observed_has_body {
            walk.record(&[Seg::Key("body")], DifferenceKind::Missing, Some(e), None);
        }
        return;
    };
    let mut path = vec![Seg::Key("body")];
    let (Some(d), Json::Object(em), Json::Object(om)) = (&rules.delta, e, o) else {
        walk.values(&mut path, e, o);
        return;
    };
    // The entries first (each item's outcome), then the session members around them.
    path.push(Seg::Key(d.as_str()));
    match (em.get(d.as_str()), om.get(d.as_str())) {
        (Some(Json::Array(e)), Some(Json::Array(o))) => {
            let align = alignment(&expected.outcomes, Some(o), profile);
            for (i, ev) in e.iter().enumerate() {
                match align.get(i).copied().flatten() {
                    Some(j) => {
                        path.push(Seg::Index(j));
                        match o.get(j) {
                            Some(ov) => walk.values(&mut path, ev, ov),
                            None => walk.record(&path, DifferenceKind::Missing, Some(ev), None),
                        }
                        path.pop();
                    }
                    None => tolerated.push(Tolerated {
                        difference: Difference {
                            pointer: format!("/body/{}/-", token(d)),
                            kind: DifferenceKind::Missing,
                            expected: Some(ev.to_value()),
                            observed: None,
                            rule: expected.outcomes.get(i).map(ItemOutcome::rule),
                        },
                        reason: "docs: a successful removal left out of the response".into(),
                    }),
                }
            }
            let used = align.iter().flatten().count();
            for (j, ov) in o.iter().enumerate().skip(used) {
                path.push(Seg::Index(j));
                walk.record(&path, DifferenceKind::Extra, None, Some(ov));
                path.pop();
            }
        }
        (e, o) => walk.values(
            &mut path,
            e.unwrap_or(&Json::Null),
            o.unwrap_or(&Json::Null),
        ),
    }
    path.pop();
    walk.objects(&mut path, em, om, Some(d.as_str()));
}

/// Splits the differences into those that stand and those the settings tolerate.
fn judge(
    all: Vec<Difference>,
    expected: &Expected,
    request: &[u8],
    settings: &Settings,
    rules: &RuleMap,
) -> (Vec<Difference>, Vec<Tolerated>) {
    // The request's items, read again only when a docs-profile `@contentId` needs them.
    let wanted =
        settings.profile == Profile::Docs && all.iter().any(|d| d.pointer.ends_with("/@contentId"));
    let items: Option<Vec<Value>> = wanted
        .then(|| serde_json::from_slice::<Value>(request).ok())
        .flatten()
        .and_then(|v| {
            let d = rules.delta.as_ref()?;
            v.get(d.as_str()).and_then(Value::as_array).cloned()
        });
    let mut stand = Vec::new();
    let mut tolerated = Vec::new();
    for d in all {
        match tolerance(&d, expected, items.as_deref(), settings, rules) {
            Some(reason) => tolerated.push(Tolerated {
                difference: d,
                reason,
            }),
            None => stand.push(d),
        }
    }
    (stand, tolerated)
}

/// Why a difference is tolerated, if it is.
fn tolerance(
    d: &Difference,
    expected: &Expected,
    items: Option<&[Value]>,
    settings: &Settings,
    rules: &RuleMap,
) -> Option<String> {
    for ignore in &settings.ignore {
        let hit = match ignore {
            Ignore::Kind(k) => *k == d.kind,
            Ignore::Rule(r) => d.rule == Some(*r),
        };
        if hit {
            return Some(format!("ignored: {ignore}"));
        }
    }
    if settings.profile == Profile::Exact {
        return None;
    }
    if d.kind == DifferenceKind::Message {
        return Some(format!(
            "{}: messages are not compared",
            settings.profile.as_str()
        ));
    }
    if d.kind == DifferenceKind::Extra
        && let Some((collection, name)) = artifact_member(&d.pointer, expected, rules)
        && schema_default(collection, name, d.observed.as_ref())
    {
        return Some(format!(
            "{}: `{name}` is a property of the artifact type holding its default",
            settings.profile.as_str()
        ));
    }
    if settings.profile == Profile::Docs
        && d.kind == DifferenceKind::Extra
        && d.pointer.ends_with("/@contentId")
        && let (Some(items), Some(d_name)) = (items, &rules.delta)
    {
        let base = format!("/body/{}/", token(d_name));
        let index = d
            .pointer
            .strip_prefix(&base)
            .and_then(|t| t.split('/').next())
            .and_then(|i| i.parse::<usize>().ok());
        let carried = index
            .and_then(|j| rules.items.get(j).copied().flatten())
            .and_then(|i| items.get(i))
            .is_some_and(|item| item.get("@contentId").is_some());
        if !carried {
            return Some("docs: an @contentId the request did not carry".into());
        }
    }
    None
}

/// For an extra member of a returned artifact (an added entry of the body, or an artifact of
/// the state after), its collection and name.
fn artifact_member<'p>(
    pointer: &'p str,
    expected: &Expected,
    rules: &RuleMap,
) -> Option<(ArtifactCollection, &'p str)> {
    let mut parts = pointer.trim_start_matches('/').split('/');
    let (root, coll, index, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let index: usize = index.parse().ok()?;
    match root {
        "body" => {
            let d = rules.delta.as_deref()?;
            if coll != token(d) {
                return None;
            }
            let added = matches!(
                rules.entries.get(index).copied().flatten(),
                Some(RuleId::A7 | RuleId::G4)
            );
            let c = ArtifactCollection::from_delta_name(d)?;
            (added && expected.status == 200).then_some((c, name))
        }
        "state" => ArtifactCollection::from_name(coll).map(|c| (c, name)),
        _ => None,
    }
}

/// Whether `name` is a schema property of the collection's artifact type and `value` is `null`
/// or its type's default (`""`, `0`, `0001-01-01T00:00:00Z`).
fn schema_default(collection: ArtifactCollection, name: &str, value: Option<&Value>) -> bool {
    const STRING: &[&str] = &[
        "directoryObjectId",
        "siteId",
        "restoredSiteId",
        "restoredSiteName",
        "restoredSiteWebUrl",
        "restoredFolderId",
        "restoredFolderName",
        "restoredItemKey",
        "restoredItemPath",
        "restoredItemWebUrl",
        "webUrl",
    ];
    const TIME: &[&str] = &[
        "completionDateTime",
        "startDateTime",
        "restorePointDateTime",
    ];
    const INT: &[&str] = &["restoredItemCount", "artifactCount"];
    let allowed: &[&str] = match collection.shape() {
        Shape::GranularItem => match collection {
            ArtifactCollection::GranularDriveRestoreArtifacts => &[
                "completionDateTime",
                "restoredItemKey",
                "restoredItemPath",
                "restoredItemWebUrl",
                "restorePointDateTime",
                "startDateTime",
                "webUrl",
                "directoryObjectId",
            ],
            _ => &[
                "completionDateTime",
                "restoredItemKey",
                "restoredItemPath",
                "restoredItemWebUrl",
                "restorePointDateTime",
                "startDateTime",
                "webUrl",
                "siteId",
            ],
        },
        _ => match collection {
            ArtifactCollection::DriveRestoreArtifacts
            | ArtifactCollection::SiteRestoreArtifacts => &[
                "completionDateTime",
                "startDateTime",
                "error",
                "restoredSiteId",
                "restoredSiteName",
                "restoredSiteWebUrl",
            ],
            ArtifactCollection::MailboxRestoreArtifacts => &[
                "completionDateTime",
                "startDateTime",
                "error",
                "restoredFolderId",
                "restoredFolderName",
                "restoredItemCount",
            ],
            _ => &[
                "completionDateTime",
                "startDateTime",
                "error",
                "restoredFolderId",
                "restoredFolderName",
                "restoredItemCount",
                "artifactCount",
            ],
        },
    };
    if !allowed.contains(&name) {
        return false;
    }
    match value {
        Some(Value::Null) => true,
        Some(Value::String(s)) if STRING.contains(&name) => s.is_empty(),
        Some(Value::String(s)) if TIME.contains(&name) => {
            Timestamp::parse_rfc3339(s).is_ok_and(|t| t.unix_seconds() == -62_135_596_800)
        }
        Some(Value::Number(n)) if INT.contains(&name) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

impl Verdict {
    /// The verdict as one JSON document: `conformant`, `differences`, `tolerated` (each with
    /// `reason`), `binding` and the `expected` status.
    pub fn to_json(&self) -> Value {
        let d = |d: &Difference| {
            json!({
                "pointer": d.pointer, "kind": d.kind.as_str(),
                "expected": d.expected, "observed": d.observed,
                "rule": d.rule.map(RuleId::as_str),
            })
        };
        json!({
            "conformant": self.conformant,
            "differences": self.differences.iter().map(d).collect::<Vec<_>>(),
            "tolerated": self.tolerated.iter().map(|t| {
                        let mut v = d(&t.difference);
                        if let Some(o) = v.as_object_mut() {
                            o.insert("reason".into(), json!(t.reason));
                        }
                        v
                    }).collect::<Vec<_>>(),
            "binding": {
                "ids": self.binding.ids,
                "now": self.binding.now.map(|t| t.to_string()),
                "actor": self.binding.actor,
            },
            "expected": {"status": self.expected.status},
        })
    }
}

impl fmt::Display for Verdict {
    /// A short report for people: the verdict, then one line per difference.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |v: &Option<Value>| match v {
            None => "nothing".to_owned(),
            Some(v) => {
                let t = v.to_string();
                if t.chars().count() > 80 {
                    format!("{}…", t.chars().take(80).collect::<String>())
                } else {
                    t
                }
            }
        };
        if self.conformant {
            write!(f, "conformant")?;
        } else {
            write!(
                f,
                "NOT conformant: {} difference(s)",
                self.differences.len()
            )?;
        }
        if !self.tolerated.is_empty() {
            write!(f, " ({} tolerated)", self.tolerated.len())?;
        }
        for d in &self.differences {
            write!(
                f,
                "\n  {} {} [{}]: expected {}, observed {}",
                d.pointer,
                d.kind.as_str(),
                d.rule.map_or("-", RuleId::as_str),
                short(&d.expected),
                short(&d.observed)
            )?;
        }
        Ok(())
    }
}
