//! A refused request and the error codes of responses. (A state the library cannot work on is
//! [`StateError`](crate::StateError), in `model`.)

use std::fmt;

use crate::rule::RuleId;

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
/// the state is unchanged (rule O2). Also a refused lifecycle request (rules L1–L9): every
/// function of [`lifecycle`](crate::lifecycle) refuses with it.
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
}
