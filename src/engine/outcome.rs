//! What an apply returns: the new state, the HTTP response, and one outcome per item.

use std::fmt;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::engine::error::{ErrorCode, RequestError};
use crate::model::session::Session;
use crate::rule::RuleId;

/// A response body: JSON text this crate wrote.
///
/// Its bytes are deterministic: they do not depend on the features serde_json was built with.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Body(String);

impl Body {
    pub(crate) fn new(json: String) -> Self {
        Body(json)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The body as a `serde_json::Value`.
    pub fn to_value(&self) -> Option<Value> {
        serde_json::from_str(&self.0).ok()
    }

    /// The JSON text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Serializes as the JSON it holds (checked once more on the way, as serde_json requires).
impl serde::Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

/// The HTTP response to the PATCH.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct Response {
    /// 200, 204, or the status of a whole-request error.
    pub status: u16,
    /// The JSON body; `None` for 204.
    pub body: Option<Body>,
    /// The value of the `Preference-Applied` header: the preferences of the request's `Prefer`
    /// header that were honoured, such as `return=minimal` (rule O8); `None` when none was.
    pub preference_applied: Option<String>,
}

impl Response {
    /// The body as a `serde_json::Value`.
    pub fn body_value(&self) -> Option<Value> {
        self.body.as_ref().and_then(Body::to_value)
    }
}

/// The kind of change a failed item asked for, as `failedOperation` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// An addition (`"insert"`, OData's operation kind).
    Insert,
    /// A removal (`"remove"`, as Graph documents it).
    Remove,
}

impl Operation {
    /// The `failedOperation` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Remove => "remove",
        }
    }
}

/// Why one item failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ItemFailure {
    /// What the item asked for.
    pub operation: Operation,
    /// The HTTP status of the failure (`responseCode`).
    pub status: u16,
    /// The error code.
    pub code: ErrorCode,
    /// A message for people.
    pub message: String,
    /// The rule that failed the item (`X1`, `A4`, `G3`, …).
    pub rule: RuleId,
}

impl ItemFailure {
    pub(crate) fn new(
        rule: RuleId,
        operation: Operation,
        status: u16,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        ItemFailure {
            rule,
            operation,
            status,
            code,
            message: message.into(),
        }
    }
}

/// The outcome of one item, in request order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// A new artifact with this id was appended.
    Added {
        /// The new artifact's id.
        id: String,
        /// The rule that shaped it: `A7` (standard and granular mailbox artifacts, a
        /// generated id) or `G4` (granular drive and site artifacts, the item key).
        rule: RuleId,
    },
    /// The artifact with this id was removed (or, with
    /// [`MissingRemoval::Succeed`](crate::MissingRemoval::Succeed), was already absent).
    Removed {
        /// The id the item named.
        id: String,
        /// Whether the artifact was in the evolving collection (rule X4); `false` for a
        /// removal of an absent id that succeeded as a no-op (rule X3).
        existed: bool,
    },
    /// The item failed; nothing of it was applied.
    Failed(ItemFailure),
    /// Atomic mode only: the item would have succeeded, but another one failed, so nothing was
    /// applied.
    NotApplied,
}

impl ItemOutcome {
    /// The rule that decided this outcome: `A7` or `G4` for an addition, `X4` for a removal
    /// (`X3` when the id was absent and removing it was a no-op), the failing rule of a failure,
    /// `O1` for an item not applied because another failed.
    ///
    /// ```
    /// use restore_delta::{ItemOutcome, RuleId};
    /// let o = ItemOutcome::Removed { id: "a1".into(), existed: true };
    /// assert_eq!(o.rule(), RuleId::X4);
    /// ```
    pub fn rule(&self) -> RuleId {
        match self {
            ItemOutcome::Added { rule, .. } => *rule,
            ItemOutcome::Removed { existed: true, .. } => RuleId::X4,
            ItemOutcome::Removed { existed: false, .. } => RuleId::X3,
            ItemOutcome::Failed(f) => f.rule,
            ItemOutcome::NotApplied => RuleId::O1,
        }
    }
}

/// The result of [`apply_in_place`](crate::apply_in_place): the response and the outcomes; the
/// session was changed where it is.
#[derive(Debug)]
#[non_exhaustive]
#[must_use]
pub struct Answer {
    /// The HTTP response.
    pub response: Response,
    /// One outcome per item, in request order; empty when the request was refused before its
    /// items were looked at.
    pub outcomes: Vec<ItemOutcome>,
    /// The whole-request error, when the response is one.
    pub error: Option<RequestError>,
}

/// The result of [`apply`](crate::apply) and [`apply_request`](crate::apply_request): the new
/// state, and the [`Answer`] that [`apply_in_place`](crate::apply_in_place) gives.
///
/// ```
/// use restore_delta::{apply, Applied, Context, Options, SeededIds, Session, Timestamp};
/// let state = Session::from_json(br##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession",
///     "id":"s1","status":"draft"}"##).unwrap();
/// let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
/// let mut ctx = Context::new(now, SeededIds::new(1));
/// let Applied { state, answer, .. } = apply(state, b"{", &Options::default(), &mut ctx);
/// assert_eq!(answer.response.status, 400);
/// assert_eq!(state.id(), "s1");
/// ```
#[derive(Debug)]
#[non_exhaustive]
#[must_use]
pub struct Applied {
    /// The new state: the input state when the request was refused as a whole.
    pub state: Session,
    /// The response, one outcome per item, and the whole-request error when there is one.
    pub answer: Answer,
}
