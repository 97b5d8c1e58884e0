//! Errors the embedder must handle (rule S3) and the error codes of responses.

use std::fmt;

use crate::engine::outcome::Response;
use crate::engine::render;
use crate::model::kinds::ArtifactCollection;
use crate::rule::RuleId;

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

/// The `code` of an error response or of a per-item failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 413: the body is larger than the byte limit (rule E1).
    RequestEntityTooLarge,
    /// 400: malformed or not allowed (rules E2, E4, E5, E8, E9, X1, X2, A1, A6, G1–G2).
    InvalidPatchRequest,
    /// 403: the session is not a draft, or is a bulk session (rule E3); a session that can't be
    /// activated, deleted or stepped (rules L5, L6, L7).
    RestoreSessionActionNotAllowed,
    /// 400: no artifact list (rule E6); in a create, an empty or `null` list or an item the
    /// addition rules refuse as malformed (rule L2).
    InvalidArtifactRequest,
    /// 400: too many items (rule E7); 413 in a create (rule L2).
    RestoreArtifactsLimitBreached,
    /// 409: the id to remove is not in the collection (rule X3).
    Invalid,
    /// 400: bad restore point reference (rule A2).
    InvalidRestorePoint,
    /// 400: destination type neither `new` nor `inPlace` (rule A3).
    InvalidPathType,
    /// 400: the restore target is already in the collection (rules A4, A6, G3).
    DuplicateArtifactInList,
    /// 400: the session already restores to the other destination type (rule A5).
    DifferentRestoreDestinationType,
    /// 500: the id source yielded no fresh id (see [`IdSource`](crate::IdSource)).
    InternalServerError,
    /// 400: a restore-session id that is empty or malformed (rule L4).
    InvalidRestoreSessionId,
    /// 404: no restore session has this id (rule L4).
    RestoreSessionNotFound,
    /// 500: 25 sessions are already activating or active (rule L6).
    TooManyActiveRestoreSessions,
    /// 400 `invalidRequest`, Graph's general code for a malformed request: a create body that
    /// is not acceptable (rule L1).
    InvalidRequest,
}

impl ErrorCode {
    /// The code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::RequestEntityTooLarge => "RequestEntityTooLarge",
            ErrorCode::InvalidPatchRequest => "InvalidPatchRequest",
            ErrorCode::RestoreSessionActionNotAllowed => "RestoreSessionActionNotAllowed",
            ErrorCode::InvalidArtifactRequest => "InvalidArtifactRequest",
            ErrorCode::RestoreArtifactsLimitBreached => "RestoreArtifactsLimitBreached",
            ErrorCode::Invalid => "Invalid",
            ErrorCode::InvalidRestorePoint => "InvalidRestorePoint",
            ErrorCode::InvalidPathType => "InvalidPathType",
            ErrorCode::DuplicateArtifactInList => "DuplicateArtifactInList",
            ErrorCode::DifferentRestoreDestinationType => "DifferentRestoreDestinationType",
            ErrorCode::InternalServerError => "InternalServerError",
            ErrorCode::InvalidRestoreSessionId => "InvalidRestoreSessionId",
            ErrorCode::RestoreSessionNotFound => "RestoreSessionNotFound",
            ErrorCode::TooManyActiveRestoreSessions => "TooManyActiveRestoreSessions",
            ErrorCode::InvalidRequest => "invalidRequest",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A whole-request error (rules E1–E9, and O1 in atomic mode): the response is this error and
/// the state is unchanged (rule O2). Also a refused lifecycle request (rules L1–L9), as
/// [`lifecycle::LifecycleError`](crate::lifecycle::LifecycleError).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
#[non_exhaustive]
pub struct RequestError {
    /// The HTTP status.
    pub status: u16,
    /// The error code.
    pub code: ErrorCode,
    /// A message for people.
    pub message: String,
    /// The rule that refused the request (`E1`–`E9`; `O1` for an atomic refusal; `L1`–`L9` for
    /// a lifecycle request).
    pub rule: RuleId,
}

impl RequestError {
    pub(crate) fn new(
        rule: RuleId,
        status: u16,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        RequestError {
            rule,
            status,
            code,
            message: message.into(),
        }
    }

    /// The response [`apply`](crate::apply) answers with when it refuses a request with this
    /// error: its status and the body `{"error": {"code", "message"}}`. For an error of
    /// [`Request::parse`](crate::Request::parse), this is the response to send. (An atomic
    /// refusal, rule O1, also lists every failed item; its response is in
    /// [`Applied::response`](crate::Applied).)
    ///
    /// ```
    /// use restore_delta::{Options, Request};
    /// let error = Request::parse(b"{", &Options::default()).unwrap_err();
    /// let response = error.response();
    /// assert_eq!(response.status, 400);
    /// assert!(response.body.unwrap().get().starts_with(r#"{"error":{"code":"InvalidPatchRequest""#));
    /// ```
    pub fn response(&self) -> Response {
        Response {
            status: self.status,
            body: Some(render::error_body(self, &[], None)),
            preference_applied: None,
        }
    }

    /// The body of [`RequestError::response`], `{"error":{"code","message"}}`, as text.
    pub fn body(&self) -> String {
        render::error_body(self, &[], None).into_string()
    }
}
