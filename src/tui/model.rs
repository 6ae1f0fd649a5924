//! All UI state. [`update`](fn@super::update) changes it, [`view`](fn@super::view) reads it.

use std::collections::{HashMap, VecDeque};

use super::catalog::{RuleCatalog, RuleInfo};
use super::input::{Cursor, LineInput};
use super::msg::{Bucket, Facet, Notice, PipelineStats, SourceRow};
use super::store::SessionStore;
use super::theme::Theme;
use super::visibility::{GroupVisibility, visibility};
use crate::correlate::Group;
use crate::correlate::session::SessionId;
use crate::event::{Event, Field, Nanos};
use crate::triage::checklist::StepStatus;
use crate::triage::store::Case;

/// Smallest terminal the screens are laid out for.
pub const MIN_WIDTH: u16 = 80;
/// Smallest terminal height.
pub const MIN_HEIGHT: u16 = 24;

/// Loaded events kept for the timeline and the all-fields view.
const EVENT_CACHE: usize = 2048;

/// A screen. Number keys select them in this order; Tab cycles.
///
/// The triage screen joins as the seventh: add a variant, put it in [`Screen::ALL`] and give it
/// a view; the tab bar, number keys and help follow from `ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    /// Rates, totals, sessions by severity, latest activity, source health.
    Overview,
    /// The session table.
    Sessions,
    /// One session: why, what is missing, evidence.
    Detail,
    /// Contexts × groups (or ATT&CK tactics / techniques).
    Coverage,
    /// Search the index.
    Search,
    /// Source files and blind spots.
    Sources,
    /// Cases: checklist stepper, notes, evidence, response artifacts.
    Triage,
}

impl Screen {
    /// Every screen in tab order.
    pub const ALL: [Screen; 7] = [
        Screen::Overview,
        Screen::Sessions,
        Screen::Detail,
        Screen::Coverage,
        Screen::Search,
        Screen::Sources,
        Screen::Triage,
    ];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Sessions => "Sessions",
            Screen::Detail => "Detail",
            Screen::Coverage => "Coverage",
            Screen::Search => "Search",
            Screen::Sources => "Sources",
            Screen::Triage => "Triage",
        }
    }

    /// Number key (1-based position in [`Screen::ALL`]).
    pub fn number(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    /// The screen of a number key.
    pub fn from_number(n: usize) -> Option<Screen> {
        n.checked_sub(1).and_then(|i| Screen::ALL.get(i)).copied()
    }
}

/// Where typed keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// Keys are commands.
    Normal,
    /// Editing the session filter (`/`).
    Filter,
    /// Editing a `:` command.
    Palette,
    /// Editing the search query.
    SearchInput,
    /// Editing a triage step's note (or the note a skip needs).
    TriageNote,
}

/// A panel drawn over the screen; it takes the keys until closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// Keys of the current screen.
    Help,
    /// Every field of one event (loaded on demand).
    Event {
        /// `event.id`.
        event_id: String,
        /// Selected field line.
        cursor: Cursor,
    },
    /// Values to pivot a search on.
    Pivot {
        /// Candidates (field, value).
        choices: Vec<(Field, String)>,
        /// Selected candidate.
        cursor: Cursor,
        /// Time range to search (the session's window, widened).
        range: Option<(Nanos, Nanos)>,
    },
    /// Evidence behind one coverage cell.
    CellEvents {
        /// The session (row).
        session: SessionId,
        /// The column.
        column: CoverageColumn,
        /// Selected evidence line.
        cursor: Cursor,
    },
}

/// A column of the coverage matrix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CoverageColumn {
    /// An attack-chain group.
    Group(Group),
    /// An ATT&CK tactic (snake_case).
    Tactic(String),
    /// An ATT&CK technique id.
    Technique(String),
}

/// What the coverage matrix's columns are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CoverageMode {
    /// The four attack-chain groups.
    #[default]
    Groups,
    /// ATT&CK tactics present in any session.
    Tactics,
    /// ATT&CK techniques present in any session.
    Techniques,
}

impl CoverageMode {
    /// The next mode for `t`.
    pub fn next(self) -> CoverageMode {
        match self {
            CoverageMode::Groups => CoverageMode::Tactics,
            CoverageMode::Tactics => CoverageMode::Techniques,
            CoverageMode::Techniques => CoverageMode::Groups,
        }
    }

    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            CoverageMode::Groups => "groups",
            CoverageMode::Tactics => "ATT&CK tactics",
            CoverageMode::Techniques => "ATT&CK techniques",
        }
    }
}

/// A loaded (or missing) event.
#[derive(Debug, Clone, PartialEq)]
pub enum Cached {
    /// Asked for, not answered yet.
    Pending,
    /// Here it is.
    Loaded(Box<Event>),
    /// The index does not hold it.
    Missing,
}

/// Events loaded on demand, bounded (oldest dropped first).
#[derive(Debug, Default)]
pub struct EventCache {
    map: HashMap<String, Cached>,
    order: VecDeque<String>,
}

impl EventCache {
    /// Look an event up.
    pub fn get(&self, id: &str) -> Option<&Cached> {
        self.map.get(id)
    }

    /// The event, when loaded.
    pub fn event(&self, id: &str) -> Option<&Event> {
        match self.map.get(id) {
            Some(Cached::Loaded(e)) => Some(e),
            _ => None,
        }
    }

    /// Record an answer or a request.
    pub fn put(&mut self, id: String, value: Cached) {
        if self.map.insert(id.clone(), value).is_none() {
            self.order.push_back(id);
            while self.order.len() > EVENT_CACHE {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
}

/// Session table state.
#[derive(Debug, Default)]
pub struct SessionsState {
    /// The selected session; followed across updates.
    pub selected: Option<SessionId>,
    /// Position and scroll of the selection.
    pub cursor: Cursor,
    /// Filter text being edited (applied live).
    pub filter_input: LineInput,
    /// The filter before `/` was pressed (Esc restores it).
    pub filter_before: String,
    /// Keep the selection on the first row as sessions arrive.
    pub follow: bool,
}

/// Session detail state.
#[derive(Debug, Default)]
pub struct DetailState {
    /// The session shown.
    pub session: Option<SessionId>,
    /// Selected evidence row.
    pub cursor: Cursor,
}

/// Coverage matrix state. Rows are the session table's rows (same filter and order) and the
/// row selection is the table's.
#[derive(Debug, Default)]
pub struct CoverageState {
    /// Columns shown.
    pub mode: CoverageMode,
    /// Selected column.
    pub column: usize,
    /// First column shown (many techniques do not fit).
    pub column_offset: usize,
}

/// Search screen state.
#[derive(Debug, Default)]
pub struct SearchState {
    /// The query being edited.
    pub input: LineInput,
    /// Queries run, oldest first.
    pub history: Vec<String>,
    /// Position while walking the history with Up/Down.
    pub history_pos: Option<usize>,
    /// Generation of the newest request.
    pub generation: u64,
    /// Whether the newest request is still running.
    pub running: bool,
    /// When (Tick ms) to run the query being typed.
    pub debounce_at: Option<u64>,
    /// The query text of the newest request.
    pub sent: String,
    /// Time range of the query.
    pub range: Option<(Nanos, Nanos)>,
    /// Results of the newest request.
    pub results: Option<Results>,
    /// Why the newest request failed.
    pub error: Option<(String, Option<usize>)>,
    /// Selected hit.
    pub cursor: Cursor,
    /// Whether a page request is outstanding.
    pub paging: bool,
}

/// Results of the newest search, pages appended.
#[derive(Debug, Default)]
pub struct Results {
    /// Query text.
    pub query: String,
    /// Hits in the index.
    pub total: u64,
    /// Hits loaded so far.
    pub hits: Vec<Event>,
    /// Histogram over all hits.
    pub histogram: Vec<Bucket>,
    /// Top values.
    pub facets: Vec<Facet>,
    /// Search time.
    pub took_ms: u64,
}

/// Sources screen state.
#[derive(Debug, Default)]
pub struct SourcesState {
    /// Rows, sorted by path.
    pub rows: Vec<SourceRow>,
    /// Selection.
    pub cursor: Cursor,
    /// Group visibility computed from the rows and the rules.
    pub visibility: Vec<GroupVisibility>,
}

/// What the triage note editor is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteEdit {
    /// Case id.
    pub case: String,
    /// Step id.
    pub step: String,
    /// Status to set with the note (the step's own, or `skipped` when skipping).
    pub status: StepStatus,
    /// A note on the case itself (`N`), not on the step.
    pub case_note: bool,
}

/// Triage screen state.
#[derive(Debug, Default)]
pub struct TriageState {
    /// Cases as the runtime last sent them.
    pub cases: Vec<Case>,
    /// Selected case.
    pub cursor: Cursor,
    /// Selected step of the selected case.
    pub step: usize,
    /// Selected response artifact.
    pub artifact: usize,
    /// The note being edited.
    pub input: LineInput,
    /// What the note being edited is for.
    pub editing: Option<NoteEdit>,
    /// Search was opened from a step's pivot: Esc there comes back here.
    pub return_from_search: bool,
    /// The case selected when the analyst left the Triage screen: `c` on Sessions or Detail
    /// adds to it (once) instead of opening a new case.
    pub viewing: Option<String>,
    /// The last of Detail and Search the analyst looked at (where `a` takes its event from).
    pub event_screen: Option<Screen>,
}

impl TriageState {
    /// The selected case.
    pub fn case(&self) -> Option<&Case> {
        self.cases.get(self.cursor.selected)
    }
}

/// How the model starts.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Theme to start with (ignored when `no_color`).
    pub theme: Theme,
    /// `NO_COLOR` is set: start with the no-colour theme.
    pub no_color: bool,
    /// Rules in force (titles, tags, log sources): `rules.iter().map(RuleInfo::from)` of the
    /// rules the engine runs; the engine's code-defined detectors are added automatically.
    pub rules: Vec<RuleInfo>,
    /// Hits per search page.
    pub search_limit: usize,
    /// Milliseconds of typing pause before search-as-you-type runs.
    pub search_debounce_ms: u64,
    /// Milliseconds a notice stays in the bottom bar.
    pub notice_ms: u64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            theme: Theme::dark(),
            no_color: false,
            rules: RuleCatalog::builtin().rules().to_vec(),
            search_limit: 200,
            search_debounce_ms: 300,
            notice_ms: 5000,
        }
    }
}

/// Everything the UI shows and remembers.
#[derive(Debug)]
pub struct Model {
    pub(crate) config: ModelConfig,
    pub(crate) screen: Screen,
    pub(crate) focus: Focus,
    pub(crate) overlay: Option<Overlay>,
    pub(crate) width: u16,
    pub(crate) height: u16,
    pub(crate) theme: Theme,
    pub(crate) rules: RuleCatalog,
    pub(crate) store: SessionStore,
    pub(crate) stats: PipelineStats,
    pub(crate) sessions: SessionsState,
    pub(crate) detail: DetailState,
    pub(crate) coverage: CoverageState,
    pub(crate) search: SearchState,
    pub(crate) sources: SourcesState,
    pub(crate) triage: TriageState,
    pub(crate) events: EventCache,
    pub(crate) palette: LineInput,
    pub(crate) notice: Option<(Notice, u64)>,
    /// When (Tick ms) a filter typed on a large table applies.
    pub(crate) filter_due: Option<u64>,
    pub(crate) now_ms: u64,
    pub(crate) dirty: bool,
    pub(crate) quit: bool,
}

impl Model {
    /// A model with no data yet, sized 80×24 until the first [`Msg::Resize`](super::Msg).
    pub fn new(config: ModelConfig) -> Model {
        let theme = if config.no_color {
            Theme::no_color()
        } else {
            config.theme.clone()
        };
        let rules = RuleCatalog::new(config.rules.clone());
        Model {
            config,
            screen: Screen::Overview,
            focus: Focus::Normal,
            overlay: None,
            width: MIN_WIDTH,
            height: MIN_HEIGHT,
            theme,
            rules,
            store: SessionStore::default(),
            stats: PipelineStats::default(),
            sessions: SessionsState::default(),
            detail: DetailState::default(),
            coverage: CoverageState::default(),
            search: SearchState::default(),
            sources: SourcesState::default(),
            triage: TriageState::default(),
            events: EventCache::default(),
            palette: LineInput::default(),
            notice: None,
            filter_due: None,
            now_ms: 0,
            dirty: true,
            quit: false,
        }
    }

    /// Whether something changed since the last [`Model::mark_drawn`]: draw only then.
    pub fn needs_redraw(&self) -> bool {
        self.dirty
    }

    /// The runtime drew the current state.
    pub fn mark_drawn(&mut self) {
        self.dirty = false;
    }

    /// Whether the analyst asked to quit (a [`Command::Quit`](super::Command) was emitted).
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The current screen.
    pub fn screen(&self) -> Screen {
        self.screen
    }

    /// Where keys go.
    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// The overlay, if one is open.
    pub fn overlay(&self) -> Option<&Overlay> {
        self.overlay.as_ref()
    }

    /// The theme in use.
    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// The sessions.
    pub fn store(&self) -> &SessionStore {
        &self.store
    }

    /// The selected session in the table, if any.
    pub fn selected_session(&self) -> Option<&SessionId> {
        self.sessions.selected.as_ref()
    }

    /// Position and scroll of the session table's selection (shared with the coverage rows).
    pub fn table_cursor(&self) -> Cursor {
        self.sessions.cursor
    }

    /// The coverage matrix's column mode and selected column.
    pub fn coverage_column(&self) -> (CoverageMode, usize) {
        (self.coverage.mode, self.coverage.column)
    }

    /// The session the detail screen shows.
    pub fn detail_session(&self) -> Option<&SessionId> {
        self.detail.session.as_ref()
    }

    /// Generation of the newest search request.
    pub fn search_generation(&self) -> u64 {
        self.search.generation
    }

    /// The triage cases as last received.
    pub fn cases(&self) -> &[Case] {
        &self.triage.cases
    }

    /// The selected case and step index on the Triage screen.
    pub fn triage_selection(&self) -> (Option<&str>, usize) {
        (self.triage.case().map(|c| c.id.as_str()), self.triage.step)
    }

    /// The search results being shown.
    pub fn search_results(&self) -> Option<&Results> {
        self.search.results.as_ref()
    }

    /// Visibility of the four groups with the current sources.
    pub fn visibility(&self) -> &[GroupVisibility] {
        &self.sources.visibility
    }

    /// The notice in the bottom bar, if any.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref().map(|(n, _)| n)
    }

    /// Terminal size as last reported.
    pub fn size(&self) -> (u16, u16) {
        (self.width, self.height)
    }

    /// Whether the terminal is below the minimum size.
    pub fn too_small(&self) -> bool {
        self.width < MIN_WIDTH || self.height < MIN_HEIGHT
    }

    pub(crate) fn recompute_visibility(&mut self) {
        self.sources.visibility = visibility(&self.rules, &self.sources.rows);
    }
}
