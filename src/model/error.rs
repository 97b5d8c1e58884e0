//! A state the library cannot work on (rule S3): the embedder's error, never the client's.

use crate::json::ReadFailure;
use crate::model::kinds::ArtifactCollection;

/// A state the library cannot work on: the embedder's fault, never the client's (rule S3).
///
/// [`Session::from_json`](crate::Session::from_json) and
/// [`Session::from_reader`](crate::Session::from_reader) return it; [`apply`](crate::apply) never
/// sees a bad state because it only takes a [`Session`](crate::Session).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The bytes are not one valid JSON value (or an object in it repeats a member name).
    #[error("state is not valid JSON: {message}")]
    InvalidJson {
        /// The parser's message, with line and column.
        message: String,
    },
    /// The state could not be read to its end: the reader given to
    /// [`Session::from_reader`](crate::Session::from_reader) failed.
    #[error("state can't be read: {message}")]
    Unreadable {
        /// The I/O error's message.
        message: String,
    },
    /// The state is valid JSON but not an object.
    #[error("state is not a JSON object")]
    NotAnObject,
    /// The session has no `id`, or it is not a non-empty string.
    #[error("state has no session `id` (a non-empty string)")]
    MissingId,
    /// A modeled session member has the wrong JSON type.
    #[error("state member `{member}` {reason}")]
    InvalidMember {
        /// The member's name.
        member: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `@odata.type` names no restore-session kind.
    #[error("state `@odata.type` {odata_type:?} is not a restore session type")]
    UnknownKind {
        /// The value found.
        odata_type: String,
    },
    /// Neither `@odata.type` nor any collection name tells the kind.
    #[error("state kind can't be told: no `@odata.type` and no artifact collection member")]
    UndeterminedKind,
    /// A collection member belongs to another kind than the session's.
    #[error("state holds `{collection}`, which a {kind} does not have")]
    KindContradiction {
        /// The session's kind, from `@odata.type` or from another collection.
        kind: String,
        /// The collection that does not belong.
        collection: ArtifactCollection,
    },
    /// An artifact collection member is not an array.
    #[error("state collection `{collection}` is not an array")]
    CollectionNotArray {
        /// The collection.
        collection: ArtifactCollection,
    },
    /// An artifact is not an object, has no `id`, or a member the rules read has the wrong type.
    #[error("state artifact {collection}[{index}] {reason}")]
    InvalidArtifact {
        /// The collection.
        collection: ArtifactCollection,
        /// The artifact's position in it.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// Two artifacts of one collection share an `id`.
    #[error("state collection `{collection}` holds two artifacts with id {id:?}")]
    DuplicateArtifactId {
        /// The collection.
        collection: ArtifactCollection,
        /// The repeated id.
        id: String,
    },
}

/// The error of a state read as needed that could not be read to its end.
pub(crate) fn read_failure(failure: ReadFailure) -> StateError {
    match failure {
        ReadFailure::Io(e) => StateError::Unreadable {
            message: e.to_string(),
        },
        ReadFailure::NotUtf8 { at, error_len } => StateError::InvalidJson {
            message: crate::json::not_utf8(at, error_len),
        },
    }
}
