//! Committing a plan: the only step that changes the session (rules X4, A7, G4, E9, O6).

use crate::engine::context::Context;
use crate::engine::ids::IdSource;
use crate::engine::plan::Plan;
use crate::json::{read_object, to_raw, write_str};
use crate::model::kinds::Family;
use crate::model::session::Session;

/// Applies the decided removals and additions to `family`'s collection and updates the session
/// members rule O6 names. `was_empty`: the session held no artifacts before the request.
pub(crate) fn commit<I: IdSource>(
    session: &mut Session,
    family: Family,
    plan: &Plan<'_>,
    ctx: &Context<I>,
    was_empty: bool,
) {
    let collection = session.collection_mut(family);
    for r in &plan.removed {
        collection.remove_hashed(r.seq, Some(r.id_hash));
    }
    for p in plan.pending.iter().filter(|p| p.alive) {
        collection.insert(p.facts(), p.id_hash, p.key_hash, plan.json_of(p), p.spans);
    }
    collection.compact_if_sparse();
    if !collection.is_empty() {
        session.ensure_collection_member(family);
    }
    let total =
        session.collection(Family::Standard).len() + session.collection(Family::Granular).len();
    bookkeeping(session, family, plan, ctx, was_empty, total);
}

/// The number of artifacts in both collections once `plan` is committed to `session`.
pub(crate) fn total_after(session: &Session, plan: &Plan<'_>) -> usize {
    let now =
        session.collection(Family::Standard).len() + session.collection(Family::Granular).len();
    let added = plan.pending.iter().filter(|p| p.alive).count();
    (now + added).saturating_sub(plan.removed.len())
}

/// The session members a commit changes (rules E9, O6); `total` is the number of artifacts in
/// both collections after the commit.
pub(crate) fn bookkeeping<I: IdSource>(
    session: &mut Session,
    family: Family,
    plan: &Plan<'_>,
    ctx: &Context<I>,
    was_empty: bool,
    total: usize,
) {
    // E9: an empty session takes the family of its first successful addition.
    if was_empty && plan.added_any() {
        let mut text = String::new();
        write_str(&mut text, family.job_type());
        session.set_member("restoreJobType", to_raw(text));
        session.set_job_type(family);
    }
    // O6: only when an item changed something.
    if plan.added_any() || !plan.removed.is_empty() {
        let mut text = String::new();
        write_str(&mut text, &plan.now);
        session.set_member("lastModifiedDateTime", to_raw(text));
        if let Some(actor) = &ctx.actor {
            session.set_member("lastModifiedBy", actor.clone());
        }
        update_total(session, total);
    }
}

/// Sets `restoreSessionArtifactCount.total`, keeping the object's other members as they are,
/// when the member exists and is an object.
fn update_total(session: &mut Session, total: usize) {
    let Some(raw) = session.member("restoreSessionArtifactCount") else {
        return;
    };
    let Ok(Some(members)) = read_object(raw.get()) else {
        return;
    };
    let total = total.to_string();
    let mut text = String::with_capacity(raw.get().len() + total.len() + 10);
    text.push('{');
    let mut set = false;
    for (name, value) in &members {
        if text.len() > 1 {
            text.push(',');
        }
        write_str(&mut text, name);
        text.push(':');
        if name == "total" {
            text.push_str(&total);
            set = true;
        } else {
            text.push_str(value.get());
        }
    }
    if !set {
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str("\"total\":");
        text.push_str(&total);
    }
    text.push('}');
    session.set_member("restoreSessionArtifactCount", to_raw(text));
}
