//! The journal's bytes: the file header, the frame around each record, and reading them back,
//! telling a torn tail from damage.
//!
//! ## Format 2 (`RDJ2`, written since 0.2)
//! The file starts with the 8 bytes `RDJ2\n\0\0\0`. Then frames, each:
//!
//! | bytes | what |
//! |---|---|
//! | 4 | the marker `FF 52 44 52` (`\xFFRDR`) |
//! | 8 | the payload's length, u64 little-endian, never 0 |
//! | 4 | crc32 of the marker and the length (the header checksum) |
//! | 4 | crc32 of the payload |
//! | length | the payload: one line of JSON (the record), `\n`, the request body |
//!
//! The length is checked by its own checksum before it is believed, so a damaged length cannot
//! send the reader past the records after it. The marker starts with `0xFF`, a byte no JSON
//! text holds (it is never valid UTF-8), and every payload is JSON (the record line, and a body
//! the engine parsed as JSON before anything was stored), so a marker is found only where a
//! frame starts or in a frame's binary header: after damage, the reader looks for the next
//! marker whose frame checks out, and finds the records after the damage.
//!
//! There is no bound on a record's size: the server can read every record it can write.
//!
//! ## Format 1 (`RDJ1`, written by 0.1)
//! `length: u32 LE` · `crc32(payload): u32 LE` · `payload`; no marker. Read so that a journal
//! of 0.1 is taken over (and rewritten in format 2 by the store), never refused.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use super::fs::FsFile;

/// The first bytes of a format-2 journal.
pub const MAGIC: &[u8; 8] = b"RDJ2\n\0\0\0";
/// The first bytes of a format-1 journal.
pub const MAGIC_V1: &[u8; 8] = b"RDJ1\n\0\0\0";
/// Where a frame starts.
pub const MARK: [u8; 4] = [0xFF, b'R', b'D', b'R'];
/// The bytes before a format-2 payload.
pub const HEADER: u64 = 20;
/// A format-1 record larger than this was taken as damage by 0.1, and still is when reading
/// format 1.
const MAX_V1_RECORD: u64 = 256 * 1024 * 1024;

/// Which format a journal is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `RDJ1` (0.1).
    V1,
    /// `RDJ2`.
    V2,
}

/// Frames a payload in format 2.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(payload.len() + HEADER as usize);
    framed.extend_from_slice(&header(payload.len() as u64, crc32fast::hash(payload)));
    framed.extend_from_slice(payload);
    framed
}

/// A format-2 frame header for a payload of `length` bytes with checksum `crc`.
pub fn header(length: u64, crc: u32) -> [u8; HEADER as usize] {
    let mut out = [0u8; HEADER as usize];
    let (mark, rest) = out.split_at_mut(4);
    mark.copy_from_slice(&MARK);
    let (len, rest) = rest.split_at_mut(8);
    len.copy_from_slice(&length.to_le_bytes());
    let (hcrc, pcrc) = rest.split_at_mut(4);
    hcrc.copy_from_slice(&header_crc(length).to_le_bytes());
    pcrc.copy_from_slice(&crc.to_le_bytes());
    out
}

fn header_crc(length: u64) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&MARK);
    h.update(&length.to_le_bytes());
    h.finalize()
}

/// Reads a format-2 frame header: the payload's length and checksum, or why it is no header.
pub fn parse_header(bytes: &[u8; HEADER as usize]) -> Result<(u64, u32), &'static str> {
    let [
        m0,
        m1,
        m2,
        m3,
        l0,
        l1,
        l2,
        l3,
        l4,
        l5,
        l6,
        l7,
        h0,
        h1,
        h2,
        h3,
        p0,
        p1,
        p2,
        p3,
    ] = *bytes;
    if [m0, m1, m2, m3] != MARK {
        return Err("no frame marker");
    }
    let length = u64::from_le_bytes([l0, l1, l2, l3, l4, l5, l6, l7]);
    if u32::from_le_bytes([h0, h1, h2, h3]) != header_crc(length) {
        return Err("the frame header's checksum fails");
    }
    if length == 0 {
        return Err("a frame of length 0");
    }
    Ok((length, u32::from_le_bytes([p0, p1, p2, p3])))
}

/// How the readable part of a journal ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// On a whole record (or the header).
    Clean,
    /// Bytes after the last whole record that hold no record: a write a crash cut short (or
    /// the zeros a file system leaves when it extended the file before writing). Never
    /// acknowledged; cut on start.
    Torn {
        /// Where they start.
        at: u64,
        /// How many.
        bytes: u64,
        /// Whether they are all zero.
        zeros: bool,
    },
    /// Bytes that are not a record, with whole records after them: damage, not a torn write.
    Damaged {
        /// Where the unreadable bytes start.
        at: u64,
        /// The number of the first record that cannot be read (from 0).
        index: usize,
        /// Why it cannot be read.
        reason: String,
        /// Where the next whole record starts (format 2), if known.
        next: Option<u64>,
        /// Whole records from there to the end (format 2), if known.
        after: Option<usize>,
    },
}

/// One step of reading a journal.
#[derive(Debug)]
pub enum Next {
    /// A whole record's payload, and where its frame starts.
    Frame {
        /// The frame's offset in the file.
        offset: u64,
        /// The payload.
        payload: Vec<u8>,
    },
    /// No more records.
    End(Ending),
}

/// Reads a journal's frames in order, after its header.
pub struct Reader {
    file: BufReader<Box<dyn FsFile>>,
    len: u64,
    pos: u64,
    index: usize,
    format: Format,
    done: bool,
}

/// What the start of a file says it is.
#[derive(Debug)]
pub enum Opening {
    /// A journal of this format; the reader is at its first frame.
    Journal(Reader),
    /// Not a journal (its first 8 bytes are something else).
    Foreign,
}

impl Reader {
    /// Starts reading `file`, `len` bytes long (at least the 8 of the header).
    pub fn start(mut file: Box<dyn FsFile>, len: u64) -> io::Result<Opening> {
        file.seek(SeekFrom::Start(0))?;
        let mut file = BufReader::with_capacity(1 << 20, file);
        let mut magic = [0u8; 8];
        if read_full(&mut file, &mut magic)? != 8 {
            return Ok(Opening::Foreign);
        }
        let format = if &magic == MAGIC {
            Format::V2
        } else if &magic == MAGIC_V1 {
            Format::V1
        } else {
            return Ok(Opening::Foreign);
        };
        Ok(Opening::Journal(Reader {
            file,
            len,
            pos: MAGIC.len() as u64,
            index: 0,
            format,
            done: false,
        }))
    }

    /// The journal's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The next record, or how the journal ends.
    pub fn next_frame(&mut self) -> io::Result<Next> {
        if self.done || self.pos == self.len {
            self.done = true;
            return Ok(Next::End(Ending::Clean));
        }
        let read = match self.format {
            Format::V2 => self.read_v2()?,
            Format::V1 => self.read_v1()?,
        };
        match read {
            Ok(payload) => {
                let offset = self.pos;
                let framed = match self.format {
                    Format::V2 => HEADER,
                    Format::V1 => 8,
                };
                self.pos += framed + payload.len() as u64;
                self.index += 1;
                Ok(Next::Frame { offset, payload })
            }
            Err(bad) => {
                self.done = true;
                let ending = self.classify(bad)?;
                Ok(Next::End(ending))
            }
        }
    }

    /// Declares the record just read unreadable (its checksum held, its content did not):
    /// how the journal ends from there, counting the whole records after it.
    pub fn unreadable(&mut self, offset: u64, reason: String) -> io::Result<Ending> {
        self.done = true;
        self.index = self.index.saturating_sub(1);
        self.pos = offset;
        let (next, after) = match self.format {
            Format::V2 => {
                let next = self.find_frame(offset + 1)?;
                let after = match next {
                    Some(at) => Some(self.count_frames(at)?),
                    None => Some(0),
                };
                (next, after)
            }
            Format::V1 => (None, None),
        };
        Ok(Ending::Damaged {
            at: offset,
            index: self.index,
            reason,
            next,
            after,
        })
    }

    /// Gives the file back.
    pub fn into_inner(self) -> Box<dyn FsFile> {
        self.file.into_inner()
    }

    fn read_v2(&mut self) -> io::Result<Result<Vec<u8>, Bad>> {
        let remaining = self.len - self.pos;
        if remaining < HEADER {
            return Ok(Err(Bad::Short("a frame header cut short")));
        }
        let mut head = [0u8; HEADER as usize];
        read_exact_at(&mut self.file, &mut head)?;
        let (length, crc) = match parse_header(&head) {
            Ok(h) => h,
            Err(why) => return Ok(Err(Bad::Broken(why))),
        };
        if length > remaining - HEADER {
            return Ok(Err(Bad::Short("a payload cut short")));
        }
        let size = usize::try_from(length).map_err(io::Error::other)?;
        let mut payload = vec![0u8; size];
        read_exact_at(&mut self.file, &mut payload)?;
        if crc32fast::hash(&payload) != crc {
            return Ok(Err(Bad::Broken("the payload's checksum fails")));
        }
        Ok(Ok(payload))
    }

    fn read_v1(&mut self) -> io::Result<Result<Vec<u8>, Bad>> {
        let remaining = self.len - self.pos;
        if remaining < 8 {
            return Ok(Err(Bad::Short("a frame header cut short")));
        }
        let mut head = [0u8; 8];
        read_exact_at(&mut self.file, &mut head)?;
        let [l0, l1, l2, l3, c0, c1, c2, c3] = head;
        let length = u64::from(u32::from_le_bytes([l0, l1, l2, l3]));
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        if length > MAX_V1_RECORD {
            return Ok(Err(Bad::Broken("a format-1 length over 256 MiB")));
        }
        if length > remaining - 8 {
            return Ok(Err(Bad::Short("a payload cut short")));
        }
        let mut payload = vec![0u8; length as usize];
        read_exact_at(&mut self.file, &mut payload)?;
        if crc32fast::hash(&payload) != crc {
            // A last frame that ends exactly at the end of the file: a write cut short after
            // the file grew (format 1 cannot tell it from damage; 0.1 cut it too).
            if length == remaining - 8 {
                return Ok(Err(Bad::Short("the last payload's checksum fails")));
            }
            return Ok(Err(Bad::Broken("the payload's checksum fails")));
        }
        Ok(Ok(payload))
    }

    /// What the bytes from `self.pos` on are, given the first frame there is bad.
    fn classify(&mut self, bad: Bad) -> io::Result<Ending> {
        let at = self.pos;
        let bytes = self.len - at;
        let torn = |zeros| Ending::Torn { at, bytes, zeros };
        let zeros = self.all_zero(at)?;
        match self.format {
            Format::V2 => match self.find_frame(at + 1)? {
                None => Ok(torn(zeros)),
                Some(next) => {
                    let after = self.count_frames(next)?;
                    Ok(Ending::Damaged {
                        at,
                        index: self.index,
                        reason: bad.why().to_owned(),
                        next: Some(next),
                        after: Some(after),
                    })
                }
            },
            Format::V1 => match bad {
                _ if zeros => Ok(torn(true)),
                Bad::Short(_) => Ok(torn(false)),
                Bad::Broken(why) => Ok(Ending::Damaged {
                    at,
                    index: self.index,
                    reason: why.to_owned(),
                    next: None,
                    after: None,
                }),
            },
        }
    }

    /// Whether every byte from `at` to the end is zero.
    fn all_zero(&mut self, at: u64) -> io::Result<bool> {
        self.file.seek(SeekFrom::Start(at))?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = read_full(&mut self.file, &mut buf)?;
            if buf.get(..n).is_some_and(|b| b.iter().any(|&x| x != 0)) {
                return Ok(false);
            }
            if n < buf.len() {
                return Ok(true);
            }
        }
    }

    /// The offset of the first whole format-2 frame at or after `from`, if any.
    pub fn find_frame(&mut self, from: u64) -> io::Result<Option<u64>> {
        let mut chunk_at = from;
        let mut buf = vec![0u8; 1 << 16];
        while chunk_at < self.len {
            self.file.seek(SeekFrom::Start(chunk_at))?;
            let n = read_full(&mut self.file, &mut buf)?;
            if n == 0 {
                break;
            }
            let candidates: Vec<u64> = buf
                .get(..n)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == MARK[0])
                .map(|(i, _)| chunk_at + i as u64)
                .collect();
            for at in candidates {
                if self.frame_at(at)?.is_some() {
                    return Ok(Some(at));
                }
            }
            chunk_at += n as u64;
        }
        Ok(None)
    }

    /// How many whole frames follow one another from `at`, and after any damage between them.
    fn count_frames(&mut self, mut at: u64) -> io::Result<usize> {
        let mut count = 0;
        loop {
            match self.frame_at(at)? {
                Some(end) => {
                    count += 1;
                    at = end;
                }
                None => match self.find_frame(at + 1)? {
                    Some(next) => at = next,
                    None => return Ok(count),
                },
            }
            if at >= self.len {
                return Ok(count);
            }
        }
    }

    /// Where the whole format-2 frame starting at `at` ends, or `None` if there is none there.
    /// Reads the payload in pieces, however long it says it is.
    fn frame_at(&mut self, at: u64) -> io::Result<Option<u64>> {
        if self.len.saturating_sub(at) < HEADER {
            return Ok(None);
        }
        self.file.seek(SeekFrom::Start(at))?;
        let mut head = [0u8; HEADER as usize];
        read_exact_at(&mut self.file, &mut head)?;
        let Ok((length, crc)) = parse_header(&head) else {
            return Ok(None);
        };
        if length > self.len - at - HEADER {
            return Ok(None);
        }
        let mut hasher = crc32fast::Hasher::new();
        let mut left = length;
        let mut buf = vec![0u8; 1 << 16];
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let piece = buf.get_mut(..want).unwrap_or_default();
            read_exact_at(&mut self.file, piece)?;
            hasher.update(piece);
            left -= want as u64;
        }
        Ok((hasher.finalize() == crc).then_some(at + HEADER + length))
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("len", &self.len)
            .field("pos", &self.pos)
            .field("index", &self.index)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Why the frame at the reader's position is not a whole record.
#[derive(Debug, Clone, Copy)]
enum Bad {
    /// It runs past the end of the file.
    Short(&'static str),
    /// Its bytes are wrong.
    Broken(&'static str),
}

impl Bad {
    fn why(self) -> &'static str {
        match self {
            Bad::Short(why) | Bad::Broken(why) => why,
        }
    }
}

/// Reads exactly `buf.len()` bytes (the caller checked the file holds them).
fn read_exact_at<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<()> {
    if read_full(r, buf)? == buf.len() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the journal shrank while it was read",
        ))
    }
}

/// Reads until `buf` is full or the end of the input; returns how much was read.
pub fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..) {
        if rest.is_empty() {
            break;
        }
        match r.read(rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fs::Fs;
    use crate::journal::sim::SimFs;
    use std::io::Write;
    use std::path::Path;

    fn reader_of(bytes: &[u8]) -> Reader {
        let fs = SimFs::new();
        fs.put(Path::new("/j"), bytes);
        let file = fs.open_read(Path::new("/j")).unwrap();
        let len = file.size().unwrap();
        match Reader::start(file, len).unwrap() {
            Opening::Journal(r) => r,
            Opening::Foreign => panic!("not a journal"),
        }
    }

    fn frames(reader: &mut Reader) -> (Vec<Vec<u8>>, Ending) {
        let mut out = Vec::new();
        loop {
            match reader.next_frame().unwrap() {
                Next::Frame { payload, .. } => out.push(payload),
                Next::End(e) => return (out, e),
            }
        }
    }

    #[test]
    fn lengths_past_four_gib_are_headers_like_any_other() {
        // What 0.1 cast `as u32` (and bounded at 256 MiB) is a length like any other here.
        for length in [1u64, 255, 1 << 32, (1 << 32) + 7, 5 * (1 << 30), u64::MAX] {
            let h = header(length, 0xDEAD_BEEF);
            assert_eq!(parse_header(&h), Ok((length, 0xDEAD_BEEF)));
        }
        // The checksum covers the length: a damaged length is no header.
        let mut h = header(1 << 32, 1);
        h[8] ^= 1;
        assert_eq!(parse_header(&h), Err("the frame header's checksum fails"));
        let zero = header(0, 0);
        assert_eq!(parse_header(&zero), Err("a frame of length 0"));
        let mut no_mark = header(3, 0);
        no_mark[0] = b'{';
        assert_eq!(parse_header(&no_mark), Err("no frame marker"));
    }

    #[test]
    fn a_marker_never_occurs_in_json_text() {
        // The marker's first byte is never valid UTF-8, and every payload is JSON text.
        assert!((0xF8..=0xFF).contains(&MARK[0]));
        assert!(serde_json::from_slice::<serde_json::Value>(b"\"\xFFRDR\"").is_err());
    }

    #[test]
    fn a_large_record_reads_back_whole() {
        let payload = vec![b'x'; 5 << 20];
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&encode(b"a"));
        bytes.extend_from_slice(&encode(&payload));
        bytes.extend_from_slice(&encode(b"b"));
        let (read, end) = frames(&mut reader_of(&bytes));
        assert_eq!(read, vec![b"a".to_vec(), payload, b"b".to_vec()]);
        assert_eq!(end, Ending::Clean);
    }

    #[test]
    fn damage_is_told_from_a_torn_tail_and_the_records_after_it_are_counted() {
        let mut bytes = MAGIC.to_vec();
        let mut starts = Vec::new();
        for n in 0..6u8 {
            starts.push(bytes.len() as u64);
            bytes.extend_from_slice(&encode(&[b'0' + n; 30]));
        }
        // A flipped payload byte in record 2, four records after it.
        let mut damaged = bytes.clone();
        damaged[starts[2] as usize + 25] ^= 4;
        let (read, end) = frames(&mut reader_of(&damaged));
        assert_eq!(read.len(), 2);
        assert_eq!(
            end,
            Ending::Damaged {
                at: starts[2],
                index: 2,
                reason: "the payload's checksum fails".into(),
                next: Some(starts[3]),
                after: Some(3),
            }
        );
        // The same damage with a frame cut short at the end (its header whole, its payload
        // not): the whole records between are counted, the cut one is not, and nothing is read
        // past the end of the file.
        let mut cut_after = damaged.clone();
        cut_after.extend_from_slice(&encode(&[b'x'; 40])[..HEADER as usize + 3]);
        let (read, end) = frames(&mut reader_of(&cut_after));
        assert_eq!(read.len(), 2);
        assert!(
            matches!(end, Ending::Damaged { index: 2, next: Some(n), after: Some(3), .. } if n == starts[3]),
            "{end:?}"
        );
        // A flipped length: the records after it are still found.
        let mut damaged = bytes.clone();
        damaged[starts[4] as usize + 6] ^= 0x40;
        let (read, end) = frames(&mut reader_of(&damaged));
        assert_eq!(read.len(), 4);
        assert!(
            matches!(end, Ending::Damaged { index: 4, next: Some(n), after: Some(1), .. } if n == starts[5]),
            "{end:?}"
        );
        // The last record damaged, nothing after: a torn tail.
        let mut torn = bytes.clone();
        let last = torn.len() - 1;
        torn[last] ^= 1;
        let (read, end) = frames(&mut reader_of(&torn));
        assert_eq!(read.len(), 5);
        assert_eq!(
            end,
            Ending::Torn {
                at: starts[5],
                bytes: bytes.len() as u64 - starts[5],
                zeros: false
            }
        );
        // Zeros, and half a frame.
        for (tail, zeros) in [
            (vec![0u8; 8], true),
            (encode(b"half")[..10].to_vec(), false),
        ] {
            let mut longer = bytes.clone();
            longer.extend_from_slice(&tail);
            let (read, end) = frames(&mut reader_of(&longer));
            assert_eq!(read.len(), 6);
            assert_eq!(
                end,
                Ending::Torn {
                    at: bytes.len() as u64,
                    bytes: tail.len() as u64,
                    zeros
                }
            );
        }
        // Damage in the middle of zeros is still a tail: nothing whole after it.
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0, 0, 0xFF, b'R', b'D', b'R', 0, 0]);
        let (_, end) = frames(&mut reader_of(&longer));
        assert!(matches!(end, Ending::Torn { zeros: false, .. }), "{end:?}");
    }

    #[test]
    fn format_1_is_read_with_its_own_frames() {
        let mut bytes = MAGIC_V1.to_vec();
        for payload in [&b"one"[..], b"two"] {
            bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            bytes.extend_from_slice(payload);
        }
        let mut reader = reader_of(&bytes);
        assert_eq!(reader.format(), Format::V1);
        let (read, end) = frames(&mut reader);
        assert_eq!(read, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(end, Ending::Clean);
        // A record larger than a mebibyte (0.1 wrote up to 256 MiB) is a record, not damage.
        let large = vec![b'x'; 3 << 20];
        let mut with_large = bytes.clone();
        with_large.extend_from_slice(&(large.len() as u32).to_le_bytes());
        with_large.extend_from_slice(&crc32fast::hash(&large).to_le_bytes());
        with_large.extend_from_slice(&large);
        let (read, end) = frames(&mut reader_of(&with_large));
        assert_eq!(read.len(), 3);
        assert_eq!(read[2].len(), large.len());
        assert_eq!(end, Ending::Clean);
        // Fewer bytes than a format-1 header after the last whole record: a torn tail.
        let mut stray = bytes.clone();
        stray.extend_from_slice(&[7, 0, 0]);
        let (read, end) = frames(&mut reader_of(&stray));
        assert_eq!(read.len(), 2);
        assert_eq!(
            end,
            Ending::Torn {
                at: bytes.len() as u64,
                bytes: 3,
                zeros: false
            }
        );
        // A torn last frame is a tail there too.
        let mut cut = bytes.clone();
        cut.truncate(cut.len() - 1);
        let (read, end) = frames(&mut reader_of(&cut));
        assert_eq!(read.len(), 1);
        assert!(matches!(end, Ending::Torn { .. }), "{end:?}");
    }

    /// Format 1 has no marker to resynchronise on: a bad last frame is a torn tail, a bad
    /// frame with bytes after it is damage (0.1 cut both; refusing keeps what follows), zeros
    /// are a tail.
    #[test]
    fn format_1_damage_is_told_from_a_torn_tail() {
        let frame = |payload: &[u8]| {
            let mut f = (payload.len() as u32).to_le_bytes().to_vec();
            f.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            f.extend_from_slice(payload);
            f
        };
        let mut bytes = MAGIC_V1.to_vec();
        let first = bytes.len() as u64;
        bytes.extend_from_slice(&frame(b"one"));
        let second = bytes.len() as u64;
        bytes.extend_from_slice(&frame(b"two"));
        // The last payload flipped, ending at the end of the file: a write cut short.
        let mut last = bytes.clone();
        let end = last.len() - 1;
        last[end] ^= 1;
        let (read, ending) = frames(&mut reader_of(&last));
        assert_eq!(read.len(), 1);
        assert_eq!(
            ending,
            Ending::Torn {
                at: second,
                bytes: 11,
                zeros: false
            }
        );
        // The first payload flipped, a record after it: damage.
        let mut middle = bytes.clone();
        middle[first as usize + 8] ^= 1;
        let (read, ending) = frames(&mut reader_of(&middle));
        assert_eq!(read.len(), 0);
        assert!(
            matches!(ending, Ending::Damaged { at, index: 0, next: None, after: None, .. } if at == first),
            "{ending:?}"
        );
        // A damaged length past 0.1's bound, with the file shorter: damage too, not a tail.
        let mut long = bytes.clone();
        long[first as usize + 3] = 0x40;
        let (_, ending) = frames(&mut reader_of(&long));
        assert!(
            matches!(&ending, Ending::Damaged { reason, .. } if reason.contains("over 256 MiB")),
            "{ending:?}"
        );
        // A few zero bytes after the last record: a tail of zeros.
        let mut zeros = bytes.clone();
        zeros.extend_from_slice(&[0; 5]);
        let (read, ending) = frames(&mut reader_of(&zeros));
        assert_eq!(read.len(), 2);
        assert_eq!(
            ending,
            Ending::Torn {
                at: bytes.len() as u64,
                bytes: 5,
                zeros: true
            }
        );
    }

    /// Whether a tail is all zeros is read to its end, past the first 64 KiB read.
    #[test]
    fn a_tail_is_zeros_only_when_every_byte_is() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&encode(b"a"));
        let at = bytes.len() as u64;
        for (tail, zeros) in [(1usize << 16, true), ((1 << 16) + 3, true)] {
            for last in [0u8, 1] {
                let mut longer = bytes.clone();
                longer.resize(longer.len() + tail, 0);
                *longer.last_mut().unwrap() = last;
                let (_, ending) = frames(&mut reader_of(&longer));
                assert_eq!(
                    ending,
                    Ending::Torn {
                        at,
                        bytes: tail as u64,
                        zeros: zeros && last == 0
                    },
                    "{tail} bytes ending in {last}"
                );
            }
        }
    }

    #[test]
    fn another_file_is_foreign() {
        let fs = SimFs::new();
        let (mut f, _) = fs.open_rw(Path::new("/x")).unwrap();
        f.write_all(b"SQLite format 3\0").unwrap();
        let len = f.size().unwrap();
        assert!(matches!(Reader::start(f, len).unwrap(), Opening::Foreign));
    }
}
