//! The workload registry: one file per workload family, each workload written once per runtime with that runtime's
//! own primitives (performance.md's ports of tokio's and async-executor's benches).

mod multi_loop;
mod sync;

use crate::harness::Workload;

/// Every workload, in table order.
pub fn all() -> Vec<Box<dyn Workload>> {
    sync::workloads().into_iter().chain(multi_loop::workloads()).collect()
}

/// The three runtimes' `block_on`, each building a fresh runtime (outside the measured time).
pub mod rt {
    use async_executor::LocalExecutor;
    use std::future::Future;
    use std::rc::Rc;

    /// corio's default loop (epoll).
    pub fn corio<T>(body: impl Future<Output = T>) -> T {
        let lp = corio::new_event_loop().expect("a corio loop");
        lp.block_on(body).expect("the corio loop ran the body")
    }

    /// tokio's current_thread runtime.
    pub fn tokio<T>(body: impl Future<Output = T>) -> T {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("a tokio runtime");
        rt.block_on(body)
    }

    /// smol: a `LocalExecutor` driven by `async_io::block_on`; the body gets the executor to spawn on.
    pub fn smol<T, F: Future<Output = T>>(body: impl FnOnce(Rc<LocalExecutor<'static>>) -> F) -> T {
        let ex = Rc::new(LocalExecutor::new());
        async_io::block_on(ex.run(body(ex.clone())))
    }
}
