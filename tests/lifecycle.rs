//! The lifecycle rules L1–L9 of docs/SEMANTICS.md (`restore_delta::lifecycle`), one test or a
//! few per rule, named by rule id; and the lifecycle vectors of `tests/lifecycle-vectors/`
//! (format: docs/VECTORS.md, "Lifecycle vectors").

use std::collections::BTreeSet;
use std::path::PathBuf;

use restore_delta::lifecycle::{
    self, MAX_ACTIVE_SESSIONS, MAX_SESSION_ID_BYTES, Progress, Schedule, Transitions,
};
use restore_delta::{
    ArtifactCollection, Context, ErrorCode, IdSource, Options, RequestError, RuleId, SeededIds,
    Session, SessionKind, SessionStatus, Timestamp, apply,
};
use serde_json::{Value, json};

const NOW: &str = "2026-11-30T08:00:00Z";
const OD: &str = "#microsoft.graph.oneDriveForBusinessRestoreSession";
const EX: &str = "#microsoft.graph.exchangeRestoreSession";

fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

/// `NOW` plus `secs` seconds and `nanos` nanoseconds.
fn at(secs: i64, nanos: u32) -> Timestamp {
    Timestamp::from_unix(ts(NOW).unix_seconds() + secs, nanos).unwrap()
}

fn ctx(seed: u64) -> Context<SeededIds> {
    Context::new(ts(NOW), SeededIds::new(seed))
}

fn create_with(
    kind: SessionKind,
    body: &Value,
    options: &Options,
) -> Result<Session, RequestError> {
    lifecycle::create(kind, body.to_string().as_bytes(), options, &mut ctx(7))
}

fn create(kind: SessionKind, body: &Value) -> Result<Session, RequestError> {
    create_with(kind, body, &Options::default())
}

fn state(session: &Session) -> Value {
    serde_json::from_str(&session.to_json()).unwrap()
}

fn session(v: &Value) -> Session {
    Session::from_json(v.to_string().as_bytes()).unwrap()
}

fn add(rp: &str, dest: &str) -> Value {
    json!({"restorePoint": {"id": rp}, "destinationType": dest})
}

#[track_caller]
fn assert_refused(
    r: Result<impl std::fmt::Debug, RequestError>,
    rule: RuleId,
    status: u16,
    code: &str,
) -> RequestError {
    let e = r.expect_err("refused");
    assert_eq!(
        (e.rule, e.status, e.code.as_str()),
        (rule, status, code),
        "{e}"
    );
    let body: Value = serde_json::from_str(&e.body()).unwrap();
    assert_eq!(body["error"]["code"], code);
    assert_eq!(body["error"]["message"], e.message.as_str());
    assert_eq!(body.as_object().unwrap().len(), 1);
    let response = e.response();
    assert_eq!(response.status, status);
    assert_eq!(response.body.unwrap().get(), e.body());
    assert_eq!(response.preference_applied, None);
    e
}

// ---------------------------------------------------------------- L1

#[test]
fn l1_create_body() {
    let o = Options::default();
    // No payload, white space, `{}`, the type alone, annotations: an empty standard session.
    for body in [
        &b""[..],
        b" \r\n\t",
        b"{}",
        br##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession"}"##,
        br#"{"@odata.type":"Microsoft.Graph.ExchangeRestoreSession","@odata.context":"x","a@b":[1]}"#,
    ] {
        let s = lifecycle::create(SessionKind::Exchange, body, &o, &mut ctx(1))
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(body)));
        assert_eq!(s.kind(), SessionKind::Exchange);
        assert_eq!(s.restore_job_type().as_str(), "standard");
        assert_eq!(s.artifact_count(ArtifactCollection::MailboxRestoreArtifacts), 0);
        assert!(s.member("@odata.context").is_none(), "annotations are not stored");
        assert!(s.member("a@b").is_none());
    }
    let invalid = |body: &[u8]| {
        assert_refused(
            lifecycle::create(SessionKind::Exchange, body, &o, &mut ctx(1)),
            RuleId::L1,
            400,
            "invalidRequest",
        )
    };
    // Not JSON, not an object, duplicate names (E2 under create's code).
    invalid(b"{");
    invalid(b"[]");
    invalid(b"\"x\"");
    invalid(br#"{"a@b":1,"a@b":2}"#);
    // A delta, both families, another kind's collection, the wrong type, read-only members.
    let e = invalid(br#"{"mailboxRestoreArtifacts@delta":[{"restorePoint":{"id":"r"},"destinationType":"new"}]}"#);
    assert!(e.message.contains("without `@delta`"), "{}", e.message);
    let e = invalid(
        br#"{"mailboxRestoreArtifacts":[{"restorePoint":{"id":"r"},"destinationType":"new"}],
             "granularMailboxRestoreArtifacts":[{"restorePoint":{"id":"r"},"destinationType":"new","searchResponseId":"q"}]}"#,
    );
    assert!(e.message.contains("both"), "{}", e.message);
    invalid(br#"{"driveRestoreArtifacts":[{"restorePoint":{"id":"r"},"destinationType":"new"}]}"#);
    invalid(br##"{"@odata.type":"#microsoft.graph.sharePointRestoreSession"}"##);
    invalid(br#"{"@odata.type":null}"#);
    for member in [
        "id",
        "status",
        "restoreJobType",
        "createdDateTime",
        "nonsense",
    ] {
        let e = invalid(format!(r#"{{"{member}":"x"}}"#).as_bytes());
        assert!(e.message.contains(member), "{}", e.message);
    }
    // Checked in name order: the same message whatever the member order.
    let a = invalid(br#"{"zeta":1,"alpha":2}"#);
    let b = invalid(br#"{"alpha":2,"zeta":1}"#);
    assert_eq!(a.message, b.message);
    // E1: the byte limit, 413, before anything else (even an empty object is too big here).
    let small = Options::default().with_max_bytes(1);
    assert_refused(
        lifecycle::create(SessionKind::Exchange, b"   ", &small, &mut ctx(1)),
        RuleId::L1,
        413,
        "RequestEntityTooLarge",
    );
    assert!(lifecycle::create(SessionKind::Exchange, b" ", &small, &mut ctx(1)).is_ok());
    assert_refused(
        lifecycle::create(SessionKind::Exchange, b"{}", &small, &mut ctx(1)),
        RuleId::L1,
        413,
        "RequestEntityTooLarge",
    );
}

// ---------------------------------------------------------------- L2

#[test]
fn l2_create_artifacts_use_the_addition_rules_with_create_codes() {
    let od = SessionKind::OneDriveForBusiness;
    let with = |items: Value| json!({"@odata.type": OD, "driveRestoreArtifacts": items});
    // Empty or null list.
    for items in [json!([]), Value::Null] {
        let e = assert_refused(
            create(od, &with(items)),
            RuleId::L2,
            400,
            "InvalidArtifactRequest",
        );
        assert_eq!(e.message, "Empty or null restore artifact list.");
    }
    // Not an array, an item not an object, a removal: malformed.
    assert_refused(
        create(od, &with(json!({}))),
        RuleId::L1,
        400,
        "invalidRequest",
    );
    assert_refused(
        create(od, &with(json!([add("r1", "new"), 3]))),
        RuleId::L1,
        400,
        "invalidRequest",
    );
    assert_refused(
        create(
            od,
            &with(json!([add("r1", "new"), {"@removed": {}, "id": "a"}])),
        ),
        RuleId::L1,
        400,
        "invalidRequest",
    );
    // The limit: 50 pass, 51 are 413 (not the PATCH's 400).
    assert_eq!(Options::DEFAULT_MAX_ITEMS, 50);
    assert_eq!(Options::default().max_items, Options::DEFAULT_MAX_ITEMS);
    let items = |n: usize| Value::Array((0..n).map(|i| add(&format!("r{i}"), "new")).collect());
    let s = create(od, &with(items(Options::DEFAULT_MAX_ITEMS))).unwrap();
    assert_eq!(
        s.artifact_count(ArtifactCollection::DriveRestoreArtifacts),
        50
    );
    let e = assert_refused(
        create(od, &with(items(51))),
        RuleId::L2,
        413,
        "RestoreArtifactsLimitBreached",
    );
    assert!(e.message.contains("50"), "{}", e.message);
    let three = Options::default().with_max_items(3);
    assert_refused(
        create_with(od, &with(items(4)), &three),
        RuleId::L2,
        413,
        "RestoreArtifactsLimitBreached",
    );
    // The addition rules, with create's codes; the failing item is named with its rule.
    let cases = [
        (
            json!([add("r1", "new"), {"restorePoint": {"id": "r2"}}]),
            400,
            "InvalidPathType",
            "A3",
        ),
        (
            json!([add("r1", "new"), add("r2", "sideways")]),
            400,
            "InvalidPathType",
            "A3",
        ),
        (
            json!([{"restorePoint": {"id": ""}, "destinationType": "new"}]),
            400,
            "InvalidRestorePoint",
            "A2",
        ),
        (
            json!([add("r1", "new"), add("r1", "new")]),
            400,
            "DuplicateArtifactInList",
            "A4",
        ),
        (
            json!([add("r1", "new"), add("r2", "inPlace")]),
            400,
            "DifferentRestoreDestinationType",
            "A5",
        ),
        (
            json!([add("r1", "new"), {"restorePoint": {"id": "r2"}, "destinationType": "new", "status": "x"}]),
            400,
            "InvalidArtifactRequest",
            "A1",
        ),
        (
            json!([{"id": "mine", "restorePoint": {"id": "r2"}, "destinationType": "new"}]),
            400,
            "InvalidArtifactRequest",
            "A1",
        ),
    ];
    for (items, status, code, rule) in cases {
        let e = assert_refused(create(od, &with(items.clone())), RuleId::L2, status, code);
        assert!(
            e.message.contains(&format!("rule {rule}")),
            "{items}: {}",
            e.message
        );
    }
    let e = assert_refused(
        create(od, &with(json!([add("r1", "new"), add("r1", "new")]))),
        RuleId::L2,
        400,
        "DuplicateArtifactInList",
    );
    assert!(
        e.message.contains("item 1 of `driveRestoreArtifacts`"),
        "{}",
        e.message
    );
    // Granular drive items: G1, G2 with create's codes; a duplicate key is G3's.
    let granular = |items: Value| json!({"granularDriveRestoreArtifacts": items});
    assert_refused(
        create(od, &granular(json!([{"itemKey": "k1"}]))),
        RuleId::L2,
        400,
        "InvalidArtifactRequest",
    );
    assert_refused(
        create(
            od,
            &granular(
                json!([{"browseSessionId": "b", "itemKey": "k1"}, {"browseSessionId": "b", "id": "k1"}]),
            ),
        ),
        RuleId::L2,
        400,
        "DuplicateArtifactInList",
    );
    // Granular mailbox items need their search response (A6).
    assert_refused(
        create(
            SessionKind::Exchange,
            &json!({"granularMailboxRestoreArtifacts": [add("r1", "new")]}),
        ),
        RuleId::L2,
        400,
        "InvalidArtifactRequest",
    );
    // An id source that gives nothing fresh for an artifact: A7's 500.
    let mut n = 0;
    let mut stuck = move || {
        n += 1;
        if n == 1 {
            "session".to_owned()
        } else {
            String::new()
        }
    };
    let mut c = Context::new(ts(NOW), &mut stuck as &mut dyn FnMut() -> String);
    let r = lifecycle::create(
        od,
        with(json!([add("r1", "new")])).to_string().as_bytes(),
        &Options::default(),
        &mut c,
    );
    assert_refused(r, RuleId::L2, 500, "InternalServerError");
}

/// No create body makes the library panic (rule D3 for the create): mangled, truncated, deep
/// or large bodies each get an answer, a session or a refusal with one of create's statuses.
#[test]
fn l1_l2_hostile_create_bodies_get_an_answer() {
    let seeds: Vec<Vec<u8>> = [
        format!(
            r#"{{"@odata.type":"{OD}","driveRestoreArtifacts":[{{"restorePoint":{{"id":"r1"}},"destinationType":"new"}},
            {{"restorePoint":{{"@odata.id":"restorePoints('r3')"}},"destinationType":"new","@contentId":"c"}}]}}"#
        ),
        r#"{"granularDriveRestoreArtifacts":[{"browseSessionId":"b","itemKey":"k1"},{"browseSessionId":"b","id":"k2"}]}"#.to_owned(),
        r#"{"driveRestoreArtifacts":[{"restorePoint":{"id":"\u0000\u00e9"},"destinationType":"inPlace","@contentId":1e400}]}"#.to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let mut state = 0x2026_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as usize
    };
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for _ in 0..3000 {
        let mut b = seeds[next() % seeds.len()].clone();
        for _ in 0..1 + next() % 4 {
            let at = next() % b.len().max(1);
            match next() % 4 {
                0 => b.truncate(at),
                1 => {
                    let alphabet = b"{}[],:\"\\0\xff";
                    b.insert(at.min(b.len()), alphabet[next() % alphabet.len()]);
                }
                2 if at < b.len() => {
                    b.remove(at);
                }
                _ if at < b.len() => b[at] = next() as u8,
                _ => {}
            }
        }
        bodies.push(b);
    }
    bodies.push(
        format!(
            r#"{{"driveRestoreArtifacts":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        )
        .into_bytes(),
    );
    let many: Vec<String> = (0..100_000)
        .map(|i| format!(r#"{{"restorePoint":{{"id":"r{i}"}},"destinationType":"new"}}"#))
        .collect();
    bodies.push(format!(r#"{{"driveRestoreArtifacts":[{}]}}"#, many.join(",")).into_bytes());
    let big = Options::default().with_max_bytes(64 * 1024 * 1024);
    let mut answered = [0usize; 2];
    for body in &bodies {
        match lifecycle::create(SessionKind::OneDriveForBusiness, body, &big, &mut ctx(1)) {
            Ok(s) => {
                answered[0] += 1;
                assert_eq!(s.status(), &SessionStatus::Draft);
            }
            Err(e) => {
                answered[1] += 1;
                assert!([400, 413, 500].contains(&e.status), "{e}");
                assert_eq!(e.rule.as_str().chars().next(), Some('L'), "{e}");
            }
        }
    }
    assert!(answered[0] > 0 && answered[1] > 0, "{answered:?}");
    for id in bodies
        .iter()
        .take(200)
        .map(|b| String::from_utf8_lossy(b).into_owned())
    {
        let _ = lifecycle::check_session_id(&id);
    }
}

/// The artifacts a create stores are those a PATCH of the same items stores into an empty
/// draft: the engine decides them (ids drawn after the session's).
#[test]
fn l2_artifacts_are_the_patch_s() {
    for (kind, collection, items) in [
        (
            SessionKind::OneDriveForBusiness,
            ArtifactCollection::DriveRestoreArtifacts,
            json!([add("r1", "inPlace"), {"restorePoint": {"@odata.id": "restorePoints/r2"}, "destinationType": "inPlace", "@contentId": "c"}]),
        ),
        (
            SessionKind::SharePoint,
            ArtifactCollection::GranularSiteRestoreArtifacts,
            json!([{"browseSessionId": "b1", "id": "k1"}, {"browseSessionId": "b1", "itemKey": "k2"}]),
        ),
        (
            SessionKind::Exchange,
            ArtifactCollection::GranularMailboxRestoreArtifacts,
            json!([{"restorePoint": {"id": "r1"}, "destinationType": "new", "searchResponseId": "q1"}]),
        ),
    ] {
        let created = lifecycle::create(
            kind,
            json!({ collection.name(): items }).to_string().as_bytes(),
            &Options::default(),
            &mut ctx(11),
        )
        .unwrap();
        let mut ids = SeededIds::new(11);
        let session_id = ids.next_id();
        assert_eq!(created.id(), session_id);
        let draft = session(
            &json!({"@odata.type": kind.odata_type(), "id": session_id, "status": "draft"}),
        );
        let mut c = Context::new(ts(NOW), ids);
        let patched = apply(
            draft,
            json!({ collection.delta_name(): items })
                .to_string()
                .as_bytes(),
            &Options::default(),
            &mut c,
        );
        assert_eq!(patched.answer.response.status, 200);
        let a: Vec<&str> = created
            .artifacts(collection)
            .map(|a| a.json_text())
            .collect();
        let b: Vec<&str> = patched
            .state
            .artifacts(collection)
            .map(|a| a.json_text())
            .collect();
        assert_eq!(a, b, "{collection}");
        assert_eq!(a.len(), items.as_array().unwrap().len());
        assert_eq!(created.restore_job_type(), patched.state.restore_job_type());
    }
}

// ---------------------------------------------------------------- L3

#[test]
fn l3_the_new_session() {
    let mut ids = SeededIds::new(7);
    let (sid, aid) = (ids.next_id(), ids.next_id());
    let s = create(
        SessionKind::OneDriveForBusiness,
        &json!({"driveRestoreArtifacts": [add("r1", "new")]}),
    )
    .unwrap();
    let expected = format!(
        concat!(
            r##"{{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"{sid}","status":"draft","restoreJobType":"standard","##,
            r#""createdDateTime":"{now}","lastModifiedDateTime":"{now}","#,
            r#""restoreSessionArtifactCount":{{"total":1,"completed":0,"failed":0,"inProgress":0}},"#,
            r#""driveRestoreArtifacts":[{{"id":"{aid}","restorePoint":{{"id":"r1"}},"destinationType":"new","status":"added","createdDateTime":"{now}"}}]}}"#
        ),
        sid = sid,
        aid = aid,
        now = NOW
    );
    assert_eq!(s.to_json(), expected);
    assert_eq!(s.status(), &SessionStatus::Draft);
    // With the caller's identity: createdBy and lastModifiedBy after their dates.
    let who = json!({"user": {"id": "u1", "displayName": "Ada"}});
    let mut c = Context::new(ts(NOW), SeededIds::new(7)).with_actor(&who);
    let s = lifecycle::create(SessionKind::SharePoint, b"", &Options::default(), &mut c).unwrap();
    let who_text = r#"{"user":{"displayName":"Ada","id":"u1"}}"#;
    assert_eq!(
        s.to_json(),
        format!(
            concat!(
                r#"{{"@odata.type":"{sp}","id":"{sid}","status":"draft","restoreJobType":"standard","#,
                r#""createdDateTime":"{now}","createdBy":{who},"lastModifiedDateTime":"{now}","lastModifiedBy":{who},"#,
                r#""restoreSessionArtifactCount":{{"total":0,"completed":0,"failed":0,"inProgress":0}}}}"#
            ),
            sp = SessionKind::SharePoint.odata_type(),
            sid = sid,
            now = NOW,
            who = who_text
        )
    );
    // Granular artifacts make a granular session.
    let g = create(
        SessionKind::OneDriveForBusiness,
        &json!({"granularDriveRestoreArtifacts": [{"browseSessionId": "b", "itemKey": "k"}]}),
    )
    .unwrap();
    assert_eq!(g.restore_job_type().as_str(), "granular");
    assert_eq!(state(&g)["restoreSessionArtifactCount"]["total"], 1);
    // The session id: the first one L4 accepts, drawn before the artifacts' ids.
    let mut queue = vec!["", " padded", "a/b", "good", "art"].into_iter();
    let mut source = move || queue.next().unwrap_or("").to_owned();
    let mut c = Context::new(ts(NOW), &mut source as &mut dyn FnMut() -> String);
    let s = lifecycle::create(
        SessionKind::Exchange,
        br#"{"mailboxRestoreArtifacts":[{"restorePoint":{"id":"r"},"destinationType":"new"}]}"#,
        &Options::default(),
        &mut c,
    )
    .unwrap();
    assert_eq!(s.id(), "good");
    assert_eq!(
        s.artifacts(ArtifactCollection::MailboxRestoreArtifacts)
            .next()
            .unwrap()
            .id(),
        "art"
    );
    // No usable id in 16 draws: 500.
    let mut empty = || String::new();
    let mut c = Context::new(ts(NOW), &mut empty as &mut dyn FnMut() -> String);
    assert_refused(
        lifecycle::create(SessionKind::Exchange, b"", &Options::default(), &mut c),
        RuleId::L3,
        500,
        "InternalServerError",
    );
    // Same inputs, same bytes.
    let again = create(
        SessionKind::OneDriveForBusiness,
        &json!({"driveRestoreArtifacts": [add("r1", "new")]}),
    )
    .unwrap();
    assert_eq!(again.to_json(), expected);
}

// ---------------------------------------------------------------- L4

#[test]
fn l4_session_ids() {
    for good in [
        "959ba739-70b5-43c4-8c90-b2c22014f18b",
        "s1",
        "a b",
        "é",
        &"x".repeat(MAX_SESSION_ID_BYTES),
    ] {
        assert!(lifecycle::check_session_id(good).is_ok(), "{good:?}");
    }
    for bad in [
        "",
        " ",
        " s1",
        "s1 ",
        "s1\n",
        "a/b",
        "a\\b",
        "a\u{0}b",
        "a\u{7f}",
        &"x".repeat(MAX_SESSION_ID_BYTES + 1),
    ] {
        assert_refused(
            lifecycle::check_session_id(bad),
            RuleId::L4,
            400,
            "InvalidRestoreSessionId",
        );
    }
    let e = lifecycle::not_found("no\"such");
    assert_eq!(
        (e.rule, e.status, e.code),
        (RuleId::L4, 404, ErrorCode::RestoreSessionNotFound)
    );
    let body: Value = serde_json::from_str(&e.body()).unwrap();
    assert_eq!(body["error"]["code"], "RestoreSessionNotFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(r#""no\"such""#)
    );
}

// ---------------------------------------------------------------- L5

#[test]
fn l5_delete_drafts_only() {
    let with = |status: &str| session(&json!({"@odata.type": EX, "id": "s1", "status": status}));
    assert!(lifecycle::check_delete(&session(&json!({"@odata.type": EX, "id": "s1"}))).is_ok());
    assert!(lifecycle::check_delete(&with("draft")).is_ok());
    for status in [
        "activating",
        "active",
        "completed",
        "completedWithError",
        "failed",
        "someFutureValue",
        "Draft",
    ] {
        let e = assert_refused(
            lifecycle::check_delete(&with(status)),
            RuleId::L5,
            403,
            "RestoreSessionActionNotAllowed",
        );
        assert_eq!(
            e.message,
            "Restore session can only be deleted in Draft state."
        );
    }
}

// ---------------------------------------------------------------- L6

fn drafted(n: usize) -> Session {
    let artifacts: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("a{i}"), "restorePoint": {"id": format!("r{i}")}, "destinationType": "new", "status": "added"}))
        .collect();
    session(
        &json!({"@odata.type": OD, "id": "s1", "status": "draft", "x-kept": [1.50],
        "restoreSessionArtifactCount": {"total": n, "x": true}, "driveRestoreArtifacts": artifacts}),
    )
}

fn statuses(s: &Session, c: ArtifactCollection) -> Vec<String> {
    s.artifacts(c)
        .map(|a| a.status().unwrap().to_string())
        .collect()
}

#[test]
fn l6_activate() {
    let timed = Schedule::default();
    // Not a draft: 403, before the count of busy sessions.
    for status in ["activating", "active", "completed", "failed", "other"] {
        let mut s = session(&json!({"@odata.type": EX, "id": "s1", "status": status}));
        let before = s.to_json();
        let e = assert_refused(
            lifecycle::activate(&mut s, 99, &timed, ts(NOW)),
            RuleId::L6,
            403,
            "RestoreSessionActionNotAllowed",
        );
        assert_eq!(
            e.message,
            "Restore session can only be activated in Draft state."
        );
        assert_eq!(s.to_json(), before, "unchanged");
    }
    // 25 others busy: 500; 24: fine.
    let mut s = drafted(2);
    let before = s.to_json();
    let e = assert_refused(
        lifecycle::activate(&mut s, MAX_ACTIVE_SESSIONS, &timed, ts(NOW)),
        RuleId::L6,
        500,
        "TooManyActiveRestoreSessions",
    );
    assert!(e.message.contains("25"), "{}", e.message);
    assert_eq!(s.to_json(), before, "unchanged");
    assert!(!lifecycle::is_busy(&s));
    let later = at(3, 0);
    let _progress = lifecycle::activate(&mut s, MAX_ACTIVE_SESSIONS - 1, &timed, later).unwrap();
    assert_eq!(s.status(), &SessionStatus::Activating);
    assert!(lifecycle::is_busy(&s));
    let v = state(&s);
    assert_eq!(v["lastModifiedDateTime"], later.to_string());
    assert_eq!(
        v["restoreSessionArtifactCount"],
        json!({"total": 2, "x": true, "completed": 0, "failed": 0, "inProgress": 0})
    );
    assert_eq!(
        statuses(&s, ArtifactCollection::DriveRestoreArtifacts),
        ["scheduling", "scheduling"]
    );
    assert_eq!(v["x-kept"], json!([1.5]));
    // Activating whatever the schedule: an immediate one too (it moves at the next catch-up).
    for transitions in [Transitions::Immediate, Transitions::Manual] {
        let mut s = drafted(1);
        let _p = lifecycle::activate(&mut s, 0, &Schedule::new(transitions), ts(NOW)).unwrap();
        assert_eq!(s.status(), &SessionStatus::Activating);
    }
    // A bulk session and an empty one may be activated; the count member is created.
    let mut bulk = session(&json!({"@odata.type": EX, "id": "b", "restoreJobType": "bulk"}));
    let mut p = lifecycle::activate(
        &mut bulk,
        0,
        &Schedule::new(Transitions::Immediate),
        ts(NOW),
    )
    .unwrap();
    assert_eq!(
        state(&bulk)["restoreSessionArtifactCount"],
        json!({"total": 0, "completed": 0, "failed": 0, "inProgress": 0})
    );
    assert!(lifecycle::catch_up(&mut bulk, &mut p, ts(NOW)));
    assert_eq!(bulk.status(), &SessionStatus::Completed);
    assert!(!lifecycle::is_busy(&bulk));
    // Activating twice: the second is 403.
    assert_refused(
        lifecycle::activate(&mut s, 0, &timed, ts(NOW)),
        RuleId::L6,
        403,
        "RestoreSessionActionNotAllowed",
    );
}

// ---------------------------------------------------------------- L7

/// A session with varied artifacts: members the crate does not model, an escaped name, an
/// artifact that already has a `completionDateTime` and no `status`.
fn varied() -> Session {
    Session::from_json(
        br##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s1","x":{"n":1e3},
        "driveRestoreArtifacts":[
          {"id":"a0","restorePoint":{"id":"r0"},"destinationType":"new","status":"added","n\u0061me":"1.50","deep":{"k":[1.50,"\u00e9"]}},
          {"id":"a1","restorePoint":{"id":"r1"},"destinationType":"new","completionDateTime":null},
          {"id":"a2","restorePoint":{"id":"r2"},"destinationType":"new","status":"added","error":null},
          {"id":"a3","restorePoint":{"id":"r3"},"destinationType":"new","status":"added"}]}"##,
    )
    .unwrap()
}

#[test]
fn l7_stages_on_the_clock() {
    let schedule = Schedule::new(Transitions::Timed {
        to_active_secs: 10,
        to_completed_secs: 60,
    });
    let mut s = drafted(2);
    let mut p = lifecycle::activate(&mut s, 0, &schedule, ts(NOW)).unwrap();
    let c = ArtifactCollection::DriveRestoreArtifacts;
    assert_eq!(p.next_change(), Some(at(5, 0)));
    assert_eq!(p.schedule(), &schedule);
    assert!(!p.is_done());
    // Nothing due: nothing changes.
    let before = s.to_json();
    assert!(!lifecycle::catch_up(&mut s, &mut p, at(4, 999_999_999)));
    assert_eq!(s.to_json(), before);
    // Halfway to active: artifacts scheduled, the session still activating.
    assert!(lifecycle::catch_up(&mut s, &mut p, at(5, 0)));
    assert_eq!(s.status(), &SessionStatus::Activating);
    assert_eq!(statuses(&s, c), ["scheduled", "scheduled"]);
    assert_eq!(state(&s)["lastModifiedDateTime"], at(5, 0).to_string());
    assert!(!lifecycle::catch_up(&mut s, &mut p, at(9, 0)));
    // Active: in progress, started at the stage's instant (not at `now`).
    assert!(lifecycle::catch_up(&mut s, &mut p, at(12, 0)));
    assert_eq!(s.status(), &SessionStatus::Active);
    assert!(lifecycle::is_busy(&s));
    assert_eq!(statuses(&s, c), ["inProgress", "inProgress"]);
    let v = state(&s);
    assert_eq!(
        v["driveRestoreArtifacts"][0]["startDateTime"],
        at(10, 0).to_string()
    );
    assert_eq!(v["lastModifiedDateTime"], at(10, 0).to_string());
    assert_eq!(v["restoreSessionArtifactCount"]["inProgress"], 2);
    assert!(v.get("completedDateTime").is_none());
    // Completed.
    assert!(lifecycle::catch_up(&mut s, &mut p, at(70, 0)));
    assert!(p.is_done());
    assert_eq!(p.next_change(), None);
    assert_eq!(s.status(), &SessionStatus::Completed);
    assert!(!lifecycle::is_busy(&s));
    assert_eq!(statuses(&s, c), ["succeeded", "succeeded"]);
    let v = state(&s);
    let done = at(70, 0).to_string();
    assert_eq!(v["completedDateTime"], done);
    assert_eq!(v["lastModifiedDateTime"], done);
    assert_eq!(v["driveRestoreArtifacts"][1]["completionDateTime"], done);
    assert_eq!(
        v["driveRestoreArtifacts"][1]["startDateTime"],
        at(10, 0).to_string()
    );
    assert_eq!(
        v["restoreSessionArtifactCount"],
        json!({"total": 2, "x": true, "completed": 2, "failed": 0, "inProgress": 0})
    );
    assert!(!lifecycle::catch_up(&mut s, &mut p, at(1_000, 0)));
    // The clock is not followed backwards.
    let mut s = drafted(1);
    let mut p = lifecycle::activate(&mut s, 0, &schedule, ts(NOW)).unwrap();
    assert!(lifecycle::catch_up(&mut s, &mut p, at(11, 0)));
    let active = s.to_json();
    assert!(!lifecycle::catch_up(&mut s, &mut p, at(6, 0)));
    assert_eq!(s.to_json(), active);
    // Immediate: everything at the activation instant, on the first catch-up.
    let mut s = drafted(1);
    let mut p =
        lifecycle::activate(&mut s, 0, &Schedule::new(Transitions::Immediate), ts(NOW)).unwrap();
    assert_eq!(s.status(), &SessionStatus::Activating);
    assert!(lifecycle::catch_up(&mut s, &mut p, at(0, 0)));
    assert_eq!(s.status(), &SessionStatus::Completed);
    assert_eq!(state(&s)["driveRestoreArtifacts"][0]["startDateTime"], NOW);
    assert_eq!(state(&s)["completedDateTime"], NOW);
    // Delays past the calendar's end: never due, no panic.
    let never = Schedule::new(Transitions::Timed {
        to_active_secs: u64::MAX,
        to_completed_secs: u64::MAX,
    });
    let mut s = drafted(1);
    let mut p = lifecycle::activate(&mut s, 0, &never, ts(NOW)).unwrap();
    assert_eq!(p.next_change(), None);
    assert!(!lifecycle::catch_up(
        &mut s,
        &mut p,
        ts("9999-12-31T23:59:59Z")
    ));
    // A fractional halfway point: 3 s to active, scheduled at 1.5 s.
    let odd = Schedule::new(Transitions::Timed {
        to_active_secs: 3,
        to_completed_secs: 0,
    });
    let mut s = drafted(1);
    let mut p = lifecycle::activate(&mut s, 0, &odd, ts(NOW)).unwrap();
    assert_eq!(p.next_change(), Some(at(1, 500_000_000)));
    assert!(lifecycle::catch_up(&mut s, &mut p, at(3, 0)));
    assert_eq!(
        s.status(),
        &SessionStatus::Completed,
        "0 s from active to completed"
    );
}

/// Rule L7: a stage falls due its delay after the activation instant, fraction of a second
/// included (activated at 0.25 s past the second, active at 10.25 s).
#[test]
fn l7_stages_keep_the_activation_s_fraction_of_a_second() {
    let schedule = Schedule::new(Transitions::Timed {
        to_active_secs: 10,
        to_completed_secs: 60,
    });
    let mut s = drafted(1);
    let mut p = lifecycle::activate(&mut s, 0, &schedule, at(0, 250_000_000)).unwrap();
    assert_eq!(p.next_change(), Some(at(5, 250_000_000)));
    assert!(lifecycle::catch_up(&mut s, &mut p, at(10, 249_999_999)));
    assert_eq!(
        s.status(),
        &SessionStatus::Activating,
        "not active before 10.25 s"
    );
    assert!(lifecycle::catch_up(&mut s, &mut p, at(11, 0)));
    assert_eq!(s.status(), &SessionStatus::Active);
    assert_eq!(
        state(&s)["driveRestoreArtifacts"][0]["startDateTime"],
        at(10, 250_000_000).to_string()
    );
}

#[test]
fn l7_catch_up_is_path_independent() {
    let schedule = Schedule::new(Transitions::Timed {
        to_active_secs: 10,
        to_completed_secs: 20,
    })
    .with_failed_per_mille(500)
    .with_seed(3);
    let mut activated = varied();
    let progress = lifecycle::activate(&mut activated, 0, &schedule, ts(NOW)).unwrap();
    let times: Vec<Timestamp> = [0, 4, 5, 7, 10, 15, 29, 30, 45]
        .iter()
        .map(|&s| at(s, 0))
        .collect();
    let alone = |t: Timestamp| {
        let (mut s, mut p) = (activated.clone(), progress.clone());
        lifecycle::catch_up(&mut s, &mut p, t);
        (s.to_json(), p)
    };
    let mut distinct = BTreeSet::new();
    for (i, &t1) in times.iter().enumerate() {
        for &t2 in &times[i..] {
            let (mut s, mut p) = (activated.clone(), progress.clone());
            lifecycle::catch_up(&mut s, &mut p, t1);
            lifecycle::catch_up(&mut s, &mut p, t2);
            let (direct, direct_progress) = alone(t2);
            assert_eq!(s.to_json(), direct, "{t1} then {t2}");
            assert_eq!(p, direct_progress, "{t1} then {t2}");
            distinct.insert(direct);
        }
    }
    assert_eq!(distinct.len(), 4, "four stages reached");
    // Every stage one by one, then the end: the bytes of jumping to the end.
    let (mut s, mut p) = (activated.clone(), progress.clone());
    for t in &times {
        lifecycle::catch_up(&mut s, &mut p, *t);
    }
    assert_eq!(s.to_json(), alone(at(45, 0)).0);
}

/// A progress rebuilt from its record answers as the one it was taken from, at every stage.
#[test]
fn l7_progress_resumes_from_its_record() {
    let timed = Schedule::new(Transitions::Timed {
        to_active_secs: 10,
        to_completed_secs: 20,
    });
    let mut s = drafted(3);
    let mut p = lifecycle::activate(&mut s, 0, &timed, ts(NOW)).unwrap();
    for t in [0, 5, 10, 30] {
        lifecycle::catch_up(&mut s, &mut p, at(t, 0));
        let resumed = Progress::resume(timed, &p.entered_at()).unwrap();
        assert_eq!(resumed, p, "at {t}");
        let (mut a, mut b) = (s.clone(), s.clone());
        let (mut pa, mut pb) = (p.clone(), resumed);
        assert_eq!(
            lifecycle::catch_up(&mut a, &mut pa, at(40, 0)),
            lifecycle::catch_up(&mut b, &mut pb, at(40, 0))
        );
        assert_eq!(a.to_json(), b.to_json());
    }
    assert_eq!(p.entered_at(), [at(0, 0), at(5, 0), at(10, 0), at(30, 0)]);
    assert_eq!(Progress::resume(timed, &[]), None);
    assert_eq!(Progress::resume(timed, &[at(0, 0); 5]), None);
    assert_eq!(Progress::resume(timed, &[at(5, 0), at(4, 0)]), None);
}

#[test]
fn l7_manual_steps() {
    let manual = Schedule::new(Transitions::Manual);
    let mut s = drafted(2);
    let mut p = lifecycle::activate(&mut s, 0, &manual, ts(NOW)).unwrap();
    let c = ArtifactCollection::DriveRestoreArtifacts;
    // The clock does nothing.
    assert_eq!(p.next_change(), None);
    assert!(!lifecycle::catch_up(&mut s, &mut p, at(1_000_000, 0)));
    assert_eq!(statuses(&s, c), ["scheduling", "scheduling"]);
    lifecycle::step(&mut s, &mut p, at(100, 0)).unwrap();
    assert_eq!(
        (s.status(), statuses(&s, c)),
        (&SessionStatus::Activating, vec!["scheduled".to_owned(); 2])
    );
    // A step earlier than the previous one counts at the previous instant.
    lifecycle::step(&mut s, &mut p, at(50, 0)).unwrap();
    assert_eq!(s.status(), &SessionStatus::Active);
    assert_eq!(
        state(&s)["driveRestoreArtifacts"][0]["startDateTime"],
        at(100, 0).to_string()
    );
    lifecycle::step(&mut s, &mut p, at(200, 0)).unwrap();
    assert_eq!(s.status(), &SessionStatus::Completed);
    assert_eq!(state(&s)["completedDateTime"], at(200, 0).to_string());
    let e = assert_refused(
        lifecycle::step(&mut s, &mut p, at(300, 0)),
        RuleId::L7,
        403,
        "RestoreSessionActionNotAllowed",
    );
    assert!(e.message.contains("completed"), "{}", e.message);
    // Not manual: 403, nothing changes.
    for transitions in [
        Transitions::Immediate,
        Transitions::Timed {
            to_active_secs: 1,
            to_completed_secs: 1,
        },
    ] {
        let mut s = drafted(1);
        let mut p: Progress =
            lifecycle::activate(&mut s, 0, &Schedule::new(transitions), ts(NOW)).unwrap();
        let before = s.to_json();
        assert_refused(
            lifecycle::step(&mut s, &mut p, at(5, 0)),
            RuleId::L7,
            403,
            "RestoreSessionActionNotAllowed",
        );
        assert_eq!(s.to_json(), before);
    }
}

#[test]
fn l7_unknown_members_survive_the_stages() {
    let mut s = varied();
    let mut p = lifecycle::activate(
        &mut s,
        0,
        &Schedule::new(Transitions::Immediate).with_failed_per_mille(1000),
        ts(NOW),
    )
    .unwrap();
    lifecycle::catch_up(&mut s, &mut p, ts(NOW));
    let text = s.to_json();
    // Byte for byte: an escaped name, numbers as written, an escaped string.
    assert!(
        text.contains(r#""n\u0061me":"1.50","deep":{"k":[1.50,"\u00e9"]}"#),
        "{text}"
    );
    assert!(text.contains(r#""x":{"n":1e3}"#), "{text}");
    let arts: Vec<&str> = s
        .artifacts(ArtifactCollection::DriveRestoreArtifacts)
        .map(|a| a.json_text())
        .collect();
    // Present members replaced in place, absent ones appended in a fixed order.
    let t = format!("\"{NOW}\"");
    let error =
        r#"{"code":"UnknownError","message":"Unknown error occurred or a provider-side error."}"#;
    assert_eq!(
        arts[1],
        format!(
            r#"{{"id":"a1","restorePoint":{{"id":"r1"}},"destinationType":"new","completionDateTime":{t},"status":"failed","startDateTime":{t},"error":{error}}}"#
        )
    );
    assert_eq!(
        arts[2],
        format!(
            r#"{{"id":"a2","restorePoint":{{"id":"r2"}},"destinationType":"new","status":"failed","error":{error},"startDateTime":{t},"completionDateTime":{t}}}"#
        )
    );
}

// ---------------------------------------------------------------- L8

fn thousand(order: impl Iterator<Item = usize>) -> Session {
    let artifacts: Vec<Value> = order
        .map(|i| json!({"id": format!("a{i}"), "restorePoint": {"id": format!("r{i}")}, "destinationType": "new"}))
        .collect();
    session(&json!({"@odata.type": OD, "id": "s", "driveRestoreArtifacts": artifacts}))
}

fn finish(mut s: Session, schedule: Schedule) -> Session {
    let mut p = lifecycle::activate(&mut s, 0, &schedule, ts(NOW)).unwrap();
    lifecycle::catch_up(&mut s, &mut p, ts(NOW));
    s
}

fn failed_ids(s: &Session) -> BTreeSet<String> {
    s.artifacts(ArtifactCollection::DriveRestoreArtifacts)
        .filter(|a| a.status().unwrap().as_str() == "failed")
        .map(|a| a.id().to_owned())
        .collect()
}

#[test]
fn l8_a_seeded_share_fails() {
    let quarter = Schedule::new(Transitions::Immediate)
        .with_failed_per_mille(250)
        .with_seed(42);
    let s = finish(thousand(0..1000), quarter);
    let failed = failed_ids(&s);
    assert!(
        (200..300).contains(&failed.len()),
        "{} of 1000 failed",
        failed.len()
    );
    assert_eq!(s.status(), &SessionStatus::CompletedWithError);
    let v = state(&s);
    assert_eq!(
        v["restoreSessionArtifactCount"],
        json!({"total": 1000, "completed": 1000 - failed.len(), "failed": failed.len(), "inProgress": 0})
    );
    for a in v["driveRestoreArtifacts"].as_array().unwrap() {
        let fails = a["status"] == "failed";
        assert_eq!(a.get("error").is_some(), fails, "{a}");
        if fails {
            assert_eq!(a["error"]["code"], "UnknownError");
        } else {
            assert_eq!(a["status"], "succeeded");
        }
    }
    // The same artifacts fail whatever their order and whatever the others.
    assert_eq!(
        failed_ids(&finish(thousand((0..1000).rev()), quarter)),
        failed
    );
    let half: BTreeSet<String> = failed
        .iter()
        .filter(|id| id[1..].parse::<usize>().unwrap() % 2 == 0)
        .cloned()
        .collect();
    assert_eq!(
        failed_ids(&finish(thousand((0..1000).step_by(2)), quarter)),
        half
    );
    // Another seed, another set; none and all.
    assert_ne!(
        failed_ids(&finish(thousand(0..1000), quarter.with_seed(43))),
        failed
    );
    let none = finish(thousand(0..1000), quarter.with_failed_per_mille(0));
    assert!(failed_ids(&none).is_empty());
    assert_eq!(none.status(), &SessionStatus::Completed);
    for all in [1000, 1001, u16::MAX] {
        assert_eq!(
            failed_ids(&finish(
                thousand(0..100),
                quarter.with_failed_per_mille(all)
            ))
            .len(),
            100
        );
    }
    // Granular drive and site artifacts have no `error` member.
    let g = session(
        &json!({"@odata.type": OD, "id": "g", "granularDriveRestoreArtifacts": [{"id": "k1", "browseSessionId": "b", "status": "added"}]}),
    );
    let g = finish(g, quarter.with_failed_per_mille(1000));
    let v = state(&g);
    assert_eq!(v["granularDriveRestoreArtifacts"][0]["status"], "failed");
    assert!(v["granularDriveRestoreArtifacts"][0].get("error").is_none());
    assert_eq!(g.status(), &SessionStatus::CompletedWithError);
}

// ---------------------------------------------------------------- L9

#[test]
fn l9_reading() {
    // Members in state order (not sorted as `json!` would).
    let s = Session::from_json(
        format!(
            r#"{{"@odata.type":"{OD}","id":"s1","status":"failed","restoreJobType":"granular","x":[1],
            "granularDriveRestoreArtifacts":[{{"id":"k1","browseSessionId":"b"}},{{"id":"k2","browseSessionId":"b"}},{{"id":"k3","browseSessionId":"b"}}]}}"#
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        lifecycle::render_session(&s, &Options::default()),
        format!(
            r#"{{"@odata.type":"{OD}","id":"s1","status":"unknownFutureValue","restoreJobType":"unknownFutureValue","x":[1]}}"#
        )
    );
    let all = Options::default().with_prefer("include-unknown-enum-members");
    assert_eq!(
        lifecycle::render_session(&s, &all),
        format!(
            r#"{{"@odata.type":"{OD}","id":"s1","status":"failed","restoreJobType":"granular","x":[1]}}"#
        )
    );
    let c = ArtifactCollection::GranularDriveRestoreArtifacts;
    let page = |s: &Session, skip, top| lifecycle::render_artifacts(s, c, skip, top);
    assert_eq!(
        page(&s, 0, 2),
        (
            r#"[{"id":"k1","browseSessionId":"b"},{"id":"k2","browseSessionId":"b"}]"#.to_owned(),
            true
        )
    );
    assert_eq!(
        page(&s, 2, 2),
        (r#"[{"id":"k3","browseSessionId":"b"}]"#.to_owned(), false)
    );
    assert!(!page(&s, 1, 2).1);
    assert_eq!(page(&s, 3, 2), ("[]".to_owned(), false));
    assert_eq!(page(&s, usize::MAX, usize::MAX), ("[]".to_owned(), false));
    assert_eq!(page(&s, 0, 0), ("[]".to_owned(), true));
    // Another collection of the kind, another kind's collection: empty.
    assert_eq!(
        lifecycle::render_artifacts(&s, ArtifactCollection::DriveRestoreArtifacts, 0, 9),
        ("[]".to_owned(), false)
    );
    assert_eq!(
        lifecycle::render_artifacts(&s, ArtifactCollection::SiteRestoreArtifacts, 0, 9),
        ("[]".to_owned(), false)
    );
    // With removed artifacts still in the collection's slots, pages follow the live ones.
    let s = drafted(10);
    let removal = json!({"driveRestoreArtifacts@delta": [
        {"@removed": {}, "id": "a0"}, {"@removed": {}, "id": "a4"}, {"@removed": {}, "id": "a5"}]});
    let s = apply(
        s,
        removal.to_string().as_bytes(),
        &Options::default(),
        &mut ctx(1),
    )
    .state;
    let c = ArtifactCollection::DriveRestoreArtifacts;
    let ids = |text: &str| -> Vec<String> {
        serde_json::from_str::<Vec<Value>>(text)
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut seen = Vec::new();
    let mut skip = 0;
    loop {
        let (text, more) = lifecycle::render_artifacts(&s, c, skip, 3);
        seen.extend(ids(&text));
        skip += 3;
        if !more {
            break;
        }
    }
    assert_eq!(seen, ["a1", "a2", "a3", "a6", "a7", "a8", "a9"]);
    // What the session renders is also what get answers after a lifecycle stage.
    let mut s = drafted(1);
    let _p = lifecycle::activate(&mut s, 0, &Schedule::default(), ts(NOW)).unwrap();
    let v: Value =
        serde_json::from_str(&lifecycle::render_session(&s, &Options::default())).unwrap();
    assert_eq!(v["status"], "activating");
    assert!(v.get("driveRestoreArtifacts").is_none());
}

// ---------------------------------------------------------------- vectors

fn vector_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lifecycle-vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn schedule_of(v: &Value) -> Schedule {
    let transitions = match v["transitions"].as_str().unwrap_or("timed") {
        "immediate" => Transitions::Immediate,
        "manual" => Transitions::Manual,
        "timed" => Transitions::Timed {
            to_active_secs: v["to_active_secs"].as_u64().unwrap_or(5),
            to_completed_secs: v["to_completed_secs"].as_u64().unwrap_or(10),
        },
        other => panic!("transitions {other:?}"),
    };
    Schedule::new(transitions)
        .with_failed_per_mille(u16::try_from(v["failed_per_mille"].as_u64().unwrap_or(0)).unwrap())
        .with_seed(v["seed"].as_u64().unwrap_or(0))
}

fn options_of(v: &Value) -> Options {
    let mut o = Options::default();
    if let Some(p) = v["prefer"].as_str() {
        o = o.with_prefer(p);
    }
    if let Some(n) = v["max_items"].as_u64() {
        o = o.with_max_items(n as usize);
    }
    if let Some(n) = v["max_bytes"].as_u64() {
        o = o.with_max_bytes(n as usize);
    }
    o
}

fn error_answer(e: &RequestError) -> Value {
    json!({"status": e.status, "body": serde_json::from_str::<Value>(&e.body()).unwrap()})
}

/// Runs one vector's steps; returns, per step, what it answered (compared with `expected`).
fn run_vector(v: &Value) -> Vec<Value> {
    let mut session: Option<Session> = v.get("state").filter(|s| !s.is_null()).map(session);
    let mut progress: Option<Progress> = None;
    let schedule = schedule_of(&v["schedule"]);
    let mut answers = Vec::new();
    for step in v["steps"].as_array().unwrap() {
        let now = step["now"].as_str().map_or(ts(NOW), ts);
        let options = options_of(&step["options"]);
        let current = || {
            session
                .clone()
                .expect("a session: a state or a create before this step")
        };
        let answer = match step["operation"].as_str().unwrap() {
            "create" => {
                let kind = SessionKind::from_odata_type(v["kind"].as_str().unwrap()).unwrap();
                let body = match &step["body"] {
                    Value::String(raw) => raw.clone().into_bytes(),
                    other => other.to_string().into_bytes(),
                };
                let seed = step["seed"].as_u64().unwrap_or(0);
                let mut c = Context::new(now, SeededIds::new(seed));
                match lifecycle::create(kind, &body, &options, &mut c) {
                    Ok(s) => {
                        let body: Value =
                            serde_json::from_str(&lifecycle::render_session(&s, &options)).unwrap();
                        let answer = json!({"status": 201, "body": body, "state": state(&s)});
                        session = Some(s);
                        answer
                    }
                    Err(e) => error_answer(&e),
                }
            }
            "check_session_id" => match lifecycle::check_session_id(step["id"].as_str().unwrap()) {
                Ok(()) => json!({"status": 200}),
                Err(e) => error_answer(&e),
            },
            "get" => {
                json!({"status": 200, "body": serde_json::from_str::<Value>(&lifecycle::render_session(&current(), &options)).unwrap()})
            }
            "delete" => match lifecycle::check_delete(&current()) {
                Ok(()) => json!({"status": 204}),
                Err(e) => error_answer(&e),
            },
            "activate" => {
                let mut s = current();
                let busy = step["busy"].as_u64().unwrap_or(0) as usize;
                match lifecycle::activate(&mut s, busy, &schedule, now) {
                    Ok(p) => {
                        let body: Value =
                            serde_json::from_str(&lifecycle::render_session(&s, &options)).unwrap();
                        let answer = json!({"status": 200, "body": body, "state": state(&s)});
                        session = Some(s);
                        progress = Some(p);
                        answer
                    }
                    Err(e) => {
                        json!({"status": e.status, "body": serde_json::from_str::<Value>(&e.body()).unwrap(), "state": state(&s)})
                    }
                }
            }
            "catch_up" => {
                let (mut s, mut p) = (current(), progress.clone().expect("activated"));
                let changed = lifecycle::catch_up(&mut s, &mut p, now);
                let answer = json!({"changed": changed, "state": state(&s)});
                session = Some(s);
                progress = Some(p);
                answer
            }
            "step" => {
                let (mut s, mut p) = (current(), progress.clone().expect("activated"));
                let answer = match lifecycle::step(&mut s, &mut p, now) {
                    Ok(()) => json!({"status": 200, "state": state(&s)}),
                    Err(e) => {
                        json!({"status": e.status, "body": serde_json::from_str::<Value>(&e.body()).unwrap(), "state": state(&s)})
                    }
                };
                session = Some(s);
                progress = Some(p);
                answer
            }
            "list_artifacts" => {
                let c =
                    ArtifactCollection::from_name(step["collection"].as_str().unwrap()).unwrap();
                let skip = step["skip"].as_u64().unwrap_or(0) as usize;
                let top = step["top"].as_u64().unwrap() as usize;
                let (text, more) = lifecycle::render_artifacts(&current(), c, skip, top);
                json!({"status": 200, "body": serde_json::from_str::<Value>(&text).unwrap(), "more": more})
            }
            other => panic!("operation {other:?}"),
        };
        answers.push(answer);
    }
    answers
}

#[test]
fn lifecycle_vectors() {
    let files = vector_files();
    assert!(!files.is_empty(), "no vectors in tests/lifecycle-vectors");
    let documented: BTreeSet<&str> = RuleId::ALL
        .iter()
        .map(|r| r.as_str())
        .filter(|r| r.starts_with('L'))
        .collect();
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    let bless = std::env::var_os("LIFECYCLE_VECTORS_BLESS").is_some();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let mut v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for r in v["rules"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no rules"))
        {
            let r = r.as_str().unwrap();
            assert!(documented.contains(r), "{name}: {r} is no lifecycle rule");
            covered.insert(r.to_owned());
        }
        let answers = run_vector(&v);
        // D1: a second run gives the same bytes.
        assert_eq!(
            serde_json::to_string(&answers).unwrap(),
            serde_json::to_string(&run_vector(&v)).unwrap(),
            "{name}"
        );
        if bless {
            for (step, answer) in v["steps"].as_array_mut().unwrap().iter_mut().zip(&answers) {
                step["expected"] = answer.clone();
            }
            std::fs::write(&file, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
            continue;
        }
        for (i, (step, answer)) in v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&answers)
            .enumerate()
        {
            if step["expected"] != *answer {
                failures.push(format!(
                    "{name} step {i} ({}):\n expected {}\n actual   {}",
                    step["operation"], step["expected"], answer
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let missing: Vec<&&str> = documented
        .iter()
        .filter(|r| !covered.contains(**r))
        .collect();
    assert!(
        missing.is_empty(),
        "lifecycle rules without a vector: {missing:?}"
    );
}
