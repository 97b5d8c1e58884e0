//! The runner's HTTP client: a blocking ureq agent over rustls (system roots, a local CA or
//! none), the caller's headers, a shared rate limit, and the retries of a good client (429
//! and 503 with `Retry-After`, bounded), every exchange kept for the HAR.

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::common::Usage;

/// One exchange as sent and answered (after the retries).
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub answer: Result<Answer, String>,
    pub started: SystemTime,
    pub millis: f64,
    /// Answers retried before this one (429 or 503 with their `Retry-After`).
    pub retried: u32,
    /// Sent again after an answer cut before its first byte (it may have been applied).
    pub reconnected: bool,
}

/// An HTTP answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The values of a header (any case), joined with `, `; `None` when absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// How requests are sent.
pub struct Client {
    agent: ureq::Agent,
    headers: Vec<(String, String)>,
    limiter: Option<Mutex<Instant>>,
    interval: Duration,
    /// Retries of one request (429 or 503), at most.
    pub max_retries: u32,
    /// The longest `Retry-After` honoured; a longer one is waited this long.
    pub max_wait: Duration,
    pub log: Mutex<Vec<Exchange>>,
    keep_log: bool,
}

/// The TLS trust of the client.
pub enum Trust<'a> {
    /// The system's roots.
    System,
    /// Only the CA certificates (PEM) in this file.
    CaFile(&'a Path),
    /// None: any certificate (a self-signed test server).
    Insecure,
}

impl Client {
    pub fn new(
        trust: Trust<'_>,
        headers: Vec<(String, String)>,
        rate: f64,
        timeout: Duration,
        keep_log: bool,
    ) -> Result<Client, Usage> {
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(timeout)
            .timeout(timeout)
            .max_idle_connections_per_host(64)
            .redirects(0);
        match trust {
            Trust::System => {}
            Trust::CaFile(path) => builder = builder.tls_config(ca_config(path)?),
            Trust::Insecure => builder = builder.tls_config(insecure_config()?),
        }
        let interval = if rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        Ok(Client {
            agent: builder.build(),
            headers,
            limiter: (rate > 0.0).then(|| Mutex::new(Instant::now())),
            interval,
            max_retries: 8,
            max_wait: Duration::from_secs(30),
            log: Mutex::new(Vec::new()),
            keep_log,
        })
    }

    /// Waits for the next slot of the rate limit.
    fn pace(&self) {
        let Some(limiter) = &self.limiter else {
            return;
        };
        let wait = {
            let mut next = limiter
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot.saturating_duration_since(now)
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }

    /// Sends a request, retrying 429 and 503 (bounded, honouring `Retry-After`); the exchange
    /// as finally answered.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        extra: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Exchange {
        self.send_retrying(method, url, extra, body, 0)
    }

    /// [`Client::send`], and a request whose connection broke before an answer is sent again
    /// up to `transport_retries` times (for requests that change nothing whatever happens: a
    /// body over the byte limit, which a server may answer before reading it all, then close).
    pub fn send_retrying(
        &self,
        method: &str,
        url: &str,
        extra: &[(String, String)],
        body: Option<&[u8]>,
        transport_retries: u32,
    ) -> Exchange {
        let started = SystemTime::now();
        let clock = Instant::now();
        let mut retried = 0;
        let mut broken = 0;
        let mut reconnected = false;
        let mut request_headers: Vec<(String, String)> = self.headers.clone();
        request_headers.extend(extra.iter().cloned());
        if body.is_some() {
            request_headers.push(("Content-Type".into(), "application/json".into()));
        }
        let answer = loop {
            self.pace();
            let answer = self.once(method, url, &request_headers, body);
            match &answer {
                Ok(a) if matches!(a.status, 429 | 503) && retried < self.max_retries => {
                    let wait = a
                        .header("retry-after")
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .map_or_else(
                            || Duration::from_millis(50 << retried.min(6)),
                            Duration::from_secs_f64,
                        )
                        .min(self.max_wait);
                    retried += 1;
                    std::thread::sleep(wait);
                }
                Err(_) if retried < transport_retries => retried += 1,
                // A write the connection refused (EPIPE: a kept-alive connection the server had
                // closed, or one it closed while the body was still coming): the server never
                // had the whole request, so it is sent again on a new connection, twice at most.
                // An answer cut before its first byte (`Unexpected EOF`) is most often the same
                // race on a kept-alive connection; it is sent again too, and the exchange says
                // so, for the caller to read the state back (if it had been applied after all,
                // the read shows it).
                Err(e)
                    if (e.contains("Broken pipe") || e.contains("Unexpected EOF"))
                        && broken < 2 =>
                {
                    broken += 1;
                    retried += 1;
                    reconnected |= e.contains("Unexpected EOF");
                }
                _ => break answer,
            }
        };
        let exchange = Exchange {
            method: method.to_owned(),
            url: url.to_owned(),
            request_headers,
            body: body.map(<[u8]>::to_vec),
            answer,
            started,
            millis: clock.elapsed().as_secs_f64() * 1000.0,
            retried,
            reconnected,
        };
        if self.keep_log {
            self.log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(exchange.clone());
        }
        exchange
    }

    fn once(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<Answer, String> {
        let mut request = self.agent.request(method, url);
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let result = match body {
            Some(b) => request.send_bytes(b),
            None => request.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(t.to_string()),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .flat_map(|name| {
                response
                    .all(&name)
                    .into_iter()
                    .map(|v| (name.clone(), v.to_owned()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut body = Vec::new();
        response
            .into_reader()
            .take(256 << 20)
            .read_to_end(&mut body)
            .map_err(|e| format!("reading the answer: {e}"))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// The exchanges sent so far (for the HAR), leaving none.
    pub fn take_log(&self) -> Vec<Exchange> {
        std::mem::take(
            &mut *self
                .log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    // ring, as ureq and the server use: no CMake step.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS configuration trusting only the CA certificates in `path`.
fn ca_config(path: &Path) -> Result<Arc<rustls::ClientConfig>, Usage> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let bad = |e: &dyn std::fmt::Display| Usage(format!("--ca-cert {}: {e}", path.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
        roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    if roots.is_empty() {
        return Err(bad(&"no certificate in it"));
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TLS configuration that accepts any certificate (`--insecure`).
fn insecure_config() -> Result<Arc<rustls::ClientConfig>, Usage> {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Usage(format!("--insecure: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A HAR 1.2 document of exchanges.
pub fn har(exchanges: &[Exchange]) -> Value {
    let headers = |h: &[(String, String)]| -> Vec<Value> {
        h.iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect()
    };
    let entries: Vec<Value> = exchanges
        .iter()
        .map(|x| {
            let started = x
                .started
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok()
                .and_then(|d| {
                    restore_delta::Timestamp::from_unix(
                        i64::try_from(d.as_secs()).unwrap_or(0),
                        d.subsec_millis() * 1_000_000,
                    )
                    .ok()
                })
                .map_or_else(|| "1970-01-01T00:00:00Z".to_owned(), |t| t.to_string());
            let mut request = json!({
                "method": x.method, "url": x.url, "httpVersion": "HTTP/1.1",
                "headers": headers(&x.request_headers), "queryString": [], "cookies": [],
                "headersSize": -1, "bodySize": x.body.as_ref().map_or(0, Vec::len),
            });
            if let (Some(b), Some(o)) = (&x.body, request.as_object_mut()) {
                o.insert(
                    "postData".into(),
                    json!({"mimeType": "application/json", "text": String::from_utf8_lossy(b)}),
                );
            }
            let response = match &x.answer {
                Ok(a) => json!({
                    "status": a.status, "statusText": "", "httpVersion": "HTTP/1.1",
                    "headers": headers(&a.headers), "cookies": [],
                    "content": {"size": a.body.len(), "mimeType": a.header("content-type").unwrap_or_default(),
                                "text": String::from_utf8_lossy(&a.body)},
                    "redirectURL": "", "headersSize": -1, "bodySize": a.body.len(),
                }),
                Err(e) => json!({
                    "status": 0, "statusText": "", "httpVersion": "", "headers": [], "cookies": [],
                    "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1,
                    "bodySize": -1, "_error": e,
                }),
            };
            json!({
                "startedDateTime": started, "time": x.millis, "request": request,
                "response": response, "cache": {},
                "timings": {"send": 0, "wait": x.millis, "receive": 0},
                "_retried": x.retried,
            })
        })
        .collect();
    json!({"log": {"version": "1.2", "creator": {"name": "restore-delta conform",
            "version": env!("CARGO_PKG_VERSION")}, "entries": entries}})
}
