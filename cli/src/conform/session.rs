//! One live session of a run: created through the public endpoint, PATCHed with generated
//! delta bodies as a sequence on the evolving session, judged exchange by exchange, read back,
//! deleted.

use std::sync::atomic::Ordering;

use restore_delta::check::{Observed, check};
use restore_delta::generate::Generator;
use restore_delta::{ArtifactCollection, Family, Session, SessionKind};
use serde_json::{Value, json};

use super::client::{Answer, Exchange};
use super::{Finding, Run};
use crate::live::{self, UNBOUND};

/// The set a kind's sessions are created in.
pub fn set_of(kind: SessionKind) -> &'static str {
    match kind {
        SessionKind::OneDriveForBusiness => "oneDriveForBusinessRestoreSessions",
        SessionKind::SharePoint => "sharePointRestoreSessions",
        _ => "exchangeRestoreSessions",
    }
}

/// SplitMix64: the runner's own choices follow from the seed alone.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// What a session of the run is: its kind, family and destination, all from the seed.
#[derive(Clone, Debug)]
pub struct Plan {
    pub kind: SessionKind,
    pub family: Family,
    pub destination: &'static str,
    pub seed: u64,
}

impl Plan {
    pub fn new(run_seed: u64, n: u64, kinds: &[SessionKind]) -> Plan {
        let seed = run_seed ^ n.wrapping_mul(0xA076_1D64_78BD_642F).wrapping_add(n);
        let mut rng = Rng::new(seed);
        let kind = kinds
            .get(usize::try_from(rng.below(kinds.len() as u64)).unwrap_or(0))
            .copied()
            .unwrap_or(SessionKind::OneDriveForBusiness);
        let family = if rng.below(2) == 0 {
            Family::Standard
        } else {
            Family::Granular
        };
        let destination = if rng.below(2) == 0 { "new" } else { "inPlace" };
        Plan {
            kind,
            family,
            destination,
            seed,
        }
    }

    pub fn collection(&self) -> ArtifactCollection {
        self.kind.collection(self.family)
    }

    fn item_keys(&self) -> bool {
        self.family == Family::Granular && self.kind != SessionKind::Exchange
    }

    /// The create body Microsoft's SDKs send: the plain collection, three artifacts.
    pub fn create_body(&self) -> Vec<u8> {
        let items: Vec<Value> = (0..3)
            .map(|i| {
                if self.item_keys() {
                    json!({"browseSessionId": "bs-1", "itemKey": format!("key-{i}")})
                } else if self.family == Family::Granular {
                    json!({"restorePoint": {"id": format!("rp-{i}")}, "destinationType": self.destination,
                           "searchResponseId": "search-1"})
                } else {
                    json!({"restorePoint": {"id": format!("rp-{i}")}, "destinationType": self.destination})
                }
            })
            .collect();
        let mut body = serde_json::Map::new();
        body.insert("@odata.type".into(), json!(self.kind.odata_type()));
        body.insert(self.collection().name().into(), Value::Array(items));
        Value::Object(body).to_string().into_bytes()
    }

    /// The body and `Prefer` of step `step` on the session as the reference holds it: a case
    /// the generator makes on a state of the same shape, its stored ids, restore points and
    /// session id replaced by the live session's, and, now and then, a body over the item or
    /// byte limit (rules E7, E1), which the generator makes only by lowering the limit.
    pub fn step(&self, step: usize, tracked: &Session, run: &Run) -> (Vec<u8>, Option<String>) {
        let stored = live::artifacts(tracked, self.collection());
        let mut rng = Rng::new(self.seed ^ (step as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let roll = rng.below(1000);
        let limits = &run.target.options;
        if roll < 12 {
            // E7: one item more than the limit allows.
            let items: Vec<Value> = (0..=limits.max_items)
                .map(|i| json!({"@removed": {}, "id": format!("absent-{i}")}))
                .collect();
            let body = json!({ self.collection().delta_name(): items });
            return (body.to_string().into_bytes(), None);
        }
        if roll < 18 && limits.max_bytes <= 4 << 20 {
            // E1: one byte over the limit.
            let head = format!(
                "{{\"{}\":[{{\"@removed\":{{}},\"id\":\"absent-1\"}}],\"@pad\":\"",
                self.collection().delta_name()
            );
            let pad = limits.max_bytes.saturating_sub(head.len() + 2) + 1;
            let body = format!("{head}{}\"}}", "x".repeat(pad));
            return (body.into_bytes(), None);
        }
        // One body in twenty for the other family's collection (rule E9 refuses it while the
        // session holds artifacts of its own family).
        let family = if roll < 68 {
            match self.family {
                Family::Standard => Family::Granular,
                _ => Family::Standard,
            }
        } else {
            self.family
        };
        let shown = if family == self.family {
            stored.len().min(6)
        } else {
            0
        };
        let mut generator = Generator::new(rng.next() >> 11)
            .kind(self.kind)
            .family(Some(family))
            .artifacts(shown)
            .items(6)
            .mix(run.mix);
        let case = generator.case();
        let generated: Value = serde_json::from_str(&case.state).unwrap_or(Value::Null);
        let gen_destination = generated
            .get(self.collection().name())
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|a| a.get("destinationType"))
            .and_then(Value::as_str);
        let live_destination = stored
            .iter()
            .find_map(|a| a.get("destinationType").and_then(Value::as_str));
        let swap = matches!((gen_destination, live_destination), (Some(g), Some(l)) if g != l);
        let mut body = transplant(&case.request, &stored, tracked.id(), &run.target.root);
        if swap {
            body = swap_destinations(&body);
        }
        if let Some(points) = &run.restore_points {
            body = points.apply(&body);
        }
        // A header value HTTP/1.1 clients send: visible ASCII, spaces and tabs (the generator's
        // hostile `Prefer` values with other characters are left out).
        let prefer = case
            .options
            .prefer
            .filter(|p| p.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)));
        (body, prefer)
    }
}

/// A generated body moved onto the live session: `art-N` and `key-N` (the generated state's
/// N-th artifact) become the N-th live artifact's id, `rp-N` its restore point, the generated
/// session id the live one, the generator's local service root the target's.
fn transplant(body: &[u8], stored: &[Value], session: &str, root: &str) -> Vec<u8> {
    let live = |n: usize, what: &str| -> Option<String> {
        let a = stored.get(n)?;
        match what {
            "rp-" => a.pointer("/restorePoint/id")?.as_str().map(str::to_owned),
            _ => a.get("id")?.as_str().map(str::to_owned),
        }
    };
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut i = 0;
    while i < body.len() {
        let rest = body.get(i..).unwrap_or_default();
        let boundary = i == 0
            || !body
                .get(i - 1)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'%');
        let mut done = false;
        if boundary {
            for prefix in ["art-", "key-", "rp-"] {
                let Some(tail) = rest.strip_prefix(prefix.as_bytes()) else {
                    continue;
                };
                let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
                let after = tail.get(digits);
                if digits == 0 || after.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-') {
                    continue;
                }
                let n: usize = std::str::from_utf8(tail.get(..digits).unwrap_or_default())
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(usize::MAX);
                if let Some(to) = live(n, prefix).filter(|t| !t.starts_with(UNBOUND)) {
                    out.extend_from_slice(json_inner(&to).as_bytes());
                    i += prefix.len() + digits;
                    done = true;
                }
                break;
            }
        }
        if !done {
            out.push(body.get(i).copied().unwrap_or_default());
            i += 1;
        }
    }
    let Ok(text) = String::from_utf8(out.clone()) else {
        return out;
    };
    text.replace("\"gen-session\"", &format!("\"{}\"", json_inner(session)))
        .replace("http://127.0.0.1:8080/v1.0/", &format!("{root}/"))
        .into_bytes()
}

/// A string as it is written inside JSON quotes.
fn json_inner(s: &str) -> String {
    let quoted = Value::String(s.to_owned()).to_string();
    quoted
        .get(1..quoted.len().saturating_sub(1))
        .unwrap_or_default()
        .to_owned()
}

/// `new` and `inPlace` exchanged as destination types (the live session's destination is not
/// the generated state's).
fn swap_destinations(body: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(body) else {
        return body.to_vec();
    };
    text.replace(
        "\"destinationType\":\"new\"",
        "\"destinationType\":\"\u{1}\"",
    )
    .replace(
        "\"destinationType\":\"inPlace\"",
        "\"destinationType\":\"new\"",
    )
    .replace(
        "\"destinationType\":\"\u{1}\"",
        "\"destinationType\":\"inPlace\"",
    )
    .into_bytes()
}

/// A live session as the runner knows it.
pub struct Live {
    pub plan: Plan,
    pub id: String,
    pub url: String,
    pub tracked: Session,
    /// A step's effect was unknown (a transport error or a 5xx): later verdicts follow it.
    pub uncertain: bool,
    /// Every id an artifact of this session had, with its restore point key (for reproducers).
    pub history: Vec<(String, String)>,
}

/// What one session's run recorded, for the reproducers.
#[derive(Clone, Debug, Default)]
pub struct Record {
    pub steps: Vec<(Vec<u8>, Option<String>)>,
    pub first_failing: Option<usize>,
    /// The session's id, and every id its artifacts had with their keys.
    pub session: String,
    pub history: Vec<(String, String)>,
}

impl Live {
    /// Creates a session (rules L1–L3) and reads its collection back to bind the artifacts'
    /// ids. `None` when no session was made (the finding is recorded).
    pub fn create(run: &Run, plan: Plan, findings: &mut Vec<Finding>) -> Option<Live> {
        let set = set_of(plan.kind);
        let url = format!("{}/solutions/backupRestore/{set}", run.target.root);
        let body = plan.create_body();
        let x = run.send("POST", &url, &[], Some(&body));
        let answer = match &x.answer {
            Ok(a) => a,
            Err(e) => {
                findings.push(Finding::transport(&x, e, None));
                return None;
            }
        };
        if matches!(answer.status, 401 | 403) {
            // Not the rules' business: the target refuses these credentials.
            findings.push(Finding::credentials(
                &x,
                answer.status,
                answer.json().as_ref(),
            ));
            return None;
        }
        let json = answer.json();
        let created = live::judge_create(
            plan.kind,
            &body,
            &run.target.options,
            answer.status,
            json.as_ref(),
            run.settings.time_window_secs,
        );
        let id = json
            .as_ref()
            .and_then(|j| j.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(id) = &id
            && answer.status == 201
        {
            run.ledger.created(&format!("{url}/{}", encode(id)));
        }
        let session_id = id.clone().unwrap_or_default();
        for d in created.diffs {
            findings.push(Finding::lifecycle(&x, &session_id, None, d));
        }
        let tracked = created.session?;
        let id = id?;
        let mut live = Live {
            url: format!("{url}/{}", encode(&id)),
            id,
            tracked,
            plan,
            uncertain: false,
            history: Vec::new(),
        };
        live.read_back(run, None, findings);
        Some(live)
    }

    /// Reads the collection back, every page (rule L9): a server that answered right but
    /// stores wrong is a finding of kind `state`; then the reference follows the server.
    pub fn read_back(&mut self, run: &Run, step: Option<usize>, findings: &mut Vec<Finding>) {
        let collection = self.plan.collection();
        let mut url = format!("{}/{}", self.url, collection.name());
        let mut items: Vec<Value> = Vec::new();
        let mut last: Option<Exchange> = None;
        for _ in 0..1000 {
            let x = run.send("GET", &url, &as_stored(), None);
            let page = match &x.answer {
                Ok(a) if a.status == 200 => a.json(),
                Ok(a) => {
                    findings.push(Finding::lifecycle(
                        &x,
                        &self.id,
                        step,
                        live::Diff {
                            pointer: "/status".into(),
                            expected: Some(json!(200)),
                            observed: Some(json!(a.status)),
                            rule: "L9",
                        },
                    ));
                    return;
                }
                Err(e) => {
                    findings.push(Finding::transport(&x, e, Some(&self.id)));
                    return;
                }
            };
            let page = page.unwrap_or(Value::Null);
            items.extend(
                page.get("value")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            let next = page
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .map(str::to_owned);
            last = Some(x);
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
        if let Some(bound) = live::bind_artifacts(&self.tracked, collection, &items) {
            self.tracked = bound;
        }
        self.remember();
        let diffs = live::compare_collection(
            &self.tracked,
            collection,
            &items,
            run.settings.time_window_secs,
        );
        if diffs.is_empty() {
            if live::holds_unseen_time(&self.tracked) {
                // Times a 204 did not show: the server's, now seen.
                self.resync(run, items, findings);
            }
            return;
        }
        if let Some(x) = &last {
            for d in diffs {
                let mut f = Finding::lifecycle(x, &self.id, step, d);
                f.kind = "state";
                f.uncertain = self.uncertain;
                findings.push(f);
            }
        }
        self.resync(run, items, findings);
    }

    /// The reference takes the server's state (members and the collection as read).
    fn resync(&mut self, run: &Run, items: Vec<Value>, findings: &mut Vec<Finding>) {
        let x = run.send("GET", &self.url, &as_stored(), None);
        match &x.answer {
            Ok(a) if a.status == 200 => {
                if let Some(s) = a
                    .json()
                    .and_then(|m| live::from_observed(&m, self.plan.collection(), items))
                {
                    self.tracked = s;
                    self.remember();
                }
            }
            Ok(_) => {}
            Err(e) => findings.push(Finding::transport(&x, e, Some(&self.id))),
        }
    }

    fn remember(&mut self) {
        for a in live::artifacts(&self.tracked, self.plan.collection()) {
            if let (Some(id), Some(key)) = (a.get("id").and_then(Value::as_str), key_of(&a))
                && !id.starts_with(UNBOUND)
                && !self.history.iter().any(|(i, _)| i == id)
            {
                self.history.push((id.to_owned(), key));
            }
        }
    }

    /// One PATCH, judged by the reference check; the reference state follows.
    pub fn patch(
        &mut self,
        run: &Run,
        step: usize,
        body: &[u8],
        prefer: Option<&str>,
        findings: &mut Vec<Finding>,
    ) -> Option<restore_delta::check::Verdict> {
        let headers: Vec<(String, String)> = prefer
            .map(|p| vec![("Prefer".to_owned(), p.to_owned())])
            .unwrap_or_default();
        let x = run.send("PATCH", &self.url, &headers, Some(body));
        let answer: &Answer = match &x.answer {
            Ok(a) => a,
            Err(e) => {
                let mut f = Finding::transport(&x, e, Some(&self.id));
                f.step = Some(step);
                findings.push(f);
                self.uncertain = true;
                self.read_back(run, Some(step), findings);
                return None;
            }
        };
        let mut options = run.target.options.clone();
        if let Some(p) = prefer {
            options = options.with_prefer(p);
        }
        let body_seen = (!answer.body.is_empty()).then_some(answer.body.as_slice());
        let header = answer.header("preference-applied");
        let observed =
            Observed::new(answer.status, body_seen).with_preference_applied(header.as_deref());
        let verdict = check(&self.tracked, body, &options, &observed, &run.settings);
        let before = std::mem::replace(&mut self.tracked, placeholder_session());
        let evolved = crate::check::evolve_with_rules(before.clone(), body, &options, &verdict);
        let rules = match evolved {
            Ok((after, rules)) => {
                self.tracked = after;
                rules
            }
            Err(_) => {
                self.tracked = before;
                Vec::new()
            }
        };
        run.tally(&rules, &verdict);
        for d in &verdict.differences {
            let mut f = Finding::from_difference(&x, &self.id, step, d);
            f.uncertain = self.uncertain;
            findings.push(f);
        }
        if x.reconnected
            || (answer.status == 204
                && verdict.binding.now.is_none()
                && live::holds_unseen_time(&self.tracked))
        {
            // A 204 shows no time: read the times the server stamped.
            self.read_back(run, Some(step), findings);
        } else if answer.status >= 500 {
            // Applied or not is unknown: read back and follow the server.
            self.uncertain = true;
            self.read_back(run, Some(step), findings);
        }
        self.remember();
        Some(verdict)
    }

    /// Deletes the session (rule L5).
    pub fn delete(&self, run: &Run, findings: &mut Vec<Finding>) {
        let x = run.send("DELETE", &self.url, &[], None);
        match &x.answer {
            Ok(a) => {
                if matches!(a.status, 204 | 404) {
                    run.ledger.deleted(&self.url);
                }
                for d in live::judge_delete(&self.tracked, a.status) {
                    findings.push(Finding::lifecycle(&x, &self.id, None, d));
                }
            }
            Err(e) => findings.push(Finding::transport(&x, e, Some(&self.id))),
        }
    }
}

/// Reads ask for enum values as stored (rule O7): the reference follows what the server holds.
fn as_stored() -> Vec<(String, String)> {
    vec![(
        "Prefer".to_owned(),
        "include-unknown-enum-members".to_owned(),
    )]
}

/// The key an artifact keeps across ids: its restore point (and search response), or its id
/// for granular drive and site artifacts, whose id is their key.
pub fn key_of(a: &Value) -> Option<String> {
    match a.pointer("/restorePoint/id").and_then(Value::as_str) {
        Some(rp) => Some(match a.get("searchResponseId").and_then(Value::as_str) {
            Some(s) => format!("{rp}\u{1f}{s}"),
            None => rp.to_owned(),
        }),
        None => a.get("id").and_then(Value::as_str).map(str::to_owned),
    }
}

fn placeholder_session() -> Session {
    // A session to stand in while the real one is moved (never judged).
    Session::from_json(br##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"x"}"##)
        .unwrap_or_else(|e| panic!("a constant state reads: {e}"))
}

/// A path segment percent-encoded (RFC 3986 unreserved characters kept).
pub fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Runs session `n` of the run: create, `steps` PATCHes with read-backs, delete.
pub fn run_session(run: &Run, n: u64) -> (Vec<Finding>, Option<(Plan, Record)>) {
    let plan = Plan::new(run.seed, n, &run.kinds);
    let mut findings = Vec::new();
    let Some(mut live) = Live::create(run, plan.clone(), &mut findings) else {
        return (findings, None);
    };
    if !findings.is_empty() {
        run.first_finding_at
            .fetch_min(run.sent.load(Ordering::Relaxed), Ordering::SeqCst);
    }
    let mut record = Record::default();
    for step in 0..run.steps {
        if run.stopping() {
            break;
        }
        let (body, prefer) = plan.step(step, &live.tracked, run);
        let before = findings.len();
        live.patch(run, step, &body, prefer.as_deref(), &mut findings);
        record.steps.push((body, prefer));
        if (step + 1) % run.read_back_every == 0 {
            live.read_back(run, Some(step), &mut findings);
        }
        if findings.len() > before && record.first_failing.is_none() {
            record.first_failing = Some(step);
            run.first_finding_at
                .fetch_min(run.sent.load(Ordering::Relaxed), Ordering::SeqCst);
            if run.fail_fast {
                run.stop.store(true, Ordering::SeqCst);
            }
        }
    }
    if !run.stopping() || run.fail_fast {
        let before = findings.len();
        live.read_back(run, None, &mut findings);
        if findings.len() > before && record.first_failing.is_none() {
            record.first_failing = Some(record.steps.len().saturating_sub(1));
            run.first_finding_at
                .fetch_min(run.sent.load(Ordering::Relaxed), Ordering::SeqCst);
        }
    }
    if !run.keep {
        live.delete(run, &mut findings);
    }
    record.session = live.id.clone();
    record.history = live.history.clone();
    let failing = record.first_failing.is_some();
    (findings, failing.then_some((plan, record)))
}
