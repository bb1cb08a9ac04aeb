//! The HTTPS client the SDK uses, trusting Mozilla's root certificates compiled into the binary.
//!
//! The SDK's default client reads the platform's certificate store at start-up: every file of
//! `/etc/ssl/certs` (or `/etc/pki/tls/certs`) is opened and parsed, which measured 4 ms of a 7 ms
//! cold start here. The compiled-in roots (the `webpki-root-certs` crate, Mozilla's list, which
//! includes the Amazon Trust Services roots that SageMaker and its VPC endpoints chain to) cost no
//! file I/O and stay current with `cargo update`.

use aws_sdk_sagemaker::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, HttpClientError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The SDK's own HTTPS client (rustls with aws-lc-rs, as `default-https-client` builds it), with
/// only the trust store changed.
pub fn https_client() -> Result<SharedHttpClient, HttpClientError> {
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(mozilla_roots_pem()))
        .build()?;
    Ok(Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

/// The compiled-in roots as one PEM bundle: the form the SDK's trust store takes.
fn mozilla_roots_pem() -> String {
    let mut pem = String::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() * 2048);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let encoded = STANDARD.encode(cert.as_ref());
        for line in encoded.as_bytes().chunks(64) {
            // Base64 output is ASCII, so every chunk is valid UTF-8.
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_every_compiled_in_root_unchanged() {
        let pem = mozilla_roots_pem();
        let decoded: Vec<Vec<u8>> = pem
            .split("-----BEGIN CERTIFICATE-----\n")
            .skip(1)
            .map(|block| {
                let body = block.split("-----END CERTIFICATE-----").next().unwrap();
                STANDARD.decode(body.replace('\n', "")).unwrap()
            })
            .collect();
        let roots: Vec<&[u8]> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| c.as_ref())
            .collect();
        assert!(roots.len() > 100, "Mozilla's list, not a stub");
        assert_eq!(decoded, roots);
        assert!(pem.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
    }

    #[test]
    fn the_client_builds_with_the_compiled_in_roots() {
        // Every root must parse into the trust store: the SDK panics on one that does not.
        assert!(https_client().is_ok());
    }
}
