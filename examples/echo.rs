//! A TCP echo server: every byte a client sends comes back.
//!
//! ```sh
//! cargo run --release --example echo            # listens on 127.0.0.1:7878
//! cargo run --release --example echo -- 0.0.0.0:9000
//! nc 127.0.0.1 7878                              # type; lines come back
//! ```
//!
//! One task per connection. A client that stops reading applies
//! back-pressure: `write_all` waits for the socket to drain instead of
//! buffering without bound.
//!
//! Ctrl-C (SIGINT) stops it cleanly: the accept loop is cancelled, then
//! `corio::run`'s teardown cancels every connection at its next read or
//! write (each closes its socket), and the process prints what it served and
//! exits with status 0. `tests/echo_example.rs` drives this binary with
//! 1,000 concurrent connections and then a SIGINT.
//!
//! SIGUSR1 prints a task dump: every live task, where it was spawned and
//! where it waits (`kill -USR1 <pid>`; see docs/debugging.md).

use corio::net::{TcpListener, TcpStream};
use corio::signal::{Signal, Signals};
use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

/// What the server did, for the goodbye line.
#[derive(Default)]
struct Served {
    connections: Cell<u64>,
    open: Cell<u64>,
    bytes: Cell<u64>,
}

async fn serve(stream: TcpStream, served: &Served) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
        served.bytes.set(served.bytes.get() + n as u64);
    }
}

async fn accept_loop(listener: TcpListener, served: Rc<Served>) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) if corio::Cancelled::find(&err).is_some() => return Err(err),
            Err(err) => {
                // Out of descriptors (EMFILE) and the like: back off instead
                // of spinning; connections that close free descriptors.
                eprintln!("accept failed: {err}; retrying shortly");
                corio::sleep(Duration::from_millis(100)).await?;
                continue;
            }
        };
        served.connections.set(served.connections.get() + 1);
        served.open.set(served.open.get() + 1);
        let served = served.clone();
        corio::task::Builder::new()
            .name(format!("conn {peer}"))
            .spawn(async move {
                let result = serve(stream, &served).await;
                served.open.set(served.open.get() - 1);
                match result {
                    Ok(()) => {}
                    Err(err) if corio::Cancelled::find(&err).is_some() => {} // shutting down
                    Err(err) => println!("{peer} failed: {err}"),
                }
            })
            .detach();
    }
}

/// Prints a task dump (the server's live tasks and where each waits) on
/// every SIGUSR1, until teardown cancels it.
async fn dump_on_sigusr1(mut usr1: Signals) {
    while usr1.recv().await.is_ok() {
        print!("{}", corio::task::dump());
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7878".to_string());
    let served = Rc::new(Served::default());
    let stats = served.clone();
    corio::run(async move {
        // Listen for Ctrl-C before announcing the server, so a SIGINT sent
        // as soon as the address is printed already stops it cleanly.
        let mut interrupt = Signals::new([Signal::INT])?;
        let listener = TcpListener::bind(addr.as_str())?;
        println!("echo server listening on {}", listener.local_addr()?);
        let server = corio::task::Builder::new().name("accept-loop").spawn(accept_loop(listener, served.clone()));
        corio::task::Builder::new()
            .name("dump-on-sigusr1")
            .spawn(dump_on_sigusr1(Signals::new([Signal::USR1])?))
            .detach();
        interrupt.recv().await?;
        println!("SIGINT: closing {} open connection(s)", served.open.get());
        server.cancel();
        let _ = server.await; // ends cancelled; the listener is closed
        Ok::<_, io::Error>(())
    })??;
    // corio::run has cancelled and awaited every connection by now.
    println!("stopped: served {} connection(s), echoed {} byte(s)", stats.connections.get(), stats.bytes.get());
    Ok(())
}
