//! Where the strings the indexes read sit in a collection's text, in eight bytes each
//! ([`StrRef`]): a span of the artifact's JSON text where the string is spelled without
//! escapes, an index into the collection's few unescaped copies when it is not, or a marker
//! (absent, or the destination type `new` or `inPlace`). A [`Slot`] is one artifact: where its
//! text is in the collection's buffer ([`Texts`]) and its four string references, in 48 bytes.
//! New artifacts come with their [`Spans`], so their strings need not be looked for again.

use std::num::NonZeroUsize;

/// Where a string the rules read sits, in eight bytes: bytes `[at, at + len)` of the artifact's
/// JSON text, where it is spelled without escapes; or, when `at` is [`OWNED`], the unescaped
/// string `owned[len]` of the collection (its JSON spelling has escapes: rare); or, when `at` is
/// [`ABSENT`], nowhere; or, when `at` is [`NEW`] or [`IN_PLACE`], that destination type (the
/// only two an addition writes: a removal then counts it out without reading the text). Eight bytes rather than an enum with a `Box<str>` (24) keep a [`Slot`]
/// within 48 bytes. A string past the first 4 GiB of its artifact is kept as owned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StrRef {
    pub(crate) at: u32,
    pub(crate) len: u32,
}

/// [`StrRef::at`] of a string kept in the collection's `owned` list.
pub(crate) const OWNED: u32 = u32::MAX;
/// [`StrRef::at`] of a string the artifact does not have.
pub(crate) const ABSENT: u32 = u32::MAX - 1;
/// [`StrRef::at`] of the destination type `new`.
pub(crate) const NEW: u32 = u32::MAX - 2;
/// [`StrRef::at`] of the destination type `inPlace`.
pub(crate) const IN_PLACE: u32 = u32::MAX - 3;
/// The least [`StrRef::at`] that is a marker rather than a place in the text.
pub(crate) const MARKERS: u32 = IN_PLACE;

impl StrRef {
    pub(crate) const NONE: StrRef = StrRef { at: ABSENT, len: 0 };

    /// A span, when it can be told apart from the markers.
    #[inline]
    pub(crate) fn span(at: usize, len: usize) -> Option<StrRef> {
        let at = u32::try_from(at).ok().filter(|&at| at < MARKERS)?;
        Some(StrRef {
            at,
            len: u32::try_from(len).ok()?,
        })
    }

    /// `value`, kept in `owned`.
    pub(crate) fn owned(value: &str, owned: &mut Vec<Box<str>>) -> StrRef {
        // More than 2^32 strings spelled with escapes would take over 64 GiB of them; past
        // that, such a string reads as empty rather than aborting.
        let len = u32::try_from(owned.len()).unwrap_or(u32::MAX);
        owned.push(Box::from(value));
        StrRef { at: OWNED, len }
    }

    /// Where `value` is spelled in `text`: where it borrows from `text` (it was read from it),
    /// else right after `marker` (`text` was written by this crate), else owned.
    pub(crate) fn locate(
        text: &str,
        value: &str,
        marker: &str,
        owned: &mut Vec<Box<str>>,
    ) -> StrRef {
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
    #[inline]
    pub(crate) fn at(
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
    #[inline]
    pub(crate) fn offset(self) -> usize {
        if self.at >= MARKERS {
            0
        } else {
            self.at as usize
        }
    }

    /// The destination type `destination`: a marker for `new` and `inPlace`, else where it is.
    #[inline]
    pub(crate) fn destination(
        text: &str,
        destination: &str,
        span: Option<(u32, u32)>,
        owned: &mut Vec<Box<str>>,
    ) -> StrRef {
        match destination {
            "new" => StrRef { at: NEW, len: 0 },
            "inPlace" => StrRef {
                at: IN_PLACE,
                len: 0,
            },
            other => StrRef::at(text, other, span, DESTINATION, owned),
        }
    }

    /// The string, read from `buf` (the artifact's text starts at `base`) or from `owned`;
    /// `None` when absent. Reads only the string's own bytes.
    #[inline]
    pub(crate) fn get<'a>(
        self,
        buf: &'a str,
        base: usize,
        owned: &'a [Box<str>],
    ) -> Option<&'a str> {
        match self.at {
            ABSENT => None,
            OWNED => Some(owned.get(self.len as usize).map_or("", |s| s)),
            NEW => Some("new"),
            IN_PLACE => Some("inPlace"),
            at => {
                let at = base.saturating_add(at as usize);
                let end = at.saturating_add(self.len as usize);
                Some(buf.get(at..end).unwrap_or_default())
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

/// One artifact: its JSON text is `buf[start..start + len]`, and where the strings the indexes
/// compare are. 48 bytes, also as `Option<Slot>` (`len` is never 0: an artifact is an object);
/// it was 112 with `Box<str>`-carrying string references.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) start: usize,
    pub(crate) len: NonZeroUsize,
    pub(crate) id: StrRef,
    pub(crate) restore_point: StrRef,
    pub(crate) search_response_id: StrRef,
    pub(crate) destination: StrRef,
}

impl Slot {
    #[inline]
    pub(crate) fn end(&self) -> usize {
        self.start + self.len.get()
    }
}

/// The collection's text: the artifacts' JSON one after the other, and the strings that are
/// spelled with escapes there, unescaped ([`StrRef`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Texts {
    pub(crate) buf: String,
    pub(crate) owned: Vec<Box<str>>,
}

impl Texts {
    /// The string `r` of the artifact in `slot` ([`StrRef::get`]).
    #[inline]
    pub(crate) fn get(&self, slot: &Slot, r: StrRef) -> Option<&str> {
        r.get(&self.buf, slot.start, &self.owned)
    }
}

pub(crate) const ID: &str = "{\"id\":\"";
pub(crate) const RESTORE_POINT: &str = "\"restorePoint\":{\"id\":\"";
pub(crate) const SEARCH_RESPONSE: &str = "\"searchResponseId\":\"";
pub(crate) const DESTINATION: &str = "\"destinationType\":\"";

#[cfg(test)]
mod tests {
    use super::{IN_PLACE, NEW, StrRef};

    /// The text an artifact's spans below are read against: far shorter than their offsets.
    const TEXT: &str = "{\"id\":\"a\"}";

    /// Reads `r` against [`TEXT`] (no owned strings).
    fn read(r: StrRef) -> Option<&'static str> {
        r.get(TEXT, 0, &[])
    }

    #[test]
    fn the_last_four_offsets_are_markers_and_the_one_below_is_a_span() {
        // The greatest span offset is u32::MAX - 4; the four above it are the markers.
        let last = StrRef::span(u32::MAX as usize - 4, 0);
        assert_eq!(
            last,
            Some(StrRef {
                at: u32::MAX - 4,
                len: 0
            })
        );
        for marker in (u32::MAX - 3)..=u32::MAX {
            assert_eq!(StrRef::span(marker as usize, 0), None, "offset {marker}");
        }
        assert_eq!(StrRef::span(u32::MAX as usize + 1, 0), None);
        assert_eq!(StrRef::span(0, u32::MAX as usize + 1), None);
        // A span past the text reads as empty, never as a destination type.
        assert_eq!(last.and_then(read), Some(""));
    }

    #[test]
    fn spans_anywhere_below_the_markers_read_as_text_not_as_a_destination_type() {
        for at in [0, 7, u32::MAX / 3, u32::MAX / 2, u32::MAX - 5] {
            let span = StrRef::span(at as usize, 1);
            assert_eq!(span.map(|s| s.at), Some(at), "offset {at}");
            let expected = TEXT.get(at as usize..at as usize + 1).unwrap_or_default();
            assert_eq!(span.and_then(read), Some(expected), "offset {at}");
        }
    }

    #[test]
    fn the_destination_markers_read_as_their_types() {
        let mut owned = Vec::new();
        let new = StrRef::destination(TEXT, "new", None, &mut owned);
        let in_place = StrRef::destination(TEXT, "inPlace", None, &mut owned);
        assert_eq!((new.at, in_place.at), (NEW, IN_PLACE));
        assert_eq!((read(new), read(in_place)), (Some("new"), Some("inPlace")));
        assert_eq!((new.offset(), in_place.offset()), (0, 0));
        assert!(owned.is_empty());
    }
}
