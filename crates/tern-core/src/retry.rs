//! Waits between retries. A fixed or purely exponential wait makes every
//! caller that failed together try again together — the logins waiting on
//! one recovering legacy API, the jobs of one import on a busy server — so
//! each wait is drawn between half of its planned length and all of it
//! ("equal jitter"): callers spread out, and none comes back sooner than
//! half the plan.

use std::time::Duration;

use rand::Rng;

/// A wait drawn uniformly between half of `planned` and all of it.
pub fn jittered(planned: Duration) -> Duration {
    let half = planned / 2;
    half + (planned - half).mul_f64(rand::rng().random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_spread_between_half_and_all_of_the_plan() {
        let planned = Duration::from_millis(300);
        let waits: Vec<Duration> = (0..500).map(|_| jittered(planned)).collect();
        assert!(
            waits.iter().all(|w| *w >= planned / 2 && *w <= planned),
            "{waits:?}"
        );
        let shortest = waits.iter().min().unwrap();
        let longest = waits.iter().max().unwrap();
        // 500 uniform draws over 150 ms leave no third of the range empty
        // but with a chance of about 3·(2/3)^500.
        assert!(*shortest < Duration::from_millis(200), "{shortest:?}");
        assert!(*longest > Duration::from_millis(250), "{longest:?}");
        assert_eq!(jittered(Duration::ZERO), Duration::ZERO);
    }
}
