//! `restore-delta differential`: generated cases through an external command speaking the
//! protocol; a correct command agrees on every case, a deliberately wrong one is caught and its
//! first disagreement is written minimised (one item, no artifact) as a vector with `observed`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_restore-delta");

fn adapter() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential/adapter.py");
    format!("python3 {}", script.display())
}

fn differential(flip: Option<&str>, args: &[&str], out: &Path) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("differential")
        .args(args)
        .arg("--out")
        .arg(out)
        .env("RESTORE_DELTA", BIN)
        .env_remove("FLIP");
    if let Some(f) = flip {
        cmd.env("FLIP", f);
    }
    cmd.output().unwrap()
}

fn temp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "restore-delta-differential-{}-{name}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn a_correct_command_agrees_on_every_case() {
    let out = temp("agree");
    for mix in ["mixed", "hostile"] {
        let o = differential(
            None,
            &[
                "--cmd",
                &adapter(),
                "--seed",
                "3",
                "--count",
                "15",
                "--mix",
                mix,
            ],
            &out,
        );
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(stdout.contains("15 case(s), no disagreement"), "{stdout}");
        assert!(!out.exists(), "no file without a disagreement");
    }
}

#[test]
fn a_wrong_status_is_found_and_minimised_to_one_item_on_an_empty_collection() {
    let out = temp("flip");
    let o = differential(
        Some("item-failure"),
        &["--cmd", &adapter(), "--seed", "1", "--count", "30"],
        &out,
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("/status"), "{stdout}");
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["expected"]["status"], 200);
    assert_eq!(v["observed"]["status"], 207);
    assert!(
        v["description"].as_str().unwrap().contains("to 1 item(s)"),
        "{}",
        v["description"]
    );
    let body: Value = serde_json::from_str(v["request"].as_str().unwrap()).unwrap();
    let items: Vec<&Value> = body
        .as_object()
        .unwrap()
        .values()
        .flat_map(|d| d.as_array().unwrap())
        .collect();
    assert_eq!(items.len(), 1, "fewest items: {body}");
    let artifacts: usize = v["state"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_array)
        .map(Vec::len)
        .sum();
    assert_eq!(artifacts, 0, "smallest state: {}", v["state"]);
    // The item fails in the reference's answer too: the disagreement is the flipped status.
    let entry = &v["expected"]["body"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(n, _)| n.ends_with("@delta"))
        .unwrap()
        .1[0];
    assert!(
        entry.get("@Core.DataModificationException").is_some(),
        "{entry}"
    );
    std::fs::remove_file(out).unwrap();
}

#[test]
fn a_command_without_an_answer_disagrees() {
    let out = temp("silent");
    let o = differential(
        None,
        &[
            "--cmd",
            "cat > /dev/null; echo oops",
            "--seed",
            "1",
            "--count",
            "3",
        ],
        &out,
    );
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["observed"]["no_answer"], "oops\n");
    assert!(
        v["description"]
            .as_str()
            .unwrap()
            .contains("no JSON answer")
    );
    std::fs::remove_file(out).unwrap();
}
