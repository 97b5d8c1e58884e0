//! HTTPS over a real TLS client (rustls, trusting only the server's local CA): a local CA
//! made once and reused, a certificate given with `--cert`/`--key`, and links that carry the
//! scheme and host the client used, or `--public-url`.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{ROOT, Server, temp_dir};

const SET: &str = "oneDriveForBusinessRestoreSessions";

/// An HTTP client that trusts only the CA in `ca` (PEM).
fn client(ca: &Path) -> ureq::Agent {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    ureq::AgentBuilder::new()
        .tls_config(Arc::new(config))
        .timeout(Duration::from_secs(30))
        .build()
}

/// The `https://` address and the CA file the banner names.
fn https_of(server: &Server) -> (String, Option<String>) {
    let base = server
        .banner
        .split("https://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .map(|a| format!("https://{a}"))
        .unwrap_or_else(|| panic!("no https address in {:?}", server.banner));
    let ca = server
        .banner
        .split("(CA ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .map(str::to_owned);
    (base, ca)
}

fn json(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let req = agent.request(method, url);
    let result = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap();
    let value = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, value)
}

#[test]
fn https_with_a_local_ca_and_links_that_name_the_scheme() {
    let dir = temp_dir("tls");
    let tls_dir = dir.join("tls");
    let args = [
        "--in-memory",
        "--tls",
        "--tls-dir",
        tls_dir.to_str().unwrap(),
        "--https-listen",
        "127.0.0.1:0",
    ];
    let server = Server::start(&args);
    let (https, ca) = https_of(&server);
    let ca = ca.expect("the banner names the CA");
    assert_eq!(Path::new(&ca), tls_dir.join("ca.pem"));
    let agent = client(Path::new(&ca));
    let sets = format!("{https}{ROOT}/{SET}");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, made) = json(&agent, "POST", &sets, Some("{}"));
        assert_eq!(status, 201, "{made}");
        assert!(
            made["@odata.context"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{https}/v1.0/$metadata#")),
            "{made}"
        );
        ids.push(made["id"].as_str().unwrap().to_owned());
    }
    // Paging by following the links, over HTTPS.
    let (status, page) = json(&agent, "GET", &format!("{sets}?$top=1"), None);
    assert_eq!(status, 200);
    let next = page["@odata.nextLink"].as_str().unwrap().to_owned();
    assert!(next.starts_with(&format!("{https}/v1.0/")), "{next}");
    let (status, page) = json(&agent, "GET", &next, None);
    assert_eq!(status, 200);
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert!(page.get("@odata.nextLink").is_none());
    // A restorePoint@odata.id under the https root the client used (rule A2).
    let body = format!(
        r#"{{"driveRestoreArtifacts@delta":[{{"restorePoint":{{"@odata.id":"{https}/v1.0/solutions/backupRestore/restorePoints/rp-1"}},"destinationType":"new"}}]}}"#
    );
    let (status, answer) = json(&agent, "PATCH", &format!("{sets}/{}", ids[0]), Some(&body));
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["driveRestoreArtifacts@delta"][0]
            .get("@Core.DataModificationException")
            .is_none(),
        "{answer}"
    );
    // HTTP is still served.
    assert_eq!(
        server.call("GET", &format!("{ROOT}/{SET}"), None).status,
        200
    );
    // A client that does not trust the CA is refused.
    let stranger = ureq::AgentBuilder::new().build();
    assert!(matches!(
        stranger.get(&sets).call(),
        Err(ureq::Error::Transport(_))
    ));
    let made = std::fs::read(tls_dir.join("cert.pem")).unwrap();
    drop(server);

    // Started again: the same CA and certificate.
    let server = Server::start(&args);
    assert_eq!(std::fs::read(tls_dir.join("cert.pem")).unwrap(), made);
    let (https, _) = https_of(&server);
    let (status, _) = json(&agent, "GET", &format!("{https}{ROOT}/{SET}"), None);
    assert_eq!(status, 200);
    drop(server);

    // The same files given as --cert and --key, and a public URL behind a proxy.
    let cert = tls_dir.join("cert.pem");
    let key = tls_dir.join("key.pem");
    let server = Server::start(&[
        "--in-memory",
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--https-listen",
        "127.0.0.1:0",
        "--public-url",
        "https://graph.example.test/proxy/",
    ]);
    let (https, ca) = https_of(&server);
    assert!(ca.is_none(), "no CA of its own: {}", server.banner);
    let (status, made) = json(&agent, "POST", &format!("{https}{ROOT}/{SET}"), Some("{}"));
    assert_eq!(status, 201);
    assert!(
        made["@odata.context"]
            .as_str()
            .unwrap()
            .starts_with("https://graph.example.test/proxy/v1.0/$metadata#"),
        "{made}"
    );
    let body = r#"{"driveRestoreArtifacts@delta":[{"restorePoint":{"@odata.id":"https://graph.example.test/proxy/v1.0/solutions/backupRestore/restorePoints/rp-2"},"destinationType":"new"}]}"#;
    let id = made["id"].as_str().unwrap();
    let (status, answer) = json(
        &agent,
        "PATCH",
        &format!("{https}{ROOT}/{SET}/{id}"),
        Some(body),
    );
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["driveRestoreArtifacts@delta"][0]
            .get("@Core.DataModificationException")
            .is_none(),
        "{answer}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_tls_flags_are_refused_at_start() {
    let dir = temp_dir("tls-bad");
    let missing = dir.join("missing.pem");
    let out = common::run(&[
        "--in-memory",
        "--cert",
        missing.to_str().unwrap(),
        "--key",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--cert"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = common::run(&["--in-memory", "--public-url", "ftp://x"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}
