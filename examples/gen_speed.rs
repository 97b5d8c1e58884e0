//! Generation speed of `restore_delta::gen` (feature `gen`): cases per second for the `mixed`
//! mix at 100 stored artifacts, generating only, generating and applying with the reference,
//! and generating and writing each case as a vector (what `restore-delta gen` does per case).
//!
//! `cargo run --release --example gen_speed [COUNT]` (default 20,000). Prints one JSON object.

use std::time::Instant;

use restore_delta::generate::{Generator, Mix};

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let generator = || Generator::new(1).mix(Mix::Mixed).artifacts(100);

    let t = Instant::now();
    let mut bytes = 0usize;
    for case in generator().take(count) {
        bytes += case.request.len() + case.state.len();
    }
    let generate = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut statuses = 0u64;
    for case in generator().take(count) {
        statuses += u64::from(case.apply().map_or(0, |a| a.answer.response.status));
    }
    let apply = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut written = 0usize;
    for case in generator().take(count) {
        written += case.vector("speed").map_or(0, |v| v.len());
    }
    let vector = t.elapsed().as_secs_f64();

    println!(
        "{{\"count\":{count},\"artifacts\":100,\"mix\":\"mixed\",\
         \"generate_per_s\":{:.0},\"generate_and_apply_per_s\":{:.0},\
         \"generate_and_vector_per_s\":{:.0},\"input_bytes\":{bytes},\"checksum\":{statuses},\
         \"vector_bytes\":{written}}}",
        count as f64 / generate,
        count as f64 / apply,
        count as f64 / vector
    );
}
