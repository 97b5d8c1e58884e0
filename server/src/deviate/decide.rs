//! Deciding a PATCH with deviations in force: the engine's faithful decision first, then what
//! each deviation in force changes in it, where its rule decided (the answer's outcomes and
//! refusal name the rule of each decision).
//!
//! The same function decides a live PATCH and replays a journaled one, so a deviating server
//! restarts to the state it served.

use restore_delta::{
    Answer, ArtifactCollection, ItemOutcome, Options, Request, RuleId, Session, SessionKind,
    Timestamp, apply_request_in_place,
};
use serde_json::value::RawValue;

use super::{Deviation, Deviations};
use crate::graph::{Members, Reply};
use crate::store::context;

/// A PATCH decided with deviations.
#[derive(Debug)]
pub(crate) struct Decided {
    /// The answer.
    pub(crate) reply: Reply,
    /// Whether it changed the session and is journaled (a 200 or a 204, not a refusal).
    pub(crate) committed: bool,
}

/// Decides `body` on `session` (changed in place when the answer commits) with the deviations
/// `devs` (not empty): the faithful decision, then each deviation where its rule decided.
pub(crate) fn decide(
    session: &mut Session,
    body: &[u8],
    options: &Options,
    now: Timestamp,
    seed: u64,
    actor: Option<&serde_json::Value>,
    devs: Deviations,
) -> Decided {
    let mut options = options.clone();
    if devs.contains(Deviation::E7) {
        options = options.with_max_items(usize::MAX);
    }
    if devs.contains(Deviation::O5) && options.return_minimal {
        options = options.with_return_minimal(false);
    }
    let request = match Request::parse(body, &options) {
        Ok(request) => request,
        Err(e) => return refusal(Reply::engine(e.response()), e.rule, devs),
    };
    let kind = session.kind();
    let before = devs
        .contains(Deviation::KeepRemoved)
        .then(|| session.clone());
    let one = |session: &mut Session, request: &Request<'_>| {
        decide_request(session, request, &options, (now, seed, actor), devs)
    };
    let mut answer = one(session, &request);
    let mut edited = edited_collection(body, kind);
    if devs.contains(Deviation::E4) && refusal_rule(&answer) == Some(RuleId::E4) {
        let known = strip_unknown(body, kind);
        match Request::parse(&known, &options) {
            Ok(request) => {
                answer = one(session, &request);
                edited = edited_collection(&known, kind);
            }
            Err(e) => return refusal(Reply::engine(e.response()), e.rule, devs),
        }
    }
    if let Some(rule) = refusal_rule(&answer) {
        return refusal(Reply::engine(answer.response), rule, devs);
    }
    let outcomes = answer.outcomes;
    let mut reply = Reply::engine(answer.response);
    if devs.contains(Deviation::O8) {
        reply.preference_applied = None;
    }
    if let Some(collection) = edited {
        if let Some(text) = reply
            .body
            .as_deref()
            .and_then(|text| entries(text, collection, &outcomes, now, devs))
        {
            reply.body = Some(text);
        }
        if let Some(before) = &before {
            keep_removed(session, before, collection, &outcomes);
        }
        if devs.contains(Deviation::DropAdded) {
            drop_added(session, collection, &outcomes);
        }
    }
    Decided {
        reply,
        committed: true,
    }
}

/// One decision of a parsed request; with `o1`, an atomic refusal is decided again continuing
/// on errors (the first decision changed nothing: a refusal leaves the state as it was).
fn decide_request(
    session: &mut Session,
    request: &Request<'_>,
    options: &Options,
    (now, seed, actor): (Timestamp, u64, Option<&serde_json::Value>),
    devs: Deviations,
) -> Answer {
    let answer = apply_request_in_place(session, request, options, &mut context(now, seed, actor));
    if devs.contains(Deviation::O1) && refusal_rule(&answer) == Some(RuleId::O1) {
        let options = options.clone().with_atomic(false);
        return apply_request_in_place(session, request, &options, &mut context(now, seed, actor));
    }
    answer
}

fn refusal_rule(answer: &Answer) -> Option<RuleId> {
    answer.error.as_ref().map(|e| e.rule)
}

fn refusal(reply: Reply, rule: RuleId, devs: Deviations) -> Decided {
    Decided {
        reply: refused(reply, rule, devs),
        committed: false,
    }
}

/// A whole-request refusal by `rule`, as the deviations in force answer it.
pub(crate) fn refused(mut reply: Reply, rule: RuleId, devs: Deviations) -> Reply {
    let (deviation, status, code) = match rule {
        RuleId::E1 => (Deviation::E1, 400, Some("InvalidPatchRequest")),
        RuleId::E2 => (Deviation::E2, reply.status, Some("BadRequest")),
        RuleId::E5 => (Deviation::E5, reply.status, Some("BadRequest")),
        RuleId::E6 => (Deviation::E6, reply.status, Some("InvalidPatchRequest")),
        RuleId::E8 => (Deviation::E8, reply.status, Some("BadRequest")),
        RuleId::E9 => (Deviation::E9, 409, None),
        _ => return reply,
    };
    if !devs.contains(deviation) {
        return reply;
    }
    reply.status = status;
    if let Some(code) = code {
        reply.body = reply.body.map(|body| error_with_code(&body, code));
    }
    reply
}

/// The HTTP layer's 413 for a body over the limit (rule E1), as the deviations in force
/// answer it.
pub(crate) fn too_large(reply: Reply, devs: Deviations) -> Reply {
    if reply.status == 413 {
        refused(reply, RuleId::E1, devs)
    } else {
        reply
    }
}

/// `{"error":{"code":…}}` with another code, everything else as it was.
fn error_with_code(body: &str, code: &str) -> String {
    let edit = || -> Option<String> {
        let mut outer: Members = serde_json::from_str(body).ok()?;
        let (_, error) = outer.0.iter_mut().find(|(n, _)| n == "error")?;
        *error = raw(with_member(error.get(), "code", &json_string(code))?)?;
        Some(outer.write())
    };
    edit().unwrap_or_else(|| body.to_owned())
}

/// The object `object` with member `name` set to the JSON `value` (in its place, or last).
fn with_member(object: &str, name: &str, value: &str) -> Option<String> {
    let mut members: Members = serde_json::from_str(object).ok()?;
    let value = raw(value.to_owned())?;
    match members.0.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v = value,
        None => members.0.push((name.to_owned(), value)),
    }
    Some(members.write())
}

fn without_members(object: &str, names: &[&str]) -> Option<String> {
    let mut members: Members = serde_json::from_str(object).ok()?;
    members.0.retain(|(n, _)| !names.contains(&n.as_str()));
    Some(members.write())
}

fn raw(text: String) -> Option<Box<RawValue>> {
    RawValue::from_string(text).ok()
}

fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The collection whose delta the body carries (the standard one first, as the engine reads
/// it), if any.
fn edited_collection(body: &[u8], kind: SessionKind) -> Option<ArtifactCollection> {
    let members: Members = serde_json::from_slice(body).ok()?;
    [kind.standard(), kind.granular()]
        .into_iter()
        .find(|c| members.0.iter().any(|(n, _)| n == c.delta_name()))
}

/// `e4`: the body without the members a lenient server does not know: only the deltas of the
/// session's own collections and annotations (names holding `@`, `@odata.type` and other
/// `…@delta` names aside) are kept, in their order, as written.
fn strip_unknown(body: &[u8], kind: SessionKind) -> Vec<u8> {
    let Ok(mut members) = serde_json::from_slice::<Members>(body) else {
        return body.to_vec();
    };
    let own = [kind.standard().delta_name(), kind.granular().delta_name()];
    members.0.retain(|(n, _)| {
        own.contains(&n.as_str())
            || (n.contains('@') && !n.ends_with("@delta") && n != "@odata.type")
    });
    members.write().into_bytes()
}

/// The new `responseCode` and code of a failure by `rule`, when a deviation in force changes
/// them.
fn failure_edit(rule: RuleId, devs: Deviations) -> Option<(Option<u16>, Option<&'static str>)> {
    let bad = Some("BadRequest");
    let (deviation, edit) = match rule {
        RuleId::X1 => (Deviation::X1, (None, bad)),
        RuleId::X2 => (Deviation::X2, (None, bad)),
        RuleId::X3 => (Deviation::X3, (Some(404), Some("itemNotFound"))),
        RuleId::A1 => (Deviation::A1, (None, bad)),
        RuleId::A2 => (Deviation::A2, (None, Some("InvalidPatchRequest"))),
        RuleId::A3 => (Deviation::A3, (None, Some("InvalidPatchRequest"))),
        RuleId::A4 => (Deviation::A4, (Some(409), None)),
        RuleId::A5 => (Deviation::A5, (None, Some("InvalidPathType"))),
        RuleId::A6 => (Deviation::A6, (None, bad)),
        RuleId::G1 => (Deviation::G1, (None, bad)),
        RuleId::G2 => (Deviation::G2, (None, bad)),
        RuleId::G3 => (Deviation::G3, (Some(409), None)),
        _ => return None,
    };
    devs.contains(deviation).then_some(edit)
}

/// One delta entry as the deviations in force write it, when they change it.
fn entry(text: &str, outcome: &ItemOutcome, now: Timestamp, devs: Deviations) -> Option<String> {
    match outcome {
        ItemOutcome::Failed(failure) => {
            let (status, code) = failure_edit(failure.rule, devs)?;
            let name = "@Core.DataModificationException";
            let mut entry: Members = serde_json::from_str(text).ok()?;
            let (_, exception) = entry.0.iter_mut().find(|(n, _)| n == name)?;
            let mut edited = exception.get().to_owned();
            if let Some(status) = status {
                edited = with_member(&edited, "responseCode", &status.to_string())?;
            }
            if let Some(code) = code {
                let info: Members = serde_json::from_str(&edited).ok()?;
                let (_, old) = info.0.iter().find(|(n, _)| n == "info")?;
                let new = with_member(old.get(), "code", &json_string(code))?;
                edited = with_member(&edited, "info", &new)?;
            }
            *exception = raw(edited)?;
            Some(entry.write())
        }
        ItemOutcome::Added { rule, .. } if *rule == RuleId::A7 && devs.contains(Deviation::A7) => {
            without_members(text, &["createdDateTime"])
        }
        ItemOutcome::Added { rule, .. } if *rule == RuleId::G4 && devs.contains(Deviation::G4) => {
            with_member(text, "createdDateTime", &json_string(&now.to_string()))
        }
        ItemOutcome::Removed { existed: true, .. } if devs.contains(Deviation::X4) => {
            without_members(text, &["@removed", "@odata.removed"])
        }
        _ => None,
    }
}

/// The 200 body's delta as the deviations in force write it, when they change it.
fn entries(
    text: &str,
    collection: ArtifactCollection,
    outcomes: &[ItemOutcome],
    now: Timestamp,
    devs: Deviations,
) -> Option<String> {
    let mut body: Members = serde_json::from_str(text).ok()?;
    let (_, delta) = body
        .0
        .iter_mut()
        .find(|(n, _)| n == collection.delta_name())?;
    let mut list: Vec<Box<RawValue>> = serde_json::from_str(delta.get()).ok()?;
    let mut changed = false;
    for (slot, outcome) in list.iter_mut().zip(outcomes) {
        if let Some(new) = entry(slot.get(), outcome, now, devs) {
            *slot = raw(new)?;
            changed = true;
        }
    }
    if devs.contains(Deviation::EntryOrder) && list.len() > 1 {
        list.rotate_left(1);
        changed = true;
    }
    if !changed {
        return None;
    }
    *delta = raw(serde_json::to_string(&list).ok()?)?;
    Some(body.write())
}

/// Changes the artifacts of `collection` in `session` through `edit` (which says whether it
/// changed anything), every other member as it was. Costs the size of the session: only a
/// storing deviation calls it.
fn edit_collection(
    session: &mut Session,
    collection: ArtifactCollection,
    edit: impl FnOnce(&mut Vec<Box<RawValue>>) -> bool,
) {
    let rebuilt = || -> Option<Session> {
        let mut members: Members = serde_json::from_str(&session.to_json()).ok()?;
        let mut list: Vec<Box<RawValue>> =
            match members.0.iter().find(|(n, _)| n == collection.name()) {
                Some((_, v)) => serde_json::from_str(v.get()).ok()?,
                None => Vec::new(),
            };
        if !edit(&mut list) {
            return None;
        }
        let array = raw(serde_json::to_string(&list).ok()?)?;
        match members.0.iter_mut().find(|(n, _)| n == collection.name()) {
            Some((_, v)) => *v = array,
            None => members.0.push((collection.name().to_owned(), array)),
        }
        Session::from_json(members.write().as_bytes()).ok()
    };
    if let Some(session_after) = rebuilt() {
        *session = session_after;
    }
}

/// `keep-removed`: every artifact the request removed that was stored before it goes back
/// where it was (unless an artifact of its id is there again).
fn keep_removed(
    session: &mut Session,
    before: &Session,
    collection: ArtifactCollection,
    outcomes: &[ItemOutcome],
) {
    let mut back: Vec<(usize, Box<RawValue>)> = Vec::new();
    for outcome in outcomes {
        let ItemOutcome::Removed { id, existed: true } = outcome else {
            continue;
        };
        if session.artifact(collection, id).is_some() {
            continue;
        }
        let found = before
            .artifacts(collection)
            .enumerate()
            .find(|(_, a)| a.id() == id);
        if let Some((at, artifact)) = found
            && let Some(json) = raw(artifact.json_text().to_owned())
        {
            back.push((at, json));
        }
    }
    if back.is_empty() {
        return;
    }
    back.sort_by_key(|(at, _)| *at);
    edit_collection(session, collection, |list| {
        for (at, json) in back {
            list.insert(at.min(list.len()), json);
        }
        true
    });
}

/// `drop-added`: the artifacts the request added are not kept.
fn drop_added(session: &mut Session, collection: ArtifactCollection, outcomes: &[ItemOutcome]) {
    let added: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            ItemOutcome::Added { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .filter(|id| session.artifact(collection, id).is_some())
        .collect();
    if added.is_empty() {
        return;
    }
    #[derive(serde::Deserialize)]
    struct Id {
        id: Option<String>,
    }
    edit_collection(session, collection, |list| {
        list.retain(|item| {
            serde_json::from_str::<Id>(item.get())
                .ok()
                .and_then(|i| i.id)
                .is_none_or(|id| !added.contains(&id.as_str()))
        });
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::patch_options;

    const NOW: &str = "2026-11-28T12:00:00Z";

    fn session(artifacts: &str) -> Session {
        Session::from_json(
            format!(
                r##"{{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s1","status":"draft","restoreSessionArtifactCount":{{"total":0}},"driveRestoreArtifacts":[{artifacts}]}}"##
            )
            .as_bytes(),
        )
        .unwrap()
    }

    fn run(session: &mut Session, body: &str, prefer: &[&str], devs: &str) -> Decided {
        let prefer: Vec<String> = prefer.iter().map(|p| (*p).to_owned()).collect();
        decide(
            session,
            body.as_bytes(),
            &patch_options(&prefer, &[], 1 << 20),
            Timestamp::parse_rfc3339(NOW).unwrap(),
            7,
            None,
            Deviations::parse(devs).unwrap(),
        )
    }

    /// A deviation changes nothing where its rule does not decide: the answer and the state
    /// are the faithful ones.
    #[test]
    fn a_deviation_is_silent_where_its_rule_does_not_decide() {
        let body = r#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"rp-2"},"destinationType":"new"},{"@removed":{},"id":"a1"}]}"#;
        let stored = r#"{"id":"a1","restorePoint":{"id":"rp-1"},"destinationType":"new"}"#;
        let mut faithful = session(stored);
        let expected = restore_delta::apply_in_place(
            &mut faithful,
            body.as_bytes(),
            &patch_options(&[], &[], 1 << 20),
            &mut context(Timestamp::parse_rfc3339(NOW).unwrap(), 7, None),
        );
        for d in super::super::ALL {
            if matches!(
                d,
                Deviation::A7
                    | Deviation::X4
                    | Deviation::EntryOrder
                    | Deviation::KeepRemoved
                    | Deviation::DropAdded
            ) {
                continue;
            }
            let mut s = session(stored);
            let decided = run(&mut s, body, &[], d.name());
            assert!(decided.committed);
            assert_eq!(
                decided.reply.body.as_deref(),
                expected.response.body.as_ref().map(|b| b.get()),
                "{d}"
            );
            assert_eq!(s, faithful, "{d}");
        }
    }

    #[test]
    fn storing_deviations_answer_right_and_store_wrong() {
        let stored = r#"{"id":"a1","restorePoint":{"id":"rp-1"},"destinationType":"new"},{"id":"a2","restorePoint":{"id":"rp-3"},"destinationType":"new"}"#;
        let body = r#"{"driveRestoreArtifacts@delta":[{"@removed":{},"id":"a1"}]}"#;
        let mut faithful = session(stored);
        let f = run(&mut faithful, body, &[], "");
        let mut kept = session(stored);
        let k = run(&mut kept, body, &[], "keep-removed");
        assert_eq!(f.reply, k.reply);
        let ids = |s: &Session| -> Vec<String> {
            s.artifacts(ArtifactCollection::DriveRestoreArtifacts)
                .map(|a| a.id().to_owned())
                .collect()
        };
        assert_eq!(ids(&faithful), ["a2"]);
        assert_eq!(ids(&kept), ["a1", "a2"]);
        let add = r#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"rp-9"},"destinationType":"new"}]}"#;
        let mut faithful = session(stored);
        let f = run(&mut faithful, add, &[], "");
        let mut dropped = session(stored);
        let d = run(&mut dropped, add, &[], "drop-added");
        assert_eq!(f.reply, d.reply);
        assert_eq!(ids(&faithful).len(), 3);
        assert_eq!(ids(&dropped), ["a1", "a2"]);
    }
}
