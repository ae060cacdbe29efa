//! IAM entities of an account: users, groups, roles, customer managed policies and their versions,
//! attachments, inline policies, tags, and the access keys of IAM users.
//!
//! Every row is keyed by an entity's unique id (AIDA/AGPA/AROA/ANPA...) and reached through its account: each
//! query names the account, so no call can see or change another account's entities. Every change runs in one
//! write transaction that also bumps the account's row in `iam_versions` and, on Postgres, sends
//! `NOTIFY gatehouse_iam, '<account id>'`: a gateway caching compiled policies drops what the notice names and
//! re-reads `iam_version` at least every second, so a missed notice delays a change by at most that second.
//!
//! Names are unique per account case-insensitively (`name_lower`, ASCII lower case: IAM names are ASCII).
//! Errors are [`IamDbError`]s whose messages are AWS's, so the IAM API passes them on unchanged.

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::store::{Dialect, get};
use crate::{Meta, MetaError};

mod authz;
mod groups;
mod keys;
mod oidc;
mod policies;
mod roles;
mod tags;
mod users;

pub use authz::{
    AttachedDoc, AwsManagedResolver, GroupAuthz, PrincipalAuthz, RoleAuthz, UserAuthz,
};
pub use groups::MAX_GROUPS_PER_USER;
pub use keys::AccessKeyLastUsed;
pub use oidc::OidcProvider;
pub use policies::{AWS_MANAGED_PREFIX, PolicyEntities};
pub use roles::RoleUpdate;
pub use tags::TagTarget;
pub use users::IamCounts;

/// Why an IAM store operation failed; the variants are AWS's IAM error codes, the strings AWS's messages.
#[derive(Debug, thiserror::Error)]
pub enum IamDbError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// `NoSuchEntity`.
    #[error("{0}")]
    NoSuchEntity(String),
    /// `EntityAlreadyExists`.
    #[error("{0}")]
    AlreadyExists(String),
    /// `LimitExceeded`.
    #[error("{0}")]
    LimitExceeded(String),
    /// `DeleteConflict`.
    #[error("{0}")]
    DeleteConflict(String),
    /// `InvalidInput` (an argument that contradicts stored state, e.g. a bad Marker).
    #[error("{0}")]
    InvalidInput(String),
}

impl From<sqlx::Error> for IamDbError {
    fn from(e: sqlx::Error) -> Self {
        IamDbError::Meta(MetaError::Db(e))
    }
}

/// Result alias of the IAM store.
pub type IamResult<T> = std::result::Result<T, IamDbError>;

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamUser {
    pub account_id: String,
    /// `AIDA...`
    pub user_id: String,
    pub name: String,
    /// `/` or `/a/b/`.
    pub path: String,
    pub created_ms: i64,
    /// ARN of the managed policy used as permissions boundary.
    pub boundary_arn: Option<String>,
}

impl IamUser {
    /// `arn:aws:iam::ACCOUNT:user/PATHNAME`
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:user{}{}",
            self.account_id, self.path, self.name
        )
    }
}

/// An IAM group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamGroup {
    pub account_id: String,
    /// `AGPA...`
    pub group_id: String,
    pub name: String,
    pub path: String,
    pub created_ms: i64,
}

impl IamGroup {
    /// `arn:aws:iam::ACCOUNT:group/PATHNAME`
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:group{}{}",
            self.account_id, self.path, self.name
        )
    }
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamRole {
    pub account_id: String,
    /// `AROA...`
    pub role_id: String,
    pub name: String,
    pub path: String,
    /// The trust policy (AssumeRolePolicyDocument) as given.
    pub trust_policy: String,
    pub description: Option<String>,
    /// Seconds (3600..=43200).
    pub max_session_duration: i64,
    pub boundary_arn: Option<String>,
    pub created_ms: i64,
}

impl IamRole {
    /// `arn:aws:iam::ACCOUNT:role/PATHNAME`
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:role{}{}",
            self.account_id, self.path, self.name
        )
    }
}

/// A customer managed policy (without its documents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicy {
    pub account_id: String,
    /// `ANPA...`
    pub policy_id: String,
    pub name: String,
    pub path: String,
    /// `arn:aws:iam::ACCOUNT:policy/PATHNAME`
    pub arn: String,
    pub description: Option<String>,
    /// Number of the default version (`v{n}`).
    pub default_version: i64,
    /// Users, groups and roles it is attached to.
    pub attachment_count: i64,
    /// Users and roles using it as permissions boundary.
    pub boundary_usage_count: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// One version of a customer managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionRecord {
    /// The number n of version id `v{n}`.
    pub version: i64,
    pub document: String,
    pub created_ms: i64,
    pub is_default: bool,
}

/// Which kind of principal an inline policy, attachment or membership belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    User,
    Group,
    Role,
}

impl EntityKind {
    pub(crate) fn table(self) -> &'static str {
        match self {
            EntityKind::User => "iam_users",
            EntityKind::Group => "iam_groups",
            EntityKind::Role => "iam_roles",
        }
    }
    pub(crate) fn id_col(self) -> &'static str {
        match self {
            EntityKind::User => "user_id",
            EntityKind::Group => "group_id",
            EntityKind::Role => "role_id",
        }
    }
    pub(crate) fn inline_table(self) -> &'static str {
        match self {
            EntityKind::User => "iam_user_inline",
            EntityKind::Group => "iam_group_inline",
            EntityKind::Role => "iam_role_inline",
        }
    }
    pub(crate) fn attached_table(self) -> &'static str {
        match self {
            EntityKind::User => "iam_user_attached",
            EntityKind::Group => "iam_group_attached",
            EntityKind::Role => "iam_role_attached",
        }
    }
    /// "user", "group", "role" (AWS's messages).
    pub fn noun(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Role => "role",
        }
    }
    /// AWS's quota names for attached managed policies.
    pub(crate) fn quota_name(self) -> &'static str {
        match self {
            EntityKind::User => "PoliciesPerUser",
            EntityKind::Group => "PoliciesPerGroup",
            EntityKind::Role => "PoliciesPerRole",
        }
    }
}

/// A page request of a list call: continue after `marker` (a `next_marker` returned before), at most
/// `max_items` items.
#[derive(Debug, Clone, Copy)]
pub struct PageReq<'a> {
    pub marker: Option<&'a str>,
    pub max_items: usize,
}

impl Default for PageReq<'_> {
    fn default() -> Self {
        PageReq {
            marker: None,
            max_items: 100,
        }
    }
}

/// One page of a list call; `next_marker` is set when the list is truncated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_marker: Option<String>,
}

impl<T> Page<T> {
    /// Whether more items follow (`IsTruncated`).
    pub fn is_truncated(&self) -> bool {
        self.next_marker.is_some()
    }

    /// Pages an in-memory list already sorted by `key`: the items after `marker`, at most `max_items`.
    pub fn of_sorted(items: Vec<T>, req: PageReq<'_>, key: impl Fn(&T) -> String) -> Page<T> {
        let max = req.max_items.max(1);
        let mut rest: Vec<T> = match req.marker {
            Some(m) => items.into_iter().filter(|i| key(i).as_str() > m).collect(),
            None => items,
        };
        let next_marker = if rest.len() > max {
            rest.truncate(max);
            rest.last().map(&key)
        } else {
            None
        };
        Page {
            items: rest,
            next_marker,
        }
    }

    /// Builds a page from `max_items + 1` rows fetched after the marker.
    pub(crate) fn from_rows(mut items: Vec<T>, max: usize, key: impl Fn(&T) -> String) -> Page<T> {
        let next_marker = if items.len() > max {
            items.truncate(max);
            items.last().map(key)
        } else {
            None
        };
        Page { items, next_marker }
    }
}

/// ASCII lower case: the case-insensitive key of IAM names (which are ASCII).
pub(crate) fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// IAM's policy size measure: characters excluding whitespace.
pub(crate) fn policy_chars(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// The managed policies a user, group or role may have attached (AWS's default quota).
pub const MAX_ATTACHED_POLICIES: i64 = 10;
/// Access keys per user.
pub const MAX_ACCESS_KEYS: i64 = 2;
/// Versions per managed policy.
pub const MAX_POLICY_VERSIONS: i64 = 5;
/// Tags per user, role or policy.
pub const MAX_TAGS: usize = 50;

pub(crate) type Tx = Transaction<'static, Any>;

impl Meta {
    /// The account's IAM version: bumped by every IAM change (and by access-key changes of its users). A
    /// cache of the account's policies built at version v is current while this still reads v.
    pub async fn iam_version(&self, account_id: &str) -> Result<i64, MetaError> {
        let row = sqlx::query("SELECT version FROM iam_versions WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => get(&r, "version"),
            None => Ok(0),
        }
    }

    /// Starts an IAM write transaction.
    pub(crate) async fn iam_begin(&self) -> IamResult<Tx> {
        Ok(self.begin_write().await?)
    }

    /// Bumps the account's IAM version and (Postgres) queues the notice, then commits.
    pub(crate) async fn iam_commit(&self, mut tx: Tx, account_id: &str) -> IamResult<()> {
        sqlx::query(
            "INSERT INTO iam_versions (account_id, version) VALUES ($1, 1) \
             ON CONFLICT (account_id) DO UPDATE SET version = iam_versions.version + 1",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        if self.dialect == Dialect::Postgres {
            // NOTIFY takes no bind parameters; account ids are digits, but quote defensively anyway.
            let payload = account_id.replace('\'', "''");
            let sql = format!("NOTIFY gatehouse_iam, '{payload}'");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The id and stored name of an entity, optionally locking its row (Postgres) for the transaction.
    pub(crate) async fn entity_in(
        &self,
        tx: &mut Tx,
        kind: EntityKind,
        account_id: &str,
        name: &str,
        lock: bool,
    ) -> IamResult<(String, String)> {
        let sql = format!(
            "SELECT {id} AS id, name FROM {t} WHERE account_id = $1 AND name_lower = $2{fu}",
            id = kind.id_col(),
            t = kind.table(),
            fu = if lock { self.for_update() } else { "" }
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(lower(name))
            .fetch_optional(&mut **tx)
            .await?;
        match row {
            Some(r) => Ok((get(&r, "id")?, get(&r, "name")?)),
            None => Err(no_such(kind, name)),
        }
    }

    /// Renames and/or moves an entity inside `tx` (`EntityAlreadyExists` if the new name is taken in the
    /// account); what refers to it by id follows.
    pub(crate) async fn rename_entity(
        &self,
        tx: &mut Tx,
        kind: EntityKind,
        id: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> IamResult<()> {
        if let Some(n) = new_name {
            let sql = format!(
                "UPDATE {t} SET name = $1, name_lower = $2 WHERE {c} = $3",
                t = kind.table(),
                c = kind.id_col()
            );
            let res = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(n)
                .bind(lower(n))
                .bind(id)
                .execute(&mut **tx)
                .await;
            match res {
                Ok(_) => {}
                Err(e) if crate::store::is_unique_violation(&e) => {
                    let noun = kind.noun();
                    let title = format!("{}{}", noun[..1].to_ascii_uppercase(), &noun[1..]);
                    return Err(IamDbError::AlreadyExists(format!(
                        "{title} with name {n} already exists."
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(p) = new_path {
            let sql = format!(
                "UPDATE {t} SET path = $1 WHERE {c} = $2",
                t = kind.table(),
                c = kind.id_col()
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(p)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// The id of an entity, read outside a transaction.
    pub(crate) async fn entity_id(
        &self,
        kind: EntityKind,
        account_id: &str,
        name: &str,
    ) -> IamResult<String> {
        let sql = format!(
            "SELECT {id} AS id FROM {t} WHERE account_id = $1 AND name_lower = $2",
            id = kind.id_col(),
            t = kind.table(),
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(lower(name))
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(get(&r, "id")?),
            None => Err(no_such(kind, name)),
        }
    }
}

/// AWS's NoSuchEntity message for a missing user, group or role.
pub(crate) fn no_such(kind: EntityKind, name: &str) -> IamDbError {
    IamDbError::NoSuchEntity(format!(
        "The {} with name {name} cannot be found.",
        kind.noun()
    ))
}

pub(crate) fn count(row: &AnyRow) -> Result<i64, MetaError> {
    get(row, "n")
}
