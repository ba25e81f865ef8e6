//! A task as one allocation: a type-erased header, then the future (later its
//! output) in a stage cell, then — for a named task only — a trailer.
//!
//! ```text
//! +------------------------------- Cell<F> ------------------------------+
//! | Header: state (flags, owner index, refs) | vtable | context store |  |
//! |   join waker | id | origin code (32) | suspended at (32) |           |
//! |   cancel requests (16) | stage tag | loop flags | registry slot (32) |
//! |                                                          (56 bytes)  |
//! | stage: Pending(F) -> Ready(Result<F::Output, JoinError>) -> Taken    |
//! +----------------------------------------------------------------------+
//! [ trailer: name and spawn location, if named (`CellWithTrailer<F>`)  ]
//! ```
//!
//! The stage is a union whose live variant the header's tag names: an
//! `async` block's future exposes no niche, so an enum would add a word to
//! every task (and, through the allocator's size classes, often 16 bytes).
//! The tag is read and written only together with the stage, by whoever
//! owns the stage (see `state.rs`); all access goes through [`clear_stage`],
//! [`set_ready`], [`take_ready`], [`ready_mut`] and [`poll`]. The future and
//! the output are dropped in place, never moved out to be dropped.
//!
//! Everything generic over the future lives in [`TaskVTable`]; everything
//! generic over the loop lives in [`SchedVTable`]. The loop polls through the
//! first, wakers schedule through the second, so neither side needs `dyn`.
//! The header names its loop by an index in its state word (`owners.rs`),
//! whose table entry holds both the loop and that vtable: no pointer for
//! the loop in the header at all. The two source locations — where it was
//! spawned, where it last suspended — are 32-bit codes (`location_code.rs`);
//! a name, or a spawn location a code cannot reach, moves the origin to the
//! trailer (`origin.rs`), so the common task pays for neither. The cell's
//! memory comes from a per-thread cache of freed cells (`cell_cache.rs`).

use super::cell_cache;
use super::checkpoint::Suspension;
use super::context_slot::ContextSlot;
use super::host::SchedVTable;
use super::join::{JoinError, Panic};
use super::join_waker::JoinWaker;
use super::origin::{Origin, OriginCode, Trailer};
use super::owners;
use super::state::{State, COMPLETE};
use crate::loom::{AtomicU16, LeakTrack, Ordering, UnsafeCell};
use std::alloc::Layout;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// What one poll of a task's future did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Pending,
    /// The future returned; its output is in the stage.
    Ready,
    /// The future panicked; the stage holds `JoinError::Panicked`.
    Panicked,
}

/// Operations that depend on the future's type.
pub(crate) struct TaskVTable {
    /// Polls the future once; see [`Step`].
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> Step,
    /// Drops the future or output in the stage and stores `err` instead
    /// (a panic of the destructor is reported, [`drop_panicked`]).
    set_error: unsafe fn(NonNull<Header>, JoinError),
    /// Moves the stage's result into `*dst: Poll<Result<T, JoinError>>`.
    take_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Points at the stage's `Result<T, JoinError>` (null unless `Ready`).
    output_ref: unsafe fn(NonNull<Header>) -> *const (),
    /// Takes a stored panic out, leaving a payload-less one.
    take_panic: unsafe fn(NonNull<Header>) -> Option<Panic>,
    /// Drops the future or output in the stage, leaving it empty (a panic
    /// of the destructor is reported, [`drop_panicked`]).
    discard: unsafe fn(NonNull<Header>),
    /// Drops whatever the stage holds (reporting a panic of its destructor
    /// to the task's loop), then frees the allocation.
    dealloc: unsafe fn(NonNull<Header>),
    /// Where a [`CellWithTrailer`] of this future keeps its trailer.
    trailer_offset: usize,
}

/// [`Header::loop_flags`]: the registry holds extras for the task.
const HAS_EXTRAS: u8 = 1 << 0;
/// [`Header::loop_flags`]: the task waits in the ready queue still
/// `RUNNING` (spawned and not yet polled, or yielded; see `state.rs`).
const QUEUED_RUNNING: u8 = 1 << 1;

/// The type-erased part of every task.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    vtable: &'static TaskVTable,
    /// The task's context store, held here while the task is registered
    /// (`context_slot.rs`). Loop thread only.
    context: ContextSlot,
    /// See `state.rs` for who may touch it when.
    join_waker: UnsafeCell<JoinWaker>,
    pub(crate) id: u64,
    /// Spawn location, or where to find it and the name (`origin.rs`).
    origin: OriginCode,
    /// `None` until the task is first polled (a task cancelled before that
    /// never runs, C4); then where it last suspended (`checkpoint.rs`), for
    /// dumps and slow-poll reports (0 is `None`). Written by the thread
    /// holding the task's step; read there, and by a dump of a task that
    /// may be running on another loop of its pool. An atomic for that read
    /// (relaxed: plain loads and stores), and `std`'s even under loom:
    /// nothing synchronises on it.
    suspended: std::sync::atomic::AtomicU32,
    /// asyncio's `cancelling()`, saturating at `u16::MAX`. Written on the
    /// loop's thread only; read anywhere.
    cancel_requests: AtomicU16,
    /// Which variant of the stage is live (`PENDING`, `READY`, `TAKEN`).
    stage_tag: UnsafeCell<u8>,
    /// Loop-thread flags: [`HAS_EXTRAS`] (the loop's registry holds extras
    /// for the task) and [`QUEUED_RUNNING`] (it waits in the ready queue
    /// still `RUNNING`: new, or yielded; see `state.rs`). Loop thread only,
    /// after the spawner initialised them.
    loop_flags: UnsafeCell<u8>,
    /// Index in the loop's task registry. Loop thread only.
    pub(crate) slot: UnsafeCell<u32>,
    _leak: LeakTrack,
}

#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    stage: UnsafeCell<StagePayload<F>>,
}

/// The allocation of a task whose origin is in a trailer (`origin.rs`): a
/// cell, then the trailer. The vtable knows the trailer's offset; the
/// header's origin code says whether there is one.
#[repr(C)]
struct CellWithTrailer<F: Future> {
    cell: Cell<F>,
    trailer: Trailer,
}

/// The stage's storage; the header's tag says which field is live.
union StagePayload<F: Future> {
    pending: ManuallyDrop<F>,
    ready: ManuallyDrop<Result<F::Output, JoinError>>,
}

const PENDING: u8 = 0;
const READY: u8 = 1;
const TAKEN: u8 = 2;

/// What the loop provides when it creates a task.
pub(crate) struct Spawner {
    /// The loop's index in `owners.rs`, whose entry holds the loop's shared
    /// state (an `Arc<S>`) and the `&'static SchedVTable` made for `S`. The
    /// caller has taken one strong count of the state for the task,
    /// released when the task is freed.
    pub(crate) owner_index: u16,
}

/// Allocates a task. The task starts `SCHEDULED` with a handle and `refs`
/// references, which the caller distributes (queue, registry, handle).
///
/// # Safety
///
/// If `F` (or its output) borrows, the caller must ensure the task's stage
/// is dropped (via `set_error`) before the borrow ends; only the header may
/// outlive it.
#[inline]
pub(crate) unsafe fn allocate<F: Future>(
    future: F,
    spawner: Spawner,
    id: u64,
    origin: Origin,
    refs: u64,
) -> NonNull<Header> {
    match origin.into_code() {
        Ok(code) => place(new_cell(future, spawner, id, code, refs)),
        Err(trailer) => allocate_with_trailer(future, spawner, id, trailer, refs),
    }
}

/// Moves a cell into memory from the cell cache (`cell_cache.rs`); [`dealloc`]
/// returns it there with the same layout.
#[inline(always)]
fn place<T>(cell: T) -> NonNull<Header> {
    let ptr = cell_cache::alloc(Layout::new::<T>()).cast::<T>();
    // SAFETY: fresh memory with `T`'s layout.
    unsafe { ptr.as_ptr().write(cell) };
    ptr.cast()
}

/// [`allocate`] for a task whose origin is in a trailer: kept out of line,
/// so the common spawn stays small.
#[cold]
#[inline(never)]
fn allocate_with_trailer<F: Future>(
    future: F,
    spawner: Spawner,
    id: u64,
    trailer: Trailer,
    refs: u64,
) -> NonNull<Header> {
    place(CellWithTrailer { cell: new_cell(future, spawner, id, OriginCode::IN_TRAILER, refs), trailer })
}

#[inline(always)]
fn new_cell<F: Future>(future: F, spawner: Spawner, id: u64, origin: OriginCode, refs: u64) -> Cell<F> {
    Cell {
        header: Header {
            state: State::new(refs, spawner.owner_index),
            vtable: vtable_for::<F>(),
            context: ContextSlot::empty(),
            join_waker: UnsafeCell::new(JoinWaker::empty()),
            id,
            origin,
            suspended: std::sync::atomic::AtomicU32::new(0),
            cancel_requests: AtomicU16::new(0),
            stage_tag: UnsafeCell::new(PENDING),
            // Born queued and `RUNNING` (`State::new`).
            loop_flags: UnsafeCell::new(QUEUED_RUNNING),
            slot: UnsafeCell::new(u32::MAX),
            _leak: LeakTrack::new(),
        },
        stage: UnsafeCell::new(StagePayload { pending: ManuallyDrop::new(future) }),
    }
}

fn vtable_for<F: Future>() -> &'static TaskVTable {
    struct For<F>(F);
    impl<F: Future> For<F> {
        const VTABLE: TaskVTable = TaskVTable {
            poll: poll::<F>,
            set_error: set_error::<F>,
            take_output: take_output::<F>,
            output_ref: output_ref::<F>,
            take_panic: take_panic::<F>,
            discard: discard::<F>,
            dealloc: dealloc::<F>,
            trailer_offset: std::mem::offset_of!(CellWithTrailer<F>, trailer),
        };
    }
    &For::<F>::VTABLE
}

/// # Safety (all vtable functions)
///
/// `ptr` points to a live `Cell<F>` of exactly this `F`. `poll` is called only
/// by the loop's thread while the task is `RUNNING`; the stage functions only
/// by whoever owns the stage at that point (see `state.rs`).
unsafe fn stage<'a, F: Future>(ptr: NonNull<Header>) -> &'a UnsafeCell<StagePayload<F>> {
    // SAFETY: `Cell` is `repr(C)` with the header first, so a header pointer
    // is a cell pointer; the caller guarantees the type.
    unsafe { &ptr.cast::<Cell<F>>().as_ref().stage }
}

/// Drops whatever the stage holds, in place, leaving it empty; a panic from
/// the destructor is caught and returned.
///
/// # Safety
///
/// As for every vtable function: the caller owns the stage.
unsafe fn clear_stage<F: Future>(ptr: NonNull<Header>) -> Result<(), Panic> {
    // SAFETY: the caller owns the stage and with it the tag. The tag is
    // cleared first, so a destructor that panics halfway is not run again.
    let tag = unsafe { ptr.as_ref() }.stage_tag.with_mut(|tag| unsafe { std::mem::replace(&mut *tag, TAKEN) });
    // SAFETY: as above, the caller owns the stage.
    unsafe { stage::<F>(ptr) }.with_mut(|payload| {
        // SAFETY: the tag named the live field; it is dropped once.
        panic::catch_unwind(AssertUnwindSafe(|| unsafe {
            match tag {
                PENDING => ManuallyDrop::drop(&mut (*payload).pending),
                READY => ManuallyDrop::drop(&mut (*payload).ready),
                _ => {}
            }
        }))
        .map_err(Panic::new)
    })
}

/// Stores the outcome in an empty stage.
///
/// # Safety
///
/// The caller owns the stage, which is empty (`TAKEN`).
unsafe fn set_ready<F: Future>(ptr: NonNull<Header>, outcome: Result<F::Output, JoinError>) {
    // SAFETY: the caller owns the stage; it is empty, so nothing live is
    // overwritten.
    unsafe { stage::<F>(ptr) }.with_mut(|payload| unsafe { (*payload).ready = ManuallyDrop::new(outcome) });
    // SAFETY: the caller owns the tag with the stage; `ready` is now live.
    unsafe { ptr.as_ref() }.stage_tag.with_mut(|tag| unsafe { *tag = READY });
}

/// Moves the output out, leaving the stage empty; `None` if it holds none.
///
/// # Safety
///
/// The caller owns the stage.
unsafe fn take_ready<F: Future>(ptr: NonNull<Header>) -> Option<Result<F::Output, JoinError>> {
    // SAFETY: the caller owns the stage and the tag; `READY` means `ready`
    // is live, and it is read out once as the tag moves to `TAKEN`.
    let was_ready = unsafe { ptr.as_ref() }.stage_tag.with_mut(|tag| unsafe {
        let ready = *tag == READY;
        if ready {
            *tag = TAKEN;
        }
        ready
    });
    // SAFETY: the tag was `READY`, so `ready` is live; the tag is `TAKEN`
    // now, so it is read out exactly once.
    let take = || unsafe { stage::<F>(ptr) }.with_mut(|payload| unsafe { ManuallyDrop::take(&mut (*payload).ready) });
    was_ready.then(take)
}

/// The output in place, if the stage holds one.
///
/// # Safety
///
/// The caller owns the stage.
unsafe fn ready_mut<'a, F: Future>(ptr: NonNull<Header>) -> Option<&'a mut Result<F::Output, JoinError>> {
    // SAFETY: the caller owns the stage and the tag; `READY` means the
    // `ready` field is live.
    let tag = unsafe { ptr.as_ref() }.stage_tag.with(|tag| unsafe { *tag });
    (tag == READY).then(|| unsafe { stage::<F>(ptr) }.with_mut(|payload| unsafe { &mut *(*payload).ready }))
}

unsafe fn poll<F: Future>(ptr: NonNull<Header>, cx: &mut Context<'_>) -> Step {
    // SAFETY: see `stage`; the task is RUNNING on this thread, so nobody else
    // touches the stage, and a task is polled only until it completes, so
    // the `pending` field is live.
    let result = unsafe { stage::<F>(ptr) }.with_mut(|payload| {
        debug_assert_eq!(unsafe { ptr.as_ref() }.stage_tag.with(|tag| unsafe { *tag }), PENDING);
        // SAFETY: as above; the future lives in a heap cell that never moves
        // until it is dropped in place.
        let future = unsafe { Pin::new_unchecked(&mut *(*payload).pending) };
        panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx)))
    });
    let output = match result {
        Ok(Poll::Pending) => return Step::Pending,
        Ok(Poll::Ready(output)) => Ok(output),
        Err(payload) => Err(JoinError::Panicked(Panic::new(payload))),
    };
    // SAFETY: as above.
    let outcome = match (output, unsafe { clear_stage::<F>(ptr) }) {
        (Ok(output), Ok(())) => Ok(output),
        (Ok(_), Err(panic)) => Err(JoinError::Panicked(panic)),
        (Err(err), _) => Err(err),
    };
    let step = if outcome.is_ok() { Step::Ready } else { Step::Panicked };
    // SAFETY: as above; the stage was just cleared.
    unsafe { set_ready::<F>(ptr, outcome) };
    step
}

unsafe fn set_error<F: Future>(ptr: NonNull<Header>, err: JoinError) {
    // The outcome is already decided; a destructor that panics now cannot
    // change it, and unwinding into the loop would lose other tasks: the
    // panic is reported instead.
    // SAFETY: the caller owns the stage (see `TaskVTable`).
    unsafe {
        if let Err(panic) = clear_stage::<F>(ptr) {
            drop_panicked(ptr, panic);
        }
        set_ready::<F>(ptr, Err(err));
    }
}

/// A task's future or output panicked while being dropped (an abort, a
/// cancel before the first run, teardown, an output dropped unread, the
/// last reference's release): reported to the task's loop's exception
/// handler if that loop lives on this thread, else through the default
/// handler, as asyncio reports exceptions raised during cleanup. Out of
/// line, so the drop paths stay small. The header is still whole.
#[cold]
#[inline(never)]
fn drop_panicked(ptr: NonNull<Header>, panic: Panic) {
    super::host::report_drop_panic(RawTask::from_header(ptr), panic);
}

unsafe fn take_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: the caller owns the stage and passes a `Poll<Result<F::Output,
    // JoinError>>` slot.
    unsafe {
        let Some(result) = take_ready::<F>(ptr) else {
            unreachable!("the output is taken once, after completion");
        };
        *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(result);
    }
}

unsafe fn output_ref<F: Future>(ptr: NonNull<Header>) -> *const () {
    // SAFETY: the caller owns the stage; this only finds where it is.
    match unsafe { ready_mut::<F>(ptr) } {
        Some(result) => result as *const Result<F::Output, JoinError> as *const (),
        None => std::ptr::null(),
    }
}

unsafe fn take_panic<F: Future>(ptr: NonNull<Header>) -> Option<Panic> {
    // SAFETY: the caller owns the stage.
    match unsafe { ready_mut::<F>(ptr) } {
        Some(Err(JoinError::Panicked(panic))) => Some(panic.take()),
        _ => None,
    }
}

unsafe fn discard<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: the caller owns the stage.
    if let Err(panic) = unsafe { clear_stage::<F>(ptr) } {
        drop_panicked(ptr, panic);
    }
}

unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    let index = RawTask::from_header(ptr).state().owner_index();
    let (owner, sched) = (owners::owner(index), owners::sched(index));
    // SAFETY: the last reference is gone, so nobody else can reach the stage.
    if let Err(panic) = unsafe { clear_stage::<F>(ptr) } {
        // The header is still whole (name, location): report before freeing.
        drop_panicked(ptr, panic);
    }
    // SAFETY: as above; the cell was placed by `place` in `allocate`, with a
    // trailer iff the origin code says so, and is dropped in place (its stage
    // is now empty: the union has no destructor) before its memory goes
    // back with the layout it came with.
    unsafe {
        if ptr.as_ref().origin == OriginCode::IN_TRAILER {
            drop_cell::<CellWithTrailer<F>>(ptr);
        } else {
            drop_cell::<Cell<F>>(ptr);
        }
    }
    // SAFETY: the task owned one strong count of the loop's shared state.
    unsafe { (sched.release_owner)(owner) };
}

/// Drops the cell of type `T` at `ptr` and frees its memory.
///
/// # Safety
///
/// `ptr` was returned by `place::<T>` and nothing uses the cell any more.
#[inline(always)]
unsafe fn drop_cell<T>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<T>();
    // SAFETY: a live `T` that nobody else reaches (the caller's contract).
    unsafe { std::ptr::drop_in_place(cell.as_ptr()) };
    // SAFETY: from `cell_cache::alloc(Layout::new::<T>())`, now dead.
    unsafe { cell_cache::free(cell.cast(), Layout::new::<T>()) };
}

/// A non-owning pointer to a task; all task operations go through it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RawTask(NonNull<Header>);

// SAFETY: the header is designed for concurrent access: the state word is
// atomic and every other field is either immutable after allocation or
// guarded by the state machine (see `state.rs`).
unsafe impl Send for RawTask {}
// SAFETY: as above.
unsafe impl Sync for RawTask {}

impl RawTask {
    pub(crate) fn from_header(ptr: NonNull<Header>) -> RawTask {
        RawTask(ptr)
    }

    /// The header's address: a waker's data pointer.
    #[inline]
    pub(crate) fn as_ptr(self) -> *const () {
        self.0.as_ptr() as *const ()
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `RawTask` is only used while someone holds a reference.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn state(&self) -> &State {
        &self.header().state
    }

    /// The loop's shared state (see [`Spawner`]).
    #[inline]
    pub(crate) fn owner(self) -> *const () {
        owners::owner(self.state().owner_index())
    }

    #[inline]
    pub(crate) fn sched(self) -> &'static SchedVTable {
        owners::sched(self.state().owner_index())
    }

    /// Where the task was spawned.
    pub(crate) fn location(self) -> &'static Location<'static> {
        match self.header().origin.location() {
            Some(location) => location,
            None => self.trailer().location,
        }
    }

    /// The name it was given at spawn, if any.
    pub(crate) fn name(&self) -> Option<&str> {
        if self.header().origin != OriginCode::IN_TRAILER {
            return None;
        }
        self.trailer().name.as_deref()
    }

    /// The trailer; only when the origin code says there is one.
    fn trailer(&self) -> &Trailer {
        debug_assert_eq!(self.header().origin, OriginCode::IN_TRAILER);
        // SAFETY: the code says the task was allocated as a
        // `CellWithTrailer` of the vtable's future type, so the trailer lies
        // at the vtable's offset, inside the allocation the header pointer
        // was made from; it is immutable and lives as long as the header.
        unsafe { &*self.0.cast::<u8>().add(self.header().vtable.trailer_offset).cast::<Trailer>().as_ptr() }
    }

    /// Whether `waker` is this task's own waker (for task dumps, a yield's
    /// requeue note, a join). Inlined: it sits on the yield path.
    #[inline]
    pub(crate) fn owns_waker(self, waker: &Waker) -> bool {
        waker.data() == self.as_ptr() && std::ptr::eq(waker.vtable(), &self.sched().waker)
    }

    /// Polls once with a waker that borrows this task (no reference-count
    /// traffic unless the future clones it).
    ///
    /// # Safety
    ///
    /// Only the loop's thread, with the task `RUNNING`; `waker_vtable` is
    /// the owning loop's (which the loop knows by its type, without the
    /// lookup [`sched`](Self::sched) makes).
    #[inline]
    pub(crate) unsafe fn poll(self, waker_vtable: &'static RawWakerVTable) -> Step {
        debug_assert!(std::ptr::eq(waker_vtable, &self.sched().waker), "polled by a loop that does not own it");
        let raw = RawWaker::new(self.as_ptr(), waker_vtable);
        // SAFETY: the vtable's functions match the header; the waker is not
        // dropped (ManuallyDrop), so it borrows the reference the caller holds.
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
        let mut cx = Context::from_waker(&waker);
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.poll)(self.0, &mut cx) }
    }

    /// Replaces the future (or output) with `err`; a panic of its
    /// destructor is reported to the exception handler.
    ///
    /// # Safety
    ///
    /// The caller owns the stage (the loop, before completing the task).
    pub(crate) unsafe fn set_error(self, err: JoinError) {
        // SAFETY: forwarded.
        unsafe { (self.header().vtable.set_error)(self.0, err) }
    }

    /// # Safety
    ///
    /// The caller owns the stage and `dst` is a `Poll<Result<T, JoinError>>`
    /// for this task's output type `T`.
    pub(crate) unsafe fn take_output(self, dst: *mut ()) {
        // SAFETY: forwarded.
        unsafe { (self.header().vtable.take_output)(self.0, dst) }
    }

    /// A pointer to the output (`Result<T, JoinError>`), or null if the
    /// stage holds none.
    ///
    /// # Safety
    ///
    /// The caller owns the stage and keeps it from changing while it uses
    /// the pointer.
    pub(crate) unsafe fn output_ref(self) -> *const () {
        // SAFETY: forwarded.
        unsafe { (self.header().vtable.output_ref)(self.0) }
    }

    /// # Safety
    ///
    /// The caller owns the stage.
    #[inline]
    pub(crate) unsafe fn take_panic(self) -> Option<Panic> {
        // SAFETY: forwarded.
        unsafe { (self.header().vtable.take_panic)(self.0) }
    }

    /// Whether the stage is empty (its output taken or dropped): then
    /// neither [`take_panic`](Self::take_panic) nor
    /// [`discard`](Self::discard) has anything to do, and a handle that
    /// joined skips both indirect calls.
    ///
    /// # Safety
    ///
    /// The caller owns the stage (and with it the tag).
    pub(crate) unsafe fn stage_is_empty(self) -> bool {
        // SAFETY: the caller owns the stage's tag; a shared read.
        self.header().stage_tag.with(|tag| unsafe { *tag } == TAKEN)
    }

    /// Drops the future or output (a completed task whose handle is gone);
    /// a panic of its destructor is reported to the exception handler.
    ///
    /// # Safety
    ///
    /// The caller owns the stage.
    #[inline]
    pub(crate) unsafe fn discard(self) {
        // SAFETY: forwarded.
        unsafe { (self.header().vtable.discard)(self.0) }
    }

    /// Runs `f` with the join-waker slot.
    ///
    /// # Safety
    ///
    /// The caller owns the slot (see `state.rs`).
    pub(crate) unsafe fn with_join_waker<R>(self, f: impl FnOnce(&mut JoinWaker) -> R) -> R {
        // SAFETY: exclusive access per the caller's ownership of the slot.
        self.header().join_waker.with_mut(|slot| f(unsafe { &mut *slot }))
    }

    /// Runs `f` with a shared view of the join-waker slot.
    ///
    /// # Safety
    ///
    /// Nobody writes the slot meanwhile (see `state.rs`).
    pub(crate) unsafe fn read_join_waker<R>(self, f: impl FnOnce(Option<&Waker>) -> R) -> R {
        // SAFETY: no concurrent writer, per the caller.
        self.header().join_waker.with(|slot| unsafe { &*slot }.with(f))
    }

    /// The registry slot. Loop thread only.
    pub(crate) fn slot(self) -> u32 {
        // SAFETY: only the loop's thread reads or writes it.
        self.header().slot.with(|s| unsafe { *s })
    }

    /// Loop thread only.
    pub(crate) fn set_slot(self, slot: u32) {
        // SAFETY: only the loop's thread reads or writes it.
        self.header().slot.with_mut(|s| unsafe { *s = slot })
    }

    /// The task's context store (see `context_slot.rs`). Loop thread only.
    #[inline]
    pub(crate) fn context(&self) -> &ContextSlot {
        &self.header().context
    }

    /// Where the task last suspended; `None` until its first poll. Any
    /// thread (a relaxed load: see the field).
    #[inline]
    pub(crate) fn suspended(self) -> Option<Suspension> {
        Suspension::from_bits(self.header().suspended.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The thread holding the task's step only.
    #[inline]
    pub(crate) fn set_suspended(self, at: Suspension) {
        self.header().suspended.store(at.bits(), std::sync::atomic::Ordering::Relaxed)
    }

    #[inline]
    fn loop_flag(self, flag: u8) -> bool {
        // SAFETY: only the loop's thread reads or writes the flags.
        self.header().loop_flags.with(|f| unsafe { *f }) & flag != 0
    }

    #[inline]
    fn set_loop_flag(self, flag: u8, on: bool) {
        // SAFETY: only the loop's thread reads or writes the flags.
        self.header().loop_flags.with_mut(|f| unsafe { *f = if on { *f | flag } else { *f & !flag } })
    }

    /// Whether the registry holds extras for the task. Loop thread only.
    #[inline]
    pub(crate) fn has_extras(self) -> bool {
        self.loop_flag(HAS_EXTRAS)
    }

    /// Loop thread only.
    pub(crate) fn set_has_extras(self, has: bool) {
        self.set_loop_flag(HAS_EXTRAS, has)
    }

    /// Whether the task waits in the ready queue still `RUNNING`: spawned
    /// and not yet polled, or yielded (`state.rs`). Loop thread only.
    #[inline]
    pub(crate) fn queued_running(self) -> bool {
        self.loop_flag(QUEUED_RUNNING)
    }

    /// Loop thread only.
    #[inline]
    pub(crate) fn set_queued_running(self, queued: bool) {
        self.set_loop_flag(QUEUED_RUNNING, queued)
    }

    #[inline]
    pub(crate) fn cancel_requests(self) -> u32 {
        u32::from(self.header().cancel_requests.load(Ordering::Relaxed))
    }

    /// Loop thread only (the only writer). Saturates at `u16::MAX`.
    pub(crate) fn set_cancel_requests(self, n: u32) {
        let n = u16::try_from(n).unwrap_or(u16::MAX);
        self.header().cancel_requests.store(n, Ordering::Relaxed)
    }

    pub(crate) fn is_complete(self) -> bool {
        self.state().load().has(COMPLETE)
    }

    /// Drops one reference, freeing the task if it was the last.
    ///
    /// # Safety
    ///
    /// The caller owns the reference it drops.
    #[inline]
    pub(crate) unsafe fn drop_ref(self) {
        if self.state().ref_dec() {
            // SAFETY: that was the last reference.
            unsafe { (self.header().vtable.dealloc)(self.0) }
        }
    }
}

/// An owned reference to a task.
pub(crate) struct TaskRef(RawTask);

impl TaskRef {
    /// # Safety
    ///
    /// The caller transfers one reference it owns.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> TaskRef {
        TaskRef(raw)
    }

    pub(crate) fn raw(&self) -> RawTask {
        self.0
    }

    /// Gives the reference up without dropping it.
    pub(crate) fn into_raw(self) -> RawTask {
        ManuallyDrop::new(self).0
    }

    /// Drops this reference and `other` (to the same task) with one atomic
    /// operation: a completed task's last two references, the registry's
    /// and its queue entry's, go together.
    pub(crate) fn drop_with(self, other: TaskRef) {
        assert!(self.0 == other.0, "drop_with: references to two different tasks");
        let raw = self.into_raw();
        let _ = other.into_raw();
        if raw.state().ref_dec_two() {
            // SAFETY: those were the last two references.
            unsafe { (raw.header().vtable.dealloc)(raw.0) }
        }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        self.0.state().ref_inc();
        TaskRef(self.0)
    }
}

impl Drop for TaskRef {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: a `TaskRef` owns one reference.
        unsafe { self.0.drop_ref() }
    }
}

impl std::fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRef").field("id", &self.0.header().id).field("state", &self.0.state().load()).finish()
    }
}
