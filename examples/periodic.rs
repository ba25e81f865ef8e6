//! A periodic task: a heartbeat every 100 ms with `corio::time::interval`,
//! stopped after a deadline through `corio::select!`.
//!
//! ```sh
//! cargo run --release --example periodic
//! ```
//!
//! The heartbeat's work takes 30 ms of every 100 ms; once it takes 250 ms:
//! the tick due at 300 ms fires late, and with `MissedTickBehavior::Skip`
//! the one at 400 ms is skipped rather than fired in a burst. After one
//! second a shutdown notification ends the loop; the tick in flight is
//! dropped (interval ticks are cancel-safe).

use corio::sync::Notify;
use corio::time::{interval, MissedTickBehavior};
use std::rc::Rc;
use std::time::Duration;

#[corio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shutdown = Rc::new(Notify::new());
    let stop = shutdown.clone();
    corio::spawn(async move {
        corio::sleep(Duration::from_secs(1)).await?;
        stop.notify_one();
        Ok::<_, corio::Cancelled>(())
    })
    .detach();

    let start = corio::time();
    let mut heartbeat = interval(Duration::from_millis(100))?;
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut beats = 0;
    loop {
        corio::select! {
            tick = heartbeat.tick() => {
                let at = tick?.duration_since(start).as_millis() / 10 * 10;
                beats += 1;
                let work = if beats == 3 { 250 } else { 30 };
                println!("beat {beats} scheduled at {at:>4} ms, working {work} ms");
                corio::sleep(Duration::from_millis(work)).await?;
            }
            stopped = shutdown.notified() => {
                stopped?;
                println!("shutdown after {beats} beats");
                break;
            }
        }
    }
    Ok(())
}
