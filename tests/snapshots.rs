//! Snapshots of the response and new state for the documented examples and for each
//! whole-request error, with a fixed clock and seed (nothing redacted). Differences from the
//! responses the docs print are listed in docs/SEMANTICS.md.

use std::path::Path;

use insta::assert_json_snapshot;
use restore_delta::{Context, Options, SeededIds, Session, Timestamp, apply};
use serde_json::{Value, json};

fn example(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .unwrap()
}

fn run(state: &[u8], body: &[u8], options: &Options) -> Value {
    let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
    let mut ctx = Context::new(now, SeededIds::new(7));
    let applied = apply(Session::from_json(state).unwrap(), body, options, &mut ctx);
    json!({
        "status": applied.answer.response.status,
        "body": applied.answer.response.body_value(),
        "state": applied.state.to_value(),
    })
}

fn doc_example(name: &str) -> Value {
    run(
        &example(&format!("{name}.state.json")),
        &example(&format!("{name}.request.json")),
        &Options::default(),
    )
}

#[test]
fn documented_onedrive() {
    assert_json_snapshot!(doc_example("onedrive"));
}

#[test]
fn documented_sharepoint() {
    assert_json_snapshot!(doc_example("sharepoint"));
}

#[test]
fn documented_exchange() {
    assert_json_snapshot!(doc_example("exchange"));
}

#[test]
fn documented_granular_onedrive() {
    assert_json_snapshot!(doc_example("granular-onedrive"));
}

#[test]
fn documented_granular_sharepoint() {
    assert_json_snapshot!(doc_example("granular-sharepoint"));
}

/// The whole-request errors, against the OneDrive example state; the state in each snapshot is
/// the input state.
#[test]
fn whole_request_errors() {
    let state = example("onedrive.state.json");
    let draft: Value = serde_json::from_slice(&state).unwrap();
    let add = json!({"restorePoint": {"id": "rp-x"}, "destinationType": "new"});
    let cases: Vec<(&str, Vec<u8>, Options, Option<Value>)> = vec![
        ("e1_too_large", example("onedrive.request.json"), Options::default().with_max_bytes(64), None),
        ("e2_not_json", b"{\"driveRestoreArtifacts@delta\": [".to_vec(), Options::default(), None),
        ("e2_not_utf8", b"{\"a\":\"\xff\"}".to_vec(), Options::default(), None),
        ("e2_not_object", b"[]".to_vec(), Options::default(), None),
        ("e2_too_deep", format!("{}{}", "[".repeat(65), "]".repeat(65)).into_bytes(), Options::default(), None),
        ("e2_duplicate_member", br#"{"driveRestoreArtifacts@delta":[{"id":"a","id":"b","@removed":{}}]}"#.to_vec(), Options::default(), None),
        ("e3_not_draft", json!({"driveRestoreArtifacts@delta": [add]}).to_string().into_bytes(), Options::default(), Some(json!({"status": "active"}))),
        ("e3_bulk", json!({"driveRestoreArtifacts@delta": [add]}).to_string().into_bytes(), Options::default(), Some(json!({"restoreJobType": "bulk"}))),
        ("e4_read_only_member", json!({"status": "active", "driveRestoreArtifacts@delta": [add]}).to_string().into_bytes(), Options::default(), None),
        ("e4_other_kind", json!({"siteRestoreArtifacts@delta": [add]}).to_string().into_bytes(), Options::default(), None),
        ("e4_collection_without_delta", json!({"driveRestoreArtifacts": [add]}).to_string().into_bytes(), Options::default(), None),
        ("e5_both_families", json!({"driveRestoreArtifacts@delta": [add], "granularDriveRestoreArtifacts@delta": [{"browseSessionId": "b", "itemKey": "k"}]}).to_string().into_bytes(), Options::default(), None),
        ("e6_empty_list", br#"{"driveRestoreArtifacts@delta":[]}"#.to_vec(), Options::default(), None),
        ("e7_over_limit", example("onedrive.request.json"), Options::default().with_max_items(6), None),
        ("e8_item_not_object", br#"{"driveRestoreArtifacts@delta":[{"@removed":{},"id":"x"},42]}"#.to_vec(), Options::default(), None),
        ("e9_family_conflict", json!({"granularDriveRestoreArtifacts@delta": [{"browseSessionId": "b", "itemKey": "k"}]}).to_string().into_bytes(), Options::default(), None),
        ("o1_atomic", example("onedrive.request.json"), Options::default().with_atomic(true), None),
    ];
    for (name, body, options, patch) in cases {
        let mut input = draft.clone();
        if let Some(p) = patch {
            for (k, v) in p.as_object().unwrap() {
                input[k] = v.clone();
            }
        }
        let bytes = input.to_string().into_bytes();
        let out = run(&bytes, &body, &options);
        assert_eq!(
            out["state"],
            Session::from_json(&bytes).unwrap().to_value(),
            "{name}: state changed"
        );
        assert_json_snapshot!(name, json!({"status": out["status"], "body": out["body"]}));
    }
}
