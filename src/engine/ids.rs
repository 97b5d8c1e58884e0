//! Id sources: where generated artifact ids come from (rules D1, D2).
//!
//! The library draws no randomness. Standard artifacts get their ids from an [`IdSource`] the
//! caller passes in; [`SeededIds`] is a deterministic one.

/// A source of fresh artifact ids.
///
/// The engine asks for one id per standard addition. An id that is empty or already present in
/// the collection is discarded and another one drawn, at most
/// [`MAX_DRAWS_PER_ITEM`](crate::MAX_DRAWS_PER_ITEM) draws per addition whatever the size of the
/// session; an addition that gets no fresh id fails with 500 (rule A7).
///
/// Any `FnMut() -> String` is an id source:
///
/// ```
/// use restore_delta::IdSource;
/// let mut n = 0;
/// let mut counter = move || { n += 1; format!("artifact-{n}") };
/// assert_eq!(counter.next_id(), "artifact-1");
/// ```
pub trait IdSource {
    /// The next id.
    fn next_id(&mut self) -> String;
}

impl<F: FnMut() -> String> IdSource for F {
    fn next_id(&mut self) -> String {
        self()
    }
}

/// A deterministic id source: RFC 4122 version-4-formatted UUIDs derived from a seed alone.
///
/// The bytes come from SplitMix64, so two sources built from one seed yield the same ids, in the
/// same order, on every platform.
///
/// ```
/// use restore_delta::{IdSource, SeededIds};
/// let mut a = SeededIds::new(7);
/// let mut b = SeededIds::new(7);
/// let id = a.next_id();
/// assert_eq!(id, b.next_id());
/// assert_eq!(id.len(), 36);
/// assert_eq!(&id[14..15], "4"); // version 4
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeededIds {
    state: u64,
}

impl SeededIds {
    /// A source whose ids are a function of `seed` alone.
    pub fn new(seed: u64) -> Self {
        SeededIds { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl IdSource for SeededIds {
    fn next_id(&mut self) -> String {
        let mut bytes = [0u8; 16];
        let (hi, lo) = bytes.split_at_mut(8);
        hi.copy_from_slice(&self.next_u64().to_le_bytes());
        lo.copy_from_slice(&self.next_u64().to_le_bytes());
        // Encoded into a buffer, then copied once: `to_string` grows a `String` through the
        // formatter (three or four allocations an id).
        let mut buf = uuid::Uuid::encode_buffer();
        let text: &str = uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .encode_lower(&mut buf);
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_v4_and_depend_on_the_seed() {
        let mut a = SeededIds::new(1);
        let first = a.next_id();
        let parsed = uuid::Uuid::parse_str(&first).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert_ne!(first, a.next_id(), "a source repeats itself");
        assert_ne!(first, SeededIds::new(2).next_id(), "the seed is ignored");
        assert_eq!(first, SeededIds::new(1).next_id());
    }
}
