//! How many requests a server gets at once: adaptive between a floor and a ceiling.
//!
//! Serving stacks (vLLM, SGLang, llama.cpp server) batch concurrent requests, so throughput
//! comes from requests in flight — up to what the server takes, past which it queues, answers
//! 429/503 or slows down. The limit starts at [`INITIAL`] (within the floor and the ceiling)
//! and grows by one per reply while no trouble is seen (slow start), then by one per limit's
//! worth of replies (additive increase); it is cut by a tenth on a 429 or 503 ([`DECREASE`],
//! multiplicative decrease) and by a quarter when replies
//! take more than twice as long per token as the fastest seen (rising latency: the server
//! queues). A fixed limit is the same with floor = ceiling.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;

/// Requests in flight at the start (as TCP starts with a window of several segments): any
/// serving stack takes a few at once, and the ramp from one costs a short run a tenth of its
/// time.
pub const INITIAL: usize = 4;

/// What the limiter saw over a run, for run.json.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    pub floor: usize,
    pub ceiling: usize,
    pub adaptive: bool,
    /// The limit when the report was taken, and the highest requests in flight at once.
    pub limit: f64,
    pub peak_in_flight: usize,
    /// Replies answered 429 or 503 (each attempt counts).
    pub throttled: u64,
    /// Decreases for rising latency.
    pub slowdowns: u64,
    pub requests: u64,
    /// (seconds since the first request, requests in flight, limit), about once a second.
    pub in_flight_over_time: Vec<(f64, usize, f64)>,
}

/// The factor a 429 or 503 cuts the limit by. A half (TCP's) leaves a server of capacity C at
/// about 3/4 C on average between cuts; 0.9 keeps it near C, and a server that is full answers
/// every request above C with a 429 at once, so the limit comes down within a few replies.
/// Measured by `cargo bench -p quarry-llm --bench concurrency`.
pub const DECREASE: f64 = 0.9;

struct State {
    limit: f64,
    in_flight: usize,
    slow_start: bool,
    /// The fastest reply seen, in seconds per (completion token + 1), and in all.
    best_per_token: Option<f64>,
    best_elapsed: Option<Duration>,
    ewma_per_token: Option<f64>,
    replies: u64,
    /// When the limit was last cut: the requests in flight then answer within about the
    /// fastest reply's time, so their 429s do not cut it again.
    last_cut: Option<Instant>,
    report: LoadReport,
    started: Option<Instant>,
    last_sample: Option<Instant>,
}

/// An adaptive concurrency limit.
pub struct Limiter {
    state: Mutex<State>,
    notify: Notify,
    floor: usize,
    ceiling: usize,
}

/// A request's place in flight; give it back with [`Limiter::done`] (dropping it without that
/// counts as a reply without a verdict).
pub struct Permit<'a> {
    limiter: &'a Limiter,
    released: bool,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.released {
            self.limiter.release(None);
        }
    }
}

impl Permit<'_> {
    /// The request is answered at the first attempt, in `elapsed` for `completion_tokens`
    /// tokens (a reply after retries says nothing of the server's speed: drop the permit).
    pub fn done(mut self, elapsed: Duration, completion_tokens: u64) {
        self.released = true;
        self.limiter.release(Some((elapsed, elapsed.as_secs_f64() / (completion_tokens as f64 + 1.0))));
    }
}

impl Limiter {
    /// Between `floor` and `ceiling` requests at once (adaptive when they differ).
    pub fn new(floor: usize, ceiling: usize) -> Limiter {
        let floor = floor.max(1);
        let ceiling = ceiling.max(floor);
        Limiter {
            state: Mutex::new(State {
                limit: INITIAL.clamp(floor, ceiling) as f64,
                in_flight: 0,
                slow_start: true,
                best_per_token: None,
                best_elapsed: None,
                ewma_per_token: None,
                replies: 0,
                last_cut: None,
                report: LoadReport { floor, ceiling, adaptive: floor < ceiling, ..LoadReport::default() },
                started: None,
                last_sample: None,
            }),
            notify: Notify::new(),
            floor,
            ceiling,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a place in flight.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.notify.notified();
            {
                let mut s = self.lock();
                if s.in_flight < s.limit.floor().max(1.0) as usize {
                    s.in_flight += 1;
                    s.report.requests += 1;
                    s.report.peak_in_flight = s.report.peak_in_flight.max(s.in_flight);
                    let now = Instant::now();
                    let start = *s.started.get_or_insert(now);
                    if s.last_sample.is_none_or(|t| now - t >= Duration::from_secs(1)) {
                        s.last_sample = Some(now);
                        let sample = ((now - start).as_secs_f64(), s.in_flight, s.limit);
                        s.report.in_flight_over_time.push(sample);
                    }
                    return Permit { limiter: self, released: false };
                }
            }
            notified.await;
        }
    }

    /// Whether the limit may be cut now (not again for the replies of requests already in
    /// flight at the last cut).
    fn may_cut(&self, s: &State) -> bool {
        self.floor < self.ceiling && s.last_cut.is_none_or(|t| t.elapsed() >= s.best_elapsed.unwrap_or_default())
    }

    fn release(&self, reply: Option<(Duration, f64)>) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        if let Some((elapsed, t)) = reply
            && self.floor < self.ceiling
        {
            // The recent time per token (a moving average, so one long reply is not a trend)
            // against the best such average seen; a slowdown must also be long in itself
            // (a quarter of a second), so the jitter of a fast server is not one.
            s.ewma_per_token = Some(s.ewma_per_token.map_or(t, |e| 0.8 * e + 0.2 * t));
            s.replies += 1;
            let ewma = s.ewma_per_token.unwrap_or(t);
            let best = if s.replies >= 4 { *s.best_per_token.get_or_insert(ewma) } else { ewma };
            if s.replies >= 4 {
                s.best_per_token = Some(best.min(ewma));
            }
            s.best_elapsed = Some(s.best_elapsed.map_or(elapsed, |b| b.min(elapsed)));
            let slower = elapsed.saturating_sub(s.best_elapsed.unwrap_or_default()) >= Duration::from_millis(250);
            let t = ewma;
            if t > 2.0 * best && slower && self.may_cut(&s) {
                // Replies slow down: the server queues what it cannot batch.
                s.limit = (s.limit * 0.75).max(self.floor as f64);
                s.slow_start = false;
                s.last_cut = Some(Instant::now());
                s.report.slowdowns += 1;
            } else if t <= 2.0 * best {
                let step = if s.slow_start { 1.0 } else { 1.0 / s.limit };
                s.limit = (s.limit + step).min(self.ceiling as f64);
            }
        }
        s.report.limit = s.limit;
        drop(s);
        self.notify.notify_waiters();
    }

    /// The server answered 429 or 503: cut the limit by [`DECREASE`] (once for the requests in
    /// flight).
    pub fn throttled(&self) {
        let mut s = self.lock();
        s.report.throttled += 1;
        if self.may_cut(&s) {
            s.limit = (s.limit * DECREASE).max(self.floor as f64);
            s.slow_start = false;
            s.last_cut = Some(Instant::now());
        }
        s.report.limit = s.limit;
    }

    /// What it saw so far.
    pub fn report(&self) -> LoadReport {
        self.lock().report.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn grows_while_replies_come_and_is_cut_on_429() {
        // It starts at INITIAL, within the floor and the ceiling.
        let starts = |floor, ceiling| Limiter::new(floor, ceiling).state.lock().unwrap().limit;
        assert_eq!((starts(1, 32), starts(1, 2), starts(8, 16)), (4.0, 2.0, 8.0));
        let l = Limiter::new(1, 32);
        // Slow start: one more per reply.
        for _ in 0..2 {
            l.acquire().await.done(Duration::from_millis(10), 10);
        }
        assert_eq!(l.report().limit, 6.0);
        let held: Vec<Permit> = futures_lite(&l, 6).await;
        l.throttled();
        assert!((l.report().limit - 5.4).abs() < 1e-9, "{:?}", l.report());
        assert_eq!(l.report().throttled, 1);
        drop(held);
        // Additive increase after the first decrease: about one per limit's worth of replies.
        for _ in 0..3 {
            l.acquire().await.done(Duration::from_millis(10), 10);
        }
        let r = l.report();
        assert!(r.limit > 5.4 && r.limit < 6.5, "{r:?}");
        // Much slower replies per token cut it by a quarter (once the replies in flight at the
        // last cut are in).
        tokio::time::sleep(Duration::from_millis(20)).await;
        for _ in 0..6 {
            l.acquire().await.done(Duration::from_millis(1000), 10);
        }
        assert!(l.report().slowdowns >= 1 && l.report().limit < r.limit, "{:?}", l.report());
        // A fixed limit never moves.
        let f = Limiter::new(4, 4);
        f.acquire().await.done(Duration::from_millis(1), 1);
        f.throttled();
        assert_eq!(f.report().limit, 4.0);
    }

    async fn futures_lite(l: &Limiter, n: usize) -> Vec<Permit<'_>> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(l.acquire().await);
        }
        v
    }
}
