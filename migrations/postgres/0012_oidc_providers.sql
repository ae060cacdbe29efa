-- IAM OpenID Connect providers (AssumeRoleWithWebIdentity): one per account and issuer URL (host and path, no
-- scheme, as IAM names it in the provider's ARN); client ids and thumbprints are JSON arrays in the order given.
-- Keep in step with migrations/sqlite/0012_oidc_providers.sql.
CREATE TABLE iam_oidc_providers (
    account_id  TEXT    NOT NULL REFERENCES accounts(id),
    url         TEXT COLLATE "C" NOT NULL,
    client_ids  TEXT COLLATE "C" NOT NULL,
    thumbprints TEXT COLLATE "C" NOT NULL,
    created_ms  BIGINT  NOT NULL,
    PRIMARY KEY (account_id, url)
);
