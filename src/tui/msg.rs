//! What flows into the UI ([`Msg`]) and what the UI asks the runtime to do ([`Command`]).
//!
//! Every type here is plain data so the runtime can build it from any thread and the tests can
//! build it by hand.

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use super::catalog::RuleInfo;
use super::theme::Theme;
use crate::correlate::Change;
use crate::correlate::session::SessionId;
use crate::event::{Event, Field, Nanos};
use crate::triage::checklist::StepStatus;
use crate::triage::store::Case;

/// An input to [`update`](fn@super::update).
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key press (the runtime forwards crossterm's event as is; releases are ignored).
    Key(KeyEvent),
    /// A mouse event (wheel scrolls, a left click selects or switches screens).
    Mouse(MouseEvent),
    /// Bracketed paste (crossterm `Event::Paste`): inserted into the input being edited, with
    /// line breaks and control characters dropped; ignored otherwise.
    Paste(String),
    /// The terminal's new size. Send once at start, before the first draw.
    Resize {
        /// Columns.
        width: u16,
        /// Rows.
        height: u16,
    },
    /// Wall-clock heartbeat (a few per second is plenty): expires notices, runs the debounced
    /// search-as-you-type, animates the live indicator. `now_ms` is any monotonic millisecond
    /// clock; only differences matter.
    Tick {
        /// Milliseconds on the runtime's monotonic clock.
        now_ms: u64,
    },
    /// Session deltas from the correlator, in the order it produced them.
    Changes(Vec<Change>),
    /// Pipeline counters (about once a second).
    Stats(PipelineStats),
    /// The state of every source file (the whole list each time; about once a second).
    Sources(Vec<SourceRow>),
    /// Answer to [`Command::Search`].
    SearchResults(SearchResults),
    /// A search that could not run (bad query, index error).
    SearchFailed {
        /// The request's generation.
        generation: u64,
        /// What is wrong, for the analyst.
        message: String,
        /// Character offset in the query where the problem is, when the parser knows.
        position: Option<usize>,
    },
    /// Answer to [`Command::LoadEvent`].
    EventLoaded(Box<Event>),
    /// Answer to [`Command::LoadEvent`] when the index does not hold the event (yet).
    EventNotFound {
        /// The id that was asked for.
        event_id: String,
    },
    /// A theme the runtime loaded for [`Command::SetTheme`] (a user theme file).
    Theme(Box<Theme>),
    /// The rules in force changed (reload): the coverage matrix and visibility use them.
    Rules(Vec<RuleInfo>),
    /// Feedback for the analyst: export written, clipboard set, theme not found.
    Notice(Notice),
    /// Every triage case of the workspace (the whole list each time): sent by the runtime at
    /// start and after every [`Command::Triage`] it executed.
    Cases(Vec<Case>),
}

/// A short message shown in the bottom bar for a few seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// How it is shown.
    pub level: NoticeLevel,
    /// The text (sanitized before drawing).
    pub text: String,
}

impl Notice {
    /// An informational notice.
    pub fn info(text: impl Into<String>) -> Self {
        Notice {
            level: NoticeLevel::Info,
            text: text.into(),
        }
    }
    /// An error notice.
    pub fn error(text: impl Into<String>) -> Self {
        Notice {
            level: NoticeLevel::Error,
            text: text.into(),
        }
    }
}

/// How loud a [`Notice`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    /// Done, for the record.
    Info,
    /// Worth a look.
    Warn,
    /// Failed.
    Error,
}

/// Pipeline counters for the Overview screen and the top bar.
///
/// Sessions by severity are not here: the UI counts them from the [`Msg::Changes`] stream, so
/// the counts can never disagree with the session table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Events decoded since start.
    pub events_total: u64,
    /// Records that failed to decode since start.
    pub errors_total: u64,
    /// Events in the search index (committed).
    pub indexed_total: u64,
    /// Per source kind (`event.module`: `zeek`, `windows`, `tetragon`, ...), in the order to
    /// show them.
    pub kinds: Vec<KindStats>,
    /// The correlator's event-time watermark: sessions are final up to here.
    pub watermark: Option<Nanos>,
}

/// Counters of one source kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindStats {
    /// `event.module` (or the format name before the first event).
    pub kind: String,
    /// Events since start.
    pub events: u64,
    /// Decode errors since start.
    pub errors: u64,
    /// Events per second, oldest first, the newest (current) second last. 60–120 values
    /// make a good sparkline; the UI draws the newest ones that fit.
    pub per_second: Vec<u64>,
}

/// One source file as the tailer reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRow {
    /// Path as the analyst gave it or as found in a watched directory.
    pub path: String,
    /// Detected format name (`zeek-tsv`, `syslog`, ...), once known.
    pub format: Option<String>,
    /// Tailer state.
    pub state: SourceState,
    /// Events decoded from it.
    pub events: u64,
    /// Records that failed to decode.
    pub errors: u64,
    /// The latest decode or read error, with its offset.
    pub last_error: Option<String>,
    /// Bytes written to the file but not read yet.
    pub lag_bytes: u64,
    /// Event time of the newest event read from it.
    pub last_event: Option<Nanos>,
    /// `event.dataset` values it produced so far (what makes a group visible). Before the first
    /// event the UI falls back to what the format can produce.
    pub datasets: Vec<String>,
}

/// What the tailer is doing with a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SourceState {
    /// Reading new data as it is written.
    #[default]
    Tailing,
    /// Caught up, nothing new for a while.
    Idle,
    /// Rotated; the new file is followed.
    Rotated,
    /// Deleted or unreachable.
    Gone,
    /// Failing (permission, unknown format, I/O error).
    Error,
}

impl SourceState {
    /// Lowercase label.
    pub fn label(self) -> &'static str {
        match self {
            SourceState::Tailing => "tailing",
            SourceState::Idle => "idle",
            SourceState::Rotated => "rotated",
            SourceState::Gone => "gone",
            SourceState::Error => "error",
        }
    }

    /// One-column symbol (shape differs, not just colour).
    pub fn symbol(self) -> &'static str {
        match self {
            SourceState::Tailing => "●",
            SourceState::Idle => "○",
            SourceState::Rotated => "↻",
            SourceState::Gone => "✗",
            SourceState::Error => "✖",
        }
    }
}

/// Results of one search request (or one page of it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResults {
    /// The request's generation; results of older generations are dropped.
    pub generation: u64,
    /// The query that ran (echoed for the status line).
    pub query: String,
    /// Index of the first hit in the full result list (the request's `offset`).
    pub offset: usize,
    /// Hits in the whole index, of which `hits` is a page.
    pub total: u64,
    /// The hits, newest first.
    pub hits: Vec<Event>,
    /// Hits over time for the histogram, oldest bucket first (all hits, not just the page).
    pub histogram: Vec<Bucket>,
    /// Top values of a few fields over all hits (`host.name`, `user.name`, `source.ip`).
    pub facets: Vec<Facet>,
    /// How long the search took.
    pub took_ms: u64,
}

/// One histogram bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Start of the bucket (event time).
    pub start: Nanos,
    /// Hits in it.
    pub count: u64,
}

/// The most frequent values of one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facet {
    /// The field.
    pub field: Field,
    /// (value, hits), most frequent first.
    pub values: Vec<(String, u64)>,
}

/// Something the runtime must do on the UI's behalf. Results come back as [`Msg`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run a search in the background. Only the newest generation matters: the runtime may
    /// cancel or skip older ones, and the UI drops their results anyway.
    Search(SearchRequest),
    /// Fetch one event by id (the index's stored document); answer [`Msg::EventLoaded`] or
    /// [`Msg::EventNotFound`].
    LoadEvent {
        /// `event.id`.
        event_id: String,
    },
    /// Write something to a file; answer with a [`Msg::Notice`] naming the file.
    Export(ExportRequest),
    /// Put text on the clipboard (the runtime writes an OSC 52 sequence; the text may come from
    /// a log, so the runtime must base64 it as OSC 52 requires).
    CopyToClipboard(String),
    /// The analyst chose a theme. Shipped themes are already applied; the runtime looks for a
    /// user theme of that name (which wins) and answers [`Msg::Theme`], or a
    /// [`Msg::Notice`] error when the name is neither shipped nor a user theme. It may also
    /// remember the choice.
    SetTheme {
        /// Theme name.
        name: String,
    },
    /// Change the triage state; the runtime persists it at once and answers [`Msg::Cases`]
    /// (or a [`Msg::Notice`] error when the change is refused).
    Triage(TriageAction),
    /// Leave: restore the terminal and exit.
    Quit,
}

/// A triage change asked for by the analyst. Also the body of a triage request to a hub
/// (`{"op": "set_step", "case": ..}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TriageAction {
    /// Open a case from these sessions, or add them to `into`.
    OpenCase {
        /// Session ids.
        sessions: Vec<SessionId>,
        /// Existing case to add them to.
        into: Option<String>,
    },
    /// Set a checklist step's status (and note; skipping needs one).
    SetStep {
        /// Case id.
        case: String,
        /// Step id.
        step: String,
        /// New status.
        status: StepStatus,
        /// Note, when given.
        note: Option<String>,
    },
    /// Add a note to a case.
    Note {
        /// Case id.
        case: String,
        /// The note.
        text: String,
    },
    /// Attach an event to a step as evidence.
    Attach {
        /// Case id.
        case: String,
        /// Step id.
        step: String,
        /// `event.id`.
        event_id: String,
    },
}

/// A search to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// Increases with every new query; pages of one query share it.
    pub generation: u64,
    /// Query text in the index's query language.
    pub query: String,
    /// Only events at or after this time.
    pub since: Option<Nanos>,
    /// Only events before this time.
    pub until: Option<Nanos>,
    /// First hit wanted (paging while the analyst scrolls).
    pub offset: usize,
    /// Hits wanted.
    pub limit: usize,
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    /// Which data.
    pub what: ExportWhat,
    /// File format.
    pub format: ExportFormat,
    /// Path the analyst typed, when any (the runtime picks a name otherwise). Not checked here:
    /// the UI never touches files.
    pub path: Option<String>,
}

/// The data of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportWhat {
    /// These sessions, in this order (the session table as filtered and sorted).
    Sessions {
        /// Session ids.
        ids: Vec<SessionId>,
    },
    /// One session with its evidence.
    Session {
        /// Its id.
        id: SessionId,
    },
    /// Every hit of a search.
    Search {
        /// Query text.
        query: String,
        /// Lower time bound.
        since: Option<Nanos>,
        /// Upper time bound.
        until: Option<Nanos>,
    },
}

/// File format of an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line (the `lateral hunt --output jsonl` schema).
    #[default]
    Jsonl,
    /// Comma-separated values.
    Csv,
    /// A Markdown report.
    Markdown,
}

impl ExportFormat {
    /// Parse `jsonl`, `json`, `csv`, `md`, `markdown`.
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s {
            "jsonl" | "json" => Some(ExportFormat::Jsonl),
            "csv" => Some(ExportFormat::Csv),
            "md" | "markdown" => Some(ExportFormat::Markdown),
            _ => None,
        }
    }
}
