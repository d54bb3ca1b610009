//! The query language of lab questions: how a right answer is computed from
//! the capture. Every form is built on the display filters:
//!
//! ```toml
//! answer = { field = "tcp.seq_raw", filter = "tcp.flags.syn == 1 && tcp.flags.ack == 0" }  # first match
//! answer = { field = "engineio.sid", filter = "engineio.type == 0", which = 2 }            # the 2nd match
//! answer = { frame = "first", filter = "tcp.flags.syn == 1 && tcp.flags.ack == 1" }        # a frame number
//! answer = { field = "websocket.decompressed.length", filter = "websocket", which = "largest",
//!            by = "websocket.decompressed.length" }                                       # the largest message
//! answer = { frames = "tcp.analysis.retransmission" }                                      # a set of frames
//! answer = { frame = "first", filter = "tcp.flags.syn == 1 && tcp.flags.ack == 1",
//!            same = ["tcp.stream"], as = "tcp.flags.syn == 1 && tcp.flags.ack == 0" }    # on a SYN's connection
//! answer = { count = "websocket.mask == 1" }                                               # how many frames
//! answer = { distinct = "tcp.stream", filter = "websocket" }                               # how many different values
//! answer = { seconds_between = ["tcp.flags.syn == 1", "websocket"] }                       # first to first
//! answer = { compute = "websocket-accept", filter = "http.sec_websocket_key" }             # a named computation
//! ```

use serde::Deserialize;

use crate::filter::Filter;
use crate::model::Dissection;
use crate::session::Session;

/// Which of the frames matching a filter: the first, the last, the n-th
/// (from 1), or the one whose `by` field is largest or smallest (the first
/// of equals; a frame with several values counts its largest, or smallest).
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
        /// The numeric field `which = "largest"` or `"smallest"` compares.
        #[serde(default)]
        by: Option<String>,
        /// Keep only the frames that share the values of these fields with
        /// a frame matching `as` (the same connection, session, ack id …).
        #[serde(default)]
        same: Vec<String>,
        #[serde(default, rename = "as")]
        anchor: Option<String>,
    },
    Frame {
        frame: Which,
        filter: String,
        #[serde(default)]
        by: Option<String>,
        /// Keep only the frames that share the values of these fields with
        /// a frame matching `as` (the same connection, session, ack id …).
        #[serde(default)]
        same: Vec<String>,
        #[serde(default, rename = "as")]
        anchor: Option<String>,
    },
    Frames {
        frames: String,
        /// Keep only the frames that share the values of these fields with
        /// a frame matching `as` (the same connection, session, ack id …).
        #[serde(default)]
        same: Vec<String>,
        #[serde(default, rename = "as")]
        anchor: Option<String>,
    },
    Count {
        count: String,
        /// Keep only the frames that share the values of these fields with
        /// a frame matching `as` (the same connection, session, ack id …).
        #[serde(default)]
        same: Vec<String>,
        #[serde(default, rename = "as")]
        anchor: Option<String>,
    },
    /// How many different values a field takes in the matching frames
    /// (connections: `tcp.stream`; clients: `tcp.srcport`).
    Distinct {
        distinct: String,
        filter: String,
        /// Keep only the frames that share the values of these fields with
        /// a frame matching `as` (the same connection, session, ack id …).
        #[serde(default)]
        same: Vec<String>,
        #[serde(default, rename = "as")]
        anchor: Option<String>,
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
            Query::Field { filter, anchor, .. }
            | Query::Frame { filter, anchor, .. }
            | Query::Frames { frames: filter, anchor, .. }
            | Query::Count { count: filter, anchor, .. }
            | Query::Distinct { filter, anchor, .. } => {
                std::iter::once(filter).chain(anchor).map(String::as_str).collect()
            }
            Query::Compute { filter, .. } => vec![filter],
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
            Query::Field { field, filter, which, by, .. } => {
                let (n, best) = pick_by(s, &self.scoped(s, filter)?, filter, *which, by.as_deref())?;
                let mut d = Dissection::default();
                let bytes = s.number(n, &mut d).ok_or_else(|| format!("frame {n} cannot be read"))?;
                // Asked for the largest of the field itself: that occurrence of it.
                let occurrence = if by.as_deref() == Some(field.as_str()) { best.unwrap_or(0) } else { 0 };
                let f = d
                    .find_all(bytes, field)
                    .nth(occurrence)
                    .ok_or_else(|| format!("frame {n} (matching \"{filter}\") has no field {field}"))?;
                Ok(Found::Field { frame: n, field: field.clone(), occurrence, text: f.text(usize::MAX) })
            }
            Query::Frame { frame, filter, by, .. } => {
                Ok(Found::Frame(pick_by(s, &self.scoped(s, filter)?, filter, *frame, by.as_deref())?.0))
            }
            Query::Frames { frames, .. } => {
                let found = self.scoped(s, frames)?;
                if found.is_empty() {
                    return Err(format!("no frame matches \"{frames}\""));
                }
                Ok(Found::Frames(found))
            }
            Query::Count { count, .. } => {
                let frames = self.scoped(s, count)?;
                Ok(Found::Number { value: frames.len() as f64, frames })
            }
            Query::Distinct { distinct, filter, .. } => {
                let scope: std::collections::HashSet<u64> = self.scoped(s, filter)?.into_iter().collect();
                let mut seen = std::collections::HashSet::new();
                let mut frames = Vec::new();
                s.scan(|d, bytes| {
                    if scope.contains(&d.meta.number) {
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

impl Query {
    /// The frames matching `filter`, kept to those that share the `same`
    /// fields' values with a frame matching `as`: "on the connection that
    /// joined the room", "with the ack id of the client's emit".
    fn scoped(&self, s: &Session, filter: &str) -> Result<Vec<u64>, String> {
        let (same, anchor) = match self {
            Query::Field { same, anchor, .. }
            | Query::Frame { same, anchor, .. }
            | Query::Frames { same, anchor, .. }
            | Query::Count { same, anchor, .. }
            | Query::Distinct { same, anchor, .. } => (same, anchor.as_deref()),
            _ => return matching(s, filter),
        };
        let anchor = match (same.is_empty(), anchor) {
            (true, None) => return matching(s, filter),
            (false, Some(a)) => a,
            _ => {
                return Err("`same` and `as` go together: the fields to share, and the frames to share them with".into());
            }
        };
        let keys = |frames: &[u64]| -> Vec<(u64, Option<Vec<String>>)> {
            let mut d = Dissection::default();
            frames
                .iter()
                .map(|&n| {
                    let key = s.number(n, &mut d).and_then(|bytes| {
                        same.iter().map(|f| d.find(bytes, f).map(|v| v.text(usize::MAX))).collect::<Option<Vec<_>>>()
                    });
                    (n, key)
                })
                .collect()
        };
        let anchors: std::collections::HashSet<Vec<String>> =
            keys(&matching(s, anchor)?).into_iter().filter_map(|(_, k)| k).collect();
        if anchors.is_empty() {
            return Err(format!("no frame matches \"{anchor}\" with {}", same.join(", ")));
        }
        Ok(keys(&matching(s, filter)?)
            .into_iter()
            .filter(|(_, k)| k.as_ref().is_some_and(|k| anchors.contains(k)))
            .map(|(n, _)| n)
            .collect())
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

/// The frame a `which` picks among those matching a filter, and for
/// largest and smallest, which occurrence of `by` in it decided.
fn pick_by(
    s: &Session,
    frames: &[u64],
    filter: &str,
    which: Which,
    by: Option<&str>,
) -> Result<(u64, Option<usize>), String> {
    if !matches!(which, Which::Largest | Which::Smallest) {
        return Ok((pick(frames, which, filter)?, None));
    }
    let by = by.ok_or_else(|| "which = \"largest\" or \"smallest\" needs by = the field to compare".to_string())?;
    let mut best: Option<(f64, u64, usize)> = None;
    let mut d = Dissection::default();
    for &n in frames {
        let Some(bytes) = s.number(n, &mut d) else { continue };
        for (i, v) in d.find_all(bytes, by).enumerate() {
            let Ok(x) = v.text(usize::MAX).trim().parse::<f64>() else { continue };
            let better = match best {
                None => true,
                Some((b, ..)) if which == Which::Largest => x > b,
                Some((b, ..)) => x < b,
            };
            if better {
                best = Some((x, n, i));
            }
        }
    }
    best.map(|(_, n, i)| (n, Some(i))).ok_or_else(|| format!("no frame matching \"{filter}\" has a number in {by}"))
}

fn pick(frames: &[u64], which: Which, filter: &str) -> Result<u64, String> {
    let got = match which {
        Which::First => frames.first(),
        Which::Last => frames.last(),
        Which::Nth(n) => frames.get(n - 1),
        Which::Largest | Which::Smallest => None,
    };
    got.copied().ok_or_else(|| match which {
        Which::Nth(n) if !frames.is_empty() => {
            format!("only {} frames match \"{filter}\", not {n}", frames.len())
        }
        _ => format!("no frame matches \"{filter}\""),
    })
}
