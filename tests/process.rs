//! `corio::process` (issue 23, part 3) with pidfds (the default on this
//! kernel): real programs (`cat`, `sh -c`, `yes | head`, a child that
//! ignores SIGTERM, 500 children at once), cancelled waits, no zombie after
//! `wait`, drop or teardown, bad programs failing at `spawn` — each case
//! checking that no descriptor leaks. The same cases run with the SIGCHLD
//! listener in `tests/process_sigchld.rs`; here also on io_uring and off a
//! loop.

mod toolbox;

use toolbox::process_cases as cases;

#[test]
fn cat_echoes_through_its_pipes() {
    cases::cat_echoes_through_its_pipes();
}

#[test]
fn shell_exit_codes_and_signals() {
    cases::shell_exit_codes_and_signals();
}

#[test]
fn yes_into_head_and_a_reader_that_stops() {
    cases::yes_into_head_and_a_reader_that_stops();
}

#[test]
fn a_child_that_ignores_sigterm_is_killed() {
    cases::a_child_that_ignores_sigterm_is_killed();
}

#[test]
fn five_hundred_children_at_once() {
    cases::five_hundred_children_at_once();
}

#[test]
fn a_cancelled_wait_leaks_nothing_and_the_next_wait_reaps() {
    cases::a_cancelled_wait_leaks_nothing_and_the_next_wait_reaps();
}

#[test]
fn an_exit_and_a_cancel_in_the_same_poll() {
    cases::an_exit_and_a_cancel_in_the_same_poll();
}

#[test]
fn no_zombie_after_drop_or_teardown() {
    cases::no_zombie_after_drop_or_teardown();
}

#[test]
fn bad_programs_fail_at_spawn() {
    cases::bad_programs_fail_at_spawn();
}

#[test]
fn children_on_the_io_uring_loop() {
    let _serial = toolbox::serial();
    let reactor = match corio_backends::uring::UringReactor::new() {
        Ok(reactor) => reactor,
        Err(err) => {
            eprintln!("skipped: io_uring is not available here ({err})");
            return;
        }
    };
    let lp = corio::runtime::EventLoop::new(reactor);
    lp.block_on(async {
        let mut cat = corio::process::Command::new("cat")
            .stdin(corio::process::Stdio::piped())
            .stdout(corio::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (out, _) = cat.communicate(Some(b"over io_uring")).await.unwrap();
        assert_eq!(out, b"over io_uring");
        let status = corio::process::Command::new("sh").args(["-c", "sleep 0.05; exit 4"]).status().await.unwrap();
        assert_eq!(status.code(), Some(4));
    })
    .unwrap();
    assert!(toolbox::zombies().is_empty());
}

#[test]
fn spawn_off_a_loop_is_an_error() {
    let err = corio::process::Command::new("true").spawn().unwrap_err();
    assert!(err.to_string().contains("no event loop"), "{err}");
}
