//! The hash index a collection keeps by id and by duplicate key: positions of artifacts under
//! the 64-bit hash of what they are looked up by.
//!
//! Open addressing with linear probing; each entry (hash, position) sits in the table itself,
//! 16 bytes, four to a cache line. A look-up reads the entry's home line, and rarely the next
//! one: at most half the table is in use, so a probe run is 1.5 entries long on average for a
//! hit, 2.5 for a miss. `hashbrown` keeps its control bytes apart from its entries, so every
//! hit there read two lines, often on two pages; at 100,000 artifacts and more these are misses
//! (the index is megabytes, read at random), and they were most of what a request cost beyond
//! its constant part. An insertion writes into the run its look-up just read.
//!
//! Entries are compared by full hash, then by the caller's check on the position (the hash is
//! keyed, see `Collection::hasher`, so runs stay short whatever the ids). Removal shifts the
//! entries that follow back into the hole (no tombstones). The duplicate-key index does not
//! remove the entries of removed artifacts until compaction (see `Collection::keys`); they
//! count toward the load like live ones.

/// A position: what an entry points to.
type Seq = usize;

/// Test-only: counts the entries look-ups read, on this thread ([`HashIndex::run`], and the
/// request overlay's tables), so that tests can bound a look-up's cost by counting, not timing.
/// Compiled into the library's unit tests only (not even with `_internal_test_exports`, which
/// the benchmarks and examples get through the dev-dependency): nothing elsewhere pays for it.
#[cfg(test)]
pub(crate) mod probes {
    use std::cell::Cell;

    thread_local! {
        static READ: Cell<usize> = const { Cell::new(0) };
    }

    /// One entry read.
    pub(crate) fn count() {
        READ.with(|n| n.set(n.get() + 1));
    }

    /// The entries read since the last call.
    pub(crate) fn taken() -> usize {
        READ.with(|n| n.replace(0))
    }
}

/// The `seq` of an empty entry.
const EMPTY: Seq = Seq::MAX;

/// The fewest entries a table holds once anything is in it.
const MIN_CAPACITY: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    hash: u64,
    seq: Seq,
}

impl Entry {
    const VACANT: Entry = Entry {
        hash: 0,
        seq: EMPTY,
    };

    fn is_empty(self) -> bool {
        self.seq == EMPTY
    }
}

/// Positions by 64-bit hash; several positions may share a hash. See the module docs.
#[derive(Clone, Debug, Default)]
pub(crate) struct HashIndex {
    /// A power of two in length (or empty), at most half of them in use.
    entries: Vec<Entry>,
    len: usize,
}

impl HashIndex {
    /// How many entries it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// How many entries the table has room for (twice as many as it may hold).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }

    fn mask(&self) -> usize {
        self.entries.len().wrapping_sub(1)
    }

    /// The entry after `i`, wrapping around.
    fn next(&self, i: usize) -> usize {
        (i + 1) & self.mask()
    }

    fn home(&self, hash: u64) -> usize {
        // The low bits of a keyed SipHash are as good as any.
        (hash as usize) & self.mask()
    }

    /// Makes room for `additional` more entries without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let needed = self.len.saturating_add(additional).saturating_mul(2);
        if needed <= self.entries.len() {
            return;
        }
        let capacity = needed
            .max(MIN_CAPACITY)
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX / 2 + 1);
        self.rebuild(capacity);
    }

    /// Places every entry again in a table of `capacity` entries.
    fn rebuild(&mut self, capacity: usize) {
        let old = std::mem::replace(&mut self.entries, vec![Entry::VACANT; capacity]);
        self.len = 0;
        for e in old.into_iter().filter(|e| !e.is_empty()) {
            self.place(e);
            self.len += 1;
        }
    }

    /// Puts `e` in the first empty entry of its run; the table has one (at most half full).
    fn place(&mut self, e: Entry) {
        let mut i = self.home(e.hash);
        for _ in 0..self.entries.len() {
            match self.entries.get_mut(i) {
                Some(slot) if slot.is_empty() => {
                    *slot = e;
                    return;
                }
                _ => i = self.next(i),
            }
        }
    }

    /// The entries of `hash`'s run, from its home to the first empty entry.
    fn run(&self, hash: u64) -> impl Iterator<Item = (usize, Entry)> + '_ {
        let mask = self.mask();
        let home = self.home(hash);
        (0..self.entries.len())
            .map(move |k| (home + k) & mask)
            .map_while(move |i| {
                #[cfg(test)]
                probes::count();
                self.entries
                    .get(i)
                    .filter(|e| !e.is_empty())
                    .map(|&e| (i, e))
            })
    }

    /// The positions stored under `hash`, in probe order.
    pub(crate) fn positions(&self, hash: u64) -> impl Iterator<Item = Seq> + '_ {
        self.run(hash)
            .filter(move |(_, e)| e.hash == hash)
            .map(|(_, e)| e.seq)
    }

    /// The first position stored under `hash` for which `is` holds.
    pub(crate) fn find(&self, hash: u64, mut is: impl FnMut(Seq) -> bool) -> Option<Seq> {
        self.positions(hash).find(|&seq| is(seq))
    }

    /// Reads the home line of `hash` (to have it cached before it is needed) and returns the
    /// first position stored under `hash`, not checked.
    pub(crate) fn first(&self, hash: u64) -> Option<Seq> {
        self.positions(hash).next()
    }

    /// Reads the entry at `hash`'s home and nothing else: one load, so that a loop of these
    /// has many misses in flight at once. Returns what it read, to be discarded.
    pub(crate) fn touch(&self, hash: u64) -> usize {
        self.entries.get(self.home(hash)).map_or(0, |e| e.seq)
    }

    /// Adds `seq` under `hash` (another entry may already have both).
    pub(crate) fn insert(&mut self, hash: u64, seq: Seq) {
        if seq == EMPTY {
            return; // not a position a collection can reach
        }
        self.reserve(1);
        self.place(Entry { hash, seq });
        self.len += 1;
    }

    /// Adds `seq` under `hash`, in place of an entry under `hash` whose position is `dead`, if
    /// `hash`'s run has one.
    pub(crate) fn insert_replacing(&mut self, hash: u64, seq: Seq, dead: impl Fn(Seq) -> bool) {
        let at = self
            .run(hash)
            .find(|(_, e)| e.hash == hash && dead(e.seq))
            .map(|(i, _)| i);
        match at.and_then(|i| self.entries.get_mut(i)) {
            Some(e) => e.seq = seq,
            None => self.insert(hash, seq),
        }
    }

    /// Removes the entry `(hash, seq)`; `false` when there is none.
    pub(crate) fn remove(&mut self, hash: u64, seq: Seq) -> bool {
        let Some((at, _)) = self.run(hash).find(|(_, e)| e.hash == hash && e.seq == seq) else {
            return false;
        };
        // Backward shift: each later entry of the run that may sit in the hole (its home is not
        // between the hole and itself) moves into it, and leaves a hole of its own.
        let mask = self.mask();
        let mut hole = at;
        let mut j = self.next(at);
        while let Some(&e) = self.entries.get(j).filter(|e| !e.is_empty()) {
            let home = self.home(e.hash);
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                if let Some(slot) = self.entries.get_mut(hole) {
                    *slot = e;
                }
                hole = j;
            }
            j = self.next(j);
        }
        if let Some(slot) = self.entries.get_mut(hole) {
            *slot = Entry::VACANT;
        }
        self.len -= 1;
        true
    }

    /// Gives every entry the position `renumber(old)`, and drops those for which it is `None`.
    pub(crate) fn renumber(&mut self, mut renumber: impl FnMut(Seq) -> Option<Seq>) {
        let mut dropped = false;
        for e in self.entries.iter_mut().filter(|e| !e.is_empty()) {
            match renumber(e.seq) {
                Some(seq) => e.seq = seq,
                None => {
                    *e = Entry::VACANT;
                    dropped = true;
                }
            }
        }
        if dropped {
            // Entries after a hole may no longer be reachable from their home: place them all
            // again.
            self.rebuild(self.entries.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry can be reached from its home without crossing an empty entry.
    fn assert_reachable(index: &HashIndex) {
        let mut n = 0;
        for (i, e) in index.entries.iter().enumerate() {
            if e.is_empty() {
                continue;
            }
            n += 1;
            assert!(
                index.run(e.hash).any(|(at, _)| at == i),
                "entry at {i} not reachable"
            );
        }
        assert_eq!(n, index.len);
        assert!(index.len * 2 <= index.entries.len());
    }

    #[test]
    fn finds_counts_and_removes_with_colliding_runs() {
        let mut index = HashIndex::default();
        assert_eq!(index.first(7), None);
        assert!(!index.remove(7, 0));
        // Hashes that share their low bits pile up in one run and wrap around the end.
        let hashes: Vec<u64> = (0..40u64).map(|k| (k << 32) | 6).collect();
        for (seq, &h) in hashes.iter().enumerate() {
            index.insert(h, seq);
        }
        index.insert(hashes[3], 100); // a second position under one hash
        assert_reachable(&index);
        assert_eq!(index.len(), 41);
        assert_eq!(index.positions(hashes[3]).collect::<Vec<_>>(), [3, 100]);
        assert_eq!(index.find(hashes[3], |s| s == 100), Some(100));
        assert_eq!(index.find(hashes[3], |s| s == 4), None);
        for seq in (0..40).step_by(3) {
            assert!(index.remove(hashes[seq], seq));
            assert!(!index.remove(hashes[seq], seq), "removed once");
            assert_reachable(&index);
        }
        for (seq, &h) in hashes.iter().enumerate() {
            assert_eq!(index.first(h).is_some(), seq % 3 != 0 || seq == 3, "{seq}");
        }
        index.insert_replacing(hashes[7], 700, |s| s == 7);
        assert_eq!(
            index.positions(hashes[7]).collect::<Vec<_>>(),
            [700],
            "took over 7"
        );
        index.insert_replacing(hashes[7], 701, |_| false);
        assert_eq!(index.positions(hashes[7]).count(), 2, "nothing dead: added");
        assert!(index.remove(hashes[7], 701) && index.remove(hashes[7], 700));
        index.insert(hashes[7], 7);
        index.renumber(|s| (s != 5).then_some(s + 1000));
        assert_reachable(&index);
        assert_eq!(index.find(hashes[5], |_| true), None, "dropped");
        assert_eq!(index.positions(hashes[3]).collect::<Vec<_>>(), [1100]);
        assert_eq!(index.find(hashes[4], |s| s == 1004), Some(1004));
    }

    #[test]
    fn churn_keeps_every_entry_reachable() {
        let mut index = HashIndex::default();
        index.reserve(64);
        let capacity = index.entries.len();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut live: Vec<(u64, usize)> = Vec::new();
        for seq in 0..5_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few distinct low bits, so runs are long and wrap.
            let hash = x & 0xFFFF_0000_0000_003F;
            if live.len() >= 60 {
                let (h, s) = live.swap_remove((x >> 20) as usize % live.len());
                assert!(index.remove(h, s));
            }
            index.insert(hash, seq);
            live.push((hash, seq));
        }
        assert_reachable(&index);
        assert_eq!(index.entries.len(), capacity, "no growth past the reserve");
        for &(h, s) in &live {
            assert_eq!(index.find(h, |q| q == s), Some(s));
        }
    }
}
