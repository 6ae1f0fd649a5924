//! The hunting UI: a pure model, `update` and `view` that the runtime (`lateral watch`) drives.
//!
//! The runtime owns the terminal, the clock and every side effect; this module owns what is on
//! screen. It is an Elm-style loop:
//!
//! ```text
//!  terminal keys/mouse/resize ─┐
//!  tick (a few per second) ────┤
//!  correlator Changes ─────────┼─► Msg ─► update(&mut Model, Msg) -> Vec<Command> ─► runtime
//!  pipeline Stats, Sources ────┤                │                                  executes
//!  search results, events ─────┘                ▼                                     │
//!                                  view(&Model, &mut Frame)   (only when             results
//!                                  model.needs_redraw(); then mark_drawn())    come back as Msg
//! ```
//!
//! # Driving it
//!
//! ```
//! use lateral::tui::{Command, Model, ModelConfig, Msg, RuleInfo, Theme, update, view};
//! use ratatui::{Terminal, backend::TestBackend};
//!
//! let (rules, _errors) = lateral::correlate::builtin::rules();
//! let mut model = Model::new(ModelConfig {
//!     theme: Theme::builtin("dark").unwrap_or_else(Theme::no_color), // or Theme::from_toml(user file)
//!     no_color: std::env::var_os("NO_COLOR").is_some(),
//!     rules: rules.iter().map(RuleInfo::from).collect(),
//!     ..ModelConfig::default()
//! });
//! let mut terminal = Terminal::new(TestBackend::new(120, 40))?; // CrosstermBackend live
//! update(&mut model, Msg::Resize { width: 120, height: 40 });
//! // In the select! loop: every terminal event, tick and pipeline message becomes a Msg.
//! for command in update(&mut model, Msg::Tick { now_ms: 0 }) {
//!     match command {
//!         Command::Quit => break,
//!         other => { let _ = other; /* spawn it; its answer comes back as a Msg */ }
//!     }
//! }
//! if model.needs_redraw() {
//!     terminal.draw(|frame| view(&model, frame))?;
//!     model.mark_drawn();
//! }
//! # Ok::<(), std::convert::Infallible>(())
//! ```
//!
//! # What the runtime sends
//!
//! - [`Msg::Resize`] once before the first draw and on every resize; [`Msg::Key`],
//!   [`Msg::Mouse`] and [`Msg::Paste`] as crossterm reports them (`ratatui::crossterm`, the
//!   same crossterm 0.29; enable mouse capture and bracketed paste);
//! - [`Msg::Tick`] a few times a second with a monotonic millisecond clock: notices expire,
//!   search-as-you-type runs after a typing pause, the search spinner turns;
//! - [`Msg::Changes`] with the correlator's session deltas as they come (the UI keeps its own
//!   copy; selection and scroll position follow the selected session across updates);
//! - [`Msg::Stats`] ([`PipelineStats`]: events and errors per source kind with a per-second
//!   history for the sparklines, the event-time watermark) and [`Msg::Sources`] (every file as a
//!   [`SourceRow`] from the tailer's health reports) about once a second;
//! - the answers to commands: [`Msg::SearchResults`] / [`Msg::SearchFailed`],
//!   [`Msg::EventLoaded`] / [`Msg::EventNotFound`], [`Msg::Theme`], [`Msg::Notice`].
//!
//! # What the runtime executes
//!
//! [`Command::Search`] in the background — only the newest generation matters, results of older
//! ones are dropped here anyway; pages of one query share its generation and carry an offset —
//! [`Command::LoadEvent`] (an index lookup by `event.id`), [`Command::Export`],
//! [`Command::CopyToClipboard`] (OSC 52), [`Command::SetTheme`] (look for a user theme of that
//! name and answer [`Msg::Theme`]) and [`Command::Quit`].
//!
//! # Drawing
//!
//! [`view()`] is pure and draws only the visible window of every list: sorting and filtering
//! happen in [`update()`], so a frame costs the same with 100k sessions as with ten. The runtime
//! draws when [`Model::needs_redraw`] says so, at most ~30 times a second, then calls
//! [`Model::mark_drawn`]. Below 80×24 the view shows a "terminal too small" notice.
//!
//! # Screens and keys
//!
//! 1 Overview, 2 Sessions, 3 Detail, 4 Coverage, 5 Search, 6 Sources (number keys, Tab);
//! `?` help everywhere, `:` command palette (`:theme NAME`, `:search QUERY`, `:export`,
//! `:sort`, `:filter`, `:quit`), `/` filter, vim and arrow keys, mouse wheel and click.
//! See [`keymap`].
//!
//! # Untrusted text
//!
//! Everything that came from a log goes through [`text::clean`] before it reaches a cell:
//! control characters, escape sequences, bidi overrides and invisible format characters are
//! shown escaped, long values are cut with an ellipsis by display width (wide characters keep
//! columns aligned).
//!
//! # Modules
//!
//! - [`msg`]: [`Msg`], [`Command`] and the data they carry.
//! - [`model`]: [`Model`], screens, per-screen state.
//! - [`store`]: the sorted, filtered session copy.
//! - [`update`](mod@update), [`keymap`], [`input`] (line editor, list cursor).
//! - [`view`](mod@view) and its screens; [`widgets`]; [`theme`]; [`text`].
//! - [`catalog`] (rules as the UI shows them), [`visibility`] (blind spots).

pub mod catalog;
pub mod input;
pub mod keymap;
pub mod model;
pub mod msg;
pub mod store;
pub mod text;
pub mod theme;
pub mod update;
pub mod view;
pub mod visibility;
pub mod widgets;

pub use catalog::{RuleCatalog, RuleInfo};
pub use model::{Focus, Model, ModelConfig, Overlay, Screen};
pub use msg::{
    Bucket, Command, ExportFormat, ExportRequest, ExportWhat, Facet, KindStats, Msg, Notice,
    NoticeLevel, PipelineStats, SearchRequest, SearchResults, SourceRow, SourceState, TriageAction,
};
pub use theme::{Theme, ThemeError};
pub use update::update;
pub use view::view;
