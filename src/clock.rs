//! The clock at the edge: commands get "now" and sleep through this trait, so the core never
//! reads time itself.

use chrono::{DateTime, Utc};

pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
    fn sleep(&self, d: std::time::Duration);
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, d: std::time::Duration) {
        std::thread::sleep(d);
    }
}
