//! Starting the real server binary on an ephemeral port, and a real HTTP client (ureq).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_restore-delta-server");

/// A running server process; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub banner: String,
}

impl Server {
    /// Starts the binary with `args` plus `--listen 127.0.0.1:0`, and waits for its banner.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("a banner line");
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in the banner {line:?}"))
            .to_owned();
        Server {
            child,
            base: format!("http://{address}"),
            banner: line,
        }
    }

    /// A server on a journal file.
    pub fn with_db(db: &Path, more: &[&str]) -> Server {
        let mut args = vec!["--db", db.to_str().expect("utf-8 path")];
        args.extend_from_slice(more);
        Server::start(&args)
    }

    /// The address without the scheme.
    pub fn authority(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        call(&self.url(path), method, body, &[])
    }

    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        call(&self.url(path), method, body, headers)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The Graph error code of an error answer.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

/// One request; any status comes back as an `Answer`; a transport error is an `Err`.
pub fn try_call(
    agent: &ureq::Agent,
    url: &str,
    method: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<Answer, String> {
    let mut req = agent.request(method, url);
    for (n, v) in headers {
        req = req.set(n, v);
    }
    let result = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_owned())))
        .collect();
    let text = response.into_string().map_err(|e| e.to_string())?;
    Ok(Answer {
        status,
        headers,
        text,
    })
}

pub fn call(url: &str, method: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Answer {
    try_call(&agent(), url, method, body, headers).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "restore-delta-server-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

pub const ROOT: &str = "/v1.0/solutions/backupRestore";

/// Creates an empty session of the set (`oneDriveForBusinessRestoreSessions`, …); its id.
pub fn create(server: &Server, set: &str) -> String {
    let a = server.call("POST", &format!("{ROOT}/{set}"), Some("{}"));
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()["id"].as_str().expect("an id").to_owned()
}

/// A body adding `n` drive artifacts with restore points `{prefix}-0…`.
pub fn drive_additions(prefix: &str, n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"restorePoint":{{"id":"{prefix}-{i}"}},"destinationType":"new"}}"#))
        .collect();
    format!(r#"{{"driveRestoreArtifacts@delta":[{}]}}"#, items.join(","))
}

/// The reference replay of a journal: each record's answer and the sessions at the end,
/// computed with the crate's own functions from the inputs the journal recorded.
pub struct Replay {
    /// For each PATCH record, in journal order: (session id, request body, status, body).
    pub patches: Vec<(String, Vec<u8>, u16, Option<String>)>,
    /// The sessions at the end, as JSON, by id.
    pub sessions: std::collections::BTreeMap<String, String>,
}

/// Replays the journal at `db` (creates, PATCHes and deletes) with `restore_delta` directly.
pub fn reference_replay(db: &Path) -> Replay {
    use restore_delta::{Context, Options, SeededIds, SessionKind, Timestamp, apply};
    use restore_delta_server::journal::{self, Record};
    let (_, opened) = journal::open(db).expect("the journal reads");
    let mut sessions = std::collections::BTreeMap::new();
    let mut patches = Vec::new();
    for entry in opened.entries {
        match entry.record {
            Record::Create { set, now, seed, id } => {
                let kind = match set.as_str() {
                    "oneDriveForBusinessRestoreSessions" => SessionKind::OneDriveForBusiness,
                    "sharePointRestoreSessions" => SessionKind::SharePoint,
                    _ => SessionKind::Exchange,
                };
                let now = Timestamp::parse_rfc3339(&now).unwrap();
                let mut ctx = Context::new(now, SeededIds::new(seed));
                let session = restore_delta::lifecycle::create(
                    kind,
                    &entry.body,
                    &Options::default(),
                    &mut ctx,
                )
                .expect("a recorded creation replays");
                assert_eq!(session.id(), id);
                sessions.insert(id, session);
            }
            Record::Patch {
                id,
                prefer,
                roots,
                now,
                seed,
                ..
            } => {
                let options = restore_delta_server::store::patch_options(&prefer, &roots, 1 << 20);
                let now = Timestamp::parse_rfc3339(&now).unwrap();
                let mut ctx = Context::new(now, SeededIds::new(seed));
                let session = sessions.remove(&id).expect("a PATCH of a known session");
                let applied = apply(session, &entry.body, &options, &mut ctx);
                patches.push((
                    id.clone(),
                    entry.body.clone(),
                    applied.answer.response.status,
                    applied.answer.response.body.map(|b| b.into_string()),
                ));
                sessions.insert(id, applied.state);
            }
            Record::Delete { id } => {
                sessions.remove(&id);
            }
            other => panic!("not replayed here: {other:?}"),
        }
    }
    Replay {
        patches,
        sessions: sessions
            .into_iter()
            .map(|(id, s)| (id, s.to_json()))
            .collect(),
    }
}

/// A small deterministic generator for test choices (SplitMix64).
pub struct Dice(pub u64);

impl Dice {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

/// `POST …/restoreSessions/{id}/activate`.
pub fn activate(server: &Server, id: &str) -> Answer {
    server.call(
        "POST",
        &format!("{ROOT}/restoreSessions/{id}/activate"),
        None,
    )
}

/// One manual lifecycle step.
pub fn advance(server: &Server, id: &str) -> Answer {
    server.call(
        "POST",
        &format!("/_restore-delta/sessions/{id}/advance"),
        None,
    )
}

/// A session's whole state, from the server's own endpoint.
pub fn state(server: &Server, id: &str) -> Answer {
    server.call("GET", &format!("/_restore-delta/sessions/{id}"), None)
}
