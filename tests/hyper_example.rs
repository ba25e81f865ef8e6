//! `examples/hyper_server` (hyper 1.x on corio through `hyper::rt`
//! adapters) as a real process, checked with real clients from Debian's
//! packages: `curl` (HTTP/1.1 and HTTP/2) and a short `wrk` load run over
//! loopback. `.ci/run` installs both (`apt-get install -y wrk curl`).
//!
//! The assertions are on what the clients and the server report — status
//! codes, bodies, wrk's error counters, the server's totals — never on
//! timing. wrk runs for two seconds, a bound, not a measurement.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use support::{announced_addr, Server};

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

/// The server's last line: `stopped: C connection(s), R request(s), A abandoned mid-request, F failed`.
fn totals(line: &str) -> (u64, u64, u64) {
    let numbers: Vec<u64> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
    match numbers[..] {
        [connections, requests, _abandoned, failed] if line.starts_with("stopped:") => (connections, requests, failed),
        _ => panic!("not a totals line: {line:?}"),
    }
}

#[test]
fn curl_gets_answers_over_http1_and_http2() {
    let (server, announced) = Server::start("hyper_server", &["127.0.0.1:0"]);
    let addr = announced_addr(&announced.replace("http://", ""));

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
    let (server, announced) = Server::start("hyper_server", &["127.0.0.1:0"]);
    let addr = announced_addr(&announced.replace("http://", ""));
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
