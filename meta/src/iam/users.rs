//! IAM users.

use sqlx::any::AnyRow;

use super::*;
use crate::store::is_unique_violation;

const USER_COLS: &str = "user_id, account_id, name, path, boundary_arn, created_ms";

pub(crate) fn user_from_row(row: &AnyRow) -> Result<IamUser, MetaError> {
    Ok(IamUser {
        account_id: get(row, "account_id")?,
        user_id: get(row, "user_id")?,
        name: get(row, "name")?,
        path: get(row, "path")?,
        created_ms: get(row, "created_ms")?,
        boundary_arn: get(row, "boundary_arn")?,
    })
}

fn user_exists(name: &str) -> IamDbError {
    IamDbError::AlreadyExists(format!("User with name {name} already exists."))
}

/// How many IAM entities an account has (GetAccountSummary).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IamCounts {
    pub users: i64,
    pub groups: i64,
    pub roles: i64,
    /// Customer managed policies.
    pub policies: i64,
    /// The account root's own access keys.
    pub root_keys: i64,
}

impl Meta {
    /// Counts an account's users, groups, roles, customer managed policies and root access keys.
    pub async fn iam_counts(&self, account_id: &str) -> IamResult<IamCounts> {
        let count = |table: &'static str| {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE account_id = $1");
            async move {
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok::<i64, IamDbError>(crate::store::get(&row, "n")?)
            }
        };
        let root_keys = sqlx::query(
            "SELECT COUNT(*) AS n FROM access_keys WHERE account_id = $1 AND user_name IS NULL",
        )
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(IamCounts {
            users: count("iam_users").await?,
            groups: count("iam_groups").await?,
            roles: count("iam_roles").await?,
            policies: count("iam_policies").await?,
            root_keys: crate::store::get(&root_keys, "n")?,
        })
    }

    /// Creates a user (`EntityAlreadyExists` if the name is taken in the account, in any case).
    pub async fn create_iam_user(&self, user: &IamUser) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let res = sqlx::query(
            "INSERT INTO iam_users (user_id, account_id, name, name_lower, path, boundary_arn, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&user.user_id)
        .bind(&user.account_id)
        .bind(&user.name)
        .bind(lower(&user.name))
        .bind(&user.path)
        .bind(user.boundary_arn.as_deref())
        .bind(user.created_ms)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(user_exists(&user.name)),
            Err(e) => return Err(e.into()),
        }
        self.iam_commit(tx, &user.account_id).await
    }

    /// The user `name` of the account (case-insensitive), if any.
    pub async fn get_iam_user(&self, account_id: &str, name: &str) -> IamResult<Option<IamUser>> {
        let sql =
            format!("SELECT {USER_COLS} FROM iam_users WHERE account_id = $1 AND name_lower = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(lower(name))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    /// The account's users whose path starts with `path_prefix`, by name.
    pub async fn list_iam_users(
        &self,
        account_id: &str,
        path_prefix: &str,
        page: PageReq<'_>,
    ) -> IamResult<Page<IamUser>> {
        let max = page.max_items.max(1);
        let sql = format!(
            "SELECT {USER_COLS}, name_lower FROM iam_users WHERE account_id = $1 \
             AND substr(path, 1, length($2)) = $2 AND name_lower > $3 ORDER BY name_lower LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(path_prefix)
            .bind(page.marker.unwrap_or(""))
            .bind((max + 1) as i64)
            .fetch_all(&self.pool)
            .await?;
        let users = rows
            .iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(users, max, |u| lower(&u.name)))
    }

    /// Renames and/or moves a user; its access keys follow the new name. Returns the updated user.
    pub async fn update_iam_user(
        &self,
        account_id: &str,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> IamResult<IamUser> {
        let mut tx = self.iam_begin().await?;
        let (id, old_name) = self
            .entity_in(&mut tx, EntityKind::User, account_id, name, true)
            .await?;
        self.rename_entity(&mut tx, EntityKind::User, &id, new_name, new_path)
            .await?;
        if let Some(n) = new_name {
            // Access keys name their user.
            sqlx::query(
                "UPDATE access_keys SET user_name = $1 WHERE account_id = $2 AND user_name = $3",
            )
            .bind(n)
            .bind(account_id)
            .bind(&old_name)
            .execute(&mut *tx)
            .await?;
        }
        let sql = format!("SELECT {USER_COLS} FROM iam_users WHERE user_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        let user = user_from_row(&row)?;
        self.iam_commit(tx, account_id).await?;
        Ok(user)
    }

    /// Deletes a user: `DeleteConflict` while it has access keys, inline or attached policies or group
    /// memberships (as AWS); its tags go with it.
    pub async fn delete_iam_user(&self, account_id: &str, name: &str) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (id, stored) = self
            .entity_in(&mut tx, EntityKind::User, account_id, name, true)
            .await?;
        let keys = sqlx::query(
            "SELECT COUNT(*) AS n FROM access_keys WHERE account_id = $1 AND user_name = $2",
        )
        .bind(account_id)
        .bind(&stored)
        .fetch_one(&mut *tx)
        .await?;
        if count(&keys)? > 0 {
            return Err(IamDbError::DeleteConflict(
                "Cannot delete entity, must delete access keys first.".into(),
            ));
        }
        let checks: [(&str, &str); 3] = [
            (
                "SELECT COUNT(*) AS n FROM iam_user_inline WHERE principal_id = $1",
                "Cannot delete entity, must delete policies first.",
            ),
            (
                "SELECT COUNT(*) AS n FROM iam_user_attached WHERE principal_id = $1",
                "Cannot delete entity, must detach all policies first.",
            ),
            (
                "SELECT COUNT(*) AS n FROM iam_group_members WHERE user_id = $1",
                "Cannot delete entity, must remove user from all groups first.",
            ),
        ];
        for (sql, msg) in checks {
            let row = sqlx::query(sql).bind(&id).fetch_one(&mut *tx).await?;
            if count(&row)? > 0 {
                return Err(IamDbError::DeleteConflict(msg.to_string()));
            }
        }
        sqlx::query("DELETE FROM iam_user_tags WHERE principal_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM iam_users WHERE user_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        self.iam_commit(tx, account_id).await
    }

    /// Sets (Some) or removes (None) the permissions boundary of a user or role. The caller has checked
    /// that the policy exists (customer policies: see `get_managed_policy`).
    pub async fn set_iam_boundary(
        &self,
        kind: EntityKind,
        account_id: &str,
        name: &str,
        boundary_arn: Option<&str>,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (id, _) = self
            .entity_in(&mut tx, kind, account_id, name, true)
            .await?;
        if let Some(arn) = boundary_arn {
            self.check_policy_exists_in(&mut tx, account_id, arn)
                .await?;
        }
        let sql = format!(
            "UPDATE {} SET boundary_arn = $1 WHERE {} = $2",
            kind.table(),
            kind.id_col()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(boundary_arn)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        self.iam_commit(tx, account_id).await
    }
}
