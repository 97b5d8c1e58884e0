//! Sequences: successive PATCHes on one evolving session.

use serde_json::Value;

use super::{Builder, Case, CaseError, CaseOptions, Generator};
use crate::{Applied, Session, Timestamp};

/// One PATCH of a [`Sequence`]: everything a [`Case`] has but the state, which is the one the
/// earlier steps left.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Step {
    /// The request body.
    pub request: Vec<u8>,
    /// The `Prefer` value and the limits.
    pub options: CaseOptions,
    /// The request time, RFC 3339 in UTC; never earlier than the step before.
    pub now: String,
    /// The seed of the id source ([`SeededIds`](crate::SeededIds)) of this step; below 2^53.
    pub seed: u64,
}

impl Step {
    /// Applies the step to `session` with the reference.
    ///
    /// # Errors
    /// A `now` that is not RFC 3339.
    pub fn apply(&self, session: Session) -> Result<Applied, CaseError> {
        super::apply_one(session, &self.request, &self.options, &self.now, self.seed)
    }
}

impl From<Case> for Step {
    fn from(case: Case) -> Step {
        Step {
            request: case.request,
            options: case.options,
            now: case.now,
            seed: case.seed,
        }
    }
}

/// Successive PATCHes on one session, as a server sees them: the first step applies to
/// `state`, each later one to the state the step before left (the state is kept whether a step
/// succeeded or was refused).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Sequence {
    /// The session before the first step, as JSON text.
    pub state: String,
    /// The PATCHes, in order.
    pub steps: Vec<Step>,
}

impl Sequence {
    /// Applies every step with the reference, each to the state the one before left.
    ///
    /// # Errors
    /// As [`Case::apply`]: a state the library refuses (S3) or a `now` that is not RFC 3339.
    pub fn apply(&self) -> Result<Vec<Applied>, CaseError> {
        let mut session = Session::from_json(self.state.as_bytes())?;
        let mut out = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            let applied = step.apply(session)?;
            session = applied.state.clone();
            out.push(applied);
        }
        Ok(out)
    }

    /// Each step as a single [`Case`] on the state the steps before it left (computed with the
    /// reference), so that anything that takes cases (a harness, [`Case::vector`],
    /// [`Case::shrink`]) takes the steps of a sequence one by one.
    ///
    /// # Errors
    /// As [`Sequence::apply`].
    pub fn cases(&self) -> Result<Vec<Case>, CaseError> {
        let mut state = self.state.clone();
        let mut out = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            let case = Case {
                state,
                request: step.request.clone(),
                options: step.options.clone(),
                now: step.now.clone(),
                seed: step.seed,
            };
            state = case.apply()?.state.to_json();
            out.push(case);
        }
        Ok(out)
    }
}

/// Seconds between two steps: up to an hour.
const MAX_GAP_SECS: usize = 3_600;

impl Generator {
    /// The next sequence of `steps` PATCHes (at least 1) on one session of one kind and family.
    /// The first step is the case [`Generator::case`] would make; each later one is made with
    /// the same knobs on the state the earlier steps left (computed with the reference), so its
    /// removals name artifacts that are there and its additions meet those the earlier steps
    /// added. A later step never changes the state itself: its whole-request faults are those of
    /// the body. Its clock is up to an hour after the step before; its seed is its own.
    ///
    /// ```
    /// use restore_delta::generate::{Generator, Mix};
    /// let seq = Generator::new(3).mix(Mix::Valid).sequence(4);
    /// assert_eq!(seq.steps.len(), 4);
    /// let answers = seq.apply().unwrap();
    /// assert!(answers.iter().all(|a| matches!(a.answer.response.status, 200 | 204)));
    /// ```
    pub fn sequence(&mut self, steps: usize) -> Sequence {
        let (kind, family) = self.kind_and_family();
        let mut b = Builder::new(&mut self.rng, kind, family, self.artifacts);
        let count = 1 + b.rng.below(self.items);
        b.request(self.mix, count);
        let first = b.finish();
        let state = first.state.clone();
        let mut clock = Timestamp::parse_rfc3339(&first.now).ok();
        let mut session = Session::from_json(state.as_bytes()).ok();
        let mut out = Vec::with_capacity(steps.max(1));
        let mut previous: Step = first.into();
        for i in 1..steps.max(1) {
            session = session.and_then(|s| previous.apply(s).ok().map(|a| a.state));
            let Some(Value::Object(map)) = session.as_ref().map(Session::to_value) else {
                break;
            };
            let mut b = Builder::on_state(&mut self.rng, kind, family, map, i);
            let count = 1 + b.rng.below(self.items);
            b.request(self.mix, count);
            let mut step: Step = b.finish().into();
            let gap = self.rng.below(MAX_GAP_SECS.saturating_add(1));
            let later = clock.and_then(|c| {
                Timestamp::from_unix(
                    c.unix_seconds()
                        .saturating_add(i64::try_from(gap).unwrap_or(0)),
                    c.subsec_nanos(),
                )
                .ok()
            });
            if let Some(t) = later {
                step.now = t.to_string();
                clock = Some(t);
            }
            out.push(std::mem::replace(&mut previous, step));
        }
        out.push(previous);
        Sequence { state, steps: out }
    }
}
