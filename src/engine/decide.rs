//! Deciding each item against the evolving collection (rules X1–X4, A1–A7, G1–G4).
//!
//! Nothing here mutates the session: decisions are made against the stored collection's indexes
//! plus an overlay of the request's own earlier effects, so atomic mode can drop the plan
//! without any rollback. Each item costs O(1) index look-ups (plus O(log n) for ordered maps).

use std::borrow::Cow;
use std::ops::Range;

use hashbrown::HashTable;

use crate::engine::context::Context;
use crate::engine::error::ErrorCode;
use crate::engine::ids::IdSource;
use crate::engine::options::{MissingRemoval, Options};
use crate::engine::outcome::{ItemFailure, Operation};
use crate::engine::reference;
use crate::engine::request::{MALFORMED, json_type};
use crate::json::borrowed::{Json, Object};
use crate::json::write_str;
use crate::model::collection::{Collection, Spans, StoredFacts};
use crate::model::kinds::{ArtifactCollection, Shape, type_name_matches};
use crate::rule::RuleId;

/// What a removal targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A stored artifact, by sequence number, with its id's hash.
    Stored(usize, u64),
    /// An artifact added by an earlier item of this request.
    Pending(usize),
    /// Nothing ([`MissingRemoval::Succeed`]).
    Missing,
}

/// The decision for one item; strings borrow from the request.
#[derive(Debug)]
pub(crate) enum Decision<'r> {
    /// Index into [`Plan::pending`].
    Added(usize),
    Removed {
        id: &'r str,
        reason: &'static str,
        /// False for a no-op removal of an absent id ([`MissingRemoval::Succeed`]).
        existed: bool,
    },
    Failed(ItemFailure),
}

/// A new artifact, decided but not committed. Its facts borrow from the request.
#[derive(Debug)]
pub(crate) struct Pending<'r> {
    pub(crate) id: Cow<'r, str>,
    /// The id's hash in the collection's id index ([`Collection::hash_id`]).
    pub(crate) id_hash: u64,
    /// `(restore point, searchResponseId)`, for standard and mailbox artifacts.
    pub(crate) key: Option<(&'r str, Option<&'r str>)>,
    /// The key's hash in the duplicate-key index ([`Collection::hash_key`]).
    pub(crate) key_hash: Option<u64>,
    pub(crate) destination: Option<&'static str>,
    /// Where its JSON text is in [`Plan::json`].
    json: Range<usize>,
    /// Where `id`, the key and the destination are spelled in its JSON text.
    pub(crate) spans: Spans,
    /// False once a later item of the request removed it.
    pub(crate) alive: bool,
    /// How many stored artifacts earlier items removed: the id had to be absent from the
    /// stored collection but for the first `removed_before` of [`Plan::removed`].
    removed_before: usize,
}

impl<'r> Pending<'r> {
    pub(crate) fn facts(&self) -> StoredFacts<'_> {
        StoredFacts {
            id: &self.id,
            key: self.key,
            destination: self.destination,
        }
    }
}

/// Every decision of a request, and what committing them changes.
#[derive(Debug)]
pub(crate) struct Plan<'r> {
    pub(crate) decisions: Vec<Decision<'r>>,
    pub(crate) pending: Vec<Pending<'r>>,
    /// Stored artifacts to remove, in request order.
    pub(crate) removed: Vec<Removal>,
    /// The request time as written in JSON (`createdDateTime`, `lastModifiedDateTime`).
    pub(crate) now: String,
    /// The JSON texts of the new artifacts, one after the other (one allocation, not one each).
    json: String,
}

impl Plan<'_> {
    /// The JSON text of a new artifact of this plan.
    pub(crate) fn json_of(&self, p: &Pending<'_>) -> &str {
        self.json.get(p.json.clone()).unwrap_or("{}")
    }

    pub(crate) fn any_failed(&self) -> bool {
        self.decisions
            .iter()
            .any(|d| matches!(d, Decision::Failed(_)))
    }

    /// Whether any addition succeeded (even if a later item removed it again).
    pub(crate) fn added_any(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// A stored artifact to remove: its position and the hash of its id ([`Collection::hash_id`]),
/// computed while deciding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Removal {
    pub(crate) seq: usize,
    pub(crate) id_hash: u64,
}

/// The hash a position is kept under in [`Evolving`]'s set of removed positions (Fibonacci
/// hashing: positions are not chosen by clients).
fn seq_hash(seq: usize) -> u64 {
    (seq as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A duplicate key, `(restore point, searchResponseId)`.
type Key<'a> = (&'a str, Option<&'a str>);

/// The stored collection seen through the request's earlier effects. The overlay's keys borrow
/// from the stored collection (`'c`) or from the request (`'r`); nothing is copied per item but
/// the new artifacts' ids and JSON.
struct Evolving<'c, 'r: 'c> {
    base: &'c Collection,
    /// Positions of the stored artifacts removed so far (hashed by [`seq_hash`]).
    removed: HashTable<usize>,
    removed_order: Vec<Removal>,
    pending: Vec<Pending<'r>>,
    /// The JSON texts of `pending` ([`Plan::json`]).
    json: String,
    /// (id hash, index into `pending`) of the live pending artifacts.
    pending_by_id: HashTable<(u64, usize)>,
    /// (key hash, key, change in count): the key hash is the stored index's
    /// ([`Collection::hash_key`]), computed once per key and item.
    key_delta: HashTable<(u64, Key<'c>, i64)>,
    /// Change in the count of `new` and `inPlace` artifacts (the only values an addition
    /// takes, A3), and of artifacts with any destination type (a stored artifact may carry
    /// another value: it counts here only).
    new_delta: i64,
    in_place_delta: i64,
    with_destination_delta: i64,
    /// How drawn ids are checked against the stored collection ([`decide`]).
    check: Check,
    /// `pending[..checked]` were checked against the stored collection (or not drawn).
    checked: usize,
    /// A [`Check::Batched`] pass found a drawn id stored: the pass stops.
    stopped: bool,
}

impl<'c, 'r: 'c> Evolving<'c, 'r> {
    /// An overlay sized for a request of `items` items (each adds or removes at most one), of
    /// which `additions` are additions.
    fn new(base: &'c Collection, items: usize, additions: usize, check: Check) -> Self {
        Evolving {
            base,
            removed: HashTable::with_capacity(items),
            removed_order: Vec::with_capacity(items),
            pending: Vec::with_capacity(items),
            // A new standard artifact's text is about 200 bytes, with a 36-byte id.
            json: String::with_capacity(additions.saturating_mul(256)),
            pending_by_id: HashTable::with_capacity(items),
            key_delta: HashTable::with_capacity(items),
            new_delta: 0,
            in_place_delta: 0,
            with_destination_delta: 0,
            check,
            checked: 0,
            stopped: false,
        }
    }

    /// Checks the ids drawn since the last check against the stored collection, reading their
    /// index entries first, all at once ([`Collection::warm_ids`]): each must have been absent
    /// when drawn, but for stored artifacts earlier items removed. `false` when one was stored.
    fn check_drawn(&mut self) -> bool {
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
    fn before_deciding_on(&mut self, found: Option<Target>) {
        let unsure = match found {
            Some(Target::Pending(i)) => i >= self.checked,
            Some(Target::Stored(..)) | Some(Target::Missing) => false,
            None => self.checked < self.pending.len(),
        };
        if self.check == Check::Batched && unsure && !self.check_drawn() {
            self.stopped = true;
        }
    }

    /// The artifact with this id (its hash is `hash`, [`Collection::hash_id`]).
    fn find(&self, hash: u64, id: &str) -> Option<Target> {
        if let Some(i) = self.find_pending(hash, id) {
            return Some(Target::Pending(i));
        }
        self.base
            .find_id(hash, id)
            .filter(|&seq| !self.is_removed(seq))
            .map(|seq| Target::Stored(seq, hash))
    }

    /// The live addition of this request with this id (its hash is `hash`).
    fn find_pending(&self, hash: u64, id: &str) -> Option<usize> {
        let pending = &self.pending;
        self.pending_by_id
            .find(hash, |&(h, i)| {
                h == hash && pending.get(i).is_some_and(|p| p.id == id)
            })
            .map(|&(_, i)| i)
    }

    /// Whether an earlier item removed the stored artifact at `seq`.
    fn is_removed(&self, seq: usize) -> bool {
        self.removed.find(seq_hash(seq), |&s| s == seq).is_some()
    }

    /// How many artifacts have `key`, whose hash is `hash` ([`Collection::hash_key`]). Stored
    /// artifacts that earlier items removed are left out here, not in `key_delta`: a removal
    /// then needs neither the removed artifact's key nor its hash.
    fn key_count(&self, hash: u64, key: Key<'_>) -> i64 {
        let stored = self
            .base
            .key_count_hashed(hash, key, |seq| self.is_removed(seq));
        let delta = self
            .key_delta
            .find(hash, |e| e.0 == hash && e.1 == key)
            .map_or(0, |e| e.2);
        i64::from(stored) + delta
    }

    /// The change in the count of artifacts with `destination`, `new` or `inPlace` (A3).
    fn destination_delta(&self, destination: &str) -> i64 {
        match destination {
            "new" => self.new_delta,
            "inPlace" => self.in_place_delta,
            _ => 0,
        }
    }

    /// Whether an artifact with a destination type other than `destination` is present.
    fn other_destination_present(&self, destination: &str) -> bool {
        let total = i64::try_from(self.base.with_destination()).unwrap_or(i64::MAX)
            + self.with_destination_delta;
        let same = i64::try_from(self.base.destination_count(destination)).unwrap_or(i64::MAX)
            + self.destination_delta(destination);
        total - same > 0
    }

    /// Counts an artifact in (`sign` 1) or out (-1) of the evolving collection; `key_hash` is
    /// the key's hash when the caller has it. Returns the key's hash.
    fn account(
        &mut self,
        key: Option<Key<'c>>,
        key_hash: Option<u64>,
        destination: Option<&'c str>,
        sign: i64,
    ) -> Option<u64> {
        let mut hashed = None;
        if let Some(key) = key {
            let hash = key_hash.unwrap_or_else(|| self.base.hash_key(key));
            hashed = Some(hash);
            let entry = self
                .key_delta
                .entry(hash, |e| e.0 == hash && e.1 == key, |e| e.0);
            entry.or_insert((hash, key, 0)).get_mut().2 += sign;
        }
        if let Some(d) = destination {
            match d {
                "new" => self.new_delta += sign,
                "inPlace" => self.in_place_delta += sign,
                _ => {}
            }
            self.with_destination_delta += sign;
        }
        hashed
    }

    /// Takes `target` out of the evolving collection.
    fn remove(&mut self, target: Target) {
        match target {
            Target::Stored(seq, id_hash) => {
                if let Ok(destination) = self.base.destination_at(seq) {
                    // Its key is left out by `key_count`.
                    self.account(None, None, destination, -1);
                    self.removed
                        .insert_unique(seq_hash(seq), seq, |&s| seq_hash(s));
                    self.removed_order.push(Removal { seq, id_hash });
                }
            }
            Target::Pending(i) => {
                let Some(p) = self.pending.get_mut(i) else {
                    return;
                };
                p.alive = false;
                let (hash, key, key_hash, destination) =
                    (p.id_hash, p.key, p.key_hash, p.destination);
                if let Ok(entry) = self.pending_by_id.find_entry(hash, |e| e.1 == i) {
                    entry.remove();
                }
                self.account(key, key_hash, destination, -1);
            }
            Target::Missing => {}
        }
    }

    fn add(&mut self, p: Pending<'r>) -> usize {
        self.account(p.key, p.key_hash, p.destination, 1);
        let i = self.pending.len();
        self.pending_by_id
            .insert_unique(p.id_hash, (p.id_hash, i), |e| e.0);
        self.pending.push(p);
        i
    }
}

/// Decides every item, in order, against the evolving collection.
///
/// A drawn id (rule A7) must be absent from the evolving collection. Checking it against the
/// stored collection is a look-up at a random place of a large index; done item by item, these
/// look-ups wait on memory one after another (measured: 7 µs of a 50-item request at 100,000
/// artifacts, when the index is not cached). So a first pass ([`Check::Batched`]) checks a drawn
/// id against the request's own additions only and leaves its check against the stored
/// collection for later, done for many ids at once ([`Evolving::check_drawn`]): at the end of
/// the pass, and before any decision a stored drawn id could change (a look-up that finds, or
/// misses, an id while drawn ids are unchecked). Until such a decision, the first pass decides
/// as a careful one and draws no more ids than it. If a drawn id was stored after all (an id
/// source that repeats stored ids), the pass stops there and the request is decided again, item
/// by item, with the ids drawn so far replayed in order: the answer, and the number of ids taken
/// from the source, are those of a single careful pass (the fuzz target `apply_ops` compares
/// both with a model).
pub(crate) fn decide<'r, I: IdSource>(
    base: &Collection,
    items: &[&'r Object<'_>],
    hints: &'r [Hint<'r>],
    options: &Options,
    ctx: &mut Context<I>,
) -> Plan<'r> {
    let now = ctx.now.to_string();
    let mut source = || ctx.ids.next_id();
    let mut ids = Ids::new(&mut source);
    let (mut plan, stopped) =
        decide_pass(base, items, hints, options, &now, &mut ids, Check::Batched);
    if stopped {
        let mut replay = ids.replay(&plan).into_iter();
        let mut source = || replay.next().unwrap_or_else(|| ctx.ids.next_id());
        let mut ids = Ids::new(&mut source);
        plan = decide_pass(
            base,
            items,
            hints,
            options,
            &now,
            &mut ids,
            Check::Immediate,
        )
        .0;
    }
    plan.now = now;
    plan
}

/// One pass of [`decide`] over the items; `true` beside the plan when a [`Check::Batched`] pass
/// stopped on a drawn id that was stored (the plan is then to be decided again).
fn decide_pass<'r>(
    base: &Collection,
    items: &[&'r Object<'_>],
    hints: &'r [Hint<'r>],
    options: &Options,
    now: &str,
    ids: &mut Ids<'_>,
    check: Check,
) -> (Plan<'r>, bool) {
    let collection = base.which();
    let additions = hints
        .iter()
        .filter(|h| matches!(h, Hint::Addition { .. }))
        .count();
    let mut ev = Evolving::new(base, items.len(), additions, check);
    let mut decisions = Vec::with_capacity(items.len());
    for (item, hint) in items.iter().zip(hints) {
        let decision = match hint {
            Hint::Removal(id_hash) => decide_removal(item, *id_hash, options, &mut ev),
            Hint::Addition { restore_point, key } => {
                let added = match collection.shape() {
                    Shape::GranularItem => decide_granular_item(item, collection, &mut ev),
                    shape => {
                        let hint = (restore_point.as_deref(), *key);
                        decide_standard(item, hint, collection, shape, now, &mut ev, ids)
                    }
                };
                added.map_or_else(Decision::Failed, Decision::Added)
            }
        };
        decisions.push(decision);
        if ev.stopped {
            break;
        }
    }
    if ev.check == Check::Batched && !ev.stopped && !ev.check_drawn() {
        ev.stopped = true;
    }
    let plan = Plan {
        decisions,
        pending: ev.pending,
        removed: ev.removed_order,
        now: String::new(),
        json: ev.json,
    };
    (plan, ev.stopped)
}

/// When a pass checks drawn ids against the stored collection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// As each id is drawn.
    Immediate,
    /// Several at once, when a decision needs it and at the end ([`Evolving::check_drawn`]).
    Batched,
}

/// Where a pass of [`decide`] draws ids from, and what it turned down.
struct Ids<'s> {
    source: &'s mut dyn FnMut() -> String,
    /// Ids drawn and turned down (empty, or present), each with how many drawn ids had been
    /// taken before it: with the taken ones (the drawn ids of [`Plan::pending`]) they give the
    /// order of every draw, for [`Ids::replay`].
    turned_down: Vec<(usize, String)>,
    taken: usize,
}

impl<'s> Ids<'s> {
    fn new(source: &'s mut dyn FnMut() -> String) -> Self {
        Ids {
            source,
            turned_down: Vec::new(),
            taken: 0,
        }
    }

    /// Every id this pass drew, in the order drawn; `plan` is the pass's.
    fn replay(self, plan: &Plan<'_>) -> Vec<String> {
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

/// What [`prepare`] learnt of an item before any decision: whether it is a removal, the hash
/// of the removal's id, the addition's restore point (rule A2) and the hash of its duplicate key.
#[derive(Debug)]
pub(crate) enum Hint<'r> {
    /// A removal, with the hash of its `id` when that is a non-empty string (the string rule X2
    /// reads).
    Removal(Option<u64>),
    /// An addition. For standard and mailbox additions, `restore_point` is the key rule A2
    /// resolves (`None`: the reference is invalid), and `key` the `searchResponseId` read (for
    /// mailboxes) with the hash of the pair; [`decide_standard`] uses the hash only if the pair
    /// it checks is the same.
    Addition {
        restore_point: Option<Cow<'r, str>>,
        key: Option<(Option<&'r str>, u64)>,
    },
}

/// Classifies each item, resolves each addition's restore point (rule A2) and, before any
/// decision, hashes the id of each removal and the key of each standard addition, and has the
/// collection read what their look-ups will need (see [`Collection::warm`]).
pub(crate) fn prepare<'r>(
    base: &Collection,
    items: &[&'r Object<'_>],
    options: &Options,
) -> Vec<Hint<'r>> {
    let mailbox = base.which().shape() == Shape::GranularMailbox;
    let standard = base.which().shape() != Shape::GranularItem;
    let hints: Vec<Hint<'r>> = items
        .iter()
        .map(|item| {
            if is_removal(item) {
                let id_hash = non_empty_str(item.get("id")).map(|id| base.hash_id(id));
                return Hint::Removal(id_hash);
            }
            let restore_point = if standard {
                restore_point_key(item, options)
            } else {
                None
            };
            let srid = non_empty_str(item.get("searchResponseId")).filter(|_| mailbox);
            let key = restore_point
                .as_deref()
                .map(|rp| (srid, base.hash_key((rp, srid))));
            Hint::Addition { restore_point, key }
        })
        .collect();
    let mut id_hashes = Vec::with_capacity(hints.len());
    let mut key_hashes = Vec::with_capacity(hints.len());
    for hint in &hints {
        match *hint {
            Hint::Removal(Some(h)) => id_hashes.push(h),
            Hint::Addition {
                key: Some((_, h)), ..
            } => key_hashes.push(h),
            _ => {}
        }
    }
    base.warm(&id_hashes, &key_hashes);
    hints
}

/// Rule A2: the key of the restore point an addition names, from `restorePoint.id` (a non-empty
/// string, taken as it is) or `restorePoint@odata.id` (an entity-id IRI, [`reference`]); both
/// given, they must name the same key. `None` when the reference is invalid.
fn restore_point_key<'r>(item: &'r Object<'_>, options: &Options) -> Option<Cow<'r, str>> {
    let Some(Json::Object(rp)) = item.get("restorePoint") else {
        return None;
    };
    let id = match rp.get("id") {
        None => None,
        Some(v) => Some(non_empty_str(Some(v))?),
    };
    let resolved = match rp.get("@odata.id") {
        None => None,
        Some(Json::String(r)) => Some(reference::restore_point_key(r, options)?),
        Some(_) => return None,
    };
    match (id, resolved) {
        (None, None) => None,
        (Some(id), None) => Some(Cow::Borrowed(id)),
        (None, Some(key)) => Some(key),
        (Some(id), Some(key)) => (id == key).then_some(Cow::Borrowed(id)),
    }
}

/// An item with `@removed` or `@odata.removed` is a removal; any other is an addition.
pub(crate) fn is_removal(item: &Object<'_>) -> bool {
    item.contains_key("@removed") || item.contains_key("@odata.removed")
}

fn bad_request(rule: RuleId, op: Operation, detail: impl std::fmt::Display) -> ItemFailure {
    ItemFailure::new(
        rule,
        op,
        400,
        ErrorCode::InvalidPatchRequest,
        format!("{MALFORMED} {detail}"),
    )
}

/// Rules X1–X4.
fn decide_removal<'c, 'r: 'c>(
    item: &'r Object<'_>,
    id_hash: Option<u64>,
    options: &Options,
    ev: &mut Evolving<'c, 'r>,
) -> Decision<'r> {
    let fail = |f: ItemFailure| Decision::Failed(f);
    let op = Operation::Remove;
    // X1: the marker and its reason.
    let marker = match (item.get("@removed"), item.get("@odata.removed")) {
        (Some(_), Some(_)) => {
            return fail(bad_request(
                RuleId::X1,
                op,
                "An item can't carry both `@removed` and `@odata.removed`.",
            ));
        }
        (Some(m), None) | (None, Some(m)) => m,
        (None, None) => &Json::Null,
    };
    let reason = match marker {
        Json::Null => Some("changed"),
        Json::Object(o) => match o.get("reason") {
            None | Some(Json::Null) => Some("changed"),
            Some(Json::String(r)) if r == "changed" => Some("changed"),
            Some(Json::String(r)) if r == "deleted" => Some("deleted"),
            Some(_) => None,
        },
        _ => {
            return fail(bad_request(
                RuleId::X1,
                op,
                format_args!(
                    "`@removed` must be an object or null, not {}.",
                    json_type(marker)
                ),
            ));
        }
    };
    let Some(reason) = reason else {
        return fail(bad_request(
            RuleId::X1,
            op,
            "`@removed.reason` must be \"changed\" or \"deleted\".",
        ));
    };
    // X2: the id.
    let id = match item.get("id") {
        Some(Json::String(id)) if !id.is_empty() => id.as_ref(),
        _ => {
            return fail(bad_request(
                RuleId::X2,
                op,
                "A removal needs the `id` of the artifact, a non-empty string.",
            ));
        }
    };
    // X3: present in the evolving collection.
    let hash = id_hash.unwrap_or_else(|| ev.base.hash_id(id));
    let found = ev.find(hash, id);
    ev.before_deciding_on(found);
    let target = match (found, options.missing_removal) {
        (Some(t), _) => t,
        (None, MissingRemoval::Succeed) => Target::Missing,
        (None, MissingRemoval::Fail) => {
            return fail(ItemFailure::new(
                RuleId::X3,
                op,
                409,
                ErrorCode::Invalid,
                "The identifier to be removed from the restore session does not exist",
            ));
        }
    };
    // X4.
    let existed = target != Target::Missing;
    ev.remove(target);
    Decision::Removed {
        id,
        reason,
        existed,
    }
}

/// `true` for annotation names: `@term`, or `property@term`.
fn is_annotation(name: &str) -> bool {
    name.contains('@')
}

/// The `@odata.type` check of rules A1 and G1.
fn check_item_type(
    item: &Object<'_>,
    collection: ArtifactCollection,
    rule: RuleId,
) -> Result<(), ItemFailure> {
    match item.get("@odata.type") {
        None => Ok(()),
        Some(Json::String(t)) if type_name_matches(t, collection.item_type()) => Ok(()),
        Some(_) => Err(bad_request(
            rule,
            Operation::Insert,
            format_args!("`@odata.type` must be \"{}\".", collection.item_type()),
        )),
    }
}

/// The first member (in name order) that an addition may not carry.
fn forbidden_member<'a>(item: &'a Object<'_>, allowed: &[&str]) -> Option<&'a str> {
    item.keys()
        .filter(|n| !is_annotation(n) && !allowed.contains(n))
        .min()
}

fn non_empty_str<'a>(v: Option<&'a Json<'_>>) -> Option<&'a str> {
    match v {
        Some(Json::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Rules A1–A7 (and A6 for granular mailbox artifacts).
fn decide_standard<'c, 'r: 'c>(
    item: &'r Object<'_>,
    (restore_point, hinted): (Option<&'r str>, Option<(Option<&'r str>, u64)>),
    collection: ArtifactCollection,
    shape: Shape,
    now: &str,
    ev: &mut Evolving<'c, 'r>,
    ids: &mut Ids<'_>,
) -> Result<usize, ItemFailure> {
    let op = Operation::Insert;
    let mailbox = shape == Shape::GranularMailbox;
    // A1: allowed members.
    let allowed: &[&str] = if mailbox {
        &["restorePoint", "destinationType", "searchResponseId"]
    } else {
        &["restorePoint", "destinationType"]
    };
    if let Some(name) = forbidden_member(item, allowed) {
        return Err(bad_request(
            RuleId::A1,
            op,
            format_args!("`{name}` can't be set on a new {}.", short_type(collection)),
        ));
    }
    check_item_type(item, collection, RuleId::A1)?;
    // A2: the restore point reference, resolved by `prepare`.
    let restore_point = restore_point.ok_or_else(|| {
        ItemFailure::new(
            RuleId::A2,
            op,
            400,
            ErrorCode::InvalidRestorePoint,
            "Invalid restore point provided.",
        )
    })?;
    // A3: the destination type.
    let destination = match item.get("destinationType") {
        Some(Json::String(d)) if d == "new" => "new",
        Some(Json::String(d)) if d == "inPlace" => "inPlace",
        _ => {
            return Err(ItemFailure::new(
                RuleId::A3,
                op,
                400,
                ErrorCode::InvalidPathType,
                "PathType (new/in-place) isn't known for artifacts.",
            ));
        }
    };
    // A6: granular mailbox artifacts name their search response.
    let search_response_id = if mailbox {
        Some(non_empty_str(item.get("searchResponseId")).ok_or_else(|| {
            bad_request(
                RuleId::A6,
                op,
                "A granular mailbox artifact needs `searchResponseId`, a non-empty string.",
            )
        })?)
    } else {
        None
    };
    // A4: not already in the collection.
    let key = (restore_point, search_response_id);
    let key_hash =
        hinted_key_hash(hinted, search_response_id).unwrap_or_else(|| ev.base.hash_key(key));
    if ev.key_count(key_hash, key) > 0 {
        return Err(duplicate(RuleId::A4, op));
    }
    // A5: one destination type per session.
    if ev.other_destination_present(destination) {
        return Err(ItemFailure::new(
            RuleId::A5,
            op,
            400,
            ErrorCode::DifferentRestoreDestinationType,
            "Different destination types for artifacts in request.",
        ));
    }
    // A7: a new artifact with a fresh id.
    let (id, id_hash) = fresh_id(ev, ids).ok_or_else(|| {
        ItemFailure::new(
            RuleId::A7,
            op,
            500,
            ErrorCode::InternalServerError,
            "The id source yielded no id that is not already in the collection.",
        )
    })?;
    let json = &mut ev.json;
    let start = json.len();
    json.reserve(160 + id.len() + restore_point.len() + search_response_id.map_or(0, str::len));
    let mut spans = Spans::default();
    json.push_str("{\"id\":");
    spans.id = write_spanned(json, start, &id);
    json.push_str(",\"restorePoint\":{\"id\":");
    spans.restore_point = write_spanned(json, start, restore_point);
    json.push_str("},\"destinationType\":");
    // `new` or `inPlace`: nothing to escape.
    json.push('"');
    spans.destination = span(json.len() - start, destination.len());
    json.push_str(destination);
    json.push('"');
    if let Some(s) = search_response_id {
        json.push_str(",\"searchResponseId\":");
        spans.search_response_id = write_spanned(json, start, s);
    }
    json.push_str(",\"status\":\"added\",\"createdDateTime\":\"");
    json.push_str(now);
    json.push_str("\"}");
    let json = start..json.len();
    Ok(ev.add(Pending {
        id: Cow::Owned(id),
        id_hash,
        key: Some(key),
        key_hash: Some(key_hash),
        destination: Some(destination),
        json,
        spans,
        alive: true,
        removed_before: ev.removed_order.len(),
    }))
}

/// The hash [`prepare`] computed for an addition's key, if its hint is of the key
/// [`decide_standard`] checks (the same restore point; the same `searchResponseId`, which both
/// read alike): `None` has the hash computed again.
fn hinted_key_hash(
    hinted: Option<(Option<&str>, u64)>,
    search_response_id: Option<&str>,
) -> Option<u64> {
    hinted
        .filter(|&(srid, _)| srid == search_response_id)
        .map(|(_, hash)| hash)
}

/// Rules G1–G4.
fn decide_granular_item<'c, 'r: 'c>(
    item: &'r Object<'_>,
    collection: ArtifactCollection,
    ev: &mut Evolving<'c, 'r>,
) -> Result<usize, ItemFailure> {
    let op = Operation::Insert;
    // G1: allowed members.
    if let Some(name) = forbidden_member(item, &["browseSessionId", "id", "itemKey"]) {
        return Err(bad_request(
            RuleId::G1,
            op,
            format_args!("`{name}` can't be set on a new {}.", short_type(collection)),
        ));
    }
    check_item_type(item, collection, RuleId::G1)?;
    // G2: browse session and item key.
    let browse = non_empty_str(item.get("browseSessionId")).ok_or_else(|| {
        bad_request(
            RuleId::G2,
            op,
            "A granular artifact needs `browseSessionId`, a non-empty string.",
        )
    })?;
    let key = match (item.get("id"), item.get("itemKey")) {
        (Some(a), Some(b)) => match (non_empty_str(Some(a)), non_empty_str(Some(b))) {
            (Some(a), Some(b)) if a == b => Some(a),
            (Some(_), Some(_)) => {
                return Err(bad_request(
                    RuleId::G2,
                    op,
                    "`id` and `itemKey` name different items.",
                ));
            }
            _ => None,
        },
        (Some(a), None) | (None, Some(a)) => non_empty_str(Some(a)),
        (None, None) => None,
    };
    let key = key.ok_or_else(|| {
        bad_request(
            RuleId::G2,
            op,
            "A granular artifact needs its item key in `itemKey` or `id`, a non-empty string.",
        )
    })?;
    // G3: the key is the artifact id, once per collection.
    let id_hash = ev.base.hash_id(key);
    let found = ev.find(id_hash, key);
    ev.before_deciding_on(found);
    if found.is_some() {
        return Err(duplicate(RuleId::G3, op));
    }
    // G4.
    let json = &mut ev.json;
    let start = json.len();
    json.reserve(key.len() + browse.len() + 80);
    let mut spans = Spans::default();
    json.push_str("{\"id\":");
    spans.id = write_spanned(json, start, key);
    json.push_str(",\"browseSessionId\":");
    write_str(json, browse);
    // G4: `granularRestoreArtifactBase` has no `createdDateTime`.
    json.push_str(",\"status\":\"added\"}");
    let json = start..json.len();
    Ok(ev.add(Pending {
        id: Cow::Borrowed(key),
        id_hash,
        key: None,
        key_hash: None,
        destination: None,
        json,
        spans,
        alive: true,
        removed_before: ev.removed_order.len(),
    }))
}

fn duplicate(rule: RuleId, op: Operation) -> ItemFailure {
    ItemFailure::new(
        rule,
        op,
        400,
        ErrorCode::DuplicateArtifactInList,
        "The restore artifact requested is already present.",
    )
}

fn short_type(collection: ArtifactCollection) -> &'static str {
    let t = collection.item_type();
    t.rsplit('.').next().unwrap_or(t)
}

/// The most ids one addition draws (rule A7): a constant, so a source stuck on stored ids costs
/// the same whatever the size of the session.
pub const MAX_DRAWS_PER_ITEM: usize = 16;

/// Draws ids until one is non-empty and not in the evolving collection: at most
/// [`MAX_DRAWS_PER_ITEM`] draws. With
/// [`Check::Batched`], "not in the evolving collection" is checked against the request's own
/// additions here and against the stored collection later ([`decide`]); `None` also when the
/// pass stops.
fn fresh_id(ev: &mut Evolving<'_, '_>, ids: &mut Ids<'_>) -> Option<(String, u64)> {
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

/// `(start, len)` as a span, when both fit.
fn span(start: usize, len: usize) -> Option<(u32, u32)> {
    Some((u32::try_from(start).ok()?, u32::try_from(len).ok()?))
}

/// Writes `s` as a JSON string and returns where its content is, relative to `base` (where the
/// artifact's text starts in `out`), when written without escapes.
fn write_spanned(out: &mut String, base: usize, s: &str) -> Option<(u32, u32)> {
    let start = out.len() + 1;
    write_str(out, s);
    if out.len() - start - 1 != s.len() {
        return None;
    }
    span(start - base, s.len())
}
