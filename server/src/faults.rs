//! Injected faults for testing clients' retry logic (`--faults`, `--fault-statuses`,
//! `--latency-ms`): off by default; deterministic under `--seed` (the n-th request the server
//! reads is faulted or not whatever the timing).

use std::sync::Mutex;
use std::time::Duration;

use crate::graph::Reply;
use crate::seeds::Seeds;

/// The statuses a fault may answer with.
pub const FAULT_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// What to inject.
#[derive(Debug)]
pub struct Faults {
    /// The share of Graph requests answered with a fault, 0.0 to 1.0.
    rate: f64,
    /// The statuses drawn from, each equally likely.
    statuses: Vec<u16>,
    /// Added to every Graph request before it is handled.
    latency: Duration,
    /// `Retry-After` of 429 and 503, in seconds.
    retry_after: u32,
    draws: Mutex<Seeds>,
}

impl Faults {
    /// No faults and no latency.
    pub fn none() -> Faults {
        Faults::new(0.0, Vec::new(), Duration::ZERO, 1, 0)
    }

    /// Faults at `rate` drawn from `statuses`, `latency` added, seeded.
    pub fn new(
        rate: f64,
        statuses: Vec<u16>,
        latency: Duration,
        retry_after: u32,
        seed: u64,
    ) -> Faults {
        Faults {
            rate: rate.clamp(0.0, 1.0),
            statuses,
            latency,
            retry_after,
            draws: Mutex::new(Seeds::new(seed ^ 0xFA17_FA17_FA17_FA17)),
        }
    }

    /// Waits the added latency, then decides whether this request fails: `Some` is the answer
    /// to give instead of handling it (nothing is read or changed).
    pub async fn draw(&self) -> Option<Reply> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        if self.rate <= 0.0 || self.statuses.is_empty() {
            return None;
        }
        let (x, pick) = {
            let mut draws = self
                .draws
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (draws.draw(), draws.draw())
        };
        // The top 53 bits as a fraction in [0, 1).
        let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
        if unit >= self.rate {
            return None;
        }
        let index = usize::try_from(pick % self.statuses.len() as u64).unwrap_or(0);
        let status = self.statuses.get(index).copied().unwrap_or(503);
        Some(fault(status, self.retry_after))
    }
}

/// The answer of an injected fault, as Graph words each status.
pub fn fault(status: u16, retry_after: u32) -> Reply {
    let (code, message) = match status {
        429 => ("TooManyRequests", "Too many requests (injected fault)."),
        500 => (
            "generalException",
            "An internal error occurred (injected fault).",
        ),
        502 => ("BadGateway", "Bad gateway (injected fault)."),
        503 => (
            "serviceNotAvailable",
            "The service is not available (injected fault).",
        ),
        _ => ("GatewayTimeout", "Gateway timeout (injected fault)."),
    };
    let mut reply = Reply::error(status, code, message);
    if status == 429 || status == 503 {
        reply.retry_after = Some(retry_after);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &Faults, n: usize) -> Vec<Option<u16>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        (0..n)
            .map(|_| rt.block_on(f.draw()).map(|r| r.status))
            .collect()
    }

    #[test]
    fn the_same_seed_faults_the_same_requests() {
        let a = run(&Faults::new(0.3, vec![429, 503], Duration::ZERO, 2, 9), 200);
        let b = run(&Faults::new(0.3, vec![429, 503], Duration::ZERO, 2, 9), 200);
        assert_eq!(a, b);
        let faulted = a.iter().filter(|s| s.is_some()).count();
        assert!((30..=90).contains(&faulted), "{faulted} of 200 at rate 0.3");
        assert!(a.contains(&Some(429)) && a.contains(&Some(503)));
        assert!(a.iter().flatten().all(|s| *s == 429 || *s == 503));
    }

    #[test]
    fn no_rate_no_fault_and_retry_after_on_429_and_503_only() {
        assert!(run(&Faults::none(), 50).iter().all(Option::is_none));
        assert_eq!(fault(429, 3).retry_after, Some(3));
        assert_eq!(fault(503, 3).retry_after, Some(3));
        assert_eq!(fault(500, 3).retry_after, None);
        assert_eq!(fault(504, 3).status, 504);
    }
}
