//! Reproducers: the first failing sequence, shrunk live on fresh sessions (fewer PATCHes,
//! fewer items in the last), written as `steps.json` (what `conform replay` and `repro.sh`
//! read), a vector in the `steps` form with `observed`, a HAR of its exchanges, and `repro.sh`;
//! and `conform replay`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use restore_delta::{Context, SeededIds, SessionKind, apply};
use serde_json::{Map, Value, json};

use super::client::Exchange;
use super::session::{Live, Plan, Record, key_of};
use super::{Conn, Finding, JudgeArgs, Ledger, Run};
use crate::common::Usage;

/// A failing sequence, independent of the session it first ran on: ids of that session are
/// named by their keys and found again on each new session.
#[derive(Clone, Debug)]
struct Sequence {
    plan: Plan,
    session: String,
    root: String,
    ids: Vec<(String, String)>,
    steps: Vec<(Vec<u8>, Option<String>)>,
}

/// What a replay of a sequence gave.
struct Replayed {
    findings: Vec<Finding>,
    exchanges: Vec<Exchange>,
    state: Value,
    vector_steps: Vec<Value>,
}

/// Replays a sequence from a new session's creation; the session is deleted after.
fn replay_once(run: &Run, seq: &Sequence) -> Replayed {
    let first = run.client.take_log();
    let mut findings = Vec::new();
    let mut vector_steps = Vec::new();
    let mut state = Value::Null;
    if let Some(mut live) = Live::create(run, seq.plan.clone(), &mut findings) {
        state = live.tracked.to_value();
        for (k, (body, prefer)) in seq.steps.iter().enumerate() {
            let body = rebind(body, seq, &live, &run.target.root);
            let before = live.tracked.clone();
            let at = findings.len();
            let verdict = live.patch(run, k, &body, prefer.as_deref(), &mut findings);
            if let Some(v) = verdict {
                vector_steps.push(vector_step(
                    &before,
                    &body,
                    prefer.as_deref(),
                    run,
                    &v,
                    &findings[at..],
                ));
            }
        }
        live.read_back(run, None, &mut findings);
        live.delete(run, &mut findings);
    }
    let exchanges = run.client.take_log();
    // The log before this replay stays the run's.
    if !first.is_empty()
        && let Ok(mut log) = run.client.log.lock()
    {
        let mine = std::mem::replace(&mut *log, first);
        log.extend(mine);
    }
    Replayed {
        findings,
        exchanges,
        state,
        vector_steps,
    }
}

/// A body of the first session with the new session's ids, id and root.
fn rebind(body: &[u8], seq: &Sequence, live: &Live, root: &str) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(body) else {
        return body.to_vec();
    };
    let mut text = text.to_owned();
    for (old, key) in &seq.ids {
        if let Some((new, _)) = live.history.iter().rev().find(|(_, k)| k == key)
            && new != old
        {
            text = text.replace(old.as_str(), new);
        }
    }
    text.replace(&format!("\"{}\"", seq.session), &format!("\"{}\"", live.id))
        .replace(&seq.root, root)
        .into_bytes()
}

/// One step of the vector: its request, options, the reference answer with the bound time and
/// the ids of seed 0, and what the server answered.
fn vector_step(
    before: &restore_delta::Session,
    body: &[u8],
    prefer: Option<&str>,
    run: &Run,
    verdict: &restore_delta::check::Verdict,
    found: &[Finding],
) -> Value {
    let mut options = run.target.options.clone();
    if let Some(p) = prefer {
        options = options.with_prefer(p);
    }
    let now = verdict
        .binding
        .now
        .unwrap_or(restore_delta::Timestamp::EPOCH);
    let mut ctx = Context::new(now, SeededIds::new(0));
    if let Some(a) = &verdict.binding.actor {
        ctx = ctx.with_actor(a);
    }
    let applied = apply(before.clone(), body, &options, &mut ctx);
    let mut expected = json!({
        "status": applied.answer.response.status,
        "body": applied.answer.response.body_value().unwrap_or(Value::Null),
        "state": applied.state.to_value(),
    });
    if let (Some(o), Some(p)) = (
        expected.as_object_mut(),
        &applied.answer.response.preference_applied,
    ) {
        o.insert("preference_applied".into(), json!(p));
    }
    let observed = found
        .iter()
        .find(|f| f.kind == "check")
        .map(|f| json!({"first_difference": {"pointer": f.pointer, "expected": f.expected, "observed": f.observed}}))
        .unwrap_or(json!({}));
    let mut rules: Vec<String> = found.iter().filter_map(|f| f.rule.clone()).collect();
    rules.dedup();
    let mut step = Map::new();
    step.insert("rules".into(), json!(rules));
    match std::str::from_utf8(body) {
        Ok(t) => step.insert("request".into(), json!(t)),
        Err(_) => step.insert("request_hex".into(), json!(hex(body))),
    };
    let mut opts = Map::new();
    if let Some(p) = prefer {
        opts.insert("prefer".into(), json!(p));
    }
    step.insert("options".into(), Value::Object(opts));
    step.insert("now".into(), json!(now.to_string()));
    step.insert("seed".into(), json!(0));
    step.insert("expected".into(), expected);
    step.insert("observed".into(), observed);
    Value::Object(step)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The items of a body's delta array, when it is JSON with one.
fn items(body: &[u8]) -> Option<(Map<String, Value>, String, Vec<Value>)> {
    let Value::Object(map) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    let (name, list) = map
        .iter()
        .find(|(k, v)| k.ends_with("@delta") && v.is_array())
        .map(|(k, v)| (k.clone(), v.as_array().cloned().unwrap_or_default()))?;
    Some((map, name, list))
}

/// Shrinks the first failing sequence on fresh sessions and writes its reproducer.
pub fn shrink_and_write(
    run: &Run,
    dir: &Path,
    plan: &Plan,
    record: &Record,
) -> Result<Option<PathBuf>, Usage> {
    let last = record.first_failing.unwrap_or(0);
    let mut seq = Sequence {
        plan: plan.clone(),
        session: record.session.clone(),
        root: run.target.root.clone(),
        ids: record.history.clone(),
        steps: record
            .steps
            .get(..=last)
            .map(<[_]>::to_vec)
            .unwrap_or_default(),
    };
    let mut best = replay_once(run, &seq);
    let mut attempts = 0;
    if !best.findings.is_empty() {
        // Fewer PATCHes: each earlier one dropped while the sequence still fails.
        let mut i = 0;
        while i + 1 < seq.steps.len() && attempts < 30 {
            attempts += 1;
            let mut c = seq.clone();
            c.steps.remove(i);
            let r = replay_once(run, &c);
            if r.findings.is_empty() {
                i += 1;
            } else {
                seq = c;
                best = r;
            }
        }
        // Fewer items in the last PATCH.
        if let Some((body, prefer)) = seq.steps.last().cloned()
            && let Some((map, name, list)) = items(&body)
        {
            let mut list = list;
            let mut j = list.len();
            while j > 0 && list.len() > 1 && attempts < 60 {
                j -= 1;
                attempts += 1;
                let mut fewer = list.clone();
                fewer.remove(j);
                let mut m = map.clone();
                m.insert(name.clone(), Value::Array(fewer.clone()));
                let mut c = seq.clone();
                if let Some(s) = c.steps.last_mut() {
                    *s = (Value::Object(m).to_string().into_bytes(), prefer.clone());
                }
                let r = replay_once(run, &c);
                if !r.findings.is_empty() {
                    list = fewer;
                    seq = c;
                    best = r;
                }
            }
        }
    }
    let out = dir.join(format!("001-{}", super::session::set_of(plan.kind)));
    std::fs::create_dir_all(&out)
        .map_err(|e| Usage(format!("--reproducers {}: {e}", out.display())))?;
    let write = |name: &str, text: String| {
        std::fs::write(out.join(name), text)
            .map_err(|e| Usage(format!("can't write {}: {e}", out.join(name).display())))
    };
    write("steps.json", steps_json(&seq).to_string())?;
    let mut rules: Vec<String> = best
        .findings
        .iter()
        .filter_map(|f| f.rule.clone())
        .collect();
    rules.sort();
    rules.dedup();
    let vector = json!({
        "description": format!(
            "Reproducer written by `restore-delta conform` against {} (seed {}): {} PATCH(es) on a session created with {}, shrunk after {attempts} replays on fresh sessions; {} finding(s) in the last replay{}. `state` is the session after its creation as the server made it; each step's `expected` is the reference answer with the bound time and the ids of seed 0, `observed` the first difference the check found.",
            run.target.root, run.seed, seq.steps.len(), String::from_utf8_lossy(&plan.create_body()),
            best.findings.len(),
            if best.findings.is_empty() { " (the failure did not show again: flaky?)" } else { "" }),
        "rules": rules,
        "state": best.state,
        "steps": best.vector_steps,
    });
    write(
        "vector.json",
        serde_json::to_string_pretty(&vector).unwrap_or_default(),
    )?;
    write(
        "capture.har",
        super::client::har(&best.exchanges).to_string(),
    )?;
    write("repro.sh", REPRO_SH.to_owned())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ =
            std::fs::set_permissions(out.join("repro.sh"), std::fs::Permissions::from_mode(0o755));
    }
    let findings = best
        .findings
        .iter()
        .map(|f| f.line())
        .collect::<Vec<_>>()
        .join("\n");
    write("findings.txt", format!("{findings}\n"))?;
    Ok(Some(out))
}

fn steps_json(seq: &Sequence) -> Value {
    let steps: Vec<Value> = seq
        .steps
        .iter()
        .map(|(b, p)| match std::str::from_utf8(b) {
            Ok(t) => json!({"body": t, "prefer": p}),
            Err(_) => json!({"body_hex": hex(b), "prefer": p}),
        })
        .collect();
    json!({
        "format": "restore-delta-conform-reproducer/1",
        "set": super::session::set_of(seq.plan.kind),
        "kind": seq.plan.kind.odata_type(),
        "family": match seq.plan.family { restore_delta::Family::Granular => "granular", _ => "standard" },
        "destination": seq.plan.destination,
        "collection": seq.plan.collection().name(),
        "create": String::from_utf8_lossy(&seq.plan.create_body()),
        "session": seq.session,
        "root": seq.root,
        "ids": seq.ids.iter().map(|(i, k)| (i.clone(), json!(k))).collect::<Map<String, Value>>(),
        "steps": steps,
    })
}

fn read_sequence(path: &Path) -> Result<Sequence, Usage> {
    let text = std::fs::read_to_string(path).map_err(|e| Usage::unreadable(path, &e))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| Usage(format!("{}: {e}", path.display())))?;
    let bad = || Usage(format!("{}: not a conform reproducer", path.display()));
    let kind = v["kind"]
        .as_str()
        .and_then(SessionKind::from_odata_type)
        .ok_or_else(bad)?;
    let family = if v["family"] == "granular" {
        restore_delta::Family::Granular
    } else {
        restore_delta::Family::Standard
    };
    let destination = if v["destination"] == "inPlace" {
        "inPlace"
    } else {
        "new"
    };
    let steps = v["steps"]
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|s| {
            let body = match (s["body"].as_str(), s["body_hex"].as_str()) {
                (Some(t), _) => Some(t.as_bytes().to_vec()),
                (None, Some(h)) => unhex(h),
                _ => None,
            };
            body.map(|b| (b, s["prefer"].as_str().map(str::to_owned)))
                .ok_or_else(bad)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sequence {
        plan: Plan {
            kind,
            family,
            destination,
            seed: 0,
        },
        session: v["session"].as_str().unwrap_or_default().to_owned(),
        root: v["root"].as_str().unwrap_or_default().to_owned(),
        ids: v["ids"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(i, k)| Some((i.clone(), k.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
        steps,
    })
}

/// `conform replay DIR`: every reproducer under DIR, from a new session's creation.
pub fn replay(dir: &Path, conn: &Conn, judge: &JudgeArgs) -> Result<ExitCode, Usage> {
    let mut files: Vec<PathBuf> = Vec::new();
    if dir.join("steps.json").is_file() {
        files.push(dir.join("steps.json"));
    } else {
        let entries = std::fs::read_dir(dir).map_err(|e| Usage::unreadable(dir, &e))?;
        for e in entries.flatten() {
            let p = e.path().join("steps.json");
            if p.is_file() {
                files.push(p);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Usage(format!(
            "{}: no reproducer (steps.json) in it",
            dir.display()
        )));
    }
    let ledger_path =
        std::env::temp_dir().join(format!("restore-delta-replay-{}.jsonl", std::process::id()));
    let run = Run {
        client: super::client(conn, 0.0, false)?,
        target: super::target(conn, judge)?,
        settings: super::settings(judge)?,
        seed: 0,
        kinds: Vec::new(),
        mix: restore_delta::generate::Mix::Mixed,
        steps: 0,
        read_back_every: usize::MAX,
        keep: false,
        fail_fast: false,
        restore_points: None,
        ledger: Ledger::new(ledger_path.clone())?,
        stop: Arc::new(AtomicBool::new(false)),
        sent: AtomicU64::new(0),
        judged: AtomicU64::new(0),
        findings: AtomicU64::new(0),
        first_finding_at: AtomicU64::new(u64::MAX),
        max_requests: None,
        deadline: None,
        rules: Mutex::new(Default::default()),
    };
    let mut failing = 0;
    for f in &files {
        let seq = read_sequence(f)?;
        let r = replay_once(&run, &seq);
        let name = f.parent().unwrap_or(f).display();
        if r.findings.is_empty() {
            println!("{name}: passes ({} PATCH(es))", seq.steps.len());
        } else {
            failing += 1;
            println!("{name}: {} finding(s)", r.findings.len());
            for x in &r.findings {
                println!("  {}", x.line());
            }
        }
    }
    if run.ledger.open_sessions().is_empty() {
        let _ = std::fs::remove_file(&ledger_path);
    }
    println!(
        "{} reproducer(s): {} pass, {failing} fail",
        files.len(),
        files.len() - failing
    );
    let _ = key_of;
    Ok(if failing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `repro.sh`: replays `steps.json` with curl and python3 against a service root.
const REPRO_SH: &str = r#"#!/bin/sh
# Replays this reproducer from a session's creation through Graph's public endpoints:
#   ./repro.sh SERVICE_ROOT        (e.g. http://127.0.0.1:8080/v1.0)
# A token, if the server wants one, from RESTORE_DELTA_TOKEN. Needs curl and python3.
# `restore-delta conform replay DIR --url SERVICE_ROOT` replays and judges it.
set -eu
ROOT="${1:?usage: ./repro.sh SERVICE_ROOT}"
exec python3 - "$ROOT" "$(dirname "$0")/steps.json" <<'PY'
import json, os, subprocess, sys, urllib.parse
root, path = sys.argv[1].rstrip('/'), sys.argv[2]
r = json.load(open(path))
auth = []
if os.environ.get('RESTORE_DELTA_TOKEN'):
    auth = ['-H', 'Authorization: Bearer ' + os.environ['RESTORE_DELTA_TOKEN']]
def curl(method, url, body=None, prefer=None):
    cmd = ['curl', '-sS', '-X', method, url, '-w', '\n%{http_code}', *auth]
    if body is not None:
        cmd += ['-H', 'Content-Type: application/json', '--data-binary', '@-']
    if prefer:
        cmd += ['-H', 'Prefer: ' + prefer]
    out = subprocess.run(cmd, input=body, capture_output=True, check=True).stdout
    text, _, status = out.rpartition(b'\n')
    return int(status), text
sets = root + '/solutions/backupRestore/' + r['set']
status, text = curl('POST', sets, r['create'].encode())
print('POST', sets, status, text.decode(errors='replace'))
sid = json.loads(text)['id']
url = sets + '/' + urllib.parse.quote(sid, safe='')
ids = {}
def refresh():
    link = url + '/' + r['collection']
    while link:
        _, t = curl('GET', link)
        page = json.loads(t)
        for a in page.get('value', []):
            rp = (a.get('restorePoint') or {}).get('id')
            key = rp if rp is None or 'searchResponseId' not in a else rp + '\x1f' + a['searchResponseId']
            ids[key if rp else a['id']] = a['id']
        link = page.get('@odata.nextLink')
for step in r['steps']:
    refresh()
    body = step['body'].encode() if 'body' in step else bytes.fromhex(step['body_hex'])
    for old, key in r['ids'].items():
        if key in ids:
            body = body.replace(old.encode(), ids[key].encode())
    body = body.replace(('"%s"' % r['session']).encode(), ('"%s"' % sid).encode())
    body = body.replace(r['root'].encode(), root.encode())
    s, t = curl('PATCH', url, body, step.get('prefer'))
    print('PATCH', url, s, t.decode(errors='replace'))
s, _ = curl('DELETE', url)
print('DELETE', url, s)
PY
"#;
