//! `restore-delta conform`: tests a live server through Graph's public restore-session
//! endpoints, judging every answer with the reference (rules C1–C3, L1–L9).

mod client;
mod repro;
mod session;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use restore_delta::check::{Difference, Ignore, Profile, Settings, Verdict};
use restore_delta::generate::Mix;
use restore_delta::{Options, RuleId, SessionKind};
use serde_json::{Value, json};

use crate::common::{KindArg, MixArg, OptionArgs, Usage};
use client::{Client, Exchange, Trust};

pub const CONFORM_EXAMPLES: &str = "\
Examples:
  # The local server (cargo run -p restore-delta-server -- --in-memory), 200 PATCHes:
  restore-delta conform --url http://127.0.0.1:8080/v1.0 --max-requests 200

  # Over HTTPS with the server's local CA, reports for CI, reproducers of the first failure:
  restore-delta conform --url https://127.0.0.1:8443/v1.0 --ca-cert restore.db.tls/ca.pem \\
      --report junit=conform.xml --report json=conform.json --report har=conform.har \\
      --reproducers failing/

  # A test tenant of Graph, gently, with a token and real restore points:
  RESTORE_DELTA_TOKEN=$(cat token) restore-delta conform --url https://graph.microsoft.com/beta \\
      --restore-points rps.txt --rate 2 --concurrency 1 --max-requests 100

  # After a fix: the reproducers again; after a run that was killed: its sessions deleted.
  restore-delta conform replay failing/ --url http://127.0.0.1:8080/v1.0
  restore-delta conform cleanup failing/conform-ledger.jsonl --url http://127.0.0.1:8080/v1.0

It creates its own draft sessions (POST), PATCHes generated delta bodies on them as sequences,
reads their collections back, and deletes them at the end (also after Ctrl-C or a fatal error;
--keep keeps them); it never touches a session it did not create, never activates one, and
uses no /_restore-delta/ endpoint. Every answer is judged by the reference check; 429 and 503
are retried (honouring Retry-After, bounded) and never counted as findings.
Exit status: 0 no finding; 1 findings; 2 usage error, target unreachable, or the target
refusing the credentials (401 or 403 to every create) (one line on stderr); 130 after Ctrl-C (sessions deleted, the report covers what ran).";

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ConformArgs {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// Runs the reproducers of DIR (written by --reproducers) again against SERVICE_ROOT, each
    /// from a session's creation; exit 0 when none fails any more.
    Replay(ReplayArgs),
    /// Deletes the sessions a killed run left, as its ledger lists them.
    Cleanup(CleanupArgs),
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// The reproducers' directory (or one reproducer's).
    dir: PathBuf,
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    judge: JudgeArgs,
}

#[derive(Args, Debug)]
struct CleanupArgs {
    /// The ledger a run wrote (its path is printed at the start of the run).
    ledger: PathBuf,
    #[command(flatten)]
    conn: Conn,
}

/// How the target is reached.
#[derive(Args, Debug, Clone)]
struct Conn {
    /// The service root, as a Graph SDK is given it: http://127.0.0.1:8080/v1.0,
    /// https://graph.microsoft.com/beta.
    #[arg(long, value_name = "SERVICE_ROOT", required = true)]
    url: Option<String>,
    /// A bearer token in FILE (its first line), sent as `Authorization: Bearer …`. Also from
    /// the RESTORE_DELTA_TOKEN environment variable (a token on the command line is readable
    /// by every local user).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// A header sent with every request, `Name: value`. May be repeated.
    #[arg(long, value_name = "HEADER")]
    header: Vec<String>,
    /// Trust only the CA certificate(s) in FILE (PEM), e.g. the local server's --tls CA.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    ca_cert: Option<PathBuf>,
    /// Accept any certificate (a self-signed test server).
    #[arg(long)]
    insecure: bool,
    /// Seconds before a request without an answer is a transport finding.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
}

/// How answers are judged.
#[derive(Args, Debug)]
struct JudgeArgs {
    #[command(flatten)]
    options: OptionArgs,
    /// What is tolerated: exact, default, docs (as `check --profile`).
    #[arg(long, value_enum, value_name = "PROFILE", default_value_t = ProfileArg::Default)]
    profile: ProfileArg,
    /// Differences to accept, by rule id or kind, as a comma list (as `check --ignore`).
    #[arg(long, value_name = "LIST")]
    ignore: Vec<String>,
    /// How far apart, in seconds, the times a server stamps may be.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    time_window: f64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProfileArg {
    Exact,
    Default,
    Docs,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    judge: JudgeArgs,
    /// The session kinds to create (default: all three). May be repeated.
    #[arg(long, value_enum, value_name = "KIND")]
    kind: Vec<KindArg>,
    /// What the generated bodies are like.
    #[arg(long, value_enum, value_name = "MIX", default_value_t = MixArg::Mixed)]
    mix: MixArg,
    /// The seed: the same seed and flags send the same requests per session (bodies equal
    /// once the server's ids are substituted).
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// How many sessions to run (default 4, unless --max-requests or --duration is given).
    #[arg(long, value_name = "K")]
    sessions: Option<u64>,
    /// PATCHes per session.
    #[arg(long, value_name = "K", default_value_t = 25)]
    steps: usize,
    /// Stop after about this many requests.
    #[arg(long, value_name = "N")]
    max_requests: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Requests per second at most, over all sessions (0: no limit).
    #[arg(long, value_name = "PER_SEC", default_value_t = 10.0)]
    rate: f64,
    /// Sessions run at once.
    #[arg(long, value_name = "C", default_value_t = 1)]
    concurrency: usize,
    /// Read each session's collection back every K PATCHes (and at the end).
    #[arg(long, value_name = "K", default_value_t = 5)]
    read_back_every: usize,
    /// Stop at the first finding.
    #[arg(long)]
    fail_fast: bool,
    /// Also write `junit=FILE` (one test case per rule), `json=FILE` or `har=FILE` (every
    /// exchange of the run). May be repeated.
    #[arg(long, value_name = "KIND=FILE")]
    report: Vec<String>,
    /// Write the first failing sequence, shrunk on fresh sessions, into DIR: steps.json, a
    /// vector with `observed`, a HAR and repro.sh (curl and python3); the ledger goes there.
    #[arg(long, value_name = "DIR")]
    reproducers: Option<PathBuf>,
    /// Keep the sessions created (not deleted at the end).
    #[arg(long)]
    keep: bool,
    /// Restore point ids that exist on the target (one a line): additions name these instead
    /// of made-up ones (needed against Graph itself).
    #[arg(long, value_name = "FILE")]
    restore_points: Option<PathBuf>,
}

/// One thing the server did otherwise than the reference.
#[derive(Clone, Debug)]
pub struct Finding {
    /// `check` (an answer to a PATCH), `lifecycle` (create, read, delete), `state` (stored
    /// otherwise than answered), `transport`, `credentials` (a create refused with 401 or 403).
    pub kind: &'static str,
    pub rule: Option<String>,
    pub session: String,
    pub step: Option<usize>,
    pub method: String,
    pub url: String,
    pub pointer: String,
    pub what: String,
    pub expected: Option<Value>,
    pub observed: Option<Value>,
    /// After a step whose effect was unknown.
    pub uncertain: bool,
}

impl Finding {
    fn base(x: &Exchange, session: &str, kind: &'static str) -> Finding {
        Finding {
            kind,
            rule: None,
            session: session.to_owned(),
            step: None,
            method: x.method.clone(),
            url: x.url.clone(),
            pointer: String::new(),
            what: String::new(),
            expected: None,
            observed: None,
            uncertain: false,
        }
    }

    pub fn transport(x: &Exchange, error: &str, session: Option<&str>) -> Finding {
        let mut f = Finding::base(x, session.unwrap_or_default(), "transport");
        f.what = "transport".into();
        f.observed = Some(json!(error));
        f
    }

    /// The target refused the credentials (401 or 403) where a session was to be created.
    pub fn credentials(x: &Exchange, status: u16, body: Option<&Value>) -> Finding {
        let mut f = Finding::base(x, "", "credentials");
        f.what = "credentials".into();
        let error = |member: &str| {
            body.and_then(|b| b.pointer(&format!("/error/{member}")))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let mut said = format!("{status}");
        if let Some(code) = error("code") {
            said.push_str(&format!(" {code}"));
        }
        if let Some(message) = error("message") {
            said.push_str(&format!(" ({message})"));
        }
        f.observed = Some(json!(said));
        f
    }

    pub fn lifecycle(
        x: &Exchange,
        session: &str,
        step: Option<usize>,
        d: crate::live::Diff,
    ) -> Finding {
        let mut f = Finding::base(x, session, "lifecycle");
        f.rule = Some(d.rule.to_owned());
        f.step = step;
        f.pointer = d.pointer;
        f.what = "value".into();
        f.expected = d.expected;
        f.observed = d.observed;
        f
    }

    pub fn from_difference(x: &Exchange, session: &str, step: usize, d: &Difference) -> Finding {
        let mut f = Finding::base(x, session, "check");
        f.rule = d.rule.map(|r| r.as_str().to_owned());
        f.step = Some(step);
        f.pointer = d.pointer.clone();
        f.what = d.kind.as_str().to_owned();
        f.expected = d.expected.clone();
        f.observed = d.observed.clone();
        f
    }

    /// The name the per-rule table and JUnit file it under: the rule, or the kind.
    pub fn name(&self) -> String {
        match (self.kind, &self.rule) {
            ("state" | "transport", _) => self.kind.to_owned(),
            (_, Some(r)) => r.clone(),
            (k, None) => k.to_owned(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "kind": self.kind, "rule": self.rule, "session": self.session, "step": self.step,
            "method": self.method, "url": self.url, "pointer": self.pointer, "what": self.what,
            "expected": self.expected, "observed": self.observed, "uncertain": self.uncertain,
        })
    }

    fn line(&self) -> String {
        let short = |v: &Option<Value>| match v {
            None => "nothing".to_owned(),
            Some(v) => {
                let t = v.to_string();
                if t.chars().count() > 80 {
                    format!("{}…", t.chars().take(80).collect::<String>())
                } else {
                    t
                }
            }
        };
        format!(
            "[{}] {} {} (session {}{}){}: {} {}: expected {}, observed {}",
            self.name(),
            self.method,
            self.url,
            self.session,
            self.step
                .map(|s| format!(", step {}", s + 1))
                .unwrap_or_default(),
            if self.uncertain {
                " (after an uncertain step)"
            } else {
                ""
            },
            self.pointer,
            self.what,
            short(&self.expected),
            short(&self.observed)
        )
    }
}

/// The sessions the run created and has not deleted, on disk, so that a killed run's can be
/// deleted by `conform cleanup`.
pub struct Ledger {
    file: Mutex<Option<std::fs::File>>,
    open: Mutex<Vec<String>>,
}

impl Ledger {
    fn new(path: PathBuf) -> Result<Ledger, Usage> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Usage(format!("the ledger {}: {e}", path.display())))?;
        Ok(Ledger {
            file: Mutex::new(Some(file)),
            open: Mutex::new(Vec::new()),
        })
    }

    fn write(&self, line: Value) {
        if let Some(f) = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
        {
            let _ = writeln!(f, "{line}");
            let _ = f.sync_data();
        }
    }

    pub fn created(&self, url: &str) {
        self.write(json!({"created": url}));
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(url.to_owned());
    }

    pub fn deleted(&self, url: &str) {
        self.write(json!({"deleted": url}));
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|u| u != url);
    }

    fn open_sessions(&self) -> Vec<String> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The sessions a ledger file lists as created and not deleted.
fn ledger_open(path: &Path) -> Result<Vec<String>, Usage> {
    let text = std::fs::read_to_string(path).map_err(|e| Usage::unreadable(path, &e))?;
    let mut open: Vec<String> = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        if let Some(u) = v.get("created").and_then(Value::as_str) {
            open.push(u.to_owned());
        }
        if let Some(u) = v.get("deleted").and_then(Value::as_str) {
            open.retain(|o| o != u);
        }
    }
    Ok(open)
}

/// Restore points that exist on the target, handed out in order of first use.
pub struct RestorePoints {
    ids: Vec<String>,
    given: Mutex<BTreeMap<String, String>>,
}

impl RestorePoints {
    /// The body with each made-up restore point (`"rp-…"`) replaced by a real one.
    pub fn apply(&self, body: &[u8]) -> Vec<u8> {
        let Ok(text) = std::str::from_utf8(body) else {
            return body.to_vec();
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut given = self
            .given
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(at) = rest.find("\"rp-") {
            out.push_str(rest.get(..=at).unwrap_or_default());
            let tail = rest.get(at + 1..).unwrap_or_default();
            let end = tail.find('"').unwrap_or(tail.len());
            let name = tail.get(..end).unwrap_or_default();
            let n = given.len();
            let real = given
                .entry(name.to_owned())
                .or_insert_with(|| {
                    self.ids
                        .get(n % self.ids.len().max(1))
                        .cloned()
                        .unwrap_or_default()
                })
                .clone();
            out.push_str(&real);
            rest = tail.get(end..).unwrap_or_default();
        }
        out.push_str(rest);
        out.into_bytes()
    }
}

/// What the target is and how it is judged.
pub struct Target {
    /// The service root without its final `/`.
    pub root: String,
    /// The server's settings (limits, roots, the removal policy).
    pub options: Options,
}

/// A run's shared state.
pub struct Run {
    pub client: Client,
    pub target: Target,
    pub settings: Settings,
    pub seed: u64,
    pub kinds: Vec<SessionKind>,
    pub mix: Mix,
    pub steps: usize,
    pub read_back_every: usize,
    pub keep: bool,
    pub fail_fast: bool,
    pub restore_points: Option<RestorePoints>,
    pub ledger: Ledger,
    pub stop: Arc<AtomicBool>,
    pub sent: AtomicU64,
    pub judged: AtomicU64,
    pub findings: AtomicU64,
    /// The number of requests sent when the first finding was made (`u64::MAX`: none yet).
    pub first_finding_at: AtomicU64,
    pub max_requests: Option<u64>,
    pub deadline: Option<Instant>,
    /// Per rule: exchanges it decided, exchanges that disagreed.
    pub rules: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl Run {
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Exchange {
        self.sent.fetch_add(1, Ordering::Relaxed);
        // A body over the byte limit changes nothing (rule E1): sent again if the server
        // closed the connection before answering it.
        let over = body.is_some_and(|b| b.len() > self.target.options.max_bytes);
        self.client
            .send_retrying(method, url, headers, body, if over { 3 } else { 0 })
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
            || self
                .max_requests
                .is_some_and(|m| self.sent.load(Ordering::Relaxed) >= m)
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Counts a judged PATCH for the rules that decided it, and against those it disagreed on.
    pub fn tally(&self, rules: &[RuleId], verdict: &Verdict) {
        self.judged.fetch_add(1, Ordering::Relaxed);
        let mut table = self
            .rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for r in rules {
            table.entry(r.as_str().to_owned()).or_default().0 += 1;
        }
        let mut against: Vec<String> = verdict
            .differences
            .iter()
            .map(|d| d.rule.map_or("-".to_owned(), |r| r.as_str().to_owned()))
            .collect();
        against.sort();
        against.dedup();
        for r in against {
            let e = table.entry(r).or_default();
            e.1 += 1;
            if e.0 < e.1 {
                e.0 = e.1;
            }
        }
    }
}

fn headers(conn: &Conn) -> Result<Vec<(String, String)>, Usage> {
    let mut out = Vec::new();
    let token = match &conn.token_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| Usage::unreadable(f, &e))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
        ),
        None => std::env::var("RESTORE_DELTA_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    };
    if let Some(t) = token {
        out.push(("Authorization".to_owned(), format!("Bearer {t}")));
    }
    for h in &conn.header {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| Usage(format!("--header {h:?}: expected 'Name: value'")))?;
        out.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(out)
}

fn client(conn: &Conn, rate: f64, keep_log: bool) -> Result<Client, Usage> {
    let trust = match (&conn.ca_cert, conn.insecure) {
        (Some(f), _) => Trust::CaFile(f),
        (None, true) => Trust::Insecure,
        (None, false) => Trust::System,
    };
    if !(conn.timeout.is_finite() && conn.timeout > 0.0) {
        return Err(Usage(format!(
            "--timeout {}: must be positive",
            conn.timeout
        )));
    }
    Client::new(
        trust,
        headers(conn)?,
        rate,
        Duration::from_secs_f64(conn.timeout),
        keep_log,
    )
}

fn root(conn: &Conn) -> Result<String, Usage> {
    let url = conn.url.clone().unwrap_or_default();
    let root = url.trim_end_matches('/').to_owned();
    if !(root.starts_with("http://") || root.starts_with("https://")) || root.len() < 10 {
        return Err(Usage(format!(
            "--url {url:?}: expected a service root such as http://127.0.0.1:8080/v1.0"
        )));
    }
    Ok(root)
}

fn settings(judge: &JudgeArgs) -> Result<Settings, Usage> {
    if !(judge.time_window.is_finite() && judge.time_window >= 0.0) {
        return Err(Usage(format!(
            "--time-window {}: must be 0 or more",
            judge.time_window
        )));
    }
    let profile = match judge.profile {
        ProfileArg::Exact => Profile::Exact,
        ProfileArg::Default => Profile::Default,
        ProfileArg::Docs => Profile::Docs,
    };
    let mut s = Settings::default()
        .with_profile(profile)
        .with_time_window(judge.time_window);
    for list in &judge.ignore {
        for name in list.split(',') {
            let i: Ignore = name
                .parse()
                .map_err(|e| Usage(format!("--ignore {list}: {e}")))?;
            s = s.ignoring(i);
        }
    }
    Ok(s)
}

/// The server's settings: the flags, and the target's own v1.0 and beta roots (rule A2).
fn target(conn: &Conn, judge: &JudgeArgs) -> Result<Target, Usage> {
    let root = root(conn)?;
    let origin = root
        .rsplit_once('/')
        .map_or(root.as_str(), |(o, _)| o)
        .to_owned();
    let mut options = judge.options.server_options();
    for v in ["v1.0", "beta"] {
        options = options.with_service_root(&format!("{origin}/{v}/"));
    }
    Ok(Target { root, options })
}

pub fn run(args: ConformArgs) -> Result<ExitCode, Usage> {
    match args.command {
        Some(Sub::Replay(r)) => return repro::replay(&r.dir, &r.conn, &r.judge),
        Some(Sub::Cleanup(c)) => return cleanup(&c),
        None => {}
    }
    let a = args.run;
    let reports = a
        .report
        .iter()
        .map(|r| {
            let (kind, file) = r
                .split_once('=')
                .filter(|(k, f)| matches!(*k, "junit" | "json" | "har") && !f.is_empty())
                .ok_or_else(|| {
                    Usage(format!(
                        "--report {r}: expected junit=FILE, json=FILE or har=FILE"
                    ))
                })?;
            Ok((kind.to_owned(), PathBuf::from(file)))
        })
        .collect::<Result<Vec<_>, Usage>>()?;
    let want_har = reports.iter().any(|(k, _)| k == "har");
    if a.concurrency == 0 || a.steps == 0 || a.read_back_every == 0 {
        return Err(Usage(
            "--concurrency, --steps and --read-back-every must be at least 1".into(),
        ));
    }
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        return Err(Usage(format!(
            "--rate {}: must be 0 (no limit) or more",
            a.rate
        )));
    }
    let restore_points = match &a.restore_points {
        None => None,
        Some(f) => {
            let ids: Vec<String> = std::fs::read_to_string(f)
                .map_err(|e| Usage::unreadable(f, &e))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
            if ids.is_empty() {
                return Err(Usage(format!(
                    "--restore-points {}: no id in it",
                    f.display()
                )));
            }
            Some(RestorePoints {
                ids,
                given: Mutex::new(BTreeMap::new()),
            })
        }
    };
    let ledger_path = match &a.reproducers {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Usage(format!("--reproducers {}: {e}", dir.display())))?;
            dir.join("conform-ledger.jsonl")
        }
        None => std::env::temp_dir().join(format!(
            "restore-delta-conform-{}-{}.jsonl",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        )),
    };
    let kinds: Vec<SessionKind> = if a.kind.is_empty() {
        SessionKind::ALL.to_vec()
    } else {
        a.kind.iter().map(|k| k.kind()).collect()
    };
    let sessions = a
        .sessions
        .unwrap_or(if a.max_requests.is_some() || a.duration.is_some() {
            u64::MAX
        } else {
            4
        });
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                eprintln!(
                    "\nrestore-delta: interrupted twice: exiting; `conform cleanup` deletes what is left"
                );
                std::process::exit(130);
            }
            eprintln!(
                "\nrestore-delta: interrupted: finishing the requests in flight, deleting the sessions"
            );
        });
    }
    let run = Arc::new(Run {
        client: client(&a.conn, a.rate, want_har || a.reproducers.is_some())?,
        target: target(&a.conn, &a.judge)?,
        settings: settings(&a.judge)?,
        seed: a.seed,
        kinds,
        mix: a.mix.mix(),
        steps: a.steps,
        read_back_every: a.read_back_every,
        keep: a.keep,
        fail_fast: a.fail_fast,
        restore_points,
        ledger: Ledger::new(ledger_path.clone())?,
        stop: stop.clone(),
        sent: AtomicU64::new(0),
        judged: AtomicU64::new(0),
        findings: AtomicU64::new(0),
        first_finding_at: AtomicU64::new(u64::MAX),
        max_requests: a.max_requests,
        deadline: a
            .duration
            .map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0))),
        rules: Mutex::new(BTreeMap::new()),
    });
    eprintln!(
        "restore-delta: ledger of the sessions created: {}",
        ledger_path.display()
    );
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let all: Arc<Mutex<Vec<Finding>>> = Arc::new(Mutex::new(Vec::new()));
    let failing: Arc<Mutex<Option<(u64, session::Plan, session::Record)>>> =
        Arc::new(Mutex::new(None));
    let created_any = Arc::new(AtomicBool::new(false));
    let progress = std::io::stderr().is_terminal().then(|| {
        let run = run.clone();
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let handle = std::thread::spawn(move || {
            while !d.load(Ordering::SeqCst) {
                let secs = started.elapsed().as_secs_f64();
                let n = run.judged.load(Ordering::Relaxed);
                eprint!(
                    "\r{n} exchanges judged, {} findings, {:.0}/s, {secs:.0} s   ",
                    run.findings.load(Ordering::Relaxed),
                    n as f64 / secs.max(0.001)
                );
                std::thread::sleep(Duration::from_millis(250));
            }
            eprintln!();
        });
        (done, handle)
    });
    let workers: Vec<_> = (0..a.concurrency)
        .map(|_| {
            let (run, next, all, failing, created_any) = (
                run.clone(),
                next.clone(),
                all.clone(),
                failing.clone(),
                created_any.clone(),
            );
            std::thread::spawn(move || {
                loop {
                    if run.stopping() {
                        break;
                    }
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= sessions {
                        break;
                    }
                    let (found, record) = session::run_session(&run, n);
                    if found
                        .iter()
                        .all(|f| !matches!(f.kind, "transport" | "credentials"))
                        || run.judged.load(Ordering::Relaxed) > 0
                    {
                        created_any.store(true, Ordering::SeqCst);
                    }
                    run.findings
                        .fetch_add(found.len() as u64, Ordering::Relaxed);
                    all.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend(found);
                    if let Some((plan, record)) = record {
                        let mut slot = failing
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        if slot.as_ref().is_none_or(|(m, _, _)| n < *m) {
                            *slot = Some((n, plan, record));
                        }
                    }
                }
            })
        })
        .collect();
    let mut crashed = false;
    for w in workers {
        crashed |= w.join().is_err();
    }
    if let Some((done, handle)) = progress {
        done.store(true, Ordering::SeqCst);
        let _ = handle.join();
    }
    // Whatever happened (Ctrl-C, a crash, a stop), the sessions created are deleted.
    let interrupted = stop.load(Ordering::SeqCst) && !a.fail_fast;
    if !a.keep {
        for url in run.ledger.open_sessions() {
            let x = run.client.send("DELETE", &url, &[], None);
            if matches!(&x.answer, Ok(a) if matches!(a.status, 204 | 404)) {
                run.ledger.deleted(&url);
            }
        }
    }
    let left = run.ledger.open_sessions();
    if left.is_empty() && a.reproducers.is_none() && !a.keep {
        let _ = std::fs::remove_file(&ledger_path);
    }
    let findings = std::mem::take(
        &mut *all
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let elapsed = started.elapsed().as_secs_f64();
    if !created_any.load(Ordering::SeqCst) && run.judged.load(Ordering::Relaxed) == 0 {
        if let Some(f) = findings.iter().find(|f| f.kind == "credentials") {
            let said = f.observed.as_ref().and_then(Value::as_str).unwrap_or("401");
            return Err(Usage(format!(
                "{}: the target refused the credentials: {said} to {} {}; give a token with \
                 --token-file, RESTORE_DELTA_TOKEN or --header 'Authorization: Bearer …'",
                run.target.root, f.method, f.url
            )));
        }
        let why = findings
            .iter()
            .find(|f| f.kind == "transport")
            .and_then(|f| f.observed.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| "no session could be created".into());
        return Err(Usage(format!("{}: unreachable: {why}", run.target.root)));
    }
    let mut repro_dir = None;
    let failing = failing
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let (Some(dir), Some((_, plan, record))) = (&a.reproducers, failing)
        && !interrupted
    {
        run.stop.store(false, Ordering::SeqCst);
        repro_dir = repro::shrink_and_write(&run, dir, &plan, &record)?;
    }
    let har_log = run.client.take_log();
    let summary = summary(&run, &findings, elapsed);
    for (kind, file) in &reports {
        let text = match kind.as_str() {
            "junit" => junit(&run, &findings),
            "json" => {
                let mut v = summary.clone();
                if let Some(o) = v.as_object_mut() {
                    o.insert(
                        "findings".into(),
                        Value::Array(findings.iter().map(Finding::to_json).collect()),
                    );
                }
                v.to_string()
            }
            _ => client::har(&har_log).to_string(),
        };
        std::fs::write(file, text)
            .map_err(|e| Usage(format!("can't write {}: {e}", file.display())))?;
    }
    print(
        &run,
        &findings,
        elapsed,
        repro_dir.as_deref(),
        &left,
        crashed,
    );
    Ok(if interrupted {
        ExitCode::from(130)
    } else if findings.is_empty() && !crashed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn summary(run: &Run, findings: &[Finding], elapsed: f64) -> Value {
    let rules = run
        .rules
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    json!({
        "url": run.target.root, "seed": run.seed,
        "requests": run.sent.load(Ordering::Relaxed),
        "exchanges_judged": run.judged.load(Ordering::Relaxed),
        "first_finding_at_request": match run.first_finding_at.load(Ordering::Relaxed) {
            u64::MAX => Value::Null,
            n => json!(n),
        },
        "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
        "conformant": findings.is_empty(),
        "rules": rules.iter().map(|(r, (d, x))| (r.clone(), json!({"decided": d, "disagreed": x}))).collect::<serde_json::Map<_, _>>(),
    })
}

fn print(
    run: &Run,
    findings: &[Finding],
    elapsed: f64,
    repro: Option<&Path>,
    left: &[String],
    crashed: bool,
) {
    let out = std::io::stdout();
    let mut w = out.lock();
    let judged = run.judged.load(Ordering::Relaxed);
    let _ = writeln!(
        w,
        "{} requests, {judged} PATCH exchanges judged in {elapsed:.1} s ({:.0}/s): {}",
        run.sent.load(Ordering::Relaxed),
        judged as f64 / elapsed.max(0.001),
        if findings.is_empty() {
            "no finding".to_owned()
        } else {
            format!("{} finding(s)", findings.len())
        }
    );
    let _ = writeln!(w, "{:<10} {:>9} {:>10}", "rule", "decided", "disagreed");
    let rules = run
        .rules
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (r, (d, x)) in rules.iter() {
        let _ = writeln!(w, "{r:<10} {d:>9} {x:>10}");
    }
    let mut other: BTreeMap<String, u64> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.kind != "check") {
        *other.entry(f.name()).or_default() += 1;
    }
    for (name, n) in other {
        let _ = writeln!(w, "{name:<10} {:>9} {n:>10}", "-");
    }
    for f in findings.iter().take(20) {
        let _ = writeln!(w, "  {}", f.line());
    }
    if findings.len() > 20 {
        let _ = writeln!(
            w,
            "  … {} more (--report json=FILE lists them all)",
            findings.len() - 20
        );
    }
    if let Some(dir) = repro {
        let _ = writeln!(
            w,
            "reproducer: {} (replay: restore-delta conform replay {} --url {})",
            dir.display(),
            dir.display(),
            run.target.root
        );
    }
    if !left.is_empty() {
        let _ = writeln!(
            w,
            "{} session(s) not deleted (--keep, or deletes that failed): {}",
            left.len(),
            left.join(" ")
        );
    }
    if crashed {
        let _ = writeln!(w, "a worker stopped on an internal error; please report it");
    }
}

fn junit(run: &Run, findings: &[Finding]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .chars()
            .map(|c| {
                if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') {
                    '?'
                } else {
                    c
                }
            })
            .collect::<String>()
    };
    let rules = run
        .rules
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut names: Vec<String> = rules.keys().cloned().collect();
    for f in findings {
        if !names.contains(&f.name()) {
            names.push(f.name());
        }
    }
    let failing = names
        .iter()
        .filter(|n| findings.iter().any(|f| &f.name() == *n))
        .count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let head = format!(
        "name=\"restore-delta conform {}\" tests=\"{}\" failures=\"{failing}\" errors=\"0\"",
        esc(&run.target.root),
        names.len()
    );
    x.push_str(&format!(
        "<testsuites {head}>\n  <testsuite {head} skipped=\"0\">\n"
    ));
    for n in &names {
        let mine: Vec<&Finding> = findings.iter().filter(|f| &f.name() == n).collect();
        let decided = rules.get(n).map_or(0, |r| r.0);
        x.push_str(&format!(
            "    <testcase classname=\"restore-delta.conform\" name=\"{}\"",
            esc(n)
        ));
        if mine.is_empty() {
            x.push_str(&format!(
                "><system-out>{decided} exchange(s) decided by {}</system-out></testcase>\n",
                esc(n)
            ));
            continue;
        }
        let lines: Vec<String> = mine.iter().map(|f| f.line()).collect();
        x.push_str(&format!(
            ">\n      <failure type=\"not conformant\" message=\"{} finding(s)\">{}</failure>\n    </testcase>\n",
            mine.len(),
            esc(&lines.join("\n"))
        ));
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn cleanup(c: &CleanupArgs) -> Result<ExitCode, Usage> {
    let open = ledger_open(&c.ledger)?;
    let client = client(&c.conn, 0.0, false)?;
    let ledger = Ledger::new(c.ledger.clone())?;
    let mut left = 0;
    for url in &open {
        let x = client.send("DELETE", url, &[], None);
        match &x.answer {
            Ok(a) if matches!(a.status, 204 | 404) => {
                ledger.deleted(url);
                println!("deleted {url} ({})", a.status);
            }
            Ok(a) => {
                left += 1;
                println!("not deleted {url}: {}", a.status);
            }
            Err(e) => {
                left += 1;
                println!("not deleted {url}: {e}");
            }
        }
    }
    println!("{} session(s) deleted, {left} left", open.len() - left);
    Ok(if left == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
