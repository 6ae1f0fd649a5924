//! Widgets rendered into a `Buffer` and compared with the expected screen lines.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use lateral::correlate::Group;
use lateral::tui::Theme;
use lateral::tui::text::Align;
use lateral::tui::widgets::{Column, DataTable, group_marks, scrollbar, sparkline};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Widget;

fn render(w: u16, h: u16, f: impl FnOnce(Rect, &mut Buffer)) -> Buffer {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    f(area, &mut buf);
    buf
}

fn row(cells: &[&str]) -> (Vec<Line<'static>>, Style) {
    (
        cells.iter().map(|c| Line::from((*c).to_string())).collect(),
        Style::new(),
    )
}

#[test]
fn table_fits_cells_aligns_numbers_and_cuts_with_an_ellipsis() {
    let cols = [
        Column::new("HOST", Constraint::Length(8)),
        Column::new("COMMAND", Constraint::Fill(1)),
        Column::right("N", Constraint::Length(5)),
    ];
    let buf = render(30, 4, |area, buf| {
        DataTable::new(&cols)
            .rows([
                row(&["ws01", "whoami /all", "3"]),
                row(&[
                    "a-very-long-host",
                    "net group \"domain admins\" /domain",
                    "12345",
                ]),
                row(&["東京サーバー", "東京都庁", "7"]),
            ])
            .render(area, buf);
    });
    let expected = Buffer::with_lines([
        "HOST     COMMAND             N",
        "ws01     whoami /all         3",
        "a-very-… net group \"dom… 12345",
        "東京サ…  東京都庁            7",
    ]);
    assert_eq!(buf, expected);
}

#[test]
fn table_draws_only_the_rows_it_is_given_and_stops_at_the_bottom() {
    let cols = [Column::new("ID", Constraint::Fill(1))];
    let buf = render(6, 3, |area, buf| {
        DataTable::new(&cols)
            .rows((0..10).map(|i| row(&[&format!("row{i}")])))
            .render(area, buf);
    });
    assert_eq!(buf, Buffer::with_lines(["ID    ", "row0  ", "row1  "]));
}

#[test]
fn group_marks_line_up_under_their_header() {
    let theme = Theme::no_color();
    let buf = render(11, 2, |area, buf| {
        buf.set_string(
            0,
            0,
            lateral::tui::widgets::group_marks_header(),
            Style::new(),
        );
        let marks = group_marks(&[Group::RemoteAccess, Group::SystemEnumeration], &theme);
        buf.set_line(0, 1, &marks, area.width);
    });
    let mut expected = Buffer::with_lines(["RA CH NR SE", "✔  ·  ·  ✔ "]);
    // Styles come from the theme: present bold, absent dim.
    expected.set_style(Rect::new(0, 1, 1, 1), theme.group_on);
    expected.set_style(Rect::new(3, 1, 1, 1), theme.group_off);
    expected.set_style(Rect::new(6, 1, 1, 1), theme.group_off);
    expected.set_style(Rect::new(9, 1, 1, 1), theme.group_on);
    assert_eq!(buf, expected);
}

#[test]
fn scrollbar_thumb_tracks_the_offset() {
    let theme = Theme::no_color();
    let draw = |offset| render(1, 4, |area, buf| scrollbar(buf, area, offset, 8, &theme));
    let top = draw(0);
    let bottom = draw(4);
    let sym = |b: &Buffer| -> String { (0..4).map(|y| b[(0, y)].symbol().to_string()).collect() };
    assert_eq!(sym(&top), "┃┃││");
    assert_eq!(sym(&bottom), "││┃┃");
    // Nothing when everything fits.
    let none = render(1, 4, |area, buf| scrollbar(buf, area, 0, 3, &theme));
    assert_eq!(none, Buffer::with_lines([" ", " ", " ", " "]));
}

#[test]
fn sparkline_in_a_buffer() {
    let buf = render(8, 1, |_, buf| {
        buf.set_string(0, 0, sparkline(&[0, 1, 2, 3, 4, 5, 6, 8], 8), Style::new());
    });
    assert_eq!(buf, Buffer::with_lines([" ▁▂▃▄▅▆█"]));
}

#[test]
fn pad_and_fit_keep_wide_characters_whole() {
    use lateral::tui::text::{pad, width};
    for s in ["東京", "🔑key", "e\u{301}te", "abc"] {
        for cols in 0..8 {
            assert_eq!(width(&pad(s, cols, Align::Left)), cols, "{s:?} in {cols}");
        }
    }
}
