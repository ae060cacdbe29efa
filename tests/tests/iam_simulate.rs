//! SimulatePrincipalPolicy, SimulateCustomPolicy and GetAccountAuthorizationDetails through `aws-sdk-iam`
//! against the real server: decisions from the policy engine with the deciding statements, boundaries,
//! resource policies across accounts, context entries, paging, errors, authorisation of the calls
//! themselves, and account isolation.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_iam::error::ProvideErrorMetadata as _;
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, EntityType, EvaluationResult};

use common::Server;

fn iam(s: &Server, ak: &str, sk: &str) -> aws_sdk_iam::Client {
    s.iam_with(ak, sk, None)
}

const OWN: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
const GROUP_DENY: &str = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"s3:ListBucket\", \"Resource\": \"*\"},\n    {\n      \"Effect\": \"Deny\",\n      \"Action\": \"s3:DeleteObject\",\n      \"Resource\": \"arn:aws:s3:::b/*\"\n    }\n  ]\n}";
const PUT: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:PutObject","s3:DeleteObject"],"Resource":"*"}}"#;
const CAP: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:DeleteObject","s3:ListBucket"],"Resource":"*"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn decision(r: &EvaluationResult) -> &str {
    r.eval_decision().as_str()
}

fn ids(r: &EvaluationResult) -> Vec<&str> {
    r.matched_statements()
        .iter()
        .map(|s| s.source_policy_id().unwrap())
        .collect()
}

fn ctx(name: &str, ty: ContextKeyTypeEnum, v: &str) -> ContextEntry {
    ContextEntry::builder()
        .context_key_name(name)
        .context_key_type(ty)
        .context_key_values(v)
        .build()
}

/// Alice (`/team/`): inline `own` (GetObject on b/*), group `devs` (ListBucket; Deny DeleteObject on b/*),
/// managed `Put` (PutObject, DeleteObject), boundary `Cap` (GetObject, DeleteObject, ListBucket).
async fn alice(root: &aws_sdk_iam::Client, account: &str) {
    root.create_user()
        .user_name("alice")
        .path("/team/")
        .send()
        .await
        .unwrap();
    root.put_user_policy()
        .user_name("alice")
        .policy_name("own")
        .policy_document(OWN)
        .send()
        .await
        .unwrap();
    root.create_group().group_name("devs").send().await.unwrap();
    root.add_user_to_group()
        .group_name("devs")
        .user_name("alice")
        .send()
        .await
        .unwrap();
    root.put_group_policy()
        .group_name("devs")
        .policy_name("gp")
        .policy_document(GROUP_DENY)
        .send()
        .await
        .unwrap();
    for (name, doc) in [("Put", PUT), ("Cap", CAP)] {
        root.create_policy()
            .policy_name(name)
            .policy_document(doc)
            .send()
            .await
            .unwrap();
    }
    root.attach_user_policy()
        .user_name("alice")
        .policy_arn(format!("arn:aws:iam::{account}:policy/Put"))
        .send()
        .await
        .unwrap();
    root.put_user_permissions_boundary()
        .user_name("alice")
        .permissions_boundary(format!("arn:aws:iam::{account}:policy/Cap"))
        .send()
        .await
        .unwrap();
}

async fn simulate(s: &Server) {
    let root = iam(s, common::ROOT_AK, common::ROOT_SK);
    let account = s.account_of(common::ROOT_AK, common::ROOT_SK).await;
    alice(&root, &account).await;
    let alice_arn = format!("arn:aws:iam::{account}:user/team/alice");

    // The user's inline, group and managed policies within its boundary.
    let out = root
        .simulate_principal_policy()
        .policy_source_arn(&alice_arn)
        .action_names("s3:GetObject")
        .action_names("s3:PutObject")
        .action_names("s3:DeleteObject")
        .action_names("s3:ListBucket")
        .resource_arns("arn:aws:s3:::b/k")
        .send()
        .await
        .unwrap();
    assert!(!out.is_truncated());
    let r = out.evaluation_results();
    assert_eq!(r.len(), 4);
    let bound = |i: usize| {
        r[i].permissions_boundary_decision_detail()
            .unwrap()
            .allowed_by_permissions_boundary()
    };
    assert_eq!(r[0].eval_action_name(), "s3:GetObject");
    assert_eq!(r[0].eval_resource_name(), Some("arn:aws:s3:::b/k"));
    assert_eq!(decision(&r[0]), "allowed");
    assert_eq!(ids(&r[0]), ["user_alice_own", "Cap"]);
    assert!(bound(0));
    let own = &r[0].matched_statements()[0];
    assert_eq!(
        own.source_policy_type().map(|t| t.as_str()),
        Some("IAM Policy")
    );
    let (start, end) = (own.start_position().unwrap(), own.end_position().unwrap());
    assert_eq!((start.line(), start.column()), (1, 39));
    assert_eq!((end.line(), end.column()), (1, OWN.len() as i32 - 1));
    assert_eq!(
        decision(&r[1]),
        "implicitDeny",
        "Put allows it, the boundary does not"
    );
    assert!(r[1].matched_statements().is_empty());
    assert!(!bound(1));
    assert_eq!(decision(&r[2]), "explicitDeny");
    assert_eq!(ids(&r[2]), ["group_devs_gp"]);
    let deny = &r[2].matched_statements()[0];
    let (start, end) = (deny.start_position().unwrap(), deny.end_position().unwrap());
    assert_eq!(
        (start.line(), start.column(), end.line(), end.column()),
        (5, 6, 9, 6)
    );
    assert_eq!(decision(&r[3]), "allowed");
    assert_eq!(ids(&r[3]), ["group_devs_gp", "Cap"]);
    let rs = r[3].resource_specific_results();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].eval_resource_decision().as_str(), "allowed");

    // Without the boundary PutObject is allowed by the managed policy.
    root.delete_user_permissions_boundary()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let out = root
        .simulate_principal_policy()
        .policy_source_arn(&alice_arn)
        .action_names("s3:PutObject")
        .send()
        .await
        .unwrap();
    let r = &out.evaluation_results()[0];
    assert_eq!(r.eval_resource_name(), Some("*"));
    assert_eq!(decision(r), "allowed");
    assert_eq!(ids(r), ["Put"]);
    assert!(r.permissions_boundary_decision_detail().is_none());

    // A group's policies; a role's.
    let out = root
        .simulate_principal_policy()
        .policy_source_arn(format!("arn:aws:iam::{account}:group/devs"))
        .action_names("s3:ListBucket")
        .action_names("s3:GetObject")
        .send()
        .await
        .unwrap();
    let r = out.evaluation_results();
    assert_eq!(
        (decision(&r[0]), decision(&r[1])),
        ("allowed", "implicitDeny")
    );
    worker(&root).await;
    let out = root
        .simulate_principal_policy()
        .policy_source_arn(format!("arn:aws:iam::{account}:role/worker"))
        .action_names("s3:GetObject")
        .action_names("s3:PutObject")
        .send()
        .await
        .unwrap();
    let r = out.evaluation_results();
    assert_eq!(decision(&r[0]), "allowed");
    assert_eq!(ids(&r[0]), ["AmazonS3ReadOnlyAccess"]);
    assert_eq!(decision(&r[1]), "implicitDeny");

    // Paging: 2 actions x 2 resources, 3 then 1.
    let page = |marker: Option<String>| {
        root.simulate_principal_policy()
            .policy_source_arn(&alice_arn)
            .action_names("s3:GetObject")
            .action_names("s3:DeleteObject")
            .resource_arns("arn:aws:s3:::b/1")
            .resource_arns("arn:aws:s3:::c/2")
            .max_items(3)
            .set_marker(marker)
            .send()
    };
    let first = page(None).await.unwrap();
    assert!(first.is_truncated());
    assert_eq!(first.evaluation_results().len(), 3);
    let second = page(first.marker().map(str::to_owned)).await.unwrap();
    assert!(!second.is_truncated());
    let last = &second.evaluation_results()[0];
    assert_eq!(second.evaluation_results().len(), 1);
    assert_eq!(
        (last.eval_action_name(), last.eval_resource_name()),
        ("s3:DeleteObject", Some("arn:aws:s3:::c/2"))
    );
    assert_eq!(decision(last), "allowed", "the deny is on b/* only");

    // Errors.
    let e = root
        .simulate_principal_policy()
        .policy_source_arn(format!("arn:aws:iam::{account}:user/nobody"))
        .action_names("s3:GetObject")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("NoSuchEntity"));
    let e = root
        .simulate_custom_policy()
        .policy_input_list(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}"#)
        .action_names("s3:GetObject")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidInput"), "{e:?}");

    // Another account cannot simulate A's user.
    let (bak, bsk) = s.new_account("tenant-b");
    let e = iam(s, &bak, &bsk)
        .simulate_principal_policy()
        .policy_source_arn(&alice_arn)
        .action_names("s3:GetObject")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("NoSuchEntity"));

    // The calls themselves are authorised: iam:SimulatePrincipalPolicy on the source ARN.
    root.create_user()
        .user_name("auditor")
        .send()
        .await
        .unwrap();
    root.put_user_policy()
        .user_name("auditor")
        .policy_name("sim")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:SimulatePrincipalPolicy","Resource":"arn:aws:iam::{account}:user/team/*"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let k = root
        .create_access_key()
        .user_name("auditor")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    let auditor = iam(s, k.access_key_id(), k.secret_access_key());
    let out = auditor
        .simulate_principal_policy()
        .policy_source_arn(&alice_arn)
        .action_names("s3:ListBucket")
        .action_names("s3:GetObject")
        .send()
        .await
        .unwrap();
    let r = out.evaluation_results();
    assert_eq!(decision(&r[0]), "allowed");
    assert_eq!(
        decision(&r[1]),
        "implicitDeny",
        "the resource `*` is not inside arn:aws:s3:::b/*"
    );
    let e = auditor
        .simulate_principal_policy()
        .policy_source_arn(format!("arn:aws:iam::{account}:group/devs"))
        .action_names("s3:GetObject")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    let e = auditor
        .simulate_custom_policy()
        .policy_input_list(OWN)
        .action_names("s3:GetObject")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
}
matrix!(simulate);

async fn custom(s: &Server) {
    let root = iam(s, common::ROOT_AK, common::ROOT_SK);
    let account = s.account_of(common::ROOT_AK, common::ROOT_SK).await;
    let (bak, bsk) = s.new_account("tenant-b");
    let b_account = s.account_of(&bak, &bsk).await;
    let bob = format!("arn:aws:iam::{b_account}:user/bob");

    // Cross-account: bob's identity policy allows GetObject; A's bucket policy allows bob from 10/8 only.
    let identity = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let bucket_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"FromTheOffice","Effect":"Allow","Principal":{{"AWS":"{bob}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*","Condition":{{"IpAddress":{{"aws:SourceIp":"10.0.0.0/8"}}}}}}]}}"#
    );
    let run = |ip: Option<&'static str>| {
        root.simulate_custom_policy()
            .policy_input_list(identity)
            .action_names("s3:GetObject")
            .resource_arns("arn:aws:s3:::shared/report")
            .resource_policy(&bucket_policy)
            .resource_owner(format!("arn:aws:iam::{account}:root"))
            .caller_arn(&bob)
            .set_context_entries(ip.map(|ip| vec![ctx("aws:SourceIp", ContextKeyTypeEnum::Ip, ip)]))
            .send()
    };
    let out = run(Some("10.1.2.3")).await.unwrap();
    let r = &out.evaluation_results()[0];
    assert_eq!(decision(r), "allowed");
    assert_eq!(ids(r), ["PolicyInputList.1", "ResourcePolicy"]);
    assert_eq!(
        r.matched_statements()[1]
            .source_policy_type()
            .map(|t| t.as_str()),
        Some("resource")
    );
    assert!(r.missing_context_values().is_empty());
    let out = run(Some("192.168.1.1")).await.unwrap();
    let r = &out.evaluation_results()[0];
    assert_eq!(
        decision(r),
        "implicitDeny",
        "across accounts both sides must allow"
    );
    let out = run(None).await.unwrap();
    let r = &out.evaluation_results()[0];
    assert_eq!(decision(r), "implicitDeny");
    assert_eq!(r.missing_context_values(), ["aws:SourceIp"]);

    // Within the resource's account the bucket policy alone grants (no identity policy needed).
    let out = root
        .simulate_custom_policy()
        .policy_input_list(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}"#)
        .action_names("s3:GetObject")
        .resource_arns("arn:aws:s3:::shared/report")
        .resource_policy(&bucket_policy)
        .resource_owner(format!("arn:aws:iam::{b_account}:root"))
        .caller_arn(&bob)
        .context_entries(ctx("aws:SourceIp", ContextKeyTypeEnum::Ip, "10.9.9.9"))
        .send()
        .await
        .unwrap();
    let r = &out.evaluation_results()[0];
    assert_eq!(decision(r), "allowed");
    assert_eq!(ids(r), ["ResourcePolicy"]);

    // A principal tag supplied as context decides; a date too.
    let tagged = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}"#;
    let tag_run = |team: &'static str, when: &'static str| {
        root.simulate_custom_policy()
            .policy_input_list(tagged)
            .action_names("s3:PutObject")
            .context_entries(ctx(
                "aws:PrincipalTag/team",
                ContextKeyTypeEnum::String,
                team,
            ))
            .context_entries(ctx("aws:CurrentTime", ContextKeyTypeEnum::Date, when))
            .send()
    };
    let out = tag_run("blue", "2026-12-06T00:00:00Z").await.unwrap();
    assert_eq!(decision(&out.evaluation_results()[0]), "allowed");
    let out = tag_run("red", "2026-12-06T00:00:00Z").await.unwrap();
    assert_eq!(decision(&out.evaluation_results()[0]), "implicitDeny");
    let out = tag_run("blue", "2031-01-01T00:00:00Z").await.unwrap();
    assert_eq!(decision(&out.evaluation_results()[0]), "implicitDeny");

    // A resource policy needs CallerArn; a malformed one is InvalidInput; an unknown action too.
    let e = root
        .simulate_custom_policy()
        .policy_input_list(identity)
        .action_names("s3:GetObject")
        .resource_policy(&bucket_policy)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidInput"));
    let e = root
        .simulate_custom_policy()
        .policy_input_list(identity)
        .action_names("s3:GetObject")
        .resource_policy("{not json")
        .caller_arn(&bob)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidInput"));
    let e = root
        .simulate_custom_policy()
        .policy_input_list(identity)
        .action_names("dynamodb:GetItem")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidInput"));
    let e = root
        .simulate_custom_policy()
        .policy_input_list(identity)
        .action_names("s3:GetObject")
        .context_entries(ctx("aws:SourceIp", ContextKeyTypeEnum::Ip, "not-an-ip"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidInput"));
}
matrix!(custom);

/// Role `worker` (trusting TRUST) with AmazonS3ReadOnlyAccess attached.
async fn worker(root: &aws_sdk_iam::Client) {
    root.create_role()
        .role_name("worker")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    root.attach_role_policy()
        .role_name("worker")
        .policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
        .send()
        .await
        .unwrap();
}

/// `%XX` decoding of the URL-encoded documents IAM returns.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn authorization_details(s: &Server) {
    let root = iam(s, common::ROOT_AK, common::ROOT_SK);
    let account = s.account_of(common::ROOT_AK, common::ROOT_SK).await;
    alice(&root, &account).await;
    root.tag_user()
        .user_name("alice")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("blue")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    root.create_user().user_name("zed").send().await.unwrap();
    // An AWS managed policy used only as a boundary is listed too.
    root.put_user_permissions_boundary()
        .user_name("zed")
        .permissions_boundary("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    worker(&root).await;
    root.create_policy_version()
        .policy_arn(format!("arn:aws:iam::{account}:policy/Put"))
        .policy_document(CAP)
        .send()
        .await
        .unwrap();

    let all = root
        .get_account_authorization_details()
        .send()
        .await
        .unwrap();
    assert!(!all.is_truncated());
    let users = all.user_detail_list();
    assert_eq!(
        users
            .iter()
            .map(|u| u.user_name().unwrap())
            .collect::<Vec<_>>(),
        ["alice", "zed"]
    );
    let a = &users[0];
    assert_eq!(a.path(), Some("/team/"));
    assert_eq!(
        a.arn(),
        Some(format!("arn:aws:iam::{account}:user/team/alice").as_str())
    );
    assert!(a.user_id().unwrap().starts_with("AIDA"));
    assert_eq!(a.group_list(), ["devs"]);
    assert_eq!(a.user_policy_list().len(), 1);
    assert_eq!(a.user_policy_list()[0].policy_name(), Some("own"));
    let doc = a.user_policy_list()[0].policy_document().unwrap();
    assert!(doc.contains("%22"), "URL-encoded as IAM returns it: {doc}");
    assert_eq!(url_decode(doc), OWN);
    assert_eq!(a.attached_managed_policies()[0].policy_name(), Some("Put"));
    assert_eq!(
        a.permissions_boundary().unwrap().permissions_boundary_arn(),
        Some(format!("arn:aws:iam::{account}:policy/Cap").as_str())
    );
    assert_eq!(a.tags()[0].key(), "team");
    let groups = all.group_detail_list();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].group_name(), Some("devs"));
    assert_eq!(
        url_decode(groups[0].group_policy_list()[0].policy_document().unwrap()),
        GROUP_DENY
    );
    let roles = all.role_detail_list();
    assert_eq!(roles.len(), 1);
    assert_eq!(
        url_decode(roles[0].assume_role_policy_document().unwrap()),
        TRUST
    );
    assert!(roles[0].instance_profile_list().is_empty());
    assert_eq!(
        roles[0].attached_managed_policies()[0].policy_arn(),
        Some("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    );
    // Customer policies (attached or not) and the AWS managed policies attached in the account.
    let policies = all.policies();
    let names: Vec<_> = policies.iter().map(|p| p.policy_name().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Cap",
            "Put",
            "AdministratorAccess",
            "AmazonS3ReadOnlyAccess"
        ]
    );
    let put = &policies[1];
    assert_eq!(put.default_version_id(), Some("v1"));
    assert_eq!(put.attachment_count(), Some(1));
    assert_eq!(policies[0].permissions_boundary_usage_count(), Some(1));
    let versions = put.policy_version_list();
    assert_eq!(versions.len(), 2);
    assert!(versions.iter().any(|v| v.version_id() == Some("v1")
        && v.is_default_version()
        && url_decode(v.document().unwrap()) == PUT));
    assert_eq!(policies[2].attachment_count(), Some(0));
    assert_eq!(policies[2].permissions_boundary_usage_count(), Some(1));
    assert_eq!(policies[3].attachment_count(), Some(1));
    assert_eq!(policies[3].permissions_boundary_usage_count(), Some(0));

    // Filters.
    let only = |f: EntityType| root.get_account_authorization_details().filter(f).send();
    let u = only(EntityType::User).await.unwrap();
    assert_eq!(u.user_detail_list().len(), 2);
    assert!(u.group_detail_list().is_empty() && u.role_detail_list().is_empty());
    assert!(u.policies().is_empty());
    let g = only(EntityType::Group).await.unwrap();
    assert_eq!(g.group_detail_list().len(), 1);
    assert!(g.user_detail_list().is_empty());
    let r = only(EntityType::Role).await.unwrap();
    assert_eq!(r.role_detail_list().len(), 1);
    assert!(r.policies().is_empty());
    let l = only(EntityType::LocalManagedPolicy).await.unwrap();
    assert_eq!(
        l.policies()
            .iter()
            .map(|p| p.policy_name().unwrap())
            .collect::<Vec<_>>(),
        ["Cap", "Put"]
    );
    let w = only(EntityType::AwsManagedPolicy).await.unwrap();
    assert_eq!(
        w.policies()
            .iter()
            .map(|p| p.policy_name().unwrap())
            .collect::<Vec<_>>(),
        ["AdministratorAccess", "AmazonS3ReadOnlyAccess"]
    );
    let two = root
        .get_account_authorization_details()
        .filter(EntityType::User)
        .filter(EntityType::Role)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (two.user_detail_list().len(), two.role_detail_list().len()),
        (2, 1)
    );

    // Paging over everything, two items a page: 2 users, 1 group, 1 role, 4 policies.
    let (mut marker, mut pages, mut seen) = (None::<String>, 0, Vec::new());
    loop {
        let p = root
            .get_account_authorization_details()
            .max_items(2)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        seen.extend(
            p.user_detail_list()
                .iter()
                .map(|x| x.user_name().unwrap().to_owned()),
        );
        seen.extend(
            p.group_detail_list()
                .iter()
                .map(|x| x.group_name().unwrap().to_owned()),
        );
        seen.extend(
            p.role_detail_list()
                .iter()
                .map(|x| x.role_name().unwrap().to_owned()),
        );
        seen.extend(
            p.policies()
                .iter()
                .map(|x| x.policy_name().unwrap().to_owned()),
        );
        if !p.is_truncated() {
            break;
        }
        marker = p.marker().map(str::to_owned);
        assert!(marker.is_some());
    }
    assert_eq!(pages, 4);
    assert_eq!(
        seen,
        [
            "alice",
            "zed",
            "devs",
            "worker",
            "Cap",
            "Put",
            "AdministratorAccess",
            "AmazonS3ReadOnlyAccess"
        ]
    );

    let e = root
        .get_account_authorization_details()
        .filter(EntityType::from("Bucket"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));

    // The call is authorised as iam:GetAccountAuthorizationDetails on `*`: zed's policy allows it; alice's
    // too, but her boundary (Cap) does not.
    for user in ["alice", "zed"] {
        root.put_user_policy()
            .user_name(user)
            .policy_name("details")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetAccountAuthorizationDetails","Resource":"*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    }
    for (user, allowed) in [("alice", false), ("zed", true)] {
        let k = root
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
        let k = k.access_key().unwrap();
        let r = iam(s, k.access_key_id(), k.secret_access_key())
            .get_account_authorization_details()
            .filter(EntityType::Group)
            .send()
            .await;
        match r {
            Ok(out) => {
                assert!(allowed, "{user}");
                assert_eq!(out.group_detail_list().len(), 1);
            }
            Err(e) => {
                assert!(!allowed, "{user}: {e:?}");
                assert_eq!(e.code(), Some("AccessDenied"));
            }
        }
    }

    // Account B sees none of it.
    let (bak, bsk) = s.new_account("tenant-b");
    let b = iam(s, &bak, &bsk)
        .get_account_authorization_details()
        .send()
        .await
        .unwrap();
    assert!(b.user_detail_list().is_empty());
    assert!(b.group_detail_list().is_empty());
    assert!(b.role_detail_list().is_empty());
    assert!(b.policies().is_empty());
}
matrix!(authorization_details);
