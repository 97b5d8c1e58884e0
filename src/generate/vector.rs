//! A case written as a conformance vector (`docs/VECTORS.md`), with the reference's answer.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::{Case, CaseError, CaseOptions, Sequence, decided_rules};
use crate::{Applied, ItemOutcome, MissingRemoval, RuleId};

impl Case {
    /// The case as a vector of `docs/VECTORS.md`, on one line (JSON text without a newline):
    /// `description` (the given text, then "Expected by the reference:" with the status and
    /// each item's outcome), `rules` (the rules that decided the answer, as
    /// [`decided_rules`] lists them), the inputs, and `expected`, computed with
    /// [`Case::apply`]. The body is written as `request` (its text) when it is UTF-8, as
    /// `request_hex` otherwise; `options` has only what differs from the defaults. The same
    /// case gives the same text, byte for byte.
    ///
    /// # Errors
    /// A `now` that is not RFC 3339. A state the library refuses is not an error: the vector
    /// then expects `{"state_error": true}` (rule S3).
    pub fn vector(&self, description: &str) -> Result<String, CaseError> {
        let (rules, summary, expected) = match self.apply() {
            Ok(applied) => answer(&applied),
            Err(CaseError::State(_)) => (
                vec![RuleId::S3],
                "a state error".to_owned(),
                json!({"state_error": true}),
            ),
            Err(e) => return Err(e),
        };
        let mut members = vec![
            (
                "description",
                json!(format!(
                    "{description} Expected by the reference: {summary}."
                )),
            ),
            ("rules", rules_value(&rules)),
            ("state", state_value(&self.state)),
        ];
        members.extend(inputs(&self.request, &self.options, &self.now, self.seed));
        members.push(("expected", expected));
        Ok(object(&members))
    }
}

impl Sequence {
    /// The sequence as a vector of `docs/VECTORS.md` in its `steps` form, on one line:
    /// `description` (the given text, then each step's expected status and item outcomes),
    /// `rules` (the rules that decided any step's answer, in the order first met), `state`
    /// (before the first step) and `steps`, one object per step with its own `rules`, inputs
    /// (as [`Case::vector`] writes them) and `expected`, computed with [`Sequence::apply`]. The
    /// same sequence gives the same text, byte for byte.
    ///
    /// # Errors
    /// As [`Sequence::apply`].
    pub fn vector(&self, description: &str) -> Result<String, CaseError> {
        let answers = self.apply()?;
        let mut all_rules: Vec<RuleId> = Vec::new();
        let mut summaries = Vec::with_capacity(answers.len());
        let mut steps = Vec::with_capacity(answers.len());
        for (i, (step, applied)) in self.steps.iter().zip(&answers).enumerate() {
            let (rules, summary, expected) = answer(applied);
            for rule in &rules {
                if !all_rules.contains(rule) {
                    all_rules.push(*rule);
                }
            }
            summaries.push(format!("step {} {summary}", i + 1));
            let mut members = vec![("rules", rules_value(&rules))];
            members.extend(inputs(&step.request, &step.options, &step.now, step.seed));
            members.push(("expected", expected));
            steps.push(object(&members));
        }
        let members = [
            (
                "description",
                json!(format!(
                    "{description} Expected by the reference: {}.",
                    summaries.join("; ")
                )),
            ),
            ("rules", rules_value(&all_rules)),
            ("state", state_value(&self.state)),
        ];
        let mut members: Vec<(&str, String)> = members
            .iter()
            .map(|(name, value)| (*name, value.to_string()))
            .collect();
        members.push(("steps", format!("[{}]", steps.join(","))));
        Ok(object(&members))
    }
}

/// The rules that decided an answer, a summary of it (the status, the refusal's code and
/// rule, each item's outcome) and the `expected` member.
fn answer(applied: &Applied) -> (Vec<RuleId>, String, Value) {
    let rules = decided_rules(&applied.answer.outcomes, applied.answer.error.as_ref());
    let mut summary = format!("{}", applied.answer.response.status);
    if let Some(e) = &applied.answer.error {
        let _ = write!(summary, " {} ({})", e.code, e.rule);
    }
    if !applied.answer.outcomes.is_empty() {
        summary.push_str("; items:");
        for (i, o) in applied.answer.outcomes.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            let _ = write!(summary, "{sep}{i} {}", outcome_text(o));
        }
    }
    let mut expected = Map::new();
    expected.insert("status".into(), json!(applied.answer.response.status));
    if let Some(p) = &applied.answer.response.preference_applied {
        expected.insert("preference_applied".into(), json!(p));
    }
    expected.insert(
        "body".into(),
        applied.answer.response.body_value().unwrap_or(Value::Null),
    );
    expected.insert("state".into(), applied.state.to_value());
    (rules, summary, Value::Object(expected))
}

fn rules_value(rules: &[RuleId]) -> Value {
    json!(rules.iter().map(|r| r.as_str()).collect::<Vec<_>>())
}

fn state_value(state: &str) -> Value {
    serde_json::from_str(state).unwrap_or(Value::Null)
}

/// The inputs of one PATCH as vector members: `request` (its text) or `request_hex`,
/// `options`, `now`, `seed`.
fn inputs(
    request: &[u8],
    options: &CaseOptions,
    now: &str,
    seed: u64,
) -> [(&'static str, Value); 4] {
    let body = match std::str::from_utf8(request) {
        Ok(text) => ("request", json!(text)),
        Err(_) => ("request_hex", json!(hex(request))),
    };
    [
        body,
        ("options", options_value(options)),
        ("now", json!(now)),
        ("seed", json!(seed)),
    ]
}

/// The members (each value JSON text or a [`Value`]) as a JSON object, in the order given (the
/// order docs/VECTORS.md shows).
fn object<V: std::fmt::Display>(members: &[(&str, V)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:{}", json!(name), value);
    }
    out.push('}');
    out
}

fn outcome_text(o: &ItemOutcome) -> String {
    match o {
        ItemOutcome::Added { .. } => "added".to_owned(),
        ItemOutcome::Removed { existed: true, .. } => "removed".to_owned(),
        ItemOutcome::Removed { .. } => "removed (absent, no-op)".to_owned(),
        ItemOutcome::Failed(f) => format!("fails {} {} ({})", f.status, f.code, f.rule),
        ItemOutcome::NotApplied => "not applied".to_owned(),
    }
}

fn options_value(o: &CaseOptions) -> Value {
    let actor = o
        .actor
        .as_deref()
        .and_then(|a| serde_json::from_str::<Value>(a).ok());
    // The service roots as the case holds them (`to_options` ends each with a `/`).
    let mut options = o.to_options();
    options.service_roots.clone_from(&o.service_roots);
    Value::Object(options_object(
        o.prefer.as_deref(),
        false,
        &options,
        actor.as_ref(),
    ))
}

/// A vector's `options` object (`docs/VECTORS.md`): `prefer` when given, `atomic` when set, and
/// the limits, the missing-removal policy and the added service roots of `options` where they
/// differ from [`Options::default`](crate::Options::default), and `actor` when given. (The
/// generator's vectors and the CLI's reports of an observed exchange both write it this way.)
///
/// Not part of the public API: public only so that `restore-delta check`'s reproducers write
/// the generator's `options` objects; no semver promise (hidden from the documentation).
#[doc(hidden)]
pub fn options_object(
    prefer: Option<&str>,
    atomic: bool,
    options: &crate::Options,
    actor: Option<&Value>,
) -> Map<String, Value> {
    let d = crate::Options::default();
    let mut m = Map::new();
    if let Some(p) = prefer {
        m.insert("prefer".into(), json!(p));
    }
    if atomic {
        m.insert("atomic".into(), json!(true));
    }
    if options.max_items != d.max_items {
        m.insert("max_items".into(), json!(options.max_items));
    }
    if options.max_bytes != d.max_bytes {
        m.insert("max_bytes".into(), json!(options.max_bytes));
    }
    if options.max_depth != d.max_depth {
        m.insert("max_depth".into(), json!(options.max_depth));
    }
    if options.missing_removal == MissingRemoval::Succeed {
        m.insert("missing_removal".into(), json!("succeed"));
    }
    if let Some(actor) = actor {
        m.insert("actor".into(), actor.clone());
    }
    if !options.service_roots.is_empty() {
        m.insert("service_roots".into(), json!(options.service_roots));
    }
    m
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
