//! A one-line text editor (filter, command palette, search query) and a list cursor.
//!
//! Small on purpose: the inputs are single lines of a few dozen characters, and owning the code
//! keeps key handling in one place ([`LineInput::handle`]) instead of adapting a widget crate's
//! event model.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::text;

/// A single-line editor: text and a cursor, in characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    /// Cursor position in characters (0..=len).
    cursor: usize,
}

/// What a key did to a [`LineInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text changed.
    Changed,
    /// Only the cursor moved.
    Moved,
    /// The key is not an editing key (Enter, Esc, Up, Tab...): the caller decides.
    Ignored,
}

impl LineInput {
    /// An editor holding `text`, cursor at the end.
    pub fn with_text(text: &str) -> Self {
        LineInput {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Cursor position in characters.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Replace the text, cursor at the end.
    pub fn set(&mut self, text: &str) {
        *self = LineInput::with_text(text);
    }

    /// Empty it.
    pub fn clear(&mut self) {
        *self = LineInput::default();
    }

    fn byte_at(&self, char_pos: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_pos)
            .map_or(self.text.len(), |(b, _)| b)
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    /// Insert a character at the cursor. Control characters are refused: what the analyst
    /// types is shown back, and a pasted escape sequence must not reach the terminal.
    pub fn insert(&mut self, c: char) {
        if c.is_control() {
            return;
        }
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    /// Start of the word before the cursor (for Ctrl-W and Alt-B).
    fn word_start(&self) -> usize {
        let chars: Vec<char> = self.text.chars().collect();
        let mut i = self.cursor;
        while i > 0 && chars[i - 1].is_whitespace() {
            i -= 1;
        }
        while i > 0 && !chars[i - 1].is_whitespace() {
            i -= 1;
        }
        i
    }

    /// End of the word after the cursor (for Alt-F).
    fn word_end(&self) -> usize {
        let chars: Vec<char> = self.text.chars().collect();
        let mut i = self.cursor;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        i
    }

    fn delete_range(&mut self, from: usize, to: usize) {
        let (a, b) = (self.byte_at(from), self.byte_at(to));
        self.text.replace_range(a..b, "");
        self.cursor = from;
    }

    /// Apply an editing key: characters, Backspace/Delete, Left/Right, Home/End, Ctrl-A/E/U/K/W,
    /// Alt-B/F.
    pub fn handle(&mut self, key: KeyEvent) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char(c) if ctrl => match c {
                'a' => self.move_to(0),
                'e' => self.move_to(self.len()),
                'u' => {
                    self.delete_range(0, self.cursor);
                    Edit::Changed
                }
                'k' => {
                    let end = self.len();
                    self.delete_range(self.cursor, end);
                    Edit::Changed
                }
                'w' => {
                    let start = self.word_start();
                    self.delete_range(start, self.cursor);
                    Edit::Changed
                }
                _ => Edit::Ignored,
            },
            KeyCode::Char('b') if alt => self.move_to(self.word_start()),
            KeyCode::Char('f') if alt => self.move_to(self.word_end()),
            KeyCode::Char(c) => {
                self.insert(c);
                Edit::Changed
            }
            KeyCode::Backspace => {
                if self.cursor == 0 {
                    return Edit::Moved;
                }
                self.delete_range(self.cursor - 1, self.cursor);
                Edit::Changed
            }
            KeyCode::Delete => {
                if self.cursor >= self.len() {
                    return Edit::Moved;
                }
                self.delete_range(self.cursor, self.cursor + 1);
                Edit::Changed
            }
            KeyCode::Left => self.move_to(self.cursor.saturating_sub(1)),
            KeyCode::Right => self.move_to((self.cursor + 1).min(self.len())),
            KeyCode::Home => self.move_to(0),
            KeyCode::End => self.move_to(self.len()),
            _ => Edit::Ignored,
        }
    }

    fn move_to(&mut self, pos: usize) -> Edit {
        self.cursor = pos.min(self.len());
        Edit::Moved
    }

    /// The part of the text to draw in `cols` columns so the cursor stays visible, and the
    /// cursor's column within it. The text is the analyst's own, but it is cleaned anyway since
    /// a paste may carry anything.
    pub fn visible(&self, cols: usize) -> (String, usize) {
        let cols = cols.max(1);
        let chars: Vec<char> = self.text.chars().collect();
        let before: String = chars[..self.cursor.min(chars.len())].iter().collect();
        let before_w = text::width(&text::clean(&before));
        // Scroll so the cursor sits within the last quarter when the text is longer.
        let mut start = 0;
        if before_w >= cols {
            let target = before_w + 1 - cols + cols / 4;
            let mut w = 0;
            for (i, c) in chars.iter().enumerate() {
                if w >= target {
                    start = i;
                    break;
                }
                w += text::width(&c.to_string());
                start = i + 1;
            }
        }
        let shown: String = chars[start.min(chars.len())..].iter().collect();
        let shown = text::clean(&shown);
        let shown = text::fit(&shown, cols).into_owned();
        let skipped: String = chars[start.min(chars.len())..self.cursor.min(chars.len())]
            .iter()
            .collect();
        let col = text::width(&text::clean(&skipped)).min(cols.saturating_sub(1));
        (shown, col)
    }
}

/// A selection in a list of `len` items shown `height` rows at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Selected item.
    pub selected: usize,
    /// First item shown.
    pub offset: usize,
}

impl Cursor {
    /// Keep the selection inside `0..len`.
    pub fn clamp(&mut self, len: usize) {
        if len == 0 {
            *self = Cursor::default();
        } else if self.selected >= len {
            self.selected = len - 1;
        }
    }

    /// Move the selection by `delta` items (clamped).
    pub fn move_by(&mut self, delta: isize, len: usize) {
        if len == 0 {
            *self = Cursor::default();
            return;
        }
        let target = self.selected as isize + delta;
        self.selected = target.clamp(0, len as isize - 1) as usize;
    }

    /// Select `pos` (clamped).
    pub fn select(&mut self, pos: usize, len: usize) {
        self.selected = pos;
        self.clamp(len);
    }

    /// Adjust the offset so the selection is on screen.
    pub fn follow(&mut self, height: usize, len: usize) {
        self.offset = window_offset(self.selected, self.offset, len, height);
    }
}

/// The first row to show so that `selected` is visible, moving as little as possible from
/// `offset`, and never leaving empty rows at the bottom when the list is long enough. The view
/// calls this too, so a stale offset can never hide the selection.
pub fn window_offset(selected: usize, offset: usize, len: usize, height: usize) -> usize {
    if height == 0 || len == 0 {
        return 0;
    }
    let max_offset = len.saturating_sub(height);
    let mut off = offset.min(max_offset);
    if selected < off {
        off = selected;
    } else if selected >= off + height {
        off = selected + 1 - height;
    }
    off.min(max_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn edits_at_the_cursor() {
        let mut i = LineInput::default();
        for c in "host ws01".chars() {
            i.handle(key(KeyCode::Char(c)));
        }
        assert_eq!(i.text(), "host ws01");
        i.handle(key(KeyCode::Home));
        i.handle(key(KeyCode::Delete));
        assert_eq!(i.text(), "ost ws01");
        i.handle(key(KeyCode::End));
        i.handle(ctrl('w'));
        assert_eq!(i.text(), "ost ");
        i.handle(key(KeyCode::Backspace));
        assert_eq!(i.handle(key(KeyCode::Enter)), Edit::Ignored);
        i.handle(ctrl('u'));
        assert_eq!(i.text(), "");
        i.insert('\x1b');
        assert_eq!(i.text(), "", "control characters are refused");
        i.set("東京x");
        i.handle(key(KeyCode::Left));
        i.handle(key(KeyCode::Backspace));
        assert_eq!(i.text(), "東x");
    }

    #[test]
    fn long_text_scrolls_to_keep_the_cursor_visible() {
        let i = LineInput::with_text(&"a".repeat(50));
        let (shown, col) = i.visible(20);
        assert!(text::width(&shown) <= 20);
        assert!(col < 20);
        let i = LineInput::with_text("short");
        assert_eq!(i.visible(20), ("short".to_string(), 5));
    }

    #[test]
    fn window_keeps_selection_visible() {
        assert_eq!(window_offset(0, 0, 100, 10), 0);
        assert_eq!(window_offset(15, 0, 100, 10), 6);
        assert_eq!(window_offset(3, 6, 100, 10), 3);
        assert_eq!(window_offset(99, 95, 100, 10), 90);
        assert_eq!(window_offset(5, 50, 8, 10), 0);
        let mut c = Cursor::default();
        c.move_by(-3, 10);
        assert_eq!(c.selected, 0);
        c.move_by(30, 10);
        assert_eq!(c.selected, 9);
    }
}
