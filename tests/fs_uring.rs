//! `corio::fs` on the io_uring reactor (issue 23, phase 2): file open, read,
//! write, close, `statx` and `fsync` as io_uring operations that own their
//! buffers, and the same behaviour as on the pool.
//!
//! * The operations really go through the ring (the reactor counts them in
//!   flight).
//! * Round trips, positions (a write after an abandoned read seeks back
//!   over the read-ahead), large files, many at once.
//! * Cancellation: an abandoned read or open leaves nothing behind — no
//!   descriptor (an abandoned open closes the one it got), no write into
//!   freed memory (the operation owns its buffer; loom model
//!   `loom_uring_op`).
//! * Faults, each a clear error naming the path.

mod toolbox;

use corio::fs::{self, File, OpenOptions};
use corio::reactor::Reactor;
use corio_backends::uring::UringReactor;
use futures_util::io::AsyncRead;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;
use toolbox::{no_fd_leak, serial, Scratch};

type UringLoop = corio::runtime::EventLoop<UringReactor>;

/// A loop on io_uring, or `None` (the test is skipped) where there is none.
fn uring_loop() -> Option<UringLoop> {
    match UringReactor::new() {
        Ok(reactor) => Some(corio::runtime::EventLoop::new(reactor)),
        Err(err) => {
            eprintln!("skipped: io_uring is not available here ({err})");
            None
        }
    }
}

/// Runs the loop a little, so that operations still in flight (detached
/// closes, abandoned reads) complete.
fn settle(lp: &UringLoop) {
    for _ in 0..10 {
        lp.block_on(corio::sleep(Duration::from_millis(2))).unwrap().unwrap();
    }
}

fn in_flight(lp: &UringLoop) -> usize {
    lp.reactor().completions().expect("io_uring runs completions").in_flight()
}

#[test]
fn operations_go_through_the_ring() {
    let _serial = serial();
    let Some(lp) = uring_loop() else { return };
    let dir = Scratch::new("uring-ring");
    let path = dir.path("f");
    std::fs::write(&path, b"0123456789").unwrap();
    let (seen, during) = lp
        .block_on(async {
            let mut file = File::open(&path).await.unwrap();
            let mut buf = [0u8; 4];
            let mut cx = Context::from_waker(Waker::noop());
            assert!(Pin::new(&mut file).poll_read(&mut cx, &mut buf).is_pending(), "submitted, not done");
            let during = corio::try_handle().is_some();
            file.read_exact(&mut buf).await.unwrap();
            (buf, during)
        })
        .unwrap();
    assert!(during);
    assert_eq!(&seen, b"0123");
    // The file's close went out through the ring too, without waiting.
    settle(&lp);
    assert_eq!(in_flight(&lp), 0, "every operation completed");
    // One in flight is counted by the reactor.
    let counted = lp
        .block_on(async {
            let mut file = File::open(&path).await.unwrap();
            let mut buf = [0u8; 4];
            let mut cx = Context::from_waker(Waker::noop());
            assert!(Pin::new(&mut file).poll_read(&mut cx, &mut buf).is_pending());
            file
        })
        .unwrap();
    assert_eq!(in_flight(&lp), 1, "the read is an io_uring operation in flight");
    drop(counted);
    settle(&lp);
    assert_eq!(in_flight(&lp), 0);
}

#[test]
fn round_trips_on_the_ring() {
    let _serial = serial();
    let Some(lp) = uring_loop() else { return };
    let dir = Scratch::new("uring-trip");
    let d = dir.0.clone();
    no_fd_leak("io_uring round trips", || {
        lp.block_on(async move {
            let data: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
            fs::write(d.join("big"), &data).await.unwrap();
            assert!(fs::read(d.join("big")).await.unwrap() == data);
            fs::write(d.join("empty"), b"").await.unwrap();
            assert!(fs::read(d.join("empty")).await.unwrap().is_empty());
            fs::write(d.join("text"), "héllo").await.unwrap();
            assert_eq!(fs::read_to_string(d.join("text")).await.unwrap(), "héllo");
            // A file whose size statx does not know (0 in /proc): read to the end anyway.
            assert!(fs::read("/proc/self/status").await.unwrap().starts_with(b"Name:"));

            let mut file = File::create(d.join("f")).await.unwrap();
            file.write_all(&data).await.unwrap();
            file.sync_all().await.unwrap();
            file.sync_data().await.unwrap();
            assert_eq!(file.metadata().await.unwrap().len(), data.len() as u64);
            drop(file);

            let mut file = OpenOptions::new().read(true).write(true).open(d.join("f")).await.unwrap();
            let mut back = Vec::new();
            assert_eq!(file.read_to_end(&mut back).await.unwrap(), data.len());
            assert!(back == data);
            assert_eq!(file.seek(SeekFrom::Start(1000)).await.unwrap(), 1000);
            let mut four = [0u8; 4];
            file.read_exact(&mut four).await.unwrap();
            assert_eq!(four, data[1000..1004]);
            assert_eq!(file.seek(SeekFrom::Current(-4)).await.unwrap(), 1000);
            file.write_all(b"WXYZ").await.unwrap();
            file.set_len(2000).await.unwrap();
            file.flush().await.unwrap();
            drop(file);
            let now = fs::read(d.join("f")).await.unwrap();
            assert_eq!(now.len(), 2000);
            assert_eq!(&now[1000..1004], b"WXYZ");

            // Append mode: every write at the end.
            let mut log = OpenOptions::new().append(true).create(true).open(d.join("log")).await.unwrap();
            log.write_all(b"one\n").await.unwrap();
            log.write_all(b"two\n").await.unwrap();
            log.flush().await.unwrap();
            drop(log);
            let mut log = OpenOptions::new().append(true).open(d.join("log")).await.unwrap();
            log.write_all(b"three\n").await.unwrap();
            log.flush().await.unwrap();
            drop(log);
            assert_eq!(fs::read_to_string(d.join("log")).await.unwrap(), "one\ntwo\nthree\n");
            // Let the detached closes land before the descriptors are counted.
            corio::sleep(Duration::from_millis(1)).await.unwrap();
        })
        .unwrap();
    });
}

#[test]
fn a_write_after_an_abandoned_read_lands_where_the_caller_thinks() {
    let _serial = serial();
    let Some(lp) = uring_loop() else { return };
    let dir = Scratch::new("uring-rw");
    let path = dir.path("f");
    std::fs::write(&path, b"0123456789").unwrap();
    lp.block_on(async {
        let mut file = File::options().read(true).write(true).open(&path).await.unwrap();
        let mut big = [0u8; 8];
        let mut cx = Context::from_waker(Waker::noop());
        // Submitted (it goes out with the next reactor poll), then given up.
        assert!(Pin::new(&mut file).poll_read(&mut cx, &mut big).is_pending());
        file.write_all(b"AB").await.unwrap();
        file.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"AB23456789");
    })
    .unwrap();
}

#[test]
fn abandoned_operations_leave_nothing_behind() {
    let _serial = serial();
    let Some(lp) = uring_loop() else { return };
    let dir = Scratch::new("uring-cancel");
    let big = dir.path("big");
    std::fs::write(&big, vec![9u8; 8 * 1024 * 1024]).unwrap();
    no_fd_leak("abandoned io_uring operations", || {
        lp.block_on(async {
            for round in 0..50 {
                // Cancelled at every point of an open, statx, reads, close.
                let path = big.clone();
                let task = corio::spawn(async move { fs::read(&path).await.map(|d| d.len()) });
                for _ in 0..round % 5 {
                    corio::yield_now().await.unwrap();
                }
                task.cancel();
                match task.await {
                    Ok(Ok(n)) => assert_eq!(n, 8 * 1024 * 1024),
                    Ok(Err(err)) => panic!("{err}"),
                    Err(err) => assert!(err.is_cancelled()),
                }
                // A file dropped with a read in flight.
                let mut file = File::open(&big).await.unwrap();
                let mut buf = vec![0u8; 1024 * 1024];
                let mut cx = Context::from_waker(Waker::noop());
                let _ = Pin::new(&mut file).poll_read(&mut cx, &mut buf);
                drop(file);
                drop(buf); // the caller's buffer goes; the operation has its own
            }
            // Let the abandoned operations complete and their descriptors close.
            for _ in 0..100 {
                corio::sleep(Duration::from_millis(2)).await.unwrap();
            }
        })
        .unwrap();
        assert_eq!(in_flight(&lp), 0);
    });
}

#[test]
fn many_files_at_once() {
    let _serial = serial();
    let Some(lp) = uring_loop() else { return };
    let dir = Scratch::new("uring-many");
    for i in 0..200 {
        std::fs::write(dir.path(&i.to_string()), i.to_string()).unwrap();
    }
    let d = dir.0.clone();
    no_fd_leak("200 concurrent io_uring reads", || {
        lp.block_on(async move {
            let tasks: Vec<_> = (0..200)
                .map(|i| {
                    let p = d.join(i.to_string());
                    corio::spawn(async move { fs::read_to_string(p).await.unwrap() })
                })
                .collect();
            for (i, t) in tasks.into_iter().enumerate() {
                assert_eq!(t.await.unwrap(), i.to_string());
            }
            corio::sleep(Duration::from_millis(1)).await.unwrap();
        })
        .unwrap();
    });
}

#[test]
fn faults_on_the_ring_are_clear_errors() {
    let _serial = serial();
    let Some(lp) = uring_loop() else { return };
    let dir = Scratch::new("uring-faults");
    let d = dir.0.clone();
    no_fd_leak("io_uring faults", || {
        lp.block_on(async move {
            let missing = d.join("no/such/file");
            for err in [
                fs::read(&missing).await.unwrap_err(),
                File::open(&missing).await.unwrap_err(),
                fs::write(&missing, b"x").await.unwrap_err(),
            ] {
                assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
                assert!(err.to_string().contains("no/such/file"), "{err}");
            }
            for err in [fs::read(&d).await.unwrap_err(), File::create(&d).await.unwrap_err()] {
                assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
                assert!(err.to_string().contains(d.to_str().unwrap()), "{err}");
            }
            let err = fs::write("/dev/full", vec![1u8; 4096]).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
            assert!(err.to_string().contains("/dev/full"), "{err}");
            let mut full = File::options().write(true).open("/dev/full").await.unwrap();
            full.write_all(b"lost").await.unwrap();
            assert_eq!(full.flush().await.unwrap_err().kind(), io::ErrorKind::StorageFull);
            drop(full);
            std::fs::write(d.join("latin1"), [0xe9, 0xff]).unwrap();
            assert_eq!(fs::read_to_string(d.join("latin1")).await.unwrap_err().kind(), io::ErrorKind::InvalidData);
            assert_eq!(fs::read("nul\0byte").await.unwrap_err().kind(), io::ErrorKind::InvalidInput);
            let err = OpenOptions::new().open(d.join("latin1")).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
            let err = OpenOptions::new().read(true).truncate(true).open(d.join("latin1")).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
            let err = File::create_new(d.join("latin1")).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
            // A read-only file: the write-behind's error comes with flush.
            let mut ro = File::open(d.join("latin1")).await.unwrap();
            ro.write_all(b"x").await.unwrap();
            assert_eq!(ro.flush().await.unwrap_err().raw_os_error(), Some(libc::EBADF));
            drop(ro);
            corio::sleep(Duration::from_millis(1)).await.unwrap();
        })
        .unwrap();
    });
}

#[test]
fn whole_file_reads_of_every_size_and_a_fifo() {
    // The ring's `fs::read` reads 16 KiB and probes just past it at once,
    // asks `statx` only for larger files, and reads a FIFO (no offsets)
    // sequentially.
    let _serial = serial();
    let Some(lp) = uring_loop() else { return };
    let dir = Scratch::new("uring-sizes");
    let d = dir.0.clone();
    lp.block_on(async move {
        for size in [0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 16 * 1024 + 32, 16 * 1024 + 33, 3 * 1024 * 1024 + 7]
        {
            let data: Vec<u8> = (0..size).map(|i| (i % 241) as u8).collect();
            let path = d.join(format!("f{size}"));
            std::fs::write(&path, &data).unwrap();
            assert!(fs::read(&path).await.unwrap() == data, "size {size}");
        }
        let fifo = d.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads the path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, b"through a fifo").unwrap())
        };
        assert_eq!(fs::read(&fifo).await.unwrap(), b"through a fifo");
        writer.join().unwrap();
    })
    .unwrap();
}

/// A loop built the usual way (`corio::builder().backend(Backend::Uring)`,
/// whose reactor is `corio::backend::AnyReactor`) reaches the ring too: the chosen
/// backend's completions pass through.
#[cfg(feature = "uring")]
#[test]
fn a_loop_chosen_as_uring_runs_files_on_the_ring() {
    let _serial = serial();
    let lp = match corio::builder().backend(corio::Backend::Uring).build() {
        Ok(lp) => lp,
        Err(err) => {
            eprintln!("skipped: io_uring is not available here ({err})");
            return;
        }
    };
    let dir = Scratch::new("uring-any");
    let path = dir.path("f");
    std::fs::write(&path, b"0123456789").unwrap();
    let completions = lp.reactor().completions().expect("the chosen io_uring reactor runs completions");
    let file = lp
        .block_on(async {
            let mut file = File::open(&path).await.unwrap();
            let mut buf = [0u8; 4];
            let mut cx = Context::from_waker(Waker::noop());
            assert!(Pin::new(&mut file).poll_read(&mut cx, &mut buf).is_pending(), "submitted to the ring");
            file
        })
        .unwrap();
    assert_eq!(completions.in_flight(), 1, "the read is an io_uring operation in flight");
    drop(file);
    for _ in 0..10 {
        lp.block_on(corio::sleep(Duration::from_millis(2))).unwrap().unwrap();
    }
    assert_eq!(completions.in_flight(), 0);
    assert_eq!(lp.block_on(fs::read(&path)).unwrap().unwrap(), b"0123456789");
}
