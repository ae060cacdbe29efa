-- IAM OpenID Connect providers (AssumeRoleWithWebIdentity): one per account and issuer URL (host and path, no
-- scheme, as IAM names it in the provider's ARN); client ids and thumbprints are JSON arrays in the order given.
-- Keep in step with migrations/postgres/0012_oidc_providers.sql.
CREATE TABLE iam_oidc_providers (
    account_id  TEXT    NOT NULL REFERENCES accounts(id),
    url         TEXT    NOT NULL,
    client_ids  TEXT    NOT NULL,
    thumbprints TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (account_id, url)
);
