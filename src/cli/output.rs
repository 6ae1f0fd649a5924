//! Printers shared by the headless commands: events as JSON lines or a table, and per-source
//! summaries on stderr. Everything that came from a log is passed through
//! [`crate::event::sanitize`] before it reaches a terminal.

use std::io::{self, Write};

use crate::event::{Event, Field, format_timestamp, sanitize};
use crate::ingest::SourceReport;

/// Prints events as JSON lines or aligned table rows.
pub struct EventPrinter<W: Write> {
    out: W,
    table: bool,
    header_done: bool,
}

impl<W: Write> EventPrinter<W> {
    /// A printer writing to `out`.
    pub fn new(out: W, table: bool) -> Self {
        EventPrinter {
            out,
            table,
            header_done: false,
        }
    }

    /// Print one event.
    pub fn print(&mut self, ev: &Event) -> io::Result<()> {
        if !self.table {
            serde_json::to_writer(&mut self.out, ev)?;
            return self.out.write_all(b"\n");
        }
        if !self.header_done {
            self.header_done = true;
            writeln!(
                self.out,
                "{:<24} {:<22} {:<18} {:<16} {:<44} {:<18} SUMMARY",
                "TIME", "DATASET", "HOST", "USER", "SOURCE → DESTINATION", "ACTION"
            )?;
        }
        writeln!(self.out, "{}", table_row(ev))
    }

    /// Flush buffered output.
    pub fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn endpoint(ev: &Event, ip: Field, port: Field, name: Field) -> String {
    let host = ev
        .ip(ip)
        .map(|i| {
            if i.is_ipv6() && ev.int(port).is_some() {
                format!("[{i}]")
            } else {
                i.to_string()
            }
        })
        .or_else(|| ev.str(name).map(str::to_string))
        .unwrap_or_default();
    match (host.is_empty(), ev.int(port)) {
        (false, Some(p)) => format!("{host}:{p}"),
        (true, Some(p)) => format!(":{p}"),
        _ => host,
    }
}

/// One table row: time, dataset, host, user, flow, action, summary.
pub fn table_row(ev: &Event) -> String {
    let ts = format_timestamp(ev.timestamp);
    let ts = ts.get(..23).map_or(ts.clone(), |t| format!("{t}Z"));
    let src = endpoint(ev, Field::SourceIp, Field::SourcePort, Field::SourceDomain);
    let dst = endpoint(
        ev,
        Field::DestinationIp,
        Field::DestinationPort,
        Field::DestinationDomain,
    );
    let flow = match (src.is_empty(), dst.is_empty()) {
        (true, true) => String::new(),
        _ => format!("{src} → {dst}"),
    };
    let user = match (ev.str(Field::UserDomain), ev.str(Field::UserName)) {
        (Some(d), Some(u)) => format!("{d}\\{u}"),
        (None, Some(u)) => u.to_string(),
        _ => String::new(),
    };
    let action = match (ev.str(Field::EventCode), ev.str(Field::EventAction)) {
        (Some(c), Some(a)) => format!("{c} {a}"),
        (Some(c), None) => c.to_string(),
        (None, Some(a)) => a.to_string(),
        (None, None) => String::new(),
    };
    let summary = [
        Field::ProcessCommandLine,
        Field::ProcessExecutable,
        Field::FilePath,
        Field::DnsQuestionName,
        Field::UrlFull,
        Field::ServiceName,
        Field::RuleName,
        Field::Message,
    ]
    .iter()
    .find_map(|f| ev.str(*f))
    .unwrap_or("");
    format!(
        "{:<24} {:<22} {:<18} {:<16} {:<44} {:<18} {}",
        ts,
        sanitize(ev.str(Field::EventDataset).unwrap_or(""), 22),
        sanitize(ev.str(Field::HostName).unwrap_or(""), 18),
        sanitize(&user, 16),
        sanitize(&flow, 44),
        sanitize(&action, 18),
        sanitize(summary, 120),
    )
}

/// Per-source summary lines on stderr, and a total at the end.
pub struct SummaryPrinter {
    enabled: bool,
    sources: u64,
    unreadable: u64,
    events: u64,
    errors: u64,
}

impl SummaryPrinter {
    /// A summary printer; `enabled == false` prints nothing.
    pub fn new(enabled: bool) -> Self {
        SummaryPrinter {
            enabled,
            sources: 0,
            unreadable: 0,
            events: 0,
            errors: 0,
        }
    }

    /// Report one finished source.
    pub fn add(&mut self, r: SourceReport) {
        self.sources += 1;
        self.events += r.events;
        self.errors += r.errors;
        if !r.readable() {
            self.unreadable += 1;
        }
        if !self.enabled {
            return;
        }
        eprintln!("{}", summary_line(&r));
    }

    /// Print the totals.
    pub fn finish(&self) {
        if self.enabled && self.sources > 0 {
            eprintln!(
                "{} source(s), {} event(s), {} record error(s), {} unreadable",
                self.sources, self.events, self.errors, self.unreadable
            );
        }
    }
}

/// `path  format  N events  M errors  [first error | failure]`.
pub fn summary_line(r: &SourceReport) -> String {
    let status = if r.readable() { "ok  " } else { "FAIL" };
    let mut line = format!(
        "{status} {}  [{}]  {} events  {} errors",
        sanitize(&r.path, 200),
        r.format.unwrap_or("?"),
        r.events,
        r.errors
    );
    if r.lossy > 0 {
        line.push_str(&format!("  {} lossy UTF-8", r.lossy));
    }
    if let Some(f) = &r.failure {
        line.push_str(&format!("\n     {}", sanitize(f, 300)));
    }
    if let Some(e) = &r.first_error {
        line.push_str(&format!("\n     first error: {}", sanitize(e, 300)));
    }
    line
}

/// `lateral formats`.
pub fn print_formats() {
    println!("{:<14} {:<16} DESCRIPTION", "NAME", "FRAMING");
    for f in crate::decode::FORMATS {
        println!(
            "{:<14} {:<16} {}",
            f.name,
            format!("{:?}", f.framing).to_lowercase(),
            f.description
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_escape_untrusted_text() {
        let mut ev = Event::new(0);
        ev.set(Field::EventDataset, "zeek.conn");
        ev.set(Field::ProcessCommandLine, "evil \x1b]0;pwned\x07 \x1b[2J");
        ev.set(Field::SourceIp, "10.0.0.1");
        ev.set(Field::DestinationIp, "10.0.0.2");
        ev.set(Field::DestinationPort, 445i64);
        let row = table_row(&ev);
        assert!(!row.contains('\x1b') && !row.contains('\x07'), "{row:?}");
        assert!(row.contains("10.0.0.1 → 10.0.0.2:445"));
        assert!(row.contains("\\x1b]0;pwned"));
    }

    #[test]
    fn json_lines_are_one_line_each() {
        let mut buf = Vec::new();
        let mut p = EventPrinter::new(&mut buf, false);
        let mut ev = Event::new(0);
        ev.set(Field::Message, "a\nb");
        p.print(&ev).unwrap();
        p.print(&ev).unwrap();
        p.finish().unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.lines().count(), 2);
        for l in text.lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
    }
}
