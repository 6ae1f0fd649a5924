//! Keys to actions, for keys that are commands (not text typed into an input).
//!
//! One table for every screen: the same key means the same thing everywhere (`⏎` opens, `p`
//! pivots, `y` copies), and each screen ignores what does not apply to it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::model::Screen;

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave.
    Quit,
    /// Toggle the help overlay.
    Help,
    /// Go to a screen.
    Screen(Screen),
    /// Next screen (Tab).
    NextScreen,
    /// Previous screen (Shift-Tab).
    PrevScreen,
    /// One row up.
    Up,
    /// One row down.
    Down,
    /// One page up.
    PageUp,
    /// One page down.
    PageDown,
    /// Half a page up (Ctrl-U).
    HalfUp,
    /// Half a page down (Ctrl-D).
    HalfDown,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// One column left (coverage matrix).
    Left,
    /// One column right.
    Right,
    /// Open / run / choose.
    Enter,
    /// Close / go back.
    Back,
    /// Edit the filter (or the search query on the Search screen).
    Filter,
    /// Open the command palette.
    Palette,
    /// Next sort column.
    Sort,
    /// Reverse the sort.
    Reverse,
    /// Toggle following the newest session.
    Follow,
    /// Pivot to a search.
    Pivot,
    /// Toggle the coverage columns.
    Toggle,
    /// Copy the selection's id or value.
    Copy,
    /// Previous session (detail).
    PrevItem,
    /// Next session (detail).
    NextItem,
    /// Edit the search query.
    Insert,
    /// Clear the search time range.
    ClearRange,
}

/// The action of a key in normal mode, if any.
pub fn action(key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Quit),
            KeyCode::Char('d') => Some(Action::HalfDown),
            KeyCode::Char('u') => Some(Action::HalfUp),
            KeyCode::Char('f') => Some(Action::PageDown),
            KeyCode::Char('b') => Some(Action::PageUp),
            KeyCode::Char('n') => Some(Action::Down),
            KeyCode::Char('p') => Some(Action::Up),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        KeyCode::Char(c @ '1'..='9') => {
            Action::Screen(Screen::from_number(c as usize - '0' as usize)?)
        }
        KeyCode::Tab => Action::NextScreen,
        KeyCode::BackTab => Action::PrevScreen,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown | KeyCode::Char(' ') => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Left | KeyCode::Char('h') => Action::Left,
        KeyCode::Right | KeyCode::Char('l') => Action::Right,
        KeyCode::Enter => Action::Enter,
        KeyCode::Esc | KeyCode::Backspace => Action::Back,
        KeyCode::Char('/') => Action::Filter,
        KeyCode::Char(':') => Action::Palette,
        KeyCode::Char('s') => Action::Sort,
        KeyCode::Char('S') | KeyCode::Char('r') => Action::Reverse,
        KeyCode::Char('f') => Action::Follow,
        KeyCode::Char('p') => Action::Pivot,
        KeyCode::Char('t') => Action::Toggle,
        KeyCode::Char('y') => Action::Copy,
        KeyCode::Char('[') => Action::PrevItem,
        KeyCode::Char(']') => Action::NextItem,
        KeyCode::Char('i') => Action::Insert,
        KeyCode::Char('x') => Action::ClearRange,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn vim_and_arrow_keys_agree() {
        assert_eq!(action(k(KeyCode::Char('j'))), action(k(KeyCode::Down)));
        assert_eq!(action(k(KeyCode::Char('G'))), action(k(KeyCode::End)));
        assert_eq!(
            action(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Action::HalfDown)
        );
        assert_eq!(
            action(k(KeyCode::Char('4'))),
            Some(Action::Screen(Screen::Coverage))
        );
        assert_eq!(action(k(KeyCode::Char('9'))), None, "no ninth screen");
        assert_eq!(
            action(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
    }
}
