//! Screen 3: one session: who and where, the attack-chain groups, why it fired, what would
//! escalate it, and the evidence timeline.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::correlate::Group;
use crate::correlate::session::Session;
use crate::event::Field;
use crate::tui::catalog::group_tag;
use crate::tui::input::window_offset;
use crate::tui::model::Model;
use crate::tui::store::Entry;
use crate::tui::text::{self, Align};
use crate::tui::theme::Theme;
use crate::tui::widgets::{
    Column, DataTable, centered_text, fit_line, hbar, panel, scrollbar, severity_span,
};

/// Layout of the detail screen.
pub(crate) struct Layout {
    header: Rect,
    chain: Rect,
    why: Rect,
    timeline: Rect,
    /// Header row plus evidence rows (without the scrollbar column).
    pub table: Rect,
}

impl Layout {
    /// Evidence rows shown at once.
    pub fn rows(&self) -> usize {
        usize::from(self.table.height.saturating_sub(1))
    }
}

fn compact(body: Rect) -> bool {
    body.height < 30
}

pub(crate) fn layout(model: &Model, body: Rect) -> Layout {
    let compact = compact(body);
    let header_h: u16 = if compact { 6 } else { 8 };
    let entry = model
        .detail
        .session
        .as_ref()
        .and_then(|id| model.store.by_id(id));
    let (content, thresholds) = entry.map_or((2, 0), |e| {
        let s = &e.session;
        let th = s.near_miss.thresholds.len();
        (s.explanation.len().max(1) + 1 + th, th)
    });
    // A compact screen still shows one line of why, the next case and a threshold.
    let max = if compact {
        3 + u16::from(thresholds > 0)
    } else {
        7
    };
    let why_h = (content as u16).clamp(2, max) + 2;
    let left_w = body.width * 3 / 5;
    let header = Rect::new(body.x, body.y, left_w, header_h);
    let chain = Rect::new(body.x + left_w, body.y, body.width - left_w, header_h);
    let y = body.y + header_h;
    let why = Rect::new(body.x, y, body.width, why_h);
    let ty = y + why_h;
    let timeline = Rect::new(body.x, ty, body.width, body.bottom().saturating_sub(ty));
    let table = Rect::new(
        timeline.x + 1,
        timeline.y + 1,
        timeline.width.saturating_sub(3),
        timeline.height.saturating_sub(2),
    );
    Layout {
        header,
        chain,
        why,
        timeline,
        table,
    }
}

pub(crate) fn render(model: &Model, body: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let Some(entry) = model
        .detail
        .session
        .as_ref()
        .and_then(|id| model.store.by_id(id))
    else {
        panel(" Session detail ", t, false).render(body, buf);
        centered_text(
            buf,
            body,
            &[
                Line::from(Span::styled("No session selected", t.title)),
                Line::from(vec![
                    Span::styled("Pick one on ", t.muted),
                    Span::styled("2", t.key),
                    Span::styled(" Sessions and press ", t.muted),
                    Span::styled("⏎", t.key),
                ]),
            ],
        );
        return;
    };
    let lay = layout(model, body);
    header(model, entry, lay.header, buf);
    chain(entry, t, lay.chain, buf);
    why(model, entry, lay.why, buf);
    timeline(model, entry, &lay, buf);
}

fn field_line<'a>(label: &'a str, value: Vec<Span<'a>>, t: &Theme) -> Line<'a> {
    let mut spans = vec![Span::styled(format!(" {label:<9} "), t.muted)];
    spans.extend(value);
    Line::from(spans)
}

fn header(model: &Model, e: &Entry, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let s = &e.session;
    let c = &s.context;
    let mut state = vec![Span::styled(
        if s.closed { " closed " } else { " open " },
        if s.closed { t.muted } else { t.ok },
    )];
    if s.interactive {
        state.push(Span::styled("· interactive ", t.warning));
    }
    let block = panel(
        Line::from(vec![
            Span::raw(" Session "),
            Span::styled(text::clean(&s.id.0).into_owned(), t.muted),
            Span::raw(" "),
        ]),
        t,
        false,
    )
    .title_top(Line::from(state).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);

    // Lines by priority; a compact screen keeps the first ones, in display order.
    let mut lines: Vec<(u8, Line<'_>)> = Vec::new();
    lines.push((
        0,
        Line::from(vec![
            Span::raw(" "),
            severity_span(s.severity, t),
            Span::raw("  "),
            Span::styled(e.title.as_str(), t.title),
        ]),
    ));
    let mut who: Vec<Span<'_>> = Vec::new();
    let mut add = |label: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            if !who.is_empty() {
                who.push(Span::styled("  ", t.muted));
            }
            who.push(Span::styled(format!("{label} "), t.muted));
            who.push(Span::styled(text::clean(v).into_owned(), t.accent));
        }
    };
    add("host", &c.host);
    add("user", &c.user);
    add("from", &c.source_ip);
    add("ns", &c.namespace);
    add("pod", &c.pod);
    if who.is_empty() {
        who.push(Span::styled(text::clean(&c.key).into_owned(), t.accent));
    }
    lines.push((1, field_line("who", who, t)));
    lines.push((
        5,
        field_line(
            "context",
            vec![
                Span::styled(text::clean(&c.kind).into_owned(), t.base),
                Span::styled("  ", t.muted),
                Span::styled(text::clean(&c.key).into_owned(), t.muted),
            ],
            t,
        ),
    ));
    if !c.targets.is_empty() {
        let targets: Vec<String> = c
            .targets
            .iter()
            .map(|x| text::clean_max(x, 64).into_owned())
            .collect();
        lines.push((
            4,
            field_line("reached", vec![Span::raw(targets.join(", "))], t),
        ));
    }
    let span_secs = (s.last_seen - s.first_seen) / 1_000_000_000;
    lines.push((
        2,
        field_line(
            "window",
            vec![
                Span::raw(text::date_time(s.first_seen)),
                Span::styled(" → ", t.muted),
                Span::raw(text::time_of_day(s.last_seen)),
                Span::styled(format!("  ({})", text::duration(span_secs)), t.muted),
                Span::styled(
                    format!(
                        "  {} event{}",
                        text::thousands(s.event_count),
                        if s.event_count == 1 { "" } else { "s" }
                    ),
                    t.base,
                ),
            ],
            t,
        ),
    ));
    let mut attack: Vec<Span<'_>> = vec![Span::styled(e.techniques.as_str(), t.accent)];
    if !s.tactics.is_empty() {
        attack.push(Span::styled(
            format!("  {}", text::clean(&s.tactics.join(", "))),
            t.muted,
        ));
    }
    lines.push((3, field_line("ATT&CK", attack, t)));

    let room = usize::from(inner.height);
    let mut ranks: Vec<u8> = lines.iter().map(|(p, _)| *p).collect();
    ranks.sort_unstable();
    let cutoff = ranks
        .get(room.saturating_sub(1))
        .copied()
        .unwrap_or(u8::MAX);
    let shown = lines.into_iter().filter(|(p, _)| *p <= cutoff).take(room);
    for (i, (_, line)) in shown.enumerate() {
        let fitted = fit_line(&line, usize::from(inner.width), Align::Left);
        buf.set_line(inner.x, inner.y + i as u16, &fitted, inner.width);
    }
}

/// The four groups with evidence counts; groups the next case needs are marked `◌`.
fn chain(e: &Entry, t: &Theme, area: Rect, buf: &mut Buffer) {
    let s = &e.session;
    let block = panel(" Attack chain ", t, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let w = usize::from(inner.width);
    let mut y = inner.y;
    for (i, g) in Group::ALL.iter().enumerate() {
        if y >= inner.bottom() {
            return;
        }
        let (mark, style) = group_mark(s, *g, t);
        let count = e.group_counts[i];
        let right = if s.groups.contains(g) {
            Span::styled(format!("{count} ev "), t.muted)
        } else if s.near_miss.missing_groups.contains(g) {
            Span::styled("needed ", t.near_miss)
        } else {
            Span::raw("")
        };
        let left = Line::from(vec![
            Span::raw(" "),
            Span::styled(mark, style),
            Span::raw(" "),
            Span::styled(
                g.title(),
                if s.groups.contains(g) {
                    t.base
                } else {
                    t.muted
                },
            ),
        ]);
        let rw = text::width(&right.content);
        let fitted = fit_line(&left, w.saturating_sub(rw + 1), Align::Left);
        buf.set_line(inner.x, y, &fitted, inner.width);
        buf.set_line(
            inner.x + (w.saturating_sub(rw)) as u16,
            y,
            &Line::from(right),
            rw as u16,
        );
        y += 1;
    }
    if y + 1 < inner.bottom() {
        let case = match s.case {
            Some(c) => Line::from(vec![
                Span::styled(" case ", t.muted),
                Span::styled(c.title(), t.severity(c.severity())),
            ]),
            None => Line::from(Span::styled(" no attack-chain case yet", t.muted)),
        };
        buf.set_line(
            inner.x,
            y + 1,
            &fit_line(&case, w, Align::Left),
            inner.width,
        );
    }
}

/// `✔` present, `◌` needed for the next case, `·` absent.
pub(crate) fn group_mark(s: &Session, g: Group, t: &Theme) -> (&'static str, Style) {
    if s.groups.contains(&g) {
        ("✔", t.group_on)
    } else if s.near_miss.missing_groups.contains(&g) {
        ("◌", t.near_miss)
    } else {
        ("·", t.group_off)
    }
}

/// What would escalate the session, as one line: `next  Comprehensive … (CRIT) needs …`.
pub(crate) fn near_miss_spans(s: &Session, t: &Theme, label: &'static str) -> Vec<Span<'static>> {
    let nm = &s.near_miss;
    let mut spans = vec![Span::styled(label, t.muted)];
    let Some(next) = nm.next_case else {
        spans.push(Span::styled(
            "already the most severe attack-chain case",
            t.muted,
        ));
        return spans;
    };
    spans.push(severity_span(next.severity(), t));
    spans.push(Span::raw(" "));
    spans.push(Span::styled(next.title(), t.base));
    let missing: Vec<&str> = nm.missing_groups.iter().map(|g| g.title()).collect();
    if missing.is_empty() && !nm.needs_interactive {
        return spans;
    }
    spans.push(Span::styled(" · needs ", t.muted));
    let mut parts: Vec<String> = missing.iter().map(|m| (*m).to_string()).collect();
    if nm.needs_interactive {
        parts.push("an interactive session".into());
    }
    spans.push(Span::styled(parts.join(" + "), t.near_miss));
    spans
}

/// Why the session fired (the engine's explanation) and, below, what would escalate it:
/// the next case with the groups it misses, and threshold detectors under way.
fn why(model: &Model, e: &Entry, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let block = panel(" Why it fired ", t, false)
        .title_top(Line::from(Span::styled(" → what would escalate it ", t.muted)).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    let s = &e.session;
    let w = usize::from(inner.width);
    let n = usize::from(inner.height);

    let mut escalate = vec![Line::from(near_miss_spans(s, t, " → "))];
    for th in &s.near_miss.thresholds {
        let title = text::clean(model.rules.title(&th.rule_id)).into_owned();
        let bar_w = 10;
        let filled = hbar(th.count, th.threshold.max(1), bar_w);
        let pad = bar_w.saturating_sub(text::width(&filled));
        escalate.push(Line::from(vec![
            Span::styled("   ", t.muted),
            Span::styled(filled, t.near_miss),
            Span::styled("░".repeat(pad), t.group_off),
            Span::styled(format!(" {}/{} ", th.count, th.threshold), t.base),
            Span::raw(title),
            Span::styled(
                format!(
                    " · {} left in the window",
                    text::duration(th.window_left_secs)
                ),
                t.muted,
            ),
        ]));
    }
    escalate.truncate(n.saturating_sub(1).max(1));

    // The explanation gets what the escalation lines leave; a cut list says how much is left.
    let room = n.saturating_sub(escalate.len());
    let mut lines: Vec<Line<'_>> = s
        .explanation
        .iter()
        .map(|x| {
            Line::from(vec![
                Span::styled(" • ", t.accent),
                Span::raw(text::clean(x).into_owned()),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(" (no explanation)", t.muted)));
    }
    if lines.len() > room && room >= 2 {
        let more = lines.len() - room + 1;
        lines.truncate(room - 1);
        lines.push(Line::from(Span::styled(
            format!("   +{more} more (:export session for all)"),
            t.muted,
        )));
    }
    lines.truncate(room);
    lines.extend(escalate);
    for (i, line) in lines.iter().take(n).enumerate() {
        buf.set_line(
            inner.x,
            inner.y + i as u16,
            &fit_line(line, w, Align::Left),
            inner.width,
        );
    }
}

/// Split an evidence summary into the dataset it starts with (the engine writes
/// `zeek.conn ...`, `windows.security 4624 ...`) and the rest.
pub(crate) fn split_summary(summary: &str) -> (Option<&str>, &str) {
    let Some((first, rest)) = summary.split_once(' ') else {
        return (None, summary);
    };
    let dataset_like = first.contains('.')
        && !first.starts_with('.')
        && !first.ends_with('.')
        && first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if dataset_like {
        (Some(first), rest)
    } else {
        (None, summary)
    }
}

fn columns(width: u16) -> Vec<Column> {
    let mut cols = vec![
        Column::new("TIME", Constraint::Length(12)),
        Column::new("GR", Constraint::Length(2)),
        Column::new("RULE", Constraint::Fill(2)),
    ];
    if width >= 110 {
        cols.push(Column::new("SOURCE", Constraint::Length(16)));
        cols.push(Column::new("HOST", Constraint::Length(12)));
        cols.push(Column::new("USER", Constraint::Length(12)));
    }
    cols.push(Column::new("SUMMARY", Constraint::Fill(3)));
    cols
}

fn timeline(model: &Model, e: &Entry, lay: &Layout, buf: &mut Buffer) {
    let t = &model.theme;
    let s = &e.session;
    let mut title = vec![
        Span::raw(" Evidence "),
        Span::styled(text::thousands(s.evidence.len() as u64), t.accent),
        Span::raw(" "),
    ];
    if (s.evidence.len() as u64) < s.event_count {
        title.push(Span::styled(
            format!("(first of {} events) ", text::thousands(s.event_count)),
            t.muted,
        ));
    }
    panel(Line::from(title), t, true).render(lay.timeline, buf);
    let rows_h = lay.rows();
    let cur = model.detail.cursor;
    let offset = window_offset(cur.selected, cur.offset, s.evidence.len(), rows_h);
    let wide = lay.table.width >= 110;
    let cols = columns(lay.table.width);
    let rows = s.evidence.iter().skip(offset).take(rows_h).map(|ev| {
        let loaded = model.events.event(&ev.event_id);
        let field = |f: Field| -> String {
            loaded
                .and_then(|x| x.str(f).map(|v| text::clean_max(v, 64).into_owned()))
                .unwrap_or_default()
        };
        let grp = match ev.group {
            Some(g) => Span::styled(group_tag(g), t.group_on),
            None => Span::styled("··", t.group_off),
        };
        let (dataset, rest) = split_summary(&ev.summary);
        let mut cells = vec![
            Line::from(Span::styled(text::time_millis(ev.timestamp), t.muted)),
            Line::from(grp),
            Line::from(text::clean(model.rules.title(&ev.rule_id)).into_owned()),
        ];
        if wide {
            let source = match dataset {
                Some(d) => text::clean(d).into_owned(),
                None => field(Field::EventDataset),
            };
            cells.push(Line::from(Span::styled(source, t.muted)));
            cells.push(Line::from(field(Field::HostName)));
            cells.push(Line::from(field(Field::UserName)));
            cells.push(Line::from(text::clean(rest).into_owned()));
        } else {
            cells.push(Line::from(text::clean(&ev.summary).into_owned()));
        }
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
        s.evidence.len(),
        t,
    );
}
