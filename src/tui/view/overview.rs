//! Screen 1: the pulse of the pipeline: event rates per source kind, sessions by severity,
//! the latest session activity, counters and source health.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::correlate::ChangeKind;
use crate::event::Severity;
use crate::tui::model::Model;
use crate::tui::msg::SourceState;
use crate::tui::text::{self, Align};
use crate::tui::widgets::{fit_line, hbar, panel, severity_span, sparkline};

pub(crate) fn render(model: &Model, body: Rect, buf: &mut Buffer) {
    let left_w = body.width * 62 / 100;
    let right_w = body.width - left_w;
    let kinds = model.stats.kinds.len() as u16;
    let rate_h = (kinds.max(1) + 3).clamp(5, body.height / 2);
    let rate = Rect::new(body.x, body.y, left_w, rate_h);
    let activity = Rect::new(
        body.x,
        body.y + rate_h,
        left_w,
        body.height.saturating_sub(rate_h),
    );
    let rx = body.x + left_w;
    let sessions_h = 8;
    let pipeline_h = 6;
    let sessions = Rect::new(rx, body.y, right_w, sessions_h);
    let pipeline = Rect::new(rx, body.y + sessions_h, right_w, pipeline_h);
    let sy = body.y + sessions_h + pipeline_h;
    let sources = Rect::new(rx, sy, right_w, body.bottom().saturating_sub(sy));
    rates(model, rate, buf);
    latest(model, activity, buf);
    severities(model, sessions, buf);
    counters(model, pipeline, buf);
    health(model, sources, buf);
}

fn put(buf: &mut Buffer, inner: Rect, row: u16, line: &Line<'_>) {
    if row < inner.height {
        buf.set_line(
            inner.x,
            inner.y + row,
            &fit_line(line, usize::from(inner.width), Align::Left),
            inner.width,
        );
    }
}

fn rates(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let block = panel(" Events per second ", t, false)
        .title_top(Line::from(Span::styled(" newest right ", t.muted)).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    let kinds = &model.stats.kinds;
    if kinds.is_empty() {
        put(
            buf,
            inner,
            0,
            &Line::from(Span::styled(" waiting for the first events…", t.muted)),
        );
        return;
    }
    let w = usize::from(inner.width);
    // name, sparkline, rate, total, errors
    let name_w = 10;
    let tail_w = 8 + 9 + 9;
    let spark_w = w.saturating_sub(name_w + tail_w + 3).max(4);
    let mut row = 0;
    let mut total_rate = 0;
    let mut sum: Vec<u64> = Vec::new();
    for k in kinds {
        let now = k.per_second.last().copied().unwrap_or(0);
        total_rate += now;
        let n = k.per_second.len();
        if sum.len() < n {
            let mut grown = vec![0; n - sum.len()];
            grown.extend_from_slice(&sum);
            sum = grown;
        }
        let off = sum.len() - n;
        for (i, v) in k.per_second.iter().enumerate() {
            sum[off + i] += v;
        }
        if row + 1 >= inner.height {
            continue;
        }
        let line = Line::from(vec![
            Span::styled(
                format!(
                    " {}",
                    text::pad(&text::clean_max(&k.kind, 32), name_w - 1, Align::Left)
                ),
                t.base,
            ),
            Span::styled(sparkline(&k.per_second, spark_w), t.chart),
            Span::styled(
                format!("{:>8}", format!("{}/s", text::compact(now))),
                t.accent,
            ),
            Span::styled(format!("{:>9}", text::compact(k.events)), t.base),
            Span::styled(
                format!("{:>9}", format!("{} err", text::compact(k.errors))),
                if k.errors > 0 { t.error } else { t.muted },
            ),
        ]);
        put(buf, inner, row, &line);
        row += 1;
    }
    let line = Line::from(vec![
        Span::styled(
            format!(" {}", text::pad("all", name_w - 1, Align::Left)),
            t.header,
        ),
        Span::styled(sparkline(&sum, spark_w), t.accent),
        Span::styled(
            format!("{:>8}", format!("{}/s", text::compact(total_rate))),
            t.accent,
        ),
        Span::styled(
            format!("{:>9}", text::compact(model.stats.events_total)),
            t.header,
        ),
        Span::styled(
            format!(
                "{:>9}",
                format!("{} err", text::compact(model.stats.errors_total))
            ),
            if model.stats.errors_total > 0 {
                t.error
            } else {
                t.muted
            },
        ),
    ]);
    put(buf, inner, inner.height.saturating_sub(1), &line);
}

fn latest(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let block = panel(" Latest session activity ", t, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let mut row = 0;
    for a in model.store.recent() {
        if row >= inner.height {
            break;
        }
        let Some(e) = model.store.by_id(&a.id) else {
            continue;
        };
        let (verb, style) = match a.kind {
            ChangeKind::Opened => ("opened   ", t.base),
            ChangeKind::Escalated => ("escalated", t.warning),
            ChangeKind::Closed => ("closed   ", t.muted),
            ChangeKind::Updated => ("updated  ", t.muted),
        };
        let line = Line::from(vec![
            Span::styled(format!(" {} ", text::time_of_day(a.at)), t.muted),
            Span::styled(verb, style),
            Span::raw(" "),
            severity_span(a.severity, t),
            Span::raw(" "),
            Span::styled(e.title.as_str(), t.base),
            Span::styled("  ", t.muted),
            Span::styled(e.label.as_str(), t.muted),
        ]);
        put(buf, inner, row, &line);
        row += 1;
    }
    if row == 0 {
        put(
            buf,
            inner,
            0,
            &Line::from(Span::styled(
                " no sessions yet: they appear here as rules fire",
                t.muted,
            )),
        );
    }
}

fn severities(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let store = &model.store;
    let block = panel(" Sessions ", t, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let order = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
    let max = order.iter().map(|s| store.count(*s)).max().unwrap_or(0);
    let w = usize::from(inner.width);
    let num_w = 7;
    let bar_w = w.saturating_sub(6 + num_w + 1);
    for (i, s) in order.iter().enumerate() {
        let n = store.count(*s);
        let line = Line::from(vec![
            Span::raw(" "),
            severity_span(*s, t),
            Span::raw(" ".repeat(5 - crate::tui::widgets::severity_label(*s).len())),
            Span::styled(
                text::pad(&hbar(n, max, bar_w), bar_w, Align::Left),
                t.severity(*s),
            ),
            Span::styled(
                format!("{:>num_w$}", text::thousands(n)),
                if n > 0 { t.base } else { t.muted },
            ),
        ]);
        put(buf, inner, i as u16, &line);
    }
    let line = Line::from(vec![
        Span::styled(
            format!(" {}", text::thousands(store.total() as u64)),
            t.accent,
        ),
        Span::styled(" total · ", t.muted),
        Span::styled(text::thousands(store.open()), t.base),
        Span::styled(" open · ", t.muted),
        Span::styled(
            text::thousands((store.total() as u64).saturating_sub(store.open())),
            t.base,
        ),
        Span::styled(" closed", t.muted),
    ]);
    put(buf, inner, 5, &line);
}

fn counters(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let s = &model.stats;
    let block = panel(" Pipeline ", t, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let w = usize::from(inner.width);
    let kv = |k: &str, v: String, style| {
        let label = format!(" {k:<10}");
        let room = w.saturating_sub(label.len() + 1);
        Line::from(vec![
            Span::styled(label, t.muted),
            Span::styled(text::pad(&v, room, Align::Right), style),
        ])
    };
    put(
        buf,
        inner,
        0,
        &kv("events", text::thousands(s.events_total), t.base),
    );
    put(
        buf,
        inner,
        1,
        &kv(
            "errors",
            text::thousands(s.errors_total),
            if s.errors_total > 0 { t.error } else { t.base },
        ),
    );
    put(
        buf,
        inner,
        2,
        &kv("indexed", text::thousands(s.indexed_total), t.base),
    );
    put(
        buf,
        inner,
        3,
        &kv(
            "watermark",
            s.watermark.map_or_else(|| "-".into(), text::date_time),
            t.accent,
        ),
    );
}

fn health(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let rows = &model.sources.rows;
    let block = panel(" Sources ", t, false);
    let inner = block.inner(area);
    block.render(area, buf);
    if rows.is_empty() {
        put(
            buf,
            inner,
            0,
            &Line::from(Span::styled(" no sources yet", t.muted)),
        );
        return;
    }
    let mut spans = vec![Span::raw(" ")];
    for state in [
        SourceState::Tailing,
        SourceState::Idle,
        SourceState::Rotated,
        SourceState::Gone,
        SourceState::Error,
    ] {
        let n = rows.iter().filter(|r| r.state == state).count();
        if n > 0 {
            spans.push(Span::styled(
                format!("{} {n} {}  ", state.symbol(), state.label()),
                super::sources::state_style(state, t),
            ));
        }
    }
    put(buf, inner, 0, &Line::from(spans));
    let mut row = 1;
    // Problems first: failing and vanished files, then files with decode errors.
    let mut troubled: Vec<_> = rows
        .iter()
        .filter(|r| matches!(r.state, SourceState::Error | SourceState::Gone) || r.errors > 0)
        .collect();
    troubled.sort_by_key(|r| {
        (
            !matches!(r.state, SourceState::Error),
            std::cmp::Reverse(r.errors),
        )
    });
    for v in model.sources.visibility.iter().filter(|g| g.blind()) {
        put(
            buf,
            inner,
            row,
            &Line::from(vec![
                Span::styled(" ⚠ ", t.warning),
                Span::styled(v.warning(), t.warning),
            ]),
        );
        row += 1;
    }
    let shown_troubled: Vec<&str> = troubled.iter().map(|r| r.path.as_str()).collect();
    for r in troubled {
        if row >= inner.height {
            break;
        }
        let name = r.path.rsplit('/').next().unwrap_or(&r.path);
        let why = r.last_error.as_deref().map_or_else(
            || format!("{} errors", r.errors),
            |e| text::clean(e).into_owned(),
        );
        put(
            buf,
            inner,
            row,
            &Line::from(vec![
                Span::styled(
                    format!(" {} ", r.state.symbol()),
                    super::sources::state_style(r.state, t),
                ),
                Span::styled(text::clean_max(name, 40).into_owned(), t.base),
                Span::styled("  ", t.muted),
                Span::styled(why, t.muted),
            ]),
        );
        row += 1;
    }
    // With room to spare, the busiest healthy sources.
    let mut busy: Vec<_> = rows
        .iter()
        .filter(|r| !shown_troubled.contains(&r.path.as_str()))
        .collect();
    busy.sort_by_key(|r| std::cmp::Reverse(r.events));
    if row + 2 <= inner.height && !busy.is_empty() {
        row += 1;
        put(
            buf,
            inner,
            row,
            &Line::from(Span::styled(" busiest", t.header)),
        );
        row += 1;
        let w = usize::from(inner.width);
        for r in busy {
            if row >= inner.height {
                break;
            }
            let name = r.path.rsplit('/').next().unwrap_or(&r.path);
            let count = text::compact(r.events);
            let name_w = w.saturating_sub(count.len() + 5);
            put(
                buf,
                inner,
                row,
                &Line::from(vec![
                    Span::styled(
                        format!(" {} ", r.state.symbol()),
                        super::sources::state_style(r.state, t),
                    ),
                    Span::styled(
                        text::pad(&text::clean_max(name, 80), name_w, Align::Left),
                        t.base,
                    ),
                    Span::styled(format!(" {count}"), t.muted),
                ]),
            );
            row += 1;
        }
    }
}
