//! Graph's shapes: entity sets, answers, errors and pages.

use restore_delta::{Response, SessionKind};

/// The entity set of each kind under `solutions/backupRestore`.
pub fn set_of_kind(kind: SessionKind) -> &'static str {
    match kind {
        SessionKind::OneDriveForBusiness => "oneDriveForBusinessRestoreSessions",
        SessionKind::SharePoint => "sharePointRestoreSessions",
        SessionKind::Exchange => "exchangeRestoreSessions",
        _ => "restoreSessions",
    }
}

/// The kind whose entity set is `set` (exactly as Graph spells it; paths are case-sensitive).
pub fn kind_of_set(set: &str) -> Option<SessionKind> {
    SessionKind::ALL
        .into_iter()
        .find(|k| set_of_kind(*k) == set)
}

/// An answer before the HTTP layer adds its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The JSON body, if any.
    pub body: Option<String>,
    /// `Preference-Applied`, if any.
    pub preference_applied: Option<String>,
    /// The body is a Graph error (`{"error": {…}}`) that gets `innerError` added.
    pub error: bool,
    /// `Retry-After` in seconds (injected faults).
    pub retry_after: Option<u32>,
    /// Other headers (`Allow`, `Connection: close`).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: String) -> Reply {
        Reply {
            status,
            body: Some(body),
            preference_applied: None,
            error: false,
            retry_after: None,
            headers: Vec::new(),
        }
    }

    /// An answer without a body (204).
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            preference_applied: None,
            error: false,
            retry_after: None,
            headers: Vec::new(),
        }
    }

    /// The engine's response, as it is.
    pub fn engine(response: Response) -> Reply {
        Reply {
            status: response.status,
            error: response.status >= 400,
            body: response.body.map(|b| b.into_string()),
            preference_applied: response.preference_applied,
            retry_after: None,
            headers: Vec::new(),
        }
    }

    /// A Graph error whose body (`{"error":{"code","message"}}`) is already rendered.
    pub fn graph_error(status: u16, body: String) -> Reply {
        Reply {
            status,
            body: Some(body),
            preference_applied: None,
            error: true,
            retry_after: None,
            headers: Vec::new(),
        }
    }

    /// The same answer with one more header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// A Graph error from its code and message.
    pub fn error(status: u16, code: &str, message: &str) -> Reply {
        let body = serde_json::json!({"error": {"code": code, "message": message}});
        Reply::graph_error(status, body.to_string())
    }
}

/// 404 for a path Graph does not have (Graph answers `BadRequest` "Resource not found for the
/// segment …" for some of these; a 404 tells a client's author the same thing more plainly).
pub fn not_found_path() -> Reply {
    Reply::error(
        404,
        "UnknownPath",
        "No Backup Storage resource at this path.",
    )
}

/// Adds `innerError` (`date`, `request-id`, `client-request-id`) to an error body, in Graph's
/// order: `code`, `message`, `innerError`, then any other member (`details`) as it was.
pub fn with_inner_error(
    body: &str,
    request_id: &str,
    date: &str,
    client_request_id: Option<&str>,
) -> String {
    let Ok(outer) = serde_json::from_str::<Members>(body) else {
        return body.to_owned();
    };
    let [(name, error)] = outer.0.as_slice() else {
        return body.to_owned();
    };
    let Ok(members) = serde_json::from_str::<Members>(error.get()) else {
        return body.to_owned();
    };
    if name != "error" {
        return body.to_owned();
    }
    // Graph's order inside too: date, request-id, client-request-id.
    let text = |v: &str| serde_json::Value::from(v).to_string();
    let mut inner = format!(
        "{{\"date\":{},\"request-id\":{}",
        text(date),
        text(request_id)
    );
    if let Some(c) = client_request_id {
        inner.push_str(&format!(",\"client-request-id\":{}", text(c)));
    }
    inner.push('}');
    let rank = |n: &str| match n {
        "code" => 0,
        "message" => 1,
        _ => 3,
    };
    let mut ordered: Vec<(&str, &str)> = members
        .0
        .iter()
        .filter(|(n, _)| n != "innerError")
        .map(|(n, v)| (n.as_str(), v.get()))
        .collect();
    ordered.push(("innerError", inner.as_str()));
    ordered.sort_by_key(|(n, _)| if *n == "innerError" { 2 } else { rank(n) });
    let mut out = String::from("{\"error\":{");
    for (i, (n, v)) in ordered.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(*n).to_string());
        out.push(':');
        out.push_str(v);
    }
    out.push_str("}}");
    out
}

/// A JSON object's members in the order written, their values as written.
pub(crate) struct Members(pub(crate) Vec<(String, Box<serde_json::value::RawValue>)>);

impl Members {
    /// The object as JSON text, members in their order, values as they were written.
    pub(crate) fn write(&self) -> String {
        let mut out = String::from("{");
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::Value::from(name.as_str()).to_string());
            out.push(':');
            out.push_str(value.get());
        }
        out.push('}');
        out
    }
}

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    out.push(pair);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_set_and_back() {
        for kind in SessionKind::ALL {
            assert_eq!(kind_of_set(set_of_kind(kind)), Some(kind));
        }
        assert_eq!(kind_of_set("restoreSessions"), None);
        assert_eq!(kind_of_set("ExchangeRestoreSessions"), None);
    }

    #[test]
    fn inner_error_is_added_inside_error() {
        let body = with_inner_error(
            r#"{"error":{"code":"X","message":"m"}}"#,
            "r1",
            "2026-11-30T00:00:00Z",
            Some("c1"),
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "X");
        assert_eq!(v["error"]["innerError"]["request-id"], "r1");
        assert_eq!(v["error"]["innerError"]["client-request-id"], "c1");
        assert_eq!(v["error"]["innerError"]["date"], "2026-11-30T00:00:00Z");
        assert!(body.ends_with(r#""innerError":{"date":"2026-11-30T00:00:00Z","request-id":"r1","client-request-id":"c1"}}}"#), "{body}");
        // Graph's member order, `details` kept after `innerError`.
        let body = with_inner_error(
            r#"{"error":{"code":"X","message":"m","details":[{"code":"Y"}]}}"#,
            "r1",
            "d",
            None,
        );
        assert_eq!(
            body,
            r#"{"error":{"code":"X","message":"m","innerError":{"date":"d","request-id":"r1"},"details":[{"code":"Y"}]}}"#
        );
        assert_eq!(with_inner_error("not json", "r", "d", None), "not json");
    }
}
