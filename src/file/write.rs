//! Writing pcap files that Wireshark and tshark open.

use std::cell::RefCell;
use std::io::{BufWriter, Write};
use std::rc::Rc;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::dissect::app::tls::keylog::{KeyLog, client_hello_randoms};

/// The buffered output, shared so that it can be flushed while `PcapWriter`
/// owns it (pcap-file gives no access to its writer).
struct Shared<W: Write>(Rc<RefCell<BufWriter<W>>>);

impl<W: Write> Write for Shared<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

/// A pcap writer with nanosecond timestamps. Records are buffered; after
/// [`PcapFileWriter::flush`] the file on disk is a valid pcap up to the last
/// record written, and a reader of a file cut mid-record still gets every
/// complete one.
pub struct PcapFileWriter<W: Write> {
    inner: PcapWriter<Shared<W>>,
    out: Rc<RefCell<BufWriter<W>>>,
}

impl<W: Write> PcapFileWriter<W> {
    pub fn new(out: W, linktype: u32, snaplen: u32) -> std::io::Result<Self> {
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen,
            datalink: DataLink::from(linktype),
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::native(),
        };
        let out = Rc::new(RefCell::new(BufWriter::with_capacity(1 << 16, out)));
        let inner = PcapWriter::with_header(Shared(out.clone()), header).map_err(std::io::Error::other)?;
        Ok(Self { inner, out })
    }

    /// Writes one frame. `orig_len` is its length on the wire.
    pub fn write(&mut self, ts_sec: i64, ts_nsec: u32, orig_len: u32, data: &[u8]) -> std::io::Result<()> {
        let pkt = PcapPacket::new(timestamp(ts_sec, ts_nsec), orig_len.max(data.len() as u32), data);
        self.inner.write_packet(&pkt).map(|_| ()).map_err(std::io::Error::other)
    }

    /// Pushes buffered records to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.borrow_mut().flush()
    }
}

impl<W: Write> Drop for PcapFileWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// One frame to write: seconds, nanoseconds, length on the wire, captured bytes.
pub type FrameOut<'a> = (i64, u32, u32, &'a [u8]);

/// Writes frames as a capture: pcap, or pcapng when `keys` hold secrets of
/// sessions whose ClientHello is among the frames or a frame has comments.
/// The secrets of those sessions (and no others) go in a Decryption Secrets
/// Block (secrets type `TLSK`), placed before the first packet as `editcap
/// --inject-secrets tls,KEYS` places it: the keys travel with the capture,
/// and wirelab, Wireshark and tshark decrypt it with no key log given.
/// `comments` (by index into `frames`) become each packet's `opt_comment`
/// options, Wireshark's `frame.comment`. One interface of `linktype`,
/// nanosecond timestamps. Says how many sessions' secrets it wrote.
pub fn write_capture<W: Write>(
    out: W,
    linktype: u32,
    snaplen: u32,
    keys: Option<&KeyLog>,
    frames: &[FrameOut<'_>],
    comments: &std::collections::BTreeMap<usize, Vec<String>>,
) -> std::io::Result<usize> {
    let mut sessions = 0;
    let key_log = keys
        .map(|k| {
            let mut randoms = std::collections::HashSet::new();
            for (.., data) in frames {
                client_hello_randoms(data, &mut randoms);
            }
            sessions = randoms.iter().filter(|r| k.get(r).is_some()).count();
            k.to_text(&randoms)
        })
        .filter(|k| !k.is_empty());
    if key_log.is_none() && comments.is_empty() {
        let mut w = PcapFileWriter::new(out, linktype, snaplen)?;
        for &(sec, nsec, len, data) in frames {
            w.write(sec, nsec, len, data)?;
        }
        w.flush()?;
        return Ok(0);
    }
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::pcapng::blocks::Block;
    use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
    use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
    use pcap_file::pcapng::blocks::unknown::UnknownBlock;
    use std::borrow::Cow;
    let err = std::io::Error::other;
    let mut w = PcapNgWriter::new(BufWriter::with_capacity(1 << 16, out)).map_err(err)?;
    let idb = InterfaceDescriptionBlock {
        linktype: DataLink::from(linktype),
        snaplen,
        // Timestamps in nanoseconds (the default is microseconds).
        options: vec![InterfaceDescriptionOption::IfTsResol(9)],
    };
    w.write_block(&Block::InterfaceDescription(idb)).map_err(err)?;
    if let Some(key_log) = key_log {
        // Body: secrets type, secrets length, the secrets padded to 32 bits,
        // in the section's byte order, the CPU's (the writer adds the
        // block's header and trailer).
        let text = key_log.as_bytes();
        let mut body = Vec::with_capacity(8 + text.len() + 3);
        body.extend_from_slice(&super::SECRETS_TLS_KEY_LOG.to_ne_bytes());
        body.extend_from_slice(&(text.len() as u32).to_ne_bytes());
        body.extend_from_slice(text);
        body.resize(body.len().next_multiple_of(4), 0);
        let len = 12 + body.len() as u32;
        let dsb = UnknownBlock { type_: super::DECRYPTION_SECRETS_BLOCK, length: len, value: Cow::Owned(body) };
        w.write_block(&Block::Unknown(dsb)).map_err(err)?;
    }
    for (i, &(sec, nsec, orig_len, data)) in frames.iter().enumerate() {
        let options = comments
            .get(&i)
            .into_iter()
            .flatten()
            .map(|c| EnhancedPacketOption::Comment(Cow::Borrowed(c.as_str())))
            .collect();
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: timestamp(sec, nsec),
            original_len: orig_len.max(data.len() as u32),
            data: Cow::Borrowed(data),
            options,
        };
        w.write_block(&Block::EnhancedPacket(epb)).map_err(err)?;
    }
    w.into_inner().flush()?;
    Ok(sessions)
}

/// A record's time; times before 1970 are written as 1970.
fn timestamp(sec: i64, nsec: u32) -> Duration {
    Duration::new(sec.max(0) as u64, nsec.min(999_999_999))
}
