//! An artifact collection with the indexes the rules are decided against: by id, by duplicate
//! key and by destination type. Look-ups, removals and appends cost O(1); nothing scans it.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroUsize;

use hashbrown::HashTable;

use crate::artifact::{Artifact, FactsRef, Fields, facts, facts_from};
use crate::error::StateError;
use crate::json::{Cursor, minify_str, needs_minify};
use crate::kinds::ArtifactCollection;

/// Where a string the rules read sits, in eight bytes: bytes `[at, at + len)` of the artifact's
/// JSON text, where it is spelled without escapes; or, when `at` is [`OWNED`], the unescaped
/// string `owned[len]` of the collection (its JSON spelling has escapes: rare); or, when `at` is
/// [`ABSENT`], nowhere. Eight bytes rather than an enum with a `Box<str>` (24) keep a [`Slot`]
/// within 48 bytes. A string past the first 4 GiB of its artifact is kept as owned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StrRef {
    at: u32,
    len: u32,
}

/// [`StrRef::at`] of a string kept in the collection's `owned` list.
const OWNED: u32 = u32::MAX;
/// [`StrRef::at`] of a string the artifact does not have.
const ABSENT: u32 = u32::MAX - 1;

impl StrRef {
    const NONE: StrRef = StrRef { at: ABSENT, len: 0 };

    /// A span, when it can be told apart from the markers.
    fn span(at: usize, len: usize) -> Option<StrRef> {
        let at = u32::try_from(at).ok().filter(|&at| at < ABSENT)?;
        Some(StrRef {
            at,
            len: u32::try_from(len).ok()?,
        })
    }

    /// `value`, kept in `owned`.
    fn owned(value: &str, owned: &mut Vec<Box<str>>) -> StrRef {
        // More than 2^32 strings spelled with escapes would take over 64 GiB of them; past
        // that, such a string reads as empty rather than aborting.
        let len = u32::try_from(owned.len()).unwrap_or(u32::MAX);
        owned.push(Box::from(value));
        StrRef { at: OWNED, len }
    }

    /// Where `value` is spelled in `text`: where it borrows from `text` (it was read from it),
    /// else right after `marker` (`text` was written by this crate), else owned.
    fn locate(text: &str, value: &str, marker: &str, owned: &mut Vec<Box<str>>) -> StrRef {
        let borrowed = (value.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        let end = borrowed.checked_add(value.len());
        let at = if end.and_then(|end| text.get(borrowed..end)) == Some(value) {
            Some(borrowed)
        } else {
            text.find(marker)
                .map(|m| m + marker.len())
                .filter(|&at| text.get(at..at + value.len()) == Some(value))
        };
        at.and_then(|at| StrRef::span(at, value.len()))
            .unwrap_or_else(|| StrRef::owned(value, owned))
    }

    /// `span` when the text holds `value` there, else [`StrRef::locate`].
    fn at(
        text: &str,
        value: &str,
        span: Option<(u32, u32)>,
        marker: &str,
        owned: &mut Vec<Box<str>>,
    ) -> StrRef {
        match span {
            Some((at, len)) if text.get(at as usize..at as usize + len as usize) == Some(value) => {
                StrRef::span(at as usize, len as usize)
                    .unwrap_or_else(|| StrRef::locate(text, value, marker, owned))
            }
            _ => StrRef::locate(text, value, marker, owned),
        }
    }

    /// Where the string starts in the artifact's text (0 when it is not in the text).
    fn offset(self) -> usize {
        if self.at >= ABSENT {
            0
        } else {
            self.at as usize
        }
    }

    /// The string, read from the artifact's `text` or from `owned`; `None` when absent.
    fn get<'a>(self, text: &'a str, owned: &'a [Box<str>]) -> Option<&'a str> {
        match self.at {
            ABSENT => None,
            OWNED => Some(owned.get(self.len as usize).map_or("", |s| s)),
            at => {
                let at = at as usize;
                Some(text.get(at..at + self.len as usize).unwrap_or_default())
            }
        }
    }
}

/// Where the strings the indexes read sit in a new artifact's JSON, as the crate wrote it:
/// `(start, len)` of each string's content, `None` where it was written with escapes (or is
/// absent). Saves looking for them again when the artifact is stored.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Spans {
    pub(crate) id: Option<(u32, u32)>,
    pub(crate) restore_point: Option<(u32, u32)>,
    pub(crate) search_response_id: Option<(u32, u32)>,
    pub(crate) destination: Option<(u32, u32)>,
}

/// The facts of a stored artifact, borrowed from the collection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoredFacts<'a> {
    pub(crate) id: &'a str,
    pub(crate) key: Option<(&'a str, Option<&'a str>)>,
    pub(crate) destination: Option<&'a str>,
}

/// One artifact: its JSON text is `buf[start..start + len]`, and where the strings the indexes
/// compare are. 48 bytes, also as `Option<Slot>` (`len` is never 0: an artifact is an object);
/// it was 112 with `Box<str>`-carrying string references.
#[derive(Clone, Debug)]
struct Slot {
    start: usize,
    len: NonZeroUsize,
    id: StrRef,
    restore_point: StrRef,
    search_response_id: StrRef,
    destination: StrRef,
}

impl Slot {
    fn end(&self) -> usize {
        self.start + self.len.get()
    }
}

/// The collection's text: the artifacts' JSON one after the other, and the strings that are
/// spelled with escapes there, unescaped ([`StrRef`]).
#[derive(Clone, Debug, Default)]
struct Texts {
    buf: String,
    owned: Vec<Box<str>>,
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
    /// std's SipHash with per-process secret keys: clients choose ids and restore points, so
    /// the hash must not be predictable (HashDoS). Only looked up; no output depends on it.
    hasher: RandomState,
    /// (hash of the id, position), one per live artifact.
    by_id: HashTable<(u64, usize)>,
    /// (hash of the duplicate key, position), one per live artifact that has a key.
    keys: HashTable<(u64, usize)>,
    destinations: BTreeMap<Box<str>, u32>,
    /// Artifacts that have a destination type: the sum of `destinations`.
    with_destination: u64,
}

const ID: &str = "{\"id\":\"";
const RESTORE_POINT: &str = "\"restorePoint\":{\"id\":\"";
const SEARCH_RESPONSE: &str = "\"searchResponseId\":\"";
const DESTINATION: &str = "\"destinationType\":\"";

impl Collection {
    pub(crate) fn new(which: ArtifactCollection) -> Self {
        Collection {
            which,
            texts: Texts::default(),
            slots: Vec::new(),
            live: 0,
            hasher: RandomState::new(),
            by_id: HashTable::new(),
            keys: HashTable::new(),
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
        let syntax = |message: String| StateError::InvalidJson { message };
        cur.expect(b'[', "`[`").map_err(syntax)?;
        if cur.eat(b']') {
            return Ok(c);
        }
        // The rest of the text bounds the artifacts' size; reserving it up front saves the
        // copies of growing (untouched capacity costs address space, not memory).
        let rest = cur.remaining();
        c.texts.buf.reserve(rest);
        let guess = rest / 256;
        c.slots.reserve(guess);
        c.by_id.reserve(guess, |e| e.0);
        c.keys.reserve(guess, |e| e.0);
        for index in 0.. {
            cur.peek();
            let start = cur.pos();
            let fields: Fields<'_> = cur.value().map_err(|e| invalid(index, e))?;
            let text = cur.since(start);
            if needs_minify(text) {
                let text = minify_str(text);
                let f = facts(which, &text).map_err(|e| invalid(index, e))?;
                c.push_checked(&text, &f)?;
            } else {
                let f = facts_from(which, fields).map_err(|e| invalid(index, e))?;
                c.push_checked(text, &f)?;
            }
            if cur.eat(b']') {
                break;
            }
            cur.expect(b',', "`,` or `]`").map_err(syntax)?;
        }
        Ok(c)
    }

    fn push_checked(&mut self, text: &str, f: &FactsRef<'_>) -> Result<(), StateError> {
        let hash = self.hasher.hash_one(f.id.as_ref());
        if self.find_id(hash, &f.id).is_some() {
            return Err(StateError::DuplicateArtifactId {
                collection: self.which,
                id: f.id.to_string(),
            });
        }
        let spans = Spans::default();
        let key = f.key_parts();
        let key_hash = key.map(|k| self.hash_key(k));
        self.push(
            text,
            &f.id,
            hash,
            key.zip(key_hash),
            f.destination.as_deref(),
            spans,
        );
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

    /// The position of the artifact with this id.
    pub(crate) fn seq_of(&self, id: &str) -> Option<usize> {
        self.find_id(self.hash_id(id), id)
    }

    /// The hash the id index uses for `id` (keyed per collection; see `hasher`).
    pub(crate) fn hash_id(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The hash the duplicate-key index uses for `(restore point, searchResponseId)`.
    pub(crate) fn hash_key(&self, key: (&str, Option<&str>)) -> u64 {
        self.hasher.hash_one(key)
    }

    /// [`Collection::seq_of`] with the id's hash already computed by [`Collection::hash_id`].
    pub(crate) fn find_id(&self, hash: u64, id: &str) -> Option<usize> {
        let (slots, texts) = (&self.slots, &self.texts);
        self.by_id
            .find(hash, |&(h, seq)| {
                h == hash && id_at(slots, texts, seq) == Some(id)
            })
            .map(|&(_, seq)| seq)
    }

    pub(crate) fn get(&self, seq: usize) -> Option<Artifact<'_>> {
        self.slots.get(seq)?.as_ref().map(|s| view(&self.texts, s))
    }

    /// Reads, ahead of the decisions that need them, what the removals of these id hashes and
    /// the additions of these key hashes will touch: the index entries, the slots they lead to,
    /// the lines of text the rules read (start, end, id, key, destination), and the duplicate-key
    /// index entries of the removed artifacts. Each stage's reads are independent of one
    /// another, so the processor overlaps their cache misses instead of taking them one after
    /// another during the decisions and the commit. Stages are tight loops of reads: the keys
    /// of the removed artifacts are all hashed before any of their entries is read (reading
    /// each right after its hash measured 8.9 µs a request at 100,000 artifacts, against 2.6).
    ///
    /// Returns, for each id hash, the position of an artifact whose id has that hash (not
    /// compared: the decision does that) and the hash of its duplicate key, which the decision
    /// may reuse when it removes that very position. Changes nothing.
    pub(crate) fn warm(
        &self,
        id_hashes: &[u64],
        key_hashes: &[u64],
    ) -> Vec<Option<(usize, Option<u64>)>> {
        let mut seen = 0usize;
        let seqs: Vec<Option<usize>> = id_hashes
            .iter()
            .map(|&h| self.by_id.find(h, |e| e.0 == h).map(|e| e.1))
            .collect();
        for &h in key_hashes {
            if let Some(e) = self.keys.find(h, |e| e.0 == h) {
                seen = seen.wrapping_add(e.1);
            }
        }
        let lines: Vec<[usize; 5]> = seqs
            .iter()
            .flatten()
            .filter_map(|&seq| {
                let s = self.slots.get(seq)?.as_ref()?;
                let at = |r: StrRef| s.start + r.offset();
                Some([
                    s.start,
                    s.end().saturating_sub(1),
                    at(s.id),
                    at(s.restore_point),
                    at(s.destination),
                ])
            })
            .collect();
        let bytes = self.texts.buf.as_bytes();
        for line in &lines {
            for &at in line {
                seen = seen.wrapping_add(usize::from(bytes.get(at).copied().unwrap_or(0)));
            }
        }
        let warmed: Vec<Option<(usize, Option<u64>)>> = seqs
            .into_iter()
            .map(|seq| {
                let seq = seq?;
                Some((seq, self.facts_of(seq)?.key.map(|k| self.hash_key(k))))
            })
            .collect();
        for &(seq, key_hash) in warmed.iter().flatten() {
            if let Some(h) = key_hash
                && let Some(e) = self.keys.find(h, |e| e.1 == seq)
            {
                seen = seen.wrapping_add(e.1);
            }
        }
        std::hint::black_box(seen);
        warmed
    }

    /// How many artifacts have this duplicate key.
    #[cfg(test)]
    fn key_count(&self, parts: (&str, Option<&str>)) -> u32 {
        self.key_count_hashed(self.hash_key(parts), parts)
    }

    /// How many artifacts have the duplicate key `parts`, whose hash is `hash`
    /// ([`Collection::hash_key`]).
    pub(crate) fn key_count_hashed(&self, hash: u64, parts: (&str, Option<&str>)) -> u32 {
        let (slots, texts) = (&self.slots, &self.texts);
        let n = self
            .keys
            .iter_hash(hash)
            .filter(|&&(h, seq)| h == hash && key_at(slots, texts, seq) == Some(parts))
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
    pub(crate) fn facts_of(&self, seq: usize) -> Option<StoredFacts<'_>> {
        Some(facts_at(&self.texts, self.slots.get(seq)?.as_ref()?))
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
        let key = f.key.map(|k| {
            let hash = key_hash.unwrap_or_else(|| self.hash_key(k));
            debug_assert_eq!(hash, self.hash_key(k), "key hash from another hasher");
            (k, hash)
        });
        self.push(text, f.id, id_hash, key, f.destination, spans);
    }

    fn push(
        &mut self,
        text: &str,
        id: &str,
        id_hash: u64,
        key: Option<((&str, Option<&str>), u64)>,
        destination: Option<&str>,
        spans: Spans,
    ) {
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
            restore_point: key.map_or(StrRef::NONE, |((rp, _), _)| {
                StrRef::at(text, rp, spans.restore_point, RESTORE_POINT, owned)
            }),
            search_response_id: key.and_then(|((_, s), _)| s).map_or(StrRef::NONE, |s| {
                StrRef::at(text, s, spans.search_response_id, SEARCH_RESPONSE, owned)
            }),
            destination: destination.map_or(StrRef::NONE, |d| {
                StrRef::at(text, d, spans.destination, DESTINATION, owned)
            }),
        };
        self.slots.push(Some(slot));
        self.live += 1;
        self.by_id.insert_unique(id_hash, (id_hash, seq), |e| e.0);
        if let Some((_, hash)) = key {
            self.keys.insert_unique(hash, (hash, seq), |e| e.0);
        }
        if let Some(d) = destination {
            match self.destinations.get_mut(d) {
                Some(n) => *n += 1,
                None => {
                    self.destinations.insert(Box::from(d), 1);
                }
            }
            self.with_destination += 1;
        }
    }

    /// Removes the artifact at `seq`.
    #[cfg(test)]
    fn remove(&mut self, seq: usize) {
        self.remove_hashed(seq, None, None);
    }

    /// [`Collection::remove`] with the hashes of the artifact's id and key when the caller
    /// computed them already. A hash that does not lead to the artifact's index entry is
    /// recomputed, so a wrong one costs time, never a stale entry.
    pub(crate) fn remove_hashed(
        &mut self,
        seq: usize,
        id_hash: Option<u64>,
        key_hash: Option<u64>,
    ) {
        let Some(slot) = self.slots.get_mut(seq).and_then(Option::take) else {
            return;
        };
        self.live -= 1;
        let f = facts_at(&self.texts, &slot);
        remove_entry(&mut self.by_id, seq, id_hash, || self.hasher.hash_one(f.id));
        if let Some(key) = f.key {
            remove_entry(&mut self.keys, seq, key_hash, || self.hasher.hash_one(key));
        }
        if let Some(d) = f.destination
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
        // new_seq[old position] = position once the removed slots are gone.
        let mut new_seq = Vec::with_capacity(self.slots.len());
        let (mut write, mut kept) = (0usize, 0usize);
        for slot in self.slots.iter_mut() {
            new_seq.push(kept);
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
        for index in [&mut self.by_id, &mut self.keys] {
            for entry in index.iter_mut() {
                if let Some(&seq) = new_seq.get(entry.1) {
                    entry.1 = seq;
                }
            }
        }
    }
}

/// Removes the entry of `seq` from `index`, looking under `hash` first, then under `rehash()`.
fn remove_entry(
    index: &mut HashTable<(u64, usize)>,
    seq: usize,
    hash: Option<u64>,
    rehash: impl FnOnce() -> u64,
) {
    if let Some(hash) = hash
        && let Ok(entry) = index.find_entry(hash, |e| e.0 == hash && e.1 == seq)
    {
        entry.remove();
        return;
    }
    let hash = rehash();
    if let Ok(entry) = index.find_entry(hash, |e| e.1 == seq) {
        entry.remove();
    }
}

fn view<'a>(texts: &'a Texts, slot: &Slot) -> Artifact<'a> {
    let json = texts.buf.get(slot.start..slot.end()).unwrap_or_default();
    Artifact::new(slot.id.get(json, &texts.owned).unwrap_or_default(), json)
}

fn id_at<'a>(slots: &[Option<Slot>], texts: &'a Texts, seq: usize) -> Option<&'a str> {
    let slot = slots.get(seq)?.as_ref()?;
    Some(view(texts, slot).id())
}

fn key_at<'a>(
    slots: &[Option<Slot>],
    texts: &'a Texts,
    seq: usize,
) -> Option<(&'a str, Option<&'a str>)> {
    facts_at(texts, slots.get(seq)?.as_ref()?).key
}

/// The rule facts of the artifact in `slot`, read from `texts`.
fn facts_at<'a>(texts: &'a Texts, slot: &Slot) -> StoredFacts<'a> {
    let owned = &texts.owned;
    let text = view(texts, slot).json_text();
    let key = slot
        .restore_point
        .get(text, owned)
        .map(|rp| (rp, slot.search_response_id.get(text, owned)));
    StoredFacts {
        id: slot.id.get(text, owned).unwrap_or_default(),
        key,
        destination: slot.destination.get(text, owned),
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
    fn warm_finds_positions_and_key_hashes_and_changes_nothing() {
        let c = load(10);
        let ids = [c.hash_id("a3"), c.hash_id("absent"), c.hash_id("a7")];
        let keys = [c.hash_key(key("r1")), c.hash_key(key("absent"))];
        let before = c
            .iter()
            .map(|a| a.json_text().to_owned())
            .collect::<Vec<_>>();
        let warmed = c.warm(&ids, &keys);
        let (s3, s7) = (c.seq_of("a3").unwrap(), c.seq_of("a7").unwrap());
        assert_eq!(
            warmed,
            vec![
                Some((s3, Some(c.hash_key(key("r3"))))),
                None,
                Some((s7, Some(c.hash_key(key("r7"))))),
            ]
        );
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
    fn removal_with_wrong_hashes_leaves_no_stale_index_entry() {
        let mut c = load(10);
        let seq = c.seq_of("a3").unwrap();
        let (id_hash, key_hash) = (c.hash_id("a3"), c.hash_key(key("r3")));
        c.remove_hashed(seq, Some(id_hash ^ 1), Some(key_hash ^ 1));
        assert_eq!(c.seq_of("a3"), None);
        assert_eq!(c.key_count(key("r3")), 0);
        assert_eq!(c.by_id.len(), 9);
        assert_eq!(c.keys.len(), 9);
        let seq = c.seq_of("a4").unwrap();
        c.remove_hashed(seq, Some(c.hash_id("a4")), Some(c.hash_key(key("r4"))));
        assert_eq!((c.by_id.len(), c.keys.len(), c.len()), (8, 8, 8));
    }
}
