//! The reference check's public types: what was observed, how to judge it (profiles, ignore
//! entries, settings), and the verdict with its differences, binding and expected answer, and
//! how a verdict prints.

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use crate::engine::outcome::{Body, ItemOutcome};
use crate::model::time::Timestamp;
use crate::rule::RuleId;

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
    /// The `Preference-Applied` header, when the tester observed the headers: `Some(None)` for
    /// an answer without one, `Some(Some(value))` for its value (several header fields joined
    /// with `, `); `None` when the headers were not observed (then it is not judged).
    pub preference_applied: Option<Option<&'a str>>,
}

impl<'a> Observed<'a> {
    /// A status and a body (`None` for no body, as a 204 has).
    pub fn new(status: u16, body: Option<&'a [u8]>) -> Self {
        Observed {
            status,
            body,
            state_after: None,
            preference_applied: None,
        }
    }

    /// Adds the `Preference-Applied` header as observed: `None` for an answer that had none
    /// (rule O8 judges it then).
    #[must_use]
    pub fn with_preference_applied(mut self, value: Option<&'a str>) -> Self {
        self.preference_applied = Some(value);
        self
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
    /// The identity the answer writes as `createdBy` (the session's creator, the server's
    /// choice as the caller's identity is), when it is an object that differs from the
    /// reference's.
    pub created_by: Option<Value>,
    /// The error's `innerError` (Graph's `date`, `request-id`, `client-request-id`, …), when
    /// the answer is an error that carries one as an object.
    pub inner_error: Option<Value>,
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
    /// The `Preference-Applied` value (rule O8); `None` for no such header.
    pub preference_applied: Option<String>,
    /// The rule of the whole-request refusal (`E1`–`E9`, or `O1` for an atomic refusal), when
    /// the reference refuses the request: the rule a difference in the status or the error
    /// names (rule C3).
    pub refusal: Option<RuleId>,
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

impl Verdict {
    /// The verdict as one JSON document: `conformant`, `differences`, `tolerated` (each with
    /// `reason`), `binding` (`ids`, `now`, `actor`, `createdBy`, `innerError`) and the
    /// `expected` status and `preferenceApplied`.
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
                "createdBy": self.binding.created_by,
                "innerError": self.binding.inner_error,
            },
            "expected": {
                "status": self.expected.status,
                "preferenceApplied": self.expected.preference_applied,
            },
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
