//! Random trees of tasks, task groups and timeouts vs an executable
//! reference model of the rules (C1–C5, G1–G7, TO1–TO4).
//!
//! A tree is a task whose body is one of:
//!
//! * a **leaf**: sleep until an absolute time, then end `Ok`, `Err` (a
//!   failure) or panic; when a cancel arrives first it propagates it, turns
//!   it into a failure, swallows it and keeps sleeping, or swallows the first
//!   and propagates the next;
//! * a **task group**: child tasks (each a tree, possibly cancelled by the
//!   harness at a given time) and a body (run inline);
//! * a **timeout** scope with an absolute deadline around a body.
//!
//! Every leaf time, deadline and harness cancel falls at its own virtual
//! time, so the outcome of each task is a function of the tree — whatever
//! order the seeded-random executor runs each iteration in. The tree runs on
//! `corio_backends::mock::Simulation` (mock reactor, virtual clock,
//! `SeededRandom`), and each task's end — when, and how (value, cancelled,
//! panicked, or failed with which error) — must match the reference.
//!
//! The reference (`Model`) is a discrete-event simulation of the rules
//! themselves, written from `docs/semantics.md` and CPython 3.13's
//! `taskgroups.py`/`timeouts.py`, not from corio's code: tasks with a cancel
//! count, a pending flag and a delivery counter; a stack of frames (timeout,
//! group, leaf) per task; cancels delivered at once to the waiting frame;
//! scopes that take their own requests back on exit.
//!
//! A failing case shrinks to a minimal tree; the executor's seed is part of
//! the case (proptest shrinks it too), so the persisted case replays the
//! same interleaving. `PROPTEST_CASES` sets the number of cases (default
//! 1024 here). Planted bugs caught: `timeout_converts_foreign_cancel`,
//! `group_cancelled_child_fails` (see `verify/mutants.sh`).

use corio_backends::mock::Simulation;
use corio_core::structured::{task_group, timeout_at, GroupError};
use corio_core::task::{AnyTask, Cancelled};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

// ----- trees ------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Ok,
    Fail,
    Panic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnCancel {
    /// `?`: the task (or scope) ends cancelled.
    Propagate,
    /// `except CancelledError: raise ValueError`: a failure.
    Fail,
    /// `except CancelledError: pass`, and keep sleeping (every time).
    Swallow,
    /// Swallow the first cancel, propagate the next.
    SwallowOnce,
}

#[derive(Debug, Clone)]
enum Body {
    Leaf { id: usize, at: u64, end: End, on_cancel: OnCancel },
    Group { id: usize, children: Vec<Node>, body: Box<Body> },
    Timeout { id: usize, deadline: u64, body: Box<Body> },
}

/// A task: a body, and maybe a cancel from the harness at a time.
#[derive(Debug, Clone)]
struct Node {
    id: usize,
    body: Body,
    cancel_at: Option<u64>,
}

/// Time slots are generated as ranks and then numbered: every slot gets its
/// own multiple of 10 ms, in rank order (ties by position), so no two events
/// share a virtual time however the tree shrinks.
fn number(node: &mut Node) {
    fn slots<'a>(node: &'a mut Node, out: &mut Vec<&'a mut u64>, ids: &mut usize) {
        node.id = *ids;
        *ids += 1;
        if let Some(at) = node.cancel_at.as_mut() {
            out.push(at);
        }
        body_slots(&mut node.body, out, ids);
    }
    fn body_slots<'a>(body: &'a mut Body, out: &mut Vec<&'a mut u64>, ids: &mut usize) {
        match body {
            Body::Leaf { id, at, .. } => {
                *id = *ids;
                *ids += 1;
                out.push(at);
            }
            Body::Group { id, children, body } => {
                *id = *ids;
                *ids += 1;
                for child in children {
                    slots(child, out, ids);
                }
                body_slots(body, out, ids);
            }
            Body::Timeout { id, deadline, body } => {
                *id = *ids;
                *ids += 1;
                out.push(deadline);
                body_slots(body, out, ids);
            }
        }
    }
    let mut out = Vec::new();
    let mut ids = 0;
    slots(node, &mut out, &mut ids);
    let mut order: Vec<(u64, usize)> = out.iter().enumerate().map(|(i, rank)| (**rank, i)).collect();
    order.sort();
    for (time, (_, slot)) in order.into_iter().enumerate() {
        *out[slot] = (time as u64 + 1) * 10;
    }
}

fn leaf() -> impl Strategy<Value = Body> {
    let end = prop_oneof![4 => Just(End::Ok), 3 => Just(End::Fail), 1 => Just(End::Panic)];
    let on_cancel = prop_oneof![
        4 => Just(OnCancel::Propagate),
        2 => Just(OnCancel::Fail),
        1 => Just(OnCancel::Swallow),
        1 => Just(OnCancel::SwallowOnce),
    ];
    (any::<u16>(), end, on_cancel).prop_map(|(at, end, on_cancel)| Body::Leaf { id: 0, at: at.into(), end, on_cancel })
}

fn node_of(body: impl Strategy<Value = Body>) -> impl Strategy<Value = Node> {
    (body, prop::option::weighted(0.25, any::<u16>())).prop_map(|(body, cancel_at)| Node {
        id: 0,
        body,
        cancel_at: cancel_at.map(u64::from),
    })
}

fn body() -> impl Strategy<Value = Body> {
    leaf().prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            3 => (prop::collection::vec(node_of(inner.clone()), 0..4), inner.clone())
                .prop_map(|(children, body)| Body::Group { id: 0, children, body: Box::new(body) }),
            2 => (any::<u16>(), inner).prop_map(|(deadline, body)| Body::Timeout {
                id: 0,
                deadline: deadline.into(),
                body: Box::new(body),
            }),
        ]
    })
}

fn tree() -> impl Strategy<Value = Node> {
    node_of(body()).prop_map(|mut node| {
        number(&mut node);
        node
    })
}

// ----- outcomes ---------------------------------------------------------------

/// An error's shape, comparable across runs: groups hold their failures as a
/// sorted multiset (failures that end in the same iteration may be seen in
/// either order under a seeded executor).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    Fail(usize),
    Elapsed(usize),
    Group(Vec<Shape>),
    /// A cancellation that is not the task's own (never expected).
    ForeignCancel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Value,
    Cancelled,
    Panicked,
    Failed(Shape),
}

/// Every task's end: node id -> (virtual ms, outcome).
type Ends = BTreeMap<usize, (u64, Outcome)>;

// ----- the reference model ----------------------------------------------------

/// What a frame hands to the one below it.
#[derive(Debug, Clone)]
enum Ret {
    Ok,
    /// A cancellation delivered to the task, by delivery number.
    Cancelled(u64),
    Err(Shape),
    Panic,
}

#[derive(Debug)]
enum Frame {
    Leaf { id: usize, end: End, on_cancel: OnCancel, swallowed: bool },
    Timeout { id: usize, expiring: bool, entry_count: u32, mark: u64 },
    Group(GroupFrame),
}

#[derive(Debug)]
struct GroupFrame {
    id: usize,
    exiting: bool,
    /// Waiting in the exit for children (asyncio's `await _on_completed_fut`).
    waited: bool,
    children: Vec<usize>,
    aborting: bool,
    parent_cancel_requested: bool,
    errors: Vec<Shape>,
    panic: bool,
    propagate: Option<u64>,
    body_error: Option<Shape>,
    mark: u64,
}

#[derive(Debug)]
struct ModelTask {
    node: usize,
    count: u32,
    pending: bool,
    deliveries: u64,
    frames: Vec<Frame>,
    done: bool,
    /// (parent task, group id) for a group's child.
    parent: Option<(usize, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timed {
    LeafWake { task: usize, leaf: usize },
    Expire { task: usize, scope: usize },
    HarnessCancel { task: usize },
}

#[derive(Debug)]
enum Action {
    Deliver(usize),
    ChildDone { parent: usize, group: usize, child: usize, outcome: Outcome },
    ResumeGroup { task: usize, group: usize },
}

struct Model {
    now: u64,
    tasks: Vec<ModelTask>,
    timed: BinaryHeap<Reverse<(u64, Timed)>>,
    actions: VecDeque<Action>,
    ends: Ends,
}

impl Model {
    fn run(tree: &Node) -> Ends {
        let mut model =
            Model { now: 0, tasks: Vec::new(), timed: BinaryHeap::new(), actions: VecDeque::new(), ends: Ends::new() };
        model.spawn(tree, None);
        model.settle();
        while let Some(Reverse((time, event))) = model.timed.pop() {
            model.now = time;
            match event {
                Timed::LeafWake { task, leaf } => model.leaf_wake(task, leaf),
                Timed::Expire { task, scope } => model.expire(task, scope),
                Timed::HarnessCancel { task } => model.request_cancel(task),
            }
            model.settle();
        }
        assert!(model.tasks.iter().all(|t| t.done), "the reference left a task running: {:?}", model.tasks);
        model.ends
    }

    fn settle(&mut self) {
        while let Some(action) = self.actions.pop_front() {
            match action {
                Action::Deliver(task) => self.deliver(task),
                Action::ChildDone { parent, group, child, outcome } => self.child_done(parent, group, child, outcome),
                Action::ResumeGroup { task, group } => self.resume_group(task, group),
            }
        }
    }

    fn spawn(&mut self, node: &Node, parent: Option<(usize, usize)>) -> usize {
        let task = self.tasks.len();
        self.tasks.push(ModelTask {
            node: node.id,
            count: 0,
            pending: false,
            deliveries: 0,
            frames: Vec::new(),
            done: false,
            parent,
        });
        if let Some(at) = node.cancel_at {
            self.timed.push(Reverse((at, Timed::HarnessCancel { task })));
        }
        self.start(task, &node.body);
        task
    }

    /// Pushes the frames of `body` (its first step; every wait is in the future).
    fn start(&mut self, task: usize, body: &Body) {
        match body {
            Body::Leaf { id, at, end, on_cancel } => {
                self.tasks[task].frames.push(Frame::Leaf {
                    id: *id,
                    end: *end,
                    on_cancel: *on_cancel,
                    swallowed: false,
                });
                self.timed.push(Reverse((*at, Timed::LeafWake { task, leaf: *id })));
            }
            Body::Timeout { id, deadline, body } => {
                let t = &mut self.tasks[task];
                t.frames.push(Frame::Timeout { id: *id, expiring: false, entry_count: t.count, mark: t.deliveries });
                self.timed.push(Reverse((*deadline, Timed::Expire { task, scope: *id })));
                self.start(task, body);
            }
            Body::Group { id, children, body } => {
                let mark = self.tasks[task].deliveries;
                self.tasks[task].frames.push(Frame::Group(GroupFrame {
                    id: *id,
                    exiting: false,
                    waited: false,
                    children: Vec::new(),
                    aborting: false,
                    parent_cancel_requested: false,
                    errors: Vec::new(),
                    panic: false,
                    propagate: None,
                    body_error: None,
                    mark,
                }));
                for child in children {
                    let c = self.spawn(child, Some((task, *id)));
                    self.group_mut(task, *id).children.push(c);
                }
                self.start(task, body);
            }
        }
    }

    fn group_mut(&mut self, task: usize, id: usize) -> &mut GroupFrame {
        self.tasks[task]
            .frames
            .iter_mut()
            .find_map(|f| match f {
                Frame::Group(g) if g.id == id => Some(g),
                _ => None,
            })
            .expect("the group is on its task's stack while it has children")
    }

    fn top_group(&mut self, task: usize) -> &mut GroupFrame {
        match self.tasks[task].frames.last_mut() {
            Some(Frame::Group(g)) => g,
            other => panic!("expected a group on top, found {other:?}"),
        }
    }

    /// C1/C2: one more request; delivered at once to a waiting task.
    fn request_cancel(&mut self, task: usize) {
        let t = &mut self.tasks[task];
        if t.done {
            return;
        }
        t.count += 1;
        t.pending = true;
        self.actions.push_back(Action::Deliver(task));
    }

    /// C2: at zero a request not yet delivered is withdrawn.
    fn uncancel(&mut self, task: usize) -> u32 {
        let t = &mut self.tasks[task];
        t.count = t.count.saturating_sub(1);
        if t.count == 0 {
            t.pending = false;
        }
        t.count
    }

    /// C3: one delivery, to the frame the task waits in.
    fn deliver(&mut self, task: usize) {
        let t = &mut self.tasks[task];
        if t.done || !t.pending {
            return;
        }
        t.pending = false;
        let seq = t.deliveries;
        t.deliveries += 1;
        match t.frames.last_mut() {
            Some(Frame::Leaf { id, on_cancel, swallowed, .. }) => match on_cancel {
                OnCancel::Propagate => self.complete(task, Ret::Cancelled(seq)),
                OnCancel::Fail => {
                    let id = *id;
                    self.complete(task, Ret::Err(Shape::Fail(id)))
                }
                OnCancel::Swallow => {}
                OnCancel::SwallowOnce if !*swallowed => *swallowed = true,
                OnCancel::SwallowOnce => self.complete(task, Ret::Cancelled(seq)),
            },
            Some(Frame::Group(group)) => {
                debug_assert!(group.exiting);
                if !group.aborting {
                    group.propagate = Some(seq); // cancelled from outside
                    let id = group.id;
                    self.abort(task, id);
                }
                let id = self.top_group(task).id;
                self.resume_group(task, id);
            }
            other => panic!("a cancel delivered to {other:?}"),
        }
    }

    fn leaf_wake(&mut self, task: usize, leaf: usize) {
        if self.tasks[task].done {
            return;
        }
        if let Some(Frame::Leaf { id, end, .. }) = self.tasks[task].frames.last() {
            if *id == leaf {
                let ret = match end {
                    End::Ok => Ret::Ok,
                    End::Fail => Ret::Err(Shape::Fail(leaf)),
                    End::Panic => Ret::Panic,
                };
                self.complete(task, ret);
            }
        }
    }

    /// TO1: the scope's timer cancels the task once.
    fn expire(&mut self, task: usize, scope: usize) {
        if self.tasks[task].done {
            return;
        }
        let found = self.tasks[task].frames.iter_mut().any(|f| match f {
            Frame::Timeout { id, expiring, .. } if *id == scope => {
                *expiring = true;
                true
            }
            _ => false,
        });
        if found {
            self.request_cancel(task);
        }
    }

    /// The top frame produced `ret`: remove it and hand `ret` down.
    fn complete(&mut self, task: usize, mut ret: Ret) {
        self.tasks[task].frames.pop();
        loop {
            match self.tasks[task].frames.last() {
                None => return self.task_done(task, ret),
                Some(Frame::Leaf { .. }) => unreachable!("a leaf is always on top"),
                Some(Frame::Timeout { .. }) => {
                    ret = self.timeout_exit(task, ret);
                    self.tasks[task].frames.pop();
                }
                Some(Frame::Group(_)) => {
                    self.group_body_returned(task, ret);
                    match self.group_exit(task) {
                        Some(r) => {
                            ret = r;
                            self.tasks[task].frames.pop();
                        }
                        None => return, // waits for children
                    }
                }
            }
        }
    }

    /// TO1–TO3: take the scope's request back; convert only its own cancel.
    fn timeout_exit(&mut self, task: usize, ret: Ret) -> Ret {
        let Some(Frame::Timeout { id, expiring, entry_count, mark }) = self.tasks[task].frames.last() else {
            unreachable!()
        };
        let (id, expiring, entry_count, mark) = (*id, *expiring, *entry_count, *mark);
        if !expiring {
            return ret;
        }
        let remaining = self.uncancel(task);
        match ret {
            Ret::Cancelled(seq) if remaining <= entry_count && seq >= mark => Ret::Err(Shape::Elapsed(id)),
            other => other,
        }
    }

    /// asyncio's `__aexit__` entry.
    fn group_body_returned(&mut self, task: usize, ret: Ret) {
        let group = self.top_group(task);
        group.exiting = true;
        match ret {
            Ret::Ok => return,
            Ret::Cancelled(seq) if seq >= group.mark => group.propagate = Some(seq),
            Ret::Cancelled(_) => group.body_error = Some(Shape::ForeignCancel),
            Ret::Err(shape) => group.body_error = Some(shape),
            Ret::Panic => group.panic = true,
        }
        if !group.aborting {
            let id = group.id;
            self.abort(task, id);
        }
    }

    /// G2: cancel every child still running.
    fn abort(&mut self, task: usize, id: usize) {
        let group = self.group_mut(task, id);
        group.aborting = true;
        let children = group.children.clone();
        for child in children {
            self.request_cancel(child);
        }
    }

    /// G1, G4, G5: wait for the children (a checkpoint), then the result.
    fn group_exit(&mut self, task: usize) -> Option<Ret> {
        loop {
            let pending = self.tasks[task].pending;
            let group = self.top_group(task);
            if !group.children.is_empty() || group.waited || group.parent_cancel_requested {
                group.waited = false;
                if pending {
                    let t = &mut self.tasks[task];
                    t.pending = false;
                    let seq = t.deliveries;
                    t.deliveries += 1;
                    let group = self.top_group(task);
                    if !group.aborting {
                        group.propagate = Some(seq);
                        let id = group.id;
                        self.abort(task, id);
                    }
                    continue;
                }
            }
            let group = self.top_group(task);
            if group.children.is_empty() {
                break;
            }
            group.waited = true;
            return None;
        }
        let group = self.top_group(task);
        let (pcr, mut propagate) = (group.parent_cancel_requested, group.propagate.take());
        if pcr && self.uncancel(task) == 0 {
            propagate = None;
        }
        let group = self.top_group(task);
        if group.panic {
            return Some(Ret::Panic); // G7
        }
        let mut errors = std::mem::take(&mut group.errors);
        if let Some(seq) = propagate {
            if errors.is_empty() {
                return Some(Ret::Cancelled(seq)); // G4
            }
        }
        errors.extend(group.body_error.take());
        if errors.is_empty() {
            return Some(Ret::Ok);
        }
        if self.tasks[task].count > 0 {
            self.tasks[task].pending = true; // G5: uncancel(); cancel()
        }
        errors.sort();
        Some(Ret::Err(Shape::Group(errors)))
    }

    fn resume_group(&mut self, task: usize, id: usize) {
        if self.tasks[task].done {
            return;
        }
        match self.tasks[task].frames.last() {
            Some(Frame::Group(g)) if g.id == id && g.exiting => {}
            _ => return,
        }
        if let Some(ret) = self.group_exit(task) {
            self.complete(task, ret);
        }
    }

    fn task_done(&mut self, task: usize, ret: Ret) {
        let outcome = match ret {
            Ret::Ok => Outcome::Value,
            Ret::Cancelled(_) => Outcome::Cancelled,
            Ret::Err(shape) => Outcome::Failed(shape),
            Ret::Panic => Outcome::Panicked,
        };
        let t = &mut self.tasks[task];
        t.done = true;
        t.pending = false;
        self.ends.insert(t.node, (self.now, outcome.clone()));
        if let Some((parent, group)) = t.parent {
            self.actions.push_back(Action::ChildDone { parent, group, child: task, outcome });
        }
    }

    /// asyncio's `_on_task_done`.
    fn child_done(&mut self, parent: usize, id: usize, child: usize, outcome: Outcome) {
        let group = self.group_mut(parent, id);
        group.children.retain(|&c| c != child);
        if group.children.is_empty() && group.waited {
            self.actions.push_back(Action::ResumeGroup { task: parent, group: id });
        }
        let group = self.group_mut(parent, id);
        match outcome {
            Outcome::Value | Outcome::Cancelled => return,
            Outcome::Failed(shape) => group.errors.push(shape),
            Outcome::Panicked => group.panic = true,
        }
        if self.tasks[parent].done {
            return;
        }
        let group = self.group_mut(parent, id);
        if !group.aborting && !group.parent_cancel_requested {
            group.parent_cancel_requested = true;
            self.abort(parent, id);
            self.request_cancel(parent);
        }
    }
}

// ----- the tree on corio --------------------------------------------------------

/// The error type of every body: corio's outcome of each construct, kept
/// close to the reference's `Ret`.
#[derive(Debug)]
enum TreeError {
    Cancelled(#[allow(dead_code)] Cancelled),
    Fail(usize),
    Elapsed(usize),
    Group(Vec<TreeError>),
}

impl From<Cancelled> for TreeError {
    fn from(c: Cancelled) -> Self {
        TreeError::Cancelled(c)
    }
}

fn shape(err: &TreeError) -> Shape {
    match err {
        TreeError::Fail(id) => Shape::Fail(*id),
        TreeError::Elapsed(id) => Shape::Elapsed(*id),
        TreeError::Group(errors) => {
            let mut shapes: Vec<Shape> = errors.iter().map(shape).collect();
            shapes.sort();
            Shape::Group(shapes)
        }
        TreeError::Cancelled(_) => Shape::ForeignCancel,
    }
}

/// What the run records: each task's end, and each task's failure as its
/// body returned it (the task's `TaskInfo` says whether it was cancelled
/// or panicked instead).
#[derive(Default)]
struct Record {
    ends: BTreeMap<usize, (u64, bool, bool)>,
    /// Task ids in the order their done-callbacks ran.
    order: Vec<usize>,
    failures: BTreeMap<usize, Shape>,
    tasks: BTreeMap<usize, AnyTask>,
}

type Shared = Rc<RefCell<Record>>;

fn ms_since(start: std::time::Instant) -> u64 {
    (corio_core::time() - start).as_millis() as u64
}

fn run_body(
    body: Body,
    rec: Shared,
    start: std::time::Instant,
) -> Pin<Box<dyn Future<Output = Result<(), TreeError>>>> {
    Box::pin(async move {
        match body {
            Body::Leaf { id, at, end, on_cancel } => {
                let deadline = start + Duration::from_millis(at);
                let mut swallowed = false;
                loop {
                    match corio_core::sleep_until(deadline).await {
                        Ok(()) => break,
                        Err(cancelled) => match on_cancel {
                            OnCancel::Propagate => return Err(cancelled.into()),
                            OnCancel::Fail => return Err(TreeError::Fail(id)),
                            OnCancel::Swallow => {}
                            OnCancel::SwallowOnce if !swallowed => swallowed = true,
                            OnCancel::SwallowOnce => return Err(cancelled.into()),
                        },
                    }
                }
                match end {
                    End::Ok => Ok(()),
                    End::Fail => Err(TreeError::Fail(id)),
                    End::Panic => panic!("leaf {id} panics"),
                }
            }
            Body::Timeout { id, deadline, body } => {
                match timeout_at(start + Duration::from_millis(deadline)).run(run_body(*body, rec, start)).await {
                    Ok(result) => result,
                    Err(_elapsed) => Err(TreeError::Elapsed(id)),
                }
            }
            Body::Group { children, body, .. } => {
                let result = task_group(|tg| async move {
                    for child in children {
                        let id = child.id;
                        let handle = tg.spawn(run_node(child, rec.clone(), start)).expect("an open group");
                        track(&rec, id, &handle, start);
                    }
                    run_body(*body, rec, start).await
                })
                .await;
                result.map_err(|err| match err {
                    GroupError::Cancelled(c) => TreeError::Cancelled(c),
                    GroupError::Failed(group) => {
                        TreeError::Group(group.into_failures().into_iter().map(|f| f.error).collect())
                    }
                })
            }
        }
    })
}

/// A task's body: the node's body, its failure recorded as returned.
async fn run_node(node: Node, rec: Shared, start: std::time::Instant) -> Result<(), TreeError> {
    let result = run_body(node.body, rec.clone(), start).await;
    if let Err(err) = &result {
        rec.borrow_mut().failures.insert(node.id, shape(err));
    }
    result
}

/// Records a task's end (time, cancelled, panicked), and schedules the
/// harness's cancel of it.
fn track(rec: &Shared, id: usize, task: &AnyTask, start: std::time::Instant) {
    let r = rec.clone();
    task.add_done_callback(move |info| {
        let mut rec = r.borrow_mut();
        rec.ends.insert(id, (ms_since(start), info.cancelled(), info.panicked));
        rec.order.push(id);
    })
    .unwrap();
    rec.borrow_mut().tasks.insert(id, task.clone());
}

fn run_on_corio(tree: &Node, seed: u64) -> Ends {
    run_traced(tree, seed).0
}

/// Runs the tree; its tasks' ends, and the order they ended in.
fn run_traced(tree: &Node, seed: u64) -> (Ends, Vec<usize>) {
    let lp = Simulation::new(seed).build();
    lp.set_exception_handler(|_| {}); // a second panic in a group is reported, not resumed
    let rec: Shared = Rc::default();
    let r = rec.clone();
    let root = tree.clone();
    let cancels = cancels(tree);
    lp.block_on(async move {
        let start = corio_core::time();
        let id = root.id;
        let task = corio_core::spawn(run_node(root, r.clone(), start));
        track(&r, id, &task, start);
        for (node, at) in cancels {
            let r = r.clone();
            corio_core::call_at(start + Duration::from_millis(at), move || {
                if let Some(task) = r.borrow().tasks.get(&node) {
                    task.cancel();
                }
            });
        }
        let _ = task.await;
        // The root's done-callback runs in the next iteration.
        corio_core::yield_now().await.unwrap();
    })
    .expect("the simulation ran to the end (no deadlock)");
    let rec = rec.borrow();
    let ends = rec
        .ends
        .iter()
        .map(|(&id, &(ms, cancelled, panicked))| {
            let outcome = if panicked {
                Outcome::Panicked
            } else if cancelled {
                Outcome::Cancelled
            } else {
                match rec.failures.get(&id) {
                    Some(shape) => Outcome::Failed(shape.clone()),
                    None => Outcome::Value,
                }
            };
            (id, (ms, outcome))
        })
        .collect();
    (ends, rec.order.clone())
}

fn cancels(node: &Node) -> Vec<(usize, u64)> {
    fn walk(node: &Node, out: &mut Vec<(usize, u64)>) {
        if let Some(at) = node.cancel_at {
            out.push((node.id, at));
        }
        walk_body(&node.body, out);
    }
    fn walk_body(body: &Body, out: &mut Vec<(usize, u64)>) {
        match body {
            Body::Leaf { .. } => {}
            Body::Timeout { body, .. } => walk_body(body, out),
            Body::Group { children, body, .. } => {
                children.iter().for_each(|c| walk(c, out));
                walk_body(body, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(node, &mut out);
    out
}

/// Silences the panics the trees plant (`leaf N panics`); others print.
fn quiet_planted_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let planted = info.payload().downcast_ref::<String>().is_some_and(|m| m.starts_with("leaf "));
            if !planted {
                default(info);
            }
        }));
    });
}

fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 1024;
    }
    if config.failure_persistence.is_some() {
        config.failure_persistence =
            Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/prop_task_trees.txt")));
    }
    config
}

proptest! {
    #![proptest_config(config())]

    /// Every task of a random tree ends when and how the reference says,
    /// under a random (seeded) order within each loop iteration.
    #[test]
    fn task_trees_match_the_reference(tree in tree(), seed in any::<u64>()) {
        quiet_planted_panics();
        let expected = Model::run(&tree);
        let actual = run_on_corio(&tree, seed);
        prop_assert_eq!(actual, expected, "seed {}", seed);
    }
}

// ----- fixed trees: the model itself, and replay by seed ------------------------

fn leaf_node(at: u64, end: End, on_cancel: OnCancel) -> Body {
    Body::Leaf { id: 0, at, end, on_cancel }
}

fn numbered(mut node: Node) -> Node {
    // Keep the given times: number ids only.
    let times = {
        let mut t = Vec::new();
        collect_times(&node, &mut t);
        t
    };
    number(&mut node);
    let mut slots = Vec::new();
    collect_time_slots(&mut node, &mut slots);
    for (slot, time) in slots.into_iter().zip(times) {
        *slot = time;
    }
    node
}

fn collect_times(node: &Node, out: &mut Vec<u64>) {
    out.extend(node.cancel_at);
    collect_body_times(&node.body, out);
}

fn collect_body_times(body: &Body, out: &mut Vec<u64>) {
    match body {
        Body::Leaf { at, .. } => out.push(*at),
        Body::Group { children, body, .. } => {
            children.iter().for_each(|c| collect_times(c, out));
            collect_body_times(body, out);
        }
        Body::Timeout { deadline, body, .. } => {
            out.push(*deadline);
            collect_body_times(body, out);
        }
    }
}

fn collect_time_slots<'a>(node: &'a mut Node, out: &mut Vec<&'a mut u64>) {
    if let Some(at) = node.cancel_at.as_mut() {
        out.push(at);
    }
    collect_body_slots(&mut node.body, out);
}

fn collect_body_slots<'a>(body: &'a mut Body, out: &mut Vec<&'a mut u64>) {
    match body {
        Body::Leaf { at, .. } => out.push(at),
        Body::Group { children, body, .. } => {
            for c in children {
                collect_time_slots(c, out);
            }
            collect_body_slots(body, out);
        }
        Body::Timeout { deadline, body, .. } => {
            out.push(deadline);
            collect_body_slots(body, out);
        }
    }
}

/// The t03 oracle as a tree: a (0.01) ok, b (0.02) fails, c (0.05) ok, d
/// (0.03 here: times are distinct) fails, body sleeps 1 s.
fn t03_tree() -> Node {
    let child = |at, end| Node { id: 0, body: leaf_node(at, end, OnCancel::Propagate), cancel_at: None };
    numbered(Node {
        id: 0,
        cancel_at: None,
        body: Body::Group {
            id: 0,
            children: vec![child(10, End::Ok), child(20, End::Fail), child(50, End::Ok), child(30, End::Fail)],
            body: Box::new(leaf_node(1000, End::Ok, OnCancel::Propagate)),
        },
    })
}

#[test]
fn the_reference_model_follows_the_rules_on_known_trees() {
    // t03 (G1-G3): ids: 0 root, 1 group, 2/3 a, 4/5 b, 6/7 c, 8/9 d, 10 body
    let ends = Model::run(&t03_tree());
    assert_eq!(ends[&2], (10, Outcome::Value));
    assert_eq!(ends[&4], (20, Outcome::Failed(Shape::Fail(5))));
    assert_eq!(ends[&6], (20, Outcome::Cancelled), "c cancelled by b's failure");
    assert_eq!(ends[&8], (20, Outcome::Cancelled), "d cancelled before it could fail");
    assert_eq!(ends[&0], (20, Outcome::Failed(Shape::Group(vec![Shape::Fail(5)]))));

    // TO3 with SwallowOnce: the outer cancel (t=20) is swallowed, the
    // expiry (t=30) propagated: two requests, so no Elapsed.
    let tree = numbered(Node {
        id: 0,
        cancel_at: Some(20),
        body: Body::Timeout { id: 0, deadline: 30, body: Box::new(leaf_node(100, End::Ok, OnCancel::SwallowOnce)) },
    });
    assert_eq!(Model::run(&tree)[&0], (30, Outcome::Cancelled));
    // Without the outer cancel, the expiry is the first cancel: swallowed,
    // the body returns a value and so does the scope (TO1).
    let mut alone = tree.clone();
    alone.cancel_at = None;
    assert_eq!(Model::run(&alone)[&0], (100, Outcome::Value));
    // A body that propagates it: Elapsed (TO1).
    if let Body::Timeout { body, .. } = &mut alone.body {
        if let Body::Leaf { on_cancel, .. } = body.as_mut() {
            *on_cancel = OnCancel::Propagate;
        }
    }
    assert_eq!(Model::run(&alone)[&0], (30, Outcome::Failed(Shape::Elapsed(1))));
}

#[test]
fn known_trees_match_on_corio_for_many_seeds() {
    quiet_planted_panics();
    let tree = t03_tree();
    let expected = Model::run(&tree);
    for seed in 0..32 {
        assert_eq!(run_on_corio(&tree, seed), expected, "seed {seed}");
    }
}

#[test]
fn a_seed_replays_and_seeds_vary_the_interleaving() {
    // The same seed gives the same run, event for event; different seeds
    // order each iteration differently — visible in the order in which the
    // children cancelled at one instant end — while every outcome stays the
    // reference's.
    quiet_planted_panics();
    let child = |at| Node { id: 0, body: leaf_node(at, End::Ok, OnCancel::Propagate), cancel_at: None };
    let tree = numbered(Node {
        id: 0,
        cancel_at: None,
        body: Body::Group {
            id: 0,
            children: vec![child(100), child(110), child(120), child(130), child(140)],
            body: Box::new(leaf_node(10, End::Fail, OnCancel::Propagate)),
        },
    });
    let expected = Model::run(&tree);
    let mut traces = std::collections::HashSet::new();
    for seed in 0..16 {
        let (ends, order) = run_traced(&tree, seed);
        assert_eq!(ends, expected, "seed {seed}");
        assert_eq!(run_traced(&tree, seed).1, order, "seed {seed} replays");
        traces.insert(order);
    }
    assert!(traces.len() > 1, "seeds vary the interleaving");
}

#[test]
fn generated_trees_reach_every_kind_of_outcome() {
    // A property only checks the cases it generates: sample the generator
    // (deterministically) and require every kind of task end, including
    // the ones the rules distinguish: a timeout's Elapsed, a group's
    // failures, a cancel that passes through, a swallowed cancel, a panic.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let mut runner =
        TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(Config::default().rng_algorithm));
    let mut kinds = std::collections::BTreeMap::new();
    for _ in 0..512 {
        let tree = tree().new_tree(&mut runner).unwrap().current();
        for (_, (_, outcome)) in Model::run(&tree) {
            let kind = match outcome {
                Outcome::Value => "value",
                Outcome::Cancelled => "cancelled",
                Outcome::Panicked => "panicked",
                Outcome::Failed(Shape::Fail(_)) => "failed",
                Outcome::Failed(Shape::Elapsed(_)) => "elapsed",
                Outcome::Failed(Shape::Group(_)) => "group",
                Outcome::Failed(Shape::ForeignCancel) => "foreign",
            };
            *kinds.entry(kind).or_insert(0) += 1;
        }
    }
    eprintln!("task ends over 512 generated trees: {kinds:?}");
    for kind in ["value", "cancelled", "panicked", "failed", "elapsed", "group"] {
        assert!(kinds.get(kind).copied().unwrap_or(0) >= 10, "too few '{kind}' ends: {kinds:?}");
    }
    assert!(!kinds.contains_key("foreign"), "a foreign cancellation in the reference: {kinds:?}");
}
