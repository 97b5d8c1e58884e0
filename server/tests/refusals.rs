//! What the server refuses, and how: pages out of range, query options it does not serve,
//! malformed ids and methods, tokens, and the bounds it keeps on connections and bodies.
//! Every refusal is a Graph error (`{"error":{"code","message","innerError"}}`, Graph's
//! content type), never a framework's plain text.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{Answer, ROOT, Server, create, drive_additions, raw, read_status, temp_dir};

const SET: &str = "oneDriveForBusinessRestoreSessions";

/// A Graph error: its status, code, Graph's content type and member order.
fn graph_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert_eq!(a.code(), code, "{}", a.text);
    assert!(
        a.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        a.headers
    );
    let (c, m, i) = (
        a.text.find("\"code\""),
        a.text.find("\"message\""),
        a.text.find("\"innerError\""),
    );
    assert!(c < m && m < i, "code, message, innerError: {}", a.text);
}

#[test]
fn top_0_is_an_empty_page_and_pages_out_of_range_are_graph_errors() {
    let server = Server::start(&["--in-memory"]);
    let id = create(&server, SET);
    create(&server, SET);
    let path = format!("{ROOT}/{SET}/{id}");
    assert_eq!(
        server
            .call("PATCH", &path, Some(&drive_additions("rp", 3)))
            .status,
        200
    );
    for list in [
        format!("{ROOT}/restoreSessions"),
        format!("{path}/driveRestoreArtifacts"),
    ] {
        // $top=0: no items and no next link (a link would give the same empty page forever).
        let empty = server.call("GET", &format!("{list}?$top=0"), None);
        assert_eq!(empty.status, 200, "{}", empty.text);
        assert_eq!(empty.json()["value"], serde_json::json!([]));
        assert!(
            empty.json().get("@odata.nextLink").is_none(),
            "{}",
            empty.text
        );
        // Past the end, however far: an empty last page (no overflow).
        let far = server.call(
            "GET",
            &format!("{list}?$skip=18446744073709551615&$top=1000"),
            None,
        );
        assert_eq!(far.status, 200, "{}", far.text);
        assert_eq!(far.json()["value"], serde_json::json!([]));
        assert!(far.json().get("@odata.nextLink").is_none());
        // As Microsoft's SDKs send it: percent-encoded.
        let one = server.call("GET", &format!("{list}?%24top=1"), None);
        assert_eq!(one.json()["value"].as_array().unwrap().len(), 1);
        assert!(one.json().get("@odata.nextLink").is_some());
        for bad in [
            "$top=1001",
            "$top=-1",
            "$top=x",
            "$top=1&$top=2",
            "$top=1&$TOP=1",
            "$skiptoken=x",
            // The tokens are the service's own (rule Q6): a number is none of them.
            "$skiptoken=18446744073709551615",
            "$foo=1",
            "$search=x",
            "$top=%FF",
        ] {
            let refused = server.call("GET", &format!("{list}?{bad}"), None);
            graph_error(&refused, 400, "BadRequest");
        }
    }
    // An option without `$` is the service's own, and left alone.
    let custom = server.call("GET", &format!("{ROOT}/restoreSessions?mine=1"), None);
    assert_eq!(custom.status, 200);
    // An endpoint that serves no option refuses them all.
    let refused = server.call("GET", &format!("{path}?$top=1"), None);
    graph_error(&refused, 400, "BadRequest");
}

#[test]
fn every_refusal_is_graph_shaped_and_allow_names_exactly_what_a_path_serves() {
    let server = Server::start(&["--in-memory"]);
    let id = create(&server, SET);
    // Not UTF-8 once decoded: the id rule's 400, not the router's plain text.
    for path in [
        format!("{ROOT}/{SET}/%FF"),
        format!("{ROOT}/{SET}/%FF/activate"),
        "/_restore-delta/sessions/%FF".to_owned(),
    ] {
        let method = if path.ends_with("activate") {
            "POST"
        } else {
            "GET"
        };
        let a = server.call(method, &path, None);
        graph_error(&a, 400, "InvalidRestoreSessionId");
    }
    let session = format!("{ROOT}/{SET}/{id}");
    for (path, method, allow) in [
        (format!("{session}/activate"), "OPTIONS", "POST"),
        (format!("{session}/activate"), "GET", "POST"),
        (
            format!("{session}/driveRestoreArtifacts"),
            "POST",
            "GET,HEAD",
        ),
        (
            format!("{session}/driveRestoreArtifacts"),
            "OPTIONS",
            "GET,HEAD",
        ),
        (session.clone(), "POST", "GET,HEAD,PATCH,DELETE"),
        (format!("{ROOT}/{SET}"), "DELETE", "GET,HEAD,POST"),
    ] {
        let a = server.call(method, &path, None);
        graph_error(&a, 405, "MethodNotAllowed");
        assert_eq!(a.header("allow"), Some(allow), "{method} {path}");
    }
    // A path that serves nothing is 404 whatever the method.
    for (path, method) in [
        (format!("{session}/nothing"), "POST"),
        (format!("{session}/nothing"), "GET"),
        (format!("{ROOT}/noSuchSessions"), "PUT"),
        (format!("{ROOT}/noSuchSessions/{id}"), "DELETE"),
        ("/v1.0/elsewhere".to_owned(), "GET"),
    ] {
        let a = server.call(method, &path, None);
        graph_error(&a, 404, "UnknownPath");
        assert_eq!(a.header("allow"), None, "{method} {path}");
    }
    // The engine's own errors too: code, message, innerError, then details.
    let refused = server.call("PATCH", &session, Some("{"));
    graph_error(&refused, 400, "InvalidPatchRequest");
}

#[test]
fn the_token_comes_from_a_file_or_the_environment() {
    let dir = temp_dir("token");
    let file = dir.join("token");
    std::fs::write(&file, "s3cret\n").unwrap();
    let from_file = Server::start(&["--in-memory", "--token-file", file.to_str().unwrap()]);
    let mut env = std::process::Command::new(common::BIN);
    env.args(["--in-memory", "--listen", "127.0.0.1:0"])
        .env("RESTORE_DELTA_TOKEN", "s3cret");
    let from_env = Server::spawn(env);
    for server in [&from_file, &from_env] {
        let list = format!("{ROOT}/restoreSessions");
        graph_error(
            &server.call("GET", &list, None),
            401,
            "InvalidAuthenticationToken",
        );
        graph_error(
            &server.call_with("GET", &list, None, &[("Authorization", "Bearer s3cre")]),
            401,
            "InvalidAuthenticationToken",
        );
        let ok = server.call_with("GET", &list, None, &[("Authorization", "Bearer s3cret")]);
        assert_eq!(ok.status, 200, "{}", ok.text);
    }
    // Beyond loopback with a token from the environment: allowed.
    let mut wide = std::process::Command::new(common::BIN);
    wide.args(["--in-memory", "--listen", "0.0.0.0:0"])
        .env("RESTORE_DELTA_TOKEN", "s3cret");
    let wide = Server::spawn(wide);
    assert!(wide.banner.contains("listening"), "{}", wide.banner);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn connections_beyond_the_cap_wait_for_one_to_close() {
    let server = Server::start(&["--in-memory", "--max-connections", "2"]);
    let first = raw(&server);
    let _second = raw(&server);
    std::thread::sleep(Duration::from_millis(200));
    let mut third = raw(&server);
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    third
        .write_all(b"GET /_restore-delta/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 64];
    let waiting = third.read(&mut buf);
    assert!(
        waiting.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "answered beyond the cap: {waiting:?}"
    );
    drop(first);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (status, _) = read_status(&mut third);
    assert_eq!(status, 200);
}

#[test]
fn a_client_that_stops_reading_is_disconnected_after_the_write_timeout() {
    let server = Server::start(&["--in-memory", "--write-timeout-secs", "1"]);
    let id = create(&server, SET);
    let path = format!("{ROOT}/{SET}/{id}");
    for n in 0..20 {
        let body = drive_additions(&format!("rp{n}"), 50);
        assert_eq!(server.call("PATCH", &path, Some(&body)).status, 200);
    }
    // 300 pipelined requests for a page of 1,000 artifacts each (about 60 MB), none read.
    let mut s = raw(&server);
    let request = format!("GET {path}/driveRestoreArtifacts?$top=1000 HTTP/1.1\r\nHost: x\r\n\r\n");
    let sent = 300;
    let mut writer = s.try_clone().unwrap();
    std::thread::spawn(move || {
        for _ in 0..sent {
            if writer.write_all(request.as_bytes()).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_secs(4));
    // Meanwhile the server serves others.
    let started = Instant::now();
    assert_eq!(
        server.call("GET", "/_restore-delta/health", None).status,
        200
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let answered = all.windows(15).filter(|w| w == b"HTTP/1.1 200 OK").count();
    assert!(
        answered < sent,
        "the connection stayed open for all {sent} answers"
    );
}

#[test]
fn a_refused_chunked_body_closes_the_connection() {
    let server = Server::start(&["--in-memory", "--max-body-bytes", "1000"]);
    let id = create(&server, SET);
    let mut s = raw(&server);
    write!(
        s,
        "PATCH {ROOT}/{SET}/{id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let mut writer = s.try_clone().unwrap();
    // 20 times the limit: more than the server drains (at most the limit again).
    std::thread::spawn(move || {
        let chunk = vec![b' '; 1000];
        for _ in 0..20 {
            if write!(writer, "{:x}\r\n", chunk.len()).is_err()
                || writer.write_all(&chunk).is_err()
                || writer.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
    });
    let (status, head) = read_status(&mut s);
    assert_eq!(status, 413, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    // Then the server closes it (not kept alive for the rest of the body).
    let mut rest = Vec::new();
    let started = Instant::now();
    let _ = s.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(10));
    // A declared length over the limit closes too.
    let mut s = raw(&server);
    write!(
        s,
        "PATCH {ROOT}/{SET}/{id} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    )
    .unwrap();
    let (status, head) = read_status(&mut s);
    assert_eq!(status, 413, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
}

#[test]
fn a_create_is_decided_with_the_options_of_a_patch() {
    let server = Server::start(&["--in-memory", "--max-body-bytes", "300"]);
    // The server's own service root, as a PATCH accepts it (rule A2).
    let own = format!(
        "http://{}/v1.0/solutions/backupRestore/restorePoints/rp-own",
        server.authority()
    );
    let body = format!(
        r#"{{"driveRestoreArtifacts":[{{"restorePoint":{{"@odata.id":"{own}"}},"destinationType":"new"}}]}}"#
    );
    let made = server.call("POST", &format!("{ROOT}/{SET}"), Some(&body));
    assert_eq!(made.status, 201, "{}", made.text);
    // And its limit (rule E1): 300 bytes here.
    let long = format!("{{\"driveRestoreArtifacts\":[]{}}}", " ".repeat(300));
    let refused = server.call("POST", &format!("{ROOT}/{SET}"), Some(&long));
    graph_error(&refused, 413, "RequestEntityTooLarge");
}

#[test]
fn a_request_refused_before_its_body_is_read_still_gets_its_answer() {
    let faulty = Server::start(&["--in-memory", "--faults", "1", "--fault-statuses", "503"]);
    let locked = Server::start(&["--in-memory", "--token", "t"]);
    // A body the client is still sending when the answer comes (600 KB, under the limit).
    let body = format!(
        "{{\"driveRestoreArtifacts@delta\":[]{}}}",
        " ".repeat(600_000)
    );
    for _ in 0..5 {
        let url = faulty.url(&format!("{ROOT}/{SET}/some-id"));
        let answer = common::try_call(&common::agent(), &url, "PATCH", Some(&body), &[])
            .expect("the fault is read, not a broken pipe");
        assert_eq!(answer.status, 503);
        let url = locked.url(&format!("{ROOT}/{SET}/some-id"));
        let answer = common::try_call(&common::agent(), &url, "PATCH", Some(&body), &[])
            .expect("the 401 is read, not a broken pipe");
        assert_eq!(answer.status, 401);
    }
}
