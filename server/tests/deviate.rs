//! `--deviate`: every deviation makes the server answer (or store) otherwise than the faithful
//! server, in a way the reference check attributes to the deviation's rule, over real HTTP; a
//! deviating server restarts to the state it served (its records carry the deviations); a
//! faithful server is unaffected; and the library starts a deviating server in-process.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{Answer, ROOT, Server, create};
use restore_delta::check::{Observed, Settings, Verdict, check};
use restore_delta::{Options, RuleId, Session, Timestamp};
use restore_delta_server::deviate::{ALL, Deviation, Deviations};

/// The body limit of every server here, small so that rule E1 is cheap to reach.
const MAX_BYTES: usize = 4096;

const DRIVE: &str = "oneDriveForBusinessRestoreSessions";
const EXCHANGE: &str = "exchangeRestoreSessions";

fn start(deviate: &[&str]) -> Server {
    let max = MAX_BYTES.to_string();
    let mut args = vec!["--in-memory", "--seed", "21", "--max-body-bytes", &max];
    let list = deviate.join(",");
    if !deviate.is_empty() {
        args.extend(["--deviate", &list]);
    }
    Server::start(&args)
}

fn options(server: &Server, prefer: &[&str]) -> Options {
    let authority = server.authority();
    let mut o = Options::default()
        .with_max_bytes(MAX_BYTES)
        .with_service_root(&format!("http://{authority}/v1.0/"))
        .with_service_root(&format!("http://{authority}/beta/"));
    for p in prefer {
        o = o.with_prefer(p);
    }
    o
}

fn add(rp: &str) -> String {
    format!(r#"{{"restorePoint":{{"id":"{rp}"}},"destinationType":"new"}}"#)
}

fn granular(key: &str) -> String {
    format!(r#"{{"browseSessionId":"b1","itemKey":"{key}"}}"#)
}

fn drive(items: &[String]) -> String {
    format!(r#"{{"driveRestoreArtifacts@delta":[{}]}}"#, items.join(","))
}

fn granular_drive(items: &[String]) -> String {
    format!(
        r#"{{"granularDriveRestoreArtifacts@delta":[{}]}}"#,
        items.join(",")
    )
}

/// One probe: the session's set, the PATCHes that prepare it (answered alike by both
/// servers), the PATCH whose answer the deviation changes (`{a0}`: the id of the first
/// artifact the session holds), and its `Prefer` values.
struct Case {
    set: &'static str,
    setup: Vec<String>,
    probe: String,
    prefer: &'static [&'static str],
}

fn case(deviation: Deviation) -> Case {
    let plain = |probe: String| Case {
        set: DRIVE,
        setup: Vec::new(),
        probe,
        prefer: &[],
    };
    let after = |setup: String, probe: String| Case {
        set: DRIVE,
        setup: vec![setup],
        probe,
        prefer: &[],
    };
    let remove = |id: &str| format!(r#"{{"@removed":{{"reason":"changed"}},"id":"{id}"}}"#);
    match deviation {
        Deviation::E1 => plain(format!(
            r#"{{"@pad":"{}","driveRestoreArtifacts@delta":[{}]}}"#,
            "x".repeat(MAX_BYTES),
            add("rp-1")
        )),
        Deviation::E2 => plain("{".to_owned()),
        Deviation::E4 => plain(format!(
            r#"{{"driveRestoreArtifacts@delta":[{}],"status":"active"}}"#,
            add("rp-1")
        )),
        Deviation::E5 => plain(format!(
            r#"{{"driveRestoreArtifacts@delta":[{}],"granularDriveRestoreArtifacts@delta":[{}]}}"#,
            add("rp-1"),
            granular("k1")
        )),
        Deviation::E6 => plain(drive(&[])),
        Deviation::E7 => plain(drive(
            &(0..51).map(|i| add(&format!("rp-{i}"))).collect::<Vec<_>>(),
        )),
        Deviation::E8 => plain(drive(&["1".to_owned()])),
        Deviation::E9 => after(drive(&[add("rp-1")]), granular_drive(&[granular("k1")])),
        Deviation::X1 => plain(drive(&[
            r#"{"@removed":{"reason":"gone"},"id":"a1"}"#.to_owned()
        ])),
        Deviation::X2 => plain(drive(&[r#"{"@removed":{}}"#.to_owned()])),
        Deviation::X3 => plain(drive(&[remove("not-there")])),
        Deviation::X4 | Deviation::KeepRemoved => {
            after(drive(&[add("rp-1")]), drive(&[remove("{a0}")]))
        }
        Deviation::A1 => plain(drive(&[
            r#"{"restorePoint":{"id":"rp-1"},"destinationType":"new","status":"added"}"#.to_owned(),
        ])),
        Deviation::A2 => plain(drive(&[
            r#"{"restorePoint":{},"destinationType":"new"}"#.to_owned()
        ])),
        Deviation::A3 => plain(drive(&[
            r#"{"restorePoint":{"id":"rp-1"},"destinationType":"sideways"}"#.to_owned(),
        ])),
        Deviation::A4 => after(drive(&[add("rp-1")]), drive(&[add("rp-1")])),
        Deviation::A5 => after(
            drive(&[add("rp-1")]),
            drive(&[r#"{"restorePoint":{"id":"rp-2"},"destinationType":"inPlace"}"#.to_owned()]),
        ),
        Deviation::A6 => Case {
            set: EXCHANGE,
            setup: Vec::new(),
            probe: format!(
                r#"{{"granularMailboxRestoreArtifacts@delta":[{}]}}"#,
                add("rp-1")
            ),
            prefer: &[],
        },
        Deviation::A7 | Deviation::DropAdded => plain(drive(&[add("rp-1"), add("rp-2")])),
        Deviation::G1 => plain(granular_drive(&[
            r#"{"browseSessionId":"b1","itemKey":"k1","size":1}"#.to_owned(),
        ])),
        Deviation::G2 => plain(granular_drive(&[r#"{"itemKey":"k1"}"#.to_owned()])),
        Deviation::G3 => after(
            granular_drive(&[granular("k1")]),
            granular_drive(&[granular("k1")]),
        ),
        Deviation::G4 => plain(granular_drive(&[granular("k1")])),
        Deviation::O1 => Case {
            prefer: &["continue-on-error=false"],
            ..plain(drive(&[add("rp-1"), remove("not-there")]))
        },
        Deviation::O5 | Deviation::O8 => Case {
            prefer: &["return=minimal"],
            ..plain(drive(&[add("rp-1")]))
        },
        // Two failures: no id drawn, so the two servers' entries compare as they are.
        Deviation::EntryOrder => plain(drive(&[
            remove("not-there"),
            r#"{"restorePoint":{"id":"rp-1"},"destinationType":"sideways"}"#.to_owned(),
        ])),
        other => panic!("no case for {other}"),
    }
}

/// What one server did with a case: the state before the probe, the answer, the verdict of
/// the answer alone, and the verdict with the state after.
struct Probed {
    id: String,
    before: String,
    answer: Answer,
    /// The answer's body as judged (`innerError` taken out of an error).
    observed: Option<String>,
    verdict: Verdict,
    with_state: Verdict,
    options: Options,
}

fn probe(server: &Server, case: &Case) -> Probed {
    let id = create(server, case.set);
    let path = format!("{ROOT}/{}/{id}", case.set);
    for setup in &case.setup {
        let a = server.call("PATCH", &path, Some(setup));
        assert_eq!(a.status, 200, "setup {setup}: {}", a.text);
    }
    let before = common::state(server, &id).text;
    let session = Session::from_json(before.as_bytes()).expect("the server's state reads");
    let first = session
        .artifacts(session.kind().standard())
        .chain(session.artifacts(session.kind().granular()))
        .next()
        .map(|a| a.id().to_owned())
        .unwrap_or_default();
    let body = case.probe.replace("{a0}", &first);
    let headers: Vec<(&str, &str)> = case.prefer.iter().map(|p| ("Prefer", *p)).collect();
    let answer = server.call_with("PATCH", &path, Some(&body), &headers);
    let after = common::state(server, &id).text;
    // `innerError` (request-id, date) is the server's addition to an error, not the engine's.
    let observed_body = if answer.text.is_empty() {
        None
    } else if answer.status >= 400 {
        let mut v = answer.json();
        if let Some(error) = v["error"].as_object_mut() {
            error.remove("innerError");
        }
        Some(v.to_string())
    } else {
        Some(answer.text.clone())
    };
    let options = options(server, case.prefer);
    let observed = Observed::new(answer.status, observed_body.as_deref().map(str::as_bytes));
    let judge = |observed: &Observed<'_>| {
        check(
            &session,
            body.as_bytes(),
            &options,
            observed,
            &Settings::default(),
        )
    };
    let verdict = judge(&observed);
    let with_state = judge(&observed.with_state_after(after.as_bytes()));
    Probed {
        id,
        before,
        answer,
        observed: observed_body.clone(),
        verdict,
        with_state,
        options,
    }
}

/// The artifacts of a session's collection as a client reads them (`GET …/{collection}`,
/// following next links).
fn collection(server: &Server, set: &str, id: &str, name: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut next = Some(server.url(&format!("{ROOT}/{set}/{id}/{name}")));
    while let Some(url) = next {
        let page = common::call(&url, "GET", None, &[]);
        assert_eq!(page.status, 200, "{}", page.text);
        let page = page.json();
        out.extend(page["value"].as_array().cloned().unwrap_or_default());
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    out
}

fn delta(answer: &Answer) -> Vec<serde_json::Value> {
    answer.json()["driveRestoreArtifacts@delta"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The `Preference-Applied` the reference gives (the check does not judge headers yet).
fn reference_preference(probed: &Probed, body: &str) -> Option<String> {
    let session = Session::from_json(probed.before.as_bytes()).unwrap();
    let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
    let mut ctx = restore_delta::Context::new(now, restore_delta::SeededIds::new(1));
    let applied = restore_delta::apply(session, body.as_bytes(), &probed.options, &mut ctx);
    applied.answer.response.preference_applied
}

fn rules(v: &Verdict) -> Vec<String> {
    v.differences
        .iter()
        .map(|d| format!("{} {}", d.pointer, d.rule.map_or("-", RuleId::as_str)))
        .collect()
}

#[test]
fn every_deviation_is_found_and_attributed_to_its_rule() {
    let faithful = start(&[]);
    let health = faithful.call("GET", "/_restore-delta/health", None).json();
    assert!(health.get("deviate").is_none(), "{health}");
    for deviation in ALL {
        let case = case(deviation);
        let deviating = start(&[deviation.name()]);
        let f = probe(&faithful, &case);
        let d = probe(&deviating, &case);
        let name = deviation.name();
        let rule = deviation.rule();
        // The faithful server is conformant, answer and state after.
        assert!(
            f.verdict.conformant && f.with_state.conformant,
            "{name}: the faithful server: {}\n{}",
            f.verdict,
            f.with_state
        );
        let context = format!(
            "{name}: answered {} {}\n{}",
            d.answer.status, d.answer.text, d.verdict
        );
        match deviation {
            Deviation::KeepRemoved | Deviation::DropAdded => {
                // Answered exactly right: only the read-back finds it.
                assert!(d.verdict.conformant, "{context}");
                assert_eq!(
                    (f.answer.status, delta(&f.answer).len()),
                    (d.answer.status, delta(&d.answer).len())
                );
                assert!(!d.with_state.conformant, "{name}: {}", d.with_state);
                assert!(
                    d.with_state
                        .differences
                        .iter()
                        .all(|x| x.pointer.starts_with("/state/driveRestoreArtifacts")
                            && x.rule == Some(RuleId::D4)),
                    "{name}: {}",
                    d.with_state
                );
                let read = |s: &Server, p: &Probed| {
                    collection(s, case.set, &p.id, "driveRestoreArtifacts").len()
                };
                let (fr, dr) = (read(&faithful, &f), read(&deviating, &d));
                if deviation == Deviation::KeepRemoved {
                    assert_eq!((fr, dr), (0, 1), "{name}: the removed artifact stays");
                } else {
                    assert_eq!((fr, dr), (2, 0), "{name}: the added artifacts are not kept");
                }
            }
            Deviation::O8 => {
                // The check does not judge headers: the answer is conformant, the header is
                // the reference's on the faithful server and absent here.
                assert!(d.verdict.conformant, "{context}");
                let expected = reference_preference(&d, &case.probe);
                assert_eq!(expected.as_deref(), Some("return=minimal"));
                assert_eq!(
                    f.answer.header("Preference-Applied"),
                    expected.as_deref(),
                    "{name}"
                );
                assert_eq!(d.answer.header("Preference-Applied"), None, "{name}");
            }
            Deviation::EntryOrder => {
                assert!(!d.verdict.conformant, "{context}");
                assert!(
                    d.verdict
                        .differences
                        .iter()
                        .all(|x| x.pointer.starts_with("/body/driveRestoreArtifacts@delta/")),
                    "{context}"
                );
                let mut rotated = delta(&f.answer);
                rotated.rotate_left(1);
                assert_eq!(delta(&d.answer), rotated, "{name}");
                assert_ne!(delta(&d.answer), delta(&f.answer), "{name}");
            }
            _ => {
                assert!(!d.verdict.conformant, "{context}");
                assert_eq!(
                    d.verdict.differences[0].rule,
                    Some(rule),
                    "{name}: the first difference names {rule}: {:?}",
                    rules(&d.verdict)
                );
                // Where the answer keeps its shape, every difference names the rule.
                if !matches!(deviation, Deviation::E4 | Deviation::E7 | Deviation::O1) {
                    assert!(
                        d.verdict.differences.iter().all(|x| x.rule == Some(rule)),
                        "{name}: {:?}",
                        rules(&d.verdict)
                    );
                }
                assert_ne!(
                    (f.answer.status, &f.observed),
                    (d.answer.status, &d.observed)
                );
            }
        }
    }
}

#[test]
fn help_lists_every_deviation_and_a_bad_name_is_refused() {
    let out = common::run(&["--deviate", "list"]);
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(list.lines().count(), ALL.len(), "{list}");
    let help = std::process::Command::new(common::BIN)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.contains("TESTING AID"), "{help}");
    for d in ALL {
        assert!(
            list.lines()
                .any(|l| l.starts_with(&format!("{} ", d.name())) && l.contains(d.description())),
            "{d}: {list}"
        );
        assert!(help.contains(d.description()), "{d}");
    }
    let out = common::run(&["--in-memory", "--deviate", "x1,nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"nope\""));
}

/// The sessions of a server as its export shows them.
fn export(server: &Server) -> serde_json::Value {
    let a = server.call("GET", "/_restore-delta/export", None);
    assert_eq!(a.status, 200);
    a.json()["sessions"].clone()
}

#[test]
fn a_deviating_server_restarts_to_the_state_it_served_and_faithful_records_replay_faithfully() {
    use restore_delta_server::journal::{self, Op, fs::OsFs};
    let dir = common::temp_dir("deviate-restart");
    let db = dir.join("restore.db");
    let dbs = db.to_str().unwrap();
    // A faithful server first: its records carry no deviation.
    let mut server = Server::start(&["--db", dbs, "--seed", "5"]);
    let id = create(&server, DRIVE);
    let path = format!("{ROOT}/{DRIVE}/{id}");
    let a = server.call("PATCH", &path, Some(&drive(&[add("rp-1"), add("rp-2")])));
    assert_eq!(a.status, 200);
    let faithful_state = export(&server);
    assert_eq!(server.terminate().code(), Some(0));
    // Restarted deviating: the faithful records replay faithfully.
    let deviations = "keep-removed,drop-added,a7,o1,x3,e2";
    let mut server = Server::start(&["--db", dbs, "--seed", "5", "--deviate", deviations]);
    assert!(server.banner.contains("DEVIATING"), "{}", server.banner);
    let health = server.call("GET", "/_restore-delta/health", None).json();
    assert_eq!(
        health["deviate"].as_array().map(Vec::len),
        Some(6),
        "{health}"
    );
    assert_eq!(export(&server), faithful_state);
    // Deviating commits: a removal kept, an addition dropped, an atomic request applied anyway.
    let first = faithful_state[0]["state"]["driveRestoreArtifacts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let remove = format!(r#"{{"@removed":{{}},"id":"{first}"}}"#);
    let a = server.call("PATCH", &path, Some(&drive(&[remove, add("rp-3")])));
    assert_eq!(a.status, 200, "{}", a.text);
    let a = server.call_with(
        "PATCH",
        &path,
        Some(&drive(&[
            add("rp-4"),
            r#"{"@removed":{},"id":"gone"}"#.into(),
        ])),
        &[("Prefer", "continue-on-error=false")],
    );
    assert_eq!(a.status, 200, "o1 applies it anyway: {}", a.text);
    // A refusal is not journaled, whatever the deviation says.
    assert_eq!(server.call("PATCH", &path, Some("{")).code(), "BadRequest");
    let served = export(&server);
    let ids: Vec<&str> = served[0]["state"]["driveRestoreArtifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["restorePoint"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["rp-1", "rp-2"],
        "the removal kept, the additions dropped"
    );
    assert_eq!(server.terminate().code(), Some(0));
    // The records: the deviations that could change them, and only on the deviating ones.
    let (entries, _) = journal::read(&OsFs, &db).expect("the journal reads");
    let recorded: Vec<Vec<String>> = entries
        .iter()
        .filter_map(|e| match &e.record.op {
            Op::Patch { deviate, .. } => Some(deviate.clone()),
            _ => None,
        })
        .collect();
    let journaled = ["x3", "a7", "o1", "keep-removed", "drop-added"].map(str::to_owned);
    assert_eq!(
        recorded,
        [Vec::new(), journaled.to_vec(), journaled.to_vec()],
        "e2 changes only refusals, which are not journaled"
    );
    // Restarted with the same deviations, and without any: the same state (replay is a
    // function of the journal, whatever the flags of the restart).
    for flags in [&["--deviate", deviations][..], &[]] {
        let mut args = vec!["--db", dbs, "--seed", "5"];
        args.extend_from_slice(flags);
        let mut server = Server::start(&args);
        assert_eq!(export(&server), served, "restarted with {flags:?}");
        assert_eq!(server.terminate().code(), Some(0));
    }
}

#[test]
fn a_deviating_server_starts_in_process_from_the_library() {
    use restore_delta_server::http::{App, Limits, serve};
    use restore_delta_server::store::{Config, Store};
    let deviations = Deviations::parse("x3").unwrap();
    assert!(deviations.contains(Deviation::X3) && !deviations.contains(Deviation::X4));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (address, done) = runtime.block_on(async {
        let config = Config::new(None, 3).with_deviations(deviations);
        let (store, _) = Store::open(config).expect("an in-memory store opens");
        assert_eq!(store.deviations(), deviations);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Arc::new(App::new(store));
        let done = tokio::spawn(serve(listener, app, Limits::default(), async {
            let _ = stopped.await;
        }));
        (address, done)
    });
    let base = format!("http://{address}");
    let a = common::call(&format!("{base}{ROOT}/{DRIVE}"), "POST", Some("{}"), &[]);
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    let a = common::call(
        &format!("{base}{ROOT}/{DRIVE}/{id}"),
        "PATCH",
        Some(&drive(&[r#"{"@removed":{},"id":"not-there"}"#.into()])),
        &[],
    );
    let failure = &delta(&a)[0]["@Core.DataModificationException"];
    assert_eq!(failure["responseCode"], 404, "{}", a.text);
    assert_eq!(failure["info"]["code"], "itemNotFound");
    let _ = stop.send(());
    runtime.block_on(done).unwrap();
}

#[test]
fn names_rules_and_the_storing_ones() {
    let names: BTreeSet<&str> = ALL.iter().map(|d| d.name()).collect();
    assert_eq!(names.len(), ALL.len());
    // Every rule that decides a PATCH on a draft has a deviation (E3 and member order have
    // none: docs in `deviate`).
    let covered: BTreeSet<RuleId> = ALL.iter().map(|d| d.rule()).collect();
    for rule in [
        "E1", "E2", "E4", "E5", "E6", "E7", "E8", "E9", "X1", "X2", "X3", "X4", "A1", "A2", "A3",
        "A4", "A5", "A6", "A7", "G1", "G2", "G3", "G4", "O1", "O3", "O5", "O8",
    ] {
        let rule: RuleId = rule.parse().unwrap();
        assert!(covered.contains(&rule), "{rule}");
    }
    let storing: Vec<&str> = ALL
        .iter()
        .filter(|d| d.stores_wrong())
        .map(|d| d.name())
        .collect();
    assert_eq!(storing, ["keep-removed", "drop-added"]);
    assert_eq!(Deviations::all().to_string().split(',').count(), ALL.len());
}
