//! The UI's own copy of the sessions, kept sorted and filtered as [`Change`]s arrive.
//!
//! Sorting and filtering happen here, in `update`, never in `view`: the view reads a window of
//! the sorted, filtered order and nothing else, so drawing costs the same with 100 or 100k
//! sessions. A small batch of changes moves each changed session by binary search (remove at
//! its old key, insert at its new one); a batch large compared with the table is applied and
//! then sorted once.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, VecDeque};

use super::catalog::group_tag;
use super::text::clean;
use crate::correlate::session::{Session, SessionId};
use crate::correlate::{Change, ChangeKind, Group};
use crate::event::{Nanos, Severity};

/// How many recent session events the Overview keeps.
const RECENT: usize = 64;

/// One session with what the screens draw from it, computed once per change.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The session as the correlator last reported it.
    pub session: Session,
    /// Arrival order: the last tie-break, so the order is total and stable.
    pub seq: u64,
    /// Case or rule title, sanitized.
    pub title: String,
    /// Short context (`alice@ws01 → dc01 +2`, `shop/api-7d9f`), sanitized.
    pub label: String,
    /// Technique ids, comma-separated, sanitized.
    pub techniques: String,
    /// Evidence events per group, in [`Group::ALL`] order.
    pub group_counts: [u32; 4],
    /// Lowercase text the filter searches.
    haystack: String,
}

impl Entry {
    fn new(session: Session, seq: u64) -> Entry {
        let title = clean(&session.title).into_owned();
        let label = clean(&context_label(&session)).into_owned();
        let techniques = clean(&session.techniques.join(",")).into_owned();
        let mut group_counts = [0u32; 4];
        for ev in &session.evidence {
            if let Some(g) = ev.group
                && let Some(i) = Group::ALL.iter().position(|x| *x == g)
            {
                group_counts[i] += 1;
            }
        }
        let haystack = haystack(&session, &title, &label);
        Entry {
            session,
            seq,
            title,
            label,
            techniques,
            group_counts,
            haystack,
        }
    }

    /// Whether the session has a group.
    pub fn has(&self, g: Group) -> bool {
        self.session.groups.contains(&g)
    }
}

/// A short label for a session's context: namespace/pod, user@host or host, else the source
/// address or the stitching key; then the first hop target and how many more.
pub fn context_label(s: &Session) -> String {
    let c = &s.context;
    let mut label = match (&c.namespace, &c.pod) {
        (Some(ns), Some(pod)) => format!("{ns}/{pod}"),
        _ => match (&c.host, &c.user) {
            (Some(h), Some(u)) => format!("{u}@{h}"),
            (Some(h), None) => h.clone(),
            (None, Some(u)) => match &c.source_ip {
                Some(ip) => format!("{u} from {ip}"),
                None => u.clone(),
            },
            (None, None) => c.source_ip.clone().unwrap_or_else(|| c.key.clone()),
        },
    };
    if let Some(t) = c.targets.first() {
        label.push_str(" → ");
        label.push_str(t);
        if c.targets.len() > 1 {
            label.push_str(&format!(" +{}", c.targets.len() - 1));
        }
    }
    label
}

fn haystack(s: &Session, title: &str, label: &str) -> String {
    let c = &s.context;
    let mut h = String::with_capacity(256);
    let parts = [
        title,
        label,
        &c.key,
        &c.kind,
        s.id.0.as_str(),
        s.rule_id.as_str(),
    ];
    for p in parts {
        h.push_str(p);
        h.push(' ');
    }
    for p in [
        &c.host,
        &c.user,
        &c.source_ip,
        &c.namespace,
        &c.pod,
        &c.container,
        &c.logon_id,
    ]
    .into_iter()
    .flatten()
    {
        h.push_str(p);
        h.push(' ');
    }
    for p in c
        .targets
        .iter()
        .chain(&s.techniques)
        .chain(&s.tactics)
        .chain(&s.rules)
    {
        h.push_str(p);
        h.push(' ');
    }
    for g in &s.groups {
        h.push_str(g.name());
        h.push(' ');
        h.push_str(group_tag(*g));
        h.push(' ');
    }
    h.to_lowercase()
}

/// A sortable column of the session table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortColumn {
    /// Severity, then most recent activity.
    Severity,
    /// Title.
    Title,
    /// Context label.
    Context,
    /// Number of groups present.
    Groups,
    /// First event time.
    FirstSeen,
    /// Last event time.
    LastSeen,
    /// Events that fed it.
    Events,
}

impl SortColumn {
    /// Every column, in the order `s` cycles through them.
    pub const ALL: [SortColumn; 7] = [
        SortColumn::Severity,
        SortColumn::LastSeen,
        SortColumn::FirstSeen,
        SortColumn::Events,
        SortColumn::Groups,
        SortColumn::Title,
        SortColumn::Context,
    ];

    /// Name for the palette (`:sort first`) and the status line.
    pub fn name(self) -> &'static str {
        match self {
            SortColumn::Severity => "severity",
            SortColumn::Title => "title",
            SortColumn::Context => "context",
            SortColumn::Groups => "groups",
            SortColumn::FirstSeen => "first",
            SortColumn::LastSeen => "last",
            SortColumn::Events => "events",
        }
    }

    /// Parse a palette name.
    pub fn parse(s: &str) -> Option<SortColumn> {
        SortColumn::ALL.into_iter().find(|c| c.name() == s)
    }

    /// The next column for `s`.
    pub fn next(self) -> SortColumn {
        let i = SortColumn::ALL.iter().position(|c| *c == self).unwrap_or(0);
        SortColumn::ALL[(i + 1) % SortColumn::ALL.len()]
    }

    /// The natural direction: biggest, newest and most severe first; names A→Z.
    pub fn default_descending(self) -> bool {
        !matches!(self, SortColumn::Title | SortColumn::Context)
    }
}

/// The table's sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// Column.
    pub column: SortColumn,
    /// Largest first.
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            column: SortColumn::Severity,
            descending: true,
        }
    }
}

/// One term of a session filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// Substring of the session's text (`-word` negates).
    Text { needle: String, negated: bool },
    /// `sev:high`: at least this severity.
    MinSeverity(Severity),
    /// `group:ra` / `group:remote_access`: the group is present.
    Group(Group),
    /// `is:open`, `is:closed`, `is:interactive`, `is:chain`.
    Is(Flag),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Open,
    Closed,
    Interactive,
    Chain,
}

/// A parsed session filter: every term must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    text: String,
    terms: Vec<Term>,
}

impl Filter {
    /// Parse filter text: words match anywhere (case-insensitive, `-word` excludes),
    /// `sev:LEVEL` keeps that severity and above, `group:NAME` (name or `ra`/`ch`/`nr`/`se`),
    /// `is:open|closed|interactive|chain`.
    pub fn parse(text: &str) -> Filter {
        let mut terms = Vec::new();
        for word in text.split_whitespace() {
            let lower = word.to_lowercase();
            let term = if let Some(v) = lower
                .strip_prefix("sev:")
                .or_else(|| lower.strip_prefix("severity:"))
                .or_else(|| lower.strip_prefix("sev>="))
                && let Ok(s) = v.parse::<Severity>()
            {
                Term::MinSeverity(s)
            } else if let Some(v) = lower.strip_prefix("group:")
                && let Some(g) = Group::ALL
                    .into_iter()
                    .find(|g| g.name() == v || group_tag(*g).eq_ignore_ascii_case(v))
            {
                Term::Group(g)
            } else if let Some(flag) = match lower.as_str() {
                "is:open" => Some(Flag::Open),
                "is:closed" => Some(Flag::Closed),
                "is:interactive" => Some(Flag::Interactive),
                "is:chain" => Some(Flag::Chain),
                _ => None,
            } {
                Term::Is(flag)
            } else if let Some(n) = lower.strip_prefix('-').filter(|n| !n.is_empty()) {
                Term::Text {
                    needle: n.to_string(),
                    negated: true,
                }
            } else {
                Term::Text {
                    needle: lower,
                    negated: false,
                }
            };
            terms.push(term);
        }
        Filter {
            text: text.trim().to_string(),
            terms,
        }
    }

    /// The text it was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether it keeps everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    fn matches(&self, e: &Entry) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Text { needle, negated } => e.haystack.contains(needle.as_str()) != *negated,
            Term::MinSeverity(s) => e.session.severity >= *s,
            Term::Group(g) => e.has(*g),
            Term::Is(Flag::Open) => !e.session.closed,
            Term::Is(Flag::Closed) => e.session.closed,
            Term::Is(Flag::Interactive) => e.session.interactive,
            Term::Is(Flag::Chain) => e.session.case.is_some(),
        })
    }
}

/// A session event for the Overview's activity list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// Opened, escalated or closed (updates are too frequent to list).
    pub kind: ChangeKind,
    /// The session.
    pub id: SessionId,
    /// Its severity then.
    pub severity: Severity,
    /// Event time of the change (the session's last event).
    pub at: Nanos,
}

/// Every session the correlator reported, with the sorted, filtered view of them.
#[derive(Debug, Default)]
pub struct SessionStore {
    entries: Vec<Entry>,
    index: HashMap<SessionId, usize>,
    order: Vec<u32>,
    sort: Sort,
    filter: Filter,
    by_severity: [u64; 5],
    open: u64,
    recent: VecDeque<Activity>,
    tactics: BTreeMap<String, u64>,
    techniques: BTreeMap<String, u64>,
    next_seq: u64,
}

/// Case-insensitive comparison without allocating (sorting 100k rows compares ~2M times).
fn caseless(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

fn sev_slot(s: Severity) -> usize {
    super::theme::severity_index(s)
}

impl SessionStore {
    /// Apply correlator deltas. Returns whether anything changed.
    pub fn apply(&mut self, changes: Vec<Change>) -> bool {
        if changes.is_empty() {
            return false;
        }
        // Moving each session by binary search costs a memmove of the order per change; past
        // about an eighth of the table one sort is cheaper.
        let bulk = changes.len() > 32 && changes.len() * 8 > self.order.len();
        for change in changes {
            self.note_activity(&change);
            let Change { session, .. } = change;
            match self.index.get(&session.id).copied() {
                Some(i) => {
                    let was_shown = !bulk && self.filter.matches(&self.entries[i]);
                    if was_shown {
                        self.remove_from_order(i);
                    }
                    self.tally(i, -1);
                    let seq = self.entries[i].seq;
                    self.entries[i] = Entry::new(session, seq);
                    self.tally(i, 1);
                    if !bulk && self.filter.matches(&self.entries[i]) {
                        self.insert_into_order(i);
                    }
                }
                None => {
                    let i = self.entries.len();
                    self.index.insert(session.id.clone(), i);
                    self.entries.push(Entry::new(session, self.next_seq));
                    self.next_seq += 1;
                    self.tally(i, 1);
                    if !bulk && self.filter.matches(&self.entries[i]) {
                        self.insert_into_order(i);
                    }
                }
            }
        }
        if bulk {
            self.rebuild();
        }
        true
    }

    fn note_activity(&mut self, change: &Change) {
        if change.kind == ChangeKind::Updated {
            return;
        }
        self.recent.push_front(Activity {
            kind: change.kind,
            id: change.session.id.clone(),
            severity: change.session.severity,
            at: change.session.last_seen,
        });
        self.recent.truncate(RECENT);
    }

    fn tally(&mut self, i: usize, sign: i64) {
        let e = &self.entries[i];
        let slot = sev_slot(e.session.severity);
        let open = u64::from(!e.session.closed);
        let tags: Vec<(bool, String)> = e
            .session
            .tactics
            .iter()
            .map(|t| (true, t.clone()))
            .chain(e.session.techniques.iter().map(|t| (false, t.clone())))
            .collect();
        if sign > 0 {
            self.by_severity[slot] += 1;
            self.open += open;
        } else {
            self.by_severity[slot] = self.by_severity[slot].saturating_sub(1);
            self.open = self.open.saturating_sub(open);
        }
        for (is_tactic, tag) in tags {
            let map = if is_tactic {
                &mut self.tactics
            } else {
                &mut self.techniques
            };
            if sign > 0 {
                *map.entry(tag).or_default() += 1;
            } else if let Some(n) = map.get_mut(&tag) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&tag);
                }
            }
        }
    }

    fn cmp(&self, a: usize, b: usize) -> Ordering {
        let (x, y) = (&self.entries[a], &self.entries[b]);
        let (sx, sy) = (&x.session, &y.session);
        let primary = match self.sort.column {
            SortColumn::Severity => sx.severity.cmp(&sy.severity),
            SortColumn::Title => caseless(&x.title).cmp(caseless(&y.title)),
            SortColumn::Context => caseless(&x.label).cmp(caseless(&y.label)),
            SortColumn::Groups => sx.groups.len().cmp(&sy.groups.len()),
            SortColumn::FirstSeen => sx.first_seen.cmp(&sy.first_seen),
            SortColumn::LastSeen => sx.last_seen.cmp(&sy.last_seen),
            SortColumn::Events => sx.event_count.cmp(&sy.event_count),
        };
        let primary = if self.sort.descending {
            primary.reverse()
        } else {
            primary
        };
        // Among equals the most recently active comes first, then arrival order: the order is
        // total, which binary search needs and which keeps rows from swapping on redraw.
        primary
            .then_with(|| sy.last_seen.cmp(&sx.last_seen))
            .then_with(|| x.seq.cmp(&y.seq))
    }

    fn search(&self, i: usize) -> Result<usize, usize> {
        self.order.binary_search_by(|&j| self.cmp(j as usize, i))
    }

    fn remove_from_order(&mut self, i: usize) {
        match self.search(i) {
            Ok(pos) => {
                self.order.remove(pos);
            }
            // Only reachable if the order were inconsistent; a linear scan repairs it.
            Err(_) => self.order.retain(|&j| j as usize != i),
        }
    }

    fn insert_into_order(&mut self, i: usize) {
        let pos = match self.search(i) {
            Ok(p) | Err(p) => p,
        };
        self.order.insert(pos, i as u32);
    }

    fn rebuild(&mut self) {
        let mut order: Vec<u32> = (0..self.entries.len())
            .filter(|&i| self.filter.matches(&self.entries[i]))
            .map(|i| i as u32)
            .collect();
        order.sort_unstable_by(|&a, &b| self.cmp(a as usize, b as usize));
        self.order = order;
    }

    /// Change the sort order (re-sorts the view).
    pub fn set_sort(&mut self, sort: Sort) {
        if self.sort != sort {
            self.sort = sort;
            self.rebuild();
        }
    }

    /// Change the filter (re-filters the view).
    pub fn set_filter(&mut self, filter: Filter) {
        if self.filter != filter {
            self.filter = filter;
            self.rebuild();
        }
    }

    /// The sort order.
    pub fn sort(&self) -> Sort {
        self.sort
    }

    /// The filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Sessions shown (after the filter).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no session is shown.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Every session reported.
    pub fn total(&self) -> usize {
        self.entries.len()
    }

    /// The shown session at `pos` in the sorted, filtered view.
    pub fn get(&self, pos: usize) -> Option<&Entry> {
        self.order.get(pos).map(|&i| &self.entries[i as usize])
    }

    /// A window of the view.
    pub fn window(&self, offset: usize, len: usize) -> impl Iterator<Item = &Entry> {
        let end = offset.saturating_add(len).min(self.order.len());
        let start = offset.min(end);
        self.order[start..end]
            .iter()
            .map(|&i| &self.entries[i as usize])
    }

    /// A session by id (shown or not).
    pub fn by_id(&self, id: &SessionId) -> Option<&Entry> {
        self.index.get(id).map(|&i| &self.entries[i])
    }

    /// Position of a session in the view, if the filter keeps it.
    pub fn position(&self, id: &SessionId) -> Option<usize> {
        let &i = self.index.get(id)?;
        if !self.filter.matches(&self.entries[i]) {
            return None;
        }
        self.search(i).ok()
    }

    /// Ids of the shown sessions, in view order (for exports).
    pub fn shown_ids(&self) -> Vec<SessionId> {
        self.order
            .iter()
            .map(|&i| self.entries[i as usize].session.id.clone())
            .collect()
    }

    /// Sessions per severity (all, not just shown).
    pub fn count(&self, s: Severity) -> u64 {
        self.by_severity[sev_slot(s)]
    }

    /// Sessions whose window is still open.
    pub fn open(&self) -> u64 {
        self.open
    }

    /// Recent openings, escalations and closings, newest first.
    pub fn recent(&self) -> impl Iterator<Item = &Activity> {
        self.recent.iter()
    }

    /// ATT&CK tactics present in any session, with session counts.
    pub fn tactics(&self) -> &BTreeMap<String, u64> {
        &self.tactics
    }

    /// ATT&CK techniques present in any session, with session counts.
    pub fn techniques(&self) -> &BTreeMap<String, u64> {
        &self.techniques
    }
}
