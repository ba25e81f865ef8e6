//! W14: context variables — W14a a get + set in a hot loop; W14b spawn + join with a 10-entry context (each task
//! copies its spawner's context, asyncio's rule). The peers have no contextvars (tokio's task-locals are scoped
//! values, not copied into spawned tasks), so these are corio's own figures; compare W14b with W2.

use super::rt;
use crate::harness::{Runtime, Workload};
use corio::ContextVar;
use std::time::{Duration, Instant};

pub fn workloads() -> Vec<Box<dyn Workload>> {
    vec![Box::new(GetSet), Box::new(SpawnWithContext)]
}

static COUNTER: ContextVar<u64> = ContextVar::with_default("counter", 0);

static VARS: [ContextVar<u64>; 10] = [
    ContextVar::new("v0"),
    ContextVar::new("v1"),
    ContextVar::new("v2"),
    ContextVar::new("v3"),
    ContextVar::new("v4"),
    ContextVar::new("v5"),
    ContextVar::new("v6"),
    ContextVar::new("v7"),
    ContextVar::new("v8"),
    ContextVar::new("v9"),
];

struct GetSet;

impl Workload for GetSet {
    fn id(&self) -> &'static str {
        "W14a"
    }

    fn description(&self) -> &'static str {
        "contextvar get + set in a hot loop (corio only)"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            100_000
        } else {
            1_000_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        Runtime::CORIO_ONLY
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        rt::corio_on(runtime, async move {
            let start = Instant::now();
            for _ in 0..ops {
                let v = COUNTER.get().unwrap();
                drop(COUNTER.set(v + 1));
            }
            start.elapsed()
        })
    }
}

struct SpawnWithContext;

impl Workload for SpawnWithContext {
    fn id(&self) -> &'static str {
        "W14b"
    }

    fn description(&self) -> &'static str {
        "spawn + join with a 10-entry context (corio only; compare W2)"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            10_000
        } else {
            100_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        Runtime::CORIO_ONLY
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        const BATCH: u64 = 10_000;
        let batch = BATCH.min(ops);
        let rounds = ops.div_ceil(batch);
        rt::corio_on(runtime, async move {
            for (i, var) in VARS.iter().enumerate() {
                drop(var.set(i as u64));
            }
            let start = Instant::now();
            for _ in 0..rounds {
                let handles: Vec<_> = (0..batch).map(|_| corio::spawn(async { VARS[9].get() })).collect();
                for h in handles {
                    assert_eq!(h.await.unwrap(), Some(9));
                }
            }
            start.elapsed()
        })
        .mul_f64(ops as f64 / (rounds * batch) as f64)
    }
}
