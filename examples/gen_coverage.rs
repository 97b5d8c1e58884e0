//! Rule coverage of `restore_delta::gen`: for 10,000 cases per mix (seed 1, the default knobs),
//! the share of cases in which each decision rule decided an outcome or the refusal, as a
//! Markdown table; and the same for 10,000 `Arbitrary` cases built from pseudo-random bytes
//! (0 to 199 bytes), as the `apply_case` fuzz target sees them before any coverage feedback.
//!
//! `cargo run --example gen_coverage [COUNT]` (the shares do not depend on the build profile).

use arbitrary::{Arbitrary, Unstructured};
use restore_delta::generate::{Case, Coverage, DECISION_RULES, Generator, Mix};

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let mut columns: Vec<(String, Coverage)> = [Mix::Valid, Mix::Mixed, Mix::Hostile]
        .into_iter()
        .map(|mix| {
            let cases: Vec<Case> = Generator::new(1).mix(mix).take(count).collect();
            (mix.as_str().to_owned(), Coverage::of(&cases))
        })
        .collect();
    let mut state = 1u64;
    let arbitrary: Vec<Case> = (0..count)
        .map(|n| {
            let data: Vec<u8> = (0..n % 200)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    (state >> 56) as u8
                })
                .collect();
            Case::arbitrary_take_rest(Unstructured::new(&data)).expect("never fails")
        })
        .collect();
    columns.push(("arbitrary bytes".to_owned(), Coverage::of(&arbitrary)));

    let header: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    println!("| rule | {} |", header.join(" | "));
    println!("|---|{}", "---:|".repeat(columns.len()));
    for rule in DECISION_RULES {
        let shares: Vec<String> = columns
            .iter()
            .map(|(_, c)| format!("{:.1} %", c.share(*rule) * 100.0))
            .collect();
        println!("| {} | {} |", rule.as_str(), shares.join(" | "));
    }
    let missing: Vec<String> = columns
        .iter()
        .map(|(_, c)| format!("{}", c.missing().len()))
        .collect();
    println!("| rules missed | {} |", missing.join(" | "));
    println!("\n{count} cases per column.");
}
