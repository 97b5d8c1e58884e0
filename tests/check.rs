//! The reference check (rules C1–C3): the reference's own answers, with the server's free
//! choices changed, are conformant under every profile; every single change to a conformant
//! answer is not, and the first difference points at the changed place.

use std::path::PathBuf;

use restore_delta::check::{DifferenceKind, Ignore, Observed, Profile, Settings, Verdict, check};
use restore_delta::{
    Applied, Context, ItemOutcome, MissingRemoval, Options, RuleId, SeededIds, Session, Timestamp,
    apply,
};
use serde_json::{Value, json};

const PROFILES: [Profile; 3] = [Profile::Exact, Profile::Default, Profile::Docs];

/// One exchange: the state before, the request, the options, and the reference's answer
/// (generated with `seed` and `now`).
struct Case {
    name: String,
    before: String,
    request: Vec<u8>,
    options: Options,
    status: u16,
    body: Option<String>,
    state_after: String,
    /// The ids the reference generated, in item order.
    generated: Vec<String>,
    now: String,
}

/// Every conformance vector whose body is JSON and whose state is valid, as a case.
fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if v["expected"].get("state_error").is_some() {
            continue;
        }
        let request = match &v["request"] {
            Value::Null => continue,
            Value::String(s) => s.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        };
        let o = &v["options"];
        let mut options = Options::default();
        if let Some(p) = o["prefer"].as_str() {
            options = options.with_prefer(p);
        }
        if let Some(a) = o["atomic"].as_bool() {
            options = options.with_atomic(a);
        }
        if let Some(n) = o["max_items"].as_u64() {
            options = options.with_max_items(n as usize);
        }
        if let Some(n) = o["max_bytes"].as_u64() {
            options = options.with_max_bytes(n as usize);
        }
        if let Some(n) = o["max_depth"].as_u64() {
            options = options.with_max_depth(n as usize);
        }
        if o["missing_removal"] == "succeed" {
            options = options.with_missing_removal(MissingRemoval::Succeed);
        }
        for r in o["service_roots"].as_array().into_iter().flatten() {
            options = options.with_service_root(r.as_str().unwrap());
        }
        let before = v["state"].to_string();
        let now = v["now"].as_str().unwrap().to_owned();
        let mut ctx = Context::new(
            Timestamp::parse_rfc3339(&now).unwrap(),
            SeededIds::new(v["seed"].as_u64().unwrap()),
        );
        if let Some(actor) = o.get("actor") {
            ctx = ctx.with_actor(actor);
        }
        let session = Session::from_json(before.as_bytes()).unwrap();
        let a = apply(session, &request, &options, &mut ctx);
        let generated = a
            .answer
            .outcomes
            .iter()
            .filter_map(|o| match o {
                ItemOutcome::Added {
                    id,
                    rule: RuleId::A7,
                } => Some(id.clone()),
                _ => None,
            })
            .collect();
        out.push(Case {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            before,
            request,
            options,
            status: a.answer.response.status,
            body: a.answer.response.body.map(|b| b.into_string()),
            state_after: a.state.to_json(),
            generated,
            now: Timestamp::parse_rfc3339(&now).unwrap().to_string(),
        });
    }
    assert!(out.len() > 150, "{} cases", out.len());
    out
}

/// Another server's free choices: other ids, the clock 2.5 s later, written with milliseconds.
/// An id the request itself names (the client knew it) is not the server's to choose.
fn free(case: &Case, id: &str) -> bool {
    !String::from_utf8_lossy(&case.request).contains(id)
}

fn as_another_server(case: &Case, text: &str) -> String {
    let mut text = text.to_owned();
    for (n, id) in case.generated.iter().enumerate() {
        if free(case, id) {
            text = text.replace(id.as_str(), &format!("server-id-{n}-{}", id.len()));
        }
    }
    let later = Timestamp::parse_rfc3339(&case.now).unwrap();
    let later = Timestamp::from_unix(later.unix_seconds() + 2, later.subsec_nanos()).unwrap();
    let shown = format!("{}", later);
    let shown = match shown.strip_suffix('Z') {
        Some(s) if !s.contains('.') => format!("{s}.500Z"),
        _ => shown,
    };
    text.replace(&format!("\"{}\"", case.now), &format!("\"{shown}\""))
}

fn judge(case: &Case, body: Option<&str>, state: Option<&str>, settings: &Settings) -> Verdict {
    let before = Session::from_json(case.before.as_bytes()).unwrap();
    let mut observed = Observed::new(case.status, body.map(str::as_bytes));
    if let Some(s) = state {
        observed = observed.with_state_after(s.as_bytes());
    }
    check(&before, &case.request, &case.options, &observed, settings)
}

#[test]
fn c1_the_reference_with_other_free_choices_is_conformant_under_every_profile() {
    let mut checked = 0;
    for case in cases() {
        let body = case.body.as_deref().map(|b| as_another_server(&case, b));
        let state = as_another_server(&case, &case.state_after);
        for profile in PROFILES {
            let settings = Settings::default().with_profile(profile);
            let v = judge(&case, body.as_deref(), Some(&state), &settings);
            assert!(v.conformant, "{} under {profile:?}: {v}", case.name);
            assert!(v.tolerated.is_empty(), "{}: {:?}", case.name, v.tolerated);
            let v = judge(&case, body.as_deref(), None, &settings);
            assert!(
                v.conformant,
                "{} (no state) under {profile:?}: {v}",
                case.name
            );
        }
        let v = judge(&case, body.as_deref(), None, &Settings::default());
        let renamed: Vec<String> = case
            .generated
            .iter()
            .enumerate()
            .map(|(n, id)| {
                if free(&case, id) {
                    format!("server-id-{n}-{}", id.len())
                } else {
                    id.clone()
                }
            })
            .collect();
        if body.is_some() {
            assert_eq!(v.binding.ids, renamed, "{}", case.name);
        }
        checked += 1;
    }
    assert!(checked > 150);
}

/// Single changes to a conformant answer and where the first difference must point.
fn mutations(body: &Value) -> Vec<(String, Value, String)> {
    let mut out = Vec::new();
    let Some(obj) = body.as_object() else {
        return out;
    };
    let Some((delta, entries)) = obj.iter().find(|(k, _)| k.ends_with("@delta")) else {
        return out;
    };
    let entries = entries.as_array().unwrap();
    let base = format!("/{delta}");
    let with_entries = |e: Vec<Value>| {
        let mut b = body.clone();
        b[delta.as_str()] = Value::Array(e);
        b
    };
    let n = entries.len();
    // A dropped entry: the first difference is at its place.
    for i in 0..n {
        let mut e = entries.clone();
        e.remove(i);
        out.push((format!("drop {i}"), with_entries(e), format!("{base}/{i}")));
    }
    // A duplicated entry.
    let mut e = entries.clone();
    e.insert(0, entries[0].clone());
    let at = if n > 1 && entries[0] != entries[1] {
        format!("{base}/1")
    } else {
        format!("{base}/")
    };
    out.push(("duplicate 0".into(), with_entries(e), at));
    // Two entries swapped.
    if n > 1 && entries[0] != entries[1] {
        let mut e = entries.clone();
        e.swap(0, 1);
        out.push(("swap 0 1".into(), with_entries(e), format!("{base}/0")));
    }
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("{base}/{i}");
        let mut set = |what: &str, path: &str, v: Value| {
            let mut e = entries.clone();
            let target = e[i].pointer_mut(path).unwrap();
            *target = v;
            out.push((
                format!("{what} of {i}"),
                with_entries(e),
                format!("{at}{path}"),
            ));
        };
        if let Some(x) = entry.get("@Core.DataModificationException") {
            set(
                "code",
                "/@Core.DataModificationException/info/code",
                json!("SomethingElse"),
            );
            let code = x["responseCode"].as_u64().unwrap();
            set(
                "responseCode",
                "/@Core.DataModificationException/responseCode",
                json!(code + 1),
            );
            let op = if x["failedOperation"] == "insert" {
                "remove"
            } else {
                "insert"
            };
            set(
                "failedOperation",
                "/@Core.DataModificationException/failedOperation",
                json!(op),
            );
            // A failure reported as a success.
            let mut e = entries.clone();
            e[i].as_object_mut()
                .unwrap()
                .remove("@Core.DataModificationException");
            out.push((
                format!("failure as success {i}"),
                with_entries(e),
                format!("{at}/@Core.DataModificationException"),
            ));
        } else if entry.get("@removed").is_some() {
            set("removed id", "/id", json!("another-id"));
        } else {
            if entry.pointer("/restorePoint/id").is_some() {
                set("restore point", "/restorePoint/id", json!("another-rp"));
            }
            if let Some(d) = entry.get("destinationType") {
                let other = if d == "new" { "inPlace" } else { "new" };
                set("destination", "/destinationType", json!(other));
            }
            set("status", "/status", json!("scheduled"));
            // A success reported as a failure.
            let mut e = entries.clone();
            e[i]["@Core.DataModificationException"] = json!({"info": {"code": "Invalid", "message": "x"}, "failedOperation": "insert", "responseCode": 400});
            out.push((
                format!("success as failure {i}"),
                with_entries(e),
                format!("{at}/@Core.DataModificationException"),
            ));
        }
    }
    out
}

fn without_messages(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "message")
                .map(|(k, v)| (k.clone(), without_messages(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_messages).collect()),
        other => other.clone(),
    }
}

#[test]
fn c3_every_single_change_is_found_where_it_was_made() {
    let mut tried = 0;
    for case in cases() {
        let Some(body) = case.body.as_deref() else {
            continue;
        };
        let body: Value = serde_json::from_str(&as_another_server(&case, body)).unwrap();
        for (what, changed, at) in mutations(&body) {
            // Under Default, messages are not compared: a change that only moves messages
            // (two entries alike but for them swapped) is no change there.
            let visible = without_messages(&changed) != without_messages(&body);
            for profile in [Profile::Exact, Profile::Default] {
                if profile == Profile::Default && !visible {
                    continue;
                }
                let text = changed.to_string();
                let v = judge(
                    &case,
                    Some(&text),
                    None,
                    &Settings::default().with_profile(profile),
                );
                assert!(
                    !v.conformant,
                    "{}: {what} not found under {profile:?}",
                    case.name
                );
                let first = &v.differences[0];
                // A value change is found where it was made; an entry dropped, duplicated or
                // moved is found at its place or, where the entries after it differ in
                // nothing the profile compares, at the first place it shows: never before.
                let structural = what.starts_with("drop")
                    || what.starts_with("duplicate")
                    || what.starts_with("swap");
                let ok = if structural {
                    let index = |p: &str| {
                        p.strip_prefix(&format!("/body{}", at.rsplit_once('/').unwrap().0))
                            .and_then(|t| {
                                t.trim_start_matches('/')
                                    .split('/')
                                    .next()
                                    .and_then(|i| i.parse::<usize>().ok())
                            })
                    };
                    match (index(&first.pointer), index(&format!("/body{at}"))) {
                        (Some(found), Some(changed)) => found >= changed,
                        (Some(_), None) => true,
                        _ => false,
                    }
                } else if what.contains(" as ") {
                    // An outcome reported as another: found in that entry, or, all or nothing,
                    // in the status (one failure refuses the whole request).
                    let entry = at.rsplit_once('/').map_or(at.as_str(), |(e, _)| e);
                    first.pointer.starts_with(&format!("/body{entry}"))
                        || (case.options.atomic && first.pointer == "/status")
                } else {
                    first.pointer.starts_with(&format!("/body{at}"))
                };
                assert!(
                    ok,
                    "{}: {what}: first difference at {} (expected /body{at}): {v}",
                    case.name, first.pointer
                );
                tried += 1;
            }
        }
        // A changed status.
        let before = Session::from_json(case.before.as_bytes()).unwrap();
        let text = body.to_string();
        let observed = Observed::new(case.status + 1, Some(text.as_bytes()));
        let v = check(
            &before,
            &case.request,
            &case.options,
            &observed,
            &Settings::default(),
        );
        assert_eq!(
            v.differences[0].kind,
            DifferenceKind::Status,
            "{}",
            case.name
        );
        // The state after: an extra artifact, a changed untouched one.
        let mut state: Value =
            serde_json::from_str(&as_another_server(&case, &case.state_after)).unwrap();
        let coll = state
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, v)| {
                k.ends_with("RestoreArtifacts") && v.as_array().is_some_and(|a| !a.is_empty())
            })
            .map(|(k, _)| k.clone());
        if let Some(coll) = coll {
            let mut extra = state.clone();
            let mut a = extra[&coll][0].clone();
            a["id"] = json!("smuggled");
            extra[&coll].as_array_mut().unwrap().push(a);
            let other = case.body.as_deref().map(|b| as_another_server(&case, b));
            let with_state = |state: &Value| {
                judge(
                    &case,
                    other.as_deref(),
                    Some(&state.to_string()),
                    &Settings::default(),
                )
            };
            let v = with_state(&extra);
            assert!(!v.conformant, "{}: an extra artifact", case.name);
            state[&coll][0]["status"] = json!("someOtherStatus");
            let v = with_state(&state);
            assert!(!v.conformant, "{}: a changed artifact", case.name);
            assert!(
                v.differences[0]
                    .pointer
                    .starts_with(&format!("/state/{coll}/0")),
                "{}: {v}",
                case.name
            );
        }
    }
    assert!(tried > 500, "{tried} mutations");
}

#[test]
fn c1_a_bound_id_the_rules_refuse_is_a_difference_against_a7() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft",
        "driveRestoreArtifacts":[{"id":"a1","restorePoint":{"id":"rp-1"},"destinationType":"new","status":"added"}]}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"rp-2"},"destinationType":"new"},{"restorePoint":{"id":"rp-3"},"destinationType":"new"}]}"#;
    let session = Session::from_json(before.as_bytes()).unwrap();
    let entry = |id: &str, rp: &str| json!({"id": id, "restorePoint": {"id": rp}, "destinationType": "new", "status": "added", "createdDateTime": "2026-11-28T12:00:00Z"});
    for (ids, bad) in [(["a1", "x"], 0), (["x", "x"], 1), (["", "y"], 0)] {
        let body = json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession", "id": "s", "status": "draft",
            "lastModifiedDateTime": "2026-11-28T12:00:00Z",
            "driveRestoreArtifacts@delta": [entry(ids[0], "rp-2"), entry(ids[1], "rp-3")]}).to_string();
        let v = check(
            &session,
            request,
            &Options::default(),
            &Observed::new(200, Some(body.as_bytes())),
            &Settings::default(),
        );
        assert!(!v.conformant, "{ids:?}");
        let d = &v.differences[0];
        assert_eq!(
            (d.kind, d.rule, d.pointer.as_str()),
            (
                DifferenceKind::Id,
                Some(RuleId::A7),
                format!("/body/driveRestoreArtifacts@delta/{bad}/id").as_str()
            ),
            "{v}"
        );
    }
}

#[test]
fn c2_profiles_tolerate_what_they_name_and_say_so() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft",
        "driveRestoreArtifacts":[{"id":"a1","restorePoint":{"id":"rp-1"},"destinationType":"new","status":"added"}]}"##;
    let session = Session::from_json(before.as_bytes()).unwrap();
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"rp-2"},"destinationType":"new"},{"@removed":{"reason":"changed"},"id":"a1"},{"@removed":{"reason":"changed"},"id":"zz"}]}"#;
    let observed = |entries: Value| {
        json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession", "id": "s", "status": "draft",
            "lastModifiedDateTime": "2026-11-28T12:00:00Z", "driveRestoreArtifacts@delta": entries}).to_string()
    };
    let added = json!({"id": "n1", "restorePoint": {"id": "rp-2"}, "destinationType": "new", "status": "added", "createdDateTime": "2026-11-28T12:00:00Z"});
    let removed = json!({"@removed": {"reason": "changed"}, "id": "a1"});
    let failed = |msg: &str| json!({"id": "zz", "@Core.DataModificationException": {"info": {"code": "Invalid", "message": msg}, "failedOperation": "remove", "responseCode": 409}});
    let run = |body: &str, profile: Profile| {
        check(
            &session,
            request,
            &Options::default(),
            &Observed::new(200, Some(body.as_bytes())),
            &Settings::default().with_profile(profile),
        )
    };
    // Another message: tolerated by default and docs, a difference under exact.
    let body = observed(json!([added, removed, failed("Not found.")]));
    assert!(!run(&body, Profile::Exact).conformant);
    for p in [Profile::Default, Profile::Docs] {
        let v = run(&body, p);
        assert!(v.conformant, "{v}");
        assert_eq!(v.tolerated.len(), 1);
        assert_eq!(v.tolerated[0].difference.kind, DifferenceKind::Message);
    }
    // Schema properties holding their defaults on an added artifact.
    let mut extra = added.clone();
    extra["restoredSiteId"] = json!("");
    extra["completionDateTime"] = json!("0001-01-01T00:00:00Z");
    extra["error"] = Value::Null;
    let msg = "The identifier to be removed from the restore session does not exist";
    let body = observed(json!([extra, removed, failed(msg)]));
    assert!(!run(&body, Profile::Exact).conformant);
    let v = run(&body, Profile::Default);
    assert!(v.conformant, "{v}");
    assert_eq!(v.tolerated.len(), 3);
    // Not its default, or not a property of the type: a difference under every profile.
    let mut wrong = added.clone();
    wrong["restoredSiteId"] = json!("site-9");
    assert!(
        !run(
            &observed(json!([wrong, removed, failed(msg)])),
            Profile::Docs
        )
        .conformant
    );
    let mut wrong = added.clone();
    wrong["restoredFolderId"] = json!("");
    assert!(
        !run(
            &observed(json!([wrong, removed, failed(msg)])),
            Profile::Docs
        )
        .conformant
    );
    // The docs leave successful removals out and invent a content id.
    let mut invented = failed(msg);
    invented["@contentId"] = json!("3467e382-e96f-42c4-9cc6-4c3a1d2c6b3d");
    let body = observed(json!([added, invented]));
    assert!(!run(&body, Profile::Default).conformant);
    let v = run(&body, Profile::Docs);
    assert!(v.conformant, "{v}");
    assert_eq!(v.tolerated.len(), 2, "{:?}", v.tolerated);
    // Ignoring by name: a rule or a kind.
    let body = observed(json!([added, removed, failed("Not found.")]));
    let v = check(
        &session,
        request,
        &Options::default(),
        &Observed::new(200, Some(body.as_bytes())),
        &Settings::default()
            .with_profile(Profile::Exact)
            .ignoring("X3".parse::<Ignore>().unwrap()),
    );
    assert!(v.conformant, "{v}");
    assert!(v.tolerated[0].reason.contains("X3"));
    assert!("nonsense".parse::<Ignore>().is_err());
}

#[test]
fn c1_time_is_bound_from_the_answer_and_compared_within_the_window() {
    let before =
        r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s","status":"draft"}"##;
    let session = Session::from_json(before.as_bytes()).unwrap();
    let request = br#"{"mailboxRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"},{"restorePoint":{"id":"r2"},"destinationType":"new"}]}"#;
    let body = |t1: &str, t2: &str, t3: &str| {
        let e = |id: &str, rp: &str, t: &str| json!({"id": id, "restorePoint": {"id": rp}, "destinationType": "new", "status": "added", "createdDateTime": t});
        json!({"@odata.type": "#microsoft.graph.exchangeRestoreSession", "id": "s", "status": "draft", "restoreJobType": "standard",
            "lastModifiedDateTime": t3, "mailboxRestoreArtifacts@delta": [e("i1", "r1", t1), e("i2", "r2", t2)]}).to_string()
    };
    let run = |b: String, window: f64| {
        check(
            &session,
            request,
            &Options::default(),
            &Observed::new(200, Some(b.as_bytes())),
            &Settings::default().with_time_window(window),
        )
    };
    let v = run(
        body(
            "2026-11-28T12:00:00Z",
            "2026-11-28T12:00:01.250Z",
            "2026-11-28T13:00:03+01:00",
        ),
        5.0,
    );
    assert!(v.conformant, "{v}");
    assert_eq!(v.binding.now.unwrap().to_string(), "2026-11-28T12:00:00Z");
    let v = run(
        body(
            "2026-11-28T12:00:00Z",
            "2026-11-28T12:00:07Z",
            "2026-11-28T12:00:00Z",
        ),
        5.0,
    );
    assert_eq!(v.differences.len(), 1, "{v}");
    assert_eq!(
        (v.differences[0].kind, v.differences[0].rule),
        (DifferenceKind::Time, Some(RuleId::A7))
    );
    let v = run(
        body(
            "2026-11-28T12:00:00Z",
            "2026-11-28T12:00:07Z",
            "2026-11-28T12:00:00Z",
        ),
        10.0,
    );
    assert!(v.conformant, "{v}");
    // Instants across a second's boundary, 0.2 s apart: within a window of 0.5 s, not 0.1 s.
    let across = || {
        body(
            "2026-11-28T12:00:00.900Z",
            "2026-11-28T12:00:01.100Z",
            "2026-11-28T12:00:00.900Z",
        )
    };
    let v = run(across(), 0.5);
    assert!(v.conformant, "{v}");
    let v = run(across(), 0.1);
    assert_eq!(
        v.differences
            .iter()
            .map(|d| (d.pointer.as_str(), d.kind))
            .collect::<Vec<_>>(),
        [(
            "/body/mailboxRestoreArtifacts@delta/1/createdDateTime",
            DifferenceKind::Time
        )],
        "{v}"
    );
    let v = run(
        body("2026-11-28T12:00:00Z", "yesterday", "2026-11-28T12:00:00Z"),
        5.0,
    );
    assert_eq!(
        v.differences[0].pointer,
        "/body/mailboxRestoreArtifacts@delta/1/createdDateTime"
    );
}

#[test]
fn c3_bad_observed_answers_get_a_verdict() {
    let before =
        r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s","status":"draft"}"##;
    let session = Session::from_json(before.as_bytes()).unwrap();
    let request = br#"{"mailboxRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"}]}"#;
    let huge = vec![b'['; 2 * 1024 * 1024];
    for body in [
        &b"not json"[..],
        b"[]",
        b"{}",
        b"null",
        &huge[..],
        b"{\"mailboxRestoreArtifacts@delta\":7}",
    ] {
        let v = check(
            &session,
            request,
            &Options::default(),
            &Observed::new(200, Some(body)),
            &Settings::default(),
        );
        assert!(!v.conformant);
        assert!(!v.differences.is_empty());
    }
    let v = check(
        &session,
        request,
        &Options::default(),
        &Observed::new(204, None),
        &Settings::default(),
    );
    assert_eq!(v.differences[0].kind, DifferenceKind::Status);
    // A request the reference refuses: the observed answer must refuse it the same way.
    let refused = |answer: &[u8]| {
        let observed = Observed::new(400, Some(answer));
        check(
            &session,
            b"{",
            &Options::default(),
            &observed,
            &Settings::default(),
        )
    };
    let v = refused(br#"{"error":{"code":"InvalidPatchRequest","message":"bad"}}"#);
    assert!(v.conformant, "{v}");
    // Differences in a refusal name the rule that refused (here E2), as do those in its status.
    let v = refused(br#"{"error":{"code":"BadRequest","message":"bad"}}"#);
    assert_eq!(v.differences[0].rule, Some(RuleId::E2));
    assert_eq!(v.expected.refusal, Some(RuleId::E2));
    let v = check(
        &session,
        b"{",
        &Options::default(),
        &Observed::new(200, Some(b"{}")),
        &Settings::default(),
    );
    assert_eq!(v.differences[0].pointer, "/status");
    assert_eq!(v.differences[0].rule, Some(RuleId::E2));
}

/// Rule C3 under hostile answers: any bytes as the observed body or state, and a conformant
/// body cut short or with a byte changed, get a verdict, never a panic.
#[test]
fn c3_any_observed_bytes_get_a_verdict() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        0..cases.len(),
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<u16>(),
        any::<u8>(),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(k, noise, at, byte, as_state)| {
            let case = &cases[k];
            let before = Session::from_json(case.before.as_bytes()).unwrap();
            let mut body = case.body.clone().unwrap_or_default().into_bytes();
            if !body.is_empty() {
                let at = usize::from(at) % body.len();
                if byte % 3 == 0 {
                    body.truncate(at);
                } else {
                    body[at] = byte;
                }
            }
            for observed in [&body, &noise] {
                let mut o = Observed::new(case.status, Some(observed));
                if as_state {
                    o = o.with_state_after(observed);
                }
                for profile in PROFILES {
                    let settings = Settings::default().with_profile(profile);
                    let v = check(&before, &case.request, &case.options, &o, &settings);
                    prop_assert_eq!(v.conformant, v.differences.is_empty());
                }
            }
            Ok(())
        })
        .unwrap();
}

/// Rule C2's names: profiles and difference kinds read back from their names (the CLI's
/// `--profile` and `--ignore`), and nothing else.
#[test]
fn c2_profile_and_kind_names() {
    for p in PROFILES {
        assert_eq!(p.as_str().parse::<Profile>(), Ok(p));
    }
    assert_eq!(PROFILES.map(Profile::as_str), ["exact", "default", "docs"]);
    assert!("Exact".parse::<Profile>().is_err());
    assert!("".parse::<Profile>().is_err());
    let names: Vec<&str> = DifferenceKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "status", "not-json", "missing", "extra", "value", "time", "id", "message"
        ]
    );
    for k in DifferenceKind::ALL {
        assert_eq!(k.as_str().parse::<Ignore>(), Ok(Ignore::Kind(k)));
    }
    assert_eq!(
        "messages".parse::<Ignore>(),
        Ok(Ignore::Kind(DifferenceKind::Message))
    );
    assert_eq!("a4".parse::<Ignore>(), Ok(Ignore::Rule(RuleId::A4)));
}

/// Rule C1: an addition the server answered with A7's 500 (its id source gave nothing fresh)
/// is bound as an exhausted source for that addition only; the next addition binds its own id,
/// or is bound as exhausted in its turn.
#[test]
fn c1_an_exhausted_source_binds_one_addition_only() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let session = Session::from_json(before.as_bytes()).unwrap();
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"},{"restorePoint":{"id":"r2"},"destinationType":"new"}]}"#;
    let failed = |rp: &str| {
        json!({"restorePoint": {"id": rp}, "destinationType": "new",
        "@Core.DataModificationException": {"info": {"code": "InternalServerError",
        "message": "The id source yielded no id that is not already in the collection."},
        "failedOperation": "insert", "responseCode": 500}})
    };
    let judge = |body: Value| {
        check(
            &session,
            request,
            &Options::default(),
            &Observed::new(200, Some(body.to_string().as_bytes())),
            &Settings::default().with_profile(Profile::Exact),
        )
    };
    let added = json!({"id": "srv-2", "restorePoint": {"id": "r2"}, "destinationType": "new",
        "status": "added", "createdDateTime": "2026-11-28T12:00:00Z"});
    let v = judge(
        json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession",
        "id": "s", "status": "draft", "restoreJobType": "standard",
        "lastModifiedDateTime": "2026-11-28T12:00:00Z",
        "driveRestoreArtifacts@delta": [failed("r1"), added]}),
    );
    assert!(v.conformant, "{v}");
    assert_eq!(v.binding.ids, ["srv-2"]);
    let v = judge(
        json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession",
        "id": "s", "status": "draft", "driveRestoreArtifacts@delta": [failed("r1"), failed("r2")]}),
    );
    assert!(v.conformant, "{v}");
    assert!(v.binding.ids.is_empty(), "{:?}", v.binding.ids);
}

/// Rule C1 with many exhausted additions in a row: each is bound as an exhausted source for
/// its own draws only (rule A7's 16), so after 16 of them the next addition still takes its
/// own bound id; no empty id is left over for it.
#[test]
fn c1_sixteen_exhausted_additions_leave_the_next_its_own_id() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let session = Session::from_json(before.as_bytes()).unwrap();
    let items: Vec<Value> = (0..17)
        .map(|i| json!({"restorePoint": {"id": format!("r{i}")}, "destinationType": "new"}))
        .collect();
    let request = json!({"driveRestoreArtifacts@delta": items}).to_string();
    let mut entries: Vec<Value> = (0..16)
        .map(|i| {
            json!({"restorePoint": {"id": format!("r{i}")}, "destinationType": "new",
            "@Core.DataModificationException": {"info": {"code": "InternalServerError",
            "message": "The id source yielded no id that is not already in the collection."},
            "failedOperation": "insert", "responseCode": 500}})
        })
        .collect();
    entries.push(
        json!({"id": "srv-16", "restorePoint": {"id": "r16"}, "destinationType": "new",
        "status": "added", "createdDateTime": "2026-11-28T12:00:00Z"}),
    );
    let body = json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession",
        "id": "s", "status": "draft", "restoreJobType": "standard",
        "lastModifiedDateTime": "2026-11-28T12:00:00Z", "driveRestoreArtifacts@delta": entries});
    let v = check(
        &session,
        request.as_bytes(),
        &Options::default(),
        &Observed::new(200, Some(body.to_string().as_bytes())),
        &Settings::default().with_profile(Profile::Exact),
    );
    assert!(v.conformant, "{v}");
    assert_eq!(v.binding.ids, ["srv-16"]);
    assert!(
        matches!(&v.expected.outcomes[16], ItemOutcome::Added { id, .. } if id.as_str() == "srv-16"),
        "{:?}",
        v.expected.outcomes[16]
    );
}

/// Rule C3's size bound: a body of exactly `max_body_bytes` is read; one byte more is not.
#[test]
fn c3_the_body_limit_is_inclusive() {
    let before =
        r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s","status":"draft"}"##;
    let session = Session::from_json(before.as_bytes()).unwrap();
    let request = br#"{"mailboxRestoreArtifacts@delta":[{"@removed":{},"id":"x"}]}"#;
    let body = br#"{"error":{"code":"X"}}"#;
    let run = |limit: usize| {
        let mut settings = Settings::default();
        settings.max_body_bytes = limit;
        check(
            &session,
            request,
            &Options::default(),
            &Observed::new(200, Some(body)),
            &settings,
        )
    };
    let read = run(body.len());
    assert!(
        read.differences
            .iter()
            .all(|d| d.kind != DifferenceKind::NotJson),
        "{read}"
    );
    let unread = run(body.len() - 1);
    assert_eq!(
        (
            unread.differences[0].pointer.as_str(),
            unread.differences[0].kind
        ),
        ("/body", DifferenceKind::NotJson)
    );
}

/// The reference's answer to `request` on the state `before` (ids from seed 3, the clock at
/// 2026-11-28T12:00:00Z).
fn reference_answer(before: &str, request: &[u8], options: &Options) -> Applied {
    let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
    let session = Session::from_json(before.as_bytes()).unwrap();
    apply(
        session,
        request,
        options,
        &mut Context::new(now, SeededIds::new(3)),
    )
}

/// An answer's body and state after, as JSON values.
fn body_and_state(a: Applied) -> (Value, Value) {
    let body =
        serde_json::from_str(&a.answer.response.body.expect("a body").into_string()).unwrap();
    (body, serde_json::from_str(&a.state.to_json()).unwrap())
}

/// `check` of an observed answer to `request` on the state `before`, with default options.
fn check_answer(
    before: &str,
    request: &[u8],
    observed: &Observed<'_>,
    settings: &Settings,
) -> Verdict {
    let session = Session::from_json(before.as_bytes()).unwrap();
    check(&session, request, &Options::default(), observed, settings)
}

/// The verdict is conformant with one difference tolerated, or (`tolerated` false) not
/// conformant with none tolerated.
fn assert_tolerated_once(v: &Verdict, tolerated: bool, what: &str) {
    assert_eq!(
        (v.conformant, v.tolerated.len()),
        (tolerated, usize::from(tolerated)),
        "{what}: {v}"
    );
}

/// Rule C1 when the first round's answer is taken as it is: each addition's outcome carries
/// its own bound id, in order, and a request string that only starts like a placeholder
/// (`\u0001unbound-` and no number) is echoed as it was sent.
#[test]
fn c1_a_first_round_answer_carries_the_bound_ids_in_order() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"},{"restorePoint":{"id":"\u0001unbound-x"},"destinationType":"new"}]}"#;
    let a = reference_answer(before, request, &Options::default());
    let mut body = a.answer.response.body.expect("a 200 body").into_string();
    assert!(body.contains(r#""\u0001unbound-x""#), "{body}");
    let mut renamed = Vec::new();
    for (n, o) in a.answer.outcomes.iter().enumerate() {
        let ItemOutcome::Added { id, .. } = o else {
            panic!("{o:?}")
        };
        let server = format!("srv-{n}");
        body = body.replace(id.as_str(), &server);
        renamed.push(server);
    }
    let v = check_answer(
        before,
        request,
        &Observed::new(200, Some(body.as_bytes())),
        &Settings::default().with_profile(Profile::Exact),
    );
    assert!(v.conformant, "{v}");
    assert_eq!(v.binding.ids, renamed);
    let added: Vec<&str> = v
        .expected
        .outcomes
        .iter()
        .map(|o| match o {
            ItemOutcome::Added { id, .. } => id.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(added, renamed);
}

/// Rule C1 from the state after alone (a 204): an id the request removed is fresh again (rule
/// A7), so a server that gives it to the next addition is bound to it, not found wanting.
#[test]
fn c1_a_removed_id_given_again_is_bound_from_the_state_after() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft",
        "driveRestoreArtifacts":[{"id":"a1","restorePoint":{"id":"rp-1"},"destinationType":"new","status":"added"}]}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"@removed":{"reason":"changed"},"id":"a1"},{"restorePoint":{"id":"rp-2"},"destinationType":"new"}]}"#;
    let options = Options::default().with_prefer("return=minimal");
    let a = reference_answer(before, request, &options);
    assert_eq!(
        (a.answer.response.status, a.answer.outcomes.len()),
        (204, 2)
    );
    let ItemOutcome::Added { id, .. } = &a.answer.outcomes[1] else {
        panic!("{:?}", a.answer.outcomes)
    };
    let state_after = a.state.to_json().replace(id.as_str(), "a1");
    let observed = Observed::new(204, None).with_state_after(state_after.as_bytes());
    let session = Session::from_json(before.as_bytes()).unwrap();
    let v = check(&session, request, &options, &observed, &Settings::default());
    assert!(v.conformant, "{v}");
    assert_eq!(v.binding.ids, ["a1"]);
}

/// Each difference names the rule that decided the expected value where it was found: the
/// status, session members the request writes (O6, E9, O7), other members of the body (O3) or
/// of the state (S4), a delta entry (its outcome's rule) and a stored artifact (D4).
#[test]
fn c3_a_difference_names_the_rule_of_its_place() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"}]}"#;
    let (body, state) = body_and_state(reference_answer(before, request, &Options::default()));
    let first = |status: u16, body: &Value, state: &Value| {
        let (body, state) = (body.to_string(), state.to_string());
        let observed =
            Observed::new(status, Some(body.as_bytes())).with_state_after(state.as_bytes());
        let settings = Settings::default().with_profile(Profile::Exact);
        let v = check_answer(before, request, &observed, &settings);
        assert_eq!(v.differences.len(), 1, "{v}");
        (v.differences[0].pointer.clone(), v.differences[0].rule)
    };
    assert_eq!(
        first(201, &body, &state),
        ("/status".into(), Some(RuleId::O3))
    );
    for (member, value, in_body, in_state) in [
        ("restoreJobType", json!("granular"), RuleId::E9, RuleId::E9),
        ("status", json!("active"), RuleId::O7, RuleId::O7),
        (
            "lastModifiedDateTime",
            json!("2026-11-28T13:00:00Z"),
            RuleId::O6,
            RuleId::O6,
        ),
        ("displayName", json!("x"), RuleId::O3, RuleId::S4),
    ] {
        let mut changed = body.clone();
        changed[member] = value.clone();
        let at = format!("/body/{member}");
        assert_eq!(first(200, &changed, &state), (at, Some(in_body)));
        let mut changed = state.clone();
        changed[member] = value;
        let at = format!("/state/{member}");
        assert_eq!(first(200, &body, &changed), (at, Some(in_state)));
    }
    let mut changed = body.clone();
    changed["driveRestoreArtifacts@delta"][0]["status"] = json!("x");
    let at = "/body/driveRestoreArtifacts@delta/0/status".to_owned();
    assert_eq!(first(200, &changed, &state), (at, Some(RuleId::A7)));
    let mut changed = state.clone();
    changed["driveRestoreArtifacts"][0]["status"] = json!("x");
    let at = "/state/driveRestoreArtifacts/0/status".to_owned();
    assert_eq!(first(200, &body, &changed), (at, Some(RuleId::D4)));
    // No body where one is expected: the body is missing (the status's rule).
    let exact = Settings::default().with_profile(Profile::Exact);
    let v = check_answer(before, request, &Observed::new(200, None), &exact);
    let d = &v.differences[0];
    assert_eq!(
        (d.pointer.as_str(), d.kind, d.rule),
        ("/body", DifferenceKind::Missing, Some(RuleId::O3)),
        "{v}"
    );
    // Ignoring a kind tolerates the differences of that kind, and only those.
    let mut changed = body.clone();
    changed["restoreJobType"] = json!("granular");
    let changed = changed.to_string();
    let observed = Observed::new(200, Some(changed.as_bytes()));
    for (kind, tolerated) in [
        (DifferenceKind::Value, true),
        (DifferenceKind::Extra, false),
    ] {
        let settings = exact.clone().ignoring(Ignore::Kind(kind));
        let v = check_answer(before, request, &observed, &settings);
        assert_tolerated_once(&v, tolerated, &format!("ignoring {kind:?}"));
    }
}

/// Rule C2 under the docs profile: a successful removal the observed delta leaves out is
/// matched with nothing, and the next removal's entry with that removal, not with the one
/// left out.
#[test]
fn c2_docs_matches_a_removal_entry_with_its_own_removal() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft",
        "driveRestoreArtifacts":[{"id":"a1","restorePoint":{"id":"rp-1"},"destinationType":"new","status":"added"},
                                 {"id":"a2","restorePoint":{"id":"rp-2"},"destinationType":"new","status":"added"}]}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"@removed":{"reason":"changed"},"id":"a1"},{"@removed":{"reason":"changed"},"id":"a2"}]}"#;
    let (mut body, _) = body_and_state(reference_answer(before, request, &Options::default()));
    let entries = body["driveRestoreArtifacts@delta"].as_array_mut().unwrap();
    assert_eq!(entries.len(), 2);
    entries.remove(0);
    let body = body.to_string();
    let observed = Observed::new(200, Some(body.as_bytes()));
    let docs = Settings::default().with_profile(Profile::Docs);
    let v = check_answer(before, request, &observed, &docs);
    assert!(v.conformant, "{v}");
    assert!(!v.tolerated.is_empty());
    let exact = Settings::default().with_profile(Profile::Exact);
    let v = check_answer(before, request, &observed, &exact);
    assert!(!v.conformant);
}

/// Rule C2: an extra member of a returned artifact (an added entry of the body, or an artifact
/// of the state after) that is a property of its artifact type holding its default (`null`,
/// `""`, `0`, `0001-01-01T00:00:00Z`, by the property's type) is tolerated outside the exact
/// profile; another value, a property of another artifact type, or the same member on a
/// removal's entry is not.
#[test]
fn c2_schema_defaults_are_tolerated_on_returned_artifacts_only() {
    let default = Settings::default().with_profile(Profile::Default);
    let drive = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft",
        "driveRestoreArtifacts":[{"id":"a1","restorePoint":{"id":"rp-1"},"destinationType":"new","status":"added"}]}"##;
    let mailbox =
        r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s","status":"draft"}"##;
    let add_drive: &[u8] =
        br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"rp-2"},"destinationType":"new"}]}"#;
    let add_mailbox: &[u8] =
        br#"{"mailboxRestoreArtifacts@delta":[{"restorePoint":{"id":"rp-2"},"destinationType":"new"}]}"#;
    let remove_drive: &[u8] =
        br#"{"driveRestoreArtifacts@delta":[{"@removed":{"reason":"changed"},"id":"a1"}]}"#;
    let zero_time = json!("0001-01-01T00:00:00Z");
    let cases = [
        // An added drive artifact, in the body and in the state after.
        (
            drive,
            add_drive,
            "completionDateTime",
            Value::Null,
            "body",
            true,
        ),
        (
            drive,
            add_drive,
            "startDateTime",
            zero_time.clone(),
            "body",
            true,
        ),
        (
            drive,
            add_drive,
            "restoredSiteName",
            json!(""),
            "body",
            true,
        ),
        (
            drive,
            add_drive,
            "restoredSiteName",
            json!("x"),
            "body",
            false,
        ),
        (
            drive,
            add_drive,
            "restoredSiteId",
            Value::Null,
            "state",
            true,
        ),
        // A mailbox artifact's own properties, by their types.
        (
            mailbox,
            add_mailbox,
            "restoredFolderId",
            Value::Null,
            "body",
            true,
        ),
        (
            mailbox,
            add_mailbox,
            "restoredItemCount",
            json!(0),
            "body",
            true,
        ),
        (
            mailbox,
            add_mailbox,
            "restoredItemCount",
            json!(3),
            "body",
            false,
        ),
        (mailbox, add_mailbox, "error", json!(0), "body", false),
        (mailbox, add_mailbox, "error", zero_time, "body", false),
        // A granular mailbox artifact's property that a mailbox artifact does not have.
        (
            mailbox,
            add_mailbox,
            "artifactCount",
            Value::Null,
            "body",
            false,
        ),
        // A removal's entry is not a returned artifact.
        (
            drive,
            remove_drive,
            "completionDateTime",
            Value::Null,
            "body",
            false,
        ),
    ];
    for (before, request, member, value, place, tolerated) in cases {
        let (mut body, mut state) =
            body_and_state(reference_answer(before, request, &Options::default()));
        let artifact = if place == "body" {
            let delta = body
                .as_object()
                .unwrap()
                .keys()
                .find(|k| k.ends_with("@delta"))
                .unwrap()
                .clone();
            &mut body[delta][0]
        } else {
            &mut state["driveRestoreArtifacts"][1]
        };
        let what = format!("{member}: {value} in the {place}");
        artifact[member] = value;
        let (body, state) = (body.to_string(), state.to_string());
        let observed = Observed::new(200, Some(body.as_bytes())).with_state_after(state.as_bytes());
        let v = check_answer(before, request, &observed, &default);
        assert_tolerated_once(&v, tolerated, &what);
    }
}

/// A verdict reads as one JSON document and as a short report.
#[test]
fn c3_a_verdict_reads_as_json_and_as_text() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"}]}"#;
    let a = reference_answer(before, request, &Options::default());
    let ItemOutcome::Added { id, .. } = a.answer.outcomes[0].clone() else {
        panic!("{:?}", a.answer.outcomes)
    };
    let (mut body, _) = body_and_state(a);
    // Values are shown up to 80 characters of JSON text: these two are 80 and 102 long.
    let (job, status) = ("g".repeat(78), "s".repeat(100));
    body["restoreJobType"] = json!(job);
    body["status"] = json!(status);
    body["displayName"] = json!("x");
    let body = body.to_string();
    let observed = Observed::new(200, Some(body.as_bytes()));
    let settings = Settings::default()
        .with_profile(Profile::Exact)
        .ignoring(Ignore::Kind(DifferenceKind::Extra));
    let v = check_answer(before, request, &observed, &settings);
    assert_eq!(
        v.to_json(),
        json!({
            "conformant": false,
            "differences": [
                {"pointer": "/body/status", "kind": "value", "expected": "draft",
                 "observed": status, "rule": "O7"},
                {"pointer": "/body/restoreJobType", "kind": "value", "expected": "standard",
                 "observed": job, "rule": "E9"},
            ],
            "tolerated": [{"pointer": "/body/displayName", "kind": "extra", "expected": null,
                           "observed": "x", "rule": "O3", "reason": "ignored: extra"}],
            "binding": {"ids": [id], "now": "2026-11-28T12:00:00Z", "actor": null,
                        "createdBy": null, "innerError": null},
            "expected": {"status": 200, "preferenceApplied": null},
        })
    );
    assert_eq!(
        v.to_string(),
        format!(
            "NOT conformant: 2 difference(s) (1 tolerated)\n  \
             /body/status value [O7]: expected \"draft\", observed \"{}…\n  \
             /body/restoreJobType value [E9]: expected \"standard\", observed \"{job}\"",
            "s".repeat(79)
        )
    );
}

/// Rule C1 over more than one binding round (a removal of an id the session lacks could turn
/// around with the bound ids): an addition answered with A7's 500 stays bound as an exhausted
/// source in the next round, so the rounds settle on the observed answer, with one to four such
/// removals before the additions (were the 500 not read as the addition's draw, the bound ids
/// would swing from round to round, and the round the guard stops at would decide).
#[test]
fn c1_an_exhausted_source_stays_bound_in_later_rounds() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
    for ghosts in 1..=4 {
        let mut items: Vec<String> = (0..ghosts)
            .map(|g| format!(r#"{{"@removed":{{"reason":"changed"}},"id":"ghost-{g}"}}"#))
            .collect();
        items.push(r#"{"restorePoint":{"id":"r1"},"destinationType":"new"}"#.to_owned());
        items.push(r#"{"restorePoint":{"id":"r2"},"destinationType":"new"}"#.to_owned());
        let request = format!(r#"{{"driveRestoreArtifacts@delta":[{}]}}"#, items.join(","));
        // The first addition's draws are all empty (refused), the second's first is srv-2.
        let mut drawn = 0;
        let ids = || {
            drawn += 1;
            if drawn > 16 {
                "srv-2".to_owned()
            } else {
                String::new()
            }
        };
        let session = Session::from_json(before.as_bytes()).unwrap();
        let a = apply(
            session,
            request.as_bytes(),
            &Options::default(),
            &mut Context::new(now, ids),
        );
        assert!(
            matches!(&a.answer.outcomes[ghosts], ItemOutcome::Failed(f) if f.status == 500),
            "{:?}",
            a.answer.outcomes
        );
        let body = a.answer.response.body.expect("a 200 body").into_string();
        let observed = Observed::new(200, Some(body.as_bytes()));
        let v = check_answer(
            before,
            request.as_bytes(),
            &observed,
            &Settings::default().with_profile(Profile::Exact),
        );
        assert!(v.conformant, "{ghosts} removals: {v}");
        assert_eq!(v.binding.ids, ["srv-2"], "{ghosts} removals");
    }
}

/// Rule C3 on values the session carries: numbers compare by value (`1.0` is `1`), and only
/// the messages Graph leaves to the server (`error.message`, a failed item's
/// `info.message`, `error.details[i].message`) are free; a `message` anywhere else is data.
#[test]
fn c3_numbers_by_value_and_only_graph_messages_are_free() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft","n":1,"info":{"message":"kept"},"details":[{"message":"kept"}],"driveRestoreArtifacts":[{"id":"a1","restorePoint":{"id":"r1"},"destinationType":"new","status":"added"}]}"##;
    let request =
        br#"{"driveRestoreArtifacts@delta":[{"@removed":{"reason":"changed"},"id":"a1"}]}"#;
    let (body, _) = body_and_state(reference_answer(before, request, &Options::default()));
    let judge = |body: &Value| {
        let text = body.to_string();
        let v = check_answer(
            before,
            request,
            &Observed::new(200, Some(text.as_bytes())),
            &Settings::default(),
        );
        let mut at: Vec<String> = v.differences.iter().map(|d| d.pointer.clone()).collect();
        at.sort();
        at
    };
    assert_eq!(judge(&body), Vec::<String>::new());
    let mut as_float = body.clone();
    as_float["n"] = json!(1.0);
    assert_eq!(judge(&as_float), Vec::<String>::new(), "1.0 is 1");
    as_float["n"] = json!(2.0);
    assert_eq!(judge(&as_float), ["/body/n"]);
    let mut changed = body.clone();
    changed["info"]["message"] = json!("changed");
    changed["details"][0]["message"] = json!("changed");
    assert_eq!(
        judge(&changed),
        ["/body/details/0/message", "/body/info/message"]
    );
}

/// Rule C1 (issue 20): a client's own string spelled exactly like a placeholder
/// (`\u0001unbound-1`), echoed in an `@contentId` and in a failed addition, is compared as the
/// client sent it, not rewritten into the first bound id.
#[test]
fn c1_a_client_string_spelled_like_a_placeholder_is_echoed_as_sent() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"@contentId":"\u0001unbound-1","restorePoint":{"id":"r1"},"destinationType":"new"},{"restorePoint":{"id":"\u0001unbound-1"},"destinationType":"old"}]}"#;
    placeholder_shaped_text_is_echoed(before, request, 2);
}

/// Rule C3 (issue 20): a difference in an echoed content id is rule O4's (the echo), not the
/// rule of the item's outcome.
#[test]
fn c3_a_changed_content_id_is_o4_s() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"@contentId":"c1","restorePoint":{"id":"r1"},"destinationType":"new"},{"@Core.ContentID":"c2","@removed":{},"id":"nope"}]}"#;
    let a = reference_answer(before, request, &Options::default());
    let body = a.answer.response.body.expect("a 200 body").into_string();
    for (from, to, at) in [
        (
            r#""@contentId":"c1""#,
            r#""@contentId":"c9""#,
            "/body/driveRestoreArtifacts@delta/0/@contentId",
        ),
        (
            r#""@Core.ContentID":"c2""#,
            r#""@Core.ContentID":"c8""#,
            "/body/driveRestoreArtifacts@delta/1/@Core.ContentID",
        ),
        (
            r#""@contentId":"c1","#,
            "",
            "/body/driveRestoreArtifacts@delta/0/@contentId",
        ),
    ] {
        assert!(body.contains(from), "{body}");
        let changed = body.replace(from, to);
        let v = check_answer(
            before,
            request,
            &Observed::new(200, Some(changed.as_bytes())),
            &Settings::default(),
        );
        assert_eq!(v.differences.len(), 1, "{v}");
        assert_eq!(v.differences[0].pointer, at, "{v}");
        assert_eq!(v.differences[0].rule, Some(RuleId::O4), "{v}");
    }
}

/// Rule C1: Graph's `innerError` on an error answer is the server's free choice in every
/// profile, listed in the binding; one that is not an object is a difference (rule O2).
#[test]
fn c1_inner_error_is_free_when_it_is_an_object() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[]}"#;
    let a = reference_answer(before, request, &Options::default());
    let mut body: Value =
        serde_json::from_str(&a.answer.response.body.expect("an error body").into_string())
            .unwrap();
    let inner = json!({"date": "2026-11-28T12:00:01", "request-id": "r-1", "client-request-id": "c-1", "more": "x"});
    body["error"]["innerError"] = inner.clone();
    for profile in [Profile::Exact, Profile::Default, Profile::Docs] {
        let text = body.to_string();
        let v = check_answer(
            before,
            request,
            &Observed::new(400, Some(text.as_bytes())),
            &Settings::default().with_profile(profile),
        );
        assert!(v.conformant && v.tolerated.is_empty(), "{profile:?}: {v}");
        assert_eq!(v.binding.inner_error, Some(inner.clone()));
        assert_eq!(v.to_json()["binding"]["innerError"], inner);
    }
    for bad in [json!("r-1"), json!(null), json!([1])] {
        body["error"]["innerError"] = bad.clone();
        let text = body.to_string();
        let v = check_answer(
            before,
            request,
            &Observed::new(400, Some(text.as_bytes())),
            &Settings::default().with_profile(Profile::Docs),
        );
        assert!(!v.conformant, "{bad}: {v}");
        assert_eq!(v.differences[0].pointer, "/body/error/innerError");
        assert_eq!(v.differences[0].rule, Some(RuleId::O2));
        assert_eq!(v.binding.inner_error, None);
    }
}

/// Rule C1: the caller's identity as `createdBy` is the server's, in the body and the state
/// after, in every profile, and listed in the binding; a `createdBy` that is not an object is
/// a difference.
#[test]
fn c1_created_by_is_the_server_s_identity() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft",
        "createdBy":{"user":{"id":"u1"}}}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"@removed":{},"id":"nope"}]}"#;
    let (mut body, mut state) =
        body_and_state(reference_answer(before, request, &Options::default()));
    let server = json!({"application": {"id": "app", "displayName": "srv"}});
    body["createdBy"] = server.clone();
    state["createdBy"] = server.clone();
    let (b, s) = (body.to_string(), state.to_string());
    for profile in [Profile::Exact, Profile::Default, Profile::Docs] {
        let v = check_answer(
            before,
            request,
            &Observed::new(200, Some(b.as_bytes())).with_state_after(s.as_bytes()),
            &Settings::default().with_profile(profile),
        );
        assert!(v.conformant && v.tolerated.is_empty(), "{profile:?}: {v}");
        assert_eq!(v.binding.created_by, Some(server.clone()));
    }
    // On a state without one, the server's own is not extra either.
    let bare = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let v = check_answer(
        bare,
        request,
        &Observed::new(200, Some(b.as_bytes())),
        &Settings::default().with_profile(Profile::Exact),
    );
    assert!(v.conformant, "{v}");
    body["createdBy"] = json!("srv");
    let b = body.to_string();
    let v = check_answer(
        before,
        request,
        &Observed::new(200, Some(b.as_bytes())),
        &Settings::default(),
    );
    assert_eq!(
        v.differences
            .iter()
            .map(|d| d.pointer.as_str())
            .collect::<Vec<_>>(),
        ["/body/createdBy"],
        "{v}"
    );
    // Another object member the answer adds at the top is extra, not an identity.
    body["createdBy"] = server.clone();
    body["extra"] = json!({"user": {"id": "u2"}});
    let b = body.to_string();
    let v = check_answer(
        before,
        request,
        &Observed::new(200, Some(b.as_bytes())),
        &Settings::default(),
    );
    let found: Vec<(&str, DifferenceKind)> = v
        .differences
        .iter()
        .map(|d| (d.pointer.as_str(), d.kind))
        .collect();
    assert_eq!(found, [("/body/extra", DifferenceKind::Extra)], "{v}");
    assert_eq!(v.binding.created_by, Some(server));
}

/// Rule O8 through the check: `Preference-Applied` is judged when observed (a missing header
/// observed as absent), as a set of preferences; not judged when not observed.
#[test]
fn c3_preference_applied_is_judged_when_observed() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"}]}"#;
    let session = Session::from_json(before.as_bytes()).unwrap();
    let judge = |prefer: &str, status: u16, body: Option<&str>, header: Option<Option<&str>>| {
        let options = Options::default().with_prefer(prefer);
        let a = apply(
            session.clone(),
            request,
            &options,
            &mut Context::new(
                Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap(),
                SeededIds::new(3),
            ),
        );
        let text = a.answer.response.body.map(restore_delta::Body::into_string);
        let body = body.map(str::to_owned).or(text);
        let mut observed = Observed::new(status, body.as_deref().map(str::as_bytes));
        if let Some(h) = header {
            observed = observed.with_preference_applied(h);
        }
        check(
            &session,
            request,
            &options,
            &observed,
            &Settings::default().with_profile(Profile::Exact),
        )
    };
    let v = judge("return=minimal", 204, None, Some(Some("return=minimal")));
    assert!(v.conformant, "{v}");
    assert_eq!(
        v.expected.preference_applied.as_deref(),
        Some("return=minimal")
    );
    let v = judge("return=minimal", 204, None, Some(None));
    assert!(!v.conformant);
    assert_eq!(
        (
            v.differences[0].pointer.as_str(),
            v.differences[0].kind,
            v.differences[0].rule
        ),
        (
            "/headers/Preference-Applied",
            DifferenceKind::Missing,
            Some(RuleId::O8)
        )
    );
    // Not observed: not judged.
    assert!(judge("return=minimal", 204, None, None).conformant);
    // Several preferences in another order, other case, a quoted value: the same set.
    let v = judge(
        "return=representation, odata.continue-on-error",
        200,
        None,
        Some(Some("ODATA.CONTINUE-ON-ERROR , return=\"representation\"")),
    );
    assert!(v.conformant, "{v}");
    let v = judge("", 200, None, Some(Some("return=representation")));
    assert_eq!(v.differences[0].kind, DifferenceKind::Extra, "{v}");
    let v = judge(
        "return=representation",
        200,
        None,
        Some(Some("return=minimal")),
    );
    assert_eq!(v.differences[0].kind, DifferenceKind::Value, "{v}");
    // A refused request names no preference.
    let refused = br#"{"driveRestoreArtifacts@delta":[]}"#;
    let options = Options::default().with_prefer("return=minimal");
    let v = check(
        &session,
        refused,
        &options,
        &Observed::new(400, Some(b"{}")).with_preference_applied(Some("return=minimal")),
        &Settings::default(),
    );
    assert_eq!(v.expected.preference_applied, None);
    assert!(
        v.differences
            .iter()
            .any(|d| d.pointer == "/headers/Preference-Applied" && d.kind == DifferenceKind::Extra),
        "{v}"
    );
}

/// The check's fast path (an answer spelled as the reference spells it, read in step with the
/// reference's text) gives the verdict the walk of both trees gives: the same answer written
/// with white space between its tokens (which only the walk accepts) is judged the same, with
/// the same binding and the same expected answer, for every vector, as another server would
/// answer it and with one change made (`mutations`).
#[test]
fn c1_the_fast_path_and_the_walk_agree() {
    let spaced = |text: &str| -> String {
        let v: Value = serde_json::from_str(text).unwrap();
        serde_json::to_string_pretty(&v).unwrap()
    };
    let mut fast_and_conformant = 0;
    for case in cases() {
        let Some(body) = case.body.as_deref().map(|b| as_another_server(&case, b)) else {
            continue;
        };
        let mut answers = vec![body.clone()];
        let parsed: Value = serde_json::from_str(&body).unwrap();
        answers.extend(
            mutations(&parsed)
                .into_iter()
                .map(|(_, v, _)| v.to_string()),
        );
        for answer in answers {
            let settings = Settings::default().with_profile(Profile::Exact);
            let quick = judge(&case, Some(&answer), None, &settings);
            let walked = judge(&case, Some(&spaced(&answer)), None, &settings);
            let what = format!("{}: {answer}", case.name);
            assert_eq!(
                quick.conformant, walked.conformant,
                "{what}\n{quick}\n{walked}"
            );
            assert_eq!(quick.binding, walked.binding, "{what}");
            assert_eq!(quick.expected, walked.expected, "{what}");
            assert_eq!(
                quick
                    .differences
                    .iter()
                    .map(|d| (&d.pointer, d.kind))
                    .collect::<Vec<_>>(),
                walked
                    .differences
                    .iter()
                    .map(|d| (&d.pointer, d.kind))
                    .collect::<Vec<_>>(),
                "{what}"
            );
            fast_and_conformant += usize::from(quick.conformant);
        }
    }
    assert!(fast_and_conformant > 100, "{fast_and_conformant}");
}

/// Rule C1 on the fast path: instants stamped more than the window apart are a difference,
/// compact or not.
#[test]
fn c1_instants_apart_by_more_than_the_window_are_a_difference_on_either_path() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"},{"restorePoint":{"id":"r2"},"destinationType":"new"}]}"#;
    let a = reference_answer(before, request, &Options::default());
    let body = a.answer.response.body.expect("a body").into_string();
    let at = body.rfind("2026-11-28T12:00:00Z").unwrap();
    let mut apart = body.clone();
    apart.replace_range(at..at + 20, "2026-11-28T12:00:06Z");
    let mut near = body.clone();
    near.replace_range(at..at + 20, "2026-11-28T12:00:04.9Z");
    for (text, conformant) in [(apart, false), (near, true)] {
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(&text).unwrap()).unwrap();
        for answer in [&text, &pretty] {
            let v = check_answer(
                before,
                request,
                &Observed::new(200, Some(answer.as_bytes())),
                &Settings::default(),
            );
            assert_eq!(v.conformant, conformant, "{answer}\n{v}");
        }
    }
}

/// Rule C1: the caller's identity the answer writes is listed in the binding, whether the
/// first round's answer is taken (no state after) or the request is decided again (a state
/// after given, or an atomic refusal); an answer that changed nothing binds none.
#[test]
fn c1_the_identity_is_listed_in_the_binding_on_either_path() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let session = Session::from_json(before.as_bytes()).unwrap();
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"}]}"#;
    // The second identity holds arrays (of several items, nested): written back in the
    // answer's order, with its commas.
    for who in [
        json!({"application": {"id": "app-1", "displayName": "tester"}}),
        json!({"application": {"id": "app-1", "roles": ["a", "b", ["c", "d"], []]}}),
    ] {
        identity_listed_in_the_binding(&session, request, &who);
    }
}

/// Checks an answer (and, on the second path, a state after) whose `lastModifiedBy` is `who`:
/// conformant, `who` listed as the actor, on either path.
fn identity_listed_in_the_binding(session: &Session, request: &[u8], who: &Value) {
    let entry = json!({"id": "n1", "restorePoint": {"id": "r1"}, "destinationType": "new",
        "status": "added", "createdDateTime": "2026-11-28T12:00:00Z"});
    let body = json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession", "id": "s",
        "status": "draft", "restoreJobType": "standard", "lastModifiedDateTime": "2026-11-28T12:00:00Z", "lastModifiedBy": who,
        "driveRestoreArtifacts@delta": [entry]})
    .to_string();
    let after = json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession", "id": "s",
        "status": "draft", "restoreJobType": "standard", "lastModifiedDateTime": "2026-11-28T12:00:00Z", "lastModifiedBy": who,
        "driveRestoreArtifacts": [entry]});
    let after = after.to_string();
    let fast = Observed::new(200, Some(body.as_bytes()));
    let slow = Observed::new(200, Some(body.as_bytes())).with_state_after(after.as_bytes());
    for (path, observed) in [("first round", fast), ("decided again", slow)] {
        let v = check(
            session,
            request,
            &Options::default(),
            &observed,
            &Settings::default(),
        );
        assert!(v.conformant, "{path}: {v}");
        assert_eq!(v.binding.actor.as_ref(), Some(who), "{path}");
        assert_eq!(v.binding.ids, ["n1"], "{path}");
    }
}

/// Rule C3 (issue 20): the messages of an atomic refusal's `error.details[i]` are the
/// server's to word, as `error.message` is: another wording of each is conformant under the
/// default profile and a `message` difference under `exact`.
#[test]
fn c3_the_messages_of_an_atomic_refusals_details_are_free() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft","driveRestoreArtifacts":[{"id":"a1","restorePoint":{"id":"r1"},"destinationType":"new","status":"added"}]}"##;
    let request = br#"{"driveRestoreArtifacts@delta":[{"@removed":{"reason":"changed"},"id":"nope"},{"restorePoint":{"id":"r1"},"destinationType":"new"}]}"#;
    let options = Options::default().with_atomic(true);
    let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
    let session = Session::from_json(before.as_bytes()).unwrap();
    let reference = apply(
        session.clone(),
        request,
        &options,
        &mut Context::new(now, SeededIds::new(3)),
    );
    let (mut body, _) = body_and_state(reference);
    assert_eq!(
        body["error"]["details"].as_array().map(Vec::len),
        Some(2),
        "{body}"
    );
    body["error"]["details"][0]["message"] = json!("Worded otherwise.");
    body["error"]["details"][1]["message"] = json!("Also worded otherwise.");
    let text = body.to_string();
    let observed = Observed::new(409, Some(text.as_bytes()));
    let v = check(&session, request, &options, &observed, &Settings::default());
    assert!(v.conformant && v.differences.is_empty(), "{v}");
    let exact = Settings::default().with_profile(Profile::Exact);
    let v = check(&session, request, &options, &observed, &exact);
    let mut at: Vec<(&str, DifferenceKind)> = v
        .differences
        .iter()
        .map(|d| (d.pointer.as_str(), d.kind))
        .collect();
    at.sort_by_key(|(p, _)| *p);
    assert_eq!(
        at,
        [
            ("/body/error/details/0/message", DifferenceKind::Message),
            ("/body/error/details/1/message", DifferenceKind::Message)
        ],
        "{v}"
    );
}

/// Rule C1: an added entry the answer gives without its `id` binds no id, even when a state
/// after holds the new artifact: the answer's own entries are what binds (the state after
/// binds only when the answer has no entries), so the missing `id` is a difference and the
/// state after's artifact is compared with an id bound to nothing.
#[test]
fn c1_an_entry_without_its_id_binds_none_from_the_state_after() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let session = Session::from_json(before.as_bytes()).unwrap();
    let request = br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"}]}"#;
    let entry = json!({"id": "n1", "restorePoint": {"id": "r1"}, "destinationType": "new",
        "status": "added", "createdDateTime": "2026-11-28T12:00:00Z"});
    let mut without_id = entry.clone();
    without_id.as_object_mut().unwrap().remove("id");
    let body = json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession", "id": "s",
        "status": "draft", "restoreJobType": "standard", "lastModifiedDateTime": "2026-11-28T12:00:00Z",
        "driveRestoreArtifacts@delta": [without_id]})
    .to_string();
    let after = json!({"@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession", "id": "s",
        "status": "draft", "restoreJobType": "standard", "lastModifiedDateTime": "2026-11-28T12:00:00Z",
        "driveRestoreArtifacts": [entry]})
    .to_string();
    let observed = Observed::new(200, Some(body.as_bytes())).with_state_after(after.as_bytes());
    let v = check(
        &session,
        request,
        &Options::default(),
        &observed,
        &Settings::default(),
    );
    let at: Vec<(&str, DifferenceKind)> = v
        .differences
        .iter()
        .map(|d| (d.pointer.as_str(), d.kind))
        .collect();
    assert_eq!(
        at,
        [
            (
                "/body/driveRestoreArtifacts@delta/0/id",
                DifferenceKind::Missing
            ),
            ("/state/driveRestoreArtifacts/0/id", DifferenceKind::Value)
        ],
        "{v}"
    );
    assert!(v.binding.ids.is_empty(), "{:?}", v.binding.ids);
}

/// Rule C1: a string of the stored session spelled like a placeholder (`\u0001unbound-1`),
/// which the answer echoes, is compared as stored, as written and with white space.
#[test]
fn c1_a_stored_string_spelled_like_a_placeholder_is_echoed_as_stored() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft","note":"\u0001unbound-1"}"##;
    let request =
        br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"}]}"#;
    placeholder_shaped_text_is_echoed(before, request, 1);
}

/// Rule C1: a request that removes, one after the other, the ids the server gives its own
/// additions (each removal frees the restore point the next addition takes) is a chain whose
/// binding needs one round per removal; the reference's own answer to it is conformant, as
/// written and with white space, for chains of 1 to 8 (the rounds used to stop at four, and
/// chains of 4 or more were judged not conformant). (A state after alone shows none of the
/// removed ids, so there the check decides with placeholders, C1.)
#[test]
fn c1_a_chain_of_removals_of_the_servers_own_ids_binds_whole() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##;
    let add = r#"{"restorePoint":{"id":"r1"},"destinationType":"new"}"#;
    for k in 1..=8 {
        let mut seeded = SeededIds::new(3);
        let mut items = Vec::new();
        for _ in 0..k {
            let id = restore_delta::IdSource::next_id(&mut seeded);
            items.push(add.to_owned());
            items.push(format!(
                r#"{{"@removed":{{"reason":"changed"}},"id":"{id}"}}"#
            ));
        }
        items.push(add.to_owned());
        let request = format!(r#"{{"driveRestoreArtifacts@delta":[{}]}}"#, items.join(","));
        let a = reference_answer(before, request.as_bytes(), &Options::default());
        let text = a.answer.response.body.expect("a body").into_string();
        assert!(!text.contains("responseCode"), "{text}");
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(&text).unwrap()).unwrap();
        for answer in [&text, &pretty] {
            let v = check_answer(
                before,
                request.as_bytes(),
                &Observed::new(200, Some(answer.as_bytes())),
                &Settings::default(),
            );
            assert!(v.conformant, "k = {k}: {v}");
            assert_eq!(v.binding.ids.len(), k + 1, "k = {k}");
        }
    }
}

/// Rule C1: a member name of the stored session spelled like a placeholder is echoed as
/// stored too (the rounds' text rewrites every string so spelled, names included).
#[test]
fn c1_a_stored_member_name_spelled_like_a_placeholder_is_echoed_as_stored() {
    let before = r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft","\u0001unbound-1":"x"}"##;
    let request =
        br#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"}]}"#;
    placeholder_shaped_text_is_echoed(before, request, 1);
}

/// The reference's answer to `request` on `before`, its one added artifact's id renamed
/// `srv-1`, holds `echoes` strings spelled `"\u0001unbound-1"` (not the server's), and is
/// conformant as written (the fast path) and with white space (the walk, and the rounds'
/// text) under every profile, binding `srv-1` only.
fn placeholder_shaped_text_is_echoed(before: &str, request: &[u8], echoes: usize) {
    let a = reference_answer(before, request, &Options::default());
    let mut body = a.answer.response.body.expect("a 200 body").into_string();
    let ItemOutcome::Added { id, .. } = &a.answer.outcomes[0] else {
        panic!("{:?}", a.answer.outcomes)
    };
    body = body.replace(id.as_str(), "srv-1");
    assert_eq!(
        body.matches(r#""\u0001unbound-1""#).count(),
        echoes,
        "{body}"
    );
    let spaced =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();
    for answer in [&body, &spaced] {
        for profile in [Profile::Exact, Profile::Default, Profile::Docs] {
            let v = check_answer(
                before,
                request,
                &Observed::new(200, Some(answer.as_bytes())),
                &Settings::default().with_profile(profile),
            );
            assert!(v.conformant, "{profile:?}: {answer}\n{v}");
            assert_eq!(v.binding.ids, ["srv-1"]);
        }
    }
}
