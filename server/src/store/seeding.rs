//! Seeding and export (moto's and LocalStack's conventions): put a whole session, export every
//! session with its lifecycle progress as one document, import such a document.
//!
//! The export document:
//! `{"format":"restore-delta-export/1","sessions":[{"state":{…},"progress":{…}|null},…]}`, the
//! sessions in id order, each state as `GET /_restore-delta/sessions/{id}` gives it, `progress`
//! as a snapshot record keeps it (`schedule`, `entered`). A state is read as the library reads
//! states (`Session::from_json`): anything it refuses is a 400 and nothing is stored.
//!
//! A session that is not a draft continues its lifecycle from its status at the moment it is
//! put (or imported without a `progress`): the stages its status means are taken as entered
//! then, on the server's schedule, and an `activating` or `active` one counts toward the 25
//! busy sessions.

use restore_delta::lifecycle::{Progress, Schedule};
use restore_delta::{Session, SessionStatus, Timestamp};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::schedule_from;
use crate::journal::ProgressRecord;
use crate::store::schedule_record;

/// The `format` of an export document.
pub const FORMAT: &str = "restore-delta-export/1";

/// The lifecycle progress a session put in this state continues from: `None` for a draft (or a
/// status this version does not know), else the stages its status means, all entered at `now`.
pub fn progress_for(session: &Session, schedule: &Schedule, now: Timestamp) -> Option<Progress> {
    let stages = match session.status() {
        SessionStatus::Activating => 1,
        SessionStatus::Active => 3,
        SessionStatus::Completed | SessionStatus::CompletedWithError | SessionStatus::Failed => 4,
        _ => return None,
    };
    Progress::resume(*schedule, &vec![now; stages])
}

/// A progress as records and export documents keep it.
pub fn record_of(progress: &Progress) -> ProgressRecord {
    ProgressRecord {
        schedule: schedule_record(progress.schedule()),
        entered: progress
            .entered_at()
            .iter()
            .map(ToString::to_string)
            .collect(),
    }
}

/// A progress from its record.
pub fn progress_of(record: &ProgressRecord) -> Result<Progress, String> {
    let entered = record
        .entered
        .iter()
        .map(|t| Timestamp::parse_rfc3339(t).map_err(|e| format!("clock value {t}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Progress::resume(schedule_from(&record.schedule)?, &entered)
        .ok_or_else(|| "a progress whose stages do not resume".to_owned())
}

#[derive(Deserialize)]
struct Document<'a> {
    format: String,
    #[serde(borrow)]
    sessions: Vec<Exported<'a>>,
}

#[derive(Deserialize)]
struct Exported<'a> {
    #[serde(borrow)]
    state: &'a RawValue,
    #[serde(default)]
    progress: Option<ProgressRecord>,
}

/// A session read from an export document, with its progress.
pub struct Imported {
    /// The session.
    pub session: Session,
    /// Its progress (the document's, or the one its status means at the import).
    pub progress: Option<Progress>,
}

/// Reads an export document: every session (ids unique), each with the progress it has or its
/// status means at `now` on `schedule`; then the document as a record keeps it (every progress
/// written out, so that a replay needs no schedule). Any error refuses the whole document.
pub fn read(
    body: &[u8],
    schedule: &Schedule,
    now: Timestamp,
) -> Result<(Vec<Imported>, String), String> {
    let doc: Document<'_> = serde_json::from_slice(body)
        .map_err(|e| format!("not an export document ({{\"format\",\"sessions\"}}): {e}"))?;
    if doc.format != FORMAT {
        return Err(format!(
            "the document's format is {:?}; this server reads {FORMAT:?}",
            doc.format
        ));
    }
    let mut out: Vec<Imported> = Vec::with_capacity(doc.sessions.len());
    let mut seen = std::collections::BTreeSet::new();
    for (n, exported) in doc.sessions.iter().enumerate() {
        let session = Session::from_json(exported.state.get().as_bytes())
            .map_err(|e| format!("session {n}: {e}"))?;
        restore_delta::lifecycle::check_session_id(session.id())
            .map_err(|e| format!("session {n}: {}", e.message))?;
        if !seen.insert(session.id().to_owned()) {
            return Err(format!(
                "session {n}: the id {} is given twice",
                session.id()
            ));
        }
        let progress = match &exported.progress {
            Some(record) => Some(progress_of(record).map_err(|e| format!("session {n}: {e}"))?),
            None => progress_for(&session, schedule, now),
        };
        out.push(Imported { session, progress });
    }
    let mut normal = format!("{{\"format\":\"{FORMAT}\",\"sessions\":[");
    for (n, (imported, exported)) in out.iter().zip(&doc.sessions).enumerate() {
        if n > 0 {
            normal.push(',');
        }
        normal.push_str(&entry(exported.state.get(), imported.progress.as_ref()));
    }
    normal.push_str("]}");
    Ok((out, normal))
}

/// One session of an export document.
pub fn entry(state: &str, progress: Option<&Progress>) -> String {
    let progress = match progress {
        Some(p) => serde_json::to_string(&record_of(p)).unwrap_or_else(|_| "null".to_owned()),
        None => "null".to_owned(),
    };
    format!("{{\"state\":{state},\"progress\":{progress}}}")
}
