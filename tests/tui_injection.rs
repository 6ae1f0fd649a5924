//! Log fields are untrusted: escape sequences, control characters and bidi overrides in hosts,
//! users, commands, paths and errors must reach the screen escaped, never as themselves.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod tui_support;

use lateral::correlate::session::{Evidence, SessionId};
use lateral::correlate::{ChangeKind, Group};
use lateral::event::{Event, Field, Severity};
use lateral::tui::{Msg, Notice, SearchResults, SourceRow, SourceState, update};
use ratatui::crossterm::event::KeyCode;
use tui_support::*;

/// Every trick at once: CSI clear screen, OSC window title / hyperlink, BEL, DCS, a C1 CSI,
/// DEL, CR/LF, backspace, and Trojan Source bidi overrides and isolates, plus a zero-width
/// space hiding inside a name.
const EVIL: &str = "ws\x1b[2J\x1b[31mred\x1b]0;pwned\x07\x1b]8;;http://x\x1b\\link\x1bP1$r\x1b\\\u{9b}1;1H\x7f\r\n\x08\u{202e}exe.txt\u{2066}iso\u{2069}ad\u{200b}min";

fn evil_session() -> lateral::correlate::Session {
    let mut s = session("evil0000", Severity::High, &format!("Title {EVIL}"));
    s.groups = vec![Group::RemoteAccess, Group::CredentialHarvesting];
    s.tactics = vec![format!("lateral_movement{EVIL}")];
    s.techniques = vec![format!("T1021{EVIL}")];
    s.context.key = format!("k:{EVIL}");
    s.context.kind = format!("kind{EVIL}");
    s.context.host = Some(EVIL.into());
    s.context.user = Some(EVIL.into());
    s.context.source_ip = Some(EVIL.into());
    s.context.namespace = Some(EVIL.into());
    s.context.pod = Some(EVIL.into());
    s.context.targets = vec![EVIL.into(), EVIL.into()];
    s.explanation = vec![EVIL.into(), format!("second {EVIL}")];
    s.near_miss = lateral::correlate::session::NearMiss::compute(
        &s.groups.iter().copied().collect(),
        false,
        None,
    );
    s.near_miss.thresholds = vec![lateral::correlate::session::ThresholdProgress {
        rule_id: EVIL.into(),
        count: 2,
        threshold: 3,
        window_left_secs: 10,
    }];
    s.evidence = vec![Evidence {
        event_id: "evil-ev".into(),
        timestamp: at(5),
        rule_id: EVIL.into(),
        group: Some(Group::RemoteAccess),
        summary: format!("zeek.conn {EVIL}"),
    }];
    s
}

fn evil_event() -> Event {
    let mut e = Event::new(at(5));
    e.id = "evil-ev".into();
    for f in [
        Field::EventDataset,
        Field::EventAction,
        Field::HostName,
        Field::UserName,
        Field::ProcessCommandLine,
        Field::FilePath,
        Field::Message,
    ] {
        e.set(f, EVIL);
    }
    e.original.push((EVIL.into(), serde_json::json!(EVIL)));
    e.set_raw(EVIL);
    e
}

/// No cell may hold a control character or a bidi control: those are what a terminal acts on.
fn assert_inert(text: &str, buf: &ratatui::buffer::Buffer, what: &str) {
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let sym = buf[(x, y)].symbol();
            let bad = sym.chars().find(|c| {
                c.is_control()
                    || matches!(*c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}')
            });
            assert!(
                bad.is_none(),
                "{what}: {bad:?} at {x},{y} in {sym:?}\n{text}"
            );
        }
    }
}

#[test]
fn escape_sequences_render_escaped_on_every_screen() {
    let mut m = loaded(120, 40);
    update(
        &mut m,
        Msg::Changes(vec![lateral::correlate::Change {
            kind: ChangeKind::Opened,
            session: evil_session(),
        }]),
    );
    update(
        &mut m,
        Msg::Sources(vec![SourceRow {
            path: format!("/var/log/{EVIL}"),
            format: Some(EVIL.into()),
            state: SourceState::Error,
            last_error: Some(EVIL.into()),
            datasets: vec![EVIL.into()],
            ..SourceRow::default()
        }]),
    );
    let mut stats = stats();
    stats.kinds[0].kind = EVIL.into();
    update(&mut m, Msg::Stats(stats));
    update(&mut m, Msg::EventLoaded(Box::new(evil_event())));
    let mut escaped_seen = false;
    let mut check = |m: &lateral::tui::Model, what: &str| {
        for (w, h) in [(120, 40), (80, 24)] {
            let backend = render(m, w, h);
            let text = screen_text(m, w, h);
            assert_inert(&text, backend.buffer(), what);
            escaped_seen |= text.contains("\\x1b");
        }
    };
    check(&m, "overview");
    // Filter down to the evil session so every screen shows it.
    feed(&mut m, [ch(':')]);
    feed(&mut m, typed("filter evil0000"));
    feed(&mut m, [key(KeyCode::Enter)]);
    check(&m, "sessions");
    feed(&mut m, [key(KeyCode::Enter)]);
    check(&m, "detail");
    feed(&mut m, [key(KeyCode::Enter)]);
    check(&m, "event fields");
    feed(&mut m, [key(KeyCode::Esc), ch('p')]);
    check(&m, "pivot");
    feed(&mut m, [key(KeyCode::Esc), ch('4')]);
    check(&m, "coverage");
    // Unknown tactics and techniques sort last: scroll to them.
    feed(&mut m, [ch('t')]);
    feed(&mut m, (0..30).map(|_| ch('l')));
    check(&m, "coverage tactics");
    assert!(
        screen_text(&m, 120, 40).contains("lateral_…"),
        "the unknown tactic is on screen"
    );
    feed(&mut m, [ch('t')]);
    feed(&mut m, (0..30).map(|_| ch('l')));
    check(&m, "coverage techniques");
    feed(&mut m, [ch('t'), key(KeyCode::Enter)]);
    check(&m, "coverage cell");
    feed(&mut m, [key(KeyCode::Esc), ch('6')]);
    check(&m, "sources");
    feed(&mut m, [ch('5')]);
    // The analyst can paste an escape sequence too; it is refused.
    feed(&mut m, typed("host.name:x\x1b[2J"));
    feed(&mut m, [key(KeyCode::Enter)]);
    let generation = m.search_generation();
    update(
        &mut m,
        Msg::SearchResults(SearchResults {
            generation,
            query: EVIL.into(),
            total: 1,
            hits: vec![evil_event()],
            facets: vec![lateral::tui::Facet {
                field: Field::HostName,
                values: vec![(EVIL.into(), 1)],
            }],
            ..SearchResults::default()
        }),
    );
    check(&m, "search");
    update(
        &mut m,
        Msg::SearchFailed {
            generation,
            message: EVIL.into(),
            position: Some(3),
        },
    );
    check(&m, "search error");
    update(&mut m, Msg::Notice(Notice::error(EVIL)));
    check(&m, "notice");
    assert!(escaped_seen, "the escaped form is shown");
}

#[test]
fn the_escaped_text_is_what_the_analyst_sees() {
    let mut m = loaded(120, 40);
    let mut s = evil_session();
    s.context.host = Some("ws01\x1b]0;owned\x07".into());
    s.context.user = Some("ad\u{202e}nim".into());
    s.id = SessionId("evil0001".into());
    update(&mut m, Msg::Changes(vec![opened(s)]));
    feed(&mut m, [ch('2')]);
    feed(&mut m, [ch(':')]);
    feed(&mut m, typed("filter evil0001"));
    feed(&mut m, [key(KeyCode::Enter), key(KeyCode::Enter)]);
    let text = screen_text(&m, 120, 40);
    assert!(text.contains("ws01\\x1b]0;owned\\x07"), "{text}");
    assert!(text.contains("ad\\x202enim"), "{text}");
}
