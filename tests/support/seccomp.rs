//! Makes the kernel refuse chosen system calls on the calling thread, as a
//! container runtime's seccomp profile refuses `io_uring_setup`: a filter
//! that returns `EPERM` for them and allows everything else.
//!
//! The filter applies to the thread that installs it (no
//! `SECCOMP_FILTER_FLAG_TSYNC`) and to threads it spawns afterwards, and it
//! cannot be removed: install it on a thread made for the purpose.

#![allow(dead_code)] // each test file uses a subset

use std::io;

/// `AUDIT_ARCH_*` of this target (linux/audit.h), which the filter checks
/// before it trusts a system call number.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// `io_uring_setup`.
pub const IO_URING_SETUP: libc::c_long = libc::SYS_io_uring_setup;
/// Both ways to create an epoll instance.
#[cfg(target_arch = "x86_64")]
pub const EPOLL_CREATE: [libc::c_long; 2] = [libc::SYS_epoll_create1, libc::SYS_epoll_create];
#[cfg(target_arch = "aarch64")]
pub const EPOLL_CREATE: [libc::c_long; 1] = [libc::SYS_epoll_create1];

fn statement(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter { code: code as u16, jt: 0, jf: 0, k }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code: code as u16, jt, jf, k }
}

/// Makes every call in `refused` fail with `EPERM` on this thread.
pub fn refuse(refused: &[libc::c_long]) -> io::Result<()> {
    // struct seccomp_data { int nr; __u32 arch; ... }
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    let errno = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
    let mut program = vec![
        statement(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, ARCH),
        // Another architecture's numbering: allow (this filter is a test aid).
        jump(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, AUDIT_ARCH, 1, 0),
        statement(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
        statement(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, NR),
    ];
    for &call in refused {
        program.push(jump(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, call as u32, 0, 1));
        program.push(statement(libc::BPF_RET | libc::BPF_K, errno));
    }
    program.push(statement(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW));
    let fprog = libc::sock_fprog { len: program.len() as libc::c_ushort, filter: program.as_mut_ptr() };
    // SAFETY: prctl with integer arguments only; no new privileges is
    // required to install a filter without CAP_SYS_ADMIN.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fprog` points at `program`, both alive across the call; the
    // kernel copies the filter.
    if unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog as *const libc::sock_fprog) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `body` on a new thread on which the calls in `refused` fail with
/// `EPERM`, and returns what it returns (a panic in it is re-raised).
pub fn with_refused<T: Send>(refused: &[libc::c_long], body: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let thread = scope.spawn(|| {
            refuse(refused).expect("installing a seccomp filter");
            body()
        });
        match thread.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
