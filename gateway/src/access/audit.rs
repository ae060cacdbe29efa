//! The audit trail: one JSON line per authorisation decision (time, request id, principal ARN, source IP,
//! action, resource, decision and the deciding statements from the engine's explanation) to a configured sink
//! (`audit_log`: a file path, or `stdout`), and Prometheus counters of decisions by action and outcome.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use gatehouse_policy::{Decision, Layer, Outcome};

use super::context::RequestFacts;
use crate::authz::Caller;

/// The audit sink and decision counters.
#[derive(Default)]
pub struct Audit {
    sink: Option<Mutex<Box<dyn Write + Send>>>,
    /// action -> [allow, implicit deny, explicit deny].
    counts: Mutex<HashMap<String, [u64; 3]>>,
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "allow",
        Outcome::ImplicitDeny => "implicit_deny",
        Outcome::ExplicitDeny => "explicit_deny",
    }
}

fn layer_name(l: Layer) -> &'static str {
    match l {
        Layer::Identity => "identity",
        Layer::Boundary => "boundary",
        Layer::Session => "session",
        Layer::Resource => "resource",
        Layer::Acl => "acl",
        Layer::Root => "root",
    }
}

impl Audit {
    /// Opens the sink named by `audit_log` (`stdout`, or a file appended to).
    pub fn open(target: Option<&str>) -> anyhow::Result<Audit> {
        let sink: Option<Box<dyn Write + Send>> = match target {
            None | Some("") => None,
            Some("stdout") | Some("-") => {
                Some(Box::new(std::io::LineWriter::new(std::io::stdout())))
            }
            Some(path) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| anyhow::anyhow!("audit log {path}: {e}"))?;
                Some(Box::new(std::io::LineWriter::new(f)))
            }
        };
        Ok(Audit {
            sink: sink.map(Mutex::new),
            counts: Mutex::default(),
        })
    }

    /// Records one decision.
    pub fn record(
        &self,
        facts: Option<&RequestFacts>,
        caller: &Caller,
        action: &str,
        resource: &str,
        d: &Decision,
    ) {
        let outcome = outcome_name(d.outcome);
        let slot = d.outcome as usize;
        if let Ok(mut c) = self.counts.lock() {
            let full = c.len() >= 10_000;
            match c.get_mut(action) {
                Some(n) => n[slot] += 1,
                None if !full => {
                    let mut n = [0; 3];
                    n[slot] = 1;
                    c.insert(action.to_owned(), n);
                }
                None => {}
            }
        }
        let Some(sink) = &self.sink else {
            return;
        };
        let reasons: Vec<serde_json::Value> = d
            .reasons
            .iter()
            .map(|r| {
                serde_json::json!({
                    "layer": layer_name(r.layer),
                    "policy": r.policy_id,
                    "sid": r.sid,
                    "statement": r.statement,
                })
            })
            .collect();
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let line = serde_json::json!({
            "time": now,
            "request_id": facts.map(|f| f.request_id.as_str()),
            "principal": caller.engine.arn.as_deref().unwrap_or("anonymous"),
            "source_ip": facts.map(|f| f.source_ip.to_string()),
            "action": action,
            "resource": resource,
            "decision": outcome,
            "detail": d.detail,
            "reasons": reasons,
        });
        if let Ok(mut w) = sink.lock() {
            let _ = writeln!(w, "{line}");
        }
    }

    /// The decision counters in Prometheus text format.
    pub fn prometheus(&self) -> String {
        let mut out = String::from("# TYPE gatehouse_authz_decisions_total counter\n");
        if let Ok(c) = self.counts.lock() {
            let mut rows: Vec<_> = c.iter().collect();
            rows.sort();
            for (action, n) in rows {
                for (o, count) in [Outcome::Allow, Outcome::ImplicitDeny, Outcome::ExplicitDeny]
                    .into_iter()
                    .zip(n)
                {
                    if *count > 0 {
                        out.push_str(&format!(
                            "gatehouse_authz_decisions_total{{action=\"{action}\",outcome=\"{}\"}} {count}\n",
                            outcome_name(o)
                        ));
                    }
                }
            }
        }
        out
    }
}
