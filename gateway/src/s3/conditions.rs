//! Conditional requests: If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since on reads
//! (RFC 9110 precedence, as S3 applies it) and on copy sources.

use s3s::dto::{ETagCondition, Timestamp};
use s3s::{S3Error, S3Result, s3_error};

use gatehouse_meta::ObjectRecord;

use super::{etag_of, ms_of, ts};

/// The four read preconditions.
#[derive(Debug, Default)]
pub(crate) struct ReadConditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
    pub if_unmodified_since: Option<&'a Timestamp>,
}

/// Outcome of a failed precondition.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failed {
    /// 412
    Precondition,
    /// 304
    NotModified,
}

fn matches(cond: &ETagCondition, rec: &ObjectRecord) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == etag_of(&rec.etag).value(),
    }
}

/// HTTP dates have second precision: compare whole seconds.
fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// Evaluates the preconditions against the current object.
pub(crate) fn evaluate(c: &ReadConditions<'_>, rec: &ObjectRecord) -> Result<(), Failed> {
    let modified = secs(rec.last_modified_ms);
    match c.if_match {
        Some(m) if !matches(m, rec) => return Err(Failed::Precondition),
        Some(_) => {}
        None => {
            if let Some(t) = c.if_unmodified_since
                && modified > secs(ms_of(t))
            {
                return Err(Failed::Precondition);
            }
        }
    }
    match c.if_none_match {
        Some(m) if matches(m, rec) => return Err(Failed::NotModified),
        Some(_) => {}
        None => {
            if let Some(t) = c.if_modified_since
                && modified <= secs(ms_of(t))
            {
                return Err(Failed::NotModified);
            }
        }
    }
    Ok(())
}

/// The S3 error for a failed read precondition (304 carries the validators as headers).
pub(crate) fn read_error(f: Failed, rec: &ObjectRecord) -> S3Error {
    match f {
        Failed::Precondition => {
            s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            )
        }
        Failed::NotModified => {
            let mut e = s3_error!(NotModified);
            let mut h = http::HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(&rec.etag) {
                h.insert(http::header::ETAG, v);
            }
            let mut buf = Vec::new();
            if ts(rec.last_modified_ms)
                .format(s3s::dto::TimestampFormat::HttpDate, &mut buf)
                .is_ok()
                && let Ok(v) = http::HeaderValue::from_bytes(&buf)
            {
                h.insert(http::header::LAST_MODIFIED, v);
            }
            e.set_headers(h);
            e
        }
    }
}

/// Copy-source preconditions: every failure is 412.
pub(crate) fn evaluate_copy_source(c: &ReadConditions<'_>, rec: &ObjectRecord) -> S3Result<()> {
    evaluate(c, rec).map_err(|_| {
        s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::dto::ETag;

    fn rec(etag: &str, ms: i64) -> ObjectRecord {
        ObjectRecord {
            bucket: "b".into(),
            key: "k".into(),
            version_id: "null".into(),
            size: 0,
            etag: format!("\"{etag}\""),
            last_modified_ms: ms,
            headers: Default::default(),
            user_meta: Default::default(),
            checksums: Default::default(),
            segments: vec![],
            storage_class: "STANDARD".into(),
            owner_canonical_id: "o".into(),
            inline_data: None,
            tags: vec![],
            upload_id: None,
            delete_marker: false,
            lock: Default::default(),
            sse: None,
        }
    }

    #[test]
    fn precedence_follows_rfc_9110() {
        let r = rec("abc", 10_500);
        let same = ETagCondition::ETag(ETag::Strong("abc".into()));
        let other = ETagCondition::ETag(ETag::Strong("zzz".into()));
        let before = ts(5_000);
        let after = ts(20_000);
        // If-Match true wins over a failing If-Unmodified-Since.
        let c = ReadConditions {
            if_match: Some(&same),
            if_unmodified_since: Some(&before),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &r), Ok(()));
        let c = ReadConditions {
            if_match: Some(&other),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &r), Err(Failed::Precondition));
        let c = ReadConditions {
            if_unmodified_since: Some(&before),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &r), Err(Failed::Precondition));
        // If-None-Match false wins over If-Modified-Since.
        let c = ReadConditions {
            if_none_match: Some(&other),
            if_modified_since: Some(&after),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &r), Ok(()));
        let c = ReadConditions {
            if_none_match: Some(&same),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &r), Err(Failed::NotModified));
        let c = ReadConditions {
            if_modified_since: Some(&after),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &r), Err(Failed::NotModified));
        // Same second counts as not modified.
        let c = ReadConditions {
            if_modified_since: Some(&ts(10_000)),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &r), Err(Failed::NotModified));
        let c = ReadConditions {
            if_none_match: Some(&ETagCondition::Any),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &r), Err(Failed::NotModified));
    }
}
