//! `restore-delta gen`: the same flags give the same files, byte for byte; the files are the
//! library's vectors of the generated cases; `--jsonl` writes the same vectors as lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use restore_delta::SessionKind;
use restore_delta::generate::{Generator, Mix};
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
                "Generated case {i} of `restore-delta gen --seed 9 --mix hostile --kind exchange`."
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

/// The body of a vector's `request` (its text) or `request_hex`.
fn body_of(v: &Value) -> Vec<u8> {
    match (&v["request"], &v["request_hex"]) {
        (Value::String(text), _) => text.clone().into_bytes(),
        (_, Value::String(hex)) => (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect(),
        _ => panic!("no request in {v}"),
    }
}

#[test]
fn corpus_holds_each_body_and_the_dictionary_same_seed_same_files() {
    let (a, b) = (temp("corpus-a"), temp("corpus-b"));
    for dir in [&a, &b] {
        let o = gen_cmd(&[
            "--seed",
            "12",
            "--count",
            "80",
            "--mix",
            "hostile",
            "--corpus",
            dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(o.stdout.is_empty(), "--corpus alone writes no vectors");
    }
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), 81, "80 bodies and the dictionary");
    assert_eq!(fa, fb, "same seed, same files, byte for byte");
    // Each body is the request of the vector `--jsonl` writes for the same case.
    let o = gen_cmd(&[
        "--seed", "12", "--count", "80", "--mix", "hostile", "--jsonl",
    ]);
    let vectors: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut not_utf8 = 0;
    for (i, v) in vectors.iter().enumerate() {
        let body = std::fs::read(a.join(format!("{i:05}"))).unwrap();
        assert_eq!(body, body_of(v), "case {i}");
        not_utf8 += usize::from(std::str::from_utf8(&body).is_err());
    }
    assert!(
        not_utf8 > 0,
        "the hostile corpus keeps bodies that are not UTF-8"
    );
    // The dictionary: comments and `name="value"` lines; the vocabulary groups are there.
    let dict = std::fs::read_to_string(a.join("restore-delta.dict")).unwrap();
    for line in dict.lines() {
        assert!(
            line.starts_with('#') || (line.contains("=\"") && line.ends_with('"')),
            "{line}"
        );
    }
    for token in [
        r#""\"mailboxRestoreArtifacts@delta\"""#,
        r#""\"@odata.removed\"""#,
        r#""\"inPlace\"""#,
        r#""\"RestoreArtifactsLimitBreached\"""#,
        r#""\"granularSiteRestoreArtifacts\"""#,
    ] {
        assert!(dict.contains(token), "{token} not in\n{dict}");
    }
    for d in [a, b] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn steps_write_sequences_in_the_steps_form_and_their_bodies() {
    let (out, corpus) = (temp("steps-out"), temp("steps-corpus"));
    let o = gen_cmd(&[
        "--seed",
        "4",
        "--count",
        "10",
        "--steps",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--corpus",
        corpus.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut generator = Generator::new(4);
    for (i, (name, bytes)) in files(&out).iter().enumerate() {
        let expected = generator
            .sequence(3)
            .vector(&format!(
                "Generated case {i} of `restore-delta gen --seed 4 --mix mixed --steps 3`."
            ))
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(bytes),
            format!("{expected}\n"),
            "{name}"
        );
        let v: Value = serde_json::from_slice(bytes).unwrap();
        let steps = v["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 3);
        assert!(v.get("request").is_none() && v.get("expected").is_none());
        for (s, step) in steps.iter().enumerate() {
            let body = std::fs::read(corpus.join(format!("{i:05}-{}", s + 1))).unwrap();
            assert_eq!(body, body_of(step));
            assert!(step["expected"]["status"].is_u64());
        }
        // The clock never goes back.
        let nows: Vec<&str> = steps.iter().map(|s| s["now"].as_str().unwrap()).collect();
        assert!(nows.windows(2).all(|w| w[0] <= w[1]), "{nows:?}");
    }
    assert_eq!(files(&corpus).len(), 31);
    let o = gen_cmd(&["--seed", "1", "--count", "1", "--steps", "0", "--jsonl"]);
    assert_eq!(o.status.code(), Some(2), "--steps 0 is refused");
    for d in [out, corpus] {
        std::fs::remove_dir_all(d).unwrap();
    }
}
