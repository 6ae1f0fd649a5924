//! Every screen rendered into a `TestBackend` at 120×40 and 80×24 and compared with insta
//! snapshots. Event times in the fixtures are fixed, so no filter is needed; nothing on screen
//! comes from the wall clock.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod tui_support;

use lateral::tui::{Bucket, Command, Facet, Model, Msg, SearchResults, update};
use ratatui::crossterm::event::KeyCode;
use tui_support::*;

const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];

fn snap(name: &str, m: &mut Model) {
    for (w, h) in SIZES {
        update(
            m,
            Msg::Resize {
                width: w,
                height: h,
            },
        );
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen_text(m, w, h));
    }
}

#[test]
fn overview() {
    let mut m = loaded(120, 40);
    snap("overview", &mut m);
}

#[test]
fn overview_before_any_data() {
    let mut m = Model::new(Default::default());
    snap("overview_empty", &mut m);
}

#[test]
fn sessions() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('2'), ch('j')]);
    snap("sessions", &mut m);
}

#[test]
fn sessions_filtered() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('2'), ch('/')]);
    feed(&mut m, typed("sev:high"));
    snap("sessions_filter_typing", &mut m);
    feed(&mut m, [key(KeyCode::Enter)]);
    snap("sessions_filtered", &mut m);
}

/// Answer the timeline's LoadEvent commands the way the index would.
fn answer_loads(m: &mut Model, cmds: Vec<Command>) {
    for c in cmds {
        if let Command::LoadEvent { event_id } = c {
            let mut e = event(&event_id, 131);
            let host = if event_id.starts_with("a1f0") {
                "DC01"
            } else {
                "WS01"
            };
            e.set(lateral::event::Field::HostName, host);
            update(m, Msg::EventLoaded(Box::new(e)));
        }
    }
}

#[test]
fn detail() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('2')]);
    // Opening the detail asks the index for the events on screen; they come back.
    let cmds = update(&mut m, key(KeyCode::Enter));
    assert!(cmds.iter().any(|c| matches!(c, Command::LoadEvent { .. })));
    answer_loads(&mut m, cmds);
    feed(&mut m, [ch('j'), ch('j')]);
    snap("detail", &mut m);
}

#[test]
fn detail_near_miss_with_threshold() {
    let mut m = loaded(120, 40);
    // The pod session is third: critical first, then the two highs by last activity.
    feed(&mut m, [ch('2'), ch('j'), ch('j'), key(KeyCode::Enter)]);
    snap("detail_pod", &mut m);
}

#[test]
fn event_fields() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('2'), key(KeyCode::Enter), key(KeyCode::Enter)]);
    snap("event_loading", &mut m);
    update(&mut m, Msg::EventLoaded(Box::new(event("a1f0-1024", 131))));
    feed(&mut m, [ch('j'), ch('j')]);
    snap("event_fields", &mut m);
}

#[test]
fn coverage() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('4'), ch('j'), ch('l')]);
    snap("coverage_groups", &mut m);
    feed(&mut m, [ch('t')]);
    snap("coverage_tactics", &mut m);
    feed(&mut m, [ch('t')]);
    snap("coverage_techniques", &mut m);
}

#[test]
fn coverage_cell_events() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('4'), key(KeyCode::Enter)]);
    snap("coverage_cell", &mut m);
}

pub fn results(generation: u64) -> SearchResults {
    let mut hits = Vec::new();
    for i in 0..60 {
        let mut e = event(&format!("hit-{i}"), 2500 - i * 30);
        if i % 3 == 1 {
            e.set(lateral::event::Field::HostName, "FS01");
            e.set(
                lateral::event::Field::ProcessCommandLine,
                "C:\\Windows\\PSEXESVC.exe",
            );
        }
        hits.push(e);
    }
    SearchResults {
        generation,
        query: "user.name:alice".into(),
        offset: 0,
        total: 412,
        hits,
        histogram: (0..48)
            .map(|i| Bucket {
                start: at(i * 60),
                count: [0, 2, 5, 9, 3, 1, 0, 0, 14, 22, 8, 4][i as usize % 12],
            })
            .collect(),
        facets: vec![
            Facet {
                field: lateral::event::Field::HostName,
                values: vec![
                    ("DC01".into(), 260),
                    ("FS01".into(), 120),
                    ("WS01".into(), 32),
                ],
            },
            Facet {
                field: lateral::event::Field::UserName,
                values: vec![("alice".into(), 412)],
            },
            Facet {
                field: lateral::event::Field::SourceIp,
                values: vec![("10.0.1.23".into(), 380), ("10.0.1.77".into(), 32)],
            },
        ],
        took_ms: 7,
    }
}

#[test]
fn search() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('5')]);
    snap("search_empty", &mut m);
    feed(&mut m, typed("user.name:alice"));
    feed(&mut m, [key(KeyCode::Enter)]);
    let generation = m.search_generation();
    update(&mut m, Msg::SearchResults(results(generation)));
    feed(&mut m, [ch('j'), ch('j'), ch('j')]);
    snap("search_results", &mut m);
}

#[test]
fn search_error_points_at_the_position() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('5')]);
    feed(&mut m, typed("user.name:(alice"));
    feed(&mut m, [key(KeyCode::Enter)]);
    let generation = m.search_generation();
    update(
        &mut m,
        Msg::SearchFailed {
            generation,
            message: "unbalanced parenthesis".into(),
            position: Some(10),
        },
    );
    snap("search_error", &mut m);
}

#[test]
fn sources() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('6'), ch('j'), ch('j'), ch('j')]);
    snap("sources", &mut m);
}

#[test]
fn help_on_every_screen() {
    for n in ['1', '2', '3', '4', '5', '6'] {
        let mut m = loaded(120, 40);
        feed(&mut m, [ch(n)]);
        // The search screen starts in its input; leave it first.
        if n == '5' {
            feed(&mut m, [key(KeyCode::Esc)]);
        }
        feed(&mut m, [ch('?')]);
        assert!(
            matches!(m.overlay(), Some(lateral::tui::Overlay::Help)),
            "no help on screen {n}"
        );
        if n == '2' {
            snap("help_sessions", &mut m);
        }
    }
}

#[test]
fn palette() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch(':')]);
    feed(&mut m, typed("th"));
    snap("palette", &mut m);
}

#[test]
fn too_small() {
    let mut m = loaded(120, 40);
    update(
        &mut m,
        Msg::Resize {
            width: 60,
            height: 20,
        },
    );
    insta::assert_snapshot!("too_small", screen_text(&m, 60, 20));
    assert!(m.too_small());
}

#[test]
fn triage() {
    let mut m = loaded(120, 40);
    update(&mut m, Msg::Cases(cases()));
    feed(&mut m, [ch('7'), ch('n')]);
    snap("triage", &mut m);
}

#[test]
fn triage_without_cases() {
    let mut m = loaded(120, 40);
    feed(&mut m, [ch('7')]);
    snap("triage_empty", &mut m);
}

#[test]
fn triage_skip_asks_why() {
    let mut m = loaded(120, 40);
    update(&mut m, Msg::Cases(cases()));
    // Step 3 is todo: space → done is a command; the note prompt only comes for a skip.
    feed(&mut m, [ch('7'), ch('n'), ch('n'), ch('e')]);
    feed(&mut m, typed("checked with the owner"));
    snap("triage_note", &mut m);
}
