//! `#[corio::main]` and `#[corio::test]` as users write them. The macros'
//! compile errors are checked by the `compile_fail` doctests on
//! `corio::test` (src/lib.rs) and, message by message, by the unit tests in
//! macros/src/expand.rs.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

#[corio::test]
async fn a_test_runs_on_a_loop() {
    let task = corio::spawn(async { 40 + 2 });
    assert_eq!(task.await.unwrap(), 42);
    assert!(corio::get_running_loop().is_ok());
}

#[corio::test]
async fn a_test_may_return_a_result() -> Result<(), std::io::Error> {
    corio::yield_now().await.map_err(std::io::Error::other)?;
    Ok(())
}

#[corio::test]
#[should_panic(expected = "the body's own message")]
async fn a_panic_in_the_body_is_the_tests_panic() {
    panic!("the body's own message");
}

/// On a virtual clock an hour passes at once, and exactly.
#[corio::test(virtual_time)]
async fn virtual_time_makes_sleeps_instant_and_exact() {
    let start = corio::time();
    corio::sleep(Duration::from_secs(3600)).await.unwrap();
    assert_eq!(corio::time() - start, Duration::from_secs(3600));
}

/// The order in which eight ready tasks run.
async fn ready_order() -> Vec<usize> {
    let order = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let order = order.clone();
            corio::spawn(async move { order.borrow_mut().push(i) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let order = order.borrow().clone();
    order
}

/// `seed = 7` runs the ready queue in the order `SeededRandom::new(7)` picks
/// (checked against a loop built by hand, on another thread), not FIFO.
#[corio::test(virtual_time, seed = 7)]
async fn a_seed_fixes_a_random_order() {
    let here = ready_order().await;
    let reference = std::thread::spawn(|| {
        let lp = corio::builder()
            .clock(corio::clock::VirtualClock::new())
            .executor(corio::executor::SeededRandom::new(7))
            .build()
            .unwrap();
        lp.block_on(ready_order()).unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(here, reference);
    assert_ne!(here, (0..8).collect::<Vec<_>>(), "seed 7 shuffles eight tasks");
}

/// Without a seed the order is FIFO.
#[corio::test]
async fn without_a_seed_the_order_is_fifo() {
    assert_eq!(ready_order().await, (0..8).collect::<Vec<_>>());
}

/// `loops = 2`: the body runs on loop 0 of a multi-loop runtime and reaches
/// loop 1 through `current_loops`.
#[corio::test(loops = 2)]
async fn a_test_on_two_loops() {
    let loops = corio::multi_loop::current_loops().expect("inside a multi-loop runtime");
    assert_eq!(loops.len(), 2);
    assert_eq!(loops.current(), Some(0));
    let probe = loops.clone();
    let on = loops.spawn_on(1, async move { probe.current() }).unwrap().await.unwrap();
    assert_eq!(on, Some(1));
}

#[corio::test(multi_loop)]
async fn a_test_on_one_loop_per_core() {
    let loops = corio::multi_loop::current_loops().unwrap();
    assert_eq!(loops.len(), std::thread::available_parallelism().map_or(1, |n| n.get()));
}
