//! Where a generator's decisions come from: a seeded SplitMix64 stream, or a fuzzer's bytes.

/// Where a [`Generator`](super::Generator)'s decisions come from.
#[derive(Clone, Debug)]
pub(crate) enum Rng {
    /// SplitMix64 from a seed, as [`SeededIds`](crate::SeededIds) draws: deterministic on every
    /// platform.
    Seeded(u64),
    /// Read from bytes, as a fuzzer supplies them
    /// ([`Generator::from_bytes`](super::Generator::from_bytes)): each decision reads as few
    /// bytes as its range needs, and every decision is 0 once they run out.
    Bytes {
        /// The bytes.
        data: Vec<u8>,
        /// How many have been read.
        at: usize,
    },
}

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        match self {
            Rng::Seeded(state) => {
                *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = *state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            }
            Rng::Bytes { .. } => self.read(8),
        }
    }

    /// `width` bytes (at most 8), big-endian; missing bytes read as 0.
    pub(super) fn read(&mut self, width: usize) -> u64 {
        let Rng::Bytes { data, at } = self else {
            return 0;
        };
        let mut n = 0u64;
        for _ in 0..width.min(8) {
            let b = data.get(*at).copied().unwrap_or(0);
            *at = at.saturating_add(1);
            n = (n << 8) | u64::from(b);
        }
        n
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let m = match u64::try_from(n) {
            Ok(0) | Err(_) => return 0,
            Ok(m) => m,
        };
        let drawn = match self {
            Rng::Seeded(_) => self.next_u64(),
            Rng::Bytes { .. } if m == 1 => 0,
            // As many bytes as `m - 1` has, as `arbitrary::Unstructured::int_in_range` reads.
            Rng::Bytes { .. } => {
                let bits = u64::BITS - (m - 1).leading_zeros();
                self.read(usize::try_from(bits.div_ceil(8)).unwrap_or(8))
            }
        };
        usize::try_from(drawn % m).unwrap_or(0)
    }

    /// True with probability `percent` / 100.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        match self {
            Rng::Seeded(_) => self.below(100) < percent,
            // Bytes that ran out (zeros) say no: a fuzzer's short input is a plain case.
            Rng::Bytes { .. } => self.below(100) >= 100usize.saturating_sub(percent),
        }
    }

    /// One of `items` (the first when there is a choice of none).
    pub(crate) fn pick<T: Clone>(&mut self, items: &[T], fallback: T) -> T {
        items
            .get(self.below(items.len()))
            .cloned()
            .unwrap_or(fallback)
    }
}
