//! The store: an append-only journal of the requests that changed something.
//!
//! An answer of the engine is a pure function of (state, body, options, clock value, id seed),
//! and so is every lifecycle step, so the journal records exactly those inputs, never a state:
//! a PATCH of 50 items appends a record the size of its body, whatever the size of the session,
//! and a restart replays the records in order.
//!
//! ## Format
//! The file starts with the 8 bytes `RDJ1\n\0\0\0`. Then records, each:
//! `length: u32 LE` · `crc32(payload): u32 LE` · `payload` (`length` bytes), where the payload
//! is one line of JSON (the record's header, see [`Record`]), a `\n`, and the request body's
//! bytes as received.
//!
//! ## Durability
//! One writer thread owns the file. Appends from all sessions queue up; the writer writes every
//! record waiting, calls `fdatasync` once for all of them (group commit), and only then tells
//! each caller its record is stored. A caller answers its client after that, never before.
//!
//! On open, records are read until the end of the file or the first record that is short or
//! whose checksum fails: that is the tail of a write a crash interrupted, which was never
//! acknowledged; the file is cut back to the last whole record (and synced) before new records
//! are written after it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// The first bytes of a journal file.
const MAGIC: &[u8; 8] = b"RDJ1\n\0\0\0";

/// The largest record accepted when reading: a body is at most the engine's limit (1 MiB by
/// default, `--max-body-bytes`) plus its header; anything larger is damage, not a record.
const MAX_RECORD: u32 = 256 * 1024 * 1024;

/// What a record says happened. The body travels beside it, as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Record {
    /// A session was created from the body (`POST …RestoreSessions`).
    Create {
        /// The kind's entity set name (`oneDriveForBusinessRestoreSessions`, …).
        set: String,
        /// The clock value, RFC 3339.
        now: String,
        /// The id seed.
        seed: u64,
        /// The id the session was given (checked on replay).
        id: String,
    },
    /// A PATCH that committed (200 or 204).
    Patch {
        /// The session.
        id: String,
        /// Every `Prefer` header value, in order.
        prefer: Vec<String>,
        /// Service roots besides Graph's (rule A2), as they were for this request.
        roots: Vec<String>,
        /// The clock value, RFC 3339.
        now: String,
        /// The id seed.
        seed: u64,
        /// The status answered (checked on replay).
        status: u16,
    },
    /// A session was deleted.
    Delete {
        /// The session.
        id: String,
    },
    /// A session was activated.
    Activate {
        /// The session.
        id: String,
        /// The clock value, RFC 3339.
        now: String,
        /// The schedule it was activated with (its transitions and failure share).
        schedule: ScheduleRecord,
    },
    /// A session in manual mode moved one step.
    Step {
        /// The session.
        id: String,
        /// The clock value, RFC 3339.
        now: String,
    },
    /// A session as it stood when the journal was compacted: its whole state is the body.
    Snapshot {
        /// The session.
        id: String,
        /// Its lifecycle bookkeeping, once activated.
        progress: Option<ProgressRecord>,
    },
}

/// An activated session's bookkeeping as a snapshot keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressRecord {
    /// The schedule it was activated with.
    pub schedule: ScheduleRecord,
    /// When each stage reached was entered, RFC 3339, the activation first.
    pub entered: Vec<String>,
}

/// A lifecycle schedule as the journal keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRecord {
    /// `immediate`, `timed` or `manual`.
    pub transitions: String,
    /// Seconds from activation to `active` (timed).
    pub to_active_secs: u64,
    /// Seconds from `active` to completion (timed).
    pub to_completed_secs: u64,
    /// Failed artifacts per thousand.
    pub failed_per_mille: u16,
    /// The seed choosing which artifacts fail.
    pub seed: u64,
}

/// A record and its body, as read back.
#[derive(Debug)]
pub struct Entry {
    /// The record.
    pub record: Record,
    /// The request body.
    pub body: Vec<u8>,
}

/// What opening a journal found.
#[derive(Debug)]
pub struct Opened {
    /// The whole records, in order.
    pub entries: Vec<Entry>,
    /// Bytes of a torn tail cut off (0 when the file ended on a whole record).
    pub cut: u64,
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The file could not be read or written.
    #[error("journal {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The file is not a journal.
    #[error("{path} is not a restore-delta journal (it does not start with RDJ1)")]
    NotAJournal {
        /// The file.
        path: PathBuf,
    },
    /// A whole record (its checksum right) that cannot be read: written by another version.
    #[error("journal {path}: record {index} at byte {offset} cannot be read: {reason}")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// The record's number, from 0.
        index: usize,
        /// Where it starts.
        offset: u64,
        /// Why.
        reason: String,
    },
    /// The writer thread is gone (a write or sync failed before).
    #[error("the journal writer stopped after an earlier failure")]
    Stopped,
}

/// Encodes a record and its body as a payload.
pub fn encode(record: &Record, body: &[u8]) -> Vec<u8> {
    let mut payload = serde_json::to_vec(record).unwrap_or_default();
    payload.push(b'\n');
    payload.extend_from_slice(body);
    let mut framed = Vec::with_capacity(payload.len() + 8);
    framed.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    framed.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    framed.extend_from_slice(&payload);
    framed
}

fn decode(payload: &[u8]) -> Result<Entry, String> {
    let split = payload
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let (head, body) = payload.split_at(split);
    let record: Record = serde_json::from_slice(head).map_err(|e| e.to_string())?;
    Ok(Entry {
        record,
        body: body.get(1..).unwrap_or_default().to_vec(),
    })
}

/// Opens (or creates) the journal at `path`, reads its whole records and cuts a torn tail.
pub fn open(path: &Path) -> Result<(File, Opened), JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        file.write_all(MAGIC).map_err(io)?;
        file.sync_all().map_err(io)?;
        sync_dir(path).map_err(io)?;
        return Ok((
            file,
            Opened {
                entries: Vec::new(),
                cut: 0,
            },
        ));
    }
    let mut reader = BufReader::with_capacity(1 << 20, &mut file);
    let mut magic = [0u8; 8];
    if reader.read_exact(&mut magic).is_err() || &magic != MAGIC {
        return Err(JournalError::NotAJournal {
            path: path.to_owned(),
        });
    }
    let mut entries = Vec::new();
    let mut good = MAGIC.len() as u64;
    loop {
        let mut head = [0u8; 8];
        match read_full(&mut reader, &mut head).map_err(io)? {
            0 => break,
            8 => {}
            _ => break, // a torn frame header
        }
        let [l0, l1, l2, l3, c0, c1, c2, c3] = head;
        let length = u32::from_le_bytes([l0, l1, l2, l3]);
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        if length > MAX_RECORD || u64::from(length) > len - good - 8 {
            break; // torn (or damaged) tail
        }
        let mut payload = vec![0u8; length as usize];
        if read_full(&mut reader, &mut payload).map_err(io)? != payload.len() {
            break;
        }
        if crc32fast::hash(&payload) != crc {
            break;
        }
        let entry = decode(&payload).map_err(|reason| JournalError::BadRecord {
            path: path.to_owned(),
            index: entries.len(),
            offset: good,
            reason,
        })?;
        entries.push(entry);
        good += 8 + u64::from(length);
    }
    drop(reader);
    let cut = len - good;
    if cut > 0 {
        file.set_len(good).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    file.seek(SeekFrom::Start(good)).map_err(io)?;
    Ok((file, Opened { entries, cut }))
}

/// Replaces the journal at `path` by one holding only `records` (a compaction), safely: the
/// new journal is written beside it, synced, renamed over it, and the directory synced, so a
/// crash at any point leaves either the old journal or the new one whole. Returns the new
/// file, open for appending at its end.
pub fn rewrite<'a>(
    path: &Path,
    records: impl IntoIterator<Item = (Record, &'a [u8])>,
) -> Result<File, JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".compacting");
    let tmp = PathBuf::from(tmp_name);
    {
        let file = File::create(&tmp).map_err(io)?;
        let mut out = io::BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC).map_err(io)?;
        for (record, body) in records {
            out.write_all(&encode(&record, body)).map_err(io)?;
        }
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    sync_dir(path).map_err(io)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    file.seek(SeekFrom::End(0)).map_err(io)?;
    Ok(file)
}

/// Reads until `buf` is full or the end of the input; returns how much was read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Syncs the directory holding `path`, so that a newly created file's name is durable too.
fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

enum Job {
    Append(Vec<u8>, oneshot::Sender<Result<(), JournalError>>),
    Reset(oneshot::Sender<Result<(), JournalError>>),
}

/// The handle callers append through. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
}

impl Writer {
    /// A writer that stores nothing (`--in-memory`): appends succeed at once.
    pub fn in_memory() -> Writer {
        Writer { jobs: None }
    }

    /// Starts the writer thread on an opened journal.
    pub fn start(file: File, path: PathBuf) -> io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("journal".into())
            .spawn(move || write_loop(file, &path, &rx))?;
        Ok(Writer { jobs: Some(tx) })
    }

    /// Appends a record and waits until it is durable.
    pub async fn append(&self, record: &Record, body: &[u8]) -> Result<(), JournalError> {
        let Some(jobs) = &self.jobs else {
            return Ok(());
        };
        let (tx, rx) = oneshot::channel();
        jobs.send(Job::Append(encode(record, body), tx))
            .map_err(|_| JournalError::Stopped)?;
        rx.await.map_err(|_| JournalError::Stopped)?
    }

    /// Empties the journal (back to its first 8 bytes) and waits until that is durable.
    pub async fn reset(&self) -> Result<(), JournalError> {
        let Some(jobs) = &self.jobs else {
            return Ok(());
        };
        let (tx, rx) = oneshot::channel();
        jobs.send(Job::Reset(tx))
            .map_err(|_| JournalError::Stopped)?;
        rx.await.map_err(|_| JournalError::Stopped)?
    }
}

fn write_loop(mut file: File, path: &Path, jobs: &mpsc::Receiver<Job>) {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while let Ok(more) = jobs.try_recv() {
            batch.push(more);
        }
        let mut waiting = Vec::with_capacity(batch.len());
        let mut result: Result<(), io::Error> = Ok(());
        for job in batch {
            match job {
                Job::Append(bytes, done) => {
                    if result.is_ok() {
                        result = file.write_all(&bytes);
                    }
                    waiting.push(done);
                }
                Job::Reset(done) => {
                    if result.is_ok() {
                        result = file
                            .set_len(MAGIC.len() as u64)
                            .and_then(|()| file.seek(SeekFrom::Start(MAGIC.len() as u64)))
                            .map(|_| ());
                    }
                    waiting.push(done);
                }
            }
        }
        if result.is_ok() {
            result = file.sync_data();
        }
        match result {
            Ok(()) => {
                for done in waiting {
                    let _ = done.send(Ok(()));
                }
            }
            Err(e) => {
                // The file's state is unknown past the last sync: nothing more is acknowledged.
                let kind = e.kind();
                let text = e.to_string();
                for done in waiting {
                    let _ = done.send(Err(io(io::Error::new(kind, text.clone()))));
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rdj-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    fn patch(n: u64) -> Record {
        Record::Patch {
            id: "s".into(),
            prefer: vec![],
            roots: vec![],
            now: "2026-11-30T00:00:00Z".into(),
            seed: n,
            status: 200,
        }
    }

    #[test]
    fn a_torn_tail_is_cut_and_whole_records_kept() {
        let path = tmp("torn");
        let (mut file, opened) = open(&path).unwrap();
        assert!(opened.entries.is_empty());
        let one = encode(&patch(1), b"{\"a\":1}");
        let two = encode(&patch(2), b"{\"b\":2}");
        file.write_all(&one).unwrap();
        file.write_all(&two[..two.len() - 3]).unwrap();
        drop(file);
        let (_, opened) = open(&path).unwrap();
        assert_eq!(opened.entries.len(), 1);
        assert_eq!(opened.entries[0].record, patch(1));
        assert_eq!(opened.entries[0].body, b"{\"a\":1}");
        assert_eq!(opened.cut, (two.len() - 3) as u64);
        // Cut for good: the file ends on the whole record now.
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            (MAGIC.len() + one.len()) as u64
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_flipped_byte_ends_the_journal_there() {
        let path = tmp("flip");
        let (mut file, _) = open(&path).unwrap();
        let one = encode(&patch(1), b"{}");
        let mut two = encode(&patch(2), b"{}");
        let last = two.len() - 1;
        two[last] ^= 1;
        file.write_all(&one).unwrap();
        file.write_all(&two).unwrap();
        drop(file);
        let (_, opened) = open(&path).unwrap();
        assert_eq!(opened.entries.len(), 1);
        assert_eq!(opened.cut, two.len() as u64);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn another_file_is_refused() {
        let path = tmp("other");
        std::fs::write(&path, b"SQLite format 3\0").unwrap();
        assert!(matches!(open(&path), Err(JournalError::NotAJournal { .. })));
        let _ = std::fs::remove_file(&path);
    }
}
