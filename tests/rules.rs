//! One test (or a few) per rule of docs/SEMANTICS.md, named by rule id. Each breaks when its
//! rule is broken.

use restore_delta::{
    Applied, ArtifactCollection, Context, ErrorCode, IdSource, ItemOutcome, MissingRemoval,
    Options, Request, RestoreJobType, RuleId, SeededIds, Session, SessionKind, SessionStatus,
    StateError, Timestamp, apply, apply_request,
};
use serde_json::{Value, json};

const NOW: &str = "2026-11-28T12:00:00Z";
const OD: &str = "#microsoft.graph.oneDriveForBusinessRestoreSession";
const SP: &str = "#microsoft.graph.sharePointRestoreSession";
const EX: &str = "#microsoft.graph.exchangeRestoreSession";

fn session(v: &Value) -> Session {
    Session::from_json(v.to_string().as_bytes()).expect("valid state")
}

fn apply_raw(state: &Value, body: &[u8], options: &Options) -> Applied {
    let now = Timestamp::parse_rfc3339(NOW).unwrap();
    let mut ctx = Context::new(now, SeededIds::new(7));
    apply(session(state), body, options, &mut ctx)
}

fn run_with(state: &Value, body: &Value, options: &Options) -> Applied {
    apply_raw(state, body.to_string().as_bytes(), options)
}

fn run(state: &Value, body: &Value) -> Applied {
    run_with(state, body, &Options::default())
}

/// [`run`] with the id source `ids`; returns the context too, to see what the source has left.
fn run_with_ids<I: IdSource>(state: &Value, body: &Value, ids: I) -> (Applied, Context<I>) {
    let mut ctx = Context::new(Timestamp::parse_rfc3339(NOW).unwrap(), ids);
    let a = apply(
        session(state),
        body.to_string().as_bytes(),
        &Options::default(),
        &mut ctx,
    );
    (a, ctx)
}

/// A draft OneDrive session with these drive artifacts.
fn od(artifacts: Value) -> Value {
    json!({"@odata.type": OD, "id": "s1", "status": "draft", "driveRestoreArtifacts": artifacts})
}

fn art(id: &str, rp: &str, dest: &str) -> Value {
    json!({"id": id, "restorePoint": {"id": rp}, "destinationType": dest, "status": "added"})
}

fn add(rp: &str, dest: &str) -> Value {
    json!({"restorePoint": {"id": rp}, "destinationType": dest})
}

fn rm(id: &str) -> Value {
    json!({"@removed": {"reason": "changed"}, "id": id})
}

fn drive(items: Vec<Value>) -> Value {
    json!({ "driveRestoreArtifacts@delta": items })
}

fn body(a: &Applied) -> Value {
    a.answer.response.body_value().expect("a body")
}

fn entries(a: &Applied, collection: &str) -> Vec<Value> {
    assert_eq!(a.answer.response.status, 200, "{:?}", a.answer.response);
    body(a)[format!("{collection}@delta")]
        .as_array()
        .expect("delta array")
        .clone()
}

fn drive_entries(a: &Applied) -> Vec<Value> {
    entries(a, "driveRestoreArtifacts")
}

/// (responseCode, code, failedOperation) of a failed entry.
fn failure(entry: &Value) -> (u64, String, String) {
    let e = &entry["@Core.DataModificationException"];
    assert!(e.is_object(), "not a failure: {entry}");
    (
        e["responseCode"].as_u64().unwrap(),
        e["info"]["code"].as_str().unwrap().to_owned(),
        e["failedOperation"].as_str().unwrap().to_owned(),
    )
}

fn item_failure(a: &Applied, index: usize) -> (u64, String, String) {
    failure(&drive_entries(a)[index])
}

/// Asserts a whole-request error with this status and code, and an unchanged state.
fn assert_refused(a: &Applied, input: &Value, status: u16, code: &str) {
    assert_eq!(a.answer.response.status, status, "{:?}", a.answer.response);
    assert_eq!(body(a)["error"]["code"], code, "{:?}", a.answer.response);
    assert_eq!(a.answer.error.as_ref().map(|e| e.code.as_str()), Some(code));
    assert_eq!(a.state.to_json(), session(input).to_json(), "state changed");
}

fn ids(a: &Applied, c: ArtifactCollection) -> Vec<String> {
    a.state.artifacts(c).map(|x| x.id().to_owned()).collect()
}

const DRIVE: ArtifactCollection = ArtifactCollection::DriveRestoreArtifacts;

// ---------------------------------------------------------------- S: the state

#[test]
fn s1_missing_collection_is_empty_and_collections_are_read() {
    let state = json!({"@odata.type": OD, "id": "s1"});
    let a = run(&state, &drive(vec![rm("x")]));
    assert_eq!(item_failure(&a, 0).0, 409);
    let s = session(&od(json!([art("a1", "rp1", "new")])));
    assert_eq!(s.artifact_count(DRIVE), 1);
    assert_eq!(
        s.artifact(DRIVE, "a1")
            .unwrap()
            .restore_point_id()
            .as_deref(),
        Some("rp1")
    );
}

#[test]
fn s2_kind_from_type_case_insensitively_or_from_collections() {
    let s =
        session(&json!({"@odata.type": "#microsoft.graph.sharepointRestoreSession", "id": "s"}));
    assert_eq!(s.kind(), SessionKind::SharePoint);
    let s = session(&json!({"id": "s", "granularMailboxRestoreArtifacts": []}));
    assert_eq!(s.kind(), SessionKind::Exchange);
    let err = |v: Value| Session::from_json(v.to_string().as_bytes()).unwrap_err();
    assert_eq!(err(json!({"id": "s"})), StateError::UndeterminedKind);
    assert!(matches!(
        err(json!({"@odata.type": "#microsoft.graph.user", "id": "s"})),
        StateError::UnknownKind { .. }
    ));
    assert!(matches!(
        err(json!({"@odata.type": OD, "id": "s", "siteRestoreArtifacts": []})),
        StateError::KindContradiction { .. }
    ));
    assert!(matches!(
        err(json!({"id": "s", "driveRestoreArtifacts": [], "mailboxRestoreArtifacts": []})),
        StateError::KindContradiction { .. }
    ));
}

#[test]
fn s3_state_errors_are_library_errors() {
    let err = |text: &str| Session::from_json(text.as_bytes()).unwrap_err();
    assert!(matches!(err("[1]"), StateError::NotAnObject));
    assert!(matches!(err("{"), StateError::InvalidJson { .. }));
    assert!(matches!(err("\u{feff}{}"), StateError::InvalidJson { .. }));
    assert_eq!(
        err(&json!({"@odata.type": OD}).to_string()),
        StateError::MissingId
    );
    assert_eq!(
        err(&json!({"@odata.type": OD, "id": 5}).to_string()),
        StateError::InvalidMember {
            member: "id".into(),
            reason: "is not a string".into()
        }
    );
    assert!(matches!(
        err(&od(json!([{"restorePoint": {"id": "r"}}])).to_string()),
        StateError::InvalidArtifact { index: 0, .. }
    ));
    assert!(matches!(
        err(&od(json!([art("a", "r1", "new"), art("a", "r2", "new")])).to_string()),
        StateError::DuplicateArtifactId { .. }
    ));
    assert!(matches!(
        err(&od(json!({"a": 1})).to_string()),
        StateError::CollectionNotArray { .. }
    ));
    assert!(matches!(
        err(&od(json!([art("a", "r1", "new"), 5])).to_string()),
        StateError::InvalidArtifact { index: 1, .. }
    ));
    assert!(matches!(
        err(r#"{"@odata.type":"x","@odata.type":"y","id":"s"}"#),
        StateError::InvalidJson { .. }
    ));
    assert!(matches!(
        err(&json!({"@odata.type": OD, "id": "s", "status": 3}).to_string()),
        StateError::InvalidMember { .. }
    ));
}

#[test]
fn s3_the_first_error_in_document_order_is_reported() {
    // Artifacts are indexed some at a time after being read: a duplicate id still wins over
    // any error after it, and loses to any error before it, wherever the batches fall.
    let err = |arts: Vec<Value>| {
        Session::from_json(od(Value::Array(arts)).to_string().as_bytes()).unwrap_err()
    };
    let many = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| art(&format!("a{i}"), &format!("r{i}"), "new"))
            .collect()
    };
    for (dup_at, bad_at) in [(3, 40), (40, 3), (31, 32), (32, 31), (100, 250), (250, 100)] {
        let mut arts = many(300);
        arts[dup_at] = art("a0", &format!("r{dup_at}"), "new");
        arts[bad_at] = json!({"restorePoint": {"id": format!("r{bad_at}")}});
        let e = err(arts);
        if dup_at < bad_at {
            assert_eq!(
                e,
                StateError::DuplicateArtifactId {
                    collection: DRIVE,
                    id: "a0".into()
                },
                "{dup_at} {bad_at}"
            );
        } else {
            assert!(
                matches!(e, StateError::InvalidArtifact { index, .. } if index == bad_at),
                "{dup_at} {bad_at}: {e:?}"
            );
        }
    }
    // A duplicate of an artifact read many batches earlier, and the last artifact.
    let mut arts = many(200);
    arts[199] = art("a1", "r199", "new");
    assert!(matches!(err(arts), StateError::DuplicateArtifactId { id, .. } if id == "a1"));
    // A syntax error after the last artifact: the artifacts before it are checked first.
    let mut arts = many(10);
    arts[5] = art("a2", "r5", "new");
    let items: Vec<String> = arts.iter().map(Value::to_string).collect();
    let text = format!(
        r#"{{"@odata.type":"{OD}","id":"s1","driveRestoreArtifacts":[{} x]}}"#,
        items.join(",")
    );
    assert!(matches!(
        Session::from_json(text.as_bytes()).unwrap_err(),
        StateError::DuplicateArtifactId { id, .. } if id == "a2"
    ));
}

#[test]
fn s3_nested_duplicates_and_lone_surrogates_are_state_errors() {
    let err = |text: &str| Session::from_json(text.as_bytes()).unwrap_err();
    for text in [
        r#"{"id":"b","mailboxRestoreArtifacts":[{"id":"e","x":null,"x":null}]}"#,
        r#"{"id":"b","mailboxRestoreArtifacts":[{"id":"e","restorePoint":{"id":"r","id":"s"}}]}"#,
        r#"{"id":"b","mailboxRestoreArtifacts":[],"restoreSessionArtifactCount":{"total":1,"total":2}}"#,
        r#"{"id":"b","mailboxRestoreArtifacts":[],"x":{"a":[{"k":1,"\u006b":2}]}}"#,
        r#"{"id":"s","":"\ud83e","mailboxRestoreArtifacts":[]}"#,
        r#"{"id":"s","mailboxRestoreArtifacts":[{"id":"a","n":"\udc00x"}]}"#,
    ] {
        assert!(
            matches!(
                err(text),
                StateError::InvalidJson { .. } | StateError::InvalidArtifact { .. }
            ),
            "{text}"
        );
    }
    // Paired surrogates are fine.
    let ok = r#"{"id":"s","x":"\ud83d\ude00","mailboxRestoreArtifacts":[{"id":"a","n":"\ud83d\ude00"}]}"#;
    assert_eq!(Session::from_json(ok.as_bytes()).unwrap().to_json(), ok);
}

#[test]
fn s4_unknown_members_and_enum_values_survive() {
    let text = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s1","status":"draft","x-future":{"n":1.50,"s":"\u00e9"},"restoreJobType":"someJobType","driveRestoreArtifacts":[{"id":"a1","restorePoint":{"id":"r1","extra":[1,2]},"destinationType":"new","status":"someFutureStatus","unknownMember":1e3}]}"##;
    let s = Session::from_json(text.as_bytes()).unwrap();
    assert_eq!(s.to_json(), text, "read-then-write lost something");
    assert_eq!(
        s.restore_job_type(),
        &RestoreJobType::Other("someJobType".into())
    );
    // And after an apply that touches another artifact.
    let mut ctx = Context::new(Timestamp::parse_rfc3339(NOW).unwrap(), SeededIds::new(7));
    let body = drive(vec![add("r2", "new")]).to_string();
    let a = apply(s, body.as_bytes(), &Options::default(), &mut ctx);
    let out = a.state.to_json();
    assert!(
        out.contains(r#""x-future":{"n":1.50,"s":"\u00e9"}"#),
        "{out}"
    );
    assert!(out.contains(r#"{"id":"a1","restorePoint":{"id":"r1","extra":[1,2]},"destinationType":"new","status":"someFutureStatus","unknownMember":1e3}"#), "{out}");
    // White space between tokens is dropped, tokens are kept.
    let pretty = "{ \"id\" : \"s1\",\n  \"driveRestoreArtifacts\" : [ { \"id\" : \"a b\" , \"n\" : 1.0 } ] }";
    let s = Session::from_json(pretty.as_bytes()).unwrap();
    assert_eq!(
        s.to_json(),
        r#"{"id":"s1","driveRestoreArtifacts":[{"id":"a b","n":1.0}]}"#
    );
}

#[test]
fn s5_missing_status_is_draft_and_missing_job_type_is_standard() {
    let state = json!({"@odata.type": OD, "id": "s1"});
    let s = session(&state);
    assert_eq!(s.status(), &SessionStatus::Draft);
    assert_eq!(s.restore_job_type(), &RestoreJobType::Standard);
    let a = run(&state, &drive(vec![add("r1", "new")]));
    assert_eq!(a.answer.response.status, 200);
    let a = run(
        &json!({"@odata.type": OD, "id": "s1", "status": null}),
        &drive(vec![add("r1", "new")]),
    );
    assert_eq!(a.answer.response.status, 200);
}

// ---------------------------------------------------------------- E: the envelope

#[test]
fn e1_body_over_the_byte_limit_is_413_before_parsing() {
    let state = od(json!([]));
    let b = drive(vec![add("r1", "new")]).to_string();
    let exact = Options::default().with_max_bytes(b.len());
    assert_eq!(
        apply_raw(&state, b.as_bytes(), &exact)
            .answer
            .response
            .status,
        200
    );
    let small = Options::default().with_max_bytes(b.len() - 1);
    assert_refused(
        &apply_raw(&state, b.as_bytes(), &small),
        &state,
        413,
        "RequestEntityTooLarge",
    );
    // Size is checked before JSON: an over-size body of garbage is still 413.
    let garbage = vec![b'['; 2 * 1024 * 1024];
    assert_refused(
        &apply_raw(&state, &garbage, &Options::default()),
        &state,
        413,
        "RequestEntityTooLarge",
    );
}

#[test]
fn e2_malformed_bodies_are_400() {
    let state = od(json!([art("a1", "r1", "new")]));
    let o = Options::default();
    for bad in [
        &b"\xff\xfe"[..],
        b"{\"driveRestoreArtifacts@delta\":[{\"@removed\":{},\"id\":\"a\xff\"}]}",
        b"",
        b"{",
        b"{} {}",
        b"[]",
        b"\"x\"",
        b"null",
        br#"{"driveRestoreArtifacts@delta":[],"driveRestoreArtifacts@delta":[]}"#,
        br#"{"driveRestoreArtifacts@delta":[{"@removed":{},"id":"a1","id":"zz"}]}"#,
    ] {
        let a = apply_raw(&state, bad, &o);
        assert_refused(&a, &state, 400, "InvalidPatchRequest");
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_refused(
        &apply_raw(&state, deep.as_bytes(), &o),
        &state,
        400,
        "InvalidPatchRequest",
    );
    // Depth: the body object is level 1; the limit is inclusive.
    let nested = |levels: usize| {
        // body(1) > array(2) > item(3) > restorePoint(4) > x: [[...]]
        let inner = format!("{}{}", "[".repeat(levels - 4), "]".repeat(levels - 4));
        format!(
            r#"{{"driveRestoreArtifacts@delta":[{{"restorePoint":{{"id":"r9","x@y":{inner}}},"destinationType":"new"}}]}}"#
        )
    };
    assert_eq!(
        apply_raw(&state, nested(64).as_bytes(), &o)
            .answer
            .response
            .status,
        200
    );
    assert_refused(
        &apply_raw(&state, nested(65).as_bytes(), &o),
        &state,
        400,
        "InvalidPatchRequest",
    );
    let shallow = Options::default().with_max_depth(3);
    assert_refused(
        &apply_raw(&state, nested(6).as_bytes(), &shallow),
        &state,
        400,
        "InvalidPatchRequest",
    );
}

#[test]
fn e3_only_draft_and_never_bulk() {
    for status in ["active", "completed", "someFutureValue"] {
        let mut state = od(json!([]));
        state["status"] = json!(status);
        let a = run(&state, &drive(vec![add("r1", "new")]));
        assert_refused(&a, &state, 403, "RestoreSessionActionNotAllowed");
        assert_eq!(
            body(&a)["error"]["message"],
            "Restore session can only be patched in Draft state."
        );
    }
    let mut state = od(json!([]));
    state["restoreJobType"] = json!("bulk");
    let a = run(&state, &drive(vec![add("r1", "new")]));
    assert_refused(&a, &state, 403, "RestoreSessionActionNotAllowed");
    assert_eq!(
        body(&a)["error"]["message"],
        "Patch operations aren't supported for bulk restore sessions."
    );
    // A bulk session by content: created empty (`standard`), then given bulk-addition requests.
    for (kind_type, member, delta) in [
        (
            OD,
            "driveRestoreArtifactsBulkAdditionRequests",
            "driveRestoreArtifacts@delta",
        ),
        (
            SP,
            "siteRestoreArtifactsBulkAdditionRequests",
            "siteRestoreArtifacts@delta",
        ),
        (
            EX,
            "mailboxRestoreArtifactsBulkAdditionRequests",
            "mailboxRestoreArtifacts@delta",
        ),
    ] {
        let request = json!({ delta: [add("r1", "new")] });
        let mut state = json!({"@odata.type": kind_type, "id": "s1", "status": "draft",
            "restoreJobType": "standard"});
        state[member] = json!([{"id": "b1", "displayName": "bulk", "status": "active"}]);
        assert!(session(&state).is_bulk());
        let a = run(&state, &request);
        assert_refused(&a, &state, 403, "RestoreSessionActionNotAllowed");
        assert_eq!(
            body(&a)["error"]["message"],
            "Patch operations aren't supported for bulk restore sessions."
        );
        // An empty list is no bulk session; the member stays as it was.
        state[member] = json!([]);
        let a = run(&state, &request);
        assert_eq!(a.answer.response.status, 200, "{member} empty");
        assert_eq!(a.state.to_value()[member], json!([]));
        // Present but not an array: a state error.
        for wrong in [json!(null), json!({}), json!("x")] {
            state[member] = wrong;
            assert_eq!(
                Session::from_json(state.to_string().as_bytes()).unwrap_err(),
                StateError::InvalidMember {
                    member: member.into(),
                    reason: "is not an array".into()
                }
            );
        }
    }
    // Another kind's bulk member means nothing here and is kept as it is.
    let mut state = od(json!([]));
    state["mailboxRestoreArtifactsBulkAdditionRequests"] = json!([{"id": "b1"}]);
    let a = run(&state, &drive(vec![add("r1", "new")]));
    assert_eq!(a.answer.response.status, 200);
    assert_eq!(
        a.state.to_value()["mailboxRestoreArtifactsBulkAdditionRequests"],
        json!([{"id": "b1"}])
    );
    // E3 comes after E2: a malformed body to an active session is 400.
    let mut state = od(json!([]));
    state["status"] = json!("active");
    assert_refused(
        &apply_raw(&state, b"{", &Options::default()),
        &state,
        400,
        "InvalidPatchRequest",
    );
}

#[test]
fn e4_only_the_delta_member_and_annotations_are_allowed() {
    let state = od(json!([]));
    let ok = |extra: Value| {
        let mut b = drive(vec![add("r1", "new")]);
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        run(&state, &b)
    };
    for fine in [
        json!({"@odata.type": "#Microsoft.Graph.OneDriveForBusinessRestoreSession"}),
        json!({"@odata.type": "microsoft.graph.oneDriveForBusinessRestoreSession"}),
        json!({"@odata.context": "whatever", "@context": "#$delta"}),
        json!({"id": "s1"}),
        json!({"@Some.Annotation": 1, "status@odata.type": "x"}),
    ] {
        assert_eq!(ok(fine.clone()).answer.response.status, 200, "{fine}");
    }
    for bad in [
        json!({"@odata.type": OD.replace("oneDrive", "sharePoint")}),
        json!({"@odata.type": 5}),
        json!({"id": "other"}),
        json!({"id": 1}),
        json!({"status": "active"}),
        json!({"restoreJobType": "standard"}),
        json!({"lastModifiedDateTime": NOW}),
        json!({"restoreSessionArtifactCount": {"total": 1}}),
        json!({"displayName": "x"}),
        json!({"driveRestoreArtifacts": []}),
        json!({"siteRestoreArtifacts@delta": [add("r2", "new")]}),
        json!({"nonsense@delta": []}),
    ] {
        assert_refused(&ok(bad.clone()), &state, 400, "InvalidPatchRequest");
    }
}

#[test]
fn e5_standard_and_granular_in_one_body_is_400() {
    let state = od(json!([]));
    let b = json!({"driveRestoreArtifacts@delta": [add("r1", "new")],
                   "granularDriveRestoreArtifacts@delta": [{"browseSessionId": "b", "itemKey": "k"}]});
    assert_refused(&run(&state, &b), &state, 400, "InvalidPatchRequest");
}

#[test]
fn e6_empty_or_missing_list_is_invalid_artifact_request() {
    let state = od(json!([]));
    for b in [
        json!({}),
        json!({"driveRestoreArtifacts@delta": null}),
        json!({"driveRestoreArtifacts@delta": []}),
        json!({"driveRestoreArtifacts@delta": {}}),
        json!({"driveRestoreArtifacts@delta": "x"}),
        json!({"@odata.context": "c"}),
    ] {
        let a = run(&state, &b);
        assert_refused(&a, &state, 400, "InvalidArtifactRequest");
        assert_eq!(
            body(&a)["error"]["message"],
            "Empty or null restore artifact list."
        );
    }
}

#[test]
fn e7_item_limit() {
    let state = od(json!([]));
    let items = |n: usize| drive((0..n).map(|i| add(&format!("r{i}"), "new")).collect());
    assert_eq!(run(&state, &items(50)).answer.response.status, 200);
    let a = run(&state, &items(51));
    assert_refused(&a, &state, 400, "RestoreArtifactsLimitBreached");
    assert_eq!(
        body(&a)["error"]["message"],
        "Exceeded maximum artifacts limit of 50 for single request."
    );
    let raised = Options::default().with_max_items(60);
    assert_eq!(
        run_with(&state, &items(51), &raised).answer.response.status,
        200
    );
    let a = run_with(&state, &items(2), &Options::default().with_max_items(1));
    assert_eq!(
        body(&a)["error"]["message"],
        "Exceeded maximum artifacts limit of 1 for single request."
    );
}

#[test]
fn e8_an_item_that_is_not_an_object_refuses_the_request() {
    let state = od(json!([art("a1", "r1", "new")]));
    for item in [json!(1), json!("a1"), json!(null), json!([rm("a1")])] {
        let a = run(&state, &drive(vec![rm("a1"), item]));
        assert_refused(&a, &state, 400, "InvalidPatchRequest");
    }
}

#[test]
fn e9_one_family_per_session_and_job_type_written_on_first_addition() {
    let state = od(json!([art("a1", "r1", "new")]));
    let granular =
        json!({"granularDriveRestoreArtifacts@delta": [{"browseSessionId": "b", "itemKey": "k"}]});
    assert_refused(&run(&state, &granular), &state, 400, "InvalidPatchRequest");
    let gstate = json!({"@odata.type": OD, "id": "s1", "granularDriveRestoreArtifacts": [{"id": "k0", "browseSessionId": "b"}]});
    assert_refused(
        &run(&gstate, &drive(vec![add("r1", "new")])),
        &gstate,
        400,
        "InvalidPatchRequest",
    );
    // Empty session: takes the family of its first addition.
    let empty = json!({"@odata.type": OD, "id": "s1", "restoreJobType": "standard"});
    let a = run(&empty, &granular);
    assert_eq!(a.state.restore_job_type(), &RestoreJobType::Granular);
    assert_eq!(a.state.to_value()["restoreJobType"], "granular");
    let a = run(
        &json!({"@odata.type": OD, "id": "s1"}),
        &drive(vec![add("r1", "new")]),
    );
    assert_eq!(a.state.to_value()["restoreJobType"], "standard");
    // No successful addition: nothing written.
    let a = run(
        &json!({"@odata.type": OD, "id": "s1"}),
        &drive(vec![rm("zz")]),
    );
    assert!(a.state.to_value().get("restoreJobType").is_none());
    // A session that already has artifacts keeps its job type as it is.
    let a = run(&state, &drive(vec![add("r2", "new")]));
    assert!(a.state.to_value().get("restoreJobType").is_none());
}

// ---------------------------------------------------------------- X: removals

#[test]
fn x1_removed_marker_and_reason() {
    let state = od(json!([
        art("a1", "r1", "new"),
        art("a2", "r2", "new"),
        art("a3", "r3", "new"),
        art("a4", "r4", "new")
    ]));
    let a = run(
        &state,
        &drive(vec![
            json!({"@removed": null, "id": "a1"}),
            json!({"@removed": {}, "id": "a2"}),
            json!({"@odata.removed": {"reason": "deleted"}, "id": "a3"}),
            json!({"@removed": {"reason": null, "extra": 1}, "id": "a4"}),
        ]),
    );
    let e = drive_entries(&a);
    assert_eq!(e[0]["@removed"]["reason"], "changed");
    assert_eq!(e[1]["@removed"]["reason"], "changed");
    assert_eq!(e[2]["@removed"]["reason"], "deleted");
    assert_eq!(e[3]["@removed"]["reason"], "changed");
    assert_eq!(a.state.artifact_count(DRIVE), 0);
    let a = run(
        &state,
        &drive(vec![
            json!({"@removed": {"reason": "gone"}, "id": "a1"}),
            json!({"@removed": {"reason": "Changed"}, "id": "a1"}),
            json!({"@removed": {"reason": 1}, "id": "a1"}),
            json!({"@removed": "changed", "id": "a1"}),
            json!({"@removed": [], "id": "a1"}),
            json!({"@removed": {}, "@odata.removed": {}, "id": "a1"}),
        ]),
    );
    for i in 0..6 {
        assert_eq!(
            item_failure(&a, i),
            (400, "InvalidPatchRequest".into(), "remove".into()),
            "{i}"
        );
    }
    assert_eq!(a.state.artifact_count(DRIVE), 4);
}

#[test]
fn x2_removal_needs_a_string_id_and_ignores_other_members() {
    let state = od(json!([art("a1", "r1", "new")]));
    let a = run(
        &state,
        &drive(vec![
            json!({"@removed": {}}),
            json!({"@removed": {}, "id": ""}),
            json!({"@removed": {}, "id": 7}),
            json!({"@removed": {}, "id": "a1", "destinationType": "bogus", "status": "x"}),
        ]),
    );
    for i in 0..3 {
        assert_eq!(
            item_failure(&a, i),
            (400, "InvalidPatchRequest".into(), "remove".into())
        );
    }
    assert_eq!(drive_entries(&a)[2]["id"], 7, "the id is echoed as sent");
    assert_eq!(drive_entries(&a)[3]["@removed"]["reason"], "changed");
}

#[test]
fn x3_missing_id_is_409_including_a_second_removal() {
    let state = od(json!([art("a1", "r1", "new")]));
    let a = run(&state, &drive(vec![rm("a1"), rm("a1"), rm("nope")]));
    assert!(drive_entries(&a)[0].get("@removed").is_some());
    for i in [1, 2] {
        assert_eq!(
            item_failure(&a, i),
            (409, "Invalid".into(), "remove".into())
        );
        assert_eq!(
            drive_entries(&a)[i]["@Core.DataModificationException"]["info"]["message"],
            "The identifier to be removed from the restore session does not exist"
        );
    }
    let lenient = Options::default().with_missing_removal(MissingRemoval::Succeed);
    let a = run_with(&state, &drive(vec![rm("nope")]), &lenient);
    assert_eq!(
        drive_entries(&a)[0],
        json!({"@removed": {"reason": "changed"}, "id": "nope"})
    );
    assert_eq!(
        a.answer.outcomes,
        vec![ItemOutcome::Removed {
            id: "nope".into(),
            existed: false
        }]
    );
    assert_eq!(
        a.state.to_json(),
        session(&state).to_json(),
        "a no-op success changes nothing"
    );
}

#[test]
fn x4_a_removed_artifact_leaves_the_collection() {
    let state = od(json!([
        art("a1", "r1", "new"),
        art("a2", "r2", "new"),
        art("a3", "r3", "new")
    ]));
    let a = run(&state, &drive(vec![rm("a2")]));
    assert_eq!(ids(&a, DRIVE), ["a1", "a3"]);
    assert_eq!(
        a.answer.outcomes,
        vec![ItemOutcome::Removed {
            id: "a2".into(),
            existed: true
        }]
    );
    // Its restore point is free again (indexes follow removals).
    let a2 = apply(
        a.state,
        drive(vec![add("r2", "new")]).to_string().as_bytes(),
        &Options::default(),
        &mut Context::new(Timestamp::parse_rfc3339(NOW).unwrap(), SeededIds::new(1)),
    );
    assert!(matches!(a2.answer.outcomes[0], ItemOutcome::Added { .. }));
}

// ---------------------------------------------------------------- A: standard additions

#[test]
fn a1_only_restore_point_destination_type_and_annotations() {
    let state = od(json!([]));
    let with = |k: &str, v: Value| {
        let mut item = add("r1", "new");
        item[k] = v;
        run(&state, &drive(vec![item]))
    };
    for (k, v) in [
        ("id", json!("mine")),
        ("status", json!("added")),
        ("createdDateTime", json!(NOW)),
        ("restoredSiteId", json!("x")),
        ("error", json!(null)),
        ("foo", json!(1)),
        ("@odata.type", json!("#microsoft.graph.siteRestoreArtifact")),
        ("@odata.type", json!(1)),
    ] {
        assert_eq!(
            item_failure(&with(k, v), 0),
            (400, "InvalidPatchRequest".into(), "insert".into()),
            "{k}"
        );
    }
    for (k, v) in [
        (
            "@odata.type",
            json!("#microsoft.graph.DRIVErestoreArtifact"),
        ),
        ("@contentId", json!("c")),
        ("restorePoint@odata.navigationLink", json!("x")),
    ] {
        assert_eq!(with(k, v).answer.outcomes.len(), 1);
        assert!(matches!(
            with(k, json!("#microsoft.graph.driveRestoreArtifact"))
                .answer
                .outcomes[0],
            ItemOutcome::Added { .. }
        ));
    }
}

#[test]
fn a2_restore_point_reference() {
    let state = od(json!([]));
    let bad = [
        json!(null),
        json!("rp"),
        json!({}),
        json!({"id": ""}),
        json!({"id": 5}),
        json!({"id": "a", "@odata.id": "b"}),
        json!({"@odata.id": null}),
        // An invalid `id` is not made good by a valid `@odata.id`, nor the reverse.
        json!({"id": "", "@odata.id": "rp"}),
        json!({"id": null, "@odata.id": "rp"}),
        json!({"id": 5, "@odata.id": "rp"}),
        json!({"id": "rp", "@odata.id": null}),
        json!({"id": "rp", "@odata.id": ""}),
    ];
    for rp in bad {
        let a = run(
            &state,
            &drive(vec![json!({"restorePoint": rp, "destinationType": "new"})]),
        );
        assert_eq!(
            item_failure(&a, 0),
            (400, "InvalidRestorePoint".into(), "insert".into()),
            "{rp}"
        );
    }
    let a = run(&state, &drive(vec![json!({"destinationType": "new"})]));
    assert_eq!(item_failure(&a, 0).1, "InvalidRestorePoint");
    let a = run(
        &state,
        &drive(vec![
            json!({"restorePoint": {"@odata.id": "rp-x"}, "destinationType": "new"}),
            json!({"restorePoint": {"@odata.id": "rp-y", "id": "rp-y", "other": 1}, "destinationType": "new"}),
            json!({"restorePoint": {"id": "not-a-guid at all"}, "destinationType": "new"}),
        ]),
    );
    let e = drive_entries(&a);
    assert_eq!(e[0]["restorePoint"], json!({"id": "rp-x"}));
    assert_eq!(e[1]["restorePoint"], json!({"id": "rp-y"}));
    assert_eq!(e[2]["restorePoint"], json!({"id": "not-a-guid at all"}));
}

#[test]
fn a2_odata_id_is_an_entity_id_iri_resolved_to_the_key() {
    let with = |rp: Value| json!({"restorePoint": rp, "destinationType": "new"});
    let iris = [
        "rp-1",
        "restorePoints/rp-1",
        "/solutions/backupRestore/restorePoints('rp-1')",
        "https://graph.microsoft.com/v1.0/solutions/backupRestore/restorePoints/rp-1",
        "https://graph.microsoft.com/beta/solutions/backupRestore/restorePoints('rp-1')",
        "https://graph.microsoft.com/v1.0/solutions/backupRestore/restorePoints(rp-1)",
        "restorePoints/rp%2D1",
    ];
    for iri in iris {
        // Stored as the key; a second addition of the same key by `id` is a duplicate (A4).
        let a = run(
            &od(json!([])),
            &drive(vec![with(json!({"@odata.id": iri})), add("rp-1", "new")]),
        );
        let e = drive_entries(&a);
        assert_eq!(e[0]["restorePoint"], json!({"id": "rp-1"}), "{iri}");
        assert_eq!(
            failure(&e[1]).1,
            "DuplicateArtifactInList",
            "{iri}: A4 bypassed"
        );
        // And the other way round, against a stored artifact.
        let a = run(
            &od(json!([art("a1", "rp-1", "new")])),
            &drive(vec![with(json!({"@odata.id": iri}))]),
        );
        assert_eq!(item_failure(&a, 0).1, "DuplicateArtifactInList", "{iri}");
        // `id` and `@odata.id` both given must name the same key.
        let a = run(
            &od(json!([])),
            &drive(vec![with(json!({"id": "rp-1", "@odata.id": iri}))]),
        );
        assert_eq!(drive_entries(&a)[0]["restorePoint"], json!({"id": "rp-1"}));
    }
    let bad = [
        "https://graph.microsoft.com/v1.0/solutions/backupRestore/protectionPolicies/rp-1",
        "https://graph.microsoft.com/v1.0/solutions/backupRestore/restorePoints/rp-1?$select=id",
        "restorePoints/rp-1#x",
        "restorePoints('')",
        "https://example.com/v1.0/restorePoints/rp-1",
        "http://127.0.0.1:8080/v1.0/restorePoints/rp-1",
        "restorePoints/%FF",
        "restorePoints('it's')",
    ];
    for iri in bad {
        let a = run(
            &od(json!([])),
            &drive(vec![with(json!({"@odata.id": iri}))]),
        );
        assert_eq!(
            item_failure(&a, 0),
            (400, "InvalidRestorePoint".into(), "insert".into()),
            "{iri}"
        );
        // The failure entry echoes the reference as sent.
        assert_eq!(
            drive_entries(&a)[0]["restorePoint"],
            json!({"@odata.id": iri})
        );
        assert_eq!(a.state.artifact_count(DRIVE), 0);
    }
    let a = run(
        &od(json!([])),
        &drive(vec![with(
            json!({"id": "rp-2", "@odata.id": "restorePoints/rp-1"}),
        )]),
    );
    assert_eq!(item_failure(&a, 0).1, "InvalidRestorePoint");
    // An embedder's own service root.
    let local = "http://127.0.0.1:8080/v1.0/solutions/backupRestore/restorePoints/rp-1";
    let options = Options::default().with_service_root("http://127.0.0.1:8080/v1.0");
    let a = run_with(
        &od(json!([])),
        &drive(vec![with(json!({"@odata.id": local}))]),
        &options,
    );
    assert_eq!(drive_entries(&a)[0]["restorePoint"], json!({"id": "rp-1"}));
    // A colon in a relative reference's key is no scheme: `rp:1` is the key.
    for iri in [
        "restorePoints('rp:1')",
        "restorePoints/rp:1",
        "restorePoints(rp:1)",
    ] {
        let a = run(
            &od(json!([])),
            &drive(vec![with(json!({"@odata.id": iri}))]),
        );
        assert_eq!(
            drive_entries(&a)[0]["restorePoint"],
            json!({"id": "rp:1"}),
            "{iri}"
        );
    }
    // A reference of nearly 1 MiB is read, and refused, in linear time.
    let huge = format!("restorePoints/{}?", "%41".repeat(340_000));
    let a = run(
        &od(json!([])),
        &drive(vec![with(json!({"@odata.id": huge}))]),
    );
    assert_eq!(item_failure(&a, 0).1, "InvalidRestorePoint");
    let huge = format!("restorePoints/{}", "%41".repeat(340_000));
    let a = run(
        &od(json!([])),
        &drive(vec![with(json!({"@odata.id": huge}))]),
    );
    assert_eq!(
        drive_entries(&a)[0]["restorePoint"]["id"]
            .as_str()
            .map(str::len),
        Some(340_000)
    );
}

#[test]
fn a3_destination_type_is_new_or_in_place_exactly() {
    let state = od(json!([]));
    for d in [
        json!(null),
        json!("unknownFutureValue"),
        json!("InPlace"),
        json!("NEW"),
        json!(1),
    ] {
        let a = run(
            &state,
            &drive(vec![
                json!({"restorePoint": {"id": "r"}, "destinationType": d}),
            ]),
        );
        assert_eq!(
            item_failure(&a, 0),
            (400, "InvalidPathType".into(), "insert".into())
        );
    }
    let a = run(&state, &drive(vec![json!({"restorePoint": {"id": "r"}})]));
    assert_eq!(item_failure(&a, 0).1, "InvalidPathType");
    assert_eq!(
        run(&state, &drive(vec![add("r", "inPlace")]))
            .answer
            .outcomes
            .len(),
        1
    );
    assert!(matches!(
        run(&state, &drive(vec![add("r", "inPlace")]))
            .answer
            .outcomes[0],
        ItemOutcome::Added { .. }
    ));
}

#[test]
fn a4_a_restore_point_is_in_the_collection_once() {
    let state = od(json!([art("a1", "r1", "new")]));
    let a = run(
        &state,
        &drive(vec![
            add("r1", "new"),
            add("r2", "new"),
            add("r2", "new"),
            rm("a1"),
            add("r1", "new"),
        ]),
    );
    assert_eq!(
        item_failure(&a, 0),
        (400, "DuplicateArtifactInList".into(), "insert".into())
    );
    assert!(matches!(a.answer.outcomes[1], ItemOutcome::Added { .. }));
    assert_eq!(item_failure(&a, 2).1, "DuplicateArtifactInList");
    assert!(
        matches!(a.answer.outcomes[4], ItemOutcome::Added { .. }),
        "removal frees the restore point"
    );
    assert_eq!(
        drive_entries(&a)[0]["@Core.DataModificationException"]["info"]["message"],
        "The restore artifact requested is already present."
    );
}

#[test]
fn a5_one_destination_type_per_session() {
    let state = od(json!([art("a1", "r1", "inPlace")]));
    let a = run(
        &state,
        &drive(vec![
            add("r2", "new"),
            add("r3", "inPlace"),
            rm("a1"),
            add("r4", "new"),
        ]),
    );
    assert_eq!(
        item_failure(&a, 0),
        (
            400,
            "DifferentRestoreDestinationType".into(),
            "insert".into()
        )
    );
    assert!(matches!(a.answer.outcomes[1], ItemOutcome::Added { .. }));
    assert_eq!(
        item_failure(&a, 3).1,
        "DifferentRestoreDestinationType",
        "r3 is still inPlace"
    );
    let a = run(&state, &drive(vec![rm("a1"), add("r4", "new")]));
    assert!(matches!(a.answer.outcomes[1], ItemOutcome::Added { .. }));
    // Within one request on an empty session.
    let a = run(
        &od(json!([])),
        &drive(vec![add("r1", "new"), add("r2", "inPlace")]),
    );
    assert_eq!(item_failure(&a, 1).1, "DifferentRestoreDestinationType");
}

fn mailbox_state(granular: Value) -> Value {
    json!({"@odata.type": EX, "id": "e1", "granularMailboxRestoreArtifacts": granular})
}

fn gmail(items: Vec<Value>) -> Value {
    json!({"granularMailboxRestoreArtifacts@delta": items})
}

#[test]
fn a6_granular_mailbox_needs_search_response_id_and_keys_by_the_pair() {
    let stored = json!([{"id": "g1", "restorePoint": {"id": "r1"}, "destinationType": "new", "searchResponseId": "s1", "status": "added"}]);
    let state = mailbox_state(stored);
    let item = |rp: &str, s: Value| {
        let mut v = json!({"restorePoint": {"id": rp}, "destinationType": "new"});
        if !s.is_null() {
            v["searchResponseId"] = s;
        }
        v
    };
    let a = run(
        &state,
        &gmail(vec![
            item("r1", json!(null)),
            item("r1", json!("")),
            item("r1", json!(3)),
            item("r1", json!("s1")),
            item("r1", json!("s2")),
            item("r1", json!("s2")),
        ]),
    );
    let e = entries(&a, "granularMailboxRestoreArtifacts");
    for (i, entry) in e.iter().take(3).enumerate() {
        assert_eq!(
            failure(entry),
            (400, "InvalidPatchRequest".into(), "insert".into()),
            "{i}"
        );
    }
    assert_eq!(failure(&e[3]).1, "DuplicateArtifactInList");
    assert_eq!(e[4]["searchResponseId"], "s2");
    assert_eq!(e[4]["status"], "added");
    assert_eq!(failure(&e[5]).1, "DuplicateArtifactInList");
    // searchResponseId is not allowed on standard mailbox artifacts (A1).
    let std = json!({"@odata.type": EX, "id": "e1"});
    let a = run(
        &std,
        &json!({"mailboxRestoreArtifacts@delta": [item("r1", json!("s1"))]}),
    );
    assert_eq!(
        failure(&entries(&a, "mailboxRestoreArtifacts")[0]).1,
        "InvalidPatchRequest"
    );
}

#[test]
fn a7_a_new_artifact_has_a_generated_id_added_status_and_now() {
    let a = run(&od(json!([])), &drive(vec![add("r1", "new")]));
    let e = &drive_entries(&a)[0];
    let id = e["id"].as_str().unwrap();
    let mut ids = SeededIds::new(7);
    assert_eq!(id, ids.next_id());
    assert_eq!(
        e,
        &json!({"id": id, "restorePoint": {"id": "r1"}, "destinationType": "new", "status": "added", "createdDateTime": NOW})
    );
    assert_eq!(
        a.state.artifacts(DRIVE).next().unwrap().to_value(),
        *e,
        "the response shows the artifact as stored"
    );
    assert_eq!(
        a.answer.outcomes,
        vec![ItemOutcome::Added {
            id: id.into(),
            rule: RuleId::A7
        }]
    );
    // A generated id already present is skipped.
    let state = od(json!([art(id, "r0", "new")]));
    let a = run(&state, &drive(vec![add("r1", "new")]));
    assert_ne!(drive_entries(&a)[0]["id"], id);
    assert_eq!(a.state.artifact_count(DRIVE), 2);
}

#[test]
fn a7_drawn_ids_are_checked_against_the_collection_as_it_is_at_their_item() {
    // X and W are stored. The source yields X, A, X, W, B, C, ... Item 0 turns X down (stored)
    // and takes A; item 1 removes X; item 2 takes X (no longer there); item 3 turns W down and
    // takes B. Five draws, no more.
    let state = od(json!([art("X", "r0", "new"), art("W", "rw", "new")]));
    let request = drive(vec![
        add("r1", "new"),
        rm("X"),
        add("r2", "new"),
        add("r3", "new"),
    ]);
    let script = ["X", "A", "X", "W", "B", "C", "D"];
    let mut drawn = 0;
    let source = || {
        drawn += 1;
        script
            .get(drawn - 1)
            .map_or_else(String::new, |s| (*s).to_owned())
    };
    let (a, ctx) = run_with_ids(&state, &request, source);
    assert_eq!(
        a.answer.outcomes,
        vec![
            ItemOutcome::Added {
                id: "A".into(),
                rule: RuleId::A7
            },
            ItemOutcome::Removed {
                id: "X".into(),
                existed: true
            },
            ItemOutcome::Added {
                id: "X".into(),
                rule: RuleId::A7
            },
            ItemOutcome::Added {
                id: "B".into(),
                rule: RuleId::A7
            },
        ]
    );
    let ids: Vec<&str> = a.state.artifacts(DRIVE).map(|x| x.id()).collect();
    assert_eq!(ids, ["W", "A", "X", "B"]);
    drop(ctx);
    assert_eq!(drawn, 5, "one draw per id taken or turned down");
}

#[test]
fn a7_the_source_is_asked_for_no_more_ids_than_one_careful_pass_takes() {
    // n1 is stored, without a destination type. A careful pass: item 0 turns n1 down and takes
    // n2 ("new"); item 1 removes the stored n1; items 2 and 3 fail A5 ("new" is there). Two
    // draws. (A pass that took n1 unchecked would remove its own n1 at item 1, let items 2 and
    // 3 through, and draw n2 and n3 for them.)
    let state = od(json!([{"id": "n1", "restorePoint": {"id": "r1"}, "status": "added"}]));
    let request = drive(vec![
        add("r2", "new"),
        rm("n1"),
        add("r3", "inPlace"),
        add("r4", "inPlace"),
    ]);
    let mut n = 0;
    let source = move || {
        n += 1;
        format!("n{n}")
    };
    let (a, mut ctx) = run_with_ids(&state, &request, source);
    assert_eq!(
        a.answer.outcomes[0],
        ItemOutcome::Added {
            id: "n2".into(),
            rule: RuleId::A7
        }
    );
    assert_eq!(
        a.answer.outcomes[1],
        ItemOutcome::Removed {
            id: "n1".into(),
            existed: true
        }
    );
    for o in &a.answer.outcomes[2..] {
        assert!(
            matches!(o, ItemOutcome::Failed(f) if f.code == ErrorCode::DifferentRestoreDestinationType),
            "{o:?}"
        );
    }
    assert_eq!(
        restore_delta::IdSource::next_id(&mut ctx.ids),
        "n3",
        "two ids drawn"
    );
}

#[test]
fn a7_draws_per_item_are_bounded_by_a_constant() {
    assert_eq!(restore_delta::MAX_DRAWS_PER_ITEM, 16);
    // A source stuck on a stored id: each addition gives up after 16 draws, whatever the size
    // of the session (here 2,000 artifacts, where the old bound was 2,001 draws an item).
    let stored: Vec<Value> = (0..2000)
        .map(|i| art(&format!("a{i}"), &format!("r{i}"), "new"))
        .collect();
    let state = od(Value::Array(stored));
    let mut drawn = 0;
    let stuck = || {
        drawn += 1;
        "a7".to_owned()
    };
    let (a, ctx) = run_with_ids(
        &state,
        &drive(vec![add("x1", "new"), add("x2", "new"), rm("a1")]),
        stuck,
    );
    drop(ctx);
    for i in 0..2 {
        assert_eq!(
            item_failure(&a, i),
            (500, "InternalServerError".into(), "insert".into())
        );
    }
    assert_eq!(
        a.answer.outcomes[2],
        ItemOutcome::Removed {
            id: "a1".into(),
            existed: true
        }
    );
    assert_eq!(drawn, 32, "16 draws per addition");
    // Fifteen stored ids, then a fresh one: the sixteenth draw is taken.
    let script: Vec<String> = (0..15)
        .map(|i| format!("a{i}"))
        .chain(["fresh".into()])
        .collect();
    let mut next = script.into_iter();
    let (a, _) = run_with_ids(&state, &drive(vec![add("x1", "new")]), move || {
        next.next().unwrap_or_default()
    });
    assert_eq!(
        a.answer.outcomes[0],
        ItemOutcome::Added {
            id: "fresh".into(),
            rule: RuleId::A7
        }
    );
}

/// The ids an addition took, in item order (`-` for an item that added nothing).
fn added_ids(a: &Applied) -> Vec<String> {
    a.answer
        .outcomes
        .iter()
        .map(|o| match o {
            ItemOutcome::Added { id, .. } => id.to_string(),
            _ => "-".to_owned(),
        })
        .collect()
}

/// A source that gives `script`, then `f1`, `f2`, …; and how many ids it gave.
fn scripted(
    script: &[&str],
) -> (
    impl FnMut() -> String + use<>,
    std::rc::Rc<std::cell::Cell<usize>>,
) {
    let script: Vec<String> = script.iter().map(|s| (*s).to_owned()).collect();
    let drawn = std::rc::Rc::new(std::cell::Cell::new(0));
    let count = drawn.clone();
    let source = move || {
        let n = count.get();
        count.set(n + 1);
        script
            .get(n)
            .cloned()
            .unwrap_or_else(|| format!("f{}", n + 1 - script.len()))
    };
    (source, drawn)
}

#[test]
fn a7_a_source_that_repeats_its_own_draws_beside_a_stored_id_gives_each_addition_its_draw() {
    // S is stored. The source gives T1, T2, T3, T3 again, S, then f1: the fourth addition turns
    // T3 down (the third took it) and S (stored), and takes f1. The first pass checks S against
    // the stored collection only at its end, stops and decides again with the draws replayed in
    // the order they were drawn: the ids turned down among the taken ones where they came.
    let state = od(json!([art("S", "r0", "new")]));
    let request = drive(vec![
        add("r1", "new"),
        add("r2", "new"),
        add("r3", "new"),
        add("r4", "new"),
    ]);
    let (source, drawn) = scripted(&["T1", "T2", "T3", "T3", "S"]);
    let (a, ctx) = run_with_ids(&state, &request, source);
    drop(ctx);
    assert_eq!(added_ids(&a), ["T1", "T2", "T3", "f1"]);
    assert_eq!(drawn.get(), 6, "one draw per id taken or turned down");
    // The id turned down comes back after the one taken before it, not before: the source
    // gives T1, T1 again, T2, S, then f1. The second addition turns T1 down and takes T2; the
    // removal of T1 takes the first addition out; the third addition turns S down and takes
    // f1. (Replayed later, the second T1 would be fresh again at the third addition.)
    let request = drive(vec![
        add("r1", "new"),
        add("r2", "new"),
        rm("T1"),
        add("r3", "new"),
    ]);
    let (source, drawn) = scripted(&["T1", "T1", "T2", "S"]);
    let (a, ctx) = run_with_ids(&state, &request, source);
    drop(ctx);
    assert_eq!(added_ids(&a), ["T1", "T2", "-", "f1"]);
    assert_eq!(
        a.answer.outcomes[2],
        ItemOutcome::Removed {
            id: "T1".into(),
            existed: true
        }
    );
    let ids: Vec<&str> = a.state.artifacts(DRIVE).map(|x| x.id()).collect();
    assert_eq!(ids, ["S", "T2", "f1"]);
    assert_eq!(drawn.get(), 5, "one draw per id taken or turned down");
}

// ---------------------------------------------------------------- G: granular drive and site

fn gdrive(items: Vec<Value>) -> Value {
    json!({"granularDriveRestoreArtifacts@delta": items})
}

fn gstate(items: Value) -> Value {
    json!({"@odata.type": OD, "id": "s1", "granularDriveRestoreArtifacts": items})
}

fn g_entries(a: &Applied) -> Vec<Value> {
    entries(a, "granularDriveRestoreArtifacts")
}

#[test]
fn g1_granular_members() {
    let state = gstate(json!([]));
    for (k, v) in [
        ("restorePoint", json!({"id": "r"})),
        ("destinationType", json!("new")),
        ("status", json!("added")),
        (
            "@odata.type",
            json!("#microsoft.graph.granularSiteRestoreArtifact"),
        ),
    ] {
        let mut item = json!({"browseSessionId": "b", "itemKey": "k"});
        item[k] = v;
        let a = run(&state, &gdrive(vec![item]));
        assert_eq!(
            failure(&g_entries(&a)[0]),
            (400, "InvalidPatchRequest".into(), "insert".into()),
            "{k}"
        );
    }
    let a = run(
        &state,
        &gdrive(vec![
            json!({"browseSessionId": "b", "itemKey": "k", "@odata.type": "#microsoft.graph.granularDriveRestoreArtifact", "@x.y": 1}),
        ]),
    );
    assert!(matches!(a.answer.outcomes[0], ItemOutcome::Added { .. }));
}

#[test]
fn g2_browse_session_and_item_key() {
    let state = gstate(json!([]));
    let a = run(
        &state,
        &gdrive(vec![
            json!({"itemKey": "k"}),
            json!({"browseSessionId": "", "itemKey": "k"}),
            json!({"browseSessionId": "b"}),
            json!({"browseSessionId": "b", "itemKey": ""}),
            json!({"browseSessionId": "b", "id": "k1", "itemKey": "k2"}),
            json!({"browseSessionId": "b", "itemKey": 5}),
            json!({"browseSessionId": "b", "id": "k3", "itemKey": "k3"}),
            json!({"browseSessionId": "b", "id": "k4"}),
        ]),
    );
    let e = g_entries(&a);
    for (i, entry) in e.iter().take(6).enumerate() {
        assert_eq!(failure(entry).1, "InvalidPatchRequest", "{i}");
    }
    assert_eq!(e[6]["id"], "k3");
    assert_eq!(e[7]["id"], "k4");
}

#[test]
fn g3_the_key_is_the_id_once_and_add_then_remove_succeeds() {
    let state = gstate(json!([{"id": "k0", "browseSessionId": "b"}]));
    let a = run(
        &state,
        &gdrive(vec![
            json!({"browseSessionId": "b", "itemKey": "k0"}),
            json!({"browseSessionId": "b", "itemKey": "k1"}),
            rm("k1"),
            json!({"browseSessionId": "b2", "id": "k1"}),
            json!({"browseSessionId": "b", "id": "k1"}),
        ]),
    );
    let e = g_entries(&a);
    assert_eq!(failure(&e[0]).1, "DuplicateArtifactInList");
    assert_eq!(e[1]["id"], "k1");
    assert_eq!(e[2], json!({"@removed": {"reason": "changed"}, "id": "k1"}));
    assert_eq!(e[3]["browseSessionId"], "b2");
    assert_eq!(failure(&e[4]).1, "DuplicateArtifactInList");
    assert_eq!(
        ids(&a, ArtifactCollection::GranularDriveRestoreArtifacts),
        ["k0", "k1"]
    );
}

#[test]
fn g4_granular_artifact_shape_for_drive_and_site() {
    let a = run(
        &gstate(json!([])),
        &gdrive(vec![json!({"browseSessionId": "b", "itemKey": "k"})]),
    );
    assert_eq!(
        g_entries(&a)[0],
        json!({"id": "k", "browseSessionId": "b", "status": "added"}),
        "no createdDateTime: granularRestoreArtifactBase has none"
    );
    let site = json!({"@odata.type": SP, "id": "p"});
    let a = run(
        &site,
        &json!({"granularSiteRestoreArtifacts@delta": [{"browseSessionId": "b", "id": "k"}]}),
    );
    assert_eq!(entries(&a, "granularSiteRestoreArtifacts")[0]["id"], "k");
    assert_eq!(
        a.state
            .artifact_count(ArtifactCollection::GranularSiteRestoreArtifacts),
        1
    );
}

// ---------------------------------------------------------------- O: outcomes and the response

#[test]
fn o1_atomic_mode_applies_all_or_nothing() {
    let state = od(json!([art("a1", "r1", "new")]));
    let b = drive(vec![add("r2", "new"), rm("zz"), add("r1", "new")]);
    let a = run_with(&state, &b, &Options::default().with_atomic(true));
    assert_refused(&a, &state, 409, "Invalid");
    let err = &body(&a)["error"];
    assert_eq!(
        err["message"],
        "The identifier to be removed from the restore session does not exist"
    );
    assert_eq!(
        err["details"],
        json!([
            {"code": "Invalid", "message": "The identifier to be removed from the restore session does not exist", "target": "driveRestoreArtifacts@delta/1"},
            {"code": "DuplicateArtifactInList", "message": "The restore artifact requested is already present.", "target": "driveRestoreArtifacts@delta/2"},
        ])
    );
    assert_eq!(a.answer.outcomes[0], ItemOutcome::NotApplied);
    let a = run_with(
        &state,
        &drive(vec![add("r2", "new")]),
        &Options::default().with_atomic(true),
    );
    assert_eq!(a.answer.response.status, 200);
    assert_eq!(a.state.artifact_count(DRIVE), 2);
    let a = run_with(
        &state,
        &b,
        &Options::default().with_prefer("odata.continue-on-error=false"),
    );
    assert_eq!(a.answer.response.status, 409);
}

#[test]
fn o2_whole_request_error_shape() {
    let state = od(json!([art("a1", "r1", "new")]));
    let a = apply_raw(&state, b"{", &Options::default());
    let b = body(&a);
    assert_eq!(b.as_object().unwrap().len(), 1);
    let e = b["error"].as_object().unwrap();
    assert_eq!(e.keys().collect::<Vec<_>>(), ["code", "message"]);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("Can't process the request because it's malformed or incorrect.")
    );
    assert!(a.answer.outcomes.is_empty());
    assert_eq!(a.state.to_json(), session(&state).to_json());
}

#[test]
fn o3_body_is_the_session_without_collections_plus_one_entry_per_item() {
    let mut state = od(json!([art("a1", "r1", "new")]));
    state["x-custom"] = json!([1]);
    state["granularDriveRestoreArtifacts"] = json!([]);
    let a = run(
        &state,
        &drive(vec![
            rm("a1"),
            json!({"@removed": {}, "id": "zz", "@contentId": "c2"}),
            json!({"restorePoint": {"id": "r9"}, "destinationType": "bogus", "junk@x": 1}),
        ]),
    );
    let b = body(&a);
    let keys: Vec<&String> = b.as_object().unwrap().keys().collect();
    for k in [
        "@odata.type",
        "id",
        "status",
        "x-custom",
        "driveRestoreArtifacts@delta",
        "lastModifiedDateTime",
    ] {
        assert!(keys.contains(&&k.to_owned()), "{k} missing from {keys:?}");
    }
    assert!(
        b.get("driveRestoreArtifacts").is_none()
            && b.get("granularDriveRestoreArtifacts").is_none()
    );
    let e = drive_entries(&a);
    assert_eq!(e.len(), 3);
    assert_eq!(e[0], json!({"@removed": {"reason": "changed"}, "id": "a1"}));
    assert_eq!(e[1]["id"], "zz");
    assert_eq!(e[1]["@contentId"], "c2");
    assert!(e[1].get("@removed").is_none());
    assert_eq!(
        e[2],
        json!({"restorePoint": {"id": "r9"}, "destinationType": "bogus", "@Core.DataModificationException":
        {"info": {"code": "InvalidPathType", "message": "PathType (new/in-place) isn't known for artifacts."}, "failedOperation": "insert", "responseCode": 400}})
    );
}

#[test]
fn o3_a_state_member_named_like_the_delta_does_not_repeat_in_the_body() {
    let mut state = od(json!([]));
    state["driveRestoreArtifacts@delta"] = json!(["stale"]);
    let a = run(&state, &drive(vec![add("r1", "new")]));
    let text = a.answer.response.body.as_ref().unwrap().get();
    assert_eq!(
        text.matches("\"driveRestoreArtifacts@delta\"").count(),
        1,
        "{text}"
    );
    assert_eq!(drive_entries(&a).len(), 1);
    assert_eq!(
        a.state.to_value()["driveRestoreArtifacts@delta"],
        json!(["stale"]),
        "kept in the state (S4)"
    );
}

#[test]
fn o4_content_ids_are_echoed_not_invented() {
    let state = od(json!([art("a1", "r1", "new")]));
    let mut item = add("r2", "new");
    item["@Core.ContentID"] = json!("1");
    item["@Org.OData.Core.V1.ContentID"] = json!("2");
    let a = run(
        &state,
        &drive(vec![
            item,
            json!({"@contentId": "3", "@removed": {}, "id": "a1"}),
            rm("nope"),
        ]),
    );
    let e = drive_entries(&a);
    assert_eq!(e[0]["@Core.ContentID"], "1");
    assert_eq!(e[0]["@Org.OData.Core.V1.ContentID"], "2");
    assert_eq!(e[1]["@contentId"], "3");
    assert!(
        e[2].as_object()
            .unwrap()
            .keys()
            .all(|k| !k.to_lowercase().contains("contentid"))
    );
}

#[test]
fn o5_return_minimal() {
    let state = od(json!([art("a1", "r1", "new")]));
    let minimal = Options::default().with_prefer("return=minimal");
    let a = run_with(&state, &drive(vec![rm("a1")]), &minimal);
    assert_eq!(
        (a.answer.response.status, a.answer.response.body.is_none()),
        (204, true)
    );
    assert_eq!(a.state.artifact_count(DRIVE), 0);
    let a = run_with(&state, &drive(vec![rm("a1"), rm("a1")]), &minimal);
    assert_eq!(a.answer.response.status, 200);
    assert_eq!(drive_entries(&a).len(), 2);
}

#[test]
fn o7_enum_members_after_the_sentinel_only_when_asked() {
    // restoreJobType `granular` and status `failed` come after `unknownFutureValue` in the
    // schema; values the crate does not know are taken to come after it too.
    let include = Options::default().with_prefer("include-unknown-enum-members");
    let a = run(
        &gstate(json!([])),
        &gdrive(vec![json!({"browseSessionId": "b", "itemKey": "k"})]),
    );
    assert_eq!(body(&a)["restoreJobType"], "unknownFutureValue");
    assert_eq!(
        a.state.to_value()["restoreJobType"],
        "granular",
        "S4: the state keeps it"
    );
    let a = run_with(
        &gstate(json!([])),
        &gdrive(vec![json!({"browseSessionId": "b", "itemKey": "k"})]),
        &include,
    );
    assert_eq!(body(&a)["restoreJobType"], "granular");
    for (job, shown) in [
        ("standard", "standard"),
        ("unknownFutureValue", "unknownFutureValue"),
        ("someFutureType", "unknownFutureValue"),
    ] {
        let mut state = od(json!([art("a1", "r1", "new")]));
        state["restoreJobType"] = json!(job);
        let a = run(&state, &drive(vec![rm("a1")]));
        assert_eq!(body(&a)["restoreJobType"], shown, "{job}");
        assert_eq!(a.state.to_value()["restoreJobType"], job);
        let a = run_with(&state, &drive(vec![rm("a1")]), &include);
        assert_eq!(body(&a)["restoreJobType"], job, "{job} asked for");
    }
    // A `null` stays `null`; a draft's status is before the sentinel.
    let mut state = od(json!([art("a1", "r1", "new")]));
    state["status"] = json!(null);
    state["restoreJobType"] = json!(null);
    let a = run(&state, &drive(vec![rm("a1")]));
    assert_eq!(body(&a)["status"], Value::Null);
    assert!(body(&a).as_object().unwrap().contains_key("restoreJobType"));
    assert_eq!(body(&a)["restoreJobType"], Value::Null);
    let a = run(&od(json!([art("a1", "r1", "new")])), &drive(vec![rm("a1")]));
    assert_eq!(body(&a)["status"], "draft");
}

#[test]
fn o8_preference_applied_names_what_was_honoured() {
    let state = od(json!([art("a1", "r1", "new")]));
    let applied = |prefer: &str, items: Vec<Value>| {
        let a = run_with(
            &state,
            &drive(items),
            &Options::default().with_prefer(prefer),
        );
        (
            a.answer.response.status,
            a.answer.response.preference_applied,
        )
    };
    let ok = || vec![rm("a1")];
    let failing = || vec![rm("a1"), rm("zz")];
    assert_eq!(applied("", ok()), (200, None));
    assert_eq!(applied("respond-async, wait=5", ok()), (200, None));
    assert_eq!(
        applied("return=minimal", ok()),
        (204, Some("return=minimal".into()))
    );
    // Asked for, not given: an item failed, so the whole body came back.
    assert_eq!(applied("return=minimal", failing()), (200, None));
    assert_eq!(
        applied("return=representation", ok()),
        (200, Some("return=representation".into()))
    );
    // A `return` value that is neither: not understood, so not honoured (nor reported).
    assert_eq!(applied("return=everything", ok()), (200, None));
    assert_eq!(applied("return", ok()), (200, None));
    assert_eq!(
        applied("odata.continue-on-error", failing()),
        (200, Some("odata.continue-on-error".into()))
    );
    assert_eq!(
        applied("Continue-On-Error=true", ok()),
        (200, Some("continue-on-error".into()))
    );
    assert_eq!(
        applied("continue-on-error=false", failing()),
        (409, Some("continue-on-error=false".into()))
    );
    assert_eq!(
        applied("odata.continue-on-error=false", failing()),
        (409, Some("odata.continue-on-error=false".into()))
    );
    // A refusal is no representation: only the all-or-nothing preference was honoured.
    assert_eq!(
        applied("return=representation, continue-on-error=false", failing()),
        (409, Some("continue-on-error=false".into()))
    );
    assert_eq!(
        applied(
            "include-unknown-enum-members, return=minimal, continue-on-error",
            ok()
        ),
        (204, Some("return=minimal, continue-on-error".into()))
    );
    assert_eq!(
        applied("include-unknown-enum-members", ok()),
        (200, Some("include-unknown-enum-members".into()))
    );
    // Overridden by the embedder (atomic after `continue-on-error`, `return` either way): not
    // honoured.
    let prefer = |p: &str| Options::default().with_prefer(p);
    let overridden = [
        (
            prefer("continue-on-error").with_atomic(true),
            failing(),
            409,
        ),
        (
            prefer("return=representation").with_return_minimal(true),
            ok(),
            204,
        ),
        (
            prefer("return=minimal").with_return_minimal(false),
            ok(),
            200,
        ),
    ];
    for (options, items, status) in overridden {
        let a = run_with(&state, &drive(items), &options);
        assert_eq!(
            (
                a.answer.response.status,
                a.answer.response.preference_applied
            ),
            (status, None)
        );
    }
    // A request refused before its items ran honoured nothing.
    let options = Options::default().with_prefer("return=minimal, continue-on-error=false");
    let a = apply_raw(&state, b"{", &options);
    assert_eq!(
        (
            a.answer.response.status,
            a.answer.response.preference_applied
        ),
        (400, None)
    );
}

#[test]
fn o9_a_preference_given_twice_counts_the_first_time() {
    let state = od(json!([art("a1", "r1", "new")]));
    let failing = drive(vec![rm("a1"), rm("zz")]);
    // continue-on-error and odata.continue-on-error are one preference under two names.
    for prefer in [
        "continue-on-error=false, continue-on-error=true",
        "odata.continue-on-error=false, continue-on-error",
        "continue-on-error=false;x=1, odata.continue-on-error=true",
    ] {
        let a = run_with(&state, &failing, &Options::default().with_prefer(prefer));
        assert_refused(&a, &state, 409, "Invalid");
    }
    let a = run_with(
        &state,
        &failing,
        &Options::default().with_prefer("continue-on-error, continue-on-error=false"),
    );
    assert_eq!(a.answer.response.status, 200);
    // Several header fields are one list.
    let options = Options::default()
        .with_prefer("return=minimal")
        .with_prefer("return=representation");
    let a = run_with(&state, &drive(vec![rm("a1")]), &options);
    assert_eq!(a.answer.response.status, 204);
}

#[test]
fn o6_session_bookkeeping_only_when_something_changed() {
    let mut state = od(json!([art("a1", "r1", "new")]));
    state["lastModifiedDateTime"] = json!("2020-01-01T00:00:00Z");
    state["restoreSessionArtifactCount"] = json!({"completed": 0, "total": 1, "x": true});
    let now = Timestamp::parse_rfc3339(NOW).unwrap();
    let mut ctx = Context::new(now, SeededIds::new(3)).with_actor(&json!({"user": {"id": "u1"}}));
    let a = apply(
        session(&state),
        drive(vec![add("r2", "new"), add("r3", "new")])
            .to_string()
            .as_bytes(),
        &Options::default(),
        &mut ctx,
    );
    let v = a.state.to_value();
    assert_eq!(v["lastModifiedDateTime"], NOW);
    assert_eq!(v["lastModifiedBy"], json!({"user": {"id": "u1"}}));
    assert_eq!(
        v["restoreSessionArtifactCount"],
        json!({"completed": 0, "total": 3, "x": true})
    );
    assert!(
        a.state
            .to_json()
            .contains(r#""restoreSessionArtifactCount":{"completed":0,"total":3,"x":true}"#)
    );
    // Nothing succeeded: nothing changes.
    let a = run(&state, &drive(vec![rm("zz"), add("r1", "new")]));
    assert_eq!(a.state.to_json(), session(&state).to_json());
    // No count member: none is added; no actor: lastModifiedBy untouched.
    let a = run(&od(json!([])), &drive(vec![add("r2", "new")]));
    let v = a.state.to_value();
    assert!(v.get("restoreSessionArtifactCount").is_none() && v.get("lastModifiedBy").is_none());
    assert_eq!(v["lastModifiedDateTime"], NOW);
}

// ---------------------------------------------------------------- D: determinism and safety

#[test]
fn d1_same_inputs_same_bytes_whatever_the_member_order() {
    let state = od(json!([art("a1", "r1", "new")]));
    let one = r#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r2"},"destinationType":"new","@contentId":"c"},{"@removed":{"reason":"changed"},"id":"a1"},{"id":"q","@removed":{}}]}"#;
    let two = r#"{"driveRestoreArtifacts@delta":[{"@contentId":"c","destinationType":"new","restorePoint":{"id":"r2"}},{"id":"a1","@removed":{"reason":"changed"}},{"@removed":{},"id":"q"}]}"#;
    let r1 = apply_raw(&state, one.as_bytes(), &Options::default());
    let r2 = apply_raw(&state, two.as_bytes(), &Options::default());
    let r3 = apply_raw(&state, one.as_bytes(), &Options::default());
    assert_eq!(r1.answer.response, r2.answer.response);
    assert_eq!(r1.answer.response, r3.answer.response);
    assert_eq!(r1.state.to_json(), r2.state.to_json());
}

#[test]
fn d2_seeded_ids_are_uuid_v4_from_the_seed_alone() {
    let state = od(json!([]));
    let b = drive(vec![add("r1", "new"), add("r2", "new")]).to_string();
    let go = |seed| {
        let mut ctx = Context::new(Timestamp::parse_rfc3339(NOW).unwrap(), SeededIds::new(seed));
        let a = apply(session(&state), b.as_bytes(), &Options::default(), &mut ctx);
        drive_entries(&a)
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let (x, y, z) = (go(11), go(11), go(12));
    assert_eq!(x, y);
    assert_ne!(x, z);
    for id in &x {
        let u = uuid_fields(id);
        assert_eq!(u.0, '4', "version nibble of {id}");
        assert!(matches!(u.1, '8' | '9' | 'a' | 'b'), "variant of {id}");
    }
}

fn uuid_fields(id: &str) -> (char, char) {
    let parts: Vec<&str> = id.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    (
        parts[2].chars().next().unwrap(),
        parts[3].chars().next().unwrap(),
    )
}

#[test]
fn d3_hostile_bodies_do_not_panic() {
    let state = od(json!([art("a1", "r1", "new")]));
    let mut bodies: Vec<Vec<u8>> = vec![
        "{".repeat(100_000).into_bytes(),
        format!("{{\"driveRestoreArtifacts@delta\":{}", "[".repeat(200_000)).into_bytes(),
        br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"\ud800"},"destinationType":"new"}]}"#.to_vec(),
        br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r"},"destinationType":"new"}], "x@y": 1e999999}"#.to_vec(),
        b"\0\0\0".to_vec(),
    ];
    let mut x: u32 = 1;
    for len in 0..200 {
        bodies.push(
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    b"{}[]\":,@ae1 "[(x % 12) as usize]
                })
                .collect(),
        );
    }
    for b in bodies {
        let a = apply_raw(&state, &b, &Options::default());
        assert!(
            matches!(a.answer.response.status, 200 | 400 | 413),
            "{:?}",
            a.answer.response
        );
    }
}

#[test]
fn d4_untouched_artifacts_are_kept_as_they_were_and_additions_appended() {
    let state = od(json!([
        {"id": "a1", "restorePoint": {"id": "r1"}, "destinationType": "new", "z": [3, {"y": null}]},
        art("a2", "r2", "new"),
        {"id": "a3", "restorePoint": {"id": "r3"}, "destinationType": "new", "status": "weird", "n": 12345678901234567890u64},
    ]));
    let before: Vec<String> = session(&state)
        .artifacts(DRIVE)
        .map(|a| a.json().get().to_owned())
        .collect();
    let a = run(
        &state,
        &drive(vec![add("r4", "new"), rm("a2"), add("r5", "new")]),
    );
    let after: Vec<String> = a
        .state
        .artifacts(DRIVE)
        .map(|a| a.json().get().to_owned())
        .collect();
    assert_eq!(after.len(), 4);
    assert_eq!(after[0], before[0]);
    assert_eq!(after[1], before[2]);
    assert!(after[2].contains("\"r4\"") && after[3].contains("\"r5\""));
}

#[test]
fn error_codes_have_their_graph_spelling() {
    assert_eq!(
        ErrorCode::DifferentRestoreDestinationType.to_string(),
        "DifferentRestoreDestinationType"
    );
}

/// `Request::parse` then `apply_request` answers as `apply` (E1–E2 first, then E3 on, in the
/// same order), and one parsed request can be applied to several sessions, each deciding
/// against its own collection.
#[test]
fn two_steps_one_request_several_sessions() {
    let options = Options::default();
    let now = Timestamp::parse_rfc3339(NOW).unwrap();
    let text = drive(vec![rm("a1"), add("rp-9", "new")]).to_string();
    let request = Request::parse(text.as_bytes(), &options).expect("a well-formed body");
    let holds_a1 = od(json!([art("a1", "rp-1", "new")]));
    let empty = od(json!([]));
    for state in [&holds_a1, &empty] {
        let mut ctx = Context::new(now, SeededIds::new(7));
        let two = apply_request(session(state), &request, &options, &mut ctx);
        let one = run(state, &serde_json::from_str(&text).unwrap());
        assert_eq!(two.answer.response, one.answer.response);
        assert_eq!(two.answer.outcomes, one.answer.outcomes);
        assert_eq!(two.state.to_json(), one.state.to_json());
    }
    let mut ctx = Context::new(now, SeededIds::new(7));
    let first = apply_request(session(&holds_a1), &request, &options, &mut ctx);
    assert_eq!(
        first.answer.outcomes[0],
        ItemOutcome::Removed {
            id: "a1".into(),
            existed: true
        }
    );
    let second = apply_request(session(&empty), &request, &options, &mut ctx);
    assert!(matches!(&second.answer.outcomes[0], ItemOutcome::Failed(f) if f.status == 409));

    // E2 is the parse's; E3 (a session that is not a draft) only the apply's.
    let error = Request::parse(b"{\"a\":1,\"a\":2}", &options).unwrap_err();
    assert_eq!(
        error.response(),
        apply_raw(&empty, b"{\"a\":1,\"a\":2}", &options)
            .answer
            .response
    );
    let completed = json!({"@odata.type": OD, "id": "s1", "status": "completed"});
    let refused = apply_request(session(&completed), &request, &options, &mut ctx);
    assert_eq!(refused.answer.response.status, 403);
    assert_eq!(refused.state.to_json(), session(&completed).to_json());
}

/// O4: a numeric content id comes back as the same number. serde_json's default float parsing
/// reads `1.222222222222222e43` one step low (found by fuzzing, `fuzz/artifacts/apply_bytes/
/// crash-content-id-float-roundtrip`); the crate enables `float_roundtrip`.
#[test]
fn o4_numeric_content_ids_keep_their_value() {
    let sent = "1.222222222222222e43";
    let text = format!(
        r#"{{"driveRestoreArtifacts@delta":[{{"@Core.ContentID":{sent},"@removed":{{}},"id":"a1"}}]}}"#
    );
    let a = apply_raw(
        &od(json!([art("a1", "rp-1", "new")])),
        text.as_bytes(),
        &Options::default(),
    );
    let body = a.answer.response.body.as_ref().unwrap().get();
    let at = body.find("\"@Core.ContentID\":").unwrap() + "\"@Core.ContentID\":".len();
    let echoed: String = body[at..]
        .chars()
        .take_while(|c| !matches!(c, ',' | '}'))
        .collect();
    assert_eq!(
        echoed.parse::<f64>(),
        sent.parse::<f64>(),
        "echoed {echoed}"
    );
}

/// `apply_in_place` and `apply_request_in_place` answer as `apply`, change the session where it
/// is, and leave a refused session untouched.
#[test]
fn in_place_apply_answers_as_apply() {
    let now = Timestamp::parse_rfc3339(NOW).unwrap();
    let state = od(json!([art("a1", "rp-1", "new")]));
    let bodies = [
        drive(vec![rm("a1"), add("rp-9", "new"), rm("zz")]).to_string(),
        drive(vec![rm("zz")]).to_string(),
        "{".to_owned(),
    ];
    for text in &bodies {
        for options in [Options::default(), Options::default().with_atomic(true)] {
            let by_value = apply_raw(&state, text.as_bytes(), &options);
            let mut kept = session(&state);
            let mut ctx = Context::new(now, SeededIds::new(7));
            let answer =
                restore_delta::apply_in_place(&mut kept, text.as_bytes(), &options, &mut ctx);
            assert_eq!(answer.response, by_value.answer.response, "{text}");
            assert_eq!(answer.outcomes, by_value.answer.outcomes);
            assert_eq!(answer.error, by_value.answer.error);
            assert_eq!(kept.to_json(), by_value.state.to_json());
            if let Ok(request) = Request::parse(text.as_bytes(), &options) {
                let mut kept = session(&state);
                let mut ctx = Context::new(now, SeededIds::new(7));
                let answer =
                    restore_delta::apply_request_in_place(&mut kept, &request, &options, &mut ctx);
                assert_eq!(answer.response, by_value.answer.response);
                assert_eq!(kept.to_json(), by_value.state.to_json());
            }
        }
    }
}

/// Every item outcome and every whole-request refusal names the rule of docs/SEMANTICS.md that
/// decided it (`RuleId`); the model of the rules names them too, and the property and fuzz
/// checks compare the two on every case.
#[test]
fn outcomes_and_refusals_name_their_rule() {
    let state = od(json!([art("a1", "rp-1", "new")]));
    let a = run(
        &state,
        &drive(vec![
            json!({"@removed": {"reason": "gone"}, "id": "a1"}),
            json!({"@removed": {}, "id": ""}),
            rm("zz"),
            json!({"restorePoint": {"id": "rp-2"}, "destinationType": "new", "status": "x"}),
            json!({"restorePoint": {"@odata.id": "protectionUnits/rp-2"}, "destinationType": "new"}),
            add("rp-3", "elsewhere"),
            add("rp-1", "new"),
            add("rp-4", "inPlace"),
            add("rp-5", "new"),
            rm("a1"),
        ]),
    );
    let rules: Vec<RuleId> = a.answer.outcomes.iter().map(ItemOutcome::rule).collect();
    use RuleId::*;
    assert_eq!(rules, [X1, X2, X3, A1, A2, A3, A4, A5, A7, X4]);
    let lenient = Options::default().with_missing_removal(MissingRemoval::Succeed);
    let a = run_with(&state, &drive(vec![rm("zz")]), &lenient);
    assert_eq!(a.answer.outcomes[0].rule(), X3, "a no-op removal");
    let a = run(
        &gstate(json!([{"id": "k1", "browseSessionId": "b", "status": "added"}])),
        &gdrive(vec![
            json!({"browseSessionId": "b", "itemKey": "k2", "restorePoint": {}}),
            json!({"itemKey": "k2"}),
            json!({"browseSessionId": "b", "itemKey": "k1"}),
            json!({"browseSessionId": "b", "itemKey": "k2"}),
        ]),
    );
    let rules: Vec<RuleId> = a.answer.outcomes.iter().map(ItemOutcome::rule).collect();
    assert_eq!(rules, [G1, G2, G3, G4]);
    let a = run(
        &mailbox_state(json!([])),
        &gmail(vec![
            json!({"restorePoint": {"id": "r"}, "destinationType": "new"}),
        ]),
    );
    assert_eq!(a.answer.outcomes[0].rule(), A6);
    // Refusals.
    let refused = |state: &Value, body: &[u8], options: &Options| {
        let a = apply_raw(state, body, options);
        a.answer.error.map(|e| e.rule)
    };
    let d = Options::default();
    assert_eq!(
        refused(&state, b"{}", &d.clone().with_max_bytes(1)),
        Some(E1)
    );
    assert_eq!(refused(&state, b"[", &d), Some(E2));
    let mut active = state.clone();
    active["status"] = json!("active");
    assert_eq!(refused(&active, b"{}", &d), Some(E3));
    assert_eq!(refused(&state, br#"{"x":1}"#, &d), Some(E4));
    let both = r#"{"driveRestoreArtifacts@delta":[{}],"granularDriveRestoreArtifacts@delta":[{}]}"#;
    assert_eq!(refused(&state, both.as_bytes(), &d), Some(E5));
    assert_eq!(refused(&state, b"{}", &d), Some(E6));
    let two = drive(vec![rm("a1"), rm("a1")]).to_string();
    assert_eq!(
        refused(&state, two.as_bytes(), &d.clone().with_max_items(1)),
        Some(E7)
    );
    assert_eq!(
        refused(&state, br#"{"driveRestoreArtifacts@delta":[1]}"#, &d),
        Some(E8)
    );
    let g = r#"{"granularDriveRestoreArtifacts@delta":[{"browseSessionId":"b","itemKey":"k"}]}"#;
    assert_eq!(refused(&state, g.as_bytes(), &d), Some(E9));
    assert_eq!(
        refused(&state, two.as_bytes(), &d.clone().with_atomic(true)),
        Some(O1)
    );
    let a = run_with(
        &state,
        &drive(vec![rm("a1"), rm("zz")]),
        &d.with_atomic(true),
    );
    assert_eq!(
        a.answer
            .outcomes
            .iter()
            .map(ItemOutcome::rule)
            .collect::<Vec<_>>(),
        [O1, X3]
    );
}
