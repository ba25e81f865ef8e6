//! TCP reads that know when they emptied the socket (`TCP_INQ`, Linux).
//!
//! The loop caches a source's readiness and forgets it when an operation
//! returns `WouldBlock` (see the [module docs](super)). A read that fills
//! the caller's buffer cannot tell whether bytes are left, so the next read
//! is a system call that often only returns `EAGAIN`. In a request/response
//! exchange (a 1 KiB echo, W11) that is every second `recv` on both sides.
//!
//! With the `TCP_INQ` socket option (Linux 4.18) each `recvmsg` also returns
//! how many bytes are still queued. When a read returns data and the count
//! is zero, the stream clears its read readiness at once, and the next read
//! waits for the reactor's next edge without asking the kernel first.
//!
//! # Why clearing early is safe
//!
//! * **An edge per arrival.** Linux signals an edge-triggered watch (epoll's
//!   `EPOLLET`, io_uring's multishot poll) on every segment queued, not only
//!   when the queue turns non-empty. Bytes that arrive after the count was
//!   taken are reported at the reactor's next poll.
//! * **One thread.** Events are dispatched and reads run on the loop's
//!   thread, so no event can be dispatched between the read and the clear.
//!   An event for bytes the read already took makes a spurious wake-up,
//!   which the `WouldBlock` rule absorbs.
//! * **End of stream and errors.** After a FIN or a reset the kernel reports
//!   a count of at least one (`tcp_inq_hint`), so a reader is never left
//!   waiting for an edge that has come and gone; a read that returns 0 never
//!   clears.
//! * **Without the option** (older kernels, other systems) enabling fails
//!   quietly, `recvmsg` carries no count, and reads follow the plain rule.

use std::io::{self, IoSliceMut};
use std::net::TcpStream;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::AsRawFd;

/// What a read returned, and whether it left the socket empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Received {
    pub(crate) bytes: usize,
    /// The read returned data and the kernel reported nothing left after it.
    pub(crate) drained: bool,
}

/// Asks the kernel to report the queued byte count with every read of
/// `stream`; false where it cannot (the reads then carry no count).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn enable(stream: &TcpStream) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from `&on`, which
    // lives across the call; a bad descriptor is an error return.
    let status = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INQ,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    status == 0
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn enable(_stream: &TcpStream) -> bool {
    false
}

/// One `recvmsg` into `bufs`, with the queued count when the kernel sends it.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn recv_vectored(stream: &TcpStream, bufs: &mut [IoSliceMut<'_>]) -> io::Result<Received> {
    // Room for one control message carrying a c_int (CMSG_SPACE(4) is 24 on
    // 64-bit Linux), aligned for `cmsghdr`.
    let mut control = [0u64; 4];
    // SAFETY: an all-zero msghdr is a valid empty header (null pointers,
    // zero lengths); the fields that matter are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSliceMut` is ABI-compatible with `iovec` on Unix (std documents it).
    msg.msg_iov = bufs.as_mut_ptr().cast();
    // The kernel refuses more than UIO_MAXIOV buffers (EMSGSIZE); like std's
    // `read_vectored`, fill the first ones.
    msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points at `bufs` (valid, writable, for the call) and at
    // `control`, both alive across the call; the kernel writes at most the
    // lengths given.
    let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let bytes = n as usize;
    let queued = queued_after(&msg);
    Ok(Received { bytes, drained: bytes > 0 && queued == Some(0) })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn recv_vectored(mut stream: &TcpStream, bufs: &mut [IoSliceMut<'_>]) -> io::Result<Received> {
    use std::io::Read;
    Ok(Received { bytes: stream.read_vectored(bufs)?, drained: false })
}

/// The `TCP_CM_INQ` count in `msg`'s control messages, if the kernel sent one.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn queued_after(msg: &libc::msghdr) -> Option<libc::c_int> {
    // SAFETY: `msg` was filled by recvmsg: its control buffer and length
    // describe the messages the kernel wrote, which CMSG_FIRSTHDR/NXTHDR walk
    // within bounds; the payload is read unaligned, as a c_int.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_TCP && (*cmsg).cmsg_type == libc::TCP_CM_INQ {
                return Some(std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>()));
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::{enable, recv_vectored, Received};
    use std::io::{IoSliceMut, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    fn connected_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    fn recv(stream: &TcpStream, len: usize) -> Received {
        let mut buf = vec![0u8; len];
        recv_vectored(stream, &mut [IoSliceMut::new(&mut buf)]).unwrap()
    }

    /// Waits until `len` bytes are queued, or fewer and the peer's FIN (a
    /// blocking peek with `MSG_WAITALL`); returns how many are queued.
    fn wait_queued(stream: &TcpStream, len: usize) -> usize {
        let mut buf = vec![0u8; len];
        // SAFETY: recv writes at most `len` bytes into `buf`, alive across the call.
        let n =
            unsafe { libc::recv(stream.as_raw_fd(), buf.as_mut_ptr().cast(), len, libc::MSG_PEEK | libc::MSG_WAITALL) };
        usize::try_from(n).expect("peek failed")
    }

    /// The kernel facts the early clear rests on, on real loopback sockets
    /// (blocking ones: each read waits for the bytes written before it).
    #[test]
    fn the_count_says_drained_only_when_nothing_is_left() {
        let (mut client, server) = connected_pair();
        assert!(enable(&server), "TCP_INQ needs Linux 4.18");
        client.write_all(&[1; 1024]).unwrap();
        // An exactly-full read that emptied the queue: the case the plain
        // rule cannot tell from "more to come".
        assert_eq!(recv(&server, 1024), Received { bytes: 1024, drained: true });
        client.write_all(&[2; 2048]).unwrap();
        assert_eq!(wait_queued(&server, 2048), 2048);
        assert_eq!(recv(&server, 1024), Received { bytes: 1024, drained: false });
        assert_eq!(recv(&server, 4096), Received { bytes: 1024, drained: true });
        // After a FIN the count stays non-zero, so readiness is kept and the
        // next read returns end of stream instead of waiting.
        client.write_all(&[3; 16]).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(wait_queued(&server, 17), 16, "returns early at the FIN");
        assert_eq!(recv(&server, 16), Received { bytes: 16, drained: false });
        assert_eq!(recv(&server, 16), Received { bytes: 0, drained: false });
    }

    #[test]
    fn more_buffers_than_the_kernel_takes_fill_the_first_ones() {
        let (mut client, server) = connected_pair();
        client.write_all(&[5; 2048]).unwrap();
        assert_eq!(wait_queued(&server, 2048), 2048);
        let mut bytes = vec![0u8; 2000];
        let mut bufs: Vec<_> = bytes.chunks_mut(1).map(IoSliceMut::new).collect();
        let received = recv_vectored(&server, &mut bufs).unwrap();
        assert_eq!(received.bytes, libc::UIO_MAXIOV as usize);
    }

    #[test]
    fn without_the_option_no_count_arrives() {
        let (mut client, server) = connected_pair();
        client.write_all(&[1; 64]).unwrap();
        assert_eq!(recv(&server, 64), Received { bytes: 64, drained: false });
    }
}
