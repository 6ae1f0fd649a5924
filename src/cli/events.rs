//! `lateral events`: decode inputs and print normalized events.

use std::io::Write;
use std::ops::ControlFlow;
use std::process::ExitCode;

use super::output::{EventPrinter, SummaryPrinter};
use super::{EventsArgs, EventsOutput};
use crate::event::Event;
use crate::ingest::SourceReport;
use crate::ingest::batch::{self, BatchSink};

struct Printer<W: Write> {
    events: EventPrinter<W>,
    summary: SummaryPrinter,
    limit: Option<u64>,
    printed: u64,
    /// Set when stdout is gone (closed pipe): stop quietly.
    closed: bool,
    any_unreadable: bool,
}

impl<W: Write> BatchSink for Printer<W> {
    fn event(&mut self, event: Event) -> ControlFlow<()> {
        if self.limit.is_some_and(|l| self.printed >= l) {
            return ControlFlow::Break(());
        }
        if self.events.print(&event).is_err() {
            self.closed = true;
            return ControlFlow::Break(());
        }
        self.printed += 1;
        if self.limit.is_some_and(|l| self.printed >= l) {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn source_done(&mut self, report: SourceReport) {
        self.any_unreadable |= !report.readable();
        self.summary.add(report);
    }
}

/// Run `lateral events`.
pub fn run(args: &EventsArgs) -> anyhow::Result<ExitCode> {
    let opts = args.input.batch_options()?;
    let stdout = std::io::stdout().lock();
    let mut printer = Printer {
        events: EventPrinter::new(
            std::io::BufWriter::with_capacity(256 * 1024, stdout),
            args.output == EventsOutput::Table,
        ),
        summary: SummaryPrinter::new(!args.quiet),
        limit: args.limit,
        printed: 0,
        closed: false,
        any_unreadable: false,
    };
    let flow = batch::read_paths(&args.input.paths, &opts, &mut printer);
    let flushed = printer.events.finish();
    if flushed.is_err() {
        printer.closed = true;
    }
    printer.summary.finish();
    let stopped_strict = flow.is_break() && args.input.strict && printer.any_unreadable;
    Ok(if printer.any_unreadable || stopped_strict {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
