//! Evaluation latency, policies compiled once (as the gateway caches them per policy version):
//! - a user with 10 identity statements against a 10-statement bucket policy (one user, and 2,000
//!   users in rotation);
//! - a 100-statement bucket policy with a condition on every statement, 2,000 users in rotation.

use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_policy::{
    CompiledPolicy, Context, Layers, ParseOptions, PolicyKind, Principal, Request, SizeLimit,
    evaluate,
};

const A: &str = "111122223333";

fn identity_policy() -> Arc<CompiledPolicy> {
    let mut sts = Vec::new();
    for i in 0..10 {
        sts.push(match i % 5 {
            0 => format!(r#"{{"Sid":"S{i}","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket{i}/*"}}"#),
            1 => format!(r#"{{"Sid":"S{i}","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket","Condition":{{"StringLike":{{"s3:prefix":["home/${{aws:username}}/*"]}}}}}}"#),
            2 => format!(r#"{{"Sid":"S{i}","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/home/${{aws:username}}/*"}}"#),
            3 => format!(r#"{{"Sid":"S{i}","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*","Condition":{{"BoolIfExists":{{"aws:MultiFactorAuthPresent":"false"}}}}}}"#),
            _ => format!(r#"{{"Sid":"S{i}","Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::bucket/shared/*","Condition":{{"IpAddress":{{"aws:SourceIp":"10.0.0.0/8"}}}}}}"#),
        });
    }
    let json = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        sts.join(",")
    );
    CompiledPolicy::parse(&json, PolicyKind::Identity, "bench-identity")
        .expect("valid identity policy")
}

fn bucket_policy() -> Arc<CompiledPolicy> {
    let mut sts = Vec::new();
    for i in 0..10 {
        sts.push(match i % 5 {
            0 => format!(r#"{{"Sid":"B{i}","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::bucket","arn:aws:s3:::bucket/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}"#),
            1 => format!(r#"{{"Sid":"B{i}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::44445555666{i}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}}"#),
            2 => format!(r#"{{"Sid":"B{i}","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*","Condition":{{"Null":{{"s3:x-amz-server-side-encryption":"true"}}}}}}"#),
            3 => format!(r#"{{"Sid":"B{i}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/u{i}"}},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket"}}"#),
            _ => format!(r#"{{"Sid":"B{i}","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::bucket/*","Condition":{{"NotIpAddress":{{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}}}}}"#),
        });
    }
    let json = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        sts.join(",")
    );
    CompiledPolicy::parse(&json, PolicyKind::Resource, "bench-bucket").expect("valid bucket policy")
}

/// 100 statements, each with a condition: per-user grants, encryption and network denies, prefix
/// listing for the account.
fn big_bucket_policy() -> Arc<CompiledPolicy> {
    let mut sts = Vec::new();
    for i in 0..100 {
        sts.push(match i % 4 {
            0 => format!(r#"{{"Sid":"U{i}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/u{i}"}},"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket/u{i}/*","Condition":{{"IpAddress":{{"aws:SourceIp":["10.0.0.0/8","172.16.{i}.0/24"]}}}}}}"#),
            1 => format!(r#"{{"Sid":"E{i}","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/p{i}/*","Condition":{{"StringNotEquals":{{"s3:x-amz-server-side-encryption":"aws:kms"}}}}}}"#),
            2 => format!(r#"{{"Sid":"L{i}","Effect":"Allow","Principal":{{"AWS":"{A}"}},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket","Condition":{{"StringLike":{{"s3:prefix":"p{i}/*"}}}}}}"#),
            _ => format!(r#"{{"Sid":"N{i}","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::bucket/*","Condition":{{"NotIpAddress":{{"aws:SourceIp":["10.0.0.0/8","192.168.{i}.0/24"]}}}}}}"#),
        });
    }
    let json = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        sts.join(",")
    );
    CompiledPolicy::parse_with(
        &json,
        PolicyKind::Resource,
        "bench-big-bucket",
        &ParseOptions {
            limit: SizeLimit::Unlimited,
            ..ParseOptions::for_kind(PolicyKind::Resource)
        },
    )
    .expect("valid bucket policy")
}

fn bench(c: &mut Criterion) {
    let identity = [identity_policy()];
    let bucket = bucket_policy();
    let layers = Layers {
        identity: &identity,
        resource: Some(&bucket),
        ..Default::default()
    };
    let alice = Principal::user(A, "/", "alice", "AIDAALICE", None);
    let ctx = Context::new()
        .with("aws:SourceIp", "10.1.2.3".parse::<IpAddr>().expect("ip"))
        .with("aws:SecureTransport", true)
        .with("s3:x-amz-server-side-encryption", "aws:kms");
    let get = Request {
        principal: &alice,
        action: "s3:GetObject",
        resource: "arn:aws:s3:::bucket/home/alice/file.txt",
        resource_account: A,
        context: &ctx,
    };
    assert!(evaluate(&get, &layers).is_allowed());
    c.bench_function(
        "evaluate GetObject: 10 identity + 10 bucket statements",
        |b| b.iter(|| evaluate(black_box(&get), black_box(&layers))),
    );
    let list_ctx = ctx.clone().with("s3:prefix", "home/alice/docs/");
    let list = Request {
        action: "s3:ListBucket",
        resource: "arn:aws:s3:::bucket",
        context: &list_ctx,
        ..get
    };
    assert!(evaluate(&list, &layers).is_allowed());
    c.bench_function("evaluate ListBucket with s3:prefix variable", |b| {
        b.iter(|| evaluate(black_box(&list), black_box(&layers)))
    });
    // 2,000 distinct users in rotation, each reading its home folder.
    let users: Vec<Principal> = (0..2000)
        .map(|i| Principal::user(A, "/", &format!("u{i}"), &format!("AIDAU{i}"), None))
        .collect();
    let keys: Vec<String> = (0..2000)
        .map(|i| format!("arn:aws:s3:::bucket/home/u{i}/file.txt"))
        .collect();
    let mut n = 0usize;
    c.bench_function(
        "evaluate GetObject: 10 identity + 10 bucket statements, 2,000 users in rotation",
        |b| {
            b.iter(|| {
                n = (n + 1) % users.len();
                let req = Request {
                    principal: &users[n],
                    resource: &keys[n],
                    ..get
                };
                evaluate(black_box(&req), black_box(&layers))
            })
        },
    );
    let big = big_bucket_policy();
    let big_layers = Layers {
        identity: &identity,
        resource: Some(&big),
        ..Default::default()
    };
    let big_keys: Vec<String> = (0..2000)
        .map(|i| format!("arn:aws:s3:::bucket/u{}/file.txt", (i % 25) * 4))
        .collect();
    let owner_req = Request {
        principal: &users[0],
        resource: &big_keys[0],
        ..get
    };
    assert!(evaluate(&owner_req, &big_layers).is_allowed());
    let mut m = 0usize;
    c.bench_function(
        "evaluate GetObject: 100-statement conditioned bucket policy, 2,000 users in rotation",
        |b| {
            b.iter(|| {
                m = (m + 1) % users.len();
                let req = Request {
                    principal: &users[m],
                    resource: &big_keys[m],
                    ..get
                };
                evaluate(black_box(&req), black_box(&big_layers))
            })
        },
    );
    let json = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;
    c.bench_function("compile one-statement policy", |b| {
        b.iter(|| CompiledPolicy::parse(black_box(json), PolicyKind::Identity, "p"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
