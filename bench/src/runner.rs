//! Runs a workload: bucket setup, the unmeasured working-set upload, then the measured, bounded phase.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::cli::{Args, Workload, format_size};
use crate::client::{ClientConfig, S3Client};
use crate::payload::Payloads;
use crate::stats::{OpStats, Summary};

/// The machine-readable result of one run (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `--label`, if given.
    pub label: Option<String>,
    /// Workload name.
    pub workload: Workload,
    /// Endpoint URL.
    pub endpoint: String,
    /// Bucket used.
    pub bucket: String,
    /// Key prefix of this run's objects.
    pub prefix: String,
    /// Object size in bytes.
    pub size: u64,
    /// Object size, human-readable.
    pub size_human: String,
    /// Concurrent requests.
    pub concurrency: usize,
    /// GET fraction (mixed only).
    pub get_ratio: Option<f64>,
    /// Working-set objects (get/mixed only).
    pub objects: Option<u64>,
    /// Whether PUT payloads were SHA-256-signed.
    pub sign_payload: bool,
    /// Seconds spent uploading the working set (not measured).
    pub prepare_secs: f64,
    /// Wall time of the measured phase in seconds.
    pub elapsed_secs: f64,
    /// All measured operations together.
    pub total: Summary,
    /// PUTs only (put and mixed).
    pub put: Option<Summary>,
    /// GETs only (get and mixed).
    pub get: Option<Summary>,
}

/// Runs the workload described by `args` to completion (it always ends: by `--duration` and/or `--ops`).
pub async fn run(args: &Args) -> Result<Report, String> {
    args.validate()?;
    let client = S3Client::new(&ClientConfig {
        endpoint: args.endpoint.clone(),
        access_key: args.access_key.clone(),
        secret_key: args.secret_key.clone(),
        region: args.region.clone(),
        pool_size: args.concurrency,
        sign_payload: args.sign_payload,
        timeout: args.timeout,
    })?;
    client
        .create_bucket(&args.bucket)
        .await
        .map_err(|e| format!("bucket {}: {e}", args.bucket))?;

    let payloads = Arc::new(Payloads::new(args.size)?);
    let prefix = args
        .prefix
        .clone()
        .unwrap_or_else(|| format!("gb-{:08x}/", rand::random::<u32>()));
    let ctx = Arc::new(Ctx {
        client,
        payloads,
        bucket: args.bucket.clone(),
        prefix: prefix.clone(),
    });

    let mut prepare_secs = 0.0;
    if args.workload != Workload::Put || args.overwrite {
        let t = Instant::now();
        populate(&ctx, args.objects, args.concurrency).await?;
        prepare_secs = t.elapsed().as_secs_f64();
    }

    let plan = Plan {
        workload: args.workload,
        get_ratio: args.get_ratio,
        objects: args.objects,
        overwrite: args.overwrite,
        size: args.size,
        deadline: args.effective_duration(),
        ops: args.ops,
    };
    let (elapsed, put, get) = measure(&ctx, &plan, args.concurrency).await;
    let mut total = put.clone();
    total.merge(&get);
    let has_put = args.workload != Workload::Get;
    let has_get = args.workload != Workload::Put;
    Ok(Report {
        label: args.label.clone(),
        workload: args.workload,
        endpoint: args.endpoint.clone(),
        bucket: args.bucket.clone(),
        prefix,
        size: args.size,
        size_human: format_size(args.size),
        concurrency: args.concurrency,
        get_ratio: (args.workload == Workload::Mixed).then_some(args.get_ratio),
        objects: (has_get || args.overwrite).then_some(args.objects),
        sign_payload: args.sign_payload,
        prepare_secs,
        elapsed_secs: elapsed.as_secs_f64(),
        total: total.summary(elapsed),
        put: has_put.then(|| put.summary(elapsed)),
        get: has_get.then(|| get.summary(elapsed)),
    })
}

/// What every worker shares.
struct Ctx {
    client: S3Client,
    payloads: Arc<Payloads>,
    bucket: String,
    prefix: String,
}

impl Ctx {
    fn working_key(&self, i: u64) -> String {
        format!("{}ws/{i:08}", self.prefix)
    }

    fn put_key(&self, n: u64) -> String {
        format!("{}put/{n:010}", self.prefix)
    }
}

/// The measured phase's parameters.
#[derive(Debug, Clone, Copy)]
struct Plan {
    workload: Workload,
    get_ratio: f64,
    objects: u64,
    /// PUTs replace working-set keys.
    overwrite: bool,
    size: u64,
    deadline: Option<Duration>,
    ops: Option<u64>,
}

/// Uploads the working set (keys `ws/00000000..`), `concurrency` at a time; any failure aborts the run.
async fn populate(ctx: &Arc<Ctx>, objects: u64, concurrency: usize) -> Result<(), String> {
    eprintln!(
        "populating {objects} objects of {} ...",
        format_size(ctx.payloads.size() as u64)
    );
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (ctx, next) = (ctx.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::from_entropy();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= objects {
                    return Ok(());
                }
                let body = ctx.payloads.next_body(&mut rng);
                ctx.client
                    .put_object(&ctx.bucket, &ctx.working_key(i), body)
                    .await
                    .map_err(|e| format!("populating the working set: {e}"))?;
            }
        }));
    }
    let mut first_err = None;
    for t in tasks {
        let r: Result<(), String> = t
            .await
            .unwrap_or_else(|e| Err(format!("populate task: {e}")));
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Runs `concurrency` workers until the deadline or the op budget; returns wall time and PUT/GET stats.
async fn measure(ctx: &Arc<Ctx>, plan: &Plan, concurrency: usize) -> (Duration, OpStats, OpStats) {
    let issued = Arc::new(AtomicU64::new(0));
    let put_seq = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = plan.deadline.map(|d| start + d);
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (ctx, issued, put_seq, plan) = (ctx.clone(), issued.clone(), put_seq.clone(), *plan);
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::from_entropy();
            let (mut put, mut get) = (OpStats::new(), OpStats::new());
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                if let Some(cap) = plan.ops
                    && issued.fetch_add(1, Ordering::Relaxed) >= cap
                {
                    break;
                }
                let is_get = match plan.workload {
                    Workload::Put => false,
                    Workload::Get => true,
                    Workload::Mixed => rng.gen_bool(plan.get_ratio),
                };
                if is_get {
                    let key = ctx.working_key(rng.gen_range(0..plan.objects));
                    let t0 = Instant::now();
                    match ctx.client.get_object(&ctx.bucket, &key, plan.size).await {
                        Ok(n) => get.record_ok(t0.elapsed(), n),
                        Err(e) => get.record_error(e),
                    }
                } else {
                    let key = if plan.overwrite {
                        ctx.working_key(rng.gen_range(0..plan.objects))
                    } else {
                        ctx.put_key(put_seq.fetch_add(1, Ordering::Relaxed))
                    };
                    let body = ctx.payloads.next_body(&mut rng);
                    let t0 = Instant::now();
                    match ctx.client.put_object(&ctx.bucket, &key, body).await {
                        Ok(n) => put.record_ok(t0.elapsed(), n),
                        Err(e) => put.record_error(e),
                    }
                }
            }
            (put, get)
        }));
    }
    let (mut put, mut get) = (OpStats::new(), OpStats::new());
    for t in tasks {
        match t.await {
            Ok((p, g)) => {
                put.merge(&p);
                get.merge(&g);
            }
            Err(e) => put.record_error(format!("worker task: {e}")),
        }
    }
    (start.elapsed(), put, get)
}

/// Renders a report as a human-readable table.
pub fn render_table(r: &Report) -> String {
    let mut out = String::new();
    let ratio = r
        .get_ratio
        .map(|g| format!(" get-ratio {g}"))
        .unwrap_or_default();
    out.push_str(&format!(
        "{} {} {} concurrency {}{ratio} against {} ({:.2}s measured",
        r.label.as_deref().unwrap_or("gatehouse-bench"),
        format!("{:?}", r.workload).to_lowercase(),
        r.size_human,
        r.concurrency,
        r.endpoint,
        r.elapsed_secs
    ));
    if r.prepare_secs > 0.0 {
        out.push_str(&format!(", {:.2}s populating", r.prepare_secs));
    }
    out.push_str(")\n");
    out.push_str(&format!(
        "{:<6} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>14}\n",
        "op", "ops/s", "MiB/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "bytes"
    ));
    let mut row = |name: &str, s: &Summary| {
        let l = &s.latency_ms;
        out.push_str(&format!(
            "{name:<6} {:>10.1} {:>10.2} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>8} {:>14}\n",
            s.ops_per_sec, s.mib_per_sec, l.p50, l.p90, l.p99, l.max, s.errors, s.bytes
        ));
    };
    if let Some(p) = &r.put {
        row("put", p);
    }
    if let Some(g) = &r.get {
        row("get", g);
    }
    if r.workload == Workload::Mixed {
        row("total", &r.total);
    }
    for e in &r.total.error_samples {
        out.push_str(&format!("error: {e}\n"));
    }
    out
}
