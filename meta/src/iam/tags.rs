//! Tags of users, roles and customer managed policies. Keys are unique per entity case-insensitively (a
//! key differing only in case replaces the old tag).

use super::policies::no_such_policy;
use super::*;

/// What a tag call names: a user or role by name, a customer managed policy by ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagTarget {
    User,
    Role,
    Policy,
}

impl TagTarget {
    fn table(self) -> &'static str {
        match self {
            TagTarget::User => "iam_user_tags",
            TagTarget::Role => "iam_role_tags",
            TagTarget::Policy => "iam_policy_tags",
        }
    }
    fn quota_name(self) -> &'static str {
        match self {
            TagTarget::User => "TagsPerUser",
            TagTarget::Role => "TagsPerRole",
            TagTarget::Policy => "TagsPerPolicy",
        }
    }
}

impl Meta {
    async fn tag_target_in(
        &self,
        tx: &mut Tx,
        target: TagTarget,
        account_id: &str,
        name: &str,
    ) -> IamResult<String> {
        match target {
            TagTarget::User => Ok(self
                .entity_in(tx, EntityKind::User, account_id, name, true)
                .await?
                .0),
            TagTarget::Role => Ok(self
                .entity_in(tx, EntityKind::Role, account_id, name, true)
                .await?
                .0),
            TagTarget::Policy => {
                let sql = format!(
                    "SELECT policy_id FROM iam_policies WHERE account_id = $1 AND arn = $2{}",
                    self.for_update()
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account_id)
                    .bind(name)
                    .fetch_optional(&mut **tx)
                    .await?;
                match row {
                    Some(r) => Ok(get(&r, "policy_id")?),
                    None => Err(no_such_policy(name)),
                }
            }
        }
    }

    /// Adds or replaces tags; `LimitExceeded` when the entity would have more than 50.
    pub async fn tag_iam(
        &self,
        target: TagTarget,
        account_id: &str,
        name: &str,
        tags: &[(String, String)],
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let id = self
            .tag_target_in(&mut tx, target, account_id, name)
            .await?;
        let t = target.table();
        for (k, v) in tags {
            let sql = format!(
                "INSERT INTO {t} (principal_id, key_lower, key, value) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (principal_id, key_lower) DO UPDATE SET key = excluded.key, value = excluded.value"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&id)
                .bind(lower(k))
                .bind(k)
                .bind(v)
                .execute(&mut *tx)
                .await?;
        }
        let sql = format!("SELECT COUNT(*) AS n FROM {t} WHERE principal_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        if count(&row)? > MAX_TAGS as i64 {
            return Err(IamDbError::LimitExceeded(format!(
                "Cannot exceed quota for {}: {MAX_TAGS}",
                target.quota_name()
            )));
        }
        self.iam_commit(tx, account_id).await
    }

    /// Removes the tags with these keys (absent keys are ignored, as AWS does).
    pub async fn untag_iam(
        &self,
        target: TagTarget,
        account_id: &str,
        name: &str,
        keys: &[String],
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let id = self
            .tag_target_in(&mut tx, target, account_id, name)
            .await?;
        let sql = format!(
            "DELETE FROM {} WHERE principal_id = $1 AND key_lower = $2",
            target.table()
        );
        for k in keys {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&id)
                .bind(lower(k))
                .execute(&mut *tx)
                .await?;
        }
        self.iam_commit(tx, account_id).await
    }

    /// The tags of an entity, by key.
    pub async fn list_iam_tags(
        &self,
        target: TagTarget,
        account_id: &str,
        name: &str,
    ) -> IamResult<Vec<(String, String)>> {
        let id = match target {
            TagTarget::User => self.entity_id(EntityKind::User, account_id, name).await?,
            TagTarget::Role => self.entity_id(EntityKind::Role, account_id, name).await?,
            TagTarget::Policy => {
                self.get_managed_policy(account_id, name)
                    .await?
                    .ok_or_else(|| no_such_policy(name))?
                    .policy_id
            }
        };
        let sql = format!(
            "SELECT key, value FROM {} WHERE principal_id = $1 ORDER BY key_lower",
            target.table()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((get(r, "key")?, get(r, "value")?)))
            .collect::<Result<Vec<_>, MetaError>>()?)
    }
}
