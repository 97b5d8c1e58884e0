//! A state the library cannot work on (rule S3): the embedder's error, never the client's.

use std::io;
use std::sync::Arc;

use crate::json::{ReadFailure, Syntax};
use crate::model::kinds::ArtifactCollection;

/// A state the library cannot work on: the embedder's fault, never the client's (rule S3).
///
/// [`Session::from_json`](crate::Session::from_json) and
/// [`Session::from_reader`](crate::Session::from_reader) return it; [`apply`](crate::apply) never
/// sees a bad state because it only takes a [`Session`](crate::Session).
///
/// Two errors are equal when they are the same variant with equal data; two
/// [`StateError::Unreadable`] when their I/O errors are of the same kind and say the same.
///
/// ```
/// use restore_delta::{Session, StateError};
/// let error = Session::from_json(b"{\"id\": \"s1\",\n \"status\" \"draft\"}").unwrap_err();
/// assert!(matches!(error, StateError::InvalidJson { line: 2, column: 11, .. }), "{error:?}");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The bytes are not one valid JSON value (or an object in it repeats a member name).
    #[error("state is not valid JSON: {message}")]
    InvalidJson {
        /// What is wrong, as the parser says it (its own position in it).
        message: String,
        /// Where it was found in the state: the line, from 1.
        line: usize,
        /// Where it was found in the state: the column in bytes, from 1 (0 for the start of a
        /// line, before any byte of it: where a state that ends too early ends).
        column: usize,
    },
    /// The state could not be read to its end: the reader given to
    /// [`Session::from_reader`](crate::Session::from_reader) failed. The reader's error is
    /// kept whole ([`std::error::Error::source`], `source.kind()`), shared so that a
    /// `StateError` can be cloned.
    #[error("state can't be read: {source}")]
    Unreadable {
        /// The reader's error.
        #[source]
        source: Arc<io::Error>,
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

impl PartialEq for StateError {
    fn eq(&self, other: &StateError) -> bool {
        use StateError as E;
        match self {
            E::InvalidJson {
                message,
                line,
                column,
            } => matches!(other, E::InvalidJson { message: m, line: l, column: c }
                if (m, l, c) == (message, line, column)),
            E::Unreadable { source } => matches!(other, E::Unreadable { source: s }
                if s.kind() == source.kind() && s.to_string() == source.to_string()),
            E::NotAnObject => matches!(other, E::NotAnObject),
            E::MissingId => matches!(other, E::MissingId),
            E::InvalidMember { member, reason } => matches!(other,
                E::InvalidMember { member: m, reason: r } if (m, r) == (member, reason)),
            E::UnknownKind { odata_type } => {
                matches!(other, E::UnknownKind { odata_type: t } if t == odata_type)
            }
            E::UndeterminedKind => matches!(other, E::UndeterminedKind),
            E::KindContradiction { kind, collection } => matches!(other,
                E::KindContradiction { kind: k, collection: c } if (k, c) == (kind, collection)),
            E::CollectionNotArray { collection } => {
                matches!(other, E::CollectionNotArray { collection: c } if c == collection)
            }
            E::InvalidArtifact {
                collection,
                index,
                reason,
            } => matches!(other, E::InvalidArtifact { collection: c, index: i, reason: r }
                if (c, i, r) == (collection, index, reason)),
            E::DuplicateArtifactId { collection, id } => matches!(other,
                E::DuplicateArtifactId { collection: c, id: i } if (c, i) == (collection, id)),
        }
    }
}

impl Eq for StateError {}

/// The state's text is not the JSON expected.
pub(crate) fn invalid_json(e: Syntax) -> StateError {
    StateError::InvalidJson {
        message: e.message,
        line: e.line,
        column: e.column,
    }
}

/// The error of a state read as needed that could not be read to its end.
pub(crate) fn read_failure(failure: ReadFailure) -> StateError {
    match failure {
        ReadFailure::Io(e) => StateError::Unreadable {
            source: Arc::new(e),
        },
        ReadFailure::NotUtf8 {
            at,
            error_len,
            line,
            column,
        } => StateError::InvalidJson {
            message: crate::json::not_utf8(at, error_len),
            line,
            column,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant equals a copy of itself, and no error equals one that differs in a value
    /// or in its variant.
    #[test]
    fn errors_are_equal_when_their_variant_and_data_are() {
        let io = |kind, text: &str| Arc::new(io::Error::new(kind, text.to_owned()));
        let c = ArtifactCollection::DriveRestoreArtifacts;
        let d = ArtifactCollection::SiteRestoreArtifacts;
        let json = |m: &str, line, column| StateError::InvalidJson {
            message: m.into(),
            line,
            column,
        };
        let member = |m: &str, r: &str| StateError::InvalidMember {
            member: m.into(),
            reason: r.into(),
        };
        let artifact = |c, index, r: &str| StateError::InvalidArtifact {
            collection: c,
            index,
            reason: r.into(),
        };
        let groups: Vec<Vec<StateError>> = vec![
            vec![
                json("m", 1, 2),
                json("n", 1, 2),
                json("m", 2, 2),
                json("m", 1, 3),
            ],
            vec![
                StateError::Unreadable {
                    source: io(io::ErrorKind::Other, "gone"),
                },
                StateError::Unreadable {
                    source: io(io::ErrorKind::Other, "lost"),
                },
                StateError::Unreadable {
                    source: io(io::ErrorKind::BrokenPipe, "gone"),
                },
            ],
            vec![StateError::NotAnObject],
            vec![StateError::MissingId],
            vec![member("a", "r"), member("b", "r"), member("a", "s")],
            vec![
                StateError::UnknownKind {
                    odata_type: "x".into(),
                },
                StateError::UnknownKind {
                    odata_type: "y".into(),
                },
            ],
            vec![StateError::UndeterminedKind],
            vec![
                StateError::KindContradiction {
                    kind: "k".into(),
                    collection: c,
                },
                StateError::KindContradiction {
                    kind: "l".into(),
                    collection: c,
                },
                StateError::KindContradiction {
                    kind: "k".into(),
                    collection: d,
                },
            ],
            vec![
                StateError::CollectionNotArray { collection: c },
                StateError::CollectionNotArray { collection: d },
            ],
            vec![
                artifact(c, 0, "r"),
                artifact(d, 0, "r"),
                artifact(c, 1, "r"),
                artifact(c, 0, "s"),
            ],
            vec![
                StateError::DuplicateArtifactId {
                    collection: c,
                    id: "a".into(),
                },
                StateError::DuplicateArtifactId {
                    collection: d,
                    id: "a".into(),
                },
                StateError::DuplicateArtifactId {
                    collection: c,
                    id: "b".into(),
                },
            ],
        ];
        let all: Vec<&StateError> = groups.iter().flatten().collect();
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                assert_eq!(a == b, i == j, "{a:?} == {b:?}");
            }
            assert_eq!(*a, &(*a).clone());
        }
    }
}
