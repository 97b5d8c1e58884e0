//! Durability under SIGKILL: clients drive concurrent PATCHes to several sessions while the
//! server process is killed with SIGKILL at random moments and restarted, 20 times.
//!
//! The oracle reads nothing of the journal: each client knows what the answers it got said
//! (the artifacts each acknowledged PATCH added, with their ids, and removed) and which
//! request got no answer. After every restart, each session the server serves must hold every
//! acknowledged change, and the request in doubt either whole or not at all.
//! (A SIGKILL keeps the page cache, so this cannot see a missing sync: `tests/powercut.rs`
//! does.)

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Dice, Model, ROOT, Server, agent, create, temp_dir, try_call};

const SET: &str = "oneDriveForBusinessRestoreSessions";
const SESSIONS: usize = 4;
const KILLS: usize = 20;

/// Drives PATCHes to one session until the server dies.
fn client(base: String, id: String, tag: String, mut model: Model, seed: u64) -> Model {
    let agent = agent();
    let mut dice = Dice(seed);
    loop {
        let body = model.next_body(&tag, &mut dice);
        let url = format!("{base}{ROOT}/{SET}/{id}");
        match try_call(&agent, &url, "PATCH", Some(&body), &[]) {
            Ok(answer) => {
                assert_eq!(answer.status, 200, "{}", answer.text);
                model.answered(&answer.text);
            }
            Err(_) => return model,
        }
    }
}

/// The artifacts a session holds (id → restore point id), as the restarted server serves them.
fn served(server: &Server, id: &str) -> BTreeMap<String, String> {
    let state = common::state(server, id);
    assert_eq!(state.status, 200, "session {id}: {}", state.text);
    state.json()["driveRestoreArtifacts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["id"].as_str().unwrap().to_owned(),
                        x["restorePoint"]["id"].as_str().unwrap().to_owned(),
                    )
                })
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
    let mut models: Vec<Model> = vec![Model::default(); SESSIONS];
    let mut dice = Dice(2026);
    let mut in_doubt = 0;
    for round in 0..KILLS {
        let clients: Vec<_> = ids
            .iter()
            .zip(std::mem::take(&mut models))
            .enumerate()
            .map(|(i, (id, model))| {
                let (base, id) = (server.base.clone(), id.clone());
                let seed = dice.below(u64::MAX);
                std::thread::spawn(move || client(base, id, format!("r{round}s{i}"), model, seed))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + dice.below(200)));
        server.kill();
        models = clients.into_iter().map(|c| c.join().unwrap()).collect();
        // The same flags as the first start: a restart is never blocked by the killed
        // server's lock, and draws no id the journal holds.
        server = Server::with_db(&db, &["--seed", "7"]);
        for (id, model) in ids.iter().zip(models.iter_mut()) {
            in_doubt += usize::from(model.doubt.is_some());
            model
                .settle(&served(&server, id))
                .unwrap_or_else(|e| panic!("after kill {round}, session {id}: {e}"));
        }
    }
    server.kill();
    let acknowledged: u64 = models.iter().map(|m| m.acknowledged).sum();
    eprintln!(
        "{KILLS} kills: {acknowledged} acknowledged PATCHes all stored; {in_doubt} requests \
         in doubt, each whole or absent"
    );
    assert!(
        acknowledged > KILLS as u64,
        "the clients got answers between the kills"
    );
    let _ = std::fs::remove_dir_all(dir);
}
