//! Untrusted text made safe for the terminal and fitted to columns, plus the number and time
//! formats every screen shares.
//!
//! Everything a log said (hosts, users, command lines, paths, rule output) reaches a cell only
//! through [`clean`]: [`sanitize`] escapes control characters, escape sequences and bidi
//! overrides; on top of that the invisible format characters that can hide or reorder text
//! (zero-width spaces and joiners, directional marks, the BOM) are shown as `\u{..}`. Widths are
//! measured per grapheme cluster with ratatui's own [`CellWidth`], so a cut string occupies
//! exactly the columns ratatui will draw and wide characters (CJK, emoji) keep tables aligned.

use std::borrow::Cow;
use std::fmt::Write as _;

use ratatui::buffer::CellWidth;
use unicode_segmentation::UnicodeSegmentation;

use crate::event::{Nanos, sanitize};

/// Characters of one log value kept before fitting: a cell is never wider than a screen, and
/// the full value stays available in the all-fields view (which pages through it).
pub const FIELD_LIMIT: usize = 1024;

/// Format characters that draw nothing but can hide or reorder text (CVE-2021-42574 lists the
/// bidi ones; `sanitize` already escapes the overrides and isolates).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}'
    )
}

/// Make untrusted text safe to draw: control characters, escape sequences, bidi overrides and
/// invisible format characters are shown escaped; the result is at most [`FIELD_LIMIT`]
/// characters (plus an ellipsis).
pub fn clean(s: &str) -> Cow<'_, str> {
    clean_max(s, FIELD_LIMIT)
}

/// [`clean`] with a character limit of its own.
pub fn clean_max(s: &str, max_chars: usize) -> Cow<'_, str> {
    let safe = sanitize(s, max_chars);
    if !safe.chars().any(is_invisible) {
        return safe;
    }
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        if is_invisible(c) {
            let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Display width in terminal columns, as ratatui renders it (control characters draw nothing).
pub fn width(s: &str) -> usize {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_control()) {
        return s.len();
    }
    s.graphemes(true).map(grapheme_width).sum()
}

fn grapheme_width(g: &str) -> usize {
    if g.contains(char::is_control) {
        0
    } else {
        usize::from(g.cell_width())
    }
}

/// Cut `s` to at most `max` columns, ending with `…` when something was cut. A wide
/// character that would straddle the limit is dropped whole.
pub fn fit(s: &str, max: usize) -> Cow<'_, str> {
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::with_capacity(max + 3);
    let mut used = 0;
    for g in s.graphemes(true) {
        let w = grapheme_width(g);
        if used + w > max - 1 {
            break;
        }
        out.push_str(g);
        used += w;
    }
    out.push('…');
    Cow::Owned(out)
}

/// Cut `s` to at most `max` columns keeping its end (`…/var/log/zeek/conn.log`): for paths,
/// where the file name matters more than the mount point.
pub fn fit_start(s: &str, max: usize) -> Cow<'_, str> {
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut kept: Vec<&str> = Vec::new();
    let mut used = 0;
    for g in s.graphemes(true).rev() {
        let w = grapheme_width(g);
        if used + w > max - 1 {
            break;
        }
        kept.push(g);
        used += w;
    }
    let mut out = String::from("…");
    out.extend(kept.into_iter().rev());
    Cow::Owned(out)
}

/// Horizontal alignment inside a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text starts at the column's left edge.
    Left,
    /// Text ends at the column's right edge (numbers).
    Right,
    /// Centered.
    Center,
}

/// Fit `s` into exactly `cols` columns: cut with an ellipsis, then pad with spaces.
pub fn pad(s: &str, cols: usize, align: Align) -> String {
    let fitted = fit(s, cols);
    let w = width(&fitted);
    let gap = cols.saturating_sub(w);
    let (left, right) = match align {
        Align::Left => (0, gap),
        Align::Right => (gap, 0),
        Align::Center => (gap / 2, gap - gap / 2),
    };
    let mut out = String::with_capacity(fitted.len() + gap);
    out.extend(std::iter::repeat_n(' ', left));
    out.push_str(&fitted);
    out.extend(std::iter::repeat_n(' ', right));
    out
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1234` → `1.2k`, `5_600_000` → `5.6M`: for rates and totals in tight columns.
pub fn compact(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")];
    for (scale, unit) in UNITS {
        if n >= scale {
            let whole = n / scale;
            if whole >= 100 {
                return format!("{whole}{unit}");
            }
            let tenth = (n % scale) * 10 / scale;
            return format!("{whole}.{tenth}{unit}");
        }
    }
    n.to_string()
}

/// Bytes in binary units: `0 B`, `512 B`, `1.5 KiB`, `12 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

fn datetime(ns: Nanos) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
}

/// `2024-06-01 10:02:11` (UTC).
pub fn date_time(ns: Nanos) -> String {
    datetime(ns).map_or_else(|| "-".into(), |d| d.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// `06-01 10:02:11` (UTC): tables, where the year is noise.
pub fn short_date_time(ns: Nanos) -> String {
    datetime(ns).map_or_else(|| "-".into(), |d| d.format("%m-%d %H:%M:%S").to_string())
}

/// `10:02:11` (UTC).
pub fn time_of_day(ns: Nanos) -> String {
    datetime(ns).map_or_else(|| "-".into(), |d| d.format("%H:%M:%S").to_string())
}

/// `10:02:11.123` (UTC): timelines, where events are often within a second.
pub fn time_millis(ns: Nanos) -> String {
    datetime(ns).map_or_else(|| "-".into(), |d| d.format("%H:%M:%S%.3f").to_string())
}

/// A span of seconds: `42s`, `3m12s`, `1h05m`, `2d04h`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_escapes_controls_and_invisible_marks() {
        assert_eq!(clean("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(clean("ad\u{200b}min"), "ad\\u{200b}min");
        assert_eq!(clean("x\u{202e}gpj.exe"), "x\\x202egpj.exe");
        assert_eq!(clean("\u{feff}bom"), "\\u{feff}bom");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn widths_follow_graphemes() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("東京"), 4);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(width("🔥x"), 3);
    }

    #[test]
    fn fit_cuts_by_columns_with_an_ellipsis() {
        assert_eq!(fit("hello", 5), "hello");
        assert_eq!(fit("hello world", 6), "hello…");
        // A wide character never straddles the limit.
        assert_eq!(fit("東京都庁", 6), "東京…");
        assert_eq!(width(&fit("東京都庁", 6)), 5);
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit_start("/var/log/zeek/conn.log", 10), "…/conn.log");
    }

    #[test]
    fn pad_fills_exact_columns() {
        assert_eq!(pad("ab", 4, Align::Left), "ab  ");
        assert_eq!(pad("ab", 4, Align::Right), "  ab");
        assert_eq!(pad("東京", 6, Align::Center), " 東京 ");
        assert_eq!(width(&pad("東京都庁", 5, Align::Left)), 5);
    }

    #[test]
    fn numbers_and_times() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(compact(999), "999");
        assert_eq!(compact(1_234), "1.2k");
        assert_eq!(compact(123_456), "123k");
        assert_eq!(compact(5_600_000), "5.6M");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(20 * 1024 * 1024), "20 MiB");
        let t = 1_717_236_131_123_000_000;
        assert_eq!(date_time(t), "2024-06-01 10:02:11");
        assert_eq!(short_date_time(t), "06-01 10:02:11");
        assert_eq!(time_millis(t), "10:02:11.123");
        assert_eq!(duration(192), "3m12s");
        assert_eq!(duration(3900), "1h05m");
    }
}
