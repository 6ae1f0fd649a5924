//! `update` behaviour: selection across live changes, filter, sort, stale search results,
//! paging, the palette, mouse, redraw tracking and the small-terminal guard.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod tui_support;

use lateral::correlate::session::SessionId;
use lateral::correlate::{Change, ChangeKind, Group};
use lateral::event::Severity;
use lateral::tui::store::SortColumn;
use lateral::tui::{
    Command, ExportFormat, ExportWhat, Focus, Model, ModelConfig, Msg, Overlay, Screen,
    SearchResults, SourceRow, update,
};
use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use tui_support::*;

fn id(m: &Model) -> String {
    m.selected_session()
        .map(|s| s.0.clone())
        .unwrap_or_default()
}

/// `n` sessions with distinct severities and times.
fn many(n: usize) -> Vec<Change> {
    (0..n)
        .map(|i| {
            let sev = [Severity::Low, Severity::Medium, Severity::High][i % 3];
            let mut s = session(&format!("s{i:05}"), sev, &format!("Session {i}"));
            s.first_seen = at(i as i64);
            s.last_seen = at(i as i64 + 10);
            s.event_count = i as u64;
            opened(s)
        })
        .collect()
}

fn run(m: &mut Model, msgs: impl IntoIterator<Item = Msg>) -> Vec<Command> {
    msgs.into_iter().flat_map(|msg| update(m, msg)).collect()
}

#[test]
fn selection_and_scroll_survive_live_changes() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('2'), ch('j')]);
    let before = id(&m);
    assert_eq!(before, pass_the_hash().id.0);

    // A new critical session sorts above the selection: the selection stays on the same
    // session (the short table stays whole on screen; a scrolled one keeps the row, below).
    let mut s = comprehensive();
    s.id = SessionId("new-critical".into());
    s.last_seen = at(9999);
    update(&mut m, Msg::Changes(vec![opened(s)]));
    assert_eq!(id(&m), before);
    let c = m.table_cursor();
    assert_eq!((c.selected, c.offset), (2, 0));

    // The selected session escalates and moves: the selection follows it.
    let mut s = pass_the_hash();
    s.severity = Severity::Critical;
    s.last_seen = at(10_000);
    update(
        &mut m,
        Msg::Changes(vec![Change {
            kind: ChangeKind::Escalated,
            session: s,
        }]),
    );
    assert_eq!(id(&m), before);
    assert_eq!(m.table_cursor().selected, 0);
    assert_eq!(m.store().get(0).unwrap().session.id.0, before);
}

#[test]
fn a_scrolled_table_keeps_its_place_through_a_large_batch() {
    let mut m = Model::new(ModelConfig::default());
    feed(
        &mut m,
        [
            Msg::Resize {
                width: 120,
                height: 40,
            },
            Msg::Changes(many(500)),
            ch('2'),
        ],
    );
    feed(
        &mut m,
        [key(KeyCode::PageDown), key(KeyCode::PageDown), ch('j')],
    );
    let before = id(&m);
    let c = m.table_cursor();
    let row = c.selected - c.offset;
    assert!(c.offset > 0, "scrolled: {c:?}");
    // 200 changes at once (the bulk path: apply, then sort once), all more recent than the
    // selection.
    let changes: Vec<Change> = many(200)
        .into_iter()
        .map(|mut ch| {
            ch.session.id = SessionId(format!("{}-new", ch.session.id.0));
            ch.session.last_seen = at(100_000);
            ch
        })
        .collect();
    update(&mut m, Msg::Changes(changes));
    assert_eq!(m.store().len(), 700);
    assert_eq!(id(&m), before);
    let c = m.table_cursor();
    assert_eq!(c.selected - c.offset, row);
    assert_eq!(
        m.store().get(c.selected).unwrap().session.id.0,
        before,
        "the cursor points at the selected session"
    );
}

#[test]
fn store_order_stays_sorted_through_incremental_changes() {
    let mut m = Model::new(ModelConfig::default());
    update(&mut m, Msg::Changes(many(300)));
    // Small batches take the binary-search path; check the order is still the full sort.
    for round in 0..20 {
        let mut s = session(
            &format!("s{:05}", round * 7),
            Severity::Critical,
            "Escalated",
        );
        s.last_seen = at(50_000 + round);
        update(
            &mut m,
            Msg::Changes(vec![Change {
                kind: ChangeKind::Escalated,
                session: s,
            }]),
        );
    }
    let store = m.store();
    for i in 1..store.len() {
        let (a, b) = (
            &store.get(i - 1).unwrap().session,
            &store.get(i).unwrap().session,
        );
        assert!(
            a.severity > b.severity || (a.severity == b.severity && a.last_seen >= b.last_seen),
            "row {i} out of order"
        );
    }
    assert_eq!(store.count(Severity::Critical), 20);
    assert_eq!(store.total(), 300);
}

#[test]
fn filter_live_keep_and_cancel() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('2'), ch('/')]);
    assert_eq!(m.focus(), Focus::Filter);
    feed(&mut m, typed("group:ch"));
    assert_eq!(m.store().len(), 2, "applied while typing");
    feed(&mut m, [key(KeyCode::Enter)]);
    assert_eq!(m.focus(), Focus::Normal);
    assert_eq!(m.store().filter().text(), "group:ch");
    // Esc while editing goes back to the filter before editing.
    feed(&mut m, [ch('/')]);
    feed(&mut m, typed(" -pod"));
    feed(&mut m, [key(KeyCode::Esc)]);
    assert_eq!(m.store().filter().text(), "group:ch");
    assert_eq!(m.store().len(), 2);
    // Text, severity, flags and negation.
    for (f, n) in [
        ("alice", 1),
        ("sev:high", 3),
        ("is:closed", 1),
        ("is:interactive", 2),
        ("-pod", 4),
        ("10.0.1.77", 1),
        ("t1021.004", 3),
        ("東京", 1),
    ] {
        run(&mut m, [ch(':')]);
        run(&mut m, typed(&format!("filter {f}")));
        run(&mut m, [key(KeyCode::Enter)]);
        assert_eq!(m.store().len(), n, "filter {f}");
    }
}

#[test]
fn sort_by_key_palette_and_header_click() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('2'), ch('s')]);
    assert_eq!(m.store().sort().column, SortColumn::LastSeen);
    let first = m.store().get(0).unwrap().session.last_seen;
    assert!((0..m.store().len()).all(|i| m.store().get(i).unwrap().session.last_seen <= first));
    feed(&mut m, [ch('S')]);
    assert!(!m.store().sort().descending);
    run(&mut m, [ch(':')]);
    run(&mut m, typed("sort events asc"));
    run(&mut m, [key(KeyCode::Enter)]);
    assert_eq!(m.store().sort().column, SortColumn::Events);
    assert_eq!(m.store().get(0).unwrap().session.event_count, 1);
    // Clicking the TITLE header sorts by title.
    let click = |x, y| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        })
    };
    feed(&mut m, [click(10, 2)]);
    assert_eq!(m.store().sort().column, SortColumn::Title);
    assert_eq!(
        m.store().get(0).unwrap().session.title,
        "Comprehensive Lateral Movement"
    );
}

fn results(generation: u64, offset: usize, n: usize, total: u64) -> SearchResults {
    SearchResults {
        generation,
        query: "q".into(),
        offset,
        total,
        hits: (0..n)
            .map(|i| event(&format!("h{}", offset + i), i as i64))
            .collect(),
        ..SearchResults::default()
    }
}

#[test]
fn stale_search_results_are_dropped() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('5')]);
    assert_eq!(
        m.focus(),
        Focus::SearchInput,
        "an empty search screen starts typing"
    );
    let mut cmds = run(&mut m, typed("user.name:alice"));
    cmds.extend(run(&mut m, [key(KeyCode::Enter)]));
    let first = m.search_generation();
    feed(&mut m, [ch('/')]);
    feed(&mut m, typed(" AND host.name:DC01"));
    cmds.extend(run(&mut m, [key(KeyCode::Enter)]));
    let second = m.search_generation();
    assert!(second > first);
    let searches: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Search(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(searches.len(), 2, "{cmds:?}");
    assert_eq!(searches[1].query, "user.name:alice AND host.name:DC01");

    // The older query answers last: dropped.
    update(&mut m, Msg::SearchResults(results(first, 0, 5, 5)));
    assert!(m.search_results().is_none());
    update(
        &mut m,
        Msg::SearchFailed {
            generation: first,
            message: "old".into(),
            position: None,
        },
    );
    update(&mut m, Msg::SearchResults(results(second, 0, 3, 3)));
    assert_eq!(m.search_results().unwrap().hits.len(), 3);
    assert!(!screen_text(&m, 120, 40).contains("old"));
}

#[test]
fn scrolling_near_the_end_asks_for_the_next_page() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('5')]);
    feed(&mut m, typed("x"));
    feed(&mut m, [key(KeyCode::Enter)]);
    let g = m.search_generation();
    update(&mut m, Msg::SearchResults(results(g, 0, 60, 412)));
    let cmds = run(&mut m, [ch('G')]);
    let page: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Search(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(page.len(), 1, "{cmds:?}");
    assert_eq!(page[0].generation, g, "pages share the generation");
    assert_eq!(page[0].offset, 60);
    // No second request while the first is out.
    assert!(run(&mut m, [ch('k'), ch('j')]).is_empty());
    update(&mut m, Msg::SearchResults(results(g, 60, 60, 412)));
    assert_eq!(m.search_results().unwrap().hits.len(), 120);
    // A page that does not continue the list is ignored.
    update(&mut m, Msg::SearchResults(results(g, 300, 10, 412)));
    assert_eq!(m.search_results().unwrap().hits.len(), 120);
}

#[test]
fn search_as_you_type_waits_for_a_pause() {
    let mut m = loaded(120, 40);
    feed(&mut m, [Msg::Tick { now_ms: 1000 }, ch('5')]);
    let cmds = run(&mut m, typed("host.name:WS01"));
    assert!(cmds.is_empty(), "nothing while typing");
    assert!(run(&mut m, [Msg::Tick { now_ms: 1100 }]).is_empty());
    let cmds = run(&mut m, [Msg::Tick { now_ms: 1400 }]);
    assert!(
        matches!(cmds.as_slice(), [Command::Search(r)] if r.query == "host.name:WS01"),
        "{cmds:?}"
    );
    // The same text does not run twice.
    assert!(run(&mut m, [Msg::Tick { now_ms: 5000 }]).is_empty());
}

#[test]
fn history_walks_back_and_forth() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('5')]);
    for q in ["a:1", "b:2"] {
        feed(&mut m, typed(q));
        feed(&mut m, [key(KeyCode::Enter), ch('/'), ctrl('u')]);
    }
    feed(&mut m, [key(KeyCode::Up)]);
    let typed_now = screen_text(&m, 120, 40);
    assert!(typed_now.contains("› b:2"), "{typed_now}");
    feed(&mut m, [key(KeyCode::Up)]);
    assert!(screen_text(&m, 120, 40).contains("› a:1"));
    feed(&mut m, [key(KeyCode::Down), key(KeyCode::Down)]);
    assert!(!screen_text(&m, 120, 40).contains("› b:2"));
}

#[test]
fn palette_commands() {
    let mut m = loaded(120, 40);
    let palette = |m: &mut Model, line: &str| {
        let mut cmds = run(m, [ch(':')]);
        cmds.extend(run(m, typed(line)));
        cmds.extend(run(m, [key(KeyCode::Enter)]));
        cmds
    };
    let cmds = palette(&mut m, "theme light");
    assert_eq!(m.theme().name, "light");
    assert!(cmds.contains(&Command::SetTheme {
        name: "light".into()
    }));
    // Unknown to the UI: the runtime looks for a user theme; nothing changes until it answers.
    let cmds = palette(&mut m, "theme midnight");
    assert_eq!(m.theme().name, "light");
    assert!(cmds.contains(&Command::SetTheme {
        name: "midnight".into()
    }));
    update(
        &mut m,
        Msg::Theme(Box::new(
            lateral::tui::Theme::from_toml("name = \"midnight\"\nextends = \"dark\"\n").unwrap(),
        )),
    );
    assert_eq!(m.theme().name, "midnight");

    let cmds = palette(&mut m, "search source.ip:10.0.1.23");
    assert_eq!(m.screen(), Screen::Search);
    assert!(matches!(cmds.as_slice(), [Command::Search(r)] if r.query == "source.ip:10.0.1.23"));

    feed(&mut m, [ch('2')]);
    let cmds = palette(&mut m, "export csv /tmp/out.csv");
    let Some(Command::Export(e)) = cmds.first() else {
        panic!("{cmds:?}")
    };
    assert_eq!(e.format, ExportFormat::Csv);
    assert_eq!(e.path.as_deref(), Some("/tmp/out.csv"));
    let ExportWhat::Sessions { ids } = &e.what else {
        panic!("{e:?}")
    };
    assert_eq!(ids.len(), 6);
    assert_eq!(ids[0], comprehensive().id, "in table order");

    palette(&mut m, "thme dark");
    let n = m.notice().unwrap();
    assert!(n.text.contains("did you mean :theme"), "{n:?}");

    let cmds = palette(&mut m, "q");
    assert_eq!(cmds, vec![Command::Quit]);
    assert!(m.should_quit());
}

#[test]
fn q_and_ctrl_c_quit_but_q_closes_a_panel_first() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('?')]);
    assert!(run(&mut m, [ch('q')]).is_empty());
    assert!(m.overlay().is_none());
    assert_eq!(run(&mut m, [ch('q')]), vec![Command::Quit]);
    let mut m = loaded(120, 40);
    assert_eq!(run(&mut m, [ctrl('c')]), vec![Command::Quit]);
    // Even while typing.
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('5')]);
    assert_eq!(m.focus(), Focus::SearchInput);
    assert_eq!(run(&mut m, [ctrl('c')]), vec![Command::Quit]);
}

#[test]
fn paste_goes_into_the_input_being_edited() {
    let mut m = loaded(120, 40);
    update(&mut m, Msg::Paste("ignored".into()));
    feed(&mut m, [ch('5')]);
    update(&mut m, Msg::Paste("source.ip:10.0.1.23\n\x1b[2J".into()));
    let text = screen_text(&m, 120, 40);
    assert!(text.contains("› source.ip:10.0.1.23 [2J"), "{text}");
    feed(&mut m, [key(KeyCode::Esc), ch('2'), ch('/')]);
    update(&mut m, Msg::Paste("alice".into()));
    assert_eq!(m.store().len(), 1, "the filter applies as pasted");
}

#[test]
fn detail_loads_events_and_pivots_to_a_search() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('2')]);
    let cmds = run(&mut m, [key(KeyCode::Enter)]);
    assert_eq!(m.screen(), Screen::Detail);
    let loads = cmds
        .iter()
        .filter(|c| matches!(c, Command::LoadEvent { .. }))
        .count();
    assert_eq!(
        loads,
        comprehensive().evidence.len(),
        "every visible row, once"
    );
    // Enter on a row opens its fields; the event is already on its way.
    let cmds = run(&mut m, [key(KeyCode::Enter)]);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(matches!(m.overlay(), Some(Overlay::Event { .. })));
    update(
        &mut m,
        Msg::EventNotFound {
            event_id: "a1f0-1024".into(),
        },
    );
    assert!(screen_text(&m, 120, 40).contains("not in the index"));
    // Asking again retries.
    feed(&mut m, [key(KeyCode::Esc)]);
    let cmds = run(&mut m, [key(KeyCode::Enter)]);
    assert_eq!(
        cmds,
        vec![Command::LoadEvent {
            event_id: "a1f0-1024".into()
        }]
    );
    feed(&mut m, [key(KeyCode::Esc)]);

    // p offers the session's host, user and address; Enter searches around its window.
    feed(&mut m, [ch('p')]);
    let Some(Overlay::Pivot { choices, .. }) = m.overlay() else {
        panic!("{:?}", m.overlay())
    };
    assert_eq!(
        choices[0],
        (lateral::event::Field::HostName, "WS01".to_string())
    );
    let cmds = run(&mut m, [key(KeyCode::Enter)]);
    let [Command::Search(r)] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert_eq!(r.query, "host.name:WS01");
    let s = comprehensive();
    assert!(r.since.unwrap() < s.first_seen && r.until.unwrap() > s.last_seen);
    assert_eq!(m.screen(), Screen::Search);
}

#[test]
fn field_queries_quote_what_needs_it() {
    use lateral::event::Field;
    use lateral::tui::update::field_query;
    assert_eq!(field_query(Field::HostName, "WS01"), "host.name:WS01");
    assert_eq!(
        field_query(Field::UserName, "ACME\\alice smith"),
        "user.name:\"ACME\\\\alice smith\""
    );
    assert_eq!(
        field_query(Field::ProcessCommandLine, "say \"hi\""),
        "process.command_line:\"say \\\"hi\\\"\""
    );
}

#[test]
fn coverage_cells_open_their_events() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('4'), ch('l'), ch('l'), ch('l'), ch('l')]);
    assert_eq!(m.coverage_column().1, 3, "clamped to the last group");
    feed(&mut m, [key(KeyCode::Enter)]);
    let Some(Overlay::CellEvents { column, .. }) = m.overlay() else {
        panic!()
    };
    assert_eq!(
        *column,
        lateral::tui::model::CoverageColumn::Group(Group::SystemEnumeration)
    );
    let cmds = run(&mut m, [key(KeyCode::Enter)]);
    assert_eq!(
        cmds,
        vec![Command::LoadEvent {
            event_id: "b7c2-2560".into()
        }]
    );
    assert!(matches!(m.overlay(), Some(Overlay::Event { .. })));
}

#[test]
fn mouse_wheel_click_and_tabs() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('2')]);
    let mouse = |kind, x, y| {
        Msg::Mouse(MouseEvent {
            kind,
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        })
    };
    feed(&mut m, [mouse(MouseEventKind::ScrollDown, 30, 10)]);
    assert_eq!(m.table_cursor().selected, 3);
    // Rows start under the header: row 3 of the screen is the first data row.
    feed(
        &mut m,
        [mouse(MouseEventKind::Down(MouseButton::Left), 30, 3)],
    );
    assert_eq!(m.table_cursor().selected, 0);
    // Clicking the selected row opens it.
    feed(
        &mut m,
        [mouse(MouseEventKind::Down(MouseButton::Left), 30, 3)],
    );
    assert_eq!(m.screen(), Screen::Detail);
    // A click on the search input starts editing.
    feed(&mut m, [ch('5'), key(KeyCode::Esc)]);
    assert_eq!(m.focus(), Focus::Normal);
    feed(
        &mut m,
        [mouse(MouseEventKind::Down(MouseButton::Left), 20, 2)],
    );
    assert_eq!(m.focus(), Focus::SearchInput);
    feed(&mut m, [key(KeyCode::Esc)]);
    // The tab bar switches screens.
    let x = lateral::tui::view::tab_x(Screen::Sources, 120);
    feed(
        &mut m,
        [mouse(MouseEventKind::Down(MouseButton::Left), x, 0)],
    );
    assert_eq!(m.screen(), Screen::Sources);
}

#[test]
fn redraw_only_when_something_changed() {
    let mut m = loaded(120, 40);
    assert!(m.needs_redraw());
    m.mark_drawn();
    update(&mut m, Msg::Tick { now_ms: 10 });
    assert!(!m.needs_redraw(), "an idle tick draws nothing");
    update(&mut m, Msg::Stats(stats()));
    assert!(!m.needs_redraw(), "same stats");
    update(&mut m, Msg::Sources(sources()));
    assert!(!m.needs_redraw(), "same sources");
    update(&mut m, ch('j'));
    assert!(m.needs_redraw());
    m.mark_drawn();
    // A notice expires on a later tick, which redraws once.
    feed(&mut m, [ch(':')]);
    feed(&mut m, typed("nope"));
    feed(&mut m, [key(KeyCode::Enter)]);
    assert!(m.notice().is_some());
    m.mark_drawn();
    update(&mut m, Msg::Tick { now_ms: 60_000 });
    assert!(m.notice().is_none());
    assert!(m.needs_redraw());
}

#[test]
fn small_terminals_get_a_message_not_a_broken_layout() {
    let mut m = loaded(120, 40);
    for (w, h) in [(79, 24), (80, 23), (20, 5), (1, 1), (0, 0)] {
        update(
            &mut m,
            Msg::Resize {
                width: w,
                height: h,
            },
        );
        assert!(m.too_small());
        if w >= 20 {
            let text = screen_text(&m, w, h);
            assert!(text.contains("too small"), "{w}x{h}:\n{text}");
        } else if w > 0 && h > 0 {
            render(&m, w, h);
        }
        // Keys still work on a tiny terminal.
        feed(&mut m, [ch('j'), ch('2'), key(KeyCode::PageDown)]);
    }
    update(
        &mut m,
        Msg::Resize {
            width: 80,
            height: 24,
        },
    );
    assert!(!m.too_small());
    assert!(screen_text(&m, 80, 24).contains("Sessions"));
}

#[test]
fn blind_spots_come_from_the_sources() {
    let mut m = loaded(120, 40);
    assert!(m.visibility().iter().all(|g| !g.blind()));
    update(
        &mut m,
        Msg::Sources(vec![SourceRow {
            path: "/zeek/conn.log".into(),
            format: Some("zeek-tsv".into()),
            datasets: vec!["zeek.conn".into()],
            ..SourceRow::default()
        }]),
    );
    let blind: Vec<_> = m.visibility().iter().filter(|g| g.blind()).collect();
    assert!(
        blind.iter().any(|g| g.group == Group::SystemEnumeration),
        "{blind:?}"
    );
    feed(&mut m, [ch('6')]);
    let text = screen_text(&m, 120, 40);
    assert!(
        text.contains("no process events: System Enumeration cannot be seen"),
        "{text}"
    );
    insta::assert_snapshot!("sources_blind_80x24", {
        update(
            &mut m,
            Msg::Resize {
                width: 80,
                height: 24,
            },
        );
        screen_text(&m, 80, 24)
    });
}

#[test]
fn follow_keeps_the_newest_on_top() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('2'), ch('s'), ch('f')]);
    let mut s = linux_enum();
    s.id = SessionId("fresh".into());
    s.last_seen = at(99_999);
    update(&mut m, Msg::Changes(vec![opened(s)]));
    assert_eq!(id(&m), "fresh");
    // Moving down stops following.
    feed(&mut m, [ch('j')]);
    let mut s = linux_enum();
    s.id = SessionId("fresher".into());
    s.last_seen = at(199_999);
    update(&mut m, Msg::Changes(vec![opened(s)]));
    assert_ne!(id(&m), "fresher");
}

// ---- triage ----

mod triage {
    use super::*;
    use lateral::triage::checklist::StepStatus;
    use lateral::tui::{Command, Focus, Msg, Screen, TriageAction, update};

    fn triage_model() -> lateral::tui::Model {
        let mut m = loaded(120, 40);
        update(&mut m, Msg::Cases(cases()));
        feed(&mut m, [ch('7')]);
        assert_eq!(m.screen(), Screen::Triage);
        m
    }

    fn triage_cmds(cmds: Vec<Command>) -> Vec<TriageAction> {
        cmds.into_iter()
            .filter_map(|c| match c {
                Command::Triage(a) => Some(a),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn space_cycles_the_status_of_the_selected_step() {
        let mut m = triage_model();
        // Step 2 is todo: space makes it done, a plain command with no note.
        update(&mut m, ch('n'));
        update(&mut m, ch('n'));
        assert_eq!(m.triage_selection(), (Some("case-1"), 2));
        let cmds = triage_cmds(update(&mut m, ch(' ')));
        assert_eq!(cmds.len(), 1);
        let TriageAction::SetStep {
            case, status, note, ..
        } = &cmds[0]
        else {
            panic!("{cmds:?}")
        };
        assert_eq!(
            (case.as_str(), *status, note),
            ("case-1", StepStatus::Done, &None)
        );
        update(&mut m, ch('p'));
        assert_eq!(m.triage_selection().1, 1);
    }

    #[test]
    fn skipping_without_a_note_asks_for_one() {
        let mut m = triage_model();
        // Step 0 is done → next is skipped, and it has no note.
        let cmds = update(&mut m, ch(' '));
        assert!(triage_cmds(cmds).is_empty());
        assert_eq!(m.focus(), Focus::TriageNote);
        // An empty note is refused without a command.
        let cmds = update(&mut m, key(KeyCode::Enter));
        assert!(triage_cmds(cmds).is_empty());
        assert!(m.notice().is_some());
        // With a reason it goes through.
        update(&mut m, ch(' '));
        feed(&mut m, typed("no EDR on that host"));
        let cmds = triage_cmds(update(&mut m, key(KeyCode::Enter)));
        assert_eq!(m.focus(), Focus::Normal);
        assert!(matches!(
            &cmds[..],
            [TriageAction::SetStep { status: StepStatus::Skipped, note: Some(n), .. }]
                if n == "no EDR on that host"
        ));
    }

    #[test]
    fn shift_n_adds_a_case_note() {
        let mut m = triage_model();
        feed(&mut m, [ch('N')]);
        feed(&mut m, typed("paged the owner"));
        let cmds = triage_cmds(update(&mut m, key(KeyCode::Enter)));
        assert_eq!(
            cmds,
            [TriageAction::Note {
                case: "case-1".into(),
                text: "paged the owner".into()
            }]
        );
    }

    #[test]
    fn esc_cancels_the_note() {
        let mut m = triage_model();
        feed(&mut m, [ch('e')]);
        assert_eq!(m.focus(), Focus::TriageNote);
        feed(&mut m, typed("draft"));
        let cmds = update(&mut m, key(KeyCode::Esc));
        assert!(triage_cmds(cmds).is_empty());
        assert_eq!(m.focus(), Focus::Normal);
    }

    #[test]
    fn enter_pivots_to_search_and_esc_comes_back() {
        let mut m = triage_model();
        let cases = cases();
        let with_query = cases[0]
            .steps
            .iter()
            .position(|s| s.query.is_some())
            .expect("a step with a pivot");
        for _ in 0..with_query {
            update(&mut m, ch('n'));
        }
        let cmds = update(&mut m, key(KeyCode::Enter));
        assert_eq!(m.screen(), Screen::Search);
        assert!(cmds.iter().any(|c| matches!(c, Command::Search(r)
            if Some(&r.query) == cases[0].steps[with_query].query.as_ref())));
        update(&mut m, key(KeyCode::Esc));
        assert_eq!(m.screen(), Screen::Triage);
    }

    #[test]
    fn attach_takes_the_event_selected_in_detail() {
        let mut m = triage_model();
        // Nothing viewed yet: a notice, no command.
        assert!(triage_cmds(update(&mut m, ch('a'))).is_empty());
        feed(&mut m, [ch('2'), key(KeyCode::Enter), ch('7')]);
        let cmds = triage_cmds(update(&mut m, ch('a')));
        assert!(
            matches!(&cmds[..], [TriageAction::Attach { case, event_id, .. }]
                if case == "case-1" && !event_id.is_empty()),
            "{cmds:?}"
        );
    }

    #[test]
    fn c_opens_a_case_or_adds_to_the_viewed_one() {
        let mut m = loaded(120, 40);
        feed(&mut m, [ch('2')]);
        let selected = m.selected_session().cloned().expect("a selected session");
        let cmds = triage_cmds(update(&mut m, ch('c')));
        assert_eq!(
            cmds,
            [TriageAction::OpenCase {
                sessions: vec![selected.clone()],
                into: None
            }]
        );
        // After looking at case-2 on the Triage screen, c adds to it.
        update(&mut m, Msg::Cases(cases()));
        feed(&mut m, [ch('7'), ch('j'), ch('2')]);
        let cmds = triage_cmds(update(&mut m, ch('c')));
        assert_eq!(
            cmds,
            [TriageAction::OpenCase {
                sessions: vec![selected],
                into: Some("case-2".into())
            }]
        );
    }

    #[test]
    fn refreshed_cases_keep_the_selection_and_y_copies_an_artifact() {
        let mut m = triage_model();
        update(&mut m, ch('j'));
        assert_eq!(m.triage_selection().0, Some("case-2"));
        let mut again = cases();
        again.reverse();
        update(&mut m, Msg::Cases(again));
        assert_eq!(m.triage_selection().0, Some("case-2"));
        let cmds = update(&mut m, ch('y'));
        assert!(
            cmds.iter()
                .any(|c| matches!(c, Command::CopyToClipboard(t) if !t.is_empty())),
            "{cmds:?}"
        );
    }
}
