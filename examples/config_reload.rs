//! A configuration reloaded through a watch channel: a reloader task reads
//! a file every 50 ms and publishes the parsed config only when it changed
//! (`send_if_modified`); worker tasks use the latest config for each
//! request (`borrow`) and react to reloads (`changed`).
//!
//! ```sh
//! cargo run --release --example config_reload
//! ```
//!
//! The demo writes the file three times — a new greeting, the same content
//! again (no reload reaches the workers), then `stop` — and exits when the
//! workers have seen `stop`.

use corio::sync::watch;
use corio::time::interval;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
struct Config {
    greeting: String,
}

fn parse(text: &str) -> Option<Config> {
    let value = text.lines().find_map(|line| line.strip_prefix("greeting = "))?;
    Some(Config { greeting: value.trim().to_string() })
}

/// Re-reads `path` every 50 ms; a changed, valid config is published.
async fn reload(path: PathBuf, tx: watch::Sender<Config>) -> Result<(), corio::Cancelled> {
    let mut every = interval(Duration::from_millis(50)).expect("a non-zero period");
    loop {
        every.tick().await?;
        let Some(config) = std::fs::read_to_string(&path).ok().as_deref().and_then(parse) else {
            continue; // unreadable or invalid: keep the last good config
        };
        let reloaded = tx.send_if_modified(|current| {
            let changed = *current != config;
            if changed {
                *current = config;
            }
            changed
        });
        if reloaded {
            println!("reloader: new config {:?}", tx.borrow().greeting);
        }
    }
}

/// Serves "requests" with the current config until the config says `stop`.
async fn worker(id: u32, mut config: watch::Receiver<Config>) -> Result<u32, watch::error::RecvError> {
    let mut reloads = 0;
    loop {
        let greeting = config.borrow_and_update().greeting.clone();
        if greeting == "stop" {
            return Ok(reloads);
        }
        println!("worker {id}: {greeting}, world");
        config.changed().await?;
        reloads += 1;
    }
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[corio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("corio-config-reload-{}.conf", std::process::id()));
    write(&path, "greeting = hello\n")?;
    let initial = parse(&std::fs::read_to_string(&path)?).ok_or("invalid config")?;
    let (tx, rx) = watch::channel(initial);
    let reloader = corio::spawn(reload(path.clone(), tx));
    let workers: Vec<_> = (1..=2).map(|id| corio::spawn(worker(id, rx.clone()))).collect();
    drop(rx);

    let step = Duration::from_millis(200);
    corio::sleep(step).await?;
    write(&path, "greeting = bonjour\n")?;
    corio::sleep(step).await?;
    write(&path, "# the same greeting, reformatted\ngreeting = bonjour\n")?; // parses to the same config
    corio::sleep(step).await?;
    write(&path, "greeting = stop\n")?;
    for (id, w) in (1..).zip(workers) {
        println!("worker {id} stopped after {} reload(s)", w.await??);
    }
    reloader.cancel();
    let _ = reloader.await;
    std::fs::remove_file(&path)?;
    Ok(())
}
