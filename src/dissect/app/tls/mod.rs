//! TLS (RFC 8446 for 1.3, RFC 5246 for 1.2): records, handshake messages
//! and alerts, with Wireshark's field names; and, given the session's
//! secrets from a key log ([`keylog::KeyLog`]), the records decrypted into a
//! "Decrypted TLS" data source that HTTP, WebSocket, Engine.IO and
//! Socket.IO read exactly as they read plain TCP.
//!
//! A TCP stream whose first bytes look like a TLS record (a known content
//! type, major version 3, a plausible length) is read as TLS on any port,
//! as Wireshark's heuristic does. The record is the TCP-level PDU (so the
//! stream reassembly joins records across segments); handshake messages
//! are joined across records here, and decrypted application bytes across
//! records by a second, inner reassembly.

pub mod crypto;
pub mod keylog;

use std::borrow::Cow;

use super::super::{At, Cx, read_be};
use super::{AppStream, PduLen, Proto};
use crate::model::{Protocol, TcpIpLayer, Value};
use crate::{fields, notes};

pub static TLS: Protocol = Protocol {
    name: "tls",
    short: "TLS",
    label: "Transport Layer Security",
    osi: 6,
    tcpip: TcpIpLayer::Application,
    explain: "TLS encrypts and authenticates the bytes of an application (HTTPS, wss://) between two programs: a \
handshake agrees on keys and proves the server's identity with a certificate, then every record is encrypted so \
that an eavesdropper sees only sizes and timing. Changing how data is represented (here, into ciphertext) is the \
presentation layer's job (OSI 6); in the TCP/IP model TLS is part of the application layer, above TCP.",
};

pub const CONTENT_TYPES: &[(u64, &str)] =
    &[(20, "Change Cipher Spec"), (21, "Alert"), (22, "Handshake"), (23, "Application Data"), (24, "Heartbeat")];

pub const VERSIONS: &[(u64, &str)] =
    &[(0x0300, "SSL 3.0"), (0x0301, "TLS 1.0"), (0x0302, "TLS 1.1"), (0x0303, "TLS 1.2"), (0x0304, "TLS 1.3")];

pub const HANDSHAKE_TYPES: &[(u64, &str)] = &[
    (0, "Hello Request"),
    (1, "Client Hello"),
    (2, "Server Hello"),
    (4, "New Session Ticket"),
    (5, "End of Early Data"),
    (8, "Encrypted Extensions"),
    (11, "Certificate"),
    (12, "Server Key Exchange"),
    (13, "Certificate Request"),
    (14, "Server Hello Done"),
    (15, "Certificate Verify"),
    (16, "Client Key Exchange"),
    (20, "Finished"),
    (24, "Key Update"),
    (254, "Message Hash"),
];

pub const ALERT_LEVELS: &[(u64, &str)] = &[(1, "Warning"), (2, "Fatal")];

pub const ALERT_DESCRIPTIONS: &[(u64, &str)] = &[
    (0, "Close Notify"),
    (10, "Unexpected Message"),
    (20, "Bad Record MAC"),
    (22, "Record Overflow"),
    (40, "Handshake Failure"),
    (42, "Bad Certificate"),
    (43, "Unsupported Certificate"),
    (44, "Certificate Revoked"),
    (45, "Certificate Expired"),
    (46, "Certificate Unknown"),
    (47, "Illegal Parameter"),
    (48, "Unknown CA"),
    (49, "Access Denied"),
    (50, "Decode Error"),
    (51, "Decrypt Error"),
    (70, "Protocol Version"),
    (71, "Insufficient Security"),
    (80, "Internal Error"),
    (86, "Inappropriate Fallback"),
    (90, "User Canceled"),
    (109, "Missing Extension"),
    (110, "Unsupported Extension"),
    (112, "Unrecognized Name"),
    (116, "Certificate Required"),
    (120, "No Application Protocol"),
];

/// Cipher suites as Wireshark names them (the common ones; others show their number).
pub const SUITE_NAMES: &[(u64, &str)] = &[
    (0x1301, "TLS_AES_128_GCM_SHA256"),
    (0x1302, "TLS_AES_256_GCM_SHA384"),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
    (0x1304, "TLS_AES_128_CCM_SHA256"),
    (0x1305, "TLS_AES_128_CCM_8_SHA256"),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    (0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
];

pub const EXTENSION_TYPES: &[(u64, &str)] = &[
    (0, "server_name"),
    (5, "status_request"),
    (10, "supported_groups"),
    (11, "ec_point_formats"),
    (13, "signature_algorithms"),
    (16, "application_layer_protocol_negotiation"),
    (18, "signed_certificate_timestamp"),
    (21, "padding"),
    (22, "encrypt_then_mac"),
    (23, "extended_master_secret"),
    (35, "session_ticket"),
    (41, "pre_shared_key"),
    (42, "early_data"),
    (43, "supported_versions"),
    (44, "cookie"),
    (45, "psk_key_exchange_modes"),
    (49, "post_handshake_auth"),
    (51, "key_share"),
    (65281, "renegotiation_info"),
];

pub const GROUPS: &[(u64, &str)] = &[
    (23, "secp256r1"),
    (24, "secp384r1"),
    (25, "secp521r1"),
    (29, "x25519"),
    (30, "x448"),
    (256, "ffdhe2048"),
    (257, "ffdhe3072"),
];

fields! { proto = &TLS;
    RECORD: "tls.record" { label: "Record Layer", ty: None, explain: "One TLS record: a 5-byte header (content type, version, length) and up to 16 KiB of content. TLS cuts the application's bytes into records, independently of TCP's segments." };
    CONTENT_TYPE: "tls.record.content_type" { label: "Content Type", ty: U8, values: CONTENT_TYPES, explain: "What the record carries: 22 handshake, 23 application data, 21 alert, 20 change cipher spec. Shown in brackets when it was read from inside a decrypted TLS 1.3 record." };
    OPAQUE_TYPE: "tls.record.opaque_type" { label: "Opaque Type", ty: U8, values: CONTENT_TYPES, explain: "TLS 1.3 labels every encrypted record 'application data' (23) on the wire, whatever it carries: the true content type is encrypted inside, so an eavesdropper cannot tell a handshake message from a chat message." };
    RECORD_VERSION: "tls.record.version" { label: "Version", ty: U16, base: Hex(4), values: VERSIONS, explain: "The record's version field. TLS 1.3 writes 0x0303 (TLS 1.2) here so that old middleboxes let it through; the real version is agreed in the supported_versions extension." };
    RECORD_LENGTH: "tls.record.length" { label: "Length", ty: U16, explain: "How many bytes of content follow the header (at most 16,384 plus the encryption's overhead)." };
    APP_DATA: "tls.app_data" { label: "Encrypted Application Data", ty: Bytes, base: Hex(0), explain: "The encrypted content, followed by its 16-byte authentication tag. Without the keys these bytes look random; their number betrays roughly how long the message inside is." };
    CHANGE_CIPHER_SPEC: "tls.change_cipher_spec" { label: "Change Cipher Spec Message", ty: None, explain: "In TLS 1.2, 'from my next record on, I encrypt with the keys we agreed'. TLS 1.3 keeps a dummy one only so that middleboxes see a familiar pattern." };
    ALERT: "tls.alert_message" { label: "Alert Message", ty: None, explain: "An alert: a warning, or a fatal error that ends the connection (a bad certificate, a failed handshake). 'Close notify' is the polite way to say 'I will send nothing more'." };
    ALERT_LEVEL: "tls.alert_message.level" { label: "Level", ty: U8, values: ALERT_LEVELS, explain: "1 warning, 2 fatal: after a fatal alert the connection is closed." };
    ALERT_DESC: "tls.alert_message.desc" { label: "Description", ty: U8, values: ALERT_DESCRIPTIONS, explain: "Which alert: 0 close notify, 40 handshake failure, 42 bad certificate, 48 unknown CA, 112 unrecognized name…" };
    HANDSHAKE: "tls.handshake" { label: "Handshake Protocol", ty: None, explain: "One handshake message. The handshake agrees on a version, a cipher suite and keys, and proves the server's identity, before any application byte is sent." };
    HS_TYPE: "tls.handshake.type" { label: "Handshake Type", ty: U8, values: HANDSHAKE_TYPES, explain: "Which handshake message: 1 ClientHello, 2 ServerHello, 11 Certificate, 15 CertificateVerify, 20 Finished…" };
    HS_LENGTH: "tls.handshake.length" { label: "Length", ty: U24, explain: "How many bytes of this message follow (a 24-bit number: a message may span several records)." };
    HS_VERSION: "tls.handshake.version" { label: "Version", ty: U16, base: Hex(4), values: VERSIONS, explain: "The hello's legacy version: 0x0303 even in TLS 1.3, whose real version is in supported_versions." };
    RANDOM: "tls.handshake.random" { label: "Random", ty: Bytes, base: Hex(0), explain: "32 random bytes from each side, mixed into the keys so that no two sessions share them. A key log finds a session's secrets by the ClientHello's random." };
    SESSION_ID_LENGTH: "tls.handshake.session_id_length" { label: "Session ID Length", ty: U16, explain: "The length of the session id that follows (0 to 32)." };
    SESSION_ID: "tls.handshake.session_id" { label: "Session ID", ty: Bytes, base: Hex(0), explain: "A session id, for resuming an earlier session in TLS 1.2; TLS 1.3 sends a random one only to look like TLS 1.2 to middleboxes." };
    CIPHER_SUITES_LENGTH: "tls.handshake.cipher_suites_length" { label: "Cipher Suites Length", ty: U16, explain: "How many bytes of cipher suites follow (two per suite)." };
    CIPHER_SUITES: "tls.handshake.ciphersuites" { label: "Cipher Suites", ty: None, explain: "The cipher suites the client accepts, its favourite first." };
    CIPHER_SUITE: "tls.handshake.ciphersuite" { label: "Cipher Suite", ty: U16, base: Hex(4), values: SUITE_NAMES, explain: "A cipher suite names the algorithms that protect the records (an AEAD cipher such as AES-GCM or ChaCha20-Poly1305) and the hash of the key schedule; in TLS 1.2 also the key exchange and the signature. The ServerHello's is the one chosen." };
    COMP_METHODS_LENGTH: "tls.handshake.comp_methods_length" { label: "Compression Methods Length", ty: U8, explain: "How many compression methods follow." };
    COMP_METHODS: "tls.handshake.comp_methods" { label: "Compression Methods", ty: None, explain: "Compression methods the client accepts; today always just 'null' (compression leaked secrets: the CRIME attack)." };
    COMP_METHOD: "tls.handshake.comp_method" { label: "Compression Method", ty: U8, values: &[(0, "null")], explain: "A compression method; 0 means none." };
    EXTENSIONS_LENGTH: "tls.handshake.extensions_length" { label: "Extensions Length", ty: U16, explain: "How many bytes of extensions follow." };
    EXT_TYPE: "tls.handshake.extension.type" { label: "Type", ty: U16, values: EXTENSION_TYPES, explain: "Which extension: server_name (0), supported_groups (10), ALPN (16), supported_versions (43), key_share (51)… Extensions carry most of what a modern handshake negotiates." };
    EXT_LEN: "tls.handshake.extension.len" { label: "Length", ty: U16, explain: "How many bytes of this extension follow." };
    SNI_LIST_LEN: "tls.handshake.extensions_server_name_list_len" { label: "Server Name list length", ty: U16, explain: "How many bytes of server names follow." };
    SNI_TYPE: "tls.handshake.extensions_server_name_type" { label: "Server Name Type", ty: U8, values: &[(0, "host_name")], explain: "What kind of name follows: 0 is a DNS host name, the only kind defined." };
    SNI_LEN: "tls.handshake.extensions_server_name_len" { label: "Server Name length", ty: U16, explain: "The length of the name." };
    SERVER_NAME: "tls.handshake.extensions_server_name" { label: "Server Name", ty: Text, explain: "The name of the site the client wants (Server Name Indication), sent in the clear: an eavesdropper learns which site you visit even though TLS hides everything you send it." };
    ALPN_LEN: "tls.handshake.extensions_alpn_len" { label: "ALPN Extension Length", ty: U16, explain: "How many bytes of protocol names follow." };
    ALPN_LIST: "tls.handshake.extensions_alpn_list" { label: "ALPN Protocol", ty: None, explain: "The application protocols on offer (client) or chosen (server), so that the connection knows what it carries once encrypted: http/1.1, h2…" };
    ALPN_STR_LEN: "tls.handshake.extensions_alpn_str_len" { label: "ALPN string length", ty: U8, explain: "The length of the name." };
    ALPN_STR: "tls.handshake.extensions_alpn_str" { label: "ALPN Next Protocol", ty: Text, explain: "An application protocol's name (Application-Layer Protocol Negotiation)." };
    SUPPORTED_VERSIONS_LEN: "tls.handshake.extensions.supported_versions_len" { label: "Supported Versions length", ty: U8, explain: "How many bytes of versions follow (two per version)." };
    SUPPORTED_VERSION: "tls.handshake.extensions.supported_version" { label: "Supported Version", ty: U16, base: Hex(4), values: VERSIONS, explain: "A TLS version: the client lists those it speaks, the server answers with the one chosen. This, not the record's version, says that a session is TLS 1.3." };
    KEY_SHARE_CLIENT_LENGTH: "tls.handshake.extensions_key_share_client_length" { label: "Client Key Share Length", ty: U16, explain: "How many bytes of key shares follow." };
    KEY_SHARE_GROUP: "tls.handshake.extensions_key_share_group" { label: "Group", ty: U16, values: GROUPS, explain: "The group (elliptic curve) of a Diffie-Hellman key share. By sending its share in the first message, a TLS 1.3 client saves a round trip: keys exist after one exchange." };
    KEY_SHARE_KEX_LEN: "tls.handshake.extensions_key_share_key_exchange_length" { label: "Key Exchange Length", ty: U16, explain: "The length of the public key that follows." };
    KEY_SHARE_KEX: "tls.handshake.extensions_key_share_key_exchange" { label: "Key Exchange", ty: Bytes, base: Hex(0), explain: "A Diffie-Hellman public key. Both sides combine theirs with the other's to reach the same secret, which never crosses the wire." };
    KEY_SHARE_SELECTED: "tls.handshake.extensions_key_share_selected_group" { label: "Selected Group", ty: U16, values: GROUPS, explain: "In a HelloRetryRequest: the group the server wants a key share for." };
    SUPPORTED_GROUPS_LENGTH: "tls.handshake.extensions_supported_groups_length" { label: "Supported Groups List Length", ty: U16, explain: "How many bytes of groups follow." };
    SUPPORTED_GROUPS: "tls.handshake.extensions_supported_groups" { label: "Supported Groups List", ty: None, explain: "The key-exchange groups the client accepts." };
    SUPPORTED_GROUP: "tls.handshake.extensions_supported_group" { label: "Supported Group", ty: U16, values: GROUPS, explain: "A key-exchange group (elliptic curve or finite field)." };
    CERTIFICATES_LENGTH: "tls.handshake.certificates_length" { label: "Certificates Length", ty: U24, explain: "How many bytes of certificates follow." };
    CERTIFICATES: "tls.handshake.certificates" { label: "Certificates", ty: None, explain: "The server's certificate chain: its own certificate first, then those that vouch for it. In TLS 1.2 an eavesdropper can read it; TLS 1.3 encrypts it." };
    CERTIFICATE_LENGTH: "tls.handshake.certificate_length" { label: "Certificate Length", ty: U24, explain: "The length of one certificate." };
    CERTIFICATE: "tls.handshake.certificate" { label: "Certificate", ty: Bytes, base: Hex(0), explain: "An X.509 certificate (DER): a name and a public key, signed by an authority the client must trust. A self-signed one is why a browser warns about a demo server." };
    KEY_UPDATE: "tls.handshake.key_update.request_update" { label: "Key Update Request", ty: U8, values: &[(0, "update_not_requested"), (1, "update_requested")], explain: "TLS 1.3 KeyUpdate: the sender's next records use fresh keys derived from the current ones; 1 asks the other side to do the same." };
}

notes! { proto = &TLS;
    NO_KEYS: "tls.expert.no_keys" { explain: "This record is encrypted and wirelab has no key for its session, so only its size and timing can be seen — exactly what an eavesdropper sees. With the session's key log (SSLKEYLOGFILE=keys.log when the client runs; open it with --tls-keylog or 'Open key log…'), its content is shown decrypted." };
    DECRYPT_FAILED: "tls.expert.decrypt_failed" { severity: Warning, explain: "The record's authentication tag does not verify with the key the key log gives: the key log belongs to another session, a record is missing or damaged, or the key is wrong. Nothing is shown as decrypted unless the tag proves it right." };
    ALERT_SEEN: "tls.expert.alert" { severity: Warning, explain: "One side sent an alert. A fatal alert ends the connection; a close notify is the normal end." };
    UNKNOWN_SUITE: "tls.expert.unknown_suite" { explain: "The session uses a cipher suite wirelab cannot decrypt (it decrypts AES-GCM and ChaCha20-Poly1305, the suites of TLS 1.3 and modern TLS 1.2)." };
    MALFORMED: "tls.expert.malformed" { severity: Error, explain: "A handshake message or extension is shorter than its own length field says: the message is damaged or not TLS." };
}

/// A TLS record header at the start of `b`?
pub fn looks_like(b: &[u8]) -> bool {
    b.len() >= 3
        && (20..=24).contains(&b[0])
        && b[1] == 3
        && b[2] <= 4
        && (b.len() < 5 || read_be(b, 3, 2, 0) <= MAX_RECORD as u64)
}

/// The largest record length: 2^14 plus the most expansion a cipher may add.
const MAX_RECORD: usize = (1 << 14) + 2048;

pub fn pdu_len(b: &[u8]) -> PduLen {
    if b.len() < 5 {
        return if looks_like(b) || b.len() < 3 { PduLen::Need } else { PduLen::NotMine };
    }
    if !looks_like(b) {
        return PduLen::NotMine;
    }
    PduLen::Len(5 + read_be(b, 3, 2, 0) as usize)
}

/// The random of a HelloRetryRequest (RFC 8446 §4.1.3): SHA-256 of "HelloRetryRequest".
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Most bytes one direction keeps while a handshake message or a decrypted
/// application message is incomplete.
const MAX_WAITING: usize = super::MAX_PENDING;

/// One direction of a TLS connection.
#[derive(Clone, Default)]
struct Dir {
    /// The keys of this direction's records now (`None`: plaintext, or no key).
    keys: Option<crypto::Keys>,
    /// TLS 1.2: the keys this direction switches to at its ChangeCipherSpec;
    /// TLS 1.3: its application keys, after its Finished.
    next: Option<crypto::Keys>,
    /// Its records are encrypted from now on, with or without a key.
    encrypted: bool,
    /// A record failed to decrypt: the rest is shown encrypted.
    failed: bool,
    told_no_keys: bool,
    /// Handshake bytes waiting for the rest of their message, and the frames they came in.
    hs: Vec<u8>,
    hs_frames: smallvec::SmallVec<[u64; 4]>,
    /// Decrypted application bytes waiting for the rest of their message.
    app: Vec<u8>,
    app_frames: smallvec::SmallVec<[u64; 4]>,
}

/// A TLS connection: what its handshake agreed, and each direction's state.
#[derive(Clone, Default)]
pub struct TlsConn {
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    suite: Option<u16>,
    /// The version agreed (supported_versions, else the ServerHello's).
    pub version: Option<u16>,
    pub server_name: Option<String>,
    dirs: [Dir; 2],
    /// A direction whose bytes are not TLS after all: shown as data.
    pub broken: [bool; 2],
}

impl TlsConn {
    pub fn heap_bytes(&self) -> usize {
        self.dirs.iter().map(|d| d.hs.capacity() + d.app.capacity()).sum()
    }

    fn tls13(&self) -> bool {
        self.version == Some(0x0304)
    }

    /// The name of the protocol column: TLSv1.3, TLSv1.2…
    fn column(&self, record_version: u16) -> &'static str {
        match self.version.unwrap_or(record_version) {
            0x0304 => "TLSv1.3",
            0x0303 => "TLSv1.2",
            0x0302 => "TLSv1.1",
            0x0301 => "TLSv1",
            0x0300 => "SSLv3",
            _ => "TLS",
        }
    }
}

/// What a record held, for the info column (joined only when the record
/// carries no message that writes its own).
#[derive(Default)]
struct Info(smallvec::SmallVec<[Cow<'static, str>; 4]>);

impl Info {
    fn push(&mut self, what: impl Into<Cow<'static, str>>) {
        self.0.push(what.into());
    }
}

impl std::fmt::Display for Info {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, part) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(part)?;
        }
        Ok(())
    }
}

/// Dissects one whole record of direction `dir`.
pub fn dissect(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: At<'_>) {
    let Some(mut tls) = st.tls.take() else { return };
    record(cx, st, &mut tls, dir, at);
    st.tls = Some(tls);
}

fn record(cx: &mut Cx<'_>, st: &mut AppStream, tls: &mut TlsConn, dir: usize, at: At<'_>) {
    let b = at.bytes;
    let ct = b[0];
    let version = read_be(b, 1, 2, 0) as u16;
    let len = b.len() - 5;
    let layer = cx.begin_layer_at(&TLS, &at, 0);
    cx.add_at(0, &RECORD, Value::None, &at, 0, b.len());
    let d = &tls.dirs[dir];
    // TLS 1.3 encrypts records of type 23 only (its ChangeCipherSpec stays
    // plain); TLS 1.2 every record after ChangeCipherSpec.
    let encrypted = d.encrypted && (ct == 23 || !tls.tls13());
    let opaque = encrypted && tls.tls13();
    cx.add_at(1, if opaque { &OPAQUE_TYPE } else { &CONTENT_TYPE }, Value::U(ct.into()), &at, 0, 1);
    cx.add_at(1, &RECORD_VERSION, Value::U(version.into()), &at, 1, 2);
    cx.add_at(1, &RECORD_LENGTH, Value::U(len as u64), &at, 3, 2);
    let body = at.slice(5, b.len());
    let mut info = Info::default();
    // Messages the decrypted bytes carry write their own protocol and info.
    let messages = cx.messages;
    let layer = Layer { id: layer, len: b.len() };
    if encrypted {
        encrypted_record(cx, st, tls, dir, ct, &at, body, layer, &mut info);
    } else {
        plain_content(cx, st, tls, dir, ct, body, &mut info, layer);
    }
    if cx.messages != messages {
        return;
    }
    cx.set_protocol(tls.column(version));
    if !info.0.is_empty() {
        cx.set_info(format_args!("{info}"));
    }
}

/// The record's layer, closed once its own fields are in (before the
/// protocol it carries opens its layers).
#[derive(Clone, Copy)]
struct Layer {
    id: usize,
    len: usize,
}

impl Layer {
    fn end(self, cx: &mut Cx<'_>) {
        cx.end_layer(self.id, self.len);
    }
}

/// The content of a record, plaintext (or decrypted), by its content type.
#[allow(clippy::too_many_arguments)]
fn plain_content(
    cx: &mut Cx<'_>,
    st: &mut AppStream,
    tls: &mut TlsConn,
    dir: usize,
    ct: u8,
    body: At<'_>,
    info: &mut Info,
    layer: Layer,
) {
    match ct {
        20 => {
            cx.add_at(1, &CHANGE_CIPHER_SPEC, Value::None, &body, 0, body.bytes.len());
            info.push("Change Cipher Spec");
            if !tls.tls13() {
                let d = &mut tls.dirs[dir];
                d.encrypted = true;
                d.keys = d.next.take();
            }
            layer.end(cx);
        }
        21 => {
            if body.bytes.len() >= 2 {
                cx.add_at(1, &ALERT, Value::None, &body, 0, 2);
                let level = cx.uint_at(2, &ALERT_LEVEL, &body, 0, 1);
                let desc = cx.uint_at(2, &ALERT_DESC, &body, 1, 1);
                let name = ALERT_DESCRIPTIONS.iter().find(|(k, _)| *k == desc).map(|(_, n)| *n).unwrap_or("Unknown");
                let what = if level == 2 { "fatal" } else { "warning" };
                cx.note_at(&ALERT_SEEN, &body, 0, 2, format!("{what} alert: {name} ({desc})"));
                info.push(format!(
                    "Alert (Level: {}, Description: {name})",
                    if level == 2 { "Fatal" } else { "Warning" }
                ));
            }
            layer.end(cx);
        }
        22 => {
            handshake(cx, tls, dir, body, info);
            layer.end(cx);
        }
        23 => application(cx, st, tls, dir, body, info, layer),
        _ => {
            info.push(
                CONTENT_TYPES.iter().find(|(k, _)| *k == u64::from(ct)).map(|(_, n)| *n).unwrap_or("Unknown record"),
            );
            layer.end(cx);
        }
    }
}

/// An encrypted record: decrypted when the session's keys are known, else
/// shown as ciphertext with what can still be seen.
#[allow(clippy::too_many_arguments)]
fn encrypted_record(
    cx: &mut Cx<'_>,
    st: &mut AppStream,
    tls: &mut TlsConn,
    dir: usize,
    ct: u8,
    rec: &At<'_>,
    body: At<'_>,
    layer: Layer,
    info: &mut Info,
) {
    let tls13 = tls.tls13();
    let suite = tls.suite;
    let d = &mut tls.dirs[dir];
    let header: [u8; 5] = rec.bytes[..5].try_into().expect("a record has a header");
    let plain = match d.keys.as_mut() {
        Some(k) if !d.failed => {
            let mut out = cx.out.buffer();
            let p = k.decrypt_into(&header, body.bytes, &mut out).then_some(out);
            if p.is_none() {
                d.failed = true;
                cx.note_at(
                    &DECRYPT_FAILED,
                    &body,
                    0,
                    body.bytes.len(),
                    "the authentication tag does not verify: this record (and the rest of this direction) stays encrypted",
                );
            }
            p
        }
        _ => None,
    };
    let Some(mut plain) = plain else {
        cx.add_at(1, &APP_DATA, Value::Bytes, &body, 0, body.bytes.len());
        if !d.told_no_keys && !d.failed {
            d.told_no_keys = true;
            let why = if suite.is_some_and(|s| crypto::suite(s).is_none()) {
                "encrypted with a cipher suite wirelab does not decrypt"
            } else {
                "encrypted: no key for this session (open its key log to see inside)"
            };
            cx.note_at(&NO_KEYS, &body, 0, body.bytes.len(), why);
        }
        info.push(if ct == 23 { "Application Data" } else { "Encrypted Message" });
        layer.end(cx);
        return;
    };
    // TLS 1.3: the true content type is the last non-zero byte (RFC 8446 §5.2).
    let inner_ct = if tls13 {
        while plain.last() == Some(&0) {
            plain.pop();
        }
        plain.pop().unwrap_or(0)
    } else {
        ct
    };
    let id = cx.reserve_source_named("Decrypted TLS", || format!("Decrypted TLS ({} bytes)", plain.len()));
    if tls13 {
        // The inner type sits right after the content in the decrypted bytes;
        // it is shown as the record's content type (Wireshark: [Content Type]).
        cx.add_at(
            1,
            &CONTENT_TYPE,
            Value::U(inner_ct.into()),
            &At { bytes: &plain, source: id, base: 0 },
            plain.len(),
            0,
        );
    }
    if inner_ct == 23 {
        cx.add_at(1, &APP_DATA, Value::Bytes, &body, 0, body.bytes.len());
    }
    let at = At { bytes: &plain, source: id, base: 0 };
    plain_content(cx, st, tls, dir, inner_ct, at, info, layer);
    cx.fill_source(id, plain);
}

/// Handshake bytes of one record: whole messages dissected where they lie,
/// a message spanning records when its last part arrives.
fn handshake(cx: &mut Cx<'_>, tls: &mut TlsConn, dir: usize, body: At<'_>, info: &mut Info) {
    let frame = cx.out.meta.number;
    let b = body.bytes;
    let mut from = 0;
    if tls.dirs[dir].hs.is_empty() {
        while b.len() - from >= 4 {
            let n = 4 + read_be(b, from + 1, 3, 0) as usize;
            if n > b.len() - from {
                break;
            }
            message(cx, tls, dir, body.slice(from, from + n), info);
            from += n;
        }
        if from == b.len() {
            return;
        }
    }
    let d = &mut tls.dirs[dir];
    if d.hs.len() + (b.len() - from) > MAX_WAITING {
        d.hs.clear();
        d.hs_frames.clear();
        return;
    }
    d.hs.extend_from_slice(&b[from..]);
    if d.hs_frames.last() != Some(&frame) {
        d.hs_frames.push(frame);
    }
    loop {
        let d = &mut tls.dirs[dir];
        if d.hs.len() < 4 {
            return;
        }
        let n = 4 + read_be(&d.hs, 1, 3, 0) as usize;
        if n > d.hs.len() {
            info.push("Handshake message continues in a later record");
            return;
        }
        let mut msg = cx.out.buffer();
        msg.extend(d.hs.drain(..n));
        let frames = d.hs_frames.clone();
        d.hs_frames.clear();
        if !d.hs.is_empty() {
            d.hs_frames.push(frame);
        }
        let id = cx.reserve_source_named("Reassembled TLS handshake", || {
            let list = frames.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
            format!("Reassembled TLS handshake ({n} bytes, frames {list})")
        });
        message(cx, tls, dir, At { bytes: &msg, source: id, base: 0 }, info);
        cx.fill_source(id, msg);
    }
}

/// Reads a length-prefixed vector: (start of contents, end), or `None` when it runs past `end`.
fn vector(b: &[u8], at: usize, len_bytes: usize, end: usize) -> Option<(usize, usize)> {
    if at + len_bytes > end {
        return None;
    }
    let n = read_be(b, at, len_bytes, 0) as usize;
    let s = at + len_bytes;
    (s + n <= end).then_some((s, s + n))
}

/// One whole handshake message.
fn message(cx: &mut Cx<'_>, tls: &mut TlsConn, dir: usize, m: At<'_>, info: &mut Info) {
    let b = m.bytes;
    let ty = b[0];
    cx.add_at(1, &HANDSHAKE, Value::None, &m, 0, b.len());
    cx.add_at(2, &HS_TYPE, Value::U(ty.into()), &m, 0, 1);
    cx.add_at(2, &HS_LENGTH, Value::U(read_be(b, 1, 3, 0)), &m, 1, 3);
    let name = HANDSHAKE_TYPES
        .iter()
        .find(|(k, _)| *k == u64::from(ty))
        .map(|(_, n)| *n)
        .unwrap_or("Unknown Handshake Message");
    let ok = match ty {
        1 => client_hello(cx, tls, dir, &m),
        2 => server_hello(cx, tls, dir, &m, info),
        8 => extensions(cx, tls, &m, 4, b.len(), ty).is_some(),
        11 => certificate(cx, tls, &m).is_some(),
        24 => {
            if b.len() > 4 {
                cx.add_at(2, &KEY_UPDATE, Value::U(b[4].into()), &m, 4, 1);
            }
            true
        }
        _ => true,
    };
    if !ok {
        cx.note_at(&MALFORMED, &m, 0, b.len(), format!("the {name} is shorter than its length fields say"));
    }
    if !(ty == 2 && tls.server_random == Some(HRR_RANDOM)) {
        info.push(name);
    } else {
        info.push("Hello Retry Request");
    }
    // Keys change after these messages (the record they end is the last
    // under the old keys).
    if tls.tls13() {
        let d = &mut tls.dirs[dir];
        match ty {
            20 => {
                if let Some(next) = d.next.take() {
                    d.keys = Some(next);
                }
            }
            24 => {
                if let Some(k) = d.keys.as_mut() {
                    k.update();
                }
            }
            _ => {}
        }
    }
}

fn client_hello(cx: &mut Cx<'_>, tls: &mut TlsConn, dir: usize, m: &At<'_>) -> bool {
    let b = m.bytes;
    let end = b.len();
    if end < 4 + 2 + 32 + 1 {
        return false;
    }
    cx.add_at(2, &HS_VERSION, Value::U(read_be(b, 4, 2, 0)), m, 4, 2);
    cx.add_at(2, &RANDOM, Value::Bytes, m, 6, 32);
    tls.client_random = b[6..38].try_into().ok();
    // A new handshake: whatever the last one agreed is over.
    tls.version = None;
    tls.suite = None;
    if cx.client.is_none() {
        cx.client = Some(dir as u8);
    }
    let Some((s, e)) = vector(b, 38, 1, end) else { return false };
    cx.add_at(2, &SESSION_ID_LENGTH, Value::U((e - s) as u64), m, 38, 1);
    if e > s {
        cx.add_at(2, &SESSION_ID, Value::Bytes, m, s, e - s);
    }
    let Some((cs, ce)) = vector(b, e, 2, end) else { return false };
    cx.add_at(2, &CIPHER_SUITES_LENGTH, Value::U((ce - cs) as u64), m, e, 2);
    cx.add_at(2, &CIPHER_SUITES, Value::None, m, cs, ce - cs);
    for i in (cs..ce.saturating_sub(1)).step_by(2) {
        cx.add_at(3, &CIPHER_SUITE, Value::U(read_be(b, i, 2, 0)), m, i, 2);
    }
    let Some((ms, me)) = vector(b, ce, 1, end) else { return false };
    cx.add_at(2, &COMP_METHODS_LENGTH, Value::U((me - ms) as u64), m, ce, 1);
    cx.add_at(2, &COMP_METHODS, Value::None, m, ms, me - ms);
    for (i, method) in b.iter().enumerate().take(me).skip(ms) {
        cx.add_at(3, &COMP_METHOD, Value::U((*method).into()), m, i, 1);
    }
    me == end || extensions(cx, tls, m, me, end, 1).is_some()
}

fn server_hello(cx: &mut Cx<'_>, tls: &mut TlsConn, dir: usize, m: &At<'_>, _info: &mut Info) -> bool {
    let b = m.bytes;
    let end = b.len();
    if end < 4 + 2 + 32 + 1 {
        return false;
    }
    let legacy = read_be(b, 4, 2, 0) as u16;
    cx.add_at(2, &HS_VERSION, Value::U(legacy.into()), m, 4, 2);
    cx.add_at(2, &RANDOM, Value::Bytes, m, 6, 32);
    tls.server_random = b[6..38].try_into().ok();
    let Some((s, e)) = vector(b, 38, 1, end) else { return false };
    cx.add_at(2, &SESSION_ID_LENGTH, Value::U((e - s) as u64), m, 38, 1);
    if e > s {
        cx.add_at(2, &SESSION_ID, Value::Bytes, m, s, e - s);
    }
    if e + 3 > end {
        return false;
    }
    let suite = read_be(b, e, 2, 0) as u16;
    cx.add_at(2, &CIPHER_SUITE, Value::U(suite.into()), m, e, 2);
    cx.add_at(2, &COMP_METHOD, Value::U(b[e + 2].into()), m, e + 2, 1);
    tls.suite = Some(suite);
    tls.version = Some(legacy);
    let ok = e + 3 == end || extensions(cx, tls, m, e + 3, end, 2).is_some();
    if tls.server_random != Some(HRR_RANDOM) {
        install_keys(cx, tls, dir, m);
    }
    ok
}

/// After the ServerHello: the keys of both directions, from the key log.
fn install_keys(cx: &mut Cx<'_>, tls: &mut TlsConn, server: usize, m: &At<'_>) {
    let client = server ^ 1;
    let tls13 = tls.tls13();
    if tls13 {
        // From here on both sides encrypt (the client after its own
        // ChangeCipherSpec, which stays in the clear).
        tls.dirs[server].encrypted = true;
        tls.dirs[client].encrypted = true;
    }
    let (Some(cr), Some(sr), Some(suite_id)) = (tls.client_random, tls.server_random, tls.suite) else { return };
    let Some(keys) = cx.apps.keys.clone() else { return };
    let Some(secrets) = keys.get(&cr) else { return };
    let Some(suite) = crypto::suite(suite_id) else {
        cx.note_at(&UNKNOWN_SUITE, m, 0, 0, format!("cipher suite 0x{suite_id:04x} cannot be decrypted by wirelab"));
        return;
    };
    if tls13 {
        let k = |s: &Option<Vec<u8>>| s.as_deref().map(|s| crypto::Keys::tls13(suite, s));
        tls.dirs[server].keys = k(&secrets.server_handshake);
        tls.dirs[server].next = k(&secrets.server_traffic);
        tls.dirs[client].keys = k(&secrets.client_handshake);
        tls.dirs[client].next = k(&secrets.client_traffic);
    } else if let Some(master) = &secrets.master {
        let (c, s) = crypto::Keys::tls12(suite, master, &cr, &sr);
        tls.dirs[client].next = Some(c);
        tls.dirs[server].next = Some(s);
    }
}

/// The extensions of a hello (`hs` 1 or 2) or of EncryptedExtensions (8),
/// from `at` (their length field) to `end`.
fn extensions(cx: &mut Cx<'_>, tls: &mut TlsConn, m: &At<'_>, at: usize, end: usize, hs: u8) -> Option<()> {
    let b = m.bytes;
    let (s, e) = vector(b, at, 2, end)?;
    cx.add_at(2, &EXTENSIONS_LENGTH, Value::U((e - s) as u64), m, at, 2);
    let mut i = s;
    while i + 4 <= e {
        let ty = read_be(b, i, 2, 0) as u16;
        let (xs, xe) = vector(b, i + 2, 2, e)?;
        cx.add_at(2, &EXT_TYPE, Value::U(ty.into()), m, i, 2);
        cx.add_at(2, &EXT_LEN, Value::U((xe - xs) as u64), m, i + 2, 2);
        extension(cx, tls, m, ty, xs, xe, hs)?;
        i = xe;
    }
    (i == e).then_some(())
}

fn extension(cx: &mut Cx<'_>, tls: &mut TlsConn, m: &At<'_>, ty: u16, s: usize, e: usize, hs: u8) -> Option<()> {
    let b = m.bytes;
    match ty {
        0 if hs == 1 => {
            let (ls, le) = vector(b, s, 2, e)?;
            cx.add_at(3, &SNI_LIST_LEN, Value::U((le - ls) as u64), m, s, 2);
            let mut i = ls;
            while i + 3 <= le {
                cx.add_at(3, &SNI_TYPE, Value::U(b[i].into()), m, i, 1);
                let (ns, ne) = vector(b, i + 1, 2, le)?;
                cx.add_at(3, &SNI_LEN, Value::U((ne - ns) as u64), m, i + 1, 2);
                cx.add_at(3, &SERVER_NAME, Value::Text, m, ns, ne - ns);
                if b[i] == 0 {
                    tls.server_name = Some(String::from_utf8_lossy(&b[ns..ne]).into_owned());
                }
                i = ne;
            }
        }
        10 => {
            let (gs, ge) = vector(b, s, 2, e)?;
            cx.add_at(3, &SUPPORTED_GROUPS_LENGTH, Value::U((ge - gs) as u64), m, s, 2);
            cx.add_at(3, &SUPPORTED_GROUPS, Value::None, m, gs, ge - gs);
            for j in (gs..ge.saturating_sub(1)).step_by(2) {
                cx.add_at(4, &SUPPORTED_GROUP, Value::U(read_be(b, j, 2, 0)), m, j, 2);
            }
        }
        16 => {
            let (ls, le) = vector(b, s, 2, e)?;
            cx.add_at(3, &ALPN_LEN, Value::U((le - ls) as u64), m, s, 2);
            cx.add_at(3, &ALPN_LIST, Value::None, m, ls, le - ls);
            let mut i = ls;
            while i < le {
                let (ps, pe) = vector(b, i, 1, le)?;
                cx.add_at(4, &ALPN_STR_LEN, Value::U((pe - ps) as u64), m, i, 1);
                cx.add_at(4, &ALPN_STR, Value::Text, m, ps, pe - ps);
                i = pe;
            }
        }
        43 if hs == 1 => {
            let (vs, ve) = vector(b, s, 1, e)?;
            cx.add_at(3, &SUPPORTED_VERSIONS_LEN, Value::U((ve - vs) as u64), m, s, 1);
            for j in (vs..ve.saturating_sub(1)).step_by(2) {
                cx.add_at(3, &SUPPORTED_VERSION, Value::U(read_be(b, j, 2, 0)), m, j, 2);
            }
        }
        43 if hs == 2 && e - s == 2 => {
            let v = read_be(b, s, 2, 0) as u16;
            cx.add_at(3, &SUPPORTED_VERSION, Value::U(v.into()), m, s, 2);
            tls.version = Some(v);
        }
        51 if hs == 1 => {
            let (ks, ke) = vector(b, s, 2, e)?;
            cx.add_at(3, &KEY_SHARE_CLIENT_LENGTH, Value::U((ke - ks) as u64), m, s, 2);
            let mut i = ks;
            while i + 4 <= ke {
                cx.add_at(3, &KEY_SHARE_GROUP, Value::U(read_be(b, i, 2, 0)), m, i, 2);
                let (xs, xe) = vector(b, i + 2, 2, ke)?;
                cx.add_at(3, &KEY_SHARE_KEX_LEN, Value::U((xe - xs) as u64), m, i + 2, 2);
                cx.add_at(3, &KEY_SHARE_KEX, Value::Bytes, m, xs, xe - xs);
                i = xe;
            }
        }
        51 if hs == 2 && e - s == 2 => {
            cx.add_at(3, &KEY_SHARE_SELECTED, Value::U(read_be(b, s, 2, 0)), m, s, 2);
        }
        51 if hs == 2 && e - s >= 4 => {
            cx.add_at(3, &KEY_SHARE_GROUP, Value::U(read_be(b, s, 2, 0)), m, s, 2);
            let (xs, xe) = vector(b, s + 2, 2, e)?;
            cx.add_at(3, &KEY_SHARE_KEX_LEN, Value::U((xe - xs) as u64), m, s + 2, 2);
            cx.add_at(3, &KEY_SHARE_KEX, Value::Bytes, m, xs, xe - xs);
        }
        _ => {}
    }
    Some(())
}

/// A Certificate message: the chain (TLS 1.3 adds a request context before
/// it and extensions after each certificate).
fn certificate(cx: &mut Cx<'_>, tls: &mut TlsConn, m: &At<'_>) -> Option<()> {
    let b = m.bytes;
    let end = b.len();
    let mut at = 4;
    if tls.tls13() {
        let (_, ce) = vector(b, at, 1, end)?;
        at = ce;
    }
    let (cs, ce) = vector(b, at, 3, end)?;
    cx.add_at(2, &CERTIFICATES_LENGTH, Value::U((ce - cs) as u64), m, at, 3);
    cx.add_at(2, &CERTIFICATES, Value::None, m, cs, ce - cs);
    let mut i = cs;
    while i < ce {
        let (xs, xe) = vector(b, i, 3, ce)?;
        cx.add_at(3, &CERTIFICATE_LENGTH, Value::U((xe - xs) as u64), m, i, 3);
        cx.add_at(3, &CERTIFICATE, Value::Bytes, m, xs, xe - xs);
        i = xe;
        if tls.tls13() {
            // Each certificate's extensions (usually none).
            let (es, ee) = vector(b, i, 2, ce)?;
            cx.add_at(3, &EXTENSIONS_LENGTH, Value::U((ee - es) as u64), m, i, 2);
            i = ee;
        }
    }
    Some(())
}

/// Decrypted application bytes: the protocol inside (HTTP, WebSocket…)
/// reads them as it reads a TCP stream, across records.
fn application(
    cx: &mut Cx<'_>,
    st: &mut AppStream,
    tls: &mut TlsConn,
    dir: usize,
    plain: At<'_>,
    info: &mut Info,
    layer: Layer,
) {
    let frame = cx.out.meta.number;
    let b = plain.bytes;
    info.push("Application Data");
    layer.end(cx);
    let mut from = 0;
    if tls.dirs[dir].app.is_empty() {
        while from < b.len() {
            detect_inner(st, dir, &b[from..]);
            let n = match super::app_pdu_len(st.proto[dir], &b[from..]) {
                PduLen::Len(n) if n > 0 && n <= b.len() - from => n,
                _ => break,
            };
            cx.pdu_frames.clear();
            cx.pdu_frames.push(frame);
            super::dissect_app(cx, st, dir, plain.slice(from, from + n));
            from += n;
        }
    }
    if from == b.len() {
        return;
    }
    if st.proto[dir] == Proto::Data {
        super::super::data::bytes_at(cx, &plain.slice(from, b.len()));
        return;
    }
    let d = &mut tls.dirs[dir];
    d.app.extend_from_slice(&b[from..]);
    if d.app_frames.last() != Some(&frame) {
        d.app_frames.push(frame);
    }
    loop {
        let d = &mut tls.dirs[dir];
        if d.app.is_empty() {
            return;
        }
        detect_inner(st, dir, &d.app);
        if st.proto[dir] == Proto::Unknown {
            return;
        }
        let n = match super::app_pdu_len(st.proto[dir], &d.app) {
            PduLen::Len(n) if n > 0 && n <= d.app.len() => n,
            // Not the protocol after all, or more than wirelab waits for:
            // the rest of this direction is shown as data.
            len => {
                let too_long = matches!(len, PduLen::Len(n) if n > MAX_WAITING) || d.app.len() > MAX_WAITING;
                if too_long || matches!(len, PduLen::NotMine) {
                    st.proto[dir] = Proto::Data;
                    d.app.clear();
                    d.app_frames.clear();
                }
                return;
            }
        };
        let mut pdu = cx.out.buffer();
        pdu.extend(d.app.drain(..n));
        let frames = d.app_frames.clone();
        d.app_frames.clear();
        if !d.app.is_empty() {
            d.app_frames.push(frame);
        }
        cx.pdu_frames.clear();
        cx.pdu_frames.extend_from_slice(&frames);
        let id = cx.reserve_source_named("Reassembled decrypted TLS", || {
            if frames.len() == 1 {
                format!("Reassembled decrypted TLS ({n} bytes)")
            } else {
                let list = frames.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
                format!("Reassembled decrypted TLS ({n} bytes, frames {list})")
            }
        });
        super::dissect_app(cx, st, dir, At { bytes: &pdu, source: id, base: 0 });
        cx.fill_source(id, pdu);
    }
}

/// Finds the protocol inside a direction's decrypted bytes from their
/// start, as over TCP (TLS inside TLS is shown as data).
fn detect_inner(st: &mut AppStream, dir: usize, bytes: &[u8]) {
    if st.proto[dir] == Proto::Unknown {
        st.proto[dir] = match super::detect(st.proto[dir ^ 1], bytes, (0, 0)) {
            Proto::Tls => Proto::Data,
            p => p,
        };
    }
}
