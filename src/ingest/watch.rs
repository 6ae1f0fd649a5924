//! Finding the files to tail and noticing when they change.
//!
//! - [`Filter`]: include/exclude globs (`*.log`, `zeek/**/conn*.log`). A glob without `/`
//!   matches the file name; one with `/` matches the path relative to the watched directory.
//! - [`scan`]: walk the watched directories (recursively, sorted, symlinks followed with a
//!   loop guard) and list the files the filter accepts. The tailer calls it on every change
//!   notification and periodically as a fallback (inotify limits, network filesystems).
//! - [`Watcher`]: `notify` watches on the directories; every event wakes the tailer through a
//!   [`Waker`], and events that can add or remove files ask for a rescan.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::batch::collect_files;

/// One compiled glob.
#[derive(Debug, Clone)]
pub struct Glob {
    text: String,
    regex: regex::Regex,
    /// Matches the path relative to the root (the glob has a `/`), not just the file name.
    on_path: bool,
}

impl Glob {
    /// Compile a glob: `*` (within a path segment), `**` (across segments), `?`, `[abc]`,
    /// `[!abc]`, `{a,b}`.
    pub fn new(text: &str) -> Result<Glob, String> {
        let mut re = String::from("^");
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        let mut braces = 0u32;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' if chars.get(i + 1) == Some(&'*') => {
                    i += 1;
                    if chars.get(i + 1) == Some(&'/') {
                        // `**/` matches zero or more whole segments.
                        i += 1;
                        re.push_str("(?:.*/)?");
                    } else {
                        re.push_str(".*");
                    }
                }
                '*' => re.push_str("[^/]*"),
                '?' => re.push_str("[^/]"),
                '[' => {
                    let close = chars[i + 1..]
                        .iter()
                        .position(|&c| c == ']')
                        .map(|p| p + i + 1)
                        .ok_or_else(|| format!("glob `{text}`: unclosed `[`"))?;
                    re.push('[');
                    let mut body: String = chars[i + 1..close].iter().collect();
                    if let Some(rest) = body.strip_prefix('!') {
                        body = format!("^{rest}");
                    }
                    re.push_str(&body.replace('\\', "\\\\"));
                    re.push(']');
                    i = close;
                }
                '{' => {
                    braces += 1;
                    re.push_str("(?:");
                }
                '}' if braces > 0 => {
                    braces -= 1;
                    re.push(')');
                }
                ',' if braces > 0 => re.push('|'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
            i += 1;
        }
        if braces > 0 {
            return Err(format!("glob `{text}`: unclosed `{{`"));
        }
        re.push('$');
        let regex = regex::Regex::new(&re).map_err(|e| format!("glob `{text}`: {e}"))?;
        Ok(Glob {
            text: text.to_string(),
            regex,
            on_path: text.contains('/'),
        })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `relative` (a path relative to the watched directory, `/`-separated) matches.
    pub fn matches(&self, relative: &str) -> bool {
        if self.on_path {
            self.regex.is_match(relative)
        } else {
            let name = relative.rsplit('/').next().unwrap_or(relative);
            self.regex.is_match(name)
        }
    }
}

/// Which files under the watched directories are tailed.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A file must match one of these (all files when empty).
    pub include: Vec<Glob>,
    /// A file matching one of these is skipped.
    pub exclude: Vec<Glob>,
}

impl Filter {
    /// Build from glob texts.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Filter, String> {
        let compile = |v: &[String]| v.iter().map(|g| Glob::new(g)).collect::<Result<_, _>>();
        Ok(Filter {
            include: compile(include)?,
            exclude: compile(exclude)?,
        })
    }

    /// Whether the file at `relative` is tailed.
    pub fn accepts(&self, relative: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g.matches(relative)))
            && !self.exclude.iter().any(|g| g.matches(relative))
    }
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Files accepted by the filter, sorted per root.
    pub files: Vec<PathBuf>,
    /// Paths that could not be walked, with why.
    pub failures: Vec<(PathBuf, String)>,
}

/// List the files under `roots` that `filter` accepts. A root that is a file is always taken.
pub fn scan(roots: &[PathBuf], filter: &Filter) -> Scan {
    let mut out = Scan::default();
    let mut seen_dirs = HashSet::new();
    for root in roots {
        let mut files = Vec::new();
        let mut failures = Vec::new();
        collect_files(root, &mut seen_dirs, &mut files, &mut failures);
        out.failures
            .extend(failures.into_iter().map(|(p, e)| (p, e.to_string())));
        for f in files {
            if f == *root {
                out.files.push(f);
                continue;
            }
            let rel = f.strip_prefix(root).unwrap_or(&f);
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if filter.accepts(&rel) {
                out.files.push(f);
            }
        }
    }
    out
}

/// Wakes the tailer: set by change notifications, signals and stop requests.
#[derive(Debug, Default)]
pub struct Waker {
    woken: Mutex<bool>,
    cond: Condvar,
    rescan: AtomicBool,
}

impl Waker {
    /// Wake the waiting side.
    pub fn wake(&self) {
        if let Ok(mut w) = self.woken.lock() {
            *w = true;
            self.cond.notify_all();
        }
    }

    /// Wake and ask for a directory rescan.
    pub fn wake_rescan(&self) {
        self.rescan.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// Whether a rescan was asked for since the last call.
    pub fn take_rescan(&self) -> bool {
        self.rescan.swap(false, Ordering::SeqCst)
    }

    /// Wait until woken or `timeout` passes; returns whether it was woken.
    pub fn wait(&self, timeout: Duration) -> bool {
        let Ok(guard) = self.woken.lock() else {
            return false;
        };
        match self.cond.wait_timeout_while(guard, timeout, |w| !*w) {
            Ok((mut g, _)) => std::mem::replace(&mut *g, false),
            Err(_) => false,
        }
    }
}

/// `notify` watches on the watched directories.
pub struct Watcher {
    _inner: Option<notify::RecommendedWatcher>,
    watched: Vec<PathBuf>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("watched", &self.watched)
            .finish()
    }
}

impl Watcher {
    /// Watch `roots` recursively, waking `waker` on every event. Roots that cannot be
    /// watched are returned with why; the periodic rescan still covers them.
    pub fn new(roots: &[PathBuf], waker: Arc<Waker>) -> (Watcher, Vec<(PathBuf, String)>) {
        use notify::Watcher as _;
        let mut failures = Vec::new();
        let handler = move |res: notify::Result<notify::Event>| {
            use notify::EventKind;
            match res {
                Ok(ev) => match ev.kind {
                    EventKind::Modify(notify::event::ModifyKind::Data(_))
                    | EventKind::Access(_) => waker.wake(),
                    _ => waker.wake_rescan(),
                },
                // Overflowed queue or similar: look at everything again.
                Err(_) => waker.wake_rescan(),
            }
        };
        let mut inner = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                for r in roots {
                    failures.push((r.clone(), format!("cannot watch for changes: {e}")));
                }
                return (
                    Watcher {
                        _inner: None,
                        watched: Vec::new(),
                    },
                    failures,
                );
            }
        };
        let mut watched = Vec::new();
        for r in roots {
            match inner.watch(r, notify::RecursiveMode::Recursive) {
                Ok(()) => watched.push(r.clone()),
                Err(e) => failures.push((r.clone(), format!("cannot watch for changes: {e}"))),
            }
        }
        (
            Watcher {
                _inner: Some(inner),
                watched,
            },
            failures,
        )
    }

    /// The roots being watched.
    pub fn watched(&self) -> &[PathBuf] {
        &self.watched
    }
}

/// A root that does not exist (yet) is not an error for the scan; this tells the caller.
pub fn exists(p: &Path) -> bool {
    std::fs::metadata(p).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names_and_paths() {
        let g = Glob::new("*.log").unwrap();
        assert!(g.matches("a.log") && g.matches("sub/dir/b.log"));
        assert!(!g.matches("a.log.1") && !g.matches("a.logx"));
        let g = Glob::new("zeek/**/conn*.log").unwrap();
        assert!(g.matches("zeek/conn.log") && g.matches("zeek/2024/01/conn.00.log"));
        assert!(!g.matches("other/conn.log"));
        let g = Glob::new("*.{log,json}").unwrap();
        assert!(g.matches("x.json") && g.matches("x.log") && !g.matches("x.txt"));
        let g = Glob::new("app.log.[0-9]").unwrap();
        assert!(g.matches("app.log.3") && !g.matches("app.log.x"));
        let g = Glob::new("[!.]*").unwrap();
        assert!(g.matches("a") && !g.matches(".hidden"));
        let g = Glob::new("a+b(c).log").unwrap();
        assert!(g.matches("a+b(c).log"));
        assert!(Glob::new("[abc").is_err() && Glob::new("{a,b").is_err());
    }

    #[test]
    fn filter_includes_and_excludes() {
        let f = Filter::new(&["*.log*".into()], &["*.gz".into()]).unwrap();
        assert!(f.accepts("app.log") && f.accepts("app.log.1"));
        assert!(!f.accepts("app.log.2.gz") && !f.accepts("notes.txt"));
        assert!(Filter::default().accepts("anything"));
    }

    #[test]
    fn scan_walks_filters_and_survives_symlink_loops() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.log"), "x\n").unwrap();
        std::fs::write(root.join("sub/b.log"), "x\n").unwrap();
        std::fs::write(root.join("sub/skip.txt"), "x\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        let filter = Filter::new(&["*.log".into()], &[]).unwrap();
        let s = scan(&[root.to_path_buf()], &filter);
        let names: Vec<_> = s
            .files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["a.log", "sub/b.log"], "{s:?}");
    }

    #[test]
    fn waker_wakes_and_times_out() {
        let w = Arc::new(Waker::default());
        assert!(!w.wait(Duration::from_millis(1)));
        w.wake_rescan();
        assert!(w.wait(Duration::from_secs(5)));
        assert!(w.take_rescan() && !w.take_rescan());
        let w2 = w.clone();
        let t = std::thread::spawn(move || w2.wake());
        assert!(w.wait(Duration::from_secs(30)), "not woken within 30 s");
        t.join().unwrap();
    }
}
