//! Durability: clients drive concurrent PATCHes to several sessions while the server process is
//! killed with SIGKILL at random moments and restarted, 20 times. Afterwards every acknowledged
//! change is there, nothing unacknowledged is half-applied, and each session equals the
//! reference replay of the requests the journal holds, in which every acknowledged request
//! appears, in the order its client sent it, with the very answer the client got.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Dice, ROOT, Server, agent, create, reference_replay, temp_dir, try_call};

const SET: &str = "oneDriveForBusinessRestoreSessions";
const SESSIONS: usize = 4;
const KILLS: usize = 20;

/// What one client saw of one request.
struct Sent {
    body: String,
    /// `None`: no answer (the server died first).
    answer: Option<(u16, String)>,
}

/// Drives PATCHes to one session until the server dies: each adds three artifacts and removes
/// one the client saw added.
fn client(base: String, id: String, tag: String, mut present: Vec<String>, seed: u64) -> Vec<Sent> {
    let agent = agent();
    let mut dice = Dice(seed);
    let mut sent = Vec::new();
    for n in 0.. {
        let mut items: Vec<String> = (0..3)
            .map(|k| {
                format!(r#"{{"restorePoint":{{"id":"{tag}-{n}-{k}"}},"destinationType":"new"}}"#)
            })
            .collect();
        if !present.is_empty() {
            let gone = present.swap_remove(dice.below(present.len() as u64) as usize);
            items.push(format!(
                r#"{{"@removed":{{"reason":"changed"}},"id":"{gone}"}}"#
            ));
        }
        let body = format!(r#"{{"driveRestoreArtifacts@delta":[{}]}}"#, items.join(","));
        let url = format!("{base}{ROOT}/{SET}/{id}");
        match try_call(&agent, &url, "PATCH", Some(&body), &[]) {
            Ok(answer) => {
                assert_eq!(answer.status, 200, "{}", answer.text);
                for entry in answer.json()["driveRestoreArtifacts@delta"]
                    .as_array()
                    .unwrap()
                {
                    if let (Some(id), None) = (entry["id"].as_str(), entry.get("@removed")) {
                        present.push(id.to_owned());
                    }
                }
                sent.push(Sent {
                    body,
                    answer: Some((answer.status, answer.text)),
                });
            }
            Err(_) => {
                sent.push(Sent { body, answer: None });
                break;
            }
        }
    }
    sent
}

/// The ids of the artifacts a session holds, from the server.
fn present(server: &Server, id: &str) -> Vec<String> {
    let state = common::state(server, id).json();
    state["driveRestoreArtifacts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let dir = temp_dir("crash");
    let db = dir.join("restore.db");
    let mut server = Server::with_db(&db, &["--seed", "7"]);
    let ids: Vec<String> = (0..SESSIONS).map(|_| create(&server, SET)).collect();
    let mut dice = Dice(2026);
    let mut history: BTreeMap<String, Vec<Sent>> = BTreeMap::new();
    for round in 0..KILLS {
        let clients: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let (base, id2) = (server.base.clone(), id.clone());
                let before = present(&server, id);
                let seed = dice.below(u64::MAX);
                std::thread::spawn(move || client(base, id2, format!("r{round}s{i}"), before, seed))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + dice.below(200)));
        server.kill();
        for (id, c) in ids.iter().zip(clients) {
            history
                .entry(id.clone())
                .or_default()
                .extend(c.join().unwrap());
        }
        server = Server::with_db(&db, &[]);
    }
    let finals: BTreeMap<String, String> = ids
        .iter()
        .map(|id| {
            let state = common::state(&server, id);
            (id.clone(), state.text)
        })
        .collect();
    server.kill();

    let replay = reference_replay(&db);
    let mut acknowledged = 0;
    let mut unacknowledged_applied = 0;
    let mut unacknowledged = 0;
    for id in &ids {
        let journaled: Vec<_> = replay.patches.iter().filter(|p| &p.0 == id).collect();
        let mut at = 0;
        for sent in &history[id] {
            let found = journaled[at..]
                .iter()
                .position(|p| p.1 == sent.body.as_bytes())
                .map(|k| k + at);
            match (&sent.answer, found) {
                (Some((status, text)), Some(k)) => {
                    acknowledged += 1;
                    // Acknowledged with exactly the answer the reference gives.
                    assert_eq!(journaled[k].2, *status);
                    assert_eq!(journaled[k].3.as_deref(), Some(text.as_str()));
                    assert_eq!(k, at, "an acknowledged request follows the one before it");
                    at = k + 1;
                }
                (Some(_), None) => panic!("acknowledged but not stored: {}", sent.body),
                (None, Some(k)) => {
                    // Stored but the answer was lost with the process: whole, in its place.
                    unacknowledged += 1;
                    unacknowledged_applied += 1;
                    assert_eq!(k, at);
                    at = k + 1;
                }
                (None, None) => unacknowledged += 1,
            }
        }
        assert_eq!(
            at,
            journaled.len(),
            "the journal holds only what the client sent"
        );
        assert_eq!(
            replay.sessions.get(id),
            finals.get(id),
            "session {id} is the reference replay of its journaled requests"
        );
    }
    eprintln!(
        "{KILLS} kills: {acknowledged} acknowledged PATCHes all stored; {unacknowledged} \
         unanswered, {unacknowledged_applied} of them stored whole"
    );
    assert!(
        acknowledged > KILLS,
        "the clients got answers between the kills"
    );
    let _ = std::fs::remove_dir_all(dir);
}
