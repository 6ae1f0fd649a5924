//! Framing: cutting a byte stream into records, independent of what the records mean.
//!
//! The [`Framer`] is incremental: feed it chunks as they are read (batch or live tail) and it
//! calls back with each complete record and its byte offset in the stream. A partial record at
//! the end of a chunk is held until the rest arrives or [`Framer::finish`] is called. Records
//! longer than the limit are reported once as [`Frame::TooLong`] and skipped without being
//! buffered, so a 10 MB line costs no more memory than the limit.

use super::Framing;

/// Largest record kept, in bytes (1 MiB).
pub const MAX_RECORD: usize = 1 << 20;

/// One framed unit.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete record (without its line terminator) starting at `offset`.
    Record {
        /// Byte offset of the record's first byte.
        offset: u64,
        /// The record.
        bytes: &'a [u8],
    },
    /// A record over the limit, skipped.
    TooLong {
        /// Byte offset of the record's first byte.
        offset: u64,
        /// Bytes seen when it was given up (at least the limit).
        len: usize,
    },
}

/// Incremental framer for [`Framing::Lines`] and [`Framing::JsonDocuments`].
#[derive(Debug)]
pub struct Framer {
    framing: Framing,
    limit: usize,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    /// Skipping an over-long record until its end.
    skipping: bool,
    json: JsonScan,
}

/// Scanner state for JSON document framing (brace depth outside strings).
#[derive(Debug, Default, Clone)]
struct JsonScan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Index in `buf` up to which bytes were scanned.
    scanned: usize,
    /// Index in `buf` where the current document starts, once its `{` or `[` is seen.
    start: Option<usize>,
}

impl Framer {
    /// A framer for `framing` with a record size limit.
    pub fn new(framing: Framing, limit: usize) -> Self {
        Framer {
            framing,
            limit,
            buf: Vec::new(),
            buf_offset: 0,
            skipping: false,
            json: JsonScan::default(),
        }
    }

    /// Start at stream offset `offset` (resuming from a checkpoint).
    pub fn starting_at(mut self, offset: u64) -> Self {
        self.buf_offset = offset;
        self
    }

    /// Stream offset just after the last complete record handed out: a safe checkpoint.
    pub fn committed_offset(&self) -> u64 {
        self.buf_offset
    }

    /// Bytes held waiting for the end of a record.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Feed a chunk; `emit` is called for each complete record.
    pub fn push(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Frame<'_>)) {
        match self.framing {
            Framing::Lines | Framing::Whole => self.push_lines(chunk, emit),
            Framing::JsonDocuments => self.push_json(chunk, emit),
        }
    }

    /// End of input: emit a final record that lacks its terminator.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Frame<'_>)) {
        if self.skipping {
            self.skipping = false;
            self.buf_offset += self.buf.len() as u64;
            self.buf.clear();
            return;
        }
        let rest = std::mem::take(&mut self.buf);
        let offset = self.buf_offset;
        self.buf_offset += rest.len() as u64;
        self.json = JsonScan::default();
        let trimmed = trim_record(&rest);
        if !trimmed.iter().all(u8::is_ascii_whitespace) {
            emit(Frame::Record {
                offset,
                bytes: trimmed,
            });
        }
    }

    fn push_lines(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Frame<'_>)) {
        let mut rest = chunk;
        while !rest.is_empty() {
            match memchr::memchr(b'\n', rest) {
                Some(nl) => {
                    let (line, after) = rest.split_at(nl);
                    let after = &after[1..];
                    if self.skipping {
                        self.buf_offset += (self.buf.len() + line.len() + 1) as u64;
                        self.buf.clear();
                        self.skipping = false;
                    } else if self.buf.is_empty() {
                        self.emit_line(line, emit);
                        self.buf_offset += line.len() as u64 + 1;
                    } else if self.buf.len() + line.len() > self.limit {
                        let len = self.buf.len() + line.len();
                        emit(Frame::TooLong {
                            offset: self.buf_offset,
                            len,
                        });
                        self.buf_offset += len as u64 + 1;
                        self.buf.clear();
                    } else {
                        self.buf.extend_from_slice(line);
                        let held = std::mem::take(&mut self.buf);
                        self.emit_line(&held, emit);
                        self.buf_offset += held.len() as u64 + 1;
                        self.buf = held;
                        self.buf.clear();
                    }
                    rest = after;
                }
                None => {
                    if self.skipping {
                        // Count skipped bytes in buf's length without storing them.
                        self.buf_offset += rest.len() as u64;
                    } else if self.buf.len() + rest.len() > self.limit {
                        emit(Frame::TooLong {
                            offset: self.buf_offset,
                            len: self.buf.len() + rest.len(),
                        });
                        self.buf_offset += (self.buf.len() + rest.len()) as u64;
                        self.buf.clear();
                        self.skipping = true;
                    } else {
                        self.buf.extend_from_slice(rest);
                    }
                    rest = &[];
                }
            }
        }
    }

    fn emit_line(&self, line: &[u8], emit: &mut dyn FnMut(Frame<'_>)) {
        if line.len() > self.limit {
            emit(Frame::TooLong {
                offset: self.buf_offset,
                len: line.len(),
            });
            return;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) {
            emit(Frame::Record {
                offset: self.buf_offset,
                bytes: line,
            });
        }
    }

    fn push_json(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Frame<'_>)) {
        self.buf.extend_from_slice(chunk);
        // `head`: bytes at the front of `buf` already handed out in this call. They are
        // removed once at the end, so many small documents in one chunk cost one move, not
        // one per document (scan positions are absolute indices into `buf` meanwhile).
        let mut head = 0usize;
        loop {
            let s = &mut self.json;
            let mut end = None;
            let mut i = s.scanned.max(head);
            while i < self.buf.len() {
                let b = self.buf[i];
                if s.start.is_none() {
                    match b {
                        b'{' | b'[' => {
                            s.start = Some(i);
                            s.depth = 1;
                        }
                        b'\n' => {
                            // Text between documents that is not JSON: frame it as a line so
                            // the decoder reports it (never silently dropped).
                            let line = &self.buf[head..i];
                            if !line.iter().all(u8::is_ascii_whitespace) {
                                end = Some((head, i, i + 1));
                                break;
                            }
                            // Whitespace only: drop it.
                            self.buf_offset += (i + 1 - head) as u64;
                            head = i + 1;
                        }
                        _ => {}
                    }
                } else if s.in_string {
                    if s.escaped {
                        s.escaped = false;
                    } else if b == b'\\' {
                        s.escaped = true;
                    } else if b == b'"' {
                        s.in_string = false;
                    }
                } else {
                    match b {
                        b'"' => s.in_string = true,
                        b'{' | b'[' => s.depth += 1,
                        b'}' | b']' => {
                            s.depth = s.depth.saturating_sub(1);
                            if s.depth == 0 {
                                let start = s.start.unwrap_or(head);
                                // Swallow the rest of the line if it is only whitespace.
                                let mut next = i + 1;
                                while next < self.buf.len()
                                    && matches!(self.buf[next], b' ' | b'\t' | b'\r')
                                {
                                    next += 1;
                                }
                                if next < self.buf.len() && self.buf[next] == b'\n' {
                                    next += 1;
                                }
                                end = Some((start, i + 1, next));
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            match end {
                Some((start, stop, consumed)) => {
                    let offset = self.buf_offset + (start - head) as u64;
                    let prefix = &self.buf[head..start];
                    if !prefix.iter().all(u8::is_ascii_whitespace) {
                        emit(Frame::Record {
                            offset: self.buf_offset,
                            bytes: trim_record(prefix),
                        });
                    }
                    let rec = &self.buf[start..stop];
                    if rec.len() > self.limit {
                        emit(Frame::TooLong {
                            offset,
                            len: rec.len(),
                        });
                    } else {
                        emit(Frame::Record {
                            offset,
                            bytes: trim_record(rec),
                        });
                    }
                    self.buf_offset += (consumed - head) as u64;
                    head = consumed;
                    self.json = JsonScan {
                        scanned: head,
                        ..JsonScan::default()
                    };
                }
                None => {
                    self.json.scanned = self.buf.len();
                    if self.buf.len() - head > self.limit {
                        emit(Frame::TooLong {
                            offset: self.buf_offset,
                            len: self.buf.len() - head,
                        });
                        // Resynchronise at the next line start.
                        let cut = memchr::memrchr(b'\n', &self.buf[head..])
                            .map_or(self.buf.len(), |p| head + p + 1);
                        self.buf_offset += (cut - head) as u64;
                        head = cut;
                        self.json = JsonScan {
                            scanned: head,
                            ..JsonScan::default()
                        };
                        continue;
                    }
                    break;
                }
            }
        }
        if head > 0 {
            self.buf.drain(..head);
            self.json.scanned = self.json.scanned.saturating_sub(head);
            self.json.start = self.json.start.map(|x| x.saturating_sub(head));
        }
    }
}

fn trim_record(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(framing: Framing, chunks: &[&[u8]], limit: usize) -> Vec<(u64, String)> {
        let mut f = Framer::new(framing, limit);
        let mut out = Vec::new();
        let mut emit = |fr: Frame<'_>| match fr {
            Frame::Record { offset, bytes } => {
                out.push((offset, String::from_utf8_lossy(bytes).into_owned()))
            }
            Frame::TooLong { offset, len } => out.push((offset, format!("TOO LONG {len}"))),
        };
        for c in chunks {
            f.push(c, &mut emit);
        }
        f.finish(&mut emit);
        out
    }

    #[test]
    fn lines_with_offsets_across_chunks() {
        let got = frames(Framing::Lines, &[b"ab\r\ncd", b"e\n\nf"], 100);
        assert_eq!(
            got,
            vec![(0, "ab".into()), (4, "cde".into()), (9, "f".into())]
        );
    }

    #[test]
    fn over_long_lines_are_skipped_and_reported() {
        let got = frames(
            Framing::Lines,
            &[b"ok\n0123456789", b"0123456789\nnext\n"],
            8,
        );
        assert_eq!(
            got,
            vec![
                (0, "ok".into()),
                (3, "TOO LONG 10".into()),
                (24, "next".into())
            ]
        );
        let got = frames(Framing::Lines, &[b"0123456789abc\nz\n"], 8);
        assert_eq!(got, vec![(0, "TOO LONG 13".into()), (14, "z".into())]);
    }

    #[test]
    fn json_documents_pretty_and_lines() {
        let input =
            b"{\n  \"a\": \"}{\",\n  \"b\": [1, {\"c\": 2}]\n}\n{\"d\":1}\n{\"e\":\"x\\\"}\"}";
        let got = frames(Framing::JsonDocuments, &[&input[..7], &input[7..]], 1000);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, 0);
        assert!(got[0].1.ends_with('}'));
        let d_at = input.windows(7).position(|w| w == b"{\"d\":1}").unwrap() as u64;
        assert_eq!(got[1], (d_at, "{\"d\":1}".into()));
        assert_eq!(got[2].1, "{\"e\":\"x\\\"}\"}");
    }

    #[test]
    fn json_framing_reports_stray_text() {
        let got = frames(
            Framing::JsonDocuments,
            &[b"garbage line\n{\"a\":1}\n"],
            1000,
        );
        assert_eq!(
            got,
            vec![(0, "garbage line".into()), (13, "{\"a\":1}".into())]
        );
    }

    #[test]
    fn committed_offset_is_after_last_record() {
        let mut f = Framer::new(Framing::Lines, 100);
        f.push(b"one\ntw", &mut |_| {});
        assert_eq!(f.committed_offset(), 4);
        assert_eq!(f.pending(), 2);
    }
}
