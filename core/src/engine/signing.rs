//! Signed privacy-proxy URLs, as `tracker_block/engine/signing.py` defines them:
//! `BASE/<kid>/<expiry>/<sig>/<b64url(url)>`, sig = base64url(HMAC-SHA256(kid \n expiry \n url)).
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The keys of a proxy: the first signs, every one verifies.
#[derive(Clone, Debug)]
pub struct KeyRing {
    pub keys: Vec<(String, Vec<u8>)>,
}

fn mac(secret: &[u8], kid: &str, expiry: u64, url: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    m.update(format!("{kid}\n{expiry}\n{url}").as_bytes());
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

impl KeyRing {
    /// The proxied form of `url` (already canonical), expiring `ttl` seconds after `now` (never: None).
    pub fn sign(&self, url: &str, base: &str, ttl: Option<u64>, now: u64) -> String {
        let (kid, secret) = &self.keys[0];
        let expiry = ttl.map_or(0, |t| now + t);
        format!("{}/{kid}/{expiry}/{}/{}", base.trim_end_matches('/'), mac(secret, kid, expiry, url),
                URL_SAFE_NO_PAD.encode(url.as_bytes()))
    }

    /// The URL a proxied `url` stands for, when it is one of ours, signed by a known key, unexpired.
    pub fn target_of(&self, url: &str, base: &str, now: u64) -> Option<String> {
        let prefix = format!("{}/", base.trim_end_matches('/'));
        let rest = url.strip_prefix(&prefix)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [kid, expiry_s, sig, encoded] = parts[..] else { return None };
        if expiry_s.is_empty() || expiry_s.len() > 12 || !expiry_s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let secret = &self.keys.iter().find(|(k, _)| k == kid)?.1;
        if !encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return None;
        }
        let target = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
        let expiry: u64 = expiry_s.parse().ok()?;
        let good = mac(secret, kid, expiry, &target);
        // constant-time enough for a local check: both are our own MAC's length
        if good.len() != sig.len() || !good.bytes().zip(sig.bytes()).fold(true, |ok, (a, b)| ok & (a == b)) {
            return None;
        }
        if expiry != 0 && expiry < now {
            return None;
        }
        Some(target)
    }
}
