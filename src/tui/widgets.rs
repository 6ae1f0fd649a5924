//! Small widgets the screens share: a windowed table, sparklines, bars, severity badges, group
//! marks, a scrollbar and panels.
//!
//! Every widget draws only what it is given: callers pass the visible window of their rows,
//! never the whole list.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::catalog::group_tag;
use super::text::{self, Align};
use super::theme::Theme;
use crate::correlate::Group;
use crate::event::Severity;

/// A table column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Header text.
    pub title: String,
    /// Width rule (resolved with one space between columns).
    pub width: Constraint,
    /// Alignment of header and cells.
    pub align: Align,
}

impl Column {
    /// A left-aligned column.
    pub fn new(title: impl Into<String>, width: Constraint) -> Self {
        Column {
            title: title.into(),
            width,
            align: Align::Left,
        }
    }

    /// A right-aligned column (numbers).
    pub fn right(title: impl Into<String>, width: Constraint) -> Self {
        Column {
            title: title.into(),
            width,
            align: Align::Right,
        }
    }
}

/// A table that draws exactly the rows it is given (the caller's visible window), one line
/// each, every cell fitted to its column with an ellipsis.
#[derive(Debug)]
pub struct DataTable<'a> {
    columns: &'a [Column],
    rows: Vec<Vec<Line<'a>>>,
    row_styles: Vec<Style>,
    selected: Option<usize>,
    header_style: Style,
    selected_style: Style,
}

impl<'a> DataTable<'a> {
    /// A table with these columns.
    pub fn new(columns: &'a [Column]) -> Self {
        DataTable {
            columns,
            rows: Vec::new(),
            row_styles: Vec::new(),
            selected: None,
            header_style: Style::new(),
            selected_style: Style::new(),
        }
    }

    /// Add a row (one line per column).
    pub fn row(mut self, cells: Vec<Line<'a>>, style: Style) -> Self {
        self.rows.push(cells);
        self.row_styles.push(style);
        self
    }

    /// Add rows.
    pub fn rows(mut self, rows: impl IntoIterator<Item = (Vec<Line<'a>>, Style)>) -> Self {
        for (cells, style) in rows {
            self.rows.push(cells);
            self.row_styles.push(style);
        }
        self
    }

    /// Highlight row `i` of those given.
    pub fn selected(mut self, i: Option<usize>) -> Self {
        self.selected = i;
        self
    }

    /// Header and selection styles.
    pub fn styles(mut self, header: Style, selected: Style) -> Self {
        self.header_style = header;
        self.selected_style = selected;
        self
    }

    /// Column rectangles for a table drawn in `area` (also used for mouse hits on headers).
    pub fn column_areas(columns: &[Column], area: Rect) -> Vec<Rect> {
        Layout::horizontal(columns.iter().map(|c| c.width))
            .spacing(1)
            .split(Rect::new(area.x, area.y, area.width, 1))
            .to_vec()
    }
}

impl Widget for DataTable<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.height == 0 || area.width == 0 {
            return;
        }
        let cols = DataTable::column_areas(self.columns, area);
        for (col, rect) in self.columns.iter().zip(&cols) {
            let line = Line::from(Span::styled(
                text::pad(&col.title, usize::from(rect.width), col.align),
                self.header_style,
            ));
            buf.set_line(rect.x, area.y, &line, rect.width);
        }
        buf.set_style(Rect::new(area.x, area.y, area.width, 1), self.header_style);
        for (i, (cells, style)) in self.rows.iter().zip(&self.row_styles).enumerate() {
            let y = area.y + 1 + i as u16;
            if y >= area.bottom() {
                break;
            }
            let row = Rect::new(area.x, y, area.width, 1);
            buf.set_style(row, *style);
            for ((col, rect), cell) in self.columns.iter().zip(&cols).zip(cells) {
                let fitted = fit_line(cell, usize::from(rect.width), col.align);
                buf.set_line(rect.x, y, &fitted, rect.width);
            }
            if self.selected == Some(i) {
                buf.set_style(row, self.selected_style);
            }
        }
    }
}

/// Fit a styled line into exactly `cols` columns: cut with `…` (in the style of the span that
/// was cut), then pad per `align`.
pub fn fit_line<'a>(line: &Line<'a>, cols: usize, align: Align) -> Line<'a> {
    let total: usize = line.spans.iter().map(|s| text::width(&s.content)).sum();
    let mut spans: Vec<Span<'a>> = Vec::with_capacity(line.spans.len() + 1);
    let mut used = 0;
    if total <= cols {
        spans.extend(line.spans.iter().cloned());
        used = total;
    } else {
        for s in &line.spans {
            let w = text::width(&s.content);
            if used + w <= cols.saturating_sub(1) {
                spans.push(s.clone());
                used += w;
                continue;
            }
            let room = cols - used;
            let cut = text::fit(&s.content, room).into_owned();
            used += text::width(&cut);
            spans.push(Span::styled(cut, s.style));
            break;
        }
    }
    let gap = cols.saturating_sub(used);
    let (left, right) = match align {
        Align::Left => (0, gap),
        Align::Right => (gap, 0),
        Align::Center => (gap / 2, gap - gap / 2),
    };
    if left > 0 {
        spans.insert(0, Span::raw(" ".repeat(left)));
    }
    if right > 0 {
        spans.push(Span::raw(" ".repeat(right)));
    }
    Line::from(spans)
}

/// Eighth blocks for sparklines, from empty to full.
const SPARK: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line sparkline of the newest `width` values, scaled to their maximum. Any non-zero
/// value shows at least the lowest bar, so a trickle is distinguishable from silence.
pub fn sparkline(values: &[u64], width: usize) -> String {
    let start = values.len().saturating_sub(width);
    let shown = &values[start..];
    let max = shown.iter().copied().max().unwrap_or(0);
    let mut out = String::with_capacity(width * 3);
    out.extend(std::iter::repeat_n(' ', width - shown.len()));
    for &v in shown {
        let level = if max == 0 || v == 0 {
            0
        } else {
            ((v * 8).div_ceil(max)).clamp(1, 8) as usize
        };
        out.push(SPARK[level]);
    }
    out
}

/// A multi-row bar chart of `values` (one column each, left to right), `rows` high, as lines
/// from top to bottom.
pub fn column_chart(values: &[u64], rows: usize) -> Vec<String> {
    let max = values.iter().copied().max().unwrap_or(0);
    let mut lines = vec![String::with_capacity(values.len() * 3); rows];
    for &v in values {
        // Height in eighths of a row.
        let eighths = if max == 0 || v == 0 {
            0
        } else {
            ((v * 8 * rows as u64).div_ceil(max)).max(1)
        };
        for (r, line) in lines.iter_mut().enumerate() {
            let from_bottom = (rows - 1 - r) as u64;
            let fill = eighths.saturating_sub(from_bottom * 8).min(8) as usize;
            line.push(SPARK[fill]);
        }
    }
    lines
}

/// Partial blocks for horizontal bars, in eighths.
const HBAR: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

/// A horizontal bar of `value / max` over `width` columns, in eighths of a column.
pub fn hbar(value: u64, max: u64, width: usize) -> String {
    if max == 0 || value == 0 || width == 0 {
        return String::new();
    }
    let eighths = (value.saturating_mul(width as u64 * 8) / max).max(1) as usize;
    let full = eighths / 8;
    let mut out = "█".repeat(full.min(width));
    let rest = eighths % 8;
    if rest > 0 && full < width {
        out.push(HBAR[rest - 1]);
    }
    out
}

/// Four-letter severity label: the badge carries the meaning, colour only reinforces it.
pub fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRIT",
        Severity::High => "HIGH",
        Severity::Medium => "MED",
        Severity::Low => "LOW",
        Severity::Info => "INFO",
    }
}

/// The severity badge.
pub fn severity_span(s: Severity, theme: &Theme) -> Span<'static> {
    Span::styled(severity_label(s), theme.severity(s))
}

/// `✔ ✔ · ·` for the four groups, in [`Group::ALL`] order.
pub fn group_marks(groups: &[Group], theme: &Theme) -> Line<'static> {
    let mut spans = Vec::with_capacity(8);
    for (i, g) in Group::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        if groups.contains(g) {
            spans.push(Span::styled("✔", theme.group_on));
        } else {
            spans.push(Span::styled("·", theme.group_off));
        }
    }
    Line::from(spans)
}

/// Header for the group marks column (`RA CH NR SE`, aligned with [`group_marks`]).
pub fn group_marks_header() -> String {
    Group::ALL
        .iter()
        .map(|g| group_tag(*g))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A bordered panel with a title; focused panels get the focus border.
pub fn panel<'a>(title: impl Into<Line<'a>>, theme: &Theme, focused: bool) -> Block<'a> {
    let title: Line<'a> = title.into();
    Block::new()
        .borders(Borders::ALL)
        .border_set(border::ROUNDED)
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        })
        .title(title.style(theme.title))
}

/// A vertical scrollbar in the last column of `area` when `len` rows do not fit.
pub fn scrollbar(buf: &mut Buffer, area: Rect, offset: usize, len: usize, theme: &Theme) {
    let h = usize::from(area.height);
    if h == 0 || len <= h || area.width == 0 {
        return;
    }
    let x = area.right() - 1;
    let thumb = (h * h / len).max(1);
    let max_off = len - h;
    let top = if max_off == 0 {
        0
    } else {
        (offset.min(max_off) * (h - thumb)).div_ceil(max_off)
    };
    for r in 0..h {
        let y = area.y + r as u16;
        let (sym, style) = if r >= top && r < top + thumb {
            ("┃", theme.accent)
        } else {
            ("│", theme.border)
        };
        buf[(x, y)].set_symbol(sym).set_style(style);
    }
}

/// A line of key hints: `key` in the key style, its meaning muted.
pub fn hints(pairs: &[(&'static str, &'static str)], theme: &Theme) -> Line<'static> {
    let mut spans = Vec::with_capacity(pairs.len() * 3);
    for (i, (k, what)) in pairs.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("  ", theme.muted));
        }
        spans.push(Span::styled(*k, theme.key));
        spans.push(Span::styled(format!(" {what}"), theme.muted));
    }
    Line::from(spans)
}

/// Draw lines centered in `area`, each cut to its width.
pub fn centered_text(buf: &mut Buffer, area: Rect, lines: &[Line<'_>]) {
    let top = area.y + area.height.saturating_sub(lines.len() as u16) / 2;
    for (i, line) in lines.iter().enumerate() {
        let y = top + i as u16;
        if y >= area.bottom() {
            break;
        }
        let w = line.width().min(usize::from(area.width));
        let fitted = fit_line(line, w, Align::Left);
        let x = area.x + area.width.saturating_sub(w as u16) / 2;
        buf.set_line(x, y, &fitted, area.width);
    }
}

/// A rectangle of `width`×`height` centered in `area` (clamped to it).
pub fn centered_rect(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_to_the_maximum() {
        assert_eq!(sparkline(&[0, 1, 4, 8], 4), " ▁▄█");
        assert_eq!(sparkline(&[5, 5], 4), "  ██");
        assert_eq!(sparkline(&[0, 0], 2), "  ");
        assert_eq!(sparkline(&[1, 2, 3, 100], 2), "▁█");
        assert_eq!(sparkline(&[1, 1000], 2), "▁█", "a trickle still shows");
    }

    #[test]
    fn column_chart_stacks_rows() {
        assert_eq!(column_chart(&[0, 1, 2], 2), vec!["  █", " ██"]);
        assert_eq!(column_chart(&[4, 1], 1), vec!["█▂"]);
    }

    #[test]
    fn hbar_uses_eighths() {
        assert_eq!(hbar(1, 2, 4), "██");
        assert_eq!(hbar(1, 16, 1), "▏");
        assert_eq!(hbar(0, 16, 4), "");
        assert_eq!(hbar(10, 10, 3), "███");
    }

    #[test]
    fn fit_line_cuts_across_spans() {
        let l = Line::from(vec![Span::raw("abc"), Span::raw("defgh")]);
        let f = fit_line(&l, 6, Align::Left);
        assert_eq!(f.to_string(), "abcde…");
        let f = fit_line(&l, 10, Align::Right);
        assert_eq!(f.to_string(), "  abcdefgh");
        let l = Line::from("東京都");
        assert_eq!(fit_line(&l, 5, Align::Left).to_string(), "東京…");
    }
}
