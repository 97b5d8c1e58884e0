//! Rule Q8: the cost of a query follows the request, not the state. A counting global allocator
//! measures what `query::artifacts` and `query::render_one` allocate over sessions of 1,000
//! and 100,000 artifacts: the total (every byte allocated during the call, freed or not) and
//! the peak (the most held at once) stay the same whatever the number of artifacts scanned,
//! within a bound set by `$skip + $top`. No timing is asserted. The same allocator bounds
//! what rule A7's additions reserve for long strings (`a7_additions_reserve_about_what_they_write`).
//!
//! A test binary of its own, because the allocator is global: its one test measures on its own
//! thread, and the counters are per thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use restore_delta::lifecycle::query::{self, Query, Target};
use restore_delta::{ArtifactCollection, Options, Session};

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(grow: usize, shrink: usize) {
    // `try_with`: thread-local storage may be gone while a thread ends.
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            TOTAL.with(|t| t.set(t.get() + grow));
            HELD.with(|h| {
                let now = h.get() + grow as isize - shrink as isize;
                h.set(now);
                PEAK.with(|p| p.set(p.get().max(now)));
            });
        }
    });
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(0, layout.size());
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size, layout.size());
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What `f` allocated: (total bytes, peak bytes held at once).
fn measure<T>(f: impl FnOnce() -> T) -> ((usize, usize), T) {
    TOTAL.with(|t| t.set(0));
    HELD.with(|h| h.set(0));
    PEAK.with(|p| p.set(0));
    ARMED.with(|a| a.set(true));
    let out = f();
    ARMED.with(|a| a.set(false));
    let total = TOTAL.with(Cell::get);
    let peak = PEAK.with(Cell::get).max(0) as usize;
    ((total, peak), out)
}

/// A OneDrive session of `n` drive artifacts with varied statuses and restore points.
fn session(n: usize) -> Session {
    let statuses = ["added", "failed", "succeeded", "inProgress"];
    let mut text = String::with_capacity(n * 160 + 200);
    text.push_str(r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s1","status":"active","driveRestoreArtifacts":["##);
    for i in 0..n {
        if i > 0 {
            text.push(',');
        }
        // Restore points in a scrambled order, so that a sort has work to do.
        let rp = (i as u64).wrapping_mul(2_654_435_761) % 1_000_003;
        text.push_str(&format!(
            r#"{{"id":"a{i:06}","restorePoint":{{"id":"rp-{rp:07}"}},"destinationType":"new","status":"{}","startDateTime":"2026-01-01T00:{:02}:00Z"}}"#,
            statuses[i % 4],
            i % 60
        ));
    }
    text.push_str("]}");
    Session::from_json(text.as_bytes()).unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

const C: ArtifactCollection = ArtifactCollection::DriveRestoreArtifacts;

/// A measured query: its name, its options and its `$skip + $top`.
type Measured = (&'static str, Vec<(&'static str, &'static str)>, usize);

/// The artifact queries measured.
fn artifact_queries() -> Vec<Measured> {
    vec![
        (
            "filter, collection order",
            vec![
                (
                    "$filter",
                    "status eq 'failed' and restorePoint/id ne 'none' and startDateTime ge 2026-01-01T00:30:00Z",
                ),
                ("$select", "id,status"),
                ("$top", "10"),
                ("$skip", "5"),
                ("$count", "true"),
            ],
            15,
        ),
        (
            "filter and orderby (bounded heap)",
            vec![
                (
                    "$filter",
                    "status ne 'added' and not startswith(restorePoint/id, 'rp-9')",
                ),
                ("$orderby", "restorePoint/id desc,status"),
                ("$top", "10"),
                ("$skip", "5"),
                ("$count", "true"),
            ],
            15,
        ),
        (
            "orderby, a page of 100",
            vec![
                ("$orderby", "startDateTime,restorePoint/id"),
                ("$top", "100"),
            ],
            100,
        ),
    ]
}

#[test]
fn q8_allocation_is_bounded_by_skip_plus_top_not_by_the_artifacts_scanned() {
    // Measured on a thread of its own so that nothing else allocates on it meanwhile.
    std::thread::spawn(run).join().unwrap();
}

fn run() {
    let o = Options::default();
    let small = session(1_000);
    let large = session(100_000);
    let mut report = Vec::new();
    for (name, list, window) in artifact_queries() {
        let q = Query::parse(Target::Artifacts(C), &pairs(&list), &o).unwrap();
        let (at_small, page_small) = measure(|| query::artifacts(&small, C, &q, &o));
        let (at_large, page_large) = measure(|| query::artifacts(&large, C, &q, &o));
        assert!(page_small.len > 0 && page_large.len > 0, "{name}: a page");
        // The page itself (its items' bytes) is part of what any answer costs; the bound is
        // the page plus a constant, at most a few hundred bytes per candidate kept.
        let bound = 4096 + window * 320;
        for (n, (total, peak)) in [(1_000, at_small), (100_000, at_large)] {
            report.push(format!(
                "{name}: {n} artifacts: total {total} B, peak {peak} B (bound {bound} B)"
            ));
            assert!(
                total <= bound,
                "{name} at {n}: {total} B allocated, bound {bound}"
            );
            assert!(peak <= total);
        }
        // The same whatever the artifacts scanned: at most the page's text differs (its items
        // are other artifacts), never by the number scanned.
        let text_diff = page_large.items.len().abs_diff(page_small.items.len());
        assert!(
            at_large.0 <= at_small.0 + text_diff * 2 + 64,
            "{name}: {} B at 100,000 vs {} B at 1,000",
            at_large.0,
            at_small.0
        );
        // The next page, from a keyset or position token: `$top` candidates at most.
        if let Some(token) = &page_large.next {
            let mut next = pairs(&list);
            next.push(("$skiptoken".to_owned(), token.clone()));
            let q = Query::parse(Target::Artifacts(C), &next, &o).unwrap();
            let ((total, peak), page) = measure(|| query::artifacts(&large, C, &q, &o));
            assert!(page.len > 0);
            report.push(format!(
                "{name}: next page at 100,000: total {total} B, peak {peak} B"
            ));
            assert!(total <= bound, "{name} next page: {total} B");
        }
    }
    // One session with an expanded, filtered and ordered collection.
    let list = pairs(&[(
        "$expand",
        "driveRestoreArtifacts($filter=status eq 'succeeded';$orderby=restorePoint/id;$top=10;$select=id;$count=true)",
    )]);
    let q = Query::parse(
        Target::Session(Some(restore_delta::SessionKind::OneDriveForBusiness)),
        &list,
        &o,
    )
    .unwrap();
    let (at_small, one_small) = measure(|| query::render_one(&small, &q, &o));
    let (at_large, one_large) = measure(|| query::render_one(&large, &q, &o));
    assert!(one_small.contains("@odata.count\":250") && one_large.contains("@odata.count\":25000"));
    for (n, (total, peak)) in [(1_000, at_small), (100_000, at_large)] {
        report.push(format!(
            "render_one with $expand: {n} artifacts: total {total} B, peak {peak} B"
        ));
        assert!(total <= 4096 + 10 * 320, "render_one at {n}: {total} B");
    }
    assert!(at_large.0 <= at_small.0 + 64);
    for line in report {
        println!("{line}");
    }
}

/// Rule A7's additions reserve about what they write, however long the strings a request or
/// an id source gives (issue 20: a reserve sized by a product of two lengths, or by a length
/// times a constant, is a memory bound broken). One addition to a granular mailbox session
/// with a restore point id and a `searchResponseId` of 50,000 bytes each, drawing an id of
/// 50,000 bytes, and one granular drive item with an `itemKey` and a `browseSessionId` of
/// 50,000 bytes each: what `apply` holds at its peak stays within 12 times the text carried (about 4 times, measured).
#[test]
fn a7_additions_reserve_about_what_they_write() {
    std::thread::spawn(additions).join().unwrap();
}

fn additions() {
    use restore_delta::{Context, Timestamp, apply};
    const LONG: usize = 50_000;
    let long = |c: char| c.to_string().repeat(LONG);
    let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
    let cases = [
        (
            r##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s","status":"draft","restoreJobType":"granular"}"##,
            format!(
                r#"{{"granularMailboxRestoreArtifacts@delta":[{{"restorePoint":{{"id":"{}"}},"destinationType":"new","searchResponseId":"{}"}}]}}"#,
                long('r'),
                long('s')
            ),
        ),
        (
            r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft","restoreJobType":"granular"}"##,
            format!(
                // The browse session id one byte longer: a length taken from the other's is
                // an overflow, not a smaller reserve.
                r#"{{"granularDriveRestoreArtifacts@delta":[{{"browseSessionId":"{}b","itemKey":"{}"}}]}}"#,
                long('b'),
                long('k')
            ),
        ),
    ];
    for (before, request) in cases {
        let session = Session::from_json(before.as_bytes()).unwrap();
        let mut ids = || long('i');
        let mut ctx = Context::new(now, &mut ids);
        let ((_, peak), applied) =
            measure(|| apply(session, request.as_bytes(), &Options::default(), &mut ctx));
        let body = applied.answer.response.body.expect("a body").into_string();
        assert_eq!(
            applied.answer.response.status,
            200,
            "{}",
            &body[..200.min(body.len())]
        );
        assert!(body.len() > 2 * LONG, "the long strings are echoed");
        let carried = request.len() + LONG;
        assert!(
            peak <= 12 * carried,
            "{peak} B held at the peak for {carried} B carried"
        );
        println!("{peak} B held at the peak for {carried} B carried");
    }
}
