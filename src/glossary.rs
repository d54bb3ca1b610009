//! The glossary: the words of the course, each with a definition in plain
//! words, its layer, the spec section, and the fields that make it concrete
//! in a packet. The data is one TOML file (`labs/glossary.toml`) teachers can
//! extend; some terms also have a derivation — the accept key, unmasking, a
//! checksum, the next sequence number — worked out step by step from the
//! bytes of the frame on screen.

use std::sync::{Arc, OnceLock, RwLock};

use serde::Deserialize;

use crate::model::Dissection;

/// The bundled glossary's text.
pub const BUNDLED: &str = include_str!("../labs/glossary.toml");

/// The bundled glossary and a teacher's terms, when given.
static TEACHER: RwLock<Option<Arc<Glossary>>> = RwLock::new(None);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub term: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// OSI layers it lives on (empty: a concept of no single layer).
    #[serde(default)]
    pub osi: Vec<u8>,
    pub definition: String,
    #[serde(default)]
    pub spec: Option<String>,
    /// Fields that embody it (`wirelab fields` names).
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub derive: Option<Derive>,
    #[serde(default)]
    pub see: Vec<String>,
}

/// A derivation the window works out from the bytes on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Derive {
    WebsocketAccept,
    Unmask,
    Checksum,
    NextSeq,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Glossary {
    pub terms: Vec<Term>,
}

impl Term {
    /// Whether `word` names this term (case-insensitive; aliases too).
    pub fn is_named(&self, word: &str) -> bool {
        let w = word.trim();
        self.term.eq_ignore_ascii_case(w) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(w))
    }
}

impl Glossary {
    /// Parses a glossary and checks it: unique names, fields that exist,
    /// `see` entries that name terms, OSI layers 1–7.
    pub fn parse(file: &str, text: &str) -> Result<Glossary, String> {
        Glossary::parse_with(file, text, &[])
    }

    /// Parses a teacher's glossary to go after the bundled one: checked as
    /// [`Glossary::parse`] checks, its names unique among the bundled terms
    /// too, and `see` may name a bundled term.
    pub fn parse_beside_bundled(file: &str, text: &str) -> Result<Glossary, String> {
        Glossary::parse_with(file, text, &Glossary::bundled().terms)
    }

    fn parse_with(file: &str, text: &str, base: &[Term]) -> Result<Glossary, String> {
        let g: Glossary = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| crate::lab::line_of(text, s.start)).unwrap_or(1);
            format!("{file}:{line}: {}", e.message().trim())
        })?;
        let mut names: std::collections::HashSet<String> =
            base.iter().flat_map(|t| std::iter::once(&t.term).chain(&t.aliases)).map(|n| n.to_lowercase()).collect();
        for t in &g.terms {
            for n in std::iter::once(&t.term).chain(&t.aliases) {
                if !names.insert(n.to_lowercase()) {
                    return Err(format!("{file}: \"{n}\" names two terms"));
                }
            }
            if let Some(bad) = t.osi.iter().find(|l| !(1..=7).contains(*l)) {
                return Err(format!("{file}: term \"{}\": OSI layer {bad} (layers are 1 to 7)", t.term));
            }
            // A term that names a protocol sits where the layer view puts it: one placement.
            if let Some(p) = crate::dissect::all_fields().map(|f| f.proto).find(|p| p.short == t.term)
                && t.osi != [p.osi]
            {
                return Err(format!(
                    "{file}: term \"{}\": osi = {:?}, but wirelab places {} on OSI layer {}",
                    t.term, t.osi, p.short, p.osi
                ));
            }
            if let Some(f) = t.fields.iter().find(|f| !crate::dissect::all_fields().any(|d| d.name == f.as_str())) {
                return Err(format!("{file}: term \"{}\": no field \"{f}\" (`wirelab fields` lists them)", t.term));
            }
            if let Some(s) = t.see.iter().find(|s| !g.terms.iter().chain(base).any(|x| x.is_named(s))) {
                return Err(format!("{file}: term \"{}\": see \"{s}\", which is not a term", t.term));
            }
        }
        Ok(g)
    }

    /// The glossary that ships with wirelab.
    pub fn bundled() -> &'static Glossary {
        static G: OnceLock<Glossary> = OnceLock::new();
        G.get_or_init(|| {
            // A test parses the bundled file; should it ever fail, the window
            // shows an empty glossary rather than stopping.
            Glossary::parse("labs/glossary.toml", BUNDLED).unwrap_or(Glossary { terms: Vec::new() })
        })
    }

    /// The glossary in use: the bundled one, followed by a teacher's terms
    /// when the window was given a glossary file ([`Glossary::set_teacher`]).
    pub fn current() -> Arc<Glossary> {
        if let Ok(t) = TEACHER.read()
            && let Some(g) = t.as_ref()
        {
            return g.clone();
        }
        static BUNDLED_ARC: OnceLock<Arc<Glossary>> = OnceLock::new();
        BUNDLED_ARC.get_or_init(|| Arc::new(Glossary::bundled().clone())).clone()
    }

    /// A teacher's terms (from [`Glossary::parse_beside_bundled`]) after the
    /// bundled ones from now on; `None`: the bundled glossary alone.
    pub fn set_teacher(extra: Option<Glossary>) {
        let merged = extra
            .map(|g| Arc::new(Glossary { terms: Glossary::bundled().terms.iter().cloned().chain(g.terms).collect() }));
        if let Ok(mut t) = TEACHER.write() {
            *t = merged;
        }
    }

    pub fn find(&self, word: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.is_named(word))
    }

    /// The terms a field embodies.
    pub fn terms_of_field<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a Term> + 'a {
        self.terms.iter().filter(move |t| t.fields.iter().any(|f| f == field))
    }
}

/// A derivation worked out on one frame, step by step; an error saying what
/// to select when the frame lacks what it needs.
pub fn derive(how: Derive, d: &Dissection, frame: &[u8]) -> Result<Vec<String>, &'static str> {
    match how {
        Derive::WebsocketAccept => {
            let key = d
                .find(frame, "http.sec_websocket_key")
                .ok_or("select a WebSocket handshake request (a GET with Sec-WebSocket-Key)")?;
            let key = String::from_utf8_lossy(key.bytes()).trim().to_string();
            let (concat, sha, accept) = crate::dissect::app::http::accept_for(&key);
            Ok(vec![
                format!("1. The client's key: {key}"),
                format!("2. Append the GUID of RFC 6455: {concat}"),
                format!("3. SHA-1 of that text: {}", crate::model::hex(&sha)),
                format!("4. In base64: {accept}"),
                "5. The server must answer exactly this in Sec-WebSocket-Accept (RFC 6455 §4.2.2).".into(),
            ])
        }
        Derive::Unmask => {
            let key =
                d.find(frame, "websocket.masking_key").ok_or("select a masked WebSocket frame (one a client sent)")?;
            let k = key.bytes().to_vec();
            // The masked payload as sent (this frame's only, whatever its length field's form).
            let masked = d.find(frame, "websocket.masked_payload").map(|f| f.bytes().to_vec()).unwrap_or_default();
            let len = masked.len();
            if k.len() != 4 {
                return Err("this frame's masking key is incomplete");
            }
            let mut out = vec![format!("Masking key: {}", crate::model::hex(&k))];
            for (i, m) in masked[..len.min(12)].iter().enumerate() {
                let u = m ^ k[i % 4];
                let c = if (0x20..0x7f).contains(&u) { format!(" '{}'", u as char) } else { String::new() };
                out.push(format!("byte {i}: {m:02x} XOR key[{}] {:02x} = {u:02x}{c}", i % 4, k[i % 4]));
            }
            if len > 12 {
                out.push(format!("… and so on for all {len} bytes (RFC 6455 §5.3)"));
            }
            Ok(out)
        }
        Derive::Checksum => {
            let f = d.find(frame, "ip.checksum").ok_or("select an IPv4 packet")?;
            let span = f.span();
            let src = d.source_bytes(frame, span.source);
            // The checksum sits at offset 10 of the IPv4 header.
            let start = (span.offset as usize).checked_sub(10).ok_or("the IPv4 header is cut short")?;
            let ihl = src.get(start).map(|b| usize::from(b & 0x0f) * 4).ok_or("the IPv4 header is cut short")?;
            let header = src.get(start..start + ihl).filter(|h| h.len() >= 20).ok_or("the IPv4 header is cut short")?;
            let mut sum: u32 = 0;
            let mut words = Vec::new();
            for (i, w) in header.chunks(2).enumerate() {
                let v = if i == 5 { 0 } else { u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) };
                words.push(format!("{v:04x}"));
                sum += u32::from(v);
            }
            let mut out = vec![
                format!("1. The header's 16-bit words, checksum set to 0: {}", words.join(" + ")),
                format!("2. Their sum: {sum:x}"),
            ];
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            out.push(format!("3. Carries folded back in: {sum:04x}"));
            let ck = !(sum as u16);
            let sent = u16::from_be_bytes([header[10], header[11]]);
            out.push(format!(
                "4. Inverted (one's complement): {ck:04x}; the packet says {sent:04x} (RFC 791, RFC 1071)"
            ));
            Ok(out)
        }
        Derive::NextSeq => {
            let seq = d.find(frame, "tcp.seq").and_then(|f| f.value().as_u64()).ok_or("select a TCP segment")?;
            let len = d.find(frame, "tcp.len").and_then(|f| f.value().as_u64()).unwrap_or(0);
            let flag = |n: &str| d.find(frame, n).and_then(|f| f.value().as_u64()) == Some(1);
            let (syn, fin) = (flag("tcp.flags.syn"), flag("tcp.flags.fin"));
            let extra = u64::from(syn) + u64::from(fin);
            let mut out = vec![format!("seq = {seq} (relative), payload = {len} bytes")];
            match (syn, fin) {
                (true, true) => out.push("SYN and FIN each count as one byte".into()),
                (true, false) => out.push("SYN counts as one byte".into()),
                (false, true) => out.push("FIN counts as one byte".into()),
                (false, false) => {}
            }
            let next = seq + len + extra;
            let plus = if extra > 0 { format!(" + {extra}") } else { String::new() };
            out.push(format!(
                "next seq = {seq} + {len}{plus} = {next}: the other side acknowledges with ack = {next} (RFC 9293 §3.4)"
            ));
            Ok(out)
        }
    }
}
