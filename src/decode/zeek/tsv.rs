//! Zeek's default ASCII (TSV) writer.
//!
//! A header block opens every file: `#separator` (written with the separator escaped, e.g.
//! `#separator \x09`, because the separator is not known yet), then separator-delimited
//! `#set_separator`, `#empty_field`, `#unset_field`, `#path`, `#open`, `#fields` and `#types`.
//! Data lines follow; `#close` ends the block. Concatenated or rotated files hold several
//! blocks, and each `#separator` starts a new one with a fresh layout.
//!
//! Values: the unset marker (`-`) means the field has no value (kept as JSON null in
//! `original`), the empty marker (`(empty)`) an empty string, set or vector. The writer
//! escapes non-printable bytes and separator characters as `\xNN` and backslashes as `\\`;
//! a value that would read as a marker is escaped too, so markers are compared before
//! unescaping. Container types (`set[...]`, `vector[...]`) are split on the set separator
//! into JSON arrays typed by their element type.

use std::borrow::Cow;

use serde_json::Value as J;

use super::{LogType, Record, Slots, normalize};
use crate::decode::{Context, DecodeError, Decoder, Sink};
use crate::event::{Event, parse_epoch_seconds};

/// Confidence that `head` is a Zeek TSV log: the writer always starts with `#separator`.
pub fn detect(_name: &str, head: &[u8]) -> u8 {
    if head.starts_with(b"#separator") {
        100
    } else if (head.starts_with(b"#fields\t") || head.starts_with(b"#path\t"))
        && memchr::memmem::find(head, b"\n#types\t").is_some()
    {
        // A header block someone cut the first lines off.
        80
    } else {
        0
    }
}

/// How a column's values are typed (from `#types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    /// `count` (and `port`): unsigned.
    Count,
    /// `int`.
    Int,
    /// `time`, `interval`, `double`: fractional.
    Double,
    /// `bool`: `T` / `F`.
    Bool,
    /// `string`, `addr`, `subnet`, `enum`, `pattern` and anything unknown.
    Str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ColType {
    scalar: Scalar,
    /// `set[...]` or `vector[...]`.
    container: bool,
}

impl ColType {
    const STR: ColType = ColType {
        scalar: Scalar::Str,
        container: false,
    };

    fn parse(t: &str) -> ColType {
        let (inner, container) = match t
            .strip_prefix("set[")
            .or_else(|| t.strip_prefix("vector["))
            .and_then(|r| r.strip_suffix(']'))
        {
            Some(inner) => (inner, true),
            None => (t, false),
        };
        let scalar = match inner {
            "count" | "port" => Scalar::Count,
            "int" => Scalar::Int,
            "time" | "interval" | "double" => Scalar::Double,
            "bool" => Scalar::Bool,
            _ => Scalar::Str,
        };
        ColType { scalar, container }
    }
}

/// Per-file state: the current header block.
#[derive(Debug)]
pub struct TsvDecoder {
    sep: String,
    set_sep: String,
    empty: String,
    unset: String,
    path: Option<String>,
    fields: Vec<String>,
    types: Vec<ColType>,
    slots: Slots,
    ts_col: Option<usize>,
    ty: LogType,
    dataset: String,
    /// Scratch: field boundaries of the current line (reused to avoid an allocation per line).
    cuts: Vec<(usize, usize)>,
}

impl Default for TsvDecoder {
    fn default() -> Self {
        let ty = LogType::Other("unknown".into());
        TsvDecoder {
            sep: "\t".into(),
            set_sep: ",".into(),
            empty: "(empty)".into(),
            unset: "-".into(),
            path: None,
            fields: Vec::new(),
            types: Vec::new(),
            slots: Slots::default(),
            ts_col: None,
            dataset: ty.dataset(),
            ty,
            cuts: Vec::new(),
        }
    }
}

impl Decoder for TsvDecoder {
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
        let line = crate::decode::text(record, out);
        if line.starts_with('#') {
            self.header(&line, offset, out);
        } else {
            match self.data(&line, offset, ctx) {
                Ok(ev) => out.events.push(ev),
                Err(e) => out.errors.push(e),
            }
        }
    }
}

impl TsvDecoder {
    fn header(&mut self, line: &str, offset: u64, out: &mut Sink) {
        if let Some(rest) = line.strip_prefix("#separator") {
            // A new block: forget the previous layout.
            *self = TsvDecoder {
                cuts: std::mem::take(&mut self.cuts),
                ..TsvDecoder::default()
            };
            let sep = unescape(rest.trim_start_matches([' ', '\t']));
            if sep.is_empty() {
                out.errors
                    .push(DecodeError::malformed(offset, "empty #separator"));
            } else {
                self.sep = sep.into_owned();
            }
            return;
        }
        let (key, rest) = line.split_once(self.sep.as_str()).unwrap_or((line, ""));
        match key {
            "#set_separator" => self.set_sep = unescape(rest).into_owned(),
            "#empty_field" => self.empty = unescape(rest).into_owned(),
            "#unset_field" => self.unset = unescape(rest).into_owned(),
            "#path" => {
                self.path = Some(unescape(rest).into_owned());
                self.relayout();
            }
            "#fields" => {
                self.fields = rest.split(self.sep.as_str()).map(str::to_string).collect();
                if self.types.len() != self.fields.len() {
                    self.types.clear();
                }
                self.relayout();
            }
            "#types" => {
                self.types = rest.split(self.sep.as_str()).map(ColType::parse).collect();
                if !self.fields.is_empty() && self.types.len() != self.fields.len() {
                    out.errors.push(DecodeError::malformed(
                        offset,
                        format!(
                            "#types has {} columns where #fields has {}; treating values as strings",
                            self.types.len(),
                            self.fields.len()
                        ),
                    ));
                    self.types.clear();
                }
            }
            // #open / #close timestamps and any other comment line carry no record.
            _ => {}
        }
    }

    /// Recompute what the normalization needs after `#path` or `#fields` changed.
    fn relayout(&mut self) {
        self.slots = Slots::from_names(self.fields.iter().map(String::as_str));
        self.ts_col = self.slots.get(super::Key::Ts);
        self.ty = match &self.path {
            Some(p) => LogType::from_path(p),
            None => LogType::infer(&self.slots),
        };
        self.dataset = self.ty.dataset();
    }

    fn data(&mut self, line: &str, offset: u64, ctx: &Context) -> Result<Event, DecodeError> {
        if self.fields.is_empty() {
            return Err(DecodeError::malformed(
                offset,
                "data line before any #fields header",
            ));
        }
        split(line, &self.sep, &mut self.cuts);
        if self.cuts.len() != self.fields.len() {
            return Err(DecodeError::malformed(
                offset,
                format!(
                    "{} fields where the #fields header has {}",
                    self.cuts.len(),
                    self.fields.len()
                ),
            ));
        }
        let field = |i: usize| -> &str {
            self.cuts
                .get(i)
                .and_then(|&(a, b)| line.get(a..b))
                .unwrap_or("")
        };
        let ts_text = self.ts_col.map(field);
        let Some(ts) = ts_text.and_then(parse_epoch_seconds) else {
            return Err(DecodeError::Timestamp {
                offset,
                reason: match ts_text {
                    Some(t) => format!("`ts` is {t:?}"),
                    None => "no `ts` column in #fields".into(),
                },
            });
        };
        let mut original = Vec::with_capacity(self.fields.len());
        for (i, name) in self.fields.iter().enumerate() {
            let ty = self.types.get(i).copied().unwrap_or(ColType::STR);
            original.push((name.clone(), self.value(field(i), ty)));
        }
        let mut ev = Event::new(ts);
        normalize(
            &self.ty,
            &self.dataset,
            &Record {
                fields: &original,
                slots: &self.slots,
            },
            &mut ev,
        );
        ev.original = original;
        ev.set_raw(line);
        ctx.stamp(&mut ev, offset);
        Ok(ev)
    }

    /// A field's text as a typed JSON value.
    fn value(&self, raw: &str, ty: ColType) -> J {
        if raw == self.unset {
            return J::Null;
        }
        if ty.container {
            if raw == self.empty {
                return J::Array(Vec::new());
            }
            return J::Array(
                raw.split(self.set_sep.as_str())
                    .map(|e| {
                        if e == self.unset {
                            J::Null
                        } else {
                            scalar(e, ty.scalar)
                        }
                    })
                    .collect(),
            );
        }
        if raw == self.empty {
            return J::String(String::new());
        }
        scalar(raw, ty.scalar)
    }
}

/// One value by its scalar type; text that does not parse as its type is kept as a string.
fn scalar(raw: &str, ty: Scalar) -> J {
    let parsed = match ty {
        Scalar::Count => raw.parse::<u64>().ok().map(J::from),
        Scalar::Int => raw.parse::<i64>().ok().map(J::from),
        Scalar::Double => raw
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(J::from),
        Scalar::Bool => match raw {
            "T" => Some(J::Bool(true)),
            "F" => Some(J::Bool(false)),
            _ => None,
        },
        Scalar::Str => None,
    };
    parsed.unwrap_or_else(|| J::String(unescape(raw).into_owned()))
}

/// Field boundaries of `line` split on `sep` (non-empty) into `cuts`.
fn split(line: &str, sep: &str, cuts: &mut Vec<(usize, usize)>) {
    cuts.clear();
    let bytes = line.as_bytes();
    let mut start = 0;
    if let [b] = sep.as_bytes() {
        for i in memchr::memchr_iter(*b, bytes) {
            cuts.push((start, i));
            start = i + 1;
        }
    } else {
        let finder = memchr::memmem::Finder::new(sep.as_bytes());
        for i in finder.find_iter(bytes) {
            if i >= start {
                cuts.push((start, i));
                start = i + sep.len();
            }
        }
    }
    cuts.push((start, bytes.len()));
}

/// Undo the writer's escaping: `\xNN` is a byte, `\\` a backslash; any other backslash is
/// literal. Bytes that do not form UTF-8 are replaced.
fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            match (b.get(i + 1), b.get(i + 2), b.get(i + 3)) {
                (Some(b'x'), Some(&h), Some(&l))
                    if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() =>
                {
                    out.push(hex(h) << 4 | hex(l));
                    i += 4;
                    continue;
                }
                (Some(b'\\'), _, _) => {
                    out.push(b'\\');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testing::{ctx, decode_ok};
    use crate::decode::zeek::TSV_FORMAT;
    use crate::event::Field;

    const HEAD: &str =
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n";

    fn tsv(path: &str, fields: &str, types: &str, rows: &[&str]) -> Vec<u8> {
        let mut s = format!(
            "{HEAD}#path\t{path}\n#open\t2024-03-02-10-00-00\n#fields\t{fields}\n#types\t{types}\n"
        );
        for r in rows {
            s.push_str(r);
            s.push('\n');
        }
        s.push_str("#close\t2024-03-02-11-00-00\n");
        s.into_bytes()
    }

    const CONN_F: &str = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\tconn_state\ttunnel_parents";
    const CONN_T: &str =
        "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tstring\tset[string]";

    #[test]
    fn conn_records_are_typed_and_normalized() {
        let evs = decode_ok(
            &TSV_FORMAT,
            &tsv(
                "conn",
                CONN_F,
                CONN_T,
                &[
                    "1709373600.123456\tCa1\t10.1.2.3\t50110\t10.1.9.9\t445\ttcp\tgssapi,smb\t1.5\tSF\t(empty)",
                    "1709373601.000001\tCa2\t10.1.2.3\t50111\t10.1.9.9\t3389\ttcp\t-\t-\tS0\tCx,Cy",
                ],
            ),
        );
        assert_eq!(evs.len(), 2);
        let e = &evs[0];
        assert_eq!(e.timestamp, 1_709_373_600_123_456_000);
        assert_eq!(e.str(Field::EventDataset), Some("zeek.conn"));
        assert_eq!(e.str(Field::EventModule), Some("zeek"));
        assert_eq!(e.str(Field::EventAction), Some("connection"));
        assert_eq!(e.str(Field::EventOutcome), Some("success"));
        assert_eq!(e.str(Field::NetworkProtocol), Some("smb"));
        assert_eq!(e.str(Field::NetworkTransport), Some("tcp"));
        assert_eq!(e.int(Field::DestinationPort), Some(445));
        assert_eq!(e.ip(Field::SourceIp), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(e.original("id.orig_p"), Some(&serde_json::json!(50110)));
        assert_eq!(e.original("duration"), Some(&serde_json::json!(1.5)));
        assert_eq!(e.original("tunnel_parents"), Some(&serde_json::json!([])));
        let f = &evs[1];
        assert_eq!(f.str(Field::EventOutcome), Some("failure"));
        assert_eq!(f.original("service"), Some(&J::Null));
        assert_eq!(
            f.original("tunnel_parents"),
            Some(&serde_json::json!(["Cx", "Cy"]))
        );
    }

    #[test]
    fn values_are_unescaped() {
        let evs = decode_ok(
            &TSV_FORMAT,
            &tsv(
                "smb_mapping",
                "ts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tpath\tshare_type\tnote",
                "time\taddr\tport\taddr\tport\tstring\tstring\tstring",
                &[
                    "1709373600.5\t10.1.2.3\t50110\t10.1.9.9\t445\t\\\\\\\\FS01\\\\C$\tDISK\ta\\x09b\\x2d\\xc3\\xa9\\q",
                    "1709373600.6\t10.1.2.3\t50110\t10.1.9.9\t445\t\\x2d\t(empty)\t-",
                ],
            ),
        );
        let e = &evs[0];
        assert_eq!(e.str(Field::FilePath), Some("\\\\FS01\\C$"));
        assert_eq!(e.str(Field::DestinationDomain), Some("FS01"));
        assert_eq!(e.str(Field::EventAction), Some("smb-mapping"));
        assert_eq!(e.str(Field::NetworkProtocol), Some("smb"));
        assert_eq!(e.original_str("note").as_deref(), Some("a\tb-é\\q"));
        // An escaped marker is the literal text, not the marker.
        assert_eq!(evs[1].original_str("path").as_deref(), Some("-"));
        assert_eq!(evs[1].original_str("share_type").as_deref(), Some(""));
        assert_eq!(evs[1].original("note"), Some(&J::Null));
    }

    #[test]
    fn auth_logs() {
        let evs = decode_ok(
            &TSV_FORMAT,
            &tsv(
                "kerberos",
                "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\trequest_type\tclient\tservice\tsuccess\terror_msg",
                "time\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tbool\tstring",
                &[
                    "1709373600.5\tC1\t10.1.2.3\t50110\t10.1.0.10\t88\tTGS\tjsmith/CORP.EXAMPLE\tcifs/fs01.corp.example\tF\tKDC_ERR_BADOPTION",
                ],
            ),
        );
        let e = &evs[0];
        assert_eq!(e.str(Field::UserName), Some("jsmith"));
        assert_eq!(e.str(Field::UserDomain), Some("CORP.EXAMPLE"));
        assert_eq!(e.str(Field::ServiceName), Some("cifs/fs01.corp.example"));
        assert_eq!(e.str(Field::EventOutcome), Some("failure"));
        assert_eq!(e.str(Field::EventAction), Some("tgs-request"));
        assert_eq!(e.str(Field::AuthPackage), Some("Kerberos"));
        assert_eq!(e.str(Field::Message), Some("KDC_ERR_BADOPTION"));

        let evs = decode_ok(
            &TSV_FORMAT,
            &tsv(
                "ntlm",
                "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tusername\thostname\tdomainname\tserver_nb_computer_name\tserver_dns_computer_name\tserver_tree_name\tsuccess",
                "time\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\tstring\tstring\tbool",
                &[
                    "1709373600.5\tC1\t10.1.2.3\t50110\t10.1.0.20\t445\tadm_kb\tWKS-07\tCORP\tFS01\tfs01.corp.example\tcorp.example\tT",
                ],
            ),
        );
        let e = &evs[0];
        assert_eq!(e.str(Field::UserName), Some("adm_kb"));
        assert_eq!(e.str(Field::UserDomain), Some("CORP"));
        assert_eq!(e.str(Field::SourceDomain), Some("WKS-07"));
        assert_eq!(e.str(Field::DestinationDomain), Some("fs01.corp.example"));
        assert_eq!(e.str(Field::EventOutcome), Some("success"));
        assert_eq!(e.str(Field::AuthPackage), Some("NTLM"));
    }

    #[test]
    fn generic_logs_keep_their_endpoints() {
        let evs = decode_ok(
            &TSV_FORMAT,
            &tsv(
                "software",
                "ts\thost\thost_p\tsoftware_type\tname\tversion.major\tunparsed_version",
                "time\taddr\tport\tenum\tstring\tcount\tstring",
                &["1709373600.5\t10.1.9.9\t22\tSSH::SERVER\tOpenSSH\t9\tOpenSSH_9.6"],
            ),
        );
        let e = &evs[0];
        assert_eq!(e.str(Field::EventDataset), Some("zeek.software"));
        assert_eq!(e.ip(Field::SourceIp), Some("10.1.9.9".parse().unwrap()));
        assert_eq!(e.int(Field::SourcePort), Some(22));
        assert_eq!(e.original("version.major"), Some(&serde_json::json!(9)));
    }

    #[test]
    fn a_new_block_resets_the_layout() {
        let mut input = tsv(
            "weird",
            "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tname\taddl\tnotice\tpeer",
            "time\tstring\taddr\tport\taddr\tport\tstring\tstring\tbool\tstring",
            &["1709373600.5\t-\t-\t-\t-\t-\tbad_TCP_checksum\t-\tF\tzeek"],
        );
        input.extend(tsv(
            "dce_rpc",
            "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\trtt\tnamed_pipe\tendpoint\toperation",
            "time\tstring\taddr\tport\taddr\tport\tinterval\tstring\tstring\tstring",
            &["1709373700.5\tC9\t10.1.2.3\t50200\t10.1.9.9\t445\t0.001\t\\\\pipe\\\\atsvc\tatsvc\tJobAdd"],
        ));
        let evs = decode_ok(&TSV_FORMAT, &input);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].str(Field::EventAction), Some("bad_TCP_checksum"));
        assert_eq!(evs[0].str(Field::EventDataset), Some("zeek.weird"));
        assert_eq!(evs[1].str(Field::EventDataset), Some("zeek.dce_rpc"));
        assert_eq!(evs[1].str(Field::ServiceName), Some("atsvc"));
        assert_eq!(evs[1].str(Field::EventAction), Some("JobAdd"));
        assert_eq!(
            evs[1].original_str("named_pipe").as_deref(),
            Some("\\pipe\\atsvc")
        );
    }

    #[test]
    fn other_separators() {
        let input = b"#separator \\x2c\n#set_separator,|\n#unset_field,-\n#fields,ts,id.orig_h,id.orig_p,id.resp_h,id.resp_p,tags\n#types,time,addr,port,addr,port,set[string]\n1709373600.5,10.0.0.1,1,10.0.0.2,2,a|b\\x2cc\n";
        let evs = decode_ok(&TSV_FORMAT, input);
        assert_eq!(evs.len(), 1);
        assert_eq!(
            evs[0].original("tags"),
            Some(&serde_json::json!(["a", "b,c"]))
        );
        assert_eq!(evs[0].str(Field::EventDataset), Some("zeek.unknown"));
    }

    #[test]
    fn malformed_lines_are_errors() {
        let input = format!(
            "1709373600.5\tx\n{HEAD}#fields\tts\tuid\n#types\ttime\tstring\n1\t2\t3\nnot-a-time\tC1\n\u{1}\u{ff}\n1709373600.5\tC2\n"
        );
        let sink = crate::decode::decode_all(&TSV_FORMAT, input.as_bytes(), &ctx());
        assert_eq!(sink.events.len(), 1);
        let offsets: Vec<u64> = sink.errors.iter().map(DecodeError::offset).collect();
        assert_eq!(sink.errors.len(), 4, "{:?}", sink.errors);
        assert_eq!(offsets[0], 0);
        assert!(matches!(sink.errors[2], DecodeError::Timestamp { .. }));
        // Arbitrary bytes never panic.
        let junk: Vec<u8> = (0..=255u8).cycle().take(4000).collect();
        let _ = crate::decode::decode_all(&TSV_FORMAT, &junk, &ctx());
        let mut with_head = HEAD.as_bytes().to_vec();
        with_head.extend_from_slice(b"#fields\tts\n#types\tset[\n\\x\\\\\\x4\n");
        let _ = crate::decode::decode_all(&TSV_FORMAT, &with_head, &ctx());
    }

    #[test]
    fn detection() {
        assert_eq!(detect("conn.log", HEAD.as_bytes()), 100);
        assert_eq!(detect("x.json", b"{\"ts\":1}"), 0);
        assert_eq!(detect("x.log", b"# comment\n"), 0);
        assert_eq!(
            crate::decode::detect("conn.log", HEAD.as_bytes()).map(|f| f.name),
            Some("zeek-tsv")
        );
    }

    #[test]
    fn unescape_edge_cases() {
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape("\\x41\\x4a"), "AJ");
        assert_eq!(unescape("\\x4"), "\\x4");
        assert_eq!(unescape("end\\"), "end\\");
        assert_eq!(unescape("\\xff"), "\u{fffd}");
    }
}
