//! The server's seed stream: every operation that draws ids takes the next value.
//!
//! The n-th value is SplitMix64 at position n of the stream that starts from the server's seed
//! (`--seed`), so a value depends on the seed and on how many were drawn before it, nothing
//! else. The store journals that count with every record (and in every snapshot, and after a
//! reset), and a restart continues from it: ids never repeat across restarts, and a server
//! started with the same `--seed` on the same journal and given the same requests draws the
//! same values.

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A position in the stream of a seed.
#[derive(Debug, Clone)]
pub struct Seeds {
    seed: u64,
    drawn: u64,
}

impl Seeds {
    /// The stream that starts from `seed`, nothing drawn.
    pub fn new(seed: u64) -> Seeds {
        Seeds::at(seed, 0)
    }

    /// The stream of `seed` after `drawn` values.
    pub fn at(seed: u64, drawn: u64) -> Seeds {
        Seeds { seed, drawn }
    }

    /// The next value.
    pub fn draw(&mut self) -> u64 {
        self.drawn = self.drawn.wrapping_add(1);
        mix(self.seed.wrapping_add(GOLDEN.wrapping_mul(self.drawn)))
    }

    /// How many values were drawn.
    pub fn drawn(&self) -> u64 {
        self.drawn
    }

    /// Goes on from `drawn` if that is further along (a replayed record's count).
    pub fn skip_to(&mut self, drawn: u64) {
        self.drawn = self.drawn.max(drawn);
    }
}

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_goes_on_from_its_count() {
        let mut whole = Seeds::new(7);
        let first: Vec<u64> = (0..5).map(|_| whole.draw()).collect();
        let mut resumed = Seeds::at(7, 3);
        assert_eq!(resumed.draw(), first[3]);
        assert_eq!(resumed.draw(), first[4]);
        assert_eq!(resumed.drawn(), 5);
        // SplitMix64's published first output for seed 0.
        assert_eq!(Seeds::new(0).draw(), 0xE220_A839_7B1D_CDAF);
        let mut s = Seeds::new(7);
        s.skip_to(2);
        s.skip_to(1);
        assert_eq!(s.draw(), first[2]);
    }
}
