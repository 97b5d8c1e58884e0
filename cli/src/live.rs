//! Judging the rest of a live session's life against the lifecycle rules (L1–L5, L9): a
//! create's 201 (with the id, time and identity bound from it), reads of the session and of
//! its collections, a delete. Shared by `conform` and by `check --har` on captures that start
//! at a session's creation.

use restore_delta::lifecycle;
use restore_delta::{ArtifactCollection, Context, Options, Session, SessionKind, Timestamp};
use serde_json::{Map, Value, json};

/// One difference between an expected and an observed resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Diff {
    /// A JSON pointer into the observed answer (`/status`, `/body/…`).
    pub pointer: String,
    pub expected: Option<Value>,
    pub observed: Option<Value>,
    /// The rule that decided the expected value.
    pub rule: &'static str,
}

/// The marker of an artifact id the answers have not shown yet (a create's answer has no
/// collections).
pub const UNBOUND: char = '\u{1}';

/// The time the reference writes where the answer showed none (the check's clock then).
pub const UNSEEN_TIME: &str = "1970-01-01T00:00:00Z";

/// Whether the session holds a time the answers never showed.
pub fn holds_unseen_time(session: &Session) -> bool {
    session.to_json().contains(UNSEEN_TIME)
}

/// Compares two resources as JSON values: objects without regard to member order, numbers by
/// value, instants (strings both sides read as RFC 3339) within `window_s` seconds of each
/// other; the caller's identity (`createdBy`, `lastModifiedBy`) is free when it is an object
/// (rule C1), and `@odata.context` (control information a server adds) is not compared.
pub fn compare(expected: &Value, observed: &Value, window_s: f64, rule: &'static str) -> Vec<Diff> {
    let mut out = Vec::new();
    walk(
        expected,
        observed,
        &mut String::from("/body"),
        window_s,
        rule,
        &mut out,
    );
    out
}

fn token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn walk(
    e: &Value,
    o: &Value,
    path: &mut String,
    window_s: f64,
    rule: &'static str,
    out: &mut Vec<Diff>,
) {
    let diff = |path: &str, out: &mut Vec<Diff>| {
        out.push(Diff {
            pointer: path.to_owned(),
            expected: Some(e.clone()),
            observed: Some(o.clone()),
            rule,
        });
    };
    match (e, o) {
        (Value::Object(em), Value::Object(om)) => {
            let top = path == "/body";
            for (name, ev) in em {
                let len = path.len();
                path.push('/');
                path.push_str(&token(name));
                match om.get(name) {
                    Some(ov) if identity(name) && ov.is_object() => {}
                    Some(ov) => walk(ev, ov, path, window_s, rule, out),
                    None => out.push(Diff {
                        pointer: path.clone(),
                        expected: Some(ev.clone()),
                        observed: None,
                        rule,
                    }),
                }
                path.truncate(len);
            }
            for (name, ov) in om {
                if em.contains_key(name)
                    || (top && name == "@odata.context")
                    || (identity(name) && ov.is_object())
                {
                    continue;
                }
                out.push(Diff {
                    pointer: format!("{path}/{}", token(name)),
                    expected: None,
                    observed: Some(ov.clone()),
                    rule,
                });
            }
        }
        (Value::Array(ea), Value::Array(oa)) => {
            for (i, ev) in ea.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                match oa.get(i) {
                    Some(ov) => walk(ev, ov, path, window_s, rule, out),
                    None => out.push(Diff {
                        pointer: path.clone(),
                        expected: Some(ev.clone()),
                        observed: None,
                        rule,
                    }),
                }
                path.truncate(len);
            }
            for (i, ov) in oa.iter().enumerate().skip(ea.len()) {
                out.push(Diff {
                    pointer: format!("{path}/{i}"),
                    expected: None,
                    observed: Some(ov.clone()),
                    rule,
                });
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            if a != b && a.as_f64() != b.as_f64() {
                diff(path, out);
            }
        }
        (Value::String(a), Value::String(b)) if a != b => {
            // A time the answers never showed (a 204 shows none): the server's.
            if a == UNSEEN_TIME && instant(b).is_some() {
                return;
            }
            let close = match (instant(a), instant(b)) {
                (Some(x), Some(y)) => (x - y).abs() <= window_s,
                _ => false,
            };
            if !close {
                diff(path, out);
            }
        }
        _ => {
            if e != o {
                diff(path, out);
            }
        }
    }
}

fn identity(name: &str) -> bool {
    name == "createdBy" || name == "lastModifiedBy"
}

/// An RFC 3339 instant in seconds since the epoch.
pub fn instant(text: &str) -> Option<f64> {
    let t = Timestamp::parse_rfc3339(text).ok()?;
    Some(t.unix_seconds() as f64 + f64::from(t.subsec_nanos()) / 1e9)
}

/// Where a create leads: its differences, and the session as the reference holds it (ids,
/// time and identity bound from the 201; the artifacts' ids marked [`UNBOUND`] until a read
/// shows them).
pub struct Created {
    pub diffs: Vec<Diff>,
    pub session: Option<Session>,
}

/// Judges a create (rules L1–L3) and builds the session it made.
pub fn judge_create(
    kind: SessionKind,
    body: &[u8],
    options: &Options,
    status: u16,
    answer: Option<&Value>,
    window_s: f64,
) -> Created {
    let id = answer
        .filter(|_| status == 201)
        .and_then(|a| a.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let now = answer
        .and_then(|a| a.get("createdDateTime"))
        .and_then(Value::as_str)
        .and_then(|t| Timestamp::parse_rfc3339(t).ok())
        .unwrap_or(Timestamp::EPOCH);
    let mut n = 0usize;
    let mut first = id.clone();
    let source = move || match first.take() {
        Some(id) => id,
        None => {
            n += 1;
            format!("{UNBOUND}art-{n}")
        }
    };
    let mut ctx = Context::new(now, source);
    if let Some(actor) = answer
        .and_then(|a| a.get("createdBy").or_else(|| a.get("lastModifiedBy")))
        .filter(|a| a.is_object())
    {
        ctx = ctx.with_actor(actor);
    }
    let made = lifecycle::create(kind, body, options, &mut ctx);
    let mut diffs = Vec::new();
    match made {
        Ok(session) => {
            if status != 201 {
                diffs.push(Diff {
                    pointer: "/status".into(),
                    expected: Some(json!(201)),
                    observed: Some(json!(status)),
                    rule: "L3",
                });
                return Created {
                    diffs,
                    session: None,
                };
            }
            let expected: Value =
                serde_json::from_str(&lifecycle::render_session(&session, options))
                    .unwrap_or(Value::Null);
            match answer {
                Some(a) => diffs.extend(compare(&expected, a, window_s, "L3")),
                None => diffs.push(Diff {
                    pointer: "/body".into(),
                    expected: Some(expected),
                    observed: None,
                    rule: "L3",
                }),
            }
            Created {
                diffs,
                session: Some(session),
            }
        }
        Err(error) => {
            let rule = error.rule.as_str();
            if status != error.status {
                diffs.push(Diff {
                    pointer: "/status".into(),
                    expected: Some(json!(error.status)),
                    observed: Some(json!(status)),
                    rule,
                });
            }
            let code = answer
                .and_then(|a| a.pointer("/error/code"))
                .and_then(Value::as_str);
            if code != Some(error.code.as_str()) {
                diffs.push(Diff {
                    pointer: "/body/error/code".into(),
                    expected: Some(json!(error.code.as_str())),
                    observed: code.map(|c| json!(c)),
                    rule,
                });
            }
            Created {
                diffs,
                session: None,
            }
        }
    }
}

/// The session as JSON, its members in order.
pub fn to_map(session: &Session) -> Map<String, Value> {
    match session.to_value() {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The session with its unbound artifact ids bound from artifacts the server showed: matched by
/// restore point (and search response), which a collection holds once (rule A4).
pub fn bind_artifacts(
    session: &Session,
    collection: ArtifactCollection,
    observed: &[Value],
) -> Option<Session> {
    let mut map = to_map(session);
    let items = map.get_mut(collection.name())?.as_array_mut()?;
    let key = |a: &Value| {
        (
            a.pointer("/restorePoint/id").cloned(),
            a.get("searchResponseId").cloned(),
        )
    };
    let mut changed = false;
    for item in items.iter_mut() {
        let unbound = item
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.starts_with(UNBOUND));
        if !unbound {
            continue;
        }
        let k = key(item);
        if let Some(id) = observed
            .iter()
            .find(|o| k.0.is_some() && key(o) == k)
            .and_then(|o| o.get("id"))
            && let Some(m) = item.as_object_mut()
        {
            m.insert("id".into(), id.clone());
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    Session::from_json(Value::Object(map).to_string().as_bytes()).ok()
}

/// The artifacts of a collection of the session, as JSON values.
pub fn artifacts(session: &Session, collection: ArtifactCollection) -> Vec<Value> {
    to_map(session)
        .remove(collection.name())
        .and_then(|v| match v {
            Value::Array(a) => Some(a),
            _ => None,
        })
        .unwrap_or_default()
}

/// A read of a collection (rule L9, every page followed) against the reference's: the same
/// artifacts, in collection order.
pub fn compare_collection(
    session: &Session,
    collection: ArtifactCollection,
    observed: &[Value],
    window_s: f64,
) -> Vec<Diff> {
    let expected = Value::Array(artifacts(session, collection));
    compare(&expected, &Value::Array(observed.to_vec()), window_s, "L9")
        .into_iter()
        .map(|mut d| {
            d.pointer = d
                .pointer
                .replacen("/body", &format!("/{}", collection.name()), 1);
            d
        })
        .collect()
}

/// A session built from what the server shows (its members and a collection's artifacts):
/// where the runner resynchronises after a step whose effect is unknown.
pub fn from_observed(
    members: &Value,
    collection: ArtifactCollection,
    items: Vec<Value>,
) -> Option<Session> {
    let mut map = members.as_object()?.clone();
    map.remove("@odata.context");
    map.insert(collection.name().into(), Value::Array(items));
    Session::from_json(Value::Object(map).to_string().as_bytes()).ok()
}

/// Judges a delete's answer (rule L5: a draft is deleted, 204).
pub fn judge_delete(session: &Session, status: u16) -> Vec<Diff> {
    let expected = match lifecycle::check_delete(session) {
        Ok(()) => 204,
        Err(e) => e.status,
    };
    if status == expected {
        Vec::new()
    } else {
        vec![Diff {
            pointer: "/status".into(),
            expected: Some(json!(expected)),
            observed: Some(json!(status)),
            rule: "L5",
        }]
    }
}
