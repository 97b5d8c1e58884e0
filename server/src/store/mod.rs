//! The sessions the server holds, and every operation on them.
//!
//! Sessions live in memory, each behind its own lock; the journal ([`crate::journal`]) records
//! the inputs of every change, so a restart rebuilds them by replaying it ([`recovery`]). An
//! operation that changes a session holds that session's lock from its decision until its
//! record is durable, so PATCHes to one session are applied and journaled one at a time in
//! arrival order, and different sessions proceed in parallel (their records share the
//! journal's group commit).
//!
//! Time and ids come in: every operation takes its clock value, and its id seed is the next
//! value of the server's seed stream ([`Seeds`]), so a server started with `--seed N` given the
//! same requests in the same order answers with the same ids.
//!
//! If the journal cannot store a record (a failed write or sync: `EIO`, `ENOSPC`), the
//! operation is not acknowledged, the store is marked failed before the session's lock is let
//! go (its memory may be ahead of its file), every later operation answers 503, and
//! [`Store::failure`] tells the server to stop; a restart recovers from the file.

pub mod recovery;
pub mod seeding;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex, RwLock as StdRwLock};

use restore_delta::lifecycle::query::{self, Query, SessionLister};
use restore_delta::lifecycle::{self, Progress, Schedule, Transitions};
use restore_delta::{
    ArtifactCollection, Context, Options, Request, SeededIds, Session, SessionKind, Timestamp,
    apply_request_in_place,
};
use tokio::sync::{Mutex, RwLock, watch};

use crate::deviate::{self, Deviations};
use crate::graph::{self, Reply};
use crate::journal::fs::LockGuard;
use crate::journal::{self, Op, Record, ScheduleRecord, Writer};
use crate::seeds::Seeds;

pub use recovery::{Config, OpenError, Recovered};

/// One session and its lifecycle bookkeeping.
struct Slot {
    session: Session,
    progress: Option<Progress>,
    /// Set when the session is deleted while a request was waiting for its lock.
    gone: bool,
}

type Shared = Arc<Mutex<Slot>>;

/// Everything the server holds.
pub struct Store {
    /// Every operation that changes something holds it shared; a reset holds it alone.
    gate: RwLock<()>,
    /// Creates one at a time: a new id is checked against the sessions and stored before the
    /// next create draws.
    creating: Mutex<()>,
    sessions: StdRwLock<BTreeMap<String, Shared>>,
    /// Sessions activated and maybe not yet completed, checked under this lock when a session
    /// is activated (at most [`lifecycle::MAX_ACTIVE_SESSIONS`] busy at once).
    busy: Mutex<BTreeSet<String>>,
    journal: Writer,
    seeds: StdMutex<Seeds>,
    schedule: Schedule,
    max_body_bytes: usize,
    /// The seed of this run's request ids and faults (drawn, and journaled, at start).
    run_seed: u64,
    /// Why the store stopped storing, once it has.
    failed: watch::Sender<Option<String>>,
    /// The journal's advisory lock, held while the store lives.
    _lock: Option<LockGuard>,
    db: Option<PathBuf>,
    /// Rules broken on purpose (`--deviate`, a testing aid); none on a faithful server.
    deviations: Deviations,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("db", &self.db)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

/// An operation's failure, rendered by [`graph`] as a Graph error.
pub type Fail = Reply;

/// The inputs of a create or a PATCH besides its body.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Every `Prefer` header value, in order.
    pub prefer: Vec<String>,
    /// The service roots a `restorePoint@odata.id` may use here (rule A2).
    pub roots: Vec<String>,
    /// The clock value.
    pub now: Timestamp,
    /// The caller's identity (an `identitySet`), written as `createdBy` and `lastModifiedBy`
    /// (rules L3, O6); `None` writes neither.
    pub actor: Option<serde_json::Value>,
}

/// The former name of [`Inputs`].
pub type PatchInputs = Inputs;

impl Store {
    fn read_sessions(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Shared>> {
        self.sessions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_sessions(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Shared>> {
        self.sessions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next seed, and how many were drawn with it.
    fn next_seed(&self) -> (u64, u64) {
        let mut seeds = self
            .seeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seed = seeds.draw();
        (seed, seeds.drawn())
    }

    fn drawn(&self) -> u64 {
        self.seeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drawn()
    }

    fn slot(&self, id: &str) -> Option<Shared> {
        self.read_sessions().get(id).cloned()
    }

    /// The largest body a request may have (rule E1).
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The rules this server breaks on purpose (`--deviate`, a testing aid): none on a
    /// faithful server.
    pub fn deviations(&self) -> Deviations {
        self.deviations
    }

    /// The seed of this run's request ids and injected faults: drawn from the seed stream when
    /// the store opened (and journaled), so that a restart with the same `--seed` does not
    /// hand out the request ids of the run before.
    pub fn run_seed(&self) -> u64 {
        self.run_seed
    }

    /// Why the store stopped storing, once it has (`None` while all is well); the server stops
    /// when it changes.
    pub fn failure(&self) -> watch::Receiver<Option<String>> {
        self.failed.subscribe()
    }

    fn failed_reply(&self) -> Option<Reply> {
        let failed = self.failed.borrow();
        failed.as_ref().map(|why| {
            Reply::error(
                503,
                "ServiceUnavailable",
                &format!(
                    "The server's store failed ({why}) and the server is stopping; nothing after \
                     the failure was acknowledged. Retry once it has restarted."
                ),
            )
        })
    }

    /// Stops storing: later appends fail, queued ones are written and synced first. Called
    /// when the server stops.
    pub fn close(&self) {
        self.journal.close();
    }

    /// Appends a record; a store that cannot make it durable must not go on answering from a
    /// memory that may be ahead of its file: it is marked failed (before the caller lets go of
    /// its session) and the operation gets 503.
    async fn durable(&self, record: &Record, body: &[u8]) -> Result<(), Reply> {
        match self.journal.append(journal::encode(record, body)).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let why = e.to_string();
                self.failed.send_if_modified(|failed| {
                    if failed.is_none() {
                        eprintln!(
                            "restore-delta-server: {why}; stopping: nothing more can be acknowledged"
                        );
                        *failed = Some(why.clone());
                        true
                    } else {
                        false
                    }
                });
                Err(self.failed_reply().unwrap_or_else(|| {
                    Reply::error(503, "ServiceUnavailable", "The server's store failed.")
                }))
            }
        }
    }

    /// `POST …RestoreSessions`: rules L1–L3, with the same options as a PATCH (the body limit,
    /// the server's own service roots, `Prefer`). The new session's id never equals a stored
    /// session's: the create is decided again with the next seed until it does not.
    pub async fn create(&self, kind: SessionKind, body: &[u8], inputs: Inputs) -> Reply {
        let _gate = self.gate.read().await;
        if let Some(failed) = self.failed_reply() {
            return failed;
        }
        let options = patch_options(&inputs.prefer, &inputs.roots, self.max_body_bytes);
        let _one = self.creating.lock().await;
        let (session, seed, drawn) = loop {
            let (seed, drawn) = self.next_seed();
            let mut ctx = context(inputs.now, seed, inputs.actor.as_ref());
            let session = match lifecycle::create(kind, body, &options, &mut ctx) {
                Ok(session) => session,
                Err(e) => return lifecycle_fail(&e),
            };
            if !self.read_sessions().contains_key(session.id()) {
                break (session, seed, drawn);
            }
        };
        let id = session.id().to_owned();
        let rendered = lifecycle::render_session(&session, &options);
        let record = Record::new(
            Op::Create {
                set: graph::set_of_kind(kind).to_owned(),
                now: inputs.now.to_string(),
                seed,
                id: id.clone(),
                prefer: inputs.prefer,
                roots: inputs.roots,
                max_bytes: Some(self.max_body_bytes as u64),
                actor: inputs.actor,
                digest: Some(journal::digest(201, None, Some(&rendered))),
            },
            drawn,
        );
        // Stored before it is visible: nobody can PATCH a session whose creation is not durable.
        if let Err(failed) = self.durable(&record, body).await {
            return failed;
        }
        self.write_sessions().insert(id, new_slot(session, None));
        Reply::json(201, rendered)
    }

    /// Finds a session for an operation: 400 for a malformed id, 404 for an unknown one.
    fn find(&self, id: &str) -> Result<Shared, Fail> {
        lifecycle::check_session_id(id).map_err(|e| lifecycle_fail(&e))?;
        let slot = self
            .slot(id)
            .ok_or_else(|| lifecycle_fail(&lifecycle::not_found(id)))?;
        Ok(slot)
    }

    /// Locks a session for an operation: also 404 for one of another kind than the path's set,
    /// or one deleted while the operation waited; 503 once the store failed.
    async fn lock(&self, id: &str, kind: Option<SessionKind>) -> Result<LockedSlot, Fail> {
        self.lock_found(self.find(id)?, id, kind).await
    }

    /// Locks a session already found.
    async fn lock_found(
        &self,
        shared: Shared,
        id: &str,
        kind: Option<SessionKind>,
    ) -> Result<LockedSlot, Fail> {
        let slot = shared.lock_owned().await;
        if let Some(failed) = self.failed_reply() {
            return Err(failed);
        }
        if slot.gone || kind.is_some_and(|k| slot.session.kind() != k) {
            return Err(lifecycle_fail(&lifecycle::not_found(id)));
        }
        Ok(slot)
    }

    /// `PATCH …/{id}`: the crate's apply. An unknown session is 404 before the body is looked
    /// at; the body is then parsed and refused (rules E1, E2) without any lock; only a body
    /// that passed waits for the session's lock.
    pub async fn patch(
        &self,
        id: &str,
        kind: Option<SessionKind>,
        body: &[u8],
        inputs: Inputs,
    ) -> Reply {
        if !self.deviations.is_empty() {
            return self.patch_deviating(id, kind, body, inputs).await;
        }
        let _gate = self.gate.read().await;
        let shared = match self.find(id) {
            Ok(shared) => shared,
            Err(fail) => return fail,
        };
        let options = patch_options(&inputs.prefer, &inputs.roots, self.max_body_bytes);
        let request = match Request::parse(body, &options) {
            Ok(request) => request,
            Err(error) => return Reply::engine(error.response()),
        };
        let mut slot = match self.lock_found(shared, id, kind).await {
            Ok(slot) => slot,
            Err(fail) => return fail,
        };
        catch_up(&mut slot, inputs.now);
        let (seed, drawn) = self.next_seed();
        let mut ctx = context(inputs.now, seed, inputs.actor.as_ref());
        let answer = apply_request_in_place(&mut slot.session, &request, &options, &mut ctx);
        let response = answer.response;
        if answer.error.is_none() {
            let answered = (
                response.status,
                response.preference_applied.as_deref(),
                response.body.as_ref().map(|b| b.get()),
            );
            let record = self.patch_record(id, inputs, (seed, drawn), answered, Vec::new());
            if let Err(failed) = self.durable(&record, body).await {
                return failed;
            }
        }
        drop(slot);
        Reply::engine(response)
    }

    /// The journal record of a PATCH that committed: every input its decision depended on
    /// (the `Prefer` values, the service roots and body limit in force, the clock, the seed, the
    /// caller's identity, the deviations that could change it), the digest of the answer
    /// given (status, `Preference-Applied`, body), and the count of seeds drawn.
    fn patch_record(
        &self,
        id: &str,
        inputs: Inputs,
        (seed, drawn): (u64, u64),
        (status, preference_applied, body): (u16, Option<&str>, Option<&str>),
        deviate: Vec<String>,
    ) -> Record {
        Record::new(
            Op::Patch {
                id: id.to_owned(),
                prefer: inputs.prefer,
                roots: inputs.roots,
                now: inputs.now.to_string(),
                seed,
                status,
                max_bytes: Some(self.max_body_bytes as u64),
                actor: inputs.actor,
                digest: Some(journal::digest(status, preference_applied, body)),
                deviate,
            },
            drawn,
        )
    }

    /// [`Store::patch`] with deviations in force ([`deviate`]): the same steps (404, then the
    /// body refused without a lock, then the decision under the session's lock, journaled when
    /// it commits), the decision [`deviate::decide`]'s, and the deviations that could change it
    /// in its record.
    async fn patch_deviating(
        &self,
        id: &str,
        kind: Option<SessionKind>,
        body: &[u8],
        inputs: Inputs,
    ) -> Reply {
        let devs = self.deviations;
        let _gate = self.gate.read().await;
        let shared = match self.find(id) {
            Ok(shared) => shared,
            Err(fail) => return fail,
        };
        let options = patch_options(&inputs.prefer, &inputs.roots, self.max_body_bytes);
        if let Err(error) = Request::parse(body, &options) {
            return deviate::refused(Reply::engine(error.response()), error.rule, devs);
        }
        let mut slot = match self.lock_found(shared, id, kind).await {
            Ok(slot) => slot,
            Err(fail) => return fail,
        };
        catch_up(&mut slot, inputs.now);
        let (seed, drawn) = self.next_seed();
        let decided = deviate::decide(
            &mut slot.session,
            body,
            &options,
            inputs.now,
            seed,
            inputs.actor.as_ref(),
            devs,
        );
        let reply = decided.reply;
        if decided.committed {
            let answered = (
                reply.status,
                reply.preference_applied.as_deref(),
                reply.body.as_deref(),
            );
            let deviate = devs
                .journaled()
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect();
            let record = self.patch_record(id, inputs, (seed, drawn), answered, deviate);
            if let Err(failed) = self.durable(&record, body).await {
                return failed;
            }
        }
        drop(slot);
        reply
    }

    /// `GET …/{id}`: the session without its collections, or as its query asks
    /// (`$select`, `$expand`: rules Q2, Q3).
    pub async fn get(
        &self,
        id: &str,
        kind: Option<SessionKind>,
        now: Timestamp,
        query: &Query,
        options: &Options,
    ) -> Reply {
        let mut slot = match self.lock(id, kind).await {
            Ok(slot) => slot,
            Err(fail) => return fail,
        };
        catch_up(&mut slot, now);
        Reply::json(200, query::render_one(&slot.session, query, options))
    }

    /// The whole state of a session, collections included (`GET /_restore-delta/sessions/{id}`).
    pub async fn state(&self, id: &str, now: Timestamp) -> Reply {
        let mut slot = match self.lock(id, None).await {
            Ok(slot) => slot,
            Err(fail) => return fail,
        };
        catch_up(&mut slot, now);
        Reply::json(200, slot.session.to_json())
    }

    /// `GET …RestoreSessions`: the sessions (of one kind, or all) the query asks for, one page
    /// (rules Q1–Q9). Each session is locked only while it is offered to the lister, which keeps
    /// the renderings of at most `$skip + $top` of them; no session is copied.
    pub async fn list(
        &self,
        kind: Option<SessionKind>,
        query: &Query,
        options: &Options,
        now: Timestamp,
    ) -> Result<query::Page, Reply> {
        let all: Vec<Shared> = self.read_sessions().values().cloned().collect();
        let mut lister = SessionLister::new(query, options);
        for shared in all {
            let mut slot = shared.lock().await;
            if let Some(failed) = self.failed_reply() {
                return Err(failed);
            }
            if slot.gone || kind.is_some_and(|k| slot.session.kind() != k) {
                continue;
            }
            catch_up(&mut slot, now);
            lister.offer(&slot.session);
        }
        Ok(lister.finish())
    }

    /// `GET …/{id}/{collection}`: one page of a session's artifacts, as the query asks.
    pub async fn artifacts(
        &self,
        id: &str,
        kind: Option<SessionKind>,
        collection: ArtifactCollection,
        query: &Query,
        options: &Options,
        now: Timestamp,
    ) -> Result<query::Page, Reply> {
        let mut slot = self.lock(id, kind).await?;
        if collection.kind() != slot.session.kind() {
            return Err(graph::not_found_path());
        }
        catch_up(&mut slot, now);
        Ok(query::artifacts(&slot.session, collection, query, options))
    }

    /// `DELETE …/{id}`: drafts only.
    pub async fn delete(&self, id: &str, kind: Option<SessionKind>, now: Timestamp) -> Reply {
        let _gate = self.gate.read().await;
        let mut slot = match self.lock(id, kind).await {
            Ok(slot) => slot,
            Err(fail) => return fail,
        };
        catch_up(&mut slot, now);
        if let Err(e) = lifecycle::check_delete(&slot.session) {
            return lifecycle_fail(&e);
        }
        let record = Record::new(Op::Delete { id: id.to_owned() }, self.drawn());
        if let Err(failed) = self.durable(&record, b"").await {
            return failed;
        }
        slot.gone = true;
        self.write_sessions().remove(id);
        Reply::empty(204)
    }

    /// `POST …/{id}/activate`.
    pub async fn activate(&self, id: &str, kind: Option<SessionKind>, now: Timestamp) -> Reply {
        let _gate = self.gate.read().await;
        // One activation at a time: the count of busy sessions holds until this one is stored.
        let mut busy = self.busy.lock().await;
        let mut slot = match self.lock(id, kind).await {
            Ok(slot) => slot,
            Err(fail) => return fail,
        };
        catch_up(&mut slot, now);
        let mut still = 0usize;
        let candidates: Vec<String> = busy.iter().filter(|b| *b != id).cloned().collect();
        for other in candidates {
            let Some(shared) = self.slot(&other) else {
                busy.remove(&other);
                continue;
            };
            let mut other_slot = shared.lock().await;
            catch_up(&mut other_slot, now);
            if lifecycle::is_busy(&other_slot.session) {
                still += 1;
            } else {
                busy.remove(&other);
            }
        }
        let progress = match lifecycle::activate(&mut slot.session, still, &self.schedule, now) {
            Ok(progress) => progress,
            Err(e) => return lifecycle_fail(&e),
        };
        slot.progress = Some(progress);
        let rendered = lifecycle::render_session(&slot.session, &Options::default());
        let record = Record::new(
            Op::Activate {
                id: id.to_owned(),
                now: now.to_string(),
                schedule: schedule_record(&self.schedule),
                digest: Some(journal::digest(200, None, Some(&rendered))),
            },
            self.drawn(),
        );
        if let Err(failed) = self.durable(&record, b"").await {
            return failed;
        }
        busy.insert(id.to_owned());
        drop(busy);
        Reply::json(200, rendered)
    }

    /// `POST /_restore-delta/sessions/{id}/advance`: one step in manual mode.
    pub async fn step(&self, id: &str, now: Timestamp) -> Reply {
        let _gate = self.gate.read().await;
        let mut slot = match self.lock(id, None).await {
            Ok(slot) => slot,
            Err(fail) => return fail,
        };
        let Slot {
            session, progress, ..
        } = &mut *slot;
        let Some(progress) = progress.as_mut() else {
            return Reply::error(409, "NotActivated", "the session is not activated");
        };
        if let Err(e) = lifecycle::step(session, progress, now) {
            return lifecycle_fail(&e);
        }
        let rendered = lifecycle::render_session(&slot.session, &Options::default());
        let record = Record::new(
            Op::Step {
                id: id.to_owned(),
                now: now.to_string(),
                digest: Some(journal::digest(200, None, Some(&rendered))),
            },
            self.drawn(),
        );
        if let Err(failed) = self.durable(&record, b"").await {
            return failed;
        }
        Reply::json(200, rendered)
    }

    /// `POST /_restore-delta/reset`: forgets every session, in memory and on file (the journal
    /// is emptied and a reset record written, so the seed stream goes on).
    pub async fn reset(&self) -> Reply {
        let _gate = self.gate.write().await;
        if let Some(failed) = self.failed_reply() {
            return failed;
        }
        let record = Record::new(Op::Reset {}, self.drawn());
        if let Err(e) = self.journal.reset(journal::encode(&record, b"")).await {
            let why = e.to_string();
            eprintln!("restore-delta-server: {why}; stopping");
            self.failed.send_replace(Some(why));
            return self.failed_reply().unwrap_or_else(|| Reply::empty(503));
        }
        let old = std::mem::take(&mut *self.write_sessions());
        for shared in old.values() {
            shared.lock().await.gone = true;
        }
        self.busy.lock().await.clear();
        Reply::empty(204)
    }

    /// `PUT /_restore-delta/sessions/{id}`: the session whole, as `state` ([`seeding`]): a new
    /// one (201) or in place of the one of that id (200). Its id must be the path's.
    pub async fn put(&self, id: &str, state: &[u8], now: Timestamp) -> Reply {
        let _gate = self.gate.read().await;
        if let Some(failed) = self.failed_reply() {
            return failed;
        }
        if let Err(e) = lifecycle::check_session_id(id) {
            return lifecycle_fail(&e);
        }
        let session = match Session::from_json(state) {
            Ok(session) => session,
            Err(e) => {
                return Reply::error(400, "BadRequest", &format!("The state cannot be read: {e}"));
            }
        };
        if session.id() != id {
            return Reply::error(
                400,
                "BadRequest",
                &format!(
                    "The path names session {id}; the state's id is {}.",
                    session.id()
                ),
            );
        }
        let _one = self.creating.lock().await;
        let old = match self.slot(id) {
            Some(shared) => Some(shared.lock_owned().await),
            None => None,
        };
        let progress = seeding::progress_for(&session, &self.schedule, now);
        let record = Record::new(
            Op::Put {
                id: id.to_owned(),
                progress: progress.as_ref().map(seeding::record_of),
            },
            self.drawn(),
        );
        if let Err(failed) = self.durable(&record, state).await {
            return failed;
        }
        let rendered = session.to_json();
        self.place(session, progress).await;
        let replaced = old.map(|mut slot| slot.gone = true).is_some();
        Reply::json(if replaced { 200 } else { 201 }, rendered)
    }

    /// Holds `session` in place of any of its id, busy when its status says so.
    async fn place(&self, session: Session, progress: Option<Progress>) {
        let id = session.id().to_owned();
        let busy = lifecycle::is_busy(&session);
        self.write_sessions()
            .insert(id.clone(), new_slot(session, progress));
        let mut set = self.busy.lock().await;
        if busy {
            set.insert(id);
        } else {
            set.remove(&id);
        }
    }

    /// `GET /_restore-delta/export`: every session and its lifecycle progress, one document.
    pub async fn export(&self, now: Timestamp) -> Reply {
        let all: Vec<Shared> = self.read_sessions().values().cloned().collect();
        let mut out = format!("{{\"format\":\"{}\",\"sessions\":[", seeding::FORMAT);
        let mut first = true;
        for shared in all {
            let mut slot = shared.lock().await;
            if let Some(failed) = self.failed_reply() {
                return failed;
            }
            if slot.gone {
                continue;
            }
            catch_up(&mut slot, now);
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&seeding::entry(
                &slot.session.to_json(),
                slot.progress.as_ref(),
            ));
        }
        out.push_str("]}");
        Reply::json(200, out)
    }

    /// `POST /_restore-delta/import` (and `--import`): the sessions of an export document, each
    /// in place of any of its id (with `replace`, every session held before is dropped first).
    /// The whole document is read first: one error and nothing is stored.
    pub async fn import(&self, document: &[u8], replace: bool, now: Timestamp) -> Reply {
        let _gate = self.gate.write().await;
        if let Some(failed) = self.failed_reply() {
            return failed;
        }
        let (imported, normal) = match seeding::read(document, &self.schedule, now) {
            Ok(read) => read,
            Err(e) => {
                return Reply::error(400, "BadRequest", &format!("The import is refused: {e}"));
            }
        };
        let record = Record::new(
            Op::Import {
                now: now.to_string(),
                replace,
            },
            self.drawn(),
        );
        if let Err(failed) = self.durable(&record, normal.as_bytes()).await {
            return failed;
        }
        if replace {
            let old = std::mem::take(&mut *self.write_sessions());
            for shared in old.values() {
                shared.lock().await.gone = true;
            }
            self.busy.lock().await.clear();
        }
        let count = imported.len();
        for item in imported {
            if let Some(old) = self.slot(item.session.id()) {
                old.lock().await.gone = true;
            }
            self.place(item.session, item.progress).await;
        }
        Reply::json(200, format!("{{\"imported\":{count}}}"))
    }

    /// How many sessions are held.
    pub fn session_count(&self) -> usize {
        self.read_sessions().len()
    }

    /// Whether the store has failed (the health check reports it).
    pub fn has_failed(&self) -> bool {
        self.failed.borrow().is_some()
    }
}

type LockedSlot = tokio::sync::OwnedMutexGuard<Slot>;

/// The engine's options for a request with these `Prefer` values, service roots and body limit.
pub fn patch_options(prefer: &[String], roots: &[String], max_body_bytes: usize) -> Options {
    let mut options = Options::default().with_max_bytes(max_body_bytes);
    for root in roots {
        options = options.with_service_root(root);
    }
    for value in prefer {
        options = options.with_prefer(value);
    }
    options
}

/// The engine's context for a decision: the clock value, the id seed, the caller.
pub fn context(now: Timestamp, seed: u64, actor: Option<&serde_json::Value>) -> Context {
    let ctx = Context::new(now, SeededIds::new(seed));
    match actor {
        Some(actor) => ctx.with_actor(actor),
        None => ctx,
    }
}

fn new_slot(session: Session, progress: Option<Progress>) -> Shared {
    Arc::new(Mutex::new(Slot {
        session,
        progress,
        gone: false,
    }))
}

fn catch_up(slot: &mut Slot, now: Timestamp) {
    let Slot {
        session, progress, ..
    } = slot;
    if let Some(progress) = progress.as_mut() {
        lifecycle::catch_up(session, progress, now);
    }
}

fn lifecycle_fail(e: &restore_delta::RequestError) -> Reply {
    Reply::graph_error(e.status, e.body())
}

/// The journal's form of a schedule.
pub fn schedule_record(schedule: &Schedule) -> ScheduleRecord {
    let (transitions, to_active_secs, to_completed_secs) = match schedule.transitions {
        Transitions::Immediate => ("immediate", 0, 0),
        Transitions::Timed {
            to_active_secs,
            to_completed_secs,
        } => ("timed", to_active_secs, to_completed_secs),
        Transitions::Manual => ("manual", 0, 0),
        _ => ("timed", 0, 0),
    };
    ScheduleRecord {
        transitions: transitions.to_owned(),
        to_active_secs,
        to_completed_secs,
        failed_per_mille: schedule.failed_per_mille,
        seed: schedule.seed,
    }
}

pub(crate) fn schedule_from(record: &ScheduleRecord) -> Result<Schedule, String> {
    let transitions = match record.transitions.as_str() {
        "immediate" => Transitions::Immediate,
        "manual" => Transitions::Manual,
        "timed" => Transitions::Timed {
            to_active_secs: record.to_active_secs,
            to_completed_secs: record.to_completed_secs,
        },
        other => return Err(format!("unknown transitions {other}")),
    };
    Ok(Schedule::new(transitions)
        .with_failed_per_mille(record.failed_per_mille)
        .with_seed(record.seed))
}
