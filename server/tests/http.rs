//! The server over real HTTP: every endpoint, the errors, paging, headers, authentication,
//! limits, the lifecycle on a fast clock, faults, and a restart on the same file.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{ROOT, Server, create, drive_additions, raw, read_status, temp_dir};
use serde_json::Value;

const SETS: [(&str, &str, &str); 3] = [
    (
        "oneDriveForBusinessRestoreSessions",
        "#microsoft.graph.oneDriveForBusinessRestoreSession",
        "driveRestoreArtifacts",
    ),
    (
        "sharePointRestoreSessions",
        "#microsoft.graph.sharePointRestoreSession",
        "siteRestoreArtifacts",
    ),
    (
        "exchangeRestoreSessions",
        "#microsoft.graph.exchangeRestoreSession",
        "mailboxRestoreArtifacts",
    ),
];

#[test]
fn create_get_patch_list_delete_for_every_kind_under_both_paths() {
    let server = Server::start(&["--in-memory", "--seed", "1"]);
    for (set, odata_type, collection) in SETS {
        // The body Microsoft's SDKs send: a deep insert of the plain collection.
        let body = format!(
            r#"{{"@odata.type":"{odata_type}","{collection}":[{{"destinationType":"new","restorePoint":{{"id":"rp-a"}}}}]}}"#
        );
        let created = server.call("POST", &format!("{ROOT}/{set}"), Some(&body));
        assert_eq!(created.status, 201, "{}", created.text);
        let session = created.json();
        let id = session["id"].as_str().unwrap().to_owned();
        assert_eq!(session["status"], "draft");
        assert_eq!(session["@odata.type"], odata_type);
        assert!(
            session["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with(&format!(
                    "/v1.0/$metadata#solutions/backupRestore/{set}/$entity"
                )),
            "{session}"
        );
        assert!(
            session.get(collection).is_none(),
            "no collections in {session}"
        );
        assert!(created.header("request-id").is_some());
        assert!(
            created
                .header("content-type")
                .unwrap()
                .starts_with("application/json")
        );

        // GET under the kind's set and under restoreSessions, in v1.0 and beta.
        for path in [
            format!("{ROOT}/{set}/{id}"),
            format!("{ROOT}/restoreSessions/{id}"),
            format!("/beta/solutions/backupRestore/restoreSessions/{id}"),
        ] {
            let got = server.call("GET", &path, None);
            assert_eq!(got.status, 200, "{path}: {}", got.text);
            assert_eq!(got.json()["id"], id.as_str());
            assert_eq!(got.json()["status"], "draft");
        }

        // PATCH with the crate's semantics: one addition, one removal of a missing id (409).
        let patch = format!(
            r#"{{"{collection}@delta":[{{"restorePoint":{{"id":"rp-b"}},"destinationType":"new"}},{{"@removed":{{"reason":"changed"}},"id":"nope"}}]}}"#
        );
        let patched = server.call_with(
            "PATCH",
            &format!("{ROOT}/{set}/{id}"),
            Some(&patch),
            &[("Prefer", "return=representation")],
        );
        assert_eq!(patched.status, 200, "{}", patched.text);
        assert_eq!(
            patched.header("preference-applied"),
            Some("return=representation")
        );
        let entries = patched.json()[format!("{collection}@delta")].clone();
        assert_eq!(entries.as_array().unwrap().len(), 2, "{entries}");

        // The artifacts: the created one and the patched one.
        let listed = server.call("GET", &format!("{ROOT}/{set}/{id}/{collection}"), None);
        assert_eq!(listed.status, 200, "{}", listed.text);
        let items = listed.json()["value"].as_array().unwrap().clone();
        assert_eq!(items.len(), 2);
        assert!(listed.json().get("@odata.nextLink").is_none());

        // Of another kind's set: not found.
        let other = SETS.iter().find(|s| s.0 != set).unwrap().0;
        let wrong = server.call("GET", &format!("{ROOT}/{other}/{id}"), None);
        assert_eq!(wrong.status, 404);
        assert_eq!(wrong.code(), "RestoreSessionNotFound");

        // Delete (a draft), then it is gone.
        let deleted = server.call("DELETE", &format!("{ROOT}/restoreSessions/{id}"), None);
        assert_eq!(deleted.status, 204, "{}", deleted.text);
        assert!(deleted.text.is_empty());
        let gone = server.call("GET", &format!("{ROOT}/{set}/{id}"), None);
        assert_eq!(gone.status, 404);
        assert_eq!(gone.code(), "RestoreSessionNotFound");
    }
}

#[test]
fn a_session_created_under_restore_sessions_takes_its_kind_from_odata_type() {
    let server = Server::start(&["--in-memory"]);
    let created = server.call(
        "POST",
        &format!("{ROOT}/restoreSessions"),
        Some(r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession"}"##),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        created.json()["@odata.type"],
        "#microsoft.graph.exchangeRestoreSession"
    );
    let untyped = server.call("POST", &format!("{ROOT}/restoreSessions"), Some("{}"));
    assert_eq!(untyped.status, 400, "{}", untyped.text);
}

#[test]
fn lists_page_with_top_and_next_link_and_filter_by_kind() {
    let server = Server::start(&["--in-memory"]);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create(&server, SETS[i % 2].0));
    }
    let all = server.call("GET", &format!("{ROOT}/restoreSessions"), None);
    assert_eq!(all.json()["value"].as_array().unwrap().len(), 5);
    let drive = server.call("GET", &format!("{ROOT}/{}", SETS[0].0), None);
    assert_eq!(drive.json()["value"].as_array().unwrap().len(), 3);
    let exchange = server.call("GET", &format!("{ROOT}/{}", SETS[2].0), None);
    assert_eq!(exchange.json()["value"].as_array().unwrap().len(), 0);

    // Paging: follow @odata.nextLink until it is absent; every session exactly once.
    let mut seen = Vec::new();
    let mut next = Some(server.url(&format!("{ROOT}/restoreSessions?$top=2")));
    let mut pages = 0;
    while let Some(url) = next {
        let page = common::call(&url, "GET", None, &[]);
        assert_eq!(page.status, 200, "{}", page.text);
        let v = page.json();
        assert!(v["value"].as_array().unwrap().len() <= 2);
        seen.extend(
            v["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].clone()),
        );
        next = v["@odata.nextLink"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<Value> = ids.iter().map(|i| Value::from(i.as_str())).collect();
    expected.sort_by_key(|v| v.to_string());
    seen.sort_by_key(|v| v.to_string());
    assert_eq!(seen, expected);

    // Artifacts page the same way.
    let id = create(&server, SETS[0].0);
    let body = drive_additions("rp", 7);
    let patched = server.call("PATCH", &format!("{ROOT}/{}/{id}", SETS[0].0), Some(&body));
    assert_eq!(patched.status, 200, "{}", patched.text);
    let mut rps = Vec::new();
    let mut next = Some(server.url(&format!(
        "{ROOT}/{}/{id}/driveRestoreArtifacts?$top=3",
        SETS[0].0
    )));
    while let Some(url) = next {
        let v = common::call(&url, "GET", None, &[]).json();
        rps.extend(
            v["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["restorePoint"]["id"].as_str().unwrap().to_owned()),
        );
        next = v["@odata.nextLink"].as_str().map(str::to_owned);
    }
    let want: Vec<String> = (0..7).map(|i| format!("rp-{i}")).collect();
    assert_eq!(rps, want);

    let bad = server.call("GET", &format!("{ROOT}/restoreSessions?$top=x"), None);
    assert_eq!(bad.status, 400);
}

#[test]
fn errors_are_graph_shaped_with_request_ids() {
    let server = Server::start(&["--in-memory"]);
    let missing = server.call_with(
        "GET",
        &format!("{ROOT}/restoreSessions/00000000-0000-4000-8000-000000000000"),
        None,
        &[("client-request-id", "client-1")],
    );
    assert_eq!(missing.status, 404);
    let v = missing.json();
    assert_eq!(v["error"]["code"], "RestoreSessionNotFound");
    assert!(v["error"]["message"].as_str().unwrap().len() > 5);
    let inner = &v["error"]["innerError"];
    assert_eq!(inner["client-request-id"], "client-1");
    assert_eq!(
        inner["request-id"].as_str(),
        missing.header("request-id"),
        "the body and the header name the same request"
    );
    assert!(inner["date"].as_str().unwrap().ends_with('Z'));
    assert_eq!(missing.header("client-request-id"), Some("client-1"));

    // A malformed id: 400 InvalidRestoreSessionId.
    let bad_id = server.call("GET", &format!("{ROOT}/restoreSessions/%20"), None);
    assert_eq!(bad_id.status, 400, "{}", bad_id.text);
    assert_eq!(bad_id.code(), "InvalidRestoreSessionId");

    // Paths Graph does not have, and methods a resource does not take.
    let unknown = server.call("GET", "/v1.0/solutions/backupRestore/nothingHere", None);
    assert_eq!(unknown.status, 404);
    assert!(unknown.json()["error"]["innerError"]["request-id"].is_string());
    let put = server.call("PUT", &format!("{ROOT}/restoreSessions"), Some("{}"));
    assert_eq!(put.status, 405, "{}", put.text);
    assert_eq!(put.code(), "MethodNotAllowed");

    // PATCH errors come from the engine (rules E2, E6), with innerError added.
    let id = create(&server, SETS[0].0);
    let path = format!("{ROOT}/{}/{id}", SETS[0].0);
    let not_json = server.call("PATCH", &path, Some("{"));
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.code(), "InvalidPatchRequest");
    assert!(not_json.json()["error"]["innerError"]["request-id"].is_string());
    let empty = server.call(
        "PATCH",
        &path,
        Some(r#"{"driveRestoreArtifacts@delta":[]}"#),
    );
    assert_eq!(empty.status, 400);
    assert_eq!(empty.code(), "InvalidArtifactRequest");

    // Create's own codes.
    let fifty_one = format!(
        r#"{{"driveRestoreArtifacts":[{}]}}"#,
        (0..51)
            .map(|i| format!(r#"{{"restorePoint":{{"id":"r{i}"}},"destinationType":"new"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let too_many = server.call("POST", &format!("{ROOT}/{}", SETS[0].0), Some(&fifty_one));
    assert_eq!(too_many.status, 413, "{}", too_many.text);
    assert_eq!(too_many.code(), "RestoreArtifactsLimitBreached");
    let twice = r#"{"driveRestoreArtifacts":[{"restorePoint":{"id":"r"},"destinationType":"new"},{"restorePoint":{"id":"r"},"destinationType":"new"}]}"#;
    let dup = server.call("POST", &format!("{ROOT}/{}", SETS[0].0), Some(twice));
    assert_eq!(dup.status, 400);
    assert_eq!(dup.code(), "DuplicateArtifactInList");
}

#[test]
fn activation_is_draft_only_and_moves_on_the_clock() {
    let server = Server::start(&[
        "--in-memory",
        "--transitions",
        "timed",
        "--to-active-secs",
        "1",
        "--to-completed-secs",
        "1",
    ]);
    let id = create(&server, SETS[0].0);
    let path = format!("{ROOT}/{}/{id}", SETS[0].0);
    let patched = server.call("PATCH", &path, Some(&drive_additions("rp", 3)));
    assert_eq!(patched.status, 200);
    let activated = server.call("POST", &format!("{path}/activate"), None);
    assert_eq!(activated.status, 200, "{}", activated.text);
    assert_eq!(activated.json()["status"], "activating");
    // Not a draft any more: no second activation, no PATCH, no delete.
    let again = common::activate(&server, &id);
    assert_eq!(again.status, 403);
    assert_eq!(again.code(), "RestoreSessionActionNotAllowed");
    let late = server.call("PATCH", &path, Some(&drive_additions("late", 1)));
    assert_eq!(late.status, 403);
    let del = server.call("DELETE", &path, None);
    assert_eq!(del.status, 403);
    std::thread::sleep(Duration::from_millis(2300));
    let done = server.call("GET", &path, None).json();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["restoreSessionArtifactCount"]["completed"], 3);
    let artifacts = server
        .call("GET", &format!("{path}/driveRestoreArtifacts"), None)
        .json();
    for a in artifacts["value"].as_array().unwrap() {
        assert_eq!(a["status"], "succeeded", "{a}");
    }
}

#[test]
fn manual_transitions_advance_one_step_and_cap_busy_sessions_at_25() {
    let server = Server::start(&["--in-memory", "--transitions", "manual"]);
    let mut ids = Vec::new();
    for _ in 0..26 {
        ids.push(create(&server, SETS[2].0));
    }
    for id in &ids[..25] {
        let a = common::activate(&server, id);
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let over = common::activate(&server, &ids[25]);
    assert_eq!(over.status, 500, "{}", over.text);
    assert_eq!(over.code(), "TooManyActiveRestoreSessions");
    // Step the first one to completion: the 26th can then be activated.
    let mut statuses = Vec::new();
    loop {
        let step = common::advance(&server, &ids[0]);
        if step.status != 200 {
            assert_eq!(step.status, 403, "{}", step.text);
            break;
        }
        statuses.push(step.json()["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("completed"),
        "{statuses:?}"
    );
    let now = common::activate(&server, &ids[25]);
    assert_eq!(now.status, 200, "{}", now.text);
    // A draft cannot be stepped.
    let draft = create(&server, SETS[2].0);
    let step = common::advance(&server, &draft);
    assert_eq!(step.status, 409, "{}", step.text);
}

#[test]
fn a_token_is_required_when_given_and_health_needs_none() {
    let server = Server::start(&["--in-memory", "--token", "s3cret"]);
    let none = server.call("GET", &format!("{ROOT}/restoreSessions"), None);
    assert_eq!(none.status, 401);
    assert_eq!(none.code(), "InvalidAuthenticationToken");
    assert!(none.header("www-authenticate").is_some());
    let wrong = server.call_with(
        "GET",
        &format!("{ROOT}/restoreSessions"),
        None,
        &[("Authorization", "Bearer nope")],
    );
    assert_eq!(wrong.status, 401);
    let right = server.call_with(
        "GET",
        &format!("{ROOT}/restoreSessions"),
        None,
        &[("Authorization", "Bearer s3cret")],
    );
    assert_eq!(right.status, 200);
    let reset = server.call("POST", "/_restore-delta/reset", None);
    assert_eq!(reset.status, 401, "control endpoints need the token too");
    let health = server.call("GET", "/_restore-delta/health", None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
}

#[test]
fn no_token_no_listening_beyond_loopback() {
    let out = std::process::Command::new(common::BIN)
        .args(["--in-memory", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without a token"), "{err}");
}

#[test]
fn a_restart_on_the_same_file_keeps_everything() {
    let dir = temp_dir("restart");
    let db = dir.join("restore.db");
    let (id, state) = {
        let server = Server::with_db(&db, &["--seed", "5"]);
        let id = create(&server, SETS[1].0);
        let body = r#"{"siteRestoreArtifacts@delta":[{"restorePoint":{"id":"rp1"},"destinationType":"new"},{"restorePoint":{"id":"rp2"},"destinationType":"new"}]}"#;
        assert_eq!(
            server
                .call("PATCH", &format!("{ROOT}/{}/{id}", SETS[1].0), Some(body))
                .status,
            200
        );
        let gone = create(&server, SETS[1].0);
        assert_eq!(
            server
                .call("DELETE", &format!("{ROOT}/restoreSessions/{gone}"), None)
                .status,
            204
        );
        let state = common::state(&server, &id);
        assert_eq!(state.status, 200);
        (id, state.text)
    };
    let server = Server::with_db(&db, &[]);
    assert!(
        server.banner.contains("records replayed"),
        "{}",
        server.banner
    );
    let again = common::state(&server, &id);
    assert_eq!(again.text, state, "the same bytes after a restart");
    let all = server
        .call("GET", &format!("{ROOT}/restoreSessions"), None)
        .json();
    assert_eq!(all["value"].as_array().unwrap().len(), 1);
    // Reset empties the store, on file too.
    assert_eq!(
        server.call("POST", "/_restore-delta/reset", None).status,
        204
    );
    drop(server);
    let server = Server::with_db(&db, &[]);
    let all = server
        .call("GET", &format!("{ROOT}/restoreSessions"), None)
        .json();
    assert_eq!(all["value"].as_array().unwrap().len(), 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_same_seed_gives_the_same_ids() {
    let run = || {
        let server = Server::start(&["--in-memory", "--seed", "42"]);
        let id = create(&server, SETS[0].0);
        let patched = server.call(
            "PATCH",
            &format!("{ROOT}/{}/{id}", SETS[0].0),
            Some(&drive_additions("rp", 2)),
        );
        let ids: Vec<String> = patched.json()["driveRestoreArtifacts@delta"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        (id, ids, patched.header("request-id").unwrap().to_owned())
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    assert_eq!(a.1.len(), 2);
}

#[test]
fn faults_are_graph_shaped_with_retry_after_and_deterministic() {
    let all = Server::start(&[
        "--in-memory",
        "--faults",
        "1",
        "--fault-statuses",
        "429",
        "--retry-after",
        "3",
    ]);
    let a = all.call("GET", &format!("{ROOT}/restoreSessions"), None);
    assert_eq!(a.status, 429);
    assert_eq!(a.code(), "TooManyRequests");
    assert_eq!(a.header("retry-after"), Some("3"));
    assert_eq!(
        all.call("GET", "/_restore-delta/health", None).status,
        200,
        "control paths are never faulted"
    );
    let sequence = || {
        let s = Server::start(&[
            "--in-memory",
            "--seed",
            "3",
            "--faults",
            "0.5",
            "--fault-statuses",
            "500,503",
        ]);
        (0..40)
            .map(|_| {
                s.call("GET", &format!("{ROOT}/restoreSessions"), None)
                    .status
            })
            .collect::<Vec<_>>()
    };
    let (x, y) = (sequence(), sequence());
    assert_eq!(x, y);
    assert!(
        x.contains(&200) && x.contains(&500) && x.contains(&503),
        "{x:?}"
    );
}

/// A PATCH of a drive session's head, with `headers` (CRLF-separated) and no body yet.
fn raw_patch(server: &Server, id: &str, headers: &str) -> TcpStream {
    let mut s = raw(server);
    write!(
        s,
        "PATCH {ROOT}/{}/{id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}\r\n\r\n",
        SETS[0].0
    )
    .unwrap();
    s
}

#[test]
fn a_declared_length_over_the_limit_gets_413_before_the_body_is_sent() {
    let server = Server::start(&["--in-memory"]);
    let id = create(&server, SETS[0].0);
    let mut s = raw_patch(
        &server,
        &id,
        "Content-Length: 50000000\r\nExpect: 100-continue",
    );
    let (status, head) = read_status(&mut s);
    assert_eq!(status, 413, "{head}");
    assert!(!head.contains("100 Continue"), "{head}");
}

#[test]
fn a_chunked_body_past_the_limit_gets_a_readable_413() {
    let server = Server::start(&["--in-memory"]);
    let id = create(&server, SETS[0].0);
    let mut s = raw_patch(&server, &id, "Transfer-Encoding: chunked");
    let mut reader = s.try_clone().unwrap();
    let answer = std::thread::spawn(move || read_status(&mut reader));
    // Up to 100 MiB in 64 KiB chunks; the server answers after about 1 MiB.
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0usize;
    while sent < 100 * 1024 * 1024 && !answer.is_finished() {
        if write!(s, "{:x}\r\n", chunk.len()).is_err()
            || s.write_all(&chunk).is_err()
            || s.write_all(b"\r\n").is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let (status, head) = answer.join().unwrap();
    assert_eq!(status, 413, "{head}");
    assert!(
        sent < 100 * 1024 * 1024,
        "answered only after the whole body"
    );
}

#[test]
fn slow_clients_time_out() {
    let server = Server::start(&["--in-memory", "--client-timeout-secs", "1"]);
    let id = create(&server, SETS[0].0);
    // Headers never finished: the connection is closed.
    let mut s = raw(&server);
    s.write_all(b"GET /_restore-delta/health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap_or(0);
    assert!(
        n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // A body that stops coming: 408 with a Graph error.
    let mut s = raw_patch(&server, &id, "Content-Length: 100");
    s.write_all(b"{\"drive").unwrap();
    let (status, head) = read_status(&mut s);
    assert_eq!(status, 408, "{head}");
}

#[test]
fn failed_artifacts_and_activations_survive_a_restart() {
    let dir = temp_dir("lifecycle-restart");
    let db = dir.join("restore.db");
    let (id, manual) = {
        let server = Server::with_db(
            &db,
            &[
                "--transitions",
                "immediate",
                "--failed-per-mille",
                "1000",
                "--seed",
                "4",
            ],
        );
        let id = create(&server, SETS[0].0);
        let path = format!("{ROOT}/{}/{id}", SETS[0].0);
        assert_eq!(
            server
                .call("PATCH", &path, Some(&drive_additions("rp", 4)))
                .status,
            200
        );
        assert_eq!(
            server
                .call("POST", &format!("{path}/activate"), None)
                .status,
            200
        );
        let done = server.call("GET", &path, None).json();
        assert_eq!(done["status"], "completedWithError", "{done}");
        assert_eq!(done["restoreSessionArtifactCount"]["failed"], 4);
        (id, done)
    };
    // Restarted with other transitions: the session keeps the schedule it was activated with.
    let server = Server::with_db(&db, &["--transitions", "manual"]);
    let path = format!("{ROOT}/{}/{id}", SETS[0].0);
    let mut again = server.call("GET", &path, None).json();
    let mut manual = manual;
    // The context names the address, a new port after the restart.
    again.as_object_mut().unwrap().remove("@odata.context");
    manual.as_object_mut().unwrap().remove("@odata.context");
    assert_eq!(again, manual);
    let artifacts = server
        .call("GET", &format!("{path}/driveRestoreArtifacts"), None)
        .json();
    for a in artifacts["value"].as_array().unwrap() {
        assert_eq!(a["status"], "failed", "{a}");
    }
    // A manual session stepped, then restarted: the steps are replayed.
    let second = create(&server, SETS[0].0);
    let second_path = format!("{ROOT}/{}/{second}", SETS[0].0);
    assert_eq!(
        server
            .call("POST", &format!("{second_path}/activate"), None)
            .status,
        200
    );
    let step = common::advance(&server, &second);
    assert_eq!(step.status, 200, "{}", step.text);
    let step = common::advance(&server, &second);
    assert_eq!(step.json()["status"], "active");
    let before = common::state(&server, &second).text;
    drop(server);
    let server = Server::with_db(&db, &[]);
    let after = common::state(&server, &second).text;
    assert_eq!(after, before);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_long_journal_is_compacted_at_start_and_loses_nothing() {
    let dir = temp_dir("compact");
    let db = dir.join("restore.db");
    let (ids, states) = {
        let server = Server::with_db(&db, &["--transitions", "manual", "--seed", "8"]);
        let ids = [create(&server, SETS[0].0), create(&server, SETS[0].0)];
        for n in 0..10 {
            let path = format!("{ROOT}/{}/{}", SETS[0].0, ids[n % 2]);
            let patched = server.call("PATCH", &path, Some(&drive_additions(&format!("p{n}"), 5)));
            assert_eq!(patched.status, 200);
        }
        let path = format!("{ROOT}/restoreSessions/{}", ids[1]);
        assert_eq!(
            server
                .call("POST", &format!("{path}/activate"), None)
                .status,
            200
        );
        let step = common::advance(&server, &ids[1]);
        assert_eq!(step.status, 200);
        let states: Vec<String> = ids
            .iter()
            .map(|id| common::state(&server, id).text)
            .collect();
        (ids, states)
    };
    let long = std::fs::metadata(&db).unwrap().len();
    let server = Server::with_db(&db, &["--compact-after", "3"]);
    assert!(
        server.banner.contains("compacted to 2 snapshots"),
        "{}",
        server.banner
    );
    let short = std::fs::metadata(&db).unwrap().len();
    for (id, state) in ids.iter().zip(&states) {
        let now = common::state(&server, id);
        assert_eq!(&now.text, state);
    }
    // The activated session kept its progress: it steps on, and still counts as busy.
    let step = common::advance(&server, &ids[1]);
    assert_eq!(step.status, 200, "{}", step.text);
    assert_eq!(step.json()["status"], "active");
    let path = format!("{ROOT}/{}/{}", SETS[0].0, ids[0]);
    assert_eq!(
        server
            .call("PATCH", &path, Some(&drive_additions("after", 2)))
            .status,
        200
    );
    let states: Vec<String> = ids
        .iter()
        .map(|id| common::state(&server, id).text)
        .collect();
    drop(server);
    // Snapshots and the records after them replay to the same bytes.
    let server = Server::with_db(&db, &[]);
    assert!(!server.banner.contains("compacted"), "{}", server.banner);
    for (id, state) in ids.iter().zip(&states) {
        let now = common::state(&server, id);
        assert_eq!(&now.text, state);
    }
    eprintln!("journal {long} bytes, compacted {short} bytes");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_identity_is_written_as_created_by_and_last_modified_by_and_journaled() {
    let dir = temp_dir("identity");
    let db = dir.join("restore.db");
    // By default, an application identity naming the server.
    let server = Server::start(&["--in-memory"]);
    let made = server.call("POST", &format!("{ROOT}/{}", SETS[0].0), Some("{}"));
    let default_app = &made.json()["createdBy"]["application"];
    assert_eq!(
        default_app["displayName"], "restore-delta-server",
        "{}",
        made.text
    );
    assert_eq!(made.json()["lastModifiedBy"], made.json()["createdBy"]);
    drop(server);
    // Given: on create both, on PATCH `lastModifiedBy`, and a restart replays them.
    let identity = dir.join("ada.json");
    std::fs::write(&identity, r#"{"user":{"id":"u-1","displayName":"Ada"}}"#).unwrap();
    let ada = serde_json::json!({"user": {"id": "u-1", "displayName": "Ada"}});
    let (id, state) = {
        let server = Server::with_db(&db, &["--identity", identity.to_str().unwrap()]);
        let made = server.call("POST", &format!("{ROOT}/{}", SETS[0].0), Some("{}"));
        assert_eq!(made.json()["createdBy"], ada, "{}", made.text);
        let id = made.json()["id"].as_str().unwrap().to_owned();
        let patched = server.call(
            "PATCH",
            &format!("{ROOT}/{}/{id}", SETS[0].0),
            Some(&drive_additions("rp", 1)),
        );
        assert_eq!(patched.json()["lastModifiedBy"], ada, "{}", patched.text);
        let state = common::state(&server, &id).text;
        (id, state)
    };
    // Restarted with another identity: what was recorded replays as it was.
    let server = Server::with_db(&db, &[]);
    assert_eq!(common::state(&server, &id).text, state);
    drop(server);
    std::fs::write(&identity, "[1]").unwrap();
    let out = common::run(&["--in-memory", "--identity", identity.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}
