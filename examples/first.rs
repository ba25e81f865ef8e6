//! The README's first program: a task, three fetches at once, a deadline.
//!
//! ```sh
//! cargo run --example first
//! ```

use std::time::Duration;

async fn fetch(id: u64) -> Result<String, corio::Cancelled> {
    corio::sleep(Duration::from_millis(10 * id)).await?; // a checkpoint: a cancel lands here
    Ok(format!("page {id}"))
}

#[corio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let background = corio::spawn(fetch(5)); // runs while main goes on

    let pages = corio::gather((1..=3).map(fetch)).await?; // at once; argument order
    println!("{pages:?}");

    match corio::timeout(Duration::from_millis(100)).run(fetch(60)).await {
        Ok(page) => println!("in time: {}", page?),
        Err(elapsed) => println!("gave up: {elapsed}"), // fetch(60) was cancelled at its sleep
    }

    println!("{}", background.await??);
    Ok(())
}
