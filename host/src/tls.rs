//! TLS as Redis configures it (`tls-port`, `tls-cert-file`, `tls-key-file`,
//! `tls-ca-cert-file`, `tls-ca-cert-dir`, `tls-auth-clients`, `tls-protocols`,
//! `tls-ciphersuites`), on rustls with the *ring* provider rather than OpenSSL.
//!
//! This module turns the settings into a [`rustls::ServerConfig`] (loading the PEM files)
//! and keeps the current one in a [`TlsContext`] that CONFIG SET of a TLS setting rebuilds
//! (see [`install`]). Each adapter wraps accepted sockets with its runtime's rustls
//! crate, taking [`TlsContext::current`] for every new connection, so a reloaded
//! certificate serves the next handshake while established connections keep theirs.
//!
//! `tls-prefer-server-ciphers` is rustls's `ignore_client_order`; `tls-session-caching` and
//! `tls-session-cache-size` size its session cache (0 or `no`: none).
//!
//! Differences from Redis: only TLS 1.2 and 1.3 exist (rustls has no older protocol), so
//! `TLSv1` and `TLSv1.1` in `tls-protocols` are refused; TLS 1.2 suites are rustls's
//! (`tls-ciphers`, OpenSSL's cipher-list syntax, is not modelled); encrypted keys
//! (`tls-key-file-pass`) cannot be read; `tls-session-cache-timeout` is kept but the cache
//! evicts by size only.

use std::path::Path;
use std::sync::{Arc, RwLock};

use redish_core::db::{SecurityConfig, TlsAuthClients};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};

/// The TLS 1.3 suites of `tls-ciphersuites`, by the names OpenSSL and Redis use.
const TLS13_SUITES: &[(&str, SupportedCipherSuite)] = &[
    (
        "TLS_AES_256_GCM_SHA384",
        ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_AES_128_GCM_SHA256",
        ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// The protocol versions of `tls-protocols` (empty: TLS 1.2 and 1.3, as Redis's default).
/// The error is the line Redis logs, or why redish refuses an older protocol.
pub fn parse_protocols(value: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
    let words: Vec<&str> = value.split(' ').filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    for word in words {
        let version = match word.to_ascii_lowercase().as_str() {
            "tlsv1.2" => &rustls::version::TLS12,
            "tlsv1.3" => &rustls::version::TLS13,
            "tlsv1" | "tlsv1.1" => {
                return Err(format!(
                    "{word} is specified in tls-protocols but not supported by redish (TLSv1.2 and TLSv1.3 only)."
                ))
            }
            _ => {
                return Err("Invalid tls-protocols specified. Use a combination of 'TLSv1', \
                     'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
                    .to_owned())
            }
        };
        if !versions.contains(&version) {
            versions.push(version);
        }
    }
    Ok(versions)
}

/// The cipher suites for `tls-ciphersuites` (TLS 1.3 names, `:`-separated; empty: all):
/// the chosen TLS 1.3 suites, then every TLS 1.2 suite of the provider.
pub fn parse_ciphersuites(value: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let tls12 = ring::DEFAULT_CIPHER_SUITES
        .iter()
        .copied()
        .filter(|s| s.version() == &rustls::version::TLS12);
    if value.trim().is_empty() {
        return Ok(ring::DEFAULT_CIPHER_SUITES.to_vec());
    }
    let mut suites = Vec::new();
    for name in value.split(':').map(str::trim).filter(|n| !n.is_empty()) {
        let Some((_, suite)) = TLS13_SUITES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        else {
            return Err(format!("Failed to configure ciphersuites: {value}"));
        };
        suites.push(*suite);
    }
    if suites.is_empty() {
        return Err(format!("Failed to configure ciphersuites: {value}"));
    }
    suites.extend(tls12);
    Ok(suites)
}

/// The certificates of a PEM file, in order.
fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate found".to_owned());
    }
    Ok(certs)
}

/// The CA store of `tls-ca-cert-file` and every certificate file of `tls-ca-cert-dir`.
fn load_roots(sec: &SecurityConfig) -> Result<RootCertStore, String> {
    let failed = |e: String| format!("Failed to configure CA certificate(s) file/directory: {e}");
    let mut roots = RootCertStore::empty();
    let mut add = |certs: Vec<CertificateDer<'static>>| {
        for cert in certs {
            roots.add(cert).map_err(|e| failed(e.to_string()))?;
        }
        Ok::<(), String>(())
    };
    if !sec.tls_ca_cert_file.is_empty() {
        let path = Path::new(&sec.tls_ca_cert_file);
        add(load_certs(path).map_err(|e| failed(format!("{}: {e}", path.display())))?)?;
    }
    if !sec.tls_ca_cert_dir.is_empty() {
        let dir = std::fs::read_dir(&sec.tls_ca_cert_dir)
            .map_err(|e| failed(format!("{}: {e}", sec.tls_ca_cert_dir)))?;
        // OpenSSL looks certificates up by hashed names there; any file of PEM
        // certificates counts here, and other files are passed over.
        for entry in dir.flatten() {
            let path = entry.path();
            if path.is_file() {
                if let Ok(certs) = load_certs(&path) {
                    add(certs)?;
                }
            }
        }
    }
    Ok(roots)
}

/// Builds the server's TLS configuration from the settings, checking them in Redis's
/// order (`tlsConfigure`); the error is the line Redis logs.
pub fn server_config(sec: &SecurityConfig) -> Result<Arc<ServerConfig>, String> {
    if sec.tls_cert_file.is_empty() {
        return Err("No tls-cert-file configured!".to_owned());
    }
    if sec.tls_key_file.is_empty() {
        return Err("No tls-key-file configured!".to_owned());
    }
    let ca_given = !sec.tls_ca_cert_file.is_empty() || !sec.tls_ca_cert_dir.is_empty();
    if sec.tls_auth_clients != TlsAuthClients::No && !ca_given {
        return Err(
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when \
             tls-cluster, tls-replication or tls-auth-clients are enabled!"
                .to_owned(),
        );
    }
    let versions = parse_protocols(&sec.tls_protocols)?;
    if !sec.tls_key_file_pass.is_empty() {
        return Err(format!(
            "Failed to load private key: {}: encrypted keys (tls-key-file-pass) are not supported by redish",
            sec.tls_key_file
        ));
    }
    let certs = load_certs(Path::new(&sec.tls_cert_file))
        .map_err(|e| format!("Failed to load certificate: {}: {e}", sec.tls_cert_file))?;
    let key_failed = |e: String| format!("Failed to load private key: {}: {e}", sec.tls_key_file);
    let key =
        PrivateKeyDer::from_pem_file(&sec.tls_key_file).map_err(|e| key_failed(e.to_string()))?;
    let roots = if ca_given {
        Some(load_roots(sec)?)
    } else {
        None
    };
    // rustls marks *ring* deprecated for lacking post-quantum key exchange; it is kept
    // because it builds with a C compiler alone (aws-lc-rs wants cmake and a long build).
    #[allow(deprecated)]
    let base = ring::default_provider();
    let provider = Arc::new(CryptoProvider {
        cipher_suites: parse_ciphersuites(&sec.tls_ciphersuites)?,
        ..base
    });
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("Failed to configure TLS: {e}"))?;
    let builder = match (sec.tls_auth_clients, roots) {
        (TlsAuthClients::No, _) | (_, None) => builder.with_no_client_auth(),
        (auth, Some(roots)) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth == TlsAuthClients::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| {
                format!("Failed to configure CA certificate(s) file/directory: {e}")
            })?)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| key_failed(e.to_string()))?;
    config.ignore_client_order = sec.tls_prefer_server_ciphers;
    config.session_storage = if sec.tls_session_caching && sec.tls_session_cache_size > 0 {
        rustls::server::ServerSessionMemoryCache::new(
            usize::try_from(sec.tls_session_cache_size).unwrap_or(usize::MAX),
        )
    } else {
        Arc::new(rustls::server::NoServerSessionStorage {})
    };
    Ok(Arc::new(config))
}

/// A client's TLS configuration (redish's own client): the server's certificate checked
/// against the CA certificates of `ca_file`, and a client certificate and key when the
/// server asks for one (`tls-auth-clients`). The error names the file that did not load.
pub fn client_config(
    ca_file: &Path,
    cert_and_key: Option<(&Path, &Path)>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(ca_file).map_err(|e| format!("{}: {e}", ca_file.display()))? {
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca_file.display()))?;
    }
    #[allow(deprecated)]
    let provider = Arc::new(ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = match cert_and_key {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let certs = load_certs(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
            let key =
                PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| e.to_string())?
        }
    };
    Ok(Arc::new(config))
}

/// The TLS configuration new connections get, rebuilt by CONFIG SET (see [`install`]).
#[derive(Clone)]
pub struct TlsContext {
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

impl std::fmt::Debug for TlsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsContext").finish_non_exhaustive()
    }
}

impl TlsContext {
    /// A context built from the settings ([`server_config`]).
    pub fn new(sec: &SecurityConfig) -> Result<TlsContext, String> {
        Ok(TlsContext {
            current: Arc::new(RwLock::new(server_config(sec)?)),
        })
    }

    /// The configuration for the next handshake.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Builds the configuration again from the settings and, if that worked, serves new
    /// connections with it; on error the current one stays.
    pub fn reload(&self, sec: &SecurityConfig) -> Result<(), String> {
        let next = server_config(sec)?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = next;
        Ok(())
    }
}

/// With a `tls-port` set: builds the TLS context from the store's settings and plugs its
/// reload into the store, so CONFIG SET of a TLS setting builds it again (and fails as
/// Redis's does when the files do not load). `None` without a TLS port. The error is the
/// reason, already logged with Redis's start-up line.
pub fn install(store: &mut redish_core::Store) -> std::io::Result<Option<TlsContext>> {
    if store.config().security.tls_port == 0 {
        return Ok(None);
    }
    let context = TlsContext::new(&store.config().security).map_err(|e| {
        tracing::warn!("{e}");
        tracing::warn!("Failed to configure TLS. Check logs for more info.");
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    })?;
    store.set_tls_reload(Box::new(context.clone()));
    Ok(Some(context))
}

impl redish_core::db::TlsReload for TlsContext {
    fn reload(&mut self, config: &redish_core::db::Config) -> Result<(), String> {
        TlsContext::reload(self, &config.security).inspect_err(|e| tracing::warn!("{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_as_redis_names_them() {
        assert_eq!(parse_protocols("").unwrap().len(), 2);
        assert_eq!(
            parse_protocols("TLSv1.3").unwrap(),
            vec![&rustls::version::TLS13]
        );
        assert_eq!(parse_protocols("tlsv1.2 TLSv1.2").unwrap().len(), 1);
        assert!(parse_protocols("TLSv1.1")
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_protocols("SSLv3")
            .unwrap_err()
            .starts_with("Invalid tls-protocols specified."));
    }

    #[test]
    fn ciphersuites_by_tls13_names() {
        let suites = parse_ciphersuites("TLS_CHACHA20_POLY1305_SHA256").unwrap();
        assert_eq!(
            suites[0].suite(),
            rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
        );
        assert!(suites[1..]
            .iter()
            .all(|s| s.version() == &rustls::version::TLS12));
        assert_eq!(
            parse_ciphersuites("TLS_FOO").unwrap_err(),
            "Failed to configure ciphersuites: TLS_FOO"
        );
    }

    #[test]
    fn missing_files_are_refused_with_redis_lines() {
        let mut sec = SecurityConfig::default();
        assert_eq!(
            server_config(&sec).unwrap_err(),
            "No tls-cert-file configured!"
        );
        sec.tls_cert_file = "/nonexistent/cert.pem".into();
        assert_eq!(
            server_config(&sec).unwrap_err(),
            "No tls-key-file configured!"
        );
        sec.tls_key_file = "/nonexistent/key.pem".into();
        assert!(server_config(&sec)
            .unwrap_err()
            .starts_with("Either tls-ca-cert-file or tls-ca-cert-dir"));
        sec.tls_auth_clients = TlsAuthClients::No;
        assert!(server_config(&sec)
            .unwrap_err()
            .starts_with("Failed to load certificate: /nonexistent/cert.pem: "));
    }
}
