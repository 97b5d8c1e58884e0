//! The stored collection seen through the request's earlier effects ([`Evolving`]): the
//! artifacts earlier items removed and added, and the changes in the counts the rules read
//! (duplicate keys, destination types). Decisions are made against it without touching the
//! session, so atomic mode drops the plan without any rollback.

use hashbrown::HashTable;

use crate::engine::draw::Check;
use crate::engine::plan::{Pending, Removal, Target};
use crate::model::collection::Collection;

/// The hash a position is kept under in [`Evolving`]'s set of removed positions (Fibonacci
/// hashing: positions are not chosen by clients).
fn seq_hash(seq: usize) -> u64 {
    (seq as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A duplicate key, `(restore point, searchResponseId)`.
pub(crate) type Key<'a> = (&'a str, Option<&'a str>);

/// The stored collection seen through the request's earlier effects. The overlay's keys borrow
/// from the stored collection (`'c`) or from the request (`'r`); nothing is copied per item but
/// the new artifacts' ids and JSON.
pub(crate) struct Evolving<'c, 'r: 'c> {
    pub(crate) base: &'c Collection,
    /// Positions of the stored artifacts removed so far (hashed by [`seq_hash`]).
    pub(crate) removed: HashTable<usize>,
    pub(crate) removed_order: Vec<Removal>,
    pub(crate) pending: Vec<Pending<'r>>,
    /// The JSON texts of `pending` ([`Plan::json`](crate::engine::plan::Plan::json)).
    pub(crate) json: String,
    /// (id hash, index into `pending`) of the live pending artifacts.
    pub(crate) pending_by_id: HashTable<(u64, usize)>,
    /// (key hash, key, change in count): the key hash is the stored index's
    /// ([`Collection::hash_key`]), computed once per key and item.
    pub(crate) key_delta: HashTable<(u64, Key<'c>, i64)>,
    /// Change in the count of `new` and `inPlace` artifacts (the only values an addition
    /// takes, A3), and of artifacts with any destination type (a stored artifact may carry
    /// another value: it counts here only).
    pub(crate) new_delta: i64,
    pub(crate) in_place_delta: i64,
    pub(crate) with_destination_delta: i64,
    /// How drawn ids are checked against the stored collection (`draw.rs`).
    pub(crate) check: Check,
    /// `pending[..checked]` were checked against the stored collection (or not drawn).
    pub(crate) checked: usize,
    /// A [`Check::Batched`] pass found a drawn id stored: the pass stops.
    pub(crate) stopped: bool,
}

impl<'c, 'r: 'c> Evolving<'c, 'r> {
    /// An overlay sized for a request of `items` items (each adds or removes at most one), of
    /// which `additions` are additions.
    pub(crate) fn new(base: &'c Collection, items: usize, additions: usize, check: Check) -> Self {
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

    /// The artifact with this id (its hash is `hash`, [`Collection::hash_id`]).
    pub(crate) fn find(&self, hash: u64, id: &str) -> Option<Target> {
        if let Some(i) = self.find_pending(hash, id) {
            return Some(Target::Pending(i));
        }
        self.base
            .find_id(hash, id)
            .filter(|&seq| !self.is_removed(seq))
            .map(|seq| Target::Stored(seq, hash))
    }

    /// The live addition of this request with this id (its hash is `hash`).
    pub(crate) fn find_pending(&self, hash: u64, id: &str) -> Option<usize> {
        let pending = &self.pending;
        self.pending_by_id
            .find(hash, |&(h, i)| {
                h == hash && pending.get(i).is_some_and(|p| p.id == id)
            })
            .map(|&(_, i)| i)
    }

    /// Whether an earlier item removed the stored artifact at `seq`.
    fn is_removed(&self, seq: usize) -> bool {
        let is = |&s: &usize| {
            #[cfg(test)]
            crate::model::index::probes::count();
            s == seq
        };
        self.removed.find(seq_hash(seq), is).is_some()
    }

    /// How many artifacts have `key`, whose hash is `hash` ([`Collection::hash_key`]). Stored
    /// artifacts that earlier items removed are left out here, not in `key_delta`: a removal
    /// then needs neither the removed artifact's key nor its hash.
    pub(crate) fn key_count(&self, hash: u64, key: Key<'_>) -> i64 {
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
    pub(crate) fn other_destination_present(&self, destination: &str) -> bool {
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
    pub(crate) fn remove(&mut self, target: Target) {
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

    pub(crate) fn add(&mut self, p: Pending<'r>) -> usize {
        self.account(p.key, p.key_hash, p.destination, 1);
        let i = self.pending.len();
        self.pending_by_id
            .insert_unique(p.id_hash, (p.id_hash, i), |e| e.0);
        self.pending.push(p);
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Cursor;
    use crate::model::index::probes;
    use crate::model::kinds::ArtifactCollection;

    /// Whether an earlier item removed a stored artifact takes a probe or two of the overlay's
    /// table (its entries compared, counted), however many it removed: with every position
    /// hashed alike, each look-up would compare half of them on average.
    #[test]
    fn removed_positions_are_found_in_a_few_probes() {
        let n = 2_000;
        let texts: Vec<String> = (0..n)
            .map(|i| {
                format!(r#"{{"id":"a{i}","restorePoint":{{"id":"r{i}"}},"destinationType":"new"}}"#)
            })
            .collect();
        let array = format!("[{}]", texts.join(","));
        let base = Collection::load(
            ArtifactCollection::DriveRestoreArtifacts,
            &mut Cursor::new(&array),
        )
        .unwrap();
        let mut ev = Evolving::new(&base, n, 0, Check::Immediate);
        for i in 0..n {
            let id = format!("a{i}");
            let hash = base.hash_id(&id);
            let seq = base.find_id(hash, &id).unwrap();
            ev.remove(Target::Stored(seq, hash));
        }
        probes::taken();
        for seq in 0..n {
            assert!(ev.is_removed(seq), "{seq}");
        }
        let compared = probes::taken();
        assert!(
            (n..=2 * n).contains(&compared),
            "{compared} entries compared by {n} look-ups"
        );
    }
}
