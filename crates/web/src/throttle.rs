//! Log-in throttling per client address, on top of the per-account lock-out: one address trying many
//! accounts is slowed down too. Kept in memory per node (a restart or another node starts afresh, which
//! the per-account lock-out in the database does not).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// How many failures an address may have within the window before it must wait.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub max_failures: usize,
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            max_failures: 20,
            window: Duration::minutes(15),
        }
    }
}

/// Addresses kept at most; beyond it the quietest are forgotten first.
const MAX_ADDRESSES: usize = 100_000;

#[derive(Debug, Default)]
pub struct Throttle {
    policy: ThrottlePolicy,
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            failures: Mutex::default(),
        }
    }

    /// `Err(until)` when the address has used up its failures for now.
    pub fn check(&self, address: &str, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        let Ok(mut map) = self.failures.lock() else {
            return Ok(());
        };
        let Some(times) = map.get_mut(address) else {
            return Ok(());
        };
        while times
            .front()
            .is_some_and(|t| *t + self.policy.window <= now)
        {
            times.pop_front();
        }
        if times.len() >= self.policy.max_failures {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(oldest + self.policy.window);
        }
        Ok(())
    }

    /// Count a failed log-in from an address.
    pub fn record_failure(&self, address: &str, now: DateTime<Utc>) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_ADDRESSES && !map.contains_key(address) {
            let window = self.policy.window;
            map.retain(|_, times| times.back().is_some_and(|t| *t + window > now));
        }
        let times = map.entry(address.to_owned()).or_default();
        times.push_back(now);
        while times.len() > self.policy.max_failures {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn slows_an_address_down_then_forgets() {
        let throttle = Throttle::new(ThrottlePolicy {
            max_failures: 3,
            window: Duration::minutes(10),
        });
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        for i in 0..3 {
            assert!(throttle.check("10.0.0.1", t0).is_ok());
            throttle.record_failure("10.0.0.1", t0 + Duration::minutes(i));
        }
        assert_eq!(
            throttle.check("10.0.0.1", t0 + Duration::minutes(3)),
            Err(t0 + Duration::minutes(10))
        );
        assert!(
            throttle.check("10.0.0.2", t0).is_ok(),
            "other addresses are not affected"
        );
        assert!(
            throttle
                .check("10.0.0.1", t0 + Duration::minutes(10))
                .is_ok(),
            "the window slides"
        );
    }
}
