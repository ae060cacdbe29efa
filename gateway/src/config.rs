//! Configuration: one TOML file; every key also a `GATEHOUSE_*` environment variable and a CLI flag.
//! Precedence: flag > environment > file > default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Which local blob backend to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    /// io_uring when the kernel allows it, else std.
    Auto,
    #[value(name = "io_uring")]
    #[serde(rename = "io_uring")]
    IoUring,
    Std,
}

/// Which KMS holds the SSE keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum KmsKind {
    /// Key material in the metadata store, sealed under the server key (the embedded default).
    Local,
    /// Vault / OpenBao transit (`vault_addr`, ...).
    Vault,
}

/// Options shared by `serve` and `admin` (where the store lives).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreArgs {
    /// TOML configuration file.
    #[arg(long, env = "GATEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite metadata, blobs, key file). Default ./gatehouse-data.
    #[arg(long, env = "GATEHOUSE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Metadata database URL (postgres://...); default SQLite in the data directory.
    #[arg(long, env = "GATEHOUSE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Server key file (base64 keys, one a line, the first seals), shared by every gateway and admin command
    /// of a deployment. Default DATA_DIR/master.key. GATEHOUSE_SERVER_KEY gives the keys themselves instead.
    #[arg(long, env = "GATEHOUSE_SERVER_KEY_FILE")]
    pub server_key_file: Option<PathBuf>,
    /// The KMS of SSE keys: local (default) or vault.
    #[arg(long, env = "GATEHOUSE_KMS", value_enum)]
    pub kms: Option<KmsKind>,
    /// Vault / OpenBao address (`https://host:8200`): the vault KMS, or a server key held in Vault transit.
    #[arg(long, env = "GATEHOUSE_VAULT_ADDR")]
    pub vault_addr: Option<String>,
    /// PEM CA bundle trusted for an https Vault address.
    #[arg(long, env = "GATEHOUSE_VAULT_CA")]
    pub vault_ca: Option<PathBuf>,
    /// Vault transit mount path. Default transit.
    #[arg(long, env = "GATEHOUSE_VAULT_MOUNT")]
    pub vault_mount: Option<String>,
    /// Vault AppRole role id (with GATEHOUSE_VAULT_SECRET_ID), instead of a token.
    #[arg(long, env = "GATEHOUSE_VAULT_ROLE_ID")]
    pub vault_role_id: Option<String>,
}

/// Flags of `gatehouse serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Listen address. Default 127.0.0.1:9000.
    #[arg(long, env = "GATEHOUSE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain: serve HTTPS.
    #[arg(long, env = "GATEHOUSE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "GATEHOUSE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Base domain(s) for virtual-hosted-style requests (BUCKET.DOMAIN), comma separated.
    #[arg(long, env = "GATEHOUSE_DOMAIN", value_delimiter = ',')]
    pub domain: Vec<String>,
    /// The region this server is (credential scopes must name it). Default us-east-1.
    #[arg(long, env = "GATEHOUSE_REGION")]
    pub region: Option<String>,
    /// Blob backend: auto, io_uring or std. Default auto.
    #[arg(long, env = "GATEHOUSE_STORAGE", value_enum)]
    pub storage: Option<StorageKind>,
    /// Accept AWS Signature Version 2 (off by default). `--sigv2` alone turns it on.
    #[arg(long, env = "GATEHOUSE_SIGV2", num_args = 0..=1, default_missing_value = "true")]
    pub sigv2: Option<bool>,
    /// Seconds to wait for in-flight requests on SIGTERM. Default 30.
    #[arg(long, env = "GATEHOUSE_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<u64>,
    /// Write blobs larger than 1 MiB with O_DIRECT where the filesystem allows it (else through the page
    /// cache, automatically). Default true; `--direct-io false` always uses the page cache.
    #[arg(long, env = "GATEHOUSE_DIRECT_IO", num_args = 0..=1, default_missing_value = "true")]
    pub direct_io: Option<bool>,
    /// Object Ownership of new buckets that do not name one: BucketOwnerEnforced (AWS's default since 2023;
    /// ACLs off), BucketOwnerPreferred or ObjectWriter.
    #[arg(long, env = "GATEHOUSE_DEFAULT_OBJECT_OWNERSHIP")]
    pub default_object_ownership: Option<String>,
    /// Whether new buckets get all four Block Public Access settings on (AWS's default since 2023). Default true.
    #[arg(long, env = "GATEHOUSE_DEFAULT_PUBLIC_ACCESS_BLOCK", num_args = 0..=1, default_missing_value = "true")]
    pub default_public_access_block: Option<bool>,
    /// Proxies (addresses or CIDR networks, comma separated) whose X-Forwarded-For names the client for
    /// aws:SourceIp. Default none: the TCP peer is the source.
    #[arg(long, env = "GATEHOUSE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Audit log of authorisation decisions, one JSON line each: a file path, or `stdout`. Default off.
    #[arg(long, env = "GATEHOUSE_AUDIT_LOG")]
    pub audit_log: Option<String>,
    /// Seconds in a lifecycle "day" (rule Days count in these). Default 86400; tests shorten it, as Ceph's
    /// `rgw_lc_debug_interval` does.
    #[arg(long, env = "GATEHOUSE_LIFECYCLE_DAY_SECONDS")]
    pub lifecycle_day_seconds: Option<u64>,
    /// PEM certificates trusted when fetching OIDC providers' discovery documents and keys (web identity).
    /// Default: the system's CA bundle.
    #[arg(long, env = "GATEHOUSE_OIDC_CA_FILE")]
    pub oidc_ca_file: Option<PathBuf>,
    /// Refuse SSE-C (customer-provided keys) over plain HTTP, as AWS does. Default true; `false` lets a
    /// test suite running over HTTP use SSE-C.
    #[arg(long, env = "GATEHOUSE_SSE_C_REQUIRE_TLS", num_args = 0..=1, default_missing_value = "true")]
    pub sse_c_require_tls: Option<bool>,
    /// Storage classes besides STANDARD, comma separated: `NAME` (blobs in DATA_DIR/classes/NAME),
    /// `NAME=DIR`, and `NAME:archive` / `NAME:archive=DIR` for an archive class (GET needs RestoreObject first).
    #[arg(long, env = "GATEHOUSE_STORAGE_CLASSES", value_delimiter = ',')]
    pub storage_classes: Vec<String>,
    /// Seconds a RestoreObject of an archived object takes before the restored copy is readable. Default 0
    /// (the restore completes at once).
    #[arg(long, env = "GATEHOUSE_RESTORE_SECONDS")]
    pub restore_seconds: Option<u64>,
    /// Seconds an SSE-KMS bucket key (objects written with the bucket-key flag) is reused before a new one
    /// is asked of the KMS: the bound within which a KMS key disabled, deleted or rotated stops being used
    /// for new objects. Default 300; 0 turns bucket keys off (every object then gets a KMS data key).
    #[arg(long, env = "GATEHOUSE_SSE_BUCKET_KEY_SECONDS")]
    pub sse_bucket_key_seconds: Option<u64>,
    /// Objects one SSE-KMS bucket key encrypts at most before a new one is made. Default 100000.
    #[arg(long, env = "GATEHOUSE_SSE_BUCKET_KEY_MAX_OBJECTS")]
    pub sse_bucket_key_max_objects: Option<u64>,
    /// Seconds an SSE-KMS data key unwrapped by the KMS is kept for later reads: the bound within which a
    /// KMS key disabled or deleted stops opening objects. Default 60; 0 asks the KMS on every read.
    #[arg(long, env = "GATEHOUSE_KMS_DECRYPT_CACHE_SECONDS")]
    pub kms_decrypt_cache_seconds: Option<u64>,
    /// Entries each SSE-KMS key cache (bucket keys, unwrapped keys) holds at most. Default 10000.
    #[arg(long, env = "GATEHOUSE_KMS_CACHE_ENTRIES")]
    pub kms_cache_entries: Option<usize>,
}

/// A configured storage class (besides STANDARD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageClassConfig {
    /// The class name clients send in `x-amz-storage-class` (`[A-Z0-9_]+`).
    pub name: String,
    /// Where its blobs live (default DATA_DIR/classes/NAME).
    pub dir: Option<PathBuf>,
    /// An archive class: objects in it are read only after RestoreObject.
    pub archive: bool,
}

/// A class in the file's table form: `[storage_classes.GLACIER]` with `dir` and `archive`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassFile {
    dir: Option<PathBuf>,
    #[serde(default)]
    archive: bool,
}

/// `storage_classes` in the file: the list form of the flag, or a table of classes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ClassesFile {
    List(Vec<String>),
    Table(std::collections::BTreeMap<String, ClassFile>),
}

/// Parses one class of the list form: `NAME`, `NAME:archive`, `NAME=DIR`, `NAME:archive=DIR`.
fn parse_class(spec: &str) -> anyhow::Result<StorageClassConfig> {
    let (head, dir) = match spec.split_once('=') {
        Some((h, d)) => (h, Some(PathBuf::from(d.trim()))),
        None => (spec, None),
    };
    let (name, archive) = match head.trim().split_once(':') {
        None => (head.trim(), false),
        Some((n, "archive")) => (n, true),
        Some((_, flag)) => anyhow::bail!("storage_classes {spec:?}: unknown flag {flag:?}"),
    };
    Ok(StorageClassConfig {
        name: name.to_owned(),
        dir,
        archive,
    })
}

/// Validates the configured classes: well-formed names, not STANDARD, each once.
fn check_classes(classes: Vec<StorageClassConfig>) -> anyhow::Result<Vec<StorageClassConfig>> {
    for (i, c) in classes.iter().enumerate() {
        if !gatehouse_storage::valid_class_name(&c.name) || c.name == gatehouse_storage::STANDARD {
            anyhow::bail!(
                "storage_classes: {:?} is not a class name (upper-case letters, digits and _; STANDARD always exists)",
                c.name
            );
        }
        if classes[..i].iter().any(|o| o.name == c.name) {
            anyhow::bail!("storage_classes: {} is given twice", c.name);
        }
    }
    Ok(classes)
}

/// The file's shape: the same keys as the flags, snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    server_key_file: Option<PathBuf>,
    kms: Option<KmsKind>,
    vault_addr: Option<String>,
    vault_token: Option<String>,
    vault_ca: Option<PathBuf>,
    vault_mount: Option<String>,
    vault_role_id: Option<String>,
    vault_secret_id: Option<String>,
    listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    domain: Option<Vec<String>>,
    region: Option<String>,
    storage: Option<StorageKind>,
    sigv2: Option<bool>,
    shutdown_grace: Option<u64>,
    direct_io: Option<bool>,
    default_object_ownership: Option<String>,
    default_public_access_block: Option<bool>,
    trusted_proxies: Option<Vec<String>>,
    audit_log: Option<String>,
    lifecycle_day_seconds: Option<u64>,
    oidc_ca_file: Option<PathBuf>,
    sse_c_require_tls: Option<bool>,
    storage_classes: Option<ClassesFile>,
    restore_seconds: Option<u64>,
    sse_bucket_key_seconds: Option<u64>,
    sse_bucket_key_max_objects: Option<u64>,
    kms_decrypt_cache_seconds: Option<u64>,
    kms_cache_entries: Option<usize>,
}

/// Where Vault / OpenBao transit is and how to log in (secrets from the file or the environment only:
/// `GATEHOUSE_VAULT_TOKEN`, `GATEHOUSE_VAULT_SECRET_ID`).
#[derive(Debug, Clone)]
pub struct VaultSettings {
    pub addr: String,
    pub token: Option<String>,
    pub role_id: Option<String>,
    pub secret_id: Option<String>,
    pub ca: Option<PathBuf>,
    pub mount: String,
}

impl VaultSettings {
    /// The kms crate's client configuration.
    pub fn client_config(&self) -> anyhow::Result<gatehouse_kms::vault::VaultConfig> {
        let mut c = match (&self.token, &self.role_id, &self.secret_id) {
            (Some(t), None, _) => gatehouse_kms::vault::VaultConfig::with_token(&self.addr, t),
            (None, Some(role_id), Some(secret_id)) => {
                let mut c = gatehouse_kms::vault::VaultConfig::with_token(&self.addr, "");
                c.auth = gatehouse_kms::vault::VaultAuth::AppRole {
                    role_id: role_id.clone(),
                    secret_id: secret_id.clone(),
                    mount: "approle".to_owned(),
                };
                c
            }
            _ => anyhow::bail!(
                "vault_addr is set: give either vault_token (GATEHOUSE_VAULT_TOKEN) or vault_role_id with \
                 vault_secret_id (GATEHOUSE_VAULT_SECRET_ID)"
            ),
        };
        c.ca_file = self.ca.clone();
        c.mount = self.mount.clone();
        Ok(c)
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// The server key file, when one is named (else DATA_DIR/master.key, or GATEHOUSE_SERVER_KEY).
    pub server_key_file: Option<PathBuf>,
    /// The KMS of SSE keys.
    pub kms: KmsKind,
    /// Vault / OpenBao transit, when configured.
    pub vault: Option<VaultSettings>,
    pub listen: SocketAddr,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub domains: Vec<String>,
    pub region: String,
    pub storage: StorageKind,
    pub sigv2: bool,
    pub shutdown_grace_secs: u64,
    /// Large blobs are written with O_DIRECT (where the filesystem allows it).
    pub direct_io: bool,
    /// Object Ownership given to new buckets that name none.
    pub default_object_ownership: gatehouse_policy::ObjectOwnership,
    /// Whether new buckets get all four Block Public Access settings on.
    pub default_public_access_block: bool,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<crate::access::context::IpNet>,
    /// Where the audit lines go (`stdout` or a file), if anywhere.
    pub audit_log: Option<String>,
    /// Seconds in a lifecycle day (at least 1).
    pub lifecycle_day_seconds: u64,
    /// CA certificates for OIDC providers (else the system bundle).
    pub oidc_ca_file: Option<PathBuf>,
    /// SSE-C requests over plain HTTP are refused.
    pub sse_c_require_tls: bool,
    /// Storage classes besides STANDARD.
    pub storage_classes: Vec<StorageClassConfig>,
    /// Seconds a restore of an archived object takes.
    pub restore_seconds: u64,
    /// Lifetime of an SSE-KMS bucket key (0: no bucket keys).
    pub sse_bucket_key_seconds: u64,
    /// Objects per SSE-KMS bucket key.
    pub sse_bucket_key_max_objects: u64,
    /// Lifetime of an unwrapped SSE-KMS data key in the cache (0: no cache).
    pub kms_decrypt_cache_seconds: u64,
    /// Entries per SSE-KMS key cache.
    pub kms_cache_entries: usize,
}

impl Config {
    /// The configured class `name` (`None` for STANDARD and for classes not configured).
    pub fn storage_class(&self, name: &str) -> Option<&StorageClassConfig> {
        self.storage_classes.iter().find(|c| c.name == name)
    }
}

fn read_file(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    match path {
        None => Ok(FileConfig::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("config {}: {e}", p.display()))?;
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", p.display()))
        }
    }
}

impl Config {
    /// Resolves `serve` flags (already merged with env by clap) over the file and defaults.
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Config> {
        let f = read_file(args.store.config.as_deref())?;
        let tls = match (
            args.tls_cert.clone().or(f.tls_cert),
            args.tls_key.clone().or(f.tls_key),
        ) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        };
        let domains = if args.domain.is_empty() {
            f.domain.unwrap_or_default()
        } else {
            args.domain.clone()
        };
        let ownership = args
            .default_object_ownership
            .clone()
            .or(f.default_object_ownership)
            .unwrap_or_else(|| "BucketOwnerEnforced".to_owned());
        let default_object_ownership = crate::access::bucket::parse_ownership(&ownership).ok_or_else(|| {
            anyhow::anyhow!(
                "default_object_ownership {ownership:?}: expected BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter"
            )
        })?;
        let proxies = if args.trusted_proxies.is_empty() {
            f.trusted_proxies.unwrap_or_default()
        } else {
            args.trusted_proxies.clone()
        };
        let trusted_proxies = proxies
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                crate::access::context::IpNet::parse(p).ok_or_else(|| {
                    anyhow::anyhow!("trusted_proxies: {p:?} is not an address or network")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let storage_classes = check_classes(if !args.storage_classes.is_empty() {
            args.storage_classes
                .iter()
                .filter(|c| !c.trim().is_empty())
                .map(|c| parse_class(c))
                .collect::<anyhow::Result<_>>()?
        } else {
            match f.storage_classes {
                None => Vec::new(),
                Some(ClassesFile::List(l)) => l
                    .iter()
                    .map(|c| parse_class(c))
                    .collect::<anyhow::Result<_>>()?,
                Some(ClassesFile::Table(t)) => t
                    .into_iter()
                    .map(|(name, c)| StorageClassConfig {
                        name,
                        dir: c.dir,
                        archive: c.archive,
                    })
                    .collect(),
            }
        })?;
        Ok(Config {
            storage_classes,
            restore_seconds: args.restore_seconds.or(f.restore_seconds).unwrap_or(0),
            default_object_ownership,
            default_public_access_block: args
                .default_public_access_block
                .or(f.default_public_access_block)
                .unwrap_or(true),
            trusted_proxies,
            audit_log: args
                .audit_log
                .clone()
                .or(f.audit_log)
                .filter(|a| !a.is_empty()),
            data_dir: args
                .store
                .data_dir
                .clone()
                .or(f.data_dir)
                .unwrap_or_else(|| PathBuf::from("gatehouse-data")),
            database_url: args.store.database_url.clone().or(f.database_url),
            server_key_file: args.store.server_key_file.clone().or(f.server_key_file),
            kms: args.store.kms.or(f.kms).unwrap_or(KmsKind::Local),
            vault: match args
                .store
                .vault_addr
                .clone()
                .or(f.vault_addr)
                .filter(|a| !a.is_empty())
            {
                None => None,
                Some(addr) => Some(VaultSettings {
                    addr,
                    token: std::env::var("GATEHOUSE_VAULT_TOKEN")
                        .ok()
                        .filter(|t| !t.is_empty())
                        .or(f.vault_token),
                    role_id: args.store.vault_role_id.clone().or(f.vault_role_id),
                    secret_id: std::env::var("GATEHOUSE_VAULT_SECRET_ID")
                        .ok()
                        .filter(|t| !t.is_empty())
                        .or(f.vault_secret_id),
                    ca: args.store.vault_ca.clone().or(f.vault_ca),
                    mount: args
                        .store
                        .vault_mount
                        .clone()
                        .or(f.vault_mount)
                        .unwrap_or_else(|| "transit".to_owned()),
                }),
            },
            listen: args
                .listen
                .or(f.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9000))),
            tls,
            domains,
            region: args
                .region
                .clone()
                .or(f.region)
                .unwrap_or_else(|| "us-east-1".to_owned()),
            storage: args.storage.or(f.storage).unwrap_or(StorageKind::Auto),
            sigv2: args.sigv2.or(f.sigv2).unwrap_or(false),
            shutdown_grace_secs: args.shutdown_grace.or(f.shutdown_grace).unwrap_or(30),
            direct_io: args.direct_io.or(f.direct_io).unwrap_or(true),
            oidc_ca_file: args.oidc_ca_file.clone().or(f.oidc_ca_file),
            lifecycle_day_seconds: match args
                .lifecycle_day_seconds
                .or(f.lifecycle_day_seconds)
                .unwrap_or(86_400)
            {
                0 => anyhow::bail!("lifecycle_day_seconds must be at least 1"),
                n => n,
            },
            sse_c_require_tls: args
                .sse_c_require_tls
                .or(f.sse_c_require_tls)
                .unwrap_or(true),
            sse_bucket_key_seconds: args
                .sse_bucket_key_seconds
                .or(f.sse_bucket_key_seconds)
                .unwrap_or(300),
            sse_bucket_key_max_objects: args
                .sse_bucket_key_max_objects
                .or(f.sse_bucket_key_max_objects)
                .unwrap_or(100_000),
            kms_decrypt_cache_seconds: args
                .kms_decrypt_cache_seconds
                .or(f.kms_decrypt_cache_seconds)
                .unwrap_or(60),
            kms_cache_entries: args
                .kms_cache_entries
                .or(f.kms_cache_entries)
                .unwrap_or(10_000),
        })
    }

    /// Resolves only the store location (for `admin` commands).
    pub fn resolve_store(args: &StoreArgs) -> anyhow::Result<Config> {
        Config::resolve(&ServeArgs {
            store: args.clone(),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_io_defaults_on_and_file_or_flag_turn_it_off() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        use clap::Parser as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.toml");
        let parse = |argv: &[&str]| Cli::try_parse_from(argv).expect("parse").serve;
        assert!(Config::resolve(&parse(&["x"])).expect("resolve").direct_io);
        assert!(
            !Config::resolve(&parse(&["x", "--direct-io", "false"]))
                .expect("resolve")
                .direct_io
        );
        assert!(
            Config::resolve(&parse(&["x", "--direct-io"]))
                .expect("resolve")
                .direct_io
        );
        std::fs::write(&path, "direct_io = false\n").expect("write");
        let mut args = parse(&["x"]);
        args.store.config = Some(path.clone());
        assert!(!Config::resolve(&args).expect("resolve").direct_io);
        args.direct_io = Some(true);
        assert!(
            Config::resolve(&args).expect("resolve").direct_io,
            "flag over file"
        );
    }

    #[test]
    fn flags_override_file_and_defaults_apply() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9100\"\nregion = \"eu-west-1\"\nsigv2 = true\n",
        )
        .expect("write");
        let mut args = ServeArgs::default();
        args.store.config = Some(path.clone());
        args.region = Some("us-west-2".into());
        let c = Config::resolve(&args).expect("resolve");
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.region, "us-west-2");
        assert!(c.sigv2);
        assert_eq!(c.lifecycle_day_seconds, 86_400);
        assert_eq!(c.data_dir, PathBuf::from("gatehouse-data"));
        std::fs::write(&path, "nonsense_key = 1\n").expect("write");
        assert!(
            Config::resolve(&args).is_err(),
            "unknown keys are refused, not ignored"
        );
    }

    #[test]
    fn sse_c_requires_tls_unless_turned_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.toml");
        let mut args = ServeArgs::default();
        assert!(Config::resolve(&args).expect("resolve").sse_c_require_tls);
        std::fs::write(&path, "sse_c_require_tls = false\n").expect("write");
        args.store.config = Some(path);
        assert!(!Config::resolve(&args).expect("resolve").sse_c_require_tls);
        args.sse_c_require_tls = Some(true);
        assert!(Config::resolve(&args).expect("resolve").sse_c_require_tls);
    }

    #[test]
    fn storage_classes_from_flag_or_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.toml");
        let mut args = ServeArgs::default();
        assert!(
            Config::resolve(&args)
                .expect("resolve")
                .storage_classes
                .is_empty()
        );
        args.storage_classes = vec!["LUKEWARM".into(), "GLACIER:archive=/cold".into()];
        let c = Config::resolve(&args).expect("resolve");
        assert_eq!(
            c.storage_classes,
            vec![
                StorageClassConfig {
                    name: "LUKEWARM".into(),
                    dir: None,
                    archive: false
                },
                StorageClassConfig {
                    name: "GLACIER".into(),
                    dir: Some(PathBuf::from("/cold")),
                    archive: true
                },
            ]
        );
        for bad in ["STANDARD", "lower", "A:frozen", "A,A"] {
            args.storage_classes = bad.split(',').map(str::to_owned).collect();
            assert!(Config::resolve(&args).is_err(), "{bad}");
        }
        args.storage_classes.clear();
        std::fs::write(
            &path,
            "restore_seconds = 5\n[storage_classes.DEEP_ARCHIVE]\ndir = \"/d\"\narchive = true\n",
        )
        .expect("write");
        args.store.config = Some(path.clone());
        let c = Config::resolve(&args).expect("resolve");
        assert_eq!(c.restore_seconds, 5);
        assert!(c.storage_class("DEEP_ARCHIVE").is_some_and(|c| c.archive));
        std::fs::write(&path, "storage_classes = [\"FROZEN\"]\n").expect("write");
        let c = Config::resolve(&args).expect("resolve");
        assert_eq!(c.storage_classes.len(), 1);
    }

    #[test]
    fn sse_kms_cache_bounds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.toml");
        let mut args = ServeArgs::default();
        let c = Config::resolve(&args).expect("resolve");
        assert_eq!(
            (
                c.sse_bucket_key_seconds,
                c.sse_bucket_key_max_objects,
                c.kms_decrypt_cache_seconds,
                c.kms_cache_entries
            ),
            (300, 100_000, 60, 10_000)
        );
        std::fs::write(
            &path,
            "sse_bucket_key_seconds = 0\nsse_bucket_key_max_objects = 5\nkms_decrypt_cache_seconds = 2\nkms_cache_entries = 7\n",
        )
        .expect("write");
        args.store.config = Some(path);
        let c = Config::resolve(&args).expect("resolve");
        assert_eq!(
            (
                c.sse_bucket_key_seconds,
                c.sse_bucket_key_max_objects,
                c.kms_decrypt_cache_seconds,
                c.kms_cache_entries
            ),
            (0, 5, 2, 7)
        );
        args.kms_decrypt_cache_seconds = Some(9);
        assert_eq!(
            Config::resolve(&args)
                .expect("resolve")
                .kms_decrypt_cache_seconds,
            9
        );
    }

    #[test]
    fn sigv2_is_a_plain_flag() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        use clap::Parser as _;
        let on = Cli::try_parse_from(["x", "--sigv2"]).expect("parse");
        assert_eq!(on.serve.sigv2, Some(true));
        let off = Cli::try_parse_from(["x", "--sigv2", "false"]).expect("parse");
        assert_eq!(off.serve.sigv2, Some(false));
        let unset = Cli::try_parse_from(["x"]).expect("parse");
        assert_eq!(unset.serve.sigv2, None);
    }
}
