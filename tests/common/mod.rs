//! Helpers shared by the rule and conformance tests: a loop on the virtual
//! clock and a trace of what ran.

#![allow(dead_code)] // each test file uses a subset

use corio::clock::VirtualClock;
use std::cell::RefCell;
use std::rc::Rc;

/// What the callbacks and tasks of a test recorded, in order.
pub type Out = Rc<RefCell<Vec<String>>>;

/// The default reactor with a virtual clock: sleeps are instant and exact.
pub fn vloop() -> corio::runtime::EventLoop<corio::DefaultReactor, VirtualClock> {
    corio::builder().clock(VirtualClock::new()).build().unwrap()
}

pub fn push(out: &Out, line: impl Into<String>) {
    out.borrow_mut().push(line.into());
}

/// The recorded lines joined by spaces.
pub fn trace(out: &Out) -> String {
    out.borrow().join(" ")
}

pub mod net;
