//! An artifact collection with the indexes the rules are decided against: by id, by duplicate
//! key and by destination type. Look-ups, removals and appends cost O(1); nothing scans it.

use std::collections::{BTreeMap, HashMap};

use serde_json::value::RawValue;

use crate::artifact::{Artifact, DupKey, Facts, facts};
use crate::error::StateError;
use crate::json::needs_minify;
use crate::kinds::ArtifactCollection;

/// Where an artifact's id is.
#[derive(Clone, Debug)]
enum IdRef {
    /// Bytes `[offset, offset + len)` of the artifact's JSON text (the id has no escapes).
    Span(u32, u32),
    /// The unescaped id, when its JSON spelling has escapes.
    Owned(Box<str>),
}

/// One artifact: its JSON text is `buf[start..start + len]`.
#[derive(Clone, Debug)]
struct Slot {
    start: usize,
    len: usize,
    id: IdRef,
}

/// An artifact collection of a session.
///
/// The artifacts' JSON texts live one after the other in a single buffer, in collection order
/// as first stored; `slots` says where each one is, in collection order, `None` once removed.
/// So a removal moves nothing, an append copies only the new artifact, and loading a state
/// allocates a handful of times per artifact, not per member. When removed artifacts outnumber
/// the live ones, the buffer and the slots are compacted (amortised O(1) per removal).
#[derive(Clone, Debug)]
pub(crate) struct Collection {
    which: ArtifactCollection,
    buf: String,
    slots: Vec<Option<Slot>>,
    live: usize,
    /// Lookups only, never iterated: std's `HashMap` keeps its hash keys secret from clients
    /// who choose ids and restore points (HashDoS), and no output depends on them.
    by_id: HashMap<Box<str>, usize>,
    keys: HashMap<DupKey, u32>,
    destinations: BTreeMap<Box<str>, u32>,
    /// Artifacts that have a destination type: the sum of `destinations`.
    with_destination: u64,
}

impl Collection {
    pub(crate) fn new(which: ArtifactCollection) -> Self {
        Collection {
            which,
            buf: String::new(),
            slots: Vec::new(),
            live: 0,
            by_id: HashMap::new(),
            keys: HashMap::new(),
            destinations: BTreeMap::new(),
            with_destination: 0,
        }
    }

    /// Reads a collection from the elements of its JSON array.
    pub(crate) fn load(
        which: ArtifactCollection,
        elements: &[&RawValue],
    ) -> Result<Self, StateError> {
        let mut c = Collection::new(which);
        let bytes: usize = elements.iter().map(|e| e.get().len()).sum();
        c.buf.reserve(bytes);
        c.slots.reserve(elements.len());
        c.by_id.reserve(elements.len());
        c.keys.reserve(elements.len());
        for (index, raw) in elements.iter().enumerate() {
            let minified;
            let text = if needs_minify(raw.get()) {
                minified = crate::json::minify_str(raw.get());
                minified.as_str()
            } else {
                raw.get()
            };
            let f = facts(which, text).map_err(|reason| StateError::InvalidArtifact {
                collection: which,
                index,
                reason,
            })?;
            if c.by_id.contains_key(f.id.as_ref()) {
                return Err(StateError::DuplicateArtifactId {
                    collection: which,
                    id: f.id.into_owned(),
                });
            }
            c.push(&f.id, f.key(), f.destination.as_deref(), text);
        }
        Ok(c)
    }

    /// Bytes of JSON text held, removed artifacts included (a size hint).
    pub(crate) fn text_len(&self) -> usize {
        self.buf.len() + self.slots.len()
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

    fn view<'a>(&'a self, slot: &'a Slot) -> Artifact<'a> {
        let json = slot_text(&self.buf, slot);
        Artifact::new(slot_id(json, slot), json)
    }

    /// The artifacts, in order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = Artifact<'_>> {
        self.slots.iter().flatten().map(|s| self.view(s))
    }

    /// The position of the artifact with this id.
    pub(crate) fn seq_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub(crate) fn get(&self, seq: usize) -> Option<Artifact<'_>> {
        self.slots.get(seq)?.as_ref().map(|s| self.view(s))
    }

    /// How many artifacts have this duplicate key.
    pub(crate) fn key_count(&self, key: &DupKey) -> u32 {
        self.keys.get(key).copied().unwrap_or(0)
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

    /// The rule facts of a stored artifact.
    pub(crate) fn facts_of(&self, seq: usize) -> Option<Facts> {
        let artifact = self.get(seq)?;
        facts(self.which, artifact.json_text())
            .ok()
            .map(|f| f.into_owned())
    }

    /// Appends an artifact whose JSON is `text` (compact); the caller has checked its id is not
    /// present.
    pub(crate) fn insert(&mut self, f: &Facts, text: &str) {
        self.push(&f.id, f.key.clone(), f.destination.as_deref(), text);
    }

    fn push(&mut self, id: &str, key: Option<DupKey>, destination: Option<&str>, text: &str) {
        let seq = self.slots.len();
        let start = self.buf.len();
        self.buf.push_str(text);
        let id_ref = match id_offset(text, id) {
            Some((at, len)) => IdRef::Span(at, len),
            None => IdRef::Owned(Box::from(id)),
        };
        self.slots.push(Some(Slot {
            start,
            len: text.len(),
            id: id_ref,
        }));
        self.live += 1;
        if let Some(key) = key {
            *self.keys.entry(key).or_insert(0) += 1;
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
        self.by_id.insert(Box::from(id), seq);
    }

    /// Removes the artifact at `seq`, whose facts are `f`.
    pub(crate) fn remove(&mut self, seq: usize, f: &Facts) {
        let Some(slot) = self.slots.get_mut(seq).and_then(Option::take) else {
            return;
        };
        drop(slot);
        self.live -= 1;
        self.by_id.remove(f.id.as_ref());
        if let Some(key) = &f.key
            && let Some(n) = self.keys.get_mut(key)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.keys.remove(key);
            }
        }
        if let Some(d) = &f.destination
            && let Some(n) = self.destinations.get_mut(d.as_ref())
        {
            *n = n.saturating_sub(1);
            self.with_destination = self.with_destination.saturating_sub(1);
            if *n == 0 {
                self.destinations.remove(d.as_ref());
            }
        }
    }

    /// Compacts the buffer and the slots once removed artifacts outnumber live ones.
    pub(crate) fn compact_if_sparse(&mut self) {
        let dead = self.slots.len() - self.live;
        if dead < 64 || dead <= self.live {
            return;
        }
        let mut buf = String::with_capacity(self.buf.len() / 2);
        let mut slots = Vec::with_capacity(self.live);
        for slot in self.slots.iter().flatten() {
            let text = slot_text(&self.buf, slot);
            let seq = slots.len();
            if let Some(s) = self.by_id.get_mut(slot_id(text, slot)) {
                *s = seq;
            }
            slots.push(Some(Slot {
                start: buf.len(),
                len: slot.len,
                id: slot.id.clone(),
            }));
            buf.push_str(text);
        }
        self.buf = buf;
        self.slots = slots;
    }
}

fn slot_text<'a>(buf: &'a str, slot: &Slot) -> &'a str {
    buf.get(slot.start..slot.start + slot.len)
        .unwrap_or_default()
}

fn slot_id<'a>(json: &'a str, slot: &'a Slot) -> &'a str {
    match &slot.id {
        IdRef::Span(at, len) => {
            let at = *at as usize;
            json.get(at..at + *len as usize).unwrap_or_default()
        }
        IdRef::Owned(id) => id,
    }
}

/// Where `id` is spelled, without escapes, as the artifact's id in `text`: either `id` borrows
/// from `text` (read from it), or `text` starts with `{"id":"<id>"` (written by this crate).
fn id_offset(text: &str, id: &str) -> Option<(u32, u32)> {
    let borrowed = (id.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    let at = if text.get(borrowed..borrowed + id.len()) == Some(id) {
        borrowed
    } else if text.starts_with("{\"id\":\"") && text.get(7..7 + id.len()) == Some(id) {
        7
    } else {
        return None;
    };
    Some((u32::try_from(at).ok()?, u32::try_from(id.len()).ok()?))
}
