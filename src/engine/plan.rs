//! What the decisions of a request produce: one decision per item, the new artifacts (pending)
//! and the stored artifacts to remove; `commit` applies them and `render` writes the answer
//! from them.

use std::borrow::Cow;
use std::ops::Range;

use crate::engine::outcome::ItemFailure;
use crate::model::collection::StoredFacts;
use crate::model::strref::Spans;

/// What a removal targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A stored artifact, by sequence number, with its id's hash.
    Stored(usize, u64),
    /// An artifact added by an earlier item of this request.
    Pending(usize),
    /// Nothing ([`MissingRemoval::Succeed`](crate::MissingRemoval::Succeed)).
    Missing,
}

/// The decision for one item; strings borrow from the request.
#[derive(Debug)]
pub(crate) enum Decision<'r> {
    /// Index into [`Plan::pending`].
    Added(usize),
    Removed {
        id: &'r str,
        reason: &'static str,
        /// False for a no-op removal of an absent id
        /// ([`MissingRemoval::Succeed`](crate::MissingRemoval::Succeed)).
        existed: bool,
    },
    Failed(ItemFailure),
}

/// A new artifact, decided but not committed. Its facts borrow from the request.
#[derive(Debug)]
pub(crate) struct Pending<'r> {
    pub(crate) id: Cow<'r, str>,
    /// The id's hash in the collection's id index
    /// ([`Collection::hash_id`](crate::model::collection::Collection::hash_id)).
    pub(crate) id_hash: u64,
    /// `(restore point, searchResponseId)`, for standard and mailbox artifacts.
    pub(crate) key: Option<(&'r str, Option<&'r str>)>,
    /// The key's hash in the duplicate-key index
    /// ([`Collection::hash_key`](crate::model::collection::Collection::hash_key)).
    pub(crate) key_hash: Option<u64>,
    pub(crate) destination: Option<&'static str>,
    /// Where its JSON text is in [`Plan::json`].
    pub(crate) json: Range<usize>,
    /// Where `id`, the key and the destination are spelled in its JSON text.
    pub(crate) spans: Spans,
    /// False once a later item of the request removed it.
    pub(crate) alive: bool,
    /// How many stored artifacts earlier items removed: the id had to be absent from the
    /// stored collection but for the first `removed_before` of [`Plan::removed`].
    pub(crate) removed_before: usize,
}

impl<'r> Pending<'r> {
    pub(crate) fn facts(&self) -> StoredFacts<'_> {
        StoredFacts {
            id: &self.id,
            key: self.key,
            destination: self.destination,
        }
    }
}

/// Every decision of a request, and what committing them changes.
#[derive(Debug)]
pub(crate) struct Plan<'r> {
    pub(crate) decisions: Vec<Decision<'r>>,
    pub(crate) pending: Vec<Pending<'r>>,
    /// Stored artifacts to remove, in request order.
    pub(crate) removed: Vec<Removal>,
    /// The request time as written in JSON (`createdDateTime`, `lastModifiedDateTime`).
    pub(crate) now: String,
    /// The JSON texts of the new artifacts, one after the other (one allocation, not one each).
    pub(crate) json: String,
}

impl Plan<'_> {
    /// The JSON text of a new artifact of this plan.
    pub(crate) fn json_of(&self, p: &Pending<'_>) -> &str {
        self.json.get(p.json.clone()).unwrap_or("{}")
    }

    pub(crate) fn any_failed(&self) -> bool {
        self.decisions
            .iter()
            .any(|d| matches!(d, Decision::Failed(_)))
    }

    /// Whether any addition succeeded (even if a later item removed it again).
    pub(crate) fn added_any(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// A stored artifact to remove: its position and the hash of its id
/// ([`Collection::hash_id`](crate::model::collection::Collection::hash_id)), computed while
/// deciding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Removal {
    pub(crate) seq: usize,
    pub(crate) id_hash: u64,
}
