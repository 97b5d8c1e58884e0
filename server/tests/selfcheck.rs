//! Every PATCH answer the server gives passes the crate's reference check (rules C1–C3): the
//! state before and after are read from the server over HTTP, the answer is judged as a
//! tester would judge any other implementation's.

mod common;

use common::{ROOT, Server, create};
use restore_delta::check::{Observed, Settings, check};
use restore_delta::{Options, Session};

fn options(prefer: &[&str], authority: &str) -> Options {
    let mut o = Options::default()
        .with_service_root(&format!("http://{authority}/v1.0/"))
        .with_service_root(&format!("http://{authority}/beta/"));
    for p in prefer {
        o = o.with_prefer(p);
    }
    o
}

/// Sends one PATCH and judges it; returns the answer's status.
fn judged(server: &Server, set: &str, id: &str, body: &str, prefer: &[&str]) -> u16 {
    let before = common::state(server, id);
    assert_eq!(before.status, 200);
    let headers: Vec<(&str, &str)> = prefer.iter().map(|p| ("Prefer", *p)).collect();
    let answer = server.call_with("PATCH", &format!("{ROOT}/{set}/{id}"), Some(body), &headers);
    let after = common::state(server, id);
    let session = Session::from_json(before.text.as_bytes()).expect("the server's state reads");
    // The body as the server sent it: innerError is a free choice of the server's (rule C1), and
    // so is the identity it writes; Preference-Applied is judged too (rule O8).
    let observed_body = (!answer.text.is_empty()).then_some(answer.text.as_bytes());
    let observed = Observed::new(answer.status, observed_body)
        .with_state_after(after.text.as_bytes())
        .with_preference_applied(answer.header("preference-applied"));
    let verdict = check(
        &session,
        body.as_bytes(),
        &options(prefer, server.authority()),
        &observed,
        &Settings::default(),
    );
    assert!(
        verdict.conformant,
        "{body} with {prefer:?} answered {} {}:\n{verdict}",
        answer.status, answer.text
    );
    answer.status
}

#[test]
fn every_patch_answer_passes_the_reference_check() {
    let server = Server::start(&["--in-memory", "--seed", "11"]);
    let local = server.authority().to_owned();
    for (set, collection, key) in [
        (
            "oneDriveForBusinessRestoreSessions",
            "driveRestoreArtifacts",
            "restorePoint",
        ),
        (
            "sharePointRestoreSessions",
            "siteRestoreArtifacts",
            "restorePoint",
        ),
        (
            "exchangeRestoreSessions",
            "mailboxRestoreArtifacts",
            "restorePoint",
        ),
    ] {
        let id = create(&server, set);
        let add = |rp: &str| format!(r#"{{"{key}":{{"id":"{rp}"}},"destinationType":"new"}}"#);
        let body = |items: &[String]| format!(r#"{{"{collection}@delta":[{}]}}"#, items.join(","));
        let mut statuses = vec![judged(
            &server,
            set,
            &id,
            &body(&[add("a"), add("b"), add("c")]),
            &[],
        )];
        // A duplicate, a missing removal and a new one, continuing on error.
        statuses.push(judged(
            &server,
            set,
            &id,
            &body(&[
                add("a"),
                r#"{"@removed":{"reason":"deleted"},"id":"missing"}"#.into(),
                add("d"),
            ]),
            &[],
        ));
        // All or nothing with a failure: refused, nothing applied.
        statuses.push(judged(
            &server,
            set,
            &id,
            &body(&[add("e"), add("a")]),
            &["continue-on-error=false"],
        ));
        // Minimal return.
        statuses.push(judged(
            &server,
            set,
            &id,
            &body(&[add("f")]),
            &["return=minimal"],
        ));
        // A restore point by reference, under this server's own root (rule A2).
        let by_ref = format!(
            r#"{{"{key}":{{"@odata.id":"http://{local}/v1.0/solutions/backupRestore/restorePoints/g"}},"destinationType":"new"}}"#
        );
        statuses.push(judged(&server, set, &id, &body(&[by_ref]), &[]));
        // Removal of an artifact that is there, by the id the server gave it.
        let state: serde_json::Value = common::state(&server, &id).json();
        let first = state[collection][0]["id"].as_str().unwrap().to_owned();
        statuses.push(judged(
            &server,
            set,
            &id,
            &body(&[format!(
                r#"{{"@removed":{{"reason":"changed"}},"id":"{first}"}}"#
            )]),
            &["include-unknown-enum-members"],
        ));
        // A refused body.
        statuses.push(judged(&server, set, &id, r#"{"nothing":1}"#, &[]));
        assert_eq!(statuses, [200, 200, 400, 204, 200, 200, 400], "{set}");
    }
}
