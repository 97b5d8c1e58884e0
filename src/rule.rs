//! Rule ids: the rows of `docs/SEMANTICS.md`, named on outcomes and refusals so that checks and
//! generator coverage can say which rule decided an answer.

use std::fmt;
use std::str::FromStr;

macro_rules! rule_ids {
    ( $( $(#[$meta:meta])* $id:ident ),+ $(,)? ) => {
        /// A rule of `docs/SEMANTICS.md`, by its id (`X3`, `A4`, `E7`, …).
        ///
        /// Every [`ItemOutcome`](crate::ItemOutcome) and every whole-request refusal
        /// ([`RequestError`](crate::RequestError)) names the rule that decided it. New rules get
        /// new members, so matches need a wildcard arm.
        ///
        /// ```
        /// use restore_delta::RuleId;
        /// assert_eq!(RuleId::X3.as_str(), "X3");
        /// assert_eq!("a4".parse::<RuleId>(), Ok(RuleId::A4));
        /// assert!(RuleId::ALL.len() > 40);
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum RuleId {
            $( $(#[$meta])* $id, )+
        }

        impl RuleId {
            /// Every rule, in the order of `docs/SEMANTICS.md`.
            pub const ALL: &'static [RuleId] = &[ $( RuleId::$id, )+ ];

            /// The id as `docs/SEMANTICS.md` writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( RuleId::$id => stringify!($id), )+
                }
            }
        }
    };
}

rule_ids! {
    /// A state is an object with its kind's collections as arrays.
    S1,
    /// The kind from `@odata.type` or the collections.
    S2,
    /// A bad state is the embedder's error.
    S3,
    /// Unknown members and enum values are kept.
    S4,
    /// Absent `status` is `draft`, absent `restoreJobType` is `standard`.
    S5,
    /// The byte limit (413).
    E1,
    /// UTF-8, JSON, an object, bounded depth, unique names (400).
    E2,
    /// Drafts only, never bulk sessions (403).
    E3,
    /// The members a body may carry (400).
    E4,
    /// One family per request (400).
    E5,
    /// A non-empty delta array (400 `InvalidArtifactRequest`).
    E6,
    /// The item limit (400 `RestoreArtifactsLimitBreached`).
    E7,
    /// Every item an object (400).
    E8,
    /// One family per session; `restoreJobType` written on the first addition.
    E9,
    /// The removal marker and its reason.
    X1,
    /// A removal names a non-empty string id.
    X2,
    /// Removing an id that is not there (409, or a no-op success).
    X3,
    /// A removed artifact leaves the collection.
    X4,
    /// The members an addition may carry.
    A1,
    /// The restore point reference.
    A2,
    /// `destinationType` is `new` or `inPlace`.
    A3,
    /// A restore point once per collection.
    A4,
    /// One destination type per session.
    A5,
    /// Granular mailbox additions name their search response.
    A6,
    /// A new artifact: a fresh id, `added`, now.
    A7,
    /// The members a granular drive or site addition may carry.
    G1,
    /// Browse session and item key.
    G2,
    /// The item key is the id, once per collection.
    G3,
    /// A new granular artifact's shape.
    G4,
    /// Atomic mode: all or nothing.
    O1,
    /// The whole-request error's shape; the state unchanged.
    O2,
    /// The 200 body.
    O3,
    /// Content ids echoed.
    O4,
    /// `return=minimal`.
    O5,
    /// The session's bookkeeping.
    O6,
    /// Evolvable-enum members after the sentinel.
    O7,
    /// `Preference-Applied`.
    O8,
    /// A preference given twice counts once.
    O9,
    /// Determinism.
    D1,
    /// Seeded ids.
    D2,
    /// No panic, bounded work.
    D3,
    /// Untouched artifacts kept, additions appended.
    D4,
    /// The reference check binds the server's free choices from the observed answer.
    C1,
    /// Tolerance profiles.
    C2,
    /// Differences: where, what kind, which rule.
    C3,
    /// The create body: an optional plain collection, one family, `@odata.type` of the kind.
    L1,
    /// The create's artifacts: decided by the addition rules, create's codes, all or nothing.
    L2,
    /// The new session: a drawn id, `draft`, its dates and counts.
    L3,
    /// Session ids: empty or malformed is 400, unknown is 404.
    L4,
    /// Delete: drafts only.
    L5,
    /// Activate: drafts only, at most 25 sessions busy; the session is `activating`.
    L6,
    /// The schedule: stages on the clock (or stepped), path-independent.
    L7,
    /// The outcome: a seeded share of artifacts fails; `completed` or `completedWithError`.
    L8,
    /// Reading: a session without its collections; artifacts in pages.
    L9,
    /// Query options: `$` and case, each once, which the target takes; others refused.
    Q1,
    /// `$select`: top-level properties of the target type.
    Q2,
    /// `$expand`: a session's artifact collections, with nested options.
    Q3,
    /// `$filter`: operators, literals, types, null, string functions.
    Q4,
    /// `$orderby`: primitive and enum paths, asc/desc, ties by id.
    Q5,
    /// Paging: `$top`, `$skip`, `$skiptoken`, the next page.
    Q6,
    /// `$count`: the filtered total, whatever the page.
    Q7,
    /// Limits and cost: bounded parsing, no session copied, memory by `$skip + $top`.
    Q8,
    /// Evolvable enums in queries: members after the sentinel.
    Q9,
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no rule has the id {0:?}")]
#[non_exhaustive]
pub struct UnknownRule(pub String);

impl FromStr for RuleId {
    type Err = UnknownRule;

    /// The rule with this id, compared without regard to ASCII case.
    fn from_str(s: &str) -> Result<RuleId, UnknownRule> {
        RuleId::ALL
            .iter()
            .copied()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownRule(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_follow_the_rule_book() {
        for r in RuleId::ALL {
            assert_eq!(r.as_str().parse::<RuleId>(), Ok(*r));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!("x3".parse::<RuleId>(), Ok(RuleId::X3));
        assert!("Z9".parse::<RuleId>().is_err());
        assert!("".parse::<RuleId>().is_err());
        let book = include_str!("../docs/SEMANTICS.md");
        let documented: Vec<&str> = book
            .lines()
            .filter_map(|l| l.strip_prefix("| "))
            .filter_map(|l| l.split(' ').next())
            .filter(|id| {
                id.len() == 2
                    && id.starts_with(|c: char| c.is_ascii_uppercase())
                    && id.ends_with(|c: char| c.is_ascii_digit())
            })
            .collect();
        let ours: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            ours, documented,
            "RuleId and docs/SEMANTICS.md list the same rules"
        );
    }
}
