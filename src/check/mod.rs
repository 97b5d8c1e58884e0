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
    let parsed = Request::parse(request, options);
    let (expected, binding, clock) = match &parsed {
        Err(error) => {
            let response = error.response();
            let expected = Expected {
                status: response.status,
                body: response.body,
                state: state_after.as_ref().map(|_| before.to_json()),
                outcomes: Vec::new(),
                refusal: Some(error.rule),
            };
            (expected, Binding::default(), default_time())
        }
        Ok(request) => reference(
            before,
            request,
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
    let clock_text = clock.to_string();
    let clock_ns = instant(&clock_text).unwrap_or_default();
    let mut walk = Walk {
        now: Some((clock_text.as_str(), clock_ns)),
        window_ns: (settings.time_window_secs.max(0.0) * 1e9) as i128,
        rule_at: &|p: &str| rules.rule_at(p),
        out: &mut differences,
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
    let (differences, more) = judge(differences, &expected, request, settings, &rules);
    tolerated.extend(more);
    Verdict {
        conformant: differences.is_empty(),
        differences,
        tolerated,
        expected,
        binding,
    }
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
