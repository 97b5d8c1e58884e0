//! The HTTP face: Graph's paths under `/v1.0/solutions/backupRestore/` and
//! `/beta/solutions/backupRestore/`, the server's own under `/_restore-delta/`, the headers
//! Graph clients read, authentication, and injected faults.
//!
//! - [`batch`]: JSON batching.
//! - [`body`]: reading a body under the limit.
//! - [`query`]: the query string and paging.
//! - [`mod@serve`]: connections (their cap, timeouts, graceful shutdown).
//!
//! Every answer, refusals included, is Graph-shaped (`{"error":{"code","message",
//! "innerError"}}` with Graph's content type): the router's own rejections never reach a
//! client. A path is matched by its shape and then by its method, here, so that a method a
//! path does not serve is 405 with an `Allow` naming exactly what it serves, and a path that
//! serves nothing is 404 whatever the method.

pub mod batch;
pub mod body;
pub mod query;
pub mod serve;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post};
use restore_delta::lifecycle::query::{Query, Target};
use restore_delta::{ArtifactCollection, IdSource, Options, SeededIds, SessionKind, Timestamp};

use crate::faults::Faults;
use crate::graph::{self, Reply};
use crate::store::{Inputs, Store};

pub use serve::{Limits, Listener, Scheme, serve, serve_all};

/// The `Content-Type` of every JSON answer, as Graph writes it.
pub const JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// The prefix of the server's own endpoints: no Graph path starts with `_`.
pub const CONTROL: &str = "/_restore-delta";

/// Where Graph's restore-session paths start, after the version segment.
const SOLUTIONS: &str = "/solutions/backupRestore";

/// The default largest `$batch` body: 4 MiB.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// The default largest state put or imported: 64 MiB.
pub const DEFAULT_MAX_STATE_BYTES: usize = 64 * 1024 * 1024;

/// What every handler shares.
pub struct App {
    /// The sessions.
    pub store: Store,
    /// The bearer token every request but the health check must carry, if one is set.
    pub token: Option<String>,
    /// Injected faults.
    pub faults: Faults,
    /// Where request ids come from (seeded by the store's run seed).
    pub request_ids: std::sync::Mutex<SeededIds>,
    /// How long a client may take to send a body.
    pub body_timeout: Duration,
    /// The largest `$batch` body (each request in it has the usual limit).
    pub max_batch_bytes: usize,
    /// The largest state put or document imported under `/_restore-delta/`.
    pub max_state_bytes: usize,
    /// The identity written as `createdBy` and `lastModifiedBy` (`--identity`).
    pub actor: Option<serde_json::Value>,
    /// `--public-url`: the scheme, host and path prefix clients reach the server by (behind a
    /// proxy), written in links instead of the scheme and `Host` of each request.
    pub public_url: Option<String>,
}

impl App {
    /// An app over `store` with no token, no faults, request ids from the store's run seed,
    /// and a 30-second body timeout.
    pub fn new(store: Store) -> App {
        let request_ids = std::sync::Mutex::new(SeededIds::new(store.run_seed()));
        App {
            store,
            token: None,
            faults: Faults::none(),
            request_ids,
            body_timeout: Duration::from_secs(30),
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            max_state_bytes: DEFAULT_MAX_STATE_BYTES,
            actor: Some(default_identity()),
            public_url: None,
        }
    }
}

/// The identity a server writes as `createdBy` and `lastModifiedBy` unless told another: an
/// application identity naming it (`identitySet` with `application` only, as Graph writes an
/// app-only caller).
pub fn default_identity() -> serde_json::Value {
    serde_json::json!({
        "application": {
            "id": "00000000-0000-0000-0000-5e7e5e7e5e7e",
            "displayName": "restore-delta-server"
        }
    })
}

/// Which limit a body is read under.
#[derive(Clone, Copy, Debug)]
enum Limit {
    /// A create's or a PATCH's (`--max-body-bytes`, rule E1).
    Request,
    /// A `$batch` body's.
    Batch,
    /// A state put or a document imported.
    State,
}

impl App {
    /// Reads a body under `limit` and the client timeout ([`body::read`]).
    async fn read(&self, headers: &HeaderMap, body: Body, limit: Limit) -> Result<Vec<u8>, Reply> {
        let bytes = match limit {
            Limit::Request => self.store.max_body_bytes(),
            Limit::Batch => self.max_batch_bytes,
            Limit::State => self.max_state_bytes,
        };
        body::read(headers, body, bytes, self.body_timeout).await
    }
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
        .route("/{set}", any(on_set))
        .route("/{set}/{id}", any(on_session))
        .route("/{set}/{id}/{sub}", any(on_sub));
    let control = Router::new()
        .route("/health", get(health))
        .route("/reset", post(reset))
        .route("/sessions/{id}", get(state).put(put_session))
        .route("/export", get(export))
        .route("/import", post(import))
        .route("/sessions/{id}/advance", post(advance));
    Router::new()
        .route("/v1.0/$metadata", get(metadata))
        .route("/beta/$metadata", get(metadata))
        .route("/v1.0/$batch", any(on_batch))
        .route("/beta/$batch", any(on_batch))
        .nest("/v1.0/solutions/backupRestore", graph_routes.clone())
        .nest("/beta/solutions/backupRestore", graph_routes)
        .nest(CONTROL, control)
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(app.clone(), envelope))
        .with_state(app)
}

/// The server's clock: the system time, to the microsecond (Graph's timestamps carry seven
/// decimals at most). A clock before 1970 or past 9999 reads as the epoch.
pub fn clock() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(0);
    let micros = since.subsec_micros() * 1000;
    Timestamp::from_unix(secs, micros).unwrap_or(Timestamp::EPOCH)
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
    let open = path == format!("{CONTROL}/health") || path.ends_with("/$metadata");
    let early = if open {
        None
    } else if !authorized(app.token.as_deref(), req.headers()) {
        Some(Reply::error(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty or not valid.",
        ))
    } else if is_control || req.extensions().get::<batch::Inner>().is_some() {
        // A request of a batch was faulted (or not) and delayed with its batch.
        None
    } else {
        app.faults.draw().await
    };
    let mut response = match early {
        Some(reply) => {
            // Answered without looking at the body (a refused token, an injected fault): read
            // what the client is still sending (at most the body limit), so that it reads the
            // answer instead of a reset connection.
            body::drain(
                req.into_body(),
                app.store.max_body_bytes(),
                app.body_timeout,
            );
            finish(&meta, reply)
        }
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

/// Whether the request carries the token (`Authorization: Bearer TOKEN`), compared in time
/// that does not depend on where the two differ.
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
        .is_some_and(|(_, t)| constant_time_eq(t.trim().as_bytes(), token.as_bytes()))
}

/// Compares two byte strings touching every byte of the longer, whatever they hold: the time
/// taken tells at most the lengths, never how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().max(b.len());
    let mut diff = u64::from(a.len() != b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
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
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value.as_str());
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

fn host(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
}

/// The origin the client used: the request's scheme and `Host` (`https://127.0.0.1:8443`).
fn origin_of(req: &HttpRequest) -> String {
    let scheme = req.extensions().get::<Scheme>().map_or("http", |s| s.0);
    format!("{scheme}://{}", host(req.headers()))
}

/// The service roots a `restorePoint@odata.id` may use on this server (rule A2): the address
/// the client used (scheme and `Host`), and the public URL when there is one.
fn roots(direct: &str, public: Option<&str>) -> Vec<String> {
    let mut roots = Vec::new();
    for origin in std::iter::once(direct).chain(public) {
        roots.push(format!("{origin}/v1.0/"));
        roots.push(format!("{origin}/beta/"));
    }
    roots
}

/// A Graph call: its [`Meta`], the version segment (`v1.0` or `beta`), the path's segments
/// after `solutions/backupRestore/` (percent-decoded), and the sessions its set names.
struct Call {
    meta: Meta,
    /// The scheme and host the client used (`https://host:port`).
    direct: String,
    /// What links are written under: the public URL, or `direct`.
    origin: String,
    public: Option<String>,
    version: &'static str,
    set: String,
    kind: Option<SessionKind>,
    /// The session id and what follows it, decoded.
    rest: Vec<String>,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    actor: Option<serde_json::Value>,
}

impl Call {
    /// Reads a call from a request the graph router matched; `Err` is the answer to give
    /// (404 for a set Graph does not have, 400 for an id that is not UTF-8).
    fn of(app: &App, req: &HttpRequest, uri: &axum::http::Uri) -> Result<Call, Reply> {
        let meta = meta_of(req);
        let direct = origin_of(req);
        let origin = app.public_url.clone().unwrap_or_else(|| direct.clone());
        let path = uri.path();
        let (version, tail) = if let Some(t) = path.strip_prefix("/beta") {
            ("beta", t)
        } else {
            ("v1.0", path.strip_prefix("/v1.0").unwrap_or(path))
        };
        let tail = tail.strip_prefix(SOLUTIONS).unwrap_or(tail);
        let mut segments = tail.trim_start_matches('/').split('/');
        let set = segments.next().unwrap_or_default().to_owned();
        let kind = scope(&set)?;
        let rest = segments
            .map(|s| percent_decode(s).ok_or_else(not_utf8))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Call {
            meta,
            direct,
            origin,
            public: app.public_url.clone(),
            version,
            set,
            kind,
            rest,
            method: req.method().clone(),
            headers: req.headers().clone(),
            query: uri.query().map(str::to_owned),
            actor: app.actor.clone(),
        })
    }

    fn answer(&self, reply: Reply) -> Response {
        finish(&self.meta, reply)
    }

    fn id(&self) -> &str {
        self.rest.first().map(String::as_str).unwrap_or_default()
    }

    /// A method the path does not serve: 405, `Allow` naming what it does.
    fn not_allowed(&self, allow: &'static str) -> Response {
        self.answer(
            Reply::error(
                405,
                "MethodNotAllowed",
                &format!("{} is not allowed on this resource.", self.method),
            )
            .with_header("allow", allow),
        )
    }

    /// The service root links are written under (`https://host/v1.0`).
    fn root(&self) -> String {
        format!("{}/{}", self.origin, self.version)
    }

    /// The query of a read endpoint, parsed for `target` (rules Q1–Q9), and its decoded
    /// pairs (the next link keeps them).
    fn read_query(
        &self,
        target: Target,
        options: &Options,
    ) -> Result<(Query, Vec<(String, String)>), Reply> {
        let pairs = query::Options::parse(self.query.as_deref())?
            .pairs()
            .to_vec();
        let parsed = Query::parse(target, &pairs, options)
            .map_err(|e| Reply::graph_error(e.status, e.body()))?;
        Ok((parsed, pairs))
    }

    /// A list's answer: `@odata.context`, `@odata.count`, `value`, and `@odata.nextLink` (the
    /// request's address with its options and the next `$skiptoken`) when more follow.
    fn page_reply(
        &self,
        uri: &axum::http::Uri,
        page: &restore_delta::lifecycle::query::Page,
        pairs: &[(String, String)],
    ) -> Reply {
        let path = uri.path();
        let base = format!("{}{path}", self.origin);
        let context = format!(
            "{}/$metadata#{}",
            self.root(),
            path.split_once("/solutions/")
                .map(|(_, rest)| format!("solutions/{rest}"))
                .unwrap_or_default()
        );
        let next = page
            .next
            .as_deref()
            .map(|token| restore_delta::lifecycle::query::next_link(&base, pairs, token));
        Reply::json(200, page.body(&context, next.as_deref()))
    }

    /// The answer of an operation on one session (create, get, activate): a success body gets
    /// `@odata.context` first, as Graph writes it (`…/$metadata#solutions/backupRestore/{set}/$entity`).
    fn answer_entity(&self, mut reply: Reply) -> Response {
        if let (false, Some(body)) = (reply.error, reply.body.as_mut()) {
            let context = format!(
                "{}/$metadata#solutions/backupRestore/{}/$entity",
                self.root(),
                self.set
            );
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

    fn inputs(&self) -> Inputs {
        Inputs {
            prefer: prefer_values(&self.headers),
            roots: roots(&self.direct, self.public.as_deref()),
            now: self.meta.now,
            actor: self.actor.clone(),
        }
    }

    /// For an endpoint that serves no query option.
    fn no_query(&self) -> Result<(), Reply> {
        query::Options::parse(self.query.as_deref())?.system(&[])?;
        Ok(())
    }
}

/// Percent-decodes a path segment (`+` stays `+`); `None` if it is not UTF-8 or an escape is
/// broken.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `POST /v1.0/$batch`: JSON batching ([`batch`]).
async fn on_batch(State(app): State<Shared>, req: HttpRequest) -> Response {
    let meta = meta_of(&req);
    let answer = |reply| finish(&meta, reply);
    if req.method() != Method::POST {
        return answer(
            Reply::error(
                405,
                "MethodNotAllowed",
                &format!("{} is not allowed on this resource.", req.method()),
            )
            .with_header("allow", "POST"),
        );
    }
    if req.extensions().get::<batch::Inner>().is_some() {
        return answer(query::bad_query("A batch cannot hold a batch."));
    }
    let version = if req.uri().path().starts_with("/beta/") {
        "beta"
    } else {
        "v1.0"
    };
    let query = req.uri().query().map(str::to_owned);
    if let Err(reply) =
        query::Options::parse(query.as_deref()).and_then(|o| o.system(&[]).map(|_| ()))
    {
        return answer(reply);
    }
    let scheme = req.extensions().get::<Scheme>().copied();
    let headers = req.headers().clone();
    let body = match app.read(&headers, req.into_body(), Limit::Batch).await {
        Ok(b) => b,
        Err(reply) => return answer(reply),
    };
    let date = meta.now.to_string();
    let reply = batch::run(
        app.clone(),
        version,
        scheme,
        &headers,
        &body,
        (&meta.request_id, &date),
    )
    .await;
    answer(reply)
}

/// `…/{set}`: `GET` lists, `POST` creates.
async fn on_set(State(app): State<Shared>, req: HttpRequest) -> Response {
    let uri = original_uri(&req);
    let call = match Call::of(&app, &req, &uri) {
        Ok(call) => call,
        Err(reply) => return finish(&meta_of(&req), reply),
    };
    let body = req.into_body();
    match call.method {
        Method::GET | Method::HEAD => {
            let options = read_options(&call.headers);
            let reply = match call.read_query(Target::Sessions(call.kind), &options) {
                Ok((query, pairs)) => match app
                    .store
                    .list(call.kind, &query, &options, call.meta.now)
                    .await
                {
                    Ok(page) => call.page_reply(&uri, &page, &pairs),
                    Err(reply) => reply,
                },
                Err(reply) => reply,
            };
            call.answer(reply)
        }
        Method::POST => create(&app, &call, body).await,
        _ => call.not_allowed("GET,HEAD,POST"),
    }
}

/// `POST …RestoreSessions`: create.
async fn create(app: &App, call: &Call, body: Body) -> Response {
    if let Err(reply) = call.no_query() {
        return call.answer(reply);
    }
    let body = match app.read(&call.headers, body, Limit::Request).await {
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
    let reply = app.store.create(kind, &body, call.inputs()).await;
    call.answer_entity(reply)
}

/// The kind the body's `@odata.type` names (create under `restoreSessions`).
fn kind_in_body(body: &[u8]) -> Option<SessionKind> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    SessionKind::from_odata_type(value.get("@odata.type")?.as_str()?)
}

/// `…/{set}/{id}`: `GET`, `PATCH`, `DELETE`.
async fn on_session(State(app): State<Shared>, req: HttpRequest) -> Response {
    let uri = original_uri(&req);
    let call = match Call::of(&app, &req, &uri) {
        Ok(call) => call,
        Err(reply) => return finish(&meta_of(&req), reply),
    };
    let body = req.into_body();
    if !matches!(
        call.method,
        Method::GET | Method::HEAD | Method::PATCH | Method::DELETE
    ) {
        return call.not_allowed("GET,HEAD,PATCH,DELETE");
    }
    let id = call.id().to_owned();
    if matches!(call.method, Method::GET | Method::HEAD) {
        let options = read_options(&call.headers);
        let reply = match call.read_query(Target::Session(call.kind), &options) {
            Ok((query, _)) => {
                app.store
                    .get(&id, call.kind, call.meta.now, &query, &options)
                    .await
            }
            Err(reply) => reply,
        };
        return call.answer_entity(reply);
    }
    if let Err(reply) = call.no_query() {
        return call.answer(reply);
    }
    match call.method {
        Method::PATCH => {
            let bytes = match app.read(&call.headers, body, Limit::Request).await {
                Ok(b) => b,
                // A body over the limit is refused here, before the store sees it (rule E1).
                Err(reply) => {
                    return call.answer(crate::deviate::too_large(reply, app.store.deviations()));
                }
            };
            call.answer(app.store.patch(&id, call.kind, &bytes, call.inputs()).await)
        }
        _ => call.answer(app.store.delete(&id, call.kind, call.meta.now).await),
    }
}

/// `…/{set}/{id}/{sub}`: `POST …/activate` (also as `microsoft.graph.activate`, the bound
/// action's full name), `GET …/{collection}`.
async fn on_sub(State(app): State<Shared>, req: HttpRequest) -> Response {
    let uri = original_uri(&req);
    let call = match Call::of(&app, &req, &uri) {
        Ok(call) => call,
        Err(reply) => return finish(&meta_of(&req), reply),
    };
    let body = req.into_body();
    let sub = call.rest.get(1).cloned().unwrap_or_default();
    let id = call.id().to_owned();
    if sub == "activate" || sub == "microsoft.graph.activate" {
        if call.method != Method::POST {
            return call.not_allowed("POST");
        }
        if let Err(reply) = call.no_query() {
            return call.answer(reply);
        }
        // The action takes no parameters; the body (usually empty) is read and not used.
        if let Err(reply) = app.read(&call.headers, body, Limit::Request).await {
            return call.answer(reply);
        }
        let reply = app.store.activate(&id, call.kind, call.meta.now).await;
        return call.answer_entity(reply);
    }
    let Some(collection) = ArtifactCollection::from_name(&sub) else {
        return call.answer(graph::not_found_path());
    };
    if !matches!(call.method, Method::GET | Method::HEAD) {
        return call.not_allowed("GET,HEAD");
    }
    let options = read_options(&call.headers);
    let reply = match call.read_query(Target::Artifacts(collection), &options) {
        Ok((query, pairs)) => match app
            .store
            .artifacts(&id, call.kind, collection, &query, &options, call.meta.now)
            .await
        {
            Ok(page) => call.page_reply(&uri, &page, &pairs),
            Err(reply) => reply,
        },
        Err(reply) => reply,
    };
    call.answer(reply)
}

fn original_uri(req: &HttpRequest) -> axum::http::Uri {
    req.extensions()
        .get::<OriginalUri>()
        .map(|o| o.0.clone())
        .unwrap_or_else(|| req.uri().clone())
}

/// The CSDL document of what the server serves (`GET /v1.0/$metadata`), as Graph serves its
/// own: no token needed.
pub const METADATA: &str = include_str!("metadata.xml");

async fn metadata() -> Response {
    let mut response = Response::new(Body::from(METADATA));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml;charset=utf-8"),
    );
    response
}

async fn health(
    State(app): State<Shared>,
    axum::Extension(meta): axum::Extension<Meta>,
) -> Response {
    let failed = app.store.has_failed();
    let mut body = serde_json::json!({
        "status": if failed { "failed" } else { "ok" },
        "version": env!("CARGO_PKG_VERSION"),
        "sessions": app.store.session_count(),
    });
    let deviations = app.store.deviations();
    if !deviations.is_empty() {
        body["deviate"] = serde_json::json!(deviations.names());
    }
    finish(
        &meta,
        Reply::json(if failed { 503 } else { 200 }, body.to_string()),
    )
}

async fn reset(
    State(app): State<Shared>,
    axum::Extension(meta): axum::Extension<Meta>,
) -> Response {
    finish(&meta, app.store.reset().await)
}

/// The id of a control path `/_restore-delta/sessions/{id}[/…]`, decoded.
fn control_id(req: &HttpRequest) -> Result<String, Reply> {
    let path = original_uri(req).path().to_owned();
    let raw = path
        .strip_prefix(&format!("{CONTROL}/sessions/"))
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default();
    percent_decode(raw).ok_or_else(not_utf8)
}

/// A session id (a path segment) that is not UTF-8 once decoded: rule L4's 400.
fn not_utf8() -> Reply {
    Reply::error(
        400,
        "InvalidRestoreSessionId",
        "The path segment is not UTF-8 once its percent-escapes are decoded.",
    )
}

async fn state(State(app): State<Shared>, req: HttpRequest) -> Response {
    let meta = meta_of(&req);
    let reply = match control_id(&req) {
        Ok(id) => app.store.state(&id, meta.now).await,
        Err(reply) => reply,
    };
    finish(&meta, reply)
}

/// `PUT /_restore-delta/sessions/{id}`: a whole state (seeding).
async fn put_session(State(app): State<Shared>, req: HttpRequest) -> Response {
    let meta = meta_of(&req);
    let id = match control_id(&req) {
        Ok(id) => id,
        Err(reply) => return finish(&meta, reply),
    };
    let headers = req.headers().clone();
    let body = match app.read(&headers, req.into_body(), Limit::State).await {
        Ok(b) => b,
        Err(reply) => return finish(&meta, reply),
    };
    finish(&meta, app.store.put(&id, &body, meta.now).await)
}

/// `GET /_restore-delta/export`: every session and its lifecycle progress.
async fn export(
    State(app): State<Shared>,
    axum::Extension(meta): axum::Extension<Meta>,
) -> Response {
    finish(&meta, app.store.export(meta.now).await)
}

/// `POST /_restore-delta/import`: the sessions of an export document.
async fn import(State(app): State<Shared>, req: HttpRequest) -> Response {
    let meta = meta_of(&req);
    let headers = req.headers().clone();
    let body = match app.read(&headers, req.into_body(), Limit::State).await {
        Ok(b) => b,
        Err(reply) => return finish(&meta, reply),
    };
    finish(&meta, app.store.import(&body, false, meta.now).await)
}

async fn advance(State(app): State<Shared>, req: HttpRequest) -> Response {
    let meta = meta_of(&req);
    let reply = match control_id(&req) {
        Ok(id) => app.store.step(&id, meta.now).await,
        Err(reply) => reply,
    };
    finish(&meta, reply)
}

async fn unknown_path(req: HttpRequest) -> Response {
    finish(&meta_of(&req), graph::not_found_path())
}

/// A method the control paths do not serve (axum adds `Allow` with what the route serves).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"secret\0", b"secret"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn path_segments_decode_or_refuse() {
        assert_eq!(percent_decode("a%20b+c").as_deref(), Some("a b+c"));
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(percent_decode("%F"), None);
        assert_eq!(percent_decode("%zz"), None);
    }
}
