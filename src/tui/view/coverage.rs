//! Screen 4: the coverage matrix, contexts (the session table's rows) × the four groups, or ×
//! the ATT&CK tactics / techniques seen. Cells count evidence events and shade by intensity;
//! groups a session needs for its next case are marked.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::correlate::Group;
use crate::tui::catalog::{group_short, tactic_rank, tactic_short};
use crate::tui::input::window_offset;
use crate::tui::model::{CoverageColumn, CoverageMode, Model};
use crate::tui::store::Entry;
use crate::tui::text::{self, Align};
use crate::tui::theme::{Theme, heat_level};
use crate::tui::widgets::{
    Column, DataTable, centered_text, fit_line, panel, scrollbar, severity_span,
};

/// Shading glyphs per intensity level, so intensity reads without colour.
const RAMP: [&str; 5] = [" ", "░", "▒", "▓", "█"];

/// Layout of the coverage screen.
pub(crate) struct Layout {
    /// Header plus rows (without the scrollbar column).
    pub table: Rect,
    legend: Rect,
}

impl Layout {
    /// Rows shown at once.
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
    let table = Rect::new(
        inner.x,
        inner.y,
        inner.width.saturating_sub(1),
        inner.height.saturating_sub(1),
    );
    let legend = Rect::new(inner.x, inner.bottom().saturating_sub(1), inner.width, 1);
    Layout { table, legend }
}

/// The matrix's columns in the current mode.
pub(crate) fn columns(model: &Model) -> Vec<CoverageColumn> {
    match model.coverage.mode {
        CoverageMode::Groups => Group::ALL
            .iter()
            .map(|g| CoverageColumn::Group(*g))
            .collect(),
        CoverageMode::Tactics => {
            let mut t: Vec<&String> = model.store.tactics().keys().collect();
            t.sort_by_key(|x| (tactic_rank(x), (*x).clone()));
            t.into_iter()
                .map(|x| CoverageColumn::Tactic(x.clone()))
                .collect()
        }
        CoverageMode::Techniques => model
            .store
            .techniques()
            .keys()
            .map(|x| CoverageColumn::Technique(x.clone()))
            .collect(),
    }
}

/// Width of the context plus severity columns the cells leave at least.
fn fixed_width(table_width: u16) -> u16 {
    let context = if table_width >= 100 { 28 } else { 20 };
    context + 1 + 4 + 1
}

/// Cell width: group cells are wide enough for their names when all four fit.
fn cell_width(mode: CoverageMode, table_width: u16) -> u16 {
    match mode {
        CoverageMode::Groups if table_width >= fixed_width(table_width) + 4 * 14 => 13,
        CoverageMode::Groups => 11,
        CoverageMode::Tactics | CoverageMode::Techniques => 9,
    }
}

/// How many cell columns fit next to the context and severity columns.
pub(crate) fn visible_columns(model: &Model, table_width: u16) -> usize {
    let w = cell_width(model.coverage.mode, table_width) + 1;
    usize::from(table_width.saturating_sub(fixed_width(table_width)) / w).max(1)
}

/// First column shown.
pub(crate) fn column_offset(model: &Model, table_width: u16, ncols: usize) -> usize {
    window_offset(
        model.coverage.column,
        model.coverage.column_offset,
        ncols,
        visible_columns(model, table_width),
    )
}

/// Evidence events of a session behind a column, and whether the session has the column's
/// group/tactic/technique at all (evidence is capped, so a tag can be present with no
/// evidence counted).
pub(crate) fn cell(model: &Model, e: &Entry, col: &CoverageColumn) -> (u64, bool) {
    let s = &e.session;
    match col {
        CoverageColumn::Group(g) => {
            let i = Group::ALL.iter().position(|x| x == g).unwrap_or(0);
            (u64::from(e.group_counts[i]), e.has(*g))
        }
        CoverageColumn::Tactic(x) => {
            let n = s
                .evidence
                .iter()
                .filter(|ev| {
                    model
                        .rules
                        .get(&ev.rule_id)
                        .is_some_and(|r| r.tactics.iter().any(|t| t == x))
                })
                .count();
            (n as u64, s.tactics.iter().any(|t| t == x))
        }
        CoverageColumn::Technique(x) => {
            let n = s
                .evidence
                .iter()
                .filter(|ev| {
                    model
                        .rules
                        .get(&ev.rule_id)
                        .is_some_and(|r| r.techniques.iter().any(|t| t == x))
                })
                .count();
            (n as u64, s.techniques.iter().any(|t| t == x))
        }
    }
}

/// Whether the evidence of a cell is what the cell-events overlay lists.
pub(crate) fn evidence_in_cell(
    model: &Model,
    ev: &crate::correlate::session::Evidence,
    col: &CoverageColumn,
) -> bool {
    match col {
        CoverageColumn::Group(g) => ev.group == Some(*g),
        CoverageColumn::Tactic(x) => model
            .rules
            .get(&ev.rule_id)
            .is_some_and(|r| r.tactics.iter().any(|t| t == x)),
        CoverageColumn::Technique(x) => model
            .rules
            .get(&ev.rule_id)
            .is_some_and(|r| r.techniques.iter().any(|t| t == x)),
    }
}

/// Column heading.
pub(crate) fn heading(col: &CoverageColumn) -> String {
    match col {
        CoverageColumn::Group(g) => group_short(*g).to_string(),
        _ => heading_narrow(col),
    }
}

/// Column heading for 11-column cells.
fn heading_narrow(col: &CoverageColumn) -> String {
    match col {
        CoverageColumn::Group(g) => match g {
            Group::RemoteAccess => "Remote Acc.",
            Group::CredentialHarvesting => "Cred Harv.",
            Group::NetworkRecon => "Net Recon",
            Group::SystemEnumeration => "Sys Enum",
        }
        .to_string(),
        CoverageColumn::Tactic(x) => text::clean(tactic_short(x)).into_owned(),
        CoverageColumn::Technique(x) => text::clean(x).into_owned(),
    }
}

fn cell_line(count: u64, present: bool, needed: bool, t: &Theme) -> (Line<'static>, Style) {
    if count > 0 {
        let level = heat_level(count);
        let txt = format!("{} {}", RAMP[level].repeat(2), text::compact(count));
        return (Line::from(txt), t.heat(count));
    }
    if present {
        return (Line::from(Span::styled("✔", t.group_on)), Style::new());
    }
    if needed {
        return (Line::from(Span::styled("◌", t.near_miss)), Style::new());
    }
    (Line::from(Span::styled("·", t.group_off)), Style::new())
}

pub(crate) fn render(model: &Model, body: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let store = &model.store;
    let lay = layout(body);
    let mode = model.coverage.mode;
    let cols_all = columns(model);
    let col_off_title = if store.is_empty() || cols_all.is_empty() {
        0
    } else {
        column_offset(model, lay.table.width, cols_all.len())
    };
    let nvis_title = visible_columns(model, lay.table.width).min(cols_all.len());
    let mut title = vec![
        Span::raw(" Coverage "),
        Span::styled(text::thousands(store.len() as u64), t.accent),
        Span::styled(" contexts × ", t.muted),
        Span::styled(mode.label(), t.accent),
        Span::raw(" "),
    ];
    if !store.filter().is_empty() {
        title.push(Span::styled(
            format!(
                "filter {} ",
                text::fit(&text::clean(store.filter().text()), 24)
            ),
            t.key,
        ));
    }
    let mut right: Vec<Span<'_>> = Vec::new();
    if nvis_title < cols_all.len() {
        right.push(Span::styled(
            format!(
                " columns {}-{} of {} ",
                col_off_title + 1,
                (col_off_title + nvis_title).min(cols_all.len()),
                cols_all.len()
            ),
            t.muted,
        ));
        right.push(Span::styled(
            if col_off_title > 0 { "◂" } else { " " },
            t.accent,
        ));
        right.push(Span::styled(
            if col_off_title + nvis_title < cols_all.len() {
                "▸ "
            } else {
                "  "
            },
            t.accent,
        ));
    }
    panel(Line::from(title), t, true)
        .title_top(Line::from(right).right_aligned())
        .render(body, buf);

    let legend = Line::from(vec![
        Span::raw(" "),
        Span::styled("░ 1", t.heat[0]),
        Span::raw(" "),
        Span::styled("▒ 2-3", t.heat[1]),
        Span::raw(" "),
        Span::styled("▓ 4-9", t.heat[2]),
        Span::raw(" "),
        Span::styled("█ 10+", t.heat[3]),
        Span::styled(" events   ", t.muted),
        Span::styled("✔", t.group_on),
        Span::styled(" seen (no evidence kept)   ", t.muted),
        Span::styled("◌", t.near_miss),
        Span::styled(" needed to escalate", t.muted),
    ]);
    buf.set_line(
        lay.legend.x,
        lay.legend.y,
        &fit_line(&legend, usize::from(lay.legend.width), Align::Left),
        lay.legend.width,
    );

    if store.is_empty() || cols_all.is_empty() {
        centered_text(
            buf,
            lay.table,
            &[Line::from(Span::styled(
                if store.total() == 0 {
                    "No sessions yet: the matrix fills as rules fire"
                } else {
                    "Nothing to show with this filter"
                },
                t.muted,
            ))],
        );
        return;
    }

    let col_off = column_offset(model, lay.table.width, cols_all.len());
    let nvis = visible_columns(model, lay.table.width).min(cols_all.len() - col_off);
    let shown = &cols_all[col_off..col_off + nvis];
    let cw = cell_width(mode, lay.table.width);
    let mut columns = vec![
        Column::new("CONTEXT", Constraint::Fill(1)),
        Column::new("SEV", Constraint::Length(4)),
    ];
    for c in shown {
        let name = if cw < 13 {
            heading_narrow(c)
        } else {
            heading(c)
        };
        let mut col = Column::new(name, Constraint::Length(cw));
        col.align = Align::Center;
        columns.push(col);
    }
    let rows_h = lay.rows();
    let cur = model.sessions.cursor;
    let offset = window_offset(cur.selected, cur.offset, store.len(), rows_h);
    let sel_col = model.coverage.column.checked_sub(col_off);
    let rows: Vec<(Vec<Line<'_>>, Style)> = store
        .window(offset, rows_h)
        .map(|e| {
            let s = &e.session;
            let mut cells = vec![
                Line::from(e.label.as_str()),
                Line::from(severity_span(s.severity, t)),
            ];
            for c in shown {
                let (count, present) = cell(model, e, c);
                let needed =
                    matches!(c, CoverageColumn::Group(g) if s.near_miss.missing_groups.contains(g));
                let (mut line, style) = cell_line(count, present, needed, t);
                line = line.patch_style(style);
                cells.push(line);
            }
            (cells, Style::new())
        })
        .collect();
    DataTable::new(&columns)
        .rows(rows)
        .selected(cur.selected.checked_sub(offset))
        .styles(t.header, t.selected)
        .render(lay.table, buf);

    // Heat backgrounds span the whole cell, and the selected cell stands out from its row.
    let areas = DataTable::column_areas(&columns, lay.table);
    for (r, e) in store.window(offset, rows_h).enumerate() {
        let y = lay.table.y + 1 + r as u16;
        for (i, c) in shown.iter().enumerate() {
            let Some(rect) = areas.get(i + 2) else {
                continue;
            };
            let (count, _) = cell(model, e, c);
            let cell_rect = Rect::new(rect.x, y, rect.width, 1);
            if count > 0 {
                buf.set_style(cell_rect, t.heat(count));
            }
            if offset + r == cur.selected && sel_col == Some(i) {
                // Underlined too, so the cell stands out even where the row is reversed
                // (the no-colour theme).
                buf.set_style(
                    cell_rect,
                    t.tab_active.add_modifier(
                        ratatui::style::Modifier::UNDERLINED | ratatui::style::Modifier::BOLD,
                    ),
                );
            }
        }
    }
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
}
