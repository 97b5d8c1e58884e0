//! The documents' commands run as written, and their links lead somewhere: the README's quick
//! start, the check example of docs/CHECK.md (its jq and sed done here), and every relative link
//! of the repository's Markdown documents.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The first command of the first ```sh block of `doc` that starts with `prefix`, as words.
fn command(doc: &str, prefix: &str) -> Vec<String> {
    let text = read(doc);
    let line = text
        .split("```sh\n")
        .skip(1)
        .flat_map(|block| block.split("```").next().unwrap_or_default().lines())
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` command in {doc}"))
        .to_owned();
    line.split_whitespace().map(str::to_owned).collect()
}

/// Runs `restore-delta` with the words after `cargo run -q -p restore-delta-cli --`, from the
/// repository's root (the documents' commands are written for it).
fn run_cli(words: &[String]) -> Output {
    let rest: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .skip_while(|w| *w != "--")
        .skip(1)
        .collect();
    Command::new(env!("CARGO_BIN_EXE_restore-delta"))
        .args(&rest)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn the_quick_start_runs_as_written() {
    for doc in ["README.md", "docs/CLI.md"] {
        let words = command(doc, "cargo run -q -p restore-delta-cli -- apply");
        let out = run_cli(&words);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{doc}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(answer["now"], "2026-11-28T12:00:00Z");
        assert_eq!(answer["seed"], 7);
        assert_eq!(answer["response"]["status"], 200);
        let entries = answer["response"]["body"]["driveRestoreArtifacts@delta"]
            .as_array()
            .unwrap();
        // Four additions and three removals, one of an id the session does not hold: 409.
        assert_eq!(entries.len(), 7, "{doc}");
        let failed: Vec<&Value> = entries
            .iter()
            .filter(|e| e.get("@Core.DataModificationException").is_some())
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(
            failed[0]["@Core.DataModificationException"]["responseCode"],
            409
        );
    }
    // The quick start's other command is the test command `.ci/run` runs.
    let readme = read("README.md");
    assert!(readme.contains("\ncargo test --workspace\n"));
    assert!(read(".ci/run").contains("\ncargo test --workspace\n"));
}

#[test]
fn the_check_example_answers_as_documented() {
    let doc = read("docs/CHECK.md");
    let bin = env!("CARGO_BIN_EXE_restore-delta");
    let dir = std::env::temp_dir().join(format!("rd-docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = "examples/onedrive.state.json";
    let request = "examples/onedrive.request.json";
    let applied = Command::new(bin)
        .args(["apply", "--state", state, "--request", request])
        .args(["--now", "2026-11-28T12:00:00Z", "--seed", "7"])
        .current_dir(root())
        .output()
        .unwrap();
    let body: Value =
        serde_json::from_slice::<Value>(&applied.stdout).unwrap()["response"]["body"].clone();
    // `jq '.response.body' | sed 's/<id>/server-made-1/; s/<time>/…/'`, as the document does.
    let text = serde_json::to_string_pretty(&body)
        .unwrap()
        .replacen("d70d3259-e4e1-4b63-9c66-3cf4d73c4c04", "server-made-1", 1)
        .replacen("2026-11-28T12:00:00Z", "2026-11-28T12:00:02.125Z", 1);
    assert!(doc.contains("s/d70d3259-e4e1-4b63-9c66-3cf4d73c4c04/server-made-1/"));
    let response = dir.join("response.json");
    std::fs::write(&response, &text).unwrap();
    let check = |file: &Path, more: &[&str]| {
        Command::new(bin)
            .args([
                "check",
                "--state",
                state,
                "--request",
                request,
                "--status",
                "200",
            ])
            .arg("--response")
            .arg(file)
            .args(more)
            .current_dir(root())
            .output()
            .unwrap()
    };
    let out = check(&response, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("conformant"));
    // `sed 's/"responseCode": 409/"responseCode": 404/'`
    let deviating = dir.join("deviating.json");
    std::fs::write(
        &deviating,
        text.replace("\"responseCode\": 409", "\"responseCode\": 404"),
    )
    .unwrap();
    let out = check(&deviating, &[]);
    assert_eq!(out.status.code(), Some(1));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in printed.lines() {
        assert!(
            doc.contains(line.trim()),
            "the document shows {line:?}:\n{printed}"
        );
    }
    let out = check(&deviating, &["--ignore", "X3"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(doc.contains(String::from_utf8_lossy(&out.stdout).trim()));
    let _ = std::fs::remove_dir_all(dir);
}

/// The Markdown documents of the repository.
fn documents() -> Vec<PathBuf> {
    let mut out = vec![
        root().join("README.md"),
        root().join("ARCHITECTURE.md"),
        root().join("CHANGELOG.md"),
        root().join("server/README.md"),
        root().join("fuzz/README.md"),
    ];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_relative_link_of_the_documents_leads_to_a_file() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let dir = doc.parent().unwrap();
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let target = &rest[..rest.find(')').unwrap_or(rest.len())];
            if ["https://", "http://", "#", "mailto:"]
                .iter()
                .any(|p| target.starts_with(p))
            {
                continue;
            }
            let file = target.split('#').next().unwrap_or_default();
            checked += 1;
            if !dir.join(file).exists() {
                broken.push(format!("{}: {target}", doc.display()));
            }
        }
    }
    assert!(checked >= 15, "{checked} links");
    assert_eq!(broken, Vec::<String>::new(), "links to nothing");
}
