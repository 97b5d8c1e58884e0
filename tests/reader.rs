//! `Session::from_reader` and `Session::from_reader_sized`: the same session, or the same error,
//! as `Session::from_json` on the bytes the reader gives, for states much larger than one read (64 KiB), so that reads cut
//! values, strings and characters. Small reads at every place are checked by
//! `fuzzing::state_bytes` over the fuzz corpus (`tests/fuzz_replay.rs`).

use std::io::{self, Read};

use restore_delta::{Session, StateError};

const OD: &str = "#microsoft.graph.oneDriveForBusinessRestoreSession";

/// A state of `n` artifacts with multi-byte characters, escapes, numbers and a large unknown
/// member, compact or with white space (including newlines) between tokens.
fn state(n: usize, pretty: bool) -> String {
    let (sep, nl) = if pretty { (" ", "\n  ") } else { ("", "") };
    let artifacts: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{{nl}"id":{sep}"a{i}-é€😀",{nl}"restorePoint":{sep}{{"id":"r\u0041{i}"}},{nl}"destinationType":"new",{nl}"n":{sep}{i}.{i}e{},{nl}"x":[true,{sep}false,null,"\"{i}\""]}}"#,
                i % 7
            )
        })
        .collect();
    let big: Vec<String> = (0..5_000).map(|i| format!("{i}")).collect();
    format!(
        r#"{{{nl}"@odata.type":{sep}"{OD}",{nl}"id":"s1",{nl}"big":[{}],{nl}"driveRestoreArtifacts":{sep}[{}],{nl}"count":{n}{nl}}}{nl}"#,
        big.join(","),
        artifacts.join(&format!(",{nl}"))
    )
}

/// Gives the bytes at most `step` at a time, now and then interrupted, and fails with `fail`
/// once `fail_at` bytes are given.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
    calls: usize,
    fail_at: Option<usize>,
    given: usize,
}

impl<'a> Trickle<'a> {
    fn new(bytes: &'a [u8], step: usize) -> Self {
        Trickle {
            bytes,
            step,
            calls: 0,
            fail_at: None,
            given: 0,
        }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(5) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        if self.fail_at.is_some_and(|at| self.given >= at) {
            return Err(io::Error::other("the disk went away"));
        }
        let n = self.step.min(buf.len()).min(self.bytes.len());
        let (head, tail) = self.bytes.split_at(n);
        buf[..n].copy_from_slice(head);
        self.bytes = tail;
        self.given += n;
        Ok(n)
    }
}

fn both(text: &[u8]) -> (Result<Session, StateError>, Result<Session, StateError>) {
    let json = Session::from_json(text);
    let read = Session::from_reader(text);
    assert_eq!(
        Session::from_reader(Trickle::new(text, 1000)),
        read,
        "reads of 1000 bytes"
    );
    // The expected length sizes buffers only.
    let len = text.len() as u64;
    for hint in [len, 0, len / 3, len * 3] {
        assert_eq!(Session::from_reader_sized(text, hint), read, "sized {hint}");
    }
    (json, read)
}

#[test]
fn large_states_read_the_same_as_from_json() {
    for pretty in [false, true] {
        let text = state(3_000, pretty);
        assert!(text.len() > 6 * 64 * 1024, "{}", text.len());
        let (json, read) = both(text.as_bytes());
        let json = json.expect("a valid state");
        assert_eq!(read.expect("the same state").to_json(), json.to_json());
    }
}

#[test]
fn errors_late_in_large_states_are_the_ones_from_json_gives() {
    let text = state(3_000, true);
    let cases = [
        // A duplicate id near the end.
        text.replacen("\"a2990-", "\"a10-", 1),
        // A syntax error in an artifact, in the last member, after the last member.
        text.replacen(
            "\"x\":[true, false,null,\"\\\"2500",
            "\"x\":[true false,null,\"\\\"2500",
            1,
        ),
        text.replacen("\"count\":3000", "\"count\":30.", 1),
        format!("{text} x"),
        // Cut short inside the artifacts, inside a number.
        text[..text.find("\"a1500-").unwrap()].to_owned(),
        text[..text.find("\"count\":").unwrap() + 10].to_owned(),
    ];
    for case in &cases {
        let (json, read) = both(case.as_bytes());
        assert!(json.is_err(), "{json:?}");
        assert_eq!(read, json);
    }
}

/// The line and column (from 1, in bytes) of byte `at` of `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, at - start + 1)
}

#[test]
fn bytes_that_are_not_utf8_are_reported_where_from_json_reports_them() {
    for pretty in [false, true] {
        let text = state(3_000, pretty);
        let at = text.find("\"a2000-").unwrap() + 3;
        let mut bad = text.clone().into_bytes();
        bad[at] = 0xFF;
        let (json, read) = both(&bad);
        let message = format!("not UTF-8: invalid utf-8 sequence of 1 bytes from index {at}");
        let (line, column) = line_column(&text, at);
        assert_eq!(
            json,
            Err(StateError::InvalidJson {
                message,
                line,
                column
            })
        );
        assert_eq!(read, json);
        // A character cut off by the end of the text.
        let end = text.rfind('😀').unwrap();
        let cut = &text.as_bytes()[..end + 2];
        let (json, read) = both(cut);
        let (line, column) = line_column(&text, end);
        assert!(
            matches!(&json, Err(StateError::InvalidJson { message, line: l, column: c })
                if message.contains("incomplete") && (*l, *c) == (line, column)),
            "{json:?}"
        );
        assert_eq!(read, json);
    }
}

/// Errors say where they are in the whole state, on its lines, however it was read: at the
/// byte the reader stopped at, or where serde_json's own position inside a value falls.
#[test]
fn errors_give_their_line_and_column_in_the_state() {
    let text = state(3_000, true);
    // A top-level member that is not valid JSON, on a later line of its own value.
    let bad = text.replacen("\"count\":3000", "\"count\":[1,\n  2,\n  tru]", 1);
    let (json, read) = both(bad.as_bytes());
    let value = bad.find("[1,\n").unwrap();
    let (first, _) = line_column(&bad, value);
    assert!(
        matches!(&json, Err(StateError::InvalidJson { line, column: 6, .. }) if *line == first + 2),
        "{json:?}"
    );
    assert_eq!(read, json);
    // `,` or `}` expected after the last member.
    let end = text.rfind('}').unwrap();
    let bad = format!("{} \"x\": 1}}", &text[..end]);
    let (json, read) = both(bad.as_bytes());
    let (line, column) = line_column(&bad, end + 1);
    assert!(
        matches!(&json, Err(StateError::InvalidJson { line: l, column: c, .. }) if (*l, *c) == (line, column)),
        "{json:?}"
    );
    assert_eq!(read, json);
}

#[test]
fn a_failing_reader_is_unreadable() {
    let text = state(3_000, false);
    let mut reader = Trickle::new(text.as_bytes(), 4096);
    reader.fail_at = Some(300_000);
    let error = Session::from_reader(reader).unwrap_err();
    assert!(
        matches!(&error, StateError::Unreadable { source }
            if source.kind() == io::ErrorKind::Other && source.to_string() == "the disk went away"),
        "{error:?}"
    );
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("the disk went away"));
    assert_eq!(error.to_string(), "state can't be read: the disk went away");
}

/// The first read of `from_reader` (64 KiB) ends inside a number of a member read as raw text
/// (`12.`, `1e`, `1e+`, `-`): serde_json calls such a number invalid, not cut short, so the
/// reader tells by where the error is (within the last bytes read) that more may come, and
/// reads on. The number cut on the first line of its value, alone or after other values, on
/// its third and fifth lines, and on the second line when the value starts with a newline.
#[test]
fn a_read_that_ends_inside_a_number_reads_on() {
    const READ: usize = 64 * 1024;
    let long_lines =
        "[\"first line, long\",\n \"second line, long\",\n \"third\",\n \"fourth line, long\",\n ";
    for (head, tail) in [
        ("12.", "5"),
        ("1e", "5"),
        ("1e+", "5"),
        ("-", "5"),
        ("12.", "25e-3"),
    ] {
        for (open, close) in [
            ("", ""),
            ("[0,1,2,3,4,5,6,7,8,9,", "]"),
            ("[1,\n  2,\n  ", "]"),
            (long_lines, "]"),
            ("\n  ", ""),
            ("[\n", "]"),
        ] {
            let start = format!(r#"{{"@odata.type":"{OD}","id":"s1","pad":""#);
            let member = format!(r#"","n":{open}{head}"#);
            let pad = "x".repeat(READ - start.len() - member.len());
            let text = format!("{start}{pad}{member}{tail}{close},\"after\":true}}");
            let number = text.find(&format!("{head}{tail}")).unwrap();
            assert_eq!(number + head.len(), READ, "{head:?}{open:?}");
            let (json, read) = both(text.as_bytes());
            let json = json.expect("a valid state");
            let read = read.unwrap_or_else(|e| panic!("{head:?} after {open:?}: {e}"));
            assert_eq!(read.to_json(), json.to_json());
        }
    }
}

/// Counts the bytes a reader gave.
struct Counted<'a> {
    bytes: &'a [u8],
    given: usize,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.bytes.read(buf)?;
        self.given += n;
        Ok(n)
    }
}

/// An error early in a long value, on its second, third or sixth line (the last), is reported
/// after the first read (64 KiB), not after reading the whole state: it is not at the end of
/// the bytes read, so it is no text cut short.
#[test]
fn an_early_error_on_a_later_line_of_a_value_is_found_without_reading_on() {
    for open in [
        "[1,\n2,\ntru,",
        "[1,\ntru,",
        "[\n\"a\",\n\"b\",\n\"c\",\n\"d\",\ntru,",
    ] {
        let lines: Vec<String> = (0..100_000).map(|i| format!("{i}")).collect();
        let text = format!(
            r#"{{"@odata.type":"{OD}","id":"s1","n":{open}{}]}}"#,
            lines.join(",")
        );
        assert!(text.len() > 8 * 64 * 1024);
        let mut reader = Counted {
            bytes: text.as_bytes(),
            given: 0,
        };
        let read = Session::from_reader(&mut reader);
        assert_eq!(read, Session::from_json(text.as_bytes()));
        assert!(read.is_err());
        assert!(
            reader.given <= 2 * 64 * 1024,
            "{open:?}: {} bytes read",
            reader.given
        );
    }
}
