//! Structured concurrency: task groups, timeouts, shields, cancel scopes,
//! and the combinators that wait for several things.
//!
//! Two kinds of cancellation meet here.
//!
//! * **asyncio's, on tasks** (`task_group`, `timeout`, `wait_for`,
//!   `shield`, `gather`): a scope cancels the *task* it runs in — one
//!   counted request — the body sees `Cancelled` at its next checkpoint and
//!   may clean up, and the scope recognises its own cancellation on the way
//!   out by the count (`cancelling`/`uncancel`) and by token liveness (did
//!   the body return holding a cancellation delivered since the scope was
//!   entered?). CPython 3.13's `taskgroups.py`, `timeouts.py` and
//!   `tasks.py`, rule for rule (G1–G7, TO1–TO6, C6, K1–K3).
//! * **trio's, on regions** ([`CancelScope`], `move_on_after`,
//!   `fail_after`), with enforced cancellation: a cancelled scope drops what
//!   runs inside it at its next suspension. A shielded scope holds both
//!   kinds back from what runs inside it.
//!
//! # Failure or cancellation?
//!
//! A child, a body or a gathered future "failed" when it returned `Err(e)`
//! while *not* holding a cancellation it was given; if it returned holding
//! one (typically: `?` on a checkpoint, or an `io::Error` wrapping it), it
//! ended cancelled. No trait is needed on the error type, and plain
//! `spawn` knows nothing of it: the loop tracks the tokens it delivers.
//! This is asyncio's rule — a `CancelledError` that escapes is a
//! cancellation; `except CancelledError: raise ValueError()` is a failure.
//!
//! # Invariants
//!
//! * A task group never finishes while a child runs (G1); dropped early,
//!   it aborts its children.
//! * A scope takes back every cancel request it made (`uncancel`), so the
//!   task's `cancelling()` is the same after the scope as before, unless
//!   someone else cancelled it meanwhile — and that cancel is never
//!   swallowed (G4, G5, TO2, TO3).
//! * Shields hold cancels back; they never drop them.

mod cancel_scope;
mod combinators;
pub(crate) mod deadline;
mod shield;
mod task_group;
mod timeout;

pub use cancel_scope::{fail_after, fail_at, move_on_after, move_on_at, CancelScope, FailAfter, Scoped};
pub use combinators::{
    as_completed, gather, gather_settled, select, select_all, wait, AsCompleted, Either, Gather, GatherError,
    GatherHandle, GatherSettled, Next, Outcome, ReturnWhen, Select, SelectAll, WaitTasks,
};
pub use deadline::Timed;
pub use shield::{shield, Shield};
pub use task_group::{
    task_group, Child, ChildError, ErrorGroup, Failure, GroupError, GroupScope, Source, SpawnError, TaskGroup,
};
pub use timeout::{timeout, timeout_at, wait_for, Elapsed, Timeout, TimeoutHandle, TimeoutScope, TimeoutStateError};
