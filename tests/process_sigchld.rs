//! The subprocess cases of `tests/process.rs`, with children's exits seen
//! through the loop's one SIGCHLD listener instead of pidfds
//! (`CORIO_PROCESS_REAPER=sigchld`, as on kernels without pidfds).

mod toolbox;

use toolbox::process_cases as cases;

/// Chooses the SIGCHLD path before any child is spawned in this binary
/// (every test sets the same value; corio reads it once).
fn sigchld() {
    std::env::set_var("CORIO_PROCESS_REAPER", "sigchld");
    // The signal machinery's self-pipe is created once per process and
    // kept: create it before the tests count descriptors.
    corio::run(async { drop(corio::signal::Signals::new([corio::signal::Signal::CHLD]).unwrap()) }).unwrap();
}

#[test]
fn cat_echoes_through_its_pipes() {
    sigchld();
    cases::cat_echoes_through_its_pipes();
}

#[test]
fn shell_exit_codes_and_signals() {
    sigchld();
    cases::shell_exit_codes_and_signals();
}

#[test]
fn yes_into_head_and_a_reader_that_stops() {
    sigchld();
    cases::yes_into_head_and_a_reader_that_stops();
}

#[test]
fn a_child_that_ignores_sigterm_is_killed() {
    sigchld();
    cases::a_child_that_ignores_sigterm_is_killed();
}

#[test]
fn five_hundred_children_at_once() {
    sigchld();
    cases::five_hundred_children_at_once();
}

#[test]
fn a_cancelled_wait_leaks_nothing_and_the_next_wait_reaps() {
    sigchld();
    cases::a_cancelled_wait_leaks_nothing_and_the_next_wait_reaps();
}

#[test]
fn an_exit_and_a_cancel_in_the_same_poll() {
    sigchld();
    cases::an_exit_and_a_cancel_in_the_same_poll();
}

#[test]
fn no_zombie_after_drop_or_teardown() {
    sigchld();
    cases::no_zombie_after_drop_or_teardown();
}

#[test]
fn bad_programs_fail_at_spawn() {
    sigchld();
    cases::bad_programs_fail_at_spawn();
}
