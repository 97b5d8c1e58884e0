//! Runs the language-neutral conformance vectors of `tests/vectors/*.json` (format:
//! `docs/VECTORS.md`) against the library, and checks that every rule id of `docs/SEMANTICS.md`
//! has at least one vector.
//!
//! Every file is run and every failure collected, so one run lists every failing file. For each
//! vector the harness checks, besides the expected status, body and state (compared as JSON
//! values): that a response body has no duplicate member names; that a whole-request error
//! (a status other than 200 and 204) left the state equal to the input (rule O2); and that a
//! second run with the same inputs gives byte-identical output (rule D1).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use restore_delta::{
    Context, MissingRemoval, Options, Request, SeededIds, Session, Timestamp, apply,
    apply_request_in_place,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One vector file: one PATCH (`request`… `expected` at the top), or successive PATCHes on one
/// session (`steps`, each with its own inputs and `expected`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    description: String,
    rules: Vec<String>,
    /// Kept as text: the library reads the state exactly as the file spells it.
    state: Box<RawValue>,
    #[serde(default)]
    request: Option<Box<RawValue>>,
    #[serde(default)]
    request_hex: Option<String>,
    #[serde(default)]
    request_repeat: Option<Repeats>,
    #[serde(default)]
    options: Option<VectorOptions>,
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    expected: Option<Value>,
    #[serde(default)]
    steps: Option<Vec<Step>>,
}

/// One PATCH: the single form's top-level members, or one element of `steps`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    /// The rules that decided this step's answer (the `steps` form only; informative).
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    request: Option<Box<RawValue>>,
    #[serde(default)]
    request_hex: Option<String>,
    #[serde(default)]
    request_repeat: Option<Repeats>,
    #[serde(default)]
    options: VectorOptions,
    now: String,
    seed: u64,
    expected: Value,
}

impl Vector {
    /// The PATCHes of the file, in order: one for the single form, each of `steps` otherwise.
    fn into_steps(self) -> Result<Vec<Step>, String> {
        let single = self.request.is_some()
            || self.request_hex.is_some()
            || self.request_repeat.is_some()
            || self.options.is_some()
            || self.now.is_some()
            || self.seed.is_some()
            || self.expected.is_some();
        match self.steps {
            Some(_) if single => Err(
                "a vector with steps has no top-level request, options, now, seed or expected"
                    .into(),
            ),
            Some(steps) if steps.is_empty() => Err("steps is empty".into()),
            Some(steps) => Ok(steps),
            None => Ok(vec![Step {
                rules: Vec::new(),
                request: self.request,
                request_hex: self.request_hex,
                request_repeat: self.request_repeat,
                options: self.options.unwrap_or_default(),
                now: self.now.ok_or("now is missing")?,
                seed: self.seed.ok_or("seed is missing")?,
                expected: self.expected.ok_or("expected is missing")?,
            }]),
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VectorOptions {
    atomic: Option<bool>,
    prefer: Option<String>,
    max_items: Option<usize>,
    max_bytes: Option<usize>,
    max_depth: Option<usize>,
    missing_removal: Option<String>,
    actor: Option<Value>,
    service_roots: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Repeats {
    One(Repeat),
    Many(Vec<Repeat>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Repeat {
    #[serde(default)]
    prefix: String,
    unit: String,
    count: usize,
    #[serde(default)]
    suffix: String,
}

impl Step {
    /// The request body: `request` (a JSON string is the raw body; any other value is the body
    /// as the file spells it), `request_hex`, or `request_repeat` — exactly one of them.
    fn body(&self) -> Result<Vec<u8>, String> {
        match (&self.request, &self.request_hex, &self.request_repeat) {
            (Some(raw), None, None) => {
                if raw.get().starts_with('"') {
                    let text: String =
                        serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
                    Ok(text.into_bytes())
                } else {
                    Ok(raw.get().as_bytes().to_vec())
                }
            }
            (None, Some(hex), None) => decode_hex(hex),
            (None, None, Some(repeats)) => {
                let parts = match repeats {
                    Repeats::One(r) => std::slice::from_ref(r),
                    Repeats::Many(rs) => rs.as_slice(),
                };
                let mut out = Vec::new();
                for r in parts {
                    out.extend_from_slice(r.prefix.as_bytes());
                    for _ in 0..r.count {
                        out.extend_from_slice(r.unit.as_bytes());
                    }
                    out.extend_from_slice(r.suffix.as_bytes());
                }
                Ok(out)
            }
            _ => Err("exactly one of request, request_hex, request_repeat is required".into()),
        }
    }

    fn options(&self) -> Result<Options, String> {
        let o = &self.options;
        let mut options = Options::default();
        if let Some(p) = &o.prefer {
            options = options.with_prefer(p);
        }
        // An explicit `atomic` wins over the Prefer header.
        if let Some(a) = o.atomic {
            options = options.with_atomic(a);
        }
        if let Some(n) = o.max_items {
            options = options.with_max_items(n);
        }
        if let Some(n) = o.max_bytes {
            options = options.with_max_bytes(n);
        }
        if let Some(n) = o.max_depth {
            options = options.with_max_depth(n);
        }
        match o.missing_removal.as_deref() {
            None | Some("fail") => {}
            Some("succeed") => options = options.with_missing_removal(MissingRemoval::Succeed),
            Some(other) => return Err(format!("unknown missing_removal {other:?}")),
        }
        for root in o.service_roots.iter().flatten() {
            options = options.with_service_root(root);
        }
        Ok(options)
    }

    fn context(&self) -> Result<Context<SeededIds>, String> {
        let now = Timestamp::parse_rfc3339(&self.now).map_err(|e| format!("now: {e}"))?;
        let ctx = Context::new(now, SeededIds::new(self.seed));
        Ok(match &self.options.actor {
            Some(actor) => ctx.with_actor(actor),
            None => ctx,
        })
    }
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| match b {
            b'0'..=b'9' => Ok(b - b'0'),
            b'a'..=b'f' => Ok(b - b'a' + 10),
            b'A'..=b'F' => Ok(b - b'A' + 10),
            _ => Err(format!("request_hex: {:?} is not a hex digit", b as char)),
        })
        .collect::<Result<_, _>>()?;
    if !digits.len().is_multiple_of(2) {
        return Err("request_hex: odd number of digits".into());
    }
    Ok(digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

/// What one run produced, as text (for the determinism check) and as values.
struct Output {
    status: u16,
    body_text: Option<String>,
    preference_applied: Option<String>,
    state_text: String,
}

/// Runs a vector through `apply`, or, with `two_steps`, through `Request::parse` then
/// `apply_request` (a refused parse answers as `apply` does: the state unchanged).
fn run_once(
    v: &Step,
    state: &str,
    body: &[u8],
    options: &Options,
    two_steps: bool,
) -> Result<Output, String> {
    let session =
        Session::from_json(state.as_bytes()).map_err(|e| format!("the state is refused: {e}"))?;
    let mut ctx = v.context()?;
    // The second run reads the body first, then applies it to a session kept in place.
    let (response, session) = if two_steps {
        let mut session = session;
        let response = match Request::parse(body, options) {
            Ok(request) => {
                apply_request_in_place(&mut session, &request, options, &mut ctx).response
            }
            Err(error) => error.response(),
        };
        (response, session)
    } else {
        let applied = apply(session, body, options, &mut ctx);
        (applied.answer.response, applied.state)
    };
    Ok(Output {
        status: response.status,
        body_text: response.body.as_ref().map(|b| b.get().to_owned()),
        preference_applied: response.preference_applied,
        state_text: session.to_json(),
    })
}

/// Runs one vector file; `Err` lists what is wrong with it. The steps of a `steps` vector run
/// in order, each on the state the step before left (as the library left it, as a server keeps
/// its session); each step's problems are named with its number.
fn check_file(path: &Path) -> Result<(), Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("unreadable: {e}")])?;
    let v: Vector =
        serde_json::from_str(&text).map_err(|e| vec![format!("not a valid vector: {e}")])?;
    let mut problems = Vec::new();
    if v.description.trim().is_empty() {
        problems.push("empty description".to_owned());
    }
    if v.rules.is_empty() {
        problems.push("no rules".to_owned());
    }
    let several = v.steps.is_some();
    let mut state = v.state.get().to_owned();
    let rules = v.rules.clone();
    let steps = v.into_steps().map_err(|e| vec![e])?;
    for (i, step) in steps.iter().enumerate() {
        let label = if several {
            format!("step {}: ", i + 1)
        } else {
            String::new()
        };
        for rule in step.rules.iter().filter(|r| !rules.contains(r)) {
            problems.push(format!("{label}{rule} is not in the vector's rules"));
        }
        if step.expected.get("state_error") == Some(&Value::Bool(true)) {
            if several {
                problems.push(format!("{label}state_error belongs to the single form"));
            } else if let Ok(session) = Session::from_json(state.as_bytes()) {
                problems.push(format!(
                    "expected a state error (S3), but the state was read as {session:?}"
                ));
            }
            break;
        }
        match check_step(step, &state) {
            Ok((found, after)) => {
                problems.extend(found.into_iter().map(|p| format!("{label}{p}")));
                state = after;
            }
            Err(e) => {
                problems.push(format!("{label}{e}"));
                break;
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Runs one PATCH on `state`: what is wrong with the answer, and the state it left.
fn check_step(v: &Step, state: &str) -> Result<(Vec<String>, String), String> {
    let mut problems = Vec::new();
    let body = v.body()?;
    let options = v.options()?;

    let first = run_once(v, state, &body, &options, false)?;
    let expected_status = v.expected.get("status").and_then(Value::as_u64);
    if expected_status != Some(u64::from(first.status)) {
        problems.push(format!(
            "status: expected {}, got {}",
            show(v.expected.get("status")),
            first.status
        ));
    }

    let body_value = match &first.body_text {
        None => Value::Null,
        Some(t) => match serde_json::from_str::<NoDuplicates>(t) {
            Ok(NoDuplicates(value)) => value,
            Err(e) => {
                problems.push(format!("the response body is not clean JSON: {e}"));
                serde_json::from_str(t).unwrap_or(Value::Null)
            }
        },
    };
    let expected_body = v.expected.get("body").cloned().unwrap_or(Value::Null);
    if let Some(d) = difference(&expected_body, &body_value, "body") {
        problems.push(d);
    }

    // O8: `preference_applied` absent means no `Preference-Applied` header.
    let expected_applied = v.expected.get("preference_applied").and_then(Value::as_str);
    if expected_applied != first.preference_applied.as_deref() {
        problems.push(format!(
            "preference_applied: expected {expected_applied:?}, got {:?}",
            first.preference_applied
        ));
    }

    let state_value: Value = serde_json::from_str(&first.state_text).expect("state JSON");
    let expected_state = v.expected.get("state").cloned().unwrap_or(Value::Null);
    if let Some(d) = difference(&expected_state, &state_value, "state") {
        problems.push(d);
    }
    if !matches!(first.status, 200 | 204) {
        let input: Value = serde_json::from_str(state).expect("state JSON");
        if let Some(d) = difference(&input, &state_value, "state after a whole-request error") {
            problems.push(format!("O2: {d}"));
        }
    }

    // D1: the same inputs give the same bytes, also when the body is read first with
    // `Request::parse` and applied with `apply_request`.
    let second = run_once(v, state, &body, &options, true)?;
    if (
        second.status,
        &second.body_text,
        &second.state_text,
        &second.preference_applied,
    ) != (
        first.status,
        &first.body_text,
        &first.state_text,
        &first.preference_applied,
    ) {
        problems.push(
            "D1: a second run with the same inputs, in two steps, gave different bytes".to_owned(),
        );
    }

    Ok((problems, first.state_text))
}

fn show(v: Option<&Value>) -> String {
    let text = v.map_or_else(|| "nothing".to_owned(), Value::to_string);
    if text.len() > 300 {
        let cut = (0..=300).rev().find(|&i| text.is_char_boundary(i)).unwrap();
        format!("{}…", &text[..cut])
    } else {
        text
    }
}

/// The first place where `actual` differs from `expected` (object member order ignored, array
/// order significant), as a JSON-pointer-like path with both values.
fn difference(expected: &Value, actual: &Value, path: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = format!("{path}/{k}");
                match a.get(k) {
                    None => return Some(format!("{p}: missing, expected {}", show(Some(ev)))),
                    Some(av) => {
                        if let Some(d) = difference(ev, av, &p) {
                            return Some(d);
                        }
                    }
                }
            }
            a.iter()
                .find(|(k, _)| !e.contains_key(*k))
                .map(|(k, av)| format!("{path}/{k}: unexpected member {}", show(Some(av))))
        }
        (Value::Array(e), Value::Array(a)) => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                if let Some(d) = difference(ev, av, &format!("{path}/{i}")) {
                    return Some(d);
                }
            }
            (e.len() != a.len())
                .then(|| format!("{path}: expected {} elements, got {}", e.len(), a.len()))
        }
        (e, a) if json_eq(e, a) => None,
        (e, a) => Some(format!(
            "{path}: expected {}, got {}",
            show(Some(e)),
            show(Some(a))
        )),
    }
}

/// Scalars compare as JSON values: numbers by value (`1.0` equals `1`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        _ => a == b,
    }
}

/// A JSON value read by a parser that refuses duplicate member names.
struct NoDuplicates(Value);

impl<'de> Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicatesVisitor).map(NoDuplicates)
    }
}

struct NoDuplicatesVisitor;

impl<'de> Visitor<'de> for NoDuplicatesVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(NoDuplicates(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate member name {key:?}"
                )));
            }
            let NoDuplicates(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

fn vector_files() -> Vec<PathBuf> {
    let dir = root().join("tests").join("vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("can't read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_vector_passes() {
    let files = vector_files();
    assert!(!files.is_empty(), "no vectors in tests/vectors");
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in &files {
        let outcome = catch_unwind(AssertUnwindSafe(|| check_file(path)));
        let problems = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(problems)) => problems,
            Err(panic) => vec![format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)")
            )],
        };
        failures.insert(file_name(path), problems);
    }
    if !failures.is_empty() {
        let mut report = format!("{} of {} vectors failed:\n", failures.len(), files.len());
        for (file, problems) in &failures {
            report.push_str(&format!("\n{file}\n"));
            for p in problems {
                report.push_str(&format!("    {p}\n"));
            }
        }
        panic!("{report}");
    }
}

/// The rule ids of `docs/SEMANTICS.md`: table rows `| <id> | …` where the id is capital letters
/// then digits (`S1`, `E10`, `X3`).
fn documented_rule_ids(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("| "))
        .filter_map(|rest| rest.split_once(" |").map(|(id, _)| id))
        .filter(|id| is_rule_id(id))
        .map(str::to_owned)
        .collect()
}

fn is_rule_id(s: &str) -> bool {
    let letters = s.bytes().take_while(u8::is_ascii_uppercase).count();
    let digits = &s[letters..];
    letters > 0 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[test]
fn every_documented_rule_has_a_vector() {
    let path = root().join("docs").join("SEMANTICS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing or unreadable ({e}): it lists the rule ids every vector set must cover",
            path.display()
        )
    });
    let documented = documented_rule_ids(&text);
    assert!(
        !documented.is_empty(),
        "no rule rows (`| S1 | …`) found in {}",
        path.display()
    );

    let mut covered: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown: Vec<String> = Vec::new();
    for file in vector_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", file_name(&file)));
        let rules: Vec<String> = value
            .get("rules")
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .unwrap_or_else(|| panic!("{}: no \"rules\" array of strings", file_name(&file)));
        for id in &rules {
            if documented.contains(id) {
                *covered.entry(id.clone()).or_default() += 1;
            } else {
                unknown.push(format!("{} names {id:?}", file_name(&file)));
            }
        }
    }
    // The C rules are the reference check's, pinned by tests/check.rs: a vector is an apply.
    // The L rules are the lifecycle's, with their own vectors (tests/lifecycle-vectors/, run by
    // tests/lifecycle.rs). The Q rules are the query options', with theirs (tests/query-vectors/,
    // run by tests/query.rs).
    let missing: Vec<&String> = documented
        .iter()
        .filter(|id| !id.starts_with(['C', 'L', 'Q']) && !covered.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "rules of docs/SEMANTICS.md without a vector: {missing:?}\n\
         rule ids in vectors that docs/SEMANTICS.md does not list: {unknown:?}"
    );
}

#[test]
fn rule_rows_are_parsed_by_hand() {
    let text = "| Id | Rule |\n|---|---|\n| S1 | a state |\n| E10 | x |\n|  X3 | no |\n| x4 | no |\n| A | no |\n| G12a | no |\n| D4 |";
    let ids: Vec<String> = documented_rule_ids(text).into_iter().collect();
    assert_eq!(ids, ["D4", "E10", "S1"]);
}

/// Generated cases (`restore_delta::gen`, as `restore-delta gen` writes them) pass this harness:
/// each is written as a file and checked like the shipped vectors (status, body, state,
/// `Preference-Applied`, O2, D1, clean JSON), for every mix. (Compiled with the `gen` feature,
/// which the package's self dev-dependency turns on here.)
#[cfg(feature = "gen")]
#[test]
fn generated_vectors_pass() {
    use restore_delta::generate::{Generator, Mix};
    let dir =
        std::env::temp_dir().join(format!("restore-delta-gen-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut hex = 0;
    for (m, mix) in [Mix::Valid, Mix::Mixed, Mix::Hostile]
        .into_iter()
        .enumerate()
    {
        for (i, case) in Generator::new(11).mix(mix).take(300).enumerate() {
            let text = case.vector(&format!("Generated case {i}.")).unwrap();
            hex += usize::from(text.contains("\"request_hex\""));
            let path = dir.join(format!("{m}-{i:03}.json"));
            std::fs::write(&path, &text).unwrap();
            if let Err(problems) = check_file(&path) {
                failures.push(format!("{} {i}: {problems:?}", mix.as_str()));
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(hex > 0, "no generated body needed request_hex");
}

/// Generated sequences (`Generator::sequence`, `restore-delta gen --steps`) pass this harness in
/// their `steps` form, each step run on the state the step before left; and the harness checks
/// every step: a wrong answer expected at a later step, or a later step given the wrong state,
/// fails the file naming that step.
#[cfg(feature = "gen")]
#[test]
fn generated_step_vectors_pass_and_every_step_is_checked() {
    use restore_delta::generate::{Generator, Mix};
    let dir = std::env::temp_dir().join(format!(
        "restore-delta-gen-step-vectors-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut later_changes = 0;
    for (m, mix) in [Mix::Valid, Mix::Mixed, Mix::Hostile]
        .into_iter()
        .enumerate()
    {
        let mut generator = Generator::new(21).mix(mix);
        for i in 0..60 {
            let seq = generator.sequence(4);
            let text = seq.vector(&format!("Generated sequence {i}.")).unwrap();
            let path = dir.join(format!("{m}-{i:03}.json"));
            std::fs::write(&path, &text).unwrap();
            if let Err(problems) = check_file(&path) {
                failures.push(format!("{} {i}: {problems:?}", mix.as_str()));
            }
            let mut v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["steps"].as_array().map(Vec::len), Some(4));
            // Step 3 changed the state step 2 left: it passes only if the harness ran it on
            // that state (not on the file's `state`).
            if v["steps"][2]["expected"]["state"] != v["steps"][1]["expected"]["state"] {
                later_changes += 1;
            }
            // Step 3 expected to answer 418: the harness must say so, naming step 3.
            v["steps"][2]["expected"]["status"] = serde_json::json!(418);
            std::fs::write(&path, v.to_string()).unwrap();
            let problems = check_file(&path).unwrap_err();
            assert!(
                problems.iter().any(|p| p.starts_with("step 3: status")),
                "{problems:?}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        later_changes > 20,
        "{later_changes} sequences changed the state at step 3"
    );
}
