//! Power cuts: the store runs on a simulated disk that keeps only what was synced (file data,
//! created and renamed names once their directory is synced), under concurrent clients, and the
//! power goes at a random operation, again and again, also while a restart replays or
//! compacts the journal. After every cut, a restart must hold every change that was
//! acknowledged, and each request that was not acknowledged either whole or not at all.
//!
//! A SIGKILL cannot show a missing sync (the page cache outlives the process); this can: delete
//! the writer's `sync_data` (or the compaction's directory sync) and it fails.
//!
//! The same disk fails a chosen write or sync with `EIO` or `ENOSPC`: the operation is not
//! acknowledged, the store says it failed (the server exits 3), and a restart recovers.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use common::{Dice, Model};
use restore_delta::{SessionKind, Timestamp};
use restore_delta_server::journal::sim::{Failing, SimFs};
use restore_delta_server::store::{Config, Inputs, Store};

fn db() -> PathBuf {
    PathBuf::from("/sim/restore.db")
}

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-12-06T10:00:00Z").unwrap()
}

fn inputs() -> Inputs {
    Inputs {
        prefer: Vec::new(),
        roots: Vec::new(),
        now: now(),
        actor: Some(serde_json::json!({"user": {"id": "u1", "displayName": "Ada"}})),
    }
}

fn open(fs: &SimFs, compact_after: usize) -> Result<Store, String> {
    let mut config = Config::new(Some(&db()), 11);
    config.fs = Arc::new(fs.clone());
    config.compact_after = compact_after;
    config.queue = 8;
    Store::open(config)
        .map(|(store, _)| store)
        .map_err(|e| e.to_string())
}

/// The artifacts of a session: id → restore point id.
async fn artifacts(store: &Store, id: &str) -> Option<BTreeMap<String, String>> {
    let reply = store.state(id, now()).await;
    if reply.status != 200 {
        return None;
    }
    let state: serde_json::Value = serde_json::from_str(reply.body.as_deref()?).ok()?;
    Some(
        state["driveRestoreArtifacts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        (
                            x["id"].as_str().unwrap_or_default().to_owned(),
                            x["restorePoint"]["id"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// A client that owns one session and sends it PATCHes one after the other (the model of
/// what it was told is [`Model`]).
#[derive(Debug, Clone)]
struct Patcher {
    tag: usize,
    id: String,
    model: Model,
}

impl Patcher {
    /// PATCHes until the store stops answering.
    async fn run(&mut self, store: &Store, dice: &mut Dice, limit: u64) {
        for _ in 0..limit {
            let body = self.model.next_body(&format!("c{}", self.tag), dice);
            let reply = store.patch(&self.id, None, body.as_bytes(), inputs()).await;
            if reply.status != 200 {
                assert_eq!(reply.status, 503, "{:?}", reply.body);
                return;
            }
            self.model.answered(reply.body.as_deref().unwrap_or("{}"));
            tokio::task::yield_now().await;
        }
    }
}

/// A client that creates and deletes sessions of its own.
#[derive(Debug, Clone, Default)]
struct Creator {
    acked: BTreeSet<String>,
    /// Not acknowledged: a create (its id unknown) or a delete of this id.
    doubt: Option<Option<String>>,
    acknowledged: u64,
}

impl Creator {
    fn settle(&mut self, found: &BTreeSet<String>) -> Result<(), String> {
        let doubt = self.doubt.take();
        let missing: Vec<&String> = self.acked.difference(found).collect();
        let extra: Vec<&String> = found.difference(&self.acked).collect();
        let fine = match &doubt {
            None => missing.is_empty() && extra.is_empty(),
            Some(None) => missing.is_empty() && extra.len() <= 1,
            Some(Some(deleted)) => {
                extra.is_empty() && (missing.is_empty() || missing == vec![deleted])
            }
        };
        if !fine {
            return Err(format!(
                "sessions: acknowledged {:?}, in doubt {doubt:?}, found {found:?}",
                self.acked
            ));
        }
        self.acked = found.clone();
        Ok(())
    }

    async fn run(&mut self, store: &Store, dice: &mut Dice, limit: u64) {
        for _ in 0..limit {
            let delete = !self.acked.is_empty() && dice.below(2) == 0;
            if delete {
                let id = self.acked.iter().next().cloned().unwrap_or_default();
                self.doubt = Some(Some(id.clone()));
                let reply = store.delete(&id, None, now()).await;
                if reply.status != 204 {
                    assert_eq!(reply.status, 503, "{:?}", reply.body);
                    return;
                }
                self.acked.remove(&id);
            } else {
                self.doubt = Some(None);
                let body = r#"{"driveRestoreArtifacts":[{"restorePoint":{"id":"made"},"destinationType":"new"}]}"#;
                let reply = store
                    .create(SessionKind::OneDriveForBusiness, body.as_bytes(), inputs())
                    .await;
                if reply.status != 201 {
                    assert_eq!(reply.status, 503, "{:?}", reply.body);
                    return;
                }
                let made: serde_json::Value =
                    serde_json::from_str(reply.body.as_deref().unwrap()).unwrap();
                self.acked.insert(made["id"].as_str().unwrap().to_owned());
            }
            self.doubt = None;
            self.acknowledged += 1;
            tokio::task::yield_now().await;
        }
    }
}

struct World {
    patchers: Vec<Patcher>,
    creator: Creator,
}

impl World {
    /// Checks a restarted store against what was acknowledged.
    async fn settle(&mut self, store: &Store) -> Result<u64, String> {
        let mut checked = 0;
        for p in &mut self.patchers {
            let found = artifacts(store, &p.id)
                .await
                .ok_or(format!("session {} of client {} is gone", p.id, p.tag))?;
            checked += p.model.acked.len() as u64;
            p.model
                .settle(&found)
                .map_err(|e| format!("client {}: {e}", p.tag))?;
        }
        let patched: BTreeSet<&String> = self.patchers.iter().map(|p| &p.id).collect();
        let found: BTreeSet<String> = store
            .session_ids()
            .into_iter()
            .filter(|id| !patched.contains(id))
            .collect();
        checked += self.creator.acked.len() as u64;
        self.creator.settle(&found)?;
        Ok(checked)
    }
}

/// Runs `rounds` power cuts; returns (cuts, acknowledged changes, changes checked after
/// restarts).
fn campaign(rounds: usize, seed: u64) -> Result<(usize, u64, u64), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut dice = Dice(seed);
        let mut fs = SimFs::new();
        // Set up: four sessions, each with a client of its own.
        let store = open(&fs, 10_000)?;
        let mut world = World {
            patchers: Vec::new(),
            creator: Creator::default(),
        };
        for tag in 0..4 {
            let reply = store
                .create(SessionKind::OneDriveForBusiness, b"{}", inputs())
                .await;
            assert_eq!(reply.status, 201);
            let made: serde_json::Value =
                serde_json::from_str(reply.body.as_deref().unwrap()).unwrap();
            world.patchers.push(Patcher {
                tag,
                id: made["id"].as_str().unwrap().to_owned(),
                model: Model::default(),
            });
        }
        store.close();
        drop(store);
        let mut checked = 0u64;
        for _ in 0..rounds {
            // The cut may come during the restart itself (replay, a cut tail, compaction).
            fs.cut_after(1 + dice.below(120));
            let compact_after = dice.below(40) as usize;
            match open(&fs, compact_after) {
                Ok(store) => {
                    checked += world.settle(&store).await?;
                    let store = Arc::new(store);
                    let mut tasks = Vec::new();
                    for mut p in world.patchers.drain(..) {
                        let (store, mut d) = (store.clone(), Dice(dice.below(u64::MAX)));
                        tasks.push(tokio::spawn(async move {
                            p.run(&store, &mut d, 1_000).await;
                            p
                        }));
                    }
                    let creator = {
                        let (store, mut d) = (store.clone(), Dice(dice.below(u64::MAX)));
                        let mut c = std::mem::take(&mut world.creator);
                        tokio::spawn(async move {
                            c.run(&store, &mut d, 1_000).await;
                            c
                        })
                    };
                    for t in tasks {
                        world.patchers.push(t.await.map_err(|e| e.to_string())?);
                    }
                    world.creator = creator.await.map_err(|e| e.to_string())?;
                    assert!(fs.is_cut(), "the clients stop only when the power goes");
                    let store = Arc::try_unwrap(store).map_err(|_| "store still shared")?;
                    store.close();
                }
                Err(e) => assert!(fs.is_cut(), "a restart failed without a cut: {e}"),
            }
            let mut pick = Dice(dice.below(u64::MAX));
            fs = fs.after_power_cut(|n| (pick.below(n as u64 + 1) as usize, pick.below(2) == 0));
        }
        // A last restart with the power on: everything acknowledged is there.
        let store = open(&fs, 10_000)?;
        checked += world.settle(&store).await?;
        let acknowledged = world
            .patchers
            .iter()
            .map(|p| p.model.acknowledged)
            .sum::<u64>()
            + world.creator.acknowledged;
        store.close();
        Ok((rounds, acknowledged, checked))
    })
}

#[test]
fn every_acknowledged_change_survives_power_cuts_at_random_moments() {
    let (cuts, acknowledged, checked) = campaign(300, 2026).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "{cuts} power cuts: {acknowledged} acknowledged changes; {checked} acknowledged \
         artifacts and sessions checked after the restarts"
    );
    assert!(
        acknowledged > 1_000,
        "the clients were acknowledged between the cuts"
    );
}

/// Runs one client until its `n`-th PATCH, then fails the next write or sync.
fn failing(what: Failing, kind: std::io::ErrorKind) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let fs = SimFs::new();
        let store = open(&fs, 10_000).unwrap();
        let reply = store
            .create(SessionKind::OneDriveForBusiness, b"{}", inputs())
            .await;
        let made: serde_json::Value = serde_json::from_str(reply.body.as_deref().unwrap()).unwrap();
        let mut p = Patcher {
            tag: 0,
            id: made["id"].as_str().unwrap().to_owned(),
            model: Model::default(),
        };
        let mut dice = Dice(5);
        p.run(&store, &mut dice, 20).await;
        assert_eq!(p.model.acknowledged, 20);
        fs.fail_next(what, kind);
        let mut failure = store.failure();
        p.run(&store, &mut dice, 20).await;
        assert_eq!(
            p.model.acknowledged, 20,
            "nothing acknowledged after the failure"
        );
        let why = failure
            .wait_for(Option::is_some)
            .await
            .unwrap()
            .clone()
            .unwrap();
        let expected = std::io::Error::from(kind).to_string();
        assert!(why.contains(&expected), "{why}");
        // Every later operation is refused too: the memory may be ahead of the file.
        assert_eq!(store.state(&p.id, now()).await.status, 503);
        assert_eq!(
            store
                .create(SessionKind::OneDriveForBusiness, b"{}", inputs())
                .await
                .status,
            503
        );
        store.close();
        drop(store);
        // The process ends (exit 3); a restart finds what it wrote.
        let restarted = fs.after_crash();
        let store = open(&restarted, 10_000).unwrap();
        let found = artifacts(&store, &p.id).await.unwrap();
        p.model.settle(&found).unwrap();
        p.run(&store, &mut dice, 5).await;
        assert_eq!(p.model.acknowledged, 25, "the restarted store stores again");
        store.close();
    });
}

#[test]
fn a_failed_write_or_sync_stops_acknowledging_and_a_restart_recovers() {
    failing(Failing::Write, std::io::ErrorKind::StorageFull);
    failing(Failing::Write, std::io::ErrorKind::Other);
    failing(Failing::Sync, std::io::ErrorKind::Other);
    failing(Failing::Sync, std::io::ErrorKind::StorageFull);
}
