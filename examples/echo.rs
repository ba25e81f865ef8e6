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

use corio::net::{TcpListener, TcpStream};
use std::io;

async fn serve(stream: TcpStream) -> io::Result<u64> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut echoed = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(echoed);
        }
        stream.write_all(&buf[..n]).await?;
        echoed += n as u64;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7878".to_string());
    corio::run(async move {
        let listener = TcpListener::bind(addr.as_str())?;
        println!("echo server listening on {}", listener.local_addr()?);
        loop {
            let (stream, peer) = listener.accept().await?;
            println!("{peer} connected");
            corio::spawn(async move {
                match serve(stream).await {
                    Ok(bytes) => println!("{peer} disconnected after {bytes} bytes"),
                    Err(err) => println!("{peer} failed: {err}"),
                }
            })
            .detach();
        }
        #[allow(unreachable_code)]
        Ok::<_, io::Error>(())
    })??;
    Ok(())
}
