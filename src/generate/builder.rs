//! One case under construction ([`Builder`]): the state, the body's items and the options,
//! and the valid mix. The other mixes add their items and faults: `failures.rs` (mixed),
//! `hostile.rs`; `reference.rs` writes restore-point references and `Prefer` values.

use serde_json::{Map, Value, json};

use super::reference::{self, Prefer};
use super::{Case, CaseOptions, Mix, Rng};
use crate::{Family, IdSource, MissingRemoval, SeededIds, SessionKind, Timestamp};

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
    pub(super) state: Map<String, Value>,
    /// The ids and keys of the stored artifacts of the edited collection.
    pub(super) stored: Vec<String>,
    /// The destination type the stored artifacts restore to, if any (A5).
    pub(super) destination: &'static str,
    /// Members of the body besides the edited collection's delta.
    pub(super) extra: Vec<(String, Value)>,
    pub(super) items: Vec<Value>,
    /// The body as text, when it is not the JSON of `items` and `extra`.
    pub(super) raw: Option<Vec<u8>>,
    pub(crate) options: CaseOptions,
    /// Set the byte limit just below the body's size (E1).
    pub(super) too_big: bool,
    /// The step of a sequence (0 for a single case); from step 1 the state is the one the
    /// previous steps left, and the builder does not change it.
    pub(super) step: usize,
}

impl<'r> Builder<'r> {
    pub(super) fn new(
        rng: &'r mut Rng,
        kind: SessionKind,
        family: Family,
        artifacts: usize,
    ) -> Builder<'r> {
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

    pub(super) fn with_state(
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

    pub(super) fn granular_item(&self) -> bool {
        self.family == Family::Granular && self.kind != SessionKind::Exchange
    }

    pub(super) fn mailbox_granular(&self) -> bool {
        self.family == Family::Granular && self.kind == SessionKind::Exchange
    }

    pub(super) fn stored_artifact(&mut self, i: usize) -> Value {
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
    pub(super) fn stored_id(&mut self) -> String {
        match self.stored.get(self.rng.below(self.stored.len())) {
            Some(id) => id.clone(),
            None => self.absent_id(),
        }
    }

    pub(super) fn absent_id(&mut self) -> String {
        self.rng.pick(&ABSENT_IDS, "nope").to_owned()
    }

    /// A fresh restore point or item key, unique within the case (the item's position is in
    /// it), whatever the item count.
    pub(super) fn fresh(&mut self, prefix: &str) -> String {
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
    pub(super) fn caller_and_policy(&mut self) {
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

    pub(super) fn valid(&mut self, count: usize) {
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
