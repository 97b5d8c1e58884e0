//! Criterion benchmarks of restore-delta (`cargo bench`; a few minutes on 2 cores).
//!
//! - `in_memory/m{M}/{N}`: one request of M items (half additions, half removals of present
//!   ids) applied to a session of N artifacts taken by value. The session is built once per N
//!   and never cloned: each request's outcomes feed the next (`Churn` in
//!   `support/workload.rs`), so the size stays constant; only `apply` is timed. T1 compares
//!   `m50/1000000` with `m50/1000` (at most 3x); T5 reads the whole grid (linear in M, flat
//!   in N).
//! - `end_to_end/{restore_delta,serde_floor}/100000`: bytes to bytes at 100,000 artifacts,
//!   against serde_json reading the same bytes into plain typed structs and writing them back
//!   (T2: at most 1.5x the floor). Throughput is the state's size.
//! - `vs_json_patch/{restore_delta,json_patch}/100000`: the in-memory apply of 50 items
//!   against json-patch 5 applying 25 `remove` (indexes precomputed) and 25 `add` operations
//!   to the same state as a `serde_json::Value` (T3: at least 20x faster).
//!
//! `examples/perf.rs` measures the same workloads as ratios in one process and checks the
//! targets.

#[path = "support/workload.rs"]
mod workload;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use restore_delta::{Context, SeededIds, Session};

use workload::{Churn, PatchChurn};

const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
const ITEMS: [usize; 3] = [1, 50, 1_000];

struct Live {
    session: Option<Session>,
    churn: Churn,
    ctx: Context<SeededIds>,
}

impl Live {
    fn new(n: usize) -> Live {
        let state = workload::state(n, n as u64);
        let session = Session::from_json(&state.json).expect("a valid state");
        Live {
            session: Some(session),
            churn: Churn::new(state.artifacts, 1_000, n as u64),
            ctx: workload::context(n as u64),
        }
    }

    /// `iters` requests of `m` items; the total time spent in `apply`.
    fn run(&mut self, m: usize, iters: u64) -> Duration {
        let options = workload::options_for(m);
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let session = self.session.take().expect("a session");
            let (session, elapsed) =
                workload::timed_step(session, &mut self.churn, m, &options, &mut self.ctx, false);
            self.session = Some(session);
            total += elapsed;
        }
        total
    }
}

fn in_memory(c: &mut Criterion) {
    let mut group = c.benchmark_group("in_memory");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in SIZES {
        let mut live = Live::new(n);
        for m in ITEMS {
            group.throughput(Throughput::Elements(m as u64));
            group.bench_with_input(BenchmarkId::new(format!("m{m}"), n), &m, |b, &m| {
                b.iter_custom(|iters| live.run(m, iters))
            });
        }
    }
    group.finish();
}

fn end_to_end(c: &mut Criterion) {
    let n = 100_000;
    let state = workload::state(n, 100);
    let request = Churn::new(state.artifacts.clone(), 50, 2).step(50).body;
    let options = workload::options_for(50);
    let mut group = c.benchmark_group("end_to_end");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Bytes(state.json.len() as u64));
    group.bench_with_input(BenchmarkId::new("restore_delta", n), &state.json, |b, s| {
        b.iter(|| black_box(workload::end_to_end(s, &request, &options)))
    });
    group.bench_with_input(BenchmarkId::new("serde_floor", n), &state.json, |b, s| {
        b.iter(|| black_box(workload::floor(s)))
    });
    group.finish();
}

fn vs_json_patch(c: &mut Criterion) {
    let n = 100_000;
    let state = workload::state(n, 100);
    let mut live = Live {
        session: Some(Session::from_json(&state.json).expect("a valid state")),
        churn: Churn::new(state.artifacts.clone(), 1_000, 3),
        ctx: workload::context(3),
    };
    let mut jp = PatchChurn::new(&state.json, 3);
    let mut group = c.benchmark_group("vs_json_patch");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function(BenchmarkId::new("restore_delta", n), |b| {
        b.iter_custom(|iters| live.run(50, iters))
    });
    group.bench_function(BenchmarkId::new("json_patch", n), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let step = jp.step(50);
                let start = Instant::now();
                json_patch::patch(&mut jp.doc, &step.ops).expect("a valid patch");
                total += start.elapsed();
                jp.undo(step);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, in_memory, end_to_end, vs_json_patch);
criterion_main!(benches);
