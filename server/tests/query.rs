//! OData query options over real HTTP (the library's rules Q1–Q9): filtered, selected,
//! ordered, counted and expanded lists and sessions, next links that keep the query, and the
//! count-only query.

mod common;

use common::{ROOT, Server, create, drive_additions};
use serde_json::Value;

const SET: &str = "oneDriveForBusinessRestoreSessions";

fn get(server: &Server, path: &str) -> Value {
    let a = server.call("GET", path, None);
    assert_eq!(a.status, 200, "{path}: {}", a.text);
    a.json()
}

#[test]
fn lists_and_sessions_answer_their_query_options_and_pages_keep_them() {
    let server = Server::start(&["--in-memory", "--transitions", "manual"]);
    let ids: Vec<String> = (0..5).map(|_| create(&server, SET)).collect();
    for (n, id) in ids.iter().enumerate() {
        let body = drive_additions(&format!("s{n}"), n + 1);
        assert_eq!(
            server
                .call("PATCH", &format!("{ROOT}/{SET}/{id}"), Some(&body))
                .status,
            200
        );
    }
    assert_eq!(common::activate(&server, &ids[0]).status, 200);
    let list = format!("{ROOT}/restoreSessions");

    // $filter, $select, $count, $orderby, $top; the next link keeps every option.
    let page = get(
        &server,
        &format!(
            "{list}?$filter=status%20eq%20'draft'&$select=id,restoreSessionArtifactCount&$orderby=restoreSessionArtifactCount/total%20desc&$top=2&$count=true"
        ),
    );
    assert_eq!(page["@odata.count"], 4);
    let totals: Vec<u64> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert!(s.get("status").is_none(), "{s}");
            s["restoreSessionArtifactCount"]["total"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(totals, [5, 4]);
    let next = page["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.contains("$filter=status%20eq%20'draft'") && next.contains("$top=2"),
        "{next}"
    );
    let path = &next[next.find("/v1.0/").unwrap()..];
    let second = get(&server, path);
    let totals: Vec<u64> = second["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["restoreSessionArtifactCount"]["total"].as_u64().unwrap())
        .collect();
    assert_eq!(totals, [3, 2]);

    // The count-only query.
    let count = get(&server, &format!("{list}?$top=0&$count=true"));
    assert_eq!(count["@odata.count"], 5);
    assert_eq!(count["value"], serde_json::json!([]));
    assert!(count.get("@odata.nextLink").is_none());

    // One session with a collection expanded, filtered inside.
    let one = get(
        &server,
        &format!(
            "{ROOT}/{SET}/{}?$select=id&$expand=driveRestoreArtifacts($filter=restorePoint/id%20eq%20's4-2';$select=id,restorePoint)",
            ids[4]
        ),
    );
    let expanded = one["driveRestoreArtifacts"].as_array().unwrap();
    assert_eq!(expanded.len(), 1, "{one}");
    assert_eq!(expanded[0]["restorePoint"]["id"], "s4-2");
    // The artifacts of a session, filtered and paged with $skip.
    let artifacts = get(
        &server,
        &format!(
            "{ROOT}/{SET}/{}/driveRestoreArtifacts?$skip=1&$top=2&$count=true",
            ids[4]
        ),
    );
    assert_eq!(artifacts["@odata.count"], 5);
    assert_eq!(artifacts["value"].as_array().unwrap().len(), 2);
    // Refused, Graph-shaped, naming what is wrong.
    let refused = server.call("GET", &format!("{list}?$filter=stauts%20eq%20'x'"), None);
    assert_eq!(refused.status, 400);
    assert!(
        refused.code() == "BadRequest" && refused.text.contains("stauts"),
        "{}",
        refused.text
    );
}
