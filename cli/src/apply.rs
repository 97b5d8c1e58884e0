//! `restore-delta apply`: a PATCH body applied to a state file.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use restore_delta::{Context, SeededIds, Timestamp, apply};

use crate::common::{OptionArgs, Usage, one_stdin, read_input, read_state};

pub const APPLY_EXAMPLES: &str = "\
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

#[derive(Args, Debug)]
pub struct ApplyArgs {
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
    #[command(flatten)]
    options: OptionArgs,
    /// The caller's identity, a JSON identitySet object such as
    /// {"user":{"id":"u1","displayName":"Ada"}}, written to lastModifiedBy.
    #[arg(long, value_name = "FILE")]
    actor: Option<PathBuf>,
}

pub fn run(args: ApplyArgs) -> Result<ExitCode, Usage> {
    one_stdin([
        ("--state", args.state.as_path()),
        ("--request", args.request.as_path()),
    ])?;
    let now = match &args.now {
        Some(text) => Timestamp::parse_rfc3339(text).map_err(|e| Usage(format!("--now: {e}")))?,
        None => system_now()?,
    };
    let seed = args.seed.unwrap_or_else(random_seed);
    let options = args.options.options();

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
        applied.answer.response.status
    )?;
    match &applied.answer.response.body {
        Some(body) => w.write_all(body.get().as_bytes())?,
        None => w.write_all(b"null")?,
    }
    // The `Preference-Applied` header's value (rule O8), or null.
    w.write_all(b",\"preferenceApplied\":")?;
    match &applied.answer.response.preference_applied {
        Some(value) => serde_json::to_writer(&mut *w, value)?,
        None => w.write_all(b"null")?,
    }
    w.write_all(b"},\"state\":")?;
    applied.state.write_json(w)?;
    w.write_all(b"}\n")
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
