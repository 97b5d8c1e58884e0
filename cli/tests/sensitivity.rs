//! Sensitivity (issue 21 §3): `conform --seed S --max-requests 2000` against a server that
//! breaks one rule on purpose (`restore-delta-server --deviate NAME`, started in-process)
//! reports a finding naming that rule (or `state` for the deviations that store wrong),
//! stopping at the first finding. `cargo test` runs a few; the loop over every deviation is
//! ignored here (`cargo test -p restore-delta-cli --test sensitivity -- --ignored --nocapture`
//! prints the table docs/CONFORM.md shows).

mod common;

use common::{Local, Setup, run, scratch, text};
use serde_json::Value;

/// The rules a deviation's finding may name: its own, or `state` for the storing ones.
fn names(deviation: &str) -> Vec<&'static str> {
    match deviation {
        "keep-removed" | "drop-added" => vec!["state"],
        "entry-order" => vec![
            "O3", "A7", "G4", "X4", "X3", "X1", "X2", "A1", "A2", "A3", "A4", "A5", "A6", "G1",
            "G2", "G3", "O1", "O4",
        ],
        other => vec![Box::leak(other.to_uppercase().into_boxed_str())],
    }
}

/// Runs conform against a server with `deviation`: (requests until found, the first finding's
/// name, its line).
fn found(deviation: &str, seed: u64) -> (Option<u64>, Vec<String>, String) {
    let server = Local::start(Setup {
        seed,
        deviate: Some(deviation.to_owned()),
        ..Setup::default()
    });
    let dir = scratch(&format!("sensitivity-{deviation}"));
    let json = dir.join("run.json");
    let out = run(&[
        "conform",
        "--url",
        &server.root(),
        "--seed",
        &seed.to_string(),
        "--max-requests",
        "2000",
        "--rate",
        "0",
        "--fail-fast",
        "--report",
        &format!("json={}", json.display()),
    ]);
    assert_eq!(out.status.code(), Some(1), "{deviation}: {}", text(&out));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let named: Vec<String> = findings
        .iter()
        .map(|f| match f["kind"].as_str() {
            Some("state") => "state".to_owned(),
            _ => f["rule"].as_str().unwrap_or("-").to_owned(),
        })
        .collect();
    let first = findings.first().map_or_else(String::new, |f| {
        format!(
            "[{}] {} `{}` {}",
            if f["kind"] == "state" {
                "state"
            } else {
                f["rule"].as_str().unwrap_or("-")
            },
            f["method"].as_str().unwrap_or_default(),
            f["pointer"].as_str().unwrap_or_default(),
            f["what"].as_str().unwrap_or_default()
        )
    });
    assert_eq!(server.sessions(), 0, "{deviation}: sessions left");
    (report["first_finding_at_request"].as_u64(), named, first)
}

#[test]
fn a_few_deviations_are_each_found_and_named() {
    for deviation in ["x3", "a4", "o8", "e7", "keep-removed"] {
        let (at, named, first) = found(deviation, 1);
        let want = names(deviation);
        assert!(
            named.iter().any(|n| want.contains(&n.as_str())),
            "{deviation}: found {named:?} ({first}), wanted one of {want:?}"
        );
        assert!(at.is_some_and(|n| n <= 2000), "{deviation}: {at:?}");
    }
}

#[test]
#[ignore = "every deviation, about a minute: run by hand, prints the table of docs/CONFORM.md"]
fn every_deviation_is_found_and_named() {
    println!("| deviation | requests until found | first finding | naming the deviation |");
    println!("|---|---:|---|---|");
    let mut missed = Vec::new();
    for d in restore_delta_server::deviate::ALL {
        let name = d.name();
        let (at, named, first) = found(name, 1);
        let want = names(name);
        let hit = named.iter().find(|n| want.contains(&n.as_str()));
        if hit.is_none() {
            missed.push(name);
        }
        let named: Vec<&String> = named
            .iter()
            .filter(|n| want.contains(&n.as_str()))
            .collect();
        println!(
            "| `{name}` | {} | {first} | {} |",
            at.map_or("-".to_owned(), |n| n.to_string()),
            named.first().map_or("-", |n| n.as_str())
        );
    }
    assert!(missed.is_empty(), "not found or misnamed: {missed:?}");
}
