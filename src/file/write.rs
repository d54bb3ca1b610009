//! Writing pcap files that Wireshark and tshark open.

use std::cell::RefCell;
use std::io::{BufWriter, Write};
use std::rc::Rc;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

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
        let ts = Duration::new(ts_sec.max(0) as u64, ts_nsec.min(999_999_999));
        let pkt = PcapPacket::new(ts, orig_len.max(data.len() as u32), data);
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
