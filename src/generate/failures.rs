//! The mixed mix, the generator's catalogue of failures: among successful items, a failing
//! item for each of X1–X3, A1–A6 and G1–G3, and a refused envelope for each of E1–E9.

use serde_json::{Map, Value, json};

use super::Builder;
use super::reference::{self, Prefer};
use crate::{Family, SessionKind};

impl Builder<'_> {
    pub(super) fn mixed(&mut self, count: usize) {
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
    pub(super) fn failing_item(&mut self) -> Map<String, Value> {
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
    pub(super) fn envelope_fault(&mut self) {
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
}
