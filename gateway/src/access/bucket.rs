//! The bucket context: a bucket with everything access control and the handlers need of it (owner,
//! versioning, policy compiled once, ACL, Object Ownership, Block Public Access merged with the account's,
//! raw settings), loaded in one read (`Meta::bucket_record`) and cached.
//!
//! Exactness: a change made through this server bumps `Meta::bucket_generation` before and after it commits,
//! and an entry is used only while the generation it was read under is current, so this server never serves
//! a bucket older than its own last change. An entry is otherwise trusted for at most `TTL`, the bound within
//! which a change made by another gateway sharing the database (or by an admin command beside this server)
//! is seen. A stored policy or ACL that cannot be read makes the context *unusable*: every request the
//! bucket's policy could decide is denied (fail closed), except the owner's own policy calls.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gatehouse_meta::{Bucket, BucketRecord, Meta};
use gatehouse_policy::{
    Acl, AclTarget, CompiledPolicy, ObjectOwnership, ParseOptions, PolicyKind, PublicAccessBlock,
};

use super::acl::StoredAcl;

/// How long a cached bucket context is trusted (the cross-gateway convergence bound).
pub const TTL: Duration = Duration::from_secs(1);

/// Setting names in `bucket_settings`.
pub const POLICY: &str = "policy";
/// Set when the policy was put with `x-amz-confirm-remove-self-bucket-access: true`.
pub const POLICY_LOCKS_OWNER: &str = "policy-locks-owner";
pub const ACL: &str = "acl";
pub const OWNERSHIP: &str = "ownership";
pub const PUBLIC_ACCESS_BLOCK: &str = "public-access-block";
pub const VERSIONING: &str = "versioning";

/// A bucket as access control sees it.
#[derive(Debug)]
pub struct BucketCtx {
    pub bucket: Bucket,
    pub owner_canonical_id: String,
    pub owner_display_name: String,
    /// The "versioning" setting, if ever set.
    pub versioning: Option<String>,
    /// The bucket policy as stored, and compiled.
    pub policy: Option<(String, Arc<CompiledPolicy>)>,
    /// The owner's root gave up its standing right to manage the policy.
    pub policy_locks_owner: bool,
    /// The bucket ACL (the owner's FULL_CONTROL when none was ever set).
    pub acl: Acl,
    /// Object Ownership as configured (`None`: never configured, which behaves as ObjectWriter).
    pub ownership: Option<ObjectOwnership>,
    /// The bucket's own Block Public Access configuration, if any.
    pub bucket_bpa: Option<PublicAccessBlock>,
    /// The owner account's Block Public Access configuration, if any.
    pub account_bpa: Option<PublicAccessBlock>,
    /// Why the context cannot be used to allow anything (a stored policy or ACL that does not parse).
    pub broken: Option<String>,
    /// Every raw setting (tagging, encryption, ...), for handlers.
    pub settings: std::collections::BTreeMap<String, String>,
    /// The lifecycle setting, parsed on first use (`x-amz-expiration` on every PUT, GET and HEAD).
    lifecycle: std::sync::OnceLock<Option<crate::s3::lifecycle::Lifecycle>>,
}

impl BucketCtx {
    /// Builds the context from what `meta` read.
    pub fn from_record(rec: BucketRecord) -> BucketCtx {
        let mut broken = None;
        let policy = rec.setting(POLICY).and_then(|json| {
            let opts = ParseOptions {
                bucket: Some(&rec.bucket.name),
                ..ParseOptions::for_kind(PolicyKind::Resource)
            };
            let id = format!("arn:aws:s3:::{}#policy", rec.bucket.name);
            match CompiledPolicy::parse_with(json, PolicyKind::Resource, &id, &opts) {
                Ok(p) => Some((json.to_owned(), p)),
                Err(e) => {
                    broken = Some(format!("stored bucket policy: {e}"));
                    None
                }
            }
        });
        let acl = match rec.setting(ACL).map(StoredAcl::parse) {
            None => private_acl(AclTarget::Bucket, &rec.owner_canonical_id),
            Some(Ok(a)) => a.to_policy(AclTarget::Bucket),
            Some(Err(e)) => {
                broken = Some(format!("stored bucket ACL: {e}"));
                private_acl(AclTarget::Bucket, &rec.owner_canonical_id)
            }
        };
        let ownership = rec.setting(OWNERSHIP).map(|o| {
            parse_ownership(o).unwrap_or_else(|| {
                broken = Some(format!("stored ownership setting {o:?}"));
                ObjectOwnership::BucketOwnerEnforced
            })
        });
        let mut bpa = |v: Option<&String>| {
            v.map(|s| {
                parse_bpa(s).unwrap_or_else(|| {
                    broken = Some(format!("stored public access block {s:?}"));
                    PublicAccessBlock::all()
                })
            })
        };
        let bucket_bpa = bpa(rec.settings.get(PUBLIC_ACCESS_BLOCK));
        let policy_locks_owner = rec.setting(POLICY_LOCKS_OWNER) == Some("true");
        let account_bpa = bpa(rec.account_settings.get(PUBLIC_ACCESS_BLOCK));
        BucketCtx {
            versioning: rec.setting(VERSIONING).map(str::to_owned),
            bucket: rec.bucket,
            owner_canonical_id: rec.owner_canonical_id,
            owner_display_name: rec.owner_display_name,
            policy,
            policy_locks_owner,
            acl,
            ownership,
            bucket_bpa,
            account_bpa,
            broken,
            settings: rec.settings,
            lifecycle: std::sync::OnceLock::new(),
        }
    }

    /// The bucket's lifecycle configuration, parsed once per context (`None`: none set, or unreadable).
    pub(crate) fn lifecycle(&self) -> Option<&crate::s3::lifecycle::Lifecycle> {
        self.lifecycle
            .get_or_init(|| {
                self.settings
                    .get(crate::s3::lifecycle::SETTING)
                    .and_then(|raw| serde_json::from_str(raw).ok())
            })
            .as_ref()
    }

    /// Object Ownership as the engine applies it.
    pub fn effective_ownership(&self) -> ObjectOwnership {
        self.ownership.unwrap_or(ObjectOwnership::ObjectWriter)
    }

    /// Whether ACLs decide anything on this bucket (not BucketOwnerEnforced).
    pub fn acls_enabled(&self) -> bool {
        self.effective_ownership() != ObjectOwnership::BucketOwnerEnforced
    }

    /// Block Public Access in force: the bucket's merged with its owner account's.
    pub fn effective_bpa(&self) -> PublicAccessBlock {
        self.bucket_bpa
            .unwrap_or_default()
            .merge(self.account_bpa.unwrap_or_default())
    }

    /// Whether the bucket ACL grants nothing beyond its owner's FULL_CONTROL.
    pub fn acl_is_private(&self) -> bool {
        self.acl.grants.iter().all(|g| {
            matches!(&g.grantee, gatehouse_policy::Grantee::CanonicalUser(id) if *id == self.owner_canonical_id)
        })
    }

    /// The compiled policy, if any.
    pub fn compiled_policy(&self) -> Option<&CompiledPolicy> {
        self.policy.as_ref().map(|(_, p)| p.as_ref())
    }
}

/// The ACL every resource has until one is set: its owner's FULL_CONTROL.
pub fn private_acl(target: AclTarget, owner: &str) -> Acl {
    gatehouse_policy::CannedAcl::Private.to_acl(target, owner, None)
}

/// `BucketOwnerEnforced` | `BucketOwnerPreferred` | `ObjectWriter`.
pub fn parse_ownership(s: &str) -> Option<ObjectOwnership> {
    match s {
        "BucketOwnerEnforced" => Some(ObjectOwnership::BucketOwnerEnforced),
        "BucketOwnerPreferred" => Some(ObjectOwnership::BucketOwnerPreferred),
        "ObjectWriter" => Some(ObjectOwnership::ObjectWriter),
        _ => None,
    }
}

/// The name S3 uses for an ownership setting.
pub fn ownership_name(o: ObjectOwnership) -> &'static str {
    match o {
        ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
        ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
        ObjectOwnership::ObjectWriter => "ObjectWriter",
    }
}

/// The stored form of a PublicAccessBlock: four flags as JSON.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredBpa {
    block_public_acls: bool,
    ignore_public_acls: bool,
    block_public_policy: bool,
    restrict_public_buckets: bool,
}

/// Parses a stored PublicAccessBlock.
pub fn parse_bpa(s: &str) -> Option<PublicAccessBlock> {
    let b: StoredBpa = serde_json::from_str(s).ok()?;
    Some(PublicAccessBlock {
        block_public_acls: b.block_public_acls,
        ignore_public_acls: b.ignore_public_acls,
        block_public_policy: b.block_public_policy,
        restrict_public_buckets: b.restrict_public_buckets,
    })
}

/// The stored form of a PublicAccessBlock.
pub fn bpa_json(b: &PublicAccessBlock) -> String {
    serde_json::to_string(&StoredBpa {
        block_public_acls: b.block_public_acls,
        ignore_public_acls: b.ignore_public_acls,
        block_public_policy: b.block_public_policy,
        restrict_public_buckets: b.restrict_public_buckets,
    })
    .unwrap_or_default()
}

type Entry = (Instant, u64, Option<Arc<BucketCtx>>);

/// Cached bucket contexts by name (see the module doc).
#[derive(Default)]
pub struct BucketCtxCache {
    entries: RwLock<HashMap<String, Entry>>,
}

impl BucketCtxCache {
    /// The context of bucket `name` (`None`: no such bucket).
    pub async fn get(
        &self,
        meta: &Meta,
        name: &str,
    ) -> gatehouse_meta::Result<Option<Arc<BucketCtx>>> {
        let generation = meta.bucket_generation();
        if let Ok(m) = self.entries.read()
            && let Some((at, g, ctx)) = m.get(name)
            && *g == generation
            && at.elapsed() < TTL
        {
            return Ok(ctx.clone());
        }
        let read_at = Instant::now();
        let ctx = meta
            .bucket_record(name)
            .await?
            .map(|r| Arc::new(BucketCtx::from_record(r)));
        if let Some(c) = &ctx
            && let Some(why) = &c.broken
        {
            tracing::error!(
                bucket = name,
                why,
                "bucket access settings cannot be read: requests are denied"
            );
        }
        if let Ok(mut m) = self.entries.write()
            && meta.bucket_generation() == generation
        {
            if m.len() > 50_000 {
                m.clear();
            }
            m.insert(name.to_owned(), (read_at, generation, ctx.clone()));
        }
        Ok(ctx)
    }
}
