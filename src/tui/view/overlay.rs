//! Panels drawn over a screen: help, an event's fields, the pivot menu, a coverage cell's
//! events.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use crate::event::{Event, Field, format_timestamp, json_scalar_string};
use crate::tui::input::{Cursor, window_offset};
use crate::tui::model::{Cached, CoverageColumn, Model, Overlay, Screen};
use crate::tui::text::{self, Align};
use crate::tui::theme::Theme;
use crate::tui::update::PALETTE_COMMANDS;
use crate::tui::widgets::{
    centered_rect, centered_text, fit_line, panel, scrollbar, severity_span,
};

/// One line of the all-fields view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldLine {
    /// Field name (normalized or original), empty for continuation lines.
    pub label: String,
    /// The value as text (uncleaned; cleaned when drawn).
    pub value: String,
    /// The normalized field, for pivots.
    pub field: Option<Field>,
    /// A section heading rather than a field.
    pub heading: bool,
}

impl FieldLine {
    fn heading(title: &str) -> Self {
        FieldLine {
            label: title.to_string(),
            value: String::new(),
            field: None,
            heading: true,
        }
    }
}

/// Every field of an event as lines: normalized fields, original fields, then the raw record
/// cut into pieces of `raw_width` characters.
pub(crate) fn event_lines(ev: &Event, raw_width: usize) -> Vec<FieldLine> {
    let mut out = vec![FieldLine::heading("normalized")];
    out.push(FieldLine {
        label: "@timestamp".into(),
        value: format_timestamp(ev.timestamp),
        field: Some(Field::Timestamp),
        heading: false,
    });
    out.push(FieldLine {
        label: "event.id".into(),
        value: ev.id.clone(),
        field: Some(Field::EventId),
        heading: false,
    });
    for (f, v) in ev.fields() {
        out.push(FieldLine {
            label: f.name().into(),
            value: v.to_string(),
            field: Some(f),
            heading: false,
        });
    }
    if !ev.original.is_empty() {
        out.push(FieldLine::heading("original"));
        for (k, v) in &ev.original {
            out.push(FieldLine {
                label: k.clone(),
                value: json_scalar_string(v).unwrap_or_else(|| v.to_string()),
                field: None,
                heading: false,
            });
        }
    }
    if let Some(raw) = &ev.raw {
        out.push(FieldLine::heading("raw"));
        let chars: Vec<char> = raw.chars().collect();
        for chunk in chars.chunks(raw_width.max(16)) {
            out.push(FieldLine {
                label: String::new(),
                value: chunk.iter().collect(),
                field: None,
                heading: false,
            });
        }
    }
    out
}

/// The event overlay's rectangle in `body`.
pub(crate) fn event_area(body: Rect) -> Rect {
    centered_rect(body, body.width.saturating_sub(6).min(150), body.height)
}

/// Characters per raw-record line in the event overlay.
pub(crate) fn raw_width(body: Rect) -> usize {
    usize::from(event_area(body).width.saturating_sub(4))
}

/// Rows of field lines the event overlay shows.
pub(crate) fn event_rows(body: Rect) -> usize {
    usize::from(event_area(body).height.saturating_sub(3))
}

/// The pivot overlay's rectangle.
pub(crate) fn pivot_area(body: Rect, choices: usize) -> Rect {
    centered_rect(body, 64, choices as u16 + 4)
}

/// The cell-events overlay's rectangle.
pub(crate) fn cell_area(body: Rect) -> Rect {
    centered_rect(
        body,
        body.width.saturating_sub(8),
        body.height.saturating_sub(2),
    )
}

pub(crate) fn render(model: &Model, body: Rect, buf: &mut Buffer) {
    let Some(o) = &model.overlay else {
        return;
    };
    match o {
        Overlay::Help => help(model, body, buf),
        Overlay::Event { event_id, cursor } => event(model, body, event_id, *cursor, buf),
        Overlay::Pivot {
            choices,
            cursor,
            range,
        } => pivot(model, body, choices, *cursor, range.is_some(), buf),
        Overlay::CellEvents {
            session,
            column,
            cursor,
        } => cell_events(model, body, session, column, *cursor, buf),
    }
}

fn clear(area: Rect, t: &Theme, buf: &mut Buffer) {
    Clear.render(area, buf);
    buf.set_style(area, t.base);
}

fn line_at(buf: &mut Buffer, inner: Rect, row: usize, line: &Line<'_>) {
    if row < usize::from(inner.height) {
        buf.set_line(
            inner.x,
            inner.y + row as u16,
            &fit_line(line, usize::from(inner.width), Align::Left),
            inner.width,
        );
    }
}

/// Keys of the current screen, then those of every screen, for `?` (most specific first, so
/// a short terminal cuts the least useful lines).
pub(crate) fn help_lines(screen: Screen) -> Vec<(&'static str, &'static str)> {
    let mut lines: Vec<(&'static str, &'static str)> = match screen {
        Screen::Overview => vec![
            ("⏎", "the session table"),
            (
                "",
                "live rates, sessions by severity, latest activity, source health",
            ),
        ],
        Screen::Sessions => vec![
            ("⏎", "open the session"),
            (
                "/",
                "filter: alice -pod sev:high group:ra is:open|closed|interactive",
            ),
            ("s  S", "next sort column, reverse (or click a header)"),
            ("f", "follow the newest (selection stays on the first row)"),
            ("p", "search the session's host / user / IP"),
            ("y", "copy the session id"),
        ],
        Screen::Detail => vec![
            ("j k", "select an evidence event"),
            ("⏎", "all fields of the event"),
            ("p", "search a host / user / IP of the session or event"),
            ("[  ]", "previous / next session"),
            ("y", "copy the event id"),
            ("esc", "back to the table"),
        ],
        Screen::Coverage => vec![
            ("h j k l  arrows", "move between cells"),
            ("⏎", "the events behind the cell"),
            ("t", "columns: groups → ATT&CK tactics → techniques"),
            ("/", "filter rows (same filter as the table)"),
        ],
        Screen::Search => vec![
            ("/  i  click", "edit the query (runs as you type)"),
            ("⏎", "run now / open the selected hit"),
            ("↑ ↓", "query history while editing"),
            ("p", "pivot on a field of the selected hit"),
            ("x", "clear the time range"),
        ],
        Screen::Sources => vec![
            ("j k", "select a source (details below the table)"),
            ("y", "copy its path"),
        ],
        Screen::Triage => vec![
            ("j k", "select a case"),
            ("n p", "next / previous checklist step"),
            ("space", "status: todo → done → skipped (asks why) → n/a"),
            ("e", "edit the step's note"),
            ("N", "add a note to the case"),
            ("⏎", "run the step's pivot search (esc comes back)"),
            ("a", "attach the event selected in Detail / Search"),
            ("h l  y", "previous / next response artifact, copy it"),
            ("c", "on Sessions / Detail: open a case from the session"),
        ],
    };
    lines.extend([
        ("", ""),
        ("1-7  Tab  S-Tab", "switch screen"),
        ("j k  ↑ ↓  wheel", "move"),
        ("PgUp PgDn  ^u ^d", "page, half page"),
        ("g G  Home End", "first, last"),
        ("click", "select; click again opens"),
        ("?  esc", "this help, close"),
        ("q  ^c", "quit"),
    ]);
    lines
}

fn help(model: &Model, body: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let lines = help_lines(model.screen);
    let h = (lines.len() + PALETTE_COMMANDS.len() + 3) as u16;
    let area = centered_rect(body, 88, h);
    clear(area, t, buf);
    let block = panel(
        Line::from(vec![
            Span::raw(" Help · "),
            Span::styled(model.screen.title(), t.accent),
            Span::raw(" "),
        ]),
        t,
        true,
    )
    .title_bottom(Line::from(Span::styled(" esc closes ", t.muted)).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    let mut row = 0;
    let rows = usize::from(inner.height);
    for (k, what) in &lines {
        let line = Line::from(vec![
            Span::styled(format!(" {}", text::pad(k, 18, Align::Left)), t.key),
            Span::styled(*what, t.base),
        ]);
        line_at(buf, inner, row, &line);
        row += 1;
    }
    line_at(
        buf,
        inner,
        row,
        &Line::from(vec![
            Span::styled(format!(" {}", text::pad(":", 18, Align::Left)), t.key),
            Span::styled("commands (a unique prefix is enough):", t.base),
        ]),
    );
    row += 1;
    for (_, usage) in PALETTE_COMMANDS {
        if row + 1 == rows && row + 1 < lines.len() + PALETTE_COMMANDS.len() + 1 {
            line_at(
                buf,
                inner,
                row,
                &Line::from(Span::styled(
                    "  … a taller terminal shows the rest",
                    t.muted,
                )),
            );
            break;
        }
        line_at(
            buf,
            inner,
            row,
            &Line::from(Span::styled(format!("  :{usage}"), t.muted)),
        );
        row += 1;
    }
}

fn event(model: &Model, body: Rect, id: &str, cursor: Cursor, buf: &mut Buffer) {
    let t = &model.theme;
    let area = event_area(body);
    clear(area, t, buf);
    let block = panel(
        Line::from(vec![
            Span::raw(" Event "),
            Span::styled(text::clean_max(id, 60).into_owned(), t.muted),
            Span::raw(" "),
        ]),
        t,
        true,
    )
    .title_bottom(
        Line::from(Span::styled(
            " j/k move · y copy value · p pivot · esc close ",
            t.muted,
        ))
        .right_aligned(),
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let msg = match model.events.get(id) {
        Some(Cached::Loaded(ev)) => {
            let lines = event_lines(ev, raw_width(body));
            let rows = usize::from(inner.height);
            let offset = window_offset(cursor.selected, cursor.offset, lines.len(), rows);
            let label_w = 28.min(usize::from(inner.width) / 3);
            for (i, l) in lines.iter().skip(offset).take(rows).enumerate() {
                let line = if l.heading {
                    Line::from(Span::styled(format!(" ── {} ", l.label), t.header))
                } else if l.label.is_empty() {
                    // Raw record lines use the whole width.
                    Line::from(Span::styled(
                        format!(" {}", text::clean(&l.value)),
                        t.accent,
                    ))
                } else {
                    Line::from(vec![
                        Span::styled(
                            format!(
                                " {}",
                                text::pad(&text::clean_max(&l.label, 64), label_w, Align::Left)
                            ),
                            t.muted,
                        ),
                        Span::raw(" "),
                        Span::styled(
                            text::clean(&l.value).into_owned(),
                            if l.field.is_some() { t.base } else { t.accent },
                        ),
                    ])
                };
                line_at(buf, inner, i, &line);
                if offset + i == cursor.selected {
                    buf.set_style(
                        Rect::new(inner.x, inner.y + i as u16, inner.width, 1),
                        t.selected,
                    );
                }
            }
            scrollbar(buf, inner, offset, lines.len(), t);
            return;
        }
        Some(Cached::Missing) => "This event is not in the index (yet): ⏎ on it again retries",
        Some(Cached::Pending) | None => "Loading the event…",
    };
    centered_text(buf, inner, &[Line::from(Span::styled(msg, t.muted))]);
}

fn pivot(
    model: &Model,
    body: Rect,
    choices: &[(Field, String)],
    cursor: Cursor,
    ranged: bool,
    buf: &mut Buffer,
) {
    let t = &model.theme;
    let area = pivot_area(body, choices.len());
    clear(area, t, buf);
    let block = panel(" Pivot: search for ", t, true).title_bottom(
        Line::from(Span::styled(
            if ranged {
                " ⏎ search around the session's time · esc "
            } else {
                " ⏎ search · esc "
            },
            t.muted,
        ))
        .right_aligned(),
    );
    let inner = block.inner(area);
    block.render(area, buf);
    for (i, (f, v)) in choices.iter().enumerate() {
        let line = Line::from(vec![
            Span::styled(format!(" {:<22}", f.name()), t.muted),
            Span::styled(text::clean(v).into_owned(), t.accent),
        ]);
        line_at(buf, inner, i + 1, &line);
        if i == cursor.selected {
            buf.set_style(
                Rect::new(inner.x, inner.y + 1 + i as u16, inner.width, 1),
                t.selected,
            );
        }
    }
    if choices.is_empty() {
        line_at(
            buf,
            inner,
            1,
            &Line::from(Span::styled(" nothing to pivot on", t.muted)),
        );
    }
}

fn cell_events(
    model: &Model,
    body: Rect,
    session: &crate::correlate::session::SessionId,
    column: &CoverageColumn,
    cursor: Cursor,
    buf: &mut Buffer,
) {
    let t = &model.theme;
    let area = cell_area(body);
    clear(area, t, buf);
    let Some(e) = model.store.by_id(session) else {
        return;
    };
    let evs: Vec<_> = e
        .session
        .evidence
        .iter()
        .filter(|ev| super::coverage::evidence_in_cell(model, ev, column))
        .collect();
    let block = panel(
        Line::from(vec![
            Span::raw(" "),
            severity_span(e.session.severity, t),
            Span::raw(" "),
            Span::styled(e.label.as_str(), t.base),
            Span::styled(" × ", t.muted),
            Span::styled(super::coverage::heading(column), t.accent),
            Span::styled(format!(" · {} events ", evs.len()), t.muted),
        ]),
        t,
        true,
    )
    .title_bottom(Line::from(Span::styled(" ⏎ all fields · esc close ", t.muted)).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    if evs.is_empty() {
        line_at(
            buf,
            inner,
            0,
            &Line::from(Span::styled(
                " no evidence kept for this cell (sessions keep their first events)",
                t.muted,
            )),
        );
        return;
    }
    let rows = usize::from(inner.height);
    let offset = window_offset(cursor.selected, cursor.offset, evs.len(), rows);
    for (i, ev) in evs.iter().skip(offset).take(rows).enumerate() {
        let line = Line::from(vec![
            Span::styled(format!(" {}  ", text::time_millis(ev.timestamp)), t.muted),
            Span::styled(
                text::pad(
                    &text::clean(model.rules.title(&ev.rule_id)),
                    32,
                    Align::Left,
                ),
                t.accent,
            ),
            Span::raw("  "),
            Span::raw(text::clean(&ev.summary).into_owned()),
        ]);
        line_at(buf, inner, i, &line);
        if offset + i == cursor.selected {
            buf.set_style(
                Rect::new(inner.x, inner.y + i as u16, inner.width, 1),
                t.selected,
            );
        }
    }
}
