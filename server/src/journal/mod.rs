//! The store on disk: an append-only journal of the requests that changed something.
//!
//! An answer of the engine is a pure function of (state, body, options, clock value, id seed,
//! caller), and so is every lifecycle step, so the journal records exactly those inputs, never
//! a state: a PATCH of 50 items appends a record the size of its body, whatever the size of the
//! session, and a restart replays the records in order. Each record also carries the engine
//! version that decided it and a digest of the answer it gave, so that a replay that would
//! answer otherwise is found and named instead of silently building another state.
//!
//! - [`frame`]: the bytes (file header, frames, checksums) and reading them back.
//! - [`fs`]: the file-system interface everything goes through.
//! - [`writer`]: the one writer thread and its group commit.
//! - [`sim`]: an in-process file system that keeps only what was synced through a simulated
//!   power cut, and fails a chosen write or sync (for the durability tests).
//!
//! ## Durability
//! One writer thread owns the file. Appends from all sessions queue up (a bounded queue: a
//! caller waits when it is full); the writer writes every record waiting, calls `fdatasync`
//! once for all of them (group commit), and only then tells each caller its record is stored.
//! A caller answers its client after that, never before.

pub mod frame;
pub mod fs;
pub mod sim;
pub mod writer;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use writer::Writer;

/// The version of the decisions a record was made with: [`restore_delta::ENGINE_VERSION`].
pub use restore_delta::ENGINE_VERSION;

/// One record: what happened, the engine version that decided it, and the server's draw
/// counter after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// What happened.
    #[serde(flatten)]
    pub op: Op,
    /// The engine version that decided it (absent from records of format 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<u32>,
    /// How many seeds the server had drawn after it (absent from records of format 1): a
    /// restart continues the seed stream from the largest, so ids never repeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw: Option<u64>,
}

impl Record {
    /// A record written now, by this engine, with the draw counter at `draw`.
    pub fn new(op: Op, draw: u64) -> Record {
        Record {
            op,
            engine: Some(ENGINE_VERSION),
            draw: Some(draw),
        }
    }
}

/// What a record says happened. The body travels beside it, as received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Op {
    /// The server started (its request ids and faults are seeded from this record's draw).
    Start {
        /// The server's version.
        version: String,
    },
    /// A session was created from the body (`POST …RestoreSessions`).
    Create {
        /// The kind's entity set name (`oneDriveForBusinessRestoreSessions`, …).
        set: String,
        /// The clock value, RFC 3339.
        now: String,
        /// The id seed.
        seed: u64,
        /// The id the session was given.
        id: String,
        /// Every `Prefer` header value, in order (format 2).
        #[serde(default)]
        prefer: Vec<String>,
        /// Service roots besides Graph's (rule A2), as they were for this request (format 2).
        #[serde(default)]
        roots: Vec<String>,
        /// The body limit in force (rule E1; format 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_bytes: Option<u64>,
        /// The caller's identity written as `createdBy` (format 2, when the server has one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<serde_json::Value>,
        /// The digest of the answer given (format 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
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
        /// The status answered.
        status: u16,
        /// The body limit in force (rule E1; format 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_bytes: Option<u64>,
        /// The caller's identity written as `lastModifiedBy` (format 2, when the server has one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<serde_json::Value>,
        /// The digest of the answer given (format 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        /// The deviations in force that could change it (`--deviate`, a testing aid), by name;
        /// absent when none was: the record replays faithfully.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        deviate: Vec<String>,
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
        /// The digest of the answer given (format 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
    /// A session in manual mode moved one step.
    Step {
        /// The session.
        id: String,
        /// The clock value, RFC 3339.
        now: String,
        /// The digest of the answer given (format 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
    /// A session as it stood when the journal was compacted: its whole state is the body.
    Snapshot {
        /// The session.
        id: String,
        /// Its lifecycle bookkeeping, once activated.
        progress: Option<ProgressRecord>,
    },
    /// Every session was forgotten (`POST /_restore-delta/reset`); the journal was emptied
    /// and this record written first, so that the draw counter goes on.
    Reset {},
    /// A session was put whole (`PUT /_restore-delta/sessions/{id}`): the body is its state.
    Put {
        /// The session.
        id: String,
        /// Its lifecycle bookkeeping when it is not a draft (its stages entered at the put).
        progress: Option<ProgressRecord>,
    },
    /// Sessions were imported (`POST /_restore-delta/import`, `--import`): the body is the
    /// export document.
    Import {
        /// The clock value, RFC 3339 (when the lifecycle of imported sessions without progress
        /// starts).
        now: String,
        /// Whether every session held before was dropped first (`--import-replace`).
        replace: bool,
    },
}

impl Op {
    /// The operation's name, as the record spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Start { .. } => "start",
            Op::Create { .. } => "create",
            Op::Patch { .. } => "patch",
            Op::Delete { .. } => "delete",
            Op::Activate { .. } => "activate",
            Op::Step { .. } => "step",
            Op::Snapshot { .. } => "snapshot",
            Op::Reset {} => "reset",
            Op::Put { .. } => "put",
            Op::Import { .. } => "import",
        }
    }

    /// The session it concerns, if one.
    pub fn session(&self) -> Option<&str> {
        match self {
            Op::Create { id, .. }
            | Op::Patch { id, .. }
            | Op::Delete { id }
            | Op::Activate { id, .. }
            | Op::Step { id, .. }
            | Op::Snapshot { id, .. }
            | Op::Put { id, .. } => Some(id),
            Op::Start { .. } | Op::Reset {} | Op::Import { .. } => None,
        }
    }
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

/// Errors of the store on disk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The file could not be read or written.
    #[error("journal {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not a journal.
    #[error("{path} is not a restore-delta journal (it does not start with RDJ1 or RDJ2)")]
    NotAJournal {
        /// The file.
        path: PathBuf,
    },
    /// Another server holds the journal.
    #[error(
        "journal {path} is in use by {} (lock {lock}); one server per journal",
        match pid { Some(pid) => format!("process {pid}"), None => "another process".to_owned() }
    )]
    Locked {
        /// The journal.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The holder's pid, if the lock file names it.
        pid: Option<u32>,
    },
    /// The writer thread is gone (a write or sync failed before, or the server is stopping).
    #[error("the journal writer stopped")]
    Stopped,
}

/// The payload of a record: its JSON line, `\n`, the body.
pub fn payload(record: &Record, body: &[u8]) -> Vec<u8> {
    let mut payload = serde_json::to_vec(record).unwrap_or_default();
    payload.push(b'\n');
    payload.extend_from_slice(body);
    payload
}

/// A record and its body, framed (format 2), ready to append.
pub fn encode(record: &Record, body: &[u8]) -> Vec<u8> {
    frame::encode(&payload(record, body))
}

/// Reads a payload back into a record and its body.
pub fn decode(payload: &[u8]) -> Result<Entry, String> {
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

/// The digest of an answer, as records keep it: the CRC-32 of the status, the
/// `Preference-Applied` value and the body, then their length, in hexadecimal (16 digits). It
/// finds a replay that answers otherwise (SIMD CRC-32 costs a restart little: a 10,000-record
/// journal hashes about 125 MB of answers); it is no defence against someone who edits the
/// journal on purpose.
pub fn digest(status: u16, preference_applied: Option<&str>, body: Option<&str>) -> String {
    let mut hasher = crc32fast::Hasher::new();
    let parts = [
        status.to_string(),
        preference_applied.unwrap_or_default().to_owned(),
    ];
    let mut len = 0u64;
    for part in &parts {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
        len += part.len() as u64 + 1;
    }
    let body = body.unwrap_or_default();
    hasher.update(body.as_bytes());
    len += body.len() as u64;
    format!("{:08x}{:08x}", hasher.finalize(), len as u32)
}

/// Reads every whole record of the journal at `path` (read-only: nothing is cut or locked),
/// and how it ends. For tools and tests; a start goes through the store's recovery.
pub fn read(
    fs: &dyn fs::Fs,
    path: &std::path::Path,
) -> Result<(Vec<Entry>, frame::Ending), JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let file = fs.open_read(path).map_err(io)?;
    let len = file.size().map_err(io)?;
    let mut reader = match frame::Reader::start(file, len).map_err(io)? {
        frame::Opening::Journal(reader) => reader,
        frame::Opening::Foreign => {
            return Err(JournalError::NotAJournal {
                path: path.to_owned(),
            });
        }
    };
    let mut entries = Vec::new();
    loop {
        match reader.next_frame().map_err(io)? {
            frame::Next::End(ending) => return Ok((entries, ending)),
            frame::Next::Frame { offset, payload } => match decode(&payload) {
                Ok(entry) => entries.push(entry),
                Err(why) => {
                    let ending = reader.unreadable(offset, why).map_err(io)?;
                    return Ok((entries, ending));
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_digest_is_crc32_then_length_of_status_preference_and_body() {
        // Computed apart (Python: zlib.crc32(b"200\nreturn=minimal\n{}"), 21 bytes).
        assert_eq!(
            digest(200, Some("return=minimal"), Some("{}")),
            "cc6abd5500000015"
        );
        assert_eq!(digest(204, None, None), "d4b0a88200000005");
        // Each part counts.
        let base = digest(200, None, Some("{\"a\":1}"));
        for other in [
            digest(201, None, Some("{\"a\":1}")),
            digest(200, Some("return=minimal"), Some("{\"a\":1}")),
            digest(200, None, Some("{\"a\":2}")),
        ] {
            assert_ne!(base, other);
        }
    }

    /// A whole frame (its checksums hold) whose record cannot be decoded is damage: reading
    /// stops there and counts the whole records after it, from the next frame.
    #[test]
    fn a_whole_record_that_cannot_be_decoded_is_damage_with_the_records_after_it_counted() {
        let fs = sim::SimFs::new();
        let start = |n: u64| {
            encode(
                &Record::new(
                    Op::Start {
                        version: "test".into(),
                    },
                    n,
                ),
                &[],
            )
        };
        let mut bytes = b"RDJ2\n\0\0\0".to_vec();
        bytes.extend_from_slice(&start(1));
        let bad_at = bytes.len() as u64;
        bytes.extend_from_slice(&frame::encode(b"{\"op\":\"from a newer server\"}\n"));
        let next = bytes.len() as u64;
        bytes.extend_from_slice(&start(2));
        bytes.extend_from_slice(&start(3));
        fs.put(Path::new("/j"), &bytes);
        let (entries, ending) = read(&fs, Path::new("/j")).unwrap();
        assert_eq!(entries.len(), 1);
        match ending {
            frame::Ending::Damaged {
                at,
                index,
                next: found,
                after,
                ..
            } => {
                assert_eq!((at, index, found, after), (bad_at, 1, Some(next), Some(2)));
            }
            other => panic!("{other:?}"),
        }
    }
}
