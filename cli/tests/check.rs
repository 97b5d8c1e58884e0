//! `restore-delta check`: exit codes, the report and `--json`, `--ignore`, `--profile`,
//! `--time-window`, JUnit and JSON reports, reproducers, HAR captures, bad input. The answers
//! judged are the crate's own (`restore-delta apply`), as another server would give them: its
//! own ids, its own clock.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_restore-delta"));
    c.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A scratch directory, removed when dropped.
struct Tmp(PathBuf);

impl Tmp {
    fn new(name: &str) -> Tmp {
        let dir = std::env::temp_dir().join(format!("rd-check-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Tmp(dir)
    }

    fn write(&self, name: &str, text: impl AsRef<[u8]>) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

/// Exit 2, nothing on stdout, one line on stderr naming `needle`.
fn assert_usage_error(o: &Output, needle: &str) {
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(code(o), 2, "{err}");
    assert!(o.stdout.is_empty(), "stdout must be empty: {}", stdout(o));
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("restore-delta: "), "{err:?}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

/// clap's refusal: exit 2, its whole message.
fn assert_clap_error(o: &Output, needle: &str) {
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(code(o), 2, "{err}");
    assert!(err.starts_with("error: "), "{err:?}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

/// The crate's own answer (`restore-delta apply` with `extra` flags):
/// `{"now", "seed", "response": {"status", "body", "preferenceApplied"}, "state"}`.
fn reference(state: &str, request: &str, now: &str, seed: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "apply",
        "--state",
        state,
        "--request",
        request,
        "--now",
        now,
        "--seed",
        seed,
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// One exchange as another server answers it: the reference's answer with the generated ids
/// renamed `srv-<tag>-<n>` and the clock 1.5 s later, written with milliseconds.
struct Answer {
    status: u16,
    body: Option<String>,
    state: String,
    ids: Vec<String>,
}

fn as_server(before: &str, out: &Value, now: &str, later: &str, tag: &str) -> Answer {
    let before: Value = serde_json::from_str(&std::fs::read_to_string(before).unwrap()).unwrap();
    let old: BTreeSet<&str> = artifact_ids(&before).into_iter().collect();
    let generated: Vec<&str> = artifact_ids(&out["state"])
        .into_iter()
        .filter(|id| !old.contains(id))
        .collect();
    let mut ids = Vec::new();
    let rename = |text: String, ids: &mut Vec<String>| {
        let mut text = text.replace(&format!("\"{now}\""), &format!("\"{later}\""));
        ids.clear();
        for (n, id) in generated.iter().enumerate() {
            let new = format!("srv-{tag}-{n}");
            text = text.replace(&format!("\"{id}\""), &format!("\"{new}\""));
            ids.push(new);
        }
        text
    };
    let body = match &out["response"]["body"] {
        Value::Null => None,
        b => Some(rename(b.to_string(), &mut ids)),
    };
    let state = rename(out["state"].to_string(), &mut ids);
    Answer {
        status: out["response"]["status"].as_u64().unwrap() as u16,
        body,
        state,
        ids,
    }
}

fn artifact_ids(session: &Value) -> Vec<&str> {
    session
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.ends_with("Artifacts"))
        .flat_map(|(_, v)| v.as_array().unwrap())
        .map(|a| a["id"].as_str().unwrap())
        .collect()
}

const NOW: &str = "2026-11-28T12:00:00Z";
const LATER: &str = "2026-11-28T12:00:01.500Z";

/// The OneDrive example as another server answers it, written to `tmp`: (response, state
/// after, the answer).
fn onedrive(tmp: &Tmp) -> (String, String, Answer) {
    let (state, request) = onedrive_files();
    let a = as_server(
        &state,
        &reference(&state, &request, NOW, "7", &[]),
        NOW,
        LATER,
        "a",
    );
    let response = tmp.write("response.json", a.body.as_deref().unwrap());
    let after = tmp.write("after.json", &a.state);
    (response, after, a)
}

/// The OneDrive example's state and request files.
fn onedrive_files() -> (String, String) {
    (
        example("onedrive.state.json"),
        example("onedrive.request.json"),
    )
}

fn check(state: &str, request: &str, status: &str, response: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "check",
        "--state",
        state,
        "--request",
        request,
        "--status",
        status,
        "--response",
        response,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The OneDrive example's exchange judged with this response body (status 200) and flags.
fn judge(response: &str, extra: &[&str]) -> Output {
    let (state, request) = onedrive_files();
    check(&state, &request, "200", response, extra)
}

fn json_doc(o: &Output) -> Value {
    let text = stdout(o);
    assert_eq!(
        text.lines().count(),
        1,
        "one JSON document on one line: {text}"
    );
    serde_json::from_str(&text).unwrap()
}

#[test]
fn exit_0_for_the_reference_answer_with_another_servers_ids_and_clock() {
    let tmp = Tmp::new("exit0");
    let (response, after, a) = onedrive(&tmp);
    let (state, request) = onedrive_files();
    assert_eq!(a.ids.len(), 4, "four additions, renamed");
    assert!(a.body.as_deref().unwrap().contains(LATER));
    assert_eq!(a.status, 200);
    let status = a.status.to_string();
    for extra in [&[][..], &["--state-after", &after][..]] {
        let o = check(&state, &request, &status, &response, extra);
        assert_eq!(code(&o), 0, "{}", stdout(&o));
        assert_eq!(stdout(&o), "conformant\n");
        assert!(o.stderr.is_empty());
    }
}

#[test]
fn exit_1_for_a_changed_answer_with_each_difference_on_a_line() {
    let tmp = Tmp::new("exit1");
    let (_, after, a) = onedrive(&tmp);
    let (state, request) = onedrive_files();
    let body = a.body.unwrap();
    let changed = body.replacen(r#""status":"added""#, r#""status":"active""#, 1);
    assert_ne!(changed, body);
    let response = tmp.write("changed.json", &changed);
    let o = judge(&response, &[]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "NOT conformant: 1 difference(s)", "{out}");
    assert_eq!(
        lines[1],
        r#"  /body/driveRestoreArtifacts@delta/0/status value [A7]: expected "added", observed "active""#
    );
    assert_eq!(lines.len(), 2);

    // Another status; an artifact of the state after that the request did not touch, changed.
    let ok = tmp.write("ok.json", &body);
    let o = check(&state, &request, "207", &ok, &[]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("/status status"), "{}", stdout(&o));
    let untouched = a.state.replace(
        r#""createdDateTime":"2026-11-20T09:00:00Z""#,
        r#""createdDateTime":"2026-11-20T09:00:01Z""#,
    );
    assert_ne!(untouched, a.state);
    let bad_after = tmp.write("bad-after.json", &untouched);
    let o = judge(&ok, &["--state-after", &bad_after]);
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains(
            r#"  /state/createdDateTime value [S4]: expected "2026-11-20T09:00:00Z", observed "2026-11-20T09:00:01Z""#
        ),
        "{}",
        stdout(&o)
    );
    // The good state after still passes: the difference was the change.
    let o = judge(&ok, &["--state-after", &after]);
    assert_eq!(code(&o), 0);
}

#[test]
fn json_output_is_one_verdict_document() {
    let tmp = Tmp::new("json");
    let (response, _, a) = onedrive(&tmp);
    let v = json_doc(&judge(&response, &["--json"]));
    assert_eq!(v["conformant"], true);
    assert_eq!(v["differences"], json!([]));
    assert_eq!(v["binding"]["ids"], json!(a.ids));
    assert_eq!(v["binding"]["now"], "2026-11-28T12:00:01.5Z");
    assert!(v["binding"]["actor"].is_object());
    assert_eq!(v["expected"]["status"], 200);
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "binding",
            "conformant",
            "differences",
            "expected",
            "tolerated"
        ])
    );

    let changed = a.body.unwrap().replacen("\"new\"", "\"inPlace\"", 1);
    let response = tmp.write("changed.json", &changed);
    let o = judge(&response, &["--json"]);
    assert_eq!(code(&o), 1);
    let v = json_doc(&o);
    assert_eq!(v["conformant"], false);
    assert_eq!(
        v["differences"],
        json!([{
            "pointer": "/body/driveRestoreArtifacts@delta/0/destinationType",
            "kind": "value", "expected": "new", "observed": "inPlace", "rule": "A7",
        }])
    );
}

#[test]
fn an_observed_body_that_is_not_json_is_a_verdict() {
    let tmp = Tmp::new("notjson");
    let (state, request) = onedrive_files();
    let html = tmp.write("html.json", "<html>502 Bad Gateway</html>");
    let o = judge(&html, &["--json"]);
    assert_eq!(code(&o), 1);
    let v = json_doc(&o);
    assert_eq!(v["differences"][0]["kind"], "not-json");
    assert_eq!(v["differences"][0]["pointer"], "/body");
    // No body at all where one is expected.
    let o = run(&[
        "check",
        "--state",
        &state,
        "--request",
        &request,
        "--status",
        "204",
    ]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("/body missing"), "{}", stdout(&o));
}

#[test]
fn ignore_accepts_named_differences_and_reports_them_as_tolerated() {
    let tmp = Tmp::new("ignore");
    let (_, _, a) = onedrive(&tmp);
    let body = a.body.unwrap();
    // The failing removal's message, changed: a difference under `exact` only.
    let v: Value = serde_json::from_str(&body).unwrap();
    let message =
        v["driveRestoreArtifacts@delta"][5]["@Core.DataModificationException"]["info"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
    let response = tmp.write("m.json", body.replace(&message, "Something else."));
    let exact = ["--profile", "exact"];
    assert_eq!(code(&judge(&response, &exact)), 1);
    assert_eq!(code(&judge(&response, &[])), 0);
    for ignore in ["messages", "message", "X3", "A7,X3"] {
        let o = judge(
            &response,
            &["--profile", "exact", "--ignore", ignore, "--json"],
        );
        assert_eq!(code(&o), 0, "--ignore {ignore}");
        let v = json_doc(&o);
        assert_eq!(v["tolerated"].as_array().unwrap().len(), 1);
        assert!(
            v["tolerated"][0]["reason"]
                .as_str()
                .unwrap()
                .starts_with("ignored: "),
            "{v}"
        );
    }
    // An ignore that names something else leaves the difference standing.
    let o = judge(
        &response,
        &["--profile", "exact", "--ignore", "A7", "--ignore", "value"],
    );
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("message [X3]"), "{}", stdout(&o));
}

#[test]
fn profile_and_time_window_reach_the_check() {
    let tmp = Tmp::new("profile");
    let (_, _, a) = onedrive(&tmp);
    let mut v: Value = serde_json::from_str(a.body.as_deref().unwrap()).unwrap();
    // The docs leave successful removals out of the delta: items 5 and 7.
    let entries = v["driveRestoreArtifacts@delta"].as_array_mut().unwrap();
    assert!(entries[6].get("@removed").is_some() && entries[4].get("@removed").is_some());
    entries.remove(6);
    entries.remove(4);
    let docs_like = tmp.write("docs.json", v.to_string());
    assert_eq!(code(&judge(&docs_like, &[])), 1);
    let o = judge(&docs_like, &["--profile", "docs"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(stdout(&o), "conformant (2 tolerated)\n");

    // One artifact stamped 10 s after the others.
    let late = a
        .body
        .unwrap()
        .replacen(LATER, "2026-11-28T12:00:11.500Z", 1);
    let late = tmp.write("late.json", late);
    let o = judge(&late, &[]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains(" time ["), "{}", stdout(&o));
    let o = judge(&late, &["--time-window", "20"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn usage_io_and_state_errors_exit_2_with_one_line() {
    let tmp = Tmp::new("usage");
    let (response, _, _) = onedrive(&tmp);
    let (state, request) = onedrive_files();
    assert_usage_error(
        &check("/nonexistent/s.json", &request, "200", &response, &[]),
        "can't read /nonexistent/s.json",
    );
    assert_usage_error(
        &judge("/nonexistent/r.json", &[]),
        "can't read /nonexistent/r.json",
    );
    let not_state = tmp.write("not-state.json", "[1]");
    assert_usage_error(
        &check(&not_state, &request, "200", &response, &[]),
        "--state",
    );
    assert_usage_error(
        &judge(&response, &["--ignore", "A7,nonsense"]),
        "--ignore A7,nonsense",
    );
    assert_usage_error(
        &judge(&response, &["--report", "xml=out.xml"]),
        "junit=FILE or json=FILE",
    );
    assert_usage_error(&judge(&response, &["--time-window", "-1"]), "--time-window");
    assert_usage_error(&judge(&response, &["--state", &state]), "only --har");
    assert_usage_error(
        &check(&state, "-", "200", "-", &[]),
        "only one of --request and --response can read stdin",
    );
    let dir = tmp.path("a-file");
    std::fs::write(&dir, "").unwrap();
    assert_usage_error(
        &judge(&response, &["--report", &format!("json={dir}/report.json")]),
        "can't write",
    );
    // A 100 MiB response (sparse: nothing is written to disk) is refused after reading one
    // byte past the limit.
    let big = tmp.path("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    assert_usage_error(
        &judge(&big, &[]),
        "larger than 67108864 bytes (raise --max-observed-bytes)",
    );
    assert_usage_error(
        &judge(&response, &["--max-observed-bytes", "100"]),
        "larger than 100 bytes",
    );

    assert_clap_error(&run(&["check", "--state", &state]), "--request");
    assert_clap_error(&check(&state, &request, "99", &response, &[]), "--status");
    assert_clap_error(
        &judge(&response, &["--profile", "lenient"]),
        "exact, default, docs",
    );
    assert_clap_error(
        &judge(&response, &["--har", "x.har"]),
        "cannot be used with",
    );
}

/// A minimal XML reader: well-formedness (nesting, quoted attributes, the five entities and
/// numeric references only, no characters XML 1.0 forbids), and the tree.
#[derive(Debug)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attr(&self, name: &str) -> &str {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("<{}> has no {name}", self.name))
    }

    fn all(&self, name: &str) -> Vec<&Element> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').expect("an entity ends with ;") + i;
        out.push_str(match &rest[i + 1..end] {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "quot" => "\"",
            "apos" => "'",
            other => panic!("unknown entity &{other};"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn parse_xml(text: &str) -> Element {
    for c in text.chars() {
        assert!(
            (c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r'),
            "XML 1.0 forbids U+{:04X}",
            c as u32
        );
    }
    let text = text
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .expect("the XML declaration");
    let mut stack: Vec<Element> = vec![Element {
        name: "#document".into(),
        attrs: vec![],
        children: vec![],
        text: String::new(),
    }];
    let mut rest = text;
    while !rest.is_empty() {
        let lt = rest.find('<').unwrap_or(rest.len());
        let chars = &rest[..lt];
        assert!(!chars.contains('>'), "a raw > in text: {chars:?}");
        stack.last_mut().unwrap().text.push_str(&unescape(chars));
        rest = &rest[lt..];
        if rest.is_empty() {
            break;
        }
        let gt = rest.find('>').expect("a tag ends");
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let done = stack.pop().unwrap();
            assert_eq!(done.name, name, "end tag matches");
            stack.last_mut().unwrap().children.push(done);
            continue;
        }
        let (tag, closed) = match tag.strip_suffix('/') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let (name, mut a) = tag.split_once(' ').unwrap_or((tag, ""));
        let mut attrs = Vec::new();
        loop {
            a = a.trim_start();
            if a.is_empty() {
                break;
            }
            let (n, v) = a.split_once("=\"").expect("name=\"value\"");
            let end = v.find('"').expect("closing quote");
            assert!(!v[..end].contains('<'), "a raw < in an attribute");
            attrs.push((n.to_owned(), unescape(&v[..end])));
            a = &v[end + 1..];
        }
        let e = Element {
            name: name.to_owned(),
            attrs,
            children: vec![],
            text: String::new(),
        };
        if closed {
            stack.last_mut().unwrap().children.push(e);
        } else {
            stack.push(e);
        }
    }
    assert_eq!(stack.len(), 1, "every element closed");
    let mut doc = stack.pop().unwrap();
    assert_eq!(doc.children.len(), 1, "one root element");
    assert!(doc.text.trim().is_empty());
    doc.children.pop().unwrap()
}

#[test]
fn junit_and_json_reports_for_one_exchange() {
    let tmp = Tmp::new("reports1");
    let (_, _, a) = onedrive(&tmp);
    let (_, request) = onedrive_files();
    // A restore point id with markup characters: the report must escape them.
    let changed =
        a.body
            .unwrap()
            .replacen("1b014d8c-71fe-4d00-a01a-31850bc5b32c", r#"rp<&'\">"#, 1);
    let response = tmp.write("changed.json", &changed);
    let (junit, report) = (tmp.path("junit.xml"), tmp.path("report.json"));
    let o = judge(
        &response,
        &[
            "--report",
            &format!("junit={junit}"),
            "--report",
            &format!("json={report}"),
        ],
    );
    assert_eq!(code(&o), 1);
    let xml = parse_xml(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(xml.name, "testsuites");
    let suites = xml.all("testsuite");
    assert_eq!(suites.len(), 1);
    assert_eq!(
        (suites[0].attr("tests"), suites[0].attr("failures")),
        ("1", "1")
    );
    let cases = suites[0].all("testcase");
    assert_eq!(cases.len(), 1);
    assert!(cases[0].attr("name").ends_with("onedrive.request.json"));
    let failure = &cases[0].all("failure")[0];
    assert_eq!(failure.attr("message"), "NOT conformant: 1 difference(s)");
    assert!(
        failure.text.contains(
            r#"/body/driveRestoreArtifacts@delta/0/restorePoint/id value [A7]: expected "1b014d8c-71fe-4d00-a01a-31850bc5b32c", observed "rp<&'\">""#
        ),
        "{failure:?}"
    );

    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["index"], 1);
    assert_eq!(all[0]["method"], "PATCH");
    assert_eq!(all[0]["request"], request.as_str());
    assert_eq!(all[0]["verdict"]["conformant"], false);
    assert_eq!(all[0]["verdict"]["differences"][0]["observed"], "rp<&'\">");
}

/// The members of a reproducer, in file order.
const VECTOR_MEMBERS: [&str; 9] = [
    "description",
    "rules",
    "state",
    "request",
    "options",
    "now",
    "seed",
    "expected",
    "observed",
];

fn member_order(text: &str) -> Vec<String> {
    // Top-level members are the lines indented by two spaces.
    text.lines()
        .filter_map(|l| l.strip_prefix("  \""))
        .filter_map(|l| l.split_once("\":").map(|(k, _)| k.to_owned()))
        .collect()
}

#[test]
fn reproducers_are_vector_files_that_replay() {
    let tmp = Tmp::new("repro");
    let (_, _, a) = onedrive(&tmp);
    let (_, request) = onedrive_files();
    let changed = a
        .body
        .unwrap()
        .replacen(r#""responseCode":409"#, r#""responseCode":404"#, 1);
    let response = tmp.write("changed.json", &changed);
    let dir = tmp.path("failing");
    let o = judge(
        &response,
        &["--reproducers", &dir, "--prefer", "return=representation"],
    );
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0].file_name().unwrap(),
        "001-1b014d8c-71fe-4d00-8ab2-31850bc5b32c.json"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert_eq!(member_order(&text), VECTOR_MEMBERS);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["rules"], json!(["X3"]));
    assert_eq!(v["seed"], 0);
    assert_eq!(v["now"], "2026-11-28T12:00:01.5Z");
    assert_eq!(v["options"]["prefer"], "return=representation");
    assert!(
        v["options"]["actor"].is_object(),
        "the bound lastModifiedBy"
    );
    assert!(
        v["description"]
            .as_str()
            .unwrap()
            .contains("the first at /body/driveRestoreArtifacts@delta/5/@Core.DataModificationException/responseCode (value, rule X3)"),
        "{}",
        v["description"]
    );
    assert_eq!(v["observed"]["status"], 200);
    assert_eq!(
        v["observed"]["body"],
        serde_json::from_str::<Value>(&changed).unwrap()
    );
    assert_eq!(
        v["request"].as_str().unwrap(),
        std::fs::read_to_string(&request).unwrap(),
        "the body's exact text"
    );

    // The vector replays: apply with its inputs, its now and seed 0 gives `expected` exactly.
    let s = tmp.write("v-state.json", v["state"].to_string());
    let r = tmp.write("v-request.json", v["request"].as_str().unwrap());
    let actor = tmp.write("v-actor.json", v["options"]["actor"].to_string());
    let out = reference(
        &s,
        &r,
        v["now"].as_str().unwrap(),
        "0",
        &[
            "--prefer",
            v["options"]["prefer"].as_str().unwrap(),
            "--actor",
            &actor,
        ],
    );
    assert_eq!(out["response"]["status"], v["expected"]["status"]);
    assert_eq!(out["response"]["body"], v["expected"]["body"]);
    assert_eq!(out["state"], v["expected"]["state"]);
    // And the observed answer, judged against the vector's inputs, fails the same way.
    let observed = tmp.write("v-observed.json", v["observed"]["body"].to_string());
    let again = json_doc(&check(&s, &r, "200", &observed, &["--json"]));
    let first = json_doc(&judge(&response, &["--json"]));
    assert_eq!(again["differences"], first["differences"]);
    assert_eq!(first["differences"].as_array().unwrap().len(), 1);

    // A conformant exchange writes none.
    let ok_dir = tmp.path("none");
    let ok = tmp.write(
        "ok.json",
        changed.replacen(r#""responseCode":404"#, r#""responseCode":409"#, 1),
    );
    assert_eq!(code(&judge(&ok, &["--reproducers", &ok_dir])), 0);
    assert_eq!(std::fs::read_dir(&ok_dir).unwrap().count(), 0);
}

#[test]
fn a_reproducer_keeps_a_body_that_is_not_json_as_text() {
    let tmp = Tmp::new("repro-text");
    let (state, request) = onedrive_files();
    let html = tmp.write("html.json", "<html>oops</html>");
    let dir = tmp.path("out");
    assert_eq!(
        code(&check(
            &state,
            &request,
            "502",
            &html,
            &["--reproducers", &dir]
        )),
        1
    );
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(
        v["observed"],
        json!({"status": 502, "body_text": "<html>oops</html>"})
    );
    assert_eq!(v["rules"], json!(["O3"]));
}

// ---- HAR captures ----------------------------------------------------------------------

const GRAPH: &str = "https://graph.microsoft.com/v1.0/solutions/backupRestore";

fn entry(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    status: i64,
    content: Value,
) -> Value {
    let mut request = json!({
        "method": method, "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
        "queryString": [], "headersSize": -1, "bodySize": -1,
    });
    if let Some(b) = body {
        request["postData"] = json!({"mimeType": "application/json", "text": b});
    }
    json!({
        "startedDateTime": "2026-11-28T12:00:00.000Z", "time": 12.5,
        "request": request,
        "response": {
            "status": status, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
            "headers": [], "content": content, "redirectURL": "", "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {}, "timings": {"send": 0, "wait": 10, "receive": 2.5},
    })
}

fn text(body: Option<&str>) -> Value {
    match body {
        Some(b) => json!({"size": b.len(), "mimeType": "application/json", "text": b}),
        None => json!({"size": 0, "mimeType": "x-unknown"}),
    }
}

fn har(entries: Vec<Value>) -> String {
    json!({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
        "entries": entries}})
    .to_string()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Two sessions, three PATCHes (the second deviating), unrelated entries around them.
struct Capture {
    tmp: Tmp,
    har: String,
    onedrive: String,
    exchange: String,
    /// The ids the OneDrive server made in the first PATCH.
    first_ids: Vec<String>,
}

fn capture(name: &str) -> Capture {
    let tmp = Tmp::new(name);
    let (od_state, od_request) = (
        example("onedrive.state.json"),
        example("onedrive.request.json"),
    );
    let (ex_state, ex_request) = (
        example("exchange.state.json"),
        example("exchange.request.json"),
    );
    let od_id = "1b014d8c-71fe-4d00-8ab2-31850bc5b32c";
    let ex_id = "2b814d8c-71fd-4d00-a01a-31850bc5b32c";

    // 1: the OneDrive example, answered by the server with its own ids.
    let first = as_server(
        &od_state,
        &reference(&od_state, &od_request, NOW, "7", &[]),
        NOW,
        LATER,
        "od",
    );
    // 2: the Exchange example, answered with a wrong destination type: the deviation.
    let t2 = "2026-11-28T12:05:00Z";
    let second = as_server(
        &ex_state,
        &reference(&ex_state, &ex_request, t2, "8", &[]),
        t2,
        "2026-11-28T12:05:00.250Z",
        "ex",
    );
    let second_body = second.body.unwrap();
    let deviating = second_body.replacen("\"inPlace\"", "\"new\"", 1);
    assert_ne!(deviating, second_body);
    // 3: on the OneDrive session as the first PATCH left it, remove an artifact the server
    // made and add another; three Prefer headers that are one list: `foo=bar` (ignored),
    // `return=minimal` (honoured: 204), `return=representation` (a repeat: ignored).
    let after_first = tmp.write("od-after-1.json", &first.state);
    let third_request = json!({"driveRestoreArtifacts@delta": [
        {"@removed": {"reason": "changed"}, "id": first.ids[1]},
        {"restorePoint": {"id": "5b014d8c-71fe-4d00-a01a-31850bc5b32c"}, "destinationType": "new"},
    ]})
    .to_string();
    let third_request_file = tmp.write("od-request-3.json", &third_request);
    let t3 = "2026-11-28T12:10:00Z";
    let prefer = ["foo=bar", "return=minimal", "return=representation"];
    let flags = prefer.map(|p| ["--prefer", p]).concat();
    let third = reference(&after_first, &third_request_file, t3, "9", &flags);
    assert_eq!(third["response"]["status"], 204, "{third}");
    assert_eq!(third["response"]["body"], Value::Null);

    let od_url = format!("{GRAPH}/oneDriveForBusinessRestoreSessions/{od_id}");
    // The id percent-encoded, and a query string: both read as the session's id.
    let ex_url = format!(
        "https://graph.microsoft.com/beta/solutions/backupRestore/exchangeRestoreSessions/{}?$select=id",
        ex_id.replace('-', "%2D")
    );
    let entries = vec![
        entry(
            "GET",
            "https://graph.microsoft.com/v1.0/me",
            &[],
            None,
            200,
            text(Some("{}")),
        ),
        entry(
            "PATCH",
            &od_url,
            &[("Content-Type", "application/json")],
            Some(&std::fs::read_to_string(&od_request).unwrap()),
            200,
            text(first.body.as_deref()),
        ),
        entry("GET", &od_url, &[], None, 200, text(Some(&first.state))),
        entry(
            "PATCH",
            "https://graph.microsoft.com/v1.0/me/drive/items/1",
            &[],
            Some("{}"),
            200,
            text(Some("{}")),
        ),
        entry(
            "POST",
            &format!("{od_url}/activate"),
            &[],
            Some("{}"),
            200,
            text(Some("{}")),
        ),
        entry(
            "PATCH",
            &ex_url,
            &[],
            Some(&std::fs::read_to_string(&ex_request).unwrap()),
            200,
            json!({"size": deviating.len(), "mimeType": "application/json",
                   "text": base64(deviating.as_bytes()), "encoding": "base64"}),
        ),
        entry(
            "PATCH",
            &od_url,
            &[
                ("Prefer", prefer[0]),
                ("prefer", prefer[1]),
                ("PREFER", prefer[2]),
            ],
            Some(&third_request),
            204,
            text(None),
        ),
    ];
    let har = tmp.write("capture.har", har(entries));
    Capture {
        tmp,
        har,
        onedrive: od_state,
        exchange: ex_state,
        first_ids: first.ids,
    }
}

#[test]
fn a_har_with_two_sessions_and_three_patches_one_deviating() {
    let c = capture("har");
    let o = run(&[
        "check",
        "--har",
        &c.har,
        "--state",
        &c.exchange,
        "--state",
        &c.onedrive,
    ]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    let heads: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(heads.len(), 3, "{out}");
    assert_eq!(
        heads[0],
        format!(
            "#1 PATCH {GRAPH}/oneDriveForBusinessRestoreSessions/1b014d8c-71fe-4d00-8ab2-31850bc5b32c: conformant"
        )
    );
    assert!(
        heads[1].starts_with("#2 PATCH https://graph.microsoft.com/beta/"),
        "{out}"
    );
    assert!(
        heads[1].ends_with(": NOT conformant: 1 difference(s)"),
        "{out}"
    );
    assert!(
        heads[2].starts_with("#3 PATCH ") && heads[2].ends_with(": conformant"),
        "{out}"
    );
    assert!(
        out.contains(r#"  /body/mailboxRestoreArtifacts@delta/0/destinationType value [A7]: expected "inPlace", observed "new""#),
        "{out}"
    );
    assert!(
        out.ends_with("3 exchange(s) judged: 2 conformant, 1 not conformant\n"),
        "{out}"
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let v = json_doc(&run(&[
        "check",
        "--har",
        &c.har,
        "--state",
        &c.exchange,
        "--state",
        &c.onedrive,
        "--json",
    ]));
    assert_eq!(v["conformant"], false);
    let ex = v["exchanges"].as_array().unwrap();
    let summary: Vec<(i64, i64, &str, bool)> = ex
        .iter()
        .map(|e| {
            (
                e["index"].as_i64().unwrap(),
                e["entry"].as_i64().unwrap(),
                e["session"].as_str().unwrap(),
                e["verdict"]["conformant"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, 1, "1b014d8c-71fe-4d00-8ab2-31850bc5b32c", true),
            (2, 5, "2b814d8c-71fd-4d00-a01a-31850bc5b32c", false),
            (3, 6, "1b014d8c-71fe-4d00-8ab2-31850bc5b32c", true),
        ]
    );
    assert_eq!(ex[0]["verdict"]["binding"]["ids"], json!(c.first_ids));
    assert_eq!(ex[0]["method"], "PATCH");
    assert!(ex[1]["url"].as_str().unwrap().ends_with("?$select=id"));
    // The third is judged on the state the first left, with the server's ids: a removal of
    // one of them succeeds, so return=minimal gives 204.
    assert_eq!(ex[2]["verdict"]["expected"]["status"], 204);
}

#[test]
fn a_har_without_the_evolved_state_would_not_pass() {
    // The same capture judged with the first PATCH's answer rewritten to other ids: the third
    // PATCH removes an id the server never made, which the reference then refuses (409), so
    // the 204 observed is not conformant. The state evolves through the bound answer.
    let c = capture("har-evolve");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&c.har).unwrap()).unwrap();
    let first = &mut v["log"]["entries"][1]["response"]["content"]["text"];
    let text = first.as_str().unwrap().to_owned();
    let renamed = text.replace(&format!("\"{}\"", c.first_ids[1]), "\"srv-other\"");
    assert_ne!(renamed, text);
    *first = json!(renamed);
    let har = c.tmp.write("renamed.har", v.to_string());
    let v = json_doc(&run(&[
        "check",
        "--har",
        &har,
        "--state",
        &c.exchange,
        "--state",
        &c.onedrive,
        "--json",
    ]));
    let ex = v["exchanges"].as_array().unwrap();
    assert_eq!(ex[0]["verdict"]["conformant"], true, "{}", ex[0]);
    assert_eq!(ex[2]["verdict"]["conformant"], false);
    assert_eq!(ex[2]["verdict"]["expected"]["status"], 200);
}

#[test]
fn har_reports_and_reproducers() {
    let c = capture("har-reports");
    let (junit, report, dir) = (
        c.tmp.path("junit.xml"),
        c.tmp.path("report.json"),
        c.tmp.path("failing"),
    );
    let o = run(&[
        "check",
        "--har",
        &c.har,
        "--state",
        &c.onedrive,
        "--state",
        &c.exchange,
        "--report",
        &format!("junit={junit}"),
        "--report",
        &format!("json={report}"),
        "--reproducers",
        &dir,
    ]);
    assert_eq!(code(&o), 1);
    let xml = parse_xml(&std::fs::read_to_string(&junit).unwrap());
    let suite = &xml.all("testsuite")[0];
    assert_eq!((xml.attr("tests"), xml.attr("failures")), ("3", "1"));
    assert_eq!((suite.attr("tests"), suite.attr("failures")), ("3", "1"));
    let cases = suite.all("testcase");
    assert_eq!(cases.len(), 3);
    let failing: Vec<usize> = (0..3)
        .filter(|&i| !cases[i].all("failure").is_empty())
        .collect();
    assert_eq!(failing, [1]);
    assert!(cases[1].attr("name").starts_with("#2 PATCH https://"));
    assert_eq!(
        cases[1].attr("classname"),
        "restore-delta.session.2b814d8c-71fd-4d00-a01a-31850bc5b32c"
    );
    assert!(
        cases[1].all("failure")[0]
            .text
            .contains("/body/mailboxRestoreArtifacts@delta/0/destinationType value [A7]"),
        "{:?}",
        cases[1]
    );

    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let conformant: Vec<bool> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["verdict"]["conformant"].as_bool().unwrap())
        .collect();
    assert_eq!(conformant, [true, false, true]);

    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["002-2b814d8c-71fd-4d00-a01a-31850bc5b32c.json"]);
    let text = std::fs::read_to_string(Path::new(&dir).join(&files[0])).unwrap();
    assert_eq!(member_order(&text), VECTOR_MEMBERS);
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["now"], "2026-11-28T12:05:00.25Z");
    assert_eq!(r["options"], json!({"actor": r["options"]["actor"]}));
    assert_eq!(
        r["observed"]["body"]["mailboxRestoreArtifacts@delta"][0]["destinationType"],
        "new"
    );
    assert_eq!(
        r["expected"]["body"]["mailboxRestoreArtifacts@delta"][0]["destinationType"],
        "inPlace"
    );
}

#[test]
fn bad_captures_exit_2_with_one_line() {
    let c = capture("har-bad");
    let check_har = |har: &str, states: &[&str]| {
        let mut args = vec!["check", "--har", har];
        for s in states {
            args.extend(["--state", s]);
        }
        run(&args)
    };
    let both = [c.onedrive.as_str(), c.exchange.as_str()];
    // A PATCH for a session without --state.
    assert_usage_error(
        &check_har(&c.har, &[&c.onedrive]),
        "log.entries[5] PATCH https://graph.microsoft.com/beta/solutions/backupRestore/exchangeRestoreSessions/2b814d8c%2D71fd",
    );
    assert_usage_error(&check_har(&c.har, &[&c.onedrive]), "which no --state holds");
    // The same session twice.
    assert_usage_error(
        &check_har(&c.har, &[&c.onedrive, &c.onedrive]),
        "are both session",
    );
    let not_json = c.tmp.write("not.har", "<html>");
    assert_usage_error(&check_har(&not_json, &both), "not JSON");
    let not_har = c.tmp.write("not-har.har", r#"{"log": {"version": "1.2"}}"#);
    assert_usage_error(
        &check_har(&not_har, &both),
        "not a HAR 1.2 capture: missing field `entries`",
    );
    let wrong = c
        .tmp
        .write("wrong.har", r#"{"log": {"entries": {"a": 1}}}"#);
    assert_usage_error(&check_har(&wrong, &both), "not a HAR 1.2 capture");
    let none = c.tmp.write(
        "none.har",
        har(vec![entry(
            "GET",
            "https://example.com/",
            &[],
            None,
            200,
            text(Some("x")),
        )]),
    );
    assert_usage_error(
        &check_har(&none, &both),
        "no restore-session PATCH among its 1 entries",
    );
    let url =
        format!("{GRAPH}/oneDriveForBusinessRestoreSessions/1b014d8c-71fe-4d00-8ab2-31850bc5b32c");
    let aborted = c.tmp.write(
        "aborted.har",
        har(vec![entry("PATCH", &url, &[], Some("{}"), 0, text(None))]),
    );
    assert_usage_error(
        &check_har(&aborted, &both),
        "response status 0 is not an HTTP status",
    );
    let bad64 = c.tmp.write(
        "bad64.har",
        har(vec![entry(
            "PATCH",
            &url,
            &[],
            Some("{}"),
            200,
            json!({"size": 1, "mimeType": "application/json", "text": "***", "encoding": "base64"}),
        )]),
    );
    assert_usage_error(&check_har(&bad64, &both), "not valid base64");
    // A session collection that cannot hold the session of that id.
    let kind = c.tmp.write(
        "kind.har",
        har(vec![entry(
            "PATCH",
            &url.replace("oneDriveForBusiness", "exchange"),
            &[],
            Some("{}"),
            200,
            text(Some("{}")),
        )]),
    );
    assert_usage_error(&check_har(&kind, &both), "names exchangeRestoreSessions");
    // A response body over the bound.
    let o = run(&[
        "check",
        "--har",
        &c.har,
        "--state",
        &c.onedrive,
        "--state",
        &c.exchange,
        "--max-observed-bytes",
        "100",
    ]);
    assert_usage_error(&o, "log.entries[1] PATCH ");
    assert_usage_error(&o, "larger than 100 bytes (raise --max-observed-bytes)");
    // A capture's answer that is not JSON is a verdict, not an error.
    let html = c.tmp.write(
        "html.har",
        har(vec![entry(
            "PATCH",
            &url,
            &[],
            Some("{}"),
            502,
            text(Some("<html>Bad Gateway</html>")),
        )]),
    );
    let o = check_har(&html, &both);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("/body not-json"), "{}", stdout(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("note: no PATCH in the capture for --state"),
        "an unused --state is noted"
    );
}

#[test]
fn a_har_with_thousands_of_unrelated_entries() {
    let c = capture("har-big");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&c.har).unwrap()).unwrap();
    let patches: Vec<Value> = v["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["request"]["method"] == "PATCH"
                && e["request"]["url"]
                    .as_str()
                    .unwrap()
                    .contains("RestoreSessions")
        })
        .cloned()
        .collect();
    // 5,000 unrelated entries of 4 kB each (20 MB), the first two PATCHes among them.
    let filler = "x".repeat(2000);
    let mut all: Vec<Value> = (0..5000)
        .map(|i| {
            entry(
                if i % 2 == 0 { "GET" } else { "POST" },
                &format!("https://example.com/api/{i}?q={i}"),
                &[("Prefer", "return=minimal")],
                Some(&filler),
                200,
                text(Some(&filler)),
            )
        })
        .collect();
    all.insert(2500, patches[0].clone());
    all.push(patches[1].clone());
    v["log"]["entries"] = Value::Array(all);
    let har = c.tmp.write("big.har", v.to_string());
    let o = run(&[
        "check",
        "--har",
        &har,
        "--state",
        &c.onedrive,
        "--state",
        &c.exchange,
        "--json",
    ]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let r = json_doc(&o);
    let judged: Vec<(i64, bool)> = r["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["entry"].as_i64().unwrap(),
                e["verdict"]["conformant"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(judged, [(2500, true), (5001, false)]);
}

#[test]
fn a_har_whose_answers_bind_ids_the_rules_refuse_still_evolves() {
    // The first PATCH's answer gives the second addition the first one's id (refused by A7),
    // or reports the first addition as a 500 (bound as an id source that gave nothing fresh):
    // each is a verdict, and the session still evolves through the reference answer, so the
    // later PATCHes are judged too (no exit 2).
    let c = capture("har-refused");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&c.har).unwrap()).unwrap();
    let text = v["log"]["entries"][1]["response"]["content"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let body: Value = serde_json::from_str(&text).unwrap();
    let entries = &body["driveRestoreArtifacts@delta"];
    let mut dup = body.clone();
    dup["driveRestoreArtifacts@delta"][1]["id"] = entries[0]["id"].clone();
    let mut exhausted = body.clone();
    exhausted["driveRestoreArtifacts@delta"][0] = json!({
        "@Core.DataModificationException": {"failedOperation": "insert", "responseCode": 500,
            "info": {"code": "InternalServerError", "message": "No id."}},
        "restorePoint": entries[0]["restorePoint"], "destinationType": "new",
    });
    // The 500 itself is what the reference answers then (its message tolerated); the count of
    // artifacts the answer left unchanged is not.
    let cases = [
        (
            "dup",
            dup,
            ("/body/driveRestoreArtifacts@delta/1/id", "id", "A7"),
        ),
        (
            "exhausted",
            exhausted,
            ("/body/restoreSessionArtifactCount/total", "value", "O6"),
        ),
    ];
    for (name, answer, (pointer, kind, rule)) in cases {
        let mut har = v.clone();
        har["log"]["entries"][1]["response"]["content"]["text"] = json!(answer.to_string());
        let file = c.tmp.write(&format!("{name}.har"), har.to_string());
        let o = run(&[
            "check",
            "--har",
            &file,
            "--state",
            &c.onedrive,
            "--state",
            &c.exchange,
            "--json",
        ]);
        assert_eq!(
            code(&o),
            1,
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let r = json_doc(&o);
        let ex = r["exchanges"].as_array().unwrap();
        assert_eq!(ex.len(), 3, "{name}");
        let first = &ex[0]["verdict"];
        assert_eq!(first["conformant"], false, "{name}");
        let d = &first["differences"][0];
        assert_eq!(
            (&d["pointer"], &d["kind"], &d["rule"]),
            (&json!(pointer), &json!(kind), &json!(rule)),
            "{name}: {first}"
        );
    }
}

/// `--preference-applied VALUE|none`: the header as observed, judged against rule O8.
#[test]
fn preference_applied_is_judged_when_given() {
    let dir = std::env::temp_dir().join(format!("rd-pa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    std::fs::write(
        &state,
        r##"{"@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"s","status":"draft"}"##,
    )
    .unwrap();
    let request = dir.join("request.json");
    std::fs::write(
        &request,
        r#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"id":"r1"},"destinationType":"new"}]}"#,
    )
    .unwrap();
    let judge = |header: Option<&str>| {
        let mut args = vec![
            "check",
            "--state",
            state.to_str().unwrap(),
            "--request",
            request.to_str().unwrap(),
            "--status",
            "204",
            "--prefer",
            "return=minimal",
        ];
        if let Some(h) = header {
            args.extend(["--preference-applied", h]);
        }
        run(&args)
    };
    assert_eq!(code(&judge(Some("return=minimal"))), 0);
    assert_eq!(code(&judge(None)), 0);
    let o = judge(Some("none"));
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("/headers/Preference-Applied missing [O8]"),
        "{}",
        stdout(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
