use corio_core::clock::VirtualClock;
use corio_core::reactor::ParkReactor;
use corio_core::runtime::EventLoop;
use corio_core::task::Cancelled;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn t02_like() {
    let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
    let out = Rc::new(RefCell::new(Vec::<String>::new()));
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio_core::spawn(async move {
            match corio_core::sleep(Duration::from_secs(10)).await {
                Err(c) => {
                    let n = corio_core::current_task().unwrap().cancelling();
                    o2.borrow_mut().push(format!("caught:{}:cancelling={}", c.message().unwrap_or(""), n));
                    corio_core::sleep(Duration::ZERO).await?;
                    o2.borrow_mut().push("cleanup-done".into());
                    Err(c)
                }
                Ok(()) => Ok::<(), Cancelled>(()),
            }
        });
        let o3 = o.clone();
        t.add_done_callback(move |info| {
            o3.borrow_mut().push(format!("done-cb cancelled={}", if info.cancelled() { "True" } else { "False" }))
        })
        .unwrap();
        corio_core::sleep(Duration::ZERO).await.unwrap();
        t.cancel_with("stop");
        o.borrow_mut().push("after-cancel-call".into());
        match t.await {
            Err(e) if e.is_cancelled() => o.borrow_mut().push("awaiter-saw-cancel".into()),
            other => o.borrow_mut().push(format!("unexpected {other:?}")),
        }
        corio_core::sleep(Duration::ZERO).await.unwrap();
    })
    .unwrap();
    assert_eq!(
        out.borrow().join(" | "),
        "after-cancel-call | caught:stop:cancelling=1 | cleanup-done | done-cb cancelled=True | awaiter-saw-cancel"
    );
}
