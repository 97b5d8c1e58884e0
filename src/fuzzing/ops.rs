//! Decoding a case for [`apply_ops`](super::apply_ops) from bytes, by hand, so the library needs
//! no `arbitrary` dependency.
//!
//! Every byte read past the end is 0, so any input decodes, and short inputs give small cases.
//! The case is built as JSON values, written as text for the engine and for the model alike.
//! The kinds and collections are the model's table ([`super::model::KINDS`]).

use serde_json::{Map, Value, json};

use super::model::{Coll, KINDS, Shape};
use crate::{MissingRemoval, Options};

/// The session id of every decoded state.
const SESSION_ID: &str = "s1";

/// Artifact ids and item keys. `n1`…`n3` are also what the id source of
/// [`apply_ops`](super::apply_ops) yields, so stored ids can collide with generated ones.
const IDS: [&str; 8] = ["a", "b", "c", "k1", "k2", "n1", "n2", "n3"];
const RESTORE_POINTS: [&str; 4] = ["r1", "r2", "r3", "r4"];
const SEARCH_RESPONSES: [&str; 2] = ["q1", "q2"];
const ARTIFACT_STATUSES: [&str; 4] = ["added", "succeeded", "inProgress", "someFutureValue"];

/// A decoded case: a state, a request body and the options to apply it with.
#[derive(Debug)]
pub(super) struct Case {
    pub(super) options: Options,
    /// A caller identity is passed in the context.
    pub(super) actor: bool,
    pub(super) state: Value,
    pub(super) body: Value,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        b
    }

    fn more(&self) -> bool {
        self.pos < self.data.len()
    }
}

/// Decodes a case; any bytes give one.
pub(super) fn decode(data: &[u8]) -> Case {
    let mut c = Cursor { data, pos: 0 };
    let k = c.byte();
    let kind = &KINDS[usize::from(k % 3)];
    let granular = (k / 3) % 2 == 1;
    let other_holds_one = (k / 6) % 8 == 7;
    let f = c.byte();
    let options = Options::default()
        .with_atomic(f & 1 != 0)
        .with_return_minimal(f & 2 != 0)
        .with_missing_removal(if f & 4 != 0 {
            MissingRemoval::Succeed
        } else {
            MissingRemoval::Fail
        })
        .with_max_items(if f & 0x30 == 0x30 { 4 } else { 50 });
    // O7, O8, O9 and A2's added roots: preferences given once or twice, a local service root.
    let options = if f & 0x40 != 0 {
        options
            .with_prefer("include-unknown-enum-members, return=representation")
            .with_service_root(LOCAL_ROOT)
    } else {
        options
    };
    let options = if f & 0x80 != 0 {
        options.with_prefer("odata.continue-on-error=false, continue-on-error, return=minimal")
    } else {
        options
    };
    let actor = f & 8 != 0;

    // The state.
    let s = c.byte();
    let s2 = c.byte();
    let mut state = Map::new();
    state.insert("@odata.type".into(), json!(kind.session_type));
    state.insert("id".into(), json!(SESSION_ID));
    match s & 15 {
        11 => {}
        12 => drop(state.insert("status".into(), Value::Null)),
        13 => drop(state.insert("status".into(), json!("active"))),
        14 => drop(state.insert("status".into(), json!("someFutureValue"))),
        _ => drop(state.insert("status".into(), json!("draft"))),
    }
    let job_type = match s >> 4 {
        0..=7 => None,
        8..=10 => Some("standard"),
        11..=13 => Some("granular"),
        14 => Some("unknownFutureValue"),
        _ => Some("bulk"),
    };
    if let Some(t) = job_type {
        state.insert("restoreJobType".into(), json!(t));
    }
    match s2 & 3 {
        1 => drop(state.insert(
            "restoreSessionArtifactCount".into(),
            json!({"completed": 1, "total": 7}),
        )),
        2 => drop(state.insert("restoreSessionArtifactCount".into(), json!(3))),
        _ => {}
    }
    if s2 & 4 != 0 {
        state.insert("x-custom".into(), json!({"kept": [1, "two", 3.5]}));
    }
    // E3: bulk-addition requests, of this kind (a non-empty list makes a bulk session) or of
    // another (meaningless here).
    match (s2 >> 3) & 3 {
        1 => drop(state.insert(kind.bulk.into(), json!([{"id": "bulk-1"}]))),
        2 => drop(state.insert(kind.bulk.into(), json!([]))),
        3 => drop(state.insert(
            KINDS[usize::from((k % 3 + 1) % 3)].bulk.into(),
            json!([{"id": "b"}]),
        )),
        _ => {}
    }
    let edited = kind.collection(granular);
    let other = kind.collection(!granular);
    let n = c.byte();
    let show_empty = n & 0x10 != 0;
    let mine = stored_collection(&mut c, edited.shape, usize::from(n % 6));
    let theirs = stored_collection(&mut c, other.shape, usize::from(other_holds_one));
    for (coll, items) in [(edited, mine), (other, theirs)] {
        if show_empty || !items.is_empty() {
            state.insert(coll.name.into(), Value::Array(items));
        }
    }

    // The body.
    let e = c.byte();
    let d = c.byte();
    let count = c.byte() % 13;
    let mut items = Vec::new();
    for i in 0..count {
        if !c.more() && i > 0 {
            break;
        }
        items.push(item(&mut c, edited, other, i));
    }
    let mut body = Map::new();
    let delta = match d % 32 {
        0 => Value::Null,
        1 => json!({}),
        _ => Value::Array(items),
    };
    body.insert(format!("{}@delta", edited.name), delta);
    let wrong_kind = &KINDS[usize::from(k % 3 + 1) % 3];
    match e & 31 {
        7 => drop(body.insert("@odata.context".into(), json!("$metadata#x"))),
        8 => drop(body.insert(
            "@odata.type".into(),
            json!(kind.session_type.to_uppercase()),
        )),
        9 => drop(body.insert(
            "@odata.type".into(),
            json!(kind.session_type.trim_start_matches('#')),
        )),
        10 => drop(body.insert("@odata.type".into(), json!(wrong_kind.session_type))),
        11 => drop(body.insert("id".into(), json!(SESSION_ID))),
        12 => drop(body.insert("id".into(), json!("s2"))),
        13 => drop(body.insert("status".into(), json!("draft"))),
        14 => drop(body.insert(edited.name.into(), json!([]))),
        15 => match e >> 5 {
            0..=3 => drop(body.insert(format!("{}@delta", other.name), json!([]))),
            4 | 5 => drop(body.insert(format!("{}@delta", wrong_kind.standard.name), json!([]))),
            _ => drop(body.insert("nonsense@delta".into(), json!([]))),
        },
        _ => {}
    }
    Case {
        options,
        actor,
        state: Value::Object(state),
        body: Value::Object(body),
    }
}

/// Up to `n` stored artifacts with distinct ids.
fn stored_collection(c: &mut Cursor<'_>, shape: Shape, n: usize) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for _ in 0..n {
        let a = c.byte();
        let b = c.byte();
        let id = IDS[usize::from(a & 7)];
        if out.iter().any(|x| x["id"] == id) {
            continue;
        }
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        let status = ARTIFACT_STATUSES[usize::from((b >> 2) & 3)];
        match shape {
            Shape::Standard | Shape::Mailbox => {
                let rp = RESTORE_POINTS[usize::from((a >> 3) & 3)];
                let reference = if b & 0x10 != 0 {
                    json!({"@odata.id": rp})
                } else {
                    json!({"id": rp})
                };
                m.insert("restorePoint".into(), reference);
                match a >> 5 {
                    0..=3 => drop(m.insert("destinationType".into(), json!("new"))),
                    4 | 5 => drop(m.insert("destinationType".into(), json!("inPlace"))),
                    6 => drop(m.insert("destinationType".into(), json!("unknownFutureValue"))),
                    _ => {}
                }
                if shape == Shape::Mailbox && b & 3 != 3 {
                    let q = SEARCH_RESPONSES[usize::from(b & 1)];
                    m.insert("searchResponseId".into(), json!(q));
                }
            }
            Shape::Item => {
                m.insert("browseSessionId".into(), json!("bs1"));
            }
        }
        m.insert("status".into(), json!(status));
        if b & 0x20 != 0 {
            m.insert("x-kept".into(), json!({"nested": [1, "two", 3.5]}));
        }
        if b & 0x40 != 0 {
            m.insert("createdDateTime".into(), json!("2026-01-01T00:00:00Z"));
        }
        out.push(Value::Object(m));
    }
    out
}

/// One item of the request: a removal, an addition shaped for this collection or for another,
/// or (rarely) something that is not an object.
fn item(c: &mut Cursor<'_>, edited: &Coll, other: &Coll, i: u8) -> Value {
    let t = c.byte();
    match t % 16 {
        0..=5 => removal(c, i),
        13 | 14 => {
            let shape = match t >> 4 {
                0..=5 => other.shape,
                6..=10 => Shape::Standard,
                _ => Shape::Item,
            };
            addition(c, shape, edited.item_type, i)
        }
        15 if t >> 4 >= 12 => match t >> 4 {
            12 => json!(1),
            13 => json!("item"),
            14 => Value::Null,
            _ => json!([]),
        },
        _ => addition(c, edited.shape, edited.item_type, i),
    }
}

fn removal(c: &mut Cursor<'_>, i: u8) -> Value {
    let u = c.byte();
    let v = c.byte();
    let marker = match u & 15 {
        0..=3 | 12 => json!({"reason": "changed"}),
        4..=6 => json!({"reason": "deleted"}),
        7 | 8 => json!({}),
        9 | 10 => Value::Null,
        11 => json!({"reason": null, "extra": 1}),
        13 => json!({"reason": "Deleted"}),
        14 => json!("changed"),
        _ => json!({"reason": 1}),
    };
    let (name, other_name) = if u & 16 != 0 {
        ("@odata.removed", "@removed")
    } else {
        ("@removed", "@odata.removed")
    };
    let mut m = Map::new();
    m.insert(name.into(), marker);
    if u & 0xe0 == 0xe0 {
        m.insert(other_name.into(), json!({}));
    }
    match v & 15 {
        11 => {}
        12 => drop(m.insert("id".into(), json!(""))),
        13 => drop(m.insert("id".into(), json!(7))),
        x => drop(m.insert("id".into(), json!(IDS[usize::from(x) % IDS.len()]))),
    }
    if v & 0x10 != 0 {
        m.insert("restorePoint".into(), json!({"id": "r1"}));
    }
    content_ids(&mut m, v >> 5, i);
    Value::Object(m)
}

fn content_ids(m: &mut Map<String, Value>, bits: u8, i: u8) {
    if bits & 1 != 0 {
        m.insert("@contentId".into(), json!(format!("c{i}")));
    }
    if bits & 2 != 0 {
        m.insert("@Core.ContentID".into(), json!(i));
    }
    if bits & 4 != 0 {
        m.insert("@Org.OData.Core.V1.ContentID".into(), json!({"n": i}));
    }
}

/// A service root the decoder's options may add (A2).
const LOCAL_ROOT: &str = "http://127.0.0.1:9/v1.0/";

/// A restore point reference as an `@odata.id` (A2): one of the forms that resolve to `rp`, or
/// one that names nothing.
fn iri_form(rp: &str, sel: u8) -> String {
    let rest = rp.get(1..).unwrap_or_default();
    let first = rp.as_bytes().first().copied().unwrap_or(b'r');
    match sel % 12 {
        0 => rp.to_owned(),
        1 => format!("restorePoints/{rp}"),
        2 => format!("/solutions/backupRestore/restorePoints('{rp}')"),
        3 => format!("https://graph.microsoft.com/v1.0/solutions/backupRestore/restorePoints/{rp}"),
        4 => format!("HTTPS://GRAPH.microsoft.com/beta/restorePoints({rp})"),
        5 => format!("restorePoints/%{first:02X}{rest}"),
        6 => format!("{LOCAL_ROOT}solutions/backupRestore/restorePoints/{rp}"),
        7 => format!("restorePoints/{rp}?$select=id"),
        8 => format!("https://contoso.example/v1.0/restorePoints/{rp}"),
        9 => format!("protectionUnits/{rp}"),
        10 => "restorePoints('')".to_owned(),
        _ => format!("restorePoints('{rp}'x')"),
    }
}

fn addition(c: &mut Cursor<'_>, shape: Shape, item_type: &str, i: u8) -> Value {
    let u = c.byte();
    let v = c.byte();
    let x = c.byte();
    let mut m = Map::new();
    match shape {
        Shape::Standard | Shape::Mailbox => {
            let rp = RESTORE_POINTS[usize::from((u >> 3) & 3)];
            let alt = u & 0x20 != 0;
            match u & 7 {
                0..=2 => drop(m.insert("restorePoint".into(), json!({"id": rp}))),
                3 => {
                    let iri = iri_form(rp, c.byte());
                    m.insert("restorePoint".into(), json!({"@odata.id": iri}));
                }
                4 => drop(m.insert("restorePoint".into(), json!({"id": rp, "@odata.id": rp}))),
                5 => drop(m.insert("restorePoint".into(), json!({"id": rp, "@odata.id": "r9"}))),
                6 if alt => drop(m.insert("restorePoint".into(), json!({"id": null}))),
                6 => drop(m.insert("restorePoint".into(), json!({"id": ""}))),
                _ if alt => drop(m.insert("restorePoint".into(), json!(rp))),
                _ => {}
            }
            match v & 7 {
                0..=2 => drop(m.insert("destinationType".into(), json!("new"))),
                3..=5 => drop(m.insert("destinationType".into(), json!("inPlace"))),
                6 if v & 8 != 0 => {
                    drop(m.insert("destinationType".into(), json!("unknownFutureValue")))
                }
                6 => drop(m.insert("destinationType".into(), json!("InPlace"))),
                _ if v & 8 != 0 => drop(m.insert("destinationType".into(), Value::Null)),
                _ => {}
            }
            let q = (v >> 4) & 7;
            if shape == Shape::Mailbox || q == 7 {
                match q {
                    0..=2 => drop(m.insert("searchResponseId".into(), json!("q1"))),
                    3..=5 => drop(m.insert("searchResponseId".into(), json!("q2"))),
                    6 => {}
                    _ => drop(m.insert("searchResponseId".into(), json!(""))),
                }
            }
            if x & 0x30 == 0x30 {
                let (name, value) = if v & 0x80 != 0 {
                    ("id", json!("zz"))
                } else {
                    ("status", json!("added"))
                };
                m.insert(name.into(), value);
            }
        }
        Shape::Item => {
            match u & 7 {
                0..=2 => drop(m.insert("browseSessionId".into(), json!("bs1"))),
                3 | 4 => drop(m.insert("browseSessionId".into(), json!("bs2"))),
                5 => {}
                6 => drop(m.insert("browseSessionId".into(), Value::Null)),
                _ => drop(m.insert("browseSessionId".into(), json!(""))),
            }
            let key = IDS[usize::from(v & 7)];
            let differs = IDS[usize::from((v & 7) + 1) % IDS.len()];
            match (v >> 3) & 7 {
                0 | 1 => drop(m.insert("itemKey".into(), json!(key))),
                2 | 3 => drop(m.insert("id".into(), json!(key))),
                4 => {
                    m.insert("id".into(), json!(key));
                    m.insert("itemKey".into(), json!(key));
                }
                5 => {
                    m.insert("id".into(), json!(key));
                    m.insert("itemKey".into(), json!(differs));
                }
                6 => {}
                _ => drop(m.insert("itemKey".into(), json!(""))),
            }
            if x & 0x30 == 0x30 {
                let (name, value) = if v & 0x80 != 0 {
                    ("restorePoint", json!({"id": "r1"}))
                } else {
                    ("status", json!("added"))
                };
                m.insert(name.into(), value);
            }
        }
    }
    match x & 3 {
        1 => drop(m.insert("@odata.type".into(), json!(item_type))),
        2 => {
            let t = match (x >> 2) & 3 {
                0 => json!(item_type.to_uppercase()),
                1 => json!(item_type.trim_start_matches('#')),
                2 => json!("#microsoft.graph.restoreArtifactBase"),
                _ => json!(5),
            };
            m.insert("@odata.type".into(), t);
        }
        _ => {}
    }
    if x & 0x40 != 0 {
        m.insert("note@odata.annotation".into(), json!(true));
    }
    content_ids(&mut m, (x >> 7) | ((u >> 6) & 2), i);
    Value::Object(m)
}
