//! Screen 7: triage cases. The case list with checklist progress, a stepper over the selected
//! case's checklist, the selected step's pivot, note and evidence, and the case's response
//! artifacts (generated text, never executed; `y` copies one).

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::triage::checklist::{self, StepStatus};
use crate::tui::input::window_offset;
use crate::tui::model::{Focus, Model};
use crate::tui::text::{self, Align};
use crate::tui::theme::Theme;
use crate::tui::update::case_artifacts;
use crate::tui::widgets::{centered_text, fit_line, panel, severity_span};

/// Layout of the triage screen.
pub(crate) struct Layout {
    cases: Rect,
    steps: Rect,
    step: Rect,
    artifacts: Rect,
}

impl Layout {
    /// Case rows shown at once.
    pub fn cases_rows(&self) -> u16 {
        self.cases.height.saturating_sub(2)
    }
}

pub(crate) fn layout(body: Rect) -> Layout {
    // The list of cases stays short: the work happens in the stepper below it.
    let cases_h = (body.height / 4).max(4);
    let bottom_h = (body.height / 3).max(8);
    let steps_h = body.height.saturating_sub(cases_h + bottom_h);
    let cases = Rect::new(body.x, body.y, body.width, cases_h);
    let steps = Rect::new(body.x, body.y + cases_h, body.width, steps_h);
    let left_w = body.width / 2;
    let y = body.y + cases_h + steps_h;
    Layout {
        cases,
        steps,
        step: Rect::new(body.x, y, left_w, bottom_h),
        artifacts: Rect::new(body.x + left_w, y, body.width - left_w, bottom_h),
    }
}

fn inner(r: Rect) -> Rect {
    Rect::new(
        r.x + 1,
        r.y + 1,
        r.width.saturating_sub(2),
        r.height.saturating_sub(2),
    )
}

fn put(buf: &mut Buffer, area: Rect, row: u16, line: &Line<'_>) {
    if row < area.height {
        let fitted = fit_line(line, usize::from(area.width), Align::Left);
        buf.set_line(area.x, area.y + row, &fitted, area.width);
    }
}

fn status_style(s: StepStatus, t: &Theme) -> Style {
    match s {
        StepStatus::Todo => t.warning,
        StepStatus::Done => t.ok,
        StepStatus::Skipped | StepStatus::NotApplicable => t.muted,
    }
}

/// Draw the screen; returns where the terminal cursor goes while a note is edited.
pub(crate) fn render(model: &Model, body: Rect, buf: &mut Buffer) -> Option<Position> {
    let t = &model.theme;
    let lay = layout(body);
    let cases = &model.triage.cases;
    let title = Line::from(vec![
        Span::raw(" Cases "),
        Span::styled(cases.len().to_string(), t.accent),
        Span::raw(" "),
    ]);
    panel(title, t, true).render(lay.cases, buf);
    let list = inner(lay.cases);
    if cases.is_empty() {
        centered_text(
            buf,
            list,
            &[Line::from(Span::styled(
                "No cases yet: press c on a session (Sessions or Detail) to open one",
                t.muted,
            ))],
        );
        panel(" Checklist ", t, false).render(lay.steps, buf);
        panel(" Step ", t, false).render(lay.step, buf);
        panel(" Response ", t, false).render(lay.artifacts, buf);
        return None;
    }
    let cur = model.triage.cursor;
    let rows = usize::from(list.height);
    let offset = window_offset(cur.selected, cur.offset, cases.len(), rows);
    for (i, c) in cases.iter().enumerate().skip(offset).take(rows) {
        let (done, total) = checklist::progress(&c.steps);
        let line = Line::from(vec![
            Span::raw(format!("{:<10} ", text::fit(&c.id, 10))),
            {
                // Padded so the columns after it line up whatever the severity's label.
                let sev = severity_span(c.severity, t);
                Span::styled(format!("{:<4}", sev.content), sev.style)
            },
            Span::raw(format!(
                " {:>3} sess  {:>5}  ",
                c.sessions.len(),
                format!("{done}/{total}")
            )),
            Span::raw(text::clean(&c.title).into_owned()),
        ]);
        let row = u16::try_from(i - offset).unwrap_or(u16::MAX);
        put(buf, list, row, &line);
        if i == cur.selected {
            buf.set_style(Rect::new(list.x, list.y + row, list.width, 1), t.selected);
        }
    }

    let case = model.triage.case()?;
    let (done, total) = checklist::progress(&case.steps);
    let title = Line::from(format!(" Checklist {} — {done}/{total} ", case.id));
    panel(title, t, true).render(lay.steps, buf);
    let steps_area = inner(lay.steps);
    let rows = usize::from(steps_area.height);
    let sel = model.triage.step;
    let offset = window_offset(sel, sel.saturating_sub(rows / 2), case.steps.len(), rows);
    for (i, s) in case.steps.iter().enumerate().skip(offset).take(rows) {
        let marker = if i == sel { "▶ " } else { "  " };
        let line = Line::from(vec![
            Span::styled(marker, t.accent),
            Span::styled(
                format!("[{:<7}] ", s.status.label()),
                status_style(s.status, t),
            ),
            Span::raw(text::clean(&s.title).into_owned()),
            Span::styled(
                if s.evidence.is_empty() {
                    String::new()
                } else {
                    format!("  +{} evidence", s.evidence.len())
                },
                t.muted,
            ),
        ]);
        let row = u16::try_from(i - offset).unwrap_or(u16::MAX);
        put(buf, steps_area, row, &line);
        if i == sel {
            buf.set_style(
                Rect::new(steps_area.x, steps_area.y + row, steps_area.width, 1),
                t.selected,
            );
        }
    }

    panel(" Step ", t, model.focus == Focus::TriageNote).render(lay.step, buf);
    let step_area = inner(lay.step);
    let mut cursor = None;
    if let Some(s) = case.steps.get(sel) {
        let mut lines = vec![
            Line::from(vec![
                Span::styled("why   ", t.muted),
                Span::raw(text::clean(&s.why).into_owned()),
            ]),
            Line::from(vec![
                Span::styled("pivot ", t.muted),
                Span::styled(
                    s.query
                        .as_deref()
                        .map_or("(none)".to_string(), |q| text::clean(q).into_owned()),
                    t.accent,
                ),
            ]),
        ];
        let note_row = u16::try_from(lines.len()).unwrap_or(u16::MAX);
        if model.focus == Focus::TriageNote {
            let label = match model.triage.editing.as_ref() {
                Some(e) if e.case_note => "case note ",
                Some(e) if e.status == StepStatus::Skipped && s.status != StepStatus::Skipped => {
                    "why skip? "
                }
                _ => "note  ",
            };
            let cols = usize::from(step_area.width).saturating_sub(label.len());
            let (visible, col) = model.triage.input.visible(cols);
            lines.push(Line::from(vec![
                Span::styled(label, t.key),
                Span::styled(visible, t.input),
            ]));
            if note_row < step_area.height {
                cursor = Some(Position::new(
                    step_area.x + u16::try_from(label.len() + col).unwrap_or(0),
                    step_area.y + note_row,
                ));
            }
        } else {
            lines.push(Line::from(vec![
                Span::styled("note  ", t.muted),
                Span::raw(text::clean(&s.note).into_owned()),
            ]));
        }
        for e in &s.evidence {
            lines.push(Line::from(vec![
                Span::styled("event ", t.muted),
                Span::raw(text::clean(e).into_owned()),
            ]));
        }
        for (i, l) in lines.iter().enumerate() {
            put(buf, step_area, u16::try_from(i).unwrap_or(u16::MAX), l);
        }
    }

    let arts = case_artifacts(case);
    let title = format!(
        " Response {}/{} ",
        (model.triage.artifact + 1).min(arts.len()),
        arts.len()
    );
    panel(title, t, false).render(lay.artifacts, buf);
    let art_area = inner(lay.artifacts);
    if let Some(a) = arts.get(model.triage.artifact) {
        put(
            buf,
            art_area,
            0,
            &Line::from(vec![
                Span::styled(format!("{} ", a.platform), t.accent),
                Span::raw(text::clean(&a.title).into_owned()),
            ]),
        );
        for (i, l) in a.text.lines().enumerate() {
            let row = u16::try_from(i + 1).unwrap_or(u16::MAX);
            put(
                buf,
                art_area,
                row,
                &Line::from(Span::styled(text::clean(l).into_owned(), t.muted)),
            );
        }
    } else {
        put(
            buf,
            art_area,
            0,
            &Line::from(Span::styled(
                "no response artifacts for these sessions",
                t.muted,
            )),
        );
    }
    cursor
}
