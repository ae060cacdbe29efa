//! The `gatehouse` command line: serve, and operator commands.

use clap::{Parser, Subcommand};

use crate::admin::{NewAccount, create_account};
use crate::config::{Config, ServeArgs, StoreArgs};
use crate::server;
use crate::server_key::{self, Keys, Purpose, open_store};
use gatehouse_kms::server_key::KeyEntry;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "A multi-tenant S3-compatible object store with a policy-centric security gateway"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server.
    Serve(ServeArgs),
    /// Operator commands on the store (work while the server runs).
    Admin {
        #[command(subcommand)]
        cmd: AdminCmd,
    },
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Tenant accounts.
    Account {
        #[command(subcommand)]
        cmd: AccountCmd,
    },
    /// The SSE KMS (`kms = "local" | "vault"`).
    Kms {
        #[command(subcommand)]
        cmd: KmsCmd,
    },
    /// IAM roles of an account.
    Role {
        #[command(subcommand)]
        cmd: RoleCmd,
    },
    /// The server key that seals the secrets kept in the database (shared by the whole deployment).
    ServerKey {
        #[command(subcommand)]
        cmd: ServerKeyCmd,
    },
}

#[derive(Subcommand)]
enum RoleCmd {
    /// Revoke every session of a role issued until now, as AWS's "Revoke active sessions" does: an inline
    /// policy `AWSRevokeOlderSessions` denying everything to sessions whose aws:TokenIssueTime is earlier.
    RevokeSessions {
        /// Account id or name.
        account: String,
        /// Role name.
        role: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum KmsCmd {
    /// KMS keys.
    Key {
        #[command(subcommand)]
        cmd: KmsKeyCmd,
    },
}

#[derive(Subcommand)]
enum KmsKeyCmd {
    /// Create a key with an alias (S3 clients may name it by alias, key id or ARN).
    Create {
        alias: String,
        /// The key id (a UUID when absent), e.g. `testkey-1`.
        #[arg(long)]
        key_id: Option<String>,
        /// The owning account (the store's only account when absent).
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List keys.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rotate a key (by alias, key id or ARN).
    Rotate {
        key: String,
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable a key (by alias, key id or ARN): it neither makes nor opens data keys (local KMS).
    Disable {
        key: String,
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Enable a disabled key again.
    Enable {
        key: String,
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum ServerKeyCmd {
    /// Write a new key file with one fresh key (mode 0600; refuses to overwrite a file).
    Generate {
        /// Where to write it.
        file: std::path::PathBuf,
        /// Hold the key wrapped by this Vault transit key instead of in the clear (needs vault_addr and
        /// vault_token or AppRole ids; every process then unwraps it through Vault at start).
        #[arg(long)]
        vault_key: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show the fingerprints of the configured keys and of the database's current key; exits 1 when the
    /// configured keys do not hold the current one.
    Show {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Put a fresh key first in the key file (the old keys stay, so everything sealed before still opens)
    /// and register it as the database's current key.
    Rotate {
        /// Wrap the new key by this Vault transit key (as `generate --vault-key`).
        #[arg(long)]
        vault_key: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Re-seal every access-key secret under the first key, so that older keys can then be removed.
    Reseal {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum AccountCmd {
    /// Create an account with root credentials (printed when generated).
    Create {
        name: String,
        #[arg(long)]
        access_key: Option<String>,
        #[arg(long)]
        secret_key: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        canonical_id: Option<String>,
        /// 12-digit account id (generated if absent).
        #[arg(long)]
        account_id: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show or set an account's Block Public Access (applies to every bucket of the account, merged with
    /// each bucket's own). With no flag, prints the setting; `--all true|false` sets all four.
    PublicAccessBlock {
        /// Account id or name.
        account: String,
        #[arg(long)]
        all: Option<bool>,
        #[arg(long)]
        block_public_acls: Option<bool>,
        #[arg(long)]
        ignore_public_acls: Option<bool>,
        #[arg(long)]
        block_public_policy: Option<bool>,
        #[arg(long)]
        restrict_public_buckets: Option<bool>,
        /// Remove the account's setting.
        #[arg(long)]
        delete: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// An account by id or name.
async fn find_account(
    meta: &gatehouse_meta::Meta,
    account: &str,
) -> anyhow::Result<gatehouse_meta::Account> {
    match meta.get_account(account).await? {
        Some(a) => Ok(a),
        None => meta
            .list_accounts()
            .await?
            .into_iter()
            .find(|a| a.name == account)
            .ok_or_else(|| anyhow::anyhow!("no account {account:?}")),
    }
}

/// Parses the command line and runs the command.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
                .unwrap_or_else(|_| "warn,s3s=off,gatehouse=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Serve(args) => server::serve(Config::resolve(&args)?).await,
        Cmd::Admin {
            cmd: AdminCmd::ServerKey { cmd },
        } => server_key_cmd(cmd).await,
        Cmd::Admin {
            cmd: AdminCmd::Kms {
                cmd: KmsCmd::Key { cmd },
            },
        } => {
            let out = match cmd {
                KmsKeyCmd::Create {
                    alias,
                    key_id,
                    account,
                    description,
                    store,
                } => {
                    let cfg = Config::resolve_store(&store)?;
                    crate::kms_admin::create(&cfg, &alias, key_id, account, description).await?
                }
                KmsKeyCmd::List { store } => {
                    crate::kms_admin::list(&Config::resolve_store(&store)?).await?
                }
                KmsKeyCmd::Rotate {
                    key,
                    account,
                    store,
                } => {
                    crate::kms_admin::rotate(&Config::resolve_store(&store)?, &key, account).await?
                }
                KmsKeyCmd::Disable {
                    key,
                    account,
                    store,
                } => {
                    let cfg = Config::resolve_store(&store)?;
                    crate::kms_admin::set_enabled(&cfg, &key, account, false).await?
                }
                KmsKeyCmd::Enable {
                    key,
                    account,
                    store,
                } => {
                    let cfg = Config::resolve_store(&store)?;
                    crate::kms_admin::set_enabled(&cfg, &key, account, true).await?
                }
            };
            println!("{}", out.trim_end());
            Ok(())
        }
        Cmd::Admin {
            cmd:
                AdminCmd::Role {
                    cmd:
                        RoleCmd::RevokeSessions {
                            account,
                            role,
                            store,
                        },
                },
        } => {
            let cfg = Config::resolve_store(&store)?;
            let (meta, _) = open_store(&cfg, Purpose::Admin).await?;
            let account = find_account(&meta, &account).await?;
            let when = crate::admin::revoke_role_sessions(&meta, &account.id, &role).await?;
            println!(
                "role {role} of account {}: sessions issued before {when} are denied",
                account.id
            );
            Ok(())
        }
        Cmd::Admin {
            cmd: AdminCmd::Account { cmd },
        } => match cmd {
            AccountCmd::Create {
                name,
                access_key,
                secret_key,
                email,
                display_name,
                canonical_id,
                account_id,
                store,
            } => {
                let cfg = Config::resolve_store(&store)?;
                let (meta, ring) = open_store(&cfg, Purpose::Admin).await?;
                let generated = secret_key.is_none();
                let new = NewAccount {
                    name,
                    access_key,
                    secret_key,
                    email,
                    display_name,
                    canonical_id,
                    account_id,
                };
                let (a, ak, sk) = create_account(&meta, &Keys::new(ring), new).await?;
                println!(
                    "account_id={}\ncanonical_id={}\naccess_key_id={ak}",
                    a.id, a.canonical_id
                );
                if generated {
                    println!("secret_access_key={sk}");
                }
                Ok(())
            }
            AccountCmd::PublicAccessBlock {
                account,
                all,
                block_public_acls,
                ignore_public_acls,
                block_public_policy,
                restrict_public_buckets,
                delete,
                store,
            } => {
                let cfg = Config::resolve_store(&store)?;
                let (meta, _) = open_store(&cfg, Purpose::Admin).await?;
                let acct = find_account(&meta, &account).await?;
                const NAME: &str = crate::access::bucket::PUBLIC_ACCESS_BLOCK;
                let current = meta
                    .account_setting(&acct.id, NAME)
                    .await?
                    .and_then(|s| crate::access::bucket::parse_bpa(&s));
                let flags = [
                    block_public_acls,
                    ignore_public_acls,
                    block_public_policy,
                    restrict_public_buckets,
                ];
                if delete {
                    meta.put_account_setting(&acct.id, NAME, None).await?;
                } else if all.is_some() || flags.iter().any(Option::is_some) {
                    let base = current.unwrap_or_default();
                    let pick = |f: Option<bool>, old: bool| f.or(all).unwrap_or(old);
                    let new = gatehouse_policy::PublicAccessBlock {
                        block_public_acls: pick(block_public_acls, base.block_public_acls),
                        ignore_public_acls: pick(ignore_public_acls, base.ignore_public_acls),
                        block_public_policy: pick(block_public_policy, base.block_public_policy),
                        restrict_public_buckets: pick(
                            restrict_public_buckets,
                            base.restrict_public_buckets,
                        ),
                    };
                    meta.put_account_setting(
                        &acct.id,
                        NAME,
                        Some(&crate::access::bucket::bpa_json(&new)),
                    )
                    .await?;
                }
                let now = meta
                    .account_setting(&acct.id, NAME)
                    .await?
                    .and_then(|s| crate::access::bucket::parse_bpa(&s));
                match now {
                    None => println!("account {}: no public access block", acct.id),
                    Some(b) => println!(
                        "account {}: block_public_acls={} ignore_public_acls={} block_public_policy={} restrict_public_buckets={}",
                        acct.id,
                        b.block_public_acls,
                        b.ignore_public_acls,
                        b.block_public_policy,
                        b.restrict_public_buckets
                    ),
                }
                Ok(())
            }
            AccountCmd::List { json, store } => {
                let cfg = Config::resolve_store(&store)?;
                let (meta, _) = open_store(&cfg, Purpose::Admin).await?;
                let accounts = meta.list_accounts().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&accounts)?);
                } else {
                    println!(
                        "{:<12}  {:<24}  {:<64}  EMAIL",
                        "ACCOUNT", "NAME", "CANONICAL ID"
                    );
                    for a in accounts {
                        println!(
                            "{:<12}  {:<24}  {:<64}  {}",
                            a.id,
                            a.name,
                            a.canonical_id,
                            a.email.unwrap_or_default()
                        );
                    }
                }
                Ok(())
            }
        },
    }
}

async fn server_key_cmd(cmd: ServerKeyCmd) -> anyhow::Result<()> {
    match cmd {
        ServerKeyCmd::Generate {
            file,
            vault_key,
            store,
        } => {
            let entry = match &vault_key {
                None => KeyEntry::Plain(gatehouse_kms::server_key::generate_key().to_vec()),
                Some(name) => {
                    let cfg = Config::resolve_store(&store)?;
                    server_key::vault_wrapped_key(&cfg, name).await?
                }
            };
            gatehouse_kms::server_key::create_key_file(&file, &[entry])?;
            let cfg = Config::resolve_store(&StoreArgs {
                server_key_file: Some(file.clone()),
                ..store
            })?;
            let ring = server_key::configured_ring(&cfg).await?;
            println!("fingerprint={}\nfile={}", ring.primary(), file.display());
            Ok(())
        }
        ServerKeyCmd::Show { store } => {
            let cfg = Config::resolve_store(&store)?;
            let ring = server_key::configured_ring(&cfg).await?;
            let meta = match &cfg.database_url {
                Some(url) => gatehouse_meta::Meta::open(url).await?,
                None => gatehouse_meta::Meta::open_sqlite(&cfg.data_dir.join("meta.db")).await?,
            };
            println!("source={}", ring.source());
            for (i, f) in ring.fingerprints().iter().enumerate() {
                println!("{}={f}", if i == 0 { "sealing_key" } else { "other_key" });
            }
            match meta.current_server_key().await? {
                Some(c) => {
                    println!("database_current={}", c.fingerprint);
                    anyhow::ensure!(
                        ring.holds(&c.fingerprint),
                        "the configured keys do not hold the database's current server key {}",
                        c.fingerprint
                    );
                }
                None => println!("database_current=(none registered yet)"),
            }
            Ok(())
        }
        ServerKeyCmd::Rotate { vault_key, store } => {
            let cfg = Config::resolve_store(&store)?;
            let (meta, ring) = open_store(&cfg, Purpose::Admin).await?;
            let old = ring.primary();
            let gatehouse_kms::KeySource::File(path) = ring.source().clone() else {
                anyhow::bail!(
                    "{} cannot be rotated in place: put a new key first in its value",
                    ring.source()
                );
            };
            let entry = match &vault_key {
                None => KeyEntry::Plain(gatehouse_kms::server_key::generate_key().to_vec()),
                Some(name) => server_key::vault_wrapped_key(&cfg, name).await?,
            };
            gatehouse_kms::server_key::prepend_to_key_file(&path, &entry)?;
            let rotated = server_key::configured_ring(&cfg).await?;
            server_key::check_and_register(&meta, &rotated).await?;
            println!(
                "previous={old}\ncurrent={}\nfile={}",
                rotated.primary(),
                rotated.source()
            );
            eprintln!(
                "Copy the rotated key file to every gateway and admin command of the deployment; running \
                 gateways re-read their key file when they meet a secret sealed under the new key."
            );
            Ok(())
        }
        ServerKeyCmd::Reseal { store } => {
            let cfg = Config::resolve_store(&store)?;
            let (meta, ring) = open_store(&cfg, Purpose::Admin).await?;
            let (mut resealed, mut current) = (0, 0);
            for k in meta.all_access_keys().await? {
                let ctx = crate::state::secret_context(&k.access_key_id);
                if gatehouse_kms::ServerKeyring::sealed_by(&k.secret_sealed) == Some(ring.primary())
                {
                    current += 1;
                    continue;
                }
                let plain = ring
                    .unseal(&k.secret_sealed, &ctx)
                    .map_err(|e| anyhow::anyhow!("access key {}: {e}", k.access_key_id))?;
                let sealed = ring.seal(&plain, &ctx)?;
                if meta
                    .reseal_access_key(&k.access_key_id, &k.secret_sealed, &sealed)
                    .await?
                {
                    resealed += 1;
                }
            }
            println!(
                "resealed={resealed}\nalready_current={current}\nsealing_key={}",
                ring.primary()
            );
            Ok(())
        }
    }
}
