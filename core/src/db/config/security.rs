//! The settings of issue 16 that the host acts on (TLS, the Unix socket, protected mode, the
//! ACL file), kept apart from the rest of the table: [`SecurityConfig`] is one field of
//! [`super::Config`], and its rows close [`super::PARAMS`].
//!
//! Core only keeps these values: loading certificates, opening sockets and reading files is
//! the host's, which learns of a CONFIG SET of a TLS setting through
//! [`crate::Store::set_tls_reload`].

choice!(
    /// `tls-auth-clients`: whether a TLS client must show a certificate signed by the CA.
    TlsAuthClients {
        /// No certificate asked for.
        No = "no",
        /// A certificate required (Redis's default).
        Yes = "yes",
        /// A certificate checked when the client offers one.
        Optional = "optional",
    }
);

/// What the host plugs in to build its TLS context from the settings (see
/// [`crate::Store::set_tls_reload`]); `Err` is logged by the host, and CONFIG SET answers
/// Redis's `Unable to update TLS configuration. Check server logs.`
pub trait TlsReload: Send + std::fmt::Debug {
    /// Builds the TLS context from `config` and, if that worked, serves the next
    /// connections with it.
    fn reload(&mut self, config: &super::Config) -> Result<(), String>;
}

/// TLS, Unix socket, protected mode and ACL file settings (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityConfig {
    /// `protected-mode`: refuse clients from beyond loopback while the default user has no
    /// password and the server is bound beyond loopback.
    pub protected_mode: bool,
    /// `unixsocketperm` (immutable): the socket file's permission bits; 0 leaves the umask's.
    pub unixsocketperm: u32,
    /// `tls-port` (immutable here): the TLS port; 0 none.
    pub tls_port: u16,
    /// `tls-cert-file`: the server's certificate chain (PEM).
    pub tls_cert_file: String,
    /// `tls-key-file`: its private key (PEM).
    pub tls_key_file: String,
    /// `tls-ca-cert-file`: CA certificates (PEM) that client certificates are checked against.
    pub tls_ca_cert_file: String,
    /// `tls-ca-cert-dir`: a directory of such CA certificates.
    pub tls_ca_cert_dir: String,
    /// `tls-auth-clients`.
    pub tls_auth_clients: TlsAuthClients,
    /// `tls-protocols`: space-separated (`TLSv1.2 TLSv1.3`); empty: both.
    pub tls_protocols: String,
    /// `tls-ciphersuites`: TLS 1.3 suites by their standard names, `:`-separated; empty:
    /// the defaults.
    pub tls_ciphersuites: String,
    /// `tls-prefer-server-ciphers`: the server's order of cipher suites wins.
    pub tls_prefer_server_ciphers: bool,
    /// `tls-session-caching`: TLS sessions may be resumed.
    pub tls_session_caching: bool,
    /// `tls-session-cache-size`: sessions kept for resumption.
    pub tls_session_cache_size: u64,
    /// `tls-session-cache-timeout` (seconds): kept for CONFIG; rustls's cache evicts by
    /// size only.
    pub tls_session_cache_timeout_s: u64,
    /// `tls-key-file-pass`: the passphrase of an encrypted `tls-key-file` (which rustls
    /// cannot read: a non-empty value is refused when TLS is configured).
    pub tls_key_file_pass: String,
    /// `tls-replication`: replicas connect to their master over TLS (for the replication
    /// code; kept here with the other TLS settings).
    pub tls_replication: bool,
    /// `aclfile` (immutable): where ACL SAVE writes the users and ACL LOAD reads them.
    pub aclfile: String,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            protected_mode: true,
            unixsocketperm: 0,
            tls_port: 0,
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_ca_cert_file: String::new(),
            tls_ca_cert_dir: String::new(),
            tls_auth_clients: TlsAuthClients::Yes,
            tls_protocols: String::new(),
            tls_ciphersuites: String::new(),
            tls_prefer_server_ciphers: false,
            tls_session_caching: true,
            tls_session_cache_size: 20 * 1024,
            tls_session_cache_timeout_s: 300,
            tls_key_file_pass: String::new(),
            tls_replication: false,
            aclfile: String::new(),
        }
    }
}

impl SecurityConfig {
    /// The parameters whose change asks the host to build its TLS context again.
    pub const TLS_RELOAD_PARAMS: &'static [&'static str] = &[
        "tls-cert-file",
        "tls-key-file",
        "tls-ca-cert-file",
        "tls-ca-cert-dir",
        "tls-auth-clients",
        "tls-protocols",
        "tls-ciphersuites",
        "tls-prefer-server-ciphers",
        "tls-session-caching",
        "tls-session-cache-size",
        "tls-key-file-pass",
    ];

    /// True if the TLS context built from `self` would differ from one built from `other`.
    pub fn tls_differs(&self, other: &SecurityConfig) -> bool {
        (
            &self.tls_cert_file,
            &self.tls_key_file,
            &self.tls_ca_cert_file,
            &self.tls_ca_cert_dir,
            self.tls_auth_clients,
            &self.tls_protocols,
            &self.tls_ciphersuites,
            (
                self.tls_prefer_server_ciphers,
                self.tls_session_caching,
                self.tls_session_cache_size,
                &self.tls_key_file_pass,
            ),
        ) != (
            &other.tls_cert_file,
            &other.tls_key_file,
            &other.tls_ca_cert_file,
            &other.tls_ca_cert_dir,
            other.tls_auth_clients,
            &other.tls_protocols,
            &other.tls_ciphersuites,
            (
                other.tls_prefer_server_ciphers,
                other.tls_session_caching,
                other.tls_session_cache_size,
                &other.tls_key_file_pass,
            ),
        )
    }
}

pub(super) fn parse_auth_clients(v: &[u8]) -> Result<TlsAuthClients, String> {
    TlsAuthClients::parse(v)
}
