//! A case written as a conformance vector (`docs/VECTORS.md`), with the reference's answer.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::{Case, CaseError, CaseOptions, decided_rules};
use crate::ItemOutcome;

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
            Ok(applied) => {
                let rules = decided_rules(&applied.outcomes, applied.error.as_ref());
                let mut summary = format!("{}", applied.response.status);
                if let Some(e) = &applied.error {
                    let _ = write!(summary, " {} ({})", e.code, e.rule);
                }
                if !applied.outcomes.is_empty() {
                    summary.push_str("; items:");
                    for (i, o) in applied.outcomes.iter().enumerate() {
                        let sep = if i == 0 { " " } else { ", " };
                        let _ = write!(summary, "{sep}{i} {}", outcome_text(o));
                    }
                }
                let mut expected = Map::new();
                expected.insert("status".into(), json!(applied.response.status));
                if let Some(p) = &applied.response.preference_applied {
                    expected.insert("preference_applied".into(), json!(p));
                }
                expected.insert(
                    "body".into(),
                    applied.response.body_value().unwrap_or(Value::Null),
                );
                expected.insert("state".into(), applied.state.to_value());
                (rules, summary, Value::Object(expected))
            }
            Err(CaseError::State(_)) => (
                vec![crate::RuleId::S3],
                "a state error".to_owned(),
                json!({"state_error": true}),
            ),
            Err(e) => return Err(e),
        };
        let state: Value = serde_json::from_str(&self.state).unwrap_or(Value::Null);
        let request = match std::str::from_utf8(&self.request) {
            Ok(text) => ("request", json!(text)),
            Err(_) => ("request_hex", json!(hex(&self.request))),
        };
        let rules: Vec<&str> = rules.iter().map(|r| r.as_str()).collect();
        let members = [
            (
                "description",
                json!(format!(
                    "{description} Expected by the reference: {summary}."
                )),
            ),
            ("rules", json!(rules)),
            ("state", state),
            (request.0, request.1),
            ("options", options_value(&self.options)),
            ("now", json!(self.now)),
            ("seed", json!(self.seed)),
            ("expected", expected),
        ];
        // Members in the order docs/VECTORS.md shows them.
        let mut out = String::from("{");
        for (i, (name, value)) in members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}:{}", json!(name), value);
        }
        out.push('}');
        Ok(out)
    }
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
    let d = CaseOptions::default();
    let mut m = Map::new();
    if let Some(p) = &o.prefer {
        m.insert("prefer".into(), json!(p));
    }
    if o.max_items != d.max_items {
        m.insert("max_items".into(), json!(o.max_items));
    }
    if o.max_bytes != d.max_bytes {
        m.insert("max_bytes".into(), json!(o.max_bytes));
    }
    if o.max_depth != d.max_depth {
        m.insert("max_depth".into(), json!(o.max_depth));
    }
    Value::Object(m)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
