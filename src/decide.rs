//! Deciding each item against the evolving collection (rules X1–X4, A1–A7, G1–G4).
//!
//! Nothing here mutates the session: decisions are made against the stored collection's indexes
//! plus an overlay of the request's own earlier effects, so atomic mode can drop the plan
//! without any rollback. Each item costs O(1) index look-ups (plus O(log n) for ordered maps).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use crate::artifact::{DupKey, Facts};
use crate::collection::Collection;
use crate::context::Context;
use crate::error::ErrorCode;
use crate::ids::IdSource;
use crate::json::write_str;
use crate::kinds::{ArtifactCollection, Shape, type_name_matches};
use crate::options::{MissingRemoval, Options};
use crate::outcome::{ItemFailure, Operation};
use crate::request::{MALFORMED, json_type};

/// What a removal targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A stored artifact, by sequence number.
    Stored(usize),
    /// An artifact added by an earlier item of this request.
    Pending(usize),
    /// Nothing ([`MissingRemoval::Succeed`]).
    Missing,
}

/// The decision for one item.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Index into [`Plan::pending`].
    Added(usize),
    Removed {
        id: String,
        reason: &'static str,
    },
    Failed(ItemFailure),
}

/// A new artifact, decided but not committed.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) facts: Facts,
    pub(crate) json: String,
    /// False once a later item of the request removed it.
    pub(crate) alive: bool,
}

/// Every decision of a request, and what committing them changes.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) decisions: Vec<Decision>,
    pub(crate) pending: Vec<Pending>,
    /// Stored artifacts to remove, by position, with their facts, in request order.
    pub(crate) removed: Vec<(usize, Facts)>,
}

impl Plan {
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

/// The stored collection seen through the request's earlier effects.
struct Evolving<'c> {
    base: &'c Collection,
    removed: HashSet<usize>,
    removed_order: Vec<(usize, Facts)>,
    pending: Vec<Pending>,
    pending_by_id: HashMap<Box<str>, usize>,
    key_delta: HashMap<DupKey, i64>,
    destination_delta: BTreeMap<Box<str>, i64>,
    with_destination_delta: i64,
}

impl<'c> Evolving<'c> {
    fn new(base: &'c Collection) -> Self {
        Evolving {
            base,
            removed: HashSet::new(),
            removed_order: Vec::new(),
            pending: Vec::new(),
            pending_by_id: HashMap::new(),
            key_delta: HashMap::new(),
            destination_delta: BTreeMap::new(),
            with_destination_delta: 0,
        }
    }

    fn len(&self) -> usize {
        self.base.len() - self.removed.len() + self.pending_by_id.len()
    }

    fn find(&self, id: &str) -> Option<Target> {
        if let Some(&i) = self.pending_by_id.get(id) {
            return Some(Target::Pending(i));
        }
        self.base
            .seq_of(id)
            .filter(|seq| !self.removed.contains(seq))
            .map(Target::Stored)
    }

    fn key_count(&self, key: &DupKey) -> i64 {
        i64::from(self.base.key_count(key)) + self.key_delta.get(key).copied().unwrap_or(0)
    }

    /// Whether an artifact with a destination type other than `destination` is present.
    fn other_destination_present(&self, destination: &str) -> bool {
        let total = i64::try_from(self.base.with_destination()).unwrap_or(i64::MAX)
            + self.with_destination_delta;
        let same = i64::try_from(self.base.destination_count(destination)).unwrap_or(i64::MAX)
            + self
                .destination_delta
                .get(destination)
                .copied()
                .unwrap_or(0);
        total - same > 0
    }

    fn account(&mut self, facts: &Facts, sign: i64) {
        if let Some(key) = &facts.key {
            *self.key_delta.entry(key.clone()).or_insert(0) += sign;
        }
        if let Some(d) = &facts.destination {
            *self.destination_delta.entry(d.clone()).or_insert(0) += sign;
            self.with_destination_delta += sign;
        }
    }

    fn remove(&mut self, target: Target) {
        match target {
            Target::Stored(seq) => {
                if let Some(facts) = self.base.facts_of(seq) {
                    self.account(&facts, -1);
                    self.removed.insert(seq);
                    self.removed_order.push((seq, facts));
                }
            }
            Target::Pending(i) => {
                let Some(p) = self.pending.get_mut(i) else {
                    return;
                };
                p.alive = false;
                let facts = p.facts.clone();
                self.pending_by_id.remove(&facts.id);
                self.account(&facts, -1);
            }
            Target::Missing => {}
        }
    }

    fn add(&mut self, facts: Facts, json: String) -> usize {
        self.account(&facts, 1);
        let i = self.pending.len();
        self.pending_by_id.insert(facts.id.clone(), i);
        self.pending.push(Pending {
            facts,
            json,
            alive: true,
        });
        i
    }
}

/// Decides every item, in order, against the evolving collection.
pub(crate) fn decide<I: IdSource>(
    base: &Collection,
    items: &[Map<String, Value>],
    options: &Options,
    ctx: &mut Context<I>,
) -> Plan {
    let collection = base.which();
    let now = ctx.now.to_string();
    let mut ev = Evolving::new(base);
    let mut decisions = Vec::with_capacity(items.len());
    for item in items {
        let decision = if is_removal(item) {
            decide_removal(item, options, &mut ev)
        } else {
            let added = match collection.shape() {
                Shape::GranularItem => decide_granular_item(item, collection, &now, &mut ev),
                shape => decide_standard(item, collection, shape, &now, &mut ev, ctx),
            };
            added.map_or_else(Decision::Failed, Decision::Added)
        };
        decisions.push(decision);
    }
    Plan {
        decisions,
        pending: ev.pending,
        removed: ev.removed_order,
    }
}

/// An item with `@removed` or `@odata.removed` is a removal; any other is an addition.
pub(crate) fn is_removal(item: &Map<String, Value>) -> bool {
    item.contains_key("@removed") || item.contains_key("@odata.removed")
}

fn bad_request(op: Operation, detail: impl std::fmt::Display) -> ItemFailure {
    ItemFailure::new(
        op,
        400,
        ErrorCode::InvalidPatchRequest,
        format!("{MALFORMED} {detail}"),
    )
}

/// Rules X1–X4.
fn decide_removal(item: &Map<String, Value>, options: &Options, ev: &mut Evolving<'_>) -> Decision {
    let fail = |f: ItemFailure| Decision::Failed(f);
    let op = Operation::Remove;
    // X1: the marker and its reason.
    let marker = match (item.get("@removed"), item.get("@odata.removed")) {
        (Some(_), Some(_)) => {
            return fail(bad_request(
                op,
                "An item can't carry both `@removed` and `@odata.removed`.",
            ));
        }
        (Some(m), None) | (None, Some(m)) => m,
        (None, None) => &Value::Null,
    };
    let reason = match marker {
        Value::Null => Some("changed"),
        Value::Object(o) => match o.get("reason") {
            None | Some(Value::Null) => Some("changed"),
            Some(Value::String(r)) if r == "changed" => Some("changed"),
            Some(Value::String(r)) if r == "deleted" => Some("deleted"),
            Some(_) => None,
        },
        _ => {
            return fail(bad_request(
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
            op,
            "`@removed.reason` must be \"changed\" or \"deleted\".",
        ));
    };
    // X2: the id.
    let id = match item.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id,
        _ => {
            return fail(bad_request(
                op,
                "A removal needs the `id` of the artifact, a non-empty string.",
            ));
        }
    };
    // X3: present in the evolving collection.
    let target = match (ev.find(id), options.missing_removal) {
        (Some(t), _) => t,
        (None, MissingRemoval::Succeed) => Target::Missing,
        (None, MissingRemoval::Fail) => {
            return fail(ItemFailure::new(
                op,
                409,
                ErrorCode::Invalid,
                "The identifier to be removed from the restore session does not exist",
            ));
        }
    };
    // X4.
    ev.remove(target);
    Decision::Removed {
        id: id.clone(),
        reason,
    }
}

/// `true` for annotation names: `@term`, or `property@term`.
fn is_annotation(name: &str) -> bool {
    name.contains('@')
}

/// The `@odata.type` check of rules A1 and G1.
fn check_item_type(
    item: &Map<String, Value>,
    collection: ArtifactCollection,
) -> Result<(), ItemFailure> {
    match item.get("@odata.type") {
        None => Ok(()),
        Some(Value::String(t)) if type_name_matches(t, collection.item_type()) => Ok(()),
        Some(_) => Err(bad_request(
            Operation::Insert,
            format_args!("`@odata.type` must be \"{}\".", collection.item_type()),
        )),
    }
}

/// The first member (in name order) that an addition may not carry.
fn forbidden_member<'a>(item: &'a Map<String, Value>, allowed: &[&str]) -> Option<&'a String> {
    let mut names: Vec<&String> = item
        .keys()
        .filter(|n| !is_annotation(n) && !allowed.contains(&n.as_str()))
        .collect();
    names.sort_unstable();
    names.first().copied()
}

fn non_empty_str(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Rules A1–A7 (and A6 for granular mailbox artifacts).
fn decide_standard<I: IdSource>(
    item: &Map<String, Value>,
    collection: ArtifactCollection,
    shape: Shape,
    now: &str,
    ev: &mut Evolving<'_>,
    ctx: &mut Context<I>,
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
            op,
            format_args!("`{name}` can't be set on a new {}.", short_type(collection)),
        ));
    }
    check_item_type(item, collection)?;
    // A2: the restore point reference.
    let invalid_rp = || {
        ItemFailure::new(
            op,
            400,
            ErrorCode::InvalidRestorePoint,
            "Invalid restore point provided.",
        )
    };
    let Some(Value::Object(rp)) = item.get("restorePoint") else {
        return Err(invalid_rp());
    };
    let id = rp.get("id");
    let odata_id = rp.get("@odata.id");
    let restore_point = match (id, odata_id) {
        (None, None) => return Err(invalid_rp()),
        (Some(a), None) | (None, Some(a)) => non_empty_str(Some(a)).ok_or_else(invalid_rp)?,
        (Some(a), Some(b)) => match (non_empty_str(Some(a)), non_empty_str(Some(b))) {
            (Some(a), Some(b)) if a == b => a,
            _ => return Err(invalid_rp()),
        },
    };
    // A3: the destination type.
    let destination = match item.get("destinationType") {
        Some(Value::String(d)) if d == "new" || d == "inPlace" => d.as_str(),
        _ => {
            return Err(ItemFailure::new(
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
                op,
                "A granular mailbox artifact needs `searchResponseId`, a non-empty string.",
            )
        })?)
    } else {
        None
    };
    // A4: not already in the collection.
    let key = DupKey {
        restore_point: restore_point.into(),
        search_response_id: search_response_id.map(Box::from),
    };
    if ev.key_count(&key) > 0 {
        return Err(duplicate(op));
    }
    // A5: one destination type per session.
    if ev.other_destination_present(destination) {
        return Err(ItemFailure::new(
            op,
            400,
            ErrorCode::DifferentRestoreDestinationType,
            "Different destination types for artifacts in request.",
        ));
    }
    // A7: a new artifact with a fresh id.
    let id = fresh_id(ev, ctx).ok_or_else(|| {
        ItemFailure::new(
            op,
            500,
            ErrorCode::InternalServerError,
            "The id source yielded no id that is not already in the collection.",
        )
    })?;
    let mut json = String::with_capacity(160);
    json.push_str("{\"id\":");
    write_str(&mut json, &id);
    json.push_str(",\"restorePoint\":{\"id\":");
    write_str(&mut json, restore_point);
    json.push_str("},\"destinationType\":");
    write_str(&mut json, destination);
    if let Some(s) = search_response_id {
        json.push_str(",\"searchResponseId\":");
        write_str(&mut json, s);
    }
    push_added_tail(&mut json, now);
    let facts = Facts {
        id: id.into(),
        key: Some(key),
        destination: Some(destination.into()),
    };
    Ok(ev.add(facts, json))
}

/// Rules G1–G4.
fn decide_granular_item(
    item: &Map<String, Value>,
    collection: ArtifactCollection,
    now: &str,
    ev: &mut Evolving<'_>,
) -> Result<usize, ItemFailure> {
    let op = Operation::Insert;
    // G1: allowed members.
    if let Some(name) = forbidden_member(item, &["browseSessionId", "id", "itemKey"]) {
        return Err(bad_request(
            op,
            format_args!("`{name}` can't be set on a new {}.", short_type(collection)),
        ));
    }
    check_item_type(item, collection)?;
    // G2: browse session and item key.
    let browse = non_empty_str(item.get("browseSessionId")).ok_or_else(|| {
        bad_request(
            op,
            "A granular artifact needs `browseSessionId`, a non-empty string.",
        )
    })?;
    let key = match (item.get("id"), item.get("itemKey")) {
        (Some(a), Some(b)) => match (non_empty_str(Some(a)), non_empty_str(Some(b))) {
            (Some(a), Some(b)) if a == b => Some(a),
            (Some(_), Some(_)) => {
                return Err(bad_request(op, "`id` and `itemKey` name different items."));
            }
            _ => None,
        },
        (Some(a), None) | (None, Some(a)) => non_empty_str(Some(a)),
        (None, None) => None,
    };
    let key = key.ok_or_else(|| {
        bad_request(
            op,
            "A granular artifact needs its item key in `itemKey` or `id`, a non-empty string.",
        )
    })?;
    // G3: the key is the artifact id, once per collection.
    if ev.find(key).is_some() {
        return Err(duplicate(op));
    }
    // G4.
    let mut json = String::with_capacity(key.len() + browse.len() + 80);
    json.push_str("{\"id\":");
    write_str(&mut json, key);
    json.push_str(",\"browseSessionId\":");
    write_str(&mut json, browse);
    push_added_tail(&mut json, now);
    let facts = Facts {
        id: key.into(),
        key: None,
        destination: None,
    };
    Ok(ev.add(facts, json))
}

fn push_added_tail(json: &mut String, now: &str) {
    json.push_str(",\"status\":\"added\",\"createdDateTime\":\"");
    json.push_str(now);
    json.push_str("\"}");
}

fn duplicate(op: Operation) -> ItemFailure {
    ItemFailure::new(
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

/// Draws ids until one is non-empty and not in the evolving collection: at most one draw per
/// artifact in it, plus one, so an id source that never repeats itself always succeeds.
fn fresh_id<I: IdSource>(ev: &Evolving<'_>, ctx: &mut Context<I>) -> Option<String> {
    let tries = ev.len().saturating_add(1);
    (0..tries)
        .map(|_| ctx.ids.next_id())
        .find(|id| !id.is_empty() && ev.find(id).is_none())
}
