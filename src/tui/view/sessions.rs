//! Screen 2: the session table, sorted and filtered in `update`; only the visible window is
//! drawn.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::tui::input::window_offset;
use crate::tui::model::{Focus, Model};
use crate::tui::store::{Entry, SortColumn};
use crate::tui::text;
use crate::tui::theme::Theme;
use crate::tui::widgets::{
    Column, DataTable, centered_text, fit_line, group_marks, group_marks_header, panel, scrollbar,
    severity_span,
};

/// Layout of the sessions screen.
pub(crate) struct Layout {
    /// The panel.
    pub block: Rect,
    /// Header row plus data rows (without the scrollbar column).
    pub table: Rect,
    /// The preview of the selected session under the table.
    pub preview: Option<Rect>,
}

impl Layout {
    /// Data rows shown at once.
    pub fn rows(&self) -> usize {
        usize::from(self.table.height.saturating_sub(1))
    }
}

pub(crate) fn layout(body: Rect) -> Layout {
    let inner = Rect::new(
        body.x + 1,
        body.y + 1,
        body.width.saturating_sub(2),
        body.height.saturating_sub(2),
    );
    let preview_h = if inner.height >= 16 { 3 } else { 0 };
    let table = Rect::new(
        inner.x,
        inner.y,
        inner.width.saturating_sub(1),
        inner.height.saturating_sub(preview_h),
    );
    let preview = (preview_h > 0)
        .then(|| Rect::new(inner.x, inner.bottom() - preview_h, inner.width, preview_h));
    Layout {
        block: body,
        table,
        preview,
    }
}

/// The columns for a table `width` columns wide, with the sort column they sort by.
pub(crate) fn columns(width: u16) -> Vec<(Column, Option<SortColumn>)> {
    let mut cols = vec![
        (
            Column::new("SEV", Constraint::Length(4)),
            Some(SortColumn::Severity),
        ),
        (
            Column::new("TITLE", Constraint::Fill(5)),
            Some(SortColumn::Title),
        ),
        (
            Column::new("CONTEXT", Constraint::Fill(4)),
            Some(SortColumn::Context),
        ),
        (
            Column::new(group_marks_header(), Constraint::Length(11)),
            Some(SortColumn::Groups),
        ),
    ];
    if width >= 110 {
        cols.push((Column::new("TECHNIQUES", Constraint::Length(14)), None));
        cols.push((
            Column::new("FIRST SEEN", Constraint::Length(14)),
            Some(SortColumn::FirstSeen),
        ));
    }
    cols.push((
        Column::new("LAST", Constraint::Length(8)),
        Some(SortColumn::LastSeen),
    ));
    cols.push((
        Column::right("EVENTS", Constraint::Length(7)),
        Some(SortColumn::Events),
    ));
    cols
}

pub(crate) fn render(model: &Model, body: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let store = &model.store;
    let lay = layout(body);

    let mut title = vec![Span::raw(" Sessions ")];
    title.push(Span::styled(text::thousands(store.len() as u64), t.accent));
    if !store.filter().is_empty() {
        title.push(Span::styled(
            format!(" of {}", text::thousands(store.total() as u64)),
            t.muted,
        ));
    }
    title.push(Span::raw(" "));
    let sort = store.sort();
    let mut right = vec![
        Span::styled(" sort ", t.muted),
        Span::styled(
            format!(
                "{} {}",
                sort.column.name(),
                if sort.descending { "▼" } else { "▲" }
            ),
            t.accent,
        ),
    ];
    if !store.filter().is_empty() {
        right.push(Span::styled(" · filter ", t.muted));
        right.push(Span::styled(
            text::fit(&text::clean(store.filter().text()), 30).into_owned(),
            t.key,
        ));
    }
    if model.sessions.follow {
        right.push(Span::styled(" · following newest", t.ok));
    }
    right.push(Span::raw(" "));
    let block = panel(Line::from(title), t, model.focus != Focus::Filter)
        .title_top(Line::from(right).right_aligned());
    block.render(lay.block, buf);

    if store.is_empty() {
        let msg = if store.total() == 0 {
            vec![
                Line::from(Span::styled("No sessions yet", t.title)),
                Line::from(Span::styled(
                    "Sessions appear here as soon as a rule fires on the watched sources.",
                    t.muted,
                )),
            ]
        } else {
            vec![
                Line::from(Span::styled("No session matches the filter", t.title)),
                Line::from(vec![
                    Span::styled("/", t.key),
                    Span::styled(" edit it   ", t.muted),
                    Span::styled(":filter", t.key),
                    Span::styled(" with nothing clears it", t.muted),
                ]),
            ]
        };
        centered_text(buf, lay.table, &msg);
        return;
    }

    let rows_h = lay.rows();
    let cursor = model.sessions.cursor;
    let offset = window_offset(cursor.selected, cursor.offset, store.len(), rows_h);
    let cols: Vec<Column> = columns(lay.table.width)
        .into_iter()
        .map(|(mut c, key)| {
            if key == Some(sort.column) {
                c.title = format!("{}{}", c.title, if sort.descending { "▼" } else { "▲" });
            }
            c
        })
        .collect();
    let wide = lay.table.width >= 110;
    let rows = store.window(offset, rows_h).map(|e| row(e, t, wide));
    DataTable::new(&cols)
        .rows(rows)
        .selected(cursor.selected.checked_sub(offset))
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
        store.len(),
        t,
    );
    if let Some(area) = lay.preview
        && let Some(e) = store.get(cursor.selected)
    {
        preview(e, t, area, buf);
    }
}

fn row<'a>(e: &'a Entry, t: &Theme, wide: bool) -> (Vec<Line<'a>>, ratatui::style::Style) {
    let s = &e.session;
    let mut cells = vec![
        Line::from(severity_span(s.severity, t)),
        Line::from(e.title.as_str()),
        Line::from(e.label.as_str()),
        group_marks(&s.groups, t),
    ];
    if wide {
        cells.push(Line::from(Span::styled(
            techniques_short(&s.techniques),
            t.muted,
        )));
        cells.push(Line::from(text::short_date_time(s.first_seen)));
    }
    cells.push(Line::from(text::time_of_day(s.last_seen)));
    cells.push(Line::from(text::thousands(s.event_count)));
    let style = if s.closed {
        t.muted
    } else {
        ratatui::style::Style::new()
    };
    (cells, style)
}

/// The first technique and how many more: a cut list (`T1003.001,T10…`) says less.
fn techniques_short(techniques: &[String]) -> String {
    match techniques {
        [] => String::new(),
        [one] => text::clean_max(one, 16).into_owned(),
        [first, rest @ ..] => format!("{} +{}", text::clean_max(first, 16), rest.len()),
    }
}

/// Two lines under the table: why the selected session fired and what would escalate it.
fn preview(e: &Entry, t: &Theme, area: Rect, buf: &mut Buffer) {
    let w = usize::from(area.width);
    let sep = "─".repeat(w);
    buf.set_string(area.x, area.y, &sep, t.border);
    let s = &e.session;
    let why = s
        .explanation
        .first()
        .map_or_else(|| "-".to_string(), |x| text::clean(x).into_owned());
    let line = Line::from(vec![
        Span::styled(" why   ", t.muted),
        Span::styled(why, t.base),
    ]);
    buf.set_line(
        area.x,
        area.y + 1,
        &fit_line(&line, w, text::Align::Left),
        area.width,
    );
    let line = Line::from(super::detail::near_miss_spans(s, t, " next  "));
    buf.set_line(
        area.x,
        area.y + 2,
        &fit_line(&line, w, text::Align::Left),
        area.width,
    );
}
