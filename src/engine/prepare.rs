//! What is learnt of each item before any decision ([`prepare`]): whether it is a removal,
//! the hash of the removal's id, the addition's restore point (rule A2) and the hash of its
//! duplicate key; the collection reads what their look-ups will need ahead of the decisions.

use std::borrow::Cow;

use crate::engine::decide::{is_removal, non_empty_str, restore_point_key};
use crate::engine::options::Options;
use crate::json::borrowed::Object;
use crate::model::collection::Collection;
use crate::model::kinds::Shape;

/// What [`prepare`] learnt of an item before any decision: whether it is a removal, the hash
/// of the removal's id, the addition's restore point (rule A2) and the hash of its duplicate key.
#[derive(Debug)]
pub(crate) enum Hint<'r> {
    /// A removal, with the hash of its `id` when that is a non-empty string (the string rule X2
    /// reads).
    Removal(Option<u64>),
    /// An addition. For standard and mailbox additions, `restore_point` is the key rule A2
    /// resolves (`None`: the reference is invalid), and `key` the `searchResponseId` read (for
    /// mailboxes) with the hash of the pair; `decide_standard` (`decide.rs`) uses the hash only
    /// if the pair it checks is the same.
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

/// The hash [`prepare`] computed for an addition's key, if its hint is of the key
/// `decide_standard` (`decide.rs`) checks (the same restore point; the same
/// `searchResponseId`, which both read alike): `None` has the hash computed again.
pub(crate) fn hinted_key_hash(
    hinted: Option<(Option<&str>, u64)>,
    search_response_id: Option<&str>,
) -> Option<u64> {
    hinted
        .filter(|&(srid, _)| srid == search_response_id)
        .map(|(_, hash)| hash)
}
