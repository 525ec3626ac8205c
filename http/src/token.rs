//! Bearer tokens for the HTTP APIs: JSON Web Tokens signed with HMAC-SHA256
//! (RFC 7519, `alg` `HS256`) under a key the node reads from
//! `--jwt-secret-key FILE`, as Mesos signs its executors' tokens. The
//! token's `sub` is the principal; `exp` is required (a token that never
//! expires cannot be withdrawn short of changing the key), `nbf` honoured.
//!
//! `corral token` mints them for operators and scripts, so a secret need
//! not be sent with every call as HTTP Basic does.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// The fewest bytes a key may have: as many as the hash's output (RFC 7518
/// asks at least that for HS256).
pub const MIN_KEY_BYTES: usize = 32;

/// The key bearer tokens are signed and checked with.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtKey(Vec<u8>);

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKey(<redacted>)")
    }
}

/// Why a key or a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The key is too short to sign with.
    #[error("the JWT secret key has {0} bytes; it needs at least {MIN_KEY_BYTES}")]
    ShortKey(usize),
    /// Not three base64url parts of JSON.
    #[error("the bearer token is not a JSON Web Token")]
    Malformed,
    /// Signed with another algorithm (or none).
    #[error("the bearer token is signed with {0:?}; only HS256 is accepted")]
    Algorithm(String),
    /// The signature does not match the key.
    #[error("the bearer token's signature does not match")]
    Signature,
    /// It names no principal, or no expiry.
    #[error("the bearer token has no {0} claim")]
    Missing(&'static str),
    /// Its `exp` has passed.
    #[error("the bearer token expired")]
    Expired,
    /// Its `nbf` is still to come.
    #[error("the bearer token is not valid yet")]
    NotYet,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
}

impl JwtKey {
    /// A key of `bytes` (a file's whole content; surrounding whitespace,
    /// such as a final newline, is not part of it).
    pub fn new(bytes: &[u8]) -> Result<JwtKey, TokenError> {
        let key = bytes.trim_ascii();
        if key.len() < MIN_KEY_BYTES {
            return Err(TokenError::ShortKey(key.len()));
        }
        Ok(JwtKey(key.to_vec()))
    }

    fn hmac(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &self.0)
    }

    /// A token for `principal`, valid from `now` (seconds since the epoch)
    /// for `ttl_secs`.
    pub fn mint(&self, principal: &str, now: u64, ttl_secs: u64) -> String {
        let header = Header {
            alg: "HS256".into(),
            typ: Some("JWT".into()),
        };
        let claims = Claims {
            sub: Some(principal.to_owned()),
            exp: Some(now.saturating_add(ttl_secs)),
            nbf: None,
            iat: Some(now),
        };
        let signed = format!("{}.{}", part(&header), part(&claims));
        let tag = hmac::sign(&self.hmac(), signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The principal `token` proves at `now` (seconds since the epoch).
    pub fn verify(&self, token: &str, now: u64) -> Result<String, TokenError> {
        let mut parts = token.trim().split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| TokenError::Malformed);
        let header: Header =
            serde_json::from_slice(&decode(h)?).map_err(|_| TokenError::Malformed)?;
        if header.alg != "HS256" {
            return Err(TokenError::Algorithm(header.alg));
        }
        // The signature first: nothing a forger wrote is believed before.
        let signed = &token.trim()[..h.len() + 1 + c.len()];
        hmac::verify(&self.hmac(), signed.as_bytes(), &decode(s)?)
            .map_err(|_| TokenError::Signature)?;
        let claims: Claims =
            serde_json::from_slice(&decode(c)?).map_err(|_| TokenError::Malformed)?;
        let exp = claims.exp.ok_or(TokenError::Missing("exp"))?;
        if now >= exp {
            return Err(TokenError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| now < nbf) {
            return Err(TokenError::NotYet);
        }
        match claims.sub {
            Some(sub) if !sub.is_empty() => Ok(sub),
            _ => Err(TokenError::Missing("sub")),
        }
    }
}

/// One part of a token: JSON, base64url without padding.
fn part<T: Serialize>(v: &T) -> String {
    // Plain structs of strings and numbers always serialise.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> JwtKey {
        JwtKey::new(b"0123456789abcdef0123456789abcdef\n").expect("long enough")
    }

    #[test]
    fn a_minted_token_proves_its_principal_until_it_expires() {
        let t = key().mint("ops", 1_000, 60);
        assert_eq!(key().verify(&t, 1_000), Ok("ops".to_owned()));
        assert_eq!(key().verify(&t, 1_059), Ok("ops".to_owned()));
        assert_eq!(key().verify(&t, 1_060), Err(TokenError::Expired));
    }

    #[test]
    fn another_key_or_a_changed_claim_is_refused() {
        let t = key().mint("ops", 1_000, 60);
        let other = JwtKey::new(&[7u8; 32]).expect("long enough");
        assert_eq!(other.verify(&t, 1_000), Err(TokenError::Signature));
        // The same signature over claims naming someone else.
        let parts: Vec<&str> = t.split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"root","exp":9999999999}"#);
        let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
        assert_eq!(key().verify(&forged, 1_000), Err(TokenError::Signature));
    }

    #[test]
    fn unsigned_and_malformed_tokens_are_refused() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"sub":"root","exp":9999999999}"#)
        );
        assert_eq!(
            key().verify(&none, 1_000),
            Err(TokenError::Algorithm("none".into()))
        );
        for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30.e30"] {
            assert!(key().verify(bad, 1_000).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_token_needs_a_subject_and_an_expiry_and_respects_not_before() {
        let k = key();
        let sign = |claims: &str| {
            let signed = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
                URL_SAFE_NO_PAD.encode(claims)
            );
            let tag = hmac::sign(&k.hmac(), signed.as_bytes());
            format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
        };
        assert_eq!(
            k.verify(&sign(r#"{"sub":"ops"}"#), 1),
            Err(TokenError::Missing("exp"))
        );
        assert_eq!(
            k.verify(&sign(r#"{"exp":10}"#), 1),
            Err(TokenError::Missing("sub"))
        );
        assert_eq!(
            k.verify(&sign(r#"{"sub":"ops","exp":10,"nbf":5}"#), 1),
            Err(TokenError::NotYet)
        );
        assert_eq!(
            k.verify(&sign(r#"{"sub":"ops","exp":10,"nbf":5}"#), 5),
            Ok("ops".into())
        );
    }

    #[test]
    fn a_short_key_is_refused() {
        assert_eq!(JwtKey::new(b"short\n"), Err(TokenError::ShortKey(5)));
    }
}
