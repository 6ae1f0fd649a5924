//! Drawing: [`view()`] is a pure function of the [`Model`] into a ratatui [`Frame`].
//!
//! Layout functions (`*_area`) are shared with `update`, which needs the same geometry for page
//! sizes and mouse hits; the view never stores anything.

pub(crate) mod coverage;
pub(crate) mod detail;
pub(crate) mod overlay;
pub(crate) mod overview;
pub(crate) mod search;
pub(crate) mod sessions;
pub(crate) mod sources;
pub(crate) mod triage;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::model::{Focus, MIN_HEIGHT, MIN_WIDTH, Model, Screen};
use super::msg::NoticeLevel;
use super::text;
use super::widgets::{centered_text, fit_line, hints};
use crate::event::Severity;

/// Draw the whole screen.
pub fn view(model: &Model, frame: &mut Frame<'_>) {
    let area = frame.area();
    let cursor = {
        let buf = frame.buffer_mut();
        draw(model, area, buf)
    };
    if let Some(pos) = cursor {
        frame.set_cursor_position(pos);
    }
}

/// Draw into a buffer; returns where the text cursor goes when an input has focus.
pub(crate) fn draw(model: &Model, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let theme = &model.theme;
    buf.set_style(area, theme.base);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(model, area, buf);
        return None;
    }
    let (top, body, bottom) = chrome(area);
    top_bar(model, top, buf);
    let mut cursor = match model.screen {
        Screen::Overview => {
            overview::render(model, body, buf);
            None
        }
        Screen::Sessions => {
            sessions::render(model, body, buf);
            None
        }
        Screen::Detail => {
            detail::render(model, body, buf);
            None
        }
        Screen::Coverage => {
            coverage::render(model, body, buf);
            None
        }
        Screen::Search => search::render(model, body, buf),
        Screen::Sources => {
            sources::render(model, body, buf);
            None
        }
        Screen::Triage => triage::render(model, body, buf),
    };
    if let Some(c) = bottom_bar(model, bottom, buf) {
        cursor = Some(c);
    }
    if model.overlay.is_some() {
        // Dim what is behind a panel so the panel reads as modal.
        buf.set_style(
            body,
            Style::new().add_modifier(ratatui::style::Modifier::DIM),
        );
        overlay::render(model, body, buf);
    }
    cursor
}

/// Top bar, body, bottom bar.
pub(crate) fn chrome(area: Rect) -> (Rect, Rect, Rect) {
    let top = Rect::new(area.x, area.y, area.width, 1);
    let body = Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(2),
    );
    let bottom = Rect::new(area.x, area.bottom().saturating_sub(1), area.width, 1);
    (top, body, bottom)
}

/// The body rectangle for the model's terminal size (what `update` lays lists out in).
pub(crate) fn body_area(model: &Model) -> Rect {
    chrome(Rect::new(0, 0, model.width, model.height)).1
}

fn too_small(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let lines = [
        Line::from(Span::styled("Terminal too small", t.error)),
        Line::from(Span::styled(
            format!(
                "{}×{} here; lateral needs at least {MIN_WIDTH}×{MIN_HEIGHT}",
                area.width, area.height
            ),
            t.base,
        )),
        Line::from(Span::styled(
            "Enlarge the window or make the font smaller",
            t.muted,
        )),
        Line::from(vec![
            Span::styled("q", t.key),
            Span::styled(" quits", t.muted),
        ]),
    ];
    // Lines wider than a tiny terminal are cut, not wrapped, so each stays one line.
    let fitted: Vec<Line<'_>> = lines
        .iter()
        .map(|l| {
            let w = l.width().min(usize::from(area.width));
            fit_line(l, w, text::Align::Left)
        })
        .collect();
    centered_text(buf, area, &fitted);
}

/// Tab labels and their columns in the top bar: (screen, first column, width).
pub(crate) fn tab_positions(width: u16) -> Vec<(Screen, u16, u16)> {
    let wide = width >= 100;
    // On narrow terminals the brand gives way to the live status.
    let mut x = if wide { BRAND.len() as u16 + 1 } else { 1 };
    let mut out = Vec::new();
    for s in Screen::ALL {
        let label = tab_label(s, wide);
        let w = text::width(&label) as u16;
        out.push((s, x, w));
        x += w + u16::from(!wide);
    }
    out
}

/// Column of a screen's tab in a top bar `width` columns wide (for tests and the runtime's
/// own hit-testing, should it want any).
pub fn tab_x(screen: Screen, width: u16) -> u16 {
    tab_positions(width)
        .into_iter()
        .find(|(s, _, _)| *s == screen)
        .map_or(0, |(_, x, _)| x)
}

const BRAND: &str = " lateral ";

fn tab_label(s: Screen, wide: bool) -> String {
    if wide {
        format!(" {} {} ", s.number(), s.title())
    } else {
        format!("{} {}", s.number(), s.title())
    }
}

fn top_bar(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    buf.set_style(area, t.bar);
    let wide = area.width >= 100;
    if wide {
        buf.set_string(area.x, area.y, BRAND, t.accent.patch(bar_bg(t.bar)));
    }
    let mut end = area.x;
    for (s, x, w) in tab_positions(area.width) {
        let style = if s == model.screen {
            t.tab_active
        } else {
            t.tab
        };
        buf.set_string(area.x + x, area.y, tab_label(s, wide), style);
        end = area.x + x + w;
    }
    // Right side: as much status as fits, most important last dropped.
    let status = status_spans(model);
    let room = usize::from(area.right().saturating_sub(end + 2));
    let mut used = 0;
    let mut shown: Vec<Span<'_>> = Vec::new();
    for group in status {
        let w: usize = group.iter().map(|s| text::width(&s.content)).sum();
        let sep = usize::from(!shown.is_empty()) * 3;
        if used + w + sep > room {
            break;
        }
        if !shown.is_empty() {
            shown.insert(0, Span::styled(" · ", t.muted.patch(bar_bg(t.bar))));
        }
        for s in group.into_iter().rev() {
            shown.insert(0, s);
        }
        used += w + sep;
    }
    let line = Line::from(shown);
    let x = area.right().saturating_sub(used as u16 + 1);
    buf.set_line(x, area.y, &line, used as u16);
}

/// Only the background of the bar style, so spans keep their own foreground on the bar.
fn bar_bg(bar: Style) -> Style {
    match bar.bg {
        Some(bg) => Style::new().bg(bg),
        None => Style::new(),
    }
}

/// Status groups for the top bar, most important first.
fn status_spans(model: &Model) -> Vec<Vec<Span<'static>>> {
    let t = &model.theme;
    let bg = bar_bg(t.bar);
    let mut groups = Vec::new();
    let crit = model.store.count(Severity::Critical);
    let high = model.store.count(Severity::High);
    if crit + high > 0 {
        let mut g = Vec::new();
        if crit > 0 {
            g.push(Span::styled(
                format!("{crit} crit"),
                bg.patch(t.severity(Severity::Critical)),
            ));
        }
        if high > 0 {
            if !g.is_empty() {
                g.push(Span::styled(" ", bg));
            }
            g.push(Span::styled(
                format!("{high} high"),
                bg.patch(t.severity(Severity::High)),
            ));
        }
        groups.push(g);
    } else {
        groups.push(vec![Span::styled(
            format!("{} sessions", model.store.total()),
            bg.patch(t.muted),
        )]);
    }
    let rate: u64 = model
        .stats
        .kinds
        .iter()
        .filter_map(|k| k.per_second.last())
        .sum();
    let live = rate > 0;
    groups.push(vec![
        Span::styled(
            if live { "● " } else { "○ " },
            bg.patch(if live { t.ok } else { t.muted }),
        ),
        Span::styled(format!("{} ev/s", text::compact(rate)), t.bar),
    ]);
    if let Some(w) = model.stats.watermark {
        groups.push(vec![Span::styled(
            format!("{}Z", text::time_of_day(w)),
            bg.patch(t.muted),
        )]);
    }
    groups
}

fn bottom_bar(model: &Model, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let t = &model.theme;
    buf.set_style(area, t.bar);
    let input = match model.focus {
        Focus::Filter => Some(("/", "filter ", &model.sessions.filter_input)),
        Focus::Palette => Some((":", "", &model.palette)),
        _ => None,
    };
    if let Some((prompt, label, input)) = input {
        let lead = format!(" {prompt} {label}");
        buf.set_string(area.x, area.y, &lead, t.key.patch(bar_bg(t.bar)));
        let x = area.x + text::width(&lead) as u16;
        let hint = if model.focus == Focus::Palette {
            palette_hint(model.palette.text())
        } else {
            "⏎ keep  esc cancel  words, -word, sev:high, group:ra, is:open".to_string()
        };
        let hint_w = (text::width(&hint) as u16).min(area.width / 2);
        let hint = text::fit(&hint, usize::from(hint_w));
        let cols = area.right().saturating_sub(x + hint_w + 2);
        let (shown, col) = input.visible(usize::from(cols));
        buf.set_style(Rect::new(x, area.y, cols, 1), t.input);
        buf.set_string(x, area.y, &shown, t.input);
        buf.set_string(
            area.right().saturating_sub(hint_w + 1),
            area.y,
            &hint,
            t.muted.patch(bar_bg(t.bar)),
        );
        return Some(Position::new(x + col as u16, area.y));
    }
    if let Some((notice, _)) = &model.notice {
        let style = match notice.level {
            NoticeLevel::Info => t.ok,
            NoticeLevel::Warn => t.warning,
            NoticeLevel::Error => t.error,
        }
        .patch(bar_bg(t.bar));
        let msg = text::clean(&notice.text);
        let line = Line::from(Span::styled(format!(" {msg}"), style));
        buf.set_line(
            area.x,
            area.y,
            &fit_line(&line, usize::from(area.width), text::Align::Left),
            area.width,
        );
        return None;
    }
    // Drop whole hints from the end rather than cutting one in half; help stays last.
    let mut pairs = screen_hints(model);
    while pairs.len() > 2 && hints_width(&pairs) + 1 > usize::from(area.width) {
        pairs.remove(pairs.len() - 3);
    }
    let line = hints(&pairs, t);
    let line = Line::from(
        std::iter::once(Span::raw(" "))
            .chain(line.spans)
            .map(|s| {
                let st = s.style.patch(bar_bg(t.bar));
                s.style(st)
            })
            .collect::<Vec<_>>(),
    );
    buf.set_line(
        area.x,
        area.y,
        &fit_line(&line, usize::from(area.width), text::Align::Left),
        area.width,
    );
    None
}

fn hints_width(pairs: &[(&str, &str)]) -> usize {
    pairs
        .iter()
        .map(|(k, w)| text::width(k) + 1 + text::width(w) + 2)
        .sum()
}

fn palette_hint(typed: &str) -> String {
    let word = typed.split_whitespace().next().unwrap_or("");
    let matching: Vec<&str> = super::update::PALETTE_COMMANDS
        .iter()
        .map(|(name, _)| *name)
        .filter(|n| n.starts_with(word))
        .collect();
    match matching.as_slice() {
        [] => "unknown command".to_string(),
        [one] => super::update::PALETTE_COMMANDS
            .iter()
            .find(|(n, _)| n == one)
            .map_or(String::new(), |(_, usage)| (*usage).to_string()),
        many => many.join(" "),
    }
}

/// Key hints for the bottom bar of the current screen.
fn screen_hints(model: &Model) -> Vec<(&'static str, &'static str)> {
    let mut h: Vec<(&'static str, &'static str)> = match model.screen {
        Screen::Overview => vec![("2", "sessions"), ("6", "sources")],
        Screen::Sessions => vec![
            ("j/k", "move"),
            ("⏎", "open"),
            ("/", "filter"),
            ("s/S", "sort"),
            ("p", "pivot"),
        ],
        Screen::Detail => vec![
            ("j/k", "event"),
            ("⏎", "fields"),
            ("p", "pivot"),
            ("[ ]", "prev/next"),
            ("esc", "back"),
        ],
        Screen::Coverage => vec![
            ("hjkl", "cell"),
            ("⏎", "events"),
            ("t", "groups/tactics/techniques"),
            ("/", "filter"),
        ],
        Screen::Search => {
            if model.focus == Focus::SearchInput {
                vec![("⏎", "run"), ("↑↓", "history"), ("esc", "results")]
            } else {
                vec![
                    ("/", "edit query"),
                    ("j/k", "move"),
                    ("⏎", "fields"),
                    ("p", "pivot"),
                    ("x", "clear range"),
                ]
            }
        }
        Screen::Sources => vec![("j/k", "move"), ("y", "copy path")],
        Screen::Triage => {
            if model.focus == Focus::TriageNote {
                vec![("⏎", "save note"), ("esc", "cancel")]
            } else {
                vec![
                    ("j/k", "case"),
                    ("n/p", "step"),
                    ("space", "status"),
                    ("e", "note"),
                    ("⏎", "pivot"),
                    ("a", "attach"),
                    ("h/l y", "artifact"),
                ]
            }
        }
    };
    h.extend([(":", "command"), ("?", "help"), ("q", "quit")]);
    h
}
