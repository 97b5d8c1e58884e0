//! Opening the store: the lock, reading and replaying the journal, the recovery policy for what
//! is not a whole record, compaction, and the offline report of `restore-delta-server verify`.
//!
//! ## Recovery policy
//!
//! | found on start | what the server does |
//! |---|---|
//! | the file does not exist, or is empty | creates a new journal |
//! | not a journal (other first 8 bytes) | refuses to start (exit 2) |
//! | a torn tail: bytes after the last whole record that hold no whole record (a cut write, zeros a file system left) | cuts them, says so on the first line, starts |
//! | damage: bytes that are not a record, with whole records after them | refuses to start (exit 2), naming the record, its byte and how many whole records follow; with `--repair`, moves the damaged bytes and everything after them to `FILE.damaged-N` (nothing is deleted), cuts there, starts |
//! | a whole record that cannot be read (written by a newer server) | the same as damage |
//! | a record that replays to another answer than the one it recorded | refuses to start (exit 2), naming the record, its session, and both engine versions |
//! | a journal of format 1 (0.1) | replays it (its PATCHes with the current `--max-body-bytes`, which 0.1 did not record), keeps the file as `FILE.rdj1-N`, and rewrites the journal in format 2 |
//! | another server holds `FILE.lock` | refuses to start (exit 2), naming the holder's pid |
//! | more than `--compact-after` records beyond one per session | compacts: one snapshot per session, written beside, synced, renamed over |

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, RwLock as StdRwLock};

use restore_delta::lifecycle::{self, Progress, Schedule};
use restore_delta::{ENGINE_VERSION, Options, Session, Timestamp, apply_in_place};
use tokio::sync::{Mutex, RwLock, watch};

use super::{Store, context, new_slot, patch_options, schedule_from, schedule_record, seeding};
use crate::deviate::{self, Deviations};
use crate::graph;
use crate::journal::frame::{Ending, Format, MAGIC, Next, Opening, Reader};
use crate::journal::fs::{Fs, FsFile, LockError, OsFs, aside_path, with_suffix};
use crate::journal::{
    self, Entry, JournalError, Op, ProgressRecord, Record, Writer, writer::DEFAULT_QUEUE,
};
use crate::seeds::Seeds;

/// How to open a store.
#[derive(Debug, Clone)]
pub struct Config {
    /// The journal, or `None` to keep nothing on disk.
    pub db: Option<PathBuf>,
    /// The file system the journal lives on.
    pub fs: Arc<dyn Fs>,
    /// The server's seed.
    pub seed: u64,
    /// How activated sessions move on.
    pub schedule: Schedule,
    /// The body limit (rule E1).
    pub max_body_bytes: usize,
    /// Compact when the journal holds more than this many records beyond one per session.
    pub compact_after: usize,
    /// Move damage aside instead of refusing to start.
    pub repair: bool,
    /// How many appends may wait for the writer.
    pub queue: usize,
    /// Rules broken on purpose (`--deviate`, a testing aid); none by default.
    pub deviations: Deviations,
}

impl Config {
    /// A store on `db` (or in memory), with the defaults of the command line.
    pub fn new(db: Option<&Path>, seed: u64) -> Config {
        Config {
            db: db.map(Path::to_owned),
            fs: Arc::new(OsFs),
            seed,
            schedule: Schedule::default(),
            max_body_bytes: 1024 * 1024,
            compact_after: 10_000,
            repair: false,
            queue: DEFAULT_QUEUE,
            deviations: Deviations::NONE,
        }
    }

    /// The same configuration with these deviations in force (a testing aid: the server
    /// breaks their rules on purpose; [`crate::deviate`]).
    #[must_use]
    pub fn with_deviations(mut self, deviations: Deviations) -> Config {
        self.deviations = deviations;
        self
    }
}

/// What opening the store found and did.
#[derive(Debug, Clone, Default)]
pub struct Recovered {
    /// Whole records replayed.
    pub records: usize,
    /// Sessions held afterwards.
    pub sessions: usize,
    /// A torn tail cut off: where, how many bytes, whether all zero.
    pub cut: Option<(u64, u64, bool)>,
    /// Damage moved aside with `--repair`: where it started, bytes moved, whole records among
    /// them, and the file they went to.
    pub repaired: Option<(u64, u64, usize, PathBuf)>,
    /// A format-1 journal was rewritten in format 2; the old file was kept here.
    pub upgraded: Option<PathBuf>,
    /// Records the journal was compacted to (one snapshot per session), when it was.
    pub compacted: Option<usize>,
}

impl Recovered {
    /// What the first line of the server says about it.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "{} records replayed, {} sessions",
            self.records, self.sessions
        );
        if let Some((at, bytes, zeros)) = self.cut {
            out.push_str(&format!(
                ", a torn tail of {bytes} bytes{} cut at byte {at}",
                if zeros { " (all zero)" } else { "" }
            ));
        }
        if let Some((at, bytes, after, to)) = &self.repaired {
            out.push_str(&format!(
                ", REPAIRED: {bytes} bytes from byte {at} ({after} whole records among them) moved to {}",
                to.display()
            ));
        }
        if let Some(old) = &self.upgraded {
            out.push_str(&format!(
                ", rewritten in format 2 (the format-1 file kept as {})",
                old.display()
            ));
        }
        if let Some(n) = self.compacted {
            out.push_str(&format!(", compacted to {n} snapshots"));
        }
        out
    }
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The journal could not be read, is not one, or is held by another server.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Damage with whole records after it.
    #[error(
        "journal {path}: record {index} at byte {at} cannot be read ({reason}){}: refusing to \
         start, since cutting there would lose them. `restore-delta-server verify --db {path}` \
         reports what a start finds; `--repair` moves the bytes from {at} on to {path}.damaged-N \
         (nothing is deleted) and starts from the records before them",
        describe_after(*next, *after)
    )]
    Damaged {
        /// The journal.
        path: PathBuf,
        /// Where the unreadable bytes start.
        at: u64,
        /// The number of the first record that cannot be read.
        index: usize,
        /// Why.
        reason: String,
        /// Where the next whole record starts, if known.
        next: Option<u64>,
        /// Whole records from there on, if known.
        after: Option<usize>,
    },
    /// A record does not replay to what it recorded.
    #[error(
        "journal {path}: record {index} at byte {offset} ({op}{}) does not replay: {reason}{}",
        session.as_ref().map(|s| format!(" of session {s}")).unwrap_or_default(),
        describe_version(*engine)
    )]
    Replay {
        /// The journal.
        path: PathBuf,
        /// The record's number.
        index: usize,
        /// Where its frame starts.
        offset: u64,
        /// Its operation.
        op: &'static str,
        /// Its session.
        session: Option<String>,
        /// The engine version that wrote it (`None`: format 1).
        engine: Option<u32>,
        /// Why.
        reason: String,
    },
}

fn describe_after(next: Option<u64>, after: Option<usize>) -> String {
    match (next, after) {
        (Some(next), Some(after)) => {
            format!(", and {after} whole records follow it from byte {next}")
        }
        (_, Some(0)) => ", and it is a whole record (its checksum holds)".to_owned(),
        _ => ", and bytes that are not a torn write follow it".to_owned(),
    }
}

fn describe_version(engine: Option<u32>) -> String {
    match engine {
        Some(v) if v == ENGINE_VERSION => String::new(),
        Some(v) => format!(
            "; it was written by engine version {v}, this server's is {ENGINE_VERSION}: start \
             the version that wrote it once with `--compact-after 0` (snapshots replay under \
             any version), then this one"
        ),
        None => "; it was written by restore-delta-server 0.1 (format 1)".to_owned(),
    }
}

/// A session while the journal is replayed.
struct Held {
    session: Session,
    progress: Option<Progress>,
}

/// The sessions as the records so far leave them.
struct Replayer {
    sessions: BTreeMap<String, Held>,
    busy: BTreeSet<String>,
    drawn: u64,
    /// The body limit for records that did not record theirs (format 1).
    fallback_max_bytes: usize,
    /// Records replayed, by operation.
    counts: BTreeMap<&'static str, usize>,
}

impl Replayer {
    fn new(fallback_max_bytes: usize) -> Replayer {
        Replayer {
            sessions: BTreeMap::new(),
            busy: BTreeSet::new(),
            drawn: 0,
            fallback_max_bytes,
            counts: BTreeMap::new(),
        }
    }

    fn held(&mut self, id: &str) -> Result<&mut Held, String> {
        self.sessions
            .get_mut(id)
            .ok_or_else(|| format!("no session {id}"))
    }

    /// Applies one record to the sessions, checking it answers as it recorded.
    fn apply(&mut self, entry: &Entry) -> Result<(), String> {
        let record = &entry.record;
        *self.counts.entry(record.op.name()).or_default() += 1;
        match record.draw {
            Some(drawn) => self.drawn = self.drawn.max(drawn),
            // Format 1 did not count: every record takes the place of one draw.
            None => self.drawn += 1,
        }
        let body = entry.body.as_slice();
        match &record.op {
            Op::Start { .. } => {}
            Op::Create {
                set,
                now,
                seed,
                id,
                prefer,
                roots,
                max_bytes,
                actor,
                digest,
            } => {
                let kind = graph::kind_of_set(set).ok_or(format!("unknown set {set}"))?;
                let now = parse_now(now)?;
                // Format 1 decided every create with the default options.
                let options = match max_bytes {
                    Some(max) => patch_options(prefer, roots, usize_of(*max)?),
                    None => Options::default(),
                };
                let mut ctx = context(now, *seed, actor.as_ref());
                let session = lifecycle::create(kind, body, &options, &mut ctx)
                    .map_err(|e| format!("create refused: {}", e.message))?;
                if session.id() != id {
                    return Err(format!("created {} where {id} was recorded", session.id()));
                }
                let rendered = lifecycle::render_session(&session, &options);
                same_digest(digest, 201, None, Some(&rendered))?;
                self.sessions.insert(
                    id.clone(),
                    Held {
                        session,
                        progress: None,
                    },
                );
            }
            Op::Patch {
                id,
                prefer,
                roots,
                now,
                seed,
                status,
                max_bytes,
                actor,
                digest,
                deviate,
            } => {
                let max = match max_bytes {
                    Some(max) => usize_of(*max)?,
                    None => self.fallback_max_bytes,
                };
                let devs = Deviations::from_names(deviate)?;
                let held = self.held(id)?;
                let now = parse_now(now)?;
                catch_up(held, now);
                let options = patch_options(prefer, roots, max);
                if !devs.is_empty() {
                    let decided = deviate::decide(
                        &mut held.session,
                        body,
                        &options,
                        now,
                        *seed,
                        actor.as_ref(),
                        devs,
                    );
                    let reply = &decided.reply;
                    if reply.status != *status || !decided.committed {
                        return Err(format!(
                            "it answers {} where {status} was recorded (deviating: {devs})",
                            reply.status
                        ));
                    }
                    return same_digest(
                        digest,
                        reply.status,
                        reply.preference_applied.as_deref(),
                        reply.body.as_deref(),
                    );
                }
                let mut ctx = context(now, *seed, actor.as_ref());
                let answer = apply_in_place(&mut held.session, body, &options, &mut ctx);
                let response = &answer.response;
                if response.status != *status {
                    return Err(format!(
                        "it answers {} where {status} was recorded",
                        response.status
                    ));
                }
                same_digest(
                    digest,
                    response.status,
                    response.preference_applied.as_deref(),
                    response.body.as_ref().map(|b| b.get()),
                )?;
            }
            Op::Delete { id } => {
                self.sessions.remove(id).ok_or(format!("no session {id}"))?;
                self.busy.remove(id);
            }
            Op::Activate {
                id,
                now,
                schedule,
                digest,
            } => {
                let held = self.held(id)?;
                let now = parse_now(now)?;
                catch_up(held, now);
                let schedule = schedule_from(schedule)?;
                let progress = lifecycle::activate(&mut held.session, 0, &schedule, now)
                    .map_err(|e| format!("activate refused: {}", e.message))?;
                held.progress = Some(progress);
                let rendered = lifecycle::render_session(&held.session, &Options::default());
                same_digest(digest, 200, None, Some(&rendered))?;
                self.busy.insert(id.clone());
            }
            Op::Step { id, now, digest } => {
                let held = self.held(id)?;
                let now = parse_now(now)?;
                let Held { session, progress } = held;
                let progress = progress.as_mut().ok_or("step of a session not activated")?;
                lifecycle::step(session, progress, now)
                    .map_err(|e| format!("step refused: {}", e.message))?;
                let rendered = lifecycle::render_session(session, &Options::default());
                same_digest(digest, 200, None, Some(&rendered))?;
            }
            Op::Snapshot { id, progress } => {
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
                        self.busy.insert(id.clone());
                        Some(resumed)
                    }
                };
                self.sessions.insert(id.clone(), Held { session, progress });
            }
            Op::Reset {} => {
                self.sessions.clear();
                self.busy.clear();
            }
            Op::Put { id, progress } => {
                let session = Session::from_json(body).map_err(|e| e.to_string())?;
                if session.id() != id {
                    return Err(format!("a state of {} put as {id}", session.id()));
                }
                let progress = progress.as_ref().map(seeding::progress_of).transpose()?;
                self.place(session, progress);
            }
            Op::Import { now, replace } => {
                let now = parse_now(now)?;
                let (imported, _) = seeding::read(body, &Schedule::default(), now)?;
                if *replace {
                    self.sessions.clear();
                    self.busy.clear();
                }
                for item in imported {
                    self.place(item.session, item.progress);
                }
            }
        }
        Ok(())
    }

    /// Holds `session` in place of any of its id, busy when its status says so.
    fn place(&mut self, session: Session, progress: Option<Progress>) {
        let id = session.id().to_owned();
        if lifecycle::is_busy(&session) {
            self.busy.insert(id.clone());
        } else {
            self.busy.remove(&id);
        }
        self.sessions.insert(id, Held { session, progress });
    }

    /// One snapshot record per session, in id order, with its state as the body.
    fn snapshots(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.sessions.iter().map(|(id, held)| {
            let progress = held.progress.as_ref().map(|p| ProgressRecord {
                schedule: schedule_record(p.schedule()),
                entered: p.entered_at().iter().map(ToString::to_string).collect(),
            });
            let record = Record::new(
                Op::Snapshot {
                    id: id.clone(),
                    progress,
                },
                self.drawn,
            );
            journal::encode(&record, held.session.to_json().as_bytes())
        })
    }
}

fn same_digest(
    recorded: &Option<String>,
    status: u16,
    preference_applied: Option<&str>,
    body: Option<&str>,
) -> Result<(), String> {
    let Some(recorded) = recorded else {
        return Ok(());
    };
    let now = journal::digest(status, preference_applied, body);
    if &now == recorded {
        Ok(())
    } else {
        Err(format!(
            "it answers {status} with digest {now} where digest {recorded} was recorded: {}",
            body.map(|b| b.chars().take(300).collect::<String>())
                .unwrap_or_default()
        ))
    }
}

fn usize_of(n: u64) -> Result<usize, String> {
    usize::try_from(n).map_err(|_| format!("a body limit of {n} bytes does not fit here"))
}

fn catch_up(held: &mut Held, now: Timestamp) {
    let Held { session, progress } = held;
    if let Some(progress) = progress.as_mut() {
        lifecycle::catch_up(session, progress, now);
    }
}

fn parse_now(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text).map_err(|e| format!("clock value {text}: {e}"))
}

/// A journal read to its end and replayed.
struct Replayed {
    replayer: Replayer,
    records: usize,
    format: Format,
    ending: Ending,
    file: Box<dyn FsFile>,
}

/// Reads every whole record of `file` (`len` bytes) and replays it, up to the first that is
/// not whole or cannot be read.
fn replay_file(
    path: &Path,
    file: Box<dyn FsFile>,
    len: u64,
    fallback_max_bytes: usize,
) -> Result<Replayed, OpenError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let mut reader = match Reader::start(file, len).map_err(io)? {
        Opening::Journal(reader) => reader,
        Opening::Foreign => {
            return Err(JournalError::NotAJournal {
                path: path.to_owned(),
            }
            .into());
        }
    };
    let mut replayer = Replayer::new(fallback_max_bytes);
    let mut records = 0usize;
    let ending = loop {
        match reader.next_frame().map_err(io)? {
            Next::End(ending) => break ending,
            Next::Frame { offset, payload } => {
                let entry = match journal::decode(&payload) {
                    Ok(entry) => entry,
                    Err(why) => {
                        break reader
                            .unreadable(
                                offset,
                                format!("a whole record that cannot be read: {why}"),
                            )
                            .map_err(io)?;
                    }
                };
                replayer.apply(&entry).map_err(|reason| OpenError::Replay {
                    path: path.to_owned(),
                    index: records,
                    offset,
                    op: entry.record.op.name(),
                    session: entry.record.op.session().map(str::to_owned),
                    engine: entry.record.engine,
                    reason,
                })?;
                records += 1;
            }
        }
    };
    Ok(Replayed {
        replayer,
        records,
        format: reader.format(),
        ending,
        file: reader.into_inner(),
    })
}

impl Store {
    /// Opens the store: takes the journal's lock, replays it, applies the recovery policy
    /// (the module's table), compacts it when it is long, and journals this start.
    ///
    /// When the journal holds more than `compact_after` records beyond one per session, it is
    /// rewritten as one snapshot per session before the server answers anything, so that the
    /// next start reads states instead of replaying history. This costs the size of the
    /// sessions, once, at start; a PATCH never does.
    pub fn open(config: Config) -> Result<(Store, Recovered), OpenError> {
        let Config {
            db,
            fs,
            seed,
            schedule,
            max_body_bytes,
            compact_after,
            repair,
            queue,
            deviations,
        } = config;
        let mut recovered = Recovered::default();
        let Some(path) = db else {
            let mut seeds = Seeds::new(seed);
            let run_seed = seeds.draw();
            let store = assemble(
                Replayer::new(max_body_bytes),
                seeds,
                run_seed,
                schedule,
                max_body_bytes,
                Writer::in_memory(),
                None,
                None,
                deviations,
            );
            return Ok((store, recovered));
        };
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let lock_path = with_suffix(&path, ".lock");
        let lock = fs.lock(&lock_path).map_err(|e| match e {
            LockError::Held { pid } => JournalError::Locked {
                path: path.clone(),
                lock: lock_path.clone(),
                pid,
            },
            LockError::Io(source) => JournalError::Io {
                path: lock_path.clone(),
                source,
            },
        })?;
        let (mut file, created) = fs.open_rw(&path).map_err(io)?;
        let mut len = file.size().map_err(io)?;
        if len == 0 {
            file.write_all(MAGIC).map_err(io)?;
            file.sync_data().map_err(io)?;
            if created {
                fs.sync_dir(&path).map_err(io)?;
            }
            len = MAGIC.len() as u64;
        }
        let Replayed {
            replayer,
            records,
            format,
            ending,
            mut file,
        } = replay_file(&path, file, len, max_body_bytes)?;
        recovered.records = records;
        match ending {
            Ending::Clean => {}
            Ending::Torn { at, bytes, zeros } => {
                file.set_len(at).map_err(io)?;
                file.sync_data().map_err(io)?;
                recovered.cut = Some((at, bytes, zeros));
            }
            Ending::Damaged { at, after, .. } if repair => {
                let to = aside_path(fs.as_ref(), &path, "damaged");
                copy_aside(fs.as_ref(), &mut file, at, len, &to).map_err(io)?;
                file.set_len(at).map_err(io)?;
                file.sync_data().map_err(io)?;
                recovered.repaired = Some((at, len - at, after.unwrap_or(0), to));
            }
            Ending::Damaged {
                at,
                index,
                reason,
                next,
                after,
            } => {
                return Err(OpenError::Damaged {
                    path,
                    at,
                    index,
                    reason,
                    next,
                    after,
                });
            }
        }
        let live = replayer.sessions.len();
        let upgrade = format == Format::V1;
        let compact = records > live.saturating_add(compact_after);
        if upgrade {
            let kept = aside_path(fs.as_ref(), &path, "rdj1");
            let end = file.size().map_err(io)?;
            copy_aside(fs.as_ref(), &mut file, 0, end, &kept).map_err(io)?;
            recovered.upgraded = Some(kept);
        }
        if upgrade || compact {
            drop(file);
            file = rewrite(fs.as_ref(), &path, replayer.snapshots()).map_err(io)?;
            recovered.compacted = compact.then_some(live);
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let mut seeds = Seeds::at(seed, replayer.drawn);
        let run_seed = seeds.draw();
        let start = Record::new(
            Op::Start {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            seeds.drawn(),
        );
        file.write_all(&journal::encode(&start, b"")).map_err(io)?;
        file.sync_data().map_err(io)?;
        let writer = Writer::start(file, path.clone(), queue).map_err(io)?;
        recovered.sessions = live;
        let store = assemble(
            replayer,
            seeds,
            run_seed,
            schedule,
            max_body_bytes,
            writer,
            Some(lock),
            Some(path),
            deviations,
        );
        Ok((store, recovered))
    }
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    replayer: Replayer,
    seeds: Seeds,
    run_seed: u64,
    schedule: Schedule,
    max_body_bytes: usize,
    journal: Writer,
    lock: Option<crate::journal::fs::LockGuard>,
    db: Option<PathBuf>,
    deviations: Deviations,
) -> Store {
    let sessions = replayer
        .sessions
        .into_iter()
        .map(|(id, held)| (id, new_slot(held.session, held.progress)))
        .collect();
    let (failed, _) = watch::channel(None);
    Store {
        gate: RwLock::new(()),
        creating: Mutex::new(()),
        sessions: StdRwLock::new(sessions),
        busy: Mutex::new(replayer.busy),
        journal,
        seeds: StdMutex::new(seeds),
        schedule,
        max_body_bytes,
        run_seed,
        failed,
        _lock: lock,
        db,
        deviations,
    }
}

/// Copies bytes `from..to` of `file` to a new file `dest`, synced, its name synced.
fn copy_aside(
    fs: &dyn Fs,
    file: &mut Box<dyn FsFile>,
    from: u64,
    to: u64,
    dest: &Path,
) -> io::Result<()> {
    let mut out = fs.create(dest)?;
    file.seek(SeekFrom::Start(from))?;
    let mut left = to - from;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let piece = buf.get_mut(..want).unwrap_or_default();
        file.read_exact(piece)?;
        out.write_all(piece)?;
        left -= want as u64;
    }
    out.sync_data()?;
    fs.sync_dir(dest)
}

/// Replaces the journal at `path` by one holding `frames` (a compaction), safely: the new
/// journal is written beside it, synced, renamed over it, and the directory synced, so a crash
/// at any point leaves either the old journal or the new one whole. Returns the new file.
fn rewrite(
    fs: &dyn Fs,
    path: &Path,
    frames: impl Iterator<Item = Vec<u8>>,
) -> io::Result<Box<dyn FsFile>> {
    let tmp = with_suffix(path, ".compacting");
    {
        let file = fs.create(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC)?;
        for framed in frames {
            out.write_all(&framed)?;
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
    }
    fs.rename(&tmp, path)?;
    fs.sync_dir(path)?;
    let (file, _) = fs.open_rw(path)?;
    Ok(file)
}

/// What `restore-delta-server verify` found: what a start would do, nothing changed.
#[derive(Debug, Clone)]
pub struct Report {
    /// The lines to print.
    pub lines: Vec<String>,
    /// Whether a start would refuse.
    pub refuses: bool,
}

/// Reads and replays the journal at `path` as a start would, changing nothing (no lock taken,
/// nothing cut, compacted or written), and says what a start with these settings would do.
pub fn verify(
    fs: &dyn Fs,
    path: &Path,
    max_body_bytes: usize,
    compact_after: usize,
) -> Result<Report, OpenError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let file = fs.open_read(path).map_err(io)?;
    let len = file.size().map_err(io)?;
    let mut lines = vec![format!("journal {}: {len} bytes", path.display())];
    if let Some(pid) = fs.lock_held(&with_suffix(path, ".lock")) {
        lines.push(format!(
            "lock: held by {} (a start refuses while it runs; this report reads the bytes as \
             they are now)",
            pid.map_or("another process".to_owned(), |p| format!("process {p}"))
        ));
    }
    if len == 0 {
        lines.push("empty: a start writes a new journal".to_owned());
        return Ok(Report {
            lines,
            refuses: false,
        });
    }
    let replayed = match replay_file(path, file, len, max_body_bytes) {
        Ok(r) => r,
        Err(e @ OpenError::Replay { .. }) => {
            lines.push(format!("replay: {e}"));
            lines.push("verdict: a start refuses".to_owned());
            return Ok(Report {
                lines,
                refuses: true,
            });
        }
        Err(e) => return Err(e),
    };
    let Replayed {
        replayer,
        records,
        format,
        ending,
        ..
    } = replayed;
    lines.push(format!(
        "format {}: {records} whole records ({})",
        match format {
            Format::V1 => 1,
            Format::V2 => 2,
        },
        replayer
            .counts
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    lines.push(format!(
        "replay: every record answers as it recorded (engine version {ENGINE_VERSION}); {} \
         sessions, {} seeds drawn",
        replayer.sessions.len(),
        replayer.drawn
    ));
    let mut refuses = false;
    match &ending {
        Ending::Clean => lines.push("end: on a whole record".to_owned()),
        Ending::Torn { at, bytes, zeros } => lines.push(format!(
            "end: a torn tail of {bytes} bytes at byte {at}{}: a start cuts it",
            if *zeros { " (all zero)" } else { "" }
        )),
        Ending::Damaged {
            at,
            index,
            reason,
            next,
            after,
        } => {
            refuses = true;
            lines.push(format!(
                "damage: record {index} at byte {at} cannot be read ({reason}){}",
                describe_after(*next, *after)
            ));
            lines.push(format!(
                "a start refuses; --repair moves bytes {at}..{len} to {}",
                aside_path(fs, path, "damaged").display()
            ));
        }
    }
    if !refuses {
        if format == Format::V1 {
            lines.push(format!(
                "a start rewrites it in format 2, keeping this file as {}",
                aside_path(fs, path, "rdj1").display()
            ));
        } else if records > replayer.sessions.len().saturating_add(compact_after) {
            lines.push(format!(
                "a start compacts it to {} snapshots (more than {compact_after} records beyond one per session)",
                replayer.sessions.len()
            ));
        }
    }
    lines.push(
        if refuses {
            "verdict: a start refuses"
        } else {
            "verdict: a start opens it"
        }
        .to_owned(),
    );
    Ok(Report { lines, refuses })
}

/// The ids of the sessions of a store (for tests).
impl Store {
    /// The session ids held, in order.
    pub fn session_ids(&self) -> Vec<String> {
        self.read_sessions().keys().cloned().collect()
    }
}
