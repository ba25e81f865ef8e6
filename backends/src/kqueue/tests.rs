//! The kqueue translation against a mocked `kevent` (mockall): which
//! changes each reactor call emits, how receipts become errors, and how
//! kevents become events. Runs on every OS; no kqueue is involved.

use super::sys::MockKqueueSys;
use super::*;
use mockall::Sequence;

const ADD: Flags = Flags(Flags::ADD.0 | Flags::CLEAR.0 | Flags::RECEIPT.0);
const DELETE: Flags = Flags(Flags::DELETE.0 | Flags::RECEIPT.0);

fn change(fd: usize, filter: Filter, flags: Flags, udata: usize) -> Kevent {
    Kevent::change(fd, filter, flags, udata)
}

/// Answers a change list the way kqueue does with `EV_RECEIPT`: one
/// receipt per change, `EV_ERROR` set, `data` = the errno (0: success).
fn receipts(changes: &[Kevent], events: &mut [Kevent], errnos: &[i64]) -> usize {
    for (i, (slot, change)) in events.iter_mut().zip(changes).enumerate() {
        *slot = Kevent { flags: change.flags | Flags::ERROR, data: errnos.get(i).copied().unwrap_or(0), ..*change };
    }
    changes.len().min(events.len())
}

/// A mock that expects the notifier's installation first.
fn mock() -> MockKqueueSys {
    let mut sys = MockKqueueSys::new();
    sys.expect_kevent()
        .withf(|changes, _, timeout| {
            changes == [change(NOTIFY_IDENT, Filter::User, ADD, 0)] && *timeout == Some(Duration::ZERO)
        })
        .times(1)
        .returning(|changes, events, _| Ok(receipts(changes, events, &[])));
    sys
}

fn reactor(sys: MockKqueueSys) -> KqueueReactor<MockKqueueSys> {
    KqueueReactor::with_sys(sys).expect("the notifier installs")
}

/// Expects exactly `expected` as one change list, answered with `errnos`.
fn expect_changes(sys: &mut MockKqueueSys, seq: &mut Sequence, expected: Vec<Kevent>, errnos: &'static [i64]) {
    sys.expect_kevent()
        .withf(move |changes, events, timeout| {
            changes == expected.as_slice() && events.len() >= changes.len() && *timeout == Some(Duration::ZERO)
        })
        .times(1)
        .in_sequence(seq)
        .returning(move |changes, events, _| Ok(receipts(changes, events, errnos)));
}

#[test]
fn construction_installs_an_edge_triggered_user_event() {
    let reactor = reactor(mock());
    assert!(reactor.is_quiescent());
    assert_eq!(reactor.registered(), 0);
}

#[test]
fn a_failing_notifier_installation_is_an_error() {
    let mut sys = MockKqueueSys::new();
    sys.expect_kevent().times(1).returning(|changes, events, _| Ok(receipts(changes, events, &[libc::EINVAL as i64])));
    let err = KqueueReactor::with_sys(sys).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
}

#[test]
fn register_adds_edge_triggered_filters_tagged_with_the_key() {
    let mut sys = mock();
    let mut seq = Sequence::new();
    expect_changes(&mut sys, &mut seq, vec![change(7, Filter::Read, ADD, 42), change(7, Filter::Write, ADD, 42)], &[]);
    expect_changes(&mut sys, &mut seq, vec![change(8, Filter::Read, ADD, 43)], &[]);
    expect_changes(&mut sys, &mut seq, vec![change(9, Filter::Write, ADD, 44)], &[]);
    let reactor = reactor(sys);
    reactor.register(7, 42, Interest::BOTH).unwrap();
    reactor.register(8, 43, Interest::READABLE).unwrap();
    reactor.register(9, 44, Interest::WRITABLE).unwrap();
    assert_eq!(reactor.registered(), 3);
    assert!(!reactor.is_quiescent());
}

#[test]
fn registering_twice_is_eexist_without_a_system_call() {
    let mut sys = mock();
    let mut seq = Sequence::new();
    expect_changes(&mut sys, &mut seq, vec![change(7, Filter::Read, ADD, 1), change(7, Filter::Write, ADD, 1)], &[]);
    let reactor = reactor(sys); // a second kevent call would fail the mock
    reactor.register(7, 1, Interest::BOTH).unwrap();
    let err = reactor.register(7, 2, Interest::READABLE).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
    assert_eq!(reactor.registered(), 1);
}

#[test]
fn a_closed_descriptor_is_ebadf_and_not_registered() {
    let mut sys = mock();
    let mut seq = Sequence::new();
    // The read filter went in, the write filter failed.
    expect_changes(
        &mut sys,
        &mut seq,
        vec![change(5, Filter::Read, ADD, 1), change(5, Filter::Write, ADD, 1)],
        &[0, libc::EBADF as i64],
    );
    // The filter that did get installed is removed again.
    expect_changes(
        &mut sys,
        &mut seq,
        vec![change(5, Filter::Read, DELETE, 0), change(5, Filter::Write, DELETE, 0)],
        &[0, libc::ENOENT as i64],
    );
    // After the failure the descriptor can be registered normally.
    expect_changes(&mut sys, &mut seq, vec![change(5, Filter::Read, ADD, 2)], &[]);
    let reactor = reactor(sys);
    let err = reactor.register(5, 1, Interest::BOTH).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    assert_eq!(reactor.registered(), 0);
    assert!(reactor.is_quiescent());
    reactor.register(5, 2, Interest::READABLE).unwrap();
}

#[test]
fn epipe_on_the_write_filter_is_not_an_error() {
    // macOS reports EPIPE when adding a write filter to a pipe whose
    // reader is gone; the source is registered all the same.
    let mut sys = mock();
    let mut seq = Sequence::new();
    expect_changes(
        &mut sys,
        &mut seq,
        vec![change(6, Filter::Read, ADD, 3), change(6, Filter::Write, ADD, 3)],
        &[0, libc::EPIPE as i64],
    );
    let reactor = reactor(sys);
    reactor.register(6, 3, Interest::BOTH).unwrap();
    assert_eq!(reactor.registered(), 1);
}

#[test]
fn a_failing_system_call_is_an_error() {
    let mut sys = mock();
    // The add fails, and so does the clean-up attempt that follows it.
    sys.expect_kevent().times(2).returning(|_, _, _| Err(io::Error::from_raw_os_error(libc::ENOMEM)));
    let reactor = reactor(sys);
    assert_eq!(reactor.register(4, 1, Interest::BOTH).unwrap_err().raw_os_error(), Some(libc::ENOMEM));
    assert_eq!(reactor.registered(), 0);
}

#[test]
fn modify_adds_wanted_filters_and_deletes_dropped_ones() {
    let mut sys = mock();
    let mut seq = Sequence::new();
    expect_changes(&mut sys, &mut seq, vec![change(7, Filter::Read, ADD, 1), change(7, Filter::Write, ADD, 1)], &[]);
    // BOTH -> READABLE under a new key: re-add read with the key, drop write.
    expect_changes(&mut sys, &mut seq, vec![change(7, Filter::Read, ADD, 2), change(7, Filter::Write, DELETE, 0)], &[]);
    // READABLE -> WRITABLE: add write, drop read (ENOENT is fine).
    expect_changes(
        &mut sys,
        &mut seq,
        vec![change(7, Filter::Write, ADD, 3), change(7, Filter::Read, DELETE, 0)],
        &[0, libc::ENOENT as i64],
    );
    let reactor = reactor(sys);
    reactor.register(7, 1, Interest::BOTH).unwrap();
    reactor.modify(7, 2, Interest::READABLE).unwrap();
    reactor.modify(7, 3, Interest::WRITABLE).unwrap();
    let err = reactor.modify(8, 1, Interest::BOTH).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "not registered");
}

#[test]
fn deregister_deletes_the_installed_filters() {
    let mut sys = mock();
    let mut seq = Sequence::new();
    expect_changes(&mut sys, &mut seq, vec![change(7, Filter::Read, ADD, 1)], &[]);
    // ENOENT (the descriptor's filters went away already) is fine.
    expect_changes(&mut sys, &mut seq, vec![change(7, Filter::Read, DELETE, 0)], &[libc::ENOENT as i64]);
    let reactor = reactor(sys);
    reactor.register(7, 1, Interest::READABLE).unwrap();
    reactor.deregister(7).unwrap();
    assert!(reactor.is_quiescent());
    let err = reactor.deregister(7).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "deregistering twice, without a system call");
}

#[test]
fn poll_translates_kevents_into_events() {
    let mut sys = mock();
    let timeout = Some(Duration::from_millis(250));
    sys.expect_kevent()
        .withf(move |changes, events, t| changes.is_empty() && events.len() == EVENT_CAPACITY && *t == timeout)
        .times(1)
        .returning(|_, events, _| {
            let out = [
                // key 5 readable and writable: merged into one event
                Kevent { flags: Flags::CLEAR, ..change(5, Filter::Read, Flags::NONE, 5) },
                change(5, Filter::Write, Flags::NONE, 5),
                // key 6: end of stream is readable
                Kevent { flags: Flags::EOF, ..change(6, Filter::Read, Flags::NONE, 6) },
                // the notification: consumed, no event
                change(NOTIFY_IDENT, Filter::User, Flags::NONE, 0),
                // key 7: an error is both directions
                Kevent {
                    flags: Flags::ERROR,
                    data: libc::ECONNRESET as i64,
                    ..change(7, Filter::Write, Flags::NONE, 7)
                },
                // key 8: writable
                change(8, Filter::Write, Flags::NONE, 8),
            ];
            events[..out.len()].copy_from_slice(&out);
            Ok(out.len())
        });
    let reactor = reactor(sys);
    let sentinel = Event { key: 99, readable: false, writable: false };
    let mut events = vec![sentinel];
    reactor.poll(&mut events, timeout).unwrap();
    assert_eq!(
        events,
        [
            sentinel,
            Event { key: 5, readable: true, writable: true },
            Event { key: 6, readable: true, writable: false },
            Event { key: 7, readable: true, writable: true },
            Event { key: 8, readable: false, writable: true },
        ]
    );
}

#[test]
fn poll_passes_the_timeout_and_treats_eintr_as_no_events() {
    let mut sys = mock();
    let mut seq = Sequence::new();
    for timeout in [None, Some(Duration::ZERO)] {
        sys.expect_kevent()
            .withf(move |changes, _, t| changes.is_empty() && *t == timeout)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Err(io::Error::from_raw_os_error(libc::EINTR)));
    }
    sys.expect_kevent()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Err(io::Error::from_raw_os_error(libc::EBADF)));
    let reactor = reactor(sys);
    let mut events = Vec::new();
    reactor.poll(&mut events, None).unwrap();
    reactor.poll(&mut events, Some(Duration::ZERO)).unwrap();
    assert!(events.is_empty());
    assert_eq!(reactor.poll(&mut events, None).unwrap_err().raw_os_error(), Some(libc::EBADF));
}

#[test]
fn notify_triggers_the_user_event_without_waiting() {
    let mut sys = mock();
    let mut trigger = change(NOTIFY_IDENT, Filter::User, Flags::NONE, 0);
    trigger.fflags = NOTE_TRIGGER;
    sys.expect_kevent()
        .withf(move |changes, events, t| changes == [trigger] && events.is_empty() && *t == Some(Duration::ZERO))
        .times(2)
        .returning(|_, _, _| Ok(0));
    let reactor = std::sync::Arc::new(reactor(sys));
    reactor.notify().unwrap();
    // Any thread may notify.
    let remote = reactor.clone();
    std::thread::spawn(move || remote.notify().unwrap()).join().unwrap();
}
