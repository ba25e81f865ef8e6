//! The workload registry: one file per workload family, each workload written once per runtime with that runtime's
//! own primitives (performance.md's ports of tokio's and async-executor's benches).

mod blocking;
mod context;
mod cross_loop;
mod fs;
mod multi_loop;
mod net;
mod sync;
mod tasks;
mod timers;
mod toolbox;

use crate::harness::{Runtime, Workload};

/// Every workload, in table order.
pub fn all() -> Vec<Box<dyn Workload>> {
    let mut all = tasks::workloads();
    all.extend(sync::workloads());
    all.extend(timers::workloads());
    all.extend(blocking::workloads());
    all.extend(net::workloads());
    all.extend(context::workloads());
    all.extend(multi_loop::workloads());
    all.extend(cross_loop::workloads());
    all.extend(toolbox::workloads());
    all.extend(fs::workloads());
    all.sort_by_key(|w| table_order(w.id()));
    all
}

/// The scaling rows: W2, W8 and W12 at 1k, 10k, 100k and 1M tasks/timers.
pub fn scaling() -> Vec<Box<dyn Workload>> {
    const SIZES: [u64; 4] = [1_000, 10_000, 100_000, 1_000_000];
    let mut rows: Vec<Box<dyn Workload>> = Vec::new();
    for n in SIZES {
        rows.push(AtSize::boxed(n, "spawn + join, n tasks at once, per task", Box::new(tasks::SpawnJoin { tasks: n })));
    }
    for n in SIZES {
        let w = Box::new(timers::TimerRegisterCancel { pending: n });
        rows.push(AtSize::boxed(n, "timer register + cancel, n timers pending, per timer", w));
    }
    for n in SIZES {
        let w = Box::new(timers::SleepingTasks { tasks: n });
        rows.push(AtSize::boxed(n, "n sleeping tasks: spawn, sleep, cancel, join, per task", w));
    }
    rows
}

/// A workload run at size `n`: its id says so (`W2@10k`), and one run is exactly one batch of `n`.
struct AtSize {
    id: &'static str,
    description: &'static str,
    n: u64,
    inner: Box<dyn Workload>,
}

impl AtSize {
    fn boxed(n: u64, description: &'static str, inner: Box<dyn Workload>) -> Box<dyn Workload> {
        let size = match n {
            n if n >= 1_000_000 => format!("{}M", n / 1_000_000),
            n => format!("{}k", n / 1_000),
        };
        // One string per row for the life of the process: the table's ids are `&'static str`.
        let id = Box::leak(format!("{}@{size}", inner.id()).into_boxed_str());
        Box::new(AtSize { id, description, n, inner })
    }
}

impl Workload for AtSize {
    fn id(&self) -> &'static str {
        self.id
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn ops(&self, _quick: bool) -> u64 {
        self.n
    }

    fn runtimes(&self) -> &'static [Runtime] {
        self.inner.runtimes()
    }

    fn run(&self, runtime: Runtime, ops: u64) -> std::time::Duration {
        self.inner.run(runtime, ops)
    }
}

/// `W2` < `W7` < `W11a` < `W15b` < `X1`: the W rows by number, then suffix; the cross-loop X rows after them.
fn table_order(id: &str) -> (bool, u32, String) {
    let digits: String = id.chars().skip(1).take_while(char::is_ascii_digit).collect();
    (id.starts_with('X'), digits.parse().unwrap_or(u32::MAX), id.to_string())
}

/// Each runtime's `block_on`, each building a fresh runtime (outside the measured time).
pub mod rt {
    use async_executor::LocalExecutor;
    use std::future::Future;
    use std::rc::Rc;

    /// corio's default loop (epoll).
    pub fn corio<T>(body: impl Future<Output = T>) -> T {
        let lp = corio::new_event_loop().expect("a corio loop");
        lp.block_on(body).expect("the corio loop ran the body")
    }

    /// corio on the io_uring reactor.
    pub fn corio_uring<T>(body: impl Future<Output = T>) -> T {
        let reactor = corio_backends::uring::UringReactor::new().expect("an io_uring (kernel 5.11 or later)");
        let lp = corio::runtime::EventLoop::new(reactor);
        lp.block_on(body).expect("the corio loop ran the body")
    }

    /// corio or corio-uring, by `runtime`: one body for both. corio-2L needs a body per loop, so the workloads that
    /// list it run it themselves.
    pub fn corio_on<T>(runtime: crate::harness::Runtime, body: impl Future<Output = T>) -> T {
        match runtime {
            crate::harness::Runtime::CorioUring => corio_uring(body),
            crate::harness::Runtime::CorioTwoLoops => unreachable!("one body cannot run on two loops"),
            _ => corio(body),
        }
    }

    /// tokio's current_thread runtime.
    pub fn tokio<T>(body: impl Future<Output = T>) -> T {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        rt.block_on(body)
    }

    /// tokio's multi_thread runtime with 2 workers; the body runs as a task on them, as a server's would.
    pub fn tokio_mt<T: Send + 'static>(body: impl Future<Output = T> + Send + 'static) -> T {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        rt.block_on(rt.spawn(body)).expect("the body did not panic")
    }

    /// tokio-ct or tokio-mt, by `runtime`: one body for both.
    pub fn tokio_on<T: Send + 'static>(
        runtime: crate::harness::Runtime,
        body: impl Future<Output = T> + Send + 'static,
    ) -> T {
        match runtime {
            crate::harness::Runtime::TokioMt => tokio_mt(body),
            _ => tokio(body),
        }
    }

    /// smol: a `LocalExecutor` driven by `async_io::block_on`; the body gets the executor to spawn on.
    pub fn smol<T, F: Future<Output = T>>(body: impl FnOnce(Rc<LocalExecutor<'static>>) -> F) -> T {
        let ex = Rc::new(LocalExecutor::new());
        async_io::block_on(ex.run(body(ex.clone())))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    /// Every workload runs to completion on every runtime it has a version for (no timing is checked:
    /// benchmarks are not tests).
    #[test]
    fn every_workload_runs_on_every_runtime() {
        for w in super::all() {
            for &runtime in w.runtimes() {
                let elapsed = w.run(runtime, 200);
                assert!(elapsed > Duration::ZERO, "{} on {}", w.id(), runtime.name());
            }
        }
    }

    #[test]
    fn table_order_is_numeric() {
        let mut ids = ["X1", "W15b", "W2", "X6", "W11a", "W7", "W11b"];
        ids.sort_by_key(|id| super::table_order(id));
        assert_eq!(ids, ["W2", "W7", "W11a", "W11b", "W15b", "X1", "X6"]);
    }
}
