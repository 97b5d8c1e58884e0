//! A deliberately simple model of the rules, for [`apply_ops`](super::apply_ops).
//!
//! Written from `docs/SEMANTICS.md` alone and sharing no code with the engine: the state and the
//! request are `serde_json` values, the evolving collection is a `Vec`, every look-up is a linear
//! scan, and the checks run in the order the rules list them (A6 before A4, as the project
//! decided). Slow and obvious on purpose.

use serde_json::{Map, Value, json};

use super::NOW;
use super::ops::{Case, Coll, SESSION_ID, Shape};
use crate::{Applied, ItemOutcome, MissingRemoval};

const CONTENT_IDS: [&str; 3] = [
    "@contentId",
    "@Core.ContentID",
    "@Org.OData.Core.V1.ContentID",
];

const BAD: &str = "InvalidPatchRequest";

/// What the model expects of one item.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Outcome {
    /// The artifact appended.
    Added(Map<String, Value>),
    /// The id removed, and the reason echoed.
    Removed { id: String, reason: &'static str },
    /// The item failed.
    Failed {
        status: u16,
        code: &'static str,
        op: &'static str,
    },
}

/// What the model expects of the whole request.
#[derive(Debug)]
pub(super) enum Expected {
    /// A whole-request error (rules E3–E9).
    Refused { status: u16, code: &'static str },
    /// Atomic mode with at least one failure (rule O1).
    Atomic { outcomes: Vec<Outcome> },
    /// Items applied (200 or 204), and the state after.
    Applied {
        outcomes: Vec<Outcome>,
        state: Map<String, Value>,
    },
}

fn refused(status: u16, code: &'static str) -> Expected {
    Expected::Refused { status, code }
}

fn array(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    }
}

/// Whether `v` is a string naming `canonical` (which starts with `#`): case-insensitive, `#`
/// optional.
fn names_type(v: &Value, canonical: &str) -> bool {
    let Value::String(s) = v else {
        return false;
    };
    let given = s.strip_prefix('#').unwrap_or(s);
    given.to_lowercase() == canonical[1..].to_lowercase()
}

fn non_empty_string(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The model's run of a case.
pub(super) fn run(case: &Case) -> Expected {
    let state = case
        .state
        .as_object()
        .expect("the decoder builds an object");
    let body = case.body.as_object().expect("the decoder builds an object");
    let kind = case.kind;
    let edited = case.edited();
    let other = case.other();

    // E3.
    let status = state.get("status");
    if !(status.is_none() || status == Some(&Value::Null) || status == Some(&json!("draft"))) {
        return refused(403, "RestoreSessionActionNotAllowed");
    }
    if state.get("restoreJobType") == Some(&json!("bulk")) {
        return refused(403, "RestoreSessionActionNotAllowed");
    }
    // E4.
    let mut deltas = Vec::new();
    for (name, value) in body {
        let allowed = if let Some(collection) = name.strip_suffix("@delta") {
            let mine = collection == kind.standard.name || collection == kind.granular.name;
            if mine {
                deltas.push(value);
            }
            mine
        } else if name == "@odata.type" {
            names_type(value, kind.session_type)
        } else if name == "id" {
            value == SESSION_ID
        } else {
            name.contains('@')
        };
        if !allowed {
            return refused(400, BAD);
        }
    }
    // E5.
    if deltas.len() > 1 {
        return refused(400, BAD);
    }
    // E6.
    let items = match deltas.first() {
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => return refused(400, "InvalidArtifactRequest"),
    };
    // E7.
    if items.len() > case.options.max_items {
        return refused(400, "RestoreArtifactsLimitBreached");
    }
    // E8.
    if items.iter().any(|i| !i.is_object()) {
        return refused(400, BAD);
    }
    // E9.
    let others = array(state.get(other.name));
    if !others.is_empty() {
        return refused(400, BAD);
    }

    let stored = array(state.get(edited.name));
    let was_empty = stored.is_empty() && others.is_empty();
    let mut machine = Machine {
        collection: edited,
        evolving: stored,
        next_id: 0,
        missing_succeeds: case.options.missing_removal == MissingRemoval::Succeed,
        changed: false,
        added: false,
    };
    let outcomes: Vec<Outcome> = items
        .iter()
        .map(|item| machine.decide(item.as_object().expect("checked: E8")))
        .collect();
    let failed = outcomes.iter().any(|o| matches!(o, Outcome::Failed { .. }));
    if case.options.atomic && failed {
        return Expected::Atomic { outcomes };
    }

    // Commit (X4, A7, G4, E9, O6).
    let mut after = state.clone();
    let total = machine.evolving.len() + others.len();
    after.insert(edited.name.into(), Value::Array(machine.evolving));
    if was_empty && machine.added {
        let job = if case.granular {
            "granular"
        } else {
            "standard"
        };
        after.insert("restoreJobType".into(), json!(job));
    }
    if machine.changed {
        after.insert("lastModifiedDateTime".into(), json!(NOW));
        if case.actor {
            after.insert("lastModifiedBy".into(), super::actor());
        }
        if let Some(Value::Object(count)) = after.get_mut("restoreSessionArtifactCount") {
            count.insert("total".into(), json!(total));
        }
    }
    Expected::Applied {
        outcomes,
        state: after,
    }
}

/// The evolving collection and what the request did so far.
struct Machine {
    collection: &'static Coll,
    evolving: Vec<Value>,
    /// How many ids the id source (`n1`, `n2`, …) has yielded.
    next_id: u32,
    missing_succeeds: bool,
    /// An item changed the collection (O6).
    changed: bool,
    /// An addition succeeded (E9).
    added: bool,
}

fn fail(status: u16, code: &'static str, op: &'static str) -> Outcome {
    Outcome::Failed { status, code, op }
}

impl Machine {
    fn position(&self, id: &str) -> Option<usize> {
        self.evolving.iter().position(|a| a["id"] == id)
    }

    fn decide(&mut self, item: &Map<String, Value>) -> Outcome {
        if item.contains_key("@removed") || item.contains_key("@odata.removed") {
            self.remove(item)
        } else if self.collection.shape == Shape::Item {
            self.add_item(item)
        } else {
            self.add_standard(item)
        }
    }

    /// X1–X4.
    fn remove(&mut self, item: &Map<String, Value>) -> Outcome {
        let op = "remove";
        let marker = match (item.get("@removed"), item.get("@odata.removed")) {
            (Some(m), None) | (None, Some(m)) => m,
            _ => return fail(400, BAD, op),
        };
        let reason = match marker {
            Value::Null => "changed",
            Value::Object(o) => match o.get("reason") {
                None | Some(Value::Null) => "changed",
                Some(r) if r == "changed" => "changed",
                Some(r) if r == "deleted" => "deleted",
                Some(_) => return fail(400, BAD, op),
            },
            _ => return fail(400, BAD, op),
        };
        let Some(id) = non_empty_string(item.get("id")) else {
            return fail(400, BAD, op);
        };
        match self.position(&id) {
            Some(p) => {
                self.evolving.remove(p);
                self.changed = true;
            }
            None if self.missing_succeeds => {}
            None => return fail(409, "Invalid", op),
        }
        Outcome::Removed { id, reason }
    }

    /// Members other than annotations must be in `allowed`; `@odata.type` must name the type.
    fn members_allowed(&self, item: &Map<String, Value>, allowed: &[&str]) -> bool {
        let members_ok = item
            .keys()
            .all(|name| name.contains('@') || allowed.contains(&name.as_str()));
        let type_ok = item
            .get("@odata.type")
            .is_none_or(|t| names_type(t, self.collection.item_type));
        members_ok && type_ok
    }

    /// A1–A7.
    fn add_standard(&mut self, item: &Map<String, Value>) -> Outcome {
        let op = "insert";
        let mailbox = self.collection.shape == Shape::Mailbox;
        let allowed: &[&str] = if mailbox {
            &["restorePoint", "destinationType", "searchResponseId"]
        } else {
            &["restorePoint", "destinationType"]
        };
        // A1.
        if !self.members_allowed(item, allowed) {
            return fail(400, BAD, op);
        }
        // A2.
        let restore_point = match item.get("restorePoint") {
            Some(Value::Object(rp)) => match (rp.get("id"), rp.get("@odata.id")) {
                (Some(a), Some(b)) if a == b => non_empty_string(Some(a)),
                (Some(_), Some(_)) => None,
                (Some(a), None) | (None, Some(a)) => non_empty_string(Some(a)),
                (None, None) => None,
            },
            _ => None,
        };
        let Some(restore_point) = restore_point else {
            return fail(400, "InvalidRestorePoint", op);
        };
        // A3.
        let destination = match item.get("destinationType") {
            Some(Value::String(d)) if d == "new" || d == "inPlace" => d.clone(),
            _ => return fail(400, "InvalidPathType", op),
        };
        // A6 (before A4, which needs the pair).
        let search = if mailbox {
            match non_empty_string(item.get("searchResponseId")) {
                Some(s) => Some(s),
                None => return fail(400, BAD, op),
            }
        } else {
            None
        };
        // A4.
        let duplicate = self.evolving.iter().any(|a| {
            let rp = &a["restorePoint"];
            let stored_rp = rp["id"].as_str().or(rp["@odata.id"].as_str());
            let same_rp = stored_rp == Some(restore_point.as_str());
            let same_search = match &search {
                None => true,
                Some(s) => a["searchResponseId"].as_str() == Some(s.as_str()),
            };
            same_rp && same_search
        });
        if duplicate {
            return fail(400, "DuplicateArtifactInList", op);
        }
        // A5.
        let mixed = self
            .evolving
            .iter()
            .any(|a| matches!(a["destinationType"].as_str(), Some(d) if d != destination));
        if mixed {
            return fail(400, "DifferentRestoreDestinationType", op);
        }
        // A7: ids from the source, skipping any already in the collection, at most len + 1 draws.
        let mut id = None;
        for _ in 0..=self.evolving.len() {
            self.next_id += 1;
            let candidate = format!("n{}", self.next_id);
            if self.position(&candidate).is_none() {
                id = Some(candidate);
                break;
            }
        }
        let Some(id) = id else {
            return fail(500, "InternalServerError", op);
        };
        let mut artifact = Map::new();
        artifact.insert("id".into(), json!(id));
        artifact.insert("restorePoint".into(), json!({ "id": restore_point }));
        artifact.insert("destinationType".into(), json!(destination));
        if let Some(s) = search {
            artifact.insert("searchResponseId".into(), json!(s));
        }
        artifact.insert("status".into(), json!("added"));
        artifact.insert("createdDateTime".into(), json!(NOW));
        self.evolving.push(Value::Object(artifact.clone()));
        self.changed = true;
        self.added = true;
        Outcome::Added(artifact)
    }

    /// G1–G4.
    fn add_item(&mut self, item: &Map<String, Value>) -> Outcome {
        let op = "insert";
        // G1.
        if !self.members_allowed(item, &["browseSessionId", "id", "itemKey"]) {
            return fail(400, BAD, op);
        }
        // G2.
        let Some(browse) = non_empty_string(item.get("browseSessionId")) else {
            return fail(400, BAD, op);
        };
        let key = match (item.get("id"), item.get("itemKey")) {
            (Some(a), Some(b)) if a == b => non_empty_string(Some(a)),
            (Some(_), Some(_)) => None,
            (Some(a), None) | (None, Some(a)) => non_empty_string(Some(a)),
            (None, None) => None,
        };
        let Some(key) = key else {
            return fail(400, BAD, op);
        };
        // G3.
        if self.position(&key).is_some() {
            return fail(400, "DuplicateArtifactInList", op);
        }
        // G4.
        let mut artifact = Map::new();
        artifact.insert("id".into(), json!(key));
        artifact.insert("browseSessionId".into(), json!(browse));
        artifact.insert("status".into(), json!("added"));
        artifact.insert("createdDateTime".into(), json!(NOW));
        self.evolving.push(Value::Object(artifact.clone()));
        self.changed = true;
        self.added = true;
        Outcome::Added(artifact)
    }
}

/// The engine's outcome in the model's terms.
fn engine_outcome(o: &ItemOutcome) -> String {
    match o {
        ItemOutcome::Added { id } => format!("added {id}"),
        ItemOutcome::Removed { id } => format!("removed {id}"),
        ItemOutcome::Failed(f) => format!(
            "failed {} {} {}",
            f.status,
            f.code.as_str(),
            f.operation.as_str()
        ),
        ItemOutcome::NotApplied => "not applied".into(),
    }
}

fn model_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Added(a) => format!("added {}", a["id"].as_str().unwrap_or_default()),
        Outcome::Removed { id, .. } => format!("removed {id}"),
        Outcome::Failed { status, code, op } => format!("failed {status} {code} {op}"),
    }
}

/// A collection member that is an empty array says no more than an absent one (S1).
fn normalize(mut state: Map<String, Value>) -> Map<String, Value> {
    state.retain(|name, v| {
        let collection = super::ops::KINDS
            .iter()
            .any(|k| name == k.standard.name || name == k.granular.name);
        !(collection && v.as_array().is_some_and(Vec::is_empty))
    });
    state
}

/// Removes and returns `info.message` from a failure entry, or `message` from an error detail.
fn take_message(v: &mut Value) -> Option<Value> {
    let obj = v.as_object_mut()?;
    if let Some(e) = obj.get_mut("@Core.DataModificationException") {
        return e.get_mut("info")?.as_object_mut()?.remove("message");
    }
    obj.remove("message")
}

fn expected_entry(item: &Map<String, Value>, outcome: &Outcome) -> Value {
    let mut e = Map::new();
    for name in CONTENT_IDS {
        if let Some(v) = item.get(name) {
            e.insert(name.into(), v.clone());
        }
    }
    match outcome {
        Outcome::Added(artifact) => {
            for (k, v) in artifact {
                e.insert(k.clone(), v.clone());
            }
        }
        Outcome::Removed { id, reason } => {
            e.insert("@removed".into(), json!({ "reason": reason }));
            e.insert("id".into(), json!(id));
        }
        Outcome::Failed { status, code, op } => {
            let keys: &[&str] = if *op == "remove" {
                &["id"]
            } else {
                &[
                    "id",
                    "itemKey",
                    "browseSessionId",
                    "restorePoint",
                    "destinationType",
                    "searchResponseId",
                ]
            };
            for k in keys {
                if let Some(v) = item.get(*k) {
                    e.insert((*k).into(), v.clone());
                }
            }
            e.insert(
                "@Core.DataModificationException".into(),
                json!({"info": {"code": code}, "failedOperation": op, "responseCode": status}),
            );
        }
    }
    Value::Object(e)
}

/// Checks the engine's answer against the model's.
pub(super) fn compare(
    case: &Case,
    expected: &Expected,
    applied: &Applied,
    before: &str,
    body_text: &str,
) {
    let what = format!(
        "\nstate: {}\nbody: {body_text}\noptions: {:?}, actor: {}\nexpected: {expected:?}\nresponse: {:?}",
        case.state, case.options, case.actor, applied.response
    );
    let engine: Vec<String> = applied.outcomes.iter().map(engine_outcome).collect();
    let delta_name = format!("{}@delta", case.edited().name);
    let items: Vec<Map<String, Value>> = array(case.body.get(&delta_name))
        .into_iter()
        .map(|i| i.as_object().cloned().unwrap_or_default())
        .collect();
    match expected {
        Expected::Refused { status, code } => {
            let error = applied.error.as_ref();
            assert_eq!(
                (applied.response.status, error.map(|e| e.code.as_str())),
                (*status, Some(*code)),
                "whole-request outcome{what}"
            );
            assert!(engine.is_empty(), "item outcomes on a refusal{what}");
            assert_eq!(applied.state.to_json(), before, "O2: state changed{what}");
        }
        Expected::Atomic { outcomes } => {
            let model: Vec<String> = outcomes
                .iter()
                .map(|o| match o {
                    Outcome::Failed { .. } => model_outcome(o),
                    _ => "not applied".into(),
                })
                .collect();
            assert_eq!(engine, model, "O1: item outcomes{what}");
            let (index, status, code) = outcomes
                .iter()
                .enumerate()
                .find_map(|(i, o)| match o {
                    Outcome::Failed { status, code, .. } => Some((i, *status, *code)),
                    _ => None,
                })
                .expect("Atomic holds a failure");
            let error = applied.error.as_ref().map(|e| e.code.as_str());
            assert_eq!(
                (applied.response.status, error),
                (status, Some(code)),
                "O1: the first failure (item {index}) decides{what}"
            );
            let mut body = applied.response.body_value().expect("an error body");
            let mut details = body["error"]["details"].take();
            let details = details.as_array_mut().expect("O1: details");
            for d in details.iter_mut() {
                assert!(
                    take_message(d).is_some_and(|m| m.is_string()),
                    "O1: message{what}"
                );
            }
            let want: Vec<Value> = outcomes
                .iter()
                .enumerate()
                .filter_map(|(i, o)| match o {
                    Outcome::Failed { code, .. } => {
                        Some(json!({"code": code, "target": format!("{delta_name}/{i}")}))
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(*details, want, "O1: details{what}");
            assert_eq!(applied.state.to_json(), before, "O1: state changed{what}");
        }
        Expected::Applied { outcomes, state } => {
            let model: Vec<String> = outcomes.iter().map(model_outcome).collect();
            assert_eq!(engine, model, "item outcomes{what}");
            assert!(applied.error.is_none(), "an error{what}");
            let got = applied.state.to_value();
            let got = got.as_object().expect("a state is an object").clone();
            let ids = |s: &Map<String, Value>| -> Vec<String> {
                array(s.get(case.edited().name))
                    .iter()
                    .map(|a| a["id"].as_str().unwrap_or_default().to_owned())
                    .collect()
            };
            assert_eq!(ids(&got), ids(state), "final collection ids{what}");
            let got = normalize(got);
            let want = normalize(state.clone());
            assert_eq!(
                Value::Object(got),
                Value::Object(want.clone()),
                "final state{what}"
            );
            let failed = outcomes.iter().any(|o| matches!(o, Outcome::Failed { .. }));
            if case.options.return_minimal && !failed {
                assert_eq!(applied.response.status, 204, "O5{what}");
                assert!(applied.response.body.is_none(), "O5: a body{what}");
                return;
            }
            assert_eq!(applied.response.status, 200, "O3{what}");
            let mut body = applied.response.body_value().expect("O3: a JSON body");
            let body = body.as_object_mut().expect("O3: an object");
            let mut entries = body.remove(&delta_name).expect("O3: the delta");
            let entries = entries.as_array_mut().expect("O3: an array");
            for e in entries.iter_mut() {
                if let Some(m) = take_message(e) {
                    assert!(
                        m.as_str().is_some_and(|m| !m.is_empty()),
                        "O3: message{what}"
                    );
                }
            }
            let want_entries: Vec<Value> = items
                .iter()
                .zip(outcomes)
                .map(|(item, o)| expected_entry(item, o))
                .collect();
            assert_eq!(*entries, want_entries, "O3: entries{what}");
            let mut members = want;
            members.remove(case.kind.standard.name);
            members.remove(case.kind.granular.name);
            assert_eq!(*body, members, "O3: the body's session members{what}");
        }
    }
}
