//! Opening the store and serving: TCP accept (TCP_NODELAY), optional rustls (aws-lc-rs; ALPN h2 and
//! http/1.1), hyper (HTTP/1.1 and HTTP/2), graceful drain on SIGTERM, and the orphan-blob sweep.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

use gatehouse_storage::LocalKind;

use crate::admin::{NewAccount, create_account};
use crate::auth::Authenticator;
use crate::authz::Access;
use crate::config::{Config, StorageKind};
use crate::front::{ConnInfo, Front};
use crate::s3::Gatehouse;
use crate::server_key::{Keys, Purpose, open_store};
use crate::state::AppState;

/// Blobs younger than this are never swept (they may belong to an upload in progress).
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(24 * 3600);

/// Takes the data directory's lock for this server's lifetime (the lock goes with the returned file, and with
/// the process however it ends). Two servers on one directory would sweep each other's new blobs as orphans
/// and serve each other stale bucket state; the second one is refused instead.
fn lock_data_dir(dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("gatehouse.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "data directory {} is in use by another gatehouse server",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("cannot lock {}: {e}", path.display())
        }
    }
}

/// Opens everything the server needs.
pub async fn open_state(config: Config) -> anyhow::Result<Arc<AppState>> {
    let lock = lock_data_dir(&config.data_dir)?;
    let (mut meta, ring) = open_store(&config, Purpose::Serve).await?;
    if config.database_url.is_none() {
        // The data directory's own SQLite database, which only the lock holder changes buckets of.
        meta.cache_bucket_reads();
    }
    let kind = match config.storage {
        StorageKind::Auto => LocalKind::Auto,
        StorageKind::IoUring => LocalKind::IoUring,
        StorageKind::Std => LocalKind::Std,
    };
    let standard =
        gatehouse_storage::open_local(&config.data_dir.join("blobs"), kind, config.direct_io)
            .await?;
    let mut classes = Vec::new();
    for c in &config.storage_classes {
        let dir = c
            .dir
            .clone()
            .unwrap_or_else(|| config.data_dir.join("classes").join(&c.name));
        let b = gatehouse_storage::open_local(&dir, kind, config.direct_io).await?;
        tracing::info!(class = %c.name, dir = %dir.display(), archive = c.archive, "storage class opened");
        classes.push((c.name.clone(), b));
    }
    let storage: Arc<dyn gatehouse_storage::Backend> =
        Arc::new(gatehouse_storage::ClassedBackend::new(standard, classes));
    tracing::info!(
        backend = storage.name(),
        direct_io = storage.direct_io(),
        metadata = meta.dialect(),
        "store opened"
    );
    let keys = Keys::new(ring);
    let kms = crate::kms_admin::build_kms(&config, &meta, keys.ring())?;
    tracing::info!(kms = ?config.kms, "SSE key management opened");
    Ok(Arc::new(AppState::new(
        config, meta, storage, keys, kms, lock,
    )?))
}

/// On first start with no account at all, creates one (keys from the environment, else generated) and
/// prints its root keys once.
pub async fn bootstrap(state: &AppState) -> anyhow::Result<()> {
    if state.meta.account_count().await? > 0 {
        return Ok(());
    }
    let new = NewAccount {
        name: "admin".to_owned(),
        access_key: std::env::var("GATEHOUSE_ROOT_ACCESS_KEY")
            .ok()
            .filter(|s| !s.is_empty()),
        secret_key: std::env::var("GATEHOUSE_ROOT_SECRET_KEY")
            .ok()
            .filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let generated = new.secret_key.is_none();
    let (account, ak, sk) = match create_account(&state.meta, &state.keys, new).await {
        Ok(x) => x,
        // Another gateway of this database bootstrapped at the same moment: its account stands.
        Err(e)
            if matches!(
                e.downcast_ref::<gatehouse_meta::MetaError>(),
                Some(gatehouse_meta::MetaError::AlreadyExists(_))
            ) && state.meta.account_count().await? > 0 =>
        {
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    println!(
        "Created account {} ({}) with root credentials:",
        account.name, account.id
    );
    println!("  AWS_ACCESS_KEY_ID={ak}");
    if generated {
        println!("  AWS_SECRET_ACCESS_KEY={sk}");
        println!("Store the secret now: it is not shown again.");
    } else {
        println!("  AWS_SECRET_ACCESS_KEY=(from GATEHOUSE_ROOT_SECRET_KEY)");
    }
    Ok(())
}

fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(std::fs::File::open(cert)?))
        .collect::<Result<Vec<_>, _>>()?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(std::fs::File::open(key)?))?
        .ok_or_else(|| anyhow::anyhow!("no private key in {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

/// Builds the front service (s3s with our auth, access hook and virtual-host parsing).
pub fn build_front(state: Arc<AppState>) -> anyhow::Result<Arc<Front>> {
    let mut b = S3ServiceBuilder::new(Gatehouse {
        state: Arc::clone(&state),
    });
    b.set_auth(Authenticator {
        state: Arc::clone(&state),
    });
    b.set_access(Access {
        state: Arc::clone(&state),
    });
    if !state.config.domains.is_empty() {
        b.set_host(VirtualHosts {
            domains: state
                .config
                .domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
        });
    }
    Ok(Arc::new(Front::new(state, b.build())))
}

/// Virtual-hosted-style addressing: `BUCKET.DOMAIN[:port]` names a bucket; the bare domain, IP addresses and
/// any other host are path style.
struct VirtualHosts {
    domains: Vec<String>,
}

impl s3s::host::S3Host for VirtualHosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> s3s::S3Result<s3s::host::VirtualHost<'a>> {
        Ok(match split_virtual_host(host, &self.domains) {
            Some((d, Some(bucket))) => s3s::host::VirtualHost::new(d).with_bucket(bucket),
            Some((d, None)) => s3s::host::VirtualHost::new(d),
            None => {
                let name = match host.rsplit_once(':') {
                    Some((h, port))
                        if !h.contains(']') && port.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        h
                    }
                    _ => host,
                };
                s3s::host::VirtualHost::new(name)
            }
        })
    }
}

/// Splits a Host header against the configured domains: `Some((domain, Some(bucket)))` for `BUCKET.DOMAIN`,
/// `Some((domain, None))` for the bare domain, `None` for any other host (path style).
pub(crate) fn split_virtual_host<'a>(
    host: &'a str,
    domains: &'a [String],
) -> Option<(&'a str, Option<&'a str>)> {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(']') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    for d in domains {
        if name.eq_ignore_ascii_case(d) {
            return Some((d.as_str(), None));
        }
        if name.len() > d.len() + 1
            && name.as_bytes()[name.len() - d.len() - 1] == b'.'
            && name[name.len() - d.len()..].eq_ignore_ascii_case(d)
        {
            return Some((d.as_str(), Some(&name[..name.len() - d.len() - 1])));
        }
    }
    None
}

/// Deletes blobs older than `min_age` that no index row references.
pub async fn sweep_orphans(state: &AppState, min_age: Duration) -> anyhow::Result<usize> {
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for b in state.storage.list().await? {
        let old = now
            .duration_since(b.modified)
            .map(|age| age >= min_age)
            .unwrap_or(false);
        if old && !state.meta.blob_referenced(&b.locator).await? {
            state.storage.delete(&b.locator).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Serves until SIGTERM/SIGINT, then drains in-flight requests (up to the grace period).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = open_state(config).await?;
    bootstrap(&state).await?;
    let listener = TcpListener::bind(state.config.listen).await?;
    let front = build_front(Arc::clone(&state))?;
    let tls = match &state.config.tls {
        Some((c, k)) => Some(tls_acceptor(c, k)?),
        None => None,
    };
    let sweeper = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                match sweep_orphans(&state, ORPHAN_MIN_AGE).await {
                    Ok(n) if n > 0 => tracing::info!(removed = n, "swept orphan blobs"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "orphan sweep failed"),
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        })
    };
    let lifecycle = crate::s3::lifecycle_worker::spawn(Arc::clone(&state));
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "Gatehouse listening on {scheme}://{}",
        listener.local_addr()?
    );
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut builder = ConnBuilder::new(TokioExecutor::new());
    // Let oversized header sections reach the front, which answers them with S3's error (hyper's own limit
    // would answer a bare 431); the buffer bound still caps memory per connection.
    builder.http1().max_headers(1000).max_buf_size(256 * 1024);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); tokio::time::sleep(Duration::from_millis(50)).await; continue; }
            },
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY failed");
        }
        let front = Arc::clone(&front);
        let tls = tls.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let svc = |tls_version: Option<&'static str>| {
                let front = Arc::clone(&front);
                let conn = ConnInfo {
                    peer,
                    tls: tls_version.is_some(),
                    tls_version,
                };
                hyper::service::service_fn(move |req| {
                    let front = Arc::clone(&front);
                    async move { Ok::<_, std::convert::Infallible>(front.handle(req, conn).await) }
                })
            };
            let result = match tls {
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), svc(None));
                    watcher.watch(conn.into_owned()).await
                }
                Some(acc) => match acc.accept(stream).await {
                    Ok(s) => {
                        let version = match s.get_ref().1.protocol_version() {
                            Some(rustls::ProtocolVersion::TLSv1_3) => "1.3",
                            Some(rustls::ProtocolVersion::TLSv1_2) => "1.2",
                            _ => "unknown",
                        };
                        let conn = builder.serve_connection(TokioIo::new(s), svc(Some(version)));
                        watcher.watch(conn.into_owned()).await
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                },
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    println!("Shutting down: draining in-flight requests");
    sweeper.abort();
    lifecycle.abort();
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over; closing the remaining connections");
    }
    Ok(())
}
