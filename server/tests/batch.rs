//! JSON batching over real HTTP: each request answered as if sent alone (and journaled), in
//! the order `dependsOn` allows, 424 after a failed dependency, every client's `url` form, and
//! the batch refused whole when it is malformed.

mod common;

use common::{Server, create, drive_additions, temp_dir};
use serde_json::{Value, json};

const SET: &str = "oneDriveForBusinessRestoreSessions";

fn batch(server: &Server, body: &Value) -> common::Answer {
    server.call("POST", "/v1.0/$batch", Some(&body.to_string()))
}

fn responses(answer: &common::Answer) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["responses"].as_array().unwrap().clone()
}

#[test]
fn a_batch_runs_each_request_as_if_alone_in_dependency_order() {
    let dir = temp_dir("batch");
    let db = dir.join("j.db");
    let server = Server::with_db(&db, &["--transitions", "manual"]);
    let id = create(&server, SET);
    let session = format!("/solutions/backupRestore/{SET}/{id}");
    let patch: Value = serde_json::from_str(&drive_additions("b", 2)).unwrap();
    let answer = batch(
        &server,
        &json!({"requests": [
            // Listed first, run after the PATCH it depends on.
            {"id": "activate", "method": "POST", "url": format!("{session}/activate"),
             "dependsOn": ["patch"]},
            {"id": "patch", "method": "PATCH", "url": format!("/v1.0{session}"),
             "headers": {"Content-Type": "application/json"}, "body": patch},
            {"id": "get", "method": "GET", "url": format!("https://ignored.example/v1.0{session}"),
             "dependsOn": ["activate"]},
            {"id": "missing", "method": "GET", "url": "solutions/backupRestore/restoreSessions/nope"},
            {"id": "after-missing", "method": "DELETE", "url": format!("{session}"),
             "depends_on": ["missing"]},
            {"id": "empty", "method": "GET", "url": format!("{session}/driveRestoreArtifacts?$top=0")},
        ]}),
    );
    let r = responses(&answer);
    let ids: Vec<&str> = r.iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "activate",
            "patch",
            "get",
            "missing",
            "after-missing",
            "empty"
        ]
    );
    let status = |i: usize| r[i]["status"].as_u64().unwrap();
    assert_eq!(status(1), 200, "{}", r[1]);
    assert_eq!(
        r[1]["body"]["driveRestoreArtifacts@delta"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(
        r[1]["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(status(0), 200, "{}", r[0]);
    assert_eq!(r[0]["body"]["status"], "activating");
    assert_eq!(status(2), 200);
    assert_eq!(
        r[2]["body"]["status"], "activating",
        "run after the activation"
    );
    assert_eq!(status(3), 404);
    assert_eq!(r[3]["body"]["error"]["code"], "RestoreSessionNotFound");
    assert_eq!(status(4), 424);
    assert_eq!(r[4]["body"]["error"]["code"], "FailedDependency");
    assert_eq!(status(5), 200);
    assert_eq!(r[5]["body"]["value"], json!([]));
    drop(server);
    // Journaled as if sent alone: a restart holds the PATCH and the activation.
    let server = Server::with_db(&db, &[]);
    let state = common::state(&server, &id).json();
    assert_eq!(state["status"], "activating");
    assert_eq!(state["driveRestoreArtifacts"].as_array().unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_malformed_batch_is_refused_whole_and_runs_nothing() {
    let server = Server::start(&["--in-memory"]);
    let id = create(&server, SET);
    let patch = |n: usize| {
        json!({"id": format!("{n}"), "method": "PATCH",
               "url": format!("/solutions/backupRestore/{SET}/{id}"),
               "headers": {"Content-Type": "application/json"},
               "body": serde_json::from_str::<Value>(&drive_additions(&format!("m{n}"), 1)).unwrap()})
    };
    let cases = [
        json!({"requests": (0..21).map(patch).collect::<Vec<_>>()}),
        json!({"requests": [patch(1), {"id": "A", "method": "GET", "url": "/x"},
                            {"id": "a", "method": "GET", "url": "/x"}]}),
        json!({"requests": [patch(1), {"id": "2", "method": "GET", "url": "/x", "dependsOn": ["9"]}]}),
        json!({"requests": [
            {"id": "1", "method": "GET", "url": "/x", "dependsOn": ["2"]},
            {"id": "2", "method": "GET", "url": "/x", "dependsOn": ["1"]}, patch(3)]}),
        json!({"requests": []}),
        json!({"requests": [{"id": "", "method": "GET", "url": "/x"}]}),
        json!([patch(1)]),
    ];
    for case in &cases {
        let answer = batch(&server, case);
        assert_eq!(answer.status, 400, "{case}: {}", answer.text);
        assert_eq!(answer.code(), "BadRequest");
    }
    let state = common::state(&server, &id).json();
    assert!(
        state.get("driveRestoreArtifacts").is_none(),
        "nothing ran: {state}"
    );
    // Requests refused alone: another version, a body without its type, a batch in a batch.
    let r = responses(&batch(
        &server,
        &json!({"requests": [
            {"id": "1", "method": "GET", "url": "/beta/solutions/backupRestore/restoreSessions"},
            {"id": "2", "method": "PATCH", "url": format!("/solutions/backupRestore/{SET}/{id}"),
             "body": {"driveRestoreArtifacts@delta": []}},
            {"id": "3", "method": "POST", "url": "/$batch", "headers": {"Content-Type": "application/json"},
             "body": {"requests": []}},
        ]}),
    ));
    for x in &r {
        assert_eq!(x["status"], 400, "{x}");
        assert_eq!(x["body"]["error"]["code"], "BadRequest", "{x}");
        assert!(
            x["body"]["error"]["innerError"]["request-id"].is_string(),
            "{x}"
        );
    }
    // Too large a batch body.
    let small = Server::start(&["--in-memory", "--max-batch-bytes", "200"]);
    let answer = batch(&small, &json!({"requests": [patch(1)]}));
    assert_eq!(answer.status, 413, "{}", answer.text);
}

#[test]
fn the_batch_is_authenticated_and_faulted_as_one_request() {
    let server = Server::start(&[
        "--in-memory",
        "--token",
        "t",
        "--faults",
        "0.5",
        "--seed",
        "3",
    ]);
    let auth = [("Authorization", "Bearer t")];
    let list = json!({"requests": (0..5).map(|n| json!({"id": format!("{n}"), "method": "GET",
        "url": "/solutions/backupRestore/restoreSessions"})).collect::<Vec<_>>()});
    let refused = server.call("POST", "/v1.0/$batch", Some(&list.to_string()));
    assert_eq!(refused.status, 401);
    let mut whole = 0;
    for _ in 0..20 {
        let answer = server.call_with("POST", "/v1.0/$batch", Some(&list.to_string()), &auth);
        if answer.status == 200 {
            whole += 1;
            for x in answer.json()["responses"].as_array().unwrap() {
                assert_eq!(
                    x["status"], 200,
                    "a request inside is not faulted again: {x}"
                );
            }
        } else {
            assert!([429, 503].contains(&answer.status), "{}", answer.text);
        }
    }
    assert!(whole > 0 && whole < 20, "{whole} of 20 batches ran");
}
