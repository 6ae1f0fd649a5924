//! Screen 5: search. The query runs in the background (`Command::Search`); this draws the
//! input, the hits over time, the hits (only the visible window) and the top values.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::event::{Event, Field};
use crate::tui::input::window_offset;
use crate::tui::model::{Focus, Model};
use crate::tui::text::{self, Align};
use crate::tui::theme::Theme;
use crate::tui::widgets::{
    Column, DataTable, centered_text, column_chart, fit_line, hbar, panel, scrollbar,
};

/// Layout of the search screen.
pub(crate) struct Layout {
    input: Rect,
    histogram: Rect,
    results: Rect,
    /// Header plus hit rows (without the scrollbar column).
    pub table: Rect,
    facets: Rect,
}

impl Layout {
    /// Hit rows shown at once.
    pub fn rows(&self) -> usize {
        usize::from(self.table.height.saturating_sub(1))
    }
}

pub(crate) fn layout(body: Rect) -> Layout {
    let input = Rect::new(body.x, body.y, body.width, 4);
    let rest_y = body.y + 4;
    let rest_h = body.height.saturating_sub(4);
    let facets_w = (body.width * 3 / 10).clamp(24, 40);
    let left_w = body.width.saturating_sub(facets_w);
    let hist_h = if rest_h >= 24 { 6 } else { 5 };
    let histogram = Rect::new(body.x, rest_y, left_w, hist_h);
    let results = Rect::new(
        body.x,
        rest_y + hist_h,
        left_w,
        rest_h.saturating_sub(hist_h),
    );
    let table = Rect::new(
        results.x + 1,
        results.y + 1,
        results.width.saturating_sub(3),
        results.height.saturating_sub(2),
    );
    let facets = Rect::new(body.x + left_w, rest_y, facets_w, rest_h);
    Layout {
        input,
        histogram,
        results,
        table,
        facets,
    }
}

/// Whether a click at (`col`, `row`) is on the query input.
pub(crate) fn input_hit(body: Rect, col: u16, row: u16) -> bool {
    let r = layout(body).input;
    col >= r.x && col < r.right() && row >= r.y && row < r.bottom()
}

/// Only the background of a style (hint text on an input's background).
fn bg_only(s: Style) -> Style {
    s.bg.map_or_else(Style::new, |bg| Style::new().bg(bg))
}

/// Spinner frames for a running search.
const SPIN: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

/// Spinner frame for the time (changes every 120 ms).
pub(crate) fn spinner_frame(now_ms: u64) -> usize {
    ((now_ms / 120) % SPIN.len() as u64) as usize
}

pub(crate) fn render(model: &Model, body: Rect, buf: &mut Buffer) -> Option<Position> {
    let lay = layout(body);
    let cursor = input(model, lay.input, buf);
    histogram(model, lay.histogram, buf);
    results(model, &lay, buf);
    facets(model, lay.facets, buf);
    cursor
}

fn input(model: &Model, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let t = &model.theme;
    let s = &model.search;
    let focused = model.focus == Focus::SearchInput;
    let mut status: Vec<Span<'_>> = Vec::new();
    if s.running {
        status.push(Span::styled(
            format!("{} searching ", SPIN[spinner_frame(model.now_ms)]),
            t.accent,
        ));
    } else if let Some(r) = &s.results {
        status.push(Span::styled(text::thousands(r.total), t.accent));
        status.push(Span::styled(format!(" hits · {} ms ", r.took_ms), t.muted));
    }
    let block = panel(" Search ", t, focused).title_top(Line::from(status).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    let prompt = " › ";
    buf.set_string(inner.x, inner.y, prompt, t.key);
    let x = inner.x + 3;
    let cols = inner.width.saturating_sub(4);
    let (shown, col) = s.input.visible(usize::from(cols));
    buf.set_style(Rect::new(x, inner.y, cols, 1), t.input);
    if shown.is_empty() {
        let hint = if focused {
            "type a query, e.g. user.name:alice AND event.code:4624"
        } else {
            "press / to type a query, e.g. user.name:alice AND event.code:4624"
        };
        buf.set_string(
            x,
            inner.y,
            text::fit(hint, usize::from(cols)),
            t.muted.patch(bg_only(t.input)),
        );
    } else {
        buf.set_string(x, inner.y, &shown, t.input);
    }
    // Second line: the error with a caret under its position, or the range and hints.
    let y = inner.y + 1;
    if let Some((msg, pos)) = &s.error {
        let msg = text::clean(msg);
        let caret_col = pos.map(|p| {
            let before: String = s.input.text().chars().take(p).collect();
            text::width(&text::clean(&before))
        });
        let mut spans = Vec::new();
        if let Some(c) = caret_col.filter(|c| *c < usize::from(cols)) {
            spans.push(Span::raw(" ".repeat(3 + c)));
            spans.push(Span::styled("^ ", t.error));
        } else {
            spans.push(Span::styled(" ✖ ", t.error));
        }
        spans.push(Span::styled(msg.into_owned(), t.error));
        buf.set_line(
            inner.x,
            y,
            &fit_line(&Line::from(spans), usize::from(inner.width), Align::Left),
            inner.width,
        );
    } else {
        let mut spans = vec![Span::raw("   ")];
        match s.range {
            Some((a, b)) => {
                spans.push(Span::styled("range ", t.muted));
                spans.push(Span::raw(text::short_date_time(a)));
                spans.push(Span::styled(" → ", t.muted));
                spans.push(Span::raw(text::short_date_time(b)));
                spans.push(Span::styled("  (x clears)", t.muted));
            }
            None => spans.push(Span::styled("all time", t.muted)),
        }
        if !s.history.is_empty() {
            spans.push(Span::styled(
                format!("  ·  {} in history (↑↓ while editing)", s.history.len()),
                t.muted,
            ));
        }
        buf.set_line(
            inner.x,
            y,
            &fit_line(&Line::from(spans), usize::from(inner.width), Align::Left),
            inner.width,
        );
    }
    focused.then(|| Position::new(x + col as u16, inner.y))
}

fn histogram(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let block = panel(" Hits over time ", t, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(r) = model
        .search
        .results
        .as_ref()
        .filter(|r| !r.histogram.is_empty())
    else {
        centered_text(
            buf,
            inner,
            &[Line::from(Span::styled("no hits to chart", t.muted))],
        );
        return;
    };
    let chart_rows = usize::from(inner.height.saturating_sub(1)).max(1);
    let w = usize::from(inner.width.saturating_sub(2));
    // Fit the buckets to the width: with more buckets than columns a column sums the buckets
    // that fall in it; with fewer, each bucket is drawn as wide as it gets.
    let n = r.histogram.len();
    let cols = w.max(1);
    let mut values = vec![0u64; cols];
    if n > cols {
        for (i, b) in r.histogram.iter().enumerate() {
            values[i * cols / n] += b.count;
        }
    } else {
        for (c, v) in values.iter_mut().enumerate() {
            *v = r.histogram[c * n / cols].count;
        }
    }
    let max = values.iter().copied().max().unwrap_or(0);
    for (i, line) in column_chart(&values, chart_rows).iter().enumerate() {
        buf.set_string(inner.x + 1, inner.y + i as u16, line, t.chart);
    }
    let axis_y = inner.y + chart_rows as u16;
    if axis_y < inner.bottom() {
        let first = text::short_date_time(r.histogram[0].start);
        let last = text::short_date_time(r.histogram[n - 1].start);
        buf.set_string(inner.x + 1, axis_y, &first, t.muted);
        let peak = format!("peak {}", text::thousands(max));
        let mid = inner.x + (inner.width.saturating_sub(text::width(&peak) as u16)) / 2;
        if usize::from(inner.width) > first.len() + last.len() + peak.len() + 6 {
            buf.set_string(mid, axis_y, &peak, t.muted);
        }
        let lx = inner.right().saturating_sub(last.len() as u16 + 1);
        buf.set_string(lx, axis_y, &last, t.muted);
    }
}

fn columns(width: u16) -> Vec<Column> {
    let mut cols = vec![Column::new("TIME", Constraint::Length(14))];
    if width >= 90 {
        cols.push(Column::new("DATASET", Constraint::Length(16)));
    }
    cols.push(Column::new("HOST", Constraint::Length(12)));
    if width >= 70 {
        cols.push(Column::new("USER", Constraint::Length(10)));
    }
    cols.push(Column::new("ACTION", Constraint::Length(14)));
    cols.push(Column::new("SUMMARY", Constraint::Fill(1)));
    cols
}

/// The best one-line description of an event: command line, path, query, URL, message.
pub(crate) fn summary(ev: &Event) -> String {
    let flow = match (ev.ip(Field::SourceIp), ev.ip(Field::DestinationIp)) {
        (Some(s), Some(d)) => Some(match ev.int(Field::DestinationPort) {
            Some(p) => format!("{s} → {d}:{p}"),
            None => format!("{s} → {d}"),
        }),
        _ => None,
    };
    let text = [
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
    .find_map(|f| ev.str(*f));
    match (flow, text) {
        (Some(f), Some(x)) => format!("{f}  {x}"),
        (Some(f), None) => f,
        (None, Some(x)) => x.to_string(),
        (None, None) => String::new(),
    }
}

fn action(ev: &Event) -> String {
    match (ev.str(Field::EventCode), ev.str(Field::EventAction)) {
        (Some(c), Some(a)) => format!("{c} {a}"),
        (Some(c), None) => c.to_string(),
        (None, Some(a)) => a.to_string(),
        (None, None) => String::new(),
    }
}

fn results(model: &Model, lay: &Layout, buf: &mut Buffer) {
    let t = &model.theme;
    let s = &model.search;
    let Some(r) = &s.results else {
        panel(" Results ", t, false).render(lay.results, buf);
        let lines = [
            Line::from(Span::styled("Query examples", t.title)),
            Line::from(vec![
                Span::styled("user.name:alice", t.key),
                Span::styled("  one field", t.muted),
            ]),
            Line::from(vec![
                Span::styled("event.code:4624 AND source.ip:10.0.1.4", t.key),
                Span::styled("  both", t.muted),
            ]),
            Line::from(vec![
                Span::styled("process.command_line:\"whoami\"", t.key),
                Span::styled("  a phrase", t.muted),
            ]),
            Line::from(vec![
                Span::styled("p", t.key),
                Span::styled(" on a session pivots here with its host/user/IP", t.muted),
            ]),
        ];
        centered_text(buf, lay.table, &lines);
        return;
    };
    let cur = s.cursor;
    let rows_h = lay.rows();
    let offset = window_offset(cur.selected, cur.offset, r.hits.len(), rows_h);
    let title = Line::from(vec![
        Span::raw(" Results "),
        Span::styled(
            if r.hits.is_empty() {
                "none".to_string()
            } else {
                format!("{}-{}", offset + 1, (offset + rows_h).min(r.hits.len()))
            },
            t.accent,
        ),
        Span::styled(format!(" of {} ", text::thousands(r.total)), t.muted),
        Span::styled(
            if (r.hits.len() as u64) < r.total {
                format!("({} loaded) ", text::thousands(r.hits.len() as u64))
            } else {
                String::new()
            },
            t.muted,
        ),
    ]);
    panel(title, t, model.focus != Focus::SearchInput).render(lay.results, buf);
    if r.hits.is_empty() {
        centered_text(
            buf,
            lay.table,
            &[Line::from(Span::styled(
                "No event matches this query",
                t.muted,
            ))],
        );
        return;
    }
    let cols = columns(lay.table.width);
    let wide = lay.table.width >= 90;
    let mid = lay.table.width >= 70;
    let rows = r.hits.iter().skip(offset).take(rows_h).map(|ev| {
        let get = |f: Field| text::clean_max(ev.str(f).unwrap_or(""), 64).into_owned();
        let mut cells = vec![Line::from(Span::styled(
            text::short_date_time(ev.timestamp),
            t.muted,
        ))];
        if wide {
            cells.push(Line::from(Span::styled(get(Field::EventDataset), t.muted)));
        }
        cells.push(Line::from(get(Field::HostName)));
        if mid {
            cells.push(Line::from(get(Field::UserName)));
        }
        cells.push(Line::from(text::clean_max(&action(ev), 64).into_owned()));
        cells.push(Line::from(text::clean(&summary(ev)).into_owned()));
        (cells, Style::new())
    });
    DataTable::new(&cols)
        .rows(rows)
        .selected(cur.selected.checked_sub(offset))
        .styles(t.header, t.selected)
        .render(lay.table, buf);
    scrollbar(
        buf,
        Rect::new(
            lay.table.right(),
            lay.table.y + 1,
            1,
            lay.table.height.saturating_sub(1),
        ),
        offset,
        r.hits.len(),
        t,
    );
}

fn facets(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let block = panel(" Top values ", t, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(r) = model
        .search
        .results
        .as_ref()
        .filter(|r| !r.facets.is_empty())
    else {
        centered_text(
            buf,
            inner,
            &[Line::from(Span::styled(
                "host, user and IP counts",
                t.muted,
            ))],
        );
        return;
    };
    let w = usize::from(inner.width);
    let mut y = inner.y;
    let per = (usize::from(inner.height) / r.facets.len().max(1))
        .saturating_sub(2)
        .max(1);
    for f in &r.facets {
        if y >= inner.bottom() {
            break;
        }
        buf.set_string(inner.x + 1, y, f.field.name(), t.header);
        y += 1;
        let max = f.values.iter().map(|(_, n)| *n).max().unwrap_or(0);
        for (v, n) in f.values.iter().take(per) {
            if y >= inner.bottom() {
                break;
            }
            facet_row(t, v, *n, max, w, inner.x, y, buf);
            y += 1;
        }
        y += 1;
    }
}

#[allow(clippy::too_many_arguments)]
fn facet_row(t: &Theme, value: &str, n: u64, max: u64, w: usize, x: u16, y: u16, buf: &mut Buffer) {
    let count = text::compact(n);
    let bar_w = (w / 4).max(3);
    let name_w = w.saturating_sub(bar_w + count.len() + 4);
    let name = text::pad(&text::clean_max(value, 128), name_w, Align::Left);
    let bar = text::pad(&hbar(n, max, bar_w), bar_w, Align::Left);
    let line = Line::from(vec![
        Span::raw("  "),
        Span::raw(name),
        Span::raw(" "),
        Span::styled(bar, t.chart),
        Span::styled(format!(" {count}"), t.muted),
    ]);
    buf.set_line(x, y, &fit_line(&line, w, Align::Left), w as u16);
}
