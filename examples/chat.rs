//! A chat server over a broadcast channel: every line a client sends goes
//! to every other client.
//!
//! ```sh
//! cargo run --release --example chat                    # a demo: the server and three clients, then exit
//! cargo run --release --example chat -- 127.0.0.1:7879  # serve; then `nc 127.0.0.1 7879` in a few terminals
//! ```
//!
//! One task per connection waits, with `corio::select!`, for either a line
//! from its socket (sent into the channel) or a message from the channel
//! (written to its socket). Both branches are cancel-safe: a socket read
//! that loses the race has consumed nothing, and a broadcast `recv` takes a
//! message only when it returns it. A client that falls more than 64
//! messages behind is told how many it missed (`RecvError::Lagged`) and
//! goes on.

use corio::net::{TcpListener, TcpStream};
use corio::sync::broadcast::{self, error::RecvError};
use corio::sync::Barrier;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

/// A chat line: who sent it, and what.
type Message = (SocketAddr, String);

async fn serve_client(stream: TcpStream, me: SocketAddr, tx: broadcast::Sender<Message>) -> io::Result<()> {
    let mut rx = tx.subscribe();
    stream.write_all(b"welcome\n").await?;
    let (mut buf, mut pending) = ([0u8; 1024], Vec::new());
    loop {
        corio::select! {
            read = stream.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    break; // the client hung up
                }
                pending.extend_from_slice(&buf[..n]);
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let text = String::from_utf8_lossy(&line).trim_end().to_string();
                    let _ = tx.send((me, text)); // Err only when nobody listens
                }
            }
            message = rx.recv() => match message {
                Ok((from, _)) if from == me => {}
                Ok((from, text)) => stream.write_all(format!("{from}: {text}\n").as_bytes()).await?,
                Err(RecvError::Lagged(missed)) => {
                    stream.write_all(format!("({missed} messages missed)\n").as_bytes()).await?
                }
                Err(RecvError::Closed) => break,
                Err(RecvError::Cancelled(cancelled)) => return Err(cancelled.into()),
            }
        }
    }
    Ok(())
}

/// Accepts clients forever, one task each.
async fn serve(listener: TcpListener) -> io::Result<()> {
    let (tx, _) = broadcast::channel(64).expect("a capacity of 64");
    loop {
        let (stream, addr) = listener.accept().await?;
        let tx = tx.clone();
        corio::spawn(async move {
            match serve_client(stream, addr, tx).await {
                Err(e) if corio::Cancelled::find(&e).is_none() => eprintln!("{addr}: {e}"),
                _ => {} // done, or cancelled by the shutdown
            }
        })
        .detach();
    }
}

/// One demo client: waits for the welcome, says hello once everyone is in, and collects the other two greetings.
async fn demo_client(addr: SocketAddr, name: &str, everyone_in: Rc<Barrier>) -> io::Result<Vec<String>> {
    let stream = TcpStream::connect(addr).await?;
    let mut received = String::new();
    let mut buf = [0u8; 1024];
    while !received.contains('\n') {
        let n = stream.read(&mut buf).await?;
        received.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert_eq!(received, "welcome\n");
    received.clear();
    everyone_in.wait().await.map_err(io::Error::other)?; // all three are subscribed now
    stream.write_all(format!("hello from {name}\n").as_bytes()).await?;
    while received.matches('\n').count() < 2 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        received.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // Drop the sender's address: ports differ from run to run.
    let mut lines: Vec<String> = received.lines().map(|l| l.split(": ").nth(1).unwrap_or(l).to_string()).collect();
    lines.sort();
    Ok(lines)
}

#[corio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(addr) = std::env::args().nth(1) {
        let listener = TcpListener::bind(addr.as_str())?;
        println!("chat server on {}", listener.local_addr()?);
        return Ok(serve(listener).await?);
    }
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    corio::spawn(serve(listener)).detach(); // cancelled when main returns
    let everyone_in = Rc::new(Barrier::new(3));
    let clients: Vec<_> = ["alice", "bob", "carol"]
        .into_iter()
        .map(|name| {
            let everyone_in = everyone_in.clone();
            (name, corio::spawn(async move { demo_client(addr, name, everyone_in).await }))
        })
        .collect();
    for (name, client) in clients {
        let lines = corio::timeout(Duration::from_secs(10)).run(client).await??;
        println!("{name} heard: {}", lines?.join(", "));
    }
    Ok(())
}
