//! The four programs a tokio user writes first (issue 22) run to completion
//! and print what they should: `examples/periodic.rs`, `shared_state.rs`,
//! `chat.rs` (its in-process demo) and `config_reload.rs`. Each run is
//! bounded (the examples stop themselves; the chat demo's clients time out
//! after 10 s). Wall-clock timings are not asserted.

mod support;

use std::process::Command;

/// Runs example `name` to its end; its exit status must be success. Returns its stdout's lines.
fn run(name: &str) -> Vec<String> {
    let output = Command::new(support::example_path(name)).output().expect("the example starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{name}: {}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    assert!(stderr.is_empty(), "{name} reported:\n{stderr}");
    stdout.lines().map(str::to_string).collect()
}

#[test]
fn periodic_ticks_on_schedule_and_skips_what_it_missed() {
    let lines = run("periodic");
    assert_eq!(lines.last().map(String::as_str), Some(format!("shutdown after {} beats", lines.len() - 1).as_str()));
    let at =
        |line: &str| line.split("scheduled at").nth(1).and_then(|s| s.split("ms").next()).map(|s| s.trim().to_string());
    let scheduled: Vec<u64> = lines.iter().filter_map(|l| at(l)).map(|ms| ms.parse().unwrap()).collect();
    assert_eq!(scheduled[..3], [0, 100, 200], "{lines:#?}");
    assert!(scheduled.windows(2).all(|w| w[0] < w[1] && w[1] % 100 == 0), "on the schedule: {lines:#?}");
    // Beat 3 works from 200 ms to 450 ms: the tick at 300 ms fires late, the one at 400 ms is skipped (a slow
    // machine may skip more, never fire 400).
    assert!(!scheduled.contains(&400), "{lines:#?}");
}

#[test]
fn shared_state_counts_every_word_once() {
    let lines = run("shared_state");
    assert!(lines.contains(&"   the: 3".to_string()), "{lines:#?}");
    assert!(lines.contains(&"   FOX: 1".to_string()), "{lines:#?}");
    assert_eq!(lines.last().map(String::as_str), Some("12 words counted on 2 loops"));
}

#[test]
fn chat_delivers_every_greeting_to_the_other_clients() {
    let lines = run("chat");
    assert_eq!(
        lines,
        [
            "alice heard: hello from bob, hello from carol",
            "bob heard: hello from alice, hello from carol",
            "carol heard: hello from alice, hello from bob",
        ]
    );
}

#[test]
fn config_reload_reaches_every_worker_once_per_change() {
    let lines = run("config_reload");
    for id in [1, 2] {
        for greeting in ["hello", "bonjour"] {
            assert!(lines.contains(&format!("worker {id}: {greeting}, world")), "{lines:#?}");
        }
        // hello -> bonjour -> stop: the reformatted file with the same greeting woke nobody.
        assert!(lines.contains(&format!("worker {id} stopped after 2 reload(s)")), "{lines:#?}");
    }
    assert_eq!(lines.iter().filter(|l| l.starts_with("reloader: new config")).count(), 2, "{lines:#?}");
}
