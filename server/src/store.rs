//! The sessions the server holds, and every operation on them.
//!
//! Sessions live in memory, each behind its own lock; the journal ([`crate::journal`]) records
//! the inputs of every change, so a restart rebuilds them by replaying it. An operation that
//! changes a session holds that session's lock from its decision until its record is durable,
//! so PATCHes to one session are applied and journaled one at a time in arrival order, and
//! different sessions proceed in parallel (their records share the journal's group commit).
//!
//! Time and ids come in: every operation takes its clock value, and its id seed is drawn from
//! the server's seed stream ([`Seeds`]), so a server started with `--seed N` given the same
//! requests in the same order answers with the same ids.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex as StdMutex, RwLock as StdRwLock};

use restore_delta::lifecycle::{self, Progress, Schedule, Transitions};
use restore_delta::{
    ArtifactCollection, Context, Options, Request, RequestError, SeededIds, Session, SessionKind,
    Timestamp, apply_in_place, apply_request_in_place,
};
use tokio::sync::{Mutex, RwLock};

use crate::graph::{self, Reply};
use crate::journal::{self, JournalError, ProgressRecord, Record, ScheduleRecord, Writer};

/// A stream of seeds (SplitMix64): one per operation that draws ids.
#[derive(Debug)]
pub struct Seeds(u64);

impl Seeds {
    /// The stream that starts from `seed`.
    pub fn new(seed: u64) -> Seeds {
        Seeds(seed)
    }

    /// The next value.
    pub fn draw(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// One session and its lifecycle bookkeeping.
struct Slot {
    session: Session,
    progress: Option<Progress>,
    /// Set when the session is deleted while a request was waiting for its lock.
    gone: bool,
}

type Shared = Arc<Mutex<Slot>>;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The journal could not be read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A record does not replay to what it recorded (written by another engine version, or
    /// edited).
    #[error("journal record {index} ({op}) does not replay: {reason}")]
    Replay {
        /// The record's number.
        index: usize,
        /// Its operation.
        op: &'static str,
        /// Why.
        reason: String,
    },
}

/// What a started store found in its journal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recovered {
    /// Records replayed.
    pub records: usize,
    /// Sessions held afterwards.
    pub sessions: usize,
    /// Bytes of a torn tail cut off.
    pub cut: u64,
    /// Records the journal was compacted to (one snapshot per session), when it was.
    pub compacted: Option<usize>,
}

/// Everything the server holds.
pub struct Store {
    /// Every operation that changes something holds it shared; a reset holds it alone.
    gate: RwLock<()>,
    sessions: StdRwLock<BTreeMap<String, Shared>>,
    /// Sessions activated and maybe not yet completed, checked under this lock when a session
    /// is activated (at most [`lifecycle::MAX_ACTIVE_SESSIONS`] busy at once).
    busy: Mutex<BTreeSet<String>>,
    journal: Writer,
    seeds: StdMutex<Seeds>,
    schedule: Schedule,
    max_body_bytes: usize,
}

/// An operation's failure, rendered by [`graph`] as a Graph error.
pub type Fail = Reply;

impl Store {
    /// Opens the store: replays the journal at `db` (or starts empty in memory when `None`).
    ///
    /// When the journal holds more than `compact_after` records beyond one per session, it is
    /// compacted before the server answers anything: rewritten as one snapshot per session
    /// ([`journal::rewrite`]), so that the next start reads states instead of replaying
    /// history. This costs the size of the sessions, once, at start; a PATCH never does.
    pub fn open(
        db: Option<&Path>,
        seed: u64,
        schedule: Schedule,
        max_body_bytes: usize,
        compact_after: usize,
    ) -> Result<(Store, Recovered), OpenError> {
        let mut store = Store {
            gate: RwLock::new(()),
            sessions: StdRwLock::new(BTreeMap::new()),
            busy: Mutex::new(BTreeSet::new()),
            journal: Writer::in_memory(),
            seeds: StdMutex::new(Seeds::new(seed)),
            schedule,
            max_body_bytes,
        };
        let mut recovered = Recovered::default();
        if let Some(path) = db {
            let (file, opened) = journal::open(path)?;
            recovered.cut = opened.cut;
            recovered.records = opened.entries.len();
            for (index, entry) in opened.entries.into_iter().enumerate() {
                store
                    .replay(&entry.record, &entry.body)
                    .map_err(|reason| OpenError::Replay {
                        index,
                        op: op_name(&entry.record),
                        reason,
                    })?;
            }
            let live = store.read_sessions().len();
            let file = if recovered.records > live.saturating_add(compact_after) {
                drop(file);
                let snapshots = store.snapshots();
                recovered.compacted = Some(snapshots.len());
                journal::rewrite(
                    path,
                    snapshots
                        .iter()
                        .map(|(r, body)| (r.clone(), body.as_bytes())),
                )?
            } else {
                file
            };
            store.journal =
                Writer::start(file, path.to_owned()).map_err(|source| JournalError::Io {
                    path: path.to_owned(),
                    source,
                })?;
        }
        recovered.sessions = store.read_sessions().len();
        Ok((store, recovered))
    }

    /// One snapshot record per session, in id order, with its state as the body (at start,
    /// when nothing else holds a session).
    fn snapshots(&self) -> Vec<(Record, String)> {
        self.read_sessions()
            .iter()
            .filter_map(|(id, shared)| {
                let slot = shared.try_lock().ok()?;
                let progress = slot.progress.as_ref().map(|p| ProgressRecord {
                    schedule: schedule_record(p.schedule()),
                    entered: p.entered_at().iter().map(ToString::to_string).collect(),
                });
                let record = Record::Snapshot {
                    id: id.clone(),
                    progress,
                };
                Some((record, slot.session.to_json()))
            })
            .collect()
    }

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

    fn next_seed(&self) -> u64 {
        self.seeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .draw()
    }

    fn slot(&self, id: &str) -> Option<Shared> {
        self.read_sessions().get(id).cloned()
    }

    /// The largest body a request may have (rule E1).
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Applies one journal record to the sessions in memory (at start).
    fn replay(&mut self, record: &Record, body: &[u8]) -> Result<(), String> {
        let sessions = self
            .sessions
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match record {
            Record::Create { set, now, seed, id } => {
                let kind = graph::kind_of_set(set).ok_or(format!("unknown set {set}"))?;
                let now = parse_now(now)?;
                let mut ctx = Context::new(now, SeededIds::new(*seed));
                let session = lifecycle::create(kind, body, &Options::default(), &mut ctx)
                    .map_err(|e| format!("create refused: {}", e.message))?;
                if session.id() != id {
                    return Err(format!("created {} where {id} was recorded", session.id()));
                }
                sessions.insert(id.clone(), new_slot(session, None));
            }
            Record::Patch {
                id,
                prefer,
                roots,
                now,
                seed,
                status,
            } => {
                let slot = sessions.get(id).ok_or(format!("no session {id}"))?;
                let mut slot = slot.try_lock().map_err(|e| e.to_string())?;
                let now = parse_now(now)?;
                catch_up(&mut slot, now);
                let options = patch_options(prefer, roots, self.max_body_bytes);
                let mut ctx = Context::new(now, SeededIds::new(*seed));
                let answer = apply_in_place(&mut slot.session, body, &options, &mut ctx);
                if answer.response.status != *status {
                    return Err(format!(
                        "answered {} where {status} was recorded",
                        answer.response.status
                    ));
                }
            }
            Record::Delete { id } => {
                sessions.remove(id).ok_or(format!("no session {id}"))?;
            }
            Record::Activate { id, now, schedule } => {
                let slot = sessions.get(id).ok_or(format!("no session {id}"))?;
                let mut slot = slot.try_lock().map_err(|e| e.to_string())?;
                let now = parse_now(now)?;
                catch_up(&mut slot, now);
                let schedule = schedule_from(schedule)?;
                let progress = lifecycle::activate(&mut slot.session, 0, &schedule, now)
                    .map_err(|e| format!("activate refused: {}", e.message))?;
                slot.progress = Some(progress);
                self.busy.get_mut().insert(id.clone());
            }
            Record::Snapshot { id, progress } => {
                let session = Session::from_json(body).map_err(|e| e.to_string())?;
                let progress = match progress {
                    None => None,
                    Some(p) => {
                        let entered = p
                            .entered
                            .iter()
                            .map(|t| parse_now(t))
                            .collect::<Result<Vec<_>, _>>()?;
                        let resumed = Progress::resume(schedule_from(&p.schedule)?, &entered)
                            .ok_or("a snapshot's progress does not resume")?;
                        self.busy.get_mut().insert(id.clone());
                        Some(resumed)
                    }
                };
                sessions.insert(id.clone(), new_slot(session, progress));
            }
            Record::Step { id, now } => {
                let slot = sessions.get(id).ok_or(format!("no session {id}"))?;
                let mut slot = slot.try_lock().map_err(|e| e.to_string())?;
                let now = parse_now(now)?;
                let Slot {
                    session, progress, ..
                } = &mut *slot;
                let progress = progress.as_mut().ok_or("step of a session not activated")?;
                lifecycle::step(session, progress, now)
                    .map_err(|e| format!("step refused: {}", e.message))?;
            }
        }
        Ok(())
    }

    /// Appends a record; a store that cannot make it durable must not go on answering from a
    /// memory that is ahead of its file, so the process stops (the restart replays the file).
    async fn durable(&self, record: &Record, body: &[u8]) {
        if let Err(e) = self.journal.append(record, body).await {
            eprintln!("restore-delta-server: {e}; stopping: nothing more can be acknowledged");
            std::process::abort();
        }
    }

    /// `POST …RestoreSessions`.
    pub async fn create(&self, kind: SessionKind, body: &[u8], now: Timestamp) -> Reply {
        let _gate = self.gate.read().await;
        let seed = self.next_seed();
        let mut ctx = Context::new(now, SeededIds::new(seed));
        let session = match lifecycle::create(kind, body, &Options::default(), &mut ctx) {
            Ok(session) => session,
            Err(e) => return lifecycle_fail(&e),
        };
        let id = session.id().to_owned();
        let rendered = lifecycle::render_session(&session, &Options::default());
        let record = Record::Create {
            set: graph::set_of_kind(kind).to_owned(),
            now: now.to_string(),
            seed,
            id: id.clone(),
        };
        // Stored before it is visible: nobody can PATCH a session whose creation is not durable.
        self.durable(&record, body).await;
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
    /// or one deleted while the operation waited.
    async fn lock(&self, id: &str, kind: Option<SessionKind>) -> Result<LockedSlot, Fail> {
        lock_found(self.find(id)?, id, kind).await
    }

    /// `PATCH …/{id}`: the crate's apply. An unknown session is 404 before the body is looked
    /// at; the body is then parsed and refused (rules E1, E2) without any lock; only a body
    /// that passed waits for the session's lock.
    pub async fn patch(
        &self,
        id: &str,
        kind: Option<SessionKind>,
        body: &[u8],
        patch: PatchInputs,
    ) -> Reply {
        let _gate = self.gate.read().await;
        let shared = match self.find(id) {
            Ok(shared) => shared,
            Err(fail) => return fail,
        };
        let options = patch_options(&patch.prefer, &patch.roots, self.max_body_bytes);
        let request = match Request::parse(body, &options) {
            Ok(request) => request,
            Err(error) => return Reply::engine(error.response()),
        };
        let mut slot = match lock_found(shared, id, kind).await {
            Ok(slot) => slot,
            Err(fail) => return fail,
        };
        catch_up(&mut slot, patch.now);
        let seed = self.next_seed();
        let mut ctx = Context::new(patch.now, SeededIds::new(seed));
        let answer = apply_request_in_place(&mut slot.session, &request, &options, &mut ctx);
        let status = answer.response.status;
        if answer.error.is_none() {
            let record = Record::Patch {
                id: id.to_owned(),
                prefer: patch.prefer,
                roots: patch.roots,
                now: patch.now.to_string(),
                seed,
                status,
            };
            self.durable(&record, body).await;
        }
        drop(slot);
        Reply::engine(answer.response)
    }

    /// `GET …/{id}`: the session without its collections.
    pub async fn get(
        &self,
        id: &str,
        kind: Option<SessionKind>,
        now: Timestamp,
        options: &Options,
    ) -> Reply {
        let mut slot = match self.lock(id, kind).await {
            Ok(slot) => slot,
            Err(fail) => return fail,
        };
        catch_up(&mut slot, now);
        Reply::json(200, lifecycle::render_session(&slot.session, options))
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

    /// `GET …RestoreSessions`: every session (of one kind, or all), in id order, paged.
    pub async fn list(
        &self,
        kind: Option<SessionKind>,
        page: graph::Page,
        now: Timestamp,
        options: &Options,
    ) -> Reply {
        let all: Vec<Shared> = self.read_sessions().values().cloned().collect();
        let mut rendered = Vec::new();
        let mut matched = 0usize;
        let mut more = false;
        for shared in all {
            let mut slot = shared.lock().await;
            if slot.gone || kind.is_some_and(|k| slot.session.kind() != k) {
                continue;
            }
            if matched >= page.skip + page.top {
                more = true;
                break;
            }
            if matched >= page.skip {
                catch_up(&mut slot, now);
                rendered.push(lifecycle::render_session(&slot.session, options));
            }
            matched += 1;
        }
        Reply::json(200, graph::page_body(&page, &rendered.join(","), more))
    }

    /// `GET …/{id}/{collection}`: one page of a session's artifacts.
    pub async fn artifacts(
        &self,
        id: &str,
        kind: Option<SessionKind>,
        collection: &str,
        page: graph::Page,
        now: Timestamp,
    ) -> Reply {
        let mut slot = match self.lock(id, kind).await {
            Ok(slot) => slot,
            Err(fail) => return fail,
        };
        let Some(collection) =
            ArtifactCollection::from_name(collection).filter(|c| c.kind() == slot.session.kind())
        else {
            return graph::not_found_path();
        };
        catch_up(&mut slot, now);
        let (items, more) =
            lifecycle::render_artifacts(&slot.session, collection, page.skip, page.top);
        let items = items.trim_start_matches('[').trim_end_matches(']');
        Reply::json(200, graph::page_body(&page, items, more))
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
        self.durable(&Record::Delete { id: id.to_owned() }, b"")
            .await;
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
        let record = Record::Activate {
            id: id.to_owned(),
            now: now.to_string(),
            schedule: schedule_record(&self.schedule),
        };
        self.durable(&record, b"").await;
        busy.insert(id.to_owned());
        drop(busy);
        Reply::json(
            200,
            lifecycle::render_session(&slot.session, &Options::default()),
        )
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
        let record = Record::Step {
            id: id.to_owned(),
            now: now.to_string(),
        };
        self.durable(&record, b"").await;
        Reply::json(
            200,
            lifecycle::render_session(&slot.session, &Options::default()),
        )
    }

    /// `POST /_restore-delta/reset`: forgets every session, in memory and on file.
    pub async fn reset(&self) -> Reply {
        let _gate = self.gate.write().await;
        if let Err(e) = self.journal.reset().await {
            eprintln!("restore-delta-server: {e}; stopping");
            std::process::abort();
        }
        let old = std::mem::take(&mut *self.write_sessions());
        for shared in old.values() {
            shared.lock().await.gone = true;
        }
        self.busy.lock().await.clear();
        Reply::empty(204)
    }

    /// How many sessions are held.
    pub fn session_count(&self) -> usize {
        self.read_sessions().len()
    }
}

type LockedSlot = tokio::sync::OwnedMutexGuard<Slot>;

/// The inputs of a PATCH besides its body.
#[derive(Debug, Clone)]
pub struct PatchInputs {
    /// Every `Prefer` header value, in order.
    pub prefer: Vec<String>,
    /// The service roots a `restorePoint@odata.id` may use here (rule A2).
    pub roots: Vec<String>,
    /// The clock value.
    pub now: Timestamp,
}

/// The engine's options for a PATCH with these `Prefer` values and service roots.
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

fn new_slot(session: Session, progress: Option<Progress>) -> Shared {
    Arc::new(Mutex::new(Slot {
        session,
        progress,
        gone: false,
    }))
}

/// Locks a session already found: 404 for one of another kind than the path's set, or one
/// deleted while the operation waited.
async fn lock_found(
    shared: Shared,
    id: &str,
    kind: Option<SessionKind>,
) -> Result<LockedSlot, Fail> {
    let slot = shared.lock_owned().await;
    if slot.gone || kind.is_some_and(|k| slot.session.kind() != k) {
        return Err(lifecycle_fail(&lifecycle::not_found(id)));
    }
    Ok(slot)
}

fn catch_up(slot: &mut Slot, now: Timestamp) {
    let Slot {
        session, progress, ..
    } = slot;
    if let Some(progress) = progress.as_mut() {
        lifecycle::catch_up(session, progress, now);
    }
}

fn lifecycle_fail(e: &RequestError) -> Reply {
    Reply::graph_error(e.status, e.body())
}

fn parse_now(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text).map_err(|e| format!("clock value {text}: {e}"))
}

fn op_name(record: &Record) -> &'static str {
    match record {
        Record::Create { .. } => "create",
        Record::Patch { .. } => "patch",
        Record::Delete { .. } => "delete",
        Record::Activate { .. } => "activate",
        Record::Step { .. } => "step",
        Record::Snapshot { .. } => "snapshot",
    }
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

fn schedule_from(record: &ScheduleRecord) -> Result<Schedule, String> {
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
