//! Completion-based operations: the kernel does the work and reports when
//! it is done (io_uring), and **the operation owns every buffer the kernel
//! touches** until then.
//!
//! A reactor that can run them offers [`Completions`]
//! ([`Reactor::completions`](super::Reactor::completions)); `corio::fs`
//! uses it for file reads, writes, opens, closes, `statx` and `fsync` where
//! the loop's reactor is io_uring, and the blocking pool elsewhere.
//!
//! # Ownership
//!
//! ```text
//!   Op::submit ──▶ [awaiter: Op] ──poll──▶ Completed (buffer handed back)
//!        │                 │ drop before completion: abandoned
//!        ▼                 ▼
//!   [ring: OpRef] ──the kernel's completion──▶ OpRef::complete ──▶ freed by the last holder
//! ```
//!
//! * The operation's memory (its data buffer, its path, its `statx`
//!   buffer) lives in one shared allocation, referenced by the awaiter
//!   ([`Op`]) and by the ring ([`OpRef`], held by the reactor from
//!   submission until the kernel's completion). The kernel is given
//!   pointers into it; it is freed only when both have let go, so a
//!   cancelled read never writes into freed memory.
//! * The awaiter touches the buffer only after it has seen the operation
//!   complete (acquire; the reactor publishes with release after the kernel
//!   is done). Dropping the awaiter before that only marks the operation
//!   abandoned: it touches nothing.
//! * An abandoned operation's result is dropped when it completes — and a
//!   descriptor an abandoned `Open` got is closed then, so nothing leaks.
//! * Dropping an `Op` does not cancel the kernel's work (a file's
//!   write-behind must land); [`Completions::cancel`] asks the reactor to stop it
//!   early, and the completion still comes (with `ECANCELED`).
//! * A reactor dropped with operations in flight leaks their memory rather
//!   than free what the kernel may still write (io_uring's teardown is
//!   asynchronous).
//! * Operations submitted one after another go to the kernel together (one
//!   batch per loop iteration); [`OpRef::link_next`] makes the next one wait
//!   for this one to end, whatever its result (two reads at the file
//!   position, in order, in one round trip).
//!
//! The same rules serve operations that complete more than once (multishot
//! accept or receive, batched sends): the ring keeps its `OpRef` while the
//! kernel says more completions follow, and each one is handed over under
//! the same acquire/release protocol. Only single-shot operations exist so
//! far. Loom model: `verify/tests/loom_uring_op.rs`.

use crate::loom::{Arc, AtomicUsize, Mutex, Ordering, UnsafeCell};
use std::ffi::CString;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// What the kernel is asked to do. Every pointer it needs points into the
/// operation's own memory.
#[derive(Debug)]
pub enum OpKind {
    /// `read(fd)` at the file position into the operation's buffer (its
    /// length is how much to read).
    Read {
        /// The file.
        fd: RawFd,
    },
    /// `write(fd)` of the operation's buffer at the file position.
    Write {
        /// The file.
        fd: RawFd,
    },
    /// `openat(AT_FDCWD, path, flags, mode)`; the result is the new
    /// descriptor.
    Open {
        /// The path.
        path: CString,
        /// `open(2)` flags (`O_CLOEXEC` is the caller's to add).
        flags: i32,
        /// Permission bits of a created file.
        mode: u32,
    },
    /// `close(fd)`; the operation owns `fd` from submission.
    Close {
        /// The descriptor to close.
        fd: RawFd,
    },
    /// `statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS)` into the
    /// operation's `statx` buffer.
    Statx {
        /// The file.
        fd: RawFd,
    },
    /// `fsync(fd)`, or `fdatasync` with `datasync`.
    Fsync {
        /// The file.
        fd: RawFd,
        /// Only the data (and the metadata needed to read it back).
        datasync: bool,
    },
}

/// Completion-based I/O a reactor may offer besides readiness (io_uring).
///
/// `submit` queues an operation; a later `Reactor::poll` on the loop's
/// thread hands the kernel's result to [`OpRef::complete`]. The reactor
/// keeps the `OpRef` — and so the operation's memory — until then.
pub trait Completions {
    /// Queues `op` for the kernel (submitted with the reactor's next
    /// `poll`).
    fn submit(&self, op: OpRef) -> io::Result<()>;

    /// Asks the kernel to stop the operation `op` early (best effort: its
    /// completion still comes, possibly with `ECANCELED`).
    fn cancel(&self, op: &Op);

    /// Operations submitted and not yet completed.
    fn in_flight(&self) -> usize;
}

const IN_FLIGHT: usize = 0;
const DONE: usize = 1;
const ABANDONED: usize = 2;

/// Bytes of the `statx` buffer (Linux's `struct statx` is 256 bytes).
const STATX_BYTES: usize = 256;

struct Inner {
    kind: OpKind,
    state: AtomicUsize,
    /// The data buffer: the kernel's while in flight, the awaiter's after.
    buffer: UnsafeCell<Vec<u8>>,
    /// The `statx` buffer (only for `Statx`), 8-byte aligned.
    statx: UnsafeCell<Option<Box<[u64; STATX_BYTES / 8]>>>,
    /// The kernel's result, written before `DONE` is published.
    result: UnsafeCell<i32>,
    waker: Mutex<Option<Waker>>,
    /// Keeps whatever the operation's descriptor belongs to alive until
    /// the kernel is done with it (a file whose handle was dropped).
    _keep_alive: Option<std::sync::Arc<dyn Send + Sync>>,
    /// The reactor's name for it (for `cancel`), set at submission.
    id: std::sync::atomic::AtomicU64,
    /// The operation submitted next starts only after this one has ended,
    /// whatever its result (io_uring's `IOSQE_IO_HARDLINK`).
    link_next: std::sync::atomic::AtomicBool,
}

// SAFETY: the cells are accessed by one side at a time, as the state word
// says (see the module docs): the kernel (through the reactor) while
// `IN_FLIGHT`, the awaiter after it observed `DONE`; everything else is
// atomics and a mutex.
unsafe impl Send for Inner {}
// SAFETY: as above.
unsafe impl Sync for Inner {}

/// The awaiter's side of an operation: a future of its [`Completed`]
/// result. See the [module docs](self) for the ownership rules.
///
/// ```
/// use corio_core::reactor::ops::{Op, OpKind};
/// use std::task::{Context, Poll, Waker};
///
/// // What a reactor does with the ring's side, here by hand.
/// let (mut op, ring) = Op::new(OpKind::Read { fd: 0 }, vec![0; 4], None);
/// let (ptr, len) = ring.buffer();
/// // SAFETY: the buffer is the ring's until `complete` (here, "the kernel").
/// unsafe { std::ptr::copy_nonoverlapping(b"hi".as_ptr(), ptr, 2.min(len)) };
/// ring.complete(2);
/// let Poll::Ready(done) = op.poll_complete(&mut Context::from_waker(Waker::noop())) else { unreachable!() };
/// assert_eq!((done.result, done.buffer), (2, b"hi".to_vec()));
/// ```
#[must_use = "an operation's result is dropped unless it is awaited"]
pub struct Op {
    inner: Option<Arc<Inner>>,
}

/// The ring's side of an operation, held by the reactor from submission to
/// completion. The pointers it gives stay valid while it exists.
pub struct OpRef {
    inner: Arc<Inner>,
}

/// A finished operation: the kernel's result and the memory handed back.
#[derive(Debug)]
pub struct Completed {
    /// The system call's result: `>= 0` success (bytes, a descriptor, 0),
    /// `< 0` a negated `errno`.
    pub result: i32,
    /// The data buffer (for reads, truncated to the bytes read).
    pub buffer: Vec<u8>,
    /// A `Statx`'s `struct statx` (read on Linux only, the one place a
    /// reactor runs completion-based operations).
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    statx: Option<Box<[u64; STATX_BYTES / 8]>>,
}

impl Completed {
    /// The result as `io::Result` (`errno` → `io::Error`).
    pub fn io_result(&self) -> io::Result<u32> {
        if self.result < 0 {
            Err(io::Error::from_raw_os_error(-self.result))
        } else {
            Ok(self.result as u32)
        }
    }

    /// Whether a `Statx` found a regular file.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn statx_is_regular(&self) -> bool {
        self.statx_struct().is_some_and(|stx| u32::from(stx.stx_mode) & libc::S_IFMT == libc::S_IFREG)
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn statx_struct(&self) -> Option<&libc::statx> {
        let raw = self.statx.as_ref()?;
        // SAFETY: the buffer is 256 bytes, 8-aligned, as `struct statx`;
        // the kernel filled it before the completion was published.
        Some(unsafe { &*(raw.as_ptr() as *const libc::statx) })
    }

    /// The file size a `Statx` found.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn statx_size(&self) -> Option<u64> {
        let raw = self.statx.as_ref()?;
        // SAFETY: the buffer is 256 bytes, 8-aligned, as `struct statx`;
        // the kernel filled it before the completion was published.
        let stx = unsafe { &*(raw.as_ptr() as *const libc::statx) };
        Some(stx.stx_size)
    }

    /// The file size a `Statx` found: none off Linux, where no reactor runs
    /// completion-based operations.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn statx_size(&self) -> Option<u64> {
        None
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.as_ref().map(|i| i.state.load(Ordering::Relaxed));
        f.debug_struct("Op").field("kind", &self.inner.as_ref().map(|i| &i.kind)).field("state", &state).finish()
    }
}

impl fmt::Debug for OpRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpRef").field("kind", &self.inner.kind).finish()
    }
}

impl Op {
    /// A new operation and the ring's reference to it, not yet submitted.
    /// `buffer` is the data buffer (for `Read`, its length is what to read;
    /// for `Write`, its contents). `keep_alive` is held until the kernel is
    /// done (e.g. the file the descriptor belongs to).
    pub fn new(kind: OpKind, buffer: Vec<u8>, keep_alive: Option<std::sync::Arc<dyn Send + Sync>>) -> (Op, OpRef) {
        let statx = matches!(kind, OpKind::Statx { .. }).then(|| Box::new([0u64; STATX_BYTES / 8]));
        let inner = Arc::new(Inner {
            kind,
            state: AtomicUsize::new(IN_FLIGHT),
            buffer: UnsafeCell::new(buffer),
            statx: UnsafeCell::new(statx),
            result: UnsafeCell::new(0),
            waker: Mutex::new(None),
            _keep_alive: keep_alive,
            id: std::sync::atomic::AtomicU64::new(u64::MAX),
            link_next: std::sync::atomic::AtomicBool::new(false),
        });
        (Op { inner: Some(inner.clone()) }, OpRef { inner })
    }

    /// Polls for the result; `Ready` once, when the kernel is done. Not a
    /// checkpoint: the caller decides what a cancel means for the
    /// operation.
    pub fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<Completed> {
        let inner = self.inner.as_ref().expect("Op polled after it completed");
        if inner.state.load(Ordering::Acquire) != DONE {
            *inner.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
            if inner.state.load(Ordering::Acquire) != DONE {
                return Poll::Pending;
            }
        }
        let inner = self.inner.take().expect("checked above");
        // SAFETY: `DONE` was published (release) after the kernel's last
        // access and the result's write; we observed it (acquire), and the
        // ring's side never touches the cells again.
        let (buffer, statx, result) = unsafe {
            (
                inner.buffer.with_mut(|b| std::mem::take(&mut *b)),
                inner.statx.with_mut(|s| (*s).take()),
                inner.result.with(|r| *r),
            )
        };
        Poll::Ready(Completed { result, buffer, statx })
    }

    /// Whether the kernel is done.
    pub fn is_done(&self) -> bool {
        self.inner.as_ref().is_none_or(|i| i.state.load(Ordering::Acquire) == DONE)
    }

    /// The reactor's name for the operation (for [`Completions::cancel`]).
    pub fn id(&self) -> Option<u64> {
        let id = self.inner.as_ref()?.id.load(std::sync::atomic::Ordering::Relaxed);
        (id != u64::MAX).then_some(id)
    }
}

impl Future for Op {
    type Output = Completed;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Completed> {
        self.poll_complete(cx)
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else { return };
        // Abandon an operation in flight: the ring's side frees the memory
        // after the kernel is done. Nothing here touches it.
        let abandoned = inner.state.compare_exchange(IN_FLIGHT, ABANDONED, Ordering::AcqRel, Ordering::Acquire);
        let _ = abandoned;
    }
}

impl OpRef {
    /// What to do.
    pub fn kind(&self) -> &OpKind {
        &self.inner.kind
    }

    /// Makes the operation submitted right after this one wait until this
    /// one has ended, whatever its result (a chain: two reads at the file
    /// position in order, submitted together).
    pub fn link_next(&self) {
        self.inner.link_next.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the next operation waits for this one ([`OpRef::link_next`]).
    pub fn links_next(&self) -> bool {
        self.inner.link_next.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records the reactor's name for the operation.
    pub fn set_id(&self, id: u64) {
        self.inner.id.store(id, std::sync::atomic::Ordering::Relaxed);
    }

    /// The data buffer's address and length, for the kernel. Valid while
    /// this `OpRef` exists; the kernel may write there until it completes.
    pub fn buffer(&self) -> (*mut u8, usize) {
        // SAFETY: while in flight the ring's side owns the buffer; taking
        // its address and length does not move it.
        unsafe { self.inner.buffer.with_mut(|b| ((*b).as_mut_ptr(), (*b).len())) }
    }

    /// The `statx` buffer's address (`Statx` only), for the kernel.
    pub fn statx_buffer(&self) -> *mut u8 {
        // SAFETY: as for `buffer`.
        unsafe { self.inner.statx.with_mut(|s| (*s).as_mut().map_or(std::ptr::null_mut(), |b| b.as_mut_ptr().cast())) }
    }

    /// Runs `f` on the data buffer as the kernel would (loom models only).
    #[cfg(corio_loom)]
    pub fn kernel_access(&self, f: impl FnOnce(&mut Vec<u8>)) {
        // SAFETY: the ring's side owns the buffer while in flight.
        unsafe { self.inner.buffer.with_mut(|b| f(&mut *b)) }
    }

    /// The kernel is done: records `result` (for `Read`, the buffer is
    /// truncated to the bytes read), publishes it and wakes the awaiter,
    /// or drops the result of an abandoned operation (closing the
    /// descriptor an abandoned `Open` got).
    pub fn complete(self, result: i32) {
        let inner = self.inner;
        // SAFETY: the kernel is done with the memory, and the awaiter does
        // not touch it before it observes `DONE`, published below.
        unsafe {
            inner.result.with_mut(|r| *r = result);
            if matches!(inner.kind, OpKind::Read { .. }) {
                inner.buffer.with_mut(|b| (*b).truncate(result.max(0) as usize));
            }
        }
        let early = inner.state.compare_exchange(IN_FLIGHT, DONE, Ordering::AcqRel, Ordering::Acquire);
        match early {
            Ok(_) => {
                let waker = inner.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            Err(_) => {
                // Abandoned: nobody wants the result.
                if matches!(inner.kind, OpKind::Open { .. }) && result >= 0 {
                    // SAFETY: the descriptor is new and nobody else has it.
                    unsafe { libc::close(result) };
                }
            }
        }
    }
}
