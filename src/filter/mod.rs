//! Display filters, in Wireshark's syntax (a subset): field names from the
//! field definitions, comparisons, `contains`, `&&`, `||`, `!`, parentheses,
//! and a bare field or protocol name for presence.
//!
//! ```text
//! websocket.opcode == 1 && ip.src == 127.0.0.1
//! tcp.port == 9001 || udp
//! socketio.event contains "chat" and !(tcp.analysis.retransmission)
//! ```

use std::fmt;

use crate::model::{Dissection, FieldRef, Value};

/// Where and why a filter does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset in the filter text.
    pub at: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

impl std::error::Error for FilterError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

#[derive(Clone, Debug)]
enum Lit {
    Num(f64),
    Text(String),
}

#[derive(Clone, Debug)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// Field names (several for aliases like `tcp.port`), a protocol or a note.
    Present(Vec<&'static str>, Name),
    Cmp(Vec<&'static str>, Op, Lit),
}

/// What a name in a filter stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Name {
    Field,
    Protocol,
    /// A declared note (expert info): present when the frame has one.
    Note,
}

/// A parsed display filter.
#[derive(Clone, Debug)]
pub struct Filter {
    root: Node,
    text: String,
}

/// Names that stand for several fields, as in Wireshark.
const ALIASES: &[(&str, &[&str])] = &[
    ("ip.addr", &["ip.src", "ip.dst"]),
    ("ipv6.addr", &["ipv6.src", "ipv6.dst"]),
    ("eth.addr", &["eth.src", "eth.dst"]),
    ("tcp.port", &["tcp.srcport", "tcp.dstport"]),
    ("udp.port", &["udp.srcport", "udp.dstport"]),
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
    And,
    Or,
    Not,
    Op(Op),
}

fn lex(s: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push((i, Tok::LParen));
                i += 1;
            }
            b')' => {
                out.push((i, Tok::RParen));
                i += 1;
            }
            b'&' if b.get(i + 1) == Some(&b'&') => {
                out.push((i, Tok::And));
                i += 2;
            }
            b'|' if b.get(i + 1) == Some(&b'|') => {
                out.push((i, Tok::Or));
                i += 2;
            }
            b'=' if b.get(i + 1) == Some(&b'=') => {
                out.push((i, Tok::Op(Op::Eq)));
                i += 2;
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                out.push((i, Tok::Op(Op::Ne)));
                i += 2;
            }
            b'!' => {
                out.push((i, Tok::Not));
                i += 1;
            }
            b'<' | b'>' => {
                let eq = b.get(i + 1) == Some(&b'=');
                let op = match (c, eq) {
                    (b'<', false) => Op::Lt,
                    (b'<', true) => Op::Le,
                    (_, false) => Op::Gt,
                    (_, true) => Op::Ge,
                };
                out.push((i, Tok::Op(op)));
                i += if eq { 2 } else { 1 };
            }
            b'"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => {
                            return Err(FilterError { at: start, message: "this string has no closing quote".into() });
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        // An escape takes the whole next character, however
                        // many bytes it has ("\é"), so `i` stays on a boundary.
                        Some(b'\\') if i + 1 < b.len() => {
                            let ch = s.get(i + 1..).and_then(|t| t.chars().next()).unwrap_or('?');
                            v.push(ch);
                            i += 1 + ch.len_utf8();
                        }
                        Some(_) => {
                            let ch = s.get(i..).and_then(|t| t.chars().next()).unwrap_or('?');
                            v.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                out.push((start, Tok::Str(v)));
            }
            _ if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-' | b'/') => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b':' | b'-' | b'/'))
                {
                    i += 1;
                }
                let w = &s[start..i];
                let t = match w {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "eq" => Tok::Op(Op::Eq),
                    "ne" => Tok::Op(Op::Ne),
                    "lt" => Tok::Op(Op::Lt),
                    "le" => Tok::Op(Op::Le),
                    "gt" => Tok::Op(Op::Gt),
                    "ge" => Tok::Op(Op::Ge),
                    "contains" => Tok::Op(Op::Contains),
                    _ => Tok::Word(w.to_string()),
                };
                out.push((start, t));
            }
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                return Err(FilterError { at: i, message: format!("unexpected character '{ch}'") });
            }
        }
    }
    Ok(out)
}

struct Parser<'t> {
    toks: &'t [(usize, Tok)],
    pos: usize,
    end: usize,
}

fn known_fields() -> impl Iterator<Item = &'static crate::model::FieldDef> {
    crate::dissect::all_fields()
}

fn resolve(name: &str, at: usize) -> Result<(Vec<&'static str>, Name), FilterError> {
    if let Some((_, names)) = ALIASES.iter().find(|(a, _)| *a == name) {
        return Ok((names.to_vec(), Name::Field));
    }
    if let Some(f) = known_fields().find(|f| f.name == name) {
        return Ok((vec![f.name], Name::Field));
    }
    if let Some(n) = crate::dissect::all_notes().find(|n| n.name == name) {
        return Ok((vec![n.name], Name::Note));
    }
    if let Some(p) = known_fields().map(|f| f.proto).find(|p| p.name == name) {
        return Ok((vec![p.name], Name::Protocol));
    }
    // The closest known name, to help with typos.
    let best = known_fields()
        .map(|f| f.name)
        .chain(crate::dissect::all_notes().map(|n| n.name))
        .chain(ALIASES.iter().map(|(a, _)| *a))
        .min_by_key(|n| strsim(n, name))
        .unwrap_or("");
    Err(FilterError {
        at,
        message: format!(
            "\"{name}\" is not a field wirelab knows; did you mean {best}? (`wirelab fields` lists them all)"
        ),
    })
}

/// A small edit distance, for suggestions.
fn strsim(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }
    fn at(&self) -> usize {
        self.toks.get(self.pos).map(|(a, _)| *a).unwrap_or(self.end)
    }
    fn or(&mut self) -> Result<Node, FilterError> {
        let mut l = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let r = self.and()?;
            l = Node::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Node, FilterError> {
        let mut l = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let r = self.unary()?;
            l = Node::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<Node, FilterError> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Node, FilterError> {
        let at = self.at();
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let n = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(FilterError { at: self.at(), message: "a \")\" is missing here".into() });
                }
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                let (names, kind) = resolve(&w, at)?;
                if let Some(Tok::Op(op)) = self.peek().cloned() {
                    if kind != Name::Field {
                        let what = if kind == Name::Note { "a note" } else { "a protocol" };
                        return Err(FilterError {
                            at,
                            message: format!("\"{w}\" is {what}: it can only be tested for presence"),
                        });
                    }
                    self.pos += 1;
                    let vat = self.at();
                    let lit = match self.peek().cloned() {
                        Some(Tok::Word(v)) => match parse_num(&v) {
                            Some(n) if op != Op::Contains => Lit::Num(n),
                            _ => Lit::Text(v),
                        },
                        Some(Tok::Str(v)) => Lit::Text(v),
                        _ => {
                            return Err(FilterError {
                                at: vat,
                                message: format!("a value is missing after the operator (e.g. {w} == 1)"),
                            });
                        }
                    };
                    self.pos += 1;
                    Ok(Node::Cmp(names, op, lit))
                } else {
                    Ok(Node::Present(names, kind))
                }
            }
            Some(Tok::Str(_)) => Err(FilterError { at, message: "a field name is needed before a value".into() }),
            Some(_) => Err(FilterError { at, message: "a field name, \"!\" or \"(\" is expected here".into() }),
            None => Err(FilterError { at, message: "the filter ends too early".into() }),
        }
    }
}

fn parse_num(s: &str) -> Option<f64> {
    if let Some(h) = s.strip_prefix("0x") {
        return u64::from_str_radix(h, 16).ok().map(|v| v as f64);
    }
    match s {
        "true" | "True" => return Some(1.0),
        "false" | "False" => return Some(0.0),
        _ => {}
    }
    s.parse::<f64>().ok()
}

impl Filter {
    /// Parses a filter; an empty one matches everything.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let toks = lex(text)?;
        if toks.is_empty() {
            return Ok(Filter { root: Node::Present(vec!["frame"], Name::Protocol), text: String::new() });
        }
        let mut p = Parser { toks: &toks, pos: 0, end: text.len() };
        let root = p.or()?;
        if p.pos < toks.len() {
            return Err(FilterError {
                at: p.at(),
                message: "unexpected text after a complete filter (a missing \"&&\" or \"||\"?)".into(),
            });
        }
        Ok(Filter { root, text: text.to_string() })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a dissected frame matches.
    pub fn matches(&self, d: &Dissection, frame: &[u8]) -> bool {
        eval(&self.root, d, frame)
    }
}

fn eval(n: &Node, d: &Dissection, frame: &[u8]) -> bool {
    match n {
        Node::And(a, b) => eval(a, d, frame) && eval(b, d, frame),
        Node::Or(a, b) => eval(a, d, frame) || eval(b, d, frame),
        Node::Not(a) => !eval(a, d, frame),
        Node::Present(names, Name::Protocol) => d.layers.iter().any(|l| names.contains(&l.proto.name)),
        Node::Present(names, Name::Field) => d.fields.iter().any(|f| names.contains(&f.def.name)),
        Node::Present(names, Name::Note) => d.notes.iter().any(|n| names.contains(&n.def.name)),
        Node::Cmp(names, Op::Ne, lit) => {
            // Wireshark's "!=": no occurrence equals the value.
            let mut any = false;
            for f in d.refs(frame).filter(|f| names.contains(&f.def().name)) {
                any = true;
                if f.compare(Op::Eq, lit) {
                    return false;
                }
            }
            any
        }
        Node::Cmp(names, op, lit) => {
            d.refs(frame).filter(|f| names.contains(&f.def().name)).any(|f| f.compare(*op, lit))
        }
    }
}

fn ord(op: Op, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => o == Equal,
        Op::Ne => o != Equal,
        Op::Lt => o == Less,
        Op::Le => o != Greater,
        Op::Gt => o == Greater,
        Op::Ge => o != Less,
        Op::Contains => false,
    }
}

impl FieldRef<'_> {
    /// Whether the field equals a literal, by the display filter's rules
    /// (`"6"` and `6` equal a number, `"TCP"` its value name, `aa:bb` bytes,
    /// an address in any of its spellings). What a lab checks an answer with.
    pub fn equals(&self, literal: &str) -> bool {
        let t = literal.trim();
        let lit = match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(quoted) => Lit::Text(quoted.to_string()),
            None => parse_num(t).map(Lit::Num).unwrap_or_else(|| Lit::Text(t.to_string())),
        };
        self.compare(Op::Eq, &lit)
    }

    fn compare(&self, op: Op, lit: &Lit) -> bool {
        compare(self, op, lit)
    }
}

fn compare(f: &FieldRef<'_>, op: Op, lit: &Lit) -> bool {
    let num = f.value().as_f64();
    match (num, lit) {
        (Some(v), Lit::Num(n)) => v.partial_cmp(n).is_some_and(|o| ord(op, o)),
        (Some(_), Lit::Text(t)) if op == Op::Contains => f.text(usize::MAX).contains(t.as_str()),
        (Some(v), Lit::Text(t)) => {
            // A value name: tcp.flags == "SYN"? compare with the named value.
            f.def()
                .values
                .iter()
                .find(|(_, n)| n.eq_ignore_ascii_case(t))
                .is_some_and(|(k, _)| ord(op, v.total_cmp(&(*k as f64))))
        }
        (None, lit) => {
            let want = match lit {
                Lit::Num(n) => format_num(*n),
                Lit::Text(t) => t.clone(),
            };
            let have = match f.value() {
                Value::Bytes => {
                    let b = f.bytes();
                    if op == Op::Contains {
                        // bytes contains "text" or contains aa:bb
                        let needle = parse_hex(&want).unwrap_or_else(|| want.as_bytes().to_vec());
                        return !needle.is_empty() && b.windows(needle.len()).any(|w| w == needle.as_slice());
                    }
                    let mine = crate::model::hex(b);
                    return match parse_hex(&want) {
                        Some(v) => ord(op, mine.cmp(&crate::model::hex(&v))),
                        None => false,
                    };
                }
                _ => f.text(usize::MAX),
            };
            match op {
                Op::Contains => have.contains(want.as_str()),
                _ => ord(op, normalise_addr(&have).cmp(&normalise_addr(&want))),
            }
        }
    }
}

fn format_num(n: f64) -> String {
    if n.fract() == 0.0 { format!("{}", n as i64) } else { n.to_string() }
}

/// Addresses compare in any spelling (`::1` and `0:0::1`, `AA-BB` and
/// `aa:bb`); other text compares exactly, as in Wireshark.
fn normalise_addr(s: &str) -> String {
    if let Ok(a) = s.parse::<std::net::IpAddr>() {
        return a.to_string();
    }
    let hexish = s.contains([':', '-']) && s.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '-');
    if hexish { s.to_ascii_lowercase().replace('-', ":") } else { s.to_string() }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let clean: String = s.chars().filter(|c| *c != ':' && *c != ' ').collect();
    if clean.is_empty() || !clean.len().is_multiple_of(2) || !clean.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..clean.len()).step_by(2).map(|i| u8::from_str_radix(&clean[i..i + 2], 16).ok()).collect()
}
