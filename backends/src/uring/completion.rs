//! io_uring's completion mode: the operations of `corio_core::reactor::ops`
//! (file read, write, open, close, `statx`, `fsync`) as real io_uring
//! requests, beside the readiness polls of the parent module.
//!
//! # How an operation travels
//!
//! * `submit` turns the operation into a submission entry whose pointers
//!   point into the operation's own memory, queues it with the next
//!   `poll`'s batch, and keeps the operation's ring reference (`OpRef`) in
//!   the in-flight table under a token with the top bit set (readiness
//!   tokens never have it; the reserved tokens are checked first).
//! * `poll` hands each completion with such a token to
//!   `OpRef::complete`, after the ring's lock is released (completing may
//!   wake a task). Only then does the table let go of the `OpRef`, so the
//!   operation's memory outlives the kernel's use of it.
//! * `cancel` queues an `ASYNC_CANCEL` for the token; the completion still
//!   comes (`ECANCELED`, or the real result if it was too late).
//! * Dropping the reactor with operations in flight leaks them: the ring's
//!   teardown is asynchronous, and the kernel may still write into their
//!   buffers.

use corio_core::reactor::ops::{OpKind, OpRef};
use io_uring::{opcode, squeue, types};
use std::collections::HashMap;
use std::io;

/// The bit that marks an operation's token.
const OP_BIT: u64 = 1 << 63;

/// `user_data` of `ASYNC_CANCEL` requests (their completions are ignored).
pub(super) const CANCEL_TOKEN: u64 = u64::MAX - 2;

/// Operations in flight, by token.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    ops: HashMap<u64, OpRef>,
    next: u64,
}

impl InFlight {
    /// Registers `op`; returns its submission entry.
    pub(super) fn start(&mut self, op: OpRef) -> io::Result<squeue::Entry> {
        let token = OP_BIT | (self.next % (CANCEL_TOKEN & !OP_BIT));
        self.next = self.next.wrapping_add(1);
        let mut entry = entry(&op)?.user_data(token);
        if op.links_next() {
            // The next entry of the batch waits for this one, short read or
            // not (a plain link would cancel it after a short read).
            entry = entry.flags(squeue::Flags::IO_HARDLINK);
        }
        op.set_id(token);
        self.ops.insert(token, op);
        Ok(entry)
    }

    /// The operation a completion is for (taken out of the table).
    pub(super) fn finish(&mut self, token: u64) -> Option<OpRef> {
        self.ops.remove(&token)
    }

    pub(super) fn contains(&self, token: u64) -> bool {
        self.ops.contains_key(&token)
    }

    /// Whether the operation under `token` links the next entry to itself
    /// (`OpRef::link_next`).
    pub(super) fn links_next(&self, token: u64) -> bool {
        self.ops.get(&token).is_some_and(OpRef::links_next)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // The kernel may still use their memory: never free it.
        for (_, op) in self.ops.drain() {
            std::mem::forget(op);
        }
    }
}

/// Whether `token` names an operation (not a readiness poll, not a
/// reserved token).
pub(super) fn is_op(token: u64) -> bool {
    token & OP_BIT != 0 && token < CANCEL_TOKEN
}

pub(super) fn cancel_entry(token: u64) -> squeue::Entry {
    opcode::AsyncCancel::new(token).build().user_data(CANCEL_TOKEN)
}

/// The submission entry for `op`, pointing into its memory.
fn entry(op: &OpRef) -> io::Result<squeue::Entry> {
    let too_long = || io::Error::new(io::ErrorKind::InvalidInput, "an io_uring read or write is at most 4 GiB");
    let at_position = u64::MAX; // -1: the file position, as read(2)/write(2)
    Ok(match op.kind() {
        OpKind::Read { fd } => {
            let (ptr, len) = op.buffer();
            let len = u32::try_from(len).map_err(|_| too_long())?;
            opcode::Read::new(types::Fd(*fd), ptr, len).offset(at_position).build()
        }
        OpKind::Write { fd } => {
            let (ptr, len) = op.buffer();
            let len = u32::try_from(len).map_err(|_| too_long())?;
            opcode::Write::new(types::Fd(*fd), ptr, len).offset(at_position).build()
        }
        OpKind::Open { path, flags, mode } => {
            opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr()).flags(*flags).mode(*mode).build()
        }
        OpKind::Close { fd } => opcode::Close::new(types::Fd(*fd)).build(),
        OpKind::Statx { fd } => opcode::Statx::new(types::Fd(*fd), c"".as_ptr(), op.statx_buffer().cast())
            .flags(libc::AT_EMPTY_PATH)
            .mask(libc::STATX_BASIC_STATS)
            .build(),
        OpKind::Fsync { fd, datasync } => {
            let flags = if *datasync { types::FsyncFlags::DATASYNC } else { types::FsyncFlags::empty() };
            opcode::Fsync::new(types::Fd(*fd)).flags(flags).build()
        }
    })
}

impl corio_core::reactor::ops::Completions for super::UringReactor {
    fn submit(&self, op: OpRef) -> io::Result<()> {
        let mut state = self.lock();
        let entry = state.ops.start(op)?;
        state.batch.push(entry);
        self.ops_in_flight.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    fn cancel(&self, op: &corio_core::reactor::ops::Op) {
        let Some(token) = op.id() else { return };
        let mut state = self.lock();
        if state.ops.contains(token) {
            state.batch.push(cancel_entry(token));
        }
    }

    fn in_flight(&self) -> usize {
        self.ops_in_flight.load(std::sync::atomic::Ordering::Relaxed)
    }
}
