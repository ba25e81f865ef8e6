//! W10: a blocking-pool round trip, serial — submit a trivial closure, await its result, repeat.

use super::rt;
use crate::harness::{Runtime, Workload};
use std::time::{Duration, Instant};

pub fn workloads() -> Vec<Box<dyn Workload>> {
    vec![Box::new(BlockingRoundTrip)]
}

struct BlockingRoundTrip;

impl Workload for BlockingRoundTrip {
    fn id(&self) -> &'static str {
        "W10"
    }

    fn description(&self) -> &'static str {
        "blocking-pool round trip, serial"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            2_000
        } else {
            20_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        Runtime::IO
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let start = Instant::now();
                for i in 0..ops {
                    std::hint::black_box(corio::spawn_blocking(move || i).await.unwrap());
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let start = Instant::now();
                for i in 0..ops {
                    std::hint::black_box(tokio::task::spawn_blocking(move || i).await.unwrap());
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|_| async move {
                let start = Instant::now();
                for i in 0..ops {
                    std::hint::black_box(blocking::unblock(move || i).await);
                }
                start.elapsed()
            }),
        }
    }
}
