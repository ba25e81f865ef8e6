//! `corio::streams` (issue 23, part 4): asyncio's streams API.
//!
//! * The reader's rules, ported from CPython 3.13's
//!   `test_asyncio/test_streams.py` (the test names are kept): a `Feed`
//!   transport plays asyncio's `feed_data`/`feed_eof`, handing over
//!   everything fed so far at each read, as asyncio's buffer holds it.
//! * The writer: water marks and `drain`, `write_eof`, `close`/
//!   `wait_closed`, writes after close, a lost connection.
//! * Over real TCP and Unix sockets: `open_connection`/`start_server`
//!   (server `close`, `wait_closed`, `serve_forever`, `close_clients`), a
//!   peer closing mid-`readexactly`, a `readuntil` over the limit leaving
//!   the buffer usable, cancellation, no descriptor leaks.
//! * On the mock backend's simulated network: back-pressure measured on
//!   the virtual clock.

mod toolbox;

use corio::streams::{
    open_connection, open_connection_with, open_unix_connection, pair, start_server, start_server_on,
    start_unix_server, Address, IncompleteReadError, ReadError, StreamOptions, StreamReader, StreamWriter, Transport,
};
use corio_backends::mock::{NetConfig, SimListener, SimNet, SimStream, Simulation};
use futures_util::io::{AsyncRead, AsyncWrite};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use toolbox::{no_fd_leak, serial, Scratch};

// ----- a transport the test feeds, as asyncio's feed_data ------------------------------

#[derive(Default)]
struct FeedState {
    data: VecDeque<u8>,
    eof: bool,
    reader: Option<Waker>,
    written: Vec<u8>,
    shut: bool,
}

#[derive(Clone, Default)]
struct Feed(Rc<RefCell<FeedState>>);

impl Feed {
    fn feed_data(&self, bytes: &[u8]) {
        let mut state = self.0.borrow_mut();
        state.data.extend(bytes);
        if let Some(w) = state.reader.take() {
            w.wake();
        }
    }

    fn feed_eof(&self) {
        let mut state = self.0.borrow_mut();
        state.eof = true;
        if let Some(w) = state.reader.take() {
            w.wake();
        }
    }

    fn written(&self) -> Vec<u8> {
        self.0.borrow().written.clone()
    }
}

impl AsyncRead for Feed {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut state = self.0.borrow_mut();
        if state.data.is_empty() {
            if state.eof {
                return Poll::Ready(Ok(0));
            }
            state.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(state.data.len());
        for (slot, byte) in buf.iter_mut().zip(state.data.drain(..n)) {
            *slot = byte;
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Feed {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.borrow_mut().written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.borrow_mut().shut = true;
        Poll::Ready(Ok(()))
    }
}

impl Transport for Feed {
    fn peer_addr(&self) -> Option<Address> {
        None
    }

    fn local_addr(&self) -> Option<Address> {
        None
    }
}

const DATA: &[u8] = b"line1\nline2\nline3\n";

/// A reader with `limit` over a fresh feed, inside a loop.
fn with_reader<T>(limit: usize, body: impl AsyncFnOnce(Feed, StreamReader, StreamWriter) -> T) -> T {
    corio::run(async move {
        let feed = Feed::default();
        let (reader, writer) = pair(feed.clone(), limit).unwrap();
        body(feed, reader, writer).await
    })
    .unwrap()
}

const DEFAULT: usize = corio::streams::DEFAULT_LIMIT;

/// Feeds `bytes` from a callback in the next iteration (asyncio's
/// `loop.call_soon(cb)` in these tests).
fn feed_soon(feed: &Feed, chunks: &[&'static [u8]], eof: bool) {
    let (feed, chunks) = (feed.clone(), chunks.to_vec());
    corio::call_soon(move || {
        for chunk in chunks {
            feed.feed_data(chunk);
        }
        if eof {
            feed.feed_eof();
        }
    });
}

#[test]
fn test_read_zero() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(DATA);
        assert_eq!(r.read(0).await.unwrap(), b"");
        assert_eq!(r.buffered(), 0, "nothing was read from the transport");
        assert_eq!(r.read(100).await.unwrap(), DATA);
    });
}

#[test]
fn test_read() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed_soon(&feed, &[DATA], false);
        assert_eq!(r.read(30).await.unwrap(), DATA);
        assert_eq!(r.buffered(), 0);
    });
}

#[test]
fn test_read_line_breaks() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(b"line1");
        feed.feed_data(b"line2");
        assert_eq!(r.read(5).await.unwrap(), b"line1");
        assert_eq!(r.read(5).await.unwrap(), b"line2");
    });
}

#[test]
fn test_read_eof() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed_soon(&feed, &[], true);
        assert_eq!(r.read(1024).await.unwrap(), b"");
        assert!(r.at_eof());
    });
}

#[test]
fn test_read_until_eof() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed_soon(&feed, &[b"chunk1\n", b"chunk2"], true);
        assert_eq!(r.read_to_end().await.unwrap(), b"chunk1\nchunk2");
        assert_eq!(r.buffered(), 0);
    });
}

#[test]
fn test_invalid_limit() {
    let err = corio::run(async { pair(Feed::default(), 0).map(drop).unwrap_err() }).unwrap();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn test_read_limit() {
    with_reader(3, async |feed, mut r, _w| {
        feed.feed_data(b"chunk");
        assert_eq!(r.read(5).await.unwrap(), b"chunk");
        assert_eq!(r.buffered(), 0);
    });
}

#[test]
fn test_readline() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(b"chunk1 ");
        feed_soon(&feed, &[b"chunk2 ", b"chunk3 ", b"\n chunk4"], false);
        assert_eq!(r.readline().await.unwrap(), b"chunk1 chunk2 chunk3 \n");
        assert_eq!(r.buffered(), b" chunk4".len());
    });
}

#[test]
fn test_readline_limit_with_existing_data() {
    with_reader(3, async |feed, mut r, _w| {
        feed.feed_data(b"li");
        feed.feed_data(b"ne1\nline2\n");
        assert!(matches!(r.readline().await, Err(ReadError::LimitOverrun(_))));
        // The remaining data is still there.
        assert_eq!(r.read(100).await.unwrap(), b"line2\n");
    });
    with_reader(3, async |feed, mut r, _w| {
        feed.feed_data(b"li");
        feed.feed_data(b"ne1");
        feed.feed_data(b"li");
        assert!(matches!(r.readline().await, Err(ReadError::LimitOverrun(_))));
        // No newline: the whole buffer was consumed.
        assert_eq!(r.buffered(), 0);
    });
}

#[test]
fn test_at_eof() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        assert!(!r.at_eof());
        feed.feed_data(b"some data\n");
        assert!(!r.at_eof());
        r.readline().await.unwrap();
        assert!(!r.at_eof());
        feed.feed_data(b"some data\n");
        feed.feed_eof();
        r.readline().await.unwrap();
        // asyncio's feed_eof is seen at once; here the end of the stream
        // is seen by the next read of the transport.
        assert_eq!(r.read(1).await.unwrap(), b"");
        assert!(r.at_eof());
    });
}

#[test]
fn test_readline_limit() {
    with_reader(7, async |feed, mut r, _w| {
        feed_soon(&feed, &[b"chunk1", b"chunk2", b"chunk3\n"], true);
        assert!(matches!(r.readline().await, Err(ReadError::LimitOverrun(_))));
        assert_eq!(r.buffered(), 0);
    });
    with_reader(7, async |feed, mut r, _w| {
        feed_soon(&feed, &[b"chunk1", b"chunk2\n", b"chunk3\n"], true);
        assert!(matches!(r.readline().await, Err(ReadError::LimitOverrun(_))));
        assert_eq!(r.read(100).await.unwrap(), b"chunk3\n");
    });
    // The limit is strict.
    with_reader(7, async |feed, mut r, _w| {
        feed.feed_data(b"1234567\n");
        assert_eq!(r.readline().await.unwrap(), b"1234567\n");
        feed.feed_data(b"12345678\n");
        assert!(matches!(r.readline().await, Err(ReadError::LimitOverrun(_))));
        assert_eq!(r.buffered(), 0);
        feed.feed_data(b"12345678");
        assert!(matches!(r.readline().await, Err(ReadError::LimitOverrun(_))));
        assert_eq!(r.buffered(), 0);
    });
}

#[test]
fn test_readline_nolimit_nowait() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(&DATA[..6]);
        feed.feed_data(&DATA[6..]);
        assert_eq!(r.readline().await.unwrap(), b"line1\n");
        assert_eq!(r.buffered(), b"line2\nline3\n".len());
    });
}

#[test]
fn test_readline_eof() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(b"some data");
        feed.feed_eof();
        assert_eq!(r.readline().await.unwrap(), b"some data");
    });
}

#[test]
fn test_readline_empty_eof() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_eof();
        assert_eq!(r.readline().await.unwrap(), b"");
    });
}

#[test]
fn test_readline_read_byte_count() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(DATA);
        r.readline().await.unwrap();
        assert_eq!(r.read(7).await.unwrap(), b"line2\nl");
        assert_eq!(r.buffered(), b"ine3\n".len());
    });
}

#[test]
fn test_readuntil_separator() {
    with_reader(DEFAULT, async |_feed, mut r, _w| {
        let err = r.readuntil(b"").await.unwrap_err();
        assert!(matches!(&err, ReadError::Io(e) if e.kind() == io::ErrorKind::InvalidInput), "{err}");
        assert!(matches!(r.readuntil_any(&[]).await, Err(ReadError::Io(_))));
        assert!(matches!(r.readuntil_any(&[b""]).await, Err(ReadError::Io(_))));
    });
}

#[test]
fn test_readuntil_multi_chunks() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(b"lineAAA");
        assert_eq!(r.readuntil(b"AAA").await.unwrap(), b"lineAAA");
        assert_eq!(r.buffered(), 0);
        feed.feed_data(b"lineAAAxxx");
        assert_eq!(r.readuntil(b"AAA").await.unwrap(), b"lineAAA");
        assert_eq!(r.buffered(), 3);
    });
}

#[test]
fn test_readuntil_multi_chunks_1() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        // Each chunk arrives on its own read: the separator straddles them.
        for (chunks, expected) in [
            (&[&b"QWEaa"[..], b"XYaa", b"a"][..], &b"QWEaaXYaaa"[..]),
            (&[b"QWEaa", b"XYa", b"aa"], b"QWEaaXYaaa"),
            (&[b"aaa"], b"aaa"),
            (&[b"Xaaa"], b"Xaaa"),
            (&[b"XXX", b"a", b"a", b"a"], b"XXXaaa"),
        ] {
            let task = corio::spawn({
                let chunks: Vec<Vec<u8>> = chunks.iter().map(|c| c.to_vec()).collect();
                let feed = feed.clone();
                async move {
                    for chunk in chunks {
                        feed.feed_data(&chunk);
                        corio::yield_now().await.unwrap();
                    }
                }
            });
            assert_eq!(r.readuntil(b"aaa").await.unwrap(), expected);
            task.await.unwrap();
            assert_eq!(r.buffered(), 0);
        }
    });
}

#[test]
fn test_readuntil_eof() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(b"some dataAA");
        feed.feed_eof();
        match r.readuntil(b"AAA").await {
            Err(ReadError::Incomplete(IncompleteReadError { partial, expected })) => {
                assert_eq!(partial, b"some dataAA");
                assert_eq!(expected, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffered(), 0);
    });
    let text = IncompleteReadError { partial: b"some dataAA".to_vec(), expected: None }.to_string();
    assert!(text.contains("undefined expected bytes"), "{text}");
}

#[test]
fn test_readuntil_limit_found_sep() {
    with_reader(3, async |feed, mut r, _w| {
        feed.feed_data(b"some dataAA");
        match r.readuntil(b"AAA").await {
            Err(ReadError::LimitOverrun(e)) => assert!(e.message.contains("not found"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffered(), b"some dataAA".len(), "the buffer is left as it was");
        feed.feed_data(b"A");
        match r.readuntil(b"AAA").await {
            Err(ReadError::LimitOverrun(e)) => {
                assert!(e.message.contains("is found"), "{e}");
                assert_eq!(e.consumed, 9);
            }
            other => panic!("{other:?}"),
        }
        // And still usable: take the chunk by size.
        assert_eq!(r.readexactly(12).await.unwrap(), b"some dataAAA");
    });
}

#[test]
fn test_readuntil_multi_separator() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(b"line 1\nline 2\r");
        assert_eq!(r.readuntil_any(&[b"\r", b"\n"]).await.unwrap(), b"line 1\n");
        assert_eq!(r.readuntil_any(&[b"\r", b"\n"]).await.unwrap(), b"line 2\r");
        assert_eq!(r.buffered(), 0);
        // The first end position wins, even for a longer match.
        feed.feed_data(b"ABCDEFG");
        assert_eq!(r.readuntil_any(&[b"DEF", b"BCDE"]).await.unwrap(), b"ABCDE");
        assert_eq!(r.buffered(), 2);
    });
}

#[test]
fn test_readuntil_multi_separator_limit() {
    with_reader(3, async |feed, mut r, _w| {
        feed.feed_data(b"some dataA");
        match r.readuntil_any(&[b"A", b"ome dataA"]).await {
            Err(ReadError::LimitOverrun(e)) => assert!(e.message.contains("is found"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffered(), b"some dataA".len());
    });
}

#[test]
fn test_readuntil_multi_separator_negative_offset() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(b"data");
        let f = feed.clone();
        corio::call_soon(move || f.feed_data(b"Z"));
        let f = feed.clone();
        corio::call_soon(move || f.feed_data(b"Aaaa"));
        assert_eq!(r.readuntil_any(&[b"A", b"long sep"]).await.unwrap(), b"dataZA");
        assert_eq!(r.buffered(), 3);
    });
}

#[test]
fn test_readexactly_zero() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed.feed_data(DATA);
        assert_eq!(r.readexactly(0).await.unwrap(), b"");
        assert_eq!(r.read(100).await.unwrap(), DATA);
    });
}

#[test]
fn test_readexactly() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed_soon(&feed, &[DATA, DATA, DATA], false);
        let n = 2 * DATA.len();
        assert_eq!(r.readexactly(n).await.unwrap(), [DATA, DATA].concat());
        assert_eq!(r.buffered(), DATA.len());
    });
}

#[test]
fn test_readexactly_limit() {
    with_reader(3, async |feed, mut r, _w| {
        feed.feed_data(b"chunk");
        assert_eq!(r.readexactly(5).await.unwrap(), b"chunk");
    });
}

#[test]
fn test_readexactly_eof() {
    with_reader(DEFAULT, async |feed, mut r, _w| {
        feed_soon(&feed, &[DATA], true);
        let n = 2 * DATA.len();
        match r.readexactly(n).await {
            Err(ReadError::Incomplete(e)) => {
                assert_eq!(e.partial, DATA);
                assert_eq!(e.expected, Some(n));
                assert_eq!(e.to_string(), "18 bytes read on a total of 36 expected bytes");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffered(), 0);
    });
}

#[test]
fn read_errors_convert_for_the_question_mark() {
    let incomplete =
        io::Error::from(ReadError::Incomplete(IncompleteReadError { partial: vec![1], expected: Some(2) }));
    assert_eq!(incomplete.kind(), io::ErrorKind::UnexpectedEof);
    assert!(incomplete.get_ref().unwrap().downcast_ref::<IncompleteReadError>().is_some());
}

#[test]
fn a_cancelled_readexactly_keeps_what_it_had_read() {
    with_reader(DEFAULT, async |feed, r, _w| {
        feed.feed_data(b"abc");
        let task = corio::spawn(async move {
            let mut r = r;
            let first = r.readexactly(6).await;
            (first.map_err(|e| matches!(e, ReadError::Io(ref io) if corio::Cancelled::find(io).is_some())), r)
        });
        corio::sleep(Duration::from_millis(5)).await.unwrap();
        task.cancel();
        // The task swallowed nothing: it hands back the reader.
        let (first, mut r) = match task.await {
            Ok(out) => out,
            Err(err) => panic!("{err:?}"),
        };
        assert!(first.unwrap_err(), "the read ended with the cancellation");
        feed.feed_data(b"def");
        assert_eq!(r.readexactly(6).await.unwrap(), b"abcdef", "the first three bytes were kept");
    });
}

// ----- the writer ------------------------------------------------------------------

#[test]
fn writes_go_out_in_order_and_write_eof_half_closes() {
    with_reader(DEFAULT, async |feed, _r, w| {
        w.write(b"one ").unwrap();
        w.writelines([&b"two "[..], b"three"]).unwrap();
        w.drain().await.unwrap();
        assert_eq!(feed.written(), b"one two three");
        assert!(w.can_write_eof());
        w.write_eof().unwrap();
        assert!(feed.0.borrow().shut);
        let err = w.write(b"late").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        w.close();
        w.wait_closed().await.unwrap();
        assert!(w.is_closing());
        assert!(w.write(b"x").is_err(), "write after close");
        assert!(w.drain().await.is_err(), "drain after close: connection lost");
    });
}

#[test]
fn water_marks_are_checked() {
    with_reader(DEFAULT, async |_feed, _r, w| {
        assert_eq!(w.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        w.set_write_buffer_limits(Some(100), None).unwrap();
        assert_eq!(w.get_write_buffer_limits(), (25, 100));
        w.set_write_buffer_limits(None, Some(10)).unwrap();
        assert_eq!(w.get_write_buffer_limits(), (10, 40));
        let err = w.set_write_buffer_limits(Some(1), Some(2)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        w.set_write_buffer_limits(Some(0), Some(0)).unwrap();
    });
}

// ----- over real sockets -------------------------------------------------------------

/// An echo handler: lines back until the client closes.
async fn echo(mut reader: StreamReader, writer: StreamWriter) {
    while let Ok(line) = reader.readline().await {
        if line.is_empty() || writer.write(&line).is_err() || writer.drain().await.is_err() {
            break;
        }
    }
}

fn port_of(server: &corio::streams::Server) -> u16 {
    server.sockets()[0].as_inet().unwrap().port()
}

#[test]
fn open_connection_and_start_server_over_tcp() {
    let _serial = serial();
    no_fd_leak("tcp streams", || {
        corio::run(async {
            let server = start_server(echo, "127.0.0.1", 0).await.unwrap();
            assert!(server.is_serving());
            let port = port_of(&server);
            let (mut reader, writer) = open_connection("127.0.0.1", port).await.unwrap();
            assert_eq!(writer.peer_addr().unwrap().as_inet().unwrap().port(), port);
            assert!(reader.peer_addr().is_some() && writer.local_addr().is_some());
            for i in 0..100 {
                writer.write(format!("line {i}\n").as_bytes()).unwrap();
            }
            writer.drain().await.unwrap();
            for i in 0..100 {
                assert_eq!(reader.readline().await.unwrap(), format!("line {i}\n").as_bytes());
            }
            // By name, resolved on the pool.
            let (mut r2, w2) = open_connection("localhost", port).await.unwrap();
            w2.write(b"by name\n").unwrap();
            assert_eq!(r2.readline().await.unwrap(), b"by name\n");
            writer.close();
            writer.wait_closed().await.unwrap();
            // Closing the writer closed the connection: our reader sees the end.
            assert_eq!(reader.read(10).await.unwrap(), b"");
            drop((r2, w2));
            server.close();
            assert!(!server.is_serving());
            server.wait_closed().await.unwrap();
            assert_eq!(server.active_clients(), 0);
            let err = open_connection("127.0.0.1", port).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        })
        .unwrap();
    });
}

#[test]
fn a_peer_closing_mid_readexactly_gives_the_partial_bytes() {
    let _serial = serial();
    no_fd_leak("incomplete read", || {
        corio::run(async {
            let server = start_server(
                |_r, w: StreamWriter| async move {
                    w.write(b"only 9 b.").unwrap();
                    w.close();
                    let _ = w.wait_closed().await;
                },
                "127.0.0.1",
                0,
            )
            .await
            .unwrap();
            let (mut reader, _writer) = open_connection("127.0.0.1", port_of(&server)).await.unwrap();
            match reader.readexactly(100).await {
                Err(ReadError::Incomplete(e)) => {
                    assert_eq!(e.partial, b"only 9 b.");
                    assert_eq!(e.expected, Some(100));
                }
                other => panic!("{other:?}"),
            }
            assert!(reader.at_eof());
            let io_err: io::Error = reader.readexactly(1).await.unwrap_err().into();
            assert_eq!(io_err.kind(), io::ErrorKind::UnexpectedEof);
        })
        .unwrap();
    });
}

#[test]
fn a_readuntil_over_the_limit_leaves_the_buffer_usable() {
    let _serial = serial();
    corio::run(async {
        let server = start_server(
            |_r, w: StreamWriter| async move {
                w.write(&[b'x'; 100]).unwrap();
                w.write(b"|tail\n").unwrap();
                let _ = w.drain().await;
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let options = StreamOptions { limit: 16, ..StreamOptions::default() };
        let (mut reader, _w) = open_connection_with("127.0.0.1", port_of(&server), &options).await.unwrap();
        assert_eq!(reader.limit(), 16);
        let err = reader.readuntil(b"|").await.unwrap_err();
        let consumed = match err {
            ReadError::LimitOverrun(e) => e.consumed,
            other => panic!("{other:?}"),
        };
        assert!(consumed > 16);
        // Everything is still there: skip the long part by size, go on.
        let skipped = reader.readexactly(100).await.unwrap();
        assert!(skipped.iter().all(|&b| b == b'x'));
        assert_eq!(reader.readuntil(b"|").await.unwrap(), b"|");
        assert_eq!(reader.readline().await.unwrap(), b"tail\n");
    })
    .unwrap();
}

/// Sets a socket buffer size (`SO_SNDBUF`/`SO_RCVBUF`), so that a test can
/// fill the kernel's buffers with little data.
fn set_buffer(fd: std::os::fd::RawFd, option: libc::c_int, bytes: libc::c_int) {
    // SAFETY: setsockopt reads one int from the pointer we pass.
    let set = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as _,
        )
    };
    assert_eq!(set, 0);
}

#[test]
fn drain_waits_for_a_slow_reader_and_water_marks_hold() {
    use std::os::fd::AsRawFd;
    let _serial = serial();
    no_fd_leak("drain", || {
        corio::run(async {
            let listener = corio::net::TcpListener::bind("127.0.0.1:0").unwrap();
            set_buffer(listener.as_async().get_ref().as_raw_fd(), libc::SO_RCVBUF, 16 * 1024);
            let client = corio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            set_buffer(client.as_async().get_ref().as_raw_fd(), libc::SO_SNDBUF, 16 * 1024);
            let (server_side, _) = listener.accept().await.unwrap();
            let (_r, writer) = pair(client, 1024).unwrap();
            let (mut server_reader, _server_writer) = pair(server_side, 1024).unwrap();

            writer.set_write_buffer_limits(Some(256 * 1024), Some(64 * 1024)).unwrap();
            writer.write(&vec![7u8; 4 * 1024 * 1024]).unwrap();
            assert!(writer.get_write_buffer_size() > 256 * 1024, "queued above the high-water mark");
            let waiting = corio::wait_for(Duration::from_millis(50), writer.drain()).await;
            assert!(waiting.is_err(), "drain waits while the peer does not read");
            let reading = corio::spawn(async move { server_reader.read_to_end().await.unwrap().len() });
            writer.drain().await.unwrap();
            assert!(writer.get_write_buffer_size() <= 64 * 1024, "drained to the low-water mark");
            writer.close();
            writer.wait_closed().await.unwrap();
            assert_eq!(writer.get_write_buffer_size(), 0, "close sent everything first");
            assert_eq!(reading.await.unwrap(), 4 * 1024 * 1024, "every byte arrived");
        })
        .unwrap();
    });
}

#[test]
fn a_lost_connection_is_reported_by_drain_and_wait_closed() {
    let _serial = serial();
    corio::run(async {
        let listener = corio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (_r, writer) = open_connection("127.0.0.1", addr.port()).await.unwrap();
        let (peer, _) = listener.accept().await.unwrap();
        peer.set_linger(Some(Duration::ZERO)).unwrap();
        drop(peer); // reset
        let mut failed = None;
        for _ in 0..100 {
            let wrote = writer.write(&[1u8; 64 * 1024]).and(Ok(()));
            let drained = match wrote {
                Ok(()) => writer.drain().await,
                Err(err) => Err(err),
            };
            if let Err(err) = drained {
                failed = Some(err);
                break;
            }
            corio::sleep(Duration::from_millis(1)).await.unwrap();
        }
        let err = failed.expect("the reset is seen");
        assert!(matches!(err.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe), "{err}");
        assert!(writer.is_closing());
        assert!(writer.wait_closed().await.is_err());
        assert!(writer.write(b"more").is_err());
    })
    .unwrap();
}

#[test]
fn serve_forever_close_clients_and_wait_closed() {
    let _serial = serial();
    no_fd_leak("server lifecycle", || {
        corio::run(async {
            let server = Rc::new(start_server(echo, "127.0.0.1", 0).await.unwrap());
            let port = port_of(&server);
            let s = server.clone();
            let forever = corio::spawn(async move { s.serve_forever().await });
            // Two clients that stay connected.
            let (_r1, w1) = open_connection("127.0.0.1", port).await.unwrap();
            let (mut r2, w2) = open_connection("127.0.0.1", port).await.unwrap();
            w2.write(b"hi\n").unwrap();
            assert_eq!(r2.readline().await.unwrap(), b"hi\n");
            assert_eq!(server.active_clients(), 2);
            server.close();
            forever.await.unwrap().unwrap();
            // Connections already accepted go on: wait_closed waits for them.
            assert!(corio::wait_for(Duration::from_millis(30), server.wait_closed()).await.is_err());
            server.close_clients();
            server.wait_closed().await.unwrap();
            assert_eq!(r2.read(10).await.unwrap(), b"", "the handler's writer closed the connection");
            drop((w1, w2));
            // serve_forever cancelled: closes the server.
            let server = Rc::new(start_server(echo, "127.0.0.1", 0).await.unwrap());
            let s = server.clone();
            let forever = corio::spawn(async move { s.serve_forever().await });
            corio::sleep(Duration::from_millis(5)).await.unwrap();
            forever.cancel();
            assert!(forever.await.unwrap_err().is_cancelled());
            assert!(!server.is_serving());
            server.wait_closed().await.unwrap();
        })
        .unwrap();
    });
}

#[test]
fn start_server_on_an_address_in_use_fails() {
    let _serial = serial();
    corio::run(async {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = start_server(echo, "127.0.0.1", port).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&port.to_string()), "{err}");
        let err = start_server(echo, "no-such-host.invalid", 0).await.unwrap_err();
        assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
        let options = StreamOptions { limit: 0, ..StreamOptions::default() };
        let err = open_connection_with("127.0.0.1", port, &options).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    })
    .unwrap();
}

#[test]
fn unix_streams() {
    let _serial = serial();
    let dir = Scratch::new("streams-unix");
    let path = dir.path("sock");
    no_fd_leak("unix streams", || {
        let p = path.clone();
        corio::run(async move {
            let server = start_unix_server(echo, &p).await.unwrap();
            assert!(matches!(server.sockets()[0], Address::Unix(_)));
            let (mut reader, writer) = open_unix_connection(&p).await.unwrap();
            writer.write(b"over a unix socket\n").unwrap();
            assert_eq!(reader.readline().await.unwrap(), b"over a unix socket\n");
            assert!(matches!(writer.peer_addr(), Some(Address::Unix(_))));
            writer.close();
            writer.wait_closed().await.unwrap();
            assert!(p.exists());
            server.close();
            server.wait_closed().await.unwrap();
            assert!(!p.exists(), "closing the server removed its socket file");
            // Binding where a socket file is left over is an error naming it.
            let stale = std::os::unix::net::UnixListener::bind(&p).unwrap();
            drop(stale);
            let err = start_unix_server(echo, &p).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
            assert!(err.to_string().contains("sock"), "{err}");
        })
        .unwrap();
    });
}

// ----- on the simulated network -------------------------------------------------------

#[test]
fn sim_back_pressure_on_the_virtual_clock() {
    // A 4 KiB receive buffer and 10 ms latency; the server reads 1 KiB
    // every 100 ms. A writer that queues 64 KiB with marks at 8/2 KiB must
    // wait in drain until the server has taken enough.
    let (drained_at, total) = Simulation::new(23).run(|lp| {
        let net = SimNet::new(lp.reactor(), 23, NetConfig::default().latency(Duration::from_millis(10)).capacity(4096));
        lp.block_on(async move {
            let addr = "10.0.0.1:7".parse().unwrap();
            let listener = SimListener::bind(&net, addr).unwrap();
            let got = Rc::new(RefCell::new(0usize));
            let g = got.clone();
            let server = start_server_on(
                listener,
                Address::Inet(addr),
                move |mut r: StreamReader, w: StreamWriter| {
                    let g = g.clone();
                    async move {
                        // Dropping the writer would close the connection
                        // (asyncio's rule): keep it while reading.
                        let _w = w;
                        loop {
                            let chunk = r.read(1024).await.unwrap();
                            if chunk.is_empty() {
                                break;
                            }
                            *g.borrow_mut() += chunk.len();
                            corio::sleep(Duration::from_millis(100)).await.unwrap();
                        }
                    }
                },
                corio::streams::DEFAULT_LIMIT,
            )
            .unwrap();
            let (_r, w) = pair(SimStream::connect(&net, addr).await.unwrap(), 1024).unwrap();
            w.set_write_buffer_limits(Some(8 * 1024), Some(2 * 1024)).unwrap();
            let start = corio::time();
            w.write(&[1u8; 64 * 1024]).unwrap();
            w.drain().await.unwrap();
            let drained_at = corio::time() - start;
            w.close();
            w.wait_closed().await.unwrap();
            server.close();
            server.wait_closed().await.unwrap();
            let total = *got.borrow();
            (drained_at, total)
        })
        .unwrap()
    });
    assert_eq!(total, 64 * 1024, "every byte arrived");
    // 64 KiB - 2 KiB queued - 4 KiB in the receiver must be read first:
    // 58 reads of 1 KiB, 100 ms apart.
    assert!(drained_at >= Duration::from_secs(5), "{drained_at:?}");
    assert!(drained_at <= Duration::from_secs(7), "{drained_at:?}");
}
