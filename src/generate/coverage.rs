//! Which rules decided the answers to a set of cases: the decision rules, the rules one answer
//! names, and [`Coverage`], their counts over many cases.

use std::collections::BTreeMap;
use std::fmt;

use super::Case;
use crate::{ItemOutcome, RequestError, RuleId};

/// The rules an [`ItemOutcome`] or a [`RequestError`] can name: those that decide an answer.
///
/// The other rules of `docs/SEMANTICS.md` shape every answer rather than decide one, so no
/// outcome names them: S1–S5 read the state (a bad one is a
/// [`StateError`](crate::StateError), S3, before any request is looked at); O2–O9 fix the
/// response's shape, echoes, headers and bookkeeping; D1–D4 are properties of every run
/// (determinism, seeded ids, no panic, order kept); C1–C3 belong to the reference check.
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
                Ok(applied) => coverage.add(&decided_rules(
                    &applied.answer.outcomes,
                    applied.answer.error.as_ref(),
                )),
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
