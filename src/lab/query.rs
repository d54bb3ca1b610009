//! The query language of lab questions: how a right answer is computed from
//! the capture. Every form is built on the display filters, so the window's
//! filter box and `lab check` speak the same language (`labs/README.md`,
//! "Queries", is the reference for lab authors):
//!
//! ```toml
//! answer = { field = "tcp.seq_raw", filter = "tcp.flags.syn == 1 && tcp.flags.ack == 0" }  # first match
//! answer = { field = "engineio.sid", filter = "engineio.type == 0", which = 2 }            # the 2nd match
//! answer = { frame = "first", filter = "tcp.flags.syn == 1 && tcp.flags.ack == 1" }        # a frame number
//! answer = { field = "websocket.decompressed.length", filter = "websocket", which = "largest",
//!            by = "websocket.decompressed.length" }                                       # the largest message
//! answer = { frames = "tcp.analysis.retransmission" }                                      # a set of frames
//! answer = { count = "socketio.event == \"chat message\"", each = "message" }              # messages, not frames
//! answer = { distinct = "engineio.session", filter = "tcp.from_client == 0 && socketio" }   # how many clients
//! answer = { frame = "first", filter = "tcp.flags.syn == 1 && tcp.flags.ack == 1",
//!            same = ["tcp.stream"], as = "tcp.flags.syn == 1 && tcp.flags.ack == 0",
//!            as_which = "first" }                                                         # on the first SYN's connection
//! answer = { frame = "first", filter = "socketio.type == 3",
//!            answers = "socketio.type == 2 && tcp.from_client == 1" }                     # the answer to the client's emit
//! answer = { seconds_between = ["tcp.flags.syn == 1", "websocket"] }                       # first to first
//! answer = { compute = "websocket-accept", filter = "http.sec_websocket_key" }             # a named computation
//! ```
//!
//! A query that finds nothing is an error: the capture cannot answer the
//! question (a `count` of nothing is 0, unless its `as` or `answers` finds
//! nothing to count on).

use std::collections::HashSet;

use serde::Deserialize;

use crate::filter::Filter;
use crate::model::Dissection;
use crate::session::Session;

/// Which of the items matching a filter: the first, the last, the n-th
/// (from 1), or the one whose `by` field is largest or smallest (the first
/// of equals; an item with several values counts its largest, or smallest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Which {
    #[default]
    First,
    Last,
    Nth(usize),
    Largest,
    Smallest,
}

impl<'de> Deserialize<'de> for Which {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Which, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Name(String),
            Nth(usize),
        }
        match Repr::deserialize(d)? {
            Repr::Name(n) if n == "first" => Ok(Which::First),
            Repr::Name(n) if n == "last" => Ok(Which::Last),
            Repr::Name(n) if n == "largest" => Ok(Which::Largest),
            Repr::Name(n) if n == "smallest" => Ok(Which::Smallest),
            Repr::Nth(n) if n >= 1 => Ok(Which::Nth(n)),
            _ => Err(serde::de::Error::custom(
                "which is \"first\", \"last\", \"largest\", \"smallest\" (with by = a field) or a number from 1",
            )),
        }
    }
}

impl Which {
    fn by_value(self) -> bool {
        matches!(self, Which::Largest | Which::Smallest)
    }
}

/// A named computation over a frame's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Computation {
    /// The `Sec-WebSocket-Accept` a server must answer to the
    /// `Sec-WebSocket-Key` in the frame: base64(SHA-1(key + GUID)), RFC 6455 §4.2.2.
    WebsocketAccept,
}

/// What a query looks at: frames, or the application messages in them (a
/// long-polling body carries several Engine.IO packets; one TCP segment
/// may carry several WebSocket frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Each {
    #[default]
    Frame,
    Message,
}

/// What a query asks of the items in its scope.
#[derive(Debug, Clone)]
pub enum Ask {
    /// A field's value in one item.
    Field {
        field: String,
        which: Which,
        by: Option<String>,
    },
    /// One item's frame number.
    Frame {
        which: Which,
        by: Option<String>,
    },
    /// Every item's frame (a pick-packet answer: any of them).
    Frames,
    /// How many items.
    Count,
    /// How many different values a field takes in the items (connections:
    /// `tcp.stream`; clients: `engineio.session`).
    Distinct {
        field: String,
    },
    /// Seconds from the first frame matching A to the first matching B.
    SecondsBetween([String; 2]),
    Compute(Computation),
}

/// The items a query looks at: those matching `filter`, counted per frame
/// or per message, kept to those sharing the `same` fields with an anchor
/// (`as`), and to those answering a message matching `answers`.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub filter: String,
    pub each: Each,
    pub same: Vec<String>,
    pub anchor: Option<String>,
    /// Which anchor counts (default: every one).
    pub anchor_which: Option<Which>,
    pub answers: Option<String>,
}

/// How a right answer is found in the capture.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Raw")]
pub struct Query {
    pub ask: Ask,
    pub scope: Scope,
}

/// A query as written in the lab file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    field: Option<String>,
    frame: Option<Which>,
    frames: Option<String>,
    count: Option<String>,
    distinct: Option<String>,
    seconds_between: Option<[String; 2]>,
    compute: Option<Computation>,
    filter: Option<String>,
    which: Option<Which>,
    by: Option<String>,
    #[serde(default)]
    same: Vec<String>,
    #[serde(rename = "as")]
    anchor: Option<String>,
    as_which: Option<Which>,
    answers: Option<String>,
    each: Option<Each>,
}

impl TryFrom<Raw> for Query {
    type Error = String;

    fn try_from(r: Raw) -> Result<Query, String> {
        let forms = [
            r.field.is_some(),
            r.frame.is_some(),
            r.frames.is_some(),
            r.count.is_some(),
            r.distinct.is_some(),
            r.seconds_between.is_some(),
            r.compute.is_some(),
        ];
        if forms.iter().filter(|x| **x).count() != 1 {
            return Err(
                "a query is exactly one of field, frame, frames, count, distinct, seconds_between or compute".into()
            );
        }
        let scoped = !r.same.is_empty() || r.anchor.is_some() || r.answers.is_some() || r.each.is_some();
        let needs_filter = |what: &str| r.filter.clone().ok_or_else(|| format!("`{what}` needs filter = \"…\""));
        let no_filter = |what: &str| match r.filter {
            Some(_) => Err(format!("`{what}` is itself the filter: leave out filter = \"…\"")),
            None => Ok(()),
        };
        let which = r.which.unwrap_or_default();
        if r.which.is_some() && r.field.is_none() {
            return Err("which = … goes with field = … (for a frame, say frame = \"last\", 2, \"largest\" …)".into());
        }
        let (ask, filter) = if let Some(field) = r.field {
            (Ask::Field { field, which, by: r.by.clone() }, needs_filter("field")?)
        } else if let Some(which) = r.frame {
            (Ask::Frame { which, by: r.by.clone() }, needs_filter("frame")?)
        } else if let Some(f) = r.frames {
            no_filter("frames")?;
            (Ask::Frames, f)
        } else if let Some(f) = r.count {
            no_filter("count")?;
            (Ask::Count, f)
        } else if let Some(field) = r.distinct {
            (Ask::Distinct { field }, needs_filter("distinct")?)
        } else if let Some(pair) = r.seconds_between {
            if r.filter.is_some() || r.answers.is_some() || r.each.is_some() {
                return Err(
                    "seconds_between takes two filters, and may take same and as; no filter, answers or each".into()
                );
            }
            (Ask::SecondsBetween(pair), String::new())
        } else if let Some(c) = r.compute {
            if scoped {
                return Err("compute takes a filter only".into());
            }
            return Ok(Query {
                ask: Ask::Compute(c),
                scope: Scope { filter: needs_filter("compute")?, ..Default::default() },
            });
        } else {
            unreachable!("one form is given")
        };
        let picks = match &ask {
            Ask::Field { which, .. } | Ask::Frame { which, .. } => Some(*which),
            _ => None,
        };
        match (picks.is_some_and(Which::by_value), r.by.is_some()) {
            (true, false) => return Err("which = \"largest\" or \"smallest\" needs by = the field to compare".into()),
            (false, true) => return Err("by = … goes with which = \"largest\" or \"smallest\"".into()),
            _ => {}
        }
        if r.same.is_empty() != r.anchor.is_none() {
            return Err("`same` and `as` go together: the fields to share, and the frames to share them with".into());
        }
        if r.as_which.is_some() && r.anchor.is_none() {
            return Err("as_which = … says which of the `as` frames counts: it needs as = \"…\"".into());
        }
        if r.as_which.is_some_and(Which::by_value) {
            return Err("as_which is \"first\", \"last\" or a number from 1".into());
        }
        let scope = Scope {
            filter,
            each: r.each.unwrap_or_default(),
            same: r.same,
            anchor: r.anchor,
            anchor_which: r.as_which,
            answers: r.answers,
        };
        Ok(Query { ask, scope })
    }
}

/// A query's result: what the student's answer is compared with, and the
/// frames that decide it (for the feedback).
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// A field's value in one item: `unit` is the message within the frame
    /// (for `each = "message"`), `occurrence` counts fields of that name in it.
    Field {
        frame: u64,
        unit: Option<usize>,
        field: String,
        occurrence: usize,
        text: String,
    },
    Number {
        value: f64,
        frames: Vec<u64>,
    },
    Text {
        value: String,
        frames: Vec<u64>,
    },
    Frame(u64),
    Frames(Vec<u64>),
}

impl Found {
    pub fn frames(&self) -> Vec<u64> {
        match self {
            Found::Field { frame, .. } | Found::Frame(frame) => vec![*frame],
            Found::Number { frames, .. } | Found::Text { frames, .. } | Found::Frames(frames) => frames.clone(),
        }
    }
}

/// One item in a query's scope, with the values it read.
struct Hit {
    frame: u64,
    unit: Option<usize>,
    key: Option<Vec<String>>,
    /// Every occurrence of each wanted field, in order.
    values: Vec<Vec<String>>,
}

impl Query {
    /// The display filters the query uses.
    pub fn filters(&self) -> Vec<&str> {
        match &self.ask {
            Ask::SecondsBetween(pair) => pair.iter().chain(&self.scope.anchor).map(String::as_str).collect(),
            _ => std::iter::once(&self.scope.filter)
                .chain(&self.scope.anchor)
                .chain(&self.scope.answers)
                .map(String::as_str)
                .collect(),
        }
    }

    /// The field it reads, if it reads one (the feedback links to it).
    pub fn field(&self) -> Option<&str> {
        match &self.ask {
            Ask::Field { field, .. } | Ask::Distinct { field } => Some(field),
            _ => None,
        }
    }

    /// Every field name it reads: its field, `by` and `same` (for `lab validate`).
    pub fn field_names(&self) -> Vec<&str> {
        let by = match &self.ask {
            Ask::Field { by, .. } | Ask::Frame { by, .. } => by.as_deref(),
            _ => None,
        };
        self.field().into_iter().chain(by).chain(self.scope.same.iter().map(String::as_str)).collect()
    }

    /// Runs the query on a capture.
    pub fn run(&self, s: &Session) -> Result<Found, String> {
        match &self.ask {
            Ask::Field { field, which, by } => {
                let wanted: Vec<&str> = std::iter::once(field.as_str()).chain(by.as_deref()).collect();
                let hits = self.hits(s, &wanted)?;
                let (h, best) = pick(&hits, *which, 1, &self.describe())?;
                // Asked for the largest of the field itself: that occurrence of it.
                let occurrence = if by.as_deref() == Some(field.as_str()) { best.unwrap_or(0) } else { 0 };
                let text = h.values[0]
                    .get(occurrence)
                    .cloned()
                    .ok_or_else(|| format!("frame {} (matching {}) has no field {field}", h.frame, self.describe()))?;
                Ok(Found::Field { frame: h.frame, unit: h.unit, field: field.clone(), occurrence, text })
            }
            Ask::Frame { which, by } => {
                let wanted: Vec<&str> = by.as_deref().into_iter().collect();
                let hits = self.hits(s, &wanted)?;
                Ok(Found::Frame(pick(&hits, *which, 0, &self.describe())?.0.frame))
            }
            Ask::Frames => {
                let hits = self.hits(s, &[])?;
                if hits.is_empty() {
                    return Err(format!("nothing matches {}", self.describe()));
                }
                Ok(Found::Frames(frames_of(&hits)))
            }
            Ask::Count => {
                let hits = self.hits(s, &[])?;
                Ok(Found::Number { value: hits.len() as f64, frames: frames_of(&hits) })
            }
            Ask::Distinct { field } => {
                let hits = self.hits(s, &[field])?;
                let mut seen = HashSet::new();
                let mut frames = Vec::new();
                for h in &hits {
                    for v in &h.values[0] {
                        if seen.insert(v.clone()) {
                            frames.push(h.frame);
                        }
                    }
                }
                if seen.is_empty() {
                    return Err(format!("nothing matching {} has the field {field}", self.describe()));
                }
                Ok(Found::Number { value: seen.len() as f64, frames })
            }
            Ask::SecondsBetween([a, b]) => {
                // The first frame of each filter, within the scope (`same` and `as`).
                let first = |f: &str| {
                    let q = Query { ask: Ask::Frames, scope: Scope { filter: f.to_string(), ..self.scope.clone() } };
                    q.hits(s, &[])?.first().map(|h| h.frame).ok_or_else(|| format!("nothing matches {}", q.describe()))
                };
                let (fa, fb) = (first(a)?, first(b)?);
                let t = |n: u64| s.raw(n as usize - 1).map(|(m, _)| m.time_f64()).unwrap_or(0.0);
                Ok(Found::Number { value: t(fb) - t(fa), frames: vec![fa, fb] })
            }
            Ask::Compute(Computation::WebsocketAccept) => {
                let filter = &self.scope.filter;
                let n =
                    matching(s, filter)?.first().copied().ok_or_else(|| format!("no frame matches \"{filter}\""))?;
                let mut d = Dissection::default();
                let bytes = s.number(n, &mut d).ok_or_else(|| format!("frame {n} cannot be read"))?;
                let key = d
                    .find(bytes, "http.sec_websocket_key")
                    .ok_or_else(|| format!("frame {n} has no Sec-WebSocket-Key header"))?;
                let key = String::from_utf8_lossy(key.bytes()).trim().to_string();
                let (_, _, accept) = crate::dissect::app::http::accept_for(&key);
                Ok(Found::Text { value: accept, frames: vec![n] })
            }
        }
    }

    /// The scope in words, for errors: `"filter" on the connection of "as"`.
    fn describe(&self) -> String {
        let sc = &self.scope;
        let mut s = format!("\"{}\"", sc.filter);
        if let Some(a) = &sc.anchor {
            s += &format!(" sharing {} with \"{a}\"", sc.same.join(", "));
        }
        if let Some(q) = &sc.answers {
            s += &format!(" answering \"{q}\"");
        }
        s
    }

    /// The items in scope, in capture order, with the values of `wanted`
    /// fields read in each: one pass over the capture.
    fn hits(&self, s: &Session, wanted: &[&str]) -> Result<Vec<Hit>, String> {
        let sc = &self.scope;
        let parse = |f: &str| Filter::parse(f).map_err(|e| format!("the filter \"{f}\": {e}"));
        let filter = parse(&sc.filter)?;
        let anchor = sc.anchor.as_deref().map(parse).transpose()?;
        let question = sc.answers.as_deref().map(parse).transpose()?;
        // An HTTP request or answer that carries no Engine.IO packet (a
        // polling GET, the "ok" to a POST) still belongs to a session: the
        // one the correlator gives its message (a request without `sid=`
        // belongs to the session its answer opens).
        let sessions: std::collections::HashMap<u64, &str> = if wanted.contains(&SESSION)
            || sc.same.iter().any(|n| n == SESSION)
        {
            s.messages().iter().filter_map(|m| Some((m.event.frames.last().copied()?, m.session.as_deref()?))).collect()
        } else {
            Default::default()
        };
        let values = |d: &Dissection, b: &[u8], name: &str| -> Vec<String> {
            let mut v: Vec<String> = d.find_all(b, name).map(|x| x.text(usize::MAX)).collect();
            if v.is_empty()
                && name == SESSION
                && let Some(sid) = sessions.get(&d.meta.number)
            {
                v.push(sid.to_string());
            }
            v
        };
        let key = |d: &Dissection, b: &[u8]| -> Option<Vec<String>> {
            sc.same.iter().map(|n| values(d, b, n).into_iter().next()).collect()
        };
        let mut hits = Vec::new();
        let mut anchors: Vec<Vec<String>> = Vec::new();
        let mut questions: HashSet<u64> = HashSet::new();
        // Which segment each ACK acknowledges (`tcp.analysis.acks_frame`).
        let mut acks: Vec<(u64, u64)> = Vec::new();
        s.scan(|d, bytes| {
            let n = d.meta.number;
            if let Some(q) = &question {
                if q.matches(d, bytes) {
                    questions.insert(n);
                }
                if let Some(acked) = d.field("tcp.analysis.acks_frame").and_then(|f| f.value.as_u64()) {
                    acks.push((n, acked));
                }
            }
            let mut visit = |unit: Option<usize>, v: &Dissection| {
                if anchor.as_ref().is_some_and(|a| a.matches(v, bytes))
                    && let Some(k) = key(v, bytes)
                {
                    anchors.push(k);
                }
                if filter.matches(v, bytes) {
                    hits.push(Hit {
                        frame: n,
                        unit,
                        key: if sc.same.is_empty() { None } else { key(v, bytes) },
                        values: wanted.iter().map(|w| values(v, bytes, w)).collect(),
                    });
                }
            };
            let views = if sc.each == Each::Message { d.message_views() } else { Vec::new() };
            if views.is_empty() {
                visit(None, d);
            } else {
                for (i, v) in views.iter().enumerate() {
                    visit(Some(i), v);
                }
            }
        });
        if let Some(a) = &sc.anchor {
            let none = || format!("nothing matches \"{a}\" with {}", sc.same.join(", "));
            let keep: HashSet<Vec<String>> = match sc.anchor_which {
                None => anchors.into_iter().collect(),
                Some(w) => {
                    let one = match w {
                        Which::Last => anchors.last(),
                        Which::Nth(k) => anchors.get(k - 1),
                        _ => anchors.first(),
                    };
                    one.cloned().into_iter().collect()
                }
            };
            if keep.is_empty() {
                return Err(none());
            }
            hits.retain(|h| h.key.as_ref().is_some_and(|k| keep.contains(k)));
        }
        if let Some(q) = &sc.answers {
            if questions.is_empty() {
                return Err(format!("no frame matches \"{q}\""));
            }
            // The messages that answer one carried by a matching frame (the
            // correlator pairs them: ACK and EVENT, pong and ping, 101 and
            // the upgrade request), by the frame that completed them; and the
            // TCP segments whose ACK acknowledges a matching segment.
            let msgs = s.messages();
            let mut answering: HashSet<u64> = msgs
                .iter()
                .filter(|m| {
                    m.answers
                        .and_then(|j| msgs.get(j))
                        .is_some_and(|asked| asked.event.frames.iter().any(|f| questions.contains(f)))
                })
                .filter_map(|m| m.event.frames.last().copied())
                .collect();
            answering.extend(acks.iter().filter(|(_, acked)| questions.contains(acked)).map(|(f, _)| *f));
            hits.retain(|h| answering.contains(&h.frame));
        }
        Ok(hits)
    }
}

/// The Engine.IO session field, which a frame without an Engine.IO packet
/// takes from the correlator.
const SESSION: &str = "engineio.session";

/// The frames of the hits, each once, in order.
fn frames_of(hits: &[Hit]) -> Vec<u64> {
    let mut out: Vec<u64> = hits.iter().map(|h| h.frame).collect();
    out.dedup();
    out
}

/// The hit a `which` picks, and for largest and smallest, which occurrence
/// of the compared field (`values[by]`) decided.
fn pick<'h>(hits: &'h [Hit], which: Which, by: usize, scope: &str) -> Result<(&'h Hit, Option<usize>), String> {
    let got = match which {
        Which::First => hits.first(),
        Which::Last => hits.last(),
        Which::Nth(n) => hits.get(n - 1),
        Which::Largest | Which::Smallest => {
            let mut best: Option<(f64, &Hit, usize)> = None;
            for h in hits {
                for (i, v) in h.values.get(by).into_iter().flatten().enumerate() {
                    let Ok(x) = v.trim().parse::<f64>() else { continue };
                    let better = match best {
                        None => true,
                        Some((b, ..)) if which == Which::Largest => x > b,
                        Some((b, ..)) => x < b,
                    };
                    if better {
                        best = Some((x, h, i));
                    }
                }
            }
            return best
                .map(|(_, h, i)| (h, Some(i)))
                .ok_or_else(|| format!("nothing matching {scope} has a number to compare"));
        }
    };
    got.map(|h| (h, None)).ok_or_else(|| match which {
        Which::Nth(n) if !hits.is_empty() => format!("only {} items match {scope}, not {n}", hits.len()),
        _ => format!("nothing matches {scope}"),
    })
}

/// Frame numbers (from 1) of the frames matching a filter, in capture order.
pub fn matching(s: &Session, filter: &str) -> Result<Vec<u64>, String> {
    let f = Filter::parse(filter).map_err(|e| format!("the filter \"{filter}\": {e}"))?;
    let mut out = Vec::new();
    s.scan(|d, bytes| {
        if f.matches(d, bytes) {
            out.push(d.meta.number);
        }
    });
    Ok(out)
}

/// One item of a capture: the frame, or one message of it (`unit`, as
/// [`Dissection::message_views`] numbers them).
pub fn read_item(s: &Session, frame: u64, unit: Option<usize>) -> Option<(Dissection, &[u8])> {
    let mut d = Dissection::default();
    let bytes = s.number(frame, &mut d)?;
    match unit {
        None => Some((d, bytes)),
        Some(i) => d.message_views().into_iter().nth(i).map(|v| (v, bytes)),
    }
}
