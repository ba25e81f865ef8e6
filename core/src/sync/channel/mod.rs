//! Channels Rust users expect: [`oneshot`], [`mpsc`] (bounded and
//! unbounded), [`broadcast`] (every receiver sees every value) and
//! [`watch`] (the latest value). Closed channels are errors that give the
//! value back.

pub mod broadcast;
pub mod mpsc;
pub mod oneshot;
pub mod watch;
