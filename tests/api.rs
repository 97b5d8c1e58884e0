//! Tests cargo-mutants showed missing (docs/TESTING.md, Mutation testing): without them, each of these
//! functions could be replaced by a constant, or one of its operators changed, and every other
//! test still passed. The public read API value by value (accessors, `Display`, `Debug`, the
//! messages of errors), and a few rule cases: the order and number of ids drawn (A7), the count
//! object (O6), repeated member names (E2), an empty session id (S3), `Prefer` values (O1, O5);
//! and what is reserved for text: `to_json` about what it writes, a new artifact the sum of its
//! strings (512 KiB and more). Alongside, the spelling of every enum value and error code (already
//! caught elsewhere).

use restore_delta::{
    Applied, ArtifactCollection, ArtifactStatus, Context, DestinationType, ErrorCode, Family,
    ItemOutcome, Operation, Options, Request, RestoreJobType, RuleId, Session, SessionKind,
    SessionStatus, Timestamp, apply,
};
use serde_json::{Value, json};

const EX: &str = "#microsoft.graph.exchangeRestoreSession";
const SP: &str = "#microsoft.graph.sharePointRestoreSession";

fn session(v: &Value) -> Session {
    Session::from_json(v.to_string().as_bytes()).expect("valid state")
}

/// An Exchange session with one standard mailbox artifact of every modeled member, and one
/// with none but its id and an unknown status.
fn mailbox_session() -> Session {
    let text = r##"{"@odata.type": "#microsoft.graph.exchangeRestoreSession", "id": "s1",
        "mailboxRestoreArtifacts": [
            {"id": "a1", "restorePoint": {"id": "rp1"}, "destinationType": "inPlace",
             "status": "succeeded", "x-extra": [1, {"k": true}]},
            {"id": "a2", "restorePoint": {"@odata.id": "rp2"}, "destinationType": "sideways",
             "status": "notYetInvented"},
            {"id": "a3", "status": 7}
        ]}"##;
    Session::from_json(text.as_bytes()).expect("valid state")
}

#[test]
fn artifact_reads_its_members() {
    let s = mailbox_session();
    let c = ArtifactCollection::MailboxRestoreArtifacts;
    let a1 = s.artifact(c, "a1").expect("a1 stored");
    assert_eq!(a1.id(), "a1");
    let text = r#"{"id":"a1","restorePoint":{"id":"rp1"},"destinationType":"inPlace","status":"succeeded","x-extra":[1,{"k":true}]}"#;
    assert_eq!(a1.json_text(), text);
    assert_eq!(a1.json().get(), text);
    assert_eq!(format!("{a1:?}"), text);
    assert_eq!(
        a1.to_value(),
        json!({"id": "a1", "restorePoint": {"id": "rp1"}, "destinationType": "inPlace",
               "status": "succeeded", "x-extra": [1, {"k": true}]})
    );
    assert_eq!(a1.member("x-extra"), Some(json!([1, {"k": true}])));
    assert_eq!(a1.member("restorePoint"), Some(json!({"id": "rp1"})));
    assert_eq!(a1.member("nope"), None);
    assert_eq!(a1.restore_point_id().as_deref(), Some("rp1"));
    assert_eq!(a1.destination_type(), Some(DestinationType::InPlace));
    assert_eq!(a1.status(), Some(ArtifactStatus::Succeeded));
    assert_eq!(a1.search_response_id(), None);
    assert_eq!(a1.browse_session_id(), None);

    let a2 = s.artifact(c, "a2").expect("a2 stored");
    assert_eq!(a2.restore_point_id().as_deref(), Some("rp2"));
    assert_eq!(
        a2.destination_type(),
        Some(DestinationType::Other("sideways".into()))
    );
    assert_eq!(
        a2.status(),
        Some(ArtifactStatus::Other("notYetInvented".into()))
    );

    // Absent members, and a status that is not a string, read as None.
    let a3 = s.artifact(c, "a3").expect("a3 stored");
    assert_eq!(a3.restore_point_id(), None);
    assert_eq!(a3.destination_type(), None);
    assert_eq!(a3.status(), None);
    assert_eq!(a3.member("status"), Some(json!(7)));
}

#[test]
fn granular_artifacts_read_their_keys() {
    let s = session(&json!({
        "@odata.type": EX,
        "id": "s1",
        "granularMailboxRestoreArtifacts": [
            {"id": "g1", "restorePoint": {"id": "rp1"}, "destinationType": "new",
             "searchResponseId": "sr-9"},
        ]
    }));
    let g1 = s
        .artifact(ArtifactCollection::GranularMailboxRestoreArtifacts, "g1")
        .expect("g1 stored");
    assert_eq!(g1.search_response_id().as_deref(), Some("sr-9"));
    assert_eq!(g1.destination_type(), Some(DestinationType::New));

    let s = session(&json!({
        "@odata.type": SP,
        "id": "s2",
        "granularSiteRestoreArtifacts": [
            {"id": "item-1", "browseSessionId": "bs-3", "status": "added"},
            {"id": "item-2", "browseSessionId": 4},
        ]
    }));
    let c = ArtifactCollection::GranularSiteRestoreArtifacts;
    let i1 = s.artifact(c, "item-1").expect("item-1 stored");
    assert_eq!(i1.browse_session_id().as_deref(), Some("bs-3"));
    assert_eq!(i1.status(), Some(ArtifactStatus::Added));
    assert_eq!(i1.search_response_id(), None);
    let i2 = s.artifact(c, "item-2").expect("item-2 stored");
    assert_eq!(i2.browse_session_id(), None);
}

/// The reason a state with one bad mailbox artifact is refused.
fn artifact_error(artifact: &str) -> String {
    let text = format!(
        r##"{{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s","mailboxRestoreArtifacts":[{artifact}]}}"##
    );
    Session::from_json(text.as_bytes())
        .expect_err("a bad artifact")
        .to_string()
}

#[test]
fn a_bad_stored_artifact_says_what_was_expected() {
    let at = "in the value at byte 93";
    assert_eq!(
        artifact_error("5"),
        format!(
            "state artifact mailboxRestoreArtifacts[0] invalid type: integer `5`, expected a JSON object at line 1 column 1, {at}"
        )
    );
    assert_eq!(
        artifact_error(r#"{"id":5}"#),
        format!(
            "state artifact mailboxRestoreArtifacts[0] invalid type: integer `5`, expected a string at line 1 column 7, {at}"
        )
    );
    assert_eq!(
        artifact_error(r#"{"id":"a","restorePoint":5}"#),
        format!(
            "state artifact mailboxRestoreArtifacts[0] invalid type: integer `5`, expected null or a restore point object at line 1 column 26, {at}"
        )
    );
}

#[test]
fn a_body_repeating_any_member_name_is_refused() {
    // The duplicate check compares the first names one by one and keeps the later ones in a
    // set: a repeat of the name on either side of that switch is found.
    let names: Vec<String> = (0..20).map(|i| format!("\"k{i}\":{i}")).collect();
    let options = Options::default();
    for (distinct, repeated) in [(2, 1), (16, 15), (17, 16), (18, 16), (18, 17), (20, 0)] {
        let body = format!("{{{},\"k{repeated}\":0}}", names[..distinct].join(","));
        let error = Request::parse(body.as_bytes(), &options).expect_err(&body);
        assert_eq!(
            (error.status, error.code),
            (400, ErrorCode::InvalidPatchRequest)
        );
        let expected = format!(
            "The body is not acceptable JSON: duplicate member name \"k{repeated}\" at line 1"
        );
        assert!(
            error.message.contains(&expected),
            "{body}: {}",
            error.message
        );
        let body = format!("{{{}}}", names[..distinct].join(","));
        assert!(Request::parse(body.as_bytes(), &options).is_ok(), "{body}");
    }
}

#[test]
fn collections_and_kinds_name_themselves() {
    use ArtifactCollection as C;
    use Family::{Granular, Standard};
    use SessionKind::{Exchange, OneDriveForBusiness as OneDrive, SharePoint};
    let g = "#microsoft.graph.";
    for (c, name, item, kind, family) in [
        (
            C::DriveRestoreArtifacts,
            "driveRestoreArtifacts",
            "driveRestoreArtifact",
            OneDrive,
            Standard,
        ),
        (
            C::GranularDriveRestoreArtifacts,
            "granularDriveRestoreArtifacts",
            "granularDriveRestoreArtifact",
            OneDrive,
            Granular,
        ),
        (
            C::SiteRestoreArtifacts,
            "siteRestoreArtifacts",
            "siteRestoreArtifact",
            SharePoint,
            Standard,
        ),
        (
            C::GranularSiteRestoreArtifacts,
            "granularSiteRestoreArtifacts",
            "granularSiteRestoreArtifact",
            SharePoint,
            Granular,
        ),
        (
            C::MailboxRestoreArtifacts,
            "mailboxRestoreArtifacts",
            "mailboxRestoreArtifact",
            Exchange,
            Standard,
        ),
        (
            C::GranularMailboxRestoreArtifacts,
            "granularMailboxRestoreArtifacts",
            "granularMailboxRestoreArtifact",
            Exchange,
            Granular,
        ),
    ] {
        assert_eq!(c.name(), name);
        assert_eq!(c.to_string(), name);
        assert_eq!(c.delta_name(), format!("{name}@delta"));
        assert_eq!(c.item_type(), format!("{g}{item}"));
        assert_eq!((c.kind(), c.family()), (kind, family), "{name}");
        assert_eq!(kind.collection(family), c);
        assert_eq!(C::from_name(name), Some(c));
        assert_eq!(C::from_delta_name(&format!("{name}@delta")), Some(c));
        assert_eq!(C::from_delta_name(name), None);
        assert_eq!(C::from_name(&format!("{name}@delta")), None);
    }
    for (kind, tail, standard, granular) in [
        (
            OneDrive,
            "oneDriveForBusinessRestoreSession",
            C::DriveRestoreArtifacts,
            C::GranularDriveRestoreArtifacts,
        ),
        (
            SharePoint,
            "sharePointRestoreSession",
            C::SiteRestoreArtifacts,
            C::GranularSiteRestoreArtifacts,
        ),
        (
            Exchange,
            "exchangeRestoreSession",
            C::MailboxRestoreArtifacts,
            C::GranularMailboxRestoreArtifacts,
        ),
    ] {
        let odata = format!("{g}{tail}");
        assert_eq!(kind.odata_type(), odata);
        assert_eq!(kind.to_string(), odata);
        assert_eq!((kind.standard(), kind.granular()), (standard, granular));
        assert_eq!(SessionKind::from_odata_type(&odata), Some(kind));
        // Case-insensitive, `#` optional (rule S2).
        let bare = odata.trim_start_matches('#').to_ascii_uppercase();
        assert_eq!(SessionKind::from_odata_type(&bare), Some(kind));
    }
    assert_eq!(
        SessionKind::from_odata_type("#microsoft.graph.restoreSession"),
        None
    );
    assert_eq!((Standard.other(), Granular.other()), (Granular, Standard));
    assert_eq!(
        (Standard.job_type(), Granular.job_type()),
        ("standard", "granular")
    );
}

#[test]
fn enums_spell_their_values() {
    use SessionStatus as S;
    for (v, text) in [
        (S::Draft, "draft"),
        (S::Activating, "activating"),
        (S::Active, "active"),
        (S::CompletedWithError, "completedWithError"),
        (S::Completed, "completed"),
        (S::UnknownFutureValue, "unknownFutureValue"),
        (S::Failed, "failed"),
        (S::Other("paused".into()), "paused"),
    ] {
        assert_eq!((v.as_str(), v.to_string()), (text, text.to_owned()));
        assert_eq!(S::parse(text), v);
    }
    use RestoreJobType as J;
    for (v, text) in [
        (J::Standard, "standard"),
        (J::Bulk, "bulk"),
        (J::UnknownFutureValue, "unknownFutureValue"),
        (J::Granular, "granular"),
        (J::Other("Bulk".into()), "Bulk"),
    ] {
        assert_eq!((v.as_str(), v.to_string()), (text, text.to_owned()));
        assert_eq!(J::parse(text), v);
    }
    use DestinationType as D;
    for (v, text) in [
        (D::New, "new"),
        (D::InPlace, "inPlace"),
        (D::UnknownFutureValue, "unknownFutureValue"),
        (D::Other("".into()), ""),
    ] {
        assert_eq!((v.as_str(), v.to_string()), (text, text.to_owned()));
        assert_eq!(D::parse(text), v);
    }
    use ArtifactStatus as A;
    for (v, text) in [
        (A::Added, "added"),
        (A::Scheduling, "scheduling"),
        (A::Scheduled, "scheduled"),
        (A::InProgress, "inProgress"),
        (A::Succeeded, "succeeded"),
        (A::Failed, "failed"),
        (A::UnknownFutureValue, "unknownFutureValue"),
        (A::Other("queued".into()), "queued"),
    ] {
        assert_eq!((v.as_str(), v.to_string()), (text, text.to_owned()));
        assert_eq!(A::parse(text), v);
    }
    assert_eq!(
        (Operation::Insert.as_str(), Operation::Remove.as_str()),
        ("insert", "remove")
    );
}

#[test]
fn error_codes_spell_themselves() {
    use ErrorCode as E;
    for (code, text) in [
        (E::RequestEntityTooLarge, "RequestEntityTooLarge"),
        (E::InvalidPatchRequest, "InvalidPatchRequest"),
        (
            E::RestoreSessionActionNotAllowed,
            "RestoreSessionActionNotAllowed",
        ),
        (E::InvalidArtifactRequest, "InvalidArtifactRequest"),
        (
            E::RestoreArtifactsLimitBreached,
            "RestoreArtifactsLimitBreached",
        ),
        (E::Invalid, "Invalid"),
        (E::InvalidRestorePoint, "InvalidRestorePoint"),
        (E::InvalidPathType, "InvalidPathType"),
        (E::DuplicateArtifactInList, "DuplicateArtifactInList"),
        (
            E::DifferentRestoreDestinationType,
            "DifferentRestoreDestinationType",
        ),
        (E::InternalServerError, "InternalServerError"),
    ] {
        assert_eq!(code.as_str(), text);
        assert_eq!(code.to_string(), text);
    }
    let error = Request::parse(b"[]", &Options::default()).expect_err("not an object");
    assert_eq!(
        error.to_string(),
        "400 InvalidPatchRequest: Can't process the request because it's malformed or incorrect. The body is not a JSON object."
    );
    let response = error.response();
    assert_eq!(response.status, 400);
    assert_eq!(
        response.body.expect("a body").get(),
        r#"{"error":{"code":"InvalidPatchRequest","message":"Can't process the request because it's malformed or incorrect. The body is not a JSON object."}}"#
    );
}

/// Applies `body` to `state` with ids from `script` (then empty ids); returns the result and
/// how many ids were drawn.
fn apply_scripted(state: &Value, body: &Value, script: &[&str]) -> (Applied, usize) {
    apply_scripted_with(state, body, script, &Options::default())
}

/// [`apply_scripted`] with these options.
fn apply_scripted_with(
    state: &Value,
    body: &Value,
    script: &[&str],
    options: &Options,
) -> (Applied, usize) {
    let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").expect("a timestamp");
    let mut drawn = 0;
    let source = || {
        drawn += 1;
        script
            .get(drawn - 1)
            .map_or_else(String::new, |s| (*s).to_owned())
    };
    let mut ctx = Context::new(now, source);
    let applied = apply(
        session(state),
        body.to_string().as_bytes(),
        options,
        &mut ctx,
    );
    drop(ctx);
    (applied, drawn)
}

fn drive_state(artifacts: Value) -> Value {
    json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession", "id": "s1",
           "status": "draft", "driveRestoreArtifacts": artifacts})
}

fn stored(id: &str, rp: &str) -> Value {
    json!({"id": id, "restorePoint": {"id": rp}, "destinationType": "new", "status": "added"})
}

fn add(rp: &str) -> Value {
    json!({"restorePoint": {"id": rp}, "destinationType": "new"})
}

fn remove(id: &str) -> Value {
    json!({"@removed": {"reason": "changed"}, "id": id})
}

fn no_fresh_id(o: &ItemOutcome) -> bool {
    matches!(o, ItemOutcome::Failed(f) if (f.status, f.code) == (500, ErrorCode::InternalServerError))
}

#[test]
fn a7_tries_sixteen_ids_whatever_is_left() {
    // a1 and a2 are stored; the source repeats a2, then yields empty ids. Item 1 removes a1;
    // item 2 tries sixteen ids (MAX_DRAWS_PER_ITEM) and fails.
    let state = drive_state(json!([stored("a1", "r1"), stored("a2", "r2")]));
    let body = json!({"driveRestoreArtifacts@delta": [remove("a1"), add("r3")]});
    let (a, drawn) = apply_scripted(&state, &body, &["a2"; 10]);
    assert_eq!(
        a.answer.outcomes[0],
        ItemOutcome::Removed {
            id: "a1".into(),
            existed: true
        }
    );
    assert!(
        no_fresh_id(&a.answer.outcomes[1]),
        "{:?}",
        a.answer.outcomes[1]
    );
    assert_eq!(drawn, 16);
}

#[test]
fn a7_a_missed_removal_checks_the_ids_drawn_before_it() {
    // S and T are stored; the source yields S, N1, then empty ids. A careful pass: item 1 turns
    // S down and takes N1, item 2 removes N1, items 3 to 5 each try sixteen ids and fail:
    // 2 + 48 = 50 draws. A pass that took S unchecked and let item 2 miss N1 would decide
    // item 2 otherwise.
    let state = drive_state(json!([stored("S", "rs"), stored("T", "rt")]));
    let body = json!({"driveRestoreArtifacts@delta": [
        add("r1"), remove("N1"), add("r2"), add("r3"), add("r4")
    ]});
    let (a, drawn) = apply_scripted(&state, &body, &["S", "N1"]);
    assert_eq!(
        a.answer.outcomes[0],
        ItemOutcome::Added {
            id: "N1".into(),
            rule: RuleId::A7
        }
    );
    assert_eq!(
        a.answer.outcomes[1],
        ItemOutcome::Removed {
            id: "N1".into(),
            existed: true
        }
    );
    for o in &a.answer.outcomes[2..] {
        assert!(no_fresh_id(o), "{o:?}");
    }
    assert_eq!(a.answer.outcomes.len(), 5);
    assert_eq!(drawn, 50);
    let ids: Vec<&str> = a
        .state
        .artifacts(ArtifactCollection::DriveRestoreArtifacts)
        .map(|x| x.id())
        .collect();
    assert_eq!(ids, ["S", "T"]);
}

#[test]
fn o6_sets_the_total_in_an_empty_count_object() {
    let mut state = drive_state(json!([]));
    state["restoreSessionArtifactCount"] = json!({});
    let body = json!({"driveRestoreArtifacts@delta": [add("r1")]});
    let (a, _) = apply_scripted(&state, &body, &["n1"]);
    assert_eq!(
        a.answer.outcomes,
        [ItemOutcome::Added {
            id: "n1".into(),
            rule: RuleId::A7
        }]
    );
    assert_eq!(
        a.state
            .member("restoreSessionArtifactCount")
            .map(|m| m.get()),
        Some(r#"{"total":1}"#)
    );
}

#[test]
fn a7_replays_drawn_ids_in_the_order_drawn() {
    // S is stored. The first pass takes S unchecked, so the request is decided again with the
    // ids drawn so far, in the order drawn.
    let state = drive_state(json!([stored("S", "rs")]));
    // Item 1 turns S and an empty id down and takes A; item 2 takes B.
    let body = json!({"driveRestoreArtifacts@delta": [add("r1"), add("r2")]});
    let (a, drawn) = apply_scripted(&state, &body, &["S", "", "A", "B"]);
    assert_eq!(
        a.answer.outcomes[0],
        ItemOutcome::Added {
            id: "A".into(),
            rule: RuleId::A7
        }
    );
    assert_eq!(
        a.answer.outcomes[1],
        ItemOutcome::Added {
            id: "B".into(),
            rule: RuleId::A7
        }
    );
    assert_eq!(drawn, 4);
    // Item 1 turns S down and takes T1; the empty id is item 2's first try.
    let body = json!({"driveRestoreArtifacts@delta": [add("r1"), add("r2"), add("r3")]});
    let (a, drawn) = apply_scripted(&state, &body, &["S", "T1", "", "T2", "T3", "T4"]);
    assert_eq!(
        a.answer.outcomes,
        [
            ItemOutcome::Added {
                id: "T1".into(),
                rule: RuleId::A7
            },
            ItemOutcome::Added {
                id: "T2".into(),
                rule: RuleId::A7
            },
            ItemOutcome::Added {
                id: "T3".into(),
                rule: RuleId::A7
            },
        ]
    );
    assert_eq!(drawn, 5);
}

#[test]
fn long_ids_and_keys_are_stored_whole() {
    let id = "i".repeat(200);
    let rp = "r".repeat(400);
    let state = drive_state(json!([]));
    let body = json!({"driveRestoreArtifacts@delta": [add(&rp)]});
    let (a, _) = apply_scripted(&state, &body, &[id.as_str()]);
    assert_eq!(
        a.answer.outcomes,
        [ItemOutcome::Added {
            id: id.clone(),
            rule: RuleId::A7
        }]
    );
    let stored = a
        .state
        .artifact(ArtifactCollection::DriveRestoreArtifacts, &id)
        .expect("stored under its id");
    assert_eq!(stored.restore_point_id(), Some(rp));

    // Strings of 512 KiB and more (a body of a few MiB): a new artifact's text is reserved as
    // the sum of their lengths (the product of two, 256 GiB, would abort the process); the
    // search response is the longest, longer than the rest together.
    let long = |c: &str| c.repeat(1 << 19);
    let (id, rp, srid) = (long("i"), long("r"), "s".repeat(3 << 19));
    let options = Options::default().with_max_bytes(4 << 20);
    let state = json!({"@odata.type": EX, "id": "s1", "status": "draft",
                       "granularMailboxRestoreArtifacts": []});
    let body = json!({"granularMailboxRestoreArtifacts@delta": [
        {"restorePoint": {"id": rp}, "destinationType": "new", "searchResponseId": srid}
    ]});
    let (a, _) = apply_scripted_with(&state, &body, &[id.as_str()], &options);
    assert_eq!(
        a.answer.outcomes,
        [ItemOutcome::Added {
            id: id.clone(),
            rule: RuleId::A7
        }]
    );
    let stored = a
        .state
        .artifact(ArtifactCollection::GranularMailboxRestoreArtifacts, &id)
        .expect("stored under its id");
    assert_eq!(stored.restore_point_id(), Some(rp));
    assert_eq!(stored.search_response_id(), Some(srid));

    let (key, browse) = (long("k"), long("b"));
    let state = json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession",
                       "id": "s1", "status": "draft", "restoreJobType": "granular",
                       "granularDriveRestoreArtifacts": []});
    let body = json!({"granularDriveRestoreArtifacts@delta": [
        {"browseSessionId": browse, "itemKey": key}
    ]});
    let (a, _) = apply_scripted_with(&state, &body, &[], &options);
    assert_eq!(a.answer.response.status, 200);
    let stored = a
        .state
        .artifact(ArtifactCollection::GranularDriveRestoreArtifacts, &key)
        .expect("stored under its key");
    assert_eq!(stored.browse_session_id(), Some(browse));
}

#[test]
fn a_state_that_is_not_json_says_where() {
    let error = |text: &str| match Session::from_json(text.as_bytes()) {
        Err(restore_delta::StateError::InvalidJson {
            message,
            line,
            column,
        }) => (message, line, column),
        other => panic!("{text}: {other:?}"),
    };
    let at = |message: &str, line, column| (message.to_owned(), line, column);
    assert_eq!(
        error(r#"{"id":"s" "x":1}"#),
        at("expected `,` or `}` at byte 10", 1, 11)
    );
    assert_eq!(
        error(r#"{"id":"s",1:2}"#),
        at("expected a member name at byte 10", 1, 11)
    );
    assert_eq!(
        error(r#"{"id":"s"} x"#),
        at("expected the end of the state at byte 11", 1, 12)
    );
    assert_eq!(
        error(r#"{"id":"s","driveRestoreArtifacts":[{"id":"a"} {"id":"b"}]}"#),
        at("expected `,` or `]` at byte 46", 1, 47)
    );
    assert_eq!(error(r#"{"id": "#), at("expected a value at byte 6", 1, 7));
    // On later lines, and inside a value (serde_json's position, moved into the state's).
    assert_eq!(
        error("{\"id\": \"s\",\n  \"x\": 1\n  \"y\": 2}"),
        at("expected `,` or `}` at byte 23", 3, 3)
    );
    let (message, line, column) = error("{\"id\": \"s\",\n  \"x\": [1,\n    nul]}");
    assert!(
        message.ends_with("line 2 column 8, in the value at byte 18"),
        "{message}"
    );
    assert_eq!((line, column), (3, 8));
    let (message, line, column) = error("{\"id\": \"s\", \"x\": {\"a\": 1, \"a\": 2}}");
    assert!(
        message.starts_with("member \"x\": duplicate member name"),
        "{message}"
    );
    assert_eq!((line, column), (1, 29));
    let (message, line, column) = error("{\"id\": \"s\",\n \"id\": \"t\"}");
    assert_eq!(message, "duplicate member name \"id\"");
    assert_eq!((line, column), (2, 5));
    let (message, line, column) = error("[1,\n 2,\n x]");
    assert!(
        message.starts_with("expected value at line 3 column 2"),
        "{message}"
    );
    assert_eq!((line, column), (3, 2));
    let (message, line, column) = error("{\"id\": \"s\"}\n\u{e9}\n");
    assert_eq!(message, "expected the end of the state at byte 12");
    assert_eq!((line, column), (2, 1));
    let bytes = b"{\"id\":\n\"s\xFF\"}";
    match Session::from_json(bytes) {
        Err(restore_delta::StateError::InvalidJson { line, column, .. }) => {
            assert_eq!((line, column), (2, 3))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn prefer_header_values() {
    let o = Options::default().with_prefer("return=minimal, continue-on-error=false");
    assert!(o.return_minimal && o.atomic);
    // A value it does not know changes nothing.
    let o = Options::default().with_prefer("return=minimal, return=everything");
    assert!(o.return_minimal);
    let o = Options::default()
        .with_atomic(true)
        .with_prefer("continue-on-error=TRUE");
    assert!(!o.atomic);
    let o = Options::default()
        .with_atomic(true)
        .with_prefer("odata.continue-on-error=\"true\"");
    assert!(!o.atomic);
    // Separators inside a quoted value do not split it.
    let o = Options::default().with_prefer(r#"foo="x, return=minimal, continue-on-error=false""#);
    assert_eq!(o, Options::default());
    let o = Options::default().with_prefer(r#"foo="x\", return=minimal, y", wait=1"#);
    assert_eq!(o, Options::default());
}

#[test]
fn bodies_and_sessions_show_their_json() {
    let text = r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s1","status":"active","mailboxRestoreArtifacts":[{"id":"a1"}],"x":[1]}"##;
    let s = Session::from_json(text.as_bytes()).expect("valid state");
    assert_eq!(s.to_json(), text);
    let mut written = Vec::new();
    s.write_json(&mut written).expect("writes to a Vec");
    assert_eq!(written, text.as_bytes());
    assert_eq!(
        format!("{s:?}"),
        r#"Session { kind: Exchange, id: "s1", status: Active, restore_job_type: Standard, standard: 1, granular: 0, .. }"#
    );
    // Equal when they write the same JSON.
    let same = Session::from_json(text.replace(",", " , ").as_bytes()).expect("valid state");
    assert_eq!(s, same);
    let other = Session::from_json(text.replace("[1]", "[2]").as_bytes()).expect("valid state");
    assert_ne!(s, other);

    let error = Request::parse(b"{", &Options::default()).expect_err("not JSON");
    let body = error.response().body.expect("an error body");
    let json = body.get().to_owned();
    assert!(
        json.starts_with(r#"{"error":{"code":"InvalidPatchRequest","message":"#),
        "{json}"
    );
    assert_eq!(body.to_string(), json);
    assert_eq!(format!("{body:?}"), json);
    assert_eq!(body.into_string(), json);
}

#[test]
fn a_state_needs_a_non_empty_session_id() {
    for text in [
        r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":""}"##,
        r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":null}"##,
        r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession"}"##,
    ] {
        assert_eq!(
            Session::from_json(text.as_bytes()),
            Err(restore_delta::StateError::MissingId),
            "{text}"
        );
    }
}

/// `to_json` reserves about what it writes, from the lengths of the members and of the
/// collections' text: at most twice that (as growing by doubling would), not a product of
/// lengths, which a large enough state could not afford.
#[test]
fn to_json_reserves_about_what_it_writes() {
    let drive = |i: usize| {
        json!({"id": format!("a{i}"), "restorePoint": {"id": format!("rp{i}")},
               "destinationType": "new", "status": "added"})
    };
    let granular =
        |i: usize| json!({"id": format!("k{i}"), "browseSessionId": "b1", "status": "added"});
    let state = json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession",
        "id": "s1", "status": "draft", "description": "d".repeat(1000),
        "driveRestoreArtifacts": (0..8).map(drive).collect::<Vec<_>>(),
        "granularDriveRestoreArtifacts": (0..8).map(granular).collect::<Vec<_>>()});
    let text = session(&state).to_json();
    assert!(text.len() > 2_000, "{}", text.len());
    assert!(
        text.capacity() <= 2 * text.len(),
        "{} bytes reserved for {}",
        text.capacity(),
        text.len()
    );
}

/// `restore_delta::gen`, the generator's former name, kept for one release: each deprecated
/// alias gives what its namesake in `restore_delta::generate` gives, on inputs where that is
/// not empty. (Feature `gen`: on in every build inside the repository, where the crate is its
/// own dev-dependency with it; off in the packaged crate's test, `scripts/test-package.sh`.)
#[cfg(feature = "gen")]
#[test]
#[allow(deprecated)]
fn the_former_gen_names_give_what_their_namesakes_give() {
    use restore_delta::{r#gen, generate};
    let dictionary = generate::dictionary();
    assert!(
        dictionary.contains("driveRestoreArtifacts@delta"),
        "{dictionary}"
    );
    assert_eq!(r#gen::dictionary(), dictionary);
    let options = Options::default().with_max_items(7);
    let actor = json!({"user": {"id": "u1"}});
    let object = generate::options_object(Some("return=minimal"), true, &options, Some(&actor));
    assert!(object.len() >= 3, "{object:?}");
    assert_eq!(
        r#gen::options_object(Some("return=minimal"), true, &options, Some(&actor)),
        object
    );
    let before = session(
        &json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession",
        "id": "s", "status": "draft"}),
    );
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"},{"@removed":{"reason":"changed"},"id":"gone"}]}"#;
    let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
    let applied = apply(
        before,
        request,
        &Options::default(),
        &mut Context::new(now, restore_delta::SeededIds::new(1)),
    );
    let rules = generate::decided_rules(&applied.answer.outcomes, applied.answer.error.as_ref());
    assert!(rules.contains(&RuleId::X3), "{rules:?}");
    assert_eq!(
        r#gen::decided_rules(&applied.answer.outcomes, applied.answer.error.as_ref()),
        rules
    );
    assert_eq!(r#gen::DECISION_RULES, generate::DECISION_RULES);
}
