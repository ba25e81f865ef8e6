//! Running an example binary as a real server process: start it, read the
//! address it announces, collect its output, stop it with a signal, and
//! wait for its exit — each wait bounded, so a broken server fails the test
//! instead of hanging it.

#![allow(dead_code)] // each test file uses a subset

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long any single wait on the server may take before the test fails.
pub const HANG: Duration = Duration::from_secs(120);

/// The path of example `name`, built for this test's profile. `cargo test`
/// builds examples with the tests, but `cargo test --test X` does not, and a
/// stale binary would test old code: so ask cargo every time (a no-op when
/// it is fresh).
pub fn example_path(name: &str) -> PathBuf {
    example_path_with(name, &[])
}

/// [`example_path`] for an example that needs cargo `features`.
pub fn example_path_with(name: &str, features: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps/<test>");
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--quiet", "--example", name]).current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    let status = build.status().expect("run cargo to build the example");
    assert!(status.success(), "building example {name} failed");
    let path = profile_dir.join("examples").join(name);
    assert!(path.exists(), "example {name} not found at {}", path.display());
    path
}

/// The features the bridge examples are built with: all four, so that
/// `hyper_server`, `http_client` and `https_server` share one build of the
/// library (one feature set) instead of one each.
pub const BRIDGES: &[&str] = &["hyper", "hyper-util", "tls", "tokio-compat"];

/// A running example.
pub struct Server {
    child: Child,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
    /// Every line printed so far, as read.
    pub output: Vec<String>,
}

impl Server {
    /// Starts example `name` with `args` and waits for its first line.
    pub fn start(name: &str, args: &[&str]) -> (Server, String) {
        Server::start_with(name, &[], args)
    }

    /// [`start`](Server::start) for an example that needs cargo `features`.
    pub fn start_with(name: &str, features: &[&str], args: &[&str]) -> (Server, String) {
        let mut child = Command::new(example_path_with(name, features))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the example");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        // Drain continuously: a server blocked on a full pipe would look hung.
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, lines, reader: Some(reader), output: Vec::new() };
        let first = server.next_line().expect("the server announces itself");
        (server, first)
    }

    /// The next line of output, or `None` at end of output.
    pub fn next_line(&mut self) -> Option<String> {
        match self.lines.recv_timeout(HANG) {
            Ok(line) => {
                self.output.push(line.clone());
                Some(line)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                panic!("the server printed nothing for {HANG:?}; output so far: {:#?}", self.output);
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child process; no memory is passed.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0, "kill failed");
    }

    /// Reads the rest of the output and waits for the exit.
    pub fn wait(mut self) -> (ExitStatus, Vec<String>) {
        while self.next_line().is_some() {}
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the output reader");
        }
        // End of output: the process has closed stdout, so it is exiting.
        let status = self.child.wait().expect("wait for the server");
        (status, std::mem::take(&mut self.output))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test must not leave a server behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `host:port` at the end of an announcement line.
pub fn announced_addr(line: &str) -> std::net::SocketAddr {
    line.rsplit(' ').next().and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// Raises the soft limit on open descriptors to the hard limit (children
/// inherit it): a thousand connections need more than the usual 1024.
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit read and write the struct we own.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
        limit.rlim_cur
    }
}
