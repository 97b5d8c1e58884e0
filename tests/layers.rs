//! The crate's import graph has no circle and no arrow running up (issue 19).
//!
//! The nodes are the top-level modules of `src/` (a folder's own files may import each other).
//! An edge runs from a module to each module whose items its code names: `crate::…` and
//! `super::…` paths, and the crate root's re-exports (`crate::Session` is `model`'s). Comments,
//! strings and `#[cfg(test)]` modules are left out. The layers, lowest first:
//!
//! - `rule`, `json`: rule ids; reading and writing JSON;
//! - `model`: sessions, artifacts, collections, the state and its errors;
//! - `engine`: the PATCH pipeline (request, decide, commit, render);
//! - the tools built on the engine: `check`, `generate`, `lifecycle` (they may use one another
//!   while the graph stays acyclic), and `gen`, `generate`'s former name (deprecated aliases);
//! - `fuzzing`: the fuzz harness (test code behind `_internal_test_exports`).
//!
//! A module may import its own layer or a lower one, never a higher one; the whole graph is
//! acyclic; `src/lib.rs` declares modules and re-exports, and defines nothing that other
//! modules import. `LAYERS_PRINT=1 cargo test --test layers -- --nocapture` prints the graph.

#[path = "support/rust_source.rs"]
mod rust_source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rust_source::{Module, Vis, modules, use_paths};

/// The layers, lowest first.
const LAYERS: &[&[&str]] = &[
    &["rule", "json"],
    &["model"],
    &["engine"],
    &["check", "generate", "gen", "lifecycle"],
    &["fuzzing"],
];

/// An import: the module that names something, where, and the module it belongs to.
#[derive(Debug)]
struct Edge {
    from: String,
    to: String,
    at: String,
}

#[test]
fn no_import_circle_and_no_arrow_running_up() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let edges = edges(&root.join("src/lib.rs"));
    let graph = graph(&edges);
    if std::env::var_os("LAYERS_PRINT").is_some() {
        for (from, tos) in &graph {
            for (to, at) in tos {
                println!("{from} -> {to}   ({at})");
            }
        }
    }
    let mut problems = Vec::new();
    let layer = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    for (from, tos) in &graph {
        for (to, at) in tos {
            match (layer(from), layer(to)) {
                (Some(f), Some(t)) if t > f => {
                    problems.push(format!("{from} imports {to}, a higher layer ({at})"))
                }
                (None, _) if from == "lib" => problems.push(format!(
                    "src/lib.rs holds code that imports {to} ({at}): it belongs in a module"
                )),
                (None, _) => problems.push(format!("{from} is in no layer (tests/layers.rs)")),
                (_, None) if to != "lib" => {
                    problems.push(format!("{to} is in no layer (tests/layers.rs)"))
                }
                (_, None) => problems.push(format!("{from} imports from src/lib.rs ({at})")),
                _ => {}
            }
        }
    }
    if let Some(circle) = circle(&graph) {
        problems.push(format!("an import circle: {}", circle.join(" -> ")));
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The graph: for each module, the modules it imports, each with one place that does.
fn graph(edges: &[Edge]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for e in edges {
        if e.from != e.to {
            graph
                .entry(e.from.clone())
                .or_default()
                .entry(e.to.clone())
                .or_insert_with(|| e.at.clone());
        }
    }
    graph
}

/// A circle of the graph, if it has one.
fn circle(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut circle = stack[i..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// Every import of the crate whose root is `lib`, between top-level modules (`lib` for an item
/// `src/lib.rs` defines).
fn edges(lib: &Path) -> Vec<Edge> {
    let mods = modules(lib);
    let tops: BTreeSet<String> = mods
        .iter()
        .filter(|m| m.path.len() == 1)
        .map(|m| m.path[0].clone())
        .collect();
    // The crate root's items: its re-exports by name (`Session` -> `model`) and what it defines.
    let root = mods.iter().find(|m| m.path.is_empty()).expect("src/lib.rs");
    let mut root_names: BTreeMap<String, String> = BTreeMap::new();
    for item in root.items() {
        match item.kind.as_str() {
            "use" => {
                let tree = item.bare_header().trim_start_matches("use ").to_owned();
                for (path, name) in use_paths(&tree) {
                    if let Some(first) = path.first().filter(|f| tops.contains(*f)) {
                        root_names.insert(name, first.clone());
                    }
                }
            }
            "mod" | "impl" => {}
            _ => {
                if let Some(name) = &item.name {
                    root_names.insert(name.clone(), "lib".to_owned());
                }
            }
        }
    }
    let mut out = Vec::new();
    for m in &mods {
        let from = if m.path.is_empty() {
            "lib".to_owned()
        } else {
            m.path[0].clone()
        };
        let children: BTreeSet<&str> = mods
            .iter()
            .filter(|c| c.path.len() == m.path.len() + 1 && c.path.starts_with(&m.path))
            .filter_map(|c| c.path.last().map(String::as_str))
            .collect();
        for (path, line) in paths(m) {
            let resolved = match path.first() {
                // A relative `use` path: a child module's, or another crate's.
                Some(first) if !path_is_local(&path) && children.contains(first.as_str()) => {
                    m.path.iter().chain(&path).cloned().collect()
                }
                _ => resolve(&m.path, &path),
            };
            let to = match resolved.first() {
                Some(first) if tops.contains(first) => first.clone(),
                Some(first) => match root_names.get(first) {
                    Some(top) => top.clone(),
                    None => continue,
                },
                None => continue,
            };
            // The root's own re-exports and module declarations are its table of contents.
            if from == "lib" && line.is_none() {
                continue;
            }
            out.push(Edge {
                from: from.clone(),
                to,
                at: format!(
                    "{}:{}",
                    m.file
                        .strip_prefix(lib.parent().and_then(Path::parent).unwrap_or(Path::new("")))
                        .unwrap_or(&m.file)
                        .display(),
                    line.unwrap_or(0)
                ),
            });
        }
    }
    out
}

/// Whether a path starts at the crate (`crate::`, `super::`, `self::`).
fn path_is_local(path: &[String]) -> bool {
    matches!(
        path.first().map(String::as_str),
        Some("crate" | "super" | "self")
    )
}

/// `path`, written in the module at `from`, from the crate root.
fn resolve(from: &[String], path: &[String]) -> Vec<String> {
    match path.first().map(String::as_str) {
        Some("crate") => path[1..].to_vec(),
        Some("self") => from.iter().chain(&path[1..]).cloned().collect(),
        Some("super") => {
            let mut base = from.to_vec();
            let mut rest = path;
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            base
        }
        _ => Vec::new(),
    }
}

/// The crate-relative paths a module's code names, each with its line (`None` for the crate
/// root's `pub use` items and module declarations): the paths of its `use` items, and every
/// `crate::…`, `super::…` or `self::…` path elsewhere; `#[cfg(test)]` modules left out. A
/// relative `use` path (`use diff::Walk`) is the module's own child, or another crate.
fn paths(m: &Module) -> Vec<(Vec<String>, Option<usize>)> {
    let code = &m.source.code;
    let mask = &m.source.mask;
    let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;
    let items = m.items();
    // Ranges that are not this module's own code: test modules and inline child modules.
    let skipped: Vec<std::ops::Range<usize>> = items
        .iter()
        .filter(|i| i.kind == "mod")
        .filter_map(|i| i.body.clone().map(|b| i.offset..b.end + 1))
        .collect();
    let mut out = Vec::new();
    for item in &items {
        if item.kind != "use" {
            continue;
        }
        let tree = item.bare_header().trim_start_matches("use ").to_owned();
        for (path, _) in use_paths(&tree) {
            let line = if m.path.is_empty() && item.vis == Vis::Public {
                None
            } else {
                Some(line_of(item.offset))
            };
            out.push((path, line));
        }
    }
    let uses: Vec<std::ops::Range<usize>> = items
        .iter()
        .filter(|i| i.kind == "use")
        .map(|i| i.offset..i.offset + code[i.offset..].find(';').unwrap_or(0))
        .collect();
    let b = mask.as_bytes();
    let mut i = m.range.start;
    while i < m.range.end {
        let word_start =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b':');
        let starts = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|s| word_start && mask[i..].starts_with(s));
        let inside = |r: &std::ops::Range<usize>| r.contains(&i);
        match starts {
            Some(_) if !skipped.iter().any(inside) && !uses.iter().any(inside) => {
                let len = mask[i..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '#'))
                    .unwrap_or(mask.len() - i);
                let path: Vec<String> = code[i..i + len]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(|s| s.trim_start_matches("r#").to_owned())
                    .collect();
                out.push((path, Some(line_of(i))));
                i += len;
            }
            _ => i += 1,
        }
    }
    out
}
