//! Command-line interface: flags, and the parsers for sizes (`4KiB`) and durations (`10s`).

use std::time::Duration;

use clap::{Parser, ValueEnum};

/// S3 load generator: PUT/GET/mixed workloads against any S3-compatible endpoint.
#[derive(Debug, Clone, Parser)]
#[command(name = "gatehouse-bench", version, about, args_override_self = true)]
pub struct Args {
    /// Endpoint URL (plain HTTP), path-style requests are sent to it.
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    pub endpoint: String,

    /// Access key id.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub access_key: String,

    /// Secret access key.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_key: String,

    /// Signing region.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,

    /// Bucket to use; created if missing.
    #[arg(long, default_value = "gatehouse-bench")]
    pub bucket: String,

    /// Key prefix for this run's objects (default: a random `gb-XXXXXXXX/`).
    #[arg(long)]
    pub prefix: Option<String>,

    /// Workload to run.
    #[arg(long, value_enum, default_value_t = Workload::Put)]
    pub workload: Workload,

    /// Fraction of GETs in the mixed workload (0.0..=1.0).
    #[arg(long, default_value_t = 0.7)]
    pub get_ratio: f64,

    /// Object size, e.g. 4KiB, 64MiB, 1MB, 4096.
    #[arg(long, default_value = "4KiB", value_parser = parse_size)]
    pub size: u64,

    /// Number of concurrent in-flight requests (and pooled connections).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,

    /// Measured run length, e.g. 10s, 500ms, 2m (default 10s when --ops is not given).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Stop after this many measured operations.
    #[arg(long)]
    pub ops: Option<u64>,

    /// GET working set: objects uploaded (unmeasured) before a get/mixed run.
    #[arg(long, default_value_t = 1000)]
    pub objects: u64,

    /// PUTs replace random keys of the working set (uploaded first, like a GET run's) instead of writing new
    /// keys: the overwrite path of the server's index.
    #[arg(long)]
    pub overwrite: bool,

    /// Per-request timeout (a stuck request counts as an error), e.g. 60s.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Sign the SHA-256 of PUT bodies instead of sending UNSIGNED-PAYLOAD.
    #[arg(long)]
    pub sign_payload: bool,

    /// Print the result as JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Free-form label copied into the result (e.g. the server under test).
    #[arg(long)]
    pub label: Option<String>,
}

/// The operation mix to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// PUT new, unique objects.
    Put,
    /// GET random objects of the pre-populated working set.
    Get,
    /// GETs (with probability --get-ratio) of the working set, otherwise PUTs of new objects.
    Mixed,
}

impl Args {
    /// The measured-phase deadline: `--duration`, or 10 s if neither `--duration` nor `--ops` is set.
    pub fn effective_duration(&self) -> Option<Duration> {
        match (self.duration, self.ops) {
            (None, None) => Some(Duration::from_secs(10)),
            (d, _) => d,
        }
    }

    /// Checks the flag combinations clap cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.concurrency == 0 {
            return Err("--concurrency must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.get_ratio) {
            return Err("--get-ratio must be within 0.0..=1.0".into());
        }
        if self.workload != Workload::Put && self.objects == 0 {
            return Err("--objects must be at least 1 for get/mixed".into());
        }
        if self.ops == Some(0) {
            return Err("--ops must be at least 1".into());
        }
        if self.effective_duration().is_some_and(|d| d.is_zero()) {
            return Err("--duration must be positive".into());
        }
        if !self.endpoint.starts_with("http://") {
            return Err(
                "--endpoint must be an http:// URL (TLS is not supported by the bench)".into(),
            );
        }
        Ok(())
    }
}

/// Parses a byte size: a number with an optional unit. `KiB/MiB/GiB/TiB` and the bare `K/M/G/T` are binary;
/// `KB/MB/GB/TB` are decimal; `B` or no unit means bytes. Units are case-insensitive.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("invalid size {s:?}: no number"));
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => return Err(format!("invalid size {s:?}: unknown unit {other:?}")),
    };
    let bytes = if num.contains('.') {
        let v: f64 = num
            .parse()
            .map_err(|e| format!("invalid size {s:?}: {e}"))?;
        let b = v * mult as f64;
        if !b.is_finite() || b > u64::MAX as f64 || b.fract() != 0.0 {
            return Err(format!("invalid size {s:?}: not a whole number of bytes"));
        }
        b as u64
    } else {
        let v: u64 = num
            .parse()
            .map_err(|e| format!("invalid size {s:?}: {e}"))?;
        v.checked_mul(mult)
            .ok_or_else(|| format!("invalid size {s:?}: too large"))?
    };
    Ok(bytes)
}

/// Parses a duration: a number with unit `ms`, `s`, `m` or `h`; a bare number means seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit.trim() {
        "" | "s" => v,
        "ms" => v / 1000.0,
        "m" | "min" => v * 60.0,
        "h" => v * 3600.0,
        other => return Err(format!("invalid duration {s:?}: unknown unit {other:?}")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

/// Formats a byte count with a binary unit, e.g. `64MiB`.
pub fn format_size(b: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (m, u) in UNITS {
        if b >= m && b.is_multiple_of(m) {
            return format!("{}{u}", b / m);
        }
    }
    format!("{b}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("4kib"), Ok(4096));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("10B"), Ok(10));
        assert_eq!(parse_size("0.5MiB"), Ok(512 << 10));
        assert_eq!(parse_size("0"), Ok(0));
        assert!(parse_size("").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("4XB").is_err());
        assert!(parse_size("0.3B").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn format() {
        assert_eq!(format_size(4096), "4KiB");
        assert_eq!(format_size(64 << 20), "64MiB");
        assert_eq!(format_size(1000), "1000B");
    }

    #[test]
    fn defaults_are_bounded() {
        let a = Args::parse_from(["b", "--access-key", "a", "--secret-key", "s"]);
        assert_eq!(a.effective_duration(), Some(Duration::from_secs(10)));
        let a = Args::parse_from(["b", "--access-key", "a", "--secret-key", "s", "--ops", "5"]);
        assert_eq!(a.effective_duration(), None);
        assert!(a.validate().is_ok());
    }

    #[test]
    fn later_flags_override() {
        let a = Args::parse_from([
            "b",
            "--access-key",
            "a",
            "--secret-key",
            "s",
            "--timeout",
            "60s",
            "--timeout",
            "5s",
            "--size",
            "64MiB",
        ]);
        assert_eq!(a.timeout, Duration::from_secs(5));
        assert_eq!(a.size, 64 << 20);
    }
}
