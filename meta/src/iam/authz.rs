//! One read of everything the policy engine needs for a principal: its identity policies (inline and the
//! default versions of attached managed policies, its groups' too for a user) and its permissions
//! boundary, with the account's IAM version read in the same snapshot, so a cache keyed by that version is
//! never newer than the data it holds.

use sqlx::AnyConnection;

use super::groups::group_from_row as group_row;
use super::policies::AWS_MANAGED_PREFIX;
use super::roles::role_from_row;
use super::users::user_from_row;
use super::*;

/// Resolves an AWS managed policy ARN to (version id, document); supplied by the iam crate.
pub type AwsManagedResolver<'a> = &'a (dyn Fn(&str) -> Option<(String, String)> + Sync);

/// A managed policy as a principal uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedDoc {
    pub arn: String,
    /// `v{n}` of the default version; `None` when the document could not be resolved.
    pub version_id: Option<String>,
    /// The default version's document; `None` for an AWS managed ARN without a resolver (or one the
    /// resolver does not know). The policy engine must then deny (fail closed) rather than skip it.
    pub document: Option<String>,
}

/// A principal's own policies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalAuthz {
    /// Inline policies: (name, document), by name.
    pub inline: Vec<(String, String)>,
    /// Attached managed policies, by ARN.
    pub managed: Vec<AttachedDoc>,
}

/// A group of a user with its policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupAuthz {
    pub group: IamGroup,
    pub policies: PrincipalAuthz,
}

/// Everything evaluation needs for an IAM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAuthz {
    pub user: IamUser,
    pub policies: PrincipalAuthz,
    pub groups: Vec<GroupAuthz>,
    /// The permissions boundary, when set.
    pub boundary: Option<AttachedDoc>,
    /// The account's IAM version this was read at.
    pub version: i64,
}

/// Everything evaluation needs for a role (its trust policy is in `role`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAuthz {
    pub role: IamRole,
    pub policies: PrincipalAuthz,
    pub boundary: Option<AttachedDoc>,
    pub version: i64,
}

impl Meta {
    /// Starts a read-only snapshot (repeatable read on Postgres; a deferred transaction on SQLite, whose
    /// WAL snapshot starts with its first read).
    async fn iam_snapshot(&self) -> IamResult<Tx> {
        let mut tx = self.pool.begin().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// The policies of user `user_name` (`None` if no such user in the account). AWS managed documents
    /// come from `aws_managed` (without it they stay `None`).
    pub async fn user_authz(
        &self,
        account_id: &str,
        user_name: &str,
        aws_managed: Option<AwsManagedResolver<'_>>,
    ) -> IamResult<Option<UserAuthz>> {
        let mut tx = self.iam_snapshot().await?;
        let version = version_in(&mut tx, account_id).await?;
        let row = sqlx::query(
            "SELECT user_id, account_id, name, path, boundary_arn, created_ms FROM iam_users \
             WHERE account_id = $1 AND name_lower = $2",
        )
        .bind(account_id)
        .bind(lower(user_name))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
        let policies =
            principal_docs(&mut tx, EntityKind::User, &user.user_id, aws_managed).await?;
        let rows = sqlx::query(
            "SELECT g.group_id, g.account_id, g.name, g.path, g.created_ms FROM iam_groups g \
             JOIN iam_group_members m ON m.group_id = g.group_id WHERE m.user_id = $1 ORDER BY g.name_lower",
        )
        .bind(&user.user_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut groups = Vec::with_capacity(rows.len());
        for r in &rows {
            let group = group_row(r)?;
            let policies =
                principal_docs(&mut tx, EntityKind::Group, &group.group_id, aws_managed).await?;
            groups.push(GroupAuthz { group, policies });
        }
        let boundary = match &user.boundary_arn {
            Some(arn) => Some(resolve(&mut tx, account_id, arn, aws_managed).await?),
            None => None,
        };
        tx.rollback().await?;
        Ok(Some(UserAuthz {
            user,
            policies,
            groups,
            boundary,
            version,
        }))
    }

    /// The policies of role `role_name` (`None` if no such role in the account).
    pub async fn role_authz(
        &self,
        account_id: &str,
        role_name: &str,
        aws_managed: Option<AwsManagedResolver<'_>>,
    ) -> IamResult<Option<RoleAuthz>> {
        let mut tx = self.iam_snapshot().await?;
        let version = version_in(&mut tx, account_id).await?;
        let row = sqlx::query(
            "SELECT role_id, account_id, name, path, trust_policy, description, max_session_duration, \
             boundary_arn, created_ms FROM iam_roles WHERE account_id = $1 AND name_lower = $2",
        )
        .bind(account_id)
        .bind(lower(role_name))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role = role_from_row(&row)?;
        let policies =
            principal_docs(&mut tx, EntityKind::Role, &role.role_id, aws_managed).await?;
        let boundary = match &role.boundary_arn {
            Some(arn) => Some(resolve(&mut tx, account_id, arn, aws_managed).await?),
            None => None,
        };
        tx.rollback().await?;
        Ok(Some(RoleAuthz {
            role,
            policies,
            boundary,
            version,
        }))
    }
}

impl Meta {
    /// The policies of group `group_name` (`None` if no such group in the account), read in one snapshot.
    pub async fn group_authz(
        &self,
        account_id: &str,
        group_name: &str,
        aws_managed: Option<AwsManagedResolver<'_>>,
    ) -> IamResult<Option<GroupAuthz>> {
        let mut tx = self.iam_snapshot().await?;
        let row = sqlx::query(
            "SELECT group_id, account_id, name, path, created_ms FROM iam_groups \
             WHERE account_id = $1 AND name_lower = $2",
        )
        .bind(account_id)
        .bind(lower(group_name))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let group = group_row(&row)?;
        let policies =
            principal_docs(&mut tx, EntityKind::Group, &group.group_id, aws_managed).await?;
        tx.rollback().await?;
        Ok(Some(GroupAuthz { group, policies }))
    }
}

async fn version_in(conn: &mut AnyConnection, account_id: &str) -> IamResult<i64> {
    let row = sqlx::query("SELECT version FROM iam_versions WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => get(&r, "version")?,
        None => 0,
    })
}

async fn principal_docs(
    conn: &mut AnyConnection,
    kind: EntityKind,
    id: &str,
    aws_managed: Option<AwsManagedResolver<'_>>,
) -> IamResult<PrincipalAuthz> {
    let sql = format!(
        "SELECT name, document FROM {} WHERE principal_id = $1 ORDER BY name",
        kind.inline_table()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let inline = rows
        .iter()
        .map(|r| Ok((get(r, "name")?, get(r, "document")?)))
        .collect::<Result<Vec<(String, String)>, MetaError>>()?;
    let sql = format!(
        "SELECT a.policy_arn, p.default_version, v.document FROM {} a \
         LEFT JOIN iam_policies p ON p.policy_id = a.policy_id \
         LEFT JOIN iam_policy_versions v ON v.policy_id = p.policy_id AND v.version = p.default_version \
         WHERE a.principal_id = $1 ORDER BY a.policy_arn",
        kind.attached_table()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let mut managed = Vec::with_capacity(rows.len());
    for r in &rows {
        let arn: String = get(r, "policy_arn")?;
        if arn.starts_with(AWS_MANAGED_PREFIX) {
            managed.push(aws_doc(&arn, aws_managed));
        } else {
            let default: Option<i64> = get(r, "default_version")?;
            managed.push(AttachedDoc {
                version_id: default.map(|v| format!("v{v}")),
                document: get(r, "document")?,
                arn,
            });
        }
    }
    Ok(PrincipalAuthz { inline, managed })
}

fn aws_doc(arn: &str, aws_managed: Option<AwsManagedResolver<'_>>) -> AttachedDoc {
    let found = aws_managed.and_then(|f| f(arn));
    AttachedDoc {
        arn: arn.to_string(),
        version_id: found.as_ref().map(|(v, _)| v.clone()),
        document: found.map(|(_, d)| d),
    }
}

/// A boundary ARN's default document.
async fn resolve(
    conn: &mut AnyConnection,
    account_id: &str,
    arn: &str,
    aws_managed: Option<AwsManagedResolver<'_>>,
) -> IamResult<AttachedDoc> {
    if arn.starts_with(AWS_MANAGED_PREFIX) {
        return Ok(aws_doc(arn, aws_managed));
    }
    let row = sqlx::query(
        "SELECT p.default_version, v.document FROM iam_policies p JOIN iam_policy_versions v \
         ON v.policy_id = p.policy_id AND v.version = p.default_version \
         WHERE p.account_id = $1 AND p.arn = $2",
    )
    .bind(account_id)
    .bind(arn)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => AttachedDoc {
            arn: arn.to_string(),
            version_id: Some(format!("v{}", get::<i64>(&r, "default_version")?)),
            document: Some(get(&r, "document")?),
        },
        None => AttachedDoc {
            arn: arn.to_string(),
            version_id: None,
            document: None,
        },
    })
}
