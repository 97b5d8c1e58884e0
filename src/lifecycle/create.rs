//! Creating a restore session (rules L1–L3): the body as Microsoft's SDKs send it, its
//! artifacts decided by the engine's addition rules, the new session in `draft`.

use crate::engine::commit;
use crate::engine::context::Context;
use crate::engine::decide;
use crate::engine::draw::MAX_DRAWS_PER_ITEM;
use crate::engine::error::{ErrorCode, RequestError};
use crate::engine::ids::IdSource;
use crate::engine::options::Options;
use crate::engine::prepare::prepare;
use crate::engine::request::{Request, json_type};
use crate::json::borrowed::{Json, Object};
use crate::json::write_str;
use crate::model::kinds::{ArtifactCollection, SessionKind, type_name_matches};
use crate::model::session::Session;
use crate::rule::RuleId;

use super::check_session_id;
use super::edit::quoted;

/// Creates a session of `kind` from a create body (`POST …/{kind}RestoreSessions`), as
/// Microsoft's SDKs send it: a deep insert of the plain collection, no `@delta`.
///
/// Rule L1, the body: first E1's byte limit, 413 `RequestEntityTooLarge`. An empty body (no
/// bytes, or only white space), `{}`, or a body without a collection gives an empty standard
/// session. Otherwise it is a JSON object (E2's checks, 400 `invalidRequest`) whose members may be: the
/// standard or the granular collection of `kind` (not both), `@odata.type` naming `kind`
/// (compared as rule S2 does), and annotations (names holding `@`, but not `name@delta`). Any
/// other member is 400 `invalidRequest`.
///
/// Rule L2, the artifacts: the collection `null` or `[]` is 400 `InvalidArtifactRequest`, not an
/// array or an item that is not an object or is a removal is 400 `invalidRequest`, more items
/// than [`Options::max_items`] is 413 `RestoreArtifactsLimitBreached`. Each item is then decided
/// by the PATCH's addition rules (A1–A7, G1–G4) against the collection the earlier items built,
/// exactly as in a PATCH; a refusal keeps its status and code (`InvalidPathType`,
/// `InvalidRestorePoint`, `DuplicateArtifactInList`, `DifferentRestoreDestinationType`, 500 when
/// the id source gives nothing fresh), except `InvalidPatchRequest`, which a create names
/// `InvalidArtifactRequest`. The first refused item refuses the whole create: nothing is made.
///
/// Rule L3, the session: its id is the first id `ctx.ids` draws that [`check_session_id`]
/// accepts (at most [`MAX_DRAWS_PER_ITEM`](crate::MAX_DRAWS_PER_ITEM) draws, else 500
/// `InternalServerError`); then the artifacts draw theirs (A7). Its members, in this order:
/// `@odata.type`, `id`, `status` `draft`, `restoreJobType` (`standard`; `granular` for granular
/// artifacts), `createdDateTime`, `createdBy` (when `ctx.actor` is set), `lastModifiedDateTime`,
/// `lastModifiedBy` (likewise), `restoreSessionArtifactCount` (`total` the number of artifacts,
/// `completed`, `failed`, `inProgress` 0), then the collection when it has artifacts, each as
/// A7 or G4 stores it (`status` `added`). Both times are `ctx.now`. The server answers 201 with
/// [`render_session`](super::render_session) of it.
///
/// ```
/// use restore_delta::lifecycle;
/// use restore_delta::{ArtifactCollection, Context, Options, SeededIds, SessionKind, Timestamp};
/// let now = Timestamp::parse_rfc3339("2026-11-30T08:00:00Z").unwrap();
/// let mut ctx = Context::new(now, SeededIds::new(1));
/// let empty = lifecycle::create(SessionKind::Exchange, b"", &Options::default(), &mut ctx).unwrap();
/// assert_eq!(empty.restore_job_type().as_str(), "standard");
/// let twice = br#"{"mailboxRestoreArtifacts":[
///     {"restorePoint":{"id":"rp1"},"destinationType":"new"},
///     {"restorePoint":{"id":"rp1"},"destinationType":"new"}]}"#;
/// let error = lifecycle::create(SessionKind::Exchange, twice, &Options::default(), &mut ctx)
///     .unwrap_err();
/// assert_eq!((error.status, error.code.as_str()), (400, "DuplicateArtifactInList"));
/// ```
pub fn create<I: IdSource>(
    kind: SessionKind,
    body: &[u8],
    options: &Options,
    ctx: &mut Context<I>,
) -> Result<Session, RequestError> {
    // A blank body is `{}`, once it is within the byte limit (E1 first).
    let blank = body.len() <= options.max_bytes
        && body
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if blank {
        let id = draw_session_id(ctx)?;
        return new_session(kind, &id, ctx);
    }
    let request = Request::parse(body, options).map_err(malformed_create)?;
    let collection = collection_of(kind, request.object())?;
    let items = match collection {
        Some(c) => items_of(c, request.object(), options)?,
        None => Vec::new(),
    };
    let id = draw_session_id(ctx)?;
    let mut session = new_session(kind, &id, ctx)?;
    let Some(collection) = collection else {
        return Ok(session);
    };
    let family = collection.family();
    let base = session.collection(family);
    let hints = prepare(base, &items, options);
    let plan = decide::decide(base, &items, &hints, options, ctx);
    if let Some((index, failure)) = crate::engine::pipeline::failures(&plan).next() {
        let code = match failure.code {
            ErrorCode::InvalidPatchRequest => ErrorCode::InvalidArtifactRequest,
            other => other,
        };
        return Err(RequestError::new(
            RuleId::L2,
            failure.status,
            code,
            format!(
                "{} (item {index} of `{}`, rule {})",
                failure.message,
                collection.name(),
                failure.rule
            ),
        ));
    }
    commit::commit(&mut session, family, &plan, ctx, true);
    Ok(session)
}

/// E1 and E2 of the create body, as rule L1 names them.
fn malformed_create(e: RequestError) -> RequestError {
    let code = match e.code {
        ErrorCode::InvalidPatchRequest => ErrorCode::InvalidRequest,
        other => other,
    };
    RequestError::new(RuleId::L1, e.status, code, e.message)
}

fn invalid_request(detail: impl std::fmt::Display) -> RequestError {
    RequestError::new(
        RuleId::L1,
        400,
        ErrorCode::InvalidRequest,
        format!("The create request is malformed or incorrect. {detail}"),
    )
}

/// Rule L1: the collection the body fills, if any; members looked at in name order.
fn collection_of(
    kind: SessionKind,
    body: &Object<'_>,
) -> Result<Option<ArtifactCollection>, RequestError> {
    let mut members: Vec<(&str, &Json<'_>)> = body.iter().collect();
    members.sort_unstable_by_key(|&(name, _)| name);
    let mut found: Vec<ArtifactCollection> = Vec::new();
    for (name, value) in members {
        if let Some(c) = ArtifactCollection::from_name(name) {
            if c.kind() != kind {
                return Err(invalid_request(format_args!(
                    "`{name}` is not a collection of a {}.",
                    kind.odata_type()
                )));
            }
            found.push(c);
        } else if name.ends_with("@delta") {
            return Err(invalid_request(format_args!(
                "`{name}`: a create takes the collection itself, without `@delta`."
            )));
        } else if name == "@odata.type" {
            match value {
                Json::String(t) if type_name_matches(t, kind.odata_type()) => {}
                _ => {
                    return Err(invalid_request(format_args!(
                        "`@odata.type` must be \"{}\".",
                        kind.odata_type()
                    )));
                }
            }
        } else if !name.contains('@') {
            return Err(invalid_request(format_args!(
                "`{name}` can't be set when a restore session is created."
            )));
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(invalid_request(format_args!(
            "A request can't include both `{}` and `{}`.",
            kind.standard().name(),
            kind.granular().name()
        ))),
    }
}

/// Rule L2: the items of `collection`, each an object that is not a removal.
fn items_of<'r, 'b>(
    collection: ArtifactCollection,
    body: &'r Object<'b>,
    options: &Options,
) -> Result<Vec<&'r Object<'b>>, RequestError> {
    let name = collection.name();
    let items = match body.get(name) {
        Some(Json::Array(items)) if !items.is_empty() => items,
        Some(Json::Array(_)) | Some(Json::Null) | None => {
            return Err(RequestError::new(
                RuleId::L2,
                400,
                ErrorCode::InvalidArtifactRequest,
                "Empty or null restore artifact list.",
            ));
        }
        Some(other) => {
            return Err(invalid_request(format_args!(
                "`{name}` is {}, not an array.",
                json_type(other)
            )));
        }
    };
    if items.len() > options.max_items {
        return Err(RequestError::new(
            RuleId::L2,
            413,
            ErrorCode::RestoreArtifactsLimitBreached,
            format!(
                "Request exceeded maximum artifacts limit of {}.",
                options.max_items
            ),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Json::Object(o) if decide::is_removal(o) => Err(invalid_request(format_args!(
                "Item {index} of `{name}` is a removal; a create only adds artifacts."
            ))),
            Json::Object(o) => Ok(o),
            other => Err(invalid_request(format_args!(
                "Item {index} of `{name}` is {}, not an object.",
                json_type(other)
            ))),
        })
        .collect()
}

/// Rule L3: the session's id, the first drawn that [`check_session_id`] accepts.
fn draw_session_id<I: IdSource>(ctx: &mut Context<I>) -> Result<String, RequestError> {
    (0..MAX_DRAWS_PER_ITEM)
        .map(|_| ctx.ids.next_id())
        .find(|id| check_session_id(id).is_ok())
        .ok_or_else(|| {
            RequestError::new(
                RuleId::L3,
                500,
                ErrorCode::InternalServerError,
                "The id source gave no usable restore session id.",
            )
        })
}

/// Rule L3: the new session, without artifacts.
fn new_session<I: IdSource>(
    kind: SessionKind,
    id: &str,
    ctx: &Context<I>,
) -> Result<Session, RequestError> {
    let now = quoted(&ctx.now.to_string());
    let mut text = String::with_capacity(512);
    text.push_str("{\"@odata.type\":");
    write_str(&mut text, kind.odata_type());
    text.push_str(",\"id\":");
    write_str(&mut text, id);
    text.push_str(",\"status\":\"draft\",\"restoreJobType\":\"standard\"");
    for (when, who) in [
        ("createdDateTime", "createdBy"),
        ("lastModifiedDateTime", "lastModifiedBy"),
    ] {
        text.push_str(",\"");
        text.push_str(when);
        text.push_str("\":");
        text.push_str(&now);
        if let Some(actor) = &ctx.actor {
            text.push_str(",\"");
            text.push_str(who);
            text.push_str("\":");
            text.push_str(actor.get());
        }
    }
    text.push_str(
        ",\"restoreSessionArtifactCount\":{\"total\":0,\"completed\":0,\"failed\":0,\"inProgress\":0}}",
    );
    Session::from_json(text.as_bytes()).map_err(|e| {
        RequestError::new(
            RuleId::L3,
            500,
            ErrorCode::InternalServerError,
            format!("The new session could not be made: {e}."),
        )
    })
}
