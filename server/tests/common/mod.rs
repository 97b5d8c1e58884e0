//! Starting the real server binary on an ephemeral port, and a real HTTP client (ureq).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
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
        let mut command = Command::new(BIN);
        command.args(args).args(["--listen", "127.0.0.1:0"]);
        Server::spawn(command)
    }

    /// Starts a command of the binary (its own `--listen`), and waits for its banner.
    pub fn spawn(mut command: Command) -> Server {
        let mut child = command
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

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, and the exit status once it is gone (a graceful stop).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        self.child.wait().expect("the server exits")
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

/// Runs the binary with `args` (plus `--listen 127.0.0.1:0` unless it is a subcommand) to its
/// end: for starts that must fail, and `verify`.
pub fn run(args: &[&str]) -> std::process::Output {
    let mut command = Command::new(BIN);
    command.args(args);
    if args.first() != Some(&"verify") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    // A start that does not fail prints its banner and serves: not what this is for.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(_status) = child.try_wait().expect("wait") {
            return child.wait_with_output().expect("output");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("still running: {}", String::from_utf8_lossy(&out.stdout));
        }
        std::thread::sleep(Duration::from_millis(20));
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
    use restore_delta::{Options, SessionKind, Timestamp, apply};
    use restore_delta_server::journal::{self, Op, fs::OsFs};
    let (entries, _) = journal::read(&OsFs, db).expect("the journal reads");
    let mut sessions = std::collections::BTreeMap::new();
    let mut patches = Vec::new();
    for entry in entries {
        match entry.record.op {
            Op::Create {
                set,
                now,
                seed,
                id,
                prefer,
                roots,
                max_bytes,
                actor,
                ..
            } => {
                let kind = match set.as_str() {
                    "oneDriveForBusinessRestoreSessions" => SessionKind::OneDriveForBusiness,
                    "sharePointRestoreSessions" => SessionKind::SharePoint,
                    _ => SessionKind::Exchange,
                };
                let now = Timestamp::parse_rfc3339(&now).unwrap();
                let mut ctx = restore_delta_server::store::context(now, seed, actor.as_ref());
                let options = restore_delta_server::store::patch_options(
                    &prefer,
                    &roots,
                    max_bytes.unwrap_or(1 << 20) as usize,
                );
                let session =
                    restore_delta::lifecycle::create(kind, &entry.body, &options, &mut ctx)
                        .expect("a recorded creation replays");
                assert_eq!(session.id(), id);
                sessions.insert(id, session);
            }
            Op::Patch {
                id,
                prefer,
                roots,
                now,
                seed,
                max_bytes,
                actor,
                ..
            } => {
                let options = restore_delta_server::store::patch_options(
                    &prefer,
                    &roots,
                    max_bytes.unwrap_or(1 << 20) as usize,
                );
                let now = Timestamp::parse_rfc3339(&now).unwrap();
                let mut ctx = restore_delta_server::store::context(now, seed, actor.as_ref());
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
            Op::Delete { id } => {
                sessions.remove(&id);
            }
            Op::Start { .. } => {}
            other => panic!("not replayed here: {other:?}"),
        }
    }
    let _ = Options::default();
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

/// What a client that owns one session was told: the artifacts acknowledged answers say it
/// holds, and the last request, if it got no answer. The oracle of the crash tests: it reads
/// nothing the server wrote but its answers and the state it serves after a restart.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Artifact id → restore point id, as acknowledged answers left them.
    pub acked: std::collections::BTreeMap<String, String>,
    /// The last request, not acknowledged: the restore points it adds and the artifacts it
    /// removes.
    pub doubt: Option<(Vec<String>, Vec<String>)>,
    /// Requests sent.
    pub sent: u64,
    /// Requests acknowledged.
    pub acknowledged: u64,
}

impl Model {
    /// The next PATCH body: two additions with restore points `{tag}-{n}-{k}` (no one else's),
    /// and the removal of up to two artifacts it holds (two once it holds 24, so that it stays
    /// small). The request is in doubt until [`Model::answered`].
    pub fn next_body(&mut self, tag: &str, dice: &mut Dice) -> String {
        self.sent += 1;
        let rps: Vec<String> = (0..2).map(|k| format!("{tag}-{}-{k}", self.sent)).collect();
        let mut keys: Vec<&String> = self.acked.keys().collect();
        let count = match keys.len() {
            0 => 0,
            n if n >= 24 => 2,
            _ => dice.below(2) as usize,
        };
        let remove: Vec<String> = (0..count)
            .map(|_| {
                let k = dice.below(keys.len() as u64) as usize;
                keys.swap_remove(k).clone()
            })
            .collect();
        let mut items: Vec<String> = rps
            .iter()
            .map(|rp| format!(r#"{{"restorePoint":{{"id":"{rp}"}},"destinationType":"new"}}"#))
            .collect();
        for r in &remove {
            items.push(format!(
                r#"{{"@removed":{{"reason":"changed"}},"id":"{r}"}}"#
            ));
        }
        self.doubt = Some((rps, remove));
        format!(r#"{{"driveRestoreArtifacts@delta":[{}]}}"#, items.join(","))
    }

    /// The request in doubt was answered 200 with `answer`.
    pub fn answered(&mut self, answer: &str) {
        let (rps, _) = self.doubt.take().expect("a request was sent");
        self.acknowledged += 1;
        let answer: serde_json::Value = serde_json::from_str(answer).expect("a JSON answer");
        let entries = answer["driveRestoreArtifacts@delta"]
            .as_array()
            .expect("one entry per item");
        for (entry, rp) in entries
            .iter()
            .zip(rps.iter().map(Some).chain(std::iter::repeat(None)))
        {
            let id = entry["id"].as_str().expect("an id").to_owned();
            match rp {
                Some(rp) => {
                    assert!(entry.get("@removed").is_none(), "{entry}");
                    self.acked.insert(id, rp.clone());
                }
                None => {
                    assert!(entry.get("@removed").is_some(), "{entry}");
                    self.acked.remove(&id);
                }
            }
        }
    }

    /// Checks what a restarted server holds (artifact id → restore point id): every
    /// acknowledged change, and the request in doubt absent or whole. Takes it as the truth
    /// from here on.
    pub fn settle(
        &mut self,
        found: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), String> {
        let doubt = self.doubt.take();
        if *found == self.acked {
            return Ok(());
        }
        let Some((added, removed)) = doubt else {
            return Err(format!("acknowledged {:?}, found {found:?}", self.acked));
        };
        let mut expected: std::collections::BTreeMap<&str, &str> = self
            .acked
            .iter()
            .filter(|(id, _)| !removed.contains(id))
            .map(|(id, rp)| (id.as_str(), rp.as_str()))
            .collect();
        let mut fresh: Vec<&str> = Vec::new();
        for (id, rp) in found.iter().filter(|(id, _)| !self.acked.contains_key(*id)) {
            expected.insert(id, rp);
            fresh.push(rp);
        }
        fresh.sort_unstable();
        let mut wanted: Vec<&str> = added.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        let seen: std::collections::BTreeMap<&str, &str> = found
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        if fresh == wanted && expected == seen {
            self.acked = found.clone();
            Ok(())
        } else {
            Err(format!(
                "the request in doubt (adding {added:?}, removing {removed:?}) is neither \
                 absent nor whole: acknowledged {:?}, found {found:?}",
                self.acked
            ))
        }
    }
}

/// Raw HTTP/1.1 over TCP, to see exactly when the server answers.
pub fn raw(server: &Server) -> TcpStream {
    let s = TcpStream::connect(server.authority()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Reads an answer's head (status line and headers); its status and text.
pub fn read_status(s: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut chunk).unwrap();
        assert!(
            n > 0,
            "closed before an answer: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().unwrap();
    (status, text)
}
