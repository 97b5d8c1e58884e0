//! The rest of a restore session's life, around the PATCH: create, get, list, delete, activate
//! and the statuses that follow on a clock (rules L1–L9 of `docs/SEMANTICS.md`).
//!
//! Pure like the rest of the crate: no IO, no clock, no randomness. Time comes in as a
//! [`Timestamp`], ids from the [`Context`]'s [`IdSource`], the share of failed artifacts from a
//! seed in the [`Schedule`]: the same inputs give the same bytes. A server keeps each
//! [`Session`] and, once it is activated, the [`Progress`] [`activate`] returned beside it, and
//! calls [`catch_up`] with its clock before it reads the session.
//!
//! ```
//! use restore_delta::lifecycle::{self, Schedule, Transitions};
//! use restore_delta::{Context, Options, SeededIds, SessionKind, SessionStatus, Timestamp};
//! let t0 = Timestamp::parse_rfc3339("2026-11-30T08:00:00Z").unwrap();
//! let mut ctx = Context::new(t0, SeededIds::new(7));
//! let body = br##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession",
//!     "driveRestoreArtifacts":[{"destinationType":"new","restorePoint":{"id":"rp1"}}]}"##;
//! let mut session =
//!     lifecycle::create(SessionKind::OneDriveForBusiness, body, &Options::default(), &mut ctx)
//!         .unwrap();
//! assert_eq!(session.status(), &SessionStatus::Draft);
//! let schedule = Schedule::new(Transitions::Timed { to_active_secs: 10, to_completed_secs: 60 });
//! let mut progress = lifecycle::activate(&mut session, 0, &schedule, t0).unwrap();
//! assert_eq!(session.status(), &SessionStatus::Activating);
//! let later = Timestamp::parse_rfc3339("2026-11-30T08:01:10Z").unwrap();
//! assert!(lifecycle::catch_up(&mut session, &mut progress, later));
//! assert_eq!(session.status(), &SessionStatus::Completed);
//! ```
//!
//! A refused request is a [`RequestError`], the same type as a refused PATCH: its HTTP status,
//! Graph error code and message, and the rule that refused it (`L1`–`L9`; a create refused by
//! the byte limit or by an addition rule names `L1` or `L2`). [`RequestError::response`] is the
//! answer to send (a server adds `innerError`), [`RequestError::body`] its body.
//!
//! ```
//! use restore_delta::lifecycle;
//! let error = lifecycle::check_session_id("").unwrap_err();
//! assert_eq!((error.status, error.code.as_str()), (400, "InvalidRestoreSessionId"));
//! assert!(error.body().starts_with(r#"{"error":{"code":"InvalidRestoreSessionId","message":"#));
//! ```

mod create;
mod edit;
pub mod query;
mod read;
mod schedule;

use crate::engine::error::{ErrorCode, RequestError};
use crate::model::enums::SessionStatus;
use crate::model::session::Session;
use crate::rule::RuleId;

#[cfg(doc)]
use crate::{Context, IdSource, Timestamp};

pub use create::create;
pub use read::{render_artifacts, render_session};
pub use schedule::{Progress, Schedule, Transitions, activate, catch_up, step};

/// At most this many sessions may be `activating` or `active` at once (rule L6).
pub const MAX_ACTIVE_SESSIONS: usize = 25;

/// The default limit of artifacts in a create (rule L2), kept for one release: the limit in
/// force is [`Options::max_items`](crate::Options::max_items), whose default is
/// [`Options::DEFAULT_MAX_ITEMS`](crate::Options::DEFAULT_MAX_ITEMS).
#[deprecated(
    note = "the limit in force is `Options::max_items`; its default is `Options::DEFAULT_MAX_ITEMS`"
)]
pub const MAX_CREATE_ARTIFACTS: usize = crate::Options::DEFAULT_MAX_ITEMS;

/// The longest session id [`check_session_id`] accepts, in bytes (rule L4).
pub const MAX_SESSION_ID_BYTES: usize = 256;

/// The former name of a refused lifecycle request, kept for one release: every lifecycle
/// function refuses with a [`RequestError`], the same type as a refused PATCH.
#[deprecated(note = "use `restore_delta::RequestError`, the type every lifecycle function returns")]
pub type LifecycleError = RequestError;

/// Rule L4: whether `raw`, a session id taken from a request path (percent-decoded), can name a
/// session. Empty or malformed is 400 `InvalidRestoreSessionId`; malformed means longer than
/// [`MAX_SESSION_ID_BYTES`], white space at either end, or a control character, `/` or `\`
/// anywhere. Anything else is only looked up (ids are opaque: stored sessions may have any
/// non-empty string id, rule S3), and an id no session has is [`not_found`].
///
/// ```
/// use restore_delta::lifecycle::check_session_id;
/// assert!(check_session_id("959ba739-70b5-43c4-8c90-b2c22014f18b").is_ok());
/// assert!(check_session_id("s1").is_ok());
/// assert!(check_session_id(" s1").is_err());
/// assert!(check_session_id("a/b").is_err());
/// ```
pub fn check_session_id(raw: &str) -> Result<(), RequestError> {
    let invalid = |why: &str| {
        RequestError::new(
            RuleId::L4,
            400,
            ErrorCode::InvalidRestoreSessionId,
            format!("Restore session ID invalid, null, or empty: {why}."),
        )
    };
    if raw.is_empty() {
        return Err(invalid("the ID is empty"));
    }
    if raw.len() > MAX_SESSION_ID_BYTES {
        return Err(invalid(&format!(
            "the ID is longer than {MAX_SESSION_ID_BYTES} bytes"
        )));
    }
    if raw.trim() != raw {
        return Err(invalid("the ID starts or ends with white space"));
    }
    if raw.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err(invalid("the ID holds a control character, `/` or `\\`"));
    }
    Ok(())
}

/// Rule L4: 404 `RestoreSessionNotFound` for a well-formed id no session has.
pub fn not_found(raw: &str) -> RequestError {
    let mut shown = String::new();
    crate::json::write_str(&mut shown, raw);
    RequestError::new(
        RuleId::L4,
        404,
        ErrorCode::RestoreSessionNotFound,
        format!("Valid ID but session not found: {shown}."),
    )
}

/// Rule L5: a session can be deleted only in `draft` (403 `RestoreSessionActionNotAllowed`
/// otherwise, unknown statuses included). The server then answers 204.
pub fn check_delete(session: &Session) -> Result<(), RequestError> {
    if session.status() == &SessionStatus::Draft {
        Ok(())
    } else {
        Err(not_allowed(
            RuleId::L5,
            "Restore session can only be deleted in Draft state.",
        ))
    }
}

/// Whether the session counts toward [`MAX_ACTIVE_SESSIONS`]: `activating` or `active` (rule L6).
pub fn is_busy(session: &Session) -> bool {
    matches!(
        session.status(),
        SessionStatus::Activating | SessionStatus::Active
    )
}

/// 403 `RestoreSessionActionNotAllowed` under `rule`.
fn not_allowed(rule: RuleId, message: &str) -> RequestError {
    RequestError::new(
        rule,
        403,
        ErrorCode::RestoreSessionActionNotAllowed,
        message,
    )
}
