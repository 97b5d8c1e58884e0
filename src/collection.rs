//! An artifact collection with the indexes the rules are decided against: by id, by duplicate
//! key and by destination type. Removal and insertion cost O(log n); nothing scans it.

use std::collections::{BTreeMap, HashMap};

use serde_json::value::RawValue;

use crate::artifact::{Artifact, DupKey, Facts, facts};
use crate::error::StateError;
use crate::json::minify;
use crate::kinds::ArtifactCollection;

/// An artifact collection of a session.
///
/// Artifacts are kept in an ordered map keyed by insertion sequence so a removal leaves the
/// others in order without shifting them, and an append never copies the collection.
#[derive(Clone, Debug)]
pub(crate) struct Collection {
    which: ArtifactCollection,
    items: BTreeMap<u64, Artifact>,
    next_seq: u64,
    /// Lookups only, never iterated: std's `HashMap` keeps its hash keys secret from clients
    /// who choose ids and restore points (HashDoS), and no output depends on them.
    by_id: HashMap<Box<str>, u64>,
    keys: HashMap<DupKey, u32>,
    destinations: BTreeMap<Box<str>, u32>,
    /// Artifacts that have a destination type: the sum of `destinations`.
    with_destination: u64,
}

impl Collection {
    pub(crate) fn new(which: ArtifactCollection) -> Self {
        Collection {
            which,
            items: BTreeMap::new(),
            next_seq: 0,
            by_id: HashMap::new(),
            keys: HashMap::new(),
            destinations: BTreeMap::new(),
            with_destination: 0,
        }
    }

    /// Reads a collection from the elements of its JSON array.
    pub(crate) fn load(
        which: ArtifactCollection,
        elements: Vec<Box<RawValue>>,
    ) -> Result<Self, StateError> {
        let mut c = Collection::new(which);
        c.by_id.reserve(elements.len());
        for (index, raw) in elements.into_iter().enumerate() {
            let raw = minify(raw);
            let f = facts(which, &raw).map_err(|reason| StateError::InvalidArtifact {
                collection: which,
                index,
                reason,
            })?;
            if c.by_id.contains_key(&f.id) {
                return Err(StateError::DuplicateArtifactId {
                    collection: which,
                    id: f.id.into(),
                });
            }
            c.insert(f, raw);
        }
        Ok(c)
    }

    pub(crate) fn which(&self) -> ArtifactCollection {
        self.which
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &Artifact> + ExactSizeIterator {
        self.items.values()
    }

    /// The sequence number of the artifact with this id.
    pub(crate) fn seq_of(&self, id: &str) -> Option<u64> {
        self.by_id.get(id).copied()
    }

    pub(crate) fn get(&self, seq: u64) -> Option<&Artifact> {
        self.items.get(&seq)
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
    pub(crate) fn facts_of(&self, seq: u64) -> Option<Facts> {
        self.items
            .get(&seq)
            .and_then(|a| facts(self.which, a.json()).ok())
    }

    /// Appends an artifact; the caller has checked its id is not present.
    pub(crate) fn insert(&mut self, f: Facts, json: Box<RawValue>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(key) = f.key {
            *self.keys.entry(key).or_insert(0) += 1;
        }
        if let Some(d) = f.destination {
            *self.destinations.entry(d).or_insert(0) += 1;
            self.with_destination += 1;
        }
        self.by_id.insert(f.id.clone(), seq);
        self.items.insert(seq, Artifact::new(f.id, json));
    }

    /// Removes the artifact with this sequence number, if present.
    pub(crate) fn remove(&mut self, seq: u64) {
        let facts = self.facts_of(seq);
        let Some(artifact) = self.items.remove(&seq) else {
            return;
        };
        self.by_id.remove(artifact.id());
        if let Some(f) = facts {
            if let Some(key) = f.key {
                decrement(&mut self.keys, key);
            }
            if let Some(d) = f.destination
                && let Some(n) = self.destinations.get_mut(&d)
            {
                *n = n.saturating_sub(1);
                self.with_destination = self.with_destination.saturating_sub(1);
                if *n == 0 {
                    self.destinations.remove(&d);
                }
            }
        }
    }
}

fn decrement(map: &mut HashMap<DupKey, u32>, key: DupKey) {
    if let Some(n) = map.get_mut(&key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(&key);
        }
    }
}
