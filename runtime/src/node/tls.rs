//! TLS identity of a node and the QUIC endpoint configuration built from it,
//! and the HTTPS configs of its HTTP port ([`https_server_config`]) and of
//! the operator's CLI ([`https_client_config`]), which check names as HTTPS
//! does (see their docs).
//!
//! # Trust model
//!
//! Peers are dialled by socket address, never by DNS name, so hostname checks
//! would only ever compare a certificate against the constant [`SERVER_NAME`].
//! Who may talk to whom is therefore decided by the cluster CA alone:
//!
//! - **With a cluster CA** ([`TlsConfig::ca_pem`]): mutual TLS. Both ends present
//!   a certificate and both ends accept a peer only if its chain ends at the CA.
//!   Membership in the cluster means "holds a key certified by the cluster CA".
//! - **Without a CA**: every connection is encrypted, but nobody is
//!   authenticated. The server does not ask for a client certificate and the
//!   client accepts whatever certificate the server shows (it still checks that
//!   the server owns the matching private key, so the session key is bound to
//!   that certificate). An active man-in-the-middle can impersonate any node.
//!   This is meant for development and for networks that are trusted anyway.
//!
//! Only TLS 1.3 is offered (QUIC is defined over it) and all cryptography comes
//! from the *ring* provider, chosen explicitly so that the process-wide default
//! provider does not matter.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{NoInitialCipherSuite, QuicClientConfig, QuicServerConfig};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::{ParsedCertificate, VerifierBuilderError, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The SNI name every node dials with (peers are identified by address and CA, not DNS).
pub const SERVER_NAME: &str = "corral-node";

/// The ALPN protocol both sides insist on, so that a Corral node never
/// completes a handshake with some other QUIC service listening on the port.
pub const ALPN: &[u8] = b"corral/1";

/// Per-stream receive window: one large message can be in flight without
/// waiting for flow-control updates on high-latency links.
const STREAM_RECEIVE_WINDOW: u32 = 8 * 1024 * 1024;
/// Per-connection receive window: room for two streams at full speed.
const RECEIVE_WINDOW: u32 = 16 * 1024 * 1024;
/// Per-connection send buffer, matched to the peer's receive window.
const SEND_WINDOW: u64 = 16 * 1024 * 1024;
/// Nodes multiplex few long-lived streams per peer; a small limit bounds the
/// state a misbehaving peer can make us hold.
const MAX_CONCURRENT_STREAMS: u32 = 16;

/// Where a node's TLS identity comes from. All paths are PEM files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// Certificate chain of this node (leaf first). None: generate a self-signed one at start.
    pub cert_pem: Option<PathBuf>,
    /// Private key matching `cert_pem` (PKCS#8, PKCS#1 or SEC1). Required when cert_pem is set.
    pub key_pem: Option<PathBuf>,
    /// Cluster CA. When set: mutual TLS — this node presents its certificate as a client too,
    /// accepts only peers (client and server side) whose certificate chains to this CA.
    /// The file may hold several CA certificates (e.g. old and new during a rotation);
    /// a peer signed by any of them is accepted.
    pub ca_pem: Option<PathBuf>,
}

/// Why a node's TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A configured PEM file could not be read.
    #[error("cannot read TLS file {}: {source}", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A configured file is not well-formed PEM.
    #[error("TLS file {} is not valid PEM: {source}", path.display())]
    Pem {
        /// The malformed file.
        path: PathBuf,
        /// What the PEM parser objected to.
        source: pem::Error,
    },
    /// A certificate file holds no `CERTIFICATE` block.
    #[error("TLS file {} contains no certificate", .0.display())]
    NoCertificate(PathBuf),
    /// A key file holds no private key in a supported format.
    #[error("TLS file {} contains no private key (expected PKCS#8, PKCS#1 or SEC1 PEM)", .0.display())]
    NoKey(PathBuf),
    /// A principal a certificate cannot carry: empty, with control
    /// characters, or the name every node certificate shares.
    #[error("{0:?} cannot be a certificate's principal (it must be non-empty text other than {SERVER_NAME:?})")]
    BadPrincipal(String),
    /// A private key was configured without the certificate it belongs to.
    #[error("TLS key {} is configured without a certificate (set the certificate too)", .0.display())]
    KeyWithoutCert(PathBuf),
    /// A certificate was configured without its private key.
    #[error("TLS certificate {} is configured without a private key (set the key too)", .0.display())]
    CertWithoutKey(PathBuf),
    /// A cluster CA was configured but no node certificate; a generated
    /// self-signed certificate could never be accepted by CA-checking peers.
    #[error(
        "cluster CA {} is configured but no node certificate; \
         issue one signed by that CA and configure it with its key",
        .0.display()
    )]
    CaWithoutCert(PathBuf),
    /// The private key is unusable or does not belong to the certificate.
    #[error("private key {} does not fit certificate {}: {source}", key.display(), cert.display())]
    KeyMismatch {
        /// The node certificate file.
        cert: PathBuf,
        /// The private key file.
        key: PathBuf,
        /// What rustls found wrong.
        source: rustls::Error,
    },
    /// A certificate in the CA file cannot serve as a trust anchor.
    #[error("cluster CA file {} holds an unusable certificate: {source}", path.display())]
    BadCa {
        /// The CA file.
        path: PathBuf,
        /// What rustls found wrong.
        source: rustls::Error,
    },
    /// The node's own certificate does not chain to the configured cluster CA
    /// (or is expired), so every peer would refuse it.
    #[error("certificate {} is not valid under cluster CA {}: {source}", cert.display(), ca.display())]
    NotSignedByCa {
        /// The node certificate file.
        cert: PathBuf,
        /// The CA file.
        ca: PathBuf,
        /// Why verification failed.
        source: rustls::Error,
    },
    /// PEM text handed to a generator function is malformed or empty.
    #[error("{what} is not valid PEM: {source}")]
    PemText {
        /// Which input was malformed.
        what: &'static str,
        /// What the PEM parser objected to.
        source: pem::Error,
    },
    /// The CA key handed to [`generate_node_cert`] cannot be used for signing.
    #[error("CA private key cannot be used for signing (PKCS#8 PEM required): {0}")]
    CaKey(rcgen::Error),
    /// rcgen cannot read the CA certificate handed to [`generate_node_cert`]
    /// as an issuer, e.g. because its subject uses an encoding that could not
    /// be copied into issued certificates, which would then not chain to the CA.
    #[error("CA certificate cannot be used as issuer: {0}")]
    CaCert(rcgen::Error),
    /// A freshly issued certificate did not verify against its CA, typically
    /// because the CA key does not belong to the CA certificate.
    #[error("issued certificate does not verify against the CA (does the CA key match the CA certificate?): {0}")]
    CaMismatch(rustls::Error),
    /// rustls rejected the configuration.
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
    /// Certificate or key generation failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// The client-certificate verifier for mutual TLS could not be built.
    #[error("cannot build client certificate verifier: {0}")]
    VerifierBuild(#[from] VerifierBuilderError),
    /// The crypto provider lacks the cipher suite QUIC needs for its initial packets.
    #[error("TLS configuration unusable for QUIC: {0}")]
    Quic(#[from] NoInitialCipherSuite),
    /// The transport timing is unusable.
    #[error("invalid transport tuning: {0}")]
    Tuning(String),
}

/// Timing for the QUIC transport, derived from the runtime's link timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportTuning {
    /// A connection with no traffic for this long is considered dead.
    /// Must be non-zero and fit a QUIC varint in milliseconds.
    pub idle_timeout: Duration,
    /// How often an otherwise quiet connection sends a keep-alive.
    /// Must be non-zero and shorter than `idle_timeout`.
    pub keep_alive: Duration,
}

/// PEM material for tests and for operators bootstrapping a cluster CA.
#[derive(Clone)]
pub struct PemPair {
    /// The certificate, PEM encoded.
    pub cert_pem: String,
    /// Its private key, PKCS#8 PEM encoded.
    pub key_pem: String,
}

// Hand-written so that logging a PemPair never leaks the private key.
impl fmt::Debug for PemPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemPair")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Build quinn server and client configs for a node.
///
/// Reads the files named in `cfg` (or generates a self-signed identity when no
/// certificate is configured) and applies `tuning` to both sides. See the
/// module documentation for what is authenticated in each mode.
pub fn endpoint_configs(
    cfg: &TlsConfig,
    tuning: &TransportTuning,
) -> Result<(quinn::ServerConfig, quinn::ClientConfig), TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let transport = transport_config(tuning)?;
    let identity = load_identity(cfg, &provider)?;
    let roots = match &cfg.ca_pem {
        Some(ca) => {
            let roots = load_roots(ca)?;
            if let Some(cert) = &cfg.cert_pem {
                check_chains_to_ca(&identity.chain, &roots, &provider).map_err(|source| {
                    TlsError::NotSignedByCa {
                        cert: cert.clone(),
                        ca: ca.clone(),
                        source,
                    }
                })?;
            }
            Some(roots)
        }
        None => None,
    };

    let server = server_crypto(&provider, &identity, roots.clone())?;
    let client = client_crypto(&provider, identity, roots)?;

    let mut server_config =
        quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(server)?));
    server_config.transport_config(transport.clone());
    let mut client_config = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(client)?));
    client_config.transport_config(transport);
    Ok((server_config, client_config))
}

/// A rustls server config for HTTPS on a node's HTTP port, from the node's
/// certificate chain and key.
///
/// Unlike the QUIC links, no client certificate is asked for, even with a
/// cluster CA: HTTP callers are browsers, curl and the CLI, and prove
/// themselves with HTTP Basic or a bearer token (docs/security.md). TLS 1.2
/// is offered beside 1.3 for the HTTP clients that still lack 1.3.
pub fn https_server_config(
    cert_pem: &Path,
    key_pem: &Path,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let identity = load_identity(
        &TlsConfig {
            cert_pem: Some(cert_pem.to_owned()),
            key_pem: Some(key_pem.to_owned()),
            ca_pem: None,
        },
        &provider,
    )?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)?;
    Ok(config)
}

/// A rustls client config for HTTPS calls to nodes whose certificates chain
/// to the CA(s) in `ca_pem`, for the operator's CLI.
///
/// Unlike a node dialling a node, an HTTP client asks for a host by name or
/// address, so the usual name check applies: the node's certificate must
/// carry the name or IP it is asked by (`corral certs node --san`).
pub fn https_client_config(ca_pem: &Path) -> Result<rustls::ClientConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = load_roots(ca_pem)?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// A new self-signed CA.
///
/// The key is ECDSA P-256 in PKCS#8, the form [`generate_node_cert`] accepts.
pub fn generate_ca(common_name: &str) -> Result<PemPair, TlsError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = ca_key_usages();
    let cert = params.self_signed(&key)?;
    Ok(PemPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A node certificate signed by `ca` (SANs: SERVER_NAME, "localhost", 127.0.0.1 and any extra given).
///
/// `ca.key_pem` must be PKCS#8 (the *ring* backend of rcgen reads nothing
/// else). Entries of `extra_sans` that parse as IP addresses become IP SANs,
/// the rest DNS SANs. The result is checked against `ca` before it is returned.
pub fn generate_node_cert(ca: &PemPair, extra_sans: &[String]) -> Result<PemPair, TlsError> {
    generate_principal_cert(ca, extra_sans, None)
}

/// A node certificate as [`generate_node_cert`] makes, proving `principal`
/// (None: none) to peers that run mutual TLS with the same CA: the
/// principal is the certificate's common name, as in Kubernetes' client
/// certificates, so certificates from any PKI tool can carry one.
pub fn generate_principal_cert(
    ca: &PemPair,
    extra_sans: &[String],
    principal: Option<&str>,
) -> Result<PemPair, TlsError> {
    if let Some(p) = principal {
        if p.is_empty() || p == SERVER_NAME || p.chars().any(char::is_control) {
            return Err(TlsError::BadPrincipal(p.to_owned()));
        }
    }
    let ca_der = CertificateDer::from_pem_slice(ca.cert_pem.as_bytes()).map_err(|source| {
        TlsError::PemText {
            what: "CA certificate",
            source,
        }
    })?;
    let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(TlsError::CaKey)?;
    let mut roots = RootCertStore::empty();
    roots.add(ca_der.clone())?;
    // Read from the same DER as the trust anchor, so the check below judges
    // exactly the certificate whose subject becomes the issuer name.
    let issuer = Issuer::from_ca_cert_der(&ca_der, ca_key).map_err(TlsError::CaCert)?;

    let mut seen = HashSet::new();
    let sans: Vec<String> = [SERVER_NAME, "localhost", "127.0.0.1"]
        .into_iter()
        .map(str::to_owned)
        .chain(extra_sans.iter().cloned())
        .filter(|san| seen.insert(san.clone()))
        .collect();
    let mut params = CertificateParams::new(sans)?;
    params.distinguished_name = match principal {
        Some(p) => {
            let mut name = DistinguishedName::new();
            name.push(DnType::CommonName, p);
            name
        }
        None => node_name(),
    };
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    // Every node is a TLS server for its inbound links and a client for its
    // outbound ones, and webpki enforces the EKU for each role.
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    let provider = rustls::crypto::ring::default_provider();
    check_chains_to_ca(&[cert.der().clone()], &roots, &provider).map_err(TlsError::CaMismatch)?;
    Ok(PemPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A self-signed node certificate (what a node uses when none is configured).
pub fn generate_self_signed() -> Result<PemPair, TlsError> {
    let (cert, key) = self_signed()?;
    Ok(PemPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A certificate chain and the key for its leaf.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn load_identity(cfg: &TlsConfig, provider: &CryptoProvider) -> Result<Identity, TlsError> {
    match (&cfg.cert_pem, &cfg.key_pem) {
        (Some(cert_path), Some(key_path)) => {
            let chain = load_certs(cert_path)?;
            let key = load_key(key_path)?;
            // Caught here, a wrong key names both files; caught by rustls later,
            // it is an anonymous "inconsistent keys".
            rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), provider)
                .map_err(|source| TlsError::KeyMismatch {
                    cert: cert_path.clone(),
                    key: key_path.clone(),
                    source,
                })?;
            Ok(Identity { chain, key })
        }
        (Some(cert_path), None) => Err(TlsError::CertWithoutKey(cert_path.clone())),
        (None, Some(key_path)) => Err(TlsError::KeyWithoutCert(key_path.clone())),
        (None, None) => {
            if let Some(ca) = &cfg.ca_pem {
                return Err(TlsError::CaWithoutCert(ca.clone()));
            }
            let (cert, key) = self_signed()?;
            Ok(Identity {
                chain: vec![cert.der().clone()],
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            })
        }
    }
}

fn self_signed() -> Result<(rcgen::Certificate, KeyPair), TlsError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec![SERVER_NAME.to_owned()])?;
    params.distinguished_name = node_name();
    let cert = params.self_signed(&key)?;
    Ok((cert, key))
}

/// The principal the peer of `conn` proved with its certificate: see
/// [`principal_of`]. Only for connections whose peer certificate the
/// cluster CA verified (mutual TLS); without a CA a peer's certificate is
/// whatever it chose to show.
pub(crate) fn certified_principal(conn: &quinn::Connection) -> Option<Arc<str>> {
    let identity = conn.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    principal_of(chain.first()?)
}

/// The principal `cert` names: its subject's common name, unless that is
/// [`SERVER_NAME`], which every node certificate made without a principal
/// carries.
fn principal_of(cert: &CertificateDer<'_>) -> Option<Arc<str>> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let name = parsed.subject().iter_common_name().next()?.as_str().ok()?;
    (!name.is_empty() && name != SERVER_NAME).then(|| Arc::from(name))
}

fn node_name() -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, SERVER_NAME);
    name
}

fn ca_key_usages() -> Vec<KeyUsagePurpose> {
    vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ]
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io {
        path: path.to_owned(),
        source,
    })
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_owned()));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_file(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|source| match source {
        pem::Error::NoItemsFound => TlsError::NoKey(path.to_owned()),
        source => TlsError::Pem {
            path: path.to_owned(),
            source,
        },
    })
}

fn load_roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|source| TlsError::BadCa {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(Arc::new(roots))
}

/// Runs the same chain check a peer will run, so a misissued certificate is
/// reported at start-up instead of as handshake failures later.
fn check_chains_to_ca(
    chain: &[CertificateDer<'static>],
    roots: &RootCertStore,
    provider: &CryptoProvider,
) -> Result<(), rustls::Error> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(rustls::Error::NoCertificatesPresented);
    };
    let leaf = ParsedCertificate::try_from(leaf)?;
    verify_server_cert_signed_by_trust_anchor(
        &leaf,
        roots,
        intermediates,
        UnixTime::now(),
        provider.signature_verification_algorithms.all,
    )
}

fn server_crypto(
    provider: &Arc<CryptoProvider>,
    identity: &Identity,
    roots: Option<Arc<RootCertStore>>,
) -> Result<rustls::ServerConfig, TlsError> {
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let builder = match roots {
        Some(roots) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(roots, provider.clone()).build()?,
        ),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    // 0-RTT stays off (max_early_data_size 0): early data can be replayed, and
    // actor messages are not idempotent.
    Ok(config)
}

fn client_crypto(
    provider: &Arc<CryptoProvider>,
    identity: Identity,
    roots: Option<Arc<RootCertStore>>,
) -> Result<rustls::ClientConfig, TlsError> {
    let mutual = roots.is_some();
    let verifier = PeerServerVerifier {
        roots,
        algorithms: provider.signature_verification_algorithms,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = if mutual {
        builder.with_client_auth_cert(identity.chain, identity.key)?
    } else {
        // Without a CA nobody checks client certificates, so sending one would
        // only reveal the node's identity to whoever listens.
        builder.with_no_client_auth()
    };
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// Checks the certificate a server presents to a dialling node.
///
/// Nodes dial by IP address, so the usual name check is skipped: with a CA the
/// chain alone decides; without one any certificate is taken (see the module
/// docs). In both modes the handshake signature is verified, which proves the
/// server holds the private key of the certificate it showed.
#[derive(Debug)]
struct PeerServerVerifier {
    /// The cluster CA; `None` accepts any certificate.
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PeerServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn transport_config(tuning: &TransportTuning) -> Result<Arc<quinn::TransportConfig>, TlsError> {
    if tuning.idle_timeout.is_zero() {
        // QUIC reads an idle timeout of 0 as "never", which would hide dead peers.
        return Err(TlsError::Tuning("idle timeout must be non-zero".into()));
    }
    if tuning.keep_alive.is_zero() || tuning.keep_alive >= tuning.idle_timeout {
        // Otherwise a healthy but quiet link would time out between keep-alives.
        return Err(TlsError::Tuning(format!(
            "keep-alive interval ({:?}) must be non-zero and shorter than the idle timeout ({:?})",
            tuning.keep_alive, tuning.idle_timeout
        )));
    }
    let idle = quinn::IdleTimeout::try_from(tuning.idle_timeout).map_err(|_| {
        TlsError::Tuning(format!(
            "idle timeout {:?} is too large for QUIC",
            tuning.idle_timeout
        ))
    })?;
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_idle_timeout(Some(idle))
        .keep_alive_interval(Some(tuning.keep_alive))
        .stream_receive_window(quinn::VarInt::from_u32(STREAM_RECEIVE_WINDOW))
        .receive_window(quinn::VarInt::from_u32(RECEIVE_WINDOW))
        .send_window(SEND_WINDOW)
        .max_concurrent_bidi_streams(quinn::VarInt::from_u32(MAX_CONCURRENT_STREAMS))
        .max_concurrent_uni_streams(quinn::VarInt::from_u32(MAX_CONCURRENT_STREAMS));
    Ok(Arc::new(transport))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::DnValue;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const WAIT: Duration = Duration::from_secs(10);

    fn tuning() -> TransportTuning {
        TransportTuning {
            idle_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(1),
        }
    }

    /// A scratch directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(label: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "corral-tls-{label}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).expect("create temp dir");
            TempDir(dir)
        }

        fn write(&self, name: &str, contents: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, contents).expect("write temp file");
            path
        }

        /// Writes a node identity (and optionally a CA) and returns its config.
        fn config(&self, prefix: &str, node: &PemPair, ca: Option<&PemPair>) -> TlsConfig {
            TlsConfig {
                cert_pem: Some(self.write(&format!("{prefix}-cert.pem"), &node.cert_pem)),
                key_pem: Some(self.write(&format!("{prefix}-key.pem"), &node.key_pem)),
                ca_pem: ca.map(|ca| self.write(&format!("{prefix}-ca.pem"), &ca.cert_pem)),
            }
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Connects a client with `client_cfg` to a server with `server_cfg`, sends
    /// "ping" on a bi stream and expects "pong". Returns the client's outcome
    /// and the server's, the latter saying whether the client presented a
    /// certificate.
    async fn exchange(
        server_cfg: &TlsConfig,
        client_cfg: &TlsConfig,
    ) -> (Result<(), String>, Result<bool, String>) {
        let (server_config, _) = endpoint_configs(server_cfg, &tuning()).expect("server configs");
        let (_, client_config) = endpoint_configs(client_cfg, &tuning()).expect("client configs");
        let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let server = quinn::Endpoint::server(server_config, loopback).expect("server endpoint");
        let server_addr = server.local_addr().expect("server address");
        let client = quinn::Endpoint::client(loopback).expect("client endpoint");

        let serve = tokio::spawn(async move {
            let incoming = server.accept().await.ok_or("endpoint closed")?;
            let conn = incoming.await.map_err(|e| format!("accept: {e}"))?;
            let (mut send, mut recv) = conn
                .accept_bi()
                .await
                .map_err(|e| format!("accept_bi: {e}"))?;
            let request = recv
                .read_to_end(64)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if request != b"ping" {
                return Err(format!("unexpected request {request:?}"));
            }
            send.write_all(b"pong")
                .await
                .map_err(|e| format!("write: {e}"))?;
            send.finish().map_err(|e| format!("finish: {e}"))?;
            let client_authenticated = conn.peer_identity().is_some();
            // Stay up until the client has read the reply and hung up.
            conn.closed().await;
            Ok::<bool, String>(client_authenticated)
        });

        let dial = async {
            let conn = client
                .connect_with(client_config, server_addr, SERVER_NAME)
                .map_err(|e| format!("connect: {e}"))?
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            let (mut send, mut recv) = conn.open_bi().await.map_err(|e| format!("open_bi: {e}"))?;
            send.write_all(b"ping")
                .await
                .map_err(|e| format!("write: {e}"))?;
            send.finish().map_err(|e| format!("finish: {e}"))?;
            let reply = recv
                .read_to_end(64)
                .await
                .map_err(|e| format!("read: {e}"))?;
            conn.close(0u32.into(), b"done");
            if reply == b"pong" {
                Ok(())
            } else {
                Err(format!("unexpected reply {reply:?}"))
            }
        };

        let client_result = tokio::time::timeout(WAIT, dial)
            .await
            .unwrap_or_else(|_| Err("client timed out".into()));
        let server_result = match tokio::time::timeout(WAIT, serve).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(format!("server task: {join}")),
            Err(_) => Err("server timed out".into()),
        };
        (client_result, server_result)
    }

    #[tokio::test]
    async fn without_ca_nodes_connect_and_exchange_bytes() {
        let (client, server) = exchange(&TlsConfig::default(), &TlsConfig::default()).await;
        assert_eq!(client, Ok(()));
        assert_eq!(server, Ok(false), "no client certificate without a CA");
    }

    #[tokio::test]
    async fn ca_signed_nodes_connect_with_mutual_tls() {
        let dir = TempDir::new("mtls-ok");
        let ca = generate_ca("corral test CA").expect("ca");
        let server = dir.config(
            "server",
            &generate_node_cert(&ca, &[]).expect("cert"),
            Some(&ca),
        );
        let client = dir.config(
            "client",
            &generate_node_cert(&ca, &[]).expect("cert"),
            Some(&ca),
        );
        let (client, server) = exchange(&server, &client).await;
        assert_eq!(client, Ok(()));
        assert_eq!(server, Ok(true), "client must present its certificate");
    }

    #[tokio::test]
    async fn ca_server_refuses_client_not_signed_by_ca() {
        let dir = TempDir::new("mtls-bad-client");
        let ca = generate_ca("corral test CA").expect("ca");
        let server = dir.config(
            "server",
            &generate_node_cert(&ca, &[]).expect("cert"),
            Some(&ca),
        );
        // The intruder trusts the real CA (so it accepts the server) but its own
        // certificate comes from a different CA.
        let intruder_ca = generate_ca("intruder CA").expect("ca");
        let intruder_cert = generate_node_cert(&intruder_ca, &[]).expect("cert");
        let mut client = dir.config("client", &intruder_cert, None);
        client.ca_pem = Some(dir.write("real-ca.pem", &ca.cert_pem));
        let (client_result, server_result) = exchange_with_raw_client(&server, &client).await;
        assert!(
            client_result.is_err(),
            "client should fail: {client_result:?}"
        );
        assert!(
            server_result.is_err(),
            "server should refuse: {server_result:?}"
        );
    }

    #[tokio::test]
    async fn ca_server_refuses_self_signed_client() {
        let dir = TempDir::new("mtls-self-signed-client");
        let ca = generate_ca("corral test CA").expect("ca");
        let server = dir.config(
            "server",
            &generate_node_cert(&ca, &[]).expect("cert"),
            Some(&ca),
        );
        let mut client = dir.config("client", &generate_self_signed().expect("cert"), None);
        client.ca_pem = Some(dir.write("real-ca.pem", &ca.cert_pem));
        let (client_result, server_result) = exchange_with_raw_client(&server, &client).await;
        assert!(
            client_result.is_err(),
            "client should fail: {client_result:?}"
        );
        assert!(
            server_result.is_err(),
            "server should refuse: {server_result:?}"
        );
    }

    #[tokio::test]
    async fn ca_client_refuses_server_not_signed_by_ca() {
        let dir = TempDir::new("mtls-bad-server");
        let ca = generate_ca("corral test CA").expect("ca");
        let server = dir.config("server", &generate_self_signed().expect("cert"), None);
        let client = dir.config(
            "client",
            &generate_node_cert(&ca, &[]).expect("cert"),
            Some(&ca),
        );
        let (client_result, server_result) = exchange(&server, &client).await;
        assert!(
            client_result.is_err(),
            "client should refuse: {client_result:?}"
        );
        assert!(
            server_result.is_err(),
            "server should see the refusal: {server_result:?}"
        );
    }

    /// Like [`exchange`], but builds the client config without the start-up
    /// check that its certificate chains to its CA, to model a peer that is
    /// not a cluster member yet presents a certificate.
    async fn exchange_with_raw_client(
        server_cfg: &TlsConfig,
        client_cfg: &TlsConfig,
    ) -> (Result<(), String>, Result<(), String>) {
        assert!(
            endpoint_configs(client_cfg, &tuning()).is_err(),
            "start-up check should reject a certificate outside the CA"
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let identity = load_identity(client_cfg, &provider).expect("identity");
        let roots = load_roots(client_cfg.ca_pem.as_deref().expect("ca")).expect("roots");
        let client = client_crypto(&provider, identity, Some(roots)).expect("client crypto");
        let mut client_config = quinn::ClientConfig::new(Arc::new(
            QuicClientConfig::try_from(client).expect("quic client"),
        ));
        client_config.transport_config(transport_config(&tuning()).expect("transport"));

        let (server_config, _) = endpoint_configs(server_cfg, &tuning()).expect("server configs");
        let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let server = quinn::Endpoint::server(server_config, loopback).expect("server endpoint");
        let server_addr = server.local_addr().expect("server address");
        let client = quinn::Endpoint::client(loopback).expect("client endpoint");

        let serve = tokio::spawn(async move {
            let incoming = server.accept().await.ok_or("endpoint closed")?;
            let conn = incoming.await.map_err(|e| format!("accept: {e}"))?;
            conn.accept_bi()
                .await
                .map_err(|e| format!("accept_bi: {e}"))?;
            Ok::<(), String>(())
        });
        let dial = async {
            let conn = client
                .connect_with(client_config, server_addr, SERVER_NAME)
                .map_err(|e| format!("connect: {e}"))?
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            // TLS 1.3 lets the client finish before the server has judged its
            // certificate, so the refusal may only show on the first stream.
            let (mut send, mut recv) = conn.open_bi().await.map_err(|e| format!("open_bi: {e}"))?;
            send.write_all(b"ping")
                .await
                .map_err(|e| format!("write: {e}"))?;
            send.finish().map_err(|e| format!("finish: {e}"))?;
            recv.read_to_end(64)
                .await
                .map_err(|e| format!("read: {e}"))?;
            Ok::<(), String>(())
        };
        let client_result = tokio::time::timeout(WAIT, dial)
            .await
            .unwrap_or_else(|_| Err("client timed out".into()));
        let server_result = match tokio::time::timeout(WAIT, serve).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(format!("server task: {join}")),
            Err(_) => Err("server timed out".into()),
        };
        (client_result, server_result)
    }

    #[test]
    fn cert_without_key_is_an_error() {
        let dir = TempDir::new("cert-no-key");
        let node = generate_self_signed().expect("cert");
        let cfg = TlsConfig {
            cert_pem: Some(dir.write("cert.pem", &node.cert_pem)),
            ..TlsConfig::default()
        };
        let err = endpoint_configs(&cfg, &tuning()).err();
        assert!(matches!(err, Some(TlsError::CertWithoutKey(_))), "{err:?}");
    }

    #[test]
    fn key_without_cert_is_an_error() {
        let dir = TempDir::new("key-no-cert");
        let node = generate_self_signed().expect("cert");
        let cfg = TlsConfig {
            key_pem: Some(dir.write("key.pem", &node.key_pem)),
            ..TlsConfig::default()
        };
        let err = endpoint_configs(&cfg, &tuning()).err();
        assert!(matches!(err, Some(TlsError::KeyWithoutCert(_))), "{err:?}");
    }

    #[test]
    fn ca_without_node_cert_is_an_error() {
        let dir = TempDir::new("ca-no-cert");
        let ca = generate_ca("corral test CA").expect("ca");
        let cfg = TlsConfig {
            ca_pem: Some(dir.write("ca.pem", &ca.cert_pem)),
            ..TlsConfig::default()
        };
        let err = endpoint_configs(&cfg, &tuning()).err();
        assert!(matches!(err, Some(TlsError::CaWithoutCert(_))), "{err:?}");
    }

    #[test]
    fn mismatched_key_names_both_files() {
        let dir = TempDir::new("key-mismatch");
        let one = generate_self_signed().expect("cert");
        let other = generate_self_signed().expect("cert");
        let cfg = TlsConfig {
            cert_pem: Some(dir.write("cert.pem", &one.cert_pem)),
            key_pem: Some(dir.write("key.pem", &other.key_pem)),
            ca_pem: None,
        };
        let err = endpoint_configs(&cfg, &tuning()).err();
        assert!(matches!(err, Some(TlsError::KeyMismatch { .. })), "{err:?}");
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("cert.pem") && message.contains("key.pem"),
            "{message}"
        );
    }

    #[test]
    fn missing_and_empty_files_are_reported_by_name() {
        let dir = TempDir::new("missing");
        let node = generate_self_signed().expect("cert");
        let missing = TlsConfig {
            cert_pem: Some(dir.0.join("absent.pem")),
            key_pem: Some(dir.write("key.pem", &node.key_pem)),
            ca_pem: None,
        };
        let err = endpoint_configs(&missing, &tuning()).err();
        assert!(matches!(err, Some(TlsError::Io { .. })), "{err:?}");
        assert!(err
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("absent.pem"));

        let no_cert = TlsConfig {
            cert_pem: Some(dir.write("empty.pem", "")),
            ..missing.clone()
        };
        let err = endpoint_configs(&no_cert, &tuning()).err();
        assert!(matches!(err, Some(TlsError::NoCertificate(_))), "{err:?}");

        let no_key = TlsConfig {
            cert_pem: Some(dir.write("cert.pem", &node.cert_pem)),
            key_pem: Some(dir.write("cert-as-key.pem", &node.cert_pem)),
            ca_pem: None,
        };
        let err = endpoint_configs(&no_key, &tuning()).err();
        assert!(matches!(err, Some(TlsError::NoKey(_))), "{err:?}");
    }

    #[test]
    fn a_certificate_carries_the_principal_it_was_made_for() {
        let ca = generate_ca("corral test CA").expect("ca");
        let principal = |pair: &PemPair| {
            let der = CertificateDer::from_pem_slice(pair.cert_pem.as_bytes()).expect("pem");
            principal_of(&der).map(|p| p.to_string())
        };
        let ops = generate_principal_cert(&ca, &[], Some("ops")).expect("cert");
        assert_eq!(principal(&ops).as_deref(), Some("ops"));
        assert_eq!(
            principal(&generate_node_cert(&ca, &[]).expect("cert")),
            None
        );
        for bad in ["", SERVER_NAME, "a\nb"] {
            let err = generate_principal_cert(&ca, &[], Some(bad)).err();
            assert!(
                matches!(err, Some(TlsError::BadPrincipal(_))),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn bad_tuning_is_rejected() {
        let keep_alive_too_long = TransportTuning {
            idle_timeout: Duration::from_secs(1),
            keep_alive: Duration::from_secs(1),
        };
        let err = endpoint_configs(&TlsConfig::default(), &keep_alive_too_long).err();
        assert!(matches!(err, Some(TlsError::Tuning(_))), "{err:?}");
    }

    #[test]
    fn node_cert_issued_under_multi_attribute_ca_subject() {
        // A CA made elsewhere may carry more than a common name and other
        // string types; issued certificates must still chain to it.
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(
            DnType::CountryName,
            DnValue::PrintableString("DE".try_into().expect("printable")),
        );
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Corral Ops");
        params
            .distinguished_name
            .push(DnType::CommonName, "Cluster Root");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = ca_key_usages();
        let cert = params.self_signed(&key).expect("ca cert");
        let ca = PemPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        let extra = vec!["10.1.2.3".to_owned(), "node-7.example".to_owned()];
        assert!(generate_node_cert(&ca, &extra).is_ok());
    }

    #[test]
    fn wrong_ca_key_is_detected() {
        let ca = generate_ca("one").expect("ca");
        let other = generate_ca("two").expect("ca");
        let mixed = PemPair {
            cert_pem: ca.cert_pem.clone(),
            key_pem: other.key_pem,
        };
        let err = generate_node_cert(&mixed, &[]).err();
        assert!(matches!(err, Some(TlsError::CaMismatch(_))), "{err:?}");
    }

    /// An HTTPS handshake in memory between a server on `node`'s identity
    /// and a client trusting `trusted` that asks for `name`: the client's
    /// verdict, or the server's.
    fn https_handshake(
        dir: &TempDir,
        node: &PemPair,
        trusted: &PemPair,
        name: &str,
    ) -> Result<(), rustls::Error> {
        let ids = dir.config("https", node, None);
        let (cert, key) = (ids.cert_pem.expect("cert"), ids.key_pem.expect("key"));
        let server = https_server_config(&cert, &key).expect("server config");
        let ca = dir.write("https-trusted.pem", &trusted.cert_pem);
        let client = https_client_config(&ca).expect("client config");
        let name = ServerName::try_from(name.to_owned()).expect("server name");
        let mut server = rustls::ServerConnection::new(Arc::new(server))?;
        let mut client = rustls::ClientConnection::new(Arc::new(client), name)?;
        // A TLS 1.3 handshake takes two flights each way; a few more
        // rounds are margin, and a bound keeps a broken one from spinning.
        for _ in 0..8 {
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
            let mut bytes = Vec::new();
            client.write_tls(&mut bytes).expect("to memory");
            server.read_tls(&mut bytes.as_slice()).expect("from memory");
            server.process_new_packets()?;
            let mut bytes = Vec::new();
            server.write_tls(&mut bytes).expect("to memory");
            client.read_tls(&mut bytes.as_slice()).expect("from memory");
            client.process_new_packets()?;
        }
        Err(rustls::Error::General(
            "the handshake did not finish".into(),
        ))
    }

    #[test]
    fn an_https_client_trusting_the_ca_takes_a_node_certificate_by_its_name_only() {
        let dir = TempDir::new("https");
        let ca = generate_ca("cluster").expect("ca");
        let node = generate_node_cert(&ca, &["10.1.2.3".to_owned()]).expect("node");
        for name in ["127.0.0.1", "localhost", "10.1.2.3"] {
            https_handshake(&dir, &node, &ca, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let err = https_handshake(&dir, &node, &ca, "elsewhere.example").err();
        assert!(
            matches!(err, Some(rustls::Error::InvalidCertificate(_))),
            "{err:?}"
        );
        let stranger = generate_ca("another cluster").expect("ca");
        let err = https_handshake(&dir, &node, &stranger, "127.0.0.1").err();
        assert!(
            matches!(err, Some(rustls::Error::InvalidCertificate(_))),
            "{err:?}"
        );
    }
}
