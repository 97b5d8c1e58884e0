//! `restore-delta-server`: a local Backup Storage restore-session server.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use restore_delta::SeededIds;
use restore_delta::lifecycle::{Schedule, Transitions};
use restore_delta_server::deviate::Deviations;
use restore_delta_server::faults::{FAULT_STATUSES, Faults};
use restore_delta_server::http::{App, Limits, Listener};
use restore_delta_server::journal::fs::OsFs;
use restore_delta_server::store::{Config, Store, recovery};
use restore_delta_server::tls;

/// A local Microsoft 365 Backup Storage restore-session server with restore-delta's semantics.
///
/// Serves /v1.0/solutions/backupRestore/… and /beta/solutions/backupRestore/… for OneDrive,
/// SharePoint and Exchange restore sessions, and its own endpoints under /_restore-delta/
/// (health, reset, a session's whole state, manual lifecycle steps).
///
/// Exit status: 0 after a stop by SIGTERM or Ctrl-C (requests in flight are finished and the
/// journal synced first); 2 when it cannot start (bad flags, a journal it refuses: damaged,
/// held by another server, not replaying); 3 when the journal failed while serving (a write
/// or sync error such as EIO or ENOSPC: nothing after it was acknowledged; a restart
/// recovers).
#[derive(Parser, Debug)]
#[command(
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Args,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Reads a journal as a start would and says what a start would do (cut a torn tail,
    /// refuse damage, compact, rewrite a format-1 journal), changing nothing. Exit 0 when a
    /// start would open it, 1 when a start would refuse, 2 when it cannot be read.
    Verify(VerifyArgs),
}

#[derive(ClapArgs, Debug)]
struct VerifyArgs {
    /// The journal.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// The body limit a start would use for records that did not record theirs (format 1).
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// The compaction threshold a start would use.
    #[arg(long, default_value_t = 10_000)]
    compact_after: usize,
}

#[derive(ClapArgs, Debug)]
struct Args {
    /// The store: one journal file, created if missing. Every acknowledged change is in it.
    /// `FILE.lock` beside it keeps a second server off it.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["in_memory", "deviate"])]
    db: Option<PathBuf>,
    /// Keep nothing on disk (everything is gone when the server stops).
    #[arg(long, conflicts_with = "db")]
    in_memory: bool,
    /// When the journal holds damage with whole records after it, move the damaged bytes and
    /// everything after them aside to FILE.damaged-N (nothing is deleted) and start from the
    /// records before, instead of refusing to start.
    #[arg(long, requires = "db")]
    repair: bool,
    /// The address to listen on for HTTP. Anything but loopback needs a token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve HTTPS too, with a local certificate authority made at start (mkcert-style: a CA
    /// and a certificate for localhost, 127.0.0.1 and ::1 signed by it, in --tls-dir, reused
    /// when present). The CA's path is printed: give it to clients (NODE_EXTRA_CA_CERTS,
    /// SSL_CERT_FILE, `restore-delta conform --ca-cert`).
    #[arg(long, conflicts_with_all = ["cert", "key"])]
    tls: bool,
    /// Serve HTTPS too, with this certificate chain (PEM); needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Where --tls keeps its CA and certificate. Default: FILE.tls/ beside the journal, or a
    /// new temporary directory with --in-memory.
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
    /// The address to listen on for HTTPS (with --tls or --cert).
    #[arg(long, default_value = "127.0.0.1:8443")]
    https_listen: SocketAddr,
    /// The caller's identity the server writes as `createdBy` (create) and `lastModifiedBy`
    /// (create, PATCH): a JSON `identitySet` in FILE, such as
    /// {"user":{"id":"…","displayName":"Ada"}}. Default: an application identity naming the
    /// server.
    #[arg(long, value_name = "FILE")]
    identity: Option<PathBuf>,
    /// The URL clients reach the server by, when it is not the one they connect to (behind a
    /// proxy): links (`@odata.nextLink`, `@odata.context`) are written under it, and a
    /// `restorePoint@odata.id` may start with it. Scheme, host and an optional path prefix.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Require `Authorization: Bearer TOKEN` on every request but the health check. Prefer
    /// --token-file or the RESTORE_DELTA_TOKEN environment variable: a command line is
    /// readable by every local user.
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    token: Option<String>,
    /// Read the token from FILE (its first line).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Seed of the generated ids (sessions, artifacts, request ids) and of injected faults:
    /// the same requests in the same order get the same ids. The stream continues across
    /// restarts on the same journal. Default: from the clock.
    #[arg(long)]
    seed: Option<u64>,
    /// How activated sessions move on: at once, on the clock, or by
    /// POST /_restore-delta/sessions/{id}/advance.
    #[arg(long, value_enum, default_value = "timed")]
    transitions: Mode,
    /// Timed: seconds from activation to `active`.
    #[arg(long, default_value_t = 5)]
    to_active_secs: u64,
    /// Timed: seconds from `active` to completion.
    #[arg(long, default_value_t = 30)]
    to_completed_secs: u64,
    /// Artifacts that fail to restore, per thousand (chosen by --seed and the artifact id).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1000))]
    failed_per_mille: u16,
    /// Share of Graph requests answered with an injected fault, 0 to 1.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    faults: f64,
    /// The statuses injected faults answer with (429 and 503 carry Retry-After).
    #[arg(long, value_delimiter = ',', default_value = "429,503")]
    fault_statuses: Vec<u16>,
    /// Retry-After of injected 429 and 503, in seconds.
    #[arg(long, default_value_t = 1)]
    retry_after: u32,
    /// Latency added to every Graph request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// The largest request body, in bytes (larger: 413, rule E1), for creates and PATCHes.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// The largest `$batch` body, in bytes (each request in it has --max-body-bytes).
    #[arg(long, default_value_t = restore_delta_server::http::DEFAULT_MAX_BATCH_BYTES)]
    max_batch_bytes: usize,
    /// The largest state `PUT /_restore-delta/sessions/{id}` takes, or document
    /// `POST /_restore-delta/import` takes, in bytes.
    #[arg(long, default_value_t = restore_delta_server::http::DEFAULT_MAX_STATE_BYTES)]
    max_state_bytes: usize,
    /// Import the sessions of an export document (as `GET /_restore-delta/export` writes it) at
    /// start. Refused when the journal already holds sessions, unless --import-replace.
    #[arg(long, value_name = "FILE")]
    import: Option<PathBuf>,
    /// With --import: drop the sessions the journal holds first.
    #[arg(long, requires = "import")]
    import_replace: bool,
    /// Compact the journal at start when it holds more than this many records beyond one per
    /// session: it is rewritten as one snapshot per session (the history is dropped).
    #[arg(long, default_value_t = 10_000)]
    compact_after: usize,
    /// Seconds a client may take to send a request's headers, and then its body.
    #[arg(long, default_value_t = 30)]
    client_timeout_secs: u64,
    /// Seconds one write of an answer may wait for a client that does not read; then the
    /// connection is closed.
    #[arg(long, default_value_t = 30)]
    write_timeout_secs: u64,
    /// Connections served at once; more wait until one closes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Appends that may wait for the journal's writer at once; more wait to queue.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    journal_queue: u64,
    /// A TESTING AID: break these rules on purpose (`--deviate list` lists them).
    #[arg(long, value_name = "NAME[,NAME…]", long_help = deviate_help())]
    deviate: Option<String>,
}

/// The long help of `--deviate`: what it is for, then one line per deviation.
fn deviate_help() -> String {
    format!(
        "A TESTING AID, never on by default: break these rules of docs/SEMANTICS.md on purpose, \
         to prove that a conformance runner (`restore-delta conform`) or a client's tests notice. \
         Each acts only where its rule decides; the rest is answered faithfully. Journaled: a \
         deviating server restarts to the state it served. `--deviate list` prints this table \
         (name, rule, what it does wrong):\n\n{}",
        restore_delta_server::deviate::table()
    )
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    Immediate,
    Timed,
    Manual,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Verify(args)) = cli.command {
        return verify(&args);
    }
    match run(cli.serve) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("restore-delta-server: {message}");
            ExitCode::from(2)
        }
    }
}

fn verify(args: &VerifyArgs) -> ExitCode {
    match recovery::verify(&OsFs, &args.db, args.max_body_bytes, args.compact_after) {
        Ok(report) => {
            for line in &report.lines {
                println!("{line}");
            }
            ExitCode::from(u8::from(report.refuses))
        }
        Err(e) => {
            eprintln!("restore-delta-server: {e}");
            ExitCode::from(2)
        }
    }
}

/// The token: `--token-file`, else `--token`, else `RESTORE_DELTA_TOKEN`.
fn token(args: &Args) -> Result<Option<String>, String> {
    let token = if let Some(file) = &args.token_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("--token-file {}: {e}", file.display()))?;
        Some(text.lines().next().unwrap_or_default().trim().to_owned())
    } else if let Some(t) = &args.token {
        Some(t.clone())
    } else {
        std::env::var("RESTORE_DELTA_TOKEN").ok()
    };
    match token {
        Some(t) if t.is_empty() => Err("the token is empty".to_owned()),
        other => Ok(other),
    }
}

/// The TLS configuration the flags ask for, and the CA file to print.
type Tls = (Arc<rustls::ServerConfig>, Option<PathBuf>);

fn tls(args: &Args) -> Result<Option<Tls>, String> {
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        return Ok(Some((tls::config(cert, key)?, None)));
    }
    if !args.tls {
        return Ok(None);
    }
    let dir = match (&args.tls_dir, &args.db) {
        (Some(dir), _) => dir.clone(),
        (None, Some(db)) => {
            let mut name = db.as_os_str().to_owned();
            name.push(".tls");
            PathBuf::from(name)
        }
        (None, None) => {
            std::env::temp_dir().join(format!("restore-delta-server-tls-{}", std::process::id()))
        }
    };
    let ca = tls::local_ca(&dir)?;
    Ok(Some((tls::config(&ca.cert, &ca.key)?, Some(ca.ca))))
}

/// `--public-url` checked: absolute http(s), no query or fragment, no trailing `/`.
fn public_url(args: &Args) -> Result<Option<String>, String> {
    let Some(url) = &args.public_url else {
        return Ok(None);
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !url.contains(['?', '#']) => {
            Ok(Some(url.trim_end_matches('/').to_owned()))
        }
        _ => Err(format!(
            "--public-url {url}: an absolute http:// or https:// URL with a host and no query"
        )),
    }
}

/// `--identity`: an `identitySet` (a JSON object), or the server's own.
fn identity(args: &Args) -> Result<serde_json::Value, String> {
    let Some(file) = &args.identity else {
        return Ok(restore_delta_server::http::default_identity());
    };
    let text =
        std::fs::read_to_string(file).map_err(|e| format!("--identity {}: {e}", file.display()))?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err(format!(
            "--identity {}: an identitySet is a JSON object",
            file.display()
        )),
        Err(e) => Err(format!("--identity {}: {e}", file.display())),
    }
}

fn run(args: Args) -> Result<ExitCode, String> {
    let deviations = match args.deviate.as_deref() {
        Some("list") => {
            print!("{}", restore_delta_server::deviate::table());
            return Ok(ExitCode::SUCCESS);
        }
        Some(list) => Deviations::parse(list).map_err(|e| format!("--deviate: {e}"))?,
        None => Deviations::NONE,
    };
    if args.db.is_none() && !args.in_memory {
        return Err("one of --db FILE or --in-memory is required".to_owned());
    }
    let token = token(&args)?;
    let actor = identity(&args)?;
    let tls = tls(&args)?;
    let public_url = public_url(&args)?;
    let wide =
        !args.listen.ip().is_loopback() || (tls.is_some() && !args.https_listen.ip().is_loopback());
    if token.is_none() && wide {
        return Err(format!(
            "refusing to listen beyond loopback ({}) without a token (--token-file, RESTORE_DELTA_TOKEN or --token): anyone who can reach it could read and change sessions",
            if args.listen.ip().is_loopback() {
                args.https_listen
            } else {
                args.listen
            }
        ));
    }
    if let Some(bad) = args
        .fault_statuses
        .iter()
        .find(|s| !FAULT_STATUSES.contains(s))
    {
        return Err(format!(
            "--fault-statuses: {bad} is not one of 429, 500, 502, 503, 504"
        ));
    }
    if !(0.0..=1.0).contains(&args.faults) {
        return Err(format!("--faults: {} is not between 0 and 1", args.faults));
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    let transitions = match args.transitions {
        Mode::Immediate => Transitions::Immediate,
        Mode::Manual => Transitions::Manual,
        Mode::Timed => Transitions::Timed {
            to_active_secs: args.to_active_secs,
            to_completed_secs: args.to_completed_secs,
        },
    };
    let schedule = Schedule::new(transitions)
        .with_failed_per_mille(args.failed_per_mille)
        .with_seed(seed);
    let started = std::time::Instant::now();
    let mut config = Config::new(args.db.as_deref(), seed);
    config.fs = Arc::new(OsFs);
    config.schedule = schedule;
    config.max_body_bytes = args.max_body_bytes;
    config.compact_after = args.compact_after;
    config.repair = args.repair;
    config.queue = usize::try_from(args.journal_queue).unwrap_or(usize::MAX);
    config.deviations = deviations;
    let (store, recovered) = Store::open(config).map_err(|e| e.to_string())?;
    let replay_ms = started.elapsed().as_secs_f64() * 1000.0;
    let import = match &args.import {
        None => None,
        Some(file) => {
            if store.session_count() > 0 && !args.import_replace {
                return Err(format!(
                    "--import {}: the journal already holds {} sessions; --import-replace drops them first",
                    file.display(),
                    store.session_count()
                ));
            }
            Some(std::fs::read(file).map_err(|e| format!("--import {}: {e}", file.display()))?)
        }
    };
    let run_seed = store.run_seed();
    let app = Arc::new(App {
        store,
        token,
        faults: Faults::new(
            args.faults,
            args.fault_statuses.clone(),
            Duration::from_millis(args.latency_ms),
            args.retry_after,
            run_seed,
        ),
        request_ids: std::sync::Mutex::new(SeededIds::new(run_seed)),
        body_timeout: Duration::from_secs(args.client_timeout_secs),
        max_batch_bytes: args.max_batch_bytes,
        max_state_bytes: args.max_state_bytes,
        actor: Some(actor),
        public_url,
    });
    let limits = Limits {
        client_timeout: Duration::from_secs(args.client_timeout_secs),
        write_timeout: Duration::from_secs(args.write_timeout_secs),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        grace: Duration::from_secs(args.client_timeout_secs.max(1)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        if let Some(document) = &import {
            let reply = app
                .store
                .import(document, args.import_replace, restore_delta_server::http::clock())
                .await;
            if reply.status != 200 {
                return Err(format!(
                    "--import: {}",
                    reply.body.unwrap_or_default()
                ));
            }
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let mut listeners = vec![Listener::http(listener)];
        let mut https = String::new();
        if let Some((config, ca)) = &tls {
            let tcp = tokio::net::TcpListener::bind(args.https_listen)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", args.https_listen))?;
            let address = tcp.local_addr().map_err(|e| e.to_string())?;
            https = format!(" and https://{address}");
            if let Some(ca) = ca {
                https.push_str(&format!(" (CA {})", ca.display()));
            }
            listeners.push(Listener {
                tcp,
                tls: Some(tokio_rustls::TlsAcceptor::from(config.clone())),
            });
        }
        let store_text = match &args.db {
            Some(db) => format!(
                "db {}: {} in {replay_ms:.0} ms",
                db.display(),
                recovered.describe()
            ),
            None => "in memory".to_owned(),
        };
        let deviating = if deviations.is_empty() {
            String::new()
        } else {
            eprintln!(
                "restore-delta-server: DEVIATING ON PURPOSE (--deviate {deviations}): a testing aid, not a faithful server"
            );
            format!(", DEVIATING: {deviations}")
        };
        println!(
            "restore-delta-server listening on http://{local}{https} ({store_text}, seed {seed}{deviating})"
        );
        let mut failure = app.store.failure();
        let stop = async move {
            tokio::select! {
                () = signal() => {}
                _ = failure.wait_for(Option::is_some) => {}
            }
        };
        restore_delta_server::http::serve_all(listeners, app.clone(), limits, stop).await;
        let closing = app.clone();
        let _ = tokio::task::spawn_blocking(move || closing.store.close()).await;
        if app.store.has_failed() {
            eprintln!(
                "restore-delta-server: stopped after a journal failure; a restart recovers what was acknowledged"
            );
            return Ok(ExitCode::from(3));
        }
        if let Some(db) = &args.db {
            eprintln!("restore-delta-server: stopped; journal {} synced", show(db));
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

/// SIGTERM or Ctrl-C (SIGINT).
async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return ctrl_c.await,
            };
        tokio::select! {
            () = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
