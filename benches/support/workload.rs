//! Deterministic workloads shared by `benches/apply.rs` and `examples/perf.rs` (each includes
//! this file with `#[path]`), so the criterion numbers and the perf report measure the same
//! thing.
//!
//! - [`state`]: a OneDrive for Business restore session shaped like
//!   `examples/onedrive.state.json` (UUID ids, restore point ids such as
//!   `e9592a41-9d38-4e94-a16b-4d9fef695c0b_1791648201_11_7`, nine members per artifact), as
//!   compact JSON; [`pretty`] re-indents it.
//! - [`Churn`]: requests of M items, half additions of new restore points and half removals of
//!   existing ids, whose outcomes are fed back so the next request is valid again and the
//!   session keeps its size: the in-memory benchmarks take the session by value and never clone
//!   it.
//! - [`end_to_end`] and [`floor`]: bytes to bytes, and the serde_json floor it is compared with.
//! - [`PatchChurn`]: the same change as JSON Patch operations for json-patch 5.
//!
//! Everything is a function of the seeds: no clock, no OS randomness.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;

use restore_delta::{
    Applied, Context, ItemOutcome, Options, Request, SeededIds, Session, Timestamp, apply,
    apply_request,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The collection every workload edits.
pub const COLLECTION: &str = "driveRestoreArtifacts";
/// Its delta member in a request body.
pub const DELTA: &str = "driveRestoreArtifacts@delta";
/// The request time of every apply.
pub const NOW: &str = "2026-11-28T12:00:00Z";

/// The request time as a [`Timestamp`].
pub fn now() -> Timestamp {
    Timestamp::parse_rfc3339(NOW).expect("NOW is RFC 3339")
}

/// A context for a long series of applies: its ids never repeat. `SeededIds` and [`Rng`] are
/// both SplitMix64, so the seed is mixed first: with the seed a state was generated from, the
/// source would yield that state's artifact ids (one fresh id in seven was a stored one, and
/// each such request was decided twice, see `decide`).
pub fn context(seed: u64) -> Context<SeededIds> {
    Context::new(now(), SeededIds::new(seed ^ 0xC0FF_EE00_D15E_A5E5))
}

/// Options allowing requests of `m` items (Graph's default limit is 50).
pub fn options_for(m: usize) -> Options {
    Options::default().with_max_items(m.max(50))
}

/// SplitMix64: small, fast, and the same on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A version-4-formatted UUID, lower case, hyphenated.
    pub fn uuid(&mut self) -> String {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let mut s = String::with_capacity(36);
        for (i, byte) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            let _ = write!(s, "{byte:02x}");
        }
        s
    }

    /// A restore point id: `<protection unit uuid>_<unix time>_<n>_<m>`.
    pub fn restore_point_id(&mut self) -> String {
        let unit = self.uuid();
        let time = 1_791_000_000 + self.below(1_000_000);
        let a = 1 + self.below(20);
        let b = 1 + self.below(20);
        format!("{unit}_{time}_{a}_{b}")
    }
}

/// A stored artifact, as the workload knows it.
#[derive(Clone, Debug)]
pub struct Stored {
    pub id: String,
    pub restore_point: String,
}

/// A generated state.
pub struct State {
    /// The session as compact JSON.
    pub json: Vec<u8>,
    /// Its artifacts, in order.
    pub artifacts: Vec<Stored>,
}

/// A OneDrive for Business session in draft with `n` artifacts, as compact JSON.
pub fn state(n: usize, seed: u64) -> State {
    let mut rng = Rng::new(seed);
    let mut artifacts = Vec::with_capacity(n);
    let mut out = String::with_capacity(700 + n * 270);
    let session_id = rng.uuid();
    let admin = rng.uuid();
    let _ = write!(
        out,
        concat!(
            r##"{{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#solutions/backupRestore/restoreSessions/$entity","##,
            r##""@odata.type":"#microsoft.graph.oneDriveForBusinessRestoreSession","id":"{session}","##,
            r##""status":"draft","restoreJobType":"standard","##,
            r##""createdBy":{{"application":null,"device":null,"user":{{"id":"{admin}","displayName":"Backup Admin"}}}},"##,
            r##""createdDateTime":"2026-11-20T09:00:00Z","##,
            r##""lastModifiedBy":{{"application":null,"device":null,"user":{{"id":"{admin}","displayName":"Backup Admin"}}}},"##,
            r##""lastModifiedDateTime":"2026-11-20T09:15:00Z","completedDateTime":null,"error":null,"##,
            r##""restoreSessionArtifactCount":{{"total":{n},"completed":0,"failed":0,"inProgress":0}},"##,
            r##""driveRestoreArtifacts":["##
        ),
        session = session_id,
        admin = admin,
        n = n
    );
    for i in 0..n {
        let a = Stored {
            id: rng.uuid(),
            restore_point: rng.restore_point_id(),
        };
        if i > 0 {
            out.push(',');
        }
        let minute = (i / 60) % 60;
        let second = i % 60;
        let _ = write!(
            out,
            concat!(
                r#"{{"id":"{id}","restorePoint":{{"id":"{rp}"}},"destinationType":"new","#,
                r#""status":"added","createdDateTime":"2026-11-20T09:{mm:02}:{ss:02}Z","#,
                r#""startDateTime":null,"completionDateTime":null,"error":null,"restoredSiteId":null}}"#
            ),
            id = a.id,
            rp = a.restore_point,
            mm = minute,
            ss = second
        );
        artifacts.push(a);
    }
    out.push_str("]}");
    State {
        json: out.into_bytes(),
        artifacts,
    }
}

/// The same JSON indented with two spaces, like `examples/onedrive.state.json`.
pub fn pretty(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 2));
    };
    let mut i = 0;
    while i < json.len() {
        let c = json[i];
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else {
            match c {
                b'"' => {
                    in_string = true;
                    out.push(c);
                }
                b'{' | b'[' => {
                    out.push(c);
                    let close = if c == b'{' { b'}' } else { b']' };
                    if json.get(i + 1) == Some(&close) {
                        out.push(close);
                        i += 1;
                    } else {
                        depth += 1;
                        newline(&mut out, depth);
                    }
                }
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                    out.push(c);
                }
                b',' => {
                    out.push(c);
                    newline(&mut out, depth);
                }
                b':' => out.extend_from_slice(b": "),
                _ => out.push(c),
            }
        }
        i += 1;
    }
    out.push(b'\n');
    out
}

/// JSON text of an artifact as the engine writes a new one.
pub fn added_artifact_json(id: &str, restore_point: &str) -> String {
    format!(
        r#"{{"id":"{id}","restorePoint":{{"id":"{restore_point}"}},"destinationType":"new","status":"added","createdDateTime":"{NOW}"}}"#
    )
}

/// A request body: additions of `add` restore points and removals of `remove` ids, alternating.
pub fn request_body(add: &[String], remove: &[String]) -> Vec<u8> {
    let mut out = String::with_capacity(64 + add.len() * 110 + remove.len() * 80);
    out.push_str("{\"");
    out.push_str(DELTA);
    out.push_str("\":[");
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
    };
    let (mut a, mut r) = (add.iter(), remove.iter());
    loop {
        let (next_a, next_r) = (a.next(), r.next());
        if next_a.is_none() && next_r.is_none() {
            break;
        }
        if let Some(rp) = next_a {
            sep(&mut out);
            let _ = write!(
                out,
                r#"{{"restorePoint":{{"id":"{rp}"}},"destinationType":"new"}}"#
            );
        }
        if let Some(id) = next_r {
            sep(&mut out);
            let _ = write!(out, r#"{{"@removed":{{"reason":"changed"}},"id":"{id}"}}"#);
        }
    }
    out.push_str("]}");
    out.into_bytes()
}

/// One request of a [`Churn`], to be applied then passed back to [`Churn::commit`].
pub struct Step {
    pub body: Vec<u8>,
    pub items: usize,
    removed: Vec<Stored>,
    added: Vec<String>,
}

/// Requests that keep a session's size constant: each takes ids that are present and restore
/// points that are absent, and [`Churn::commit`] learns the new ids from the outcomes.
pub struct Churn {
    present: Vec<Stored>,
    absent: Vec<String>,
    rng: Rng,
    toggle: bool,
}

impl Churn {
    /// `spare`: how many restore points not in the session to draw additions from (at least
    /// the largest number of additions of one request).
    pub fn new(artifacts: Vec<Stored>, spare: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x5EED_C4A2);
        let absent = (0..spare).map(|_| rng.restore_point_id()).collect();
        Churn {
            present: artifacts,
            absent,
            rng,
            toggle: false,
        }
    }

    /// The number of artifacts the session holds, if every step was committed.
    pub fn len(&self) -> usize {
        self.present.len()
    }

    /// `m` items: `m / 2` additions and `m / 2` removals of random present ids; an odd `m`
    /// alternates between one more addition and one more removal, so the size stays within one.
    pub fn step(&mut self, m: usize) -> Step {
        let extra = m % 2;
        self.toggle = !self.toggle;
        let adds = m / 2 + if self.toggle { extra } else { 0 };
        self.step_with(adds, m - adds)
    }

    /// `adds` additions and `removes` removals of random present ids.
    pub fn step_with(&mut self, adds: usize, removes: usize) -> Step {
        assert!(adds <= self.absent.len(), "not enough spare restore points");
        assert!(removes <= self.present.len(), "not enough artifacts");
        let mut removed = Vec::with_capacity(removes);
        for _ in 0..removes {
            let i = self.rng.below(self.present.len());
            removed.push(self.present.swap_remove(i));
        }
        let mut added = Vec::with_capacity(adds);
        for _ in 0..adds {
            let i = self.rng.below(self.absent.len());
            added.push(self.absent.swap_remove(i));
        }
        let ids: Vec<String> = removed.iter().map(|s| s.id.clone()).collect();
        Step {
            body: request_body(&added, &ids),
            items: adds + removes,
            removed,
            added,
        }
    }

    /// Records the outcome of applying `step`; panics if any item did not succeed.
    pub fn commit(&mut self, step: Step, applied: &Applied) {
        assert_eq!(
            applied.answer.response.status, 200,
            "request refused: {:?}",
            applied.answer.error
        );
        let mut added = step.added.into_iter();
        for outcome in &applied.answer.outcomes {
            match outcome {
                ItemOutcome::Added { id, .. } => {
                    let restore_point = added.next().expect("one restore point per addition");
                    self.present.push(Stored {
                        id: id.clone(),
                        restore_point,
                    });
                }
                ItemOutcome::Removed { .. } => {}
                other => panic!("item not applied: {other:?}"),
            }
        }
        assert!(added.next().is_none(), "an addition has no outcome");
        self.absent
            .extend(step.removed.into_iter().map(|s| s.restore_point));
    }
}

/// Applies one step to a session taken by value; returns the new session and the time `apply`
/// alone took. Building the body and reading the outcomes are not timed. With `parsed`, the
/// body is read by [`Request::parse`] before the clock starts and only [`apply_request`] is
/// timed (rules E3 on, deciding, committing, writing the response).
pub fn timed_step(
    session: Session,
    churn: &mut Churn,
    m: usize,
    options: &Options,
    ctx: &mut Context<SeededIds>,
    parsed: bool,
) -> (Session, std::time::Duration) {
    let step = churn.step(m);
    let (applied, elapsed) = if parsed {
        let request = Request::parse(&step.body, options).expect("a well-formed body");
        let start = std::time::Instant::now();
        let applied = apply_request(session, &request, options, ctx);
        (applied, start.elapsed())
    } else {
        let start = std::time::Instant::now();
        let applied = apply(session, &step.body, options, ctx);
        (applied, start.elapsed())
    };
    churn.commit(step, &applied);
    (applied.state, elapsed)
}

/// Bytes to bytes: read the state, apply the request, write the response body and the new
/// state (one line each).
pub fn end_to_end(state: &[u8], request: &[u8], options: &Options) -> Vec<u8> {
    let session = Session::from_json(state).expect("a valid state");
    let mut ctx = context(7);
    let applied = apply(session, request, options, &mut ctx);
    assert_eq!(applied.answer.response.status, 200);
    let mut out = Vec::with_capacity(state.len() + 64 * 1024);
    if let Some(body) = &applied.answer.response.body {
        out.extend_from_slice(body.get().as_bytes());
    }
    out.push(b'\n');
    applied
        .state
        .write_json(&mut out)
        .expect("writing to a Vec");
    out
}

/// The floor of [`end_to_end`]: serde_json reading the same bytes into plain typed structs
/// and writing them back.
pub fn floor(state: &[u8]) -> Vec<u8> {
    let parsed: FloorState = serde_json::from_slice(state).expect("a valid state");
    let mut out = Vec::with_capacity(state.len() + 64 * 1024);
    serde_json::to_writer(&mut out, &parsed).expect("writing to a Vec");
    out
}

#[derive(Deserialize, Serialize)]
pub struct FloorState {
    #[serde(rename = "driveRestoreArtifacts")]
    pub artifacts: Vec<FloorArtifact>,
}

#[derive(Deserialize, Serialize)]
pub struct FloorArtifact {
    pub id: String,
    #[serde(rename = "restorePoint")]
    pub restore_point: FloorRestorePoint,
    #[serde(rename = "destinationType")]
    pub destination_type: String,
    pub status: String,
}

#[derive(Deserialize, Serialize)]
pub struct FloorRestorePoint {
    pub id: String,
}

/// The same change as [`Churn`], as JSON Patch operations on a `serde_json::Value`, with the
/// array indexes of the removals precomputed (json-patch's best case).
pub struct PatchChurn {
    pub doc: Value,
    rng: Rng,
}

/// One patch of a [`PatchChurn`], to be applied then undone with [`PatchChurn::undo`].
pub struct PatchStep {
    pub ops: Vec<json_patch::PatchOperation>,
    removed: Vec<(usize, Value)>,
    adds: usize,
}

impl PatchChurn {
    pub fn new(state: &[u8], seed: u64) -> Self {
        PatchChurn {
            doc: serde_json::from_slice(state).expect("a valid state"),
            rng: Rng::new(seed ^ 0x0DD_BA11),
        }
    }

    fn array(&mut self) -> &mut Vec<Value> {
        self.doc[COLLECTION]
            .as_array_mut()
            .expect("the collection is an array")
    }

    /// `m / 2` removals at random indexes (in decreasing order, so each index is still valid)
    /// and `m - m / 2` appended artifacts, alternating.
    pub fn step(&mut self, m: usize) -> PatchStep {
        let removes = m / 2;
        let adds = m - removes;
        let len = self.array().len();
        let mut picked = BTreeSet::new();
        while picked.len() < removes {
            picked.insert(self.rng.below(len));
        }
        let removed: Vec<(usize, Value)> = {
            let arr = self.array();
            picked.iter().map(|&i| (i, arr[i].clone())).collect()
        };
        let mut ops = Vec::with_capacity(m);
        let mut down = picked.iter().rev();
        for k in 0..adds.max(removes) {
            if k < adds {
                let id = self.rng.uuid();
                let rp = self.rng.restore_point_id();
                let value: Value =
                    serde_json::from_str(&added_artifact_json(&id, &rp)).expect("valid JSON");
                ops.push(serde_json::json!({
                    "op": "add", "path": format!("/{COLLECTION}/-"), "value": value
                }));
            }
            if let Some(i) = down.next() {
                ops.push(serde_json::json!({"op": "remove", "path": format!("/{COLLECTION}/{i}")}));
            }
        }
        let patch: json_patch::Patch =
            serde_json::from_value(Value::Array(ops)).expect("valid JSON Patch");
        PatchStep {
            ops: patch.0,
            removed,
            adds,
        }
    }

    /// Puts the document back as it was before `step` (not timed).
    pub fn undo(&mut self, step: PatchStep) {
        let arr = self.array();
        let keep = arr.len() - step.adds;
        arr.truncate(keep);
        for (i, v) in step.removed {
            arr.insert(i, v);
        }
    }
}
