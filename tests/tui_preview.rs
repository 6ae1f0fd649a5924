//! Renders screens with each shipped theme to SVG files for a person to look at
//! (`cargo test --test tui_preview -- --ignored`, files in `$TUI_PREVIEW_DIR` or the temp dir).
//! Not a check: the snapshots check the text; this shows the colours.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod tui_support;

use std::fmt::Write as _;

use lateral::tui::{Msg, Theme, update};
use ratatui::buffer::{Buffer, CellWidth};
use ratatui::crossterm::event::KeyCode;
use ratatui::style::{Color, Modifier};
use tui_support::*;

fn hex(c: Color, default: &str) -> String {
    let named = |s: &str| s.to_string();
    match c {
        Color::Reset => default.to_string(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Black => named("#000000"),
        Color::Red => named("#cd3131"),
        Color::Green => named("#0dbc79"),
        Color::Yellow => named("#e5e510"),
        Color::Blue => named("#2472c8"),
        Color::Magenta => named("#bc3fbc"),
        Color::Cyan => named("#11a8cd"),
        Color::Gray => named("#c0c0c0"),
        Color::DarkGray => named("#666666"),
        Color::LightRed => named("#f14c4c"),
        Color::LightGreen => named("#23d18b"),
        Color::LightYellow => named("#f5f543"),
        Color::LightBlue => named("#3b8eea"),
        Color::LightMagenta => named("#d670d6"),
        Color::LightCyan => named("#29b8db"),
        Color::White => named("#ffffff"),
        Color::Indexed(i) => {
            let v = 8 + u32::from(i % 24) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
    }
}

fn svg(buf: &Buffer, term_bg: &str, term_fg: &str) -> String {
    let (cw, ch) = (9u32, 18u32);
    let w = u32::from(buf.area.width) * cw;
    let h = u32::from(buf.area.height) * ch;
    let mut out = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='DejaVu Sans Mono' font-size='15'>\n<rect width='{w}' height='{h}' fill='{term_bg}'/>\n"
    );
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            let mut fg = hex(c.fg, term_fg);
            let mut bg = hex(c.bg, term_bg);
            if c.modifier.contains(Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut bg);
            }
            let (px, py) = (u32::from(x) * cw, u32::from(y) * ch);
            if bg != term_bg {
                let _ = writeln!(
                    out,
                    "<rect x='{px}' y='{py}' width='{cw}' height='{ch}' fill='{bg}'/>"
                );
            }
            let sym = c.symbol();
            if sym.trim().is_empty() {
                continue;
            }
            let esc = sym
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            let weight = if c.modifier.contains(Modifier::BOLD) {
                " font-weight='bold'"
            } else {
                ""
            };
            let op = if c.modifier.contains(Modifier::DIM) {
                " opacity='0.55'"
            } else {
                ""
            };
            let ul = if c.modifier.contains(Modifier::UNDERLINED) {
                " text-decoration='underline'"
            } else {
                ""
            };
            let tw = u32::from(sym.cell_width()) * cw;
            let _ = writeln!(
                out,
                "<text x='{px}' y='{}' fill='{fg}'{weight}{op}{ul} textLength='{tw}' lengthAdjust='spacingAndGlyphs'>{esc}</text>",
                py + 14
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[test]
#[ignore = "writes SVG previews for a person to look at"]
fn previews() {
    let dir = std::env::var("TUI_PREVIEW_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    for theme in Theme::builtin_names() {
        let screens: Vec<(&str, Vec<Msg>)> = vec![
            ("overview", vec![]),
            ("sessions", vec![ch('2'), ch('j')]),
            ("detail", vec![ch('2'), key(KeyCode::Enter), ch('j')]),
            ("coverage", vec![ch('4'), ch('j'), ch('l')]),
            ("sources", vec![ch('6')]),
            ("help", vec![ch('2'), ch('?')]),
            (
                "event",
                vec![ch('2'), key(KeyCode::Enter), key(KeyCode::Enter)],
            ),
        ];
        for (name, keys) in screens {
            let mut m = loaded(120, 40);
            update(&mut m, Msg::Theme(Box::new(Theme::builtin(theme).unwrap())));
            feed(&mut m, keys);
            // Answer any event request so the fields panel has content.
            update(&mut m, Msg::EventLoaded(Box::new(event("a1f0-1024", 131))));
            let backend = render(&m, 120, 40);
            let (bg, fg) = if theme == "light" {
                ("#fafafa", "#343b58")
            } else {
                ("#16161e", "#c8d3f5")
            };
            let path = format!("{dir}/{theme}-{name}.svg");
            std::fs::write(&path, svg(backend.buffer(), bg, fg)).unwrap();
        }
    }
}
