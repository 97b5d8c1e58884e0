//! The `restore-delta` binary: output shape, exit codes, determinism, stdin.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_restore-delta"));
    // clap's messages without colour codes between the words the tests look for.
    c.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    c
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn example(name: &str) -> String {
    examples().join(name).to_string_lossy().into_owned()
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        // A child that fails early may exit before reading: a broken pipe is not the test's
        // business, the exit status and output are.
        let _ = input.write_all(bytes);
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn seed_example(extra: &[&str]) -> Output {
    let (state, request) = (
        example("onedrive.state.json"),
        example("onedrive.request.json"),
    );
    let mut args = vec!["apply", "--state", &state, "--request", &request];
    // A flag given twice is a clap error: `extra` replaces the default --now or --seed.
    if !extra.contains(&"--now") {
        args.extend(["--now", "2026-11-28T12:00:00Z"]);
    }
    if !extra.contains(&"--seed") {
        args.extend(["--seed", "7"]);
    }
    args.extend_from_slice(extra);
    run(&args, None)
}

fn json_out(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::str::from_utf8(&o.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON document, one line");
    serde_json::from_str(text).unwrap()
}

/// Exit 2 and nothing on stdout, as every usage error; returns stderr.
fn usage_stderr(o: &Output) -> String {
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty(), "stdout must be empty");
    err
}

/// A usage error of ours: one line on stderr, `restore-delta: ...`.
fn assert_usage_error(o: &Output, needle: &str) {
    let err = usage_stderr(o);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line on stderr: {err}"
    );
    assert!(err.starts_with("restore-delta: "), "{err:?}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

/// A usage error clap reports: clap's whole message on stderr.
fn assert_clap_error(o: &Output, needles: &[&str]) -> String {
    let err = usage_stderr(o);
    assert!(err.starts_with("error: "), "clap's message: {err:?}");
    assert!(
        err.trim_end().lines().count() > 1,
        "the whole message, not its first line: {err:?}"
    );
    for needle in needles {
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    }
    err
}

/// The flags clap lists as missing: the indented lines after "were not provided:".
fn missing_flags(err: &str) -> Vec<&str> {
    let mut lines = err.lines();
    assert!(
        lines
            .by_ref()
            .any(|l| l.ends_with("required arguments were not provided:")),
        "{err:?}"
    );
    lines
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect()
}

fn apply_with(state: &str, request: &str, extra: &[&str]) -> Output {
    let mut args = vec!["apply", "--state", state, "--request", request];
    args.extend_from_slice(extra);
    run(&args, None)
}

#[test]
fn seed_example_gives_the_documented_outcome() {
    let o = seed_example(&[]);
    let v = json_out(&o);
    // Member order is checked on the text (serde_json's map sorts its keys): now, seed,
    // response, state, nothing else.
    let text = std::str::from_utf8(&o.stdout).unwrap();
    let rest = text
        .strip_prefix(r#"{"now":"2026-11-28T12:00:00Z","seed":7,"response":"#)
        .unwrap_or_else(|| panic!("{}", &text[..80]));
    let (response, state) = rest.split_once(r#","state":"#).unwrap();
    let state = state.strip_suffix("}\n").unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(response).unwrap(),
        v["response"]
    );
    assert_eq!(serde_json::from_str::<Value>(state).unwrap(), v["state"]);
    assert_eq!(v.as_object().unwrap().len(), 4);
    assert_eq!(v["response"]["status"], 200);
    let entries = v["response"]["body"]["driveRestoreArtifacts@delta"]
        .as_array()
        .unwrap();
    assert_eq!(entries.len(), 7, "one entry per request item");
    for e in &entries[..4] {
        assert_eq!(e["status"], "added");
    }
    assert_eq!(
        entries[1]["restorePoint"]["id"], "2b014d8c-71fe-4d00-a01a-31850bc5b32",
        "echoed as sent"
    );
    assert_eq!(
        entries[4],
        json!({"@removed": {"reason": "changed"}, "id": "99954f18-c8ec-4b62-85bf-cdf3b70b140e"})
    );
    let x = &entries[5]["@Core.DataModificationException"];
    assert_eq!(
        (
            x["responseCode"].as_u64(),
            x["info"]["code"].as_str(),
            x["failedOperation"].as_str()
        ),
        (Some(409), Some("Invalid"), Some("remove"))
    );
    assert_eq!(entries[5]["id"], "4267e382-71a9-4c07-bef7-bda97e09c0d2");
    assert_eq!(entries[6]["@removed"]["reason"], "changed");
    let state = v["state"]["driveRestoreArtifacts"].as_array().unwrap();
    assert_eq!(state.len(), 4);
    assert_eq!(v["state"]["restoreSessionArtifactCount"]["total"], 4);
}

#[test]
fn output_is_byte_identical_with_now_and_seed() {
    let a = seed_example(&[]);
    let b = seed_example(&[]);
    assert_eq!(a.stdout, b.stdout);
    let c = seed_example(&["--seed", "8"]);
    json_out(&c);
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn every_shipped_example_applies() {
    for name in [
        "onedrive",
        "sharepoint",
        "exchange",
        "granular-onedrive",
        "granular-sharepoint",
    ] {
        let (s, r) = (
            example(&format!("{name}.state.json")),
            example(&format!("{name}.request.json")),
        );
        let v = json_out(&run(
            &[
                "apply",
                "--state",
                &s,
                "--request",
                &r,
                "--now",
                "2026-11-28T12:00:00Z",
                "--seed",
                "1",
            ],
            None,
        ));
        assert_eq!(v["response"]["status"], 200, "{name}");
    }
}

#[test]
fn stdin_for_either_file_but_not_both() {
    let body = br#"{"driveRestoreArtifacts@delta":[{"@removed":{},"id":"99954f18-c8ec-4b62-85bf-cdf3b70b140e"}]}"#;
    let state = example("onedrive.state.json");
    let v = json_out(&run(
        &[
            "apply",
            "--state",
            &state,
            "--request",
            "-",
            "--now",
            "2026-11-28T12:00:00Z",
            "--seed",
            "1",
        ],
        Some(body),
    ));
    assert_eq!(
        v["state"]["driveRestoreArtifacts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let state_bytes = std::fs::read(example("onedrive.state.json")).unwrap();
    let req = example("onedrive.request.json");
    let v = json_out(&run(
        &[
            "apply",
            "--state",
            "-",
            "--request",
            &req,
            "--now",
            "2026-11-28T12:00:00Z",
            "--seed",
            "1",
        ],
        Some(&state_bytes),
    ));
    assert_eq!(v["response"]["status"], 200);
    assert_usage_error(
        &run(&["apply", "--state", "-", "--request", "-"], Some(b"{}")),
        "stdin",
    );
}

#[test]
fn any_response_exits_zero_whatever_its_status() {
    let state = example("onedrive.state.json");
    let v = json_out(&run(
        &[
            "apply",
            "--state",
            &state,
            "--request",
            "-",
            "--now",
            "2026-11-28T12:00:00Z",
        ],
        Some(b"not json"),
    ));
    assert_eq!(v["response"]["status"], 400);
    assert_eq!(
        v["response"]["body"]["error"]["code"],
        "InvalidPatchRequest"
    );
    let input: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(
        v["state"], input,
        "a refused request returns the input state"
    );
}

#[test]
fn options_from_flags() {
    let v = json_out(&seed_example(&["--atomic"]));
    assert_eq!(v["response"]["status"], 409);
    assert_eq!(
        v["response"]["body"]["error"]["details"][0]["target"],
        "driveRestoreArtifacts@delta/5"
    );
    let mut w = json_out(&seed_example(&["--prefer", "continue-on-error=false"]));
    assert_eq!(
        v["response"]["preferenceApplied"],
        Value::Null,
        "--atomic is no preference"
    );
    assert_eq!(
        w["response"]["preferenceApplied"],
        "continue-on-error=false"
    );
    w["response"]["preferenceApplied"] = Value::Null;
    assert_eq!(
        v, w,
        "--prefer continue-on-error=false behaves like --atomic"
    );
    let v = json_out(&seed_example(&["--max-items", "3"]));
    assert_eq!(
        v["response"]["body"]["error"]["code"],
        "RestoreArtifactsLimitBreached"
    );
    let v = json_out(&seed_example(&["--max-bytes", "10"]));
    assert_eq!(v["response"]["status"], 413);
    let v = json_out(&seed_example(&["--max-depth", "3"]));
    assert_eq!(v["response"]["status"], 400);
    let v = json_out(&seed_example(&["--missing-removal", "succeed"]));
    assert_eq!(
        v["response"]["body"]["driveRestoreArtifacts@delta"][5]["@removed"]["reason"],
        "changed"
    );
    // minimal with a failure: the full body all the same; without failures: 204 and null.
    let v = json_out(&seed_example(&["--prefer", "return=minimal"]));
    assert_eq!(v["response"]["status"], 200);
    let state = example("onedrive.state.json");
    let v = json_out(&run(&["apply", "--state", &state, "--request", "-", "--prefer", "return=minimal", "--now", "2026-11-28T12:00:00Z"],
        Some(br#"{"driveRestoreArtifacts@delta":[{"@removed":{},"id":"99954f18-c8ec-4b62-85bf-cdf3b70b140e"}]}"#)));
    assert_eq!(
        v["response"],
        json!({"status": 204, "body": null, "preferenceApplied": "return=minimal"})
    );
}

#[test]
fn preference_applied_is_printed() {
    // After `body`, inside `response`; null when nothing was honoured.
    let o = seed_example(&[]);
    let text = std::str::from_utf8(&o.stdout).unwrap();
    assert!(
        text.contains(r#""preferenceApplied":null},"state":"#),
        "{}",
        &text[..200]
    );
    let v = json_out(&seed_example(&[
        "--prefer",
        "odata.continue-on-error, include-unknown-enum-members",
        "--prefer",
        "continue-on-error=false",
    ]));
    assert_eq!(
        v["response"]["status"], 200,
        "the first continue-on-error counts"
    );
    assert_eq!(
        v["response"]["preferenceApplied"],
        "odata.continue-on-error, include-unknown-enum-members"
    );
}

#[test]
fn actor_is_written_to_last_modified_by() {
    let dir = std::env::temp_dir().join(format!("restore-delta-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let actor = dir.join("actor.json");
    std::fs::write(&actor, r#"{"user":{"id":"u9","displayName":"Ada"}}"#).unwrap();
    let v = json_out(&seed_example(&["--actor", actor.to_str().unwrap()]));
    assert_eq!(
        v["state"]["lastModifiedBy"],
        json!({"user": {"displayName": "Ada", "id": "u9"}})
    );
    std::fs::write(&actor, "[1]").unwrap();
    assert_usage_error(
        &seed_example(&["--actor", actor.to_str().unwrap()]),
        "--actor",
    );
    std::fs::write(&actor, "{").unwrap();
    assert_usage_error(
        &seed_example(&["--actor", actor.to_str().unwrap()]),
        "--actor",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    assert_usage_error(&seed_example(&["--now", "yesterday"]), "--now");
    assert_usage_error(&seed_example(&["--now", "2026-02-30T00:00:00Z"]), "--now");
    assert_usage_error(
        &run(
            &["apply", "--state", "/nonexistent/s.json", "--request", "-"],
            Some(b"{}"),
        ),
        "can't read",
    );
    assert_usage_error(
        &run(
            &[
                "apply",
                "--state",
                "-",
                "--request",
                &example("onedrive.request.json"),
            ],
            Some(b"[1]"),
        ),
        "state",
    );
    assert_usage_error(
        &run(
            &[
                "apply",
                "--state",
                "-",
                "--request",
                &example("onedrive.request.json"),
            ],
            Some(b"{\"id\":\"x\"}"),
        ),
        "kind",
    );
}

#[test]
fn clap_errors_exit_2_with_clap_whole_message() {
    let err = assert_clap_error(&run(&["apply"], None), &["--state", "--request", "Usage:"]);
    assert_eq!(missing_flags(&err), ["--state", "--request"]);
    let err = assert_clap_error(&run(&["apply", "--state", "s.json"], None), &["--request"]);
    assert_eq!(missing_flags(&err), ["--request"]);
    let err = assert_clap_error(&run(&["apply", "--request", "r.json"], None), &["--state"]);
    assert_eq!(missing_flags(&err), ["--state"]);

    let err = assert_clap_error(
        &seed_example(&["--missing-removal", "maybe"]),
        &["maybe", "--missing-removal"],
    );
    let values = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("[possible values: "))
        .unwrap_or_else(|| panic!("no possible values in {err:?}"));
    assert_eq!(values, "fail, succeed]");

    assert_clap_error(&seed_example(&["--seed", "-1"]), &["'-1'", "--seed"]);
    assert_clap_error(
        &seed_example(&["--seed", "18446744073709551616"]),
        &["18446744073709551616", "--seed"],
    );
    assert_clap_error(
        &seed_example(&["--max-items", "many"]),
        &["many", "--max-items"],
    );
    assert_clap_error(&seed_example(&["--frobnicate"]), &["--frobnicate"]);
    assert_clap_error(&run(&["frobnicate"], None), &["frobnicate"]);
}

#[test]
fn output_carries_the_now_and_seed_it_used() {
    let (s, r) = (
        example("onedrive.state.json"),
        example("onedrive.request.json"),
    );
    // An offset is written back in UTC, as the library writes every timestamp.
    let o = apply_with(
        &s,
        &r,
        &["--now", "2026-11-28T13:00:00.250+01:00", "--seed", "3"],
    );
    let v = json_out(&o);
    assert_eq!(v["now"], "2026-11-28T12:00:00.25Z");
    assert_eq!(v["seed"], 3);
    assert_eq!(
        v["state"]["lastModifiedDateTime"], v["now"],
        "the clock value the run used"
    );
    let z = apply_with(&s, &r, &["--now", "2026-11-28T12:00:00.25Z", "--seed", "3"]);
    assert_eq!(o.stdout, z.stdout);
}

#[test]
fn a_run_without_now_and_seed_replays_from_its_output() {
    let (s, r) = (
        example("onedrive.state.json"),
        example("onedrive.request.json"),
    );
    for _ in 0..2 {
        let first = apply_with(&s, &r, &[]);
        let v = json_out(&first);
        let now = v["now"].as_str().unwrap().to_owned();
        let seed = v["seed"].as_u64().unwrap();
        assert!(
            seed < 1 << 53,
            "a default seed reads back exactly even as a double: {seed}"
        );
        assert_eq!(v["state"]["lastModifiedDateTime"], now.as_str());
        let again = apply_with(&s, &r, &["--now", &now, "--seed", &seed.to_string()]);
        assert_eq!(
            String::from_utf8(again.stdout).unwrap(),
            String::from_utf8(first.stdout).unwrap(),
            "--now {now} --seed {seed} replays the run"
        );
    }
}

#[test]
fn seeds_above_2_pow_53_round_trip_through_the_output_text() {
    let (s, r) = (
        example("onedrive.state.json"),
        example("onedrive.request.json"),
    );
    let out = |seed: &str| {
        let o = apply_with(&s, &r, &["--now", "2026-11-28T12:00:00Z", "--seed", seed]);
        json_out(&o);
        String::from_utf8(o.stdout).unwrap()
    };
    // 2^53 + 1 is the first integer a double can't hold; it would be read as 2^53.
    for seed in ["9007199254740993", "18446744073709551615"] {
        let text = out(seed);
        let prefix = r#"{"now":"2026-11-28T12:00:00Z","seed":"#;
        let rest = text.strip_prefix(prefix).unwrap();
        let written = &rest[..rest.find(',').unwrap()];
        assert_eq!(written, seed, "every digit, as a JSON number");
        let read = serde_json::from_str::<Value>(&text).unwrap()["seed"]
            .as_u64()
            .unwrap()
            .to_string();
        assert_eq!(read, seed, "a JSON reader gets the seed back");
        assert_eq!(out(&read), text, "replayed from the seed read back");
    }
    assert_ne!(
        out("9007199254740993"),
        out("9007199254740992"),
        "neighbouring seeds above 2^53 give different ids"
    );
}

#[test]
fn help_explains_every_flag_with_an_example() {
    let o = run(&["apply", "--help"], None);
    assert!(o.status.success());
    let help = String::from_utf8(o.stdout).unwrap();
    for flag in [
        "--state",
        "--request",
        "--now",
        "--seed",
        "--atomic",
        "--prefer",
        "--max-items",
        "--max-bytes",
        "--max-depth",
        "--missing-removal",
        "--actor",
        "Examples:",
        "clap's message",
        r#"{"now":"<RFC 3339>","seed":N,"response""#,
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn defaults_for_now_and_seed_still_produce_a_response() {
    let (s, r) = (
        example("onedrive.state.json"),
        example("onedrive.request.json"),
    );
    let a = json_out(&run(&["apply", "--state", &s, "--request", &r], None));
    let b = json_out(&run(&["apply", "--state", &s, "--request", &r], None));
    assert_eq!(a["response"]["status"], 200);
    let id = |v: &Value| v["state"]["driveRestoreArtifacts"][0]["id"].clone();
    assert_ne!(id(&a), id(&b), "without --seed, ids differ between runs");
}

#[test]
fn a_state_that_fails_while_read_is_unreadable() {
    // A directory opens, then fails when read: the state is read as it is parsed, and the read
    // error is reported as for a file that can't be opened.
    let dir = std::env::temp_dir();
    let dir = dir.to_str().unwrap();
    assert_usage_error(
        &run(&["apply", "--state", dir, "--request", "-"], Some(b"{}")),
        &format!("can't read {dir}: "),
    );
}
