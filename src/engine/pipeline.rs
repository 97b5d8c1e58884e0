//! The pipeline `apply` runs, in order: the request read (`request`, rules E1–E9), each item
//! decided against the evolving collection (`decide`), the plan committed at once (`commit`),
//! the answer rendered (`render`); or, for the reference check, the answer rendered from a
//! shell of the session without committing.

use crate::engine::context::Context;
use crate::engine::decide;
use crate::engine::error::{ErrorCode, RequestError};
use crate::engine::ids::IdSource;
use crate::engine::options::{Answered, Options};
use crate::engine::outcome::{Answer, Applied, ItemFailure, ItemOutcome, Response};
use crate::engine::plan::{Decision, Plan};
use crate::engine::prepare::prepare;
use crate::engine::request::Request;
use crate::engine::{commit, render, request};
use crate::model::kinds::{self, ArtifactCollection, Family};
use crate::model::session::Session;
use crate::rule::RuleId;

/// Applies a PATCH body to a restore session.
///
/// The session is taken by value and never copied; the result holds the new state, the HTTP
/// response and one outcome per item. A refused request (rules E1–E9, or a failure in atomic
/// mode) returns the session unchanged with an error response; items are otherwise decided one
/// by one against the evolving collection, then committed together (rules O1–O6). Nothing is
/// read from the environment: the time, the ids and the caller's identity come from `ctx`.
/// [`apply_in_place`] is the same on a `&mut Session`.
///
/// ```
/// use restore_delta::{apply, Context, Options, SeededIds, Session, Timestamp};
/// let state = Session::from_json(br##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession",
///     "id":"s1","status":"draft"}"##).unwrap();
/// let body = br##"{"mailboxRestoreArtifacts@delta":[
///     {"restorePoint":{"id":"rp1"},"destinationType":"new"}]}"##;
/// let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
/// let mut ctx = Context::new(now, SeededIds::new(1));
/// let applied = apply(state, body, &Options::default(), &mut ctx);
/// assert_eq!(applied.answer.response.status, 200);
/// assert_eq!(applied.state.artifact_count(restore_delta::ArtifactCollection::MailboxRestoreArtifacts), 1);
/// ```
pub fn apply<I: IdSource>(
    mut session: Session,
    request: &[u8],
    options: &Options,
    ctx: &mut Context<I>,
) -> Applied {
    let answer = apply_in_place(&mut session, request, options, ctx);
    Applied {
        state: session,
        answer,
    }
}

/// [`apply`] on a session the caller keeps where it is (in a map, behind a lock): the session is
/// changed in place when the request commits, and left untouched when it is refused.
///
/// ```
/// use restore_delta::{apply_in_place, Context, Options, SeededIds, Session, Timestamp};
/// let mut session = Session::from_json(br##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession",
///     "id":"s1","status":"draft"}"##).unwrap();
/// let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
/// let mut ctx = Context::new(now, SeededIds::new(1));
/// let body = br##"{"mailboxRestoreArtifacts@delta":[
///     {"restorePoint":{"id":"rp1"},"destinationType":"new"}]}"##;
/// let answer = apply_in_place(&mut session, body, &Options::default(), &mut ctx);
/// assert_eq!(answer.response.status, 200);
/// assert_eq!(session.artifact_count(restore_delta::ArtifactCollection::MailboxRestoreArtifacts), 1);
/// ```
pub fn apply_in_place<I: IdSource>(
    session: &mut Session,
    request: &[u8],
    options: &Options,
    ctx: &mut Context<I>,
) -> Answer {
    match Request::parse(request, options) {
        Ok(request) => apply_request_in_place(session, &request, options, ctx),
        Err(error) => refuse(error),
    }
}

/// [`apply`] for a body already read with [`Request::parse`] (rules E1 and E2 passed): runs
/// rules E3–E9 and everything after them. `apply(s, body, o, c)` answers exactly as
/// `apply_request(s, &Request::parse(body, o)?, o, c)`. The request is only read: the same one
/// can be applied to several sessions (as `json_patch::patch` takes its operations). `options`'
/// `max_bytes` and `max_depth` are not read here: they applied when the request was parsed.
///
/// ```
/// use restore_delta::{apply_request, Context, Options, Request, SeededIds, Session, Timestamp};
/// let state = Session::from_json(br##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession",
///     "id":"s1","status":"draft"}"##).unwrap();
/// let options = Options::default();
/// // Read and check the body before taking the session.
/// let request = Request::parse(br##"{"mailboxRestoreArtifacts@delta":[
///     {"restorePoint":{"id":"rp1"},"destinationType":"new"}]}"##, &options).unwrap();
/// let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
/// let mut ctx = Context::new(now, SeededIds::new(1));
/// let applied = apply_request(state, &request, &options, &mut ctx);
/// assert_eq!(applied.answer.response.status, 200);
/// ```
pub fn apply_request<I: IdSource>(
    mut session: Session,
    request: &Request<'_>,
    options: &Options,
    ctx: &mut Context<I>,
) -> Applied {
    let answer = apply_request_in_place(&mut session, request, options, ctx);
    Applied {
        state: session,
        answer,
    }
}

/// [`apply_request`] on a session the caller keeps where it is: a server parses the body
/// ([`Request::parse`]) before it takes the session's lock, then applies it in place.
pub fn apply_request_in_place<I: IdSource>(
    session: &mut Session,
    request: &Request<'_>,
    options: &Options,
    ctx: &mut Context<I>,
) -> Answer {
    answer(Target::Commit(session), request, options, ctx)
}

/// The answer [`apply_request_in_place`] gives, without changing the session and without copying
/// its artifacts: the items are decided against the session, and the response body is rendered
/// from a shell of it (members only) with the bookkeeping the commit would do. What the reference
/// check runs, twice per exchange, at the cost of deciding and rendering.
pub(crate) fn answer_uncommitted<I: IdSource>(
    session: &Session,
    request: &Request<'_>,
    options: &Options,
    ctx: &mut Context<I>,
) -> Answer {
    answer(Target::Shell(session), request, options, ctx)
}

/// What [`answer`] does with a decided plan: commit it to the session, or render the response
/// from a shell of the session and leave the session as it is.
enum Target<'s> {
    Commit(&'s mut Session),
    Shell(&'s Session),
}

/// Rules E3 on: the envelope, the decisions, then the commit (or its shell) and the response.
fn answer<I: IdSource>(
    target: Target<'_>,
    request: &Request<'_>,
    options: &Options,
    ctx: &mut Context<I>,
) -> Answer {
    let session: &Session = match &target {
        Target::Commit(s) => s,
        Target::Shell(s) => s,
    };
    let envelope = match request::envelope(session, request, options) {
        Ok(envelope) => envelope,
        Err(error) => return refuse(error),
    };
    let family = envelope.collection.family();
    let was_empty = session.collection(Family::Standard).is_empty()
        && session.collection(Family::Granular).is_empty();
    let hints = prepare(session.collection(family), &envelope.items, options);
    let plan = decide::decide(
        session.collection(family),
        &envelope.items,
        &hints,
        options,
        ctx,
    );
    if options.atomic && plan.any_failed() {
        return refuse_atomic(envelope.collection, &plan, options);
    }
    let minimal = options.return_minimal && !plan.any_failed();
    let render =
        |s: &Session| render::success_body(s, envelope.collection, &envelope.items, &plan, options);
    let body = match target {
        Target::Commit(session) => {
            commit::commit(session, family, &plan, ctx, was_empty);
            (!minimal).then(|| render(session))
        }
        Target::Shell(session) => (!minimal).then(|| {
            let mut shell = session.shell();
            let total = commit::total_after(session, &plan);
            commit::bookkeeping(&mut shell, family, &plan, ctx, was_empty, total);
            render(&shell)
        }),
    };
    let answered = if minimal {
        Answered::Minimal
    } else {
        Answered::Representation
    };
    Answer {
        response: Response {
            status: if minimal { 204 } else { 200 },
            body,
            preference_applied: options.asked().applied(options, answered),
        },
        outcomes: outcomes(plan, envelope.collection),
        error: None,
    }
}

/// A refused request: the error as the response; the session is not touched.
fn refuse(error: RequestError) -> Answer {
    Answer {
        response: error.response(),
        outcomes: Vec::new(),
        error: Some(error),
    }
}

/// The outcomes of a committed plan. Generated ids move out of the plan (no copy).
fn outcomes(plan: Plan, collection: ArtifactCollection) -> Vec<ItemOutcome> {
    let added = match collection.shape() {
        kinds::Shape::GranularItem => RuleId::G4,
        _ => RuleId::A7,
    };
    let mut ids: Vec<Option<String>> = plan
        .pending
        .into_iter()
        .map(|p| Some(p.id.into_owned()))
        .collect();
    plan.decisions
        .into_iter()
        .map(|d| match d {
            Decision::Added(i) => ItemOutcome::Added {
                id: ids.get_mut(i).and_then(Option::take).unwrap_or_default(),
                rule: added,
            },
            Decision::Removed { id, existed, .. } => ItemOutcome::Removed {
                id: id.to_owned(),
                existed,
            },
            Decision::Failed(f) => ItemOutcome::Failed(f),
        })
        .collect()
}

/// The failed items of a plan, with their positions in the request, in request order.
pub(crate) fn failures<'p>(plan: &'p Plan<'_>) -> impl Iterator<Item = (usize, &'p ItemFailure)> {
    plan.decisions
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Decision::Failed(f) => Some((i, f)),
            _ => None,
        })
}

/// Rule O1: the first failure becomes the response; every failure is listed; nothing applied.
fn refuse_atomic(collection: ArtifactCollection, plan: &Plan, options: &Options) -> Answer {
    let failures: Vec<(usize, &ItemFailure)> = failures(plan).collect();
    let error = match failures.first() {
        Some((_, f)) => RequestError::new(RuleId::O1, f.status, f.code, f.message.clone()),
        None => RequestError::new(
            RuleId::O1,
            500,
            ErrorCode::InternalServerError,
            "no failure",
        ),
    };
    let outcomes = plan
        .decisions
        .iter()
        .map(|d| match d {
            Decision::Failed(f) => ItemOutcome::Failed(f.clone()),
            _ => ItemOutcome::NotApplied,
        })
        .collect();
    Answer {
        response: Response {
            status: error.status,
            body: Some(render::error_body(&error, &failures, Some(collection))),
            preference_applied: options.asked().applied(options, Answered::AtomicRefusal),
        },
        outcomes,
        error: Some(error),
    }
}
