//! The CLI's modules import each other without a circle (issue 19): `check.rs` judges and
//! `report.rs` writes the reports, both over `exchange.rs`, which imports neither.
//! `LAYERS_PRINT=1 cargo test -p restore-delta-cli --test layers -- --nocapture` prints the
//! graph.

#[path = "../../tests/support/rust_source.rs"]
mod rust_source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rust_source::{modules, use_paths};

#[test]
fn cli_modules_import_each_other_without_a_circle() {
    let main = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs");
    let mods = modules(&main);
    let names: BTreeSet<String> = mods
        .iter()
        .filter(|m| m.path.len() == 1)
        .map(|m| m.path[0].clone())
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in mods.iter().filter(|m| m.path.len() == 1) {
        let from = &m.path[0];
        let mut named = Vec::new();
        for item in m.items().iter().filter(|i| i.kind == "use") {
            let tree = item.bare_header().trim_start_matches("use ").to_owned();
            named.extend(use_paths(&tree).into_iter().map(|(p, _)| p));
        }
        // `crate::x::…` outside `use` items.
        let code = &m.source.mask;
        for (at, _) in code.match_indices("crate::") {
            let rest = &m.source.code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            named.push(vec!["crate".to_owned(), name]);
        }
        for path in named {
            if let [first, second, ..] = path.as_slice()
                && first == "crate"
                && names.contains(second)
                && second != from
            {
                graph
                    .entry(from.clone())
                    .or_default()
                    .insert(second.clone());
            }
        }
    }
    if std::env::var_os("LAYERS_PRINT").is_some() {
        for (from, tos) in &graph {
            for to in tos {
                println!("{from} -> {to}");
            }
        }
    }
    // A circle: a module that reaches itself.
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<Vec<String>> = vec![vec![start.clone()]];
        while let Some(path) = todo.pop() {
            let last = path.last().cloned().unwrap_or_default();
            for next in graph.get(&last).into_iter().flatten() {
                let mut longer = path.clone();
                longer.push(next.clone());
                assert!(next != start, "an import circle: {}", longer.join(" -> "));
                if seen.insert(next.clone()) {
                    todo.push(longer);
                }
            }
        }
    }
}
