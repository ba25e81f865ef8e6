//! W22: files (issue 23), beside `tokio::fs` and smol's way (`blocking::unblock`, `blocking::Unblock`, which is
//! what `async-fs` is):
//!
//! * W22a — sequential read of a 256 MiB file in 64 KiB chunks through the runtime's file type; one op = one chunk.
//! * W22b — whole-file reads of small (4 KiB) files, `fs::read`; one op = one file, cycling over 100 files.
//! * W22c — a 4 KiB write and an `fsync` (`write_all` + `sync_all`); one op = one pair.
//!
//! The files live in `corio-bench-fs` in the system's temporary directory, written once (outside the measured time)
//! and reused by later runs; reads come from the page cache. corio runs on the pool (`corio`) and with io_uring operations (`corio-uring`).

use super::rt;
use crate::harness::{Runtime, Workload};
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn workloads() -> Vec<Box<dyn Workload>> {
    vec![Box::new(SequentialRead), Box::new(SmallFiles), Box::new(WriteFsync)]
}

const RUNTIMES: &[Runtime] = &[Runtime::Corio, Runtime::CorioUring, Runtime::TokioCt, Runtime::TokioMt, Runtime::Smol];

const CHUNK: usize = 64 * 1024;
const BIG: usize = 256 * 1024 * 1024;
const SMALL: usize = 4096;
const SMALL_FILES: usize = 100;

/// One directory for every run (the files are reused, not piled up).
fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join("corio-bench-fs");
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The 256 MiB file, written once per machine.
fn big_file() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = dir().join("big.bin");
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == BIG as u64) {
            return path;
        }
        let chunk: Vec<u8> = (0..CHUNK).map(|i| i as u8).collect();
        let mut file = std::fs::File::create(&path).expect("create");
        for _ in 0..BIG / CHUNK {
            std::io::Write::write_all(&mut file, &chunk).expect("write");
        }
        path
    })
}

/// The small files, written once.
fn small_files() -> &'static Vec<PathBuf> {
    static PATHS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    PATHS.get_or_init(|| {
        (0..SMALL_FILES)
            .map(|i| {
                let path = dir().join(format!("small-{i}"));
                std::fs::write(&path, vec![i as u8; SMALL]).expect("write");
                path
            })
            .collect()
    })
}

struct SequentialRead;

impl Workload for SequentialRead {
    fn id(&self) -> &'static str {
        "W22a"
    }

    fn description(&self) -> &'static str {
        "file: sequential 64 KiB read of a 256 MiB file"
    }

    fn ops(&self, quick: bool) -> u64 {
        (if quick { BIG / 8 } else { BIG } / CHUNK) as u64
    }

    fn runtimes(&self) -> &'static [Runtime] {
        RUNTIMES
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let path = big_file().clone();
        match runtime {
            Runtime::Corio | Runtime::CorioUring => rt::corio_on(runtime, async move {
                let start = Instant::now();
                let mut file = corio::fs::File::open(&path).await.unwrap();
                let mut buf = vec![0u8; CHUNK];
                for _ in 0..ops {
                    assert_eq!(file.read(&mut buf).await.unwrap(), CHUNK);
                }
                std::hint::black_box(&buf);
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                use tokio::io::AsyncReadExt;
                let start = Instant::now();
                let mut file = tokio::fs::File::open(&path).await.unwrap();
                let mut buf = vec![0u8; CHUNK];
                for _ in 0..ops {
                    assert_eq!(file.read(&mut buf).await.unwrap(), CHUNK);
                }
                std::hint::black_box(&buf);
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|_| async move {
                let start = Instant::now();
                let file = blocking::unblock(move || std::fs::File::open(path)).await.unwrap();
                let mut file = blocking::Unblock::with_capacity(CHUNK, file);
                let mut buf = vec![0u8; CHUNK];
                for _ in 0..ops {
                    file.read_exact(&mut buf).await.unwrap();
                }
                std::hint::black_box(&buf);
                start.elapsed()
            }),
            Runtime::CorioTwoLoops => unreachable!("not listed"),
        }
    }
}

struct SmallFiles;

impl Workload for SmallFiles {
    fn id(&self) -> &'static str {
        "W22b"
    }

    fn description(&self) -> &'static str {
        "file: read a whole 4 KiB file (fs::read)"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            1_000
        } else {
            10_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        RUNTIMES
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let paths = small_files();
        match runtime {
            Runtime::Corio | Runtime::CorioUring => rt::corio_on(runtime, async move {
                let start = Instant::now();
                for i in 0..ops as usize {
                    let data = corio::fs::read(&paths[i % SMALL_FILES]).await.unwrap();
                    assert_eq!(data.len(), SMALL);
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let start = Instant::now();
                for i in 0..ops as usize {
                    let data = tokio::fs::read(&paths[i % SMALL_FILES]).await.unwrap();
                    assert_eq!(data.len(), SMALL);
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|_| async move {
                let start = Instant::now();
                for i in 0..ops as usize {
                    let path = paths[i % SMALL_FILES].clone();
                    let data = blocking::unblock(move || std::fs::read(path)).await.unwrap();
                    assert_eq!(data.len(), SMALL);
                }
                start.elapsed()
            }),
            Runtime::CorioTwoLoops => unreachable!("not listed"),
        }
    }
}

struct WriteFsync;

impl Workload for WriteFsync {
    fn id(&self) -> &'static str {
        "W22c"
    }

    fn description(&self) -> &'static str {
        "file: 4 KiB write + fsync"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            50
        } else {
            500
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        RUNTIMES
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let path = dir().join(format!("fsync-{}.bin", runtime.name()));
        let block = vec![5u8; SMALL];
        match runtime {
            Runtime::Corio | Runtime::CorioUring => rt::corio_on(runtime, async move {
                let mut file = corio::fs::File::create(&path).await.unwrap();
                let start = Instant::now();
                for _ in 0..ops {
                    file.write_all(&block).await.unwrap();
                    file.sync_all().await.unwrap();
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                use tokio::io::AsyncWriteExt;
                let mut file = tokio::fs::File::create(&path).await.unwrap();
                let start = Instant::now();
                for _ in 0..ops {
                    file.write_all(&block).await.unwrap();
                    file.sync_all().await.unwrap();
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|_| async move {
                let file = blocking::unblock(move || std::fs::File::create(path)).await.unwrap();
                let mut file = blocking::Unblock::new(file);
                let start = Instant::now();
                for _ in 0..ops {
                    file.write_all(&block).await.unwrap();
                    file.flush().await.unwrap();
                    let inner = file.with_mut(|f| f.sync_all());
                    inner.await.unwrap();
                }
                start.elapsed()
            }),
            Runtime::CorioTwoLoops => unreachable!("not listed"),
        }
    }
}
