//! The request context: facts about the request gathered once (connection, credentials, time) and the
//! condition keys the policy engine reads, built from those facts and the parsed request, never from headers
//! a client could use to pose as someone else (`aws:SourceIp` comes from the TCP peer unless that peer is a
//! configured trusted proxy).

use std::net::IpAddr;

use gatehouse_policy::Context;
use http::HeaderMap;

use crate::authorization::Credentials;

/// How the request authenticated (s3:authType / s3:signatureversion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    Anonymous,
    /// SigV4 or SigV2 in the Authorization header.
    Header {
        v4: bool,
    },
    /// A presigned URL.
    Query {
        v4: bool,
    },
}

impl AuthKind {
    pub fn of(creds: &Credentials) -> AuthKind {
        match creds {
            Credentials::SigV4(s) if s.presigned => AuthKind::Query { v4: true },
            Credentials::SigV4(_) => AuthKind::Header { v4: true },
            Credentials::SigV2 {
                presigned: true, ..
            } => AuthKind::Query { v4: false },
            Credentials::SigV2 {
                presigned: false, ..
            } => AuthKind::Header { v4: false },
            _ => AuthKind::Anonymous,
        }
    }
}

/// Facts about one request, gathered by the front before s3s runs (request extension).
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub request_id: String,
    /// The caller's address as policies see it (aws:SourceIp).
    pub source_ip: IpAddr,
    pub tls: bool,
    /// The negotiated TLS version (s3:TlsVersion).
    pub tls_version: Option<&'static str>,
    pub auth: AuthKind,
}

/// s3:object-lock-remaining-retention-days of a retain-until date (ms): whole days from now, a part day
/// counting as a day.
pub fn remaining_days(until_ms: i64) -> i64 {
    let left = until_ms - gatehouse_core::now_ms();
    if left <= 0 {
        0
    } else {
        (left + 86_399_999) / 86_400_000
    }
}

/// The signing time of a SigV4 request (`x-amz-date`, or `X-Amz-Date` when presigned), in ms since the
/// epoch; read only when a condition context is built (s3:signatureAge).
fn signing_time_ms(auth: AuthKind, headers: &HeaderMap, query: Option<&str>) -> Option<i64> {
    let text = match auth {
        AuthKind::Header { v4: true } => header(headers, "x-amz-date")?.to_owned(),
        AuthKind::Query { v4: true } => query_param(query, "X-Amz-Date")?,
        _ => return None,
    };
    let t = crate::query::request_time(&text)?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// An IP network (`10.0.0.0/8`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `ADDR` or `ADDR/PREFIX`.
    pub fn parse(s: &str) -> Option<IpNet> {
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(IpNet { addr, prefix })
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// aws:SourceIp: the TCP peer; if the peer is a trusted proxy, the right-most address of `X-Forwarded-For`
/// that is not itself a trusted proxy (a client cannot choose it by prepending addresses).
pub fn source_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut chain: Vec<IpAddr> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(v) = v.to_str() else {
            return peer;
        };
        for part in v.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => chain.push(canonical(ip)),
                Err(_) => return peer, // an unreadable chain proves nothing
            }
        }
    }
    let mut found = peer;
    for ip in chain.into_iter().rev() {
        found = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    found
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Query parameter `name`, percent-decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| {
            urlencoding::decode(&v.replace('+', " "))
                .map(|c| c.into_owned())
                .ok()
        })?
    })
}

/// The keys every service has, from the connection and the request (aws:CurrentTime, aws:EpochTime,
/// aws:SourceIp, aws:SecureTransport, aws:UserAgent, aws:Referer): the base of S3's context and of IAM's and
/// STS's (trust policies included).
pub fn global_context(facts: Option<&RequestFacts>, headers: &HeaderMap) -> Context {
    let mut c = Context::new();
    let now = time::OffsetDateTime::now_utc();
    c.insert("aws:CurrentTime", now);
    c.insert("aws:EpochTime", now.unix_timestamp());
    match facts {
        Some(f) => {
            c.insert("aws:SourceIp", f.source_ip);
            c.insert("aws:SecureTransport", f.tls);
        }
        None => {
            c.insert("aws:SecureTransport", false);
        }
    }
    for (key, name) in [("aws:UserAgent", "user-agent"), ("aws:Referer", "referer")] {
        if let Some(v) = header(headers, name) {
            c.insert(key, v);
        }
    }
    c
}

/// The condition keys of an S3 request.
pub fn s3_context(
    facts: Option<&RequestFacts>,
    headers: &HeaderMap,
    query: Option<&str>,
    resource_account: Option<&str>,
) -> Context {
    let mut c = global_context(facts, headers);
    if let Some(f) = facts {
        if let Some(v) = f.tls_version {
            c.insert("s3:TlsVersion", v);
        }
        if let Some(at) = signing_time_ms(f.auth, headers, query) {
            c.insert("s3:signatureAge", (gatehouse_core::now_ms() - at).max(0));
        }
        match f.auth {
            AuthKind::Anonymous => {}
            AuthKind::Header { v4 } => {
                c.insert("s3:authType", "REST-HEADER");
                c.insert(
                    "s3:signatureversion",
                    if v4 { "AWS4-HMAC-SHA256" } else { "AWS" },
                );
            }
            AuthKind::Query { v4 } => {
                c.insert("s3:authType", "REST-QUERY-STRING");
                c.insert(
                    "s3:signatureversion",
                    if v4 { "AWS4-HMAC-SHA256" } else { "AWS" },
                );
            }
        }
    }
    for (key, name) in [
        ("s3:x-amz-acl", "x-amz-acl"),
        ("s3:x-amz-grant-read", "x-amz-grant-read"),
        ("s3:x-amz-grant-write", "x-amz-grant-write"),
        ("s3:x-amz-grant-read-acp", "x-amz-grant-read-acp"),
        ("s3:x-amz-grant-write-acp", "x-amz-grant-write-acp"),
        ("s3:x-amz-grant-full-control", "x-amz-grant-full-control"),
        (
            "s3:x-amz-server-side-encryption",
            "x-amz-server-side-encryption",
        ),
        (
            "s3:x-amz-server-side-encryption-aws-kms-key-id",
            "x-amz-server-side-encryption-aws-kms-key-id",
        ),
        (
            "s3:x-amz-server-side-encryption-customer-algorithm",
            "x-amz-server-side-encryption-customer-algorithm",
        ),
        ("s3:x-amz-content-sha256", "x-amz-content-sha256"),
        ("s3:x-amz-copy-source", "x-amz-copy-source"),
        ("s3:x-amz-metadata-directive", "x-amz-metadata-directive"),
        ("s3:x-amz-storage-class", "x-amz-storage-class"),
        ("s3:object-lock-mode", "x-amz-object-lock-mode"),
        ("s3:object-lock-legal-hold", "x-amz-object-lock-legal-hold"),
    ] {
        if let Some(v) = header(headers, name) {
            c.insert(key, v);
        }
    }
    if let Some(v) = header(headers, "x-amz-object-lock-retain-until-date")
        && let Ok(t) =
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
    {
        c.insert("s3:object-lock-retain-until-date", t);
        c.insert(
            "s3:object-lock-remaining-retention-days",
            remaining_days((t.unix_timestamp_nanos() / 1_000_000) as i64),
        );
    }
    for (key, name) in [
        ("s3:prefix", "prefix"),
        ("s3:delimiter", "delimiter"),
        ("s3:VersionId", "versionId"),
    ] {
        if let Some(v) = query_param(query, name) {
            c.insert(key, v);
        }
    }
    if let Some(n) = query_param(query, "max-keys").and_then(|v| v.parse::<i64>().ok()) {
        c.insert("s3:max-keys", n);
    }
    if let Some(tags) = header(headers, "x-amz-tagging") {
        let mut keys = Vec::new();
        for pair in tags.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = urlencoding::decode(k)
                .map(|c| c.into_owned())
                .unwrap_or_default();
            let v = urlencoding::decode(v)
                .map(|c| c.into_owned())
                .unwrap_or_default();
            c.insert(&format!("s3:RequestObjectTag/{k}"), v);
            keys.push(gatehouse_policy::ContextValue::String(k));
        }
        c.insert(
            "s3:RequestObjectTagKeys",
            gatehouse_policy::ContextValue::List(keys),
        );
    }
    if let Some(a) = resource_account {
        c.insert("s3:ResourceAccount", a);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let n = IpNet::parse("10.1.0.0/16").expect("net");
        assert!(n.contains(ip("10.1.2.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(n.contains(ip("::ffff:10.1.9.9")), "IPv4-mapped");
        assert!(
            IpNet::parse("192.0.2.1")
                .expect("one")
                .contains(ip("192.0.2.1"))
        );
        assert!(
            IpNet::parse("0.0.0.0/0")
                .expect("all")
                .contains(ip("8.8.8.8"))
        );
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("nonsense").is_none());
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_peer() {
        let trusted = [IpNet::parse("127.0.0.1").expect("net")];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().expect("hv"),
        );
        // From an untrusted peer the header is ignored.
        assert_eq!(source_ip(ip("192.0.2.50"), &h, &trusted), ip("192.0.2.50"));
        // From the trusted proxy: the right-most untrusted address (a client-prepended one is not used).
        assert_eq!(source_ip(ip("127.0.0.1"), &h, &trusted), ip("198.51.100.7"));
        let two = [trusted[0], IpNet::parse("198.51.100.0/24").expect("net")];
        assert_eq!(source_ip(ip("127.0.0.1"), &h, &two), ip("203.0.113.9"));
        h.insert("x-forwarded-for", "garbage".parse().expect("hv"));
        assert_eq!(source_ip(ip("127.0.0.1"), &h, &trusted), ip("127.0.0.1"));
    }
}
