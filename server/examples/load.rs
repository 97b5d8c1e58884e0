//! Load figures of the server (issue 12): `cargo run --release -p restore-delta-server --example
//! load`. Not a test: it prints what it measured, on this machine, in one run.
//!
//! 1. For sessions of 1,000 and of 100,000 artifacts: 8 clients, each on its own session, send
//!    50-item PATCHes (25 additions, 25 removals of what it added before) over real HTTP to a
//!    server whose journal syncs every answer to disk. Reported: requests per second, p50 and
//!    p99 latency, and the server's p50 over the engine's p50 for the same requests on a
//!    session of the same size (what HTTP, locking and the journal add).
//!    One more client reads at the same time: query-option pages of the sessions and of the
//!    artifacts of a ninth session of the same size (no PATCH client's); reported: their p50
//!    and p99 beside the PATCHes'.
//! 2. Restart: a journal holding one 100,000-artifact session and 10,000 PATCHes is opened and
//!    replayed; reported: the time until the server could answer.
//!
//! `--quick` runs smaller sizes (1,000 and 10,000 artifacts, 2,000 records) for a smoke run.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use restore_delta::{
    Context, Options, Request, SeededIds, Session, Timestamp, apply_request_in_place,
};
use restore_delta_server::http::{App, Limits, serve};
use restore_delta_server::store::{Config, Store};

const SET: &str = "oneDriveForBusinessRestoreSessions";
const ROOT: &str = "/v1.0/solutions/backupRestore";
const CLIENTS: usize = 8;

/// A server running in this process on its own runtime, on a journal at `db`.
struct Running {
    base: String,
    runtime: tokio::runtime::Runtime,
}

/// How the load runs open a store on `db`: seed 1, compacting past `compact_after` records.
fn opening(db: &Path, compact_after: usize) -> Config {
    let mut config = Config::new(Some(db), 1);
    config.compact_after = compact_after;
    config
}

fn start(db: &Path) -> Running {
    let (store, _) = Store::open(opening(db, usize::MAX)).expect("store opens");
    let app = Arc::new(App::new(store));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    runtime.spawn(serve(
        listener,
        app,
        Limits::default(),
        std::future::pending::<()>(),
    ));
    Running { base, runtime }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
}

fn post(agent: &ureq::Agent, url: &str, body: &str) -> serde_json::Value {
    let r = match agent.post(url).send_string(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            panic!("{url}: {code} {}", r.into_string().unwrap_or_default())
        }
        Err(e) => panic!("{url}: {e}"),
    };
    r.into_json().expect("json")
}

fn patch(agent: &ureq::Agent, url: &str, body: &str) -> serde_json::Value {
    let r = match agent.request("PATCH", url).send_string(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            panic!("{url}: {code} {}", r.into_string().unwrap_or_default())
        }
        Err(e) => panic!("{url}: {e}"),
    };
    r.into_json().expect("json")
}

fn additions(tag: &str, from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| format!(r#"{{"restorePoint":{{"id":"{tag}-{i}"}},"destinationType":"new"}}"#))
        .collect()
}

fn removals(ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| format!(r#"{{"@removed":{{"reason":"changed"}},"id":"{id}"}}"#))
        .collect()
}

fn body(items: &[String]) -> String {
    format!(r#"{{"driveRestoreArtifacts@delta":[{}]}}"#, items.join(","))
}

fn added_ids(answer: &serde_json::Value) -> Vec<String> {
    answer["driveRestoreArtifacts@delta"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e.get("@removed").is_none())
                .filter_map(|e| e["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Creates a session and fills it with `size` artifacts, 50 per PATCH; its id.
fn filled(agent: &ureq::Agent, base: &str, tag: &str, size: usize) -> String {
    let created = post(agent, &format!("{base}{ROOT}/{SET}"), "{}");
    let id = created["id"].as_str().expect("id").to_owned();
    let url = format!("{base}{ROOT}/{SET}/{id}");
    for from in (0..size).step_by(50) {
        patch(
            agent,
            &url,
            &body(&additions(tag, from, 50.min(size - from))),
        );
    }
    id
}

/// The requests one client sends: the first adds 50, each next one adds 25 and removes the 25
/// the one before added (the session keeps its size).
struct Mixer {
    tag: String,
    n: usize,
    previous: Vec<String>,
}

impl Mixer {
    fn next_body(&mut self) -> String {
        self.n += 1;
        let mut items = additions(&self.tag, self.n * 100, 25);
        if self.previous.is_empty() {
            items.extend(additions(&self.tag, self.n * 100 + 50, 25));
        } else {
            items.extend(removals(&self.previous));
        }
        body(&items)
    }

    fn saw(&mut self, answer: &serde_json::Value) {
        let mut added = added_ids(answer);
        added.truncate(25);
        self.previous = added;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(k).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn run_size(size: usize, requests: usize, dir: &Path) {
    let db = dir.join(format!("load-{size}.db"));
    let _ = std::fs::remove_file(&db);
    let server = start(&db);
    let fill = Instant::now();
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let base = server.base.clone();
                s.spawn(move || filled(&agent(), &base, &format!("fill{c}"), size))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("fill"))
            .collect()
    });
    // The reader's own session, so that its scans take no PATCH client's lock.
    let read_id = filled(&agent(), &server.base, "fill0", size);
    let fill_secs = fill.elapsed().as_secs_f64();

    let wall = Instant::now();
    let done = std::sync::atomic::AtomicBool::new(false);
    let mut lists: Vec<Duration> = Vec::new();
    let latencies: Vec<Duration> = std::thread::scope(|s| {
        // Beside the PATCH clients, one client reading: a filtered, counted page of the
        // sessions, and a filtered page of one session's artifacts (query options, rules Q).
        let reader = s.spawn(|| {
            let agent = agent();
            let sessions = format!(
                "{}{ROOT}/restoreSessions?$filter=status%20eq%20'draft'&$select=id,status&$top=5&$count=true",
                server.base
            );
            let artifacts = format!(
                "{}{ROOT}/{SET}/{}/driveRestoreArtifacts?$filter=startswith(restorePoint/id,'fill0-1')&$orderby=restorePoint/id%20desc&$top=10",
                server.base, read_id
            );
            let mut took = Vec::new();
            let mut n = 0usize;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let url = if n.is_multiple_of(2) { &sessions } else { &artifacts };
                n += 1;
                let t = Instant::now();
                let r = agent.get(url).call().expect("a list answers");
                let _ = r.into_string();
                took.push(t.elapsed());
            }
            took
        });
        let handles: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(c, id)| {
                let url = format!("{}{ROOT}/{SET}/{id}", server.base);
                s.spawn(move || {
                    let agent = agent();
                    let mut mixer = Mixer {
                        tag: format!("load{c}"),
                        n: 0,
                        previous: Vec::new(),
                    };
                    (0..requests)
                        .map(|_| {
                            let b = mixer.next_body();
                            let t = Instant::now();
                            let answer = patch(&agent, &url, &b);
                            let took = t.elapsed();
                            mixer.saw(&answer);
                            took
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let latencies = handles
            .into_iter()
            .flat_map(|h| h.join().expect("client"))
            .collect();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        lists = reader.join().expect("reader");
        latencies
    });
    let wall = wall.elapsed();
    lists.sort();
    let mut sorted = latencies;
    sorted.sort();

    // The engine alone, on a session of the same size, for the same kind of requests.
    let mut state = Vec::new();
    ureq::get(&format!(
        "{}/_restore-delta/sessions/{}",
        server.base, ids[0]
    ))
    .call()
    .expect("state")
    .into_reader()
    .read_to_end(&mut state)
    .expect("the state");
    drop(server.runtime);
    let mut session = Session::from_json(&state).expect("state reads");
    let mut mixer = Mixer {
        tag: "engine".into(),
        n: 0,
        previous: Vec::new(),
    };
    let options = Options::default();
    let now = Timestamp::parse_rfc3339("2026-11-30T12:00:00Z").expect("time");
    let mut engine: Vec<Duration> = (0..requests)
        .map(|i| {
            let b = mixer.next_body();
            let t = Instant::now();
            let request = Request::parse(b.as_bytes(), &options).expect("parses");
            let mut ctx = Context::new(now, SeededIds::new(i as u64));
            let answer = apply_request_in_place(&mut session, &request, &options, &mut ctx);
            let took = t.elapsed();
            let value = answer.response.body_value().unwrap_or_default();
            mixer.saw(&value);
            took
        })
        .collect();
    engine.sort();
    let p50 = percentile(&sorted, 0.5);
    let e50 = percentile(&engine, 0.5);
    println!(
        "{size:>7} artifacts x {CLIENTS} sessions: {:>6.0} req/s, p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.2} ms; engine p50 {:>6.3} ms; server p50 / engine p50 = {:.1} ({} requests; filled in {fill_secs:.1} s)",
        sorted.len() as f64 / wall.as_secs_f64(),
        ms(p50),
        ms(percentile(&sorted, 0.99)),
        ms(sorted.last().copied().unwrap_or_default()),
        ms(e50),
        p50.as_secs_f64() / e50.as_secs_f64().max(1e-9),
        sorted.len(),
    );
    println!(
        "{size:>7} artifacts, beside them, one reader: filtered list pages p50 {:>6.2} ms, p99 {:>6.2} ms ({} pages: sessions filtered, selected and counted; a session's artifacts filtered with startswith and ordered)",
        ms(percentile(&lists, 0.5)),
        ms(percentile(&lists, 0.99)),
        lists.len(),
    );
    let _ = std::fs::remove_file(&db);
}

fn restart(size: usize, records: usize, dir: &Path) {
    let db = dir.join("restart.db");
    let _ = std::fs::remove_file(&db);
    {
        let server = start(&db);
        let agent = agent();
        let id = filled(&agent, &server.base, "fill", size);
        let url = format!("{}{ROOT}/{SET}/{id}", server.base);
        let mut mixer = Mixer {
            tag: "more".into(),
            n: 0,
            previous: Vec::new(),
        };
        let fill_records = size.div_ceil(50);
        for _ in fill_records..records {
            let answer = patch(&agent, &url, &mixer.next_body());
            mixer.saw(&answer);
        }
    }
    let bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let t = Instant::now();
    let (store, recovered) = Store::open(opening(&db, usize::MAX)).expect("opens");
    let took = t.elapsed();
    println!(
        "restart: {} records ({:.1} MiB) replayed into {} session of {size} artifacts in {:.0} ms",
        recovered.records,
        bytes as f64 / f64::from(1 << 20),
        store.session_count(),
        ms(took)
    );
    drop(store);
    // Compacted (once, at a start), then opened again: snapshots instead of history.
    let (store, _) = Store::open(opening(&db, 0)).expect("compacts");
    drop(store);
    let compact_bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let t = Instant::now();
    let (store, recovered) = Store::open(opening(&db, usize::MAX)).expect("opens");
    println!(
        "restart after compaction: {} snapshot ({:.1} MiB) read in {:.0} ms",
        recovered.records,
        compact_bytes as f64 / f64::from(1 << 20),
        ms(t.elapsed())
    );
    drop(store);
    let _ = std::fs::remove_file(&db);
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let dir = std::env::temp_dir().join(format!("restore-delta-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "machine: {cpu}, {} cores; journal in {} (fdatasync per group commit)",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        dir.display()
    );
    let (sizes, requests, restart_size, restart_records) = if quick {
        ([1_000, 10_000], 50, 10_000, 2_000)
    } else {
        ([1_000, 100_000], 250, 100_000, 10_000)
    };
    for size in sizes {
        run_size(size, requests, &dir);
    }
    restart(restart_size, restart_records, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}
