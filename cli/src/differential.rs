//! `restore-delta differential`: generated cases run through another implementation (an
//! external command), each answer judged against the reference; the first disagreement is
//! minimised and written as a vector file.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use clap::Args;
use restore_delta::Session;
use restore_delta::check::{Observed, Settings, Verdict, check};
use restore_delta::generate::Case;
use serde_json::{Value, json};

use crate::common::Usage;
use crate::generate::Knobs;

pub const DIFFERENTIAL_EXAMPLES: &str = "\
Examples:
  # 500 generated cases through another implementation:
  restore-delta differential --cmd './my-server-adapter' --seed 1 --count 500

  # Hostile bodies only, the disagreement written to a chosen file:
  restore-delta differential --cmd 'python3 adapter.py' --seed 2 --count 200 --mix hostile \\
      --out hostile-failure.json

Protocol: for each case, CMD is run with `sh -c CMD`, once per case. Its stdin is one line of
JSON, the case's inputs in the vectors format of docs/VECTORS.md:
  {\"state\":...,\"request\":\"<body text>\" or \"request_hex\":\"<hex>\",\"options\":{...},\"now\":\"<RFC 3339>\",\"seed\":N}
Its stdout must be one JSON object, the answer:
  {\"status\":N,\"body\":<JSON or null>,\"preference_applied\":<string or null>,\"state\":<JSON>}
(`state`, the session after, may be left out: then only the response is judged;
`preference_applied` left out means none), or {\"state_error\":true} for a state it refuses.
Each answer is judged as `restore-delta check` judges an exchange (the default profile: ids,
times and the caller are the server's choice; the rest is exact), and `preference_applied`
exactly. A command that exits without a JSON answer disagrees.
At the first disagreement the case is minimised (fewest items, then the smallest state and
options, greedily, keeping any disagreement) and written to --out as a vector (the reference's
`expected`) with one member more, `observed`: the command's answer to the minimised case.
Exit status: 0 when every case agrees; 1 at a disagreement (the file written) or when the file
can't be written; 2 for a command line clap refuses or a command that can't be started.";

#[derive(Args, Debug)]
pub struct DifferentialArgs {
    /// The implementation under test: a shell command that reads a case on stdin and writes its
    /// answer on stdout (see the protocol below).
    #[arg(long, value_name = "CMD")]
    cmd: String,
    #[command(flatten)]
    knobs: Knobs,
    /// Where the minimised disagreement is written.
    #[arg(long, value_name = "FILE", default_value = "differential-failure.json")]
    out: PathBuf,
}

pub fn run(args: DifferentialArgs) -> Result<ExitCode, Usage> {
    let settings = Settings::default();
    for (i, case) in args.knobs.generator().take(args.knobs.count).enumerate() {
        let Some(first) = disagreement(&args.cmd, &case, &settings)? else {
            continue;
        };
        let mut failed = Ok(());
        let small = case.shrink(|c| match disagreement(&args.cmd, c, &settings) {
            Ok(d) => d.is_some(),
            Err(e) => {
                failed = Err(e);
                false
            }
        });
        failed?;
        // Asked again: the minimised case's disagreement, to report and to keep as `observed`.
        let last = disagreement(&args.cmd, &small, &settings)?.unwrap_or(first);
        let description = format!(
            "Disagreement of `{}` on case {i} of `restore-delta differential {}`, minimised \
             from {} to {} item(s) and a state of {} to {} bytes: {}.",
            args.cmd,
            args.knobs.flags(),
            item_count(&case),
            item_count(&small),
            case.state.len(),
            small.state.len(),
            last.what
        );
        let vector = small
            .vector(&description)
            .map_err(|e| Usage(format!("case {i}: {e}")))?;
        // The vector with `observed` after its other members.
        let text = format!(
            "{},\"observed\":{}}}\n",
            vector.strip_suffix('}').unwrap_or(&vector),
            last.observed
        );
        if let Err(e) = std::fs::write(&args.out, text) {
            eprintln!("restore-delta: can't write {}: {e}", args.out.display());
            return Ok(ExitCode::from(1));
        }
        println!(
            "case {i}: disagreement: {}\nminimised to {} item(s), a state of {} bytes: {}",
            last.what,
            item_count(&small),
            small.state.len(),
            args.out.display()
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "{} case(s), no disagreement with `{}`",
        args.knobs.count, args.cmd
    );
    Ok(ExitCode::SUCCESS)
}

/// What the command answered where it disagrees with the reference.
struct Disagreement {
    /// The first difference, for people.
    what: String,
    /// The command's answer (or what it did instead), as JSON.
    observed: Value,
}

/// Runs `cmd` on `case` and judges its answer; `None` when it agrees with the reference.
fn disagreement(
    cmd: &str,
    case: &Case,
    settings: &Settings,
) -> Result<Option<Disagreement>, Usage> {
    let (stdout, status) = run_command(cmd, &inputs(case))?;
    let answer: Value = match serde_json::from_slice(&stdout) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let text = String::from_utf8_lossy(&stdout);
            return Ok(Some(Disagreement {
                what: format!("no JSON answer (exit {status}): {:.200}", text.trim()),
                observed: json!({"no_answer": text, "exit": status}),
            }));
        }
    };
    let differs = |what: String| {
        Some(Disagreement {
            what,
            observed: answer.clone(),
        })
    };
    let Ok(before) = Session::from_json(case.state.as_bytes()) else {
        // Generated states are readable; a case made unreadable expects a state error.
        return Ok((answer.get("state_error") != Some(&Value::Bool(true)))
            .then(|| differs("the reference refuses the state (S3), the command does not".into()))
            .flatten());
    };
    if answer.get("state_error") == Some(&Value::Bool(true)) {
        return Ok(differs(
            "the command refused a state the reference reads (S3)".into(),
        ));
    }
    let Some(status) = answer
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
    else {
        return Ok(differs("the answer has no numeric status".into()));
    };
    let body = match answer.get("body") {
        None | Some(Value::Null) => None,
        Some(b) => Some(b.to_string()),
    };
    let state_after = answer.get("state").map(Value::to_string);
    let options = case.options.to_options();
    let mut observed = Observed::new(status, body.as_deref().map(str::as_bytes));
    if let Some(s) = &state_after {
        observed = observed.with_state_after(s.as_bytes());
    }
    let verdict: Verdict = check(&before, &case.request, &options, &observed, settings);
    if let Some(d) = verdict.differences.first() {
        let mut what = format!("{} ({}", d.pointer, d.kind.as_str());
        if let Some(rule) = d.rule {
            let _ = write!(what, ", rule {rule}");
        }
        let show = |v: &Option<Value>| v.as_ref().map_or("nothing".to_owned(), |v| v.to_string());
        let _ = write!(
            what,
            "): expected {:.120}, observed {:.120}",
            show(&d.expected),
            show(&d.observed)
        );
        return Ok(differs(what));
    }
    let reference = case
        .apply()
        .map_err(|e| Usage(format!("the reference can't apply a generated case: {e}")))?;
    let applied = answer.get("preference_applied").and_then(Value::as_str);
    if applied != reference.answer.response.preference_applied.as_deref() {
        return Ok(differs(format!(
            "/preference_applied (rule O8): expected {:?}, observed {applied:?}",
            reference.answer.response.preference_applied
        )));
    }
    Ok(None)
}

/// The case's inputs, one line of JSON: a vector without description, rules and answer.
fn inputs(case: &Case) -> String {
    let vector = case.vector("").unwrap_or_default();
    let mut v: Value = serde_json::from_str(&vector).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        for name in ["description", "rules", "expected"] {
            m.remove(name);
        }
    }
    format!("{v}\n")
}

/// The command's stdout and exit status (as text) on `input`.
fn run_command(cmd: &str, input: &str) -> Result<(Vec<u8>, String), Usage> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Usage(format!("can't run `sh -c {cmd}`: {e}")))?;
    // Written from another thread, so a command that answers before reading all of a large
    // body can't block on a full pipe.
    let writer = child.stdin.take().map(|mut stdin| {
        let input = input.to_owned();
        std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        })
    });
    let mut stdout = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut stdout);
    }
    let status = child.wait().map_err(|e| Usage(format!("`{cmd}`: {e}")))?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    let status = status
        .code()
        .map_or_else(|| "by a signal".to_owned(), |c| c.to_string());
    Ok((stdout, status))
}

/// The number of items of the case's delta, when its body is a JSON object (0 otherwise).
fn item_count(case: &Case) -> usize {
    serde_json::from_slice::<Value>(&case.request)
        .ok()
        .as_ref()
        .and_then(Value::as_object)
        .map_or(0, |b| {
            b.iter()
                .filter(|(name, _)| name.ends_with("@delta"))
                .filter_map(|(_, v)| v.as_array())
                .map(Vec::len)
                .sum()
        })
}
