//! Seeding and export over real HTTP: a vector's state put as is, states refused whole,
//! non-draft states that go on with their lifecycle and count as busy, export and import round
//! trips, `--import` at start, and all of it journaled.

mod common;

use common::{ROOT, Server, create, temp_dir};
use serde_json::{Value, json};

const SET: &str = "oneDriveForBusinessRestoreSessions";

fn put(server: &Server, id: &str, state: &str) -> common::Answer {
    server.call(
        "PUT",
        &format!("/_restore-delta/sessions/{id}"),
        Some(state),
    )
}

fn session(id: &str, status: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession",
        "id": id,
        "status": status,
        "restoreJobType": "standard",
        "driveRestoreArtifacts": [{"id": format!("{id}-a"), "restorePoint": {"id": "rp"},
                                   "destinationType": "new", "status": "added"}]
    })
}

#[test]
fn a_vectors_state_loads_as_is_and_answers_as_the_vector_says() {
    let server = Server::start(&["--in-memory"]);
    let (mut checked, mut refused) = (0, 0);
    for entry in
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors")).unwrap()
    {
        let path = entry.unwrap().path();
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let state = &vector["state"];
        let Some(id) = state["id"].as_str() else {
            continue;
        };
        let Some(request) = vector["request"].as_str().map(str::to_owned).or_else(|| {
            vector["request"]
                .is_object()
                .then(|| vector["request"].to_string())
        }) else {
            continue;
        };
        if vector["options"].as_object().is_some_and(|o| !o.is_empty())
            || state["status"] != "draft"
        {
            continue;
        }
        let answer = put(&server, id, &state.to_string());
        if vector["expected"]["state_error"] == true {
            // A state the library refuses is refused here too, and nothing is stored.
            assert_eq!(answer.status, 400, "{}: {}", path.display(), answer.text);
            refused += 1;
            continue;
        }
        assert!(
            [200, 201].contains(&answer.status),
            "{}: {}",
            path.display(),
            answer.text
        );
        let back: Value = common::state(&server, id).json();
        assert_eq!(&back, state, "{}", path.display());
        let patched = server.call(
            "PATCH",
            &format!("{ROOT}/restoreSessions/{id}"),
            Some(&request),
        );
        assert_eq!(
            u64::from(patched.status),
            vector["expected"]["status"].as_u64().unwrap(),
            "{}: {}",
            path.display(),
            patched.text
        );
        checked += 1;
    }
    assert!(
        checked > 50 && refused > 0,
        "{checked} vectors, {refused} refused"
    );
}

#[test]
fn a_state_is_refused_whole_and_replaces_one_of_its_id() {
    let server = Server::start(&["--in-memory"]);
    let state = session("s-1", "draft").to_string();
    assert_eq!(put(&server, "s-1", &state).status, 201);
    for (id, body, code) in [
        ("s-1", "{", "BadRequest"),
        (
            "s-1",
            r#"{"id":"s-1","driveRestoreArtifacts":{}}"#,
            "BadRequest",
        ),
        ("s-2", state.as_str(), "BadRequest"),
        (" s", state.as_str(), "InvalidRestoreSessionId"),
    ] {
        let answer = put(&server, &id.replace(' ', "%20"), body);
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert_eq!(answer.code(), code);
    }
    assert_eq!(
        common::state(&server, "s-1").json(),
        session("s-1", "draft")
    );
    assert_eq!(common::state(&server, "s-2").status, 404);
    let mut other = session("s-1", "draft");
    other["driveRestoreArtifacts"] = json!([]);
    assert_eq!(put(&server, "s-1", &other.to_string()).status, 200);
    assert_eq!(common::state(&server, "s-1").json(), other);
    let small = Server::start(&["--in-memory", "--max-state-bytes", "100"]);
    assert_eq!(put(&small, "s-1", &state).status, 413);
}

#[test]
fn a_session_put_active_goes_on_and_counts_as_busy() {
    let server = Server::start(&["--in-memory", "--transitions", "manual"]);
    for n in 0..25 {
        let id = format!("busy-{n}");
        assert_eq!(
            put(&server, &id, &session(&id, "active").to_string()).status,
            201
        );
    }
    let draft = create(&server, SET);
    let refused = server.call("POST", &format!("{ROOT}/{SET}/{draft}/activate"), None);
    assert_eq!(refused.status, 500, "{}", refused.text);
    assert_eq!(refused.code(), "TooManyActiveRestoreSessions");
    // One step on from active: completed; then the draft may be activated.
    let step = common::advance(&server, "busy-0");
    assert_eq!(step.status, 200, "{}", step.text);
    assert!(
        step.json()["status"]
            .as_str()
            .unwrap()
            .starts_with("completed"),
        "{}",
        step.text
    );
    let activated = server.call("POST", &format!("{ROOT}/{SET}/{draft}/activate"), None);
    assert_eq!(activated.status, 200, "{}", activated.text);
}

#[test]
fn export_and_import_round_trip_and_are_journaled() {
    let dir = temp_dir("export");
    let db = dir.join("j.db");
    let (document, ids) = {
        let server = Server::with_db(&db, &["--transitions", "manual"]);
        let a = create(&server, SET);
        let b = create(&server, "exchangeRestoreSessions");
        assert_eq!(common::activate(&server, &b).status, 200);
        assert_eq!(common::advance(&server, &b).status, 200);
        assert_eq!(
            put(&server, "put-1", &session("put-1", "draft").to_string()).status,
            201
        );
        let exported = server.call("GET", "/_restore-delta/export", None);
        assert_eq!(exported.status, 200);
        (exported.text, vec![a, b, "put-1".to_owned()])
    };
    let doc: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(doc["format"], "restore-delta-export/1");
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 3);
    // Restarted: the put is journaled, and the export is the same.
    let server = Server::with_db(&db, &["--transitions", "manual"]);
    assert_eq!(
        server.call("GET", "/_restore-delta/export", None).text,
        document
    );
    drop(server);
    // Imported into an empty server: the same document; the activated session steps on.
    let fresh = Server::start(&["--in-memory", "--transitions", "manual"]);
    let imported = fresh.call("POST", "/_restore-delta/import", Some(&document));
    assert_eq!(imported.status, 200, "{}", imported.text);
    assert_eq!(imported.json()["imported"], 3);
    assert_eq!(
        fresh.call("GET", "/_restore-delta/export", None).text,
        document
    );
    assert_eq!(common::advance(&fresh, &ids[1]).status, 200);
    // One bad session refuses the whole document.
    let mut bad = doc.clone();
    bad["sessions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"state": {"id": "x", "driveRestoreArtifacts": 1}}));
    let other = Server::start(&["--in-memory"]);
    let refused = other.call("POST", "/_restore-delta/import", Some(&bad.to_string()));
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(
        other.call("GET", "/_restore-delta/export", None).json()["sessions"],
        json!([])
    );
    // --import at start: into an empty journal; refused on a full one without --import-replace.
    let file = dir.join("export.json");
    std::fs::write(&file, &document).unwrap();
    let file = file.to_str().unwrap();
    let empty = dir.join("empty.db");
    let started = Server::with_db(&empty, &["--import", file, "--transitions", "manual"]);
    assert_eq!(
        started.call("GET", "/_restore-delta/export", None).text,
        document
    );
    drop(started);
    let refused = common::run(&["--db", empty.to_str().unwrap(), "--import", file]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--import-replace"));
    let replaced = Server::with_db(
        &empty,
        &[
            "--import",
            file,
            "--import-replace",
            "--transitions",
            "manual",
        ],
    );
    assert_eq!(
        replaced.call("GET", "/_restore-delta/export", None).text,
        document
    );
    let _ = std::fs::remove_dir_all(dir);
}
