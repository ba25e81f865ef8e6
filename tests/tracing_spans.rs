//! The `tracing` feature: every task has a span named `task` with fields
//! `task.name` and `task.id`, entered on each poll (and only then). Run with
//! `cargo test -p corio --features tracing --test tracing_spans`.

mod common;

use common::vloop;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Default)]
struct Seen {
    /// Span id -> (span name, fields).
    spans: HashMap<u64, (String, HashMap<String, String>)>,
    /// Spans entered now, innermost last.
    stack: Vec<u64>,
    /// How often each span was entered.
    entered: HashMap<u64, usize>,
    /// Each event's message with the span it happened in.
    events: Vec<(String, Option<u64>)>,
}

/// A subscriber that records spans, entries and events.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Seen>>,
    next: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.seen.lock().unwrap().spans.insert(id, (attrs.metadata().name().to_string(), fields));
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let mut seen = self.seen.lock().unwrap();
        let current = seen.stack.last().copied();
        seen.events.push((fields.remove("message").unwrap_or_default(), current));
    }
    fn enter(&self, span: &Id) {
        let mut seen = self.seen.lock().unwrap();
        seen.stack.push(span.into_u64());
        *seen.entered.entry(span.into_u64()).or_default() += 1;
    }
    fn exit(&self, span: &Id) {
        let mut seen = self.seen.lock().unwrap();
        assert_eq!(seen.stack.pop(), Some(span.into_u64()), "spans exit in order");
    }
}

#[test]
fn each_task_polls_inside_its_own_span() {
    let recorder = Recorder::default();
    let lp = vloop();
    let (worker_id, main_id) = tracing::subscriber::with_default(recorder.clone(), || {
        lp.block_on(async {
            let worker = corio::task::Builder::new().name("worker").spawn(async {
                tracing::info!("first poll");
                corio::yield_now().await.unwrap();
                tracing::info!("second poll");
            });
            let worker_id = worker.id().get();
            worker.await.unwrap();
            tracing::info!("in main");
            (worker_id, corio::current_task().unwrap().id().get())
        })
        .unwrap()
    });
    tracing::info!("outside any loop");

    let seen = recorder.seen.lock().unwrap();
    let span_of = |task_id: u64| {
        let (id, (name, _)) = seen
            .spans
            .iter()
            .find(|(_, (_, fields))| fields.get("task.id") == Some(&task_id.to_string()))
            .unwrap_or_else(|| panic!("no span for task {task_id}"));
        assert_eq!(name, "task");
        *id
    };
    let worker = span_of(worker_id);
    let main = span_of(main_id);
    assert_eq!(seen.spans[&worker].1["task.name"], "worker");
    assert_eq!(seen.spans[&main].1["task.name"], format!("Task-{main_id}"));
    let events: Vec<_> = seen.events.iter().map(|(m, s)| (m.as_str(), *s)).collect();
    assert_eq!(events, [("first poll", Some(worker)), ("second poll", Some(worker)), ("in main", Some(main))]);
    assert_eq!(seen.entered[&worker], 2, "entered once per poll");
    assert!(seen.stack.is_empty(), "every span was exited");
}
