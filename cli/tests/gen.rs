//! `restore-delta gen`: the same flags give the same files, byte for byte; the files are the
//! library's vectors of the generated cases; `--jsonl` writes the same vectors as lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use restore_delta::SessionKind;
use restore_delta::r#gen::{Generator, Mix};
use serde_json::Value;

fn gen_cmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_restore-delta"))
        .arg("gen")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "restore-delta-cli-gen-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn same_seed_same_files_byte_for_byte() {
    let (a, b) = (temp("a"), temp("b"));
    for dir in [&a, &b] {
        let o = gen_cmd(&[
            "--seed",
            "5",
            "--count",
            "60",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), 60);
    assert_eq!(fa, fb);
    let c = temp("c");
    let o = gen_cmd(&["--seed", "6", "--count", "60", "--out", c.to_str().unwrap()]);
    assert!(o.status.success());
    assert_ne!(files(&c), fa, "another seed, other files");
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn files_are_the_vectors_of_the_generated_cases_named_by_their_first_rule() {
    let dir = temp("kind");
    let o = gen_cmd(&[
        "--seed",
        "9",
        "--count",
        "40",
        "--kind",
        "exchange",
        "--mix",
        "hostile",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written = files(&dir);
    let cases = Generator::new(9)
        .kind(SessionKind::Exchange)
        .mix(Mix::Hostile)
        .take(40);
    for (i, ((name, bytes), case)) in written.iter().zip(cases).enumerate() {
        let v: Value = serde_json::from_slice(bytes).unwrap();
        let first = v["rules"][0].as_str().unwrap().to_ascii_lowercase();
        assert_eq!(name, &format!("{i:05}-{first}.json"));
        assert_eq!(
            v["state"]["@odata.type"],
            "#microsoft.graph.exchangeRestoreSession"
        );
        let expected = case
            .vector(&format!(
                "Generated case {i} of `restore-delta gen --seed 9 --mix hostile`."
            ))
            .unwrap();
        assert_eq!(String::from_utf8_lossy(bytes), format!("{expected}\n"));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn jsonl_writes_one_vector_a_line_with_every_kind() {
    let o = gen_cmd(&["--seed", "3", "--count", "90", "--mix", "valid", "--jsonl"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 90);
    let mut kinds = std::collections::BTreeSet::new();
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        kinds.insert(v["state"]["@odata.type"].as_str().unwrap().to_owned());
        assert!(v["expected"]["status"].is_u64());
        assert!(!v["rules"].as_array().unwrap().is_empty());
    }
    assert_eq!(kinds.len(), 3);
}

#[test]
fn an_output_is_required() {
    let o = gen_cmd(&["--seed", "1", "--count", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}
