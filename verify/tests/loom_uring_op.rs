//! Loom model of a completion-based operation's hand-off (`core/src/reactor/ops.rs`): the kernel (through the
//! reactor) writes into the operation's buffer and completes it, while the awaiter waits for it or gives up.
//!
//! The operation's memory is one shared allocation: the ring's `OpRef` (held by the reactor until the completion) and
//! the awaiter's `Op`. The buffer is a loom `UnsafeCell`, so loom checks that the kernel's writes and the awaiter's
//! reads never overlap, and its `Arc` leak check that the memory is freed exactly when both sides let go.
//!
//! * `a_cancelled_read_never_loses_its_buffer_under_the_kernel`: the awaiter drops its `Op` (a cancelled read) while
//!   a kernel thread writes into the buffer and completes the operation. The buffer is never touched by the awaiter,
//!   and is freed after the kernel is done, on whichever thread lets go last.
//! * `a_completed_read_is_seen_whole`: the awaiter waits in `block_on` while the kernel thread writes and completes;
//!   it gets the kernel's result and exactly the bytes written.
//!
//! Caught mutants: `op_abandon_frees_buffer` (the cancelled awaiter frees the buffer the kernel is writing: loom
//! reports the concurrent access), `op_publish_before_result` (`DONE` published before the result: the awaiter reads
//! it while it is written).
#![cfg(corio_loom)]

mod loom_support;

use corio_core::reactor::ops::{Op, OpKind};
use loom_support::{check, poll_noop};
use std::task::Poll;

#[test]
fn a_cancelled_read_never_loses_its_buffer_under_the_kernel() {
    check("loom_uring_op::a_cancelled_read_never_loses_its_buffer_under_the_kernel", || {
        let (mut op, ring) = Op::new(OpKind::Read { fd: 0 }, vec![0u8; 4], None);
        let kernel = loom::thread::spawn(move || {
            ring.kernel_access(|buf| buf.fill(7));
            ring.complete(4);
        });
        // The awaiter looks once, then gives up (a cancelled task drops it).
        if let Poll::Ready(done) = poll_noop(&mut op) {
            assert_eq!((done.result, done.buffer), (4, vec![7; 4]));
        }
        drop(op);
        kernel.join().unwrap();
    });
}

#[test]
fn a_completed_read_is_seen_whole() {
    check("loom_uring_op::a_completed_read_is_seen_whole", || {
        let (op, ring) = Op::new(OpKind::Read { fd: 0 }, vec![0u8; 8], None);
        let kernel = loom::thread::spawn(move || {
            ring.kernel_access(|buf| buf[..3].copy_from_slice(b"abc"));
            ring.complete(3);
        });
        let done = loom::future::block_on(op);
        assert_eq!(done.result, 3);
        assert_eq!(done.buffer, b"abc", "truncated to the bytes read, all of them");
        kernel.join().unwrap();
    });
}
