//! Customer managed policies and their versions, attachments of managed policies, and inline policies.

use sqlx::any::AnyRow;

use super::*;
use crate::store::is_unique_violation;

/// The ARN prefix of AWS managed policies (which live in the iam crate, not here).
pub const AWS_MANAGED_PREFIX: &str = "arn:aws:iam::aws:policy/";

/// Columns of a policy with its derived counts (`p` is `iam_policies`).
const POLICY_SELECT: &str = "SELECT p.policy_id, p.account_id, p.name, p.name_lower, p.path, p.arn, \
     p.description, p.default_version, p.created_ms, p.updated_ms, \
     (SELECT COUNT(*) FROM iam_user_attached a WHERE a.policy_id = p.policy_id) \
     + (SELECT COUNT(*) FROM iam_group_attached a WHERE a.policy_id = p.policy_id) \
     + (SELECT COUNT(*) FROM iam_role_attached a WHERE a.policy_id = p.policy_id) AS attachment_count, \
     (SELECT COUNT(*) FROM iam_users u WHERE u.account_id = p.account_id AND u.boundary_arn = p.arn) \
     + (SELECT COUNT(*) FROM iam_roles r WHERE r.account_id = p.account_id AND r.boundary_arn = p.arn) \
     AS boundary_usage_count FROM iam_policies p";

fn policy_from_row(row: &AnyRow) -> Result<ManagedPolicy, MetaError> {
    Ok(ManagedPolicy {
        account_id: get(row, "account_id")?,
        policy_id: get(row, "policy_id")?,
        name: get(row, "name")?,
        path: get(row, "path")?,
        arn: get(row, "arn")?,
        description: get(row, "description")?,
        default_version: get(row, "default_version")?,
        attachment_count: get(row, "attachment_count")?,
        boundary_usage_count: get(row, "boundary_usage_count")?,
        created_ms: get(row, "created_ms")?,
        updated_ms: get(row, "updated_ms")?,
    })
}

fn version_from_row(row: &AnyRow, default: i64) -> Result<PolicyVersionRecord, MetaError> {
    let version: i64 = get(row, "version")?;
    Ok(PolicyVersionRecord {
        version,
        document: get(row, "document")?,
        created_ms: get(row, "created_ms")?,
        is_default: version == default,
    })
}

/// AWS's message for an ARN that names no policy of the account.
pub(crate) fn no_such_policy(arn: &str) -> IamDbError {
    IamDbError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
}

/// The users, groups and roles a managed policy is attached to: (name, unique id) each, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyEntities {
    pub users: Vec<(String, String)>,
    pub groups: Vec<(String, String)>,
    pub roles: Vec<(String, String)>,
}

impl Meta {
    /// Creates a customer managed policy with `document` as its version v1 (the default).
    /// `policy.default_version` and the counts are ignored.
    pub async fn create_managed_policy(
        &self,
        policy: &ManagedPolicy,
        document: &str,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let res = sqlx::query(
            "INSERT INTO iam_policies (policy_id, account_id, name, name_lower, path, arn, description, \
             default_version, next_version, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 2, $8, $8)",
        )
        .bind(&policy.policy_id)
        .bind(&policy.account_id)
        .bind(&policy.name)
        .bind(lower(&policy.name))
        .bind(&policy.path)
        .bind(&policy.arn)
        .bind(policy.description.as_deref())
        .bind(policy.created_ms)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(IamDbError::AlreadyExists(format!(
                    "A policy called {} already exists. Duplicate names are not allowed.",
                    policy.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        sqlx::query(
            "INSERT INTO iam_policy_versions (policy_id, version, document, created_ms) VALUES ($1, 1, $2, $3)",
        )
        .bind(&policy.policy_id)
        .bind(document)
        .bind(policy.created_ms)
        .execute(&mut *tx)
        .await?;
        self.iam_commit(tx, &policy.account_id).await
    }

    /// The account's customer managed policy with this ARN.
    pub async fn get_managed_policy(
        &self,
        account_id: &str,
        arn: &str,
    ) -> IamResult<Option<ManagedPolicy>> {
        let sql = format!("{POLICY_SELECT} WHERE p.account_id = $1 AND p.arn = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(arn)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(policy_from_row).transpose()?)
    }

    /// The account's customer managed policies under `path_prefix` (only attached ones if asked), by name.
    pub async fn list_managed_policies(
        &self,
        account_id: &str,
        path_prefix: &str,
        only_attached: bool,
        page: PageReq<'_>,
    ) -> IamResult<Page<ManagedPolicy>> {
        let max = page.max_items.max(1);
        let sql = format!(
            "SELECT * FROM ({POLICY_SELECT} WHERE p.account_id = $1 \
             AND substr(p.path, 1, length($2)) = $2 AND p.name_lower > $3) q {} \
             ORDER BY name_lower LIMIT $4",
            if only_attached {
                "WHERE attachment_count > 0"
            } else {
                ""
            }
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(path_prefix)
            .bind(page.marker.unwrap_or(""))
            .bind((max + 1) as i64)
            .fetch_all(&self.pool)
            .await?;
        let items = rows
            .iter()
            .map(policy_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, max, |p| lower(&p.name)))
    }

    /// The policy row (id, default version, next version), locked, or `NoSuchEntity`.
    async fn policy_in(
        &self,
        tx: &mut Tx,
        account_id: &str,
        arn: &str,
    ) -> IamResult<(String, i64, i64)> {
        let sql = format!(
            "SELECT policy_id, default_version, next_version FROM iam_policies \
             WHERE account_id = $1 AND arn = $2{}",
            self.for_update()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(arn)
            .fetch_optional(&mut **tx)
            .await?;
        match row {
            Some(r) => Ok((
                get(&r, "policy_id")?,
                get(&r, "default_version")?,
                get(&r, "next_version")?,
            )),
            None => Err(no_such_policy(arn)),
        }
    }

    /// For a boundary or attachment: the policy id of a customer policy of the account (`NoSuchEntity`
    /// if absent), `None` for an AWS managed ARN (which the caller has checked).
    pub(crate) async fn check_policy_exists_in(
        &self,
        tx: &mut Tx,
        account_id: &str,
        arn: &str,
    ) -> IamResult<Option<String>> {
        if arn.starts_with(AWS_MANAGED_PREFIX) {
            return Ok(None);
        }
        Ok(Some(self.policy_in(tx, account_id, arn).await?.0))
    }

    /// Deletes a customer managed policy: `DeleteConflict` while attached, used as a boundary, or holding
    /// versions besides the default.
    pub async fn delete_managed_policy(&self, account_id: &str, arn: &str) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (id, _, _) = self.policy_in(&mut tx, account_id, arn).await?;
        let sql = format!("SELECT * FROM ({POLICY_SELECT} WHERE p.policy_id = $1) q");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        let p = policy_from_row(&row)?;
        if p.attachment_count > 0 || p.boundary_usage_count > 0 {
            return Err(IamDbError::DeleteConflict(
                "Cannot delete a policy attached to entities.".into(),
            ));
        }
        let row = sqlx::query("SELECT COUNT(*) AS n FROM iam_policy_versions WHERE policy_id = $1")
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        if count(&row)? > 1 {
            return Err(IamDbError::DeleteConflict(
                "This policy has more than one version. Before you delete a policy, you must delete the \
                 policy's versions. The default version is deleted with the policy."
                    .into(),
            ));
        }
        for sql in [
            "DELETE FROM iam_policy_tags WHERE principal_id = $1",
            "DELETE FROM iam_policy_versions WHERE policy_id = $1",
            "DELETE FROM iam_policies WHERE policy_id = $1",
        ] {
            sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
        }
        self.iam_commit(tx, account_id).await
    }

    /// Adds a version (the next number, never reused); `LimitExceeded` at five versions.
    pub async fn create_policy_version(
        &self,
        account_id: &str,
        arn: &str,
        document: &str,
        set_as_default: bool,
        created_ms: i64,
    ) -> IamResult<PolicyVersionRecord> {
        let mut tx = self.iam_begin().await?;
        let (id, default, next) = self.policy_in(&mut tx, account_id, arn).await?;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM iam_policy_versions WHERE policy_id = $1")
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        if count(&row)? >= MAX_POLICY_VERSIONS {
            return Err(IamDbError::LimitExceeded(format!(
                "A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you create a new \
                 version, you must delete an existing version."
            )));
        }
        sqlx::query(
            "INSERT INTO iam_policy_versions (policy_id, version, document, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(next)
        .bind(document)
        .bind(created_ms)
        .execute(&mut *tx)
        .await?;
        let new_default = if set_as_default { next } else { default };
        sqlx::query(
            "UPDATE iam_policies SET next_version = $1, default_version = $2, updated_ms = $3 \
             WHERE policy_id = $4",
        )
        .bind(next + 1)
        .bind(new_default)
        .bind(created_ms)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        self.iam_commit(tx, account_id).await?;
        Ok(PolicyVersionRecord {
            version: next,
            document: document.to_string(),
            created_ms,
            is_default: set_as_default,
        })
    }

    /// One version of a customer managed policy.
    pub async fn get_policy_version(
        &self,
        account_id: &str,
        arn: &str,
        version: i64,
    ) -> IamResult<PolicyVersionRecord> {
        let row = sqlx::query(
            "SELECT v.version, v.document, v.created_ms, p.default_version FROM iam_policy_versions v \
             JOIN iam_policies p ON p.policy_id = v.policy_id \
             WHERE p.account_id = $1 AND p.arn = $2 AND v.version = $3",
        )
        .bind(account_id)
        .bind(arn)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(version_from_row(&r, get(&r, "default_version")?)?),
            None => {
                if self.get_managed_policy(account_id, arn).await?.is_none() {
                    return Err(no_such_policy(arn));
                }
                Err(IamDbError::NoSuchEntity(format!(
                    "Policy {arn} version v{version} does not exist or is not attachable."
                )))
            }
        }
    }

    /// All versions of a customer managed policy, newest first.
    pub async fn list_policy_versions(
        &self,
        account_id: &str,
        arn: &str,
    ) -> IamResult<Vec<PolicyVersionRecord>> {
        let Some(p) = self.get_managed_policy(account_id, arn).await? else {
            return Err(no_such_policy(arn));
        };
        let rows = sqlx::query(
            "SELECT version, document, created_ms FROM iam_policy_versions WHERE policy_id = $1 \
             ORDER BY version DESC",
        )
        .bind(&p.policy_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| version_from_row(r, p.default_version))
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Deletes a non-default version.
    pub async fn delete_policy_version(
        &self,
        account_id: &str,
        arn: &str,
        version: i64,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (id, default, _) = self.policy_in(&mut tx, account_id, arn).await?;
        if version == default {
            return Err(IamDbError::DeleteConflict(
                "Cannot delete the default version of a policy.".into(),
            ));
        }
        let res =
            sqlx::query("DELETE FROM iam_policy_versions WHERE policy_id = $1 AND version = $2")
                .bind(&id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
        if res.rows_affected() == 0 {
            return Err(IamDbError::NoSuchEntity(format!(
                "Policy {arn} version v{version} does not exist or is not attachable."
            )));
        }
        self.iam_commit(tx, account_id).await
    }

    /// Makes `version` the default version.
    pub async fn set_default_policy_version(
        &self,
        account_id: &str,
        arn: &str,
        version: i64,
        now_ms: i64,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (id, _, _) = self.policy_in(&mut tx, account_id, arn).await?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM iam_policy_versions WHERE policy_id = $1 AND version = $2",
        )
        .bind(&id)
        .bind(version)
        .fetch_one(&mut *tx)
        .await?;
        if count(&row)? == 0 {
            return Err(IamDbError::NoSuchEntity(format!(
                "Policy {arn} version v{version} does not exist or is not attachable."
            )));
        }
        sqlx::query(
            "UPDATE iam_policies SET default_version = $1, updated_ms = $2 WHERE policy_id = $3",
        )
        .bind(version)
        .bind(now_ms)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        self.iam_commit(tx, account_id).await
    }

    /// Attaches a managed policy (a customer policy of the account, or an AWS managed ARN the caller has
    /// checked) to a user, group or role. Attaching twice is a no-op; `LimitExceeded` past ten.
    pub async fn attach_managed_policy(
        &self,
        kind: EntityKind,
        account_id: &str,
        entity: &str,
        arn: &str,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (eid, _) = self
            .entity_in(&mut tx, kind, account_id, entity, true)
            .await?;
        let pid = self
            .check_policy_exists_in(&mut tx, account_id, arn)
            .await?;
        let t = kind.attached_table();
        let sql =
            format!("SELECT COUNT(*) AS n FROM {t} WHERE principal_id = $1 AND policy_arn = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&eid)
            .bind(arn)
            .fetch_one(&mut *tx)
            .await?;
        if count(&row)? > 0 {
            return Ok(());
        }
        let sql = format!("SELECT COUNT(*) AS n FROM {t} WHERE principal_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&eid)
            .fetch_one(&mut *tx)
            .await?;
        if count(&row)? >= MAX_ATTACHED_POLICIES {
            return Err(IamDbError::LimitExceeded(format!(
                "Cannot exceed quota for {}: {MAX_ATTACHED_POLICIES}",
                kind.quota_name()
            )));
        }
        let sql =
            format!("INSERT INTO {t} (principal_id, policy_arn, policy_id) VALUES ($1, $2, $3)");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&eid)
            .bind(arn)
            .bind(pid.as_deref())
            .execute(&mut *tx)
            .await?;
        self.iam_commit(tx, account_id).await
    }

    /// Detaches a managed policy; `NoSuchEntity` when it is not attached.
    pub async fn detach_managed_policy(
        &self,
        kind: EntityKind,
        account_id: &str,
        entity: &str,
        arn: &str,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (eid, _) = self
            .entity_in(&mut tx, kind, account_id, entity, true)
            .await?;
        let sql = format!(
            "DELETE FROM {} WHERE principal_id = $1 AND policy_arn = $2",
            kind.attached_table()
        );
        let res = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&eid)
            .bind(arn)
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 0 {
            return Err(IamDbError::NoSuchEntity(format!(
                "Policy {arn} was not found."
            )));
        }
        self.iam_commit(tx, account_id).await
    }

    /// ARNs of the managed policies attached to a user, group or role, sorted.
    pub async fn list_attached_policies(
        &self,
        kind: EntityKind,
        account_id: &str,
        entity: &str,
    ) -> IamResult<Vec<String>> {
        let eid = self.entity_id(kind, account_id, entity).await?;
        let sql = format!(
            "SELECT policy_arn FROM {} WHERE principal_id = $1 ORDER BY policy_arn",
            kind.attached_table()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&eid)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| get(r, "policy_arn"))
            .collect::<Result<Vec<String>, _>>()?)
    }

    /// The account's users, groups and roles a managed policy (customer or AWS) is attached to.
    pub async fn list_entities_for_policy(
        &self,
        account_id: &str,
        arn: &str,
    ) -> IamResult<PolicyEntities> {
        let mut out = PolicyEntities::default();
        for kind in [EntityKind::User, EntityKind::Group, EntityKind::Role] {
            let sql = format!(
                "SELECT e.name, e.{id} AS id, e.name_lower FROM {at} a JOIN {t} e ON e.{id} = a.principal_id \
                 WHERE e.account_id = $1 AND a.policy_arn = $2 ORDER BY e.name_lower",
                id = kind.id_col(),
                at = kind.attached_table(),
                t = kind.table()
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(account_id)
                .bind(arn)
                .fetch_all(&self.pool)
                .await?;
            let list = rows
                .iter()
                .map(|r| Ok((get(r, "name")?, get(r, "id")?)))
                .collect::<Result<Vec<(String, String)>, MetaError>>()?;
            match kind {
                EntityKind::User => out.users = list,
                EntityKind::Group => out.groups = list,
                EntityKind::Role => out.roles = list,
            }
        }
        Ok(out)
    }

    /// Creates or replaces an inline policy. `total_limit`: the quota on the entity's inline policies
    /// together (characters without whitespace), checked inside the transaction.
    pub async fn put_inline_policy(
        &self,
        kind: EntityKind,
        account_id: &str,
        entity: &str,
        policy_name: &str,
        document: &str,
        total_limit: Option<usize>,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (eid, stored) = self
            .entity_in(&mut tx, kind, account_id, entity, true)
            .await?;
        let t = kind.inline_table();
        if let Some(limit) = total_limit {
            let sql = format!("SELECT document FROM {t} WHERE principal_id = $1 AND name <> $2");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&eid)
                .bind(policy_name)
                .fetch_all(&mut *tx)
                .await?;
            let mut total = policy_chars(document);
            for r in &rows {
                total += policy_chars(&get::<String>(r, "document")?);
            }
            if total > limit {
                return Err(IamDbError::LimitExceeded(format!(
                    "Maximum policy size of {limit} bytes exceeded for {} {stored}",
                    kind.noun()
                )));
            }
        }
        let sql = format!(
            "INSERT INTO {t} (principal_id, name, document) VALUES ($1, $2, $3) \
             ON CONFLICT (principal_id, name) DO UPDATE SET document = excluded.document"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&eid)
            .bind(policy_name)
            .bind(document)
            .execute(&mut *tx)
            .await?;
        self.iam_commit(tx, account_id).await
    }

    /// An inline policy's document, and the entity's stored name.
    pub async fn get_inline_policy(
        &self,
        kind: EntityKind,
        account_id: &str,
        entity: &str,
        policy_name: &str,
    ) -> IamResult<(String, String)> {
        let sql = format!(
            "SELECT e.name, i.document FROM {t} e LEFT JOIN {it} i ON i.principal_id = e.{id} AND i.name = $3 \
             WHERE e.account_id = $1 AND e.name_lower = $2",
            t = kind.table(),
            it = kind.inline_table(),
            id = kind.id_col()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(lower(entity))
            .bind(policy_name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else {
            return Err(no_such(kind, entity));
        };
        let name: String = get(&r, "name")?;
        match get::<Option<String>>(&r, "document")? {
            Some(doc) => Ok((name, doc)),
            None => Err(IamDbError::NoSuchEntity(format!(
                "The {} policy with name {policy_name} cannot be found.",
                kind.noun()
            ))),
        }
    }

    /// Names of an entity's inline policies, sorted.
    pub async fn list_inline_policies(
        &self,
        kind: EntityKind,
        account_id: &str,
        entity: &str,
    ) -> IamResult<Vec<String>> {
        let eid = self.entity_id(kind, account_id, entity).await?;
        let sql = format!(
            "SELECT name FROM {} WHERE principal_id = $1 ORDER BY name",
            kind.inline_table()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&eid)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| get(r, "name"))
            .collect::<Result<Vec<String>, _>>()?)
    }

    /// Deletes an inline policy.
    pub async fn delete_inline_policy(
        &self,
        kind: EntityKind,
        account_id: &str,
        entity: &str,
        policy_name: &str,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (eid, _) = self
            .entity_in(&mut tx, kind, account_id, entity, true)
            .await?;
        let sql = format!(
            "DELETE FROM {} WHERE principal_id = $1 AND name = $2",
            kind.inline_table()
        );
        let res = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&eid)
            .bind(policy_name)
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 0 {
            return Err(IamDbError::NoSuchEntity(format!(
                "The {} policy with name {policy_name} cannot be found.",
                kind.noun()
            )));
        }
        self.iam_commit(tx, account_id).await
    }
}
