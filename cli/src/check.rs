//! `restore-delta check`: judges another implementation's answer against the reference, one
//! exchange from files or every restore-session PATCH of a HAR capture.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use restore_delta::check::{Ignore, Observed, Profile, Settings, Verdict, check};
use restore_delta::{Context, ItemOutcome, MAX_DRAWS_PER_ITEM, Options, RuleId, Session, apply};
use serde_json::{Value, json};

use crate::common::{OptionArgs, Usage, one_stdin, read_bounded, read_input, read_state};
use crate::exchange::{Exchange, Input, Judged, bound_now};
use crate::har::{self, Op};
use crate::live;
use crate::report::{self, Report};

pub const CHECK_EXAMPLES: &str = "\
Examples:
  # One exchange: the state before, the body sent, what the server answered.
  restore-delta check --state before.json --request body.json --status 200 \\
      --response response.json [--state-after after.json]

  # Every restore-session PATCH of a browser or proxy capture, in order:
  restore-delta check --har capture.har --state session-1.json --state session-2.json \\
      --report junit=check.xml --reproducers failing/

  # A capture that starts at each session's creation, judged whole without --state:
  restore-delta check --har app-run.har --service-root http://127.0.0.1:8080/v1.0/

Output: the verdict for people (\"conformant\", or \"NOT conformant: N difference(s)\" and one
line per difference: JSON pointer into the observed answer, kind, [rule], expected, observed);
with --har one such verdict per exchange, named by its number, method and URL, then a summary.
With --json one JSON document instead: the verdict (conformant, differences, tolerated,
binding, expected), or with --har {\"conformant\":…,\"exchanges\":[{\"index\",\"entry\",
\"method\",\"url\",\"session\",\"verdict\"},…]}.
Exit status: 0 conformant (every exchange); 1 not conformant (any exchange); 2, with one line
on stderr starting with \"restore-delta: \" (or clap's whole message for a command line it
refuses), for an unreadable or oversized file, a state the library can't work on, a HAR that
is not JSON or not HAR, a PATCH in a capture for a session without --state, a capture without
any restore-session PATCH, or a report or reproducer that can't be written.";

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The session before the exchange, as Graph JSON with the collections expanded. `-` reads
    /// stdin. With --har: the session before its first PATCH in the capture, one --state per
    /// session, matched to the PATCHes by the session's `id`; not needed for a session whose
    /// create is in the capture (its state comes from the create, and the capture is judged
    /// whole: create, PATCHes, reads, activation, delete).
    #[arg(long, value_name = "FILE", required_unless_present = "har")]
    state: Vec<PathBuf>,
    /// The PATCH body that was sent. `-` reads stdin.
    #[arg(long, value_name = "FILE", required_unless_present = "har")]
    request: Option<PathBuf>,
    /// The HTTP status the server answered with.
    #[arg(long, value_name = "N", required_unless_present = "har",
          value_parser = clap::value_parser!(u16).range(100..=599))]
    status: Option<u16>,
    /// The response body the server answered with; without it, the response had no body (as a
    /// 204 has). `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    response: Option<PathBuf>,
    /// The session after the exchange as the server shows it (a GET with the collections
    /// expanded); compared too when given. `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    state_after: Option<PathBuf>,
    /// A HAR 1.2 capture (browser developer tools, mitmproxy, Fiddler, Postman, `conform
    /// --report har=FILE`): every PATCH of
    /// …/solutions/backupRestore/{oneDriveForBusiness,sharePoint,exchange,}RestoreSessions/{id}
    /// (v1.0 or beta) is judged, in capture order, its Prefer headers read from the capture
    /// and its Preference-Applied header judged when the capture has response headers; each
    /// session's state evolves through the reference answer of each exchange. A session
    /// created in the capture needs no --state: its create, reads of it and of its
    /// collections, activation and delete are judged too (rules L1–L9).
    #[arg(long, value_name = "FILE",
          conflicts_with_all = ["request", "status", "response", "state_after", "prefer", "atomic"])]
    har: Option<PathBuf>,
    #[command(flatten)]
    options: OptionArgs,
    /// What is tolerated: exact (nothing beyond the server's free choices), default (messages
    /// for people; schema properties holding their default on returned artifacts), docs (also
    /// what the Graph docs' printed responses do). Tolerated differences are reported as such.
    #[arg(long, value_enum, value_name = "PROFILE", default_value_t = ProfileArg::Default)]
    profile: ProfileArg,
    /// How far apart, in seconds, the times a server stamps may be each side of the bound time.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 5.0,
        allow_negative_numbers = true
    )]
    time_window: f64,
    /// Differences to accept, by rule id or kind, as a comma list, e.g. `A7,messages` (kinds:
    /// status, not-json, missing, extra, value, time, id, message or messages). May be repeated.
    #[arg(long, value_name = "LIST")]
    ignore: Vec<String>,
    /// Print one JSON document instead of the report for people.
    #[arg(long)]
    json: bool,
    /// Also write a report file: `junit=FILE` (JUnit XML, one test case per exchange) or
    /// `json=FILE` (a JSON array, one object per exchange with its verdict). May be repeated.
    #[arg(long, value_name = "KIND=FILE")]
    report: Vec<String>,
    /// Write each non-conformant exchange into this directory as a vector file
    /// (docs/VECTORS.md) with the observed answer beside the expected one.
    #[arg(long, value_name = "DIR")]
    reproducers: Option<PathBuf>,
    /// The `Preference-Applied` header the server answered with, judged against rule O8;
    /// `none` for an answer observed without one. Not judged when not given. (With --har the
    /// capture's response headers are read.)
    #[arg(long, value_name = "VALUE|none", conflicts_with = "har")]
    preference_applied: Option<String>,
    /// The largest observed body or state after read, in bytes (default 64 MiB); a larger one
    /// is refused (exit 2).
    #[arg(long, value_name = "N", default_value_t = 64 << 20)]
    max_observed_bytes: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProfileArg {
    /// Nothing tolerated beyond the server's free choices.
    Exact,
    /// Messages for people; extra schema properties holding their default.
    Default,
    /// `default`, and the Graph docs' habits: successful removals left out, invented @contentId.
    Docs,
}

impl ProfileArg {
    fn profile(self) -> Profile {
        match self {
            ProfileArg::Exact => Profile::Exact,
            ProfileArg::Default => Profile::Default,
            ProfileArg::Docs => Profile::Docs,
        }
    }
}

pub fn run(args: CheckArgs) -> Result<ExitCode, Usage> {
    let settings = settings(&args)?;
    let reports = args
        .report
        .iter()
        .map(|r| r.parse::<Report>().map_err(Usage))
        .collect::<Result<Vec<_>, _>>()?;
    let reproduce = args.reproducers.is_some();
    let judged = match &args.har {
        Some(har) => judge_capture(&args, har, &settings, reproduce)?,
        None => vec![judge_files(&args, &settings, reproduce)?],
    };
    // The files first: a report that can't be written is an error with nothing on stdout.
    for r in &reports {
        r.write(&judged)?;
    }
    if let Some(dir) = &args.reproducers {
        report::write_reproducers(dir, &judged)?;
    }
    print(&judged, args.har.is_some(), args.json)?;
    Ok(if judged.iter().all(Judged::conformant) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn settings(args: &CheckArgs) -> Result<Settings, Usage> {
    if !(args.time_window.is_finite() && args.time_window >= 0.0) {
        return Err(Usage(format!(
            "--time-window {}: must be a number of seconds, 0 or more",
            args.time_window
        )));
    }
    let mut settings = Settings::default()
        .with_profile(args.profile.profile())
        .with_time_window(args.time_window);
    for list in &args.ignore {
        for name in list.split(',') {
            let ignore: Ignore = name
                .parse()
                .map_err(|e| Usage(format!("--ignore {list}: {e}")))?;
            settings = settings.ignoring(ignore);
        }
    }
    Ok(settings)
}

/// One exchange from files.
fn judge_files(args: &CheckArgs, settings: &Settings, reproduce: bool) -> Result<Judged, Usage> {
    let [state] = args.state.as_slice() else {
        return Err(Usage(format!(
            "--state given {} times: only --har takes one per session",
            args.state.len()
        )));
    };
    let (Some(request), Some(status)) = (&args.request, args.status) else {
        return Err(Usage(
            "--request and --status are needed without --har".into(),
        ));
    };
    let mut files = vec![
        ("--state", state.as_path()),
        ("--request", request.as_path()),
    ];
    files.extend(args.response.as_deref().map(|p| ("--response", p)));
    files.extend(args.state_after.as_deref().map(|p| ("--state-after", p)));
    one_stdin(files)?;

    let options = args.options.options();
    let before = read_state(state)?;
    // One byte past the limit is enough to know the body is too large (rule E1).
    let request_bytes = read_input(request, Some(options.max_bytes.saturating_add(1)))?;
    let observed_file =
        |p: &PathBuf| read_bounded(p, args.max_observed_bytes, "--max-observed-bytes");
    let response = args.response.as_ref().map(observed_file).transpose()?;
    let state_after = args.state_after.as_ref().map(observed_file).transpose()?;
    let mut observed = Observed::new(status, response.as_deref());
    if let Some(s) = &state_after {
        observed = observed.with_state_after(s);
    }
    if let Some(p) = &args.preference_applied {
        observed = observed.with_preference_applied((p != "none").then_some(p.as_str()));
    }
    let exchange = Exchange {
        index: 1,
        entry: None,
        method: "PATCH".into(),
        url: None,
        request_file: Some(request.display().to_string()),
        session: before.id().to_owned(),
    };
    let input = Input {
        before: &before,
        request: &request_bytes,
        prefer: &args.options.prefer,
        atomic: args.options.atomic,
        options: &options,
        observed,
    };
    Ok(judge(exchange, &input, settings, reproduce))
}

fn judge(exchange: Exchange, input: &Input<'_>, settings: &Settings, reproduce: bool) -> Judged {
    let verdict = check(
        input.before,
        input.request,
        input.options,
        &input.observed,
        settings,
    );
    let reproducer = (reproduce && !verdict.conformant)
        .then(|| report::reproducer(&exchange, input, &verdict, settings));
    Judged {
        exchange,
        verdict: Some(verdict),
        lifecycle: Vec::new(),
        reproducer,
    }
}

/// Every restore-session PATCH of a capture, in order, each session's state evolving through
/// the reference answers; a session without a --state starts at its create in the capture,
/// and then its reads, activation and delete are judged too.
fn judge_capture(
    args: &CheckArgs,
    path: &Path,
    settings: &Settings,
    reproduce: bool,
) -> Result<Vec<Judged>, Usage> {
    one_stdin(
        args.state
            .iter()
            .map(|p| ("--state", p.as_path()))
            .chain([("--har", path)]),
    )?;
    let server = args.options.server_options();
    let capture = har::read(
        path,
        server.max_bytes.saturating_add(1),
        args.max_observed_bytes,
    )?;
    if !capture.patches.iter().any(|p| p.op == Op::Patch) {
        return Err(Usage(format!(
            "--har {}: no restore-session PATCH among its {} entries",
            path.display(),
            capture.entries
        )));
    }
    let mut files: HashMap<String, &Path> = HashMap::new();
    let mut sessions: HashMap<String, Tracked> = HashMap::new();
    for p in &args.state {
        let session = read_state(p)?;
        let id = session.id().to_owned();
        if let Some(other) = files.insert(id.clone(), p.as_path()) {
            return Err(Usage(format!(
                "--state {} and --state {} are both session {id:?}",
                other.display(),
                p.display()
            )));
        }
        sessions.insert(id, Tracked::new(Some(session)));
    }
    // Every PATCH has its state before anything is judged (a --state, or a create earlier in
    // the capture): a partial report would pass for a complete one.
    let mut made: HashSet<String> = HashSet::new();
    for patch in &capture.patches {
        if patch.op == Op::Create {
            if let Some(id) = created_id(patch) {
                made.insert(id);
            }
            continue;
        }
        if patch.op != Op::Patch {
            continue;
        }
        if made.contains(&patch.session) && !files.contains_key(&patch.session) {
            continue;
        }
        let Some((Some(session), file)) = sessions
            .get(&patch.session)
            .map(|t| (t.session.as_ref(), files.get(&patch.session)))
        else {
            return Err(Usage(format!(
                "--har {}: log.entries[{}] PATCH {} is for session {:?}, which no --state holds \
                 and no create earlier in the capture made",
                path.display(),
                patch.entry,
                patch.url,
                patch.session
            )));
        };
        if !patch.kind_matches(session.kind()) {
            return Err(Usage(format!(
                "--har {}: log.entries[{}] PATCH {} names {}, but --state {} is a {}",
                path.display(),
                patch.entry,
                patch.url,
                patch.collection,
                file.map_or_else(String::new, |f| f.display().to_string()),
                session
                    .kind()
                    .odata_type()
                    .trim_start_matches("#microsoft.graph.")
            )));
        }
    }
    let window = settings.time_window_secs;
    let mut judged = Vec::with_capacity(capture.patches.len());
    for patch in &capture.patches {
        let mut options = server.clone();
        for p in &patch.prefer {
            options = options.with_prefer(p);
        }
        let exchange = Exchange {
            index: judged.len() + 1,
            entry: Some(patch.entry),
            method: patch.method.clone(),
            url: Some(patch.url.clone()),
            request_file: None,
            session: patch.session.clone(),
        };
        let observed_json = patch
            .response
            .as_deref()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok());
        let lifecycle = |exchange: Exchange, diffs: Vec<live::Diff>| Judged {
            exchange,
            verdict: None,
            lifecycle: diffs,
            reproducer: None,
        };
        match &patch.op {
            Op::Create => {
                let kind = har::kind_of(&patch.collection).or_else(|| {
                    serde_json::from_slice::<Value>(&patch.body)
                        .ok()
                        .and_then(|v| v.get("@odata.type")?.as_str().map(str::to_owned))
                        .and_then(|t| restore_delta::SessionKind::from_odata_type(&t))
                });
                let Some(kind) = kind else {
                    continue;
                };
                let created = live::judge_create(
                    kind,
                    &patch.body,
                    &options,
                    patch.status,
                    observed_json.as_ref(),
                    window,
                );
                let mut exchange = exchange;
                if let Some(id) = created_id(patch) {
                    exchange.session.clone_from(&id);
                    if let (Some(s), false) = (created.session, sessions.contains_key(&id)) {
                        let mut t = Tracked::new(Some(s));
                        t.whole = true;
                        sessions.insert(id, t);
                    }
                }
                judged.push(lifecycle(exchange, created.diffs));
            }
            Op::Patch => {
                let Some(tracked) = sessions.get_mut(&patch.session) else {
                    continue;
                };
                if tracked.deleted {
                    judged.push(lifecycle(exchange, not_found(patch.status)));
                    continue;
                }
                let before = tracked
                    .session
                    .take()
                    .ok_or_else(|| Usage(format!("session {:?} lost its state", patch.session)))?;
                let mut observed = Observed::new(patch.status, patch.response.as_deref());
                if let Some(p) = &patch.preference_applied {
                    observed = observed.with_preference_applied(p.as_deref());
                }
                let input = Input {
                    before: &before,
                    request: &patch.body,
                    prefer: &patch.prefer,
                    atomic: false,
                    options: &options,
                    observed,
                };
                let one = judge(exchange, &input, settings, reproduce);
                let verdict = one
                    .verdict
                    .as_ref()
                    .ok_or_else(|| Usage("a PATCH without a verdict".into()))?;
                let after = evolve(before, &patch.body, &options, verdict).map_err(|why| {
                    Usage(format!(
                        "log.entries[{}]: the reference answer could not be replayed ({why}); \
                         please report this",
                        patch.entry
                    ))
                })?;
                tracked.session = Some(after);
                judged.push(one);
            }
            Op::Get | Op::List(_) | Op::Delete | Op::Activate => {
                // Judged for sessions the capture saw created (judged whole); a session that
                // starts from a --state has its PATCHes judged only.
                let Some(tracked) = sessions.get_mut(&patch.session).filter(|t| t.whole) else {
                    continue;
                };
                let diffs = tracked.judge(patch, observed_json.as_ref(), &options, window);
                judged.push(lifecycle(exchange, diffs));
            }
        }
    }
    let used: HashSet<&str> = capture.patches.iter().map(|p| p.session.as_str()).collect();
    let mut unused: Vec<&Path> = files
        .iter()
        .filter(|(id, _)| !used.contains(id.as_str()))
        .map(|(_, f)| *f)
        .collect();
    unused.sort();
    for f in unused {
        eprintln!(
            "restore-delta: note: no PATCH in the capture for --state {}",
            f.display()
        );
    }
    Ok(judged)
}

/// The id a create's 201 answer gives.
fn created_id(patch: &har::Patch) -> Option<String> {
    patch
        .response
        .as_deref()
        .filter(|_| patch.status == 201)
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .and_then(|v| v.get("id")?.as_str().map(str::to_owned))
}

/// A request for a deleted session: 404 (rule L4).
fn not_found(status: u16) -> Vec<live::Diff> {
    if status == 404 {
        return Vec::new();
    }
    vec![live::Diff {
        pointer: "/status".into(),
        expected: Some(json!(404)),
        observed: Some(json!(status)),
        rule: "L4",
    }]
}

/// A session of a capture as the reference holds it.
struct Tracked {
    session: Option<Session>,
    /// Created in the capture: its reads, activation and delete are judged too.
    whole: bool,
    deleted: bool,
    /// Activated: the stages the server reached so far (rule L7) are its own.
    stage: Option<usize>,
}

/// The session statuses of rule L7, in order.
const STAGES: [&str; 4] = ["activating", "active", "completed", "completedWithError"];

impl Tracked {
    fn new(session: Option<Session>) -> Tracked {
        Tracked {
            session,
            whole: false,
            deleted: false,
            stage: None,
        }
    }

    /// Judges a read, a delete or an activation (rules L4–L7, L9).
    fn judge(
        &mut self,
        patch: &har::Patch,
        observed: Option<&Value>,
        options: &Options,
        window: f64,
    ) -> Vec<live::Diff> {
        let Some(session) = self.session.as_ref() else {
            return Vec::new();
        };
        if self.deleted {
            return not_found(patch.status);
        }
        let status_diff = |expected: u16, rule: &'static str| {
            (patch.status != expected).then(|| live::Diff {
                pointer: "/status".into(),
                expected: Some(json!(expected)),
                observed: Some(json!(patch.status)),
                rule,
            })
        };
        let query = patch
            .url
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default();
        match &patch.op {
            Op::Delete => {
                let diffs = live::judge_delete(session, patch.status);
                if patch.status == 204 {
                    self.deleted = true;
                }
                diffs
            }
            Op::Activate => {
                // Rule L6: a draft is activated (200, `activating`); 25 busy sessions (500
                // TooManyActiveRestoreSessions) depend on sessions the capture may not show.
                if patch.status == 500
                    && observed
                        .and_then(|o| o.pointer("/error/code"))
                        .and_then(Value::as_str)
                        == Some("TooManyActiveRestoreSessions")
                {
                    return Vec::new();
                }
                let mut copy = session.clone();
                let now = observed
                    .and_then(|o| o.get("lastModifiedDateTime"))
                    .and_then(Value::as_str)
                    .and_then(|t| restore_delta::Timestamp::parse_rfc3339(t).ok())
                    .unwrap_or(restore_delta::Timestamp::EPOCH);
                let schedule = restore_delta::lifecycle::Schedule::new(
                    restore_delta::lifecycle::Transitions::Manual,
                );
                match restore_delta::lifecycle::activate(&mut copy, 0, &schedule, now) {
                    Err(e) => status_diff(e.status, "L6").into_iter().collect(),
                    Ok(_) => {
                        let mut diffs: Vec<live::Diff> =
                            status_diff(200, "L6").into_iter().collect();
                        if patch.status == 200 {
                            let expected: Value = serde_json::from_str(
                                &restore_delta::lifecycle::render_session(&copy, options),
                            )
                            .unwrap_or(Value::Null);
                            if let Some(o) = observed {
                                diffs.extend(live::compare(&expected, o, window, "L6"));
                            }
                            self.session = Some(copy);
                            self.stage = Some(0);
                        }
                        diffs
                    }
                }
            }
            Op::Get if self.stage.is_some() => self.judge_stage(patch, observed),
            Op::Get => {
                let mut diffs: Vec<live::Diff> = status_diff(200, "L9").into_iter().collect();
                if patch.status == 200 && query.is_empty() {
                    let expected: Value = serde_json::from_str(
                        &restore_delta::lifecycle::render_session(session, options),
                    )
                    .unwrap_or(Value::Null);
                    if let Some(o) = observed {
                        diffs.extend(live::compare(&expected, o, window, "L9"));
                    }
                }
                diffs
            }
            Op::List(name) => {
                let mut diffs: Vec<live::Diff> = status_diff(200, "L9").into_iter().collect();
                let Some(collection) = restore_delta::ArtifactCollection::from_name(name) else {
                    return diffs;
                };
                // Page size and $skiptoken are the server's; other query options are not
                // judged here.
                let plain = query.split('&').filter(|p| !p.is_empty()).all(|p| {
                    let name = p.split('=').next().unwrap_or_default().to_ascii_lowercase();
                    matches!(
                        name.as_str(),
                        "$top" | "%24top" | "$skiptoken" | "%24skiptoken"
                    )
                });
                let (Some(o), true, true, None) =
                    (observed, patch.status == 200, plain, self.stage)
                else {
                    return diffs;
                };
                let items = o
                    .get("value")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if let Some(bound) = live::bind_artifacts(session, collection, &items) {
                    self.session = Some(bound);
                }
                let Some(session) = self.session.as_ref() else {
                    return diffs;
                };
                let all = live::artifacts(session, collection);
                let first = items.first().and_then(|i| i.get("id"));
                let at = match first {
                    Some(id) => all.iter().position(|a| a.get("id") == Some(id)),
                    None => Some(all.len().min(if query.contains("skiptoken") {
                        all.len()
                    } else {
                        0
                    })),
                };
                let Some(at) = at else {
                    diffs.push(live::Diff {
                        pointer: "/body/value/0".into(),
                        expected: None,
                        observed: items.first().cloned(),
                        rule: "L9",
                    });
                    return diffs;
                };
                if !query.contains("skiptoken") && at != 0 {
                    diffs.push(live::Diff {
                        pointer: "/body/value/0".into(),
                        expected: all.first().cloned(),
                        observed: items.first().cloned(),
                        rule: "L9",
                    });
                }
                let end = (at + items.len()).min(all.len());
                let expected =
                    Value::Array(all.get(at..end).map(<[Value]>::to_vec).unwrap_or_default());
                let mut page = live::compare(&expected, &Value::Array(items.clone()), window, "L9");
                for d in &mut page {
                    d.pointer = d.pointer.replacen("/body", "/body/value", 1);
                }
                diffs.extend(page);
                let more = end < all.len();
                let has_next = o.get("@odata.nextLink").is_some();
                if more != has_next {
                    diffs.push(live::Diff {
                        pointer: "/body/@odata.nextLink".into(),
                        expected: Some(json!(if more {
                            "a link to the next page"
                        } else {
                            "none"
                        })),
                        observed: o.get("@odata.nextLink").cloned(),
                        rule: "L9",
                    });
                }
                diffs
            }
            _ => Vec::new(),
        }
    }

    /// A read of an activated session: any stage of rule L7 the server reached, in order.
    fn judge_stage(&mut self, patch: &har::Patch, observed: Option<&Value>) -> Vec<live::Diff> {
        if patch.status != 200 {
            return vec![live::Diff {
                pointer: "/status".into(),
                expected: Some(json!(200)),
                observed: Some(json!(patch.status)),
                rule: "L9",
            }];
        }
        let status = observed
            .and_then(|o| o.get("status"))
            .and_then(Value::as_str);
        let at = status.and_then(|s| STAGES.iter().position(|x| *x == s));
        match (at, self.stage) {
            (Some(now), Some(before)) if now >= before.min(2) || (before >= 2 && now >= 2) => {
                self.stage = Some(now.max(before));
                Vec::new()
            }
            _ => vec![live::Diff {
                pointer: "/body/status".into(),
                expected: Some(json!(format!(
                    "a stage at or after {}",
                    STAGES.get(self.stage.unwrap_or(0)).unwrap_or(&"activating")
                ))),
                observed: status.map(|s| json!(s)),
                rule: "L7",
            }],
        }
    }
}

/// The state after the reference answer the verdict compared with: the request applied again
/// with the choices the check bound. The check's API gives the bound ids only where the server's
/// were accepted (`Binding::ids`); the reference's own additions (`Expected::outcomes`) carry
/// every id it used, placeholders included, in the order it drew them, so they are replayed
/// instead, and an addition that failed for want of a fresh id (A7's 500) gets as many empty
/// ids as the engine draws. The replayed response must be the expected one, or this is refused.
pub fn evolve(
    before: Session,
    request: &[u8],
    options: &Options,
    verdict: &Verdict,
) -> Result<Session, String> {
    evolve_with_rules(before, request, options, verdict).map(|(s, _)| s)
}

/// [`evolve`], and the rules that decided the reference answer (the refusal's, or each item
/// outcome's, in the order first met).
pub fn evolve_with_rules(
    before: Session,
    request: &[u8],
    options: &Options,
    verdict: &Verdict,
) -> Result<(Session, Vec<RuleId>), String> {
    let mut ids: Vec<String> = Vec::new();
    for o in &verdict.expected.outcomes {
        match o {
            ItemOutcome::Added {
                id,
                rule: RuleId::A7,
            } => ids.push(id.clone()),
            ItemOutcome::Failed(f) if f.rule == RuleId::A7 => {
                ids.extend(std::iter::repeat_n(String::new(), MAX_DRAWS_PER_ITEM));
            }
            _ => {}
        }
    }
    let mut ids = ids.into_iter();
    // Past the ids the answer used, ids no server makes: drawn only by additions an atomic
    // refusal did not apply (outcome `NotApplied`), which leave no trace.
    let mut extra = 0u64;
    let source = move || {
        ids.next().unwrap_or_else(|| {
            extra += 1;
            format!("\u{1}not-applied-{extra}")
        })
    };
    let mut ctx = Context::new(bound_now(verdict)?, source);
    if let Some(actor) = &verdict.binding.actor {
        ctx = ctx.with_actor(actor);
    }
    let applied = apply(before, request, options, &mut ctx);
    if applied.answer.response.status != verdict.expected.status {
        return Err(format!(
            "status {} instead of {}",
            applied.answer.response.status, verdict.expected.status
        ));
    }
    // The same answer: byte for byte, or as JSON values (the check writes the caller's
    // identity with the members in the answer's order, `with_actor` sorts them).
    let same = applied.answer.response.body == verdict.expected.body
        || match (&applied.answer.response.body, &verdict.expected.body) {
            (Some(a), Some(b)) => {
                serde_json::from_str::<Value>(a.get()).ok()
                    == serde_json::from_str::<Value>(b.get()).ok()
            }
            _ => false,
        };
    if !same {
        return Err("another body".into());
    }
    let rules = restore_delta::generate::decided_rules(
        &applied.answer.outcomes,
        applied.answer.error.as_ref(),
    );
    Ok((applied.state, rules))
}

fn print(judged: &[Judged], har: bool, as_json: bool) -> Result<(), Usage> {
    let stdout = io::stdout();
    let mut w = io::BufWriter::new(stdout.lock());
    let written = if as_json {
        let doc = if har {
            json!({
                "conformant": judged.iter().all(Judged::conformant),
                "exchanges": judged.iter().map(|j| j.exchange.to_json(j.verdict_json())).collect::<Vec<_>>(),
            })
        } else {
            judged.first().map_or(Value::Null, Judged::verdict_json)
        };
        serde_json::to_writer(&mut w, &doc)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(w))
    } else if har {
        print_capture(&mut w, judged)
    } else {
        judged.iter().try_for_each(|j| writeln!(w, "{}", j.text()))
    };
    written
        .and_then(|()| w.flush())
        .map_err(|e| Usage(format!("can't write stdout: {e}")))
}

fn print_capture<W: Write>(w: &mut W, judged: &[Judged]) -> io::Result<()> {
    for j in judged {
        writeln!(w, "{}: {}", j.exchange.name(), j.text())?;
    }
    let bad = judged.iter().filter(|j| !j.conformant()).count();
    writeln!(
        w,
        "{} exchange(s) judged: {} conformant, {bad} not conformant",
        judged.len(),
        judged.len() - bad
    )
}
