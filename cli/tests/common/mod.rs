//! The local server started in-process (its library: the store in memory, the HTTP router,
//! injected faults, HTTPS with its local CA), and the `restore-delta` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use restore_delta_server::faults::Faults;
use restore_delta_server::http::{App, Limits, Listener, serve_all};
use restore_delta_server::store::{Config, Store};

/// A server running on its own runtime, stopped when dropped.
pub struct Local {
    pub http: String,
    pub https: Option<String>,
    pub ca: Option<PathBuf>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What to start.
#[derive(Default)]
pub struct Setup {
    pub seed: u64,
    /// `--faults RATE --fault-statuses … --retry-after S --latency-ms MS`.
    pub faults: Option<(f64, Vec<u16>, u32, u64)>,
    /// Serve HTTPS too, with a local CA made in this directory.
    pub tls_dir: Option<PathBuf>,
    /// `--deviate LIST`: rules broken on purpose.
    pub deviate: Option<String>,
    /// The bearer token every request must carry (`--token`).
    pub token: Option<String>,
}

impl Local {
    pub fn start(setup: Setup) -> Local {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        let mut config = Config::new(None, setup.seed);
        if let Some(list) = &setup.deviate {
            config = config
                .with_deviations(restore_delta_server::deviate::Deviations::parse(list).unwrap());
        }
        let (store, _) = Store::open(config).unwrap();
        let mut app = App::new(store);
        app.token = setup.token.clone();
        if let Some((rate, statuses, retry_after, latency)) = setup.faults {
            app.faults = Faults::new(
                rate,
                statuses,
                Duration::from_millis(latency),
                retry_after,
                setup.seed,
            );
        }
        let tcp = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let http = format!("http://{}", tcp.local_addr().unwrap());
        let mut listeners = vec![Listener::http(tcp)];
        let (mut https, mut ca) = (None, None);
        if let Some(dir) = &setup.tls_dir {
            let local = restore_delta_server::tls::local_ca(dir).unwrap();
            let config = restore_delta_server::tls::config(&local.cert, &local.key).unwrap();
            let tcp = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap();
            https = Some(format!("https://{}", tcp.local_addr().unwrap()));
            ca = Some(local.ca.clone());
            listeners.push(Listener {
                tcp,
                tls: Some(tokio_rustls::TlsAcceptor::from(config)),
            });
        }
        drop(_guard);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(serve_all(
                listeners,
                Arc::new(app),
                Limits::default(),
                async {
                    let _ = rx.await;
                },
            ));
        });
        Local {
            http,
            https,
            ca,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// The service root over HTTP.
    pub fn root(&self) -> String {
        format!("{}/v1.0", self.http)
    }

    /// How many sessions the server holds (its own control endpoint).
    pub fn sessions(&self) -> usize {
        let text = ureq::get(&format!("{}/_restore-delta/health", self.http))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["sessions"].as_u64().unwrap() as usize
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_restore-delta"));
    c.env("NO_COLOR", "1").env_remove("RESTORE_DELTA_TOKEN");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).stdin(Stdio::null()).output().unwrap()
}

/// A new empty directory under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
