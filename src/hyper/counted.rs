//! The server's accounting of requests and responses: [`Counted`] wraps a
//! service so that every request it starts is tracked until its response
//! body has been handed to hyper whole (a response) or dropped before that
//! (an unfinished response: the client left, or the grace ran out).

use super::stats::Counters;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::Service;
use hyper::{Method, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

/// A request between the service's call and the end of its response.
struct InFlight {
    counters: Rc<Counters>,
    finished: Cell<bool>,
}

impl InFlight {
    fn start(counters: &Rc<Counters>) -> InFlight {
        counters.requests.set(counters.requests.get() + 1);
        counters.in_flight.set(counters.in_flight.get() + 1);
        InFlight { counters: counters.clone(), finished: Cell::new(false) }
    }

    fn finish(&self) {
        self.finished.set(true);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let c = &self.counters;
        c.in_flight.set(c.in_flight.get() - 1);
        let counter = if self.finished.get() { &c.responses } else { &c.unfinished };
        counter.set(counter.get() + 1);
    }
}

/// A service whose requests and responses are counted, and whose requests
/// announcing a body over `max_body` get `413 Payload Too Large` without
/// reaching the service.
pub(crate) struct Counted<S> {
    pub(crate) service: S,
    pub(crate) counters: Rc<Counters>,
    pub(crate) max_body: u64,
}

impl<S, B> Service<Request<Incoming>> for Counted<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
{
    type Response = Response<CountedBody<B>>;
    type Error = S::Error;
    type Future = CountedFuture<S::Future>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(&self.counters);
        // A HEAD response has no body for hyper to poll.
        let bodiless = request.method() == Method::HEAD;
        if request.body().size_hint().lower() > self.max_body {
            self.counters.too_large.set(self.counters.too_large.get() + 1);
            in_flight.finish();
            return CountedFuture { inner: Inner::TooLarge { in_flight: Some(in_flight) } };
        }
        CountedFuture {
            inner: Inner::Call { future: self.service.call(request), in_flight: Some(in_flight), bodiless },
        }
    }
}

pin_project! {
    /// The service's future, carrying the request's accounting into the
    /// response body.
    pub(crate) struct CountedFuture<F> {
        #[pin]
        inner: Inner<F>,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner<F> {
        Call { #[pin] future: F, in_flight: Option<InFlight>, bodiless: bool },
        TooLarge { in_flight: Option<InFlight> },
    }
}

impl<F, B, E> Future for CountedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<CountedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            InnerProj::Call { future, in_flight, bodiless } => {
                let response = ready!(future.poll(cx))?;
                let in_flight = in_flight.take();
                let status = response.status();
                if *bodiless
                    || status.is_informational()
                    || status == StatusCode::NO_CONTENT
                    || status == StatusCode::NOT_MODIFIED
                {
                    if let Some(in_flight) = &in_flight {
                        in_flight.finish(); // hyper sends no body for these
                    }
                }
                Poll::Ready(Ok(response.map(|body| CountedBody { body: Some(body), in_flight })))
            }
            InnerProj::TooLarge { in_flight } => {
                let mut response = Response::new(CountedBody { body: None, in_flight: in_flight.take() });
                *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                Poll::Ready(Ok(response))
            }
        }
    }
}

pin_project! {
    /// A response body that records when it has been handed over whole.
    pub struct CountedBody<B> {
        #[pin]
        body: Option<B>,
        in_flight: Option<InFlight>,
    }
}

impl<B> std::fmt::Debug for CountedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountedBody").finish_non_exhaustive()
    }
}

impl<B: Body> Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let Some(body) = this.body.as_pin_mut() else {
            return Poll::Ready(None);
        };
        let frame = ready!(body.poll_frame(cx));
        let ended = frame.is_none();
        if ended {
            if let Some(in_flight) = this.in_flight {
                in_flight.finish();
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        let end = self.body.as_ref().is_none_or(Body::is_end_stream);
        if end {
            if let Some(in_flight) = &self.in_flight {
                in_flight.finish();
            }
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
