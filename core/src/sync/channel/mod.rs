//! Channels Rust users expect: [`oneshot`] and [`mpsc`] (bounded and
//! unbounded). Closed channels are errors that give the value back.

pub mod mpsc;
pub mod oneshot;
