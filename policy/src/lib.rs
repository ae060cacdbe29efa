//! gatehouse-policy: the IAM policy language compiled to Cedar, evaluated with AWS's logic.
//!
//! A pure library (no I/O): the gateway, `iam` and `sts` crates hand it JSON documents and requests.
//!
//! # Compile once
//! [`CompiledPolicy::parse`] validates a document for its [`PolicyKind`] (AWS grammar, per-kind
//! rules and size quotas) and compiles each statement to Cedar. Errors are [`PolicyError`]s whose
//! `iam_code()` / `s3_code()` and message map straight onto IAM `MalformedPolicyDocument` /
//! `LimitExceeded` and S3 `MalformedPolicy`. Cache the `Arc<CompiledPolicy>` per policy version.
//! [`CompiledPolicy::parse_with`] takes [`ParseOptions`] (inline-policy quotas, the bucket a bucket
//! policy is put on). [`CompiledPolicy::is_public`] answers GetBucketPolicyStatus / BlockPublicPolicy.
//!
//! # Evaluate with one call
//! [`evaluate`]`(&`[`Request`]`, &`[`Layers`]`) -> `[`Decision`]: the request names the
//! [`Principal`], action, resource ARN, resource owner and a [`Context`] of condition keys; the
//! layers carry identity policies, permissions boundary, session policies, the resource (bucket or
//! trust) policy, the governing [`Acl`], Object Ownership and Block Public Access. The decision is
//! Allow / ImplicitDeny / ExplicitDeny with the statements that decided it ([`Reason`]s).
//!
//! ```
//! use gatehouse_policy::{CompiledPolicy, Context, Layers, Outcome, PolicyKind, Principal, Request, evaluate};
//!
//! let identity = CompiledPolicy::parse(
//!     r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",
//!         "Resource":"arn:aws:s3:::photos/${aws:username}/*"}]}"#,
//!     PolicyKind::Identity,
//!     "arn:aws:iam::111122223333:policy/photos-v1",
//! )?;
//! let alice = Principal::user("111122223333", "/", "alice", "AIDAEXAMPLE", None);
//! let ctx = Context::new().with("aws:SecureTransport", true);
//! let request = Request {
//!     principal: &alice,
//!     action: "s3:GetObject",
//!     resource: "arn:aws:s3:::photos/alice/cat.jpg",
//!     resource_account: "111122223333",
//!     context: &ctx,
//! };
//! let identities = [identity];
//! let decision = evaluate(&request, &Layers { identity: &identities, ..Default::default() });
//! assert_eq!(decision.outcome, Outcome::Allow);
//! # Ok::<(), gatehouse_policy::PolicyError>(())
//! ```
//!
//! # Trust policies and sessions
//! `sts:AssumeRole*` requests are decided against the role's trust policy (compiled as
//! [`PolicyKind::Trust`], passed as `Layers::resource`): it must allow the caller in every account,
//! root users never may. Role sessions ([`Principal::assumed_role`]) and federated-user sessions
//! ([`Principal::federated_user`]) carry [`SessionData`] (session tags, MFA, token issue time,
//! source identity); principal keys come only from the [`Principal`] ([`is_principal_key`]). The
//! full rule list is on [`evaluate()`].
//!
//! # How it works
//! Statements whose expanded action set contains the request's action are candidates. Rust
//! decides their principal and resource parts (exactly as the generated Cedar would); the
//! conditions of the remaining statements run in one small Cedar policy set per request (never a
//! global set; cached per thread). Principal-derived keys (`aws:username`,
//! `aws:PrincipalTag/*`, ...) are filled in from the [`Principal`]. What Cedar cannot express is
//! computed in Rust and passed as context booleans (see [`compile`]). Any Cedar evaluation error is
//! an explicit deny of the erring statement. The combination of layers is done in Rust
//! (see [`evaluate()`]); [`reference`] is an independent evaluator, written from AWS's pages and
//! sharing only the parsed document types, that the differential test compares outcome and
//! reasons with.
#![forbid(unsafe_code)]

pub mod acl;
pub mod bpa;
pub mod catalogue;
pub mod compile;
pub mod conditions;
pub mod document;
mod engine;
pub mod error;
pub mod evaluate;
pub mod pattern;
mod prefilter;
pub mod public;
pub mod reference;
pub mod request;

pub use acl::{Acl, AclTarget, CannedAcl, Grant, Grantee, Permission};
pub use bpa::{BpaViolation, PublicAccessBlock};
pub use compile::CompiledPolicy;
pub use document::{ParseOptions, PolicyDocument, PolicyKind, SizeLimit};
pub use error::PolicyError;
pub use evaluate::{
    Decision, Layer, Layers, ObjectOwnership, Outcome, Reason, TRUST_ACTIONS, evaluate,
    is_trust_action,
};
pub use request::{
    Context, ContextValue, Principal, PrincipalKind, Request, SessionData, is_account_id,
    is_principal_key,
};
