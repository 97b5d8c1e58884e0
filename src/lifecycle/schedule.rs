//! Activation and what follows it (rules L6–L8): the session moves `activating` → `active` →
//! `completed` (or `completedWithError`), its artifacts `scheduling` → `scheduled` →
//! `inProgress` → `succeeded` (or `failed`), on the caller's clock or one step at a time.

use crate::engine::error::{ErrorCode, RequestError};
use crate::json::to_raw;
use crate::model::enums::{ArtifactStatus, SessionStatus};
use crate::model::kinds::{Family, Shape};
use crate::model::session::Session;
use crate::model::time::Timestamp;
use crate::rule::RuleId;

use super::edit::{quoted, set_members};
use super::{MAX_ACTIVE_SESSIONS, not_allowed};

/// When an activated session moves on (rule L7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transitions {
    /// Everything at the activation instant: the first [`catch_up`] at or after it completes
    /// the session (the answer to the activation itself still reads `activating`).
    Immediate,
    /// On the clock: artifacts `scheduled` halfway to `active`, the session `active` (artifacts
    /// `inProgress`) `to_active_secs` after the activation, and `completed` `to_completed_secs`
    /// after that.
    Timed {
        /// Seconds from the activation to `active`.
        to_active_secs: u64,
        /// Seconds from `active` to `completed`.
        to_completed_secs: u64,
    },
    /// Only [`step`] moves the session, one stage per call; [`catch_up`] does nothing.
    Manual,
}

/// How an activated session runs: its [`Transitions`], the share of artifacts that fail, and
/// the seed that picks them (rules L7, L8).
///
/// The default is [`Transitions::Timed`] with 5 seconds to `active` and 10 more to
/// `completed`, no failures, seed 0.
///
/// ```
/// use restore_delta::lifecycle::{Schedule, Transitions};
/// let s = Schedule::new(Transitions::Manual).with_failed_per_mille(250).with_seed(9);
/// assert_eq!((s.transitions, s.failed_per_mille, s.seed), (Transitions::Manual, 250, 9));
/// assert_eq!(Schedule::default().failed_per_mille, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Schedule {
    /// When the session moves on.
    pub transitions: Transitions,
    /// How many artifacts in a thousand end `failed` (rule L8); 1000 and more: all of them.
    pub failed_per_mille: u16,
    /// The seed that, with each artifact's id, decides which ones fail (rule L8).
    pub seed: u64,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::new(Transitions::Timed {
            to_active_secs: 5,
            to_completed_secs: 10,
        })
    }
}

impl Schedule {
    /// A schedule with these transitions, no failures, seed 0.
    pub fn new(transitions: Transitions) -> Self {
        Schedule {
            transitions,
            failed_per_mille: 0,
            seed: 0,
        }
    }

    /// Sets [`Schedule::failed_per_mille`].
    #[must_use]
    pub fn with_failed_per_mille(mut self, failed_per_mille: u16) -> Self {
        self.failed_per_mille = failed_per_mille;
        self
    }

    /// Sets [`Schedule::seed`].
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// The stages of an activated session, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// Session `activating`, artifacts `scheduling` (the activation itself).
    Scheduling = 0,
    /// Session `activating`, artifacts `scheduled`.
    Scheduled = 1,
    /// Session `active`, artifacts `inProgress` with their `startDateTime`.
    InProgress = 2,
    /// Session `completed` or `completedWithError`, artifacts `succeeded` or `failed` with
    /// their `completionDateTime`; the session's `completedDateTime`.
    Done = 3,
}

impl Stage {
    const ALL: [Stage; 4] = [
        Stage::Scheduling,
        Stage::Scheduled,
        Stage::InProgress,
        Stage::Done,
    ];

    fn next(self) -> Option<Stage> {
        Stage::ALL.get(self as usize + 1).copied()
    }
}

/// What an activated session's schedule needs besides the session: the schedule, the activation
/// instant, the stage reached and when each stage was entered. The embedder keeps it beside the
/// session from [`activate`] on; it holds no artifact data (a few dozen bytes), and a server
/// that restarts rebuilds it by replaying [`activate`] and [`step`] with the instants it
/// recorded for them, or from [`Progress::entered_at`] with [`Progress::resume`] ([`catch_up`]
/// needs no replay: it depends on its `now` alone).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Progress {
    schedule: Schedule,
    stage: Stage,
    /// When each stage was entered (`None`: not yet).
    entered: [Option<Timestamp>; 4],
}

impl Progress {
    /// The schedule the session runs on.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The activation instant.
    pub fn activated(&self) -> Timestamp {
        self.entered(Stage::Scheduling).unwrap_or(Timestamp::EPOCH)
    }

    /// When `stage` was entered.
    fn entered(&self, stage: Stage) -> Option<Timestamp> {
        self.entered.get(stage as usize).copied().flatten()
    }

    /// Records when `stage` was entered.
    fn set_entered(&mut self, stage: Stage, at: Option<Timestamp>) {
        if let Some(slot) = self.entered.get_mut(stage as usize) {
            *slot = at;
        }
    }

    /// The instants at which the stages reached so far were entered, the activation first: one
    /// to four of them. With [`Progress::schedule`], all a [`Progress`] holds: a server that
    /// snapshots its sessions stores these and calls [`Progress::resume`] instead of replaying
    /// [`activate`] and [`step`].
    pub fn entered_at(&self) -> Vec<Timestamp> {
        self.entered.iter().map_while(|t| *t).collect()
    }

    /// The [`Progress`] whose [`Progress::schedule`] is `schedule` and whose
    /// [`Progress::entered_at`] is `entered`; `None` when `entered` is empty, longer than four or
    /// goes back in time. It must be the session's own record: nothing here can check it
    /// against the session.
    ///
    /// ```
    /// use restore_delta::lifecycle::{self, Progress, Schedule, Transitions};
    /// use restore_delta::{Session, Timestamp};
    /// let mut s = Session::from_json(br#"{"id":"s1","driveRestoreArtifacts":[]}"#).unwrap();
    /// let t0 = Timestamp::parse_rfc3339("2026-11-30T08:00:00Z").unwrap();
    /// let schedule = Schedule::new(Transitions::Manual);
    /// let mut p = lifecycle::activate(&mut s, 0, &schedule, t0).unwrap();
    /// lifecycle::step(&mut s, &mut p, t0).unwrap();
    /// assert_eq!(Progress::resume(schedule, &p.entered_at()), Some(p));
    /// ```
    pub fn resume(schedule: Schedule, entered: &[Timestamp]) -> Option<Progress> {
        let last = entered.len().checked_sub(1)?;
        let stage = *Stage::ALL.get(last)?;
        if entered.windows(2).any(|w| matches!(w, [a, b] if b < a)) {
            return None;
        }
        let mut at = [None; 4];
        for (slot, t) in at.iter_mut().zip(entered) {
            *slot = Some(*t);
        }
        Some(Progress {
            schedule,
            stage,
            entered: at,
        })
    }

    /// Whether the session has completed (nothing more will change it).
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The next instant at which [`catch_up`] changes the session, on a timed or immediate
    /// schedule; `None` when done, manual, or beyond the calendar. A server can sleep until then.
    pub fn next_change(&self) -> Option<Timestamp> {
        let next = self.stage.next()?;
        self.due(next)
    }

    /// When `stage` is due on the clock: `None` in manual mode or past year 9999.
    fn due(&self, stage: Stage) -> Option<Timestamp> {
        let t0 = self.activated();
        let nanos: u128 = match self.schedule.transitions {
            Transitions::Manual => return None,
            Transitions::Immediate => 0,
            Transitions::Timed {
                to_active_secs,
                to_completed_secs,
            } => {
                let active = u128::from(to_active_secs) * 1_000_000_000;
                match stage {
                    Stage::Scheduling => 0,
                    Stage::Scheduled => active / 2,
                    Stage::InProgress => active,
                    Stage::Done => active + u128::from(to_completed_secs) * 1_000_000_000,
                }
            }
        };
        plus(t0, nanos)
    }
}

/// `t` plus `nanos`; `None` past the calendar's end.
fn plus(t: Timestamp, nanos: u128) -> Option<Timestamp> {
    let total = i128::from(t.unix_seconds()) * 1_000_000_000
        + i128::from(t.subsec_nanos())
        + i128::try_from(nanos).ok()?;
    let secs = i64::try_from(total.div_euclid(1_000_000_000)).ok()?;
    let sub = u32::try_from(total.rem_euclid(1_000_000_000)).ok()?;
    Timestamp::from_unix(secs, sub).ok()
}

/// Rule L6: activates a draft session (`POST …/{id}/activate`).
///
/// `busy` is how many *other* sessions are `activating` or `active` ([`is_busy`](super::is_busy)).
/// A session that is not a draft is 403 `RestoreSessionActionNotAllowed` (checked first); with
/// `busy` at [`MAX_ACTIVE_SESSIONS`] or more, 500 `TooManyActiveRestoreSessions`. Otherwise the
/// session is `activating` whatever the schedule, `lastModifiedDateTime` is `now`, every
/// artifact is `scheduling`, and `restoreSessionArtifactCount` is written (rule L7). The server
/// answers 200 with [`render_session`](super::render_session). A bulk session may be activated;
/// so may an empty one (it completes with no artifacts).
pub fn activate(
    session: &mut Session,
    busy: usize,
    schedule: &Schedule,
    now: Timestamp,
) -> Result<Progress, RequestError> {
    if session.status() != &SessionStatus::Draft {
        return Err(not_allowed(
            RuleId::L6,
            "Restore session can only be activated in Draft state.",
        ));
    }
    if busy >= MAX_ACTIVE_SESSIONS {
        return Err(RequestError::new(
            RuleId::L6,
            500,
            ErrorCode::TooManyActiveRestoreSessions,
            format!("Attempt to activate more than {MAX_ACTIVE_SESSIONS} sessions simultaneously."),
        ));
    }
    let mut progress = Progress {
        schedule: *schedule,
        stage: Stage::Scheduling,
        entered: [Some(now), None, None, None],
    };
    enter(session, &mut progress, Stage::Scheduling);
    Ok(progress)
}

/// Rule L7: brings the session to the stage its schedule has reached at `now`, and returns
/// whether anything changed.
///
/// Path-independent: for `t1 <= t2`, `catch_up(t1)` then `catch_up(t2)` leaves exactly the bytes
/// `catch_up(t2)` alone leaves, because each stage writes values that depend on the schedule
/// only (its due instant, never `now`) and sets members in one fixed order. A `now` earlier
/// than the stage reached changes nothing (the clock is not followed backwards). O(1) when no
/// stage is due; O(artifacts) when one is, however many stages are passed at once. Manual
/// schedules: does nothing.
pub fn catch_up(session: &mut Session, progress: &mut Progress, now: Timestamp) -> bool {
    let mut target = None;
    let mut next = progress.stage.next();
    while let Some(stage) = next {
        match progress.due(stage) {
            Some(due) if due <= now => {
                target = Some(stage);
                next = stage.next();
            }
            _ => break,
        }
    }
    let Some(target) = target else {
        return false;
    };
    for stage in Stage::ALL {
        if stage > progress.stage && stage <= target {
            let due = progress.due(stage);
            progress.set_entered(stage, due);
        }
    }
    enter(session, progress, target);
    true
}

/// Rule L7, manual schedules: moves the session one stage on at `now` (`activating` with
/// artifacts `scheduled`, then `active`, then `completed` or `completedWithError`). A schedule
/// that is not manual, or a session already done, is 403 `RestoreSessionActionNotAllowed`.
/// A `now` earlier than the previous stage's instant counts as that instant.
pub fn step(
    session: &mut Session,
    progress: &mut Progress,
    now: Timestamp,
) -> Result<(), RequestError> {
    if progress.schedule.transitions != Transitions::Manual {
        return Err(not_allowed(
            RuleId::L7,
            "Only a restore session on the manual schedule can be stepped.",
        ));
    }
    let Some(next) = progress.stage.next() else {
        return Err(not_allowed(
            RuleId::L7,
            "The restore session has already completed.",
        ));
    };
    let previous = progress.entered(progress.stage).unwrap_or(now);
    progress.set_entered(next, Some(now.max(previous)));
    enter(session, progress, next);
    Ok(())
}

/// Rule L8: whether the artifact `id` ends `failed`: SplitMix64 of the seed mixed with the
/// FNV-1a hash of the id, below `failed_per_mille` in a thousand.
pub(crate) fn fails(schedule: &Schedule, id: &str) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = (schedule.seed ^ h).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z % 1000 < u64::from(schedule.failed_per_mille)
}

/// The `error` of a failed artifact (rule L8).
const FAILED_ERROR: &str =
    r#"{"code":"UnknownError","message":"Unknown error occurred or a provider-side error."}"#;

/// Writes `stage` to the session and its artifacts (rules L6–L8). Every value written depends
/// on `progress` alone, and members are set in one order (status, startDateTime,
/// completionDateTime, error on artifacts; status, lastModifiedDateTime,
/// restoreSessionArtifactCount, completedDateTime on the session), so writing a later stage
/// over an earlier one gives the bytes of writing it at once.
fn enter(session: &mut Session, progress: &mut Progress, stage: Stage) {
    progress.stage = stage;
    let at = |s: Stage| progress.entered(s).map(|t| quoted(&t.to_string()));
    let started = at(Stage::InProgress).filter(|_| stage >= Stage::InProgress);
    let completed = at(Stage::Done).filter(|_| stage == Stage::Done);
    let schedule = progress.schedule;
    let mut failed = 0usize;
    let mut total = 0usize;
    for family in [Family::Standard, Family::Granular] {
        let collection = session.collection_mut(family);
        if collection.is_empty() {
            continue;
        }
        let has_error = collection.which().shape() != Shape::GranularItem;
        // Infallible for these edits (ids and the rules' members are kept); should it fail,
        // the artifacts keep their previous stage rather than the library panicking.
        let _ = collection.rewrite(|a| {
            total += 1;
            let fail = stage == Stage::Done && fails(&schedule, a.id());
            failed += usize::from(fail);
            let status = match stage {
                Stage::Scheduling => ArtifactStatus::Scheduling,
                Stage::Scheduled => ArtifactStatus::Scheduled,
                Stage::InProgress => ArtifactStatus::InProgress,
                Stage::Done if fail => ArtifactStatus::Failed,
                Stage::Done => ArtifactStatus::Succeeded,
            };
            let status = quoted(status.as_str());
            let mut updates: Vec<(&str, &str)> = vec![("status", &status)];
            if let Some(t) = &started {
                updates.push(("startDateTime", t));
            }
            if let Some(t) = &completed {
                updates.push(("completionDateTime", t));
            }
            if fail && has_error {
                updates.push(("error", FAILED_ERROR));
            }
            set_members(a.json_text(), &updates)
        });
    }
    let status = match stage {
        Stage::Scheduling | Stage::Scheduled => SessionStatus::Activating,
        Stage::InProgress => SessionStatus::Active,
        Stage::Done if failed > 0 => SessionStatus::CompletedWithError,
        Stage::Done => SessionStatus::Completed,
    };
    session.set_status(status);
    if let Some(t) = at(stage) {
        session.set_member("lastModifiedDateTime", to_raw(t));
    }
    let (done, in_progress) = match stage {
        Stage::Done => (total.saturating_sub(failed), 0),
        Stage::InProgress => (0, total),
        _ => (0, 0),
    };
    let counts = [
        ("total", total.to_string()),
        ("completed", done.to_string()),
        ("failed", failed.to_string()),
        ("inProgress", in_progress.to_string()),
    ];
    let counts: Vec<(&str, &str)> = counts.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let old = session
        .member("restoreSessionArtifactCount")
        .map(|raw| raw.get())
        .filter(|text| text.starts_with('{'))
        .unwrap_or("{}");
    let text = set_members(old, &counts);
    session.set_member("restoreSessionArtifactCount", to_raw(text));
    if let Some(t) = completed {
        session.set_member("completedDateTime", to_raw(t));
    }
}
