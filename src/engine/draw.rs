//! Drawing fresh ids for new artifacts (rule A7), and checking them against the stored
//! collection in batches: speed machinery threaded through the rules of `decide.rs`.
//!
//! A drawn id must be absent from the evolving collection. Checking it against the stored
//! collection is a look-up at a random place of a large index; done item by item, these
//! look-ups wait on memory one after another (measured: 7 µs of a 50-item request at 100,000
//! artifacts, when the index is not cached). So a first pass ([`Check::Batched`]) checks a drawn
//! id against the request's own additions only and leaves its check against the stored
//! collection for later, done for many ids at once ([`Evolving::check_drawn`]): at the end of the
//! pass, and before any decision a stored drawn id could change (a look-up that finds, or
//! misses, an id while drawn ids are unchecked: [`Evolving::before_deciding_on`]). If a drawn id
//! was stored after all (an id source that repeats stored ids), the pass stops there and the
//! request is decided again, item by item ([`Check::Immediate`]), with the ids drawn so far
//! replayed in order ([`Ids::replay`]).
//!
//! **The invariant**: until a batched pass stops, it decides every item as a careful pass
//! would and draws no more ids than it; a pass that stops is thrown away, and the careful pass
//! that replays its draws takes the same ids from the source in the same order. So the answer,
//! and the number of ids taken from the source, are those of a single careful pass, whatever
//! the source gives (the fuzz target `apply_ops` compares both with a model of the rules).

use std::borrow::Cow;

use crate::engine::overlay::Evolving;
use crate::engine::plan::{Plan, Target};

/// When a pass checks drawn ids against the stored collection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// As each id is drawn.
    Immediate,
    /// Several at once, when a decision needs it and at the end ([`Evolving::check_drawn`]).
    Batched,
}

/// Where a pass of [`decide`](crate::engine::decide::decide) draws ids from, and what it
/// turned down.
pub(crate) struct Ids<'s> {
    pub(crate) source: &'s mut dyn FnMut() -> String,
    /// Ids drawn and turned down (empty, or present), each with how many drawn ids had been
    /// taken before it: with the taken ones (the drawn ids of [`Plan::pending`]) they give the
    /// order of every draw, for [`Ids::replay`].
    pub(crate) turned_down: Vec<(usize, String)>,
    pub(crate) taken: usize,
}

impl<'s> Ids<'s> {
    pub(crate) fn new(source: &'s mut dyn FnMut() -> String) -> Self {
        Ids {
            source,
            turned_down: Vec::new(),
            taken: 0,
        }
    }

    /// Every id this pass drew, in the order drawn; `plan` is the pass's.
    pub(crate) fn replay(self, plan: &Plan<'_>) -> Vec<String> {
        let mut taken = plan
            .pending
            .iter()
            .filter_map(|p| match &p.id {
                Cow::Owned(id) => Some(id.clone()),
                Cow::Borrowed(_) => None,
            })
            .enumerate()
            .peekable();
        let mut all = Vec::with_capacity(self.taken + self.turned_down.len());
        for (before, id) in self.turned_down {
            while let Some((_, taken_id)) = taken.next_if(|(i, _)| *i < before) {
                all.push(taken_id);
            }
            all.push(id);
        }
        all.extend(taken.map(|(_, id)| id));
        all
    }
}

impl<'c, 'r: 'c> Evolving<'c, 'r> {
    /// Checks the ids drawn since the last check against the stored collection, reading their
    /// index entries first, all at once
    /// ([`Collection::warm_ids`](crate::model::collection::Collection::warm_ids)): each must
    /// have been absent when drawn, but for stored artifacts earlier items removed. `false` when
    /// one was stored.
    pub(crate) fn check_drawn(&mut self) -> bool {
        let from = self.checked;
        self.checked = self.pending.len();
        let drawn = || {
            self.pending
                .get(from..)
                .unwrap_or_default()
                .iter()
                .filter(|p| matches!(p.id, Cow::Owned(_)))
        };
        self.base.warm_ids(drawn().map(|p| p.id_hash));
        drawn().all(|p| match self.base.find_id(p.id_hash, &p.id) {
            None => true,
            Some(seq) => self
                .removed_order
                .get(..p.removed_before)
                .is_some_and(|earlier| earlier.iter().any(|r| r.seq == seq)),
        })
    }

    /// Before a decision that a stored drawn id could change: checks the unchecked drawn ids
    /// ([`Check::Batched`]); stops the pass if one was stored. `found` is what the decision's
    /// look-up found: an unchecked addition of this request, or nothing, could be answered
    /// otherwise by a careful pass; a stored artifact or a checked addition could not.
    pub(crate) fn before_deciding_on(&mut self, found: Option<Target>) {
        let unsure = match found {
            Some(Target::Pending(i)) => i >= self.checked,
            Some(Target::Stored(..)) | Some(Target::Missing) => false,
            None => self.checked < self.pending.len(),
        };
        if self.check == Check::Batched && unsure && !self.check_drawn() {
            self.stopped = true;
        }
    }
}

/// The most ids one addition draws (rule A7): a constant, so a source stuck on stored ids costs
/// the same whatever the size of the session.
pub const MAX_DRAWS_PER_ITEM: usize = 16;

/// Draws ids until one is non-empty and not in the evolving collection: at most
/// [`MAX_DRAWS_PER_ITEM`] draws. With [`Check::Batched`], "not in the evolving collection" is
/// checked against the request's own additions here and against the stored collection later
/// (see the top of this file); `None` also when the pass stops.
pub(crate) fn fresh_id(ev: &mut Evolving<'_, '_>, ids: &mut Ids<'_>) -> Option<(String, u64)> {
    for _ in 0..MAX_DRAWS_PER_ITEM {
        let id = (ids.source)();
        if !id.is_empty() {
            let hash = ev.base.hash_id(&id);
            let present = match ev.check {
                Check::Immediate => ev.find(hash, &id).is_some(),
                Check::Batched => {
                    let pending = ev.find_pending(hash, &id);
                    if let Some(i) = pending {
                        ev.before_deciding_on(Some(Target::Pending(i)));
                        if ev.stopped {
                            ids.turned_down.push((ids.taken, id));
                            return None;
                        }
                    }
                    pending.is_some()
                }
            };
            if !present {
                ids.taken += 1;
                return Some((id, hash));
            }
        }
        ids.turned_down.push((ids.taken, id));
    }
    None
}
