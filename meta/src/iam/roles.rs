//! IAM roles.

use sqlx::any::AnyRow;

use super::*;
use crate::store::is_unique_violation;

const ROLE_COLS: &str = "role_id, account_id, name, path, trust_policy, description, max_session_duration, \
     boundary_arn, created_ms";

pub(crate) fn role_from_row(row: &AnyRow) -> Result<IamRole, MetaError> {
    Ok(IamRole {
        account_id: get(row, "account_id")?,
        role_id: get(row, "role_id")?,
        name: get(row, "name")?,
        path: get(row, "path")?,
        trust_policy: get(row, "trust_policy")?,
        description: get(row, "description")?,
        max_session_duration: get(row, "max_session_duration")?,
        boundary_arn: get(row, "boundary_arn")?,
        created_ms: get(row, "created_ms")?,
    })
}

/// A change of UpdateRole / UpdateAssumeRolePolicy; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct RoleUpdate<'a> {
    /// `Some(None)` would clear; UpdateRole sets an empty description as "".
    pub description: Option<&'a str>,
    pub max_session_duration: Option<i64>,
    pub trust_policy: Option<&'a str>,
}

impl Meta {
    /// Creates a role (`EntityAlreadyExists` if the name is taken in the account).
    pub async fn create_iam_role(&self, role: &IamRole) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let res = sqlx::query(
            "INSERT INTO iam_roles (role_id, account_id, name, name_lower, path, trust_policy, description, \
             max_session_duration, boundary_arn, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&role.role_id)
        .bind(&role.account_id)
        .bind(&role.name)
        .bind(lower(&role.name))
        .bind(&role.path)
        .bind(&role.trust_policy)
        .bind(role.description.as_deref())
        .bind(role.max_session_duration)
        .bind(role.boundary_arn.as_deref())
        .bind(role.created_ms)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(IamDbError::AlreadyExists(format!(
                    "Role with name {} already exists.",
                    role.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(arn) = &role.boundary_arn {
            self.check_policy_exists_in(&mut tx, &role.account_id, arn)
                .await?;
        }
        self.iam_commit(tx, &role.account_id).await
    }

    /// The role `name` of the account, if any.
    pub async fn get_iam_role(&self, account_id: &str, name: &str) -> IamResult<Option<IamRole>> {
        let sql =
            format!("SELECT {ROLE_COLS} FROM iam_roles WHERE account_id = $1 AND name_lower = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(lower(name))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(role_from_row).transpose()?)
    }

    /// The account's roles under `path_prefix`, by name.
    pub async fn list_iam_roles(
        &self,
        account_id: &str,
        path_prefix: &str,
        page: PageReq<'_>,
    ) -> IamResult<Page<IamRole>> {
        let max = page.max_items.max(1);
        let sql = format!(
            "SELECT {ROLE_COLS} FROM iam_roles WHERE account_id = $1 \
             AND substr(path, 1, length($2)) = $2 AND name_lower > $3 ORDER BY name_lower LIMIT $4"
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
            .map(role_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, max, |r| lower(&r.name)))
    }

    /// UpdateRole / UpdateAssumeRolePolicy.
    pub async fn update_iam_role(
        &self,
        account_id: &str,
        name: &str,
        update: &RoleUpdate<'_>,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (id, _) = self
            .entity_in(&mut tx, EntityKind::Role, account_id, name, true)
            .await?;
        if let Some(d) = update.description {
            sqlx::query("UPDATE iam_roles SET description = $1 WHERE role_id = $2")
                .bind(d)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(m) = update.max_session_duration {
            sqlx::query("UPDATE iam_roles SET max_session_duration = $1 WHERE role_id = $2")
                .bind(m)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(t) = update.trust_policy {
            sqlx::query("UPDATE iam_roles SET trust_policy = $1 WHERE role_id = $2")
                .bind(t)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        self.iam_commit(tx, account_id).await
    }

    /// Deletes a role: `DeleteConflict` while it has inline or attached policies; its tags go with it.
    pub async fn delete_iam_role(&self, account_id: &str, name: &str) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (id, _) = self
            .entity_in(&mut tx, EntityKind::Role, account_id, name, true)
            .await?;
        let checks: [(&str, &str); 2] = [
            (
                "SELECT COUNT(*) AS n FROM iam_role_inline WHERE principal_id = $1",
                "Cannot delete entity, must delete policies first.",
            ),
            (
                "SELECT COUNT(*) AS n FROM iam_role_attached WHERE principal_id = $1",
                "Cannot delete entity, must detach all policies first.",
            ),
        ];
        for (sql, msg) in checks {
            let row = sqlx::query(sql).bind(&id).fetch_one(&mut *tx).await?;
            if count(&row)? > 0 {
                return Err(IamDbError::DeleteConflict(msg.to_string()));
            }
        }
        for sql in [
            "DELETE FROM iam_role_tags WHERE principal_id = $1",
            "DELETE FROM iam_roles WHERE role_id = $1",
        ] {
            sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
        }
        self.iam_commit(tx, account_id).await
    }
}
