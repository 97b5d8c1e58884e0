//! Connections: HTTP/1.1 over TCP or TLS, each on its own task, at most `max_connections` at
//! once (over every listener), with a deadline for a client's headers (and a TLS handshake) and
//! for every write of an answer, and a graceful stop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::{App, router};

/// The bounds a server keeps on its connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request's headers (and, in [`App`], its body),
    /// and to finish a TLS handshake.
    pub client_timeout: Duration,
    /// How long one write of an answer may wait for the client to read: a client that stops
    /// reading is disconnected after it.
    pub write_timeout: Duration,
    /// Connections served at once, over every listener; more wait in the listen queue until
    /// one closes.
    pub max_connections: usize,
    /// How long a graceful stop waits for requests in flight before it gives up on them.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            client_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_connections: 1024,
            grace: Duration::from_secs(30),
        }
    }
}

/// The scheme a request came in by, which the links written in answers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme(pub &'static str);

/// A socket to serve, in plain HTTP or over TLS.
pub struct Listener {
    /// The socket.
    pub tcp: TcpListener,
    /// TLS, if this listener speaks HTTPS.
    pub tls: Option<TlsAcceptor>,
}

impl Listener {
    /// A plain HTTP listener.
    pub fn http(tcp: TcpListener) -> Listener {
        Listener { tcp, tls: None }
    }
}

/// Serves `app` on `listener` (plain HTTP) until `stop` completes: [`serve_all`] with one.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    serve_all(vec![Listener::http(listener)], app, limits, stop).await;
}

/// Serves `app` on every listener until `stop` completes; then stops accepting, lets each
/// connection finish the request it is answering (at most `limits.grace`), and returns.
pub async fn serve_all(
    listeners: Vec<Listener>,
    app: Arc<App>,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = Arc::new(GracefulShutdown::new());
    let (stopping, stopped) = watch::channel(false);
    let accepting: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            tokio::spawn(accept_loop(
                listener,
                app.clone(),
                limits,
                permits.clone(),
                graceful.clone(),
                stopped.clone(),
            ))
        })
        .collect();
    stop.await;
    let _ = stopping.send(true);
    for task in accepting {
        let _ = task.await;
    }
    // Every accept loop has ended, so this is the last holder.
    let Ok(graceful) = Arc::try_unwrap(graceful) else {
        return;
    };
    if tokio::time::timeout(limits.grace, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!(
            "restore-delta-server: requests still in flight after {} s were cut off",
            limits.grace.as_secs()
        );
    }
}

async fn accept_loop(
    listener: Listener,
    app: Arc<App>,
    limits: Limits,
    permits: Arc<Semaphore>,
    graceful: Arc<GracefulShutdown>,
    mut stopped: watch::Receiver<bool>,
) {
    let scheme = Scheme(if listener.tls.is_some() {
        "https"
    } else {
        "http"
    });
    let service = router(app).map_request(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(scheme);
        req
    });
    let service = TowerToHyperService::new(service);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            () = stopping(&mut stopped) => return,
        };
        let stream = tokio::select! {
            accepted = listener.tcp.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, most often: wait, then take connections again.
                    eprintln!("restore-delta-server: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopping(&mut stopped) => return,
        };
        let _ = stream.set_nodelay(true);
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout));
        let stream = Box::pin(stream);
        let builder = {
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(limits.client_timeout);
            b
        };
        let service = service.clone();
        let watcher = graceful.watcher();
        let tls = listener.tls.clone();
        tokio::spawn(async move {
            match tls {
                None => {
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection).await;
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.client_timeout, acceptor.accept(stream)).await;
                    if let Ok(Ok(tls)) = handshake {
                        let connection = builder.serve_connection(TokioIo::new(tls), service);
                        let _ = watcher.watch(connection).await;
                    }
                }
            }
            drop(permit);
        });
    }
}

/// Completes once the stop is signalled.
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await.map(|_| ());
}
