//! The subprocess tests, as functions: `tests/process.rs` runs them with
//! pidfds, `tests/process_sigchld.rs` with the `SIGCHLD` listener. Each
//! checks that no zombie and no descriptor is left behind.

use super::{eventually, is_zombie, no_fd_leak, serial, zombies};
use corio::process::{create_subprocess_exec, create_subprocess_shell, Command, Stdio};
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

/// Runs `body` on a fresh default loop, then checks that every child is
/// reaped (the reaper may need a moment for dropped ones) and no
/// descriptor leaked.
pub fn checked<T>(what: &str, body: impl std::future::Future<Output = T>) -> T {
    let _serial = serial();
    let out = no_fd_leak(what, || {
        let out = corio::run(body).expect("loop");
        assert!(
            eventually(LIMIT, || zombies().is_empty() && corio::process::orphans_pending() == 0),
            "{what}: zombies left: {:?}, orphans pending: {}",
            zombies(),
            corio::process::orphans_pending()
        );
        out
    });
    out
}

pub fn cat_echoes_through_its_pipes() {
    checked("cat", async {
        // communicate: write, close, read, wait.
        let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let input: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect(); // more than a pipe holds
        let (out, err) = cat.communicate(Some(&input)).await.unwrap();
        assert!(out == input, "every byte came back");
        assert!(err.is_empty());
        assert_eq!(cat.returncode(), Some(0));
        assert_eq!(cat.id(), None, "reaped");

        // By hand: write, drop stdin, read to the end, wait.
        let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut stdin = cat.stdin.take().unwrap();
        stdin.write_all(b"by hand").await.unwrap();
        drop(stdin);
        let mut out = Vec::new();
        cat.stdout.as_mut().unwrap().read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"by hand");
        assert!(cat.wait().await.unwrap().success());
        // Waiting again gives the same status.
        assert!(cat.wait().await.unwrap().success());
        assert!(cat.try_wait().unwrap().unwrap().success());
    });
}

pub fn shell_exit_codes_and_signals() {
    checked("sh -c", async {
        let status = Command::new("sh").args(["-c", "exit 3"]).status().await.unwrap();
        assert_eq!(status.code(), Some(3));
        let mut killed =
            create_subprocess_shell("kill -TERM $$", Stdio::null(), Stdio::null(), Stdio::null()).await.unwrap();
        let status = killed.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        assert_eq!(killed.returncode(), Some(-libc::SIGTERM));
        let out = Command::new("sh").args(["-c", "echo out; echo err >&2; exit 7"]).output().await.unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice(), out.status.code()),
            (&b"out\n"[..], &b"err\n"[..], Some(7))
        );
        let mut proc =
            create_subprocess_exec("printf", ["%s-%s", "a", "b"], Stdio::null(), Stdio::piped(), Stdio::inherit())
                .await
                .unwrap();
        let (out, _) = proc.communicate(None).await.unwrap();
        assert_eq!(out, b"a-b");
    });
}

pub fn yes_into_head_and_a_reader_that_stops() {
    checked("yes | head", async {
        let out = Command::new("sh").args(["-c", "yes | head -n 100000"]).output().await.unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), 200_000);
        // We are `head`: read a little, then close the pipe; `yes` dies of
        // SIGPIPE.
        let mut yes = Command::new("yes").stdout(Stdio::piped()).spawn().unwrap();
        let mut some = [0u8; 4096];
        let n = yes.stdout.as_mut().unwrap().read(&mut some).await.unwrap();
        assert!(n > 0 && some[..n].starts_with(b"y\n"));
        drop(yes.stdout.take());
        assert_eq!(yes.wait().await.unwrap().signal(), Some(libc::SIGPIPE));
    });
}

pub fn a_child_that_ignores_sigterm_is_killed() {
    checked("ignores SIGTERM", async {
        let mut stubborn = Command::new("sh")
            .args(["-c", "trap '' TERM; echo ready; exec sleep 30"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = [0u8; 6];
        let n = stubborn.stdout.as_mut().unwrap().read(&mut ready).await.unwrap();
        assert_eq!(&ready[..n], b"ready\n");
        stubborn.terminate().unwrap();
        corio::sleep(Duration::from_millis(100)).await.unwrap();
        assert!(stubborn.try_wait().unwrap().is_none(), "SIGTERM is ignored");
        let start = Instant::now();
        stubborn.kill().await.unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(stubborn.try_wait().unwrap().unwrap().signal(), Some(libc::SIGKILL));
        // Signalling a reaped child is an error, not a shot at a recycled pid.
        assert_eq!(stubborn.start_kill().unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(stubborn.id(), None);
    });
}

pub fn five_hundred_children_at_once() {
    checked("500 children", async {
        let tasks: Vec<_> = (0..500)
            .map(|i| {
                corio::spawn(async move {
                    let mut child = Command::new("sh").args(["-c", &format!("exit {}", i % 7)]).spawn()?;
                    child.wait().await.map(|s| s.code())
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap().unwrap(), Some(i as i32 % 7));
        }
        // And 500 alive at the same time, then all killed.
        let mut children: Vec<_> = (0..500).map(|_| Command::new("sleep").arg("30").spawn().unwrap()).collect();
        for child in &mut children {
            child.start_kill().unwrap();
        }
        for child in &mut children {
            assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
        }
    });
}

pub fn a_cancelled_wait_leaks_nothing_and_the_next_wait_reaps() {
    checked("cancelled wait", async {
        let mut child = Command::new("sleep").arg("0.2").spawn().unwrap();
        // A wait cancelled while the child runs.
        let cancelled = corio::wait_for(Duration::from_millis(20), child.wait()).await;
        assert!(cancelled.is_err(), "timed out");
        // The next wait reaps it.
        assert!(child.wait().await.unwrap().success());
    });
}

/// The exit and the cancel land before the same poll: the checkpoint wins,
/// the status is not taken, and the next wait reaps.
pub fn an_exit_and_a_cancel_in_the_same_poll() {
    checked("exit vs cancel", async {
        let task = corio::spawn(async {
            let mut cat = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
            let pid = cat.id().unwrap();
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(cat.poll_wait(&mut cx).is_pending(), "cat waits for input");
            drop(cat.stdin.take()); // cat exits
            assert!(eventually(LIMIT, || is_zombie(pid)), "cat became a zombie");
            corio::current_task().unwrap().cancel();
            let err = std::future::poll_fn(|cx| cat.poll_wait(cx)).await.unwrap_err();
            assert!(corio::Cancelled::find(&err).is_some(), "{err}");
            assert!(is_zombie(pid), "the cancelled wait reaped nothing");
            corio::current_task().unwrap().uncancel();
            let status = cat.wait().await.unwrap();
            assert!(status.success());
            assert!(!is_zombie(pid));
        });
        task.await.unwrap();
    });
}

pub fn no_zombie_after_drop_or_teardown() {
    // Dropped while running, kill_on_drop: killed and reaped.
    checked("kill_on_drop", async {
        let child = Command::new("sleep").arg("30").kill_on_drop(true).spawn().unwrap();
        drop(child);
    });
    // Dropped while running, no kill_on_drop: runs on, reaped when done.
    let started = Instant::now();
    checked("dropped without kill", async {
        drop(Command::new("sleep").arg("0.3").spawn().unwrap());
    });
    assert!(started.elapsed() >= Duration::from_millis(250), "it ran to its end");
    // A task waiting on a child when the loop tears down: cancelled,
    // the child killed and reaped.
    checked("teardown", async {
        let waiter = corio::spawn(async {
            let mut child = Command::new("sleep").arg("30").kill_on_drop(true).spawn().unwrap();
            child.wait().await
        });
        waiter.detach(); // only the teardown ends it
        corio::sleep(Duration::from_millis(50)).await.unwrap();
        // `corio::run` returns: the task is cancelled, its child dropped.
    });
}

pub fn bad_programs_fail_at_spawn() {
    checked("bad programs", async {
        let err = Command::new("/no/such/program").spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("/no/such/program"), "{err}");
        let err = Command::new("no-such-program-corio").spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        // A directory, and a file without execute permission (root too).
        let err = Command::new("/tmp").spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        let script = std::env::temp_dir().join(format!("corio-noexec-{}", std::process::id()));
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let err = Command::new(&script).spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        std::fs::remove_file(&script).unwrap();
        let err = create_subprocess_exec("/no/such", Vec::<&str>::new(), Stdio::null(), Stdio::null(), Stdio::null())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        // A bad working directory.
        let err = Command::new("true").current_dir("/no/such/dir").spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        // A NUL in an argument.
        let err = Command::new("echo").arg("a\0b").spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    });
}
