//! The request envelope: whole-request checks E1–E9, in order, first failure wins.

use crate::engine::error::{ErrorCode, RequestError};
use crate::engine::options::Options;
use crate::json::borrowed::{self, Json, Object};
use crate::model::enums::SessionStatus;
use crate::model::kinds::{ArtifactCollection, SessionKind, type_name_matches};
use crate::model::session::Session;
use crate::rule::RuleId;

/// The message of `InvalidPatchRequest` in Graph's error table.
pub(crate) const MALFORMED: &str = "Can't process the request because it's malformed or incorrect.";

/// An accepted envelope: the collection it edits and its items, each a JSON object.
#[derive(Debug)]
pub(crate) struct Envelope<'r, 'b> {
    pub(crate) collection: ArtifactCollection,
    /// The items, borrowing their strings from the body where they can.
    pub(crate) items: Vec<&'r Object<'b>>,
}

pub(crate) fn malformed(rule: RuleId, detail: impl std::fmt::Display) -> RequestError {
    RequestError::new(
        rule,
        400,
        ErrorCode::InvalidPatchRequest,
        format!("{MALFORMED} {detail}"),
    )
}

/// A PATCH body that passed the checks that need no session: rules E1 (size) and E2 (UTF-8,
/// JSON, an object, bounded depth, no duplicate member names).
///
/// [`Request::parse`] then [`apply_request`](crate::apply_request) is [`apply`](crate::apply)
/// in two steps, with the same responses: a server can read and check a body before it takes
/// the session (outside a lock, say), and a caller can time the two apart. The request borrows
/// its strings from the body.
///
/// ```
/// use restore_delta::{Options, Request};
/// let options = Options::default();
/// let body = br#"{"driveRestoreArtifacts@delta":[{"@removed":{"reason":"changed"},"id":"a1"}]}"#;
/// assert!(Request::parse(body, &options).is_ok());
/// let error = Request::parse(b"[]", &options).unwrap_err();
/// assert_eq!((error.status, error.code.as_str()), (400, "InvalidPatchRequest"));
/// ```
#[derive(Debug)]
pub struct Request<'b> {
    body: Object<'b>,
}

impl<'b> Request<'b> {
    /// Checks rules E1 and E2 on `body` with the limits of `options` (`max_bytes`,
    /// `max_depth`); the error is the one [`apply`](crate::apply) would answer with.
    pub fn parse(body: &'b [u8], options: &Options) -> Result<Request<'b>, RequestError> {
        // E1: bound memory before parsing.
        if body.len() > options.max_bytes {
            return Err(RequestError::new(
                RuleId::E1,
                413,
                ErrorCode::RequestEntityTooLarge,
                format!(
                    "The request body is larger than the limit of {} bytes.",
                    options.max_bytes
                ),
            ));
        }
        // E2: UTF-8, JSON, an object, bounded depth, no duplicate member names.
        let text = std::str::from_utf8(body)
            .map_err(|e| malformed(RuleId::E2, format_args!("The body is not UTF-8 ({e}).")))?;
        let value = borrowed::parse(text, options.max_depth).map_err(|e| {
            malformed(
                RuleId::E2,
                format_args!("The body is not acceptable JSON: {e}."),
            )
        })?;
        let Json::Object(body) = value else {
            return Err(malformed(RuleId::E2, "The body is not a JSON object."));
        };
        Ok(Request { body })
    }
}

impl<'b> Request<'b> {
    /// The body object.
    pub(crate) fn object(&self) -> &Object<'b> {
        &self.body
    }

    /// The collection of `kind` whose delta the body carries (the standard one when it carries
    /// both, which rule E5 refuses).
    pub(crate) fn edited_collection(&self, kind: SessionKind) -> Option<ArtifactCollection> {
        [kind.standard(), kind.granular()]
            .into_iter()
            .find(|c| self.body.contains_key(c.delta_name()))
    }
}

/// Runs checks E3–E9 on a parsed body (E1 and E2 passed) against a session.
pub(crate) fn envelope<'r, 'b>(
    session: &Session,
    request: &'r Request<'b>,
    options: &Options,
) -> Result<Envelope<'r, 'b>, RequestError> {
    let body = &request.body;
    // E3: only drafts, and never bulk sessions.
    if session.status() != &SessionStatus::Draft {
        return Err(RequestError::new(
            RuleId::E3,
            403,
            ErrorCode::RestoreSessionActionNotAllowed,
            "Restore session can only be patched in Draft state.",
        ));
    }
    if session.is_bulk() {
        return Err(RequestError::new(
            RuleId::E3,
            403,
            ErrorCode::RestoreSessionActionNotAllowed,
            "Patch operations aren't supported for bulk restore sessions.",
        ));
    }
    // E4: every member allowed; names looked at in sorted order so the message does not depend
    // on member order.
    let kind = session.kind();
    // Members, not names looked up again: a body may hold a hundred thousand of them.
    let mut members: Vec<(&str, &Json<'_>)> = body.iter().collect();
    members.sort_unstable_by_key(|&(name, _)| name);
    let mut deltas: Vec<ArtifactCollection> = Vec::new();
    for (name, value) in members {
        check_member(session, name, value, &mut deltas)?;
    }
    // E5: one family per request.
    let collection = match deltas.as_slice() {
        [] => None,
        [one] => Some(*one),
        _ => {
            return Err(malformed(
                RuleId::E5,
                format_args!(
                    "A request can't include both `{}` and `{}`.",
                    kind.standard().delta_name(),
                    kind.granular().delta_name()
                ),
            ));
        }
    };
    // E6: a non-empty array.
    let empty = || {
        RequestError::new(
            RuleId::E6,
            400,
            ErrorCode::InvalidArtifactRequest,
            "Empty or null restore artifact list.",
        )
    };
    let collection = collection.ok_or_else(empty)?;
    let items = match body.get(collection.delta_name()) {
        Some(Json::Array(items)) if !items.is_empty() => items,
        _ => return Err(empty()),
    };
    // E7: the per-request limit.
    if items.len() > options.max_items {
        return Err(RequestError::new(
            RuleId::E7,
            400,
            ErrorCode::RestoreArtifactsLimitBreached,
            format!(
                "Exceeded maximum artifacts limit of {} for single request.",
                options.max_items
            ),
        ));
    }
    // E8: every item an object.
    let mut objects = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match item {
            Json::Object(m) => objects.push(m),
            other => {
                return Err(malformed(
                    RuleId::E8,
                    format_args!(
                        "Item {index} of `{}` is {}, not an object.",
                        collection.delta_name(),
                        json_type(other)
                    ),
                ));
            }
        }
    }
    // E9: the session keeps one family.
    let other = kind.collection(collection.family().other());
    if session.artifact_count(other) > 0 {
        return Err(malformed(
            RuleId::E9,
            format_args!(
                "The session already holds `{}`; it can't also take `{}`.",
                other.name(),
                collection.name()
            ),
        ));
    }
    Ok(Envelope {
        collection,
        items: objects,
    })
}

/// Rule E4 for one member of the body.
fn check_member(
    session: &Session,
    name: &str,
    value: &Json<'_>,
    deltas: &mut Vec<ArtifactCollection>,
) -> Result<(), RequestError> {
    let kind = session.kind();
    if let Some(c) = ArtifactCollection::from_delta_name(name) {
        if c.kind() == kind {
            deltas.push(c);
            return Ok(());
        }
        return Err(malformed(
            RuleId::E4,
            format_args!("`{name}` is not a collection of a {}.", kind.odata_type()),
        ));
    }
    if name.ends_with("@delta") {
        return Err(malformed(
            RuleId::E4,
            format_args!("`{name}` is not a collection of a {}.", kind.odata_type()),
        ));
    }
    match name {
        "@odata.type" => match value {
            Json::String(t) if type_name_matches(t, kind.odata_type()) => Ok(()),
            _ => Err(malformed(
                RuleId::E4,
                format_args!("`@odata.type` must be \"{}\".", kind.odata_type()),
            )),
        },
        "id" => match value {
            Json::String(id) if id == session.id() => Ok(()),
            _ => Err(malformed(
                RuleId::E4,
                "`id` does not match the session's id; a session's id can't be changed.",
            )),
        },
        _ if name.contains('@') => Ok(()),
        _ if ArtifactCollection::from_name(name).is_some() => Err(malformed(
            RuleId::E4,
            format_args!(
                "`{name}` would replace the whole collection; send `{name}@delta` instead."
            ),
        )),
        _ => Err(malformed(
            RuleId::E4,
            format_args!("`{name}` can't be set by this request."),
        )),
    }
}

pub(crate) fn json_type(v: &Json<'_>) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}
