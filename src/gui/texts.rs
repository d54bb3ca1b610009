//! Many short texts (the packet list's info column, conversation messages)
//! kept deflate-compressed in blocks, so a million rows cost a few bytes of
//! text each (info lines of similar packets compress about tenfold). Only
//! the rows on screen are ever decompressed.

use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};

/// Texts per compressed block.
const BLOCK: usize = 256;
/// Decompressed blocks kept for reuse (a sorted list on screen touches a few dozen).
const CACHE: usize = 64;

/// One decompressed block: the texts' ends, then their bytes.
struct Block {
    ends: Vec<u32>,
    text: String,
}

impl Block {
    /// Text `k`: from after the previous NUL to its own.
    fn get(&self, k: usize) -> &str {
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize + 1 };
        self.ends.get(k).and_then(|&end| self.text.get(start..end as usize)).unwrap_or_default()
    }
}

#[derive(Default)]
pub struct TextStore {
    /// Full blocks, compressed: `BLOCK` texts, each ended by a NUL.
    packed: Vec<Box<[u8]>>,
    /// The block being filled, uncompressed.
    open: Block,
    cache: Mutex<Vec<(usize, Arc<Block>)>>,
}

impl Default for Block {
    fn default() -> Self {
        Block { ends: Vec::with_capacity(BLOCK), text: String::new() }
    }
}

impl TextStore {
    pub fn push(&mut self, s: &str) {
        // NUL ends each text in a packed block; a NUL inside one is shown as ␀.
        if s.contains('\0') {
            self.open.text.push_str(&s.replace('\0', "\u{2400}"));
        } else {
            self.open.text.push_str(s);
        }
        self.open.text.push('\0');
        self.open.ends.push(self.open.text.len() as u32 - 1);
        if self.open.ends.len() == BLOCK {
            self.packed.push(deflate(self.open.text.as_bytes()).into_boxed_slice());
            self.open.ends.clear();
            self.open.text.clear();
        }
    }

    /// Text `i`, or "" if there is none.
    pub fn get(&self, i: usize) -> String {
        let (b, k) = (i / BLOCK, i % BLOCK);
        if b == self.packed.len() {
            return if k < self.open.ends.len() { self.open.get(k).to_string() } else { String::new() };
        }
        self.block(b).map(|blk| blk.get(k).to_string()).unwrap_or_default()
    }

    fn block(&self, b: usize) -> Option<Arc<Block>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = cache.iter().position(|(n, _)| *n == b) {
            let hit = cache.remove(pos);
            cache.push(hit.clone());
            return Some(hit.1);
        }
        let mut raw = Vec::new();
        flate2::read::DeflateDecoder::new(&self.packed.get(b)?[..]).read_to_end(&mut raw).ok()?;
        let ends = raw.iter().enumerate().filter(|(_, c)| **c == 0).map(|(i, _)| i as u32).collect();
        let blk = Arc::new(Block { ends, text: String::from_utf8(raw).ok()? });
        if cache.len() == CACHE {
            cache.remove(0);
        }
        cache.push((b, blk.clone()));
        Some(blk)
    }

    /// Texts held.
    pub fn len(&self) -> usize {
        self.packed.len() * BLOCK + self.open.ends.len()
    }

    /// Takes the full (packed) blocks out, leaving the open one: a store of
    /// `BLOCK`-multiple texts that [`TextStore::append`] adds without
    /// unpacking them.
    pub fn take_packed(&mut self) -> TextStore {
        TextStore { packed: std::mem::take(&mut self.packed), ..TextStore::default() }
    }

    /// Adds another store's texts after this one's. Packed blocks are moved
    /// as they are when this store's open block is empty; otherwise each
    /// text is pushed again.
    pub fn append(&mut self, other: TextStore) {
        if self.open.ends.is_empty() {
            self.packed.extend(other.packed);
            for k in 0..other.open.ends.len() {
                self.push(other.open.get(k));
            }
        } else {
            for i in 0..other.len() {
                self.push(&other.get(i));
            }
        }
    }

    /// Bytes held, compressed and open (for the memory figures).
    pub fn heap_bytes(&self) -> usize {
        self.packed.iter().map(|p| p.len() + std::mem::size_of::<Box<[u8]>>()).sum::<usize>()
            + self.open.text.capacity()
            + BLOCK * 4
    }
}

fn deflate(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::with_capacity(raw.len() / 4), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = e.write_all(raw);
    e.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_stores_read_as_one_whether_blocks_move_or_texts_are_pushed_again() {
        let texts: Vec<String> = (0..1000).map(|i| format!("text {i} {}", "x".repeat(i % 7))).collect();
        // A writer that hands over its full blocks now and then, as the
        // loading thread does, then everything at the end.
        let (mut whole, mut writer) = (TextStore::default(), TextStore::default());
        for (i, t) in texts.iter().enumerate() {
            writer.push(t);
            if i % 300 == 299 {
                whole.append(writer.take_packed());
            }
        }
        whole.append(std::mem::take(&mut writer));
        assert_eq!(whole.len(), texts.len());
        // A store whose open block is not empty takes texts one by one.
        let mut odd = TextStore::default();
        odd.push("first");
        odd.append(whole);
        assert_eq!(odd.len(), texts.len() + 1);
        assert_eq!(odd.get(0), "first");
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(&odd.get(i + 1), t, "text {i}");
        }
    }

    #[test]
    fn texts_come_back_across_blocks_and_the_open_one() {
        let mut s = TextStore::default();
        let texts: Vec<String> = (0..10_000)
            .map(|i| format!("{} → 9001 [ACK] Seq={} Ack=1 Win=65536 Len=0", 40000 + i / 50, i * 7))
            .collect();
        for t in &texts {
            s.push(t);
        }
        s.push("");
        s.push("a\0b");
        for i in [0, 1, 255, 256, 257, 5000, 9999] {
            assert_eq!(s.get(i), texts[i]);
        }
        assert_eq!(s.get(10_000), "");
        assert_eq!(s.get(10_001), "a\u{2400}b");
        assert_eq!(s.get(50_000), "");
        // Compressed: well under the texts' own size.
        let raw: usize = texts.iter().map(String::len).sum();
        assert!(s.heap_bytes() < raw / 3, "{} of {raw}", s.heap_bytes());
    }
}
