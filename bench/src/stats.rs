//! Latency histograms, byte and error counters, and the serialisable summary of a run.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// How many error messages are kept verbatim.
pub const MAX_ERROR_SAMPLES: usize = 5;

/// Counters for one kind of operation, recorded by one worker and merged at the end.
#[derive(Debug, Clone)]
pub struct OpStats {
    hist: Histogram<u64>,
    /// Successful operations.
    pub ok: u64,
    /// Failed operations (non-2xx status, transport error, timeout, short body).
    pub errors: u64,
    /// Payload bytes moved by successful operations.
    pub bytes: u64,
    /// The first few error messages.
    pub error_samples: Vec<String>,
}

impl Default for OpStats {
    fn default() -> Self {
        Self::new()
    }
}

impl OpStats {
    /// Empty counters; latencies are kept in microseconds from 1 µs to 1 h at 3 significant digits.
    pub fn new() -> Self {
        let hist = Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .expect("constant histogram bounds are valid");
        Self {
            hist,
            ok: 0,
            errors: 0,
            bytes: 0,
            error_samples: Vec::new(),
        }
    }

    /// Records a successful operation that took `latency` and moved `bytes` payload bytes.
    pub fn record_ok(&mut self, latency: Duration, bytes: u64) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.hist.saturating_record(us);
        self.ok += 1;
        self.bytes += bytes;
    }

    /// Records a failed operation (its latency is not part of the histogram).
    pub fn record_error(&mut self, msg: impl Into<String>) {
        self.errors += 1;
        if self.error_samples.len() < MAX_ERROR_SAMPLES {
            self.error_samples.push(msg.into());
        }
    }

    /// Adds another worker's counters into these.
    pub fn merge(&mut self, other: &OpStats) {
        // Same bounds on both sides, so `add` cannot fail; saturate rather than panic regardless.
        let _ = self.hist.add(&other.hist);
        self.ok += other.ok;
        self.errors += other.errors;
        self.bytes += other.bytes;
        for m in &other.error_samples {
            if self.error_samples.len() >= MAX_ERROR_SAMPLES {
                break;
            }
            self.error_samples.push(m.clone());
        }
    }

    /// The summary of these counters over a run of `elapsed` wall time.
    pub fn summary(&self, elapsed: Duration) -> Summary {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let ms = |q: f64| self.hist.value_at_quantile(q) as f64 / 1000.0;
        let (p50, p90, p99, max, mean) = if self.hist.is_empty() {
            (0.0, 0.0, 0.0, 0.0, 0.0)
        } else {
            (
                ms(0.5),
                ms(0.9),
                ms(0.99),
                self.hist.max() as f64 / 1000.0,
                self.hist.mean() / 1000.0,
            )
        };
        Summary {
            ops: self.ok,
            errors: self.errors,
            bytes: self.bytes,
            ops_per_sec: self.ok as f64 / secs,
            mib_per_sec: self.bytes as f64 / secs / (1024.0 * 1024.0),
            latency_ms: Latency {
                p50,
                p90,
                p99,
                max,
                mean,
            },
            error_samples: self.error_samples.clone(),
        }
    }
}

/// Latency percentiles in milliseconds (successful operations only).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// Throughput, latency and errors of a set of operations.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Successful operations.
    pub ops: u64,
    /// Failed operations.
    pub errors: u64,
    /// Payload bytes of successful operations.
    pub bytes: u64,
    /// Successful operations per second of wall time.
    pub ops_per_sec: f64,
    /// Payload MiB per second of wall time.
    pub mib_per_sec: f64,
    /// Latency percentiles.
    pub latency_ms: Latency,
    /// The first few error messages.
    pub error_samples: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b.abs() * 0.002 + 1e-9
    }

    #[test]
    fn percentiles_and_rates() {
        let mut s = OpStats::new();
        for i in 1..=1000u64 {
            s.record_ok(Duration::from_micros(i * 100), 4096);
        }
        let sum = s.summary(Duration::from_secs(2));
        assert_eq!(sum.ops, 1000);
        assert_eq!(sum.bytes, 4096 * 1000);
        assert!(close(sum.ops_per_sec, 500.0));
        assert!(close(sum.mib_per_sec, 4096.0 * 1000.0 / 2.0 / 1048576.0));
        assert!(close(sum.latency_ms.p50, 50.0), "{:?}", sum.latency_ms);
        assert!(close(sum.latency_ms.p90, 90.0), "{:?}", sum.latency_ms);
        assert!(close(sum.latency_ms.p99, 99.0), "{:?}", sum.latency_ms);
        assert!(close(sum.latency_ms.max, 100.0), "{:?}", sum.latency_ms);
        assert!(close(sum.latency_ms.mean, 50.05), "{:?}", sum.latency_ms);
    }

    #[test]
    fn merge_and_errors() {
        let mut a = OpStats::new();
        let mut b = OpStats::new();
        a.record_ok(Duration::from_millis(1), 10);
        b.record_ok(Duration::from_millis(3), 20);
        for i in 0..4 {
            a.record_error(format!("a{i}"));
            b.record_error(format!("b{i}"));
        }
        a.merge(&b);
        let sum = a.summary(Duration::from_secs(1));
        assert_eq!((sum.ops, sum.errors, sum.bytes), (2, 8, 30));
        assert_eq!(sum.error_samples.len(), MAX_ERROR_SAMPLES);
        assert_eq!(sum.error_samples[0], "a0");
        assert!(close(sum.latency_ms.max, 3.0));
    }

    #[test]
    fn empty_is_zero() {
        let sum = OpStats::new().summary(Duration::ZERO);
        assert_eq!(sum.ops, 0);
        assert_eq!(sum.latency_ms.p99, 0.0);
        assert_eq!(sum.ops_per_sec, 0.0);
    }
}
