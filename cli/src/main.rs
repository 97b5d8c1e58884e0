//! `restore-delta`: apply a restore-session PATCH body to a state file, from the shell.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand, ValueEnum};
use restore_delta::{
    Context, MissingRemoval, Options, SeededIds, Session, StateError, Timestamp, apply,
};

const APPLY_EXAMPLES: &str = "\
Examples:
  # The documented OneDrive example, reproducibly:
  restore-delta apply --state examples/onedrive.state.json \\
      --request examples/onedrive.request.json --now 2026-11-28T12:00:00Z --seed 7

  # The body from stdin, all or nothing, 204 when everything succeeds:
  echo '{\"driveRestoreArtifacts@delta\":[{\"@removed\":{},\"id\":\"a1\"}]}' |
      restore-delta apply --state state.json --request - --prefer 'return=minimal' --atomic

Output: one JSON document on stdout and a newline,
  {\"now\":\"<RFC 3339>\",\"seed\":N,\"response\":{\"status\":N,\"body\":...},\"state\":...}
where now and seed are the clock value and the seed the run used, given or defaulted: passing
them back as --now and --seed reproduces the output byte for byte. A default seed is below 2^53;
a seed given with --seed is written as given, every digit, up to 18446744073709551615.
Exit status: 0 whenever a response was produced, whatever its HTTP status; 1 if stdout can't be
written; 2, with nothing on stdout, for
  - a command line clap refuses (a missing or unknown flag, a bad number, a --missing-removal
    other than fail or succeed): clap's message on stderr, several lines naming the missing
    flags or the possible values, then the usage line;
  - an unreadable file, an invalid --now or --actor, both files on stdin, or a state the library
    can't work on: one line on stderr, starting with \"restore-delta: \".";

/// Reference semantics of Microsoft Graph's restore-session update (OData delta PATCH).
#[derive(Parser, Debug)]
#[command(name = "restore-delta", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply a PATCH body to a restore-session state; print the response and the new state.
    #[command(after_help = APPLY_EXAMPLES)]
    Apply(ApplyArgs),
}

#[derive(Args, Debug)]
struct ApplyArgs {
    /// The session state: one restore session as Graph JSON, collections expanded. `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// The PATCH body, e.g. {"driveRestoreArtifacts@delta": [...]}. `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    request: PathBuf,
    /// The request time, RFC 3339 (e.g. 2026-11-28T12:00:00Z); defaults to the current UTC time.
    /// The output's "now" is the one used, in UTC.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Seed of the generated artifact ids (e.g. 7); defaults to a random seed below 2^53. With
    /// --now, the output is byte-identical run after run. The output's "seed" is the one used.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    seed: Option<u64>,
    /// All or nothing: if any item fails, apply none and answer with an error listing every
    /// failure. Same as --prefer continue-on-error=false; wins over --prefer.
    #[arg(long)]
    atomic: bool,
    /// An HTTP Prefer header value, e.g. 'return=minimal' or 'continue-on-error=false'.
    /// May be repeated: the values are one list, and a preference given twice counts the first
    /// time (RFC 7240). The output's "preferenceApplied" names those honoured.
    #[arg(long, value_name = "VALUE")]
    prefer: Vec<String>,
    /// A service root an absolute restorePoint@odata.id may start with, besides Graph's own
    /// v1.0 and beta roots on graph.microsoft.com, e.g. `http://127.0.0.1:8080/v1.0/`.
    /// May be repeated.
    #[arg(long, value_name = "URL")]
    service_root: Vec<String>,
    /// The most items one request may carry (default 50).
    #[arg(long, value_name = "N")]
    max_items: Option<usize>,
    /// The largest body accepted, in bytes (default 1048576).
    #[arg(long, value_name = "N")]
    max_bytes: Option<usize>,
    /// The deepest nesting accepted in a body (default 64).
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,
    /// What a removal of an id that is not there does: fail with 409 (Graph) or succeed
    /// (OData 4.02 draft).
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = Missing::Fail)]
    missing_removal: Missing,
    /// The caller's identity, a JSON identitySet object such as
    /// {"user":{"id":"u1","displayName":"Ada"}}, written to lastModifiedBy.
    #[arg(long, value_name = "FILE")]
    actor: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Missing {
    /// 409 `Invalid`, as Graph documents.
    Fail,
    /// Success that changes nothing.
    Succeed,
}

/// A failure before a response exists: one line on stderr, exit 2.
struct Usage(String);

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's whole message: the missing flags, the possible values, the usage line.
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let Command::Apply(args) = cli.command;
    match run(args) {
        Ok(code) => code,
        Err(Usage(msg)) => {
            eprintln!("restore-delta: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(args: ApplyArgs) -> Result<ExitCode, Usage> {
    if args.state == Path::new("-") && args.request == Path::new("-") {
        return Err(Usage(
            "only one of --state and --request can read stdin".into(),
        ));
    }
    let now = match &args.now {
        Some(text) => Timestamp::parse_rfc3339(text).map_err(|e| Usage(format!("--now: {e}")))?,
        None => system_now()?,
    };
    let seed = args.seed.unwrap_or_else(random_seed);

    let mut options = Options::default();
    for p in &args.prefer {
        options = options.with_prefer(p);
    }
    for root in &args.service_root {
        options = options.with_service_root(root);
    }
    if args.atomic {
        options = options.with_atomic(true);
    }
    if let Some(n) = args.max_items {
        options = options.with_max_items(n);
    }
    if let Some(n) = args.max_bytes {
        options = options.with_max_bytes(n);
    }
    if let Some(n) = args.max_depth {
        options = options.with_max_depth(n);
    }
    options = options.with_missing_removal(match args.missing_removal {
        Missing::Fail => MissingRemoval::Fail,
        Missing::Succeed => MissingRemoval::Succeed,
    });

    let mut ctx = Context::new(now, SeededIds::new(seed));
    if let Some(path) = &args.actor {
        let bytes = read_input(path, None)?;
        let actor: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Usage(format!("--actor {}: not JSON: {e}", path.display())))?;
        if !actor.is_object() {
            return Err(Usage(format!(
                "--actor {}: must be a JSON object (an identitySet)",
                path.display()
            )));
        }
        ctx = ctx.with_actor(&actor);
    }

    let session = read_state(&args.state)?;
    // Reading one byte past the limit is enough to know the body is too large (rule E1).
    let request = read_input(&args.request, Some(options.max_bytes.saturating_add(1)))?;

    let applied = apply(session, &request, &options, &mut ctx);
    drop(request);
    let stdout = io::stdout();
    let mut w = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = write_output(&mut w, now, seed, &applied).and_then(|()| w.flush());
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("restore-delta: can't write stdout: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// `{"now":"<RFC 3339>","seed":N,"response":{"status":N,"body":...},"state":...}` and a newline,
/// the response and state written straight from the library's bytes (no second serialization of
/// the state). `now` and `seed` are the values the run used, given or defaulted, so that
/// `--now <now> --seed <seed>` replays it byte for byte.
fn write_output<W: Write>(
    w: &mut W,
    now: Timestamp,
    seed: u64,
    applied: &restore_delta::Applied,
) -> io::Result<()> {
    w.write_all(b"{\"now\":")?;
    serde_json::to_writer(&mut *w, &now.to_string())?;
    // The u64 as written by `Display`: every digit, never rounded through a float.
    write!(
        w,
        ",\"seed\":{seed},\"response\":{{\"status\":{},\"body\":",
        applied.response.status
    )?;
    match &applied.response.body {
        Some(body) => w.write_all(body.get().as_bytes())?,
        None => w.write_all(b"null")?,
    }
    // The `Preference-Applied` header's value (rule O8), or null.
    w.write_all(b",\"preferenceApplied\":")?;
    match &applied.response.preference_applied {
        Some(value) => serde_json::to_writer(&mut *w, value)?,
        None => w.write_all(b"null")?,
    }
    w.write_all(b"},\"state\":")?;
    applied.state.write_json(w)?;
    w.write_all(b"}\n")
}

/// Reads the state from a file, or stdin for `-`, as it is parsed: its bytes are never all in
/// memory beside the session (`Session::from_reader`).
fn read_state(path: &Path) -> Result<Session, Usage> {
    let fail = |e: &dyn std::fmt::Display| Usage(format!("can't read {}: {e}", path.display()));
    let read = if path == Path::new("-") {
        Session::from_reader(io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
        let len = file.metadata().map_or(0, |m| m.len());
        Session::from_reader_sized(file, len)
    };
    read.map_err(|e| match e {
        StateError::Unreadable { message } => fail(&message),
        e => Usage(format!("--state {}: {e}", path.display())),
    })
}

/// Reads a file, or stdin for `-`, at most `limit` bytes when given.
fn read_input(path: &Path, limit: Option<usize>) -> Result<Vec<u8>, Usage> {
    let fail = |e: io::Error| Usage(format!("can't read {}: {e}", path.display()));
    let mut buf = Vec::new();
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(fail)?)
    };
    match limit {
        Some(n) => reader
            .take(u64::try_from(n).unwrap_or(u64::MAX))
            .read_to_end(&mut buf),
        None => {
            let mut r = reader;
            r.read_to_end(&mut buf)
        }
    }
    .map_err(fail)?;
    Ok(buf)
}

fn system_now() -> Result<Timestamp, Usage> {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| Usage(format!("the system clock is before 1970: {e}")))?;
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    Timestamp::from_unix(secs, d.subsec_nanos()).map_err(|e| Usage(format!("system clock: {e}")))
}

/// The largest seed `random_seed` draws: 2^53 - 1, so that the `"seed"` of a run without
/// `--seed` reads back exactly even in JSON readers that hold numbers as doubles.
const RANDOM_SEED_MAX: u64 = (1 << 53) - 1;

/// A seed nobody chose: std's per-process hash keys mixed with the clock, cut to 53 bits.
fn random_seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    if let Ok(d) = SystemTime::now().duration_since(UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.write_u32(std::process::id());
    h.finish() & RANDOM_SEED_MAX
}
