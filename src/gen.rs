//! `restore_delta::gen`, the case generator's former name, kept for one release: each item is
//! a deprecated alias of its namesake in [`generate`](crate::generate). (`gen` is a reserved
//! word in edition 2024, where this path must be written `r#gen`; a deprecated module or
//! `pub use` would not warn its users, so the aliases are types, functions and a constant.)

use serde_json::{Map, Value};

use crate::generate;
use crate::{ItemOutcome, Options, RequestError, RuleId};

/// [`generate::Case`].
#[deprecated(note = "renamed `restore_delta::generate::Case`")]
pub type Case = generate::Case;
/// [`generate::CaseError`].
#[deprecated(note = "renamed `restore_delta::generate::CaseError`")]
pub type CaseError = generate::CaseError;
/// [`generate::CaseOptions`].
#[deprecated(note = "renamed `restore_delta::generate::CaseOptions`")]
pub type CaseOptions = generate::CaseOptions;
/// [`generate::Coverage`].
#[deprecated(note = "renamed `restore_delta::generate::Coverage`")]
pub type Coverage = generate::Coverage;
/// [`generate::Generator`].
#[deprecated(note = "renamed `restore_delta::generate::Generator`")]
pub type Generator = generate::Generator;
/// [`generate::Mix`].
#[deprecated(note = "renamed `restore_delta::generate::Mix`")]
pub type Mix = generate::Mix;
/// [`generate::Sequence`].
#[deprecated(note = "renamed `restore_delta::generate::Sequence`")]
pub type Sequence = generate::Sequence;
/// [`generate::Step`].
#[deprecated(note = "renamed `restore_delta::generate::Step`")]
pub type Step = generate::Step;

/// [`generate::DECISION_RULES`].
#[deprecated(note = "renamed `restore_delta::generate::DECISION_RULES`")]
pub const DECISION_RULES: &[RuleId] = generate::DECISION_RULES;

/// [`generate::decided_rules`].
#[deprecated(note = "renamed `restore_delta::generate::decided_rules`")]
pub fn decided_rules(outcomes: &[ItemOutcome], error: Option<&RequestError>) -> Vec<RuleId> {
    generate::decided_rules(outcomes, error)
}

/// [`generate::dictionary`].
#[deprecated(note = "renamed `restore_delta::generate::dictionary`")]
pub fn dictionary() -> String {
    generate::dictionary()
}

/// [`generate::options_object`].
#[deprecated(note = "renamed `restore_delta::generate::options_object`")]
#[doc(hidden)]
pub fn options_object(
    prefer: Option<&str>,
    atomic: bool,
    options: &Options,
    actor: Option<&Value>,
) -> Map<String, Value> {
    generate::options_object(prefer, atomic, options, actor)
}
