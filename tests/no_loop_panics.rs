//! Every function that panics because no loop is running on the thread
//! names the caller's line, not a line inside corio (issue 26, item 6):
//! `#[track_caller]` reaches from the public function to the panic.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a panic happened, as the panic hook saw it, and its message.
type Seen = Arc<Mutex<Option<(String, u32, String)>>>;

/// Runs `f` (which must panic), returns the panic's file, line and message.
fn panic_site(seen: &Seen, f: impl FnOnce()) -> (String, u32, String) {
    seen.lock().unwrap().take();
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    assert!(result.is_err(), "expected a panic");
    seen.lock().unwrap().take().expect("the hook saw the panic")
}

/// Takes whatever the call returned (it never returns: it panics).
fn discard<T>(_: T) {}

/// One test, so that the process-wide panic hook is not shared with
/// another test running at the same time.
#[test]
fn every_no_loop_panic_points_at_the_caller() {
    let seen: Seen = Arc::new(Mutex::new(None));
    let hook_seen = seen.clone();
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let location = info.location().expect("panics carry a location");
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        *hook_seen.lock().unwrap() = Some((location.file().to_string(), location.line(), message));
    }));

    // Each case: a name, the line of the call, and the call (on that line:
    // `line!()` and the call's tokens come from the same macro invocation).
    macro_rules! case {
        ($name:literal, $call:expr) => {
            ($name, line!(), Box::new(|| discard($call)) as Box<dyn FnOnce()>)
        };
    }
    let cases = vec![
        case!("spawn", corio::spawn(async {})),
        case!("task::Builder::spawn", corio::task::Builder::new().spawn(async {})),
        case!("call_soon", corio::call_soon(|| {})),
        case!("call_later", corio::call_later(Duration::from_secs(1), || {})),
        case!("call_at", corio::call_at(Instant::now(), || {})),
        case!("time", corio::time()),
        case!("stop", corio::stop()),
        case!("handle", corio::handle()),
        case!("runtime::metrics", corio::runtime::metrics()),
        case!("task::dump", corio::task::dump()),
        case!("run_in_executor", corio::run_in_executor(|| ())),
        case!("to_thread", corio::to_thread(|| ())),
        case!("spawn_blocking", corio::spawn_blocking(|| ())),
    ];
    let mut wrong = Vec::new();
    for (name, line, call) in cases {
        let (file, at, message) = panic_site(&seen, call);
        assert!(message.contains("no event loop is running on this thread"), "{name}: {message}");
        if (file.as_str(), at) != (file!(), line) {
            wrong.push(format!("{name} panicked at {file}:{at}, not at {}:{line}", file!()));
        }
    }
    panic::set_hook(previous);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
