//! The performance targets of restore-delta, measured in one process.
//!
//! ```text
//! cargo run --release --example perf            # about 20 seconds once built, on 2 busy cores
//! cargo run --release --example perf -- --only t4,t2   # some targets only (t1-t5, a7, wide, check)
//! ```
//!
//! Prints one JSON object on stdout (progress goes to stderr) and exits with status 1 when a
//! target is missed. It runs itself again with glibc's allocator thresholds fixed
//! (`GLIBC_TUNABLES`, see `pinned_allocator`), so that how memory is reused from round to
//! round does not depend on the sizes of unrelated allocations. Every target is a ratio of two measurements taken in this run, interleaved
//! so that load from other processes hits both sides alike: the in-memory measurements alternate
//! blocks (one untimed request, then several timed ones, so one side does not pay for the caches
//! and allocator state the other left behind), the end-to-end ones alternate run by run. Each
//! timing is the median of its samples; the raw medians are printed beside each ratio.
//!
//! - T1 `t1_ratio`: a 50-item request (25 additions, 25 removals of present ids) applied in
//!   memory to a session of 1,000,000 artifacts, over the same at 1,000: at most 3. The session
//!   is taken by value and never cloned: each request's outcomes feed the next one, which
//!   removes ids that are present and adds restore points that are absent, so the size stays
//!   constant (see `benches/support/workload.rs`). Only the `apply` call is timed.
//! - T2 `t2_ratio`: bytes to bytes at 100,000 artifacts (`Session::from_json`, apply a 50-item
//!   request, write the response body and the new state into a `Vec`) over the floor, serde_json
//!   reading the same bytes into plain typed structs (`id`, `restorePoint.id`,
//!   `destinationType`, `status`) and writing them back: at most 1.5.
//! - T3 `t3_speedup`: json-patch 5 applying the equivalent 25 `remove` (array indexes
//!   precomputed, in decreasing order) and 25 `add` operations to the same state as a
//!   `serde_json::Value`, over the in-memory apply at 100,000 artifacts: at least 20. Parsing
//!   is excluded on both sides, as the issue says: json-patch gets its operations ready-made,
//!   restore-delta its body read by `Request::parse`, and `apply_request` is timed (rules E3 on,
//!   deciding, committing, writing the response, dropping the request). Reported beside it, not
//!   gated: `speedup_with_request_parse`, timing `apply` on the body bytes. json-patch's
//!   document is restored after each patch, untimed. The three measurements take turns.
//! - T4 `t4_rss_ratio`: peak resident memory of `restore-delta apply` (package
//!   restore-delta-cli, release build) on a 100,000-artifact state file, over the file's size:
//!   at most 2. The binary is `$RESTORE_DELTA_CLI` if set, else `target/release/restore-delta`
//!   next to this example, built first with `cargo build --release -p restore-delta-cli` (run by
//!   this example through `$CARGO`; a failed build falls back to an existing binary). The peak
//!   is read with GNU time (`/usr/bin/time -f %M`) when present, else by polling the child's
//!   `VmHWM` in `/proc`.
//! - T5 `t5` (reported, not gated): the in-memory apply over N in {1e3, 1e4, 1e5, 1e6} and
//!   M in {1, 50, 1000} items (`Options::with_max_items(1000)`); `flat_in_n` is
//!   time(N=1e6)/time(N=1e3) per M (1 = flat), `linear_in_m` is
//!   time(M=1000)/(20 x time(M=50)) per N (1 = linear), `per_item_us` the cost per item.
//! - `stuck_source` (reported; its draw count is gated): rule A7's worst case, an id source that
//!   always returns the id of a stored artifact, at N = 1,000,000: a 50-addition request whose
//!   every item gives up after `MAX_DRAWS_PER_ITEM` draws (500). `draws` must be 50 x 16; the
//!   median time is reported beside T1's median at the same N (`ratio_to_t1_large`). Before the
//!   bound was a constant, one such item drew 1,000,001 ids.
//! - `wide_max_ratio` (gated, not one of the issue's targets): bodies just under 1 MiB whose
//!   objects hold 80,000 members, or 25,000 items, applied in memory, and states with an
//!   artifact or a nested member of 200,000 members, read with `Session::from_json`, each over
//!   serde_json parsing the same bytes into a `Value`: at most 10. Catches any step quadratic in
//!   the size of one object.
//! - `check_max_ratio` (gated, issue 10): the reference check (`restore_delta::check::check`,
//!   profile `default`, no state after) judging a 50-item exchange (25 additions, 25 removals of
//!   present ids), the observed answer being the reference's own body with its generated ids
//!   renamed and its time shifted by 2.5 s, over `apply` of the same request to the same state,
//!   at N = 1,000 and N = 100,000 artifacts: at most 2 at each N (3 until issue 21). The session is held by value:
//!   each timed `apply` is followed by an untimed request that undoes it (it removes the new
//!   artifacts and adds the removed restore points back under their old ids), so every check
//!   and every apply meets the same session and request. Each check is verified conformant,
//!   after its timing.

#[path = "../benches/support/workload.rs"]
mod workload;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use restore_delta::check::{Observed, Settings};
use restore_delta::{ItemOutcome, Options, RuleId, SeededIds, Session};
use serde_json::{Value, json};

use workload::{Churn, PatchChurn, State};

const T1_MAX: f64 = 3.0;
const T2_MAX: f64 = 1.5;
const T3_MIN: f64 = 20.0;
const T4_MAX: f64 = 2.0;
const CHECK_MAX: f64 = 2.0;

/// glibc's tunable that fixes its mmap threshold (see [`pinned_allocator`]).
const PIN: &str = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824";

fn main() -> ExitCode {
    if let Some(code) = pinned_allocator() {
        return code;
    }
    let only = match only() {
        Ok(only) => only,
        Err(e) => {
            eprintln!("perf: {e}");
            return ExitCode::from(2);
        }
    };
    let run = |target: &str| only.as_ref().is_none_or(|o| o.iter().any(|t| t == target));
    let skipped = || json!({"skipped": true, "pass": true});
    let started = Instant::now();
    let state_100k = workload::state(100_000, 100);

    let t4 = if run("t4") {
        progress("T4: peak RSS of the CLI");
        t4(&state_100k)
    } else {
        skipped()
    };

    let t2 = if run("t2") {
        progress("T2: end to end vs serde_json floor");
        t2(&state_100k)
    } else {
        skipped()
    };

    let (mut t1, mut t3, mut t5, mut stuck) = (skipped(), skipped(), skipped(), skipped());
    if run("t1") || run("t3") || run("t5") || run("a7") {
        progress("building sessions of 1e3, 1e4, 1e5, 1e6 artifacts");
        let mut sessions: Vec<Live> = [1_000usize, 10_000, 100_000, 1_000_000]
            .into_iter()
            .map(|n| {
                let generated;
                let state = if n == 100_000 {
                    &state_100k
                } else {
                    generated = workload::state(n, n as u64);
                    &generated
                };
                Live::new(state, n as u64)
            })
            .collect();

        if run("t1") {
            progress("T1: 50 items at 1e6 vs 1e3");
            t1 = self::t1(&mut sessions);
        }

        if run("t3") {
            progress("T3: apply vs json-patch at 1e5");
            t3 = self::t3(&mut sessions[2], &state_100k);
        }

        if run("a7") {
            progress("A7: a stuck id source at 1e6");
            let t1_large = t1["large_median_us"].as_f64();
            stuck = stuck_source(&mut sessions[3], t1_large);
        }

        if run("t5") {
            progress("T5: N x M grid");
            t5 = self::t5(&mut sessions);
        }
    }

    let wide = if run("wide") {
        progress("wide bodies: near-1 MiB bodies vs serde_json parsing them");
        wide_bodies()
    } else {
        skipped()
    };

    let check = if run("check") {
        progress("check: the reference check vs apply at 1e3 and 1e5");
        check_vs_apply(&state_100k)
    } else {
        skipped()
    };

    let pass = |v: &Value| v["pass"].as_bool().unwrap_or(false);
    let all_pass = pass(&t1)
        && pass(&t2)
        && pass(&t3)
        && pass(&t4)
        && pass(&wide)
        && pass(&stuck)
        && pass(&check);
    let report = json!({
        "t1_ratio": t1["ratio"], "t1": t1,
        "t2_ratio": t2["ratio"], "t2": t2,
        "t3_speedup": t3["speedup"], "t3": t3,
        "t4_rss_ratio": t4["ratio"], "t4": t4,
        "t5": t5,
        "stuck_source": stuck,
        "wide_max_ratio": wide["max_ratio"], "wide": wide,
        "check_max_ratio": check["max_ratio"], "check": check,
        "all_pass": all_pass,
        "elapsed_s": round(started.elapsed().as_secs_f64(), 1),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("a JSON value")
    );
    if all_pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs this example again with glibc's allocator thresholds fixed, unless they already are;
/// returns the child's exit status. glibc otherwise moves its mmap threshold to the size of the
/// last large block freed, so whether a round of T2 reused memory or took its 30-60 MB as
/// fresh pages from the system (about 15,000 page faults, 30 ms) depended on the sizes of
/// unrelated allocations: the same code measured T2 at 1.2 or 1.7 from one layout of a struct
/// to the next. Fixed (blocks up to 32 MiB from the heap, which is not given back), both sides
/// of every ratio reuse memory from round to round, as a long-running server does. To measure
/// with every large block fresh, as in a new process, run with
/// `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072` (measured T2 1.47-1.50 there). Other C
/// libraries ignore the variable.
fn pinned_allocator() -> Option<ExitCode> {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if tunables.contains("glibc.malloc.mmap_threshold") {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let pinned = if tunables.is_empty() {
        PIN.to_owned()
    } else {
        format!("{tunables}:{PIN}")
    };
    let status = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", pinned)
        .status()
        .ok()?;
    Some(ExitCode::from(
        u8::try_from(status.code().unwrap_or(1)).unwrap_or(1),
    ))
}

/// The targets named by `--only a,b` (or `--only=a,b`), if given: a skipped target is reported
/// as `{"skipped": true}` and does not fail the run.
fn only() -> Result<Option<Vec<String>>, String> {
    const TARGETS: [&str; 8] = ["t1", "t2", "t3", "t4", "t5", "a7", "wide", "check"];
    let mut args = std::env::args().skip(1);
    let mut only = None;
    while let Some(arg) = args.next() {
        let list = if arg == "--only" {
            args.next()
                .ok_or("--only needs a list, e.g. --only t4,t2")?
        } else if let Some(list) = arg.strip_prefix("--only=") {
            list.to_owned()
        } else {
            return Err(format!(
                "unknown argument {arg:?} (only --only t1,...,t5,a7,wide,check)"
            ));
        };
        let names: Vec<String> = list.split(',').map(|t| t.trim().to_lowercase()).collect();
        if let Some(bad) = names.iter().find(|t| !TARGETS.contains(&t.as_str())) {
            return Err(format!("--only: no target {bad:?} (one of {TARGETS:?})"));
        }
        only = Some(names);
    }
    Ok(only)
}

fn progress(what: &str) {
    eprintln!("perf: {what}");
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn us(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1e6, 2)
}

fn ms(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1e3, 3)
}

/// A session held by value, with the churn that keeps its requests valid.
struct Live {
    n: usize,
    session: Option<Session>,
    churn: Churn,
    ctx: restore_delta::Context<SeededIds>,
}

impl Live {
    fn new(state: &State, seed: u64) -> Live {
        let session = Session::from_json(&state.json).expect("a valid state");
        Live {
            n: state.artifacts.len(),
            session: Some(session),
            churn: Churn::new(state.artifacts.clone(), 1_000, seed),
            ctx: workload::context(seed),
        }
    }

    /// Applies one request of `m` items; only `apply` is timed, or with `parsed` only
    /// `apply_request` (the body read by `Request::parse` before the clock starts).
    fn step(&mut self, m: usize, parsed: bool) -> Duration {
        let options = workload::options_for(m);
        let session = self.session.take().expect("a session");
        let (session, elapsed) =
            workload::timed_step(session, &mut self.churn, m, &options, &mut self.ctx, parsed);
        self.session = Some(session);
        elapsed
    }

    /// One untimed request, then `k` timed ones, all of `m` items. The untimed one absorbs what
    /// the previous block (on another session) left behind: evicted caches and the allocator's
    /// deferred work after a large request (the first apply after a 1000-item request elsewhere
    /// measured 5-15x slower than the next).
    fn block(&mut self, m: usize, k: usize, into: &mut Vec<Duration>) {
        self.block_of(m, k, false, into);
    }

    /// [`Live::block`], timing `apply_request` alone when `parsed`.
    fn block_of(&mut self, m: usize, k: usize, parsed: bool, into: &mut Vec<Duration>) {
        self.step(m, parsed);
        for _ in 0..k {
            into.push(self.step(m, parsed));
        }
    }
}

fn t1(sessions: &mut [Live]) -> Value {
    const BLOCKS: usize = 200;
    const K: usize = 10;
    let (small, rest) = sessions.split_first_mut().expect("four sessions");
    let large = rest.last_mut().expect("four sessions");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for r in 0..BLOCKS {
        if r % 2 == 0 {
            small.block(50, K, &mut a);
            large.block(50, K, &mut b);
        } else {
            large.block(50, K, &mut b);
            small.block(50, K, &mut a);
        }
    }
    let (a, b) = (median(&mut a), median(&mut b));
    let ratio = b.as_secs_f64() / a.as_secs_f64();
    json!({
        "ratio": round(ratio, 3), "target_max": T1_MAX, "pass": ratio <= T1_MAX,
        "n_small": small.n, "n_large": large.n, "items": 50, "samples": BLOCKS * K,
        "small_median_us": us(a), "large_median_us": us(b),
    })
}

/// Rule A7's worst case: every draw is a stored id, so every addition gives up after
/// `MAX_DRAWS_PER_ITEM` draws. The request changes nothing, so the session is reused as it is.
fn stuck_source(live: &mut Live, t1_large_us: Option<f64>) -> Value {
    const ROUNDS: usize = 201;
    let session = live.session.as_mut().expect("a session");
    let stored = session
        .artifacts(restore_delta::ArtifactCollection::DriveRestoreArtifacts)
        .next()
        .expect("a stored artifact")
        .id()
        .to_owned();
    let items: Vec<Value> = (0..50)
        .map(|i| json!({"restorePoint": {"id": format!("stuck-{i}")}, "destinationType": "new"}))
        .collect();
    let body = json!({ "driveRestoreArtifacts@delta": items }).to_string();
    let options = workload::options_for(50);
    let mut samples = Vec::with_capacity(ROUNDS);
    let mut draws = 0usize;
    let mut all_500 = true;
    for round in 0..ROUNDS {
        let mut n = 0usize;
        let source = || {
            n += 1;
            stored.clone()
        };
        let mut ctx = restore_delta::Context::new(workload::now(), source);
        let start = Instant::now();
        let answer = restore_delta::apply_in_place(session, body.as_bytes(), &options, &mut ctx);
        let elapsed = start.elapsed();
        drop(ctx);
        all_500 &= answer
            .outcomes
            .iter()
            .all(|o| matches!(o, restore_delta::ItemOutcome::Failed(f) if f.status == 500));
        if round == 0 {
            draws = n;
        } else {
            samples.push(elapsed);
        }
    }
    let expected = 50 * restore_delta::MAX_DRAWS_PER_ITEM;
    let m = median(&mut samples);
    json!({
        "pass": draws == expected && all_500,
        "n": live.n, "items": 50, "draws": draws, "draws_expected": expected,
        "every_item_500": all_500, "samples": ROUNDS - 1, "median_us": us(m),
        "t1_large_median_us": t1_large_us,
        "ratio_to_t1_large": t1_large_us.map(|t| round(m.as_secs_f64() * 1e6 / t, 3)),
    })
}

fn t2(state: &State) -> Value {
    let mut churn = Churn::new(state.artifacts.clone(), 50, 2);
    let request = churn.step(50).body;
    let options = workload::options_for(50);
    let pretty = workload::pretty(&state.json);
    let measure = |bytes: &[u8], warm: usize, rounds: usize| {
        let (mut e2e_len, mut floor_len) = (0, 0);
        let run_e2e = || {
            let start = Instant::now();
            let out = workload::end_to_end(bytes, &request, &options);
            let elapsed = start.elapsed();
            e2e_len = out.len();
            elapsed
        };
        let run_floor = || {
            let start = Instant::now();
            let out = workload::floor(bytes);
            let elapsed = start.elapsed();
            floor_len = out.len();
            elapsed
        };
        let (e2e, floor) = alternate(warm, rounds, run_e2e, run_floor);
        (
            e2e,
            floor,
            e2e.as_secs_f64() / floor.as_secs_f64(),
            (e2e_len, floor_len),
        )
    };
    let (e2e, floor, ratio, (out_e2e, out_floor)) = measure(&state.json, 2, 15);
    let mb_s = |d: Duration| round(state.json.len() as f64 / d.as_secs_f64() / 1e6, 1);
    let (p_e2e, p_floor, p_ratio, _) = measure(&pretty, 1, 7);
    json!({
        "ratio": round(ratio, 3), "target_max": T2_MAX, "pass": ratio <= T2_MAX,
        "artifacts": state.artifacts.len(), "state_bytes": state.json.len(), "rounds": 15,
        "end_to_end_median_ms": ms(e2e), "floor_median_ms": ms(floor),
        "end_to_end_mb_s": mb_s(e2e), "floor_mb_s": mb_s(floor),
        "end_to_end_output_bytes": out_e2e, "floor_output_bytes": out_floor,
        "pretty_state_bytes": pretty.len(), "pretty_ratio": round(p_ratio, 3),
        "pretty_end_to_end_median_ms": ms(p_e2e), "pretty_floor_median_ms": ms(p_floor),
    })
}

fn t3(live: &mut Live, state: &State) -> Value {
    const BLOCKS: usize = 60;
    const K: usize = 5;
    let mut jp = PatchChurn::new(&state.json, 3);
    let run_jp = |jp: &mut PatchChurn| {
        let step = jp.step(50);
        let start = Instant::now();
        json_patch::patch(&mut jp.doc, &step.ops).expect("a valid patch");
        let elapsed = start.elapsed();
        jp.undo(step);
        elapsed
    };
    // a: apply_request (body parsed before the clock), b: json-patch, c: apply (body parsed
    // inside the timing), all three in rotation.
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let jp_block = |jp: &mut PatchChurn, into: &mut Vec<Duration>| {
        run_jp(jp);
        for _ in 0..K {
            into.push(run_jp(jp));
        }
    };
    for r in 0..BLOCKS {
        for turn in 0..3 {
            match (r + turn) % 3 {
                0 => live.block_of(50, K, true, &mut a),
                1 => jp_block(&mut jp, &mut b),
                _ => live.block_of(50, K, false, &mut c),
            }
        }
    }
    let (a, b, c) = (median(&mut a), median(&mut b), median(&mut c));
    let speedup = b.as_secs_f64() / a.as_secs_f64();
    let with_parse = b.as_secs_f64() / c.as_secs_f64();
    json!({
        "speedup": round(speedup, 2), "target_min": T3_MIN, "pass": speedup >= T3_MIN,
        "artifacts": live.n, "operations": 50, "samples": BLOCKS * K,
        "restore_delta_median_us": us(a), "json_patch_median_us": us(b),
        "speedup_with_request_parse": round(with_parse, 2),
        "restore_delta_with_request_parse_median_us": us(c),
    })
}

fn t5(sessions: &mut [Live]) -> Value {
    const ROUNDS: usize = 41;
    const K: usize = 3;
    let ms_list = [1usize, 50, 1_000];
    // [m][n] samples. For each M, blocks are taken round-robin over every N, so load from other
    // processes hits the cells `flat_in_n` compares alike. M is the outer loop: a block of
    // 1-item requests right after a block of 1000-item requests on another session measured
    // 10-70x slower for two or three requests (allocator work the large request left), which the
    // one untimed request per block does not absorb.
    let mut samples = vec![vec![Vec::new(); sessions.len()]; ms_list.len()];
    for (mi, &m) in ms_list.iter().enumerate() {
        for _ in 0..ROUNDS {
            for (ni, live) in sessions.iter_mut().enumerate() {
                live.block(m, K, &mut samples[mi][ni]);
            }
        }
    }
    let mut grid = serde_json::Map::new();
    let mut flat = serde_json::Map::new();
    let mut per_item = serde_json::Map::new();
    for (mi, &m) in ms_list.iter().enumerate() {
        let medians: Vec<Duration> = samples[mi].iter_mut().map(|s| median(s)).collect();
        let row: serde_json::Map<String, Value> = sessions
            .iter()
            .zip(&medians)
            .map(|(live, d)| (format!("n{}", live.n), json!(us(*d))))
            .collect();
        grid.insert(format!("m{m}_us"), Value::Object(row));
        let first = medians.first().expect("sessions").as_secs_f64();
        let last = medians.last().expect("sessions").as_secs_f64();
        flat.insert(format!("m{m}"), json!(round(last / first, 3)));
        let row: serde_json::Map<String, Value> = sessions
            .iter()
            .zip(&medians)
            .map(|(live, d)| (format!("n{}", live.n), json!(us(*d / m as u32))))
            .collect();
        per_item.insert(format!("m{m}"), Value::Object(row));
    }
    let linear: serde_json::Map<String, Value> = sessions
        .iter()
        .map(|live| {
            let at = |mi: usize| grid_us(&grid, ms_list[mi], live.n);
            (
                format!("n{}", live.n),
                json!(round(at(2) / (20.0 * at(1)), 3)),
            )
        })
        .collect();
    json!({
        "samples": ROUNDS * K, "median_us": grid, "linear_in_m": linear, "flat_in_n": flat, "per_item_us": per_item,
    })
}

/// Bodies just under the 1 MiB limit, built to make any step quadratic in the request show:
/// one object of 80,000 members at each level a rule reads by name (the body, an item, an
/// item's `restorePoint`), and 25,000 removals of absent ids (item limit raised). Each apply
/// (OneDrive example state, in memory) is compared with serde_json parsing the same body into a
/// `Value`, alternating; the worst ratio must stay under `WIDE_MAX`. A quadratic E4 check once
/// made the first body take 9.8 s against about 10 ms for the parse.
fn wide_bodies() -> Value {
    const WIDE_MAX: f64 = 10.0;
    const ROUNDS: usize = 7;
    let state = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/onedrive.state.json"
    ))
    .expect("the OneDrive example state");
    let members = |n: usize| -> String {
        (0..n)
            .map(|i| format!("\"{i}@a\":0"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let add = r#"{"restorePoint":{"id":"wide"},"destinationType":"new"}"#;
    let removals: Vec<String> = (0..25_000)
        .map(|i| format!(r#"{{"@removed":{{}},"id":"absent{i}"}}"#))
        .collect();
    let cases = [
        (
            "body_members",
            format!("{{{},\"{}\":[{add}]}}", members(80_000), workload::DELTA),
        ),
        (
            "item_members",
            format!(
                "{{\"{}\":[{{{},\"restorePoint\":{{\"id\":\"w\"}},\"destinationType\":\"new\"}}]}}",
                workload::DELTA,
                members(80_000)
            ),
        ),
        (
            "restore_point_members",
            format!(
                "{{\"{}\":[{{\"restorePoint\":{{{},\"id\":\"w\"}},\"destinationType\":\"new\"}}]}}",
                workload::DELTA,
                members(80_000)
            ),
        ),
        (
            "items",
            format!("{{\"{}\":[{}]}}", workload::DELTA, removals.join(",")),
        ),
    ];
    let options = workload::options_for(100_000).with_max_bytes(1 << 20);
    let mut out = serde_json::Map::new();
    let mut worst: f64 = 0.0;
    for (name, body) in &cases {
        assert!(body.len() <= 1 << 20, "{name}: {} bytes", body.len());
        let run_apply = || {
            let session = Session::from_json(&state).expect("a valid state");
            let mut ctx = workload::context(7);
            let start = Instant::now();
            let applied = restore_delta::apply(session, body.as_bytes(), &options, &mut ctx);
            let elapsed = start.elapsed();
            assert_eq!(applied.answer.response.status, 200, "{name}");
            elapsed
        };
        let (a, b) = alternate(0, ROUNDS, run_apply, || parse_time(body.as_bytes()));
        let ratio = a.as_secs_f64() / b.as_secs_f64();
        worst = worst.max(ratio);
        out.insert(
            (*name).to_owned(),
            json!({"bytes": body.len(), "apply_ms": ms(a), "parse_ms": ms(b), "ratio": round(ratio, 2)}),
        );
    }
    // States: one artifact, and one unknown member nested in the session, of 200,000 members
    // each, read with `Session::from_json` against serde_json parsing the same bytes.
    let example: Value = serde_json::from_slice(&state).expect("the example state");
    let wide_object: serde_json::Map<String, Value> = (0..200_000)
        .map(|i| (format!("m{i}"), json!({"z": i})))
        .collect();
    let mut wide_artifact = example.clone();
    if let Some(first) = wide_artifact[workload::COLLECTION].get_mut(0) {
        first["wide"] = Value::Object(wide_object.clone());
        if let Some(first) = first.as_object_mut() {
            first.extend(wide_object.clone());
        }
    }
    let mut wide_member = example.clone();
    wide_member["wideUnknownMember"] = Value::Object(wide_object);
    let states = [
        ("state_artifact_members", wide_artifact),
        ("state_nested_members", wide_member),
    ];
    for (name, value) in &states {
        let bytes = serde_json::to_vec(value).expect("a JSON value");
        let run_read = || {
            let start = Instant::now();
            let session = Session::from_json(&bytes).expect("a valid state");
            let elapsed = start.elapsed();
            drop(std::hint::black_box(session));
            elapsed
        };
        let (a, b) = alternate(0, ROUNDS, run_read, || parse_time(&bytes));
        let ratio = a.as_secs_f64() / b.as_secs_f64();
        worst = worst.max(ratio);
        out.insert(
            (*name).to_owned(),
            json!({"bytes": bytes.len(), "read_ms": ms(a), "parse_ms": ms(b), "ratio": round(ratio, 2)}),
        );
    }
    json!({
        "max_ratio": round(worst, 2), "target_max": WIDE_MAX, "pass": worst <= WIDE_MAX,
        "rounds": ROUNDS, "cases": out,
    })
}

/// The reference check against `apply`, at N = 1,000 and at `state_100k`'s 100,000 artifacts.
fn check_vs_apply(state_100k: &State) -> Value {
    let small = workload::state(1_000, 1_000);
    let mut by_n = serde_json::Map::new();
    let mut worst: f64 = 0.0;
    for state in [&small, state_100k] {
        let at = check_at(state);
        worst = worst.max(at["ratio"].as_f64().unwrap_or(f64::INFINITY));
        by_n.insert(format!("n{}", state.artifacts.len()), at);
    }
    json!({
        "max_ratio": round(worst, 3), "target_max": CHECK_MAX, "pass": worst <= CHECK_MAX,
        "by_n": by_n,
    })
}

/// One 50-item exchange on one session: the check's median time over `apply`'s, blocks of
/// each alternating (one untimed run, then `K` timed ones), as T1 does.
fn check_at(state: &State) -> Value {
    const BLOCKS: usize = 100;
    const K: usize = 10;
    let n = state.artifacts.len();
    // 25 removals of present artifacts spread over the collection, 25 absent restore points.
    let removed: Vec<&workload::Stored> = (0..25).map(|i| &state.artifacts[i * (n / 25)]).collect();
    let removed_ids: Vec<String> = removed.iter().map(|s| s.id.clone()).collect();
    let removed_rps: Vec<String> = removed.iter().map(|s| s.restore_point.clone()).collect();
    let mut rng = workload::Rng::new(n as u64 ^ 0xC4EC_0BAD);
    let fresh: Vec<String> = (0..25).map(|_| rng.restore_point_id()).collect();
    let body = workload::request_body(&fresh, &removed_ids);
    let options = workload::options_for(50);
    let mut ctx = workload::context(n as u64);
    let session = Session::from_json(&state.json).expect("a valid state");

    // The observed answer: the reference's own body as another server would write it.
    let reference = restore_delta::apply(session, &body, &options, &mut ctx);
    let generated: Vec<String> = reference
        .answer
        .outcomes
        .iter()
        .filter_map(|o| match o {
            ItemOutcome::Added {
                id,
                rule: RuleId::A7,
            } => Some(id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(generated.len(), 25, "every addition succeeds");
    let mut observed = reference
        .answer
        .response
        .body
        .as_ref()
        .expect("a 200 body")
        .get()
        .to_owned();
    let renamed: Vec<String> = (0..generated.len())
        .map(|k| format!("server-made-{k}"))
        .collect();
    for (id, new) in generated.iter().zip(&renamed) {
        observed = observed.replace(&format!("\"{id}\""), &format!("\"{new}\""));
    }
    let shifted = observed.replace(
        &format!("\"{}\"", workload::NOW),
        "\"2026-11-28T12:00:02.500Z\"",
    );
    assert_ne!(shifted, observed, "the body stamps the time");
    let observed = shifted;
    let mut session = undo(reference, &removed_ids, &removed_rps, &options);

    let settings = Settings::default();
    let judge = |session: &Session| {
        let start = Instant::now();
        let verdict = restore_delta::check::check(
            session,
            &body,
            &options,
            &Observed::new(200, Some(observed.as_bytes())),
            &settings,
        );
        let elapsed = start.elapsed();
        assert!(verdict.conformant, "n = {n}: {verdict}");
        assert_eq!(verdict.binding.ids, renamed, "n = {n}");
        elapsed
    };
    let mut apply_once = |session: Session| {
        let start = Instant::now();
        let applied = restore_delta::apply(session, &body, &options, &mut ctx);
        let elapsed = start.elapsed();
        (undo(applied, &removed_ids, &removed_rps, &options), elapsed)
    };
    let (mut c, mut a) = (Vec::new(), Vec::new());
    for r in 0..BLOCKS {
        for turn in 0..2 {
            if (r + turn) % 2 == 0 {
                judge(&session);
                for _ in 0..K {
                    c.push(judge(&session));
                }
            } else {
                for k in 0..=K {
                    let (next, elapsed) = apply_once(session);
                    session = next;
                    if k > 0 {
                        a.push(elapsed);
                    }
                }
            }
        }
    }
    let (c, a) = (median(&mut c), median(&mut a));
    let ratio = c.as_secs_f64() / a.as_secs_f64();
    json!({
        "ratio": round(ratio, 3), "n": n, "items": 50, "samples": BLOCKS * K,
        "check_median_us": us(c), "apply_median_us": us(a),
    })
}

/// Undoes one apply of a [`check_at`] request (untimed): removes the artifacts it added and
/// adds the removed restore points back under their old ids, so the next request meets the
/// same session (the artifacts put back are at the end of the collection, with a new
/// `createdDateTime`, which the request does not read).
fn undo(
    applied: restore_delta::Applied,
    ids: &[String],
    restore_points: &[String],
    options: &Options,
) -> Session {
    assert_eq!(applied.answer.response.status, 200);
    let added: Vec<String> = applied
        .answer
        .outcomes
        .iter()
        .filter_map(|o| match o {
            ItemOutcome::Added { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect();
    let back = workload::request_body(restore_points, &added);
    let mut old = ids.iter().cloned();
    let mut ctx =
        restore_delta::Context::new(workload::now(), move || old.next().unwrap_or_default());
    let undone = restore_delta::apply(applied.state, &back, options, &mut ctx);
    let readded: Vec<&String> = undone
        .answer
        .outcomes
        .iter()
        .filter_map(|o| match o {
            ItemOutcome::Added { id, .. } => Some(id),
            ItemOutcome::Removed { existed: true, .. } => None,
            other => panic!("undo failed: {other:?}"),
        })
        .collect();
    assert!(
        readded.iter().copied().eq(ids.iter()),
        "the old ids come back"
    );
    undone.state
}

/// Runs `a` and `b` `warm + rounds` times each, alternating which goes first; the median
/// times of the last `rounds` runs.
fn alternate(
    warm: usize,
    rounds: usize,
    mut a: impl FnMut() -> Duration,
    mut b: impl FnMut() -> Duration,
) -> (Duration, Duration) {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for r in 0..warm + rounds {
        let (x, y) = if r % 2 == 0 {
            let x = a();
            (x, b())
        } else {
            let y = b();
            (a(), y)
        };
        if r >= warm {
            xs.push(x);
            ys.push(y);
        }
    }
    (median(&mut xs), median(&mut ys))
}

/// How long serde_json takes to parse `bytes` into a `Value`.
fn parse_time(bytes: &[u8]) -> Duration {
    let start = Instant::now();
    let v: Value = serde_json::from_slice(bytes).expect("valid JSON");
    let elapsed = start.elapsed();
    drop(std::hint::black_box(v));
    elapsed
}

fn grid_us(grid: &serde_json::Map<String, Value>, m: usize, n: usize) -> f64 {
    grid[&format!("m{m}_us")][&format!("n{n}")]
        .as_f64()
        .unwrap_or(f64::NAN)
}

fn t4(state: &State) -> Value {
    let dir = std::env::temp_dir().join(format!("restore-delta-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let state_path = dir.join("state.json");
    let pretty_path = dir.join("state.pretty.json");
    let request_path = dir.join("request.json");
    std::fs::write(&state_path, &state.json).expect("writing the state");
    std::fs::write(&pretty_path, workload::pretty(&state.json)).expect("writing the state");
    let mut churn = Churn::new(state.artifacts.clone(), 50, 4);
    std::fs::write(&request_path, churn.step(50).body).expect("writing the request");

    let result = (|| {
        let cli = cli_binary()?;
        let run = |state: &Path| -> Result<(u64, &'static str), String> {
            let mut samples = Vec::new();
            let mut method = "";
            for _ in 0..3 {
                let (kib, m) = peak_rss_kib(&cli, state, &request_path)?;
                samples.push(kib);
                method = m;
            }
            samples.sort_unstable();
            Ok((samples[samples.len() / 2] * 1024, method))
        };
        let (rss, method) = run(&state_path)?;
        let (pretty_rss, _) = run(&pretty_path)?;
        let size = state.json.len() as f64;
        let pretty_size = std::fs::metadata(&pretty_path)
            .map_err(|e| e.to_string())?
            .len();
        let ratio = rss as f64 / size;
        Ok::<Value, String>(json!({
            "ratio": round(ratio, 3), "target_max": T4_MAX, "pass": ratio <= T4_MAX,
            "state_bytes": state.json.len(), "peak_rss_bytes": rss, "method": method,
            "binary": cli.display().to_string(), "runs": 3,
            "pretty_state_bytes": pretty_size, "pretty_peak_rss_bytes": pretty_rss,
            "pretty_ratio": round(pretty_rss as f64 / pretty_size as f64, 3),
        }))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap_or_else(|e| json!({"ratio": null, "pass": false, "error": e}))
}

/// `$RESTORE_DELTA_CLI`, else `restore-delta` in this example's profile directory, built
/// first with `cargo build --release -p restore-delta-cli`.
fn cli_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("RESTORE_DELTA_CLI") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/release/examples/perf -> target/release/restore-delta
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("can't locate the target directory")?;
    let cli = dir.join(format!("restore-delta{}", std::env::consts::EXE_SUFFIX));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "restore-delta-cli"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status();
    if !matches!(built, Ok(s) if s.success()) {
        eprintln!(
            "perf: building restore-delta-cli failed; using {}",
            cli.display()
        );
    }
    if cli.is_file() {
        Ok(cli)
    } else {
        Err(format!("no CLI binary at {}", cli.display()))
    }
}

/// Runs `restore-delta apply` once, stdout discarded; returns its peak RSS in KiB.
fn peak_rss_kib(cli: &Path, state: &Path, request: &Path) -> Result<(u64, &'static str), String> {
    let args = [
        "apply".as_ref(),
        "--state".as_ref(),
        state.as_os_str(),
        "--request".as_ref(),
        request.as_os_str(),
        "--now".as_ref(),
        workload::NOW.as_ref(),
        "--seed".as_ref(),
        "7".as_ref(),
    ];
    let time = Path::new("/usr/bin/time");
    if time.is_file() {
        let out_file = state.with_extension("rss");
        let status = Command::new(time)
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&out_file)
            .arg(cli)
            .args(args)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("running {}: {e}", time.display()))?;
        if !status.success() {
            return Err(format!("restore-delta apply failed: {status}"));
        }
        let text = std::fs::read_to_string(&out_file).map_err(|e| e.to_string())?;
        let kib = text
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .ok_or_else(|| format!("no RSS in {text:?}"))?;
        return Ok((kib, "/usr/bin/time -f %M"));
    }
    let mut child = Command::new(cli)
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("running {}: {e}", cli.display()))?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            for line in text.lines() {
                if let Some(v) = line.strip_prefix("VmHWM:") {
                    let kib = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    peak = peak.max(kib);
                }
            }
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            if !status.success() {
                return Err(format!("restore-delta apply failed: {status}"));
            }
            return Ok((peak, "polling /proc/PID/status VmHWM"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
