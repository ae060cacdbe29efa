//! The `gatehouse` command line: serve, and operator commands.

use clap::{Parser, Subcommand};

use crate::admin::{NewAccount, create_account};
use crate::config::{Config, ServeArgs, StoreArgs};
use crate::server;

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
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
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
                let (meta, kms) = server::open_store(&cfg).await?;
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
                let (a, ak, sk) = create_account(&meta, &kms, new).await?;
                println!(
                    "account_id={}\ncanonical_id={}\naccess_key_id={ak}",
                    a.id, a.canonical_id
                );
                if generated {
                    println!("secret_access_key={sk}");
                }
                Ok(())
            }
            AccountCmd::List { json, store } => {
                let cfg = Config::resolve_store(&store)?;
                let (meta, _) = server::open_store(&cfg).await?;
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
