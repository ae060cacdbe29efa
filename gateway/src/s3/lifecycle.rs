//! Bucket lifecycle configuration: Put / Get / DeleteBucketLifecycleConfiguration with AWS's validation, stored as
//! the bucket setting `lifecycle` (JSON `Lifecycle`), and which objects a rule applies to (`Rule::matches`).
//!
//! Transitions (and noncurrent-version transitions) must name a storage class the operator configured
//! (`storage_classes`; InvalidStorageClass otherwise, STANDARD included); the worker moves the bytes.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use serde::{Deserialize, Serialize};

use super::{Gatehouse, meta_err, ms_of, ts};
use crate::state::AppState;

/// The bucket setting holding the lifecycle configuration.
pub(crate) const SETTING: &str = "lifecycle";

/// AWS's limits: rules per configuration, characters per rule id, newer noncurrent versions kept.
const MAX_RULES: usize = 1000;
const MAX_ID: usize = 255;
const MAX_NEWER_NONCURRENT: i32 = 100;
const DAY_MS: i64 = 86_400_000;

/// A bucket's lifecycle configuration as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Lifecycle {
    pub rules: Vec<Rule>,
}

/// One rule. `prefix` is the rule-level (legacy) Prefix; `filter` the Filter element; exactly one is set, and
/// Get answers in the same form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Rule {
    pub id: String,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_object_delete_marker: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer_noncurrent_versions: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_days: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<TransitionRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noncurrent_transitions: Vec<NoncurrentTransitionRule>,
}

/// A Transition: to `class`, `days` after creation or on `date_ms`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TransitionRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_ms: Option<i64>,
    pub class: String,
}

/// A NoncurrentVersionTransition: to `class`, `days` after the version became noncurrent, beyond the newest
/// `newer` noncurrent versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NoncurrentTransitionRule {
    pub days: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer: Option<i32>,
    pub class: String,
}

/// A rule's Filter: at most one of its parts, or an `And` of several (an empty Filter matches everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Filter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_gt: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_lt: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub and: Option<And>,
}

/// The `And` operator of a Filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct And {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_gt: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_lt: Option<i64>,
}

impl Rule {
    /// Whether the rule applies to an object with this key, size and tags.
    pub(crate) fn matches(&self, key: &str, size: i64, tags: &[(String, String)]) -> bool {
        let prefix_ok = |p: &Option<String>| p.as_deref().is_none_or(|p| key.starts_with(p));
        let gt_ok = |g: Option<i64>| g.is_none_or(|g| size > g);
        let lt_ok = |l: Option<i64>| l.is_none_or(|l| size < l);
        let has = |t: &(String, String)| tags.iter().any(|x| x == t);
        if !prefix_ok(&self.prefix) {
            return false;
        }
        let Some(f) = &self.filter else {
            return true;
        };
        if let Some(a) = &f.and {
            return prefix_ok(&a.prefix)
                && a.tags.iter().all(has)
                && gt_ok(a.size_gt)
                && lt_ok(a.size_lt);
        }
        prefix_ok(&f.prefix)
            && f.tag.as_ref().is_none_or(has)
            && gt_ok(f.size_gt)
            && lt_ok(f.size_lt)
    }

    /// Whether the rule filters on tags (AWS refuses that with delete-marker and multipart actions).
    fn has_tag_filter(&self) -> bool {
        self.filter
            .as_ref()
            .is_some_and(|f| f.tag.is_some() || f.and.as_ref().is_some_and(|a| !a.tags.is_empty()))
    }

    /// Whether the rule filters on object size.
    fn has_size_filter(&self) -> bool {
        self.filter.as_ref().is_some_and(|f| {
            f.size_gt.is_some()
                || f.size_lt.is_some()
                || f.and
                    .as_ref()
                    .is_some_and(|a| a.size_gt.is_some() || a.size_lt.is_some())
        })
    }
}

/// The lifecycle configuration of `bucket`, if set; NoSuchBucket if the bucket does not exist.
pub(crate) async fn bucket_lifecycle(
    state: &AppState,
    bucket: &str,
) -> S3Result<Option<Lifecycle>> {
    let (_, value) = state
        .meta
        .get_bucket_with_setting(bucket, SETTING)
        .await
        .map_err(meta_err)?
        .ok_or_else(|| s3_error!(NoSuchBucket, "The specified bucket does not exist"))?;
    value.map(|v| parse_setting(bucket, &v)).transpose()
}

/// The stored setting's value.
pub(crate) fn parse_setting(bucket: &str, v: &str) -> S3Result<Lifecycle> {
    serde_json::from_str(v).map_err(|e| {
        tracing::error!(bucket, error = %e, "unreadable lifecycle setting");
        s3_error!(
            InternalError,
            "We encountered an internal error. Please try again."
        )
    })
}

fn malformed() -> s3s::S3Error {
    s3_error!(
        MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema"
    )
}

fn tag_of(t: &Tag) -> S3Result<(String, String)> {
    match (&t.key, &t.value) {
        (Some(k), Some(v)) => Ok((k.clone(), v.clone())),
        _ => Err(malformed()),
    }
}

fn check_size(n: Option<i64>) -> S3Result<()> {
    if n.is_some_and(|n| n < 0) {
        return Err(s3_error!(
            InvalidArgument,
            "Object size filters must be non-negative"
        ));
    }
    Ok(())
}

fn check_size_range(gt: Option<i64>, lt: Option<i64>) -> S3Result<()> {
    check_size(gt)?;
    check_size(lt)?;
    if let (Some(g), Some(l)) = (gt, lt)
        && g >= l
    {
        return Err(s3_error!(
            InvalidArgument,
            "ObjectSizeGreaterThan must be less than ObjectSizeLessThan"
        ));
    }
    Ok(())
}

/// Validates a Filter element.
fn filter_of(f: &LifecycleRuleFilter) -> S3Result<Filter> {
    let parts = usize::from(f.prefix.is_some())
        + usize::from(f.tag.is_some())
        + usize::from(f.object_size_greater_than.is_some())
        + usize::from(f.object_size_less_than.is_some())
        + usize::from(f.and.is_some());
    if parts > 1 {
        return Err(malformed());
    }
    let mut out = Filter {
        prefix: f.prefix.clone(),
        tag: f.tag.as_ref().map(tag_of).transpose()?,
        size_gt: f.object_size_greater_than,
        size_lt: f.object_size_less_than,
        and: None,
    };
    check_size_range(out.size_gt, out.size_lt)?;
    if let Some(a) = &f.and {
        let tags = a
            .tags
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(tag_of)
            .collect::<S3Result<Vec<_>>>()?;
        for (i, t) in tags.iter().enumerate() {
            if tags[..i].iter().any(|u| u.0 == t.0) {
                return Err(s3_error!(
                    InvalidArgument,
                    "Duplicate Tag Keys are not allowed."
                ));
            }
        }
        check_size_range(a.object_size_greater_than, a.object_size_less_than)?;
        out.and = Some(And {
            prefix: a.prefix.clone(),
            tags,
            size_gt: a.object_size_greater_than,
            size_lt: a.object_size_less_than,
        });
    }
    Ok(out)
}

fn positive(n: Option<i32>, what: &'static str) -> S3Result<i32> {
    match n {
        Some(n) if n > 0 => Ok(n),
        _ => Err(s3_error!(
            InvalidArgument,
            "{what} must be a positive integer"
        )),
    }
}

/// The class a transition names: one the operator configured (`classes`), else InvalidStorageClass.
fn target_class(sc: Option<&TransitionStorageClass>, classes: &[String]) -> S3Result<String> {
    let sc = sc.ok_or_else(malformed)?.as_str();
    if classes.iter().any(|c| c == sc) {
        Ok(sc.to_owned())
    } else {
        Err(s3_error!(
            InvalidStorageClass,
            "The storage class you specified is not valid"
        ))
    }
}

/// Validates a Transition: Days (zero or more) or a Date at midnight, and a configured class.
fn transition_of(t: &Transition, classes: &[String]) -> S3Result<TransitionRule> {
    if t.days.is_some() == t.date.is_some() {
        return Err(malformed());
    }
    if t.days.is_some_and(|d| d < 0) {
        return Err(s3_error!(
            InvalidArgument,
            "'Days' in Transition action must be nonnegative"
        ));
    }
    let date_ms = t.date.as_ref().map(ms_of);
    if date_ms.is_some_and(|ms| ms.rem_euclid(DAY_MS) != 0) {
        return Err(s3_error!(InvalidArgument, "'Date' must be at midnight GMT"));
    }
    Ok(TransitionRule {
        days: t.days,
        date_ms,
        class: target_class(t.storage_class.as_ref(), classes)?,
    })
}

/// Validates a NoncurrentVersionTransition.
fn noncurrent_transition_of(
    t: &NoncurrentVersionTransition,
    classes: &[String],
) -> S3Result<NoncurrentTransitionRule> {
    let days = match t.noncurrent_days {
        Some(d) if d >= 0 => d,
        Some(_) => {
            return Err(s3_error!(
                InvalidArgument,
                "'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative"
            ));
        }
        None => return Err(malformed()),
    };
    if t.newer_noncurrent_versions
        .is_some_and(|k| !(1..=MAX_NEWER_NONCURRENT).contains(&k))
    {
        return Err(s3_error!(
            InvalidArgument,
            "NewerNoncurrentVersions must be between 1 and 100"
        ));
    }
    Ok(NoncurrentTransitionRule {
        days,
        newer: t.newer_noncurrent_versions,
        class: target_class(t.storage_class.as_ref(), classes)?,
    })
}

/// Validates one rule as AWS does and converts it to the stored form (`classes`: the configured storage
/// classes a transition may name).
fn rule_of(classes: &[String], r: &LifecycleRule) -> S3Result<Rule> {
    let id = match &r.id {
        Some(id) if id.chars().count() > MAX_ID => {
            return Err(s3_error!(
                InvalidArgument,
                "ID length should not exceed allowed limit of 255"
            ));
        }
        Some(id) => id.clone(),
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let enabled = match r.status.as_str() {
        ExpirationStatus::ENABLED => true,
        ExpirationStatus::DISABLED => false,
        _ => return Err(malformed()),
    };
    if r.prefix.is_some() == r.filter.is_some() {
        return Err(malformed());
    }
    let mut rule = Rule {
        id,
        enabled,
        prefix: r.prefix.clone(),
        filter: r.filter.as_ref().map(filter_of).transpose()?,
        ..Default::default()
    };
    rule.transitions = r
        .transitions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|t| transition_of(t, classes))
        .collect::<S3Result<_>>()?;
    rule.noncurrent_transitions = r
        .noncurrent_version_transitions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|t| noncurrent_transition_of(t, classes))
        .collect::<S3Result<_>>()?;
    let distinct = |cs: Vec<&String>| cs.iter().enumerate().all(|(i, c)| !cs[..i].contains(c));
    if !distinct(rule.transitions.iter().map(|t| &t.class).collect())
        || !distinct(
            rule.noncurrent_transitions
                .iter()
                .map(|t| &t.class)
                .collect(),
        )
    {
        return Err(s3_error!(
            InvalidArgument,
            "'StorageClass' must be different for 'Transition' actions in same 'Rule'"
        ));
    }
    if let Some(e) = &r.expiration {
        let given = usize::from(e.days.is_some())
            + usize::from(e.date.is_some())
            + usize::from(e.expired_object_delete_marker.is_some());
        if given != 1 {
            return Err(malformed());
        }
        if e.days.is_some() {
            rule.expiration_days = Some(positive(e.days, "'Days' for Expiration action")?);
        }
        if let Some(d) = &e.date {
            let ms = ms_of(d);
            if ms.rem_euclid(DAY_MS) != 0 {
                return Err(s3_error!(InvalidArgument, "'Date' must be at midnight GMT"));
            }
            rule.expiration_date_ms = Some(ms);
        }
        if let Some(m) = e.expired_object_delete_marker {
            if rule.has_tag_filter() {
                return Err(s3_error!(
                    InvalidRequest,
                    "ExpiredObjectDeleteMarker cannot be specified with a Tag filter"
                ));
            }
            rule.expired_object_delete_marker = Some(m);
        }
    }
    if let Some(n) = &r.noncurrent_version_expiration {
        rule.noncurrent_days = Some(positive(
            n.noncurrent_days,
            "'NoncurrentDays' for NoncurrentVersionExpiration action",
        )?);
        if let Some(k) = n.newer_noncurrent_versions {
            if !(1..=MAX_NEWER_NONCURRENT).contains(&k) {
                return Err(s3_error!(
                    InvalidArgument,
                    "NewerNoncurrentVersions must be between 1 and 100"
                ));
            }
            rule.newer_noncurrent_versions = Some(k);
        }
    }
    if let Some(a) = &r.abort_incomplete_multipart_upload {
        if rule.has_tag_filter() || rule.has_size_filter() {
            return Err(s3_error!(
                InvalidRequest,
                "Tag-based and object size filters cannot be used with AbortIncompleteMultipartUpload action"
            ));
        }
        rule.abort_days = Some(positive(
            a.days_after_initiation,
            "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action",
        )?);
    }
    if rule.expiration_days.is_none()
        && rule.expiration_date_ms.is_none()
        && rule.expired_object_delete_marker.is_none()
        && rule.noncurrent_days.is_none()
        && rule.abort_days.is_none()
        && rule.transitions.is_empty()
        && rule.noncurrent_transitions.is_empty()
    {
        return Err(s3_error!(
            InvalidRequest,
            "At least one action needs to be specified in a rule"
        ));
    }
    Ok(rule)
}

/// Validates a whole configuration.
pub(crate) fn validate(
    c: &BucketLifecycleConfiguration,
    classes: &[String],
) -> S3Result<Lifecycle> {
    if c.rules.is_empty() || c.rules.len() > MAX_RULES {
        return Err(malformed());
    }
    let rules = c
        .rules
        .iter()
        .map(|r| rule_of(classes, r))
        .collect::<S3Result<Vec<_>>>()?;
    for (i, r) in rules.iter().enumerate() {
        if rules[..i].iter().any(|o| o.id == r.id) {
            return Err(s3_error!(
                InvalidArgument,
                "Rule ID must be unique. Found same ID for more than one rule"
            ));
        }
    }
    Ok(Lifecycle { rules })
}

fn tag_dto((k, v): &(String, String)) -> Tag {
    Tag {
        key: Some(k.clone()),
        value: Some(v.clone()),
    }
}

/// A stored rule in the s3s shape (as it was given).
fn rule_dto(r: &Rule) -> LifecycleRule {
    let expiration = (r.expiration_days.is_some()
        || r.expiration_date_ms.is_some()
        || r.expired_object_delete_marker.is_some())
    .then(|| LifecycleExpiration {
        days: r.expiration_days,
        date: r.expiration_date_ms.map(ts),
        expired_object_delete_marker: r.expired_object_delete_marker,
    });
    LifecycleRule {
        id: Some(r.id.clone()),
        status: ExpirationStatus::from_static(if r.enabled {
            ExpirationStatus::ENABLED
        } else {
            ExpirationStatus::DISABLED
        }),
        prefix: r.prefix.clone(),
        filter: r.filter.as_ref().map(|f| LifecycleRuleFilter {
            prefix: f.prefix.clone(),
            tag: f.tag.as_ref().map(tag_dto),
            object_size_greater_than: f.size_gt,
            object_size_less_than: f.size_lt,
            and: f.and.as_ref().map(|a| LifecycleRuleAndOperator {
                prefix: a.prefix.clone(),
                tags: (!a.tags.is_empty()).then(|| a.tags.iter().map(tag_dto).collect()),
                object_size_greater_than: a.size_gt,
                object_size_less_than: a.size_lt,
            }),
        }),
        expiration,
        noncurrent_version_expiration: r.noncurrent_days.map(|d| NoncurrentVersionExpiration {
            noncurrent_days: Some(d),
            newer_noncurrent_versions: r.newer_noncurrent_versions,
        }),
        abort_incomplete_multipart_upload: r.abort_days.map(|d| AbortIncompleteMultipartUpload {
            days_after_initiation: Some(d),
        }),
        noncurrent_version_transitions: (!r.noncurrent_transitions.is_empty()).then(|| {
            r.noncurrent_transitions
                .iter()
                .map(|t| NoncurrentVersionTransition {
                    noncurrent_days: Some(t.days),
                    newer_noncurrent_versions: t.newer,
                    storage_class: Some(TransitionStorageClass::from(t.class.clone())),
                })
                .collect()
        }),
        transitions: (!r.transitions.is_empty()).then(|| {
            r.transitions
                .iter()
                .map(|t| Transition {
                    days: t.days,
                    date: t.date_ms.map(ts),
                    storage_class: Some(TransitionStorageClass::from(t.class.clone())),
                })
                .collect()
        }),
    }
}

/// PutBucketLifecycleConfiguration.
pub(crate) async fn put_bucket_lifecycle_configuration(
    g: &Gatehouse,
    req: S3Request<PutBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
    let i = &req.input;
    super::lock::require_digest(&req.headers)?;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let c = i.lifecycle_configuration.as_ref().ok_or_else(malformed)?;
    let classes: Vec<String> = g
        .state
        .config
        .storage_classes
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let lc = validate(c, &classes)?;
    let value = serde_json::to_string(&lc).map_err(|_| {
        s3_error!(
            InternalError,
            "We encountered an internal error. Please try again."
        )
    })?;
    g.state
        .meta
        .put_bucket_setting(&i.bucket, SETTING, &value)
        .await
        .map_err(meta_err)?;
    Ok(S3Response::new(
        PutBucketLifecycleConfigurationOutput::default(),
    ))
}

/// GetBucketLifecycleConfiguration.
pub(crate) async fn get_bucket_lifecycle_configuration(
    g: &Gatehouse,
    req: S3Request<GetBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    let lc = bucket_lifecycle(&g.state, &req.input.bucket)
        .await?
        .ok_or_else(|| {
            s3_error!(
                NoSuchLifecycleConfiguration,
                "The lifecycle configuration does not exist"
            )
        })?;
    Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
        rules: Some(lc.rules.iter().map(rule_dto).collect()),
        ..Default::default()
    }))
}

/// DeleteBucketLifecycle: 204 whether or not a configuration was set.
pub(crate) async fn delete_bucket_lifecycle(
    g: &Gatehouse,
    req: S3Request<DeleteBucketLifecycleInput>,
) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
    let bucket = &req.input.bucket;
    super::request_bucket(&g.state, &req.extensions, bucket).await?;
    g.state
        .meta
        .delete_bucket_setting(bucket, SETTING)
        .await
        .map_err(meta_err)?;
    let mut resp = S3Response::new(DeleteBucketLifecycleOutput {});
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: Option<&str>, filter: Option<LifecycleRuleFilter>) -> LifecycleRule {
        LifecycleRule {
            id: Some("r".into()),
            status: ExpirationStatus::from_static(ExpirationStatus::ENABLED),
            prefix: prefix.map(str::to_owned),
            filter,
            expiration: Some(LifecycleExpiration {
                days: Some(1),
                ..Default::default()
            }),
            abort_incomplete_multipart_upload: None,
            noncurrent_version_expiration: None,
            noncurrent_version_transitions: None,
            transitions: None,
        }
    }

    fn code(r: S3Result<Rule>) -> String {
        r.err()
            .map(|e| e.code().as_str().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn filters_match_prefix_tags_and_sizes() {
        let t = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let r = rule_of(&[], &rule(Some("logs/"), None)).unwrap_or_default();
        assert!(r.matches("logs/a", 1, &[]));
        assert!(!r.matches("data/a", 1, &[]));
        let and = LifecycleRuleFilter {
            and: Some(LifecycleRuleAndOperator {
                prefix: Some("p/".into()),
                tags: Some(vec![tag_dto(&t("a", "1")), tag_dto(&t("b", "2"))]),
                object_size_greater_than: Some(10),
                object_size_less_than: Some(100),
            }),
            ..Default::default()
        };
        let r = rule_of(&[], &rule(None, Some(and))).unwrap_or_default();
        let tags = [t("b", "2"), t("a", "1"), t("c", "3")];
        assert!(r.matches("p/x", 50, &tags));
        assert!(!r.matches("p/x", 10, &tags));
        assert!(!r.matches("p/x", 100, &tags));
        assert!(!r.matches("p/x", 50, &tags[1..]));
        assert!(!r.matches("q/x", 50, &tags));
        let empty =
            rule_of(&[], &rule(None, Some(LifecycleRuleFilter::default()))).unwrap_or_default();
        assert!(empty.matches("anything", 0, &[]));
    }

    #[test]
    fn aws_validation() {
        // Prefix and Filter both, or neither.
        assert_eq!(
            code(rule_of(
                &[],
                &rule(Some("a"), Some(LifecycleRuleFilter::default()))
            )),
            "MalformedXML"
        );
        assert_eq!(code(rule_of(&[], &rule(None, None))), "MalformedXML");
        // Two filter parts without And.
        let two = LifecycleRuleFilter {
            prefix: Some("a".into()),
            object_size_less_than: Some(5),
            ..Default::default()
        };
        assert_eq!(code(rule_of(&[], &rule(None, Some(two)))), "MalformedXML");
        let mut r = rule(Some("a"), None);
        r.id = Some("x".repeat(256));
        assert_eq!(code(rule_of(&[], &r)), "InvalidArgument");
        let mut r = rule(Some("a"), None);
        r.status = ExpirationStatus::from("enabled".to_owned());
        assert_eq!(code(rule_of(&[], &r)), "MalformedXML");
        let mut r = rule(Some("a"), None);
        r.expiration = Some(LifecycleExpiration {
            days: Some(0),
            ..Default::default()
        });
        assert_eq!(code(rule_of(&[], &r)), "InvalidArgument");
        let mut r = rule(Some("a"), None);
        r.expiration = Some(LifecycleExpiration {
            days: Some(1),
            expired_object_delete_marker: Some(true),
            ..Default::default()
        });
        assert_eq!(code(rule_of(&[], &r)), "MalformedXML");
        let mut r = rule(Some("a"), None);
        r.expiration = None;
        assert_eq!(code(rule_of(&[], &r)), "InvalidRequest");
        let mut r = rule(Some("a"), None);
        r.transitions = Some(vec![Transition {
            days: Some(30),
            storage_class: Some(TransitionStorageClass::from("GLACIER".to_owned())),
            date: None,
        }]);
        assert_eq!(code(rule_of(&[], &r)), "InvalidStorageClass");
        let glacier = ["GLACIER".to_owned()];
        let stored = rule_of(&glacier, &r).unwrap_or_default();
        assert_eq!(stored.transitions[0].class, "GLACIER");
        assert_eq!(rule_dto(&stored).transitions, r.transitions);
        let mut two = r.clone();
        two.transitions = Some(vec![
            r.transitions.clone().unwrap_or_default()[0].clone(),
            Transition {
                days: Some(60),
                storage_class: Some(TransitionStorageClass::from("GLACIER".to_owned())),
                date: None,
            },
        ]);
        assert_eq!(code(rule_of(&glacier, &two)), "InvalidArgument");
        let mut neg = r.clone();
        neg.transitions = Some(vec![Transition {
            days: Some(-1),
            storage_class: Some(TransitionStorageClass::from("GLACIER".to_owned())),
            date: None,
        }]);
        assert_eq!(code(rule_of(&glacier, &neg)), "InvalidArgument");
        let mut r = rule(Some("a"), None);
        r.noncurrent_version_expiration = Some(NoncurrentVersionExpiration {
            noncurrent_days: Some(1),
            newer_noncurrent_versions: Some(101),
        });
        assert_eq!(code(rule_of(&[], &r)), "InvalidArgument");
        let tagged = LifecycleRuleFilter {
            tag: Some(tag_dto(&("k".into(), "v".into()))),
            ..Default::default()
        };
        let mut r = rule(None, Some(tagged));
        r.abort_incomplete_multipart_upload = Some(AbortIncompleteMultipartUpload {
            days_after_initiation: Some(1),
        });
        assert_eq!(code(rule_of(&[], &r)), "InvalidRequest");
        // Unique ids.
        let c = BucketLifecycleConfiguration {
            rules: vec![rule(Some("a"), None), rule(Some("b"), None)],
        };
        assert_eq!(
            validate(&c, &[])
                .err()
                .map(|e| e.code().as_str().to_owned()),
            Some("InvalidArgument".to_owned())
        );
        // A generated id when none is given; the stored form renders back as given.
        let mut r = rule(Some("a"), None);
        r.id = None;
        let stored = rule_of(&[], &r).unwrap_or_default();
        assert!(!stored.id.is_empty());
        let back = rule_dto(&stored);
        assert_eq!(
            (back.prefix.as_deref(), back.filter.is_none()),
            (Some("a"), true)
        );
    }
}
