//! `restore-delta conform` against the local server, started in-process through its library,
//! over real HTTP (and HTTPS with its local CA): a faithful server gives no finding, every
//! session created is deleted, the reports are written; retried faults are no findings; a
//! failing sequence is shrunk into a reproducer that replays; a killed run's ledger is
//! cleaned up; Ctrl-C deletes what was created.

mod common;

use common::{Local, Setup, bin, run, scratch, text};
use serde_json::Value;

#[test]
fn a_faithful_server_gives_no_finding_and_is_left_as_it_was() {
    let server = Local::start(Setup {
        seed: 7,
        ..Setup::default()
    });
    let dir = scratch("conform-faithful");
    let junit = dir.join("conform.xml");
    let json = dir.join("conform.json");
    let har = dir.join("conform.har");
    let root = server.root();
    let out = run(&[
        "conform",
        "--url",
        &root,
        "--seed",
        "5",
        "--max-requests",
        "600",
        "--rate",
        "0",
        "--concurrency",
        "2",
        "--report",
        &format!("junit={}", junit.display()),
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("har={}", har.display()),
        "--reproducers",
        dir.join("repro").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no finding"), "{stdout}");
    assert!(stdout.contains("X3 "), "a per-rule table: {stdout}");
    assert_eq!(server.sessions(), 0, "every session created is deleted");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["conformant"], true);
    assert!(
        report["exchanges_judged"].as_u64().unwrap() > 300,
        "{report}"
    );
    for rule in ["E6", "X1", "X3", "X4", "A2", "A7", "G4"] {
        assert!(
            report["rules"][rule]["decided"].as_u64().unwrap_or(0) > 0,
            "{rule}: {report}"
        );
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testcase classname=\"restore-delta.conform\" name=\"A7\""),
        "{xml}"
    );
    assert!(!xml.contains("<failure"), "{xml}");
    // The ledger lists every session as created, then deleted.
    let ledger = std::fs::read_to_string(dir.join("repro/conform-ledger.jsonl")).unwrap();
    let created = ledger.matches("\"created\"").count();
    assert!(
        created >= 2 && created == ledger.matches("\"deleted\"").count(),
        "{ledger}"
    );
    // The HAR of the whole run, a real client's capture from each session's creation, is
    // judged whole by `check --har` with no --state.
    let capture: Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    assert!(capture["log"]["entries"].as_array().unwrap().len() >= 600);
    let origin = server.http.clone();
    let out = run(&[
        "check",
        "--har",
        har.to_str().unwrap(),
        "--service-root",
        &format!("{origin}/v1.0/"),
        "--service-root",
        &format!("{origin}/beta/"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn https_with_the_server_s_local_ca() {
    let dir = scratch("conform-https");
    let server = Local::start(Setup {
        seed: 3,
        tls_dir: Some(dir.join("tls")),
        ..Setup::default()
    });
    let root = format!("{}/v1.0", server.https.as_deref().unwrap());
    let ca = server.ca.clone().unwrap();
    let out = run(&[
        "conform",
        "--url",
        &root,
        "--ca-cert",
        ca.to_str().unwrap(),
        "--max-requests",
        "150",
        "--rate",
        "0",
        "--seed",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.sessions(), 0);
    // Without the CA, the server's certificate is not trusted: unreachable, exit 2.
    let out = run(&[
        "conform",
        "--url",
        &root,
        "--max-requests",
        "10",
        "--rate",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("restore-delta: ") && l.contains("unreachable"))
            .count(),
        1,
        "{}",
        text(&out)
    );
    // --insecure accepts it.
    let out = run(&[
        "conform",
        "--url",
        &root,
        "--insecure",
        "--max-requests",
        "40",
        "--rate",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Specificity (issue 21 §3, the part run in `cargo test`): a faithful server with 20 % of
/// its requests answered 429 or 503 (Retry-After 0) and latency: about 1,000 exchanges, no
/// finding; the retries are not findings.
#[test]
fn faults_that_are_retried_are_no_findings() {
    let server = Local::start(Setup {
        seed: 11,
        faults: Some((0.2, vec![429, 503], 0, 1)),
        ..Setup::default()
    });
    let dir = scratch("conform-faults");
    let har = dir.join("run.har");
    let out = run(&[
        "conform",
        "--url",
        &server.root(),
        "--seed",
        "8",
        "--max-requests",
        "1300",
        "--rate",
        "0",
        "--concurrency",
        "4",
        "--report",
        &format!("har={}", har.display()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let capture: Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    let retried: u64 = capture["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["_retried"].as_u64().unwrap_or(0))
        .sum();
    assert!(retried > 100, "faults were met and retried: {retried}");
    assert_eq!(server.sessions(), 0);
}

/// A target judged with other settings than it has (here: the item limit) fails; the first
/// failing sequence is shrunk into a reproducer; `conform replay` fails with the same wrong
/// settings and passes with the right ones; `repro.sh` replays it with curl and python3.
#[test]
fn a_failing_sequence_becomes_a_reproducer_that_replays() {
    let server = Local::start(Setup {
        seed: 21,
        ..Setup::default()
    });
    let dir = scratch("conform-repro");
    let repro = dir.join("failing");
    let root = server.root();
    let out = run(&[
        "conform",
        "--url",
        &root,
        "--seed",
        "4",
        "--max-items",
        "3",
        "--sessions",
        "2",
        "--steps",
        "8",
        "--rate",
        "0",
        "--reproducers",
        repro.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("RestoreArtifactsLimitBreached"), "{stdout}");
    let one = std::fs::read_dir(&repro)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a reproducer directory");
    for file in [
        "steps.json",
        "vector.json",
        "capture.har",
        "repro.sh",
        "findings.txt",
    ] {
        assert!(one.join(file).is_file(), "{file}");
    }
    let vector: Value =
        serde_json::from_str(&std::fs::read_to_string(one.join("vector.json")).unwrap()).unwrap();
    let steps = vector["steps"].as_array().unwrap();
    assert!(!steps.is_empty() && steps.len() <= 8, "{vector}");
    assert!(steps.last().unwrap()["observed"].is_object());
    assert!(!vector["rules"].as_array().unwrap().is_empty(), "{vector}");
    assert_eq!(
        server.sessions(),
        0,
        "the shrinking's sessions are deleted too"
    );
    let replay = |extra: &[&str]| {
        let mut args = vec!["conform", "replay", repro.to_str().unwrap(), "--url", &root];
        args.extend_from_slice(extra);
        run(&args)
    };
    let out = replay(&["--max-items", "3"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = replay(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.sessions(), 0);
    let out = std::process::Command::new("sh")
        .arg(one.join("repro.sh"))
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.lines().next().unwrap().starts_with("POST ") && said.contains(" 201 "),
        "{said}"
    );
    assert!(
        said.contains("PATCH ") && said.trim_end().ends_with("204"),
        "{said}"
    );
    assert_eq!(server.sessions(), 0);
}

/// `--keep` leaves the sessions and their ledger; `conform cleanup LEDGER` deletes them.
#[test]
fn cleanup_deletes_what_a_ledger_lists() {
    let server = Local::start(Setup {
        seed: 31,
        ..Setup::default()
    });
    let dir = scratch("conform-cleanup");
    let root = server.root();
    let out = run(&[
        "conform",
        "--url",
        &root,
        "--sessions",
        "2",
        "--steps",
        "2",
        "--rate",
        "0",
        "--keep",
        "--reproducers",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.sessions(), 2);
    let ledger = dir.join("conform-ledger.jsonl");
    let out = run(&[
        "conform",
        "cleanup",
        ledger.to_str().unwrap(),
        "--url",
        &root,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.sessions(), 0);
    // Again: nothing left to delete.
    let out = run(&[
        "conform",
        "cleanup",
        ledger.to_str().unwrap(),
        "--url",
        &root,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Ctrl-C: the requests in flight finish, the sessions created are deleted, exit 130.
#[test]
fn ctrl_c_deletes_the_sessions_created() {
    let server = Local::start(Setup {
        seed: 41,
        ..Setup::default()
    });
    let child = common::bin()
        .args([
            "conform",
            "--url",
            &server.root(),
            "--rate",
            "40",
            "--concurrency",
            "2",
            "--duration",
            "60",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.sessions() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(server.sessions() >= 1);
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert_eq!(server.sessions(), 0);
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    for args in [
        vec!["conform", "--url", "ftp://x"],
        vec![
            "conform",
            "--url",
            "http://127.0.0.1:9/v1.0",
            "--report",
            "xml=x",
        ],
        vec![
            "conform",
            "--url",
            "http://127.0.0.1:9/v1.0",
            "--header",
            "NoColon",
        ],
        // Nothing listens on port 9 of loopback: unreachable.
        vec![
            "conform",
            "--url",
            "http://127.0.0.1:9/v1.0",
            "--max-requests",
            "5",
            "--timeout",
            "2",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.lines()
                .filter(|l| l.starts_with("restore-delta: ") && !l.contains("ledger"))
                .count(),
            1,
            "{args:?}: {err}"
        );
    }
}

/// A capture from creation judged whole (`check --har` without --state) finds a create, a
/// read and a `Preference-Applied` header that differ from the reference.
#[test]
fn a_whole_capture_finds_what_differs() {
    let server = Local::start(Setup {
        seed: 51,
        ..Setup::default()
    });
    let dir = scratch("conform-whole-capture");
    let har = dir.join("run.har");
    let out = run(&[
        "conform",
        "--url",
        &server.root(),
        "--seed",
        "6",
        "--sessions",
        "2",
        "--steps",
        "10",
        "--rate",
        "0",
        "--report",
        &format!("har={}", har.display()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let capture: Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    let roots = [
        format!("{}/v1.0/", server.http),
        format!("{}/beta/", server.http),
    ];
    let judge = |capture: &Value| {
        let file = dir.join("changed.har");
        std::fs::write(&file, capture.to_string()).unwrap();
        let out = run(&[
            "check",
            "--har",
            file.to_str().unwrap(),
            "--service-root",
            &roots[0],
            "--service-root",
            &roots[1],
            "--json",
        ]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), v)
    };
    let (code, v) = judge(&capture);
    assert_eq!(code, Some(0), "{v}");
    let entries = capture["log"]["entries"].as_array().unwrap();
    let find = |method: &str, pred: &dyn Fn(&Value) -> bool| {
        entries
            .iter()
            .position(|e| e["request"]["method"] == method && pred(e))
            .unwrap()
    };
    let rules_of = |v: &Value| -> Vec<String> {
        v["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|x| {
                x["verdict"]["differences"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|d| d["rule"].as_str().map(str::to_owned))
            .collect()
    };
    // A create answered with another status member.
    let mut changed = capture.clone();
    let i = find("POST", &|_| true);
    let text = changed["log"]["entries"][i]["response"]["content"]["text"]
        .as_str()
        .unwrap()
        .replace("\"draft\"", "\"active\"");
    changed["log"]["entries"][i]["response"]["content"]["text"] = Value::String(text);
    let (code, v) = judge(&changed);
    assert_eq!(code, Some(1), "{v}");
    assert!(rules_of(&v).contains(&"L3".to_owned()), "{v}");
    // A page of a collection without its first artifact.
    let mut changed = capture.clone();
    let i = find("GET", &|e| {
        e["request"]["url"]
            .as_str()
            .unwrap()
            .ends_with("RestoreArtifacts")
    });
    let mut page: Value = serde_json::from_str(
        changed["log"]["entries"][i]["response"]["content"]["text"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    page["value"].as_array_mut().unwrap().remove(0);
    changed["log"]["entries"][i]["response"]["content"]["text"] = Value::String(page.to_string());
    let (code, v) = judge(&changed);
    assert_eq!(code, Some(1), "{v}");
    assert!(rules_of(&v).contains(&"L9".to_owned()), "{v}");
    // A PATCH answered with a Preference-Applied header it should not have.
    let mut changed = capture.clone();
    let i = find("PATCH", &|e| e["response"]["status"] == 200);
    changed["log"]["entries"][i]["response"]["headers"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "Preference-Applied", "value": "return=minimal"}));
    let (code, v) = judge(&changed);
    assert_eq!(code, Some(1), "{v}");
    assert!(rules_of(&v).contains(&"O8".to_owned()), "{v}");
}

/// The same seed and flags send the same requests (here, with the same server seed, the same
/// ids too: byte for byte, in the same order with --concurrency 1).
#[test]
fn the_same_seed_sends_the_same_requests() {
    let requests = || {
        let server = Local::start(Setup {
            seed: 61,
            ..Setup::default()
        });
        let dir = scratch("conform-same-seed");
        let har = dir.join("run.har");
        let out = run(&[
            "conform",
            "--url",
            &server.root(),
            "--seed",
            "12",
            "--sessions",
            "3",
            "--steps",
            "12",
            "--rate",
            "0",
            "--report",
            &format!("har={}", har.display()),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let capture: Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
        let port = server.http.rsplit(':').next().unwrap().to_owned();
        capture["log"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}",
                    e["request"]["method"], e["request"]["url"], e["request"]["postData"]["text"]
                )
                .replace(&port, "PORT")
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (requests(), requests());
    assert!(a.len() > 40);
    assert_eq!(a, b);
}

/// A target that refuses the credentials is a usage error (exit 2) naming the status, Graph's
/// code and where to give a token, not findings against the lifecycle rules; with the right
/// token from the environment, the same run is clean.
#[test]
fn refused_credentials_exit_2_and_say_how_to_give_a_token() {
    let server = Local::start(Setup {
        seed: 5,
        token: Some("s3cret".into()),
        ..Setup::default()
    });
    let root = server.root();
    let args = [
        "conform",
        "--url",
        &root,
        "--max-requests",
        "20",
        "--rate",
        "0",
    ];
    for token in [None, Some("wrong")] {
        let mut cmd = bin();
        cmd.args(args);
        if let Some(token) = token {
            cmd.env("RESTORE_DELTA_TOKEN", token);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{token:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("restore-delta: ") && !l.contains("ledger"))
            .collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(
            lines[0].contains("refused the credentials: 401 InvalidAuthenticationToken")
                && lines[0].contains("--token-file"),
            "{err}"
        );
    }
    let out = bin()
        .args(args)
        .env("RESTORE_DELTA_TOKEN", "s3cret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.sessions(), 0);
}
