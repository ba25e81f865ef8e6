//! `examples/hyper_server` (hyper 1.x on corio) as a real process.
//!
//! Always run: a client written here in Rust (HTTP/1.1 by hand over
//! `std::net`, so it shares no code with the server) checks the routes, and
//! a corio load generator holds 32 keep-alive connections for 6,400
//! requests, every response checked, then the server's own totals must
//! agree.
//!
//! Opt-in (`CORIO_EXTERNAL_CLIENTS=1`, which `.ci/run` sets after
//! `apt-get install -y wrk curl`): the same checks with the real clients,
//! `curl` over HTTP/1.1 and HTTP/2 and a short `wrk` run. Without the
//! variable those two tests say they were skipped; with it, a missing tool
//! fails them.
//!
//! The assertions are on what the clients and the server report — status
//! codes, bodies, error counters, the server's totals — never on timing.

mod support;

use corio::net::TcpStream as CorioStream;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use support::{announced_addr, Server, HANG};

/// The server's last line: `stopped: C connection(s), R request(s), A abandoned mid-request, F failed`.
fn totals(line: &str) -> (u64, u64, u64) {
    let numbers: Vec<u64> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
    match numbers[..] {
        [connections, requests, _abandoned, failed] if line.starts_with("stopped:") => (connections, requests, failed),
        _ => panic!("not a totals line: {line:?}"),
    }
}

fn start() -> (Server, SocketAddr) {
    let (server, announced) = Server::start_with("hyper_server", support::BRIDGES, &["127.0.0.1:0"]);
    let addr = announced_addr(&announced.replace("http://", ""));
    (server, addr)
}

// ---------------------------------------------------------------------------
// A client in Rust: always runs.
// ---------------------------------------------------------------------------

/// One response, parsed from the bytes of an HTTP/1.1 message.
#[derive(Debug)]
struct Response {
    status: u16,
    body: String,
}

/// Where the head ends and how long the body is, once `bytes` hold the
/// whole head; `None` until then.
fn head_and_length(bytes: &[u8]) -> Option<(usize, usize)> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..end]).expect("an ASCII head");
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().expect("a length"))
        })
        .expect("the server sends content-length for these routes");
    Some((end, length))
}

fn parse(message: &[u8]) -> Response {
    let (end, length) = head_and_length(message).expect("a whole head");
    let status_line = std::str::from_utf8(&message[..end]).unwrap().lines().next().unwrap();
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    assert_eq!(message.len(), end + length, "exactly one message: {status_line}");
    Response { status, body: String::from_utf8(message[end..].to_vec()).expect("a UTF-8 body") }
}

/// `GET path` on its own connection (`Connection: close`), blocking, with a
/// bound on every read.
fn get(addr: SocketAddr, path: &str) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(HANG)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut message = Vec::new();
    stream.read_to_end(&mut message).unwrap();
    parse(&message)
}

#[test]
fn a_rust_client_gets_answers() {
    let (server, addr) = start();

    let hello = get(addr, "/");
    assert_eq!((hello.status, hello.body.as_str()), (200, "Hello from corio!\n"));
    let sum = get(addr, "/sum?n=1000000");
    assert_eq!((sum.status, sum.body.as_str()), (200, "500000500000\n"), "computed on the blocking pool");
    let bad = get(addr, "/sum?n=lots");
    assert_eq!(bad.status, 400);
    assert!(bad.body.starts_with("n is not a number"), "{bad:?}");
    assert_eq!(get(addr, "/nowhere").status, 404);

    server.signal(libc::SIGTERM);
    let (status, output) = server.wait();
    assert!(status.success(), "exit status {status}; output {output:#?}");
    let (connections, requests, failed) = totals(output.last().expect("a totals line"));
    assert_eq!((connections, requests, failed), (4, 4, 0), "{output:#?}");
}

/// `examples/http_client` against the server: HTTP/1.1 and HTTP/2, two
/// URLs on one connection, and a clear failure for a refused connection.
#[test]
fn the_http_client_example_fetches_from_the_server() {
    let (server, addr) = start();
    let client = support::example_path_with("http_client", support::BRIDGES);
    let fetch = |args: &[String]| Command::new(&client).args(args).output().expect("run http_client");

    let urls = [format!("http://{addr}/"), format!("http://{addr}/sum?n=100")];
    let output = fetch(&urls);
    assert!(output.status.success(), "{output:?}");
    let expected = format!("{}: HTTP/1.1 200 OK\nHello from corio!\n{}: HTTP/1.1 200 OK\n5050\n", urls[0], urls[1]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);

    let output = fetch(&["--http2".to_string(), urls[0].clone()]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), format!("{}: HTTP/2.0 200 OK\nHello from corio!\n", urls[0]));

    server.signal(libc::SIGTERM);
    let (status, lines) = server.wait();
    assert!(status.success(), "{lines:?}");
    let (connections, requests, failed) = totals(lines.last().expect("a totals line"));
    assert_eq!((connections, requests, failed), (2, 3, 0), "one connection per run: {lines:#?}");

    // The server is gone: a clear error and status 1, no panic.
    let output = fetch(&urls[..1]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("http_client: ") && stderr.contains("refused"), "{stderr}");
}

const LOAD_CONNECTIONS: usize = 32;
const REQUESTS_PER_CONNECTION: usize = 200;

/// One keep-alive connection of the load run: `REQUESTS_PER_CONNECTION`
/// requests in turn, each response read whole and checked.
async fn keep_alive_client(addr: SocketAddr) -> usize {
    let stream = CorioStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).unwrap();
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut buf = vec![0u8; 4096];
    let mut pending: Vec<u8> = Vec::new();
    for _ in 0..REQUESTS_PER_CONNECTION {
        stream.write_all(request.as_bytes()).await.expect("send a request");
        let message_len = loop {
            if let Some((end, length)) = head_and_length(&pending) {
                if pending.len() >= end + length {
                    break end + length;
                }
            }
            let n = stream.read(&mut buf).await.expect("read a response");
            assert_ne!(n, 0, "the server closed a keep-alive connection mid-run");
            pending.extend_from_slice(&buf[..n]);
        };
        let response = parse(&pending[..message_len]);
        assert_eq!((response.status, response.body.as_str()), (200, "Hello from corio!\n"));
        pending.drain(..message_len);
    }
    REQUESTS_PER_CONNECTION
}

#[test]
fn the_server_survives_a_rust_load_run() {
    let (server, addr) = start();

    let lp = corio::new_event_loop().unwrap();
    let completed = lp
        .block_on(async move {
            // The bound in time: a run past it stops the loop and fails.
            corio::call_later(HANG, corio::stop);
            let clients: Vec<_> = (0..LOAD_CONNECTIONS).map(|_| corio::spawn(keep_alive_client(addr))).collect();
            let mut completed = 0;
            for client in clients {
                completed += client.await.expect("every client succeeds");
            }
            completed
        })
        .unwrap_or_else(|err| panic!("the load run did not finish within {HANG:?}: {err}"));
    assert_eq!(completed, LOAD_CONNECTIONS * REQUESTS_PER_CONNECTION);
    drop(lp);

    // Still serving after the load, and it stops cleanly with the same count.
    assert_eq!(get(addr, "/").body, "Hello from corio!\n");
    server.signal(libc::SIGINT);
    let (status, output) = server.wait();
    assert!(status.success(), "exit status {status}; output {output:#?}");
    let (connections, requests, failed) = totals(output.last().expect("a totals line"));
    assert_eq!(connections as usize, LOAD_CONNECTIONS + 1, "{output:#?}");
    assert_eq!(requests as usize, completed + 1, "the server counted every request the clients saw answered");
    assert_eq!(failed, 0, "{output:#?}");
}

// ---------------------------------------------------------------------------
// The real clients: opt-in.
// ---------------------------------------------------------------------------

/// Whether the tests that drive `curl` and `wrk` should run
/// (`CORIO_EXTERNAL_CLIENTS=1`); says so when they are skipped.
fn external_clients(test: &str) -> bool {
    let wanted = std::env::var_os("CORIO_EXTERNAL_CLIENTS").is_some_and(|v| v == "1");
    if !wanted {
        eprintln!("{test}: skipped (set CORIO_EXTERNAL_CLIENTS=1 with curl and wrk installed)");
    }
    wanted
}

/// Runs a client tool; its stdout.
fn run(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {tool} ({err}); install it: apt-get install -y wrk curl"));
    assert!(
        output.status.success(),
        "{tool} {args:?} failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// `curl` with a bound on its time; `extra` goes before the URL.
fn curl(addr: SocketAddr, path: &str, extra: &[&str]) -> String {
    let url = format!("http://{addr}{path}");
    let mut args = vec!["--silent", "--show-error", "--max-time", "60"];
    args.extend_from_slice(extra);
    args.push(&url);
    run("curl", &args)
}

#[test]
fn curl_gets_answers_over_http1_and_http2() {
    if !external_clients("curl_gets_answers_over_http1_and_http2") {
        return;
    }
    let (server, addr) = start();

    assert_eq!(curl(addr, "/", &[]), "Hello from corio!\n");
    let status_and_version = curl(addr, "/", &["--output", "/dev/null", "--write-out", "%{http_code} %{http_version}"]);
    assert_eq!(status_and_version, "200 1.1");
    let h2 = curl(addr, "/", &["--http2-prior-knowledge", "--write-out", " %{http_code} %{http_version}"]);
    assert_eq!(h2, "Hello from corio!\n 200 2", "HTTP/2 streams run as corio tasks through CorioExecutor");
    assert_eq!(curl(addr, "/sum?n=1000000", &[]), "500000500000\n", "computed on the blocking pool");
    assert_eq!(curl(addr, "/sum?n=10", &["--http2-prior-knowledge"]), "55\n");
    let bad = curl(addr, "/sum?n=lots", &["--write-out", "%{http_code}"]);
    assert!(bad.starts_with("n is not a number") && bad.ends_with("400"), "{bad:?}");
    assert_eq!(curl(addr, "/nowhere", &["--output", "/dev/null", "--write-out", "%{http_code}"]), "404");

    server.signal(libc::SIGTERM);
    let (status, output) = server.wait();
    assert!(status.success(), "exit status {status}; output {output:#?}");
    let (connections, requests, failed) = totals(output.last().expect("a totals line"));
    assert_eq!((connections, requests, failed), (7, 7, 0), "{output:#?}");
}

#[test]
fn the_server_survives_a_wrk_run() {
    if !external_clients("the_server_survives_a_wrk_run") {
        return;
    }
    let (server, addr) = start();
    let url = format!("http://{addr}/");

    let report = run("wrk", &["--threads", "2", "--connections", "32", "--duration", "2s", "--timeout", "30s", &url]);
    // wrk prints these lines only when something went wrong.
    assert!(!report.contains("Socket errors"), "wrk saw socket errors:\n{report}");
    assert!(!report.contains("Non-2xx"), "wrk saw error responses:\n{report}");
    let completed: u64 = report
        .lines()
        .find_map(|line| line.trim().split_once(" requests in ").and_then(|(n, _)| n.parse().ok()))
        .unwrap_or_else(|| panic!("no request count in wrk's report:\n{report}"));
    assert!(completed > 0, "wrk completed no request:\n{report}");

    // Still serving after the load, and it stops cleanly.
    assert_eq!(curl(addr, "/", &[]), "Hello from corio!\n");
    server.signal(libc::SIGINT);
    let (status, output) = server.wait();
    assert!(status.success(), "exit status {status}; output {output:#?}");
    let (_, requests, failed) = totals(output.last().expect("a totals line"));
    assert!(requests > completed, "the server answered every request wrk counted ({requests} <= {completed})");
    assert_eq!(failed, 0, "{output:#?}");
}
