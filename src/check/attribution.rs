//! Which rule decided the expected value at each place of the answer (rule C1: every
//! difference names one), and which item each observed delta entry stands for.

use super::diff::token;
use super::types::{Expected, Profile};
use crate::engine::outcome::ItemOutcome;
use crate::json::borrowed::Json;
use crate::model::kinds::ArtifactCollection;
use crate::rule::RuleId;

/// Which rule decided the expected value at a pointer.
pub(super) struct RuleMap {
    status_rule: RuleId,
    pub(super) delta: Option<String>,
    /// The outcome's rule of the item each observed entry stands for.
    pub(super) entries: Vec<Option<RuleId>>,
    /// The item each observed entry stands for.
    pub(super) items: Vec<Option<usize>>,
}

impl RuleMap {
    /// The map of an answer whose body is the reference's: no entry to name a rule for.
    pub(super) fn empty() -> RuleMap {
        RuleMap {
            status_rule: RuleId::O3,
            delta: None,
            entries: Vec::new(),
            items: Vec::new(),
        }
    }

    pub(super) fn new(
        expected: &Expected,
        expected_body: Option<&Json<'_>>,
        body: Option<&Json<'_>>,
        profile: Profile,
        edited: Option<ArtifactCollection>,
    ) -> RuleMap {
        let delta = expected_body.and_then(|b| delta_name(b, edited));
        let observed = match (&delta, body) {
            (Some(d), Some(b)) => b.get(d.as_str()).and_then(Json::as_array),
            _ => None,
        };
        let align = alignment(&expected.outcomes, observed, profile);
        let len = align.iter().flatten().max().map_or(0, |m| m + 1);
        let mut entries = vec![None; len];
        let mut items = vec![None; len];
        for (i, (o, j)) in expected.outcomes.iter().zip(&align).enumerate() {
            if let Some(slot) = j.and_then(|j| entries.get_mut(j)) {
                *slot = Some(o.rule());
            }
            if let Some(slot) = j.and_then(|j| items.get_mut(j)) {
                *slot = Some(i);
            }
        }
        let status_rule = match (expected_body, expected.status) {
            (_, 204) => RuleId::O5,
            (Some(b), _) if b.get("error").is_some_and(|e| e.get("code").is_some()) => {
                expected_error_rule(expected)
            }
            _ => RuleId::O3,
        };
        RuleMap {
            status_rule,
            delta,
            entries,
            items,
        }
    }

    pub(super) fn rule_at(&self, pointer: &str) -> Option<RuleId> {
        if pointer == "/status" || pointer == "/body" {
            return Some(self.status_rule);
        }
        if let Some(rest) = pointer.strip_prefix("/body/") {
            if let Some(d) = &self.delta {
                let prefix = format!("{}/", token(d));
                if let Some(tail) = rest.strip_prefix(&prefix) {
                    let mut parts = tail.split('/');
                    let index = parts.next().unwrap_or_default();
                    // An echoed content id is rule O4's, whatever the entry's outcome.
                    if parts.next().is_some_and(|m| CONTENT_IDS.contains(&m)) {
                        return Some(RuleId::O4);
                    }
                    return index
                        .parse::<usize>()
                        .ok()
                        .and_then(|j| self.entries.get(j).copied().flatten())
                        .or(Some(RuleId::O3));
                }
            }
            return Some(member_rule(rest).unwrap_or(if rest.starts_with("error") {
                self.status_rule
            } else {
                RuleId::O3
            }));
        }
        if let Some(rest) = pointer.strip_prefix("/state/") {
            if ArtifactCollection::ALL
                .iter()
                .any(|c| rest.split('/').next() == Some(c.name()))
            {
                return Some(RuleId::D4);
            }
            return Some(member_rule(rest).unwrap_or(RuleId::S4));
        }
        None
    }
}

/// The names under which an item's content id is echoed (rule O4).
const CONTENT_IDS: [&str; 3] = [
    "@contentId",
    "@Core.ContentID",
    "@Org.OData.Core.V1.ContentID",
];

fn expected_error_rule(expected: &Expected) -> RuleId {
    if let Some(rule) = expected.refusal {
        rule
    } else if expected.outcomes.is_empty() {
        RuleId::O2
    } else {
        RuleId::O1
    }
}

/// The rule of a session member the request changes.
fn member_rule(rest: &str) -> Option<RuleId> {
    let name = rest.split('/').next().unwrap_or_default();
    match name {
        "lastModifiedDateTime" | "lastModifiedBy" | "restoreSessionArtifactCount" => {
            Some(RuleId::O6)
        }
        "restoreJobType" => Some(RuleId::E9),
        "status" => Some(RuleId::O7),
        _ => None,
    }
}

/// The delta member of a 200 body: the edited collection's, when the body holds it (a state
/// member spelled like the other collection's delta is a session member like any other).
fn delta_name(body: &Json<'_>, edited: Option<ArtifactCollection>) -> Option<String> {
    let name = edited?.delta_name();
    body.get(name).map(|_| name.to_owned())
}

/// For each expected delta entry, the index of the observed entry it is compared with: one
/// for one, except that under [`Profile::Docs`] a successful removal the observed delta leaves
/// out is matched with nothing.
pub(super) fn alignment(
    outcomes: &[ItemOutcome],
    observed: Option<&[Json<'_>]>,
    profile: Profile,
) -> Vec<Option<usize>> {
    let mut j = 0usize;
    outcomes
        .iter()
        .map(|o| {
            if profile == Profile::Docs
                && let ItemOutcome::Removed { id, .. } = o
            {
                let here = observed.and_then(|e| e.get(j));
                let is_it = here.is_some_and(|e| {
                    e.get("id").and_then(Json::as_str) == Some(id.as_str())
                        && (e.get("@removed").is_some() || e.get("@odata.removed").is_some())
                });
                if !is_it {
                    return None;
                }
            }
            j += 1;
            Some(j - 1)
        })
        .collect()
}
