//! Loom model of name lookups (`core/src/io/resolve/`): the bound on concurrent lookups holds across cancellation,
//! and a call to a waiter that goes away is passed on.
//!
//! The real `Resolver` runs here with a lookup function of the model's, on a real `BlockingPool` whose workers are loom
//! threads (lookups with a pool of their own need no loop). Lookups are awaited with `loom::future::block_on`, whose
//! waker parks the thread on a loom primitive: a lost wake-up is a loom deadlock.
//!
//! * `a_cancelled_lookup_holds_its_slot_until_it_ends`: one slot, two pool threads. Lookup A takes the slot and its
//!   job is queued; A's task is cancelled (the future dropped) while the job may be queued, running or done; then
//!   lookup B runs to its end. A started lookup cannot be stopped, so B must not start before A's job has ended: at
//!   most one lookup function runs at any time (counted with a loom atomic, so loom interleaves inside the window).
//!   A withdrawn A never runs; B always gets its result.
//! * `a_called_waiter_that_goes_away_passes_the_call_on`: one slot. A holds it; B and C wait in that order, C in
//!   `block_on` on the main thread. A's job ends on a worker (giving the slot back and calling B) while another thread
//!   drops B. Whichever comes first, C must be woken and get the slot.
//!
//! Caught mutants: `lookup_slot_freed_on_cancel` (two lookups run at once), `gate_cancel_swallows_call` (C is never
//! woken: loom reports the deadlock).
#![cfg(corio_loom)]

mod loom_support;

use corio_core::blocking::BlockingPool;
use corio_core::io::Resolver;
use loom::sync::atomic::{AtomicUsize as LoomUsize, Ordering as LoomOrdering};
use loom_support::{check, poll_noop};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], port))
}

#[test]
fn a_cancelled_lookup_holds_its_slot_until_it_ends() {
    static WITHDRAWN: AtomicUsize = AtomicUsize::new(0);
    check("loom_lookup::a_cancelled_lookup_holds_its_slot_until_it_ends", || {
        let pool = BlockingPool::builder().max_threads(2).keep_alive(Duration::ZERO).build();
        let running = Arc::new(LoomUsize::new(0));
        let (max, runs) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (r, m, n) = (running.clone(), max.clone(), runs.clone());
        let resolver = Resolver::builder()
            .max_concurrent(1)
            .pool(pool.clone())
            .lookup(move |_, port| {
                let now = r.fetch_add(1, LoomOrdering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                n.fetch_add(1, Ordering::SeqCst);
                // getaddrinfo takes a while: let the other threads run
                // (a yield is not a preemption, so the bound stays for the
                // runtime's own switches).
                loom::thread::yield_now();
                r.fetch_sub(1, LoomOrdering::SeqCst);
                Ok(vec![addr(port)])
            })
            .build();
        let mut a = Box::pin(resolver.lookup("a.test:1"));
        match poll_noop(&mut a) {
            Poll::Ready(result) => assert_eq!(result.unwrap().collect::<Vec<_>>(), [addr(1)]),
            Poll::Pending => drop(a), // cancelled: withdrawn, or left to finish on its thread
        }
        let b = loom::future::block_on(resolver.lookup("b.test:2")).expect("B resolves");
        assert_eq!(b.collect::<Vec<_>>(), [addr(2)]);
        assert!(pool.shutdown(Duration::MAX).is_clean());
        assert_eq!(max.load(Ordering::SeqCst), 1, "at most one lookup at a time, cancelled ones included");
        assert_eq!(resolver.running(), 0, "every slot came back");
        if runs.load(Ordering::SeqCst) == 1 {
            WITHDRAWN.fetch_add(1, Ordering::Relaxed);
        }
    });
    let withdrawn = WITHDRAWN.load(Ordering::Relaxed);
    eprintln!("loom_lookup::a_cancelled_lookup_holds_its_slot_until_it_ends: A withdrawn before it ran in {withdrawn} executions");
}

#[test]
fn a_called_waiter_that_goes_away_passes_the_call_on() {
    check("loom_lookup::a_called_waiter_that_goes_away_passes_the_call_on", || {
        let pool = BlockingPool::builder().max_threads(1).keep_alive(Duration::ZERO).build();
        let resolver = Arc::new(
            Resolver::builder().max_concurrent(1).pool(pool.clone()).lookup(|_, port| Ok(vec![addr(port)])).build(),
        );
        // A takes the slot; its job runs on the worker whenever loom says.
        let mut a = {
            let r = resolver.clone();
            Box::pin(async move { r.lookup("a.test:1").await.map(|a| a.count()) })
        };
        let a_done = poll_noop(&mut a).is_ready();
        // B waits for the slot (unless A is already done), then goes away on another thread.
        let mut b = {
            let r = resolver.clone();
            Box::pin(async move { r.lookup("b.test:2").await.map(|a| a.count()) })
        };
        let b_done = poll_noop(&mut b).is_ready();
        let dropper = loom::thread::spawn(move || drop(b));
        // C waits behind B, on this thread, until it gets the slot.
        let c = {
            let r = resolver.clone();
            async move { r.lookup("c.test:3").await.map(|a| a.count()) }
        };
        assert_eq!(loom::future::block_on(c).expect("C resolves"), 1);
        dropper.join().unwrap();
        if !a_done {
            assert_eq!(loom::future::block_on(a).expect("A resolves"), 1);
        }
        let _ = b_done;
        assert!(pool.shutdown(Duration::MAX).is_clean());
        assert_eq!(resolver.running(), 0, "every slot came back");
    });
}
