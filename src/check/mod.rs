//! The reference check: judges an observed restore-session exchange against the reference,
//! exact where the rules decide and free exactly where a server is free (rule C1).
//!
//! A server chooses the ids of new standard artifacts (rule A7), the time it stamps
//! (`createdDateTime`, `lastModifiedDateTime`) and the caller's identity (`lastModifiedBy`).
//! [`check`] takes those from the observed answer and nothing else, computes the reference answer
//! with them, and compares the rest exactly: objects without regard to member order, numbers by
//! value, arrays by position. Each difference names a JSON pointer into the observed answer
//! (`/status`, `/body/…`, `/state/…`), the expected and observed values, a kind, and the rule
//! that decided the expected value. A [`Profile`] tolerates named kinds of difference (reported
//! as tolerated, never hidden).
//!
//! ```
//! use restore_delta::check::{check, Observed, Settings};
//! use restore_delta::{Options, Session};
//! let before = Session::from_json(br##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession",
//!     "id":"s1","status":"draft"}"##).unwrap();
//! let request = br#"{"mailboxRestoreArtifacts@delta":[
//!     {"restorePoint":{"id":"rp1"},"destinationType":"new"}]}"#;
//! // What a server answered: its own id and its own clock.
//! let body = br##"{"@odata.type":"#microsoft.graph.exchangeRestoreSession","id":"s1",
//!     "status":"draft","restoreJobType":"standard","lastModifiedDateTime":"2026-11-28T12:00:00.000Z",
//!     "mailboxRestoreArtifacts@delta":[{"id":"server-made-1","restorePoint":{"id":"rp1"},
//!     "destinationType":"new","status":"added","createdDateTime":"2026-11-28T12:00:00.2Z"}]}"##;
//! let verdict = check(&before, request, &Options::default(),
//!     &Observed::new(200, Some(body)), &Settings::default());
//! assert!(verdict.conformant, "{verdict}");
//! assert_eq!(verdict.binding.ids, ["server-made-1"]);
//! ```

mod attribution;
mod bind;
mod diff;
mod fast;
mod tolerance;
mod types;

pub use types::{
    Binding, Difference, DifferenceKind, Expected, Ignore, Observed, Profile, Settings, Tolerated,
    Verdict,
};

use serde_json::json;

use crate::engine::options::Options;
use crate::engine::outcome::ItemOutcome;
use crate::engine::request::Request;
use crate::json::borrowed::{self, Json};
use crate::model::session::Session;
use crate::rule::RuleId;
use attribution::{RuleMap, alignment};
use bind::{default_time, reference};
use diff::{Seg, Walk, instant, token};
use tolerance::judge;

/// Judges an observed exchange: the session `before` it, the request body and options, and
/// what the server answered (rules C1–C3).
pub fn check(
    before: &Session,
    request: &[u8],
    options: &Options,
    observed: &Observed<'_>,
    settings: &Settings,
) -> Verdict {
    let mut differences = Vec::new();
    let window_ns = (settings.time_window_secs.max(0.0) * 1e9) as i128;
    // The common case, an answer spelled as the reference spells it: judged without a tree.
    let parsed = Request::parse(request, options);
    // Read once for both paths: text spelled like a placeholder id is echoed, not bound.
    let placeholder_text = parsed.is_ok() && bind::holds_placeholder_text(request, before);
    if let (Ok(parsed), Some(observed_body), None) = (&parsed, observed.body, observed.state_after)
        && observed_body.len() <= settings.max_body_bytes
        && observed.status == 200
        && let Some((expected, binding, _)) = fast::judge(
            before,
            parsed,
            request,
            placeholder_text,
            options,
            observed_body,
            window_ns,
        )
    {
        #[cfg(test)]
        fast::judged::count();
        return finish(
            differences,
            expected,
            binding,
            None,
            observed,
            request,
            settings,
            &RuleMap::empty(),
            Vec::new(),
        );
    }
    let body = parse_observed(
        observed.body,
        settings.max_body_bytes,
        "/body",
        &mut differences,
    );
    let state_after = parse_observed(
        observed.state_after,
        settings.max_state_bytes,
        "/state",
        &mut differences,
    );
    let (expected, binding, clock) = match &parsed {
        Err(error) => {
            let response = error.response();
            let expected = Expected {
                status: response.status,
                body: response.body,
                state: state_after.as_ref().map(|_| before.to_json()),
                outcomes: Vec::new(),
                preference_applied: response.preference_applied,
                refusal: Some(error.rule),
            };
            (expected, Binding::default(), default_time())
        }
        Ok(parsed_request) => reference(
            before,
            parsed_request,
            placeholder_text,
            options,
            body.as_ref(),
            // A server that refused the request changed nothing: its state after shows no id.
            state_after
                .as_ref()
                .filter(|_| matches!(observed.status, 200 | 204)),
            state_after.is_some(),
            &mut differences,
        ),
    };
    let clock_text = clock.to_string();
    let clock_ns = instant(&clock_text).unwrap_or_default();
    let edited = parsed
        .as_ref()
        .ok()
        .and_then(|r| r.edited_collection(before.kind()));
    // The reference's texts, read as trees borrowing from them.
    let expected_body = expected
        .body
        .as_ref()
        .and_then(|b| borrowed::parse(b.get(), OBSERVED_DEPTH).ok());
    let expected_state = expected
        .state
        .as_ref()
        .and_then(|t| borrowed::parse(t, OBSERVED_DEPTH).ok());
    let rules = RuleMap::new(
        &expected,
        expected_body.as_ref(),
        body.as_ref(),
        settings.profile,
        edited,
    );
    let mut walk = Walk {
        now: Some((clock_text.as_str(), clock_ns)),
        window_ns,
        rule_at: &|p: &str| rules.rule_at(p),
        out: &mut differences,
        created_by: None,
    };
    if expected.status != observed.status {
        walk.out.push(Difference {
            pointer: "/status".into(),
            kind: DifferenceKind::Status,
            expected: Some(json!(expected.status)),
            observed: Some(json!(observed.status)),
            rule: rules.rule_at("/status"),
        });
    }
    let mut tolerated = Vec::new();
    compare_body(
        &mut walk,
        settings.profile,
        &expected,
        (expected_body.as_ref(), body.as_ref()),
        observed.body.is_some(),
        &rules,
        &mut tolerated,
    );
    if let (Some(e), Some(o)) = (&expected_state, &state_after) {
        walk.values(&mut vec![Seg::Key("state")], e, o);
    }
    let created_by = walk.created_by.take();
    finish(
        differences,
        expected,
        binding,
        created_by,
        observed,
        request,
        settings,
        &rules,
        tolerated,
    )
}

/// The verdict from the differences the walk found: the `Preference-Applied` header judged,
/// the free choices set apart, the tolerated differences set apart.
#[allow(clippy::too_many_arguments)]
fn finish(
    mut differences: Vec<Difference>,
    expected: Expected,
    mut binding: Binding,
    created_by: Option<serde_json::Value>,
    observed: &Observed<'_>,
    request: &[u8],
    settings: &Settings,
    rules: &RuleMap,
    mut tolerated: Vec<Tolerated>,
) -> Verdict {
    binding.created_by = created_by;
    if let Some(observed_header) = observed.preference_applied {
        preference_applied(
            expected.preference_applied.as_deref(),
            observed_header,
            &mut differences,
        );
    }
    free_choices(&mut differences, &mut binding);
    let (differences, more) = judge(differences, &expected, request, settings, rules);
    tolerated.extend(more);
    Verdict {
        conformant: differences.is_empty(),
        differences,
        tolerated,
        expected,
        binding,
    }
}

/// The server's free choice the walk met as a difference (rule C1): an error's `innerError`,
/// when it is an object (its value goes to the binding); anything else there is a difference.
/// (The walk itself binds `createdBy`.)
fn free_choices(differences: &mut Vec<Difference>, binding: &mut Binding) {
    if differences.is_empty() {
        return;
    }
    differences.retain_mut(|d| {
        let object = matches!(d.observed, Some(serde_json::Value::Object(_)));
        match d.pointer.as_str() {
            "/body/error/innerError" => match d.kind {
                DifferenceKind::Extra if object => {
                    binding.inner_error = d.observed.take();
                    false
                }
                DifferenceKind::Extra => {
                    d.kind = DifferenceKind::Value;
                    d.expected = Some(json!("an object (innerError)"));
                    d.rule = Some(RuleId::O2);
                    true
                }
                _ => true,
            },
            _ => true,
        }
    });
}

/// Rule O8: the observed `Preference-Applied` header against the reference's, as sets of
/// preferences (names and values without regard to ASCII case, quotes around a value
/// dropped; RFC 7240 gives the list no order).
fn preference_applied(expected: Option<&str>, observed: Option<&str>, out: &mut Vec<Difference>) {
    fn items(v: &str) -> Vec<String> {
        let mut all: Vec<String> = v
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                let p = p.to_ascii_lowercase();
                match p.split_once('=') {
                    Some((name, value)) => {
                        let value = value.trim();
                        let value = value
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .unwrap_or(value);
                        format!("{}={value}", name.trim())
                    }
                    None => p,
                }
            })
            .collect();
        all.sort();
        all
    }
    let (e, o) = (
        expected.map(items).filter(|v| !v.is_empty()),
        observed.map(items).filter(|v| !v.is_empty()),
    );
    let kind = match (&e, &o) {
        (None, None) => return,
        (Some(a), Some(b)) if a == b => return,
        (Some(_), Some(_)) => DifferenceKind::Value,
        (Some(_), None) => DifferenceKind::Missing,
        (None, Some(_)) => DifferenceKind::Extra,
    };
    out.push(Difference {
        pointer: "/headers/Preference-Applied".into(),
        kind,
        expected: expected.map(|v| json!(v)),
        observed: observed.map(|v| json!(v)),
        rule: Some(RuleId::O8),
    });
}

/// The observed body or state as a JSON tree; a text that is not JSON is a difference.
fn parse_observed<'a>(
    bytes: Option<&'a [u8]>,
    limit: usize,
    pointer: &str,
    out: &mut Vec<Difference>,
) -> Option<Json<'a>> {
    let bytes = bytes?;
    let not_json = |error: String, out: &mut Vec<Difference>| {
        let start = String::from_utf8_lossy(bytes.get(..200).unwrap_or(bytes)).into_owned();
        out.push(Difference {
            pointer: pointer.to_owned(),
            kind: DifferenceKind::NotJson,
            expected: None,
            observed: Some(json!({ "error": error, "start": start })),
            rule: Some(RuleId::O3),
        });
    };
    if bytes.len() > limit {
        let error = format!(
            "{} bytes, over the limit of {limit} bytes (not read)",
            bytes.len()
        );
        not_json(error, out);
        return None;
    }
    let parsed = std::str::from_utf8(bytes)
        .map_err(|e| format!("not UTF-8: {e}"))
        .and_then(|text| borrowed::parse(text, OBSERVED_DEPTH).map_err(|e| e.to_string()));
    match parsed {
        Ok(v) => Some(v),
        Err(error) => {
            not_json(error, out);
            None
        }
    }
}

/// The deepest nesting of an observed body or state that is read.
const OBSERVED_DEPTH: usize = 512;

/// The body comparison: entries aligned as the profile allows.
fn compare_body(
    walk: &mut Walk<'_>,
    profile: Profile,
    expected: &Expected,
    (expected_body, body): (Option<&Json<'_>>, Option<&Json<'_>>),
    observed_has_body: bool,
    rules: &RuleMap,
    tolerated: &mut Vec<Tolerated>,
) {
    let Some(e) = expected_body else {
        if observed_has_body {
            walk.record(&[Seg::Key("body")], DifferenceKind::Extra, None, body);
        }
        return;
    };
    let Some(o) = body else {
        if !observed_has_body {
            walk.record(&[Seg::Key("body")], DifferenceKind::Missing, Some(e), None);
        }
        return;
    };
    let mut path = vec![Seg::Key("body")];
    let (Some(d), Json::Object(em), Json::Object(om)) = (&rules.delta, e, o) else {
        walk.values(&mut path, e, o);
        return;
    };
    // The entries first (each item's outcome), then the session members around them.
    path.push(Seg::Key(d.as_str()));
    match (em.get(d.as_str()), om.get(d.as_str())) {
        (Some(Json::Array(e)), Some(Json::Array(o))) => {
            let align = alignment(&expected.outcomes, Some(o), profile);
            for (i, ev) in e.iter().enumerate() {
                match align.get(i).copied().flatten() {
                    Some(j) => {
                        path.push(Seg::Index(j));
                        match o.get(j) {
                            Some(ov) => walk.values(&mut path, ev, ov),
                            None => walk.record(&path, DifferenceKind::Missing, Some(ev), None),
                        }
                        path.pop();
                    }
                    None => tolerated.push(Tolerated {
                        difference: Difference {
                            pointer: format!("/body/{}/-", token(d)),
                            kind: DifferenceKind::Missing,
                            expected: Some(ev.to_value()),
                            observed: None,
                            rule: expected.outcomes.get(i).map(ItemOutcome::rule),
                        },
                        reason: "docs: a successful removal left out of the response".into(),
                    }),
                }
            }
            let used = align.iter().flatten().count();
            for (j, ov) in o.iter().enumerate().skip(used) {
                path.push(Seg::Index(j));
                walk.record(&path, DifferenceKind::Extra, None, Some(ov));
                path.pop();
            }
        }
        (e, o) => walk.values(
            &mut path,
            e.unwrap_or(&Json::Null),
            o.unwrap_or(&Json::Null),
        ),
    }
    path.pop();
    walk.objects(&mut path, em, om, Some(d.as_str()));
}
