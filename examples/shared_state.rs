//! Shared state behind a mutex: tasks on two event loops (threads) count
//! words into one `Arc<corio::sync::Mutex<HashMap<..>>>`, holding the lock
//! across an `.await`; a `RwLock` holds a setting many readers share.
//!
//! ```sh
//! cargo run --release --example shared_state
//! ```
//!
//! `corio::sync::Mutex::lock` is a checkpoint: it returns `Err(Cancelled)` if
//! the task is cancelled while it waits (hence the `?`), and the lock is
//! handed to waiters in the order they asked. For data touched without an
//! `.await` in between, `std::sync::Mutex` is the cheaper choice.

use corio::sync::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::Arc;

const TEXT: &str = "the quick brown fox jumps over the lazy dog the fox";

#[corio::main(loops = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let loops = corio::multi_loop::current_loops().expect("a multi-loop runtime");
    let counts: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let case = Arc::new(RwLock::new(false)); // count upper-cased?

    let mut tasks = Vec::new();
    for (i, word) in TEXT.split(' ').enumerate() {
        let (counts, case, word) = (counts.clone(), case.clone(), word.to_string());
        // Alternate the loops: the mutex is shared across threads.
        tasks.push(loops.spawn_on(i % loops.len(), async move {
            let upper = *case.read().await?;
            let word = if upper { word.to_uppercase() } else { word };
            let mut counts = counts.lock().await?;
            corio::yield_now().await?; // the lock stays held across the await
            *counts.entry(word).or_insert(0) += 1;
            Ok::<_, corio::Cancelled>(())
        })?);
    }
    for task in tasks {
        task.await??;
    }

    *case.write().await? = true;
    let late = counts.clone();
    let case2 = case.clone();
    loops
        .spawn_on(1, async move {
            let upper = *case2.read().await?;
            let word = if upper { "FOX".to_string() } else { "fox".to_string() };
            *late.lock().await?.entry(word).or_insert(0) += 1;
            Ok::<_, corio::Cancelled>(())
        })?
        .await??;

    let counts = counts.lock().await?;
    let mut sorted: Vec<_> = counts.iter().collect();
    sorted.sort();
    for (word, n) in sorted {
        println!("{word:>6}: {n}");
    }
    let total: u64 = counts.values().sum();
    println!("{total} words counted on {} loops", loops.len());
    Ok(())
}
