//! JSON batching (`POST /v1.0/$batch`, `/beta/$batch`), as Graph documents it: up to 20
//! requests, each answered as if it had been sent alone (the same paths, rules, journal and
//! durability), in an order their `dependsOn` allows.
//!
//! - The batch is one request to the envelope: its token, its faults and latency; the requests
//!   inside carry the batch's `Authorization` and are neither faulted nor delayed again.
//! - A request's `url` is relative to the service root (`/solutions/backupRestore/…`, with or
//!   without its leading `/`). Microsoft's JavaScript client sends `/v1.0/solutions/…` and the
//!   Python one the absolute `https://host/v1.0/solutions/…`: a leading version segment equal
//!   to the batch's own is taken off (and an origin before it); another version is a 400 of
//!   that request.
//! - `dependsOn` (also `depends_on`, as msgraph-core for Python spells it) names earlier or later
//!   requests of the batch; requests run one at a time, each as soon as the ones it depends on
//!   are done, in the order of the batch otherwise. A request whose dependency did not succeed
//!   (a status of 400 or more) is not run and is answered 424 `FailedDependency`.
//! - The batch fails whole with 400 `BadRequest` (nothing run) when it is not such an object,
//!   holds no request or more than 20, two ids equal without regard to case, a `dependsOn`
//!   names no request of the batch, or the dependencies make a circle.
//! - Answers come in the order of the batch: `{"responses":[{"id","status","headers","body"}]}`,
//!   `headers` with Graph's casing (`Content-Type`, …), `body` the JSON answer (none for 204).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, header};
use axum::response::Response;
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use tower::ServiceExt;

use super::{App, Scheme, router};
use crate::graph::Reply;

/// The most requests a batch may hold (Graph's limit).
pub const MAX_REQUESTS: usize = 20;

/// Marks a request run from inside a batch: the envelope does not fault or delay it again.
#[derive(Debug, Clone, Copy)]
pub struct Inner;

#[derive(Deserialize)]
struct Batch {
    requests: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Box<RawValue>>,
    #[serde(default, rename = "dependsOn", alias = "depends_on")]
    depends_on: Option<Vec<String>>,
}

fn bad(message: &str) -> Reply {
    Reply::error(400, "BadRequest", message)
}

/// Runs a batch: `body` is the batch's JSON, `outer` its request's headers, `version` `v1.0`
/// or `beta`. Returns the batch's answer (200 with `responses`, or a whole-batch 400).
pub async fn run(
    app: Arc<App>,
    version: &str,
    scheme: Option<Scheme>,
    outer: &HeaderMap,
    body: &[u8],
    stamp: (&str, &str),
) -> Reply {
    let batch: Batch = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => {
            return bad(&format!(
                "The batch is not a JSON object with a `requests` array of requests: {e}"
            ));
        }
    };
    let items = batch.requests;
    if items.is_empty() {
        return bad("The batch holds no request.");
    }
    if items.len() > MAX_REQUESTS {
        return bad(&format!(
            "The batch holds {} requests; at most {MAX_REQUESTS} are allowed.",
            items.len()
        ));
    }
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        if item.id.is_empty() {
            return bad(&format!("Request {i} of the batch has an empty id."));
        }
        if index.insert(item.id.to_lowercase(), i).is_some() {
            return bad(&format!(
                "The id '{}' is given to more than one request of the batch.",
                item.id
            ));
        }
    }
    let mut needs: Vec<Vec<usize>> = Vec::with_capacity(items.len());
    for item in &items {
        let mut deps = Vec::new();
        for dep in item.depends_on.iter().flatten() {
            match index.get(&dep.to_lowercase()) {
                Some(&d) => deps.push(d),
                None => {
                    return bad(&format!(
                        "Request '{}' depends on '{dep}', which is not a request of the batch.",
                        item.id
                    ));
                }
            }
        }
        needs.push(deps);
    }
    let Some(order) = schedule(&needs) else {
        return bad("The requests' dependsOn make a circle.");
    };
    let service = router(app);
    let mut statuses: Vec<Option<u16>> = vec![None; items.len()];
    let mut answers: Vec<Option<String>> = vec![None; items.len()];
    for i in order {
        let Some(item) = items.get(i) else { continue };
        let failed_dep = needs
            .get(i)
            .into_iter()
            .flatten()
            .find(|&&d| statuses.get(d).copied().flatten().is_none_or(|s| s >= 400));
        let (status, answer) = match failed_dep {
            Some(&d) => {
                let dep = items.get(d).map(|x| x.id.as_str()).unwrap_or_default();
                let reply = Reply::error(
                    424,
                    "FailedDependency",
                    &format!("The request '{dep}' this request depends on did not succeed."),
                );
                (424, entry(item, reply_parts(reply, stamp)))
            }
            None => {
                let parts = match inner_request(item, version, scheme, outer) {
                    Ok(request) => match service.clone().oneshot(request).await {
                        Ok(response) => response_parts(response).await,
                        Err(never) => match never {},
                    },
                    Err(reply) => reply_parts(reply, stamp),
                };
                (parts.0, entry(item, parts))
            }
        };
        if let Some(s) = statuses.get_mut(i) {
            *s = Some(status);
        }
        if let Some(a) = answers.get_mut(i) {
            *a = Some(answer);
        }
    }
    let mut out = String::from("{\"responses\":[");
    for (n, a) in answers.into_iter().flatten().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&a);
    }
    out.push_str("]}");
    Reply::json(200, out)
}

/// An order in which every request comes after those it depends on, the batch's order kept
/// otherwise; `None` for a circle.
fn schedule(needs: &[Vec<usize>]) -> Option<Vec<usize>> {
    let mut done = vec![false; needs.len()];
    let mut order = Vec::with_capacity(needs.len());
    while order.len() < needs.len() {
        let next = (0..needs.len()).find(|&i| {
            !done.get(i).copied().unwrap_or(true)
                && needs
                    .get(i)
                    .into_iter()
                    .flatten()
                    .all(|&d| done.get(d).copied().unwrap_or(false))
        })?;
        if let Some(d) = done.get_mut(next) {
            *d = true;
        }
        order.push(next);
    }
    Some(order)
}

/// The request a batch item stands for, or why it is refused alone.
fn inner_request(
    item: &Item,
    version: &str,
    scheme: Option<Scheme>,
    outer: &HeaderMap,
) -> Result<Request<Body>, Reply> {
    let method = Method::from_bytes(item.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| bad(&format!("'{}' is not an HTTP method.", item.method)))?;
    let path = relative(&item.url, version)?;
    let mut request = Request::builder()
        .method(method)
        .uri(format!("/{version}/{path}"))
        .body(Body::empty())
        .map_err(|e| bad(&format!("The url '{}' cannot be requested: {e}", item.url)))?;
    let headers = request.headers_mut();
    for name in [header::AUTHORIZATION, header::HOST] {
        if let Some(v) = outer.get(&name) {
            headers.insert(name, v.clone());
        }
    }
    for (name, value) in &item.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(&format!("'{name}' is not a header name.")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            bad(&format!(
                "The header '{name}' has a value that cannot be sent."
            ))
        })?;
        headers.append(name, value);
    }
    if let Some(body) = &item.body {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| ct.to_ascii_lowercase());
        let bytes = match json {
            None => {
                return Err(bad(
                    "A request with a body needs a Content-Type header (JSON batching).",
                ));
            }
            Some(ct) if ct.starts_with("application/json") => body.get().as_bytes().to_vec(),
            // Another type: the body is its bytes, base64-encoded, in a JSON string.
            Some(_) => {
                let text: String = serde_json::from_str(body.get())
                    .map_err(|_| bad("A body that is not JSON is given as a base64 string."))?;
                base64_decode(&text).ok_or_else(|| bad("The body is not valid base64."))?
            }
        };
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        *request.body_mut() = Body::from(bytes);
    }
    request.extensions_mut().insert(Inner);
    if let Some(scheme) = scheme {
        request.extensions_mut().insert(scheme);
    }
    Ok(request)
}

/// The path and query of a batch item's `url` after the version segment.
fn relative<'u>(url: &'u str, version: &str) -> Result<&'u str, Reply> {
    let mut rest = url;
    for scheme in ["https://", "http://"] {
        if let Some(r) = rest.strip_prefix(scheme) {
            rest = r.find('/').map_or("", |i| r.get(i..).unwrap_or_default());
            break;
        }
    }
    let rest = rest.trim_start_matches('/');
    let (first, after) = rest.split_once('/').unwrap_or((rest, ""));
    if first == version {
        return Ok(after);
    }
    if first == "v1.0" || first == "beta" {
        return Err(bad(&format!(
            "The url '{url}' is of the {first} endpoint; this batch is of {version}."
        )));
    }
    if first == "$batch" || first.starts_with('_') {
        return Err(bad(&format!(
            "The url '{url}' cannot be requested in a batch."
        )));
    }
    Ok(rest)
}

/// (status, headers as Graph writes them, body text)
type Parts = (u16, Vec<(&'static str, String)>, Option<String>);

/// The parts of an answer the batch gives itself (a refusal of one request, a 424), with the
/// batch's `innerError` (`stamp`: its request id and date).
fn reply_parts(reply: Reply, (request_id, date): (&str, &str)) -> Parts {
    let body = reply.body.map(|b| {
        if reply.error {
            crate::graph::with_inner_error(&b, request_id, date, None)
        } else {
            b
        }
    });
    let mut headers = Vec::new();
    if body.is_some() {
        headers.push(("Content-Type", super::JSON.to_owned()));
    }
    (reply.status, headers, body)
}

async fn response_parts(response: Response) -> Parts {
    let status = response.status().as_u16();
    let mut headers = Vec::new();
    for (name, graph_name) in [
        (header::CONTENT_TYPE, "Content-Type"),
        (HeaderName::from_static("odata-version"), "OData-Version"),
        (
            HeaderName::from_static("preference-applied"),
            "Preference-Applied",
        ),
        (header::RETRY_AFTER, "Retry-After"),
        (header::LOCATION, "Location"),
    ] {
        if let Some(v) = response.headers().get(&name).and_then(|v| v.to_str().ok()) {
            headers.push((graph_name, v.to_owned()));
        }
    }
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned());
    (status, headers, body)
}

/// One entry of `responses`.
fn entry(item: &Item, (status, headers, body): Parts) -> String {
    let mut out = format!(
        "{{\"id\":{},\"status\":{status},\"headers\":{{",
        serde_json::Value::from(item.id.as_str())
    );
    for (n, (name, value)) in headers.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{}:{}",
            serde_json::Value::from(*name),
            serde_json::Value::from(value.as_str())
        ));
    }
    out.push('}');
    if let Some(body) = body.filter(|_| status != 204) {
        // JSON as JSON; anything else as a base64 string, as Graph does.
        let is_json = serde_json::from_str::<&RawValue>(&body).is_ok();
        out.push_str(",\"body\":");
        if is_json {
            out.push_str(&body);
        } else {
            out.push_str(&serde_json::Value::from(base64_encode(body.as_bytes())).to_string());
        }
    }
    out.push('}');
    out
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                let i = ((n >> (18 - 6 * k)) & 63) as usize;
                out.push(char::from(ALPHABET.get(i).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard or URL-safe base64, padded or not.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_every_client_name_the_same_path() {
        for url in [
            "/solutions/backupRestore/restoreSessions?$top=1",
            "solutions/backupRestore/restoreSessions?$top=1",
            "/v1.0/solutions/backupRestore/restoreSessions?$top=1",
            "https://127.0.0.1:8443/v1.0/solutions/backupRestore/restoreSessions?$top=1",
        ] {
            assert_eq!(
                relative(url, "v1.0").ok(),
                Some("solutions/backupRestore/restoreSessions?$top=1"),
                "{url}"
            );
        }
        assert_eq!(
            relative("/beta/solutions/x", "v1.0").unwrap_err().status,
            400
        );
        assert_eq!(relative("/$batch", "v1.0").unwrap_err().status, 400);
        assert_eq!(
            relative("/_restore-delta/reset", "v1.0")
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn dependencies_order_the_requests_and_a_circle_is_refused() {
        assert_eq!(schedule(&[vec![], vec![], vec![]]), Some(vec![0, 1, 2]));
        assert_eq!(schedule(&[vec![2], vec![], vec![1]]), Some(vec![1, 2, 0]));
        assert_eq!(schedule(&[vec![1], vec![0]]), None);
        assert_eq!(schedule(&[vec![0]]), None);
    }

    #[test]
    fn base64_round_trips() {
        for bytes in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0xFF, 0x00, 0x7F]] {
            let text = base64_encode(bytes);
            assert_eq!(base64_decode(&text).as_deref(), Some(bytes), "{text}");
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("a*b"), None);
    }
}
