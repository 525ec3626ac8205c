//! TLS for the cluster's nodes: the `--tls-*` flags every node and framework
//! command takes, and `corral certs`, which makes a cluster CA and node
//! certificates signed by it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use corral_runtime::node::tls::{generate_ca, generate_principal_cert, PemPair, TlsConfig};

/// A node's TLS identity. With `--tls-ca`, the node runs mutual TLS: it
/// accepts only peers whose certificate chains to that CA. Without any, it
/// makes a self-signed certificate (encrypted, but anyone may connect).
#[derive(Args, Debug, Default)]
pub struct TlsArgs {
    /// This node's certificate (PEM), signed by the cluster CA.
    #[arg(long, env = "CORRAL_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The key of --tls-cert (PEM).
    #[arg(long, env = "CORRAL_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The cluster CA (PEM): turns on mutual TLS.
    #[arg(long, env = "CORRAL_TLS_CA", requires = "tls_cert")]
    tls_ca: Option<PathBuf>,
}

impl TlsArgs {
    /// Whether any of these flags is given.
    pub fn given(&self) -> bool {
        self.tls_cert.is_some() || self.tls_key.is_some() || self.tls_ca.is_some()
    }

    /// Whether these flags turn on mutual TLS (a cluster CA), under which
    /// a peer's certificate proves the principal it names.
    pub fn mutual(&self) -> bool {
        self.tls_ca.is_some()
    }

    /// Whether a certificate is given (then the node's HTTP port serves
    /// HTTPS).
    pub fn has_cert(&self) -> bool {
        self.tls_cert.is_some()
    }

    /// The runtime's TLS config, with absolute paths (executors read them
    /// from their sandbox) to files that exist.
    pub fn config(&self) -> Result<TlsConfig> {
        Ok(TlsConfig {
            cert_pem: absolute(self.tls_cert.as_deref(), "--tls-cert")?,
            key_pem: absolute(self.tls_key.as_deref(), "--tls-key")?,
            ca_pem: absolute(self.tls_ca.as_deref(), "--tls-ca")?,
        })
    }
}

fn absolute(path: Option<&Path>, flag: &str) -> Result<Option<PathBuf>> {
    let Some(path) = path else {
        return Ok(None);
    };
    if !path.is_file() {
        bail!("{flag} {}: no such file", path.display());
    }
    let full = std::fs::canonicalize(path).with_context(|| format!("{flag} {}", path.display()))?;
    Ok(Some(full))
}

/// `corral certs ...`
#[derive(Subcommand, Debug)]
pub enum CertsCommand {
    /// Make a cluster CA: DIR/ca.pem and DIR/ca-key.pem (keep the key safe).
    Ca {
        /// Where to write the files.
        #[arg(long)]
        out: PathBuf,
        /// The CA's common name.
        #[arg(long, default_value = "corral cluster CA")]
        name: String,
    },
    /// Make a node certificate signed by the CA: DIR/node.pem and
    /// DIR/node-key.pem.
    Node {
        /// The directory holding ca.pem and ca-key.pem.
        #[arg(long)]
        ca: PathBuf,
        /// Where to write the files.
        #[arg(long)]
        out: PathBuf,
        /// Extra names or IPs the certificate carries (repeatable).
        #[arg(long)]
        san: Vec<String>,
        /// The principal the certificate proves to a master running mutual
        /// TLS (its common name): a framework or agent holding it needs no
        /// secret. Without it the certificate only proves membership.
        #[arg(long)]
        principal: Option<String>,
    },
}

/// Runs `corral certs`.
pub fn certs(cmd: CertsCommand) -> Result<std::process::ExitCode> {
    match cmd {
        CertsCommand::Ca { out, name } => {
            let ca = generate_ca(&name)?;
            write_pair(&out, "ca", &ca)?;
            println!("wrote {0}/ca.pem and {0}/ca-key.pem", out.display());
        }
        CertsCommand::Node {
            ca,
            out,
            san,
            principal,
        } => {
            let read = |f: &str| {
                std::fs::read_to_string(ca.join(f))
                    .with_context(|| format!("cannot read {}", ca.join(f).display()))
            };
            let pair = PemPair {
                cert_pem: read("ca.pem")?,
                key_pem: read("ca-key.pem")?,
            };
            let node = generate_principal_cert(&pair, &san, principal.as_deref())?;
            write_pair(&out, "node", &node)?;
            println!("wrote {0}/node.pem and {0}/node-key.pem", out.display());
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Writes `{name}.pem` and `{name}-key.pem` (the key readable by its owner
/// only).
fn write_pair(dir: &Path, name: &str, pair: &PemPair) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let cert = dir.join(format!("{name}.pem"));
    std::fs::write(&cert, &pair.cert_pem)
        .with_context(|| format!("cannot write {}", cert.display()))?;
    let key = dir.join(format!("{name}-key.pem"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&key)
        .with_context(|| format!("cannot write {}", key.display()))?;
    f.write_all(pair.key_pem.as_bytes())
        .with_context(|| format!("cannot write {}", key.display()))?;
    Ok(())
}
