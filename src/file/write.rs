//! Writing pcap files that Wireshark and tshark open.

use std::io::Write;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

/// A pcap writer with nanosecond timestamps. Each frame is written as one
/// whole record, so a reader sees a valid file up to the last complete one.
pub struct PcapFileWriter<W: Write> {
    inner: PcapWriter<W>,
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
        let inner = PcapWriter::with_header(out, header).map_err(std::io::Error::other)?;
        Ok(Self { inner })
    }

    /// Writes one frame. `orig_len` is its length on the wire.
    pub fn write(
        &mut self,
        ts_sec: i64,
        ts_nsec: u32,
        orig_len: u32,
        data: &[u8],
    ) -> std::io::Result<()> {
        let ts = Duration::new(ts_sec.max(0) as u64, ts_nsec.min(999_999_999));
        let pkt = PcapPacket::new(ts, orig_len.max(data.len() as u32), data);
        self.inner
            .write_packet(&pkt)
            .map(|_| ())
            .map_err(std::io::Error::other)
    }

    pub fn into_inner(self) -> W {
        self.inner.into_writer()
    }
}
