//! What the lifecycle's stages cost (rule L7), measured in one process.
//!
//! ```text
//! cargo run --release --example lifecycle_cost
//! ```
//!
//! For sessions of 1,000 and 100,000 drive artifacts, prints one JSON line each: the median time
//! of `Session::from_json` on the session's text (the yardstick: reading the session once),
//! of `activate` (the first stage: every artifact rewritten), of a `catch_up` that passes one
//! stage, and of a `catch_up` with nothing due; and the ratios of the two stage costs to the
//! yardstick, measured in the same run. Sessions are cloned before each timed call, untimed.

use std::time::{Duration, Instant};

use restore_delta::lifecycle::{self, Schedule, Transitions};
use restore_delta::{Session, Timestamp};

fn state(n: usize) -> String {
    let artifacts: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"id":"a{i:07}","restorePoint":{{"id":"rp-{i:07}"}},"destinationType":"new","status":"added","createdDateTime":"2026-11-30T07:00:00Z"}}"#
            )
        })
        .collect();
    format!(
        r##"{{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s1","status":"draft","restoreSessionArtifactCount":{{"total":{n}}},"driveRestoreArtifacts":[{}]}}"##,
        artifacts.join(",")
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let t0 = Timestamp::parse_rfc3339("2026-11-30T08:00:00Z").unwrap();
    let t1 = Timestamp::parse_rfc3339("2026-11-30T08:00:05Z").unwrap();
    let schedule = Schedule::new(Transitions::Timed {
        to_active_secs: 10,
        to_completed_secs: 60,
    });
    for (n, rounds) in [(1_000usize, 41), (100_000, 9)] {
        let text = state(n);
        let draft = Session::from_json(text.as_bytes()).unwrap();
        let mut activated = draft.clone();
        let progress = lifecycle::activate(&mut activated, 0, &schedule, t0).unwrap();
        let (mut read, mut activate, mut stage, mut noop) = (vec![], vec![], vec![], vec![]);
        for _ in 0..rounds {
            let start = Instant::now();
            let s = Session::from_json(text.as_bytes()).unwrap();
            read.push(start.elapsed());
            drop(s);

            let mut s = draft.clone();
            let start = Instant::now();
            let p = lifecycle::activate(&mut s, 0, &schedule, t0).unwrap();
            activate.push(start.elapsed());
            drop((s, p));

            let (mut s, mut p) = (activated.clone(), progress.clone());
            let start = Instant::now();
            assert!(lifecycle::catch_up(&mut s, &mut p, t1));
            stage.push(start.elapsed());

            let start = Instant::now();
            for _ in 0..1000 {
                assert!(!lifecycle::catch_up(&mut s, &mut p, t1));
            }
            noop.push(start.elapsed() / 1000);
        }
        let (read, activate, stage, noop) =
            (median(read), median(activate), median(stage), median(noop));
        println!(
            "{{\"artifacts\":{n},\"from_json_ms\":{:.3},\"activate_ms\":{:.3},\"stage_ms\":{:.3},\"noop_catch_up_ns\":{},\"activate_over_from_json\":{:.2},\"stage_over_from_json\":{:.2}}}",
            read.as_secs_f64() * 1e3,
            activate.as_secs_f64() * 1e3,
            stage.as_secs_f64() * 1e3,
            noop.as_nanos(),
            activate.as_secs_f64() / read.as_secs_f64(),
            stage.as_secs_f64() / read.as_secs_f64(),
        );
    }
}
