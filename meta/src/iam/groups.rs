//! IAM groups and their members.

use sqlx::any::AnyRow;

use super::users::user_from_row;
use super::*;
use crate::store::is_unique_violation;

const GROUP_COLS: &str = "g.group_id, g.account_id, g.name, g.path, g.created_ms";

/// Groups a user may belong to (AWS's quota).
pub const MAX_GROUPS_PER_USER: i64 = 10;

pub(crate) fn group_from_row(row: &AnyRow) -> Result<IamGroup, MetaError> {
    Ok(IamGroup {
        account_id: get(row, "account_id")?,
        group_id: get(row, "group_id")?,
        name: get(row, "name")?,
        path: get(row, "path")?,
        created_ms: get(row, "created_ms")?,
    })
}

impl Meta {
    /// Renames a group and/or moves it to another path (`NoSuchEntity` if absent, `EntityAlreadyExists` if
    /// the new name is taken). Members and policies follow: they refer to the group's id.
    pub async fn update_iam_group(
        &self,
        account_id: &str,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (id, _) = self
            .entity_in(&mut tx, EntityKind::Group, account_id, name, true)
            .await?;
        self.rename_entity(&mut tx, EntityKind::Group, &id, new_name, new_path)
            .await?;
        self.iam_commit(tx, account_id).await
    }

    /// Creates a group (`EntityAlreadyExists` if the name is taken in the account).
    pub async fn create_iam_group(&self, group: &IamGroup) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let res = sqlx::query(
            "INSERT INTO iam_groups (group_id, account_id, name, name_lower, path, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&group.group_id)
        .bind(&group.account_id)
        .bind(&group.name)
        .bind(lower(&group.name))
        .bind(&group.path)
        .bind(group.created_ms)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(IamDbError::AlreadyExists(format!(
                    "Group with name {} already exists.",
                    group.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.iam_commit(tx, &group.account_id).await
    }

    /// The group `name` of the account, if any.
    pub async fn get_iam_group(&self, account_id: &str, name: &str) -> IamResult<Option<IamGroup>> {
        let sql = format!(
            "SELECT {GROUP_COLS} FROM iam_groups g WHERE g.account_id = $1 AND g.name_lower = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(lower(name))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(group_from_row).transpose()?)
    }

    /// The account's groups under `path_prefix`, by name.
    pub async fn list_iam_groups(
        &self,
        account_id: &str,
        path_prefix: &str,
        page: PageReq<'_>,
    ) -> IamResult<Page<IamGroup>> {
        let max = page.max_items.max(1);
        let sql = format!(
            "SELECT {GROUP_COLS} FROM iam_groups g WHERE g.account_id = $1 \
             AND substr(g.path, 1, length($2)) = $2 AND g.name_lower > $3 ORDER BY g.name_lower LIMIT $4"
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
            .map(group_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, max, |g| lower(&g.name)))
    }

    /// Deletes a group: `DeleteConflict` while it has members, inline or attached policies.
    pub async fn delete_iam_group(&self, account_id: &str, name: &str) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (id, _) = self
            .entity_in(&mut tx, EntityKind::Group, account_id, name, true)
            .await?;
        let checks: [(&str, &str); 3] = [
            (
                "SELECT COUNT(*) AS n FROM iam_group_members WHERE group_id = $1",
                "Cannot delete entity, must remove users from group first.",
            ),
            (
                "SELECT COUNT(*) AS n FROM iam_group_inline WHERE principal_id = $1",
                "Cannot delete entity, must delete policies first.",
            ),
            (
                "SELECT COUNT(*) AS n FROM iam_group_attached WHERE principal_id = $1",
                "Cannot delete entity, must detach all policies first.",
            ),
        ];
        for (sql, msg) in checks {
            let row = sqlx::query(sql).bind(&id).fetch_one(&mut *tx).await?;
            if count(&row)? > 0 {
                return Err(IamDbError::DeleteConflict(msg.to_string()));
            }
        }
        sqlx::query("DELETE FROM iam_groups WHERE group_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        self.iam_commit(tx, account_id).await
    }

    /// Adds a user to a group (a no-op when already a member); `LimitExceeded` past ten groups.
    pub async fn add_iam_user_to_group(
        &self,
        account_id: &str,
        group: &str,
        user: &str,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (gid, _) = self
            .entity_in(&mut tx, EntityKind::Group, account_id, group, true)
            .await?;
        let (uid, _) = self
            .entity_in(&mut tx, EntityKind::User, account_id, user, true)
            .await?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM iam_group_members WHERE user_id = $1 AND group_id = $2",
        )
        .bind(&uid)
        .bind(&gid)
        .fetch_one(&mut *tx)
        .await?;
        if count(&row)? > 0 {
            return Ok(());
        }
        let row = sqlx::query("SELECT COUNT(*) AS n FROM iam_group_members WHERE user_id = $1")
            .bind(&uid)
            .fetch_one(&mut *tx)
            .await?;
        if count(&row)? >= MAX_GROUPS_PER_USER {
            return Err(IamDbError::LimitExceeded(format!(
                "Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}"
            )));
        }
        sqlx::query("INSERT INTO iam_group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(&gid)
            .bind(&uid)
            .execute(&mut *tx)
            .await?;
        self.iam_commit(tx, account_id).await
    }

    /// Removes a user from a group (`NoSuchEntity` when it is not a member).
    pub async fn remove_iam_user_from_group(
        &self,
        account_id: &str,
        group: &str,
        user: &str,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let (gid, gname) = self
            .entity_in(&mut tx, EntityKind::Group, account_id, group, true)
            .await?;
        let (uid, uname) = self
            .entity_in(&mut tx, EntityKind::User, account_id, user, true)
            .await?;
        let res = sqlx::query("DELETE FROM iam_group_members WHERE group_id = $1 AND user_id = $2")
            .bind(&gid)
            .bind(&uid)
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 0 {
            return Err(IamDbError::NoSuchEntity(format!(
                "User {uname} is not in group {gname}."
            )));
        }
        self.iam_commit(tx, account_id).await
    }

    /// The members of a group, by name (`NoSuchEntity` without the group).
    pub async fn iam_group_members(
        &self,
        account_id: &str,
        group: &str,
    ) -> IamResult<Vec<IamUser>> {
        let gid = self.entity_id(EntityKind::Group, account_id, group).await?;
        let rows = sqlx::query(
            "SELECT u.user_id, u.account_id, u.name, u.path, u.boundary_arn, u.created_ms FROM iam_users u \
             JOIN iam_group_members m ON m.user_id = u.user_id WHERE m.group_id = $1 ORDER BY u.name_lower",
        )
        .bind(&gid)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// The groups of a user, by name (`NoSuchEntity` without the user).
    pub async fn iam_groups_for_user(
        &self,
        account_id: &str,
        user: &str,
    ) -> IamResult<Vec<IamGroup>> {
        let uid = self.entity_id(EntityKind::User, account_id, user).await?;
        let sql = format!(
            "SELECT {GROUP_COLS} FROM iam_groups g JOIN iam_group_members m ON m.group_id = g.group_id \
             WHERE m.user_id = $1 ORDER BY g.name_lower"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&uid)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(group_from_row)
            .collect::<Result<Vec<_>, _>>()?)
    }
}
