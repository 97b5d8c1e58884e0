//! 16 clients, one session, 50 PATCHes each, all at once: no update is lost, and the final state
//! is the reference answer of the requests in the order the server logged them (its journal);
//! each client got exactly the answer the reference gives at its request's place in that order.

mod common;

use common::{ROOT, Server, agent, create, reference_replay, temp_dir, try_call};

const SET: &str = "exchangeRestoreSessions";

#[test]
fn sixteen_clients_on_one_session_are_applied_one_at_a_time() {
    let dir = temp_dir("concurrency");
    let db = dir.join("restore.db");
    let server = Server::with_db(&db, &["--seed", "3"]);
    let id = create(&server, SET);
    let url = server.url(&format!("{ROOT}/{SET}/{id}"));
    let clients: Vec<_> = (0..16)
        .map(|c| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent = agent();
                (0..50)
                    .map(|n| {
                        let mut items = vec![format!(
                            r#"{{"restorePoint":{{"id":"c{c}-{n}"}},"destinationType":"new"}}"#
                        )];
                        if n % 5 == 0 {
                            items.push(format!(
                                r#"{{"@removed":{{"reason":"deleted"}},"id":"missing-{c}-{n}"}}"#
                            ));
                        }
                        let body = format!(
                            r#"{{"mailboxRestoreArtifacts@delta":[{}]}}"#,
                            items.join(",")
                        );
                        let answer = try_call(&agent, &url, "PATCH", Some(&body), &[])
                            .unwrap_or_else(|e| panic!("{e}"));
                        (body, answer)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let sent: Vec<Vec<_>> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let state = common::state(&server, &id);
    let artifacts = state.json()["mailboxRestoreArtifacts"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(artifacts, 16 * 50, "no lost update");
    drop(server);

    let replay = reference_replay(&db);
    assert_eq!(replay.patches.len(), 16 * 50);
    for requests in &sent {
        let mut last = None;
        for (body, answer) in requests {
            assert_eq!(answer.status, 200, "{}", answer.text);
            let k = replay
                .patches
                .iter()
                .position(|p| p.1 == body.as_bytes())
                .expect("every answered request is in the journal");
            assert_eq!(replay.patches[k].2, answer.status);
            assert_eq!(replay.patches[k].3.as_deref(), Some(answer.text.as_str()));
            assert!(
                last < Some(k),
                "a client's requests are logged in the order it sent them"
            );
            last = Some(k);
        }
    }
    assert_eq!(replay.sessions.get(&id), Some(&state.text));
    let _ = std::fs::remove_dir_all(dir);
}
