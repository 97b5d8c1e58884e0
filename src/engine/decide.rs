//! Deciding each item against the evolving collection: rules X1–X4 (removals), A1–A7
//! (standard and granular mailbox additions) and G1–G4 (granular drive and site additions), each
//! in the order its checks run.
//!
//! Nothing here mutates the session: decisions are made against the stored collection's indexes
//! plus an overlay of the request's own earlier effects (`overlay.rs`), and make a plan
//! (`plan.rs`) that `commit` applies at once, so atomic mode can drop the plan without any
//! rollback. Each item costs O(1) index look-ups (plus O(log n) for ordered maps). What is learnt
//! of the items before any decision is in `prepare.rs`; how new ids are drawn, and checked in
//! batches, in `draw.rs`.

use std::borrow::Cow;

use crate::engine::context::Context;
use crate::engine::draw::{Check, Ids, fresh_id};
use crate::engine::error::ErrorCode;
use crate::engine::ids::IdSource;
use crate::engine::options::{MissingRemoval, Options};
use crate::engine::outcome::{ItemFailure, Operation};
use crate::engine::overlay::Evolving;
use crate::engine::plan::{Decision, Pending, Plan, Target};
use crate::engine::prepare::{Hint, hinted_key_hash};
use crate::engine::reference;
use crate::engine::request::{MALFORMED, json_type};
use crate::json::borrowed::{Json, Object};
use crate::json::{write_str, write_str_verbatim};
use crate::model::collection::Collection;
use crate::model::kinds::{ArtifactCollection, Shape, type_name_matches};
use crate::model::strref::Spans;
use crate::rule::RuleId;

/// Decides every item, in order, against the evolving collection: a first pass that checks the
/// ids it draws in batches, and, when that pass stops on a drawn id that was stored, a careful
/// pass with the ids it drew replayed. Both give the answer, and take the ids, of one careful
/// pass: the invariant at the top of `draw.rs`.
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

/// Rule A2: the key of the restore point an addition names, from `restorePoint.id` (a non-empty
/// string, taken as it is) or `restorePoint@odata.id` (an entity-id IRI, [`reference`]); both
/// given, they must name the same key. `None` when the reference is invalid.
pub(crate) fn restore_point_key<'r>(
    item: &'r Object<'_>,
    options: &Options,
) -> Option<Cow<'r, str>> {
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

pub(crate) fn non_empty_str<'a>(v: Option<&'a Json<'_>>) -> Option<&'a str> {
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

/// `(start, len)` as a span, when both fit.
fn span(start: usize, len: usize) -> Option<(u32, u32)> {
    Some((u32::try_from(start).ok()?, u32::try_from(len).ok()?))
}

/// Writes `s` as a JSON string and returns where its content is, relative to `base` (where the
/// artifact's text starts in `out`), when written without escapes.
fn write_spanned(out: &mut String, base: usize, s: &str) -> Option<(u32, u32)> {
    let start = out.len() + 1;
    if !write_str_verbatim(out, s) {
        return None;
    }
    span(start - base, s.len())
}
