//! Rendering responses (rules O1–O4). Bytes are written in a fixed order, so they do not depend
//! on serde_json's `preserve_order` feature.

use crate::engine::error::RequestError;
use crate::engine::options::Options;
use crate::engine::outcome::{Body, ItemFailure, Operation, Response};
use crate::engine::plan::{Decision, Plan};
use crate::json::borrowed::{self, Json, Object};
use crate::json::write_str;
use crate::model::kinds::ArtifactCollection;
use crate::model::session::{Member, Session};
use serde_json::value::RawValue;

/// Content-ID annotations echoed on response entries (rule O4).
const CONTENT_IDS: [&str; 3] = [
    "@contentId",
    "@Core.ContentID",
    "@Org.OData.Core.V1.ContentID",
];

/// Members that identify a failed addition, echoed as sent (rule O3).
const ADDITION_KEYS: [&str; 6] = [
    "id",
    "itemKey",
    "browseSessionId",
    "restorePoint",
    "destinationType",
    "searchResponseId",
];

/// The answer to a refused request, written by the renderer like every other answer.
impl RequestError {
    /// The response [`apply`](crate::apply) answers with when it refuses a request with this
    /// error: its status and the body `{"error": {"code", "message"}}`. For an error of
    /// [`Request::parse`](crate::Request::parse), this is the response to send. (An atomic
    /// refusal, rule O1, also lists every failed item; its response is in
    /// [`Answer::response`](crate::Answer::response).)
    ///
    /// ```
    /// use restore_delta::{Options, Request};
    /// let error = Request::parse(b"{", &Options::default()).unwrap_err();
    /// let response = error.response();
    /// assert_eq!(response.status, 400);
    /// assert!(response.body.unwrap().get().starts_with(r#"{"error":{"code":"InvalidPatchRequest""#));
    /// ```
    pub fn response(&self) -> Response {
        Response {
            status: self.status,
            body: Some(error_body(self, &[], None)),
            preference_applied: None,
        }
    }

    /// The body of [`RequestError::response`], `{"error":{"code","message"}}`, as text.
    pub fn body(&self) -> String {
        error_body(self, &[], None).into_string()
    }
}

/// `{"error": {"code", "message"[, "details"]}}` (rules O1, O2).
pub(crate) fn error_body(
    error: &RequestError,
    details: &[(usize, &ItemFailure)],
    collection: Option<ArtifactCollection>,
) -> Body {
    let mut out = String::from("{\"error\":{\"code\":");
    write_str(&mut out, error.code.as_str());
    out.push_str(",\"message\":");
    write_str(&mut out, &error.message);
    if let (false, Some(collection)) = (details.is_empty(), collection) {
        out.push_str(",\"details\":[");
        for (n, (index, f)) in details.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str("{\"code\":");
            write_str(&mut out, f.code.as_str());
            out.push_str(",\"message\":");
            write_str(&mut out, &f.message);
            out.push_str(",\"target\":");
            write_str(&mut out, &format!("{}/{index}", collection.delta_name()));
            out.push('}');
        }
        out.push(']');
    }
    out.push_str("}}");
    Body::new(out)
}

/// The 200 body: the session's top-level members but its collections, then one entry per item
/// in request order (rule O3); `status` and `restoreJobType` as rule O7 writes them.
pub(crate) fn success_body(
    session: &Session,
    collection: ArtifactCollection,
    items: &[&Object<'_>],
    plan: &Plan<'_>,
    options: &Options,
) -> Body {
    let mut out = String::with_capacity(256 + items.len() * 256);
    out.push('{');
    // A state member spelled like the delta would repeat a name the body must hold once.
    session_members(&mut out, session, Some(collection.delta_name()), options);
    write_str(&mut out, collection.delta_name());
    out.push_str(":[");
    for (n, (item, decision)) in items.iter().zip(&plan.decisions).enumerate() {
        if n > 0 {
            out.push(',');
        }
        entry(&mut out, item, decision, plan);
    }
    out.push_str("]}");
    Body::new(out)
}

/// Writes each top-level member of `session` but its collections (and but `skip`) as
/// `"name":value,`, in state order; `status` and `restoreJobType` as rule O7 writes them.
pub(crate) fn session_members(
    out: &mut String,
    session: &Session,
    skip: Option<&str>,
    options: &Options,
) {
    for (name, member) in session.members() {
        if Some(name.as_str()) == skip {
            continue;
        }
        if let Member::Raw(raw) = member {
            session_member(out, session, name, raw, options);
        }
    }
}

/// Writes one top-level member of `session` as `"name":value,`: its stored text, but
/// `status` and `restoreJobType` as rule O7 writes them (a value after the enum's sentinel is
/// `unknownFutureValue` unless the caller asked for such members).
pub(crate) fn session_member(
    out: &mut String,
    session: &Session,
    name: &str,
    raw: &RawValue,
    options: &Options,
) {
    write_str(out, name);
    out.push(':');
    let late = raw.get() != "null"
        && match name {
            "status" => session.status().is_after_sentinel(),
            "restoreJobType" => session.restore_job_type().is_after_sentinel(),
            _ => false,
        };
    if late && !options.include_unknown_enum_members {
        out.push_str("\"unknownFutureValue\"");
    } else {
        out.push_str(raw.get());
    }
    out.push(',');
}

/// Writes `"name":value` after a comma unless it is the object's first member.
fn member(out: &mut String, first: &mut bool, name: &str, value: &Json<'_>) {
    if !std::mem::take(first) {
        out.push(',');
    }
    write_str(out, name);
    out.push(':');
    borrowed::write(out, value);
}

fn entry(out: &mut String, item: &Object<'_>, decision: &Decision<'_>, plan: &Plan<'_>) {
    out.push('{');
    let mut first = true;
    for name in CONTENT_IDS {
        if let Some(v) = item.get(name) {
            member(out, &mut first, name, v);
        }
    }
    match decision {
        Decision::Added(i) => {
            let json = plan.pending.get(*i).map_or("{}", |p| plan.json_of(p));
            let rest = json.strip_prefix('{').unwrap_or("}");
            if !first && rest != "}" {
                out.push(',');
            }
            out.push_str(rest);
            return;
        }
        Decision::Removed { id, reason, .. } => {
            if !first {
                out.push(',');
            }
            // `reason` is "changed" or "deleted": nothing to escape.
            out.push_str("\"@removed\":{\"reason\":\"");
            out.push_str(reason);
            out.push_str("\"},\"id\":");
            write_str(out, id);
        }
        Decision::Failed(f) => {
            let keys: &[&str] = match f.operation {
                Operation::Remove => &["id"],
                _ => &ADDITION_KEYS,
            };
            for name in keys {
                if let Some(v) = item.get(name) {
                    member(out, &mut first, name, v);
                }
            }
            if !first {
                out.push(',');
            }
            out.push_str("\"@Core.DataModificationException\":{\"info\":{\"code\":");
            write_str(out, f.code.as_str());
            out.push_str(",\"message\":");
            write_str(out, &f.message);
            out.push_str("},\"failedOperation\":");
            write_str(out, f.operation.as_str());
            out.push_str(",\"responseCode\":");
            out.push_str(&f.status.to_string());
            out.push('}');
        }
    }
    out.push('}');
}
