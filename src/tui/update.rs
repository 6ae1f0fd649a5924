//! [`update()`]: every state change of the UI, one message at a time. Returns the
//! [`Command`]s the runtime must execute; never blocks, never touches files or the network.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind,
};

use super::catalog::RuleCatalog;
use super::input::{Cursor, Edit, window_offset};
use super::keymap::{Action, action};
use super::model::{Cached, CoverageColumn, Focus, Model, NoteEdit, Overlay, Results, Screen};
use super::msg::{
    Command, ExportFormat, ExportRequest, ExportWhat, Msg, Notice, SearchRequest, SearchResults,
    SourceRow, TriageAction,
};
use super::store::{Filter, Sort, SortColumn};
use super::theme::Theme;
use super::view;
use crate::correlate::Change;
use crate::correlate::session::Session;
use crate::event::{Event, Field, Nanos, edit_distance};
use crate::triage::checklist::{Step, StepStatus};
use crate::triage::response::{Artifact, artifacts};
use crate::triage::store::Case;

/// Palette commands and their usage lines (help and completion read this table).
pub const PALETTE_COMMANDS: &[(&str, &str)] = &[
    ("search", "search QUERY"),
    ("filter", "filter TEXT        (nothing clears it)"),
    (
        "sort",
        "sort severity|last|first|events|groups|title|context [asc|desc]",
    ),
    (
        "theme",
        "theme dark|light|high-contrast|colorblind|no-color|YOUR-THEME",
    ),
    (
        "export",
        "export [sessions|session|search] [jsonl|csv|md] [PATH]",
    ),
    ("help", "help"),
    ("quit", "quit"),
];

/// Above this many sessions the filter applies after a typing pause instead of per key:
/// re-filtering and re-sorting 100k sessions per keystroke would make typing lag.
const LIVE_FILTER_LIMIT: usize = 20_000;
/// Typing pause before a large filter applies.
const FILTER_DEBOUNCE_MS: u64 = 150;
/// Rows scrolled per mouse wheel notch.
const WHEEL_ROWS: isize = 3;
/// Pivot searches cover the session's window widened by this much on each side.
const PIVOT_MARGIN: Nanos = 3_600 * 1_000_000_000;

/// Apply one message. The returned commands are for the runtime, in order.
pub fn update(model: &mut Model, msg: Msg) -> Vec<Command> {
    let mut out = Vec::new();
    match msg {
        Msg::Key(key) => {
            if key.kind != KeyEventKind::Release {
                model.dirty = true;
                on_key(model, key, &mut out);
            }
        }
        Msg::Mouse(m) => on_mouse(model, m, &mut out),
        Msg::Paste(text) => on_paste(model, &text),
        Msg::Resize { width, height } => {
            model.width = width;
            model.height = height;
            refollow(model);
            model.dirty = true;
        }
        Msg::Tick { now_ms } => on_tick(model, now_ms, &mut out),
        Msg::Changes(changes) => on_changes(model, changes, &mut out),
        Msg::Stats(stats) => {
            if model.stats != stats {
                model.stats = stats;
                model.dirty = true;
            }
        }
        Msg::Sources(rows) => on_sources(model, rows),
        Msg::SearchResults(r) => on_results(model, r),
        Msg::SearchFailed {
            generation,
            message,
            position,
        } => {
            // A failure of an older query says nothing about the one on screen.
            if generation == model.search.generation {
                model.search.running = false;
                model.search.paging = false;
                model.search.error = Some((message, position));
                model.dirty = true;
            }
        }
        Msg::EventLoaded(ev) => {
            let id = ev.id.clone();
            model.events.put(id, Cached::Loaded(ev));
            model.dirty = true;
        }
        Msg::EventNotFound { event_id } => {
            model.events.put(event_id, Cached::Missing);
            model.dirty = true;
        }
        Msg::Theme(theme) => {
            let name = theme.name.clone();
            model.theme = *theme;
            notice(model, Notice::info(format!("theme {name}")));
        }
        Msg::Rules(rules) => {
            model.rules = RuleCatalog::new(rules);
            model.recompute_visibility();
            model.dirty = true;
        }
        Msg::Notice(n) => notice(model, n),
        Msg::Cases(cases) => on_cases(model, cases),
    }
    // Where `a` on the Triage screen takes its event from: the last of Detail and Search seen.
    if matches!(model.screen, Screen::Detail | Screen::Search) {
        model.triage.event_screen = Some(model.screen);
    }
    out
}

fn notice(model: &mut Model, n: Notice) {
    model.notice = Some((n, model.now_ms + model.config.notice_ms));
    model.dirty = true;
}

fn quit(model: &mut Model, out: &mut Vec<Command>) {
    model.quit = true;
    out.push(Command::Quit);
}

// ---- layout-derived sizes (the view lays out the same way) ----

fn body(model: &Model) -> ratatui::layout::Rect {
    view::body_area(model)
}

fn sessions_rows(model: &Model) -> usize {
    if model.screen == Screen::Coverage {
        view::coverage::layout(body(model)).rows()
    } else {
        view::sessions::layout(body(model)).rows()
    }
}

fn detail_rows(model: &Model) -> usize {
    view::detail::layout(model, body(model)).rows()
}

fn search_rows(model: &Model) -> usize {
    view::search::layout(body(model)).rows()
}

fn sources_rows(model: &Model) -> usize {
    view::sources::layout(body(model)).rows()
}

fn evidence_len(model: &Model) -> usize {
    model
        .detail
        .session
        .as_ref()
        .and_then(|id| model.store.by_id(id))
        .map_or(0, |e| e.session.evidence.len())
}

/// Keep every list's selection on screen after a resize or a data change.
fn refollow(model: &mut Model) {
    let n = model.store.len();
    let h = sessions_rows(model);
    model.sessions.cursor.follow(h, n);
    let n = evidence_len(model);
    let h = detail_rows(model);
    model.detail.cursor.clamp(n);
    model.detail.cursor.follow(h, n);
    let n = model.search.results.as_ref().map_or(0, |r| r.hits.len());
    let h = search_rows(model);
    model.search.cursor.follow(h, n);
    let n = model.sources.rows.len();
    let h = sources_rows(model);
    model.sources.cursor.follow(h, n);
}

// ---- data messages ----

fn on_changes(model: &mut Model, changes: Vec<Change>, out: &mut Vec<Command>) {
    let cur = model.sessions.cursor;
    let screen_row = cur.selected.saturating_sub(cur.offset);
    if !model.store.apply(changes) {
        return;
    }
    resync_selection(model, Some(screen_row));
    let n = evidence_len(model);
    model.detail.cursor.clamp(n);
    if model.screen == Screen::Detail {
        request_visible_evidence(model, out);
    }
    model.dirty = true;
}

/// Put the table cursor back on the selected session after the view order changed. With
/// `keep_row`, the selected session also stays on the same screen row (the rest scrolls
/// around it); without, it only stays visible.
fn resync_selection(model: &mut Model, keep_row: Option<usize>) {
    let len = model.store.len();
    let h = sessions_rows(model);
    let s = &mut model.sessions;
    if s.follow {
        s.cursor = Cursor::default();
    } else if let Some(pos) = s.selected.as_ref().and_then(|id| model.store.position(id)) {
        s.cursor.selected = pos;
        if let Some(row) = keep_row {
            s.cursor.offset = pos.saturating_sub(row);
        }
    } else {
        s.cursor.clamp(len);
    }
    s.cursor.follow(h, len);
    s.selected = model
        .store
        .get(s.cursor.selected)
        .map(|e| e.session.id.clone());
}

fn on_sources(model: &mut Model, mut rows: Vec<SourceRow>) {
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    if rows == model.sources.rows {
        return;
    }
    let selected = model
        .sources
        .rows
        .get(model.sources.cursor.selected)
        .map(|r| r.path.clone());
    model.sources.rows = rows;
    if let Some(pos) = selected.and_then(|p| model.sources.rows.iter().position(|r| r.path == p)) {
        model.sources.cursor.selected = pos;
    }
    let n = model.sources.rows.len();
    model.sources.cursor.clamp(n);
    let h = sources_rows(model);
    model.sources.cursor.follow(h, n);
    model.recompute_visibility();
    model.dirty = true;
}

fn on_results(model: &mut Model, r: SearchResults) {
    let s = &mut model.search;
    // Newest query wins: anything from an older generation is stale.
    if r.generation != s.generation {
        return;
    }
    if r.offset == 0 {
        s.results = Some(Results {
            query: r.query,
            total: r.total,
            hits: r.hits,
            histogram: r.histogram,
            facets: r.facets,
            took_ms: r.took_ms,
        });
        s.cursor = Cursor::default();
        s.running = false;
        s.paging = false;
        s.error = None;
    } else if let Some(res) = s.results.as_mut()
        && r.offset == res.hits.len()
    {
        res.hits.extend(r.hits);
        res.total = r.total;
        s.paging = false;
    } else {
        // A page that does not continue what is loaded (reordered delivery): drop it and let
        // scrolling ask again.
        s.paging = false;
        return;
    }
    model.dirty = true;
}

fn on_tick(model: &mut Model, now_ms: u64, out: &mut Vec<Command>) {
    let before = view::search::spinner_frame(model.now_ms);
    model.now_ms = now_ms;
    if let Some((_, until)) = &model.notice
        && *until <= now_ms
    {
        model.notice = None;
        model.dirty = true;
    }
    if let Some(at) = model.search.debounce_at
        && at <= now_ms
    {
        model.search.debounce_at = None;
        if model.search.input.text().trim() != model.search.sent {
            run_search(model, out);
        }
    }
    if let Some(at) = model.filter_due
        && at <= now_ms
    {
        apply_filter(model);
    }
    if model.search.running
        && model.screen == Screen::Search
        && view::search::spinner_frame(now_ms) != before
    {
        model.dirty = true;
    }
}

// ---- keys ----

fn on_paste(model: &mut Model, text: &str) {
    let input = match model.focus {
        Focus::Filter => &mut model.sessions.filter_input,
        Focus::Palette => &mut model.palette,
        Focus::SearchInput => &mut model.search.input,
        Focus::TriageNote => &mut model.triage.input,
        Focus::Normal => return,
    };
    for c in text.chars() {
        // A pasted line break would end nothing here; a space keeps words apart.
        input.insert(if c == '\n' || c == '\r' || c == '\t' {
            ' '
        } else {
            c
        });
    }
    model.dirty = true;
    match model.focus {
        Focus::Filter if model.store.total() <= LIVE_FILTER_LIMIT => apply_filter(model),
        Focus::Filter => model.filter_due = Some(model.now_ms + FILTER_DEBOUNCE_MS),
        Focus::SearchInput => {
            model.search.debounce_at = Some(model.now_ms + model.config.search_debounce_ms);
        }
        _ => {}
    }
}

fn on_key(model: &mut Model, key: KeyEvent, out: &mut Vec<Command>) {
    // Ctrl-C leaves from anywhere, inputs and panels included: the way out of a terminal app.
    if key.code == KeyCode::Char('c')
        && key
            .modifiers
            .contains(ratatui::crossterm::event::KeyModifiers::CONTROL)
    {
        quit(model, out);
        return;
    }
    if model.overlay.is_some() {
        overlay_key(model, key, out);
        return;
    }
    match model.focus {
        Focus::Filter => filter_key(model, key),
        Focus::Palette => palette_key(model, key, out),
        Focus::SearchInput => search_input_key(model, key, out),
        Focus::TriageNote => triage_note_key(model, key, out),
        Focus::Normal => {
            // Keys the shared table gives another meaning (`p` pivots, space pages) mean
            // stepper moves on the Triage screen, and `c` opens a case where sessions are.
            if triage_key(model, key, out) {
                return;
            }
            if let Some(a) = action(key) {
                normal_action(model, a, out);
            }
        }
    }
}

fn normal_action(model: &mut Model, a: Action, out: &mut Vec<Command>) {
    match a {
        Action::Quit => quit(model, out),
        Action::Help => model.overlay = Some(Overlay::Help),
        Action::Back if model.screen == Screen::Search && model.triage.return_from_search => {
            model.triage.return_from_search = false;
            switch(model, Screen::Triage, out);
        }
        Action::Screen(s) => switch(model, s, out),
        Action::NextScreen | Action::PrevScreen => {
            let i = model.screen.number() - 1;
            let n = Screen::ALL.len();
            let j = if a == Action::NextScreen {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            switch(model, Screen::ALL[j], out);
        }
        Action::Palette => {
            model.palette.clear();
            model.focus = Focus::Palette;
        }
        _ => match model.screen {
            Screen::Overview => {
                if a == Action::Enter {
                    switch(model, Screen::Sessions, out);
                }
            }
            Screen::Sessions => sessions_action(model, a, out),
            Screen::Detail => detail_action(model, a, out),
            Screen::Coverage => coverage_action(model, a, out),
            Screen::Search => search_action(model, a, out),
            Screen::Sources => sources_action(model, a, out),
            Screen::Triage => triage_action(model, a, out),
        },
    }
}

fn switch(model: &mut Model, s: Screen, out: &mut Vec<Command>) {
    if model.screen == Screen::Triage && s != Screen::Triage {
        model.triage.viewing = model.triage.case().map(|c| c.id.clone());
    }
    if s != Screen::Search {
        model.triage.return_from_search = false;
    }
    model.screen = s;
    match s {
        Screen::Detail => {
            if model.detail.session.is_none() {
                model.detail.session = model.sessions.selected.clone();
                model.detail.cursor = Cursor::default();
            }
            request_visible_evidence(model, out);
        }
        Screen::Search
            if model.search.input.text().is_empty() && model.search.results.is_none() =>
        {
            model.focus = Focus::SearchInput;
        }
        Screen::Sessions | Screen::Coverage => {
            let len = model.store.len();
            let h = sessions_rows(model);
            model.sessions.cursor.follow(h, len);
        }
        _ => {}
    }
}

/// How far a movement action goes in a list.
fn step(a: Action, page: usize, selected: usize, len: usize) -> Option<isize> {
    let page = page.max(1) as isize;
    Some(match a {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -page,
        Action::PageDown => page,
        Action::HalfUp => -(page / 2).max(1),
        Action::HalfDown => (page / 2).max(1),
        Action::Top => -(selected as isize),
        Action::Bottom => len as isize - 1 - selected as isize,
        _ => return None,
    })
}

fn move_sessions(model: &mut Model, delta: isize) {
    let len = model.store.len();
    let h = sessions_rows(model);
    let c = &mut model.sessions.cursor;
    c.move_by(delta, len);
    c.follow(h, len);
    // Moving off the first row means the analyst is reading: stop following the newest.
    if c.selected != 0 {
        model.sessions.follow = false;
    }
    model.sessions.selected = model
        .store
        .get(model.sessions.cursor.selected)
        .map(|e| e.session.id.clone());
}

fn sessions_action(model: &mut Model, a: Action, out: &mut Vec<Command>) {
    let h = sessions_rows(model);
    if let Some(d) = step(a, h, model.sessions.cursor.selected, model.store.len()) {
        move_sessions(model, d);
        return;
    }
    match a {
        Action::Enter => open_detail(model, out),
        Action::Filter => start_filter(model),
        Action::Sort => {
            let col = model.store.sort().column.next();
            set_sort(
                model,
                Sort {
                    column: col,
                    descending: col.default_descending(),
                },
            );
        }
        Action::Reverse => {
            let s = model.store.sort();
            set_sort(
                model,
                Sort {
                    descending: !s.descending,
                    ..s
                },
            );
        }
        Action::Follow => {
            model.sessions.follow = !model.sessions.follow;
            if model.sessions.follow {
                resync_selection(model, None);
            }
        }
        Action::Pivot => {
            if let Some(e) = model
                .sessions
                .selected
                .as_ref()
                .and_then(|id| model.store.by_id(id))
            {
                let s = &e.session;
                let choices = session_choices(s);
                open_pivot(model, choices, Some(session_range(s)));
            }
        }
        Action::Copy => {
            if let Some(id) = model.sessions.selected.clone() {
                copy(model, id.0, "session id", out);
            }
        }
        _ => {}
    }
}

fn set_sort(model: &mut Model, sort: Sort) {
    model.store.set_sort(sort);
    resync_selection(model, None);
}

fn open_detail(model: &mut Model, out: &mut Vec<Command>) {
    let Some(id) = model.sessions.selected.clone() else {
        return;
    };
    if model.detail.session.as_ref() != Some(&id) {
        model.detail.cursor = Cursor::default();
    }
    model.detail.session = Some(id);
    model.screen = Screen::Detail;
    request_visible_evidence(model, out);
}

fn start_filter(model: &mut Model) {
    let current = model.store.filter().text().to_string();
    model.sessions.filter_input.set(&current);
    model.sessions.filter_before = current;
    model.focus = Focus::Filter;
}

fn apply_filter(model: &mut Model) {
    model.filter_due = None;
    let f = Filter::parse(model.sessions.filter_input.text());
    model.store.set_filter(f);
    resync_selection(model, None);
    model.dirty = true;
}

fn filter_key(model: &mut Model, key: KeyEvent) {
    match key.code {
        KeyCode::Enter => {
            apply_filter(model);
            model.focus = Focus::Normal;
        }
        KeyCode::Esc => {
            let before = model.sessions.filter_before.clone();
            model.sessions.filter_input.set(&before);
            apply_filter(model);
            model.focus = Focus::Normal;
        }
        _ => {
            if model.sessions.filter_input.handle(key) == Edit::Changed {
                if model.store.total() <= LIVE_FILTER_LIMIT {
                    apply_filter(model);
                } else {
                    model.filter_due = Some(model.now_ms + FILTER_DEBOUNCE_MS);
                }
            }
        }
    }
}

fn detail_action(model: &mut Model, a: Action, out: &mut Vec<Command>) {
    let len = evidence_len(model);
    let h = detail_rows(model);
    if let Some(d) = step(a, h, model.detail.cursor.selected, len) {
        model.detail.cursor.move_by(d, len);
        model.detail.cursor.follow(h, len);
        request_visible_evidence(model, out);
        return;
    }
    match a {
        Action::Back => model.screen = Screen::Sessions,
        Action::Enter => {
            if let Some(id) = selected_evidence_id(model) {
                open_event(model, id, out);
            }
        }
        Action::PrevItem | Action::NextItem => {
            move_sessions(model, if a == Action::PrevItem { -1 } else { 1 });
            if model.sessions.selected != model.detail.session {
                model.detail.session = model.sessions.selected.clone();
                model.detail.cursor = Cursor::default();
                request_visible_evidence(model, out);
            }
        }
        Action::Pivot => {
            let Some(e) = model
                .detail
                .session
                .as_ref()
                .and_then(|id| model.store.by_id(id))
            else {
                return;
            };
            let s = &e.session;
            let mut choices = Vec::new();
            if let Some(ev) = selected_evidence_id(model).and_then(|id| model.events.event(&id)) {
                choices = event_choices(ev);
            }
            for c in session_choices(s) {
                if !choices.contains(&c) {
                    choices.push(c);
                }
            }
            let range = session_range(s);
            open_pivot(model, choices, Some(range));
        }
        Action::Copy => {
            if let Some(id) = selected_evidence_id(model) {
                copy(model, id, "event id", out);
            }
        }
        _ => {}
    }
}

fn selected_evidence_id(model: &Model) -> Option<String> {
    let id = model.detail.session.as_ref()?;
    let e = model.store.by_id(id)?;
    e.session
        .evidence
        .get(model.detail.cursor.selected)
        .map(|ev| ev.event_id.clone())
}

/// Ask for the events of the timeline rows on screen that are not loaded yet.
fn request_visible_evidence(model: &mut Model, out: &mut Vec<Command>) {
    if model.screen != Screen::Detail {
        return;
    }
    let h = detail_rows(model);
    let Some(e) = model
        .detail
        .session
        .as_ref()
        .and_then(|id| model.store.by_id(id))
    else {
        return;
    };
    let cur = model.detail.cursor;
    let offset = window_offset(cur.selected, cur.offset, e.session.evidence.len(), h);
    let wanted: Vec<String> = e
        .session
        .evidence
        .iter()
        .skip(offset)
        .take(h)
        .filter(|ev| model.events.get(&ev.event_id).is_none())
        .map(|ev| ev.event_id.clone())
        .collect();
    for id in wanted {
        model.events.put(id.clone(), Cached::Pending);
        out.push(Command::LoadEvent { event_id: id });
    }
}

fn open_event(model: &mut Model, id: String, out: &mut Vec<Command>) {
    match model.events.get(&id) {
        Some(Cached::Loaded(_)) | Some(Cached::Pending) => {}
        // Not asked yet, or the index did not have it last time: ask (again).
        Some(Cached::Missing) | None => {
            model.events.put(id.clone(), Cached::Pending);
            out.push(Command::LoadEvent {
                event_id: id.clone(),
            });
        }
    }
    // Line 0 is the "normalized" heading; start on the first field.
    model.overlay = Some(Overlay::Event {
        event_id: id,
        cursor: Cursor {
            selected: 1,
            offset: 0,
        },
    });
}

fn coverage_action(model: &mut Model, a: Action, out: &mut Vec<Command>) {
    let h = sessions_rows(model);
    if let Some(d) = step(a, h, model.sessions.cursor.selected, model.store.len()) {
        move_sessions(model, d);
        return;
    }
    let ncols = view::coverage::columns(model).len();
    let table_w = view::coverage::layout(body(model)).table.width;
    match a {
        Action::Left | Action::Right => {
            let c = &mut model.coverage;
            c.column = if a == Action::Left {
                c.column.saturating_sub(1)
            } else {
                (c.column + 1).min(ncols.saturating_sub(1))
            };
            let off = view::coverage::column_offset(model, table_w, ncols);
            model.coverage.column_offset = off;
        }
        Action::Toggle => {
            model.coverage.mode = model.coverage.mode.next();
            model.coverage.column = 0;
            model.coverage.column_offset = 0;
        }
        Action::Filter => start_filter(model),
        Action::Enter => {
            let cols = view::coverage::columns(model);
            let (Some(col), Some(id)) = (
                cols.get(model.coverage.column).cloned(),
                model.sessions.selected.clone(),
            ) else {
                return;
            };
            model.overlay = Some(Overlay::CellEvents {
                session: id,
                column: col,
                cursor: Cursor::default(),
            });
        }
        Action::Pivot => sessions_action(model, a, out),
        _ => {}
    }
}

fn search_action(model: &mut Model, a: Action, out: &mut Vec<Command>) {
    let len = model.search.results.as_ref().map_or(0, |r| r.hits.len());
    let h = search_rows(model);
    if let Some(d) = step(a, h, model.search.cursor.selected, len) {
        model.search.cursor.move_by(d, len);
        model.search.cursor.follow(h, len);
        maybe_next_page(model, out);
        return;
    }
    match a {
        Action::Filter | Action::Insert => model.focus = Focus::SearchInput,
        Action::Enter => {
            if let Some(ev) = selected_hit(model).cloned() {
                let id = ev.id.clone();
                model.events.put(id.clone(), Cached::Loaded(Box::new(ev)));
                open_event(model, id, out);
            }
        }
        Action::Pivot => {
            if let Some(ev) = selected_hit(model) {
                let choices = event_choices(ev);
                open_pivot(model, choices, None);
            }
        }
        Action::ClearRange if model.search.range.take().is_some() => run_search(model, out),
        Action::Copy => {
            if let Some(id) = selected_hit(model).map(|e| e.id.clone()) {
                copy(model, id, "event id", out);
            }
        }
        _ => {}
    }
}

fn selected_hit(model: &Model) -> Option<&Event> {
    model
        .search
        .results
        .as_ref()?
        .hits
        .get(model.search.cursor.selected)
}

/// Ask for the next page when the selection nears the end of what is loaded.
fn maybe_next_page(model: &mut Model, out: &mut Vec<Command>) {
    let h = search_rows(model);
    let s = &mut model.search;
    let Some(r) = &s.results else {
        return;
    };
    let loaded = r.hits.len();
    if s.paging || (loaded as u64) >= r.total || s.cursor.selected + 2 * h < loaded {
        return;
    }
    s.paging = true;
    out.push(Command::Search(SearchRequest {
        generation: s.generation,
        query: s.sent.clone(),
        since: s.range.map(|r| r.0),
        until: s.range.map(|r| r.1),
        offset: loaded,
        limit: model.config.search_limit,
    }));
}

fn run_search(model: &mut Model, out: &mut Vec<Command>) {
    let q = model.search.input.text().trim().to_string();
    let s = &mut model.search;
    s.debounce_at = None;
    if q.is_empty() {
        return;
    }
    s.generation += 1;
    s.running = true;
    s.paging = false;
    s.error = None;
    s.sent = q.clone();
    if s.history.last() != Some(&q) {
        s.history.push(q.clone());
    }
    s.history_pos = None;
    out.push(Command::Search(SearchRequest {
        generation: s.generation,
        query: q,
        since: s.range.map(|r| r.0),
        until: s.range.map(|r| r.1),
        offset: 0,
        limit: model.config.search_limit,
    }));
    model.dirty = true;
}

fn search_input_key(model: &mut Model, key: KeyEvent, out: &mut Vec<Command>) {
    let s = &mut model.search;
    match key.code {
        KeyCode::Enter => {
            model.focus = Focus::Normal;
            run_search(model, out);
        }
        KeyCode::Esc | KeyCode::Tab => {
            model.focus = Focus::Normal;
        }
        KeyCode::Up => {
            if s.history.is_empty() {
                return;
            }
            let pos = match s.history_pos {
                Some(p) => p.saturating_sub(1),
                None => s.history.len() - 1,
            };
            s.history_pos = Some(pos);
            let q = s.history[pos].clone();
            s.input.set(&q);
        }
        KeyCode::Down => match s.history_pos {
            Some(p) if p + 1 < s.history.len() => {
                s.history_pos = Some(p + 1);
                let q = s.history[p + 1].clone();
                s.input.set(&q);
            }
            Some(_) => {
                s.history_pos = None;
                s.input.clear();
            }
            None => {}
        },
        _ => {
            if s.input.handle(key) == Edit::Changed {
                s.history_pos = None;
                s.debounce_at = Some(model.now_ms + model.config.search_debounce_ms);
            }
        }
    }
}

fn sources_action(model: &mut Model, a: Action, out: &mut Vec<Command>) {
    let len = model.sources.rows.len();
    let h = sources_rows(model);
    if let Some(d) = step(a, h, model.sources.cursor.selected, len) {
        model.sources.cursor.move_by(d, len);
        model.sources.cursor.follow(h, len);
        return;
    }
    if a == Action::Copy
        && let Some(p) = model
            .sources
            .rows
            .get(model.sources.cursor.selected)
            .map(|r| r.path.clone())
    {
        copy(model, p, "path", out);
    }
}

fn copy(model: &mut Model, text: String, what: &str, out: &mut Vec<Command>) {
    notice(
        model,
        Notice::info(format!("copied the {what} to the clipboard")),
    );
    out.push(Command::CopyToClipboard(text));
}

// ---- pivots ----

/// The session's window widened by an hour each side: what happened around it.
fn session_range(s: &Session) -> (Nanos, Nanos) {
    (
        s.first_seen.saturating_sub(PIVOT_MARGIN),
        s.last_seen.saturating_add(PIVOT_MARGIN),
    )
}

fn session_choices(s: &Session) -> Vec<(Field, String)> {
    let c = &s.context;
    let mut out: Vec<(Field, String)> = Vec::new();
    let mut add = |f: Field, v: &Option<String>| {
        if let Some(v) = v
            && !out.iter().any(|(g, w)| *g == f && w == v)
        {
            out.push((f, v.clone()));
        }
    };
    add(Field::HostName, &c.host);
    add(Field::UserName, &c.user);
    add(Field::SourceIp, &c.source_ip);
    add(Field::OrchestratorResourceName, &c.pod);
    add(Field::ContainerId, &c.container);
    for t in &c.targets {
        let f = if t.parse::<std::net::IpAddr>().is_ok() {
            Field::DestinationIp
        } else {
            Field::HostName
        };
        add(f, &Some(t.clone()));
    }
    out
}

fn event_choices(ev: &Event) -> Vec<(Field, String)> {
    [
        Field::HostName,
        Field::UserName,
        Field::SourceIp,
        Field::DestinationIp,
        Field::UserTargetName,
        Field::DestinationDomain,
        Field::SourceDomain,
        Field::OrchestratorResourceName,
        Field::ProcessExecutable,
        Field::ServiceName,
    ]
    .into_iter()
    .filter_map(|f| ev.get(f).map(|v| (f, v.to_string())))
    .collect()
}

fn open_pivot(model: &mut Model, choices: Vec<(Field, String)>, range: Option<(Nanos, Nanos)>) {
    model.overlay = Some(Overlay::Pivot {
        choices,
        cursor: Cursor::default(),
        range,
    });
}

/// `field:value`, quoted when the value is not a bare word of the query language.
pub fn field_query(field: Field, value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '$'));
    if bare {
        format!("{}:{value}", field.name())
    } else {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        format!("{}:\"{escaped}\"", field.name())
    }
}

fn pivot_to(
    model: &mut Model,
    field: Field,
    value: &str,
    range: Option<(Nanos, Nanos)>,
    out: &mut Vec<Command>,
) {
    model.overlay = None;
    model.screen = Screen::Search;
    model.focus = Focus::Normal;
    model.search.input.set(&field_query(field, value));
    if range.is_some() {
        model.search.range = range;
    }
    run_search(model, out);
}

// ---- overlays ----

fn overlay_key(model: &mut Model, key: KeyEvent, out: &mut Vec<Command>) {
    let Some(a) = action(key) else {
        return;
    };
    if matches!(a, Action::Back | Action::Quit)
        || (a == Action::Help && model.overlay == Some(Overlay::Help))
    {
        // `q` closes the panel rather than the app: a reflex after reading a popup.
        model.overlay = None;
        return;
    }
    let Some(overlay) = model.overlay.take() else {
        return;
    };
    model.overlay = Some(match overlay {
        Overlay::Help => Overlay::Help,
        Overlay::Event {
            event_id,
            mut cursor,
        } => {
            let lines = model
                .events
                .event(&event_id)
                .map(|ev| view::overlay::event_lines(ev, view::overlay::raw_width(body(model))))
                .unwrap_or_default();
            let h = view::overlay::event_rows(body(model));
            if let Some(d) = step(a, h, cursor.selected, lines.len()) {
                cursor.move_by(d, lines.len());
                cursor.follow(h, lines.len());
            } else if let Some(line) = lines.get(cursor.selected) {
                match a {
                    Action::Copy if !line.heading => {
                        let v = line.value.clone();
                        model.overlay = Some(Overlay::Event { event_id, cursor });
                        copy(model, v, "value", out);
                        return;
                    }
                    Action::Pivot => {
                        if let Some(f) = line.field.filter(|f| pivotable(*f)) {
                            let v = line.value.clone();
                            pivot_to(model, f, &v, None, out);
                            return;
                        }
                        if let Some(ev) = model.events.event(&event_id) {
                            let choices = event_choices(ev);
                            open_pivot(model, choices, None);
                            return;
                        }
                    }
                    _ => {}
                }
            }
            Overlay::Event { event_id, cursor }
        }
        Overlay::Pivot {
            choices,
            mut cursor,
            range,
        } => {
            if let Some(d) = step(a, choices.len(), cursor.selected, choices.len()) {
                cursor.move_by(d, choices.len());
            } else if a == Action::Enter
                && let Some((f, v)) = choices.get(cursor.selected).cloned()
            {
                pivot_to(model, f, &v, range, out);
                return;
            }
            Overlay::Pivot {
                choices,
                cursor,
                range,
            }
        }
        Overlay::CellEvents {
            session,
            column,
            mut cursor,
        } => {
            let ids = cell_event_ids(model, &session, &column);
            let h = usize::from(
                view::overlay::cell_area(body(model))
                    .height
                    .saturating_sub(2),
            );
            if let Some(d) = step(a, h, cursor.selected, ids.len()) {
                cursor.move_by(d, ids.len());
                cursor.follow(h, ids.len());
            } else if a == Action::Enter
                && let Some(id) = ids.get(cursor.selected).cloned()
            {
                open_event(model, id, out);
                return;
            }
            Overlay::CellEvents {
                session,
                column,
                cursor,
            }
        }
    });
}

fn pivotable(f: Field) -> bool {
    !matches!(
        f,
        Field::Timestamp | Field::EventId | Field::LogOffset | Field::Message | Field::LogFilePath
    )
}

fn cell_event_ids(
    model: &Model,
    session: &crate::correlate::session::SessionId,
    column: &CoverageColumn,
) -> Vec<String> {
    model.store.by_id(session).map_or_else(Vec::new, |e| {
        e.session
            .evidence
            .iter()
            .filter(|ev| view::coverage::evidence_in_cell(model, ev, column))
            .map(|ev| ev.event_id.clone())
            .collect()
    })
}

// ---- palette ----

fn palette_key(model: &mut Model, key: KeyEvent, out: &mut Vec<Command>) {
    match key.code {
        KeyCode::Enter => {
            let line = model.palette.text().to_string();
            model.palette.clear();
            model.focus = Focus::Normal;
            run_palette(model, &line, out);
        }
        KeyCode::Esc => {
            model.palette.clear();
            model.focus = Focus::Normal;
        }
        KeyCode::Tab => {
            let text = model.palette.text().to_string();
            let word = text.split_whitespace().next().unwrap_or("");
            let matching: Vec<&str> = PALETTE_COMMANDS
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| n.starts_with(word))
                .collect();
            if let [one] = matching.as_slice()
                && !text.contains(' ')
            {
                model.palette.set(&format!("{one} "));
            }
        }
        _ => {
            model.palette.handle(key);
        }
    }
}

/// Run a `:` command line.
pub fn run_palette(model: &mut Model, line: &str, out: &mut Vec<Command>) {
    let line = line.trim();
    let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    if cmd.is_empty() {
        return;
    }
    // A unique prefix is enough (`:th light`, `:q`).
    let resolved = PALETTE_COMMANDS
        .iter()
        .map(|(n, _)| *n)
        .find(|n| *n == cmd)
        .or_else(|| {
            let m: Vec<&str> = PALETTE_COMMANDS
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| n.starts_with(cmd))
                .collect();
            if m.len() == 1 { Some(m[0]) } else { None }
        });
    let Some(cmd) = resolved else {
        let hint = PALETTE_COMMANDS
            .iter()
            .map(|(n, _)| (edit_distance(cmd, n), *n))
            .filter(|(d, _)| *d <= 2)
            .min()
            .map(|(_, n)| format!(" (did you mean :{n}?)"))
            .unwrap_or_default();
        notice(
            model,
            Notice::error(format!("unknown command :{cmd}{hint}")),
        );
        return;
    };
    match cmd {
        "quit" => quit(model, out),
        "help" => model.overlay = Some(Overlay::Help),
        "theme" => theme_command(model, rest, out),
        "search" => {
            model.screen = Screen::Search;
            model.focus = Focus::Normal;
            model.search.input.set(rest);
            if rest.is_empty() {
                model.focus = Focus::SearchInput;
            } else {
                run_search(model, out);
            }
        }
        "filter" => {
            model.sessions.filter_input.set(rest);
            apply_filter(model);
            if !matches!(model.screen, Screen::Sessions | Screen::Coverage) {
                model.screen = Screen::Sessions;
            }
        }
        "sort" => sort_command(model, rest),
        "export" => export_command(model, rest, out),
        _ => {}
    }
}

fn theme_command(model: &mut Model, name: &str, out: &mut Vec<Command>) {
    if name.is_empty() {
        let names: Vec<&str> = Theme::builtin_names().collect();
        let current = model.theme.name.clone();
        notice(
            model,
            Notice::info(format!(
                "theme {current} · shipped: {} · or a theme file of yours",
                names.join(", ")
            )),
        );
        return;
    }
    // An explicit choice is honoured even under NO_COLOR: the analyst asked for colour.
    if let Some(t) = Theme::builtin(name) {
        model.theme = t;
        notice(model, Notice::info(format!("theme {name}")));
    } else {
        notice(model, Notice::info(format!("looking for theme {name}…")));
    }
    out.push(Command::SetTheme {
        name: name.to_string(),
    });
}

fn sort_command(model: &mut Model, rest: &str) {
    let mut words = rest.split_whitespace();
    let Some(col) = words.next().and_then(SortColumn::parse) else {
        let names: Vec<&str> = SortColumn::ALL.iter().map(|c| c.name()).collect();
        notice(
            model,
            Notice::error(format!("sort by one of: {}", names.join(", "))),
        );
        return;
    };
    let descending = match words.next() {
        Some("asc") => false,
        Some("desc") => true,
        _ => col.default_descending(),
    };
    set_sort(
        model,
        Sort {
            column: col,
            descending,
        },
    );
    if !matches!(model.screen, Screen::Sessions | Screen::Coverage) {
        model.screen = Screen::Sessions;
    }
}

fn export_command(model: &mut Model, rest: &str, out: &mut Vec<Command>) {
    let mut what_word = None;
    let mut format = ExportFormat::default();
    let mut path = None;
    for w in rest.split_whitespace() {
        match w {
            "sessions" | "session" | "search" if what_word.is_none() => what_word = Some(w),
            _ if ExportFormat::parse(w).is_some() && path.is_none() => {
                format = ExportFormat::parse(w).unwrap_or_default();
            }
            _ => path = Some(w.to_string()),
        }
    }
    let what_word = what_word.unwrap_or(match model.screen {
        Screen::Detail => "session",
        Screen::Search => "search",
        _ => "sessions",
    });
    let what = match what_word {
        "session" => match model
            .detail
            .session
            .clone()
            .or(model.sessions.selected.clone())
        {
            Some(id) => ExportWhat::Session { id },
            None => {
                notice(model, Notice::error("no session to export"));
                return;
            }
        },
        "search" => {
            if model.search.sent.is_empty() {
                notice(model, Notice::error("no search to export: run one first"));
                return;
            }
            ExportWhat::Search {
                query: model.search.sent.clone(),
                since: model.search.range.map(|r| r.0),
                until: model.search.range.map(|r| r.1),
            }
        }
        _ => ExportWhat::Sessions {
            ids: model.store.shown_ids(),
        },
    };
    let label = match &what {
        ExportWhat::Sessions { ids } => format!("{} sessions", ids.len()),
        ExportWhat::Session { .. } => "the session".to_string(),
        ExportWhat::Search { .. } => "the search hits".to_string(),
    };
    notice(model, Notice::info(format!("exporting {label}…")));
    out.push(Command::Export(ExportRequest { what, format, path }));
}

// ---- mouse ----

fn on_mouse(model: &mut Model, m: MouseEvent, out: &mut Vec<Command>) {
    match m.kind {
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            let down = m.kind == MouseEventKind::ScrollDown;
            let a = if down { Action::Down } else { Action::Up };
            model.dirty = true;
            for _ in 0..WHEEL_ROWS {
                if model.overlay.is_some() {
                    overlay_key_action(model, a, out);
                } else if model.focus == Focus::Normal {
                    normal_action(model, a, out);
                }
            }
        }
        MouseEventKind::Down(MouseButton::Left) => {
            model.dirty = true;
            click(model, m.column, m.row, out);
        }
        _ => {}
    }
}

fn overlay_key_action(model: &mut Model, a: Action, out: &mut Vec<Command>) {
    let code = match a {
        Action::Up => KeyCode::Up,
        _ => KeyCode::Down,
    };
    overlay_key(model, KeyEvent::from(code), out);
}

/// Row `row` of a table whose header is at `table.y`: the list index it shows, if any.
fn table_hit(
    table: ratatui::layout::Rect,
    col: u16,
    row: u16,
    cursor: Cursor,
    len: usize,
) -> Option<usize> {
    let h = usize::from(table.height.saturating_sub(1));
    if col < table.x || col > table.right() || row <= table.y || row >= table.bottom() {
        return None;
    }
    let offset = window_offset(cursor.selected, cursor.offset, len, h);
    let i = offset + usize::from(row - table.y - 1);
    (i < len).then_some(i)
}

fn click(model: &mut Model, col: u16, row: u16, out: &mut Vec<Command>) {
    if model.overlay.is_some() {
        // A click outside the panel closes it, like Esc.
        let b = body(model);
        let area = match &model.overlay {
            Some(Overlay::Event { .. }) => view::overlay::event_area(b),
            Some(Overlay::Pivot { choices, .. }) => view::overlay::pivot_area(b, choices.len()),
            Some(Overlay::CellEvents { .. }) => view::overlay::cell_area(b),
            _ => b,
        };
        let inside = col >= area.x && col < area.right() && row >= area.y && row < area.bottom();
        if !inside {
            model.overlay = None;
        }
        return;
    }
    if model.focus != Focus::Normal {
        return;
    }
    if row == 0 {
        if let Some((s, _, _)) = view::tab_positions(model.width)
            .into_iter()
            .find(|(_, x, w)| col >= *x && col < x + w)
        {
            switch(model, s, out);
        }
        return;
    }
    let b = body(model);
    match model.screen {
        Screen::Sessions | Screen::Coverage => {
            let table = if model.screen == Screen::Sessions {
                view::sessions::layout(b).table
            } else {
                view::coverage::layout(b).table
            };
            if model.screen == Screen::Sessions && row == table.y {
                header_click(model, table, col);
                return;
            }
            let len = model.store.len();
            if let Some(i) = table_hit(table, col, row, model.sessions.cursor, len) {
                if i == model.sessions.cursor.selected {
                    normal_action(model, Action::Enter, out);
                } else {
                    let d = i as isize - model.sessions.cursor.selected as isize;
                    move_sessions(model, d);
                }
            }
        }
        Screen::Detail => {
            let table = view::detail::layout(model, b).table;
            let len = evidence_len(model);
            if let Some(i) = table_hit(table, col, row, model.detail.cursor, len) {
                if i == model.detail.cursor.selected {
                    detail_action(model, Action::Enter, out);
                } else {
                    model.detail.cursor.select(i, len);
                }
            }
        }
        Screen::Search => {
            if view::search::input_hit(b, col, row) {
                model.focus = Focus::SearchInput;
                return;
            }
            let table = view::search::layout(b).table;
            let len = model.search.results.as_ref().map_or(0, |r| r.hits.len());
            if let Some(i) = table_hit(table, col, row, model.search.cursor, len) {
                if i == model.search.cursor.selected {
                    search_action(model, Action::Enter, out);
                } else {
                    model.search.cursor.select(i, len);
                }
            }
        }
        Screen::Sources => {
            let table = view::sources::layout(b).table;
            let len = model.sources.rows.len();
            if let Some(i) = table_hit(table, col, row, model.sources.cursor, len) {
                model.sources.cursor.select(i, len);
            }
        }
        Screen::Overview | Screen::Triage => {}
    }
}

fn header_click(model: &mut Model, table: ratatui::layout::Rect, col: u16) {
    let cols = view::sessions::columns(table.width);
    let plain: Vec<_> = cols.iter().map(|(c, _)| c.clone()).collect();
    let areas = super::widgets::DataTable::column_areas(&plain, table);
    let hit = areas
        .iter()
        .zip(&cols)
        .find(|(r, _)| col >= r.x && col < r.right())
        .and_then(|(_, (_, key))| *key);
    if let Some(column) = hit {
        let s = model.store.sort();
        let descending = if s.column == column {
            !s.descending
        } else {
            column.default_descending()
        };
        set_sort(model, Sort { column, descending });
    }
}

// ---- triage ----

fn on_cases(model: &mut Model, cases: Vec<Case>) {
    // Keep the same case selected across refreshes (a new case may sort before it).
    let selected = model.triage.case().map(|c| c.id.clone());
    model.triage.cases = cases;
    let len = model.triage.cases.len();
    if let Some(id) = selected
        && let Some(i) = model.triage.cases.iter().position(|c| c.id == id)
    {
        model.triage.cursor.select(i, len);
    } else {
        model.triage.cursor.clamp(len);
    }
    clamp_triage(model);
    model.dirty = true;
}

fn clamp_triage(model: &mut Model) {
    let (steps, artifacts) = model
        .triage
        .case()
        .map_or((0, 0), |c| (c.steps.len(), case_artifacts(c).len()));
    model.triage.step = model.triage.step.min(steps.saturating_sub(1));
    model.triage.artifact = model.triage.artifact.min(artifacts.saturating_sub(1));
}

/// The response artifacts of a case: those of each of its sessions, in session order.
pub fn case_artifacts(c: &Case) -> Vec<Artifact> {
    c.sessions.iter().flat_map(artifacts).collect()
}

/// Raw keys with a triage meaning; true when the key was used.
fn triage_key(model: &mut Model, key: KeyEvent, out: &mut Vec<Command>) -> bool {
    if key.modifiers.intersects(
        ratatui::crossterm::event::KeyModifiers::CONTROL
            | ratatui::crossterm::event::KeyModifiers::ALT,
    ) {
        return false;
    }
    let KeyCode::Char(c) = key.code else {
        return false;
    };
    if c == 'c' && matches!(model.screen, Screen::Sessions | Screen::Detail) {
        open_case(model, out);
        return true;
    }
    if model.screen != Screen::Triage {
        return false;
    }
    match c {
        'n' | 'p' => {
            let len = model.triage.case().map_or(0, |c| c.steps.len());
            let cur = model.triage.step;
            model.triage.step = if c == 'n' {
                (cur + 1).min(len.saturating_sub(1))
            } else {
                cur.saturating_sub(1)
            };
        }
        ' ' => cycle_step(model, out),
        'e' => {
            if let Some((case, step)) = selected_step(model) {
                let (note, edit) = (
                    step.note.clone(),
                    NoteEdit {
                        case: case.id.clone(),
                        step: step.id.clone(),
                        status: step.status,
                        case_note: false,
                    },
                );
                model.triage.input.set(&note);
                model.triage.editing = Some(edit);
                model.focus = Focus::TriageNote;
            }
        }
        'N' => {
            if let Some((case, step)) = selected_step(model) {
                let edit = NoteEdit {
                    case: case.id.clone(),
                    step: step.id.clone(),
                    status: step.status,
                    case_note: true,
                };
                model.triage.input.clear();
                model.triage.editing = Some(edit);
                model.focus = Focus::TriageNote;
            }
        }
        'a' => attach_event(model, out),
        _ => return false,
    }
    true
}

fn selected_step(model: &Model) -> Option<(&Case, &Step)> {
    let case = model.triage.case()?;
    Some((case, case.steps.get(model.triage.step)?))
}

fn cycle_step(model: &mut Model, out: &mut Vec<Command>) {
    let Some((case, step)) = selected_step(model) else {
        return;
    };
    let next = step.status.next();
    let (case, step_id, note) = (case.id.clone(), step.id.clone(), step.note.clone());
    if next == StepStatus::Skipped && note.trim().is_empty() {
        // Skipping is a decision someone has to be able to read later: ask why first.
        model.triage.input.clear();
        model.triage.editing = Some(NoteEdit {
            case,
            step: step_id,
            status: next,
            case_note: false,
        });
        model.focus = Focus::TriageNote;
        return;
    }
    out.push(Command::Triage(TriageAction::SetStep {
        case,
        step: step_id,
        status: next,
        note: None,
    }));
}

fn triage_note_key(model: &mut Model, key: KeyEvent, out: &mut Vec<Command>) {
    match key.code {
        KeyCode::Enter => {
            model.focus = Focus::Normal;
            let text = model.triage.input.text().trim().to_string();
            if let Some(edit) = model.triage.editing.take() {
                if edit.case_note {
                    if !text.is_empty() {
                        out.push(Command::Triage(TriageAction::Note {
                            case: edit.case,
                            text,
                        }));
                    }
                    return;
                }
                if edit.status == StepStatus::Skipped && text.is_empty() {
                    notice(model, Notice::error("skipping a step needs a note"));
                    return;
                }
                out.push(Command::Triage(TriageAction::SetStep {
                    case: edit.case,
                    step: edit.step,
                    status: edit.status,
                    note: Some(text),
                }));
            }
        }
        KeyCode::Esc => {
            model.focus = Focus::Normal;
            model.triage.editing = None;
        }
        _ => {
            model.triage.input.handle(key);
        }
    }
}

fn attach_event(model: &mut Model, out: &mut Vec<Command>) {
    let event = match model.triage.event_screen {
        Some(Screen::Search) => selected_hit(model).map(|e| e.id.clone()),
        Some(Screen::Detail) => selected_evidence_id(model),
        _ => None,
    };
    let Some(event_id) = event else {
        notice(
            model,
            Notice::error("select an event in Detail or Search first, then press a here"),
        );
        return;
    };
    let Some((case, step)) = selected_step(model) else {
        return;
    };
    let action = TriageAction::Attach {
        case: case.id.clone(),
        step: step.id.clone(),
        event_id,
    };
    out.push(Command::Triage(action));
}

fn open_case(model: &mut Model, out: &mut Vec<Command>) {
    let session = if model.screen == Screen::Detail {
        model.detail.session.clone()
    } else {
        model.sessions.selected.clone()
    };
    let Some(session) = session else {
        return;
    };
    let into = model.triage.viewing.take();
    let what = match &into {
        Some(c) => format!("adding the session to {c}"),
        None => "opening a case".to_string(),
    };
    notice(model, Notice::info(what));
    out.push(Command::Triage(TriageAction::OpenCase {
        sessions: vec![session],
        into,
    }));
}

fn triage_action(model: &mut Model, a: Action, out: &mut Vec<Command>) {
    let len = model.triage.cases.len();
    let h = usize::from(view::triage::layout(body(model)).cases_rows());
    if let Some(d) = step(a, h, model.triage.cursor.selected, len) {
        model.triage.cursor.move_by(d, len);
        model.triage.cursor.follow(h, len);
        model.triage.step = 0;
        model.triage.artifact = 0;
        return;
    }
    match a {
        Action::Enter => {
            let query = selected_step(model).and_then(|(_, s)| s.query.clone());
            match query {
                Some(q) => {
                    model.screen = Screen::Search;
                    model.focus = Focus::Normal;
                    model.search.input.set(&q);
                    model.triage.return_from_search = true;
                    run_search(model, out);
                }
                None => notice(model, Notice::info("this step has no pivot query")),
            }
        }
        Action::Left | Action::Right => {
            let n = model.triage.case().map_or(0, |c| case_artifacts(c).len());
            if n > 0 {
                let cur = model.triage.artifact;
                model.triage.artifact = if a == Action::Right {
                    (cur + 1) % n
                } else {
                    (cur + n - 1) % n
                };
            }
        }
        Action::Copy => {
            let text = model
                .triage
                .case()
                .and_then(|c| case_artifacts(c).into_iter().nth(model.triage.artifact))
                .map(|a| a.text);
            if let Some(text) = text {
                copy(model, text, "response artifact", out);
            }
        }
        _ => {}
    }
}
