-- IAM: users, groups, roles, customer managed policies and their versions, attachments, inline policies,
-- tags, and a per-account version row bumped by every IAM change (gateways poll it, and on Postgres also
-- LISTEN on `gatehouse_iam`, to drop cached policies). Entities are keyed by their unique id (AIDA/AGPA/AROA/
-- ANPA...), so a rename touches one row; names are unique per account case-insensitively through name_lower
-- (IAM names are ASCII, lower-cased in Rust). Every row carries or reaches its account: no query crosses
-- accounts. Keep in step with migrations/sqlite/0007_iam.sql.

CREATE TABLE iam_versions (
    account_id TEXT   NOT NULL PRIMARY KEY REFERENCES accounts(id),
    version    BIGINT NOT NULL
);

CREATE TABLE iam_users (
    user_id      TEXT   NOT NULL PRIMARY KEY,
    account_id   TEXT   NOT NULL REFERENCES accounts(id),
    name         TEXT   NOT NULL,
    name_lower   TEXT COLLATE "C" NOT NULL,
    path         TEXT COLLATE "C" NOT NULL,
    boundary_arn TEXT,
    created_ms   BIGINT NOT NULL,
    UNIQUE (account_id, name_lower)
);

CREATE TABLE iam_groups (
    group_id   TEXT   NOT NULL PRIMARY KEY,
    account_id TEXT   NOT NULL REFERENCES accounts(id),
    name       TEXT   NOT NULL,
    name_lower TEXT COLLATE "C" NOT NULL,
    path       TEXT COLLATE "C" NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (account_id, name_lower)
);

CREATE TABLE iam_group_members (
    group_id TEXT NOT NULL REFERENCES iam_groups(group_id),
    user_id  TEXT NOT NULL REFERENCES iam_users(user_id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX iam_group_members_user ON iam_group_members(user_id);

CREATE TABLE iam_roles (
    role_id              TEXT   NOT NULL PRIMARY KEY,
    account_id           TEXT   NOT NULL REFERENCES accounts(id),
    name                 TEXT   NOT NULL,
    name_lower           TEXT COLLATE "C" NOT NULL,
    path                 TEXT COLLATE "C" NOT NULL,
    trust_policy         TEXT   NOT NULL,
    description          TEXT,
    max_session_duration BIGINT NOT NULL,
    boundary_arn         TEXT,
    created_ms           BIGINT NOT NULL,
    UNIQUE (account_id, name_lower)
);

-- Customer managed policies. Version numbers come from next_version and are never reused.
CREATE TABLE iam_policies (
    policy_id       TEXT   NOT NULL PRIMARY KEY,
    account_id      TEXT   NOT NULL REFERENCES accounts(id),
    name            TEXT   NOT NULL,
    name_lower      TEXT COLLATE "C" NOT NULL,
    path            TEXT COLLATE "C" NOT NULL,
    arn             TEXT   NOT NULL,
    description     TEXT,
    default_version BIGINT NOT NULL,
    next_version    BIGINT NOT NULL,
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL,
    UNIQUE (account_id, name_lower),
    UNIQUE (account_id, arn)
);

CREATE TABLE iam_policy_versions (
    policy_id  TEXT   NOT NULL REFERENCES iam_policies(policy_id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    document   TEXT   NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version)
);

-- Users' inline policies and attached managed policies (policy_id set for customer policies,
-- NULL for AWS managed ones, which live in the iam crate).
CREATE TABLE iam_user_inline (
    principal_id TEXT NOT NULL REFERENCES iam_users(user_id),
    name         TEXT COLLATE "C" NOT NULL,
    document     TEXT NOT NULL,
    PRIMARY KEY (principal_id, name)
);
CREATE TABLE iam_user_attached (
    principal_id TEXT NOT NULL REFERENCES iam_users(user_id),
    policy_arn   TEXT COLLATE "C" NOT NULL,
    policy_id    TEXT REFERENCES iam_policies(policy_id),
    PRIMARY KEY (principal_id, policy_arn)
);
CREATE INDEX iam_user_attached_policy ON iam_user_attached(policy_id);

-- Groups' inline policies and attached managed policies (policy_id set for customer policies,
-- NULL for AWS managed ones, which live in the iam crate).
CREATE TABLE iam_group_inline (
    principal_id TEXT NOT NULL REFERENCES iam_groups(group_id),
    name         TEXT COLLATE "C" NOT NULL,
    document     TEXT NOT NULL,
    PRIMARY KEY (principal_id, name)
);
CREATE TABLE iam_group_attached (
    principal_id TEXT NOT NULL REFERENCES iam_groups(group_id),
    policy_arn   TEXT COLLATE "C" NOT NULL,
    policy_id    TEXT REFERENCES iam_policies(policy_id),
    PRIMARY KEY (principal_id, policy_arn)
);
CREATE INDEX iam_group_attached_policy ON iam_group_attached(policy_id);

-- Roles' inline policies and attached managed policies (policy_id set for customer policies,
-- NULL for AWS managed ones, which live in the iam crate).
CREATE TABLE iam_role_inline (
    principal_id TEXT NOT NULL REFERENCES iam_roles(role_id),
    name         TEXT COLLATE "C" NOT NULL,
    document     TEXT NOT NULL,
    PRIMARY KEY (principal_id, name)
);
CREATE TABLE iam_role_attached (
    principal_id TEXT NOT NULL REFERENCES iam_roles(role_id),
    policy_arn   TEXT COLLATE "C" NOT NULL,
    policy_id    TEXT REFERENCES iam_policies(policy_id),
    PRIMARY KEY (principal_id, policy_arn)
);
CREATE INDEX iam_role_attached_policy ON iam_role_attached(policy_id);

CREATE TABLE iam_user_tags (
    principal_id TEXT NOT NULL REFERENCES iam_users(user_id) ON DELETE CASCADE,
    key_lower    TEXT COLLATE "C" NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (principal_id, key_lower)
);

CREATE TABLE iam_role_tags (
    principal_id TEXT NOT NULL REFERENCES iam_roles(role_id) ON DELETE CASCADE,
    key_lower    TEXT COLLATE "C" NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (principal_id, key_lower)
);

CREATE TABLE iam_policy_tags (
    principal_id TEXT NOT NULL REFERENCES iam_policies(policy_id) ON DELETE CASCADE,
    key_lower    TEXT COLLATE "C" NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (principal_id, key_lower)
);

-- GetAccessKeyLastUsed.
ALTER TABLE access_keys ADD COLUMN last_used_ms BIGINT;
ALTER TABLE access_keys ADD COLUMN last_used_service TEXT;
ALTER TABLE access_keys ADD COLUMN last_used_region TEXT;
