//! The query language of lab questions: how a right answer is computed from
//! the capture. Every form is built on the display filters:
//!
//! ```toml
//! answer = { field = "tcp.seq_raw", filter = "tcp.flags.syn == 1 && tcp.flags.ack == 0" }  # first match
//! answer = { field = "engineio.sid", filter = "engineio.type == 0", which = 2 }            # the 2nd match
//! answer = { frame = "first", filter = "tcp.flags.syn == 1 && tcp.flags.ack == 1" }        # a frame number
//! answer = { frames = "tcp.analysis.retransmission" }                                      # a set of frames
//! answer = { count = "websocket.mask == 1" }                                               # how many frames
//! answer = { distinct = "tcp.stream", filter = "websocket" }                               # how many different values
//! answer = { seconds_between = ["tcp.flags.syn == 1", "websocket"] }                       # first to first
//! answer = { compute = "websocket-accept", filter = "http.sec_websocket_key" }             # a named computation
//! ```

use serde::Deserialize;

use crate::filter::Filter;
use crate::model::Dissection;
use crate::session::Session;

/// Which of the frames matching a filter: the first, the last, or the n-th (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Which {
    #[default]
    First,
    Last,
    Nth(usize),
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
            Repr::Nth(n) if n >= 1 => Ok(Which::Nth(n)),
            _ => Err(serde::de::Error::custom("which is \"first\", \"last\" or a number from 1")),
        }
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

/// How a right answer is found in the capture.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Query {
    Field {
        field: String,
        filter: String,
        #[serde(default)]
        which: Which,
    },
    Frame {
        frame: Which,
        filter: String,
    },
    Frames {
        frames: String,
    },
    Count {
        count: String,
    },
    /// How many different values a field takes in the matching frames
    /// (connections: `tcp.stream`; clients: `tcp.srcport`).
    Distinct {
        distinct: String,
        filter: String,
    },
    SecondsBetween {
        seconds_between: [String; 2],
    },
    Compute {
        compute: Computation,
        filter: String,
    },
}

/// A query's result: what the student's answer is compared with, and the
/// frames that decide it (for the feedback).
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// A field's value in a frame: `occurrence` counts fields of that name in it.
    Field {
        frame: u64,
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

impl Query {
    /// The display filters the query uses.
    pub fn filters(&self) -> Vec<&str> {
        match self {
            Query::Field { filter, .. } | Query::Frame { filter, .. } | Query::Compute { filter, .. } => vec![filter],
            Query::Frames { frames } => vec![frames],
            Query::Count { count } => vec![count],
            Query::Distinct { filter, .. } => vec![filter],
            Query::SecondsBetween { seconds_between } => seconds_between.iter().map(String::as_str).collect(),
        }
    }

    /// The field it reads, if it reads one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Query::Field { field, .. } | Query::Distinct { distinct: field, .. } => Some(field),
            _ => None,
        }
    }

    /// Runs the query on a capture.
    pub fn run(&self, s: &Session) -> Result<Found, String> {
        match self {
            Query::Field { field, filter, which } => {
                let n = pick(&matching(s, filter)?, *which, filter)?;
                let mut d = Dissection::default();
                let bytes = s.number(n, &mut d).ok_or_else(|| format!("frame {n} cannot be read"))?;
                let f = d
                    .find(bytes, field)
                    .ok_or_else(|| format!("frame {n} (matching \"{filter}\") has no field {field}"))?;
                Ok(Found::Field { frame: n, field: field.clone(), occurrence: 0, text: f.text(usize::MAX) })
            }
            Query::Frame { frame, filter } => Ok(Found::Frame(pick(&matching(s, filter)?, *frame, filter)?)),
            Query::Frames { frames } => Ok(Found::Frames(matching(s, frames)?)),
            Query::Count { count } => {
                let frames = matching(s, count)?;
                Ok(Found::Number { value: frames.len() as f64, frames })
            }
            Query::Distinct { distinct, filter } => {
                let f = Filter::parse(filter).map_err(|e| format!("the filter \"{filter}\": {e}"))?;
                let mut seen = std::collections::HashSet::new();
                let mut frames = Vec::new();
                s.scan(|d, bytes| {
                    if f.matches(d, bytes) {
                        for v in d.find_all(bytes, distinct) {
                            if seen.insert(v.text(usize::MAX)) {
                                frames.push(d.meta.number);
                            }
                        }
                    }
                });
                if frames.is_empty() {
                    return Err(format!("no frame matching \"{filter}\" has the field {distinct}"));
                }
                Ok(Found::Number { value: seen.len() as f64, frames })
            }
            Query::SecondsBetween { seconds_between: [a, b] } => {
                let fa = pick(&matching(s, a)?, Which::First, a)?;
                let fb = pick(&matching(s, b)?, Which::First, b)?;
                let t = |n: u64| s.raw(n as usize - 1).map(|(m, _)| m.time_f64()).unwrap_or(0.0);
                Ok(Found::Number { value: t(fb) - t(fa), frames: vec![fa, fb] })
            }
            Query::Compute { compute: Computation::WebsocketAccept, filter } => {
                let n = pick(&matching(s, filter)?, Which::First, filter)?;
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

fn pick(frames: &[u64], which: Which, filter: &str) -> Result<u64, String> {
    let got = match which {
        Which::First => frames.first(),
        Which::Last => frames.last(),
        Which::Nth(n) => frames.get(n - 1),
    };
    got.copied().ok_or_else(|| match which {
        Which::Nth(n) if !frames.is_empty() => {
            format!("only {} frames match \"{filter}\", not {n}", frames.len())
        }
        _ => format!("no frame matches \"{filter}\""),
    })
}
