//! `Arbitrary` for [`Case`] (feature `arbitrary`): structure-aware fuzzing inputs.

use arbitrary::{Arbitrary, Unstructured};

use super::{Case, Generator, Mix};

/// The knobs read first from a fuzzer's bytes: the mix, the state size (0 to 8 stored
/// artifacts) and the most items (1 to 8). An exhausted input reads the first of each: `mixed`,
/// no artifact, one item.
fn knobs(u: &mut Unstructured<'_>) -> arbitrary::Result<Generator> {
    let mix = *u.choose(&[Mix::Mixed, Mix::Valid, Mix::Hostile])?;
    let artifacts = u.int_in_range(0..=8usize)?;
    let items = u.int_in_range(1..=8usize)?;
    Ok(Generator::new(0).mix(mix).artifacts(artifacts).items(items))
}

/// A case built by the [`Generator`] with its decisions read from the fuzzer's bytes
/// ([`Generator::from_bytes`]): the bytes choose the mix, the sizes, the kind, the family, each
/// item's kind and each failure, never characters of the body, so every input is a case of the
/// generator and a mutated input is a neighbouring case.
///
/// ```
/// use arbitrary::{Arbitrary, Unstructured};
/// use restore_delta::generate::Case;
/// let case = Case::arbitrary_take_rest(Unstructured::new(&[0, 3, 2, 7, 1, 250, 9])).unwrap();
/// assert!(case.apply().is_ok());
/// ```
impl<'a> Arbitrary<'a> for Case {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Case> {
        let generator = knobs(u)?;
        let len = u.arbitrary_len::<u8>()?;
        let decisions = u.bytes(len)?;
        Ok(generator
            .with_rng_of(Generator::from_bytes(decisions))
            .case())
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Case> {
        let generator = knobs(&mut u)?;
        let decisions = u.take_rest();
        Ok(generator
            .with_rng_of(Generator::from_bytes(decisions))
            .case())
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (3, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a collection of cases that sizes itself by [`Case::size_hint`] decodes is pinned:
    /// `Unstructured::arbitrary_len::<Case>` (as a harness's own collection would call it)
    /// divides the byte count it draws by 6, the hint's lower bound (3, the knob bytes) twice
    /// over for want of an upper one. (arbitrary's own `Vec<Case>` reads a continuation byte
    /// per case and never consults the hint.)
    #[test]
    fn a_collection_sized_by_the_hint_reads_six_bytes_a_case() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut u = Unstructured::new(&bytes);
        let n = u.arbitrary_len::<Case>().unwrap();
        // The byte count comes from the end: the last byte, 255, says 255 bytes (of the 255
        // left), of 6 bytes a case.
        assert_eq!(n, 255 / 6);
        let cases: Vec<Case> = (0..n).map(|_| Case::arbitrary(&mut u).unwrap()).collect();
        assert_eq!(cases.len(), 42);
    }
}
