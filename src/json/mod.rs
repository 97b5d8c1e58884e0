//! Small JSON tools the other modules share: order-preserving object reading and the strict
//! one-pass reader for the state (rules S3, S4), and writers whose output does not depend on
//! serde_json's `preserve_order` feature (rule D1). Request bodies are read by
//! [`crate::json::borrowed`] (rule E2).

pub(crate) mod borrowed;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::io;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// One member of an object read in document order, its value kept as raw JSON text; both
/// borrow from the text (the name unless it is spelled with escapes).
pub(crate) type RawMember<'a> = (Cow<'a, str>, &'a RawValue);

/// Reads a JSON object's members in document order, values unparsed. `Ok(None)` when the text is
/// valid JSON but not an object. A duplicate member name is an error.
pub(crate) fn read_object(text: &str) -> Result<Option<Vec<RawMember<'_>>>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let members = de.deserialize_any(ObjectVisitor)?;
    de.end()?;
    Ok(members)
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Option<Vec<RawMember<'de>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = Names::default();
        let mut out = Vec::new();
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            seen.insert(key.clone())?;
            out.push((key, value));
        }
        Ok(Some(out))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A position in a JSON text, for reading an object or array one value at a time: each value
/// is parsed once, in place, and its text is known (serde_json alone gives one or the other).
///
/// The text is all in memory ([`Cursor::new`]), or read from an [`io::Read`] as the values are
/// needed ([`Cursor::reading`]). Then only the bytes from the value being read on are kept (see
/// [`Cursor::release`]), and a value reads exactly as it would from the whole text (see
/// [`Cursor::value_with`]).
pub(crate) struct Cursor<'a> {
    /// The text, or what is kept of it: `text[pos..]` is still to be read.
    text: Cow<'a, str>,
    pos: usize,
    /// Where `text` starts in the whole text (the bytes before it were released).
    base: usize,
    /// The lines of the bytes released, for the positions of errors.
    released: Lines,
    /// The rest of the text, when it is read as it is needed.
    more: Option<More<'a>>,
}

/// The reader behind a [`Cursor::reading`].
struct More<'a> {
    reader: &'a mut dyn io::Read,
    /// How much to read at a time, at least.
    chunk: usize,
    /// How long the whole text is expected to be, if known (see [`Cursor::remaining`]).
    len_hint: usize,
    /// The first bytes of a character the last read cut off, not yet in the text.
    carry: Vec<u8>,
    /// Nothing more comes: the reader is exhausted or failed, or gave bytes that are not UTF-8.
    done: bool,
    /// Why reading stopped before the end of the text, if it did.
    failure: Option<ReadFailure>,
}

/// Why a text read as it is needed ([`Cursor::reading`]) ended before its end: the reader
/// failed, or gave bytes that are not UTF-8. (The state's reader makes it a
/// [`StateError`](crate::StateError).)
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The reader's error.
    Io(io::Error),
    /// The bytes from `at` in the whole text are not UTF-8: `error_len` of them are invalid,
    /// or (`None`) the text ends inside a character. `at` is on `line`, in `column` (from 1).
    NotUtf8 {
        at: usize,
        error_len: Option<usize>,
        line: usize,
        column: usize,
    },
}

/// A text that is not the JSON expected: what is wrong and where, as a line and a column (in
/// bytes), both from 1, in the whole text. A column of 0 is the start of a line, before any
/// byte of it (serde_json's convention, for a text that ends there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Syntax {
    pub(crate) message: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Where the lines of a text stand after some of its bytes: how many newlines they hold, and
/// where (in the whole text) the last line they begin starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Lines {
    newlines: usize,
    line_start: usize,
}

impl Lines {
    /// These lines followed by `bytes`, which start at `at` in the whole text.
    fn then(mut self, bytes: &[u8], at: usize) -> Lines {
        self.newlines += bytes.iter().filter(|&&b| b == b'\n').count();
        if let Some(i) = bytes.iter().rposition(|&b| b == b'\n') {
            self.line_start = at + i + 1;
        }
        self
    }

    /// The line and column of the byte at `offset`, the lines counted ending before it.
    fn of(self, offset: usize) -> (usize, usize) {
        (
            self.newlines + 1,
            offset.saturating_sub(self.line_start) + 1,
        )
    }
}

/// The line and column (from 1) of the byte at `offset` of `text`.
pub(crate) fn position(text: &[u8], offset: usize) -> (usize, usize) {
    Lines::default()
        .then(text.get(..offset).unwrap_or(text), 0)
        .of(offset)
}

/// How much [`Session::from_reader`](crate::Session::from_reader) reads at a time, at least:
/// 64 KiB. (A literal: a constant factor of the reading cost, so no mutant of it is wanted.)
pub(crate) const READ_CHUNK: usize = 65_536;

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor {
            text: Cow::Borrowed(text),
            pos: 0,
            base: 0,
            released: Lines::default(),
            more: None,
        }
    }

    /// A cursor on the text `reader` gives, read as it is needed, at least `chunk` bytes at a
    /// time; `len_hint` is how long the text is expected to be (0 if unknown).
    pub(crate) fn reading(reader: &'a mut dyn io::Read, chunk: usize, len_hint: usize) -> Self {
        Cursor {
            text: Cow::Owned(String::new()),
            pos: 0,
            base: 0,
            released: Lines::default(),
            more: Some(More {
                reader,
                chunk: chunk.max(1),
                len_hint,
                carry: Vec::new(),
                done: false,
                failure: None,
            }),
        }
    }

    /// Why reading stopped before the end of the text (an I/O error, or bytes that are not
    /// UTF-8), if it did. Past that point the cursor saw the text end.
    pub(crate) fn failure(&mut self) -> Option<ReadFailure> {
        self.more.as_mut()?.failure.take()
    }

    /// The current position in the whole text.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The line and column (from 1) of the byte at `offset` in the whole text: a byte the
    /// cursor still holds, or the end of what it holds.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let held = offset.saturating_sub(self.base).min(self.text.len());
        let bytes = self.text.as_bytes().get(..held).unwrap_or_default();
        self.released.then(bytes, self.base).of(offset)
    }

    /// The line and column in the whole text of serde_json's `line` and `column` in a value
    /// that starts at `start` (a byte the cursor still holds).
    pub(crate) fn position_in(&self, start: usize, line: usize, column: usize) -> (usize, usize) {
        let (first, at) = self.position(start);
        if line <= 1 {
            (first, at - 1 + column)
        } else {
            (first + line - 1, column)
        }
    }

    /// Bytes after the current position: in memory, or, when reading, as many as the expected
    /// length leaves (at least those in memory).
    pub(crate) fn remaining(&self) -> usize {
        let in_memory = self.text.len() - self.pos;
        let expected = self.more.as_ref().map_or(0, |m| {
            m.len_hint
                .saturating_sub(self.base.saturating_add(self.pos))
        });
        in_memory.max(expected)
    }

    /// Skips white space and returns the next byte, if any.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        loop {
            let bytes = self.text.as_bytes();
            while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.pos) {
                self.pos += 1;
            }
            let next = bytes.get(self.pos).copied();
            if next.is_some() || !self.read_more() {
                return next;
            }
        }
    }

    /// Consumes `byte` if it comes next (after white space).
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Consumes `byte`, or says what was expected.
    pub(crate) fn expect(&mut self, byte: u8, what: &str) -> Result<(), Syntax> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// Parses one value at the current position and moves past it.
    pub(crate) fn value<T: de::DeserializeOwned>(&mut self) -> Result<T, Syntax> {
        self.value_with::<Owned<T>, _>(|v, _| v)
    }

    /// Parses one value at the current position, moves past it and hands it to `f` with its
    /// text (white space before it left out); returns what `f` does.
    ///
    /// When reading, the value is parsed from the bytes read so far and parsed again with more
    /// when the outcome may depend on bytes not yet read: the parse reached their end
    /// ([`cut_short`]), or the value ends right at it (a number may go on). Otherwise the
    /// parser never looked past its outcome, so it is the one the whole text gives.
    pub(crate) fn value_with<P: Parse, R>(
        &mut self,
        f: impl for<'t> FnOnce(P::Value<'t>, &'t str) -> R,
    ) -> Result<R, Syntax> {
        self.release();
        loop {
            let more = self.more.as_ref().is_some_and(|m| !m.done);
            let at = self.pos;
            let rest = self.text.get(at..).unwrap_or_default();
            let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<P::Value<'_>>();
            match stream.next() {
                Some(Ok(v)) if !more || stream.byte_offset() < rest.len() => {
                    let len = stream.byte_offset();
                    self.pos += len;
                    let text = rest.get(..len).unwrap_or_default();
                    return Ok(f(v, text.trim_start_matches([' ', '\n', '\r', '\t'])));
                }
                Some(Err(e)) if !more || !cut_short(&e, rest) => {
                    let start = self.base + at;
                    let (line, column) = self.position_in(start, e.line(), e.column());
                    return Err(Syntax {
                        message: format!("{e}, in the value at byte {start}"),
                        line,
                        column,
                    });
                }
                None if !more => return Err(self.error("a value")),
                _ => drop(stream),
            }
            self.read_more();
        }
    }

    /// The whole text, read to its end (or to a [`Cursor::failure`]): nothing is released
    /// before the first value is parsed.
    pub(crate) fn whole(&mut self) -> &str {
        while self.read_more() {}
        &self.text
    }

    /// "expected WHAT at byte N", at the current position.
    pub(crate) fn error(&self, what: &str) -> Syntax {
        let (line, column) = self.position(self.offset());
        Syntax {
            message: format!("expected {what} at byte {}", self.offset()),
            line,
            column,
        }
    }

    /// When reading, forgets the text before the current position once it is at least a chunk
    /// and half of what is kept: it is never looked at again, and what is kept is moved down at
    /// most once per as many bytes read.
    fn release(&mut self) {
        let Some(more) = &self.more else { return };
        if self.pos < more.chunk || self.pos < self.text.len() / 2 {
            return;
        }
        if let Cow::Owned(text) = &mut self.text
            && text.is_char_boundary(self.pos)
        {
            let gone = text.as_bytes().get(..self.pos).unwrap_or_default();
            self.released = self.released.then(gone, self.base);
            #[cfg(test)]
            moved::count(text.len() - self.pos);
            text.drain(..self.pos);
            self.base += self.pos;
            self.pos = 0;
        }
    }

    /// Reads more of the text, at least as much as is kept after the current position (so that
    /// a value read again as it grows costs linear time in all). False when nothing more comes:
    /// the text is all in memory, the reader is exhausted, or it failed (see
    /// [`Cursor::failure`]).
    fn read_more(&mut self) -> bool {
        let released = self.released;
        let base = self.base;
        let Some(more) = self.more.as_mut().filter(|m| !m.done) else {
            return false;
        };
        let Cow::Owned(text) = &mut self.text else {
            more.done = true;
            return false;
        };
        let want = more.chunk.max(text.len() - self.pos);
        let mut chunk = std::mem::take(&mut more.carry);
        let had = chunk.len();
        chunk.resize(had + want, 0);
        let mut filled = had;
        while let Some(buf) = chunk.get_mut(filled..).filter(|b| !b.is_empty()) {
            match more.reader.read(buf) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    more.done = true;
                    more.failure = Some(ReadFailure::Io(e));
                    return false;
                }
            }
        }
        more.done = filled < had + want;
        chunk.truncate(filled);
        let end = if more.done { filled } else { cut(&chunk) };
        // The absolute position of chunk[0]: the carried bytes were not in the text.
        let at = self.base + text.len();
        match std::str::from_utf8(chunk.get(..end).unwrap_or_default()) {
            Ok(s) => text.push_str(s),
            Err(e) => {
                // A sequence cut short at `end` is broken by the lead byte at `end` (never
                // completed: the error is at the same place): judged on every byte read, the
                // error is the one the whole text gives.
                let e = match std::str::from_utf8(&chunk) {
                    Err(whole) => whole,
                    Ok(_) => e,
                };
                let valid = chunk.get(..e.valid_up_to()).unwrap_or_default();
                let (line, column) = released
                    .then(text.as_bytes(), base)
                    .then(valid, at)
                    .of(at + e.valid_up_to());
                more.done = true;
                more.failure = Some(ReadFailure::NotUtf8 {
                    at: at + e.valid_up_to(),
                    error_len: e.error_len(),
                    line,
                    column,
                });
                return false;
            }
        }
        chunk.drain(..end);
        // A large read (a long value read again) is not kept for the next, smaller ones.
        chunk.shrink_to(2 * more.chunk);
        more.carry = chunk;
        end > 0 || !more.done
    }
}

/// Test-only: counts the bytes [`Cursor::release`] moves down (those kept after the position),
/// on this thread, so that a test can bound the cost of letting text go by counting. Compiled
/// into the library's unit tests only.
#[cfg(test)]
mod moved {
    use std::cell::Cell;

    thread_local! {
        static BYTES: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn count(bytes: usize) {
        BYTES.with(|n| n.set(n.get() + bytes));
    }

    /// The bytes moved since the last call.
    pub(super) fn taken() -> usize {
        BYTES.with(|n| n.replace(0))
    }
}

/// Where a read cut the last character of `bytes` off: where it starts when `bytes` end
/// before it does, else `bytes.len()`.
fn cut(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(4) {
        let i = len - back;
        let Some(&b) = bytes.get(i) else { break };
        if b & 0xC0 != 0x80 {
            let needs = match b {
                0xF0.. => 4,
                0xE0.. => 3,
                0xC0.. => 2,
                _ => 1,
            };
            return if back < needs { i } else { len };
        }
    }
    len
}

/// What [`std::str::Utf8Error`] says, at a position in the whole text.
pub(crate) fn not_utf8(at: usize, error_len: Option<usize>) -> String {
    match error_len {
        Some(n) => format!("not UTF-8: invalid utf-8 sequence of {n} bytes from index {at}"),
        None => format!("not UTF-8: incomplete utf-8 byte sequence from index {at}"),
    }
}

/// Whether parsing `rest` may have failed only because the text was cut at its end: the
/// parser ran out of bytes, or stopped within the last few (it reads one byte ahead at most,
/// and a value cut short fails where the bytes end, never before).
fn cut_short(e: &serde_json::Error, rest: &str) -> bool {
    if e.is_eof() {
        return true;
    }
    error_at(e, rest) + 4 >= rest.len()
}

/// Where in `rest` serde_json's error `e` is: its line's start plus its column (serde_json
/// counts lines from 1 and columns in bytes from the start of the line).
fn error_at(e: &serde_json::Error, rest: &str) -> usize {
    line_start(rest, e.line()) + e.column()
}

/// Where line `line` (counted from 1) of `text` starts; the end of `text` if it has fewer.
fn line_start(text: &str, line: usize) -> usize {
    match line {
        0 | 1 => 0,
        n => text
            .match_indices('\n')
            .nth(n - 2)
            .map_or(text.len(), |(i, _)| i + 1),
    }
}

/// A type [`Cursor::value_with`] parses, for text borrowed for any lifetime.
pub(crate) trait Parse {
    /// The value, borrowing from text of lifetime `'t`.
    type Value<'t>: serde::Deserialize<'t>;
}

/// [`Parse`] for a type that borrows nothing.
pub(crate) struct Owned<T>(std::marker::PhantomData<T>);

impl<T: de::DeserializeOwned> Parse for Owned<T> {
    type Value<'t> = T;
}

impl Parse for Str<'_> {
    type Value<'t> = Str<'t>;
}

/// Whether `text` has white space (or control bytes) anywhere, so [`minify_str`] may change it.
/// Checked 32 bytes at a time without early exits, which the compiler vectorises.
pub(crate) fn needs_minify(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut chunks = bytes.chunks_exact(32);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |found, &b| found | (b <= b' ')) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b <= b' ')
}

/// The same JSON text without insignificant white space; tokens are kept byte for byte.
pub(crate) fn minify_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            out.push(c);
        }
    }
    out
}

/// [`minify_str`] for a raw value.
pub(crate) fn minify(raw: Box<RawValue>) -> Box<RawValue> {
    if !needs_minify(raw.get()) {
        return raw;
    }
    // Removing white space between the tokens of valid JSON leaves valid JSON.
    RawValue::from_string(minify_str(raw.get())).unwrap_or(raw)
}

/// A JSON string, borrowed from the text when it has no escapes.
#[derive(Debug)]
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The member names of one object, to refuse a repeated one. The first names are kept inline
/// and compared one by one, so the small objects of a state cost no allocation; the names after
/// them go in an ordered set, so an object of n members costs O(n log n), not O(n²).
#[derive(Default)]
pub(crate) struct Names<'de> {
    count: usize,
    inline: [&'de str; 12],
    more: BTreeSet<Cow<'de, str>>,
}

impl<'de> Names<'de> {
    /// Records a name; an error if the object already had it.
    pub(crate) fn insert<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        let inline = self.inline.get(..self.count).unwrap_or_default();
        if inline.contains(&name.as_ref()) || self.more.contains(&name) {
            return Err(E::custom(format_args!("duplicate member name {name:?}")));
        }
        match (name, self.inline.get_mut(self.count)) {
            (Cow::Borrowed(n), Some(free)) => {
                *free = n;
                self.count += 1;
            }
            (name, _) => {
                self.more.insert(name);
            }
        }
        Ok(())
    }
}

/// Checks one JSON value the way the rules read it: no object repeats a member name and every
/// string is Unicode (no lone surrogate escape). serde_json's raw capture checks neither, so a
/// state that passed it could still be read two ways (rule S3).
pub(crate) fn check_strict(text: &str) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    Strict.deserialize(&mut de)?;
    de.end()
}

/// The seed behind [`check_strict`], for values nested in something else being read.
#[derive(Clone, Copy)]
pub(crate) struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Strict)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut names = Names::default();
        while let Some(Str(name)) = map.next_key::<Str<'de>>()? {
            names.insert(name)?;
            map.next_value_seed(Strict)?;
        }
        Ok(())
    }
}

/// Whether any byte of `s` must be escaped in a JSON string. Checks 16 bytes at a time without
/// branching inside a block, which the compiler turns into vector compares; a string of 16
/// bytes or more ends with a block that overlaps the one before (no byte-by-byte tail).
fn needs_escape(s: &[u8]) -> bool {
    let block = |b: &[u8]| b.iter().fold(false, |m, &b| m | is_special(b));
    if s.len() < 16 {
        return s.iter().any(|&b| is_special(b));
    }
    s.chunks_exact(16).any(block) || s.get(s.len() - 16..).is_some_and(block)
}

/// Whether a JSON string must escape `b`: a control character, `"` or `\`. The three tests
/// are joined without branches (`|`), so that [`needs_escape`]'s blocks become vector compares.
#[inline]
fn is_special(b: u8) -> bool {
    (b < 0x20) | (b == b'"') | (b == b'\\')
}

/// Appends `s` as a JSON string literal.
pub(crate) fn write_str(out: &mut String, s: &str) {
    write_str_verbatim(out, s);
}

/// [`write_str`], saying whether `s` was written as it is, with no escape (so that its
/// content is `s`'s bytes, right after the opening quote).
pub(crate) fn write_str_verbatim(out: &mut String, s: &str) -> bool {
    out.push('"');
    // Most strings (ids, names) need no escape: one pass to check, one copy.
    if !needs_escape(s.as_bytes()) {
        out.push_str(s);
        out.push('"');
        return true;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        match escape {
            Some(e) => out.push_str(e),
            None => {
                out.push_str("\\u00");
                for nibble in [b >> 4, b & 0xf] {
                    out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                }
            }
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
    false
}

/// Appends `v` as compact JSON with object members sorted by name, so the bytes are the same
/// whether or not serde_json's `preserve_order` feature is on in the user's build.
pub(crate) fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_value(out, v);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::String(s) => write_str(out, s),
        // Scalars have one rendering whatever the features.
        other => out.push_str(&other.to_string()),
    }
}

/// Wraps text this crate wrote itself as a raw JSON value.
///
/// Validation cannot fail on text produced by the writers above; should it ever, the value
/// degrades to `null` rather than panicking.
pub(crate) fn to_raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_escape_agrees_with_a_byte_by_byte_check() {
        let naive = |s: &[u8]| s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        // Every byte value at every place of strings of 1 to 39 bytes, the rest plain or
        // next to the boundary values.
        for len in 1..40 {
            for at in 0..len {
                for b in 0..=255u8 {
                    for fill in [b'a', 0x1F, 0x20, 0x21, 0x5B, 0x5D, 0x7F, 0x80, 0xFF] {
                        let mut s = vec![fill; len];
                        s[at] = b;
                        assert_eq!(needs_escape(&s), naive(&s), "{s:?}");
                    }
                }
            }
        }
        assert!(!needs_escape(b""));
    }

    #[test]
    fn strict_check_refuses_duplicates_past_the_inline_names() {
        let members: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let ok = format!("{{\"a\":{{{}}}}}", members.join(","));
        assert!(check_strict(&ok).is_ok());
        for dup in ["\"k30\":0", "\"k3\":0", "\"\\u006b30\":0"] {
            let text = format!("{{\"a\":{{{},{dup}}}}}", members.join(","));
            let err = check_strict(&text).unwrap_err().to_string();
            assert!(err.contains("duplicate member name"), "{dup}: {err}");
        }
    }

    #[test]
    fn strict_check_refuses_nested_duplicates_and_lone_surrogates() {
        assert!(check_strict(r#"{"a":[{"b":1,"c":{"d":2}}],"e":"\u00e9\ud83d\ude00"}"#).is_ok());
        assert!(check_strict(r#"{"a":[{"b":1,"b":2}]}"#).is_err());
        assert!(check_strict(r#"{"a":{"x":1,"\u0078":2}}"#).is_err());
        assert!(check_strict(r#"["\ud83e"]"#).is_err());
        assert!(check_strict(r#"{"\udc00":1}"#).is_err());
    }

    #[test]
    fn minify_keeps_strings() {
        let raw = RawValue::from_string("{ \"a b\" : [ 1 , \"x \\\" y\" ] }\n".into()).unwrap();
        assert_eq!(minify(raw).get(), r#"{"a b":[1,"x \" y"]}"#);
    }

    #[test]
    fn writers_escape_and_sort() {
        let mut s = String::new();
        write_value(
            &mut s,
            &serde_json::json!({"b": "q\"\u{1}\n", "a": [1, null, 2.5]}),
        );
        assert_eq!(s, r#"{"a":[1,null,2.5],"b":"q\"\u0001\n"}"#);
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["b"], "q\"\u{1}\n");
    }

    #[test]
    fn write_str_escapes_as_serde_json_does() {
        // Every ASCII byte, alone and between plain text, and a few multi-byte characters.
        let mut texts: Vec<String> = (0u8..0x80)
            .flat_map(|b| {
                let c = char::from(b);
                [c.to_string(), format!("ab{c}cd{c}")]
            })
            .collect();
        texts.push("\u{e9}\u{1F600}\u{7f}\u{80}".to_owned());
        texts.push("\r\t\u{8}\u{c}\n\u{0}\u{1f}\"\\".repeat(3));
        for text in &texts {
            let mut out = String::new();
            write_str(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn read_object_keeps_order_and_refuses_duplicates() {
        let m = read_object(r#"{"z":1,"a":{"k":2}}"#).unwrap().unwrap();
        assert_eq!(m[0].0, "z");
        assert_eq!(m[1].1.get(), r#"{"k":2}"#);
        assert!(read_object(r#"{"z":1,"z":1}"#).is_err());
        assert!(read_object("[1]").unwrap().is_none());
    }

    /// Bytes the cursor holds: the text kept and the carried bytes of a cut character. (All
    /// the reader gave is `base` and these.)
    fn held(cur: &Cursor<'_>) -> usize {
        cur.text.len() + cur.more.as_ref().map_or(0, |m| m.carry.len())
    }

    /// Reading as needed keeps memory to about a chunk and the value being read, and asks the
    /// reader for little more than it has parsed: an array of 20,000 strings (some with
    /// characters of 2, 3 and 4 bytes) read 64 bytes at a time never holds more than 8
    /// chunks, nor reads more than 8 chunks ahead.
    #[test]
    fn reading_keeps_about_a_chunk_and_reads_little_ahead() {
        const CHUNK: usize = 64;
        let values: Vec<String> = (0..20_000)
            .map(|i| match i % 4 {
                0 => format!("v{i}"),
                1 => format!("é{i}€"),
                2 => format!("😀{i}😀"),
                _ => format!("plain text {i}"),
            })
            .collect();
        let text = serde_json::to_string(&values).unwrap();
        let mut reader = text.as_bytes();
        let mut cur = Cursor::reading(&mut reader, CHUNK, text.len());
        cur.expect(b'[', "`[`").unwrap();
        let mut most_held = 0;
        let mut most_ahead = 0;
        for (i, want) in values.iter().enumerate() {
            if i > 0 {
                cur.expect(b',', "`,`").unwrap();
            }
            let got: String = cur.value().unwrap();
            assert_eq!(&got, want);
            most_held = most_held.max(held(&cur));
            let given = cur.base + held(&cur);
            most_ahead = most_ahead.max(given - cur.offset());
        }
        cur.expect(b']', "`]`").unwrap();
        assert_eq!(cur.peek(), None);
        assert!(cur.failure().is_none());
        assert!(most_held <= 8 * CHUNK, "held {most_held} bytes");
        assert!(most_ahead <= 8 * CHUNK, "read {most_ahead} bytes ahead");
    }

    /// After a value many chunks long, reading lets the text go again and moves each byte it
    /// keeps down a few times only: an array of a 100,000-byte string followed by 20,000 short
    /// ones, read 64 bytes at a time, holds at most 8 chunks once the long value is well
    /// behind, and the bytes moved down total at most the text's length. (Letting go on a
    /// chunk alone moves the long read-ahead down once per chunk, about 80 MB here; letting go
    /// only before the first chunk is passed holds the whole text.)
    #[test]
    fn reading_lets_go_after_a_long_value_and_moves_little() {
        const CHUNK: usize = 64;
        let long = "x".repeat(100_000);
        let mut values = vec![long];
        values.extend((0..20_000).map(|i| format!("v{i}")));
        let text = serde_json::to_string(&values).unwrap();
        let mut reader = text.as_bytes();
        let mut cur = Cursor::reading(&mut reader, CHUNK, text.len());
        moved::taken();
        cur.expect(b'[', "`[`").unwrap();
        let mut most_held_late = 0;
        for (i, want) in values.iter().enumerate() {
            if i > 0 {
                cur.expect(b',', "`,`").unwrap();
            }
            let got: String = cur.value().unwrap();
            assert_eq!(&got, want);
            if i > 10_000 {
                most_held_late = most_held_late.max(held(&cur));
            }
        }
        cur.expect(b']', "`]`").unwrap();
        assert_eq!(cur.peek(), None);
        let moved = moved::taken();
        assert!(most_held_late <= 8 * CHUNK, "held {most_held_late} bytes");
        assert!(
            moved <= text.len(),
            "moved {moved} bytes for a text of {}",
            text.len()
        );
    }

    /// An error early in a long text is found without reading the rest.
    #[test]
    fn an_early_error_is_found_without_reading_on() {
        let mut text = String::from("[1,2,tru,");
        text.push_str(&"4,".repeat(100_000));
        text.push_str("5]");
        let mut reader = text.as_bytes();
        let mut cur = Cursor::reading(&mut reader, 16, text.len());
        cur.expect(b'[', "`[`").unwrap();
        let mut values = Vec::new();
        let error = loop {
            match cur.value::<u32>() {
                Ok(v) => values.push(v),
                Err(e) => break e,
            }
            cur.expect(b',', "`,`").unwrap();
        };
        assert_eq!(values, [1, 2]);
        assert!(error.message.contains("at byte 5"), "{error:?}");
        let given = cur.base + held(&cur);
        assert!(given <= 8 * 16, "{given} bytes read for an error at byte 5");
    }
}
