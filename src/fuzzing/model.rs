//! The deliberately simple model of the rules: the one model both differential checks use,
//! property `p4_engine_equals_the_model` in `tests/properties.rs` and the
//! [`apply_ops`](super::apply_ops) fuzz target (run by `fuzz/`, replayed on stable by
//! `tests/fuzz_replay.rs`).
//!
//! Written from `docs/SEMANTICS.md` alone and sharing no code with the engine: it uses
//! `serde_json` (and serde's visitor, to see duplicate member names) and its own code, nothing
//! else of this crate. The state and the request are `serde_json` values, the evolving collection
//! is a `Vec`, every look-up is a linear scan, and the checks run in the order the rules list
//! them (A6 before A4, as the project decided). Slow and obvious on purpose.
//!
//! [`apply`] is the model. Its inputs and outputs are plain values ([`Opts`], an id source as a
//! closure, [`Answer`], [`Out`]); the few adapters from and to the public API
//! ([`Opts::from_options`], [`outcomes_of`]) and the comparison helper [`without_messages`] sit
//! at the end of the file, apart from the rules, and only convert.
//!
//! Preconditions: the state is one `Session::from_json` accepts (the model does not check S1–S5;
//! it panics on a state whose kind it cannot tell). Bodies are parsed by `serde_json`, whose own
//! nesting limit (128) refuses deeper bodies whatever `max_depth` says; both callers keep
//! `max_depth` at or below the default 64.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::{ItemOutcome, MissingRemoval, Options};

// ------------------------------------------------------------------ the kinds, from the rules

/// How additions to a collection are shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `restorePoint` + `destinationType` (drive, site, mailbox): rules A1–A7.
    Standard,
    /// `restorePoint` + `destinationType` + `searchResponseId` (granular mailbox): A1–A7.
    Mailbox,
    /// `browseSessionId` + `id`/`itemKey` (granular drive and site): rules G1–G4.
    Item,
}

/// One artifact collection, as the rules name it.
#[derive(Debug)]
pub struct Coll {
    /// The collection's member name in the state, e.g. `driveRestoreArtifacts`.
    pub name: &'static str,
    /// The `@odata.type` of its items, with the leading `#`.
    pub item_type: &'static str,
    /// How its additions are shaped.
    pub shape: Shape,
}

impl Coll {
    /// The request member that carries a delta for this collection: `<name>@delta`.
    pub fn delta(&self) -> String {
        format!("{}@delta", self.name)
    }
}

/// One session kind and its two collections (S1).
#[derive(Debug)]
pub struct Kind {
    /// The session's `@odata.type`, with the leading `#`.
    pub session_type: &'static str,
    /// The standard collection.
    pub standard: Coll,
    /// The granular collection.
    pub granular: Coll,
    /// The member holding bulk-addition requests: non-empty, the session is bulk (E3).
    pub bulk: &'static str,
}

impl Kind {
    /// The standard collection, or the granular one.
    pub fn collection(&self, granular: bool) -> &Coll {
        if granular {
            &self.granular
        } else {
            &self.standard
        }
    }
}

/// The three kinds, written out from the rules (not taken from the engine's tables).
pub static KINDS: [Kind; 3] = [
    Kind {
        session_type: "#microsoft.graph.oneDriveForBusinessRestoreSession",
        standard: Coll {
            name: "driveRestoreArtifacts",
            item_type: "#microsoft.graph.driveRestoreArtifact",
            shape: Shape::Standard,
        },
        granular: Coll {
            name: "granularDriveRestoreArtifacts",
            item_type: "#microsoft.graph.granularDriveRestoreArtifact",
            shape: Shape::Item,
        },
        bulk: "driveRestoreArtifactsBulkAdditionRequests",
    },
    Kind {
        session_type: "#microsoft.graph.sharePointRestoreSession",
        standard: Coll {
            name: "siteRestoreArtifacts",
            item_type: "#microsoft.graph.siteRestoreArtifact",
            shape: Shape::Standard,
        },
        granular: Coll {
            name: "granularSiteRestoreArtifacts",
            item_type: "#microsoft.graph.granularSiteRestoreArtifact",
            shape: Shape::Item,
        },
        bulk: "siteRestoreArtifactsBulkAdditionRequests",
    },
    Kind {
        session_type: "#microsoft.graph.exchangeRestoreSession",
        standard: Coll {
            name: "mailboxRestoreArtifacts",
            item_type: "#microsoft.graph.mailboxRestoreArtifact",
            shape: Shape::Standard,
        },
        granular: Coll {
            name: "granularMailboxRestoreArtifacts",
            item_type: "#microsoft.graph.granularMailboxRestoreArtifact",
            shape: Shape::Mailbox,
        },
        bulk: "mailboxRestoreArtifactsBulkAdditionRequests",
    },
];

// ------------------------------------------------------------------ inputs and outputs

/// The options the rules know, as plain values.
#[derive(Clone, Debug)]
pub struct Opts {
    /// O1: all or nothing.
    pub atomic: bool,
    /// O5: `return=minimal`.
    pub minimal: bool,
    /// X3: a removal of an absent id succeeds and changes nothing.
    pub succeed_missing: bool,
    /// E7: the item limit.
    pub max_items: usize,
    /// E1: the body size limit, in bytes.
    pub max_bytes: usize,
    /// E2: the nesting limit (the body object is depth 1).
    pub max_depth: usize,
    /// O7: `Prefer: include-unknown-enum-members`.
    pub include_unknown: bool,
    /// A2: service roots besides Graph's two.
    pub roots: Vec<String>,
    /// O8: what the `Prefer` header asked, the first time each preference was given:
    /// `return` (`Some(true)` minimal, `Some(false)` representation), continue-on-error (the
    /// name used, and `Some(true)` to continue, `Some(false)` for atomic), and
    /// include-unknown-enum-members. `None` (or `false`) when not asked or not understood.
    pub asked_return: Option<bool>,
    /// See [`Opts::asked_return`].
    pub asked_continue: Option<(String, bool)>,
    /// See [`Opts::asked_return`].
    pub asked_include_unknown: bool,
}

impl Default for Opts {
    /// Graph's defaults, nothing asked.
    fn default() -> Opts {
        Opts {
            atomic: false,
            minimal: false,
            succeed_missing: false,
            max_items: 50,
            max_bytes: 1024 * 1024,
            max_depth: 64,
            include_unknown: false,
            roots: Vec::new(),
            asked_return: None,
            asked_continue: None,
            asked_include_unknown: false,
        }
    }
}

/// What the model expects of one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// An artifact with this id was appended, as the rule named (A7 or G4) shapes it.
    Added(String, String),
    /// The item removed this id (`true`: it was there, X4), or, with
    /// [`Opts::succeed_missing`], named an absent one (`false`, X3).
    Removed(String, bool),
    /// The item failed.
    Failed {
        /// A removal (`failedOperation: "remove"`), else an addition (`"insert"`).
        remove: bool,
        /// The item's status code.
        status: u16,
        /// The item's error code.
        code: String,
        /// The rule that failed it.
        rule: String,
    },
    /// Atomic mode: the item would have succeeded, but another failed (O1).
    NotApplied,
}

/// What the model expects of a whole request.
#[derive(Debug)]
pub struct Answer {
    /// The response status: 200, 204, or an error status.
    pub status: u16,
    /// The whole-request error code, if the request was refused (E1–E9, O1).
    pub error_code: Option<String>,
    /// The rule that refused the request (E1–E9, O1).
    pub error_rule: Option<String>,
    /// The state after: the input state itself when the request was refused (O2).
    pub state: Value,
    /// One outcome per item; empty when the envelope was refused.
    pub outcomes: Vec<Out>,
    /// The response body without the human-readable messages (see [`without_messages`]);
    /// `None` for 204.
    pub body: Option<Value>,
    /// The `Preference-Applied` value (O8).
    pub preference_applied: Option<String>,
}

// ------------------------------------------------------------------ the rules

/// A failure: status, error code, and the rule (its id in `docs/SEMANTICS.md`) that decided it.
type Fail = (u16, &'static str, &'static str);
/// 400 `InvalidPatchRequest`, decided by `rule`.
fn ipr(rule: &'static str) -> Fail {
    (400, "InvalidPatchRequest", rule)
}

const CONTENT_IDS: [&str; 3] = [
    "@contentId",
    "@Core.ContentID",
    "@Org.OData.Core.V1.ContentID",
];

/// The members a failed addition echoes (O3).
const ADDITION_KEYS: [&str; 6] = [
    "id",
    "itemKey",
    "browseSessionId",
    "restorePoint",
    "destinationType",
    "searchResponseId",
];

/// What one item did.
enum Step {
    Added(Map<String, Value>),
    Removed {
        id: String,
        reason: &'static str,
        existed: bool,
    },
    Failed(Fail),
}

/// Whether `v` is a string naming `canonical`: ASCII case-insensitive, one leading `#`
/// optional on either side (S2, E4, A1, G1).
fn type_matches(v: &Value, canonical: &str) -> bool {
    let Value::String(given) = v else {
        return false;
    };
    let given = given.strip_prefix('#').unwrap_or(given);
    let canonical = canonical.strip_prefix('#').unwrap_or(canonical);
    given.eq_ignore_ascii_case(canonical)
}

/// S2: the kind from `@odata.type`, else from the collection names present.
fn kind_of(state: &Map<String, Value>) -> &'static Kind {
    if let Some(t @ Value::String(_)) = state.get("@odata.type") {
        return KINDS
            .iter()
            .find(|k| type_matches(t, k.session_type))
            .expect("S2: the state's type names a restore session");
    }
    KINDS
        .iter()
        .find(|k| {
            [false, true]
                .iter()
                .any(|g| state.contains_key(k.collection(*g).name))
        })
        .expect("S2: a collection tells the kind")
}

/// E2: the body object is depth 1; each nested array or object adds one.
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn non_empty(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A collection of the state; a missing one is empty (S1).
fn collection(state: &Map<String, Value>, name: &str) -> Vec<Value> {
    match state.get(name) {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    }
}

fn is_removal(item: &Map<String, Value>) -> bool {
    item.contains_key("@removed") || item.contains_key("@odata.removed")
}

/// E1–E9, in order: the edited collection (granular or not) and the items.
fn envelope(
    state: &Map<String, Value>,
    kind: &Kind,
    body: &[u8],
    o: &Opts,
) -> Result<(bool, Vec<Map<String, Value>>), Fail> {
    // E1.
    if body.len() > o.max_bytes {
        return Err((413, "RequestEntityTooLarge", "E1"));
    }
    // E2.
    let v: Value = serde_json::from_slice(body).map_err(|_| ipr("E2"))?;
    if depth(&v) > o.max_depth || has_duplicate_member(body) {
        return Err(ipr("E2"));
    }
    let Value::Object(b) = v else {
        return Err(ipr("E2"));
    };
    // E3.
    let forbidden = (403, "RestoreSessionActionNotAllowed", "E3");
    match state.get("status") {
        None | Some(Value::Null) => {}
        Some(s) if s == "draft" => {}
        Some(_) => return Err(forbidden),
    }
    if state.get("restoreJobType") == Some(&json!("bulk")) {
        return Err(forbidden);
    }
    if matches!(state.get(kind.bulk), Some(Value::Array(a)) if !a.is_empty()) {
        return Err(forbidden);
    }
    // E4.
    let mut deltas: Vec<(bool, &Value)> = Vec::new();
    for (name, value) in &b {
        if let Some(g) = [false, true]
            .into_iter()
            .find(|g| *name == kind.collection(*g).delta())
        {
            deltas.push((g, value));
            continue;
        }
        let ok = if name.ends_with("@delta") {
            false
        } else if name == "@odata.type" {
            type_matches(value, kind.session_type)
        } else if name == "id" {
            Some(value) == state.get("id")
        } else {
            name.contains('@')
        };
        if !ok {
            return Err(ipr("E4"));
        }
    }
    // E5.
    if deltas.len() > 1 {
        return Err(ipr("E5"));
    }
    // E6.
    let empty = (400, "InvalidArtifactRequest", "E6");
    let Some(&(granular, delta)) = deltas.first() else {
        return Err(empty);
    };
    let items = match delta {
        Value::Array(a) if !a.is_empty() => a,
        _ => return Err(empty),
    };
    // E7.
    if items.len() > o.max_items {
        return Err((400, "RestoreArtifactsLimitBreached", "E7"));
    }
    // E8.
    let mut objects = Vec::new();
    for item in items {
        objects.push(item.as_object().cloned().ok_or_else(|| ipr("E8"))?);
    }
    // E9.
    if !collection(state, kind.collection(!granular).name).is_empty() {
        return Err(ipr("E9"));
    }
    Ok((granular, objects))
}

/// The evolving collection and what the request did to it so far.
struct Machine<'a> {
    coll: &'a Coll,
    evolving: Vec<Value>,
    ids: &'a mut dyn FnMut() -> String,
    now: &'a str,
    succeed_missing: bool,
    /// A2: the service roots an absolute `@odata.id` may start with.
    roots: Vec<String>,
    /// An item changed the collection (O6).
    changed: bool,
}

impl Machine<'_> {
    fn position(&self, id: &str) -> Option<usize> {
        self.evolving.iter().position(|a| a["id"] == id)
    }

    fn decide(&mut self, item: &Map<String, Value>) -> Step {
        if is_removal(item) {
            self.remove(item)
        } else if self.coll.shape == Shape::Item {
            self.add_item(item)
        } else {
            self.add_standard(item)
        }
    }

    /// X1–X4.
    fn remove(&mut self, item: &Map<String, Value>) -> Step {
        // X1.
        let marker = match (item.get("@removed"), item.get("@odata.removed")) {
            (Some(m), None) | (None, Some(m)) => m,
            _ => return Step::Failed(ipr("X1")),
        };
        let reason = match marker {
            Value::Null => "changed",
            Value::Object(m) => match m.get("reason") {
                None | Some(Value::Null) => "changed",
                Some(r) if r == "changed" => "changed",
                Some(r) if r == "deleted" => "deleted",
                Some(_) => return Step::Failed(ipr("X1")),
            },
            _ => return Step::Failed(ipr("X1")),
        };
        // X2.
        let Some(id) = non_empty(item.get("id")) else {
            return Step::Failed(ipr("X2"));
        };
        // X3, X4.
        let existed = match self.position(&id) {
            Some(p) => {
                self.evolving.remove(p);
                self.changed = true;
                true
            }
            None if self.succeed_missing => false,
            None => return Step::Failed((409, "Invalid", "X3")),
        };
        Step::Removed {
            id,
            reason,
            existed,
        }
    }

    /// A1, G1: members other than annotations must be in `allowed`; `@odata.type`, if given,
    /// must name the collection's item type.
    fn members_allowed(&self, item: &Map<String, Value>, allowed: &[&str]) -> bool {
        let members_ok = item
            .keys()
            .all(|k| k.contains('@') || allowed.contains(&k.as_str()));
        let type_ok = item
            .get("@odata.type")
            .is_none_or(|t| type_matches(t, self.coll.item_type));
        members_ok && type_ok
    }

    /// Two members naming one thing (A2: `id`/`@odata.id`; G2: `id`/`itemKey`): the one given,
    /// or both if equal; a non-empty string.
    fn one_of(a: Option<&Value>, b: Option<&Value>) -> Option<String> {
        match (a, b) {
            (None, None) => None,
            (Some(x), None) | (None, Some(x)) => non_empty(Some(x)),
            (Some(x), Some(y)) => match (non_empty(Some(x)), non_empty(Some(y))) {
                (Some(x), Some(y)) if x == y => Some(x),
                _ => None,
            },
        }
    }

    /// A1–A7 (A6 for granular mailbox artifacts).
    fn add_standard(&mut self, item: &Map<String, Value>) -> Step {
        let mailbox = self.coll.shape == Shape::Mailbox;
        let allowed: &[&str] = if mailbox {
            &["restorePoint", "destinationType", "searchResponseId"]
        } else {
            &["restorePoint", "destinationType"]
        };
        // A1.
        if !self.members_allowed(item, allowed) {
            return Step::Failed(ipr("A1"));
        }
        // A2.
        let restore_point = match item.get("restorePoint") {
            Some(Value::Object(r)) => {
                let resolved = match r.get("@odata.id") {
                    None => None,
                    Some(Value::String(iri)) => match resolve_iri(iri, &self.roots) {
                        Some(key) => Some(json!(key)),
                        None => return Step::Failed((400, "InvalidRestorePoint", "A2")),
                    },
                    Some(_) => return Step::Failed((400, "InvalidRestorePoint", "A2")),
                };
                Self::one_of(r.get("id"), resolved.as_ref())
            }
            _ => None,
        };
        let Some(restore_point) = restore_point else {
            return Step::Failed((400, "InvalidRestorePoint", "A2"));
        };
        // A3.
        let destination = match item.get("destinationType") {
            Some(Value::String(d)) if d == "new" || d == "inPlace" => d.clone(),
            _ => return Step::Failed((400, "InvalidPathType", "A3")),
        };
        // A6 (before A4, which needs the pair).
        let search = if mailbox {
            match non_empty(item.get("searchResponseId")) {
                Some(s) => Some(s),
                None => return Step::Failed(ipr("A6")),
            }
        } else {
            None
        };
        // A4: a stored reference is `id`, else `@odata.id`; the pair for granular mailbox.
        let duplicate = self.evolving.iter().any(|a| {
            let rp = &a["restorePoint"];
            let stored_rp = rp["id"].as_str().or(rp["@odata.id"].as_str());
            let same_search = match &search {
                None => true,
                Some(s) => a["searchResponseId"].as_str() == Some(s.as_str()),
            };
            stored_rp == Some(restore_point.as_str()) && same_search
        });
        if duplicate {
            return Step::Failed((400, "DuplicateArtifactInList", "A4"));
        }
        // A5: stored artifacts without a (string) destination type do not constrain.
        let mixed = self
            .evolving
            .iter()
            .any(|a| matches!(a["destinationType"].as_str(), Some(d) if d != destination));
        if mixed {
            return Step::Failed((400, "DifferentRestoreDestinationType", "A5"));
        }
        // A7: an empty id or one already in the collection is discarded; at most 16 draws;
        // nothing fresh is a 500.
        let mut id = None;
        for _ in 0..16 {
            let candidate = (self.ids)();
            if !candidate.is_empty() && self.position(&candidate).is_none() {
                id = Some(candidate);
                break;
            }
        }
        let Some(id) = id else {
            return Step::Failed((500, "InternalServerError", "A7"));
        };
        let mut artifact = Map::new();
        artifact.insert("id".into(), json!(id));
        artifact.insert("restorePoint".into(), json!({ "id": restore_point }));
        artifact.insert("destinationType".into(), json!(destination));
        if let Some(s) = search {
            artifact.insert("searchResponseId".into(), json!(s));
        }
        artifact.insert("status".into(), json!("added"));
        artifact.insert("createdDateTime".into(), json!(self.now));
        self.evolving.push(Value::Object(artifact.clone()));
        self.changed = true;
        Step::Added(artifact)
    }

    /// G1–G4.
    fn add_item(&mut self, item: &Map<String, Value>) -> Step {
        // G1.
        if !self.members_allowed(item, &["browseSessionId", "id", "itemKey"]) {
            return Step::Failed(ipr("G1"));
        }
        // G2.
        let Some(browse) = non_empty(item.get("browseSessionId")) else {
            return Step::Failed(ipr("G2"));
        };
        let Some(key) = Self::one_of(item.get("id"), item.get("itemKey")) else {
            return Step::Failed(ipr("G2"));
        };
        // G3.
        if self.position(&key).is_some() {
            return Step::Failed((400, "DuplicateArtifactInList", "G3"));
        }
        // G4.
        let mut artifact = Map::new();
        artifact.insert("id".into(), json!(key));
        artifact.insert("browseSessionId".into(), json!(browse));
        artifact.insert("status".into(), json!("added"));
        self.evolving.push(Value::Object(artifact.clone()));
        self.changed = true;
        Step::Added(artifact)
    }
}

/// O3, O4: one response entry, messages left out.
fn entry(item: &Map<String, Value>, step: &Step) -> Value {
    let mut e = Map::new();
    for name in CONTENT_IDS {
        if let Some(v) = item.get(name) {
            e.insert(name.to_owned(), v.clone());
        }
    }
    match step {
        Step::Added(a) => {
            for (k, v) in a {
                e.insert(k.clone(), v.clone());
            }
        }
        Step::Removed { id, reason, .. } => {
            e.insert("@removed".into(), json!({ "reason": reason }));
            e.insert("id".into(), json!(id));
        }
        Step::Failed((status, code, _)) => {
            let removal = is_removal(item);
            let keys: &[&str] = if removal { &["id"] } else { &ADDITION_KEYS };
            for k in keys {
                if let Some(v) = item.get(*k) {
                    e.insert((*k).to_owned(), v.clone());
                }
            }
            e.insert(
                "@Core.DataModificationException".into(),
                json!({
                    "info": {"code": code},
                    "failedOperation": if removal { "remove" } else { "insert" },
                    "responseCode": status,
                }),
            );
        }
    }
    Value::Object(e)
}

/// One item's outcome; `added_by` is the rule that shapes an addition of this collection.
fn outcome(item: &Map<String, Value>, step: &Step, added_by: &str) -> Out {
    match step {
        Step::Added(a) => Out::Added(
            a["id"].as_str().unwrap_or_default().to_owned(),
            added_by.to_owned(),
        ),
        Step::Removed { id, existed, .. } => Out::Removed(id.clone(), *existed),
        Step::Failed((status, code, rule)) => Out::Failed {
            remove: is_removal(item),
            status: *status,
            code: (*code).to_owned(),
            rule: (*rule).to_owned(),
        },
    }
}

/// O2: a whole-request error, the state as it was.
fn refusal(status: u16, code: &str, rule: &str, state: &Value, details: Option<Value>) -> Answer {
    let mut e = json!({ "code": code });
    if let Some(d) = details {
        e["details"] = d;
    }
    Answer {
        status,
        error_code: Some(code.to_owned()),
        error_rule: Some(rule.to_owned()),
        state: state.clone(),
        outcomes: Vec::new(),
        body: Some(json!({ "error": e })),
        preference_applied: None,
    }
}

/// The model: what the rules say `state` becomes and what the response is when `body` is
/// applied with options `o`, clock value `now`, id source `ids` (called once per draw, as the
/// engine's) and caller identity `actor`.
///
/// # Panics
///
/// If `state` is not an object whose kind the rules can tell (S2): pass only states the engine
/// accepts.
pub fn apply(
    state: &Value,
    body: &[u8],
    o: &Opts,
    now: &str,
    ids: &mut dyn FnMut() -> String,
    actor: Option<&Value>,
) -> Answer {
    let st = state.as_object().expect("S1: a state is an object");
    let kind = kind_of(st);
    let (granular, items) = match envelope(st, kind, body, o) {
        Ok(x) => x,
        Err((status, code, rule)) => return refusal(status, code, rule, state, None),
    };
    let coll = kind.collection(granular);
    let added_by = if coll.shape == Shape::Item {
        "G4"
    } else {
        "A7"
    };
    let mut machine = Machine {
        coll,
        evolving: collection(st, coll.name),
        ids,
        now,
        succeed_missing: o.succeed_missing,
        roots: o.roots.clone(),
        changed: false,
    };
    let steps: Vec<Step> = items.iter().map(|item| machine.decide(item)).collect();
    let failures: Vec<(usize, Fail)> = steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Step::Failed(f) => Some((i, *f)),
            _ => None,
        })
        .collect();
    // O1: atomic.
    if o.atomic
        && let Some(&(_, (status, code, _))) = failures.first()
    {
        let details = failures
            .iter()
            .map(|(i, (_, c, _))| json!({"code": c, "target": format!("{}/{i}", coll.delta())}))
            .collect();
        let mut r = refusal(status, code, "O1", state, Some(Value::Array(details)));
        r.outcomes = items
            .iter()
            .zip(&steps)
            .map(|(item, s)| match s {
                Step::Failed(_) => outcome(item, s, added_by),
                _ => Out::NotApplied,
            })
            .collect();
        r.preference_applied = preference_applied(o, None);
        return r;
    }
    // Commit (X4, A7, G4, E9, O6). A collection member is written if it was there or now holds
    // artifacts.
    let added_any = steps.iter().any(|s| matches!(s, Step::Added(_)));
    let was_empty = [false, true]
        .iter()
        .all(|g| collection(st, kind.collection(*g).name).is_empty());
    let changed = machine.changed;
    let evolving = machine.evolving;
    let mut new = st.clone();
    if new.contains_key(coll.name) || !evolving.is_empty() {
        new.insert(coll.name.to_owned(), Value::Array(evolving));
    }
    if was_empty && added_any {
        let job = if granular { "granular" } else { "standard" };
        new.insert("restoreJobType".into(), json!(job));
    }
    if changed {
        new.insert("lastModifiedDateTime".into(), json!(now));
        if let Some(a) = actor {
            new.insert("lastModifiedBy".into(), a.clone());
        }
        let total: usize = [false, true]
            .iter()
            .map(|g| collection(&new, kind.collection(*g).name).len())
            .sum();
        if let Some(Value::Object(c)) = new.get_mut("restoreSessionArtifactCount") {
            c.insert("total".into(), json!(total));
        }
    }
    let outcomes = items
        .iter()
        .zip(&steps)
        .map(|(i, s)| outcome(i, s, added_by))
        .collect();
    // O3, O5. A state member spelled like the delta is left out: the delta takes its name.
    let body = if o.minimal && failures.is_empty() {
        None
    } else {
        let mut b = new.clone();
        b.remove(kind.standard.name);
        b.remove(kind.granular.name);
        // O7: evolvable-enum values after the sentinel, unless asked for.
        if !o.include_unknown {
            for (name, known) in [
                ("status", &SESSION_STATUS_BEFORE_SENTINEL[..]),
                ("restoreJobType", &JOB_TYPE_BEFORE_SENTINEL[..]),
            ] {
                if let Some(Value::String(v)) = b.get(name)
                    && !known.contains(&v.as_str())
                {
                    b.insert(name.into(), json!("unknownFutureValue"));
                }
            }
        }
        let entries = items.iter().zip(&steps).map(|(i, s)| entry(i, s)).collect();
        b.insert(coll.delta(), Value::Array(entries));
        Some(Value::Object(b))
    };
    let preference_applied = preference_applied(o, Some(body.is_none()));
    Answer {
        status: if body.is_some() { 200 } else { 204 },
        error_code: None,
        error_rule: None,
        state: Value::Object(new),
        outcomes,
        body,
        preference_applied,
    }
}

/// O7: the members of `restoreSessionStatus` and `restoreJobType` before `unknownFutureValue`
/// in the schema, the sentinel included.
const SESSION_STATUS_BEFORE_SENTINEL: [&str; 6] = [
    "draft",
    "activating",
    "active",
    "completedWithError",
    "completed",
    "unknownFutureValue",
];
const JOB_TYPE_BEFORE_SENTINEL: [&str; 3] = ["standard", "bulk", "unknownFutureValue"];

/// O8: the preferences honoured. `minimal`: `Some(true)` for a 204, `Some(false)` for a 200 with
/// the session, `None` for an atomic refusal.
fn preference_applied(o: &Opts, minimal: Option<bool>) -> Option<String> {
    let mut parts = Vec::new();
    if o.asked_return.is_some() && o.asked_return == minimal {
        parts.push(if minimal == Some(true) {
            "return=minimal".to_owned()
        } else {
            "return=representation".to_owned()
        });
    }
    if let Some((name, proceed)) = &o.asked_continue
        && *proceed != o.atomic
    {
        parts.push(if *proceed {
            name.clone()
        } else {
            format!("{name}=false")
        });
    }
    if o.asked_include_unknown && minimal == Some(false) {
        parts.push("include-unknown-enum-members".to_owned());
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A2: the key an `@odata.id` names: a bare key as it is; else a path ending in
/// `restorePoints/{key}`, `restorePoints('{key}')` or `restorePoints({key})`, optionally after
/// `solutions/backupRestore/`, relative (a leading `/` or none) or after a known root; the key
/// percent-decoded, `''` in quotes one `'`. Written apart from the engine's, on purpose.
fn resolve_iri(iri: &str, roots: &[String]) -> Option<String> {
    if iri.is_empty() || iri.contains('?') || iri.contains('#') {
        return None;
    }
    if !iri.contains('/') && !iri.contains('(') {
        return Some(iri.to_owned());
    }
    let lower = iri.to_ascii_lowercase();
    let mut all_roots: Vec<String> = vec![
        "https://graph.microsoft.com/v1.0/".into(),
        "https://graph.microsoft.com/beta/".into(),
    ];
    all_roots.extend(roots.iter().cloned());
    let mut path: Option<usize> = all_roots
        .iter()
        .find(|r| lower.starts_with(&r.to_ascii_lowercase()))
        .map(String::len);
    if path.is_none() {
        let colon = lower.find(':');
        let slash = lower.find('/');
        let scheme = match (colon, slash) {
            (Some(c), Some(s)) => c < s,
            (Some(_), None) => true,
            _ => false,
        };
        if scheme || lower.starts_with("//") {
            return None;
        }
        path = Some(usize::from(lower.starts_with('/')));
    }
    let mut at = path?;
    if lower[at..].starts_with("solutions/backuprestore/") {
        at += "solutions/backuprestore/".len();
    }
    if !lower[at..].starts_with("restorepoints") {
        return None;
    }
    at += "restorepoints".len();
    let rest = &iri[at..];
    let raw = if let Some(seg) = rest.strip_prefix('/') {
        if seg.contains('/') {
            return None;
        }
        decode(seg)?
    } else if rest.starts_with('(') && rest.ends_with(')') && rest.len() >= 2 {
        let inner = &rest[1..rest.len() - 1];
        if inner.contains('/') {
            return None;
        }
        let d = decode(inner)?;
        if d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'') {
            let body = &d[1..d.len() - 1];
            // Every quote doubled.
            if body.replace("''", "").contains('\'') {
                return None;
            }
            body.replace("''", "'")
        } else if d.contains('\'') {
            return None;
        } else {
            d
        }
    } else {
        return None;
    };
    (!raw.is_empty()).then_some(raw)
}

/// Percent-decoding for [`resolve_iri`]: `None` for a bad escape or bytes that are not UTF-8.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

// ------------------------------------------------------------------ duplicate member names

/// Whether any object in the JSON text has two members of one name (false for invalid JSON).
/// Rule E2 for the model; also used by the fuzz checks on states and responses.
pub fn has_duplicate_member(data: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(data);
    DupFinder.deserialize(&mut de).unwrap_or(false)
}

/// A visitor that walks a JSON value and answers whether some object repeats a member name.
#[derive(Clone, Copy)]
struct DupFinder;

impl<'de> DeserializeSeed<'de> for DupFinder {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DupFinder {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(d) = seq.next_element_seed(DupFinder)? {
            found |= d;
        }
        Ok(found)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut seen = BTreeSet::new();
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            found |= !seen.insert(key);
            found |= map.next_value_seed(DupFinder)?;
        }
        Ok(found)
    }
}

// ------------------------------------------------------------------ adapters (the edge)

impl Opts {
    /// The model's options for the public API's [`Options`].
    pub fn from_options(options: &Options) -> Opts {
        Opts {
            atomic: options.atomic,
            minimal: options.return_minimal,
            succeed_missing: options.missing_removal == MissingRemoval::Succeed,
            max_items: options.max_items,
            max_bytes: options.max_bytes,
            max_depth: options.max_depth,
            include_unknown: options.include_unknown_enum_members,
            roots: options.service_roots.clone(),
            asked_return: options.asked().ret.flatten(),
            asked_continue: options
                .asked()
                .continue_on_error
                .and_then(|(name, v)| Some((name.to_owned(), v?))),
            asked_include_unknown: options.asked().include_unknown_enum_members,
        }
    }
}

/// The engine's item outcomes in the model's terms.
pub fn outcomes_of(outcomes: &[ItemOutcome]) -> Vec<Out> {
    outcomes
        .iter()
        .map(|o| match o {
            ItemOutcome::Added { id, rule } => Out::Added(id.clone(), rule.to_string()),
            ItemOutcome::Removed { id, existed } => Out::Removed(id.clone(), *existed),
            ItemOutcome::Failed(f) => Out::Failed {
                remove: f.operation == crate::Operation::Remove,
                status: f.status,
                code: f.code.as_str().to_owned(),
                rule: f.rule.to_string(),
            },
            ItemOutcome::NotApplied => Out::NotApplied,
        })
        .collect()
}

/// A response body without its human-readable messages (the rules fix codes, not wording):
/// `error.message`, each `error.details[].message`, and each delta entry's
/// `@Core.DataModificationException.info.message`. Compare the result with [`Answer::body`].
pub fn without_messages(mut body: Value) -> Value {
    if let Some(e) = body.get_mut("error").and_then(Value::as_object_mut) {
        e.remove("message");
        if let Some(Value::Array(details)) = e.get_mut("details") {
            for d in details {
                if let Some(d) = d.as_object_mut() {
                    d.remove("message");
                }
            }
        }
    }
    if let Some(b) = body.as_object_mut() {
        for (name, v) in b.iter_mut() {
            if !name.ends_with("@delta") {
                continue;
            }
            for entry in v.as_array_mut().into_iter().flatten() {
                if let Some(info) = entry
                    .pointer_mut("/@Core.DataModificationException/info")
                    .and_then(Value::as_object_mut)
                {
                    info.remove("message");
                }
            }
        }
    }
    body
}
