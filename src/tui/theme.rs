//! Themes: every style the screens use, read from `themes/*.toml`.
//!
//! The shipped themes are embedded in the binary ([`Theme::builtin`]); the runtime may also read
//! a user theme file and hand its text to [`Theme::from_toml`]. A theme file names a style per
//! slot as a short string:
//!
//! ```toml
//! name = "mine"
//! extends = "dark"            # optional: start from a shipped theme; default: no colour
//!
//! [ui]
//! base = "#c8d3f5"            # foreground, `on` background, then modifiers
//! selected = "on #2d3f76 bold"
//!
//! [severity]
//! critical = "#ff5370 bold"
//!
//! [heat]                      # coverage cell intensity, 1 / 2-3 / 4-9 / 10+ events
//! low = "on #1e2a4a"
//! ```
//!
//! Colours are ratatui's names (`red`, `lightblue`, `darkgray`, `reset`), `#rrggbb`, or a
//! 256-colour index; modifiers are `bold`, `dim`, `italic`, `underlined`, `reversed`,
//! `crossed_out`. A slot a file leaves out inherits from `extends`. Unknown keys are errors, so
//! a typo does not silently do nothing.
//!
//! Colour is never the only channel: severities are also written out (`CRIT`, `HIGH`), group
//! coverage uses `✔`/`·` and cell intensity uses shading glyphs, so the no-colour theme (used
//! when `NO_COLOR` is set) loses nothing but colour.

use std::fmt;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::event::Severity;

/// The shipped themes: (name, TOML text). `dark` is the default.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
    ("no-color", include_str!("../../themes/no-color.toml")),
];

/// Name of the default theme.
pub const DEFAULT_THEME: &str = "dark";

/// Every style the screens draw with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Theme name (shown by `:theme`).
    pub name: String,
    /// Text and background of the whole screen.
    pub base: Style,
    /// Secondary text: labels, units, hints.
    pub muted: Style,
    /// Emphasis: the brand, focused titles, values worth a glance.
    pub accent: Style,
    /// Panel borders.
    pub border: Style,
    /// Border of the panel that has the keyboard.
    pub border_focus: Style,
    /// Panel titles.
    pub title: Style,
    /// Table headers.
    pub header: Style,
    /// The selected row or item.
    pub selected: Style,
    /// Top and bottom bars.
    pub bar: Style,
    /// Tab labels.
    pub tab: Style,
    /// The current screen's tab.
    pub tab_active: Style,
    /// Key names in hints and help.
    pub key: Style,
    /// Text inputs (filter, palette, search).
    pub input: Style,
    /// Healthy states (tailing sources, groups seen).
    pub ok: Style,
    /// Needs a look (rotated sources, blind spots).
    pub warning: Style,
    /// Broken (errors, failed searches).
    pub error: Style,
    /// A group present in a session.
    pub group_on: Style,
    /// A group absent from a session.
    pub group_off: Style,
    /// What a session misses to escalate.
    pub near_miss: Style,
    /// Sparklines and histograms.
    pub chart: Style,
    /// Coverage intensity: 1, 2–3, 4–9, 10+ events.
    pub heat: [Style; 4],
    /// Severity styles, indexed by [`severity_index`].
    pub severity: [Style; 5],
}

/// Position of a severity in [`Theme::severity`] (info first).
pub fn severity_index(s: Severity) -> usize {
    match s {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

impl Theme {
    /// The style of a severity.
    pub fn severity(&self, s: Severity) -> Style {
        self.severity[severity_index(s)]
    }

    /// The intensity style for `count` events (0 draws plain).
    pub fn heat(&self, count: u64) -> Style {
        match heat_level(count) {
            0 => Style::new(),
            l => self.heat[l - 1],
        }
    }

    /// A shipped theme by name.
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Theme::from_toml(text).ok()
    }

    /// The default theme (`dark`).
    pub fn dark() -> Theme {
        Theme::builtin(DEFAULT_THEME).unwrap_or_else(Theme::no_color)
    }

    /// The theme for `NO_COLOR`: modifiers only, built in code so it can never fail to load.
    pub fn no_color() -> Theme {
        let b = Style::new().add_modifier(Modifier::BOLD);
        let plain = Style::new();
        Theme {
            name: "no-color".into(),
            base: plain,
            muted: Style::new().add_modifier(Modifier::DIM),
            accent: b,
            border: plain,
            border_focus: b,
            title: b,
            header: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            bar: plain,
            tab: plain,
            tab_active: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            key: b,
            input: plain,
            ok: plain,
            warning: b,
            error: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            group_on: b,
            group_off: Style::new().add_modifier(Modifier::DIM),
            near_miss: Style::new().add_modifier(Modifier::ITALIC | Modifier::UNDERLINED),
            chart: plain,
            heat: [
                Style::new().add_modifier(Modifier::DIM),
                plain,
                b,
                Style::new().add_modifier(Modifier::REVERSED),
            ],
            severity: [
                Style::new().add_modifier(Modifier::DIM),
                plain,
                Style::new().add_modifier(Modifier::UNDERLINED),
                b,
                Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ],
        }
    }

    /// Parse a theme file (see the module doc for the format).
    pub fn from_toml(text: &str) -> Result<Theme, ThemeError> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| ThemeError::Syntax {
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().to_string(),
        })?;
        Theme::try_from(file)
    }

    /// Names of the shipped themes.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(n, _)| *n)
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::dark()
    }
}

/// Intensity level 0–4 for an event count (0: none, then 1, 2–3, 4–9, 10+).
pub fn heat_level(count: u64) -> usize {
    match count {
        0 => 0,
        1 => 1,
        2..=3 => 2,
        4..=9 => 3,
        _ => 4,
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(1, |t| t.matches('\n').count() + 1)
}

/// Why a theme could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    /// Not valid TOML, or an unknown key.
    #[error("theme{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Syntax {
        /// 1-based line, when known.
        line: Option<usize>,
        /// What the TOML reader said.
        message: String,
    },
    /// A style string that does not parse.
    #[error("theme key `{key}`: {reason} in {value:?}")]
    Style {
        /// `section.key`.
        key: String,
        /// The string as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `extends` names no shipped theme.
    #[error(
        "theme `extends = {0:?}`: no such shipped theme (dark, light, high-contrast, colorblind, no-color)"
    )]
    UnknownBase(String),
}

/// A theme file as written; every slot optional so user themes can override a few.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    ui: UiFile,
    #[serde(default)]
    severity: SeverityFile,
    #[serde(default)]
    heat: HeatFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UiFile {
    base: Option<String>,
    muted: Option<String>,
    accent: Option<String>,
    border: Option<String>,
    border_focus: Option<String>,
    title: Option<String>,
    header: Option<String>,
    selected: Option<String>,
    bar: Option<String>,
    tab: Option<String>,
    tab_active: Option<String>,
    key: Option<String>,
    input: Option<String>,
    ok: Option<String>,
    warning: Option<String>,
    error: Option<String>,
    group_on: Option<String>,
    group_off: Option<String>,
    near_miss: Option<String>,
    chart: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeverityFile {
    info: Option<String>,
    low: Option<String>,
    medium: Option<String>,
    high: Option<String>,
    critical: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeatFile {
    low: Option<String>,
    medium: Option<String>,
    high: Option<String>,
    max: Option<String>,
}

impl ThemeFile {
    /// How many slots the file leaves to `extends` (the shipped themes must leave none).
    #[cfg(test)]
    fn missing_slots(&self) -> usize {
        let u = &self.ui;
        let s = &self.severity;
        let h = &self.heat;
        [
            &u.base,
            &u.muted,
            &u.accent,
            &u.border,
            &u.border_focus,
            &u.title,
            &u.header,
            &u.selected,
            &u.bar,
            &u.tab,
            &u.tab_active,
            &u.key,
            &u.input,
            &u.ok,
            &u.warning,
            &u.error,
            &u.group_on,
            &u.group_off,
            &u.near_miss,
            &u.chart,
            &s.info,
            &s.low,
            &s.medium,
            &s.high,
            &s.critical,
            &h.low,
            &h.medium,
            &h.high,
            &h.max,
        ]
        .iter()
        .filter(|v| v.is_none())
        .count()
    }
}

impl TryFrom<ThemeFile> for Theme {
    type Error = ThemeError;

    fn try_from(f: ThemeFile) -> Result<Self, Self::Error> {
        let mut t = match f.extends.as_deref() {
            None | Some("none") => Theme::no_color(),
            Some(base) => {
                let (_, text) = BUILTIN
                    .iter()
                    .find(|(n, _)| *n == base)
                    .ok_or_else(|| ThemeError::UnknownBase(base.to_string()))?;
                // Shipped themes do not extend one another, so this cannot recurse.
                Theme::from_toml(text)?
            }
        };
        t.name = f.name;
        let _ = f.description;
        let u = f.ui;
        let slots: [(&str, Option<String>, &mut Style); 20] = [
            ("ui.base", u.base, &mut t.base),
            ("ui.muted", u.muted, &mut t.muted),
            ("ui.accent", u.accent, &mut t.accent),
            ("ui.border", u.border, &mut t.border),
            ("ui.border_focus", u.border_focus, &mut t.border_focus),
            ("ui.title", u.title, &mut t.title),
            ("ui.header", u.header, &mut t.header),
            ("ui.selected", u.selected, &mut t.selected),
            ("ui.bar", u.bar, &mut t.bar),
            ("ui.tab", u.tab, &mut t.tab),
            ("ui.tab_active", u.tab_active, &mut t.tab_active),
            ("ui.key", u.key, &mut t.key),
            ("ui.input", u.input, &mut t.input),
            ("ui.ok", u.ok, &mut t.ok),
            ("ui.warning", u.warning, &mut t.warning),
            ("ui.error", u.error, &mut t.error),
            ("ui.group_on", u.group_on, &mut t.group_on),
            ("ui.group_off", u.group_off, &mut t.group_off),
            ("ui.near_miss", u.near_miss, &mut t.near_miss),
            ("ui.chart", u.chart, &mut t.chart),
        ];
        for (key, value, slot) in slots {
            if let Some(v) = value {
                *slot = parse_style(key, &v)?;
            }
        }
        let s = f.severity;
        let sev = [s.info, s.low, s.medium, s.high, s.critical];
        let names = ["info", "low", "medium", "high", "critical"];
        for ((value, name), slot) in sev.into_iter().zip(names).zip(t.severity.iter_mut()) {
            if let Some(v) = value {
                *slot = parse_style(&format!("severity.{name}"), &v)?;
            }
        }
        let h = f.heat;
        let heat = [h.low, h.medium, h.high, h.max];
        let names = ["low", "medium", "high", "max"];
        for ((value, name), slot) in heat.into_iter().zip(names).zip(t.heat.iter_mut()) {
            if let Some(v) = value {
                *slot = parse_style(&format!("heat.{name}"), &v)?;
            }
        }
        Ok(t)
    }
}

/// Parse `FG [on BG] [modifier...]` (each part optional) into a style.
pub fn parse_style(key: &str, value: &str) -> Result<Style, ThemeError> {
    let err = |reason: String| ThemeError::Style {
        key: key.to_string(),
        value: value.to_string(),
        reason,
    };
    let mut style = Style::new();
    let mut fg_set = false;
    let mut words = value.split_whitespace();
    while let Some(w) = words.next() {
        if w == "on" {
            let bg = words
                .next()
                .ok_or_else(|| err("`on` needs a background colour".into()))?;
            style = style.bg(color(bg).map_err(|e| err(e.to_string()))?);
            continue;
        }
        if let Some(m) = modifier(w) {
            style = style.add_modifier(m);
            continue;
        }
        if fg_set {
            return Err(err(format!(
                "`{w}` is neither a modifier nor `on`, and the foreground is already set"
            )));
        }
        style = style.fg(color(w).map_err(|e| err(e.to_string()))?);
        fg_set = true;
    }
    Ok(style)
}

fn modifier(w: &str) -> Option<Modifier> {
    Some(match w {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        "crossed_out" | "strikethrough" => Modifier::CROSSED_OUT,
        _ => return None,
    })
}

#[derive(Debug)]
struct BadColor(String);

impl fmt::Display for BadColor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown colour `{}` (a name like `lightblue`, `#rrggbb` or 0-255)",
            self.0
        )
    }
}

fn color(w: &str) -> Result<Color, BadColor> {
    Color::from_str(w).map_err(|_| BadColor(w.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_load_and_define_every_slot() {
        for (name, text) in BUILTIN {
            let file: ThemeFile = toml::from_str(text).unwrap();
            assert_eq!(file.name, *name);
            assert!(file.extends.is_none(), "{name} must stand alone");
            assert_eq!(file.missing_slots(), 0, "{name} leaves slots out");
            let t = Theme::from_toml(text).unwrap();
            assert_eq!(t.name, *name);
        }
        assert_eq!(Theme::dark().name, "dark");
    }

    #[test]
    fn the_shipped_no_color_file_matches_the_built_in_one() {
        let mut from_file = Theme::builtin("no-color").unwrap();
        from_file.name = Theme::no_color().name;
        assert_eq!(from_file, Theme::no_color());
        // And it has no colour at all.
        let t = Theme::no_color();
        let styles = [t.base, t.muted, t.selected, t.error, t.near_miss]
            .into_iter()
            .chain(t.severity)
            .chain(t.heat);
        for s in styles {
            assert!(s.fg.is_none() && s.bg.is_none(), "{s:?}");
        }
    }

    #[test]
    fn style_strings() {
        let s = parse_style("k", "#ff0000 on black bold underlined").unwrap();
        assert_eq!(s.fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(s.bg, Some(Color::Black));
        assert!(
            s.add_modifier
                .contains(Modifier::BOLD | Modifier::UNDERLINED)
        );
        assert_eq!(
            parse_style("k", "on 236").unwrap().bg,
            Some(Color::Indexed(236))
        );
        assert_eq!(parse_style("k", "").unwrap(), Style::new());
        let e = parse_style("ui.base", "red blue").unwrap_err();
        assert!(e.to_string().contains("ui.base"), "{e}");
        assert!(parse_style("k", "on").is_err());
        assert!(parse_style("k", "nocolour").is_err());
    }

    #[test]
    fn user_themes_extend_and_report_errors_with_lines() {
        let t = Theme::from_toml(
            "name = \"mine\"\nextends = \"dark\"\n[severity]\ncritical = \"magenta bold\"\n",
        )
        .unwrap();
        assert_eq!(t.severity(Severity::Critical).fg, Some(Color::Magenta));
        assert_eq!(t.base, Theme::dark().base);

        let e = Theme::from_toml("name = \"x\"\n[ui]\nbse = \"red\"\n").unwrap_err();
        assert!(
            matches!(e, ThemeError::Syntax { line: Some(3), .. }),
            "{e:?}"
        );
        let e = Theme::from_toml("name = \"x\"\nextends = \"nope\"\n").unwrap_err();
        assert_eq!(e, ThemeError::UnknownBase("nope".into()));
        let e = Theme::from_toml("name = \"x\"\n[ui]\nbase = \"#12\"\n").unwrap_err();
        assert!(e.to_string().contains("ui.base"), "{e}");
    }

    #[test]
    fn heat_levels() {
        assert_eq!(
            [0, 1, 2, 3, 4, 9, 10, 500].map(heat_level),
            [0, 1, 2, 2, 3, 3, 4, 4]
        );
    }
}
