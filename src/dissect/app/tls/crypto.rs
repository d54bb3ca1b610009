//! Record protection: the keys a key log's secrets give (TLS 1.3's
//! HKDF-Expand-Label, RFC 8446 §7.1–7.3; TLS 1.2's PRF, RFC 5246 §5 and
//! §6.3) and AEAD decryption of one record (RFC 8446 §5.2–5.3, RFC 5288 §3,
//! RFC 7905 §2). The AEAD tag decides: bytes whose tag does not verify are
//! never shown as decrypted.

use ring::aead::{self, Aad, LessSafeKey, Nonce, Tag, UnboundKey};
use ring::hmac;
use std::sync::Arc;

/// The AEAD algorithm of a cipher suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aead {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl Aead {
    fn key_len(self) -> usize {
        match self {
            Aead::Aes128Gcm => 16,
            Aead::Aes256Gcm | Aead::ChaCha20Poly1305 => 32,
        }
    }
}

/// What wirelab can decrypt of a cipher suite: its AEAD and whether its
/// hash (for the PRF or HKDF) is SHA-384.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub aead: Aead,
    pub sha384: bool,
}

/// The suites wirelab decrypts: TLS 1.3's three, and TLS 1.2's AEAD suites
/// with (EC)DHE or RSA key exchange.
pub fn suite(id: u16) -> Option<Suite> {
    let (aead, sha384) = match id {
        0x1301 => (Aead::Aes128Gcm, false),
        0x1302 => (Aead::Aes256Gcm, true),
        0x1303 => (Aead::ChaCha20Poly1305, false),
        0xc02b | 0xc02f | 0x009c | 0x009e => (Aead::Aes128Gcm, false),
        0xc02c | 0xc030 | 0x009d | 0x009f => (Aead::Aes256Gcm, true),
        0xcca8..=0xccaa => (Aead::ChaCha20Poly1305, false),
        _ => return None,
    };
    Some(Suite { aead, sha384 })
}

/// A ready AEAD (*ring*'s, the one the demo servers' TLS uses): its key
/// schedule is computed once per key, not per record. A key never changes,
/// so a copy of the dissector's state shares it.
#[derive(Clone)]
struct Cipher(Arc<LessSafeKey>);

impl Cipher {
    fn new(aead: Aead, key: &[u8]) -> Option<Cipher> {
        let alg = match aead {
            Aead::Aes128Gcm => &aead::AES_128_GCM,
            Aead::Aes256Gcm => &aead::AES_256_GCM,
            Aead::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        };
        Some(Cipher(Arc::new(LessSafeKey::new(UnboundKey::new(alg, key).ok()?))))
    }

    fn open(&self, nonce: [u8; 12], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
        let Ok(tag) = Tag::try_from(tag) else { return false };
        let nonce = Nonce::assume_unique_for_key(nonce);
        self.0.open_in_place_separate_tag(nonce, Aad::from(aad), tag, buf, 0..).is_ok()
    }
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher")
    }
}

/// One direction's record protection: key, IV and the sequence number of
/// the next record.
#[derive(Clone, Debug)]
pub struct Keys {
    suite: Suite,
    /// `None` only for a key of the wrong length (never from the derivations here).
    cipher: Option<Cipher>,
    /// TLS 1.3 and ChaCha20: the 12-byte IV; TLS 1.2 AES-GCM: the 4-byte salt (then zeros).
    iv: [u8; 12],
    pub seq: u64,
    /// TLS 1.3: the traffic secret, for the next KeyUpdate.
    secret: Vec<u8>,
    tls13: bool,
}

fn hmac(sha384: bool, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let alg = if sha384 { hmac::HMAC_SHA384 } else { hmac::HMAC_SHA256 };
    let mut m = hmac::Context::with_key(&hmac::Key::new(alg, key));
    for p in parts {
        m.update(p);
    }
    m.sign().as_ref().to_vec()
}

/// HKDF-Expand (RFC 5869 §2.3) with `secret` as the pseudorandom key.
fn hkdf_expand(sha384: bool, secret: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut t: Vec<u8> = Vec::new();
    let mut i = 1u8;
    while out.len() < len {
        t = hmac(sha384, secret, &[&t, info, &[i]]);
        out.extend_from_slice(&t);
        i += 1;
    }
    out.truncate(len);
    out
}

/// HKDF-Expand-Label(secret, label, "", len) of RFC 8446 §7.1.
pub fn expand_label(sha384: bool, secret: &[u8], label: &str, len: usize) -> Vec<u8> {
    let full = format!("tls13 {label}");
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    hkdf_expand(sha384, secret, &info, len)
}

/// TLS 1.2's PRF (RFC 5246 §5): P_hash(secret, label + seed).
fn prf(sha384: bool, secret: &[u8], label: &[u8], seed: &[&[u8]], len: usize) -> Vec<u8> {
    let mut full_seed = label.to_vec();
    for s in seed {
        full_seed.extend_from_slice(s);
    }
    let mut out = Vec::with_capacity(len);
    let mut a = hmac(sha384, secret, &[&full_seed]);
    while out.len() < len {
        out.extend_from_slice(&hmac(sha384, secret, &[&a, &full_seed]));
        a = hmac(sha384, secret, &[&a]);
    }
    out.truncate(len);
    out
}

impl Keys {
    /// TLS 1.3: the keys of a traffic secret (RFC 8446 §7.3).
    pub fn tls13(suite: Suite, secret: &[u8]) -> Keys {
        let key = expand_label(suite.sha384, secret, "key", suite.aead.key_len());
        let mut iv = [0; 12];
        iv.copy_from_slice(&expand_label(suite.sha384, secret, "iv", 12));
        Keys { suite, cipher: Cipher::new(suite.aead, &key), iv, seq: 0, secret: secret.to_vec(), tls13: true }
    }

    /// TLS 1.3 KeyUpdate (RFC 8446 §7.2): the next traffic secret and its keys.
    pub fn update(&mut self) {
        let len = if self.suite.sha384 { 48 } else { 32 };
        let next = expand_label(self.suite.sha384, &self.secret, "traffic upd", len);
        *self = Keys::tls13(self.suite, &next);
    }

    /// TLS 1.2: the client's and the server's keys from the master secret
    /// (RFC 5246 §6.3; AEAD suites have no MAC key).
    pub fn tls12(suite: Suite, master: &[u8], client_random: &[u8], server_random: &[u8]) -> (Keys, Keys) {
        let klen = suite.aead.key_len();
        let ivlen = if suite.aead == Aead::ChaCha20Poly1305 { 12 } else { 4 };
        let block = prf(suite.sha384, master, b"key expansion", &[server_random, client_random], 2 * (klen + ivlen));
        let (ck, rest) = block.split_at(klen);
        let (sk, rest) = rest.split_at(klen);
        let (civ, siv) = rest.split_at(ivlen);
        let make = |key: &[u8], iv: &[u8]| {
            let mut v = [0; 12];
            v[..ivlen].copy_from_slice(iv);
            Keys { suite, cipher: Cipher::new(suite.aead, key), iv: v, seq: 0, secret: Vec::new(), tls13: false }
        };
        (make(ck, civ), make(sk, siv))
    }

    /// Decrypts one record's payload (`header` is the record's 5-byte
    /// header as on the wire) into `out` (emptied first; a buffer reused
    /// from earlier frames). False when the tag does not verify (a wrong
    /// key, a record of another session, damaged bytes): `out` is then
    /// empty. Counts the record either way, as the receiver does.
    pub fn decrypt_into(&mut self, header: &[u8; 5], payload: &[u8], out: &mut Vec<u8>) -> bool {
        out.clear();
        let seq = self.seq;
        self.seq += 1;
        let explicit = if !self.tls13 && self.suite.aead != Aead::ChaCha20Poly1305 { 8 } else { 0 };
        if payload.len() < explicit + 16 {
            return false;
        }
        let mut nonce = self.iv;
        if explicit > 0 {
            nonce[4..].copy_from_slice(&payload[..8]);
        } else {
            for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                *n ^= s;
            }
        }
        let (body, tag) = payload[explicit..].split_at(payload.len() - explicit - 16);
        // TLS 1.3: the record header; TLS 1.2: sequence number, type,
        // version and the plaintext's length.
        let mut aad = [0u8; 13];
        let aad: &[u8] = if self.tls13 {
            aad[..5].copy_from_slice(header);
            &aad[..5]
        } else {
            aad[..8].copy_from_slice(&seq.to_be_bytes());
            aad[8..11].copy_from_slice(&header[..3]);
            aad[11..].copy_from_slice(&(body.len() as u16).to_be_bytes());
            &aad
        };
        out.extend_from_slice(body);
        let ok = self.cipher.as_ref().is_some_and(|c| c.open(nonce, aad, out, tag));
        if !ok {
            out.clear();
        }
        ok
    }

    /// [`Keys::decrypt_into`] into a new buffer; `None` when the tag does not verify.
    #[cfg(test)]
    pub fn decrypt(&mut self, header: &[u8; 5], payload: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        self.decrypt_into(header, payload, &mut out).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 8448 §3 (a simple 1-RTT handshake): the server's handshake
    /// traffic secret gives this key and IV.
    #[test]
    fn tls13_key_schedule_matches_rfc_8448() {
        let secret =
            unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38");
        let k = Keys::tls13(suite(0x1301).unwrap(), &secret);
        assert_eq!(expand_label(false, &secret, "key", 16), unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"));
        assert_eq!(k.iv.to_vec(), unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
    }

    /// A record sealed with those keys (nonce = IV for the first record,
    /// the header as associated data) opens, and the inner content type is
    /// its last byte; with one bit flipped, or as the second record (another
    /// nonce), it does not.
    #[test]
    fn tls13_records_open_only_whole_and_in_order() {
        let secret =
            unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38");
        let keys = Keys::tls13(suite(0x1301).unwrap(), &secret);
        let inner = b"hello\x17".to_vec();
        let header = [0x17, 0x03, 0x03, 0x00, (inner.len() + 16) as u8];
        let key = expand_label(false, &secret, "key", 16);
        let cipher = LessSafeKey::new(UnboundKey::new(&aead::AES_128_GCM, &key).unwrap());
        let mut body = inner.clone();
        let tag = cipher
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(keys.iv), Aad::from(&header), &mut body)
            .unwrap();
        body.extend_from_slice(tag.as_ref());
        assert_eq!(keys.clone().decrypt(&header, &body), Some(inner));
        let mut bad = body.clone();
        bad[2] ^= 1;
        assert_eq!(keys.clone().decrypt(&header, &bad), None);
        let mut second = keys.clone();
        second.seq = 1;
        assert_eq!(second.decrypt(&header, &body), None);
    }
}
