//! The public generator (`restore_delta::gen`, feature `gen`): deterministic, and the `mixed`
//! mix reaches every rule an outcome or a refusal can name.
//!
//! Runs under plain `cargo test --workspace`: the crate is its own dev-dependency with `gen`.

use std::collections::BTreeSet;

use restore_delta::r#gen::{Case, Coverage, DECISION_RULES, Generator, Mix, decided_rules};
use restore_delta::{Family, RuleId, SessionKind};

/// Cases per mix for the coverage test.
const CASES: usize = 10_000;

#[test]
fn same_seed_same_cases_other_seed_other_cases() {
    for mix in [Mix::Valid, Mix::Mixed, Mix::Hostile] {
        let a: Vec<Case> = Generator::new(42).mix(mix).take(300).collect();
        let b: Vec<Case> = Generator::new(42).mix(mix).take(300).collect();
        let c: Vec<Case> = Generator::new(43).mix(mix).take(300).collect();
        assert_eq!(a, b, "{mix:?}: same seed, same cases");
        assert_ne!(a, c, "{mix:?}: another seed, other cases");
        let distinct: BTreeSet<&[u8]> = a.iter().map(|c| c.request.as_slice()).collect();
        assert!(
            distinct.len() > 100,
            "{mix:?}: {} distinct bodies",
            distinct.len()
        );
    }
}

#[test]
fn knobs_shape_the_cases() {
    let cases: Vec<Case> = Generator::new(1)
        .kind(SessionKind::SharePoint)
        .family(Some(Family::Granular))
        .artifacts(17)
        .items(3)
        .mix(Mix::Valid)
        .take(200)
        .collect();
    for case in &cases {
        let state: serde_json::Value = serde_json::from_str(&case.state).unwrap();
        assert_eq!(
            state["@odata.type"],
            "#microsoft.graph.sharePointRestoreSession"
        );
        assert_eq!(
            state["granularSiteRestoreArtifacts"]
                .as_array()
                .map(Vec::len),
            Some(17)
        );
        let body: serde_json::Value = serde_json::from_slice(&case.request).unwrap();
        let items = body["granularSiteRestoreArtifacts@delta"]
            .as_array()
            .unwrap();
        assert!((1..=3).contains(&items.len()), "{} items", items.len());
    }
}

#[test]
fn valid_mix_mostly_succeeds() {
    let cases: Vec<Case> = Generator::new(5).mix(Mix::Valid).take(2_000).collect();
    let mut failed_items = 0usize;
    let mut items = 0usize;
    for case in &cases {
        let applied = case.apply().unwrap();
        assert!(
            matches!(applied.response.status, 200 | 204),
            "{}",
            String::from_utf8_lossy(&case.request)
        );
        items += applied.outcomes.len();
        failed_items += applied
            .outcomes
            .iter()
            .filter(|o| matches!(o, restore_delta::ItemOutcome::Failed(_)))
            .count();
    }
    assert!(
        failed_items * 100 < items,
        "{failed_items} of {items} items failed"
    );
}

#[test]
fn hostile_mix_is_mostly_refused_and_never_a_state_error() {
    let cases: Vec<Case> = Generator::new(9).mix(Mix::Hostile).take(2_000).collect();
    let coverage = Coverage::of(&cases);
    assert_eq!(coverage.state_errors(), 0);
    assert!(coverage.count(RuleId::E2) > cases.len() / 3, "{coverage}");
    assert!(
        cases
            .iter()
            .any(|c| std::str::from_utf8(&c.request).is_err())
    );
    assert!(
        cases
            .iter()
            .any(|c| c.request.starts_with(&[0xEF, 0xBB, 0xBF]))
    );
    assert!(cases.iter().any(|c| c.request.len() > 100_000));
}

/// The rules of `docs/SEMANTICS.md` no outcome or refusal names, each with the reason.
fn not_decision_rules(rule: RuleId) -> Option<&'static str> {
    let id = rule.as_str();
    if id.starts_with('S') {
        Some("reads the state; a bad state is the embedder's error (S3), not an answer")
    } else if id.starts_with('D') {
        Some("a property of every run, not a decision")
    } else if id.starts_with('C') {
        Some("a rule of the reference check")
    } else if id.starts_with('O') && rule != RuleId::O1 {
        Some("shapes the response or the bookkeeping of every answer")
    } else {
        None
    }
}

#[test]
fn decision_rules_are_the_rules_outcomes_can_name() {
    for rule in RuleId::ALL {
        assert_eq!(
            DECISION_RULES.contains(rule),
            not_decision_rules(*rule).is_none(),
            "{rule}"
        );
    }
}

#[test]
fn mixed_mix_reaches_every_decision_rule() {
    let cases: Vec<Case> = Generator::new(2026).mix(Mix::Mixed).take(CASES).collect();
    let coverage = Coverage::of(&cases);
    println!("{coverage}");
    assert_eq!(coverage.cases(), CASES);
    assert_eq!(coverage.state_errors(), 0);
    assert_eq!(coverage.missing(), Vec::<RuleId>::new(), "\n{coverage}");
    // Every kind and family is reached too.
    for kind in SessionKind::ALL {
        for family in [Family::Standard, Family::Granular] {
            let name = kind.collection(family).delta_name();
            assert!(
                cases
                    .iter()
                    .any(|c| String::from_utf8_lossy(&c.request).contains(name)),
                "{name}"
            );
        }
    }
}

#[test]
fn decided_rules_name_the_refusal_or_each_outcome_once() {
    let mut seen_refusal = false;
    let mut seen_items = false;
    for case in Generator::new(3).mix(Mix::Mixed).take(500) {
        let applied = case.apply().unwrap();
        let rules = decided_rules(&applied.outcomes, applied.error.as_ref());
        let unique: BTreeSet<RuleId> = rules.iter().copied().collect();
        assert_eq!(unique.len(), rules.len());
        if let Some(e) = &applied.error {
            seen_refusal = true;
            assert_eq!(rules.first(), Some(&e.rule));
        } else {
            seen_items |= !applied.outcomes.is_empty();
            let named: BTreeSet<RuleId> = applied.outcomes.iter().map(|o| o.rule()).collect();
            assert_eq!(named, unique);
        }
    }
    assert!(seen_refusal && seen_items);
}

#[test]
fn valid_mix_with_many_items_still_succeeds() {
    for case in Generator::new(8)
        .mix(Mix::Valid)
        .artifacts(0)
        .items(200)
        .take(50)
    {
        let mut case = case;
        case.options.max_items = 200;
        let applied = case.apply().unwrap();
        assert!(
            applied
                .outcomes
                .iter()
                .all(|o| !matches!(o, restore_delta::ItemOutcome::Failed(_))),
            "{:?}",
            applied.outcomes
        );
    }
}

/// `Coverage` counts cases per rule: each rule's share of the cases, the decision rules no case
/// reached, a table of them, and the cases whose state the library refused; mixes spell their
/// CLI names.
#[test]
fn coverage_counts_shares_and_the_rules_no_case_reached() {
    let mut c = Coverage::default();
    assert_eq!(c.share(RuleId::A7), 0.0);
    c.add(&[RuleId::A7, RuleId::X3]);
    c.add(&[RuleId::A7]);
    c.add(&[]);
    c.add(&[]);
    assert_eq!(
        (c.cases(), c.count(RuleId::A7), c.count(RuleId::X3)),
        (4, 2, 1)
    );
    let shares = [RuleId::A7, RuleId::X3, RuleId::G1].map(|r| c.share(r));
    assert_eq!(shares, [0.5, 0.25, 0.0]);
    let missing = c.missing();
    assert_eq!(missing.len(), DECISION_RULES.len() - 2);
    assert!(!missing.contains(&RuleId::A7) && missing.contains(&RuleId::G1));
    let table = c.to_string();
    assert!(
        table.starts_with("rule  cases   share   (of 4 cases)\n"),
        "{table}"
    );
    assert!(table.contains("\nA7         2   50.0%\n"), "{table}");
    assert_eq!(table.lines().count(), DECISION_RULES.len() + 1);

    let mut case = Generator::new(1).next().expect("a case");
    case.state = "{}".into();
    let c = Coverage::of([&case]);
    assert_eq!((c.cases(), c.state_errors()), (1, 1));

    let names = [Mix::Valid, Mix::Mixed, Mix::Hostile].map(Mix::as_str);
    assert_eq!(names, ["valid", "mixed", "hostile"]);
}
