//! The `Reactor` contract as one set of unit tests, instantiated for every
//! OS backend compiled here (`reactor_contract_tests!(constructor)` inside a
//! backend's test module).
//!
//! Each test drives real descriptors (Unix socket pairs) and checks what the
//! reactor reports: edge-triggered, persistent registration; hang-ups as
//! readiness; `modify`; stale events never reported after `deregister`;
//! `EBADF`/`EEXIST`; a latched `notify` from any thread.

macro_rules! reactor_contract_tests {
    ($new:expr) => {
        mod contract {
            #[allow(unused_imports)]
            use super::*;
            use corio_core::reactor::{Event, Interest, Reactor};
            use std::io::{Read, Write};
            use std::os::fd::{AsRawFd, RawFd};
            use std::os::unix::net::UnixStream;
            use std::sync::mpsc;
            use std::time::Duration;

            /// A descriptor number that is never open (above any limit).
            const NEVER_OPEN: RawFd = i32::MAX - 1;

            fn pair() -> (UnixStream, UnixStream) {
                let (a, b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                b.set_nonblocking(true).unwrap();
                (a, b)
            }

            fn poll_now(reactor: &impl Reactor) -> Vec<Event> {
                let mut events = Vec::new();
                reactor.poll(&mut events, Some(Duration::ZERO)).unwrap();
                events
            }

            fn for_key(events: &[Event], key: usize) -> Vec<Event> {
                events.iter().copied().filter(|e| e.key == key).collect()
            }

            fn drain(mut s: &UnixStream) {
                let mut buf = [0u8; 4096];
                while s.read(&mut buf).is_ok_and(|n| n > 0) {}
            }

            #[test]
            fn register_reports_current_readiness_once() {
                let reactor = $new;
                let (a, _b) = pair();
                reactor.register(a.as_raw_fd(), 1, Interest::BOTH).unwrap();
                // A fresh socket is writable: one edge, at registration.
                let events = for_key(&poll_now(&reactor), 1);
                assert_eq!(events, [Event { key: 1, readable: false, writable: true }]);
                assert!(poll_now(&reactor).is_empty(), "no new edge, no new event");
                reactor.deregister(a.as_raw_fd()).unwrap();
            }

            #[test]
            fn each_edge_is_reported_once_without_rearming() {
                let reactor = $new;
                let (a, mut b) = pair();
                reactor.register(a.as_raw_fd(), 7, Interest::READABLE).unwrap();
                assert!(poll_now(&reactor).is_empty(), "nothing to read yet");
                b.write_all(b"one").unwrap();
                assert_eq!(poll_now(&reactor), [Event { key: 7, readable: true, writable: false }]);
                assert!(poll_now(&reactor).is_empty(), "an edge is reported once");
                b.write_all(b"two").unwrap();
                assert_eq!(for_key(&poll_now(&reactor), 7).len(), 1, "persistent: no re-arm needed");
                drain(&a);
                assert!(poll_now(&reactor).is_empty());
                b.write_all(b"three").unwrap();
                assert_eq!(for_key(&poll_now(&reactor), 7).len(), 1);
                reactor.deregister(a.as_raw_fd()).unwrap();
            }

            #[test]
            fn hangup_is_reported_as_readable() {
                let reactor = $new;
                let (a, b) = pair();
                reactor.register(a.as_raw_fd(), 3, Interest::READABLE).unwrap();
                assert!(poll_now(&reactor).is_empty());
                drop(b);
                let events = for_key(&poll_now(&reactor), 3);
                assert_eq!(events.len(), 1, "{events:?}");
                assert!(events[0].readable);
                reactor.deregister(a.as_raw_fd()).unwrap();
            }

            #[test]
            fn modify_changes_interest_and_key() {
                let reactor = $new;
                let (a, mut b) = pair();
                let fd = a.as_raw_fd();
                reactor.register(fd, 1, Interest::BOTH).unwrap();
                poll_now(&reactor); // the initial writable edge
                reactor.modify(fd, 2, Interest::READABLE).unwrap();
                assert!(poll_now(&reactor).iter().all(|e| e.key == 2 && !e.writable));
                b.write_all(b"x").unwrap();
                let events = poll_now(&reactor);
                assert!(!events.is_empty());
                assert!(events.iter().all(|e| e.key == 2 && e.readable && !e.writable), "{events:?}");
                reactor.modify(fd, 5, Interest::BOTH).unwrap();
                let events = poll_now(&reactor);
                assert!(events.iter().all(|e| e.key == 5), "{events:?}");
                assert!(events.iter().any(|e| e.writable), "{events:?}");
                reactor.deregister(fd).unwrap();
            }

            #[test]
            fn deregistered_sources_report_nothing() {
                let reactor = $new;
                let (a, mut b) = pair();
                let fd = a.as_raw_fd();
                reactor.register(fd, 1, Interest::BOTH).unwrap();
                assert!(!reactor.is_quiescent());
                reactor.deregister(fd).unwrap();
                assert!(reactor.is_quiescent());
                b.write_all(b"ignored").unwrap();
                assert!(poll_now(&reactor).is_empty());
                assert!(reactor.deregister(fd).is_err());
                assert!(reactor.modify(fd, 1, Interest::BOTH).is_err());
            }

            #[test]
            fn a_reused_descriptor_gets_no_stale_events() {
                // Deregister, then make the same number name a new socket:
                // only the new registration's key may appear.
                let reactor = $new;
                let (a, mut b) = pair();
                let fd = a.as_raw_fd();
                reactor.register(fd, 1, Interest::READABLE).unwrap();
                reactor.deregister(fd).unwrap();
                let (c, _d) = pair();
                // SAFETY: `fd` is owned by `a` (this test); dup2 atomically
                // closes the old socket and makes `fd` name `c`'s.
                assert_eq!(unsafe { libc::dup2(c.as_raw_fd(), fd) }, fd);
                reactor.register(fd, 2, Interest::BOTH).unwrap();
                let _ = b.write_all(b"to the old socket");
                let events = poll_now(&reactor);
                assert!(events.iter().all(|e| e.key == 2), "{events:?}");
                assert!(!events.is_empty(), "the new socket is writable");
                reactor.deregister(fd).unwrap();
                drop(a);
            }

            #[test]
            fn registration_errors() {
                let reactor = $new;
                let err = reactor.register(NEVER_OPEN, 1, Interest::BOTH).unwrap_err();
                assert_eq!(err.raw_os_error(), Some(libc::EBADF));
                let (a, _b) = pair();
                reactor.register(a.as_raw_fd(), 1, Interest::BOTH).unwrap();
                let err = reactor.register(a.as_raw_fd(), 2, Interest::BOTH).unwrap_err();
                assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
                assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
                reactor.deregister(a.as_raw_fd()).unwrap();
                assert!(reactor.is_quiescent(), "failed registrations are not counted");
            }

            #[test]
            fn notify_is_latched_until_a_poll_consumes_it() {
                let reactor = $new;
                reactor.notify().unwrap();
                reactor.notify().unwrap();
                let mut events = Vec::new();
                reactor.poll(&mut events, None).unwrap(); // returns at once
                assert!(events.is_empty(), "a notification is not an event");
                assert!(poll_now(&reactor).is_empty());
            }

            #[test]
            fn notify_from_another_thread_wakes_a_blocked_poll() {
                let reactor = std::sync::Arc::new($new);
                for _ in 0..3 {
                    let (tx, rx) = mpsc::channel::<()>();
                    let notifier = {
                        let reactor = reactor.clone();
                        std::thread::spawn(move || {
                            rx.recv().unwrap();
                            reactor.notify().unwrap();
                        })
                    };
                    tx.send(()).unwrap();
                    reactor.poll(&mut Vec::new(), None).unwrap();
                    notifier.join().unwrap();
                }
            }

            #[test]
            fn an_event_wakes_a_poll_with_no_timeout() {
                let reactor = std::sync::Arc::new($new);
                let (a, b) = pair();
                reactor.register(a.as_raw_fd(), 9, Interest::READABLE).unwrap();
                let (tx, rx) = mpsc::channel::<()>();
                let writer = std::thread::spawn(move || {
                    rx.recv().unwrap();
                    (&b).write_all(b"wake").unwrap();
                    b
                });
                tx.send(()).unwrap();
                let mut events = Vec::new();
                while events.is_empty() {
                    reactor.poll(&mut events, None).unwrap();
                }
                assert_eq!(events, [Event { key: 9, readable: true, writable: false }]);
                let _b = writer.join().unwrap();
                reactor.deregister(a.as_raw_fd()).unwrap();
            }

            #[test]
            fn a_timeout_with_nothing_ready_returns_empty() {
                let reactor = $new;
                let (a, _b) = pair();
                reactor.register(a.as_raw_fd(), 1, Interest::READABLE).unwrap();
                let mut events = Vec::new();
                reactor.poll(&mut events, Some(Duration::from_millis(1))).unwrap();
                assert!(events.is_empty());
                reactor.deregister(a.as_raw_fd()).unwrap();
            }

            #[test]
            fn poll_appends_and_large_keys_round_trip() {
                let reactor = $new;
                let (a, _b) = pair();
                let key = (3usize << 32) | 17; // the loop puts a generation up there
                reactor.register(a.as_raw_fd(), key, Interest::WRITABLE).unwrap();
                let sentinel = Event { key: 99, readable: false, writable: false };
                let mut events = vec![sentinel];
                reactor.poll(&mut events, Some(Duration::ZERO)).unwrap();
                assert_eq!(events[0], sentinel, "existing entries are kept");
                assert_eq!(events[1..], [Event { key, readable: false, writable: true }]);
                reactor.deregister(a.as_raw_fd()).unwrap();
            }

            #[test]
            fn many_sources_each_report_their_edge() {
                let reactor = $new;
                let pairs: Vec<_> = (0..300).map(|_| pair()).collect();
                for (i, (a, _)) in pairs.iter().enumerate() {
                    reactor.register(a.as_raw_fd(), i, Interest::READABLE).unwrap();
                }
                for (_, b) in &pairs {
                    (&*b).write_all(b"x").unwrap();
                }
                let mut keys = Vec::new();
                for _ in 0..10 {
                    keys.extend(poll_now(&reactor).iter().map(|e| e.key));
                }
                keys.sort();
                keys.dedup();
                assert_eq!(keys, (0..300).collect::<Vec<_>>());
                for (a, _) in &pairs {
                    reactor.deregister(a.as_raw_fd()).unwrap();
                }
            }
        }
    };
}

pub(crate) use reactor_contract_tests;
