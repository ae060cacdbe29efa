//! Object Lock (WORM) in the index: what a version's retention and legal hold forbid, checked inside the
//! transaction that would delete or overwrite the version (`delete_version_in`, `delete_object_in`,
//! `write_over`), and the retention / legal-hold updates, checked and written in one transaction.
//!
//! Rules (AWS's): a legal hold ON forbids deleting the version until it is released. An unexpired COMPLIANCE
//! retention forbids deleting it and any change but a later retain-until date in COMPLIANCE mode, whoever
//! asks. An unexpired GOVERNANCE retention forbids the same unless the caller bypasses governance (the
//! `x-amz-bypass-governance-retention` header from a principal allowed s3:BypassGovernanceRetention; the
//! gateway decides the permission and passes the result here).

use crate::objects::commit;
use crate::*;

/// The GOVERNANCE retention mode.
pub const GOVERNANCE: &str = "GOVERNANCE";
/// The COMPLIANCE retention mode.
pub const COMPLIANCE: &str = "COMPLIANCE";

impl ObjectLock {
    /// Whether the legal hold is ON.
    pub fn legal_hold_on(&self) -> bool {
        self.legal_hold == Some(true)
    }

    /// The retention mode if the retention has not expired at `now_ms`.
    pub fn active_mode(&self, now_ms: i64) -> Option<&str> {
        match (&self.mode, self.retain_until_ms) {
            (Some(m), Some(until)) if until > now_ms => Some(m.as_str()),
            _ => None,
        }
    }

    /// Whether this version may not be deleted (or overwritten) at `now_ms`.
    pub fn forbids_delete(&self, now_ms: i64, bypass_governance: bool) -> bool {
        if self.legal_hold_on() {
            return true;
        }
        match self.active_mode(now_ms) {
            Some(GOVERNANCE) => !bypass_governance,
            Some(_) => true,
            None => false,
        }
    }
}

/// `ObjectLocked` if `rec` may not be deleted now.
pub(crate) fn check_delete(rec: &ObjectRecord, bypass_governance: bool) -> Result<()> {
    if rec
        .lock
        .forbids_delete(gatehouse_core::now_ms(), bypass_governance)
    {
        return Err(MetaError::ObjectLocked);
    }
    Ok(())
}

/// Whether a version's retention may change from `old` to (`mode`, `until`) (both `None`: removed) at `now_ms`.
pub fn retention_change_allowed(
    old: &ObjectLock,
    mode: Option<&str>,
    until: Option<i64>,
    now_ms: i64,
    bypass_governance: bool,
) -> bool {
    let Some(old_mode) = old.active_mode(now_ms) else {
        return true;
    };
    if old_mode == GOVERNANCE && bypass_governance {
        return true;
    }
    // COMPLIANCE (or GOVERNANCE without the bypass): only the same mode with a retain-until date no earlier.
    let old_until = old.retain_until_ms.unwrap_or(i64::MAX);
    mode == Some(old_mode) && until.is_some_and(|u| u >= old_until)
}

impl Meta {
    /// Sets the retention of version `version_id` of `key` to (`mode`, `until`), or removes it (both `None`),
    /// if the rules above allow (`ObjectLocked` otherwise). `false` if there is no such version or it is a
    /// delete marker.
    pub async fn put_object_retention(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
        mode: Option<&str>,
        until: Option<i64>,
        bypass_governance: bool,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let Some((old, _)) = self
            .select_version(&mut tx, bucket, key, version_id)
            .await?
        else {
            return Ok(false);
        };
        if old.delete_marker {
            return Ok(false);
        }
        if !retention_change_allowed(
            &old.lock,
            mode,
            until,
            gatehouse_core::now_ms(),
            bypass_governance,
        ) {
            return Err(MetaError::ObjectLocked);
        }
        sqlx::query(
            "UPDATE objects SET lock_mode = $4, lock_until_ms = $5 \
             WHERE bucket = $1 AND key = $2 AND version_id = $3",
        )
        .bind(bucket)
        .bind(key)
        .bind(version_id)
        .bind(mode)
        .bind(until)
        .execute(&mut *tx)
        .await?;
        commit(tx).await?;
        Ok(true)
    }

    /// Puts the legal hold of version `version_id` of `key` ON or OFF. `false` if there is no such version or
    /// it is a delete marker.
    pub async fn put_object_legal_hold(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
        on: bool,
    ) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE objects SET legal_hold = $4 \
             WHERE bucket = $1 AND key = $2 AND version_id = $3 AND delete_marker = 0",
        )
        .bind(bucket)
        .bind(key)
        .bind(version_id)
        .bind(i64::from(on))
        .execute(&self.writer)
        .await?;
        Ok(res.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(mode: &str, until: i64) -> ObjectLock {
        ObjectLock {
            mode: Some(mode.to_owned()),
            retain_until_ms: Some(until),
            legal_hold: None,
        }
    }

    #[test]
    fn compliance_only_extends() {
        let old = lock(COMPLIANCE, 2_000);
        for bypass in [false, true] {
            assert!(!retention_change_allowed(&old, None, None, 1_000, bypass));
            assert!(!retention_change_allowed(
                &old,
                Some(COMPLIANCE),
                Some(1_999),
                1_000,
                bypass
            ));
            assert!(!retention_change_allowed(
                &old,
                Some(GOVERNANCE),
                Some(3_000),
                1_000,
                bypass
            ));
            assert!(retention_change_allowed(
                &old,
                Some(COMPLIANCE),
                Some(2_000),
                1_000,
                bypass
            ));
            assert!(retention_change_allowed(
                &old,
                Some(COMPLIANCE),
                Some(9_000),
                1_000,
                bypass
            ));
            assert!(old.forbids_delete(1_000, bypass));
        }
        // Expired: anything goes.
        assert!(retention_change_allowed(&old, None, None, 2_000, false));
        assert!(!old.forbids_delete(2_000, false));
    }

    #[test]
    fn governance_needs_the_bypass_to_shorten_remove_or_change_mode() {
        let old = lock(GOVERNANCE, 2_000);
        assert!(!retention_change_allowed(&old, None, None, 1_000, false));
        assert!(!retention_change_allowed(
            &old,
            Some(GOVERNANCE),
            Some(1_500),
            1_000,
            false
        ));
        assert!(!retention_change_allowed(
            &old,
            Some(COMPLIANCE),
            Some(3_000),
            1_000,
            false
        ));
        assert!(retention_change_allowed(
            &old,
            Some(GOVERNANCE),
            Some(3_000),
            1_000,
            false
        ));
        assert!(retention_change_allowed(&old, None, None, 1_000, true));
        assert!(retention_change_allowed(
            &old,
            Some(COMPLIANCE),
            Some(3_000),
            1_000,
            true
        ));
        assert!(old.forbids_delete(1_000, false));
        assert!(!old.forbids_delete(1_000, true));
    }

    #[test]
    fn legal_hold_forbids_delete_even_with_the_bypass() {
        let mut l = ObjectLock {
            legal_hold: Some(true),
            ..Default::default()
        };
        assert!(l.forbids_delete(0, true));
        l.legal_hold = Some(false);
        assert!(!l.forbids_delete(0, false));
    }
}
