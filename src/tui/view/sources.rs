//! Screen 6: every source file with its state, and the groups no source can show.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::tui::input::window_offset;
use crate::tui::model::Model;
use crate::tui::msg::{SourceRow, SourceState};
use crate::tui::text::{self, Align};
use crate::tui::theme::Theme;
use crate::tui::widgets::{Column, DataTable, centered_text, fit_line, panel, scrollbar};

/// Layout of the sources screen.
pub(crate) struct Layout {
    list: Rect,
    /// Header plus rows (without the scrollbar column).
    pub table: Rect,
    selected: Rect,
    visibility: Rect,
}

impl Layout {
    /// Rows shown at once.
    pub fn rows(&self) -> usize {
        usize::from(self.table.height.saturating_sub(1))
    }
}

pub(crate) fn layout(body: Rect) -> Layout {
    let vis_h = 6;
    let sel_h = 5;
    let list_h = body.height.saturating_sub(vis_h + sel_h);
    let list = Rect::new(body.x, body.y, body.width, list_h);
    let table = Rect::new(
        list.x + 1,
        list.y + 1,
        list.width.saturating_sub(3),
        list.height.saturating_sub(2),
    );
    let selected = Rect::new(body.x, body.y + list_h, body.width, sel_h);
    let visibility = Rect::new(body.x, body.y + list_h + sel_h, body.width, vis_h);
    Layout {
        list,
        table,
        selected,
        visibility,
    }
}

/// Style of a source state.
pub(crate) fn state_style(s: SourceState, t: &Theme) -> Style {
    match s {
        SourceState::Tailing => t.ok,
        SourceState::Idle => t.muted,
        SourceState::Rotated => t.accent,
        SourceState::Gone => t.warning,
        SourceState::Error => t.error,
    }
}

fn columns(width: u16) -> Vec<Column> {
    let mut cols = vec![
        Column::new("STATE", Constraint::Length(9)),
        Column::new("PATH", Constraint::Fill(1)),
        Column::new("FORMAT", Constraint::Length(12)),
        Column::right("EVENTS", Constraint::Length(10)),
        Column::right("ERRORS", Constraint::Length(7)),
    ];
    if width >= 100 {
        cols.push(Column::right("LAG", Constraint::Length(9)));
    }
    cols.push(Column::new("LAST EVENT", Constraint::Length(14)));
    cols
}

pub(crate) fn render(model: &Model, body: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let lay = layout(body);
    let rows = &model.sources.rows;
    let mut counts = [0usize; 5];
    for r in rows {
        counts[state_slot(r.state)] += 1;
    }
    let mut right: Vec<Span<'_>> = Vec::new();
    for (state, n) in STATES.iter().zip(counts) {
        if n > 0 {
            right.push(Span::styled(
                format!(" {} {n} {}", state.symbol(), state.label()),
                state_style(*state, t),
            ));
        }
    }
    right.push(Span::raw(" "));
    let title = Line::from(vec![
        Span::raw(" Sources "),
        Span::styled(text::thousands(rows.len() as u64), t.accent),
        Span::raw(" "),
    ]);
    panel(title, t, true)
        .title_top(Line::from(right).right_aligned())
        .render(lay.list, buf);
    let cur = model.sources.cursor;
    if rows.is_empty() {
        centered_text(
            buf,
            lay.table,
            &[Line::from(Span::styled(
                "No sources yet: files appear here as the watcher finds them",
                t.muted,
            ))],
        );
    } else {
        let rows_h = lay.rows();
        let offset = window_offset(cur.selected, cur.offset, rows.len(), rows_h);
        let cols = columns(lay.table.width);
        let wide = lay.table.width >= 100;
        let path_w = DataTable::column_areas(&cols, lay.table)
            .get(1)
            .map_or(20, |r| usize::from(r.width));
        let lines = rows
            .iter()
            .skip(offset)
            .take(rows_h)
            .map(|r| row(r, t, wide, path_w));
        DataTable::new(&cols)
            .rows(lines)
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
            rows.len(),
            t,
        );
    }
    selected(model, rows.get(cur.selected), lay.selected, buf);
    visibility(model, lay.visibility, buf);
}

const STATES: [SourceState; 5] = [
    SourceState::Tailing,
    SourceState::Idle,
    SourceState::Rotated,
    SourceState::Gone,
    SourceState::Error,
];

fn state_slot(s: SourceState) -> usize {
    STATES.iter().position(|x| *x == s).unwrap_or(0)
}

fn row<'a>(r: &'a SourceRow, t: &Theme, wide: bool, path_w: usize) -> (Vec<Line<'a>>, Style) {
    let st = state_style(r.state, t);
    let mut cells = vec![
        Line::from(Span::styled(
            format!("{} {}", r.state.symbol(), r.state.label()),
            st,
        )),
        // The file name matters more than the directory: cut from the left.
        Line::from(text::fit_start(&text::clean(&r.path), path_w).into_owned()),
        Line::from(Span::styled(
            text::clean_max(r.format.as_deref().unwrap_or("?"), 32).into_owned(),
            t.muted,
        )),
        Line::from(text::thousands(r.events)),
        Line::from(Span::styled(
            text::thousands(r.errors),
            if r.errors > 0 { t.error } else { t.muted },
        )),
    ];
    if wide {
        cells.push(Line::from(Span::styled(
            if r.lag_bytes == 0 {
                "-".to_string()
            } else {
                text::bytes(r.lag_bytes)
            },
            if r.lag_bytes > 64 * 1024 * 1024 {
                t.warning
            } else {
                t.muted
            },
        )));
    }
    cells.push(Line::from(
        r.last_event
            .map_or_else(|| "-".to_string(), text::short_date_time),
    ));
    (cells, Style::new())
}

fn selected(model: &Model, row: Option<&SourceRow>, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let block = panel(" Selected source ", t, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(r) = row else {
        return;
    };
    let w = usize::from(inner.width);
    let datasets = if r.datasets.is_empty() {
        "none yet".to_string()
    } else {
        text::clean(&r.datasets.join(", ")).into_owned()
    };
    let lines = [
        Line::from(vec![
            Span::styled(" path     ", t.muted),
            Span::raw(text::fit_start(&text::clean(&r.path), w.saturating_sub(10)).into_owned()),
        ]),
        Line::from(vec![
            Span::styled(" datasets ", t.muted),
            Span::raw(datasets),
        ]),
        Line::from(vec![
            Span::styled(" error    ", t.muted),
            match &r.last_error {
                Some(e) => Span::styled(text::clean(e).into_owned(), t.error),
                None => Span::styled("none", t.muted),
            },
        ]),
    ];
    for (i, line) in lines.iter().take(usize::from(inner.height)).enumerate() {
        buf.set_line(
            inner.x,
            inner.y + i as u16,
            &fit_line(line, w, Align::Left),
            inner.width,
        );
    }
}

fn visibility(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let vis = &model.sources.visibility;
    let blind = vis.iter().filter(|g| g.blind()).count();
    let title = Line::from(vec![
        Span::raw(" Visibility "),
        if blind > 0 {
            Span::styled(
                format!("{blind} blind spot{} ", if blind == 1 { "" } else { "s" }),
                t.warning,
            )
        } else {
            Span::raw("")
        },
    ]);
    let block = panel(title, t, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let w = usize::from(inner.width);
    if vis.is_empty() {
        buf.set_line(
            inner.x,
            inner.y,
            &Line::from(Span::styled(
                " which attack-chain groups can be seen is judged once sources are known",
                t.muted,
            )),
            inner.width,
        );
        return;
    }
    for (i, g) in vis.iter().take(usize::from(inner.height)).enumerate() {
        let line = if g.blind() {
            Line::from(vec![
                Span::styled(" ⚠ ", t.warning),
                Span::styled(g.warning(), t.warning),
            ])
        } else {
            Line::from(vec![
                Span::styled(" ✔ ", t.ok),
                Span::styled(format!("{:<24}", g.group.title()), t.base),
                Span::styled(
                    format!("{} of {} rules can fire", g.visible, g.rules),
                    t.muted,
                ),
            ])
        };
        buf.set_line(
            inner.x,
            inner.y + i as u16,
            &fit_line(&line, w, Align::Left),
            inner.width,
        );
    }
}
