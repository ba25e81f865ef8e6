//! What `corio::compat` costs: a 64-byte TCP ping-pong against an echo
//! thread, round trips per second from
//!
//! * `corio`: corio's own `TcpStream` in a corio task (the baseline);
//! * `corio+compat`: tokio's `TcpStream` inside `corio::compat::tokio` on a
//!   corio task — tokio's driver notices readiness on its helper thread and
//!   wakes the corio loop across threads (the hop being measured);
//! * `tokio-ct`: tokio's `TcpStream` on a tokio current_thread runtime.
//!
//! ```text
//! cargo run --release -p corio-bench --bin compat_roundtrip [ROUND_TRIPS] [REPS]
//! ```
//!
//! Repetitions alternate the three; the median per round trip is printed,
//! with its ratio to `corio`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// An echo server on its own thread (blocking std I/O), one connection at a time.
fn echo_thread() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream.set_nodelay(true).unwrap();
            let mut buf = [0u8; 64];
            while stream.read_exact(&mut buf).is_ok() {
                if stream.write_all(&buf).is_err() {
                    break;
                }
            }
        }
    });
    addr
}

fn corio_native(addr: SocketAddr, n: usize) -> Duration {
    corio::run(async move {
        let stream = corio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buf = [7u8; 64];
        let start = Instant::now();
        for _ in 0..n {
            stream.write_all(&buf).await.unwrap();
            let mut got = 0;
            while got < 64 {
                got += stream.read(&mut buf[got..]).await.unwrap();
            }
        }
        start.elapsed()
    })
    .unwrap()
}

async fn tokio_pingpong(addr: SocketAddr, n: usize) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = [7u8; 64];
    let start = Instant::now();
    for _ in 0..n {
        stream.write_all(&buf).await.unwrap();
        stream.read_exact(&mut buf).await.unwrap();
    }
    start.elapsed()
}

fn corio_compat(addr: SocketAddr, n: usize) -> Duration {
    corio::run(corio::compat::tokio(tokio_pingpong(addr, n))).unwrap()
}

fn tokio_ct(addr: SocketAddr, n: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(tokio_pingpong(addr, n))
}

/// One way of running the ping-pong: the time it took.
type Client = fn(SocketAddr, usize) -> Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let addr = echo_thread();
    let runs: [(&str, Client); 3] = [("corio", corio_native), ("corio+compat", corio_compat), ("tokio-ct", tokio_ct)];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for rep in 0..reps {
        for k in 0..runs.len() {
            let (_, run) = runs[(k + rep) % runs.len()];
            let elapsed = run(addr, n);
            times[(k + rep) % runs.len()].push(elapsed.as_secs_f64() * 1e6 / n as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let medians: Vec<f64> = times.iter_mut().map(median).collect();
    println!("| client | µs per 64-byte round trip (median of {reps} × {n}) | ratio to corio |");
    println!("|---|---|---|");
    for (k, (name, _)) in runs.iter().enumerate() {
        println!("| {name} | {:.2} | {:.2} |", medians[k], medians[k] / medians[0]);
    }
}
