//! The journal as a new user meets it, over the real binary and real files: restarts with the
//! same flags, bytes damaged on disk, a journal written with other limits or by another
//! version, two servers on one file, and `verify`.

mod common;

use std::path::Path;

use common::{ROOT, Server, create, drive_additions, run, temp_dir};

const SET: &str = "oneDriveForBusinessRestoreSessions";

/// Where each record's frame starts and ends, read from the bytes as `journal/frame.rs`
/// documents format 2 (8 bytes of file header; each frame 4 bytes of marker, 8 of length, 4 +
/// 4 of checksums, the payload).
fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    assert_eq!(&bytes[..8], b"RDJ2\n\0\0\0");
    let mut out = Vec::new();
    let mut at = 8;
    while at + 20 <= bytes.len() {
        assert_eq!(&bytes[at..at + 4], b"\xFFRDR", "a frame at {at}");
        let len = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
        out.push((at, at + 20 + len));
        at += 20 + len;
    }
    assert_eq!(at, bytes.len(), "the journal ends on a frame");
    out
}

/// A journal with one session and `patches` PATCHes of it, the server stopped; the session id.
fn journal_of(db: &Path, patches: usize) -> String {
    let server = Server::with_db(db, &["--seed", "3"]);
    let id = create(&server, SET);
    for n in 0..patches {
        let path = format!("{ROOT}/{SET}/{id}");
        let body = drive_additions(&format!("p{n}"), 1);
        assert_eq!(server.call("PATCH", &path, Some(&body)).status, 200);
    }
    id
}

fn artifacts(server: &Server, id: &str) -> usize {
    let state = common::state(server, id);
    assert_eq!(state.status, 200, "{}", state.text);
    state.json()["driveRestoreArtifacts"]
        .as_array()
        .map_or(0, Vec::len)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_restart_with_the_same_seed_keeps_every_session_and_draws_new_ids() {
    let dir = temp_dir("same-seed");
    let db = dir.join("j.db");
    let db_arg = db.to_str().unwrap();
    let flags = ["--db", db_arg, "--seed", "1"];
    let body =
        r#"{"driveRestoreArtifacts":[{"destinationType":"new","restorePoint":{"id":"rp-1"}}]}"#;
    let (first, first_request) = {
        let server = Server::start(&flags);
        let made = server.call("POST", &format!("{ROOT}/{SET}"), Some(body));
        assert_eq!(made.status, 201, "{}", made.text);
        (
            made.json()["id"].as_str().unwrap().to_owned(),
            made.header("request-id").unwrap().to_owned(),
        )
    };
    let mut ids = vec![first.clone()];
    for _ in 0..2 {
        // The same command line, as a CI job or a compose file restarts it.
        let server = Server::start(&flags);
        let made = server.call("POST", &format!("{ROOT}/{SET}"), Some("{}"));
        assert_eq!(made.status, 201);
        let id = made.json()["id"].as_str().unwrap().to_owned();
        assert!(!ids.contains(&id), "{id} was drawn again");
        assert_ne!(
            made.header("request-id").unwrap(),
            first_request,
            "request ids go on too"
        );
        ids.push(id);
        for id in &ids {
            assert_eq!(
                server
                    .call("GET", &format!("{ROOT}/{SET}/{id}"), None)
                    .status,
                200
            );
        }
        assert_eq!(artifacts(&server, &first), 1, "the first session is whole");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_torn_or_zero_filled_tail_is_cut_and_reported() {
    let dir = temp_dir("tail");
    let db = dir.join("j.db");
    let id = journal_of(&db, 3);
    let whole = std::fs::read(&db).unwrap();
    for (tail, zeros) in [
        (vec![0u8; 8], true),
        // A frame cut short: its marker and half a header.
        (b"\xFFRDR\x10\0\0".to_vec(), false),
        (vec![0u8; 4096], true),
    ] {
        let mut bytes = whole.clone();
        bytes.extend_from_slice(&tail);
        std::fs::write(&db, &bytes).unwrap();
        let server = Server::with_db(&db, &[]);
        let expected = format!(
            "a torn tail of {} bytes{} cut at byte {}",
            tail.len(),
            if zeros { " (all zero)" } else { "" },
            whole.len()
        );
        assert!(server.banner.contains(&expected), "{}", server.banner);
        assert_eq!(artifacts(&server, &id), 3);
        drop(server);
        // Cut for good, then this start's own record after it.
        let now = std::fs::read(&db).unwrap();
        assert_eq!(&now[..whole.len()], &whole[..]);
        assert_eq!(frames(&now).len(), frames(&whole).len() + 1);
        std::fs::write(&db, &whole).unwrap();
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn damage_with_records_after_it_refuses_to_start_until_repair_moves_it_aside() {
    let dir = temp_dir("damage");
    let db = dir.join("j.db");
    let db_arg = db.to_str().unwrap();
    let id = journal_of(&db, 40);
    let whole = std::fs::read(&db).unwrap();
    let framed = frames(&whole);
    // Records: 0 the start, 1 the create, 2… the PATCHes.
    let (at, end) = framed[10];
    // A bit of the payload, then a bit of the length: both are damage, not a torn tail.
    for flip in [end - 3, at + 5] {
        let mut bytes = whole.clone();
        bytes[flip] ^= 0x10;
        std::fs::write(&db, &bytes).unwrap();

        let refused = run(&["--db", db_arg]);
        assert_eq!(refused.status.code(), Some(2));
        let err = text(&refused.stderr);
        assert!(
            err.contains(&format!("record 10 at byte {at} cannot be read")),
            "{err}"
        );
        let after = framed.len() - 11;
        assert!(
            err.contains(&format!("{after} whole records follow it from byte {end}")),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes,
            "a refusal changes nothing"
        );

        let verified = run(&["verify", "--db", db_arg]);
        assert_eq!(
            verified.status.code(),
            Some(1),
            "{}",
            text(&verified.stderr)
        );
        let report = text(&verified.stdout);
        assert!(report.contains("verdict: a start refuses"), "{report}");
        assert!(
            report.contains(&format!("record 10 at byte {at}")),
            "{report}"
        );
        assert_eq!(std::fs::read(&db).unwrap(), bytes, "verify changes nothing");

        let server = Server::with_db(&db, &["--repair"]);
        let moved = format!("REPAIRED: {} bytes from byte {at}", bytes.len() - at);
        assert!(server.banner.contains(&moved), "{moved}: {}", server.banner);
        // Records 2…9 are PATCHes 0…7: eight artifacts.
        assert_eq!(artifacts(&server, &id), 8);
        drop(server);
        let aside = dir.join("j.db.damaged-1");
        assert_eq!(
            std::fs::read(&aside).unwrap(),
            &bytes[at..],
            "nothing is deleted"
        );
        std::fs::remove_file(&aside).unwrap();
        std::fs::write(&db, &whole).unwrap();
    }
    let verified = run(&["verify", "--db", db_arg]);
    assert_eq!(verified.status.code(), Some(0));
    assert!(
        !text(&verified.stdout).contains("a start compacts"),
        "{}",
        text(&verified.stdout)
    );
    // With a lower compaction threshold, verify says what a start would do.
    let verified = run(&["verify", "--db", db_arg, "--compact-after", "5"]);
    assert!(
        text(&verified.stdout).contains("a start compacts it to 1 snapshots"),
        "{}",
        text(&verified.stdout)
    );
    let verified = run(&["verify", "--db", db_arg]);
    assert!(
        text(&verified.stdout).contains("verdict: a start opens it"),
        "{}",
        text(&verified.stdout)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn replay_uses_the_limit_in_force_when_a_record_was_written() {
    let dir = temp_dir("limits");
    let db = dir.join("j.db");
    let big = 1_500_000;
    let id = {
        let server = Server::with_db(&db, &["--max-body-bytes", "2000000"]);
        // A create body over the default limit, under the raised one (create honours it).
        let padded = format!(
            "{{\"driveRestoreArtifacts\":[{{\"destinationType\":\"new\",\"restorePoint\":{{\"id\":\"rp-0\"}}}}]{}}}",
            " ".repeat(big)
        );
        let made = server.call("POST", &format!("{ROOT}/{SET}"), Some(&padded));
        assert_eq!(made.status, 201, "{}", made.text);
        let id = made.json()["id"].as_str().unwrap().to_owned();
        let mut body = drive_additions("big", 1);
        body.insert_str(body.len() - 1, &" ".repeat(big));
        let patched = server.call("PATCH", &format!("{ROOT}/{SET}/{id}"), Some(&body));
        assert_eq!(patched.status, 200, "{}", patched.text);
        id
    };
    // Restarted with the default limit (1 MiB): the records replay under theirs.
    let server = Server::with_db(&db, &[]);
    assert_eq!(artifacts(&server, &id), 2);
    // And the limit now in force refuses the same body.
    let mut body = drive_additions("again", 1);
    body.insert_str(body.len() - 1, &" ".repeat(big));
    let refused = server.call("PATCH", &format!("{ROOT}/{SET}/{id}"), Some(&body));
    assert_eq!(refused.status, 413);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_record_that_replays_to_another_answer_is_named() {
    use restore_delta_server::journal::{self, Op, fs::OsFs};
    let dir = temp_dir("digest");
    let db = dir.join("j.db");
    let db_arg = db.to_str().unwrap();
    let id = journal_of(&db, 3);
    // As if a PATCH had been decided by another engine version that answered otherwise.
    let (mut entries, _) = journal::read(&OsFs, &db).unwrap();
    let target = entries
        .iter()
        .position(|e| matches!(e.record.op, Op::Patch { .. }))
        .unwrap()
        + 1;
    if let Op::Patch { digest, .. } = &mut entries[target].record.op {
        *digest = Some("0123456789abcdef".into());
    }
    entries[target].record.engine = Some(99);
    let mut bytes = b"RDJ2\n\0\0\0".to_vec();
    for e in &entries {
        bytes.extend_from_slice(&journal::encode(&e.record, &e.body));
    }
    std::fs::write(&db, &bytes).unwrap();
    let refused = run(&["--db", db_arg]);
    assert_eq!(refused.status.code(), Some(2));
    let err = text(&refused.stderr);
    for part in [
        format!("record {target}"),
        format!("(patch of session {id})"),
        "does not replay".to_owned(),
        "where digest 0123456789abcdef was recorded".to_owned(),
        "written by engine version 99".to_owned(),
    ] {
        assert!(err.contains(&part), "{part}: {err}");
    }
    let verified = run(&["verify", "--db", db_arg]);
    assert_eq!(verified.status.code(), Some(1));
    // The same with this engine's version: only the digests are named, no version advice.
    entries[target].record.engine = Some(restore_delta::ENGINE_VERSION);
    let mut bytes = b"RDJ2\n\0\0\0".to_vec();
    for e in &entries {
        bytes.extend_from_slice(&journal::encode(&e.record, &e.body));
    }
    std::fs::write(&db, &bytes).unwrap();
    let refused = run(&["--db", db_arg]);
    assert_eq!(refused.status.code(), Some(2));
    let err = text(&refused.stderr);
    assert!(
        err.contains("where digest 0123456789abcdef was recorded"),
        "{err}"
    );
    assert!(!err.contains("engine version"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A last record whose checksums hold but which this server cannot read (from a newer
/// server): refused like damage, and said to be a whole record.
#[test]
fn a_whole_last_record_that_cannot_be_read_is_refused_and_named() {
    let dir = temp_dir("unreadable");
    let db = dir.join("j.db");
    let db_arg = db.to_str().unwrap();
    journal_of(&db, 1);
    let mut bytes = std::fs::read(&db).unwrap();
    let at = bytes.len();
    bytes.extend_from_slice(&restore_delta_server::journal::frame::encode(
        b"{\"op\":\"from-a-newer-server\"}\n",
    ));
    std::fs::write(&db, &bytes).unwrap();
    let refused = run(&["--db", db_arg]);
    assert_eq!(refused.status.code(), Some(2));
    let err = text(&refused.stderr);
    for part in [
        format!("at byte {at} cannot be read"),
        "it is a whole record (its checksum holds)".to_owned(),
    ] {
        assert!(err.contains(&part), "{part}: {err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn one_server_per_journal_and_a_killed_one_does_not_block_its_restart() {
    let dir = temp_dir("lock");
    let db = dir.join("j.db");
    let db_arg = db.to_str().unwrap();
    let mut first = Server::with_db(&db, &[]);
    let second = run(&["--db", db_arg]);
    assert_eq!(second.status.code(), Some(2));
    let err = text(&second.stderr);
    assert!(
        err.contains(&format!("in use by process {}", first.pid())),
        "{err}"
    );
    // verify reads beside it, takes no lock and writes nothing, and names the holder.
    let lock = std::fs::read(dir.join("j.db.lock")).unwrap();
    let verified = run(&["verify", "--db", db_arg]);
    assert_eq!(verified.status.code(), Some(0));
    assert!(
        text(&verified.stdout).contains(&format!("lock: held by process {}", first.pid())),
        "{}",
        text(&verified.stdout)
    );
    assert_eq!(std::fs::read(dir.join("j.db.lock")).unwrap(), lock);
    first.kill();
    let third = Server::with_db(&db, &[]);
    assert!(third.banner.contains("listening"), "{}", third.banner);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_format_1_journal_is_read_and_rewritten_in_format_2() {
    use restore_delta::{Context, Options, SeededIds, SessionKind, Timestamp, lifecycle};
    let dir = temp_dir("format1");
    let db = dir.join("j.db");
    // What 0.1 wrote: `length u32 · crc32 u32 · payload`, records without the fields of 0.2.
    let now = "2026-11-30T10:00:00Z";
    let mut ctx = Context::new(Timestamp::parse_rfc3339(now).unwrap(), SeededIds::new(77));
    let session = lifecycle::create(
        SessionKind::OneDriveForBusiness,
        b"{}",
        &Options::default(),
        &mut ctx,
    )
    .unwrap();
    let id = session.id().to_owned();
    let records = [
        (
            format!(r#"{{"op":"create","set":"{SET}","now":"{now}","seed":77,"id":"{id}"}}"#),
            "{}".to_owned(),
        ),
        (
            format!(
                r#"{{"op":"patch","id":"{id}","prefer":[],"roots":[],"now":"{now}","seed":78,"status":200}}"#
            ),
            drive_additions("old", 2),
        ),
    ];
    let mut bytes = b"RDJ1\n\0\0\0".to_vec();
    for (head, body) in &records {
        let payload = format!("{head}\n{body}");
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(payload.as_bytes()).to_le_bytes());
        bytes.extend_from_slice(payload.as_bytes());
    }
    std::fs::write(&db, &bytes).unwrap();
    // verify reads format 1 as it is: each of its records took one draw.
    let verified = run(&["verify", "--db", db.to_str().unwrap()]);
    assert_eq!(verified.status.code(), Some(0));
    let report = text(&verified.stdout);
    for part in [
        "format 1: 2 whole records (create 1, patch 1)",
        "1 sessions, 2 seeds drawn",
        "a start rewrites it in format 2",
    ] {
        assert!(report.contains(part), "{part}: {report}");
    }
    let server = Server::with_db(&db, &[]);
    assert!(
        server.banner.contains("rewritten in format 2"),
        "{}",
        server.banner
    );
    assert_eq!(artifacts(&server, &id), 2);
    drop(server);
    assert_eq!(
        std::fs::read(dir.join("j.db.rdj1-1")).unwrap(),
        bytes,
        "the old file is kept"
    );
    let now = std::fs::read(&db).unwrap();
    assert_eq!(&now[..4], b"RDJ2");
    let server = Server::with_db(&db, &[]);
    assert_eq!(artifacts(&server, &id), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_graceful_stop_finishes_requests_in_flight_and_exits_0() {
    let dir = temp_dir("graceful");
    let db = dir.join("j.db");
    let mut server = Server::with_db(&db, &["--latency-ms", "800"]);
    let id = create(&server, SET);
    let url = server.url(&format!("{ROOT}/{SET}/{id}"));
    let in_flight = std::thread::spawn(move || {
        common::call(&url, "PATCH", Some(&drive_additions("late", 2)), &[])
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = server.terminate();
    assert_eq!(status.code(), Some(0));
    let answer = in_flight.join().unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text);
    let server = Server::with_db(&db, &[]);
    assert_eq!(artifacts(&server, &id), 2);
    let _ = std::fs::remove_dir_all(dir);
}

/// Replay moves each activated session on the clock of each record before applying it: a
/// 26th activation, accepted because the 25 before it had completed on the clock (rule L6
/// caps busy sessions at 25), replays (without the catch-up it would be refused there).
#[test]
fn an_activation_allowed_by_sessions_completed_on_the_clock_replays() {
    let dir = temp_dir("completed-then-26th");
    let db = dir.join("j.db");
    let timed = [
        "--transitions",
        "timed",
        "--to-active-secs",
        "1",
        "--to-completed-secs",
        "1",
    ];
    let server = Server::with_db(&db, &timed);
    let ids: Vec<String> = (0..26).map(|_| create(&server, SET)).collect();
    for id in &ids[..25] {
        assert_eq!(common::activate(&server, id).status, 200);
    }
    assert_eq!(
        common::activate(&server, &ids[25]).status,
        500,
        "25 are busy"
    );
    std::thread::sleep(std::time::Duration::from_millis(2300));
    let last = common::activate(&server, &ids[25]);
    assert_eq!(last.status, 200, "{}", last.text);
    drop(server);
    let server = Server::with_db(&db, &timed);
    let path = format!("{ROOT}/{SET}/{}", ids[25]);
    assert_ne!(server.call("GET", &path, None).json()["status"], "draft");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
