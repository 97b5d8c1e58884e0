//! The HTTP face: Graph's paths under `/v1.0/solutions/backupRestore/` and
//! `/beta/solutions/backupRestore/`, the server's own under `/_restore-delta/`, the headers
//! Graph clients read, authentication, the body limit and injected faults.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, OriginalUri, Path, Query, Request as HttpRequest, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use restore_delta::{IdSource, Options, SeededIds, SessionKind, Timestamp};

use crate::faults::Faults;
use crate::graph::{self, Page, Reply};
use crate::store::{PatchInputs, Store};

/// The `Content-Type` of every JSON answer, as Graph writes it.
pub const JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// The prefix of the server's own endpoints: no Graph path starts with `_`.
pub const CONTROL: &str = "/_restore-delta";

/// The default and largest page of a list (`$top`).
pub const PAGE_DEFAULT: usize = 100;
/// The largest `$top` honoured; larger values are cut to it (server-driven paging).
pub const PAGE_MAX: usize = 1000;

/// What every handler shares.
pub struct App {
    /// The sessions.
    pub store: Store,
    /// `--token`: the bearer token every request but the health check must carry.
    pub token: Option<String>,
    /// Injected faults.
    pub faults: Faults,
    /// Where request ids come from (seeded by `--seed`).
    pub request_ids: std::sync::Mutex<SeededIds>,
    /// How long a client may take to send a body.
    pub body_timeout: Duration,
}

/// Per-request facts the middleware sets and the handlers read.
#[derive(Clone, Debug)]
struct Meta {
    request_id: String,
    client_request_id: Option<String>,
    now: Timestamp,
}

type Shared = Arc<App>;

/// The router: Graph's paths, the control paths, and a Graph-shaped 404 for anything else.
pub fn router(app: Shared) -> Router {
    let graph_routes = Router::new()
        .route("/{set}", get(list).post(create))
        .route(
            "/{set}/{id}",
            get(get_session).patch(patch).delete(delete_session),
        )
        .route("/{set}/{id}/{sub}", get(artifacts).post(action));
    let control = Router::new()
        .route("/health", get(health))
        .route("/reset", post(reset))
        .route("/sessions/{id}", get(state))
        .route("/sessions/{id}/advance", post(advance));
    Router::new()
        .nest("/v1.0/solutions/backupRestore", graph_routes.clone())
        .nest("/beta/solutions/backupRestore", graph_routes)
        .nest(CONTROL, control)
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(app.clone(), envelope))
        .with_state(app)
}

/// Serves `app` on `listener` until the process ends: HTTP/1.1, each connection on its own
/// task; a client that takes longer than `client_timeout` to send its headers is disconnected
/// (its body has the same time: [`App::body_timeout`]).
pub async fn serve(listener: tokio::net::TcpListener, app: Shared, client_timeout: Duration) {
    let service = TowerToHyperService::new(router(app));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, most often: wait, then take connections again.
                eprintln!("restore-delta-server: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(client_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The server's clock: the system time, to the microsecond (Graph's timestamps carry seven
/// decimals at most). A clock before 1970 or past 9999 reads as the epoch.
pub fn clock() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(0);
    let micros = since.subsec_micros() * 1000;
    Timestamp::from_unix(secs, micros)
        .or_else(|_| Timestamp::from_unix(0, 0))
        .unwrap_or_else(|e| panic!("the epoch is a timestamp: {e}"))
}

/// Every request: ids, authentication, faults, latency; every answer: Graph's headers.
async fn envelope(State(app): State<Shared>, mut req: HttpRequest, next: Next) -> Response {
    let request_id = app
        .request_ids
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .next_id();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let meta = Meta {
        request_id,
        client_request_id,
        now: clock(),
    };
    let path = req.uri().path().to_owned();
    let is_control = path.starts_with(CONTROL);
    let early = if path == format!("{CONTROL}/health") {
        None
    } else if !authorized(app.token.as_deref(), req.headers()) {
        let mut reply = Reply::error(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty or not valid.",
        );
        reply.retry_after = None;
        Some(reply)
    } else if is_control {
        None
    } else {
        app.faults.draw().await
    };
    let mut response = match early {
        Some(reply) => finish(&meta, reply),
        None => {
            req.extensions_mut().insert(meta.clone());
            next.run(req).await
        }
    };
    let unauthorized = response.status() == StatusCode::UNAUTHORIZED;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&meta.request_id) {
        headers.insert("request-id", v);
    }
    if let Some(c) = meta
        .client_request_id
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        headers.insert("client-request-id", c);
    }
    headers.insert("OData-Version", HeaderValue::from_static("4.0"));
    if unauthorized {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"restore-delta\""),
        );
    }
    response
}

fn authorized(token: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(token) = token else {
        return true;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        })
        .is_some_and(|(_, t)| t.trim() == token)
}

/// Turns a reply into the HTTP answer: `innerError` on errors, `Preference-Applied`,
/// `Retry-After`, Graph's content type.
fn finish(meta: &Meta, reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = Response::builder().status(status);
    if let Some(p) = &reply.preference_applied {
        builder = builder.header("Preference-Applied", p.as_str());
    }
    if let Some(s) = reply.retry_after {
        builder = builder.header(header::RETRY_AFTER, s.to_string());
    }
    let body = match reply.body {
        Some(body) => {
            builder = builder.header(header::CONTENT_TYPE, JSON);
            let body = if reply.error {
                graph::with_inner_error(
                    &body,
                    &meta.request_id,
                    &meta.now.to_string(),
                    meta.client_request_id.as_deref(),
                )
            } else {
                body
            };
            Body::from(body)
        }
        None => Body::empty(),
    };
    builder.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// Which sessions a path's set names: one kind, or every kind (`restoreSessions`); `Err` for a
/// set Graph does not have.
fn scope(set: &str) -> Result<Option<SessionKind>, Reply> {
    if set == "restoreSessions" {
        Ok(None)
    } else {
        graph::kind_of_set(set)
            .map(Some)
            .ok_or_else(graph::not_found_path)
    }
}

/// Reads a body, never more than `limit + 1` bytes (rule E1 decides on the rest).
///
/// A `Content-Length` over the limit is refused before a byte is read, so a client that sent
/// `Expect: 100-continue` never sends its body. A body that grows past the limit as it is read
/// (chunked) is refused when it does; the rest of it is read and thrown away in the background
/// (up to 64 times the limit, or the body timeout) so that the client, still sending, can read
/// the 413 instead of seeing its connection reset.
async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Vec<u8>, Reply> {
    let limit = app.store.max_body_bytes();
    let too_large = || {
        Reply::error(
            413,
            "RequestEntityTooLarge",
            &format!("The request body is larger than the limit of {limit} bytes."),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = body;
    let mut bytes = Vec::with_capacity(declared.map_or(8 * 1024, |n| n as usize));
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| {
                Reply::error(400, "BadRequest", "The request body could not be read.")
            })?;
            if let Ok(data) = frame.into_data() {
                bytes.extend_from_slice(&data);
                if bytes.len() > limit {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    };
    match tokio::time::timeout(app.body_timeout, read).await {
        Err(_) => Err(Reply::error(
            408,
            "RequestTimeout",
            "The request body was not received in time.",
        )),
        Ok(Err(reply)) => Err(reply),
        Ok(Ok(true)) => Ok(bytes),
        Ok(Ok(false)) => {
            let budget = limit.saturating_mul(64);
            let timeout = app.body_timeout;
            tokio::spawn(async move {
                let drain = async {
                    let mut seen = 0usize;
                    while let Some(Ok(frame)) = body.frame().await {
                        if let Ok(data) = frame.into_data() {
                            seen = seen.saturating_add(data.len());
                            if seen > budget {
                                break;
                            }
                        }
                    }
                };
                let _ = tokio::time::timeout(timeout, drain).await;
            });
            Err(too_large())
        }
    }
}

fn prefer_values(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// Options for reading: `Prefer: include-unknown-enum-members` (rule O7).
fn read_options(headers: &HeaderMap) -> Options {
    prefer_values(headers)
        .iter()
        .fold(Options::default(), |o, p| o.with_prefer(p))
}

/// The service roots a `restorePoint@odata.id` may use on this server (rule A2): the address
/// the client used, from `Host`.
fn roots(headers: &HeaderMap) -> Vec<String> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| {
            vec![
                format!("http://{host}/v1.0/"),
                format!("http://{host}/beta/"),
            ]
        })
        .unwrap_or_default()
}

#[derive(serde::Deserialize, Default)]
struct PageQuery {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

/// The page a query asks for; `$top` above [`PAGE_MAX`] is cut to it, a bad one is a 400.
fn page(headers: &HeaderMap, path: &str, query: &PageQuery) -> Result<Page, Reply> {
    let bad = |what: &str| Reply::error(400, "BadRequest", &format!("Invalid {what}."));
    let top = match &query.top {
        None => PAGE_DEFAULT,
        Some(t) => match t.parse::<usize>() {
            Ok(n) => n.min(PAGE_MAX),
            Err(_) => return Err(bad("$top")),
        },
    };
    let skip = match &query.skiptoken {
        None => 0,
        Some(t) => t.parse::<usize>().map_err(|_| bad("$skiptoken"))?,
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let base = format!("http://{host}{path}");
    let version = if path.starts_with("/beta/") {
        "beta"
    } else {
        "v1.0"
    };
    let context = format!(
        "http://{host}/{version}/$metadata#{}",
        path.split_once("/solutions/")
            .map(|(_, rest)| format!("solutions/{rest}"))
            .unwrap_or_default()
    );
    let mut next_link = format!("{base}?$skiptoken={}", skip.saturating_add(top));
    if query.top.is_some() {
        next_link.push_str(&format!("&$top={top}"));
    }
    Ok(Page {
        skip,
        top,
        context,
        next_link,
    })
}

/// A Graph call: its [`Meta`], and the sessions its path's set names (one kind, or every kind
/// under `restoreSessions`). A set Graph does not have is answered 404 before the handler runs.
struct Call {
    meta: Meta,
    kind: Option<SessionKind>,
}

impl<S: Send + Sync> FromRequestParts<S> for Call {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let meta = parts
            .extensions
            .get::<Meta>()
            .cloned()
            .unwrap_or_else(fallback_meta);
        // Inside the nested router the path starts at the set: `/{set}/…`.
        let set = parts
            .uri
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        match scope(set) {
            Ok(kind) => Ok(Call { meta, kind }),
            Err(reply) => Err(finish(&meta, reply)),
        }
    }
}

impl Call {
    fn answer(&self, reply: Reply) -> Response {
        finish(&self.meta, reply)
    }

    /// The answer of an operation on one session (create, get, activate): a success body gets
    /// `@odata.context` first, as Graph writes it (`…/$metadata#solutions/backupRestore/{set}/$entity`).
    fn answer_entity(&self, mut reply: Reply, headers: &HeaderMap, uri: &Uri) -> Response {
        if let (false, Some(body)) = (reply.error, reply.body.as_mut()) {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let path = uri.path();
            let version = if path.starts_with("/beta/") {
                "beta"
            } else {
                "v1.0"
            };
            let set = path.split('/').nth(4).unwrap_or("restoreSessions");
            let context =
                format!("http://{host}/{version}/$metadata#solutions/backupRestore/{set}/$entity");
            if let Some(rest) = body.strip_prefix('{') {
                let sep = if rest.starts_with('}') { "" } else { "," };
                *body = format!(
                    "{{\"@odata.context\":{}{sep}{rest}",
                    serde_json::Value::from(context)
                );
            }
        }
        self.answer(reply)
    }
}

/// `POST …RestoreSessions`: create.
async fn create(
    State(app): State<Shared>,
    call: Call,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Body,
) -> Response {
    let body = match read_body(&app, &headers, body).await {
        Ok(b) => b,
        Err(reply) => return call.answer(reply),
    };
    let Some(kind) = call.kind.or_else(|| kind_in_body(&body)) else {
        return call.answer(Reply::error(
            400,
            "BadRequest",
            "A session created under restoreSessions needs an @odata.type naming its kind.",
        ));
    };
    let reply = app.store.create(kind, &body, call.meta.now).await;
    call.answer_entity(reply, &headers, &uri)
}

/// The kind the body's `@odata.type` names (create under `restoreSessions`).
fn kind_in_body(body: &[u8]) -> Option<SessionKind> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    SessionKind::from_odata_type(value.get("@odata.type")?.as_str()?)
}

/// `GET …RestoreSessions`: list, paged.
async fn list(
    State(app): State<Shared>,
    call: Call,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let reply = match page(&headers, uri.path(), &query) {
        Ok(page) => {
            let options = read_options(&headers);
            app.store
                .list(call.kind, page, call.meta.now, &options)
                .await
        }
        Err(reply) => reply,
    };
    call.answer(reply)
}

/// `GET …/{id}`.
async fn get_session(
    State(app): State<Shared>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let options = read_options(&headers);
    let reply = app.store.get(&id, call.kind, call.meta.now, &options).await;
    call.answer_entity(reply, &headers, &uri)
}

/// `PATCH …/{id}`: the crate's apply.
async fn patch(
    State(app): State<Shared>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(&app, &headers, body).await {
        Ok(b) => b,
        Err(reply) => return call.answer(reply),
    };
    let inputs = PatchInputs {
        prefer: prefer_values(&headers),
        roots: roots(&headers),
        now: call.meta.now,
    };
    call.answer(app.store.patch(&id, call.kind, &bytes, inputs).await)
}

/// `DELETE …/{id}`.
async fn delete_session(
    State(app): State<Shared>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    call.answer(app.store.delete(&id, call.kind, call.meta.now).await)
}

/// `GET …/{id}/{collection}`: a page of artifacts.
async fn artifacts(
    State(app): State<Shared>,
    call: Call,
    Path((_, id, sub)): Path<(String, String, String)>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let reply = match page(&headers, uri.path(), &query) {
        Ok(page) => {
            app.store
                .artifacts(&id, call.kind, &sub, page, call.meta.now)
                .await
        }
        Err(reply) => reply,
    };
    call.answer(reply)
}

/// `POST …/{id}/activate` (also as `microsoft.graph.activate`, the bound action's full name).
async fn action(
    State(app): State<Shared>,
    call: Call,
    Path((_, id, sub)): Path<(String, String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Body,
) -> Response {
    if sub != "activate" && sub != "microsoft.graph.activate" {
        return call.answer(graph::not_found_path());
    }
    // The action takes no parameters; the body (usually empty) is read and not used.
    if let Err(reply) = read_body(&app, &headers, body).await {
        return call.answer(reply);
    }
    let reply = app.store.activate(&id, call.kind, call.meta.now).await;
    call.answer_entity(reply, &headers, &uri)
}

async fn health(
    State(app): State<Shared>,
    axum::Extension(meta): axum::Extension<Meta>,
) -> Response {
    let body = serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "sessions": app.store.session_count(),
    });
    finish(&meta, Reply::json(200, body.to_string()))
}

async fn reset(
    State(app): State<Shared>,
    axum::Extension(meta): axum::Extension<Meta>,
) -> Response {
    finish(&meta, app.store.reset().await)
}

async fn state(
    State(app): State<Shared>,
    axum::Extension(meta): axum::Extension<Meta>,
    Path(id): Path<String>,
) -> Response {
    finish(&meta, app.store.state(&id, meta.now).await)
}

async fn advance(
    State(app): State<Shared>,
    axum::Extension(meta): axum::Extension<Meta>,
    Path(id): Path<String>,
) -> Response {
    finish(&meta, app.store.step(&id, meta.now).await)
}

async fn unknown_path(req: HttpRequest) -> Response {
    finish(&meta_of(&req), graph::not_found_path())
}

async fn wrong_method(req: HttpRequest) -> Response {
    let reply = Reply::error(
        405,
        "MethodNotAllowed",
        &format!("{} is not allowed on this resource.", req.method()),
    );
    finish(&meta_of(&req), reply)
}

fn meta_of(req: &HttpRequest) -> Meta {
    req.extensions()
        .get::<Meta>()
        .cloned()
        .unwrap_or_else(fallback_meta)
}

/// The meta of a request the middleware did not see (none: it wraps every route).
fn fallback_meta() -> Meta {
    Meta {
        request_id: String::new(),
        client_request_id: None,
        now: clock(),
    }
}
