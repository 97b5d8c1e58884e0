//! Generated cases for fuzzing and differential campaigns (feature `gen`).
//!
//! A [`Generator`] turns a seed into an endless, deterministic stream of [`Case`]s: a state, a
//! request body, the options, the clock value and the id seed, everything another
//! implementation of the endpoint needs to be run on the same inputs as [`apply`]. The same
//! seed and knobs give the same cases, byte for byte, on every platform: the generator draws
//! from its own SplitMix64 (the algorithm of [`SeededIds`]) and never from
//! the operating system.
//!
//! [`Coverage`] counts which rules decided the answers to a set of cases (the rule an outcome
//! or a refusal names), and [`Case::vector`] writes a case in the format of `docs/VECTORS.md`
//! with the reference's answer.
//!
//! ```
//! use restore_delta::r#gen::{Coverage, Generator, Mix};
//! use restore_delta::RuleId;
//! let cases: Vec<_> = Generator::new(7).mix(Mix::Mixed).take(200).collect();
//! let again: Vec<_> = Generator::new(7).mix(Mix::Mixed).take(200).collect();
//! assert_eq!(cases, again);
//! let coverage = Coverage::of(&cases);
//! assert_eq!(coverage.cases(), 200);
//! assert!(coverage.count(RuleId::X4) > 0);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value, json};

use crate::{
    Applied, Context, Family, IdSource, ItemOutcome, MissingRemoval, Options, RequestError, RuleId,
    SeededIds, Session, SessionKind, StateError, Timestamp, TimestampError, apply,
};

#[cfg(feature = "arbitrary")]
mod arbitrary;
mod dict;
mod hostile;
mod reference;
mod shrink;
mod steps;
mod vector;

pub use dict::dictionary;
use reference::Prefer;
pub use steps::{Sequence, Step};
pub use vector::options_object;

/// The rules an [`ItemOutcome`] or a [`RequestError`] can name: those that decide an answer.
///
/// The other rules of `docs/SEMANTICS.md` shape every answer rather than decide one, so no
/// outcome names them: S1–S5 read the state (a bad one is a [`StateError`], S3, before any
/// request is looked at); O2–O9 fix the response's shape, echoes, headers and bookkeeping; D1–D4
/// are properties of every run (determinism, seeded ids, no panic, order kept); C1–C3 belong to
/// the reference check.
pub const DECISION_RULES: &[RuleId] = &[
    RuleId::E1,
    RuleId::E2,
    RuleId::E3,
    RuleId::E4,
    RuleId::E5,
    RuleId::E6,
    RuleId::E7,
    RuleId::E8,
    RuleId::E9,
    RuleId::X1,
    RuleId::X2,
    RuleId::X3,
    RuleId::X4,
    RuleId::A1,
    RuleId::A2,
    RuleId::A3,
    RuleId::A4,
    RuleId::A5,
    RuleId::A6,
    RuleId::A7,
    RuleId::G1,
    RuleId::G2,
    RuleId::G3,
    RuleId::G4,
    RuleId::O1,
];

/// What kind of requests a [`Generator`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mix {
    /// Requests that mostly succeed: well-formed additions and removals on draft sessions.
    Valid,
    /// Requests that reach the failure of every rule: refused envelopes (E1–E9), failing items
    /// of every kind (X, A, G) and atomic requests (O1), among successful items.
    Mixed,
    /// Bodies a server must survive: malformed JSON, deep nesting, duplicate member names, huge
    /// strings, byte-order marks, invalid UTF-8, wrong types at every level.
    Hostile,
}

impl Mix {
    /// The mix's name as the CLI spells it (`valid`, `mixed`, `hostile`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mix::Valid => "valid",
            Mix::Mixed => "mixed",
            Mix::Hostile => "hostile",
        }
    }
}

/// The options of a case: a `Prefer` header value, the limits, the policy, the caller and the
/// added service roots.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CaseOptions {
    /// The `Prefer` header value, if the request has one.
    pub prefer: Option<String>,
    /// Most items per request (E7).
    pub max_items: usize,
    /// Largest body in bytes (E1).
    pub max_bytes: usize,
    /// Deepest nesting (E2).
    pub max_depth: usize,
    /// How a removal of an absent id ends (X3).
    pub missing_removal: MissingRemoval,
    /// The caller's identity (an `identitySet`, as JSON text), written to `lastModifiedBy` when
    /// an item changed something (O6); `None` for none.
    pub actor: Option<String>,
    /// Service roots an absolute `restorePoint@odata.id` may start with besides Graph's (A2),
    /// as [`Options::with_service_root`] adds them.
    pub service_roots: Vec<String>,
}

impl Default for CaseOptions {
    fn default() -> Self {
        let d = Options::default();
        CaseOptions {
            prefer: None,
            max_items: d.max_items,
            max_bytes: d.max_bytes,
            max_depth: d.max_depth,
            missing_removal: d.missing_removal,
            actor: None,
            service_roots: Vec::new(),
        }
    }
}

impl CaseOptions {
    /// A context with `now`, the ids of `seed` and the actor, if any (an actor that is not a
    /// JSON object is left out).
    pub fn context(&self, now: Timestamp, seed: u64) -> Context<SeededIds> {
        let ctx = Context::new(now, SeededIds::new(seed));
        match self
            .actor
            .as_deref()
            .and_then(|a| serde_json::from_str::<Value>(a).ok())
        {
            Some(actor @ Value::Object(_)) => ctx.with_actor(&actor),
            _ => ctx,
        }
    }

    /// These options as the library takes them.
    pub fn to_options(&self) -> Options {
        let mut o = Options::default()
            .with_max_items(self.max_items)
            .with_max_bytes(self.max_bytes)
            .with_max_depth(self.max_depth)
            .with_missing_removal(self.missing_removal);
        for root in &self.service_roots {
            o = o.with_service_root(root);
        }
        match &self.prefer {
            Some(p) => o.with_prefer(p),
            None => o,
        }
    }
}

/// One generated case: everything a PATCH needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Case {
    /// The session before the request, as JSON text.
    pub state: String,
    /// The request body (not always UTF-8 or JSON in the hostile mix).
    pub request: Vec<u8>,
    /// The `Prefer` value and the limits.
    pub options: CaseOptions,
    /// The request time, RFC 3339 in UTC.
    pub now: String,
    /// The seed of the id source ([`SeededIds`]); below 2^53, exact in any JSON parser.
    pub seed: u64,
}

impl Case {
    /// Applies the case with the reference: [`apply`] with the case's options, time and seed.
    ///
    /// # Errors
    /// The state error of rule S3 when the state is not one the library works on, or a `now`
    /// that is not RFC 3339 (generated cases have neither; a caller may have changed them).
    pub fn apply(&self) -> Result<Applied, CaseError> {
        let session = Session::from_json(self.state.as_bytes())?;
        apply_one(session, &self.request, &self.options, &self.now, self.seed)
    }
}

/// One PATCH applied with the reference: its options, its clock, the ids of its seed.
fn apply_one(
    session: Session,
    request: &[u8],
    options: &CaseOptions,
    now: &str,
    seed: u64,
) -> Result<Applied, CaseError> {
    let now = Timestamp::parse_rfc3339(now)?;
    let mut ctx = options.context(now, seed);
    Ok(apply(session, request, &options.to_options(), &mut ctx))
}

/// Why a [`Case`] could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    /// The state is not one the library works on (rule S3).
    #[error(transparent)]
    State(#[from] StateError),
    /// `now` is not an RFC 3339 time.
    #[error("now: {0}")]
    Now(#[from] TimestampError),
}

/// The rules that decided an answer: the refusal's rule, or each outcome's rule, each once, in
/// the order first met.
pub fn decided_rules(outcomes: &[ItemOutcome], error: Option<&RequestError>) -> Vec<RuleId> {
    let mut rules: Vec<RuleId> = Vec::new();
    let named = error
        .map(|e| e.rule)
        .into_iter()
        .chain(outcomes.iter().map(ItemOutcome::rule));
    for rule in named {
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    rules
}

/// How often each rule decided an answer in a set of cases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    cases: usize,
    state_errors: usize,
    counts: BTreeMap<RuleId, usize>,
}

impl Coverage {
    /// Applies every case with the reference ([`Case::apply`]) and counts, per rule, the cases
    /// where that rule decided an outcome or the refusal.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a Case>) -> Coverage {
        let mut coverage = Coverage::default();
        for case in cases {
            match case.apply() {
                Ok(applied) => {
                    coverage.add(&decided_rules(&applied.outcomes, applied.error.as_ref()))
                }
                Err(_) => {
                    coverage.cases = coverage.cases.saturating_add(1);
                    coverage.state_errors = coverage.state_errors.saturating_add(1);
                }
            }
        }
        coverage
    }

    /// Counts one case whose answer these rules decided.
    pub fn add(&mut self, rules: &[RuleId]) {
        self.cases = self.cases.saturating_add(1);
        for rule in rules {
            let n = self.counts.entry(*rule).or_default();
            *n = n.saturating_add(1);
        }
    }

    /// The number of cases counted.
    pub fn cases(&self) -> usize {
        self.cases
    }

    /// The cases whose state the library refused (rule S3).
    pub fn state_errors(&self) -> usize {
        self.state_errors
    }

    /// The number of cases where `rule` decided an outcome or the refusal.
    pub fn count(&self, rule: RuleId) -> usize {
        self.counts.get(&rule).copied().unwrap_or(0)
    }

    /// The share of cases (0 to 1) where `rule` decided an outcome or the refusal.
    pub fn share(&self, rule: RuleId) -> f64 {
        if self.cases == 0 {
            return 0.0;
        }
        self.count(rule) as f64 / self.cases as f64
    }

    /// The decision rules ([`DECISION_RULES`]) no case reached.
    pub fn missing(&self) -> Vec<RuleId> {
        DECISION_RULES
            .iter()
            .copied()
            .filter(|r| self.count(*r) == 0)
            .collect()
    }
}

/// A table: each decision rule, its count and its share of the cases.
impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rule  cases   share   (of {} cases)", self.cases)?;
        for rule in DECISION_RULES {
            writeln!(
                f,
                "{:<4}  {:>6}  {:>5.1}%",
                rule.as_str(),
                self.count(*rule),
                self.share(*rule) * 100.0
            )?;
        }
        Ok(())
    }
}

/// Where a [`Generator`]'s decisions come from.
#[derive(Clone, Debug)]
pub(crate) enum Rng {
    /// SplitMix64 from a seed, as [`SeededIds`] draws: deterministic on every platform.
    Seeded(u64),
    /// Read from bytes, as a fuzzer supplies them ([`Generator::from_bytes`]): each decision
    /// reads as few bytes as its range needs, and every decision is 0 once they run out.
    Bytes {
        /// The bytes.
        data: Vec<u8>,
        /// How many have been read.
        at: usize,
    },
}

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        match self {
            Rng::Seeded(state) => {
                *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = *state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            }
            Rng::Bytes { .. } => self.read(8),
        }
    }

    /// `width` bytes (at most 8), big-endian; missing bytes read as 0.
    fn read(&mut self, width: usize) -> u64 {
        let Rng::Bytes { data, at } = self else {
            return 0;
        };
        let mut n = 0u64;
        for _ in 0..width.min(8) {
            let b = data.get(*at).copied().unwrap_or(0);
            *at = at.saturating_add(1);
            n = (n << 8) | u64::from(b);
        }
        n
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let m = match u64::try_from(n) {
            Ok(0) | Err(_) => return 0,
            Ok(m) => m,
        };
        let drawn = match self {
            Rng::Seeded(_) => self.next_u64(),
            Rng::Bytes { .. } if m == 1 => 0,
            // As many bytes as `m - 1` has, as `arbitrary::Unstructured::int_in_range` reads.
            Rng::Bytes { .. } => {
                let bits = u64::BITS - (m - 1).leading_zeros();
                self.read(usize::try_from(bits.div_ceil(8)).unwrap_or(8))
            }
        };
        usize::try_from(drawn % m).unwrap_or(0)
    }

    /// True with probability `percent` / 100.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        match self {
            Rng::Seeded(_) => self.below(100) < percent,
            // Bytes that ran out (zeros) say no: a fuzzer's short input is a plain case.
            Rng::Bytes { .. } => self.below(100) >= 100usize.saturating_sub(percent),
        }
    }

    /// One of `items` (the first when there is a choice of none).
    pub(crate) fn pick<T: Clone>(&mut self, items: &[T], fallback: T) -> T {
        items
            .get(self.below(items.len()))
            .cloned()
            .unwrap_or(fallback)
    }
}

/// A deterministic stream of [`Case`]s; an [`Iterator`] that never ends.
///
/// Knobs (builder methods) choose the session kinds, the collection family, the state size, the
/// item count and the [`Mix`]. Defaults: all three kinds, both families, 5 stored artifacts, up
/// to 6 items, [`Mix::Mixed`].
#[derive(Clone, Debug)]
#[must_use]
pub struct Generator {
    rng: Rng,
    kinds: Vec<SessionKind>,
    family: Option<Family>,
    artifacts: usize,
    items: usize,
    mix: Mix,
}

impl Generator {
    /// A generator whose cases follow from `seed` alone (and the knobs).
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: Rng::Seeded(seed),
            kinds: SessionKind::ALL.to_vec(),
            family: None,
            artifacts: 5,
            items: 6,
            mix: Mix::Mixed,
        }
    }

    /// A generator whose every decision is read from `data`, as a fuzzer's input: the bytes
    /// choose the kind, the family, each item's kind and each failure, not characters of the
    /// body. Each decision reads as few bytes as its number of choices needs, and every decision
    /// is the first choice once the bytes run out, so the same bytes give the same cases and a
    /// short input a plain one. This is what [`Case`]'s `Arbitrary` implementation (feature
    /// `arbitrary`) uses.
    ///
    /// ```
    /// use restore_delta::r#gen::Generator;
    /// let a = Generator::from_bytes(&[1, 2, 3, 200, 17]).case();
    /// assert_eq!(a, Generator::from_bytes(&[1, 2, 3, 200, 17]).case());
    /// assert!(a.apply().is_ok());
    /// ```
    pub fn from_bytes(data: &[u8]) -> Generator {
        Generator {
            rng: Rng::Bytes {
                data: data.to_vec(),
                at: 0,
            },
            ..Generator::new(0)
        }
    }

    /// These knobs with the decisions of `other`.
    #[cfg(feature = "arbitrary")]
    fn with_rng_of(mut self, other: Generator) -> Generator {
        self.rng = other.rng;
        self
    }

    /// Sessions of this kind only.
    pub fn kind(mut self, kind: SessionKind) -> Generator {
        self.kinds = vec![kind];
        self
    }

    /// Sessions of every kind (the default).
    pub fn all_kinds(mut self) -> Generator {
        self.kinds = SessionKind::ALL.to_vec();
        self
    }

    /// Requests on this family's collection only (`None`, the default: either).
    pub fn family(mut self, family: Option<Family>) -> Generator {
        self.family = family;
        self
    }

    /// The number of artifacts stored in the edited collection of each state.
    pub fn artifacts(mut self, n: usize) -> Generator {
        self.artifacts = n;
        self
    }

    /// The most items of a request (each request has 1 to `n`; at least 1).
    pub fn items(mut self, n: usize) -> Generator {
        self.items = n.max(1);
        self
    }

    /// The kind of requests.
    pub fn mix(mut self, mix: Mix) -> Generator {
        self.mix = mix;
        self
    }

    /// The next case.
    pub fn case(&mut self) -> Case {
        let (kind, family) = self.kind_and_family();
        let mut b = Builder::new(&mut self.rng, kind, family, self.artifacts);
        let count = 1 + b.rng.below(self.items);
        b.request(self.mix, count);
        b.finish()
    }
}

impl Generator {
    fn kind_and_family(&mut self) -> (SessionKind, Family) {
        let kind = self.rng.pick(&self.kinds, SessionKind::OneDriveForBusiness);
        let family = match self.family {
            Some(f) => f,
            None if self.rng.chance(50) => Family::Granular,
            None => Family::Standard,
        };
        (kind, family)
    }
}

impl Iterator for Generator {
    type Item = Case;

    fn next(&mut self) -> Option<Case> {
        Some(self.case())
    }
}

/// The session id of every generated state.
const SESSION_ID: &str = "gen-session";
/// 2026-01-01T00:00:00Z: generated clocks fall in the year after it.
const EPOCH_2026: i64 = 1_767_225_600;
/// Ids that are in no generated state.
const ABSENT_IDS: [&str; 3] = ["absent-1", "Absent-0", "nope"];

/// One case under construction.
pub(crate) struct Builder<'r> {
    pub(crate) rng: &'r mut Rng,
    pub(crate) kind: SessionKind,
    pub(crate) family: Family,
    state: Map<String, Value>,
    /// The ids and keys of the stored artifacts of the edited collection.
    stored: Vec<String>,
    /// The destination type the stored artifacts restore to, if any (A5).
    destination: &'static str,
    /// Members of the body besides the edited collection's delta.
    extra: Vec<(String, Value)>,
    items: Vec<Value>,
    /// The body as text, when it is not the JSON of `items` and `extra`.
    raw: Option<Vec<u8>>,
    pub(crate) options: CaseOptions,
    /// Set the byte limit just below the body's size (E1).
    too_big: bool,
    /// The step of a sequence (0 for a single case); from step 1 the state is the one the
    /// previous steps left, and the builder does not change it.
    step: usize,
}

impl<'r> Builder<'r> {
    fn new(rng: &'r mut Rng, kind: SessionKind, family: Family, artifacts: usize) -> Builder<'r> {
        let destination = if rng.chance(50) { "new" } else { "inPlace" };
        let mut b = Builder::with_state(rng, kind, family, Map::new(), Vec::new(), destination);
        b.state
            .insert("@odata.type".into(), json!(kind.odata_type()));
        b.state.insert("id".into(), json!(SESSION_ID));
        b.state.insert("status".into(), json!("draft"));
        let collection = kind.collection(family);
        let mut stored = Vec::with_capacity(artifacts);
        for i in 0..artifacts {
            let artifact = b.stored_artifact(i);
            if let Some(id) = artifact.get("id").and_then(Value::as_str) {
                b.stored.push(id.to_owned());
            }
            stored.push(artifact);
        }
        if !stored.is_empty() {
            b.state
                .insert("restoreJobType".into(), json!(family.job_type()));
            b.state.insert(
                "restoreSessionArtifactCount".into(),
                json!({"total": artifacts, "completed": 0}),
            );
        }
        b.state
            .insert(collection.name().into(), Value::Array(stored));
        b
    }

    /// A builder for step `step` (1 or more) of a sequence, on the state the previous steps
    /// left: the stored ids and the destination type are read from it, and it stays as it is.
    pub(crate) fn on_state(
        rng: &'r mut Rng,
        kind: SessionKind,
        family: Family,
        state: Map<String, Value>,
        step: usize,
    ) -> Builder<'r> {
        let artifacts: &[Value] = state
            .get(kind.collection(family).name())
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let stored: Vec<String> = artifacts
            .iter()
            .filter_map(|a| a.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let stored_destination =
            artifacts
                .iter()
                .find_map(|a| match a.get("destinationType").and_then(Value::as_str) {
                    Some("new") => Some("new"),
                    Some("inPlace") => Some("inPlace"),
                    _ => None,
                });
        let destination = match stored_destination {
            Some(d) => d,
            None if rng.chance(50) => "new",
            None => "inPlace",
        };
        let mut b = Builder::with_state(rng, kind, family, state, stored, destination);
        b.step = step;
        b
    }

    fn with_state(
        rng: &'r mut Rng,
        kind: SessionKind,
        family: Family,
        state: Map<String, Value>,
        stored: Vec<String>,
        destination: &'static str,
    ) -> Builder<'r> {
        Builder {
            rng,
            kind,
            family,
            state,
            stored,
            destination,
            extra: Vec::new(),
            items: Vec::new(),
            raw: None,
            options: CaseOptions::default(),
            too_big: false,
            step: 0,
        }
    }

    /// Builds the request of the mix, with `count` items (before any fault).
    pub(crate) fn request(&mut self, mix: Mix, count: usize) {
        match mix {
            Mix::Valid => self.valid(count),
            Mix::Mixed => self.mixed(count),
            Mix::Hostile => self.hostile(count),
        }
    }

    fn granular_item(&self) -> bool {
        self.family == Family::Granular && self.kind != SessionKind::Exchange
    }

    fn mailbox_granular(&self) -> bool {
        self.family == Family::Granular && self.kind == SessionKind::Exchange
    }

    fn stored_artifact(&mut self, i: usize) -> Value {
        if self.granular_item() {
            json!({"id": format!("key-{i}"), "browseSessionId": "bs-1",
                "status": "added", "createdDateTime": "2026-01-01T00:00:00Z"})
        } else {
            let mut m = Map::new();
            m.insert("id".into(), json!(format!("art-{i}")));
            m.insert("restorePoint".into(), json!({"id": format!("rp-{i}")}));
            m.insert("destinationType".into(), json!(self.destination));
            if self.mailbox_granular() {
                m.insert("searchResponseId".into(), json!("search-1"));
            }
            m.insert("status".into(), json!("added"));
            Value::Object(m)
        }
    }

    /// A stored id, or an absent one when the state holds none.
    fn stored_id(&mut self) -> String {
        match self.stored.get(self.rng.below(self.stored.len())) {
            Some(id) => id.clone(),
            None => self.absent_id(),
        }
    }

    fn absent_id(&mut self) -> String {
        self.rng.pick(&ABSENT_IDS, "nope").to_owned()
    }

    /// A fresh restore point or item key, unique within the case (the item's position is in
    /// it), whatever the item count.
    fn fresh(&mut self, prefix: &str) -> String {
        let n = self.items.len();
        let r = self.rng.below(1000);
        match self.step {
            0 => format!("{prefix}-n{n}-{r}"),
            step => format!("{prefix}-s{step}n{n}-{r}"),
        }
    }

    /// A valid addition for the edited collection.
    pub(crate) fn addition(&mut self) -> Map<String, Value> {
        let mut m = Map::new();
        if self.granular_item() {
            let key = self.fresh("key");
            m.insert("browseSessionId".into(), json!("bs-1"));
            m.insert("itemKey".into(), json!(key));
        } else {
            let rp = self.fresh("rp");
            // A2: a third of the references are `@odata.id` IRIs, in every accepted form.
            let reference = if self.rng.chance(30) {
                self.accepted_reference(&rp, reference::ACCEPTED_FORMS)
            } else {
                json!({"id": rp})
            };
            m.insert("restorePoint".into(), reference);
            m.insert("destinationType".into(), json!(self.destination));
            if self.mailbox_granular() {
                m.insert("searchResponseId".into(), json!("search-2"));
            }
        }
        if self.rng.chance(10) {
            m.insert("@contentId".into(), json!(format!("c{}", self.items.len())));
        }
        if self.rng.chance(5) {
            let item_type = self.kind.collection(self.family).item_type();
            m.insert("@odata.type".into(), json!(item_type));
        }
        m
    }

    /// A removal of a stored artifact.
    pub(crate) fn removal(&mut self, id: String) -> Map<String, Value> {
        let mut m = Map::new();
        let marker = match self.rng.below(4) {
            0 => json!({}),
            1 => json!({"reason": "deleted"}),
            _ => json!({"reason": "changed"}),
        };
        let name = if self.rng.chance(20) {
            "@odata.removed"
        } else {
            "@removed"
        };
        m.insert(name.into(), marker);
        m.insert("id".into(), json!(id));
        m
    }

    /// A caller identity in one case of five (O6), removals of absent ids that succeed in one
    /// of ten (X3), and a server's own service root in one of ten (A2; a reference under it
    /// adds it too).
    fn caller_and_policy(&mut self) {
        // Given as a server may configure it, without the final `/`.
        if self.rng.chance(10) {
            self.add_local_root(true);
        }
        if self.rng.chance(20) {
            self.options.actor =
                Some(r#"{"user":{"id":"gen-user","displayName":"Generated"}}"#.to_owned());
        }
        if self.rng.chance(10) {
            self.options.missing_removal = MissingRemoval::Succeed;
        }
    }

    fn valid(&mut self, count: usize) {
        if self.rng.chance(25) {
            self.prefer(Prefer::Understood);
        }
        self.caller_and_policy();
        let mut removable = self.stored.clone();
        for _ in 0..count {
            let item = if !removable.is_empty() && self.rng.chance(35) {
                let id = removable.swap_remove(self.rng.below(removable.len()));
                self.removal(id)
            } else {
                self.addition()
            };
            self.items.push(Value::Object(item));
        }
    }

    fn mixed(&mut self, count: usize) {
        // One case in four is refused as a whole (E1–E9); the others decide items.
        if self.rng.chance(25) {
            self.valid(count);
            self.envelope_fault();
            return;
        }
        if self.rng.chance(15) {
            self.prefer(Prefer::Atomic);
        } else if self.rng.chance(15) {
            self.prefer(Prefer::Odd);
        }
        self.caller_and_policy();
        for _ in 0..count {
            let item = if self.rng.chance(40) {
                if !self.stored.is_empty() && self.rng.chance(50) {
                    let id = self.stored_id();
                    self.removal(id)
                } else {
                    self.addition()
                }
            } else {
                self.failing_item()
            };
            self.items.push(Value::Object(item));
        }
    }

    /// An item that fails one rule (or, by chance, one that the evolving collection lets pass).
    fn failing_item(&mut self) -> Map<String, Value> {
        let granular_item = self.granular_item();
        let choice = self.rng.below(if granular_item { 6 } else { 9 });
        match (choice, granular_item) {
            // X1: a bad removal marker.
            (0, _) => {
                let id = self.stored_id();
                let mut m = self.removal(id);
                let bad = self.rng.pick(
                    &[
                        json!("changed"),
                        json!({"reason": "Deleted"}),
                        json!({"reason": 1}),
                        json!([]),
                    ],
                    Value::Null,
                );
                m.remove("@odata.removed");
                if self.rng.chance(20) {
                    // Both markers, each well-formed.
                    m.insert("@odata.removed".into(), json!({}));
                    m.insert("@removed".into(), json!({}));
                } else {
                    m.insert("@removed".into(), bad);
                }
                m
            }
            // X2: a bad id.
            (1, _) => {
                let id = self.stored_id();
                let mut m = self.removal(id);
                match self.rng.below(3) {
                    0 => drop(m.remove("id")),
                    1 => drop(m.insert("id".into(), json!(""))),
                    _ => drop(m.insert("id".into(), json!(7))),
                }
                m
            }
            // X3: an id that is not there.
            (2, _) => {
                let id = self.absent_id();
                self.removal(id)
            }
            // A1 / G1: a member an addition may not carry.
            (3, _) => {
                let mut m = self.addition();
                let (name, value) = self.rng.pick(
                    &[
                        ("status", "added"),
                        ("id", "mine"),
                        ("createdDateTime", "2026-01-01T00:00:00Z"),
                        ("foo", "bar"),
                        ("@odata.type", "#microsoft.graph.driveItem"),
                    ],
                    ("foo", "bar"),
                );
                m.insert(name.into(), json!(value));
                m
            }
            // G2: a bad browse session or key.
            (4, true) => {
                let mut m = self.addition();
                match self.rng.below(4) {
                    0 => drop(m.remove("browseSessionId")),
                    1 => drop(m.insert("browseSessionId".into(), json!(""))),
                    2 => drop(m.remove("itemKey")),
                    _ => drop(m.insert("itemKey".into(), json!(3))),
                }
                m
            }
            // G3: a key already in the collection.
            (5, true) => {
                let mut m = self.addition();
                let key = self.stored_id();
                m.insert("itemKey".into(), json!(key));
                m
            }
            // A2: a bad restore point; most often an `@odata.id` in a form that names none.
            (4, false) => {
                let mut m = self.addition();
                if self.rng.chance(15) {
                    m.remove("restorePoint");
                } else if self.rng.chance(70) {
                    let rp = self.fresh("rp");
                    let bad = self.refused_reference(&rp);
                    m.insert("restorePoint".into(), bad);
                } else {
                    let bad = self.rng.pick(
                        &[json!({"id": ""}), json!({"id": null}), json!("rp-1")],
                        Value::Null,
                    );
                    m.insert("restorePoint".into(), bad);
                }
                m
            }
            // A3: a bad destination type.
            (5, false) => {
                let mut m = self.addition();
                let bad = self
                    .rng
                    .pick(&["InPlace", "unknownFutureValue", "old"], "old");
                m.insert("destinationType".into(), json!(bad));
                m
            }
            // A4: a restore point already there.
            (6, false) => {
                let mut m = self.addition();
                let n = self.rng.below(self.stored.len().max(1));
                let rp = format!("rp-{n}");
                // Named by `@odata.id` in a third of them: the key it resolves to is compared.
                let reference = if self.rng.chance(30) {
                    self.accepted_reference(&rp, reference::EXACT_FORMS)
                } else {
                    json!({"id": rp})
                };
                m.insert("restorePoint".into(), reference);
                if self.mailbox_granular() {
                    m.insert("searchResponseId".into(), json!("search-1"));
                }
                m
            }
            // A5: the other destination type.
            (7, false) => {
                let mut m = self.addition();
                let other = if self.destination == "new" {
                    "inPlace"
                } else {
                    "new"
                };
                m.insert("destinationType".into(), json!(other));
                m
            }
            // A6: a granular mailbox addition without its search response; elsewhere a
            // search response where none is allowed (A1).
            _ => {
                let mut m = self.addition();
                if self.mailbox_granular() {
                    m.remove("searchResponseId");
                } else {
                    m.insert("searchResponseId".into(), json!("search-1"));
                }
                m
            }
        }
    }

    /// Makes the whole request refused by one of E1–E9.
    fn envelope_fault(&mut self) {
        let fault = match self.rng.below(9) {
            // A later step of a sequence keeps the state the earlier steps left: E3 and E9
            // faults become E4 (a member the body may not carry) and E5 (two deltas).
            2 if self.step > 0 => 3,
            8 if self.step > 0 => 4,
            fault => fault,
        };
        match fault {
            0 => self.too_big = true,
            1 => {
                let mut body = self.body_text();
                body.truncate(body.len() / 2);
                self.raw = Some(body);
            }
            2 => {
                if self.rng.chance(50) {
                    self.state.insert("status".into(), json!("active"));
                } else {
                    self.state.insert(
                        self.kind.bulk_addition_requests().into(),
                        json!([{"id": "bulk-1"}]),
                    );
                }
            }
            3 => {
                let (name, value) = self.rng.pick(
                    &[("status", "draft"), ("id", "other"), ("displayName", "x")],
                    ("status", "draft"),
                );
                self.extra.push((name.into(), json!(value)));
            }
            4 => {
                let other = self.kind.collection(self.family.other());
                self.extra.push((other.delta_name().into(), json!([])));
            }
            5 => self.items.clear(),
            6 => {
                self.options.max_items = self.items.len().max(1);
                let item = self.addition();
                self.items.push(Value::Object(item));
            }
            7 => {
                let bad = self
                    .rng
                    .pick(&[json!(1), json!("item"), Value::Null], Value::Null);
                let at = self.rng.below(self.items.len().saturating_add(1));
                self.items.insert(at.min(self.items.len()), bad);
            }
            _ => {
                let other = self.kind.collection(self.family.other());
                let artifact =
                    if other.family() == Family::Granular && self.kind != SessionKind::Exchange {
                        json!({"id": "other-1", "browseSessionId": "bs-1"})
                    } else {
                        json!({"id": "other-1", "restorePoint": {"id": "rp-other"}})
                    };
                self.state.insert(other.name().into(), json!([artifact]));
            }
        }
    }

    /// The body of `items` and `extra` as JSON text.
    pub(crate) fn body_text(&self) -> Vec<u8> {
        let mut body = Map::new();
        let collection = self.kind.collection(self.family);
        for (name, value) in &self.extra {
            body.insert(name.clone(), value.clone());
        }
        body.insert(
            collection.delta_name().into(),
            Value::Array(self.items.clone()),
        );
        Value::Object(body).to_string().into_bytes()
    }

    pub(crate) fn set_raw(&mut self, body: Vec<u8>) {
        self.raw = Some(body);
    }

    pub(crate) fn finish(self) -> Case {
        let request = match self.raw {
            Some(raw) => raw,
            None => self.body_text(),
        };
        let mut options = self.options;
        if self.too_big {
            options.max_bytes = request.len().saturating_sub(1).max(1);
        }
        let secs = i64::try_from(self.rng.below(365 * 86_400)).unwrap_or(0);
        let millis = self.rng.below(4) * 250;
        let now = match Timestamp::from_unix(
            EPOCH_2026.saturating_add(secs),
            u32::try_from(millis).unwrap_or(0).saturating_mul(1_000_000),
        ) {
            Ok(t) => t.to_string(),
            Err(_) => "2026-01-01T00:00:00Z".to_owned(),
        };
        let seed = self.rng.next_u64() >> 11;
        // One case in twenty (on a fresh state) gives a stored artifact that the body does not
        // name the first id the seed will draw, so the first addition's id is drawn again (A7).
        let mut state = self.state;
        if self.step == 0 && self.rng.chance(5) {
            let first = SeededIds::new(seed).next_id();
            let named = |id: &str| {
                let quoted = format!("\"{id}\"");
                request
                    .windows(quoted.len())
                    .any(|w| w == quoted.as_bytes())
            };
            if let Some(Value::Array(artifacts)) =
                state.get_mut(self.kind.collection(self.family).name())
                && let Some(a) = artifacts
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .find(|a| {
                        a.contains_key("restorePoint")
                            && a.get("id")
                                .and_then(Value::as_str)
                                .is_some_and(|id| !named(id))
                    })
            {
                a.insert("id".into(), json!(first));
            }
        }
        Case {
            state: Value::Object(state).to_string(),
            request,
            options,
            now,
            seed,
        }
    }
}
