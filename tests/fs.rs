//! `corio::fs` (issue 23, part 2): files and directories on the blocking
//! pool, with tokio's buffering.
//!
//! * Round trips through every free function and `File` (large writes cut
//!   into jobs, seeks, reads after writes and writes after reads, truncation,
//!   sync), `read_dir` as a stream and entry by entry.
//! * Cancellation: a write-behind survives its file being dropped, a read
//!   in flight keeps its bytes for the next operation, a free function
//!   cancelled before it started never runs.
//! * Faults, each a clear error naming the path: a missing file, a
//!   directory where a file is expected, `EACCES`, `ENOSPC` (on `/dev/full`,
//!   and on a 64 KiB tmpfs where this machine lets the test mount one),
//!   invalid UTF-8, a NUL in a path, no loop at all.
//! * No descriptor leaks (the tests count `/proc/self/fd`); the mock
//!   backend's loop runs the same calls.

mod toolbox;

use corio::blocking::BlockingPool;
use corio::fs::{self, File, OpenOptions};
use futures_util::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use futures_util::StreamExt;
use std::io::{self, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;
use toolbox::{no_fd_leak, serial, Scratch};

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    corio::run(f).expect("loop")
}

#[test]
fn free_functions_round_trip() {
    let _serial = serial();
    let dir = Scratch::new("fs-free");
    let d = dir.0.clone();
    no_fd_leak("free functions", || {
        run(async move {
            let nested = d.join("a/b/c");
            fs::create_dir_all(&nested).await.unwrap();
            fs::write(nested.join("x.txt"), b"hello").await.unwrap();
            assert_eq!(fs::read(nested.join("x.txt")).await.unwrap(), b"hello");
            assert_eq!(fs::read_to_string(nested.join("x.txt")).await.unwrap(), "hello");
            assert_eq!(fs::copy(nested.join("x.txt"), d.join("y.txt")).await.unwrap(), 5);
            fs::rename(d.join("y.txt"), d.join("z.txt")).await.unwrap();
            assert!(!fs::try_exists(d.join("y.txt")).await.unwrap());
            assert_eq!(fs::metadata(d.join("z.txt")).await.unwrap().len(), 5);
            fs::hard_link(d.join("z.txt"), d.join("hard")).await.unwrap();
            fs::symlink(d.join("z.txt"), d.join("soft")).await.unwrap();
            assert_eq!(fs::read_link(d.join("soft")).await.unwrap(), d.join("z.txt"));
            assert!(fs::symlink_metadata(d.join("soft")).await.unwrap().file_type().is_symlink());
            assert_eq!(
                fs::canonicalize(d.join("soft")).await.unwrap(),
                fs::canonicalize(d.join("z.txt")).await.unwrap()
            );
            fs::set_permissions(d.join("z.txt"), std::fs::Permissions::from_mode(0o640)).await.unwrap();
            assert_eq!(fs::metadata(d.join("z.txt")).await.unwrap().permissions().mode() & 0o777, 0o640);
            fs::remove_file(d.join("soft")).await.unwrap();
            fs::create_dir(d.join("empty")).await.unwrap();
            fs::remove_dir(d.join("empty")).await.unwrap();
            fs::remove_dir_all(d.join("a")).await.unwrap();
            assert!(!fs::try_exists(d.join("a")).await.unwrap());
            // Extremes: an empty file, a 16 MiB one.
            fs::write(d.join("empty.bin"), b"").await.unwrap();
            assert!(fs::read(d.join("empty.bin")).await.unwrap().is_empty());
            let big: Vec<u8> = (0..16 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
            fs::write(d.join("big.bin"), &big).await.unwrap();
            assert!(fs::read(d.join("big.bin")).await.unwrap() == big);
        });
    });
}

#[test]
fn read_dir_lists_every_entry_in_batches() {
    let _serial = serial();
    let dir = Scratch::new("fs-readdir");
    for i in 0..100 {
        std::fs::write(dir.path(&format!("f{i:03}")), [i as u8]).unwrap();
    }
    std::fs::create_dir(dir.path("sub")).unwrap();
    let d = dir.0.clone();
    no_fd_leak("read_dir", || {
        run(async move {
            let mut names = Vec::new();
            let mut entries = fs::read_dir(&d).await.unwrap();
            while let Some(entry) = entries.next_entry().await.unwrap() {
                let kind = entry.file_type().await.unwrap();
                assert_eq!(kind.is_dir(), entry.file_name() == "sub");
                assert_eq!(entry.path(), d.join(entry.file_name()));
                if kind.is_file() {
                    assert_eq!(entry.metadata().await.unwrap().len(), 1);
                }
                names.push(entry.file_name().into_string().unwrap());
            }
            assert!(entries.next_entry().await.unwrap().is_none(), "stays at the end");
            names.sort();
            assert_eq!(names.len(), 101);
            assert_eq!(names[0], "f000");
            // As a stream.
            let streamed: Vec<_> = fs::read_dir(&d).await.unwrap().collect().await;
            assert_eq!(streamed.len(), 101);
            assert!(streamed.iter().all(Result::is_ok));
            // Dropped half way: nothing leaks.
            let mut half = fs::read_dir(&d).await.unwrap();
            for _ in 0..40 {
                half.next_entry().await.unwrap();
            }
        });
    });
}

#[test]
fn file_reads_writes_and_seeks() {
    let _serial = serial();
    let dir = Scratch::new("fs-file");
    let path = dir.path("data.bin");
    no_fd_leak("File", || {
        run(async move {
            // 5 MiB: more than one job's 2 MiB.
            let data: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
            let mut file = File::create(&path).await.unwrap();
            file.write_all(&data).await.unwrap();
            file.sync_all().await.unwrap();
            assert_eq!(file.metadata().await.unwrap().len(), data.len() as u64);
            drop(file);

            let mut file = OpenOptions::new().read(true).write(true).open(&path).await.unwrap();
            let mut back = Vec::new();
            assert_eq!(file.read_to_end(&mut back).await.unwrap(), data.len());
            assert!(back == data);
            assert_eq!(file.read(&mut [0u8; 16]).await.unwrap(), 0, "at the end");
            assert_eq!(file.seek(SeekFrom::Start(1000)).await.unwrap(), 1000);
            let mut four = [0u8; 4];
            file.read_exact(&mut four).await.unwrap();
            assert_eq!(four, data[1000..1004]);
            assert_eq!(file.seek(SeekFrom::Current(-4)).await.unwrap(), 1000);
            file.write_all(b"WXYZ").await.unwrap();
            assert_eq!(file.seek(SeekFrom::End(-2)).await.unwrap(), data.len() as u64 - 2);
            file.set_len(2000).await.unwrap();
            file.flush().await.unwrap();
            drop(file);
            let now = fs::read(&path).await.unwrap();
            assert_eq!(now.len(), 2000);
            assert_eq!(&now[1000..1004], b"WXYZ");
            assert_eq!(&now[..1000], &data[..1000]);

            // futures-io's traits.
            let mut file = File::options().read(true).write(true).open(&path).await.unwrap();
            AsyncWriteExt::write_all(&mut file, b"abc").await.unwrap();
            AsyncSeekExt::seek(&mut file, SeekFrom::Start(0)).await.unwrap();
            let mut three = [0u8; 3];
            AsyncReadExt::read_exact(&mut file, &mut three).await.unwrap();
            assert_eq!(&three, b"abc");
            AsyncWriteExt::close(&mut file).await.unwrap();
            let std = file.into_std().await.unwrap();
            assert_eq!(std.metadata().unwrap().len(), 2000);

            // Extremes: empty reads and writes, a seek before the start.
            let mut file = File::open(&path).await.unwrap();
            assert_eq!(file.read(&mut []).await.unwrap(), 0);
            let err = file.seek(SeekFrom::Current(-1)).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            // Written behind: the error comes with the flush.
            assert_eq!(file.write(b"x").await.unwrap(), 1);
            let err = file.flush().await.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EBADF), "opened read-only: {err}");
            let mut rw = File::options().write(true).open(&path).await.unwrap();
            assert_eq!(rw.write(b"").await.unwrap(), 0);
            assert!(rw.set_len(u64::MAX).await.is_err(), "too large: an error, not a panic");
            let clone = rw.try_clone().await.unwrap();
            assert!(clone.try_into_std().is_ok());
        });
    });
}

#[test]
fn a_write_after_a_read_in_flight_lands_where_the_caller_thinks() {
    // A read whose await is abandoned keeps its job; its bytes stay in the
    // file's buffer. A write then seeks back over them first.
    let _serial = serial();
    let dir = Scratch::new("fs-readwrite");
    let path = dir.path("f");
    std::fs::write(&path, b"0123456789").unwrap();
    let lp = corio::new_event_loop().unwrap();
    lp.set_default_executor(BlockingPool::builder().max_threads(1).build());
    lp.block_on(async move {
        let mut file = File::options().read(true).write(true).open(&path).await.unwrap();
        // Hold the pool's one thread, so the read below is surely pending.
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocker = corio::run_in_executor(move || blocked.recv().ok());
        let mut big = [0u8; 8];
        let mut cx = Context::from_waker(Waker::noop());
        // Starts the job and gives up on it at once.
        assert!(Pin::new(&mut file).poll_read(&mut cx, &mut big).is_pending());
        release.send(()).unwrap();
        blocker.await.unwrap();
        file.write_all(b"AB").await.unwrap();
        file.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"AB23456789");
        // The same after a read that did return: the position is after it.
        file.seek(SeekFrom::Start(0)).await.unwrap();
        let mut two = [0u8; 2];
        file.read_exact(&mut two).await.unwrap();
        file.write_all(b"cd").await.unwrap();
        file.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"ABcd456789");
    })
    .unwrap();
}

#[test]
fn a_write_behind_survives_its_file_being_dropped() {
    let _serial = serial();
    let dir = Scratch::new("fs-writebehind");
    let path = dir.path("f");
    let p = path.clone();
    run(async move {
        let mut file = File::create(&p).await.unwrap();
        file.write_all(&[7u8; 100_000]).await.unwrap();
        drop(file); // no flush: the job is in flight or queued
                    // Wait (on the loop's clock) for the job to land.
        for _ in 0..1000 {
            if std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0) == 100_000 {
                return;
            }
            corio::sleep(Duration::from_millis(1)).await.unwrap();
        }
        panic!("the write-behind never landed");
    });
}

#[test]
fn a_cancelled_free_function_that_had_not_started_never_runs() {
    let _serial = serial();
    let dir = Scratch::new("fs-cancel");
    let path = dir.path("never");
    let p = path.clone();
    let lp = corio::new_event_loop().unwrap();
    lp.set_default_executor(BlockingPool::builder().max_threads(1).build());
    lp.block_on(async move {
        // Occupy the only thread, so the write waits in the queue.
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocker = corio::run_in_executor(move || blocked.recv().ok());
        let write = corio::spawn(async move { fs::write(&p, b"never").await });
        corio::sleep(Duration::from_millis(10)).await.unwrap();
        write.cancel();
        assert!(write.await.unwrap_err().is_cancelled());
        release.send(()).unwrap();
        blocker.await.unwrap();
        // Give a wrongly queued job every chance to run.
        corio::run_in_executor(|| ()).await.unwrap();
    })
    .unwrap();
    assert!(!path.exists(), "withdrawn before it started: never written");
}

#[test]
fn a_cancelled_file_read_is_a_checkpoint_and_keeps_the_file_usable() {
    let _serial = serial();
    let dir = Scratch::new("fs-cancel-read");
    let path = dir.path("f");
    std::fs::write(&path, b"abcdef").unwrap();
    run(async move {
        let task = corio::spawn(async move {
            let mut file = File::open(&path).await.unwrap();
            let mut buf = [0u8; 3];
            // Cancelled at its first await.
            corio::current_task().unwrap().cancel();
            let err = file.read(&mut buf).await.unwrap_err();
            assert!(corio::Cancelled::find(&err).is_some());
            corio::current_task().unwrap().uncancel();
            file.read_exact(&mut buf).await.unwrap();
            buf
        });
        assert_eq!(&task.await.unwrap(), b"abc");
    });
}

// ----- faults ---------------------------------------------------------------------

#[test]
fn a_missing_file_is_not_found_naming_the_path() {
    let _serial = serial();
    let dir = Scratch::new("fs-missing");
    let missing = dir.path("no/such/file.txt");
    no_fd_leak("missing", || {
        run(async move {
            for err in [
                fs::read(&missing).await.unwrap_err(),
                fs::read_to_string(&missing).await.unwrap_err(),
                File::open(&missing).await.unwrap_err(),
                fs::metadata(&missing).await.unwrap_err(),
                fs::remove_file(&missing).await.unwrap_err(),
                fs::copy(&missing, "/tmp/x").await.unwrap_err(),
                fs::read_dir(&missing).await.unwrap_err(),
                fs::write(&missing, b"x").await.unwrap_err(),
            ] {
                assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
                assert!(err.to_string().contains("no/such/file.txt"), "{err}");
                // The OS error is kept as the source.
                let os = err.get_ref().and_then(|e| e.source()).and_then(|e| e.downcast_ref::<io::Error>());
                assert_eq!(os.and_then(io::Error::raw_os_error), Some(libc::ENOENT), "{err}");
            }
            assert!(!fs::try_exists(&missing).await.unwrap());
        });
    });
}

#[test]
fn a_directory_where_a_file_is_expected() {
    let _serial = serial();
    let dir = Scratch::new("fs-isdir");
    let d = dir.0.clone();
    run(async move {
        for err in [
            fs::read(&d).await.unwrap_err(),
            File::create(&d).await.unwrap_err(),
            fs::write(&d, b"x").await.unwrap_err(),
            fs::remove_file(&d).await.unwrap_err(),
        ] {
            assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
            assert!(err.to_string().contains(d.to_str().unwrap()), "{err}");
        }
        let err = fs::remove_dir(&d.join("..").join(d.file_name().unwrap()).join("nothing")).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

/// Runs `body` on a loop whose one pool thread cannot override file
/// permissions: as root, the thread's filesystem user becomes `nobody`
/// (`setfsuid` is per thread, and it drops `CAP_DAC_OVERRIDE`).
fn as_unprivileged<T>(body: impl std::future::Future<Output = T>) -> T {
    let lp = corio::new_event_loop().unwrap();
    lp.set_default_executor(BlockingPool::builder().max_threads(1).keep_alive(Duration::from_secs(60)).build());
    let out = lp
        .block_on(async {
            // SAFETY: geteuid and setfsuid take no pointers; setfsuid only
            // changes the calling (pool) thread's filesystem identity.
            let demoted = corio::run_in_executor(|| unsafe {
                if libc::geteuid() != 0 {
                    return true;
                }
                libc::syscall(libc::SYS_setfsuid, 65534);
                libc::syscall(libc::SYS_setfsuid, -1i32 as libc::c_long) == 65534
            })
            .await
            .unwrap();
            assert!(demoted, "could not drop the pool thread's file privileges");
            body.await
        })
        .unwrap();
    // The demoted thread goes with the pool.
    assert!(lp.shutdown_default_executor(Duration::from_secs(5)).is_clean());
    out
}

#[test]
fn permission_denied_names_the_path() {
    let _serial = serial();
    let dir = Scratch::new("fs-eacces");
    let secret = dir.path("secret");
    std::fs::write(&secret, b"x").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let locked = dir.path("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    let (s, l) = (secret.clone(), locked.clone());
    as_unprivileged(async move {
        let err = fs::read(&s).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("secret"), "{err}");
        let err = File::create(l.join("new")).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("locked/new"), "{err}");
    });
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn no_space_on_dev_full() {
    let _serial = serial();
    no_fd_leak("ENOSPC", || {
        run(async {
            let err = fs::write("/dev/full", vec![1u8; 4096]).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
            assert!(err.to_string().contains("/dev/full"), "{err}");
            // Through a File: the write is behind, its error comes with flush.
            let mut file = File::options().write(true).open("/dev/full").await.unwrap();
            file.write_all(b"lost").await.unwrap();
            let err = file.flush().await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
            // Reported once; the file stays usable.
            file.flush().await.unwrap();
            file.write_all(b"again").await.unwrap();
            let err = file.sync_all().await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
        });
    });
}

/// A 64 KiB tmpfs, if this machine lets the test mount one (root, and a
/// kernel that allows it); unmounted when dropped.
struct TinyTmpfs {
    mount_point: std::path::PathBuf,
    _scratch: Scratch,
}

impl TinyTmpfs {
    fn mount() -> Option<TinyTmpfs> {
        let scratch = Scratch::new("fs-tmpfs");
        let dir = scratch.path("mnt");
        std::fs::create_dir(&dir).ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "corio-test", dir.to_str()?])
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(TinyTmpfs { mount_point: dir, _scratch: scratch })
    }
}

impl Drop for TinyTmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.mount_point).status();
    }
}

#[test]
fn no_space_on_a_tiny_tmpfs() {
    let _serial = serial();
    let Some(tmpfs) = TinyTmpfs::mount() else {
        eprintln!("skipped: cannot mount a tmpfs here (not root?); ENOSPC is covered on /dev/full");
        return;
    };
    let full = tmpfs.mount_point.join("full.bin");
    run(async move {
        let err = fs::write(&full, vec![0u8; 1024 * 1024]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
        assert!(err.to_string().contains("full.bin"), "{err}");
        // The file system is still usable once the space is given back.
        fs::remove_file(&full).await.unwrap();
        fs::write(&full, b"fits").await.unwrap();
        assert_eq!(fs::read(&full).await.unwrap(), b"fits");
    });
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let _serial = serial();
    let dir = Scratch::new("fs-bad");
    let d = dir.0.clone();
    run(async move {
        std::fs::write(d.join("latin1"), [0xe9, 0xff]).unwrap();
        let err = fs::read_to_string(d.join("latin1")).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        let mut file = File::open(d.join("latin1")).await.unwrap();
        let mut text = String::from("kept");
        assert_eq!(file.read_to_string(&mut text).await.unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(text, "kept");
        let err = fs::read("nul\0byte").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        let err = fs::read("").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        let err = OpenOptions::new().open(d.join("latin1")).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "no access mode: {err}");
        let err = File::create_new(d.join("latin1")).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    });
    // No loop: an error, not a panic.
    let off_loop = futures_util::FutureExt::now_or_never(fs::read("Cargo.toml")).expect("fails at once");
    assert!(off_loop.unwrap_err().to_string().contains("no event loop"));
}

#[test]
fn many_tasks_read_files_at_once() {
    let _serial = serial();
    let dir = Scratch::new("fs-many");
    for i in 0..200 {
        std::fs::write(dir.path(&format!("{i}")), i.to_string()).unwrap();
    }
    let d = dir.0.clone();
    no_fd_leak("200 concurrent reads", || {
        run(async move {
            let tasks: Vec<_> = (0..200)
                .map(|i| {
                    let p = d.join(i.to_string());
                    corio::spawn(async move { fs::read_to_string(p).await.unwrap() })
                })
                .collect();
            for (i, t) in tasks.into_iter().enumerate() {
                assert_eq!(t.await.unwrap(), i.to_string());
            }
        });
    });
}

#[test]
fn the_mock_loop_runs_file_operations_too() {
    let _serial = serial();
    let dir = Scratch::new("fs-mock");
    let path = dir.path("sim.txt");
    let read = corio_backends::mock::Simulation::new(9).run(|lp| {
        lp.block_on(async move {
            fs::write(&path, b"on the virtual clock").await.unwrap();
            corio::sleep(Duration::from_secs(3600)).await.unwrap(); // instant
            let mut file = File::open(&path).await.unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).await.unwrap();
            text
        })
        .unwrap()
    });
    assert_eq!(read, "on the virtual clock");
}

#[test]
fn sequential_read_ahead_keeps_the_callers_position() {
    // Sequential reads ask the kernel for more and more (up to 2 MiB); the
    // position the caller sees is still just after what it was given.
    let _serial = serial();
    let dir = Scratch::new("fs-readahead");
    let path = dir.path("f");
    let data: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 249) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let p = path.clone();
    run(async move {
        let mut file = File::options().read(true).write(true).open(&p).await.unwrap();
        let mut chunk = [0u8; 4096];
        for i in 0..6 {
            file.read_exact(&mut chunk).await.unwrap();
            assert_eq!(&chunk[..], &data[i * 4096..(i + 1) * 4096]);
        }
        assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 6 * 4096);
        for i in 6..9 {
            file.read_exact(&mut chunk).await.unwrap();
            assert_eq!(&chunk[..], &data[i * 4096..(i + 1) * 4096]);
        }
        file.write_all(b"XY").await.unwrap();
        file.flush().await.unwrap();
        let mut std = file.into_std().await.unwrap();
        assert_eq!(std::io::Seek::stream_position(&mut std).unwrap(), 9 * 4096 + 2);
    });
    let now = std::fs::read(&path).unwrap();
    assert_eq!(&now[9 * 4096..9 * 4096 + 2], b"XY");
    assert_eq!(now.len(), 1024 * 1024);
}
