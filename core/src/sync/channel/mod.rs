//! Channels Rust users expect: [`oneshot`], [`mpsc`] (bounded and
//! unbounded), [`broadcast`] (every receiver sees every value) and
//! [`watch`] (the latest value). Closed channels are errors that give the
//! value back.
//!
//! ```
//! # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
//! use corio::sync::{mpsc, oneshot};
//!
//! corio::run(async {
//!     // A server task; each request carries the channel for its reply.
//!     let (requests, mut inbox) = mpsc::channel::<(u32, oneshot::Sender<u32>)>(8).unwrap();
//!     corio::spawn(async move {
//!         while let Ok(Some((n, reply))) = inbox.recv().await {
//!             let _ = reply.send(n * 2); // the asker may have gone: the value comes back
//!         }
//!     })
//!     .detach();
//!
//!     let (reply, answer) = oneshot::channel();
//!     requests.send((21, reply)).await.unwrap();
//!     assert_eq!(answer.await.unwrap(), 42);
//! })
//! .unwrap();
//! ```

pub mod broadcast;
pub mod mpsc;
pub mod oneshot;
pub mod watch;
