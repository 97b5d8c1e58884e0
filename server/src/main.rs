//! `restore-delta-server`: a local Backup Storage restore-session server.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use restore_delta::SeededIds;
use restore_delta::lifecycle::{Schedule, Transitions};
use restore_delta_server::faults::{FAULT_STATUSES, Faults};
use restore_delta_server::http::App;
use restore_delta_server::store::Store;

/// A local Microsoft 365 Backup Storage restore-session server with restore-delta's semantics.
///
/// Serves /v1.0/solutions/backupRestore/… and /beta/solutions/backupRestore/… for OneDrive,
/// SharePoint and Exchange restore sessions, and its own endpoints under /_restore-delta/
/// (health, reset, a session's whole state, manual lifecycle steps).
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The store: one journal file, created if missing. Every acknowledged change is in it.
    #[arg(long, value_name = "FILE", required_unless_present = "in_memory")]
    db: Option<PathBuf>,
    /// Keep nothing on disk (everything is gone when the server stops).
    #[arg(long, conflicts_with = "db")]
    in_memory: bool,
    /// The address to listen on. Anything but loopback needs --token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Require `Authorization: Bearer TOKEN` on every request but the health check.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Seed of the generated ids (sessions, artifacts, request ids) and of injected faults:
    /// the same requests in the same order get the same ids. Default: from the clock.
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
    /// The largest request body, in bytes (larger: 413, rule E1).
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Compact the journal at start when it holds more than this many records beyond one per
    /// session: it is rewritten as one snapshot per session (the history is dropped).
    #[arg(long, default_value_t = 10_000)]
    compact_after: usize,
    /// Seconds a client may take to send a request's headers, and then its body.
    #[arg(long, default_value_t = 30)]
    client_timeout_secs: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    Immediate,
    Timed,
    Manual,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("restore-delta-server: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    if args.token.is_none() && !args.listen.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {} without --token: anyone who can reach it could read and change sessions",
            args.listen
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
    let (store, recovered) = Store::open(
        args.db.as_deref(),
        seed,
        schedule,
        args.max_body_bytes,
        args.compact_after,
    )
    .map_err(|e| e.to_string())?;
    let replay_ms = started.elapsed().as_secs_f64() * 1000.0;
    let app = Arc::new(App {
        store,
        token: args.token.clone(),
        faults: Faults::new(
            args.faults,
            args.fault_statuses.clone(),
            Duration::from_millis(args.latency_ms),
            args.retry_after,
            seed,
        ),
        request_ids: std::sync::Mutex::new(SeededIds::new(seed ^ 0x5EED_0F1D_5EED)),
        body_timeout: Duration::from_secs(args.client_timeout_secs),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let store_text = match &args.db {
            Some(db) => format!(
                "db {}: {} records replayed in {replay_ms:.0} ms, {} sessions{}{}",
                db.display(),
                recovered.records,
                recovered.sessions,
                if recovered.cut > 0 {
                    format!(", a torn tail of {} bytes cut", recovered.cut)
                } else {
                    String::new()
                },
                match recovered.compacted {
                    Some(n) => format!(", compacted to {n} snapshots"),
                    None => String::new(),
                }
            ),
            None => "in memory".to_owned(),
        };
        println!("restore-delta-server listening on http://{local} ({store_text}, seed {seed})");
        restore_delta_server::http::serve(
            listener,
            app,
            Duration::from_secs(args.client_timeout_secs),
        )
        .await;
        Ok(())
    })
}
