//! Entry points for the fuzz targets in `fuzz/`, kept in the library so a plain `cargo test`
//! replays the committed corpus on stable. Not part of the public API: compiled only with the
//! unstable `_internal_test_exports` feature, which the package's tests get from its
//! dev-dependency on itself and the fuzz crate enables.
//!
//! Each function takes arbitrary bytes and panics only when an invariant of
//! `docs/SEMANTICS.md` is broken:
//!
//! - [`apply_bytes`]: any bytes as the request, against fixed states of each kind and status;
//! - [`state_bytes`]: any bytes as the state;
//! - [`apply_ops`]: an operation list decoded from bytes, applied by the engine and by the
//!   deliberately simple model of the rules ([`model`]), whose answers must agree. It is the same
//!   model the differential property of `tests/properties.rs` checks the engine against.
//!
//! The operation list is decoded by hand (`ops.rs`) so the library needs no `arbitrary`
//! dependency.

// Panicking is what this module is for: a broken invariant must abort so libFuzzer records the
// input, and the checks index into JSON they have just verified. Nothing but the fuzz targets,
// `tests/fuzz_replay.rs` and `tests/properties.rs` calls it, and the default build leaves it out.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

pub mod model;
mod ops;

use std::collections::BTreeSet;

use serde::de::IgnoredAny;
use serde_json::{Map, Value, json};

use model::has_duplicate_member;

use crate::{
    Applied, ArtifactCollection, Context, IdSource, ItemOutcome, MissingRemoval, Options, Request,
    SeededIds, Session, SessionKind, StateError, Timestamp, apply, apply_request,
};

/// The clock value every fuzz entry point passes in.
const NOW: &str = "2026-11-28T12:00:00Z";

/// The fixed states [`apply_bytes`] runs against, picked by the low four bits of the first byte
/// (modulo their number). Ids are short so mutations find them.
pub const STATES: [&str; 13] = [
    // 0: OneDrive, draft, standard, two artifacts, a count member.
    r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s1","status":"draft","restoreJobType":"standard","restoreSessionArtifactCount":{"total":2,"completed":0},"driveRestoreArtifacts":[{"id":"a","restorePoint":{"id":"r1"},"destinationType":"new","status":"added"},{"id":"b","restorePoint":{"id":"r2"},"destinationType":"new","status":"succeeded","x-kept":[1,2.50,"\u00e9"]}]}"##,
    // 1: OneDrive, draft, granular.
    r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s1","status":"draft","restoreJobType":"granular","granularDriveRestoreArtifacts":[{"id":"k1","browseSessionId":"bs","status":"added"},{"id":"k2","browseSessionId":"bs","status":"added"}]}"##,
    // 2: OneDrive, empty, no status (draft), no job type (standard).
    r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s1"}"##,
    // 3: SharePoint, draft, standard, in place.
    r##"{"@odata.type":"#microsoft.graph.sharePointRestoreSession","id":"s1","status":"draft","restoreJobType":"standard","siteRestoreArtifacts":[{"id":"a","restorePoint":{"id":"r1"},"destinationType":"inPlace","status":"added"}],"granularSiteRestoreArtifacts":[]}"##,
    // 4: SharePoint, draft, granular.
    r##"{"@odata.type":"#microsoft.graph.sharePointRestoreSession","id":"s1","status":"draft","restoreJobType":"granular","granularSiteRestoreArtifacts":[{"id":"k1","browseSessionId":"bs","status":"added"}]}"##,
    // 5: SharePoint, empty, mis-cased type, empty arrays.
    r##"{"@odata.type":"#microsoft.graph.sharepointrestoresession","id":"s1","status":"draft","siteRestoreArtifacts":[],"granularSiteRestoreArtifacts":[]}"##,
    // 6: Exchange, draft, standard.
    r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s1","status":"draft","restoreJobType":"standard","lastModifiedDateTime":"2026-11-20T09:15:00Z","mailboxRestoreArtifacts":[{"id":"a","restorePoint":{"id":"r1"},"destinationType":"new","status":"added"},{"id":"b","restorePoint":{"@odata.id":"r2"},"destinationType":"new"}]}"##,
    // 7: Exchange, draft, granular mailbox.
    r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s1","status":"draft","restoreJobType":"granular","restoreSessionArtifactCount":{"total":1},"granularMailboxRestoreArtifacts":[{"id":"a","restorePoint":{"id":"r1"},"destinationType":"inPlace","searchResponseId":"q1","status":"added"}]}"##,
    // 8: Exchange, empty, kind told by a collection name alone.
    r##"{"id":"s1","mailboxRestoreArtifacts":[]}"##,
    // 9: OneDrive, active.
    r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s1","status":"active","driveRestoreArtifacts":[{"id":"a","restorePoint":{"id":"r1"},"destinationType":"new","status":"added"}]}"##,
    // 10: SharePoint, bulk.
    r##"{"@odata.type":"#microsoft.graph.sharePointRestoreSession","id":"s1","status":"draft","restoreJobType":"bulk"}"##,
    // 11: Exchange, completed.
    r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s1","status":"completed","mailboxRestoreArtifacts":[]}"##,
    // 12: OneDrive, an unknown status value.
    r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s1","status":"someFutureValue","x-custom":{"kept":true}}"##,
];

/// Any bytes as a request against a fixed state; never panics unless an invariant breaks.
///
/// The first byte picks the state (low four bits, modulo [`STATES`]) and the options (bit 4
/// atomic, bit 5 `return=minimal`, bit 6 missing removals succeed, bit 7 a caller identity); the
/// rest is the request body. Checked: determinism (D1); a refused request leaves the state as it
/// was and answers `{"error": …}` (O2); a 200 body is JSON with one entry per item that matches
/// the item's outcome (O3); untouched artifacts keep their place and text (D4); the new state
/// reads back as a state.
pub fn apply_bytes(data: &[u8]) {
    let Some((&head, request)) = data.split_first() else {
        return;
    };
    let state = STATES[usize::from(head & 0x0f) % STATES.len()];
    let session = Session::from_json(state.as_bytes()).expect("every fixed state is valid");
    let flags = head >> 4;
    let options = Options::default()
        .with_atomic(flags & 1 != 0)
        .with_return_minimal(flags & 2 != 0)
        .with_missing_removal(if flags & 4 != 0 {
            MissingRemoval::Succeed
        } else {
            MissingRemoval::Fail
        });
    check_apply(&session, request, &options, flags & 8 != 0);
}

/// Any bytes as a state; never panics unless an invariant breaks.
///
/// Checked for an accepted state: it was valid JSON, an object with a non-empty string `id`
/// whose collections are arrays of objects with distinct non-empty string ids (S3); writing it,
/// reading that back and writing again gives the same text, also through `serde`; the text
/// written is the same JSON value as the input (S4); and a small request of each family against
/// it keeps every [`apply_bytes`] invariant.
pub fn state_bytes(data: &[u8]) {
    let read = Session::from_json(data);
    check_reader(data, &read);
    let Ok(session) = read else {
        return;
    };
    assert!(
        serde_json::from_slice::<IgnoredAny>(data).is_ok(),
        "S3: a state that is not valid JSON was accepted"
    );
    assert!(
        !has_duplicate_member(data),
        "S3: a state with a duplicate member name (in some object) was accepted"
    );
    let first = session.to_json();
    let again = Session::from_json(first.as_bytes())
        .unwrap_or_else(|e| panic!("S4: a written state is refused on re-read: {e}\n{first}"));
    let second = again.to_json();
    assert_eq!(first, second, "S4: read-write-read-write is not stable");
    assert_eq!(session.kind(), again.kind());
    assert_eq!(session.id(), again.id());
    assert_eq!(session.status(), again.status());
    assert_eq!(session.restore_job_type(), again.restore_job_type());
    let via_serde: Session =
        serde_json::from_str(&first).expect("S4: serde refuses what from_json accepted");
    assert_eq!(via_serde.to_json(), first, "S4: serde reads another state");
    let written: Value = serde_json::from_str(&first).unwrap_or_else(|e| {
        panic!(
            "S4: an accepted state is no serde_json value ({e}), so to_value() gives {}",
            session.to_value()
        )
    });
    if let Ok(input) = serde_json::from_slice::<Value>(data) {
        assert_eq!(
            input, written,
            "S4: the state written is not the state read"
        );
    }
    check_accepted_state(&written, session.kind());
    for request in requests_for(&session) {
        check_apply(&session, request.as_bytes(), &Options::default(), false);
    }
}

/// [`Session::from_reader`] against [`Session::from_json`] on the same bytes, read a few at a
/// time so that values are cut everywhere: the same session or the same error. Bytes that are
/// not UTF-8 are found as they are read, so another problem before them may be reported
/// instead; it is an error all the same, and a UTF-8 error is the one `from_json` gives.
fn check_reader(data: &[u8], read: &Result<Session, StateError>) {
    let utf8 = std::str::from_utf8(data).is_ok();
    for chunk in [1, 2, 3, 7, 64] {
        let streamed = Session::from_reader_by(data, chunk, data.len());
        let utf8_error = matches!(&streamed,
            Err(StateError::InvalidJson { message, .. }) if message.starts_with("not UTF-8"));
        if utf8 || utf8_error {
            assert_eq!(&streamed, read, "from_reader, {chunk} bytes at a time");
        } else {
            assert!(
                streamed.is_err(),
                "from_reader accepted bytes that are not UTF-8"
            );
        }
    }
}

/// An operation list decoded from bytes, applied by the engine and by the model; never panics
/// unless they disagree or an invariant breaks.
///
/// The bytes describe a state (kind, status, stored artifacts over small id alphabets), a
/// request (removals and additions, standard and granular, valid and not, a few extra body
/// members) and options (atomic, `return=minimal`, missing removals, a caller identity, a small
/// item limit). The engine and the model must give the same whole-request outcome or the same
/// per-item outcomes, the same final collections in the same order, the same session members and
/// the same response body (messages aside).
pub fn apply_ops(data: &[u8]) {
    let case = ops::decode(data);
    let state_text = case.state.to_string();
    let body = case.body.to_string();
    let actor = case.actor.then(actor);
    let mut model_ids = counter();
    let expected = model::apply(
        &case.state,
        body.as_bytes(),
        &model::Opts::from_options(&case.options),
        NOW,
        &mut model_ids,
        actor.as_ref(),
    );
    let session = Session::from_json(state_text.as_bytes()).unwrap_or_else(|e| {
        panic!("the decoder built a state the engine refuses: {e}\n{state_text}")
    });
    let before = session.to_json();
    let now = Timestamp::parse_rfc3339(NOW).expect("NOW parses");
    let ctx = Context::new(now, counter());
    let mut ctx = match &actor {
        Some(a) => ctx.with_actor(a),
        None => ctx,
    };
    let applied = apply(session, body.as_bytes(), &case.options, &mut ctx);
    let what = format!(
        "\nstate: {state_text}\nbody: {body}\noptions: {:?}, actor: {}\nexpected: {expected:?}\nresponse: {:?}",
        case.options, case.actor, applied.answer.response
    );
    compare(&expected, &applied, &before, &what);
    // The engine asked the id source for exactly as many ids as the model (which checks each
    // drawn id as it draws it): the next id is the same.
    assert_eq!(
        ctx.ids.next_id(),
        model_ids(),
        "A7: ids drawn from the source{what}"
    );
}

/// A case of the public generator, checked like [`apply_ops`]: the engine against the model
/// (status, error code and rule, item outcomes, the state after, the body messages aside, the
/// ids drawn from the case's seed), and every invariant of [`apply_bytes`] on the same state,
/// body and options. The generator builds only states the engine reads; one it refuses is a
/// broken invariant of the generator.
#[cfg(feature = "gen")]
pub fn check_case(case: &crate::generate::Case) {
    let session = Session::from_json(case.state.as_bytes()).unwrap_or_else(|e| {
        panic!(
            "the generator built a state the engine refuses: {e}\n{}",
            case.state
        )
    });
    let state: Value = serde_json::from_str(&case.state).expect("an accepted state is JSON");
    let options = case.options.to_options();
    let mut model_source = SeededIds::new(case.seed);
    let mut model_ids = move || model_source.next_id();
    let actor: Option<Value> = case
        .options
        .actor
        .as_deref()
        .map(|a| serde_json::from_str(a).expect("a generated actor is JSON"));
    let expected = model::apply(
        &state,
        &case.request,
        &model::Opts::from_options(&options),
        &case.now,
        &mut model_ids,
        actor.as_ref(),
    );
    let before = session.to_json();
    let now = Timestamp::parse_rfc3339(&case.now).expect("a generated clock parses");
    let mut ctx = case.options.context(now, case.seed);
    let applied = apply(session.clone(), &case.request, &options, &mut ctx);
    let what = format!(
        "\nstate: {}\nbody: {}\noptions: {:?}\nnow: {}, seed: {}\nexpected: {expected:?}\nresponse: {:?}",
        case.state,
        String::from_utf8_lossy(&case.request),
        case.options,
        case.now,
        case.seed,
        applied.answer.response
    );
    compare(&expected, &applied, &before, &what);
    assert_eq!(
        ctx.ids.next_id(),
        model_ids(),
        "A7: ids drawn from the source{what}"
    );
    check_apply(&session, &case.request, &options, actor.is_some());
}

/// Fuzzer bytes as a generated case (`Case::arbitrary_take_rest`, as `fuzz_target!` with a
/// `Case` argument reads them), checked with [`check_case`]. The fuzz target `apply_case` and
/// `tests/fuzz_replay.rs` both decode this way, so a crasher replays as the fuzzer found it.
#[cfg(feature = "arbitrary")]
pub fn apply_case(data: &[u8]) {
    use arbitrary::Arbitrary;
    if let Ok(case) = crate::generate::Case::arbitrary_take_rest(arbitrary::Unstructured::new(data))
    {
        check_case(&case);
    }
}

/// The id source of [`apply_ops`], for the engine and the model alike: `n1`, `n2`, …
fn counter() -> impl FnMut() -> String {
    let mut n = 0u32;
    move || {
        n += 1;
        format!("n{n}")
    }
}

/// The engine's answer against the model's: status, error code, item outcomes, the state after
/// (byte for byte as it was when refused, O1/O2), and the body with its messages left out (each
/// message a string, non-empty in a delta entry).
fn compare(expected: &model::Answer, applied: &Applied, before: &str, what: &str) {
    assert_eq!(
        applied.answer.response.status, expected.status,
        "status{what}"
    );
    assert_eq!(
        applied.answer.response.preference_applied, expected.preference_applied,
        "O8: Preference-Applied{what}"
    );
    assert_eq!(
        applied.answer.error.as_ref().map(|e| e.code.as_str()),
        expected.error_code.as_deref(),
        "whole-request error code{what}"
    );
    assert_eq!(
        applied.answer.error.as_ref().map(|e| e.rule.to_string()),
        expected.error_rule,
        "the rule that refused the request{what}"
    );
    assert_eq!(
        model::outcomes_of(&applied.answer.outcomes),
        expected.outcomes,
        "item outcomes{what}"
    );
    if expected.error_code.is_some() {
        assert_eq!(
            applied.state.to_json(),
            before,
            "O1/O2: state changed{what}"
        );
    }
    let state = applied.state.to_value();
    assert_eq!(state, expected.state, "the state after{what}");
    let body = applied.answer.response.body_value();
    if let Some(body) = &body {
        let error = &body["error"];
        if error.is_object() {
            assert!(error["message"].is_string(), "O2: message{what}");
            for d in error["details"].as_array().into_iter().flatten() {
                assert!(d["message"].is_string(), "O1: detail message{what}");
            }
        }
        let deltas = body.as_object().into_iter().flatten();
        for (_, entries) in deltas.filter(|(name, _)| name.ends_with("@delta")) {
            for e in entries.as_array().into_iter().flatten() {
                if let Some(info) = e.pointer("/@Core.DataModificationException/info") {
                    assert!(
                        info["message"].as_str().is_some_and(|m| !m.is_empty()),
                        "O3: message{what}"
                    );
                }
            }
        }
    }
    assert_eq!(
        body.map(model::without_messages),
        expected.body,
        "the response body, messages aside{what}"
    );
}

fn actor() -> Value {
    json!({"user": {"id": "u1", "displayName": "Fuzz"}, "application": null})
}

fn context(actor_set: bool) -> Context<SeededIds> {
    let now = Timestamp::parse_rfc3339(NOW).expect("NOW parses");
    let ctx = Context::new(now, SeededIds::new(0x5eed));
    if actor_set {
        ctx.with_actor(&actor())
    } else {
        ctx
    }
}

/// The artifact collections of a kind: (standard, granular).
fn collections_of(kind: SessionKind) -> [ArtifactCollection; 2] {
    [kind.standard(), kind.granular()]
}

/// Applies `request` twice to `session` and checks every invariant that holds for any request.
fn check_apply(session: &Session, request: &[u8], options: &Options, actor_set: bool) {
    let before = session.to_json();
    let a = apply(session.clone(), request, options, &mut context(actor_set));
    // The second run goes through `Request::parse` and `apply_request`, which must answer
    // exactly as `apply`.
    let (b_response, b_outcomes, b_state) = match Request::parse(request, options) {
        Ok(parsed) => {
            let b = apply_request(session.clone(), &parsed, options, &mut context(actor_set));
            (b.answer.response, b.answer.outcomes, b.state.to_json())
        }
        Err(error) => (error.response(), Vec::new(), before.clone()),
    };
    assert_eq!(
        a.answer.response, b_response,
        "D1 or two steps: two runs answer differently"
    );
    assert_eq!(
        a.answer.outcomes, b_outcomes,
        "D1: two runs decide differently"
    );
    let after = a.state.to_json();
    assert_eq!(after, b_state, "D1: two runs leave different states");
    let reread = Session::from_json(after.as_bytes())
        .unwrap_or_else(|e| panic!("the state after apply is refused on re-read: {e}\n{after}"));
    assert_eq!(
        reread.to_json(),
        after,
        "the state after apply does not read back"
    );
    match a.answer.response.status {
        200 | 204 => check_success(session, &before, request, options, &a),
        status => check_refusal(&before, options, &a, status),
    }
}

/// Rules O1 and O2.
fn check_refusal(before: &str, options: &Options, a: &Applied, status: u16) {
    assert!(status >= 400, "unexpected status {status}");
    assert_eq!(
        a.state.to_json(),
        before,
        "O2: a refused request changed the state"
    );
    let error = a
        .answer
        .error
        .as_ref()
        .expect("a refusal carries its error");
    assert_eq!(error.status, status);
    let text = a
        .answer
        .response
        .body
        .as_ref()
        .expect("a refusal has a body")
        .get();
    assert!(
        !has_duplicate_member(text.as_bytes()),
        "O2: the error body repeats a member name"
    );
    let body = a
        .answer
        .response
        .body_value()
        .expect("a refusal has a JSON body");
    let obj = body.as_object().expect("an error body is an object");
    assert_eq!(obj.len(), 1, "O2: an error body holds `error` only: {body}");
    let e = &body["error"];
    assert_eq!(e["code"], error.code.as_str(), "O2: code");
    assert_eq!(e["message"], error.message.as_str(), "O2: message");
    if a.answer.outcomes.is_empty() {
        assert!(e.get("details").is_none(), "details without item outcomes");
        return;
    }
    // O1: atomic mode, at least one failure; every failure listed, in order.
    assert!(
        options.atomic,
        "item outcomes on a refusal without atomic mode"
    );
    let failures: Vec<(usize, &crate::ItemFailure)> = a
        .answer
        .outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            ItemOutcome::Failed(f) => Some((i, f)),
            ItemOutcome::NotApplied => None,
            other => panic!("O1: outcome {other:?} on an atomic refusal"),
        })
        .collect();
    let (_, first) = failures
        .first()
        .expect("O1: an atomic refusal with no failure");
    assert_eq!(
        (first.status, first.code),
        (status, error.code),
        "O1: first failure"
    );
    let details = e["details"].as_array().expect("O1: details");
    assert_eq!(details.len(), failures.len(), "O1: every failure listed");
    for (d, (i, f)) in details.iter().zip(&failures) {
        assert_eq!(d["code"], f.code.as_str());
        assert_eq!(d["message"], f.message.as_str());
        let target = d["target"].as_str().expect("O1: target");
        assert!(
            target.ends_with(&format!("@delta/{i}")),
            "O1: target {target}"
        );
    }
}

/// Rules O3–O6 and D4 for an accepted request.
fn check_success(session: &Session, before: &str, request: &[u8], options: &Options, a: &Applied) {
    assert!(
        a.answer.error.is_none(),
        "an error with status {}",
        a.answer.response.status
    );
    assert!(
        !a.answer.outcomes.contains(&ItemOutcome::NotApplied),
        "NotApplied outside an atomic refusal"
    );
    let failed = a
        .answer
        .outcomes
        .iter()
        .any(|o| matches!(o, ItemOutcome::Failed(_)));
    assert!(
        !(options.atomic && failed),
        "O1: atomic mode applied a failing request"
    );
    let kind = session.kind();
    let names = collections_of(kind);
    if a.answer.response.status == 204 {
        assert!(
            options.return_minimal && !failed,
            "O5: 204 without its conditions"
        );
        assert!(a.answer.response.body.is_none(), "O5: 204 with a body");
    } else {
        assert!(
            !options.return_minimal || failed,
            "O5: 200 where 204 was due"
        );
    }
    // The request was accepted, so it is a JSON object with one delta array of this kind.
    let request: Value = serde_json::from_slice(request).expect("an accepted body is JSON");
    let request = request.as_object().expect("an accepted body is an object");
    let deltas: Vec<ArtifactCollection> = names
        .into_iter()
        .filter(|c| request.contains_key(c.delta_name()))
        .collect();
    let [collection] = deltas[..] else {
        panic!("E5/E6: accepted a body with deltas {deltas:?}");
    };
    let items = request[collection.delta_name()]
        .as_array()
        .expect("E6: accepted a delta that is not an array");
    assert_eq!(items.len(), a.answer.outcomes.len(), "one outcome per item");
    let state_value = a.state.to_value();
    if let Some(body) = &a.answer.response.body {
        assert!(
            !has_duplicate_member(body.get().as_bytes()),
            "O3: the 200 body repeats a member name: {}",
            body.get()
        );
        let body: Value = serde_json::from_str(body.get()).expect("O3: the 200 body is JSON");
        let mut body = body.as_object().expect("O3: the body is an object").clone();
        let entries = body
            .remove(collection.delta_name())
            .expect("O3: the body holds the delta");
        let entries = entries.as_array().expect("O3: the delta is an array");
        assert_eq!(entries.len(), items.len(), "O3: one entry per item");
        let granular = matches!(
            collection,
            ArtifactCollection::GranularDriveRestoreArtifacts
                | ArtifactCollection::GranularSiteRestoreArtifacts
        );
        for ((entry, item), outcome) in entries.iter().zip(items).zip(&a.answer.outcomes) {
            check_entry(entry, item, outcome, granular);
        }
        // The rest of the body is the session without its collections.
        let mut members = state_value
            .as_object()
            .expect("a state is an object")
            .clone();
        for c in names {
            members.remove(c.name());
        }
        // A state member spelled like the delta is left out: the body holds that name once.
        members.remove(collection.delta_name());
        // O7: `status` and `restoreJobType` after the schema's sentinel read
        // `unknownFutureValue` unless the client asked for them.
        if !options.include_unknown_enum_members {
            let late = [
                ("status", a.state.status().is_after_sentinel()),
                (
                    "restoreJobType",
                    a.state.restore_job_type().is_after_sentinel(),
                ),
            ];
            for (name, late) in late {
                if late && members.get(name).is_some_and(|v| !v.is_null()) {
                    members.insert(name.into(), json!("unknownFutureValue"));
                }
            }
        }
        assert_eq!(body, members, "O3: the body's session members");
    }
    // D4: the edited collection is the old one, less removals, plus additions, in order; the
    // artifacts left untouched keep their text.
    let old: Vec<(String, String)> = session
        .artifacts(collection)
        .map(|x| (x.id().to_owned(), x.json().get().to_owned()))
        .collect();
    let mut expected_ids: Vec<String> = old.iter().map(|(id, _)| id.clone()).collect();
    let mut changed = false;
    for outcome in &a.answer.outcomes {
        match outcome {
            ItemOutcome::Added { id, .. } => {
                assert!(!expected_ids.contains(id), "an addition reuses id {id}");
                expected_ids.push(id.clone());
                changed = true;
            }
            ItemOutcome::Removed { id, .. } => {
                if let Some(p) = expected_ids.iter().position(|x| x == id) {
                    expected_ids.remove(p);
                    changed = true;
                } else {
                    assert_eq!(options.missing_removal, MissingRemoval::Succeed, "X3");
                }
            }
            _ => {}
        }
    }
    let new_ids: Vec<&str> = a.state.artifacts(collection).map(|x| x.id()).collect();
    assert_eq!(new_ids, expected_ids, "D4: the collection's ids");
    let added: Vec<&str> = a
        .answer
        .outcomes
        .iter()
        .filter_map(|o| match o {
            ItemOutcome::Added { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    for artifact in a.state.artifacts(collection) {
        let old_text = old.iter().find(|(id, _)| id == artifact.id());
        if let (Some((_, text)), false) = (old_text, added.contains(&artifact.id())) {
            assert_eq!(
                artifact.json().get(),
                text,
                "D4: an untouched artifact changed"
            );
        }
    }
    let other = names[usize::from(collection == kind.standard())];
    let untouched = |s: &Session| -> Vec<String> {
        s.artifacts(other)
            .map(|x| x.json().get().to_owned())
            .collect()
    };
    assert_eq!(
        untouched(&a.state),
        untouched(session),
        "the other collection changed"
    );
    // O6.
    if changed {
        assert_eq!(
            a.state.member("lastModifiedDateTime").map(|r| r.get()),
            Some(format!("\"{NOW}\"").as_str()),
            "O6: lastModifiedDateTime"
        );
        if let Some(Value::Object(count)) = state_value.get("restoreSessionArtifactCount") {
            let total = names
                .into_iter()
                .map(|c| a.state.artifact_count(c))
                .sum::<usize>();
            assert_eq!(count.get("total"), Some(&json!(total)), "O6: total");
        }
    } else {
        assert_eq!(
            a.state.to_json(),
            before,
            "O6: nothing changed but the state did"
        );
    }
}

/// One entry of a 200 body against its item and outcome (rules O3, O4).
fn check_entry(entry: &Value, item: &Value, outcome: &ItemOutcome, granular_item: bool) {
    let entry = entry.as_object().expect("O3: an entry is an object");
    for name in [
        "@contentId",
        "@Core.ContentID",
        "@Org.OData.Core.V1.ContentID",
    ] {
        assert_eq!(entry.get(name), item.get(name), "O4: {name}");
    }
    match outcome {
        ItemOutcome::Added { id, .. } => {
            assert_eq!(entry.get("id"), Some(&json!(id)), "O3: added id");
            assert_eq!(entry.get("status"), Some(&json!("added")), "A7/G4: status");
            // A7: standard artifacts carry `createdDateTime`; G4: granular items do not.
            let created = (!granular_item).then(|| json!(NOW));
            assert_eq!(
                entry.get("createdDateTime"),
                created.as_ref(),
                "A7/G4: created"
            );
        }
        ItemOutcome::Removed { id, .. } => {
            assert_eq!(entry.get("id"), Some(&json!(id)), "O3: removed id");
            let reason = &entry["@removed"]["reason"];
            assert!(
                reason == "changed" || reason == "deleted",
                "O3: reason {reason}"
            );
        }
        ItemOutcome::Failed(f) => {
            let e = &entry["@Core.DataModificationException"];
            assert_eq!(e["info"]["code"], f.code.as_str(), "O3: code");
            assert_eq!(e["info"]["message"], f.message.as_str(), "O3: message");
            assert_eq!(e["failedOperation"], f.operation.as_str(), "O3: operation");
            assert_eq!(e["responseCode"], f.status, "O3: responseCode");
        }
        other => panic!("outcome {other:?} in a 200 body"),
    }
}

/// Rule S3: what was accepted is an object with an id whose collections are arrays of
/// objects with distinct non-empty string ids, all of the session's kind.
fn check_accepted_state(state: &Value, kind: SessionKind) {
    let obj = state
        .as_object()
        .expect("S3: accepted a state that is not an object");
    assert!(
        matches!(obj.get("id"), Some(Value::String(s)) if !s.is_empty()),
        "S3: accepted a state without an id"
    );
    for c in ArtifactCollection::ALL {
        let Some(v) = obj.get(c.name()) else {
            continue;
        };
        assert_eq!(c.kind(), kind, "S2: accepted {} in a {kind}", c.name());
        let items = v
            .as_array()
            .expect("S3: accepted a collection that is not an array");
        let mut seen = BTreeSet::new();
        for item in items {
            let id = match item.get("id") {
                Some(Value::String(s)) if !s.is_empty() => s,
                _ => panic!("S3: accepted an artifact without an id: {item}"),
            };
            assert!(seen.insert(id), "S3: accepted two artifacts with id {id:?}");
        }
    }
}

/// A small request of each family for `session`: add something new, remove its first artifact.
fn requests_for(session: &Session) -> Vec<String> {
    let kind = session.kind();
    collections_of(kind)
        .into_iter()
        .map(|c| {
            let first = session
                .artifacts(c)
                .next()
                .map_or_else(|| "none".to_owned(), |x| x.id().to_owned());
            let destination = session
                .artifacts(c)
                .find_map(|x| x.destination_type())
                .map_or_else(|| "new".to_owned(), |d| d.to_string());
            let addition = match c {
                ArtifactCollection::GranularDriveRestoreArtifacts
                | ArtifactCollection::GranularSiteRestoreArtifacts => {
                    json!({"browseSessionId": "fz-bs", "itemKey": "fz-key", "@contentId": "1"})
                }
                ArtifactCollection::GranularMailboxRestoreArtifacts => json!({
                    "restorePoint": {"id": "fz-rp"}, "destinationType": destination,
                    "searchResponseId": "fz-q"
                }),
                _ => json!({"restorePoint": {"id": "fz-rp"}, "destinationType": destination}),
            };
            let removal = json!({"@removed": {"reason": "deleted"}, "id": first});
            let mut body = Map::new();
            body.insert(c.delta_name().to_owned(), json!([addition, removal]));
            Value::Object(body).to_string()
        })
        .collect()
}
