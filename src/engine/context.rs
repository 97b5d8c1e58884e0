//! What the caller passes in besides the session and the body: the clock value, the id source
//! and the caller's identity (rules D1, O6).

use serde_json::Value;
use serde_json::value::RawValue;

use crate::engine::ids::{IdSource, SeededIds};
use crate::json::{to_raw, write_value};
use crate::model::time::Timestamp;

/// The inputs of one apply that a service would take from its environment.
///
/// ```
/// use restore_delta::{Context, SeededIds, Timestamp};
/// let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
/// let ctx = Context::new(now, SeededIds::new(42))
///     .with_actor(&serde_json::json!({"user": {"id": "u1", "displayName": "Ada"}}));
/// assert!(ctx.actor.is_some());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Context<I: IdSource = SeededIds> {
    /// The time of the request: `createdDateTime` of new artifacts, `lastModifiedDateTime`.
    pub now: Timestamp,
    /// Where the ids of new standard artifacts come from.
    pub ids: I,
    /// The caller's identity (an `identitySet`), written to `lastModifiedBy` when set.
    pub actor: Option<Box<RawValue>>,
}

impl<I: IdSource> Context<I> {
    /// A context with no caller identity.
    pub fn new(now: Timestamp, ids: I) -> Self {
        Context {
            now,
            ids,
            actor: None,
        }
    }

    /// Sets the caller's identity, written verbatim (object members sorted) as `lastModifiedBy`.
    #[must_use]
    pub fn with_actor(mut self, actor: &Value) -> Self {
        let mut text = String::new();
        write_value(&mut text, actor);
        self.actor = Some(to_raw(text));
        self
    }
}
