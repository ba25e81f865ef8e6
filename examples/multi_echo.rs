//! The echo server on every core: one event loop per core, each accepting
//! on its own `SO_REUSEPORT` listener bound to the same address, so the
//! kernel spreads the connections over the loops. Each connection is served
//! on the loop that accepted it.
//!
//! ```sh
//! cargo run --release --example multi_echo            # 127.0.0.1:7879
//! cargo run --release --example multi_echo -- 0.0.0.0:9000
//! ```
//!
//! Ctrl-C (SIGINT) returns from `main`'s body; the runtime then shuts every
//! loop down (accept loops and connections cancelled, their sockets closed)
//! and the program prints how many connections each loop served.

use corio::net::{TcpListener, TcpStream};
use corio::signal::{Signal, Signals};
use corio::sync::oneshot;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

async fn echo(stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Loop `index`'s accept loop: each connection becomes a task on this loop.
async fn accept_loop(listener: TcpListener, index: usize, served: Arc<Vec<AtomicU64>>) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        served[index].fetch_add(1, Ordering::Relaxed);
        corio::spawn(echo(stream)).detach();
    }
}

#[corio::main(multi_loop)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7879".to_string()).parse()?;
    let loops = corio::multi_loop::current_loops().expect("#[corio::main(multi_loop)] runs a multi-loop runtime");
    let served: Arc<Vec<AtomicU64>> = Arc::new((0..loops.len()).map(|_| AtomicU64::new(0)).collect());
    let mut interrupt = Signals::new([Signal::INT])?;

    // Loop 0 (this one) binds first, which fixes the port if it was 0.
    let first = TcpListener::bind_reuse_port(addr)?;
    let addr = first.local_addr()?;
    corio::spawn(accept_loop(first, 0, served.clone())).detach();
    for index in 1..loops.len() {
        let (listening, bound) = oneshot::channel();
        let served = served.clone();
        let handle = loops.get(index).expect("index below len");
        handle
            .spawn_with(move || async move {
                let listener = TcpListener::bind_reuse_port(addr);
                let _ = listening.send(listener.as_ref().map(|_| ()).map_err(|e| e.to_string()));
                accept_loop(listener?, index, served).await
            })?
            .detach();
        bound.await?.map_err(|e| format!("loop {index}: {e}"))?;
    }
    println!("echo server listening on {addr} with {} loops", loops.len());

    interrupt.recv().await?;
    let counts: Vec<u64> = served.iter().map(|n| n.load(Ordering::Relaxed)).collect();
    println!("SIGINT: stopping; connections served per loop: {counts:?}");
    Ok(())
}
