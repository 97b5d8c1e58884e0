//! An artifact collection with the indexes the rules are decided against: by id, by duplicate
//! key and by destination type. Look-ups, removals and appends cost O(1); nothing scans it.
//! Where each artifact's strings sit in the collection's text is `strref.rs`; the indexes'
//! table is `index.rs`.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::num::NonZeroUsize;

use crate::json::{Cursor, minify_str, needs_minify};
use crate::model::artifact::{Artifact, FactsRef, Fields, facts, facts_from};
use crate::model::error::{StateError, invalid_json};
use crate::model::index::HashIndex;
use crate::model::kinds::ArtifactCollection;
use crate::model::strref::{
    ID, MARKERS, OWNED, RESTORE_POINT, SEARCH_RESPONSE, Slot, Spans, StrRef, Texts,
};

/// Artifacts read from a state are indexed this many at a time ([`Collection::index_loaded`]).
const LOAD_BATCH: usize = 32;

/// An artifact read from a state and stored, not yet indexed: its position and the hashes of
/// its id and duplicate key.
#[derive(Clone, Copy, Debug)]
struct Loaded {
    seq: usize,
    id_hash: u64,
    key_hash: Option<u64>,
}

/// The facts of a stored artifact, borrowed from the collection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoredFacts<'a> {
    pub(crate) id: &'a str,
    pub(crate) key: Option<(&'a str, Option<&'a str>)>,
    pub(crate) destination: Option<&'a str>,
}

/// An artifact collection of a session.
///
/// The artifacts' JSON texts live one after the other in a single buffer; `slots` says where
/// each one is, in collection order, `None` once removed. The indexes hold positions only, with
/// their hash, and compare against the text: loading a state allocates nothing per artifact but
/// the rare string spelled with escapes. A removal moves nothing, an append copies only the new
/// artifact. When removed artifacts outnumber live ones, buffer, slots and indexes are rebuilt
/// (amortised O(1) per removal).
#[derive(Clone, Debug)]
pub(crate) struct Collection {
    which: ArtifactCollection,
    texts: Texts,
    slots: Vec<Option<Slot>>,
    live: usize,
    /// One bit per slot, set once its artifact is removed: what `slots` says, in an eighth of
    /// a byte per artifact, so that checking a removed artifact's stale entry in `keys` reads
    /// a few cached pages instead of a random slot.
    removed: Vec<u64>,
    /// std's SipHash with per-process secret keys: clients choose ids and restore points, so
    /// the hash must not be predictable (HashDoS). Only looked up; no output depends on it.
    hasher: RandomState,
    /// Positions by hash of the id, one per live artifact.
    by_id: HashIndex,
    /// Positions by hash of the duplicate key, one per artifact that has a key, live or removed
    /// since the last compaction: a removal leaves its entry (it would cost a random read of
    /// the index, and hashing the key again), and `removed` tells it apart. Compaction drops
    /// these entries; adding the same key again takes one over. They count toward the index's
    /// load, so its probes stay as short as with live entries only.
    keys: HashIndex,
    destinations: BTreeMap<Box<str>, u32>,
    /// Artifacts that have a destination type: the sum of `destinations`.
    with_destination: u64,
}

impl Collection {
    pub(crate) fn new(which: ArtifactCollection) -> Self {
        Collection {
            which,
            texts: Texts::default(),
            slots: Vec::new(),
            live: 0,
            removed: Vec::new(),
            hasher: RandomState::new(),
            by_id: HashIndex::default(),
            keys: HashIndex::default(),
            destinations: BTreeMap::new(),
            with_destination: 0,
        }
    }

    /// Reads a collection from its JSON array, the cursor at the `[`; each artifact is parsed
    /// once, in place, its text copied once into the buffer.
    pub(crate) fn load(
        which: ArtifactCollection,
        cur: &mut Cursor<'_>,
    ) -> Result<Self, StateError> {
        let mut c = Collection::new(which);
        let invalid = |index: usize, reason: String| StateError::InvalidArtifact {
            collection: which,
            index,
            reason,
        };
        let syntax = invalid_json;
        cur.expect(b'[', "`[`").map_err(syntax)?;
        if cur.eat(b']') {
            return Ok(c);
        }
        // The rest of the text bounds the artifacts' size; reserving it up front saves the
        // copies of growing (untouched capacity costs address space, not memory).
        c.texts.buf.reserve(cur.remaining());
        let start = cur.offset();
        let mut batch = Vec::with_capacity(LOAD_BATCH);
        let mut read = || -> Result<(), StateError> {
            for index in 0.. {
                if index == LOAD_BATCH {
                    // Slots and indexes are sized for as many more artifacts as the rest of
                    // the text holds at the size of the first ones, and an eighth more. Sized
                    // by the text alone (a guess of 256 bytes each), the indexes of the
                    // 100,000-artifact state indented took twice the memory they need, 16 MiB
                    // more (their entries are all written, so all in memory).
                    let each = (cur.offset() - start).div_ceil(LOAD_BATCH).max(1);
                    let more = cur.remaining() / each;
                    c.reserve(more.saturating_add(more >> 3));
                }
                let loaded = cur
                    .value_with::<Fields<'_>, _>(|fields, text| {
                        if needs_minify(text) {
                            let text = minify_str(text);
                            let f = facts(which, &text)?;
                            Ok(c.push_unindexed(&text, &f))
                        } else {
                            let f = facts_from(which, fields)?;
                            Ok(c.push_unindexed(text, &f))
                        }
                    })
                    .map_err(|e| e.message)
                    .and_then(|pushed| pushed)
                    .map_err(|e| invalid(index, e))?;
                c.index_in_batches(&mut batch, loaded)?;
                if cur.eat(b']') {
                    return Ok(());
                }
                cur.expect(b',', "`,` or `]`").map_err(syntax)?;
            }
            Ok(())
        };
        let read = read();
        // The artifacts read before an error come first: a duplicate id among them is the
        // error to report.
        c.index_loaded(&mut batch)?;
        read.map(|()| c)
    }

    /// Makes room for `additional` more artifacts in the slots and the indexes.
    fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        self.by_id.reserve(additional);
        self.keys.reserve(additional);
    }

    /// Stores an artifact read from a state, without indexing it (see
    /// [`Collection::index_loaded`]): returns its position and the hashes of its id and key.
    fn push_unindexed(&mut self, text: &str, f: &FactsRef<'_>) -> Loaded {
        let id_hash = self.hash_id(&f.id);
        let key = f.key_parts();
        let key_hash = key.map(|k| self.hash_key(k));
        let seq = self.push(text, &f.id, key, f.destination.as_deref(), Spans::default());
        Loaded {
            seq,
            id_hash,
            key_hash,
        }
    }

    /// Queues an artifact read from a state for indexing, and indexes the queue once it holds
    /// [`LOAD_BATCH`] artifacts ([`Collection::index_loaded`]).
    fn index_in_batches(
        &mut self,
        batch: &mut Vec<Loaded>,
        loaded: Loaded,
    ) -> Result<(), StateError> {
        batch.push(loaded);
        if batch.len() == LOAD_BATCH {
            self.index_loaded(batch)?;
        }
        Ok(())
    }

    /// Indexes the artifacts of `batch` (read by [`Collection::push_unindexed`], in order),
    /// refusing an id already present, and empties it. The index entries are read for all of
    /// them first: a table of megabytes misses the cache on nearly every artifact, and these
    /// misses then overlap. Reading 100,000 artifacts measured 77 ms indexing them one at a
    /// time, 55 ms in batches, and 66 ms with hashbrown (whose look-ups of absent ids read
    /// control bytes that stay cached).
    fn index_loaded(&mut self, batch: &mut Vec<Loaded>) -> Result<(), StateError> {
        touch_all(&self.by_id, batch.iter().map(|l| l.id_hash));
        touch_all(&self.keys, batch.iter().filter_map(|l| l.key_hash));
        for l in batch.drain(..) {
            let id = id_at(&self.slots, &self.texts, l.seq).unwrap_or_default();
            if self.find_id(l.id_hash, id).is_some() {
                return Err(StateError::DuplicateArtifactId {
                    collection: self.which,
                    id: id.to_owned(),
                });
            }
            self.by_id.insert(l.id_hash, l.seq);
            if let Some(h) = l.key_hash {
                self.keys.insert(h, l.seq);
            }
        }
        Ok(())
    }

    pub(crate) fn which(&self) -> ArtifactCollection {
        self.which
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Bytes of JSON text held, removed artifacts included (a size hint).
    pub(crate) fn text_len(&self) -> usize {
        self.texts.buf.len() + self.slots.len()
    }

    /// The artifacts, in order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = Artifact<'_>> {
        self.slots.iter().flatten().map(|s| view(&self.texts, s))
    }

    /// The artifacts from the `skip`-th on, in order: found directly when no removed artifact
    /// is left in the slots, else by walking past the first `skip`.
    pub(crate) fn iter_from(&self, skip: usize) -> impl Iterator<Item = Artifact<'_>> {
        let dense = self.slots.len() == self.live;
        let (start, walk) = if dense {
            (skip.min(self.slots.len()), 0)
        } else {
            (0, skip)
        };
        self.slots
            .get(start..)
            .unwrap_or_default()
            .iter()
            .flatten()
            .skip(walk)
            .map(|s| view(&self.texts, s))
    }

    /// Replaces each artifact's text with `f` of it, in order, and indexes the collection
    /// again (O(artifacts)). The new texts must keep each artifact's `id`. When they do not make
    /// a valid collection (they always do for the lifecycle's edits, which change other
    /// members), the collection is left as it was and the error returned.
    pub(crate) fn rewrite(
        &mut self,
        mut f: impl FnMut(Artifact<'_>) -> String,
    ) -> Result<(), StateError> {
        let mut array = String::with_capacity(self.texts.buf.len() * 2 + 2);
        array.push('[');
        for (i, a) in self.iter().enumerate() {
            if i > 0 {
                array.push(',');
            }
            array.push_str(&f(a));
        }
        array.push(']');
        *self = Collection::load(self.which, &mut Cursor::new(&array))?;
        Ok(())
    }

    /// The position of the artifact with this id.
    pub(crate) fn seq_of(&self, id: &str) -> Option<usize> {
        self.find_id(self.hash_id(id), id)
    }

    /// The hash the id index uses for `id` (keyed per collection; see `hasher`).
    pub(crate) fn hash_id(&self, id: &str) -> u64 {
        hash_id(&self.hasher, id)
    }

    /// The hash the duplicate-key index uses for `(restore point, searchResponseId)`.
    pub(crate) fn hash_key(&self, key: (&str, Option<&str>)) -> u64 {
        hash_key(&self.hasher, key)
    }

    /// [`Collection::seq_of`] with the id's hash already computed by [`Collection::hash_id`].
    pub(crate) fn find_id(&self, hash: u64, id: &str) -> Option<usize> {
        let (slots, texts) = (&self.slots, &self.texts);
        self.by_id
            .find(hash, |seq| id_at(slots, texts, seq) == Some(id))
    }

    pub(crate) fn get(&self, seq: usize) -> Option<Artifact<'_>> {
        self.slots.get(seq)?.as_ref().map(|s| view(&self.texts, s))
    }

    /// Reads, ahead of the decisions that need them, what the removals of these id hashes and
    /// the additions of these key hashes will touch: the index entries, the slots they lead to
    /// and the lines of text the rules read (the id; the destination type when it is not `new`
    /// or `inPlace`). Each stage's reads are independent of one another, so the processor
    /// overlaps their cache misses (and page-table walks: at 100,000 artifacts and more, each
    /// is a random page) instead of taking them one after another during the decisions and the
    /// commit. Stages are tight loops of reads.
    ///
    /// Returns, for each id hash, the position of an artifact whose id has that hash (not
    /// compared: the decision compares when it looks the id up again, from the cache). Changes
    /// nothing.
    pub(crate) fn warm(&self, id_hashes: &[u64], key_hashes: &[u64]) -> Vec<Option<usize>> {
        touch_all(&self.by_id, id_hashes.iter().copied());
        touch_all(&self.keys, key_hashes.iter().copied());
        let mut seen = 0usize;
        let seqs: Vec<Option<usize>> = id_hashes.iter().map(|&h| self.by_id.first(h)).collect();
        // An addition's key is often one a removal left in the index (a restore point added
        // again): read the removed-bitmap word that tells it apart.
        for &h in key_hashes {
            for seq in self.keys.positions(h) {
                seen = seen.wrapping_add(usize::from(self.is_removed(seq)));
            }
        }
        let lines: Vec<[usize; 3]> = seqs
            .iter()
            .flatten()
            .filter_map(|&seq| {
                let s = self.slots.get(seq)?.as_ref()?;
                let at = |r: StrRef| s.start + r.offset();
                let end = |r: StrRef| match r.at {
                    ..MARKERS => at(r) + r.len as usize,
                    _ => at(r),
                };
                Some([at(s.id), end(s.id), at(s.destination)])
            })
            .collect();
        let bytes = self.texts.buf.as_bytes();
        for line in &lines {
            for &at in line {
                seen = seen.wrapping_add(usize::from(bytes.get(at).copied().unwrap_or(0)));
            }
        }
        std::hint::black_box(seen);
        seqs
    }

    /// Reads the id index where these hashes lead, all at once, so that the look-ups that
    /// follow find it cached (see [`Collection::warm`]). Changes nothing.
    pub(crate) fn warm_ids(&self, id_hashes: impl Iterator<Item = u64>) {
        touch_all(&self.by_id, id_hashes);
    }

    /// Whether the artifact at `seq` was removed (from the bitmap: no slot read).
    fn is_removed(&self, seq: usize) -> bool {
        bit_set(&self.removed, seq)
    }

    /// How many artifacts have this duplicate key.
    #[cfg(test)]
    fn key_count(&self, parts: (&str, Option<&str>)) -> u32 {
        self.key_count_hashed(self.hash_key(parts), parts, |_| false)
    }

    /// How many artifacts have the duplicate key `parts`, whose hash is `hash`
    /// ([`Collection::hash_key`]).
    /// Positions for which `skip` holds are not counted.
    pub(crate) fn key_count_hashed(
        &self,
        hash: u64,
        parts: (&str, Option<&str>),
        skip: impl Fn(usize) -> bool,
    ) -> u32 {
        let (slots, texts) = (&self.slots, &self.texts);
        let n = self
            .keys
            .positions(hash)
            .filter(|&seq| {
                !self.is_removed(seq) && !skip(seq) && key_at(slots, texts, seq) == Some(parts)
            })
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// How many artifacts have this destination type.
    pub(crate) fn destination_count(&self, destination: &str) -> u64 {
        self.destinations
            .get(destination)
            .map_or(0, |n| u64::from(*n))
    }

    /// How many artifacts have a destination type at all.
    pub(crate) fn with_destination(&self) -> u64 {
        self.with_destination
    }

    /// The rule facts of a stored artifact, from its slot (no parsing, no copy).
    #[cfg(test)]
    fn facts_of(&self, seq: usize) -> Option<StoredFacts<'_>> {
        Some(facts_at(&self.texts, self.slots.get(seq)?.as_ref()?))
    }

    /// The destination type of the live artifact at `seq` (`None` when it has none), read
    /// from its slot; `Err` when no live artifact is there.
    pub(crate) fn destination_at(&self, seq: usize) -> Result<Option<&str>, ()> {
        let slot = self.slots.get(seq).and_then(Option::as_ref).ok_or(())?;
        Ok(self.texts.get(slot, slot.destination))
    }

    /// Appends an artifact whose JSON is `text` (compact, written by this crate), with the
    /// facts `f`, its id's hash ([`Collection::hash_id`]) and where its strings are in `text`;
    /// the caller has checked its id is not present.
    /// `key_hash` is the hash of `f.key` when the caller has it ([`Collection::hash_key`]).
    pub(crate) fn insert(
        &mut self,
        f: StoredFacts<'_>,
        id_hash: u64,
        key_hash: Option<u64>,
        text: &str,
        spans: Spans,
    ) {
        // The hashes are trusted (recomputing them is what passing them saves); every caller
        // takes them from `hash_id` and `hash_key` on this collection, which debug builds check.
        debug_assert_eq!(id_hash, self.hash_id(f.id), "id hash from another hasher");
        let key_hash = f.key.map(|k| {
            let hash = key_hash.unwrap_or_else(|| self.hash_key(k));
            debug_assert_eq!(hash, self.hash_key(k), "key hash from another hasher");
            hash
        });
        let seq = self.push(text, f.id, f.key, f.destination, spans);
        self.by_id.insert(id_hash, seq);
        if let Some(hash) = key_hash {
            // Adding a key again (a restore point removed and added back, request after
            // request) takes over its removed entry instead of lengthening the run.
            let removed = &self.removed;
            self.keys
                .insert_replacing(hash, seq, |old| bit_set(removed, old));
        }
    }

    /// Appends an artifact's text and slot and counts its destination type; returns its
    /// position. The caller indexes it.
    fn push(
        &mut self,
        text: &str,
        id: &str,
        key: Option<(&str, Option<&str>)>,
        destination: Option<&str>,
        spans: Spans,
    ) -> usize {
        let seq = self.slots.len();
        // An artifact's text is a JSON object, never empty.
        let len = NonZeroUsize::new(text.len()).unwrap_or(NonZeroUsize::MIN);
        let texts = &mut self.texts;
        let start = texts.buf.len();
        texts.buf.push_str(text);
        let owned = &mut texts.owned;
        let slot = Slot {
            start,
            len,
            id: StrRef::at(text, id, spans.id, ID, owned),
            restore_point: key.map_or(StrRef::NONE, |(rp, _)| {
                StrRef::at(text, rp, spans.restore_point, RESTORE_POINT, owned)
            }),
            search_response_id: key.and_then(|(_, s)| s).map_or(StrRef::NONE, |s| {
                StrRef::at(text, s, spans.search_response_id, SEARCH_RESPONSE, owned)
            }),
            destination: destination.map_or(StrRef::NONE, |d| {
                StrRef::destination(text, d, spans.destination, owned)
            }),
        };
        self.slots.push(Some(slot));
        if seq.is_multiple_of(64) {
            self.removed.push(0);
        }
        self.live += 1;
        if let Some(d) = destination {
            match self.destinations.get_mut(d) {
                Some(n) => *n += 1,
                None => {
                    self.destinations.insert(Box::from(d), 1);
                }
            }
            self.with_destination += 1;
        }
        seq
    }

    /// Removes the artifact at `seq`.
    #[cfg(test)]
    fn remove(&mut self, seq: usize) {
        self.remove_hashed(seq, None);
    }

    /// [`Collection::remove`] with the hash of the artifact's id when the caller computed it
    /// already. A hash that does not lead to the artifact's index entry is recomputed, so a
    /// wrong one costs time, never a stale entry. The duplicate-key index keeps its entry until
    /// compaction (see `keys`).
    pub(crate) fn remove_hashed(&mut self, seq: usize, id_hash: Option<u64>) {
        let Some(slot) = self.slots.get_mut(seq).and_then(Option::take) else {
            return;
        };
        self.live -= 1;
        if let Some(word) = self.removed.get_mut(seq / 64) {
            *word |= 1 << (seq % 64);
        }
        let (texts, hasher) = (&self.texts, &self.hasher);
        if !id_hash.is_some_and(|hash| self.by_id.remove(hash, seq)) {
            let id = texts.get(&slot, slot.id).unwrap_or_default();
            self.by_id.remove(hash_id(hasher, id), seq);
        }
        if let Some(d) = texts.get(&slot, slot.destination)
            && let Some(n) = self.destinations.get_mut(d)
        {
            *n = n.saturating_sub(1);
            self.with_destination = self.with_destination.saturating_sub(1);
            if *n == 0 {
                self.destinations.remove(d);
            }
        }
    }

    /// Compacts buffer, slots and indexes once removed artifacts outnumber live ones.
    ///
    /// In place: live texts move down the same buffer, slots are retained, index entries get
    /// their new positions without being hashed again. The memory stays with the collection, so
    /// the appends that follow write to pages already touched (no page faults; a fresh buffer
    /// measured about five faults per 50-item apply at 100,000 artifacts).
    pub(crate) fn compact_if_sparse(&mut self) {
        let dead = self.slots.len() - self.live;
        if dead < 64 || dead <= self.live {
            return;
        }
        let mut bytes = std::mem::take(&mut self.texts.buf).into_bytes();
        let mut old_owned = std::mem::take(&mut self.texts.owned);
        // new_seq[old position] = position once the removed slots are gone (None: removed).
        let mut new_seq = Vec::with_capacity(self.slots.len());
        let (mut write, mut kept) = (0usize, 0usize);
        for slot in self.slots.iter_mut() {
            new_seq.push(slot.is_some().then_some(kept));
            if let Some(slot) = slot {
                let end = slot.end();
                if end <= bytes.len() && write <= slot.start {
                    bytes.copy_within(slot.start..end, write);
                    slot.start = write;
                    write += slot.len.get();
                }
                for r in [
                    &mut slot.id,
                    &mut slot.restore_point,
                    &mut slot.search_response_id,
                    &mut slot.destination,
                ] {
                    if r.at == OWNED {
                        let value = old_owned.get_mut(r.len as usize).map(std::mem::take);
                        *r = StrRef::owned(&value.unwrap_or_default(), &mut self.texts.owned);
                    }
                }
                kept += 1;
            }
        }
        bytes.truncate(write);
        // Whole artifact texts were moved, so the bytes are still UTF-8.
        self.texts.buf = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        self.slots.retain(Option::is_some);
        self.removed.clear();
        self.removed.resize(self.slots.len().div_ceil(64), 0);
        // The duplicate-key index drops the entries of removed artifacts here.
        for index in [&mut self.by_id, &mut self.keys] {
            index.renumber(|seq| new_seq.get(seq).copied().flatten());
        }
    }
}

/// The id index's hash of `id`: its bytes in one write (`str`'s `Hash` adds a second write of
/// a terminator byte, which only matters when several strings are hashed in a row).
fn hash_id(hasher: &RandomState, id: &str) -> u64 {
    let mut h = hasher.build_hasher();
    h.write(id.as_bytes());
    h.finish()
}

/// The duplicate-key index's hash of `(restore point, searchResponseId)`: one write of the
/// restore point, then, for a mailbox key, a separator and the search response. Keys that hash
/// alike are still told apart by comparing them; only the look-up's length depends on this.
fn hash_key(hasher: &RandomState, (restore_point, search_response): (&str, Option<&str>)) -> u64 {
    let mut h = hasher.build_hasher();
    h.write(restore_point.as_bytes());
    if let Some(s) = search_response {
        h.write_u8(0xFF);
        h.write(s.as_bytes());
    }
    h.finish()
}

fn view<'a>(texts: &'a Texts, slot: &Slot) -> Artifact<'a> {
    let json = texts.buf.get(slot.start..slot.end()).unwrap_or_default();
    Artifact::new(slot.id.get(json, 0, &texts.owned).unwrap_or_default(), json)
}

/// Reads the home entry of each hash in `index` ([`HashIndex::touch`]), in one tight loop so
/// that the misses overlap.
fn touch_all(index: &HashIndex, hashes: impl Iterator<Item = u64>) {
    let seen = hashes.fold(0usize, |seen, h| seen.wrapping_add(index.touch(h)));
    std::hint::black_box(seen);
}

/// Whether bit `seq` of `bits` is set (a bit past the end counts as set).
fn bit_set(bits: &[u64], seq: usize) -> bool {
    bits.get(seq / 64)
        .is_none_or(|word| word & (1 << (seq % 64)) != 0)
}

/// The id of the artifact at `seq`, read without touching the rest of its text.
fn id_at<'a>(slots: &[Option<Slot>], texts: &'a Texts, seq: usize) -> Option<&'a str> {
    let slot = slots.get(seq)?.as_ref()?;
    Some(texts.get(slot, slot.id).unwrap_or_default())
}

fn key_at<'a>(
    slots: &[Option<Slot>],
    texts: &'a Texts,
    seq: usize,
) -> Option<(&'a str, Option<&'a str>)> {
    facts_at(texts, slots.get(seq)?.as_ref()?).key
}

/// The rule facts of the artifact in `slot`, read from `texts` (only the strings themselves: a
/// `new` or `inPlace` destination type not even that).
fn facts_at<'a>(texts: &'a Texts, slot: &Slot) -> StoredFacts<'a> {
    let key = texts
        .get(slot, slot.restore_point)
        .map(|rp| (rp, texts.get(slot, slot.search_response_id)));
    StoredFacts {
        id: texts.get(slot, slot.id).unwrap_or_default(),
        key,
        destination: texts.get(slot, slot.destination),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(n: usize) -> Collection {
        let texts: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"id":"a{i}","restorePoint":{{"id":"r{i}"}},"destinationType":"{}"}}"#,
                    if i % 2 == 0 { "new" } else { "inPlace" }
                )
            })
            .collect();
        let array = format!("[{}]", texts.join(","));
        let mut cur = Cursor::new(&array);
        Collection::load(ArtifactCollection::DriveRestoreArtifacts, &mut cur).unwrap()
    }

    fn key(rp: &str) -> (&str, Option<&str>) {
        (rp, None)
    }

    #[test]
    fn indexes_follow_removals_appends_and_compaction() {
        let mut c = load(200);
        for i in (0..200).filter(|i| i % 4 != 3) {
            let seq = c.seq_of(&format!("a{i}")).unwrap();
            c.remove(seq);
        }
        assert_eq!(c.len(), 50);
        assert_eq!(c.destination_count("inPlace"), 50);
        assert_eq!(c.destination_count("new"), 0);
        let f = StoredFacts {
            id: "z\"1",
            key: Some(("rz", None)),
            destination: Some("inPlace"),
        };
        let text = r#"{"id":"z\"1","restorePoint":{"id":"rz"},"destinationType":"inPlace"}"#;
        // A wrong span is not trusted: the strings are looked for again.
        let spans = Spans {
            destination: Some((0, 7)),
            ..Spans::default()
        };
        c.insert(f, c.hash_id(f.id), None, text, spans);
        let before: Vec<String> = c.iter().map(|a| a.json_text().to_owned()).collect();
        let (buf_cap, slots_cap) = (c.texts.buf.capacity(), c.slots.capacity());
        c.compact_if_sparse();
        assert_eq!(c.slots.len(), 51, "compacted");
        assert!(c.texts.buf.len() < buf_cap / 2, "the buffer shrank");
        assert_eq!(
            c.texts.buf.capacity(),
            buf_cap,
            "in place: the buffer's memory is kept"
        );
        assert_eq!(
            c.slots.capacity(),
            slots_cap,
            "in place: the slots' memory is kept"
        );
        let after: Vec<String> = c.iter().map(|a| a.json_text().to_owned()).collect();
        assert_eq!(before, after, "order and text kept");
        assert_eq!(c.iter().last().unwrap().id(), "z\"1");
        for i in (0..200).filter(|i| i % 4 == 3) {
            let seq = c.seq_of(&format!("a{i}")).unwrap();
            assert_eq!(c.get(seq).unwrap().id(), format!("a{i}"));
            assert_eq!(c.key_count(key(&format!("r{i}"))), 1);
        }
        assert_eq!(c.seq_of("a0"), None);
        assert_eq!(c.key_count(key("r0")), 0);
        assert_eq!(c.key_count(key("rz")), 1);
        assert!(c.seq_of("z\"1").is_some());
        assert_eq!(c.with_destination(), 51);
    }

    #[test]
    fn indexes_are_sized_by_artifacts_not_by_text() {
        let n = 800;
        let array = |pad: &str| {
            let texts: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"id":{pad}"a{i}","restorePoint":{{"id":"r{i}"}}}}"#))
                .collect();
            format!("[{}]", texts.join(","))
        };
        let load = |text: &str| {
            Collection::load(
                ArtifactCollection::DriveRestoreArtifacts,
                &mut Cursor::new(text),
            )
            .unwrap()
        };
        let compact = load(&array(""));
        let padded = load(&array(&" ".repeat(600)));
        assert_eq!(padded.len(), n);
        assert_eq!(padded.by_id.capacity(), compact.by_id.capacity());
        assert_eq!(padded.keys.capacity(), compact.keys.capacity());
        assert!(
            compact.by_id.capacity() <= 4 * n,
            "{}",
            compact.by_id.capacity()
        );
    }

    /// What a state read by `Session::from_json` holds is sized by its artifacts: the text
    /// buffer reserved once, for at most the rest of the state's text (never grown past it),
    /// the slots for the artifacts and an eighth more, each index a power of two of at most
    /// eight entries per artifact. (Sized before the first artifacts are read, one slot and
    /// index entry per byte of text left, a 28.7 MB state would take about 2 GiB.)
    #[test]
    fn a_state_read_is_sized_by_its_artifacts() {
        use crate::model::kinds::Family;
        use crate::model::session::Session;
        for n in [9, 40, 1_000] {
            let texts: Vec<String> = (0..n)
                .map(|i| {
                    format!(
                        r#"{{"id":"a{i}","restorePoint":{{"id":"r{i}"}},"destinationType":"new","status":"added"}}"#
                    )
                })
                .collect();
            let state = format!(
                r##"{{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft","driveRestoreArtifacts":[{}]}}"##,
                texts.join(",")
            );
            let session = Session::from_json(state.as_bytes()).unwrap();
            let c = session.collection(Family::Standard);
            assert_eq!(c.len(), n);
            let (used, buf) = (c.texts.buf.len(), c.texts.buf.capacity());
            assert!(
                used <= buf && buf <= state.len(),
                "{n}: buffer {used} of {buf}"
            );
            let slots = c.slots.capacity();
            assert!(
                slots <= n + n / 8 + LOAD_BATCH,
                "{n}: room for {slots} slots"
            );
            for index in [&c.by_id, &c.keys] {
                let entries = index.capacity();
                assert!(entries <= 8 * n.max(8), "{n}: room for {entries} entries");
            }
        }
    }

    /// A look-up reads a few index entries (counted), whatever the collection's size: with
    /// every id or key hashed alike, or placed alike, each would read the whole run of them.
    #[test]
    fn look_ups_read_a_few_index_entries_each() {
        use crate::model::index::probes;
        let n = 4_000;
        let c = load(n);
        probes::taken();
        for i in 0..n {
            assert!(c.seq_of(&format!("a{i}")).is_some());
            assert_eq!(c.key_count(key(&format!("r{i}"))), 1);
            assert_eq!(c.seq_of(&format!("absent{i}")), None);
        }
        let read = probes::taken();
        assert!(
            (3 * n..=12 * n).contains(&read),
            "{read} entries read by {} look-ups",
            3 * n
        );
    }

    /// Removed artifacts are compacted away once they outnumber the live ones (and are at
    /// least 64), not sooner: a compaction copies the whole collection, so a removal costs
    /// amortised O(1) only if compactions are that rare.
    #[test]
    fn removals_compact_only_once_they_outnumber_live_artifacts() {
        let mut c = load(2_000);
        let remove = |c: &mut Collection, ids: std::ops::Range<usize>| {
            for i in ids {
                let seq = c.seq_of(&format!("a{i}")).unwrap();
                c.remove(seq);
            }
        };
        remove(&mut c, 0..100);
        c.compact_if_sparse();
        assert_eq!(c.slots.len(), 2_000, "100 removed of 2,000: not compacted");
        remove(&mut c, 100..1_000);
        c.compact_if_sparse();
        assert_eq!(
            c.slots.len(),
            2_000,
            "as many removed as live: not compacted"
        );
        remove(&mut c, 1_000..1_001);
        c.compact_if_sparse();
        assert_eq!(c.slots.len(), 999, "compacted");
    }

    #[test]
    fn warm_finds_positions_and_changes_nothing() {
        let c = load(10);
        let ids = [c.hash_id("a3"), c.hash_id("absent"), c.hash_id("a7")];
        let keys = [c.hash_key(key("r1")), c.hash_key(key("absent"))];
        let before = c
            .iter()
            .map(|a| a.json_text().to_owned())
            .collect::<Vec<_>>();
        let warmed = c.warm(&ids, &keys);
        let (s3, s7) = (c.seq_of("a3").unwrap(), c.seq_of("a7").unwrap());
        assert_eq!(warmed, vec![Some(s3), None, Some(s7)]);
        let after = c
            .iter()
            .map(|a| a.json_text().to_owned())
            .collect::<Vec<_>>();
        assert_eq!(before, after);
    }

    #[test]
    fn a_slot_takes_48_bytes() {
        assert_eq!(std::mem::size_of::<Option<Slot>>(), 48);
        assert_eq!(std::mem::size_of::<StrRef>(), 8);
    }

    #[test]
    fn strings_spelled_with_escapes_survive_removals_and_compaction() {
        // Every third artifact spells its id and restore point with escapes.
        let texts: Vec<String> = (0..300)
            .map(|i| {
                if i % 3 == 0 {
                    format!(r#"{{"id":"e\"{i}","restorePoint":{{"id":"r\u0041{i}"}}}}"#)
                } else {
                    format!(r#"{{"id":"a{i}","restorePoint":{{"id":"r{i}"}}}}"#)
                }
            })
            .collect();
        let array = format!("[{}]", texts.join(","));
        let mut c = Collection::load(
            ArtifactCollection::DriveRestoreArtifacts,
            &mut Cursor::new(&array),
        )
        .unwrap();
        assert_eq!(
            c.texts.owned.len(),
            200,
            "id and restore point of 100 artifacts"
        );
        for i in (0..300).filter(|i| i % 4 != 0) {
            let id = if i % 3 == 0 {
                format!("e\"{i}")
            } else {
                format!("a{i}")
            };
            c.remove(c.seq_of(&id).unwrap());
        }
        c.compact_if_sparse();
        assert_eq!(c.slots.len(), 75, "compacted");
        assert_eq!(
            c.texts.owned.len(),
            50,
            "only the live artifacts' strings are kept"
        );
        for i in (0..300).filter(|i| i % 4 == 0) {
            let (id, rp) = if i % 3 == 0 {
                (format!("e\"{i}"), format!("rA{i}"))
            } else {
                (format!("a{i}"), format!("r{i}"))
            };
            let seq = c.seq_of(&id).unwrap();
            assert_eq!(c.get(seq).unwrap().id(), id);
            assert_eq!(c.facts_of(seq).unwrap().key, Some((rp.as_str(), None)));
            assert_eq!(c.key_count(key(&rp)), 1);
        }
        assert_eq!(c.seq_of("e\"3"), None);
        assert_eq!(c.key_count(key("rA3")), 0);
    }

    #[test]
    fn removal_with_a_wrong_hash_leaves_no_stale_id_entry() {
        let mut c = load(10);
        let seq = c.seq_of("a3").unwrap();
        c.remove_hashed(seq, Some(c.hash_id("a3") ^ 1));
        assert_eq!(c.seq_of("a3"), None);
        assert_eq!(c.key_count(key("r3")), 0);
        assert_eq!(c.by_id.len(), 9);
        let seq = c.seq_of("a4").unwrap();
        c.remove_hashed(seq, Some(c.hash_id("a4")));
        assert_eq!((c.by_id.len(), c.len()), (8, 8));
    }

    #[test]
    fn a_key_removed_and_added_again_takes_over_its_entry() {
        let mut c = load(100);
        let entries = c.keys.len();
        for round in 0..50 {
            let old = if round == 0 {
                "a7".to_owned()
            } else {
                format!("b{}", round - 1)
            };
            c.remove(c.seq_of(&old).unwrap());
            let id = format!("b{round}");
            let f = StoredFacts {
                id: &id,
                key: Some(("r7", None)),
                destination: Some("new"),
            };
            let text =
                format!(r#"{{"id":"{id}","restorePoint":{{"id":"r7"}},"destinationType":"new"}}"#);
            c.insert(f, c.hash_id(&id), None, &text, Spans::default());
            assert_eq!(c.key_count(key("r7")), 1);
        }
        assert_eq!(c.keys.len(), entries, "one entry for r7 all along");
    }

    #[test]
    fn removed_keys_stay_in_their_index_until_compaction() {
        let mut c = load(200);
        for i in 0..150 {
            c.remove(c.seq_of(&format!("a{i}")).unwrap());
        }
        assert_eq!(c.keys.len(), 200, "removals leave their key entries");
        assert_eq!(c.key_count(key("r7")), 0, "but they are not counted");
        assert_eq!(c.key_count(key("r170")), 1);
        // Adding a removed key again counts it once.
        let f = StoredFacts {
            id: "b7",
            key: Some(("r7", None)),
            destination: Some("new"),
        };
        let text = r#"{"id":"b7","restorePoint":{"id":"r7"},"destinationType":"new"}"#;
        c.insert(f, c.hash_id("b7"), None, text, Spans::default());
        assert_eq!(c.key_count(key("r7")), 1);
        c.compact_if_sparse();
        assert_eq!(c.keys.len(), 51, "compaction drops them");
        assert_eq!(c.by_id.len(), 51);
        assert_eq!(c.key_count(key("r7")), 1);
        assert_eq!(c.key_count(key("r170")), 1);
        assert_eq!(c.key_count(key("r20")), 0);
        let b7 = c.seq_of("b7").unwrap();
        assert_eq!(c.get(b7).unwrap().id(), "b7");
    }
}
